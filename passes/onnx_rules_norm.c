/* onnx_rules_norm.c - normalisations written with reductions and
 * elementwise q ops, in the order of operations of the ONNX reference:
 * InstanceNormalization, GroupNormalization, MeanVarianceNormalization
 * and LRN (whose window sum over channels is a convolution with a ones
 * kernel). */
#include <stdlib.h>
#include <string.h>

#include "onnx_rules.h"

static bool require_f32(onnx_node *n, const qcc_shape *s) {
  if (s->dtype == QRT_F32) return true;
  onnx_fail(n, "element type %s is not supported (float32 only)", qcc_dtype_name(s->dtype));
  return false;
}

/* mean over axes, keepdims (the shape r). */
static MlirValue mean_over(onnx_node *n, MlirValue x, const q_i64s *axes, const qcc_shape *r) {
  return onnx_reduce(n, "mean", x, axes, r);
}

/* InstanceNormalization: per (n, c), y = s * (x - mean) / sqrt(var + eps)
 * + bias over the spatial dims, var = mean((x - mean)^2). */
static int rule_instance_norm(onnx_node *n, MlirValue *res) {
  qcc_shape x, s, b;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &s) || !onnx_in_shape(n, 2, &b) || !require_f32(n, &x)) return -1;
  if (x.rank < 3) return onnx_fail(n, "input must be [N, C, d1, ...] with at least one spatial dim");
  if (qcc_shape_numel(&s) != x.dims[1] || qcc_shape_numel(&b) != x.dims[1] || s.dtype != x.dtype || b.dtype != x.dtype)
    return onnx_fail(n, "scale and B must hold C = %lld values of the input's type", (long long)x.dims[1]);
  double eps = onnx_attr_float(n, "epsilon", 1e-5);
  q_i64s axes;
  memset(&axes, 0, sizeof axes);
  qcc_shape r = x, cs = {x.dtype, x.rank - 1, {0}};
  for (int i = 2; i < x.rank; i++) {
    axes.v[axes.n++] = i;
    r.dims[i] = 1;
  }
  for (int i = 0; i < cs.rank; i++) cs.dims[i] = i == 0 ? x.dims[1] : 1;
  MlirValue mean = mean_over(n, onnx_in(n, 0), &axes, &r);
  MlirValue d = onnx_binary(n, "sub", onnx_in(n, 0), mean, &x);
  MlirValue var = mean_over(n, onnx_binary(n, "mul", d, d, &x), &axes, &r);
  MlirValue sd = onnx_unary(n, "sqrt", onnx_binary(n, "add", var, onnx_scalar(n, x.dtype, eps), &r), &r, 0, 0);
  MlirValue y = onnx_binary(n, "mul", onnx_reshape(n, onnx_in(n, 1), &cs), d, &x);
  y = onnx_binary(n, "div", y, sd, &x);
  res[0] = onnx_binary(n, "add", y, onnx_reshape(n, onnx_in(n, 2), &cs), &x);
  return 0;
}

/* GroupNormalization (opset 18, 21): x [N, C, d1, ...] viewed as
 * [N, G, C/G * d1 * ...]; each group normalised as InstanceNormalization
 * does a channel, then y = scale * x^ + bias per group (opset 18: scale
 * and bias [G]) or per channel (opset 21: [C]). */
static int rule_group_norm(onnx_node *n, MlirValue *res) {
  qcc_shape x, s, b;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &s) || !onnx_in_shape(n, 2, &b) || !require_f32(n, &x)) return -1;
  if (x.rank < 2) return onnx_fail(n, "input must be [N, C, ...]");
  if (qcc_shape_numel(&x) == 0) return onnx_fail(n, "the input is empty");
  if (onnx_attr_int(n, "stash_type", 1) != 1) return onnx_fail(n, "stash_type other than float32 is not supported");
  const int64_t C = x.dims[1], G = onnx_attr_int(n, "num_groups", 0);
  if (!onnx_has_attr(n, "num_groups")) return onnx_fail(n, "missing required attribute 'num_groups'");
  if (G < 1 || C % G) return onnx_fail(n, "num_groups %lld does not divide the %lld channels", (long long)G, (long long)C);
  const int64_t per = n->opset >= 21 ? C : G;
  if (qcc_shape_numel(&s) != per || qcc_shape_numel(&b) != per || s.dtype != x.dtype || b.dtype != x.dtype)
    return onnx_fail(n, "scale and bias must hold %lld values (one per %s, opset %d) of the input's type", (long long)per,
                     n->opset >= 21 ? "channel" : "group", n->opset);
  const int64_t group = qcc_shape_numel(&x) / x.dims[0] / G;
  qcc_shape g = {x.dtype, 3, {x.dims[0], G, group}}, r = {x.dtype, 3, {x.dims[0], G, 1}};
  q_i64s last = {1, {2}};
  MlirValue xg = onnx_reshape(n, onnx_in(n, 0), &g);
  MlirValue mean = mean_over(n, xg, &last, &r);
  MlirValue d = onnx_binary(n, "sub", xg, mean, &g);
  MlirValue var = mean_over(n, onnx_binary(n, "mul", d, d, &g), &last, &r);
  MlirValue eps = onnx_scalar(n, x.dtype, onnx_attr_float(n, "epsilon", 1e-5));
  MlirValue sd = onnx_unary(n, "sqrt", onnx_binary(n, "add", var, eps, &r), &r, 0, 0);
  MlirValue y = onnx_binary(n, "div", d, sd, &g);
  if (n->opset < 21) {
    qcc_shape gs = {x.dtype, 2, {G, 1}};
    y = onnx_binary(n, "mul", y, onnx_reshape(n, onnx_in(n, 1), &gs), &g);
    res[0] = onnx_reshape(n, onnx_binary(n, "add", y, onnx_reshape(n, onnx_in(n, 2), &gs), &g), &x);
    return 0;
  }
  qcc_shape cs = {x.dtype, x.rank - 1, {0}};
  for (int i = 0; i < cs.rank; i++) cs.dims[i] = i == 0 ? C : 1;
  y = onnx_binary(n, "mul", onnx_reshape(n, y, &x), onnx_reshape(n, onnx_in(n, 1), &cs), &x);
  res[0] = onnx_binary(n, "add", y, onnx_reshape(n, onnx_in(n, 2), &cs), &x);
  return 0;
}

/* MeanVarianceNormalization (opset 9, 13; axes default [0, 2, 3]):
 * (x - mean) / (sqrt(mean(x^2) - mean^2) + 1e-9). */
static int rule_mvn(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x) || !require_f32(n, &x)) return -1;
  q_i64s given, axes;
  memset(&axes, 0, sizeof axes);
  if (!onnx_attr_ints(n, "axes", &given)) {
    given.n = 3;
    given.v[0] = 0, given.v[1] = 2, given.v[2] = 3;
  }
  bool red[QRT_MAX_RANK] = {false};
  for (int i = 0; i < given.n; i++) {
    int64_t a;
    if (!onnx_axis(n, given.v[i], x.rank, &a)) return -1;
    red[a] = true;
  }
  qcc_shape r = x;
  for (int i = 0; i < x.rank; i++)
    if (red[i]) {
      axes.v[axes.n++] = i;
      r.dims[i] = 1;
    }
  MlirValue mean = mean_over(n, onnx_in(n, 0), &axes, &r);
  MlirValue sq_mean = mean_over(n, onnx_binary(n, "mul", onnx_in(n, 0), onnx_in(n, 0), &x), &axes, &r);
  MlirValue var = onnx_binary(n, "sub", sq_mean, onnx_binary(n, "mul", mean, mean, &r), &r);
  MlirValue sd = onnx_binary(n, "add", onnx_unary(n, "sqrt", var, &r, 0, 0), onnx_scalar(n, x.dtype, 1e-9), &r);
  res[0] = onnx_binary(n, "div", onnx_binary(n, "sub", onnx_in(n, 0), mean, &x), sd, &x);
  return 0;
}

/* LRN: y = x / (bias + alpha / size * sum)^beta, sum of x^2 over the
 * channels [c - floor((size-1)/2), c + ceil((size-1)/2)].  The window sum is
 * a conv of x^2 viewed as [N, 1, C, prod(spatial)] with a [size, 1] kernel
 * of ones and zero padding. */
static int rule_lrn(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x) || !require_f32(n, &x)) return -1;
  if (x.rank < 3) return onnx_fail(n, "input must be [N, C, d1, ...]");
  int64_t size = onnx_attr_int(n, "size", 0);
  if (size < 1) return onnx_fail(n, "size must be a positive integer");
  double alpha = onnx_attr_float(n, "alpha", 1e-4), beta = onnx_attr_float(n, "beta", 0.75),
         bias = onnx_attr_float(n, "bias", 1.0);
  int64_t sp = 1;
  for (int i = 2; i < x.rank; i++) sp *= x.dims[i];
  qcc_shape v = {QRT_F32, 4, {x.dims[0], 1, x.dims[1], sp}};
  float *ones = malloc(sizeof(float) * (size_t)size);
  for (int64_t i = 0; i < size; i++) ones[i] = 1.0f;
  qcc_array w = {QRT_F32, 4, {1, 1, size, 1}, ones, sizeof(float) * (size_t)size};
  MlirValue wv = onnx_constant(n, &w);
  free(ones);
  q_conv_attrs ca;
  memset(&ca, 0, sizeof ca);
  ca.strides.n = ca.dilations.n = 2;
  ca.strides.v[0] = ca.strides.v[1] = ca.dilations.v[0] = ca.dilations.v[1] = 1;
  ca.pads.n = 4;
  ca.pads.v[0] = (size - 1) / 2;
  ca.pads.v[2] = size - 1 - (size - 1) / 2;
  ca.group = 1;
  MlirValue sq = onnx_reshape(n, onnx_binary(n, "mul", onnx_in(n, 0), onnx_in(n, 0), &x), &v);
  MlirValue none = {NULL};
  MlirValue sum = onnx_reshape(n, onnx_emit(n, q_conv_create(n->loc, onnx_type(n, &v), sq, wv, none, &ca)), &x);
  MlirValue t = onnx_binary(n, "mul", sum, onnx_scalar(n, QRT_F32, alpha / (double)size), &x);
  t = onnx_binary(n, "add", t, onnx_scalar(n, QRT_F32, bias), &x);
  t = onnx_binary(n, "pow", t, onnx_scalar(n, QRT_F32, beta), &x);
  res[0] = onnx_binary(n, "div", onnx_in(n, 0), t, &x);
  return 0;
}

const onnx_rule onnx_rules_norm[] = {
    {"InstanceNormalization", rule_instance_norm},
    {"GroupNormalization", rule_group_norm},
    {"MeanVarianceNormalization", rule_mvn},
    {"LRN", rule_lrn},
    {NULL, NULL},
};
