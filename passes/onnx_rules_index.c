/* onnx_rules_index.c - legalization of the indexed reads and writes:
 * GatherElements, GatherND, ScatterElements (and its predecessor Scatter),
 * ScatterND, ReverseSequence as a gather_elements with computed indices,
 * TopK (q.topk's positions, then a gather_elements for the values) and
 * MaxUnpool (a scatter of the values to their positions in zeros), and
 * Compress with a constant condition (a gather of the selected indices).  Indices may be run-time tensors: the kernels add the dim to
 * negative indices and never touch memory outside their tensors for an
 * index still out of range (gathers read zeros, scatters drop the update),
 * ONNX leaving that case undefined.  Constant indices are checked here. */
#include <stdlib.h>
#include <string.h>

#include "onnx_rules.h"

static bool index_type(onnx_node *n, const qcc_shape *idx) {
  if (idx->dtype == QRT_I64 || idx->dtype == QRT_I32) return true;
  onnx_fail(n, "indices must be int32 or int64, not %s", qcc_dtype_name(idx->dtype));
  return false;
}

static bool data_type(onnx_node *n, const qcc_shape *x) {
  if (x->dtype != QRT_STRING && qcc_dtype_size(x->dtype)) return true;
  onnx_fail(n, "element type %s is not supported", qcc_dtype_name(x->dtype));
  return false;
}

/* Constant indices of input i must lie in [-dims[c], dims[c]) where c is
 * the component (j % k for tuples of k, or `axis` for k = 0). */
static bool check_const_indices(onnx_node *n, int i, const int64_t *dims, int k, int64_t axis) {
  qcc_array a;
  if (!onnx_const_input(n, i, &a)) return true;
  int64_t count = qcc_array_numel(&a);
  bool ok = true;
  for (int64_t j = 0; j < count && ok; j++) {
    int64_t v = a.dtype == QRT_I64 ? ((int64_t *)a.data)[j] : ((int32_t *)a.data)[j];
    int64_t dim = k ? dims[j % k] : dims[axis];
    if (v < -dim || v >= dim) {
      onnx_fail(n, "index %lld is out of range for dim %lld", (long long)v, (long long)dim);
      ok = false;
    }
  }
  qcc_array_free(&a);
  return ok;
}

static int rule_gather_elements(onnx_node *n, MlirValue *res) {
  qcc_shape x, idx;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &idx) || !data_type(n, &x) || !index_type(n, &idx)) return -1;
  if (x.rank < 1 || idx.rank != x.rank) return onnx_fail(n, "data and indices must have the same rank (>= 1)");
  int64_t axis;
  if (!onnx_axis(n, onnx_attr_int(n, "axis", 0), x.rank, &axis)) return -1;
  for (int i = 0; i < x.rank; i++)
    if (i != axis && idx.dims[i] > x.dims[i])
      return onnx_fail(n, "indices dim %d (%lld) exceeds the data's (%lld)", i, (long long)idx.dims[i], (long long)x.dims[i]);
  if (!check_const_indices(n, 1, x.dims, 0, axis)) return -1;
  qcc_shape y = idx;
  y.dtype = x.dtype;
  q_gather_elements_attrs a = {axis};
  res[0] = onnx_emit(n, q_gather_elements_create(n->loc, onnx_type(n, &y), onnx_in(n, 0), onnx_in(n, 1), &a));
  return 0;
}

/* GatherND (opset 11; batch_dims from 12): out shape is
 * indices.shape[:-1] + data.shape[batch_dims + k:]. */
static int rule_gather_nd(onnx_node *n, MlirValue *res) {
  qcc_shape x, idx;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &idx) || !data_type(n, &x) || !index_type(n, &idx)) return -1;
  int64_t b = onnx_attr_int(n, "batch_dims", 0);
  if (idx.rank < 1 || x.rank < 1) return onnx_fail(n, "data and indices must have rank >= 1");
  if (b < 0 || b >= idx.rank || b >= x.rank) return onnx_fail(n, "batch_dims %lld is out of range", (long long)b);
  int64_t k = idx.dims[idx.rank - 1];
  if (k < 1 || b + k > x.rank) return onnx_fail(n, "index tuples of %lld exceed the data rank %d", (long long)k, x.rank);
  for (int i = 0; i < b; i++)
    if (idx.dims[i] != x.dims[i]) return onnx_fail(n, "batch dim %d of data and indices differ", i);
  if (!check_const_indices(n, 1, x.dims + b, (int)k, 0)) return -1;
  qcc_shape y = {x.dtype, 0, {0}};
  for (int i = 0; i < idx.rank - 1; i++) y.dims[y.rank++] = idx.dims[i];
  if (y.rank + x.rank - b - k > QRT_MAX_RANK) return onnx_fail(n, "result rank too large");
  for (int i = (int)(b + k); i < x.rank; i++) y.dims[y.rank++] = x.dims[i];
  q_gather_nd_attrs a = {b};
  res[0] = onnx_emit(n, q_gather_nd_create(n->loc, onnx_type(n, &y), onnx_in(n, 0), onnx_in(n, 1), &a));
  return 0;
}

/* The reduction attribute (ScatterElements/ScatterND 16: add, mul; 18:
 * max, min); combining needs arithmetic on the element type. */
static bool scatter_reduction(onnx_node *n, const qcc_shape *x, q_str *out) {
  onnx_attr_str(n, "reduction", "none", out->s, sizeof out->s);
  static const char *const kinds[] = {"none", "add", "mul", "max", "min", NULL};
  bool known = false;
  for (int i = 0; kinds[i]; i++) known |= !strcmp(kinds[i], out->s);
  if (!known) {
    onnx_fail(n, "reduction '%s' is not supported", out->s);
    return false;
  }
  if (strcmp(out->s, "none") && (x->dtype == QRT_BOOL || x->dtype == QRT_F16)) {
    onnx_fail(n, "reduction '%s' on %s is not supported", out->s, qcc_dtype_name(x->dtype));
    return false;
  }
  return true;
}

/* ScatterElements (11..18) and Scatter (9, 10: no reduction). */
static int rule_scatter_elements(onnx_node *n, MlirValue *res) {
  qcc_shape x, idx, u;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &idx) || !onnx_in_shape(n, 2, &u) || !data_type(n, &x) ||
      !index_type(n, &idx))
    return -1;
  if (x.rank < 1 || idx.rank != x.rank) return onnx_fail(n, "data and indices must have the same rank (>= 1)");
  if (!qcc_shape_same_dims(&idx, &u) || u.dtype != x.dtype) return onnx_fail(n, "updates must match the indices' shape and the data's type");
  int64_t axis;
  if (!onnx_axis(n, onnx_attr_int(n, "axis", 0), x.rank, &axis)) return -1;
  for (int i = 0; i < x.rank; i++)
    if (i != axis && idx.dims[i] > x.dims[i])
      return onnx_fail(n, "indices dim %d (%lld) exceeds the data's (%lld)", i, (long long)idx.dims[i], (long long)x.dims[i]);
  q_scatter_elements_attrs a;
  memset(&a, 0, sizeof a);
  a.axis = axis;
  if (!scatter_reduction(n, &x, &a.reduction) || !check_const_indices(n, 1, x.dims, 0, axis)) return -1;
  res[0] = onnx_emit(n, q_scatter_elements_create(n->loc, onnx_type(n, &x), onnx_in(n, 0), onnx_in(n, 1),
                                                  onnx_in(n, 2), &a));
  return 0;
}

/* ScatterND: updates have shape indices.shape[:-1] + data.shape[k:]. */
static int rule_scatter_nd(onnx_node *n, MlirValue *res) {
  qcc_shape x, idx, u;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &idx) || !onnx_in_shape(n, 2, &u) || !data_type(n, &x) ||
      !index_type(n, &idx))
    return -1;
  if (idx.rank < 1 || x.rank < 1) return onnx_fail(n, "data and indices must have rank >= 1");
  int64_t k = idx.dims[idx.rank - 1];
  if (k < 1 || k > x.rank) return onnx_fail(n, "index tuples of %lld exceed the data rank %d", (long long)k, x.rank);
  qcc_shape want = {x.dtype, 0, {0}};
  for (int i = 0; i < idx.rank - 1; i++) want.dims[want.rank++] = idx.dims[i];
  if (want.rank + x.rank - k > QRT_MAX_RANK) return onnx_fail(n, "updates rank too large");
  for (int i = (int)k; i < x.rank; i++) want.dims[want.rank++] = x.dims[i];
  if (!qcc_shape_same_dims(&want, &u) || u.dtype != x.dtype) return onnx_fail(n, "updates must have shape indices.shape[:-1] + data.shape[k:] and the data's type");
  q_scatter_nd_attrs a;
  memset(&a, 0, sizeof a);
  if (!scatter_reduction(n, &x, &a.reduction) || !check_const_indices(n, 1, x.dims, (int)k, 0)) return -1;
  res[0] = onnx_emit(n, q_scatter_nd_create(n->loc, onnx_type(n, &x), onnx_in(n, 0), onnx_in(n, 1), onnx_in(n, 2), &a));
  return 0;
}

/* ReverseSequence (opset 10): along time_axis, the first lens[b] steps of
 * batch entry b are reversed, the rest kept: a gather_elements on the time
 * axis with idx[t, b] = t < lens[b] ? lens[b] - 1 - t : t (computed at run
 * time from the lengths), broadcast over the remaining dims.  ONNX requires
 * lens[b] <= T; a larger length makes indices past the end, which the
 * kernel reads as 0. */
MlirValue onnx_reverse_sequence(onnx_node *n, MlirValue xv, const qcc_shape *xs, MlirValue lens, int64_t ta) {
  const qcc_shape x = *xs;
  const int64_t ba = 1 - ta, T = x.dims[ta], B = x.dims[ba];
  qcc_shape ls, ts = {QRT_I64, 2, {1, 1}}, bs = ts, ib = ts;
  qcc_shape_of(lens, &ls);
  ts.dims[ta] = T;
  bs.dims[ba] = B;
  ib.dims[ta] = T;
  ib.dims[ba] = B;
  int64_t *io = malloc(sizeof(int64_t) * (size_t)(T + 1));
  for (int64_t t = 0; t < T; t++) io[t] = t;
  qcc_array ia = {QRT_I64, 2, {ts.dims[0], ts.dims[1]}, io, sizeof(int64_t) * (size_t)T};
  MlirValue iota = onnx_constant(n, &ia);
  free(io);
  if (ls.dtype != QRT_I64) {
    qcc_shape l64 = ls;
    l64.dtype = QRT_I64;
    lens = onnx_emit(n, q_cast_create(n->loc, onnx_type(n, &l64), lens));
  }
  lens = onnx_reshape(n, lens, &bs);
  qcc_shape cond = ib;
  cond.dtype = QRT_BOOL;
  MlirValue inside = onnx_binary(n, "less", iota, lens, &cond);
  MlirValue last = onnx_binary(n, "sub", lens, onnx_scalar(n, QRT_I64, 1), &bs);
  MlirValue rev = onnx_binary(n, "sub", last, iota, &ib);
  MlirValue idx = onnx_where(n, inside, rev, iota, &ib);
  qcc_shape iu = x, full = x;
  iu.dtype = full.dtype = QRT_I64;
  for (int i = 2; i < x.rank; i++) iu.dims[i] = 1;
  idx = onnx_emit(n, q_broadcast_create(n->loc, onnx_type(n, &full), onnx_reshape(n, idx, &iu)));
  q_gather_elements_attrs a = {ta};
  return onnx_emit(n, q_gather_elements_create(n->loc, onnx_type(n, &x), xv, idx, &a));
}

static int rule_reverse_sequence(onnx_node *n, MlirValue *res) {
  qcc_shape x, ls;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &ls) || !data_type(n, &x)) return -1;
  int64_t ta = onnx_attr_int(n, "time_axis", 0), ba = onnx_attr_int(n, "batch_axis", 1);
  if (x.rank < 2) return onnx_fail(n, "input must have rank >= 2");
  if (!((ta == 0 && ba == 1) || (ta == 1 && ba == 0))) return onnx_fail(n, "time_axis and batch_axis must be 0 and 1 (either order)");
  if (ls.rank != 1 || ls.dims[0] != x.dims[ba] || (ls.dtype != QRT_I64 && ls.dtype != QRT_I32))
    return onnx_fail(n, "sequence_lens must be an int64 (or int32) tensor of %lld values", (long long)x.dims[ba]);
  res[0] = onnx_reverse_sequence(n, onnx_in(n, 0), &x, onnx_in(n, 1), ta);
  return 0;
}

/* TopK (opset 1: k attribute; 10+: k input; 11+: largest, sorted).  A k
 * known only at run time is taken from the declared output shape.  The
 * result is always sorted (sorted=0 leaves the order unspecified). */
static int rule_topk(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x) || !data_type(n, &x)) return -1;
  if (x.dtype == QRT_BOOL || x.dtype == QRT_F16) return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(x.dtype));
  if (x.rank < 1) return onnx_fail(n, "input must have rank >= 1");
  int64_t axis, k;
  if (!onnx_axis(n, onnx_attr_int(n, "axis", -1), x.rank, &axis)) return -1;
  if (n->opset < 10) {
    if (!onnx_has_attr(n, "k")) return onnx_fail(n, "missing attribute 'k'");
    k = onnx_attr_int(n, "k", 0);
  } else {
    q_i64s kv;
    qcc_shape decl;
    int got = onnx_shape_input(n, 1, &kv, "K", 0, &decl);
    if (got < 0) return -1;
    if (got == 1 && kv.n != 1) return onnx_fail(n, "K must hold one value");
    if (got == 0 && decl.rank != x.rank) return onnx_fail(n, "the declared output rank differs from the input's");
    k = got == 1 ? kv.v[0] : decl.dims[axis];
  }
  if (k < 0 || k > x.dims[axis]) return onnx_fail(n, "k = %lld is out of range for dim %lld", (long long)k, (long long)x.dims[axis]);
  qcc_shape y = x;
  y.dims[axis] = k;
  y.dtype = QRT_I64;
  q_topk_attrs a = {axis, onnx_attr_int(n, "largest", 1) != 0};
  MlirValue idx = onnx_emit(n, q_topk_create(n->loc, onnx_type(n, &y), onnx_in(n, 0), &a));
  y.dtype = x.dtype;
  q_gather_elements_attrs ga = {axis};
  res[0] = onnx_emit(n, q_gather_elements_create(n->loc, onnx_type(n, &y), onnx_in(n, 0), idx, &ga));
  res[1] = idx;
  return 0;
}

/* MaxUnpool (opset 9, 11): Y = zeros of the inferred shape (in - 1) *
 * stride + kernel - pads, with Y.flat[I] = X (I holds positions in that
 * whole tensor, as MaxPool's Indices; repeated positions: the last value
 * wins).  An output_shape (constant, or the declared output type when it
 * is a run-time input) then pads (or crops) Y at the end of each dim, as
 * in the ONNX examples, where the indices keep their meaning. */
static int rule_max_unpool(onnx_node *n, MlirValue *res) {
  qcc_shape x, idx;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &idx) || !data_type(n, &x) || !index_type(n, &idx)) return -1;
  if (!qcc_shape_same_dims(&x, &idx)) return onnx_fail(n, "X and I must have the same shape");
  int sp = x.rank - 2;
  if (sp < 1) return onnx_fail(n, "X must be [N, C, d1, ...]");
  q_i64s ks, st, pads;
  if (!onnx_attr_ints(n, "kernel_shape", &ks) || ks.n != sp) return onnx_fail(n, "kernel_shape must list %d sizes", sp);
  onnx_attr_ints(n, "strides", &st);
  onnx_attr_ints(n, "pads", &pads);
  if ((st.n && st.n != sp) || (pads.n && pads.n != 2 * sp)) return onnx_fail(n, "strides/pads do not match %d spatial dims", sp);
  qcc_shape y = x, want;
  for (int i = 0; i < sp; i++)
    y.dims[2 + i] = (x.dims[2 + i] - 1) * (st.n ? st.v[i] : 1) + ks.v[i] - (pads.n ? pads.v[i] + pads.v[sp + i] : 0);
  for (int i = 0; i < y.rank; i++)
    if (y.dims[i] < 0) return onnx_fail(n, "negative output dim");
  want = y;
  if (onnx_has_in(n, 2)) {
    q_i64s os;
    qcc_shape decl;
    int k = onnx_shape_input(n, 2, &os, "output_shape", 0, &decl);
    if (k < 0) return -1;
    if (k == 1) {
      if (os.n != x.rank) return onnx_fail(n, "output_shape must have %d values", x.rank);
      memcpy(want.dims, os.v, sizeof(int64_t) * (size_t)x.rank);
    } else {
      if (decl.rank != x.rank) return onnx_fail(n, "the declared output rank differs from the input's");
      memcpy(want.dims, decl.dims, sizeof(int64_t) * (size_t)x.rank);
    }
    for (int i = 0; i < want.rank; i++)
      if (want.dims[i] < 0) return onnx_fail(n, "negative output dim");
  }
  qcc_shape flat = {x.dtype, 1, {qcc_shape_numel(&y)}}, xf = {x.dtype, 1, {qcc_shape_numel(&x)}}, idf = xf;
  idf.dtype = idx.dtype;
  MlirValue zeros = onnx_emit(n, q_broadcast_create(n->loc, onnx_type(n, &flat), onnx_scalar(n, x.dtype, 0)));
  q_scatter_elements_attrs a;
  memset(&a, 0, sizeof a);
  snprintf(a.reduction.s, sizeof a.reduction.s, "none");
  MlirValue v = onnx_emit(n, q_scatter_elements_create(n->loc, onnx_type(n, &flat), zeros, onnx_reshape(n, onnx_in(n, 1), &idf),
                                                       onnx_reshape(n, onnx_in(n, 0), &xf), &a));
  v = onnx_reshape(n, v, &y);
  if (!qcc_shape_same_dims(&y, &want)) {
    q_pad_attrs pa;
    memset(&pa, 0, sizeof pa);
    snprintf(pa.mode.s, sizeof pa.mode.s, "constant");
    pa.pads.n = 2 * y.rank;
    for (int i = 0; i < y.rank; i++) pa.pads.v[y.rank + i] = want.dims[i] - y.dims[i];
    v = onnx_emit(n, q_pad_create(n->loc, onnx_type(n, &want), v, &pa));
  }
  res[0] = v;
  return 0;
}

/* Compress (opset 9, 11): the slices along axis (of the flattened input
 * without one) whose condition is true; the condition may be shorter than
 * the dim.  The output size depends on the condition's values, so it must
 * be a compile-time constant. */
static int rule_compress(onnx_node *n, MlirValue *res) {
  qcc_shape x, cs;
  qcc_array c;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &cs) || !data_type(n, &x)) return -1;
  if (cs.rank != 1 || cs.dtype != QRT_BOOL) return onnx_fail(n, "condition must be a 1-D bool tensor");
  if (!onnx_const_input(n, 1, &c))
    return onnx_fail(n, "input 1 (condition) must be a compile-time constant (the output size depends on its values)");
  MlirValue v = onnx_in(n, 0);
  int64_t axis = 0;
  if (onnx_has_attr(n, "axis")) {
    if (!onnx_axis(n, onnx_attr_int(n, "axis", 0), x.rank, &axis)) return qcc_array_free(&c), -1;
  } else {
    qcc_shape flat = {x.dtype, 1, {qcc_shape_numel(&x)}};
    v = onnx_reshape(n, v, &flat);
    x = flat;
  }
  int64_t len = cs.dims[0] < x.dims[axis] ? cs.dims[0] : x.dims[axis], k = 0;
  int64_t *sel = malloc(sizeof(int64_t) * (size_t)(len + 1));
  for (int64_t i = 0; i < len; i++)
    if (((uint8_t *)c.data)[i]) sel[k++] = i;
  qcc_array_free(&c);
  qcc_array ia = {QRT_I64, 1, {k}, sel, sizeof(int64_t) * (size_t)k};
  MlirValue idx = onnx_constant(n, &ia);
  free(sel);
  qcc_shape y = x;
  y.dims[axis] = k;
  q_gather_attrs ga = {axis};
  res[0] = onnx_emit(n, q_gather_create(n->loc, onnx_type(n, &y), v, idx, &ga));
  return 0;
}

const onnx_rule onnx_rules_index[] = {
    {"GatherElements", rule_gather_elements},
    {"GatherND", rule_gather_nd},
    {"ScatterElements", rule_scatter_elements},
    {"Scatter", rule_scatter_elements},
    {"ScatterND", rule_scatter_nd},
    {"ReverseSequence", rule_reverse_sequence},
    {"TopK", rule_topk},
    {"MaxUnpool", rule_max_unpool},
    {"Compress", rule_compress},
    {NULL, NULL},
};
