/* onnx_fuse_qdq.c - a QDQ model's quantized layers as QLinear ops, before
 * legalization.
 *
 * The QDQ format (ONNX Runtime's quantize_static default, PyTorch's
 * quantized exports) writes an int8 layer as float ops between
 * DequantizeLinear and QuantizeLinear:
 *
 *   DQ(x_q) -> Conv / MatMul / Gemm (DQ(w_q) const[, DQ(b_i32) const]) [-> Relu / Clip] -> Q
 *
 * which, taken literally, is a float convolution on dequantized values.
 * Runtimes fuse it into the integer layer it stands for (ONNX Runtime's
 * QDQ transformer); so does this: the chain becomes one onnx.QLinearConv
 * / onnx.QLinearMatMul with the DQs' and Q's scales and zero points, which
 * legalization then runs on the int8 kernels (onnx_adopt_int8.c). The sums
 * become exact integers where the float layer rounded them, so a code may
 * differ by one from the literal float form near a rounding tie, as ONNX
 * Runtime's fused kernels do.
 *
 * A chain fuses only when it means exactly that layer: the Conv/MatMul
 * result read by the Q alone, or by a Relu or a Clip with constant bounds
 * read by the Q alone (ReLU6), which become bounds on the output codes
 * (`qcc.code_min` / `qcc.code_max`): Q is monotonic, so Q(clip(y, a, b)) =
 * clamp(Q(y), Q(a), Q(b)) exactly, and Relu is a = 0, Q(0) = y_zp.
 * A Gemm fuses as a matmul (alpha = beta = 1, A not transposed; a
 * transposed B is transposed at compile time), its C as the int32 bias
 * that qcc's QLinearMatMul takes as a ninth input (ONNX's has none).
 * Further, the weight's DQ must be a constant with scales along its output
 * channels (Conv: axis 0; MatMul: 2-D, axis 1; Gemm's B^T: axis 0) or one scale, the bias's
 * DQ int32 with zero point 0 and scale x_scale * w_scale (float32, per
 * channel) exactly, no block_size, and the Q's scale and zero point one
 * value each. The rest stays as written. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_match.h"
#include "onnx_rules.h"

static bool is(MlirOperation op, const char *name) { return !mlirOperationIsNull(op) && q_op_named(op, name); }

static int64_t int_attr(MlirOperation op, const char *name, int64_t dflt) {
  MlirAttribute a = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(name));
  return !mlirAttributeIsNull(a) && mlirAttributeIsAInteger(a) ? mlirIntegerAttrGetValueInt(a) : dflt;
}

static MlirValue operand(MlirOperation op, intptr_t i) {
  return i < mlirOperationGetNumOperands(op) ? mlirOperationGetOperand(op, i) : (MlirValue){NULL};
}

static bool absent(MlirValue v) { return mlirValueIsNull(v) || is(def(v), "onnx.NoValue"); }

static float float_attr(MlirOperation op, const char *name, float dflt) {
  MlirAttribute a = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(name));
  return !mlirAttributeIsNull(a) && mlirAttributeIsAFloat(a) ? (float)mlirFloatAttrGetValueDouble(a) : dflt;
}

/* One constant float32 value, or dflt when v is absent; false when v is
 * there but not one constant float. */
static bool one_float(MlirValue v, float dflt, float *out) {
  qcc_array a;
  *out = dflt;
  if (absent(v)) return true;
  if (!qcc_value_constant(v, &a)) return false;
  bool ok = a.dtype == QRT_F32 && qcc_array_numel(&a) == 1;
  if (ok) *out = *(float *)a.data;
  qcc_array_free(&a);
  return ok;
}

/* The codes Q gives the real bounds [lo, hi] of a Relu (0, +inf) or Clip
 * before it: saturate(round_half_even(v / y_scale) + y_zp), as
 * QuantizeLinear computes them (float32 division); false when the
 * activation's bounds or Q's parameters are not constants. */
static bool activation_codes(MlirOperation act, MlirOperation q, int64_t *cmin, int64_t *cmax) {
  float lo = 0, hi = INFINITY, sy;
  if (is(act, "onnx.Clip")) {
    lo = float_attr(act, "min", -INFINITY); /* opset < 11: attributes */
    hi = float_attr(act, "max", INFINITY);
    if (!one_float(operand(act, 1), lo, &lo) || !one_float(operand(act, 2), hi, &hi)) return false;
  }
  qcc_array z;
  int64_t zy = 0, qmin = 0, qmax = 255;
  if (!one_float(operand(q, 1), NAN, &sy) || !(sy > 0)) return false;
  if (!absent(operand(q, 2))) {
    if (!qcc_value_constant(operand(q, 2), &z)) return false;
    if (z.dtype == QRT_I8) zy = *(int8_t *)z.data, qmin = -128, qmax = 127;
    else if (z.dtype == QRT_U8) zy = *(uint8_t *)z.data;
    qcc_array_free(&z);
  }
  const float ql = nearbyintf(lo / sy), qh = nearbyintf(hi / sy); /* +-inf saturate below */
  *cmin = ql <= (float)(qmin - zy) ? qmin : ql >= (float)(qmax - zy) ? qmax : (int64_t)ql + zy;
  *cmax = qh <= (float)(qmin - zy) ? qmin : qh >= (float)(qmax - zy) ? qmax : (int64_t)qh + zy;
  return !(lo > hi);
}

static MlirNamedAttribute i64_attr(MlirContext ctx, const char *name, int64_t v) {
  return mlirNamedAttributeGet(mlirIdentifierGet(ctx, mlirStringRefCreateFromCString(name)),
                               mlirIntegerAttrGet(mlirIntegerTypeGet(ctx, 64), v));
}

/* A constant's values as floats (1 or n of them), or 0 values. */
static int64_t const_floats(MlirValue v, float *out, int64_t cap) {
  qcc_array a;
  if (absent(v) || !qcc_value_constant(v, &a)) return 0;
  int64_t k = qcc_array_numel(&a);
  if (a.dtype != QRT_F32 || k > cap) k = 0;
  if (k) memcpy(out, a.data, sizeof(float) * (size_t)k);
  qcc_array_free(&a);
  return k;
}

/* A DQ's scale has one value, or one per index of `axis` of its input. */
static bool scale_fits(MlirOperation dq, int64_t axis, int64_t rank) {
  qcc_shape s, x; /* x's shape is needed (and known) only with one scale per channel */
  if (int_attr(dq, "block_size", 0) != 0 || !qcc_shape_of(operand(dq, 1), &s)) return false;
  if (qcc_shape_numel(&s) == 1) return true;
  if (!qcc_shape_of(operand(dq, 0), &x)) return false;
  int64_t a = int_attr(dq, "axis", 1);
  if (a < 0) a += x.rank;
  return x.rank == rank && s.rank == 1 && a == axis && s.dims[0] == x.dims[axis];
}

/* The Conv bias's DQ: int32 codes, zero point 0 (or none), and scale
 * x_scale * w_scale[c] in float32 for every channel. */
static bool bias_fits(MlirOperation dq, MlirOperation dqx, MlirOperation dqw, int64_t channels) {
  enum { CAP = 1 << 16 };
  static float sb[CAP], sw[CAP];
  float sx;
  qcc_shape b;
  qcc_array z;
  if (!is(dq, "onnx.DequantizeLinear") || !qcc_shape_of(operand(dq, 0), &b) || b.dtype != QRT_I32 ||
      !qcc_value_is_constant(operand(dq, 0)) || channels > CAP || !scale_fits(dq, 0, 1))
    return false;
  if (!absent(operand(dq, 2))) {
    if (!qcc_value_constant(operand(dq, 2), &z)) return false;
    bool zero = true;
    for (int64_t i = 0; i < qcc_array_numel(&z); i++) zero &= ((int32_t *)z.data)[i] == 0;
    qcc_array_free(&z);
    if (!zero) return false;
  }
  const int64_t kb = const_floats(operand(dq, 1), sb, CAP), kw = const_floats(operand(dqw, 1), sw, CAP);
  if (const_floats(operand(dqx, 1), &sx, 1) != 1 || !(kb == 1 || kb == channels) || !(kw == 1 || kw == channels))
    return false;
  for (int64_t c = 0; c < channels; c++) {
    volatile float want = sx * sw[kw == 1 ? 0 : c];
    if (sb[kb == 1 ? 0 : c] != want) return false;
  }
  return true;
}

/* A constant [N, K] weight w (shape *s) as a new constant [K, N] before
 * `before`; *s becomes its shape. */
static MlirValue transposed(MlirOperation before, MlirValue w, qcc_shape *s) {
  qcc_array a, t;
  qcc_value_constant(w, &a);
  const size_t es = qcc_dtype_size(a.dtype);
  const int64_t N = s->dims[0], K = s->dims[1];
  t = a;
  t.dims[0] = K;
  t.dims[1] = N;
  t.data = malloc(a.nbytes);
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++) memcpy((char *)t.data + (size_t)(k * N + n) * es, (char *)a.data + (size_t)(n * K + k) * es, es);
  MlirValue v = qcc_make_constant(before, mlirOperationGetLocation(before), &t);
  free(t.data);
  qcc_array_free(&a);
  s->dims[0] = K;
  s->dims[1] = N;
  return v;
}

/* One chain ending at Q: the fused op inserted before Q and Q replaced
 * (true), or nothing. */
static bool fuse(MlirOperation q) {
  MlirValue in = operand(q, 0);
  MlirOperation layer = def(in), act = {NULL};
  int64_t cmin = 0, cmax = 0;
  if (is(layer, "onnx.Relu") || is(layer, "onnx.Clip")) {
    if (!single_use(in) || !activation_codes(layer, q, &cmin, &cmax)) return false;
    act = layer;
    in = operand(act, 0);
    layer = def(in);
  }
  const bool conv = is(layer, "onnx.Conv"), gemm = is(layer, "onnx.Gemm");
  if (!(conv || gemm || is(layer, "onnx.MatMul")) || !single_use(in) || int_attr(q, "block_size", 0) != 0) return false;
  /* Gemm as a matmul: y = A B + C only (alpha = beta = 1, A not transposed) */
  const bool trans_b = gemm && int_attr(layer, "transB", 0) != 0;
  if (gemm && (float_attr(layer, "alpha", 1) != 1 || float_attr(layer, "beta", 1) != 1 || int_attr(layer, "transA", 0)))
    return false;
  MlirOperation dqx = def(operand(layer, 0)), dqw = def(operand(layer, 1));
  qcc_shape ws, ys, zs;
  /* distinct ops (a DQ read twice by the layer would be erased twice) and
   * the Q's own output type (opset 21's output_dtype: not read here) */
  if (mlirOperationEqual(dqx, dqw) || int_attr(q, "output_dtype", 0) != 0 ||
      (!absent(operand(layer, 2)) && (mlirOperationEqual(def(operand(layer, 2)), dqx) ||
                                      mlirOperationEqual(def(operand(layer, 2)), dqw))))
    return false;
  if (!is(dqx, "onnx.DequantizeLinear") || !is(dqw, "onnx.DequantizeLinear") ||
      !qcc_value_is_constant(operand(dqw, 0)) || !qcc_shape_of(operand(dqw, 0), &ws) ||
      !qcc_shape_of(operand(q, 1), &ys) || qcc_shape_numel(&ys) != 1 ||
      (!absent(operand(q, 2)) && (!qcc_shape_of(operand(q, 2), &zs) || qcc_shape_numel(&zs) != 1)))
    return false;
  if (!scale_fits(dqx, -1, -1) ||
      !(conv ? scale_fits(dqw, 0, ws.rank) : ws.rank == 2 && scale_fits(dqw, trans_b ? 0 : 1, 2)))
    return false;
  MlirValue bias = conv || gemm ? operand(layer, 2) : (MlirValue){NULL};
  const int64_t channels = conv || trans_b ? ws.dims[0] : ws.dims[1];
  if (!absent(bias) && !bias_fits(def(bias), dqx, dqw, channels)) return false;
  MlirValue weight = operand(dqw, 0);
  if (trans_b) weight = transposed(q, weight, &ws);
  /* QLinearConv: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B;
   * QLinearMatMul: the first eight. An absent zero point stays absent. */
  MlirValue none = {NULL};
  MlirValue ops[9] = {operand(dqx, 0), operand(dqx, 1), operand(dqx, 2), weight,          operand(dqw, 1),
                      operand(dqw, 2), operand(q, 1),   operand(q, 2),   absent(bias) ? none : operand(def(bias), 0)};
  int n_in = 9; /* QLinearMatMul's ninth, the int32 bias, is qcc's (a Gemm's C) */
  while (n_in > 0 && absent(ops[n_in - 1])) n_in--;
  MlirValue nv = {NULL};
  for (int i = 0; i < n_in; i++)
    if (absent(ops[i])) {
      if (mlirValueIsNull(nv)) {
        MlirOperationState st = mlirOperationStateGet(mlirStringRefCreateFromCString("onnx.NoValue"),
                                                      mlirOperationGetLocation(q));
        MlirType t = mlirNoneTypeGet(mlirOperationGetContext(q));
        mlirOperationStateAddResults(&st, 1, &t);
        nv = qcc_insert_before(q, mlirOperationCreate(&st));
      }
      ops[i] = nv;
    }
  MlirNamedAttribute attrs[16];
  int n_attrs = 0;
  for (intptr_t i = 0; conv && i < mlirOperationGetNumAttributes(layer) && n_attrs < 14; i++)
    attrs[n_attrs++] = mlirOperationGetAttribute(layer, i); /* the geometry */
  if (!conv && n_in == 9) attrs[n_attrs++] = i64_attr(mlirOperationGetContext(q), "qcc.gemm_bias", 1);
  if (!mlirOperationIsNull(act)) {
    attrs[n_attrs++] = i64_attr(mlirOperationGetContext(q), "qcc.code_min", cmin);
    attrs[n_attrs++] = i64_attr(mlirOperationGetContext(q), "qcc.code_max", cmax);
  }
  MlirOperationState st = mlirOperationStateGet(
      mlirStringRefCreateFromCString(conv ? "onnx.QLinearConv" : "onnx.QLinearMatMul"), mlirOperationGetLocation(layer));
  MlirType t = mlirValueGetType(mlirOperationGetResult(q, 0));
  mlirOperationStateAddOperands(&st, n_in, ops);
  mlirOperationStateAddResults(&st, 1, &t);
  mlirOperationStateAddAttributes(&st, n_attrs, attrs);
  MlirValue fused = qcc_insert_before(q, mlirOperationCreate(&st));
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(q, 0), fused);
  MlirOperation dead[6] = {q, act, layer, absent(bias) ? (MlirOperation){NULL} : def(bias), dqw, dqx};
  for (int i = 0; i < 6; i++) /* in use order; a DQ others still read stays */
    if (!mlirOperationIsNull(dead[i]) && mlirOpOperandIsNull(mlirValueGetFirstUse(mlirOperationGetResult(dead[i], 0))))
      mlirOperationDestroy(dead[i]);
  return true;
}

int onnx_fuse_qdq(MlirBlock body) {
  int fused = 0;
  if (qcc_exact_qlinear) return 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);) {
    MlirOperation next = mlirOperationGetNextInBlock(op);
    if (is(op, "onnx.QuantizeLinear") && fuse(op)) fused++;
    op = next;
  }
  if (fused)
    qcc_remark("legalize: %d QDQ layer%s (DequantizeLinear -> Conv/MatMul [-> Relu/Clip] -> QuantizeLinear) fused "
               "into QLinear ops", fused, fused > 1 ? "s" : "");
  return fused;
}
