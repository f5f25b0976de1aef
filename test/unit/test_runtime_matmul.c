/* test_runtime_matmul.c - qrt_sgemm / qrt_sgemm_ex / qrt_matmul_f32 against a naive
 * triple loop with the same summation order (acc = 0; acc += a*b for k
 * increasing, or acc = fmaf(a, b, acc) for fused GEMMs; + bias; act): all
 * comparisons are bit-exact. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static float act_ref(float v, int act, float a, float b) {
  if (act == QRT_ACT_RELU) return v < 0.0f ? 0.0f : v;
  if (act == QRT_ACT_LEAKY_RELU) return v < 0.0f ? a * v : v;
  if (act == QRT_ACT_CLIP) return v < a ? a : (v > b ? b : v);
  return v;
}

/* C[m][n] = act(sum_k A(m,k) B(k,n) + bias(m,n)); A(m,k) = A[m*rsa + k*csa]. */
static void ref_gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t rsa, int64_t csa,
                     const float *B, int64_t rsb, int64_t csb, float *C, int64_t ldc,
                     const float *bias, int64_t brs, int64_t bcs, int act, float aa, float ab, int fused) {
  int64_t m, n, k;
  for (m = 0; m < M; ++m)
    for (n = 0; n < N; ++n) {
      float acc = 0.0f;
      for (k = 0; k < K; ++k)
        acc = fused ? fmaf(A[m * rsa + k * csa], B[k * rsb + n * csb], acc)
                    : acc + A[m * rsa + k * csa] * B[k * rsb + n * csb];
      if (bias) acc = acc + bias[m * brs + n * bcs];
      C[m * ldc + n] = act_ref(acc, act, aa, ab);
    }
}

static void test_gemm(int64_t M, int64_t N, int64_t K, int variant) {
  /* variant: 0 plain, 1 packed B, 2 trans A, 3 trans B, 4 [M,1] bias + relu,
   * 5 [M,N] bias + clip, 6 scalar bias + leaky, 7 ldc > N; 8-15 the same,
   * fused (one rounding per multiply-add) */
  const int fused = variant >= 8;
  variant %= 8;
  const int64_t ldc = variant == 7 ? N + 3 : N;
  float *A = (float *)xmalloc(sizeof(float) * (size_t)(M * K));
  float *B = (float *)xmalloc(sizeof(float) * (size_t)(K * N));
  float *Bp = (float *)xmalloc(sizeof(float) * (size_t)qrt_packed_b_size(K, N));
  float *bias = (float *)xmalloc(sizeof(float) * (size_t)(M * N + 1));
  float *C = (float *)xmalloc(sizeof(float) * (size_t)(M * ldc));
  float *R = (float *)xmalloc(sizeof(float) * (size_t)(M * ldc));
  qrt_sgemm_args g;
  char what[160];
  int64_t rsa = K, csa = 1, rsb = N, csb = 1, brs = 0, bcs = 1;
  int act = QRT_ACT_NONE;
  fill_f32(A, M * K, -1.0f, 1.0f);
  fill_f32(B, K * N, -1.0f, 1.0f);
  fill_f32(bias, M * N + 1, -1.0f, 1.0f);
  memset(&g, 0, sizeof g);
  if (variant == 2) { rsa = 1; csa = M; }
  if (variant == 3) { rsb = 1; csb = K; }
  if (variant == 4) { brs = 1; bcs = 0; act = QRT_ACT_RELU; }
  if (variant == 5) { brs = N; bcs = 1; act = QRT_ACT_CLIP; }
  if (variant == 6) { brs = 0; bcs = 0; act = QRT_ACT_LEAKY_RELU; }
  memset(C, 0, sizeof(float) * (size_t)(M * ldc));
  memset(R, 0, sizeof(float) * (size_t)(M * ldc));
  g.M = M; g.N = N; g.K = K;
  g.A = A; g.rs_a = rsa; g.cs_a = csa;
  g.B = B; g.rs_b = rsb; g.cs_b = csb;
  if (variant == 1) {
    qrt_pack_b_f32(K, N, B, Bp);
    g.B = Bp;
    g.b_packed = 1;
  }
  g.C = C; g.ldc = ldc;
  g.bias = variant == 0 ? NULL : bias;
  g.bias_rs = brs; g.bias_cs = bcs;
  g.act = act; g.act_alpha = variant == 6 ? 0.1f : -0.25f; g.act_beta = 0.3f;
  g.fused = fused;
  qrt_sgemm_ex(&g);
  ref_gemm(M, N, K, A, rsa, csa, B, rsb, csb, R, ldc, g.bias, brs, bcs, act, g.act_alpha,
           g.act_beta, fused);
  sprintf(what, "sgemm_ex M=%lld N=%lld K=%lld variant %d%s", (long long)M, (long long)N,
          (long long)K, variant, fused ? " fused" : "");
  check(same_f32_arr(C, R, M * ldc), what);
  free(A); free(B); free(Bp); free(bias); free(C); free(R);
}

static void test_sgemm_simple(void) {
  /* qrt_sgemm with lda > K, ldb > N, ldc > N and a [N] bias */
  const int64_t M = 19, N = 23, K = 31, lda = 40, ldb = 30, ldc = 27;
  float A[19 * 40], B[31 * 30], C[19 * 27], R[19 * 27], bias[23];
  fill_f32(A, M * lda, -2.0f, 2.0f);
  fill_f32(B, K * ldb, -2.0f, 2.0f);
  fill_f32(bias, N, -2.0f, 2.0f);
  memset(C, 0, sizeof C);
  memset(R, 0, sizeof R);
  qrt_sgemm(M, N, K, A, lda, B, ldb, C, ldc, bias);
  ref_gemm(M, N, K, A, lda, 1, B, ldb, 1, R, ldc, bias, 0, 1, 0, 0.0f, 0.0f, 0);
  check(same_f32_arr(C, R, M * ldc), "qrt_sgemm strided + bias");
}

static void test_packed_equals_unpacked(void) {
  const int64_t M = 37, N = 45, K = 300;
  float *A = (float *)xmalloc(sizeof(float) * M * K), *B = (float *)xmalloc(sizeof(float) * K * N);
  float *Bp = (float *)xmalloc(sizeof(float) * (size_t)qrt_packed_b_size(K, N));
  float *C1 = (float *)xmalloc(sizeof(float) * M * N), *C2 = (float *)xmalloc(sizeof(float) * M * N);
  qrt_sgemm_args g;
  fill_f32(A, M * K, -1, 1);
  fill_f32(B, K * N, -1, 1);
  check(qrt_packed_b_size(K, N) == 48 * K, "packed size");
  qrt_pack_b_f32(K, N, B, Bp);
  check(Bp[K * 16 * 2 + 5 * 16 + 13] == 0.0f && Bp[K * 16 + 7 * 16 + 3] == B[7 * N + 19],
        "packed layout");
  qrt_sgemm(M, N, K, A, K, B, N, C1, N, NULL);
  memset(&g, 0, sizeof g);
  g.M = M; g.N = N; g.K = K; g.A = A; g.rs_a = K; g.cs_a = 1; g.B = Bp; g.b_packed = 1;
  g.C = C2; g.ldc = N;
  qrt_sgemm_ex(&g);
  check(same_f32_arr(C1, C2, M * N), "packed == unpacked bits");
  free(A); free(B); free(Bp); free(C1); free(C2);
}

static void test_batched(int packed, int trans_b) {
  /* A [2,3,M,K], B [1,3,K,N] (broadcast over the first batch dim) */
  const int64_t M = 7, N = 21, K = 13, BA = 2, BB = 3;
  const int64_t psz = qrt_packed_b_size(K, N);
  float A[2 * 3 * 7 * 13], B[3 * 13 * 21], Bp[3 * 32 * 13], bias[21], C[2 * 3 * 7 * 21],
      R[2 * 3 * 7 * 21];
  qrt_matmul_params p;
  const void *in[3];
  void *out[1];
  int64_t b0, b1;
  fill_f32(A, (int64_t)(sizeof A / sizeof A[0]), -1, 1);
  fill_f32(B, (int64_t)(sizeof B / sizeof B[0]), -1, 1);
  fill_f32(bias, N, -1, 1);
  memset(&p, 0, sizeof p);
  p.M = M; p.N = N; p.K = K;
  p.batch_rank = 2;
  p.batch_shape[0] = BA; p.batch_shape[1] = BB;
  p.a_batch_strides[0] = BB * M * K; p.a_batch_strides[1] = M * K;
  p.b_batch_strides[0] = 0;
  p.b_batch_strides[1] = packed ? psz : K * N;
  p.bias_rs = 0; p.bias_cs = 1;
  p.act = QRT_ACT_RELU;
  p.trans_b = trans_b;
  if (packed) {
    for (b1 = 0; b1 < BB; ++b1) qrt_pack_b_f32(K, N, B + b1 * K * N, Bp + b1 * psz);
    p.b_packed = 1;
  }
  in[0] = A; in[1] = packed ? Bp : B; in[2] = bias;
  out[0] = C;
  qrt_matmul_f32(&p, in, out);
  for (b0 = 0; b0 < BA; ++b0)
    for (b1 = 0; b1 < BB; ++b1)
      ref_gemm(M, N, K, A + (b0 * BB + b1) * M * K, K, 1, B + b1 * K * N, trans_b ? 1 : N,
               trans_b ? K : 1, R + (b0 * BB + b1) * M * N, N, bias, 0, 1, QRT_ACT_RELU, 0, 0, 0);
  check(same_f32_arr(C, R, BA * BB * M * N), packed ? "batched packed" : (trans_b ? "batched trans_b" : "batched"));
}

int main(void) {
  static const int64_t shapes[][3] = {
      {1, 1, 1},     {3, 5, 7},      {17, 33, 19},  {12, 16, 256}, {13, 17, 257},
      {150, 40, 300}, {64, 512, 128}, {1, 100, 50},  {100, 1, 50},  {5, 16, 0},
      {29, 48, 513}, {2, 31, 1},      {300, 20, 9},  {6, 64, 64},   {14, 130, 70},
      {24, 96, 40},  {160, 80, 33},  {20, 64, 17}};
  size_t s;
  int v;
  for (s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
    for (v = 0; v < 16; ++v) test_gemm(shapes[s][0], shapes[s][1], shapes[s][2], v);
  test_sgemm_simple();
  test_packed_equals_unpacked();
  test_batched(0, 0);
  test_batched(1, 0);
  test_batched(0, 1);
  return finish();
}
