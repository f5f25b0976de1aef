#include "qrt.h"
/* qrt_qsoftmax.c - softmax over the last axis of an int8 tensor in integer
 * arithmetic only (integer-only mode; format: QRT_QSOFTMAX_PARAMS).
 *
 * For a row x (int8, real value s * (x - z)): p_j = exp(s (x_j - m)) /
 * sum_k exp(s (x_k - m)) with m = max x, and d_j = m - x_j is in 0..255.
 * So exp only ever sees 256 values:
 *   T[d] = round(2^30 exp(-s d))      (qrt_build_qsoftmax_i8, compile time;
 *                                      T[0] = 2^30, T[d] non-increasing)
 *   e_j = T[d_j],  S = sum_j e_j      (uint64; 2^30 <= S <= L 2^30)
 * and the output is y_j = round(256 e_j / S) - 128 (half up), clamped to
 * 127, without a division per element: with b = floor(log2 S) (>= 30),
 *   S' = floor(S / 2^(b-30))   in [2^30, 2^31)
 *   R  = floor(2^62 / S')      in (2^31, 2^32]     (one division per row)
 *   y_j = ((e_j R + 2^(b+23)) >> (b+24)) - 128
 * since 256 e_j / S ~= e_j R / 2^(62 + b - 30 - 8).  e_j R <= 2^62, so
 * the sum never overflows uint64; for b + 24 > 63 (S >= 2^40) every
 * e_j R / 2^(b+24) <= 1/4 rounds to 0: the kernel uses R = 0, shift 63.
 *
 * Error bound.  Let c_j = e_j R / 2^(b+24) (the value rounded above) and
 * q_j = 256 p_j (exact).  Table rounding: T[d] = 2^30 E_d + delta_d,
 * |delta| <= 1/2, so |256 e_j / S - q_j| = 256 |delta_j - p_j sum delta| / S
 * <= 256 (1 + L) / 2 / 2^30 = (L + 1) 2^-23 (S >= 2^30).  Reciprocal:
 * S' 2^(b-30) is within a factor (1 - 2^-30, 1] of S (S >= 2^b) and R
 * within (1 - 2^-31, 1] of 2^62 / S', so |c_j - 256 e_j / S| <= 256 *
 * 2^-30 (1 + 2^-30) < 2^-22 + 2^-50.  In all |c_j - q_j| < eta =
 * (L + 3.01) 2^-23 (1/2 for L = 2^22), and c_j is rounded exactly: the
 * output equals the correctly rounded round(q_j) - 128 unless q_j is
 * within eta of a half-integer, and then it differs by 1 LSB.
 * (The float path's own rounding of x * 256 is half to even: it can
 * differ from this one at exact ties, by 1 LSB.) */
#include <math.h>

QRT_API int qrt_build_qsoftmax_i8(double in_scale, int32_t table[256]) {
  int d;
  if (!(in_scale >= 0.0) || in_scale == HUGE_VAL) return -1;
  for (d = 0; d < 256; ++d) {
    /* 2^30 exp(-s d) in [0, 2^30]: floor(v + 0.5) is round half up, exact
     * (v + 0.5 is exact below 2^52) */
    const double v = ldexp(exp(-in_scale * (double)d), 30);
    table[d] = (int32_t)floor(v + 0.5);
  }
  return 0;
}

/* Whether element j of row o counts: the mask bytes cycle with period
 * mask_n over the elements in row-major order.  `row` is the row's own
 * run of mask bytes when it lies in one period (the usual [L, L] causal
 * mask: no division per element), else NULL (then `at` is used). */
static int qrt_qsoftmax_keep(const uint8_t *mask, int64_t mask_n, const uint8_t *row, int64_t j, int64_t at) {
  return !mask || (row ? row[j] : mask[at % mask_n]) != 0;
}

QRT_API void qrt_qsoftmax_i8(const void *params, const void *const *in, void *const *out) {
  const qrt_qsoftmax_params *p = (const qrt_qsoftmax_params *)params;
  const int8_t *x = (const int8_t *)in[0];
  const int32_t *tab = (const int32_t *)in[1];
  const uint8_t *mask = p->mask_n > 0 ? (const uint8_t *)in[2] : NULL;
  int8_t *y = (int8_t *)out[0];
  const int64_t L = p->axis_len;
  uint32_t t[256]; /* unsigned copy: the products below are uint64 */
  int64_t o, j;
  int i;
  if (L <= 0) return;
  for (i = 0; i < 256; ++i) t[i] = (uint32_t)tab[i];
  for (o = 0; o < p->outer; ++o) {
    const int8_t *xr = x + o * L;
    int8_t *yr = y + o * L;
    const uint8_t *mr = mask, *row = NULL;
    uint64_t S = 0, Sn, R, half;
    int32_t m = -128;
    uint32_t b = 30, sh;
    int any = 0;
    if (mask && (o * L) % p->mask_n + L <= p->mask_n) row = mask + (o * L) % p->mask_n;
    for (j = 0; j < L && mask; ++j) any |= qrt_qsoftmax_keep(mask, p->mask_n, row, j, o * L + j);
    if (!any) mr = NULL; /* no mask, or a fully masked row: every element */
    /* branch-free, so the loops vectorize (the mask's cases are loop
     * invariant): a masked element reads as -128 for the max, which a kept
     * one always reaches, and adds 0 to S */
    for (j = 0; j < L; ++j) {
      const int32_t v = qrt_qsoftmax_keep(mr, p->mask_n, row, j, o * L + j) ? xr[j] : -128;
      m = v > m ? v : m;
    }
    for (j = 0; j < L; ++j)
      S += qrt_qsoftmax_keep(mr, p->mask_n, row, j, o * L + j) ? t[(uint32_t)(m - xr[j])] : 0u;
    /* S >= T[0] = 2^30 (the max element) unless the table is not one of
     * qrt_build_qsoftmax_i8's; S = 0 gives all -128 */
    if (S == 0) {
      for (j = 0; j < L; ++j) yr[j] = -128;
      continue;
    }
    while (b < 63 && (S >> (b + 1)) != 0) ++b; /* b = floor(log2 S) */
    while (b > 0 && (S >> b) == 0) --b;
    Sn = b >= 30 ? S >> (b - 30) : S << (30 - b);
    R = ((uint64_t)1 << 62) / Sn;
    sh = b + 24;
    if (sh > 63) { R = 0; sh = 63; }
    half = (uint64_t)1 << (sh - 1);
    for (j = 0; j < L; ++j) {
      const uint64_t e = qrt_qsoftmax_keep(mr, p->mask_n, row, j, o * L + j) ? t[(uint32_t)(m - xr[j])] : 0;
      const uint64_t v = (e * R + half) >> sh; /* <= 256 */
      const int32_t q = (int32_t)v - 128;
      yr[j] = (int8_t)(q > 127 ? 127 : q);
    }
  }
}
