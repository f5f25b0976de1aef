/* onnx_rules_misc.c - legalization of ops built from existing q ops:
 * Shrink, IsInf, IsNaN (q.unary), Trilu (a constant index mask compared
 * with k, then q.where), Hardmax (q.argreduce == iota), EyeLike and Range
 * (compile-time constants). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_rules.h"

static MlirValue unary(onnx_node *n, const char *kind, MlirValue x, const qcc_shape *y, double alpha, double beta) {
  q_unary_attrs a;
  memset(&a, 0, sizeof a);
  snprintf(a.kind.s, sizeof a.kind.s, "%s", kind);
  a.alpha = alpha;
  a.beta = beta;
  return onnx_emit(n, q_unary_create(n->loc, onnx_type(n, y), x, &a));
}

static MlirValue binary(onnx_node *n, const char *kind, MlirValue a, MlirValue b, const qcc_shape *y) {
  q_binary_attrs at;
  memset(&at, 0, sizeof at);
  snprintf(at.kind.s, sizeof at.kind.s, "%s", kind);
  return onnx_emit(n, q_binary_create(n->loc, onnx_type(n, y), a, b, &at));
}

static bool is_float(qrt_dtype t) { return t == QRT_F32 || t == QRT_F64; }

/* Writes v converted to element type t at p. */
static void put(void *p, qrt_dtype t, double v) {
  switch (t) {
  case QRT_F32: *(float *)p = (float)v; break;
  case QRT_F64: *(double *)p = v; break;
  case QRT_I8: *(int8_t *)p = (int8_t)v; break;
  case QRT_U8: *(uint8_t *)p = (uint8_t)v; break;
  case QRT_BOOL: *(uint8_t *)p = v != 0; break;
  case QRT_I16: *(int16_t *)p = (int16_t)v; break;
  case QRT_U16: *(uint16_t *)p = (uint16_t)v; break;
  case QRT_I32: *(int32_t *)p = (int32_t)v; break;
  case QRT_U32: *(uint32_t *)p = (uint32_t)v; break;
  case QRT_I64: *(int64_t *)p = (int64_t)v; break;
  case QRT_U64: *(uint64_t *)p = (uint64_t)v; break;
  default: break;
  }
}

/* A scalar constant (rank 0) of type t. */
static MlirValue scalar(onnx_node *n, qrt_dtype t, double v) {
  uint64_t buf = 0;
  put(&buf, t, v);
  qcc_array a = {t, 0, {0}, &buf, qcc_dtype_size(t)};
  return onnx_constant(n, &a);
}

static int rule_shrink(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  if (!is_float(x.dtype)) return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(x.dtype));
  res[0] = unary(n, "shrink", onnx_in(n, 0), &x, onnx_attr_float(n, "lambd", 0.5), onnx_attr_float(n, "bias", 0.0));
  return 0;
}

static int rule_isinf_isnan(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  if (!is_float(x.dtype)) return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(x.dtype));
  qcc_shape y = x;
  y.dtype = QRT_BOOL;
  const char *kind = "isnan";
  if (!strcmp(n->type, "IsInf")) {
    bool pos = onnx_attr_int(n, "detect_positive", 1) != 0, neg = onnx_attr_int(n, "detect_negative", 1) != 0;
    if (!pos && !neg) {
      /* Detects nothing: all false. */
      res[0] = onnx_emit(n, q_broadcast_create(n->loc, onnx_type(n, &y), scalar(n, QRT_BOOL, 0)));
      return 0;
    }
    kind = pos && neg ? "isinf" : pos ? "isinf_pos" : "isinf_neg";
  }
  res[0] = unary(n, kind, onnx_in(n, 0), &y, 0, 0);
  return 0;
}

/* Trilu: keep x[..., i, j] where j - i >= k (upper) or j - i <= k (lower),
 * zero elsewhere. k may be a run-time scalar: the mask compares a constant
 * [N, M] matrix of j - i with it. */
static int rule_trilu(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  if (x.rank < 2) return onnx_fail(n, "input must have rank >= 2");
  if (x.dtype == QRT_STRING) return onnx_fail(n, "string tensors are not supported");
  int64_t rows = x.dims[x.rank - 2], cols = x.dims[x.rank - 1];
  bool upper = onnx_attr_int(n, "upper", 1) != 0;
  qcc_shape ms = {QRT_I64, 2, {rows, cols}};
  qcc_array d = {QRT_I64, 2, {rows, cols}, malloc(sizeof(int64_t) * (size_t)(rows * cols + 1)),
                 sizeof(int64_t) * (size_t)(rows * cols)};
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++) ((int64_t *)d.data)[i * cols + j] = j - i;
  MlirValue diff = onnx_constant(n, &d);
  free(d.data);
  MlirValue k;
  if (onnx_has_in(n, 1)) {
    qcc_shape ks;
    if (!onnx_in_shape(n, 1, &ks)) return -1;
    if (ks.dtype != QRT_I64 || qcc_shape_numel(&ks) != 1) return onnx_fail(n, "k must be an int64 scalar");
    k = onnx_in(n, 1);
    if (ks.rank != 0) {
      qcc_shape s0 = {QRT_I64, 0, {0}};
      k = onnx_reshape(n, k, &s0);
    }
  } else {
    k = scalar(n, QRT_I64, 0);
  }
  ms.dtype = QRT_BOOL;
  MlirValue mask = binary(n, upper ? "greater_equal" : "less_equal", diff, k, &ms);
  res[0] = onnx_emit(n, q_where_create(n->loc, onnx_type(n, &x), mask, onnx_in(n, 0), scalar(n, x.dtype, 0)));
  return 0;
}

/* Hardmax: 1 at the first maximum along the axis, 0 elsewhere. From opset
 * 13 one axis (default -1); before, the input is viewed as 2-D
 * [prod(dims < axis), prod(dims >= axis)] (default axis 1). */
static int rule_hardmax(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  if (!is_float(x.dtype)) return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(x.dtype));
  bool new_style = n->opset >= 13;
  int64_t axis;
  if (!onnx_axis(n, onnx_attr_int(n, "axis", new_style ? -1 : 1), x.rank, &axis)) return -1;
  MlirValue v = onnx_in(n, 0);
  qcc_shape s = x;
  if (!new_style) {
    qcc_shape flat = {x.dtype, 2, {1, 1}};
    for (int i = 0; i < x.rank; i++) flat.dims[i < axis ? 0 : 1] *= x.dims[i];
    v = onnx_reshape(n, v, &flat);
    s = flat;
    axis = 1;
  }
  if (s.rank == 0) return onnx_fail(n, "input must have rank >= 1");
  qcc_shape am = s;
  am.dtype = QRT_I64;
  am.dims[axis] = 1;
  q_argreduce_attrs a;
  memset(&a, 0, sizeof a);
  snprintf(a.kind.s, sizeof a.kind.s, "max");
  a.axis = axis;
  MlirValue idx = onnx_emit(n, q_argreduce_create(n->loc, onnx_type(n, &am), v, &a));
  int64_t len = s.dims[axis];
  qcc_array io = {QRT_I64, s.rank, {0}, malloc(sizeof(int64_t) * (size_t)(len + 1)), sizeof(int64_t) * (size_t)len};
  for (int i = 0; i < s.rank; i++) io.dims[i] = i == axis ? len : 1;
  for (int64_t i = 0; i < len; i++) ((int64_t *)io.data)[i] = i;
  MlirValue iota = onnx_constant(n, &io);
  free(io.data);
  qcc_shape bs = s;
  bs.dtype = QRT_BOOL;
  MlirValue hit = binary(n, "equal", idx, iota, &bs);
  MlirValue y = onnx_emit(n, q_where_create(n->loc, onnx_type(n, &s), hit, scalar(n, s.dtype, 1), scalar(n, s.dtype, 0)));
  res[0] = new_style ? y : onnx_reshape(n, y, &x);
  return 0;
}

/* EyeLike: a constant 2-D matrix with ones on diagonal k. */
static int rule_eyelike(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  if (x.rank != 2) return onnx_fail(n, "input must be 2-D");
  qrt_dtype t = onnx_has_attr(n, "dtype") ? (qrt_dtype)onnx_attr_int(n, "dtype", 1) : x.dtype;
  size_t es = qcc_dtype_size(t);
  if (!es || t == QRT_STRING) return onnx_fail(n, "dtype %d is not supported", (int)t);
  int64_t k = onnx_attr_int(n, "k", 0), rows = x.dims[0], cols = x.dims[1];
  qcc_array a = {t, 2, {rows, cols}, calloc((size_t)(rows * cols) + 1, es), es * (size_t)(rows * cols)};
  for (int64_t i = 0; i < rows; i++)
    if (i + k >= 0 && i + k < cols) put((char *)a.data + es * (size_t)(i * cols + i + k), t, 1);
  res[0] = onnx_constant(n, &a);
  free(a.data);
  return 0;
}

/* Range with constant start, limit and delta: folded to a constant. */
static bool const_scalar(onnx_node *n, int i, qcc_array *a, double *d, int64_t *l) {
  if (!onnx_const_input(n, i, a) || qcc_array_numel(a) != 1) {
    onnx_fail(n, "input %d must be a compile-time constant scalar (the output shape depends on it)", i);
    return false;
  }
  switch (a->dtype) {
  case QRT_F32: *d = ((float *)a->data)[0]; *l = (int64_t)*d; break;
  case QRT_F64: *d = ((double *)a->data)[0]; *l = (int64_t)*d; break;
  case QRT_I16: *l = ((int16_t *)a->data)[0]; *d = (double)*l; break;
  case QRT_I32: *l = ((int32_t *)a->data)[0]; *d = (double)*l; break;
  case QRT_I64: *l = ((int64_t *)a->data)[0]; *d = (double)*l; break;
  default: onnx_fail(n, "element type %s is not supported", qcc_dtype_name(a->dtype)); qcc_array_free(a); return false;
  }
  qcc_array_free(a);
  return true;
}

static int rule_range(onnx_node *n, MlirValue *res) {
  qcc_array a[3];
  double d[3];
  int64_t l[3];
  for (int i = 0; i < 3; i++)
    if (!const_scalar(n, i, &a[i], &d[i], &l[i])) return -1;
  qrt_dtype t = a[0].dtype;
  bool fl = is_float(t);
  if (fl ? d[2] == 0 : l[2] == 0) return onnx_fail(n, "delta is zero");
  int64_t count = fl ? (int64_t)ceil((d[1] - d[0]) / d[2])
                     : (l[1] - l[0] + l[2] + (l[2] > 0 ? -1 : 1)) / l[2];
  if (count < 0) count = 0;
  size_t es = qcc_dtype_size(t);
  qcc_array y = {t, 1, {count}, calloc((size_t)count + 1, es), es * (size_t)count};
  for (int64_t i = 0; i < count; i++) {
    char *p = (char *)y.data + es * (size_t)i;
    if (t == QRT_F32) *(float *)p = (float)d[0] + (float)i * (float)d[2];
    else if (fl) put(p, t, d[0] + (double)i * d[2]);
    else if (t == QRT_I64) *(int64_t *)p = l[0] + i * l[2];
    else put(p, t, (double)(l[0] + i * l[2]));
  }
  res[0] = onnx_constant(n, &y);
  free(y.data);
  return 0;
}

const onnx_rule onnx_rules_misc[] = {
    {"Shrink", rule_shrink}, {"IsInf", rule_isinf_isnan}, {"IsNaN", rule_isinf_isnan}, {"Trilu", rule_trilu},
    {"Hardmax", rule_hardmax}, {"EyeLike", rule_eyelike}, {"Range", rule_range}, {NULL, NULL},
};
