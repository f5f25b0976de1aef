/* observers.c - percentile and MSE clipping from a histogram (observers.h).
 * Clipping trades a few saturated outliers for a finer step on everything
 * else; which trade is best depends on the distribution, hence the
 * choice of observers (--observer). */
#include "observers.h"

#include <math.h>
#include <string.h>

void qcc_hist_init(qcc_histogram *h, double lo, double hi) {
  memset(h, 0, sizeof *h);
  h->lo = lo;
  h->hi = hi > lo ? hi : lo + 1e-30;
}

void qcc_hist_add(qcc_histogram *h, const float *x, int64_t n) {
  /* Integer counts per call (a double add per value is a long dependency
   * chain when neighbouring values share a bin), folded in at the end. */
  uint32_t counts[QCC_HIST_BINS];
  const double w = QCC_HIST_BINS / (h->hi - h->lo), lo = h->lo;
  int64_t added = 0;
  while (n > 0) {
    const int64_t chunk = n < ((int64_t)1 << 30) ? n : (int64_t)1 << 30;
    memset(counts, 0, sizeof counts);
    for (int64_t i = 0; i < chunk; i++) {
      if (x[i] != x[i]) continue; /* NaN */
      double b = (x[i] - lo) * w;
      /* NaN b (an infinite value in an infinite range) counts in bin 0:
       * never a conversion of NaN to an integer */
      int64_t k = b >= QCC_HIST_BINS ? QCC_HIST_BINS - 1 : b > 0 ? (int64_t)b : 0;
      counts[k]++;
      added++;
    }
    for (int k = 0; k < QCC_HIST_BINS; k++) h->counts[k] += counts[k];
    x += chunk;
    n -= chunk;
  }
  h->total += (double)added;
}

static double edge(const qcc_histogram *h, int k) { return h->lo + (h->hi - h->lo) * k / QCC_HIST_BINS; }

void qcc_hist_percentile_range(const qcc_histogram *h, double p, double *lo, double *hi) {
  const double cut = h->total * (100.0 - p) / 200.0;
  double acc = 0;
  int a = 0, b = QCC_HIST_BINS;
  while (a < QCC_HIST_BINS - 1 && acc + h->counts[a] <= cut) acc += h->counts[a++];
  acc = 0;
  while (b > a + 1 && acc + h->counts[b - 1] <= cut) acc += h->counts[--b];
  *lo = edge(h, a);
  *hi = edge(h, b);
}

/* Expected squared error of quantizing the histogram with range [lo, hi]
 * (0 included) on 2^bits levels, as the quantize pass would. */
static double quant_mse(const qcc_histogram *h, double lo, double hi, int bits) {
  if (lo > 0) lo = 0;
  if (hi < 0) hi = 0;
  const double qmin = -(1 << (bits - 1)), qmax = (1 << (bits - 1)) - 1;
  double s = (hi - lo) / (qmax - qmin);
  if (!(s > 0)) return 0;
  double z = round(qmin - lo / s);
  z = z < qmin ? qmin : z > qmax ? qmax : z;
  double e = 0;
  for (int k = 0; k < QCC_HIST_BINS; k++) {
    if (!h->counts[k]) continue;
    double v = 0.5 * (edge(h, k) + edge(h, k + 1));
    double q = round(v / s) + z;
    q = q < qmin ? qmin : q > qmax ? qmax : q;
    double d = v - s * (q - z);
    e += h->counts[k] * d * d;
  }
  return e;
}

void qcc_hist_mse_range(const qcc_histogram *h, int bits, double *lo, double *hi) {
  double best = INFINITY;
  *lo = h->lo;
  *hi = h->hi;
  for (int j = 0; j <= 70; j++) {
    double r = 1.0 - 0.01 * j, e = quant_mse(h, r * h->lo, r * h->hi, bits);
    if (e < best) {
      best = e;
      *lo = r * h->lo;
      *hi = r * h->hi;
    }
  }
}
