/* fuse_affine.c - the fuse-affine pass: folds a per-output-channel scale
 * and shift into the conv or matmul that produces it.
 *
 * Pattern: y = (conv(x, W, b) * a) + c with constant a, c broadcasting only
 * along the output channel (BatchNormalization after legalization), and the
 * conv result used only by the multiply. Rewrites to conv(x, W*a, b*a + c).
 * Invariant: same function up to float rounding of the folded weights (the
 * only change is W*a computed once instead of per output). Either of the
 * mul/add may be missing.
 * Also: matmul(a, B) + c with c constant and varying only along the last
 * dim (how exporters write a Linear layer's bias) becomes matmul(a, B, c):
 * the same sum, so the same bits. */
#include <stdlib.h>
#include <string.h>

#include "onnx_rules.h"
#include "fuse_match.h"

/* c is a constant whose elements vary at most along dim 1 of a rank-r
 * result with `channels` channels: returns per-channel values (malloc'd). */
static float *per_channel(MlirValue cv, int rank, int64_t channels) {
  qcc_array a;
  if (!qcc_value_constant(cv, &a)) return NULL;
  float *out = NULL;
  int64_t n = qcc_array_numel(&a);
  bool shape_ok = a.dtype == QRT_F32 && a.rank <= rank;
  for (int i = 0; shape_ok && i < a.rank; i++) {
    int d = i + (rank - a.rank);
    shape_ok = a.dims[i] == 1 || (d == 1 && a.dims[i] == channels);
  }
  if (shape_ok) {
    out = malloc(sizeof(float) * (size_t)channels);
    for (int64_t c = 0; c < channels; c++) out[c] = ((float *)a.data)[n == 1 ? 0 : c];
  }
  qcc_array_free(&a);
  return out;
}

/* If `op` is binary(kind) of v and a per-channel constant, return the
 * constant's values. */
static float *affine_operand(MlirOperation op, const char *kind, MlirValue v, int rank, int64_t channels) {
  if (!q_binary_is(op) || strcmp(q_binary_get(op).kind.s, kind)) return NULL;
  MlirValue a = q_binary_in(op, 0), b = q_binary_in(op, 1);
  MlirValue other = mlirValueEqual(a, v) ? b : a;
  if (!mlirValueEqual(a, v) && !mlirValueEqual(b, v)) return NULL;
  qcc_shape s;
  qcc_shape_of(mlirOperationGetResult(op, 0), &s);
  if (s.rank != rank) return NULL;
  return per_channel(other, rank, channels);
}

static MlirValue f32_constant(MlirOperation before, MlirLocation loc, const qcc_shape *s, float *data) {
  qcc_array a = {QRT_F32, s->rank, {0}, data, sizeof(float) * (size_t)qcc_shape_numel(s)};
  memcpy(a.dims, s->dims, sizeof s->dims);
  return qcc_make_constant(before, loc, &a);
}

static bool fuse_conv(MlirOperation conv) {
  MlirValue y = mlirOperationGetResult(conv, 0);
  qcc_shape ys, ws;
  qcc_shape_of(y, &ys);
  if (!single_use(y) || !qcc_value_is_constant(q_conv_in(conv, 1))) return false;
  MlirValue bias = q_conv_in(conv, 2);
  if (!mlirValueIsNull(bias) && !qcc_value_is_constant(bias)) return false;
  int64_t ch = ys.dims[1];
  MlirOperation user = sole_user(y), last = user;
  float *scale = affine_operand(user, "mul", y, ys.rank, ch), *shift = NULL;
  MlirValue after = y;
  if (scale) {
    after = mlirOperationGetResult(user, 0);
    if (single_use(after)) shift = affine_operand(sole_user(after), "add", after, ys.rank, ch);
    if (shift) last = sole_user(after);
  } else {
    shift = affine_operand(user, "add", y, ys.rank, ch);
  }
  if (!scale && !shift) return false;
  qcc_array w, b;
  qcc_value_constant(q_conv_in(conv, 1), &w);
  qcc_shape_of(q_conv_in(conv, 1), &ws);
  int64_t per = qcc_array_numel(&w) / ch;
  float *bv = calloc((size_t)ch, sizeof(float));
  if (!mlirValueIsNull(bias) && qcc_value_constant(bias, &b)) {
    memcpy(bv, b.data, sizeof(float) * (size_t)ch);
    qcc_array_free(&b);
  }
  for (int64_t c = 0; c < ch; c++) {
    float s = scale ? scale[c] : 1.0f;
    for (int64_t i = 0; i < per; i++) ((float *)w.data)[c * per + i] *= s;
    bv[c] = bv[c] * s + (shift ? shift[c] : 0.0f);
  }
  MlirLocation loc = mlirOperationGetLocation(conv);
  qcc_shape bs = {QRT_F32, 1, {ch}};
  MlirValue nw = f32_constant(conv, loc, &ws, w.data), nb = f32_constant(conv, loc, &bs, bv);
  q_conv_attrs attrs = q_conv_get(conv);
  MlirValue fused = qcc_insert_before(conv, q_conv_create(loc, mlirValueGetType(y), q_conv_in(conv, 0), nw, nb, &attrs));
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(last, 0), fused);
  qcc_array_free(&w);
  free(bv);
  free(scale);
  free(shift);
  return true;
}

/* Values of a constant that varies at most along the last of `rank` dims
 * (n entries): a bias for a matmul producing [..., n]. */
static float *last_dim_values(MlirValue cv, int rank, int64_t n) {
  qcc_array a;
  if (!qcc_value_constant(cv, &a)) return NULL;
  bool ok = a.dtype == QRT_F32 && a.rank <= rank;
  for (int i = 0; ok && i < a.rank; i++) ok = a.dims[i] == 1 || (i == a.rank - 1 && a.dims[i] == n);
  float *out = NULL;
  if (ok) {
    int64_t count = qcc_array_numel(&a);
    out = malloc(sizeof(float) * (size_t)n);
    for (int64_t j = 0; j < n; j++) out[j] = ((float *)a.data)[count == 1 ? 0 : j];
  }
  qcc_array_free(&a);
  return out;
}

static bool fuse_matmul_bias(MlirOperation mm) {
  MlirValue y = mlirOperationGetResult(mm, 0);
  if (!single_use(y) || !mlirValueIsNull(q_matmul_in(mm, 2))) return false;
  MlirOperation add = sole_user(y);
  if (!q_binary_is(add) || strcmp(q_binary_get(add).kind.s, "add")) return false;
  qcc_shape ys, as;
  qcc_shape_of(y, &ys);
  qcc_shape_of(mlirOperationGetResult(add, 0), &as);
  if (as.rank != ys.rank) return false; /* the add must not broadcast y */
  for (int i = 0; i < ys.rank; i++)
    if (as.dims[i] != ys.dims[i]) return false;
  MlirValue other = mlirValueEqual(q_binary_in(add, 0), y) ? q_binary_in(add, 1) : q_binary_in(add, 0);
  int64_t n = ys.dims[ys.rank - 1];
  float *bias = last_dim_values(other, ys.rank, n);
  if (!bias) return false;
  MlirLocation loc = mlirOperationGetLocation(mm);
  qcc_shape bs = {QRT_F32, 1, {n}};
  MlirValue b = f32_constant(mm, loc, &bs, bias);
  MlirValue fused = qcc_insert_before(mm, q_matmul_create(loc, mlirValueGetType(y), q_matmul_in(mm, 0), q_matmul_in(mm, 1), b, (MlirValue){NULL}));
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(add, 0), fused);
  free(bias);
  return true;
}

int qcc_pass_fuse_affine(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op))
    if (q_conv_is(op) && fuse_conv(op)) qcc_remark("fuse-affine: folded a per-channel scale/shift into a conv");
    else if (q_matmul_is(op) && fuse_matmul_bias(op)) qcc_remark("fuse-affine: folded a bias add into a matmul");
  /* The replaced conv, mul and add are now dead: the dce pass erases them. */
  return qcc_pass_dce(m);
}
