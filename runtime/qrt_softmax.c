#include "qrt.h"
/* qrt_softmax.c - softmax / log_softmax over the middle axis of
 * [outer, axis_len, inner], numerically stable:
 *   m = max_j x_j,  s = sum_j exp(x_j - m)  (sum order below),
 *   softmax: exp(x_j - m) / s,   log_softmax: (x_j - m) - log(s).
 * inner == 1: the sum is qrt_lanes_sum_f32 (qrt.h: 16 lanes, a fixed
 * order that vectorizes without reassociation).
 * inner > 1: plain sequential sums along the axis, vectorized across inner.
 * NaN anywhere in a vector propagates to all of it.
 * Short rows (attention's scores) take their exps several rows at a time
 * (qrt_softmax_grouped). */
#include <math.h>
#include <string.h>

#define QRT_SOFTMAX_CHUNK 64

/* y[i] = exp(v[i] - m), i < n, then their sum (order above).  Whole
 * vectors through qrt_exp_f32x (the same bits as qrt_exp_f32, several
 * independent chains at once: qrt.h), the tail one by one. */
QRT_INTERNAL float qrt_softmax_exp_sum(const float *v, float m, float *y, int64_t n) {
  int64_t i = 0;
#if QRT_HAVE_F32X
  for (; i + QRT_F32X_LANES <= n; i += QRT_F32X_LANES) {
    qrt_f32x d, e;
    int u;
    memcpy(&d, v + i, sizeof d);
    QRT_F32X_EACH(u) d.v[u] = d.v[u] - m;
    qrt_exp_f32x(&e, &d);
    memcpy(y + i, &e, sizeof e);
  }
#endif
  for (; i < n; ++i) y[i] = qrt_exp_f32(v[i] - m);
  return qrt_lanes_sum_f32(y, n);
}

QRT_INTERNAL float qrt_softmax_max(float m, float v) { return (v > m || v != v) ? v : m; }

/* max of v[0..n) as the sequential qrt_softmax_max fold gives it.  The
 * maximum of numbers does not depend on the order; only the sign of a zero
 * maximum and the payload of a NaN can, so those rows are folded again in
 * order.  Else the maximum is found on integer keys (the float bits mapped
 * to an unsigned order that agrees with < on numbers: sign bit flipped for
 * positives, all bits for negatives): an integer max reduction, which
 * compilers vectorize (a float compare-and-select fold they do not). */
QRT_INTERNAL float qrt_softmax_row_max(const float *v, int64_t n) {
  uint32_t kmax = 0, nan = 0, u;
  float m;
  int64_t i;
  for (i = 0; i < n; ++i) {
    uint32_t b, key;
    memcpy(&b, v + i, sizeof b);
    key = b ^ ((0u - (b >> 31)) | 0x80000000u);
    kmax = key > kmax ? key : kmax;
    nan |= (uint32_t)((b & 0x7fffffffu) > 0x7f800000u);
  }
  u = (kmax & 0x80000000u) ? kmax ^ 0x80000000u : ~kmax;
  memcpy(&m, &u, sizeof m);
  if (nan || m == 0.0f)
    for (m = v[0], i = 1; i < n; ++i) m = qrt_softmax_max(m, v[i]);
  return m;
}

/* Softmax (not log) of the rows [0, rows) of length L, x and y either the
 * same buffer or disjoint, with the bits of the row code below but the
 * exps of a group of rows together: a row of attention scores (64) is
 * one block of qrt_exp_f32x, whose ~30 dependent steps then leave the
 * FP units idle, so rows are taken QRT_SOFTMAX_GROUP elements at a time:
 * each row's max and differences x - m into y (the same subtraction as
 * qrt_softmax_exp_sum), exp over the group's run in whole vectors (lane by
 * lane: the same bits wherever an element sits), then each row's 16-lane
 * sum and division.  Returns 0 (nothing done) for rows longer than a
 * group. */
#define QRT_SOFTMAX_GROUP 4096
QRT_INTERNAL int qrt_softmax_grouped(const float *x, float *y, int64_t rows, int64_t L) {
  int64_t r0, r, j, i, g, n;
  if (L <= 0 || L > QRT_SOFTMAX_GROUP) return 0;
  g = QRT_SOFTMAX_GROUP / L;
  for (r0 = 0; r0 < rows; r0 += g) {
    const int64_t r1 = rows - r0 < g ? rows : r0 + g;
    float *base = y + r0 * L;
    for (r = r0; r < r1; ++r) {
      const float m = qrt_softmax_row_max(x + r * L, L);
      for (j = 0; j < L; ++j) y[r * L + j] = x[r * L + j] - m;
    }
    n = (r1 - r0) * L;
    i = 0;
#if QRT_HAVE_F32X
    for (; i + QRT_F32X_LANES <= n; i += QRT_F32X_LANES) {
      qrt_f32x d, e;
      memcpy(&d, base + i, sizeof d);
      qrt_exp_f32x(&e, &d);
      memcpy(base + i, &e, sizeof e);
    }
#endif
    for (; i < n; ++i) base[i] = qrt_exp_f32(base[i]);
    for (r = r0; r < r1; ++r) {
      float *yr = y + r * L;
      const float s = qrt_lanes_sum_f32(yr, L);
      for (j = 0; j < L; ++j) yr[j] = yr[j] / s;
    }
  }
  return 1;
}

typedef struct qrt_softmax_job {
  const qrt_softmax_params *p;
  const float *x;
  float *y;
} qrt_softmax_job;

/* Outer slices [o0, o1): each computed alone, so any split of them gives
 * the same bits. */
QRT_INTERNAL void qrt_softmax_rows(void *ctx, int64_t o0, int64_t o1) {
  const qrt_softmax_job *jb = (const qrt_softmax_job *)ctx;
  const qrt_softmax_params *p = jb->p;
  const float *x = jb->x;
  float *y = jb->y;
  const int64_t L = p->axis_len, I = p->inner;
  int64_t o, j, c, t;
  if (I == 1 && !p->log && qrt_softmax_grouped(x + o0 * L, y + o0 * L, o1 - o0, L)) return;
  for (o = o0; o < o1; ++o) {
    const float *xo = x + o * L * I;
    float *yo = y + o * L * I;
    if (I == 1) {
      const float m = qrt_softmax_row_max(xo, L);
      const float s = qrt_softmax_exp_sum(xo, m, yo, L);
      if (p->log) {
        const float ls = logf(s);
        for (j = 0; j < L; ++j) yo[j] = (xo[j] - m) - ls;
      } else {
        for (j = 0; j < L; ++j) yo[j] = yo[j] / s;
      }
      continue;
    }
    for (c = 0; c < I; c += QRT_SOFTMAX_CHUNK) {
      const int64_t w = I - c < QRT_SOFTMAX_CHUNK ? I - c : QRT_SOFTMAX_CHUNK;
      float m[QRT_SOFTMAX_CHUNK], s[QRT_SOFTMAX_CHUNK];
      for (t = 0; t < w; ++t) { m[t] = xo[c + t]; s[t] = 0.0f; }
      for (j = 1; j < L; ++j)
        for (t = 0; t < w; ++t) m[t] = qrt_softmax_max(m[t], xo[j * I + c + t]);
      for (j = 0; j < L; ++j)
        for (t = 0; t < w; ++t) {
          const float e = qrt_exp_f32(xo[j * I + c + t] - m[t]);
          yo[j * I + c + t] = e;
          s[t] = s[t] + e;
        }
      if (p->log) {
        for (t = 0; t < w; ++t) s[t] = logf(s[t]);
        for (j = 0; j < L; ++j)
          for (t = 0; t < w; ++t) yo[j * I + c + t] = (xo[j * I + c + t] - m[t]) - s[t];
      } else {
        for (j = 0; j < L; ++j)
          for (t = 0; t < w; ++t) yo[j * I + c + t] = yo[j * I + c + t] / s[t];
      }
    }
  }
}

/* Threads take whole outer slices, at least QRT_PAR_MIN_ELEMS / 4
 * elements per task (an exp per element). */
QRT_API void qrt_softmax_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_softmax_params *p = (const qrt_softmax_params *)params;
  const int64_t len = p->axis_len * p->inner;
  qrt_softmax_job jb;
  if (p->axis_len <= 0 || p->inner <= 0) return;
  jb.p = p;
  jb.x = (const float *)in[0];
  jb.y = (float *)out[0];
  qrt_parallel_range(p->outer, 1, (QRT_PAR_MIN_ELEMS / 4 + len - 1) / len, qrt_softmax_rows, &jb);
}
