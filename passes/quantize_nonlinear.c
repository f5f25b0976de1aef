/* quantize_nonlinear.c - --integer-only: the nonlinear ops between the
 * quantized layers run on int8 with integer arithmetic only (I-BERT /
 * I-LLM style), through the runtime's integer kernels:
 *
 *   y = f(x)          (q.unary)    ->  y_q = q.lut(x_q, table)
 *   y = softmax(x)    (q.softmax)  ->  y_q = q.qsoftmax(x_q, table[, mask])
 *   y = norm(x, g, b) (q.norm)     ->  y_q = q.qnorm(x_q, g_q[, b_q])
 *
 * followed by y = q.dequantize(y_q) for float users; the next quantized
 * layer reads y_q itself (quantize.c adopts an int8 input's parameters).
 * Every float constant becomes an integer one here, by the runtime's
 * builders (qrt_build_lut_i8, qrt_build_qsoftmax_i8, qrt_build_qnorm_i8),
 * so the kernels never see a float.
 *
 * Rules (an op that breaks one stays float, with a remark saying why):
 *  - float32, with a calibrated output range (norms and functions; the
 *    softmax output is fixed: scale 1/256, zero point -128, as TFLite);
 *  - a function's input is already int8 (the output of a quantized layer
 *    or of another integer op): a table lookup on a float input would
 *    first need a quantize, which costs more than the function;
 *  - norms and softmax quantize a float input with its calibrated range
 *    (the residual stream a norm reads is a float sum); for softmax only
 *    when the int8 step is at most 1/8 in the exponent (its error grows as
 *    e^(step/2): a wide-range float input stays float);
 *  - softmax over the last axis, not log-softmax; constant factors on its
 *    input are peeled into the table: multiplication or division by a
 *    positive scalar (attention's 1/sqrt(d)) and one additive mask whose
 *    entries are 0 or so negative that exp underflows (a causal mask),
 *    which becomes a ui8 keep-mask, or AIFS's mask computed at run time
 *    (runtime_keep_mask: its bool condition is the keep operand); any
 *    other added term (ALiBi) stays in the float input;
 *  - norms: constant gamma (and beta) over the trailing dims.
 *
 * Without --integer-only (the static schemes) a function still becomes a
 * table when it sits between int8 layers: int8 input, and every user a
 * layer input that would be quantized with the output's calibrated
 * parameters anyway (an MLP's GELU between fc1 and fc2). One on an int8
 * input whose output stays float becomes a float table (float_table):
 * the same bits, one lookup per element. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_call.h"
#include "quant_activations.h"
#include "quant_options.h"

static bool float_tensor(MlirValue v, qcc_shape *s) {
  qcc_shape_of(v, s);
  return s->dtype == QRT_F32;
}

/* The int8 parameters x is read with: those of its int8 source, or
 * (*from_float) of its calibrated range. The int8 value itself comes from
 * qcc_quantized_input once the op is certain to be converted: the source
 * when there is one, else a new q.quantize. */
static bool input_params(MlirValue x, qcc_qparams *p, bool *from_float) {
  *from_float = !qcc_int8_source(x, NULL, p);
  double lo, hi;
  if (!*from_float) return true;
  if (!qcc_value_range(x, &lo, &hi)) return false;
  *p = qcc_activation_params(lo, hi, 8);
  return true;
}

static bool output_params(MlirValue y, qcc_qparams *p) {
  double lo, hi;
  if (!qcc_value_range(y, &lo, &hi)) return false;
  *p = qcc_activation_params(lo, hi, 8);
  return true;
}

static int lut(MlirOperation op, const char *at) {
  q_unary_attrs a = q_unary_get(op);
  MlirValue x = q_unary_in(op, 0), y = mlirOperationGetResult(op, 0);
  qcc_shape xs;
  qcc_qparams in, out;
  int code;
  int8_t table[256];
  bool from_float;
  if (!float_tensor(x, &xs)) return 0;
  if (!input_params(x, &in, &from_float) || from_float) {
    qcc_remark("quantize: %s stays float: its input is float (not the output of an int8 layer)", at);
    return 0;
  }
  if (!output_params(y, &out)) {
    qcc_remark("quantize: %s stays float: no calibration range (run with --calib; an If branch that no sample takes has none)", at);
    return 0;
  }
  if (!qcc_unary_kind_code(a.kind.s, &code) ||
      qrt_build_lut_i8(code, (float)a.alpha, (float)a.beta, in.scale, (int32_t)in.zero_point, out.scale,
                       (int32_t)out.zero_point, table)) {
    qcc_remark("quantize: %s stays float: '%s' has no int8 table", at, a.kind.s);
    return 0;
  }
  MlirContext ctx = mlirOperationGetContext(op);
  int64_t n = 256;
  q_lut_attrs la = {qcc_str(a.kind.s)};
  MlirValue xq = qcc_quantized_input(op, x, in);
  MlirValue yq = qcc_insert_before(op, q_lut_create(mlirOperationGetLocation(op), qcc_quant_type_of(ctx, y, out), xq,
                                                    qcc_constant_before(op, QRT_I8, 1, &n, table), &la));
  qcc_use_quantized(op, y, yq);
  return 0;
}

/* Static schemes: a float function of an int8 layer's output whose result
 * stays float (SwiGLU's SiLU, whose product with the up projection is a
 * float Mul; a function whose output leaves the model) has 256 possible
 * inputs, so it becomes q.lut with a float table: f of every code's
 * dequantized value, computed by the runtime's own kernels
 * (qrt_build_lut_f32), so the lookup gives the bits the dequantize and
 * the float kernel gave, with one load per element. */
static int float_table(MlirOperation op, const char *at) {
  q_unary_attrs a = q_unary_get(op);
  MlirValue x = q_unary_in(op, 0), y = mlirOperationGetResult(op, 0), src;
  qcc_shape xs, ys;
  qcc_qparams in;
  int code;
  float table[256];
  if (!float_tensor(x, &xs) || !float_tensor(y, &ys) || !qcc_int8_source(x, &src, &in)) return 0;
  if (!qcc_unary_kind_code(a.kind.s, &code) ||
      qrt_build_lut_f32(code, (float)a.alpha, (float)a.beta, (float)in.scale, (int32_t)in.zero_point, table))
    return 0;
  int64_t n = 256;
  q_lut_attrs la = {qcc_str(a.kind.s)};
  MlirValue t = qcc_insert_before(op, q_lut_create(mlirOperationGetLocation(op), mlirValueGetType(y), src,
                                                   qcc_constant_before(op, QRT_F32, 1, &n, table), &la));
  mlirValueReplaceAllUsesOfWith(y, t);
  mlirOperationDestroy(op);
  qcc_remark("quantize: %s reads its input's int8 codes through a float table", at);
  return 0;
}

/* A positive scalar float constant. */
static bool positive_scalar(MlirValue v, double *c) {
  qcc_array arr;
  if (!qcc_value_constant(v, &arr)) return false;
  bool ok = arr.dtype == QRT_F32 && arr.nbytes == sizeof(float) && ((float *)arr.data)[0] > 0 &&
            isfinite(((float *)arr.data)[0]);
  if (ok) *c = ((float *)arr.data)[0];
  qcc_array_free(&arr);
  return ok;
}

/* m, a constant added to softmax's input x (scaled by `after` on the way),
 * as a keep-mask: every entry 0 (keep) or with after * m <= -104 (exp
 * underflows in float32: the element contributes exactly 0); its dims,
 * without leading 1s, must be x's trailing dims, so that it cycles over x
 * in row-major order. NULL when it is not such a mask. */
static uint8_t *keep_mask(MlirValue m, const qcc_shape *xs, double after, int64_t *n) {
  qcc_array arr;
  if (!qcc_value_constant(m, &arr)) return NULL;
  uint8_t *keep = NULL;
  int lead = 0;
  while (lead < arr.rank && arr.dims[lead] == 1) lead++;
  bool shape_ok = arr.dtype == QRT_F32 && arr.rank - lead <= xs->rank;
  for (int i = lead; shape_ok && i < arr.rank; i++) shape_ok = arr.dims[i] == xs->dims[xs->rank - arr.rank + i];
  *n = (int64_t)(arr.nbytes / sizeof(float));
  if (shape_ok && *n > 0) {
    keep = malloc((size_t)*n);
    for (int64_t i = 0; i < *n && keep; i++) {
      float v = ((float *)arr.data)[i];
      if (v == 0) keep[i] = 1;
      else if (after * v <= -104.0) keep[i] = 0;
      else free(keep), keep = NULL;
    }
  }
  qcc_array_free(&arr);
  return keep;
}

/* The value v reshapes (v itself when it is not a q.reshape's result). */
static MlirValue reshape_source(MlirValue v) {
  if (mlirValueIsAOpResult(v) && q_reshape_is(mlirOpResultGetOwner(v))) return q_reshape_in(mlirOpResultGetOwner(v), 0);
  return v;
}

/* Whether c, a bool [T, T], is true on its diagonal by its form: a
 * comparison c[i][j] = p[j] op p[i] (or p[i] op p[j]) with op one of <=,
 * >=, == and p one integer vector reshaped to [1, T] and to [T, 1] (AIFS's
 * permuted causal mask: token i sees j iff orig(j) <= orig(i)). */
static bool keeps_diagonal(MlirValue c, int64_t T) {
  if (!mlirValueIsAOpResult(c) || !q_binary_is(mlirOpResultGetOwner(c))) return false;
  MlirOperation cmp = mlirOpResultGetOwner(c);
  const char *kind = q_binary_get(cmp).kind.s;
  if (strcmp(kind, "less_equal") && strcmp(kind, "greater_equal") && strcmp(kind, "equal")) return false;
  MlirValue l = q_binary_in(cmp, 0), r = q_binary_in(cmp, 1), p = reshape_source(l);
  qcc_shape ls, rs, ps;
  qcc_shape_of(l, &ls);
  qcc_shape_of(r, &rs);
  qcc_shape_of(p, &ps);
  if (!mlirValueEqual(p, reshape_source(r)) || qcc_shape_numel(&ps) != T || ls.rank != 2 || rs.rank != 2) return false;
  if (ps.dtype != QRT_I64 && ps.dtype != QRT_I32 && ps.dtype != QRT_I8 && ps.dtype != QRT_U8) return false;
  const bool row_col = ls.dims[0] == 1 && ls.dims[1] == T && rs.dims[0] == T && rs.dims[1] == 1;
  const bool col_row = ls.dims[0] == T && ls.dims[1] == 1 && rs.dims[0] == 1 && rs.dims[1] == T;
  return row_col || col_row;
}

/* A float scalar constant (one element, any rank). */
static bool float_scalar(MlirValue v, float *c) {
  qcc_array arr;
  if (!qcc_value_constant(v, &arr)) return false;
  bool ok = arr.dtype == QRT_F32 && arr.nbytes == sizeof(float);
  if (ok) *c = ((float *)arr.data)[0];
  qcc_array_free(&arr);
  return ok;
}

/* m, a run-time term added to softmax's input x [..., T, T], as a keep-mask
 * read at run time: m = where(cond, 0, c) with c < 0 a scalar constant (the
 * caller bounds it so that exp underflows) and cond a bool [T, T] that keeps
 * every row's diagonal (keeps_diagonal): a row with nothing kept would make
 * the float chain's softmax of (score + c) and the kernel's differ. *cond is
 * the mask operand (bool bytes are 0 / 1), *worst = c. */
static bool runtime_keep_mask(MlirValue m, const qcc_shape *xs, MlirValue *cond, float *worst) {
  float zero, c;
  qcc_shape cs;
  if (!mlirValueIsAOpResult(m) || !q_where_is(mlirOpResultGetOwner(m)) || xs->rank < 2) return false;
  MlirOperation w = mlirOpResultGetOwner(m);
  const int64_t T = xs->dims[xs->rank - 1];
  qcc_shape_of(q_where_in(w, 0), &cs);
  int lead = 0;
  while (lead < cs.rank && cs.dims[lead] == 1) lead++;
  if (cs.dtype != QRT_BOOL || cs.rank - lead != 2 || cs.dims[cs.rank - 2] != T || cs.dims[cs.rank - 1] != T ||
      xs->dims[xs->rank - 2] != T)
    return false;
  if (!float_scalar(q_where_in(w, 1), &zero) || zero != 0 || !float_scalar(q_where_in(w, 2), &c) || !(c < 0))
    return false;
  MlirValue cv = q_where_in(w, 0);
  if (!keeps_diagonal(reshape_source(cv), T)) return false;
  *cond = cv, *worst = c;
  return true;
}

/* runtime_keep_mask with every masked element's exp underflowing after
 * the factor `after` (as keep_mask): *cond set only then. */
static bool underflowing_run_mask(MlirValue m, const qcc_shape *xs, double after, MlirValue *cond) {
  MlirValue c;
  float worst;
  if (!runtime_keep_mask(m, xs, &c, &worst) || !(after * worst <= -104.0)) return false;
  *cond = c;
  return true;
}

/* The largest int8 step (in exponent units) a softmax's float input may be
 * quantized with here. */
static const double max_float_input_step = 0.125;

static int softmax(MlirOperation op, const char *at) {
  q_softmax_attrs a = q_softmax_get(op);
  MlirValue x = q_softmax_in(op, 0), y = mlirOperationGetResult(op, 0);
  qcc_shape xs;
  if (!float_tensor(x, &xs)) return 0;
  if (a.log || xs.rank < 1 || a.axis != xs.rank - 1) {
    qcc_remark("quantize: %s stays float: the integer softmax is over the last axis and not logarithmic", at);
    return 0;
  }
  /* Peel constant factors and one mask (constant, or AIFS's run-time
   * one: runtime_keep_mask) off the input, innermost last. */
  double factor = 1.0;
  uint8_t *mask = NULL;
  int64_t mask_n = 0;
  MlirValue run_mask = {NULL};
  for (int depth = 0; depth < 4 && mlirValueIsAOpResult(x); depth++) {
    MlirOperation def = mlirOpResultGetOwner(x);
    if (!q_binary_is(def)) break;
    const char *kind = q_binary_get(def).kind.s;
    MlirValue l = q_binary_in(def, 0), r = q_binary_in(def, 1);
    double c;
    if (!strcmp(kind, "mul") && positive_scalar(r, &c)) factor *= c, x = l;
    else if (!strcmp(kind, "mul") && positive_scalar(l, &c)) factor *= c, x = r;
    else if (!strcmp(kind, "div") && positive_scalar(r, &c)) factor /= c, x = l;
    else if (!strcmp(kind, "add") && !mask && qcc_value_is_constant(r) && (mask = keep_mask(r, &xs, factor, &mask_n)))
      x = l;
    else if (!strcmp(kind, "add") && !mask && qcc_value_is_constant(l) && (mask = keep_mask(l, &xs, factor, &mask_n)))
      x = r;
    else if (!strcmp(kind, "add") && !mask && mlirValueIsNull(run_mask) && underflowing_run_mask(r, &xs, factor, &run_mask))
      x = l;
    else if (!strcmp(kind, "add") && !mask && mlirValueIsNull(run_mask) && underflowing_run_mask(l, &xs, factor, &run_mask))
      x = r;
    else
      break;
  }
  qcc_qparams in, out = {1.0 / 256.0, -128, -128, 127};
  int32_t table[256];
  qcc_shape inner;
  qcc_shape_of(x, &inner);
  bool from_float;
  char why[160] = "";
  if (inner.dtype != QRT_F32 || qcc_shape_numel(&inner) != qcc_shape_numel(&xs) || inner.rank < 1 ||
      inner.dims[inner.rank - 1] != xs.dims[xs.rank - 1])
    snprintf(why, sizeof why, "a term added to its input broadcasts it");
  else if (!input_params(x, &in, &from_float))
    snprintf(why, sizeof why, "no calibration range for its input (run with --calib; an If branch that no sample takes has none)");
  else if (from_float && in.scale * factor > max_float_input_step)
    /* quantizing here would move the logits by up to half a step: exp's
     * relative error e^(step/2) - 1 past 6% (a wide-range input whose
     * small differences matter, as [10000, 10001, ...]) */
    snprintf(why, sizeof why, "its float input's int8 step would be %g in the exponent (> %g)", in.scale * factor,
             max_float_input_step);
  else if (qrt_build_qsoftmax_i8(in.scale * factor, table))
    snprintf(why, sizeof why, "no integer table for input scale %g", in.scale * factor);
  if (why[0]) {
    qcc_remark("quantize: %s stays float: %s", at, why);
  } else {
    MlirContext ctx = mlirOperationGetContext(op);
    int64_t n = 256;
    MlirValue mv = {NULL};
    if (mask) mv = qcc_constant_before(op, QRT_U8, 1, &mask_n, mask);
    else if (!mlirValueIsNull(run_mask)) mv = run_mask;
    q_qsoftmax_attrs sa = {factor};
    MlirValue xq = qcc_quantized_input(op, x, in);
    MlirValue yq = qcc_insert_before(
        op, q_qsoftmax_create(mlirOperationGetLocation(op), qcc_quant_type_of(ctx, y, out), xq,
                              qcc_constant_before(op, QRT_I32, 1, &n, table), mv, &sa));
    qcc_use_quantized(op, y, yq);
  }
  free(mask);
  return 0;
}

/* Static schemes: a float softmax over the last axis whose input is an
 * int8 layer's output through constant factors and at most one additive
 * mask (attention: dequantize(q kT) * 1/sqrt(d) + causal mask) becomes
 * q.softmax_codes: one pass over the codes through a float table instead
 * of a float pass per step.  The table is each code's value after the
 * dequantize and the factors, computed with the kernels' own formulas
 * (qrt_dequantize_i8_f32, then each multiplication or division in the
 * graph's order), so every kept element has the float it had.  The mask
 * must be 0 (kept: adding a zero changes no table value, none is -0.0) or
 * so negative that a masked element's exp is 0 whatever the codes and
 * below every kept value (its largest possible value, minus the smallest
 * kept one, below -100; qrt_exp_f32 gives 0 below -86.6), with a kept element
 * in every row: the kernel's -inf there gives the same max, the same
 * zeros, the same sum.  So the result has the same bits.  A mask computed
 * at run time qualifies in one form, where(c, 0, negative) with c keeping
 * each row's diagonal (AIFS's permuted causal mask, runtime_keep_mask):
 * c itself is the keep operand. */
typedef struct chain_step { char kind; float c; } chain_step;

/* Whether v is an add with one operand an int8 layer's output, through
 * positive scalar factors: scores the softmax could read as codes but for
 * the other term. */
static bool added_to_codes(MlirValue v) {
  if (!mlirValueIsAOpResult(v) || !q_binary_is(mlirOpResultGetOwner(v))) return false;
  MlirOperation add = mlirOpResultGetOwner(v);
  if (strcmp(q_binary_get(add).kind.s, "add")) return false;
  for (int side = 0; side < 2; side++) {
    MlirValue s = q_binary_in(add, side);
    double c;
    while (mlirValueIsAOpResult(s) && q_binary_is(mlirOpResultGetOwner(s))) {
      MlirOperation f = mlirOpResultGetOwner(s);
      const char *kind = q_binary_get(f).kind.s;
      if ((!strcmp(kind, "mul") || !strcmp(kind, "div")) && positive_scalar(q_binary_in(f, 1), &c)) s = q_binary_in(f, 0);
      else if (!strcmp(kind, "mul") && positive_scalar(q_binary_in(f, 0), &c)) s = q_binary_in(f, 1);
      else break;
    }
    qcc_qparams qp;
    if (qcc_int8_source(s, NULL, &qp)) return true;
  }
  return false;
}

/* Whether a masked element's largest value, every code through the chain
 * with the mask's largest masked entry `worst` (in double: float rounding
 * moves it by far less than the margin), stays below the smallest kept
 * value lo by more than 100, so that its exp is 0. */
static bool masked_underflows(qrt_dequantize_params dp, const chain_step *chain, int nchain, float worst, float lo) {
  for (int i = 0; worst > -INFINITY && i < 256; i++) {
    double v = (double)dp.scale * (double)(i - 128 - dp.zero_point);
    for (int k = nchain - 1; k >= 0; k--)
      v = chain[k].kind == '*' ? v * chain[k].c : chain[k].kind == '/' ? v / chain[k].c : v + worst;
    if (!(v - lo < -100.0)) return false;
  }
  return true;
}

static int softmax_codes(MlirOperation op, const char *at) {
  q_softmax_attrs a = q_softmax_get(op);
  MlirValue x = q_softmax_in(op, 0), y = mlirOperationGetResult(op, 0), src, mask = {NULL}, run_mask = {NULL};
  float run_worst = 0;
  qcc_shape xs, ys, ss;
  qcc_qparams in;
  chain_step chain[4]; /* outermost first; '+' is the mask */
  int nchain = 0, i, k;
  if (qcc_quant_opts.softmax_bits || !float_tensor(x, &xs) || !float_tensor(y, &ys) || a.log || xs.rank < 1 ||
      a.axis != xs.rank - 1)
    return 0;
  while (nchain < 4 && mlirValueIsAOpResult(x)) {
    MlirOperation def = mlirOpResultGetOwner(x);
    if (!q_binary_is(def)) break;
    const char *kind = q_binary_get(def).kind.s;
    MlirValue l = q_binary_in(def, 0), r = q_binary_in(def, 1);
    double c;
    if (!strcmp(kind, "mul") && positive_scalar(r, &c)) chain[nchain++] = (chain_step){'*', (float)c}, x = l;
    else if (!strcmp(kind, "mul") && positive_scalar(l, &c)) chain[nchain++] = (chain_step){'*', (float)c}, x = r;
    else if (!strcmp(kind, "div") && positive_scalar(r, &c)) chain[nchain++] = (chain_step){'/', (float)c}, x = l;
    else if (!strcmp(kind, "add") && mlirValueIsNull(mask) && qcc_value_is_constant(r))
      mask = r, chain[nchain++] = (chain_step){'+', 0.0f}, x = l;
    else if (!strcmp(kind, "add") && mlirValueIsNull(mask) && qcc_value_is_constant(l))
      mask = l, chain[nchain++] = (chain_step){'+', 0.0f}, x = r;
    else if (!strcmp(kind, "add") && mlirValueIsNull(mask) && runtime_keep_mask(r, &xs, &run_mask, &run_worst))
      mask = r, chain[nchain++] = (chain_step){'+', 0.0f}, x = l;
    else if (!strcmp(kind, "add") && mlirValueIsNull(mask) && runtime_keep_mask(l, &xs, &run_mask, &run_worst))
      mask = l, chain[nchain++] = (chain_step){'+', 0.0f}, x = r;
    else
      break;
  }
  if (!qcc_int8_source(x, &src, &in)) {
    if (added_to_codes(x))
      qcc_remark("quantize: %s reads float scores: the term added to them is computed at run time and not "
                 "where(c, 0, negative) with c[i][i] true by its form (a row could keep nothing)", at);
    return 0;
  }
  qcc_shape_of(src, &ss);
  if (qcc_shape_numel(&ss) != qcc_shape_numel(&xs) || ss.rank < 1 || ss.dims[ss.rank - 1] != xs.dims[xs.rank - 1])
    return 0; /* a factor or the mask broadcasts the scores */
  /* the table: the runtime's dequantize, then the factors innermost first */
  int8_t codes[256];
  float table[256], lo = INFINITY;
  for (i = 0; i < 256; i++) codes[i] = (int8_t)(i - 128);
  qrt_dequantize_params dp = {0};
  dp.n = 256;
  dp.scale = (float)in.scale;
  dp.zero_point = (int32_t)in.zero_point;
  qrt_dequantize_i8_f32(&dp, (const void *const[]){codes}, (void *const[]){table});
  for (k = nchain - 1; k >= 0; k--)
    for (i = 0; i < 256; i++) {
      if (chain[k].kind == '*') table[i] = table[i] * chain[k].c;
      else if (chain[k].kind == '/') table[i] = table[i] / chain[k].c;
    }
  for (i = 0; i < 256; i++) {
    if (!isfinite(table[i]) || (table[i] == 0 && signbit(table[i]))) return 0;
    lo = table[i] < lo ? table[i] : lo;
  }
  /* the mask: keep bytes, and the bound on the masked elements */
  uint8_t *keep = NULL;
  int64_t mask_n = 0;
  bool masked = !mlirValueIsNull(mask);
  if (!mlirValueIsNull(run_mask)) { /* read at run time: only the bound to check */
    if (!masked_underflows(dp, chain, nchain, run_worst, lo)) {
      qcc_remark("quantize: %s reads float scores: the run-time mask's masked value %g does not make exp underflow",
                 at, (double)run_worst);
      return 0;
    }
  } else if (masked) {
    qcc_array arr;
    if (!qcc_value_constant(mask, &arr)) return 0;
    int lead = 0;
    while (lead < arr.rank && arr.dims[lead] == 1) lead++;
    bool ok = arr.dtype == QRT_F32 && arr.rank - lead <= xs.rank && arr.rank - lead >= 1;
    for (i = lead; ok && i < arr.rank; i++) ok = arr.dims[i] == xs.dims[xs.rank - arr.rank + i];
    mask_n = ok ? (int64_t)(arr.nbytes / sizeof(float)) : 0;
    const int64_t L = xs.dims[xs.rank - 1];
    keep = mask_n > 0 && mask_n % L == 0 ? malloc((size_t)mask_n) : NULL;
    float worst = -INFINITY; /* the largest masked entry */
    for (int64_t e = 0; keep && e < mask_n; e++) {
      const float v = ((float *)arr.data)[e];
      keep[e] = v == 0;
      if (!(v == 0 || v < 0)) free(keep), keep = NULL; /* positive or NaN */
      else if (v != 0 && v > worst) worst = v;
    }
    for (int64_t row = 0; keep && row < mask_n / L; row++) {
      int64_t j = 0;
      while (j < L && !keep[row * L + j]) j++;
      if (j == L) free(keep), keep = NULL; /* a row with nothing kept */
    }
    if (keep && !masked_underflows(dp, chain, nchain, worst, lo)) free(keep), keep = NULL;
    qcc_array_free(&arr);
    if (!keep) {
      qcc_remark("quantize: %s reads float scores: the term added to them is not a mask of 0 and exp-underflowing "
                 "entries", at);
      return 0;
    }
  }
  int64_t n = 256;
  MlirValue mv = {NULL};
  if (keep) mv = qcc_constant_before(op, QRT_U8, 1, &mask_n, keep);
  else if (!mlirValueIsNull(run_mask)) mv = run_mask;
  free(keep);
  MlirValue t = qcc_insert_before(op, q_softmax_codes_create(mlirOperationGetLocation(op), mlirValueGetType(y), src,
                                                             qcc_constant_before(op, QRT_F32, 1, &n, table), mv));
  /* the calibration of the softmax's output (qcc.* attributes) goes with
   * it: the next matmul quantizes its input with that range */
  qcc_copy_qcc_attrs(op, mlirOpResultGetOwner(t));
  mlirValueReplaceAllUsesOfWith(y, t);
  mlirOperationDestroy(op);
  qcc_remark("quantize: %s reads the scores' int8 codes through a float table (%d factor%s%s folded)", at,
             nchain - (mask.ptr != NULL), nchain - (mask.ptr != NULL) == 1 ? "" : "s",
             run_mask.ptr ? " and a run-time mask" : mask.ptr ? " and a mask" : "");
  return 0;
}

static int norm(MlirOperation op, const char *at) {
  q_norm_attrs a = q_norm_get(op);
  MlirValue x = q_norm_in(op, 0), g = q_norm_in(op, 1), b = q_norm_in(op, 2), y = mlirOperationGetResult(op, 0);
  qcc_shape xs;
  if (!float_tensor(x, &xs)) return 0;
  qcc_array ga = {0}, ba = {0};
  bool has_beta = !mlirValueIsNull(b);
  if (!qcc_value_constant(g, &ga) || (has_beta && !qcc_value_constant(b, &ba)) || ga.dtype != QRT_F32 ||
      (has_beta && (ba.dtype != QRT_F32 || ba.nbytes != ga.nbytes))) {
    qcc_remark("quantize: %s stays float: scale and bias must be float32 constants of one shape", at);
    qcc_array_free(&ga);
    qcc_array_free(&ba);
    return 0;
  }
  int64_t n = (int64_t)(ga.nbytes / sizeof(float)), trailing = 1;
  for (int i = (int)a.axis; i < xs.rank; i++) trailing *= xs.dims[i];
  qcc_qparams in, out;
  bool from_float;
  if (n != trailing) {
    qcc_remark("quantize: %s stays float: scale has %lld elements, the normalized dims %lld", at, (long long)n,
               (long long)trailing);
  } else if (!output_params(y, &out) || !input_params(x, &in, &from_float)) {
    qcc_remark("quantize: %s stays float: no calibration range (run with --calib; an If branch that no sample takes has none)", at);
  } else {
    int32_t *gq = malloc(sizeof(int32_t) * (size_t)(2 * n)), *bq = gq + n;
    qrt_qnorm_params p;
    bool rms = !strcmp(a.kind.s, "rms");
    if (qrt_build_qnorm_i8(rms, n, a.epsilon, in.scale, (int32_t)in.zero_point, out.scale, (int32_t)out.zero_point,
                           ga.data, has_beta ? ba.data : NULL, &p, gq, has_beta ? bq : NULL)) {
      qcc_remark("quantize: %s stays float: no integer form for these scales / epsilon", at);
    } else {
      q_qnorm_attrs na = {qcc_str(rms ? "rms" : "layer"), p.eps_q, p.eps_shift, p.norm_shift, p.gamma_shift,
                          p.beta_shift};
      MlirValue bv = {NULL};
      if (has_beta) bv = qcc_constant_before(op, QRT_I32, 1, &n, bq);
      MlirValue xq = qcc_quantized_input(op, x, in);
      MlirValue yq = qcc_insert_before(
          op, q_qnorm_create(mlirOperationGetLocation(op), qcc_quant_type_of(mlirOperationGetContext(op), y, out), xq,
                             qcc_constant_before(op, QRT_I32, 1, &n, gq), bv, &na));
      qcc_use_quantized(op, y, yq);
    }
    free(gq);
  }
  qcc_array_free(&ga);
  qcc_array_free(&ba);
  return 0;
}

/* True when every user of y is the input of a layer with constant weights
 * (q.matmul operand 0 with a constant B, q.conv operand 0) whose scheme
 * reads it as static int8 with y's calibrated parameters. */
static bool only_feeds_layers(MlirValue y) {
  MlirOpOperand u = mlirValueGetFirstUse(y);
  if (mlirOpOperandIsNull(u)) return false;
  for (; !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
    MlirOperation user = mlirOpOperandGetOwner(u);
    if (mlirOpOperandGetOperandNumber(u) != 0) return false;
    if (!qcc_layer_reads_static_int8(user)) return false;
    if (q_conv_is(user) && qcc_value_is_constant(q_conv_in(user, 1))) continue;
    if (q_matmul_is(user) && qcc_value_is_constant(q_matmul_in(user, 1))) continue;
    return false;
  }
  return true;
}

int qcc_quantize_nonlinear(MlirOperation op) {
  const char *name = q_unary_is(op) ? "unary" : q_softmax_is(op) ? "softmax" : q_norm_is(op) ? "norm" : NULL;
  if (!name) return 0;
  char at[256];
  qcc_op_where(op, at, sizeof at);
  if (!qcc_quant_opts.integer_only) {
    /* Static schemes without --integer-only: only a function between int8
     * layers (input int8, every user a layer that quantizes the output
     * anyway) becomes a table; its codes are the correctly rounded
     * dequantize -> f -> quantize, so nothing is lost and no float is
     * computed. Only with 8-bit layer inputs: 4-bit ones would round the
     * table's codes a second time. */
    if (q_softmax_is(op)) return qcc_kept_float(at, name) ? 0 : softmax_codes(op, at);
    if (!q_unary_is(op) || qcc_quant_active_scheme()->act_bits != 8) return 0;
    if (!only_feeds_layers(mlirOperationGetResult(op, 0))) return float_table(op, at);
  }
  if (qcc_kept_float(at, name)) {
    qcc_remark("quantize: %s stays float: --keep-float", at);
    return 0;
  }
  if (q_unary_is(op)) return lut(op, at);
  if (q_softmax_is(op)) return softmax(op, at);
  return norm(op, at);
}
