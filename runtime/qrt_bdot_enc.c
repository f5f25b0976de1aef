#include "qrt.h"
/* qrt_bdot_enc.c - qrt_bdot.c's run-time encoders for the BFP formats
 * (QRT_ELEM_INT with an E8M0 scale: bfp4/6/8 of every block size, MXINT8):
 * activation rows, and 16-column panels of a run-time B (attention's K^T
 * and V), straight to the int8 mantissas and block scales qrt_bdot.c
 * multiplies, in its layouts.  They give qrt_bfmt_encode's codes bit for
 * bit (qrt_fmt.c's qrt_fmt_encode_block with qrt_fmt_bfp.c's BFP rule, the
 * reference: test_runtime_bdot_enc.c compares them on every SIMD path);
 * they exist because that generic encoder, a libm frexp per block and a
 * double division-free but scalar rounding per element, was most of an
 * attention matmul's time.
 *
 * One block of n <= block values (the rest padding, 0), b = element_bits,
 * emax = b - 2, L = 2^(b-1) - 1:
 *   m   = max over the block of (bits of x_i) & 0x7fffffff: |x| as an
 *         unsigned integer, ordered like |x| for every non-NaN float;
 *         m >= 0x7f800000: a NaN or Inf in the block: codes 0, scale NaN
 *         (qrt_fmt.c's scale byte 255);
 *   E   = max(-127, (m >> 23) - 127 - emax): (m >> 23) - 127 is
 *         floor(log2 amax) for a normal amax, the value frexp gives; a
 *         subnormal or zero amax makes it -127 or less, and so does
 *         frexp's (floor(log2) <= -127), so both clamp to -127.  E never
 *         reaches qrt_fmt.c's upper clamp 127: floor(log2 amax) <= 127 and
 *         emax >= 0 (b >= 2);
 *   q_i = clamp(rne(x_i * 2^-E), -L, L).
 * Why x_i 2^-E is exact in float, as qrt_fmt_bfp.c's double product is:
 * 2^-E, -E in [-125, 127], is a normal float, and |x_i 2^-E| <
 * 2^(emax+1) (E >= floor(log2 amax) - emax, or E = -127 > that), so the
 * product can only be inexact where it falls below 2^-126, and there both
 * round to 0.  rne is round to nearest, ties to even, independent of the
 * rounding mode: AVX-512's embedded rounding, SSE4.1's round with an
 * immediate, NEON's FCVTNS, and in C the truncation and its exact
 * remainder (qrt_fmt_bfp.c's qrt_bfp_rne in float). */
#include <math.h>

#ifndef QRT_QMM_PORTABLE
#if defined(__AVX512F__) && defined(__AVX512BW__)
#define QRT_BDE_AVX512 1
#include <immintrin.h>
#elif defined(__AVX2__)
#define QRT_BDE_AVX2 1
#include <immintrin.h>
#elif defined(__ARM_NEON) && defined(__aarch64__)
#define QRT_BDE_NEON 1
#include <arm_neon.h>
#endif
#endif

#define QRT_BDE_NR 16 /* columns of a panel, as qrt_bdot.c's QRT_BDOT_NR */

QRT_API const char *qrt_bdot_enc_path(void) {
#if defined(QRT_BDE_AVX512)
  return "avx512";
#elif defined(QRT_BDE_AVX2)
  return "avx2";
#elif defined(QRT_BDE_NEON)
  return "neon";
#else
  return "portable";
#endif
}

QRT_API int qrt_bdot_enc_fits(int32_t fmt) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  return f && f->element == QRT_ELEM_INT && f->scale == QRT_SCALE_E8M0 && f->element_bits <= 8;
}

/* E from the largest magnitude's bits m (finite: m < 0x7f800000). */
QRT_INTERNAL int32_t qrt_bde_exp(uint32_t m, int32_t emax) {
  const int32_t e = (int32_t)(m >> 23) - 127 - emax;
  return e < -127 ? -127 : e;
}

/* 2^-e as a float (e in [-127, 125]: a normal float), from its bits. */
QRT_INTERNAL float qrt_bde_inv(int32_t e) {
  const uint32_t bits = (uint32_t)(127 - e) << 23;
  float v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

/* 2^e as a double, e in [-127, 127]. */
QRT_INTERNAL double qrt_bde_pow2(int32_t e) {
  const uint64_t bits = (uint64_t)(e + 1023) << 52;
  double v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

/* r (|r| < 2^23) rounded to nearest, ties to even: the truncation t and
 * r - t are exact; comparisons as 0/1, no branches (they vectorize). */
QRT_INTERNAL int32_t qrt_bde_rne(float r) {
  const int32_t t = (int32_t)r;
  const float d = r - (float)t;
  const int32_t odd = t & 1;
  return t + ((d > 0.5f) | ((d == 0.5f) & odd)) - ((d < -0.5f) | ((d == -0.5f) & odd));
}

QRT_INTERNAL int8_t qrt_bde_code(float x, float s, int32_t lim) {
  const int32_t q = qrt_bde_rne(x * s);
  return (int8_t)(q > lim ? lim : (q < -lim ? -lim : q));
}

QRT_INTERNAL uint32_t qrt_bde_absbits(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return u & 0x7fffffffu;
}

/* ---- one block of a row: x[n] -> k[blk] (padding 0), its scale ---- */
QRT_INTERNAL void qrt_bde_block_c(const float *x, int32_t n, int32_t blk, int32_t emax, int32_t lim, int8_t *k,
                                  double *scale) {
  uint32_t m = 0;
  int32_t i, E;
  float s;
  for (i = 0; i < n; ++i) {
    const uint32_t a = qrt_bde_absbits(x[i]);
    m = a > m ? a : m;
  }
  memset(k + n, 0, (size_t)(blk - n));
  if (m >= 0x7f800000u) {
    memset(k, 0, (size_t)n);
    *scale = (double)NAN;
    return;
  }
  E = qrt_bde_exp(m, emax);
  s = qrt_bde_inv(E);
  for (i = 0; i < n; ++i) k[i] = qrt_bde_code(x[i], s, lim);
  *scale = qrt_bde_pow2(E);
}

#if defined(QRT_BDE_AVX512)
QRT_INTERNAL __mmask16 qrt_bde_mask(int32_t n) {
  return (__mmask16)(n >= 16 ? 0xffffu : (n <= 0 ? 0u : (1u << n) - 1u));
}

QRT_INTERNAL void qrt_bde_block(const float *x, int32_t n, int32_t blk, int32_t emax, int32_t lim, int8_t *k,
                                double *scale) {
  const __m512i absm = _mm512_set1_epi32(0x7fffffff), hi = _mm512_set1_epi32(lim), lo = _mm512_set1_epi32(-lim);
  __m512i mx = _mm512_setzero_si512();
  __m512 s;
  uint32_t m;
  int32_t j, E;
  for (j = 0; j < n; j += 16)
    mx = _mm512_max_epu32(mx, _mm512_and_si512(_mm512_castps_si512(_mm512_maskz_loadu_ps(qrt_bde_mask(n - j), x + j)),
                                                absm));
  m = _mm512_reduce_max_epu32(mx);
  if (m >= 0x7f800000u) {
    memset(k, 0, (size_t)blk);
    *scale = (double)NAN;
    return;
  }
  E = qrt_bde_exp(m, emax);
  s = _mm512_set1_ps(qrt_bde_inv(E));
  for (j = 0; j < blk; j += 16) {
    const __m512 v = _mm512_maskz_loadu_ps(qrt_bde_mask(n - j), x + j);
    __m512i q = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v, s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_min_epi32(_mm512_max_epi32(q, lo), hi);
    _mm512_mask_cvtepi32_storeu_epi8(k + j, qrt_bde_mask(blk - j), q);
  }
  *scale = qrt_bde_pow2(E);
}
#elif defined(QRT_BDE_AVX2)
QRT_INTERNAL void qrt_bde_block(const float *x, int32_t n, int32_t blk, int32_t emax, int32_t lim, int8_t *k,
                                double *scale) {
  const __m256i absm = _mm256_set1_epi32(0x7fffffff), hi = _mm256_set1_epi32(lim), lo = _mm256_set1_epi32(-lim);
  __m256i mx = _mm256_setzero_si256();
  __m128i m4;
  __m256 s;
  uint32_t m;
  int32_t j, E;
  if (n % 8 != 0 || blk % 8 != 0) { /* a partial last block */
    qrt_bde_block_c(x, n, blk, emax, lim, k, scale);
    return;
  }
  for (j = 0; j < n; j += 8)
    mx = _mm256_max_epu32(mx, _mm256_and_si256(_mm256_castps_si256(_mm256_loadu_ps(x + j)), absm));
  m4 = _mm_max_epu32(_mm256_castsi256_si128(mx), _mm256_extracti128_si256(mx, 1));
  m4 = _mm_max_epu32(m4, _mm_shuffle_epi32(m4, 0x4e));
  m4 = _mm_max_epu32(m4, _mm_shuffle_epi32(m4, 0xb1));
  m = (uint32_t)_mm_cvtsi128_si32(m4);
  memset(k + n, 0, (size_t)(blk - n));
  if (m >= 0x7f800000u) {
    memset(k, 0, (size_t)n);
    *scale = (double)NAN;
    return;
  }
  E = qrt_bde_exp(m, emax);
  s = _mm256_set1_ps(qrt_bde_inv(E));
  for (j = 0; j < n; j += 8) {
    const __m256 r = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j), s),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256i q = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvttps_epi32(r), lo), hi); /* r is integral */
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storel_epi64((__m128i *)(void *)(k + j), _mm_packs_epi16(w, w));
  }
  *scale = qrt_bde_pow2(E);
}
#elif defined(QRT_BDE_NEON)
QRT_INTERNAL void qrt_bde_block(const float *x, int32_t n, int32_t blk, int32_t emax, int32_t lim, int8_t *k,
                                double *scale) {
  const uint32x4_t absm = vdupq_n_u32(0x7fffffffu);
  const int32x4_t hi = vdupq_n_s32(lim), lo = vdupq_n_s32(-lim);
  uint32x4_t mx = vdupq_n_u32(0);
  float32x4_t s;
  uint32_t m;
  int32_t j, E;
  if (n % 8 != 0 || blk % 8 != 0) { /* a partial last block */
    qrt_bde_block_c(x, n, blk, emax, lim, k, scale);
    return;
  }
  for (j = 0; j < n; j += 4) mx = vmaxq_u32(mx, vandq_u32(vreinterpretq_u32_f32(vld1q_f32(x + j)), absm));
  m = vmaxvq_u32(mx);
  memset(k + n, 0, (size_t)(blk - n));
  if (m >= 0x7f800000u) {
    memset(k, 0, (size_t)n);
    *scale = (double)NAN;
    return;
  }
  E = qrt_bde_exp(m, emax);
  s = vdupq_n_f32(qrt_bde_inv(E));
  for (j = 0; j < n; j += 8) {
    const int32x4_t q0 = vminq_s32(vmaxq_s32(vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + j), s)), lo), hi);
    const int32x4_t q1 = vminq_s32(vmaxq_s32(vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + j + 4), s)), lo), hi);
    vst1_s8(k + j, vqmovn_s16(vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1))));
  }
  *scale = qrt_bde_pow2(E);
}
#else
#define qrt_bde_block qrt_bde_block_c
#endif

QRT_API void qrt_bdot_enc_row(int32_t fmt, const float *x, int64_t K, int8_t *k, double *scale) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  const int32_t emax = f->element_bits - 2, lim = (1 << (f->element_bits - 1)) - 1;
  int64_t k0, b = 0;
  for (k0 = 0; k0 < K; k0 += f->block, ++b) {
    const int32_t n = K - k0 < f->block ? (int32_t)(K - k0) : f->block;
    qrt_bde_block(x + k0, n, f->block, emax, lim, k + k0, scale + b);
  }
}

/* ---- a panel: columns [n0, n0 + 16) of B [K, N], each column a vector
 * along K, vectorized across the 16 columns (B's rows are contiguous, so
 * no gather).  Out, in qrt_bdot.c's layout: wm [kb / 4][16][4] int8
 * (group g of 4 k of column c at wm[(g * 16 + c) * 4]), ws [nb][16] block
 * scales, wc [nb][16] 128 * the block's code sum (VNNI's correction);
 * columns past N: codes 0, scale 0; k past K: codes 0. ---- */
#if defined(QRT_BDE_AVX512)
QRT_INTERNAL void qrt_bde_panel(const qrt_bformat *f, const float *B, int64_t K, int64_t N, int64_t n0, int8_t *wm,
                                double *ws, int32_t *wc) {
  const int32_t emax = f->element_bits - 2, lim = (1 << (f->element_bits - 1)) - 1, blk = f->block;
  const int64_t nb = (K + blk - 1) / blk;
  const __mmask16 cols = qrt_bde_mask(N - n0 < 16 ? (int32_t)(N - n0) : 16);
  const __m512i absm = _mm512_set1_epi32(0x7fffffff), hi = _mm512_set1_epi32(lim), lo = _mm512_set1_epi32(-lim);
  const __m512i bytes = _mm512_set1_epi32(0xff), inf = _mm512_set1_epi32(0x7f800000);
  int64_t bi, k, g;
  int j;
  for (bi = 0; bi < nb; ++bi) {
    const int64_t k0 = bi * blk, k1 = k0 + blk < K ? k0 + blk : K;
    __m512i mx = _mm512_setzero_si512(), E, sum = _mm512_setzero_si512();
    __m512 s;
    __mmask16 ok;
    __m512d s0, s1;
    for (k = k0; k < k1; ++k)
      mx = _mm512_max_epu32(mx, _mm512_and_si512(_mm512_castps_si512(_mm512_maskz_loadu_ps(cols, B + k * N + n0)), absm));
    ok = _mm512_cmplt_epu32_mask(mx, inf) & cols; /* finite blocks of real columns */
    E = _mm512_max_epi32(_mm512_sub_epi32(_mm512_srli_epi32(mx, 23), _mm512_set1_epi32(127 + emax)),
                         _mm512_set1_epi32(-127));
    s = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_sub_epi32(_mm512_set1_epi32(127), E), 23));
    for (g = k0; g < k0 + blk; g += 4) {
      __m512i q[4];
      for (j = 0; j < 4; ++j) {
        /* NaN blocks and columns past N load as 0: codes 0 */
        const __m512 v = g + j < K ? _mm512_maskz_loadu_ps(ok, B + (g + j) * N + n0) : _mm512_setzero_ps();
        q[j] = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v, s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        q[j] = _mm512_maskz_mov_epi32(ok, _mm512_min_epi32(_mm512_max_epi32(q[j], lo), hi));
        sum = _mm512_add_epi32(sum, q[j]);
      }
      /* lane c's int32 holds k = g .. g + 3 of column c, low byte first */
      _mm512_storeu_si512((void *)(wm + g / 4 * 64),
                          _mm512_or_si512(_mm512_or_si512(_mm512_and_si512(q[0], bytes),
                                                          _mm512_slli_epi32(_mm512_and_si512(q[1], bytes), 8)),
                                          _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(q[2], bytes), 16),
                                                          _mm512_slli_epi32(q[3], 24))));
    }
    _mm512_storeu_si512((void *)(wc + bi * 16), _mm512_slli_epi32(sum, 7));
    /* 2^E as doubles from their bits; NaN blocks NaN, columns past N 0 */
    E = _mm512_add_epi32(E, _mm512_set1_epi32(1023));
    s0 = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(E)), 52));
    s1 = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(E, 1)), 52));
    s0 = _mm512_mask_blend_pd((__mmask8)(cols & ~ok), s0, _mm512_set1_pd((double)NAN));
    s1 = _mm512_mask_blend_pd((__mmask8)((cols & ~ok) >> 8), s1, _mm512_set1_pd((double)NAN));
    _mm512_storeu_pd(ws + bi * 16, _mm512_maskz_mov_pd((__mmask8)cols, s0));
    _mm512_storeu_pd(ws + bi * 16 + 8, _mm512_maskz_mov_pd((__mmask8)(cols >> 8), s1));
  }
}
#else
/* Column by column inside each row of 16: the loops over c are
 * independent lanes, which compilers vectorize. */
QRT_INTERNAL void qrt_bde_panel(const qrt_bformat *f, const float *B, int64_t K, int64_t N, int64_t n0, int8_t *wm,
                                double *ws, int32_t *wc) {
  const int32_t emax = f->element_bits - 2, lim = (1 << (f->element_bits - 1)) - 1, blk = f->block;
  const int64_t nb = (K + blk - 1) / blk, nc = N - n0 < QRT_BDE_NR ? N - n0 : QRT_BDE_NR;
  int64_t bi, k, c;
  for (bi = 0; bi < nb; ++bi) {
    const int64_t k0 = bi * blk, k1 = k0 + blk < K ? k0 + blk : K;
    uint32_t mx[QRT_BDE_NR] = {0};
    float s[QRT_BDE_NR];
    int32_t sum[QRT_BDE_NR] = {0}, fin[QRT_BDE_NR];
    for (k = k0; k < k1; ++k)
      for (c = 0; c < nc; ++c) {
        const uint32_t a = qrt_bde_absbits(B[k * N + n0 + c]);
        mx[c] = a > mx[c] ? a : mx[c];
      }
    for (c = 0; c < QRT_BDE_NR; ++c) {
      const int32_t E = qrt_bde_exp(mx[c], emax);
      fin[c] = c < nc && mx[c] < 0x7f800000u; /* else codes 0 */
      s[c] = fin[c] ? qrt_bde_inv(E) : 0.0f;
      ws[bi * QRT_BDE_NR + c] = c >= nc ? 0.0 : (fin[c] ? qrt_bde_pow2(E) : (double)NAN);
    }
    for (k = k0; k < k0 + blk; ++k)
      for (c = 0; c < QRT_BDE_NR; ++c) {
        const int8_t q = k < K && fin[c] ? qrt_bde_code(B[k * N + n0 + c], s[c], lim) : 0;
        wm[(k / 4 * QRT_BDE_NR + c) * 4 + k % 4] = q;
        sum[c] += q;
      }
    for (c = 0; c < QRT_BDE_NR; ++c) wc[bi * QRT_BDE_NR + c] = 128 * sum[c]; /* |sum| <= 64 * 127 */
  }
}
#endif

QRT_API void qrt_bdot_enc_panel(int32_t fmt, const float *B, int64_t K, int64_t N, int64_t n0, int8_t *wm,
                                double *ws, int32_t *wc) {
  qrt_bde_panel(qrt_bformat_get(fmt), B, K, N, n0, wm, ws, wc);
}
