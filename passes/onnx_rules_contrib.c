/* onnx_rules_contrib.c - ONNX Runtime's contrib operators (domain
 * com.microsoft) that exported and quantized models carry, each expanded
 * into the default-domain operators its definition is made of
 * (onnx_expand.c), so the default rules check and legalize them:
 *
 *   QLinearAdd/Mul        Q(DQ(a) op DQ(b))              (ORT's QOperator
 *   QLinearSigmoid        Q(Sigmoid(DQ(x)))               format: the ONNX
 *   QLinearLeakyRelu      Q(LeakyRelu(DQ(x)))             model zoo's int8
 *   QLinearConcat         Q(Concat(DQ(x_i)...))           models)
 *   QLinearWhere          Q(Where(c, DQ(x), DQ(y)))
 *   QLinearAveragePool    Q(AveragePool(DQ(x))), NHWC by transposes
 *   QLinearGlobalAveragePool   likewise
 *   QLinearSoftmax        Q(Softmax(DQ(x))) at the op's own `opset`
 *   QGemm                 int32 (a - za)(b - zb) + c, scaled by sa sb alpha,
 *                         then Q by y_scale or float out
 *   MatMulIntegerToFloat  (a - za)(b - zb) sa sb + bias
 *   DynamicQuantizeMatMul DynamicQuantizeLinear(a), then as above
 *   QuantizeLinear / DequantizeLinear   the default ops
 *   Trilu, GridSample     the default ops (ORT's before opsets 14 and 16)
 *   FusedConv, FusedGemm  activation(Conv(x, w, b) (+ z)), activation(Gemm)
 *   Gelu, BiasGelu, FastGelu, QuickGelu   (bias +) gelu / x sigmoid(a x)
 *   FusedMatMul           alpha op(A) op(B), op = transpose of the last two
 *   SkipLayerNormalization           LayerNorm(x + skip (+ bias))
 *   SkipSimplifiedLayerNormalization RMSNorm(x + skip (+ bias))
 *   SimplifiedLayerNormalization     RMSNorm (ORT registers it in the
 *                                    default domain)
 *
 * The quantized ops round as QuantizeLinear does (half to even) from the
 * float result: ONNX Runtime's kernels compute the same real values,
 * some through tables or fixed point, so a code may differ by one where a
 * value falls within float rounding of a half (test/import/contrib.test
 * measures it against ONNX Runtime). */
#include <string.h>

#include "onnx_rules.h"

#define CONTRIB "com.microsoft."

/* The opsets the expansions are written against: Q/DQ with an axis and
 * Softmax over one axis (13), LayerNormalization (17), Gelu (20),
 * RMSNormalization (23). */
enum { OPSET_QDQ = 13, OPSET_LAYERNORM = 17, OPSET_GELU = 20, OPSET_RMSNORM = 23 };

static MlirValue in(onnx_node *n, int i) { return onnx_raw_in(n, i); }

static MlirValue op1(onnx_node *n, const char *type, int opset, MlirValue a) {
  return onnx_expand1(n, type, opset, 1, &a, NULL, 0);
}

/* ---- quantized operators (QOperator format) ---- */

/* The element type of input i, or QRT_F32 when absent or unknown. */
static qrt_dtype dtype_of(onnx_node *n, int i) {
  qcc_shape s;
  return onnx_has_in(n, i) && qcc_shape_of(onnx_in(n, i), &s) ? s.dtype : QRT_F32;
}

/* DequantizeLinear(x, scale, zp) of inputs x, s, z (z may be absent). */
static MlirValue dq(onnx_node *n, int x, int s, int z) {
  MlirValue v[3] = {in(n, x), in(n, s), onnx_has_in(n, z) ? in(n, z) : (MlirValue){NULL}};
  return onnx_expand1(n, "DequantizeLinear", OPSET_QDQ, 3, v, NULL, 0);
}

/* QuantizeLinear(v, scale, zp) to the type of input `like`: an absent
 * zero point is a 0 of that type (QuantizeLinear's own default would be
 * uint8 whatever the inputs were). */
static MlirValue q(onnx_node *n, MlirValue v, int s, int z, int like) {
  MlirValue zp = onnx_has_in(n, z) ? in(n, z) : onnx_scalar(n, dtype_of(n, like), 0);
  MlirValue a[3] = {v, in(n, s), zp};
  return onnx_expand1(n, "QuantizeLinear", OPSET_QDQ, 3, a, NULL, 0);
}

static int ok(MlirValue v) { return mlirValueIsNull(v) ? -1 : 0; }

/* QLinearAdd / QLinearMul: a, a_scale, a_zp, b, b_scale, b_zp, c_scale, c_zp. */
static int qlinear_binary(onnx_node *n, const char *type, MlirValue *res) {
  if (!onnx_need_inputs(n, "xx-xx-x-")) return -1;
  MlirValue a = dq(n, 0, 1, 2), b = dq(n, 3, 4, 5);
  res[0] = q(n, onnx_expand2(n, type, a, b), 6, 7, 0);
  return ok(res[0]);
}
static int rule_qlinear_add(onnx_node *n, MlirValue *res) { return qlinear_binary(n, "Add", res); }
static int rule_qlinear_mul(onnx_node *n, MlirValue *res) { return qlinear_binary(n, "Mul", res); }

/* QLinearSigmoid / QLinearLeakyRelu (alpha): x, x_scale, x_zp, y_scale, y_zp. */
static int rule_qlinear_sigmoid(onnx_node *n, MlirValue *res) {
  if (!onnx_need_inputs(n, "xx-x-")) return -1;
  res[0] = q(n, op1(n, "Sigmoid", OPSET_QDQ, dq(n, 0, 1, 2)), 3, 4, 0);
  return ok(res[0]);
}

static int rule_qlinear_leaky_relu(onnx_node *n, MlirValue *res) {
  if (!onnx_need_inputs(n, "xx-x-")) return -1;
  MlirNamedAttribute alpha = onnx_xattr_float(n, "alpha", onnx_attr_float(n, "alpha", 0.01));
  MlirValue x = dq(n, 0, 1, 2);
  res[0] = q(n, onnx_expand1(n, "LeakyRelu", OPSET_QDQ, 1, &x, &alpha, 1), 3, 4, 0);
  return ok(res[0]);
}

/* QLinearConcat (axis): y_scale, y_zp, then (x, x_scale, x_zp) per input. */
static int rule_qlinear_concat(onnx_node *n, MlirValue *res) {
  if (n->n_in < 5 || (n->n_in - 2) % 3) return onnx_fail(n, "expects y_scale, y_zero_point and (x, scale, zero point) triples");
  const int k = (n->n_in - 2) / 3;
  if (k > 16) return onnx_fail(n, "more than 16 inputs are not supported");
  MlirValue xs[16];
  for (int i = 0; i < k; i++) {
    if (!onnx_has_in(n, 2 + 3 * i) || !onnx_has_in(n, 3 + 3 * i))
      return onnx_fail(n, "input %d or its scale is missing", 2 + 3 * i);
    xs[i] = dq(n, 2 + 3 * i, 3 + 3 * i, 4 + 3 * i);
  }
  if (!onnx_has_in(n, 0)) return onnx_fail(n, "required input 0 (y_scale) is missing");
  if (!onnx_has_attr(n, "axis")) return onnx_fail(n, "attribute 'axis' is required");
  MlirNamedAttribute axis = onnx_xattr_int(n, "axis", onnx_attr_int(n, "axis", 0));
  res[0] = q(n, onnx_expand1(n, "Concat", OPSET_QDQ, k, xs, &axis, 1), 0, 1, 2);
  return ok(res[0]);
}

/* QLinearWhere: condition, x, x_scale, x_zp, y, y_scale, y_zp, z_scale, z_zp. */
static int rule_qlinear_where(onnx_node *n, MlirValue *res) {
  if (!onnx_need_inputs(n, "xxx-xx-x-")) return -1;
  MlirValue v[3] = {in(n, 0), dq(n, 1, 2, 3), dq(n, 4, 5, 6)};
  res[0] = q(n, onnx_expand1(n, "Where", OPSET_QDQ, 3, v, NULL, 0), 7, 8, 1);
  return ok(res[0]);
}

/* x [N, d1.., C] <-> [N, C, d1..] around a pool for channels_last. */
static MlirValue channels_move(onnx_node *n, MlirValue x, int rank, bool to_first) {
  int64_t perm[QRT_MAX_RANK];
  perm[0] = 0;
  for (int i = 1; i < rank; i++) perm[i] = to_first ? (i == 1 ? rank - 1 : i - 1) : (i == rank - 1 ? 1 : i + 1);
  MlirNamedAttribute p = onnx_xattr_ints(n, "perm", perm, rank);
  return onnx_expand1(n, "Transpose", OPSET_QDQ, 1, &x, &p, 1);
}

/* QLinearAveragePool (AveragePool's attributes, channels_last) and
 * QLinearGlobalAveragePool (channels_last): x, x_scale, x_zp, y_scale, y_zp. */
static int qlinear_pool(onnx_node *n, const char *type, MlirValue *res) {
  if (!onnx_need_inputs(n, "xx-x-")) return -1;
  qcc_shape xs;
  if (!onnx_in_shape(n, 0, &xs)) return -1;
  if (xs.rank < 3) return onnx_fail(n, "input must have rank 3 or more (rank %d)", xs.rank);
  const bool last = onnx_attr_int(n, "channels_last", 0) != 0;
  static const char *const skip[] = {"channels_last", NULL};
  MlirNamedAttribute attrs[16];
  const int k = onnx_xattr_copy(n, skip, attrs, 16);
  MlirValue x = dq(n, 0, 1, 2);
  if (last) x = channels_move(n, x, xs.rank, true);
  MlirValue y = onnx_expand1(n, type, 19, 1, &x, attrs, k);
  if (last) y = channels_move(n, y, xs.rank, false);
  res[0] = q(n, y, 3, 4, 0);
  return ok(res[0]);
}
static int rule_qlinear_avgpool(onnx_node *n, MlirValue *res) { return qlinear_pool(n, "AveragePool", res); }
static int rule_qlinear_gavgpool(onnx_node *n, MlirValue *res) { return qlinear_pool(n, "GlobalAveragePool", res); }

/* QLinearSoftmax (axis, opset): the Softmax of the opset it names (before
 * 13 the input is coerced to 2-D at axis). */
static int rule_qlinear_softmax(onnx_node *n, MlirValue *res) {
  if (!onnx_need_inputs(n, "xx-x-")) return -1;
  if (!onnx_has_attr(n, "opset")) return onnx_fail(n, "attribute 'opset' is required");
  const int64_t opset = onnx_attr_int(n, "opset", 13);
  if (opset < 1 || opset > 25) return onnx_fail(n, "opset %lld is not an opset qcc knows", (long long)opset);
  MlirNamedAttribute axis = onnx_xattr_int(n, "axis", onnx_attr_int(n, "axis", opset < 13 ? 1 : -1));
  MlirValue x = dq(n, 0, 1, 2);
  res[0] = q(n, onnx_expand1(n, "Softmax", (int)opset, 1, &x, &axis, 1), 3, 4, 0);
  return ok(res[0]);
}

/* a @ b - exact int32 products of the centred 8-bit operands
 * (MatMulInteger), as float, times sa * sb (* alpha). */
static MlirValue integer_product(onnx_node *n, MlirValue a, MlirValue za, MlirValue b, MlirValue zb, MlirValue sa,
                                 MlirValue sb, double alpha, MlirValue c) {
  MlirValue v[4] = {a, b, za, zb};
  MlirValue acc = onnx_expand1(n, "MatMulInteger", OPSET_QDQ, 4, v, NULL, 0);
  if (!mlirValueIsNull(c)) acc = onnx_expand2(n, "Add", acc, c);
  MlirNamedAttribute to = onnx_xattr_int(n, "to", 1 /* FLOAT */);
  MlirValue f = onnx_expand1(n, "Cast", OPSET_QDQ, 1, &acc, &to, 1);
  MlirValue scale = onnx_expand2(n, "Mul", sa, sb);
  if (alpha != 1.0) scale = onnx_expand2(n, "Mul", scale, onnx_scalar(n, QRT_F32, alpha));
  return onnx_expand2(n, "Mul", f, scale);
}

static MlirValue transposed(onnx_node *n, MlirValue x, int rank) {
  int64_t perm[QRT_MAX_RANK];
  for (int i = 0; i < rank; i++) perm[i] = i;
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  MlirNamedAttribute p = onnx_xattr_ints(n, "perm", perm, rank);
  return onnx_expand1(n, "Transpose", OPSET_QDQ, 1, &x, &p, 1);
}

/* QGemm (alpha, transA, transB): a, a_scale, a_zp, b, b_scale, b_zp,
 * c (int32, scale a_scale * b_scale), y_scale, y_zp; float out when
 * y_zero_point is absent. b's scale and zero point may be per column of op(B). */
static int rule_qgemm(onnx_node *n, MlirValue *res) {
  if (!onnx_need_inputs(n, "xx-xx----")) return -1;
  qcc_shape as, bs;
  if (!onnx_in_shape(n, 0, &as) || !onnx_in_shape(n, 3, &bs)) return -1;
  if (as.rank != 2 || bs.rank != 2) return onnx_fail(n, "A and B must be 2-D");
  MlirValue a = in(n, 0), b = in(n, 3);
  if (onnx_attr_int(n, "transA", 0)) a = transposed(n, a, 2);
  if (onnx_attr_int(n, "transB", 0)) b = transposed(n, b, 2);
  MlirValue za = onnx_has_in(n, 2) ? in(n, 2) : (MlirValue){NULL}, zb = onnx_has_in(n, 5) ? in(n, 5) : (MlirValue){NULL};
  MlirValue c = onnx_has_in(n, 6) ? in(n, 6) : (MlirValue){NULL};
  MlirValue y = integer_product(n, a, za, b, zb, in(n, 1), in(n, 4), onnx_attr_float(n, "alpha", 1.0), c);
  if (onnx_has_in(n, 8) != onnx_has_in(n, 7)) return onnx_fail(n, "y_scale and y_zero_point go together");
  res[0] = onnx_has_in(n, 8) ? q(n, y, 7, 8, 0) : y;
  return ok(res[0]);
}

/* MatMulIntegerToFloat: a, b, a_scale, b_scale, a_zp, b_zp, bias. */
static int rule_matmul_integer_to_float(onnx_node *n, MlirValue *res) {
  if (!onnx_need_inputs(n, "xxxx---")) return -1;
  MlirValue za = onnx_has_in(n, 4) ? in(n, 4) : (MlirValue){NULL}, zb = onnx_has_in(n, 5) ? in(n, 5) : (MlirValue){NULL};
  MlirValue y = integer_product(n, in(n, 0), za, in(n, 1), zb, in(n, 2), in(n, 3), 1.0, (MlirValue){NULL});
  res[0] = onnx_has_in(n, 6) ? onnx_expand2(n, "Add", y, in(n, 6)) : y;
  return ok(res[0]);
}

/* DynamicQuantizeMatMul: a (float, quantized to uint8 per tensor at run
 * time as DynamicQuantizeLinear does), b, b_scale, b_zp, bias. */
static int rule_dynamic_quantize_matmul(onnx_node *n, MlirValue *res) {
  if (!onnx_need_inputs(n, "xxx--")) return -1;
  MlirValue aq[3], a = in(n, 0);
  if (onnx_expand(n, "DynamicQuantizeLinear", OPSET_QDQ, 1, &a, NULL, 0, 3, aq)) return -1;
  MlirValue zb = onnx_has_in(n, 3) ? in(n, 3) : (MlirValue){NULL};
  MlirValue y = integer_product(n, aq[0], aq[2], in(n, 1), zb, aq[1], in(n, 2), 1.0, (MlirValue){NULL});
  res[0] = onnx_has_in(n, 4) ? onnx_expand2(n, "Add", y, in(n, 4)) : y;
  return ok(res[0]);
}

/* Ops ORT had in its domain before ONNX took them in, with the same
 * inputs and attributes: the default op of the opset that added it. */
static int alias(onnx_node *n, const char *type, int opset, MlirValue *res) {
  MlirNamedAttribute attrs[16];
  const int k = onnx_xattr_copy(n, NULL, attrs, 16);
  MlirValue v[8];
  if (n->n_in > 8) return onnx_fail(n, "takes at most 8 inputs");
  for (int i = 0; i < n->n_in; i++) v[i] = onnx_has_in(n, i) ? in(n, i) : (MlirValue){NULL};
  res[0] = onnx_expand1(n, type, opset, n->n_in, v, attrs, k);
  return ok(res[0]);
}
/* com.microsoft's QuantizeLinear / DequantizeLinear: the default ops
 * (x, scale, zp; axis); the 16-bit and 4-bit types it adds are refused
 * by the default rules' type checks. */
static int rule_contrib_quantize(onnx_node *n, MlirValue *res) {
  return onnx_need_inputs(n, "xx-") ? alias(n, "QuantizeLinear", OPSET_QDQ, res) : -1;
}
static int rule_contrib_dequantize(onnx_node *n, MlirValue *res) {
  return onnx_need_inputs(n, "xx-") ? alias(n, "DequantizeLinear", OPSET_QDQ, res) : -1;
}
static int rule_trilu(onnx_node *n, MlirValue *res) { return alias(n, "Trilu", 14, res); }
static int rule_grid_sample(onnx_node *n, MlirValue *res) { return alias(n, "GridSample", 16, res); }

/* ---- ORT's graph optimizer's fusions (in models it saved optimized) ---- */

/* Float attribute list `name` (a DenseF32Array), up to cap values. */
static int floats_attr(onnx_node *n, const char *name, float *out, int cap) {
  MlirAttribute a = mlirOperationGetAttributeByName(n->op, mlirStringRefCreateFromCString(name));
  if (mlirAttributeIsNull(a) || !mlirAttributeIsADenseF32Array(a)) return 0;
  const int k = (int)mlirDenseArrayGetNumElements(a);
  for (int i = 0; i < k && i < cap; i++) out[i] = mlirDenseF32ArrayGetElement(a, i);
  return k < cap ? k : cap;
}

/* y through the activation FusedConv / FusedGemm name with its
 * parameters (LeakyRelu: alpha; HardSigmoid: alpha, beta; Clip: min, max). */
static MlirValue activation(onnx_node *n, MlirValue y, const char *act, const float *p, int np) {
  if (!*act) return y;
  if (!strcmp(act, "Relu") || !strcmp(act, "Tanh") || !strcmp(act, "Sigmoid")) return op1(n, act, OPSET_QDQ, y);
  if (!strcmp(act, "LeakyRelu")) {
    MlirNamedAttribute a = onnx_xattr_float(n, "alpha", np > 0 ? p[0] : 0.01);
    return onnx_expand1(n, act, OPSET_QDQ, 1, &y, &a, 1);
  }
  if (!strcmp(act, "HardSigmoid")) {
    MlirNamedAttribute a[2] = {onnx_xattr_float(n, "alpha", np > 0 ? p[0] : 0.2),
                               onnx_xattr_float(n, "beta", np > 1 ? p[1] : 0.5)};
    return onnx_expand1(n, act, OPSET_QDQ, 1, &y, a, 2);
  }
  if (!strcmp(act, "Clip") && np == 2) {
    MlirValue v[3] = {y, onnx_scalar(n, QRT_F32, p[0]), onnx_scalar(n, QRT_F32, p[1])};
    return onnx_expand1(n, act, OPSET_QDQ, 3, v, NULL, 0);
  }
  onnx_fail(n, "activation '%s' (with %d parameters) is not supported", act, np);
  return (MlirValue){NULL};
}

/* FusedConv (Conv's attributes, activation, activation_params): x, w, b,
 * z -> activation(conv(x, w, b) + z). */
static int rule_fused_conv(onnx_node *n, MlirValue *res) {
  if (!onnx_need_inputs(n, "xx--")) return -1;
  static const char *const skip[] = {"activation", "activation_params", NULL};
  MlirNamedAttribute attrs[16];
  const int k = onnx_xattr_copy(n, skip, attrs, 16);
  char act[32];
  float p[4];
  onnx_attr_str(n, "activation", "", act, sizeof act);
  const int np = floats_attr(n, "activation_params", p, 4);
  MlirValue v[3] = {in(n, 0), in(n, 1), onnx_has_in(n, 2) ? in(n, 2) : (MlirValue){NULL}};
  MlirValue y = onnx_expand1(n, "Conv", OPSET_QDQ, 3, v, attrs, k);
  if (onnx_has_in(n, 3)) y = onnx_expand2(n, "Add", y, in(n, 3));
  res[0] = activation(n, y, act, p, np);
  return ok(res[0]);
}

/* FusedGemm (Gemm's attributes, activation, activation_alpha / _beta):
 * activation(Gemm(a, b, c)). */
static int rule_fused_gemm(onnx_node *n, MlirValue *res) {
  if (!onnx_need_inputs(n, "xx-")) return -1;
  static const char *const skip[] = {"activation", "activation_alpha", "activation_beta", "activation_gamma", NULL};
  MlirNamedAttribute attrs[16];
  const int k = onnx_xattr_copy(n, skip, attrs, 16);
  char act[32];
  onnx_attr_str(n, "activation", "", act, sizeof act);
  float p[2];
  int np = 0;
  if (!strcmp(act, "LeakyRelu") || !strcmp(act, "HardSigmoid")) {
    p[np++] = (float)onnx_attr_float(n, "activation_alpha", !strcmp(act, "LeakyRelu") ? 0.01 : 0.2);
    if (!strcmp(act, "HardSigmoid")) p[np++] = (float)onnx_attr_float(n, "activation_beta", 0.5);
  }
  MlirValue v[3] = {in(n, 0), in(n, 1), onnx_has_in(n, 2) ? in(n, 2) : (MlirValue){NULL}};
  res[0] = activation(n, onnx_expand1(n, "Gemm", OPSET_QDQ, 3, v, attrs, k), act, p, np);
  return ok(res[0]);
}

/* ---- transformer fusions (ORT's transformer optimizer writes them) ---- */

static MlirValue gelu(onnx_node *n, MlirValue x, const char *approximate) {
  MlirNamedAttribute a = onnx_xattr_str(n, "approximate", approximate);
  return onnx_expand1(n, "Gelu", OPSET_GELU, 1, &x, &a, 1);
}

static int rule_gelu(onnx_node *n, MlirValue *res) {
  if (!onnx_need_inputs(n, "x")) return -1;
  res[0] = gelu(n, in(n, 0), "none");
  return ok(res[0]);
}

/* BiasGelu: gelu(a + b). */
static int rule_bias_gelu(onnx_node *n, MlirValue *res) {
  if (!onnx_need_inputs(n, "xx")) return -1;
  res[0] = gelu(n, onnx_expand2(n, "Add", in(n, 0), in(n, 1)), "none");
  return ok(res[0]);
}

/* FastGelu: the tanh form of gelu(x (+ bias)). */
static int rule_fast_gelu(onnx_node *n, MlirValue *res) {
  if (!onnx_need_inputs(n, "x-")) return -1;
  MlirValue x = onnx_has_in(n, 1) ? onnx_expand2(n, "Add", in(n, 0), in(n, 1)) : in(n, 0);
  res[0] = gelu(n, x, "tanh");
  return ok(res[0]);
}

/* QuickGelu (alpha 1.702): x sigmoid(alpha x). */
static int rule_quick_gelu(onnx_node *n, MlirValue *res) {
  if (!onnx_need_inputs(n, "x")) return -1;
  const double alpha = onnx_attr_float(n, "alpha", 1.702);
  MlirValue ax = onnx_expand2(n, "Mul", in(n, 0), onnx_scalar(n, QRT_F32, alpha));
  res[0] = onnx_expand2(n, "Mul", in(n, 0), op1(n, "Sigmoid", OPSET_QDQ, ax));
  return ok(res[0]);
}

/* FusedMatMul (alpha, transA, transB; transBatchA/B refused): alpha
 * op(A) @ op(B), op transposing the last two dims. */
static int rule_fused_matmul(onnx_node *n, MlirValue *res) {
  if (!onnx_need_inputs(n, "xx")) return -1;
  qcc_shape as, bs;
  if (!onnx_in_shape(n, 0, &as) || !onnx_in_shape(n, 1, &bs)) return -1;
  if (onnx_attr_int(n, "transBatchA", 0) || onnx_attr_int(n, "transBatchB", 0))
    return onnx_fail(n, "transBatchA / transBatchB are not supported");
  const bool ta = onnx_attr_int(n, "transA", 0) != 0, tb = onnx_attr_int(n, "transB", 0) != 0;
  if ((ta && as.rank < 2) || (tb && bs.rank < 2)) return onnx_fail(n, "a transposed operand must have rank 2 or more");
  MlirValue a = ta ? transposed(n, in(n, 0), as.rank) : in(n, 0);
  MlirValue b = tb ? transposed(n, in(n, 1), bs.rank) : in(n, 1);
  MlirValue y = onnx_expand2(n, "MatMul", a, b);
  const double alpha = onnx_attr_float(n, "alpha", 1.0);
  res[0] = alpha != 1.0 ? onnx_expand2(n, "Mul", y, onnx_scalar(n, QRT_F32, alpha)) : y;
  return ok(res[0]);
}

/* SkipLayerNormalization (epsilon): input, skip, gamma, beta, bias ->
 * output, mean, inv_std_var, input_skip_bias_sum; SkipSimplified... (rms):
 * input, skip, gamma, bias -> output, mean (not computed), inv_std_var,
 * sum. Both normalize the last axis of input + skip (+ bias). */
static int skip_norm(onnx_node *n, bool rms, MlirValue *res) {
  if (!onnx_need_inputs(n, rms ? "xxx-" : "xxx--")) return -1;
  const int bias_i = rms ? 3 : 4;
  MlirValue sum = onnx_expand2(n, "Add", in(n, 0), in(n, 1));
  if (onnx_has_in(n, bias_i)) sum = onnx_expand2(n, "Add", sum, in(n, bias_i));
  MlirNamedAttribute attrs[2] = {onnx_xattr_int(n, "axis", -1),
                                 onnx_xattr_float(n, "epsilon", onnx_attr_float(n, "epsilon", 1e-12))};
  if (rms) {
    if (onnx_out_used(n, 1) || onnx_out_used(n, 2)) return onnx_fail(n, "outputs mean and inv_std_var are not supported");
    MlirValue v[2] = {sum, in(n, 2)};
    res[0] = onnx_expand1(n, "RMSNormalization", OPSET_RMSNORM, 2, v, attrs, 2);
  } else {
    MlirValue v[3] = {sum, in(n, 2), onnx_has_in(n, 3) ? in(n, 3) : (MlirValue){NULL}};
    if (onnx_expand(n, "LayerNormalization", OPSET_LAYERNORM, 3, v, attrs, 2, 3, res)) return -1;
  }
  res[3] = sum;
  return ok(res[0]);
}
static int rule_skip_layernorm(onnx_node *n, MlirValue *res) { return skip_norm(n, false, res); }
static int rule_skip_rmsnorm(onnx_node *n, MlirValue *res) { return skip_norm(n, true, res); }

/* SimplifiedLayerNormalization (axis, epsilon): RMSNormalization. */
static int rule_simplified_layernorm(onnx_node *n, MlirValue *res) {
  if (!onnx_need_inputs(n, "xx")) return -1;
  if (onnx_out_used(n, 1)) return onnx_fail(n, "output inv_std_var is not supported");
  MlirNamedAttribute attrs[2] = {onnx_xattr_int(n, "axis", onnx_attr_int(n, "axis", -1)),
                                 onnx_xattr_float(n, "epsilon", onnx_attr_float(n, "epsilon", 1e-5))};
  MlirValue v[2] = {in(n, 0), in(n, 1)};
  res[0] = onnx_expand1(n, "RMSNormalization", OPSET_RMSNORM, 2, v, attrs, 2);
  return ok(res[0]);
}

const onnx_rule onnx_rules_contrib[] = {
    {CONTRIB "QLinearAdd", rule_qlinear_add},
    {CONTRIB "QLinearMul", rule_qlinear_mul},
    {CONTRIB "QLinearSigmoid", rule_qlinear_sigmoid},
    {CONTRIB "QLinearLeakyRelu", rule_qlinear_leaky_relu},
    {CONTRIB "QLinearConcat", rule_qlinear_concat},
    {CONTRIB "QLinearWhere", rule_qlinear_where},
    {CONTRIB "QLinearAveragePool", rule_qlinear_avgpool},
    {CONTRIB "QLinearGlobalAveragePool", rule_qlinear_gavgpool},
    {CONTRIB "QLinearSoftmax", rule_qlinear_softmax},
    {CONTRIB "QGemm", rule_qgemm},
    {CONTRIB "MatMulIntegerToFloat", rule_matmul_integer_to_float},
    {CONTRIB "DynamicQuantizeMatMul", rule_dynamic_quantize_matmul},
    {CONTRIB "QuantizeLinear", rule_contrib_quantize},
    {CONTRIB "DequantizeLinear", rule_contrib_dequantize},
    {CONTRIB "Trilu", rule_trilu},
    {CONTRIB "GridSample", rule_grid_sample},
    {CONTRIB "FusedConv", rule_fused_conv},
    {CONTRIB "FusedGemm", rule_fused_gemm},
    {CONTRIB "Gelu", rule_gelu},
    {CONTRIB "BiasGelu", rule_bias_gelu},
    {CONTRIB "FastGelu", rule_fast_gelu},
    {CONTRIB "QuickGelu", rule_quick_gelu},
    {CONTRIB "FusedMatMul", rule_fused_matmul},
    {CONTRIB "SkipLayerNormalization", rule_skip_layernorm},
    {CONTRIB "SkipSimplifiedLayerNormalization", rule_skip_rmsnorm},
    {"SimplifiedLayerNormalization", rule_simplified_layernorm},
    {NULL, NULL},
};
