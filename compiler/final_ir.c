/* final_ir.c - the final IR written and read back (final_ir.h). */
#include "final_ir.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_call.h"
#include "qcc.h"

#define NO_FMA_ATTR "qcc.no_fma"
#define SEAL_ATTR "qcc.final_ir_digest"

/* The first op, in pre-order, whose name starts with a prefix (null when
 * there is none). */
typedef struct op_search {
  const char *prefix;
  MlirOperation found;
} op_search;

static MlirWalkResult find_op(MlirOperation op, void *user) {
  op_search *q = user;
  MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(op));
  const size_t len = strlen(q->prefix);
  if (n.length >= len && !memcmp(n.data, q->prefix, len)) {
    q->found = op;
    return MlirWalkResultInterrupt;
  }
  return MlirWalkResultAdvance;
}

static MlirOperation first_op_named(MlirModule m, const char *prefix) {
  op_search q = {prefix, {NULL}};
  mlirOperationWalk(mlirModuleGetOperation(m), find_op, &q, MlirWalkPreOrder);
  return q.found;
}

/* A run-time loop's body ends with the onnx.Yield it was imported with and
 * its block arguments are per-iteration slices of the operands, which the
 * op's text form does not check back in: such IR prints but does not parse
 * back as the module it was. */
static const char *const loop_not_read_back =
    "run-time loops (q.loop, from Loop or Scan nodes left as C loops) are not read back from text";

/* FNV-1a over the module's text as qcc_write_final_ir prints it. */
typedef struct text_digest {
  uint64_t h;
} text_digest;

static void digest_chunk(MlirStringRef s, void *user) {
  text_digest *d = user;
  for (size_t i = 0; i < s.length; i++) d->h = (d->h ^ (unsigned char)s.data[i]) * 0x100000001b3ull;
}

static void write_chunk(MlirStringRef s, void *user) { fwrite(s.data, 1, s.length, (FILE *)user); }

/* Locations on (their aliases at the end, in the form that parses back). */
static void print_final(MlirModule m, MlirStringCallback cb, void *user) {
  MlirOpPrintingFlags flags = mlirOpPrintingFlagsCreate();
  mlirOpPrintingFlagsEnableDebugInfo(flags, true, false);
  mlirOperationPrintWithFlags(mlirModuleGetOperation(m), flags, cb, user);
  mlirOpPrintingFlagsDestroy(flags);
}

static void digest_text(MlirModule m, char hex[17]) {
  text_digest d = {0xcbf29ce484222325ull};
  print_final(m, digest_chunk, &d);
  snprintf(hex, 17, "%016" PRIx64, d.h);
}

/* The seal is the digest of the module without it: taken off, the text
 * must hash to it again. NULL when it does, else why not. */
static const char *broken_seal(MlirModule m) {
  MlirOperation func = qcc_module_func(m);
  MlirStringRef name = mlirStringRefCreateFromCString(SEAL_ATTR);
  MlirAttribute seal = mlirOperationGetAttributeByName(func, name);
  if (mlirAttributeIsNull(seal) || !mlirAttributeIsAString(seal))
    return "it has no " SEAL_ATTR ": only IR that --emit-mlir wrote is read back (qcc-opt takes any IR)";
  char want[17], have[17];
  MlirStringRef s = mlirStringAttrGetValue(seal);
  snprintf(want, sizeof want, "%.*s", (int)s.length, s.data);
  mlirOperationRemoveAttributeByName(func, name);
  digest_text(m, have);
  return strcmp(want, have) ? "it was edited since --emit-mlir wrote it (" SEAL_ATTR " does not match its text)"
                            : NULL;
}

int qcc_write_final_ir(MlirModule m, const char *path) {
  MlirOperation func = qcc_module_func(m);
  MlirContext ctx = mlirOperationGetContext(func);
  /* --no-fma is a lowering choice, not an op: the IR carries it */
  if (!qcc_fused_multiply_add)
    mlirOperationSetAttributeByName(func, mlirStringRefCreateFromCString(NO_FMA_ATTR), mlirUnitAttrGet(ctx));
  if (!mlirOperationIsNull(first_op_named(m, "q.loop")))
    qcc_warning("--emit-mlir: %s holds a run-time loop: qcc cannot take it as input (%s)", path, loop_not_read_back);
  char hex[17];
  digest_text(m, hex);
  MlirStringRef name = mlirStringRefCreateFromCString(SEAL_ATTR);
  mlirOperationSetAttributeByName(func, name, mlirStringAttrGet(ctx, mlirStringRefCreateFromCString(hex)));
  FILE *f = fopen(path, "w");
  if (!f) {
    mlirOperationRemoveAttributeByName(func, name);
    return qcc_error("cannot write %s", path), -1;
  }
  qcc_flush_remarks();
  print_final(m, write_chunk, f);
  fputc('\n', f);
  const bool bad = ferror(f) != 0;
  fclose(f);
  mlirOperationRemoveAttributeByName(func, name); /* the C does not need it */
  if (bad) return qcc_error("cannot write %s", path), -1;
  return 0;
}

static bool names_attr_ok(MlirOperation func, const char *attr, intptr_t n) {
  MlirAttribute a = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString(attr));
  if (mlirAttributeIsNull(a) || !mlirAttributeIsAArray(a) || mlirArrayAttrGetNumElements(a) != n) return false;
  for (intptr_t i = 0; i < n; i++)
    if (!mlirAttributeIsAString(mlirArrayAttrGetElement(a, i))) return false;
  return true;
}

MlirModule qcc_read_final_ir(MlirContext ctx, const char *path) {
  MlirModule none = {NULL};
  size_t len;
  char *text = qcc_read_mlir_text(path, &len);
  if (!text) return none;
  MlirModule m = qcc_parse_mlir_text(ctx, text, len, path);
  /* the likely why, when it is a run-time loop */
  if (mlirModuleIsNull(m) && strstr(text, "\"q.loop\"")) qcc_error("%s: %s", path, loop_not_read_back);
  free(text);
  if (mlirModuleIsNull(m)) return m;
  const char *why = NULL;
  MlirOperation func = qcc_module_func(m);
  if (!mlirOperationVerify(mlirModuleGetOperation(m))) why = "it does not verify (see the diagnostic above)";
  else if (mlirOperationIsNull(func)) why = "it has no func.func";
  if (!why) {
    MlirBlock body = qcc_func_body(func);
    MlirOperation ret = mlirBlockGetTerminator(body);
    if (!names_attr_ok(func, "onnx.input_names", mlirBlockGetNumArguments(body)) ||
        mlirOperationIsNull(ret) || !names_attr_ok(func, "onnx.output_names", mlirOperationGetNumOperands(ret)))
      why = "its func.func lacks onnx.input_names / onnx.output_names, one string per input and output";
  }
  if (!why && !mlirOperationIsNull(first_op_named(m, "q.loop"))) why = loop_not_read_back;
  if (!why) {
    MlirOperation onnx_op = first_op_named(m, "onnx.");
    if (!mlirOperationIsNull(onnx_op)) {
      MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(onnx_op));
      qcc_error("%s: op '%.*s' is not legalized: a .mlir model is the final IR --emit-mlir writes", path,
                (int)n.length, n.data);
      mlirModuleDestroy(m);
      return none;
    }
    why = broken_seal(m);
  }
  if (why) {
    qcc_error("%s: not final qcc IR: %s", path, why);
    mlirModuleDestroy(m);
    return none;
  }
  /* written by a --no-fma compile: its lowering again */
  if (!mlirAttributeIsNull(mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString(NO_FMA_ATTR))))
    qcc_fused_multiply_add = false;
  return m;
}
