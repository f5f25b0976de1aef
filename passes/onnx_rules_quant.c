/* onnx_rules_quant.c - ONNX's quantization operators, written with
 * existing q ops in the order of operations of the ONNX definitions:
 *
 *   QuantizeLinear         y = saturate(round_half_even(x / scale) + zp)
 *   DequantizeLinear       y = (x - zp) * scale
 *   DynamicQuantizeLinear  scale, zp from min(0, min x), max(0, max x)
 *   MatMulInteger          int32 (a - a_zp) @ (b - b_zp)
 *   ConvInteger            int32 conv(x - x_zp, w - w_zp)
 *   QLinearMatMul/Conv     saturate(round(acc * (sa * sb / sy)) + y_zp)
 *
 * Rounding is q.unary round (half to even, as numpy's rint), saturation a
 * clip to the output type's range before the exact float -> int cast.
 * The integer products go through the int32 matmul/conv kernels
 * (qrt_int_linear.c), exact for any K, unlike a float32 accumulation.
 * These are ONNX's own quantized-graph operators; qcc's W8A8 compiler
 * (-q w8a8, passes/quantize.c) is a separate path. QLinearConv and
 * QLinearMatMul with constant weights and parameters run on that path's
 * int8 kernels instead (onnx_adopt_int8.c); what follows is the exact form
 * the others keep. */
#include <string.h>

#include "onnx_rules.h"

static bool is_q8(qrt_dtype t) { return t == QRT_U8 || t == QRT_I8; }

static MlirValue cast_to(onnx_node *n, MlirValue v, const qcc_shape *s, qrt_dtype t) {
  qcc_shape y = *s;
  y.dtype = t;
  return onnx_emit(n, q_cast_create(n->loc, onnx_type(n, &y), v));
}

/* A scale or zero point for x of rank `rank`: a scalar (any shape of one
 * element) becomes rank 0; a 1-D tensor of x.dims[axis] values is reshaped
 * to broadcast along axis.  *s receives the resulting shape. */
static bool param_view(onnx_node *n, int i, const qcc_shape *x, int64_t axis, MlirValue *v, qcc_shape *s) {
  if (!onnx_in_shape(n, i, s)) return false;
  *v = onnx_in(n, i);
  if (qcc_shape_numel(s) == 1) {
    qcc_shape sc = {s->dtype, 0, {0}};
    if (s->rank) *v = onnx_reshape(n, *v, &sc);
    *s = sc;
    return true;
  }
  if (s->rank != 1 || axis < 0 || axis >= x->rank || s->dims[0] != x->dims[axis]) {
    onnx_fail(n, "input %d must be a scalar or hold one value per index of axis %lld", i, (long long)axis);
    return false;
  }
  qcc_shape b = {s->dtype, x->rank, {0}};
  for (int d = 0; d < x->rank; d++) b.dims[d] = d == axis ? s->dims[0] : 1;
  *v = onnx_reshape(n, *v, &b);
  *s = b;
  return true;
}

/* round(f) (+ zp as float) -> clip to the range of t -> cast to t; f has
 * shape fs (float32). */
static MlirValue saturate(onnx_node *n, MlirValue f, const qcc_shape *fs, MlirValue zp, const qcc_shape *zs, qrt_dtype t) {
  qcc_shape y = *fs;
  MlirValue v = onnx_unary(n, "round", f, fs, 0, 0);
  if (!mlirValueIsNull(zp)) {
    qcc_shape zf = *zs;
    zf.dtype = QRT_F32;
    if (!onnx_broadcast_shape(n, fs, &zf, &y)) return (MlirValue){NULL};
    y.dtype = QRT_F32;
    v = onnx_binary(n, "add", v, cast_to(n, zp, zs, QRT_F32), &y);
  }
  v = onnx_unary(n, "clip", v, &y, t == QRT_U8 ? 0 : -128, t == QRT_U8 ? 255 : 127);
  return cast_to(n, v, &y, t);
}

static int64_t quant_axis(onnx_node *n, int rank) {
  int64_t a = onnx_attr_int(n, "axis", 1);
  return a < 0 ? a + rank : a;
}

/* Opset 21's and 23's attributes: block_size (a scale per block of an
 * axis) is refused; output_dtype (ONNX type numbers) must name what qcc
 * computes, or be 0; so must QuantizeLinear-23's precision (of x / scale). */
static bool supported_attrs(onnx_node *n, bool quantize) {
  if (onnx_attr_int(n, "block_size", 0) != 0) {
    onnx_fail(n, "block_size %lld (blocked quantization) is not supported", (long long)onnx_attr_int(n, "block_size", 0));
    return false;
  }
  const int64_t out = onnx_attr_int(n, "output_dtype", 0), precision = onnx_attr_int(n, "precision", 0);
  if (quantize ? out != 0 && out != 2 && out != 3 : out != 0 && out != 1) {
    onnx_fail(n, "output_dtype %lld is not supported (%s)", (long long)out, quantize ? "uint8 or int8" : "float32");
    return false;
  }
  if (precision != 0 && precision != 1) {
    onnx_fail(n, "precision %lld is not supported (float32)", (long long)precision);
    return false;
  }
  return true;
}

static int rule_quantize_linear(onnx_node *n, MlirValue *res) {
  qcc_shape x, ss, zs;
  MlirValue scale, zp = {NULL};
  if (!onnx_in_shape(n, 0, &x) || !supported_attrs(n, true)) return -1;
  if (x.dtype != QRT_F32) return onnx_fail(n, "element type %s is not supported (float32 only)", qcc_dtype_name(x.dtype));
  int64_t axis = quant_axis(n, x.rank);
  if (!param_view(n, 1, &x, axis, &scale, &ss)) return -1;
  if (ss.dtype != QRT_F32) return onnx_fail(n, "y_scale must be float32");
  const int64_t out = onnx_attr_int(n, "output_dtype", 0);
  qrt_dtype t = out == 3 ? QRT_I8 : QRT_U8;
  if (onnx_has_in(n, 2)) {
    if (!param_view(n, 2, &x, axis, &zp, &zs)) return -1;
    t = zs.dtype;
    if (!is_q8(t)) return onnx_fail(n, "y_zero_point type %s is not supported (uint8/int8)", qcc_dtype_name(t));
    if (out != 0 && t != (out == 3 ? QRT_I8 : QRT_U8))
      return onnx_fail(n, "output_dtype %lld is not y_zero_point's type %s", (long long)out, qcc_dtype_name(t));
  }
  qcc_shape q = x;
  if (!onnx_broadcast_shape(n, &x, &ss, &q)) return -1;
  q.dtype = QRT_F32;
  res[0] = saturate(n, onnx_binary(n, "div", onnx_in(n, 0), scale, &q), &q, zp, &zs, t);
  return mlirValueIsNull(res[0]) ? -1 : 0;
}

static int rule_dequantize_linear(onnx_node *n, MlirValue *res) {
  qcc_shape x, ss, zs;
  MlirValue scale, zp;
  if (!onnx_in_shape(n, 0, &x) || !supported_attrs(n, false)) return -1;
  if (!is_q8(x.dtype) && x.dtype != QRT_I32) return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(x.dtype));
  int64_t axis = quant_axis(n, x.rank);
  if (!param_view(n, 1, &x, axis, &scale, &ss)) return -1;
  if (ss.dtype != QRT_F32) return onnx_fail(n, "x_scale must be float32");
  qcc_shape y = x;
  y.dtype = QRT_F32;
  MlirValue v = cast_to(n, onnx_in(n, 0), &x, QRT_F32);
  if (onnx_has_in(n, 2)) {
    if (!param_view(n, 2, &x, axis, &zp, &zs)) return -1;
    if (zs.dtype != x.dtype) return onnx_fail(n, "x_zero_point must have x's type");
    v = onnx_binary(n, "sub", v, cast_to(n, zp, &zs, QRT_F32), &y);
  }
  res[0] = onnx_binary(n, "mul", v, scale, &y);
  return 0;
}

/* DynamicQuantizeLinear (uint8): the range [min(0, min x), max(0, max x)]
 * maps onto [0, 255]: scale = (hi - lo) / 255, zp = saturate(round(-lo /
 * scale)), y = saturate(round(x / scale) + zp). */
static int rule_dynamic_quantize_linear(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  if (x.dtype != QRT_F32) return onnx_fail(n, "element type %s is not supported (float32 only)", qcc_dtype_name(x.dtype));
  q_i64s all;
  memset(&all, 0, sizeof all);
  for (int i = 0; i < x.rank; i++) all.v[all.n++] = i;
  qcc_shape sc = {QRT_F32, 0, {0}};
  MlirValue zero = onnx_scalar(n, QRT_F32, 0);
  MlirValue hi = onnx_binary(n, "max", zero, onnx_reduce(n, "max", onnx_in(n, 0), &all, &sc), &sc);
  MlirValue lo = onnx_binary(n, "min", zero, onnx_reduce(n, "min", onnx_in(n, 0), &all, &sc), &sc);
  MlirValue scale = onnx_binary(n, "div", onnx_binary(n, "sub", hi, lo, &sc), onnx_scalar(n, QRT_F32, 255), &sc);
  MlirValue zpf = onnx_binary(n, "div", onnx_binary(n, "sub", zero, lo, &sc), scale, &sc);
  zpf = onnx_unary(n, "clip", onnx_unary(n, "round", zpf, &sc, 0, 0), &sc, 0, 255);
  qcc_shape xf = x;
  MlirValue v = onnx_unary(n, "round", onnx_binary(n, "div", onnx_in(n, 0), scale, &xf), &xf, 0, 0);
  v = onnx_unary(n, "clip", onnx_binary(n, "add", v, zpf, &xf), &xf, 0, 255);
  res[0] = cast_to(n, v, &xf, QRT_U8);
  res[1] = scale;
  res[2] = cast_to(n, zpf, &sc, QRT_U8);
  return 0;
}

/* v (8-bit) as int32 minus its zero point (input zi, may be absent). The
 * zero point is a scalar, or 1-D along `axis` of v's shape (per row /
 * column / output channel); axis < 0: scalar only. */
static bool centered(onnx_node *n, int vi, int zi, int64_t axis, MlirValue *out, qcc_shape *s) {
  if (!onnx_in_shape(n, vi, s)) return false;
  if (!is_q8(s->dtype)) {
    onnx_fail(n, "input %d: element type %s is not supported (uint8/int8)", vi, qcc_dtype_name(s->dtype));
    return false;
  }
  qcc_shape v32 = *s;
  v32.dtype = QRT_I32;
  *out = cast_to(n, onnx_in(n, vi), s, QRT_I32);
  *s = v32;
  if (zi < 0 || !onnx_has_in(n, zi)) return true;
  MlirValue zp;
  qcc_shape zs;
  if (!param_view(n, zi, s, axis, &zp, &zs)) return false;
  if (!is_q8(zs.dtype)) {
    onnx_fail(n, "input %d: zero point type %s is not supported", zi, qcc_dtype_name(zs.dtype));
    return false;
  }
  *out = onnx_binary(n, "sub", *out, cast_to(n, zp, &zs, QRT_I32), s);
  return true;
}

static int matmul_integer(onnx_node *n, int ai, int azi, int bi, int bzi, MlirValue *acc, qcc_shape *as) {
  MlirValue a, b;
  qcc_shape bs;
  qcc_shape a0, b0;
  if (!onnx_in_shape(n, ai, &a0) || !onnx_in_shape(n, bi, &b0)) return -1;
  /* a's zero point per row (dim -2), b's per column (dim -1) */
  if (!centered(n, ai, azi, a0.rank >= 2 ? a0.rank - 2 : -1, &a, as) ||
      !centered(n, bi, bzi, b0.rank >= 1 ? b0.rank - 1 : -1, &b, &bs))
    return -1;
  if (onnx_emit_matmul(n, a, as, b, &bs, acc)) return -1;
  qcc_shape_of(*acc, as);
  return 0;
}

static int rule_matmul_integer(onnx_node *n, MlirValue *res) {
  qcc_shape s;
  return matmul_integer(n, 0, 2, 1, 3, &res[0], &s);
}

static int rule_conv_integer(onnx_node *n, MlirValue *res) {
  MlirValue x, w, none = {NULL};
  qcc_shape xs, ws;
  if (!centered(n, 0, 2, -1, &x, &xs) || !centered(n, 1, 3, 0, &w, &ws)) return -1;
  return onnx_emit_conv(n, x, &xs, w, &ws, none, &res[0]);
}

/* acc (int32) * (sa * sb / sy) requantized to y_zp's type; sb may be per
 * output channel along `axis` of acc. */
static int requantize(onnx_node *n, MlirValue acc, const qcc_shape *accs, int sa_i, int sb_i, int64_t sb_axis, int sy_i,
                      int zy_i, MlirValue *out) {
  MlirValue sa, sb, sy, zy;
  qcc_shape sas, sbs, sys, zys, m;
  if (!param_view(n, sa_i, accs, -1, &sa, &sas) || !param_view(n, sb_i, accs, sb_axis, &sb, &sbs) ||
      !param_view(n, sy_i, accs, -1, &sy, &sys) || !param_view(n, zy_i, accs, -1, &zy, &zys))
    return -1;
  if (sas.dtype != QRT_F32 || sbs.dtype != QRT_F32 || sys.dtype != QRT_F32) return onnx_fail(n, "scales must be float32");
  if (!is_q8(zys.dtype)) return onnx_fail(n, "y_zero_point type %s is not supported", qcc_dtype_name(zys.dtype));
  if (!onnx_broadcast_shape(n, &sas, &sbs, &m)) return -1;
  m.dtype = QRT_F32;
  MlirValue mult = onnx_binary(n, "div", onnx_binary(n, "mul", sa, sb, &m), sy, &m);
  qcc_shape f = *accs;
  f.dtype = QRT_F32;
  MlirValue v = onnx_binary(n, "mul", cast_to(n, acc, accs, QRT_F32), mult, &f);
  *out = saturate(n, v, &f, zy, &zys, zys.dtype);
  return mlirValueIsNull(*out) ? -1 : 0;
}

/* A Relu or Clip that onnx_fuse_qdq.c folded into the node: the codes
 * clamped to [qcc.code_min, qcc.code_max] (Q(clip(y, a, b)) =
 * clamp(Q(y), Q(a), Q(b)), Q being monotonic). */
static int clamp_codes(onnx_node *n, MlirValue *y) {
  if (!onnx_has_attr(n, "qcc.code_min")) return 0;
  qcc_shape ys;
  qcc_shape_of(*y, &ys);
  *y = onnx_binary(n, "max", *y, onnx_scalar(n, ys.dtype, (double)onnx_attr_int(n, "qcc.code_min", 0)), &ys);
  *y = onnx_binary(n, "min", *y, onnx_scalar(n, ys.dtype, (double)onnx_attr_int(n, "qcc.code_max", 0)), &ys);
  return mlirValueIsNull(*y) ? -1 : 0;
}

/* QLinearMatMul: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp. */
static int rule_qlinear_matmul(onnx_node *n, MlirValue *res) {
  MlirValue acc;
  qcc_shape s;
  if (n->n_in > 8 && !onnx_has_attr(n, "qcc.gemm_bias"))
    return onnx_fail(n, "QLinearMatMul takes 8 inputs, not %d", n->n_in);
  const int adopted = onnx_adopt_qlinear_matmul(n, res);
  if (adopted <= 0) return adopted;
  if (matmul_integer(n, 0, 2, 3, 5, &acc, &s)) return -1;
  if (onnx_has_in(n, 8)) { /* qcc's ninth input: a fused Gemm's int32 bias (onnx_fuse_qdq.c) */
    qcc_shape bs;
    if (!onnx_in_shape(n, 8, &bs) || bs.dtype != QRT_I32) return onnx_fail(n, "the bias must be int32");
    acc = onnx_binary(n, "add", acc, onnx_in(n, 8), &s);
    if (mlirValueIsNull(acc)) return -1;
  }
  return requantize(n, acc, &s, 1, 4, s.rank - 1, 6, 7, &res[0]) ? -1 : clamp_codes(n, &res[0]);
}

/* QLinearConv: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B. */
static int rule_qlinear_conv(onnx_node *n, MlirValue *res) {
  MlirValue x, w, acc, bias = {NULL};
  qcc_shape xs, ws;
  const int adopted = onnx_adopt_qlinear_conv(n, res);
  if (adopted <= 0) return adopted;
  if (!centered(n, 0, 2, -1, &x, &xs) || !centered(n, 3, 5, 0, &w, &ws)) return -1;
  if (onnx_has_in(n, 8)) {
    qcc_shape bs;
    if (!onnx_in_shape(n, 8, &bs)) return -1;
    if (bs.dtype != QRT_I32) return onnx_fail(n, "B must be int32");
    bias = onnx_in(n, 8);
  }
  if (onnx_emit_conv(n, x, &xs, w, &ws, bias, &acc)) return -1;
  qcc_shape s;
  qcc_shape_of(acc, &s);
  return requantize(n, acc, &s, 1, 4, 1, 6, 7, &res[0]) ? -1 : clamp_codes(n, &res[0]);
}

const onnx_rule onnx_rules_quant[] = {
    {"QuantizeLinear", rule_quantize_linear},
    {"DequantizeLinear", rule_dequantize_linear},
    {"DynamicQuantizeLinear", rule_dynamic_quantize_linear},
    {"MatMulInteger", rule_matmul_integer},
    {"ConvInteger", rule_conv_integer},
    {"QLinearMatMul", rule_qlinear_matmul},
    {"QLinearConv", rule_qlinear_conv},
    {NULL, NULL},
};
