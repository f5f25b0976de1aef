/* smooth.c - per-channel smoothing (SmoothQuant, Xiao et al. 2023): a
 * linear layer's input channel j is divided by s_j and its weight row j
 * multiplied by s_j, so the product is unchanged while the activation's
 * outlier channels shrink (and the weights, quantized per output channel,
 * take the difference). 1/s is folded where the input is produced:
 *  - a norm over the last axis whose output only linear layers read
 *    (possibly through ops that move whole rows or keep the last axis):
 *    gamma <- gamma / s, beta <- beta / s;
 *  - a constant-weight matmul (or the linear factor of a gated product,
 *    SwiGLU's up projection) read by one linear layer: its columns / s.
 * With --rotate the rotate pass applies the same scales in the rotated
 * basis (rotate.c); without it, qcc_pass_smooth does so in the model's own.
 * Invariant: the float function is unchanged up to rounding. */
#include "smooth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "qrt.h"
#include "quant_options.h"
#include "rotate.h"
#include "weight_algebra.h"

/* --smooth auto leaves a layer alone when fewer calibration rows than
 * this reach it: its per-channel maxima come from a handful of rows (a
 * classifier head reading one pooled vector per sample), the error
 * estimate favours scales fitted to them, and held-out inputs lose
 * (an unseen ConvNeXt's head, 16 rows: calibration set 35.0 -> 35.4 dB,
 * held-out 29.7 -> 19.2 dB). */
#define SMOOTH_AUTO_MIN_ROWS 64

/* The expected squared error of the readers' outputs when x / s and
 * diag(s) W are quantized (per tensor, levels_x steps over x's range; per
 * output channel, levels_w steps each side), each rounding error uniform
 * over its step: activations sum_j step_x^2 / 12 * s_j^2 |W_j|^2, weights
 * sum_n step_n^2 / 12 * sum_j E[x_j^2] / s_j^2. */
static double smoothing_error(const qcc_chan_stats *xs, const qcc_mat *w, int n_mm, const double *s, double levels_x,
                              double levels_w) {
  const int64_t d = xs->d;
  double xmax = 0, err = 0;
  for (int64_t j = 0; j < d; j++) xmax = fmax(xmax, xs->absmax[j] / s[j]);
  double step_x = levels_x > 0 ? 2 * xmax / levels_x : 0;
  for (int i = 0; i < n_mm; i++) {
    double x2_over_s2 = 0;
    for (int64_t j = 0; j < d; j++) x2_over_s2 += xs->sq[j] / fmax(xs->n_rows, 1) / (s[j] * s[j]);
    for (int64_t n = 0; n < w[i].c; n++) {
      double wmax = 0;
      for (int64_t j = 0; j < d; j++) wmax = fmax(wmax, fabs(s[j] * w[i].v[j * w[i].c + n]));
      double step_w = wmax / levels_w;
      err += step_w * step_w / 12 * x2_over_s2;
    }
    for (int64_t j = 0; j < d; j++)
      for (int64_t n = 0; n < w[i].c; n++) {
        double sw = s[j] * w[i].v[j * w[i].c + n];
        err += step_x * step_x / 12 * sw * sw;
      }
  }
  return err;
}

/* s_j = max|x_j|^a / max_n |W_jn|^(1-a), clamped to [1e-5, 1e5]. */
static void scales_for(const double *xmax, const double *wmax, int64_t d, double a, double *s) {
  for (int64_t j = 0; j < d; j++) {
    double sj = pow(fmax(xmax[j], 1e-8), a) / pow(fmax(wmax[j], 1e-8), 1 - a);
    s[j] = sj < 1e-5 ? 1e-5 : sj > 1e5 ? 1e5 : sj;
  }
}

double qcc_smoothing_scales(const qcc_chan_stats *xs, MlirOperation *mms, int n_mm, double *s) {
  const int64_t d = xs->d;
  double *wmax = calloc((size_t)d, sizeof(double));
  qcc_mat *w = calloc((size_t)n_mm, sizeof(qcc_mat));
  for (int i = 0; i < n_mm; i++) {
    w[i] = qcc_mat_read(q_matmul_in(mms[i], 1));
    for (int64_t j = 0; j < d; j++)
      for (int64_t n = 0; n < w[i].c; n++) wmax[j] = fmax(wmax[j], fabs(w[i].v[j * w[i].c + n]));
  }
  double use = qcc_rotate_opts.smooth_alpha;
  if (qcc_rotate_opts.smooth_auto) {
    /* the candidates, and s = 1 (-1 here): smoothing may not pay */
    const qcc_quant_scheme *q = qcc_quant_active_scheme();
    double levels_x = q->act_bits > 0 ? (1 << q->act_bits) - 1 : 0;
    double levels_w = q->weight_format == QRT_WFMT_I4 ? 7 : 127;
    const double alphas[] = {-1, 0.25, 0.4, 0.5, 0.6, 0.75};
    double best = INFINITY;
    for (size_t t = 0; t < sizeof alphas / sizeof alphas[0]; t++) {
      if (alphas[t] < 0) for (int64_t j = 0; j < d; j++) s[j] = 1;
      else scales_for(xs->absmax, wmax, d, alphas[t], s);
      double e = smoothing_error(xs, w, n_mm, s, levels_x, levels_w);
      if (e < best) best = e, use = alphas[t];
    }
  }
  if (use < 0) for (int64_t j = 0; j < d; j++) s[j] = 1;
  else scales_for(xs->absmax, wmax, d, use, s);
  for (int i = 0; i < n_mm; i++) free(w[i].v);
  free(w);
  free(wmax);
  return use;
}

/* The factor of a gated product (or the value itself) produced by a
 * constant-weight matmul used only there: where 1/s can be folded. */
MlirOperation qcc_smoothing_producer(MlirValue x) {
  MlirOperation none = {NULL};
  if (!mlirValueIsAOpResult(x)) return none;
  MlirOperation p = mlirOpResultGetOwner(x);
  MlirValue cands[2];
  int n = 0;
  if (q_matmul_is(p)) cands[n++] = x;
  else if (q_binary_is(p) && !strcmp(q_binary_get(p).kind.s, "mul")) cands[n++] = q_binary_in(p, 1), cands[n++] = q_binary_in(p, 0);
  for (int i = 0; i < n; i++) {
    MlirOpOperand u = mlirValueGetFirstUse(cands[i]);
    if (!mlirValueIsAOpResult(cands[i]) || mlirOpOperandIsNull(u) || !mlirOpOperandIsNull(mlirOpOperandGetNextUse(u)))
      continue;
    MlirOperation mm = mlirOpResultGetOwner(cands[i]);
    qcc_shape xs, ys;
    qcc_shape_of(cands[i], &ys);
    qcc_shape_of(x, &xs);
    if (q_matmul_is(mm) && qcc_value_is_constant(q_matmul_in(mm, 1)) && ys.rank == xs.rank &&
        ys.dims[ys.rank - 1] == xs.dims[xs.rank - 1] && (mlirValueIsNull(q_matmul_in(mm, 2)) || qcc_value_is_constant(q_matmul_in(mm, 2))))
      return mm;
  }
  return none;
}

/* The readers of a norm's output h: constant-weight matmuls, reached
 * through ops that commute with a per-channel scale of the last axis. False
 * (and *why names the op) when anything else reads it. */
static bool norm_readers(MlirValue h, int64_t d, MlirOperation *mms, int *n, char *why, size_t cap) {
  for (MlirOpOperand u = mlirValueGetFirstUse(h); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
    MlirOperation user = mlirOpOperandGetOwner(u);
    if (q_matmul_is(user) && mlirValueEqual(q_matmul_in(user, 0), h) && qcc_value_is_constant(q_matmul_in(user, 1)) &&
        (mlirValueIsNull(q_matmul_in(user, 2)) || qcc_value_is_constant(q_matmul_in(user, 2)))) {
      qcc_shape w;
      qcc_shape_of(q_matmul_in(user, 1), &w);
      if (w.rank == 2 && w.dims[0] == d && w.dtype == QRT_F32 && *n < QCC_STREAM_MAX) {
        mms[(*n)++] = user;
        continue;
      }
    }
    if (qcc_commutes_after_norm(user, d)) {
      if (!norm_readers(mlirOperationGetResult(user, 0), d, mms, n, why, cap)) return false;
      continue;
    }
    char at[256];
    snprintf(why, cap, "%s reads its output and is not a linear layer with a constant weight", qcc_op_where(user, at, sizeof at));
    return false;
  }
  return *n > 0;
}

typedef struct smooth_site {
  MlirOperation source;               /* the q.norm, or the producing matmul */
  MlirValue x;                        /* the smoothed value */
  MlirOperation mms[QCC_STREAM_MAX];  /* its readers */
  int n_mm;
} smooth_site;

/* 1/s into the site's source: a norm's gain and bias, or a matmul's
 * columns and bias. */
static void fold_inverse(const smooth_site *site, const double *s, int64_t d) {
  MlirOperation src = site->source;
  int n_ops = q_norm_is(src) ? (q_norm_num_in(src, 2) ? 3 : 2) : (mlirValueIsNull(q_matmul_in(src, 2)) ? 2 : 3);
  for (int idx = 1; idx < n_ops; idx++) {
    qcc_mat m = qcc_mat_read(mlirOperationGetOperand(src, idx));
    for (int64_t r = 0; r < m.r; r++)
      for (int64_t j = 0; j < d; j++) m.v[r * d + j] /= s[j];
    qcc_mat_write(src, idx, &m);
    free(m.v);
  }
}

int qcc_pass_smooth(MlirModule m) {
  if (qcc_rotate_opts.smooth_alpha < 0 || qcc_rotate_opts.kind != QCC_ROT_NONE) return 0;
  if (!qcc_quant_opts.calib_path)
    return qcc_error("--smooth needs calibration data (the channels' maxima): give --calib DIR"), -1;
  static smooth_site sites[QCC_STREAM_MAX];
  int n_sites = 0;
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op) && n_sites < QCC_STREAM_MAX;
       op = mlirOperationGetNextInBlock(op)) {
    smooth_site *site = &sites[n_sites];
    site->n_mm = 0;
    char at[256], why[400];
    if (q_norm_is(op)) {
      qcc_shape x;
      qcc_shape_of(q_norm_in(op, 0), &x);
      if (q_norm_get(op).axis != x.rank - 1 || x.dtype != QRT_F32 || !qcc_value_is_constant(q_norm_in(op, 1)) ||
          (q_norm_num_in(op, 2) && !qcc_value_is_constant(q_norm_in(op, 2))))
        continue;
      site->source = op;
      site->x = mlirOperationGetResult(op, 0);
      if (norm_readers(site->x, x.dims[x.rank - 1], site->mms, &site->n_mm, why, sizeof why)) n_sites++;
      else qcc_remark("smooth: %s not smoothed: %s", qcc_op_where(op, at, sizeof at), why);
    } else if (q_matmul_is(op) && qcc_value_is_constant(q_matmul_in(op, 1))) {
      /* a linear layer whose only input producer can take 1/s */
      MlirValue x = q_matmul_in(op, 0);
      MlirOpOperand u = mlirValueGetFirstUse(x);
      qcc_shape w;
      qcc_shape_of(q_matmul_in(op, 1), &w);
      if (w.rank != 2 || !mlirOpOperandIsNull(mlirOpOperandGetNextUse(u))) continue;
      MlirOperation prod = qcc_smoothing_producer(x);
      if (mlirOperationIsNull(prod)) continue;
      site->source = prod;
      site->x = x;
      site->mms[site->n_mm++] = op;
      n_sites++;
    }
  }
  if (!n_sites) {
    qcc_warning("--smooth: nothing smoothed: no linear layer reads only a norm's output or a linear layer that could "
                "take 1/s (-v says why for each norm)");
    return 0;
  }
  qcc_calib_set calib = {0, 0, NULL};
  if (qcc_calib_load_for(m, qcc_quant_opts.calib_path, &calib)) return -1;
  qcc_chan_stats_set st = {{0}};
  qcc_ptr_map_init(&st.by_value);
  for (int i = 0; i < n_sites; i++) qcc_chan_stats_want(&st, sites[i].x, false);
  int rc = qcc_chan_stats_run(m, &calib, &st);
  for (int i = 0; i < n_sites && !rc; i++) {
    smooth_site *site = &sites[i];
    const qcc_chan_stats *xs = qcc_chan_stats_want(&st, site->x, false);
    const int64_t d = xs->d;
    if (qcc_rotate_opts.smooth_auto && xs->n_rows < SMOOTH_AUTO_MIN_ROWS) {
      char at[256];
      qcc_remark("smooth: %s: left as is (--smooth auto: %.0f calibration rows reach it, fewer than %d: too few to "
                 "estimate each channel's maximum; --smooth ALPHA smooths it anyway)",
                 qcc_op_where(site->source, at, sizeof at), xs->n_rows, SMOOTH_AUTO_MIN_ROWS);
      continue;
    }
    double *s = malloc(sizeof(double) * (size_t)d), *diag = calloc((size_t)(d * d), sizeof(double));
    double alpha = qcc_smoothing_scales(xs, site->mms, site->n_mm, s);
    if (alpha < 0) {
      char at[256];
      qcc_remark("smooth: %s: left as is (--smooth auto: no migration strength lowers the estimated error)",
                 qcc_op_where(site->source, at, sizeof at));
      free(s);
      free(diag);
      continue;
    }
    fold_inverse(site, s, d);
    for (int64_t j = 0; j < d; j++) diag[j * d + j] = s[j];
    for (int r = 0; r < site->n_mm; r++) qcc_reader_left(site->mms[r], diag);
    double lo = INFINITY, hi = 0;
    for (int64_t j = 0; j < d; j++) lo = fmin(lo, s[j]), hi = fmax(hi, s[j]);
    char at[256];
    qcc_remark("smooth: %s: %d linear layer%s smoothed over %lld channels (alpha %.2g, scales %.3g to %.3g)",
               qcc_op_where(site->source, at, sizeof at), site->n_mm, site->n_mm == 1 ? "" : "s", (long long)d, alpha, lo,
               hi);
    free(s);
    free(diag);
  }
  qcc_chan_stats_free(&st);
  qcc_calib_free(&calib);
  return rc;
}
