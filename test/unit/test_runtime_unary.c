/* test_runtime_unary.c - unary kernels.
 * Float math ops: compared with an independent double-precision reference;
 * tolerance |y - ref| <= 1e-5 * max(1, |ref|) for f32 (a few ulp plus the
 * float rounding of intermediate steps) and 1e-12 * max(1, |ref|) for f64.
 * Exact ops (relu, neg, abs, floor, ceil, round, sign, clip, integer and
 * bool ops, isnan/isinf): bit-exact against hand-computed expectations.
 * Sigmoid, SiLU and exp on float (whole vectors through qrt_exp_f32x, the
 * tail scalar): bit-exact against the scalar formulas on qrt_exp_f32, with
 * NaN, infinities, zeros and both exp clamps among the inputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }
static double softplus(double x) { return x > 30 ? x : log1p(exp(x)); }

/* reference in double; alpha/beta as in qrt.h */
static double ref_op(int op, double x, double a, double b) {
  switch (op) {
  case QRT_UNARY_LEAKY_RELU: return x < 0 ? a * x : x;
  case QRT_UNARY_ELU: return x < 0 ? a * (exp(x) - 1) : x;
  case QRT_UNARY_SELU: return x <= 0 ? b * (a * exp(x) - a) : b * x;
  case QRT_UNARY_SIGMOID: return sigm(x);
  case QRT_UNARY_HARD_SIGMOID: return fmax(0, fmin(1, a * x + b));
  case QRT_UNARY_HARD_SWISH: return x * fmax(0, fmin(1, x / 6 + 0.5));
  case QRT_UNARY_TANH: return tanh(x);
  case QRT_UNARY_ERF: return erf(x);
  case QRT_UNARY_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
  case QRT_UNARY_GELU_TANH:
    return 0.5 * x * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
  case QRT_UNARY_SILU: return x * sigm(x);
  case QRT_UNARY_SOFTPLUS: return softplus(x);
  case QRT_UNARY_SOFTSIGN: return x / (1 + fabs(x));
  case QRT_UNARY_EXP: return exp(x);
  case QRT_UNARY_LOG: return log(x);
  case QRT_UNARY_SQRT: return sqrt(x);
  case QRT_UNARY_RECIPROCAL: return 1 / x;
  case QRT_UNARY_SIN: return sin(x);
  case QRT_UNARY_COS: return cos(x);
  case QRT_UNARY_TAN: return tan(x);
  case QRT_UNARY_ASIN: return asin(x);
  case QRT_UNARY_ACOS: return acos(x);
  case QRT_UNARY_ATAN: return atan(x);
  case QRT_UNARY_SINH: return sinh(x);
  case QRT_UNARY_COSH: return cosh(x);
  case QRT_UNARY_ASINH: return asinh(x);
  case QRT_UNARY_ACOSH: return acosh(x);
  case QRT_UNARY_ATANH: return atanh(x);
  case QRT_UNARY_MISH: return x * tanh(softplus(x));
  case QRT_UNARY_CELU: return (x > 0 ? x : 0) + fmin(0, a * (exp(x / a) - 1));
  case QRT_UNARY_THRESHOLDED_RELU: return x > a ? x : 0;
  case QRT_UNARY_SHRINK: return x < -a ? x + b : (x > a ? x - b : 0);
  default: return NAN;
  }
}

static const struct { int op; double lo, hi; } g_math_ops[] = {
    {QRT_UNARY_LEAKY_RELU, -5, 5}, {QRT_UNARY_ELU, -5, 5},       {QRT_UNARY_SELU, -5, 5},
    {QRT_UNARY_SIGMOID, -30, 30},  {QRT_UNARY_HARD_SIGMOID, -6, 6}, {QRT_UNARY_HARD_SWISH, -6, 6},
    {QRT_UNARY_TANH, -8, 8},       {QRT_UNARY_ERF, -4, 4},       {QRT_UNARY_GELU, -6, 6},
    {QRT_UNARY_GELU_TANH, -6, 6},  {QRT_UNARY_SILU, -20, 20},    {QRT_UNARY_SOFTPLUS, -30, 30},
    {QRT_UNARY_SOFTSIGN, -9, 9},   {QRT_UNARY_EXP, -20, 20},     {QRT_UNARY_LOG, 0.001, 100},
    {QRT_UNARY_SQRT, 0, 100},      {QRT_UNARY_RECIPROCAL, 0.1, 10}, {QRT_UNARY_SIN, -10, 10},
    {QRT_UNARY_COS, -10, 10},      {QRT_UNARY_TAN, -1.4, 1.4},   {QRT_UNARY_ASIN, -0.99, 0.99},
    {QRT_UNARY_ACOS, -0.99, 0.99}, {QRT_UNARY_ATAN, -10, 10},    {QRT_UNARY_SINH, -5, 5},
    {QRT_UNARY_COSH, -5, 5},       {QRT_UNARY_ASINH, -10, 10},   {QRT_UNARY_ACOSH, 1.01, 10},
    {QRT_UNARY_ATANH, -0.99, 0.99}, {QRT_UNARY_MISH, -10, 10},   {QRT_UNARY_CELU, -5, 5},
    {QRT_UNARY_THRESHOLDED_RELU, -3, 3}, {QRT_UNARY_SHRINK, -3, 3}};

#define N_MATH 257
static void test_math(void) {
  size_t t;
  for (t = 0; t < sizeof g_math_ops / sizeof g_math_ops[0]; ++t) {
    float x[N_MATH], y[N_MATH];
    double xd[N_MATH], yd[N_MATH];
    qrt_unary_params p;
    const void *in[1];
    void *out[1];
    int i, ok = 1, okd = 1;
    char what[64];
    memset(&p, 0, sizeof p);
    p.op = g_math_ops[t].op;
    p.n = N_MATH;
    p.alpha = 0.75f;
    p.beta = p.op == QRT_UNARY_HARD_SIGMOID ? 0.5f : 1.0507f;
    for (i = 0; i < N_MATH; ++i) {
      x[i] = (float)(g_math_ops[t].lo + (g_math_ops[t].hi - g_math_ops[t].lo) * i / (N_MATH - 1));
      xd[i] = x[i];
    }
    in[0] = x; out[0] = y;
    qrt_unary_f32(&p, in, out);
    in[0] = xd; out[0] = yd;
    qrt_unary_f64(&p, in, out);
    for (i = 0; i < N_MATH; ++i) {
      const double r = ref_op(p.op, (double)x[i], (double)p.alpha, (double)p.beta);
      const double tol = 1e-5 * (fabs(r) > 1 ? fabs(r) : 1);
      const double told = 1e-12 * (fabs(r) > 1 ? fabs(r) : 1);
      if (!(fabs((double)y[i] - r) <= tol)) {
        if (ok) printf("  op %d x=%.9g: %.9g vs %.9g\n", p.op, (double)x[i], (double)y[i], r);
        ok = 0;
      }
      if (!(fabs(yd[i] - r) <= told)) {
        if (okd) printf("  f64 op %d x=%.17g: %.17g vs %.17g\n", p.op, xd[i], yd[i], r);
        okd = 0;
      }
    }
    sprintf(what, "f32 math op %d", p.op);
    check(ok, what);
    sprintf(what, "f64 math op %d", p.op);
    check(okd, what);
  }
}

static void run_f32(int op, float alpha, float beta, const float *x, float *y, int n) {
  qrt_unary_params p;
  const void *in[1];
  void *out[1];
  memset(&p, 0, sizeof p);
  p.op = op; p.n = n; p.alpha = alpha; p.beta = beta;
  in[0] = x; out[0] = y;
  qrt_unary_f32(&p, in, out);
}

static void test_exact_f32(void) {
  static const float x[] = {-2.5f, -1.5f, -0.5f, -0.0f, 0.0f, 0.5f, 1.5f, 2.5f, 3.7f, -3.7f,
                            0.49999997f, 8388609.0f, INFINITY, -INFINITY, 8388607.5f, -8388607.5f,
                            4194302.5f, -0.3f, 16777216.0f, 0.5000001f};
  static const float rnd[] = {-2.0f, -2.0f, -0.0f, -0.0f, 0.0f, 0.0f, 2.0f, 2.0f, 4.0f, -4.0f,
                              0.0f, 8388609.0f, INFINITY, -INFINITY, 8388608.0f, -8388608.0f,
                              4194302.0f, -0.0f, 16777216.0f, 1.0f};
  enum { N = sizeof x / sizeof x[0] };
  float y[N], nanv[3] = {NAN, 1.0f, -1.0f}, yn[3];
  uint8_t b[N];
  int i, ok;
  run_f32(QRT_UNARY_ROUND, 0, 0, x, y, N);
  check(same_f32_arr(y, rnd, N), "round half to even");
  run_f32(QRT_UNARY_FLOOR, 0, 0, x, y, N);
  for (ok = 1, i = 0; i < N; ++i) ok &= same_f32(y[i], floorf(x[i]));
  check(ok, "floor");
  run_f32(QRT_UNARY_CEIL, 0, 0, x, y, N);
  for (ok = 1, i = 0; i < N; ++i) ok &= same_f32(y[i], ceilf(x[i]));
  check(ok, "ceil");
  run_f32(QRT_UNARY_RELU, 0, 0, x, y, N);
  for (ok = 1, i = 0; i < N; ++i) ok &= same_f32(y[i], x[i] < 0 ? 0.0f : x[i]);
  check(ok, "relu");
  run_f32(QRT_UNARY_NEG, 0, 0, x, y, N);
  for (ok = 1, i = 0; i < N; ++i) ok &= same_f32(y[i], -x[i]);
  check(ok, "neg");
  run_f32(QRT_UNARY_ABS, 0, 0, x, y, N);
  for (ok = 1, i = 0; i < N; ++i) ok &= same_f32(y[i], fabsf(x[i]));
  check(ok, "abs");
  run_f32(QRT_UNARY_SIGN, 0, 0, x, y, N);
  for (ok = 1, i = 0; i < N; ++i) ok &= y[i] == (x[i] > 0 ? 1.0f : (x[i] < 0 ? -1.0f : 0.0f));
  check(ok, "sign");
  run_f32(QRT_UNARY_CLIP, -1.0f, 2.0f, x, y, N);
  for (ok = 1, i = 0; i < N; ++i) ok &= same_f32(y[i], x[i] < -1 ? -1.0f : (x[i] > 2 ? 2.0f : x[i]));
  check(ok, "clip");
  run_f32(QRT_UNARY_IDENTITY, 0, 0, x, y, N);
  check(same_f32_arr(y, x, N), "identity");
  run_f32(QRT_UNARY_RELU, 0, 0, nanv, yn, 3);
  check(yn[0] != yn[0] && yn[1] == 1.0f && yn[2] == 0.0f, "relu NaN passes");
  run_f32(QRT_UNARY_CLIP, -0.5f, 0.5f, nanv, yn, 3);
  check(yn[0] != yn[0] && yn[1] == 0.5f && yn[2] == -0.5f, "clip NaN passes");
  {
    const float z[4] = {NAN, INFINITY, -INFINITY, 1.0f};
    uint8_t r[4];
    int op;
    static const uint8_t expect[4][4] = {{1, 0, 0, 0}, {0, 1, 1, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}};
    for (op = 0; op < 4; ++op) {
      qrt_unary_params p;
      const void *in[1];
      void *out[1];
      memset(&p, 0, sizeof p);
      p.op = op == 0 ? QRT_UNARY_ISNAN : (op == 1 ? QRT_UNARY_ISINF : (op == 2 ? QRT_UNARY_ISINF_POS : QRT_UNARY_ISINF_NEG));
      p.n = 4;
      in[0] = z; out[0] = r;
      qrt_unary_f32(&p, in, out);
      check(memcmp(r, expect[op], 4) == 0, "isnan/isinf -> bool");
    }
  }
  (void)b;
}

static void test_int(void) {
  qrt_unary_params p;
  const void *in[1];
  void *out[1];
  {
    const int32_t x[6] = {INT32_MIN, -7, -1, 0, 5, INT32_MAX};
    int32_t y[6];
    static const int32_t neg[6] = {INT32_MIN, 7, 1, 0, -5, -INT32_MAX};
    static const int32_t ab[6] = {INT32_MIN, 7, 1, 0, 5, INT32_MAX};
    static const int32_t sg[6] = {-1, -1, -1, 0, 1, 1};
    static const int32_t rl[6] = {0, 0, 0, 0, 5, INT32_MAX};
    static const int32_t cl[6] = {-3, -3, -1, 0, 4, 4};
    memset(&p, 0, sizeof p);
    p.n = 6; in[0] = x; out[0] = y;
    p.op = QRT_UNARY_NEG; qrt_unary_i32(&p, in, out); check(memcmp(y, neg, sizeof y) == 0, "i32 neg (wraps)");
    p.op = QRT_UNARY_ABS; qrt_unary_i32(&p, in, out); check(memcmp(y, ab, sizeof y) == 0, "i32 abs (wraps)");
    p.op = QRT_UNARY_SIGN; qrt_unary_i32(&p, in, out); check(memcmp(y, sg, sizeof y) == 0, "i32 sign");
    p.op = QRT_UNARY_RELU; qrt_unary_i32(&p, in, out); check(memcmp(y, rl, sizeof y) == 0, "i32 relu");
    p.op = QRT_UNARY_CLIP; p.ialpha = -3; p.ibeta = 4;
    qrt_unary_i32(&p, in, out); check(memcmp(y, cl, sizeof y) == 0, "i32 clip");
  }
  {
    const int64_t x[4] = {INT64_MIN, -9, 0, 9};
    int64_t y[4];
    static const int64_t neg[4] = {INT64_MIN, 9, 0, -9};
    memset(&p, 0, sizeof p);
    p.n = 4; in[0] = x; out[0] = y;
    p.op = QRT_UNARY_NEG; qrt_unary_i64(&p, in, out); check(memcmp(y, neg, sizeof y) == 0, "i64 neg");
    p.op = QRT_UNARY_ABS; qrt_unary_i64(&p, in, out); check(y[0] == INT64_MIN && y[1] == 9 && y[3] == 9, "i64 abs");
  }
  {
    const int8_t x[4] = {-128, -3, 0, 127};
    int8_t y[4];
    static const int8_t neg[4] = {-128, 3, 0, -127};
    memset(&p, 0, sizeof p);
    p.n = 4; in[0] = x; out[0] = y;
    p.op = QRT_UNARY_NEG; qrt_unary_i8(&p, in, out); check(memcmp(y, neg, sizeof y) == 0, "i8 neg");
    p.op = QRT_UNARY_RELU; qrt_unary_i8(&p, in, out); check(y[0] == 0 && y[1] == 0 && y[3] == 127, "i8 relu");
  }
  {
    const uint8_t x[4] = {0, 1, 200, 255};
    uint8_t y[4];
    memset(&p, 0, sizeof p);
    p.n = 4; in[0] = x; out[0] = y;
    p.op = QRT_UNARY_NEG; qrt_unary_u8(&p, in, out); check(y[0] == 0 && y[1] == 255 && y[2] == 56 && y[3] == 1, "u8 neg wraps");
    p.op = QRT_UNARY_ABS; qrt_unary_u8(&p, in, out); check(memcmp(x, y, 4) == 0, "u8 abs");
    p.op = QRT_UNARY_SIGN; qrt_unary_u8(&p, in, out); check(y[0] == 0 && y[1] == 1 && y[3] == 1, "u8 sign");
    p.op = QRT_UNARY_CLIP; p.ialpha = 2; p.ibeta = 100;
    qrt_unary_u8(&p, in, out); check(y[0] == 2 && y[1] == 2 && y[2] == 100 && y[3] == 100, "u8 clip");
    p.op = QRT_UNARY_SQRT; qrt_unary_u8(&p, in, out); check(y[0] == 0 && y[3] == 0, "unsupported op -> zeros");
  }
  {
    const uint8_t x[3] = {0, 1, 7};
    uint8_t y[3];
    memset(&p, 0, sizeof p);
    p.n = 3; in[0] = x; out[0] = y;
    p.op = QRT_UNARY_NOT; qrt_unary_bool(&p, in, out); check(y[0] == 1 && y[1] == 0 && y[2] == 0, "bool not");
  }
}

/* The float ops on exp against their scalar formulas, bit for bit. */
static void exp_ops_bit_exact(void) {
  enum { N = 1000 };
  static float x[N], y[N];
  static const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 88.0f, 89.0f, -86.0f, -87.0f,
                                  -104.0f, 1e-40f, -1e-40f, 3.4e38f, -3.4e38f};
  const int ops[3] = {QRT_UNARY_SIGMOID, QRT_UNARY_SILU, QRT_UNARY_EXP};
  int k, i;
  fill_f32(x, N, -100.0f, 100.0f);
  for (i = 0; i < (int)(sizeof special / sizeof special[0]); ++i) {
    x[3 * i + 1] = special[i];
    x[N - 1 - 2 * i] = special[i]; /* some in the scalar tail too */
  }
  for (k = 0; k < 3; ++k) {
    qrt_unary_params p;
    const void *in[1];
    void *out[1];
    int ok = 1;
    char what[64];
    memset(&p, 0, sizeof p);
    p.op = ops[k];
    p.n = N;
    in[0] = x; out[0] = y;
    qrt_unary_f32(&p, in, out);
    for (i = 0; i < N; ++i) {
      const float v = x[i], sg = 1.0f / (1.0f + qrt_exp_f32(-v));
      const float r = ops[k] == QRT_UNARY_EXP ? qrt_exp_f32(v) : ops[k] == QRT_UNARY_SILU ? v * sg : sg;
      if (!same_f32(y[i], r)) {
        if (ok) printf("  op %d x %a: %a vs %a\n", ops[k], (double)v, (double)y[i], (double)r);
        ok = 0;
      }
    }
    sprintf(what, "unary op %d bit-exact vs scalar exp formula", ops[k]);
    check(ok, what);
  }
}

int main(void) {
  exp_ops_bit_exact();
  test_math();
  test_exact_f32();
  test_int();
  return finish();
}
