#include "qrt.h"
/* qrt_lut.c - int8 -> int8 elementwise functions by table lookup (integer-
 * only mode): any float unary op on an int8 input has only 256 possible
 * inputs, so the compiler tabulates the best int8 output for each once
 * (qrt_build_lut_i8) and the kernel is one byte load per element.
 *
 * The builder evaluates the op with qrt_unary_f64 (the double kernel of
 * qrt_unary.c: the same formulas as the float runtime, in double) and
 * rounds y / out_scale to the nearest integer, ties to even, as
 * qrt_quantize_f32_i8 does.  So every entry is the correctly rounded
 * int8 value of the exact function at the exact input, up to the double
 * evaluation error (~1e-16 relative): a different result is possible only
 * where y / out_scale is within about 1e-13 of a half-integer.
 * Needs qrt_unary.c (QRT_FILE_DEPS).
 *
 * qrt_lut_i8_f32 is the float twin for static int8 schemes: a float
 * function of int8 codes (dequantize -> f, f's output staying float) is
 * the same 256 floats for every element, so qrt_build_lut_f32 computes
 * them with the very operations the two kernels would run (the
 * dequantize formula of qrt_dequantize_i8_f32, then qrt_unary_f32) and
 * the kernel looks them up: the same bits, one lookup per element. */
#include <math.h>
#include <string.h>

/* round half to even of a finite double, with no dependence on the FP
 * rounding mode; |v| is first limited to 2^20 (every int8 result
 * saturates far below that). */
QRT_INTERNAL int32_t qrt_lut_rne(double v) {
  double f, d;
  int32_t q;
  if (v > 1048576.0) v = 1048576.0;
  if (v < -1048576.0) v = -1048576.0;
  f = floor(v);
  d = v - f; /* exact */
  q = (int32_t)f;
  if (d > 0.5 || (d == 0.5 && (q & 1))) ++q;
  return q;
}

QRT_API int qrt_build_lut_i8(int32_t op, float alpha, float beta, double in_scale, int32_t in_zp,
                             double out_scale, int32_t out_zp, int8_t table[256]) {
  double x[256], y[256];
  qrt_unary_params p;
  const void *in[1];
  void *out[1];
  int i;
  if (op < QRT_UNARY_IDENTITY || op > QRT_UNARY_SHRINK || op == QRT_UNARY_NOT ||
      op == QRT_UNARY_ISNAN || op == QRT_UNARY_ISINF || op == QRT_UNARY_ISINF_POS ||
      op == QRT_UNARY_ISINF_NEG)
    return -1;
  if (!(in_scale > 0.0) || !(out_scale > 0.0) || in_scale == HUGE_VAL || out_scale == HUGE_VAL ||
      in_zp < -128 || in_zp > 127 || out_zp < -128 || out_zp > 127)
    return -1;
  for (i = 0; i < 256; ++i) x[i] = in_scale * (double)(i - 128 - in_zp);
  memset(&p, 0, sizeof p);
  p.op = op;
  p.n = 256;
  p.alpha = alpha;
  p.beta = beta;
  p.ialpha = 0;
  p.ibeta = 0;
  in[0] = x;
  out[0] = y;
  qrt_unary_f64(&p, in, out);
  for (i = 0; i < 256; ++i) {
    const double v = y[i] / out_scale;
    int32_t q;
    if (v != v) q = out_zp; /* NaN: the zero point, as qrt_quantize_f32_i8 */
    else q = qrt_lut_rne(v) + out_zp;
    table[i] = (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
  }
  return 0;
}

#if defined(__AVX512VBMI__) && defined(__AVX512BW__) && !defined(QRT_QMM_PORTABLE)
#include <immintrin.h>
#define QRT_LUT_VBMI 1
#endif

/* Portable: one load per element from a local copy of the table (256
 * bytes, in L1; the copy also lets the compiler assume no aliasing with
 * y).  AVX-512 VBMI: 64 lookups per vpermi2b pair, the table in four
 * registers: u = x + 128 (x xor 0x80) indexes entries 0..127 of one
 * lookup and 128..255 of the other by its low 7 bits; u's top bit picks.
 * QRT_QMM_PORTABLE (the int8 kernels' portable switch) keeps the loop. */
QRT_API void qrt_lut_i8(const void *params, const void *const *in, void *const *out) {
  const qrt_lut_params *p = (const qrt_lut_params *)params;
  const int8_t *x = (const int8_t *)in[0];
  int8_t *y = (int8_t *)out[0];
  const int64_t n = p->n;
  int8_t t[256];
  int64_t i = 0;
  memcpy(t, in[1], sizeof t);
#if defined(QRT_LUT_VBMI)
  {
    const __m512i t0 = _mm512_loadu_si512((const void *)t), t1 = _mm512_loadu_si512((const void *)(t + 64));
    const __m512i t2 = _mm512_loadu_si512((const void *)(t + 128)), t3 = _mm512_loadu_si512((const void *)(t + 192));
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (; i < n; i += 64) {
      const __mmask64 m = n - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (n - i)) - 1);
      const __m512i u = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, x + i), flip);
      const __m512i lo = _mm512_permutex2var_epi8(t0, u, t1), hi = _mm512_permutex2var_epi8(t2, u, t3);
      _mm512_mask_storeu_epi8(y + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(u), lo, hi));
    }
  }
#endif
  for (; i < n; ++i) y[i] = t[(uint8_t)(x[i] + 128)];
}

QRT_API int qrt_build_lut_f32(int32_t op, float alpha, float beta, float in_scale, int32_t in_zp,
                              float table[256]) {
  float x[256];
  qrt_unary_params p;
  const void *in[1];
  void *out[1];
  int i;
  if (op < QRT_UNARY_IDENTITY || op > QRT_UNARY_SHRINK || op == QRT_UNARY_NOT ||
      op == QRT_UNARY_ISNAN || op == QRT_UNARY_ISINF || op == QRT_UNARY_ISINF_POS ||
      op == QRT_UNARY_ISINF_NEG || in_zp < -128 || in_zp > 127)
    return -1;
  /* qrt_dequantize_i8_f32's value of code i - 128 */
  for (i = 0; i < 256; ++i) x[i] = in_scale * (float)((int32_t)(i - 128) - in_zp);
  memset(&p, 0, sizeof p);
  p.op = op;
  p.n = 256;
  p.alpha = alpha;
  p.beta = beta;
  in[0] = x;
  out[0] = table;
  qrt_unary_f32(&p, in, out);
  return 0;
}

/* Portable: one load per element from a local copy of the table.
 * AVX-512 VBMI: 64 lookups per step, byte by byte: the table's floats as
 * four planes of 256 bytes (byte b of every entry), each looked up as in
 * qrt_lut_i8, then bytes interleaved into floats by unpacking.  Unpacking
 * works within 128-bit lanes, so the 64 codes are first permuted (vpermb)
 * so that the four unpacked registers come out in element order: position
 * 16 L + 4 g + j of the permuted codes holds code 16 g + 4 L + j. */
QRT_INTERNAL void qrt_lut_i8_f32_serial(const void *params, const void *const *in, void *const *out) {
  const qrt_lut_params *p = (const qrt_lut_params *)params;
  const int8_t *x = (const int8_t *)in[0];
  float *y = (float *)out[0];
  const int64_t n = p->n;
  float t[256];
  int64_t i = 0;
  memcpy(t, in[1], sizeof t);
#if defined(QRT_LUT_VBMI)
  {
    unsigned char plane[4][256], idx[64];
    __m512i pl[4][4];
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    __m512i perm;
    int b, k, L, g, j;
    for (k = 0; k < 256; ++k) {
      uint32_t v;
      memcpy(&v, t + k, sizeof v);
      for (b = 0; b < 4; ++b) plane[b][k] = (unsigned char)(v >> (8 * b));
    }
    for (b = 0; b < 4; ++b)
      for (k = 0; k < 4; ++k) pl[b][k] = _mm512_loadu_si512((const void *)(plane[b] + 64 * k));
    for (L = 0; L < 4; ++L)
      for (g = 0; g < 4; ++g)
        for (j = 0; j < 4; ++j) idx[16 * L + 4 * g + j] = (unsigned char)(16 * g + 4 * L + j);
    perm = _mm512_loadu_si512((const void *)idx);
    for (; i + 64 <= n; i += 64) {
      const __m512i u = _mm512_xor_si512(_mm512_permutexvar_epi8(perm, _mm512_loadu_si512((const void *)(x + i))), flip);
      const __mmask64 top = _mm512_movepi8_mask(u);
      __m512i v[4], lo01, hi01, lo23, hi23;
      for (b = 0; b < 4; ++b)
        v[b] = _mm512_mask_blend_epi8(top, _mm512_permutex2var_epi8(pl[b][0], u, pl[b][1]),
                                      _mm512_permutex2var_epi8(pl[b][2], u, pl[b][3]));
      lo01 = _mm512_unpacklo_epi8(v[0], v[1]);
      hi01 = _mm512_unpackhi_epi8(v[0], v[1]);
      lo23 = _mm512_unpacklo_epi8(v[2], v[3]);
      hi23 = _mm512_unpackhi_epi8(v[2], v[3]);
      _mm512_storeu_si512((void *)(y + i), _mm512_unpacklo_epi16(lo01, lo23));
      _mm512_storeu_si512((void *)(y + i + 16), _mm512_unpackhi_epi16(lo01, lo23));
      _mm512_storeu_si512((void *)(y + i + 32), _mm512_unpacklo_epi16(hi01, hi23));
      _mm512_storeu_si512((void *)(y + i + 48), _mm512_unpackhi_epi16(hi01, hi23));
    }
  }
#endif
  for (; i < n; ++i) y[i] = t[(uint8_t)(x[i] + 128)];
}

/* Threads take ranges of whole 64-code blocks (the vector steps stay where
 * they were; each code is looked up alone). */
typedef struct qrt_lut_job {
  const qrt_lut_params *p;
  const int8_t *x;
  const void *table;
  float *y;
} qrt_lut_job;

QRT_INTERNAL void qrt_lut_i8_f32_range(void *ctx, int64_t b, int64_t e) {
  const qrt_lut_job *j = (const qrt_lut_job *)ctx;
  qrt_lut_params q = *j->p;
  const void *in[2];
  void *out[1];
  q.n = e - b;
  in[0] = j->x + b;
  in[1] = j->table;
  out[0] = j->y + b;
  qrt_lut_i8_f32_serial(&q, in, out);
}

QRT_API void qrt_lut_i8_f32(const void *params, const void *const *in, void *const *out) {
  qrt_lut_job j;
  j.p = (const qrt_lut_params *)params;
  j.x = (const int8_t *)in[0];
  j.table = in[1];
  j.y = (float *)out[0];
  qrt_parallel_range(j.p->n, 64, QRT_PAR_MIN_ELEMS, qrt_lut_i8_f32_range, &j);
}

/* Softmax of rows of int8 codes through a float table (qrt.h; needs
 * qrt_softmax.c).  Element j of a row stands for t_j = table[code], and
 * softmax_j = exp(t_j - m) / sum_k exp(t_k - m) for any m, so the row max
 * is not needed: with G the largest of the 256 table values, the exps are
 * a second table E[c] = exp(table[c] - G) in (0, 1], 256 exps per call
 * instead of one per element, and a row is E looked up (masked elements
 * 0), its 16-lane sum s (qrt_lanes_sum_f32's order) and E * (1 / s).
 * Every step is exact or one rounding in a fixed order, so every build
 * (SIMD or not) gives the same bits; against the float chain's exp(t_j -
 * m) / S the result differs by float rounding (t_j - G rounds where t_j
 * - m did not: relative 1e-5 at most, checked by test_runtime_softmax.c).
 * A row whose E values are tiny (s < 2^-60: its values far below G, where
 * E would lose precision or underflow, or nothing kept), and every row
 * when the table holds a NaN or an infinity, takes the chain's own path:
 * the values, -inf where masked, qrt_softmax_f32. */
#define QRT_SOFTMAX_CODES_BLOCK QRT_SOFTMAX_CODES_MAX_ROW /* floats looked up at once (qrt.h) */
typedef struct qrt_softmax_codes_job {
  int64_t outer, axis_len, mask_n;
  const int8_t *codes;
  const uint8_t *mask;
  const float *table, *exps; /* exps NULL: every row the exact way */
  float *y;                  /* float output, or NULL: */
  int8_t *yq;                /* codes: qrt_quantize_f32_i8 of it */
  const qrt_softmax_codes_q_params *q;
} qrt_softmax_codes_job;

/* Row o the float chain's way into yo: the table's values, -inf where
 * masked, then qrt_softmax_f32's row. */
QRT_INTERNAL void qrt_softmax_codes_exact_row(const qrt_softmax_codes_job *jb, int64_t o, float *yo) {
  const int64_t L = jb->axis_len;
  qrt_softmax_params sp;
  const void *sin[1];
  void *sout[1];
  int64_t j;
  for (j = 0; j < L; ++j) {
    const int keep = !jb->mask || jb->mask[(o * L + j) % jb->mask_n];
    yo[j] = keep ? jb->table[(uint8_t)(jb->codes[o * L + j] + 128)] : -INFINITY;
  }
  memset(&sp, 0, sizeof sp);
  sp.outer = 1;
  sp.axis_len = L;
  sp.inner = 1;
  sin[0] = yo;
  sout[0] = yo;
  qrt_softmax_f32(&sp, sin, sout);
}

/* Rows [r0, r1) into blk (row o at blk + (o - r0) L). */
QRT_INTERNAL void qrt_softmax_codes_block(const qrt_softmax_codes_job *jb, int64_t r0, int64_t r1, float *blk) {
  const int64_t L = jb->axis_len, mask_n = jb->mask_n;
  qrt_lut_params lp;
  const void *lin[2];
  void *lout[1];
  int64_t o, j;
  if (!jb->exps) {
    for (o = r0; o < r1; ++o) qrt_softmax_codes_exact_row(jb, o, blk + (o - r0) * L);
    return;
  }
  lp.n = (r1 - r0) * L;
  lin[0] = jb->codes + r0 * L;
  lin[1] = jb->exps;
  lout[0] = blk;
  qrt_lut_i8_f32_serial(&lp, lin, lout);
  for (o = r0; o < r1; ++o) {
    float *yo = blk + (o - r0) * L;
    float s, inv;
    if (jb->mask && mask_n % L == 0) { /* the row's mask bytes in one run */
      const uint8_t *keep = jb->mask + (o * L) % mask_n;
      /* E * 1 or E * 0 (E is finite, >= 0: the same bits as a select),
       * a multiplication compilers vectorize where they branched */
      for (j = 0; j < L; ++j) yo[j] = yo[j] * (float)(keep[j] != 0);
    } else if (jb->mask) {
      for (j = 0; j < L; ++j) yo[j] = jb->mask[(o * L + j) % mask_n] ? yo[j] : 0.0f;
    }
    s = qrt_lanes_sum_f32(yo, L);
    if (!(s >= 0x1p-60f)) {
      qrt_softmax_codes_exact_row(jb, o, yo);
      continue;
    }
    inv = 1.0f / s;
    for (j = 0; j < L; ++j) yo[j] = yo[j] * inv;
  }
}

/* Rows [o0, o1) in blocks of about QRT_SOFTMAX_CODES_BLOCK floats: the
 * float output is its own block; codes go through one on the stack, each
 * block quantized while it is in L1 (axis_len <= the block then). */
QRT_INTERNAL void qrt_softmax_codes_rows(void *ctx, int64_t o0, int64_t o1) {
  const qrt_softmax_codes_job *jb = (const qrt_softmax_codes_job *)ctx;
  const int64_t L = jb->axis_len;
  const int64_t g = L < QRT_SOFTMAX_CODES_BLOCK ? QRT_SOFTMAX_CODES_BLOCK / L : 1;
  int64_t r0, r1;
  for (r0 = o0; r0 < o1; r0 = r1) {
    r1 = o1 - r0 < g ? o1 : r0 + g;
    if (jb->y) {
      qrt_softmax_codes_block(jb, r0, r1, jb->y + r0 * L);
    } else {
      float blk[QRT_SOFTMAX_CODES_BLOCK];
      qrt_softmax_codes_block(jb, r0, r1, blk);
      qrt_quantize_row_f32_i8((r1 - r0) * L, blk, jb->q->inv_scale, jb->q->zero_point, jb->q->qmin, jb->q->qmax,
                              jb->yq + r0 * L);
    }
  }
}

QRT_INTERNAL void qrt_softmax_codes_run(qrt_softmax_codes_job *jb, const void *const *in) {
  const float *table = (const float *)in[1];
  const int64_t L = jb->axis_len;
  float exps[256], G = -INFINITY;
  int finite = 1, c;
  if (L <= 0 || jb->outer <= 0) return;
  for (c = 0; c < 256; ++c) {
    finite &= table[c] - table[c] == 0.0f; /* not NaN, not infinite */
    G = table[c] > G ? table[c] : G;
  }
  for (c = 0; c < 256; ++c) exps[c] = qrt_exp_f32(table[c] - G);
  jb->codes = (const int8_t *)in[0];
  jb->mask = jb->mask_n > 0 ? (const uint8_t *)in[2] : NULL;
  jb->table = table;
  jb->exps = finite ? exps : NULL;
  qrt_parallel_range(jb->outer, 1, (QRT_PAR_MIN_ELEMS / 2 + L - 1) / L, qrt_softmax_codes_rows, jb);
}

QRT_API void qrt_softmax_codes_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_qsoftmax_params *p = (const qrt_qsoftmax_params *)params;
  qrt_softmax_codes_job jb;
  memset(&jb, 0, sizeof jb);
  jb.outer = p->outer;
  jb.axis_len = p->axis_len;
  jb.mask_n = p->mask_n;
  jb.y = (float *)out[0];
  qrt_softmax_codes_run(&jb, in);
}

QRT_API void qrt_softmax_codes_i8(const void *params, const void *const *in, void *const *out) {
  const qrt_softmax_codes_q_params *p = (const qrt_softmax_codes_q_params *)params;
  qrt_softmax_codes_job jb;
  if (p->axis_len > QRT_SOFTMAX_CODES_BLOCK) return; /* the compiler never asks (qrt.h) */
  memset(&jb, 0, sizeof jb);
  jb.outer = p->outer;
  jb.axis_len = p->axis_len;
  jb.mask_n = p->mask_n;
  jb.yq = (int8_t *)out[0];
  jb.q = p;
  qrt_softmax_codes_run(&jb, in);
}
