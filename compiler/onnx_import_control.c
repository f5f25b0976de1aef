/* onnx_import_control.c - the control-flow nodes: If, Loop and Scan, each
 * an onnx.* op whose subgraphs become regions.
 *
 * - "onnx.If"(cond): region 0 holds then_branch, region 1 else_branch.
 * - "onnx.Loop"(M, cond, v...) and "onnx.Scan"(operands...): region 0
 *   holds the body; its block has one argument per body graph input (Loop:
 *   iteration number, condition, carried values; Scan: states, then one
 *   slice of each scan input), typed as the body declares them (none when
 *   it does not: legalize-onnx substitutes the actual values).
 *
 * Each subgraph is one block of generic onnx.* ops (its initializers as
 * q.constant, its nodes) ended by "onnx.Yield"(outputs...). Subgraph ops
 * use outer values directly (ONNX subgraphs read the enclosing scopes by
 * name), so the regions are not isolated; what a subgraph defines is
 * visible inside it only: the outer names it shadows are restored after
 * it. legalize-onnx flattens If (passes/legalize_if.c) and unrolls Loop
 * and Scan (passes/legalize_loop.c) into the parent block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_import.h"

/* The values of the names a subgraph defines, to restore on leaving it. */
typedef struct scope {
  size_t n;
  const char **names;
  const void **saved; /* NULL: the name was not defined outside */
} scope;

static void scope_add(importer *im, scope *s, const char *name) {
  if (!name[0]) return;
  s->names[s->n] = name;
  if (!qcc_name_map_get(&im->values, name, &s->saved[s->n])) s->saved[s->n] = NULL;
  s->n++;
}

static void scope_enter(importer *im, const Onnx__GraphProto *g, scope *s) {
  size_t cap = g->n_input + g->n_initializer + 1;
  for (size_t i = 0; i < g->n_node; i++) cap += g->node[i]->n_output;
  s->n = 0;
  s->names = malloc(sizeof *s->names * cap);
  s->saved = malloc(sizeof *s->saved * cap);
  for (size_t i = 0; i < g->n_input; i++) scope_add(im, s, g->input[i]->name);
  for (size_t i = 0; i < g->n_initializer; i++) scope_add(im, s, g->initializer[i]->name);
  for (size_t i = 0; i < g->n_node; i++)
    for (size_t j = 0; j < g->node[i]->n_output; j++) scope_add(im, s, g->node[i]->output[j]);
}

static void scope_leave(importer *im, scope *s) {
  for (size_t i = s->n; i-- > 0;) qcc_name_map_put(&im->values, s->names[i], s->saved[i]);
  free(s->names);
  free(s->saved);
}

static const Onnx__GraphProto *graph_attr(const Onnx__NodeProto *node, const char *name) {
  for (size_t i = 0; i < node->n_attribute; i++)
    if (!strcmp(node->attribute[i]->name, name) && node->attribute[i]->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)
      return node->attribute[i]->g;
  return NULL;
}

/* Imports subgraph g (node's attribute `which`) into a new block of region
 * r, with one block argument per graph input; false on error. */
static bool import_subgraph(importer *im, const Onnx__NodeProto *node, const char *which, const Onnx__GraphProto *g,
                            MlirRegion r) {
  const char *nname = node->name;
  char outer_branch[sizeof im->branch];
  memcpy(outer_branch, im->branch, sizeof outer_branch);
  snprintf(im->branch, sizeof im->branch, " (in %s of %s node '%s')", which, node->op_type, nname);
  MlirBlock outer = im->body;
  MlirValue outer_no_value = im->no_value;
  for (size_t i = 0; i < g->n_value_info; i++) qcc_name_map_put(&im->infos, g->value_info[i]->name, g->value_info[i]);
  for (size_t i = 0; i < g->n_input; i++) qcc_name_map_put(&im->infos, g->input[i]->name, g->input[i]);
  MlirType *arg_types = malloc(sizeof *arg_types * (g->n_input + 1));
  MlirLocation *arg_locs = malloc(sizeof *arg_locs * (g->n_input + 1));
  for (size_t i = 0; i < g->n_input; i++) {
    arg_types[i] = onnx_import_result_type(im, g->input[i]->name);
    arg_locs[i] = onnx_import_loc(im, nname);
  }
  im->body = mlirBlockCreate((intptr_t)g->n_input, arg_types, arg_locs);
  free(arg_types);
  free(arg_locs);
  im->no_value.ptr = NULL; /* one per block: an outer one would not dominate, nor an inner one outside */
  mlirRegionAppendOwnedBlock(r, im->body);
  scope sc;
  scope_enter(im, g, &sc);
  for (size_t i = 0; i < g->n_input; i++)
    if (g->input[i]->name[0]) onnx_import_define(im, g->input[i]->name, mlirBlockGetArgument(im->body, (intptr_t)i));
  bool ok = true;
  for (size_t i = 0; i < g->n_initializer && ok; i++) {
    qcc_array arr;
    char err[512];
    if (qcc_tensor_from_proto(g->initializer[i], im->path, &arr, err, sizeof err)) {
      qcc_error("%s node '%s' (opset %d): %s initializer %s", node->op_type, nname, im->opset, which, err);
      ok = false;
      break;
    }
    onnx_import_constant(im, g->initializer[i]->name, &arr);
    qcc_array_free(&arr);
  }
  for (size_t i = 0; i < g->n_node && ok; i++) ok = onnx_import_node(im, g->node[i]);
  MlirValue *outs = malloc(sizeof *outs * (g->n_output + 1));
  for (size_t i = 0; i < g->n_output && ok; i++) {
    outs[i] = onnx_import_lookup(im, g->output[i]->name);
    if (mlirValueIsNull(outs[i])) {
      qcc_error("%s node '%s' (opset %d): %s output '%s' is not defined in the %s or before the node", node->op_type,
                nname, im->opset, which, g->output[i]->name, which);
      ok = false;
    }
  }
  if (ok) {
    MlirOperationState st = mlirOperationStateGet(mlirStringRefCreateFromCString("onnx.Yield"),
                                                  onnx_import_loc(im, nname));
    mlirOperationStateAddOperands(&st, (intptr_t)g->n_output, outs);
    mlirBlockAppendOwnedOperation(im->body, mlirOperationCreate(&st));
  }
  free(outs);
  scope_leave(im, &sc);
  im->body = outer;
  im->no_value = outer_no_value;
  memcpy(im->branch, outer_branch, sizeof outer_branch);
  return ok;
}

bool onnx_import_if(importer *im, const Onnx__NodeProto *node) {
  const char *nname = node->name;
  const Onnx__GraphProto *g[2] = {graph_attr(node, "then_branch"), graph_attr(node, "else_branch")};
  static const char *const which[2] = {"then_branch", "else_branch"};
  for (int b = 0; b < 2; b++)
    if (!g[b]) {
      qcc_error("If node '%s' (opset %d): missing graph attribute '%s'", nname, im->opset, which[b]);
      return false;
    }
  if (node->n_input != 1 || !node->input[0][0]) {
    qcc_error("If node '%s' (opset %d): takes exactly one input (cond), got %zu", nname, im->opset, node->n_input);
    return false;
  }
  for (size_t i = 0; i < node->n_attribute; i++)
    if (strcmp(node->attribute[i]->name, which[0]) && strcmp(node->attribute[i]->name, which[1])) {
      qcc_error("If node '%s' (opset %d): unexpected attribute '%s'", nname, im->opset, node->attribute[i]->name);
      return false;
    }
  for (int b = 0; b < 2; b++) {
    if (g[b]->n_input) {
      qcc_error("If node '%s' (opset %d): %s declares %zu graph input(s); If branches take none", nname, im->opset,
                which[b], g[b]->n_input);
      return false;
    }
    if (g[b]->n_output != node->n_output) {
      qcc_error("If node '%s' (opset %d): %s has %zu outputs but the node has %zu", nname, im->opset, which[b],
                g[b]->n_output, node->n_output);
      return false;
    }
  }
  MlirRegion regions[2] = {mlirRegionCreate(), mlirRegionCreate()};
  bool ok = true;
  for (int b = 0; b < 2 && ok; b++) ok = import_subgraph(im, node, which[b], g[b], regions[b]);
  if (!ok) {
    for (int b = 0; b < 2; b++) mlirRegionDestroy(regions[b]);
    return false;
  }
  return onnx_import_op(im, node, regions, 2);
}

/* Loop (body inputs: iteration number, condition, N carried values;
 * outputs: condition, N carried values, K scan outputs) and Scan (body
 * inputs: N states, then one slice per scan input; outputs: N states, K
 * scan outputs). The counts the body must match are checked here; the
 * semantics (trip count, axes, directions) by legalize-onnx. */
bool onnx_import_loop_or_scan(importer *im, const Onnx__NodeProto *node) {
  const char *nname = node->name;
  bool loop = !strcmp(node->op_type, "Loop");
  const Onnx__GraphProto *body = graph_attr(node, "body");
  if (!body) {
    qcc_error("%s node '%s' (opset %d): missing graph attribute 'body'", node->op_type, nname, im->opset);
    return false;
  }
  for (size_t i = 0; i < node->n_attribute; i++)
    if (node->attribute[i]->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS ||
        (node->attribute[i]->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH && strcmp(node->attribute[i]->name, "body"))) {
      qcc_error("%s node '%s' (opset %d): unexpected graph attribute '%s'", node->op_type, nname, im->opset,
                node->attribute[i]->name);
      return false;
    }
  /* Loop: body inputs = 2 + node inputs - 2, outputs = 1 + node outputs.
   * Scan (opset 9+): body inputs = node inputs, outputs = node outputs;
   * opset 8 has sequence_lens first, which the body does not see. */
  size_t want_in = loop ? node->n_input : im->opset < 9 ? node->n_input - (node->n_input > 0) : node->n_input;
  size_t want_out = loop ? node->n_output + 1 : node->n_output;
  if (loop && node->n_input < 2) {
    qcc_error("Loop node '%s' (opset %d): takes at least 2 inputs (M, cond), got %zu", nname, im->opset,
              node->n_input);
    return false;
  }
  if (body->n_input != want_in || body->n_output != want_out) {
    qcc_error("%s node '%s' (opset %d): the body has %zu inputs and %zu outputs; the node's %zu inputs and %zu "
              "outputs need %zu and %zu",
              node->op_type, nname, im->opset, body->n_input, body->n_output, node->n_input, node->n_output, want_in,
              want_out);
    return false;
  }
  MlirRegion region = mlirRegionCreate();
  if (!import_subgraph(im, node, "body", body, region)) {
    mlirRegionDestroy(region);
    return false;
  }
  return onnx_import_op(im, node, &region, 1);
}
