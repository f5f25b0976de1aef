/* onnx_rules_nn.c - legalization of the neural-network ops: Conv,
 * ConvTranspose, pools, BatchNormalization, Gemm, MatMul,
 * Softmax/LogSoftmax, LayerNormalization. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_rules.h"

/* Spatial geometry shared by Conv and the pools: resolves auto_pad, pads,
 * strides, dilations and ceil_mode into explicit pads and output sizes. */
typedef struct window {
  int n;                 /* spatial rank */
  int64_t in[8], k[8], s[8], d[8], pb[8], pe[8], out[8];
} window;

static bool resolve_window(onnx_node *n, const qcc_shape *x, const int64_t *kernel, bool ceil_mode, window *w) {
  memset(w, 0, sizeof *w);
  w->n = x->rank - 2;
  if (w->n < 1 || w->n > 3) return onnx_fail(n, "%d spatial dims; 1 to 3 are supported", w->n), false;
  q_i64s strides, dil, pads;
  onnx_attr_ints(n, "strides", &strides);
  onnx_attr_ints(n, "dilations", &dil);
  onnx_attr_ints(n, "pads", &pads);
  if ((strides.n && strides.n != w->n) || (dil.n && dil.n != w->n) || (pads.n && pads.n != 2 * w->n))
    return onnx_fail(n, "strides/dilations/pads do not match %d spatial dims", w->n), false;
  char ap[32];
  onnx_attr_str(n, "auto_pad", "NOTSET", ap, sizeof ap);
  for (int i = 0; i < w->n; i++) {
    w->in[i] = x->dims[2 + i];
    w->k[i] = kernel[i];
    w->s[i] = strides.n ? strides.v[i] : 1;
    w->d[i] = dil.n ? dil.v[i] : 1;
    if (w->k[i] < 1 || w->s[i] < 1 || w->d[i] < 1)
      return onnx_fail(n, "kernel, strides and dilations must be positive"), false;
    int64_t span = (w->k[i] - 1) * w->d[i] + 1;
    if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
      w->out[i] = (w->in[i] + w->s[i] - 1) / w->s[i];
      int64_t total = (w->out[i] - 1) * w->s[i] + span - w->in[i];
      if (total < 0) total = 0;
      w->pb[i] = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
      w->pe[i] = total - w->pb[i];
      continue;
    }
    if (!strcmp(ap, "VALID")) {
      w->pb[i] = w->pe[i] = 0;
    } else if (!strcmp(ap, "NOTSET")) {
      w->pb[i] = pads.n ? pads.v[i] : 0;
      w->pe[i] = pads.n ? pads.v[w->n + i] : 0;
      if (w->pb[i] < 0 || w->pe[i] < 0) return onnx_fail(n, "negative pads are not supported"), false;
    } else {
      return onnx_fail(n, "auto_pad '%s' is not supported", ap), false;
    }
    int64_t room = w->in[i] + w->pb[i] + w->pe[i] - span;
    if (room < 0) return onnx_fail(n, "the kernel is larger than the padded input"), false;
    w->out[i] = (ceil_mode ? (room + w->s[i] - 1) / w->s[i] : room / w->s[i]) + 1;
    /* With ceil_mode the last window must start inside input or begin pad. */
    if (ceil_mode && (w->out[i] - 1) * w->s[i] >= w->in[i] + w->pb[i]) w->out[i]--;
  }
  return true;
}

static void window_attrs(const window *w, q_i64s *strides, q_i64s *pads, q_i64s *dil) {
  strides->n = dil->n = w->n;
  pads->n = 2 * w->n;
  for (int i = 0; i < w->n; i++) {
    strides->v[i] = w->s[i];
    dil->v[i] = w->d[i];
    pads->v[i] = w->pb[i];
    pads->v[w->n + i] = w->pe[i];
  }
}

static bool require_f32(onnx_node *n, const qcc_shape *s) {
  if (s->dtype == QRT_F32) return true;
  onnx_fail(n, "element type %s is not supported (float32 only)", qcc_dtype_name(s->dtype));
  return false;
}

/* Conv geometry from the node's attributes applied to x and w (any
 * element type the conv kernels take; the result has x's type). */
int onnx_emit_conv(onnx_node *n, MlirValue xv, const qcc_shape *xs, MlirValue wv, const qcc_shape *ws, MlirValue bias,
                   MlirValue *out) {
  qcc_shape x = *xs, w = *ws;
  if (w.rank != x.rank) return onnx_fail(n, "weight rank %d differs from input rank %d", w.rank, x.rank);
  int64_t group = onnx_attr_int(n, "group", 1);
  if (group < 1 || x.dims[1] % group || w.dims[0] % group || w.dims[1] * group != x.dims[1])
    return onnx_fail(n, "channels (input %lld, weight %lldx%lld) do not match group %lld", (long long)x.dims[1],
                     (long long)w.dims[0], (long long)w.dims[1], (long long)group);
  q_i64s ks;
  if (onnx_attr_ints(n, "kernel_shape", &ks) && ks.n != x.rank - 2)
    return onnx_fail(n, "kernel_shape has %d dims, expected %d", ks.n, x.rank - 2);
  for (int i = 0; i + 2 < x.rank; i++)
    if (ks.n && ks.v[i] != w.dims[2 + i]) return onnx_fail(n, "kernel_shape disagrees with the weight shape");
  window win;
  if (!resolve_window(n, &x, w.dims + 2, false, &win)) return -1;
  if (!mlirValueIsNull(bias)) {
    qcc_shape b;
    qcc_shape_of(bias, &b);
    if (b.rank != 1 || b.dims[0] != w.dims[0]) return onnx_fail(n, "bias must have shape [%lld]", (long long)w.dims[0]);
  }
  qcc_shape y = {x.dtype, x.rank, {x.dims[0], w.dims[0]}};
  for (int i = 0; i < win.n; i++) y.dims[2 + i] = win.out[i];
  q_conv_attrs a;
  memset(&a, 0, sizeof a);
  window_attrs(&win, &a.strides, &a.pads, &a.dilations);
  a.group = group;
  *out = onnx_emit(n, q_conv_create(n->loc, onnx_type(n, &y), xv, wv, bias, &a));
  return 0;
}

static int rule_conv(onnx_node *n, MlirValue *res) {
  qcc_shape x, w;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &w) || !require_f32(n, &x)) return -1;
  if (w.dtype != QRT_F32) return onnx_fail(n, "weight must be float32");
  if (onnx_has_in(n, 2)) {
    qcc_shape b;
    if (!onnx_in_shape(n, 2, &b)) return -1;
  }
  return onnx_emit_conv(n, onnx_in(n, 0), &x, onnx_in(n, 1), &w, onnx_in(n, 2), &res[0]);
}

static MlirValue pad_op(onnx_node *n, MlirValue x, const qcc_shape *y, const int64_t *begin, const int64_t *end, int rank) {
  q_pad_attrs a;
  memset(&a, 0, sizeof a);
  snprintf(a.mode.s, sizeof a.mode.s, "constant");
  a.pads.n = 2 * rank;
  for (int i = 0; i < rank; i++) {
    a.pads.v[i] = begin[i];
    a.pads.v[rank + i] = end[i];
  }
  return onnx_emit(n, q_pad_create(n->loc, onnx_type(n, y), x, &a));
}

/* ConvTranspose as a convolution (the same sums of products, plus exact
 * zeros): x is zero-stuffed (s-1 zeros after every element: reshape to
 * [.., S, 1, ..], pad to [.., S, s, ..], reshape), padded by
 * d(k-1) - pad_begin before and d(k-1) - pad_end + output_padding after
 * (negative amounts crop), and convolved with stride 1 and dilation d
 * using the weight flipped in space with in/out channels swapped per group:
 * W [C_in, C_out/g, k...] -> [C_out, C_in/g, k...]. A constant W is
 * transformed at compile time by fold-constants. */
static int rule_conv_transpose(onnx_node *n, MlirValue *res) {
  qcc_shape x, w;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &w) || !require_f32(n, &x)) return -1;
  int sp = x.rank - 2;
  if (sp < 1 || sp > 3) return onnx_fail(n, "%d spatial dims; 1 to 3 are supported", sp);
  if (w.rank != x.rank || w.dtype != QRT_F32) return onnx_fail(n, "weight must be float32 of the input's rank");
  int64_t g = onnx_attr_int(n, "group", 1);
  if (g < 1 || x.dims[1] != w.dims[0] || w.dims[0] % g)
    return onnx_fail(n, "channels (input %lld, weight %lld) do not match group %lld", (long long)x.dims[1],
                     (long long)w.dims[0], (long long)g);
  int64_t cin = x.dims[1], cout = w.dims[1] * g;
  q_i64s ks, st, dl, pads, op, os;
  onnx_attr_ints(n, "kernel_shape", &ks);
  onnx_attr_ints(n, "strides", &st);
  onnx_attr_ints(n, "dilations", &dl);
  onnx_attr_ints(n, "pads", &pads);
  onnx_attr_ints(n, "output_padding", &op);
  onnx_attr_ints(n, "output_shape", &os);
  if ((ks.n && ks.n != sp) || (st.n && st.n != sp) || (dl.n && dl.n != sp) || (pads.n && pads.n != 2 * sp) ||
      (op.n && op.n != sp))
    return onnx_fail(n, "kernel_shape/strides/dilations/pads/output_padding do not match %d spatial dims", sp);
  /* output_shape may list the spatial dims or the whole shape. */
  int os_off = os.n == x.rank ? 2 : 0;
  if (os.n && os.n != sp && os.n != x.rank) return onnx_fail(n, "output_shape has %d values", os.n);
  char ap[32];
  onnx_attr_str(n, "auto_pad", "NOTSET", ap, sizeof ap);
  bool same_upper = !strcmp(ap, "SAME_UPPER"), same_lower = !strcmp(ap, "SAME_LOWER");
  if (!same_upper && !same_lower && strcmp(ap, "NOTSET") && strcmp(ap, "VALID"))
    return onnx_fail(n, "auto_pad '%s' is not supported", ap);
  int64_t k[3], s[3], d[3], pb[3], pe[3], outp[3], out[3];
  for (int i = 0; i < sp; i++) {
    k[i] = w.dims[2 + i];
    if (ks.n && ks.v[i] != k[i]) return onnx_fail(n, "kernel_shape disagrees with the weight shape");
    s[i] = st.n ? st.v[i] : 1;
    d[i] = dl.n ? dl.v[i] : 1;
    outp[i] = op.n ? op.v[i] : 0;
    if (s[i] < 1 || d[i] < 1 || outp[i] < 0) return onnx_fail(n, "strides and dilations must be positive, output_padding >= 0");
    int64_t full = s[i] * (x.dims[2 + i] - 1) + outp[i] + (k[i] - 1) * d[i] + 1;
    if (os.n || same_upper || same_lower) {
      /* Padding from the wanted output size (floor division, as the
       * reference: a larger output than the natural one extends the end). */
      out[i] = os.n ? os.v[os_off + i] : x.dims[2 + i] * s[i];
      int64_t total = full - out[i], half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      if (same_upper) {
        pb[i] = half;
        pe[i] = total - half;
      } else {
        pb[i] = total - half;
        pe[i] = half;
      }
    } else {
      pb[i] = !strcmp(ap, "VALID") || !pads.n ? 0 : pads.v[i];
      pe[i] = !strcmp(ap, "VALID") || !pads.n ? 0 : pads.v[sp + i];
      out[i] = full - pb[i] - pe[i];
    }
    if (out[i] < 1) return onnx_fail(n, "output dim %d would be %lld", i, (long long)out[i]);
  }
  MlirValue none = {NULL}, v = onnx_in(n, 0);
  qcc_shape cur = x;
  /* zero-stuffing */
  bool strided = false;
  for (int i = 0; i < sp; i++) strided |= s[i] > 1;
  if (strided) {
    qcc_shape a = {QRT_F32, 2 + 2 * sp, {x.dims[0], cin}}, b;
    int64_t zb[8] = {0}, ze[8] = {0};
    for (int i = 0; i < sp; i++) {
      a.dims[2 + 2 * i] = x.dims[2 + i];
      a.dims[3 + 2 * i] = 1;
      ze[3 + 2 * i] = s[i] - 1;
    }
    b = a;
    for (int i = 0; i < sp; i++) b.dims[3 + 2 * i] = s[i];
    v = pad_op(n, onnx_reshape(n, v, &a), &b, zb, ze, a.rank);
    for (int i = 0; i < sp; i++) cur.dims[2 + i] = x.dims[2 + i] * s[i];
    v = onnx_reshape(n, v, &cur);
  }
  /* border: cur holds S*s elements, of which the last s-1 are stuffing */
  int64_t bb[8] = {0}, be[8] = {0};
  bool padded = false;
  qcc_shape p = cur;
  for (int i = 0; i < sp; i++) {
    bb[2 + i] = d[i] * (k[i] - 1) - pb[i];
    be[2 + i] = d[i] * (k[i] - 1) - pe[i] + outp[i] - (s[i] - 1);
    p.dims[2 + i] = cur.dims[2 + i] + bb[2 + i] + be[2 + i];
    if (p.dims[2 + i] < d[i] * (k[i] - 1) + 1) return onnx_fail(n, "pads leave no room for the kernel in dim %d", i);
    padded |= bb[2 + i] || be[2 + i];
  }
  if (padded) v = pad_op(n, v, &p, bb, be, x.rank);
  /* weight: [C_in, C_out/g, k] -> [g, C_in/g, C_out/g, k] -> [g, C_out/g, C_in/g, k] -> flip k */
  qcc_shape w4 = {QRT_F32, 3 + sp, {g, cin / g, cout / g}}, wt;
  for (int i = 0; i < sp; i++) w4.dims[3 + i] = k[i];
  q_transpose_attrs ta;
  ta.perm.n = w4.rank;
  for (int i = 0; i < w4.rank; i++) ta.perm.v[i] = i == 1 ? 2 : i == 2 ? 1 : i;
  wt = w4;
  wt.dims[1] = w4.dims[2];
  wt.dims[2] = w4.dims[1];
  MlirValue wv = onnx_emit(n, q_transpose_create(n->loc, onnx_type(n, &wt), onnx_reshape(n, onnx_in(n, 1), &w4), &ta));
  qcc_shape wc = {QRT_F32, x.rank, {cout, cin / g}};
  for (int i = 0; i < sp; i++) wc.dims[2 + i] = k[i];
  wv = onnx_reshape(n, wv, &wc);
  q_slice_attrs fl;
  fl.starts.n = fl.steps.n = wc.rank;
  for (int i = 0; i < wc.rank; i++) {
    fl.starts.v[i] = i < 2 ? 0 : wc.dims[i] - 1;
    fl.steps.v[i] = i < 2 ? 1 : -1;
  }
  wv = onnx_emit(n, q_slice_create(n->loc, onnx_type(n, &wc), wv, &fl));
  MlirValue bias = none;
  if (onnx_has_in(n, 2)) {
    qcc_shape bs;
    if (!onnx_in_shape(n, 2, &bs)) return -1;
    if (bs.rank != 1 || bs.dims[0] != cout || bs.dtype != QRT_F32) return onnx_fail(n, "bias must have shape [%lld]", (long long)cout);
    bias = onnx_in(n, 2);
  }
  qcc_shape y = {QRT_F32, x.rank, {x.dims[0], cout}};
  for (int i = 0; i < sp; i++) y.dims[2 + i] = out[i];
  q_conv_attrs ca;
  memset(&ca, 0, sizeof ca);
  ca.strides.n = ca.dilations.n = sp;
  ca.pads.n = 2 * sp;
  for (int i = 0; i < sp; i++) {
    ca.strides.v[i] = 1;
    ca.dilations.v[i] = d[i];
  }
  ca.group = g;
  res[0] = onnx_emit(n, q_conv_create(n->loc, onnx_type(n, &y), v, wv, bias, &ca));
  return 0;
}

/* Pools.  MaxPool's optional Indices output is a second q.pool of kind
 * argmax (argmax_col for storage_order 1).  MaxPool on int8/uint8 (opset
 * 12) pools the values converted to float32, which is exact, and converts
 * back. */
static int emit_pool(onnx_node *n, MlirValue *res, const char *kind, bool global) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  bool max = !strcmp(kind, "max"), q8 = x.dtype == QRT_I8 || x.dtype == QRT_U8;
  if (!(max && q8) && !require_f32(n, &x)) return -1;
  int64_t order = onnx_attr_int(n, "storage_order", 0);
  if (order != 0 && order != 1) return onnx_fail(n, "storage_order must be 0 or 1");
  int64_t kernel[8];
  window win;
  if (global) {
    if (x.rank < 3 || x.rank > 5) return onnx_fail(n, "rank %d is not supported", x.rank);
    memset(&win, 0, sizeof win);
    win.n = x.rank - 2;
    for (int i = 0; i < win.n; i++) {
      win.in[i] = win.k[i] = x.dims[2 + i];
      win.s[i] = win.d[i] = win.out[i] = 1;
    }
  } else {
    q_i64s ks;
    if (!onnx_attr_ints(n, "kernel_shape", &ks) || ks.n != x.rank - 2)
      return onnx_fail(n, "kernel_shape must list %d spatial sizes", x.rank - 2);
    memcpy(kernel, ks.v, sizeof(int64_t) * (size_t)ks.n);
    if (!resolve_window(n, &x, kernel, onnx_attr_int(n, "ceil_mode", 0) != 0, &win)) return -1;
  }
  qcc_shape y = x;
  for (int i = 0; i < win.n; i++) y.dims[2 + i] = win.out[i];
  q_pool_attrs a;
  memset(&a, 0, sizeof a);
  snprintf(a.kind.s, sizeof a.kind.s, "%s", kind);
  window_attrs(&win, &a.strides, &a.pads, &a.dilations);
  a.kernel.n = win.n;
  memcpy(a.kernel.v, win.k, sizeof(int64_t) * (size_t)win.n);
  a.count_include_pad = onnx_attr_int(n, "count_include_pad", 0);
  MlirValue xv = onnx_in(n, 0);
  qcc_shape xf = x, yf = y;
  xf.dtype = yf.dtype = QRT_F32;
  if (q8) xv = onnx_emit(n, q_cast_create(n->loc, onnx_type(n, &xf), xv));
  MlirValue v = onnx_emit(n, q_pool_create(n->loc, onnx_type(n, &yf), xv, &a));
  res[0] = q8 ? onnx_emit(n, q_cast_create(n->loc, onnx_type(n, &y), v)) : v;
  if (onnx_out_used(n, 1)) {
    if (!max) return onnx_fail(n, "output 1 does not exist");
    qcc_shape yi = y;
    yi.dtype = QRT_I64;
    snprintf(a.kind.s, sizeof a.kind.s, "%s", order ? "argmax_col" : "argmax");
    res[1] = onnx_emit(n, q_pool_create(n->loc, onnx_type(n, &yi), xv, &a));
  }
  return 0;
}

static int rule_maxpool(onnx_node *n, MlirValue *r) { return emit_pool(n, r, "max", false); }
static int rule_avgpool(onnx_node *n, MlirValue *r) { return emit_pool(n, r, "avg", false); }
static int rule_gmaxpool(onnx_node *n, MlirValue *r) { return emit_pool(n, r, "max", true); }
static int rule_gavgpool(onnx_node *n, MlirValue *r) { return emit_pool(n, r, "avg", true); }

static MlirValue binary(onnx_node *n, const char *kind, MlirValue a, MlirValue b, const qcc_shape *out) {
  q_binary_attrs attrs;
  memset(&attrs, 0, sizeof attrs);
  snprintf(attrs.kind.s, sizeof attrs.kind.s, "%s", kind);
  return onnx_emit(n, q_binary_create(n->loc, onnx_type(n, out), a, b, &attrs));
}

/* BatchNormalization whose parameters are run-time tensors: the ONNX
 * reference formula (x - mean) / sqrt(var + eps) * scale + B, each
 * parameter reshaped to [C, 1, ...] to broadcast over the channel dim. */
static int batchnorm_runtime(onnx_node *n, const qcc_shape *x, double eps, MlirValue *res) {
  qcc_shape cs = {QRT_F32, x->rank - 1, {0}};
  for (int i = 0; i < cs.rank; i++) cs.dims[i] = i == 0 ? x->dims[1] : 1;
  MlirValue p[4];
  for (int i = 0; i < 4; i++) p[i] = onnx_reshape(n, onnx_in(n, i + 1), &cs);
  MlirValue v = onnx_binary(n, "add", p[3], onnx_scalar(n, QRT_F32, eps), &cs);
  v = onnx_unary(n, "sqrt", v, &cs, 0, 0);
  MlirValue y = onnx_binary(n, "div", onnx_binary(n, "sub", onnx_in(n, 0), p[2], x), v, x);
  y = onnx_binary(n, "mul", y, p[0], x);
  res[0] = onnx_binary(n, "add", y, p[1], x);
  return 0;
}

/* Inference BatchNormalization = per-channel y = x * a + b with
 * a = scale / sqrt(var + eps), b = bias - mean * a, computed in double. The
 * fuse-affine pass then folds the pair into the producing conv. */
static int rule_batchnorm(onnx_node *n, MlirValue *res) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x) || !require_f32(n, &x)) return -1;
  if (onnx_attr_int(n, "training_mode", 0)) return onnx_fail(n, "training_mode=1 is not supported");
  /* Before opset 7 is_test=0 (the default) means training mode; before 9
   * spatial=0 means per-activation statistics. consumed_inputs (opset 1)
   * is a legacy memory hint without meaning here. */
  if (n->opset < 7 && !onnx_attr_int(n, "is_test", 0))
    return onnx_fail(n, "is_test=0 (training mode, the default before opset 7) is not supported");
  if (n->opset < 9 && !onnx_attr_int(n, "spatial", 1)) return onnx_fail(n, "spatial=0 is not supported");
  for (int i = 1; i < n->n_out; i++)
    if (onnx_out_used(n, i)) return onnx_fail(n, "running statistics outputs are not supported (inference only)");
  if (x.rank < 2) return onnx_fail(n, "input must have a channel dim");
  qcc_array p[4];
  const char *names[4] = {"scale", "B", "mean", "var"};
  int64_t c = x.dims[1];
  double eps = onnx_attr_float(n, "epsilon", 1e-5);
  for (int i = 0; i < 4; i++) {
    qcc_shape ps;
    if (!onnx_in_shape(n, i + 1, &ps)) return -1;
    if (ps.dtype != QRT_F32 || qcc_shape_numel(&ps) != c)
      return onnx_fail(n, "%s must be a float32 tensor of %lld values", names[i], (long long)c);
  }
  for (int i = 0; i < 4; i++) {
    if (!onnx_const_input(n, i + 1, &p[i])) {
      for (int j = 0; j < i; j++) qcc_array_free(&p[j]);
      return batchnorm_runtime(n, &x, eps, res);
    }
  }
  qcc_shape cs = {QRT_F32, x.rank, {0}};
  for (int i = 0; i < x.rank; i++) cs.dims[i] = i == 1 ? c : 1;
  qcc_array a = {QRT_F32, cs.rank, {0}, malloc(sizeof(float) * (size_t)c), sizeof(float) * (size_t)c};
  qcc_array b = a;
  b.data = malloc(a.nbytes);
  memcpy(a.dims, cs.dims, sizeof cs.dims);
  memcpy(b.dims, cs.dims, sizeof cs.dims);
  for (int64_t i = 0; i < c; i++) {
    double s = ((float *)p[0].data)[i] / sqrt((double)((float *)p[3].data)[i] + eps);
    ((float *)a.data)[i] = (float)s;
    ((float *)b.data)[i] = (float)(((float *)p[1].data)[i] - ((float *)p[2].data)[i] * s);
  }
  MlirValue va = onnx_constant(n, &a), vb = onnx_constant(n, &b);
  MlirValue mul = binary(n, "mul", onnx_in(n, 0), va, &x);
  res[0] = binary(n, "add", mul, vb, &x);
  for (int i = 0; i < 4; i++) qcc_array_free(&p[i]);
  qcc_array_free(&a);
  qcc_array_free(&b);
  return 0;
}

static MlirValue transpose2d(onnx_node *n, MlirValue v, const qcc_shape *s, qcc_shape *out) {
  q_transpose_attrs a = {{2, {1, 0}}};
  qcc_shape t = *s;
  t.dims[0] = s->dims[1];
  t.dims[1] = s->dims[0];
  *out = t;
  return onnx_emit(n, q_transpose_create(n->loc, onnx_type(n, out), v, &a));
}

static MlirValue scalar_f32(onnx_node *n, float v) {
  qcc_array a = {QRT_F32, 0, {0}, &v, sizeof v};
  return onnx_constant(n, &a);
}

/* Gemm: Y = alpha * A' B' + beta * C. A constant 1-D (or [1,N]) C with
 * beta = 1 becomes the matmul's bias; anything else an explicit add. */
static int rule_gemm(onnx_node *n, MlirValue *res) {
  qcc_shape a, b;
  if (!onnx_in_shape(n, 0, &a) || !onnx_in_shape(n, 1, &b) || !require_f32(n, &a)) return -1;
  if (a.rank != 2 || b.rank != 2) return onnx_fail(n, "A and B must be 2-D");
  MlirValue va = onnx_in(n, 0), vb = onnx_in(n, 1);
  if (onnx_attr_int(n, "transA", 0)) va = transpose2d(n, va, &a, &a);
  if (onnx_attr_int(n, "transB", 0)) vb = transpose2d(n, vb, &b, &b);
  if (a.dims[1] != b.dims[0]) return onnx_fail(n, "inner dims differ: %lld vs %lld", (long long)a.dims[1], (long long)b.dims[0]);
  double alpha = onnx_attr_float(n, "alpha", 1.0), beta = onnx_attr_float(n, "beta", 1.0);
  qcc_shape y = {QRT_F32, 2, {a.dims[0], b.dims[1]}};
  MlirValue bias = {NULL};
  qcc_shape c;
  bool has_c = onnx_has_in(n, 2) && beta != 0.0;
  if (has_c && !onnx_in_shape(n, 2, &c)) return -1;
  if (has_c && beta == 1.0 && alpha == 1.0 && qcc_shape_numel(&c) == y.dims[1] && c.dims[c.rank - 1] == y.dims[1]) {
    qcc_shape flat = {QRT_F32, 1, {y.dims[1]}};
    bias = c.rank == 1 ? onnx_in(n, 2) : onnx_reshape(n, onnx_in(n, 2), &flat);
    has_c = false;
  }
  MlirValue out = onnx_emit(n, q_matmul_create(n->loc, onnx_type(n, &y), va, vb, bias, (MlirValue){NULL}));
  if (alpha != 1.0) out = binary(n, "mul", out, scalar_f32(n, (float)alpha), &y);
  if (has_c) {
    qcc_shape bc;
    if (!onnx_broadcast_shape(n, &y, &c, &bc)) return -1;
    MlirValue cv = onnx_in(n, 2);
    if (beta != 1.0) cv = binary(n, "mul", cv, scalar_f32(n, (float)beta), &c);
    out = binary(n, "add", out, cv, &y);
  }
  res[0] = out;
  return 0;
}

/* MatMul with numpy semantics: 1-D operands are promoted and the added dim
 * removed again; batch dims broadcast.  a and b have the same element type
 * (float32, or int32 for the integer ops). */
int onnx_emit_matmul(onnx_node *n, MlirValue va, const qcc_shape *as, MlirValue vb, const qcc_shape *bs, MlirValue *out) {
  qcc_shape a = *as, b = *bs;
  bool a_vec = a.rank == 1, b_vec = b.rank == 1;
  if (a.rank < 1 || b.rank < 1) return onnx_fail(n, "operands must have rank >= 1");
  if (a_vec) {
    qcc_shape t = {a.dtype, 2, {1, a.dims[0]}};
    va = onnx_reshape(n, va, &t);
    a = t;
  }
  if (b_vec) {
    qcc_shape t = {b.dtype, 2, {b.dims[0], 1}};
    vb = onnx_reshape(n, vb, &t);
    b = t;
  }
  if (a.dims[a.rank - 1] != b.dims[b.rank - 2])
    return onnx_fail(n, "inner dims differ: %lld vs %lld", (long long)a.dims[a.rank - 1], (long long)b.dims[b.rank - 2]);
  qcc_shape ab = a, bb = b, batch;
  ab.rank -= 2;
  bb.rank -= 2;
  if (!onnx_broadcast_shape(n, &ab, &bb, &batch)) return -1;
  if (batch.rank + 2 > QRT_MAX_RANK - 2) return onnx_fail(n, "too many batch dims");
  qcc_shape y = batch;
  y.dtype = a.dtype;
  y.dims[y.rank++] = a.dims[a.rank - 2];
  y.dims[y.rank++] = b.dims[b.rank - 1];
  MlirValue none = {NULL};
  MlirValue v = onnx_emit(n, q_matmul_create(n->loc, onnx_type(n, &y), va, vb, none, none));
  if (a_vec || b_vec) {
    qcc_shape f = y;
    f.rank = batch.rank;
    if (!a_vec) f.dims[f.rank++] = y.dims[y.rank - 2];
    if (!b_vec) f.dims[f.rank++] = y.dims[y.rank - 1];
    v = onnx_reshape(n, v, &f);
  }
  *out = v;
  return 0;
}

static int rule_matmul(onnx_node *n, MlirValue *res) {
  qcc_shape a, b;
  if (!onnx_in_shape(n, 0, &a) || !onnx_in_shape(n, 1, &b) || !require_f32(n, &a)) return -1;
  if (b.dtype != QRT_F32) return onnx_fail(n, "both operands must be float32");
  return onnx_emit_matmul(n, onnx_in(n, 0), &a, onnx_in(n, 1), &b, &res[0]);
}

/* Softmax and LogSoftmax: from opset 13 one axis (default -1); before, the
 * input is viewed as 2-D [prod(dims < axis), prod(dims >= axis)] (default
 * axis 1) and normalised over the second dim. */
static int emit_softmax(onnx_node *n, MlirValue *res, int log) {
  qcc_shape x;
  if (!onnx_in_shape(n, 0, &x) || !require_f32(n, &x)) return -1;
  int64_t axis;
  bool new_style = n->opset >= 13;
  if (!onnx_axis(n, onnx_attr_int(n, "axis", new_style ? -1 : 1), x.rank, &axis)) return -1;
  q_softmax_attrs a = {axis, log};
  if (new_style || x.rank == 0) {
    res[0] = onnx_emit(n, q_softmax_create(n->loc, onnx_type(n, &x), onnx_in(n, 0), &a));
    return 0;
  }
  qcc_shape flat = {QRT_F32, 2, {1, 1}};
  for (int i = 0; i < x.rank; i++) flat.dims[i < axis ? 0 : 1] *= x.dims[i];
  a.axis = 1;
  MlirValue v = onnx_reshape(n, onnx_in(n, 0), &flat);
  v = onnx_emit(n, q_softmax_create(n->loc, onnx_type(n, &flat), v, &a));
  res[0] = onnx_reshape(n, v, &x);
  return 0;
}

static int rule_softmax(onnx_node *n, MlirValue *r) { return emit_softmax(n, r, 0); }
static int rule_logsoftmax(onnx_node *n, MlirValue *r) { return emit_softmax(n, r, 1); }

/* LayerNormalization (opset 17): normalises dims [axis, rank). Scale and
 * bias must have the normalised shape (broadcasting them further is not
 * supported). */
static int rule_layernorm(onnx_node *n, MlirValue *res) {
  qcc_shape x, s;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &s) || !require_f32(n, &x)) return -1;
  int64_t axis;
  if (!onnx_axis(n, onnx_attr_int(n, "axis", -1), x.rank, &axis)) return -1;
  int64_t norm = 1;
  for (int i = (int)axis; i < x.rank; i++) norm *= x.dims[i];
  MlirValue scale = onnx_in(n, 1), bias = onnx_in(n, 2);
  qcc_shape flat = {QRT_F32, 1, {norm}};
  if (qcc_shape_numel(&s) != norm) return onnx_fail(n, "scale must have the %lld normalised elements", (long long)norm);
  scale = onnx_reshape(n, scale, &flat);
  if (!mlirValueIsNull(bias)) {
    qcc_shape b;
    if (!onnx_in_shape(n, 2, &b)) return -1;
    if (qcc_shape_numel(&b) != norm) return onnx_fail(n, "bias must have the %lld normalised elements", (long long)norm);
    bias = onnx_reshape(n, bias, &flat);
  }
  q_norm_attrs a;
  memset(&a, 0, sizeof a);
  snprintf(a.kind.s, sizeof a.kind.s, "layer");
  a.axis = axis;
  a.epsilon = onnx_attr_float(n, "epsilon", 1e-5);
  res[0] = onnx_emit(n, q_norm_create(n->loc, onnx_type(n, &x), onnx_in(n, 0), scale, bias, &a));
  if (onnx_out_used(n, 1) || onnx_out_used(n, 2)) {
    /* Mean and InvStdDev (shape of X with dims >= axis set to 1): computed
     * by separate reductions, mean = sum/count, var = mean((x - mean)^2),
     * inv = 1 / sqrt(var + eps); q.norm itself has one result. */
    if (onnx_attr_int(n, "stash_type", 1) != 1) return onnx_fail(n, "stash_type other than float32 is not supported");
    qcc_shape r = x;
    q_reduce_attrs ra;
    memset(&ra, 0, sizeof ra);
    snprintf(ra.kind.s, sizeof ra.kind.s, "mean");
    for (int i = (int)axis; i < x.rank; i++) {
      r.dims[i] = 1;
      ra.axes.v[ra.axes.n++] = i;
    }
    MlirValue mean = onnx_emit(n, q_reduce_create(n->loc, onnx_type(n, &r), onnx_in(n, 0), &ra));
    MlirValue d = binary(n, "sub", onnx_in(n, 0), mean, &x);
    MlirValue var = onnx_emit(n, q_reduce_create(n->loc, onnx_type(n, &r), binary(n, "mul", d, d, &x), &ra));
    var = binary(n, "add", var, scalar_f32(n, (float)a.epsilon), &r);
    q_unary_attrs ua;
    memset(&ua, 0, sizeof ua);
    snprintf(ua.kind.s, sizeof ua.kind.s, "sqrt");
    MlirValue sd = onnx_emit(n, q_unary_create(n->loc, onnx_type(n, &r), var, &ua));
    snprintf(ua.kind.s, sizeof ua.kind.s, "reciprocal");
    res[1] = mean;
    res[2] = onnx_emit(n, q_unary_create(n->loc, onnx_type(n, &r), sd, &ua));
  }
  return 0;
}

/* RMSNormalization (opset 23): x / sqrt(mean(x^2 over dims [axis, rank)) +
 * epsilon) * scale: one q.norm of kind rms, the op the fuse-norms pass
 * makes of the same chain spelled out (so rotation and smoothing treat
 * both alike). A scale that holds the normalised elements in their order
 * (leading 1s aside) is the norm's own; any other shape that broadcasts to
 * the input multiplies the norm's output. */
static int rule_rmsnorm(onnx_node *n, MlirValue *res) {
  qcc_shape x, s;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &s) || !require_f32(n, &x)) return -1;
  if (s.dtype != QRT_F32) return onnx_fail(n, "scale must be float32 (element type %s)", qcc_dtype_name(s.dtype));
  if (onnx_attr_int(n, "stash_type", 1) != 1) return onnx_fail(n, "stash_type other than float32 is not supported");
  int64_t axis;
  if (!onnx_axis(n, onnx_attr_int(n, "axis", -1), x.rank, &axis)) return -1;
  int64_t norm = 1;
  for (int i = (int)axis; i < x.rank; i++) norm *= x.dims[i];
  qcc_shape normed = {QRT_F32, x.rank - (int)axis, {0}}, flat = {QRT_F32, 1, {norm}}, b;
  for (int i = (int)axis; i < x.rank; i++) normed.dims[i - axis] = x.dims[i];
  if (!onnx_broadcast_shape(n, &x, &s, &b) || b.rank != x.rank || memcmp(b.dims, x.dims, sizeof(int64_t) * (size_t)b.rank))
    return onnx_fail(n, "scale does not broadcast to the input");
  /* the scale in the norm's own layout: its dims right-aligned equal the
   * normalised ones (leading 1s aside) */
  bool own = qcc_shape_numel(&s) == norm;
  for (int i = 0; own && i < s.rank; i++) {
    const int j = normed.rank - s.rank + i;
    own = j >= 0 ? s.dims[i] == normed.dims[j] : s.dims[i] == 1;
  }
  MlirValue scale = onnx_in(n, 1);
  if (!own) {
    float *ones = malloc(sizeof(float) * (size_t)norm);
    for (int64_t i = 0; i < norm; i++) ones[i] = 1.0f;
    qcc_array a = {QRT_F32, 1, {norm}, ones, sizeof(float) * (size_t)norm};
    scale = onnx_constant(n, &a);
    free(ones);
  }
  q_norm_attrs a;
  memset(&a, 0, sizeof a);
  snprintf(a.kind.s, sizeof a.kind.s, "rms");
  a.axis = axis;
  a.epsilon = onnx_attr_float(n, "epsilon", 1e-5);
  MlirValue none = {NULL};
  res[0] = onnx_emit(n, q_norm_create(n->loc, onnx_type(n, &x), onnx_in(n, 0), onnx_reshape(n, scale, &flat), none, &a));
  if (!own) res[0] = onnx_binary(n, "mul", res[0], onnx_in(n, 1), &x);
  return 0;
}

const onnx_rule onnx_rules_nn[] = {
    {"Conv", rule_conv},
    {"ConvTranspose", rule_conv_transpose},
    {"MaxPool", rule_maxpool},
    {"AveragePool", rule_avgpool},
    {"GlobalMaxPool", rule_gmaxpool},
    {"GlobalAveragePool", rule_gavgpool},
    {"BatchNormalization", rule_batchnorm},
    {"Gemm", rule_gemm},
    {"MatMul", rule_matmul},
    {"Softmax", rule_softmax},
    {"LogSoftmax", rule_logsoftmax},
    {"LayerNormalization", rule_layernorm},
    {"RMSNormalization", rule_rmsnorm},
    {NULL, NULL},
};
