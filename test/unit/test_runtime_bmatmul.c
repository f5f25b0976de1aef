/* test_runtime_bmatmul.c - qrt_bmatmul_f32 (block-format weights, float
 * or block-format activations):
 *  - on the float path (float activations, FP8 elements, block sizes that
 *    differ), bit-exact against the float GEMM (qrt_sgemm) on the decoded
 *    operands: A_hat = decode(encode(row)) per row, W_hat = decode(column)
 *    per column (the integer path, qrt_bdot.c, has its own bit-exact
 *    reference: test_runtime_bdot.c);
 *  - close to a double-precision matmul of the same decoded operands
 *    (the GEMM's rounding only);
 *  - for every format of the table, with and without activation
 *    quantization, bias or not, K not a multiple of the block, N not a
 *    multiple of 16, M = 1.
 * Any SIMD path of the GEMM gives the same bits (its sum order is fixed),
 * so the bit-exact check holds on every build of the runtime tests. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static void run_case(int32_t wf, int32_t af, int64_t M, int64_t N, int64_t K, int with_bias) {
  const int64_t col_bytes = qrt_bfmt_bytes(wf, K);
  float *A = xmalloc(sizeof(float) * (size_t)(M * K)), *W = xmalloc(sizeof(float) * (size_t)(K * N));
  float *Ah = xmalloc(sizeof(float) * (size_t)(M * K)), *Wh = xmalloc(sizeof(float) * (size_t)(K * N));
  float *col = xmalloc(sizeof(float) * (size_t)K), *bias = xmalloc(sizeof(float) * (size_t)N);
  float *C = xmalloc(sizeof(float) * (size_t)(M * N)), *R = xmalloc(sizeof(float) * (size_t)(M * N));
  uint8_t *Wp = xmalloc((size_t)(col_bytes * N)), *row = xmalloc((size_t)qrt_bfmt_bytes(af < 0 ? wf : af, K));
  qrt_bmatmul_params p;
  const void *in[4];
  void *out[1];
  void *scratch;
  int64_t m, n, k;
  double worst = 0;
  char what[160];
  fill_f32(A, M * K, -3.0f, 3.0f);
  fill_f32(W, K * N, -1.0f, 1.0f);
  fill_f32(bias, N, -0.5f, 0.5f);
  A[0] = 40.0f; /* an outlier, so blocks have different scales */
  for (n = 0; n < N; ++n) {
    for (k = 0; k < K; ++k) col[k] = W[k * N + n];
    qrt_bfmt_encode(wf, col, K, Wp + n * col_bytes);
    qrt_bfmt_decode(wf, Wp + n * col_bytes, K, col);
    for (k = 0; k < K; ++k) Wh[k * N + n] = col[k];
  }
  for (m = 0; m < M; ++m) {
    if (af < 0) {
      memcpy(Ah + m * K, A + m * K, sizeof(float) * (size_t)K);
      continue;
    }
    qrt_bfmt_encode(af, A + m * K, K, row);
    qrt_bfmt_decode(af, row, K, Ah + m * K);
  }
  qrt_sgemm(M, N, K, Ah, K, Wh, N, R, N, with_bias ? bias : NULL);
  memset(&p, 0, sizeof p);
  p.M = M;
  p.N = N;
  p.K = K;
  p.a_format = af;
  p.w_format = wf;
  scratch = xmalloc((size_t)qrt_bmatmul_scratch(&p));
  in[0] = A;
  in[1] = Wp;
  in[2] = with_bias ? bias : NULL;
  in[3] = scratch;
  out[0] = C;
  qrt_bmatmul_f32(&p, in, out);
  snprintf(what, sizeof what, "bmatmul %s x %s M=%lld N=%lld K=%lld bias=%d == sgemm of the decoded operands",
           af < 0 ? "f32" : qrt_bformat_get(af)->name, qrt_bformat_get(wf)->name, (long long)M, (long long)N,
           (long long)K, with_bias);
  if (qrt_bdot_scratch(&p) == 0) check(same_f32_arr(C, R, M * N), what);
  for (m = 0; m < M; ++m)
    for (n = 0; n < N; ++n) {
      double acc = with_bias ? bias[n] : 0.0, mag = fabs(acc);
      for (k = 0; k < K; ++k) {
        acc += (double)Ah[m * K + k] * Wh[k * N + n];
        mag += fabs((double)Ah[m * K + k] * Wh[k * N + n]);
      }
      if (mag > 0 && fabs(acc - C[m * N + n]) / mag > worst) worst = fabs(acc - C[m * N + n]) / mag;
    }
  snprintf(what, sizeof what, "bmatmul %s K=%lld within float rounding of a double matmul (%.3g)",
           qrt_bformat_get(wf)->name, (long long)K, worst);
  check(worst <= 2e-6 * (double)K, what);
  free(A); free(W); free(Ah); free(Wh); free(col); free(bias); free(C); free(R); free(Wp); free(row); free(scratch);
}

/* A run-time B [batch, K, N] (attention): every batch equals the GEMM of
 * its decoded rows and decoded columns. */
static void run_runtime_case(int32_t fmt, int64_t batch, int64_t M, int64_t N, int64_t K) {
  const int64_t vb = qrt_bfmt_bytes(fmt, K);
  float *A = xmalloc(sizeof(float) * (size_t)(batch * M * K)), *B = xmalloc(sizeof(float) * (size_t)(batch * K * N));
  float *Ah = xmalloc(sizeof(float) * (size_t)(M * K)), *Bh = xmalloc(sizeof(float) * (size_t)(K * N));
  float *v = xmalloc(sizeof(float) * (size_t)K), *C = xmalloc(sizeof(float) * (size_t)(batch * M * N));
  float *R = xmalloc(sizeof(float) * (size_t)(M * N));
  uint8_t *bytes = xmalloc((size_t)vb);
  qrt_bmatmul_params p;
  const void *in[4];
  void *out[1];
  void *scratch;
  int64_t b, m, n, k;
  int ok = 1;
  char what[160];
  fill_f32(A, batch * M * K, -2.0f, 2.0f);
  fill_f32(B, batch * K * N, -1.0f, 1.0f);
  B[3] = -25.0f;
  memset(&p, 0, sizeof p);
  p.M = M; p.N = N; p.K = K; p.a_format = fmt; p.w_format = fmt; p.batch = batch; p.b_runtime = 1;
  scratch = xmalloc((size_t)qrt_bmatmul_scratch(&p));
  in[0] = A; in[1] = B; in[2] = NULL; in[3] = scratch;
  out[0] = C;
  qrt_bmatmul_f32(&p, in, out);
  for (b = 0; b < batch; ++b) {
    for (m = 0; m < M; ++m) {
      qrt_bfmt_encode(fmt, A + (b * M + m) * K, K, bytes);
      qrt_bfmt_decode(fmt, bytes, K, Ah + m * K);
    }
    for (n = 0; n < N; ++n) {
      for (k = 0; k < K; ++k) v[k] = B[b * K * N + k * N + n];
      qrt_bfmt_encode(fmt, v, K, bytes);
      qrt_bfmt_decode(fmt, bytes, K, v);
      for (k = 0; k < K; ++k) Bh[k * N + n] = v[k];
    }
    qrt_sgemm(M, N, K, Ah, K, Bh, N, R, N, NULL);
    ok &= same_f32_arr(C + b * M * N, R, M * N);
  }
  snprintf(what, sizeof what, "bmatmul run-time B %s batch=%lld M=%lld N=%lld K=%lld == sgemm of the decoded operands",
           qrt_bformat_get(fmt)->name, (long long)batch, (long long)M, (long long)N, (long long)K);
  check(ok, what);
  free(A); free(B); free(Ah); free(Bh); free(v); free(C); free(R); free(bytes); free(scratch);
}

int main(void) {
  int32_t f;
  for (f = 0; f < QRT_BFORMAT_COUNT; ++f) {
    run_case(f, f, 5, 37, 100, 1);
    run_case(f, -1, 3, 16, 64, 0);
    run_case(f, f, 1, 1, 1, 1);
    run_case(f, f, 2, 33, 200, 0);
  }
  /* mixed formats: the activation and weight blocks need not agree */
  run_case(qrt_bformat_find("mxfp4"), qrt_bformat_find("mxfp8_e4m3"), 4, 20, 70, 1);
  run_case(qrt_bformat_find("nvfp4"), qrt_bformat_find("bfp8_64"), 4, 20, 70, 1);
  /* the float path's formats (the integer path's run-time B: test_runtime_bdot.c) */
  for (f = 0; f < QRT_BFORMAT_COUNT; ++f)
    if (qrt_bformat_get(f)->element == QRT_ELEM_E4M3 || qrt_bformat_get(f)->element == QRT_ELEM_E5M2)
      run_runtime_case(f, 3, 7, 19, 40);
  run_runtime_case(qrt_bformat_find("mxfp8_e4m3"), 4, 64, 64, 32);
  return finish();
}
