/* qcc.h - the types and entry points shared by qcc's stages.
 *
 * The IR is MLIR (through its C API): imported ONNX graphs are func.func
 * bodies of generic onnx.* ops, legalized into the IRDL-defined q dialect
 * (dialects/q.irdl.mlir, accessors in q_ops.gen.h). This header holds what
 * every stage needs besides that: diagnostics, tensor types and constants,
 * and the stage entry points. */
#ifndef QCC_H
#define QCC_H

#include <mlir-c/BuiltinAttributes.h>
#include <mlir-c/BuiltinTypes.h>
#include <mlir-c/IR.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "npy.h"
#include "q_dialect_support.h"
#include "qrt_dtype.h"

/* ---- diagnostics (diag.c) ---------------------------------------------
 * Errors are one line on stderr, "qcc: error: <where>: <what>", where names
 * the ONNX node (op type, node name, opset), the flag or the file. The first
 * error is remembered so callers can unwind with a status code. */
void qcc_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void qcc_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Verbose remarks (-v): why a pass did or did not apply. */
void qcc_remark(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the remark group held back (diag.c groups consecutive remarks of
 * one cause): before a module goes to stdout, so the two stay in order. */
void qcc_flush_remarks(void);
extern int qcc_verbose;
int qcc_error_count(void);
/* Errors held instead of printed (and not counted), while a compiler step
 * tries a form it may give up for another (legalize-onnx: a Loop as a C
 * loop, else unrolled): the first one's text goes to buf. Holds nest:
 * qcc_hold_errors returns the one it replaces, for qcc_restore_errors. */
typedef struct qcc_error_hold {
  char *buf;
  size_t cap;
} qcc_error_hold;
qcc_error_hold qcc_hold_errors(char *buf, size_t cap);
void qcc_restore_errors(qcc_error_hold previous);
/* The value of flag at argv[*i], given as "FLAG=V" or "FLAG V" (then *i
 * moves past V); NULL if argv[*i] is another flag, or with *missing set
 * when FLAG ends the command line. The option parsers of the passes share it. */
const char *qcc_flag_value(int argc, char **argv, int *i, const char *flag, bool *missing);
/* "Conv node 'conv1' (opset 13)" for the op's location, into buf. */
const char *qcc_op_where(MlirOperation op, char *buf, size_t cap);

/* ---- context (context.c) ---------------------------------------------- */
/* A context with func, quant and q loaded; onnx.* ops stay unregistered. */
MlirContext qcc_context_create(void);
/* The single func.func of a module (qcc modules hold one graph). */
MlirOperation qcc_module_func(MlirModule m);
MlirBlock qcc_func_body(MlirOperation func);
void qcc_print_module(MlirModule m, FILE *out, bool elide_large);
/* Textual MLIR from a file ("-": stdin); a null module, reported, when it
 * cannot be read or parsed. In two steps: the file's text (NUL-terminated,
 * free it; NULL reported), and the module of a text (path names it in the
 * error). */
MlirModule qcc_parse_mlir_file(MlirContext ctx, const char *path);
char *qcc_read_mlir_text(const char *path, size_t *len);
MlirModule qcc_parse_mlir_text(MlirContext ctx, const char *text, size_t len, const char *path);

/* ---- tensor types and constants (tensor.c) ----------------------------- */
typedef struct qcc_shape {
  qrt_dtype dtype;
  int rank;
  int64_t dims[QRT_MAX_RANK];
} qcc_shape;

int64_t qcc_shape_numel(const qcc_shape *s);
/* Same rank and dims (dtype not compared). */
bool qcc_shape_same_dims(const qcc_shape *a, const qcc_shape *b);
/* The most elements a tensor may have. Far above any real model, and low
 * enough that byte sizes and offsets (x 8 bytes, summed over a plan) stay
 * clear of int64 overflow: a model asking for more is refused where the
 * shape appears (a graph input, a node's inferred output), not computed
 * with wrapped sizes. qcc_shape_numel saturates at INT64_MAX. */
#define QCC_MAX_TENSOR_ELEMENTS ((int64_t)1 << 40)
/* Largest constant qcc computes at compile time (folding):
 * a bigger one stays a run-time op, so a model asking for a huge constant
 * cannot exhaust the compiler's memory (the largest weight of a 1.1B
 * Llama is 262 MB). */
#define QCC_MAX_FOLD_BYTES ((int64_t)1 << 30)
/* A folded value that its operands would expand (a broadcast, tile or
 * ConstantOfShape) is kept as a constant only up to this size: beyond it
 * its table in the C (about 10 bytes of source per element) costs far more
 * than the op; a 450 MB splat made a 1 GB model.c. */
#define QCC_MAX_EXPAND_FOLD_BYTES ((int64_t)16 << 20)
/* False for none/unranked/dynamic types or unsupported element types. */
bool qcc_shape_of_type(MlirType t, qcc_shape *out);
bool qcc_shape_of(MlirValue v, qcc_shape *out);
MlirType qcc_tensor_type(MlirContext ctx, const qcc_shape *s);
MlirType qcc_element_type(MlirContext ctx, qrt_dtype dt);
qrt_dtype qcc_dtype_of_element(MlirType t);
/* The C type generated code stores elements in ("float", "uint8_t" for bool,
 * "uint16_t" for float16 and bfloat16 bits...). */
const char *qcc_dtype_c_type(qrt_dtype t);
/* "1x3x8x8xf32" into buf. */
const char *qcc_shape_str(const qcc_shape *s, char *buf, size_t cap);
/* The same for an array (what a .npy file held): dims x ... x dtype. */
const char *qcc_array_shape_str(const qcc_array *a, char *buf, size_t cap);

/* Scale and zero point of a value whose element type is !quant.uniform. */
bool qcc_value_quant(MlirValue v, double *scale, int64_t *zero_point);
/* Storage range of a !quant.uniform value (i8<-8:7> for 4-bit codes). */
bool qcc_value_quant_range(MlirValue v, int64_t *qmin, int64_t *qmax);
/* tensor<dims x !quant.uniform<storage<qmin:qmax>:f32, scale:zero_point>>
 * (MLIR prints the storage range only when narrower than the type's). */
MlirType qcc_quant_tensor_type(MlirContext ctx, const qcc_shape *s, double scale, int64_t zero_point, int64_t qmin,
                               int64_t qmax);

/* A dense elements attribute holding `data` (numel elements of s->dtype). */
MlirAttribute qcc_dense_attr(MlirContext ctx, const qcc_shape *s, const void *data);
/* Copies a dense attribute's elements (splats expanded) into a malloc'd
 * qcc_array; false if the attribute is not dense elements. */
bool qcc_dense_attr_read(MlirAttribute a, qcc_array *out);
/* The elements of a as an array whose data points into the attribute's
 * own storage (no copy; valid while the context lives, never freed by the
 * caller); false where there is no such storage (splats, bool), then use
 * qcc_dense_attr_read. */
bool qcc_dense_attr_view(MlirAttribute a, qcc_array *out);
/* v's constant data, borrowed from its attribute when it can be
 * (*borrowed: do not free it), else copied (free it): readers of large
 * weights thus keep no second copy. */
bool qcc_value_constant_borrow(MlirValue v, qcc_array *out, bool *borrowed);
/* The constant data of v when v is produced by q.constant. */
bool qcc_value_constant(MlirValue v, qcc_array *out);
bool qcc_value_is_constant(MlirValue v);
/* Creates q.constant holding arr, inserted before `before`. */
MlirValue qcc_make_constant(MlirOperation before, MlirLocation loc, const qcc_array *arr);
MlirValue qcc_insert_before(MlirOperation before, MlirOperation op);

/* ---- stages ------------------------------------------------------------ */
typedef struct qcc_input_shape {
  const char *name;
  int rank;
  int64_t dims[QRT_MAX_RANK];
} qcc_input_shape;

/* --bind NAME=FILE.npy: a graph input frozen to the array in FILE. */
typedef struct qcc_input_binding {
  const char *name, *path;
} qcc_input_binding;

/* What the user fixes about the graph inputs: --shape and --bind. */
typedef struct qcc_import_options {
  const qcc_input_shape *shapes;
  int n_shapes;
  const qcc_input_binding *bindings;
  int n_bindings;
} qcc_import_options;

/* onnx_import.c: reads path into a module of onnx.* ops (initializers and
 * bound inputs as q.constant). opts may be NULL. Null module on error
 * (already reported). */
MlirModule qcc_import_onnx(MlirContext ctx, const char *path, const qcc_import_options *opts);

#endif
