#include "qrt.h"
/* qrt_fmt.c - the block-format table (QRT_ALL_BFORMATS) as data, and the
 * codecs of one vector: the byte layout (NVFP4's vector scale, then per
 * block a scale byte and the codes as a little-endian bit stream), the
 * E8M0 scale choice and NaN / Inf blocks, with each block's codes and
 * element values left to its family: qrt_fmt_mx.c (FP elements, NVFP4)
 * and qrt_fmt_bfp.c (integer elements, BBFP).  The rules: qrt.h, above
 * QRT_ALL_BFORMATS. */
#include <math.h>

#define QRT_FMT_ROW(id, name, element, bits, block, scale) [id] = {name, element, bits, block, scale},
QRT_INTERNAL const qrt_bformat qrt_fmt_table[QRT_BFORMAT_COUNT] = {QRT_ALL_BFORMATS(QRT_FMT_ROW)};
#undef QRT_FMT_ROW

/* A block is staged in fixed arrays (no malloc), and codes travel as
 * uint16_t through a 32-bit bit accumulator: every row must fit. */
#define QRT_FMT_MAX_BLOCK 64
#define QRT_FMT_FITS(id, name, element, bits, block, scale) \
  &&(block) >= 1 && (block) <= QRT_FMT_MAX_BLOCK && (bits) >= 2 && (bits) <= 16
typedef char qrt_fmt_rows_fit[(1 QRT_ALL_BFORMATS(QRT_FMT_FITS)) ? 1 : -1];
#undef QRT_FMT_FITS

QRT_API const qrt_bformat *qrt_bformat_get(int32_t fmt) {
  return fmt >= 0 && fmt < QRT_BFORMAT_COUNT ? &qrt_fmt_table[fmt] : NULL;
}

QRT_API int32_t qrt_bformat_find(const char *name) {
  int32_t i;
  if (!name) return -1;
  for (i = 0; i < QRT_BFORMAT_COUNT; ++i)
    if (strcmp(qrt_fmt_table[i].name, name) == 0) return i;
  return -1;
}

/* Scale byte plus code bytes of one block. */
QRT_INTERNAL int64_t qrt_fmt_block_bytes(const qrt_bformat *f) {
  return 1 + ((int64_t)f->block * f->element_bits + 7) / 8;
}

QRT_INTERNAL int64_t qrt_fmt_head_bytes(const qrt_bformat *f) { return f->scale == QRT_SCALE_E4M3 ? 4 : 0; }

QRT_API int64_t qrt_bfmt_bytes(int32_t fmt, int64_t K) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  if (!f) return 0;
  return qrt_fmt_head_bytes(f) + (K > 0 ? (K + f->block - 1) / f->block : 0) * qrt_fmt_block_bytes(f);
}

/* The exponent E of the E8M0 scale: floor(log2 amax) - emax, in [-127,
 * 127].  frexp is exact for every float (subnormal floats are normal
 * doubles), so no log2 rounding can move E across a power of two. */
QRT_INTERNAL int32_t qrt_fmt_e8m0_exp(float amax, int32_t emax) {
  int ex;
  int32_t e;
  if (amax == 0.0f) return -127;
  (void)frexp((double)amax, &ex);
  e = ex - 1 - emax;
  return e < -127 ? -127 : (e > 127 ? 127 : e);
}

/* emax of the element: BFP(b) keeps b - 2 bits below the leading one (its
 * code is round(x / 2^(floor(log2 amax) - b + 2))); BBFP starts from
 * BFP(m), m = b - 1 (qrt_fmt_bfp.c). */
QRT_INTERNAL int32_t qrt_fmt_emax(const qrt_bformat *f) {
  if (f->element == QRT_ELEM_INT) return f->element_bits - 2;
  if (f->element == QRT_ELEM_BBFP) return f->element_bits - 3;
  return qrt_mx_emax(f->element);
}

/* codes[i] (bits wide) at bits [i*bits, (i+1)*bits) of out, LSB first. */
QRT_INTERNAL void qrt_fmt_pack(const uint16_t *codes, int32_t n, int32_t bits, uint8_t *out) {
  uint32_t acc = 0;
  int32_t have = 0, i;
  for (i = 0; i < n; ++i) {
    acc |= (uint32_t)codes[i] << have;
    for (have += bits; have >= 8; have -= 8) {
      *out++ = (uint8_t)acc;
      acc >>= 8;
    }
  }
  if (have > 0) *out = (uint8_t)acc;
}

QRT_INTERNAL void qrt_fmt_unpack_codes(const uint8_t *in, int32_t n, int32_t bits, uint16_t *codes) {
  const uint32_t mask = (1u << bits) - 1u;
  uint32_t acc = 0;
  int32_t have = 0, i;
  /* the common widths without the bit-stream loop (same codes) */
  if (bits == 8) {
    for (i = 0; i < n; ++i) codes[i] = in[i];
    return;
  }
  if (bits == 4) {
    for (i = 0; i < n; ++i) codes[i] = (uint16_t)((in[i >> 1] >> ((i & 1) * 4)) & 15u);
    return;
  }
  for (i = 0; i < n; ++i) {
    for (; have < bits; have += 8) acc |= (uint32_t)*in++ << have;
    codes[i] = (uint16_t)(acc & mask);
    acc >>= bits;
    have -= bits;
  }
}

/* One block (xb[f->block], zero padded) -> its scale byte and codes. */
QRT_INTERNAL uint8_t qrt_fmt_encode_block(const qrt_bformat *f, const float *xb, float t, uint16_t *codes) {
  float amax = 0.0f;
  int32_t i, E;
  for (i = 0; i < f->block; ++i) {
    const float a = fabsf(xb[i]);
    if (!isfinite(a)) {
      memset(codes, 0, sizeof(uint16_t) * (size_t)f->block);
      return f->scale == QRT_SCALE_E8M0 ? 255 : 0x7f; /* E8M0 / E4M3 NaN */
    }
    if (a > amax) amax = a;
  }
  if (f->scale == QRT_SCALE_E4M3) return (uint8_t)qrt_nvfp4_encode_block(xb, f->block, t, codes);
  E = qrt_fmt_e8m0_exp(amax, qrt_fmt_emax(f));
  if (f->element == QRT_ELEM_INT || f->element == QRT_ELEM_BBFP)
    return (uint8_t)(qrt_bfp_encode_block(f->element, f->element_bits, xb, f->block, E, codes) + 127);
  for (i = 0; i < f->block; ++i) codes[i] = (uint16_t)qrt_mx_encode(f->element, ldexp((double)xb[i], -E));
  return (uint8_t)(E + 127);
}

QRT_API void qrt_bfmt_encode(int32_t fmt, const float *x, int64_t K, uint8_t *out) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  float xb[QRT_FMT_MAX_BLOCK], t = 1.0f;
  uint16_t codes[QRT_FMT_MAX_BLOCK];
  int64_t k0;
  if (!f) return;
  if (f->scale == QRT_SCALE_E4M3) {
    uint32_t u;
    t = qrt_nvfp4_scale(x, K);
    memcpy(&u, &t, sizeof u);
    out[0] = (uint8_t)u;
    out[1] = (uint8_t)(u >> 8);
    out[2] = (uint8_t)(u >> 16);
    out[3] = (uint8_t)(u >> 24);
    out += 4;
  }
  for (k0 = 0; k0 < K; k0 += f->block) {
    const int32_t n = K - k0 < f->block ? (int32_t)(K - k0) : f->block;
    memcpy(xb, x + k0, sizeof(float) * (size_t)n);
    memset(xb + n, 0, sizeof(float) * (size_t)(f->block - n));
    out[0] = qrt_fmt_encode_block(f, xb, t, codes);
    qrt_fmt_pack(codes, f->block, f->element_bits, out + 1);
    out += qrt_fmt_block_bytes(f);
  }
}

/* A block's scale from its scale byte (t: NVFP4's vector scale, folded in). */
QRT_INTERNAL double qrt_fmt_block_scale(const qrt_bformat *f, uint8_t byte, float t) {
  if (f->scale == QRT_SCALE_E8M0) return byte == 255 ? (double)NAN : ldexp(1.0, (int)byte - 127);
  return (double)qrt_mx_decode(QRT_ELEM_E4M3, byte) * (double)t; /* exact: 4 x 24 bits */
}

/* The element value of one code (without the block scale). */
QRT_INTERNAL float qrt_fmt_elem_value(const qrt_bformat *f, uint32_t code) {
  return f->element == QRT_ELEM_INT || f->element == QRT_ELEM_BBFP ? qrt_bfp_decode(f->element, f->element_bits, code)
                                                                   : qrt_mx_decode(f->element, code);
}

/* One block's element values elem[f->block] and scale. */
QRT_INTERNAL void qrt_fmt_unpack_block(const qrt_bformat *f, const uint8_t *in, float t, float *elem,
                                       double *scale) {
  uint16_t codes[QRT_FMT_MAX_BLOCK];
  int32_t i;
  *scale = qrt_fmt_block_scale(f, in[0], t);
  qrt_fmt_unpack_codes(in + 1, f->block, f->element_bits, codes);
  for (i = 0; i < f->block; ++i) elem[i] = qrt_fmt_elem_value(f, codes[i]);
}

/* NVFP4's vector scale (1 for the other formats) and the first block. */
QRT_INTERNAL const uint8_t *qrt_fmt_head(const qrt_bformat *f, const uint8_t *in, float *t) {
  uint32_t u;
  *t = 1.0f;
  if (f->scale != QRT_SCALE_E4M3) return in;
  u = (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
  memcpy(t, &u, sizeof u);
  return in + 4;
}

QRT_API void qrt_bfmt_unpack(int32_t fmt, const uint8_t *in, int64_t K, float *elem, double *scale) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  int64_t k0, b = 0;
  float t;
  if (!f) return;
  in = qrt_fmt_head(f, in, &t);
  for (k0 = 0; k0 < K; k0 += f->block, ++b) {
    qrt_fmt_unpack_block(f, in, t, elem + k0, scale + b);
    in += qrt_fmt_block_bytes(f);
  }
  for (k0 = K; k0 < b * f->block; ++k0) elem[k0] = 0.0f; /* padding, whatever its bytes */
}

QRT_API void qrt_bfmt_decode(int32_t fmt, const uint8_t *in, int64_t K, float *x) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  float elem[QRT_FMT_MAX_BLOCK], t;
  double scale;
  int64_t k0;
  int32_t i;
  if (!f) return;
  in = qrt_fmt_head(f, in, &t);
  for (k0 = 0; k0 < K; k0 += f->block) {
    const int32_t n = K - k0 < f->block ? (int32_t)(K - k0) : f->block;
    qrt_fmt_unpack_block(f, in, t, elem, &scale);
    for (i = 0; i < n; ++i) x[k0 + i] = (float)((double)elem[i] * scale);
    in += qrt_fmt_block_bytes(f);
  }
}

QRT_API void qrt_bfmt_elem_table(int32_t fmt, float *table) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  uint32_t c;
  if (!f) return;
  for (c = 0; c < 1u << f->element_bits; ++c) table[c] = qrt_fmt_elem_value(f, c);
}

QRT_API void qrt_bfmt_decode_table(int32_t fmt, const uint8_t *in, int64_t K, const float *table, float *x) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  uint16_t codes[QRT_FMT_MAX_BLOCK];
  int64_t k0;
  int32_t i;
  float t;
  if (!f) return;
  in = qrt_fmt_head(f, in, &t);
  for (k0 = 0; k0 < K; k0 += f->block) {
    const int32_t n = K - k0 < f->block ? (int32_t)(K - k0) : f->block;
    const double scale = qrt_fmt_block_scale(f, in[0], t);
    qrt_fmt_unpack_codes(in + 1, n, f->element_bits, codes);
    for (i = 0; i < n; ++i) x[k0 + i] = (float)((double)table[codes[i]] * scale);
    in += qrt_fmt_block_bytes(f);
  }
}

/* The integer view of a format for qrt_bdot.c: element values are
 * k 2^-shift with k a small integer for BFP (shift 0), MXFP4 / NVFP4's
 * E2M1 (k/2), FP6 (E2M3 k/8, E3M2 k/16) and BBFP (q 2^(f d)); FP8's
 * elements span too many binades (E4M3: 2^-9 .. 448 needs 19 bits) and
 * hold NaN / Inf codes, so no shift fits them.  Derived from the element
 * values themselves, so a new table row needs no case here. */
QRT_API int32_t qrt_bfmt_int_table(int32_t fmt, int16_t *table, int32_t *kmax) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  int32_t s;
  uint32_t c;
  if (!f) return -1;
  for (s = 0; s <= 15; ++s) {
    int32_t km = 0;
    for (c = 0; c < 1u << f->element_bits; ++c) {
      const double v = ldexp((double)qrt_fmt_elem_value(f, c), s); /* exact: a power-of-two scaling */
      if (!(fabs(v) <= 32767.0) || v != floor(v)) break;           /* NaN fails too */
      table[c] = (int16_t)v;
      if (fabs(v) > km) km = (int32_t)fabs(v);
    }
    if (c == 1u << f->element_bits) {
      *kmax = km;
      return s;
    }
  }
  return -1;
}

QRT_API void qrt_bfmt_unpack_int(int32_t fmt, const uint8_t *in, int64_t K, const int16_t *table, int16_t *k,
                                 double *scale, double *t) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  uint16_t codes[QRT_FMT_MAX_BLOCK];
  int64_t k0, b = 0;
  int32_t i;
  float tf;
  if (!f) return;
  in = qrt_fmt_head(f, in, &tf);
  *t = (double)tf;
  for (k0 = 0; k0 < K; k0 += f->block, ++b) {
    const int32_t n = K - k0 < f->block ? (int32_t)(K - k0) : f->block;
    scale[b] = qrt_fmt_block_scale(f, in[0], 1.0f);
    qrt_fmt_unpack_codes(in + 1, n, f->element_bits, codes);
    for (i = 0; i < n; ++i) k[k0 + i] = table[codes[i]];
    for (; i < f->block; ++i) k[k0 + i] = 0; /* padding, whatever its bytes */
    in += qrt_fmt_block_bytes(f);
  }
}

/* qrt_bfmt_encode then qrt_bfmt_unpack_int, without the bytes between:
 * the same block encoder, so the same codes (bmatmul's activation rows). */
QRT_API void qrt_bfmt_encode_int(int32_t fmt, const float *x, int64_t K, const int16_t *table, int16_t *k,
                                 double *scale, double *t) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  float xb[QRT_FMT_MAX_BLOCK], tf = 1.0f;
  uint16_t codes[QRT_FMT_MAX_BLOCK];
  int64_t k0, b = 0;
  int32_t i;
  if (!f) return;
  if (f->scale == QRT_SCALE_E4M3) tf = qrt_nvfp4_scale(x, K);
  *t = (double)tf;
  for (k0 = 0; k0 < K; k0 += f->block, ++b) {
    const int32_t n = K - k0 < f->block ? (int32_t)(K - k0) : f->block;
    memcpy(xb, x + k0, sizeof(float) * (size_t)n);
    memset(xb + n, 0, sizeof(float) * (size_t)(f->block - n));
    scale[b] = qrt_fmt_block_scale(f, qrt_fmt_encode_block(f, xb, tf, codes), 1.0f);
    for (i = 0; i < n; ++i) k[k0 + i] = table[codes[i]];
    for (; i < f->block; ++i) k[k0 + i] = 0;
  }
}
