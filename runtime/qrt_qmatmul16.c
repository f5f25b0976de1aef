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
 * Loop order: for each row m and a block of NB output columns, the k loop
 * is outermost and the inner loop runs over the block's columns, reading
 * B's row k contiguously: a widening multiply-add over n that GCC and
 * clang vectorize (int16 x int16 -> int32, sign-extended to int64 lanes)
 * without intrinsics; with int8 weights blocks of 256 products sum in
 * int32 lanes first (exact, see below).  The zero point of A (asymmetric
 * codes) is applied once per column through B's column sums, not per
 * product. */

enum { QRT_Q16_NB = 64, QRT_Q16_KB = 256 };

/* One batch: A [M, K], B [K, N] (int16 when b16, else int8), C [M, N]. */
QRT_INTERNAL void qrt_qmm16_one(const qrt_qmatmul_params *p, const int16_t *A, const void *B, int b16,
                                const int64_t *bias, const int32_t *mult, const int8_t *shift, int16_t *C) {
  const int64_t M = p->M, N = p->N, K = p->K, za = p->a_zero_point;
  const int16_t *B16 = (const int16_t *)B;
  const int8_t *B8 = (const int8_t *)B;
  int64_t acc[QRT_Q16_NB], colsum[QRT_Q16_NB];
  int64_t n0, nb, m, k, n;
  for (n0 = 0; n0 < N; n0 += QRT_Q16_NB) {
    nb = N - n0 < QRT_Q16_NB ? N - n0 : QRT_Q16_NB;
    for (n = 0; n < nb; ++n) colsum[n] = 0;
    if (za)
      for (k = 0; k < K; ++k)
        for (n = 0; n < nb; ++n) colsum[n] += b16 ? B16[k * N + n0 + n] : B8[k * N + n0 + n];
    for (m = 0; m < M; ++m) {
      const int16_t *a = A + m * K;
      for (n = 0; n < nb; ++n) acc[n] = 0;
      if (b16) {
        for (k = 0; k < K; ++k) {
          const int32_t av = a[k];
          const int16_t *b = B16 + k * N + n0;
          for (n = 0; n < nb; ++n) acc[n] += (int64_t)(av * (int32_t)b[n]);
        }
      } else {
        /* int8 weights: |a b| <= 2^15 * 2^7, so QRT_Q16_KB = 256 products
         * sum exactly in int32 (<= 2^30) before each int64 add: int32
         * lanes, twice as many per vector */
        int32_t part[QRT_Q16_NB];
        int64_t k0, k1;
        for (k0 = 0; k0 < K; k0 = k1) {
          k1 = K - k0 < QRT_Q16_KB ? K : k0 + QRT_Q16_KB;
          for (n = 0; n < nb; ++n) part[n] = 0;
          for (k = k0; k < k1; ++k) {
            const int32_t av = a[k];
            const int8_t *b = B8 + k * N + n0;
            for (n = 0; n < nb; ++n) part[n] += av * (int32_t)b[n];
          }
          for (n = 0; n < nb; ++n) acc[n] += part[n];
        }
      }
      for (n = 0; n < nb; ++n) {
        const int64_t v = acc[n] - za * colsum[n] + (bias ? bias[n0 + n] : 0);
        C[m * N + n0 + n] = (int16_t)qrt_requant_wide(v, mult[n0 + n], shift[n0 + n], p->out_zero_point,
                                                      p->out_min, p->out_max);
      }
    }
  }
}

QRT_API void qrt_qmatmul_i16(const void *params, const void *const *in, void *const *out) {
  const qrt_qmatmul_params *p = (const qrt_qmatmul_params *)params;
  const int32_t br = p->batch_rank < 0 ? 0 : (p->batch_rank > 6 ? 6 : p->batch_rank);
  const int b16 = p->b_bits == 16;
  const size_t b_size = b16 ? sizeof(int16_t) : sizeof(int8_t);
  int64_t nb = 1, b, d;
  /* the output range inside int16 (the requantization clamps to it) */
  qrt_qmatmul_params q = *p;
  q.out_min = q.out_min < -32768 ? -32768 : q.out_min;
  q.out_max = q.out_max > 32767 ? 32767 : q.out_max;
  if (q.out_max < q.out_min) q.out_max = q.out_min;
  for (d = 0; d < br; ++d) nb *= p->batch_shape[d];
  for (b = 0; b < nb; ++b) {
    int64_t ao = 0, bo = 0, r = b;
    for (d = br - 1; d >= 0; --d) {
      const int64_t n = p->batch_shape[d] > 0 ? p->batch_shape[d] : 1;
      ao += (r % n) * p->a_batch_strides[d];
      bo += (r % n) * p->b_batch_strides[d];
      r /= n;
    }
    qrt_qmm16_one(&q, (const int16_t *)in[0] + ao, (const char *)in[1] + bo * (int64_t)b_size, b16,
                  (const int64_t *)in[2], (const int32_t *)in[3], (const int8_t *)in[4],
                  (int16_t *)out[0] + b * p->M * p->N);
  }
}
