#include "qrt.h"
/* qrt_quant.c - quantize (f32 -> int8), dequantize (int8 -> f32),
 * requantize (int32 / int8 -> int8) and the compile-time multiplier
 * decomposition.  Semantics: see QRT_QUANTIZE_PARAMS in qrt.h. */
#include <math.h>
#include <string.h>

/* One element: clamp(round_half_even(x * inv_scale) + zp, qmin, qmax),
 * NaN -> zp. Integer arithmetic on the float's bits, branch-free, so that
 * it is independent of the FP rounding mode and compilers vectorize it:
 * |y| is limited to `limit` (the float bits of 256 for int8, 65536 for
 * int16: beyond, every zero point of the code width saturates anyway; NaN
 * becomes 0); then y = m * 2^(e-150) with the 24-bit significand m, and
 * rounding is a shift with the remainder compared to half an ulp of the
 * result. */
#define QRT_QUANT_LIMIT_I8 0x43800000u  /* 256.0f */
#define QRT_QUANT_LIMIT_I16 0x47800000u /* 65536.0f */
QRT_INTERNAL int32_t qrt_quant_one(float x, float inv_scale, int32_t zp, int32_t qmin, int32_t qmax,
                                   uint32_t limit) {
  const float y = x * inv_scale;
  uint32_t bits, mag, neg, e, m, sh, q, rem, half;
  int32_t r;
  memcpy(&bits, &y, sizeof bits);
  mag = bits & 0x7fffffffu;
  neg = bits >> 31;
  mag = mag > 0x7f800000u ? 0u : mag;  /* NaN -> 0 */
  mag = mag > limit ? limit : mag;     /* |y| <= 256.0f or 65536.0f */
  e = mag >> 23;
  m = (mag & 0x7fffffu) | 0x800000u;
  sh = 150u - e; /* e <= 143, so sh >= 7 */
  sh = sh > 31u ? 31u : sh; /* |y| < 2^-7: rounds to 0 */
  q = m >> sh;
  rem = m - (q << sh);
  half = (1u << sh) >> 1;
  q += (rem > half) | ((rem == half) & q); /* ties to even: (rem == half) & (q & 1) */
  r = (int32_t)((q ^ (0u - neg)) + neg) + zp;
  r = r < qmin ? qmin : r;
  return r > qmax ? qmax : r;
}

/* Vector paths of the int8 quantize row: the same function as
 * qrt_quant_one, with the rounding done by an instruction that names its
 * mode (round to nearest even, whatever the FP environment says): NaN ->
 * 0 and |y| clamped to 256 first, as above; then y is rounded to an exact
 * integer-valued float and converted.  QRT_QMM_PORTABLE (the test switch
 * of the int8 kernels) keeps the plain C. */
#if !defined(QRT_QMM_PORTABLE) && defined(__AVX512F__)
#define QRT_QUANT_AVX512 1
#elif !defined(QRT_QMM_PORTABLE) && defined(__AVX2__)
#define QRT_QUANT_AVX2 1
#elif !defined(QRT_QMM_PORTABLE) && defined(__ARM_NEON) && defined(__aarch64__)
#define QRT_QUANT_NEON 1
#endif
#if defined(QRT_QUANT_AVX512) || defined(QRT_QUANT_AVX2)
#include <immintrin.h>
#elif defined(QRT_QUANT_NEON)
#include <arm_neon.h>
#endif

/* Elements [0, returned) of the row, whole vectors; qmin <= qmax within
 * [-128, 127]. */
QRT_INTERNAL int64_t qrt_quantize_row_simd(int64_t n, const float *x, float inv_scale, int32_t zp,
                                           int32_t qmin, int32_t qmax, int8_t *y) {
  int64_t i = 0;
#if defined(QRT_QUANT_AVX512)
  const __m512 s = _mm512_set1_ps(inv_scale), lim = _mm512_set1_ps(256.0f), nlim = _mm512_set1_ps(-256.0f);
  const __m512i z = _mm512_set1_epi32(zp), lo = _mm512_set1_epi32(qmin), hi = _mm512_set1_epi32(qmax);
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), s);
    __m512i q;
    v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v); /* NaN -> 0 */
    v = _mm512_min_ps(_mm512_max_ps(v, nlim), lim);
    q = _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, z), lo), hi);
    _mm_storeu_si128((__m128i *)(void *)(y + i), _mm512_cvtepi32_epi8(q));
  }
#elif defined(QRT_QUANT_AVX2)
  const __m256 s = _mm256_set1_ps(inv_scale), lim = _mm256_set1_ps(256.0f), nlim = _mm256_set1_ps(-256.0f);
  const __m256i z = _mm256_set1_epi32(zp), lo = _mm256_set1_epi32(qmin), hi = _mm256_set1_epi32(qmax);
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), s);
    __m256i q;
    __m128i h;
    v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> 0 */
    v = _mm256_min_ps(_mm256_max_ps(v, nlim), lim);
    v = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(v), z), lo), hi);
    h = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storel_epi64((__m128i *)(void *)(y + i), _mm_packs_epi16(h, h));
  }
#elif defined(QRT_QUANT_NEON)
  const float32x4_t lim = vdupq_n_f32(256.0f), nlim = vdupq_n_f32(-256.0f);
  const int32x4_t z = vdupq_n_s32(zp), lo = vdupq_n_s32(qmin), hi = vdupq_n_s32(qmax);
  for (; i + 8 <= n; i += 8) {
    int32x4_t q[2];
    int k;
    for (k = 0; k < 2; ++k) {
      float32x4_t v = vmulq_n_f32(vld1q_f32(x + i + 4 * k), inv_scale);
      v = vbslq_f32(vceqq_f32(v, v), v, vdupq_n_f32(0.0f)); /* NaN -> 0 */
      v = vminq_f32(vmaxq_f32(v, nlim), lim);
      q[k] = vminq_s32(vmaxq_s32(vaddq_s32(vcvtnq_s32_f32(v), z), lo), hi);
    }
    vst1_s8(y + i, vqmovn_s16(vcombine_s16(vqmovn_s32(q[0]), vqmovn_s32(q[1]))));
  }
#else
  (void)n; (void)x; (void)inv_scale; (void)zp; (void)qmin; (void)qmax; (void)y;
#endif
  return i;
}

QRT_API void qrt_quantize_row_f32_i8(int64_t n, const float *x, float inv_scale, int32_t zp,
                                     int32_t qmin, int32_t qmax, int8_t *y) {
  int32_t chunk[256]; /* int32 first, narrowed after: both loops vectorize */
  int64_t i0, i, m;
  qmin = qmin < -128 ? -128 : qmin;
  qmax = qmax > 127 ? 127 : qmax;
  if (qmax < qmin) qmax = qmin;
  i0 = qrt_quantize_row_simd(n, x, inv_scale, zp, qmin, qmax, y);
  x += i0; y += i0; n -= i0;
  for (i0 = 0; i0 < n; i0 += 256) {
    m = n - i0 < 256 ? n - i0 : 256;
    for (i = 0; i < m; ++i) chunk[i] = qrt_quant_one(x[i0 + i], inv_scale, zp, qmin, qmax, QRT_QUANT_LIMIT_I8);
    for (i = 0; i < m; ++i) y[i0 + i] = (int8_t)chunk[i];
  }
}

QRT_API void qrt_quantize_f32_i16(const void *params, const void *const *in, void *const *out) {
  const qrt_quantize_params *p = (const qrt_quantize_params *)params;
  const float *x = (const float *)in[0];
  int16_t *y = (int16_t *)out[0];
  const int32_t qmin = p->qmin < -32768 ? -32768 : p->qmin;
  int32_t qmax = p->qmax > 32767 ? 32767 : p->qmax, chunk[256];
  int64_t i0, i, m;
  if (qmax < qmin) qmax = qmin;
  for (i0 = 0; i0 < p->n; i0 += 256) {
    m = p->n - i0 < 256 ? p->n - i0 : 256;
    for (i = 0; i < m; ++i)
      chunk[i] = qrt_quant_one(x[i0 + i], p->inv_scale, p->zero_point, qmin, qmax, QRT_QUANT_LIMIT_I16);
    for (i = 0; i < m; ++i) y[i0 + i] = (int16_t)chunk[i];
  }
}

QRT_API void qrt_dequantize_i16_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_dequantize_params *p = (const qrt_dequantize_params *)params;
  const int16_t *x = (const int16_t *)in[0];
  float *y = (float *)out[0];
  const int64_t zp = p->zero_point; /* int64: any zero point, the difference exact */
  int64_t i;
  for (i = 0; i < p->n; ++i) y[i] = p->scale * (float)((int64_t)x[i] - zp);
}

QRT_INTERNAL void qrt_dequantize_i8_f32_n(const qrt_dequantize_params *p, const int8_t *x, float *y, int64_t n) {
  const int32_t zp = p->zero_point; /* |x - zp| <= 2^31 - 1 + 128: int64 only past int8 zero points */
  int64_t i;
  if (zp >= -128 && zp <= 127) /* int32 lanes: twice the vector width, exact */
    for (i = 0; i < n; ++i) y[i] = p->scale * (float)((int32_t)x[i] - zp);
  else
    for (i = 0; i < n; ++i) y[i] = p->scale * (float)((int64_t)x[i] - zp);
}

/* Threads take ranges of whole 64-element blocks (the vector blocks stay
 * where they were; each element is computed alone). */
typedef struct qrt_quant_job {
  const void *p;
  const void *x;
  void *y;
} qrt_quant_job;

QRT_INTERNAL void qrt_quantize_i8_range(void *ctx, int64_t b, int64_t e) {
  const qrt_quant_job *j = (const qrt_quant_job *)ctx;
  const qrt_quantize_params *p = (const qrt_quantize_params *)j->p;
  qrt_quantize_row_f32_i8(e - b, (const float *)j->x + b, p->inv_scale, p->zero_point, p->qmin, p->qmax,
                          (int8_t *)j->y + b);
}

QRT_INTERNAL void qrt_dequantize_i8_range(void *ctx, int64_t b, int64_t e) {
  const qrt_quant_job *j = (const qrt_quant_job *)ctx;
  qrt_dequantize_i8_f32_n((const qrt_dequantize_params *)j->p, (const int8_t *)j->x + b, (float *)j->y + b, e - b);
}

QRT_API void qrt_quantize_f32_i8(const void *params, const void *const *in, void *const *out) {
  qrt_quant_job j;
  j.p = params;
  j.x = in[0];
  j.y = out[0];
  qrt_parallel_range(((const qrt_quantize_params *)params)->n, 64, QRT_PAR_MIN_ELEMS, qrt_quantize_i8_range, &j);
}

QRT_API void qrt_dequantize_i8_f32(const void *params, const void *const *in, void *const *out) {
  qrt_quant_job j;
  j.p = params;
  j.x = in[0];
  j.y = out[0];
  qrt_parallel_range(((const qrt_dequantize_params *)params)->n, 64, QRT_PAR_MIN_ELEMS, qrt_dequantize_i8_range, &j);
}

QRT_INTERNAL void qrt_requantize_run(const qrt_requantize_params *p, const int32_t *x32,
                                     const int8_t *x8, const void *const *in, int8_t *y) {
  const int32_t *mult = (const int32_t *)in[1];
  const int32_t *shift = (const int32_t *)in[2];
  const int64_t zin = p->in_zero_point;
  int64_t o, c, i, idx = 0;
  for (o = 0; o < p->outer; ++o)
    for (c = 0; c < p->channels; ++c)
      for (i = 0; i < p->inner; ++i, ++idx) {
        const int64_t v = (x32 ? (int64_t)x32[idx] : (int64_t)x8[idx]) - zin;
        y[idx] = (int8_t)qrt_requant(v, mult[c], shift[c], p->out_zero_point, p->out_min,
                                     p->out_max);
      }
}

QRT_API void qrt_requantize_i32_i8(const void *params, const void *const *in, void *const *out) {
  qrt_requantize_run((const qrt_requantize_params *)params, (const int32_t *)in[0], NULL, in,
                     (int8_t *)out[0]);
}

QRT_API void qrt_requantize_i8_i8(const void *params, const void *const *in, void *const *out) {
  qrt_requantize_run((const qrt_requantize_params *)params, NULL, (const int8_t *)in[0], in,
                     (int8_t *)out[0]);
}

/* round(t) half away from zero for 0 <= t < 2^62 (t - trunc(t) is exact). */
QRT_INTERNAL int64_t qrt_quant_round_pos(double t) {
  int64_t q = (int64_t)t;
  if (t - (double)q >= 0.5) ++q;
  return q;
}

QRT_API void qrt_quantize_multiplier(double real, int32_t *m0, int32_t *shift) {
  int e = 0;
  double f;
  int64_t q;
  if (!(real > 0.0)) { *m0 = 0; *shift = 0; return; } /* also NaN */
  if (real >= 2147483648.0) { *m0 = 2147483647; *shift = 0; return; } /* also +inf */
  f = frexp(real, &e); /* real = f * 2^e, f in [0.5, 1), e <= 31 */
  if (e < -31) {
    /* tiny: s = 62, M0 = round(real * 2^62) = round(f * 2^(e + 62)) <= 2^30 */
    q = qrt_quant_round_pos(ldexp(f, e + 62));
    *m0 = (int32_t)q;
    *shift = q ? 62 : 0;
    return;
  }
  q = qrt_quant_round_pos(ldexp(f, 31));
  if (q >= ((int64_t)1 << 31)) { q >>= 1; ++e; } /* f rounded up to 1 */
  if (e > 31) { *m0 = 2147483647; *shift = 0; return; }
  *m0 = (int32_t)q;
  *shift = 31 - e;
}
