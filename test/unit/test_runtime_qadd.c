/* test_runtime_qadd.c - int8 addition (qrt_qadd_i8) and its builder
 * (qrt_build_qadd_i8) for the integer-only residual adds.
 *
 * Reference: the exact real sum s_a (a - z_a) + s_b (b - z_b) divided by
 * s_y in double (written here, not the kernel's fixed point), rounded half
 * away from zero, plus z_y, saturated.  The kernel must match it exactly
 * except where the exact value lies within the documented 255 2^-S (plus
 * 1e-9 for the double reference) of a rounding tie, and there by at most 1
 * (counted).  Every (a, b) pair is checked for several scale / zero-point
 * sets; broadcasting and a narrowed output range are checked too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static long g_ties;

static int ref_add(double sa, int za, double sb, int zb, double sy, int zy, int lo, int hi, int a,
                   int b, double *dist) {
  const double u = (sa * (a - za) + sb * (b - zb)) / sy;
  const double r = u < 0 ? -floor(-u + 0.5) : floor(u + 0.5);
  double v = r + zy;
  *dist = fabs(fabs(u - trunc(u)) - 0.5);
  v = v < lo ? lo : (v > hi ? hi : v);
  return (int)v;
}

static void set_shape(qrt_qadd_params *p, int rank, const int64_t *out, const int64_t *as,
                      const int64_t *bs) {
  memcpy(p->out_shape, out, sizeof(int64_t) * (size_t)rank);
  memcpy(p->a_strides, as, sizeof(int64_t) * (size_t)rank);
  memcpy(p->b_strides, bs, sizeof(int64_t) * (size_t)rank);
  p->rank = rank;
}

/* All 65536 pairs as a [256, 256] broadcast of a [256, 1] and b [1, 256]. */
static void test_all_pairs(double sa, int za, double sb, int zb, double sy, int zy, int lo, int hi) {
  static int8_t a[256], b[256], y[65536];
  static const int64_t out[2] = {256, 256}, as[2] = {1, 0}, bs[2] = {0, 1};
  qrt_qadd_params p;
  int32_t ma, mb, sh;
  int i, j, bad = 0;
  char what[160];
  memset(&p, 0, sizeof p);
  if (qrt_build_qadd_i8(sa, sb, sy, &ma, &mb, &sh) != 0) {
    check(0, "build");
    return;
  }
  check(ma >= 0 && mb >= 0 && sh >= 0 && sh <= 62, "build: multipliers and shift in range");
  set_shape(&p, 2, out, as, bs);
  p.a_zero_point = za; p.b_zero_point = zb; p.out_zero_point = zy;
  p.a_mult = ma; p.b_mult = mb; p.shift = sh; p.out_min = lo; p.out_max = hi;
  for (i = 0; i < 256; ++i) a[i] = b[i] = (int8_t)(i - 128);
  qrt_qadd_i8(&p, (const void *const[]){a, b}, (void *const[]){y});
  for (i = 0; i < 256; ++i)
    for (j = 0; j < 256; ++j) {
      double d;
      const int want = ref_add(sa, za, sb, zb, sy, zy, lo, hi, a[i], b[j], &d);
      const int got = y[i * 256 + j];
      if (got == want) continue;
      if (abs(got - want) == 1 && d <= 255.0 * ldexp(1.0, -sh) + 1e-9) { ++g_ties; continue; }
      if (!bad) printf("  a=%d b=%d: %d, want %d (tie distance %g)\n", a[i], b[j], got, want, d);
      ++bad;
    }
  sprintf(what, "qadd all pairs: s %g/%g/%g z %d/%d/%d range [%d, %d]", sa, sb, sy, za, zb, zy, lo, hi);
  printf("  %s: shift %d, ties so far %ld\n", what, sh, g_ties);
  check(bad == 0, what);
}

/* a [3, 1, 5] + b [4, 5] -> [3, 4, 5], and a same-shape add of random
 * lengths (nothing written past the end: ASan). */
static void test_broadcast(void) {
  static const int64_t out[3] = {3, 4, 5}, as[3] = {5, 0, 1}, bs[3] = {0, 5, 1};
  int8_t a[15], b[20], y[60];
  qrt_qadd_params p;
  int32_t ma, mb, sh;
  int i, j, k, ok = 1;
  int64_t n;
  memset(&p, 0, sizeof p);
  fill_i8(a, 15, -128, 127);
  fill_i8(b, 20, -128, 127);
  check(qrt_build_qadd_i8(0.05, 0.03, 0.07, &ma, &mb, &sh) == 0, "build (broadcast)");
  set_shape(&p, 3, out, as, bs);
  p.a_zero_point = 3; p.b_zero_point = -7; p.out_zero_point = 1;
  p.a_mult = ma; p.b_mult = mb; p.shift = sh; p.out_min = -128; p.out_max = 127;
  qrt_qadd_i8(&p, (const void *const[]){a, b}, (void *const[]){y});
  for (i = 0; i < 3; ++i)
    for (j = 0; j < 4; ++j)
      for (k = 0; k < 5; ++k) {
        double d;
        const int want = ref_add(0.05, 3, 0.03, -7, 0.07, 1, -128, 127, a[i * 5 + k], b[j * 5 + k], &d);
        if (y[(i * 4 + j) * 5 + k] != want && d > 1e-6) ok = 0;
      }
  check(ok, "qadd broadcast [3,1,5] + [4,5]");
  for (n = 1; n <= 3000; n += 1 + n / 2) {
    int8_t *x1 = (int8_t *)xmalloc((size_t)n), *x2 = (int8_t *)xmalloc((size_t)n), *z = (int8_t *)xmalloc((size_t)n);
    const int64_t o1[1] = {n}, s1[1] = {1};
    int64_t q;
    fill_i8(x1, n, -128, 127);
    fill_i8(x2, n, -128, 127);
    set_shape(&p, 1, o1, s1, s1);
    qrt_qadd_i8(&p, (const void *const[]){x1, x2}, (void *const[]){z});
    ok = 1;
    for (q = 0; q < n; ++q) {
      double d;
      if (z[q] != ref_add(0.05, 3, 0.03, -7, 0.07, 1, -128, 127, x1[q], x2[q], &d) && d > 1e-6) ok = 0;
    }
    check(ok, "qadd same shape, every length");
    free(x1); free(x2); free(z);
  }
}

static void test_builder_rejects(void) {
  int32_t ma, mb, sh;
  check(qrt_build_qadd_i8(0.0, 1.0, 1.0, &ma, &mb, &sh) == -1, "build rejects a zero scale");
  check(qrt_build_qadd_i8(1.0, -1.0, 1.0, &ma, &mb, &sh) == -1, "build rejects a negative scale");
  check(qrt_build_qadd_i8(1.0, 1.0, NAN, &ma, &mb, &sh) == -1, "build rejects NaN");
  check(qrt_build_qadd_i8(1e7, 1.0, 1.0, &ma, &mb, &sh) == -1, "build rejects a ratio of 2^22 or more");
  check(qrt_build_qadd_i8(1.0, 1.0, 1.0, &ma, &mb, &sh) == 0 && sh == 21 && ma == 1 << 21,
        "build: ratio 1 -> 2^21, shift 21");
  check(qrt_build_qadd_i8(1e-7, 1e-7, 1.0, &ma, &mb, &sh) == 0 && sh == 31 && ma == 215,
        "build: tiny ratios keep shift 31");
}

int main(void) {
  test_builder_rejects();
  /* residual-like (similar scales), very different scales, a ratio near
   * 2^31 (shift 0), asymmetric zero points, a narrowed (ReLU) range */
  test_all_pairs(0.04, -3, 0.05, 10, 0.06, -2, -128, 127);
  test_all_pairs(0.04, 0, 0.0004, 0, 0.04, 0, -128, 127);
  test_all_pairs(1.0, 5, 1.0, -5, 1.0, 0, -128, 127);
  test_all_pairs(3e-5, 127, 0.9, -128, 1e-3, 12, -128, 127);
  test_all_pairs(1000.0, 0, 1.0, 0, 3e-4, 0, -128, 127);
  test_all_pairs(1e-7, 0, 2e-7, 0, 1.0, 0, -128, 127);
  test_all_pairs(0.02, -128, 0.03, 7, 0.05, -20, -20, 127);
  printf("ties (1 LSB within the bound of a rounding tie): %ld\n", g_ties);
  test_broadcast();
  return finish();
}
