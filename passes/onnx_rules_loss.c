/* onnx_rules_loss.c - NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss
 * (opset 12, 13) as existing q ops, following the ONNX reference:
 *
 *   x [N, C, d...] (log-probabilities; SCE: log_softmax of the scores on
 *   axis 1), target t [N, d...], optional weight w [C].
 *   ignored  = t == ignore_index                   (only with ignore_index)
 *   t'       = ignored ? 0 : t                     (a safe index)
 *   picked   = gather_elements(x, t', axis 1)      [N, d...]
 *   wt       = w[t'] or 1, and 0 where ignored
 *   loss     = ignored ? 0 : wt * -picked          (reduction none)
 *   sum      = sum(loss)
 *   mean     = sum(loss) / sum(wt) with weights or ignore_index, else the
 *              plain mean of loss.
 * A target outside [0, C) that is not ignore_index is undefined in ONNX;
 * here negative ones count from the end and others read 0 (no UB). */
#include <string.h>

#include "onnx_rules.h"


/* Emits the loss from log-probabilities logp (shape x) and returns it. */
static int emit_nll(onnx_node *n, MlirValue logp, const qcc_shape *x, int target_in, int weight_in, MlirValue *out) {
  qcc_shape t, w;
  if (!onnx_in_shape(n, target_in, &t)) return -1;
  if (t.dtype != QRT_I32 && t.dtype != QRT_I64) return onnx_fail(n, "target must be int32 or int64");
  if (t.rank != x->rank - 1 || t.dims[0] != x->dims[0])
    return onnx_fail(n, "target must have shape [N, d1, ...] of the input [N, C, d1, ...]");
  for (int i = 1; i < t.rank; i++)
    if (t.dims[i] != x->dims[i + 1]) return onnx_fail(n, "target dim %d differs from the input's dim %d", i, i + 1);
  bool has_w = onnx_has_in(n, weight_in);
  if (has_w) {
    if (!onnx_in_shape(n, weight_in, &w)) return -1;
    if (w.rank != 1 || w.dims[0] != x->dims[1] || w.dtype != x->dtype)
      return onnx_fail(n, "weight must be a 1-D tensor of C = %lld values of the input's type", (long long)x->dims[1]);
  }
  char red[16];
  onnx_attr_str(n, "reduction", "mean", red, sizeof red);
  if (strcmp(red, "none") && strcmp(red, "sum") && strcmp(red, "mean"))
    return onnx_fail(n, "reduction '%s' is not supported", red);
  bool has_ii = onnx_has_attr(n, "ignore_index");
  int64_t ii = onnx_attr_int(n, "ignore_index", 0);

  qcc_shape ts = t, bs = t, ls = t;
  bs.dtype = QRT_BOOL;
  ls.dtype = x->dtype;
  MlirValue target = onnx_in(n, target_in), ignored = {NULL};
  if (has_ii) {
    ignored = onnx_binary(n, "equal", target, onnx_scalar(n, t.dtype, (double)ii), &bs);
    target = onnx_where(n, ignored, onnx_scalar(n, t.dtype, 0), target, &ts);
  }
  /* picked = x[n, t'[n, d...], d...] */
  qcc_shape tu = {t.dtype, x->rank, {0}}, pu = *x;
  for (int i = 0; i < x->rank; i++) tu.dims[i] = i == 0 ? t.dims[0] : i == 1 ? 1 : t.dims[i - 1];
  pu.dims[1] = 1;
  q_gather_elements_attrs ga = {1};
  MlirValue picked = onnx_emit(n, q_gather_elements_create(n->loc, onnx_type(n, &pu), logp, onnx_reshape(n, target, &tu), &ga));
  MlirValue loss = onnx_unary(n, "neg", onnx_reshape(n, picked, &ls), &ls, 0, 0);
  MlirValue wt = {NULL};
  if (has_w) {
    q_gather_attrs wa = {0};
    wt = onnx_emit(n, q_gather_create(n->loc, onnx_type(n, &ls), onnx_in(n, weight_in), target, &wa));
    if (has_ii) wt = onnx_where(n, ignored, onnx_scalar(n, x->dtype, 0), wt, &ls);
    loss = onnx_binary(n, "mul", wt, loss, &ls);
  } else if (has_ii) {
    wt = onnx_where(n, ignored, onnx_scalar(n, x->dtype, 0), onnx_scalar(n, x->dtype, 1), &ls);
  }
  if (has_ii) loss = onnx_where(n, ignored, onnx_scalar(n, x->dtype, 0), loss, &ls);
  if (!strcmp(red, "none")) {
    *out = loss;
    return 0;
  }
  q_i64s all;
  memset(&all, 0, sizeof all);
  for (int i = 0; i < ls.rank; i++) all.v[all.n++] = i;
  qcc_shape scalar = {x->dtype, 0, {0}};
  if (!strcmp(red, "mean") && mlirValueIsNull(wt)) {
    *out = onnx_reduce(n, "mean", loss, &all, &scalar);
    return 0;
  }
  MlirValue sum = onnx_reduce(n, "sum", loss, &all, &scalar);
  *out = !strcmp(red, "sum") ? sum : onnx_binary(n, "div", sum, onnx_reduce(n, "sum", wt, &all, &scalar), &scalar);
  return 0;
}

static bool check_input(onnx_node *n, qcc_shape *x) {
  if (!onnx_in_shape(n, 0, x)) return false;
  if (x->dtype != QRT_F32) {
    onnx_fail(n, "element type %s is not supported (float32 only)", qcc_dtype_name(x->dtype));
    return false;
  }
  if (x->rank < 2) {
    onnx_fail(n, "input must have shape [N, C, d1, ...]");
    return false;
  }
  return true;
}

static int rule_nll(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!check_input(n, &x)) return -1;
  return emit_nll(n, onnx_in(n, 0), &x, 1, 2, &res[0]);
}

/* SoftmaxCrossEntropyLoss: NLL of log_softmax(scores, axis 1); the
 * optional second output is that log_softmax. */
static int rule_sce(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!check_input(n, &x)) return -1;
  q_softmax_attrs sa = {1, 1};
  MlirValue logp = onnx_emit(n, q_softmax_create(n->loc, onnx_type(n, &x), onnx_in(n, 0), &sa));
  if (emit_nll(n, logp, &x, 1, 2, &res[0])) return -1;
  if (n->n_out > 1) res[1] = logp;
  return 0;
}

const onnx_rule onnx_rules_loss[] = {
    {"NegativeLogLikelihoodLoss", rule_nll},
    {"SoftmaxCrossEntropyLoss", rule_sce},
    {NULL, NULL},
};
