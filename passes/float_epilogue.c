/* float_epilogue.c - the float-epilogues pass: an int8 layer whose output
 * goes only to float ops (a residual add, a gating product, the graph's
 * output) computes that float directly.
 *
 *   y_q = q.qmatmul(x_q, w, bias, mult, shift[, gmult])   (int8 codes)
 *   y   = q.dequantize(y_q)                               (y_q's only use)
 * becomes
 *   y   = q.qmatmul_deq(x_q, w, bias_f, scale_f[, gmult]) {out_lo, out_hi}
 *
 * with the same integer sums acc and, per column n, scale_f = s_y M0 2^-s
 * (the requantization's multiplier times the output scale: s_x s_w[n] to
 * 31 bits) and bias_f = scale_f * bias[n]: y = clamp(scale_f acc + bias_f,
 * out_lo, out_hi), with [out_lo, out_hi] = s_y ([out_min, out_max] - z_y)
 * the int8 epilogue's output range in real values, is the value the int8
 * layer rounded to a code, before the rounding.  So the output rounding
 * (up to half a step of the output scale) goes; the clip stays: it is the
 * calibrated range, which also bounds the layer's own quantization error
 * (measured: without it, w4a4 on examples/outlier_lm lost 0.09 bits per
 * character), and any ReLU folded into the clamp.
 *
 * Except at a model output (returned as it is, or through reshapes): there
 * the clip is the largest value a few calibration samples happened to
 * reach, and a classifier's logit beyond it would saturate (two classes
 * tied at the clip, the argmax lost). Such a layer keeps only a folded
 * ReLU's bound (out_min at the zero point: 0) and is otherwise unclamped
 * (+-FLT_MAX).
 *
 * Then a float add of such an output and a tensor of its shape (the
 * residual stream: x + o_proj(...), x + down(...)) goes into the epilogue
 * too (q.qmatmul_deq's res operand): the add's bits, no pass of its own.
 *
 * MSQ layers (q.msqmatmul with a float result: per-modality int8
 * epilogues, then dequantized) become q.msqmatmul_deq the same way, with
 * one row of scale_f / bias_f and one clamp per modality.
 *
 * Left as they are, with a remark: a run-time b (attention's matmuls)
 * and int16 codes.  The driver runs the pass after quantize except for
 * --integer-only (every layer's output stays integer codes, by request)
 * and --target npu (the accelerator's epilogues are integer). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_match.h"
#include "quant_activations.h"

/* Why mm (a q.qmatmul read only by a dequantize) keeps its int8 epilogue,
 * or NULL when it can take the float one (then *sy, *zy: its output's
 * scale and zero point). */
static const char *keeps_int8(MlirOperation mm, double *sy, int64_t *zy) {
  MlirValue y = mlirOperationGetResult(mm, 0);
  qcc_shape ys;
  if (!qcc_value_is_constant(q_qmatmul_in(mm, 1))) return "its b is computed at run time";
  if (!qcc_shape_of(y, &ys) || ys.dtype != QRT_I8 || !qcc_value_quant(y, sy, zy)) return "its codes are not int8";
  return NULL;
}

/* The real-value bounds of a float epilogue from the int8 epilogue's codes
 * [out_min, out_max] (scale sy, zero point zy): that range, or at a model
 * output only the folded ReLU's bound (see the file comment). */
static void output_bounds(bool model_output, double sy, int64_t zy, int64_t out_min, int64_t out_max, double *lo,
                          double *hi) {
  *lo = sy * (double)(out_min - zy);
  *hi = sy * (double)(out_max - zy);
  if (!model_output) return;
  *lo = out_min >= zy ? 0.0 : -FLT_MAX;
  *hi = FLT_MAX;
}

/* scale_f and bias_f [rows, N] from a layer's int32 bias, int32
 * multipliers and int8 shifts [rows, N] (rows: 1, or one per modality, row
 * r's output scale sy[r]): scale_f = sy M0 2^-s, bias_f = scale_f bias.
 * False (with a remark) where the constants are not the quantize / msq
 * passes' kind. */
static bool float_constants(MlirValue bv, MlirValue mv, MlirValue sv, const char *at, int64_t rows, int64_t N,
                            const double *sy, float *scale, float *bias) {
  qcc_array b = {0}, m = {0}, s = {0};
  const int64_t n_all = rows * N;
  bool ok = qcc_value_constant(bv, &b) && qcc_value_constant(mv, &m) && qcc_value_constant(sv, &s) &&
            b.dtype == QRT_I32 && m.dtype == QRT_I32 && s.dtype == QRT_I8 && qcc_array_numel(&b) == n_all &&
            qcc_array_numel(&m) == n_all && qcc_array_numel(&s) == n_all;
  for (int64_t i = 0; ok && i < n_all; i++) {
    const int32_t m0 = ((int32_t *)m.data)[i];
    const int sh = ((int8_t *)s.data)[i];
    const double f = m0 > 0 ? sy[i / N] * ldexp((double)m0, -(sh < 0 ? 0 : sh > 62 ? 62 : sh)) : 0.0;
    scale[i] = (float)f;
    bias[i] = (float)(f * ((int32_t *)b.data)[i]);
  }
  if (!ok)
    qcc_remark("float-epilogues: %s keeps its int8 epilogue: its constants are not int32 biases, int32 multipliers "
               "and int8 shifts, one per column (and modality)", at);
  qcc_array_free(&b);
  qcc_array_free(&m);
  qcc_array_free(&s);
  return ok;
}

/* deq = q.dequantize of a q.qmatmul's only use: the pair becomes one
 * q.qmatmul_deq where it can. */
static void fold(MlirOperation deq) {
  MlirValue yq = q_dequantize_in(deq, 0), y = mlirOperationGetResult(deq, 0);
  MlirOperation mm = def(yq);
  char at[256];
  double sy;
  int64_t zy;
  if (mlirOperationIsNull(mm) || !q_qmatmul_is(mm) || !single_use(yq)) return;
  qcc_op_where(mm, at, sizeof at);
  const char *why = keeps_int8(mm, &sy, &zy);
  if (why) {
    qcc_remark("float-epilogues: %s keeps its int8 epilogue: %s", at, why);
    return;
  }
  qcc_shape ws;
  qcc_shape_of(q_qmatmul_in(mm, 1), &ws);
  const int64_t N = ws.dims[ws.rank - 1];
  float *scale = malloc(sizeof(float) * (size_t)N), *bias = malloc(sizeof(float) * (size_t)N);
  if (!scale || !bias ||
      !float_constants(q_qmatmul_in(mm, 2), q_qmatmul_in(mm, 3), q_qmatmul_in(mm, 4), at, 1, N, &sy, scale, bias)) {
    free(scale);
    free(bias);
    return;
  }
  q_qmatmul_attrs a = q_qmatmul_get(mm);
  q_qmatmul_deq_attrs da;
  memset(&da, 0, sizeof da);
  da.weight_scales = a.weight_scales;
  da.format = a.format;
  da.group = a.group;
  const bool model_output = qcc_is_model_output(y);
  /* the codes' range in real values: clip and ReLU */
  output_bounds(model_output, sy, zy, a.out_min, a.out_max, &da.out_lo, &da.out_hi);
  MlirValue bias_f = qcc_constant_before(deq, QRT_F32, 1, &N, bias);
  MlirValue scale_f = qcc_constant_before(deq, QRT_F32, 1, &N, scale);
  MlirValue gmult = q_qmatmul_num_in(mm, 5) ? q_qmatmul_in(mm, 5) : (MlirValue){NULL};
  MlirValue out = qcc_insert_before(
      deq, q_qmatmul_deq_create(mlirOperationGetLocation(mm), mlirValueGetType(y), q_qmatmul_in(mm, 0),
                                q_qmatmul_in(mm, 1), bias_f, scale_f, gmult, (MlirValue){NULL}, &da));
  MlirOperation nop = mlirOpResultGetOwner(out);
  qcc_copy_qcc_attrs(mm, nop);
  qcc_copy_qcc_attrs(deq, nop);
  mlirValueReplaceAllUsesOfWith(y, out);
  qcc_remark("float-epilogues: %s computes its float output directly (its int8 codes only fed a dequantize)%s", at,
             model_output ? ", unclipped: a model output" : "");
  mlirOperationDestroy(deq);
  mlirOperationDestroy(mm);
  free(scale);
  free(bias);
}

/* mm = a q.msqmatmul whose int8 epilogues are dequantized in the kernel
 * (a float result): the same rewrite as fold, per modality. */
static void fold_msq(MlirOperation mm) {
  MlirValue y = mlirOperationGetResult(mm, 0);
  qcc_shape ys, ws;
  if (!qcc_shape_of(y, &ys) || ys.dtype != QRT_F32 || !qcc_shape_of(q_msqmatmul_in(mm, 1), &ws) || ws.rank != 2)
    return; /* int8 codes for attention: no float epilogue there */
  char at[256];
  qcc_op_where(mm, at, sizeof at);
  q_msqmatmul_attrs a = q_msqmatmul_get(mm);
  const int n_mod = (int)a.out_zero_points.n;
  const int64_t N = ws.dims[1];
  qcc_array os = {0};
  double sy[QRT_MSQ_MAX_MODALITIES], lo[QRT_MSQ_MAX_MODALITIES], hi[QRT_MSQ_MAX_MODALITIES];
  if (n_mod < 1 || n_mod > QRT_MSQ_MAX_MODALITIES || !qcc_dense_attr_read(a.out_scales, &os) || os.dtype != QRT_F64 ||
      qcc_array_numel(&os) != n_mod || a.out_mins.n != n_mod || a.out_maxs.n != n_mod) {
    qcc_array_free(&os);
    qcc_remark("float-epilogues: %s keeps its int8 epilogue: its output parameters are not one per modality", at);
    return;
  }
  const bool model_output = qcc_is_model_output(y);
  for (int m = 0; m < n_mod; m++) {
    sy[m] = ((double *)os.data)[m];
    output_bounds(model_output, sy[m], a.out_zero_points.v[m], a.out_mins.v[m], a.out_maxs.v[m], &lo[m], &hi[m]);
  }
  qcc_array_free(&os);
  float *scale = malloc(sizeof(float) * (size_t)(n_mod * N)), *bias = malloc(sizeof(float) * (size_t)(n_mod * N));
  if (!scale || !bias ||
      !float_constants(q_msqmatmul_in(mm, 2), q_msqmatmul_in(mm, 3), q_msqmatmul_in(mm, 4), at, n_mod, N, sy, scale,
                       bias)) {
    free(scale);
    free(bias);
    return;
  }
  MlirContext ctx = mlirOperationGetContext(mm);
  const qcc_shape rs = {QRT_F64, 1, {n_mod}};
  const int64_t pdims[2] = {n_mod, N};
  q_msqmatmul_deq_attrs da;
  memset(&da, 0, sizeof da);
  da.out_los = qcc_dense_attr(ctx, &rs, lo);
  da.out_his = qcc_dense_attr(ctx, &rs, hi);
  da.format = a.format;
  da.group = a.group;
  MlirValue gmult = q_msqmatmul_num_in(mm, 6) ? q_msqmatmul_in(mm, 6) : (MlirValue){NULL};
  MlirValue out = qcc_insert_before(
      mm, q_msqmatmul_deq_create(mlirOperationGetLocation(mm), mlirValueGetType(y), q_msqmatmul_in(mm, 0),
                                 q_msqmatmul_in(mm, 1), qcc_constant_before(mm, QRT_F32, 2, pdims, bias),
                                 qcc_constant_before(mm, QRT_F32, 2, pdims, scale), q_msqmatmul_in(mm, 5), gmult,
                                 (MlirValue){NULL}, &da));
  qcc_copy_qcc_attrs(mm, mlirOpResultGetOwner(out));
  mlirValueReplaceAllUsesOfWith(y, out);
  qcc_remark("float-epilogues: %s computes its float output directly, per modality%s", at,
             model_output ? ", unclipped: a model output" : "");
  mlirOperationDestroy(mm);
  free(scale);
  free(bias);
}

/* True when a and b are float tensors of the same static shape. */
static bool same_float_shape(MlirValue a, MlirValue b) {
  qcc_shape sa, sb;
  return qcc_shape_of(a, &sa) && qcc_shape_of(b, &sb) && sa.dtype == QRT_F32 && sb.dtype == QRT_F32 &&
         qcc_shape_same_dims(&sa, &sb);
}

/* mm with the residual r: a new q.qmatmul_deq / q.msqmatmul_deq of result
 * type t, inserted before `before`. */
static MlirValue with_residual(MlirOperation mm, MlirValue r, MlirType t, MlirOperation before) {
  MlirLocation loc = mlirOperationGetLocation(mm);
  if (q_qmatmul_deq_is(mm)) {
    q_qmatmul_deq_attrs a = q_qmatmul_deq_get(mm);
    MlirValue gmult = q_qmatmul_deq_num_in(mm, 4) ? q_qmatmul_deq_in(mm, 4) : (MlirValue){NULL};
    return qcc_insert_before(before, q_qmatmul_deq_create(loc, t, q_qmatmul_deq_in(mm, 0), q_qmatmul_deq_in(mm, 1),
                                                          q_qmatmul_deq_in(mm, 2), q_qmatmul_deq_in(mm, 3), gmult,
                                                          r, &a));
  }
  q_msqmatmul_deq_attrs a = q_msqmatmul_deq_get(mm);
  MlirValue gmult = q_msqmatmul_deq_num_in(mm, 5) ? q_msqmatmul_deq_in(mm, 5) : (MlirValue){NULL};
  return qcc_insert_before(before, q_msqmatmul_deq_create(loc, t, q_msqmatmul_deq_in(mm, 0), q_msqmatmul_deq_in(mm, 1),
                                                          q_msqmatmul_deq_in(mm, 2), q_msqmatmul_deq_in(mm, 3),
                                                          q_msqmatmul_deq_in(mm, 4), gmult, r, &a));
}

/* mm = q.qmatmul_deq or q.msqmatmul_deq (no residual yet) whose result's
 * only use is a float add with an operand r of its own shape (a residual
 * stream): the add becomes mm's residual, y = (scale acc + bias) + r in
 * the epilogue: the add's own bits (a float add commutes), one pass over
 * the output less.  Returns the op the walk goes on after (the new op,
 * where the add was). */
static MlirOperation fuse_residual(MlirOperation mm) {
  MlirValue y = mlirOperationGetResult(mm, 0);
  MlirOperation add = sole_user(y);
  const bool has_res = q_qmatmul_deq_is(mm) ? q_qmatmul_deq_num_in(mm, 5) : q_msqmatmul_deq_num_in(mm, 6);
  if (has_res || !is_binary(add, "add")) return mm;
  MlirValue r = mlirValueEqual(q_binary_in(add, 0), y) ? q_binary_in(add, 1) : q_binary_in(add, 0);
  MlirValue z = mlirOperationGetResult(add, 0);
  if (mlirValueEqual(r, y) || !same_float_shape(r, y) || !same_float_shape(z, y)) return mm;
  MlirValue out = with_residual(mm, r, mlirValueGetType(z), add);
  MlirOperation nop = mlirOpResultGetOwner(out);
  char at[256];
  qcc_copy_qcc_attrs(mm, nop);
  qcc_copy_qcc_attrs(add, nop);
  mlirValueReplaceAllUsesOfWith(z, out);
  qcc_remark("float-epilogues: %s adds the residual in its epilogue", qcc_op_where(add, at, sizeof at));
  mlirOperationDestroy(add);
  mlirOperationDestroy(mm);
  return nop;
}

int qcc_pass_float_epilogues(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);) {
    MlirOperation next = mlirOperationGetNextInBlock(op); /* fold destroys op and its (earlier) q.qmatmul */
    if (q_dequantize_is(op)) fold(op);
    else if (q_msqmatmul_is(op)) fold_msq(op);
    op = next;
  }
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op))
    if (q_qmatmul_deq_is(op) || q_msqmatmul_deq_is(op)) op = fuse_residual(op); /* destroys op and the (later) add */
  return qcc_pass_dce(m);
}
