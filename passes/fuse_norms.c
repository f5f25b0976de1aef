/* fuse_norms.c - the fuse-norms pass: recognises RMSNorm and LayerNorm
 * written out as elementwise ops (what exporters emit for hand-written
 * norms) and replaces each by one q.norm, so later passes (rotation,
 * smoothing, quantization) see the norm whichever way it arrived.
 *
 * Patterns, over the last axis (reduce mean with keepdims), in any operand
 * order of commutative ops:
 *   RMSNorm:   ms = mean(x*x | x^2);   r = sqrt(ms + eps)
 *              y  = x / r | x * (1/r) | x * reciprocal(r)
 *   LayerNorm: mu = mean(x);  d = x - mu;  var = mean(d*d | d^2);
 *              r = sqrt(var + eps);  y = d / r | d * (1/r) | ...
 * then optionally y * gamma and (LayerNorm, or RMSNorm with a bias) + beta,
 * gamma and beta constants that vary only along the last axis.
 * Invariant: the same function up to float rounding (the fused kernel sums
 * in its own order); intermediate values used outside the pattern block the
 * fusion (they would have to be kept). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_match.h"

/* The single float value of a constant with one element. */
static bool scalar_constant(MlirValue v, double *out) {
  qcc_array a;
  if (!qcc_value_constant(v, &a)) return false;
  bool ok = a.dtype == QRT_F32 && qcc_array_numel(&a) == 1;
  if (ok) *out = ((float *)a.data)[0];
  qcc_array_free(&a);
  return ok;
}

/* A constant broadcasting along the last axis only (shape [..1.., d] or
 * [d]) of a rank-`rank` tensor: its d values (malloc'd) or NULL. */
static float *last_axis_constant(MlirValue v, int rank, int64_t d) {
  qcc_array a;
  if (!qcc_value_constant(v, &a)) return NULL;
  float *out = NULL;
  bool ok = a.dtype == QRT_F32 && a.rank <= rank && a.rank >= 1 && a.dims[a.rank - 1] == d;
  for (int i = 0; ok && i + 1 < a.rank; i++) ok = a.dims[i] == 1;
  if (ok) {
    out = malloc(sizeof(float) * (size_t)d);
    memcpy(out, a.data, sizeof(float) * (size_t)d);
  }
  qcc_array_free(&a);
  return out;
}

/* If op is mean over exactly the last axis of its (rank >= 1) input with
 * keepdims, its input; else null. */
static MlirValue last_axis_mean(MlirOperation op) {
  MlirValue none = {NULL};
  if (mlirOperationIsNull(op) || !q_reduce_is(op) || strcmp(q_reduce_get(op).kind.s, "mean")) return none;
  q_reduce_attrs a = q_reduce_get(op);
  qcc_shape in, out;
  qcc_shape_of(q_reduce_in(op, 0), &in);
  qcc_shape_of(mlirOperationGetResult(op, 0), &out);
  if (a.axes.n != 1 || (a.axes.v[0] != in.rank - 1 && a.axes.v[0] != -1) || out.rank != in.rank) return none;
  return q_reduce_in(op, 0);
}

/* v == x*x or x^2 (x returned), single use. */
static bool square_of(MlirValue v, MlirValue *x) {
  MlirOperation op = def(v);
  double e;
  if (!single_use(v)) return false;
  if (is_binary(op, "mul") && mlirValueEqual(q_binary_in(op, 0), q_binary_in(op, 1))) {
    *x = q_binary_in(op, 0);
    return true;
  }
  if (is_binary(op, "pow") && scalar_constant(q_binary_in(op, 1), &e) && e == 2.0) {
    *x = q_binary_in(op, 0);
    return true;
  }
  return false;
}

/* r == sqrt(m + eps) with m = mean(square); returns the squared value's
 * base and eps. */
static bool rms_denominator(MlirValue r, MlirValue *base, double *eps) {
  MlirOperation sq = def(r);
  if (mlirOperationIsNull(sq) || !q_unary_is(sq) || strcmp(q_unary_get(sq).kind.s, "sqrt") || !single_use(r))
    return false;
  MlirValue a = q_unary_in(sq, 0);
  MlirOperation add = def(a);
  if (!is_binary(add, "add") || !single_use(a)) return false;
  MlirValue m = q_binary_in(add, 0), c = q_binary_in(add, 1);
  if (!scalar_constant(c, eps)) {
    MlirValue t = m;
    m = c;
    c = t;
    if (!scalar_constant(c, eps)) return false;
  }
  if (!single_use(m)) return false;
  MlirValue sqv = last_axis_mean(def(m));
  return !mlirValueIsNull(sqv) && square_of(sqv, base);
}

/* y == n / r, n * (1 / r) or n * reciprocal(r): returns n and r. */
static bool normalised(MlirOperation y_op, MlirValue *n, MlirValue *r) {
  double one;
  if (is_binary(y_op, "div")) {
    *n = q_binary_in(y_op, 0);
    *r = q_binary_in(y_op, 1);
    return true;
  }
  if (!is_binary(y_op, "mul")) return false;
  for (int side = 0; side < 2; side++) {
    MlirValue inv = q_binary_in(y_op, side);
    MlirOperation io = def(inv);
    if (mlirOperationIsNull(io) || !single_use(inv)) continue;
    if (is_binary(io, "div") && scalar_constant(q_binary_in(io, 0), &one) && one == 1.0) *r = q_binary_in(io, 1);
    else if (q_unary_is(io) && !strcmp(q_unary_get(io).kind.s, "reciprocal")) *r = q_unary_in(io, 0);
    else continue;
    *n = q_binary_in(y_op, 1 - side);
    return true;
  }
  return false;
}

/* The single user of v if it is binary(kind) of v and a last-axis constant
 * of d values (returned, malloc'd). */
static float *affine_after(MlirValue v, const char *kind, int rank, int64_t d, MlirOperation *user) {
  if (!single_use(v)) return NULL;
  *user = mlirOpOperandGetOwner(mlirValueGetFirstUse(v));
  if (!is_binary(*user, kind)) return NULL;
  MlirValue other = mlirValueEqual(q_binary_in(*user, 0), v) ? q_binary_in(*user, 1) : q_binary_in(*user, 0);
  qcc_shape ys;
  qcc_shape_of(mlirOperationGetResult(*user, 0), &ys);
  if (ys.rank != rank) return NULL;
  return last_axis_constant(other, rank, d);
}

static MlirValue vector_constant(MlirOperation before, const float *v, int64_t d) {
  qcc_array a = {QRT_F32, 1, {d}, (void *)v, sizeof(float) * (size_t)d};
  return qcc_make_constant(before, mlirOperationGetLocation(before), &a);
}

/* Tries to fuse the norm whose normalised output is produced by y_op. */
static bool fuse_at(MlirOperation y_op) {
  MlirValue num, r, x, base;
  double eps;
  if (!normalised(y_op, &num, &r) || !rms_denominator(r, &base, &eps)) return false;
  bool layer = false;
  if (mlirValueEqual(base, num)) {
    x = num; /* RMSNorm: x / sqrt(mean(x^2) + eps) */
    MlirOperation sub = def(num);
    if (is_binary(sub, "sub")) {
      MlirValue mu = q_binary_in(sub, 1);
      MlirValue mx = last_axis_mean(def(mu));
      /* LayerNorm: d = x - mean(x) squared and divided (d used twice) */
      if (!mlirValueIsNull(mx) && mlirValueEqual(mx, q_binary_in(sub, 0)) && single_use(mu)) {
        x = mx;
        layer = true;
      }
    }
  } else {
    return false;
  }
  qcc_shape xs;
  qcc_shape_of(x, &xs);
  if (xs.dtype != QRT_F32 || xs.rank < 1) return false;
  const int64_t d = xs.dims[xs.rank - 1];
  MlirValue y = mlirOperationGetResult(y_op, 0);
  MlirOperation mul_op = {NULL}, add_op = {NULL};
  float *gamma = affine_after(y, "mul", xs.rank, d, &mul_op), *beta = NULL;
  MlirValue out = y;
  if (gamma) out = mlirOperationGetResult(mul_op, 0);
  else mul_op.ptr = NULL;
  beta = affine_after(out, "add", xs.rank, d, &add_op);
  if (beta) out = mlirOperationGetResult(add_op, 0);
  MlirOperation last = beta ? add_op : gamma ? mul_op : y_op;
  if (!gamma) {
    gamma = malloc(sizeof(float) * (size_t)d);
    for (int64_t i = 0; i < d; i++) gamma[i] = 1.0f;
  }
  q_norm_attrs a;
  memset(&a, 0, sizeof a);
  snprintf(a.kind.s, sizeof a.kind.s, "%s", layer ? "layer" : "rms");
  a.axis = xs.rank - 1;
  a.epsilon = eps;
  MlirValue g = vector_constant(last, gamma, d), b = {NULL};
  if (beta) b = vector_constant(last, beta, d);
  MlirValue n = qcc_insert_before(last, q_norm_create(mlirOperationGetLocation(last), mlirValueGetType(out), x, g, b, &a));
  mlirValueReplaceAllUsesOfWith(out, n);
  char at[256];
  qcc_remark("fuse-norms: %s: %s over the last axis (%lld channels) fused into q.norm", qcc_op_where(y_op, at, sizeof at),
             layer ? "LayerNorm" : "RMSNorm", (long long)d);
  free(gamma);
  free(beta);
  return true;
}

int qcc_pass_fuse_norms(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  bool changed = false;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
    if (q_binary_is(op)) changed |= fuse_at(op);
  return changed ? qcc_pass_dce(m) : 0;
}
