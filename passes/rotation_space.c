/* rotation_space.c - finds the residual streams a rotation can be fused
 * into, with rules per op (rotate.h):
 *  - absorbs (writers): matmul with a constant [K, d] weight (W <- W Q),
 *    gather from a constant [V, d] table (E <- E Q), a constant added to
 *    the stream (c <- c Q), a convolution whose output channels reach the
 *    last axis through reshapes / transposes (W <- Q^T W over output
 *    channels, b <- b Q); a model input gets an online rotation, a model
 *    output (the stream, or a norm's output) an online inverse;
 *  - commutes: residual add of two stream values; RMSNorm over the last
 *    axis (rms(xQ) = rms(x)); LayerNorm once the writers are centred;
 *    token-wise ops, which act on whole rows and so commute with a
 *    rotation of each row (the multimodal entry x = tok(ids) (1 - m) +
 *    img(pix) m): a product or quotient by a factor uniform across the last
 *    axis (x m[t]), where(c[t], a, b) with c uniform across it, gathers
 *    along another axis (token gathers and permutations) and concatenation
 *    along another axis;
 *    between a norm and its readers, mean over other axes, reshapes /
 *    transposes that keep the last axis, slices and gathers of rows;
 *  - absorbs (readers): matmul with a constant [d, N] weight (W <- Q^T W);
 *  - blocks: everything else (nonlinear ops, a norm whose output is used
 *    by anything but readers and model outputs),
 *    with the op and the reason recorded, never silently.
 * Works on any graph; nothing here knows a model's layer names. */
#include <stdio.h>
#include <string.h>

#include "rotate.h"

static MlirOperation def(MlirValue v) {
  MlirOperation none = {NULL};
  return mlirValueIsAOpResult(v) ? mlirOpResultGetOwner(v) : none;
}

static int64_t last_dim(MlirValue v) {
  qcc_shape s;
  qcc_shape_of(v, &s);
  return s.rank ? s.dims[s.rank - 1] : -1;
}

static void block(qcc_stream *s, MlirOperation op, const char *why) {
  if (s->blocked) return;
  s->blocked = true;
  char at[256] = "the function";
  if (!mlirOperationIsNull(op)) qcc_op_where(op, at, sizeof at);
  snprintf(s->why, sizeof s->why, "%s %s", at, why);
}

static bool has_value(const qcc_stream *s, MlirValue v) {
  for (int i = 0; i < s->n_values; i++)
    if (mlirValueEqual(s->values[i], v)) return true;
  return false;
}

static bool is_last_axis_norm(MlirOperation op) {
  if (!q_norm_is(op)) return false;
  q_norm_attrs a = q_norm_get(op);
  qcc_shape x;
  qcc_shape_of(q_norm_in(op, 0), &x);
  return a.axis == x.rank - 1 && (!strcmp(a.kind.s, "rms") || !strcmp(a.kind.s, "layer"));
}

/* A matmul whose operand 0 is v and operand 1 a constant 2-D weight with
 * `rows` rows (and a constant bias, if any). */
static bool const_weight_matmul(MlirOperation op, MlirValue v, int64_t rows) {
  if (!q_matmul_is(op) || !mlirValueEqual(q_matmul_in(op, 0), v) || !qcc_value_is_constant(q_matmul_in(op, 1)))
    return false;
  qcc_shape w;
  qcc_shape_of(q_matmul_in(op, 1), &w);
  MlirValue b = q_matmul_in(op, 2);
  return w.rank == 2 && w.dims[0] == rows && w.dtype == QRT_F32 && (mlirValueIsNull(b) || qcc_value_is_constant(b));
}

/* A transpose that leaves the last axis of its rank-`rank` input in place. */
static bool transpose_keeps_last_axis(MlirOperation op, int rank) {
  q_transpose_attrs a = q_transpose_get(op);
  return a.perm.n == rank && a.perm.v[rank - 1] == rank - 1;
}

/* Ops between a norm and its readers that commute with a rotation of the
 * last axis and keep gamma/beta folding exact: mean over other axes,
 * reshapes and transposes that keep the last axis in place, slices and
 * gathers of whole rows (a class token picked for the head). */
bool qcc_commutes_after_norm(MlirOperation op, int64_t d) {
  MlirValue y = mlirOperationGetResult(op, 0);
  if (mlirOperationGetNumResults(op) != 1 || last_dim(y) != d) return false;
  qcc_shape in;
  qcc_shape_of(mlirOperationGetOperand(op, 0), &in);
  if (q_reduce_is(op)) {
    q_reduce_attrs a = q_reduce_get(op);
    if (strcmp(a.kind.s, "mean")) return false;
    for (int i = 0; i < a.axes.n; i++)
      if (a.axes.v[i] == in.rank - 1 || a.axes.v[i] == -1) return false;
    return true;
  }
  if (q_transpose_is(op)) return transpose_keeps_last_axis(op, in.rank);
  if (q_slice_is(op)) { /* rows picked along other axes (a class token) */
    q_slice_attrs a = q_slice_get(op);
    return in.dims[in.rank - 1] == d && a.starts.v[in.rank - 1] == 0 && a.steps.v[in.rank - 1] == 1;
  }
  if (q_gather_is(op)) {
    int64_t axis = q_gather_get(op).axis;
    return mlirValueEqual(q_gather_in(op, 0), mlirOperationGetOperand(op, 0)) && axis != in.rank - 1 && axis >= 0;
  }
  return q_reshape_is(op);
}

static void add_output(qcc_stream *s, MlirOperation ret, MlirOpOperand u, int norm) {
  if (s->n_outputs == QCC_STREAM_MAX) return block(s, ret, "returns one value too many for the analysis");
  s->out_ops[s->n_outputs] = ret;
  s->out_operand[s->n_outputs] = (int)mlirOpOperandGetOperandNumber(u);
  s->out_norm[s->n_outputs++] = norm;
}

static void add_reader(qcc_stream *s, MlirOperation mm, int norm) {
  for (int i = 0; i < s->n_readers; i++)
    if (mlirOperationEqual(s->readers[i], mm)) return;
  if (s->n_readers == QCC_STREAM_MAX) return block(s, mm, "is one reader too many for the analysis");
  s->reader_norm[s->n_readers] = norm;
  s->readers[s->n_readers++] = mm;
}

/* Users of h, the output of norm `norm` (or a value derived from it by
 * commuting ops): all must end in reader matmuls. */
static void explore_norm_output(qcc_stream *s, MlirValue h, int norm) {
  for (MlirOpOperand u = mlirValueGetFirstUse(h); !mlirOpOperandIsNull(u) && !s->blocked; u = mlirOpOperandGetNextUse(u)) {
    MlirOperation user = mlirOpOperandGetOwner(u);
    if (const_weight_matmul(user, h, s->d)) add_reader(s, user, norm);
    else if (qcc_commutes_after_norm(user, s->d)) explore_norm_output(s, mlirOperationGetResult(user, 0), norm);
    else if (mlirOperationGetNumResults(user) == 0) add_output(s, user, u, norm); /* func.return */
    else
      block(s, user, "reads a norm's output and neither absorbs a rotation (constant-weight matmul) nor commutes with it");
  }
}

static void visit(qcc_stream *s, MlirValue v);

static void add_writer(qcc_stream *s, qcc_writer_kind kind, MlirOperation op, int operand) {
  for (int i = 0; i < s->n_writers; i++)
    if (s->writers[i].kind != QCC_WRITER_INPUT && mlirOperationEqual(s->writers[i].op, op) && s->writers[i].operand == operand)
      return;
  if (s->n_writers == QCC_STREAM_MAX) return block(s, op, "is one writer too many for the analysis");
  s->writers[s->n_writers++] = (qcc_stream_writer){kind, op, operand, {NULL}};
}

/* A model input on the stream: rotated online where the function starts
 * (x <- x Q by the Hadamard kernel; centred first on a LayerNorm stream). */
static void add_input_writer(qcc_stream *s, MlirValue arg) {
  qcc_shape a;
  qcc_shape_of(arg, &a);
  if (a.dtype != QRT_F32) return block(s, def(arg), "feeds a non-float model input into the stream");
  for (int i = 0; i < s->n_writers; i++)
    if (s->writers[i].kind == QCC_WRITER_INPUT && mlirValueEqual(s->writers[i].input, arg)) return;
  if (s->n_writers == QCC_STREAM_MAX) return block(s, def(arg), "is one writer too many for the analysis");
  s->writers[s->n_writers++] = (qcc_stream_writer){QCC_WRITER_INPUT, def(arg), 0, arg};
}

/* The value's only use, or false when it has none or several. */
static bool single_use(MlirValue v) {
  MlirOpOperand u = mlirValueGetFirstUse(v);
  return !mlirOpOperandIsNull(u) && mlirOpOperandIsNull(mlirOpOperandGetNextUse(u));
}

/* The convolution whose output channels reach v's last axis through
 * reshapes and transposes alone (a ViT's patch embedding: conv [B, d, h, w]
 * -> reshape [B, d, hw] -> transpose [B, hw, d]), each value on the way
 * used once; its weight [d, C/g, ...] must be constant, group 1. An axis
 * survives a reshape when the products of the dims before it and the dim
 * itself are the same on both sides (the elements keep their index along
 * it). Null when there is no such convolution. */
static MlirOperation conv_channel_writer(MlirValue v, int64_t d) {
  MlirOperation none = {NULL};
  qcc_shape s;
  qcc_shape_of(v, &s);
  int axis = s.rank - 1;
  for (MlirOperation p = def(v); !mlirOperationIsNull(p); p = def(mlirOperationGetOperand(p, 0))) {
    if (q_conv_is(p)) {
      qcc_shape w;
      qcc_shape_of(q_conv_in(p, 1), &w);
      bool bias_ok = !q_conv_num_in(p, 2) || qcc_value_is_constant(q_conv_in(p, 2));
      if (axis == 1 && q_conv_get(p).group == 1 && qcc_value_is_constant(q_conv_in(p, 1)) && w.dtype == QRT_F32 &&
          w.dims[0] == d && bias_ok)
        return p;
      return none;
    }
    if (!q_reshape_is(p) && !q_transpose_is(p)) return none;
    MlirValue in = mlirOperationGetOperand(p, 0);
    if (!mlirValueIsAOpResult(in) || !single_use(in)) return none;
    qcc_shape is;
    qcc_shape_of(in, &is);
    if (q_transpose_is(p)) {
      axis = (int)q_transpose_get(p).perm.v[axis];
    } else {
      qcc_shape os;
      qcc_shape_of(mlirOperationGetResult(p, 0), &os);
      int64_t before = 1, pre = 1;
      for (int i = 0; i < axis; i++) before *= os.dims[i];
      int found = -1;
      for (int j = 0; j < is.rank && found < 0; pre *= is.dims[j++])
        if (pre == before && is.dims[j] == os.dims[axis]) found = j;
      if (found < 0) return none;
      axis = found;
    }
  }
  return none;
}

/* A constant added to the stream must vary only along axes the stream has
 * and carry the full last axis (it is rotated as rows of d values). */
static bool rotatable_constant(MlirValue c, int64_t d) {
  qcc_shape cs;
  qcc_shape_of(c, &cs);
  return cs.dtype == QRT_F32 && cs.rank >= 1 && cs.dims[cs.rank - 1] == d;
}

/* f broadcasts over the stream's last axis: the same factor for every
 * channel of a row (rank 0, or last dim 1). */
static bool uniform_across_channels(MlirValue f) {
  qcc_shape fs;
  qcc_shape_of(f, &fs);
  return fs.rank == 0 || fs.dims[fs.rank - 1] == 1;
}

/* x * f[t] or x / f[t]: the stream operand's index (0 or 1), or -1 when op
 * is no such token-wise scaling of a value with last dim d. */
static int tokenwise_scaled_operand(MlirOperation op, int64_t d) {
  if (!q_binary_is(op)) return -1;
  const char *k = q_binary_get(op).kind.s;
  bool mul = !strcmp(k, "mul"), div = !strcmp(k, "div");
  if (!mul && !div) return -1;
  for (int i = 0; i < 2; i++)
    if (last_dim(q_binary_in(op, i)) == d && uniform_across_channels(q_binary_in(op, 1 - i)) && (mul || i == 0))
      return i;
  return -1;
}

/* Ops that move whole rows: gathers and concatenations along an axis
 * other than the last (token gathers, permutations, joins of token
 * blocks), transposes that keep the last axis in place and reshapes that
 * keep it whole (PyTorch's nn.MultiheadAttention turns [B, T, d] into
 * [T, B, d] and back around attention). */
static bool moves_rows(MlirOperation op, int64_t d) {
  if (mlirOperationGetNumResults(op) != 1 || mlirOperationGetNumOperands(op) == 0 ||
      last_dim(mlirOperationGetResult(op, 0)) != d)
    return false;
  qcc_shape in;
  qcc_shape_of(mlirOperationGetOperand(op, 0), &in);
  if (q_transpose_is(op)) return transpose_keeps_last_axis(op, in.rank);
  if (q_reshape_is(op)) return in.rank >= 1 && in.dims[in.rank - 1] == d;
  if (q_gather_is(op)) {
    int64_t axis = q_gather_get(op).axis;
    return !qcc_value_is_constant(q_gather_in(op, 0)) && axis != in.rank - 1 && axis != -1;
  }
  if (q_concat_is(op)) {
    int64_t axis = q_concat_get(op).axis;
    return axis != in.rank - 1 && axis != -1;
  }
  return false;
}

/* A where whose condition is uniform across the last axis, selecting
 * between two values with last dim d. */
static bool tokenwise_where(MlirOperation op, int64_t d) {
  return q_where_is(op) && uniform_across_channels(q_where_in(op, 0)) && last_dim(q_where_in(op, 1)) == d &&
         last_dim(q_where_in(op, 2)) == d;
}

/* The branches of a token-wise where (operands 1 and 2): stream values, or
 * constants rotated as rows like an addend. */
static void visit_where_branches(qcc_stream *s, MlirOperation p) {
  for (int i = 1; i < 3 && !s->blocked; i++) {
    MlirValue o = q_where_in(p, i);
    if (!qcc_value_is_constant(o)) visit(s, o);
    else if (rotatable_constant(o, s->d)) add_writer(s, QCC_WRITER_CONSTANT, p, i);
    else block(s, p, "selects a constant that does not span the stream's last axis");
  }
}

static void visit_producer(qcc_stream *s, MlirValue v) {
  MlirOperation p = def(v);
  if (mlirOperationIsNull(p)) return add_input_writer(s, v);
  if (q_binary_is(p) && !strcmp(q_binary_get(p).kind.s, "add")) {
    for (int i = 0; i < 2 && !s->blocked; i++) {
      MlirValue o = q_binary_in(p, i);
      if (qcc_value_is_constant(o)) {
        if (rotatable_constant(o, s->d)) add_writer(s, QCC_WRITER_CONSTANT, p, i);
        else block(s, p, "adds a constant that does not span the stream's last axis");
      } else if (last_dim(o) == s->d) {
        visit(s, o);
      } else {
        block(s, p, "adds a broadcast value to the stream");
      }
    }
    return;
  }
  int scaled = tokenwise_scaled_operand(p, s->d);
  if (scaled >= 0) return visit(s, q_binary_in(p, scaled));
  if (tokenwise_where(p, s->d)) return visit_where_branches(s, p);
  if (moves_rows(p, s->d)) {
    if (q_gather_is(p)) return visit(s, q_gather_in(p, 0));
    /* a constant block of rows (a ViT's class token in front of the
     * patches) is rotated as rows, like an addend */
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(p) && !s->blocked; i++) {
      MlirValue o = mlirOperationGetOperand(p, i);
      if (!qcc_value_is_constant(o)) visit(s, o);
      else if (rotatable_constant(o, s->d)) add_writer(s, QCC_WRITER_CONSTANT, p, (int)i);
      else block(s, p, "joins a constant that does not span the stream's last axis");
    }
    return;
  }
  if (q_matmul_is(p) && qcc_value_is_constant(q_matmul_in(p, 1))) {
    qcc_shape w;
    qcc_shape_of(q_matmul_in(p, 1), &w);
    MlirValue b = q_matmul_in(p, 2);
    if (w.rank == 2 && (mlirValueIsNull(b) || qcc_value_is_constant(b))) return add_writer(s, QCC_WRITER_MATMUL, p, 1);
  }
  if (q_gather_is(p) && qcc_value_is_constant(q_gather_in(p, 0)) && q_gather_get(p).axis == 0) {
    qcc_shape t;
    qcc_shape_of(q_gather_in(p, 0), &t);
    if (t.rank == 2 && t.dtype == QRT_F32) return add_writer(s, QCC_WRITER_GATHER, p, 0);
  }
  MlirOperation conv = conv_channel_writer(v, s->d);
  if (!mlirOperationIsNull(conv)) return add_writer(s, QCC_WRITER_CONV, conv, 1);
  block(s, p, "produces the stream and neither absorbs a rotation (constant weight, table or addend) nor is a residual add");
}

/* The use u of a stream value by `user` keeps the result on the stream:
 * the scaled operand of a token-wise product, a branch of a token-wise
 * where, the data of a row gather, an input of a concatenation of rows. */
static bool row_preserving_user(MlirOperation user, MlirOpOperand u, int64_t d) {
  unsigned at = mlirOpOperandGetOperandNumber(u);
  int scaled = tokenwise_scaled_operand(user, d);
  if (scaled >= 0) return (int)at == scaled;
  if (tokenwise_where(user, d)) return at != 0;
  if (moves_rows(user, d)) return q_concat_is(user) || at == 0;
  return false;
}

static void visit_users(qcc_stream *s, MlirValue v) {
  for (MlirOpOperand u = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(u) && !s->blocked; u = mlirOpOperandGetNextUse(u)) {
    MlirOperation user = mlirOpOperandGetOwner(u);
    if (q_binary_is(user) && !strcmp(q_binary_get(user).kind.s, "add")) {
      visit(s, mlirOperationGetResult(user, 0));
    } else if (row_preserving_user(user, u, s->d)) {
      visit(s, mlirOperationGetResult(user, 0));
    } else if (is_last_axis_norm(user) && mlirValueEqual(q_norm_in(user, 0), v)) {
      bool seen = false;
      for (int i = 0; i < s->n_norms; i++) seen |= mlirOperationEqual(s->norms[i], user);
      if (seen) continue;
      if (s->n_norms == QCC_STREAM_MAX) return block(s, user, "is one norm too many for the analysis");
      bool layer = !strcmp(q_norm_get(user).kind.s, "layer");
      if (s->n_norms && layer != s->layer_norm) return block(s, user, "mixes LayerNorm and RMSNorm on one stream");
      s->layer_norm = layer;
      s->norms[s->n_norms++] = user;
      explore_norm_output(s, mlirOperationGetResult(user, 0), s->n_norms - 1);
    } else if (const_weight_matmul(user, v, s->d)) {
      add_reader(s, user, -1);
    } else if (mlirOperationGetNumResults(user) == 0) { /* func.return */
      add_output(s, user, u, -1);
    } else {
      block(s, user, "reads the stream and neither commutes with a rotation nor absorbs it");
    }
  }
}

static void visit(qcc_stream *s, MlirValue v) {
  if (s->blocked || has_value(s, v)) return;
  if (s->n_values == QCC_STREAM_MAX) return block(s, def(v), "makes the stream too long for the analysis");
  s->values[s->n_values++] = v;
  visit_producer(s, v);
  visit_users(s, v);
}

int qcc_find_streams(MlirModule m, qcc_stream *streams, int max, int *n) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  *n = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op)) {
    if (!is_last_axis_norm(op)) continue;
    MlirValue x = q_norm_in(op, 0);
    bool known = false;
    for (int i = 0; i < *n && !known; i++) known = has_value(&streams[i], x);
    if (known) continue;
    if (*n == max) break;
    qcc_stream *s = &streams[(*n)++];
    memset(s, 0, sizeof *s);
    s->d = last_dim(x);
    qcc_shape xs;
    qcc_shape_of(x, &xs);
    if (xs.dtype != QRT_F32) block(s, op, "normalises a non-float stream");
    visit(s, x);
    if (!s->blocked && !s->n_readers) block(s, op, "is the only use of the stream: no linear layer reads it");
  }
  return 0;
}
