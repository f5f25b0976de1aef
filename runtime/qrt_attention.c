#include "qrt.h"
/* qrt_attention.c - fused float attention (see QRT_ATTENTION_PARAMS):
 * per batch (head) and block of query rows, the scores of the block
 * (Q rows x Kt), times the scale, plus the mask rows, softmax per row,
 * then times V, with only the block's scores in memory (the scratch).
 *
 * Each step is the kernel the unfused chain runs, called on the block:
 * qrt_matmul_f32 (every element's sum in increasing k, whatever the
 * blocking), one float multiply (or divide) and one float add per element
 * (as qrt_binary_f32's mul, div and add; separate statements with a store
 * between, so nothing contracts them), qrt_softmax_f32 (each row computed
 * alone), NaN probabilities set to +0 where the chain guarded them. So the
 * output has the same bits as the chain matmul, mul (div), add, softmax,
 * [where(isnan)], matmul (test_runtime_attention.c compares them bit for bit).
 *
 * Threads take contiguous runs of (batch, block) units, at most
 * QRT_ATTN_SLOTS runs, each with its own slot of the scratch (so the
 * scratch is at most 4 x 16 KiB, whatever the thread count); the kernels
 * called inside a task run on that task's thread. */

#define QRT_ATTN_SLOTS 4
#define QRT_ATTN_BLOCK_FLOATS 4096

/* Query rows per block: as many as keep a block's scores within 16 KiB
 * (L1), all of a head's where they fit (each block packs Kt and V for its
 * GEMMs again, so fewer, taller blocks pack less), at least 1. */
QRT_INTERNAL int64_t qrt_attention_block_rows(const qrt_attention_params *p) {
  int64_t r = p->N > 0 ? QRT_ATTN_BLOCK_FLOATS / p->N : p->M;
  if (r > p->M) r = p->M;
  return r < 1 ? 1 : r;
}

QRT_INTERNAL int64_t qrt_attention_units(const qrt_attention_params *p) {
  const int64_t rows = qrt_attention_block_rows(p);
  return p->batch * ((p->M + rows - 1) / rows);
}

QRT_INTERNAL int64_t qrt_attention_slots(const qrt_attention_params *p) {
  const int64_t units = qrt_attention_units(p);
  int64_t s = qrt_parallel_width();
  if (s > QRT_ATTN_SLOTS) s = QRT_ATTN_SLOTS;
  if (s > units) s = units;
  return s < 1 ? 1 : s;
}

/* A Kt read through a transpose (kt_cs != 1: K stored [N, D] per head)
 * is packed per unit into the GEMM's panel layout, so the scores' GEMM
 * reads whole panels in place (two at a time) as it does a dense Kt;
 * the same sums, the same bits. */
QRT_INTERNAL int qrt_attention_packs_kt(const qrt_attention_params *p) { return p->strided && p->kt_cs != 1; }

/* Floats of one slot of the scratch: the block's scores, then the packed
 * Kt where there is one. */
QRT_INTERNAL int64_t qrt_attention_slot_floats(const qrt_attention_params *p) {
  return qrt_attention_block_rows(p) * p->N + (qrt_attention_packs_kt(p) ? qrt_packed_b_size(p->D, p->N) : 0);
}

QRT_API int64_t qrt_attention_scratch_f32(const qrt_attention_params *p) {
  return QRT_ATTN_SLOTS * qrt_attention_slot_floats(p) * (int64_t)sizeof(float);
}

typedef struct qrt_attention_job {
  const qrt_attention_params *p;
  const float *q, *kt, *v, *scale, *mask;
  float *y, *scratch;
  int64_t per; /* units per task */
} qrt_attention_job;

/* Where batch b's mask starts (elements), b unravelled over batch_shape
 * with the mask's strides (0 where it broadcasts), or b * mask_batch_stride. */
QRT_INTERNAL int64_t qrt_attention_mask_at(const qrt_attention_params *p, int64_t b) {
  int64_t o, unused;
  if (!p->mask_bcast) return b * p->mask_batch_stride;
  qrt_batch_offsets(p->batch_rank, p->batch_shape, p->mask_batch_strides, p->mask_batch_strides, b, &o, &unused);
  return o;
}

/* s (rows x N) += the mask's rows [r0, r0 + rows) of batch b. */
QRT_INTERNAL void qrt_attention_add_mask(const qrt_attention_job *j, int64_t b, int64_t r0, int64_t rows, float *s) {
  const qrt_attention_params *p = j->p;
  const int64_t rs = p->mask_bcast ? p->mask_rs : p->N;
  const float *m = j->mask + qrt_attention_mask_at(p, b) + r0 * rs;
  int64_t i, c;
  for (i = 0; i < rows; ++i)
    for (c = 0; c < p->N; ++c) s[i * p->N + c] = s[i * p->N + c] + m[i * rs + c];
}

/* Where batch b of each operand starts, and the rows' strides: dense
 * and consecutive, or (strided) b unravelled over the batch dims. */
typedef struct qrt_attention_at {
  int64_t q, kt, v, y;                       /* element offsets of batch b */
  int64_t q_rs, kt_rs, kt_cs, v_rs, v_cs, y_rs; /* strides within it */
} qrt_attention_at;

QRT_INTERNAL qrt_attention_at qrt_attention_batch(const qrt_attention_params *p, int64_t b) {
  qrt_attention_at at;
  if (!p->strided) {
    at.q = b * p->M * p->D;
    at.kt = b * p->D * p->N;
    at.v = b * p->N * p->DV;
    at.y = b * p->M * p->DV;
    at.q_rs = p->D;
    at.kt_rs = p->N;
    at.kt_cs = 1;
    at.v_rs = p->DV;
    at.v_cs = 1;
    at.y_rs = p->DV;
    return at;
  }
  qrt_batch_offsets(p->batch_rank, p->batch_shape, p->q_batch_strides, p->kt_batch_strides, b, &at.q, &at.kt);
  qrt_batch_offsets(p->batch_rank, p->batch_shape, p->v_batch_strides, p->y_batch_strides, b, &at.v, &at.y);
  at.q_rs = p->q_rs;
  at.kt_rs = p->kt_rs;
  at.kt_cs = p->kt_cs;
  at.v_rs = p->v_rs;
  at.v_cs = p->v_cs;
  at.y_rs = p->y_rs;
  return at;
}

/* Unit u: rows [r0, r0 + rows) of batch b, scores in s. The GEMMs are
 * qrt_matmul_f32's (one batch, no bias: qrt_sgemm_ex with its arguments)
 * on the operands' strides. */
QRT_INTERNAL void qrt_attention_unit(const qrt_attention_job *j, int64_t u, float *s) {
  const qrt_attention_params *p = j->p;
  const int64_t block = qrt_attention_block_rows(p), blocks = (p->M + block - 1) / block;
  const int64_t b = u / blocks, r0 = u % blocks * block;
  const int64_t rows = p->M - r0 < block ? p->M - r0 : block, n = rows * p->N;
  const qrt_attention_at at = qrt_attention_batch(p, b);
  qrt_sgemm_args g;
  qrt_softmax_params sp;
  const void *in[1];
  void *out[1];
  int64_t i;
  memset(&g, 0, sizeof g);
  g.fused = p->fused;
  g.act = QRT_ACT_NONE;
  g.M = rows;
  g.N = p->N;
  g.K = p->D;
  g.A = j->q + at.q + r0 * at.q_rs;
  g.rs_a = at.q_rs;
  g.cs_a = 1;
  g.B = j->kt + at.kt;
  g.rs_b = at.kt_rs;
  g.cs_b = at.kt_cs;
  if (qrt_attention_packs_kt(p)) {
    float *packed = s + qrt_attention_block_rows(p) * p->N;
    qrt_pack_b_strided_f32(p->D, p->N, g.B, g.rs_b, g.cs_b, packed);
    g.B = packed;
    g.b_packed = 1;
  }
  g.C = s;
  g.ldc = p->N;
  qrt_sgemm_ex(&g);
  if (j->mask && p->mask_first) qrt_attention_add_mask(j, b, r0, rows, s);
  if (j->scale && p->scale_divides) {
    const float c = *j->scale;
    for (i = 0; i < n; ++i) s[i] = s[i] / c;
  } else if (j->scale) {
    const float c = *j->scale;
    for (i = 0; i < n; ++i) s[i] = s[i] * c;
  }
  if (j->mask && !p->mask_first) qrt_attention_add_mask(j, b, r0, rows, s);
  sp.log = 0;
  sp.outer = rows;
  sp.axis_len = p->N;
  sp.inner = 1;
  in[0] = s;
  out[0] = s;
  qrt_softmax_f32(&sp, in, out);
  if (p->nan_to_zero) /* where(isnan(p), 0, p) */
    for (i = 0; i < n; ++i) s[i] = s[i] != s[i] ? 0.0f : s[i];
  g.N = p->DV;
  g.K = p->N;
  g.A = s;
  g.rs_a = p->N;
  g.B = j->v + at.v;
  g.b_packed = 0;
  g.rs_b = at.v_rs;
  g.cs_b = at.v_cs;
  g.C = j->y + at.y + r0 * at.y_rs;
  g.ldc = at.y_rs;
  qrt_sgemm_ex(&g);
}

QRT_INTERNAL void qrt_attention_task(void *ctx, int64_t t) {
  const qrt_attention_job *j = (const qrt_attention_job *)ctx;
  const int64_t units = qrt_attention_units(j->p);
  float *s = j->scratch + t * qrt_attention_slot_floats(j->p);
  int64_t u;
  for (u = t * j->per; u < units && u < (t + 1) * j->per; ++u) qrt_attention_unit(j, u, s);
}

/* in: Q, Kt, V, scale (f32 scalar) or NULL, mask or NULL, scratch. */
QRT_API void qrt_attention_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_attention_params *p = (const qrt_attention_params *)params;
  const int64_t units = qrt_attention_units(p), slots = qrt_attention_slots(p);
  qrt_attention_job j;
  if (p->batch <= 0 || p->M <= 0 || p->DV <= 0) return;
  j.p = p;
  j.q = (const float *)in[0];
  j.kt = (const float *)in[1];
  j.v = (const float *)in[2];
  j.scale = (const float *)in[3];
  j.mask = (const float *)in[4];
  j.scratch = (float *)in[5];
  j.y = (float *)out[0];
  j.per = (units + slots - 1) / slots;
  qrt_parallel_for((units + j.per - 1) / j.per, qrt_attention_task, &j);
}
