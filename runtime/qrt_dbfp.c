#include "qrt.h"
/* qrt_dbfp.c - DBFP, dynamic block floating point for a softmax's input
 * rows, and the lookup-table softmax that reads it (`--softmax-format
 * dbfpM`).  After DB-Attn (Wang et al., "Pushing the Limits of BFP on
 * Narrow Precision LLM Inference", AAAI 2025, arXiv 2502.00026): a block
 * format for nonlinear ops whose shared exponent is chosen by a pivot
 * ("pivot-focus") and whose grouping adapts to the data, with exp done by
 * table.  Only the paper's abstract was available to us; the definitions
 * below are our reading of it, fitted to softmax.
 *
 * Why this shape.  softmax(x)_j = exp(x_j - p) / sum_k exp(x_k - p) with p
 * the row maximum: only the distances d_j = p - x_j >= 0 matter, exp
 * weights the small ones most, and a d past ~16 contributes nothing a
 * float can see.  So the pivot is the row maximum, the codes are distances
 * from it (a BFP of x itself spends its exponent on max |x|, which for
 * logits like [40, 39.5, -3] is neither the pivot nor the spread), and the
 * exponents come from the row's spread, clipped where exp underflows.
 *
 * DBFP(m), m = bits in [4, 8], one row x[0..L) (L >= 1):
 *   pivot    p = max_j x_j (stored as float32, exactly);
 *   levels   E_max = 4 - m, coarse exponent E_c in [E_max - 7, E_max],
 *            fine exponent E_f = E_c - 2 (a quarter of the coarse step);
 *   spread   D = p - min_j x_j (double); E_c = the least level with
 *            (2^m - 2) 2^E_c >= D, or E_max when none is (D > R_m =
 *            (2^m - 2) 2^E_max: dbfp8 15.875, dbfp6 15.5, dbfp4 14);
 *   codes    per element, an m-bit unsigned code c and a group flag g:
 *            d = (double)p - (double)x_j, c_f = rne(d / 2^E_f);
 *            c_f <= 2^m - 1: the fine group, g = 0, c = c_f;
 *            else the coarse group, g = 1, c = rne(d / 2^E_c) when that is
 *            <= 2^m - 2, else c = 2^m - 1, the flush code (d past the
 *            range, only when D > R_m: exp(-d) < exp(-(2^m - 3/2) 2^E_max),
 *            dbfp8 1.2e-7, dbfp6 1.6e-7, dbfp4 5.0e-7; -inf elements too);
 *            rne = nearest, ties to even (distances past 2^30 steps are
 *            clamped first; they flush anyway);
 *   value    x^_j = p - c 2^(E_f or E_c) as a double rounded to float; the
 *            flush code is -inf (exp maps it to 0).
 *   NaN      a row holding a NaN, or whose maximum is +-inf (float softmax
 *            gives NaN for both: inf - inf), is a NaN row: level byte 255,
 *            every value NaN.
 * So the grouping adapts twice: per row (the exponents follow the row's
 * spread: a row of near-equal logits gets steps of 2^-13 for dbfp8, one
 * with a long tail 2^-6 / 2^-4) and per element (the values near the pivot,
 * which carry the softmax, take the fine step; the tail the coarse one).
 * Error of a distance: |d^ - d| <= 2^(E_f - 1) in the fine group,
 * 2^(E_c - 1) in the coarse one, whose elements have d >= (2^m - 1/2) 2^E_f
 * (exp(-d) <= e^-3.99 = 0.018 at the top level of dbfp8).
 *
 * Storage of one row (qrt_dbfp_bytes): pivot float32 little-endian, one
 * byte E_c + 127 (255: NaN row), then per element m + 1 bits (c in bits
 * [0, m), g at bit m) as a little-endian bit stream, as qrt_fmt.c packs
 * its codes: m + 1 + 40 / L bits per value.
 *
 * The softmax (qrt_dbfp_softmax_f32).  exp(-d^) = exp(-c 2^E) takes one of
 * 8 levels x 2 groups x 2^m values: qrt_build_dbfp_softmax_table
 * tabulates them at compile time (exp in double rounded to float; the
 * flush code 0).  Per row the kernel finds p and D, encodes each element
 * (a subtraction from the pivot, a scaling by a power of two, a rounding)
 * and reads e_j = T[level][g][c]; then S = sum_j e_j (double, in 8
 * lanes: qrt_dbfp_sum) and y_j = (float)(e_j * (1 / S)), one reciprocal
 * per row.  No exp at run time.  The encoding and lookups run in
 * qrt_dbfp_lookup, or 8 at a time in its AVX-512 twin (F + VL), with the
 * same double operations: the same bits.  Against the exact softmax p_j, with eta_j = |d^_j - d_j| and
 * eta = max_k eta_k over the non-flushed elements (every term's relative
 * error is e^(+-eta_k) times the table's 2^-24, S's relative error
 * is at most e^(+-eta) and the flush's L phi_m, phi_m the bound above):
 *   |y_j - p_j| <= p_j (e^(eta_j + eta) (1 + 2^-22) / (1 - L phi_m e^eta) - 1)
 * and, for a flushed element, y_j = 0 and p_j < phi_m (test_runtime_dbfp.c
 * asserts both on every element).  A NaN row gives NaN, as float softmax does. */
#include <math.h>
#include <string.h>

#define QRT_DBFP_LEVELS 8
#define QRT_DBFP_FINE_SHIFT 2

/* r rounded to the nearest integer, ties to even, 0 <= r <= 2^30 (as
 * qrt_bfp_rne, repeated so that this file stands alone in generated C). */
QRT_INTERNAL QRT_ALWAYS_INLINE inline int32_t qrt_dbfp_rne(double r) {
  const int32_t t = (int32_t)r;
  const double f = r - (double)t;
  return t + ((f > 0.5) | ((f == 0.5) & (t & 1)));
}

/* 2^k for k in [-1022, 1023], from its bits. */
QRT_INTERNAL QRT_ALWAYS_INLINE inline double qrt_dbfp_pow2(int32_t k) {
  const uint64_t bits = (uint64_t)(k + 1023) << 52;
  double v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

QRT_API int32_t qrt_dbfp_emax(int32_t bits) { return 4 - bits; }

QRT_API int64_t qrt_dbfp_bytes(int32_t bits, int64_t L) {
  if (bits < 4 || bits > 8 || L < 1) return 0;
  return 5 + (L * (bits + 1) + 7) / 8;
}

QRT_API int64_t qrt_dbfp_table_size(int32_t bits) {
  return bits < 4 || bits > 8 ? 0 : (int64_t)QRT_DBFP_LEVELS * 2 << bits;
}

QRT_API int qrt_build_dbfp_softmax_table(int32_t bits, float *table) {
  const int32_t n = 1 << bits;
  int32_t lev, g, c;
  if (bits < 4 || bits > 8) return -1;
  for (lev = 0; lev < QRT_DBFP_LEVELS; ++lev)
    for (g = 0; g < 2; ++g) {
      const int32_t e = qrt_dbfp_emax(bits) - (QRT_DBFP_LEVELS - 1) + lev - (g ? 0 : QRT_DBFP_FINE_SHIFT);
      for (c = 0; c < n; ++c)
        table[(lev * 2 + g) * n + c] = g && c == n - 1 ? 0.0f : (float)exp(-(double)c * qrt_dbfp_pow2(e));
    }
  return 0;
}

/* The row's pivot and coarse exponent: returns E_c, or 255 for a NaN row.
 * The maximum and minimum are found on integer keys (the float bits mapped
 * to an unsigned order that agrees with < on numbers, -0 below +0, as
 * qrt_softmax_row_max does): integer reductions, which compilers
 * vectorize, and NaN is a range of bits. */
QRT_INTERNAL int32_t qrt_dbfp_row_level(int32_t bits, const float *x, int64_t L, float *pivot) {
  uint32_t kmax = 0, kmin = 0xffffffffu, nan = 0, u;
  float lo;
  int64_t j;
  int32_t e;
  for (j = 0; j < L; ++j) {
    uint32_t b, key;
    memcpy(&b, x + j, sizeof b);
    key = b ^ ((0u - (b >> 31)) | 0x80000000u);
    kmax = key > kmax ? key : kmax;
    kmin = key < kmin ? key : kmin;
    nan |= (uint32_t)((b & 0x7fffffffu) > 0x7f800000u);
  }
  u = (kmax & 0x80000000u) ? kmax ^ 0x80000000u : ~kmax;
  memcpy(pivot, &u, sizeof u);
  u = (kmin & 0x80000000u) ? kmin ^ 0x80000000u : ~kmin;
  memcpy(&lo, &u, sizeof u);
  if (nan || isinf(*pivot)) return 255;
  {
    const double D = (double)*pivot - (double)lo, top = (double)((1 << bits) - 2);
    for (e = qrt_dbfp_emax(bits) - (QRT_DBFP_LEVELS - 1); e < qrt_dbfp_emax(bits); ++e)
      if (top * qrt_dbfp_pow2(e) >= D) break;
  }
  return e;
}

/* One element's code as defined at the top: c in bits [0, m), the group
 * flag at bit m. */
QRT_INTERNAL uint32_t qrt_dbfp_code(int32_t bits, double d, double inv_fine, double inv_coarse) {
  const int32_t top = (1 << bits) - 1;
  double rf = d * inv_fine, rc = d * inv_coarse;
  int32_t cf, cc;
  rf = rf < 1073741824.0 ? rf : 1073741824.0; /* d = +inf (x = -inf) too */
  rc = rc < 1073741824.0 ? rc : 1073741824.0;
  cf = qrt_dbfp_rne(rf);
  cc = qrt_dbfp_rne(rc);
  cc = (cc <= top - 1 ? cc : top) | (1 << bits);
  return (uint32_t)(cf <= top ? cf : cc);
}

QRT_API int32_t qrt_dbfp_encode_row(int32_t bits, const float *x, int64_t L, uint16_t *codes, float *pivot) {
  const int32_t e = qrt_dbfp_row_level(bits, x, L, pivot);
  int64_t j;
  if (e == 255) {
    for (j = 0; j < L; ++j) codes[j] = 0;
    return e;
  }
  {
    const double inv_f = qrt_dbfp_pow2(QRT_DBFP_FINE_SHIFT - e), inv_c = qrt_dbfp_pow2(-e);
    for (j = 0; j < L; ++j) codes[j] = (uint16_t)qrt_dbfp_code(bits, (double)*pivot - (double)x[j], inv_f, inv_c);
  }
  return e;
}

QRT_API float qrt_dbfp_value(int32_t bits, float pivot, int32_t e, uint32_t code) {
  const uint32_t top = (1u << bits) - 1u, c = code & top;
  if (e == 255) return NAN;
  if (code >> bits) {
    if (c == top) return -INFINITY;
    return (float)((double)pivot - (double)c * qrt_dbfp_pow2(e));
  }
  return (float)((double)pivot - (double)c * qrt_dbfp_pow2(e - QRT_DBFP_FINE_SHIFT));
}

QRT_API void qrt_dbfp_encode(int32_t bits, const float *x, int64_t L, uint8_t *out) {
  const int32_t w = bits + 1;
  uint8_t *codes = out + 5;
  float pivot;
  uint64_t acc = 0;
  int32_t nacc = 0, e;
  int64_t j, k = 0;
  uint16_t c;
  if (qrt_dbfp_bytes(bits, L) == 0) return;
  memset(codes, 0, (size_t)(qrt_dbfp_bytes(bits, L) - 5));
  e = qrt_dbfp_row_level(bits, x, L, &pivot);
  memcpy(out, &pivot, 4); /* little-endian hosts (as qrt_fmt.c's NVFP4 scale) */
  out[4] = (uint8_t)(e == 255 ? 255 : e + 127);
  for (j = 0; j < L; ++j) {
    if (e == 255) c = 0;
    else
      c = (uint16_t)qrt_dbfp_code(bits, (double)pivot - (double)x[j], qrt_dbfp_pow2(QRT_DBFP_FINE_SHIFT - e),
                                  qrt_dbfp_pow2(-e));
    acc |= (uint64_t)c << nacc;
    nacc += w;
    while (nacc >= 8) {
      codes[k++] = (uint8_t)acc;
      acc >>= 8;
      nacc -= 8;
    }
  }
  if (nacc > 0) codes[k] = (uint8_t)acc;
}

QRT_API void qrt_dbfp_decode(int32_t bits, const uint8_t *in, int64_t L, float *x) {
  const int32_t w = bits + 1;
  const uint8_t *codes = in + 5;
  const int32_t e = in[4] == 255 ? 255 : (int32_t)in[4] - 127;
  float pivot;
  uint64_t acc = 0;
  int32_t nacc = 0;
  int64_t j, k = 0;
  if (qrt_dbfp_bytes(bits, L) == 0) return;
  memcpy(&pivot, in, 4);
  for (j = 0; j < L; ++j) {
    while (nacc < w) {
      acc |= (uint64_t)codes[k++] << nacc;
      nacc += 8;
    }
    x[j] = qrt_dbfp_value(bits, pivot, e, (uint32_t)(acc & ((1u << w) - 1u)));
    acc >>= w;
    nacc -= w;
  }
}

/* sum_j v[j] in double, in a fixed order that vectorizes: lane l adds j =
 * l, l + 8, ... in order, then the lanes pairwise 0+4, 1+5, ..., 0+2, 0+1
 * (no reassociation by the compiler needed; relative error below L 2^-53). */
QRT_INTERNAL double qrt_dbfp_sum(const float *v, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i, l, w;
  for (i = 0; i + 8 <= n; i += 8)
    for (l = 0; l < 8; ++l) acc[l] += (double)v[i + l];
  for (l = 0; i + l < n; ++l) acc[l] += (double)v[i + l];
  for (w = 4; w >= 1; w /= 2)
    for (l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

/* The table lookups of one row: y[j] = t[code of x[j]] for j in [j0, L).
 * The same codes as qrt_dbfp_code, with one conversion per element: r =
 * d / 2^E_f, i = floor(r), f = r - i (exact); the fine code rounds r, and
 * the coarse one rounds r / 4 = (i >> 2) + ((i & 3) + f) / 4 from the same
 * i and f.  Elements below xfar = p - 2^(E_c + m) are past the coarse
 * range: the flush code, found by one compare (where p - 2^(E_c + m)
 * rounds in double, p is so large that every float below it is past the
 * range too), so r stays below 2^(m + 2) + 1 where it is converted. */
QRT_INTERNAL void qrt_dbfp_lookup(const float *x, float *y, int64_t j0, int64_t L, const float *t, double pd,
                                  double xfar, double inv_f, int32_t bits) {
  const int32_t top = (1 << bits) - 1, flag = 1 << bits;
  int64_t j;
  for (j = j0; j < L; ++j) {
    const double xj = (double)x[j];
    if (xj < xfar) {
      y[j] = t[top | flag];
    } else {
      const double rf = (pd - xj) * inv_f;
      const int32_t i = (int32_t)rf;
      const double f = rf - (double)i;
      const int32_t up = f > 0.5, tie = f == 0.5, frac = f != 0.0;
      const int32_t cf = i + (up | (tie & i & 1));
      const int32_t ic = i >> 2, lo = i & 3;
      const int32_t cc = ic + ((lo == 3) | ((lo == 2) & (frac | (ic & 1))));
      /* selects as masks: the elements of a row fall in either group at
       * random, so a branch here would mispredict half the time */
      const int32_t fine = -(int32_t)(cf <= top), sat = -(int32_t)(cc < top);
      const int32_t coarse = ((cc & sat) | (top & ~sat)) | flag;
      y[j] = t[(cf & fine) | (coarse & ~fine)];
    }
  }
}

#if defined(__AVX512F__) && defined(__AVX512VL__) && !defined(QRT_QMM_PORTABLE)
#include <immintrin.h>
/* qrt_dbfp_lookup on 8 elements at a time (AVX-512F + VL: doubles in a
 * zmm, int32 codes in a ymm, the table by vgatherdps): the same double
 * operations on the same values, so the same codes, bit for bit (the unit
 * test checks both builds against one reference).  Far lanes compute
 * garbage codes (out-of-range conversions give 0x80000000, no trap) that
 * the flush code replaces.  Returns the first element left to the scalar
 * loop. */
#define QRT_DBFP_AVX512 1
QRT_INTERNAL int64_t qrt_dbfp_lookup_avx512(const float *x, float *y, int64_t L, const float *t, double pd,
                                            double xfar, double inv_f, int32_t bits) {
  const __m512d vpd = _mm512_set1_pd(pd), vfar = _mm512_set1_pd(xfar), vinv = _mm512_set1_pd(inv_f);
  const __m512d half = _mm512_set1_pd(0.5), zero = _mm512_setzero_pd();
  const __m256i one = _mm256_set1_epi32(1), two = _mm256_set1_epi32(2), three = _mm256_set1_epi32(3);
  const __m256i top = _mm256_set1_epi32((1 << bits) - 1), flag = _mm256_set1_epi32(1 << bits);
  const __m256i flush = _mm256_or_si256(top, flag);
  int64_t j;
  for (j = 0; j + 8 <= L; j += 8) {
    const __m512d xj = _mm512_cvtps_pd(_mm256_loadu_ps(x + j));
    const __mmask8 far = _mm512_cmp_pd_mask(xj, vfar, _CMP_LT_OQ);
    const __m512d rf = _mm512_mul_pd(_mm512_sub_pd(vpd, xj), vinv);
    const __m256i i = _mm512_cvttpd_epi32(rf);
    const __m512d f = _mm512_sub_pd(rf, _mm512_cvtepi32_pd(i));
    const __mmask8 up = _mm512_cmp_pd_mask(f, half, _CMP_GT_OQ), tie = _mm512_cmp_pd_mask(f, half, _CMP_EQ_OQ);
    const __mmask8 frac = _mm512_cmp_pd_mask(f, zero, _CMP_NEQ_OQ);
    const __m256i cf = _mm256_mask_add_epi32(i, up | (tie & _mm256_test_epi32_mask(i, one)), i, one);
    const __m256i ic = _mm256_srai_epi32(i, 2), lo = _mm256_and_si256(i, three);
    const __mmask8 upc = _mm256_cmpeq_epi32_mask(lo, three) |
                         (_mm256_cmpeq_epi32_mask(lo, two) & (frac | _mm256_test_epi32_mask(ic, one)));
    const __m256i coarse = _mm256_or_si256(_mm256_min_epi32(_mm256_mask_add_epi32(ic, upc, ic, one), top), flag);
    __m256i idx = _mm256_mask_blend_epi32(_mm256_cmple_epi32_mask(cf, top), coarse, cf);
    idx = _mm256_mask_blend_epi32(far, idx, flush);
    _mm256_storeu_ps(y + j, _mm256_i32gather_ps(t, idx, 4));
  }
  return j;
}
#endif

QRT_API void qrt_dbfp_softmax_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_dbfp_softmax_params *p = (const qrt_dbfp_softmax_params *)params;
  const float *x = (const float *)in[0], *table = (const float *)in[1];
  float *y = (float *)out[0];
  const int32_t bits = p->bits;
  const int64_t L = p->axis_len;
  int64_t o, j;
  if (L <= 0 || bits < 4 || bits > 8) return;
  for (o = 0; o < p->outer; ++o) {
    const float *xr = x + o * L;
    float *yr = y + o * L;
    float pivot;
    const int32_t e = qrt_dbfp_row_level(bits, xr, L, &pivot);
    if (e == 255) {
      for (j = 0; j < L; ++j) yr[j] = NAN;
      continue;
    }
    {
      /* the row's two tables: fine at t, coarse at t + 2^m (the flag bit) */
      const float *t = table + ((int64_t)(e - qrt_dbfp_emax(bits) + QRT_DBFP_LEVELS - 1) * 2 << bits);
      const double inv_f = qrt_dbfp_pow2(QRT_DBFP_FINE_SHIFT - e), pd = (double)pivot;
      const double xfar = pd - qrt_dbfp_pow2(e + bits);
      double r;
      j = 0;
#if defined(QRT_DBFP_AVX512)
      j = qrt_dbfp_lookup_avx512(xr, yr, L, t, pd, xfar, inv_f, bits);
#endif
      qrt_dbfp_lookup(xr, yr, j, L, t, pd, xfar, inv_f, bits);
      r = 1.0 / qrt_dbfp_sum(yr, L); /* the sum >= T[0] = 1 (the pivot's own term) */
      for (j = 0; j < L; ++j) yr[j] = (float)((double)yr[j] * r);
    }
  }
}
