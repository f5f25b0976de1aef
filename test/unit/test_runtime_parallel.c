/* test_runtime_parallel.c - how kernels split work over threads
 * (qrt_parallel.c), through a parallel-for hook that runs the tasks on this
 * thread in reverse order (as a job system might), counting its calls:
 *  - qrt_parallel_range: the ranges cover [0, n) once, at most `width` of
 *    them, each but the last a multiple of align and each at least
 *    min_items long; too little work runs as one range without the hook;
 *  - qrt_parallel_blocks: blocks tile the GEMM, at most `width`, rows first
 *    (64 rows x 128 columns on 2 threads: two blocks of 32 rows), columns
 *    when rows are few (12 rows), both (32 rows on 4 threads: 2 x 2);
 *  - every split kernel gives the bits of the unsplit one (width 1) for
 *    widths 2..5 and shows it split (the hook was called): the float GEMM
 *    (row, column and 2-D blocks; with and without fma, bias, activation),
 *    the batched matmul by batch, softmax, layer/RMS norm, broadcast
 *    binary ops, unary ops with vector exp blocks (n not a multiple of
 *    64), strided copies (rows and transposes), quantize, dequantize and
 *    the int8 -> float table lookup. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static int hook_calls;

static void reverse_for(void *user, int64_t n, qrt_task_fn task, void *ctx) {
  int64_t i;
  (void)user;
  hook_calls++;
  for (i = n - 1; i >= 0; --i) task(ctx, i);
}

/* ---- qrt_parallel_range ---------------------------------------------- */
typedef struct cover {
  int *seen;
  int64_t ranges, min_len, last_begin, align_bad, align;
} cover;

static void mark(void *ctx, int64_t b, int64_t e) {
  cover *c = (cover *)ctx;
  int64_t i;
  for (i = b; i < e; ++i) c->seen[i]++;
  c->ranges++;
  if (e - b < c->min_len) c->min_len = e - b;
  if (b > c->last_begin) c->last_begin = b;
  if (b % c->align) c->align_bad++;
}

static void test_range(void) {
  static const int64_t ns[] = {0, 1, 7, 64, 65, 1000, 4097, 100000};
  static const int64_t aligns[] = {1, 16, 64};
  static const int64_t mins[] = {1, 100, 5000};
  int w, ni, ai, mi;
  for (w = 1; w <= 5; ++w)
    for (ni = 0; ni < (int)(sizeof ns / sizeof ns[0]); ++ni)
      for (ai = 0; ai < 3; ++ai)
        for (mi = 0; mi < 3; ++mi) {
          const int64_t n = ns[ni], align = aligns[ai], min = mins[mi];
          cover c;
          int64_t i, chunk;
          int ok = 1, calls;
          char what[160];
          c.seen = (int *)calloc((size_t)n + 1, sizeof(int));
          c.ranges = 0;
          c.min_len = n;
          c.last_begin = 0;
          c.align_bad = 0;
          c.align = align;
          qrt_set_parallel_for(reverse_for, NULL, w);
          hook_calls = 0;
          qrt_parallel_range(n, align, min, mark, &c);
          calls = hook_calls;
          chunk = qrt_parallel_chunk(n, align, min);
          for (i = 0; i < n; ++i) ok &= c.seen[i] == 1;
          ok &= c.ranges <= w && c.align_bad == 0;
          if (c.ranges > 1) ok &= c.min_len >= min && calls == 1 && chunk < n;
          else ok &= calls == 0 && (n == 0 || chunk >= n);
          /* with work enough for every thread: ceil(n / width) rounded up to align */
          if (w > 1 && n >= (int64_t)w * (min > align ? min : align) * 2)
            ok &= chunk == ((n + w - 1) / w + align - 1) / align * align && c.ranges == (n + chunk - 1) / chunk;
          snprintf(what, sizeof what, "range n=%lld align=%lld min=%lld width=%d: %lld ranges", (long long)n,
                   (long long)align, (long long)min, w, (long long)c.ranges);
          check(ok, what);
          free(c.seen);
        }
  qrt_set_parallel_for(NULL, NULL, 0);
}

/* ---- qrt_parallel_blocks --------------------------------------------- */
static void test_blocks(void) {
  static const int64_t shapes[][3] = {{64, 128, 128}, {12, 160, 700}, {32, 160, 700}, {1, 1000, 1000},
                                      {100, 7, 5000}, {64, 103, 128}, {3, 3, 3}};
  int w, si;
  for (w = 1; w <= 5; ++w)
    for (si = 0; si < 7; ++si) {
      const int64_t M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
      int64_t rows, cols, blocks, i, j;
      char *hit = (char *)calloc((size_t)(M * N), 1);
      int ok = 1;
      char what[160];
      qrt_set_parallel_for(reverse_for, NULL, w);
      blocks = qrt_parallel_blocks(M, N, K, 131072, 8, 32, &rows, &cols);
      for (i = 0; i < M; i += rows)
        for (j = 0; j < N; j += cols) {
          int64_t a, b;
          for (a = i; a < M && a < i + rows; ++a)
            for (b = j; b < N && b < j + cols; ++b) hit[a * N + b]++;
        }
      for (i = 0; i < M * N; ++i) ok &= hit[i] == 1;
      ok &= blocks == ((M + rows - 1) / rows) * ((N + cols - 1) / cols) && blocks <= w;
      ok &= (rows == M || rows % 8 == 0) && (cols == N || cols % 32 == 0);
      if (blocks > 1) ok &= blocks * 131072 <= M * N * K;
      snprintf(what, sizeof what, "blocks %lldx%lldx%lld width %d: %lld of %lld x %lld", (long long)M, (long long)N,
               (long long)K, w, (long long)blocks, (long long)rows, (long long)cols);
      check(ok, what);
      free(hit);
    }
  {
    int64_t rows, cols;
    qrt_set_parallel_for(reverse_for, NULL, 2);
    check(qrt_parallel_blocks(64, 128, 128, 131072, 8, 32, &rows, &cols) == 2 && rows == 32 && cols == 128,
          "64x128x128 on 2: two blocks of 32 rows");
    qrt_set_parallel_for(reverse_for, NULL, 3);
    check(qrt_parallel_blocks(12, 160, 700, 131072, 8, 32, &rows, &cols) == 3 && rows == 12 && cols == 64,
          "12x160x700 on 3: three blocks of columns");
    qrt_set_parallel_for(reverse_for, NULL, 4);
    check(qrt_parallel_blocks(32, 160, 700, 131072, 8, 32, &rows, &cols) == 4 && rows == 16 && cols == 96,
          "32x160x700 on 4: 2 x 2 blocks");
  }
  qrt_set_parallel_for(NULL, NULL, 0);
}

/* ---- kernels: split == unsplit, bit for bit --------------------------- */
typedef void (*kernel_fn)(const void *params, const void *const *in, void *const *out);

/* Runs k on width 1 (no hook) and widths 2..5 (the hook); the outputs
 * (out_bytes at out[0]) must match and the hook must have been called. */
static void same_split(const char *what, kernel_fn k, const void *params, const void *const *in, void *out,
                       size_t out_bytes) {
  unsigned char *ref = (unsigned char *)malloc(out_bytes);
  void *outs[3];
  int w, ok = 1, split = 1;
  char msg[160];
  outs[0] = out;
  outs[1] = outs[2] = NULL;
  qrt_set_parallel_for(NULL, NULL, 0);
  memset(out, 0x5a, out_bytes);
  k(params, in, outs);
  memcpy(ref, out, out_bytes);
  for (w = 2; w <= 5; ++w) {
    memset(out, 0xa5, out_bytes);
    qrt_set_parallel_for(reverse_for, NULL, w);
    hook_calls = 0;
    k(params, in, outs);
    ok &= memcmp(out, ref, out_bytes) == 0;
    split &= hook_calls > 0;
  }
  qrt_set_parallel_for(NULL, NULL, 0);
  snprintf(msg, sizeof msg, "%s: widths 2-5 give width 1's bits", what);
  check(ok, msg);
  snprintf(msg, sizeof msg, "%s: splits", what);
  check(split, msg);
  free(ref);
}

static void test_sgemm(void) {
  static const int64_t shapes[][3] = {{64, 128, 128}, {12, 160, 700}, {32, 160, 700}, {100, 40, 333}, {17, 71, 3000}};
  int si, fused;
  for (si = 0; si < 5; ++si)
    for (fused = 0; fused < 2; ++fused) {
      const int64_t M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
      float *A = (float *)xmalloc(sizeof(float) * (size_t)(M * K));
      float *B = (float *)xmalloc(sizeof(float) * (size_t)(K * N));
      float *bias = (float *)xmalloc(sizeof(float) * (size_t)N);
      float *C = (float *)xmalloc(sizeof(float) * (size_t)(M * N));
      float *R = (float *)xmalloc(sizeof(float) * (size_t)(M * N));
      qrt_sgemm_args g;
      int w, ok = 1, split = 1;
      char what[160];
      fill_f32(A, M * K, -1.0f, 1.0f);
      fill_f32(B, K * N, -1.0f, 1.0f);
      fill_f32(bias, N, -1.0f, 1.0f);
      memset(&g, 0, sizeof g);
      g.M = M; g.N = N; g.K = K;
      g.A = A; g.rs_a = K; g.cs_a = 1;
      g.B = B; g.rs_b = N; g.cs_b = 1;
      g.C = R; g.ldc = N;
      g.bias = bias; g.bias_cs = 1;
      g.act = QRT_ACT_RELU;
      g.fused = fused;
      qrt_set_parallel_for(NULL, NULL, 0);
      qrt_sgemm_ex(&g);
      g.C = C;
      for (w = 2; w <= 5; ++w) {
        memset(C, 0, sizeof(float) * (size_t)(M * N));
        qrt_set_parallel_for(reverse_for, NULL, w);
        hook_calls = 0;
        qrt_sgemm_ex(&g);
        ok &= same_f32_arr(C, R, M * N);
        split &= hook_calls == 1;
      }
      qrt_set_parallel_for(NULL, NULL, 0);
      snprintf(what, sizeof what, "sgemm %lldx%lldx%lld fused=%d: split on widths 2-5, width 1's bits", (long long)M,
               (long long)N, (long long)K, fused);
      check(ok && split, what);
      free(A); free(B); free(bias); free(C); free(R);
    }
}

static void test_kernels(void) {
  enum { NX = 40000 };
  float *x = (float *)xmalloc(sizeof(float) * NX), *x2 = (float *)xmalloc(sizeof(float) * NX);
  float *y = (float *)xmalloc(sizeof(float) * NX);
  int8_t *q = (int8_t *)xmalloc(NX);
  fill_f32(x, NX, -6.0f, 6.0f);
  fill_f32(x2, NX, -2.0f, 2.0f);
  fill_i8(q, NX, -128, 127);
  { /* attention's batched matmul: 6 heads of 64x64x32 */
    qrt_matmul_params p;
    const void *in[3];
    memset(&p, 0, sizeof p);
    p.M = 64; p.N = 64; p.K = 32;
    p.batch_rank = 2;
    p.batch_shape[0] = 2; p.batch_shape[1] = 3;
    p.a_batch_strides[0] = 3 * 64 * 32; p.a_batch_strides[1] = 64 * 32;
    p.b_batch_strides[0] = 0; p.b_batch_strides[1] = 32 * 64; /* broadcast over dim 0 */
    in[0] = x; in[1] = x2; in[2] = NULL;
    same_split("matmul 2x3 batches of 64x64x32", qrt_matmul_f32, &p, in, y, sizeof(float) * 6 * 64 * 64);
  }
  { /* softmax over rows (inner 1) and over a middle axis (inner 3) */
    qrt_softmax_params p;
    const void *in[1];
    memset(&p, 0, sizeof p);
    p.outer = 96; p.axis_len = 100; p.inner = 1;
    in[0] = x;
    same_split("softmax 96 rows of 100", qrt_softmax_f32, &p, in, y, sizeof(float) * 9600);
    p.outer = 50; p.axis_len = 60; p.inner = 3;
    p.log = 1;
    same_split("log-softmax 50 x 60 x 3", qrt_softmax_f32, &p, in, y, sizeof(float) * 9000);
  }
  { /* norms: 70 rows of 130 */
    qrt_norm_params p;
    const void *in[3];
    memset(&p, 0, sizeof p);
    p.outer = 70; p.norm_size = 130; p.epsilon = 1e-5f;
    in[0] = x; in[1] = x2; in[2] = x2 + 200;
    same_split("layernorm 70 x 130", qrt_layernorm_f32, &p, in, y, sizeof(float) * 9100);
    in[2] = NULL;
    same_split("rmsnorm 70 x 130", qrt_rmsnorm_f32, &p, in, y, sizeof(float) * 9100);
  }
  { /* broadcast binary: [5, 7, 300] * [1, 7, 1], and [9, 1000] + [9, 1000] */
    qrt_binary_params p;
    const void *in[2];
    memset(&p, 0, sizeof p);
    p.op = QRT_BINARY_MUL;
    p.rank = 3;
    p.out_shape[0] = 5; p.out_shape[1] = 7; p.out_shape[2] = 300;
    p.a_strides[0] = 2100; p.a_strides[1] = 300; p.a_strides[2] = 1;
    p.b_strides[0] = 0; p.b_strides[1] = 1; p.b_strides[2] = 0;
    in[0] = x; in[1] = x2;
    same_split("mul [5,7,300] x [1,7,1]", qrt_binary_f32, &p, in, y, sizeof(float) * 10500);
    p.op = QRT_BINARY_ADD;
    p.rank = 2;
    p.out_shape[0] = 9; p.out_shape[1] = 1000;
    p.a_strides[0] = 1000; p.a_strides[1] = 1;
    p.b_strides[0] = 1000; p.b_strides[1] = 1;
    same_split("add [9,1000] + [9,1000]", qrt_binary_f32, &p, in, y, sizeof(float) * 9000);
  }
  { /* unary with the vector exp blocks, n not a multiple of 64 */
    qrt_unary_params p;
    const void *in[1];
    memset(&p, 0, sizeof p);
    p.op = QRT_UNARY_SILU;
    p.n = 20001;
    in[0] = x;
    same_split("silu n=20001", qrt_unary_f32, &p, in, y, sizeof(float) * 20001);
    p.op = QRT_UNARY_ISNAN; /* bool output */
    same_split("isnan n=20001", qrt_unary_f32, &p, in, y, 20001);
  }
  { /* copies: [50, 40, 6] -> [40, 50, 6] (rows) and [3, 70, 50] -> [3, 50, 70] (transpose) */
    qrt_copy_params p;
    const void *in[1];
    memset(&p, 0, sizeof p);
    p.elem_size = 4;
    p.rank = 3;
    p.out_shape[0] = 40; p.out_shape[1] = 50; p.out_shape[2] = 6;
    p.in_strides[0] = 6; p.in_strides[1] = 240; p.in_strides[2] = 1;
    in[0] = x;
    same_split("copy rows [40,50,6]", qrt_copy, &p, in, y, sizeof(float) * 12000);
    p.out_shape[0] = 3; p.out_shape[1] = 50; p.out_shape[2] = 70;
    p.in_strides[0] = 3500; p.in_strides[1] = 1; p.in_strides[2] = 50;
    same_split("copy transpose [3,50,70]", qrt_copy, &p, in, y, sizeof(float) * 10500);
    p.elem_size = 1;
    in[0] = q;
    same_split("copy transpose int8 [3,50,70]", qrt_copy, &p, in, y, 10500);
  }
  { /* quantize, dequantize, lookup */
    qrt_quantize_params qp;
    qrt_dequantize_params dp;
    qrt_lut_params lp;
    float table[256];
    const void *in[2];
    memset(&qp, 0, sizeof qp);
    qp.n = 10001; qp.inv_scale = 20.0f; qp.zero_point = 3; qp.qmin = -128; qp.qmax = 127;
    in[0] = x;
    same_split("quantize n=10001", qrt_quantize_f32_i8, &qp, in, y, 10001);
    memset(&dp, 0, sizeof dp);
    dp.n = 10001; dp.scale = 0.05f; dp.zero_point = -7;
    in[0] = q;
    same_split("dequantize n=10001", qrt_dequantize_i8_f32, &dp, in, y, sizeof(float) * 10001);
    check(qrt_build_lut_f32(QRT_UNARY_GELU, 0.0f, 0.0f, 0.05f, 2, table) == 0, "gelu table");
    lp.n = 10001;
    in[0] = q; in[1] = table;
    same_split("lut i8 -> f32 n=10001", qrt_lut_i8_f32, &lp, in, y, sizeof(float) * 10001);
  }
  free(x); free(x2); free(y); free(q);
}

/* The int8 GEMM's float epilogue with a residual (row blocks move every
 * row-indexed pointer, the residual's too) and the softmax of int8 codes
 * (rows in blocks): any width gives width 1's bits. */
static void test_int8_kernels(void) {
  enum { M = 64, N = 160, K = 256, L = 64, ROWS = 4 * L };
  int8_t *A = (int8_t *)xmalloc(M * K), *B = (int8_t *)xmalloc(K * N), *codes = (int8_t *)xmalloc(ROWS * L);
  float *scale = (float *)xmalloc(sizeof(float) * N), *bias = (float *)xmalloc(sizeof(float) * N);
  float *res = (float *)xmalloc(sizeof(float) * M * N), *y = (float *)xmalloc(sizeof(float) * ROWS * L);
  float table[256];
  uint8_t keep[L * L];
  qrt_qmatmul_params p;
  qrt_qsoftmax_params sp;
  const void *in[8] = {0};
  int i, j;
  fill_i8(A, M * K, -128, 127);
  fill_i8(B, K * N, -128, 127);
  fill_i8(codes, ROWS * L, -128, 127);
  fill_f32(scale, N, 1e-4f, 1e-3f);
  fill_f32(bias, N, -1.0f, 1.0f);
  fill_f32(res, M * N, -4.0f, 4.0f);
  memset(&p, 0, sizeof p);
  p.a_zero_point = 3; p.M = M; p.N = N; p.K = K;
  in[0] = A; in[1] = B; in[2] = bias; in[3] = scale; in[4] = res;
  same_split("qmatmul f32out + residual 64x160x256", qrt_qmatmul_i8_f32out, &p, in, y, sizeof(float) * M * N);
  for (i = 0; i < 256; ++i) table[i] = 0.05f * (float)(i - 128);
  for (i = 0; i < L; ++i)
    for (j = 0; j < L; ++j) keep[i * L + j] = (uint8_t)(j <= i);
  memset(&sp, 0, sizeof sp);
  sp.outer = ROWS; sp.axis_len = L; sp.mask_n = L * L;
  in[0] = codes; in[1] = table; in[2] = keep; in[3] = in[4] = NULL;
  same_split("softmax of int8 codes 256x64, causal", qrt_softmax_codes_f32, &sp, in, y, sizeof(float) * ROWS * L);
  free(A); free(B); free(codes); free(scale); free(bias); free(res); free(y);
}

int main(void) {
  test_range();
  test_blocks();
  test_sgemm();
  test_kernels();
  test_int8_kernels();
  return finish();
}
