/* context.c - MLIR context set-up and module helpers. */
#include <mlir-c/Dialect/Func.h>
#include <mlir-c/Dialect/Quant.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_tensor.h"
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

char *qcc_read_mlir_text(const char *path, size_t *len) {
  char err[512];
  unsigned char *text;
  *len = 0;
  if (!strcmp(path, "-")) {
    size_t cap = 1 << 16;
    text = malloc(cap);
    for (size_t got; text && (got = fread(text + *len, 1, cap - *len - 1, stdin)) > 0;) {
      unsigned char *grown = (*len += got) + 1 >= cap ? realloc(text, cap *= 2) : text;
      if (!grown) free(text);
      text = grown;
    }
    if (!text) return qcc_error("out of memory reading MLIR from stdin"), NULL;
  } else if (!(text = qcc_read_file(path, len, err, sizeof err))) {
    return qcc_error("%s", err), NULL;
  }
  unsigned char *z = realloc(text, *len + 1);
  if (!z) return free(text), qcc_error("out of memory reading %s", path), NULL;
  z[*len] = 0; /* the parser reads one byte past the end */
  return (char *)z;
}

MlirModule qcc_parse_mlir_text(MlirContext ctx, const char *text, size_t len, const char *path) {
  MlirModule m = mlirModuleCreateParse(ctx, mlirStringRefCreate(text, len));
  if (mlirModuleIsNull(m)) qcc_error("%s: cannot parse MLIR (see the diagnostic above)", path);
  return m;
}

MlirModule qcc_parse_mlir_file(MlirContext ctx, const char *path) {
  size_t len;
  char *text = qcc_read_mlir_text(path, &len);
  MlirModule m = {NULL};
  if (text) m = qcc_parse_mlir_text(ctx, text, len, path);
  free(text);
  return m;
}
