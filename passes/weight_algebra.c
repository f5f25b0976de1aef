/* weight_algebra.c - constants as double matrices and per-channel
 * calibration statistics, for the passes that fold transforms into weights
 * (rotate.c, smooth.c). See weight_algebra.h. */
#include "weight_algebra.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evaluator.h"
#include "linalg.h"

/* ---- constants as double matrices ---- */
qcc_mat qcc_mat_read(MlirValue v) {
  qcc_array a;
  qcc_mat m = {0, 0, NULL};
  if (!qcc_value_constant(v, &a)) return m;
  m.c = a.rank ? a.dims[a.rank - 1] : 1;
  m.r = m.c ? qcc_array_numel(&a) / m.c : 0;
  m.v = malloc(sizeof(double) * (size_t)(m.r * m.c + 1));
  for (int64_t i = 0; i < m.r * m.c; i++) m.v[i] = ((float *)a.data)[i];
  qcc_array_free(&a);
  return m;
}

void qcc_mat_write(MlirOperation op, int idx, const qcc_mat *m) {
  MlirValue old = mlirOperationGetOperand(op, idx);
  qcc_shape s;
  qcc_shape_of(old, &s);
  int64_t n = qcc_shape_numel(&s);
  float *f = malloc(sizeof(float) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) f[i] = (float)m->v[i];
  qcc_array a = {QRT_F32, s.rank, {0}, f, sizeof(float) * (size_t)n};
  memcpy(a.dims, s.dims, sizeof s.dims);
  mlirOperationSetOperand(op, idx, qcc_make_constant(op, mlirOperationGetLocation(op), &a));
  free(f);
}

MlirValue qcc_vector_const(MlirOperation before, const double *v, int64_t n) {
  float *f = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++) f[i] = (float)v[i];
  qcc_array a = {QRT_F32, 1, {n}, f, sizeof(float) * (size_t)n};
  MlirValue c = qcc_make_constant(before, mlirOperationGetLocation(before), &a);
  free(f);
  return c;
}

void qcc_mat_rows_times(qcc_mat *m, const double *Q) {
  double *out = malloc(sizeof(double) * (size_t)(m->r * m->c + 1));
  qcc_mat_mul(m->r, m->c, m->c, m->v, Q, out);
  free(m->v);
  m->v = out;
}

/* ---- calibration statistics of chosen values ---- */
static void observe(MlirOperation op, MlirValue v, const qcc_array *data, void *user) {
  (void)op;
  qcc_chan_stats *s = qcc_ptr_map_get(&((qcc_chan_stats_set *)user)->by_value, v.ptr);
  if (!s || data->dtype != QRT_F32) return;
  const float *x = data->data;
  int64_t rows = qcc_array_numel(data) / s->d;
  if (s->cov) qcc_gram_accumulate(rows, s->d, x, s->cov);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < s->d; j++) {
      double t = x[r * s->d + j];
      s->sum[j] += t;
      s->sq[j] += t * t;
      s->sumsq += t * t;
      if (fabs(t) > s->absmax[j]) s->absmax[j] = fabs(t);
      if (fabs(t) > s->maxabs) s->maxabs = fabs(t);
    }
  s->n_rows += (double)rows;
}

qcc_chan_stats *qcc_chan_stats_want(qcc_chan_stats_set *set, MlirValue v, bool cov) {
  qcc_chan_stats *s = qcc_ptr_map_get(&set->by_value, v.ptr);
  if (s) return s;
  qcc_shape sh;
  qcc_shape_of(v, &sh);
  s = calloc(1, sizeof *s);
  s->d = sh.rank ? sh.dims[sh.rank - 1] : 1;
  s->absmax = calloc((size_t)s->d, sizeof(double));
  s->sum = calloc((size_t)s->d, sizeof(double));
  s->sq = calloc((size_t)s->d, sizeof(double));
  if (cov) s->cov = calloc((size_t)(s->d * s->d), sizeof(double));
  qcc_ptr_map_put(&set->by_value, v.ptr, s);
  return s;
}

int qcc_chan_stats_run(MlirModule m, const qcc_calib_set *calib, qcc_chan_stats_set *set) {
  qcc_eval_cache *cache = qcc_eval_cache_new();
  qcc_eval_plan *plan = qcc_eval_plan_new(m, cache);
  int rc = 0;
  for (int k = 0; k < calib->n_samples && !rc; k++)
    rc = qcc_eval_plan_run(plan, &calib->samples[k * calib->n_inputs], calib->n_inputs, NULL, NULL, observe, set);
  qcc_eval_plan_free(plan);
  qcc_eval_cache_free(cache);
  for (size_t i = 0; i < set->by_value.cap; i++) {
    qcc_chan_stats *s = set->by_value.vals[i];
    if (set->by_value.keys[i] && s && s->cov) qcc_gram_mirror(s->d, s->cov);
  }
  return rc ? -1 : 0;
}

void qcc_chan_stats_free(qcc_chan_stats_set *set) {
  for (size_t i = 0; i < set->by_value.cap; i++) {
    qcc_chan_stats *s = set->by_value.vals[i];
    if (!set->by_value.keys[i] || !s) continue;
    free(s->absmax);
    free(s->sum);
    free(s->sq);
    free(s->cov);
    free(s);
  }
  qcc_ptr_map_free(&set->by_value);
}

void qcc_reader_left(MlirOperation mm, const double *A) {
  qcc_mat w = qcc_mat_read(q_matmul_in(mm, 1));
  double *out = malloc(sizeof(double) * (size_t)(w.r * w.c));
  qcc_mat_mul(w.r, w.r, w.c, A, w.v, out);
  free(w.v);
  w.v = out;
  qcc_mat_write(mm, 1, &w);
  free(w.v);
}

