/* quant_activations.c - int8 activations in the IR (quant_activations.h). */
#include "quant_activations.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant_options.h"

qcc_qparams qcc_activation_params(double lo, double hi, int bits) {
  if (lo > 0) lo = 0;
  if (hi < 0) hi = 0;
  qcc_qparams p = {(hi - lo) / ((1 << bits) - 1.0), 0, -(1 << (bits - 1)), (1 << (bits - 1)) - 1};
  if (!(p.scale > 0)) p.scale = 1.0;
  double z = p.qmin - lo / p.scale;
  p.zero_point = (int64_t)llround(z < p.qmin ? p.qmin : z > p.qmax ? p.qmax : z);
  return p;
}

qcc_qparams qcc_symmetric_params(double lo, double hi, int bits) {
  const double m = fmax(fabs(lo), fabs(hi));
  qcc_qparams p = {m / ((1 << (bits - 1)) - 1.0), 0, -(1 << (bits - 1)), (1 << (bits - 1)) - 1};
  if (!(p.scale > 0)) p.scale = 1.0;
  return p;
}

MlirType qcc_quant_type_of(MlirContext ctx, MlirValue like, qcc_qparams p) {
  qcc_shape sh;
  qcc_shape_of(like, &sh);
  sh.dtype = p.qmin < -128 || p.qmax > 127 ? QRT_I16 : QRT_I8; /* 16-bit codes: w8i16 */
  return qcc_quant_tensor_type(ctx, &sh, p.scale, p.zero_point, p.qmin, p.qmax);
}

static bool params_of(MlirValue v, qcc_qparams *p) {
  return qcc_value_quant(v, &p->scale, &p->zero_point) && qcc_value_quant_range(v, &p->qmin, &p->qmax);
}

static bool has_params(MlirValue v, qcc_qparams p) {
  qcc_qparams h;
  return params_of(v, &h) && h.scale == p.scale && h.zero_point == p.zero_point && h.qmin == p.qmin &&
         h.qmax == p.qmax;
}

bool qcc_int8_source(MlirValue x, MlirValue *src, qcc_qparams *p) {
  if (!mlirValueIsAOpResult(x) || !q_dequantize_is(mlirOpResultGetOwner(x))) return false;
  MlirValue s = q_dequantize_in(mlirOpResultGetOwner(x), 0);
  if (!params_of(s, p) || p->qmin != -128 || p->qmax != 127) return false;
  if (src) *src = s;
  return true;
}

bool qcc_int_source(MlirValue x, MlirValue *src, qcc_qparams *p) {
  if (!mlirValueIsAOpResult(x) || !q_dequantize_is(mlirOpResultGetOwner(x))) return false;
  MlirValue s = q_dequantize_in(mlirOpResultGetOwner(x), 0);
  if (!params_of(s, p)) return false;
  if (src) *src = s;
  return true;
}

bool qcc_value_range_bits(MlirValue v, int bits, double *lo, double *hi) {
  if (!qcc_value_range(v, lo, hi)) return false;
  if (bits < 8 || !mlirValueIsAOpResult(v)) return true;
  MlirOperation op = mlirOpResultGetOwner(v);
  const bool eight = bits == 8; /* calibrate's 8-bit range, set when -q's activations are not 8 bits */
  MlirAttribute a = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(eight ? "qcc.min8" : "qcc.observed_min"));
  MlirAttribute b = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(eight ? "qcc.max8" : "qcc.observed_max"));
  if (!mlirAttributeIsNull(a) && !mlirAttributeIsNull(b)) {
    *lo = mlirFloatAttrGetValueDouble(a);
    *hi = mlirFloatAttrGetValueDouble(b);
  }
  return true;
}

MlirValue qcc_quantized_input(MlirOperation before, MlirValue x, qcc_qparams p) {
  if (mlirValueIsAOpResult(x) && q_dequantize_is(mlirOpResultGetOwner(x))) {
    MlirValue src = q_dequantize_in(mlirOpResultGetOwner(x), 0);
    if (has_params(src, p)) return src;
  }
  for (MlirOpOperand u = mlirValueGetFirstUse(x); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
    MlirOperation user = mlirOpOperandGetOwner(u);
    if (q_quantize_is(user) && has_params(mlirOperationGetResult(user, 0), p)) return mlirOperationGetResult(user, 0);
  }
  MlirType t = qcc_quant_type_of(mlirOperationGetContext(before), x, p);
  return qcc_insert_before(before, q_quantize_create(mlirOperationGetLocation(before), t, x));
}

void qcc_use_quantized(MlirOperation op, MlirValue out, MlirValue yq) {
  MlirOperation dq = q_dequantize_create(mlirOperationGetLocation(op), mlirValueGetType(out), yq);
  MlirValue y = qcc_insert_before(op, dq);
  MlirOperation src = mlirOpResultGetOwner(out);
  static const char *const keep[] = {"qcc.min", "qcc.max", "qcc.observed_min", "qcc.observed_max", "qcc.min8", "qcc.max8"};
  for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
    MlirAttribute a = mlirOperationGetAttributeByName(src, mlirStringRefCreateFromCString(keep[i]));
    if (!mlirAttributeIsNull(a)) mlirOperationSetAttributeByName(dq, mlirStringRefCreateFromCString(keep[i]), a);
  }
  mlirValueReplaceAllUsesOfWith(out, y);
}

void qcc_copy_qcc_attrs(MlirOperation from, MlirOperation to) {
  for (intptr_t e = 0; e < mlirOperationGetNumAttributes(from); e++) {
    MlirNamedAttribute na = mlirOperationGetAttribute(from, e);
    MlirStringRef name = mlirIdentifierStr(na.name);
    if (name.length > 4 && !strncmp(name.data, "qcc.", 4)) mlirOperationSetAttributeByName(to, name, na.attribute);
  }
}

MlirValue qcc_constant_before(MlirOperation before, qrt_dtype t, int rank, const int64_t *dims, const void *data) {
  qcc_array a = {t, rank, {0}, (void *)data, 0};
  size_t n = 1;
  for (int i = 0; i < rank; i++) n *= (size_t)(a.dims[i] = dims[i]);
  a.nbytes = n * qcc_dtype_size(t);
  return qcc_make_constant(before, mlirOperationGetLocation(before), &a);
}

MlirValue qcc_shift_constant(MlirOperation before, const int32_t *shift, int64_t n) {
  int8_t *s8 = malloc((size_t)n);
  for (int64_t i = 0; i < n; i++) s8[i] = (int8_t)(shift[i] < 0 ? 0 : shift[i] > 62 ? 62 : shift[i]);
  MlirValue v = qcc_constant_before(before, QRT_I8, 1, &n, s8);
  free(s8);
  return v;
}

/* The node name in `at` ("q.conv node 'name'"). */
static void node_name(const char *at, char *node, size_t cap) {
  node[0] = 0;
  const char *q = strchr(at, '\'');
  if (q) {
    snprintf(node, cap, "%s", q + 1);
    char *end = strrchr(node, '\'');
    if (end) *end = 0;
  }
}

bool qcc_layer_matches(MlirOperation op, const char *glob) {
  if (!q_conv_is(op) && !q_matmul_is(op)) return false;
  char at[256], node[256];
  node_name(qcc_op_where(op, at, sizeof at), node, sizeof node);
  if (!fnmatch(glob, node, 0) || !fnmatch(glob, q_conv_is(op) ? "conv" : "matmul", 0)) return true;
  return q_matmul_is(op) && !qcc_value_is_constant(q_matmul_in(op, 1)) && !fnmatch(glob, "runtime_matmul", 0);
}

bool qcc_kept_float(const char *at, const char *op_name) {
  char node[256];
  node_name(at, node, sizeof node);
  for (int i = 0; i < qcc_quant_opts.n_keep_float; i++)
    if (!fnmatch(qcc_quant_opts.keep_float[i], node, 0) || !fnmatch(qcc_quant_opts.keep_float[i], op_name, 0)) return true;
  return false;
}

q_str qcc_str(const char *s) {
  q_str r;
  snprintf(r.s, sizeof r.s, "%s", s);
  return r;
}
