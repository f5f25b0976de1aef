/* quantize.c - the quantize pass (-q SCHEME): integer quantization of
 * convolutions and matmuls with constant weights, integer-only inner loops.
 *
 * Weights get integer codes in the scheme's format (quant_weights.c: int8
 * per output channel, int4 per group of input rows with integer group
 * multipliers). Activations, by scheme and --act-scale:
 *  - static (w8a8, w4a8, w4a4): calibrated per-tensor asymmetric int8 (or
 *    4-bit codes in int8 storage for w4a4's layer inputs; outputs and
 *    attention stay int8), typed !quant.uniform:
 *      x_q = q.quantize(x)
 *      y_q = q.qconv(x_q, w_q, bias_i32, multiplier, shift, colsum) or
 *            q.qmatmul(x_q, w_q, bias_i32 - z_x colsum, multiplier, shift[, gmult])
 *      y   = q.dequantize(y_q)
 *    bias is int32 with scale s_x * s_w[c]; the requantization multiplier
 *    s_x * s_w[c] / s_y is the dyadic M0 * 2^-shift (HAWQ-V3), so the
 *    kernels never touch floats. A following ReLU is folded into the output
 *    clamp. A q.quantize whose input is a q.dequantize of identical
 *    parameters is not created: consecutive quantized layers stay integer.
 *  - per token (--act-scale token; matmuls): y = q.fqmatmul(x, w_q, ...)
 *    with act_bits: each row quantized at run time (QuaRot);
 *  - weight-only (w8a16, w4a16; matmuls): y = q.fqmatmul(x, w_q, ...) with
 *    act_bits 0: float activations, integer weights.
 *
 * Weight codes (--weight-quant): round to nearest, or for matmuls with
 * constant weights GPTQ with the same scales, against the second moment of
 * the layer's input that the calibrate pass stored as qcc.input_hessian
 * (removed here once used, so it never reaches the generated code).
 *
 * Invariant: every quantized value x̂ = s (q - z) is within s/2 of x
 * clipped to the calibrated range, and an op the pass cannot quantize
 * (no calibration range, non-constant weight, non-float type, a scheme
 * the op has no kernel for) stays float, with a remark (-v) saying why. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "qrt.h"
#include "quant_options.h"
#include "quant_activations.h"
#include "quant_weights.h"

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
  qcc_qparams in, outp;
  bool relu;
} layer;

/* True when the codes are 16-bit (w8i16): the layer runs the int16 kernel
 * (int64 sums, int64 bias). */
static bool wide(qcc_qparams p) { return p.qmin < -128 || p.qmax > 127; }

/* The scheme of the op being rewritten: its qcc.scheme attribute (set by
 * the allocate pass) or -q's. */
static const qcc_quant_scheme *op_scheme;
static const qcc_quant_scheme *scheme(void) { return op_scheme ? op_scheme : qcc_quant_active_scheme(); }

/* Rows per weight group: --group-size for int4 (default 128), per channel
 * for int8; 0 when a group would cover the whole row. */
static int64_t group_size(int64_t per) {
  if (scheme()->weight_format != QRT_WFMT_I4) return 0;
  int64_t g = qcc_quant_opts.group_size ? qcc_quant_opts.group_size : 128;
  return g >= per ? 0 : g;
}

/* An input that is int8 already (a quantized layer's or an integer-only
 * op's output) keeps its parameters when it has the wanted code range, so
 * it is read directly, never requantized. They equal the calibrated ones
 * except after an integer-only softmax (fixed scale 1/256). */
static qcc_qparams adopted_params(MlirValue x, qcc_qparams wanted) {
  qcc_qparams have;
  if (qcc_int_source(x, NULL, &have) && have.qmin == wanted.qmin && have.qmax == wanted.qmax) return have;
  return wanted;
}

/* Bits of a layer's output codes: those of its activations when 16 (the
 * int16 kernel writes int16: attention scores go to the softmax at 16
 * bits), else 8, also under w4a4 (QuaRot keeps outputs at 8 bits). An
 * int8 layer feeding an int16 one writes int8; the reader requantizes. */
static int output_bits(void) { return scheme()->act_bits == 16 ? 16 : 8; }

/* How many times its calibrated range a model output in int16 codes
 * covers: a few calibration samples rarely show a model's extreme outputs
 * (a classifier's top logit), which the codes' ends would saturate, and
 * 16 bits leave 12 for the step at 16 times the range. (An int8 output
 * keeps its range: the float epilogue, the default on CPU targets, does
 * not clip a model output at all.) */
#define MODEL_OUTPUT_INT16_WIDEN 16.0

/* Output parameters: asymmetric over the calibrated range (widened at an
 * int16 model output), or symmetric when the output only feeds run-time
 * matmuls' B operands (keys and values), so they read it without
 * requantizing. */
static bool output_params(MlirValue out, qcc_qparams *p) {
  const int bits = output_bits();
  double lo, hi;
  if (!qcc_value_range_bits(out, bits, &lo, &hi)) return false;
  if (bits == 16 && qcc_is_model_output(out)) {
    lo *= MODEL_OUTPUT_INT16_WIDEN;
    hi *= MODEL_OUTPUT_INT16_WIDEN;
  }
  *p = qcc_feeds_runtime_matmul_b(out) ? qcc_symmetric_params(lo, hi, bits) : qcc_activation_params(lo, hi, bits);
  return true;
}

/* Common checks; false (with a remark) to skip. `static_act`: the layer
 * needs calibrated input and output ranges. */
static bool plan_layer(MlirOperation op, MlirValue x, MlirValue w, MlirValue bias, bool static_act, layer *L) {
  char at[256];
  qcc_op_where(op, at, sizeof at);
  if (qcc_kept_float(at, q_conv_is(op) ? "conv" : "matmul")) {
    qcc_remark("quantize: %s stays float: --keep-float", at);
    return false;
  }
  qcc_shape xs, ws;
  qcc_shape_of(x, &xs);
  qcc_shape_of(w, &ws);
  double lo, hi;
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
  L->relu = false;
  if (!static_act) return true;
  MlirOperation relu = fusable_relu(L->out);
  L->relu = !mlirOperationIsNull(relu);
  if (L->relu) L->out = mlirOperationGetResult(relu, 0);
  const int bits = scheme()->act_bits;
  if (!qcc_value_range_bits(x, bits, &lo, &hi) || !output_params(L->out, &L->outp)) {
    qcc_remark("quantize: %s stays float: no calibration range (run with --calib; an If branch that no sample takes has none)", at);
    return false;
  }
  /* The scheme's activation bits are those of the layer inputs (the
   * operands of the integer products); outputs are requantized to int8
   * (int16, see output_bits), as QuaRot keeps layer outputs and attention
   * at higher precision. */
  L->in = adopted_params(x, qcc_activation_params(lo, hi, bits));
  return true;
}

/* Bias, multipliers and shifts for channel scales s_w. The bias is the
 * accumulator's type: clamped to +-(2^31 - 1) for the int8 kernels, to
 * +-2^52 for the int16 kernel's int64 (both far past any real bias). */
static void requant_constants(const layer *L, const float *s_w, int64_t channels, int64_t *bias_q, int32_t *mult,
                              int32_t *shift) {
  qcc_array b;
  bool has_bias = !mlirValueIsNull(L->bias) && qcc_value_constant(L->bias, &b);
  const double limit = wide(L->in) ? 4503599627370496.0 : 2147483647.0;
  for (int64_t c = 0; c < channels; c++) {
    double acc_scale = L->in.scale * s_w[c];
    double qb = has_bias ? nearbyint(((float *)b.data)[c] / acc_scale) : 0;
    bias_q[c] = (int64_t)(qb > limit ? limit : qb < -limit ? -limit : qb);
    qrt_quantize_multiplier(acc_scale / L->outp.scale, &mult[c], &shift[c]);
  }
  if (has_bias) qcc_array_free(&b);
}

/* The bias as the kernel's operand: int32 for the int8 kernels (the values
 * are within int32 already), int64 for the int16 one. */
static MlirValue bias_constant(MlirOperation before, const layer *L, const int64_t *bias, int64_t n) {
  if (wide(L->in)) return qcc_constant_before(before, QRT_I64, 1, &n, bias);
  int32_t *b32 = malloc(sizeof(int32_t) * (size_t)n);
  for (int64_t i = 0; i < n; i++) b32[i] = (int32_t)bias[i];
  MlirValue v = qcc_constant_before(before, QRT_I32, 1, &n, b32);
  free(b32);
  return v;
}


static const char hessian_attr[] = "qcc.input_hessian";

/* The layer's weights (channels x per elements, channels as rows or, for a
 * matmul B, as columns) in the scheme's format; for a matmul under
 * --weight-quant gptq with GPTQ codes from its qcc.input_hessian. -1 after
 * an error (no Hessian: the calibrate pass did not collect it). */
static int layer_weights(const layer *L, int64_t channels, int64_t per, bool column_major, int format,
                         int64_t group, qcc_qweights *qw) {
  char at[256];
  qcc_op_where(L->op, at, sizeof at);
  qcc_array h = {0};
  const bool gptq = qcc_quant_opts.weight_quant == QCC_WEIGHT_GPTQ && q_matmul_is(L->op);
  if (gptq) {
    MlirAttribute a = mlirOperationGetAttributeByName(L->op, mlirStringRefCreateFromCString(hessian_attr));
    if (!qcc_dense_attr_read(a, &h) || h.dtype != QRT_F64 || h.rank != 2 || h.dims[0] != per || h.dims[1] != per) {
      qcc_array_free(&h);
      qcc_error("quantize: %s: --weight-quant gptq needs the input's %lldx%lld f64 %s: run the calibrate pass "
                "with --weight-quant gptq first",
                at, (long long)per, (long long)per, hessian_attr);
      return -1;
    }
  } else if (qcc_quant_opts.weight_quant == QCC_WEIGHT_GPTQ) {
    /* GPTQ needs the Hessian of the conv's im2col input; not collected */
    qcc_remark("quantize: %s: weights rounded to nearest (--weight-quant gptq covers matmuls only)", at);
  }
  qcc_array w;
  bool borrowed;
  qcc_value_constant_borrow(L->w, &w, &borrowed);
  char err[256];
  if (!qcc_quantize_weights(w.data, channels, per, column_major, format, group, h.data, qw, err,
                            sizeof err))
    qcc_warning("quantize: %s: weights rounded to nearest: %s", at, err);
  else if (gptq)
    qcc_remark("quantize: %s: gptq weights: output SQNR %.2f dB (round to nearest %.2f dB), weight SQNR %.2f dB",
               at, qw->output_sqnr_db, qw->rtn_output_sqnr_db, qw->sqnr_db);
  if (!borrowed) qcc_array_free(&w);
  if (gptq) qcc_array_free(&h);
  return 0;
}

static MlirAttribute scales_attr(MlirContext ctx, const float *s, int64_t n) {
  qcc_shape sh = {QRT_F32, 1, {n}};
  return qcc_dense_attr(ctx, &sh, s);
}

/* The rotate pass's metrics of a layer's input (qcc.max_std_*,
 * qcc.qsur_*), moved onto the quantized op for --report. */
static void keep_metrics(MlirOperation from, MlirValue yq) {
  static const char *const names[] = {"qcc.max_std_before", "qcc.max_std_after", "qcc.qsur_before", "qcc.qsur_after"};
  MlirOperation to = mlirOpResultGetOwner(yq);
  for (int i = 0; i < 4; i++) {
    MlirAttribute a = mlirOperationGetAttributeByName(from, mlirStringRefCreateFromCString(names[i]));
    if (!mlirAttributeIsNull(a)) mlirOperationSetAttributeByName(to, mlirStringRefCreateFromCString(names[i]), a);
  }
}

static void set_db(MlirOperation op, const char *name, double db) {
  MlirContext ctx = mlirOperationGetContext(op);
  mlirOperationSetAttributeByName(op, mlirStringRefCreateFromCString(name),
                                  mlirFloatAttrDoubleGet(ctx, mlirF64TypeGet(ctx), isfinite(db) ? db : 999.0));
}

/* Records on the quantized op, for --report: the weight SQNR, how the
 * codes were chosen and, when the input Hessian was known, the output SQNR. */
static void note_weights(MlirValue yq, const qcc_qweights *qw) {
  MlirOperation op = mlirOpResultGetOwner(yq);
  set_db(op, "qcc.weight_sqnr_db", qw->sqnr_db);
  mlirOperationSetAttributeByName(op, mlirStringRefCreateFromCString("qcc.weight_quant"),
                                  mlirStringAttrGet(mlirOperationGetContext(op),
                                                    mlirStringRefCreateFromCString(qw->gptq ? "gptq" : "rtn")));
  if (!isnan(qw->output_sqnr_db)) set_db(op, "qcc.weight_output_sqnr_db", qw->output_sqnr_db);
}

static void finish(const layer *L, MlirValue yq) { qcc_use_quantized(L->op, L->out, yq); }

/* Weight-only conv (w8a16, w4a16): the weights are stored as integer codes
 * per output channel and expanded at run time, w = float(code) * scale[c],
 * into the float conv's weight operand (a few elementwise kernels over the
 * weights, small next to the conv's MACs):
 *   int8: codes i8 [weight shape] -> q.cast -> mul scale;
 *   int4: two codes per byte, byte i = (c[i] + 8) | (c[i + h] + 8) << 4
 *         (h = ceil(n / 2), the last high nibble 8 when n is odd): the bytes
 *         as ui8 [1, h] >> {0, 4} (broadcast to [2, h]) & 15 -> reshape
 *         [2h] (-> slice [0, n) when n is odd) -> reshape to the weight
 *         shape -> q.cast -> sub 8 -> mul scale.
 * Both give float(code) * scale[c] exactly, the same weights. */
static MlirValue binary_before(MlirOperation before, const char *kind, qcc_shape *ys, MlirValue a, MlirValue b) {
  q_binary_attrs k = {qcc_str(kind)};
  return qcc_insert_before(before, q_binary_create(mlirOperationGetLocation(before),
                                           qcc_tensor_type(mlirOperationGetContext(before), ys), a, b, &k));
}

/* The int4 codes (one per int8) of the weight as ui8 [wshape], unpacked
 * at run time from their packed bytes (see above). */
static MlirValue unpacked_int4_codes(MlirOperation op, const qcc_shape *ws, const int8_t *codes) {
  MlirLocation loc = mlirOperationGetLocation(op);
  MlirContext ctx = mlirOperationGetContext(op);
  const int64_t n = qcc_shape_numel(ws), h = (n + 1) / 2;
  uint8_t *packed = malloc((size_t)h), shifts[2] = {0, 4}, mask = 15;
  for (int64_t i = 0; i < h; i++)
    packed[i] = (uint8_t)((codes[i] + 8) | ((i + h < n ? codes[i + h] + 8 : 8) << 4));
  int64_t bdims[2] = {1, h}, sdims[2] = {2, 1};
  MlirValue bytes = qcc_constant_before(op, QRT_U8, 2, bdims, packed);
  free(packed);
  qcc_shape two = {QRT_U8, 2, {2, h}}, flat = {QRT_U8, 1, {2 * h}}, codes_s = *ws;
  codes_s.dtype = QRT_U8;
  MlirValue v = binary_before(op, "shr", &two, bytes, qcc_constant_before(op, QRT_U8, 2, sdims, shifts));
  v = binary_before(op, "bitand", &two, v, qcc_constant_before(op, QRT_U8, 0, NULL, &mask));
  v = qcc_insert_before(op, q_reshape_create(loc, qcc_tensor_type(ctx, &flat), v));
  if (2 * h != n) {
    qcc_shape cut = {QRT_U8, 1, {n}};
    q_slice_attrs sa = {{1, {0}}, {1, {1}}};
    v = qcc_insert_before(op, q_slice_create(loc, qcc_tensor_type(ctx, &cut), v, &sa));
  }
  return qcc_insert_before(op, q_reshape_create(loc, qcc_tensor_type(ctx, &codes_s), v));
}

static void expand_conv_weights(MlirOperation op, const qcc_shape *ws, const qcc_qweights *qw) {
  MlirLocation loc = mlirOperationGetLocation(op);
  MlirContext ctx = mlirOperationGetContext(op);
  qcc_shape fs = *ws, ss = *ws;
  fs.dtype = ss.dtype = QRT_F32;
  for (int i = 1; i < ss.rank; i++) ss.dims[i] = 1;
  MlirValue scales = qcc_constant_before(op, QRT_F32, ss.rank, ss.dims, qw->scales), wf;
  if (qw->format == QRT_WFMT_I4) {
    const float eight = 8.0f;
    wf = qcc_insert_before(op, q_cast_create(loc, qcc_tensor_type(ctx, &fs), unpacked_int4_codes(op, ws, qw->codes)));
    wf = binary_before(op, "sub", &fs, wf, qcc_constant_before(op, QRT_F32, 0, NULL, &eight));
  } else {
    MlirValue codes = qcc_constant_before(op, QRT_I8, ws->rank, ws->dims, qw->codes);
    wf = qcc_insert_before(op, q_cast_create(loc, qcc_tensor_type(ctx, &fs), codes));
  }
  MlirValue w = binary_before(op, "mul", &fs, wf, scales);
  note_weights(w, qw);
  mlirOperationSetOperand(op, 1, w);
}

/* Static activations: q.qconv with int8 weights per output channel. */
static void integer_conv(MlirOperation op, const layer *L, const qcc_shape *ws, const qcc_qweights *qw) {
  int64_t ch = ws->dims[0];
  int64_t *bias = malloc(sizeof(int64_t) * (size_t)ch);
  int32_t *mult = malloc(sizeof(int32_t) * (size_t)(2 * ch)), *shift = mult + ch;
  requant_constants(L, qw->scales, ch, bias, mult, shift);
  MlirLocation loc = mlirOperationGetLocation(op);
  MlirContext ctx = mlirOperationGetContext(op);
  MlirValue xq = qcc_quantized_input(op, L->x, L->in);
  q_conv_attrs ca = q_conv_get(op);
  q_qconv_attrs a = {ca.strides, ca.pads, ca.dilations, ca.group, L->relu ? L->outp.zero_point : L->outp.qmin,
                     L->outp.qmax, scales_attr(ctx, qw->scales, ch), qcc_str(qcc_wformat_name(qw->format))};
  MlirValue yq = qcc_insert_before(
      op, q_qconv_create(loc, qcc_quant_type_of(ctx, L->out, L->outp), xq,
                         qcc_constant_before(op, QRT_I8, ws->rank, ws->dims, qw->codes),
                         bias_constant(op, L, bias, ch), qcc_constant_before(op, QRT_I32, 1, &ch, mult),
                         qcc_shift_constant(op, shift, ch), qcc_constant_before(op, QRT_I32, 1, &ch, qw->colsum), &a));
  note_weights(yq, qw);
  finish(L, yq);
  free(bias);
  free(mult);
}

static int quantize_conv(MlirOperation op) {
  if (scheme()->block_format >= 0 || scheme()->act_bits == 16) {
    char at[256];
    qcc_remark("quantize: %s stays float: %s cover matmuls only", qcc_op_where(op, at, sizeof at),
               scheme()->act_bits == 16 ? "int16 activations" : "block formats");
    return 0;
  }
  const bool weight_only = scheme()->act_bits == 0;
  layer L;
  if (!plan_layer(op, q_conv_in(op, 0), q_conv_in(op, 1), q_conv_in(op, 2), !weight_only, &L)) return 0;
  qcc_shape ws;
  qcc_shape_of(L.w, &ws);
  int64_t ch = ws.dims[0], per = qcc_shape_numel(&ws) / ch;
  /* convs: per output channel (no groups) in the scheme's format */
  qcc_qweights qw;
  if (layer_weights(&L, ch, per, false, scheme()->weight_format, 0, &qw)) return -1;
  if (weight_only) expand_conv_weights(op, &ws, &qw);
  else integer_conv(op, &L, &ws, &qw);
  qcc_qweights_free(&qw);
  return 0;
}

/* The bound on K under which the integer sums of a layer are exact (the
 * kernels' documented limit: |a| <= 128 with the zero point folded). */
/* q.fqmatmul: float activations, integer weights; act_bits 0 (weight-only)
 * or the bits of the run-time per-row quantization. */
static int quantize_matmul_float_act(MlirOperation op, int act_bits) {
  layer L;
  if (!plan_layer(op, q_matmul_in(op, 0), q_matmul_in(op, 1), q_matmul_in(op, 2), false, &L)) return 0;
  qcc_shape bs;
  qcc_shape_of(L.w, &bs);
  int64_t K = bs.dims[0], N = bs.dims[1], group = group_size(K);
  qcc_qweights qw;
  if (layer_weights(&L, N, K, true, scheme()->weight_format, group, &qw)) return -1;
  if (act_bits && !qcc_int8_sums_exact(&qw)) {
    char at[256];
    qcc_remark("quantize: %s stays float: K = %lld: its int32 sums could overflow (128 x the largest column sum of "
               "|weight codes| >= 2^31)", qcc_op_where(op, at, sizeof at), (long long)K);
    qcc_qweights_free(&qw);
    return 0;
  }
  float *bias = calloc((size_t)N, sizeof(float));
  qcc_array b;
  if (!mlirValueIsNull(L.bias) && qcc_value_constant(L.bias, &b)) {
    memcpy(bias, b.data, sizeof(float) * (size_t)N);
    qcc_array_free(&b);
  }
  int64_t gdims[2] = {group ? (K + group - 1) / group : 0, N};
  MlirValue gm = {NULL};
  if (group) gm = qcc_constant_before(op, QRT_U8, 2, gdims, qw.gmult);
  q_fqmatmul_attrs a = {qcc_str(qcc_wformat_name(qw.format)), group, act_bits};
  MlirValue y = qcc_insert_before(
      op, q_fqmatmul_create(mlirOperationGetLocation(op), mlirValueGetType(L.out), L.x,
                            qcc_constant_before(op, QRT_I8, 2, bs.dims, qw.codes), qcc_constant_before(op, QRT_F32, 1, &N, bias),
                            qcc_constant_before(op, QRT_F32, 1, &N, qw.scales), gm, &a));
  note_weights(y, &qw);
  keep_metrics(op, y);
  mlirValueReplaceAllUsesOfWith(L.out, y);
  free(bias);
  qcc_qweights_free(&qw);
  return 0;
}

/* q.bmatmul: weights in the scheme's block format, column by column; the
 * inputs quantized to the same format at run time (no calibration). */
static int quantize_matmul_block(MlirOperation op) {
  layer L;
  if (!plan_layer(op, q_matmul_in(op, 0), q_matmul_in(op, 1), q_matmul_in(op, 2), false, &L)) return 0;
  const int fmt = scheme()->block_format;
  qcc_shape bs;
  qcc_shape_of(L.w, &bs);
  int64_t K = bs.dims[0], N = bs.dims[1], col_bytes = qrt_bfmt_bytes(fmt, K);
  qcc_array w;
  qcc_value_constant(L.w, &w);
  const float *wf = w.data;
  float *col = malloc(sizeof(float) * (size_t)K), *back = malloc(sizeof(float) * (size_t)K);
  uint8_t *packed = malloc((size_t)(N * col_bytes));
  double signal = 0, noise = 0;
  for (int64_t n = 0; n < N; n++) {
    for (int64_t k = 0; k < K; k++) col[k] = wf[k * N + n];
    qrt_bfmt_encode(fmt, col, K, packed + n * col_bytes);
    qrt_bfmt_decode(fmt, packed + n * col_bytes, K, back);
    for (int64_t k = 0; k < K; k++) {
      signal += (double)col[k] * col[k];
      noise += ((double)col[k] - back[k]) * ((double)col[k] - back[k]);
    }
  }
  int64_t pdims[2] = {N, col_bytes};
  const char *name = qrt_bformat_get(fmt)->name;
  q_bmatmul_attrs a = {qcc_str(name), qcc_str(name)};
  MlirValue y = qcc_insert_before(op, q_bmatmul_create(mlirOperationGetLocation(op), mlirValueGetType(L.out), L.x,
                                                       qcc_constant_before(op, QRT_U8, 2, pdims, packed), L.bias, &a));
  set_db(mlirOpResultGetOwner(y), "qcc.weight_sqnr_db", noise > 0 ? 10 * log10(signal / noise) : INFINITY);
  keep_metrics(op, y);
  mlirValueReplaceAllUsesOfWith(L.out, y);
  free(col);
  free(back);
  free(packed);
  qcc_array_free(&w);
  return 0;
}

/* Both operands computed at run time (attention): q.bmatmul with b a float
 * [..., K, N], each of a's rows and b's columns quantized to the block
 * format at run time (as MX prescribes for any dot product). Batch dims
 * must be equal (no broadcasting). */
bool qcc_runtime_block_matmul_fits(MlirOperation op) {
  qcc_shape as, bs;
  qcc_shape_of(q_matmul_in(op, 0), &as);
  qcc_shape_of(q_matmul_in(op, 1), &bs);
  bool same_batch = as.rank == bs.rank && as.rank >= 2;
  for (int i = 0; same_batch && i < as.rank - 2; i++) same_batch = as.dims[i] == bs.dims[i];
  return as.dtype == QRT_F32 && bs.dtype == QRT_F32 && mlirValueIsNull(q_matmul_in(op, 2)) && same_batch;
}

static void quantize_matmul_block_runtime(MlirOperation op, const char *at) {
  MlirValue a = q_matmul_in(op, 0), b = q_matmul_in(op, 1), y = mlirOperationGetResult(op, 0);
  if (!qcc_runtime_block_matmul_fits(op)) {
    qcc_remark("quantize: %s stays float: run-time block matmuls need float operands of equal batch dims, no bias", at);
    return;
  }
  const char *name = qrt_bformat_get(scheme()->block_format)->name;
  q_bmatmul_attrs qa = {qcc_str(name), qcc_str(name)};
  MlirValue yq = qcc_insert_before(op, q_bmatmul_create(mlirOperationGetLocation(op), mlirValueGetType(y), a, b,
                                                        (MlirValue){NULL}, &qa));
  mlirValueReplaceAllUsesOfWith(y, yq);
}

/* a @ b with both operands computed at run time (attention scores and
 * mixing): a asymmetric and b symmetric (zero point 0: no column sums to
 * fold), both with static calibrated scales; one requantization
 * multiplier for all columns. int8 codes (sums in int32), or int16 under
 * w8i16 (int16 result, sums in int64: qrt_qmatmul_i16). */
static void quantize_matmul_activations(MlirOperation op, const char *at) {
  MlirValue a = q_matmul_in(op, 0), b = q_matmul_in(op, 1), y = mlirOperationGetResult(op, 0);
  qcc_shape as, bs, ys;
  qcc_shape_of(a, &as);
  qcc_shape_of(b, &bs);
  qcc_shape_of(y, &ys);
  double alo, ahi, blo, bhi;
  const int bits = scheme()->act_bits == 16 ? 16 : 8; /* w4a4's attention stays int8 (no KV-cache quantization) */
  layer L = {.op = op, .x = a, .w = b, .out = y};
  if (as.dtype != QRT_F32 || bs.dtype != QRT_F32 || !mlirValueIsNull(q_matmul_in(op, 2)) || as.rank < 2 ||
      bs.rank < 2) {
    qcc_remark("quantize: %s stays float: run-time operands must be float, at least 2-D, without bias", at);
    return;
  }
  if (!qcc_value_range_bits(a, bits, &alo, &ahi) || !qcc_value_range_bits(b, bits, &blo, &bhi) ||
      !output_params(y, &L.outp)) {
    qcc_remark("quantize: %s stays float: no calibration range (run with --calib; an If branch that no sample takes has none)", at);
    return;
  }
  int64_t K = as.dims[as.rank - 1], N = bs.dims[bs.rank - 1];
  /* int8: |a - z| <= 255, |b| <= 128 in int32; int16: int64 sums of
   * products below 2^31 (accum_bounds.c proves it per layer) */
  if (bits == 8 ? (double)K * 255.0 * 128.0 >= 2147483647.0 : K >= (int64_t)1 << 30) {
    qcc_remark("quantize: %s stays float: K = %lld: its int%d sums could overflow (%s)", at, (long long)K,
               bits == 8 ? 32 : 64, bits == 8 ? "K x 255 x 128 >= 2^31" : "K >= 2^30");
    return;
  }
  L.in = adopted_params(a, qcc_activation_params(alo, ahi, bits));
  /* B symmetric: a symmetric B of the same width (a layer chose it, see
   * output_params) is read as it is; else B is quantized symmetric here */
  qcc_qparams bp, want = qcc_symmetric_params(blo, bhi, bits);
  if (!qcc_int_source(b, NULL, &bp) || bp.zero_point != 0 || bp.qmin != want.qmin || bp.qmax != want.qmax) bp = want;
  float *scales = malloc(sizeof(float) * (size_t)N);
  int64_t *bias = malloc(sizeof(int64_t) * (size_t)N);
  int32_t *mult = malloc(sizeof(int32_t) * (size_t)(2 * N)), *shift = mult + N;
  for (int64_t n = 0; n < N; n++) scales[n] = (float)bp.scale;
  requant_constants(&L, scales, N, bias, mult, shift);
  MlirContext ctx = mlirOperationGetContext(op);
  MlirValue aq = qcc_quantized_input(op, a, L.in), bq = qcc_quantized_input(op, b, bp);
  q_qmatmul_attrs qa = {L.outp.qmin, L.outp.qmax, scales_attr(ctx, scales, N), qcc_str("int8"), 0};
  MlirValue yq = qcc_insert_before(
      op, q_qmatmul_create(mlirOperationGetLocation(op), qcc_quant_type_of(ctx, y, L.outp), aq, bq,
                           bias_constant(op, &L, bias, N), qcc_constant_before(op, QRT_I32, 1, &N, mult),
                           qcc_shift_constant(op, shift, N), (MlirValue){NULL}, &qa));
  finish(&L, yq);
  free(scales);
  free(bias);
  free(mult);
}

static int quantize_matmul(MlirOperation op) {
  qcc_shape bs;
  qcc_shape_of(q_matmul_in(op, 1), &bs);
  char at[256];
  qcc_op_where(op, at, sizeof at);
  if (!qcc_value_is_constant(q_matmul_in(op, 1))) {
    if (qcc_kept_float(at, "matmul") || qcc_kept_float(at, "runtime_matmul"))
      qcc_remark("quantize: %s stays float: --keep-float", at);
    else if (scheme()->block_format >= 0)
      quantize_matmul_block_runtime(op, at);
    else if (qcc_value_is_constant(q_matmul_in(op, 0)))
      /* W @ x (a token-mixing MLP): the integer paths take a constant
       * weight on the right (x @ W, scales per output column) or two
       * run-time operands with calibrated ranges; a constant has none */
      qcc_remark("quantize: %s stays float: its constant operand is on the left (W @ x); integer matmuls take "
                 "the constant weight on the right (x @ W)", at);
    else if (scheme()->act_bits == 0 || qcc_quant_opts.act_per_token)
      qcc_remark("quantize: %s stays float: both operands are computed at run time (%s)", at,
                 scheme()->act_bits ? "per-token scales are for weights' inputs" : "weight-only scheme");
    else
      quantize_matmul_activations(op, at);
    return 0;
  }
  if (bs.rank != 2) {
    qcc_remark("quantize: %s stays float: batched constant weights", at);
    return 0;
  }
  if (scheme()->block_format >= 0) return quantize_matmul_block(op);
  if (scheme()->act_bits == 0 || qcc_quant_opts.act_per_token)
    return quantize_matmul_float_act(op, qcc_quant_opts.act_per_token ? scheme()->act_bits : 0);
  layer L;
  if (!plan_layer(op, q_matmul_in(op, 0), q_matmul_in(op, 1), q_matmul_in(op, 2), true, &L)) return 0;
  int64_t K = bs.dims[0], N = bs.dims[1], group = group_size(K);
  qcc_qweights qw;
  if (layer_weights(&L, N, K, true, scheme()->weight_format, group, &qw)) return -1;
  /* int16 inputs sum in int64 (K < 2^30 keeps them exact: accum_bounds.c) */
  if (wide(L.in) ? K >= (int64_t)1 << 30 : !qcc_int8_sums_exact(&qw)) {
    qcc_remark("quantize: %s stays float: K = %lld: its %s sums could overflow (%s)", at, (long long)K,
               wide(L.in) ? "int64" : "int32",
               wide(L.in) ? "K >= 2^30" : "128 x the largest column sum of |weight codes| >= 2^31");
    qcc_qweights_free(&qw);
    return 0;
  }
  int64_t *bias = malloc(sizeof(int64_t) * (size_t)N);
  int32_t *mult = malloc(sizeof(int32_t) * (size_t)(2 * N)), *shift = mult + N;
  requant_constants(&L, qw.scales, N, bias, mult, shift);
  /* Fold the input zero point into the bias: sum (a - z) b + bias =
   * sum a b + (bias - z colsum), so the kernel does no zero-point work.
   * (int64 for int16 inputs: z up to 2^15 times a column sum can pass 2^31.) */
  const int64_t limit = wide(L.in) ? INT64_C(1) << 60 : INT32_MAX;
  for (int64_t n = 0; n < N; n++) {
    int64_t folded = bias[n] - L.in.zero_point * (int64_t)qw.colsum[n];
    if (folded > limit || folded < -limit) {
      qcc_remark("quantize: %s stays float: folded %s bias overflows", at, wide(L.in) ? "int64" : "int32");
      free(bias);
      free(mult);
      qcc_qweights_free(&qw);
      return 0;
    }
    bias[n] = folded;
  }
  MlirLocation loc = mlirOperationGetLocation(op);
  MlirContext ctx = mlirOperationGetContext(op);
  MlirValue xq = qcc_quantized_input(op, L.x, L.in);
  int64_t gdims[2] = {group ? (K + group - 1) / group : 0, N};
  MlirValue gm = {NULL};
  if (group) gm = qcc_constant_before(op, QRT_U8, 2, gdims, qw.gmult);
  q_qmatmul_attrs a = {L.relu ? L.outp.zero_point : L.outp.qmin, L.outp.qmax, scales_attr(ctx, qw.scales, N),
                       qcc_str(qcc_wformat_name(qw.format)), group};
  MlirValue yq = qcc_insert_before(
      op, q_qmatmul_create(loc, qcc_quant_type_of(ctx, L.out, L.outp), xq, qcc_constant_before(op, QRT_I8, 2, bs.dims, qw.codes),
                           bias_constant(op, &L, bias, N), qcc_constant_before(op, QRT_I32, 1, &N, mult),
                           qcc_shift_constant(op, shift, N), gm, &a));
  note_weights(yq, &qw);
  keep_metrics(op, yq);
  finish(&L, yq);
  free(bias);
  free(mult);
  qcc_qweights_free(&qw);
  return 0;
}

/* The float layers of the body: convolutions and matmuls with a constant
 * weight (attention's run-time products are not counted). */
static int float_layers(MlirBlock body, int *convs) {
  int n = 0;
  *convs = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    if (q_conv_is(op) && qcc_value_is_constant(q_conv_in(op, 1))) ++*convs, ++n;
    if (q_matmul_is(op) && qcc_value_is_constant(q_matmul_in(op, 1))) ++n;
  }
  return n;
}

int qcc_pass_quantize(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  MlirOperation ret = mlirBlockGetTerminator(body);
  int rc = 0, convs, convs_left, allocated_f32 = 0;
  const int layers = float_layers(body, &convs);
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationEqual(op, ret) && !rc;) {
    MlirOperation next = mlirOperationGetNextInBlock(op);
    if (!qcc_layer_scheme(op, &op_scheme)) rc = -1;
    else if (op_scheme && !qcc_scheme_quantizes(op_scheme)) {
      char at[256];
      allocated_f32++;
      qcc_remark("quantize: %s stays float: allocated f32", qcc_op_where(op, at, sizeof at));
    } else if (q_loop_is(op)) {
      char at[256];
      qcc_remark("quantize: %s stays float: the body of a C loop is not quantized (its values have no one range "
                 "over the iterations), nor are the values it returns (they have no calibration range)", qcc_op_where(op, at, sizeof at));
    } else if (q_conv_is(op)) rc = quantize_conv(op);
    else if (q_matmul_is(op)) rc = quantize_matmul(op);
    else if (scheme()->act_bits && !qcc_quant_opts.act_per_token) { /* static int8 activations */
      rc = qcc_quantize_movement(op);
      if (!rc) rc = qcc_quantize_nonlinear(op);
      if (!rc && qcc_quant_opts.integer_only) rc = qcc_quantize_add(op);
    }
    op = next;
  }
  op_scheme = NULL;
  /* The float layers (and folded ReLUs) are dead now. */
  if (rc || qcc_pass_dce(m)) return -1;
  /* A scheme that applies to no layer of this model says so, as --rotate
   * and --smooth do (e.g. a block format on a convolutional network).
   * Layers a per-layer scheme keeps float (-q auto's allocation, or the
   * copies sensitivity.c quantizes one layer or attention site at a time)
   * are not the scheme's doing. */
  if (layers > allocated_f32 && float_layers(body, &convs_left) == layers)
    qcc_warning("-q %s: no layer quantized: all %d (%d convolutions, %d matmuls) stay float; -v says why for each",
                qcc_quant_active_scheme()->name, layers, convs, layers - convs);
  /* The Hessians served their purpose; layers left float drop theirs too. */
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op))
    mlirOperationRemoveAttributeByName(op, mlirStringRefCreateFromCString(hessian_attr));
  return qcc_check_accumulators(m);
}
