/* strided_operands.c - int8 matmuls read transposed operands in place.
 *
 * Multi-head attention splits q, k and v into heads with a reshape and a
 * transpose ([T, H, dh] -> [H, T, dh]; k also -> [H, dh, T]), and each
 * transpose is a copy of the whole tensor before the matmul that reads it.
 * The int8 GEMM already takes a row stride for a, row and column strides
 * for b and a stride per batch dim (runtime QRT_QMATMUL_PARAMS: lda, rs_b,
 * cs_b, a/b_batch_strides), so a q.qmatmul can read the transpose's input
 * through them instead: its operand becomes the transpose's input and the
 * permutation goes on the op as qcc.a_perm / qcc.b_perm (logical operand =
 * transpose(stored operand, perm); codegen/kernel_call.c turns it into
 * strides). The same bits: only where the codes are read from changes.
 *
 * Rules (an operand that breaks one keeps its transpose):
 *  - the matmul is q.qmatmul with int8 operands and a run-time b (the
 *    int4 and int16 paths, and packed constant weights, take dense
 *    operands only);
 *  - a: the transpose keeps the last dim last (each row's K codes stay
 *    contiguous: the micro-kernels read them 4 at a time);
 *  - b: the last dim stays last (rows of b contiguous) or comes from the
 *    second-to-last (k^T: each column's codes contiguous); other strides
 *    would pack b one byte at a time, slower than the copy.
 * A transpose left without users is erased. Runs last (after
 * fuse-attention), so no other pass sees an operand of a strided
 * layout; not for the NPU target, whose GEMM reads dense operands. */
#include <string.h>

#include "passes.h"

/* The transpose v comes from, or a null op. */
static MlirOperation transpose_of(MlirValue v) {
  if (mlirValueIsAOpResult(v) && q_transpose_is(mlirOpResultGetOwner(v))) return mlirOpResultGetOwner(v);
  return (MlirOperation){NULL};
}

static bool int8_tensor(MlirValue v) {
  qcc_shape s;
  qcc_shape_of(v, &s);
  return s.dtype == QRT_I8 && s.rank >= 2;
}

/* Whether operand `which` (0: a, 1: b) can read t's input with t's perm. */
static bool foldable(MlirOperation t, int which) {
  q_transpose_attrs a = q_transpose_get(t);
  const int64_t r = a.perm.n;
  if (r < 2 || !int8_tensor(q_transpose_in(t, 0))) return false;
  if (a.perm.v[r - 1] == r - 1) return true;
  return which == 1 && a.perm.v[r - 2] == r - 1;
}

static void fold_operand(MlirOperation mm, int which, int *folded) {
  MlirValue v = mlirOperationGetOperand(mm, which);
  MlirOperation t = transpose_of(v);
  if (mlirOperationIsNull(t) || !foldable(t, which)) return;
  q_transpose_attrs a = q_transpose_get(t);
  MlirContext ctx = mlirOperationGetContext(mm);
  mlirOperationSetAttributeByName(mm, mlirStringRefCreateFromCString(which ? "qcc.b_perm" : "qcc.a_perm"),
                                  mlirDenseI64ArrayGet(ctx, (intptr_t)a.perm.n, a.perm.v));
  mlirOperationSetOperand(mm, which, q_transpose_in(t, 0));
  if (mlirOpOperandIsNull(mlirValueGetFirstUse(mlirOperationGetResult(t, 0)))) mlirOperationDestroy(t);
  (*folded)++;
}

int qcc_pass_strided_operands(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  int folded = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    if (!q_qmatmul_is(op) || qcc_value_is_constant(q_qmatmul_in(op, 1)) || !int8_tensor(q_qmatmul_in(op, 0)) ||
        !int8_tensor(q_qmatmul_in(op, 1)) || strcmp(q_qmatmul_get(op).format.s, "int8"))
      continue;
    fold_operand(op, 0, &folded);
    fold_operand(op, 1, &folded);
  }
  if (folded) qcc_remark("strided-operands: %d transposed matmul operand%s read in place (no copy)", folded,
                         folded == 1 ? "" : "s");
  return 0;
}
