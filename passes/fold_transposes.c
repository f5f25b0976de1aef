/* fold_transposes.c - the fold-transposes pass: a q.transpose between an
 * integer matmul or a fused float attention (q.attention) and its operand
 * or its result becomes strides of the kernel instead of a copy.
 *
 * Attention splits heads with Reshape + Transpose: Q [T, H, D] -> [H, T, D],
 * K -> K^T [H, D, T], V -> [H, T, D], and merges them back after P V
 * ([H, T, D] -> [T, H, D]). Each transpose is a strided copy of the whole
 * tensor that only one matmul reads (or that only reads one matmul's
 * result). The quantized GEMM takes any row stride for A and C and any
 * (row, column) strides for a run-time B, and per-batch offsets, so the
 * transposed view can be read or written in place:
 *
 *   y = q.qmatmul(q.transpose(x) {perm}, ...)  ->  q.qmatmul(x, ...) {qcc.a_perm = perm}
 *   y = q.qmatmul(a, q.transpose(x) {perm})    ->  q.qmatmul(a, x)   {qcc.b_perm = perm}
 *   z = q.transpose(q.qmatmul(...)) {perm}      ->  z = q.qmatmul(...) {qcc.c_perm = perm}
 *
 * The attributes name the permutation that gives the matmul's logical
 * operand from the stored one (a_perm, b_perm: logical dim i is stored
 * dim perm[i]) or the stored result from the logical one (c_perm: stored
 * dim i is logical dim perm[i]); codegen turns them into strides
 * (qrt_qmatmul_params.strided). The sums are the same integers in the
 * same order, so the bits do not change.
 *
 * A transpose read only by a per-tensor q.quantize or q.dequantize first
 * moves past it (elementwise: they commute), so a run-time B requantized
 * to its symmetric scale (transpose of codes, dequantize, quantize, matmul)
 * is read in place too.
 *
 * q.attention takes the same attributes for Q (qcc.a_perm), Kt (qcc.b_perm)
 * and its result (qcc.c_perm), and qcc.v_perm for V: its GEMMs read and
 * write the stored tensors through strides with the same sums in the same
 * order, so the float bits do not change either.
 *
 * Applies to q.qmatmul with int8 codes (A, and C when the result is int8),
 * q.qmatmul_deq without a residual (A and its float C) and q.attention
 * (Q and the result keep their innermost dim; Kt and V any): A and C keep
 * their innermost dim innermost (the GEMM reads A's rows and writes C's
 * rows contiguously); a run-time B may be permuted any way. Not applied,
 * with a -v remark: a transpose with other readers, one that moves the
 * innermost dim of A or C. Runs last, not for --target npu. */
#include <string.h>

#include "fuse_match.h"

static MlirAttribute perm_attr(MlirContext ctx, const q_i64s *perm) {
  return mlirDenseI64ArrayGet(ctx, perm->n, perm->v);
}

static void set_perm(MlirOperation op, const char *name, const q_i64s *perm) {
  mlirOperationSetDiscardableAttributeByName(op, mlirStringRefCreateFromCString(name),
                                             perm_attr(mlirOperationGetContext(op), perm));
}

static bool has_attr(MlirOperation op, const char *name) {
  return !mlirAttributeIsNull(mlirOperationGetDiscardableAttributeByName(op, mlirStringRefCreateFromCString(name)));
}

static bool is_int8(MlirValue v) {
  qcc_shape s;
  return qcc_shape_of(v, &s) && s.dtype == QRT_I8;
}

/* Why operand `idx` (0: A, 1: B) of matmul op cannot read through its
 * transpose t, or NULL when it can. */
static const char *why_not_operand(MlirOperation op, int idx, MlirOperation t) {
  const q_i64s perm = q_transpose_get(t).perm;
  MlirValue v = mlirOperationGetOperand(op, idx);
  if (mlirOperationIsNull(sole_user(v))) return "the transposed values have other readers";
  if (q_attention_is(op)) return idx == 0 && perm.v[perm.n - 1] != perm.n - 1 ? "it moves Q's innermost dim" : NULL;
  if (!is_int8(v)) return "the operand is not int8";
  if (idx == 0 && (perm.n < 2 || perm.v[perm.n - 1] != perm.n - 1)) return "it moves A's innermost dim";
  return NULL;
}

/* Why the matmul's result cannot be written through its only reader, the
 * transpose t, or NULL when it can. */
static const char *why_not_result(MlirOperation op, MlirOperation t) {
  const q_i64s perm = q_transpose_get(t).perm;
  if (perm.n < 2 || perm.v[perm.n - 1] != perm.n - 1) return "it moves C's innermost dim";
  if (q_attention_is(op)) return NULL;
  if (q_qmatmul_deq_is(op) && q_qmatmul_deq_num_in(op, 5)) return "the matmul adds a residual in C's layout";
  if (q_qmatmul_is(op) && !is_int8(mlirOperationGetResult(op, 0))) return "the result is not int8";
  return NULL;
}

static bool fold_operand(MlirOperation op, int idx, const char *attr) {
  MlirOperation t = def(mlirOperationGetOperand(op, idx));
  if (mlirOperationIsNull(t) || !q_transpose_is(t) || has_attr(op, attr)) return false;
  char at[256];
  qcc_op_where(t, at, sizeof at);
  const char *why = why_not_operand(op, idx, t);
  if (why) {
    qcc_remark("fold-transposes: %s stays a copy: %s", at, why);
    return false;
  }
  const q_i64s perm = q_transpose_get(t).perm;
  set_perm(op, attr, &perm);
  mlirOperationSetOperand(op, idx, mlirOperationGetOperand(t, 0));
  qcc_remark("fold-transposes: %s is read in place by the %s (%s)", at, q_attention_is(op) ? "attention" : "matmul", attr);
  return true;
}

static bool fold_result(MlirOperation op) {
  MlirValue y = mlirOperationGetResult(op, 0);
  MlirOperation t = sole_user(y);
  if (mlirOperationIsNull(t) || !q_transpose_is(t) || has_attr(op, "qcc.c_perm")) return false;
  char at[256];
  qcc_op_where(t, at, sizeof at);
  const char *why = why_not_result(op, t);
  if (why) {
    qcc_remark("fold-transposes: %s stays a copy: %s", at, why);
    return false;
  }
  const q_i64s perm = q_transpose_get(t).perm;
  MlirValue z = mlirOperationGetResult(t, 0);
  set_perm(op, "qcc.c_perm", &perm);
  mlirValueSetType(y, mlirValueGetType(z));
  mlirValueReplaceAllUsesOfWith(z, y);
  qcc_remark("fold-transposes: %s is written in place by the %s (qcc.c_perm)", at, q_attention_is(op) ? "attention" : "matmul");
  return true;
}

/* A per-tensor q.quantize or q.dequantize maps each element alone, so it
 * commutes with a transpose: transpose -> (de)quantize becomes
 * (de)quantize -> transpose, which moves the transpose next to the matmul
 * that reads it (a run-time B requantized to its symmetric scale:
 * transpose of codes, dequantize, quantize, matmul). Returns the new
 * transpose, or a null op when t's only reader is not such an op. */
static MlirOperation sink_transpose(MlirOperation t) {
  MlirOperation none = {NULL}, u = sole_user(mlirOperationGetResult(t, 0));
  if (mlirOperationIsNull(u) || !(q_quantize_is(u) || q_dequantize_is(u))) return none;
  MlirValue x = mlirOperationGetOperand(t, 0), y = mlirOperationGetResult(u, 0);
  double scale;
  int64_t zp;
  if (!qcc_value_quant(q_quantize_is(u) ? y : mlirOperationGetOperand(u, 0), &scale, &zp)) return none;
  MlirType xt = mlirValueGetType(x), yt = mlirValueGetType(y);
  intptr_t rank = mlirShapedTypeGetRank(xt);
  int64_t dims[QRT_MAX_RANK];
  for (intptr_t i = 0; i < rank && i < QRT_MAX_RANK; i++) dims[i] = mlirShapedTypeGetDimSize(xt, i);
  MlirType ut = mlirRankedTensorTypeGet(rank, dims, mlirShapedTypeGetElementType(yt), mlirAttributeGetNull());
  MlirLocation loc = mlirOperationGetLocation(u);
  MlirValue v = qcc_insert_before(u, q_quantize_is(u) ? q_quantize_create(loc, ut, x) : q_dequantize_create(loc, ut, x));
  const q_transpose_attrs a = q_transpose_get(t);
  MlirValue z = qcc_insert_before(u, q_transpose_create(mlirOperationGetLocation(t), yt, v, &a));
  mlirValueReplaceAllUsesOfWith(y, z);
  return mlirOpResultGetOwner(z);
}

/* Whether t's values reach an int8 matmul operand through per-tensor
 * (de)quantizes only, each the only reader of the one before: then
 * sinking t lets the matmul read it in place. Elsewhere t stays where it
 * is (past a dequantize it would move 4-byte floats instead of codes). */
static bool sinks_to_matmul(MlirOperation t) {
  MlirValue v = mlirOperationGetResult(t, 0);
  MlirOperation u = sole_user(v);
  double scale;
  int64_t zp;
  while (!mlirOperationIsNull(u) && (q_quantize_is(u) || q_dequantize_is(u)) &&
         qcc_value_quant(q_quantize_is(u) ? mlirOperationGetResult(u, 0) : v, &scale, &zp)) {
    v = mlirOperationGetResult(u, 0);
    u = sole_user(v);
  }
  if (mlirValueEqual(v, mlirOperationGetResult(t, 0)) || mlirOperationIsNull(u) || !is_int8(v)) return false;
  if (!q_qmatmul_is(u) && !q_qmatmul_deq_is(u)) return false;
  if (!is_int8(mlirOperationGetOperand(u, 0))) return false;
  return mlirValueEqual(mlirOperationGetOperand(u, 0), v) ||
         (q_qmatmul_is(u) && mlirValueEqual(mlirOperationGetOperand(u, 1), v) && !qcc_value_is_constant(v));
}

/* A float q.binary mul (either operand) or div (as the dividend) of a
 * transpose's result by an f32 scalar constant, read only by a
 * q.attention: scaled dot-product attention's q * s and k^T * s (torch
 * scales both by the fourth root of 1/d after the head split). */
static bool scales_into_attention(MlirOperation t, MlirOperation u) {
  if (mlirOperationIsNull(u) || !q_binary_is(u)) return false;
  const char *k = q_binary_get(u).kind.s;
  const bool mul = !strcmp(k, "mul");
  if (!mul && strcmp(k, "div")) return false;
  MlirValue tv = mlirOperationGetResult(t, 0);
  MlirValue c = mlirValueEqual(q_binary_in(u, 0), tv) ? q_binary_in(u, 1) : q_binary_in(u, 0);
  if (!mul && !mlirValueEqual(q_binary_in(u, 0), tv)) return false;
  qcc_shape cs, ts;
  if (!qcc_shape_of(c, &cs) || cs.dtype != QRT_F32 || qcc_shape_numel(&cs) != 1 || !qcc_value_is_constant(c)) return false;
  /* a scalar of higher rank would broadcast the moved scale's result to
   * a type of its own */
  if (!qcc_shape_of(tv, &ts) || ts.dtype != QRT_F32 || cs.rank > ts.rank) return false;
  MlirOperation a = sole_user(mlirOperationGetResult(u, 0));
  return !mlirOperationIsNull(a) && q_attention_is(a);
}

/* t's only reader u scales it (scales_into_attention): u moves before t
 * (the scale maps each element alone, so it commutes with the transpose)
 * and the transpose then meets the attention that reads it. */
static void sink_scale(MlirOperation t, MlirOperation u) {
  MlirValue x = mlirOperationGetOperand(t, 0), tv = mlirOperationGetResult(t, 0), y = mlirOperationGetResult(u, 0);
  const bool first = mlirValueEqual(q_binary_in(u, 0), tv);
  MlirValue c = first ? q_binary_in(u, 1) : q_binary_in(u, 0);
  MlirLocation loc = mlirOperationGetLocation(u);
  const q_binary_attrs ba = q_binary_get(u);
  MlirValue s = qcc_insert_before(u, q_binary_create(loc, mlirValueGetType(x), first ? x : c, first ? c : x, &ba));
  const q_transpose_attrs ta = q_transpose_get(t);
  MlirValue z = qcc_insert_before(u, q_transpose_create(mlirOperationGetLocation(t), mlirValueGetType(y), s, &ta));
  mlirValueReplaceAllUsesOfWith(y, z);
  char at[256];
  qcc_remark("fold-transposes: %s moves before the head transpose it scaled, so the attention reads that in place",
             qcc_op_where(u, at, sizeof at));
}

int qcc_pass_fold_transposes(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  bool changed = false;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    for (MlirOperation t = op; q_transpose_is(t) && sinks_to_matmul(t);) {
      MlirOperation next = sink_transpose(t);
      if (mlirOperationIsNull(next)) break;
      changed = true;
      t = next;
    }
    MlirOperation u = q_transpose_is(op) ? sole_user(mlirOperationGetResult(op, 0)) : (MlirOperation){NULL};
    if (q_transpose_is(op) && scales_into_attention(op, u)) {
      sink_scale(op, u);
      changed = true;
    }
  }
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    if (q_attention_is(op)) {
      changed |= fold_operand(op, 0, "qcc.a_perm");
      changed |= fold_operand(op, 1, "qcc.b_perm");
      changed |= fold_operand(op, 2, "qcc.v_perm");
      changed |= fold_result(op);
      continue;
    }
    const bool qmm = q_qmatmul_is(op);
    if (!qmm && !q_qmatmul_deq_is(op)) continue;
    if (!is_int8(mlirOperationGetOperand(op, 0))) continue; /* int16 codes: a kernel without strides */
    changed |= fold_operand(op, 0, "qcc.a_perm");
    if (qmm && !qcc_value_is_constant(mlirOperationGetOperand(op, 1))) changed |= fold_operand(op, 1, "qcc.b_perm");
    changed |= fold_result(op);
  }
  return changed ? qcc_pass_dce(m) : 0;
}
