/* gptq.c - GPTQ with static group scales, and round-to-nearest (see
 * gptq.h for the algorithm). */
#include "gptq.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "linalg.h"
#include "simd_clones.h"

qcc_gptq_options qcc_gptq_default_options(void) {
  qcc_gptq_options o = {0.01, 128, false};
  return o;
}

static bool fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(char *err, size_t cap, const char *fmt, ...) {
  if (err && cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
  }
  return false;
}

static int64_t num_groups(const qcc_wquant *q) { return (q->cols + q->group_size - 1) / q->group_size; }

static double group_scale(const qcc_wquant *q, int64_t row, int64_t col) {
  return q->scales[row * num_groups(q) + col / q->group_size];
}

static bool check_grid(const qcc_wquant *q, const double *W, char *err, size_t cap) {
  if (q->rows < 1 || q->cols < 1) return fail(err, cap, "weight quantization: empty %lld x %lld matrix",
                                              (long long)q->rows, (long long)q->cols);
  if (q->group_size < 1 || q->group_size > q->cols)
    return fail(err, cap, "weight quantization: group size %lld not in [1, %lld]", (long long)q->group_size,
                (long long)q->cols);
  if (q->qmin < -128 || q->qmax > 127 || q->qmin >= q->qmax)
    return fail(err, cap, "weight quantization: code range [%d, %d] not within [-128, 127]", (int)q->qmin,
                (int)q->qmax);
  const int64_t ng = num_groups(q);
  for (int64_t i = 0; i < q->rows * ng; i++)
    if (!(q->scales[i] >= 0 && isfinite(q->scales[i])))
      return fail(err, cap, "weight quantization: scale of row %lld group %lld is %g (must be finite, >= 0)",
                  (long long)(i / ng), (long long)(i % ng), q->scales[i]);
  for (int64_t i = 0; i < q->rows * q->cols; i++)
    if (!isfinite(W[i]))
      return fail(err, cap, "weight quantization: W[%lld, %lld] is not finite", (long long)(i / q->cols),
                  (long long)(i % q->cols));
  return true;
}

/* Round half to even, independent of the FP rounding mode (x - floor(x)
 * is exact). */
static double round_half_even(double x) {
  double r = floor(x);
  const double frac = x - r;
  if (frac > 0.5 || (frac == 0.5 && fmod(r, 2.0) != 0.0)) r += 1.0;
  return r;
}

static int32_t quantize(double w, double s, int32_t qmin, int32_t qmax) {
  if (s == 0) return 0;
  const double v = round_half_even(w / s);
  return v < qmin ? qmin : v > qmax ? qmax : (int32_t)v;
}

bool qcc_rtn(const qcc_wquant *q, const double *W, int8_t *codes, char *err, size_t err_cap) {
  if (!check_grid(q, W, err, err_cap)) return false;
  for (int64_t r = 0; r < q->rows; r++)
    for (int64_t c = 0; c < q->cols; c++)
      codes[r * q->cols + c] = (int8_t)quantize(W[r * q->cols + c], group_scale(q, r, c), q->qmin, q->qmax);
  return true;
}

/* LOSS_LANES rows side by side: lane l of et holds row r0 + l's error, so
 * the inner loop runs the rows' independent sums in vector lanes, each in
 * the scalar order (hi_i = sum_j H_ij e_j, then row = sum_i e_i hi_i); the
 * total adds the rows in order, so the bits are those of one row at a time. */
enum { LOSS_LANES = 8 };

QCC_CLONES double qcc_wquant_loss(const qcc_wquant *q, const double *W, const int8_t *codes, const double *H) {
  const int64_t K = q->cols;
  double *et = malloc(sizeof(double) * (size_t)(K > 0 ? K : 1) * LOSS_LANES);
  if (!et) return INFINITY;
  double total = 0;
  for (int64_t r0 = 0; r0 < q->rows; r0 += LOSS_LANES) {
    const int64_t nr = q->rows - r0 < LOSS_LANES ? q->rows - r0 : LOSS_LANES;
    for (int64_t c = 0; c < K; c++)
      for (int64_t l = 0; l < LOSS_LANES; l++) {
        const int64_t r = r0 + l;
        et[c * LOSS_LANES + l] = l < nr ? W[r * K + c] - group_scale(q, r, c) * codes[r * K + c] : 0;
      }
    double row[LOSS_LANES] = {0};
    int64_t i = 0;
    for (; i + 4 <= K; i += 4) { /* four rows of H: four independent chains per lane */
      double hi[4][LOSS_LANES] = {{0}};
      for (int64_t j = 0; j < K; j++) {
        const double *ej = et + j * LOSS_LANES;
        for (int t = 0; t < 4; t++)
          for (int l = 0; l < LOSS_LANES; l++) hi[t][l] += H[(i + t) * K + j] * ej[l];
      }
      for (int t = 0; t < 4; t++)
        for (int l = 0; l < LOSS_LANES; l++) row[l] += et[(i + t) * LOSS_LANES + l] * hi[t][l];
    }
    for (; i < K; i++) {
      double hi[LOSS_LANES] = {0};
      for (int64_t j = 0; j < K; j++)
        for (int l = 0; l < LOSS_LANES; l++) hi[l] += H[i * K + j] * et[j * LOSS_LANES + l];
      for (int l = 0; l < LOSS_LANES; l++) row[l] += et[i * LOSS_LANES + l] * hi[l];
    }
    for (int64_t l = 0; l < nr; l++) total += row[l];
  }
  free(et);
  return total;
}

/* Column order: identity, or by decreasing H_ii with ties by index
 * (insertion sort: stable, and K is at most a few thousand). */
static void column_order(int64_t K, const double *diag, bool act_order, int64_t *perm) {
  for (int64_t i = 0; i < K; i++) {
    int64_t j = i;
    while (act_order && j > 0 && diag[perm[j - 1]] < diag[i]) {
      perm[j] = perm[j - 1];
      j--;
    }
    perm[j] = i;
  }
}

/* U (upper, H^-1 = U^T U) of the permuted, damped Hessian hp (K x K, lower
 * triangle read; overwritten).  false with a message on failure. */
static bool inverse_cholesky_upper(int64_t K, double *hp, double *U, double lambda, char *err, size_t cap) {
  int64_t at = qcc_cholesky(K, hp);
  if (at >= 0)
    return fail(err, cap,
                "GPTQ: the Hessian is not positive definite even after dampening (lambda = %g): Cholesky "
                "pivot %lld of %lld fails; use more calibration samples or a larger damp",
                lambda, (long long)at, (long long)K);
  qcc_lower_inverse(K, hp); /* hp = L^-1 */
  /* H^-1 = L^-T L^-1: lower triangle, (i, j) with j <= i, summed over k >= i. */
  for (int64_t i = 0; i < K * K; i++) U[i] = 0;
  for (int64_t k = 0; k < K; k++)
    for (int64_t i = 0; i <= k; i++) {
      const double lki = hp[k * K + i];
      for (int64_t j = 0; j <= i; j++) U[i * K + j] += lki * hp[k * K + j];
    }
  at = qcc_cholesky(K, U);
  if (at >= 0)
    return fail(err, cap,
                "GPTQ: the inverse Hessian is not numerically positive definite (Cholesky pivot %lld of "
                "%lld fails): the Hessian is too ill-conditioned; use a larger damp",
                (long long)at, (long long)K);
  /* U = L2^T, in place. */
  for (int64_t i = 0; i < K; i++)
    for (int64_t j = i + 1; j < K; j++) {
      U[i * K + j] = U[j * K + i];
      U[j * K + i] = 0;
    }
  return true;
}

bool qcc_gptq(const qcc_wquant *q, const double *W, const double *H, const qcc_gptq_options *opt,
              int8_t *codes, double *loss, char *err, size_t err_cap) {
  const qcc_gptq_options o = opt ? *opt : qcc_gptq_default_options();
  if (!check_grid(q, W, err, err_cap)) return false;
  if (!(o.damp >= 0 && isfinite(o.damp)) || o.block_size < 1)
    return fail(err, err_cap, "GPTQ: invalid options (damp %g, block size %lld)", o.damp,
                (long long)o.block_size);
  const int64_t N = q->rows, K = q->cols;
  for (int64_t i = 0; i < K; i++)
    for (int64_t j = 0; j <= i; j++)
      if (!isfinite(H[i * K + j]))
        return fail(err, err_cap, "GPTQ: Hessian entry (%lld, %lld) is not finite", (long long)i, (long long)j);

  double *hp = malloc(sizeof(double) * (size_t)(K * K)), *U = malloc(sizeof(double) * (size_t)(K * K));
  double *w = malloc(sizeof(double) * (size_t)K), *e = malloc(sizeof(double) * (size_t)K);
  double *acc = malloc(sizeof(double) * (size_t)K), *diag = malloc(sizeof(double) * (size_t)K);
  int64_t *perm = malloc(sizeof(int64_t) * (size_t)K);
  bool ok = hp && U && w && e && acc && diag && perm;
  if (!ok) fail(err, err_cap, "GPTQ: out of memory (K = %lld)", (long long)K);

  if (ok) {
    /* 1. dead columns (H_ii = 0: the input is always 0) get H_ii = 1 and
     *    zero weights, so they decouple and quantize to 0. */
    for (int64_t i = 0; i < K; i++) diag[i] = H[i * K + i] == 0 ? 1.0 : H[i * K + i];
    /* 2. column order. */
    column_order(K, diag, o.act_order, perm);
    /* 3. permuted, damped Hessian (lower triangle). */
    double mean = 0;
    for (int64_t i = 0; i < K; i++) mean += diag[i];
    const double lambda = o.damp * (mean / (double)K);
    for (int64_t i = 0; i < K; i++)
      for (int64_t j = 0; j <= i; j++) {
        const int64_t a = perm[i] > perm[j] ? perm[i] : perm[j], b = perm[i] > perm[j] ? perm[j] : perm[i];
        hp[i * K + j] = i == j ? diag[perm[i]] + lambda : H[a * K + b];
      }
    /* 4. U. */
    ok = inverse_cholesky_upper(K, hp, U, lambda, err, err_cap);
  }

  double total = 0;
  for (int64_t r = 0; ok && r < N; r++) {
    for (int64_t i = 0; i < K; i++) w[i] = H[perm[i] * K + perm[i]] == 0 ? 0.0 : W[r * K + perm[i]];
    /* 5. blocks of columns [i1, i2). */
    for (int64_t i1 = 0; i1 < K; i1 += o.block_size) {
      const int64_t i2 = i1 + o.block_size < K ? i1 + o.block_size : K;
      for (int64_t i = i1; i < i2; i++) {
        const double s = group_scale(q, r, perm[i]);
        const int32_t c = quantize(w[i], s, q->qmin, q->qmax);
        codes[r * K + perm[i]] = (int8_t)c;
        e[i] = (w[i] - s * c) / U[i * K + i];
        total += e[i] * e[i];
        const double *u = U + i * K;
        for (int64_t j = i + 1; j < i2; j++) w[j] -= e[i] * u[j];
      }
      /* Lazy batch: the block's accumulated update of the later columns. */
      for (int64_t j = i2; j < K; j++) acc[j] = 0;
      for (int64_t i = i1; i < i2; i++) {
        const double *u = U + i * K;
        for (int64_t j = i2; j < K; j++) acc[j] += e[i] * u[j];
      }
      for (int64_t j = i2; j < K; j++) w[j] -= acc[j];
    }
  }
  if (ok && loss) *loss = total;
  free(hp);
  free(U);
  free(w);
  free(e);
  free(acc);
  free(diag);
  free(perm);
  return ok;
}
