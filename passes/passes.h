/* passes.h - the pass registry. A pass is one function over a module; it
 * returns 0 on success and reports its own errors (qcc_error). Each pass
 * lives in its own file with a comment stating the invariant it keeps. */
#ifndef QCC_PASSES_H
#define QCC_PASSES_H
#include "qcc.h"

typedef int (*qcc_pass_fn)(MlirModule m);

typedef struct qcc_pass_info {
  const char *name; /* as given to qcc-opt: --legalize-onnx */
  qcc_pass_fn run;
  const char *summary;
} qcc_pass_info;

int qcc_pass_legalize_onnx(MlirModule m);
/* Sets func's function_type from its block's argument types and the types
 * of the values it returns (after a pass changed them). */
void qcc_update_function_type(MlirOperation func);
int qcc_pass_fold_constants(MlirModule m);
int qcc_pass_fuse_affine(MlirModule m);
int qcc_pass_fuse_norms(MlirModule m);
int qcc_pass_fuse_activations(MlirModule m);
int qcc_pass_dce(MlirModule m);
/* legalize-onnx: a Loop or Scan whose unrolled copies would hold more ops
 * than this becomes a C loop (q.loop) where it can; others are unrolled
 * (qcc --unroll-max-ops; passes/legalize_loop.c). */
enum { QCC_UNROLL_DEFAULT_OPS = 4096 };
extern int64_t qcc_unroll_max_ops;
/* --exact-qlinear: pre-quantized layers are neither adopted onto the int8
 * kernels nor fused from QDQ (onnx_adopt_int8.c, onnx_fuse_qdq.c); ONNX's
 * literal forms stay (int32 sums, float requantization; QDQ's float ops). */
extern bool qcc_exact_qlinear;
int qcc_pass_calibrate(MlirModule m);
int qcc_pass_quantize(MlirModule m);
/* accum_bounds.c: proves every integer layer's int32 accumulator exact
 * (quantize runs it last); -1 after an error naming a layer it cannot. */
int qcc_check_accumulators(MlirModule m);
/* The largest over columns n (and batches) of sum_k |codes[k, n]| (codes
 * [batches, rows, cols], or [batches, cols, rows] when col_major), each
 * group of `group` rows weighted by gmult [ceil(rows / group), cols] when
 * given: what an integer matmul's column can sum, per unit of activation. */
double qcc_max_weight_column_sum(const int8_t *codes, int64_t rows, int64_t cols, bool col_major, int64_t batches,
                                 const uint8_t *gmult, int64_t group);
int qcc_pass_sensitivity(MlirModule m);
/* Static integer schemes: attention matmuls whose per-tensor static
 * scales measure clearly worse than MXINT8 block scales get mxint8
 * (attention_scales.c). */
int qcc_pass_attention_scales(MlirModule m);
/* Whether a matmul of two run-time operands can become a block-format
 * q.bmatmul: float operands of equal batch dims (no broadcasting), no
 * bias (quantize.c; the attention_scales pass measures only those). */
bool qcc_runtime_block_matmul_fits(MlirOperation op);
int qcc_pass_allocate(MlirModule m);
/* --integer-only: op (a q.unary, q.softmax or q.norm) on int8 when the
 * rules of quantize_nonlinear.c allow, else left float with a remark;
 * without it, only a q.unary between int8 layers becomes a table;
 * -1 after an error. */
int qcc_quantize_nonlinear(MlirOperation op);
/* Static int8 schemes: a data-movement op (reshape, transpose, slice,
 * broadcast, max pool) on an int8 input runs on the codes
 * (quantize_movement.c). */
int qcc_quantize_movement(MlirOperation op);
/* --integer-only: an add with an int8 operand runs as q.qadd
 * (quantize_add.c). */
int qcc_quantize_add(MlirOperation op);
/* --softmax-format dbfpM: float softmax over the last axis -> q.dbfp_softmax
 * (softmax_format.c); a no-op without the flag. */
int qcc_pass_softmax_format(MlirModule m);
/* float_epilogue.c: an int8 q.qmatmul whose codes only feed a
 * q.dequantize becomes q.qmatmul_deq (float epilogue, clamped to the codes'
 * range, no output rounding); a residual add after it joins the epilogue. */
int qcc_pass_float_epilogues(MlirModule m);
/* fuse_attention.c: float Q Kt [* c] [+ mask] -> softmax -> * V chains
 * become one q.attention (the same bits); runs last, on what stays float. */
int qcc_pass_fuse_attention(MlirModule m);
/* fuse_conv_activation.c: a float q.conv read only by a ReLU / LeakyReLU /
 * Clip applies it in its epilogue (qcc.act attributes; the same bits). */
int qcc_pass_fuse_conv_activation(MlirModule m);
/* fuse_matmul_epilogue.c: a float q.matmul read only by an add (a residual)
 * or multiply (a gate) with a tensor of its shape does it in the GEMM's
 * epilogue (the same bits). */
int qcc_pass_fuse_matmul_epilogue(MlirModule m);
/* fuse_output_quantize.c: a float q.norm / q.softmax_codes read only by a
 * q.quantize to int8 writes those codes itself (the same bits). */
int qcc_pass_fuse_output_quantize(MlirModule m);
/* fold_transposes.c: a transpose between an int8 matmul (or a float
 * q.attention) and its operand or result becomes the kernel's strides
 * (qcc.a_perm / b_perm / c_perm, and qcc.v_perm for attention's V). */
int qcc_pass_fold_transposes(MlirModule m);
/* group_siblings.c: integer matmuls reading the same activations move
 * next to each other (one qrt_qmatmul_group call; --threads > 1). */
int qcc_pass_group_siblings(MlirModule m);

/* NULL-terminated table of all passes. */
extern const qcc_pass_info qcc_passes[];
const qcc_pass_info *qcc_find_pass(const char *name);
/* The float pipeline qcc runs by default: legalize, fold, fuse-affine,
 * fuse-norms, fuse-activations, DCE. */
int qcc_run_default_pipeline(MlirModule m);

#endif
