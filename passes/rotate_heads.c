/* rotate_heads.c - head-wise rotations inside attention (QuaRot's R3/R4,
 * SpinQuant's R2), part of the rotate pass (--rotate-heads, on by default
 * with --rotate).
 *
 * The streams that rotate.c rotates end at the Q/K/V projections; the
 * attention matmuls themselves (Q K^T and P V, both operands run-time
 * values) still see the projections' outlier channels. With R the h x h
 * matrix the online Hadamard kernel applies (H_h / sqrt h, H_h from
 * qcc_hadamard: orthogonal, so R R^T = I):
 *  - scores M = A B, A = Q [..., T, h], B = K^T [..., h, S]:
 *    (Q R)(K R)^T = Q K^T. Q R is folded into the Q projection
 *    (W <- W blockdiag(R, ..., R), b likewise) when Q reaches it through
 *    head-transparent ops and every value on the way has one user;
 *    otherwise (RoPE in between, a shared value) q.hadamard is inserted
 *    on A right before M. K likewise, starting below the transpose that
 *    makes K^T (B's producer must move its input's last axis to rank-2).
 *  - P V, V [..., S, h]: P (V R) = (P V) R. V R is folded into the V
 *    projection or computed online; the output's R is undone in the output
 *    projection (rows: W_o <- blockdiag(R)^T W_o) reached through
 *    transposes and the reshape merging the heads, or online by a second
 *    q.hadamard when R is symmetric (R^T = R: the kernel is its own
 *    inverse).
 * Head-transparent ops move or copy whole rows of the last axis (or scale
 * them by a scalar), so R commutes with them: transposes keeping the last
 * axis, reshapes keeping the last dim, multiply / divide by a scalar
 * constant, broadcast / gather / slice / concat on other axes (grouped-query
 * attention's expanded K/V: every head uses the same R, so a copied head
 * stays right). A reshape that splits rows of n*h into n rows of h is the
 * head split; above it R applies per h-block of the wider row; a slice of
 * the last axis (a fused QKV projection) selects which blocks.
 * Anything else leaves that matmul alone, with a remark naming the op:
 * never a silent change of the float function. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "passes.h"
#include "rotate.h"

enum { MAX_SITES = 64, MAX_DEPTH = 64 };

/* Where R is folded: columns [off, off + width) of a matmul's weight (and
 * bias), h-block by block (W <- W R), or the rows of a reader's weight
 * (W <- R^T W). */
typedef enum { SITE_COLS, SITE_ROWS } site_kind;
typedef struct site {
  site_kind kind;
  MlirOperation mm;
  int64_t off, width;
} site;

typedef struct plan {
  site s[MAX_SITES];
  int n;
  char why[300]; /* why the walk failed: the op and the reason */
} plan;

static MlirOperation def(MlirValue v) {
  MlirOperation none = {NULL};
  return mlirValueIsAOpResult(v) ? mlirOpResultGetOwner(v) : none;
}

static int64_t last_dim(MlirValue v) {
  qcc_shape s;
  qcc_shape_of(v, &s);
  return s.rank ? s.dims[s.rank - 1] : -1;
}

static int rank_of(MlirValue v) {
  qcc_shape s;
  qcc_shape_of(v, &s);
  return s.rank;
}

static bool fail(plan *p, MlirOperation op, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* snprintf into a fixed line, cut at cap: reasons nest op names, and a
 * cut remark is better than a longer buffer for every line. */
static void put(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(char *dst, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dst, cap, fmt, ap);
  va_end(ap);
}

static bool fail(plan *p, MlirOperation op, const char *fmt, ...) {
  char at[200] = "a model input", msg[200];
  if (!mlirOperationIsNull(op)) qcc_op_where(op, at, sizeof at);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  put(p->why, sizeof p->why, "%s %s", at, msg);
  return false;
}

/* A slice of the last axis only, step 1: *start is its first column. */
static bool last_axis_slice(MlirOperation op, int64_t *start) {
  if (!q_slice_is(op)) return false;
  q_slice_attrs a = q_slice_get(op);
  qcc_shape in, out;
  qcc_shape_of(q_slice_in(op, 0), &in);
  qcc_shape_of(mlirOperationGetResult(op, 0), &out);
  if (in.rank < 1 || a.starts.n != in.rank || a.steps.n != in.rank) return false;
  for (int i = 0; i < in.rank - 1; i++)
    if (a.starts.v[i] != 0 || a.steps.v[i] != 1 || in.dims[i] != out.dims[i]) return false;
  *start = a.starts.v[in.rank - 1];
  return a.steps.v[in.rank - 1] == 1 && *start >= 0 && *start + out.dims[in.rank - 1] <= in.dims[in.rank - 1];
}

/* Uses of v that R can be folded above: all by `user`, or all last-axis
 * slices over disjoint columns (a fused projection split into Q, K, V:
 * folding into one slice's columns changes no other slice). */
static bool uses_ok(MlirValue v, MlirOperation user) {
  bool all_user = true, all_slices = true;
  int64_t lo[MAX_SITES], hi[MAX_SITES];
  int n = 0;
  for (MlirOpOperand u = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
    MlirOperation o = mlirOpOperandGetOwner(u);
    int64_t s;
    all_user &= mlirOperationEqual(o, user);
    if (!last_axis_slice(o, &s) || n == MAX_SITES) {
      all_slices = false;
      continue;
    }
    lo[n] = s, hi[n++] = s + last_dim(mlirOperationGetResult(o, 0));
  }
  if (all_user) return true;
  if (!all_slices) return false;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (lo[i] < hi[j] && lo[j] < hi[i]) return false;
  return true;
}

static bool scalar_constant(MlirValue v) {
  qcc_shape s;
  qcc_shape_of(v, &s);
  return qcc_value_is_constant(v) && qcc_shape_numel(&s) == 1;
}

/* x * c, c * x or x / c with c a scalar constant: the run-time operand's
 * index, or -1. A scalar scales every row alike, so it commutes with R. */
static int scalar_scale_operand(MlirOperation op) {
  if (!q_binary_is(op)) return -1;
  const char *k = q_binary_get(op).kind.s;
  if (!strcmp(k, "mul")) {
    if (scalar_constant(q_binary_in(op, 1)) && !qcc_value_is_constant(q_binary_in(op, 0))) return 0;
    if (scalar_constant(q_binary_in(op, 0)) && !qcc_value_is_constant(q_binary_in(op, 1))) return 1;
  }
  if (!strcmp(k, "div") && scalar_constant(q_binary_in(op, 1)) && !qcc_value_is_constant(q_binary_in(op, 0))) return 0;
  return -1;
}

static bool keeps_last_axis_transpose(MlirOperation op) {
  if (!q_transpose_is(op)) return false;
  q_transpose_attrs a = q_transpose_get(op);
  int r = rank_of(q_transpose_in(op, 0));
  return r >= 1 && a.perm.n == r && a.perm.v[r - 1] == r - 1;
}

/* Ops that move, copy or select whole rows of the last axis without
 * changing its width: R on every row commutes with them. *in is the
 * operand the rows come from. */
static bool row_preserving(MlirOperation op, MlirValue *in) {
  MlirValue y = mlirOperationGetResult(op, 0);
  int k = scalar_scale_operand(op);
  if (k >= 0) return *in = q_binary_in(op, k), true;
  if (keeps_last_axis_transpose(op)) return *in = q_transpose_in(op, 0), true;
  if (q_reshape_is(op)) return *in = q_reshape_in(op, 0), last_dim(*in) == last_dim(y);
  if (q_broadcast_is(op)) return *in = q_broadcast_in(op, 0), last_dim(*in) == last_dim(y);
  if (q_gather_is(op)) {
    *in = q_gather_in(op, 0);
    int r = rank_of(*in);
    int64_t ax = q_gather_get(op).axis;
    if (ax < 0) ax += r;
    return r >= 1 && ax != r - 1 && last_dim(*in) == last_dim(y);
  }
  if (q_slice_is(op)) {
    *in = q_slice_in(op, 0);
    q_slice_attrs a = q_slice_get(op);
    int r = rank_of(*in);
    return r >= 1 && a.starts.n == r && a.starts.v[r - 1] == 0 && a.steps.v[r - 1] == 1 && last_dim(*in) == last_dim(y);
  }
  return false;
}

static void add_site(plan *p, site_kind kind, MlirOperation mm, int64_t off, int64_t width) {
  for (int i = 0; i < p->n; i++) /* the same value reached twice (concat of x with x) */
    if (p->s[i].kind == kind && mlirOperationEqual(p->s[i].mm, mm) && p->s[i].off == off && p->s[i].width == width) return;
  p->s[p->n++] = (site){kind, mm, off, width};
}

/* A matmul with a constant 2-D f32 weight (and constant bias or none). */
static bool const_weight_matmul(MlirOperation op) {
  if (!q_matmul_is(op) || !qcc_value_is_constant(q_matmul_in(op, 1))) return false;
  qcc_shape w;
  qcc_shape_of(q_matmul_in(op, 1), &w);
  MlirValue b = q_matmul_in(op, 2);
  return w.rank == 2 && w.dtype == QRT_F32 && (mlirValueIsNull(b) || qcc_value_is_constant(b));
}

/* Plans R on columns [off, off + w) (w a multiple of h) of v, which `user`
 * reads, by folding into the projection(s) v comes from. */
static bool walk_up(plan *p, MlirValue v, MlirOperation user, int64_t h, int64_t off, int64_t w, int depth) {
  MlirOperation op = def(v);
  if (mlirOperationIsNull(op)) return fail(p, op, "feeds it (no projection to fold into)");
  if (depth > MAX_DEPTH || p->n == MAX_SITES) return fail(p, op, "is too far from the projection for the analysis");
  if (!uses_ok(v, user)) return fail(p, op, "has a result used elsewhere too (folding would change the other user)");
  if (const_weight_matmul(op)) {
    if (off < 0 || off + w > last_dim(v) || w % h) return fail(p, op, "has columns that do not split into heads of %lld", (long long)h);
    add_site(p, SITE_COLS, op, off, w);
    return true;
  }
  int64_t start;
  MlirValue in;
  if (last_axis_slice(op, &start)) return walk_up(p, q_slice_in(op, 0), op, h, off + start, w, depth + 1);
  if (q_reshape_is(op)) {
    in = q_reshape_in(op, 0);
    int64_t il = last_dim(in), ol = last_dim(v);
    if (il == ol) return walk_up(p, in, op, h, off, w, depth + 1);
    /* the head split: rows of il = k * ol, each cut into k rows of ol */
    if (off == 0 && w == ol && ol > 0 && il % ol == 0) return walk_up(p, in, op, h, 0, il, depth + 1);
    return fail(p, op, "reshapes the last axis other than splitting whole rows into heads");
  }
  if (q_concat_is(op)) {
    int r = rank_of(v);
    int64_t ax = q_concat_get(op).axis, pos = 0;
    if (ax < 0) ax += r;
    intptr_t n = q_concat_num_in(op, 0);
    for (intptr_t i = 0; i < n; i++) {
      MlirValue x = mlirOperationGetOperand(op, i);
      if (ax != r - 1) { /* heads or tokens stacked: each input carries whole rows */
        if (!walk_up(p, x, op, h, off, w, depth + 1)) return false;
        continue;
      }
      int64_t xl = last_dim(x);
      if (off >= pos && off + w <= pos + xl) return walk_up(p, x, op, h, off - pos, w, depth + 1);
      pos += xl;
    }
    return ax != r - 1 ? true : fail(p, op, "concatenates the last axis across the head's columns");
  }
  if (row_preserving(op, &in)) return walk_up(p, in, op, h, off, w, depth + 1);
  return fail(p, op, "is neither head-transparent nor a projection with a constant weight");
}

/* Plans R^T on columns [off, off + w) of v (the rotated P V output) by
 * folding into the rows of the matmul that reads it. */
static bool walk_down(plan *p, MlirValue v, int64_t h, int64_t off, int64_t w, int depth) {
  MlirOpOperand u = mlirValueGetFirstUse(v);
  if (mlirOpOperandIsNull(u)) return fail(p, def(v), "has an unused result");
  MlirOperation op = mlirOpOperandGetOwner(u);
  if (!mlirOpOperandIsNull(mlirOpOperandGetNextUse(u))) return fail(p, def(v), "has a result with more than one use");
  if (depth > MAX_DEPTH) return fail(p, op, "is too far from the output projection for the analysis");
  if (mlirOperationGetNumResults(op) != 1) return fail(p, op, "reads the heads' output and is no projection");
  MlirValue y = mlirOperationGetResult(op, 0);
  unsigned idx = mlirOpOperandGetOperandNumber(u);
  if (const_weight_matmul(op) && idx == 0) {
    qcc_shape ws;
    qcc_shape_of(q_matmul_in(op, 1), &ws);
    if (ws.dims[0] != last_dim(v) || off + w > ws.dims[0]) return fail(p, op, "has a weight that does not match the heads");
    add_site(p, SITE_ROWS, op, off, w);
    return true;
  }
  if (q_reshape_is(op)) {
    int64_t il = last_dim(v), ol = last_dim(y);
    if (il == ol) return walk_down(p, y, h, off, w, depth + 1);
    /* the head merge: k consecutive rows of il become one row of ol */
    if (off == 0 && w == il && il > 0 && ol % il == 0) return walk_down(p, y, h, 0, ol, depth + 1);
    return fail(p, op, "reshapes the last axis other than merging whole heads");
  }
  if (q_concat_is(op)) {
    int r = rank_of(y);
    int64_t ax = q_concat_get(op).axis, pos = 0;
    if (ax < 0) ax += r;
    if (ax != r - 1) return fail(p, op, "stacks the heads' output with other values on another axis");
    for (unsigned i = 0; i < idx; i++) pos += last_dim(mlirOperationGetOperand(op, (intptr_t)i));
    return walk_down(p, y, h, off + pos, w, depth + 1);
  }
  if (keeps_last_axis_transpose(op) || (scalar_scale_operand(op) >= 0 && (unsigned)scalar_scale_operand(op) == idx))
    return walk_down(p, y, h, off, w, depth + 1);
  return fail(p, op, "reads the heads' output and is neither head-transparent nor a projection with a constant weight");
}

/* ---- applying R ---- */

static float *const_f32(MlirValue v, qcc_shape *s) {
  qcc_array a;
  qcc_shape_of(v, s);
  if (!qcc_value_constant(v, &a)) return NULL;
  return a.data; /* owned by the caller (qcc_array's only allocation) */
}

static void set_const(MlirOperation op, int idx, const qcc_shape *s, float *data) {
  qcc_array a = {QRT_F32, s->rank, {0}, data, sizeof(float) * (size_t)qcc_shape_numel(s)};
  memcpy(a.dims, s->dims, sizeof s->dims);
  mlirOperationSetOperand(op, idx, qcc_make_constant(op, mlirOperationGetLocation(op), &a));
}

/* Every row of the constant operand idx: its h-blocks in [off, off + w)
 * times R. */
static void fold_cols(MlirOperation mm, int idx, int64_t off, int64_t w, const double *R, int64_t h) {
  qcc_shape s;
  float *x = const_f32(mlirOperationGetOperand(mm, idx), &s);
  if (!x) return;
  int64_t c = s.rank ? s.dims[s.rank - 1] : 1, rows = qcc_shape_numel(&s) / c;
  double *t = malloc(sizeof(double) * (size_t)h);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t b = off; b < off + w; b += h) {
      float *blk = x + r * c + b;
      for (int64_t j = 0; j < h; j++) {
        double acc = 0;
        for (int64_t i = 0; i < h; i++) acc += (double)blk[i] * R[i * h + j];
        t[j] = acc;
      }
      for (int64_t j = 0; j < h; j++) blk[j] = (float)t[j];
    }
  set_const(mm, idx, &s, x);
  free(t);
  free(x);
}

/* Weight rows [off, off + w) of mm: each h-block B <- R^T B. */
static void fold_rows(MlirOperation mm, int64_t off, int64_t w, const double *R, int64_t h) {
  qcc_shape s;
  float *x = const_f32(q_matmul_in(mm, 1), &s);
  if (!x) return;
  int64_t n = s.dims[1];
  double *t = malloc(sizeof(double) * (size_t)(h * n));
  for (int64_t b = off; b < off + w; b += h) {
    for (int64_t i = 0; i < h; i++)
      for (int64_t col = 0; col < n; col++) {
        double acc = 0;
        for (int64_t j = 0; j < h; j++) acc += R[j * h + i] * (double)x[(b + j) * n + col];
        t[i * n + col] = acc;
      }
    for (int64_t i = 0; i < h * n; i++) x[b * n + i] = (float)t[i];
  }
  set_const(mm, 1, &s, x);
  free(t);
  free(x);
}

static void apply(const plan *p, const double *R, int64_t h) {
  for (int i = 0; i < p->n; i++) {
    const site *s = &p->s[i];
    if (s->kind == SITE_ROWS) {
      fold_rows(s->mm, s->off, s->width, R, h);
      continue;
    }
    fold_cols(s->mm, 1, s->off, s->width, R, h);
    if (!mlirValueIsNull(q_matmul_in(s->mm, 2))) fold_cols(s->mm, 2, s->off, s->width, R, h);
  }
}


/* "folded into q.matmul node 'a', q.matmul node 'b'" */
static void describe(const plan *p, char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "folded into");
  for (int i = 0; i < p->n && n < cap; i++) {
    char at[160];
    n += (size_t)snprintf(buf + n, cap - n, "%s %s", i ? "," : "", qcc_op_where(p->s[i].mm, at, sizeof at));
  }
}

/* Attention probabilities: a softmax over the last axis, or one whose
 * rows a q.where guards against NaN (where(c, constant, p), as torch
 * exports scaled_dot_product_attention): P V is the mixing matmul either
 * way ((P' V) R = P' (V R) for any P'). */
static bool is_softmax_last(MlirValue v) {
  MlirOperation p = def(v);
  if (!mlirOperationIsNull(p) && q_where_is(p)) {
    if (qcc_value_is_constant(q_where_in(p, 1))) return is_softmax_last(q_where_in(p, 2));
    if (qcc_value_is_constant(q_where_in(p, 2))) return is_softmax_last(q_where_in(p, 1));
    return false;
  }
  if (mlirOperationIsNull(p) || !q_softmax_is(p)) return false;
  int64_t ax = q_softmax_get(p).axis, r = rank_of(v);
  return (ax < 0 ? ax + r : ax) == r - 1 && !q_softmax_get(p).log;
}

/* Whether op maps whole [.., h, S] matrices to themselves up to a scalar:
 * a scale by a scalar constant, or a reshape keeping the last two dims
 * (torch's export of scaled_dot_product_attention transposes K in 3-D,
 * [B*H, S, h] -> [B*H, h, S], then restores [B, H, h, S] and scales it by
 * sqrt(scale)). *in is the run-time operand. */
static bool matrix_preserving(MlirOperation op, MlirValue *in) {
  int k = scalar_scale_operand(op);
  if (k >= 0) return *in = q_binary_in(op, k), true;
  if (!q_reshape_is(op)) return false;
  qcc_shape x, y;
  *in = q_reshape_in(op, 0);
  qcc_shape_of(*in, &x);
  qcc_shape_of(mlirOperationGetResult(op, 0), &y);
  return x.rank >= 2 && y.rank >= 2 && x.dims[x.rank - 1] == y.dims[y.rank - 1] &&
         x.dims[x.rank - 2] == y.dims[y.rank - 2];
}

/* B = K^T: a transpose moving its input's last axis to rank-2, reached
 * from b through matrix-preserving ops whose results have one use each
 * (the chain from the transpose to the matmul then feeds only the
 * matmul, and R on the transpose's input is R on B's rows). */
static MlirOperation key_transpose(MlirValue b) {
  MlirOperation none = {NULL}, t = def(b);
  MlirValue in;
  for (int depth = 0; !mlirOperationIsNull(t) && depth < MAX_DEPTH && matrix_preserving(t, &in); depth++) {
    MlirOpOperand u = mlirValueGetFirstUse(in);
    if (mlirOpOperandIsNull(u) || !mlirOpOperandIsNull(mlirOpOperandGetNextUse(u))) return none;
    t = def(in);
  }
  if (mlirOperationIsNull(t) || !q_transpose_is(t)) return none;
  q_transpose_attrs a = q_transpose_get(t);
  int r = rank_of(mlirOperationGetResult(t, 0));
  return r >= 2 && a.perm.n == r && a.perm.v[r - 2] == r - 1 ? t : none;
}

typedef struct outcome {
  char line[400];
  bool done;
} outcome;

/* Q K^T: R on Q and on K, folded where possible, online otherwise. */
static void scores(MlirOperation mm, int64_t h, const double *R, outcome *o) {
  char at[200], q[180], k[180];
  qcc_op_where(mm, at, sizeof at);
  MlirValue a = q_matmul_in(mm, 0), b = q_matmul_in(mm, 1);
  MlirOperation t = key_transpose(b);
  if (mlirOperationIsNull(t) || !uses_ok(b, mm)) {
    char kat[200] = "a model input";
    if (!mlirOperationIsNull(def(b))) qcc_op_where(def(b), kat, sizeof kat);
    put(o->line, sizeof o->line,
             "attention %s not rotated: %s produces its key operand and is not a transpose moving the head axis to rank-2%s", at,
             kat, mlirOperationIsNull(t) ? "" : " used only there");
    return;
  }
  static plan pq, pk;
  pq.n = pk.n = 0;
  bool fq = walk_up(&pq, a, mm, h, 0, h, 0), fk = walk_up(&pk, q_transpose_in(t, 0), t, h, 0, h, 0);
  if (fq) apply(&pq, R, h), describe(&pq, q, sizeof q);
  else mlirOperationSetOperand(mm, 0, qcc_insert_online_hadamard(mm, a, h)), put(q, sizeof q, "online (%s)", pq.why);
  if (fk) apply(&pk, R, h), describe(&pk, k, sizeof k);
  else mlirOperationSetOperand(t, 0, qcc_insert_online_hadamard(t, q_transpose_in(t, 0), h)), put(k, sizeof k, "online (%s)", pk.why);
  put(o->line, sizeof o->line, "attention %s heads of %lld rotated: Q %s; K %s", at, (long long)h, q, k);
  o->done = true;
}

/* P V: R on V (folded or online), R^T on the output (folded into the
 * output projection, or online when R is its own inverse). */
static void mix(MlirOperation mm, int64_t h, const double *R, bool symmetric, outcome *o) {
  char at[200], v[180], w[180];
  qcc_op_where(mm, at, sizeof at);
  MlirValue x = q_matmul_in(mm, 1), y = mlirOperationGetResult(mm, 0);
  static plan pv, po;
  pv.n = po.n = 0;
  bool fv = walk_up(&pv, x, mm, h, 0, h, 0), fo = walk_down(&po, y, h, 0, h, 0);
  if (!fo && !symmetric) {
    put(o->line, sizeof o->line,
             "attention %s not rotated: the output cannot take R^T (%s) and the Hadamard of order %lld is not symmetric, so no online inverse",
             at, po.why, (long long)h);
    return;
  }
  if (fv) apply(&pv, R, h), describe(&pv, v, sizeof v);
  else mlirOperationSetOperand(mm, 1, qcc_insert_online_hadamard(mm, x, h)), put(v, sizeof v, "online (%s)", pv.why);
  if (fo) {
    apply(&po, R, h), describe(&po, w, sizeof w);
  } else { /* (P V R) R = P V: a q.hadamard after mm takes every use of y */
    MlirOperation next = mlirOperationGetNextInBlock(mm);
    MlirValue hy = qcc_insert_online_hadamard(next, y, h);
    mlirValueReplaceAllUsesOfWith(y, hy);
    mlirOperationSetOperand(def(hy), 0, y);
    put(w, sizeof w, "online (%s)", po.why);
  }
  put(o->line, sizeof o->line, "attention %s heads of %lld rotated: V %s; output %s", at, (long long)h, v, w);
  o->done = true;
}

int qcc_rotate_heads(MlirModule m, char (*lines)[400], int *n_lines, int cap) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  MlirOperation mms[1024];
  int n = 0, rotated = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op) && n < 1024; op = mlirOperationGetNextInBlock(op)) {
    if (!q_matmul_is(op) || !mlirValueIsNull(q_matmul_in(op, 2))) continue;
    if (qcc_value_is_constant(q_matmul_in(op, 0)) || qcc_value_is_constant(q_matmul_in(op, 1))) continue;
    mms[n++] = op;
  }
  for (int i = 0; i < n; i++) {
    MlirOperation mm = mms[i];
    outcome o = {"", false};
    qcc_shape as, bs;
    qcc_shape_of(q_matmul_in(mm, 0), &as);
    qcc_shape_of(q_matmul_in(mm, 1), &bs);
    bool pv = is_softmax_last(q_matmul_in(mm, 0));
    int64_t h = pv ? bs.dims[bs.rank - 1] : as.dims[as.rank - 1];
    char at[200], why[160];
    qcc_op_where(mm, at, sizeof at);
    if (as.dtype != QRT_F32 || bs.dtype != QRT_F32 || as.rank < 2 || bs.rank < 2) {
      put(o.line, sizeof o.line, "attention %s not rotated: its operands are not float matrices", at);
    } else if (qcc_hadamard_why_not(h, why, sizeof why)) {
      put(o.line, sizeof o.line, "attention %s not rotated: head dim %lld: %s", at, (long long)h, why);
    } else {
      double *R = malloc(sizeof(double) * (size_t)(h * h));
      qcc_hadamard(h, R);
      bool symmetric = true;
      for (int64_t a = 0; a < h; a++)
        for (int64_t b = 0; b < h; b++) symmetric &= R[a * h + b] == R[b * h + a];
      for (int64_t k = 0; k < h * h; k++) R[k] /= sqrt((double)h);
      if (pv) mix(mm, h, R, symmetric, &o);
      else scores(mm, h, R, &o);
      free(R);
    }
    rotated += o.done;
    qcc_remark("rotate: %s", o.line);
    if (*n_lines < cap) memcpy(lines[(*n_lines)++], o.line, sizeof o.line);
  }
  return rotated;
}
