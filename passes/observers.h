/* observers.h - clipping ranges from a histogram of calibration values:
 * the percentile and MSE-optimal observers of the calibrate pass (min-max
 * needs no histogram). */
#ifndef QCC_OBSERVERS_H
#define QCC_OBSERVERS_H
#include <stdint.h>

enum { QCC_HIST_BINS = 2048 };

/* Counts of values in QCC_HIST_BINS equal bins over [lo, hi] (the min-max
 * range from the first calibration pass). */
typedef struct qcc_histogram {
  double lo, hi;
  double total;
  double counts[QCC_HIST_BINS];
} qcc_histogram;

void qcc_hist_init(qcc_histogram *h, double lo, double hi);
/* Adds n floats (NaN skipped; values outside [lo, hi] go to the end bins). */
void qcc_hist_add(qcc_histogram *h, const float *x, int64_t n);
/* [lo, hi] keeping the central p percent: (100 - p) / 2 percent of the
 * values are cut from each tail (bin edges, conservative: the cut never
 * exceeds that mass). */
void qcc_hist_percentile_range(const qcc_histogram *h, double p, double *lo, double *hi);
/* The range [r lo, r hi], r in [0.3, 1] by 0.01, whose asymmetric `bits`-bit
 * quantization (the quantize pass's activation parameters) gives the least
 * expected squared error over the histogram (bin centres). */
void qcc_hist_mse_range(const qcc_histogram *h, int bits, double *lo, double *hi);

#endif
