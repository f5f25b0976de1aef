/* onnx_import_if.c - an If node -> "onnx.If"(cond) with two regions.
 *
 * Region 0 holds then_branch, region 1 else_branch, each one block of
 * generic onnx.* ops (the branch's initializers as q.constant, its nodes)
 * ended by "onnx.Yield"(outputs...). Branch ops use outer values directly
 * (ONNX subgraphs read the enclosing scopes by name), so the regions are
 * not isolated; what a branch defines is visible inside it only: the
 * outer names it shadows are restored after it. legalize-onnx flattens
 * the regions into the parent block (passes/legalize_if.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_import.h"

/* The values of the names a branch defines, to restore on leaving it. */
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
  size_t cap = g->n_initializer + 1;
  for (size_t i = 0; i < g->n_node; i++) cap += g->node[i]->n_output;
  s->n = 0;
  s->names = malloc(sizeof *s->names * cap);
  s->saved = malloc(sizeof *s->saved * cap);
  for (size_t i = 0; i < g->n_initializer; i++) scope_add(im, s, g->initializer[i]->name);
  for (size_t i = 0; i < g->n_node; i++)
    for (size_t j = 0; j < g->node[i]->n_output; j++) scope_add(im, s, g->node[i]->output[j]);
}

static void scope_leave(importer *im, scope *s) {
  for (size_t i = s->n; i-- > 0;) qcc_name_map_put(&im->values, s->names[i], s->saved[i]);
  free(s->names);
  free(s->saved);
}

static const Onnx__GraphProto *branch(const Onnx__NodeProto *node, const char *name) {
  for (size_t i = 0; i < node->n_attribute; i++)
    if (!strcmp(node->attribute[i]->name, name) && node->attribute[i]->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)
      return node->attribute[i]->g;
  return NULL;
}

/* Imports branch g of node into a new block of region r; false on error. */
static bool import_branch(importer *im, const Onnx__NodeProto *node, const char *which, const Onnx__GraphProto *g,
                          MlirRegion r) {
  const char *nname = node->name;
  if (g->n_input) {
    qcc_error("If node '%s' (opset %d): %s declares %zu graph input(s); If branches take none", nname, im->opset, which,
              g->n_input);
    return false;
  }
  if (g->n_output != node->n_output) {
    qcc_error("If node '%s' (opset %d): %s has %zu outputs but the node has %zu", nname, im->opset, which,
              g->n_output, node->n_output);
    return false;
  }
  char outer_branch[sizeof im->branch];
  memcpy(outer_branch, im->branch, sizeof outer_branch);
  snprintf(im->branch, sizeof im->branch, " (in %s of If node '%s')", which, nname);
  MlirBlock outer = im->body;
  MlirValue outer_no_value = im->no_value;
  im->body = mlirBlockCreate(0, NULL, NULL);
  im->no_value.ptr = NULL; /* one per block: an outer one would not dominate, nor an inner one outside */
  mlirRegionAppendOwnedBlock(r, im->body);
  for (size_t i = 0; i < g->n_value_info; i++) qcc_name_map_put(&im->infos, g->value_info[i]->name, g->value_info[i]);
  scope sc;
  scope_enter(im, g, &sc);
  bool ok = true;
  for (size_t i = 0; i < g->n_initializer && ok; i++) {
    qcc_array arr;
    char err[512];
    if (qcc_tensor_from_proto(g->initializer[i], im->path, &arr, err, sizeof err)) {
      qcc_error("If node '%s' (opset %d): %s initializer %s", nname, im->opset, which, err);
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
      qcc_error("If node '%s' (opset %d): %s output '%s' is not defined in the branch or before the node", nname,
                im->opset, which, g->output[i]->name);
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
  const Onnx__GraphProto *g[2] = {branch(node, "then_branch"), branch(node, "else_branch")};
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
  MlirValue cond = onnx_import_lookup(im, node->input[0]);
  if (mlirValueIsNull(cond)) {
    qcc_error("If node '%s' (opset %d): input '%s' is not defined before the node", nname, im->opset,
              node->input[0]);
    return false;
  }
  for (size_t i = 0; i < node->n_attribute; i++)
    if (strcmp(node->attribute[i]->name, which[0]) && strcmp(node->attribute[i]->name, which[1])) {
      qcc_error("If node '%s' (opset %d): unexpected attribute '%s'", nname, im->opset, node->attribute[i]->name);
      return false;
    }
  MlirRegion regions[2] = {mlirRegionCreate(), mlirRegionCreate()};
  bool ok = true;
  for (int b = 0; b < 2 && ok; b++) ok = import_branch(im, node, which[b], g[b], regions[b]);
  if (!ok) {
    for (int b = 0; b < 2; b++) mlirRegionDestroy(regions[b]);
    return false;
  }
  MlirType *types = malloc(sizeof *types * (node->n_output + 1));
  for (size_t i = 0; i < node->n_output; i++) types[i] = onnx_import_result_type(im, node->output[i]);
  MlirOperationState st = mlirOperationStateGet(mlirStringRefCreateFromCString("onnx.If"), onnx_import_loc(im, nname));
  mlirOperationStateAddOperands(&st, 1, &cond);
  mlirOperationStateAddResults(&st, (intptr_t)node->n_output, types);
  mlirOperationStateAddOwnedRegions(&st, 2, regions);
  MlirOperation op = mlirOperationCreate(&st);
  mlirBlockAppendOwnedOperation(im->body, op);
  for (size_t i = 0; i < node->n_output; i++)
    if (node->output[i][0]) onnx_import_define(im, node->output[i], mlirOperationGetResult(op, (intptr_t)i));
  free(types);
  return true;
}
