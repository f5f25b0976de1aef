#include "qrt.h"
/* qrt_msq.c - MSQ kernels (see QRT_MSQ_QUANTIZE_PARAMS): static activation
 * parameters per modality.  Each run of rows of one modality is quantized
 * with that modality's scale and zero point (qrt_msq_quantize_f32_i8, one
 * call shared by the layers reading the same input), goes through the
 * integer GEMM of qrt_qmatmul.c, whose epilogue takes that modality's
 * requantization constants and dequantizes with its output scale
 * (qrt_msqmatmul_i8_f32), or its float epilogue's constants
 * (qrt_msqmatmul_i8_f32out): the per-tensor static pipeline (quantize,
 * qmatmul, dequantize or float epilogue) with constants per row set, one
 * GEMM for all rows.
 * After AIFS a sequence has one run per modality.  qrt_msq_lut_i8 is the
 * int8 table of an elementwise function between two such layers, one
 * table per modality.  Needs
 * qrt_qmatmul.c, qrt_quant.c and qrt_lut.c (QRT_FILE_DEPS). */
#include <string.h>

/* The modality index of row r: the value, clamped to [0, n_mod - 1]
 * before any conversion (a float out of int range would be undefined). */
static int32_t qrt_msq_modality(int32_t n_mod, int32_t mod_dtype, const void *mod, int64_t r) {
  const int32_t last = n_mod > 0 ? n_mod - 1 : 0;
  double v;
  switch (mod_dtype) {
  case QRT_F32: v = (double)((const float *)mod)[r]; break;
  case QRT_F64: v = ((const double *)mod)[r]; break;
  case QRT_I32: v = (double)((const int32_t *)mod)[r]; break;
  case QRT_I8: v = (double)((const int8_t *)mod)[r]; break;
  case QRT_U8: v = (double)((const uint8_t *)mod)[r]; break;
  default: v = (double)((const int64_t *)mod)[r]; break;
  }
  if (!(v >= 0.0)) return 0; /* negative or NaN */
  if (v >= (double)last) return last;
  return (int32_t)v;
}

/* The first row at or after r (r >= 1) whose modality value differs from
 * the row before it (equal values have the same index; NaN is never
 * equal).  One loop per type; blocks of 16 rows are tested without an
 * early exit (a loop compilers vectorize), the row found one by one in
 * the block that differs. */
#define QRT_MSQ_EQUAL_RUN(T) \
  { \
    const T *v = (const T *)mod; \
    for (; r + 16 <= M; r += 16) { \
      int t, differ = 0; \
      for (t = 0; t < 16; ++t) differ |= !(v[r + t] == v[r + t - 1]); \
      if (differ) break; \
    } \
    while (r < M && v[r] == v[r - 1]) ++r; \
    return r; \
  }
static int64_t qrt_msq_equal_run(int32_t mod_dtype, const void *mod, int64_t r, int64_t M) {
  switch (mod_dtype) {
  case QRT_F32: QRT_MSQ_EQUAL_RUN(float)
  case QRT_F64: QRT_MSQ_EQUAL_RUN(double)
  case QRT_I32: QRT_MSQ_EQUAL_RUN(int32_t)
  case QRT_I8: QRT_MSQ_EQUAL_RUN(int8_t)
  case QRT_U8: QRT_MSQ_EQUAL_RUN(uint8_t)
  default: QRT_MSQ_EQUAL_RUN(int64_t)
  }
}
#undef QRT_MSQ_EQUAL_RUN

/* The end of the run of rows of row r0's modality m.  Every MSQ kernel
 * walks the runs (about 30 per mm_lm run); within a run the values are
 * usually equal, which is cheaper to test than the clamped index, taken
 * only where the value changes. */
static int64_t qrt_msq_run_end(int32_t n_mod, int32_t mod_dtype, const void *mod, int64_t r0, int64_t M, int32_t m) {
  int64_t r1 = r0 + 1;
  for (;;) {
    r1 = qrt_msq_equal_run(mod_dtype, mod, r1, M);
    if (r1 >= M || qrt_msq_modality(n_mod, mod_dtype, mod, r1) != m) return r1;
    ++r1;
  }
}

QRT_API void qrt_msq_quantize_f32_i8(const void *params, const void *const *in, void *const *out) {
  const qrt_msq_quantize_params *p = (const qrt_msq_quantize_params *)params;
  const float *x = (const float *)in[0];
  int8_t *y = (int8_t *)out[0];
  int64_t r0, r1;
  for (r0 = 0; r0 < p->M; r0 = r1) {
    const int32_t m = qrt_msq_modality(p->n_mod, p->mod_dtype, in[1], r0);
    r1 = qrt_msq_run_end(p->n_mod, p->mod_dtype, in[1], r0, p->M, m);
    qrt_quantize_row_f32_i8((r1 - r0) * p->K, x + r0 * p->K, p->inv_scale[m], p->zero_point[m], p->qmin, p->qmax,
                            y + r0 * p->K);
  }
}

/* Rows per GEMM call: the row sets of a chunk are a stack array.  A
 * multiple of the GEMM's row block, so chunks add no partial tiles. */
#define QRT_MSQ_CHUNK 1024

/* What an MSQ matmul writes: int8 codes, the codes dequantized, or the
 * float epilogue's values (no codes). */
enum { QRT_MSQ_CODES, QRT_MSQ_DEQUANTIZED, QRT_MSQ_FLOAT_EPILOGUE };

/* All three matmuls: one integer GEMM per chunk of rows, each row's
 * modality its row set (qrt_qgemm_args.row_set): the rows of all
 * modalities share the GEMM's micro-tiles, and only the epilogue takes
 * each modality's constants. */
static void qrt_msqmatmul_run(const qrt_msqmatmul_params *p, const void *const *in, void *const *out, int kind) {
  const int8_t *A = (const int8_t *)in[0];
  uint8_t set[QRT_MSQ_CHUNK];
  qrt_qgemm_args g;
  int64_t c0, r0, r1;
  memset(&g, 0, sizeof g);
  g.N = p->N;
  g.K = p->K;
  g.lda = p->K;
  g.B = (const int8_t *)in[1];
  g.rs_b = p->N;
  g.cs_b = 1;
  g.b_packed = p->b_packed;
  g.b_format = p->b_format;
  g.group = p->group;
  g.gmult = (const uint8_t *)in[6];
  g.row_set = set;
  g.set_stride = p->N;
  if (kind == QRT_MSQ_FLOAT_EPILOGUE) {
    g.bias_f = (const float *)in[2];
    g.scale_f = (const float *)in[3];
    g.clamp_f = 1;
    g.set_min_f = p->f_min;
    g.set_max_f = p->f_max;
  } else {
    g.bias = (const int32_t *)in[2];
    g.mult = (const int32_t *)in[3];
    g.shift = (const int8_t *)in[4];
    g.set_zero_point = p->out_zero_point;
    g.set_min = p->out_min;
    g.set_max = p->out_max;
    g.deq_scale = kind == QRT_MSQ_DEQUANTIZED ? p->out_scale : NULL;
  }
  g.rs_c = p->N;
  g.cs_c = 1;
  for (c0 = 0; c0 < p->M; c0 += QRT_MSQ_CHUNK) {
    const int64_t c1 = p->M - c0 < QRT_MSQ_CHUNK ? p->M : c0 + QRT_MSQ_CHUNK;
    for (r0 = c0; r0 < c1; r0 = r1) {
      const int32_t m = qrt_msq_modality(p->n_mod, p->mod_dtype, in[5], r0);
      r1 = qrt_msq_run_end(p->n_mod, p->mod_dtype, in[5], r0, c1, m);
      memset(set + (r0 - c0), m, (size_t)(r1 - r0));
    }
    g.M = c1 - c0;
    g.A = A + c0 * p->K;
    if (kind == QRT_MSQ_CODES) g.C = (int8_t *)out[0] + c0 * p->N;
    else g.Cf = (float *)out[0] + c0 * p->N;
    if (kind == QRT_MSQ_FLOAT_EPILOGUE && in[4]) g.res_f = (const float *)in[4] + c0 * p->N;
    qrt_qgemm_ex(&g);
  }
}

QRT_API void qrt_msqmatmul_i8_f32(const void *params, const void *const *in, void *const *out) {
  qrt_msqmatmul_run((const qrt_msqmatmul_params *)params, in, out, QRT_MSQ_DEQUANTIZED);
}

QRT_API void qrt_msqmatmul_i8(const void *params, const void *const *in, void *const *out) {
  qrt_msqmatmul_run((const qrt_msqmatmul_params *)params, in, out, QRT_MSQ_CODES);
}

QRT_API void qrt_msqmatmul_i8_f32out(const void *params, const void *const *in, void *const *out) {
  qrt_msqmatmul_run((const qrt_msqmatmul_params *)params, in, out, QRT_MSQ_FLOAT_EPILOGUE);
}

/* An elementwise function of an MSQ layer's int8 codes: the codes carry
 * the layer's output parameters of each row's modality, so each modality
 * has its own 256-entry table and each run of rows is one lookup call with
 * its modality's row of the table.
 *  - qrt_msq_lut_i8: between two MSQ layers, int8 tables (qrt_build_lut_i8)
 *    giving the next layer's input codes;
 *  - qrt_msq_lut_i8_f32: a function whose result stays float (SwiGLU's
 *    SiLU), float tables (qrt_build_lut_f32: the bits of the dequantize
 *    and the float function).
 * elem: the size of a table entry and of an output element. */
static void qrt_msq_lut_run(const qrt_msq_lut_params *p, const void *const *in, void *const *out, size_t elem,
                            void (*lookup)(const void *, const void *const *, void *const *)) {
  const int8_t *x = (const int8_t *)in[0];
  const char *table = (const char *)in[1];
  char *y = (char *)out[0];
  int64_t r0, r1;
  for (r0 = 0; r0 < p->M; r0 = r1) {
    const int32_t m = qrt_msq_modality(p->n_mod, p->mod_dtype, in[2], r0);
    qrt_lut_params lp;
    const void *lin[2];
    void *lout[1];
    r1 = qrt_msq_run_end(p->n_mod, p->mod_dtype, in[2], r0, p->M, m);
    lp.n = (r1 - r0) * p->K;
    lin[0] = x + r0 * p->K;
    lin[1] = table + 256 * elem * (size_t)m;
    lout[0] = y + (size_t)(r0 * p->K) * elem;
    lookup(&lp, lin, lout);
  }
}

QRT_API void qrt_msq_lut_i8(const void *params, const void *const *in, void *const *out) {
  qrt_msq_lut_run((const qrt_msq_lut_params *)params, in, out, sizeof(int8_t), qrt_lut_i8);
}

QRT_API void qrt_msq_lut_i8_f32(const void *params, const void *const *in, void *const *out) {
  qrt_msq_lut_run((const qrt_msq_lut_params *)params, in, out, sizeof(float), qrt_lut_i8_f32);
}
