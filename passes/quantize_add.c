/* quantize_add.c - --integer-only: additions between int8 values (the
 * residual adds of a transformer or a ResNet) run on the codes:
 *
 *   y = a + b  (q.binary add)  ->  y_q = q.qadd(a_q, b_q)   (a_mult, b_mult, shift)
 *                                   y = q.dequantize(y_q)     (float users)
 *
 * so the residual stream between int8 layers and integer norms stays int8
 * instead of dequantize -> float add -> quantize. The multipliers come
 * from the runtime's builder (qrt_build_qadd_i8): the kernel never sees a
 * float. y gets its calibrated range; the next layer or norm adopts it.
 *
 * Rules (an add that breaks one stays float, with a remark saying why):
 *  - float32 result with a calibrated range;
 *  - at least one operand int8 already (the output of a quantized layer
 *    or integer op): with both float, quantizing them would cost more than
 *    the float add;
 *  - the other operand int8 too, or float with a calibrated range (then
 *    quantized with it), or a float constant (its codes computed here from
 *    its own min / max: a position embedding);
 *  - not a softmax input (through constant scalings): the integer softmax
 *    takes an additive mask and scales off its input itself;
 *  - scale ratios the builder accepts (operand scale / result scale below
 *    2^22) with neither multiplier 0 (an operand smaller than the result's
 *    step would vanish). */
#include <stdlib.h>
#include <string.h>

#include "qrt.h"
#include "quant_activations.h"
#include "quant_options.h"

/* True when y reaches a softmax through constant scalings only (mul /
 * div with a constant): the integer softmax peels an additive mask and
 * its scales off its input (quantize_nonlinear.c); an int8 add would take
 * the mask's -1e9 into its scale and lose the scores. */
static bool feeds_softmax(MlirValue y) {
  for (int depth = 0; depth < 4; depth++) {
    MlirOpOperand u = mlirValueGetFirstUse(y);
    if (mlirOpOperandIsNull(u) || !mlirOpOperandIsNull(mlirOpOperandGetNextUse(u))) return false;
    MlirOperation user = mlirOpOperandGetOwner(u);
    if (q_softmax_is(user)) return true;
    if (!q_binary_is(user)) return false;
    const char *kind = q_binary_get(user).kind.s;
    MlirValue other = q_binary_in(user, mlirOpOperandGetOperandNumber(u) ? 0 : 1);
    if ((strcmp(kind, "mul") && strcmp(kind, "div")) || !qcc_value_is_constant(other)) return false;
    y = mlirOperationGetResult(user, 0);
  }
  return false;
}

/* A float constant as an int8 constant typed with parameters from its own
 * min / max; the codes are what q.quantize would compute at run time (the
 * runtime's qrt_quantize_f32_i8, run here once). */
static MlirValue quantized_constant(MlirOperation before, MlirValue v, qcc_qparams *p) {
  qcc_array c;
  if (!qcc_value_constant(v, &c)) return (MlirValue){NULL};
  const float *x = (const float *)c.data;
  size_t n = c.nbytes / sizeof(float);
  float lo = 0, hi = 0;
  for (size_t i = 0; i < n; i++) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  *p = qcc_activation_params(lo, hi, 8);
  /* inv_scale as the q.quantize lowering computes it */
  qrt_quantize_params qp = {(int64_t)n, 1.0f / (float)p->scale, (int32_t)p->zero_point, (int32_t)p->qmin,
                            (int32_t)p->qmax};
  int8_t *q = malloc(n ? n : 1);
  qrt_quantize_f32_i8(&qp, (const void *const[]){x}, (void *const[]){q});
  MlirValue k = qcc_constant_before(before, QRT_I8, c.rank, c.dims, q);
  mlirValueSetType(k, qcc_quant_type_of(mlirOperationGetContext(before), v, *p));
  free(q);
  qcc_array_free(&c);
  return k;
}

/* Operand v as int8: its int8 source, a quantized constant, or (with a
 * calibrated range) a new q.quantize. Null when none applies. */
static MlirValue int8_operand(MlirOperation op, MlirValue v, qcc_qparams *p) {
  double lo, hi;
  if (qcc_int8_source(v, NULL, p)) return qcc_quantized_input(op, v, *p);
  if (qcc_value_is_constant(v)) return quantized_constant(op, v, p);
  if (!qcc_value_range(v, &lo, &hi)) return (MlirValue){NULL};
  *p = qcc_activation_params(lo, hi, 8);
  return qcc_quantized_input(op, v, *p);
}

int qcc_quantize_add(MlirOperation op) {
  if (!q_binary_is(op) || strcmp(q_binary_get(op).kind.s, "add")) return 0;
  char at[256];
  qcc_op_where(op, at, sizeof at);
  if (qcc_kept_float(at, "add")) {
    qcc_remark("quantize: %s stays float: --keep-float", at);
    return 0;
  }
  MlirValue a = q_binary_in(op, 0), b = q_binary_in(op, 1), y = mlirOperationGetResult(op, 0);
  qcc_shape as, bs, ys;
  qcc_shape_of(a, &as);
  qcc_shape_of(b, &bs);
  qcc_shape_of(y, &ys);
  qcc_qparams pa, pb, py;
  double lo, hi;
  if (as.dtype != QRT_F32 || bs.dtype != QRT_F32 || ys.dtype != QRT_F32) return 0;
  if (!qcc_int8_source(a, NULL, &pa) && !qcc_int8_source(b, NULL, &pb)) {
    qcc_remark("quantize: %s stays float: neither operand is int8 (the output of an int8 layer)", at);
    return 0;
  }
  if (feeds_softmax(y)) {
    qcc_remark("quantize: %s stays float: a softmax input (the integer softmax takes masks and scales itself)", at);
    return 0;
  }
  if (!qcc_value_range(y, &lo, &hi)) {
    qcc_remark("quantize: %s stays float: no calibration range (run with --calib; an If branch that no sample takes has none)", at);
    return 0;
  }
  py = qcc_activation_params(lo, hi, 8);
  /* anything inserted for an add that then stays float is removed by DCE */
  MlirValue aq = int8_operand(op, a, &pa), bq = int8_operand(op, b, &pb);
  if (mlirValueIsNull(aq) || mlirValueIsNull(bq)) {
    qcc_remark("quantize: %s stays float: its float operand has no calibration range", at);
    return 0;
  }
  int32_t ma, mb, sh;
  if (qrt_build_qadd_i8(pa.scale, pb.scale, py.scale, &ma, &mb, &sh) || ma == 0 || mb == 0) {
    qcc_remark("quantize: %s stays float: operand and result scales too far apart for an int8 add", at);
    return 0;
  }
  q_qadd_attrs qa = {ma, mb, sh};
  MlirValue yq = qcc_insert_before(op, q_qadd_create(mlirOperationGetLocation(op),
                                                     qcc_quant_type_of(mlirOperationGetContext(op), y, py), aq, bq, &qa));
  qcc_use_quantized(op, y, yq);
  return 0;
}
