/* onnx_rules_rnn.c - RNN, GRU and LSTM (opset 7, 14) unrolled over the
 * static sequence length into q ops:
 *
 *   xw = X W^T + bias for all steps at once (one matmul), then per step
 *   t the cell's recurrence on the [B, G*H] slice xw[t] and H R^T, with
 *   the gates as column slices (ONNX gate order: GRU z r h, LSTM i o f c).
 *
 * Every attribute is honoured: direction (forward, reverse,
 * bidirectional), activations with activation_alpha/beta, clip (on each
 * gate's pre-activation, as ONNX Runtime does), layout, GRU's
 * linear_before_reset, LSTM's input_forget (i = 1 - f) and peepholes.
 * sequence_lens (possibly a run-time tensor): steps t >= lens[b] leave
 * batch entry b's state unchanged and write 0 to Y; the reverse direction
 * runs on each sequence reversed within its own length.  Bias sums follow
 * xW + (Wb + Rb) + HR rather than ONNX's (xW + HR) + (Wb + Rb): equal up to
 * float rounding. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_rules.h"
#include "qrt.h" /* QRT_CONCAT_MAX_INPUTS */

enum { CELL_RNN, CELL_GRU, CELL_LSTM };
enum { ACT_RELU, ACT_TANH, ACT_SIGMOID, ACT_AFFINE, ACT_LEAKY_RELU, ACT_THRESHOLDED_RELU, ACT_SCALED_TANH,
       ACT_HARD_SIGMOID, ACT_ELU, ACT_SOFTSIGN, ACT_SOFTPLUS };

typedef struct act {
  int kind;
  double alpha, beta;
} act;

typedef struct rnn {
  onnx_node *n;
  int cell, G;
  int64_t T, B, I, H, D;
  bool has_clip, input_forget;
  double clip;
  int64_t lbr;
  act acts[2][3]; /* per direction: f (, g (, h)) */
  MlirValue lens; /* int64 [B, 1] or null */
} rnn;

static bool same_name(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return false;
  return *a == *b;
}

/* activations / activation_alpha / activation_beta, with the per-op
 * defaults; alpha and beta lists are consumed in order by the activations
 * that take them. */
static bool parse_acts(rnn *r) {
  onnx_node *n = r->n;
  static const struct {
    const char *name;
    int kind, n_params;
    double alpha, beta;
  } table[] = {
      {"Relu", ACT_RELU, 0, 0, 0},          {"Tanh", ACT_TANH, 0, 0, 0},
      {"Sigmoid", ACT_SIGMOID, 0, 0, 0},    {"Affine", ACT_AFFINE, 2, 1.0, 0.0},
      {"LeakyRelu", ACT_LEAKY_RELU, 1, 0.01, 0}, {"ThresholdedRelu", ACT_THRESHOLDED_RELU, 1, 1.0, 0},
      {"ScaledTanh", ACT_SCALED_TANH, 2, 1.0, 1.0}, {"HardSigmoid", ACT_HARD_SIGMOID, 2, 0.2, 0.5},
      {"Elu", ACT_ELU, 1, 1.0, 0},          {"Softsign", ACT_SOFTSIGN, 0, 0, 0},
      {"Softplus", ACT_SOFTPLUS, 0, 0, 0},
  };
  const int per = r->cell == CELL_RNN ? 1 : r->cell == CELL_GRU ? 2 : 3;
  static const int defaults[3][3] = {{ACT_TANH}, {ACT_SIGMOID, ACT_TANH}, {ACT_SIGMOID, ACT_TANH, ACT_TANH}};
  MlirAttribute names = mlirOperationGetAttributeByName(n->op, mlirStringRefCreateFromCString("activations"));
  MlirAttribute al = mlirOperationGetAttributeByName(n->op, mlirStringRefCreateFromCString("activation_alpha"));
  MlirAttribute be = mlirOperationGetAttributeByName(n->op, mlirStringRefCreateFromCString("activation_beta"));
  intptr_t na = !mlirAttributeIsNull(al) && mlirAttributeIsADenseF32Array(al) ? mlirDenseArrayGetNumElements(al) : 0;
  intptr_t nb = !mlirAttributeIsNull(be) && mlirAttributeIsADenseF32Array(be) ? mlirDenseArrayGetNumElements(be) : 0;
  intptr_t ia = 0, ib = 0;
  bool given = !mlirAttributeIsNull(names) && mlirAttributeIsAArray(names);
  if (given && mlirArrayAttrGetNumElements(names) != per * r->D) {
    onnx_fail(n, "activations lists %ld functions, expected %d", (long)mlirArrayAttrGetNumElements(names), (int)(per * r->D));
    return false;
  }
  for (int d = 0; d < r->D; d++)
    for (int k = 0; k < per; k++) {
      act *a = &r->acts[d][k];
      if (!given) {
        a->kind = defaults[r->cell][k];
        continue;
      }
      MlirAttribute s = mlirArrayAttrGetElement(names, d * per + k);
      MlirStringRef sr = mlirAttributeIsAString(s) ? mlirStringAttrGetValue(s) : mlirStringRefCreate("", 0);
      char name[64];
      snprintf(name, sizeof name, "%.*s", (int)sr.length, sr.data);
      size_t t = 0;
      while (t < sizeof table / sizeof *table && !same_name(table[t].name, name)) t++;
      if (t == sizeof table / sizeof *table) {
        onnx_fail(n, "activation '%s' is not supported", name);
        return false;
      }
      a->kind = table[t].kind;
      a->alpha = table[t].alpha;
      a->beta = table[t].beta;
      if (table[t].n_params >= 1 && ia < na) a->alpha = mlirDenseF32ArrayGetElement(al, ia++);
      if (table[t].n_params >= 2 && ib < nb) a->beta = mlirDenseF32ArrayGetElement(be, ib++);
    }
  return true;
}

static MlirValue apply_act(rnn *r, const act *a, MlirValue v, const qcc_shape *s) {
  onnx_node *n = r->n;
  if (r->has_clip) v = onnx_unary(n, "clip", v, s, -r->clip, r->clip);
  switch (a->kind) {
  case ACT_RELU: return onnx_unary(n, "relu", v, s, 0, 0);
  case ACT_TANH: return onnx_unary(n, "tanh", v, s, 0, 0);
  case ACT_SIGMOID: return onnx_unary(n, "sigmoid", v, s, 0, 0);
  case ACT_AFFINE:
    return onnx_binary(n, "add", onnx_binary(n, "mul", v, onnx_scalar(n, QRT_F32, a->alpha), s),
                       onnx_scalar(n, QRT_F32, a->beta), s);
  case ACT_LEAKY_RELU: return onnx_unary(n, "leaky_relu", v, s, a->alpha, 0);
  case ACT_THRESHOLDED_RELU: return onnx_unary(n, "thresholded_relu", v, s, a->alpha, 0);
  case ACT_SCALED_TANH: {
    MlirValue t = onnx_unary(n, "tanh", onnx_binary(n, "mul", v, onnx_scalar(n, QRT_F32, a->beta), s), s, 0, 0);
    return onnx_binary(n, "mul", t, onnx_scalar(n, QRT_F32, a->alpha), s);
  }
  case ACT_HARD_SIGMOID: return onnx_unary(n, "hard_sigmoid", v, s, a->alpha, a->beta);
  case ACT_ELU: return onnx_unary(n, "elu", v, s, a->alpha, 0);
  case ACT_SOFTSIGN: return onnx_unary(n, "softsign", v, s, 0, 0);
  default: return onnx_unary(n, "softplus", v, s, 0, 0);
  }
}

/* v[..., start:start+len] along `axis` (step 1). */
static MlirValue cut(onnx_node *n, MlirValue v, const qcc_shape *s, int axis, int64_t start, int64_t len) {
  qcc_shape y = *s;
  q_slice_attrs a;
  a.starts.n = a.steps.n = s->rank;
  for (int i = 0; i < s->rank; i++) {
    a.starts.v[i] = i == axis ? start : 0;
    a.steps.v[i] = 1;
  }
  y.dims[axis] = len;
  return onnx_emit(n, q_slice_create(n->loc, onnx_type(n, &y), v, &a));
}

static MlirValue transpose2(onnx_node *n, MlirValue v, int64_t rows, int64_t cols) {
  qcc_shape t = {QRT_F32, 2, {cols, rows}};
  q_transpose_attrs a = {{2, {1, 0}}};
  return onnx_emit(n, q_transpose_create(n->loc, onnx_type(n, &t), v, &a));
}

static MlirValue mm(onnx_node *n, MlirValue a, MlirValue b, MlirValue bias, int64_t M, int64_t N) {
  qcc_shape y = {QRT_F32, 2, {M, N}};
  return onnx_emit(n, q_matmul_create(n->loc, onnx_type(n, &y), a, b, bias, (MlirValue){NULL}));
}

/* Row d of a [D, ...] tensor as [...] (rank reduced by one). */
static MlirValue dir_slice(onnx_node *n, int i, int64_t d) {
  qcc_shape s, r;
  qcc_shape_of(onnx_in(n, i), &s);
  MlirValue v = cut(n, onnx_in(n, i), &s, 0, d, 1);
  r = s;
  r.rank--;
  memmove(r.dims, r.dims + 1, sizeof(int64_t) * (size_t)r.rank);
  return onnx_reshape(n, v, &r);
}

/* Concatenation of k values along axis, in groups the concat kernel takes. */
static MlirValue concat_many(onnx_node *n, MlirValue *v, int64_t k, int axis, const qcc_shape *piece) {
  if (k == 1) return v[0];
  qcc_shape y = *piece;
  y.dims[axis] = 0;
  int64_t done = 0;
  MlirValue acc = {NULL};
  while (done < k) {
    int64_t m = k - done > QRT_CONCAT_MAX_INPUTS - 1 ? QRT_CONCAT_MAX_INPUTS - 1 : k - done;
    MlirValue parts[QRT_CONCAT_MAX_INPUTS];
    int np = 0;
    if (!mlirValueIsNull(acc)) parts[np++] = acc;
    for (int64_t i = 0; i < m; i++) parts[np++] = v[done + i];
    y.dims[axis] += m * piece->dims[axis];
    q_concat_attrs a = {axis};
    acc = onnx_emit(n, q_concat_create(n->loc, onnx_type(n, &y), parts, np, &a));
    done += m;
  }
  return acc;
}

/* One direction: returns Y [T, B, H] in time order, and the final state(s). */
static int run_direction(rnn *r, int64_t d, bool reverse, MlirValue x, MlirValue *y_out, MlirValue *h_out,
                         MlirValue *c_out) {
  onnx_node *n = r->n;
  const int64_t T = r->T, B = r->B, H = r->H, GH = r->G * H, I = r->I;
  qcc_shape bh = {QRT_F32, 2, {B, H}}, bgh = {QRT_F32, 2, {B, GH}};
  MlirValue none = {NULL};
  MlirValue wt = transpose2(n, dir_slice(n, 1, d), GH, I), rt = transpose2(n, dir_slice(n, 2, d), GH, H);
  /* biases: RNN/LSTM Wb + Rb for all gates; GRU without Rb_h, which goes
   * with the recurrent term of the h gate */
  MlirValue xbias = none, rbh = none;
  if (onnx_has_in(n, 3)) {
    qcc_shape gs = {QRT_F32, 1, {GH}};
    MlirValue b = dir_slice(n, 3, d);
    qcc_shape b2 = {QRT_F32, 1, {2 * GH}};
    MlirValue wb = cut(n, b, &b2, 0, 0, GH), rb = cut(n, b, &b2, 0, GH, GH);
    if (r->cell == CELL_GRU) {
      qcc_shape zr = {QRT_F32, 1, {2 * H}};
      MlirValue sum = onnx_binary(n, "add", cut(n, wb, &gs, 0, 0, 2 * H), cut(n, rb, &gs, 0, 0, 2 * H), &zr);
      MlirValue parts[2] = {sum, cut(n, wb, &gs, 0, 2 * H, H)};
      q_concat_attrs ca = {0};
      xbias = onnx_emit(n, q_concat_create(n->loc, onnx_type(n, &gs), parts, 2, &ca));
      rbh = cut(n, rb, &gs, 0, 2 * H, H);
    } else {
      xbias = onnx_binary(n, "add", wb, rb, &gs);
    }
  }
  qcc_shape xs = {QRT_F32, 2, {T * B, I}}, xw3 = {QRT_F32, 3, {T, B, GH}};
  MlirValue xw = onnx_reshape(n, mm(n, onnx_reshape(n, x, &xs), wt, xbias, T * B, GH), &xw3);
  /* initial state */
  MlirValue h, c = none, p[3] = {none, none, none};
  float *zeros = calloc((size_t)(B * H) + 1, sizeof(float));
  qcc_array za = {QRT_F32, 2, {B, H}, zeros, sizeof(float) * (size_t)(B * H)};
  h = onnx_has_in(n, 5) ? dir_slice(n, 5, d) : onnx_constant(n, &za);
  if (r->cell == CELL_LSTM) {
    c = onnx_has_in(n, 6) ? dir_slice(n, 6, d) : onnx_constant(n, &za);
    if (onnx_has_in(n, 7)) {
      qcc_shape p3 = {QRT_F32, 1, {3 * H}};
      MlirValue pd = dir_slice(n, 7, d);
      for (int k = 0; k < 3; k++) p[k] = cut(n, pd, &p3, 0, k * H, H);
    }
  }
  free(zeros);
  MlirValue rt_zr = none, rt_h = none;
  if (r->cell == CELL_GRU) {
    qcc_shape rs = {QRT_F32, 2, {H, GH}};
    rt_zr = cut(n, rt, &rs, 1, 0, 2 * H);
    rt_h = cut(n, rt, &rs, 1, 2 * H, H);
  }
  const act *A = r->acts[d];
  MlirValue *ys = malloc(sizeof(MlirValue) * (size_t)T);
  for (int64_t s = 0; s < T; s++) {
    const int64_t t = reverse && mlirValueIsNull(r->lens) ? T - 1 - s : s;
    MlirValue xt = onnx_reshape(n, cut(n, xw, &xw3, 0, t, 1), &bgh), hn, cn = none;
    if (r->cell == CELL_RNN) {
      hn = apply_act(r, &A[0], onnx_binary(n, "add", xt, mm(n, h, rt, none, B, GH), &bgh), &bgh);
    } else if (r->cell == CELL_GRU) {
      qcc_shape b2h = {QRT_F32, 2, {B, 2 * H}};
      MlirValue zr = apply_act(r, &A[0], onnx_binary(n, "add", cut(n, xt, &bgh, 1, 0, 2 * H), mm(n, h, rt_zr, none, B, 2 * H), &b2h), &b2h);
      MlirValue z = cut(n, zr, &b2h, 1, 0, H), rg = cut(n, zr, &b2h, 1, H, H), rec;
      if (r->lbr) rec = onnx_binary(n, "mul", rg, mm(n, h, rt_h, rbh, B, H), &bh);
      else rec = mm(n, onnx_binary(n, "mul", rg, h, &bh), rt_h, rbh, B, H);
      MlirValue hh = apply_act(r, &A[1], onnx_binary(n, "add", cut(n, xt, &bgh, 1, 2 * H, H), rec, &bh), &bh);
      MlirValue one_minus_z = onnx_binary(n, "sub", onnx_scalar(n, QRT_F32, 1), z, &bh);
      hn = onnx_binary(n, "add", onnx_binary(n, "mul", one_minus_z, hh, &bh), onnx_binary(n, "mul", z, h, &bh), &bh);
    } else {
      MlirValue g = onnx_binary(n, "add", xt, mm(n, h, rt, none, B, GH), &bgh);
      MlirValue gi = cut(n, g, &bgh, 1, 0, H), go = cut(n, g, &bgh, 1, H, H), gf = cut(n, g, &bgh, 1, 2 * H, H),
                gc = cut(n, g, &bgh, 1, 3 * H, H);
      if (!mlirValueIsNull(p[0])) {
        gi = onnx_binary(n, "add", gi, onnx_binary(n, "mul", p[0], c, &bh), &bh);
        gf = onnx_binary(n, "add", gf, onnx_binary(n, "mul", p[2], c, &bh), &bh);
      }
      MlirValue fg = apply_act(r, &A[0], gf, &bh);
      MlirValue ig = r->input_forget ? onnx_binary(n, "sub", onnx_scalar(n, QRT_F32, 1), fg, &bh) : apply_act(r, &A[0], gi, &bh);
      MlirValue cc = apply_act(r, &A[1], gc, &bh);
      cn = onnx_binary(n, "add", onnx_binary(n, "mul", fg, c, &bh), onnx_binary(n, "mul", ig, cc, &bh), &bh);
      if (!mlirValueIsNull(p[1])) go = onnx_binary(n, "add", go, onnx_binary(n, "mul", p[1], cn, &bh), &bh);
      hn = onnx_binary(n, "mul", apply_act(r, &A[0], go, &bh), apply_act(r, &A[2], cn, &bh), &bh);
    }
    if (!mlirValueIsNull(r->lens)) {
      /* steps past a sequence's length: state kept, output 0 */
      qcc_shape m = {QRT_BOOL, 2, {B, 1}};
      MlirValue live = onnx_binary(n, "less", onnx_scalar(n, QRT_I64, (double)s), r->lens, &m);
      ys[t] = onnx_where(n, live, hn, onnx_scalar(n, QRT_F32, 0), &bh);
      h = onnx_where(n, live, hn, h, &bh);
      if (r->cell == CELL_LSTM) c = onnx_where(n, live, cn, c, &bh);
    } else {
      ys[t] = hn;
      h = hn;
      c = cn;
    }
  }
  qcc_shape piece = {QRT_F32, 3, {1, B, H}};
  for (int64_t t = 0; t < T; t++) ys[t] = onnx_reshape(n, ys[t], &piece);
  *y_out = concat_many(n, ys, T, 0, &piece);
  free(ys);
  *h_out = h;
  *c_out = c;
  return 0;
}

static int rule_rnn(onnx_node *n, MlirValue *res) {
  rnn r;
  memset(&r, 0, sizeof r);
  r.n = n;
  r.cell = !strcmp(n->type, "RNN") ? CELL_RNN : !strcmp(n->type, "GRU") ? CELL_GRU : CELL_LSTM;
  r.G = r.cell == CELL_RNN ? 1 : r.cell == CELL_GRU ? 3 : 4;
  qcc_shape x, w, rs;
  if (!onnx_in_shape(n, 0, &x) || !onnx_in_shape(n, 1, &w) || !onnx_in_shape(n, 2, &rs)) return -1;
  if (x.dtype != QRT_F32 || w.dtype != QRT_F32 || rs.dtype != QRT_F32)
    return onnx_fail(n, "element type %s is not supported (float32 only)", qcc_dtype_name(x.dtype));
  int64_t layout = onnx_attr_int(n, "layout", 0);
  if (layout != 0 && layout != 1) return onnx_fail(n, "layout must be 0 or 1");
  if (x.rank != 3 || w.rank != 3 || rs.rank != 3) return onnx_fail(n, "X, W and R must be 3-D");
  r.T = x.dims[layout ? 1 : 0];
  r.B = x.dims[layout ? 0 : 1];
  r.I = x.dims[2];
  r.D = w.dims[0];
  r.H = rs.dims[2];
  if (onnx_has_attr(n, "hidden_size") && onnx_attr_int(n, "hidden_size", 0) != r.H)
    return onnx_fail(n, "hidden_size differs from R's last dim %lld", (long long)r.H);
  char dir[32];
  onnx_attr_str(n, "direction", "forward", dir, sizeof dir);
  bool bidi = !strcmp(dir, "bidirectional");
  if (!bidi && strcmp(dir, "forward") && strcmp(dir, "reverse")) return onnx_fail(n, "direction '%s' is not supported", dir);
  if (r.D != (bidi ? 2 : 1)) return onnx_fail(n, "W has %lld directions for direction '%s'", (long long)r.D, dir);
  if (w.dims[1] != r.G * r.H || w.dims[2] != r.I || rs.dims[0] != r.D || rs.dims[1] != r.G * r.H)
    return onnx_fail(n, "W or R does not match %d gates of hidden size %lld", r.G, (long long)r.H);
  if (r.T < 1 || r.T > 4096) return onnx_fail(n, "sequence length %lld is not supported (1 to 4096 are unrolled)", (long long)r.T);
  /* optional inputs: B 3, sequence_lens 4, initial_h 5, (LSTM) initial_c 6, P 7 */
  struct {
    int i;
    int64_t d1, d2;
  } chk[] = {{3, 2 * r.G * r.H, 0}, {5, r.B, r.H}, {6, r.B, r.H}, {7, 3 * r.H, 0}};
  for (size_t k = 0; k < sizeof chk / sizeof *chk; k++) {
    if (!onnx_has_in(n, chk[k].i) || (chk[k].i >= 6 && r.cell != CELL_LSTM)) continue;
    qcc_shape s;
    if (!onnx_in_shape(n, chk[k].i, &s)) return -1;
    bool state = chk[k].i == 5 || chk[k].i == 6;
    int64_t want[3] = {r.D, chk[k].d1, chk[k].d2};
    if (state && layout) want[0] = r.B, want[1] = r.D;
    bool ok = s.dtype == QRT_F32 && s.rank == (chk[k].d2 ? 3 : 2);
    for (int i = 0; ok && i < s.rank; i++) ok = s.dims[i] == want[i];
    if (!ok) return onnx_fail(n, "input %d has the wrong shape or type", chk[k].i);
  }
  if (r.cell != CELL_LSTM && n->n_in > 6) return onnx_fail(n, "too many inputs");
  r.has_clip = onnx_has_attr(n, "clip");
  r.clip = onnx_attr_float(n, "clip", 0);
  r.lbr = onnx_attr_int(n, "linear_before_reset", 0);
  r.input_forget = onnx_attr_int(n, "input_forget", 0) != 0;
  if (!parse_acts(&r)) return -1;
  if (onnx_has_in(n, 4)) {
    qcc_shape ls;
    if (!onnx_in_shape(n, 4, &ls)) return -1;
    if (ls.rank != 1 || ls.dims[0] != r.B || (ls.dtype != QRT_I32 && ls.dtype != QRT_I64))
      return onnx_fail(n, "sequence_lens must be an int32 tensor of %lld values", (long long)r.B);
    qcc_shape l2 = {QRT_I64, 2, {r.B, 1}}, l64 = ls;
    l64.dtype = QRT_I64;
    r.lens = onnx_in(n, 4);
    if (ls.dtype != QRT_I64) r.lens = onnx_emit(n, q_cast_create(n->loc, onnx_type(n, &l64), r.lens));
    r.lens = onnx_reshape(n, r.lens, &l2);
  }
  /* X as [T, B, I]; layout-1 states as [D, B, H] (rewritten in place of the
   * node's inputs so dir_slice reads them uniformly) */
  MlirValue xv = onnx_in(n, 0);
  if (layout) {
    qcc_shape t = {QRT_F32, 3, {r.T, r.B, r.I}};
    q_transpose_attrs ta = {{3, {1, 0, 2}}};
    xv = onnx_emit(n, q_transpose_create(n->loc, onnx_type(n, &t), xv, &ta));
    for (int i = 5; i <= 6; i++) {
      if (!onnx_has_in(n, i) || (i == 6 && r.cell != CELL_LSTM)) continue;
      qcc_shape st = {QRT_F32, 3, {r.D, r.B, r.H}};
      MlirValue v = onnx_emit(n, q_transpose_create(n->loc, onnx_type(n, &st), onnx_in(n, i), &ta));
      mlirOperationSetOperand(n->op, i, v);
    }
  }
  MlirValue ys[2], hs[2], cs[2];
  qcc_shape tbi = {QRT_F32, 3, {r.T, r.B, r.I}}, tbh = {QRT_F32, 3, {r.T, r.B, r.H}};
  for (int64_t d = 0; d < r.D; d++) {
    bool reverse = bidi ? d == 1 : !strcmp(dir, "reverse");
    MlirValue xd = xv;
    /* with lengths, the reverse direction runs on each sequence reversed
     * within its length, and its outputs are reversed back */
    bool rev_lens = reverse && !mlirValueIsNull(r.lens);
    qcc_shape lb = {QRT_I64, 1, {r.B}};
    MlirValue lens1 = rev_lens ? onnx_reshape(n, r.lens, &lb) : r.lens;
    if (rev_lens) xd = onnx_reverse_sequence(n, xv, &tbi, lens1, 0);
    if (run_direction(&r, d, reverse, xd, &ys[d], &hs[d], &cs[d])) return -1;
    if (rev_lens) ys[d] = onnx_reverse_sequence(n, ys[d], &tbh, lens1, 0);
  }
  /* Y [T, D, B, H] (layout 1: [B, T, D, H]); Y_h, Y_c [D, B, H] ([B, D, H]) */
  qcc_shape y1 = {QRT_F32, 4, {r.T, 1, r.B, r.H}}, s1 = {QRT_F32, 3, {1, r.B, r.H}};
  for (int64_t d = 0; d < r.D; d++) {
    ys[d] = onnx_reshape(n, ys[d], &y1);
    hs[d] = onnx_reshape(n, hs[d], &s1);
    if (r.cell == CELL_LSTM) cs[d] = onnx_reshape(n, cs[d], &s1);
  }
  MlirValue outs[3] = {concat_many(n, ys, r.D, 1, &y1), concat_many(n, hs, r.D, 0, &s1), {NULL}};
  if (r.cell == CELL_LSTM) outs[2] = concat_many(n, cs, r.D, 0, &s1);
  if (layout) {
    qcc_shape yt = {QRT_F32, 4, {r.B, r.T, r.D, r.H}}, st = {QRT_F32, 3, {r.B, r.D, r.H}};
    q_transpose_attrs py = {{4, {2, 0, 1, 3}}}, ps = {{3, {1, 0, 2}}};
    outs[0] = onnx_emit(n, q_transpose_create(n->loc, onnx_type(n, &yt), outs[0], &py));
    for (int k = 1; k < 3; k++)
      if (!mlirValueIsNull(outs[k])) outs[k] = onnx_emit(n, q_transpose_create(n->loc, onnx_type(n, &st), outs[k], &ps));
  }
  for (int k = 0; k < n->n_out && k < 3; k++) res[k] = outs[k];
  return 0;
}

const onnx_rule onnx_rules_rnn[] = {
    {"RNN", rule_rnn},
    {"GRU", rule_rnn},
    {"LSTM", rule_rnn},
    {NULL, NULL},
};
