#include "qrt.h"
/* qrt_qnorm.c - LayerNorm and RMSNorm over the last axis of an int8 tensor
 * in integer arithmetic only (integer-only mode; format: QRT_QNORM_PARAMS),
 * and their compile-time constants (qrt_build_qnorm_i8).
 *
 * Row of n int8 values q_j, d_j = q_j - z_x (|d_j| <= 255), real input
 * s_x d_j.  Both norms have the form norm_j = D_j / sqrt(V + E) with
 * integers (exact in int64 for n <= 2^22):
 *   layernorm: D_j = n d_j - S1,  V = n S2 - S1^2  (= n^2 var / s_x^2)
 *   rmsnorm:   D_j = n d_j,       V = n S2         (= n^2 mean(x^2) / s_x^2)
 * with S1 = sum d_j, S2 = sum d_j^2, and E = n^2 eps / s_x^2 (a real).
 * |norm_j| <= sqrt(n) (|x_j - mean|^2 <= (n-1) var; x_j^2 <= n mean(x^2)).
 *
 * Per row (one integer square root and one division):
 *   W  = V 2^F + eps_q          eps_q = round(E 2^F); F (eps_shift) is the
 *                               largest even number with (n^2 2^16 + E) 2^F
 *                               <= 2^61, so W <= 2^61 (V < n^2 2^16); for
 *                               F < 0, V is rounded: (V + 2^(-F-1)) >> -F
 *   Wn = W 4^a in [2^60, 2^62)  (a >= 0 from the bit length of W)
 *   r  = isqrt(Wn)  in [2^30, 2^31),  R = floor(2^62 / r) in (2^31, 2^32]
 *   so 1 / sqrt(V + E) ~= R 2^(a + F/2 - 62), and the normalized value
 *   with k = norm_shift fraction bits (k the largest with sqrt(n) 2^k <=
 *   2^30, so |t_j| <= 2^30 + 2):
 *   t_j = round(D_j R / 2^s1),  s1 = 62 - a - F/2 - k   (|D_j| R < 2^63)
 * Per element (g = gamma_shift, b = beta_shift, T = g + k <= 52):
 *   acc = t_j gamma_q[j] + beta_q[j] 2^(T - b)    (|acc| < 2^63)
 *   y_j = clamp(z_y + round(acc / 2^T), out_min, out_max)
 * where gamma_q = round(gamma / s_y 2^g) (|gamma_q| <= 2^31 - 1, g as large
 * as that and T <= 52 allow) and beta_q = round(beta / s_y 2^b) (|beta_q|
 * <= 2^31 - 1, b >= T - 31).  round = half away from zero.  beta / s_y is
 * first clamped to +-min(sqrt(n) max|gamma| / s_y + 258, 2^(62-T)): past
 * either bound |beta / s_y| exceeds |gamma norm / s_y| + 256 (as sqrt(n)
 * max|gamma| / s_y <= 2^(61-T) and 2^(61-T) >= 256), so the output
 * saturates on beta's side with or without the clamp: the clamp changes
 * nothing and keeps |acc| <= (2^30 + 2)(2^31 - 1) + 2^62 + 2^30 < 2^63.
 * (Only |gamma| / s_y > 2^(30+k), which saturates gamma_q, gives other
 * results; never undefined behaviour.)  V = 0 (a constant row, or an
 * all-zero-point row for rmsnorm) gives D = 0, so y = beta (also with
 * eps = 0, where W = 0 and R is taken as 0).
 *
 * Error bound.  With u_j = (gamma_j norm_j + beta_j) / s_y the exact value
 * in output LSBs, |acc / 2^T - u_j| <= eta_j =
 *   |gamma_j| / s_y (2^-(k+1) + sqrt(n) rho) + sqrt(n) 2^-(g+1) + 2^-(b+1)
 * with rho the relative error of R 2^(a + F/2 - 62) as 1 / sqrt(V + E):
 * 2^-30 (isqrt floor: r >= 2^30) + 2^-31 (R floor: R > 2^31) + the
 * rounding of W, 1/2 in W >= (n - 1) 2^F (V >= n - 1 when V != 0; D = 0
 * otherwise), so rho <= 1.5 2^-30 + 2^-(F+1) / max(n - 1, 1) for F >= 0
 * and rho <= 1.5 2^-30 + 2^-57 for F < 0 (then W >= eps_q >= 2^58).
 * acc / 2^T is rounded exactly, so the output is the correctly rounded
 * one unless u_j lies within eta_j of a half-integer, and then it is
 * 1 LSB off.  E.g. n = 4096 (k = 24, F = 20), |gamma| / s_y <= 2^10
 * (g >= 20): eta < 2e-4.  The unit test checks exactly this bound.
 *
 * Loops: the row sums run in int32 lanes over blocks of 16384 elements
 * (16384 * 255^2 < 2^31), vectorizable; the per-element pass is int64. */
#include <math.h>
#include <string.h>

#define QRT_QNORM_MAX_N ((int64_t)1 << 22)
#define QRT_QNORM_BLOCK 16384

/* bit length of v (0 for 0), by halving: six steps, not a loop over
 * up to 64 bits (once per row) */
QRT_INTERNAL uint32_t qrt_qnorm_bitlen(uint64_t v) {
  uint32_t l = 0, w;
  for (w = 32; w != 0; w >>= 1)
    if (v >> w) {
      v >>= w;
      l += w;
    }
  return l + (uint32_t)(v != 0);
}

/* floor(sqrt(v)) for v < 2^32: the binary digit-by-digit method.
 * Let r_i = floor(sqrt(floor(v / 4^i))).  Since floor(v / 4^i) =
 * 4 floor(v / 4^(i+1)) + c with c in 0..3, and (2 r_{i+1})^2 <= 4 N + c
 * < (2 r_{i+1} + 2)^2 for N = floor(v / 4^(i+1)), r_i is 2 r_{i+1} or
 * 2 r_{i+1} + 1.  Invariant at the top of the loop with bit = 4^i:
 *   res = r_{i+1} 4^(i+1),  rem = v - r_{i+1}^2 4^(i+1) >= 0.
 * It holds first (i = 15: v < 4^16, so r_16 = 0 = res).  r_i = 2 r_{i+1}
 * + 1 iff (2 r_{i+1} + 1)^2 4^i <= v iff rem >= (4 r_{i+1} + 1) 4^i =
 * res + bit; then rem - (res + bit) = v - r_i^2 4^i and (res >> 1) + bit
 * = r_{i+1} 2^(2i+1) + 4^i = r_i 4^i; otherwise rem = v - r_i^2 4^i
 * already and res >> 1 = r_i 4^i (res is even: exact).  That is the
 * invariant for bit = 4^(i-1); after i = 0, res = r_0 = floor(sqrt(v)).
 * No overflow: r_{i+1} < 2^(15-i), so res + bit < 2^(17+i) + 4^i <= 2^32
 * for i <= 14 (res = 0 at i = 15).  The step is branch-free: whether a
 * digit is 1 depends on the data, and a branch would mispredict. */
QRT_INTERNAL QRT_ALWAYS_INLINE inline uint32_t qrt_isqrt_u32(uint32_t v) {
  uint32_t rem = v, res = 0, bit = (uint32_t)1 << 30;
  while (bit != 0) {
    const uint32_t take = 0u - (uint32_t)(rem >= res + bit);
    rem -= (res + bit) & take;
    res = (res >> 1) + (bit & take);
    bit >>= 2;
  }
  return res;
}

/* floor(sqrt(v)) for every uint64 v, from the 32-bit one and one Newton
 * step (one division, not 32 dependent digit steps):
 * - v < 2^32: qrt_isqrt_u32.
 * - v >= 2^62: with q = floor(v / 4), floor(sqrt(v)) is r = 2 isqrt(q) or
 *   r + 1 (as for a digit above); (r + 1)^2 <= (2^32 - 1)^2 fits.
 * - else w = v 4^a in [2^60, 2^62) (a from the bit length) and
 *   floor(sqrt(v)) = floor(floor(sqrt(w)) / 2^a).  h = isqrt_u32(floor(w /
 *   2^30)) gives s = sqrt(w) in [h 2^15, (h + 1) 2^15) (h^2 <= w / 2^30 <
 *   (h + 1)^2), so x = (h + 1) 2^15 >= s, x - s <= 2^15 and x >= 2^30.
 *   Newton: r = floor((x + floor(w / x)) / 2) = floor((x + w / x) / 2),
 *   and (x + w / x) / 2 - s = (x - s)^2 / (2x) lies in [0, 1/2], so r is
 *   floor(s) or floor(s) + 1; r r > w tells which (r <= 2^31: no
 *   overflow; x + w / x < 2^33). */
/* floor(sqrt(w)) for w in [2^60, 2^62): the Newton step above (inlined
 * into the norm's per-row code, which normalizes W itself) */
QRT_INTERNAL QRT_ALWAYS_INLINE inline uint64_t qrt_isqrt_norm(uint64_t w) {
  const uint64_t x = ((uint64_t)qrt_isqrt_u32((uint32_t)(w >> 30)) + 1) << 15;
  const uint64_t r = (x + w / x) >> 1;
  return r - (uint64_t)(r * r > w);
}

QRT_API uint64_t qrt_isqrt_u64(uint64_t v) {
  uint64_t r;
  uint32_t a;
  if (v < ((uint64_t)1 << 32)) return qrt_isqrt_u32((uint32_t)v);
  if (v >= ((uint64_t)1 << 62)) {
    r = 2 * qrt_isqrt_u64(v >> 2);
    return r + (uint64_t)((r + 1) * (r + 1) <= v);
  }
  a = (62u - qrt_qnorm_bitlen(v)) / 2u;
  return qrt_isqrt_norm(v << (2u * a)) >> a;
}

/* round(v) half away from zero for |v| < 2^62 (v - trunc(v) is exact). */
QRT_INTERNAL int64_t qrt_qnorm_round(double v) {
  const int neg = v < 0;
  const double a = neg ? -v : v;
  int64_t q = (int64_t)a;
  if (a - (double)q >= 0.5) ++q;
  return neg ? -q : q;
}

/* v clamped to [-lim, lim], then rounded */
QRT_INTERNAL int64_t qrt_qnorm_round_sat(double v, double lim) {
  return qrt_qnorm_round(v > lim ? lim : (v < -lim ? -lim : v));
}

QRT_API int qrt_build_qnorm_i8(int rms, int64_t norm_size, double epsilon, double in_scale,
                               int32_t in_zp, double out_scale, int32_t out_zp, const float *gamma,
                               const float *beta, qrt_qnorm_params *p, int32_t *gamma_q,
                               int32_t *beta_q) {
  const int64_t n = norm_size;
  const double i32max = 2147483647.0;
  double E, vmax, gmax = 0.0, bmax = 0.0, blim;
  int32_t k, F, g, b, T;
  int64_t j;
  if (n < 1 || n > QRT_QNORM_MAX_N || !(epsilon >= 0.0) || epsilon == HUGE_VAL ||
      !(in_scale > 0.0) || in_scale == HUGE_VAL || !(out_scale > 0.0) || out_scale == HUGE_VAL ||
      in_zp < -128 || in_zp > 127 || out_zp < -128 || out_zp > 127 || !gamma_q ||
      (beta && !beta_q))
    return -1;
  memset(p, 0, sizeof *p);
  p->in_zero_point = in_zp;
  p->out_zero_point = out_zp;
  p->out_min = -128;
  p->out_max = 127;
  p->norm_size = n;
  (void)rms; /* the same constants serve both norms */
  /* k: sqrt(n) 2^k <= 2^30, i.e. n <= 2^(60 - 2k) */
  k = 30;
  while (k > 0 && n > ((int64_t)1 << (60 - 2 * k))) --k;
  /* F: (n^2 2^16 + E) 2^F <= 2^61, F even */
  E = (double)n * (double)n * epsilon / (in_scale * in_scale); /* may be +inf */
  vmax = (double)n * (double)n * 65536.0;
  F = 60;
  while (F > -62 && !(ldexp(vmax + E, F) <= 2305843009213693952.0)) F -= 2;
  p->eps_shift = F;
  p->eps_q = qrt_qnorm_round_sat(ldexp(E, F), 2305843009213693952.0); /* <= 2^61 */
  p->norm_shift = k;
  /* gamma: shared shift g, T = g + k in [1, 52] */
  for (j = 0; j < n; ++j) {
    const double a = fabs(gamma ? (double)gamma[j] : 1.0) / out_scale;
    gmax = a > gmax ? a : gmax; /* NaN gamma: ignored here, quantized to 0 */
  }
  g = 52 - k;
  while (g > 1 - k && !(ldexp(gmax, g) <= i32max)) --g;
  T = g + k;
  p->gamma_shift = g;
  for (j = 0; j < n; ++j) {
    const double v = ldexp((gamma ? (double)gamma[j] : 1.0) / out_scale, g);
    gamma_q[j] = v == v ? (int32_t)qrt_qnorm_round_sat(v, i32max) : 0;
  }
  /* beta: clamped to +-blim LSB (see above), shift b with |beta_q| < 2^31 */
  blim = sqrt((double)n) * gmax + 258.0;
  blim = blim < ldexp(1.0, 62 - T) ? blim : ldexp(1.0, 62 - T);
  if (beta)
    for (j = 0; j < n; ++j) {
      double a = fabs((double)beta[j]) / out_scale;
      a = a > blim ? blim : a;
      bmax = a > bmax ? a : bmax;
    }
  b = T;
  while (b > T - 62 && !(ldexp(bmax, b) <= i32max)) --b;
  p->beta_shift = b;
  if (beta_q)
    for (j = 0; j < n; ++j) {
      double v = beta ? (double)beta[j] / out_scale : 0.0;
      v = v != v ? 0.0 : (v > blim ? blim : (v < -blim ? -blim : v));
      beta_q[j] = (int32_t)qrt_qnorm_round_sat(ldexp(v, b), i32max);
    }
  return 0;
}

/* One output: t = round(D R / 2^s1), y = clamp(zout + round((t G + B) /
 * 2^shT)), rounding half away from zero on unsigned magnitudes. */
QRT_INTERNAL QRT_ALWAYS_INLINE inline int8_t qrt_qnorm_elem(int64_t D, uint64_t R, uint64_t h1,
                                                           uint32_t s1, int32_t G, int64_t B,
                                                           uint64_t halfT, uint32_t shT,
                                                           int32_t zout, int32_t lo, int32_t hi) {
  const uint64_t sd = (uint64_t)0 - (uint64_t)(D < 0);
  const uint64_t tm = (((((uint64_t)D ^ sd) - sd) * R) + h1) >> s1; /* <= 2^30 + 2 */
  const int64_t t = (int64_t)((tm ^ sd) - sd);
  const int64_t acc = t * G + B; /* |acc| < 2^63 */
  const uint64_t sa = (uint64_t)0 - (uint64_t)(acc < 0);
  const uint64_t m = ((((uint64_t)acc ^ sa) - sa) + halfT) >> shT;
  int64_t v = (int64_t)((m ^ sa) - sa) + zout;
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  return (int8_t)v;
}

/* The row's factors: c (S1 for layernorm, 0 for rmsnorm), R and s1 (see
 * the top of the file). */
typedef struct qrt_qnorm_row {
  int64_t c;
  uint64_t R, h1;
  uint32_t s1;
} qrt_qnorm_row;

QRT_INTERNAL qrt_qnorm_row qrt_qnorm_row_factors(const qrt_qnorm_params *p, const int8_t *xr,
                                                 int rms) {
  const int64_t n = p->norm_size;
  const int32_t zin = p->in_zero_point, F = p->eps_shift;
  qrt_qnorm_row f;
  int64_t S1 = 0, j, j0;
  uint64_t S2 = 0, V, W;
  int32_t s1 = 0;
  /* row sums: |d| <= 255, a block's sums fit int32 */
  for (j0 = 0; j0 < n; j0 += QRT_QNORM_BLOCK) {
    const int64_t je = n - j0 < QRT_QNORM_BLOCK ? n : j0 + QRT_QNORM_BLOCK;
    int32_t s1b = 0, s2b = 0;
    for (j = j0; j < je; ++j) {
      const int32_t d = (int32_t)xr[j] - zin;
      s1b += d;
      s2b += d * d;
    }
    S1 += s1b;
    S2 += (uint64_t)s2b;
  }
  /* V = n S2 - S1^2 >= 0 (Cauchy-Schwarz) or n S2; both < n^2 2^16 */
  f.c = rms ? 0 : S1;
  V = (uint64_t)n * S2 - (uint64_t)(f.c < 0 ? -f.c : f.c) * (uint64_t)(f.c < 0 ? -f.c : f.c);
  if (F >= 0) W = (V << F) + (uint64_t)p->eps_q;
  else W = ((V + ((uint64_t)1 << (-F - 1))) >> -F) + (uint64_t)p->eps_q;
  f.R = 0;
  if (W != 0) {
    const uint32_t a = (62u - qrt_qnorm_bitlen(W)) / 2u; /* W <= 2^62 */
    const uint64_t r = qrt_isqrt_norm(W << (2u * a));    /* [2^30, 2^31) */
    f.R = ((uint64_t)1 << 62) / r;                       /* (2^31, 2^32] */
    s1 = 62 - (int32_t)a - F / 2 - p->norm_shift;
  }
  /* s1 > 63: |D| R < 2^63 <= 2^(s1-1), every t rounds to 0 */
  if (s1 > 63) f.R = 0;
  f.s1 = (uint32_t)(s1 < 0 ? 0 : (s1 > 63 ? 63 : s1));
  f.h1 = ((uint64_t)1 << f.s1) >> 1;
  return f;
}

/* Rows go in blocks: first every row's factors, then every row's
 * outputs.  The factors (a square root and a division each) are long
 * dependency chains; rows are independent, so the CPU overlaps the
 * chains of a block instead of waiting on each. */
#define QRT_QNORM_ROWS 16

QRT_INTERNAL void qrt_qnorm_run(const qrt_qnorm_params *p, const void *const *in, void *const *out,
                                int rms) {
  const int8_t *x = (const int8_t *)in[0];
  const int32_t *gq = (const int32_t *)in[1];
  const int32_t *bq = (const int32_t *)in[2];
  int8_t *y = (int8_t *)out[0];
  const int64_t n = p->norm_size;
  const int32_t zin = p->in_zero_point, zout = p->out_zero_point;
  const int32_t T = p->gamma_shift + p->norm_shift;
  const int32_t bl = T - p->beta_shift;
  const uint64_t halfT = ((uint64_t)1 << (T < 1 ? 0 : (T > 62 ? 62 : T))) >> 1;
  const uint32_t shT = (uint32_t)(T < 0 ? 0 : (T > 62 ? 62 : T));
  const int64_t bmul = (int64_t)1 << (bl < 0 ? 0 : (bl > 62 ? 62 : bl));
  const int32_t lo = p->out_min < -128 ? -128 : p->out_min;
  const int32_t hi = p->out_max > 127 ? 127 : (p->out_max < lo ? lo : p->out_max);
  qrt_qnorm_row f[QRT_QNORM_ROWS];
  int64_t o0, o, j;
  if (n <= 0 || n > QRT_QNORM_MAX_N) return;
  for (o0 = 0; o0 < p->outer; o0 += QRT_QNORM_ROWS) {
    const int64_t rows = p->outer - o0 < QRT_QNORM_ROWS ? p->outer - o0 : QRT_QNORM_ROWS;
    for (o = 0; o < rows; ++o) f[o] = qrt_qnorm_row_factors(p, x + (o0 + o) * n, rms);
    for (o = 0; o < rows; ++o) {
      const int8_t *xr = x + (o0 + o) * n;
      int8_t *yr = y + (o0 + o) * n;
      const qrt_qnorm_row r = f[o];
      if (bq) {
        for (j = 0; j < n; ++j)
          yr[j] = qrt_qnorm_elem(n * ((int64_t)xr[j] - zin) - r.c, r.R, r.h1, r.s1, gq[j],
                                 (int64_t)bq[j] * bmul, halfT, shT, zout, lo, hi);
      } else {
        for (j = 0; j < n; ++j)
          yr[j] = qrt_qnorm_elem(n * ((int64_t)xr[j] - zin) - r.c, r.R, r.h1, r.s1, gq[j], 0,
                                 halfT, shT, zout, lo, hi);
      }
    }
  }
}

QRT_API void qrt_qlayernorm_i8(const void *params, const void *const *in, void *const *out) {
  qrt_qnorm_run((const qrt_qnorm_params *)params, in, out, 0);
}

QRT_API void qrt_qrmsnorm_i8(const void *params, const void *const *in, void *const *out) {
  qrt_qnorm_run((const qrt_qnorm_params *)params, in, out, 1);
}
