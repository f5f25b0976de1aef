/* onnx_rules_resize.c - the sampling ops: Resize (opset 10, 11, 13, 18)
 * and Upsample (7, 9) as q.resize, GridSample (16) as q.grid_sample.
 *
 * The output shape comes from constant sizes or scales (floor(in * scale)),
 * or, when those are run-time inputs, from the output type the model
 * declares.  Run-time scales are then passed to the kernel, which computes
 * its coordinates from them (they matter beyond the shape: a 0.6 and a 0.7
 * downscale of 4 both give 2); with sizes the scale is out / in, which the
 * kernel derives from the shapes.  Resize-10 and Upsample use the
 * asymmetric transform and floor for nearest (Upsample's definition). */
#include <math.h>
#include <string.h>

#include "onnx_rules.h"

/* Input i holds a non-empty tensor (Resize-11/12 pass empty ones for
 * "absent"). */
static bool present(onnx_node *n, int i) {
  qcc_shape s;
  return onnx_has_in(n, i) && qcc_shape_of(onnx_in(n, i), &s) && qcc_shape_numel(&s) > 0;
}

static bool one_of(const char *s, const char *const *list) {
  for (; *list; list++)
    if (!strcmp(s, *list)) return true;
  return false;
}

/* Float values of a constant input (float32/float64) into v[0..k). */
static bool const_floats(onnx_node *n, int i, double *v, int *k, int cap) {
  qcc_array a;
  if (!onnx_const_input(n, i, &a)) return false;
  int64_t c = qcc_array_numel(&a);
  bool ok = (a.dtype == QRT_F32 || a.dtype == QRT_F64) && c <= cap;
  for (int64_t j = 0; ok && j < c; j++) v[j] = a.dtype == QRT_F32 ? ((float *)a.data)[j] : ((double *)a.data)[j];
  *k = (int)c;
  qcc_array_free(&a);
  return ok;
}

/* A [1] float32 slice j of the 1-D run-time tensor v. */
static MlirValue element(onnx_node *n, MlirValue v, int64_t j) {
  qcc_shape one = {QRT_F32, 1, {1}};
  q_slice_attrs sa = {{1, {j}}, {1, {1}}};
  return onnx_emit(n, q_slice_create(n->loc, onnx_type(n, &one), v, &sa));
}

static int rule_resize(onnx_node *n, MlirValue *res) {
  qcc_shape x, y;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  int r = x.rank;
  if (r < 1 || x.dtype == QRT_STRING || !qcc_dtype_size(x.dtype)) return onnx_fail(n, "input type or rank is not supported");
  bool upsample = !strcmp(n->type, "Upsample"), v11 = !upsample && n->opset >= 11;
  q_resize_attrs a;
  memset(&a, 0, sizeof a);
  onnx_attr_str(n, "mode", "nearest", a.mode.s, sizeof a.mode.s);
  onnx_attr_str(n, "coordinate_transformation_mode", v11 ? "half_pixel" : "asymmetric", a.coord.s, sizeof a.coord.s);
  onnx_attr_str(n, "nearest_mode", v11 ? "round_prefer_floor" : "floor", a.nearest.s, sizeof a.nearest.s);
  if (!v11) {
    snprintf(a.coord.s, sizeof a.coord.s, "asymmetric");
    snprintf(a.nearest.s, sizeof a.nearest.s, "floor");
  }
  a.cubic_a = onnx_attr_float(n, "cubic_coeff_a", -0.75);
  a.exclude_outside = onnx_attr_int(n, "exclude_outside", 0);
  a.extrapolation = onnx_attr_float(n, "extrapolation_value", 0.0);
  static const char *const modes[] = {"nearest", "linear", "cubic", NULL};
  static const char *const coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                       "tf_half_pixel_for_nn", "tf_crop_and_resize", NULL};
  static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil", NULL};
  if (!one_of(a.mode.s, modes) || (!v11 && !strcmp(a.mode.s, "cubic"))) return onnx_fail(n, "mode '%s' is not supported", a.mode.s);
  if (!one_of(a.coord.s, coords)) return onnx_fail(n, "coordinate_transformation_mode '%s' is not supported", a.coord.s);
  if (!one_of(a.nearest.s, nearests)) return onnx_fail(n, "nearest_mode '%s' is not supported", a.nearest.s);
  bool interp = strcmp(a.mode.s, "nearest") != 0, crop = !strcmp(a.coord.s, "tf_crop_and_resize");
  if ((interp || crop) && x.dtype != QRT_F32 && x.dtype != QRT_F64)
    return onnx_fail(n, "%s on element type %s is not supported (float32/float64 only)", interp ? a.mode.s : a.coord.s,
                     qcc_dtype_name(x.dtype));
  if (onnx_attr_int(n, "antialias", 0)) return onnx_fail(n, "antialias=1 is not supported");
  char policy[32];
  onnx_attr_str(n, "keep_aspect_ratio_policy", "stretch", policy, sizeof policy);
  if (strcmp(policy, "stretch")) return onnx_fail(n, "keep_aspect_ratio_policy '%s' is not supported", policy);

  /* axes (opset 18): the dims scales/sizes/roi refer to; default all */
  q_i64s axes;
  int64_t slot[QRT_MAX_RANK]; /* dim -> position in scales/sizes, or -1 */
  for (int d = 0; d < r; d++) slot[d] = -1;
  if (onnx_attr_ints(n, "axes", &axes)) {
    for (int j = 0; j < axes.n; j++) {
      int64_t d;
      if (!onnx_axis(n, axes.v[j], r, &d)) return -1;
      if (slot[d] >= 0) return onnx_fail(n, "repeated axis %lld", (long long)d);
      slot[d] = j;
    }
  } else {
    axes.n = r;
    for (int d = 0; d < r; d++) slot[d] = d;
  }

  int in_scales = upsample ? 1 : v11 ? 2 : 1, in_sizes = v11 ? 3 : -1, in_roi = v11 ? 1 : -1;
  MlirValue scales_v = {NULL}, roi_v = {NULL};
  y = x;
  double s[16];
  int k = 0;
  bool have_sizes = in_sizes >= 0 && present(n, in_sizes);
  bool have_scales = upsample && n->opset < 9 ? true : present(n, in_scales);
  if (have_sizes && have_scales) return onnx_fail(n, "only one of scales and sizes may be given");
  if (upsample && n->opset < 9) {
    /* Upsample-7: scales is a float list attribute */
    MlirAttribute fa = mlirOperationGetAttributeByName(n->op, mlirStringRefCreateFromCString("scales"));
    if (mlirAttributeIsNull(fa) || !mlirAttributeIsADenseF32Array(fa)) return onnx_fail(n, "missing scales attribute");
    k = (int)mlirDenseArrayGetNumElements(fa);
    if (k != r) return onnx_fail(n, "scales has %d values for rank %d", k, r);
    for (int j = 0; j < k; j++) s[j] = mlirDenseF32ArrayGetElement(fa, j);
  }
  if (have_sizes) {
    q_i64s sz;
    qcc_shape ss;
    if (!onnx_in_shape(n, in_sizes, &ss)) return -1;
    if (qcc_shape_numel(&ss) != axes.n) return onnx_fail(n, "sizes has %lld values for %d axes", (long long)qcc_shape_numel(&ss), axes.n);
    qcc_array ca;
    if (onnx_const_input(n, in_sizes, &ca)) {
      qcc_array_free(&ca);
      if (!onnx_const_ints(n, in_sizes, &sz, "sizes")) return -1;
      for (int d = 0; d < r; d++)
        if (slot[d] >= 0) y.dims[d] = sz.v[slot[d]];
    } else if (!onnx_declared_shape(n, 0, &y) || y.rank != r) {
      return onnx_fail(n, "input %d (sizes) must be a compile-time constant, or the output shape must be declared", in_sizes);
    }
  } else if (have_scales) {
    bool constant = upsample && n->opset < 9;
    qcc_shape ss = {QRT_F32, 1, {r}};
    if (!constant) {
      if (!onnx_in_shape(n, in_scales, &ss)) return -1;
      if (ss.dtype != QRT_F32 || qcc_shape_numel(&ss) != axes.n)
        return onnx_fail(n, "scales must be float32 with one value per axis (%d)", axes.n);
      constant = const_floats(n, in_scales, s, &k, 16);
    }
    if (constant) {
      float full[QRT_MAX_RANK];
      for (int d = 0; d < r; d++) {
        double sd = slot[d] >= 0 ? s[slot[d]] : 1.0;
        if (!(sd > 0) || sd > 1e6) return onnx_fail(n, "scale %g of dim %d must be positive", sd, d);
        full[d] = (float)sd;
        y.dims[d] = (int64_t)floor((double)full[d] * (double)x.dims[d]);
      }
      qcc_array fa = {QRT_F32, 1, {r}, full, sizeof(float) * (size_t)r};
      scales_v = onnx_constant(n, &fa);
    } else {
      if (!onnx_declared_shape(n, 0, &y) || y.rank != r)
        return onnx_fail(n, "input %d (scales) must be a compile-time constant, or the output shape must be declared",
                         in_scales);
      scales_v = onnx_in(n, in_scales);
      if (axes.n != r) {
        /* full-rank scales: the given ones at their dims, 1 elsewhere */
        MlirValue parts[QRT_MAX_RANK];
        float one = 1.0f;
        qcc_array oa = {QRT_F32, 1, {1}, &one, sizeof one};
        for (int d = 0; d < r; d++) parts[d] = slot[d] >= 0 ? element(n, scales_v, slot[d]) : onnx_constant(n, &oa);
        qcc_shape fs = {QRT_F32, 1, {r}};
        q_concat_attrs ca = {0};
        scales_v = onnx_emit(n, q_concat_create(n->loc, onnx_type(n, &fs), parts, r, &ca));
      } else if (ss.rank != 1) {
        qcc_shape fs = {QRT_F32, 1, {r}};
        scales_v = onnx_reshape(n, scales_v, &fs);
      }
    }
  } else {
    return onnx_fail(n, "one of scales and sizes must be given");
  }
  y.dtype = x.dtype;
  for (int d = 0; d < r; d++) {
    if (slot[d] < 0 && y.dims[d] != x.dims[d]) return onnx_fail(n, "dim %d is not among the axes but changes size", d);
    if (y.dims[d] < 0) return onnx_fail(n, "negative output size");
  }
  if (crop && in_roi >= 0 && present(n, in_roi)) {
    double rv[32];
    int rk = 0;
    qcc_shape rs;
    if (!onnx_in_shape(n, in_roi, &rs)) return -1;
    if (qcc_shape_numel(&rs) != 2 * axes.n || (rs.dtype != QRT_F32 && rs.dtype != QRT_F64))
      return onnx_fail(n, "roi must hold 2 float values per axis");
    qcc_shape r64 = {QRT_F64, 1, {2 * r}};
    if (const_floats(n, in_roi, rv, &rk, 32)) {
      double full[2 * QRT_MAX_RANK];
      for (int d = 0; d < r; d++) {
        full[d] = slot[d] >= 0 ? rv[slot[d]] : 0.0;
        full[r + d] = slot[d] >= 0 ? rv[axes.n + slot[d]] : 1.0;
      }
      qcc_array ra = {QRT_F64, 1, {2 * r}, full, sizeof(double) * (size_t)(2 * r)};
      roi_v = onnx_constant(n, &ra);
    } else {
      if (axes.n != r) return onnx_fail(n, "a run-time roi with axes is not supported");
      roi_v = onnx_reshape(n, onnx_in(n, in_roi), &(qcc_shape){rs.dtype, 1, {2 * r}});
      if (rs.dtype != QRT_F64) roi_v = onnx_emit(n, q_cast_create(n->loc, onnx_type(n, &r64), roi_v));
    }
  }
  res[0] = onnx_emit(n, q_resize_create(n->loc, onnx_type(n, &y), onnx_in(n, 0), scales_v, roi_v, &a));
  return 0;
}

/* GridSample-16, -20 (2-D only): X [N, C, H, W], grid [N, H_out, W_out, 2]. */
static int rule_grid_sample(onnx_node *n, MlirValue *res) {
  qcc_shape x, g;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &g)) return -1;
  if (x.dtype != QRT_F32 || g.dtype != QRT_F32) return onnx_fail(n, "X and grid must be float32");
  if (x.rank != 4 || g.rank != 4 || g.dims[0] != x.dims[0] || g.dims[3] != 2)
    return onnx_fail(n, "X must be [N, C, H, W] and grid [N, H_out, W_out, 2]");
  q_grid_sample_attrs a;
  memset(&a, 0, sizeof a);
  onnx_attr_str(n, "mode", "bilinear", a.mode.s, sizeof a.mode.s);
  onnx_attr_str(n, "padding_mode", "zeros", a.padding.s, sizeof a.padding.s);
  /* opset 20 names the 2-D modes by their N-D names */
  if (n->opset >= 20 && !strcmp(a.mode.s, "linear")) snprintf(a.mode.s, sizeof a.mode.s, "bilinear");
  if (n->opset >= 20 && !strcmp(a.mode.s, "cubic")) snprintf(a.mode.s, sizeof a.mode.s, "bicubic");
  static const char *const modes[] = {"bilinear", "nearest", "bicubic", NULL};
  static const char *const pads[] = {"zeros", "border", "reflection", NULL};
  if (!one_of(a.mode.s, modes)) return onnx_fail(n, "mode '%s' is not supported", a.mode.s);
  if (!one_of(a.padding.s, pads)) return onnx_fail(n, "padding_mode '%s' is not supported", a.padding.s);
  a.align_corners = onnx_attr_int(n, "align_corners", 0) != 0;
  qcc_shape y = {QRT_F32, 4, {x.dims[0], x.dims[1], g.dims[1], g.dims[2]}};
  res[0] = onnx_emit(n, q_grid_sample_create(n->loc, onnx_type(n, &y), onnx_in(n, 0), onnx_in(n, 1), &a));
  return 0;
}

const onnx_rule onnx_rules_resize[] = {
    {"Resize", rule_resize},
    {"Upsample", rule_resize},
    {"GridSample", rule_grid_sample},
    {NULL, NULL},
};
