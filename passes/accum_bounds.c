/* accum_bounds.c - a proof, per integer layer, that its int32 accumulator
 * holds the true sum (run at the end of quantize).
 *
 * The integer GEMM and convolution kernels (runtime/qrt_qmatmul.c,
 * qrt_qconv.c) sum products of codes in int32 modulo 2^32: partial sums may
 * wrap, but the result is the true sum whenever the true sum fits in
 * int32 (every path computes it modulo 2^32, and the zero-point and bias
 * corrections are added in int64 or folded into the bias).  For one output
 * column n the sum is bounded by
 *
 *     |sum_k a_k b_kn| <= A * S_n,   S_n = sum_k |b_kn|
 *
 * with A the largest |a| the activation codes can take over their storage
 * range: |code| where the zero point is folded into the bias (constant
 * weights), |code - zero point| where the kernel subtracts it (run-time
 * B, convolutions), and for grouped int4 weights
 * S_n = sum_g gmult[g,n] * sum_{k in g} |b_kn| (each group's sum is
 * multiplied by its integer multiplier).  A run-time B (attention) is
 * bounded by its own storage range: S = K * max |b|.  The layer is proven
 * when A * max_n S_n <= 2^31 - 1.  Weight codes are what quantize wrote,
 * so the proof is per model, not the worst case of the format (the int8
 * kernels' docs: K <= 65792; grouped int4 K <= 8224): quantize uses the
 * same column sums (qcc_max_weight_column_sum, with A = 128) to keep a
 * layer float when they do not fit, so the check here cannot fail unless
 * a later pass breaks that; if it does, it is an error naming the layer.
 * -v gives the count and the tightest layer.
 *
 * int16 activations (w8i16, qrt_qmatmul_i16): each product of two codes
 * of at most 2^15 in magnitude is exact in int32 (<= 2^30), and the kernel
 * sums them, the zero-point correction and the bias in int64, so the same
 * bound A * S_n (A and S_n from the int16 codes) must stay below 2^62;
 * -v reports these layers apart, as proven in int64. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "quant_weights.h"

enum { INT32_LIMIT = 2147483647 };

typedef struct bound {
  double a_max, col_sum, value; /* value = a_max * col_sum */
  int64_t k;
  bool int64; /* the int16 kernel: int64 sums, limit 2^62 */
} bound;

static const double INT64_SUM_LIMIT = 4611686018427387904.0; /* 2^62 */

/* Largest |code| (raw: the zero point is folded into the bias) or |code -
 * zero point| (centred) over a value's storage range: a !quant.uniform
 * type's, or the element type's for plain integers. */
static double code_max(MlirValue v, bool centred) {
  int64_t lo, hi, zp = 0;
  double scale;
  qcc_shape s;
  if (!qcc_value_quant_range(v, &lo, &hi)) {
    if (!qcc_shape_of(v, &s)) return 0;
    if (s.dtype == QRT_I8) lo = -128, hi = 127;
    else if (s.dtype == QRT_U8) lo = 0, hi = 255;
    else if (s.dtype == QRT_I16) lo = -32768, hi = 32767;
    else return 0;
  } else if (centred) {
    qcc_value_quant(v, &scale, &zp);
  }
  double m = (double)(hi - zp);
  return (double)(zp - lo) > m ? (double)(zp - lo) : m;
}

double qcc_max_weight_column_sum(const int8_t *codes, int64_t rows, int64_t cols, bool col_major, int64_t batches,
                                 const uint8_t *gmult, int64_t group) {
  const int64_t per = rows * cols;
  double best = 0;
  for (int64_t b = 0; b < batches; b++)
    for (int64_t n = 0; n < cols; n++) {
      double s = 0, gs = 0;
      for (int64_t k = 0; k < rows; k++) {
        int code = codes[b * per + (col_major ? n * rows + k : k * cols + n)];
        gs += code < 0 ? -code : code;
        if (gmult && group > 0 && ((k + 1) % group == 0 || k + 1 == rows)) {
          s += gs * gmult[(k / group) * cols + n];
          gs = 0;
        }
      }
      s = gmult && group > 0 ? s : gs;
      if (s > best) best = s;
    }
  return best;
}

/* The bound of a matmul-like layer: activation codes up to a_max, b
 * (constant codes or run-time), optional gmult operand. False when b is not readable. */
static bool matmul_bound(double a_max, MlirValue b, MlirValue gmult, int64_t group, bound *out) {
  qcc_shape bs;
  if (!qcc_shape_of(b, &bs) || bs.rank < 2) return false;
  out->k = bs.dims[bs.rank - 2];
  out->a_max = a_max;
  out->int64 = false;
  qcc_array w, g;
  if (!qcc_value_constant(b, &w)) {
    out->col_sum = (double)out->k * code_max(b, false);
  } else {
    bool have_g = !mlirValueIsNull(gmult) && qcc_value_constant(gmult, &g);
    const int64_t n = bs.dims[bs.rank - 1];
    out->col_sum = qcc_max_weight_column_sum(w.data, out->k, n, false, qcc_array_numel(&w) / (out->k * n),
                                             have_g ? g.data : NULL, group);
    if (have_g) qcc_array_free(&g);
    qcc_array_free(&w);
  }
  out->value = out->a_max * out->col_sum;
  return true;
}

static bool conv_bound(MlirOperation op, bound *out) {
  MlirValue w = mlirOperationGetOperand(op, 1);
  qcc_shape ws;
  qcc_array arr;
  if (!qcc_shape_of(w, &ws) || ws.rank < 1 || !qcc_value_constant(w, &arr)) return false;
  out->k = qcc_shape_numel(&ws) / (ws.dims[0] ? ws.dims[0] : 1);
  out->int64 = false;
  out->a_max = code_max(mlirOperationGetOperand(op, 0), true); /* the kernel sums (x - x_zp) w */
  out->col_sum = qcc_max_weight_column_sum(arr.data, out->k, ws.dims[0], true, 1, NULL, 0);
  out->value = out->a_max * out->col_sum;
  qcc_array_free(&arr);
  return true;
}

/* The layer's bound, or false for ops without an int32 accumulator. */
static bool layer_bound(MlirOperation op, bound *out) {
  MlirValue none = {NULL};
  if (q_qmatmul_is(op)) {
    MlirValue a = q_qmatmul_in(op, 0), b = q_qmatmul_in(op, 1);
    /* constant b: a's zero point is in the bias, the kernel sums raw a b;
     * run-time b: it sums (a - a_zp) b */
    qcc_shape as;
    bool ok = matmul_bound(code_max(a, !qcc_value_is_constant(b)), q_qmatmul_in(op, 1),
                           q_qmatmul_num_in(op, 5) ? q_qmatmul_in(op, 5) : none, q_qmatmul_get(op).group, out);
    out->int64 = qcc_shape_of(a, &as) && as.dtype == QRT_I16;
    return ok;
  }
  if (q_msqmatmul_is(op)) {
    MlirValue a = q_msqmatmul_in(op, 0); /* zero points folded into the bias rows */
    return matmul_bound(code_max(a, false), q_msqmatmul_in(op, 1),
                        q_msqmatmul_num_in(op, 6) ? q_msqmatmul_in(op, 6) : none, q_msqmatmul_get(op).group, out);
  }
  if (q_fqmatmul_is(op)) {
    q_fqmatmul_attrs at = q_fqmatmul_get(op);
    if (at.act_bits <= 0) return false; /* weight-only: a float matmul */
    /* activations quantized per row at run time, symmetric: |code| <= 2^(bits-1) - 1 */
    return matmul_bound((double)((1 << (at.act_bits - 1)) - 1), q_fqmatmul_in(op, 1),
                        q_fqmatmul_num_in(op, 4) ? q_fqmatmul_in(op, 4) : none, at.group, out);
  }
  if (q_qconv_is(op)) return conv_bound(op, out);
  return false;
}

int qcc_check_accumulators(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  int n = 0, n64 = 0, rc = 0;
  bound worst = {0, 0, -1, 0, false}, worst64 = {0, 0, -1, 0, true};
  char at[256], worst_at[256] = "", worst64_at[256] = "";
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    bound b;
    if (!layer_bound(op, &b)) continue;
    qcc_op_where(op, at, sizeof at);
    if (b.value > (b.int64 ? INT64_SUM_LIMIT : INT32_LIMIT)) {
      qcc_error("%s: its %s accumulator could overflow: |sum| may reach %.4g > %s (K %lld, activation codes "
                "up to %.0f, largest weight column sum of |codes| %.0f); keep it float with --keep-float",
                at, b.int64 ? "int64" : "int32", b.value, b.int64 ? "2^62" : "2^31 - 1", (long long)b.k, b.a_max,
                b.col_sum);
      rc = -1;
      continue;
    }
    if (b.int64) {
      n64++;
      if (b.value > worst64.value) worst64 = b, snprintf(worst64_at, sizeof worst64_at, "%s", at);
      continue;
    }
    n++;
    if (b.value > worst.value) worst = b, snprintf(worst_at, sizeof worst_at, "%s", at);
  }
  if (n64 && !rc)
    qcc_remark("accumulators: %d int16 layer%s proven exact in int64 (products of int16 codes exact in int32, |sum| "
               "<= max activation code x column sum of |codes| < 2^62); the tightest, %s, reaches 2^%.1f (K %lld, "
               "codes up to %.0f, column sum %.0f)",
               n64, n64 == 1 ? "" : "s", worst64_at, log2(worst64.value > 1 ? worst64.value : 1), (long long)worst64.k,
               worst64.a_max, worst64.col_sum);
  if (n && !rc)
    qcc_remark("accumulators: %d integer layer%s proven exact in int32 (|sum| <= max activation code x column sum of "
               "|weight codes|); the tightest, %s, reaches %.2f%% of 2^31 (K %lld, codes up to %.0f, column sum %.0f)",
               n, n == 1 ? "" : "s", worst_at, 100.0 * worst.value / 2147483648.0, (long long)worst.k, worst.a_max,
               worst.col_sum);
  return rc;
}

bool qcc_int8_sums_exact(const qcc_qweights *qw) {
  return 128.0 * qcc_max_weight_column_sum(qw->codes, qw->per, qw->channels, false, 1, qw->gmult, qw->group) <=
         (double)INT32_LIMIT;
}
