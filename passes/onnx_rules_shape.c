/* onnx_rules_shape.c - legalization of data-movement and shape ops:
 * Constant, ConstantOfShape, Shape, Size, Reshape, Flatten, Squeeze,
 * Unsqueeze, Transpose, Concat, Split, Slice, Gather, Expand, Pad, Tile,
 * DepthToSpace, SpaceToDepth.
 * Shapes are static after import, so Shape/Size/ConstantOfShape become
 * constants here, and shape-computing subgraphs fold.  A shape, axes,
 * split or repeats input that is only known at run time is taken from the
 * output type the model declares (onnx_shape_input): for these ops the
 * output shape determines the result entirely. */
#include <stdlib.h>
#include <string.h>

#include "onnx_rules.h"

static MlirValue const_i64s(onnx_node *n, const int64_t *v, int64_t count, bool scalar) {
  qcc_array a = {QRT_I64, scalar ? 0 : 1, {count}, (void *)v, sizeof(int64_t) * (size_t)count};
  return onnx_constant(n, &a);
}

static int rule_constant(onnx_node *n, MlirValue *res) {
  static const char *const unsupported[] = {"sparse_value", "value_string", "value_strings"};
  for (int i = 0; i < 3; i++)
    if (onnx_has_attr(n, unsupported[i])) return onnx_fail(n, "attribute '%s' is not supported", unsupported[i]);
  MlirAttribute v = mlirOperationGetAttributeByName(n->op, mlirStringRefCreateFromCString("value"));
  qcc_array a;
  memset(&a, 0, sizeof a);
  if (!mlirAttributeIsNull(v)) {
    if (!qcc_dense_attr_read(v, &a)) return onnx_fail(n, "attribute 'value' is not a dense tensor");
    res[0] = onnx_constant(n, &a);
    qcc_array_free(&a);
    return 0;
  }
  q_i64s ints;
  if (onnx_has_attr(n, "value_int")) {
    int64_t i = onnx_attr_int(n, "value_int", 0);
    res[0] = const_i64s(n, &i, 1, true);
  } else if (onnx_attr_ints(n, "value_ints", &ints)) {
    res[0] = const_i64s(n, ints.v, ints.n, false);
  } else if (onnx_has_attr(n, "value_float")) {
    float f = (float)onnx_attr_float(n, "value_float", 0);
    qcc_array s = {QRT_F32, 0, {0}, &f, sizeof f};
    res[0] = onnx_constant(n, &s);
  } else {
    MlirAttribute fs = mlirOperationGetAttributeByName(n->op, mlirStringRefCreateFromCString("value_floats"));
    if (mlirAttributeIsNull(fs)) return onnx_fail(n, "no value attribute");
    intptr_t k = mlirDenseArrayGetNumElements(fs);
    float *buf = malloc(sizeof(float) * (size_t)(k + 1));
    for (intptr_t i = 0; i < k; i++) buf[i] = mlirDenseF32ArrayGetElement(fs, i);
    qcc_array s = {QRT_F32, 1, {k}, buf, sizeof(float) * (size_t)k};
    res[0] = onnx_constant(n, &s);
    free(buf);
  }
  return 0;
}

static int rule_shape(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  int64_t start = onnx_attr_int(n, "start", 0), end = onnx_attr_int(n, "end", x.rank);
  if (start < 0) start += x.rank;
  if (end < 0) end += x.rank;
  start = start < 0 ? 0 : start > x.rank ? x.rank : start;
  end = end < start ? start : end > x.rank ? x.rank : end;
  res[0] = const_i64s(n, x.dims + start, end - start, false);
  return 0;
}

static int rule_size(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  int64_t k = qcc_shape_numel(&x);
  res[0] = const_i64s(n, &k, 1, true);
  return 0;
}

static int rule_constant_of_shape(onnx_node *n, MlirValue *res) {
  q_i64s dims;
  qcc_shape decl;
  int k = onnx_shape_input(n, 0, &dims, "shape", 0, &decl);
  if (k < 0) return -1;
  if (k == 0) {
    dims.n = decl.rank;
    memcpy(dims.v, decl.dims, sizeof(int64_t) * (size_t)decl.rank);
  }
  qcc_array v = {QRT_F32, 0, {0}, NULL, 0};
  MlirAttribute va = mlirOperationGetAttributeByName(n->op, mlirStringRefCreateFromCString("value"));
  float zero = 0;
  bool owned = false;
  if (!mlirAttributeIsNull(va)) {
    if (!qcc_dense_attr_read(va, &v) || qcc_array_numel(&v) != 1) return onnx_fail(n, "value must hold one element");
    owned = true;
  } else {
    v.data = &zero;
    v.nbytes = sizeof zero;
  }
  qcc_array out = {v.dtype, dims.n, {0}, NULL, 0};
  int64_t count = 1;
  for (int i = 0; i < dims.n; i++) {
    if (dims.v[i] < 0) return onnx_fail(n, "negative dim in shape");
    out.dims[i] = dims.v[i];
    count *= dims.v[i];
  }
  size_t es = qcc_dtype_size(v.dtype);
  if ((double)count * (double)es > (double)QCC_MAX_EXPAND_FOLD_BYTES) {
    /* too big to be worth a table in the C: the value broadcast at run time */
    qcc_shape sc = {v.dtype, 0, {0}}, y = {v.dtype, dims.n, {0}};
    memcpy(y.dims, out.dims, sizeof(int64_t) * (size_t)dims.n);
    qcc_array one = {v.dtype, 0, {0}, v.data, es};
    MlirValue c = onnx_reshape(n, onnx_constant(n, &one), &sc);
    res[0] = onnx_emit(n, q_broadcast_create(n->loc, onnx_type(n, &y), c));
    if (owned) qcc_array_free(&v);
    return 0;
  }
  out.nbytes = es * (size_t)count;
  out.data = malloc(out.nbytes + 1);
  for (int64_t i = 0; i < count; i++) memcpy((char *)out.data + (size_t)i * es, v.data, es);
  res[0] = onnx_constant(n, &out);
  free(out.data);
  if (owned) qcc_array_free(&v);
  return 0;
}

static int emit_reshape(onnx_node *n, MlirValue *res, const qcc_shape *x, const qcc_shape *y) {
  if (qcc_shape_numel(x) != qcc_shape_numel(y)) {
    char a[128], b[128];
    return onnx_fail(n, "cannot reshape %s to %s", qcc_shape_str(x, a, sizeof a), qcc_shape_str(y, b, sizeof b));
  }
  res[0] = onnx_reshape(n, onnx_in(n, 0), y);
  return 0;
}

static int rule_reshape(onnx_node *n, MlirValue *res) {
  qcc_shape x, y;
  q_i64s shape;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  if (n->opset < 5) {
    if (!onnx_attr_ints(n, "shape", &shape)) return onnx_fail(n, "missing shape attribute");
  } else {
    qcc_shape decl;
    int k = onnx_shape_input(n, 1, &shape, "shape", 0, &decl);
    if (k < 0) return -1;
    if (k == 0) {
      decl.dtype = x.dtype;
      return emit_reshape(n, res, &x, &decl);
    }
  }
  bool allowzero = onnx_attr_int(n, "allowzero", 0) != 0;
  if (shape.n > QRT_MAX_RANK) return onnx_fail(n, "rank %d is too large", shape.n);
  y.dtype = x.dtype;
  y.rank = shape.n;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < shape.n; i++) {
    int64_t d = shape.v[i];
    if (d == 0 && !allowzero) {
      if (i >= x.rank) return onnx_fail(n, "shape[%d] = 0 copies a dim the input does not have", i);
      d = x.dims[i];
    }
    if (d == -1) {
      if (infer >= 0) return onnx_fail(n, "more than one -1 in shape");
      infer = i;
      continue;
    }
    if (d < 0) return onnx_fail(n, "invalid dim %lld in shape", (long long)d);
    y.dims[i] = d;
    if (__builtin_mul_overflow(known, d, &known) || known > QCC_MAX_TENSOR_ELEMENTS)
      return onnx_fail(n, "shape has more than 2^40 elements");
  }
  if (infer >= 0) {
    if (known == 0 || qcc_shape_numel(&x) % known) return onnx_fail(n, "cannot infer the -1 dim");
    y.dims[infer] = qcc_shape_numel(&x) / known;
  }
  return emit_reshape(n, res, &x, &y);
}

static int rule_flatten(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  int64_t axis = onnx_attr_int(n, "axis", 1);
  if (axis < 0) axis += x.rank;
  if (axis < 0 || axis > x.rank) return onnx_fail(n, "axis out of range");
  qcc_shape y = {x.dtype, 2, {1, 1}};
  for (int i = 0; i < x.rank; i++) y.dims[i < axis ? 0 : 1] *= x.dims[i];
  return emit_reshape(n, res, &x, &y);
}

/* Axes from the attribute (before opset 13) or the optional input: 1, or
 * 0 when a run-time input leaves the declared output type in *declared,
 * -1 on error. */
static int get_axes(onnx_node *n, int input, q_i64s *axes, qcc_shape *declared) {
  memset(axes, 0, sizeof *axes);
  if (n->opset < 13 || !onnx_has_in(n, input)) {
    onnx_attr_ints(n, "axes", axes);
    return 1;
  }
  return onnx_shape_input(n, input, axes, "axes", 0, declared);
}

static int rule_squeeze(onnx_node *n, MlirValue *res) {
  qcc_shape x, y;
  q_i64s axes;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  int k = get_axes(n, 1, &axes, &y);
  if (k < 0) return -1;
  if (k == 0) { /* run-time axes: reshape to the declared type */
    y.dtype = x.dtype;
    return emit_reshape(n, res, &x, &y);
  }
  bool drop[QRT_MAX_RANK] = {false};
  for (int i = 0; i < axes.n; i++) {
    int64_t a;
    if (!onnx_axis(n, axes.v[i], x.rank, &a)) return -1;
    if (x.dims[a] != 1) return onnx_fail(n, "cannot squeeze dim %lld of size %lld", (long long)a, (long long)x.dims[a]);
    drop[a] = true;
  }
  y.dtype = x.dtype;
  y.rank = 0;
  for (int i = 0; i < x.rank; i++)
    if (!(axes.n ? drop[i] : x.dims[i] == 1)) y.dims[y.rank++] = x.dims[i];
  return emit_reshape(n, res, &x, &y);
}

static int rule_unsqueeze(onnx_node *n, MlirValue *res) {
  qcc_shape x, y;
  q_i64s axes;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  int k = get_axes(n, 1, &axes, &y);
  if (k < 0) return -1;
  if (k == 0) { /* run-time axes: reshape to the declared type */
    y.dtype = x.dtype;
    return emit_reshape(n, res, &x, &y);
  }
  y.dtype = x.dtype;
  y.rank = x.rank + axes.n;
  if (y.rank > QRT_MAX_RANK) return onnx_fail(n, "result rank %d is too large", y.rank);
  bool added[QRT_MAX_RANK] = {false};
  for (int i = 0; i < axes.n; i++) {
    int64_t a;
    if (!onnx_axis(n, axes.v[i], y.rank, &a)) return -1;
    if (added[a]) return onnx_fail(n, "repeated axis %lld", (long long)a);
    added[a] = true;
  }
  for (int i = 0, j = 0; i < y.rank; i++) y.dims[i] = added[i] ? 1 : x.dims[j++];
  return emit_reshape(n, res, &x, &y);
}

static int rule_transpose(onnx_node *n, MlirValue *res) {
  qcc_shape x, y;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  q_transpose_attrs a;
  if (!onnx_attr_ints(n, "perm", &a.perm)) {
    a.perm.n = x.rank;
    for (int i = 0; i < x.rank; i++) a.perm.v[i] = x.rank - 1 - i;
  }
  if (a.perm.n != x.rank) return onnx_fail(n, "perm has %d entries for rank %d", a.perm.n, x.rank);
  bool seen[QRT_MAX_RANK] = {false};
  y = x;
  for (int i = 0; i < x.rank; i++) {
    int64_t p = a.perm.v[i];
    if (p < 0 || p >= x.rank || seen[p]) return onnx_fail(n, "perm is not a permutation");
    seen[p] = true;
    y.dims[i] = x.dims[p];
  }
  res[0] = onnx_emit(n, q_transpose_create(n->loc, onnx_type(n, &y), onnx_in(n, 0), &a));
  return 0;
}

static int rule_concat(onnx_node *n, MlirValue *res) {
  qcc_shape first, y;
  if (!onnx_in_shape(n, 0, &first)) return -1;
  int64_t axis;
  /* axis is required from opset 4; Concat-1 defaults it to 1. */
  if (n->opset >= 4 && !onnx_has_attr(n, "axis")) return onnx_fail(n, "missing required attribute 'axis'");
  if (!onnx_axis(n, onnx_attr_int(n, "axis", 1), first.rank, &axis)) return -1;
  y = first;
  y.dims[axis] = 0;
  MlirValue *ins = malloc(sizeof(MlirValue) * (size_t)n->n_in);
  int k = 0;
  for (int i = 0; i < n->n_in; i++) {
    qcc_shape s;
    if (!onnx_in_shape(n, i, &s)) return free(ins), -1;
    bool same = s.rank == first.rank && s.dtype == first.dtype;
    for (int d = 0; same && d < s.rank; d++) same = d == axis || s.dims[d] == first.dims[d];
    if (!same) return free(ins), onnx_fail(n, "input %d does not match the others outside the axis", i);
    y.dims[axis] += s.dims[axis];
    if (s.dims[axis]) ins[k++] = onnx_in(n, i);
  }
  q_concat_attrs a = {axis};
  if (k == 0) ins[k++] = onnx_in(n, 0);
  res[0] = onnx_emit(n, q_concat_create(n->loc, onnx_type(n, &y), ins, k, &a));
  free(ins);
  return 0;
}

MlirValue onnx_slice(onnx_node *n, MlirValue x, const qcc_shape *y, const int64_t *starts, const int64_t *steps) {
  q_slice_attrs a;
  a.starts.n = a.steps.n = y->rank;
  for (int i = 0; i < y->rank; i++) {
    a.starts.v[i] = starts[i];
    a.steps.v[i] = steps[i];
  }
  return onnx_emit(n, q_slice_create(n->loc, onnx_type(n, y), x, &a));
}

static int rule_split(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  int64_t axis;
  if (!onnx_axis(n, onnx_attr_int(n, "axis", 0), x.rank, &axis)) return -1;
  q_i64s split;
  memset(&split, 0, sizeof split);
  if (n->opset < 2 && onnx_has_in(n, 1)) {
    /* Split-1: the sizes may come as a second input instead. */
    if (!onnx_const_ints(n, 1, &split, "split")) return -1;
  } else if (n->opset < 13) onnx_attr_ints(n, "split", &split);
  else if (onnx_has_in(n, 1)) {
    qcc_shape decl;
    int k = onnx_shape_input(n, 1, &split, "split", 0, &decl);
    if (k < 0) return -1;
    /* run-time sizes: every output's declared length along the axis */
    for (int i = 0; k == 0 && i < n->n_out; i++) {
      if (!onnx_declared_shape(n, i, &decl) || decl.rank != x.rank)
        return onnx_fail(n, "input 1 (split) must be a compile-time constant, or every output shape must be declared");
      split.v[split.n++] = decl.dims[axis];
    }
  }
  int outs = n->n_out;
  if (split.n == 0) {
    /* Equal parts; from opset 18 the last may be smaller (num_outputs). */
    int64_t len = x.dims[axis], part = (len + outs - 1) / outs;
    if (n->opset < 18 && len % outs) return onnx_fail(n, "dim %lld does not split evenly into %d", (long long)len, outs);
    split.n = outs;
    for (int i = 0; i < outs; i++) split.v[i] = (i + 1) * part <= len ? part : len - i * part > 0 ? len - i * part : 0;
  }
  if (split.n != outs) return onnx_fail(n, "split has %d sizes for %d outputs", split.n, outs);
  int64_t total = 0, starts[QRT_MAX_RANK] = {0}, steps[QRT_MAX_RANK];
  for (int i = 0; i < outs; i++) total += split.v[i];
  if (total != x.dims[axis]) return onnx_fail(n, "split sizes sum to %lld, dim is %lld", (long long)total, (long long)x.dims[axis]);
  for (int d = 0; d < x.rank; d++) steps[d] = 1;
  for (int i = 0; i < outs; i++) {
    qcc_shape y = x;
    y.dims[axis] = split.v[i];
    res[i] = onnx_slice(n, onnx_in(n, 0), &y, starts, steps);
    starts[axis] += split.v[i];
  }
  return 0;
}

/* Slice (opset 10+: starts/ends/axes/steps inputs; before: attributes),
 * with ONNX's clamping of out-of-range starts and ends. */
static int rule_slice(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  q_i64s starts, ends, axes, steps;
  memset(&axes, 0, sizeof axes);
  memset(&steps, 0, sizeof steps);
  if (n->opset < 10) {
    if (!onnx_attr_ints(n, "starts", &starts) || !onnx_attr_ints(n, "ends", &ends)) return onnx_fail(n, "missing starts/ends");
    onnx_attr_ints(n, "axes", &axes);
  } else {
    if (!onnx_const_ints(n, 1, &starts, "starts") || !onnx_const_ints(n, 2, &ends, "ends")) return -1;
    if (onnx_has_in(n, 3) && !onnx_const_ints(n, 3, &axes, "axes")) return -1;
    if (onnx_has_in(n, 4) && !onnx_const_ints(n, 4, &steps, "steps")) return -1;
  }
  if (ends.n != starts.n || (axes.n && axes.n != starts.n) || (steps.n && steps.n != starts.n))
    return onnx_fail(n, "starts, ends, axes and steps differ in length");
  int64_t st[QRT_MAX_RANK], sp[QRT_MAX_RANK];
  qcc_shape y = x;
  for (int d = 0; d < x.rank; d++) st[d] = 0, sp[d] = 1;
  bool seen[QRT_MAX_RANK] = {false};
  for (int i = 0; i < starts.n; i++) {
    int64_t a;
    if (!onnx_axis(n, axes.n ? axes.v[i] : i, x.rank, &a)) return -1;
    if (seen[a]) return onnx_fail(n, "repeated axis %lld", (long long)a);
    seen[a] = true;
    int64_t dim = x.dims[a], step = steps.n ? steps.v[i] : 1, s = starts.v[i], e = ends.v[i];
    if (step == 0) return onnx_fail(n, "step 0");
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (step > 0) {
      s = s < 0 ? 0 : s > dim ? dim : s;
      e = e < 0 ? 0 : e > dim ? dim : e;
      y.dims[a] = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = s < 0 ? -1 : s > dim - 1 ? dim - 1 : s;
      e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
      y.dims[a] = s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }
    st[a] = y.dims[a] ? s : 0;
    sp[a] = step;
  }
  res[0] = onnx_slice(n, onnx_in(n, 0), &y, st, sp);
  return 0;
}

static int rule_gather(onnx_node *n, MlirValue *res) {
  qcc_shape x, idx;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &idx)) return -1;
  if (idx.dtype != QRT_I64 && idx.dtype != QRT_I32) return onnx_fail(n, "indices must be int32 or int64");
  int64_t axis;
  if (!onnx_axis(n, onnx_attr_int(n, "axis", 0), x.rank, &axis)) return -1;
  qcc_array ci;
  if (onnx_const_input(n, 1, &ci)) {
    /* Constant indices are checked here, so the kernel never sees bad ones. */
    int64_t k = qcc_array_numel(&ci), dim = x.dims[axis];
    for (int64_t i = 0; i < k; i++) {
      int64_t v = ci.dtype == QRT_I64 ? ((int64_t *)ci.data)[i] : ((int32_t *)ci.data)[i];
      if (v < -dim || v >= dim) {
        qcc_array_free(&ci);
        return onnx_fail(n, "index %lld is out of range for dim %lld", (long long)v, (long long)dim);
      }
    }
    qcc_array_free(&ci);
  }
  qcc_shape y = {x.dtype, x.rank - 1 + idx.rank, {0}};
  if (y.rank > QRT_MAX_RANK) return onnx_fail(n, "result rank too large");
  int r = 0;
  for (int i = 0; i < axis; i++) y.dims[r++] = x.dims[i];
  for (int i = 0; i < idx.rank; i++) y.dims[r++] = idx.dims[i];
  for (int i = (int)axis + 1; i < x.rank; i++) y.dims[r++] = x.dims[i];
  q_gather_attrs a = {axis};
  res[0] = onnx_emit(n, q_gather_create(n->loc, onnx_type(n, &y), onnx_in(n, 0), onnx_in(n, 1), &a));
  return 0;
}

static int rule_expand(onnx_node *n, MlirValue *res) {
  qcc_shape x, s = {QRT_I64, 0, {0}}, y;
  q_i64s shape;
  qcc_shape decl;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  int k = onnx_shape_input(n, 1, &shape, "shape", 0, &decl);
  if (k < 0) return -1;
  if (k == 0) {
    shape.n = decl.rank;
    memcpy(shape.v, decl.dims, sizeof(int64_t) * (size_t)decl.rank);
  }
  if (shape.n > QRT_MAX_RANK) return onnx_fail(n, "rank too large");
  s.rank = shape.n;
  memcpy(s.dims, shape.v, sizeof(int64_t) * (size_t)shape.n);
  if (!onnx_broadcast_shape(n, &x, &s, &y)) return -1;
  y.dtype = x.dtype;
  res[0] = onnx_emit(n, q_broadcast_create(n->loc, onnx_type(n, &y), onnx_in(n, 0)));
  return 0;
}

static int rule_pad(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  q_pad_attrs a;
  memset(&a, 0, sizeof a);
  onnx_attr_str(n, "mode", "constant", a.mode.s, sizeof a.mode.s);
  if (strcmp(a.mode.s, "constant") && strcmp(a.mode.s, "reflect") && strcmp(a.mode.s, "edge"))
    return onnx_fail(n, "mode '%s' is not supported", a.mode.s);
  q_i64s pads, axes;
  memset(&axes, 0, sizeof axes);
  if (n->opset < 11) {
    if (!onnx_attr_ints(n, "pads", &pads) && !onnx_attr_ints(n, "paddings", &pads)) return onnx_fail(n, "missing pads");
    a.value = onnx_attr_float(n, "value", 0.0);
  } else {
    if (!onnx_const_ints(n, 1, &pads, "pads")) return -1;
    if (onnx_has_in(n, 2)) {
      qcc_array v;
      if (!onnx_const_input(n, 2, &v)) return onnx_fail(n, "input 2 (constant_value) must be a compile-time constant scalar");
      if (qcc_array_numel(&v) != 1) return qcc_array_free(&v), onnx_fail(n, "input 2 (constant_value) must be a scalar");
      switch (v.dtype) {
      case QRT_F32: a.value = ((float *)v.data)[0]; break;
      case QRT_F64: a.value = ((double *)v.data)[0]; break;
      case QRT_I64: a.value = (double)((int64_t *)v.data)[0]; break;
      case QRT_I32: a.value = ((int32_t *)v.data)[0]; break;
      case QRT_I16: a.value = ((int16_t *)v.data)[0]; break;
      case QRT_I8: a.value = ((int8_t *)v.data)[0]; break;
      case QRT_U8: a.value = ((uint8_t *)v.data)[0]; break; /* a quantized model's zero point */
      case QRT_U16: a.value = ((uint16_t *)v.data)[0]; break;
      case QRT_BOOL: a.value = ((uint8_t *)v.data)[0] != 0; break;
      default: {
        const qrt_dtype t = v.dtype;
        qcc_array_free(&v);
        return onnx_fail(n, "constant_value type %s is not supported", qcc_dtype_name(t));
      }
      }
      qcc_array_free(&v);
    }
    if (onnx_has_in(n, 3) && !onnx_const_ints(n, 3, &axes, "axes")) return -1;
  }
  int k = axes.n ? axes.n : x.rank;
  if (pads.n != 2 * k) return onnx_fail(n, "pads has %d values, expected %d", pads.n, 2 * k);
  for (int i = 0; i < pads.n; i++) /* so that dim + pads cannot overflow int64 */
    if (pads.v[i] > QCC_MAX_TENSOR_ELEMENTS || pads.v[i] < -QCC_MAX_TENSOR_ELEMENTS)
      return onnx_fail(n, "pads[%d] = %lld is beyond 2^40", i, (long long)pads.v[i]);
  a.pads.n = 2 * x.rank;
  qcc_shape y = x;
  for (int i = 0; i < k; i++) {
    int64_t d = i;
    if (axes.n && !onnx_axis(n, axes.v[i], x.rank, &d)) return -1;
    a.pads.v[d] = pads.v[i];
    a.pads.v[x.rank + d] = pads.v[k + i];
  }
  for (int d = 0; d < x.rank; d++) {
    y.dims[d] = x.dims[d] + a.pads.v[d] + a.pads.v[x.rank + d];
    if (y.dims[d] < 0) return onnx_fail(n, "pads make dim %d negative", d);
    if (!strcmp(a.mode.s, "reflect") && (a.pads.v[d] >= x.dims[d] || a.pads.v[x.rank + d] >= x.dims[d]))
      return onnx_fail(n, "reflect pads must be smaller than the dim");
  }
  res[0] = onnx_emit(n, q_pad_create(n->loc, onnx_type(n, &y), onnx_in(n, 0), &a));
  return 0;
}

/* Tile (opset 6+): the input viewed with a 1 inserted before every
 * repeated dim, broadcast to the repeat counts there, and reshaped:
 * [d0, d1] -> [1, d0, 1, d1] -> [r0, d0, r1, d1] -> [r0*d0, r1*d1].  When
 * that view would exceed the maximum rank, one dim at a time on the view
 * [outer, 1, d_i * inner] -> [outer, r_i, d_i * inner]. */
static int rule_tile(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  q_i64s reps;
  qcc_shape decl;
  if (n->opset < 6) return onnx_fail(n, "Tile-1 (tiles and axis inputs) is not supported");
  if (!onnx_in_shape(n, 0, &x)) return -1;
  int k = onnx_shape_input(n, 1, &reps, "repeats", 0, &decl);
  if (k < 0) return -1;
  if (k == 0) {
    /* repeats = declared / input dims */
    if (decl.rank != x.rank) return onnx_fail(n, "the declared output rank differs from the input's");
    reps.n = x.rank;
    for (int i = 0; i < x.rank; i++) {
      if (x.dims[i] == 0 ? decl.dims[i] != 0 : decl.dims[i] % x.dims[i])
        return onnx_fail(n, "the declared output dim %d is not a multiple of the input's", i);
      reps.v[i] = x.dims[i] ? decl.dims[i] / x.dims[i] : 1;
    }
  }
  if (reps.n != x.rank) return onnx_fail(n, "repeats has %d values for rank %d", reps.n, x.rank);
  qcc_shape view = {x.dtype, 0, {0}}, wide = view, y = x;
  for (int i = 0; i < x.rank; i++) {
    if (reps.v[i] < 0) return onnx_fail(n, "negative repeat %lld", (long long)reps.v[i]);
    if (__builtin_mul_overflow(y.dims[i], reps.v[i], &y.dims[i]) || y.dims[i] > QCC_MAX_TENSOR_ELEMENTS)
      return onnx_fail(n, "repeat %lld of dim %d makes the output too large", (long long)reps.v[i], i);
    if (reps.v[i] != 1 && view.rank < QRT_MAX_RANK) {
      view.dims[view.rank] = 1;
      wide.dims[view.rank++] = reps.v[i];
    }
    if (view.rank < QRT_MAX_RANK) {
      view.dims[view.rank] = wide.dims[view.rank] = x.dims[i];
      view.rank++;
    } else {
      view.rank = QRT_MAX_RANK + 1; /* too deep: one dim at a time below */
    }
  }
  if (view.rank <= QRT_MAX_RANK) {
    wide.rank = view.rank;
    if (wide.rank == x.rank) { /* all repeats 1: the input itself, as Identity */
      res[0] = onnx_in(n, 0);
      return 0;
    }
    MlirValue v = onnx_emit(n, q_broadcast_create(n->loc, onnx_type(n, &wide), onnx_reshape(n, onnx_in(n, 0), &view)));
    res[0] = onnx_reshape(n, v, &y);
    return 0;
  }
  MlirValue v = onnx_in(n, 0);
  qcc_shape cur = x;
  for (int i = 0; i < x.rank; i++) {
    if (reps.v[i] == 1) continue;
    int64_t outer = 1, inner = 1;
    for (int j = 0; j < i; j++) outer *= cur.dims[j];
    for (int j = i; j < x.rank; j++) inner *= cur.dims[j];
    qcc_shape view = {x.dtype, 3, {outer, 1, inner}}, wide = {x.dtype, 3, {outer, reps.v[i], inner}};
    v = onnx_emit(n, q_broadcast_create(n->loc, onnx_type(n, &wide), onnx_reshape(n, v, &view)));
    cur.dims[i] *= reps.v[i];
    v = onnx_reshape(n, v, &cur);
  }
  res[0] = v;
  return 0;
}

/* reshape -> transpose -> reshape, the form of DepthToSpace and
 * SpaceToDepth. */
static MlirValue shuffle(onnx_node *n, MlirValue x, const qcc_shape *mid, const int64_t *perm, const qcc_shape *out) {
  q_transpose_attrs a;
  qcc_shape t = *mid;
  a.perm.n = mid->rank;
  for (int i = 0; i < mid->rank; i++) {
    a.perm.v[i] = perm[i];
    t.dims[i] = mid->dims[perm[i]];
  }
  MlirValue v = onnx_emit(n, q_transpose_create(n->loc, onnx_type(n, &t), onnx_reshape(n, x, mid), &a));
  return onnx_reshape(n, v, out);
}

static bool blocks_4d(onnx_node *n, qcc_shape *x, int64_t *b) {
  if (!onnx_in_shape(n, 0, x)) return false;
  *b = onnx_attr_int(n, "blocksize", 0);
  if (x->rank != 4) return onnx_fail(n, "input must be 4-D [N, C, H, W]"), false;
  if (*b < 1) return onnx_fail(n, "blocksize must be positive"), false;
  return true;
}

/* DepthToSpace: DCR (default) reads the channel as [b, b, C/b^2], CRD
 * (opset 11+) as [C/b^2, b, b]. */
static int rule_depth_to_space(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  int64_t b;
  if (!blocks_4d(n, &x, &b)) return -1;
  char mode[8];
  onnx_attr_str(n, "mode", "DCR", mode, sizeof mode);
  int64_t N = x.dims[0], C = x.dims[1], H = x.dims[2], W = x.dims[3];
  if (C % (b * b)) return onnx_fail(n, "channels %lld are not a multiple of blocksize^2", (long long)C);
  qcc_shape y = {x.dtype, 4, {N, C / (b * b), H * b, W * b}};
  if (!strcmp(mode, "DCR")) {
    qcc_shape mid = {x.dtype, 6, {N, b, b, C / (b * b), H, W}};
    static const int64_t perm[6] = {0, 3, 4, 1, 5, 2};
    res[0] = shuffle(n, onnx_in(n, 0), &mid, perm, &y);
  } else if (!strcmp(mode, "CRD")) {
    qcc_shape mid = {x.dtype, 6, {N, C / (b * b), b, b, H, W}};
    static const int64_t perm[6] = {0, 1, 4, 2, 5, 3};
    res[0] = shuffle(n, onnx_in(n, 0), &mid, perm, &y);
  } else {
    return onnx_fail(n, "mode '%s' must be DCR or CRD", mode);
  }
  return 0;
}

static int rule_space_to_depth(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  int64_t b;
  if (!blocks_4d(n, &x, &b)) return -1;
  int64_t N = x.dims[0], C = x.dims[1], H = x.dims[2], W = x.dims[3];
  if (H % b || W % b) return onnx_fail(n, "spatial dims are not multiples of blocksize %lld", (long long)b);
  qcc_shape mid = {x.dtype, 6, {N, C, H / b, b, W / b, b}}, y = {x.dtype, 4, {N, C * b * b, H / b, W / b}};
  static const int64_t perm[6] = {0, 3, 5, 1, 2, 4};
  res[0] = shuffle(n, onnx_in(n, 0), &mid, perm, &y);
  return 0;
}

const onnx_rule onnx_rules_shape[] = {
    {"Constant", rule_constant},   {"ConstantOfShape", rule_constant_of_shape},
    {"Shape", rule_shape},         {"Size", rule_size},
    {"Reshape", rule_reshape},     {"Flatten", rule_flatten},
    {"Squeeze", rule_squeeze},     {"Unsqueeze", rule_unsqueeze},
    {"Transpose", rule_transpose}, {"Concat", rule_concat},
    {"Split", rule_split},         {"Slice", rule_slice},
    {"Gather", rule_gather},       {"Expand", rule_expand},
    {"Pad", rule_pad},             {"Tile", rule_tile},
    {"DepthToSpace", rule_depth_to_space}, {"SpaceToDepth", rule_space_to_depth},
    {NULL, NULL},
};
