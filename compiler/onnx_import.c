/* onnx_import.c - ONNX ModelProto -> MLIR module of generic onnx.* ops.
 *
 * One func.func per model: graph inputs that are neither initializers nor
 * bound (--bind) become arguments, initializers and bound inputs become
 * q.constant, each node becomes one generic "onnx.<OpType>" op with its
 * attributes as MLIR attributes and NameLoc(node name) as location.
 * Absent optional inputs ("") are onnx.NoValue results; an If node holds
 * its branches as regions, Loop and Scan their bodies (onnx_import_control.c). Result types are
 * taken from the model's value_info where static and left as `none`
 * otherwise: legalize-onnx infers every shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_import.h"

/* The default-domain opsets qcc's legalization rules are written for. Of
 * what opsets 19 and 20 changed, the rules read DFT's axis input and
 * GridSample's N-D mode names (both 20), AveragePool's dilations (19);
 * Pad's 'wrap' mode, Resize's 'half_pixel_symmetric', new ops (DeformConv,
 * AffineGrid, string ops) and new element types (float8, bfloat16) are
 * refused by name. 21 changed GroupNormalization's scale and bias (read:
 * per channel from 21) and added Q/DQ's block_size (refused) and
 * output_dtype (read); 22 widened type lists only; 23 added Attention,
 * RMSNormalization and RotaryEmbedding (onnx_rules_attention.c,
 * onnx_rules_nn.c) and QuantizeLinear's precision; int4, uint4 and
 * float4 tensors (21, 23) are refused as element types. 24 gave
 * Attention nonpad_kv_seqlen (read) and added Swish (read) and
 * TensorScatter (no rule: refused by name); 25 gave Attention its
 * left / right windows (read); float8e8m0, int2 and uint2 (24, 25) are
 * refused as element types. 26 (BitCast, CumProd) is not accepted. */
enum { QCC_MIN_OPSET = 1, QCC_MAX_OPSET = 25 };


MlirLocation onnx_import_loc(importer *im, const char *name) {
  MlirLocation file = mlirLocationFileLineColGet(im->ctx, mlirStringRefCreateFromCString(im->path), 0, 0);
  if (!name || !*name) return file;
  return mlirLocationNameGet(im->ctx, mlirStringRefCreateFromCString(name), file);
}

MlirValue onnx_import_lookup(importer *im, const char *name) {
  const void *p = NULL;
  MlirValue v = {NULL};
  if (qcc_name_map_get(&im->values, name, &p)) v.ptr = p;
  return v;
}

void onnx_import_define(importer *im, const char *name, MlirValue v) { qcc_name_map_put(&im->values, name, v.ptr); }

/* Static tensor type of a ValueInfo; symbolic dims are taken from --shape
 * overrides. Returns false (with *why) if it cannot be made static. */
static bool static_type(importer *im, const Onnx__ValueInfoProto *vi, const qcc_input_shape *ov, MlirType *out,
                        char *why, size_t cap) {
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
    snprintf(why, cap, "is not a tensor (sequence, map and optional types are not supported)");
    return false;
  }
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  qcc_shape s = {(qrt_dtype)tt->elem_type, 0, {0}};
  if (qcc_dtype_size(s.dtype) == 0) {
    snprintf(why, cap, "has unsupported element type %d", (int)tt->elem_type);
    return false;
  }
  if (ov) {
    s.rank = ov->rank;
    memcpy(s.dims, ov->dims, sizeof s.dims);
    if (tt->shape && (int)tt->shape->n_dim != ov->rank) {
      snprintf(why, cap, "has rank %zu but --shape gives rank %d", tt->shape->n_dim, ov->rank);
      return false;
    }
    if (qcc_shape_numel(&s) > QCC_MAX_TENSOR_ELEMENTS) {
      snprintf(why, cap, "would have more than 2^40 elements with the --shape given");
      return false;
    }
    *out = qcc_tensor_type(im->ctx, &s);
    return true;
  }
  if (!tt->shape) {
    snprintf(why, cap, "has no shape; give one with --shape %s=DIMS", vi->name);
    return false;
  }
  if (tt->shape->n_dim > QRT_MAX_RANK) {
    snprintf(why, cap, "has rank %zu; at most %d is supported", tt->shape->n_dim, QRT_MAX_RANK);
    return false;
  }
  s.rank = (int)tt->shape->n_dim;
  for (int i = 0; i < s.rank; i++) {
    const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
    if (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || d->dim_value < 0) {
      snprintf(why, cap, "has symbolic dim %d ('%s'); fix it with --shape %s=DIMS", i,
               d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM ? d->dim_param : "?",
               vi->name);
      return false;
    }
    s.dims[i] = d->dim_value;
  }
  if (qcc_shape_numel(&s) > QCC_MAX_TENSOR_ELEMENTS) {
    snprintf(why, cap, "has more than 2^40 elements");
    return false;
  }
  *out = qcc_tensor_type(im->ctx, &s);
  return true;
}

MlirNamedAttribute onnx_import_named(importer *im, const char *name, MlirAttribute a) {
  return mlirNamedAttributeGet(mlirIdentifierGet(im->ctx, mlirStringRefCreateFromCString(name)), a);
}

static MlirAttribute string_attr(importer *im, ProtobufCBinaryData s) {
  MlirStringRef r = {(const char *)s.data, s.len};
  return mlirStringAttrGet(im->ctx, r);
}

/* ONNX attribute -> MLIR attribute; false (with an error) for graphs etc. */
bool onnx_import_attr(importer *im, const Onnx__NodeProto *node, const Onnx__AttributeProto *a,
                         MlirAttribute *out) {
  char err[512];
  switch (a->type) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
    *out = mlirFloatAttrDoubleGet(im->ctx, mlirF32TypeGet(im->ctx), a->f);
    return true;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
    *out = mlirIntegerAttrGet(mlirIntegerTypeGet(im->ctx, 64), a->i);
    return true;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
    *out = string_attr(im, a->s);
    return true;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
    *out = mlirDenseI64ArrayGet(im->ctx, (intptr_t)a->n_ints, a->ints);
    return true;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
    *out = mlirDenseF32ArrayGet(im->ctx, (intptr_t)a->n_floats, a->floats);
    return true;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: {
    MlirAttribute *items = malloc(sizeof *items * (a->n_strings + 1));
    for (size_t i = 0; i < a->n_strings; i++) items[i] = string_attr(im, a->strings[i]);
    *out = mlirArrayAttrGet(im->ctx, (intptr_t)a->n_strings, items);
    free(items);
    return true;
  }
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
    qcc_array arr;
    if (!a->t || qcc_tensor_from_proto(a->t, im->path, &arr, err, sizeof err)) {
      qcc_error("%s node '%s' (opset %d): attribute '%s': %s", node->op_type, node->name ? node->name : "",
                im->opset, a->name, a->t ? err : "missing tensor");
      return false;
    }
    qcc_shape s = {arr.dtype, arr.rank, {0}};
    memcpy(s.dims, arr.dims, sizeof s.dims);
    *out = qcc_dense_attr(im->ctx, &s, arr.data);
    qcc_array_free(&arr);
    return true;
  }
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH:
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS:
    /* If, Loop and Scan import their subgraphs (onnx_import_control.c);
     * no other op takes one. */
    qcc_error("%s node '%s' (opset %d): subgraph attribute '%s' is not supported (only If, Loop and Scan take "
              "subgraphs)",
              node->op_type, node->name ? node->name : "", im->opset, a->name);
    return false;
  default:
    qcc_error("%s node '%s' (opset %d): attribute '%s' is a %s, which qcc does not support",
              node->op_type, node->name ? node->name : "", im->opset, a->name, "sparse tensor or type");
    return false;
  }
}

static MlirValue no_value(importer *im) {
  if (mlirValueIsNull(im->no_value)) {
    MlirOperationState st = mlirOperationStateGet(mlirStringRefCreateFromCString("onnx.NoValue"),
                                                  onnx_import_loc(im, NULL));
    MlirType none = mlirNoneTypeGet(im->ctx);
    mlirOperationStateAddResults(&st, 1, &none);
    MlirOperation op = mlirOperationCreate(&st);
    mlirBlockAppendOwnedOperation(im->body, op);
    im->no_value = mlirOperationGetResult(op, 0);
  }
  return im->no_value;
}

/* Result type: the static type value_info declares, else none. */
MlirType onnx_import_result_type(importer *im, const char *name) {
  const void *p;
  char why[256];
  MlirType t;
  if (qcc_name_map_get(&im->infos, name, &p) && static_type(im, p, NULL, &t, why, sizeof why)) return t;
  return mlirNoneTypeGet(im->ctx);
}

bool onnx_import_op(importer *im, const Onnx__NodeProto *node, MlirRegion *regions, intptr_t n_regions) {
  const char *nname = node->name ? node->name : "";
  MlirValue *operands = malloc(sizeof *operands * (node->n_input + 1));
  MlirNamedAttribute *attrs = malloc(sizeof *attrs * (node->n_attribute + 1));
  intptr_t n_attrs = 0;
  bool ok = true;
  for (size_t i = 0; i < node->n_input && ok; i++) {
    operands[i] = node->input[i][0] ? onnx_import_lookup(im, node->input[i]) : no_value(im);
    if (mlirValueIsNull(operands[i])) {
      qcc_error("%s node '%s' (opset %d): input '%s' is not defined before the node%s "
                "(graph not in topological order, or a dangling name)",
                node->op_type, nname, im->opset, node->input[i], im->branch);
      ok = false;
    }
  }
  for (size_t i = 0; i < node->n_attribute && ok; i++) {
    const Onnx__AttributeProto *a = node->attribute[i];
    if (n_regions && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH) continue; /* a region already */
    MlirAttribute v;
    ok = onnx_import_attr(im, node, a, &v);
    if (ok) attrs[n_attrs++] = onnx_import_named(im, a->name, v);
  }
  if (ok) {
    MlirType *types = malloc(sizeof *types * (node->n_output + 1));
    for (size_t i = 0; i < node->n_output; i++) types[i] = onnx_import_result_type(im, node->output[i]);
    char opname[160];
    /* ONNX Runtime's contrib ops keep their domain in the name
     * (onnx.com.microsoft.QLinearAdd): legalize-onnx's rules for them
     * (onnx_rules_contrib*.c) are looked up under it, so a contrib op can
     * never take the rule of a default-domain op of the same name. */
    const bool contrib = !strcmp(node->domain, "com.microsoft");
    snprintf(opname, sizeof opname, "onnx.%s%s", contrib ? "com.microsoft." : "", node->op_type);
    MlirOperationState st = mlirOperationStateGet(mlirStringRefCreateFromCString(opname), onnx_import_loc(im, nname));
    mlirOperationStateAddOperands(&st, (intptr_t)node->n_input, operands);
    mlirOperationStateAddResults(&st, (intptr_t)node->n_output, types);
    mlirOperationStateAddAttributes(&st, n_attrs, attrs);
    mlirOperationStateAddOwnedRegions(&st, n_regions, regions);
    MlirOperation op = mlirOperationCreate(&st);
    mlirBlockAppendOwnedOperation(im->body, op);
    for (size_t i = 0; i < node->n_output; i++)
      if (node->output[i][0]) onnx_import_define(im, node->output[i], mlirOperationGetResult(op, (intptr_t)i));
    free(types);
  } else {
    for (intptr_t r = 0; r < n_regions; r++) mlirRegionDestroy(regions[r]);
  }
  free(operands);
  free(attrs);
  return ok;
}

bool onnx_import_node(importer *im, const Onnx__NodeProto *node) {
  const char *nname = node->name ? node->name : "";
  if (node->domain && *node->domain && strcmp(node->domain, "ai.onnx") && strcmp(node->domain, "com.microsoft")) {
    qcc_error("%s node '%s': domain '%s' is not supported (only the default ONNX domain and ONNX Runtime's "
              "com.microsoft)", node->op_type, nname, node->domain);
    return false;
  }
  if (!strcmp(node->op_type, "If")) return onnx_import_if(im, node);
  if (!strcmp(node->op_type, "Loop") || !strcmp(node->op_type, "Scan")) return onnx_import_loop_or_scan(im, node);
  return onnx_import_op(im, node, NULL, 0);
}

static const qcc_input_shape *find_override(const char *name, const qcc_input_shape *shapes, int n) {
  for (int i = 0; i < n; i++)
    if (!strcmp(shapes[i].name, name)) return &shapes[i];
  return NULL;
}

/* ---- absent names --------------------------------------------------------
 * onnx.proto is proto2: a string field the file leaves out is NULL in
 * protobuf-c, where ONNX means "". Every name the importer and the rules
 * read (maps, messages, strcmp) is made "" once here, so no reader has to
 * remember that a name may be missing. */
static char no_name[] = "";
/* fill: NULL -> ""; !fill: back to NULL before free_unpacked frees them. */
static bool filling;
#define FILL_NAME(s) ((s) = filling ? ((s) ? (s) : no_name) : ((s) == no_name ? NULL : (s)))

static void fill_absent_value_info_names(Onnx__ValueInfoProto **vi, size_t n) {
  for (size_t i = 0; i < n; i++) FILL_NAME(vi[i]->name);
}

static void fill_absent_names(Onnx__GraphProto *g, bool fill) {
  filling = fill;
  fill_absent_value_info_names(g->input, g->n_input);
  fill_absent_value_info_names(g->output, g->n_output);
  fill_absent_value_info_names(g->value_info, g->n_value_info);
  for (size_t i = 0; i < g->n_initializer; i++) FILL_NAME(g->initializer[i]->name);
  for (size_t i = 0; i < g->n_node; i++) {
    Onnx__NodeProto *node = g->node[i];
    FILL_NAME(node->name);
    FILL_NAME(node->op_type);
    FILL_NAME(node->domain);
    for (size_t j = 0; j < node->n_attribute; j++) {
      Onnx__AttributeProto *a = node->attribute[j];
      FILL_NAME(a->name);
      if (a->t) FILL_NAME(a->t->name);
      if (a->g) fill_absent_names(a->g, fill); /* If branches, Loop and Scan bodies */
    }
  }
}

static int find_opset(const Onnx__ModelProto *m) {
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = m->opset_import[i];
    if (!o->domain || !*o->domain || !strcmp(o->domain, "ai.onnx")) return (int)o->version;
  }
  return -1;
}

/* ---- --bind: graph inputs frozen to constants ----------------------------
 * qcc fixes every shape ahead of time, so an operand that decides an output
 * shape by its values (Slice starts, Pad pads, ReduceSum axes, Compress
 * condition) must be constant. Binding a graph input to an array makes it
 * one: it is imported like an initializer and is no longer an argument of
 * the generated function. The array must have the input's declared element
 * type and every dim the input declares (symbolic dims take any size). */

/* "int64 [2x?]": dims joined by x; symbolic ones by name, else '?'. */
static void declared_str(const Onnx__TypeProto__Tensor *tt, char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "%s [", qcc_dtype_name((qrt_dtype)tt->elem_type));
  for (size_t i = 0; tt->shape && i < tt->shape->n_dim && n < cap; i++) {
    const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
    const char *x = i ? "x" : "";
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
      n += (size_t)snprintf(buf + n, cap - n, "%s%lld", x, (long long)d->dim_value);
    else
      n += (size_t)snprintf(buf + n, cap - n, "%s%s", x,
                            d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && *d->dim_param
                                ? d->dim_param : "?");
  }
  if (n < cap) snprintf(buf + n, cap - n, "%s", tt->shape ? "]" : "any shape]");
}

static void array_str(const qcc_array *a, char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "%s [", qcc_dtype_name(a->dtype));
  for (int i = 0; i < a->rank && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "x" : "", (long long)a->dims[i]);
  if (n < cap) snprintf(buf + n, cap - n, "]");
}

static bool binding_fits(const Onnx__TypeProto__Tensor *tt, qcc_array *a) {
  if (!qcc_array_expect(a, (qrt_dtype)tt->elem_type)) return false;
  if (!tt->shape) return true;
  if ((int)tt->shape->n_dim != a->rank) return false;
  for (int i = 0; i < a->rank; i++) {
    const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value != a->dims[i])
      return false;
  }
  return true;
}

/* Reads b's array into *out after checking that b names a real input of g
 * whose declared type the array has; false on error (reported). */
static bool read_binding(const Onnx__GraphProto *g, const qcc_name_map *inits, const qcc_import_options *opts,
                         int k, qcc_array *out) {
  const qcc_input_binding *b = &opts->bindings[k];
  const Onnx__ValueInfoProto *vi = NULL;
  const void *p;
  for (size_t j = 0; j < g->n_input && !vi; j++)
    if (!strcmp(g->input[j]->name, b->name)) vi = g->input[j];
  if (!vi) return qcc_error("--bind: the model has no input named '%s'", b->name), false;
  if (qcc_name_map_get(inits, b->name, &p))
    return qcc_error("--bind: input '%s' has an initializer; it is a constant already", b->name), false;
  for (int j = 0; j < k; j++)
    if (!strcmp(opts->bindings[j].name, b->name)) return qcc_error("--bind: input '%s' is bound twice", b->name), false;
  if (find_override(b->name, opts->shapes, opts->n_shapes))
    return qcc_error("--bind: input '%s' also has --shape; a bound input takes the shape of its array", b->name),
           false;
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
    return qcc_error("--bind: input '%s' is not a tensor", b->name), false;
  char err[512];
  if (qcc_npy_read(b->path, out, err, sizeof err)) return qcc_error("--bind: input '%s': %s", b->name, err), false;
  if (binding_fits(tp->tensor_type, out)) return true;
  char want[160], got[160];
  declared_str(tp->tensor_type, want, sizeof want);
  array_str(out, got, sizeof got);
  qcc_error("--bind: input '%s' is declared %s, but %s holds %s", b->name, want, b->path, got);
  qcc_array_free(out);
  return false;
}

static bool is_bound(const qcc_import_options *opts, const char *name) {
  for (int i = 0; i < opts->n_bindings; i++)
    if (!strcmp(opts->bindings[i].name, name)) return true;
  return false;
}

/* Defines name as a q.constant holding arr (initializers, bound inputs). */
void onnx_import_constant(importer *im, const char *name, const qcc_array *arr) {
  qcc_shape s = {arr->dtype, arr->rank, {0}};
  memcpy(s.dims, arr->dims, sizeof s.dims);
  q_constant_attrs a = {qcc_dense_attr(im->ctx, &s, arr->data)};
  MlirOperation op = q_constant_create(onnx_import_loc(im, name), qcc_tensor_type(im->ctx, &s), &a);
  mlirBlockAppendOwnedOperation(im->body, op);
  onnx_import_define(im, name, mlirOperationGetResult(op, 0));
}

/* Builds the func; false on error (reported). */
static bool import_graph(importer *im, const Onnx__GraphProto *g, MlirModule module, const qcc_import_options *opts) {
  const qcc_input_shape *shapes = opts->shapes;
  int n_shapes = opts->n_shapes;
  qcc_name_map inits;
  qcc_name_map_init(&inits);
  for (size_t i = 0; i < g->n_initializer; i++) qcc_name_map_put(&inits, g->initializer[i]->name, g->initializer[i]);
  for (size_t i = 0; i < g->n_value_info; i++) qcc_name_map_put(&im->infos, g->value_info[i]->name, g->value_info[i]);
  for (size_t i = 0; i < g->n_output; i++) qcc_name_map_put(&im->infos, g->output[i]->name, g->output[i]);
  bool ok = true;

  /* Function signature. --shape must name real (non-initializer) inputs. */
  for (int i = 0; i < n_shapes && ok; i++) {
    bool found = false;
    const void *p;
    for (size_t j = 0; j < g->n_input; j++)
      found |= !strcmp(g->input[j]->name, shapes[i].name) && !qcc_name_map_get(&inits, shapes[i].name, &p);
    if (!found) {
      qcc_error("--shape: the model has no input named '%s'", shapes[i].name);
      ok = false;
    }
  }
  qcc_array *bound = calloc((size_t)opts->n_bindings + 1, sizeof *bound);
  for (int i = 0; i < opts->n_bindings && ok; i++) ok = read_binding(g, &inits, opts, i, &bound[i]);
  MlirType arg_types[256];
  const Onnx__ValueInfoProto *args[256];
  int n_args = 0;
  for (size_t i = 0; i < g->n_input && ok; i++) {
    const void *p;
    if (qcc_name_map_get(&inits, g->input[i]->name, &p) || is_bound(opts, g->input[i]->name)) continue;
    char why[256];
    if (n_args == 256) {
      qcc_error("%s: more than 256 graph inputs", im->path);
      ok = false;
      break;
    }
    args[n_args] = g->input[i];
    if (!static_type(im, g->input[i], find_override(g->input[i]->name, shapes, n_shapes), &arg_types[n_args], why,
                     sizeof why)) {
      qcc_error("%s: graph input '%s' %s", im->path, g->input[i]->name, why);
      ok = false;
    }
    n_args++;
  }
  if (!ok) {
    for (int i = 0; i < opts->n_bindings; i++) qcc_array_free(&bound[i]);
    free(bound);
    qcc_name_map_free(&inits);
    return false;
  }
  MlirRegion region = mlirRegionCreate();
  MlirLocation *arg_locs = malloc(sizeof *arg_locs * (size_t)(n_args + 1));
  for (int i = 0; i < n_args; i++) arg_locs[i] = onnx_import_loc(im, args[i]->name);
  im->body = mlirBlockCreate(n_args, arg_types, arg_locs);
  free(arg_locs);
  mlirRegionAppendOwnedBlock(region, im->body);
  for (int i = 0; i < n_args; i++) onnx_import_define(im, args[i]->name, mlirBlockGetArgument(im->body, i));

  /* Initializers (an input with the same name is overridden by it). */
  for (size_t i = 0; i < g->n_initializer && ok; i++) {
    const Onnx__TensorProto *t = g->initializer[i];
    qcc_array arr;
    char err[512];
    if (qcc_tensor_from_proto(t, im->path, &arr, err, sizeof err)) {
      qcc_error("%s: initializer %s", im->path, err);
      ok = false;
      break;
    }
    onnx_import_constant(im, t->name, &arr);
    qcc_array_free(&arr);
  }
  for (int i = 0; i < opts->n_bindings; i++) {
    if (ok) onnx_import_constant(im, opts->bindings[i].name, &bound[i]);
    qcc_array_free(&bound[i]);
  }
  free(bound);
  for (size_t i = 0; i < g->n_node && ok; i++) ok = onnx_import_node(im, g->node[i]);

  /* Return the graph outputs. */
  MlirValue results[256];
  MlirType result_types[256];
  int n_results = 0;
  for (size_t i = 0; i < g->n_output && ok; i++) {
    MlirValue v = onnx_import_lookup(im, g->output[i]->name);
    if (mlirValueIsNull(v) || n_results == 256) {
      qcc_error("%s: graph output '%s' is not produced by any node", im->path, g->output[i]->name);
      ok = false;
      break;
    }
    results[n_results] = v;
    result_types[n_results++] = mlirValueGetType(v);
  }
  if (ok) {
    MlirOperationState rs = mlirOperationStateGet(mlirStringRefCreateFromCString("func.return"), onnx_import_loc(im, NULL));
    mlirOperationStateAddOperands(&rs, n_results, results);
    mlirBlockAppendOwnedOperation(im->body, mlirOperationCreate(&rs));

    char fname[128] = "main";
    MlirType fty = mlirFunctionTypeGet(im->ctx, n_args, arg_types, n_results, result_types);
    MlirNamedAttribute fattrs[3] = {
        onnx_import_named(im, "sym_name", mlirStringAttrGet(im->ctx, mlirStringRefCreateFromCString(fname))),
        onnx_import_named(im, "function_type", mlirTypeAttrGet(fty)),
        onnx_import_named(im, "onnx.opset", mlirIntegerAttrGet(mlirIntegerTypeGet(im->ctx, 64), im->opset)),
    };
    MlirOperationState fs = mlirOperationStateGet(mlirStringRefCreateFromCString("func.func"), onnx_import_loc(im, NULL));
    mlirOperationStateAddAttributes(&fs, 3, fattrs);
    mlirOperationStateAddOwnedRegions(&fs, 1, &region);
    MlirOperation func = mlirOperationCreate(&fs);
    mlirBlockAppendOwnedOperation(mlirModuleGetBody(module), func);
    /* Keep ONNX's names of inputs and outputs for the generated C API. */
    MlirAttribute in_names[256], out_names[256];
    for (int i = 0; i < n_args; i++)
      in_names[i] = mlirStringAttrGet(im->ctx, mlirStringRefCreateFromCString(args[i]->name));
    for (int i = 0; i < n_results; i++)
      out_names[i] = mlirStringAttrGet(im->ctx, mlirStringRefCreateFromCString(g->output[i]->name));
    mlirOperationSetAttributeByName(func, mlirStringRefCreateFromCString("onnx.input_names"),
                                    mlirArrayAttrGet(im->ctx, n_args, in_names));
    mlirOperationSetAttributeByName(func, mlirStringRefCreateFromCString("onnx.output_names"),
                                    mlirArrayAttrGet(im->ctx, n_results, out_names));
  } else {
    mlirRegionDestroy(region);
  }
  qcc_name_map_free(&inits);
  return ok;
}

MlirModule qcc_import_onnx(MlirContext ctx, const char *path, const qcc_import_options *opts) {
  static const qcc_import_options no_opts;
  if (!opts) opts = &no_opts;
  MlirModule none = {NULL};
  char err[512];
  size_t len;
  unsigned char *buf = qcc_read_file(path, &len, err, sizeof err);
  if (!buf) {
    qcc_error("%s", err);
    return none;
  }
  Onnx__ModelProto *m = len ? onnx__model_proto__unpack(NULL, len, buf) : NULL;
  free(buf);
  if (!m || !m->graph) {
    qcc_error("%s: not a valid ONNX model (%s)", path,
              !len ? "empty file" : !m ? "protobuf parse failed: truncated or corrupt" : "no graph");
    if (m) onnx__model_proto__free_unpacked(m, NULL);
    return none;
  }
  fill_absent_names(m->graph, true);
  importer im;
  memset(&im, 0, sizeof im);
  im.ctx = ctx;
  im.path = path;
  im.opset = find_opset(m);
  qcc_name_map_init(&im.values);
  qcc_name_map_init(&im.infos);
  MlirModule module = none;
  if (im.opset < QCC_MIN_OPSET || im.opset > QCC_MAX_OPSET) {
    qcc_error("%s: default-domain opset %d is not supported (qcc supports opsets %d to %d)", path, im.opset,
              QCC_MIN_OPSET, QCC_MAX_OPSET);
  } else {
    module = mlirModuleCreateEmpty(onnx_import_loc(&im, NULL));
    if (!import_graph(&im, m->graph, module, opts)) {
      mlirModuleDestroy(module);
      module = none;
    }
  }
  qcc_name_map_free(&im.values);
  qcc_name_map_free(&im.infos);
  fill_absent_names(m->graph, false);
  onnx__model_proto__free_unpacked(m, NULL);
  return module;
}
