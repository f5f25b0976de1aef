/* fuse_activations.c - the fuse-activations pass: GELU and SiLU written out
 * as elementwise ops (what torch exports for nn.GELU() and x * sigmoid(x))
 * become one q.unary, so the float path runs one kernel and the quantized
 * path can treat them as one function of one input (a lookup table in
 * int8).
 *
 * Patterns (commutative operands in any order):
 *   GELU: e = erf(x / c) with c = sqrt 2 (or erf(x * c) with c = 1/sqrt 2),
 *         y = (x * (e + 1)) * 0.5  or  ((x * 0.5) * (e + 1))
 *   GELU, tanh form (torch's approximate='tanh' below opset 20, GPT-2's
 *         NewGELU): t = tanh(c * (x + k * x^3)), c = sqrt(2/pi),
 *         k = 0.044715, x^3 = pow(x, 3) or (x * x) * x, then y as above
 *         with t for e
 *   SiLU: y = x * sigmoid(x)
 * Intermediate values used outside the pattern block the fusion.
 * Invariant: the same function up to float rounding. */
#include <math.h>
#include <string.h>

#include "fuse_match.h"

static bool is_unary(MlirOperation op, const char *kind) {
  return !mlirOperationIsNull(op) && q_unary_is(op) && !strcmp(q_unary_get(op).kind.s, kind);
}

static bool scalar_near(MlirValue v, double want) {
  qcc_array a;
  if (!qcc_value_constant(v, &a)) return false;
  bool ok = a.dtype == QRT_F32 && qcc_array_numel(&a) == 1 && fabs(((float *)a.data)[0] - want) <= 1e-6 * fabs(want);
  qcc_array_free(&a);
  return ok;
}

/* op is binary(kind) of v and a scalar constant near c: true. */
static bool with_scalar(MlirOperation op, const char *kind, MlirValue v, double c, bool commutes) {
  if (!is_binary(op, kind)) return false;
  if (mlirValueEqual(q_binary_in(op, 0), v) && scalar_near(q_binary_in(op, 1), c)) return true;
  return commutes && mlirValueEqual(q_binary_in(op, 1), v) && scalar_near(q_binary_in(op, 0), c);
}

/* The other operand of binary op, given one. */
static MlirValue other(MlirOperation op, MlirValue v) {
  return mlirValueEqual(q_binary_in(op, 0), v) ? q_binary_in(op, 1) : q_binary_in(op, 0);
}

static void replace(MlirOperation last, MlirValue x, const char *kind) {
  q_unary_attrs a;
  memset(&a, 0, sizeof a);
  snprintf(a.kind.s, sizeof a.kind.s, "%s", kind);
  MlirValue y = mlirOperationGetResult(last, 0);
  MlirValue n = qcc_insert_before(last, q_unary_create(mlirOperationGetLocation(last), mlirValueGetType(y), x, &a));
  mlirValueReplaceAllUsesOfWith(y, n);
  char at[256];
  qcc_remark("fuse-activations: %s: %s fused into q.unary", qcc_op_where(last, at, sizeof at), kind);
}

/* After the erf or tanh e of x's argument: y = (x * (e + 1)) * 0.5 or
 * (x * 0.5) * (e + 1) becomes q.unary `kind` of x. */
static bool fuse_gelu_tail(MlirValue x, MlirValue e, const char *kind) {
  MlirOperation add = sole_user(e);
  if (!with_scalar(add, "add", e, 1.0, true)) return false;
  MlirValue t = mlirOperationGetResult(add, 0);
  MlirOperation mul = sole_user(t);
  if (!is_binary(mul, "mul")) return false;
  MlirValue f = other(mul, t), u = mlirOperationGetResult(mul, 0);
  if (mlirValueEqual(f, x)) { /* (x * (e + 1)) * 0.5 */
    MlirOperation half = sole_user(u);
    if (!with_scalar(half, "mul", u, 0.5, true)) return false;
    replace(half, x, kind);
    return true;
  }
  MlirOperation xh = def(f); /* ((x * 0.5) * (e + 1)) */
  if (mlirOperationIsNull(xh) || !single_use(f) || !with_scalar(xh, "mul", x, 0.5, true)) return false;
  replace(mul, x, kind);
  return true;
}

static bool fuse_gelu(MlirOperation erf) {
  MlirValue s = q_unary_in(erf, 0), e = mlirOperationGetResult(erf, 0);
  MlirOperation scale = def(s);
  if (mlirOperationIsNull(scale) || !single_use(s) || !q_binary_is(scale)) return false;
  MlirValue x = q_binary_in(scale, 0);
  if (!with_scalar(scale, "div", x, sqrt(2.0), false) && !with_scalar(scale, "mul", x, 1 / sqrt(2.0), false)) {
    x = q_binary_in(scale, 1);
    if (!with_scalar(scale, "mul", x, 1 / sqrt(2.0), true)) return false;
  }
  return fuse_gelu_tail(x, e, "gelu");
}

/* v = x^3, used only here: pow(x, 3), (x * x) * x or x * (x * x). */
static bool is_cube_of(MlirValue v, MlirValue x) {
  MlirOperation op = def(v);
  if (mlirOperationIsNull(op) || !single_use(v)) return false;
  if (with_scalar(op, "pow", x, 3.0, false)) return true;
  if (!is_binary(op, "mul")) return false;
  MlirValue a = q_binary_in(op, 0), b = q_binary_in(op, 1);
  MlirValue sq = mlirValueEqual(a, x) ? b : (mlirValueEqual(b, x) ? a : (MlirValue){NULL});
  if (mlirValueIsNull(sq) || !single_use(sq)) return false;
  MlirOperation m2 = def(sq);
  return is_binary(m2, "mul") && mlirValueEqual(q_binary_in(m2, 0), x) && mlirValueEqual(q_binary_in(m2, 1), x);
}

/* t = tanh(c * (x + k * x^3)): x, or a null value. */
static MlirValue tanh_gelu_input(MlirOperation tanh) {
  const MlirValue none = {NULL};
  MlirValue in = q_unary_in(tanh, 0);
  MlirOperation scale = def(in);
  if (mlirOperationIsNull(scale) || !single_use(in) || !is_binary(scale, "mul")) return none;
  const double c = 0.79788456080286535588; /* sqrt(2 / pi) */
  MlirValue sum = q_binary_in(scale, 0);
  if (!with_scalar(scale, "mul", sum, c, true)) {
    sum = q_binary_in(scale, 1);
    if (!with_scalar(scale, "mul", sum, c, true)) return none;
  }
  MlirOperation add = def(sum);
  if (mlirOperationIsNull(add) || !single_use(sum) || !is_binary(add, "add")) return none;
  for (int i = 0; i < 2; i++) { /* x + k x^3, either order */
    MlirValue x = q_binary_in(add, i), kx3 = q_binary_in(add, 1 - i);
    MlirOperation km = def(kx3);
    if (mlirOperationIsNull(km) || !single_use(kx3) || !is_binary(km, "mul")) continue;
    for (int j = 0; j < 2; j++)
      if (scalar_near(q_binary_in(km, 1 - j), 0.044715) && is_cube_of(q_binary_in(km, j), x)) return x;
  }
  return none;
}

static bool fuse_gelu_tanh(MlirOperation tanh) {
  MlirValue x = tanh_gelu_input(tanh);
  return !mlirValueIsNull(x) && fuse_gelu_tail(x, mlirOperationGetResult(tanh, 0), "gelu_tanh");
}

static bool fuse_silu(MlirOperation sig) {
  MlirValue x = q_unary_in(sig, 0), s = mlirOperationGetResult(sig, 0);
  MlirOperation mul = sole_user(s);
  if (!is_binary(mul, "mul") || !mlirValueEqual(other(mul, s), x)) return false;
  replace(mul, x, "silu");
  return true;
}

int qcc_pass_fuse_activations(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  bool changed = false;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op)) {
    qcc_shape s;
    if (!q_unary_is(op)) continue;
    qcc_shape_of(mlirOperationGetResult(op, 0), &s);
    if (s.dtype != QRT_F32) continue;
    if (is_unary(op, "erf")) changed |= fuse_gelu(op);
    else if (is_unary(op, "tanh")) changed |= fuse_gelu_tanh(op);
    else if (is_unary(op, "sigmoid")) changed |= fuse_silu(op);
  }
  return changed ? qcc_pass_dce(m) : 0;
}
