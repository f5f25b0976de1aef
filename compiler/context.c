/* context.c - MLIR context set-up and module helpers. */
#include <mlir-c/Dialect/Func.h>
#include <mlir-c/Dialect/Quant.h>
#include <stdio.h>
#include <stdlib.h>

#include "qcc.h"

MlirContext qcc_context_create(void) {
  MlirContext ctx = mlirContextCreate();
  mlirDialectHandleLoadDialect(mlirGetDialectHandle__func__(), ctx);
  mlirDialectHandleLoadDialect(mlirGetDialectHandle__quant__(), ctx);
  /* onnx.* ops exist only between import and legalization, unregistered. */
  mlirContextSetAllowUnregisteredDialects(ctx, true);
  if (!q_dialect_load(ctx)) {
    fprintf(stderr, "qcc: internal error: the q dialect (IRDL) failed to load\n");
    abort();
  }
  return ctx;
}

MlirOperation qcc_module_func(MlirModule m) {
  MlirBlock body = mlirModuleGetBody(m);
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op))
    if (q_op_named(op, "func.func")) return op;
  MlirOperation none = {NULL};
  return none;
}

MlirBlock qcc_func_body(MlirOperation func) {
  return mlirRegionGetFirstBlock(mlirOperationGetRegion(func, 0));
}

static void write_to_file(MlirStringRef s, void *user) { fwrite(s.data, 1, s.length, (FILE *)user); }

void qcc_print_module(MlirModule m, FILE *out, bool elide_large) {
  qcc_flush_remarks();
  MlirOpPrintingFlags flags = mlirOpPrintingFlagsCreate();
  if (elide_large) mlirOpPrintingFlagsElideLargeElementsAttrs(flags, 16);
  mlirOperationPrintWithFlags(mlirModuleGetOperation(m), flags, write_to_file, out);
  fputc('\n', out);
  mlirOpPrintingFlagsDestroy(flags);
}
