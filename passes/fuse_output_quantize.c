/* fuse_output_quantize.c - the fuse-output-quantize pass: a float
 * normalization (q.norm), softmax over int8 codes (q.softmax_codes) or
 * add / sub / mul of float operands (q.binary: a gated MLP's product)
 * whose only reader is a q.quantize to int8 writes the int8 codes itself:
 * its result takes the quantize's type and the quantize goes.  Codegen
 * then calls qrt_layernorm_f32_i8 / qrt_rmsnorm_f32_i8 /
 * qrt_softmax_codes_i8 / qrt_binary_f32_i8, which quantize each block of
 * output while it is in L1 with qrt_quantize_f32_i8's arithmetic: the same
 * bits, without the float tensor's round trip through memory (attention's
 * softmax writes T x T floats per head only to have them read back once).
 *
 * Not fused, with a -v remark: a softmax row longer than 4096 (the
 * kernel's L1 block), int16 codes, per-channel quantized outputs.  Runs
 * after quantize and float-epilogues, not for --target npu. */
#include "fuse_match.h"
#include "qrt.h" /* QRT_SOFTMAX_CODES_MAX_ROW */

/* Why the producer p of the quantize's input cannot write the quantize's
 * codes itself, or NULL when it can. */
static const char *why_not(MlirOperation p, MlirValue x, MlirValue y) {
  qcc_shape xs, ys;
  double scale;
  int64_t zp;
  if (!qcc_shape_of(x, &xs) || xs.dtype != QRT_F32) return "its input is not float32";
  if (!qcc_shape_of(y, &ys) || ys.dtype != QRT_I8) return "its codes are not int8";
  if (!qcc_value_quant(y, &scale, &zp)) return "its codes have no single scale";
  if (q_binary_is(p)) {
    const char *k = q_binary_get(p).kind.s;
    qcc_shape bs;
    if (strcmp(k, "add") && strcmp(k, "sub") && strcmp(k, "mul")) return "only add, sub and mul write codes";
    if (!qcc_shape_of(mlirOperationGetOperand(p, 1), &bs) || bs.dtype != QRT_F32 ||
        !qcc_shape_of(mlirOperationGetOperand(p, 0), &bs) || bs.dtype != QRT_F32)
      return "an operand is not float32";
  }
  if (mlirOperationIsNull(sole_user(x))) return "the float values have other readers";
  if (q_softmax_codes_is(p) && (xs.rank < 1 || xs.dims[xs.rank - 1] > QRT_SOFTMAX_CODES_MAX_ROW))
    return "softmax rows are longer than 4096";
  return NULL;
}

int qcc_pass_fuse_output_quantize(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  bool changed = false;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    if (!q_quantize_is(op)) continue;
    MlirValue x = mlirOperationGetOperand(op, 0), y = mlirOperationGetResult(op, 0);
    MlirOperation p = def(x);
    if (mlirOperationIsNull(p) || !(q_norm_is(p) || q_softmax_codes_is(p) || q_binary_is(p))) continue;
    char at[256];
    qcc_op_where(p, at, sizeof at);
    const char *why = why_not(p, x, y);
    if (why) {
      qcc_remark("fuse-output-quantize: %s keeps a float output: %s", at, why);
      continue;
    }
    mlirValueSetType(x, mlirValueGetType(y));
    mlirValueReplaceAllUsesOfWith(y, x);
    qcc_remark("fuse-output-quantize: %s writes the int8 codes its only reader quantized to", at);
    changed = true;
  }
  return changed ? qcc_pass_dce(m) : 0;
}
