/* q_dialect_support.c - op building and attribute access through the MLIR C
 * API, shared by every generated builder and accessor. */
#include "q_dialect_support.h"

#include <mlir-c/BuiltinAttributes.h>
#include <mlir-c/BuiltinTypes.h>
#include <mlir-c/Dialect/IRDL.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool q_dialect_load(MlirContext ctx) {
  mlirDialectHandleRegisterDialect(mlirGetDialectHandle__irdl__(), ctx);
  MlirModule m = mlirModuleCreateParse(ctx, mlirStringRefCreateFromCString(q_dialect_irdl));
  if (mlirModuleIsNull(m)) return false;
  bool ok = mlirLogicalResultIsSuccess(mlirLoadIRDLDialects(m));
  mlirModuleDestroy(m);
  return ok;
}

bool q_op_named(MlirOperation op, const char *name) {
  MlirStringRef s = mlirIdentifierStr(mlirOperationGetName(op));
  return s.length == strlen(name) && memcmp(s.data, name, s.length) == 0;
}

static void builder_bug(const char *what) {
  /* Exceeding these bounds is a compiler bug, not bad user input. */
  fprintf(stderr, "qcc: internal error: op builder %s\n", what);
  abort();
}

void q_builder_init(q_op_builder *b, const char *name, MlirLocation loc, MlirType result) {
  memset(b, 0, sizeof *b);
  b->name = name;
  b->loc = loc;
  b->result = result;
  b->ctx = mlirLocationGetContext(loc);
}

void q_builder_operands(q_op_builder *b, const MlirValue *v, intptr_t n) {
  if (b->n_operands + n > Q_BUILDER_MAX_OPERANDS || b->n_groups == 16) builder_bug("has too many operands");
  for (intptr_t i = 0; i < n; i++) b->operands[b->n_operands++] = v[i];
  b->group_sizes[b->n_groups++] = (int32_t)n;
}

void q_builder_optional(q_op_builder *b, MlirValue v) {
  q_builder_operands(b, &v, mlirValueIsNull(v) ? 0 : 1);
}

void q_builder_attr(q_op_builder *b, const char *name, MlirAttribute v) {
  if (b->n_attrs == Q_BUILDER_MAX_ATTRS) builder_bug("has too many attributes");
  MlirIdentifier id = mlirIdentifierGet(b->ctx, mlirStringRefCreateFromCString(name));
  b->attrs[b->n_attrs++] = mlirNamedAttributeGet(id, v);
}

void q_builder_i64s(q_op_builder *b, const char *name, const q_i64s *v) {
  q_builder_attr(b, name, mlirDenseI64ArrayGet(b->ctx, v->n, v->v));
}

void q_builder_i64(q_op_builder *b, const char *name, int64_t v) {
  q_builder_attr(b, name, mlirIntegerAttrGet(mlirIntegerTypeGet(b->ctx, 64), v));
}

void q_builder_f64(q_op_builder *b, const char *name, double v) {
  q_builder_attr(b, name, mlirFloatAttrDoubleGet(b->ctx, mlirF64TypeGet(b->ctx), v));
}

void q_builder_str(q_op_builder *b, const char *name, const char *v) {
  q_builder_attr(b, name, mlirStringAttrGet(b->ctx, mlirStringRefCreateFromCString(v)));
}

void q_builder_results(q_op_builder *b, const MlirType *types, intptr_t n) {
  b->results = types;
  b->n_results = n;
}

void q_builder_region(q_op_builder *b, MlirRegion r) {
  if (b->n_regions == 2) builder_bug("has too many regions");
  b->regions[b->n_regions++] = r;
}

MlirOperation q_builder_finish(q_op_builder *b, int with_segments) {
  if (with_segments)
    q_builder_attr(b, "operandSegmentSizes", mlirDenseI32ArrayGet(b->ctx, b->n_groups, b->group_sizes));
  /* IRDL (LLVM 19) can place one optional/variadic group by itself but
   * needs the sizes, under this name, when there are several. */
  if (with_segments > 1)
    q_builder_attr(b, "operand_segment_sizes", mlirDenseI32ArrayGet(b->ctx, b->n_groups, b->group_sizes));
  MlirOperationState st = mlirOperationStateGet(mlirStringRefCreateFromCString(b->name), b->loc);
  mlirOperationStateAddOperands(&st, b->n_operands, b->operands);
  if (b->results) mlirOperationStateAddResults(&st, b->n_results, b->results);
  else mlirOperationStateAddResults(&st, 1, &b->result);
  mlirOperationStateAddOwnedRegions(&st, b->n_regions, b->regions);
  mlirOperationStateAddAttributes(&st, b->n_attrs, b->attrs);
  return mlirOperationCreate(&st);
}

MlirAttribute q_attr_any(MlirOperation op, const char *name) {
  return mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(name));
}

/* The verifier guarantees declared attributes exist with the declared kind;
 * the checks below only keep a malformed hand-written test from crashing. */
q_i64s q_attr_i64s(MlirOperation op, const char *name) {
  q_i64s r;
  memset(&r, 0, sizeof r);
  MlirAttribute a = q_attr_any(op, name);
  if (mlirAttributeIsNull(a) || !mlirAttributeIsADenseI64Array(a)) return r;
  intptr_t n = mlirDenseArrayGetNumElements(a);
  if (n > 16) n = 16;
  r.n = (int)n;
  for (intptr_t i = 0; i < n; i++) r.v[i] = mlirDenseI64ArrayGetElement(a, i);
  return r;
}

int64_t q_attr_i64(MlirOperation op, const char *name) {
  MlirAttribute a = q_attr_any(op, name);
  return !mlirAttributeIsNull(a) && mlirAttributeIsAInteger(a) ? mlirIntegerAttrGetValueInt(a) : 0;
}

double q_attr_f64(MlirOperation op, const char *name) {
  MlirAttribute a = q_attr_any(op, name);
  return !mlirAttributeIsNull(a) && mlirAttributeIsAFloat(a) ? mlirFloatAttrGetValueDouble(a) : 0.0;
}

q_str q_attr_str(MlirOperation op, const char *name) {
  q_str r;
  memset(&r, 0, sizeof r);
  MlirAttribute a = q_attr_any(op, name);
  if (mlirAttributeIsNull(a) || !mlirAttributeIsAString(a)) return r;
  MlirStringRef s = mlirStringAttrGetValue(a);
  size_t n = s.length < sizeof r.s - 1 ? s.length : sizeof r.s - 1;
  memcpy(r.s, s.data, n);
  return r;
}

/* Start index and size of group k; single groups have size 1, others are
 * read from operandSegmentSizes. */
static void group_range(MlirOperation op, const int *kinds, int n_groups, int k, intptr_t *start,
                        intptr_t *size) {
  MlirAttribute seg = q_attr_any(op, "operandSegmentSizes");
  int has_seg = !mlirAttributeIsNull(seg) && mlirAttributeIsADenseI32Array(seg) &&
                mlirDenseArrayGetNumElements(seg) == n_groups;
  intptr_t pos = 0;
  for (int g = 0; g < n_groups; g++) {
    intptr_t n = has_seg ? mlirDenseI32ArrayGetElement(seg, g) : (kinds[g] == 0 ? 1 : 0);
    if (!has_seg && kinds[g] == 2) n = mlirOperationGetNumOperands(op) - pos;
    if (g == k) {
      *start = pos;
      *size = n;
      return;
    }
    pos += n;
  }
  *start = 0;
  *size = 0;
}

MlirValue q_operand_group(MlirOperation op, const int *kinds, int n_groups, int k, intptr_t i) {
  intptr_t start, size;
  group_range(op, kinds, n_groups, k, &start, &size);
  if (i >= size || start + i >= mlirOperationGetNumOperands(op)) {
    MlirValue none = {NULL};
    return none;
  }
  return mlirOperationGetOperand(op, start + i);
}

intptr_t q_operand_group_size(MlirOperation op, const int *kinds, int n_groups, int k) {
  intptr_t start, size;
  group_range(op, kinds, n_groups, k, &start, &size);
  return size;
}
