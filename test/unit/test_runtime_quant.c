/* test_runtime_quant.c - quantize / dequantize / requantize kernels,
 * qrt_requant and qrt_quantize_multiplier against independent references
 * (round half to even via rint in the default rounding mode; requant via
 * exact int64 division and remainder).  Ties are constructed explicitly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static int8_t ref_quant(float x, float inv, int32_t zp, int32_t qmin, int32_t qmax) {
  const float y = x * inv;
  double r;
  if (y != y) return (int8_t)zp;
  r = rint((double)y) + zp; /* default rounding mode: half to even */
  if (r < qmin) r = qmin;
  if (r > qmax) r = qmax;
  return (int8_t)r;
}

static void test_quantize(void) {
  static float x[4096];
  static int8_t y[4096];
  qrt_quantize_params p;
  const void *in[1];
  void *out[1];
  int64_t i, n = 0;
  int t, bad;
  char what[128];
  /* ties: k + 0.5 for k in [-140, 140] with inv_scale 1 and 0.25-steps of 4 */
  for (i = -300; i <= 300; ++i) x[n++] = (float)i * 0.5f;
  for (i = -200; i <= 200; ++i) x[n++] = (float)i * 0.125f + 0.0625f; /* with inv 4: ties */
  x[n++] = NAN; x[n++] = INFINITY; x[n++] = -INFINITY; x[n++] = 3e38f; x[n++] = -3e38f;
  x[n++] = 1e-30f; x[n++] = -0.0f; x[n++] = 0.49999997f; x[n++] = -0.49999997f;
  x[n++] = 8388607.5f; x[n++] = 2147483648.0f; x[n++] = -2147483648.0f;
  while (n < 4096) x[n++] = frand(-300.0f, 300.0f);
  for (t = 0; t < 6; ++t) {
    static const float invs[6] = {1.0f, 4.0f, 0.37f, 17.25f, 1e-3f, 1.0f};
    static const int32_t zps[6] = {0, -128, 127, 3, -7, 0};
    static const int32_t qmins[6] = {-128, -128, -128, 3, -128, 0};
    static const int32_t qmaxs[6] = {127, 127, 127, 127, 100, 127};
    memset(&p, 0, sizeof p);
    p.n = n; p.inv_scale = invs[t]; p.zero_point = zps[t]; p.qmin = qmins[t]; p.qmax = qmaxs[t];
    in[0] = x; out[0] = y;
    qrt_quantize_f32_i8(&p, in, out);
    bad = 0;
    for (i = 0; i < n; ++i)
      if (y[i] != ref_quant(x[i], p.inv_scale, p.zero_point, p.qmin, p.qmax)) {
        if (!bad) printf("  quantize x=%.9g inv=%g: %d vs %d\n", (double)x[i], (double)p.inv_scale,
                         y[i], ref_quant(x[i], p.inv_scale, p.zero_point, p.qmin, p.qmax));
        ++bad;
      }
    sprintf(what, "quantize case %d", t);
    check(bad == 0, what);
  }
  /* explicit tie values */
  {
    float xs[8] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, -127.5f};
    int8_t ys[8];
    const int8_t want[8] = {0, 2, 2, 0, -2, -2, 126, -128};
    memset(&p, 0, sizeof p);
    p.n = 8; p.inv_scale = 1.0f; p.zero_point = 0; p.qmin = -128; p.qmax = 127;
    in[0] = xs; out[0] = ys;
    qrt_quantize_f32_i8(&p, in, out);
    check(memcmp(ys, want, 8) == 0, "quantize ties to even");
    p.zero_point = 1;
    qrt_quantize_f32_i8(&p, in, out);
    check(ys[0] == 1 && ys[1] == 3 && ys[5] == -1 && ys[6] == 127 && ys[7] == -127,
          "quantize ties with zero point");
    xs[0] = NAN;
    p.zero_point = -5;
    qrt_quantize_f32_i8(&p, in, out);
    check(ys[0] == -5, "quantize NaN -> zero point");
  }
}

static void test_dequantize(void) {
  int8_t q[256];
  float y[256];
  qrt_dequantize_params p;
  const void *in[1];
  void *out[1];
  int i, t, bad = 0;
  for (i = 0; i < 256; ++i) q[i] = (int8_t)(i - 128);
  for (t = 0; t < 3; ++t) {
    static const int32_t zps[3] = {-128, 0, 127};
    memset(&p, 0, sizeof p);
    p.n = 256; p.scale = 0.0371f; p.zero_point = zps[t];
    in[0] = q; out[0] = y;
    qrt_dequantize_i8_f32(&p, in, out);
    for (i = 0; i < 256; ++i) {
      const float r = p.scale * (float)(q[i] - zps[t]);
      if (memcmp(&r, &y[i], sizeof r) != 0) ++bad;
    }
  }
  check(bad == 0, "dequantize");
}

static void test_requant_helper(void) {
  int i, bad = 0, ties = 0;
  char what[160];
  /* random */
  for (i = 0; i < 200000; ++i) {
    const int64_t acc = irand(-4294967295LL, 4294967295LL) >> irand(0, 31);
    const int32_t m0 = (int32_t)irand(i % 7 == 0 ? 0 : 1073741824LL, 2147483647LL);
    const int32_t s = (int32_t)irand(0, 62);
    const int32_t zp = (int32_t)irand(-128, 127);
    const int32_t lo = i % 3 == 0 ? zp : -128, hi = 127;
    const int32_t a = qrt_requant(acc, m0, s, zp, lo, hi), r = ref_requant(acc, m0, s, zp, lo, hi);
    if (a != r) {
      if (bad < 5) {
        sprintf(what, "requant acc=%lld m0=%d s=%d zp=%d: %d vs %d", (long long)acc, m0, s, zp, a, r);
        check(0, what);
      }
      ++bad;
    }
  }
  check(bad == 0, "requant random");
  /* constructed ties: acc * m0 = (2t + 1) * 2^(s - 1) */
  bad = 0;
  for (i = 0; i < 20000; ++i) {
    const int32_t s = (int32_t)irand(31, 40);
    const int32_t m0 = 1 << 30;                   /* acc * 2^30 / 2^s = acc / 2^(s - 30) */
    const int64_t odd = 2 * irand(-200, 200) + 1; /* acc = odd * 2^(s - 31) */
    const int64_t acc = odd * ((int64_t)1 << (s - 31));
    const int32_t a = qrt_requant(acc, m0, s, 0, -1000000, 1000000);
    const int64_t want = odd > 0 ? (odd + 1) / 2 : (odd - 1) / 2; /* half away from zero */
    if (a != want) ++bad;
    if (a != ref_requant(acc, m0, s, 0, -1000000, 1000000)) ++bad;
    ++ties;
  }
  check(bad == 0, "requant ties away from zero");
  check(qrt_requant(3, 1 << 30, 31, 0, -128, 127) == 2 && qrt_requant(-3, 1 << 30, 31, 0, -128, 127) == -2 &&
        qrt_requant(1, 1 << 30, 31, 0, -128, 127) == 1 && qrt_requant(-1, 1 << 30, 31, 0, -128, 127) == -1,
        "requant 1.5 -> 2, -1.5 -> -2, 0.5 -> 1, -0.5 -> -1");
  /* extremes */
  check(qrt_requant(4294967295LL, 2147483647, 0, 0, -128, 127) == 127, "requant saturate +");
  check(qrt_requant(-4294967295LL, 2147483647, 0, 0, -128, 127) == -128, "requant saturate -");
  check(qrt_requant(-4294967295LL, 2147483647, 62, 127, -128, 127) == 125, "requant shift 62");
  check(qrt_requant(123456, 0, 40, -3, -128, 127) == -3, "requant m0 0");
  (void)ties;
}

static void test_multiplier(void) {
  int i, bad = 0;
  int32_t m0, s;
  char what[160];
  qrt_quantize_multiplier(1.0, &m0, &s);
  check(m0 == 1073741824 && s == 30, "multiplier 1.0");
  qrt_quantize_multiplier(0.5, &m0, &s);
  check(m0 == 1073741824 && s == 31, "multiplier 0.5");
  qrt_quantize_multiplier(0.75, &m0, &s);
  check(m0 == 1610612736 && s == 31, "multiplier 0.75");
  qrt_quantize_multiplier(1.0 - 1e-12, &m0, &s); /* rounds up to 2^31 -> 2^30, s - 1 */
  check(m0 == 1073741824 && s == 30, "multiplier just below 1");
  qrt_quantize_multiplier(0.0, &m0, &s);
  check(m0 == 0 && s == 0, "multiplier 0");
  qrt_quantize_multiplier(-1.0, &m0, &s);
  check(m0 == 0 && s == 0, "multiplier negative");
  qrt_quantize_multiplier(NAN, &m0, &s);
  check(m0 == 0 && s == 0, "multiplier NaN");
  qrt_quantize_multiplier(3e9, &m0, &s);
  check(m0 == 2147483647 && s == 0, "multiplier >= 2^31");
  qrt_quantize_multiplier(1000.0, &m0, &s);
  check(m0 == 2097152000 && s == 21, "multiplier 1000");
  qrt_quantize_multiplier(ldexp(1.0, -40), &m0, &s); /* tiny: s = 62, M0 = 2^22 */
  check(m0 == 4194304 && s == 62, "multiplier 2^-40");
  qrt_quantize_multiplier(ldexp(1.0, -70), &m0, &s);
  check(m0 == 0 && s == 0, "multiplier 2^-70");
  for (i = 0; i < 100000; ++i) {
    const double real = ldexp(0.5 + 0.5 * (double)(lcg() >> 1) / 2147483648.0, (int)irand(-31, 31));
    double approx, err;
    qrt_quantize_multiplier(real, &m0, &s);
    approx = ldexp((double)m0, -s);
    err = fabs(approx - real) / real;
    if (m0 < 1073741824 || s < 0 || s > 62 || err > ldexp(1.0, -31)) {
      if (bad < 5) {
        sprintf(what, "multiplier %.17g -> %d, %d (err %g)", real, m0, s, err);
        check(0, what);
      }
      ++bad;
    }
  }
  check(bad == 0, "multiplier random: M0 in [2^30, 2^31), rel err <= 2^-31");
}

static void test_requantize_kernels(void) {
  const int64_t outer = 3, C = 5, inner = 7, n = 3 * 5 * 7;
  int32_t x32[105], mult[5], shift[5];
  int8_t x8[105], y[105];
  qrt_requantize_params p;
  const void *in[3];
  void *out[1];
  int64_t o, c, i, idx;
  int bad = 0, t;
  for (i = 0; i < n; ++i) x32[i] = (int32_t)irand(-2147483647LL - 1, 2147483647LL) >> irand(0, 24);
  x32[0] = -2147483647 - 1; x32[1] = 2147483647;
  fill_i8(x8, n, -128, 127);
  for (c = 0; c < C; ++c) { mult[c] = (int32_t)irand(1073741824LL, 2147483647LL); shift[c] = (int32_t)irand(20, 45); }
  for (t = 0; t < 2; ++t) {
    memset(&p, 0, sizeof p);
    p.in_zero_point = t ? 127 : -128; p.out_zero_point = t ? -128 : 5; p.out_min = t ? -128 : 5; p.out_max = 127;
    p.outer = outer; p.channels = C; p.inner = inner;
    in[0] = x32; in[1] = mult; in[2] = shift; out[0] = y;
    qrt_requantize_i32_i8(&p, in, out);
    for (o = 0, idx = 0; o < outer; ++o)
      for (c = 0; c < C; ++c)
        for (i = 0; i < inner; ++i, ++idx)
          if (y[idx] != ref_requant((int64_t)x32[idx] - p.in_zero_point, mult[c], shift[c], p.out_zero_point, p.out_min, p.out_max)) ++bad;
    in[0] = x8;
    for (c = 0; c < C; ++c) shift[c] = (int32_t)irand(28, 33);
    qrt_requantize_i8_i8(&p, in, out);
    for (o = 0, idx = 0; o < outer; ++o)
      for (c = 0; c < C; ++c)
        for (i = 0; i < inner; ++i, ++idx)
          if (y[idx] != ref_requant((int64_t)x8[idx] - p.in_zero_point, mult[c], shift[c], p.out_zero_point, p.out_min, p.out_max)) ++bad;
  }
  check(bad == 0, "requantize i32/i8 kernels");
}

int main(void) {
  test_quantize();
  test_dequantize();
  test_requant_helper();
  test_multiplier();
  test_requantize_kernels();
  return finish();
}
