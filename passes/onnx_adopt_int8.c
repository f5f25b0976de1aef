/* onnx_adopt_int8.c - a pre-quantized model's QLinearConv and
 * QLinearMatMul on qcc's int8 kernels, with the model's own scales.
 *
 * ONNX defines them on exact int32 sums, acc = sum (x - x_zp)(w - w_zp)
 * [+ B], requantized as saturate(round(acc * (x_scale w_scale / y_scale))
 * + y_zp). onnx_rules_quant.c writes that literally (operands widened to
 * int32, the plain int32 kernels of qrt_int_linear.c, float
 * requantization): exact, but a QOperator CNN ran about 100x slower than
 * ONNX Runtime. Where the operands allow it, the node becomes what qcc's
 * own W8A8 compiler emits for a layer (passes/quantize.c):
 *
 *   x (u8)  -> cast to i8 (wraps) -> bitxor -128 : x - 128, int8 codes of
 *              type !quant.uniform<i8: x_scale, x_zp - 128>   (i8 x: as is)
 *   q.qconv / q.qmatmul (int8 weights w - w_zp, per-channel multipliers
 *              of the float x_scale w_scale / y_scale, int32 bias B; for a
 *              matmul x_zp folded into the bias as quantize.c does)
 *   y       -> bitxor -128 -> cast to u8 : y + 128                 (i8 y: a cast)
 *
 * The sums are the same int32 values (wrapping, like the int32 path);
 * the requantization is the integer one (qrt_requant: a 31-bit multiplier
 * of the same float scale, round half away from zero) where ONNX rounds a
 * float product half to even: a code differs by one only where the product
 * lies on or within float rounding of a half (test/import/adopt-int8.test
 * measures it against ONNX Runtime). Where one node's u8 output feeds the
 * next, the next reads the int8 codes directly (the conversions pair off
 * and dce removes them).
 *
 * Applies when the scales and zero points are compile-time constants
 * (x's and y's one value, w's one or one per output channel / column), w
 * is a constant whose values minus its zero point fit int8 (int8 weights
 * with zero point 0, uint8 ones with 128, ...) and B a constant; otherwise
 * the exact int32 path stays, with a remark saying why. */
#include <stdlib.h>
#include <string.h>

#include "fuse_match.h"
#include "onnx_rules.h"
#include "quant_activations.h"
#include "quant_weights.h"

/* One float32 constant value of input i (a scale). */
static bool const_f32(onnx_node *n, int i, float *v) {
  qcc_array a;
  if (!onnx_const_input(n, i, &a)) return false;
  bool ok = a.dtype == QRT_F32 && qcc_array_numel(&a) == 1;
  if (ok) *v = *(float *)a.data;
  qcc_array_free(&a);
  return ok;
}

/* Value k of an 8-bit or int32 array as int64. */
static int64_t int_at(const qcc_array *a, int64_t k) {
  switch (a->dtype) {
  case QRT_U8: return ((uint8_t *)a->data)[k];
  case QRT_I8: return ((int8_t *)a->data)[k];
  case QRT_I32: return ((int32_t *)a->data)[k];
  default: return 0;
  }
}

/* One 8-bit zero point of input i (absent: 0, of type *t unchanged). */
static bool const_zp(onnx_node *n, int i, int64_t *zp, qrt_dtype *t) {
  *zp = 0;
  if (!onnx_has_in(n, i)) return true;
  qcc_array a;
  if (!onnx_const_input(n, i, &a)) return false;
  bool ok = (a.dtype == QRT_U8 || a.dtype == QRT_I8) && qcc_array_numel(&a) == 1;
  if (ok) *zp = int_at(&a, 0), *t = a.dtype;
  qcc_array_free(&a);
  return ok;
}

/* A constant of one value or one per channel of input i as `channels`
 * values (float for QRT_F32, else int64; absent: zeros); false when it is
 * not constant or has another count. */
static bool per_channel(onnx_node *n, int i, int64_t channels, qrt_dtype want, void *out) {
  qcc_array a;
  if (!onnx_has_in(n, i)) {
    memset(out, 0, (size_t)channels * (want == QRT_F32 ? sizeof(float) : sizeof(int64_t)));
    return true;
  }
  if (!onnx_const_input(n, i, &a)) return false;
  const int64_t k = qcc_array_numel(&a);
  bool ok = (k == 1 || k == channels) &&
            (want == QRT_F32 ? a.dtype == QRT_F32 : a.dtype == QRT_U8 || a.dtype == QRT_I8 || a.dtype == QRT_I32);
  for (int64_t c = 0; ok && c < channels; c++) {
    if (want == QRT_F32) ((float *)out)[c] = ((float *)a.data)[k == 1 ? 0 : c];
    else ((int64_t *)out)[c] = int_at(&a, k == 1 ? 0 : c);
  }
  qcc_array_free(&a);
  return ok;
}

/* x's 8-bit codes as int8 codes of type quant<i8: sx, z8> (z8: x's zero
 * point, less 128 for uint8). When x is the uint8 form of such codes that
 * a former adoption wrote (y -> bitxor -128 -> cast u8), those codes. */
static MlirValue int8_codes(onnx_node *n, MlirValue x, const qcc_shape *xs, double sx, int64_t z8) {
  qcc_shape s8 = *xs;
  s8.dtype = QRT_I8;
  MlirType qt = qcc_quant_tensor_type(n->ctx, &s8, sx, z8, -128, 127);
  MlirOperation cast = def(x);
  if (xs->dtype == QRT_U8 && !mlirOperationIsNull(cast) && q_cast_is(cast)) {
    MlirOperation b = def(q_cast_in(cast, 0));
    if (is_binary(b, "bitxor") && mlirTypeEqual(mlirValueGetType(q_binary_in(b, 0)), qt) &&
        mlirOperationGetAttributeByName(b, mlirStringRefCreateFromCString("qcc.adopted_u8")).ptr)
      return q_binary_in(b, 0);
  }
  if (xs->dtype == QRT_I8) return onnx_emit(n, q_cast_create(n->loc, qt, x));
  MlirValue wrapped = onnx_emit(n, q_cast_create(n->loc, onnx_type(n, &s8), x));
  q_binary_attrs k = {qcc_str("bitxor")};
  return onnx_emit(n, q_binary_create(n->loc, qt, wrapped, onnx_scalar(n, QRT_I8, -128), &k));
}

/* y's int8 codes as the node's output type t (uint8: + 128). */
static MlirValue output_codes(onnx_node *n, MlirValue yq, const qcc_shape *ys, qrt_dtype t) {
  qcc_shape s = *ys;
  s.dtype = QRT_I8;
  if (t == QRT_I8) return onnx_emit(n, q_cast_create(n->loc, onnx_type(n, &s), yq));
  q_binary_attrs k = {qcc_str("bitxor")};
  MlirValue flipped = onnx_emit(n, q_binary_create(n->loc, onnx_type(n, &s), yq, onnx_scalar(n, QRT_I8, -128), &k));
  mlirOperationSetAttributeByName(mlirOpResultGetOwner(flipped), mlirStringRefCreateFromCString("qcc.adopted_u8"),
                                  mlirUnitAttrGet(n->ctx));
  s.dtype = QRT_U8;
  return onnx_emit(n, q_cast_create(n->loc, onnx_type(n, &s), flipped));
}

/* Everything but the geometry, read from the node's inputs: x (0), its
 * scale (1) and zero point (2), w (3) with scale (4) and zero point (5),
 * y's scale (6) and zero point (7), B (8, convolutions). */
typedef struct adopted {
  float sx, sy;
  int64_t zx8, zy8;  /* x's and y's zero points as int8 codes' (uint8: - 128) */
  int64_t y_offset;  /* 128 when y is uint8 (its codes are the int8 ones + 128), else 0 */
  qrt_dtype y_type;
  int64_t channels, per; /* output channels; weights per channel */
  int8_t *codes;         /* w - w_zp, the node's layout */
  float *sw;             /* [channels] */
  int64_t *bias;         /* [channels] B (0 without) */
  int32_t *colsum;       /* [channels] sum of the channel's codes */
} adopted;

static void adopted_free(adopted *a) {
  free(a->codes);
  free(a->sw);
  free(a->bias);
  free(a->colsum);
}

/* Why the node keeps the int32 path, or NULL with *a filled. `column`:
 * the weight's channels are its last dim (matmul B [K, N]), else its first. */
static const char *read_adopted(onnx_node *n, const qcc_shape *xs, bool column, adopted *a) {
  qcc_array w;
  memset(a, 0, sizeof *a);
  qrt_dtype xt = xs->dtype, yt = QRT_U8;
  int64_t zx, zy;
  if (xt != QRT_U8 && xt != QRT_I8) return "x is not 8-bit";
  if (!const_f32(n, 1, &a->sx) || !const_f32(n, 6, &a->sy)) return "x_scale or y_scale is not one float32 constant";
  if (!const_zp(n, 2, &zx, &xt) || !const_zp(n, 7, &zy, &yt))
    return "x_zero_point or y_zero_point is not one 8-bit constant";
  if (xt != xs->dtype) return "x_zero_point's type is not x's";
  if (!(a->sx > 0) || !(a->sy > 0)) return "a scale is not positive";
  a->y_type = yt;
  a->y_offset = yt == QRT_U8 ? 128 : 0;
  a->zx8 = zx - (xt == QRT_U8 ? 128 : 0);
  a->zy8 = zy - a->y_offset;
  if (!onnx_const_input(n, 3, &w)) return "the weight is not a constant";
  if ((w.dtype != QRT_U8 && w.dtype != QRT_I8) || w.rank < 2) {
    qcc_array_free(&w);
    return "the weight is not an 8-bit constant of rank 2 or more";
  }
  a->channels = column ? w.dims[w.rank - 1] : w.dims[0];
  if (a->channels <= 0 || qcc_array_numel(&w) == 0) {
    qcc_array_free(&w);
    return "the weight is empty";
  }
  a->per = qcc_array_numel(&w) / a->channels;
  const size_t ch = (size_t)a->channels;
  a->codes = malloc((size_t)qcc_array_numel(&w));
  a->sw = malloc(sizeof(float) * ch);
  a->bias = malloc(sizeof(int64_t) * ch);
  a->colsum = calloc(ch, sizeof(int32_t));
  int64_t *wz = malloc(sizeof(int64_t) * ch);
  const char *why = NULL;
  if (!per_channel(n, 4, a->channels, QRT_F32, a->sw)) why = "w_scale is not one or one per channel float32 constant";
  else if (!per_channel(n, 5, a->channels, QRT_I32, wz)) why = "w_zero_point is not a constant";
  else if (!per_channel(n, 8, a->channels, QRT_I32, a->bias)) why = "B is not an int32 constant";
  for (int64_t c = 0; !why && c < a->channels; c++)
    if (!(a->sw[c] > 0)) why = "a weight scale is not positive";
  for (int64_t i = 0; !why && i < qcc_array_numel(&w); i++) {
    const int64_t c = column ? i % a->channels : i / a->per, v = int_at(&w, i) - wz[c];
    if (v < -128 || v > 127) why = "a weight minus its zero point does not fit int8";
    a->codes[i] = (int8_t)v;
    a->colsum[c] += (int32_t)v;
  }
  free(wz);
  qcc_array_free(&w);
  if (why) adopted_free(a);
  return why;
}

/* The requantization multipliers of the float scale x_scale w_scale[c] /
 * y_scale, computed as the int32 path computes it (float32, in order). */
static void multipliers(onnx_node *n, const adopted *a, MlirValue *mult, MlirValue *shift) {
  int32_t *m = malloc(sizeof(int32_t) * (size_t)a->channels), *s = malloc(sizeof(int32_t) * (size_t)a->channels);
  for (int64_t c = 0; c < a->channels; c++) {
    volatile float prod = a->sx * a->sw[c]; /* one float32 rounding per step, as the graph's mul and div */
    volatile float real = prod / a->sy;
    qrt_quantize_multiplier((double)real, &m[c], &s[c]);
  }
  *mult = qcc_constant_before(n->op, QRT_I32, 1, &a->channels, m);
  *shift = qcc_shift_constant(n->op, s, a->channels);
  free(m);
  free(s);
}

/* The bias B (int32 by ONNX; a matmul's with x's zero point folded in). */
static MlirValue bias_constant(onnx_node *n, const adopted *a) {
  int32_t *b = malloc(sizeof(int32_t) * (size_t)a->channels);
  for (int64_t i = 0; i < a->channels; i++) b[i] = (int32_t)a->bias[i];
  MlirValue c = qcc_constant_before(n->op, QRT_I32, 1, &a->channels, b);
  free(b);
  return c;
}

static MlirAttribute scales_attr(onnx_node *n, const adopted *a) {
  qcc_shape sh = {QRT_F32, 1, {a->channels}};
  return qcc_dense_attr(n->ctx, &sh, a->sw);
}

/* The int8 codes' bounds: [-128, 127], narrowed by a fused Relu or Clip
 * (onnx_fuse_qdq.c's qcc.code_min / qcc.code_max, codes of y's type). */
static void code_bounds(onnx_node *n, const adopted *a, int64_t *lo, int64_t *hi) {
  *lo = onnx_attr_int(n, "qcc.code_min", -128 + a->y_offset) - a->y_offset;
  *hi = onnx_attr_int(n, "qcc.code_max", 127 + a->y_offset) - a->y_offset;
  if (*lo < -128) *lo = -128;
  if (*hi > 127) *hi = 127;
}

bool qcc_exact_qlinear = false;

static void kept(onnx_node *n, const char *why) {
  qcc_remark("legalize: %s keeps the exact int32 kernels: %s", n->where, why);
}

int onnx_adopt_qlinear_conv(onnx_node *n, MlirValue *res) {
  qcc_shape xs, ws;
  adopted a;
  if (!onnx_in_shape(n, 0, &xs) || !onnx_in_shape(n, 3, &ws)) return -1;
  const char *why = qcc_exact_qlinear ? "--exact-qlinear"
                    : xs.rank < 3      ? "x has no spatial dims"
                                       : read_adopted(n, &xs, false, &a);
  if (why) {
    kept(n, why);
    return 1;
  }
  /* The geometry as Conv's rule resolves it (auto_pad, kernel_shape,
   * group checks), from a float conv that is then dropped. */
  qcc_shape xf = xs, wf = ws;
  xf.dtype = wf.dtype = QRT_F32;
  MlirValue probe;
  if (onnx_emit_conv(n, onnx_scalar(n, QRT_F32, 0), &xf, onnx_scalar(n, QRT_F32, 0), &wf, (MlirValue){NULL}, &probe)) {
    adopted_free(&a);
    return -1;
  }
  MlirOperation conv = mlirOpResultGetOwner(probe);
  q_conv_attrs ca = q_conv_get(conv);
  qcc_shape ys;
  qcc_shape_of(probe, &ys);
  MlirValue zero_x = mlirOperationGetOperand(conv, 0), zero_w = mlirOperationGetOperand(conv, 1);
  mlirOperationDestroy(conv);
  mlirOperationDestroy(mlirOpResultGetOwner(zero_x));
  mlirOperationDestroy(mlirOpResultGetOwner(zero_w));
  ys.dtype = QRT_I8;
  MlirValue mult, shift;
  multipliers(n, &a, &mult, &shift);
  MlirValue xq = int8_codes(n, onnx_in(n, 0), &xs, a.sx, a.zx8);
  int64_t lo, hi;
  code_bounds(n, &a, &lo, &hi);
  q_qconv_attrs qa = {ca.strides, ca.pads, ca.dilations, ca.group, lo, hi, scales_attr(n, &a),
                      qcc_str(qcc_wformat_name(QRT_WFMT_I8))};
  MlirValue yq = onnx_emit(
      n, q_qconv_create(n->loc, qcc_quant_tensor_type(n->ctx, &ys, a.sy, a.zy8, -128, 127), xq,
                        qcc_constant_before(n->op, QRT_I8, ws.rank, ws.dims, a.codes), bias_constant(n, &a), mult,
                        shift, qcc_constant_before(n->op, QRT_I32, 1, &a.channels, a.colsum), &qa));
  res[0] = output_codes(n, yq, &ys, a.y_type);
  qcc_remark("legalize: %s runs on the int8 convolution kernels with the model's scales", n->where);
  adopted_free(&a);
  return 0;
}

int onnx_adopt_qlinear_matmul(onnx_node *n, MlirValue *res) {
  qcc_shape xs, ws;
  adopted a;
  if (!onnx_in_shape(n, 0, &xs) || !onnx_in_shape(n, 3, &ws)) return -1;
  const char *why = qcc_exact_qlinear ? "--exact-qlinear"
                    : xs.rank < 1      ? "a is a scalar"
                    : ws.rank != 2 ? "b is not 2-D"
                    : xs.dims[xs.rank - 1] != ws.dims[0] ? "a's last dim is not b's rows"
                                                         : read_adopted(n, &xs, true, &a);
  if (why) {
    kept(n, why);
    return 1;
  }
  /* x_zp folded into the bias, as quantize.c does: sum (a - z) b =
   * sum a b - z colsum (mod 2^32, as the int32 path's sums) */
  for (int64_t c = 0; c < a.channels; c++)
    a.bias[c] = (int32_t)((uint32_t)(int32_t)a.bias[c] - (uint32_t)a.zx8 * (uint32_t)a.colsum[c]);
  MlirValue mult, shift;
  multipliers(n, &a, &mult, &shift);
  MlirValue xq = int8_codes(n, onnx_in(n, 0), &xs, a.sx, a.zx8);
  qcc_shape ys = xs;
  ys.dtype = QRT_I8;
  ys.dims[ys.rank - 1] = a.channels;
  int64_t lo, hi;
  code_bounds(n, &a, &lo, &hi);
  q_qmatmul_attrs qa = {lo, hi, scales_attr(n, &a), qcc_str(qcc_wformat_name(QRT_WFMT_I8)), 0};
  MlirValue yq = onnx_emit(n, q_qmatmul_create(n->loc, qcc_quant_tensor_type(n->ctx, &ys, a.sy, a.zy8, -128, 127), xq,
                                               qcc_constant_before(n->op, QRT_I8, 2, ws.dims, a.codes),
                                               bias_constant(n, &a), mult, shift, (MlirValue){NULL}, &qa));
  res[0] = output_codes(n, yq, &ys, a.y_type);
  qcc_remark("legalize: %s runs on the int8 matmul kernels with the model's scales", n->where);
  adopted_free(&a);
  return 0;
}
