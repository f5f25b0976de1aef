#include "qrt.h"
/* qrt_bmatmul.c - matmuls with block-format weights (BFP, MX, NVFP4,
 * BBFP) and float or block-format activations.  Semantics: see
 * QRT_BMATMUL_PARAMS in qrt.h.  Needs qrt_fmt.c (the codecs) and
 * qrt_matmul.c (the float GEMM): see QRT_FILE_DEPS.
 *
 * Every value of these formats is exactly a float (an element times a
 * power-of-two block scale; NVFP4: an E4M3 times a float32), so the kernel
 * decodes activations once per call and weights one 16-column panel at a
 * time and multiplies with the float GEMM: the weights stay in their
 * packed bytes in memory, and the result does not depend on the SIMD path
 * (the GEMM's sum order is fixed). */

/* K rounded up to whole blocks (what a decoded column may fill). */
QRT_INTERNAL int64_t qrt_bmm_padded(const qrt_bmatmul_params *p) {
  const qrt_bformat *f = qrt_bformat_get(p->w_format);
  const qrt_bformat *a = qrt_bformat_get(p->a_format);
  int64_t blk = f ? f->block : 1;
  if (a && a->block > blk) blk = a->block;
  return (p->K + blk - 1) / blk * blk;
}

/* Scratch: the decoded activations [M, K], one decoded weight panel
 * [K, 16], one decoded column, and one row's packed bytes (for the
 * activations' encode / decode round trip). */
QRT_API int64_t qrt_bmatmul_scratch(const qrt_bmatmul_params *p) {
  const int64_t kp = qrt_bmm_padded(p);
  int64_t row_bytes = p->a_format >= 0 ? qrt_bfmt_bytes(p->a_format, p->K) : 0;
  int64_t floats = (p->a_format >= 0 ? p->M * p->K : 0) + p->K * QRT_SGEMM_NR + kp;
  return floats * (int64_t)sizeof(float) + row_bytes;
}

/* Columns [n0, n0 + 16) of the decoded weights as a k-major panel
 * (columns past N zero). */
QRT_INTERNAL void qrt_bmm_panel(const qrt_bmatmul_params *p, const uint8_t *w, int64_t n0, float *panel,
                                float *col) {
  const int64_t col_bytes = qrt_bfmt_bytes(p->w_format, p->K);
  int64_t c, k;
  for (c = 0; c < QRT_SGEMM_NR; ++c) {
    if (n0 + c < p->N) qrt_bfmt_decode(p->w_format, w + (n0 + c) * col_bytes, p->K, col);
    for (k = 0; k < p->K; ++k) panel[k * QRT_SGEMM_NR + c] = n0 + c < p->N ? col[k] : 0.0f;
  }
}

QRT_API void qrt_bmatmul_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_bmatmul_params *p = (const qrt_bmatmul_params *)params;
  const int64_t kp = qrt_bmm_padded(p);
  float *a_hat = (float *)in[3];
  float *panel = a_hat + (p->a_format >= 0 ? p->M * p->K : 0);
  float *col = panel + p->K * QRT_SGEMM_NR;
  uint8_t *row_bytes = (uint8_t *)(col + kp);
  const float *A = (const float *)in[0];
  qrt_sgemm_args g;
  int64_t m, n0;
  if (!qrt_bformat_get(p->w_format)) return; /* the compiler validates formats */
  if (p->a_format >= 0) {
    for (m = 0; m < p->M; ++m) {
      qrt_bfmt_encode(p->a_format, A + m * p->K, p->K, row_bytes);
      qrt_bfmt_decode(p->a_format, row_bytes, p->K, a_hat + m * p->K);
    }
    A = a_hat;
  }
  memset(&g, 0, sizeof g);
  g.M = p->M;
  g.K = p->K;
  g.A = A;
  g.rs_a = p->K;
  g.cs_a = 1;
  g.B = panel;
  g.b_packed = 1;
  g.ldc = p->N;
  g.bias_cs = 1;
  g.act = QRT_ACT_NONE;
  for (n0 = 0; n0 < p->N; n0 += QRT_SGEMM_NR) {
    qrt_bmm_panel(p, (const uint8_t *)in[1], n0, panel, col);
    g.N = p->N - n0 < QRT_SGEMM_NR ? p->N - n0 : QRT_SGEMM_NR;
    g.bias = in[2] ? (const float *)in[2] + n0 : NULL;
    g.C = (float *)out[0] + n0;
    qrt_sgemm_ex(&g);
  }
}
