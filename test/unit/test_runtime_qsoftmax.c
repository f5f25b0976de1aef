/* test_runtime_qsoftmax.c - integer-only int8 softmax (qrt_qsoftmax_i8,
 * qrt_build_qsoftmax_i8) against the exact softmax.
 *
 * Reference: softmax in long double of the exact dequantized inputs,
 * q = 256 p, y = clamp(round(q) - 128, -128, 127) with round half up.
 * Asserted: |y - ref| <= 1 LSB everywhere, and y == ref unless q lies
 * within eta = (L + 4) 2^-23 of a half-integer (the bound derived in
 * qrt_qsoftmax.c).  Measured and printed: the error against the real
 * value 256 p - 128 (max, mean), the mismatches against the correctly
 * rounded reference, and the difference from the float path
 * (qrt_dequantize_i8_f32 -> qrt_softmax_f32 -> qrt_quantize_f32_i8 with
 * scale 1/256, zero point -128). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static struct {
  double max_real, sum_real;
  long n, mism, near, float_diff, float_max;
} g_st;

static void run_case(int64_t outer, int64_t L, double s, int32_t zp, const int8_t *xin,
                     const char *tag) {
  const int64_t n = outer * L;
  int8_t *x = (int8_t *)xmalloc((size_t)n), *y = (int8_t *)xmalloc((size_t)n + 16);
  int8_t *yf = (int8_t *)xmalloc((size_t)n);
  float *xf = (float *)xmalloc(sizeof(float) * (size_t)n), *pf = (float *)xmalloc(sizeof(float) * (size_t)n);
  int32_t table[256];
  qrt_qsoftmax_params p;
  qrt_softmax_params fp;
  qrt_dequantize_params dq;
  qrt_quantize_params qp;
  const void *in[2];
  void *out[1];
  const long double eta = (long double)(L + 4) / 8388608.0L;
  int64_t o, j;
  int bad = 0, far = 0, fbad = 0;
  char what[200];
  if (xin) memcpy(x, xin, (size_t)n);
  else fill_i8(x, n, (int)irand(-128, 0), (int)irand(0, 127));
  check(qrt_build_qsoftmax_i8(s, table) == 0, "build");
  memset(&p, 0, sizeof p);
  p.outer = outer; p.axis_len = L;
  memset(y + n, 0x5a, 16);
  in[0] = x; in[1] = table; out[0] = y;
  qrt_qsoftmax_i8(&p, in, out);
  for (j = 0; j < 16; ++j) far |= y[n + j] != 0x5a;
  for (o = 0; o < outer; ++o) {
    const int8_t *xr = x + o * L;
    long double sum = 0;
    int m = -128;
    for (j = 0; j < L; ++j) m = xr[j] > m ? xr[j] : m;
    for (j = 0; j < L; ++j) sum += expl(-(long double)s * (long double)(m - xr[j]));
    for (j = 0; j < L; ++j) {
      const long double q = 256.0L * expl(-(long double)s * (long double)(m - xr[j])) / sum;
      const long double fl = floorl(q), fr = q - fl;
      int want = (int)fl + (fr >= 0.5L) - 128, got = y[o * L + j];
      want = want > 127 ? 127 : want;
      if (got != want) {
        ++g_st.mism;
        if (fabsl(fr - 0.5L) > eta || abs(got - want) > 1) {
          if (!bad) printf("  %s row %lld j %lld: %d, want %d (256p = %.12Lf)\n", tag, (long long)o,
                           (long long)j, got, want, q);
          ++bad;
        }
      }
      if (fabsl(fr - 0.5L) <= eta) ++g_st.near;
      if (want < 127) {
        const double e = (double)fabsl((long double)(got + 128) - q);
        g_st.max_real = e > g_st.max_real ? e : g_st.max_real;
        g_st.sum_real += e;
      }
      ++g_st.n;
    }
  }
  /* float path */
  memset(&dq, 0, sizeof dq);
  dq.n = n; dq.scale = (float)s; dq.zero_point = zp;
  in[0] = x; out[0] = xf;
  qrt_dequantize_i8_f32(&dq, in, out);
  memset(&fp, 0, sizeof fp);
  fp.outer = outer; fp.axis_len = L; fp.inner = 1;
  in[0] = xf; out[0] = pf;
  qrt_softmax_f32(&fp, in, out);
  memset(&qp, 0, sizeof qp);
  qp.n = n; qp.inv_scale = 256.0f; qp.zero_point = -128; qp.qmin = -128; qp.qmax = 127;
  in[0] = pf; out[0] = yf;
  qrt_quantize_f32_i8(&qp, in, out);
  for (j = 0; j < n; ++j) {
    const int d = abs(y[j] - yf[j]);
    g_st.float_diff += d != 0;
    g_st.float_max = d > g_st.float_max ? d : g_st.float_max;
    fbad |= d > 1;
  }
  sprintf(what, "qsoftmax %s (outer %lld, L %lld, scale %g): exact but near ties, <= 1 LSB", tag,
          (long long)outer, (long long)L, s);
  check(bad == 0, what);
  sprintf(what, "qsoftmax %s: within 1 LSB of the float path", tag);
  check(!fbad, what);
  sprintf(what, "qsoftmax %s: nothing written past the end", tag);
  check(!far, what);
  free(x); free(y); free(yf); free(xf); free(pf);
}

static void test_random(void) {
  static const int64_t lens[] = {1, 2, 3, 5, 8, 10, 16, 31, 64, 100, 128, 257, 512, 1000, 4096};
  int t;
  char tag[32];
  const int every = test_sample();
  for (t = 0; t < 600; ++t) {
    if (t % every) continue; /* under qemu: every Nth case (every length still: 15 is odd) */
    const int64_t L = lens[t % 15];
    const int64_t outer = irand(1, L > 1000 ? 3 : 12);
    const double s = exp(frand(-9.0f, 1.0f)); /* 1.2e-4 .. 2.7 */
    sprintf(tag, "random %d", t);
    run_case(outer, L, s, (int32_t)irand(-128, 127), NULL, tag);
  }
}

static void test_edges(void) {
  static int8_t x[65536];
  int32_t table[256];
  int64_t i;
  qrt_qsoftmax_params p;
  const void *in[2];
  void *out[1];
  int8_t y[1024];
  int ok;
  /* all-equal rows: p = 1/L exactly */
  for (i = 0; i < 4096; ++i) x[i] = 17;
  run_case(1, 4096, 0.1, 3, x, "all equal 4096");
  run_case(16, 256, 0.1, 3, x, "all equal 256");
  run_case(3, 3, 0.5, 0, x, "all equal 3");
  run_case(4096, 1, 0.05, 0, x, "row length 1"); /* p = 1 -> 127 */
  /* extreme scales: tiny (all ~equal), huge (only the maxima survive) */
  fill_i8(x, 4096, -128, 127);
  run_case(4, 1024, 1e-7, 0, x, "scale 1e-7");
  run_case(4, 1024, 50.0, 0, x, "scale 50");
  run_case(4, 1024, 1000.0, 0, x, "scale 1000");
  run_case(4, 1024, 0.0, 0, x, "scale 0");
  /* saturating values: one 127 among -128s; two maxima */
  for (i = 0; i < 1000; ++i) x[i] = -128;
  x[500] = 127;
  run_case(1, 1000, 0.05, 0, x, "one max");
  run_case(1, 1000, 0.001, 0, x, "one max small scale");
  x[7] = 127;
  run_case(1, 1000, 0.05, 0, x, "two max");
  /* long rows: the sum past 2^40, b + 24 > 63 clamp path */
  for (i = 0; i < 65536; ++i) x[i] = (int8_t)(i & 1 ? 100 : 101);
  run_case(1, 65536, 1e-4, 0, x, "65536 near-equal");
  /* the exact values: all-equal rows of length 2^k give 256/2^k */
  check(qrt_build_qsoftmax_i8(0.3, table) == 0 && table[0] == (1 << 30), "T[0] = 2^30");
  memset(&p, 0, sizeof p);
  memset(x, 0, 1024);
  ok = 1;
  for (i = 1; i <= 1024; i *= 2) { /* 512: 256 p = 0.5, a tie: rounds up */
    p.outer = 1; p.axis_len = i;
    in[0] = x; in[1] = table; out[0] = y;
    qrt_qsoftmax_i8(&p, in, out);
    ok &= y[0] == (int8_t)(i == 1 ? 127 : (i == 512 ? -127 : (i == 1024 ? -128 : 256 / (int)i - 128)));
  }
  /* 3 equal: 85.33 -> 85 - 128 */
  p.axis_len = 3;
  qrt_qsoftmax_i8(&p, in, out);
  ok &= y[0] == 85 - 128 && y[2] == 85 - 128;
  check(ok, "all-equal rows: round(256/L) - 128 exactly, ties up");
  /* builder rejects */
  check(qrt_build_qsoftmax_i8(-1.0, table) == -1 && qrt_build_qsoftmax_i8(NAN, table) == -1,
        "reject negative / NaN scale");
  /* axis_len 0 / outer 0: nothing written */
  memset(y, 0x33, sizeof y);
  p.axis_len = 0; p.outer = 5;
  qrt_qsoftmax_i8(&p, in, out);
  p.axis_len = 5; p.outer = 0;
  qrt_qsoftmax_i8(&p, in, out);
  check(y[0] == 0x33, "empty shapes write nothing");
}

/* A mask gives each row the softmax of its kept elements (the unmasked
 * kernel on the compacted row, itself checked above) and -128 elsewhere;
 * a row with nothing kept gives the unmasked result. */
static void test_masks(void) {
  static const int64_t lens[] = {1, 3, 8, 64, 100};
  const void *in[3];
  void *out[1];
  int t, ok = 1;
  for (t = 0; t < 300; ++t) {
    const int64_t L = lens[t % 5], outer = irand(1, 6);
    const int64_t period = t % 4 == 0 ? L * L : t % 4 == 1 ? L : t % 4 == 2 ? L * irand(1, 3) : irand(1, 2 * L + 3);
    int8_t *x = (int8_t *)xmalloc((size_t)(outer * L)), *y = (int8_t *)xmalloc((size_t)(outer * L));
    int8_t *xc = (int8_t *)xmalloc((size_t)L), *yc = (int8_t *)xmalloc((size_t)L);
    uint8_t *mask = (uint8_t *)xmalloc((size_t)period);
    int32_t table[256];
    qrt_qsoftmax_params p, pc;
    int64_t o, j, i;
    fill_i8(x, outer * L, -128, 127);
    for (i = 0; i < period; ++i) mask[i] = (uint8_t)(t % 7 == 0 ? 0 : irand(0, 3) ? (uint8_t)irand(1, 255) : 0);
    check(qrt_build_qsoftmax_i8(exp(frand(-6.0f, 0.5f)), table) == 0, "build");
    memset(&p, 0, sizeof p);
    p.outer = outer; p.axis_len = L; p.mask_n = period;
    in[0] = x; in[1] = table; in[2] = mask; out[0] = y;
    qrt_qsoftmax_i8(&p, in, out);
    for (o = 0; o < outer; ++o) {
      int64_t n = 0;
      for (j = 0; j < L; ++j)
        if (mask[(o * L + j) % period]) xc[n++] = x[o * L + j];
      memset(&pc, 0, sizeof pc);
      pc.outer = 1; pc.axis_len = n ? n : L;
      in[0] = n ? xc : x + o * L; in[2] = NULL; out[0] = yc;
      qrt_qsoftmax_i8(&pc, in, out);
      for (j = 0, i = 0; j < L; ++j) {
        const int kept = !n || mask[(o * L + j) % period];
        ok &= y[o * L + j] == (kept ? yc[i++] : -128);
      }
    }
    free(x); free(y); free(xc); free(yc); free(mask);
  }
  check(ok, "masked rows: the softmax of the kept elements, -128 elsewhere; all masked: unmasked");
}

int main(void) {
  test_random();
  test_masks();
  test_edges();
  printf("qsoftmax: %ld outputs; vs the real value 256p-128 (non-saturated): max %.4f LSB, mean "
         "%.4f LSB\n",
         g_st.n, g_st.max_real, g_st.sum_real / (double)(g_st.n ? g_st.n : 1));
  printf("qsoftmax: vs the correctly rounded reference: %ld differ by 1 LSB (%ld outputs within eta "
         "of a tie)\n",
         g_st.mism, g_st.near);
  printf("qsoftmax: vs the float path: max %ld LSB, %ld differ (%.4f%%)\n", g_st.float_max,
         g_st.float_diff, 100.0 * (double)g_st.float_diff / (double)(g_st.n ? g_st.n : 1));
  check(g_st.max_real < 0.5 + 1e-6, "qsoftmax: |error| < 0.5 LSB + eta vs the real value");
  return finish();
}
