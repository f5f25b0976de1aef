#include "qrt.h"
/* qrt_qmatmul_float.c - quantized-weight matmuls with float activations at
 * their boundary: dynamic per-row activation quantization
 * (qrt_qmatmul_dyn_f32, QuaRot's per-token scales) and weight-only
 * quantization (qrt_wmatmul_f32: W8A16 / W4A16).  Semantics: see
 * QRT_QMATMUL_PARAMS in qrt.h.  Needs qrt_qmatmul.c (integer GEMM and
 * weight layouts), qrt_matmul.c (float GEMM) and qrt_quant.c (rounding):
 * see QRT_FILE_DEPS.
 *
 * The weight-only kernel has two paths.  Up to QRT_WMATMUL_ROWS rows (all
 * batches together: decoding, one token per step) it multiplies straight
 * from the codes (qrt_wmm_rows, its sum order documented there): at M = 1
 * it reads 4 or 8 bits per weight and does one multiply-add per weight.
 * Past that it rebuilds one 16-column float panel at a time from the codes
 * and runs the float GEMM on it, so the arithmetic is the float GEMM's
 * (its sum order does not depend on N, so the result equals a float matmul
 * by the dequantized weights) and the rebuild is shared by all rows. */
#include <math.h>
#include <string.h>

QRT_INTERNAL int64_t qrt_qmmf_batches(const qrt_qmatmul_params *p) {
  return qrt_batch_count(p->batch_rank, p->batch_shape);
}

/* Element offset of batch b of A. */
QRT_INTERNAL int64_t qrt_qmmf_a_offset(const qrt_qmatmul_params *p, int64_t b) {
  int64_t ao, bo;
  qrt_batch_offsets(p->batch_rank, p->batch_shape, p->a_batch_strides, p->b_batch_strides, b, &ao, &bo);
  return ao;
}

QRT_API int64_t qrt_qmatmul_dyn_scratch(const qrt_qmatmul_params *p) {
  /* row scales first (float aligned), then the int8 rows */
  return p->M * (int64_t)sizeof(float) + p->M * p->K;
}

QRT_API void qrt_qmatmul_dyn_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_qmatmul_params *p = (const qrt_qmatmul_params *)params;
  const float *A = (const float *)in[0];
  float *row_scale = (float *)in[7];
  int8_t *aq = (int8_t *)(row_scale + p->M);
  const int32_t qa = p->a_bits == 4 ? 7 : 127;
  const int64_t nb = qrt_qmmf_batches(p);
  qrt_qgemm_args g;
  int64_t b, m, k;
  memset(&g, 0, sizeof g);
  g.M = p->M; g.N = p->N; g.K = p->K;
  g.A = aq;
  g.lda = p->K;
  g.B = (const int8_t *)in[1];
  g.rs_b = p->N;
  g.cs_b = 1;
  g.b_packed = p->b_packed;
  g.b_format = p->b_format;
  g.group = p->group;
  g.gmult = (const uint8_t *)in[6];
  g.colsum = (const int32_t *)in[5];
  g.bias_f = (const float *)in[2];
  g.scale_f = (const float *)in[3];
  g.row_scale = row_scale;
  g.rs_c = p->N;
  g.cs_c = 1;
  for (b = 0; b < nb; ++b) {
    const float *a = A + qrt_qmmf_a_offset(p, b);
    for (m = 0; m < p->M; ++m) {
      const float *row = a + m * p->K;
      float amax = 0.0f, inv = 1.0f;
      for (k = 0; k < p->K; ++k) {
        const float v = fabsf(row[k]);
        amax = v > amax ? v : amax; /* NaN never wins */
      }
      row_scale[m] = 1.0f;
      if (amax > 0.0f && amax <= 3.40282347e38f) {
        row_scale[m] = amax / (float)qa;
        inv = (float)qa / amax;
      }
      qrt_quantize_row_f32_i8(p->K, row, inv, 0, -qa, qa, aq + m * p->K);
    }
    g.Cf = (float *)out[0] + b * p->M * p->N;
    qrt_qgemm_ex(&g);
  }
}

QRT_API int64_t qrt_wmatmul_scratch(const qrt_qmatmul_params *p) {
  return p->K * QRT_SGEMM_NR * (int64_t)sizeof(float);
}

/* The float panel (K rows of 16, k-major; columns past N zero) of the
 * columns [16 j, 16 j + 16) of the dequantized weights (B packed). */
QRT_INTERNAL void qrt_wmm_panel(const qrt_qmatmul_params *p, const void *const *in, int64_t j,
                                float *panel) {
  const float *scale = (const float *)in[3];
  const uint8_t *gmult = (const uint8_t *)in[6];
  const int grouped = gmult && p->group > 0;
  const int64_t n0 = j * QRT_SGEMM_NR;
  float colscale[QRT_SGEMM_NR];
  uint8_t tmp[64];
  int64_t k0, c, r;
  for (k0 = 0; k0 < p->K; k0 += 4) {
    const uint8_t *bytes = qrt_packed_b_group((const int8_t *)in[1], p->b_format, p->K, j, k0 / 4, tmp);
    if (k0 == 0 || (grouped && k0 % p->group == 0))
      for (c = 0; c < QRT_SGEMM_NR; ++c) {
        const int64_t n = n0 + c;
        colscale[c] = 0.0f;
        if (n < p->N) colscale[c] = grouped ? scale[n] * (float)gmult[(k0 / p->group) * p->N + n] : scale[n];
      }
    for (r = 0; r < 4 && k0 + r < p->K; ++r)
      for (c = 0; c < QRT_SGEMM_NR; ++c)
        panel[(k0 + r) * QRT_SGEMM_NR + c] = colscale[c] * (float)((int32_t)bytes[c * 4 + r] - 128);
  }
}

/* --- Few rows: multiply straight from the codes --------------------------
 * For each row a (all batches' rows, at most QRT_WMATMUL_ROWS) and column n:
 *   blocks   the groups [g G, g G + G) of K (G = group, a multiple of 4;
 *            the last one may be shorter), or all of K per channel;
 *   s_g    = sum over k in block g in ascending k of a[k] * (float)code(k, n):
 *            s = 0.0f, then s = s + a[k] * code, the product rounded, then
 *            the sum (never fused: qrt.h turns contraction off);
 *   acc    = per channel: s_0; grouped: acc = 0.0f, then for g ascending
 *            acc = acc + s_g * (float)gmult[g, n];
 *   C[n]   = acc * scale[n] + bias[n]  (no add when bias is NULL).
 * Mathematically sum_k a[k] W[k, n] for W = scale * gmult * code; not the
 * panel path's bits (that one sums a[k] * W[k, n] in the float GEMM's
 * order).  Each column's operations are the same whatever the vector width
 * (codes are small integers, exact as floats), so the vector-extension
 * loop (AVX-512 / AVX2 / SSE / NEON, as the compiler targets) and the
 * plain C one (QRT_NO_VECTOR_EXT, QRT_QMM_PORTABLE, other compilers) give
 * the same bits; threads take whole 16-column panels.
 * Codes come from the packed layouts of qrt.h in place: per panel and
 * 4-row group, int8 is 16 words (column c: bytes code + 128 of rows 0..3,
 * low byte first), int4 8 words (word c: nibbles code + 8 of rows 0..3 of
 * column c in the low nibbles, of column c + 8 in the high ones). */
#define QRT_WMM_MR 4 /* rows per pass over the weights */
#ifndef QRT_WMM_PAR_MIN_MACS
#define QRT_WMM_PAR_MIN_MACS 1048576
#endif

#if defined(__GNUC__) && !defined(QRT_NO_VECTOR_EXT) && !defined(QRT_QMM_PORTABLE) && \
    (defined(__clang__) || __GNUC__ >= 9)
#define QRT_WMM_VEC 1
/* 8 columns: one AVX2 register, half an AVX-512 one, two NEON ones.  Only
 * local variables have these types (no vector arguments: no ABI notes). */
typedef float qrt_wmm_vf __attribute__((vector_size(32)));
typedef int32_t qrt_wmm_vi __attribute__((vector_size(32)));
typedef uint32_t qrt_wmm_vu __attribute__((vector_size(32)));
#endif

typedef struct qrt_wmm_rows_job {
  const qrt_qmatmul_params *p;
  const unsigned char *B;
  const float *scale, *bias;
  const uint8_t *gmult; /* NULL: per channel */
  const float *a[QRT_WMM_MR];
  float *c[QRT_WMM_MR];
  int nr;
  int64_t cols; /* panels per task, times 16 */
} qrt_wmm_rows_job;

#if defined(QRT_WMM_VEC)
/* Row k0 + R of a 4-row group: the codes of columns 0..7 (v0)
 * and 8..15 (v1) sign-extended from bits [SR - SH, 32 - SH) of the words
 * X0 / X1 (GCC and clang shift signed vectors arithmetically), converted
 * to float (exact), then multiplied and added into every row's sums. */
#define QRT_WMM_ROW(R, X0, SH0, X1, SH1, SR)                                              \
  v0 = __builtin_convertvector((qrt_wmm_vi)((X0) << (SH0)) >> (SR), qrt_wmm_vf);         \
  v1 = __builtin_convertvector((qrt_wmm_vi)((X1) << (SH1)) >> (SR), qrt_wmm_vf);         \
  for (i = 0; i < MR; ++i) {                                                              \
    const float av = a[i][k0 + (R)];                                                      \
    s[i][0] = s[i][0] + av * v0;                                                          \
    s[i][1] = s[i][1] + av * v1;                                                          \
  }
/* The int4 / int8 words of 4-row group k0 / 4. */
#define QRT_WMM_LOAD4                                                                     \
  memcpy(&lo, bp + k0 * 8, 32);                                                           \
  lo ^= 0x88888888u; /* nibble ^ 8: the code as a 4-bit two's complement */
#define QRT_WMM_LOAD8                                                                     \
  memcpy(&lo, bp + k0 * 16, 32);                                                          \
  memcpy(&hi, bp + k0 * 16 + 32, 32);                                                     \
  lo ^= 0x80808080u; /* byte ^ 0x80: the code as an int8 */                              \
  hi ^= 0x80808080u;

/* Panel j for MR rows (a constant where inlined: the sums stay in
 * registers).  Throughput, not the adds' latency, bounds it: interleaving
 * two panels' sums measured no faster. */
QRT_INTERNAL QRT_ALWAYS_INLINE inline void qrt_wmm_rows_vec(const qrt_wmm_rows_job *w, int64_t j, const int MR) {
  const qrt_qmatmul_params *p = w->p;
  const int64_t K = p->K, N = p->N, k4 = (K + 3) / 4 * 4;
  const int grouped = w->gmult != NULL; /* (group > 0: qrt_wmm_rows) */
  const int64_t blk = grouped ? p->group : K;
  const int i4 = p->b_format == QRT_WFMT_I4;
  const int64_t n0 = j * 16, nn = N - n0 < 16 ? N - n0 : 16;
  const unsigned char *bp = w->B + j * k4 * (i4 ? 8 : 16);
  const float *a[QRT_WMM_MR];
  qrt_wmm_vf acc[QRT_WMM_MR][2], s[QRT_WMM_MR][2], v0, v1;
  qrt_wmm_vu lo, hi;
  float t[16];
  int64_t kb, ke, k0, c;
  int i, r;
  for (i = 0; i < MR; ++i) {
    a[i] = w->a[i];
    acc[i][0] = acc[i][1] = (qrt_wmm_vf){0};
  }
  for (kb = 0; kb < K; kb = ke) {
    ke = K - kb < blk ? K : kb + blk;
    for (i = 0; i < MR; ++i) s[i][0] = s[i][1] = (qrt_wmm_vf){0};
    if (i4) {
      for (k0 = kb; k0 + 4 <= ke; k0 += 4) {
        QRT_WMM_LOAD4
        QRT_WMM_ROW(0, lo, 28, lo, 24, 28) QRT_WMM_ROW(1, lo, 20, lo, 16, 28)
        QRT_WMM_ROW(2, lo, 12, lo, 8, 28) QRT_WMM_ROW(3, lo, 4, lo, 0, 28)
      }
      if (k0 < ke) { /* the end of K: K % 4 rows */
        QRT_WMM_LOAD4
        for (r = 0; r < ke - k0; ++r) { QRT_WMM_ROW(r, lo, 28 - 8 * r, lo, 24 - 8 * r, 28) }
      }
    } else {
      for (k0 = kb; k0 + 4 <= ke; k0 += 4) {
        QRT_WMM_LOAD8
        QRT_WMM_ROW(0, lo, 24, hi, 24, 24) QRT_WMM_ROW(1, lo, 16, hi, 16, 24)
        QRT_WMM_ROW(2, lo, 8, hi, 8, 24) QRT_WMM_ROW(3, lo, 0, hi, 0, 24)
      }
      if (k0 < ke) {
        QRT_WMM_LOAD8
        for (r = 0; r < ke - k0; ++r) { QRT_WMM_ROW(r, lo, 24 - 8 * r, hi, 24 - 8 * r, 24) }
      }
    }
    if (!grouped) {
      for (i = 0; i < MR; ++i) acc[i][0] = s[i][0], acc[i][1] = s[i][1];
    } else {
      const uint8_t *g = w->gmult + (kb / blk) * N + n0;
      for (c = 0; c < 16; ++c) t[c] = c < nn ? (float)g[c] : 0.0f;
      memcpy(&v0, t, 32);
      memcpy(&v1, t + 8, 32);
      for (i = 0; i < MR; ++i) {
        acc[i][0] = acc[i][0] + s[i][0] * v0;
        acc[i][1] = acc[i][1] + s[i][1] * v1;
      }
    }
  }
  for (i = 0; i < MR; ++i) {
    memcpy(t, &acc[i][0], 32);
    memcpy(t + 8, &acc[i][1], 32);
    if (w->bias)
      for (c = 0; c < nn; ++c) w->c[i][n0 + c] = t[c] * w->scale[n0 + c] + w->bias[n0 + c];
    else
      for (c = 0; c < nn; ++c) w->c[i][n0 + c] = t[c] * w->scale[n0 + c];
  }
}

/* Panels [j0, j1) for MR rows (a constant where inlined). */
QRT_INTERNAL QRT_ALWAYS_INLINE inline void qrt_wmm_rows_run(const qrt_wmm_rows_job *w, int64_t j0, int64_t j1,
                                                            const int MR) {
  int64_t j;
  for (j = j0; j < j1; ++j) qrt_wmm_rows_vec(w, j, MR);
}
#else
/* The plain C path: the same operations per column as the vector one. */
QRT_INTERNAL void qrt_wmm_rows_run(const qrt_wmm_rows_job *w, int64_t j0, int64_t j1, const int MR) {
  const qrt_qmatmul_params *p = w->p;
  const int64_t K = p->K, N = p->N, k4 = (K + 3) / 4 * 4;
  const int grouped = w->gmult != NULL; /* (group > 0: qrt_wmm_rows) */
  const int64_t blk = grouped ? p->group : K;
  const int i4 = p->b_format == QRT_WFMT_I4;
  float acc[QRT_WMM_MR][16], s[QRT_WMM_MR][16], gm[16];
  int64_t j, kb, ke, k, c;
  int i;
  for (j = j0; j < j1; ++j) {
    const int64_t n0 = j * 16, nn = N - n0 < 16 ? N - n0 : 16;
    const unsigned char *bp = w->B + j * k4 * (i4 ? 8 : 16);
    for (i = 0; i < MR; ++i)
      for (c = 0; c < 16; ++c) acc[i][c] = 0.0f;
    for (kb = 0; kb < K; kb = ke) {
      ke = K - kb < blk ? K : kb + blk;
      for (i = 0; i < MR; ++i)
        for (c = 0; c < 16; ++c) s[i][c] = 0.0f;
      for (k = kb; k < ke; ++k) {
        const unsigned char *g4 = bp + (k / 4) * (i4 ? 32 : 64);
        const int r = (int)(k % 4);
        for (c = 0; c < 16; ++c) {
          const int32_t code = i4 ? (int32_t)(c < 8 ? g4[c * 4 + r] & 15u : g4[(c - 8) * 4 + r] >> 4) - 8
                                  : (int32_t)g4[c * 4 + r] - 128;
          for (i = 0; i < MR; ++i) s[i][c] = s[i][c] + w->a[i][k] * (float)code;
        }
      }
      for (c = 0; c < 16; ++c) gm[c] = grouped && c < nn ? (float)w->gmult[(kb / blk) * N + n0 + c] : 0.0f;
      for (i = 0; i < MR; ++i)
        for (c = 0; c < 16; ++c) acc[i][c] = !grouped ? s[i][c] : acc[i][c] + s[i][c] * gm[c];
    }
    for (i = 0; i < MR; ++i) {
      if (w->bias)
        for (c = 0; c < nn; ++c) w->c[i][n0 + c] = acc[i][c] * w->scale[n0 + c] + w->bias[n0 + c];
      else
        for (c = 0; c < nn; ++c) w->c[i][n0 + c] = acc[i][c] * w->scale[n0 + c];
    }
  }
}
#endif

QRT_INTERNAL void qrt_wmm_rows_task(void *ctx, int64_t t) {
  const qrt_wmm_rows_job *w = (const qrt_wmm_rows_job *)ctx;
  const int64_t np = (w->p->N + 15) / 16, per = w->cols / 16;
  const int64_t j0 = t * per, j1 = j0 + per < np ? j0 + per : np;
  switch (w->nr) {
  case 1: qrt_wmm_rows_run(w, j0, j1, 1); break;
  case 2: qrt_wmm_rows_run(w, j0, j1, 2); break;
  case 3: qrt_wmm_rows_run(w, j0, j1, 3); break;
  default: qrt_wmm_rows_run(w, j0, j1, 4); break;
  }
}

/* All rows, QRT_WMM_MR at a time (each row's sums are its own, so the
 * grouping does not change the bits). */
QRT_INTERNAL void qrt_wmm_rows(const qrt_qmatmul_params *p, const void *const *in, void *const *out, int64_t nb) {
  const int64_t rows = nb * p->M;
  qrt_wmm_rows_job w;
  int64_t r0, r;
  memset(&w, 0, sizeof w);
  w.p = p;
  w.B = (const unsigned char *)in[1];
  w.bias = (const float *)in[2];
  w.scale = (const float *)in[3];
  w.gmult = p->group > 0 ? (const uint8_t *)in[6] : NULL;
  for (r0 = 0; r0 < rows; r0 += QRT_WMM_MR) {
    w.nr = rows - r0 < QRT_WMM_MR ? (int)(rows - r0) : QRT_WMM_MR;
    for (r = 0; r < w.nr; ++r) {
      const int64_t b = (r0 + r) / p->M, m = (r0 + r) % p->M;
      w.a[r] = (const float *)in[0] + qrt_qmmf_a_offset(p, b) + m * p->K;
      w.c[r] = (float *)out[0] + (b * p->M + m) * p->N;
    }
    w.cols = qrt_parallel_cols(w.nr, p->N, p->K, 16, QRT_WMM_PAR_MIN_MACS);
    if (w.cols > 0) {
      qrt_parallel_for((p->N + w.cols - 1) / w.cols, qrt_wmm_rows_task, &w);
    } else {
      w.cols = (p->N + 15) / 16 * 16;
      qrt_wmm_rows_task(&w, 0);
    }
  }
}

QRT_API void qrt_wmatmul_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_qmatmul_params *p = (const qrt_qmatmul_params *)params;
  float *panel = (float *)in[7];
  const int64_t nb = qrt_qmmf_batches(p);
  qrt_sgemm_args g;
  int64_t n0, b;
  if (!p->b_packed) return; /* the compiler always packs the weights */
  if (nb * p->M <= QRT_WMATMUL_ROWS) {
    if (nb * p->M > 0 && p->N > 0) qrt_wmm_rows(p, in, out, nb);
    return;
  }
  memset(&g, 0, sizeof g);
  g.M = p->M; g.K = p->K;
  g.rs_a = p->K;
  g.cs_a = 1;
  g.B = panel;
  g.b_packed = 1;
  g.ldc = p->N;
  g.bias_cs = 1;
  g.act = QRT_ACT_NONE;
  for (n0 = 0; n0 < p->N; n0 += QRT_SGEMM_NR) {
    qrt_wmm_panel(p, in, n0 / QRT_SGEMM_NR, panel);
    g.N = p->N - n0 < QRT_SGEMM_NR ? p->N - n0 : QRT_SGEMM_NR;
    g.bias = in[2] ? (const float *)in[2] + n0 : NULL;
    for (b = 0; b < nb; ++b) {
      g.A = (const float *)in[0] + qrt_qmmf_a_offset(p, b);
      g.C = (float *)out[0] + b * p->M * p->N + n0;
      qrt_sgemm_ex(&g);
    }
  }
}
