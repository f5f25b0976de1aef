/* onnx_import.h - the importer's state and helpers, shared by
 * onnx_import.c (graphs and nodes) and onnx_import_control.c (If, Loop and
 * Scan subgraphs as regions). Private to the importer. */
#ifndef QCC_ONNX_IMPORT_H
#define QCC_ONNX_IMPORT_H
#include "name_map.h"
#include "onnx_tensor.h"
#include "qcc.h"

typedef struct importer {
  MlirContext ctx;
  const char *path;
  int opset;
  qcc_name_map values; /* ONNX value name -> MlirValue.ptr (NULL: out of scope) */
  qcc_name_map infos;  /* value name -> Onnx__ValueInfoProto* */
  MlirBlock body;      /* where ops are appended: the func body or a branch */
  MlirValue no_value;  /* this block's onnx.NoValue, created on first use */
  char branch[200];    /* " (in then_branch of If node 'x')" inside a branch, else "" */
} importer;

MlirLocation onnx_import_loc(importer *im, const char *name);
MlirNamedAttribute onnx_import_named(importer *im, const char *name, MlirAttribute a);
MlirValue onnx_import_lookup(importer *im, const char *name);
void onnx_import_define(importer *im, const char *name, MlirValue v);
/* name as a q.constant holding arr, appended to im->body. */
void onnx_import_constant(importer *im, const char *name, const qcc_array *arr);
/* One node appended to im->body; false on error (reported). */
bool onnx_import_node(importer *im, const Onnx__NodeProto *node);
/* ONNX attribute -> MLIR attribute; false (with an error) for graphs etc. */
bool onnx_import_attr(importer *im, const Onnx__NodeProto *node, const Onnx__AttributeProto *a, MlirAttribute *out);
/* The static type value_info declares for name, else none. */
MlirType onnx_import_result_type(importer *im, const char *name);

/* The node as a generic onnx.* op appended to im->body, holding the given
 * regions (owned; destroyed on error) in place of its graph attributes;
 * its outputs defined. False on error (reported). */
bool onnx_import_op(importer *im, const Onnx__NodeProto *node, MlirRegion *regions, intptr_t n_regions);

/* onnx_import_control.c: an If node as onnx.If with its two branches as
 * regions, a Loop or Scan node with its body as a region whose block
 * arguments are the body's inputs; false on error (reported). */
bool onnx_import_if(importer *im, const Onnx__NodeProto *node);
bool onnx_import_loop_or_scan(importer *im, const Onnx__NodeProto *node);
#endif
