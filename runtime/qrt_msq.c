#include "qrt.h"
/* qrt_msq.c - MSQ matmul (see QRT_MSQMATMUL_PARAMS): static activation
 * parameters per modality.  Each run of rows of one modality is quantized
 * with that modality's scale and zero point, goes through the integer GEMM
 * of qrt_qmatmul.c with that modality's requantization constants, and is
 * dequantized with that modality's output scale: the per-tensor static
 * pipeline (quantize, qmatmul, dequantize), once per run.  After AIFS a
 * sequence has one run per modality.  Needs qrt_qmatmul.c and qrt_quant.c
 * (QRT_FILE_DEPS). */
#include <string.h>

/* The modality index of row r: the value, clamped to [0, n_mod - 1]
 * before any conversion (a float out of int range would be undefined). */
static int32_t qrt_msq_modality(const qrt_msqmatmul_params *p, const void *mod, int64_t r) {
  const int32_t last = p->n_mod > 0 ? p->n_mod - 1 : 0;
  double v;
  switch (p->mod_dtype) {
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

QRT_API int64_t qrt_msqmatmul_scratch(const qrt_msqmatmul_params *p) {
  /* the int8 codes of A, then those of C */
  return p->M * p->K + p->M * p->N;
}

QRT_API void qrt_msqmatmul_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_msqmatmul_params *p = (const qrt_msqmatmul_params *)params;
  const float *A = (const float *)in[0];
  const int32_t *bias = (const int32_t *)in[2], *mult = (const int32_t *)in[3];
  const int8_t *shift = (const int8_t *)in[4];
  int8_t *aq = (int8_t *)in[7], *cq = aq + p->M * p->K;
  float *C = (float *)out[0];
  qrt_qgemm_args g;
  int64_t r0, r1, i;
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
  g.rs_c = p->N;
  g.cs_c = 1;
  for (r0 = 0; r0 < p->M; r0 = r1) {
    const int32_t m = qrt_msq_modality(p, in[5], r0);
    const int32_t zp = p->out_zero_point[m];
    const float scale = p->out_scale[m];
    int8_t *c = cq + r0 * p->N;
    float *y = C + r0 * p->N;
    for (r1 = r0 + 1; r1 < p->M && qrt_msq_modality(p, in[5], r1) == m; ++r1) {
    }
    qrt_quantize_row_f32_i8((r1 - r0) * p->K, A + r0 * p->K, p->a_inv_scale[m], p->a_zero_point[m], p->a_qmin,
                            p->a_qmax, aq + r0 * p->K);
    g.M = r1 - r0;
    g.A = aq + r0 * p->K;
    g.bias = bias + m * p->N;
    g.mult = mult + m * p->N;
    g.shift = shift + m * p->N;
    g.out_zero_point = zp;
    g.out_min = p->out_min[m];
    g.out_max = p->out_max[m];
    g.C = c;
    qrt_qgemm_ex(&g);
    /* as qrt_dequantize_i8_f32: the difference exact in int32 for int8
     * zero points, one conversion, one multiply */
    for (i = 0; i < (r1 - r0) * p->N; ++i) y[i] = scale * (float)((int32_t)c[i] - zp);
  }
}
