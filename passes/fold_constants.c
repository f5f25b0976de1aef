/* fold_constants.c - the fold-constants pass.
 *
 * Invariant: every q op whose operands are all q.constant is replaced by a
 * q.constant holding the value the runtime kernel computes for it, so the
 * folded model computes exactly what the unfolded one did. Folding uses
 * the evaluator, hence the same kernels as run time. */
#include "evaluator.h"
#include "onnx_rules.h"
#include "passes.h"

/* v's size in bytes (double: a product that cannot overflow); 0 when its
 * type gives none. */
static double value_bytes(MlirValue v) {
  qcc_shape s;
  return qcc_shape_of(v, &s) ? (double)qcc_shape_numel(&s) * (double)qcc_dtype_size(s.dtype) : 0;
}

MlirValue qcc_fold_op(MlirOperation op) {
  MlirValue none = {NULL};
  /* A q.loop is never folded: it is no one kernel call (and its body is
   * big by construction: small loops are unrolled, and their copies fold). */
  if (q_constant_is(op) || mlirOperationGetNumResults(op) != 1 || mlirOperationGetNumRegions(op) > 0) return none;
  const double out_bytes = value_bytes(mlirOperationGetResult(op, 0));
  if (out_bytes > (double)QCC_MAX_FOLD_BYTES)
    return none; /* too big to hold at compile time: computed at run time */
  double in_bytes = 0;
  for (intptr_t i = 0; i < mlirOperationGetNumOperands(op); i++) in_bytes += value_bytes(mlirOperationGetOperand(op, i));
  if (out_bytes > (double)QCC_MAX_EXPAND_FOLD_BYTES && out_bytes > 4 * in_bytes)
    return none; /* an expansion (qcc.h): cheaper as the op than as a table */
  qcc_array result;
  if (!qcc_evaluate_op(op, &result)) return none;
  MlirValue c = qcc_make_constant(op, mlirOperationGetLocation(op), &result);
  qcc_array_free(&result);
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(op, 0), c);
  mlirOperationDestroy(op);
  return c;
}

static bool all_operands_constant(MlirOperation op) {
  intptr_t n = mlirOperationGetNumOperands(op);
  for (intptr_t i = 0; i < n; i++)
    if (!qcc_value_is_constant(mlirOperationGetOperand(op, i))) return false;
  return true;
}

int qcc_pass_fold_constants(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  MlirOperation ret = mlirBlockGetTerminator(body);
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationEqual(op, ret);) {
    MlirOperation next = mlirOperationGetNextInBlock(op);
    if (!q_constant_is(op) && mlirOperationGetNumOperands(op) > 0 && all_operands_constant(op)) {
      int errors = qcc_error_count();
      if (mlirValueIsNull(qcc_fold_op(op)) && qcc_error_count() > errors) return -1;
    }
    op = next;
  }
  return 0;
}
