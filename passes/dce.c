/* dce.c - the dce pass: erases ops none of whose results are used.
 *
 * q ops are pure (IRDL ops carry no side-effect traits, so MLIR's own DCE
 * cannot know that; qcc's op set is closed and side-effect free).
 * Walking backwards erases whole dead chains in one sweep. */
#include <stdlib.h>

#include "passes.h"

static bool unused(MlirOperation op) {
  intptr_t n = mlirOperationGetNumResults(op);
  for (intptr_t i = 0; i < n; i++)
    if (!mlirOpOperandIsNull(mlirValueGetFirstUse(mlirOperationGetResult(op, i)))) return false;
  return true;
}

int qcc_pass_dce(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  MlirOperation ret = mlirBlockGetTerminator(body);
  size_t n = 0, cap = 256;
  MlirOperation *ops = malloc(sizeof *ops * cap);
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationEqual(op, ret);
       op = mlirOperationGetNextInBlock(op)) {
    if (n == cap) ops = realloc(ops, sizeof *ops * (cap *= 2));
    ops[n++] = op;
  }
  /* Users follow their operands in the block, so one backward sweep sees
   * every op after all of its users are gone. */
  while (n--)
    if (unused(ops[n])) mlirOperationDestroy(ops[n]);
  free(ops);
  return 0;
}
