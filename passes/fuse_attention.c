/* fuse_attention.c - the fuse-attention pass: a float attention chain
 *
 *   s = q.matmul(Q, Kt)            Q [..., M, D], Kt [..., D, N]
 *   s = q.binary mul(s, c)         optional: c an f32 scalar constant
 *       (or div(s, c))             (either order for mul)
 *   s = q.binary add(s, mask)      optional: an f32 mask that broadcasts
 *                                  to s along its leading dims and rows
 *                                  ([..., M or 1, N]: a causal [M, N], a
 *                                  per-batch [B, 1, M, N], a key padding
 *                                  [B, 1, 1, N]); before the scale or after
 *   p = q.softmax(s) {axis = last, log = 0}
 *   p = q.where(isnan(p), 0, p)    optional: torch's guard of rows with
 *                                  every score -inf (nan_to_zero)
 *   y = q.matmul(p, V)             V [..., N, DV]
 *
 * with every intermediate used only by the next op, the three matmul
 * operands of the same leading (batch) dims and no bias, becomes one
 * q.attention (runtime qrt_attention_f32): per head and block of query
 * rows, the scores stay in a small scratch instead of a [..., M, N] tensor
 * written and read four times, and the chain is one kernel call (one
 * parallel split with threads). The runtime kernel runs the chain's own
 * kernels on each block, so the outputs keep their bits
 * (test_runtime_attention.c; test/passes/fuse-attention.test compares the
 * generated C with and without the pass).
 *
 * It runs last, after quantization: quantized attention (int8 matmuls,
 * q.softmax_codes, DBFP softmax, KV caches) has left the float pattern and
 * is not touched. A chain that almost matches (a softmax feeding a matmul)
 * gets a remark naming what kept it unfused. */
#include <math.h>
#include <string.h>

#include "fuse_match.h"

static bool is_f32_scalar_constant(MlirValue v) {
  qcc_shape s;
  qcc_array a;
  qcc_shape_of(v, &s);
  if (s.dtype != QRT_F32 || qcc_shape_numel(&s) != 1 || !qcc_value_constant(v, &a)) return false;
  qcc_array_free(&a);
  return true;
}

/* A float matmul without bias whose operands have rank r >= 2 and the
 * same leading dims as `lead` (rank r). */
static bool plain_matmul(MlirOperation op, const qcc_shape *lead) {
  if (mlirOperationIsNull(op) || !q_matmul_is(op) || !mlirValueIsNull(q_matmul_in(op, 2))) return false;
  for (int k = 0; k < 2; k++) {
    qcc_shape s;
    qcc_shape_of(q_matmul_in(op, k), &s);
    if (s.dtype != QRT_F32 || s.rank != lead->rank) return false;
    for (int d = 0; d < s.rank - 2; d++)
      if (s.dims[d] != lead->dims[d]) return false;
  }
  return true;
}

/* Whether an f32 mask adds to scores s by broadcasting along leading dims
 * and rows only: its last dim is s's (N), every other dim (right-aligned)
 * 1 or s's. */
static bool mask_broadcasts(MlirValue mask, const qcc_shape *s) {
  qcc_shape m;
  qcc_shape_of(mask, &m);
  if (m.dtype != QRT_F32 || m.rank < 1 || m.rank > s->rank || m.dims[m.rank - 1] != s->dims[s->rank - 1]) return false;
  for (int d = 0; d < m.rank - 1; d++) {
    const int64_t sd = s->dims[d + (s->rank - m.rank)];
    if (m.dims[d] != 1 && m.dims[d] != sd) return false;
  }
  return true;
}

/* The probabilities' guard torch exports with scaled_dot_product_attention:
 * where(isnan(p), 0, p), the isnan read only there and p read only by
 * both; the where, or a null op. (+0 only: the kernel writes +0.) */
static MlirOperation nan_guard(MlirValue p) {
  MlirOperation none = {NULL}, isnan_op = none, where = none;
  int uses = 0;
  for (MlirOpOperand u = mlirValueGetFirstUse(p); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u), uses++) {
    MlirOperation o = mlirOpOperandGetOwner(u);
    if (q_unary_is(o) && !strcmp(q_unary_get(o).kind.s, "isnan")) isnan_op = o;
    else if (q_where_is(o)) where = o;
  }
  if (uses != 2 || mlirOperationIsNull(isnan_op) || mlirOperationIsNull(where)) return none;
  MlirValue flag = mlirOperationGetResult(isnan_op, 0), zero = q_where_in(where, 1);
  qcc_array z;
  if (!single_use(flag) || !mlirValueEqual(q_where_in(where, 0), flag) || !mlirValueEqual(q_where_in(where, 2), p) ||
      !is_f32_scalar_constant(zero) || !qcc_value_constant(zero, &z))
    return none;
  const float v = *(const float *)z.data;
  const bool plus_zero = v == 0.0f && !signbit(v);
  qcc_array_free(&z);
  return plus_zero ? where : none;
}

/* Fuses the chain ending in softmax sm, or says why not (remark) and
 * returns false. */
static bool fuse_at(MlirOperation sm) {
  char at[256];
  qcc_op_where(sm, at, sizeof at);
  MlirValue p = mlirOperationGetResult(sm, 0);
  qcc_shape ps;
  qcc_shape_of(p, &ps);
  q_softmax_attrs sa = q_softmax_get(sm);
  if (ps.dtype != QRT_F32 || ps.rank < 2 || sa.log || (sa.axis != ps.rank - 1 && sa.axis != -1)) return false;
  MlirOperation guard = nan_guard(p);
  MlirValue probs = mlirOperationIsNull(guard) ? p : mlirOperationGetResult(guard, 0);
  MlirOpOperand use = mlirValueGetFirstUse(probs);
  MlirOperation pv = mlirOpOperandIsNull(use) ? (MlirOperation){NULL} : mlirOpOperandGetOwner(use);
  if ((mlirOperationIsNull(guard) && !single_use(p)) || !single_use(probs) || !q_matmul_is(pv) ||
      !mlirValueEqual(q_matmul_in(pv, 0), probs))
    return false;
  /* from here on the shape is attention's: say why it stays unfused */
  if (!plain_matmul(pv, &ps)) {
    qcc_remark("fuse-attention: %s: not fused: the matmul after the softmax has a bias or other batch dims", at);
    return false;
  }
  /* back from the softmax: at most one scale and one mask, in either
   * order (walking back, the mask found after the scale was added first) */
  MlirValue s = q_softmax_in(sm, 0), mask = {NULL}, scale = {NULL};
  bool divides = false, mask_first = false;
  MlirOperation op = def(s);
  for (int step = 0; step < 2 && single_use(s); step++) {
    if (mlirValueIsNull(scale) && (is_binary(op, "mul") || is_binary(op, "div"))) {
      MlirValue a = q_binary_in(op, 0), b = q_binary_in(op, 1);
      divides = is_binary(op, "div");
      if (is_f32_scalar_constant(b)) scale = b, s = a;
      else if (!divides && is_f32_scalar_constant(a)) scale = a, s = b;
      else {
        qcc_remark("fuse-attention: %s: not fused: the scores are scaled by something other than an f32 constant", at);
        return false;
      }
    } else if (mlirValueIsNull(mask) && is_binary(op, "add")) {
      MlirValue a = q_binary_in(op, 0), b = q_binary_in(op, 1);
      MlirOperation da = def(a);
      bool a_is_chain = !mlirOperationIsNull(da) &&
                        (q_matmul_is(da) || (mlirValueIsNull(scale) && (is_binary(da, "mul") || is_binary(da, "div"))));
      mask = a_is_chain ? b : a;
      s = a_is_chain ? a : b;
      mask_first = !mlirValueIsNull(scale);
      if (!mask_broadcasts(mask, &ps)) {
        qcc_remark("fuse-attention: %s: not fused: the term added to the scores is not an f32 mask that broadcasts to "
                   "them along rows and leading dims ([..., M or 1, N])", at);
        return false;
      }
    } else {
      break;
    }
    op = def(s);
  }
  if (!single_use(s) || !plain_matmul(op, &ps)) {
    qcc_remark("fuse-attention: %s: not fused: the softmax's input is not Q Kt [* c] [+ mask] used only there", at);
    return false;
  }
  qcc_shape ss;
  qcc_shape_of(s, &ss);
  if (!qcc_shape_same_dims(&ss, &ps) || ps.dims[ps.rank - 1] < 1) {
    qcc_remark("fuse-attention: %s: not fused: the mask broadcasts the scores to another shape", at);
    return false;
  }
  q_attention_attrs attrs = {divides, mask_first, !mlirOperationIsNull(guard)};
  MlirValue y = mlirOperationGetResult(pv, 0);
  MlirValue n = qcc_insert_before(pv, q_attention_create(mlirOperationGetLocation(pv), mlirValueGetType(y),
                                                         q_matmul_in(op, 0), q_matmul_in(op, 1), q_matmul_in(pv, 1),
                                                         scale, mask, &attrs));
  mlirValueReplaceAllUsesOfWith(y, n);
  qcc_remark("fuse-attention: %s: %lld heads of %lld x %lld scores fused into q.attention", at,
             (long long)(qcc_shape_numel(&ps) / (ps.dims[ps.rank - 1] * ps.dims[ps.rank - 2])),
             (long long)ps.dims[ps.rank - 2], (long long)ps.dims[ps.rank - 1]);
  return true;
}

int qcc_pass_fuse_attention(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  bool changed = false;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
    if (q_softmax_is(op)) changed |= fuse_at(op);
  return changed ? qcc_pass_dce(m) : 0;
}
