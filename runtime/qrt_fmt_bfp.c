#include "qrt.h"
/* qrt_fmt_bfp.c - the block formats with integer elements: BFP / MXINT8
 * (QRT_ELEM_INT) and BBFP, bidirectional BFP (QRT_ELEM_BBFP).  qrt_fmt.c
 * cuts vectors into blocks, chooses the E8M0 exponent E, handles NaN / Inf
 * blocks and packs the codes; this file gives one block's codes.
 *
 * BFP(b), b = element_bits: code q = x / 2^E rounded to nearest, ties to
 * even, clamped to [-L, L], L = 2^(b-1) - 1, stored as b-bit two's
 * complement; value q 2^E.  E = floor(log2 amax) - (b - 2).
 *
 * BBFP(m), m = element_bits - 1 mantissa bits (sign included), after BBAL
 * (Han et al., arXiv 2504.15721): each element has an m-bit mantissa and
 * a 1-bit flag choosing which of two windows of the block the mantissa is
 * aligned to.  The windows are m bits wide and overlap in o bit
 * positions, so the upper one starts d = m - o bits above the lower.  The
 * overlap is a parameter of the paper's BBFP; the table fixes only m, so
 * o = floor(m / 2) here (bbfp4: d = 2, bbfp6: 3, bbfp8: 4).  Exactly:
 *   code bits [0, m): q, m-bit two's complement in [-L, L], L = 2^(m-1) - 1;
 *   code bit m:       the flag f;
 *   scale byte:       e + 127, e the block's shared exponent (E8M0; 255:
 *                     NaN block, as for every E8M0 format);
 *   value = q 2^(f d) 2^e.  Unpack gives elem = q 2^(f d) (an integer of at
 *   most m - 1 + d bits: an exact float) and scale = 2^e (exact double).
 * Encoding, for a shared exponent e: each element's q in each window is
 * x / 2^(e + f d) rounded to nearest, ties to even, clamped to [-L, L];
 * the element takes the window whose value is nearer to x (a tie: f = 0,
 * the finer one; so f = 1 only for elements the lower window cannot hold).
 * Shared exponent: BFP(m)'s exponent E0 = floor(log2 amax) - (m - 2)
 * places the upper window where BFP(m) puts its only one (e = E0 - d: the
 * maximum fixes the upper window, the lower one keeps d more fraction bits
 * for the small and moderate values).  The paper's point is that the
 * shared exponent need not be set by the maximum; the encoder tries
 *   e = E0 - d + j,  j = 0, 1, -1, 2, -2, ..., d, -d   (that order)
 * (e raised to -127 where it falls below; skipped where the upper window
 * would pass FLT_MAX, e + d + m - 1 > 128, which only j > 0 can) and
 * keeps the first e of least block squared error sum_i (x_i - value_i)^2
 * (double, in element order).  j > 0 serves blocks whose maximum rounds
 * past L or whose values need no finer step; j = d is BFP(m) itself, its
 * grid in the lower window, which holds every element; j < 0 lets a lone
 * outlier saturate when that buys the rest of the block finer steps.
 * With j = d among the candidates, a block's squared error never exceeds
 * BFP(m)'s (with j = 0 too, while E0 - d >= -127).  Per
 * element: |x| <= (L + 1/2) 2^e gives |err| <= 2^(e-1); else |x| <=
 * (L + 1/2) 2^(e+d) gives |err| <= 2^(e+d-1); else the value is
 * +-L 2^(e+d) (saturated). */
#include <math.h>

/* r rounded to the nearest integer, ties to even, for |r| <= 2^30 (the
 * callers clamp first): the truncation t and the difference r - t are
 * exact, so nothing depends on the rounding mode, and no libm call sits in
 * the per-element loop. */
QRT_INTERNAL int32_t qrt_bfp_rne(double r) {
  const int32_t t = (int32_t)r; /* toward zero */
  const double d = r - (double)t;
  const int32_t odd = t & 1;
  /* comparisons as 0/1 values, no branches: half the elements of a block
   * round each way, which branch prediction cannot learn */
  return t + ((d > 0.5) | ((d == 0.5) & odd)) - ((d < -0.5) | ((d == -0.5) & odd));
}

/* 2^k exactly, for k in [-1022, 1023], from its bits (no libm call). */
QRT_INTERNAL double qrt_bfp_pow2(int32_t k) {
  const uint64_t bits = (uint64_t)(k + 1023) << 52;
  double v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

/* x / 2^e rounded and clamped to [-lim, lim]: x times the exact power of
 * two 2^-e (|e| <= 254: a normal double) is exact, and |x 2^-e| past
 * 2^30 saturates anyway (lim < 2^16); NaN never reaches here (qrt_fmt.c
 * gives NaN blocks their own scale). */
QRT_INTERNAL int32_t qrt_bfp_quant(float x, int32_t e, int32_t lim) {
  double r = (double)x * qrt_bfp_pow2(-e);
  r = r > 1073741824.0 ? 1073741824.0 : (r < -1073741824.0 ? -1073741824.0 : r);
  {
    const int32_t q = qrt_bfp_rne(r);
    return q > lim ? lim : (q < -lim ? -lim : q);
  }
}

/* Squared error of the block at shared exponent e; with codes, also the
 * codes (q in bits [0, m), the flag at bit m). */
QRT_INTERNAL double qrt_bbfp_sse(const float *x, int32_t n, int32_t m, int32_t d, int32_t e,
                                 uint16_t *codes) {
  const int32_t lim = (1 << (m - 1)) - 1;
  double sse = 0.0;
  int32_t i;
  for (i = 0; i < n; ++i) {
    const int32_t q0 = qrt_bfp_quant(x[i], e, lim), q1 = qrt_bfp_quant(x[i], e + d, lim);
    const double e0 = (double)x[i] - (double)q0 * qrt_bfp_pow2(e), e1 = (double)x[i] - (double)q1 * qrt_bfp_pow2(e + d);
    const int hi = fabs(e1) < fabs(e0);
    sse += hi ? e1 * e1 : e0 * e0;
    if (codes)
      codes[i] = (uint16_t)(((uint32_t)(hi ? q1 : q0) & ((1u << m) - 1u)) | ((uint32_t)hi << m));
  }
  return sse;
}

/* BBFP's shared exponent search (see the top of this file). */
QRT_INTERNAL int32_t qrt_bbfp_encode(const float *x, int32_t n, int32_t bits, int32_t E0, uint16_t *codes) {
  const int32_t m = bits - 1, d = m - m / 2;
  int32_t i, best = E0 - d < -127 ? -127 : E0 - d;
  double best_sse = qrt_bbfp_sse(x, n, m, d, best, NULL);
  for (i = 1; i <= 2 * d; ++i) {
    const int32_t j = i % 2 ? (i + 1) / 2 : -(i / 2); /* 1, -1, 2, -2, ..., d, -d */
    const int32_t e = E0 - d + j < -127 ? -127 : E0 - d + j;
    double sse;
    if (e + d + m - 1 > 128) continue; /* L 2^(e+d) would pass FLT_MAX */
    sse = qrt_bbfp_sse(x, n, m, d, e, NULL);
    if (sse < best_sse) {
      best_sse = sse;
      best = e;
    }
  }
  (void)qrt_bbfp_sse(x, n, m, d, best, codes);
  return best;
}

QRT_API int32_t qrt_bfp_encode_block(int32_t element, int32_t bits, const float *x, int32_t n, int32_t E,
                                     uint16_t *codes) {
  const int32_t lim = (1 << (bits - 1)) - 1;
  int32_t i;
  if (element == QRT_ELEM_BBFP) return qrt_bbfp_encode(x, n, bits, E, codes);
  for (i = 0; i < n; ++i)
    codes[i] = (uint16_t)((uint32_t)qrt_bfp_quant(x[i], E, lim) & ((1u << bits) - 1u));
  return E;
}

QRT_API float qrt_bfp_decode(int32_t element, int32_t bits, uint32_t code) {
  const int32_t m = element == QRT_ELEM_BBFP ? bits - 1 : bits;
  const uint32_t sign = 1u << (m - 1);
  const int32_t q = (int32_t)(code & (sign - 1u)) - (int32_t)(code & sign);
  if (element == QRT_ELEM_BBFP && (code >> m) & 1u) return (float)(q * (1 << (m - m / 2)));
  return (float)q;
}
