/* test_quant_search.c - qcc_quantize_weights' step searches (the clip
 * ratio per channel, the group multipliers) are computed fast (several
 * steps per pass, multiplication by 1/step, early exits on a lower bound;
 * see quant_weights.c); this checks that they pick exactly the steps of
 * the plain search they replace, written out below as the specification:
 * every step tried in order, the error summed element by element with a
 * division, the first least error kept.  Codes, scales and group
 * multipliers must be identical bit for bit on Gaussian weights with
 * outliers, on weights at exact ties of the rounding (where 1/step and
 * the division can round to different integers), on all-zero and
 * constant channels, and on tiny (subnormal) weights. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrt.h"
#include "quant_weights.h"
#include "rng.h"

static int fails;
static void check(int ok, const char *what) {
  printf("%s: %s\n", ok ? "ok" : "FAIL", what);
  fails += !ok;
}

static double ref_error(const float *w, int64_t n, double step, int32_t cmin, int32_t cmax) {
  double e = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = nearbyint(w[i] / step);
    v = v < cmin ? cmin : v > cmax ? cmax : v;
    e += (w[i] - step * v) * (w[i] - step * v);
  }
  return e;
}

/* The specification, for B [K, N] (column_major): scales and group
 * multipliers as the header documents them. */
static void ref_search(const float *w, int64_t N, int64_t K, int format, int64_t group, float *scales,
                       uint8_t *gmult) {
  int32_t cmin, cmax;
  qcc_wformat_range(format, &cmin, &cmax);
  if (group >= K) group = 0;
  float *wc = malloc(sizeof(float) * (size_t)K);
  for (int64_t c = 0; c < N; c++) {
    double amax = 0, s = 1.0;
    for (int64_t i = 0; i < K; i++) wc[i] = w[i * N + c], amax = fmax(amax, fabs(wc[i]));
    if (amax > 0 && group) {
      s = (float)(amax / (cmax * 255.0));
    } else if (amax > 0) {
      double best = INFINITY;
      for (int j = 0; j <= 50; j++) {
        double step = (float)(amax * (1.0 - 0.01 * j) / cmax), e = ref_error(wc, K, step, cmin, cmax);
        if (e < best) best = e, s = step;
      }
    }
    scales[c] = (float)s;
    for (int64_t g = 0; group && g * group < K; g++) {
      const int64_t i0 = g * group, n = i0 + group < K ? group : K - i0;
      double gmax = 0, best = INFINITY;
      for (int64_t i = i0; i < i0 + n; i++) gmax = fmax(gmax, fabs(wc[i]));
      int u0 = (int)ceil(gmax / (cmax * s) - 1e-9), ubest = 1;
      u0 = u0 < 1 ? 1 : u0 > 255 ? 255 : u0;
      for (int u = u0; u >= 1 && u * 2 >= u0; u--) {
        double e = ref_error(wc + i0, n, s * u, cmin, cmax);
        if (e < best) best = e, ubest = u;
      }
      gmult[g * N + c] = (uint8_t)ubest;
    }
  }
  free(wc);
}

static void compare(const float *w, int64_t N, int64_t K, int format, int64_t group, const char *name) {
  qcc_qweights q;
  char err[128], what[200];
  qcc_quantize_weights(w, N, K, true, format, group, NULL, &q, err, sizeof err);
  const int64_t ng = group && group < K ? (K + group - 1) / group : 0;
  float *scales = malloc(sizeof(float) * (size_t)N);
  uint8_t *gmult = malloc((size_t)(ng * N) + 1);
  ref_search(w, N, K, format, group, scales, gmult);
  bool same = !memcmp(scales, q.scales, sizeof(float) * (size_t)N) && (!ng || !memcmp(gmult, q.gmult, (size_t)(ng * N)));
  /* the codes of those steps, clamp(round(w / step)) */
  int32_t cmin, cmax;
  qcc_wformat_range(format, &cmin, &cmax);
  for (int64_t i = 0; i < K && same; i++)
    for (int64_t c = 0; c < N; c++) {
      double step = (double)scales[c] * (ng ? gmult[(i / group) * N + c] : 1), v = nearbyint(w[i * N + c] / step);
      v = v < cmin ? cmin : v > cmax ? cmax : v;
      same &= q.codes[i * N + c] == (int8_t)v;
    }
  check(same, (snprintf(what, sizeof what, "%s: the plain search's scales, multipliers and codes", name), what));
  free(scales);
  free(gmult);
  qcc_qweights_free(&q);
}

int main(void) {
  enum { K = 512, N = 48 };
  static float w[K * N];
  qcc_rng r = qcc_rng_seed(5);
  for (int i = 0; i < K * N; i++) w[i] = (float)(0.02 * qcc_rng_gaussian(&r) * (i % 211 ? 1 : 9));
  for (int i = 0; i < K; i++) {
    w[i * N + 0] = 0;                                     /* all zero */
    w[i * N + 1] = 0.25f;                                 /* constant */
    w[i * N + 2] = (float)(1e-41 * qcc_rng_gaussian(&r)); /* subnormal */
    /* exact ties: multiples of 1/16 of a power of two up to 7.5 / 8 of the
     * maximum, so steps max/7 * u/u0 and max/127 meet halves exactly */
    w[i * N + 3] = (float)((int)(i % 31) - 15) * 0.0625f;
    w[i * N + 4] = (float)((int)(i % 17) - 8) * 0.5f;
  }
  compare(w, N, K, QRT_WFMT_I4, 128, "int4 groups of 128");
  compare(w, N, K, QRT_WFMT_I4, 32, "int4 groups of 32");
  compare(w, N, K, QRT_WFMT_I4, 0, "int4 per channel");
  compare(w, N, K, QRT_WFMT_I8, 0, "int8 per channel");
  compare(w, N, 100, QRT_WFMT_I4, 64, "int4 groups of 64, K = 100 (a short last group)");
  printf("%s\n", fails ? "FAILED" : "all passed");
  return fails != 0;
}
