#include "qrt.h"
/* qrt_bmatmul.c - matmuls with block-format weights (BFP, MX, NVFP4,
 * BBFP) and float or block-format activations.  Semantics: see
 * QRT_BMATMUL_PARAMS in qrt.h.  Needs qrt_bdot.c (the integer path),
 * qrt_fmt.c (the codecs) and qrt_matmul.c (the float GEMM): see
 * QRT_FILE_DEPS.
 *
 * Where both operands are block formats of one block size with integer
 * mantissas (everything but FP8 elements, float activations and mixed
 * block sizes), qrt_bdot.c computes the product; the float path below
 * serves the rest.  Every value of these formats is exactly a float (an
 * element times a power-of-two block scale; NVFP4: an E4M3 times a
 * float32), so it decodes activations once per call and weights one
 * 16-column panel at a time and multiplies with the float GEMM: the
 * weights stay in their packed bytes in memory, and the result does not
 * depend on the SIMD path (the GEMM's sum order is fixed). */

/* K rounded up to whole blocks (what a decoded column may fill). */
QRT_INTERNAL int64_t qrt_bmm_padded(const qrt_bmatmul_params *p) {
  const qrt_bformat *f = qrt_bformat_get(p->w_format);
  const qrt_bformat *a = qrt_bformat_get(p->a_format);
  int64_t blk = f ? f->block : 1;
  if (a && a->block > blk) blk = a->block;
  return (p->K + blk - 1) / blk * blk;
}

/* Scratch: the weight and activation formats' element tables, the decoded activations
 * [M, K] (one batch), one decoded weight
 * panel [K, 16], one column (decoded, and gathered when B is a run-time
 * matrix), and one vector's packed bytes (for the encode / decode round
 * trips of activation rows and run-time columns). */
QRT_API int64_t qrt_bmatmul_scratch(const qrt_bmatmul_params *p) {
  const int64_t kp = qrt_bmm_padded(p), int_path = qrt_bdot_scratch(p);
  int64_t a_bytes = p->a_format >= 0 ? qrt_bfmt_bytes(p->a_format, p->K) : 0;
  int64_t w_bytes = p->b_runtime ? qrt_bfmt_bytes(p->w_format, p->K) : 0;
  int64_t floats = 2 * QRT_BFMT_MAX_CODES + (p->a_format >= 0 ? p->M * p->K : 0) + p->K * QRT_SGEMM_NR + 2 * kp;
  if (int_path > 0) return int_path;
  return floats * (int64_t)sizeof(float) + (a_bytes > w_bytes ? a_bytes : w_bytes);
}

/* Columns [n0, n0 + 16) of the decoded weights as a k-major panel
 * (columns past N zero): from the packed columns w, or, for a run-time
 * B (float [K, N] at b), each column encoded and decoded here. */
QRT_INTERNAL void qrt_bmm_panel(const qrt_bmatmul_params *p, const uint8_t *w, const float *b, int64_t n0,
                                const float *table, float *panel, float *col, float *gathered, uint8_t *bytes) {
  const int64_t col_bytes = qrt_bfmt_bytes(p->w_format, p->K);
  int64_t c, k;
  for (c = 0; c < QRT_SGEMM_NR; ++c) {
    if (n0 + c < p->N && b) {
      for (k = 0; k < p->K; ++k) gathered[k] = b[k * p->N + n0 + c];
      qrt_bfmt_encode(p->w_format, gathered, p->K, bytes);
      qrt_bfmt_decode_table(p->w_format, bytes, p->K, table, col);
    } else if (n0 + c < p->N) {
      qrt_bfmt_decode_table(p->w_format, w + (n0 + c) * col_bytes, p->K, table, col);
    }
    for (k = 0; k < p->K; ++k) panel[k * QRT_SGEMM_NR + c] = n0 + c < p->N ? col[k] : 0.0f;
  }
}

QRT_API void qrt_bmatmul_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_bmatmul_params *p = (const qrt_bmatmul_params *)params;
  const int64_t kp = qrt_bmm_padded(p), batches = p->batch > 0 ? p->batch : 1;
  float *table = (float *)in[3], *a_table = table + QRT_BFMT_MAX_CODES, *a_hat = a_table + QRT_BFMT_MAX_CODES;
  float *panel = a_hat + (p->a_format >= 0 ? p->M * p->K : 0);
  float *col = panel + p->K * QRT_SGEMM_NR, *gathered = col + kp;
  uint8_t *bytes = (uint8_t *)(gathered + kp);
  qrt_sgemm_args g;
  int64_t b, m, n0;
  if (!qrt_bformat_get(p->w_format)) return; /* the compiler validates formats */
  if (qrt_bdot_matmul(p, in, out)) return;    /* integer mantissas (qrt_bdot.c) */
  qrt_bfmt_elem_table(p->w_format, table);
  if (p->a_format >= 0) qrt_bfmt_elem_table(p->a_format, a_table);
  memset(&g, 0, sizeof g);
  g.M = p->M;
  g.K = p->K;
  g.rs_a = p->K;
  g.cs_a = 1;
  g.B = panel;
  g.b_packed = 1;
  g.ldc = p->N;
  g.bias_cs = 1;
  g.act = QRT_ACT_NONE;
  for (b = 0; b < batches; ++b) {
    const float *A = (const float *)in[0] + b * p->M * p->K;
    const float *B = p->b_runtime ? (const float *)in[1] + b * p->K * p->N : NULL;
    if (p->a_format >= 0) {
      for (m = 0; m < p->M; ++m) {
        qrt_bfmt_encode(p->a_format, A + m * p->K, p->K, bytes);
        qrt_bfmt_decode_table(p->a_format, bytes, p->K, a_table, a_hat + m * p->K);
      }
      A = a_hat;
    }
    g.A = A;
    for (n0 = 0; n0 < p->N; n0 += QRT_SGEMM_NR) {
      qrt_bmm_panel(p, (const uint8_t *)in[1], B, n0, table, panel, col, gathered, bytes);
      g.N = p->N - n0 < QRT_SGEMM_NR ? p->N - n0 : QRT_SGEMM_NR;
      g.bias = in[2] ? (const float *)in[2] + n0 : NULL;
      g.C = (float *)out[0] + b * p->M * p->N + n0;
      qrt_sgemm_ex(&g);
    }
  }
}
