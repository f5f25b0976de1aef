/* quantize.c - the quantize pass (-q w8a8): static int8 quantization of
 * convolutions and matmuls with constant weights, integer-only inner loops.
 *
 * For each q.conv / q.matmul whose weight is a constant and whose input
 * and output were calibrated:
 *   x_q = q.quantize(x)                       int8, per-tensor asymmetric
 *   y_q = q.qconv(x_q, w_q, bias_i32, multiplier, shift, colsum) or
 *         q.qmatmul(x_q, w_q, bias_i32 - z_x colsum, multiplier, shift)
 *   y   = q.dequantize(y_q)
 * Weights are symmetric int8 per output channel (zero point 0, range
 * [-127, 127]); bias is int32 with scale s_x * s_w[c]; the requantization
 * multiplier s_x * s_w[c] / s_y is the dyadic M0 * 2^-shift (HAWQ-V3), so
 * the kernels never touch floats. A following ReLU is folded into the
 * output clamp (its calibrated range becomes the output range). A
 * q.quantize whose input is a q.dequantize of identical parameters is not
 * created: consecutive quantized layers stay in int8.
 *
 * Invariant: every quantized value x̂ = s (q - z) is within s/2 of x
 * clipped to the calibrated range, and an op the pass cannot quantize
 * (no calibration range, non-constant weight, non-float type) stays float,
 * with a remark (-v) saying why. */
#include <fnmatch.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "qrt.h"
#include "quant_options.h"

typedef struct qparams {
  double scale;
  int64_t zero_point;
} qparams;

/* Asymmetric int8 parameters covering [lo, hi] (always including 0, so
 * zero padding and ReLU's zero are exact). */
static qparams activation_params(double lo, double hi) {
  if (lo > 0) lo = 0;
  if (hi < 0) hi = 0;
  qparams p = {(hi - lo) / 255.0, 0};
  if (!(p.scale > 0)) p.scale = 1.0;
  double z = -128.0 - lo / p.scale;
  p.zero_point = (int64_t)llround(z < -128 ? -128 : z > 127 ? 127 : z);
  return p;
}

static void where(MlirOperation op, char *buf, size_t cap) { qcc_op_where(op, buf, cap); }

static MlirValue i32_constant(MlirOperation before, MlirLocation loc, const int32_t *v, int64_t n) {
  qcc_array a = {QRT_I32, 1, {n}, (void *)v, sizeof(int32_t) * (size_t)n};
  return qcc_make_constant(before, loc, &a);
}

/* The quantized version of x with parameters p: reuse the int8 value x
 * was dequantized from, or an earlier q.quantize of x (q, k and v read the
 * same input), when the parameters match; else insert q.quantize. */
static bool has_params(MlirValue v, qparams p) {
  double s;
  int64_t z;
  return qcc_value_quant(v, &s, &z) && s == p.scale && z == p.zero_point;
}

static MlirValue quantized_input(MlirOperation before, MlirValue x, qparams p) {
  if (mlirValueIsAOpResult(x) && q_dequantize_is(mlirOpResultGetOwner(x))) {
    MlirValue src = q_dequantize_in(mlirOpResultGetOwner(x), 0);
    if (has_params(src, p)) return src;
  }
  for (MlirOpOperand u = mlirValueGetFirstUse(x); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
    MlirOperation user = mlirOpOperandGetOwner(u);
    if (q_quantize_is(user) && has_params(mlirOperationGetResult(user, 0), p)) return mlirOperationGetResult(user, 0);
  }
  qcc_shape sh;
  qcc_shape_of(x, &sh);
  sh.dtype = QRT_I8;
  MlirType t = qcc_quant_tensor_type(mlirOperationGetContext(before), &sh, p.scale, p.zero_point);
  return qcc_insert_before(before, q_quantize_create(mlirOperationGetLocation(before), t, x));
}

/* Per-channel symmetric int8 weights. `channels` output channels, each
 * owning `per` consecutive elements (conv) or a column with stride
 * `channels` (matmul B [K, N]: per = K). */
typedef struct qweights {
  int8_t *q;
  float *scales;
  int32_t *colsum;
  double sqnr_db; /* 10 log10(sum w^2 / sum (w - s q)^2) over the tensor */
  int32_t *bias, *mult, *shift; /* requantization constants, per channel */
} qweights;

static qweights quantize_weights(const float *w, int64_t channels, int64_t per, bool column_major_channels) {
  qweights r = {malloc((size_t)(channels * per)), malloc(sizeof(float) * (size_t)channels),
                malloc(sizeof(int32_t) * (size_t)channels), 0, NULL, NULL, NULL};
  double signal = 0, noise = 0;
  for (int64_t c = 0; c < channels; c++) {
    double amax = 0;
    for (int64_t i = 0; i < per; i++) {
      double v = fabs(w[column_major_channels ? i * channels + c : c * per + i]);
      if (v > amax) amax = v;
    }
    double s = amax > 0 ? amax / 127.0 : 1.0;
    r.scales[c] = (float)s;
    int32_t sum = 0;
    for (int64_t i = 0; i < per; i++) {
      int64_t at = column_major_channels ? i * channels + c : c * per + i;
      double q = nearbyint(w[at] / s);
      q = q < -127 ? -127 : q > 127 ? 127 : q;
      r.q[at] = (int8_t)q;
      sum += (int32_t)q;
      signal += (double)w[at] * w[at];
      noise += (w[at] - s * q) * (w[at] - s * q);
    }
    r.colsum[c] = sum;
  }
  r.sqnr_db = noise > 0 ? 10 * log10(signal / noise) : INFINITY;
  return r;
}

static void free_weights(qweights *w) {
  free(w->q);
  free(w->scales);
  free(w->colsum);
  free(w->bias);
  free(w->mult);
  free(w->shift);
}

/* The single user of v if it is a ReLU (or a Clip at [0, x]); else null. */
static MlirOperation fusable_relu(MlirValue v) {
  MlirOperation none = {NULL};
  MlirOpOperand u = mlirValueGetFirstUse(v);
  if (mlirOpOperandIsNull(u) || !mlirOpOperandIsNull(mlirOpOperandGetNextUse(u))) return none;
  MlirOperation user = mlirOpOperandGetOwner(u);
  if (!q_unary_is(user)) return none;
  q_unary_attrs a = q_unary_get(user);
  return !strcmp(a.kind.s, "relu") ? user : none;
}

typedef struct layer {
  MlirOperation op;
  MlirValue x, w, bias, out; /* out: the value the quantized result replaces */
  qparams in, outp;
  bool relu;
} layer;

/* --keep-float: the node name (inside the quotes of "q.conv node 'name'")
 * or the op name without "q." matches one of the globs. */
static bool kept_float(const char *at, const char *op_name) {
  char node[256] = "";
  const char *q = strchr(at, '\'');
  if (q) {
    snprintf(node, sizeof node, "%s", q + 1);
    char *end = strrchr(node, '\'');
    if (end) *end = 0;
  }
  for (int i = 0; i < qcc_quant_opts.n_keep_float; i++)
    if (!fnmatch(qcc_quant_opts.keep_float[i], node, 0) || !fnmatch(qcc_quant_opts.keep_float[i], op_name, 0)) return true;
  return false;
}

/* Common checks and parameter choice; false (with a remark) to skip. */
static bool plan_layer(MlirOperation op, MlirValue x, MlirValue w, MlirValue bias, layer *L) {
  char at[256];
  where(op, at, sizeof at);
  if (kept_float(at, q_conv_is(op) ? "conv" : "matmul")) {
    qcc_remark("quantize: %s stays float: --keep-float", at);
    return false;
  }
  qcc_shape xs, ws;
  qcc_shape_of(x, &xs);
  qcc_shape_of(w, &ws);
  double lo, hi, olo, ohi;
  if (xs.dtype != QRT_F32 || ws.dtype != QRT_F32 || !qcc_value_is_constant(w) ||
      (!mlirValueIsNull(bias) && !qcc_value_is_constant(bias))) {
    qcc_remark("quantize: %s stays float: weight or bias is not a float constant", at);
    return false;
  }
  L->op = op;
  L->x = x;
  L->w = w;
  L->bias = bias;
  L->out = mlirOperationGetResult(op, 0);
  MlirOperation relu = fusable_relu(L->out);
  L->relu = !mlirOperationIsNull(relu);
  if (L->relu) L->out = mlirOperationGetResult(relu, 0);
  if (!qcc_value_range(x, &lo, &hi) || !qcc_value_range(L->out, &olo, &ohi)) {
    qcc_remark("quantize: %s stays float: no calibration range (run with --calib)", at);
    return false;
  }
  L->in = activation_params(lo, hi);
  L->outp = activation_params(olo, ohi);
  return true;
}

/* Bias, multipliers and shifts for channel scales s_w (bias clamped to
 * +-(2^31 - 1)). */
static void requant_constants(const layer *L, const float *s_w, int64_t channels, int32_t *bias_q, int32_t *mult,
                              int32_t *shift) {
  qcc_array b;
  bool has_bias = !mlirValueIsNull(L->bias) && qcc_value_constant(L->bias, &b);
  for (int64_t c = 0; c < channels; c++) {
    double acc_scale = L->in.scale * s_w[c];
    double qb = has_bias ? nearbyint(((float *)b.data)[c] / acc_scale) : 0;
    bias_q[c] = (int32_t)(qb > 2147483647.0 ? 2147483647.0 : qb < -2147483647.0 ? -2147483647.0 : qb);
    qrt_quantize_multiplier(acc_scale / L->outp.scale, &mult[c], &shift[c]);
  }
  if (has_bias) qcc_array_free(&b);
}

/* The layer's weight (channels x per elements, channels as rows or, for a
 * matmul B, as columns) quantized, with its requantization constants. */
static qweights layer_weights(const layer *L, int64_t channels, int64_t per, bool column_major_channels) {
  qcc_array w;
  qcc_value_constant(L->w, &w);
  qweights qw = quantize_weights(w.data, channels, per, column_major_channels);
  qcc_array_free(&w);
  qw.bias = malloc(sizeof(int32_t) * (size_t)channels);
  qw.mult = malloc(sizeof(int32_t) * (size_t)channels);
  qw.shift = malloc(sizeof(int32_t) * (size_t)channels);
  requant_constants(L, qw.scales, channels, qw.bias, qw.mult, qw.shift);
  return qw;
}

static MlirType out_type(const layer *L) {
  qcc_shape s;
  qcc_shape_of(mlirOperationGetResult(L->op, 0), &s);
  s.dtype = QRT_I8;
  return qcc_quant_tensor_type(mlirOperationGetContext(L->op), &s, L->outp.scale, L->outp.zero_point);
}

static MlirAttribute scales_attr(MlirContext ctx, const float *s, int64_t n) {
  qcc_shape sh = {QRT_F32, 1, {n}};
  return qcc_dense_attr(ctx, &sh, s);
}

/* Records the weight SQNR on the quantized op, for --report. */
static void note_sqnr(MlirValue yq, double db) {
  MlirOperation op = mlirOpResultGetOwner(yq);
  MlirContext ctx = mlirOperationGetContext(op);
  mlirOperationSetAttributeByName(op, mlirStringRefCreateFromCString("qcc.weight_sqnr_db"),
                                  mlirFloatAttrDoubleGet(ctx, mlirF64TypeGet(ctx), isfinite(db) ? db : 999.0));
}

/* Replaces L->out's uses with dequantize(yq), which keeps the calibrated
 * range so that the next layer can be quantized with the same parameters
 * (and then reads yq directly). */
static void finish(const layer *L, MlirValue yq) {
  MlirOperation dq = q_dequantize_create(mlirOperationGetLocation(L->op), mlirValueGetType(L->out), yq);
  MlirValue y = qcc_insert_before(L->op, dq);
  MlirOperation src = mlirOpResultGetOwner(L->out);
  static const char *const keep[] = {"qcc.min", "qcc.max"};
  for (int i = 0; i < 2; i++)
    mlirOperationSetAttributeByName(dq, mlirStringRefCreateFromCString(keep[i]),
                                    mlirOperationGetAttributeByName(src, mlirStringRefCreateFromCString(keep[i])));
  mlirValueReplaceAllUsesOfWith(L->out, y);
}

static void quantize_conv(MlirOperation op) {
  layer L;
  if (!plan_layer(op, q_conv_in(op, 0), q_conv_in(op, 1), q_conv_in(op, 2), &L)) return;
  qcc_shape ws;
  qcc_shape_of(L.w, &ws);
  int64_t ch = ws.dims[0], per = qcc_shape_numel(&ws) / ch;
  qweights qw = layer_weights(&L, ch, per, false);
  MlirLocation loc = mlirOperationGetLocation(op);
  MlirContext ctx = mlirOperationGetContext(op);
  qcc_array wq = {QRT_I8, ws.rank, {0}, qw.q, (size_t)(ch * per)};
  memcpy(wq.dims, ws.dims, sizeof ws.dims);
  MlirValue xq = quantized_input(op, L.x, L.in);
  q_conv_attrs ca = q_conv_get(op);
  q_qconv_attrs a = {ca.strides, ca.pads, ca.dilations, ca.group, L.relu ? L.outp.zero_point : -128, 127,
                     scales_attr(ctx, qw.scales, ch)};
  MlirValue yq = qcc_insert_before(
      op, q_qconv_create(loc, out_type(&L), xq, qcc_make_constant(op, loc, &wq), i32_constant(op, loc, qw.bias, ch),
                         i32_constant(op, loc, qw.mult, ch), i32_constant(op, loc, qw.shift, ch),
                         i32_constant(op, loc, qw.colsum, ch), &a));
  note_sqnr(yq, qw.sqnr_db);
  finish(&L, yq);
  free_weights(&qw);
}

static void quantize_matmul(MlirOperation op) {
  qcc_shape bs;
  qcc_shape_of(q_matmul_in(op, 1), &bs);
  if (bs.rank != 2) {
    char at[256];
    where(op, at, sizeof at);
    qcc_remark("quantize: %s stays float: batched weights", at);
    return;
  }
  layer L;
  if (!plan_layer(op, q_matmul_in(op, 0), q_matmul_in(op, 1), q_matmul_in(op, 2), &L)) return;
  int64_t K = bs.dims[0], N = bs.dims[1];
  qweights qw = layer_weights(&L, N, K, true);
  /* Fold the input zero point into the bias: sum (a - z) b + bias =
   * sum a b + (bias - z colsum), so the kernel does no zero-point work. */
  for (int64_t n = 0; n < N; n++) {
    int64_t folded = (int64_t)qw.bias[n] - L.in.zero_point * (int64_t)qw.colsum[n];
    if (folded > INT32_MAX || folded < -INT32_MAX) {
      char at[256];
      where(op, at, sizeof at);
      qcc_remark("quantize: %s stays float: folded int32 bias overflows", at);
      free_weights(&qw);
      return;
    }
    qw.bias[n] = (int32_t)folded;
  }
  MlirLocation loc = mlirOperationGetLocation(op);
  qcc_array wq = {QRT_I8, 2, {K, N}, qw.q, (size_t)(K * N)};
  MlirValue xq = quantized_input(op, L.x, L.in);
  q_qmatmul_attrs a = {L.relu ? L.outp.zero_point : -128, 127, scales_attr(mlirOperationGetContext(op), qw.scales, N)};
  MlirValue yq = qcc_insert_before(
      op, q_qmatmul_create(loc, out_type(&L), xq, qcc_make_constant(op, loc, &wq), i32_constant(op, loc, qw.bias, N),
                           i32_constant(op, loc, qw.mult, N), i32_constant(op, loc, qw.shift, N), &a));
  note_sqnr(yq, qw.sqnr_db);
  finish(&L, yq);
  free_weights(&qw);
}

int qcc_pass_quantize(MlirModule m) {
  const char *scheme = qcc_quant_opts.scheme ? qcc_quant_opts.scheme : "w8a8";
  if (!strcmp(scheme, "f32")) return 0;
  if (strcmp(scheme, "w8a8")) {
    qcc_error("-q: scheme '%s' is not implemented (available: f32, w8a8)", scheme);
    return -1;
  }
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  MlirOperation ret = mlirBlockGetTerminator(body);
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationEqual(op, ret);) {
    MlirOperation next = mlirOperationGetNextInBlock(op);
    if (q_conv_is(op)) quantize_conv(op);
    else if (q_matmul_is(op)) quantize_matmul(op);
    op = next;
  }
  /* The float layers (and folded ReLUs) are dead now. */
  return qcc_pass_dce(m);
}
