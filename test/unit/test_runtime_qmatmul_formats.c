/* test_runtime_qmatmul_formats.c - the weight formats of the quantized
 * matmuls against naive references, bit-exact:
 *  - int4 packing (nibble layout) round trip through qrt_packed_b_group;
 *  - operands all at one extreme (K past a K block): no kernel's partial
 *    sums overflow (AVX2's int4 kernel adds eight groups in int16);
 *  - qrt_qmatmul_i8 / _f32out with int8 and int4 weights, per channel and
 *    grouped (integer group multipliers), zero points folded or not;
 *  - qrt_qmatmul_dyn_f32: dynamic per-row int8 / int4 activations;
 *  - qrt_wmatmul_f32: weight-only, equal to the float GEMM on the
 *    dequantized weights (its panel path, more than QRT_WMATMUL_ROWS rows).
 * Shapes cover K % 4 != 0, K across blocks and groups, N % 16 != 0,
 * groups larger than a K block, batches. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

typedef struct wcase {
  int64_t M, N, K, group; /* group 0: per channel */
  int32_t format;         /* QRT_WFMT_I8 / QRT_WFMT_I4 */
} wcase;

/* test_static's operands: random (0), or every A -128 and every B the
 * largest code (1), A 127 and B the smallest (2), both smallest (3) */
static int g_extreme;

static int32_t code_min(int32_t f) { return f == QRT_WFMT_I4 ? -8 : -127; }
static int32_t code_max(int32_t f) { return f == QRT_WFMT_I4 ? 7 : 127; }

static void pack(const wcase *c, const int8_t *B, int8_t *Bp) {
  if (c->format == QRT_WFMT_I4) qrt_pack_b_strided_i4(c->K, c->N, B, c->N, 1, Bp);
  else qrt_pack_b_i8(c->K, c->N, B, Bp);
}

static int64_t packed_size(const wcase *c) {
  return c->format == QRT_WFMT_I4 ? qrt_packed_b_i4_size(c->K, c->N) : qrt_packed_b_i8_size(c->K, c->N);
}

/* Exact integer accumulator of row m, column n (int64). */
static int64_t ref_acc(const wcase *c, const int8_t *A, int32_t za, const int8_t *B, const uint8_t *gm,
                       int64_t m, int64_t n) {
  int64_t acc = 0, k;
  for (k = 0; k < c->K; ++k) {
    const int64_t u = c->group ? gm[(k / c->group) * c->N + n] : 1;
    acc += u * ((int64_t)A[m * c->K + k] - za) * B[k * c->N + n];
  }
  return acc;
}

static void test_pack_roundtrip(const wcase *c) {
  int8_t *B = xmalloc((size_t)(c->K * c->N)), *Bp = xmalloc((size_t)packed_size(c) + 1);
  uint8_t tmp[64];
  int64_t k, n;
  int ok = 1;
  char what[160];
  fill_i8(B, c->K * c->N, code_min(c->format), code_max(c->format));
  pack(c, B, Bp);
  for (k = 0; k < c->K; ++k)
    for (n = 0; n < c->N; ++n) {
      const uint8_t *g = qrt_packed_b_group(Bp, c->format, c->K, n / 16, k / 4, tmp);
      if ((int32_t)g[(n % 16) * 4 + k % 4] - 128 != B[k * c->N + n]) ok = 0;
    }
  snprintf(what, sizeof what, "pack round trip fmt %d K=%lld N=%lld", c->format, (long long)c->K, (long long)c->N);
  check(ok, what);
  free(B);
  free(Bp);
}

static void test_static(const wcase *c, int32_t za, int fold_zp) {
  const int64_t M = c->M, N = c->N, K = c->K, ng = c->group ? (K + c->group - 1) / c->group : 1;
  int8_t *A = xmalloc((size_t)(M * K)), *B = xmalloc((size_t)(K * N)), *Bp = xmalloc((size_t)packed_size(c) + 1);
  uint8_t *gm = xmalloc((size_t)(ng * N));
  int8_t *C = xmalloc((size_t)(M * N));
  float *Cf = xmalloc(sizeof(float) * (size_t)(M * N));
  int32_t *bias = xmalloc(sizeof(int32_t) * (size_t)N), *mult = xmalloc(sizeof(int32_t) * (size_t)N);
  int8_t *shift = xmalloc((size_t)N);
  float *sf = xmalloc(sizeof(float) * (size_t)N), *bf = xmalloc(sizeof(float) * (size_t)N);
  qrt_qmatmul_params p;
  const void *in[8] = {0};
  void *out[1];
  int64_t m, n, i;
  int ok = 1, okf = 1;
  char what[200];
  fill_i8(A, M * K, -128, 127);
  fill_i8(B, K * N, code_min(c->format), code_max(c->format));
  if (g_extreme) { /* every product at one extreme: the kernels' partial sums at their bounds */
    memset(A, g_extreme == 2 ? 127 : -128, (size_t)(M * K));
    memset(B, g_extreme == 1 ? code_max(c->format) : code_min(c->format), (size_t)(K * N));
  }
  for (i = 0; i < ng * N; ++i) gm[i] = (uint8_t)irand(1, 255);
  for (n = 0; n < N; ++n) {
    bias[n] = (int32_t)irand(-100000, 100000);
    mult[n] = (int32_t)irand(1073741824LL, 2147483647LL);
    shift[n] = (int8_t)(31 + (int32_t)ceil(log2(sqrt((double)K + 1) * 128 * 4 * (c->group ? 128 : 1) / 64.0)));
    sf[n] = frand(1e-6f, 1e-3f);
    bf[n] = frand(-1.0f, 1.0f);
  }
  pack(c, B, Bp);
  memset(&p, 0, sizeof p);
  p.a_zero_point = fold_zp ? 0 : za;
  p.out_zero_point = 5;
  p.out_min = -128;
  p.out_max = 127;
  p.b_packed = 1;
  p.M = M; p.N = N; p.K = K;
  p.b_format = c->format;
  p.group = c->group;
  in[0] = A; in[1] = Bp; in[2] = bias; in[3] = mult; in[4] = shift; in[6] = c->group ? gm : NULL;
  out[0] = C;
  qrt_qmatmul_i8(&p, in, out);
  for (m = 0; m < M; ++m)
    for (n = 0; n < N; ++n) {
      const int64_t acc = ref_acc(c, A, fold_zp ? 0 : za, B, gm, m, n);
      if (C[m * N + n] != (int8_t)ref_requant(acc + bias[n], mult[n], shift[n], 5, -128, 127)) ok = 0;
    }
  in[2] = bf; in[3] = sf; in[4] = NULL;
  out[0] = Cf;
  qrt_qmatmul_i8_f32out(&p, in, out);
  for (m = 0; m < M; ++m)
    for (n = 0; n < N; ++n) {
      const int64_t acc = ref_acc(c, A, fold_zp ? 0 : za, B, gm, m, n);
      if (!same_f32(Cf[m * N + n], sf[n] * (float)(int32_t)acc + bf[n])) okf = 0;
    }
  snprintf(what, sizeof what, "qmatmul fmt %d M=%lld N=%lld K=%lld group %lld za %d", c->format, (long long)M,
           (long long)N, (long long)K, (long long)c->group, fold_zp ? 0 : za);
  check(ok, what);
  check(okf, "f32out: same case");
  free(A); free(B); free(Bp); free(gm); free(C); free(Cf); free(bias); free(mult); free(shift); free(sf); free(bf);
}

static void test_dynamic(const wcase *c, int a_bits, int batches) {
  const int64_t M = c->M, N = c->N, K = c->K, ng = c->group ? (K + c->group - 1) / c->group : 1;
  const int32_t qa = a_bits == 4 ? 7 : 127;
  float *A = xmalloc(sizeof(float) * (size_t)(batches * M * K)), *C = xmalloc(sizeof(float) * (size_t)(batches * M * N));
  int8_t *B = xmalloc((size_t)(K * N)), *Bp = xmalloc((size_t)packed_size(c) + 1);
  int8_t *Aq = xmalloc((size_t)(M * K));
  uint8_t *gm = xmalloc((size_t)(ng * N));
  float *sf = xmalloc(sizeof(float) * (size_t)N), *bf = xmalloc(sizeof(float) * (size_t)N), *rs = xmalloc(sizeof(float) * (size_t)M);
  qrt_qmatmul_params p;
  void *scratch;
  const void *in[8] = {0};
  void *out[1];
  int64_t m, n, k, i, b;
  int ok = 1;
  char what[200];
  fill_f32(A, batches * M * K, -3.0f, 3.0f);
  if (M > 1) A[K] = NAN;                                   /* NaN -> code 0 */
  if (M > 2) for (k = 0; k < K; ++k) A[2 * K + k] = 0.0f; /* all-zero row */
  fill_i8(B, K * N, code_min(c->format), code_max(c->format));
  for (i = 0; i < ng * N; ++i) gm[i] = (uint8_t)irand(1, 255);
  for (n = 0; n < N; ++n) {
    sf[n] = frand(1e-3f, 1e-2f);
    bf[n] = frand(-1.0f, 1.0f);
  }
  pack(c, B, Bp);
  memset(&p, 0, sizeof p);
  p.b_packed = 1;
  p.M = M; p.N = N; p.K = K;
  p.b_format = c->format;
  p.group = c->group;
  p.a_bits = a_bits;
  p.batch_rank = 1;
  p.batch_shape[0] = batches;
  p.a_batch_strides[0] = M * K;
  scratch = xmalloc((size_t)qrt_qmatmul_dyn_scratch(&p));
  in[0] = A; in[1] = Bp; in[2] = bf; in[3] = sf; in[6] = c->group ? gm : NULL; in[7] = scratch;
  out[0] = C;
  qrt_qmatmul_dyn_f32(&p, in, out);
  for (b = 0; b < batches; ++b) {
    const float *Ab = A + b * M * K;
    for (m = 0; m < M; ++m) {
      float amax = 0.0f;
      for (k = 0; k < K; ++k)
        if (fabsf(Ab[m * K + k]) > amax) amax = fabsf(Ab[m * K + k]);
      rs[m] = amax > 0 ? amax / (float)qa : 1.0f;
      for (k = 0; k < K; ++k) {
        const float v = Ab[m * K + k];
        const float inv = amax > 0 ? (float)qa / amax : 1.0f;
        float q = v != v ? 0.0f : nearbyintf(v * inv);
        q = q < -qa ? (float)-qa : q > qa ? (float)qa : q;
        Aq[m * K + k] = (int8_t)q;
      }
    }
    for (m = 0; m < M; ++m)
      for (n = 0; n < N; ++n) {
        const int64_t acc = ref_acc(c, Aq, 0, B, gm, m, n);
        const float want = (sf[n] * (float)(int32_t)acc) * rs[m] + bf[n];
        if (!same_f32(C[b * M * N + m * N + n], want)) ok = 0;
      }
  }
  snprintf(what, sizeof what, "dyn a%d fmt %d M=%lld N=%lld K=%lld group %lld batches %d", a_bits, c->format,
           (long long)M, (long long)N, (long long)K, (long long)c->group, batches);
  check(ok, what);
  free(A); free(C); free(B); free(Bp); free(Aq); free(gm); free(sf); free(bf); free(rs); free(scratch);
}

/* The panel path: at most QRT_WMATMUL_ROWS rows take the direct one
 * (test_runtime_wmatmul_rows.c), so small cases get more rows here. */
static void test_weight_only(const wcase *c) {
  const int64_t M = c->M > QRT_WMATMUL_ROWS ? c->M : c->M + QRT_WMATMUL_ROWS, N = c->N, K = c->K, ng = c->group ? (K + c->group - 1) / c->group : 1;
  float *A = xmalloc(sizeof(float) * (size_t)(M * K)), *C = xmalloc(sizeof(float) * (size_t)(M * N));
  float *R = xmalloc(sizeof(float) * (size_t)(M * N)), *W = xmalloc(sizeof(float) * (size_t)(K * N));
  int8_t *B = xmalloc((size_t)(K * N)), *Bp = xmalloc((size_t)packed_size(c) + 1);
  uint8_t *gm = xmalloc((size_t)(ng * N));
  float *sf = xmalloc(sizeof(float) * (size_t)N), *bf = xmalloc(sizeof(float) * (size_t)N);
  qrt_qmatmul_params p;
  void *scratch;
  const void *in[8] = {0};
  void *out[1];
  int64_t n, k, i;
  char what[200];
  fill_f32(A, M * K, -2.0f, 2.0f);
  fill_i8(B, K * N, code_min(c->format), code_max(c->format));
  for (i = 0; i < ng * N; ++i) gm[i] = (uint8_t)irand(1, 255);
  for (n = 0; n < N; ++n) {
    sf[n] = frand(1e-4f, 1e-2f);
    bf[n] = frand(-1.0f, 1.0f);
  }
  for (k = 0; k < K; ++k)
    for (n = 0; n < N; ++n) {
      const float s = c->group ? sf[n] * (float)gm[(k / c->group) * N + n] : sf[n];
      W[k * N + n] = s * (float)B[k * N + n];
    }
  pack(c, B, Bp);
  memset(&p, 0, sizeof p);
  p.b_packed = 1;
  p.M = M; p.N = N; p.K = K;
  p.b_format = c->format;
  p.group = c->group;
  scratch = xmalloc((size_t)qrt_wmatmul_scratch(&p));
  in[0] = A; in[1] = Bp; in[2] = bf; in[3] = sf; in[6] = c->group ? gm : NULL; in[7] = scratch;
  out[0] = C;
  qrt_wmatmul_f32(&p, in, out);
  qrt_sgemm(M, N, K, A, K, W, N, R, N, bf);
  snprintf(what, sizeof what, "wmatmul fmt %d M=%lld N=%lld K=%lld group %lld", c->format, (long long)M,
           (long long)N, (long long)K, (long long)c->group);
  check(same_f32_arr(C, R, M * N), what);
  free(A); free(C); free(R); free(W); free(B); free(Bp); free(gm); free(sf); free(bf); free(scratch);
}

int main(void) {
  static const wcase cases[] = {
      {1, 1, 1, 0, QRT_WFMT_I4},      {3, 5, 7, 0, QRT_WFMT_I4},        {17, 33, 19, 0, QRT_WFMT_I4},
      {13, 17, 257, 0, QRT_WFMT_I4},  {70, 40, 300, 0, QRT_WFMT_I4},    {9, 48, 64, 32, QRT_WFMT_I4},
      {9, 48, 130, 32, QRT_WFMT_I4},  {65, 20, 1030, 128, QRT_WFMT_I4}, {5, 17, 600, 512, QRT_WFMT_I4},
      {4, 31, 96, 4, QRT_WFMT_I4},    {2, 16, 8, 128, QRT_WFMT_I4},     {17, 33, 19, 0, QRT_WFMT_I8},
      {9, 48, 130, 32, QRT_WFMT_I8},  {65, 20, 1030, 128, QRT_WFMT_I8}, {1, 64, 256, 64, QRT_WFMT_I4},
  };
  const int n_cases = (int)(sizeof cases / sizeof cases[0]);
  int i;
  for (i = 0; i < n_cases; ++i) {
    test_pack_roundtrip(&cases[i]);
    test_static(&cases[i], -37, 0);
    test_static(&cases[i], 0, 1);
    test_static(&cases[i], 127, 0);
    test_dynamic(&cases[i], 8, 1);
    test_dynamic(&cases[i], 4, 2);
    test_weight_only(&cases[i]);
  }
  for (g_extreme = 1; g_extreme <= 3; ++g_extreme) { /* K past one 2048 block, past 8-group runs */
    static const wcase far[] = {{5, 33, 2100, 0, QRT_WFMT_I4}, {6, 20, 2051, 0, QRT_WFMT_I8}, {5, 33, 2100, 64, QRT_WFMT_I4}};
    for (i = 0; i < 3; ++i) {
      test_static(&far[i], -37, 0);
      test_static(&far[i], 0, 1);
    }
  }
  g_extreme = 0;
  printf("qgemm path: %s\n", qrt_qgemm_path());
  return finish();
}
