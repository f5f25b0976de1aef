/* test_runtime_exp.c - qrt_exp_f32 (qrt.h) against libm's expf: relative
 * error at most 4 ulp (3e-7) over [-86.5, 88.7] on a dense grid and at
 * random points; exact special cases (+inf above 88.72, 0 below -86.6,
 * NaN, exp(0) = 1). qrt_erf_f32 against double erf: relative error at most
 * 4e-7 (a few float ulp) on a dense grid over [-10, 10] and at tiny
 * arguments, odd, +-1 far out, NaN. qrt_tanh_f32 likewise against double
 * tanh (at most 3e-7: the exp's error, past the series' range), odd with
 * tanh(-0) = -0, +-1 far out, NaN. In QRT_HAVE_F32X builds the vector
 * forms (exp, erf, tanh, both GELUs, SiLU) equal the scalar ones bit for
 * bit on a sweep of all bit patterns (NaNs, infinities, subnormals, both
 * clamps). Prints "N passed, N failed". */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "qrt.h"

static int passed, failed;

static void check(int ok, const char *what, double x) {
  if (ok) passed++;
  else failed++, printf("FAIL: %s at x = %.9g\n", what, x);
}

/* The largest relative error of f against the double function ref on a
 * dense grid over [-span, span] and at tiny arguments (an odd function:
 * its own size there), and where it is (*at). */
static double odd_fn_error(float (*f)(float), double (*ref)(double), float span, double *at) {
  double worst = 0;
  for (float x = -span; x < span; x += 0.000173f) {
    double e = ref((double)x), rel = fabs((double)f(x) - e) / fmax(fabs(e), 1e-30);
    if (rel > worst) worst = rel, *at = x;
  }
  for (float x = 1e-30f; x < 1e-2f; x *= 1.01f) {
    double e = ref((double)x), rel = fabs((double)f(x) - e) / e;
    if (rel > worst) worst = rel, *at = x;
  }
  return worst;
}

#if QRT_HAVE_F32X
/* The vector form vf equals the scalar f bit for bit on every 0x10001st
 * bit pattern (NaNs, infinities, subnormals, both signs), QRT_F32X_LANES
 * at a time; a NaN result only has to be a NaN (x86 keeps the first
 * operand's NaN payload and sign, and the compiler may swap the operands
 * of a commutative multiply: x * sigmoid(x) at x = NaN). */
static void same_bits(const char *name, void (*vf)(qrt_f32x *, const qrt_f32x *), float (*f)(float)) {
  uint64_t b, differ = 0;
  float xs[QRT_F32X_LANES], ys[QRT_F32X_LANES], bad_x = 0;
  char what[64];
  for (b = 0; b < 0x100000000ull; b += 0x10001ull * QRT_F32X_LANES) {
    qrt_f32x v, r;
    int l;
    for (l = 0; l < QRT_F32X_LANES; ++l) {
      const uint32_t u = (uint32_t)(b + 0x10001ull * (uint64_t)l);
      memcpy(&xs[l], &u, sizeof u);
    }
    memcpy(&v, xs, sizeof v);
    vf(&r, &v);
    memcpy(ys, &r, sizeof r);
    for (l = 0; l < QRT_F32X_LANES; ++l) {
      const float e = f(xs[l]);
      if (memcmp(&e, &ys[l], sizeof e) && !(isnan(e) && isnan(ys[l]))) differ++, bad_x = xs[l];
    }
  }
  printf("%s_f32x: %llu of 65536 bit patterns differ from the scalar form\n", name, (unsigned long long)differ);
  snprintf(what, sizeof what, "qrt_%s_f32x != qrt_%s_f32", name, name);
  check(differ == 0, what, bad_x);
}

/* the vector forms are always-inline: wrappers to take their address */
static void exp_x(qrt_f32x *y, const qrt_f32x *x) { qrt_exp_f32x(y, x); }
static void erf_x(qrt_f32x *y, const qrt_f32x *x) { qrt_erf_f32x(y, x); }
static void tanh_x(qrt_f32x *y, const qrt_f32x *x) { qrt_tanh_f32x(y, x); }
static void gelu_x(qrt_f32x *y, const qrt_f32x *x) { qrt_gelu_f32x(y, x); }
static void gelu_tanh_x(qrt_f32x *y, const qrt_f32x *x) { qrt_gelu_tanh_f32x(y, x); }
static void silu_x(qrt_f32x *y, const qrt_f32x *x) { qrt_silu_f32x(y, x); }
static float exp_1(float x) { return qrt_exp_f32(x); }
static float erf_1(float x) { return qrt_erf_f32(x); }
static float tanh_1(float x) { return qrt_tanh_f32(x); }
static float gelu_1(float x) { return qrt_gelu_f32(x); }
static float gelu_tanh_1(float x) { return qrt_gelu_tanh_f32(x); }
static float silu_1(float x) { return qrt_silu_f32(x); }
#endif

int main(void) {
  double worst = 0, worst_x = 0;
  uint32_t s = 12345u;
  for (float x = -86.5f; x < 88.7f; x += 0.00031f) {
    double rel = fabs((double)qrt_exp_f32(x) - expf(x)) / expf(x);
    if (rel > worst) worst = rel, worst_x = x;
  }
  for (int i = 0; i < 1000000; i++) {
    s = s * 1664525u + 1013904223u;
    float x = -86.5f + 175.2f * (float)(s >> 8) / 16777216.0f;
    double rel = fabs((double)qrt_exp_f32(x) - expf(x)) / expf(x);
    if (rel > worst) worst = rel, worst_x = x;
  }
  printf("max relative error %.3g at %.9g\n", worst, worst_x);
  check(worst <= 3e-7, "relative error above 3e-7", worst_x);
  check(qrt_exp_f32(0.0f) == 1.0f, "exp(0) != 1", 0);
  check(isinf(qrt_exp_f32(89.0f)) && qrt_exp_f32(INFINITY) == INFINITY, "overflow is not +inf", 89);
  check(qrt_exp_f32(-87.0f) == 0.0f && qrt_exp_f32(-INFINITY) == 0.0f, "underflow is not 0", -87);
  check(isnan(qrt_exp_f32(NAN)), "NaN does not propagate", NAN);
  check(qrt_exp_f32(88.72f) > 3.3e38f, "exp(88.72) lost", 88.72);
  worst = odd_fn_error(qrt_erf_f32, erf, 10.0f, &worst_x);
  printf("erf: max relative error %.3g at %.9g\n", worst, worst_x);
  check(worst <= 4e-7, "erf relative error above 4e-7", worst_x);
  check(qrt_erf_f32(0.0f) == 0.0f && qrt_erf_f32(-2.5f) == -qrt_erf_f32(2.5f), "erf not odd", 2.5);
  check(qrt_erf_f32(12.0f) == 1.0f && qrt_erf_f32(-INFINITY) == -1.0f, "erf far out is not +-1", 12);
  check(isnan(qrt_erf_f32(NAN)), "erf: NaN does not propagate", NAN);
  worst = odd_fn_error(qrt_tanh_f32, tanh, 12.0f, &worst_x);
  printf("tanh: max relative error %.3g at %.9g\n", worst, worst_x);
  check(worst <= 3e-7, "tanh relative error above 3e-7", worst_x);
  check(qrt_tanh_f32(0.3f) == -qrt_tanh_f32(-0.3f) && qrt_tanh_f32(2.5f) == -qrt_tanh_f32(-2.5f), "tanh not odd", 2.5);
  check(qrt_tanh_f32(-0.0f) == 0.0f && signbit(qrt_tanh_f32(-0.0f)), "tanh(-0) is not -0", -0.0);
  check(qrt_tanh_f32(50.0f) == 1.0f && qrt_tanh_f32(-INFINITY) == -1.0f, "tanh far out is not +-1", 50);
  check(isnan(qrt_tanh_f32(NAN)), "tanh: NaN does not propagate", NAN);
#if QRT_HAVE_F32X
  same_bits("exp", exp_x, exp_1);
  same_bits("erf", erf_x, erf_1);
  same_bits("tanh", tanh_x, tanh_1);
  same_bits("gelu", gelu_x, gelu_1);
  same_bits("gelu_tanh", gelu_tanh_x, gelu_tanh_1);
  same_bits("silu", silu_x, silu_1);
#endif
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
