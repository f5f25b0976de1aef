/* test_quant_weights.c - qcc_quantize_weights with a Hessian (GPTQ codes):
 *  - H = I: GPTQ's updates vanish, so the codes are the round-to-nearest
 *    ones (int8 per channel and int4 per group, both layouts);
 *  - a correlated H: the codes are qcc_gptq's on W [channels, per] with
 *    step = channel scale * group multiplier (the layout transposition is
 *    right), the scales and multipliers are the RTN ones, the codes stay in
 *    the format's range, colsum and the weight SQNR follow the codes, and
 *    the output SQNR beats round to nearest's;
 *  - a non-finite H: false with a message, and the RTN result. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gptq.h"
#include "qrt.h"
#include "quant_weights.h"
#include "rng.h"

static int fails;
static void check(int ok, const char *what) {
  printf("%s: %s\n", ok ? "ok" : "FAIL", what);
  fails += !ok;
}

enum { N = 24, K = 64 };

/* Element (channel c, input i) in the layout under test. */
static int64_t at(bool column_major, int64_t c, int64_t i) { return column_major ? i * N + c : c * K + i; }

/* H = X^T X / rows for X with strongly correlated columns (a shared
 * factor plus noise), as real layer inputs have. */
static void correlated_hessian(double *H) {
  enum { ROWS = 512 };
  qcc_rng r = qcc_rng_seed(7);
  static double X[ROWS * K];
  for (int t = 0; t < ROWS; t++) {
    const double f = qcc_rng_gaussian(&r), g = qcc_rng_gaussian(&r);
    for (int i = 0; i < K; i++) X[t * K + i] = f * (1 + 0.02 * i) + 0.5 * g * (i % 3) + 0.3 * qcc_rng_gaussian(&r);
  }
  for (int i = 0; i < K; i++)
    for (int j = 0; j < K; j++) {
      double s = 0;
      for (int t = 0; t < ROWS; t++) s += X[t * K + i] * X[t * K + j];
      H[i * K + j] = s / ROWS;
    }
}

static void case_layout(int format, int64_t group, bool column_major, const char *name) {
  float w[N * K];
  qcc_rng r = qcc_rng_seed(11);
  for (int c = 0; c < N; c++)
    for (int i = 0; i < K; i++) w[at(column_major, c, i)] = (float)(0.05 * qcc_rng_gaussian(&r) * (1 + c % 4));
  static double I[K * K], H[K * K];
  memset(I, 0, sizeof I);
  for (int i = 0; i < K; i++) I[i * K + i] = 1;
  correlated_hessian(H);
  char what[160], err[256];

  qcc_qweights rtn, id, gq;
  check(qcc_quantize_weights(w, N, K, column_major, format, group, NULL, &rtn, err, sizeof err) && !rtn.gptq &&
            isnan(rtn.output_sqnr_db),
        (snprintf(what, sizeof what, "%s: round to nearest without H", name), what));
  bool ok = qcc_quantize_weights(w, N, K, column_major, format, group, I, &id, err, sizeof err);
  snprintf(what, sizeof what, "%s: H = I gives the round-to-nearest codes", name);
  check(ok && id.gptq && !memcmp(id.codes, rtn.codes, N * K) && !memcmp(id.colsum, rtn.colsum, sizeof(int32_t) * N) &&
            id.sqnr_db == rtn.sqnr_db && id.output_sqnr_db == id.rtn_output_sqnr_db,
        what);

  ok = qcc_quantize_weights(w, N, K, column_major, format, group, H, &gq, err, sizeof err);
  snprintf(what, sizeof what, "%s: GPTQ keeps the RTN scales and multipliers", name);
  const int64_t ng = gq.group ? (K + gq.group - 1) / gq.group : 1;
  check(ok && gq.gptq && !memcmp(gq.scales, rtn.scales, sizeof(float) * N) &&
            (!gq.group || !memcmp(gq.gmult, rtn.gmult, (size_t)(ng * N))),
        what);
  /* The reference: qcc_gptq on the transposed W with the same steps. */
  static double W[N * K], S[N * K];
  int8_t ref[N * K];
  const int64_t G = gq.group ? gq.group : K;
  for (int c = 0; c < N; c++) {
    for (int i = 0; i < K; i++) W[c * K + i] = w[at(column_major, c, i)];
    for (int64_t g = 0; g < ng; g++) S[c * ng + g] = (double)gq.scales[c] * (gq.group ? gq.gmult[g * N + c] : 1);
  }
  qcc_wquant grid = {N, K, G, S, 0, 0};
  qcc_wformat_range(format, &grid.qmin, &grid.qmax);
  qcc_gptq(&grid, W, H, NULL, ref, NULL, err, sizeof err);
  bool same = true, in_range = true, colsum_ok = true, differs = false;
  double signal = 0, noise = 0;
  for (int c = 0; c < N; c++) {
    int64_t sum = 0;
    for (int i = 0; i < K; i++) {
      const int8_t v = gq.codes[at(column_major, c, i)];
      same &= v == ref[c * K + i];
      in_range &= v >= grid.qmin && v <= grid.qmax;
      differs |= v != rtn.codes[at(column_major, c, i)];
      sum += (int64_t)v * (gq.group ? gq.gmult[(i / G) * N + c] : 1);
      const double e = W[c * K + i] - S[c * ng + i / G] * v;
      signal += W[c * K + i] * W[c * K + i];
      noise += e * e;
    }
    colsum_ok &= gq.colsum[c] == sum;
  }
  check(same, (snprintf(what, sizeof what, "%s: codes are qcc_gptq's on W [channels, per]", name), what));
  check(in_range && differs, (snprintf(what, sizeof what, "%s: codes in range, not all RTN's", name), what));
  check(colsum_ok && fabs(gq.sqnr_db - 10 * log10(signal / noise)) < 1e-9,
        (snprintf(what, sizeof what, "%s: colsum and weight SQNR of the GPTQ codes", name), what));
  printf("  %s: output SQNR %.2f dB GPTQ vs %.2f dB RTN\n", name, gq.output_sqnr_db, gq.rtn_output_sqnr_db);
  check(gq.output_sqnr_db > gq.rtn_output_sqnr_db + 1,
        (snprintf(what, sizeof what, "%s: GPTQ's output SQNR beats RTN's by > 1 dB", name), what));

  qcc_qweights bad;
  H[3 * K + 2] = NAN;
  ok = qcc_quantize_weights(w, N, K, column_major, format, group, H, &bad, err, sizeof err);
  check(!ok && strstr(err, "not finite") && !bad.gptq && !memcmp(bad.codes, rtn.codes, N * K),
        (snprintf(what, sizeof what, "%s: a NaN in H: error, round-to-nearest result", name), what));
  qcc_qweights_free(&rtn);
  qcc_qweights_free(&id);
  qcc_qweights_free(&gq);
  qcc_qweights_free(&bad);
}

int main(void) {
  case_layout(QRT_WFMT_I8, 0, true, "int8 per channel, B [K, N]");
  case_layout(QRT_WFMT_I4, 16, true, "int4 groups of 16, B [K, N]");
  case_layout(QRT_WFMT_I4, 0, false, "int4 per channel, [N, K]");
  case_layout(QRT_WFMT_I4, 32, false, "int4 groups of 32, [N, K]");
  printf("%s\n", fails ? "FAILED" : "all passed");
  return fails != 0;
}
