/* onnx_expand.c - a rule that rewrites its node as other ONNX ops.
 *
 * Many operators outside the default domain (ONNX Runtime's com.microsoft
 * contrib ops: QLinearAdd, SkipLayerNormalization, FastGelu, ...) are,
 * by their definitions, short compositions of default-domain operators,
 * as an ONNX function body is. Their rules build those onnx.* ops before
 * the node and return their results; the driver then legalizes the new
 * ops next, each by its own rule, so shape inference, type checks and
 * error messages are the ones the default ops already have. Each new op
 * carries the opset its expansion was written for (`qcc.opset`): a
 * QLinearSoftmax whose `opset` attribute says 11 gets Softmax-11's axis
 * semantics, whatever the model's default-domain opset is. */
#include <stdlib.h>
#include <string.h>

#include "onnx_rules.h"

static MlirNamedAttribute named(onnx_node *n, const char *name, MlirAttribute v) {
  return mlirNamedAttributeGet(mlirIdentifierGet(n->ctx, mlirStringRefCreateFromCString(name)), v);
}

MlirNamedAttribute onnx_xattr_int(onnx_node *n, const char *name, int64_t v) {
  return named(n, name, mlirIntegerAttrGet(mlirIntegerTypeGet(n->ctx, 64), v));
}

MlirNamedAttribute onnx_xattr_float(onnx_node *n, const char *name, double v) {
  return named(n, name, mlirFloatAttrDoubleGet(n->ctx, mlirF32TypeGet(n->ctx), v));
}

MlirNamedAttribute onnx_xattr_ints(onnx_node *n, const char *name, const int64_t *v, int count) {
  return named(n, name, mlirDenseI64ArrayGet(n->ctx, count, v));
}

MlirNamedAttribute onnx_xattr_str(onnx_node *n, const char *name, const char *v) {
  return named(n, name, mlirStringAttrGet(n->ctx, mlirStringRefCreateFromCString(v)));
}

int onnx_xattr_copy(onnx_node *n, const char *const *skip, MlirNamedAttribute *out, int cap) {
  int k = 0;
  for (intptr_t i = 0; i < mlirOperationGetNumAttributes(n->op); i++) {
    MlirNamedAttribute a = mlirOperationGetAttribute(n->op, i);
    MlirStringRef name = mlirIdentifierStr(a.name);
    bool skipped = false;
    for (int s = 0; skip && skip[s] && !skipped; s++)
      skipped = strlen(skip[s]) == name.length && !memcmp(skip[s], name.data, name.length);
    if (!skipped && k < cap) out[k++] = a;
  }
  return k;
}

bool onnx_need_inputs(onnx_node *n, const char *signature) {
  const int most = (int)strlen(signature);
  if (n->n_in > most) return onnx_fail(n, "takes at most %d inputs (%d given)", most, n->n_in), false;
  for (int i = 0; i < most; i++)
    if (signature[i] == 'x' && !onnx_has_in(n, i)) return onnx_fail(n, "required input %d is missing", i), false;
  return true;
}

MlirValue onnx_raw_in(onnx_node *n, int i) {
  MlirValue none = {NULL};
  return i >= 0 && i < n->n_in ? mlirOperationGetOperand(n->op, i) : none;
}

/* An absent optional input in the middle of an operand list. */
static MlirValue absent(onnx_node *n) {
  MlirOperationState st = mlirOperationStateGet(mlirStringRefCreateFromCString("onnx.NoValue"), n->loc);
  MlirType none = mlirNoneTypeGet(n->ctx);
  mlirOperationStateAddResults(&st, 1, &none);
  return onnx_emit(n, mlirOperationCreate(&st));
}

int onnx_expand(onnx_node *n, const char *type, int opset, int n_in, const MlirValue *in, const MlirNamedAttribute *attrs,
                int n_attrs, int n_out, MlirValue *out) {
  char name[96];
  snprintf(name, sizeof name, "onnx.%s", type);
  while (n_in > 0 && mlirValueIsNull(in[n_in - 1])) n_in--; /* trailing absent inputs are left out */
  MlirValue operands[16];
  MlirType types[8];
  MlirNamedAttribute all[24];
  if (n_in > 16 || n_out > 8 || n_attrs > 22) return onnx_fail(n, "expansion into %s is too large", type);
  for (int i = 0; i < n_in; i++) operands[i] = mlirValueIsNull(in[i]) ? absent(n) : in[i];
  for (int i = 0; i < n_out; i++) types[i] = mlirNoneTypeGet(n->ctx);
  if (n_attrs) memcpy(all, attrs, sizeof *attrs * (size_t)n_attrs);
  all[n_attrs] = onnx_xattr_int(n, "qcc.opset", opset);
  all[n_attrs + 1] = onnx_xattr_str(n, "qcc.from", n->type); /* for error messages */
  MlirOperationState st = mlirOperationStateGet(mlirStringRefCreateFromCString(name), n->loc);
  mlirOperationStateAddOperands(&st, n_in, operands);
  mlirOperationStateAddResults(&st, n_out, types);
  mlirOperationStateAddAttributes(&st, n_attrs + 2, all);
  MlirOperation op = mlirOperationCreate(&st);
  onnx_emit(n, op);
  if (mlirOperationIsNull(n->first_expanded)) n->first_expanded = op;
  for (int i = 0; i < n_out; i++) out[i] = mlirOperationGetResult(op, i);
  return 0;
}

MlirValue onnx_expand1(onnx_node *n, const char *type, int opset, int n_in, const MlirValue *in,
                       const MlirNamedAttribute *attrs, int n_attrs) {
  MlirValue out = {NULL};
  onnx_expand(n, type, opset, n_in, in, attrs, n_attrs, 1, &out);
  return out;
}

MlirValue onnx_expand2(onnx_node *n, const char *type, MlirValue a, MlirValue b) {
  MlirValue ab[2] = {a, b};
  return onnx_expand1(n, type, 13, 2, ab, NULL, 0);
}

/* Constants and shape ops of expansions, at opset 13. */
MlirValue onnx_xints(onnx_node *n, const int64_t *v, int k) {
  qcc_array a = {QRT_I64, 1, {k}, (void *)v, sizeof(int64_t) * (size_t)k};
  return onnx_constant(n, &a);
}

MlirValue onnx_xreshape(onnx_node *n, MlirValue x, const int64_t *dims, int rank) {
  MlirValue v[2] = {x, onnx_xints(n, dims, rank)};
  return onnx_expand1(n, "Reshape", 13, 2, v, NULL, 0);
}

MlirValue onnx_xslice(onnx_node *n, MlirValue x, int64_t axis, int64_t from, int64_t to) {
  MlirValue v[4] = {x, onnx_xints(n, &from, 1), onnx_xints(n, &to, 1), onnx_xints(n, &axis, 1)};
  return onnx_expand1(n, "Slice", 13, 4, v, NULL, 0);
}

MlirValue onnx_xkey_bias(onnx_node *n, MlirValue keep, double masked) {
  MlirValue v[3] = {keep, onnx_scalar(n, QRT_F32, 0.0), onnx_scalar(n, QRT_F32, masked)};
  return onnx_expand1(n, "Where", 13, 3, v, NULL, 0);
}

MlirValue onnx_xarange(onnx_node *n, qrt_dtype dtype, int64_t len, int rank, int axis) {
  const size_t size = dtype == QRT_I64 ? sizeof(int64_t) : sizeof(int32_t);
  void *v = malloc(size * (size_t)(len > 0 ? len : 1));
  for (int64_t i = 0; i < len; i++) {
    if (dtype == QRT_I64) ((int64_t *)v)[i] = i;
    else ((int32_t *)v)[i] = (int32_t)i;
  }
  qcc_array a = {dtype, rank, {1, 1, 1, 1}, v, size * (size_t)len};
  a.dims[axis] = len;
  MlirValue c = onnx_constant(n, &a);
  free(v);
  return c;
}
