#include "qrt.h"
#include <math.h>
#include <string.h>
#if defined(__GNUC__) && (defined(__AVX512F__) || (defined(__AVX__) && defined(__FMA__)))
#include <immintrin.h>
#elif defined(__GNUC__) && defined(__aarch64__)
#include <arm_neon.h>
#endif
/* qrt_matmul.c - single precision GEMM core and the batched matmul kernel.
 *
 * Every C element is computed as
 *     acc = 0; for k = 0..K-1: acc = acc + a[m][k] * b[k][n];
 *     c = act(acc + bias)          (no bias add when bias is NULL)
 * The blocking (KC, MC, the micro-tile height) only decides which elements
 * are computed together; an element's k order never changes, partial sums
 * of a K block are stored to C and reloaded exactly.  So any blocking, any
 * packing and any vector width give the same bits.
 *
 * Structure: K blocks of QRT_MM_KC, row blocks of QRT_MM_MC, then panels of
 * 16 columns of B (read in place when columns are contiguous and the panel
 * is full, or from the compile-time packed layout, else copied into a
 * 16 KiB stack panel), then micro-tiles of MR rows x 16 columns held in
 * local accumulators that gcc/clang keep in vector registers.  A is read in
 * place (one broadcast per row and k).  The last K block of a tile applies
 * bias and activation (qrt_mm_finish_tile) only when the GEMM has them;
 * otherwise the accumulators are stored as they are. */

/* Vector width in floats (GCC/clang vector extension) and micro-tile
 * height: accumulators MR x 16 floats fill most of the vector registers.
 * AVX-512 runs 8 rows x 2 panels (16 accumulators), not 12: an L1 set
 * holds 8 lines, so 12 A rows whose stride is a multiple of 4 KiB (K =
 * 1024) evicted each other every 16 k; 8 rows were also as fast or faster
 * at every other shape measured (examples/bench/gemm_bench.c, this
 * machine: 256x1024x1024 76% -> 86-89% of the FMA peak, the examples'
 * layers +2-4%). */
#if defined(__AVX512F__)
#define QRT_MM_VW 16
#define QRT_MM_MR_DEFAULT 8
#elif defined(__AVX__)
#define QRT_MM_VW 8
#define QRT_MM_MR_DEFAULT 6
#elif defined(__aarch64__)
#define QRT_MM_VW 4
#define QRT_MM_MR_DEFAULT 6
#else
#define QRT_MM_VW 4
#define QRT_MM_MR_DEFAULT 3
#endif
#ifndef QRT_SGEMM_MR
#define QRT_SGEMM_MR QRT_MM_MR_DEFAULT
#endif

#define QRT_MM_NR 16
#define QRT_MM_KC 256
#define QRT_MM_MC 144
/* Full B panels with contiguous columns are read in place, unless many
 * rows use them and rows of B lie a multiple of 2 KiB apart (cache-set
 * conflicts): then a copy costs little against mc/MR passes. */
#ifndef QRT_MM_PACK_ROWS
#define QRT_MM_PACK_ROWS 64
#endif

typedef struct qrt_mm_epi {
  const float *bias; /* at the tile origin, or NULL */
  int64_t rs, cs;
  int32_t act;
  float alpha, beta;
  const float *res; /* combined last (fuse_matmul_epilogue.c), at the tile origin, or NULL */
  int64_t res_rs;
  int32_t res_mul; /* res multiplies (a gate) instead of adding (a residual) */
} qrt_mm_epi;

/* Element (i, j) of a finished tile whose sum is v: act(v + bias) + res
 * (or * res), each a float operation of its own (the unfused ops' bits). */
QRT_INTERNAL QRT_ALWAYS_INLINE inline float qrt_mm_epi_one(const qrt_mm_epi *epi, int64_t i, int64_t j, float v) {
  if (epi->bias) v = v + epi->bias[i * epi->rs + j * epi->cs];
  v = qrt_act_f32(v, epi->act, epi->alpha, epi->beta);
  if (epi->res) v = epi->res_mul ? v * epi->res[i * epi->res_rs + j] : v + epi->res[i * epi->res_rs + j];
  return v;
}

/* A finished tile of `rows` rows of n sums (t, row stride n): c(i, j) =
 * act(t(i, j) + bias(i, j)) + (or *) res(i, j), the same operations as
 * qrt_mm_epi_one per element. Bias and residual row by row, one loop per
 * bias layout so each vectorizes; the activation over the whole tile at
 * once (qrt_act_inplace_f32: SiLU's exps a block at a time, and a 12 x 32
 * tile is six blocks where a row is half of one). */
QRT_INTERNAL void qrt_mm_finish_tile(float *t, int64_t rows, int64_t n, const qrt_mm_epi *epi, float *c,
                                     int64_t ldc) {
  int64_t i, j;
  if (epi->bias)
    for (i = 0; i < rows; ++i) {
      const float *b = epi->bias + i * epi->rs;
      float *ti = t + i * n;
      if (epi->cs == 1) {
        for (j = 0; j < n; ++j) ti[j] = ti[j] + b[j];
      } else if (epi->cs == 0) { /* one bias per row (convolutions) */
        const float bv = b[0];
        for (j = 0; j < n; ++j) ti[j] = ti[j] + bv;
      } else {
        for (j = 0; j < n; ++j) ti[j] = ti[j] + b[j * epi->cs];
      }
    }
  qrt_act_inplace_f32(t, rows * n, epi->act, epi->alpha, epi->beta);
  for (i = 0; i < rows; ++i) {
    const float *ti = t + i * n;
    float *ci = c + i * ldc;
    if (!epi->res) {
      memcpy(ci, ti, sizeof(float) * (size_t)n);
    } else {
      const float *r = epi->res + i * epi->res_rs;
      if (epi->res_mul)
        for (j = 0; j < n; ++j) ci[j] = ti[j] * r[j];
      else
        for (j = 0; j < n; ++j) ci[j] = ti[j] + r[j];
    }
  }
}

/* An epilogue of a bias with consecutive columns (a Linear layer's)
 * and/or a residual or gate (fuse_matmul_epilogue.c), no activation. The
 * micro-kernels apply them to their accumulator vectors, the same float
 * operations in the same order as qrt_mm_finish_tile's. */
QRT_INTERNAL QRT_ALWAYS_INLINE inline int qrt_mm_epi_vectorizes(const qrt_mm_epi *epi) {
  return (epi->bias == NULL || epi->cs == 1) && epi->act == QRT_ACT_NONE;
}

/* Micro-kernel: c[0..MRK)[0..16) (row stride ldc) = (first ? 0 : c) +
 * sum over k < kc of a[i*rs_a + k*cs_a] * b[k*rs_b + j].  When epi is not
 * NULL the tile is finished: bias and activation are applied.
 * With GCC/clang a 16-float vector type keeps each accumulator row in
 * registers (elementwise mul then add: the same operations, so the same
 * bits, as the plain C version used by other compilers). */
#if defined(__GNUC__) && !defined(QRT_NO_VECTOR_EXT)
typedef float qrt_mm_vec __attribute__((vector_size(QRT_MM_VW * 4)));
#define QRT_MM_NV (QRT_MM_NR / QRT_MM_VW)
#define QRT_MM_UNROLL _Pragma("GCC unroll 16")

/* Such an epilogue applied to the vector of row i at column
 * j (a multiple of the vector width). */
QRT_INTERNAL QRT_ALWAYS_INLINE inline void qrt_mm_epi_apply_vec(const qrt_mm_epi *epi, int64_t i, int64_t j,
                                                             qrt_mm_vec *acc) {
  qrt_mm_vec t;
  if (epi->bias) {
    memcpy(&t, epi->bias + i * epi->rs + j, sizeof t);
    *acc = *acc + t;
  }
  if (epi->res) {
    memcpy(&t, epi->res + i * epi->res_rs + j, sizeof t);
    *acc = epi->res_mul ? *acc * t : *acc + t;
  }
}

/* c + a * b rounded once, lane by lane (IEEE fusedMultiplyAdd, as fmaf):
 * the hardware instruction where the target has one, else fmaf per lane,
 * slower but the same bits. */
QRT_INTERNAL QRT_ALWAYS_INLINE inline qrt_mm_vec qrt_mm_fma(qrt_mm_vec a, qrt_mm_vec b, qrt_mm_vec c) {
#if defined(__AVX512F__) && QRT_MM_VW == 16
  return (qrt_mm_vec)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif defined(__AVX__) && defined(__FMA__) && QRT_MM_VW == 8
  return (qrt_mm_vec)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#elif defined(__aarch64__) && QRT_MM_VW == 4
  return (qrt_mm_vec)vfmaq_f32((float32x4_t)c, (float32x4_t)a, (float32x4_t)b);
#else
  int l;
  for (l = 0; l < QRT_MM_VW; ++l) c[l] = fmaf(a[l], b[l], c[l]);
  return c;
#endif
}

/* acc + av * bv: two roundings (the default, the same bits as plain C on
 * any target), or one (FUSED: --fma builds, twice the peak on FMA units). */
#define QRT_MM_MAC(ACC, AV, BV, FUSED) ((FUSED) ? qrt_mm_fma(AV, BV, ACC) : (ACC) + (AV) * (BV))

#define QRT_MM_DEFINE_KERNEL(NAME, MRK, FUSED)                                             \
  QRT_INTERNAL void NAME(int64_t kc, const float *a, int64_t rs_a, int64_t cs_a,           \
                         const float *b, int64_t rs_b, float *c, int64_t ldc, int first,   \
                         const qrt_mm_epi *epi) {                                          \
    qrt_mm_vec acc[MRK][QRT_MM_NV];                                                        \
    const float *ar[MRK];                                                                  \
    int64_t i, k, v;                                                                       \
    QRT_MM_UNROLL for (i = 0; i < MRK; ++i) ar[i] = a + i * rs_a;                          \
    if (first) {                                                                           \
      const qrt_mm_vec z = {0};                                                            \
      QRT_MM_UNROLL for (i = 0; i < MRK; ++i)                                              \
        QRT_MM_UNROLL for (v = 0; v < QRT_MM_NV; ++v) acc[i][v] = z;                       \
    } else {                                                                               \
      QRT_MM_UNROLL for (i = 0; i < MRK; ++i)                                              \
        QRT_MM_UNROLL for (v = 0; v < QRT_MM_NV; ++v)                                      \
          memcpy(&acc[i][v], c + i * ldc + v * QRT_MM_VW, sizeof acc[i][v]);               \
    }                                                                                      \
    for (k = 0; k < kc; ++k) {                                                             \
      qrt_mm_vec bv[QRT_MM_NV];                                                            \
      const int64_t ka = k * cs_a;                                                         \
      QRT_MM_UNROLL for (v = 0; v < QRT_MM_NV; ++v)                                        \
        memcpy(&bv[v], b + k * rs_b + v * QRT_MM_VW, sizeof bv[v]);                        \
      QRT_MM_UNROLL for (i = 0; i < MRK; ++i) {                                            \
        const qrt_mm_vec av = ar[i][ka] - (qrt_mm_vec){0}; /* broadcast, exact */          \
        QRT_MM_UNROLL for (v = 0; v < QRT_MM_NV; ++v)                                      \
          acc[i][v] = QRT_MM_MAC(acc[i][v], av, bv[v], FUSED);                             \
      }                                                                                    \
    }                                                                                      \
    if (epi && qrt_mm_epi_vectorizes(epi)) {                                                \
      QRT_MM_UNROLL for (i = 0; i < MRK; ++i)                                              \
        QRT_MM_UNROLL for (v = 0; v < QRT_MM_NV; ++v) {                                    \
          qrt_mm_epi_apply_vec(epi, i, v * QRT_MM_VW, &acc[i][v]);                           \
          memcpy(c + i * ldc + v * QRT_MM_VW, &acc[i][v], sizeof acc[i][v]);               \
        }                                                                                  \
    } else if (epi) {                                                                      \
      float t[MRK * QRT_MM_NR];                                                            \
      memcpy(t, acc, sizeof t);                                                            \
      qrt_mm_finish_tile(t, MRK, QRT_MM_NR, epi, c, ldc);                                  \
    } else {                                                                               \
      QRT_MM_UNROLL for (i = 0; i < MRK; ++i)                                              \
        QRT_MM_UNROLL for (v = 0; v < QRT_MM_NV; ++v)                                      \
          memcpy(c + i * ldc + v * QRT_MM_VW, &acc[i][v], sizeof acc[i][v]);               \
    }                                                                                      \
  }
/* Two adjacent 16-column panels at once (b0 and b1, each row stride
 * rs_b), for 32 vector registers (AVX-512): 12 x 32 accumulators take 2
 * loads of B and 12 broadcasts of A per 24 multiply-adds, where 12 x 16
 * needs 13 loads per 12 and leaves the load ports, not the arithmetic,
 * the limit. Each element's k order is unchanged: the same bits. */
#if QRT_MM_VW == 16
#define QRT_MM_TWO_PANELS 1
#define QRT_MM_DEFINE_KERNEL_2P(NAME, MRK, FUSED)                                          \
  QRT_INTERNAL void NAME(int64_t kc, const float *a, int64_t rs_a, int64_t cs_a,           \
                         const float *b0, const float *b1, int64_t rs_b, float *c,         \
                         int64_t ldc, int first, const qrt_mm_epi *epi) {                  \
    qrt_mm_vec acc[MRK][2];                                                                \
    const float *ar[MRK];                                                                  \
    int64_t i, k;                                                                          \
    QRT_MM_UNROLL for (i = 0; i < MRK; ++i) ar[i] = a + i * rs_a;                          \
    QRT_MM_UNROLL for (i = 0; i < MRK; ++i) {                                              \
      if (first) {                                                                         \
        const qrt_mm_vec z = {0};                                                          \
        acc[i][0] = z;                                                                     \
        acc[i][1] = z;                                                                     \
      } else {                                                                             \
        memcpy(&acc[i][0], c + i * ldc, sizeof acc[i][0]);                                 \
        memcpy(&acc[i][1], c + i * ldc + 16, sizeof acc[i][1]);                            \
      }                                                                                    \
    }                                                                                      \
    for (k = 0; k < kc; ++k) {                                                             \
      qrt_mm_vec bv0, bv1;                                                                 \
      const int64_t ka = k * cs_a;                                                         \
      memcpy(&bv0, b0 + k * rs_b, sizeof bv0);                                             \
      memcpy(&bv1, b1 + k * rs_b, sizeof bv1);                                             \
      QRT_MM_UNROLL for (i = 0; i < MRK; ++i) {                                            \
        const qrt_mm_vec av = ar[i][ka] - (qrt_mm_vec){0}; /* broadcast, exact */          \
        acc[i][0] = QRT_MM_MAC(acc[i][0], av, bv0, FUSED);                                 \
        acc[i][1] = QRT_MM_MAC(acc[i][1], av, bv1, FUSED);                                 \
      }                                                                                    \
    }                                                                                      \
    if (epi && !qrt_mm_epi_vectorizes(epi)) {                                              \
      float t[MRK * 32];                                                                   \
      memcpy(t, acc, sizeof t);                                                            \
      qrt_mm_finish_tile(t, MRK, 32, epi, c, ldc);                                         \
      return;                                                                              \
    }                                                                                      \
    for (i = 0; i < MRK; ++i) {                                                            \
      if (epi) {                                                                           \
        qrt_mm_epi_apply_vec(epi, i, 0, &acc[i][0]);                                         \
        qrt_mm_epi_apply_vec(epi, i, 16, &acc[i][1]);                                        \
      }                                                                                    \
      memcpy(c + i * ldc, &acc[i][0], sizeof acc[i][0]);                                   \
      memcpy(c + i * ldc + 16, &acc[i][1], sizeof acc[i][1]);                              \
    }                                                                                      \
  }
QRT_MM_DEFINE_KERNEL_2P(qrt_mm_kernel_2p, QRT_SGEMM_MR, 0)
QRT_MM_DEFINE_KERNEL_2P(qrt_mm_kernel_2p_fma, QRT_SGEMM_MR, 1)
QRT_MM_DEFINE_KERNEL_2P(qrt_mm_kernel_2p_8, 8, 0)
QRT_MM_DEFINE_KERNEL_2P(qrt_mm_kernel_2p_8_fma, 8, 1)
QRT_MM_DEFINE_KERNEL_2P(qrt_mm_kernel_2p_4, 4, 0)
QRT_MM_DEFINE_KERNEL_2P(qrt_mm_kernel_2p_4_fma, 4, 1)

typedef void (*qrt_mm_kernel_2p_fn)(int64_t, const float *, int64_t, int64_t, const float *, const float *,
                                    int64_t, float *, int64_t, int, const qrt_mm_epi *);

/* The tallest two-panel kernel with at most `rows` rows (at least 4, so a
 * 64-row block is not 5 x 12 and 4 single-panel rows twice); NULL below 4.
 * 16 rows go as 8 + 8, not 12 + 4: the 4-row kernel loads 6 vectors per 8
 * multiply-adds and is the slowest per element (64 x 128 x 128: ~5%
 * faster as 4 x 12 + 2 x 8 than as 5 x 12 + 4, measured). */
QRT_INTERNAL qrt_mm_kernel_2p_fn qrt_mm_pick_2p(int64_t rows, int64_t *h, int fused) {
  if (rows >= QRT_SGEMM_MR && rows != 16) { *h = QRT_SGEMM_MR; return fused ? qrt_mm_kernel_2p_fma : qrt_mm_kernel_2p; }
  if (rows >= 8) { *h = 8; return fused ? qrt_mm_kernel_2p_8_fma : qrt_mm_kernel_2p_8; }
  if (rows >= 4) { *h = 4; return fused ? qrt_mm_kernel_2p_4_fma : qrt_mm_kernel_2p_4; }
  return NULL;
}
#endif
#else
#define QRT_MM_DEFINE_KERNEL(NAME, MRK, FUSED)                                             \
  QRT_INTERNAL void NAME(int64_t kc, const float *a, int64_t rs_a, int64_t cs_a,           \
                         const float *b, int64_t rs_b, float *c, int64_t ldc, int first,   \
                         const qrt_mm_epi *epi) {                                          \
    float acc[MRK][QRT_MM_NR];                                                             \
    const float *ar[MRK];                                                                  \
    int64_t i, j, k;                                                                       \
    for (i = 0; i < MRK; ++i) ar[i] = a + i * rs_a;                                        \
    for (i = 0; i < MRK; ++i)                                                              \
      for (j = 0; j < QRT_MM_NR; ++j) acc[i][j] = first ? 0.0f : c[i * ldc + j];           \
    for (k = 0; k < kc; ++k) {                                                             \
      const float *bk = b + k * rs_b;                                                      \
      const int64_t ka = k * cs_a;                                                         \
      for (i = 0; i < MRK; ++i) {                                                          \
        const float av = ar[i][ka];                                                        \
        for (j = 0; j < QRT_MM_NR; ++j)                                                    \
          acc[i][j] = (FUSED) ? fmaf(av, bk[j], acc[i][j]) : acc[i][j] + av * bk[j];       \
      }                                                                                    \
    }                                                                                      \
    for (i = 0; i < MRK; ++i)                                                              \
      for (j = 0; j < QRT_MM_NR; ++j) {                                                    \
        float v = acc[i][j];                                                               \
        if (epi) v = qrt_mm_epi_one(epi, i, j, v);                                         \
        c[i * ldc + j] = v;                                                                \
      }                                                                                    \
  }
#endif

QRT_MM_DEFINE_KERNEL(qrt_mm_kernel_mr, QRT_SGEMM_MR, 0)
QRT_MM_DEFINE_KERNEL(qrt_mm_kernel_mr_fma, QRT_SGEMM_MR, 1)
#if QRT_SGEMM_MR > 8
QRT_MM_DEFINE_KERNEL(qrt_mm_kernel_8, 8, 0)
QRT_MM_DEFINE_KERNEL(qrt_mm_kernel_8_fma, 8, 1)
#endif
#if QRT_SGEMM_MR > 4
QRT_MM_DEFINE_KERNEL(qrt_mm_kernel_4, 4, 0)
QRT_MM_DEFINE_KERNEL(qrt_mm_kernel_4_fma, 4, 1)
#endif
#if QRT_SGEMM_MR > 2
QRT_MM_DEFINE_KERNEL(qrt_mm_kernel_2, 2, 0)
QRT_MM_DEFINE_KERNEL(qrt_mm_kernel_2_fma, 2, 1)
#endif
QRT_MM_DEFINE_KERNEL(qrt_mm_kernel_1, 1, 0)
QRT_MM_DEFINE_KERNEL(qrt_mm_kernel_1_fma, 1, 1)

typedef void (*qrt_mm_kernel_fn)(int64_t, const float *, int64_t, int64_t, const float *,
                                 int64_t, float *, int64_t, int, const qrt_mm_epi *);

/* The widest kernel with at most `rows` rows; its height in *h. */
QRT_INTERNAL qrt_mm_kernel_fn qrt_mm_pick(int64_t rows, int64_t *h, int fused) {
  if (rows >= QRT_SGEMM_MR) { *h = QRT_SGEMM_MR; return fused ? qrt_mm_kernel_mr_fma : qrt_mm_kernel_mr; }
#if QRT_SGEMM_MR > 8
  if (rows >= 8) { *h = 8; return fused ? qrt_mm_kernel_8_fma : qrt_mm_kernel_8; }
#endif
#if QRT_SGEMM_MR > 4
  if (rows >= 4) { *h = 4; return fused ? qrt_mm_kernel_4_fma : qrt_mm_kernel_4; }
#endif
#if QRT_SGEMM_MR > 2
  if (rows >= 2) { *h = 2; return fused ? qrt_mm_kernel_2_fma : qrt_mm_kernel_2; }
#endif
  *h = 1;
  return fused ? qrt_mm_kernel_1_fma : qrt_mm_kernel_1;
}

/* The epilogue of the tile at (row, jc): bias there, the activation,
 * the residual there. */
QRT_INTERNAL qrt_mm_epi qrt_mm_epi_at(const qrt_sgemm_args *g, int64_t row, int64_t jc) {
  qrt_mm_epi epi;
  epi.bias = g->bias ? g->bias + row * g->bias_rs + jc * g->bias_cs : NULL;
  epi.rs = g->bias_rs;
  epi.cs = g->bias_cs;
  epi.act = g->act;
  epi.alpha = g->act_alpha;
  epi.beta = g->act_beta;
  epi.res = g->res ? g->res + row * g->res_rs + jc : NULL;
  epi.res_rs = g->res_rs;
  epi.res_mul = g->res_mul;
  return epi;
}

/* C = act(bias) + res for K == 0. */
QRT_INTERNAL void qrt_mm_k0(const qrt_sgemm_args *g) {
  const qrt_mm_epi epi = qrt_mm_epi_at(g, 0, 0);
  int64_t i, j;
  for (i = 0; i < g->M; ++i)
    for (j = 0; j < g->N; ++j) g->C[i * g->ldc + j] = qrt_mm_epi_one(&epi, i, j, 0.0f);
}

/* K block pc of the full 16-column panel at jc, read where it lies (the
 * compile-time packed layout, or B itself when its columns are contiguous,
 * unless many rows use it and rows of B lie a multiple of 2 KiB apart:
 * cache-set conflicts); NULL when it must be copied.  *rs: its row stride. */
QRT_INTERNAL const float *qrt_mm_panel_in_place(const qrt_sgemm_args *g, int64_t pc, int64_t jc, int64_t mc,
                                                int64_t *rs) {
  if (g->b_packed) {
    *rs = QRT_MM_NR;
    return g->B + (jc / QRT_MM_NR) * (g->K * QRT_MM_NR) + pc * QRT_MM_NR;
  }
  if (g->cs_b == 1 && (mc <= QRT_MM_PACK_ROWS || g->rs_b % 512 != 0)) {
    *rs = g->rs_b;
    return g->B + pc * g->rs_b + jc;
  }
  return NULL;
}

QRT_INTERNAL void qrt_sgemm_serial(const qrt_sgemm_args *g) {
  float bpanel[QRT_MM_KC * QRT_MM_NR]; /* 16 KiB */
  float ctile[QRT_SGEMM_MR * QRT_MM_NR];
  const int64_t M = g->M, N = g->N, K = g->K;
  /* Without bias and activation the epilogue is the identity: the
   * micro-kernels then store their accumulators as vectors instead of
   * running the element-by-element epilogue loop (which, with K <= KC,
   * every tile would, costing as much as the multiply-adds at K = 32). */
  const int has_epi = g->bias != NULL || g->act != QRT_ACT_NONE || g->res != NULL;
  int64_t pc, ic, jc, ir;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) { qrt_mm_k0(g); return; }
  for (pc = 0; pc < K; pc += QRT_MM_KC) {
    const int64_t kc = K - pc < QRT_MM_KC ? K - pc : QRT_MM_KC;
    const int first = pc == 0, last = pc + kc == K;
    for (ic = 0; ic < M; ic += QRT_MM_MC) {
      const int64_t mc = M - ic < QRT_MM_MC ? M - ic : QRT_MM_MC;
#ifdef QRT_MM_TWO_PANELS
      int64_t second_panel_rows = 0;
#endif
      for (jc = 0; jc < N; jc += QRT_MM_NR) {
        const int64_t nr = N - jc < QRT_MM_NR ? N - jc : QRT_MM_NR;
        const float *bp;
        int64_t rs_bp;
#ifdef QRT_MM_TWO_PANELS
        /* Two full panels read in place: their full-height row blocks go
         * through the two-panel kernel, the rest below, panel by panel
         * (the second panel's turn starts after the rows done here). */
        int64_t done_rows = second_panel_rows, rs2;
        const float *b0 = done_rows == 0 && N - jc >= 2 * QRT_MM_NR && mc >= 4
                              ? qrt_mm_panel_in_place(g, pc, jc, mc, &rs2) : NULL;
        second_panel_rows = 0;
        if (b0) {
          const float *b1 = qrt_mm_panel_in_place(g, pc, jc + QRT_MM_NR, mc, &rs2);
          int64_t h2;
          qrt_mm_kernel_2p_fn kern2;
          for (ir = 0; (kern2 = qrt_mm_pick_2p(mc - ir, &h2, g->fused)) != NULL; ir += h2) {
            const int64_t row = ic + ir;
            const qrt_mm_epi epi = qrt_mm_epi_at(g, row, jc);
            kern2(kc, g->A + row * g->rs_a + pc * g->cs_a, g->rs_a, g->cs_a, b0, b1, rs2, g->C + row * g->ldc + jc,
                  g->ldc, first, last && has_epi ? &epi : NULL);
          }
          done_rows = second_panel_rows = ir;
        }
#else
        const int64_t done_rows = 0;
#endif
        bp = g->b_packed || nr == QRT_MM_NR ? qrt_mm_panel_in_place(g, pc, jc, mc, &rs_bp) : NULL;
        if (!bp) {
          int64_t k, j;
          const float *src = g->B + pc * g->rs_b + jc * g->cs_b;
          for (k = 0; k < kc; ++k)
            for (j = 0; j < QRT_MM_NR; ++j)
              bpanel[k * QRT_MM_NR + j] = j < nr ? src[k * g->rs_b + j * g->cs_b] : 0.0f;
          bp = bpanel;
          rs_bp = QRT_MM_NR;
        }
        for (ir = done_rows; ir < mc;) {
          int64_t h;
          const qrt_mm_kernel_fn kern = qrt_mm_pick(mc - ir, &h, g->fused);
          const int64_t row = ic + ir;
          const float *ap = g->A + row * g->rs_a + pc * g->cs_a;
          float *cp = g->C + row * g->ldc + jc;
          const qrt_mm_epi epi = qrt_mm_epi_at(g, row, jc);
          if (nr == QRT_MM_NR) {
            kern(kc, ap, g->rs_a, g->cs_a, bp, rs_bp, cp, g->ldc, first, last && has_epi ? &epi : NULL);
          } else {
            int64_t i, j;
            if (!first)
              for (i = 0; i < h; ++i)
                for (j = 0; j < nr; ++j) ctile[i * QRT_MM_NR + j] = cp[i * g->ldc + j];
            kern(kc, ap, g->rs_a, g->cs_a, bp, rs_bp, ctile, QRT_MM_NR, first, NULL);
            for (i = 0; i < h; ++i)
              for (j = 0; j < nr; ++j) {
                float v = ctile[i * QRT_MM_NR + j];
                if (last) v = qrt_mm_epi_one(&epi, i, j, v);
                cp[i * g->ldc + j] = v;
              }
          }
          ir += h;
        }
      }
    }
  }
}

/* Threads split a GEMM into blocks of rows and of whole panel pairs of
 * columns: each element is computed by the same kernel with the same k
 * order as in the serial GEMM (row blocks only change which rows share a
 * micro-tile), so every split gives the same bits.  Rows first, at least
 * 16 a block: a block of rows keeps its output in the core that writes it
 * for the next kernel (norms and elementwise ops split by rows too), and
 * char_lm's GEMMs have 64 rows and 128-256 columns.  A block needs
 * QRT_MM_PAR_MIN_MACS multiply-adds (about 2 us) to pay for a hand-off
 * to a spinning worker (qrt_parallel.c). */
#ifndef QRT_MM_PAR_MIN_MACS
#define QRT_MM_PAR_MIN_MACS 131072
#endif
#define QRT_MM_PAR_STEP (2 * QRT_MM_NR)

typedef struct qrt_mm_slices {
  const qrt_sgemm_args *g;
  int64_t rows, cols; /* per block: a multiple of 8 (or M), of QRT_MM_PAR_STEP (or N) */
  int64_t col_blocks;
} qrt_mm_slices;

QRT_INTERNAL void qrt_mm_slice(void *ctx, int64_t t) {
  const qrt_mm_slices *s = (const qrt_mm_slices *)ctx;
  const qrt_sgemm_args *g = s->g;
  qrt_sgemm_args part = *g;
  const int64_t i0 = t / s->col_blocks * s->rows, j0 = t % s->col_blocks * s->cols;
  part.M = g->M - i0 < s->rows ? g->M - i0 : s->rows;
  part.N = g->N - j0 < s->cols ? g->N - j0 : s->cols;
  part.A = g->A + i0 * g->rs_a;
  part.B = g->b_packed ? g->B + (j0 / QRT_MM_NR) * (g->K * QRT_MM_NR) : g->B + j0 * g->cs_b;
  part.C = g->C + i0 * g->ldc + j0;
  if (g->bias) part.bias = g->bias + i0 * g->bias_rs + j0 * g->bias_cs;
  if (g->res) part.res = g->res + i0 * g->res_rs + j0;
  qrt_sgemm_serial(&part);
}

QRT_API void qrt_sgemm_ex(const qrt_sgemm_args *g) {
  qrt_mm_slices s;
  const int64_t blocks = qrt_parallel_blocks(g->M, g->N, g->K, QRT_MM_PAR_MIN_MACS, 8, QRT_MM_PAR_STEP, &s.rows, &s.cols);
  if (blocks <= 1) {
    qrt_sgemm_serial(g);
    return;
  }
  s.g = g;
  s.col_blocks = (g->N + s.cols - 1) / s.cols;
  qrt_parallel_for(blocks, qrt_mm_slice, &s);
}

QRT_API void qrt_sgemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                       const float *B, int64_t ldb, float *C, int64_t ldc, const float *bias) {
  qrt_sgemm_args g;
  g.M = M; g.N = N; g.K = K;
  g.A = A; g.rs_a = lda; g.cs_a = 1;
  g.B = B; g.rs_b = ldb; g.cs_b = 1; g.b_packed = 0;
  g.C = C; g.ldc = ldc;
  g.bias = bias; g.bias_rs = 0; g.bias_cs = 1;
  g.res = NULL; g.res_rs = 0; g.res_mul = 0;
  g.act = QRT_ACT_NONE; g.act_alpha = 0.0f; g.act_beta = 0.0f;
  g.fused = 0;
  qrt_sgemm_ex(&g);
}

QRT_API int64_t qrt_packed_b_size(int64_t K, int64_t N) {
  return (N + QRT_MM_NR - 1) / QRT_MM_NR * QRT_MM_NR * K;
}

QRT_API void qrt_pack_b_strided_f32(int64_t K, int64_t N, const float *B, int64_t rs_b,
                                    int64_t cs_b, float *packed) {
  int64_t jc, k, j;
  for (jc = 0; jc < N; jc += QRT_MM_NR) {
    float *dst = packed + (jc / QRT_MM_NR) * K * QRT_MM_NR;
    for (k = 0; k < K; ++k)
      for (j = 0; j < QRT_MM_NR; ++j)
        dst[k * QRT_MM_NR + j] = jc + j < N ? B[k * rs_b + (jc + j) * cs_b] : 0.0f;
  }
}

QRT_API void qrt_pack_b_f32(int64_t K, int64_t N, const float *B, float *packed) {
  qrt_pack_b_strided_f32(K, N, B, N, 1, packed);
}

/* Batch b of a batched matmul into g (A, B, C; broadcast dims have
 * stride 0). */
QRT_INTERNAL void qrt_mm_batch_at(const qrt_matmul_params *p, const float *A, const float *B, const float *R, float *C,
                                  int64_t b, qrt_sgemm_args *g) {
  int64_t ao, bo;
  qrt_batch_offsets(p->batch_rank, p->batch_shape, p->a_batch_strides, p->b_batch_strides, b, &ao, &bo);
  g->A = A + ao;
  g->B = B + bo;
  g->C = C + b * p->M * p->N;
  g->res = R ? R + b * p->M * p->N : NULL; /* the epilogue operand has C's shape */
}

/* Threads take whole batches (attention's heads) when one batch's GEMM is
 * too small to split; a task runs its batches' GEMMs serially. */
typedef struct qrt_mm_batches {
  const qrt_matmul_params *p;
  const float *A, *B, *R;
  float *C;
  const qrt_sgemm_args *g;
} qrt_mm_batches;

QRT_INTERNAL void qrt_mm_batch_range(void *ctx, int64_t b0, int64_t b1) {
  const qrt_mm_batches *s = (const qrt_mm_batches *)ctx;
  qrt_sgemm_args g = *s->g;
  int64_t b;
  for (b = b0; b < b1; ++b) {
    qrt_mm_batch_at(s->p, s->A, s->B, s->R, s->C, b, &g);
    qrt_sgemm_serial(&g);
  }
}

QRT_API void qrt_matmul_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_matmul_params *p = (const qrt_matmul_params *)params;
  const float *A = (const float *)in[0];
  const float *B = (const float *)in[1];
  const float *R = p->residual ? (const float *)in[3] : NULL; /* the epilogue operand */
  float *C = (float *)out[0];
  const int64_t macs = p->M * p->N * p->K;
  const int64_t nb = qrt_batch_count(p->batch_rank, p->batch_shape);
  int64_t b;
  qrt_sgemm_args g;
  g.M = p->M; g.N = p->N; g.K = p->K;
  g.rs_a = p->trans_a ? 1 : p->K;
  g.cs_a = p->trans_a ? p->M : 1;
  g.rs_b = p->trans_b ? 1 : p->N;
  g.cs_b = p->trans_b ? p->K : 1;
  g.b_packed = p->b_packed;
  g.ldc = p->N;
  g.bias = (const float *)in[2];
  g.bias_rs = p->bias_rs;
  g.bias_cs = p->bias_cs;
  g.act = p->act;
  g.act_alpha = p->act_alpha;
  g.act_beta = p->act_beta;
  g.fused = p->fused;
  g.res = R;
  g.res_rs = p->N;
  g.res_mul = p->residual == 2;
  if (nb > 1 && macs > 0 && macs < 2 * QRT_MM_PAR_MIN_MACS) {
    qrt_mm_batches s;
    s.p = p; s.A = A; s.B = B; s.R = R; s.C = C; s.g = &g;
    qrt_parallel_range(nb, 1, (QRT_MM_PAR_MIN_MACS + macs - 1) / macs, qrt_mm_batch_range, &s);
    return;
  }
  for (b = 0; b < nb; ++b) {
    qrt_mm_batch_at(p, A, B, R, C, b, &g);
    qrt_sgemm_ex(&g);
  }
}
