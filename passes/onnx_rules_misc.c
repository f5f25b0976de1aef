/* onnx_rules_misc.c - legalization of ops built from existing q ops:
 * Shrink, IsInf, IsNaN (q.unary), Trilu (a constant index mask compared
 * with k, then q.where), Hardmax (q.argreduce == iota), OneHot (indices ==
 * iota, then q.where), EyeLike, Range and the window functions
 * (compile-time constants), TfIdfVectorizer (q.tfidf with its pool as
 * constant operands), DFT (q.dft), Det (q.det), RoiAlign (q.roi_align). */
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

/* Range with constant start, limit and delta: folded to a constant. The
 * scalar's type is returned in *t (the array is freed here). */
static bool const_scalar(onnx_node *n, int i, qrt_dtype *t, double *d, int64_t *l) {
  qcc_array a;
  memset(&a, 0, sizeof a);
  if (!onnx_const_input(n, i, &a) || qcc_array_numel(&a) != 1) {
    qcc_array_free(&a);
    onnx_fail(n, "input %d must be a compile-time constant scalar, or the output shape must be declared", i);
    return false;
  }
  *t = a.dtype;
  switch (a.dtype) {
  case QRT_F32: *d = ((float *)a.data)[0]; *l = 0; break; /* floats use *d only */
  case QRT_F64: *d = ((double *)a.data)[0]; *l = 0; break;
  case QRT_I16: *l = ((int16_t *)a.data)[0]; *d = (double)*l; break;
  case QRT_I32: *l = ((int32_t *)a.data)[0]; *d = (double)*l; break;
  case QRT_I64: *l = ((int64_t *)a.data)[0]; *d = (double)*l; break;
  default: onnx_fail(n, "element type %s is not supported", qcc_dtype_name(a.dtype)); qcc_array_free(&a); return false;
  }
  qcc_array_free(&a);
  return true;
}

/* Range whose inputs are known only at run time, with the output length
 * the model declares: y = start + iota * delta, the same element
 * arithmetic as the constant case. */
static int range_runtime(onnx_node *n, const qcc_shape *y, MlirValue *res) {
  qrt_dtype t = y->dtype;
  qcc_shape sc = {t, 0, {0}};
  for (int i = 0; i < 3; i++) {
    qcc_shape s;
    if (!onnx_in_shape(n, i, &s)) return -1;
    if (s.dtype != t || qcc_shape_numel(&s) != 1) return onnx_fail(n, "start, limit and delta must be scalars of the output type");
  }
  if (t != QRT_F32 && t != QRT_F64 && t != QRT_I16 && t != QRT_I32 && t != QRT_I64)
    return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(t));
  int64_t len = y->dims[0];
  size_t es = qcc_dtype_size(t);
  /* the iota is a constant of len elements: bounded like a folded expansion */
  if ((double)len * (double)es > (double)QCC_MAX_EXPAND_FOLD_BYTES)
    return onnx_fail(n, "declared length %lld is more than qcc folds (%lld bytes at most)", (long long)len,
                     (long long)QCC_MAX_EXPAND_FOLD_BYTES);
  qcc_array io = {t, 1, {len}, calloc((size_t)len + 1, es), es * (size_t)len};
  for (int64_t i = 0; i < len; i++) put((char *)io.data + es * (size_t)i, t, (double)i);
  MlirValue iota = onnx_constant(n, &io);
  free(io.data);
  MlirValue start = onnx_in(n, 0), delta = onnx_in(n, 2);
  qcc_shape s0, s2;
  qcc_shape_of(start, &s0);
  qcc_shape_of(delta, &s2);
  if (s0.rank) start = onnx_reshape(n, start, &sc);
  if (s2.rank) delta = onnx_reshape(n, delta, &sc);
  res[0] = binary(n, "add", start, binary(n, "mul", iota, delta, y), y);
  return 0;
}

static int rule_range(onnx_node *n, MlirValue *res) {
  qrt_dtype dt[3];
  double d[3];
  int64_t l[3];
  qcc_shape decl;
  bool all_const = true;
  for (int i = 0; i < 3; i++) {
    qcc_array c;
    if (onnx_const_input(n, i, &c)) qcc_array_free(&c);
    else all_const = false;
  }
  if (!all_const && onnx_declared_shape(n, 0, &decl) && decl.rank == 1) return range_runtime(n, &decl, res);
  for (int i = 0; i < 3; i++)
    if (!const_scalar(n, i, &dt[i], &d[i], &l[i])) return -1;
  qrt_dtype t = dt[0];
  bool fl = is_float(t);
  if (fl ? d[2] == 0 : l[2] == 0) return onnx_fail(n, "delta is zero");
  /* The length in double first: a huge or non-finite one is refused before
   * any conversion to an integer (or int64 arithmetic) could overflow. */
  const double approx = fl ? ceil((d[1] - d[0]) / d[2]) : ((double)l[1] - (double)l[0]) / (double)l[2];
  if (!(approx <= (double)QCC_MAX_TENSOR_ELEMENTS))
    return onnx_fail(n, "start, limit and delta give %g elements (at most 2^40)", approx);
  int64_t count = 0;
  if (fl) {
    count = approx < 0 ? 0 : (int64_t)approx;
  } else if ((l[0] < 0 && l[1] > INT64_MAX + l[0]) || (l[0] > 0 && l[1] < INT64_MIN + l[0])) {
    return onnx_fail(n, "limit - start overflows int64");
  } else {
    const int64_t diff = l[1] - l[0]; /* ceil(diff / delta), 0 when they differ in sign */
    count = diff == 0 || (diff > 0) != (l[2] > 0) ? 0 : diff / l[2] + (diff % l[2] != 0);
  }
  if (count < 0) count = 0;
  size_t es = qcc_dtype_size(t);
  /* Three scalars expand to count elements: bounded like any folded
   * expansion (a fuzzed delta of 3e-8 asked for 167M floats, 44 s and a
   * 670 MB table). */
  if ((double)count * (double)es > (double)QCC_MAX_EXPAND_FOLD_BYTES)
    return onnx_fail(n, "%lld elements is more than qcc folds (%lld bytes at most)", (long long)count,
                     (long long)QCC_MAX_EXPAND_FOLD_BYTES);
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

/* OneHot (opset 9, 11): y = (idx' == iota along axis) ? on : off with
 * idx' = idx + depth for negative idx, so indices outside [-depth, depth)
 * give all-off rows (the spec's rule).  Depth must be a constant or fixed
 * by the declared output shape; values [off, on] may be a run-time tensor.  Float indices are compared as
 * floats (a fractional index matches nothing). */
static int rule_onehot(onnx_node *n, MlirValue *res) {
  qcc_shape idx, vs;
  qcc_array d;
  if (!onnx_in_shape(n, 0, &idx) || !onnx_in_shape(n, 2, &vs)) return -1;
  if (idx.dtype == QRT_BOOL || idx.dtype == QRT_F16 || idx.dtype == QRT_STRING || !qcc_dtype_size(idx.dtype))
    return onnx_fail(n, "indices of type %s are not supported", qcc_dtype_name(idx.dtype));
  if (qcc_shape_numel(&vs) != 2 || vs.dtype == QRT_STRING) return onnx_fail(n, "values must hold [off_value, on_value]");
  int64_t depth, axis;
  if (idx.rank + 1 > QRT_MAX_RANK) return onnx_fail(n, "result rank too large");
  if (!onnx_axis(n, onnx_attr_int(n, "axis", -1), idx.rank + 1, &axis)) return -1;
  qcc_shape decl;
  if (onnx_const_input(n, 1, &d)) {
    if (qcc_array_numel(&d) != 1) {
      qcc_array_free(&d);
      return onnx_fail(n, "depth must be a scalar");
    }
    double dv = 0;
    switch (d.dtype) {
    case QRT_F32: dv = ((float *)d.data)[0]; break;
    case QRT_F64: dv = ((double *)d.data)[0]; break;
    case QRT_I8: dv = ((int8_t *)d.data)[0]; break;
    case QRT_U8: dv = ((uint8_t *)d.data)[0]; break;
    case QRT_I16: dv = ((int16_t *)d.data)[0]; break;
    case QRT_U16: dv = ((uint16_t *)d.data)[0]; break;
    case QRT_I32: dv = ((int32_t *)d.data)[0]; break;
    case QRT_U32: dv = ((uint32_t *)d.data)[0]; break;
    case QRT_I64: dv = (double)((int64_t *)d.data)[0]; break;
    case QRT_U64: dv = (double)((uint64_t *)d.data)[0]; break;
    default: dv = -1; break;
    }
    qcc_array_free(&d);
    if (!(dv >= 1 && dv <= 1e9) || dv != floor(dv)) return onnx_fail(n, "depth must be a positive integer");
    depth = (int64_t)dv;
  } else if (onnx_declared_shape(n, 0, &decl) && decl.rank == idx.rank + 1) {
    depth = decl.dims[axis]; /* the declared output fixes the run-time depth */
    if (depth < 1) return onnx_fail(n, "depth must be a positive integer");
  } else {
    return onnx_fail(n, "input 1 (depth) must be a compile-time constant scalar, or the output shape must be declared");
  }
  /* the iota below is a constant of depth indices: bounded like a folded
   * expansion (a fuzzed depth of 134M made a 1 GiB table and an 870 MB C
   * file) */
  if ((double)depth * 8 > (double)QCC_MAX_EXPAND_FOLD_BYTES)
    return onnx_fail(n, "depth %lld is larger than qcc supports (%lld)", (long long)depth,
                     (long long)(QCC_MAX_EXPAND_FOLD_BYTES / 8));
  qcc_shape y = {vs.dtype, idx.rank + 1, {0}}, iu = idx, hs;
  for (int i = 0, j = 0; i < y.rank; i++) y.dims[i] = i == axis ? depth : idx.dims[j++];
  for (int i = 0, j = 0; i < y.rank; i++) iu.dims[i] = i == axis ? 1 : idx.dims[j++];
  iu.rank = y.rank;
  /* Compared in int64 (signed indices), uint64 (unsigned: never negative)
   * or the float type itself. */
  bool unsig = idx.dtype == QRT_U8 || idx.dtype == QRT_U16 || idx.dtype == QRT_U32 || idx.dtype == QRT_U64;
  qcc_shape ic = idx;
  ic.dtype = is_float(idx.dtype) ? idx.dtype : unsig ? QRT_U64 : QRT_I64;
  MlirValue iv = onnx_in(n, 0);
  if (ic.dtype != idx.dtype) iv = onnx_emit(n, q_cast_create(n->loc, onnx_type(n, &ic), iv));
  if (!unsig) {
    /* idx' = idx < 0 ? idx + depth : idx */
    qcc_shape bs = ic;
    bs.dtype = QRT_BOOL;
    MlirValue neg = binary(n, "less", iv, scalar(n, ic.dtype, 0), &bs);
    MlirValue wrapped = binary(n, "add", iv, scalar(n, ic.dtype, (double)depth), &ic);
    iv = onnx_emit(n, q_where_create(n->loc, onnx_type(n, &ic), neg, wrapped, iv));
  }
  iu.dtype = ic.dtype;
  iv = onnx_reshape(n, iv, &iu);
  /* iota along axis */
  size_t es = qcc_dtype_size(ic.dtype);
  qcc_array io = {ic.dtype, y.rank, {0}, calloc((size_t)depth + 1, es), es * (size_t)depth};
  for (int i = 0; i < y.rank; i++) io.dims[i] = i == axis ? depth : 1;
  for (int64_t i = 0; i < depth; i++) put((char *)io.data + es * (size_t)i, ic.dtype, (double)i);
  MlirValue iota = onnx_constant(n, &io);
  free(io.data);
  hs = y;
  hs.dtype = QRT_BOOL;
  MlirValue hit = binary(n, "equal", iv, iota, &hs);
  /* off = values[0], on = values[1], as scalars */
  qcc_shape flat = {vs.dtype, 1, {2}}, one = {vs.dtype, 1, {1}}, sc = {vs.dtype, 0, {0}};
  MlirValue vflat = onnx_reshape(n, onnx_in(n, 2), &flat), ov[2];
  for (int k = 0; k < 2; k++) {
    q_slice_attrs sa = {{1, {k}}, {1, {1}}};
    ov[k] = onnx_reshape(n, onnx_emit(n, q_slice_create(n->loc, onnx_type(n, &one), vflat, &sa)), &sc);
  }
  res[0] = onnx_emit(n, q_where_create(n->loc, onnx_type(n, &y), hit, ov[1], ov[0]));
  return 0;
}

/* HannWindow, HammingWindow, BlackmanWindow (opset 17): the generalized
 * cosine window w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), with
 * N = size (periodic, the default) or size - 1, computed in double and
 * converted to output_datatype.  A run-time size is the declared length. */
static int rule_window(onnx_node *n, MlirValue *res) {
  double a0, a1, a2 = 0;
  if (!strcmp(n->type, "HannWindow")) a0 = 0.5, a1 = 0.5;
  else if (!strcmp(n->type, "HammingWindow")) a0 = 25.0 / 46.0, a1 = 21.0 / 46.0;
  else a0 = 0.42, a1 = 0.5, a2 = 0.08;
  q_i64s sz;
  qcc_shape decl;
  int k = onnx_shape_input(n, 0, &sz, "size", 0, &decl);
  if (k < 0) return -1;
  if (k == 1 && sz.n != 1) return onnx_fail(n, "size must be a scalar");
  if (k == 0 && decl.rank != 1) return onnx_fail(n, "the declared output must be 1-D");
  int64_t size = k == 1 ? sz.v[0] : decl.dims[0];
  if (size < 0) return onnx_fail(n, "negative size");
  qrt_dtype t = (qrt_dtype)onnx_attr_int(n, "output_datatype", QRT_F32);
  size_t es = qcc_dtype_size(t);
  if (!es || t == QRT_STRING || t == QRT_F16) return onnx_fail(n, "output_datatype %d is not supported", (int)t);
  double N = onnx_attr_int(n, "periodic", 1) ? (double)size : (double)(size - 1);
  const double pi = 3.14159265358979323846;
  qcc_array y = {t, 1, {size}, calloc((size_t)size + 1, es), es * (size_t)size};
  for (int64_t i = 0; i < size; i++) {
    double w = N > 0 ? a0 - a1 * cos(2 * pi * (double)i / N) + a2 * cos(4 * pi * (double)i / N) : 1.0;
    put((char *)y.data + es * (size_t)i, t, w);
  }
  res[0] = onnx_constant(n, &y);
  free(y.data);
  return 0;
}

/* An int64 list attribute as a 1-D constant (possibly empty). */
static MlirValue ints_constant(onnx_node *n, const char *name, int64_t *count) {
  MlirAttribute a = mlirOperationGetAttributeByName(n->op, mlirStringRefCreateFromCString(name));
  intptr_t k = !mlirAttributeIsNull(a) && mlirAttributeIsADenseI64Array(a) ? mlirDenseArrayGetNumElements(a) : 0;
  int64_t *v = malloc(sizeof(int64_t) * (size_t)(k + 1));
  for (intptr_t i = 0; i < k; i++) v[i] = mlirDenseI64ArrayGetElement(a, i);
  qcc_array arr = {QRT_I64, 1, {k}, v, sizeof(int64_t) * (size_t)k};
  MlirValue c = onnx_constant(n, &arr);
  free(v);
  *count = k;
  return c;
}

/* TfIdfVectorizer (opset 9) over pool_int64s; the output has
 * max(ngram_indexes) + 1 columns. */
static int rule_tfidf(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  if ((x.dtype != QRT_I32 && x.dtype != QRT_I64) || x.rank < 1 || x.rank > 2)
    return onnx_fail(n, "X must be a 1-D or 2-D int32/int64 tensor");
  if (onnx_has_attr(n, "pool_strings")) return onnx_fail(n, "pool_strings is not supported");
  q_tfidf_attrs a;
  memset(&a, 0, sizeof a);
  onnx_attr_str(n, "mode", "", a.mode.s, sizeof a.mode.s);
  if (strcmp(a.mode.s, "TF") && strcmp(a.mode.s, "IDF") && strcmp(a.mode.s, "TFIDF"))
    return onnx_fail(n, "mode '%s' must be TF, IDF or TFIDF", a.mode.s);
  a.min_gram_length = onnx_attr_int(n, "min_gram_length", 0);
  a.max_gram_length = onnx_attr_int(n, "max_gram_length", 0);
  a.max_skip_count = onnx_attr_int(n, "max_skip_count", 0);
  if (a.min_gram_length < 1 || a.max_gram_length < a.min_gram_length || a.max_skip_count < 0 || a.max_gram_length > 64 ||
      a.max_skip_count > 1000000)
    return onnx_fail(n, "min_gram_length, max_gram_length or max_skip_count out of range");
  int64_t np, nc, ni;
  MlirValue pool = ints_constant(n, "pool_int64s", &np), counts = ints_constant(n, "ngram_counts", &nc);
  MlirValue idx = ints_constant(n, "ngram_indexes", &ni);
  int64_t out = 0;
  MlirAttribute ia = mlirOperationGetAttributeByName(n->op, mlirStringRefCreateFromCString("ngram_indexes"));
  for (int64_t i = 0; i < ni; i++) {
    int64_t v = mlirDenseI64ArrayGetElement(ia, i);
    if (v < 0) return onnx_fail(n, "negative ngram index");
    if (v + 1 > out) out = v + 1;
  }
  MlirValue w = {NULL};
  MlirAttribute wa = mlirOperationGetAttributeByName(n->op, mlirStringRefCreateFromCString("weights"));
  if (!mlirAttributeIsNull(wa) && mlirAttributeIsADenseF32Array(wa)) {
    if (mlirDenseArrayGetNumElements(wa) != ni) return onnx_fail(n, "weights must hold one value per ngram index");
    float *cw = malloc(sizeof(float) * (size_t)(out + 1));
    for (int64_t t = 0; t < out; t++) cw[t] = 1.0f;
    /* the weight of pool n-gram i belongs to its output column */
    for (int64_t i = 0; i < ni; i++) cw[mlirDenseI64ArrayGetElement(ia, i)] = mlirDenseF32ArrayGetElement(wa, i);
    qcc_array wc = {QRT_F32, 1, {out}, cw, sizeof(float) * (size_t)out};
    w = onnx_constant(n, &wc);
    free(cw);
  }
  qcc_shape y = {QRT_F32, x.rank, {0}};
  if (x.rank == 2) y.dims[0] = x.dims[0];
  y.dims[x.rank - 1] = out;
  res[0] = onnx_emit(n, q_tfidf_create(n->loc, onnx_type(n, &y), onnx_in(n, 0), pool, counts, idx, w, &a));
  return 0;
}

/* DFT (opset 17, 20): x [batch, signal..., 1 | 2], axis a signal dim (an
 * attribute, default 1, before opset 20; from 20 a constant third input,
 * default -2), optional dft_length (constant, or the declared output's
 * length when not onesided), onesided keeps bins 0 .. length/2 (real
 * input only). */
static int rule_dft(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  if (x.dtype != QRT_F32) return onnx_fail(n, "element type %s is not supported (float32 only)", qcc_dtype_name(x.dtype));
  if (x.rank < 3 || (x.dims[x.rank - 1] != 1 && x.dims[x.rank - 1] != 2))
    return onnx_fail(n, "input must be [batch, signal..., 1 or 2]");
  int64_t axis = onnx_attr_int(n, "axis", 1);
  if (n->opset >= 20) {
    if (onnx_has_in(n, 2)) {
      q_i64s a = {.n = 0};
      if (!onnx_const_ints(n, 2, &a, "axis")) return -1;
      if (a.n != 1) return onnx_fail(n, "axis must be a scalar");
      axis = a.v[0];
    } else {
      axis = -2;
    }
  }
  const int64_t given = axis;
  if (axis < 0) axis += x.rank;
  if (axis < 1 || axis > x.rank - 2) return onnx_fail(n, "axis %lld must name a signal dim", (long long)given);
  bool inverse = onnx_attr_int(n, "inverse", 0) != 0, onesided = onnx_attr_int(n, "onesided", 0) != 0;
  if (onesided && x.dims[x.rank - 1] != 1) return onnx_fail(n, "onesided needs a real input");
  int64_t length = x.dims[axis];
  if (onnx_has_in(n, 1)) {
    q_i64s l;
    qcc_shape decl;
    int k = onnx_shape_input(n, 1, &l, "dft_length", 0, &decl);
    if (k < 0) return -1;
    if (k == 1 && l.n != 1) return onnx_fail(n, "dft_length must be a scalar");
    if (k == 0 && (onesided || decl.rank != x.rank))
      return onnx_fail(n, "a run-time dft_length needs onesided=0 and a declared output shape");
    length = k == 1 ? l.v[0] : decl.dims[axis];
  }
  if (length < 1) return onnx_fail(n, "dft_length must be positive");
  qcc_shape y = x;
  y.dims[axis] = onesided ? length / 2 + 1 : length;
  y.dims[y.rank - 1] = 2;
  q_dft_attrs a = {axis, inverse, length};
  res[0] = onnx_emit(n, q_dft_create(n->loc, onnx_type(n, &y), onnx_in(n, 0), &a));
  return 0;
}

static int rule_det(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  if (x.dtype != QRT_F32 && x.dtype != QRT_F64) return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(x.dtype));
  if (x.rank < 2 || x.dims[x.rank - 1] != x.dims[x.rank - 2]) return onnx_fail(n, "input must be [..., M, M]");
  qcc_shape y = x;
  y.rank -= 2;
  res[0] = onnx_emit(n, q_det_create(n->loc, onnx_type(n, &y), onnx_in(n, 0)));
  return 0;
}

/* RoiAlign (opset 10: the output_half_pixel behaviour; 16 adds
 * coordinate_transformation_mode, default half_pixel). */
static int rule_roi_align(onnx_node *n, MlirValue *res) {
  qcc_shape x, r, b;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &r) || !onnx_in_shape(n, 2, &b)) return -1;
  if (x.dtype != QRT_F32 || r.dtype != QRT_F32) return onnx_fail(n, "X and rois must be float32");
  if (x.rank != 4 || r.rank != 2 || r.dims[1] != 4 || b.rank != 1 || b.dims[0] != r.dims[0] || b.dtype != QRT_I64)
    return onnx_fail(n, "X must be [N, C, H, W], rois [R, 4] and batch_indices int64 [R]");
  q_roi_align_attrs a;
  memset(&a, 0, sizeof a);
  onnx_attr_str(n, "mode", "avg", a.mode.s, sizeof a.mode.s);
  if (strcmp(a.mode.s, "avg") && strcmp(a.mode.s, "max")) return onnx_fail(n, "mode '%s' must be avg or max", a.mode.s);
  char ct[32];
  onnx_attr_str(n, "coordinate_transformation_mode", n->opset >= 16 ? "half_pixel" : "output_half_pixel", ct, sizeof ct);
  if (strcmp(ct, "half_pixel") && strcmp(ct, "output_half_pixel"))
    return onnx_fail(n, "coordinate_transformation_mode '%s' is not supported", ct);
  a.half_pixel = !strcmp(ct, "half_pixel");
  a.sampling_ratio = onnx_attr_int(n, "sampling_ratio", 0);
  a.spatial_scale = onnx_attr_float(n, "spatial_scale", 1.0);
  int64_t oh = onnx_attr_int(n, "output_height", 1), ow = onnx_attr_int(n, "output_width", 1);
  if (oh < 1 || ow < 1 || a.sampling_ratio < 0) return onnx_fail(n, "output sizes must be positive, sampling_ratio >= 0");
  qcc_shape y = {QRT_F32, 4, {r.dims[0], x.dims[1], oh, ow}};
  res[0] = onnx_emit(n, q_roi_align_create(n->loc, onnx_type(n, &y), onnx_in(n, 0), onnx_in(n, 1), onnx_in(n, 2), &a));
  return 0;
}

const onnx_rule onnx_rules_misc[] = {
    {"Shrink", rule_shrink}, {"IsInf", rule_isinf_isnan}, {"IsNaN", rule_isinf_isnan}, {"Trilu", rule_trilu},
    {"Hardmax", rule_hardmax}, {"EyeLike", rule_eyelike}, {"Range", rule_range},
    {"OneHot", rule_onehot}, {"HannWindow", rule_window}, {"HammingWindow", rule_window},
    {"BlackmanWindow", rule_window}, {"TfIdfVectorizer", rule_tfidf},
    {"DFT", rule_dft}, {"Det", rule_det}, {"RoiAlign", rule_roi_align}, {NULL, NULL},
};
