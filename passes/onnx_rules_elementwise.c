/* onnx_rules_elementwise.c - legalization of elementwise ops: unary math
 * and activations, broadcasting binary ops (and their variadic forms Sum,
 * Mean, Max, Min), Clip, Where, Cast, Identity, Dropout. */
#include <float.h>
#include <string.h>

#include "onnx_rules.h"

/* ONNX op type -> q.unary kind, with the ONNX defaults of alpha and beta. */
typedef struct unary_map {
  const char *onnx, *kind;
  const char *alpha_attr;
  double alpha;
  const char *beta_attr;
  double beta;
  bool any_numeric; /* also defined on integer types */
} unary_map;

static const unary_map unary_ops[] = {
    {"Relu", "relu", NULL, 0, NULL, 0, true},
    {"LeakyRelu", "leaky_relu", "alpha", 0.01, NULL, 0, false},
    {"Elu", "elu", "alpha", 1.0, NULL, 0, false},
    {"Selu", "selu", "alpha", 1.67326319217681884765625, "gamma", 1.05070102214813232421875, false},
    {"Celu", "celu", "alpha", 1.0, NULL, 0, false},
    {"ThresholdedRelu", "thresholded_relu", "alpha", 1.0, NULL, 0, false},
    {"Sigmoid", "sigmoid", NULL, 0, NULL, 0, false},
    {"HardSigmoid", "hard_sigmoid", "alpha", 0.2, "beta", 0.5, false},
    {"HardSwish", "hard_swish", NULL, 0, NULL, 0, false},
    {"Tanh", "tanh", NULL, 0, NULL, 0, false},
    {"Erf", "erf", NULL, 0, NULL, 0, false},
    {"Exp", "exp", NULL, 0, NULL, 0, false},
    {"Log", "log", NULL, 0, NULL, 0, false},
    {"Sqrt", "sqrt", NULL, 0, NULL, 0, false},
    {"Neg", "neg", NULL, 0, NULL, 0, true},
    {"Abs", "abs", NULL, 0, NULL, 0, true},
    {"Reciprocal", "reciprocal", NULL, 0, NULL, 0, false},
    {"Ceil", "ceil", NULL, 0, NULL, 0, false},
    {"Floor", "floor", NULL, 0, NULL, 0, false},
    {"Round", "round", NULL, 0, NULL, 0, false},
    {"Sign", "sign", NULL, 0, NULL, 0, true},
    {"Sin", "sin", NULL, 0, NULL, 0, false},
    {"Cos", "cos", NULL, 0, NULL, 0, false},
    {"Tan", "tan", NULL, 0, NULL, 0, false},
    {"Asin", "asin", NULL, 0, NULL, 0, false},
    {"Acos", "acos", NULL, 0, NULL, 0, false},
    {"Atan", "atan", NULL, 0, NULL, 0, false},
    {"Sinh", "sinh", NULL, 0, NULL, 0, false},
    {"Cosh", "cosh", NULL, 0, NULL, 0, false},
    {"Asinh", "asinh", NULL, 0, NULL, 0, false},
    {"Acosh", "acosh", NULL, 0, NULL, 0, false},
    {"Atanh", "atanh", NULL, 0, NULL, 0, false},
    {"Softplus", "softplus", NULL, 0, NULL, 0, false},
    {"Softsign", "softsign", NULL, 0, NULL, 0, false},
    {"Not", "not", NULL, 0, NULL, 0, true},
    {NULL, NULL, NULL, 0, NULL, 0, false},
};

static MlirValue emit_unary(onnx_node *n, const char *kind, MlirValue x, const qcc_shape *s, double alpha, double beta) {
  q_unary_attrs a;
  memset(&a, 0, sizeof a);
  snprintf(a.kind.s, sizeof a.kind.s, "%s", kind);
  a.alpha = alpha;
  a.beta = beta;
  return onnx_emit(n, q_unary_create(n->loc, onnx_type(n, s), x, &a));
}

static MlirValue emit_binary(onnx_node *n, const char *kind, MlirValue a, MlirValue b, const qcc_shape *y);

static int rule_unary(onnx_node *n, MlirValue *res) {
  const unary_map *m = unary_ops;
  while (strcmp(m->onnx, n->type)) m++;
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  bool is_float = x.dtype == QRT_F32 || x.dtype == QRT_F64;
  if (!strcmp(m->kind, "not") ? x.dtype != QRT_BOOL : !(is_float || (m->any_numeric && x.dtype != QRT_BOOL && x.dtype != QRT_F16)))
    return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(x.dtype));
  double alpha_d = m->alpha, beta_d = m->beta;
  if (!strcmp(n->type, "Selu") && n->opset < 6) {
    /* Selu-1 had shorter defaults. */
    alpha_d = 1.6732000112533569;
    beta_d = 1.0506999492645264;
  }
  double alpha = m->alpha_attr ? onnx_attr_float(n, m->alpha_attr, alpha_d) : 0;
  double beta = m->beta_attr ? onnx_attr_float(n, m->beta_attr, beta_d) : 0;
  res[0] = emit_unary(n, m->kind, onnx_in(n, 0), &x, alpha, beta);
  return 0;
}

/* Gelu (opset 20, also emitted by newer exporters): exact or tanh form. */
static int rule_gelu(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  char approx[16];
  if (!onnx_in_shape(n, 0, &x)) return -1;
  onnx_attr_str(n, "approximate", "none", approx, sizeof approx);
  res[0] = emit_unary(n, !strcmp(approx, "tanh") ? "gelu_tanh" : "gelu", onnx_in(n, 0), &x, 0, 0);
  return 0;
}

/* Swish (opset 24): x * sigmoid(alpha x); alpha 1 is the SiLU the
 * fuse-activations pass makes of x * Sigmoid(x). */
static int rule_swish(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  if (x.dtype != QRT_F32) return onnx_fail(n, "element type %s is not supported (float32 only)", qcc_dtype_name(x.dtype));
  const double alpha = onnx_attr_float(n, "alpha", 1.0);
  if (alpha == 1.0) {
    res[0] = emit_unary(n, "silu", onnx_in(n, 0), &x, 0, 0);
    return 0;
  }
  MlirValue ax = onnx_binary(n, "mul", onnx_in(n, 0), onnx_scalar(n, QRT_F32, alpha), &x);
  res[0] = onnx_binary(n, "mul", onnx_in(n, 0), emit_unary(n, "sigmoid", ax, &x, 0, 0), &x);
  return 0;
}

/* Clip: bounds are attributes before opset 11 (float only) and optional
 * inputs from 11 on (any numeric type from 12).  Constant bounds on a type
 * the unary clip kernel handles become one q.unary clip; otherwise (run-time
 * bounds, other integer types) max with min, then min with max, as numpy's
 * clip. */
static bool clip_kernel_type(qrt_dtype t) {
  return t == QRT_F32 || t == QRT_F64 || t == QRT_I32 || t == QRT_I64 || t == QRT_I8 || t == QRT_U8;
}

static bool const_bound(onnx_node *n, int i, const qcc_shape *x, double *v) {
  qcc_array c;
  if (!onnx_const_input(n, i, &c)) return false;
  bool ok = c.dtype == x->dtype && qcc_array_numel(&c) == 1;
  if (ok) {
    switch (c.dtype) {
    case QRT_F32: *v = ((float *)c.data)[0]; break;
    case QRT_F64: *v = ((double *)c.data)[0]; break;
    case QRT_I32: *v = ((int32_t *)c.data)[0]; break;
    case QRT_I8: *v = ((int8_t *)c.data)[0]; break;
    case QRT_U8: *v = ((uint8_t *)c.data)[0]; break;
    default: ok = false; break; /* int64 bounds may not be exact as double: use max/min */
    }
  }
  qcc_array_free(&c);
  return ok;
}

/* The lowest / highest value of a clip kernel type (no bound given). */
static double type_limit(qrt_dtype t, bool high) {
  switch (t) {
  case QRT_F32: return high ? FLT_MAX : -FLT_MAX;
  case QRT_F64: return high ? DBL_MAX : -DBL_MAX;
  case QRT_I32: return high ? 2147483647.0 : -2147483648.0;
  case QRT_I8: return high ? 127 : -128;
  case QRT_U8: return high ? 255 : 0;
  default: return 0;
  }
}

static int rule_clip(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  bool is_float = x.dtype == QRT_F32 || x.dtype == QRT_F64;
  if (x.dtype == QRT_BOOL || x.dtype == QRT_F16 || x.dtype == QRT_STRING || (n->opset < 12 && !is_float))
    return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(x.dtype));
  if (n->opset < 11) {
    double lo = onnx_attr_float(n, "min", -FLT_MAX), hi = onnx_attr_float(n, "max", FLT_MAX);
    res[0] = emit_unary(n, "clip", onnx_in(n, 0), &x, lo, hi);
    return 0;
  }
  double b[2] = {type_limit(x.dtype, false), type_limit(x.dtype, true)};
  bool all_const = clip_kernel_type(x.dtype) && x.dtype != QRT_I64;
  for (int i = 1; i <= 2 && all_const; i++)
    if (onnx_has_in(n, i)) all_const = const_bound(n, i, &x, &b[i - 1]);
  if (all_const) {
    res[0] = emit_unary(n, "clip", onnx_in(n, 0), &x, b[0], b[1]);
    return 0;
  }
  MlirValue v = onnx_in(n, 0);
  for (int i = 1; i <= 2; i++) {
    if (!onnx_has_in(n, i)) continue;
    qcc_shape bs;
    if (!onnx_in_shape(n, i, &bs)) return -1;
    if (bs.dtype != x.dtype || qcc_shape_numel(&bs) != 1)
      return onnx_fail(n, "%s must be a scalar of the input's type", i == 1 ? "min" : "max");
    v = emit_binary(n, i == 1 ? "max" : "min", v, onnx_in(n, i), &x);
  }
  res[0] = v;
  return 0;
}

typedef struct binary_map {
  const char *onnx, *kind;
  bool compare; /* result is bool */
  bool logic;   /* operands are bool */
} binary_map;

static const binary_map binary_ops[] = {
    {"Add", "add", false, false},     {"Sub", "sub", false, false},
    {"Mul", "mul", false, false},     {"Div", "div", false, false},
    {"Pow", "pow", false, false},     {"Max", "max", false, false},
    {"Min", "min", false, false},     {"Sum", "add", false, false},
    {"Mean", "add", false, false},    {"Mod", "mod", false, false},
    {"Equal", "equal", true, false},  {"Less", "less", true, false},
    {"Greater", "greater", true, false}, {"LessOrEqual", "less_equal", true, false},
    {"GreaterOrEqual", "greater_equal", true, false}, {"And", "and", true, true},
    {"Or", "or", true, true},         {"Xor", "xor", true, true},
    {NULL, NULL, false, false},
};

static MlirValue emit_binary(onnx_node *n, const char *kind, MlirValue a, MlirValue b, const qcc_shape *y) {
  q_binary_attrs at;
  memset(&at, 0, sizeof at);
  snprintf(at.kind.s, sizeof at.kind.s, "%s", kind);
  return onnx_emit(n, q_binary_create(n->loc, onnx_type(n, y), a, b, &at));
}

/* Before opset 7 the two-input arithmetic, comparison and logic ops do not
 * broadcast unless broadcast=1; then B's shape matches a contiguous run of
 * A's dims starting at `axis` (default: the trailing dims), size-1 dims
 * broadcasting. B is reshaped to A's rank with 1s around that run, after
 * which numpy broadcasting computes the same thing. */
static bool legacy_broadcast_op(const char *type) {
  static const char *const ops[] = {"Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Less", "Greater", NULL};
  for (int i = 0; ops[i]; i++)
    if (!strcmp(ops[i], type)) return true;
  return false;
}

static bool legacy_broadcast(onnx_node *n, const qcc_shape *a, qcc_shape *b, MlirValue *vb) {
  bool same = a->rank == b->rank;
  for (int i = 0; same && i < a->rank; i++) same = a->dims[i] == b->dims[i];
  if (!onnx_attr_int(n, "broadcast", 0)) {
    if (!same) onnx_fail(n, "operand shapes differ and broadcast=0 (opset < 7 broadcasts only with broadcast=1)");
    return same;
  }
  if (same || !onnx_has_attr(n, "axis")) return true;
  int64_t axis;
  if (!onnx_axis(n, onnx_attr_int(n, "axis", 0), a->rank, &axis)) return false;
  if (axis + b->rank > a->rank) {
    onnx_fail(n, "B (rank %d) does not fit in A (rank %d) at axis %lld", b->rank, a->rank, (long long)axis);
    return false;
  }
  qcc_shape t = *b;
  t.rank = a->rank;
  for (int i = 0; i < a->rank; i++) t.dims[i] = i >= axis && i < axis + b->rank ? b->dims[i - axis] : 1;
  *vb = onnx_reshape(n, *vb, &t);
  *b = t;
  return true;
}

static int rule_binary(onnx_node *n, MlirValue *res) {
  const binary_map *m = binary_ops;
  while (strcmp(m->onnx, n->type)) m++;
  qcc_shape acc;
  if (!onnx_in_shape(n, 0, &acc)) return -1;
  if (acc.dtype == QRT_STRING || (m->logic != (acc.dtype == QRT_BOOL) && strcmp(m->kind, "equal")) ||
      (acc.dtype == QRT_F16 && (!strcmp(n->type, "Mean") || !strcmp(m->kind, "pow"))))
    return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(acc.dtype));
  /* float16: each operation on float32 copies, the result rounded back to
   * float16 (what numpy, ONNX's reference, does for half floats) */
  bool half = acc.dtype == QRT_F16;
  const char *kind = m->kind;
  if (!strcmp(kind, "mod")) kind = onnx_attr_int(n, "fmod", 0) ? "fmod" : "mod";
  MlirValue v = onnx_in(n, 0);
  if (n->n_in == 1) {
    /* Variadic forms with one operand are the identity. */
    res[0] = v;
    return 0;
  }
  qcc_shape in_shape = acc;
  for (int i = 1; i < n->n_in; i++) {
    qcc_shape b, y;
    if (!onnx_in_shape(n, i, &b)) return -1;
    MlirValue vb = onnx_in(n, i);
    if (n->opset < 7 && n->n_in == 2 && legacy_broadcast_op(n->type) && !legacy_broadcast(n, &acc, &b, &vb)) return -1;
    if (b.dtype != in_shape.dtype) {
      if (strcmp(m->kind, "pow")) return onnx_fail(n, "operand types %s and %s differ", qcc_dtype_name(in_shape.dtype), qcc_dtype_name(b.dtype));
      /* Pow's exponent may have another type: convert it to the base's. */
      qcc_shape bc = b;
      bc.dtype = in_shape.dtype;
      vb = onnx_emit(n, q_cast_create(n->loc, onnx_type(n, &bc), vb));
      b = bc;
    }
    if (!onnx_broadcast_shape(n, &acc, &b, &y)) return -1;
    y.dtype = m->compare ? QRT_BOOL : in_shape.dtype;
    if (half) {
      qcc_shape af = acc, bf = b, yf = y;
      af.dtype = bf.dtype = QRT_F32;
      if (!m->compare) yf.dtype = QRT_F32;
      MlirValue r = emit_binary(n, kind, onnx_emit(n, q_cast_create(n->loc, onnx_type(n, &af), v)),
                                onnx_emit(n, q_cast_create(n->loc, onnx_type(n, &bf), vb)), &yf);
      v = m->compare ? r : onnx_emit(n, q_cast_create(n->loc, onnx_type(n, &y), r));
    } else {
      v = emit_binary(n, kind, v, vb, &y);
    }
    acc = y;
    acc.dtype = in_shape.dtype;
  }
  if (!strcmp(n->type, "Mean")) {
    if (acc.dtype != QRT_F32) return onnx_fail(n, "Mean supports float32 only");
    float inv = 1.0f / (float)n->n_in;
    qcc_array s = {QRT_F32, 0, {0}, &inv, sizeof inv};
    v = emit_binary(n, "mul", v, onnx_constant(n, &s), &acc);
  }
  res[0] = v;
  return 0;
}

/* BitShift (opset 11): unsigned integers, direction LEFT or RIGHT; shifts
 * by the bit width or more give 0 (the kernels define that case). */
static int rule_bitshift(onnx_node *n, MlirValue *res) {
  qcc_shape a, b, y;
  if (!onnx_in_shape(n, 0, &a) || !onnx_in_shape(n, 1, &b)) return -1;
  if (a.dtype != QRT_U8 && a.dtype != QRT_U16 && a.dtype != QRT_U32 && a.dtype != QRT_U64)
    return onnx_fail(n, "element type %s is not supported (unsigned integers only)", qcc_dtype_name(a.dtype));
  if (b.dtype != a.dtype) return onnx_fail(n, "operand types differ");
  char dir[16];
  onnx_attr_str(n, "direction", "", dir, sizeof dir);
  if (strcmp(dir, "LEFT") && strcmp(dir, "RIGHT")) return onnx_fail(n, "direction '%s' must be LEFT or RIGHT", dir);
  if (!onnx_broadcast_shape(n, &a, &b, &y)) return -1;
  y.dtype = a.dtype;
  res[0] = emit_binary(n, !strcmp(dir, "LEFT") ? "shl" : "shr", onnx_in(n, 0), onnx_in(n, 1), &y);
  return 0;
}

/* PRelu: slope broadcasts to X (unidirectionally, numpy-style) from opset
 * 7; before, a slope of one element is shared and a 1-D slope of C values
 * applies per channel (dim 1). */
static int rule_prelu(onnx_node *n, MlirValue *res) {
  qcc_shape x, s, y;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &s)) return -1;
  if (x.dtype != QRT_F32 && x.dtype != QRT_F64) return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(x.dtype));
  if (s.dtype != x.dtype) return onnx_fail(n, "slope type differs from X");
  MlirValue slope = onnx_in(n, 1);
  if (n->opset < 7 && qcc_shape_numel(&s) != 1) {
    if (s.rank != 1 || x.rank < 2 || s.dims[0] != x.dims[1])
      return onnx_fail(n, "slope must have 1 or C (dim 1 of X) values before opset 7");
    qcc_shape t = {x.dtype, x.rank - 1, {0}};
    for (int i = 0; i < t.rank; i++) t.dims[i] = i == 0 ? s.dims[0] : 1;
    slope = onnx_reshape(n, slope, &t);
    s = t;
  }
  if (!onnx_broadcast_shape(n, &x, &s, &y)) return -1;
  if (y.rank != x.rank || memcmp(y.dims, x.dims, sizeof(int64_t) * (size_t)x.rank))
    return onnx_fail(n, "slope must broadcast to X's shape");
  y.dtype = x.dtype;
  res[0] = emit_binary(n, "prelu", onnx_in(n, 0), slope, &y);
  return 0;
}

static int rule_where(onnx_node *n, MlirValue *res) {
  qcc_shape c, a, b, ab, y;
  if (!onnx_in_shape(n, 0, &c) || !onnx_in_shape(n, 1, &a) || !onnx_in_shape(n, 2, &b)) return -1;
  if (c.dtype != QRT_BOOL) return onnx_fail(n, "condition must be bool");
  if (a.dtype != b.dtype) return onnx_fail(n, "X and Y types differ");
  if (!onnx_broadcast_shape(n, &a, &b, &ab) || !onnx_broadcast_shape(n, &c, &ab, &y)) return -1;
  y.dtype = a.dtype;
  res[0] = onnx_emit(n, q_where_create(n->loc, onnx_type(n, &y), onnx_in(n, 0), onnx_in(n, 1), onnx_in(n, 2)));
  return 0;
}

static MlirValue cast_to(onnx_node *n, MlirValue x, const qcc_shape *s, qrt_dtype to) {
  qcc_shape y = *s;
  y.dtype = to;
  if (to == s->dtype) return onnx_emit(n, q_reshape_create(n->loc, onnx_type(n, &y), x));
  return onnx_emit(n, q_cast_create(n->loc, onnx_type(n, &y), x));
}

static int rule_cast(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  qrt_dtype to = (qrt_dtype)onnx_attr_int(n, "to", 0);
  if (n->opset < 6) {
    /* Cast-1 names the type as a string ("FLOAT"), in TensorProto order. */
    static const char *const names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64",
                                        "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64",
                                        "COMPLEX128", "BFLOAT16", NULL};
    char s[32];
    onnx_attr_str(n, "to", "", s, sizeof s);
    for (int i = 0; names[i]; i++)
      if (!strcmp(names[i], s)) to = (qrt_dtype)i;
  }
  if (qcc_dtype_size(to) == 0 || to == QRT_STRING) return onnx_fail(n, "cast to type %d is not supported", (int)to);
  res[0] = cast_to(n, onnx_in(n, 0), &x, to);
  return 0;
}

static int rule_castlike(onnx_node *n, MlirValue *res) {
  qcc_shape x, t;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &t)) return -1;
  res[0] = cast_to(n, onnx_in(n, 0), &x, t.dtype);
  return 0;
}

/* Identity, and Dropout at inference: y = x and the optional mask is all
 * true (bool from opset 10; before, the mask has x's type, all ones). */
static int rule_identity(onnx_node *n, MlirValue *res) {
  if (!onnx_has_in(n, 0)) return onnx_fail(n, "missing input");
  if (onnx_out_used(n, 1) && strcmp(n->type, "Dropout")) return onnx_fail(n, "output 1 does not exist");
  if (!strcmp(n->type, "Dropout") && n->opset < 7 && !onnx_attr_int(n, "is_test", 0))
    return onnx_fail(n, "is_test=0 (training mode) is not supported; before opset 7 Dropout defaults to training");
  /* training_mode must be known to be false: a run-time flag could turn
   * dropout on, and y = x would then be a silent wrong answer. */
  if (!strcmp(n->type, "Dropout") && onnx_has_in(n, 2)) {
    qcc_array t;
    if (!onnx_const_input(n, 2, &t))
      return onnx_fail(n, "training_mode is a run-time input: only inference (training_mode=false, a constant or "
                          "an input bound with --bind) is supported");
    bool on = t.nbytes && ((uint8_t *)t.data)[0] != 0;
    qcc_array_free(&t);
    if (on) return onnx_fail(n, "training_mode=true is not supported: dropout at training time is random");
  }
  res[0] = onnx_in(n, 0);
  if (onnx_out_used(n, 1)) {
    qcc_shape x, m;
    if (!onnx_in_shape(n, 0, &x)) return -1;
    m = x;
    m.dtype = n->opset >= 10 ? QRT_BOOL : x.dtype;
    res[1] = onnx_emit(n, q_broadcast_create(n->loc, onnx_type(n, &m), onnx_scalar(n, m.dtype, 1)));
  }
  return 0;
}

const onnx_rule onnx_rules_elementwise[] = {
    {"Relu", rule_unary},      {"LeakyRelu", rule_unary}, {"Elu", rule_unary},       {"Selu", rule_unary},
    {"Celu", rule_unary},      {"ThresholdedRelu", rule_unary},
    {"Sigmoid", rule_unary},   {"HardSigmoid", rule_unary}, {"HardSwish", rule_unary}, {"Tanh", rule_unary},
    {"Erf", rule_unary},       {"Exp", rule_unary},       {"Log", rule_unary},       {"Sqrt", rule_unary},
    {"Neg", rule_unary},       {"Abs", rule_unary},       {"Reciprocal", rule_unary}, {"Ceil", rule_unary},
    {"Floor", rule_unary},     {"Round", rule_unary},     {"Sign", rule_unary},      {"Sin", rule_unary},
    {"Cos", rule_unary},       {"Tan", rule_unary},       {"Asin", rule_unary},      {"Acos", rule_unary},
    {"Atan", rule_unary},      {"Sinh", rule_unary},      {"Cosh", rule_unary},      {"Asinh", rule_unary},
    {"Acosh", rule_unary},     {"Atanh", rule_unary},     {"Softplus", rule_unary},  {"Softsign", rule_unary},
    {"Not", rule_unary},       {"Gelu", rule_gelu},       {"Swish", rule_swish},     {"Clip", rule_clip},
    {"Add", rule_binary},      {"Sub", rule_binary},      {"Mul", rule_binary},      {"Div", rule_binary},
    {"Pow", rule_binary},      {"Max", rule_binary},      {"Min", rule_binary},      {"Sum", rule_binary},
    {"Mean", rule_binary},     {"Mod", rule_binary},      {"Equal", rule_binary},    {"Less", rule_binary},
    {"Greater", rule_binary},  {"LessOrEqual", rule_binary}, {"GreaterOrEqual", rule_binary},
    {"And", rule_binary},      {"Or", rule_binary},       {"Xor", rule_binary},
    {"PRelu", rule_prelu},     {"BitShift", rule_bitshift},
    {"Where", rule_where},     {"Cast", rule_cast},       {"CastLike", rule_castlike},
    {"Identity", rule_identity}, {"Dropout", rule_identity},
    {NULL, NULL},
};
