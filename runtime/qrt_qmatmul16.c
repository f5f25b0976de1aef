#include "qrt.h"
/* qrt_qmatmul16.c - int16 activations: qrt_qmatmul_i16 (contract in qrt.h,
 * QRT_QMATMUL_PARAMS).
 *
 * Why a kernel of its own: the int8 GEMM sums byte products in int32
 * lanes, which int16 codes would overflow after a handful of terms (one
 * product reaches 2^30).  Here every product is formed in int32, where it
 * is exact (|a b| <= 2^15 * 2^15), and added to an int64 accumulator, so
 * the sum is exact for any K < 2^30 and the order of the additions does
 * not matter: every build and SIMD path gives the same bits.
 *
 * Loop order: for four rows of A and a block of NB output columns, the k
 * loop is outermost and the inner loop runs over the block's columns,
 * reading B's row k contiguously once for the four rows: a widening
 * multiply-add over n that GCC and clang vectorize (int16 x int16 ->
 * int32, sign-extended to int64 lanes) without intrinsics; with int8
 * weights blocks of 256 products sum in int32 lanes first (exact, see
 * below).  The zero point of A (asymmetric
 * codes) is applied once per column through B's column sums, not per
 * product. */

enum { QRT_Q16_NB = 64, QRT_Q16_KB = 256, QRT_Q16_MR = 4 };

/* acc[r][n] = sum_k A[r][k] B[k][n] for the QRT_Q16_MR rows at A (row
 * stride K; rows r >= mr read as zeros) and the nb columns at B (row
 * stride N).  Four rows share each load of B's row k, and their sums stay
 * in vector registers across k. */
QRT_INTERNAL void qrt_qmm16_rows(const int16_t *A, int64_t K, int64_t mr, const void *B, int b16, int64_t N,
                                 int64_t nb, int64_t acc[QRT_Q16_MR][QRT_Q16_NB]) {
  const int16_t *B16 = (const int16_t *)B;
  const int8_t *B8 = (const int8_t *)B;
  int64_t k, k0, k1, n;
  int r;
  for (r = 0; r < QRT_Q16_MR; ++r)
    for (n = 0; n < QRT_Q16_NB; ++n) acc[r][n] = 0;
  if (b16) { /* |a b| <= 2^30: one product per int32, summed in int64 */
    for (k = 0; k < K; ++k) {
      const int32_t a0 = A[k], a1 = mr > 1 ? A[K + k] : 0, a2 = mr > 2 ? A[2 * K + k] : 0,
                    a3 = mr > 3 ? A[3 * K + k] : 0;
      const int16_t *b = B16 + k * N;
      for (n = 0; n < nb; ++n) {
        const int32_t bv = b[n];
        acc[0][n] += (int64_t)(a0 * bv);
        acc[1][n] += (int64_t)(a1 * bv);
        acc[2][n] += (int64_t)(a2 * bv);
        acc[3][n] += (int64_t)(a3 * bv);
      }
    }
    return;
  }
  /* int8 weights: |a b| <= 2^15 * 2^7, so QRT_Q16_KB = 256 products sum
   * exactly in int32 (<= 2^30) before each int64 add: int32 lanes, twice
   * as many per vector */
  for (k0 = 0; k0 < K; k0 = k1) {
    int32_t part[QRT_Q16_MR][QRT_Q16_NB];
    k1 = K - k0 < QRT_Q16_KB ? K : k0 + QRT_Q16_KB;
    for (r = 0; r < QRT_Q16_MR; ++r)
      for (n = 0; n < QRT_Q16_NB; ++n) part[r][n] = 0;
    for (k = k0; k < k1; ++k) {
      const int32_t a0 = A[k], a1 = mr > 1 ? A[K + k] : 0, a2 = mr > 2 ? A[2 * K + k] : 0,
                    a3 = mr > 3 ? A[3 * K + k] : 0;
      const int8_t *b = B8 + k * N;
      for (n = 0; n < nb; ++n) {
        const int32_t bv = b[n];
        part[0][n] += a0 * bv;
        part[1][n] += a1 * bv;
        part[2][n] += a2 * bv;
        part[3][n] += a3 * bv;
      }
    }
    for (r = 0; r < QRT_Q16_MR; ++r)
      for (n = 0; n < nb; ++n) acc[r][n] += part[r][n];
  }
}

/* One batch: A [M, K], B [K, N] (int16 when b16, else int8), C [M, N]. */
QRT_INTERNAL void qrt_qmm16_one(const qrt_qmatmul_params *p, const int16_t *A, const void *B, int b16,
                                const int64_t *bias, const int32_t *mult, const int8_t *shift, int16_t *C) {
  const int64_t M = p->M, N = p->N, K = p->K, za = p->a_zero_point;
  const size_t b_size = b16 ? sizeof(int16_t) : sizeof(int8_t);
  int64_t acc[QRT_Q16_MR][QRT_Q16_NB], colsum[QRT_Q16_NB];
  int64_t n0, nb, m, mr, k, n, r;
  for (n0 = 0; n0 < N; n0 += QRT_Q16_NB) {
    nb = N - n0 < QRT_Q16_NB ? N - n0 : QRT_Q16_NB;
    for (n = 0; n < nb; ++n) colsum[n] = 0;
    if (za)
      for (k = 0; k < K; ++k)
        for (n = 0; n < nb; ++n)
          colsum[n] += b16 ? ((const int16_t *)B)[k * N + n0 + n] : ((const int8_t *)B)[k * N + n0 + n];
    for (m = 0; m < M; m += QRT_Q16_MR) {
      mr = M - m < QRT_Q16_MR ? M - m : QRT_Q16_MR;
      qrt_qmm16_rows(A + m * K, K, mr, (const char *)B + n0 * (int64_t)b_size, b16, N, nb, acc);
      for (r = 0; r < mr; ++r)
        for (n = 0; n < nb; ++n) {
          const int64_t v = acc[r][n] - za * colsum[n] + (bias ? bias[n0 + n] : 0);
          C[(m + r) * N + n0 + n] = (int16_t)qrt_requant_wide(v, mult[n0 + n], shift[n0 + n], p->out_zero_point,
                                                              p->out_min, p->out_max);
        }
    }
  }
}

QRT_API void qrt_qmatmul_i16(const void *params, const void *const *in, void *const *out) {
  const qrt_qmatmul_params *p = (const qrt_qmatmul_params *)params;
  const int b16 = p->b_bits == 16;
  const size_t b_size = b16 ? sizeof(int16_t) : sizeof(int8_t);
  const int64_t nb = qrt_batch_count(p->batch_rank, p->batch_shape);
  int64_t b;
  /* the output range inside int16 (the requantization clamps to it) */
  qrt_qmatmul_params q = *p;
  q.out_min = q.out_min < -32768 ? -32768 : q.out_min;
  q.out_max = q.out_max > 32767 ? 32767 : q.out_max;
  if (q.out_max < q.out_min) q.out_max = q.out_min;
  for (b = 0; b < nb; ++b) {
    int64_t ao, bo;
    qrt_batch_offsets(p->batch_rank, p->batch_shape, p->a_batch_strides, p->b_batch_strides, b, &ao, &bo);
    qrt_qmm16_one(&q, (const int16_t *)in[0] + ao, (const char *)in[1] + bo * (int64_t)b_size, b16,
                  (const int64_t *)in[2], (const int32_t *)in[3], (const int8_t *)in[4],
                  (int16_t *)out[0] + b * p->M * p->N);
  }
}
