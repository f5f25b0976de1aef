/* quantize_movement.c - int8 data movement: ops that only move, repeat or
 * select values (reshape, transpose, slice, broadcast, max pooling) run on
 * the int8 (or int16) codes when their input is integer already, keeping
 * its scale and zero point:
 *
 *   y = op(q.dequantize(x_q))  ->  y_q = op(x_q) : same !quant.uniform
 *                                   y = q.dequantize(y_q)   (float users)
 *
 * Exact: moving codes moves the values they stand for, and max commutes
 * with a monotonic quantization. The next quantized layer adopts y_q's
 * parameters (quantize.c) and reads it directly, so a CNN's max pool or a
 * transformer's head split no longer round-trips through float. Any other
 * op, or a float input, is left as it is. */
#include <string.h>

#include "quant_activations.h"

bool qcc_moves_values(MlirOperation op) {
  if (q_pool_is(op)) return !strcmp(q_pool_get(op).kind.s, "max");
  return q_reshape_is(op) || q_transpose_is(op) || q_slice_is(op) || q_broadcast_is(op);
}

bool qcc_feeds_runtime_matmul_b(MlirValue v) {
  MlirOpOperand u = mlirValueGetFirstUse(v);
  if (mlirOpOperandIsNull(u)) return false;
  for (; !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
    MlirOperation user = mlirOpOperandGetOwner(u);
    const unsigned at = mlirOpOperandGetOperandNumber(u);
    if (q_matmul_is(user) && at == 1) continue; /* only reached when v is not a constant */
    if (!qcc_moves_values(user) || at != 0 || !qcc_feeds_runtime_matmul_b(mlirOperationGetResult(user, 0)))
      return false;
  }
  return true;
}

bool qcc_is_model_output(MlirValue v) {
  for (MlirOpOperand u = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
    MlirOperation user = mlirOpOperandGetOwner(u);
    if (q_op_named(user, "func.return")) return true;
    if (q_reshape_is(user) && qcc_is_model_output(mlirOperationGetResult(user, 0))) return true;
  }
  return false;
}

int qcc_quantize_movement(MlirOperation op) {
  if (!qcc_moves_values(op) || mlirOperationGetNumResults(op) != 1 || mlirOperationGetNumOperands(op) < 1) return 0;
  MlirValue x = mlirOperationGetOperand(op, 0), y = mlirOperationGetResult(op, 0), xq;
  qcc_qparams p;
  qcc_shape ys;
  qcc_shape_of(y, &ys);
  /* int16 codes (w8i16) move too, except through max pooling (an int8 kernel) */
  if (ys.dtype != QRT_F32 || !qcc_int_source(x, &xq, &p) || (q_pool_is(op) && (p.qmin < -128 || p.qmax > 127)))
    return 0;
  MlirOperation moved = mlirOperationClone(op);
  mlirBlockInsertOwnedOperationBefore(mlirOperationGetBlock(op), op, moved);
  mlirOperationSetOperand(moved, 0, xq);
  MlirValue yq = mlirOperationGetResult(moved, 0);
  mlirValueSetType(yq, qcc_quant_type_of(mlirOperationGetContext(op), y, p));
  qcc_use_quantized(op, y, yq);
  return 0;
}
