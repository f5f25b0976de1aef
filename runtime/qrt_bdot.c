#include "qrt.h"
/* qrt_bdot.c - q.bmatmul's integer path: block dot products of integer
 * mantissas with the block scales applied once per block.  Semantics: see
 * QRT_BMATMUL_PARAMS in qrt.h; qrt_bmatmul.c calls qrt_bdot_matmul first
 * and falls back to its float path where the plan below does not apply.
 *
 * Applies when the activations and the weights are both block formats of
 * one block size whose elements are small integers times a fixed power of
 * two (qrt_bfmt_int_table: BFP, MXINT8, MXFP6, MXFP4, NVFP4, BBFP; not
 * FP8).  Then every value is k 2^-sh s t (k an integer mantissa, s the
 * block's scale, t NVFP4's vector scale or 1) and, per output,
 *     isum_b = sum_{k in block b} ka * kw                     (int32, exact)
 *     acc    = sum over b = 0, 1, ... in that order of
 *              (double)isum_b * (sa_b * sw_b)                 (double)
 *     C      = (float)(acc * (ta 2^-sha * tw 2^-shw) [+ (double)bias]).
 *
 * Why the int32 sums cannot overflow: |isum_b| <= block * kmax_a * kmax_w,
 * and the plan refuses a pair unless that bound is below 2^31.  kmax over
 * each table's codes (the unused code -2^(b-1) of BFP's and BBFP's two's
 * complement included): bfp8_64 64 * 128^2 = 2^20, mxint8 / bfp8_32 2^19,
 * bbfp8 32 * 2048^2 = 2^27, bbfp6 32 * 256^2 = 2^21, mxfp6_e3m2
 * 32 * 448^2 < 2^23, mxfp6_e2m3 32 * 60^2, bbfp4 32 * 32^2, mxfp4
 * 32 * 12^2, bfp4_64 64 * 8^2.  VNNI's biased form sum (ka + 128) kw
 * stays below 64 * 255 * 128 < 2^21.
 *
 * Why every path gives the same bits: the int32 sums are exact; sa_b and
 * sw_b are powers of two in [2^-127, 2^127] (E8M0) or E4M3 values (4
 * significant bits, 2^-9 .. 448), so sa_b sw_b is exact in double, and so
 * is (double)isum_b times it (at most 31 + 8 significant bits, exponents
 * far inside double's range, so no underflow or overflow); each block's
 * term is therefore exact and the only roundings are the additions, in
 * block order, then the final multiply (exact for E8M0 formats: a power
 * of two), the bias add and the conversion to float.  A fused
 * multiply-add of an exact product rounds like the add alone, so even FP
 * contraction could not change the result.  NaN scales (E8M0 255, E4M3
 * S.1111.111: a NaN or Inf in the encoded block) make the term, and the
 * output, NaN, as decoding would.  The old float path summed the decoded
 * values in the GEMM's order instead; this one is exact up to the block
 * sums' double additions.
 *
 * Layouts (scratch, qrt_bdot_scratch): the activation rows, encoded at run
 * time, as mantissas [rows rounded up to 4][blocks * block] (int8, or
 * int16 when either format's mantissas pass 127) with their block scales;
 * the weights, still in their packed per-column bytes (4-bit formats keep
 * 4 bits per value in memory), unpacked per call one panel of 16 columns
 * at a time into [K / G][16 columns][G] mantissas, G = 4 (int8: the
 * vpdpbusd operand) or 2 (int16: vpmaddwd), plus per block and column the
 * scale and 128 * the column sum (VNNI's correction).  BFP / MXINT8 rows
 * and run-time B panels come from qrt_bdot_enc.c's vectorized encoders
 * (the same codes as qrt_bfmt_encode), the other formats through
 * qrt_bfmt_encode_int / qrt_bfmt_unpack_int and the code tables. */

#include <math.h>

#ifndef QRT_QMM_PORTABLE
#if defined(__AVX512F__) && defined(__AVX512BW__)
#define QRT_BDOT_AVX512 1
#if defined(__AVX512VNNI__)
#define QRT_BDOT_VNNI 1
#endif
#elif defined(__AVX2__)
#define QRT_BDOT_AVX2 1
#endif
#endif
#if defined(QRT_BDOT_AVX512) || defined(QRT_BDOT_AVX2)
#include <immintrin.h>
#endif

#define QRT_BDOT_NR 16 /* columns of a panel: one zmm of int32 */
#if defined(__GNUC__)
#define QRT_BDOT_UNROLL _Pragma("GCC unroll 4") /* the tile's rows stay in registers */
#else
#define QRT_BDOT_UNROLL
#endif
#define QRT_BDOT_MR 4  /* rows of a tile */

typedef struct qrt_bdot_plan {
  int32_t blk, nb, wide, sha, shw; /* block, blocks per vector, int16 mantissas, element shifts */
  int32_t enc_a, enc_w;            /* A rows / run-time B columns through qrt_bdot_enc.c */
  int64_t kb, mp, k4;              /* nb * blk; M rounded up to QRT_BDOT_MR; K rounded up to 4 */
  double fa, fw;                   /* 2^-sha, 2^-shw */
  int16_t ta[QRT_BFMT_MAX_CODES], tw[QRT_BFMT_MAX_CODES]; /* code -> mantissa */
} qrt_bdot_plan;

typedef struct qrt_bdot_bufs {
  void *am;       /* A mantissas [mp][kb], int8 or int16 */
  double *as;     /* A block scales [mp][nb] */
  double *af;     /* A row factors t 2^-sha [mp] */
  void *wm;       /* W panel mantissas [kb / G][16][G] */
  int32_t *wc;    /* 128 * W panel column sums per block [nb][16] */
  double *ws;     /* W panel block scales [nb][16] */
  double *wf;     /* W panel column factors t 2^-shw [16] */
  double *vs;     /* one vector's block scales [nb] */
  double *acc;    /* one tile's sums [MR][16] */
  int16_t *kv;    /* one vector's mantissas [kb] */
  float *col;     /* one run-time B column [K] */
} qrt_bdot_bufs;

QRT_API const char *qrt_bdot_path(void) {
#if defined(QRT_BDOT_VNNI)
  return "avx512vnni";
#elif defined(QRT_BDOT_AVX512)
  return "avx512bw";
#elif defined(QRT_BDOT_AVX2)
  return "avx2";
#else
  return "portable";
#endif
}

/* One operand's integer view: qrt_bfmt_int_table's shift (-1: none),
 * code -> mantissa table and kmax, or, where qrt_bdot_enc.c encodes the
 * operand (enc: a BFP format), no table: the encoder writes mantissas
 * itself, and BFP's elements are the b-bit two's complement integers
 * (qrt_fmt_bfp.c: shift 0, kmax 2^(b-1); test_runtime_bdot_enc.c checks
 * that against qrt_bfmt_int_table), so a call skips the table's 2^b
 * element look-ups. */
QRT_INTERNAL int32_t qrt_bdot_view(int32_t fmt, int enc, int16_t *table, int32_t *kmax) {
  if (enc) {
    *kmax = 1 << (qrt_bformat_get(fmt)->element_bits - 1);
    return 0;
  }
  return qrt_bfmt_int_table(fmt, table, kmax);
}

/* 0 when the integer path does not apply (see the top of this file). */
QRT_INTERNAL int qrt_bdot_make_plan(const qrt_bmatmul_params *p, qrt_bdot_plan *pl) {
  const qrt_bformat *fa = qrt_bformat_get(p->a_format), *fw = qrt_bformat_get(p->w_format);
  int32_t ka = 0, kw = 0, c;
  if (!fa || !fw || fa->block != fw->block || fa->block % 4 != 0 || p->K <= 0 || p->M <= 0 || p->N <= 0) return 0;
  pl->enc_a = qrt_bdot_enc_fits(p->a_format);
  pl->enc_w = p->b_runtime && qrt_bdot_enc_fits(p->w_format);
  pl->sha = qrt_bdot_view(p->a_format, pl->enc_a, pl->ta, &ka);
  pl->shw = qrt_bdot_view(p->w_format, pl->enc_w, pl->tw, &kw);
  if (pl->sha < 0 || pl->shw < 0 || (int64_t)fa->block * ka * kw >= (int64_t)1 << 31) return 0;
  /* int8 holds every mantissa (BFP8's unused code -128 included) */
  pl->wide = 0;
  for (c = 0; !pl->enc_a && c < 1 << fa->element_bits; ++c) pl->wide |= pl->ta[c] < -128 || pl->ta[c] > 127;
  for (c = 0; !pl->enc_w && c < 1 << fw->element_bits; ++c) pl->wide |= pl->tw[c] < -128 || pl->tw[c] > 127;
  if (pl->wide) { /* int16 rows: the encoders' int8 does not serve; the tables do */
    if (pl->enc_a) pl->sha = qrt_bfmt_int_table(p->a_format, pl->ta, &ka);
    if (pl->enc_w) pl->shw = qrt_bfmt_int_table(p->w_format, pl->tw, &kw);
    pl->enc_a = pl->enc_w = 0;
  }
  pl->fa = ldexp(1.0, -pl->sha); /* the row / column factors t 2^-sh where t = 1 */
  pl->fw = ldexp(1.0, -pl->shw);
  pl->blk = fa->block;
  pl->nb = (int32_t)((p->K + fa->block - 1) / fa->block);
  pl->kb = (int64_t)pl->nb * pl->blk;
  pl->mp = (p->M + QRT_BDOT_MR - 1) / QRT_BDOT_MR * QRT_BDOT_MR;
  pl->k4 = (p->K + 3) / 4 * 4;
  return 1;
}

/* Carves the scratch (base NULL: only the size); every region 64-byte
 * aligned, the base rounded up first (hence the 64 bytes of slack). */
QRT_INTERNAL int64_t qrt_bdot_carve(const qrt_bmatmul_params *p, const qrt_bdot_plan *pl, unsigned char *base,
                                    qrt_bdot_bufs *b) {
  const int64_t e = pl->wide ? 2 : 1;
  const int64_t size[11] = {pl->mp * pl->kb * e, pl->mp * pl->nb * 8, pl->mp * 8, pl->kb * QRT_BDOT_NR * e,
                            (int64_t)pl->nb * QRT_BDOT_NR * 4, (int64_t)pl->nb * QRT_BDOT_NR * 8, QRT_BDOT_NR * 8,
                            (int64_t)pl->nb * 8, QRT_BDOT_MR * QRT_BDOT_NR * 8, pl->kb * 2, p->K * 4};
  void *ptr[11];
  int64_t off = 0;
  int i;
  if (base) base += (64 - (uintptr_t)base % 64) % 64;
  for (i = 0; i < 11; ++i) {
    ptr[i] = base ? (void *)(base + off) : NULL;
    off += (size[i] + 63) / 64 * 64;
  }
  if (b) {
    b->am = ptr[0];
    b->as = (double *)ptr[1];
    b->af = (double *)ptr[2];
    b->wm = ptr[3];
    b->wc = (int32_t *)ptr[4];
    b->ws = (double *)ptr[5];
    b->wf = (double *)ptr[6];
    b->vs = (double *)ptr[7];
    b->acc = (double *)ptr[8];
    b->kv = (int16_t *)ptr[9];
    b->col = (float *)ptr[10];
  }
  return off + 64;
}

QRT_API int64_t qrt_bdot_scratch(const qrt_bmatmul_params *p) {
  qrt_bdot_plan pl;
  return qrt_bdot_make_plan(p, &pl) ? qrt_bdot_carve(p, &pl, NULL, NULL) : 0;
}

/* Row m of A (float) encoded in a_format and unpacked into the tile rows;
 * rows past M are zero with zero scales. */
QRT_INTERNAL void qrt_bdot_load_rows(const qrt_bmatmul_params *p, const qrt_bdot_plan *pl, const qrt_bdot_bufs *b,
                                     const float *A) {
  int64_t m, k;
  double t;
  if (pl->enc_a) { /* BFP / MXINT8: the vectorized encoder, int8 straight into the rows */
    for (m = 0; m < pl->mp; ++m) {
      if (m < p->M) {
        qrt_bdot_enc_row(p->a_format, A + m * p->K, p->K, (int8_t *)b->am + m * pl->kb, b->as + m * pl->nb);
        b->af[m] = pl->fa; /* t = 1 */
      } else {
        memset((int8_t *)b->am + m * pl->kb, 0, (size_t)pl->kb);
        memset(b->as + m * pl->nb, 0, sizeof(double) * (size_t)pl->nb);
        b->af[m] = 0.0;
      }
    }
    return;
  }
  for (m = 0; m < pl->mp; ++m) {
    double *as = b->as + m * pl->nb;
    if (m < p->M) {
      qrt_bfmt_encode_int(p->a_format, A + m * p->K, p->K, pl->ta, b->kv, as, &t);
      b->af[m] = ldexp(t, -pl->sha); /* exact: t is a float */
    } else {
      memset(b->kv, 0, sizeof(int16_t) * (size_t)pl->kb);
      memset(as, 0, sizeof(double) * (size_t)pl->nb);
      b->af[m] = 0.0;
    }
    if (pl->wide)
      memcpy((int16_t *)b->am + m * pl->kb, b->kv, sizeof(int16_t) * (size_t)pl->kb);
    else
      for (k = 0; k < pl->kb; ++k) ((int8_t *)b->am)[m * pl->kb + k] = (int8_t)b->kv[k];
  }
}

/* Columns [n0, n0 + 16) of the weights into the panel: from the packed
 * columns w, or, for a run-time B (float [K, N] at bf), each column
 * encoded here.  Columns past N are zero with zero scales. */
QRT_INTERNAL void qrt_bdot_load_panel(const qrt_bmatmul_params *p, const qrt_bdot_plan *pl, const qrt_bdot_bufs *b,
                                      const uint8_t *w, const float *bf, int64_t n0) {
  const int64_t col_bytes = qrt_bfmt_bytes(p->w_format, p->K);
  int64_t c, k, bi;
  double t = 0.0;
  if (bf && pl->enc_w) { /* BFP / MXINT8: the vectorized encoder, across the 16 columns */
    qrt_bdot_enc_panel(p->w_format, bf, p->K, p->N, n0, (int8_t *)b->wm, b->ws, b->wc);
    for (c = 0; c < QRT_BDOT_NR; ++c) b->wf[c] = n0 + c < p->N ? pl->fw : 0.0; /* t = 1 */
    return;
  }
  for (c = 0; c < QRT_BDOT_NR; ++c) {
    const int64_t n = n0 + c;
    if (n < p->N) {
      if (bf) {
        for (k = 0; k < p->K; ++k) b->col[k] = bf[k * p->N + n];
        qrt_bfmt_encode_int(p->w_format, b->col, p->K, pl->tw, b->kv, b->vs, &t);
      } else {
        qrt_bfmt_unpack_int(p->w_format, w + n * col_bytes, p->K, pl->tw, b->kv, b->vs, &t);
      }
    } else {
      memset(b->kv, 0, sizeof(int16_t) * (size_t)pl->kb);
      memset(b->vs, 0, sizeof(double) * (size_t)pl->nb);
    }
    b->wf[c] = n < p->N ? ldexp(t, -pl->shw) : 0.0;
    for (bi = 0; bi < pl->nb; ++bi) {
      int32_t sum = 0;
      for (k = bi * pl->blk; k < (bi + 1) * pl->blk; ++k) sum += b->kv[k];
      b->wc[bi * QRT_BDOT_NR + c] = 128 * sum; /* |sum| <= 64 * 127 */
      b->ws[bi * QRT_BDOT_NR + c] = b->vs[bi];
    }
    if (pl->wide) /* group g of 2 k at [g][c][0..1] */
      for (k = 0; k < pl->kb; k += 2) memcpy((int16_t *)b->wm + (k / 2 * QRT_BDOT_NR + c) * 2, b->kv + k, 4);
    else /* group g of 4 k at [g][c][0..3] */
      for (k = 0; k < pl->kb; k += 4) {
        int8_t *at = (int8_t *)b->wm + (k / 4 * QRT_BDOT_NR + c) * 4;
        at[0] = (int8_t)b->kv[k];
        at[1] = (int8_t)b->kv[k + 1];
        at[2] = (int8_t)b->kv[k + 2];
        at[3] = (int8_t)b->kv[k + 3];
      }
  }
}

/* The end of block bi's k in a tile: the last block stops at K rounded up
 * to 4 (k past K are padding, mantissa 0 in both operands: skipping them
 * leaves every int32 block sum as it was). */
#define QRT_BDOT_KEND(pl, bi) ((bi) + 1 < (pl)->nb ? ((bi) + 1) * (pl)->blk : (pl)->k4)

/* Tiles: acc[i][c] = sum over blocks, in order, of
 * (double)isum * (as[m0 + i][block] * ws[block][c]), i < 4, c < 16. */
#define QRT_BDOT_TILE_C(NAME, T, G)                                                                  \
  QRT_INTERNAL void NAME(const qrt_bdot_plan *pl, const qrt_bdot_bufs *b, int64_t m0) {             \
    const T *A = (const T *)b->am + m0 * pl->kb, *W = (const T *)b->wm;                              \
    int64_t bi, k, i, c;                                                                             \
    for (i = 0; i < QRT_BDOT_MR * QRT_BDOT_NR; ++i) b->acc[i] = 0.0;                                 \
    for (bi = 0; bi < pl->nb; ++bi) {                                                                \
      int32_t s[QRT_BDOT_MR][QRT_BDOT_NR];                                                           \
      memset(s, 0, sizeof s);                                                                        \
      for (k = bi * pl->blk; k < QRT_BDOT_KEND(pl, bi); ++k) {                                       \
        const T *wk = W + (k / (G)) * QRT_BDOT_NR * (G) + k % (G);                                   \
        for (i = 0; i < QRT_BDOT_MR; ++i) {                                                          \
          const int32_t av = A[i * pl->kb + k];                                                      \
          for (c = 0; c < QRT_BDOT_NR; ++c) s[i][c] += av * wk[c * (G)];                             \
        }                                                                                            \
      }                                                                                              \
      for (i = 0; i < QRT_BDOT_MR; ++i) {                                                            \
        const double sa = b->as[(m0 + i) * pl->nb + bi];                                             \
        for (c = 0; c < QRT_BDOT_NR; ++c)                                                            \
          b->acc[i * QRT_BDOT_NR + c] += (double)s[i][c] * (sa * b->ws[bi * QRT_BDOT_NR + c]);       \
      }                                                                                              \
    }                                                                                                \
  }
QRT_BDOT_TILE_C(qrt_bdot_tile_i8_c, int8_t, 4)
QRT_BDOT_TILE_C(qrt_bdot_tile_i16_c, int16_t, 2)

#if defined(QRT_BDOT_AVX512)
/* The block sums s[i] (16 columns) scaled into the double sums d[i]: the
 * same operations, in the same order, as the C tile's last loop. */
QRT_INTERNAL void qrt_bdot_scale_avx512(const qrt_bdot_plan *pl, const qrt_bdot_bufs *b, int64_t m0, int64_t bi,
                                        const __m512i *s, __m512d (*d)[2]) {
  const __m512d w0 = _mm512_loadu_pd(b->ws + bi * QRT_BDOT_NR), w1 = _mm512_loadu_pd(b->ws + bi * QRT_BDOT_NR + 8);
  int i;
  QRT_BDOT_UNROLL for (i = 0; i < QRT_BDOT_MR; ++i) {
    const __m512d sa = _mm512_set1_pd(b->as[(m0 + i) * pl->nb + bi]);
    const __m512d lo = _mm512_cvtepi32_pd(_mm512_castsi512_si256(s[i]));
    const __m512d hi = _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(s[i], 1));
    d[i][0] = _mm512_add_pd(d[i][0], _mm512_mul_pd(lo, _mm512_mul_pd(sa, w0)));
    d[i][1] = _mm512_add_pd(d[i][1], _mm512_mul_pd(hi, _mm512_mul_pd(sa, w1)));
  }
}

QRT_INTERNAL void qrt_bdot_store_avx512(const qrt_bdot_bufs *b, __m512d (*d)[2]) {
  int i;
  for (i = 0; i < QRT_BDOT_MR; ++i) {
    _mm512_storeu_pd(b->acc + i * QRT_BDOT_NR, d[i][0]);
    _mm512_storeu_pd(b->acc + i * QRT_BDOT_NR + 8, d[i][1]);
  }
}

/* int16 mantissas: vpmaddwd on pairs of k (lane c: a[k] w[k][c] +
 * a[k+1] w[k+1][c]). */
QRT_INTERNAL void qrt_bdot_tile_i16_avx512(const qrt_bdot_plan *pl, const qrt_bdot_bufs *b, int64_t m0) {
  const int16_t *A = (const int16_t *)b->am + m0 * pl->kb, *W = (const int16_t *)b->wm;
  __m512d d[QRT_BDOT_MR][2];
  int64_t bi, g;
  int i;
  for (i = 0; i < QRT_BDOT_MR; ++i) d[i][0] = d[i][1] = _mm512_setzero_pd();
  for (bi = 0; bi < pl->nb; ++bi) {
    __m512i s[QRT_BDOT_MR];
    QRT_BDOT_UNROLL for (i = 0; i < QRT_BDOT_MR; ++i) s[i] = _mm512_setzero_si512();
    for (g = bi * pl->blk / 2; g < QRT_BDOT_KEND(pl, bi) / 2; ++g) {
      const __m512i wv = _mm512_loadu_si512((const void *)(W + g * 2 * QRT_BDOT_NR));
      QRT_BDOT_UNROLL for (i = 0; i < QRT_BDOT_MR; ++i) {
        int32_t a2;
        memcpy(&a2, A + i * pl->kb + 2 * g, 4);
        s[i] = _mm512_add_epi32(s[i], _mm512_madd_epi16(_mm512_set1_epi32(a2), wv));
      }
    }
    qrt_bdot_scale_avx512(pl, b, m0, bi, s, d);
  }
  qrt_bdot_store_avx512(b, d);
}
#endif

#if defined(QRT_BDOT_VNNI)
/* int8 mantissas: vpdpbusd takes an unsigned operand, so the row's bytes
 * go in biased (a + 128, an xor of the sign bit) and the block's
 * 128 * column sum comes off: sum (a + 128) w - 128 sum w = sum a w. */
QRT_INTERNAL void qrt_bdot_tile_i8_avx512(const qrt_bdot_plan *pl, const qrt_bdot_bufs *b, int64_t m0) {
  const int8_t *A = (const int8_t *)b->am + m0 * pl->kb, *W = (const int8_t *)b->wm;
  const __m512i flip = _mm512_set1_epi8(-128);
  __m512d d[QRT_BDOT_MR][2];
  int64_t bi, g;
  int i;
  for (i = 0; i < QRT_BDOT_MR; ++i) d[i][0] = d[i][1] = _mm512_setzero_pd();
  for (bi = 0; bi < pl->nb; ++bi) {
    const __m512i corr = _mm512_loadu_si512((const void *)(b->wc + bi * QRT_BDOT_NR));
    __m512i s[QRT_BDOT_MR];
    QRT_BDOT_UNROLL for (i = 0; i < QRT_BDOT_MR; ++i) s[i] = _mm512_setzero_si512();
    for (g = bi * pl->blk / 4; g < QRT_BDOT_KEND(pl, bi) / 4; ++g) {
      const __m512i wv = _mm512_loadu_si512((const void *)(W + g * 4 * QRT_BDOT_NR));
      QRT_BDOT_UNROLL for (i = 0; i < QRT_BDOT_MR; ++i) {
        int32_t a4;
        memcpy(&a4, A + i * pl->kb + 4 * g, 4);
        s[i] = _mm512_dpbusd_epi32(s[i], _mm512_xor_si512(_mm512_set1_epi32(a4), flip), wv);
      }
    }
    QRT_BDOT_UNROLL for (i = 0; i < QRT_BDOT_MR; ++i) s[i] = _mm512_sub_epi32(s[i], corr);
    qrt_bdot_scale_avx512(pl, b, m0, bi, s, d);
  }
  qrt_bdot_store_avx512(b, d);
}
#endif

#if defined(QRT_BDOT_AVX2)
/* AVX2 (no VNNI, no 512-bit lanes): the tiles in 256-bit registers.  The
 * block sums are exact int32 sums whatever the order of their integer
 * additions, and the double accumulation below is the C tile's last loop
 * (acc += (double)s * (sa * ws), element by element), so the same bits. */
QRT_INTERNAL void qrt_bdot_scale_avx2(const qrt_bdot_plan *pl, const qrt_bdot_bufs *b, int64_t m0, int64_t bi,
                                      int i, __m256i s0, __m256i s1) {
  const double *ws = b->ws + bi * QRT_BDOT_NR;
  const __m256d sa = _mm256_set1_pd(b->as[(m0 + i) * pl->nb + bi]);
  double *acc = b->acc + i * QRT_BDOT_NR;
  const __m256d s[4] = {_mm256_cvtepi32_pd(_mm256_castsi256_si128(s0)), _mm256_cvtepi32_pd(_mm256_extracti128_si256(s0, 1)),
                        _mm256_cvtepi32_pd(_mm256_castsi256_si128(s1)), _mm256_cvtepi32_pd(_mm256_extracti128_si256(s1, 1))};
  int q;
  for (q = 0; q < 4; ++q)
    _mm256_storeu_pd(acc + 4 * q, _mm256_add_pd(_mm256_loadu_pd(acc + 4 * q),
                                                _mm256_mul_pd(s[q], _mm256_mul_pd(sa, _mm256_loadu_pd(ws + 4 * q)))));
}

/* int16 mantissas: vpmaddwd on pairs of k, 8 columns per register. */
QRT_INTERNAL void qrt_bdot_tile_i16_avx2(const qrt_bdot_plan *pl, const qrt_bdot_bufs *b, int64_t m0) {
  const int16_t *A = (const int16_t *)b->am + m0 * pl->kb, *W = (const int16_t *)b->wm;
  int64_t bi, g;
  int i;
  for (i = 0; i < QRT_BDOT_MR * QRT_BDOT_NR; ++i) b->acc[i] = 0.0;
  for (bi = 0; bi < pl->nb; ++bi) {
    __m256i s[QRT_BDOT_MR][2];
    QRT_BDOT_UNROLL for (i = 0; i < QRT_BDOT_MR; ++i) s[i][0] = s[i][1] = _mm256_setzero_si256();
    for (g = bi * pl->blk / 2; g < QRT_BDOT_KEND(pl, bi) / 2; ++g) {
      const __m256i w0 = _mm256_loadu_si256((const __m256i *)(const void *)(W + g * 2 * QRT_BDOT_NR));
      const __m256i w1 = _mm256_loadu_si256((const __m256i *)(const void *)(W + g * 2 * QRT_BDOT_NR + 16));
      QRT_BDOT_UNROLL for (i = 0; i < QRT_BDOT_MR; ++i) {
        int32_t a2;
        __m256i va;
        memcpy(&a2, A + i * pl->kb + 2 * g, 4);
        va = _mm256_set1_epi32(a2);
        s[i][0] = _mm256_add_epi32(s[i][0], _mm256_madd_epi16(va, w0));
        s[i][1] = _mm256_add_epi32(s[i][1], _mm256_madd_epi16(va, w1));
      }
    }
    for (i = 0; i < QRT_BDOT_MR; ++i) qrt_bdot_scale_avx2(pl, b, m0, bi, i, s[i][0], s[i][1]);
  }
}

/* int8 mantissas, two rows at a time: a group's 64 bytes (16 columns x 4
 * k) widened to int16 in four registers of 4 columns, vpmaddwd with the
 * row's 4 values (int16, repeated every 64 bits) gives (column, k pair)
 * lanes, and hadd + a lane permute fold the pairs (qrt_qmatmul.c's AVX2
 * kernel does the same). */
QRT_INTERNAL void qrt_bdot_tile_i8_avx2(const qrt_bdot_plan *pl, const qrt_bdot_bufs *b, int64_t m0) {
  const int8_t *A = (const int8_t *)b->am + m0 * pl->kb, *W = (const int8_t *)b->wm;
  int64_t bi, g;
  int i, r, q;
  for (i = 0; i < QRT_BDOT_MR * QRT_BDOT_NR; ++i) b->acc[i] = 0.0;
  for (bi = 0; bi < pl->nb; ++bi)
    for (i = 0; i < QRT_BDOT_MR; i += 2) {
      __m256i c[2][4];
      QRT_BDOT_UNROLL for (r = 0; r < 2; ++r)
        QRT_BDOT_UNROLL for (q = 0; q < 4; ++q) c[r][q] = _mm256_setzero_si256();
      for (g = bi * pl->blk / 4; g < QRT_BDOT_KEND(pl, bi) / 4; ++g) {
        __m256i w[4];
        QRT_BDOT_UNROLL for (q = 0; q < 4; ++q)
          w[q] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(W + g * 4 * QRT_BDOT_NR + 16 * q)));
        QRT_BDOT_UNROLL for (r = 0; r < 2; ++r) {
          int32_t a4;
          __m256i va;
          memcpy(&a4, A + (i + r) * pl->kb + 4 * g, 4);
          va = _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(a4)));
          QRT_BDOT_UNROLL for (q = 0; q < 4; ++q) c[r][q] = _mm256_add_epi32(c[r][q], _mm256_madd_epi16(w[q], va));
        }
      }
      for (r = 0; r < 2; ++r)
        qrt_bdot_scale_avx2(pl, b, m0, bi, i + r,
                            _mm256_permute4x64_epi64(_mm256_hadd_epi32(c[r][0], c[r][1]), 0xD8),
                            _mm256_permute4x64_epi64(_mm256_hadd_epi32(c[r][2], c[r][3]), 0xD8));
    }
}
#endif

QRT_INTERNAL void qrt_bdot_tile(const qrt_bdot_plan *pl, const qrt_bdot_bufs *b, int64_t m0) {
#if defined(QRT_BDOT_AVX512)
  if (pl->wide) {
    qrt_bdot_tile_i16_avx512(pl, b, m0);
    return;
  }
#if defined(QRT_BDOT_VNNI)
  qrt_bdot_tile_i8_avx512(pl, b, m0);
  return;
#endif
#elif defined(QRT_BDOT_AVX2)
  if (pl->wide)
    qrt_bdot_tile_i16_avx2(pl, b, m0);
  else
    qrt_bdot_tile_i8_avx2(pl, b, m0);
  return;
#endif
  if (pl->wide)
    qrt_bdot_tile_i16_c(pl, b, m0);
  else
    qrt_bdot_tile_i8_c(pl, b, m0);
}

/* The tile's rows m0 .. (at most 4, below M) of C, its nc columns:
 *   C[i][c] = (float)(acc[i][c] * (af[m0 + i] * wf[c]) [+ (double)bias[c]])
 * (C and bias already offset to the tile).  AVX-512: the same operations
 * in the same order on 8 doubles at a time; the conversion to float
 * rounds like the C cast (both in the current rounding mode). */
#if defined(QRT_BDOT_AVX512)
QRT_INTERNAL void qrt_bdot_out(const qrt_bmatmul_params *p, const qrt_bdot_bufs *b, int64_t m0, int64_t nc,
                               const float *bias, float *C) {
  const __mmask16 mk = (__mmask16)(nc >= QRT_BDOT_NR ? 0xffffu : (1u << nc) - 1u);
  const __m512d w0 = _mm512_loadu_pd(b->wf), w1 = _mm512_loadu_pd(b->wf + 8);
  __m512d b0 = _mm512_setzero_pd(), b1 = _mm512_setzero_pd();
  int64_t i;
  if (bias) {
    const __m512 bv = _mm512_maskz_loadu_ps(mk, bias);
    b0 = _mm512_cvtps_pd(_mm512_castps512_ps256(bv));
    b1 = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(bv), 1)));
  }
  for (i = 0; i < QRT_BDOT_MR && m0 + i < p->M; ++i) {
    const __m512d af = _mm512_set1_pd(b->af[m0 + i]);
    __m512d y0 = _mm512_mul_pd(_mm512_loadu_pd(b->acc + i * QRT_BDOT_NR), _mm512_mul_pd(af, w0));
    __m512d y1 = _mm512_mul_pd(_mm512_loadu_pd(b->acc + i * QRT_BDOT_NR + 8), _mm512_mul_pd(af, w1));
    if (bias) {
      y0 = _mm512_add_pd(y0, b0);
      y1 = _mm512_add_pd(y1, b1);
    }
    _mm512_mask_storeu_ps(C + i * p->N, mk,
                          _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(_mm512_cvtpd_ps(y0))),
                                                              _mm256_castps_pd(_mm512_cvtpd_ps(y1)), 1)));
  }
}
#else
QRT_INTERNAL void qrt_bdot_out(const qrt_bmatmul_params *p, const qrt_bdot_bufs *b, int64_t m0, int64_t nc,
                               const float *bias, float *C) {
  int64_t i, c;
  for (i = 0; i < QRT_BDOT_MR && m0 + i < p->M; ++i)
    for (c = 0; c < nc; ++c) {
      double y = b->acc[i * QRT_BDOT_NR + c] * (b->af[m0 + i] * b->wf[c]);
      if (bias) y += (double)bias[c];
      C[i * p->N + c] = (float)y;
    }
}
#endif

QRT_API int qrt_bdot_matmul(const qrt_bmatmul_params *p, const void *const *in, void *const *out) {
  const int64_t batches = p->batch > 0 ? p->batch : 1;
  const float *bias = (const float *)in[2];
  qrt_bdot_plan pl;
  qrt_bdot_bufs b;
  int64_t bt, n0, m0;
  if (!qrt_bdot_make_plan(p, &pl)) return 0;
  (void)qrt_bdot_carve(p, &pl, (unsigned char *)in[3], &b);
  for (bt = 0; bt < batches; ++bt) {
    const float *B = p->b_runtime ? (const float *)in[1] + bt * p->K * p->N : NULL;
    float *C = (float *)out[0] + bt * p->M * p->N;
    qrt_bdot_load_rows(p, &pl, &b, (const float *)in[0] + bt * p->M * p->K);
    for (n0 = 0; n0 < p->N; n0 += QRT_BDOT_NR) {
      const int64_t nc = p->N - n0 < QRT_BDOT_NR ? p->N - n0 : QRT_BDOT_NR;
      qrt_bdot_load_panel(p, &pl, &b, (const uint8_t *)in[1], B, n0);
      for (m0 = 0; m0 < p->M; m0 += QRT_BDOT_MR) {
        qrt_bdot_tile(&pl, &b, m0);
        qrt_bdot_out(p, &b, m0, nc, bias ? bias + n0 : NULL, C + m0 * p->N + n0);
      }
    }
  }
  return 1;
}
