#include "qrt.h"
/* qrt_qmatmul_float.c - quantized-weight matmuls with float activations at
 * their boundary: dynamic per-row activation quantization
 * (qrt_qmatmul_dyn_f32, QuaRot's per-token scales) and weight-only
 * quantization (qrt_wmatmul_f32: W8A16 / W4A16).  Semantics: see
 * QRT_QMATMUL_PARAMS in qrt.h.  Needs qrt_qmatmul.c (integer GEMM and
 * weight layouts), qrt_matmul.c (float GEMM) and qrt_quant.c (rounding):
 * see QRT_FILE_DEPS.
 *
 * The weight-only kernel rebuilds one 16-column float panel at a time from
 * the integer codes and runs the float GEMM on it, so the weights stay 4 or
 * 8 bits in memory and the arithmetic is the float GEMM's (its sum order
 * does not depend on N, so the result equals a float matmul by the
 * dequantized weights). */
#include <math.h>
#include <string.h>

QRT_INTERNAL int64_t qrt_qmmf_batches(const qrt_qmatmul_params *p) {
  int64_t nb = 1, d;
  const int32_t br = p->batch_rank < 0 ? 0 : (p->batch_rank > 6 ? 6 : p->batch_rank);
  for (d = 0; d < br; ++d) nb *= p->batch_shape[d];
  return nb;
}

/* Element offset of batch b of A (row-major batch index, broadcast A
 * dims have stride 0). */
QRT_INTERNAL int64_t qrt_qmmf_a_offset(const qrt_qmatmul_params *p, int64_t b) {
  int64_t off = 0, d;
  const int32_t br = p->batch_rank < 0 ? 0 : (p->batch_rank > 6 ? 6 : p->batch_rank);
  for (d = br - 1; d >= 0; --d) {
    const int64_t n = p->batch_shape[d] > 0 ? p->batch_shape[d] : 1;
    off += (b % n) * p->a_batch_strides[d];
    b /= n;
  }
  return off;
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

QRT_API void qrt_wmatmul_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_qmatmul_params *p = (const qrt_qmatmul_params *)params;
  float *panel = (float *)in[7];
  const int64_t nb = qrt_qmmf_batches(p);
  qrt_sgemm_args g;
  int64_t n0, b;
  if (!p->b_packed) return; /* the compiler always packs the weights */
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
