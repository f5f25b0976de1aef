/* legalize_onnx.c - the legalize-onnx pass: every onnx.* op becomes q ops.
 *
 * Invariant: afterwards the function holds only q ops, func.return and
 * block arguments, and every value has a static ranked tensor type (the
 * function type is updated to match). An op without a rule, or a rule that
 * meets an attribute or input it does not support, stops the pass with one
 * error naming the op type, node name and opset. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_rules.h"
#include "passes.h"

static const onnx_rule *const rule_tables[] = {onnx_rules_nn, onnx_rules_elementwise, onnx_rules_shape,
                                               onnx_rules_reduce, onnx_rules_misc, onnx_rules_index,
                                               onnx_rules_loss, onnx_rules_norm,
                                               onnx_rules_resize, onnx_rules_quant,
                                               onnx_rules_rnn, onnx_rules_einsum, onnx_rules_audio,
                                               onnx_rules_datadep, onnx_rules_attention, onnx_rules_contrib,
                                               onnx_rules_nbits, onnx_rules_contrib_attention,
                                               onnx_rules_contrib_gqa};

static onnx_rule_fn find_rule(const char *type) {
  for (size_t t = 0; t < sizeof rule_tables / sizeof *rule_tables; t++)
    for (const onnx_rule *r = rule_tables[t]; r->type; r++)
      if (!strcmp(r->type, type)) return r->fn;
  return NULL;
}

int onnx_fail(onnx_node *n, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  qcc_error("%s: %s", n->where, msg);
  n->failed = true;
  return -1;
}

static bool is_no_value(MlirValue v) {
  return mlirValueIsAOpResult(v) && q_op_named(mlirOpResultGetOwner(v), "onnx.NoValue");
}

MlirValue onnx_in(onnx_node *n, int i) {
  MlirValue none = {NULL};
  if (i < 0 || i >= n->n_in) return none;
  MlirValue v = mlirOperationGetOperand(n->op, i);
  return is_no_value(v) ? none : v;
}

bool onnx_has_in(onnx_node *n, int i) { return !mlirValueIsNull(onnx_in(n, i)); }

bool onnx_in_shape(onnx_node *n, int i, qcc_shape *s) {
  MlirValue v = onnx_in(n, i);
  if (mlirValueIsNull(v)) {
    onnx_fail(n, "required input %d is missing", i);
    return false;
  }
  if (!qcc_shape_of(v, s)) {
    onnx_fail(n, "input %d has no static tensor type", i);
    return false;
  }
  return true;
}

bool onnx_out_used(onnx_node *n, int i) {
  if (i >= n->n_out) return false;
  return !mlirOpOperandIsNull(mlirValueGetFirstUse(mlirOperationGetResult(n->op, i)));
}

bool onnx_declared_shape(onnx_node *n, int i, qcc_shape *s) {
  return i < n->n_out && qcc_shape_of(mlirOperationGetResult(n->op, i), s);
}

static MlirAttribute attr(onnx_node *n, const char *name) {
  return mlirOperationGetAttributeByName(n->op, mlirStringRefCreateFromCString(name));
}

bool onnx_has_attr(onnx_node *n, const char *name) { return !mlirAttributeIsNull(attr(n, name)); }

/* Absent: false. Present but not of the expected kind: false with an
 * error on the node (see onnx_rules.h). */
static bool attr_of_kind(onnx_node *n, const char *name, MlirAttribute a, bool (*is_kind)(MlirAttribute),
                         const char *kind) {
  if (mlirAttributeIsNull(a)) return false;
  bool ok = is_kind(a);
  if (!ok) onnx_fail(n, "attribute '%s' must be %s", name, kind);
  return ok;
}

int64_t onnx_attr_int(onnx_node *n, const char *name, int64_t dflt) {
  MlirAttribute a = attr(n, name);
  return attr_of_kind(n, name, a, mlirAttributeIsAInteger, "an int") ? mlirIntegerAttrGetValueInt(a) : dflt;
}

double onnx_attr_float(onnx_node *n, const char *name, double dflt) {
  MlirAttribute a = attr(n, name);
  /* an int where ONNX says float is harmless (exporters write alpha=1) */
  if (!mlirAttributeIsNull(a) && mlirAttributeIsAInteger(a)) return (double)mlirIntegerAttrGetValueInt(a);
  return attr_of_kind(n, name, a, mlirAttributeIsAFloat, "a float") ? mlirFloatAttrGetValueDouble(a) : dflt;
}

const char *onnx_attr_str(onnx_node *n, const char *name, const char *dflt, char *buf, size_t cap) {
  MlirAttribute a = attr(n, name);
  if (!attr_of_kind(n, name, a, mlirAttributeIsAString, "a string")) {
    snprintf(buf, cap, "%s", dflt);
  } else {
    MlirStringRef s = mlirStringAttrGetValue(a);
    snprintf(buf, cap, "%.*s", (int)s.length, s.data);
  }
  return buf;
}

bool onnx_attr_ints(onnx_node *n, const char *name, q_i64s *out) {
  memset(out, 0, sizeof *out);
  MlirAttribute a = attr(n, name);
  if (!attr_of_kind(n, name, a, mlirAttributeIsADenseI64Array, "a list of ints")) return false;
  intptr_t k = mlirDenseArrayGetNumElements(a);
  if (k > 16) {
    onnx_fail(n, "attribute '%s' has %ld entries; at most 16 are supported", name, (long)k);
    return false;
  }
  out->n = (int)k;
  for (intptr_t i = 0; i < k; i++) out->v[i] = mlirDenseI64ArrayGetElement(a, i);
  return true;
}

/* A value is made constant by folding its producer, recursively, when all
 * of that producer's operands can be made constant. */
static bool make_constant(MlirValue v, int depth) {
  if (qcc_value_is_constant(v)) return true;
  if (depth > 64 || !mlirValueIsAOpResult(v)) return false;
  MlirOperation def = mlirOpResultGetOwner(v);
  intptr_t k = mlirOperationGetNumOperands(def);
  for (intptr_t i = 0; i < k; i++)
    if (!make_constant(mlirOperationGetOperand(def, i), depth + 1)) return false;
  return !mlirValueIsNull(qcc_fold_op(def));
}

bool onnx_const_input(onnx_node *n, int i, qcc_array *out) {
  MlirValue v = onnx_in(n, i);
  if (mlirValueIsNull(v) || !make_constant(v, 0)) return false;
  return qcc_value_constant(onnx_in(n, i), out);
}

bool onnx_const_ints(onnx_node *n, int i, q_i64s *out, const char *what) {
  memset(out, 0, sizeof *out);
  qcc_array a;
  if (!onnx_const_input(n, i, &a)) {
    onnx_fail(n, "input %d (%s) must be a compile-time constant", i, what);
    return false;
  }
  int64_t k = qcc_array_numel(&a);
  bool ok = (a.dtype == QRT_I64 || a.dtype == QRT_I32) && k <= 16;
  if (ok) {
    out->n = (int)k;
    for (int64_t j = 0; j < k; j++)
      out->v[j] = a.dtype == QRT_I64 ? ((int64_t *)a.data)[j] : ((int32_t *)a.data)[j];
  } else {
    onnx_fail(n, "input %d (%s) must be int32/int64 with at most 16 values", i, what);
  }
  qcc_array_free(&a);
  return ok;
}

int onnx_shape_input(onnx_node *n, int i, q_i64s *out, const char *what, int out_i, qcc_shape *declared) {
  qcc_array a;
  if (onnx_const_input(n, i, &a)) {
    qcc_array_free(&a);
    if (!onnx_const_ints(n, i, out, what)) return -1;
    /* Sizes, axes and counts: a value no tensor can have would only
     * overflow the shape arithmetic of the rule that reads it. */
    int64_t product = 1;
    for (int j = 0; j < out->n; j++) {
      int64_t v = out->v[j] < 0 ? -out->v[j] : out->v[j];
      if (out->v[j] < -QCC_MAX_TENSOR_ELEMENTS || __builtin_mul_overflow(product, v ? v : 1, &product) ||
          product > QCC_MAX_TENSOR_ELEMENTS)
        return onnx_fail(n, "input %d (%s) asks for more than 2^40 elements", i, what);
    }
    return 1;
  }
  memset(out, 0, sizeof *out);
  if (onnx_declared_shape(n, out_i, declared)) return 0;
  onnx_fail(n, "input %d (%s) must be a compile-time constant, or the output shape must be declared", i, what);
  return -1;
}

MlirValue onnx_emit(onnx_node *n, MlirOperation op) { return qcc_insert_before(n->op, op); }

MlirType onnx_type(onnx_node *n, const qcc_shape *s) { return qcc_tensor_type(n->ctx, s); }

MlirValue onnx_constant(onnx_node *n, const qcc_array *arr) { return qcc_make_constant(n->op, n->loc, arr); }

MlirValue onnx_reshape(onnx_node *n, MlirValue x, const qcc_shape *to) {
  qcc_shape from;
  if (qcc_shape_of(x, &from) && from.dtype == to->dtype && from.rank == to->rank &&
      !memcmp(from.dims, to->dims, sizeof(int64_t) * (size_t)to->rank))
    return x; /* already that shape: no copy */
  return onnx_emit(n, q_reshape_create(n->loc, onnx_type(n, to), x));
}

MlirValue onnx_unary(onnx_node *n, const char *kind, MlirValue x, const qcc_shape *y, double alpha, double beta) {
  q_unary_attrs a;
  memset(&a, 0, sizeof a);
  snprintf(a.kind.s, sizeof a.kind.s, "%s", kind);
  a.alpha = alpha;
  a.beta = beta;
  return onnx_emit(n, q_unary_create(n->loc, onnx_type(n, y), x, &a));
}

MlirValue onnx_binary(onnx_node *n, const char *kind, MlirValue a, MlirValue b, const qcc_shape *y) {
  q_binary_attrs at;
  memset(&at, 0, sizeof at);
  snprintf(at.kind.s, sizeof at.kind.s, "%s", kind);
  return onnx_emit(n, q_binary_create(n->loc, onnx_type(n, y), a, b, &at));
}

MlirValue onnx_where(onnx_node *n, MlirValue c, MlirValue a, MlirValue b, const qcc_shape *y) {
  return onnx_emit(n, q_where_create(n->loc, onnx_type(n, y), c, a, b));
}

MlirValue onnx_reduce(onnx_node *n, const char *kind, MlirValue x, const q_i64s *axes, const qcc_shape *y) {
  q_reduce_attrs a;
  memset(&a, 0, sizeof a);
  snprintf(a.kind.s, sizeof a.kind.s, "%s", kind);
  a.axes = *axes;
  return onnx_emit(n, q_reduce_create(n->loc, onnx_type(n, y), x, &a));
}

MlirValue onnx_scalar(onnx_node *n, qrt_dtype t, double v) {
  union {
    float f;
    double d;
    int8_t i8;
    uint8_t u8;
    int16_t i16;
    uint16_t u16;
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
  } u;
  memset(&u, 0, sizeof u);
  switch (t) {
  case QRT_F32: u.f = (float)v; break;
  case QRT_F64: u.d = v; break;
  case QRT_I8: u.i8 = (int8_t)v; break;
  case QRT_U8: u.u8 = (uint8_t)v; break;
  case QRT_BOOL: u.u8 = v != 0; break;
  case QRT_I16: u.i16 = (int16_t)v; break;
  case QRT_U16: u.u16 = (uint16_t)v; break;
  case QRT_I32: u.i32 = (int32_t)v; break;
  case QRT_U32: u.u32 = (uint32_t)v; break;
  case QRT_I64: u.i64 = (int64_t)v; break;
  case QRT_U64: u.u64 = (uint64_t)v; break;
  default: break;
  }
  qcc_array a = {t, 0, {0}, &u, qcc_dtype_size(t)};
  return onnx_constant(n, &a);
}

bool onnx_broadcast_shape(onnx_node *n, const qcc_shape *a, const qcc_shape *b, qcc_shape *out) {
  int r = a->rank > b->rank ? a->rank : b->rank;
  out->rank = r;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - a->rank), ib = i - (r - b->rank);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      char sa[128], sb[128];
      onnx_fail(n, "shapes %s and %s do not broadcast", qcc_shape_str(a, sa, sizeof sa),
                qcc_shape_str(b, sb, sizeof sb));
      return false;
    }
    out->dims[i] = da == 1 ? db : da;
  }
  return true;
}

bool onnx_axis(onnx_node *n, int64_t axis, int rank, int64_t *out) {
  if (axis < -rank || axis >= (rank ? rank : 1)) {
    onnx_fail(n, "axis %lld is out of range for rank %d", (long long)axis, rank);
    return false;
  }
  *out = axis < 0 ? axis + rank : axis;
  return true;
}

static int module_opset(MlirOperation func) {
  MlirAttribute a = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("onnx.opset"));
  return !mlirAttributeIsNull(a) && mlirAttributeIsAInteger(a) ? (int)mlirIntegerAttrGetValueInt(a) : 17;
}

MlirOperation onnx_region_yield(MlirOperation op, int r) {
  MlirOperation o = mlirBlockGetFirstOperation(mlirRegionGetFirstBlock(mlirOperationGetRegion(op, r)));
  while (!q_op_named(o, "onnx.Yield")) o = mlirOperationGetNextInBlock(o);
  return o;
}

/* bfloat16 values are stored as their bits (uint16_t) and qcc has no
 * bfloat16 arithmetic: they may only be cast, or moved by ops that copy
 * elements without reading them.  Any other op on one is refused, so a
 * bfloat16 tensor can never be computed on as uint16. */
static bool moves_bf16(const char *type) {
  static const char *const ops[] = {"Cast", "CastLike", "Constant", "Identity", "Reshape", "Flatten", "Squeeze",
                                    "Unsqueeze", "Transpose", "Concat", "Gather", "Shape", "Size", NULL};
  for (int i = 0; ops[i]; i++)
    if (!strcmp(ops[i], type)) return true;
  return false;
}

static bool has_bf16(MlirValue v) {
  qcc_shape s;
  return !mlirValueIsNull(v) && qcc_shape_of(v, &s) && s.dtype == QRT_BF16;
}

static int refuse_bf16(onnx_node *n) {
  return onnx_fail(n, "bfloat16 tensors are supported by Cast, CastLike and element moves (Identity, Reshape, "
                      "Flatten, Squeeze, Unsqueeze, Transpose, Concat, Gather, Shape, Size) only; cast to float first");
}

/* *next: the op to legalize after this one (If moves its branches there,
 * Loop and Scan their unrolled bodies). */
static int legalize_op(MlirOperation op, int opset, MlirOperation *next) {
  MlirStringRef name = mlirIdentifierStr(mlirOperationGetName(op));
  onnx_node n;
  memset(&n, 0, sizeof n);
  char type[128];
  snprintf(type, sizeof type, "%.*s", (int)name.length - 5, name.data + 5);
  /* an op a rule expanded into is read at the opset its expansion names */
  MlirAttribute own_opset = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("qcc.opset"));
  if (!mlirAttributeIsNull(own_opset) && mlirAttributeIsAInteger(own_opset))
    opset = (int)mlirIntegerAttrGetValueInt(own_opset);
  n.op = op;
  n.ctx = mlirOperationGetContext(op);
  n.loc = mlirOperationGetLocation(op);
  n.type = type;
  n.opset = opset;
  n.n_in = (int)mlirOperationGetNumOperands(op);
  n.n_out = (int)mlirOperationGetNumResults(op);
  char where[256];
  MlirAttribute from = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("qcc.from"));
  if (!mlirAttributeIsNull(from) && mlirAttributeIsAString(from)) {
    MlirStringRef f = mlirStringAttrGetValue(from);
    snprintf(n.where, sizeof n.where, "%s (opset %d, in the expansion of %.*s)", qcc_op_where(op, where, sizeof where),
             opset, (int)f.length, f.data);
  } else {
    snprintf(n.where, sizeof n.where, "%s (opset %d)", qcc_op_where(op, where, sizeof where), opset);
  }
  if (!strcmp(type, "If")) return onnx_legalize_if(&n, next);
  if (!strcmp(type, "Loop")) return onnx_legalize_loop(&n, next);
  if (!strcmp(type, "Scan")) return onnx_legalize_scan(&n, next);
  onnx_rule_fn fn = find_rule(type);
  if (!fn) return onnx_fail(&n, "unsupported op '%s'", type);
  MlirValue results[16];
  if (n.n_out > 16) return onnx_fail(&n, "too many outputs");
  bool bf16_ok = moves_bf16(type);
  for (int i = 0; i < n.n_in && !bf16_ok; i++)
    if (has_bf16(onnx_in(&n, i))) return refuse_bf16(&n);
  memset(results, 0, sizeof results);
  if (fn(&n, results) || n.failed) return -1;
  for (int i = 0; i < n.n_out && !bf16_ok; i++)
    if (has_bf16(results[i])) return refuse_bf16(&n);
  for (int i = 0; i < n.n_out; i++) {
    qcc_shape rs;
    if (!mlirValueIsNull(results[i]) && qcc_shape_of(results[i], &rs) &&
        qcc_shape_numel(&rs) > QCC_MAX_TENSOR_ELEMENTS)
      return onnx_fail(&n, "output %d would have more than 2^40 elements", i);
  }
  for (int i = 0; i < n.n_out; i++) {
    MlirValue old = mlirOperationGetResult(op, i);
    if (mlirValueIsNull(results[i])) {
      if (!mlirOpOperandIsNull(mlirValueGetFirstUse(old)))
        return onnx_fail(&n, "output %d is used but qcc does not compute it", i);
      continue;
    }
    mlirValueReplaceAllUsesOfWith(old, results[i]);
  }
  mlirOperationDestroy(op);
  if (!mlirOperationIsNull(n.first_expanded)) *next = n.first_expanded; /* legalize the expansion next */
  return 0;
}

int onnx_legalize_block(MlirBlock body, int opset) {
  MlirOperation op = mlirBlockGetFirstOperation(body);
  while (!mlirOperationIsNull(op)) {
    MlirOperation next = mlirOperationGetNextInBlock(op);
    MlirStringRef name = mlirIdentifierStr(mlirOperationGetName(op));
    bool is_onnx = name.length > 5 && !memcmp(name.data, "onnx.", 5);
    if (is_onnx && !q_op_named(op, "onnx.NoValue") && !q_op_named(op, "onnx.Yield") &&
        legalize_op(op, opset, &next))
      return -1;
    op = next;
  }
  /* onnx.NoValue placeholders are unused now. */
  for (op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);) {
    MlirOperation next = mlirOperationGetNextInBlock(op);
    if (q_op_named(op, "onnx.NoValue")) mlirOperationDestroy(op);
    op = next;
  }
  return 0;
}

void qcc_update_function_type(MlirOperation func) {
  MlirBlock body = qcc_func_body(func);
  MlirOperation ret = mlirBlockGetTerminator(body);
  intptr_t n_args = mlirBlockGetNumArguments(body), n_res = mlirOperationGetNumOperands(ret);
  MlirType *ins = malloc(sizeof(MlirType) * (size_t)(n_args + 1));
  MlirType *outs = malloc(sizeof(MlirType) * (size_t)(n_res + 1));
  for (intptr_t i = 0; i < n_args; i++) ins[i] = mlirValueGetType(mlirBlockGetArgument(body, i));
  for (intptr_t i = 0; i < n_res; i++) outs[i] = mlirValueGetType(mlirOperationGetOperand(ret, i));
  MlirType ft = mlirFunctionTypeGet(mlirOperationGetContext(func), n_args, ins, n_res, outs);
  mlirOperationSetAttributeByName(func, mlirStringRefCreateFromCString("function_type"), mlirTypeAttrGet(ft));
  free(ins);
  free(outs);
}

int qcc_pass_legalize_onnx(MlirModule m) {
  MlirOperation func = qcc_module_func(m);
  if (mlirOperationIsNull(func)) {
    qcc_error("legalize-onnx: the module has no func.func");
    return -1;
  }
  MlirBlock body = qcc_func_body(func);
  onnx_fuse_qdq(body);
  if (onnx_legalize_block(body, module_opset(func))) return -1;
  MlirOperation ret = mlirBlockGetTerminator(body);
  for (intptr_t i = 0; i < mlirOperationGetNumOperands(ret); i++) {
    MlirValue v = mlirOperationGetOperand(ret, i);
    if (mlirValueIsABlockArgument(v)) {
      /* A graph output that is a graph input: give it its own buffer. */
      qcc_shape s;
      qcc_shape_of(v, &s);
      MlirValue copy = qcc_insert_before(ret, q_reshape_create(mlirOperationGetLocation(ret),
                                                               mlirValueGetType(v), v));
      mlirOperationSetOperand(ret, i, copy);
    }
  }
  qcc_update_function_type(func);
  return 0;
}
