/* msq.c - the msq pass (--msq): modality-specific static quantization
 * (MSQ, MQuant 2502.00425) of the linear layers of a model whose tokens
 * AIFS (aifs.c) has grouped by modality.
 *
 * In a multimodal sequence one modality's rows (image tokens with massive
 * channels) set a tensor's static range, and every other row is quantized
 * on that coarse grid; per-token dynamic scales fix that at the cost of a
 * reduction and a division per row at run time. MSQ keeps static scales,
 * one set per modality:
 *  1. calibration: the --calib samples run through the (reordered) model;
 *     the input and output of every matmul with a constant [K, N] weight
 *     whose rows are the T tokens get a range per modality (the calibrate
 *     pass's observer: min-max, or percentile / MSE clipping of a
 *     histogram per modality), the
 *     modality of each row read from AIFS's reordered modality input
 *     (qcc.modality) or its static layout (qcc.aifs_modalities);
 *  2. rewrite: each such layer becomes q.msq_quantize (shared by the
 *     layers reading one input with the same parameters) and q.msqmatmul:
 *     weights as -q's scheme
 *     (round to nearest, per channel or int4 groups), and per modality m an
 *     asymmetric activation scale / zero point (the scheme's bits), an int8
 *     output scale / zero point, int32 bias with m's zero point folded in,
 *     and dyadic requantization constants M0 * 2^-shift of
 *     s_a[m] s_w[n] / s_out[m]: integer-only inner loops, as the per-tensor
 *     static layers of quantize.c, with one GEMM per run of rows of one
 *     modality (one per modality after AIFS). Outputs that attention reads
 *     (queries, keys, values) leave as int8 codes of the per-tensor
 *     parameters the quantize pass gives attention's operands, which
 *     attention reads directly, as after a per-tensor layer (attention
 *     itself stays per-tensor static).
 *  3. an elementwise function between two such layers (a GELU read only by
 *     the next layer) becomes an int8 table per modality (msq_lut.c).
 * A modality that no calibration row had falls back to the per-tensor
 * range (qcc.min / qcc.max). Layers the pass leaves alone (other shapes,
 * one range for every modality, where MSQ would be per-tensor static with
 * a slower epilogue, inputs that attention's per-tensor int8 output feeds directly,
 * --keep-float, sums past the exact int32 bound) go on to the quantize
 * pass unchanged. The per-modality ranges stay on the op (qcc.msq_in_min,
 * qcc.msq_in_max, qcc.msq_out_min, qcc.msq_out_max) for --report and -v.
 * Invariant: every row's dequantized input is within s_a[m]/2 of the input
 * clipped to its modality's calibrated range. */
#include "msq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aifs.h"
#include "calib_data.h"
#include "evaluator.h"
#include "name_map.h"
#include "observers.h"
#include "passes.h"
#include "qrt.h"
#include "quant_activations.h"
#include "quant_options.h"
#include "quant_weights.h"

bool qcc_msq_enabled;

enum { QCC_MSQ_MAX_LAYERS = 1024 };

const char qcc_msq_flags_help[] =
    "  --msq                 with --aifs / --aifs-static and -q w8a8, w4a8 or w4a4:\n"
    "                        linear layers get one static activation scale per\n"
    "                        modality (MSQ), calibrated per modality\n";

int qcc_msq_parse_flag(int argc, char **argv, int *i) {
  (void)argc;
  if (strcmp(argv[*i], "--msq")) return 0;
  qcc_msq_enabled = true;
  return 1;
}

int qcc_msq_check_options(void) {
  if (!qcc_msq_enabled) return 0;
  if (!qcc_aifs_enabled())
    return qcc_error("--msq needs --aifs INPUT or --aifs-static NAME=S:E (the modality of each token)"), -1;
  const qcc_quant_scheme *s = qcc_quant_opts.scheme;
  if (!qcc_quantizing() || qcc_quant_opts.allocate || !s || s->act_bits == 0 || s->act_bits == 16 || s->block_format >= 0 ||
      qcc_quant_opts.act_per_token)
    return qcc_error("--msq needs a static integer scheme: -q w8a8, w4a8 or w4a4 without --act-scale token"), -1;
  if (qcc_quant_opts.integer_only) return qcc_error("--msq does not combine with --integer-only"), -1;
  return 0;
}

/* ---- calibration per modality ---- */

typedef struct mod_range {
  double lo[QRT_MSQ_MAX_MODALITIES], hi[QRT_MSQ_MAX_MODALITIES];
  /* the MSE observer's range for 8-bit codes (the layers' int8 outputs)
   * when -q's activations are not 8 bits; empty (lo8 > hi8) otherwise */
  double lo8[QRT_MSQ_MAX_MODALITIES], hi8[QRT_MSQ_MAX_MODALITIES];
  qcc_histogram *hist[QRT_MSQ_MAX_MODALITIES]; /* a clipping observer's */
} mod_range;

typedef struct msq_state {
  qcc_ptr_map ranges;         /* MlirValue.ptr -> mod_range* */
  const void *modality_value; /* the run-time modality vector (NULL: static) */
  int64_t T;
  int *row_mod; /* the current sample's modality index of each row */
  int n_mod;    /* 1 + the largest index seen */
  int sample;
  bool clip; /* histograms per modality (--observer mse or percentile) */
  int n_ranges, n_shared; /* ranges chosen, and of them left per tensor (per_modality_pays) */
  int n_uniform;          /* layers left to the quantize pass: one range for every modality */
  char bad[200]; /* a modality value MSQ cannot use */
} msq_state;

static void read_modalities(msq_state *st, const qcc_array *a) {
  for (int64_t t = 0; t < st->T; t++) {
    /* the types qrt_msq_modality reads (AIFS casts any other to float32) */
    double v = a->dtype == QRT_F32 ? ((const float *)a->data)[t]
               : a->dtype == QRT_F64 ? ((const double *)a->data)[t]
               : a->dtype == QRT_I64 ? (double)((const int64_t *)a->data)[t]
               : a->dtype == QRT_I32 ? (double)((const int32_t *)a->data)[t]
               : a->dtype == QRT_I8  ? (double)((const int8_t *)a->data)[t]
               : a->dtype == QRT_U8  ? (double)((const uint8_t *)a->data)[t]
                                     : NAN;
    if (!(v >= 0 && v < QRT_MSQ_MAX_MODALITIES) || v != floor(v)) {
      if (!st->bad[0])
        snprintf(st->bad, sizeof st->bad, "modality value %g in calibration sample %d (expected integers 0..%d)", v,
                 st->sample, QRT_MSQ_MAX_MODALITIES - 1);
      v = 0;
    }
    st->row_mod[t] = (int)v;
    if ((int)v + 1 > st->n_mod) st->n_mod = (int)v + 1;
  }
}

static void observe(MlirOperation op, MlirValue v, const qcc_array *data, void *user) {
  (void)op;
  msq_state *st = user;
  if (st->modality_value && v.ptr == st->modality_value) {
    read_modalities(st, data);
    return;
  }
  mod_range *r = qcc_ptr_map_get(&st->ranges, v.ptr);
  if (!r || data->dtype != QRT_F32) return;
  int64_t n = qcc_array_numel(data), per = n / st->T;
  const float *x = data->data;
  for (int64_t t = 0; t < st->T; t++) {
    const int m = st->row_mod[t];
    float lo, hi;
    if (st->clip) {
      if (!r->hist[m]) {
        r->hist[m] = qcc_hist_new();
      }
      qcc_hist_add_minmax(r->hist[m], x + t * per, per, &lo, &hi);
    } else {
      qcc_minmax_f32(x + t * per, per, &lo, &hi);
    }
    if (lo < r->lo[m]) r->lo[m] = lo;
    if (hi > r->hi[m]) r->hi[m] = hi;
  }
}

static mod_range *want(msq_state *st, MlirValue v) {
  mod_range *r = qcc_ptr_map_get(&st->ranges, v.ptr);
  if (r) return r;
  r = malloc(sizeof *r);
  for (int m = 0; m < QRT_MSQ_MAX_MODALITIES; m++)
    r->lo[m] = r->lo8[m] = INFINITY, r->hi[m] = r->hi8[m] = -INFINITY, r->hist[m] = NULL;
  qcc_ptr_map_put(&st->ranges, v.ptr, r);
  return r;
}

/* The calibrate pass's choice (qcc_observer_clip), per modality. */
static void clip_ranges(msq_state *st) {
  for (size_t i = 0; i < st->ranges.cap; i++) {
    mod_range *r = st->ranges.vals[i];
    for (int m = 0; st->ranges.keys[i] && r && m < QRT_MSQ_MAX_MODALITIES; m++)
      if (r->hist[m] && r->hist[m]->total > 0)
        qcc_observer_clip(r->hist[m], &r->lo[m], &r->hi[m], &r->lo8[m], &r->hi8[m]);
  }
}

/* True when v comes, through data-movement ops, from a matmul of two
 * run-time values (attention's output): the quantize pass makes that an
 * int8 result of one per-tensor scale, which a per-tensor layer reads as it
 * is; codes per modality would only re-round it. */
static bool from_runtime_matmul(MlirValue v) {
  if (!mlirValueIsAOpResult(v)) return false;
  MlirOperation p = mlirOpResultGetOwner(v);
  if (q_matmul_is(p)) return !qcc_value_is_constant(q_matmul_in(p, 1));
  return qcc_moves_values(p) && from_runtime_matmul(mlirOperationGetOperand(p, 0));
}

/* A linear layer MSQ rewrites: constant f32 [K, N] weight (constant bias
 * or none) applied to f32 rows that are the T tokens, not already int8
 * per tensor. */
static bool msq_layer(MlirOperation op, int64_t T) {
  if (!q_matmul_is(op) || !qcc_value_is_constant(q_matmul_in(op, 1)) || from_runtime_matmul(q_matmul_in(op, 0)))
    return false;
  qcc_shape x, w;
  qcc_shape_of(q_matmul_in(op, 0), &x);
  qcc_shape_of(q_matmul_in(op, 1), &w);
  MlirValue b = q_matmul_in(op, 2);
  char at[256];
  qcc_op_where(op, at, sizeof at);
  return x.dtype == QRT_F32 && w.dtype == QRT_F32 && w.rank == 2 && x.rank >= 2 && x.dims[x.rank - 1] == w.dims[0] &&
         qcc_shape_numel(&x) == T * w.dims[0] && (mlirValueIsNull(b) || qcc_value_is_constant(b)) &&
         !qcc_kept_float(at, "matmul");
}

/* ---- the rewrite ---- */

static const char *modality_name(int m, char *buf, size_t cap) {
  if (m == 0) snprintf(buf, cap, "text");
  else if (!qcc_aifs_opts.input && m <= qcc_aifs_opts.n_names) snprintf(buf, cap, "%s", qcc_aifs_opts.names[m - 1]);
  else snprintf(buf, cap, "modality %d", m);
  return buf;
}

static void set_f64s(MlirOperation op, const char *name, const double *v, int n) {
  mlirOperationSetAttributeByName(op, mlirStringRefCreateFromCString(name),
                                  mlirDenseF64ArrayGet(mlirOperationGetContext(op), n, v));
}

static MlirAttribute f64_elements(MlirContext ctx, const double *v, int n) {
  qcc_shape s = {QRT_F64, 1, {n}};
  return qcc_dense_attr(ctx, &s, v);
}

/* Whether the per-modality ranges lo[]/hi[] cut the calibration values'
 * expected squared quantization error (each modality's histogram on its
 * own range, against all of them on the shared per-tensor range tlo/thi)
 * by at least QCC_MSQ_MIN_GAIN_DB. Where they do not (a rotation has
 * already spread the massive channels, or the modalities look alike) the
 * shared range is kept: a per-modality range chosen on the calibration
 * rows alone then only adds noise, and MSQ should be per-tensor static
 * there, not worse. Without histograms (--observer minmax) there is no
 * estimate and the per-modality ranges are kept. */
#define QCC_MSQ_MIN_GAIN_DB 1.0
static bool per_modality_pays(const mod_range *r, int n_mod, int bits, const double *lo, const double *hi,
                              double tlo, double thi) {
  double own = 0, shared = 0;
  for (int m = 0; m < n_mod; m++) {
    if (!r->hist[m] || r->hist[m]->total == 0) continue;
    own += qcc_hist_range_mse(r->hist[m], bits, lo[m], hi[m]);
    shared += qcc_hist_range_mse(r->hist[m], bits, tlo, thi);
  }
  if (!(shared > 0)) return true; /* no histogram, or no error to cut */
  return own <= shared * pow(10, -QCC_MSQ_MIN_GAIN_DB / 10);
}

/* Per-modality ranges of v for `bits`-bit codes (the calibrate pass's
 * qcc_value_range_bits, per modality), the per-tensor calibrated one where
 * a modality had no rows or only one value (a zero-width range has no
 * scale); false if neither exists. */
static bool ranges_of(msq_state *st, MlirValue v, int n_mod, int bits, double *lo, double *hi) {
  double tlo, thi;
  bool tensor = qcc_value_range_bits(v, bits, &tlo, &thi);
  mod_range *r = qcc_ptr_map_get(&st->ranges, v.ptr);
  for (int m = 0; m < n_mod; m++) {
    if (r && bits == 8 && r->lo8[m] < r->hi8[m]) lo[m] = r->lo8[m], hi[m] = r->hi8[m];
    else if (r && r->lo[m] < r->hi[m]) lo[m] = r->lo[m], hi[m] = r->hi[m];
    else if (tensor) lo[m] = tlo, hi[m] = thi;
    else return false;
  }
  st->n_ranges++;
  if (tensor && r && !per_modality_pays(r, n_mod, bits, lo, hi, tlo, thi)) {
    st->n_shared++;
    for (int m = 0; m < n_mod; m++) lo[m] = tlo, hi[m] = thi;
  }
  return true;
}

/* Whether every modality got the same range. */
static bool same_for_all(const double *lo, const double *hi, int n_mod) {
  for (int m = 1; m < n_mod; m++)
    if (lo[m] != lo[0] || hi[m] != hi[0]) return false;
  return true;
}

/* True when v reaches, through data-movement ops, an operand of a matmul
 * of two run-time values (attention), which the quantize pass feeds with
 * per-tensor codes. */
static bool feeds_runtime_matmul(MlirValue v) {
  for (MlirOpOperand u = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
    MlirOperation user = mlirOpOperandGetOwner(u);
    if (q_matmul_is(user) && !qcc_value_is_constant(q_matmul_in(user, 1))) return true;
    if (qcc_moves_values(user) && feeds_runtime_matmul(mlirOperationGetResult(user, 0))) return true;
  }
  return false;
}

/* The int8 codes of a layer input, shared by the layers that read the same
 * value with the same parameters (q, k and v; gate and up). */
typedef struct quantized_input {
  MlirValue x, codes;
  double scales[QRT_MSQ_MAX_MODALITIES];
  int64_t zero_points[QRT_MSQ_MAX_MODALITIES];
} quantized_input;

static MlirValue codes_of(MlirOperation before, MlirValue x, MlirValue modality, const qcc_qparams *in, int n_mod,
                          quantized_input *seen, int *n_seen) {
  for (int i = 0; i < *n_seen; i++) {
    bool same = mlirValueEqual(seen[i].x, x);
    for (int m = 0; same && m < n_mod; m++)
      same = seen[i].scales[m] == in[m].scale && seen[i].zero_points[m] == in[m].zero_point;
    if (same) return seen[i].codes;
  }
  MlirContext ctx = mlirOperationGetContext(before);
  q_msq_quantize_attrs a;
  memset(&a, 0, sizeof a);
  double scales[QRT_MSQ_MAX_MODALITIES];
  for (int m = 0; m < n_mod; m++) scales[m] = in[m].scale, a.zero_points.v[m] = in[m].zero_point;
  a.zero_points.n = n_mod;
  a.scales = f64_elements(ctx, scales, n_mod);
  a.qmin = in[0].qmin;
  a.qmax = in[0].qmax;
  qcc_shape xs;
  qcc_shape_of(x, &xs);
  xs.dtype = QRT_I8;
  MlirValue codes = qcc_insert_before(
      before, q_msq_quantize_create(mlirOperationGetLocation(before), qcc_tensor_type(ctx, &xs), x, modality, &a));
  if (*n_seen < QCC_MSQ_MAX_LAYERS) {
    quantized_input *q = &seen[(*n_seen)++];
    q->x = x;
    q->codes = codes;
    memcpy(q->scales, scales, sizeof scales);
    memcpy(q->zero_points, a.zero_points.v, sizeof q->zero_points);
  }
  return codes;
}

/* Rewrites one layer: 1 when done, 0 when it is left to the quantize pass. */
static int rewrite(MlirOperation op, msq_state *st, MlirValue modality, quantized_input *seen, int *n_seen) {
  const qcc_quant_scheme *sc = qcc_quant_active_scheme();
  char at[256];
  qcc_op_where(op, at, sizeof at);
  MlirValue x = q_matmul_in(op, 0), w = q_matmul_in(op, 1), b = q_matmul_in(op, 2), y = mlirOperationGetResult(op, 0);
  const int n_mod = st->n_mod;
  double xlo[QRT_MSQ_MAX_MODALITIES], xhi[QRT_MSQ_MAX_MODALITIES], ylo[QRT_MSQ_MAX_MODALITIES],
      yhi[QRT_MSQ_MAX_MODALITIES];
  if (!ranges_of(st, x, n_mod, sc->act_bits, xlo, xhi) || !ranges_of(st, y, n_mod, 8, ylo, yhi)) {
    qcc_remark("msq: %s left to the quantize pass: no calibration range", at);
    return 0;
  }
  double tlo = 0, thi = 0;
  const bool attention = feeds_runtime_matmul(y) && qcc_value_range_bits(y, 8, &tlo, &thi);
  if (same_for_all(xlo, xhi, n_mod) && (attention || same_for_all(ylo, yhi, n_mod))) {
    st->n_uniform++;
    qcc_remark("msq: %s left to the quantize pass: one range serves every modality (per-tensor static is the "
               "same layer, without the per-modality epilogue)", at);
    return 0;
  }
  const qcc_qparams out_tensor =
      qcc_feeds_runtime_matmul_b(y) ? qcc_symmetric_params(tlo, thi, 8) : qcc_activation_params(tlo, thi, 8);
  qcc_shape ws;
  qcc_shape_of(w, &ws);
  const int64_t K = ws.dims[0], N = ws.dims[1];
  int64_t group = 0;
  if (sc->weight_format == QRT_WFMT_I4) {
    group = qcc_quant_opts.group_size ? qcc_quant_opts.group_size : 128;
    if (group >= K) group = 0;
  }
  qcc_array wa;
  qcc_value_constant(w, &wa);
  qcc_qweights qw;
  char err[256];
  if (!qcc_quantize_weights(wa.data, N, K, true, sc->weight_format, group, NULL, &qw, err, sizeof err))
    qcc_warning("msq: %s: weights rounded to nearest: %s", at, err);
  qcc_array_free(&wa);
  if (!qcc_int8_sums_exact(&qw)) {
    qcc_remark("msq: %s left to the quantize pass: K = %lld: its int32 sums could overflow", at, (long long)K);
    qcc_qweights_free(&qw);
    return 0;
  }
  qcc_array ba = {0};
  bool has_bias = !mlirValueIsNull(b) && qcc_value_constant(b, &ba);
  int32_t *bias = malloc(sizeof(int32_t) * (size_t)(2 * n_mod * N));
  int32_t *mult = bias + n_mod * N;
  int8_t *shift = malloc((size_t)(n_mod * N));
  double os[QRT_MSQ_MAX_MODALITIES];
  qcc_qparams ins[QRT_MSQ_MAX_MODALITIES];
  q_msqmatmul_attrs a;
  memset(&a, 0, sizeof a);
  bool overflow = false;
  for (int m = 0; m < n_mod; m++) {
    qcc_qparams in = qcc_activation_params(xlo[m], xhi[m], sc->act_bits), out = qcc_activation_params(ylo[m], yhi[m], 8);
    ins[m] = in;
    /* Outputs read by attention keep the per-tensor codes the quantize pass
     * gives attention's operands (symmetric for keys and values), so they
     * are rounded once, not twice. */
    if (attention) out = out_tensor;
    os[m] = out.scale;
    a.out_zero_points.v[m] = out.zero_point;
    a.out_mins.v[m] = out.qmin;
    a.out_maxs.v[m] = out.qmax;
    for (int64_t n = 0; n < N; n++) {
      double acc_scale = in.scale * qw.scales[n];
      double qb = has_bias ? nearbyint(((float *)ba.data)[n] / acc_scale) : 0;
      qb = qb > 2147483647.0 ? 2147483647.0 : qb < -2147483647.0 ? -2147483647.0 : qb;
      double folded = qb - (double)in.zero_point * qw.colsum[n];
      overflow |= folded > INT32_MAX || folded < -INT32_MAX;
      bias[m * N + n] = (int32_t)(overflow ? 0 : folded);
      int32_t s;
      qrt_quantize_multiplier(acc_scale / out.scale, &mult[m * N + n], &s);
      shift[m * N + n] = (int8_t)(s < 0 ? 0 : s > 62 ? 62 : s);
    }
  }
  a.out_zero_points.n = a.out_mins.n = a.out_maxs.n = n_mod;
  if (has_bias) qcc_array_free(&ba);
  int rc = 0;
  if (overflow) {
    qcc_remark("msq: %s left to the quantize pass: folded int32 bias overflows", at);
  } else {
    MlirContext ctx = mlirOperationGetContext(op);
    int64_t pdims[2] = {n_mod, N}, gdims[2] = {qw.group ? (K + qw.group - 1) / qw.group : 0, N};
    a.out_scales = f64_elements(ctx, os, n_mod);
    a.format = qcc_str(qcc_wformat_name(qw.format));
    a.group = qw.group;
    MlirValue gm = {NULL};
    if (qw.group) gm = qcc_constant_before(op, QRT_U8, 2, gdims, qw.gmult);
    /* Attention's operands stay int8: an output it reads leaves as the
     * per-tensor codes the quantize pass would give it, which attention then
     * reads directly (q.dequantize(codes) for any float reader). */
    MlirType result = attention ? qcc_quant_type_of(ctx, y, out_tensor) : mlirValueGetType(y);
    MlirOperation msq = q_msqmatmul_create(
        mlirOperationGetLocation(op), result, codes_of(op, x, modality, ins, n_mod, seen, n_seen),
        qcc_constant_before(op, QRT_I8, 2, ws.dims, qw.codes),
        qcc_constant_before(op, QRT_I32, 2, pdims, bias), qcc_constant_before(op, QRT_I32, 2, pdims, mult),
        qcc_constant_before(op, QRT_I8, 2, pdims, shift), modality, gm, &a);
    qcc_insert_before(op, msq);
    static const char *const keep[] = {"qcc.min", "qcc.max", "qcc.max_std_before", "qcc.max_std_after",
                                       "qcc.qsur_before", "qcc.qsur_after"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
      MlirAttribute v = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(keep[i]));
      if (!mlirAttributeIsNull(v)) mlirOperationSetAttributeByName(msq, mlirStringRefCreateFromCString(keep[i]), v);
    }
    mlirOperationSetAttributeByName(msq, mlirStringRefCreateFromCString("qcc.weight_quant"),
                                    mlirStringAttrGet(ctx, mlirStringRefCreateFromCString("rtn")));
    set_f64s(msq, "qcc.msq_in_min", xlo, n_mod);
    set_f64s(msq, "qcc.msq_in_max", xhi, n_mod);
    set_f64s(msq, "qcc.msq_out_min", ylo, n_mod);
    set_f64s(msq, "qcc.msq_out_max", yhi, n_mod);
    mlirOperationSetAttributeByName(msq, mlirStringRefCreateFromCString("qcc.weight_sqnr_db"),
                                    mlirFloatAttrDoubleGet(ctx, mlirF64TypeGet(ctx), isfinite(qw.sqnr_db) ? qw.sqnr_db : 999.0));
    if (attention) qcc_use_quantized(op, y, mlirOperationGetResult(msq, 0));
    else mlirValueReplaceAllUsesOfWith(y, mlirOperationGetResult(msq, 0));
    mlirOperationDestroy(op);
    char line[600], name[40];
    int len = snprintf(line, sizeof line, "msq: %s: input ranges", at);
    for (int m = 0; m < n_mod && len < (int)sizeof line; m++)
      len += snprintf(line + len, sizeof line - (size_t)len, " %s [%.3g, %.3g]", modality_name(m, name, sizeof name),
                      xlo[m], xhi[m]);
    qcc_remark("%s", line);
    rc = 1;
  }
  free(bias);
  free(shift);
  qcc_qweights_free(&qw);
  return rc;
}

int qcc_pass_msq(MlirModule m) {
  if (!qcc_msq_enabled) return 0;
  MlirOperation func = qcc_module_func(m);
  MlirBlock body = qcc_func_body(func);
  MlirOperation ret = mlirBlockGetTerminator(body);
  msq_state st;
  memset(&st, 0, sizeof st);
  qcc_ptr_map_init(&st.ranges);
  /* The modality of each reordered row: AIFS's gathered modality input, or
   * its static layout as a constant. */
  MlirValue modality = {NULL};
  MlirAttribute layout = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("qcc.aifs_modalities"));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationEqual(op, ret) && mlirValueIsNull(modality);
       op = mlirOperationGetNextInBlock(op))
    if (!mlirAttributeIsNull(mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("qcc.modality"))))
      modality = mlirOperationGetResult(op, 0);
  if (!mlirValueIsNull(modality)) {
    qcc_shape s;
    qcc_shape_of(modality, &s);
    st.T = qcc_shape_numel(&s);
    st.modality_value = modality.ptr;
  } else if (!mlirAttributeIsNull(layout)) {
    st.T = mlirDenseArrayGetNumElements(layout);
  } else {
    return qcc_error("--msq: the model has no token modalities: run the reorder-tokens pass (--aifs) first"), -1;
  }
  st.row_mod = calloc((size_t)st.T, sizeof *st.row_mod);
  st.n_mod = 1;
  if (!mlirAttributeIsNull(layout)) {
    int32_t *v = malloc(sizeof(int32_t) * (size_t)st.T);
    for (int64_t t = 0; t < st.T; t++) {
      v[t] = (int32_t)mlirDenseI64ArrayGetElement(layout, t);
      st.row_mod[t] = v[t];
      if (v[t] + 1 > st.n_mod) st.n_mod = v[t] + 1;
    }
    modality = qcc_constant_before(mlirBlockGetFirstOperation(body), QRT_I32, 1, &st.T, v);
    free(v);
  }
  int n_layers = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationEqual(op, ret); op = mlirOperationGetNextInBlock(op))
    if (msq_layer(op, st.T)) want(&st, q_matmul_in(op, 0)), want(&st, mlirOperationGetResult(op, 0)), n_layers++;
  qcc_calib_set set;
  const int loaded = qcc_calib_load_for(m, qcc_quant_opts.calib_path, &set);
  int rc = loaded;
  /* As the calibrate pass: min-max, and with --observer mse or
   * percentile a histogram, per modality, in one pass. */
  const bool clip = st.clip = qcc_quant_opts.observer != QCC_OBSERVER_MINMAX;
  qcc_eval_cache *cache = qcc_eval_cache_new();
  qcc_eval_plan *plan = qcc_eval_plan_new(m, cache);
  for (int k = 0; k < set.n_samples && !rc; k++) {
    st.sample = k;
    rc = qcc_eval_plan_run(plan, &set.samples[k * set.n_inputs], set.n_inputs, NULL, NULL, observe, &st);
  }
  qcc_eval_plan_free(plan);
  qcc_eval_cache_free(cache);
  if (!rc && clip) clip_ranges(&st);
  if (!loaded) qcc_calib_free(&set);
  if (!rc && st.bad[0]) rc = -1, qcc_error("--msq: %s", st.bad);
  int n_done = 0, n_seen = 0;
  quantized_input *seen = calloc(QCC_MSQ_MAX_LAYERS, sizeof *seen);
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !rc && !mlirOperationEqual(op, ret);) {
    MlirOperation next = mlirOperationGetNextInBlock(op);
    if (msq_layer(op, st.T)) {
      int done = rewrite(op, &st, modality, seen, &n_seen);
      if (done < 0) rc = -1;
      else n_done += done;
    }
    op = next;
  }
  free(seen);
  if (!rc) {
    const int n_tables = qcc_msq_tables(body);
    char text[400];
    int len = snprintf(text, sizeof text,
                       "%d of %d linear layers with static scales per modality (%d modalities, %d tokens); "
                       "%d of %d activation ranges per modality, %d per tensor (per-modality ranges cut the "
                       "calibration error by less than %.0f dB there); %d layers per tensor (one range for "
                       "every modality)",
                       n_done, n_layers, st.n_mod, (int)st.T, st.n_ranges - st.n_shared, st.n_ranges, st.n_shared,
                       QCC_MSQ_MIN_GAIN_DB, st.n_uniform);
    if (n_tables && len < (int)sizeof text)
      snprintf(text + len, sizeof text - (size_t)len, "; elementwise functions as tables per modality: %d", n_tables);
    qcc_remark("msq: %s", text);
    mlirOperationSetAttributeByName(func, mlirStringRefCreateFromCString("qcc.msq"),
                                    mlirStringAttrGet(mlirOperationGetContext(func), mlirStringRefCreateFromCString(text)));
  }
  for (size_t i = 0; i < st.ranges.cap; i++) {
    mod_range *r = st.ranges.vals[i];
    if (!st.ranges.keys[i] || !r) continue;
    for (int k = 0; k < QRT_MSQ_MAX_MODALITIES; k++) qcc_hist_free(r->hist[k]);
    free(r);
  }
  qcc_ptr_map_free(&st.ranges);
  free(st.row_mod);
  return rc;
}
