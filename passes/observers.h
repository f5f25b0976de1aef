/* observers.h - clipping ranges from a histogram of calibration values:
 * the percentile and MSE-optimal observers of the calibrate pass (min-max
 * needs no histogram, only qcc_minmax_f32). */
#ifndef QCC_OBSERVERS_H
#define QCC_OBSERVERS_H
#include <stdint.h>

enum { QCC_HIST_BINS = 4096 };

/* A histogram filled in one pass over the calibration samples, its range
 * growing with the values (no first pass for the min-max range).
 *
 * Bins are the cells [k w, (k + 1) w) of a grid anchored at 0 whose width w
 * is a power of two; window cell j is grid cell first + j (a window of
 * QCC_HIST_BINS cells holding [lo, hi]). w is the finest power of two for
 * which [lo, hi] spans at most QCC_HIST_BINS cells (so more than
 * QCC_HIST_BINS / 2 - 1 of them, as fine as the former 2048 bins over
 * [lo, hi]), but no finer than 2^-20 of the largest magnitude (a
 * quantization range includes 0, so its step is at least that magnitude
 * / 255) nor than 2^-100.  When a value falls outside, w doubles as often
 * as needed and pairs of cells merge: since floor(x / 2w) =
 * floor(floor(x / w) / 2), counts only move to the wider cell their values
 * belong to, so the histogram equals the one a second pass over the final
 * range would fill on the same grid, whatever the order of the values
 * (only where the window sits depends on it). */
enum { QCC_HIST_SETS = 2 };
typedef struct qcc_histogram {
  double lo, hi; /* the least and greatest finite value added (lo > hi: none) */
  double width;  /* w; 0 while empty */
  int64_t first; /* the grid cell of window cell 0 */
  double total;  /* finite values added */
  /* Cell j's count (qcc_hist_count) is the sum of its QCC_HIST_SETS
   * 16-bit counts, value i of a block counted in set i % QCC_HIST_SETS
   * (so a run of values in one cell makes independent increments, not
   * one chain), plus spilled[j]: the sets move there before one could
   * overflow (spilled is NULL until then). Row QCC_HIST_BINS takes the
   * values that have no cell. Small counts keep a histogram's cells in
   * a few cache lines: calibration adds to every value's histogram at
   * every sample. */
  uint16_t sets[QCC_HIST_BINS + 1][QCC_HIST_SETS];
  int64_t set_max; /* a bound on any one set's total since the last spill */
  double *spilled;
} qcc_histogram;

/* The least and greatest of x[n], NaN skipped (infinities count); lo > hi
 * when every value is NaN or n is 0. */
void qcc_minmax_f32(const float *x, int64_t n, float *lo, float *hi);

/* An empty histogram; free it with qcc_hist_free. */
qcc_histogram *qcc_hist_new(void);
void qcc_hist_free(qcc_histogram *h);
/* Adds n floats (NaN and infinities skipped: they have no cell). */
void qcc_hist_add(qcc_histogram *h, const float *x, int64_t n);
/* qcc_hist_add that also gives x's qcc_minmax_f32 (which it needs). */
void qcc_hist_add_minmax(qcc_histogram *h, const float *x, int64_t n, float *lo, float *hi);
/* Adds o's values to h: afterwards h is the histogram of both sets of
 * values (the same counts on the same grid as one histogram adding them
 * all, in any order: see above), so that threads can each fill their own
 * and merge them. */
void qcc_hist_merge(qcc_histogram *h, const qcc_histogram *o);
/* How many values cell k of the window (the grid cell first + k) holds. */
double qcc_hist_count(const qcc_histogram *h, int64_t k);
/* The lower edge of window cell k: (first + k) w. */
double qcc_hist_edge(const qcc_histogram *h, int64_t k);
/* [lo, hi] keeping the central p percent: (100 - p) / 2 percent of the
 * values are cut from each tail (cell edges, clamped to the values' range;
 * conservative: the cut never exceeds that mass). */
void qcc_hist_percentile_range(const qcc_histogram *h, double p, double *lo, double *hi);
/* The range [r lo, r hi], r in [0.3, 1] by 0.01, whose asymmetric `bits`-bit
 * quantization (the quantize pass's activation parameters) gives the least
 * expected squared error over the histogram (each cell's values at its
 * centre, clamped to [lo, hi]). */
void qcc_hist_mse_range(const qcc_histogram *h, int bits, double *lo, double *hi);
/* The squared error, summed over the histogram's values, of quantizing them
 * on [lo, hi] as qcc_hist_mse_range scores a candidate (the measure MSQ
 * compares per-modality ranges with the shared one by). */
double qcc_hist_range_mse(const qcc_histogram *h, int bits, double lo, double hi);

#endif
