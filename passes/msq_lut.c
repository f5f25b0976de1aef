/* msq_lut.c - elementwise functions between MSQ layers as int8 tables, one
 * per modality (the msq pass's last step; quantize_nonlinear.c does the
 * same for per-tensor static layers with one table).
 *
 *   y = msqmatmul(...)        (float out: dequantized per modality)
 *   z = unary(y)              (GELU of a vision projector's MLP)
 *   c = msq_quantize(z, mod)  (the next layer's per-modality codes)
 * becomes
 *   y = msqmatmul(...)        (int8 codes of the per-modality output params)
 *   c = msq_lut(y, table[n_mod, 256], mod)
 *
 * Row r of modality m reads y's codes with m's output parameters of the
 * first layer, so the function has 256 possible inputs per modality, and
 * its codes in m's input parameters of the next layer are tabulated once
 * (qrt_build_lut_i8: the correctly rounded quantize(f(dequantize(x))),
 * then clamped to the next layer's [qmin, qmax], which is what
 * msq_quantize's saturation does, also for 4-bit codes). The dequantize,
 * the float function and the quantize go; the generated C and the
 * evaluator run the same kernel (qrt_msq_lut_i8), so they agree bit for
 * bit. Applies when the function is the layer's only reader and its only
 * reader is one msq_quantize with the same modalities.
 *
 * A function of an MSQ layer's output whose result stays float (SwiGLU's
 * SiLU, multiplied by the up projection in float) becomes a float table
 * per modality instead, as quantize_nonlinear.c's float_table does for a
 * per-tensor layer: the layer leaves its int8 codes and
 * q.msq_lut(codes, table f32 [n_mod, 256], mod) reads f(dequantize(code))
 * with the modality's output parameters (qrt_build_lut_f32: the same
 * operations the dequantize and the float kernel ran, so the same bits). */
#include <stdlib.h>
#include <string.h>

#include "kernel_call.h"
#include "msq.h"
#include "passes.h"
#include "quant_activations.h"

/* The f64 entries of a dense elements attribute of n values. */
static bool read_f64s(MlirAttribute a, int n, double *out) {
  qcc_array s = {0};
  bool ok = qcc_dense_attr_read(a, &s) && s.dtype == QRT_F64 && qcc_array_numel(&s) == n;
  for (int m = 0; ok && m < n; m++) out[m] = ((double *)s.data)[m];
  qcc_array_free(&s);
  return ok;
}

static bool single_use(MlirValue v, MlirOperation *user) {
  MlirOpOperand u = mlirValueGetFirstUse(v);
  if (mlirOpOperandIsNull(u) || !mlirOpOperandIsNull(mlirOpOperandGetNextUse(u))) return false;
  *user = mlirOpOperandGetOwner(u);
  return mlirOpOperandGetOperandNumber(u) == 0;
}

/* Rewrites one q.unary: true when done. */
static bool tabulate(MlirOperation un) {
  MlirValue y = q_unary_in(un, 0);
  MlirOperation mm, mq;
  if (!mlirValueIsAOpResult(y) || !q_msqmatmul_is(mm = mlirOpResultGetOwner(y))) return false;
  qcc_shape ys;
  qcc_shape_of(y, &ys);
  if (ys.dtype != QRT_F32) return false; /* attention's int8 codes of one scale */
  MlirOperation only;
  if (!single_use(y, &only) || !mlirOperationEqual(only, un)) return false;
  if (!single_use(mlirOperationGetResult(un, 0), &mq) || !q_msq_quantize_is(mq)) return false;
  MlirValue mod = q_msqmatmul_in(mm, 5);
  if (!mlirValueEqual(mod, q_msq_quantize_in(mq, 1))) return false;
  char at[256];
  qcc_op_where(un, at, sizeof at);
  if (qcc_kept_float(at, "unary")) return false;
  q_unary_attrs ua = q_unary_get(un);
  q_msqmatmul_attrs ma = q_msqmatmul_get(mm);
  q_msq_quantize_attrs qa = q_msq_quantize_get(mq);
  const int n_mod = (int)ma.out_zero_points.n;
  double in_scales[QRT_MSQ_MAX_MODALITIES], out_scales[QRT_MSQ_MAX_MODALITIES];
  int code;
  if (n_mod < 1 || n_mod > QRT_MSQ_MAX_MODALITIES || qa.zero_points.n != n_mod ||
      !read_f64s(ma.out_scales, n_mod, in_scales) || !read_f64s(qa.scales, n_mod, out_scales) ||
      !qcc_unary_kind_code(ua.kind.s, &code))
    return false;
  int8_t table[QRT_MSQ_MAX_MODALITIES][256];
  for (int m = 0; m < n_mod; m++) {
    if (qrt_build_lut_i8(code, (float)ua.alpha, (float)ua.beta, in_scales[m], (int32_t)ma.out_zero_points.v[m],
                         out_scales[m], (int32_t)qa.zero_points.v[m], table[m]))
      return false;
    for (int i = 0; i < 256; i++)
      table[m][i] = (int8_t)(table[m][i] < qa.qmin ? qa.qmin : table[m][i] > qa.qmax ? qa.qmax : table[m][i]);
  }
  MlirContext ctx = mlirOperationGetContext(un);
  ys.dtype = QRT_I8;
  mlirValueSetType(y, qcc_tensor_type(ctx, &ys)); /* the codes themselves: qrt_msqmatmul_i8 */
  int64_t tdims[2] = {n_mod, 256};
  q_msq_lut_attrs la = {qcc_str(ua.kind.s)};
  MlirValue codes = qcc_insert_before(
      un, q_msq_lut_create(mlirOperationGetLocation(un), mlirValueGetType(mlirOperationGetResult(mq, 0)), y,
                           qcc_constant_before(un, QRT_I8, 2, tdims, table), mod, &la));
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(mq, 0), codes);
  mlirOperationDestroy(mq);
  mlirOperationDestroy(un);
  qcc_remark("msq: %s: int8 table per modality (%d tables)", at, n_mod);
  return true;
}

/* The float twin of tabulate: true when done. */
static bool float_tabulate(MlirOperation un) {
  MlirValue y = q_unary_in(un, 0), z = mlirOperationGetResult(un, 0);
  MlirOperation mm, only;
  if (!mlirValueIsAOpResult(y) || !q_msqmatmul_is(mm = mlirOpResultGetOwner(y))) return false;
  qcc_shape ys, zs;
  qcc_shape_of(y, &ys);
  qcc_shape_of(z, &zs);
  if (ys.dtype != QRT_F32 || zs.dtype != QRT_F32) return false;
  if (!single_use(y, &only) || !mlirOperationEqual(only, un)) return false;
  char at[256];
  qcc_op_where(un, at, sizeof at);
  if (qcc_kept_float(at, "unary")) return false;
  q_unary_attrs ua = q_unary_get(un);
  q_msqmatmul_attrs ma = q_msqmatmul_get(mm);
  const int n_mod = (int)ma.out_zero_points.n;
  double scales[QRT_MSQ_MAX_MODALITIES];
  int code;
  if (n_mod < 1 || n_mod > QRT_MSQ_MAX_MODALITIES || !read_f64s(ma.out_scales, n_mod, scales) ||
      !qcc_unary_kind_code(ua.kind.s, &code))
    return false;
  float table[QRT_MSQ_MAX_MODALITIES][256];
  for (int m = 0; m < n_mod; m++) /* the kernel dequantizes with the float scale */
    if (qrt_build_lut_f32(code, (float)ua.alpha, (float)ua.beta, (float)scales[m], (int32_t)ma.out_zero_points.v[m],
                          table[m]))
      return false;
  MlirContext ctx = mlirOperationGetContext(un);
  ys.dtype = QRT_I8;
  mlirValueSetType(y, qcc_tensor_type(ctx, &ys));
  int64_t tdims[2] = {n_mod, 256};
  q_msq_lut_attrs la = {qcc_str(ua.kind.s)};
  MlirValue f = qcc_insert_before(un, q_msq_lut_create(mlirOperationGetLocation(un), mlirValueGetType(z), y,
                                                       qcc_constant_before(un, QRT_F32, 2, tdims, table),
                                                       q_msqmatmul_in(mm, 5), &la));
  /* z's calibrated range goes with it: a reader the msq pass left to the
   * quantize pass (one range for every modality) quantizes f per tensor,
   * and without the range would stay float. */
  qcc_copy_qcc_attrs(un, mlirOpResultGetOwner(f));
  mlirValueReplaceAllUsesOfWith(z, f);
  mlirOperationDestroy(un);
  qcc_remark("msq: %s reads the layer's int8 codes through a float table per modality (%d tables)", at, n_mod);
  return true;
}

int qcc_msq_tables(MlirBlock body) {
  int n = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);) {
    MlirOperation next = mlirOperationGetNextInBlock(op);
    if (q_unary_is(op) && (tabulate(op) || float_tabulate(op))) n++;
    op = next;
  }
  return n;
}
