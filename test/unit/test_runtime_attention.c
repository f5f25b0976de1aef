/* test_runtime_attention.c - qrt_attention_f32 against the chain of
 * kernels it fuses (batched qrt_matmul_f32 of Q and Kt, qrt_binary_f32's
 * multiply by the scale and add of the mask, qrt_softmax_f32 over the
 * last axis, batched qrt_matmul_f32 by V), bit for bit: with and without
 * a scale (multiplying or dividing) and a mask (added after the scale
 * or before it) (one for every batch, or one per batch), FMA and
 * not, query counts that end mid-block, key sequences long enough to
 * shrink the blocks, and through a parallel-for hook that runs the tasks
 * in reverse order at several widths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static void reverse_for(void *user, int64_t n, qrt_task_fn task, void *ctx) {
  int64_t i;
  (void)user;
  for (i = n - 1; i >= 0; --i) task(ctx, i);
}

static void batched_matmul(int64_t batch, int64_t M, int64_t N, int64_t K, int fused, const float *a, const float *b,
                           float *c) {
  qrt_matmul_params p;
  const void *in[3];
  void *out[1];
  memset(&p, 0, sizeof p);
  p.fused = fused;
  p.M = M;
  p.N = N;
  p.K = K;
  p.batch_rank = 1;
  p.batch_shape[0] = batch;
  p.a_batch_strides[0] = M * K;
  p.b_batch_strides[0] = K * N;
  in[0] = a;
  in[1] = b;
  in[2] = NULL;
  out[0] = c;
  qrt_matmul_f32(&p, in, out);
}

/* y = x (op) other, other broadcast over the leading dims of x
 * [batch, M, N] (scalar: numel 1; mask: [M, N] or [batch, M, N]) */
static void binary(int kind, int64_t batch, int64_t M, int64_t N, const float *x, const float *other, int64_t other_numel,
                   float *y) {
  qrt_binary_params p;
  const void *in[2];
  void *out[1];
  memset(&p, 0, sizeof p);
  p.op = kind;
  p.rank = 3;
  p.out_shape[0] = batch;
  p.out_shape[1] = M;
  p.out_shape[2] = N;
  p.a_strides[0] = M * N;
  p.a_strides[1] = N;
  p.a_strides[2] = 1;
  if (other_numel > 1) {
    p.b_strides[0] = other_numel == M * N ? 0 : M * N;
    p.b_strides[1] = N;
    p.b_strides[2] = 1;
  }
  in[0] = x;
  in[1] = other;
  out[0] = y;
  qrt_binary_f32(&p, in, out);
}

/* with_scale: 0 none, 1 multiply, 2 divide; mask_kind: 0 none, 1 one for
 * every batch, 2 one per batch; mask_first: the mask added before the
 * scale */
static void test_case(int64_t batch, int64_t M, int64_t N, int64_t D, int64_t DV, int with_scale, int mask_kind,
                      int mask_first, int fused) {
  const int64_t sn = batch * M * N;
  float *q = (float *)xmalloc(sizeof(float) * (size_t)(batch * M * D));
  float *kt = (float *)xmalloc(sizeof(float) * (size_t)(batch * D * N));
  float *v = (float *)xmalloc(sizeof(float) * (size_t)(batch * N * DV));
  float *mask = (float *)xmalloc(sizeof(float) * (size_t)sn);
  float *s = (float *)xmalloc(sizeof(float) * (size_t)sn), *t = (float *)xmalloc(sizeof(float) * (size_t)sn);
  float *ref = (float *)xmalloc(sizeof(float) * (size_t)(batch * M * DV));
  float *y = (float *)xmalloc(sizeof(float) * (size_t)(batch * M * DV));
  const float scale = 0.1767767f;
  const int64_t mask_n = mask_kind == 2 ? sn : M * N;
  qrt_attention_params p;
  float *scratch;
  int64_t i;
  int w;
  fill_f32(q, batch * M * D, -2.0f, 2.0f);
  fill_f32(kt, batch * D * N, -2.0f, 2.0f);
  fill_f32(v, batch * N * DV, -1.0f, 1.0f);
  /* a causal mask of -1e4 (char_lm's), with some noise in the kept part */
  for (i = 0; i < mask_n; ++i) {
    const int64_t r = i / N % M, c = i % N;
    mask[i] = c > r + (N - M) ? -10000.0f : frand(-0.5f, 0.5f);
  }
  /* the chain */
  batched_matmul(batch, M, N, D, fused, q, kt, s);
  if (mask_kind && mask_first)
    binary(QRT_BINARY_ADD, batch, M, N, s, mask, mask_n, t), memcpy(s, t, sizeof(float) * (size_t)sn);
  if (with_scale)
    binary(with_scale == 2 ? QRT_BINARY_DIV : QRT_BINARY_MUL, batch, M, N, s, &scale, 1, t),
        memcpy(s, t, sizeof(float) * (size_t)sn);
  if (mask_kind && !mask_first)
    binary(QRT_BINARY_ADD, batch, M, N, s, mask, mask_n, t), memcpy(s, t, sizeof(float) * (size_t)sn);
  {
    qrt_softmax_params sp;
    const void *in[1];
    void *out[1];
    sp.log = 0;
    sp.outer = batch * M;
    sp.axis_len = N;
    sp.inner = 1;
    in[0] = s;
    out[0] = t;
    qrt_softmax_f32(&sp, in, out);
  }
  batched_matmul(batch, M, DV, N, fused, t, v, ref);
  /* fused */
  memset(&p, 0, sizeof p);
  p.fused = fused;
  p.scale_divides = with_scale == 2;
  p.mask_first = mask_first;
  p.batch = batch;
  p.M = M;
  p.N = N;
  p.D = D;
  p.DV = DV;
  p.mask_batch_stride = mask_kind == 2 ? M * N : 0;
  scratch = (float *)xmalloc((size_t)qrt_attention_scratch_f32(&p));
  for (w = 1; w <= 5; w += 2) {
    const void *in[6];
    void *out[1];
    char what[160];
    qrt_set_parallel_for(w > 1 ? reverse_for : NULL, NULL, w);
    in[0] = q;
    in[1] = kt;
    in[2] = v;
    in[3] = with_scale ? &scale : NULL;
    in[4] = mask_kind ? mask : NULL;
    in[5] = scratch;
    out[0] = y;
    memset(y, 0x55, sizeof(float) * (size_t)(batch * M * DV));
    qrt_attention_f32(&p, in, out);
    snprintf(what, sizeof what,
             "attention batch %lld M %lld N %lld D %lld DV %lld scale %d mask %d%s fma %d width %d", (long long)batch,
             (long long)M, (long long)N, (long long)D, (long long)DV, with_scale, mask_kind,
             mask_first ? " first" : "", fused, w);
    check(same_f32_arr(y, ref, batch * M * DV), what);
  }
  qrt_set_parallel_for(NULL, NULL, 0);
  free(q); free(kt); free(v); free(mask); free(s); free(t); free(ref); free(y); free(scratch);
}

int main(void) {
  static const int64_t shapes[][5] = {
      /* batch, M (queries), N (keys), D, DV */
      {4, 64, 64, 32, 32},  /* char_lm's heads */
      {2, 37, 37, 16, 24},  /* a head in one block */
      {2, 150, 40, 8, 8},   /* blocks of 102 rows: the last ends mid-way */
      {3, 5, 70, 8, 8},     /* fewer queries than keys (a decode window) */
      {1, 20, 5000, 4, 3},  /* long keys: blocks of 3 rows */
      {6, 1, 9, 7, 5},      /* one query row */
  };
  size_t s;
  int k;
  for (s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
    for (k = 0; k < 36; ++k)
      test_case(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], shapes[s][4], k % 3, k / 3 % 3, k / 9 % 2,
                k / 18);
  return finish();
}
