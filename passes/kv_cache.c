/* kv_cache.c - the kv-cache pass (--kv-bits 8|4): a decoder's KV cache kept
 * in int8 or int4 rows instead of float.
 *
 * A cache is what a step model exported with a static-size KV cache looks
 * like (examples/char_lm/export_kv.py, and the Hugging Face static caches):
 *
 *   graph input past (float [..., D])  --data-->  ScatterElements / ScatterND
 *   (reduction none; the new tokens' keys or values)  -->  graph output
 *
 * where the input has no other use (the scatter's result may have any
 * number of readers: attention).  The pass changes the input and the
 * output to packed rows (ui8 [..., qrt_kv_row_bytes(bits, D)]: a float
 * scale (int4: and minimum) per row of D, then the codes; runtime/qrt.h
 * QRT_KV_PARAMS), the
 * scatter to q.kv_store (it encodes the rows it writes) and gives every
 * other reader the decoded float tensor through one q.kv_load.  A row is
 * one head's vector of one token, so each step encodes its new rows only
 * and old rows keep their bytes: the error does not grow with the steps.
 * The caller's buffers shrink 3.6x (int8, D = 32) or 5.3x (int4), and the
 * store stays in place (io_alias.c proves it as for the float scatter).
 *
 * It runs last (after quantize), so calibration and the quantized layers
 * see the float model; the readers of the cache get values that differ from
 * the float cache's by the rounding of the codes.  An input that reaches a
 * scatter's data but is not a cache by these rules is left float, with the
 * reason under -v; --kv-bits on a model with no cache at all is an error. */
#include "kv_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "qrt.h"

int qcc_kv_bits;

const char qcc_kv_flags_help[] =
    "  --kv-bits 8|4          store the KV cache (graph inputs updated by a ScatterElements/ScatterND and\n"
    "                         returned) as int8 or int4 rows with a float scale per row (docs/generated-c.md)\n";

int qcc_kv_parse_flag(int argc, char **argv, int *i) {
  bool missing = false;
  const char *v = qcc_flag_value(argc, argv, i, "--kv-bits", &missing);
  if (missing) return qcc_error("flag '%s' needs a value", argv[*i]), -1;
  if (!v) return 0;
  if (strcmp(v, "8") && strcmp(v, "4")) return qcc_error("--kv-bits: expected 8 or 4, got '%s'", v), -1;
  qcc_kv_bits = atoi(v);
  return 1;
}

static bool is_scatter(MlirOperation op) { return q_scatter_elements_is(op) || q_scatter_nd_is(op); }

/* The function's return, when it returns v (at any position). */
static bool returned(MlirValue v) {
  for (MlirOpOperand u = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u))
    if (q_op_named(mlirOpOperandGetOwner(u), "func.return")) return true;
  return false;
}

/* The scatter that makes arg a cache, or a null op with *why set. */
static MlirOperation cache_scatter(MlirValue arg, const char **why) {
  MlirOperation none = {NULL};
  qcc_shape s;
  MlirOpOperand u = mlirValueGetFirstUse(arg);
  *why = NULL;
  if (mlirOpOperandIsNull(u)) return none;
  MlirOperation op = mlirOpOperandGetOwner(u);
  bool reaches = false;
  for (MlirOpOperand w = u; !mlirOpOperandIsNull(w); w = mlirOpOperandGetNextUse(w))
    reaches |= is_scatter(mlirOpOperandGetOwner(w)) && mlirOpOperandGetOperandNumber(w) == 0;
  if (!reaches) return none; /* not cache-like at all: no remark */
  if (!mlirOpOperandIsNull(mlirOpOperandGetNextUse(u)) || mlirOpOperandGetOperandNumber(u) != 0 || !is_scatter(op))
    return *why = "it has uses besides the scatter's data", none;
  const char *red = q_scatter_elements_is(op) ? q_scatter_elements_get(op).reduction.s : q_scatter_nd_get(op).reduction.s;
  if (strcmp(red, "none")) return *why = "the scatter combines (reduction is not none)", none;
  if (!qcc_shape_of(arg, &s) || s.dtype != QRT_F32 || s.rank < 1 || s.dims[s.rank - 1] < 1)
    return *why = "it is not a float tensor with a last axis", none;
  qcc_shape us;
  if (!qcc_shape_of(mlirOperationGetOperand(op, 2), &us) || us.dtype != QRT_F32)
    return *why = "the updates are not float", none;
  if (!returned(mlirOperationGetResult(op, 0))) return *why = "the scatter's result is not a graph output", none;
  return op;
}

/* Rewrites one cache: arg -> packed rows, scatter -> q.kv_store, readers
 * of the float result -> one q.kv_load. */
static void pack_cache(MlirValue arg, MlirOperation scatter) {
  MlirContext ctx = mlirOperationGetContext(scatter);
  MlirLocation loc = mlirOperationGetLocation(scatter);
  MlirValue result = mlirOperationGetResult(scatter, 0);
  qcc_shape s;
  qcc_shape_of(arg, &s);
  const int64_t row_len = s.dims[s.rank - 1];
  qcc_shape packed = s;
  packed.dtype = QRT_U8;
  packed.dims[s.rank - 1] = qrt_kv_row_bytes((int32_t)qcc_kv_bits, row_len);
  MlirType packed_type = qcc_tensor_type(ctx, &packed);
  mlirValueSetType(arg, packed_type);

  q_kv_store_attrs sa;
  memset(&sa, 0, sizeof sa);
  snprintf(sa.kind.s, sizeof sa.kind.s, "%s", q_scatter_nd_is(scatter) ? "nd" : "elements");
  sa.axis = q_scatter_elements_is(scatter) ? q_scatter_elements_get(scatter).axis : 0;
  sa.bits = qcc_kv_bits;
  sa.row_len = row_len;
  MlirValue store = qcc_insert_before(
      scatter, q_kv_store_create(loc, packed_type, arg, mlirOperationGetOperand(scatter, 1),
                                 mlirOperationGetOperand(scatter, 2), &sa));
  q_kv_load_attrs la = {qcc_kv_bits};
  MlirValue load = {NULL};
  while (!mlirValueIsNull(result)) {
    MlirOpOperand u = mlirValueGetFirstUse(result);
    if (mlirOpOperandIsNull(u)) break;
    MlirOperation user = mlirOpOperandGetOwner(u);
    unsigned at = mlirOpOperandGetOperandNumber(u);
    if (q_op_named(user, "func.return")) {
      mlirOperationSetOperand(user, at, store);
      continue;
    }
    if (mlirValueIsNull(load)) load = qcc_insert_before(scatter, q_kv_load_create(loc, mlirValueGetType(result), store, &la));
    mlirOperationSetOperand(user, at, load);
  }
  mlirOperationDestroy(scatter);
}

int qcc_pass_kv_cache(MlirModule m) {
  if (!qcc_kv_bits) return 0;
  MlirOperation func = qcc_module_func(m);
  if (mlirOperationIsNull(func)) return qcc_error("kv-cache: the module has no func.func"), -1;
  MlirBlock body = qcc_func_body(func);
  MlirAttribute names = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("onnx.input_names"));
  int packed = 0;
  for (intptr_t i = 0; i < mlirBlockGetNumArguments(body); i++) {
    MlirValue arg = mlirBlockGetArgument(body, i);
    const char *why;
    char name[128] = "";
    if (!mlirAttributeIsNull(names) && i < mlirArrayAttrGetNumElements(names)) {
      MlirStringRef r = mlirStringAttrGetValue(mlirArrayAttrGetElement(names, i));
      snprintf(name, sizeof name, "%.*s", (int)r.length, r.data);
    }
    MlirOperation scatter = cache_scatter(arg, &why);
    if (mlirOperationIsNull(scatter)) {
      if (why) qcc_remark("kv-cache: input %ld '%s' stays float: %s", (long)i, name, why);
      continue;
    }
    pack_cache(arg, scatter);
    packed++;
    qcc_remark("kv-cache: input %ld '%s' is a KV cache: int%d rows", (long)i, name, qcc_kv_bits);
  }
  if (!packed)
    return qcc_error("--kv-bits: the model has no KV cache (a float graph input whose only use is the data of a "
                     "ScatterElements or ScatterND without reduction, whose result is a graph output); -v says "
                     "why each candidate was refused"), -1;
  qcc_update_function_type(func);
  return 0;
}
