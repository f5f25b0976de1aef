#include "qrt.h"
#include <math.h>
#include <string.h>
/* qrt_qmatmul.c - int8 GEMM core (W8A8) and the batched qmatmul kernels.
 *
 * Semantics: see QRT_QMATMUL_PARAMS and qrt_qgemm_args in qrt.h.  Every
 * path computes acc[m][n] = sum_k (a[m][k] - za) * b[k][n] modulo 2^32
 * (exact while K <= 65792), so all paths, blockings and packings give the
 * same bits.
 *
 * B panels are always in the packed layout (16 columns, groups of 4 k,
 * bytes b + 128): read in place when b_packed, else packed per K block
 * into a stack buffer.  The micro-kernels compute
 *     accu[m][n] = sum_k a[m][k] * bu[k][n],   bu = b + 128 in [0, 255]
 * (VNNI vpdpbusd: u8 x s8 groups of 4; AVX2 vpmaddwd on widened bytes;
 * portable C), or on NEON directly sum a*b (sdot / smull+sadalp), and the
 * epilogue corrects:
 *     acc = accu - 128 * rowsum_a[m] - za * colsum_b[n]      (mod 2^32)
 * (the GEMM keeps 128 * rowsum_a[m] per row of a block: `rowsum` below)
 * because sum (a - za) b = sum a (b + 128) - 128 sum a - za sum b.
 * A rows (k contiguous) are read in place, 4 bytes at a time; a K tail
 * (K % 4) goes through a small zero-padded copy.
 *
 * Loops: row blocks of QRT_QMM_MC, column tiles of QRT_QMM_NP panels,
 * K blocks (partial sums kept in an int32 stack tile), micro-tiles of up
 * to QRT_QMM_MR rows.  Stack use: < 32 KiB.
 *
 * Int4 B (packed nibbles) is unpacked per K block into the biased byte
 * layout, so every micro-kernel serves both formats.  Grouped B: K blocks
 * stop at group ends; each group's corrected sums are multiplied by its
 * integer group multiplier and added up (qrt_qmm_fold_group). */

#ifndef QRT_QMM_PORTABLE
#if defined(__AVX512VNNI__) && defined(__AVX512F__)
#define QRT_QMM_VNNI 1
#elif defined(__AVX2__)
#define QRT_QMM_AVX2 1
#elif defined(__ARM_NEON) && defined(__aarch64__)
#define QRT_QMM_NEON 1
#endif
#endif

#if defined(QRT_QMM_VNNI) || defined(QRT_QMM_AVX2)
#include <immintrin.h>
#elif defined(QRT_QMM_NEON)
#include <arm_neon.h>
#endif

#define QRT_QMM_NR 16
#if defined(QRT_QMM_VNNI)
#define QRT_QMM_MR 8
#define QRT_QMM_NP 2
#define QRT_QMM_BIASED 1
#elif defined(QRT_QMM_AVX2)
#define QRT_QMM_MR 2
#define QRT_QMM_NP 1
#define QRT_QMM_BIASED 1
#elif defined(QRT_QMM_NEON)
#define QRT_QMM_MR 4
#define QRT_QMM_NP 1
#define QRT_QMM_BIASED 0
#else
#define QRT_QMM_MR 4
#define QRT_QMM_NP 1
#define QRT_QMM_BIASED 1
#endif
#define QRT_QMM_NW (QRT_QMM_NP * QRT_QMM_NR) /* columns of a tile */
#define QRT_QMM_MC 64                        /* rows of a block */
#define QRT_QMM_KC 256                       /* K block, unpacked B (multiple of 4) */
#define QRT_QMM_KC_PACKED 2048               /* K block, packed B (multiple of 4) */

#if defined(__GNUC__)
#define QRT_QMM_UNROLL _Pragma("GCC unroll 16")
#else
#define QRT_QMM_UNROLL
#endif

QRT_API const char *qrt_qgemm_path(void) {
#if defined(QRT_QMM_VNNI)
  return "avx512vnni";
#elif defined(QRT_QMM_AVX2)
  return "avx2";
#elif defined(QRT_QMM_NEON)
#if defined(__ARM_FEATURE_DOTPROD)
  return "neon-dotprod";
#else
  return "neon";
#endif
#else
  return "portable";
#endif
}

/* Micro-kernels.  NAME(ng, a, lda, b, bps, acc, first):
 * for i < MRK rows, column j = p*16 + c (p < NPK panels, c < 16):
 *   acc[i*NW + j] = (first ? 0 : acc[i*NW + j]) +
 *       sum over groups g < ng, r < 4 of a[i*lda + 4g + r] * B(p, g, c, r)
 * where the panel p group g is the 64 bytes at b + p*bps + 64g and B is
 * the stored byte (bu, biased paths) or the byte xor 0x80 (NEON). */
#if defined(QRT_QMM_VNNI)
#define QRT_QMM_DEFINE_KERNEL(NAME, MRK, NPK)                                               \
  QRT_INTERNAL void NAME(int64_t ng, const int8_t *a, int64_t lda, const uint8_t *b,        \
                         int64_t bps, int32_t *acc, int first) {                            \
    __m512i c[MRK][NPK];                                                                    \
    int64_t gi;                                                                             \
    int i, p;                                                                               \
    QRT_QMM_UNROLL for (i = 0; i < MRK; ++i)                                                \
      QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                              \
        c[i][p] = first ? _mm512_setzero_si512()                                            \
                        : _mm512_loadu_si512((const void *)(acc + i * QRT_QMM_NW + p * 16)); \
    for (gi = 0; gi < ng; ++gi) {                                                           \
      __m512i bv[NPK];                                                                      \
      QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                              \
        bv[p] = _mm512_loadu_si512((const void *)(b + p * bps + gi * 64));                  \
      QRT_QMM_UNROLL for (i = 0; i < MRK; ++i) {                                            \
        int32_t av;                                                                         \
        __m512i va;                                                                         \
        memcpy(&av, a + i * lda + gi * 4, 4);                                               \
        va = _mm512_set1_epi32(av);                                                         \
        QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                            \
          c[i][p] = _mm512_dpbusd_epi32(c[i][p], bv[p], va);                                \
      }                                                                                     \
    }                                                                                       \
    QRT_QMM_UNROLL for (i = 0; i < MRK; ++i)                                                \
      QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                              \
        _mm512_storeu_si512((void *)(acc + i * QRT_QMM_NW + p * 16), c[i][p]);              \
  }
#elif defined(QRT_QMM_AVX2)
/* Bytes of 4 columns (16) widened to 16 int16 lanes; vpmaddwd with the
 * row's 4 a values (int16, repeated every 64 bits) gives 8 int32 lanes =
 * (column, k pair); hadd + permute fold the pairs at the end. */
#define QRT_QMM_DEFINE_KERNEL(NAME, MRK, NPK)                                               \
  QRT_INTERNAL void NAME(int64_t ng, const int8_t *a, int64_t lda, const uint8_t *b,        \
                         int64_t bps, int32_t *acc, int first) {                            \
    __m256i c[MRK][NPK][4];                                                                 \
    int64_t gi;                                                                             \
    int i, p, q;                                                                            \
    QRT_QMM_UNROLL for (i = 0; i < MRK; ++i)                                                \
      QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                              \
        QRT_QMM_UNROLL for (q = 0; q < 4; ++q) c[i][p][q] = _mm256_setzero_si256();         \
    for (gi = 0; gi < ng; ++gi) {                                                           \
      __m256i bw[NPK][4];                                                                   \
      QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                              \
        QRT_QMM_UNROLL for (q = 0; q < 4; ++q)                                              \
          bw[p][q] = _mm256_cvtepu8_epi16(                                                  \
              _mm_loadu_si128((const __m128i *)(const void *)(b + p * bps + gi * 64 + q * 16))); \
      QRT_QMM_UNROLL for (i = 0; i < MRK; ++i) {                                            \
        int32_t av;                                                                         \
        __m256i va;                                                                         \
        memcpy(&av, a + i * lda + gi * 4, 4);                                               \
        va = _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(av)));             \
        QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                            \
          QRT_QMM_UNROLL for (q = 0; q < 4; ++q)                                            \
            c[i][p][q] = _mm256_add_epi32(c[i][p][q], _mm256_madd_epi16(bw[p][q], va));     \
      }                                                                                     \
    }                                                                                       \
    QRT_QMM_UNROLL for (i = 0; i < MRK; ++i)                                                \
      QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                              \
        QRT_QMM_UNROLL for (q = 0; q < 4; q += 2) {                                         \
          int32_t *dst = acc + i * QRT_QMM_NW + p * 16 + q * 4;                             \
          __m256i s = _mm256_permute4x64_epi64(_mm256_hadd_epi32(c[i][p][q], c[i][p][q + 1]), \
                                               0xD8);                                       \
          if (!first) s = _mm256_add_epi32(s, _mm256_loadu_si256((const __m256i *)(void *)dst)); \
          _mm256_storeu_si256((__m256i *)(void *)dst, s);                                   \
        }                                                                                   \
  }
#elif defined(QRT_QMM_NEON) && defined(__ARM_FEATURE_DOTPROD)
#define QRT_QMM_DEFINE_KERNEL(NAME, MRK, NPK)                                               \
  QRT_INTERNAL void NAME(int64_t ng, const int8_t *a, int64_t lda, const uint8_t *b,        \
                         int64_t bps, int32_t *acc, int first) {                            \
    int32x4_t c[MRK][NPK][4];                                                               \
    const uint8x16_t flip = vdupq_n_u8(0x80);                                               \
    int64_t gi;                                                                             \
    int i, p, q;                                                                            \
    QRT_QMM_UNROLL for (i = 0; i < MRK; ++i)                                                \
      QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                              \
        QRT_QMM_UNROLL for (q = 0; q < 4; ++q)                                              \
          c[i][p][q] = first ? vdupq_n_s32(0) : vld1q_s32(acc + i * QRT_QMM_NW + p * 16 + q * 4); \
    for (gi = 0; gi < ng; ++gi) {                                                           \
      int8x16_t bq[NPK][4];                                                                 \
      QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                              \
        QRT_QMM_UNROLL for (q = 0; q < 4; ++q)                                              \
          bq[p][q] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(b + p * bps + gi * 64 + q * 16), flip)); \
      QRT_QMM_UNROLL for (i = 0; i < MRK; ++i) {                                            \
        int32_t av;                                                                         \
        int8x16_t va;                                                                       \
        memcpy(&av, a + i * lda + gi * 4, 4);                                               \
        va = vreinterpretq_s8_s32(vdupq_n_s32(av));                                         \
        QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                            \
          QRT_QMM_UNROLL for (q = 0; q < 4; ++q) c[i][p][q] = vdotq_s32(c[i][p][q], bq[p][q], va); \
      }                                                                                     \
    }                                                                                       \
    QRT_QMM_UNROLL for (i = 0; i < MRK; ++i)                                                \
      QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                              \
        QRT_QMM_UNROLL for (q = 0; q < 4; ++q)                                              \
          vst1q_s32(acc + i * QRT_QMM_NW + p * 16 + q * 4, c[i][p][q]);                     \
  }
#elif defined(QRT_QMM_NEON)
/* smull of 2 columns x 4 k (8 bytes) with a0..a3 a0..a3 -> 8 int16
 * products, sadalp folds pairs into 4 int32 lanes (column, k pair). */
#define QRT_QMM_DEFINE_KERNEL(NAME, MRK, NPK)                                               \
  QRT_INTERNAL void NAME(int64_t ng, const int8_t *a, int64_t lda, const uint8_t *b,        \
                         int64_t bps, int32_t *acc, int first) {                            \
    int32x4_t c[MRK][NPK][8];                                                               \
    const uint8x16_t flip = vdupq_n_u8(0x80);                                               \
    int64_t gi;                                                                             \
    int i, p, q;                                                                            \
    QRT_QMM_UNROLL for (i = 0; i < MRK; ++i)                                                \
      QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                              \
        QRT_QMM_UNROLL for (q = 0; q < 8; ++q) c[i][p][q] = vdupq_n_s32(0);                 \
    for (gi = 0; gi < ng; ++gi) {                                                           \
      int8x16_t bq[NPK][4];                                                                 \
      QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                              \
        QRT_QMM_UNROLL for (q = 0; q < 4; ++q)                                              \
          bq[p][q] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(b + p * bps + gi * 64 + q * 16), flip)); \
      QRT_QMM_UNROLL for (i = 0; i < MRK; ++i) {                                            \
        int32_t av;                                                                         \
        int8x8_t va;                                                                        \
        memcpy(&av, a + i * lda + gi * 4, 4);                                               \
        va = vreinterpret_s8_s32(vdup_n_s32(av));                                           \
        QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                            \
          QRT_QMM_UNROLL for (q = 0; q < 4; ++q) {                                          \
            c[i][p][2 * q] = vpadalq_s16(c[i][p][2 * q], vmull_s8(vget_low_s8(bq[p][q]), va)); \
            c[i][p][2 * q + 1] =                                                            \
                vpadalq_s16(c[i][p][2 * q + 1], vmull_s8(vget_high_s8(bq[p][q]), va));      \
          }                                                                                 \
      }                                                                                     \
    }                                                                                       \
    QRT_QMM_UNROLL for (i = 0; i < MRK; ++i)                                                \
      QRT_QMM_UNROLL for (p = 0; p < NPK; ++p)                                              \
        QRT_QMM_UNROLL for (q = 0; q < 4; ++q) {                                            \
          int32_t *dst = acc + i * QRT_QMM_NW + p * 16 + q * 4;                             \
          int32x4_t s = vpaddq_s32(c[i][p][2 * q], c[i][p][2 * q + 1]);                     \
          if (!first) s = vaddq_s32(s, vld1q_s32(dst));                                     \
          vst1q_s32(dst, s);                                                                \
        }                                                                                   \
  }
#else
/* Portable C: unsigned (wrapping) sums of the exact int products. */
#define QRT_QMM_DEFINE_KERNEL(NAME, MRK, NPK)                                               \
  QRT_INTERNAL void NAME(int64_t ng, const int8_t *a, int64_t lda, const uint8_t *b,        \
                         int64_t bps, int32_t *acc, int first) {                            \
    uint32_t c[MRK][NPK * 16];                                                              \
    int64_t gi;                                                                             \
    int i, j, r;                                                                            \
    for (i = 0; i < MRK; ++i)                                                               \
      for (j = 0; j < NPK * 16; ++j)                                                        \
        c[i][j] = first ? 0u : (uint32_t)acc[i * QRT_QMM_NW + j];                           \
    for (gi = 0; gi < ng; ++gi)                                                             \
      for (i = 0; i < MRK; ++i) {                                                           \
        const int8_t *ar = a + i * lda + gi * 4;                                            \
        for (j = 0; j < NPK * 16; ++j) {                                                    \
          const uint8_t *bc = b + (j / 16) * bps + gi * 64 + (j % 16) * 4;                  \
          uint32_t s = 0;                                                                   \
          for (r = 0; r < 4; ++r) s += (uint32_t)((int32_t)ar[r] * (int32_t)bc[r]);         \
          c[i][j] += s;                                                                     \
        }                                                                                   \
      }                                                                                     \
    for (i = 0; i < MRK; ++i)                                                               \
      for (j = 0; j < NPK * 16; ++j) acc[i * QRT_QMM_NW + j] = (int32_t)c[i][j];            \
  }
#endif

typedef void (*qrt_qmm_kernel_fn)(int64_t, const int8_t *, int64_t, const uint8_t *, int64_t,
                                  int32_t *, int);

#if QRT_QMM_NP == 2
QRT_QMM_DEFINE_KERNEL(qrt_qmm_k_mr_2, QRT_QMM_MR, 2)
QRT_QMM_DEFINE_KERNEL(qrt_qmm_k_4_2, 4, 2)
QRT_QMM_DEFINE_KERNEL(qrt_qmm_k_2_2, 2, 2)
QRT_QMM_DEFINE_KERNEL(qrt_qmm_k_1_2, 1, 2)
#endif
QRT_QMM_DEFINE_KERNEL(qrt_qmm_k_mr_1, QRT_QMM_MR, 1)
#if QRT_QMM_MR > 4
QRT_QMM_DEFINE_KERNEL(qrt_qmm_k_4_1, 4, 1)
#endif
#if QRT_QMM_MR > 2
QRT_QMM_DEFINE_KERNEL(qrt_qmm_k_2_1, 2, 1)
#endif
QRT_QMM_DEFINE_KERNEL(qrt_qmm_k_1_1, 1, 1)

#if defined(QRT_QMM_AVX2)
/* AVX2, int4 B: the packed nibbles are read in place (no unpack into
 * biased bytes).  A group's 32 bytes hold columns 0-7 in the low nibbles
 * and 8-15 in the high ones, 4 k per column, each nibble code + 8 (0..15):
 * vpmaddubsw's unsigned operand, the row's 4 int8 values its signed one.
 * An int16 lane is then a sum of two products, |.| <= 2 * 15 * 128 = 3840,
 * so eight groups add up exactly in int16 (<= 30720) before vpmaddwd with
 * ones folds each column's lane pair into int32: one multiply per 32
 * multiply-adds, twice the int8 kernel's rate.  The sums are
 * sum (code + 8) a; the epilogue takes 8 x the row sums off
 * (qrt_qmm_b_bias).  Same signature as the int8 kernels (b: the panel's
 * nibbles, one panel, bps unused). */
#define QRT_QMM_NIBBLES 1
#define QRT_QMM_DEFINE_KERNEL_N4(NAME, MRK)                                                 \
  QRT_INTERNAL void NAME(int64_t ng, const int8_t *a, int64_t lda, const uint8_t *b,        \
                         int64_t bps, int32_t *acc, int first) {                            \
    const __m256i low = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);                  \
    __m256i c[MRK][2], s[MRK][2];                                                           \
    int64_t gi = 0, gend;                                                                   \
    int i, h;                                                                               \
    (void)bps;                                                                              \
    QRT_QMM_UNROLL for (i = 0; i < MRK; ++i)                                                \
      QRT_QMM_UNROLL for (h = 0; h < 2; ++h)                                                \
        c[i][h] = first ? _mm256_setzero_si256()                                            \
                        : _mm256_loadu_si256((const __m256i *)(const void *)(acc + i * QRT_QMM_NW + h * 8)); \
    while (gi < ng) {                                                                       \
      gend = ng - gi < 8 ? ng : gi + 8;                                                     \
      QRT_QMM_UNROLL for (i = 0; i < MRK; ++i) s[i][0] = s[i][1] = _mm256_setzero_si256();  \
      for (; gi < gend; ++gi) {                                                             \
        const __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(b + gi * 32)); \
        const __m256i lo = _mm256_and_si256(v, low);                                        \
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);                 \
        QRT_QMM_UNROLL for (i = 0; i < MRK; ++i) {                                          \
          int32_t av;                                                                       \
          __m256i va;                                                                       \
          memcpy(&av, a + i * lda + gi * 4, 4);                                             \
          va = _mm256_set1_epi32(av);                                                       \
          s[i][0] = _mm256_add_epi16(s[i][0], _mm256_maddubs_epi16(lo, va));                \
          s[i][1] = _mm256_add_epi16(s[i][1], _mm256_maddubs_epi16(hi, va));                \
        }                                                                                   \
      }                                                                                     \
      QRT_QMM_UNROLL for (i = 0; i < MRK; ++i)                                              \
        QRT_QMM_UNROLL for (h = 0; h < 2; ++h)                                              \
          c[i][h] = _mm256_add_epi32(c[i][h], _mm256_madd_epi16(s[i][h], ones));            \
    }                                                                                       \
    QRT_QMM_UNROLL for (i = 0; i < MRK; ++i)                                                \
      QRT_QMM_UNROLL for (h = 0; h < 2; ++h)                                                \
        _mm256_storeu_si256((__m256i *)(void *)(acc + i * QRT_QMM_NW + h * 8), c[i][h]);    \
  }
QRT_QMM_DEFINE_KERNEL_N4(qrt_qmm_n4_4, 4)
QRT_QMM_DEFINE_KERNEL_N4(qrt_qmm_n4_2, 2)
QRT_QMM_DEFINE_KERNEL_N4(qrt_qmm_n4_1, 1)

/* The tallest int4 kernel with at most `rows` rows. */
QRT_INTERNAL qrt_qmm_kernel_fn qrt_qmm_pick_n4(int64_t rows, int64_t *h) {
  if (rows >= 4) { *h = 4; return qrt_qmm_n4_4; }
  if (rows >= 2) { *h = 2; return qrt_qmm_n4_2; }
  *h = 1;
  return qrt_qmm_n4_1;
}
#else
#define QRT_QMM_NIBBLES 0
#endif

/* Whether a GEMM's B goes to the kernels as packed nibbles, and the
 * constant the kernels add to every B code (the row sums' factor in the
 * correction): 128 for biased bytes, 8 for nibbles. */
QRT_INTERNAL int qrt_qmm_nibbles(const qrt_qgemm_args *g) {
  return QRT_QMM_NIBBLES && g->b_packed && g->b_format == QRT_WFMT_I4;
}
QRT_INTERNAL uint32_t qrt_qmm_b_bias(const qrt_qgemm_args *g) { return qrt_qmm_nibbles(g) ? 8u : 128u; }

/* The tallest kernel with at most `rows` rows and np panels (np <= NP). */
QRT_INTERNAL qrt_qmm_kernel_fn qrt_qmm_pick(int64_t rows, int np, int64_t *h) {
#if QRT_QMM_NP == 2
  if (np == 2) {
    if (rows >= QRT_QMM_MR) { *h = QRT_QMM_MR; return qrt_qmm_k_mr_2; }
    if (rows >= 4) { *h = 4; return qrt_qmm_k_4_2; }
    if (rows >= 2) { *h = 2; return qrt_qmm_k_2_2; }
    *h = 1;
    return qrt_qmm_k_1_2;
  }
#endif
  (void)np;
  if (rows >= QRT_QMM_MR) { *h = QRT_QMM_MR; return qrt_qmm_k_mr_1; }
#if QRT_QMM_MR > 4
  if (rows >= 4) { *h = 4; return qrt_qmm_k_4_1; }
#endif
#if QRT_QMM_MR > 2
  if (rows >= 2) { *h = 2; return qrt_qmm_k_2_1; }
#endif
  *h = 1;
  return qrt_qmm_k_1_1;
}

/* Packed-layout helpers. */
QRT_INTERNAL int64_t qrt_qmm_k4(int64_t K) { return (K + 3) / 4 * 4; }

QRT_API int64_t qrt_packed_b_i8_size(int64_t K, int64_t N) {
  if (K <= 0 || N <= 0) return 0;
  return (N + QRT_QMM_NR - 1) / QRT_QMM_NR * QRT_QMM_NR * qrt_qmm_k4(K);
}

/* Panel bytes for columns [n0, n0 + 16) and rows [k0, k0 + kc4) (k0, kc4
 * multiples of 4) of the logical matrix into dst (kc4 * 16 bytes). */
QRT_INTERNAL void qrt_qmm_pack_panel(int64_t K, int64_t N, const int8_t *B, int64_t rs_b,
                                     int64_t cs_b, int64_t n0, int64_t k0, int64_t kc4,
                                     unsigned char *dst) {
  int64_t g, c, r;
  if (cs_b == 1 && k0 + kc4 <= K && n0 + QRT_QMM_NR <= N) {
    /* interior panel of a row-major B: no bounds checks, rows read
     * contiguously (16 bytes each) */
#if defined(QRT_QMM_VNNI) || defined(QRT_QMM_AVX2)
    /* a 4 x 16 byte transpose per group by unpacking (compilers emit one
     * byte extract per byte for the loop below: attention packs its
     * run-time B this way on every call) */
    const __m128i flip = _mm_set1_epi8((char)0x80);
    for (g = 0; g < kc4 / 4; ++g) {
      const unsigned char *src = (const unsigned char *)B + (k0 + 4 * g) * rs_b + n0;
      const __m128i r0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)src), flip);
      const __m128i r1 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(src + rs_b)), flip);
      const __m128i r2 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(src + 2 * rs_b)), flip);
      const __m128i r3 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(src + 3 * rs_b)), flip);
      const __m128i a01l = _mm_unpacklo_epi8(r0, r1), a01h = _mm_unpackhi_epi8(r0, r1);
      const __m128i a23l = _mm_unpacklo_epi8(r2, r3), a23h = _mm_unpackhi_epi8(r2, r3);
      unsigned char *d = dst + g * 64;
      _mm_storeu_si128((__m128i *)(void *)d, _mm_unpacklo_epi16(a01l, a23l));        /* columns 0-3 */
      _mm_storeu_si128((__m128i *)(void *)(d + 16), _mm_unpackhi_epi16(a01l, a23l)); /* 4-7 */
      _mm_storeu_si128((__m128i *)(void *)(d + 32), _mm_unpacklo_epi16(a01h, a23h)); /* 8-11 */
      _mm_storeu_si128((__m128i *)(void *)(d + 48), _mm_unpackhi_epi16(a01h, a23h)); /* 12-15 */
    }
    (void)c; (void)r;
    return;
#endif
    for (g = 0; g < kc4 / 4; ++g)
      for (r = 0; r < 4; ++r) {
        const unsigned char *src = (const unsigned char *)B + (k0 + 4 * g + r) * rs_b + n0;
        for (c = 0; c < QRT_QMM_NR; ++c) dst[g * 64 + c * 4 + r] = (unsigned char)(src[c] ^ 0x80u);
      }
    return;
  }
  if (rs_b == 1 && k0 + kc4 <= K && n0 + QRT_QMM_NR <= N) {
    /* B read through a transpose (attention's K^T as K's rows, the
     * fold-transposes pass): each column's 4 k of a group are 4
     * contiguous bytes */
    for (c = 0; c < QRT_QMM_NR; ++c) {
      const unsigned char *src = (const unsigned char *)B + (n0 + c) * cs_b + k0;
      for (g = 0; g < kc4 / 4; ++g) {
        uint32_t w;
        memcpy(&w, src + 4 * g, 4);
        w ^= 0x80808080u;
        memcpy(dst + g * 64 + c * 4, &w, 4);
      }
    }
    return;
  }
  /* edge panel (columns past N, rows past K: 0x80, i.e. B = 0) or
   * strided B: one bounds decision per row, not per byte */
  {
    const int64_t cw = N - n0 < QRT_QMM_NR ? N - n0 : QRT_QMM_NR;
    memset(dst, 0x80, (size_t)(kc4 * QRT_QMM_NR));
    for (g = 0; g < kc4 / 4; ++g)
      for (r = 0; r < 4; ++r) {
        const int64_t k = k0 + 4 * g + r;
        unsigned char *d = dst + g * 64 + r;
        if (k < K)
          for (c = 0; c < cw; ++c)
            d[c * 4] = (unsigned char)((unsigned char)B[k * rs_b + (n0 + c) * cs_b] ^ 0x80u);
      }
  }
}

QRT_API void qrt_pack_b_strided_i8(int64_t K, int64_t N, const int8_t *B, int64_t rs_b,
                                   int64_t cs_b, int8_t *packed) {
  const int64_t k4 = qrt_qmm_k4(K);
  int64_t jc;
  if (K <= 0 || N <= 0) return;
  for (jc = 0; jc < N; jc += QRT_QMM_NR)
    qrt_qmm_pack_panel(K, N, B, rs_b, cs_b, jc, 0, k4,
                       (unsigned char *)packed + (jc / QRT_QMM_NR) * k4 * QRT_QMM_NR);
}

QRT_API void qrt_pack_b_group_i8(int64_t K, int64_t N, const int8_t *const rows[4], int64_t cs_b, int64_t q,
                                 int8_t *packed) {
  const int64_t k4 = qrt_qmm_k4(K), n_rows = K - 4 * q < 4 ? K - 4 * q : 4;
  int64_t jc, r, c;
  for (jc = 0; jc < N; jc += QRT_QMM_NR) {
    const int64_t cols = N - jc < QRT_QMM_NR ? N - jc : QRT_QMM_NR;
    int8_t stage[4 * QRT_QMM_NR];
    for (r = 0; r < n_rows; ++r)
      for (c = 0; c < cols; ++c) stage[r * QRT_QMM_NR + c] = rows[r][(jc + c) * cs_b];
    qrt_qmm_pack_panel(n_rows, cols, stage, QRT_QMM_NR, 1, 0, 0, 4,
                       (unsigned char *)packed + (jc / QRT_QMM_NR) * k4 * QRT_QMM_NR + q * 4 * QRT_QMM_NR);
  }
}

QRT_API void qrt_pack_b_i8(int64_t K, int64_t N, const int8_t *B, int8_t *packed) {
  qrt_pack_b_strided_i8(K, N, B, N, 1, packed);
}

QRT_API int64_t qrt_packed_b_i4_size(int64_t K, int64_t N) { return qrt_packed_b_i8_size(K, N) / 2; }

/* Each 64-byte group of the int8 layout (bytes v = code ^ 0x80) becomes 32
 * bytes: nibble = code + 8 = v - 120; byte i = element i | element i+32 << 4. */
QRT_API void qrt_pack_b_strided_i4(int64_t K, int64_t N, const int8_t *B, int64_t rs_b,
                                   int64_t cs_b, int8_t *packed) {
  const int64_t n8 = qrt_packed_b_i8_size(K, N);
  unsigned char grp[64];
  unsigned char *dst = (unsigned char *)packed;
  int64_t jc, g, i;
  if (n8 <= 0) return;
  for (jc = 0; jc < N; jc += QRT_QMM_NR)
    for (g = 0; g < qrt_qmm_k4(K) / 4; ++g) {
      qrt_qmm_pack_panel(K, N, B, rs_b, cs_b, jc, 4 * g, 4, grp);
      for (i = 0; i < 32; ++i)
        *dst++ = (unsigned char)((unsigned)(grp[i] - 120u) & 15u) |
                 (unsigned char)(((unsigned)(grp[i + 32] - 120u) & 15u) << 4);
    }
}

/* Biased bytes (code + 128) of kc4 rows of one int4 panel, from its packed
 * nibbles (kc4 * 8 bytes at src). */
QRT_INTERNAL void qrt_qmm_unpack_i4(const unsigned char *src, int64_t kc4, unsigned char *dst) {
  int64_t g, i;
  for (g = 0; g < kc4 / 4; ++g)
    for (i = 0; i < 32; ++i) {
      const unsigned v = src[g * 32 + i];
      dst[g * 64 + i] = (unsigned char)((v & 15u) + 120u);
      dst[g * 64 + i + 32] = (unsigned char)((v >> 4) + 120u);
    }
}

QRT_API const uint8_t *qrt_packed_b_group(const int8_t *B, int32_t b_format, int64_t K,
                                          int64_t panel, int64_t g4, uint8_t *tmp) {
  const int64_t k4 = qrt_qmm_k4(K);
  if (b_format != QRT_WFMT_I4) return (const uint8_t *)B + panel * k4 * QRT_QMM_NR + g4 * 64;
  qrt_qmm_unpack_i4((const unsigned char *)B + panel * k4 * 8 + g4 * 32, 4, tmp);
  return tmp;
}

/* Code of B(k, n) in any of the layouts (slow; zero-point corrections). */
QRT_INTERNAL int32_t qrt_qmm_b_code(const qrt_qgemm_args *g, int64_t k, int64_t n) {
  const int64_t k4 = qrt_qmm_k4(g->K);
  const int64_t at = (n / QRT_QMM_NR) * k4 * QRT_QMM_NR + (k / 4) * 64 + (n % QRT_QMM_NR) * 4 + k % 4;
  const unsigned char *pb = (const unsigned char *)g->B;
  if (!g->b_packed) return g->B[k * g->rs_b + n * g->cs_b];
  if (g->b_format != QRT_WFMT_I4) return (int32_t)pb[at] - 128;
  {
    const int64_t grp = at / 64, e = at % 64;
    const unsigned v = pb[grp * 32 + e % 32];
    return (int32_t)(e < 32 ? v & 15u : v >> 4) - 8;
  }
}

QRT_API void qrt_colsum_i8(int64_t K, int64_t N, const int8_t *B, int64_t rs_b, int64_t cs_b,
                           int32_t *colsum) {
  int64_t k, n;
  for (n = 0; n < N; ++n) {
    uint32_t s = 0;
    for (k = 0; k < K; ++k) s += (uint32_t)(int32_t)B[k * rs_b + n * cs_b];
    colsum[n] = (int32_t)s;
  }
}

/* Column sums of the tile columns [jc, jc + nw) (mod 2^32). */
QRT_INTERNAL void qrt_qmm_tile_colsum(const qrt_qgemm_args *g, int64_t jc, int64_t nw,
                                      uint32_t *cs) {
  int64_t j, k;
  if (g->colsum) {
    for (j = 0; j < nw; ++j) cs[j] = (uint32_t)g->colsum[jc + j];
    return;
  }
  for (j = 0; j < QRT_QMM_NW; ++j) cs[j] = 0; /* all: panels add 16 at a time */
  /* Only used multiplied by a_zero_point: with 0 (the compiler folds the
   * zero point into the bias) there is nothing to compute. */
  if (g->a_zero_point == 0) return;
  /* run-time B (attention): summed from its panels as they are packed
   * (qrt_qmm_panel_colsum) */
  if (!g->b_packed) return;
  for (j = 0; j < nw; ++j)
    for (k = 0; k < g->K; ++k) cs[j] += (uint32_t)qrt_qmm_b_code(g, k, jc + j);
}

/* Adds each column's sum of codes over kc4 rows of a packed panel (bytes
 * code + 128; padding rows hold 128) to cs[0..15]. */
QRT_INTERNAL void qrt_qmm_panel_colsum(const unsigned char *panel, int64_t kc4, uint32_t *cs) {
  uint32_t t[64] = {0}; /* byte e of every group: column e / 4 (vectorizes) */
  int64_t gi;
  int e, c;
  for (gi = 0; gi < kc4 / 4; ++gi)
    for (e = 0; e < 64; ++e) t[e] += panel[gi * 64 + e];
  for (c = 0; c < QRT_QMM_NR; ++c)
    cs[c] += t[4 * c] + t[4 * c + 1] + t[4 * c + 2] + t[4 * c + 3] - 128u * (uint32_t)kc4;
}

/* The requantization constants of one row set (see row_set in qrt.h). */
typedef struct qrt_qmm_rq {
  const int32_t *bias, *mult; /* [N]; bias may be NULL */
  const int8_t *shift;
  int32_t zp, lo, hi;
} qrt_qmm_rq;

#if defined(QRT_QMM_VNNI)
/* The int8 epilogue's common case, 16 columns at a time in 32-bit lanes;
 * returns how many leading columns it finished (a multiple of 16).  The
 * same value as qrt_requant, which computes t = acc + bias in 64 bits,
 * round(|t| M0 / 2^s) half away from zero, saturated at 2^33, then
 * zp + sign, clamped.  Here:
 *  - |acc| < 2^30 without looking: acc is the exact sum of K products
 *    (a - za) b with |a - za| <= 255 and |b| <= 128 (za in int8 range,
 *    ungrouped), so |acc| <= K 32640 < 2^30 for K <= 32896; with
 *    |bias| < 2^30 (checked per column), t fits in an int32, and so
 *    t = acc + (bias - za colsum) - 128 rowsum in any order mod 2^32;
 *  - s >= 32 (checked per column: multipliers below 1/2, as requantization
 *    has) makes the magnitude at most 2^30, so no 2^33 saturation is
 *    reached and, with |zp| < 2^30, sign, zero point and clamp are exact
 *    in int32;
 *  - the rounding needs only the high word H of the 64-bit |t| M0: with
 *    s = 32 + e, e >= 1, (|t| M0 + 2^(s-1)) >> s = (H + 2^(e-1)) >> e
 *    (the low word and 2^(e-1) 2^32 add no carry past the 2^32 boundary
 *    that the shift keeps), and s = 32 is the same rounding as M0' = 2 M0
 *    (< 2^32, unsigned) with s' = 33.  H is one unsigned 32x32 -> 64-bit
 *    product per lane pair (vpmuludq on the even lanes, then the odd).
 * Columns that miss a condition go through the 64-bit code below. */
QRT_INTERNAL int64_t qrt_qmm_epilogue_i8_x16(const qrt_qgemm_args *g, const qrt_qmm_rq *rq, int64_t jc, int64_t i0,
                                             int64_t i1, int64_t nw, const int32_t *accbuf,
                                             const uint32_t *rowsum, const uint32_t *cs, int8_t *dst,
                                             int64_t drs, int64_t dcs) {
  const int32_t za = g->a_zero_point, zp = rq->zp;
  const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1), s32 = _mm512_set1_epi32(32);
  const __m512i zpv = _mm512_set1_epi32(zp);
  const __m512i lo = _mm512_set1_epi32(rq->lo), hi = _mm512_set1_epi32(rq->hi);
  const int saturating = rq->lo == -128 && rq->hi == 127; /* vpmovsdb clamps */
  /* locals: stores through int8_t * may alias *g and *rq, which the
   * compiler would then read again after every store */
  const int32_t *const bias_n = rq->bias, *const mult_n = rq->mult;
  const int8_t *const shift_n = rq->shift;
  const int has_rows = QRT_QMM_BIASED && rowsum;
  int64_t i, j, q;
  if (g->K > 32896 || za < -128 || za > 127 || (g->gmult && g->group > 0) || zp <= -(1 << 30) ||
      zp >= (1 << 30))
    return 0;
  for (j = 0; j + 16 <= nw; j += 16) {
    const int64_t n = jc + j;
    __m512i m0, sh, cb, m0o, e, rnd;
    __mmask16 s_is_32;
    for (q = 0; q < 16; ++q) {
      const int32_t b = bias_n ? bias_n[n + q] : 0;
      if (shift_n[n + q] < 32 || b <= -(1 << 30) || b >= (1 << 30)) return j;
    }
    m0 = _mm512_max_epi32(zero, _mm512_loadu_si512((const void *)(mult_n + n)));
    sh = _mm512_min_epi32(_mm512_set1_epi32(62), _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(shift_n + n))));
    s_is_32 = _mm512_cmpeq_epi32_mask(sh, s32);
    m0 = _mm512_mask_slli_epi32(m0, s_is_32, m0, 1);               /* M0' = 2 M0 */
    e = _mm512_mask_mov_epi32(_mm512_sub_epi32(sh, s32), s_is_32, one); /* s' - 32, >= 1 */
    rnd = _mm512_sllv_epi32(one, _mm512_sub_epi32(e, one));
    cb = _mm512_sub_epi32(bias_n ? _mm512_loadu_si512((const void *)(bias_n + n)) : zero,
                          _mm512_mullo_epi32(_mm512_set1_epi32(za), _mm512_loadu_si512((const void *)(cs + j))));
    m0o = _mm512_srli_epi64(m0, 32); /* the odd lanes' multipliers, in the low dwords */
    for (i = i0; i < i1; ++i) {
      __m512i t = _mm512_add_epi32(_mm512_loadu_si512((const void *)(accbuf + i * QRT_QMM_NW + j)), cb);
      __m512i v;
      __m128i y;
      if (has_rows) t = _mm512_sub_epi32(t, _mm512_set1_epi32((int32_t)rowsum[i]));
      v = qrt_requant_high_x16(t, m0, m0o, rnd, e, zpv);
      if (saturating) {
        y = _mm512_cvtsepi32_epi8(v);
      } else {
        v = _mm512_min_epi32(hi, _mm512_max_epi32(lo, v));
        y = _mm512_cvtepi32_epi8(v);
      }
      if (dcs == 1) {
        _mm_storeu_si128((__m128i *)(void *)(dst + i * drs + j), y);
      } else {
        int8_t tmp[16];
        _mm_storeu_si128((__m128i *)(void *)tmp, y);
        for (q = 0; q < 16; ++q) dst[i * drs + (j + q) * dcs] = tmp[q];
      }
    }
  }
  return j;
}
#elif defined(QRT_QMM_AVX2)
/* qrt_qmm_epilogue_i8_x16 in AVX2's 8 lanes: the same conditions (a
 * column block that misses one returns to the 64-bit code below), the
 * same argument and operations, so the same bits.  AVX2 has no mask
 * registers: the signs and the s = 32 columns are all-ones lanes that
 * blendv selects with. */
QRT_INTERNAL int64_t qrt_qmm_epilogue_i8_x8(const qrt_qgemm_args *g, const qrt_qmm_rq *rq, int64_t jc, int64_t i0,
                                            int64_t i1, int64_t nw, const int32_t *accbuf,
                                            const uint32_t *rowsum, const uint32_t *cs, int8_t *dst,
                                            int64_t drs, int64_t dcs) {
  const int32_t za = g->a_zero_point, zp = rq->zp;
  const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1), s32 = _mm256_set1_epi32(32);
  const __m256i zpv = _mm256_set1_epi32(zp);
  const __m256i lo = _mm256_set1_epi32(rq->lo), hi = _mm256_set1_epi32(rq->hi);
  const int saturating = rq->lo == -128 && rq->hi == 127; /* the two packs clamp */
  const int32_t *const bias_n = rq->bias, *const mult_n = rq->mult;
  const int8_t *const shift_n = rq->shift;
  const int has_rows = QRT_QMM_BIASED && rowsum;
  int64_t i, j, q;
  if (g->K > 32896 || za < -128 || za > 127 || (g->gmult && g->group > 0) || zp <= -(1 << 30) ||
      zp >= (1 << 30))
    return 0;
  for (j = 0; j + 8 <= nw; j += 8) {
    const int64_t n = jc + j;
    __m256i m0, sh, cb, m0o, e, rnd, s_is_32;
    for (q = 0; q < 8; ++q) {
      const int32_t b = bias_n ? bias_n[n + q] : 0;
      if (shift_n[n + q] < 32 || b <= -(1 << 30) || b >= (1 << 30)) return j;
    }
    m0 = _mm256_max_epi32(zero, _mm256_loadu_si256((const __m256i *)(const void *)(mult_n + n)));
    sh = _mm256_min_epi32(_mm256_set1_epi32(62),
                          _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(shift_n + n))));
    s_is_32 = _mm256_cmpeq_epi32(sh, s32);
    m0 = _mm256_blendv_epi8(m0, _mm256_slli_epi32(m0, 1), s_is_32);         /* M0' = 2 M0 */
    e = _mm256_blendv_epi8(_mm256_sub_epi32(sh, s32), one, s_is_32);      /* s' - 32, >= 1 */
    rnd = _mm256_sllv_epi32(one, _mm256_sub_epi32(e, one));
    cb = _mm256_sub_epi32(bias_n ? _mm256_loadu_si256((const __m256i *)(const void *)(bias_n + n)) : zero,
                          _mm256_mullo_epi32(_mm256_set1_epi32(za),
                                             _mm256_loadu_si256((const __m256i *)(const void *)(cs + j))));
    m0o = _mm256_srli_epi64(m0, 32); /* the odd lanes' multipliers, in the low dwords */
    for (i = i0; i < i1; ++i) {
      __m256i t = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(accbuf + i * QRT_QMM_NW + j)), cb);
      __m256i neg, mag, pe, po, r, v;
      __m128i y;
      if (has_rows) t = _mm256_sub_epi32(t, _mm256_set1_epi32((int32_t)rowsum[i]));
      neg = _mm256_cmpgt_epi32(zero, t);
      mag = _mm256_abs_epi32(t);
      pe = _mm256_mul_epu32(mag, m0);
      po = _mm256_mul_epu32(_mm256_srli_epi64(mag, 32), m0o);
      r = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA); /* the high words H */
      r = _mm256_srlv_epi32(_mm256_add_epi32(r, rnd), e);
      v = _mm256_blendv_epi8(_mm256_add_epi32(zpv, r), _mm256_sub_epi32(zpv, r), neg);
      if (!saturating) v = _mm256_min_epi32(hi, _mm256_max_epi32(lo, v));
      y = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
      y = _mm_packs_epi16(y, y);
      if (dcs == 1) {
        _mm_storel_epi64((__m128i *)(void *)(dst + i * drs + j), y);
      } else {
        int8_t tmp[16];
        _mm_storeu_si128((__m128i *)(void *)tmp, y);
        for (q = 0; q < 8; ++q) dst[i * drs + (j + q) * dcs] = tmp[q];
      }
    }
  }
  return j;
}
#endif

/* The int8 epilogue of rows [i0, i1) x columns [0, nw) of a tile with
 * constants q: correction, bias, qrt_requant per column; code (i, j) to
 * dst[i * drs + j * dcs]. */
QRT_INTERNAL void qrt_qmm_requant_rows(const qrt_qgemm_args *g, const qrt_qmm_rq *q, int64_t jc, int64_t i0,
                                       int64_t i1, int64_t nw, const int32_t *accbuf, const uint32_t *rowsum,
                                       const uint32_t *cs, int8_t *dst, int64_t drs, int64_t dcs) {
  const uint32_t za = (uint32_t)g->a_zero_point;
  int64_t i, j, j0 = 0;
#if defined(QRT_QMM_VNNI)
  j0 = qrt_qmm_epilogue_i8_x16(g, q, jc, i0, i1, nw, accbuf, rowsum, cs, dst, drs, dcs);
#elif defined(QRT_QMM_AVX2)
  j0 = qrt_qmm_epilogue_i8_x8(g, q, jc, i0, i1, nw, accbuf, rowsum, cs, dst, drs, dcs);
#endif
#if defined(QRT_QMM_VNNI) && defined(__AVX512DQ__)
  /* 8 columns at a time in 64-bit lanes, the same integer operations as
   * qrt_requant (so the same bits); columns outside, rows inside, so each
   * column's multiplier, shift, rounding constant, bias and zero-point
   * correction are loaded once per tile, not once per row. */
  {
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi64(1);
    const __m512i sat = _mm512_set1_epi64((int64_t)1 << 33), s62 = _mm512_set1_epi64(62);
    const __m512i zo = _mm512_set1_epi64(q->zp);
    const __m512i lo = _mm512_set1_epi64(q->lo), hi = _mm512_set1_epi64(q->hi);
    const __m256i zav = _mm256_set1_epi32((int32_t)za);
    for (j = j0; j + 8 <= nw; j += 8) {
      const int64_t n = jc + j;
      const __m256i zcs =
          _mm256_mullo_epi32(zav, _mm256_loadu_si256((const __m256i *)(const void *)(cs + j)));
      const __m512i b64 =
          q->bias ? _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(const void *)(q->bias + n)))
                  : zero;
      const __m512i m0 = _mm512_max_epi64(
          zero, _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(const void *)(q->mult + n))));
      const __m512i sh = _mm512_min_epi64(
          s62, _mm512_max_epi64(zero, _mm512_cvtepi8_epi64(
                                          _mm_loadl_epi64((const __m128i *)(const void *)(q->shift + n)))));
      const __m512i rnd = _mm512_srli_epi64(_mm512_sllv_epi64(one, sh), 1);
      for (i = i0; i < i1; ++i) {
        const uint32_t rs = QRT_QMM_BIASED && rowsum ? rowsum[i] : 0u;
        const __m256i a32 = _mm256_sub_epi32(
            _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(accbuf + i * QRT_QMM_NW + j)),
                             _mm256_set1_epi32((int32_t)rs)),
            zcs);
        const __m512i t = _mm512_add_epi64(_mm512_cvtepi32_epi64(a32), b64);
        const __mmask8 neg = _mm512_cmplt_epi64_mask(t, zero);
        __m512i mag = _mm512_mullo_epi64(_mm512_abs_epi64(t), m0), v;
        mag = _mm512_min_epu64(_mm512_srlv_epi64(_mm512_add_epi64(mag, rnd), sh), sat);
        v = _mm512_mask_sub_epi64(mag, neg, zero, mag);
        v = _mm512_min_epi64(hi, _mm512_max_epi64(lo, _mm512_add_epi64(v, zo)));
        if (dcs == 1) {
          _mm_storel_epi64((__m128i *)(void *)(dst + i * drs + j), _mm512_cvtepi64_epi8(v));
        } else {
          int8_t tmp[16];
          int64_t e;
          _mm_storeu_si128((__m128i *)(void *)tmp, _mm512_cvtepi64_epi8(v));
          for (e = 0; e < 8; ++e) dst[i * drs + (j + e) * dcs] = tmp[e];
        }
      }
    }
    j0 = j;
  }
#elif defined(QRT_QMM_AVX2)
  /* 4 columns at a time in AVX2's 64-bit lanes, qrt_requant's integer
   * operations (so the same bits). AVX2 has no 64-bit multiply: |t| is
   * at most 2^32 (an int32 sum plus an int32 bias), so the product is
   * the low word's 32 x 32 product plus the high bit's (0 or 1) times m0
   * shifted up; both are exact and their sum is below 2^63. Signed
   * compares serve as qrt_requant's unsigned ones: after the rounding
   * shift every magnitude is below 2^63. */
  {
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi64x(1);
    const __m256i sat = _mm256_set1_epi64x((int64_t)1 << 33);
    const __m256i zo = _mm256_set1_epi64x(q->zp);
    const __m256i lo = _mm256_set1_epi64x(q->lo), hi = _mm256_set1_epi64x(q->hi);
    const __m256i low_dwords = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    for (j = j0; j + 4 <= nw; j += 4) {
      const int64_t n = jc + j;
      int32_t m4[4], sh4[4];
      int64_t e;
      for (e = 0; e < 4; ++e) { /* qrt_requant's clamps of m0 and shift */
        m4[e] = q->mult[n + e] < 0 ? 0 : q->mult[n + e];
        sh4[e] = q->shift[n + e] < 0 ? 0 : (q->shift[n + e] > 62 ? 62 : q->shift[n + e]);
      }
      const __m256i m0 = _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(const void *)m4));
      const __m256i sh = _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(const void *)sh4));
      const __m256i rnd = _mm256_srli_epi64(_mm256_sllv_epi64(one, sh), 1);
      const __m128i zcs = _mm_mullo_epi32(_mm_set1_epi32((int32_t)za), _mm_loadu_si128((const __m128i *)(const void *)(cs + j)));
      const __m256i b64 =
          q->bias ? _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(const void *)(q->bias + n))) : zero;
      for (i = i0; i < i1; ++i) {
        const uint32_t rs = QRT_QMM_BIASED && rowsum ? rowsum[i] : 0u;
        const __m128i a32 = _mm_sub_epi32(
            _mm_sub_epi32(_mm_loadu_si128((const __m128i *)(const void *)(accbuf + i * QRT_QMM_NW + j)),
                          _mm_set1_epi32((int32_t)rs)),
            zcs);
        const __m256i t = _mm256_add_epi64(_mm256_cvtepi32_epi64(a32), b64);
        const __m256i sgn = _mm256_cmpgt_epi64(zero, t); /* all ones where t < 0 */
        const __m256i mag = _mm256_sub_epi64(_mm256_xor_si256(t, sgn), sgn);
        __m256i p = _mm256_add_epi64(_mm256_mul_epu32(mag, m0),
                                     _mm256_slli_epi64(_mm256_mul_epu32(_mm256_srli_epi64(mag, 32), m0), 32));
        p = _mm256_srlv_epi64(_mm256_add_epi64(p, rnd), sh);
        p = _mm256_blendv_epi8(p, sat, _mm256_cmpgt_epi64(p, sat));
        __m256i v = _mm256_add_epi64(_mm256_sub_epi64(_mm256_xor_si256(p, sgn), sgn), zo);
        v = _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v));
        v = _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
        /* the four low words (int8 values) to bytes */
        const __m128i w = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(v, low_dwords));
        const __m128i b = _mm_packs_epi16(_mm_packs_epi32(w, w), _mm_setzero_si128());
        if (dcs == 1) {
          const int32_t four = _mm_cvtsi128_si32(b);
          memcpy(dst + i * drs + j, &four, 4);
        } else {
          int8_t tmp[16];
          _mm_storeu_si128((__m128i *)(void *)tmp, b);
          for (e = 0; e < 4; ++e) dst[i * drs + (j + e) * dcs] = tmp[e];
        }
      }
    }
    j0 = j;
  }
#endif
  for (i = i0; i < i1 && j0 < nw; ++i) {
    const int32_t *ar = accbuf + i * QRT_QMM_NW;
    const uint32_t rs = QRT_QMM_BIASED && rowsum ? rowsum[i] : 0u;
    for (j = j0; j < nw; ++j) {
      const int64_t n = jc + j;
      const int32_t acc = (int32_t)((uint32_t)ar[j] - rs - za * cs[j]);
      const int64_t t = (int64_t)acc + (q->bias ? (int64_t)q->bias[n] : 0);
      dst[i * drs + j * dcs] = (int8_t)qrt_requant(t, q->mult[n], q->shift[n], q->zp, q->lo, q->hi);
    }
  }
}

/* Rows [i0, i1) x columns [0, nw) of a tile with constants q, as int8
 * codes to C, or (deq_scale: s the rows' set) requantized into a stack
 * tile and dequantized from there into Cf as qrt_dequantize_i8_f32 does
 * (the int32 difference for int8 zero points, exact; vector loops). */
QRT_INTERNAL void qrt_qmm_finish_rows(const qrt_qgemm_args *g, const qrt_qmm_rq *q, int64_t s, int64_t ic,
                                      int64_t jc, int64_t i0, int64_t i1, int64_t nw, const int32_t *accbuf,
                                      const uint32_t *rowsum, const uint32_t *cs) {
  int8_t codes[QRT_QMM_MC * QRT_QMM_NW];
  int64_t i, j;
  if (!g->deq_scale && g->rs_c == 1 && g->cs_c != 1) {
    /* C transposed (a convolution's [cout, positions] output): the tile's
     * codes first, then each column's rows as one run of bytes, instead
     * of a byte store per code scattered over 16 columns */
    qrt_qmm_requant_rows(g, q, jc, i0, i1, nw, accbuf, rowsum, cs, codes, QRT_QMM_NW, 1);
    for (j = 0; j + 16 <= nw; j += 16) /* 16 x 16 blocks */
      for (i = i0; i + 16 <= i1; i += 16)
        qrt_transpose16_u8(g->C + ic + i + (jc + j) * g->cs_c, g->cs_c, codes + i * QRT_QMM_NW + j, QRT_QMM_NW);
    for (j = 0; j < nw; ++j) { /* the rest: rows past the last block, columns past the last 16 */
      int8_t *col = g->C + ic + (jc + j) * g->cs_c;
      i = j < nw / 16 * 16 ? i0 + (i1 - i0) / 16 * 16 : i0;
      for (; i + 16 <= i1; i += 16) qrt_gather16_u8(col + i, codes + i * QRT_QMM_NW + j, QRT_QMM_NW);
      for (; i < i1; ++i) col[i] = codes[i * QRT_QMM_NW + j];
    }
    return;
  }
  if (!g->deq_scale) {
    qrt_qmm_requant_rows(g, q, jc, i0, i1, nw, accbuf, rowsum, cs, g->C + ic * g->rs_c + jc * g->cs_c, g->rs_c,
                         g->cs_c);
    return;
  }
  qrt_qmm_requant_rows(g, q, jc, i0, i1, nw, accbuf, rowsum, cs, codes, QRT_QMM_NW, 1);
  for (i = i0; i < i1; ++i) {
    const int8_t *x = codes + i * QRT_QMM_NW;
    const float scale = g->deq_scale[s];
    float *y = g->Cf + (ic + i) * g->rs_c + jc * g->cs_c;
    if (g->cs_c == 1 && q->zp >= -128 && q->zp <= 127) {
      const int32_t zp = q->zp;
      if (nw == QRT_QMM_NW) /* whole tiles: a fixed count, straight vector code */
        for (j = 0; j < QRT_QMM_NW; ++j) y[j] = scale * (float)((int32_t)x[j] - zp);
      else
        for (j = 0; j < nw; ++j) y[j] = scale * (float)((int32_t)x[j] - zp);
    } else {
      for (j = 0; j < nw; ++j) y[j * g->cs_c] = scale * (float)((int64_t)x[j] - q->zp);
    }
  }
}

/* The end of the run of tile rows from i0 (< mc) that share row i0's row
 * set: both epilogues take one set's constants per run. */
QRT_INTERNAL int64_t qrt_qmm_set_run_end(const qrt_qgemm_args *g, int64_t ic, int64_t i0, int64_t mc) {
  const uint8_t s = g->row_set[ic + i0];
  int64_t i1 = i0 + 1;
  while (i1 < mc && g->row_set[ic + i1] == s) ++i1;
  return i1;
}

/* The int8 epilogue of rows [0, mc) x columns [0, nw) of a tile: one set
 * of constants, or (row_set) each run of rows of one set with its own. */
QRT_INTERNAL void qrt_qmm_epilogue_i8(const qrt_qgemm_args *g, int64_t ic, int64_t jc, int64_t mc,
                                      int64_t nw, const int32_t *accbuf, const uint32_t *rowsum,
                                      const uint32_t *cs) {
  qrt_qmm_rq q;
  int64_t i0, i1;
  if (!g->row_set) {
    q.bias = g->bias;
    q.mult = g->mult;
    q.shift = g->shift;
    q.zp = g->out_zero_point;
    q.lo = g->out_min;
    q.hi = g->out_max;
    qrt_qmm_finish_rows(g, &q, 0, ic, jc, 0, mc, nw, accbuf, rowsum, cs);
    return;
  }
  for (i0 = 0; i0 < mc; i0 = i1) {
    const uint8_t s = g->row_set[ic + i0];
    const int64_t at = (int64_t)s * g->set_stride;
    i1 = qrt_qmm_set_run_end(g, ic, i0, mc);
    q.bias = g->bias ? g->bias + at : NULL;
    q.mult = g->mult + at;
    q.shift = g->shift + at;
    q.zp = g->set_zero_point[s];
    q.lo = g->set_min[s];
    q.hi = g->set_max[s];
    qrt_qmm_finish_rows(g, &q, s, ic, jc, i0, i1, nw, accbuf, rowsum, cs);
  }
}

/* One element of the float epilogue: scale * (float)(acc - 128 rowsum -
 * za colsum) [* row scale] [+ bias] [clamped] [+ residual], in that order.  The
 * steps are selects on loop-invariant flags, not branches: the loops
 * below vectorize straight (both sides computed, one kept, so an absent
 * step changes no bit, not even a -0.0). */
static QRT_MAYBE_UNUSED QRT_ALWAYS_INLINE inline float qrt_qmm_float_one(int32_t acc, uint32_t rs, uint32_t zc,
                                                                           float sc, int has_rs, float rsc,
                                                                           int has_b, float b, float lo, float hi,
                                                                           int has_r, float r) {
  float t = sc * (float)(int32_t)((uint32_t)acc - rs - zc);
  t = has_rs ? t * rsc : t;
  t = has_b ? t + b : t;
  t = t < lo ? lo : t; /* lo = -inf, hi = +inf without a clamp */
  t = t > hi ? hi : t;
  t = has_r ? t + r : t;
  return t;
}

#if defined(QRT_QMM_VNNI)
/* qrt_qmm_float_rows for contiguous C (cs_c == 1), 16 columns at a time
 * (a masked last group): each group's column constants live in registers
 * while its rows stream through, and the optional steps are branches on
 * flags fixed for the call (predicted, unlike the per-element selects the
 * compiler made of the portable loop).  The same operations in the same
 * order as qrt_qmm_float_one: max(lo, t) and min(hi, t) keep t on ties
 * (t = -0.0 against lo = +0.0), as t < lo ? lo : t does. */
QRT_INTERNAL void qrt_qmm_float_rows_x16(const qrt_qgemm_args *g, const float *scale_f, const float *bias_f,
                                         float lo, float hi, int64_t ic, int64_t jc, int64_t i0, int64_t i1,
                                         int64_t nw, const int32_t *accbuf, const uint32_t *rowsum,
                                         const uint32_t *cs) {
  const __m512i zav = _mm512_set1_epi32(g->a_zero_point);
  const __m512 lov = _mm512_set1_ps(lo), hiv = _mm512_set1_ps(hi);
  const float *const row_scale = g->row_scale, *const res_f = g->res_f;
  float *const Cf = g->Cf;
  const int64_t rs_c = g->rs_c;
  const int has_rows = QRT_QMM_BIASED && rowsum;
  int64_t i, j;
  for (j = 0; j < nw; j += 16) {
    const __mmask16 m = nw - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (nw - j)) - 1u);
    const __m512i zc = _mm512_mullo_epi32(zav, _mm512_maskz_loadu_epi32(m, cs + j));
    const __m512 sc = _mm512_maskz_loadu_ps(m, scale_f + jc + j);
    const __m512 bs = bias_f ? _mm512_maskz_loadu_ps(m, bias_f + jc + j) : _mm512_setzero_ps();
    for (i = i0; i < i1; ++i) {
      const int64_t at = (ic + i) * rs_c + jc + j;
      __m512i a = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m, accbuf + i * QRT_QMM_NW + j), zc);
      __m512 t;
      if (has_rows) a = _mm512_sub_epi32(a, _mm512_set1_epi32((int32_t)rowsum[i]));
      t = _mm512_mul_ps(sc, _mm512_cvtepi32_ps(a));
      if (row_scale) t = _mm512_mul_ps(t, _mm512_set1_ps(row_scale[ic + i]));
      if (bias_f) t = _mm512_add_ps(t, bs);
      t = _mm512_min_ps(hiv, _mm512_max_ps(lov, t));
      if (res_f) t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(m, res_f + at));
      _mm512_mask_storeu_ps(Cf + at, m, t);
    }
  }
}
#elif defined(QRT_QMM_AVX2)
/* qrt_qmm_float_rows_x16 in AVX2's 8 lanes, for the whole groups of 8
 * columns (returns how many columns it finished; the portable loop takes
 * the rest: AVX2's masked stores are slow on some cores).  The same
 * operations in the same order as qrt_qmm_float_one. */
QRT_INTERNAL int64_t qrt_qmm_float_rows_x8(const qrt_qgemm_args *g, const float *scale_f, const float *bias_f,
                                           float lo, float hi, int64_t ic, int64_t jc, int64_t i0, int64_t i1,
                                           int64_t nw, const int32_t *accbuf, const uint32_t *rowsum,
                                           const uint32_t *cs) {
  const __m256i zav = _mm256_set1_epi32(g->a_zero_point);
  const __m256 lov = _mm256_set1_ps(lo), hiv = _mm256_set1_ps(hi);
  const float *const row_scale = g->row_scale, *const res_f = g->res_f;
  float *const Cf = g->Cf;
  const int64_t rs_c = g->rs_c;
  const int has_rows = QRT_QMM_BIASED && rowsum;
  int64_t i, j;
  for (j = 0; j + 8 <= nw; j += 8) {
    const __m256i zc = _mm256_mullo_epi32(zav, _mm256_loadu_si256((const __m256i *)(const void *)(cs + j)));
    const __m256 sc = _mm256_loadu_ps(scale_f + jc + j);
    const __m256 bs = bias_f ? _mm256_loadu_ps(bias_f + jc + j) : _mm256_setzero_ps();
    for (i = i0; i < i1; ++i) {
      const int64_t at = (ic + i) * rs_c + jc + j;
      __m256i a = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(accbuf + i * QRT_QMM_NW + j)), zc);
      __m256 t;
      if (has_rows) a = _mm256_sub_epi32(a, _mm256_set1_epi32((int32_t)rowsum[i]));
      t = _mm256_mul_ps(sc, _mm256_cvtepi32_ps(a));
      if (row_scale) t = _mm256_mul_ps(t, _mm256_set1_ps(row_scale[ic + i]));
      if (bias_f) t = _mm256_add_ps(t, bs);
      t = _mm256_min_ps(hiv, _mm256_max_ps(lov, t));
      if (res_f) t = _mm256_add_ps(t, _mm256_loadu_ps(res_f + at));
      _mm256_storeu_ps(Cf + at, t);
    }
  }
  return j;
}
#endif

/* The float epilogue (Cf) of rows [i0, i1) x columns [0, nw) of a tile,
 * with column constants scale_f, bias_f (NULL: none) and clamp [lo, hi]:
 * the tile's column constants gathered once, then each row, whole tiles of
 * contiguous rows as fixed-count vector code.  A row goes through v (the
 * residual may be Cf itself: every element is read before any is
 * written, and v cannot alias either). */
QRT_INTERNAL void qrt_qmm_float_rows(const qrt_qgemm_args *g, const float *scale_f, const float *bias_f, float lo,
                                     float hi, int64_t ic, int64_t jc, int64_t i0, int64_t i1, int64_t nw,
                                     const int32_t *accbuf, const uint32_t *rowsum, const uint32_t *cs) {
  static const float zeros[QRT_QMM_NW] = {0.0f};
  const uint32_t za = (uint32_t)g->a_zero_point;
  const int has_rs = g->row_scale != NULL, has_b = bias_f != NULL, has_r = g->res_f != NULL;
  const int64_t ccs = g->cs_c;
  uint32_t zc[QRT_QMM_NW];
  float sc[QRT_QMM_NW], bs[QRT_QMM_NW], v[QRT_QMM_NW];
  int64_t i, j, j0 = 0;
#if defined(QRT_QMM_VNNI)
  if (ccs == 1) {
    qrt_qmm_float_rows_x16(g, scale_f, bias_f, lo, hi, ic, jc, i0, i1, nw, accbuf, rowsum, cs);
    return;
  }
#elif defined(QRT_QMM_AVX2)
  if (ccs == 1) {
    j0 = qrt_qmm_float_rows_x8(g, scale_f, bias_f, lo, hi, ic, jc, i0, i1, nw, accbuf, rowsum, cs);
    if (j0 == nw) return;
  }
#endif
  for (j = j0; j < nw; ++j) {
    zc[j] = za * cs[j];
    sc[j] = scale_f[jc + j];
    bs[j] = has_b ? bias_f[jc + j] : 0.0f;
  }
  for (i = i0; i < i1; ++i) {
    const uint32_t rs = QRT_QMM_BIASED && rowsum ? rowsum[i] : 0u;
    const float rsc = has_rs ? g->row_scale[ic + i] : 1.0f;
    const int32_t *ar = accbuf + i * QRT_QMM_NW;
    float *c = g->Cf + (ic + i) * g->rs_c + jc * ccs;
    const float *r = has_r ? g->res_f + (ic + i) * g->rs_c + jc * ccs : zeros;
    if (nw == QRT_QMM_NW && ccs == 1 && j0 == 0) {
      for (j = 0; j < QRT_QMM_NW; ++j)
        v[j] = qrt_qmm_float_one(ar[j], rs, zc[j], sc[j], has_rs, rsc, has_b, bs[j], lo, hi, has_r, r[j]);
      memcpy(c, v, sizeof v);
    } else {
      for (j = j0; j < nw; ++j)
        v[j] = qrt_qmm_float_one(ar[j], rs, zc[j], sc[j], has_rs, rsc, has_b, bs[j], lo, hi, has_r,
                                 has_r ? r[j * ccs] : 0.0f);
      for (j = j0; j < nw; ++j) c[j * ccs] = v[j];
    }
  }
}

/* The float epilogue of rows [0, mc) x columns [0, nw) of a tile: one set
 * of constants, or (row_set) each run of rows of one set with its own
 * (scale_f, bias_f rows and clamp). */
QRT_INTERNAL void qrt_qmm_epilogue_f32(const qrt_qgemm_args *g, int64_t ic, int64_t jc, int64_t mc, int64_t nw,
                                       const int32_t *accbuf, const uint32_t *rowsum, const uint32_t *cs) {
  int64_t i0, i1;
  if (!g->row_set) {
    const float lo = g->clamp_f ? g->min_f : -INFINITY, hi = g->clamp_f ? g->max_f : INFINITY;
    qrt_qmm_float_rows(g, g->scale_f, g->bias_f, lo, hi, ic, jc, 0, mc, nw, accbuf, rowsum, cs);
    return;
  }
  for (i0 = 0; i0 < mc; i0 = i1) {
    const uint8_t s = g->row_set[ic + i0];
    const int64_t at = (int64_t)s * g->set_stride;
    const float lo = g->clamp_f ? g->set_min_f[s] : -INFINITY, hi = g->clamp_f ? g->set_max_f[s] : INFINITY;
    i1 = qrt_qmm_set_run_end(g, ic, i0, mc);
    qrt_qmm_float_rows(g, g->scale_f + at, g->bias_f ? g->bias_f + at : NULL, lo, hi, ic, jc, i0, i1, nw, accbuf,
                       rowsum, cs);
  }
}

/* Finish rows [0, mc) x columns [0, nw) of a tile: correction, then the
 * int8 (requant) or float epilogue. */
QRT_INTERNAL void qrt_qmm_epilogue(const qrt_qgemm_args *g, int64_t ic, int64_t jc, int64_t mc,
                                   int64_t nw, const int32_t *accbuf, const uint32_t *rowsum,
                                   const uint32_t *cs) {
  if (!g->Cf || g->deq_scale) qrt_qmm_epilogue_i8(g, ic, jc, mc, nw, accbuf, rowsum, cs);
  else qrt_qmm_epilogue_f32(g, ic, jc, mc, nw, accbuf, rowsum, cs);
}

/* sum of a[0..K) mod 2^32.  AVX-512 and AVX2: psadbw of the bytes xor
 * 0x80 (= a + 128, unsigned) against zero sums 8 bytes per 64-bit lane,
 * minus 128 per byte.  Else 16 int32 lanes (short rows vectorize too), in
 * blocks of 2^20 bytes so each lane stays within 2^16 * 128. */
QRT_INTERNAL uint32_t qrt_qmm_row_sum(const int8_t *a, int64_t K) {
  uint32_t s = 0;
  int64_t k = 0;
#if defined(QRT_QMM_VNNI) && defined(__AVX512BW__)
  {
    const __m512i flip = _mm512_set1_epi8((char)0x80), zero = _mm512_setzero_si512();
    __m512i acc = zero;
    for (; k + 64 <= K; k += 64)
      acc = _mm512_add_epi64(
          acc, _mm512_sad_epu8(_mm512_xor_si512(_mm512_loadu_si512((const void *)(a + k)), flip), zero));
    if (k < K) {
      const __mmask64 m = ((__mmask64)1 << (K - k)) - 1; /* K - k < 64 */
      /* bytes past K: 0 xor 0, adding nothing */
      const __m512i x = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, a + k), _mm512_maskz_mov_epi8(m, flip));
      acc = _mm512_add_epi64(acc, _mm512_sad_epu8(x, zero));
      k = K;
    }
    s = (uint32_t)_mm512_reduce_add_epi64(acc) - 128u * (uint32_t)K;
  }
#elif defined(QRT_QMM_AVX2)
  { /* the same in 32-byte steps; the scalar loop below adds the tail */
    const __m256i flip = _mm256_set1_epi8((char)0x80), zero = _mm256_setzero_si256();
    __m256i acc = zero;
    uint64_t part[4];
    for (; k + 32 <= K; k += 32)
      acc = _mm256_add_epi64(
          acc, _mm256_sad_epu8(_mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)(a + k)), flip), zero));
    _mm256_storeu_si256((__m256i *)(void *)part, acc);
    s = (uint32_t)(part[0] + part[1] + part[2] + part[3]) - 128u * (uint32_t)k;
  }
#else
  int t;
  while (k + 16 <= K) {
    const int64_t end = K - k < ((int64_t)1 << 20) ? k + (K - k) / 16 * 16 : k + ((int64_t)1 << 20);
    int32_t lane[16] = {0};
    for (; k < end; k += 16)
      for (t = 0; t < 16; ++t) lane[t] += a[k + t];
    for (t = 0; t < 16; ++t) s += (uint32_t)lane[t];
  }
#endif
  for (; k < K; ++k) s += (uint32_t)(int32_t)a[k];
  return s;
}

/* Grouped layers: adds gmult[grp][n] * (the group's corrected sums in
 * gacc) to acc, for rows [0, mc) of the block at row ic and the tile
 * columns [jc, jc + nw); the group covers k in [k0, k1). */
QRT_INTERNAL void qrt_qmm_fold_group(const qrt_qgemm_args *g, int64_t ic, int64_t jc, int64_t mc,
                                     int64_t nw, int64_t k0, int64_t k1, const int32_t *gacc,
                                     uint32_t *acc) {
  const uint8_t *u = g->gmult + (k0 / g->group) * g->N + jc;
  const uint32_t za = (uint32_t)g->a_zero_point;
  uint32_t cs[QRT_QMM_NW];
  int64_t i, j, k;
  for (j = 0; j < nw; ++j) {
    cs[j] = 0;
    if (za)
      for (k = k0; k < k1; ++k) cs[j] += (uint32_t)qrt_qmm_b_code(g, k, jc + j);
  }
  for (i = 0; i < mc; ++i) {
    const uint32_t rs =
        QRT_QMM_BIASED ? qrt_qmm_b_bias(g) * qrt_qmm_row_sum(g->A + (ic + i) * g->lda + k0, k1 - k0) : 0u;
    for (j = 0; j < nw; ++j)
      acc[i * QRT_QMM_NW + j] += (uint32_t)u[j] * ((uint32_t)gacc[i * QRT_QMM_NW + j] - rs - za * cs[j]);
  }
}

/* Rows [0, mc) of the row block at ic times kc rows (from pc) of the
 * np packed panels at bp (bps bytes apart) into dst (first: the sums start
 * there).  A K block that is not a multiple of 4 ends with its last rows
 * zero-padded into one more step. */
QRT_INTERNAL void qrt_qmm_block_rows(const qrt_qgemm_args *g, int64_t ic, int64_t mc, int64_t pc, int64_t kc,
                                     int np, const uint8_t *bp, int64_t bps, int32_t *dst, int first) {
  int8_t atail[8 * 4]; /* the tallest kernel's rows */
  const int64_t ng = kc / 4, tail = kc % 4;
  const int nib = qrt_qmm_nibbles(g);
  const int64_t group_bytes = nib ? 32 : 64;
  int64_t ir, i, r;
  for (ir = 0; ir < mc;) {
    int64_t h;
#if QRT_QMM_NIBBLES
    const qrt_qmm_kernel_fn kern = nib ? qrt_qmm_pick_n4(mc - ir, &h) : qrt_qmm_pick(mc - ir, np, &h);
#else
    const qrt_qmm_kernel_fn kern = qrt_qmm_pick(mc - ir, np, &h);
#endif
    const int8_t *ap = g->A + (ic + ir) * g->lda + pc;
    int32_t *acc = dst + ir * QRT_QMM_NW;
    kern(ng, ap, g->lda, bp, bps, acc, first);
    if (tail) {
      for (i = 0; i < h; ++i)
        for (r = 0; r < 4; ++r) atail[i * 4 + r] = r < tail ? ap[i * g->lda + ng * 4 + r] : 0;
      kern(1, atail, 4, bp + ng * group_bytes, bps, acc, first && ng == 0);
    }
    ir += h;
  }
}

/* The row sums of the row block at ic (biased kernels: 128 or 8 x sum). */
QRT_INTERNAL void qrt_qmm_block_rowsum(const qrt_qgemm_args *g, int64_t ic, int64_t mc, uint32_t *rowsum) {
  int64_t i;
  const uint32_t bias = qrt_qmm_b_bias(g);
  for (i = 0; i < mc; ++i) rowsum[i] = QRT_QMM_BIASED ? bias * qrt_qmm_row_sum(g->A + (ic + i) * g->lda, g->K) : 0;
}

/* Run-time int8 B (attention's K^T and V) whose panels for columns [j0,
 * j1) all fit bbuf is packed once, up front, and then read as packed
 * weights are; the general loop packs each tile again for every
 * QRT_QMM_MC rows.  Same tiles, same sums, same epilogue: the same bits. */
#define QRT_QMM_PRE_COLS 512 /* column sums kept for the prepacked B */

QRT_INTERNAL int qrt_qmm_prepack_fits(const qrt_qgemm_args *g, int64_t j0, int64_t j1, size_t bytes) {
  const int64_t cols = (j1 - j0 + QRT_QMM_NR - 1) / QRT_QMM_NR * QRT_QMM_NR;
  return !g->b_packed && !(g->gmult && g->group > 0) && g->K > 0 && g->M > QRT_QMM_MC &&
         cols <= QRT_QMM_PRE_COLS && qrt_qmm_k4(g->K) * cols <= (int64_t)bytes;
}

QRT_INTERNAL void qrt_qmm_prepack(const qrt_qgemm_args *g, int64_t j0, int64_t j1, unsigned char *bbuf,
                                  uint32_t *cs) {
  const int64_t k4 = qrt_qmm_k4(g->K);
  int64_t jc;
  for (jc = j0; jc < j1; jc += QRT_QMM_NR) {
    unsigned char *panel = bbuf + (jc - j0) / QRT_QMM_NR * k4 * QRT_QMM_NR;
    uint32_t *c = cs + (jc - j0);
    int64_t j;
    qrt_qmm_pack_panel(g->K, g->N, g->B, g->rs_b, g->cs_b, jc, 0, k4, panel);
    for (j = 0; j < QRT_QMM_NR; ++j) c[j] = g->colsum && jc + j < j1 ? (uint32_t)g->colsum[jc + j] : 0u;
    if (!g->colsum && g->a_zero_point) qrt_qmm_panel_colsum(panel, k4, c);
  }
}

/* Columns [j0, j1) of the GEMM (j0 a multiple of QRT_QMM_NW): the tiles
 * and their k order are those of the whole GEMM, so a split changes no
 * bit (the int32 sums are exact anyway; each epilogue is per element). */
QRT_INTERNAL void qrt_qgemm_cols(const qrt_qgemm_args *g, int64_t j0, int64_t j1) {
  unsigned char bbuf[QRT_QMM_NP * QRT_QMM_KC * QRT_QMM_NR]; /* 4 or 8 KiB */
  int32_t accbuf[QRT_QMM_MC * QRT_QMM_NW];                   /* 4 or 8 KiB */
  int32_t gacc[QRT_QMM_MC * QRT_QMM_NW];                     /* grouped: one group */
  uint32_t rowsum[QRT_QMM_MC];
  uint32_t cs[QRT_QMM_NW];
  const int64_t M = g->M, N = g->N, K = g->K;
  const int64_t k4 = qrt_qmm_k4(K);
  const int int4 = g->b_format == QRT_WFMT_I4;
  const int grouped = g->gmult && g->group > 0;
  /* Packed int8 (and int4 where the kernels take nibbles) is read in
   * place; other int4 and unpacked B go through bbuf. */
  const int nib = qrt_qmm_nibbles(g);
  const int in_place = g->b_packed && (!int4 || nib);
  uint32_t cs_pre[QRT_QMM_PRE_COLS];
  int pre;
  int64_t kcmax, ic, jc, pc;
  if (M <= 0 || N <= 0) return;
  pre = qrt_qmm_prepack_fits(g, j0, j1, sizeof bbuf);
  if (pre) qrt_qmm_prepack(g, j0, j1, bbuf, cs_pre);
  kcmax = in_place || pre ? QRT_QMM_KC_PACKED : QRT_QMM_KC;
  for (ic = 0; ic < M; ic += QRT_QMM_MC) {
    const int64_t mc = M - ic < QRT_QMM_MC ? M - ic : QRT_QMM_MC;
    if (!grouped) qrt_qmm_block_rowsum(g, ic, mc, rowsum);
    for (jc = j0; jc < j1; jc += QRT_QMM_NW) {
      const int64_t nw = j1 - jc < QRT_QMM_NW ? j1 - jc : QRT_QMM_NW;
      const int np = (int)((nw + QRT_QMM_NR - 1) / QRT_QMM_NR);
      int32_t *const dst = grouped ? gacc : accbuf;
      int64_t kc;
      if (grouped) memset(cs, 0, sizeof cs); /* corrections done per group */
      else if (pre) memcpy(cs, cs_pre + (jc - j0), (size_t)np * QRT_QMM_NR * sizeof *cs);
      else qrt_qmm_tile_colsum(g, jc, nw, cs);
      if (K <= 0 || grouped) memset(accbuf, 0, sizeof accbuf);
      for (pc = 0; pc < K; pc += kc) {
        /* blocks never straddle a group: each group's sums are folded alone */
        const int64_t gend = grouped ? ((pc / g->group + 1) * g->group < K ? (pc / g->group + 1) * g->group : K) : K;
        const int first = grouped ? pc % g->group == 0 : pc == 0;
        int64_t bps;
        const uint8_t *bp;
        kc = K - pc < kcmax ? K - pc : kcmax;
        if (pc + kc > gend) kc = gend - pc;
        if (pre) {
          bps = k4 * QRT_QMM_NR;
          bp = bbuf + (jc - j0) / QRT_QMM_NR * bps + pc * QRT_QMM_NR;
        } else if (in_place) {
          const int64_t per_k = nib ? QRT_QMM_NR / 2 : QRT_QMM_NR; /* bytes per k of a panel */
          bps = k4 * per_k;
          bp = (const uint8_t *)g->B + (jc / QRT_QMM_NR) * bps + pc * per_k;
        } else {
          int p;
          bps = QRT_QMM_KC * QRT_QMM_NR;
          for (p = 0; p < np; ++p) {
            if (int4)
              qrt_qmm_unpack_i4((const unsigned char *)g->B + (jc / QRT_QMM_NR + p) * k4 * 8 + pc * 8,
                                qrt_qmm_k4(kc), bbuf + p * bps);
            else {
              qrt_qmm_pack_panel(K, N, g->B, g->rs_b, g->cs_b, jc + p * QRT_QMM_NR, pc,
                                 qrt_qmm_k4(kc), bbuf + p * bps);
              if (!g->colsum && g->a_zero_point && !grouped)
                qrt_qmm_panel_colsum(bbuf + p * bps, qrt_qmm_k4(kc), cs + p * QRT_QMM_NR);
            }
          }
          bp = bbuf;
        }
        qrt_qmm_block_rows(g, ic, mc, pc, kc, np, bp, bps, dst, first);
        if (grouped && pc + kc == gend)
          qrt_qmm_fold_group(g, ic, jc, mc, nw, pc / g->group * g->group, gend, gacc,
                             (uint32_t *)(void *)accbuf);
      }
      qrt_qmm_epilogue(g, ic, jc, mc, nw, accbuf, grouped ? NULL : rowsum, cs);
    }
  }
}

/* Threads (qrt_parallel.c) split a GEMM into blocks of rows and of whole
 * tiles of columns, rows first (qrt_parallel_blocks; as the float GEMM
 * does); integer sums are exact, so any split gives the same bits.  A
 * column block sums its rows' A again (cheap next to the GEMM).  Int8
 * multiply-adds run about 4x faster than float ones, so a block needs 4x
 * the float GEMM's multiply-adds to pay for a hand-off. */
#ifndef QRT_QMM_PAR_MIN_MACS
#define QRT_QMM_PAR_MIN_MACS 262144
#endif

typedef struct qrt_qmm_slices {
  const qrt_qgemm_args *g;
  int64_t rows, cols; /* per block: a multiple of 8 (or M), of QRT_QMM_NW (or N) */
  int64_t col_blocks;
} qrt_qmm_slices;

QRT_INTERNAL void qrt_qmm_slice(void *ctx, int64_t t) {
  const qrt_qmm_slices *s = (const qrt_qmm_slices *)ctx;
  const qrt_qgemm_args *g = s->g;
  qrt_qgemm_args part = *g;
  const int64_t i0 = t / s->col_blocks * s->rows, j0 = t % s->col_blocks * s->cols;
  part.M = g->M - i0 < s->rows ? g->M - i0 : s->rows;
  part.A = g->A + i0 * g->lda;
  if (g->C) part.C = g->C + i0 * g->rs_c;
  if (g->Cf) part.Cf = g->Cf + i0 * g->rs_c;
  if (g->res_f) part.res_f = g->res_f + i0 * g->rs_c;
  if (g->row_scale) part.row_scale = g->row_scale + i0;
  if (g->row_set) part.row_set = g->row_set + i0;
  qrt_qgemm_cols(&part, j0, g->N - j0 < s->cols ? g->N : j0 + s->cols);
}

QRT_API void qrt_qgemm_ex(const qrt_qgemm_args *g) {
  qrt_qmm_slices s;
  const int64_t blocks = qrt_parallel_blocks(g->M, g->N, g->K, QRT_QMM_PAR_MIN_MACS, 8, QRT_QMM_NW, &s.rows, &s.cols);
  if (blocks <= 1) {
    qrt_qgemm_cols(g, 0, g->N);
    return;
  }
  s.g = g;
  s.col_blocks = (g->N + s.cols - 1) / s.cols;
  qrt_parallel_for(blocks, qrt_qmm_slice, &s);
}

/* Batch b of a batched quantized matmul: its A, B and C in g (the batch
 * index unravelled; broadcast dims have stride 0). */
QRT_INTERNAL void qrt_qmm_batch_at(const qrt_qmatmul_params *p, const void *const *in, void *const *out,
                                   int fout, int64_t b, qrt_qgemm_args *g) {
  int64_t ao, bo, co = b * p->M * p->N, unused;
  qrt_batch_offsets(p->batch_rank, p->batch_shape, p->a_batch_strides, p->b_batch_strides, b, &ao, &bo);
  if (p->strided) qrt_batch_offsets(p->batch_rank, p->batch_shape, p->c_batch_strides, p->c_batch_strides, b, &co, &unused);
  g->A = (const int8_t *)in[0] + ao;
  g->B = (const int8_t *)in[1] + bo;
  if (fout) {
    g->Cf = (float *)out[0] + co;
    g->res_f = in[4] ? (const float *)in[4] + co : NULL;
  } else {
    g->C = (int8_t *)out[0] + co;
  }
}

/* Threads take whole batches (attention's heads) when each batch's GEMM
 * is too small to split by columns; a task runs its batches serially
 * (no nested parallel loops), each computed as alone. */
typedef struct qrt_qmm_batch_slices {
  const qrt_qmatmul_params *p;
  const void *const *in;
  void *const *out;
  const qrt_qgemm_args *g;
  int fout;
  int64_t per, nb; /* batches per task, in all */
} qrt_qmm_batch_slices;

QRT_INTERNAL void qrt_qmm_batch_slice(void *ctx, int64_t i) {
  const qrt_qmm_batch_slices *s = (const qrt_qmm_batch_slices *)ctx;
  qrt_qgemm_args g = *s->g;
  int64_t b;
  for (b = i * s->per; b < s->nb && b < (i + 1) * s->per; ++b) {
    qrt_qmm_batch_at(s->p, s->in, s->out, s->fout, b, &g);
    qrt_qgemm_cols(&g, 0, g.N);
  }
}

/* The GEMM arguments of a quantized matmul call but its batch's A, B and
 * C (qrt_qmm_batch_at sets those). */
QRT_INTERNAL void qrt_qmm_args(const qrt_qmatmul_params *p, const void *const *in, int fout, qrt_qgemm_args *g) {
  memset(g, 0, sizeof *g);
  g->M = p->M; g->N = p->N; g->K = p->K;
  g->lda = p->strided ? p->lda : p->K;
  g->rs_b = p->strided ? p->rs_b : p->N;
  g->cs_b = p->strided ? p->cs_b : 1;
  g->b_packed = p->b_packed;
  g->a_zero_point = p->a_zero_point;
  g->out_zero_point = p->out_zero_point;
  g->out_min = p->out_min;
  g->out_max = p->out_max;
  g->colsum = (const int32_t *)in[5];
  g->b_format = p->b_format;
  g->group = p->group;
  g->gmult = (const uint8_t *)in[6];
  if (fout) {
    g->bias_f = (const float *)in[2];
    g->scale_f = (const float *)in[3];
    g->clamp_f = p->f_clamp;
    g->min_f = p->f_min;
    g->max_f = p->f_max;
  } else {
    g->bias = (const int32_t *)in[2];
    g->mult = (const int32_t *)in[3];
    g->shift = (const int8_t *)in[4];
  }
  g->rs_c = p->strided ? p->rs_c : p->N;
  g->cs_c = 1;
}

QRT_INTERNAL void qrt_qmatmul_run(const void *params, const void *const *in, void *const *out,
                                  int fout) {
  const qrt_qmatmul_params *p = (const qrt_qmatmul_params *)params;
  const int width = qrt_parallel_width();
  const int64_t nb = qrt_batch_count(p->batch_rank, p->batch_shape);
  int64_t b, tasks;
  qrt_qgemm_args g;
  qrt_qmm_args(p, in, fout, &g);
  /* as many tasks as threads, each with at least QRT_QMM_PAR_MIN_MACS,
   * when one batch's GEMM is too small for two blocks */
  tasks = width < nb ? width : nb;
  if (tasks > 1 && p->M * p->N * p->K < 2 * QRT_QMM_PAR_MIN_MACS) {
    const int64_t need = (QRT_QMM_PAR_MIN_MACS + p->M * p->N * p->K - 1) / (p->M * p->N * p->K > 0 ? p->M * p->N * p->K : 1);
    tasks = nb / need < tasks ? nb / need : tasks;
  } else {
    tasks = 1; /* a single GEMM large enough splits by columns itself */
  }
  if (tasks > 1) {
    qrt_qmm_batch_slices s;
    s.p = p; s.in = in; s.out = out; s.g = &g; s.fout = fout; s.nb = nb;
    s.per = (nb + tasks - 1) / tasks;
    qrt_parallel_for((nb + s.per - 1) / s.per, qrt_qmm_batch_slice, &s);
    return;
  }
  for (b = 0; b < nb; ++b) {
    qrt_qmm_batch_at(p, in, out, fout, b, &g);
    qrt_qgemm_ex(&g);
  }
}

/* Sibling matmuls (qrt.h: qrt_qmatmul_group) in one parallel-for: the
 * group's multiply-adds decide the task count T, and task t computes
 * block t of every GEMM (each GEMM split in up to T blocks as
 * qrt_parallel_blocks splits one), so with T threads each thread keeps
 * the same rows of all of them and the group costs one hand-off. */
typedef struct qrt_qmm_group_job {
  qrt_qgemm_args g[QRT_QMM_GROUP_MAX];
  qrt_qmm_slices s[QRT_QMM_GROUP_MAX];
  int64_t blocks[QRT_QMM_GROUP_MAX];
  int64_t n;
} qrt_qmm_group_job;

QRT_INTERNAL void qrt_qmm_group_task(void *ctx, int64_t t) {
  const qrt_qmm_group_job *j = (const qrt_qmm_group_job *)ctx;
  int64_t i;
  for (i = 0; i < j->n; ++i) {
    if (t < j->blocks[i]) qrt_qmm_slice((void *)&j->s[i], t);
  }
}

QRT_API void qrt_qmatmul_group(int64_t n, const qrt_qmm_call *calls) {
  qrt_qmm_group_job j;
  int64_t i, macs = 0, tasks = qrt_parallel_width();
  int alone = n > QRT_QMM_GROUP_MAX || tasks <= 1;
  for (i = 0; i < n && !alone; ++i) {
    const qrt_qmatmul_params *p = (const qrt_qmatmul_params *)calls[i].params;
    alone = qrt_batch_count(p->batch_rank, p->batch_shape) != 1;
    macs += p->M * p->N * p->K;
  }
  if (tasks > macs / QRT_QMM_PAR_MIN_MACS) tasks = macs / QRT_QMM_PAR_MIN_MACS;
  if (alone || tasks <= 1) {
    for (i = 0; i < n; ++i) qrt_qmatmul_run(calls[i].params, calls[i].in, calls[i].out, calls[i].fout);
    return;
  }
  j.n = n;
  for (i = 0; i < n; ++i) {
    const qrt_qmatmul_params *p = (const qrt_qmatmul_params *)calls[i].params;
    qrt_qgemm_args *g = &j.g[i];
    qrt_qmm_args(p, calls[i].in, calls[i].fout, g);
    qrt_qmm_batch_at(p, calls[i].in, calls[i].out, calls[i].fout, 0, g);
    j.blocks[i] = qrt_parallel_blocks_n(g->M, g->N, g->K, tasks, 8, QRT_QMM_NW, &j.s[i].rows, &j.s[i].cols);
    j.s[i].g = g;
    j.s[i].col_blocks = (g->N + j.s[i].cols - 1) / j.s[i].cols;
  }
  qrt_parallel_for(tasks, qrt_qmm_group_task, &j);
}

QRT_API void qrt_qmatmul_i8(const void *params, const void *const *in, void *const *out) {
  qrt_qmatmul_run(params, in, out, 0);
}

QRT_API void qrt_qmatmul_i8_f32out(const void *params, const void *const *in, void *const *out) {
  qrt_qmatmul_run(params, in, out, 1);
}
