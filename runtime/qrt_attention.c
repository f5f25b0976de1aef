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
 * alone). So the output has the same bits as the chain matmul, mul (div),
 * add, softmax, matmul (test_runtime_attention.c compares them bit for bit).
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

QRT_API int64_t qrt_attention_scratch_f32(const qrt_attention_params *p) {
  return QRT_ATTN_SLOTS * qrt_attention_block_rows(p) * p->N * (int64_t)sizeof(float);
}

typedef struct qrt_attention_job {
  const qrt_attention_params *p;
  const float *q, *kt, *v, *scale, *mask;
  float *y, *scratch;
  int64_t per; /* units per task */
} qrt_attention_job;

/* s += the mask's rows [r0, ...) of batch b (n elements). */
QRT_INTERNAL void qrt_attention_add_mask(const qrt_attention_job *j, int64_t b, int64_t r0, int64_t n, float *s) {
  const float *m = j->mask + b * j->p->mask_batch_stride + r0 * j->p->N;
  int64_t i;
  for (i = 0; i < n; ++i) s[i] = s[i] + m[i];
}

/* Unit u: rows [r0, r0 + rows) of batch b, scores in s. */
QRT_INTERNAL void qrt_attention_unit(const qrt_attention_job *j, int64_t u, float *s) {
  const qrt_attention_params *p = j->p;
  const int64_t block = qrt_attention_block_rows(p), blocks = (p->M + block - 1) / block;
  const int64_t b = u / blocks, r0 = u % blocks * block;
  const int64_t rows = p->M - r0 < block ? p->M - r0 : block, n = rows * p->N;
  qrt_matmul_params mm;
  qrt_softmax_params sp;
  const void *in[3];
  void *out[1];
  int64_t i;
  memset(&mm, 0, sizeof mm);
  mm.fused = p->fused;
  mm.M = rows;
  mm.N = p->N;
  mm.K = p->D;
  in[0] = j->q + (b * p->M + r0) * p->D;
  in[1] = j->kt + b * p->D * p->N;
  in[2] = NULL;
  out[0] = s;
  qrt_matmul_f32(&mm, in, out);
  if (j->mask && p->mask_first) qrt_attention_add_mask(j, b, r0, n, s);
  if (j->scale && p->scale_divides) {
    const float c = *j->scale;
    for (i = 0; i < n; ++i) s[i] = s[i] / c;
  } else if (j->scale) {
    const float c = *j->scale;
    for (i = 0; i < n; ++i) s[i] = s[i] * c;
  }
  if (j->mask && !p->mask_first) qrt_attention_add_mask(j, b, r0, n, s);
  sp.log = 0;
  sp.outer = rows;
  sp.axis_len = p->N;
  sp.inner = 1;
  in[0] = s;
  out[0] = s;
  qrt_softmax_f32(&sp, in, out);
  mm.N = p->DV;
  mm.K = p->N;
  in[0] = s;
  in[1] = j->v + b * p->N * p->DV;
  out[0] = j->y + (b * p->M + r0) * p->DV;
  qrt_matmul_f32(&mm, in, out);
}

QRT_INTERNAL void qrt_attention_task(void *ctx, int64_t t) {
  const qrt_attention_job *j = (const qrt_attention_job *)ctx;
  const int64_t units = qrt_attention_units(j->p);
  float *s = j->scratch + t * qrt_attention_block_rows(j->p) * j->p->N;
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
