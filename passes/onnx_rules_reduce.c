/* onnx_rules_reduce.c - legalization of reductions (ReduceSum, ReduceMean,
 * ... with axes as attribute or, from ReduceSum-13 and the rest at 18, as
 * input), ArgMax/ArgMin and CumSum. keepdims shows only in the result type. */
#include <string.h>

#include "onnx_rules.h"

static const struct {
  const char *onnx, *kind;
} reduce_ops[] = {
    {"ReduceSum", "sum"},     {"ReduceMean", "mean"},         {"ReduceMax", "max"},
    {"ReduceMin", "min"},     {"ReduceProd", "prod"},         {"ReduceL1", "l1"},
    {"ReduceL2", "l2"},       {"ReduceSumSquare", "sum_square"}, {"ReduceLogSum", "log_sum"},
    {"ReduceLogSumExp", "log_sum_exp"}, {NULL, NULL},
};

static int rule_reduce(onnx_node *n, MlirValue *res) {
  int m = 0;
  while (strcmp(reduce_ops[m].onnx, n->type)) m++;
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  bool is_int = x.dtype == QRT_I64 || x.dtype == QRT_I32;
  if (x.dtype != QRT_F32 && x.dtype != QRT_F64 && !(is_int && (m == 0 || m == 2 || m == 3 || m == 4)))
    return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(x.dtype));
  bool axes_input = !strcmp(n->type, "ReduceSum") ? n->opset >= 13 : n->opset >= 18;
  q_i64s axes;
  memset(&axes, 0, sizeof axes);
  if (axes_input) {
    if (onnx_has_in(n, 1) && !onnx_const_ints(n, 1, &axes, "axes")) return -1;
  } else {
    onnx_attr_ints(n, "axes", &axes);
  }
  bool keep = onnx_attr_int(n, "keepdims", 1) != 0;
  bool reduced[QRT_MAX_RANK] = {false};
  if (axes.n == 0) {
    if (axes_input && onnx_attr_int(n, "noop_with_empty_axes", 0)) {
      res[0] = onnx_in(n, 0);
      return 0;
    }
    for (int i = 0; i < x.rank; i++) reduced[i] = true;
  }
  for (int i = 0; i < axes.n; i++) {
    int64_t a;
    if (!onnx_axis(n, axes.v[i], x.rank, &a)) return -1;
    reduced[a] = true;
  }
  q_reduce_attrs at;
  memset(&at, 0, sizeof at);
  snprintf(at.kind.s, sizeof at.kind.s, "%s", reduce_ops[m].kind);
  qcc_shape y = {x.dtype, 0, {0}};
  for (int i = 0; i < x.rank; i++) {
    if (reduced[i]) at.axes.v[at.axes.n++] = i;
    if (!reduced[i]) y.dims[y.rank++] = x.dims[i];
    else if (keep) y.dims[y.rank++] = 1;
  }
  res[0] = onnx_emit(n, q_reduce_create(n->loc, onnx_type(n, &y), onnx_in(n, 0), &at));
  return 0;
}

static int rule_argreduce(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  if (x.dtype != QRT_F32 && x.dtype != QRT_F64 && x.dtype != QRT_I64 && x.dtype != QRT_I32)
    return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(x.dtype));
  int64_t axis;
  if (!onnx_axis(n, onnx_attr_int(n, "axis", 0), x.rank, &axis)) return -1;
  bool keep = onnx_attr_int(n, "keepdims", 1) != 0;
  qcc_shape y = {QRT_I64, 0, {0}};
  for (int i = 0; i < x.rank; i++) {
    if (i != axis) y.dims[y.rank++] = x.dims[i];
    else if (keep) y.dims[y.rank++] = 1;
  }
  q_argreduce_attrs a;
  memset(&a, 0, sizeof a);
  snprintf(a.kind.s, sizeof a.kind.s, "%s", !strcmp(n->type, "ArgMax") ? "max" : "min");
  a.axis = axis;
  a.select_last_index = onnx_attr_int(n, "select_last_index", 0);
  res[0] = onnx_emit(n, q_argreduce_create(n->loc, onnx_type(n, &y), onnx_in(n, 0), &a));
  return 0;
}

/* CumSum (opset 11, 14): the axis input may be a run-time scalar, which
 * the kernel reads (it does not change the shape). */
static int rule_cumsum(onnx_node *n, MlirValue *res) {
  qcc_shape x, ax;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &ax)) return -1;
  if (x.dtype != QRT_F32 && x.dtype != QRT_F64 && x.dtype != QRT_I32 && x.dtype != QRT_I64 && x.dtype != QRT_U32 &&
      x.dtype != QRT_U64)
    return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(x.dtype));
  if ((ax.dtype != QRT_I32 && ax.dtype != QRT_I64) || qcc_shape_numel(&ax) != 1)
    return onnx_fail(n, "axis must be an int32 or int64 scalar");
  if (x.rank < 1) return onnx_fail(n, "input must have rank >= 1");
  q_i64s axv;
  qcc_array ca;
  if (onnx_const_input(n, 1, &ca)) {
    qcc_array_free(&ca);
    int64_t a;
    if (!onnx_const_ints(n, 1, &axv, "axis") || !onnx_axis(n, axv.v[0], x.rank, &a)) return -1;
  }
  q_cumsum_attrs at = {onnx_attr_int(n, "exclusive", 0) != 0, onnx_attr_int(n, "reverse", 0) != 0};
  res[0] = onnx_emit(n, q_cumsum_create(n->loc, onnx_type(n, &x), onnx_in(n, 0), onnx_in(n, 1), &at));
  return 0;
}

const onnx_rule onnx_rules_reduce[] = {
    {"ReduceSum", rule_reduce},  {"ReduceMean", rule_reduce},     {"ReduceMax", rule_reduce},
    {"ReduceMin", rule_reduce},  {"ReduceProd", rule_reduce},     {"ReduceL1", rule_reduce},
    {"ReduceL2", rule_reduce},   {"ReduceSumSquare", rule_reduce}, {"ReduceLogSum", rule_reduce},
    {"ReduceLogSumExp", rule_reduce}, {"ArgMax", rule_argreduce}, {"ArgMin", rule_argreduce},
    {"CumSum", rule_cumsum},
    {NULL, NULL},
};
