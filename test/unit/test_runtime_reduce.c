/* test_runtime_reduce.c - reductions over axis sets against a reference that,
 * per output element, visits its reduced elements in row-major order of
 * the reduced dims (the documented order): f32 results are bit-exact
 * (same sequence of float operations), integer ones exact, f64 ones close. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static float ref_f32(int op, const float *x, int r, const int64_t *shape, const int *red, int64_t oi) {
  /* decompose output index over kept dims, iterate reduced dims row-major */
  int64_t idx[8], cnt = 1, c, i;
  int k;
  float acc, m = -INFINITY;
  int64_t rem = oi;
  for (k = r - 1; k >= 0; --k) {
    if (red[k]) { idx[k] = 0; cnt *= shape[k]; continue; }
    idx[k] = rem % shape[k];
    rem /= shape[k];
  }
  switch (op) {
  case QRT_REDUCE_MAX: case QRT_REDUCE_LOG_SUM_EXP: acc = -INFINITY; break;
  case QRT_REDUCE_MIN: acc = INFINITY; break;
  case QRT_REDUCE_PROD: acc = 1.0f; break;
  default: acc = 0.0f; break;
  }
  for (c = 0; c < cnt; ++c) {
    int64_t off = 0, rr = c;
    float v;
    for (k = r - 1; k >= 0; --k)
      if (red[k]) { idx[k] = rr % shape[k]; rr /= shape[k]; }
    for (k = 0; k < r; ++k) off = off * shape[k] + idx[k];
    v = x[off];
    switch (op) {
    case QRT_REDUCE_SUM: case QRT_REDUCE_MEAN: case QRT_REDUCE_LOG_SUM: acc = acc + v; break;
    case QRT_REDUCE_MAX: case QRT_REDUCE_LOG_SUM_EXP: if (v > acc || v != v) acc = v; break;
    case QRT_REDUCE_MIN: if (v < acc || v != v) acc = v; break;
    case QRT_REDUCE_PROD: acc = acc * v; break;
    case QRT_REDUCE_L1: acc = acc + fabsf(v); break;
    default: acc = acc + v * v; break;
    }
  }
  if (op == QRT_REDUCE_LOG_SUM_EXP) {
    float s = 0.0f;
    m = acc;
    for (c = 0; c < cnt; ++c) {
      int64_t off = 0, rr = c;
      for (k = r - 1; k >= 0; --k)
        if (red[k]) { idx[k] = rr % shape[k]; rr /= shape[k]; }
      for (k = 0; k < r; ++k) off = off * shape[k] + idx[k];
      s = s + qrt_exp_f32(x[off] - m); /* the kernel's exp (see qrt.h) */
    }
    return logf(s) + m;
  }
  (void)i;
  if (op == QRT_REDUCE_MEAN) return acc / (float)cnt;
  if (op == QRT_REDUCE_L2) return sqrtf(acc);
  if (op == QRT_REDUCE_LOG_SUM) return logf(acc);
  return acc;
}

static void run_case(int r, const int64_t *shape, const int *red) {
  int op;
  int64_t n = 1, no = 1, i;
  int k;
  float *x, *y;
  qrt_reduce_params p;
  for (k = 0; k < r; ++k) {
    n *= shape[k];
    if (!red[k]) no *= shape[k];
  }
  x = (float *)xmalloc(sizeof(float) * (size_t)n);
  y = (float *)xmalloc(sizeof(float) * (size_t)no);
  for (op = QRT_REDUCE_SUM; op <= QRT_REDUCE_LOG_SUM_EXP; ++op) {
    const void *in[1];
    void *out[1];
    int ok = 1;
    char what[64];
    fill_f32(x, n, op == QRT_REDUCE_LOG_SUM ? 0.01f : -2.0f, 2.0f);
    if (op == QRT_REDUCE_PROD) fill_f32(x, n, 0.5f, 1.5f);
    memset(&p, 0, sizeof p);
    p.op = op; p.rank = r;
    for (k = 0; k < r; ++k) { p.in_shape[k] = shape[k]; p.reduced[k] = red[k]; }
    in[0] = x; out[0] = y;
    qrt_reduce_f32(&p, in, out);
    for (i = 0; i < no; ++i) ok &= same_f32(y[i], ref_f32(op, x, r, shape, red, i));
    sprintf(what, "reduce f32 op %d rank %d", op, r);
    check(ok, what);
    {
      /* f64: the same walk in double; checked against the f32 reference
       * with a tolerance covering float rounding */
      double *xd = (double *)xmalloc(sizeof(double) * (size_t)n), *yd = (double *)xmalloc(sizeof(double) * (size_t)no);
      for (i = 0; i < n; ++i) xd[i] = x[i];
      in[0] = xd; out[0] = yd;
      qrt_reduce_f64(&p, in, out);
      ok = 1;
      for (i = 0; i < no; ++i) {
        double want = ref_f32(op, x, r, shape, red, i);
        ok &= fabs(yd[i] - want) <= 1e-4 * (1.0 + fabs(want));
      }
      sprintf(what, "reduce f64 op %d rank %d", op, r);
      check(ok, what);
      free(xd); free(yd);
    }
  }
  {
    /* integer sum / max / min / prod */
    int32_t *xi = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)n), *yi = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)no);
    int64_t *xl = (int64_t *)xmalloc(sizeof(int64_t) * (size_t)n), *yl = (int64_t *)xmalloc(sizeof(int64_t) * (size_t)no);
    static const int ops[4] = {QRT_REDUCE_SUM, QRT_REDUCE_MAX, QRT_REDUCE_MIN, QRT_REDUCE_PROD};
    int t;
    for (i = 0; i < n; ++i) { xi[i] = (int32_t)(lcg() % 7) - 3; xl[i] = xi[i] * 1000000007LL; }
    for (t = 0; t < 4; ++t) {
      const void *in[1];
      void *out[1];
      int ok = 1;
      p.op = ops[t];
      in[0] = xi; out[0] = yi;
      qrt_reduce_i32(&p, in, out);
      in[0] = xl; out[0] = yl;
      qrt_reduce_i64(&p, in, out);
      for (i = 0; i < no; ++i) {
        /* the float reference on exactly-representable small values */
        float *xf = (float *)xmalloc(sizeof(float) * (size_t)n);
        int64_t j;
        float rf;
        for (j = 0; j < n; ++j) xf[j] = (float)xi[j];
        rf = ref_f32(ops[t], xf, r, shape, red, i);
        if (ops[t] != QRT_REDUCE_PROD || fabsf(rf) < 1e6f) {
          ok &= yi[i] == (int32_t)rf;
          if (ops[t] != QRT_REDUCE_PROD) ok &= yl[i] == (ops[t] == QRT_REDUCE_SUM ? (int64_t)rf * 1000000007LL : (int64_t)rf * 1000000007LL);
        }
        free(xf);
      }
      check(ok, "reduce i32/i64");
    }
    free(xi); free(yi); free(xl); free(yl);
  }
  free(x); free(y);
}

int main(void) {
  {
    const int64_t s[2] = {7, 37};
    const int a[2] = {0, 1}, b[2] = {1, 0}, c[2] = {1, 1};
    run_case(2, s, a);
    run_case(2, s, b);
    run_case(2, s, c);
  }
  {
    const int64_t s[4] = {2, 3, 4, 5};
    const int a[4] = {0, 1, 0, 1}, b[4] = {1, 0, 1, 0}, c[4] = {0, 1, 1, 0}, d[4] = {0, 0, 0, 0};
    run_case(4, s, a);
    run_case(4, s, b);
    run_case(4, s, c);
    run_case(4, s, d);
  }
  {
    const int64_t s[5] = {3, 1, 4, 1, 6};
    const int a[5] = {1, 1, 0, 0, 1};
    run_case(5, s, a);
  }
  {
    /* empty reduction: sum 0, max -inf, mean NaN */
    const int64_t s[2] = {3, 0};
    float x[1], y[3];
    qrt_reduce_params p;
    const void *in[1];
    void *out[1];
    memset(&p, 0, sizeof p);
    p.rank = 2; p.in_shape[0] = 3; p.in_shape[1] = 0; p.reduced[1] = 1;
    in[0] = x; out[0] = y;
    p.op = QRT_REDUCE_SUM; qrt_reduce_f32(&p, in, out);
    check(y[0] == 0.0f && y[2] == 0.0f, "empty sum");
    p.op = QRT_REDUCE_MAX; qrt_reduce_f32(&p, in, out);
    check(y[1] == -INFINITY, "empty max");
    p.op = QRT_REDUCE_MEAN; qrt_reduce_f32(&p, in, out);
    check(y[1] != y[1], "empty mean");
    (void)s;
  }
  return finish();
}
