/* quant_weights.c - weight codes and scales (see quant_weights.h). The
 * format table is the runtime's, so compiler and kernels agree on every
 * format's code range and name. */
#include "quant_weights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qrt.h"

void qcc_wformat_range(int format, int32_t *code_min, int32_t *code_max) {
#define RANGE(id, name, bits, lo, hi) \
  if (format == id) {                \
    *code_min = lo;                  \
    *code_max = hi;                  \
  }
  *code_min = *code_max = 0;
  QRT_ALL_WFORMATS(RANGE)
#undef RANGE
}

const char *qcc_wformat_name(int format) {
#define NAME(id, name, bits, lo, hi) \
  if (format == id) return name;
  QRT_ALL_WFORMATS(NAME)
#undef NAME
  return "?";
}

/* Squared error of quantizing w[i0..i1) (stride `stride`) with `step`. */
static double rounding_error(const float *w, int64_t i0, int64_t i1, int64_t stride, double step, int32_t cmin,
                             int32_t cmax) {
  double e = 0;
  for (int64_t i = i0; i < i1; i++) {
    double v = nearbyint(w[i * stride] / step);
    v = v < cmin ? cmin : v > cmax ? cmax : v;
    e += (w[i * stride] - step * v) * (w[i * stride] - step * v);
  }
  return e;
}

void qcc_quantize_weights(const float *w, int64_t channels, int64_t per, bool column_major, int format,
                          int64_t group, qcc_qweights *q) {
  int32_t cmin, cmax;
  qcc_wformat_range(format, &cmin, &cmax);
  if (group >= per) group = 0;
  const int64_t ng = group ? (per + group - 1) / group : 1;
  memset(q, 0, sizeof *q);
  q->format = format;
  q->channels = channels;
  q->per = per;
  q->group = group;
  q->codes = malloc((size_t)(channels * per) + 1);
  q->scales = malloc(sizeof(float) * (size_t)channels);
  q->colsum = malloc(sizeof(int32_t) * (size_t)channels);
  if (group) q->gmult = malloc((size_t)(ng * channels));
  /* channel c's elements: w[base + i * stride], i < per */
  const int64_t stride = column_major ? channels : 1;
  double signal = 0, noise = 0;
  for (int64_t c = 0; c < channels; c++) {
    const float *wc = w + (column_major ? c : c * per);
    double amax = 0;
    for (int64_t i = 0; i < per; i++) amax = fmax(amax, fabs(wc[i * stride]));
    double s = 1.0;
    if (amax > 0 && group) {
      s = (float)(amax / (cmax * 255.0));
    } else if (amax > 0) {
      /* MSE-optimal clipping: the step among amax * r / code_max, r in
       * [0.5, 1] by 0.01, with the least squared rounding error */
      double best = INFINITY;
      for (int j = 0; j <= 50; j++) {
        double step = (float)(amax * (1.0 - 0.01 * j) / cmax);
        double e = rounding_error(wc, 0, per, stride, step, cmin, cmax);
        if (e < best) best = e, s = step;
      }
    }
    q->scales[c] = (float)s;
    int64_t sum = 0;
    for (int64_t g = 0; g < ng; g++) {
      const int64_t i0 = g * (group ? group : per), i1 = group && i0 + group < per ? i0 + group : per;
      double step = s;
      if (group) {
        /* the group multiplier u covering the group's max, or a smaller one
         * (clipping) when that lowers the group's squared error */
        double gmax = 0, best = INFINITY;
        for (int64_t i = i0; i < i1; i++) gmax = fmax(gmax, fabs(wc[i * stride]));
        int u0 = (int)ceil(gmax / (cmax * s) - 1e-9), ubest = 1;
        u0 = u0 < 1 ? 1 : u0 > 255 ? 255 : u0;
        for (int u = u0; u >= 1 && u * 2 >= u0; u--) {
          double e = rounding_error(wc, i0, i1, stride, s * u, cmin, cmax);
          if (e < best) best = e, ubest = u;
        }
        q->gmult[g * channels + c] = (uint8_t)ubest;
        step = s * ubest;
      }
      int64_t gsum = 0;
      for (int64_t i = i0; i < i1; i++) {
        const double x = wc[i * stride];
        double v = nearbyint(x / step);
        v = v < cmin ? cmin : v > cmax ? cmax : v;
        q->codes[(column_major ? c : c * per) + i * stride] = (int8_t)v;
        gsum += (int64_t)v;
        signal += x * x;
        noise += (x - step * v) * (x - step * v);
      }
      sum += gsum * (group ? q->gmult[g * channels + c] : 1);
    }
    q->colsum[c] = (int32_t)sum;
  }
  q->sqnr_db = noise > 0 ? 10 * log10(signal / noise) : INFINITY;
}

void qcc_qweights_free(qcc_qweights *q) {
  free(q->codes);
  free(q->scales);
  free(q->gmult);
  free(q->colsum);
  memset(q, 0, sizeof *q);
}
