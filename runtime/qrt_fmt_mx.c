#include "qrt.h"
/* qrt_fmt_mx.c - the OCP MX v1.0 FP element encodings (E4M3, E5M2, E3M2,
 * E2M3, E2M1) of one element, and NVFP4's two-level scale (an E4M3 scale
 * per block of 16 times one float32 scale per vector).  qrt_fmt.c cuts
 * vectors into blocks, chooses E8M0 scales and packs the codes.
 *
 * An element code is sign | exponent field | mantissa field with bias
 * 2^(ebits-1) - 1; field 0 holds the subnormals m 2^(1 - bias - mbits).
 * Magnitude codes above the largest finite one are E4M3's NaN (S.1111.111)
 * and E5M2's Inf (S.11111.00) and NaNs; FP6 and FP4 use every code.
 *
 * Rounding works on the magnitude code directly: below the largest finite
 * value, code = ((q + mbits - emin) << mbits) + N, where 2^q is the quantum
 * of |v|'s binade and N = |v| / 2^q rounded; a carry of N into the next
 * binade lands on the right code, because the codes of a binary FP format
 * are ordered like the values. */
#include <math.h>

/* Field widths and the largest finite magnitude code; 0 when `element`
 * is not an FP element. */
QRT_INTERNAL int qrt_mx_shape(int32_t element, int32_t *ebits, int32_t *mbits, uint32_t *maxcode) {
  switch (element) {
  case QRT_ELEM_E4M3: *ebits = 4; *mbits = 3; *maxcode = 0x7eu; return 1;  /* 448 */
  case QRT_ELEM_E5M2: *ebits = 5; *mbits = 2; *maxcode = 0x7bu; return 1;  /* 57344 */
  case QRT_ELEM_E3M2: *ebits = 3; *mbits = 2; *maxcode = 0x1fu; return 1;  /* 28 */
  case QRT_ELEM_E2M3: *ebits = 2; *mbits = 3; *maxcode = 0x1fu; return 1;  /* 7.5 */
  case QRT_ELEM_E2M1: *ebits = 2; *mbits = 1; *maxcode = 0x7u; return 1;   /* 6 */
  default: return 0;
  }
}

QRT_API int32_t qrt_mx_emax(int32_t element) {
  int32_t eb, mb;
  uint32_t maxcode;
  if (!qrt_mx_shape(element, &eb, &mb, &maxcode)) return 0;
  return (int32_t)(maxcode >> mb) - ((1 << (eb - 1)) - 1);
}

QRT_API float qrt_mx_decode(int32_t element, uint32_t code) {
  int32_t eb, mb, bias, field;
  uint32_t maxcode, mag, mant;
  double v;
  if (!qrt_mx_shape(element, &eb, &mb, &maxcode)) return 0.0f;
  bias = (1 << (eb - 1)) - 1;
  mag = code & ((1u << (eb + mb)) - 1u);
  if (mag > maxcode) {
    v = element == QRT_ELEM_E5M2 && mag == 0x7cu ? (double)INFINITY : (double)NAN;
  } else {
    field = (int32_t)(mag >> mb);
    mant = mag & ((1u << mb) - 1u);
    v = field == 0 ? ldexp((double)mant, 1 - bias - mb)
                   : ldexp((double)(mant + (1u << mb)), field - bias - mb);
  }
  return (float)((code >> (eb + mb)) & 1u ? -v : v);
}

QRT_API uint32_t qrt_mx_encode(int32_t element, double v) {
  int32_t eb, mb, emin, q;
  int ex;
  uint32_t maxcode, sign, mag;
  double a, n, N, frac;
  if (!qrt_mx_shape(element, &eb, &mb, &maxcode)) return 0;
  if (v != v) return maxcode == (1u << (eb + mb)) - 1u ? 0u : (1u << (eb + mb)) - 1u; /* no NaN: +0 */
  sign = signbit(v) ? 1u << (eb + mb) : 0u;
  a = fabs(v);
  if (a >= (double)qrt_mx_decode(element, maxcode)) return sign | maxcode; /* and +-Inf */
  emin = 2 - (1 << (eb - 1));
  (void)frexp(a, &ex); /* a = f 2^ex, f in [0.5, 1): floor(log2 a) = ex - 1, exactly */
  q = (a == 0.0 || ex - 1 < emin ? emin : ex - 1) - mb;
  n = ldexp(a, -q); /* exact, < 2^(mb+1) */
  N = floor(n);
  frac = n - N;
  if (frac > 0.5 || (frac == 0.5 && fmod(N, 2.0) != 0.0)) N += 1.0;
  mag = ((uint32_t)(q + mb - emin) << mb) + (uint32_t)N;
  return sign | (mag > maxcode ? maxcode : mag);
}

/* NVFP4's vector scale (qrt.h): amax / (6 * 448), a float32, so that the
 * largest block scale lands at E4M3's 448. */
QRT_API float qrt_nvfp4_scale(const float *x, int64_t K) {
  float amax = 0.0f, t;
  int64_t k;
  for (k = 0; k < K; ++k) {
    const float a = fabsf(x[k]);
    if (!isfinite(a)) return 1.0f;
    if (a > amax) amax = a;
  }
  t = amax / (6.0f * 448.0f);
  return t > 0.0f ? t : 1.0f;
}

/* The quotients below are formed in double from exact operands (s t has
 * 4 + 24 significant bits): one rounding, far finer than E4M3's or E2M1's
 * ties, so the rounded codes are those of the exact quotients. */
QRT_API uint32_t qrt_nvfp4_encode_block(const float *x, int32_t n, float t, uint16_t *codes) {
  float amax = 0.0f;
  uint32_t sc;
  double st;
  int32_t i;
  for (i = 0; i < n; ++i)
    if (fabsf(x[i]) > amax) amax = fabsf(x[i]);
  sc = qrt_mx_encode(QRT_ELEM_E4M3, (double)amax / 6.0 / (double)t);
  st = (double)qrt_mx_decode(QRT_ELEM_E4M3, sc) * (double)t;
  for (i = 0; i < n; ++i)
    codes[i] = (uint16_t)(st > 0.0 ? qrt_mx_encode(QRT_ELEM_E2M1, (double)x[i] / st) : 0u);
  return sc;
}
