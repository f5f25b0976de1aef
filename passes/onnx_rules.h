/* onnx_rules.h - how legalize-onnx rewrites one onnx.* op into q ops.
 *
 * A rule reads the ONNX node through the helpers below (inputs, static
 * shapes, attributes with ONNX defaults, constant inputs), computes the
 * static result types (shape inference lives here, next to the semantics
 * it follows), builds q ops before the node, and returns its results. The
 * driver (legalize_onnx.c) replaces the node's uses and erases it. Rules are
 * grouped by family in onnx_rules_*.c, each with its own table. */
#ifndef QCC_ONNX_RULES_H
#define QCC_ONNX_RULES_H
#include "qcc.h"

typedef struct onnx_node {
  MlirOperation op;
  MlirContext ctx;
  MlirLocation loc;
  const char *type; /* "Conv" */
  char where[300];  /* "Conv node 'conv1' (opset 13)" */
  int opset;
  int n_in, n_out;
  bool failed; /* an error was reported (e.g. by an attribute accessor) */
  MlirOperation first_expanded; /* the first onnx op onnx_expand made */
} onnx_node;

/* Returns 0 and fills results[0..n_out) or reports an error and returns -1. */
typedef int (*onnx_rule_fn)(onnx_node *n, MlirValue *results);

typedef struct onnx_rule {
  const char *type;
  onnx_rule_fn fn;
} onnx_rule;

/* The family tables, each terminated by {NULL, NULL}. */
extern const onnx_rule onnx_rules_nn[];
extern const onnx_rule onnx_rules_elementwise[];
extern const onnx_rule onnx_rules_shape[];
extern const onnx_rule onnx_rules_reduce[];
extern const onnx_rule onnx_rules_misc[];
extern const onnx_rule onnx_rules_index[];
extern const onnx_rule onnx_rules_loss[];
extern const onnx_rule onnx_rules_norm[];
extern const onnx_rule onnx_rules_resize[];
extern const onnx_rule onnx_rules_quant[];
extern const onnx_rule onnx_rules_rnn[];
extern const onnx_rule onnx_rules_einsum[];
extern const onnx_rule onnx_rules_audio[];
extern const onnx_rule onnx_rules_datadep[];
extern const onnx_rule onnx_rules_attention[];
extern const onnx_rule onnx_rules_contrib[];
extern const onnx_rule onnx_rules_nbits[];
extern const onnx_rule onnx_rules_contrib_attention[];
extern const onnx_rule onnx_rules_contrib_gqa[];

/* QLinearConv / QLinearMatMul on the int8 kernels with the model's scales
 * (onnx_adopt_int8.c): 0 done, 1 when the node does not qualify (a remark
 * says why; the caller writes the exact int32 form), -1 on error. */
int onnx_adopt_qlinear_conv(onnx_node *n, MlirValue *res);

int onnx_adopt_qlinear_matmul(onnx_node *n, MlirValue *res);
/* DQ -> Conv/MatMul -> [Relu ->] Q chains as QLinearConv / QLinearMatMul
 * (onnx_fuse_qdq.c), before legalization; returns how many. */
int onnx_fuse_qdq(MlirBlock body);

/* ---- reading the node ---- */
/* Input i, or a null value when absent (beyond n_in or onnx.NoValue). */
MlirValue onnx_in(onnx_node *n, int i);
bool onnx_has_in(onnx_node *n, int i);
/* Static shape of input i; reports an error and returns false if absent. */
bool onnx_in_shape(onnx_node *n, int i, qcc_shape *s);
/* Whether output i is used by anything (optional outputs we do not compute
 * must be unused). */
bool onnx_out_used(onnx_node *n, int i);
/* The static type the model declares for output i (value_info or graph
 * output), if it does.  Rules use it where a shape-determining input is
 * only known at run time: a model that declares the output's static shape
 * thereby fixes that input's value for every valid run. */
bool onnx_declared_shape(onnx_node *n, int i, qcc_shape *s);
bool onnx_has_attr(onnx_node *n, const char *name);
/* The accessors return the default when the attribute is absent; one of
 * another type is an error on the node (n->failed), never a silent
 * default, since the rule would then compute something the model did not
 * ask for. */
int64_t onnx_attr_int(onnx_node *n, const char *name, int64_t dflt);
double onnx_attr_float(onnx_node *n, const char *name, double dflt);
/* Copies the string attribute into buf (dflt if absent). */
const char *onnx_attr_str(onnx_node *n, const char *name, const char *dflt, char *buf, size_t cap);
/* i64 list attribute; false if absent (out->n = 0). */
bool onnx_attr_ints(onnx_node *n, const char *name, q_i64s *out);
/* Constant integer input i (folding its producer if that is possible), as
 * int64 values; false with an error if it is not a compile-time constant. */
bool onnx_const_ints(onnx_node *n, int i, q_i64s *out, const char *what);
/* A shape-like int input (Reshape's shape, Unsqueeze's axes, ...): 1 when
 * it is a compile-time constant (into out); 0 when it is not but output
 * out_i has a declared static type (into declared; see
 * onnx_declared_shape); -1 with an error otherwise. */
int onnx_shape_input(onnx_node *n, int i, q_i64s *out, const char *what, int out_i, qcc_shape *declared);
/* Constant input of any type, folded if possible; false if not constant. */
bool onnx_const_input(onnx_node *n, int i, qcc_array *out);

/* ---- building ---- */
/* Inserts op before the node and returns its result. */
MlirValue onnx_emit(onnx_node *n, MlirOperation op);
MlirType onnx_type(onnx_node *n, const qcc_shape *s);
MlirValue onnx_constant(onnx_node *n, const qcc_array *arr);
/* x viewed with shape `to` (x itself when it already has that type). */
MlirValue onnx_reshape(onnx_node *n, MlirValue x, const qcc_shape *to);
/* q.unary / q.binary / q.where / q.reduce of the given kind and result shape. */
MlirValue onnx_unary(onnx_node *n, const char *kind, MlirValue x, const qcc_shape *y, double alpha, double beta);
MlirValue onnx_binary(onnx_node *n, const char *kind, MlirValue a, MlirValue b, const qcc_shape *y);
MlirValue onnx_where(onnx_node *n, MlirValue c, MlirValue a, MlirValue b, const qcc_shape *y);
/* onnx_rules_shape.c: a slice of x, start and step per dim; y gives the
 * extent. */
MlirValue onnx_slice(onnx_node *n, MlirValue x, const qcc_shape *y, const int64_t *starts, const int64_t *steps);
/* Reduces x over axes (sorted, non-negative); y gives keepdims. */
MlirValue onnx_reduce(onnx_node *n, const char *kind, MlirValue x, const q_i64s *axes, const qcc_shape *y);
/* A rank-0 constant of element type t holding v (converted as C does). */
MlirValue onnx_scalar(onnx_node *n, qrt_dtype t, double v);
/* onnx_rules_nn.c: numpy MatMul of a and b (same element type, float32 or
 * int32), and a Conv with the node's geometry attributes (kernel_shape,
 * strides, pads, dilations, auto_pad, group) of x and w, result type x's. */
int onnx_emit_matmul(onnx_node *n, MlirValue a, const qcc_shape *as, MlirValue b, const qcc_shape *bs, MlirValue *out);
int onnx_emit_conv(onnx_node *n, MlirValue x, const qcc_shape *xs, MlirValue w, const qcc_shape *ws, MlirValue bias,
                   MlirValue *out);
/* onnx_rules_index.c: x with the first lens[b] steps along time axis ta
 * (0 or 1; the batch axis is the other) reversed per batch entry b; lens
 * int32/int64 [B]. */
MlirValue onnx_reverse_sequence(onnx_node *n, MlirValue x, const qcc_shape *xs, MlirValue lens, int64_t ta);
/* Output type of a numpy broadcast of a and b (dtype of `dtype`); false with
 * an error if the shapes do not broadcast. */
bool onnx_broadcast_shape(onnx_node *n, const qcc_shape *a, const qcc_shape *b, qcc_shape *out);
/* Normalises a possibly negative axis against rank; error if out of range. */
bool onnx_axis(onnx_node *n, int64_t axis, int rank, int64_t *out);
int onnx_fail(onnx_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- expanding into other ONNX ops (onnx_expand.c) ----
 * A rule may rewrite its node as default-domain onnx.* ops, as an ONNX
 * function body does: onnx_expand creates `type` before the node (its
 * location, the given inputs, attributes and n_out results) and returns
 * 0 or -1; the driver legalizes the new ops next, at `opset`. A null
 * input is an absent optional one. */
int onnx_expand(onnx_node *n, const char *type, int opset, int n_in, const MlirValue *in, const MlirNamedAttribute *attrs,
                int n_attrs, int n_out, MlirValue *out);
/* One result (null on failure). */
MlirValue onnx_expand1(onnx_node *n, const char *type, int opset, int n_in, const MlirValue *in,
                       const MlirNamedAttribute *attrs, int n_attrs);
/* A binary default op (Add, MatMul, Less, ...) of a and b at opset 13. */
MlirValue onnx_expand2(onnx_node *n, const char *type, MlirValue a, MlirValue b);
/* An int64 [k] constant; x reshaped to dims; x[.., from:to) along axis;
 * 0, 1, .., len - 1 (int32 or int64) along dim `axis` of a rank-`rank`
 * shape of 1s (positions of keys, queries, rotary steps). */
MlirValue onnx_xints(onnx_node *n, const int64_t *v, int k);
MlirValue onnx_xreshape(onnx_node *n, MlirValue x, const int64_t *dims, int rank);
MlirValue onnx_xslice(onnx_node *n, MlirValue x, int64_t axis, int64_t from, int64_t to);
MlirValue onnx_xarange(onnx_node *n, qrt_dtype dtype, int64_t len, int rank, int axis);
/* An attention bias from a bool keep mask: 0 where kept, `masked` elsewhere. */
MlirValue onnx_xkey_bias(onnx_node *n, MlirValue keep, double masked);
MlirNamedAttribute onnx_xattr_int(onnx_node *n, const char *name, int64_t v);
MlirNamedAttribute onnx_xattr_float(onnx_node *n, const char *name, double v);
MlirNamedAttribute onnx_xattr_ints(onnx_node *n, const char *name, const int64_t *v, int count);
MlirNamedAttribute onnx_xattr_str(onnx_node *n, const char *name, const char *v);
/* The node's own attributes except those named in skip (NULL-ended);
 * returns how many were written to out (at most cap). */
int onnx_xattr_copy(onnx_node *n, const char *const *skip, MlirNamedAttribute *out, int cap);
/* The node's inputs against a signature, one character per input:
 * 'x' required, '-' optional; false with an error naming the first
 * missing required input, or too many inputs. */
bool onnx_need_inputs(onnx_node *n, const char *signature);
/* Input i as the node has it: an absent optional input is an onnx.NoValue
 * result (to pass on to an expansion), beyond n_in a null value. */
MlirValue onnx_raw_in(onnx_node *n, int i);

/* The onnx.Yield ending region r of a control-flow op (onnx.Yield is
 * unregistered, so MLIR does not know it as the block's terminator). */
MlirOperation onnx_region_yield(MlirOperation op, int r);

/* legalize_if.c: onnx.If, flattened into the parent block; *next is where
 * the driver goes on (the first inlined op, or the If again once its
 * branches are legalized). */
int onnx_legalize_if(onnx_node *n, MlirOperation *next);
/* legalize_loop.c: onnx.Loop and onnx.Scan, unrolled into the parent block
 * (each visit unrolls, and the last replaces the results); same protocol. */
int onnx_legalize_loop(onnx_node *n, MlirOperation *next);
int onnx_legalize_scan(onnx_node *n, MlirOperation *next);
/* legalize_onnx.c: legalizes every onnx op of a block (the function's, or
 * a q.loop body's, which keeps its onnx.Yield terminator). */
int onnx_legalize_block(MlirBlock body, int opset);

/* ---- folding (fold_constants.c) ---- */
/* Replaces a q op whose operands are all constants by a q.constant holding
 * its evaluated result. Returns the new constant's value or a null value. */
MlirValue qcc_fold_op(MlirOperation op);

#endif
