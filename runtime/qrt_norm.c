#include "qrt.h"
/* qrt_norm.c - LayerNormalization and RMS normalization over the trailing
 * norm_size elements of each of `outer` rows.
 *   layernorm: mean = S(x)/n, var = S((x-mean)^2)/n (two passes),
 *              d = sqrt(var + eps), y = (x - mean) / d * scale + bias
 *   rmsnorm:   d = sqrt(S(x^2)/n + eps), y = x / d * scale (+ bias)
 * S() is a float sum in 16 lanes (lane l adds elements l, l+16, ...; lanes
 * then added pairwise 0+8, 1+9, ..., 0+4, ..., 0+2, 0+1): a fixed order
 * that vectorizes.  out[1] (mean, layernorm only) and out[2] (1/d) are
 * optional [outer] outputs. */
#include <math.h>

#define QRT_NORM_LANES 16

/* S(x - c) (sq = 0) or S((x - c)^2) (sq = 1). */
QRT_INTERNAL float qrt_norm_sum(const float *x, int64_t n, float c, int sq) {
  float acc[QRT_NORM_LANES];
  int64_t i, l, w;
  for (l = 0; l < QRT_NORM_LANES; ++l) acc[l] = 0.0f;
  if (sq) {
    for (i = 0; i + QRT_NORM_LANES <= n; i += QRT_NORM_LANES)
      for (l = 0; l < QRT_NORM_LANES; ++l) {
        const float d = x[i + l] - c;
        acc[l] = acc[l] + d * d;
      }
    for (l = 0; i + l < n; ++l) {
      const float d = x[i + l] - c;
      acc[l] = acc[l] + d * d;
    }
  } else {
    for (i = 0; i + QRT_NORM_LANES <= n; i += QRT_NORM_LANES)
      for (l = 0; l < QRT_NORM_LANES; ++l) acc[l] = acc[l] + (x[i + l] - c);
    for (l = 0; i + l < n; ++l) acc[l] = acc[l] + (x[i + l] - c);
  }
  for (w = QRT_NORM_LANES / 2; w >= 1; w /= 2)
    for (l = 0; l < w; ++l) acc[l] = acc[l] + acc[l + w];
  return acc[0];
}

typedef struct qrt_norm_job {
  float epsilon;
  int64_t norm_size;
  const void *const *in;
  void *const *out;
  int rms;
  const qrt_norm_q_params *q; /* int8 output: quantized as qrt_quantize_f32_i8 */
} qrt_norm_job;

/* y = (x - mean) / d * scale (+ bias) for elements [0, n) of a row. */
QRT_INTERNAL void qrt_norm_apply(const float *xr, const float *scale, const float *bias, float mean, float d,
                                 int64_t n, float *yr) {
  int64_t j;
  if (bias) {
    for (j = 0; j < n; ++j) yr[j] = (xr[j] - mean) / d * scale[j] + bias[j];
  } else {
    for (j = 0; j < n; ++j) yr[j] = (xr[j] - mean) / d * scale[j];
  }
}

/* Rows [o0, o1): each computed alone, so any split gives the same bits.
 * Codes: the rows' floats gather in a block of QRT_NORM_Q_BLOCK (several
 * short rows, or pieces of a long one) that is quantized at once while it
 * is in L1; each element is quantized alone, so the bits are those of
 * quantizing the whole float tensor. */
#define QRT_NORM_Q_BLOCK 4096
QRT_INTERNAL void qrt_norm_rows(void *ctx, int64_t o0, int64_t o1) {
  const qrt_norm_job *jb = (const qrt_norm_job *)ctx;
  const void *const *in = jb->in;
  void *const *out = jb->out;
  const int rms = jb->rms;
  const float *x = (const float *)in[0];
  const float *scale = (const float *)in[1];
  const float *bias = (const float *)in[2];
  float *mean_out = rms ? NULL : (float *)out[1];
  float *inv_out = (float *)out[2];
  const int64_t n = jb->norm_size;
  const float fn = (float)n;
  const qrt_norm_q_params *q = jb->q;
  float blk[QRT_NORM_Q_BLOCK];
  int8_t *yq = q ? (int8_t *)out[0] + o0 * n : NULL; /* where blk's codes go */
  int64_t used = 0, o, j, m;
  for (o = o0; o < o1; ++o) {
    const float *xr = x + o * n;
    float mean = 0.0f, d;
    if (rms) {
      d = sqrtf(qrt_norm_sum(xr, n, 0.0f, 1) / fn + jb->epsilon);
    } else {
      mean = qrt_norm_sum(xr, n, 0.0f, 0) / fn;
      d = sqrtf(qrt_norm_sum(xr, n, mean, 1) / fn + jb->epsilon);
    }
    if (!q) qrt_norm_apply(xr, scale, bias, mean, d, n, (float *)out[0] + o * n);
    for (j = 0; q && j < n; j += m) {
      m = n - j < QRT_NORM_Q_BLOCK - used ? n - j : QRT_NORM_Q_BLOCK - used;
      qrt_norm_apply(xr + j, scale + j, bias ? bias + j : NULL, mean, d, m, blk + used);
      used += m;
      if (used == QRT_NORM_Q_BLOCK) {
        qrt_quantize_row_f32_i8(used, blk, q->inv_scale, q->zero_point, q->qmin, q->qmax, yq);
        yq += used;
        used = 0;
      }
    }
    if (mean_out) mean_out[o] = mean;
    if (inv_out) inv_out[o] = 1.0f / d;
  }
  if (used) qrt_quantize_row_f32_i8(used, blk, q->inv_scale, q->zero_point, q->qmin, q->qmax, yq);
}

/* Threads take whole rows, at least QRT_PAR_MIN_ELEMS elements a task. */
QRT_INTERNAL void qrt_norm_run(float epsilon, int64_t outer, int64_t norm_size, const qrt_norm_q_params *q,
                               const void *const *in, void *const *out, int rms) {
  qrt_norm_job jb;
  if (norm_size <= 0) return;
  jb.epsilon = epsilon;
  jb.norm_size = norm_size;
  jb.in = in;
  jb.out = out;
  jb.rms = rms;
  jb.q = q;
  qrt_parallel_range(outer, 1, (QRT_PAR_MIN_ELEMS + norm_size - 1) / norm_size, qrt_norm_rows, &jb);
}

QRT_API void qrt_layernorm_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_norm_params *p = (const qrt_norm_params *)params;
  qrt_norm_run(p->epsilon, p->outer, p->norm_size, NULL, in, out, 0);
}

QRT_API void qrt_rmsnorm_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_norm_params *p = (const qrt_norm_params *)params;
  qrt_norm_run(p->epsilon, p->outer, p->norm_size, NULL, in, out, 1);
}

QRT_API void qrt_layernorm_f32_i8(const void *params, const void *const *in, void *const *out) {
  const qrt_norm_q_params *p = (const qrt_norm_q_params *)params;
  qrt_norm_run(p->epsilon, p->outer, p->norm_size, p, in, out, 0);
}

QRT_API void qrt_rmsnorm_f32_i8(const void *params, const void *const *in, void *const *out) {
  const qrt_norm_q_params *p = (const qrt_norm_q_params *)params;
  qrt_norm_run(p->epsilon, p->outer, p->norm_size, p, in, out, 1);
}
