/* test_runtime_lut.c - int8 lookup-table kernel (qrt_lut_i8) and its
 * builder (qrt_build_lut_i8) for the integer-only mode.
 *
 * Reference: the exact function in double (libm, written here, not the
 * runtime's formulas) at the exact dequantized input, divided by the
 * output scale and rounded to nearest (ties to even), saturated.  The
 * table must match it exactly (0 LSB) except where the reference lies
 * within 1e-9 of a rounding tie (not seen in practice; counted).  Also
 * measured: the error of the table against the real value (<= 0.5 LSB
 * where not saturated) and its difference from the float path
 * (qrt_dequantize_i8_f32 -> qrt_unary_f32 -> qrt_quantize_f32_i8). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static double ref_f(int op, double x, double al, double be) {
  switch (op) {
  case QRT_UNARY_IDENTITY: return x;
  case QRT_UNARY_RELU: return x < 0 ? 0 : x;
  case QRT_UNARY_LEAKY_RELU: return x < 0 ? al * x : x;
  case QRT_UNARY_ELU: return x < 0 ? al * (exp(x) - 1) : x;
  case QRT_UNARY_SIGMOID: return 0.5 * (1 + tanh(0.5 * x)); /* another formula */
  case QRT_UNARY_HARD_SIGMOID: return fmax(0, fmin(1, al * x + be));
  case QRT_UNARY_HARD_SWISH: return x * fmax(0, fmin(1, x / 6 + 0.5));
  case QRT_UNARY_TANH: return tanh(x);
  case QRT_UNARY_ERF: return erf(x);
  case QRT_UNARY_GELU: return 0.5 * x * erfc(-x / sqrt(2.0));
  case QRT_UNARY_GELU_TANH:
    return 0.5 * x * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
  case QRT_UNARY_SILU: return x / (1 + exp(-x));
  case QRT_UNARY_SOFTPLUS: return x > 30 ? x + exp(-x) : log(1 + exp(x));
  case QRT_UNARY_SOFTSIGN: return x / (1 + fabs(x));
  case QRT_UNARY_EXP: return exp(x);
  case QRT_UNARY_LOG: return log(x);
  case QRT_UNARY_SQRT: return sqrt(x);
  case QRT_UNARY_NEG: return -x;
  case QRT_UNARY_ABS: return fabs(x);
  case QRT_UNARY_RECIPROCAL: return 1 / x;
  case QRT_UNARY_SIN: return sin(x);
  case QRT_UNARY_COS: return cos(x);
  case QRT_UNARY_ATAN: return atan(x);
  case QRT_UNARY_MISH: return x * tanh(log(1 + exp(x)));
  case QRT_UNARY_CLIP: return x < al ? al : (x > be ? be : x);
  default: return NAN;
  }
}

/* the ops with an independent reference above */
static const int k_ops[] = {QRT_UNARY_GELU, QRT_UNARY_GELU_TANH, QRT_UNARY_SILU, QRT_UNARY_SIGMOID,
                            QRT_UNARY_TANH, QRT_UNARY_EXP, QRT_UNARY_IDENTITY, QRT_UNARY_RELU,
                            QRT_UNARY_LEAKY_RELU, QRT_UNARY_ELU, QRT_UNARY_HARD_SIGMOID,
                            QRT_UNARY_HARD_SWISH, QRT_UNARY_ERF, QRT_UNARY_SOFTPLUS,
                            QRT_UNARY_SOFTSIGN, QRT_UNARY_LOG, QRT_UNARY_SQRT, QRT_UNARY_NEG,
                            QRT_UNARY_ABS, QRT_UNARY_RECIPROCAL, QRT_UNARY_SIN, QRT_UNARY_COS,
                            QRT_UNARY_ATAN, QRT_UNARY_MISH, QRT_UNARY_CLIP};
#define N_OPS ((int)(sizeof k_ops / sizeof k_ops[0]))
/* ops whose float path is compared (smooth; the others can jump at
 * poles / kinks by more than 1 LSB from float input rounding) */
static int smooth(int op) {
  return op == QRT_UNARY_GELU || op == QRT_UNARY_GELU_TANH || op == QRT_UNARY_SILU ||
         op == QRT_UNARY_SIGMOID || op == QRT_UNARY_TANH || op == QRT_UNARY_EXP ||
         op == QRT_UNARY_ELU || op == QRT_UNARY_ERF || op == QRT_UNARY_SOFTPLUS ||
         op == QRT_UNARY_SOFTSIGN || op == QRT_UNARY_MISH || op == QRT_UNARY_SIN ||
         op == QRT_UNARY_COS || op == QRT_UNARY_ATAN;
}

/* reference int8 (ties to even), and the distance of y/s to a tie */
static int ref_q(double y, double s, int32_t z, double *tie_dist) {
  double v = y / s, f, r;
  *tie_dist = 1.0;
  if (v != v) return z;
  if (v > 1e6) v = 1e6;
  if (v < -1e6) v = -1e6;
  f = floor(v);
  *tie_dist = fabs(v - f - 0.5);
  r = v - f > 0.5 ? f + 1 : (v - f < 0.5 ? f : (fmod(f, 2) == 0 ? f : f + 1));
  r += z;
  return r < -128 ? -128 : (r > 127 ? 127 : (int)r);
}

static struct { double max_real, sum_real; long n, n_real, ties, n_float, float_diff, float_max; } g_stat;

static void run_case(int op, float al, float be, double in_s, int32_t in_z, double out_s,
                     int32_t out_z, int tag) {
  int8_t table[256], x[256], y[256], yf[256];
  float xf[256], ff[256];
  qrt_lut_params p;
  qrt_dequantize_params dq;
  qrt_quantize_params qp;
  qrt_unary_params up;
  const void *in[2];
  void *out[1];
  int i, bad = 0;
  char what[160];
  if (qrt_build_lut_i8(op, al, be, in_s, in_z, out_s, out_z, table) != 0) {
    sprintf(what, "build op %d", op);
    check(0, what);
    return;
  }
  for (i = 0; i < 256; ++i) x[i] = (int8_t)(i - 128);
  memset(&p, 0, sizeof p);
  p.n = 256;
  in[0] = x; in[1] = table; out[0] = y;
  qrt_lut_i8(&p, in, out);
  for (i = 0; i < 256; ++i) {
    const double xv = in_s * (double)(x[i] - in_z);
    const double yv = ref_f(op, xv, al, be);
    double td;
    const int want = ref_q(yv, out_s, out_z, &td);
    ++g_stat.n;
    if (y[i] != want) {
      if (td < 1e-9) { ++g_stat.ties; continue; }
      if (!bad)
        printf("  op %d x=%d (%.9g): %d, want %d (y/s = %.12g)\n", op, x[i], xv, y[i], want,
               yv / out_s);
      ++bad;
    }
    if (yv == yv && want > -128 && want < 127) {
      const double e = fabs((double)(y[i] - out_z) - yv / out_s);
      g_stat.max_real = e > g_stat.max_real ? e : g_stat.max_real;
      g_stat.sum_real += e;
      ++g_stat.n_real;
    }
  }
  sprintf(what, "lut op %d case %d (in %g/%d out %g/%d) exact", op, tag, in_s, in_z, out_s, out_z);
  check(bad == 0, what);
  if (smooth(op)) {
    /* the float path: dequantize, float op, quantize */
    memset(&dq, 0, sizeof dq);
    dq.n = 256; dq.scale = (float)in_s; dq.zero_point = in_z;
    in[0] = x; out[0] = xf;
    qrt_dequantize_i8_f32(&dq, in, out);
    memset(&up, 0, sizeof up);
    up.op = op; up.n = 256; up.alpha = al; up.beta = be;
    in[0] = xf; out[0] = ff;
    qrt_unary_f32(&up, in, out);
    memset(&qp, 0, sizeof qp);
    qp.n = 256; qp.inv_scale = (float)(1.0 / out_s); qp.zero_point = out_z; qp.qmin = -128; qp.qmax = 127;
    in[0] = ff; out[0] = yf;
    qrt_quantize_f32_i8(&qp, in, out);
    bad = 0;
    for (i = 0; i < 256; ++i) {
      const int d = abs(y[i] - yf[i]);
      if (d) ++g_stat.float_diff;
      if (d > g_stat.float_max) g_stat.float_max = d;
      if (d > 1) ++bad;
    }
    g_stat.n_float += 256;
    sprintf(what, "lut op %d case %d: within 1 LSB of the float path", op, tag);
    check(bad == 0, what);
  }
}

/* output scale / zero point from the range of f over the input range,
 * widened to include 0 (as the calibration does) */
static void calib_out(int op, float al, float be, double in_s, int32_t in_z, double *s, int32_t *z) {
  double lo = 0, hi = 0;
  int q;
  for (q = -128; q <= 127; ++q) {
    const double y = ref_f(op, in_s * (q - in_z), al, be);
    if (y != y || fabs(y) > 1e30) continue;
    lo = y < lo ? y : lo;
    hi = y > hi ? y : hi;
  }
  *s = hi > lo ? (hi - lo) / 255 : 1.0;
  *z = (int32_t)floor(-128 - lo / *s + 0.5);
  if (*z < -128) *z = -128;
  if (*z > 127) *z = 127;
}

static void test_random(void) {
  int t, i;
  for (t = 0; t < 3000; ++t) {
    const int op = k_ops[t % N_OPS];
    const double in_s = exp(frand(-9.0f, 1.5f)); /* 1.2e-4 .. 4.5 */
    const int32_t in_z = (int32_t)irand(-128, 127);
    float al = frand(0.01f, 2.0f), be = frand(-1.0f, 1.0f);
    double out_s;
    int32_t out_z;
    if (op == QRT_UNARY_CLIP) { al = -frand(0, 2); be = frand(0, 2); }
    if (t % 3 == 2) { /* random output format, often saturating */
      out_s = exp(frand(-9.0f, 1.5f));
      out_z = (int32_t)irand(-128, 127);
    } else {
      calib_out(op, al, be, in_s, in_z, &out_s, &out_z);
    }
    run_case(op, al, be, in_s, in_z, out_s, out_z, t);
  }
  /* extreme scales and zero points */
  for (i = 0; i < N_OPS; ++i) {
    run_case(k_ops[i], 0.5f, 0.25f, 1e-7, 0, 1e-7, 0, 10000 + i);
    run_case(k_ops[i], 0.5f, 0.25f, 100.0, -128, 1e-3, 127, 20000 + i);
    run_case(k_ops[i], 0.5f, 0.25f, 0.05, 127, 1e5, -128, 30000 + i);
  }
}

static void test_kernel_shapes(void) {
  /* the kernel on arbitrary lengths: y[i] = table[x[i] + 128] */
  static int8_t x[5000], y[5000];
  int8_t table[256];
  qrt_lut_params p;
  const void *in[2];
  void *out[1];
  int64_t i, n;
  int ok = 1;
  check(qrt_build_lut_i8(QRT_UNARY_GELU, 0, 0, 0.03, -5, 0.02, -20, table) == 0, "build gelu");
  for (n = 0; n <= 5000; n += 1 + n / 3) {
    fill_i8(x, n, -128, 127);
    memset(y, 0x55, sizeof y);
    memset(&p, 0, sizeof p);
    p.n = n;
    in[0] = x; in[1] = table; out[0] = y;
    qrt_lut_i8(&p, in, out);
    for (i = 0; i < n; ++i) ok &= y[i] == table[x[i] + 128];
    for (i = n; i < 5000; ++i) ok &= y[i] == 0x55;
  }
  check(ok, "lut kernel: every length, nothing written past n");
}

static void test_edges(void) {
  int8_t t[256];
  int i, ok;
  /* bool ops, NOT, out-of-range ops and bad scales are rejected */
  check(qrt_build_lut_i8(QRT_UNARY_NOT, 0, 0, 1, 0, 1, 0, t) == -1, "reject NOT");
  check(qrt_build_lut_i8(QRT_UNARY_ISNAN, 0, 0, 1, 0, 1, 0, t) == -1, "reject ISNAN");
  check(qrt_build_lut_i8(QRT_UNARY_ISINF_NEG, 0, 0, 1, 0, 1, 0, t) == -1, "reject ISINF_NEG");
  check(qrt_build_lut_i8(99, 0, 0, 1, 0, 1, 0, t) == -1, "reject op 99");
  check(qrt_build_lut_i8(-1, 0, 0, 1, 0, 1, 0, t) == -1, "reject op -1");
  check(qrt_build_lut_i8(QRT_UNARY_TANH, 0, 0, 0, 0, 1, 0, t) == -1, "reject in_scale 0");
  check(qrt_build_lut_i8(QRT_UNARY_TANH, 0, 0, 1, 0, NAN, 0, t) == -1, "reject NaN out_scale");
  check(qrt_build_lut_i8(QRT_UNARY_TANH, 0, 0, 1, 200, 1, 0, t) == -1, "reject zero point 200");
  /* log of negatives: NaN -> out zero point; log 0 = -inf -> -128;
   * reciprocal of 0 = +inf -> 127 */
  check(qrt_build_lut_i8(QRT_UNARY_LOG, 0, 0, 0.1, 0, 0.05, 7, t) == 0, "build log");
  ok = 1;
  for (i = 0; i < 128; ++i) ok &= t[i] == 7;
  check(ok && t[128] == -128, "log: NaN -> zero point, log 0 -> -128");
  check(qrt_build_lut_i8(QRT_UNARY_RECIPROCAL, 0, 0, 0.1, 0, 0.05, 0, t) == 0 && t[128] == 127,
        "reciprocal 0 -> 127");
  /* identity with equal formats is the identity table */
  check(qrt_build_lut_i8(QRT_UNARY_IDENTITY, 0, 0, 0.37, -3, 0.37, -3, t) == 0, "build identity");
  ok = 1;
  for (i = 0; i < 256; ++i) ok &= t[i] == i - 128;
  check(ok, "identity table");
  /* exact ties round to even, as qrt_quantize_f32_i8: x = q * 0.5, s = 1 */
  check(qrt_build_lut_i8(QRT_UNARY_IDENTITY, 0, 0, 0.5, 0, 1, 0, t) == 0, "build half");
  check(t[128 + 1] == 0 && t[128 + 3] == 2 && t[128 - 1] == 0 && t[128 - 3] == -2 &&
            t[128 + 5] == 2,
        "ties to even");
  /* sigmoid saturating: huge input scale gives 0 / 1 */
  check(qrt_build_lut_i8(QRT_UNARY_SIGMOID, 0, 0, 1000, 0, 1.0 / 256, -128, t) == 0 &&
            t[0] == -128 && t[255] == 127 && t[128] == 0,
        "sigmoid saturating");
}

/* qrt_lut_i8_f32 with qrt_build_lut_f32's table: bit for bit what
 * qrt_dequantize_i8_f32 then qrt_unary_f32 give on the same codes (the
 * chain it replaces in static int8 schemes), for every length (vector
 * steps and tail), ops with special values (log of negatives, 1/0), and
 * zero points at both ends; bad arguments are rejected. */
static void test_float_table(void) {
  static const int32_t ops[] = {QRT_UNARY_SILU, QRT_UNARY_GELU, QRT_UNARY_TANH, QRT_UNARY_SIGMOID,
                                QRT_UNARY_LOG, QRT_UNARY_RECIPROCAL, QRT_UNARY_EXP, QRT_UNARY_LEAKY_RELU};
  static const int32_t zps[] = {-128, 127, 3};
  static int8_t x[1000];
  static float want[1000], deq[1000], y[1000];
  float table[256];
  qrt_lut_params lp;
  qrt_dequantize_params dp;
  qrt_unary_params up;
  const void *in[2];
  void *out[1];
  size_t o, z;
  int64_t n, i;
  int ok = 1;
  char what[96];
  for (o = 0; o < sizeof ops / sizeof ops[0]; ++o)
    for (z = 0; z < 3; ++z) {
      const float scale = z == 2 ? 0.0371f : 0.125f;
      check(qrt_build_lut_f32(ops[o], 0.1f, 0.5f, scale, zps[z], table) == 0, "build float table");
      for (n = 0; n <= 1000; n += 1 + n / 2) {
        fill_i8(x, n, -128, 127);
        if (n >= 2) { x[0] = -128; x[1] = 127; }
        memset(&dp, 0, sizeof dp);
        dp.n = n; dp.scale = scale; dp.zero_point = zps[z];
        in[0] = x; out[0] = deq;
        qrt_dequantize_i8_f32(&dp, in, out);
        memset(&up, 0, sizeof up);
        up.op = ops[o]; up.n = n; up.alpha = 0.1f; up.beta = 0.5f;
        in[0] = deq; out[0] = want;
        qrt_unary_f32(&up, in, out);
        memset(y, 0x55, sizeof y);
        memset(&lp, 0, sizeof lp);
        lp.n = n;
        in[0] = x; in[1] = table; out[0] = y;
        qrt_lut_i8_f32(&lp, in, out);
        for (i = 0; i < n; ++i) ok &= memcmp(&y[i], &want[i], sizeof y[i]) == 0;
        for (i = n; i < 1000; ++i) ok &= ((const unsigned char *)(y + i))[0] == 0x55;
      }
      sprintf(what, "float table op %d zero point %d = dequantize -> unary, bit for bit", (int)ops[o], (int)zps[z]);
      check(ok, what);
    }
  check(qrt_build_lut_f32(QRT_UNARY_ISNAN, 0, 0, 1, 0, table) == -1, "float table: reject ISNAN");
  check(qrt_build_lut_f32(QRT_UNARY_SILU, 0, 0, 1, 128, table) == -1, "float table: reject zero point 128");
}

int main(void) {
  test_random();
  test_kernel_shapes();
  test_edges();
  test_float_table();
  printf("lut: error vs the real value (non-saturated, %ld entries): max %.4f LSB, mean %.4f LSB\n",
         g_stat.n_real, g_stat.max_real, g_stat.sum_real / (double)(g_stat.n_real ? g_stat.n_real : 1));
  printf("lut: vs the correctly rounded reference: 0 LSB over %ld entries (%ld within 1e-9 of a tie "
         "skipped)\n",
         g_stat.n, g_stat.ties);
  printf("lut: vs the float path (%ld entries): max %ld LSB, %ld differ (%.4f%%)\n", g_stat.n_float,
         g_stat.float_max, g_stat.float_diff,
         100.0 * (double)g_stat.float_diff / (double)(g_stat.n_float ? g_stat.n_float : 1));
  check(g_stat.max_real <= 0.5 + 1e-9, "lut: |error| <= 0.5 LSB vs the real value");
  return finish();
}
