/* quant_weights.c - weight codes and scales (see quant_weights.h). The
 * format table is the runtime's, so compiler and kernels agree on every
 * format's code range and name. */
#include "quant_weights.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gptq.h"
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

/* nearbyint in the default rounding mode (to nearest, ties to even),
 * without the library call the baseline x86-64 ISA needs for it: adding
 * and subtracting 1.5 * 2^52 leaves the rounded value for |v| < 2^51. */
static double round_even(double v) {
#if FLT_EVAL_METHOD == 0 /* not with x87's wider intermediates */
  const double magic = 6755399441055744.0;
  return fabs(v) < 2251799813685248.0 ? (v + magic) - magic : nearbyint(v);
#else
  return nearbyint(v);
#endif
}

/* Squared error of quantizing w[0..n) with `step`: the sum, in index
 * order, of (w - step v)^2, v = clamp(round_even(w / step)).  The step
 * searches below compare these sums for dozens of steps per group or
 * channel (most of qcc's compile time on an LLM), so they are computed
 * faster, to the same bits, by step_errors; this is its reference. */
static double rounding_error(const float *w, int64_t n, double step, int32_t cmin, int32_t cmax) {
  double e = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = round_even(w[i] / step);
    v = v < cmin ? cmin : v > cmax ? cmax : v;
    e += (w[i] - step * v) * (w[i] - step * v);
  }
  return e;
}

/* rounding_error of w[0..n) for up to LANES steps at once (m of them),
 * each lane summed in index order as there: independent sums, no
 * reassociation, and the lanes keep the FPU busy where one sum waits on
 * its previous add.  The division becomes a multiplication by 1/step: q =
 * w * inv is within a few units in the last place of w / step, so both
 * round to the same integer unless q lies within ~1e-9 of a
 * half-integer; a lane where that happens (or q is NaN or beyond 2^51) is
 * recomputed by rounding_error.  The clamp tests q itself: with integer
 * ends, q < cmin exactly when the clamped code is cmin (and so for cmax).
 * Lanes stop early, all together, once every sum has reached `bound`: the
 * terms are >= 0, so a partial sum never exceeds the full one, and a
 * search that keeps a step only when its error is below the best so far
 * cannot be changed by that.  (qrt.h turns FP contraction off here, so no
 * fused multiply-add makes the two paths differ.) */
enum { LANES = 4, VEC = 2 }; /* VEC doubles: SSE2, in every x86-64 */
typedef double vec_d __attribute__((vector_size(VEC * sizeof(double))));
typedef int64_t vec_i __attribute__((vector_size(VEC * sizeof(double))));

static vec_d select_d(vec_i mask, vec_d a, vec_d b) { return (vec_d)((mask & (vec_i)a) | (~mask & (vec_i)b)); }

static void step_errors(const float *w, int64_t n, const double *step, int m, int32_t cmin, int32_t cmax, double bound,
                        double *e) {
  enum { NV = LANES / VEC };
  const double magic = 6755399441055744.0; /* round_even's, exact for |q| < 2^51 (larger q: odd) */
  const vec_d lo = (vec_d){0} + cmin, hi = (vec_d){0} + cmax;
  vec_d st[NV] = {{0}}, inv[NV] = {{0}}, acc[NV];
  vec_i odd[NV];
  for (int j = 0; j < NV; j++) {
    acc[j] = (vec_d){0};
    odd[j] = (vec_i){0};
    for (int k = 0; k < VEC; k++) {
      st[j][k] = step[j * VEC + k < m ? j * VEC + k : 0];
      inv[j][k] = 1.0 / st[j][k];
    }
  }
  for (int64_t i = 0; i < n;) {
    for (int64_t end = i + 16 < n ? i + 16 : n; i < end; i++) {
      const double x = w[i];
      for (int j = 0; j < NV; j++) {
        const vec_d q = x * inv[j], r = (q + magic) - magic, h = q - r;
        odd[j] |= ~(h * h < 0.25 - 1e-9); /* |h| within ~1e-9 of 1/2, or NaN */
        const vec_d d = x - st[j] * select_d(q < lo, lo, select_d(q > hi, hi, r));
        acc[j] += d * d;
      }
    }
    bool done = true;
    for (int k = 0; k < m; k++) done &= acc[k / VEC][k % VEC] >= bound;
    if (done) break;
  }
  for (int k = 0; k < m; k++)
    e[k] = odd[k / VEC][k % VEC] ? rounding_error(w, n, st[k / VEC][k % VEC], cmin, cmax) : acc[k / VEC][k % VEC];
}

/* The search of quantize_rtn: the first of steps[0..n) (decreasing) with
 * the least rounding_error of w[0..len), or -1 when none is below
 * INFINITY.  Clipping only grows from one step to the next, and the error
 * of the elements clipped at a step (w > cmax step or w < cmin step: their
 * code is the end of the range) is a lower bound of its whole error and of
 * every later step's; once it reaches the best error, the search is over.
 * `big` holds the elements the last step clips (a few per group), so the
 * bound costs little.  It is summed in another order than rounding_error,
 * so it is trusted only with a margin (1e-9 relative, far above the 1e-13
 * that rounding can move sums of some thousand terms).  The result is the
 * one trying every step with rounding_error gives. */
static int least_error_step(const float *w, int64_t len, const double *steps, int n, const float *big, int64_t nbig,
                            int32_t cmin, int32_t cmax) {
  double best = INFINITY;
  int found = -1;
  for (int j = 0; j < n;) {
    int m = 0;
    bool stop = false;
    for (; m < LANES && j + m < n && !stop; m++) {
      double clip = 0, t = steps[j + m];
      for (int64_t i = 0; i < nbig; i++) {
        double d = big[i] > cmax * t ? big[i] - cmax * t : big[i] < cmin * t ? big[i] - cmin * t : 0;
        clip += d * d;
      }
      if (clip * (1 - 1e-9) >= best) stop = true, m--;
    }
    double e[LANES];
    if (m > 0) step_errors(w, len, steps + j, m, cmin, cmax, best, e);
    for (int k = 0; k < m; k++)
      if (e[k] < best) best = e[k], found = j + k;
    if (stop) break;
    j += m;
  }
  return found;
}

/* The elements of w[0..n) that `step` clips, into big; returns their count. */
static int64_t clipped(const float *w, int64_t n, double step, int32_t cmin, int32_t cmax, float *big) {
  int64_t k = 0;
  for (int64_t i = 0; i < n; i++)
    if (w[i] > cmax * step || w[i] < cmin * step) big[k++] = w[i];
  return k;
}

/* Element (channel c, input i) of the weights in either layout. */
static int64_t at(const qcc_qweights *q, bool column_major, int64_t c, int64_t i) {
  return column_major ? i * q->channels + c : c * q->per + i;
}

/* Step of channel c's group g: the real weight is step * code. */
static double step_of(const qcc_qweights *q, int64_t c, int64_t g) {
  return (double)q->scales[c] * (q->gmult ? q->gmult[g * q->channels + c] : 1);
}

/* Scales, group multipliers and round-to-nearest codes (see the header). */
static void quantize_rtn(const float *w, bool column_major, qcc_qweights *q) {
  int32_t cmin, cmax;
  qcc_wformat_range(q->format, &cmin, &cmax);
  const int64_t channels = q->channels, per = q->per, group = q->group;
  const int64_t ng = group ? (per + group - 1) / group : 1;
  /* channel c's elements, gathered: the step searches below read them
   * dozens of times, and a column of a row-major [K, N] is strided */
  float *wc = malloc(sizeof(float) * (size_t)(per ? per : 1)), *big = malloc(sizeof(float) * (size_t)(per ? per : 1));
  for (int64_t c = 0; c < channels; c++) {
    for (int64_t i = 0; i < per; i++) wc[i] = w[at(q, column_major, c, i)];
    double amax = 0;
    for (int64_t i = 0; i < per; i++) amax = fmax(amax, fabs(wc[i]));
    double s = 1.0;
    if (amax > 0 && group) {
      s = (float)(amax / (cmax * 255.0));
    } else if (amax > 0) {
      /* MSE-optimal clipping: the step among amax * r / code_max, r in
       * [0.5, 1] by 0.01, with the least squared rounding error */
      double steps[51];
      for (int j = 0; j <= 50; j++) steps[j] = (float)(amax * (1.0 - 0.01 * j) / cmax);
      int j = least_error_step(wc, per, steps, 51, big, clipped(wc, per, steps[50], cmin, cmax, big), cmin, cmax);
      if (j >= 0) s = steps[j];
    }
    q->scales[c] = (float)s;
    for (int64_t g = 0; g < ng; g++) {
      const int64_t i0 = g * (group ? group : per), i1 = group && i0 + group < per ? i0 + group : per;
      double step = s;
      if (group) {
        /* the group multiplier u covering the group's max, or a smaller one
         * (clipping) when that lowers the group's squared error */
        double gmax = 0, steps[255];
        for (int64_t i = i0; i < i1; i++) gmax = fmax(gmax, fabs(wc[i]));
        int u0 = (int)ceil(gmax / (cmax * s) - 1e-9), ubest = 1, n = 0;
        u0 = u0 < 1 ? 1 : u0 > 255 ? 255 : u0;
        for (int u = u0; u >= 1 && u * 2 >= u0; u--) steps[n++] = s * u;
        int j = least_error_step(wc + i0, i1 - i0, steps, n, big,
                                 clipped(wc + i0, i1 - i0, steps[n - 1], cmin, cmax, big), cmin, cmax);
        if (j >= 0) ubest = u0 - j;
        q->gmult[g * channels + c] = (uint8_t)ubest;
        step = s * ubest;
      }
      for (int64_t i = i0; i < i1; i++) {
        double v = round_even(wc[i] / step);
        v = v < cmin ? cmin : v > cmax ? cmax : v;
        q->codes[at(q, column_major, c, i)] = (int8_t)v;
      }
    }
  }
  free(wc);
  free(big);
}

/* Replaces the round-to-nearest codes by GPTQ's for the same steps, and
 * measures both against the Hessian.  GPTQ works on W [channels, per]
 * (rows = output channels), whatever the layout of w. */
static bool quantize_gptq(const float *w, bool column_major, const double *H, qcc_qweights *q, char *err,
                          size_t err_cap) {
  const int64_t N = q->channels, K = q->per, G = q->group ? q->group : K, ng = (K + G - 1) / G;
  double *W = malloc(sizeof(double) * (size_t)(N * K)), *S = malloc(sizeof(double) * (size_t)(N * ng));
  int8_t *rtn = malloc((size_t)(N * K)), *codes = malloc((size_t)(N * K)), *zero = calloc((size_t)(N * K), 1);
  bool ok = W && S && rtn && codes && zero;
  if (!ok) snprintf(err, err_cap, "GPTQ: out of memory (%lld x %lld weights)", (long long)N, (long long)K);
  for (int64_t c = 0; ok && c < N; c++) {
    for (int64_t i = 0; i < K; i++) {
      W[c * K + i] = w[at(q, column_major, c, i)];
      rtn[c * K + i] = q->codes[at(q, column_major, c, i)];
    }
    for (int64_t g = 0; g < ng; g++) S[c * ng + g] = step_of(q, c, g);
  }
  qcc_wquant grid = {N, K, G, S, 0, 0};
  qcc_wformat_range(q->format, &grid.qmin, &grid.qmax);
  if (ok) ok = qcc_gptq(&grid, W, H, NULL, codes, NULL, err, err_cap);
  if (ok) {
    /* all-zero codes make the loss the signal tr(W H W^T) */
    const double signal = qcc_wquant_loss(&grid, W, zero, H);
    const double l_rtn = qcc_wquant_loss(&grid, W, rtn, H), l_gptq = qcc_wquant_loss(&grid, W, codes, H);
    q->rtn_output_sqnr_db = l_rtn > 0 ? 10 * log10(signal / l_rtn) : INFINITY;
    q->output_sqnr_db = l_gptq > 0 ? 10 * log10(signal / l_gptq) : INFINITY;
    for (int64_t c = 0; c < N; c++)
      for (int64_t i = 0; i < K; i++) q->codes[at(q, column_major, c, i)] = codes[c * K + i];
    q->gptq = true;
  }
  free(W);
  free(S);
  free(rtn);
  free(codes);
  free(zero);
  return ok;
}

/* Column sums and weight SQNR of the chosen codes. */
static void code_stats(const float *w, bool column_major, qcc_qweights *q) {
  const int64_t ng = q->group ? (q->per + q->group - 1) / q->group : 1, G = q->group ? q->group : q->per;
  double signal = 0, noise = 0;
  for (int64_t c = 0; c < q->channels; c++) {
    int64_t sum = 0;
    for (int64_t g = 0; g < ng; g++) {
      const double step = step_of(q, c, g);
      int64_t gsum = 0;
      for (int64_t i = g * G; i < q->per && i < (g + 1) * G; i++) {
        const double x = w[at(q, column_major, c, i)], v = q->codes[at(q, column_major, c, i)];
        gsum += (int64_t)v;
        signal += x * x;
        noise += (x - step * v) * (x - step * v);
      }
      sum += gsum * (q->gmult ? q->gmult[g * q->channels + c] : 1);
    }
    q->colsum[c] = (int32_t)sum;
  }
  q->sqnr_db = noise > 0 ? 10 * log10(signal / noise) : INFINITY;
}

bool qcc_quantize_weights(const float *w, int64_t channels, int64_t per, bool column_major, int format,
                          int64_t group, const double *hessian, qcc_qweights *q, char *err, size_t err_cap) {
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
  q->output_sqnr_db = q->rtn_output_sqnr_db = NAN;
  quantize_rtn(w, column_major, q);
  const bool ok = !hessian || quantize_gptq(w, column_major, hessian, q, err, err_cap);
  code_stats(w, column_major, q);
  return ok;
}

void qcc_qweights_free(qcc_qweights *q) {
  free(q->codes);
  free(q->scales);
  free(q->gmult);
  free(q->colsum);
  memset(q, 0, sizeof *q);
}
