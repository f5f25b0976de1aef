/* quant_activations.h - int8 activations in the IR, shared by the quantize
 * pass's layers (quantize.c) and its integer-only nonlinear ops
 * (quantize_nonlinear.c): parameters from calibrated ranges, typed values,
 * reusing an int8 value instead of re-quantizing, and handing a quantized
 * result back to float users. */
#ifndef QCC_QUANT_ACTIVATIONS_H
#define QCC_QUANT_ACTIVATIONS_H
#include "passes.h"
#include "qrt.h"

typedef struct qcc_qparams {
  double scale;
  int64_t zero_point;
  int64_t qmin, qmax; /* code range: [-128, 127] for 8 bits, [-8, 7] for 4, [-32768, 32767] for 16 */
} qcc_qparams;

/* Asymmetric `bits`-bit parameters covering [lo, hi] (always including 0,
 * so zero padding and ReLU's zero are exact). */
qcc_qparams qcc_activation_params(double lo, double hi, int bits);
/* Symmetric `bits`-bit parameters (zero point 0, scale max(|lo|, |hi|) /
 * (2^(bits-1) - 1)), code range [-2^(bits-1), 2^(bits-1) - 1]. */
qcc_qparams qcc_symmetric_params(double lo, double hi, int bits);
/* True when every use of v, through data-movement ops, is the B operand
 * of a q.matmul (attention's keys and values): those want B symmetric,
 * so v's producer picks symmetric parameters and B is read as it is. */
bool qcc_feeds_runtime_matmul_b(MlirValue v);
/* True when the function returns v, as it is or through reshapes (the
 * same values in another shape). */
bool qcc_is_model_output(MlirValue v);
/* reshape, transpose, slice, broadcast, max pool (quantize_movement.c) */
bool qcc_moves_values(MlirOperation op);
/* `like`'s shape as int8 (int16 when p's code range needs it) storage of
 * a !quant.uniform with p. */
MlirType qcc_quant_type_of(MlirContext ctx, MlirValue like, qcc_qparams p);
/* True when x = q.dequantize(src) of an int8 value: *src (may be NULL) and
 * its parameters *p. Such an x is already available as integers. */
bool qcc_int8_source(MlirValue x, MlirValue *src, qcc_qparams *p);
/* As qcc_int8_source for integer codes of any width (int8 or int16). */
bool qcc_int_source(MlirValue x, MlirValue *src, qcc_qparams *p);
/* The range to quantize v to `bits`-bit codes: the calibrated (observer's)
 * range; for 8 bits under a scheme of other activation bits, the MSE
 * observer's 8-bit range (qcc.min8: w4a4's int8 outputs and attention
 * operands would otherwise take a clip chosen for 4-bit steps); for more
 * than 8 bits the raw observed range where the observer clipped it (a
 * clip chosen for 8-bit steps would only add error at 16). */
bool qcc_value_range_bits(MlirValue v, int bits, double *lo, double *hi);
/* The quantized version of x with parameters p: the int8 value x was
 * dequantized from, or an earlier q.quantize of x, when the parameters
 * match; else a new q.quantize inserted before `before`. */
MlirValue qcc_quantized_input(MlirOperation before, MlirValue x, qcc_qparams p);
/* Replaces the uses of `out` (a float result at or after op) with
 * q.dequantize(yq), which keeps out's calibrated range so that the next
 * layer quantizes with the same parameters (and then reads yq). */
void qcc_use_quantized(MlirOperation op, MlirValue out, MlirValue yq);
/* The qcc.* attributes of `from` (calibration ranges, weight SQNR) onto
 * `to`, an op that replaces it: later passes and the report read them. */
void qcc_copy_qcc_attrs(MlirOperation from, MlirOperation to);
/* A q.constant of `t` with the given dims and data, before `before`. */
MlirValue qcc_constant_before(MlirOperation before, qrt_dtype t, int rank, const int64_t *dims, const void *data);
/* Requantization shifts [n] as the int8 kernels' operand, clamped to the
 * 0..62 qrt_requant uses. */
MlirValue qcc_shift_constant(MlirOperation before, const int32_t *shift, int64_t n);
/* --keep-float: the node name in `at` ("q.conv node 'name'") or op_name
 * matches one of the globs. */
bool qcc_kept_float(const char *at, const char *op_name);
/* The layer op (a conv or matmul) matches glob: its node name, or its
 * kind (conv, matmul, and runtime_matmul for matmuls of two run-time
 * operands). */
bool qcc_layer_matches(MlirOperation op, const char *glob);
q_str qcc_str(const char *s);

#endif
