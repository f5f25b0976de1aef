/* observers.c - min-max, and percentile and MSE clipping from a histogram
 * (observers.h). Clipping trades a few saturated outliers for a finer step
 * on everything else; which trade is best depends on the distribution,
 * hence the choice of observers (--observer).
 *
 * Calibration runs these on every value of every sample, so they are
 * written for the vectorizer: branch-free loops over blocks, integer
 * counts, no libm call per element. */
#include "observers.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "simd_clones.h"

/* Vector code below is GNU C vector extensions, 8 floats or 4 doubles
 * (32 bytes: two SSE registers on baseline x86-64, one AVX register); the
 * functions that use them are QCC_CLONES (simd_clones.h: AVX2 and AVX-512
 * copies picked at load time). Every lane does exactly the scalar steps,
 * so the clones give the same bits. */
#if defined(__GNUC__) && (__GNUC__ >= 9 || defined(__clang__))
#define QCC_VEC 1
typedef float qcc_f8 __attribute__((vector_size(32)));
typedef int32_t qcc_i8 __attribute__((vector_size(32)));
typedef double qcc_d4 __attribute__((vector_size(32)));
typedef int64_t qcc_l4 __attribute__((vector_size(32)));
typedef int32_t qcc_i4v __attribute__((vector_size(16)));
typedef double qcc_d8 __attribute__((vector_size(64)));
typedef int64_t qcc_l8 __attribute__((vector_size(64)));
#endif

/* qcc_minmax_f32, and how many values are NaN (x != x): min and max, NaN
 * skipped (a comparison with NaN is false, so the blend keeps lo), in 2
 * independent 8-lane vectors (a plain loop over 16 scalar lanes stayed
 * scalar at -O3 and was 15% of calibration with --observer minmax). */
QCC_CLONES static int64_t minmax_nans(const float *x, int64_t n, float *lo_out, float *hi_out) {
  float lo[16], hi[16];
  int64_t nans = 0;
  for (int j = 0; j < 16; j++) lo[j] = INFINITY, hi[j] = -INFINITY;
  int64_t i = 0;
#if defined(QCC_VEC)
  qcc_f8 vlo[2], vhi[2];
  qcc_i8 vnan = {0};
  memcpy(vlo, lo, sizeof vlo);
  memcpy(vhi, hi, sizeof vhi);
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 2; j++) {
      qcc_f8 v;
      memcpy(&v, x + i + 8 * j, sizeof v);
      const qcc_i8 below = v < vlo[j], above = v > vhi[j];
      vlo[j] = (qcc_f8)((below & (qcc_i8)v) | (~below & (qcc_i8)vlo[j]));
      vhi[j] = (qcc_f8)((above & (qcc_i8)v) | (~above & (qcc_i8)vhi[j]));
      vnan += v != v; /* lanes: -1 for NaN */
    }
  memcpy(lo, vlo, sizeof vlo);
  memcpy(hi, vhi, sizeof vhi);
  for (int l = 0; l < 8; l++) nans -= vnan[l];
#endif
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++) {
      lo[j] = x[i + j] < lo[j] ? x[i + j] : lo[j];
      hi[j] = x[i + j] > hi[j] ? x[i + j] : hi[j];
      nans += x[i + j] != x[i + j];
    }
  for (; i < n; i++) {
    lo[0] = x[i] < lo[0] ? x[i] : lo[0];
    hi[0] = x[i] > hi[0] ? x[i] : hi[0];
    nans += x[i] != x[i];
  }
  for (int j = 1; j < 16; j++) {
    if (lo[j] < lo[0]) lo[0] = lo[j];
    if (hi[j] > hi[0]) hi[0] = hi[j];
  }
  *lo_out = lo[0];
  *hi_out = hi[0];
  return nans;
}

void qcc_minmax_f32(const float *x, int64_t n, float *lo, float *hi) { minmax_nans(x, n, lo, hi); }

qcc_histogram *qcc_hist_new(void) {
  qcc_histogram *h = calloc(1, sizeof *h);
  h->lo = INFINITY;
  h->hi = -INFINITY;
  return h;
}

void qcc_hist_free(qcc_histogram *h) {
  if (!h) return;
  free(h->spilled);
  free(h);
}

double qcc_hist_edge(const qcc_histogram *h, int64_t k) { return (double)(h->first + k) * h->width; }

/* The grid cell of x, floor(x / w): exact, w being a power of two. */
static int64_t cell(double x, double w) { return (int64_t)floor(x / w); }

/* The width for values in [lo, hi], no finer than w0 (the current one):
 * the least power of two >= w0 and >= the floor (observers.h) for which
 * [lo, hi] spans at most QCC_HIST_BINS cells. Both bounds only grow as
 * [lo, hi] does, so the width a histogram ends with depends on its final
 * range alone, not on the order the values came in. */
static double width_for(double lo, double hi, double w0) {
  const double m = fmax(fabs(lo), fabs(hi));
  double w = ldexp(1.0, -100);
  if (m > 0 && ilogb(m) - 20 > -100) w = ldexp(1.0, ilogb(m) - 20);
  if (w0 > w) w = w0;
  while (cell(hi, w) - cell(lo, w) + 1 > QCC_HIST_BINS) w *= 2;
  return w;
}

/* The occupied cells, counts[lo_cell .. hi_cell]. */
static int64_t lo_cell(const qcc_histogram *h) { return cell(h->lo, h->width) - h->first; }
static int64_t hi_cell(const qcc_histogram *h) { return cell(h->hi, h->width) - h->first; }

double qcc_hist_count(const qcc_histogram *h, int64_t k) {
  uint32_t n = 0;
  for (int j = 0; j < QCC_HIST_SETS; j++) n += h->sets[k][j];
  return (h->spilled ? h->spilled[k] : 0) + (double)n;
}

/* Moves the sets' counts into spilled (exact: integers far below 2^53).
 * Every count is in an occupied cell: values are counted only inside
 * [lo, hi], which only grows. */
static void spill(qcc_histogram *h) {
  if (!h->spilled) h->spilled = calloc(QCC_HIST_BINS, sizeof(double));
  if (h->width > 0)
    for (int64_t k = lo_cell(h), end = hi_cell(h); k <= end; k++) {
      h->spilled[k] = qcc_hist_count(h, k);
      memset(h->sets[k], 0, sizeof h->sets[k]);
    }
  memset(h->sets[QCC_HIST_BINS], 0, sizeof h->sets[QCC_HIST_BINS]);
  h->set_max = 0;
}

/* floor(c / 2^d) for d >= 0: the cell of width 2^d w holding cell c of
 * width w (integer steps: a float floor per cell made regridding a
 * third of the first samples' time). */
static int64_t floor_shift(int64_t c, int d) {
  if (d >= 62) return c < 0 ? -1 : 0;
  return c >= 0 ? c >> d : -((-c - 1) >> d) - 1;
}

/* Grows the grid to cover [lo, hi] (finite). Within the window, only lo
 * and hi change; else a wider cell takes the counts of the narrower cells
 * inside it (floor(floor(x / w) / 2^d) = floor(x / 2^d w)), and the
 * window is placed with the occupied cells in its middle, so that the
 * next new extremes (frequent over the first samples) fall inside it
 * rather than move every count again (which was a quarter of the
 * histogram's time on digits_transformer). */
static void cover(qcc_histogram *h, double lo, double hi) {
  if (h->width > 0 && lo >= h->lo && hi <= h->hi) return;
  const double new_lo = fmin(lo, h->lo), new_hi = fmax(hi, h->hi);
  const double w = width_for(new_lo, new_hi, h->width);
  const int64_t a = cell(new_lo, w), b = cell(new_hi, w);
  if (h->width > 0 && w == h->width && a >= h->first && b < h->first + QCC_HIST_BINS) {
    h->lo = new_lo;
    h->hi = new_hi;
    return;
  }
  const int64_t first = a - (QCC_HIST_BINS - (b - a + 1)) / 2;
  if (h->width > 0) {
    /* a merged count is at most its set's total: no overflow */
    uint16_t moved[QCC_HIST_BINS][QCC_HIST_SETS];
    memset(moved, 0, sizeof moved);
    const int d = ilogb(w) - ilogb(h->width);
    for (int64_t k = lo_cell(h), end = hi_cell(h); k <= end; k++) {
      const int64_t to = floor_shift(h->first + k, d) - first;
      for (int j = 0; j < QCC_HIST_SETS; j++) moved[to][j] += h->sets[k][j];
    }
    memcpy(h->sets, moved, sizeof moved);
    if (h->spilled) {
      double moved_spilled[QCC_HIST_BINS];
      memset(moved_spilled, 0, sizeof moved_spilled);
      for (int64_t k = lo_cell(h), end = hi_cell(h); k <= end; k++)
        moved_spilled[floor_shift(h->first + k, d) - first] += h->spilled[k];
      memcpy(h->spilled, moved_spilled, sizeof moved_spilled);
    }
  }
  h->width = w;
  h->first = first;
  h->lo = new_lo;
  h->hi = new_hi;
}

/* The cells of values x[0..n) in [lo, hi] (the finite range of x), minus
 * base, into k[]; every other value (NaN, infinite) gets `skip`. The cell
 * is floor(x * 2^-e) computed in float: |x / w| < 2^22 (the width's floor)
 * and the scaling by a power of two is exact, except where the product
 * underflows to a subnormal or zero; that only happens for |x / w| < 1,
 * where the sign alone decides (cell 0 or -1), and only when w > 1 (the
 * `tiny` loop). (GCC 12 left the scalar loop scalar, at half of
 * calibration's time.) */
static inline int64_t cells_loop(const float *x, int n, float lo, float hi, float inv_w, int32_t base, int32_t skip,
                                 int32_t *k, const bool tiny, const bool masked) {
  int64_t finite = 0;
  int i = 0;
#if defined(QCC_VEC)
  const qcc_f8 vlo = lo - (qcc_f8){0}, vhi = hi - (qcc_f8){0}, vinv = inv_w - (qcc_f8){0}, zero = {0};
  const qcc_i8 vbase = base - (qcc_i8){0}, vskip = skip - (qcc_i8){0};
  qcc_i8 vfinite = {0};
  for (; i + 8 <= n; i += 8) {
    qcc_f8 v;
    memcpy(&v, x + i, sizeof v);
    const qcc_i8 ok = masked ? (v >= vlo) & (v <= vhi) : ~(qcc_i8){0}; /* lanes: -1 true, 0 false */
    if (masked) v = (qcc_f8)((ok & (qcc_i8)v) | (~ok & (qcc_i8)vlo));
    const qcc_f8 t = v * vinv;
    qcc_i8 c = __builtin_convertvector(t, qcc_i8); /* toward zero */
    c += t < __builtin_convertvector(c, qcc_f8);
    if (tiny) c += (v < zero) & (t == zero);
    const qcc_i8 kk = masked ? (ok & (c - vbase)) | (~ok & vskip) : c - vbase;
    memcpy(k + i, &kk, sizeof kk);
    vfinite -= ok;
  }
  for (int l = 0; l < 8; l++) finite += vfinite[l];
#endif
  for (; i < n; i++) {
    const int32_t ok = x[i] >= lo && x[i] <= hi;
    const float v = ok ? x[i] : lo, t = v * inv_w;
    int32_t c = (int32_t)t; /* toward zero */
    c -= (t < (float)c) | ((v < 0) & (t == 0));
    k[i] = ok ? c - base : skip;
    finite += ok;
  }
  return finite;
}

/* cells_loop for the 4 cases; `masked` where x may hold NaN or infinities
 * (without them, every value is in [lo, hi] and the blends go). */
QCC_CLONES static int64_t cells_of(const float *x, int n, float lo, float hi, float inv_w, int32_t base, int32_t skip,
                                   int32_t *k, bool masked) {
  if (masked)
    return inv_w < 1 ? cells_loop(x, n, lo, hi, inv_w, base, skip, k, true, true)
                     : cells_loop(x, n, lo, hi, inv_w, base, skip, k, false, true);
  return inv_w < 1 ? cells_loop(x, n, lo, hi, inv_w, base, skip, k, true, false)
                   : cells_loop(x, n, lo, hi, inv_w, base, skip, k, false, false);
}

/* The cells of x[0..n) minus base into k[], and their least and greatest
 * values, in one pass, provided every value lies in [lo, hi] (the
 * histogram's range so far, so inside its window): what a call adds once
 * the first samples have set the ranges. Returns false if one does not
 * (NaN, infinite, or a new extreme; k, mn and mx are then meaningless).
 * The cell is cells_loop's, computed the same way. */
static inline bool inside_loop(const float *x, int n, float lo, float hi, float inv_w, int32_t base, int32_t *k,
                               float *mn, float *mx, const bool tiny) {
  int32_t all = -1;
  float a = INFINITY, b = -INFINITY;
  int i = 0;
#if defined(QCC_VEC)
  const qcc_f8 vlo = lo - (qcc_f8){0}, vhi = hi - (qcc_f8){0}, vinv = inv_w - (qcc_f8){0}, zero = {0};
  const qcc_i8 vbase = base - (qcc_i8){0};
  qcc_i8 vall = ~(qcc_i8){0};
  qcc_f8 va = vhi, vb = vlo;
  for (; i + 8 <= n; i += 8) {
    qcc_f8 v;
    memcpy(&v, x + i, sizeof v);
    const qcc_i8 ok = (v >= vlo) & (v <= vhi); /* lanes: -1 true, 0 false */
    vall &= ok;
    v = (qcc_f8)((ok & (qcc_i8)v) | (~ok & (qcc_i8)vlo)); /* no conversion of what may not fit */
    va = (qcc_f8)(((v < va) & (qcc_i8)v) | (~(v < va) & (qcc_i8)va));
    vb = (qcc_f8)(((v > vb) & (qcc_i8)v) | (~(v > vb) & (qcc_i8)vb));
    const qcc_f8 t = v * vinv;
    qcc_i8 c = __builtin_convertvector(t, qcc_i8); /* toward zero */
    c += t < __builtin_convertvector(c, qcc_f8);
    if (tiny) c += (v < zero) & (t == zero);
    const qcc_i8 kk = c - vbase;
    memcpy(k + i, &kk, sizeof kk);
  }
  for (int l = 0; l < 8; l++) {
    all &= vall[l];
    a = va[l] < a ? va[l] : a;
    b = vb[l] > b ? vb[l] : b;
  }
#endif
  for (; i < n; i++) {
    const int32_t ok = x[i] >= lo && x[i] <= hi;
    all &= -ok;
    const float v = ok ? x[i] : lo, t = v * inv_w;
    a = v < a ? v : a;
    b = v > b ? v : b;
    int32_t c = (int32_t)t; /* toward zero */
    c -= (t < (float)c) | ((v < 0) & (t == 0));
    k[i] = c - base;
  }
  *mn = a;
  *mx = b;
  return all != 0;
}

QCC_CLONES static bool cells_inside(const float *x, int n, float lo, float hi, float inv_w, int32_t base, int32_t *k,
                                    float *mn, float *mx) {
  return inv_w < 1 ? inside_loop(x, n, lo, hi, inv_w, base, k, mn, mx, true)
                   : inside_loop(x, n, lo, hi, inv_w, base, k, mn, mx, false);
}

/* One count per cell k[j], value j into set j % QCC_HIST_SETS. */
static void count_cells(qcc_histogram *h, const int32_t *k, int m) {
  enum { S = QCC_HIST_SETS };
  if (h->set_max + (m + S - 1) / S > UINT16_MAX) spill(h);
  h->set_max += (m + S - 1) / S;
  uint16_t(*c)[S] = h->sets;
  int j = 0;
  for (; j + S <= m; j += S)
    for (int s = 0; s < S; s++) c[k[j + s]][s]++;
  for (; j < m; j++) c[k[j]][j % S]++;
}

void qcc_hist_add(qcc_histogram *h, const float *x, int64_t n) {
  float lo, hi;
  qcc_hist_add_minmax(h, x, n, &lo, &hi);
}

enum { BLOCK = 256 };

/* The general case: x's range first, the grid grown to cover it, then the
 * cells (NaN and infinities into the spare row). */
static void add_any(qcc_histogram *h, const float *x, int64_t n, float *lo_out, float *hi_out) {
  float lo, hi;
  const bool masked = minmax_nans(x, n, &lo, &hi) > 0 || !isfinite(lo) || !isfinite(hi);
  *lo_out = lo;
  *hi_out = hi;
  if (!(lo <= hi)) return; /* nothing but NaN */
  if (!isfinite(lo) || !isfinite(hi)) { /* the finite range, rarely needed */
    lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++)
      if (isfinite(x[i])) lo = x[i] < lo ? x[i] : lo, hi = x[i] > hi ? x[i] : hi;
    if (!(lo <= hi)) return;
  }
  cover(h, lo, hi);
  const float inv_w = (float)(1.0 / h->width); /* a power of two in [2^-107, 2^100] */
  int32_t k[BLOCK];
  int64_t added = 0;
  for (int64_t i = 0; i < n; i += BLOCK) {
    const int m = n - i < BLOCK ? (int)(n - i) : BLOCK;
    added += cells_of(x + i, m, lo, hi, inv_w, (int32_t)h->first, QCC_HIST_BINS, k, masked);
    count_cells(h, k, m);
  }
  h->total += (double)added;
}

void qcc_hist_add_minmax(qcc_histogram *h, const float *x, int64_t n, float *lo_out, float *hi_out) {
  float lo = INFINITY, hi = -INFINITY;
  int64_t i = 0;
  if (h->width > 0) { /* blocks inside the range so far: one pass each */
    const float inv_w = (float)(1.0 / h->width), hlo = (float)h->lo, hhi = (float)h->hi;
    int32_t k[BLOCK];
    for (float a, b; i < n; i += BLOCK) {
      const int m = n - i < BLOCK ? (int)(n - i) : BLOCK;
      if (!cells_inside(x + i, m, hlo, hhi, inv_w, (int32_t)h->first, k, &a, &b)) break;
      count_cells(h, k, m);
      h->total += m;
      lo = a < lo ? a : lo;
      hi = b > hi ? b : hi;
    }
  }
  if (i < n) { /* from the first block that is not */
    float a, b;
    add_any(h, x + i, n - i, &a, &b);
    lo = a < lo ? a : lo;
    hi = b > hi ? b : hi;
  }
  *lo_out = lo;
  *hi_out = hi;
}

/* cover() makes h's width the one of the union of both ranges, which is
 * at least o's (a width only depends on its range, and grows with it); o's
 * cells then merge into h's as in cover (floor_shift), into the spilled
 * counts. */
void qcc_hist_merge(qcc_histogram *h, const qcc_histogram *o) {
  if (!(o->width > 0)) return; /* no finite values */
  cover(h, o->lo, o->hi);
  if (!h->spilled) h->spilled = calloc(QCC_HIST_BINS, sizeof(double));
  const int d = ilogb(h->width) - ilogb(o->width);
  for (int64_t k = lo_cell(o), end = hi_cell(o); k <= end; k++)
    h->spilled[floor_shift(o->first + k, d) - h->first] += qcc_hist_count(o, k);
  h->total += o->total;
}

void qcc_hist_percentile_range(const qcc_histogram *h, double p, double *lo, double *hi) {
  *lo = h->lo;
  *hi = h->hi;
  if (!(h->width > 0)) return;
  const int64_t first = lo_cell(h), last = hi_cell(h);
  const double cut = h->total * (100.0 - p) / 200.0;
  double acc = 0;
  int64_t a = first, b = last + 1;
  while (a < last && acc + qcc_hist_count(h, a) <= cut) acc += qcc_hist_count(h, a++);
  acc = 0;
  while (b > a + 1 && acc + qcc_hist_count(h, b - 1) <= cut) acc += qcc_hist_count(h, --b);
  *lo = fmax(qcc_hist_edge(h, a), h->lo);
  *hi = fmin(qcc_hist_edge(h, b), h->hi);
}

/* Expected squared error of quantizing values v[i] (weights c[i]) with
 * range [lo, hi] (0 included) on 2^bits levels, as the quantize pass
 * would: q = clamp(round(v / s) + z) (round half away from zero), error
 * v - s (q - z). As qmin - z and qmax - z are integers, clamping v / s to
 * them before rounding gives the same q - z, and keeps the rounding to
 * small numbers: trunc by a conversion to int32, then up when the
 * fraction is at least one half (exact). This loop runs 71 times per
 * histogram. */
/* The step s of range [lo, hi] (0 included) on 2^bits levels, and the
 * codes' bounds qmin - z and qmax - z; false for an empty range. */
static bool steps_of(double lo, double hi, int bits, double *s, double *below, double *above) {
  if (lo > 0) lo = 0;
  if (hi < 0) hi = 0;
  const double qmin = -(1 << (bits - 1)), qmax = (1 << (bits - 1)) - 1;
  *s = (hi - lo) / (qmax - qmin);
  if (!(*s > 0)) return false;
  double z = round(qmin - lo / *s);
  z = z < qmin ? qmin : z > qmax ? qmax : z;
  *below = qmin - z;
  *above = qmax - z;
  return true;
}

#if defined(QCC_VEC)
/* quant_mse's vector steps, one body for 8 and 4 cells: vb##W, va##W,
 * vinv##W, vs##W, half##W, one##W broadcast below, above, inv_s, s, 0.5
 * and 1 to D (W lanes of double); QCC_MSE_TERMS declares P, the terms
 * c[i] (v[i] - s r)^2 of cells i..i+W-1, each lane the scalar loop's
 * steps (L and I: the int64 and int32 vectors of W lanes). */
#define QCC_MSE_BROADCASTS(D, W)                                                                     \
  const D vb##W = below - (D){0}, va##W = above - (D){0}, vinv##W = inv_s - (D){0}, vs##W = s - (D){0}, \
          half##W = 0.5 - (D){0}, one##W = 1 - (D){0}
#define QCC_MSE_TERMS(D, L, I, W, P)                                                                 \
  D P;                                                                                               \
  {                                                                                                  \
    D x, w;                                                                                          \
    memcpy(&x, v + i, sizeof x);                                                                     \
    memcpy(&w, c + i, sizeof w);                                                                     \
    D y = x * vinv##W;                                                                               \
    y = (D)(((y < vb##W) & (L)vb##W) | (~(y < vb##W) & (L)y));                                       \
    y = (D)(((y > va##W) & (L)va##W) | (~(y > va##W) & (L)y));                                       \
    const D t = __builtin_convertvector(__builtin_convertvector(y, I), D); /* toward zero */          \
    const D f = y - t;                                                     /* exact */               \
    const D r = t + (D)((f >= half##W) & (L)one##W) - (D)((f <= -half##W) & (L)one##W);              \
    const D d = x - vs##W * r;                                                                       \
    P = w * d * d;                                                                                   \
  }
#endif

/* quant_mse, or INFINITY as soon as the error is sure to exceed `stop`
 * (the best candidate so far: then it cannot win, and scoring the rest
 * of the cells is wasted; two thirds of digits_transformer's candidates
 * lose). Every term is >= 0, so a lane's sum only grows as terms are
 * added (rounding is monotonic), and so does the total: the total of the
 * sums so far is a lower bound of the result. So is that plus the terms
 * of the cells clamped at the top (the last cells; the very terms the
 * loop will add, summed in another order) while none of them is summed
 * yet, but for rounding: less than 4096 ulps of relative error on sums of
 * non-negative terms, far inside the 1e-9 margin. The result, when
 * returned, is bit for bit the full score. */
QCC_CLONES static double quant_mse(const double *v, const double *c, int m, double lo, double hi, int bits,
                                   double stop) {
  double s, below, above;
  if (!steps_of(lo, hi, bits, &s, &below, &above)) return 0;
  const double inv_s = 1.0 / s, limit = stop * (1 + 1e-9);
  int top = m; /* cells top.. are clamped at the top */
  double top_terms = 0;
  if (limit < INFINITY)
    for (; top > 0 && v[top - 1] * inv_s > above; top--)
      top_terms += c[top - 1] * (v[top - 1] - s * above) * (v[top - 1] - s * above);
  double e = 0;
  int i = 0;
#if defined(QCC_VEC)
  /* 8 cells a step, their terms added to the 4 sums as two steps of 4
   * (cells i..i+3, then i+4..i+7): each sum takes every 4th cell in
   * order, as a 4-cell loop would (the same bits), with half the
   * instructions. Then 4 cells a step. */
  QCC_MSE_BROADCASTS(qcc_d8, 8);
  QCC_MSE_BROADCASTS(qcc_d4, 4);
  qcc_d4 ve = {0};
  for (int chunk_end = 0; i + 8 <= m; chunk_end += 64) {
    if (i > 0 && (ve[0] + ve[1]) + (ve[2] + ve[3]) + (i <= top ? top_terms : 0) > limit) return INFINITY;
    for (; i + 8 <= m && i < chunk_end + 64; i += 8) {
      QCC_MSE_TERMS(qcc_d8, qcc_l8, qcc_i8, 8, p);
      qcc_d4 p_lo, p_hi;
      memcpy(&p_lo, &p, sizeof p_lo);
      memcpy(&p_hi, (const char *)&p + sizeof p_lo, sizeof p_hi);
      ve += p_lo;
      ve += p_hi;
    }
  }
  for (; i + 4 <= m; i += 4) {
    QCC_MSE_TERMS(qcc_d4, qcc_l4, qcc_i4v, 4, p);
    ve += p;
  }
  e = (ve[0] + ve[1]) + (ve[2] + ve[3]);
#endif
  for (; i < m; i++) {
    double y = v[i] * inv_s;
    y = y < below ? below : y > above ? above : y;
    const double t = (double)(int32_t)y, f = y - t;
    const double r = t + (f >= 0.5) - (f <= -0.5);
    const double d = v[i] - s * r;
    e += c[i] * d * d;
  }
  return e;
}

/* The part of quant_mse from the values beyond the codes' ends (clamped):
 * the same terms, so never more than quant_mse (but for rounding). v is
 * ascending. */
static double clip_mse(const double *v, const double *c, int m, double lo, double hi, int bits) {
  double s, below, above, e = 0;
  if (!steps_of(lo, hi, bits, &s, &below, &above)) return 0;
  const double inv_s = 1.0 / s;
  for (int i = m - 1; i >= 0 && v[i] * inv_s > above; i--) e += c[i] * (v[i] - s * above) * (v[i] - s * above);
  for (int i = 0; i < m && v[i] * inv_s < below; i++) e += c[i] * (v[i] - s * below) * (v[i] - s * below);
  return e;
}

/* The occupied cells' centres v[] (clamped to the values' range: an end
 * cell may reach past it) and counts c[], ascending, empty cells left out;
 * returns how many. */
static int occupied_cells(const qcc_histogram *h, double *v, double *c) {
  if (!(h->width > 0)) return 0;
  int m = 0;
  const double *spilled = h->spilled;
  for (int64_t k = lo_cell(h), end = hi_cell(h); k <= end; k++) {
    /* qcc_hist_count, inline and without a branch (empty or not is
     * unpredictable: a mispredicted branch per cell cost as much as
     * scoring the candidates) */
    uint32_t sets = 0;
    for (int j = 0; j < QCC_HIST_SETS; j++) sets += h->sets[k][j];
    const double n = (spilled ? spilled[k] : 0) + (double)sets;
    const double centre = qcc_hist_edge(h, k) + 0.5 * h->width;
    v[m] = centre < h->lo ? h->lo : centre > h->hi ? h->hi : centre;
    c[m] = n;
    m += n != 0;
  }
  return m;
}

double qcc_hist_range_mse(const qcc_histogram *h, int bits, double lo, double hi) {
  double v[QCC_HIST_BINS], c[QCC_HIST_BINS];
  const int m = occupied_cells(h, v, c);
  return quant_mse(v, c, m, lo, hi, bits, INFINITY);
}

void qcc_hist_mse_range(const qcc_histogram *h, int bits, double *lo, double *hi) {
  double v[QCC_HIST_BINS], c[QCC_HIST_BINS];
  const int m = occupied_cells(h, v, c);
  double best = INFINITY;
  *lo = h->lo;
  *hi = h->hi;
  for (int j = 0; j <= 70 && m > 0; j++) {
    const double r = 1.0 - 0.01 * j;
    /* As r shrinks, z stays (lo / s does not depend on r) and the codes'
     * ends s (qmin - z), s (qmax - z) move in with r: the clipped values'
     * error only grows. Once it alone is above the best, so is every
     * smaller r's whole error (the margin: rounding of the sums). */
    if (clip_mse(v, c, m, r * h->lo, r * h->hi, bits) > best * (1 + 1e-9)) break;
    const double e = quant_mse(v, c, m, r * h->lo, r * h->hi, bits, best);
    if (e < best) {
      best = e;
      *lo = r * h->lo;
      *hi = r * h->hi;
    }
  }
}
