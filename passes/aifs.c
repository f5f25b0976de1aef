/* aifs.c - the reorder-tokens pass (AIFS, MQuant 2502.00425): permute the
 * sequence at the model's entry so that the tokens of each modality form
 * one contiguous block of rows (a stable partition, so each block keeps its
 * original order: text first, then modality 1, 2, ... for a run-time
 * modality input; a static layout's blocks in the order they first appear,
 * so a layout already in blocks is left as it is), and keep the function
 * the same.
 *
 * The permutation perm (perm[i] = original position of the i-th reordered
 * token) and its inverse are computed in the generated code from the
 * modality input (--aifs INPUT: a stable ascending sort, q.topk with
 * largest = 0 and k = T, which the runtime does as a stable merge sort; the
 * inverse is a scatter of 0..T-1 by perm), or are constants (--aifs-static).
 *
 * Analysis: every value gets the set of its axes that index tokens. Seeds
 * are the token-indexed graph inputs: axis 1 of every input shaped
 * [1, T, ...] (axis 0 of one shaped [T]), T the modality input's length
 * (--aifs-static: the longest sequence a concatenation along axis 1
 * assembles, else the first such input's), and the sequences the graph
 * assembles itself: a concatenation along axis 1 into [1, T, ...] of
 * blocks that are not token-indexed (image patches in front of the text
 * embeddings, LLaVA-style). Token axes flow through ops
 * that treat tokens alike and independently of their order: elementwise
 * ops (numpy broadcasting), matmuls (rows, columns and batch axes; a sum
 * over a token axis of both operands is order-free), reshapes that keep the
 * token axis whole, transposes, softmax / norms / reductions (sums, means,
 * maxima over tokens do not depend on their order), gathers whose indices
 * are token-indexed (embedding lookups), concatenation and slicing along
 * other axes. Any other op reached by a token-indexed value (cumsum or a
 * slice along tokens, an argmax over them, a reshape splitting them,
 * convolutions...) depends on token order: the pass stops with a one-line
 * error naming the op and changes nothing.
 *
 * Rewrite:
 *  - each token-indexed input x is replaced by gather(x, perm, axis), and
 *    each assembled sequence is gathered right after its concatenation; a
 *    modality input of another type than the sort and MSQ read (a bool
 *    is-image mask) is sorted and gathered for MSQ as a float32 copy;
 *  - an operand that is not token-indexed but meets a token axis of the
 *    op's result with the full length T is indexed by original position (a
 *    learned position table, RoPE's cos/sin, the causal mask [T, T]): it is
 *    gathered by perm along each such axis, so the mask becomes
 *    M'[i, j] = M[perm[i], perm[j]] (token i sees j iff orig(j) <= orig(i))
 *    and positions stay the original ones; a constant causal mask is built
 *    that way directly, where(perm[j] <= perm[i], M[0,0], M[0,1]), instead
 *    of gathering its T * T elements along both axes;
 *  - each output with token axes is gathered back by the inverse.
 * With --aifs-static the gathers of constants fold away at compile time.
 * Invariant: the function's outputs are unchanged up to float rounding
 * (sums over tokens are added in another order), for every modality input.
 * The function gets the attribute qcc.aifs describing the reordering; the
 * modality counts of the blocks are what MSQ's per-modality scales read. */
#include "aifs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "quant_activations.h"

qcc_aifs_options qcc_aifs_opts;

const char qcc_aifs_flags_help[] =
    "  --aifs INPUT          reorder tokens by modality (AIFS): INPUT is the graph input\n"
    "                        holding each token's modality ([T], [1, T] or [1, T, 1];\n"
    "                        0 = text, or a bool is-image mask); the permutation is\n"
    "                        computed at run time\n"
    "  --aifs-static NAME=S:E[,NAME=S:E...]\n"
    "                        the same for a fixed layout: tokens S..E-1 are of\n"
    "                        modality NAME (e.g. image=4:20), the others text; the\n"
    "                        sequence may be assembled in the graph (Concat of image\n"
    "                        patches and text embeddings along the tokens)\n";

bool qcc_aifs_enabled(void) { return qcc_aifs_opts.input || qcc_aifs_opts.n_ranges; }

/* "image=4:20,audio=30:40": ranges with modality indices by first
 * appearance of their name; false (reported) on anything else. */
static bool parse_static(const char *v) {
  qcc_aifs_options *o = &qcc_aifs_opts;
  const char *p = v;
  while (*p) {
    const char *eq = strchr(p, '=');
    const char *end = strchr(p, ',');
    if (!end) end = p + strlen(p);
    if (!eq || eq > end || eq == p || (size_t)(eq - p) >= sizeof o->names[0])
      return qcc_error("--aifs-static: expected NAME=START:END[,...] (e.g. image=4:20), got '%s'", v), false;
    char name[32], *colon, *stop;
    snprintf(name, sizeof name, "%.*s", (int)(eq - p), p);
    if (!strcmp(name, "text")) return qcc_error("--aifs-static: 'text' is the default modality; name only the others"), false;
    long long s = strtoll(eq + 1, &colon, 10);
    if (colon == eq + 1 || *colon != ':') return qcc_error("--aifs-static: expected START:END after '%s=', got '%.*s'", name, (int)(end - eq - 1), eq + 1), false;
    long long e = strtoll(colon + 1, &stop, 10);
    if (stop == colon + 1 || stop != end || s < 0 || e <= s)
      return qcc_error("--aifs-static: bad range '%.*s' for '%s' (need 0 <= START < END)", (int)(end - eq - 1), eq + 1, name), false;
    int m = 0;
    for (int k = 0; k < o->n_names; k++)
      if (!strcmp(o->names[k], name)) m = k + 1;
    if (!m) {
      if (o->n_names == QCC_AIFS_MAX_MODALITIES) return qcc_error("--aifs-static: at most %d modalities", QCC_AIFS_MAX_MODALITIES), false;
      snprintf(o->names[o->n_names++], sizeof o->names[0], "%s", name);
      m = o->n_names;
    }
    if (o->n_ranges == QCC_AIFS_MAX_RANGES) return qcc_error("--aifs-static: at most %d ranges", QCC_AIFS_MAX_RANGES), false;
    for (int k = 0; k < o->n_ranges; k++)
      if (s < o->ranges[k].end && o->ranges[k].start < e)
        return qcc_error("--aifs-static: range %lld:%lld overlaps %lld:%lld", s, e, (long long)o->ranges[k].start,
                         (long long)o->ranges[k].end), false;
    o->ranges[o->n_ranges++] = (qcc_aifs_range){m, s, e};
    p = *end ? end + 1 : end;
  }
  return true;
}

int qcc_aifs_parse_flag(int argc, char **argv, int *i) {
  bool missing = false;
  const char *v;
  if ((v = qcc_flag_value(argc, argv, i, "--aifs", &missing))) {
    if (!*v) return qcc_error("--aifs: expected the name of a graph input"), -1;
    if (qcc_aifs_opts.n_ranges) return qcc_error("--aifs and --aifs-static exclude each other"), -1;
    qcc_aifs_opts.input = v;
    return 1;
  }
  if (!missing && (v = qcc_flag_value(argc, argv, i, "--aifs-static", &missing))) {
    if (qcc_aifs_opts.input) return qcc_error("--aifs and --aifs-static exclude each other"), -1;
    return parse_static(v) ? 1 : -1;
  }
  if (missing) return qcc_error("flag '%s' needs a value", argv[*i]), -1;
  return 0;
}

/* ---- analysis: which axes of which values index tokens ---- */

typedef uint32_t axes_t; /* bit a: axis a indexes tokens */

typedef struct tracked {
  MlirValue v;
  axes_t axes;
} tracked;

/* An operand indexed by original token position that must be gathered
 * by perm along `axes` before `op` reads it. */
typedef struct request {
  MlirOperation op;
  int operand;
  axes_t axes;
} request;

typedef struct analysis {
  int64_t T;
  /* Concatenations along the token axis that assemble the sequence inside
   * the graph (an image prefix and the text embeddings): seeds, like the
   * token-indexed inputs, whose results are gathered by perm. */
  MlirOperation *sequences;
  int n_sequences;
  tracked *vals;
  int n_vals, cap_vals;
  request *reqs;
  int n_reqs, cap_reqs;
  bool failed;
} analysis;

static axes_t axes_of(const analysis *an, MlirValue v) {
  for (int i = an->n_vals - 1; i >= 0; i--)
    if (mlirValueEqual(an->vals[i].v, v)) return an->vals[i].axes;
  return 0;
}

static void set_axes(analysis *an, MlirValue v, axes_t axes) {
  if (!axes) return;
  if (an->n_vals == an->cap_vals) {
    an->cap_vals = an->cap_vals ? 2 * an->cap_vals : 256;
    an->vals = realloc(an->vals, (size_t)an->cap_vals * sizeof *an->vals);
  }
  an->vals[an->n_vals++] = (tracked){v, axes};
}

static void add_request(analysis *an, MlirOperation op, int operand, axes_t axes) {
  if (!axes) return;
  for (int i = 0; i < an->n_reqs; i++)
    if (mlirOperationEqual(an->reqs[i].op, op) && an->reqs[i].operand == operand) {
      an->reqs[i].axes |= axes;
      return;
    }
  if (an->n_reqs == an->cap_reqs) {
    an->cap_reqs = an->cap_reqs ? 2 * an->cap_reqs : 64;
    an->reqs = realloc(an->reqs, (size_t)an->cap_reqs * sizeof *an->reqs);
  }
  an->reqs[an->n_reqs++] = (request){op, operand, axes};
}

static int fail(analysis *an, MlirOperation op, const char *why) {
  char at[256];
  qcc_error("--aifs: %s %s; token reordering does not apply to this graph", qcc_op_where(op, at, sizeof at), why);
  an->failed = true;
  return -1;
}

static qcc_shape shape(MlirValue v) {
  qcc_shape s;
  memset(&s, 0, sizeof s);
  qcc_shape_of(v, &s);
  return s;
}

static bool has(axes_t a, int axis) { return axis >= 0 && axis < 32 && (a >> axis & 1u); }

/* Operand k of op, broadcast right-aligned into a result of rank R whose
 * token axes are `out`: its token axes are mapped into `*acc`; an axis
 * that meets a token axis with length T without being token-indexed is
 * requested for a gather (it is indexed by original position). */
static void broadcast_operand(analysis *an, MlirOperation op, int k, int R, axes_t out) {
  MlirValue v = mlirOperationGetOperand(op, k);
  qcc_shape s = shape(v);
  axes_t mine = axes_of(an, v), need = 0;
  for (int a = 0; a < s.rank; a++) {
    int o = a + R - s.rank;
    if (has(out, o) && !has(mine, a) && s.dims[a] == an->T) need |= 1u << a;
  }
  add_request(an, op, k, need);
}

/* Token axes of an elementwise result: the union of its operands' mapped
 * right-aligned (numpy broadcasting). */
static axes_t elementwise(analysis *an, MlirOperation op, int first, int n) {
  int R = shape(mlirOperationGetResult(op, 0)).rank;
  axes_t out = 0;
  for (int k = first; k < first + n; k++) {
    MlirValue v = mlirOperationGetOperand(op, k);
    if (mlirValueIsNull(v)) continue;
    int r = shape(v).rank;
    axes_t a = axes_of(an, v);
    for (int i = 0; i < r; i++)
      if (has(a, i)) out |= 1u << (i + R - r);
  }
  for (int k = first; k < first + n; k++)
    if (!mlirValueIsNull(mlirOperationGetOperand(op, k))) broadcast_operand(an, op, k, R, out);
  return out;
}

static axes_t matmul(analysis *an, MlirOperation op) {
  MlirValue a = mlirOperationGetOperand(op, 0), b = mlirOperationGetOperand(op, 1);
  qcc_shape as = shape(a), bs = shape(b);
  int R = shape(mlirOperationGetResult(op, 0)).rank;
  axes_t am = axes_of(an, a), bm = axes_of(an, b), out = 0;
  if (as.rank < 2 || bs.rank < 2) return fail(an, op, "multiplies a token-indexed vector (rank 1)"), 0;
  if (has(am, as.rank - 2)) out |= 1u << (R - 2);
  if (has(bm, bs.rank - 1)) out |= 1u << (R - 1);
  for (int i = 0; i < as.rank - 2; i++)
    if (has(am, i)) out |= 1u << (i + R - as.rank);
  for (int i = 0; i < bs.rank - 2; i++)
    if (has(bm, i)) out |= 1u << (i + R - bs.rank);
  /* A sum over tokens: both operands must index them in the same order. */
  bool ak = has(am, as.rank - 1), bk = has(bm, bs.rank - 2);
  if (ak && !bk) add_request(an, op, 1, 1u << (bs.rank - 2));
  if (bk && !ak) add_request(an, op, 0, 1u << (as.rank - 1));
  axes_t abatch = 0, bbatch = 0;
  for (int i = 0; i < as.rank - 2; i++)
    if (has(out, i + R - as.rank) && !has(am, i) && as.dims[i] == an->T) abatch |= 1u << i;
  for (int i = 0; i < bs.rank - 2; i++)
    if (has(out, i + R - bs.rank) && !has(bm, i) && bs.dims[i] == an->T) bbatch |= 1u << i;
  add_request(an, op, 0, abatch);
  add_request(an, op, 1, bbatch);
  if (mlirOperationGetNumOperands(op) > 2 && !mlirValueIsNull(mlirOperationGetOperand(op, 2))) {
    MlirValue bias = mlirOperationGetOperand(op, 2);
    int r = shape(bias).rank;
    axes_t bb = axes_of(an, bias);
    for (int i = 0; i < r; i++)
      if (has(bb, i)) out |= 1u << (i + R - r);
    broadcast_operand(an, op, 2, R, out);
  }
  return out;
}

static int64_t prefix(const qcc_shape *s, int axis) {
  int64_t p = 1;
  for (int i = 0; i < axis; i++) p *= s->dims[i];
  return p;
}

/* A reshape keeps a token axis when the elements before it and the axis
 * itself survive as whole dims of the result. */
static axes_t reshape(analysis *an, MlirOperation op) {
  qcc_shape in = shape(mlirOperationGetOperand(op, 0)), out = shape(mlirOperationGetResult(op, 0));
  axes_t m = axes_of(an, mlirOperationGetOperand(op, 0)), res = 0;
  for (int a = 0; a < in.rank; a++) {
    if (!has(m, a)) continue;
    int found = -1;
    for (int o = 0; o < out.rank && found < 0; o++)
      if (out.dims[o] == an->T && prefix(&out, o) == prefix(&in, a)) found = o;
    if (found < 0) return fail(an, op, "reshapes a token axis into other dims (tokens would mix with channels)"), 0;
    res |= 1u << found;
  }
  return res;
}

static axes_t transpose(analysis *an, MlirOperation op) {
  q_transpose_attrs t = q_transpose_get(op);
  axes_t m = axes_of(an, mlirOperationGetOperand(op, 0)), res = 0;
  for (int o = 0; o < t.perm.n; o++)
    if (has(m, (int)t.perm.v[o])) res |= 1u << o;
  return res;
}

static int norm_axis(int64_t axis, int rank) { return (int)(axis < 0 ? axis + rank : axis); }

/* Reductions over token axes are order-free (sum, mean, max, ...); the
 * result loses the axis (or keeps it with length 1). */
static axes_t reduce(analysis *an, MlirOperation op) {
  q_reduce_attrs r = q_reduce_get(op);
  qcc_shape in = shape(mlirOperationGetOperand(op, 0)), out = shape(mlirOperationGetResult(op, 0));
  axes_t m = axes_of(an, mlirOperationGetOperand(op, 0)), res = 0;
  bool keep = in.rank == out.rank;
  for (int a = 0, o = 0; a < in.rank; a++) {
    bool reduced = false;
    for (int k = 0; k < r.axes.n; k++) reduced |= norm_axis(r.axes.v[k], in.rank) == a;
    if (reduced && !keep) continue;
    if (!reduced && has(m, a)) res |= 1u << o;
    o++;
  }
  return res;
}

static axes_t gather(analysis *an, MlirOperation op) {
  MlirValue data = q_gather_in(op, 0), idx = q_gather_in(op, 1);
  qcc_shape ds = shape(data), is = shape(idx);
  int axis = norm_axis(q_gather_get(op).axis, ds.rank);
  axes_t dm = axes_of(an, data), im = axes_of(an, idx), res = 0;
  if (has(dm, axis)) return fail(an, op, "picks tokens by index (a gather along the token axis)"), 0;
  for (int a = 0; a < ds.rank; a++)
    if (has(dm, a)) res |= 1u << (a < axis ? a : a + is.rank - 1);
  for (int a = 0; a < is.rank; a++)
    if (has(im, a)) res |= 1u << (a + axis);
  return res;
}

/* Whether op concatenates [1, L_k, ...] blocks along axis 1 into a
 * sequence [1, L, ...], at least one block computed at run time: where a
 * model assembles its token sequence (projected image patches in front of
 * the text embeddings, a class token and the patches). */
static bool sequence_concat(MlirOperation op, int64_t *L) {
  if (!q_concat_is(op)) return false;
  qcc_shape r = shape(mlirOperationGetResult(op, 0));
  if (r.rank < 2 || r.dims[0] != 1 || norm_axis(q_concat_get(op).axis, r.rank) != 1) return false;
  bool runtime = false;
  for (intptr_t k = 0; k < mlirOperationGetNumOperands(op); k++) {
    MlirValue v = mlirOperationGetOperand(op, k);
    runtime |= !mlirValueIsAOpResult(v) || !q_constant_is(mlirOpResultGetOwner(v));
  }
  *L = r.dims[1];
  return runtime;
}

static axes_t concat(analysis *an, MlirOperation op) {
  int R = shape(mlirOperationGetResult(op, 0)).rank;
  int axis = norm_axis(q_concat_get(op).axis, R);
  axes_t out = 0;
  intptr_t n = mlirOperationGetNumOperands(op);
  for (intptr_t k = 0; k < n; k++) out |= axes_of(an, mlirOperationGetOperand(op, k));
  if (has(out, axis)) return fail(an, op, "concatenates along the token axis (the sequence would change length)"), 0;
  for (intptr_t k = 0; k < n; k++) broadcast_operand(an, op, (int)k, R, out);
  return out;
}

static axes_t slice(analysis *an, MlirOperation op) {
  q_slice_attrs s = q_slice_get(op);
  qcc_shape in = shape(mlirOperationGetOperand(op, 0)), out = shape(mlirOperationGetResult(op, 0));
  axes_t m = axes_of(an, mlirOperationGetOperand(op, 0));
  for (int a = 0; a < in.rank; a++)
    if (has(m, a) && (out.dims[a] != in.dims[a] || s.starts.v[a] != 0 || s.steps.v[a] != 1))
      return fail(an, op, "slices the token axis (it selects tokens by position)"), 0;
  return m;
}

/* Token axes of op's result, from its operands'; 0 for an op no token
 * reaches. */
static axes_t transfer(analysis *an, MlirOperation op) {
  axes_t any = 0;
  intptr_t n = mlirOperationGetNumOperands(op);
  for (intptr_t k = 0; k < n; k++)
    if (!mlirValueIsNull(mlirOperationGetOperand(op, k))) any |= axes_of(an, mlirOperationGetOperand(op, k));
  int64_t L;
  if (!any && sequence_concat(op, &L) && L == an->T) {
    an->sequences = realloc(an->sequences, (size_t)(an->n_sequences + 1) * sizeof *an->sequences);
    an->sequences[an->n_sequences++] = op;
    return 1u << 1;
  }
  if (!any) return 0;
  qcc_shape x = shape(mlirOperationGetOperand(op, 0));
  if (q_binary_is(op) || q_where_is(op) || q_broadcast_is(op)) return elementwise(an, op, 0, (int)n);
  if (q_unary_is(op) || q_cast_is(op)) return axes_of(an, mlirOperationGetOperand(op, 0));
  if (q_norm_is(op)) return elementwise(an, op, 0, (int)n);
  if (q_softmax_is(op)) return axes_of(an, q_softmax_in(op, 0));
  if (q_hadamard_is(op)) {
    if (has(any, x.rank - 1)) return fail(an, op, "mixes tokens (a Hadamard transform along the token axis)"), 0;
    return elementwise(an, op, 0, 1);
  }
  if (q_matmul_is(op)) return matmul(an, op);
  if (q_reshape_is(op)) return reshape(an, op);
  if (q_transpose_is(op)) return transpose(an, op);
  if (q_reduce_is(op)) return reduce(an, op);
  if (q_gather_is(op)) return gather(an, op);
  if (q_concat_is(op)) return concat(an, op);
  if (q_slice_is(op)) return slice(an, op);
  if (q_argreduce_is(op) && !has(any, norm_axis(q_argreduce_get(op).axis, x.rank))) {
    int axis = norm_axis(q_argreduce_get(op).axis, x.rank);
    bool keep = shape(mlirOperationGetResult(op, 0)).rank == x.rank;
    axes_t res = 0;
    for (int a = 0; a < x.rank; a++)
      if (has(any, a)) res |= 1u << (keep || a < axis ? a : a - 1);
    return res;
  }
  return fail(an, op, "reads token-indexed values and may depend on token order (AIFS has no rule for it)"), 0;
}

/* ---- the pass ---- */

static int input_index(MlirOperation func, const char *name, char *list, size_t cap) {
  MlirAttribute names = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("onnx.input_names"));
  int found = -1;
  size_t used = 0;
  list[0] = 0;
  for (intptr_t i = 0; !mlirAttributeIsNull(names) && i < mlirArrayAttrGetNumElements(names); i++) {
    MlirStringRef s = mlirStringAttrGetValue(mlirArrayAttrGetElement(names, i));
    if (strlen(name) == s.length && !memcmp(name, s.data, s.length)) found = (int)i;
    if (used < cap) used += (size_t)snprintf(list + used, cap - used, "%s%.*s", i ? ", " : "", (int)s.length, s.data);
  }
  return found;
}

/* The token axis of a graph input: 1 for [1, T, ...], 0 for [T]; -1 if
 * it is not indexed by tokens. */
static int token_axis(const qcc_shape *s, int64_t T) {
  if (s->rank == 1 && s->dims[0] == T) return 0;
  if (s->rank >= 2 && s->dims[0] == 1 && s->dims[1] == T) return 1;
  return -1;
}

static MlirValue gather_along(MlirOperation before, MlirValue v, MlirValue idx, int axis) {
  MlirLocation loc = mlirOperationGetLocation(before);
  q_gather_attrs g = {axis};
  return qcc_insert_before(before, q_gather_create(loc, mlirValueGetType(v), v, idx, &g));
}

static MlirValue gather_axes(MlirOperation before, MlirValue v, MlirValue idx, axes_t axes) {
  for (int a = 0; a < 32; a++)
    if (has(axes, a)) v = gather_along(before, v, idx, a);
  return v;
}

/* perm and its inverse, computed at run time from the modality input:
 * perm = a stable ascending sort of the modalities, inv[perm[i]] = i (a
 * scatter of 0..T-1 by perm: T stores, where a second sort cost a merge
 * sort's comparisons). */
static void runtime_permutation(MlirOperation first, MlirValue mod, int64_t T, MlirValue *perm, MlirValue *inv) {
  MlirContext ctx = mlirOperationGetContext(first);
  MlirLocation loc = mlirLocationNameGet(ctx, mlirStringRefCreateFromCString("aifs"), mlirLocationUnknownGet(ctx));
  qcc_shape ms = shape(mod), key = {ms.dtype, 1, {T}}, idx = {QRT_I64, 1, {T}};
  MlirValue k = mod;
  if (ms.rank != 1) k = qcc_insert_before(first, q_reshape_create(loc, qcc_tensor_type(ctx, &key), mod));
  q_topk_attrs ascending = {0, 0};
  *perm = qcc_insert_before(first, q_topk_create(loc, qcc_tensor_type(ctx, &idx), k, &ascending));
  size_t bytes = (size_t)T * sizeof(int64_t);
  qcc_array zeros = {QRT_I64, 1, {T}, calloc(1, bytes), bytes}, positions = {QRT_I64, 1, {T}, malloc(bytes), bytes};
  for (int64_t i = 0; i < T; i++) ((int64_t *)positions.data)[i] = i;
  q_scatter_elements_attrs put = {0, qcc_str("none")};
  *inv = qcc_insert_before(first, q_scatter_elements_create(loc, qcc_tensor_type(ctx, &idx), qcc_make_constant(first, loc, &zeros),
                                                            *perm, qcc_make_constant(first, loc, &positions), &put));
  qcc_array_free(&zeros);
  qcc_array_free(&positions);
}

/* Whether v is a constant causal mask along its token axes: the last two
 * axes (both T, every other dim 1) with element [a][b] equal to element
 * [0][0] for b <= a and to element [0][1] for b > a (bytes compared, so
 * any element type; copies of the two values into v0 / v1). */
static bool causal_constant(MlirValue v, axes_t axes, int64_t T, uint64_t *v0, uint64_t *v1) {
  qcc_array a;
  bool borrowed = false, ok;
  qcc_shape s = shape(v);
  if (s.rank < 2 || T < 2 || axes != (3u << (s.rank - 2)) || s.dims[s.rank - 2] != T || s.dims[s.rank - 1] != T ||
      !qcc_value_constant_borrow(v, &a, &borrowed))
    return false;
  size_t es = qcc_dtype_size(a.dtype);
  const unsigned char *d = (const unsigned char *)a.data;
  ok = es >= 1 && es <= sizeof *v0 && a.nbytes == (size_t)(T * T) * es;
  for (int64_t i = 0; ok && i < T; i++)
    for (int64_t j = 0; ok && j < T; j++) ok = !memcmp(d + (size_t)(i * T + j) * es, d + (j <= i ? 0 : es), es);
  if (ok) {
    *v0 = *v1 = 0;
    memcpy(v0, d, es);
    memcpy(v1, d + es, es);
  }
  if (!borrowed) qcc_array_free(&a);
  return ok;
}

/* The causal mask M indexed by original positions, permuted along both
 * token axes: M'[i][j] = M[perm[i]][perm[j]] is v0 exactly where
 * perm[j] <= perm[i] (token i sees j iff orig(j) <= orig(i)), so it is
 * built as where(perm[1, T] <= perm[T, 1], v0, v1): one compare and one
 * select per element, both vector loops, where the two gathers moved T
 * rows and then T * T single elements. */
static MlirValue permuted_causal_mask(MlirOperation before, MlirValue mask, MlirValue perm, int64_t T, uint64_t v0,
                                      uint64_t v1) {
  MlirContext ctx = mlirOperationGetContext(before);
  MlirLocation loc = mlirOperationGetLocation(before);
  qcc_shape ms = shape(mask), col = {QRT_I64, 2, {T, 1}}, row = {QRT_I64, 2, {1, T}}, cond = {QRT_BOOL, 2, {T, T}};
  MlirValue pc = qcc_insert_before(before, q_reshape_create(loc, qcc_tensor_type(ctx, &col), perm));
  MlirValue pr = qcc_insert_before(before, q_reshape_create(loc, qcc_tensor_type(ctx, &row), perm));
  q_binary_attrs le;
  memset(&le, 0, sizeof le);
  snprintf(le.kind.s, sizeof le.kind.s, "less_equal");
  MlirValue c = qcc_insert_before(before, q_binary_create(loc, qcc_tensor_type(ctx, &cond), pr, pc, &le));
  size_t es = qcc_dtype_size(ms.dtype);
  qcc_array a = {ms.dtype, 0, {0}, &v0, es}, b = {ms.dtype, 0, {0}, &v1, es};
  MlirValue va = qcc_make_constant(before, loc, &a), vb = qcc_make_constant(before, loc, &b);
  return qcc_insert_before(before, q_where_create(loc, mlirValueGetType(mask), c, va, vb));
}

/* The stable partition of a fixed layout, as constants: the blocks in the
 * order their modalities first appear (text first when the sequence starts
 * with text), so a layout whose modalities are already contiguous (an image
 * prefix, then text) keeps its order and needs no gather. Returns whether
 * the permutation is the identity (then no constants are made). */
static bool static_permutation(MlirOperation first, int64_t T, MlirValue *perm, MlirValue *inv, int64_t *counts) {
  MlirContext ctx = mlirOperationGetContext(first);
  MlirLocation loc = mlirLocationNameGet(ctx, mlirStringRefCreateFromCString("aifs"), mlirLocationUnknownGet(ctx));
  int *mod = calloc((size_t)T, sizeof *mod);
  for (int r = 0; r < qcc_aifs_opts.n_ranges; r++)
    for (int64_t t = qcc_aifs_opts.ranges[r].start; t < qcc_aifs_opts.ranges[r].end; t++) mod[t] = qcc_aifs_opts.ranges[r].modality;
  int order[QCC_AIFS_MAX_MODALITIES + 1], n_order = 0;
  bool seen[QCC_AIFS_MAX_MODALITIES + 1] = {false};
  for (int64_t t = 0; t < T; t++)
    if (!seen[mod[t]]) seen[mod[t]] = true, order[n_order++] = mod[t];
  size_t bytes = (size_t)T * sizeof(int64_t);
  qcc_array p = {QRT_I64, 1, {T}, malloc(bytes), bytes}, q = {QRT_I64, 1, {T}, malloc(bytes), bytes};
  int64_t n = 0;
  for (int m = 0; m <= qcc_aifs_opts.n_names; m++) counts[m] = 0;
  for (int k = 0; k < n_order; k++)
    for (int64_t t = 0; t < T; t++)
      if (mod[t] == order[k]) ((int64_t *)p.data)[n++] = t, counts[order[k]]++;
  bool identity = true;
  for (int64_t i = 0; i < T; i++) {
    ((int64_t *)q.data)[((int64_t *)p.data)[i]] = i;
    identity &= ((int64_t *)p.data)[i] == i;
  }
  /* The modality of each reordered row, for MSQ (qcc.aifs_modalities). */
  int64_t *sorted = malloc((size_t)T * sizeof *sorted);
  for (int64_t i = 0; i < T; i++) sorted[i] = mod[((int64_t *)p.data)[i]];
  MlirOperation func = mlirBlockGetParentOperation(mlirOperationGetBlock(first));
  mlirOperationSetAttributeByName(func, mlirStringRefCreateFromCString("qcc.aifs_modalities"),
                                  mlirDenseI64ArrayGet(ctx, T, sorted));
  free(sorted);
  if (!identity) {
    *perm = qcc_make_constant(first, loc, &p);
    *inv = qcc_make_constant(first, loc, &q);
  }
  qcc_array_free(&p);
  qcc_array_free(&q);
  free(mod);
  return identity;
}

static void set_description(MlirOperation func, const char *text) {
  MlirContext ctx = mlirOperationGetContext(func);
  mlirOperationSetAttributeByName(func, mlirStringRefCreateFromCString("qcc.aifs"),
                                  mlirStringAttrGet(ctx, mlirStringRefCreateFromCString(text)));
}

int qcc_pass_reorder_tokens(MlirModule m) {
  if (!qcc_aifs_enabled()) return 0;
  MlirOperation func = qcc_module_func(m);
  MlirBlock body = qcc_func_body(func);
  int n_args = (int)mlirBlockGetNumArguments(body);
  char list[512];
  int64_t T = -1;
  int mod_arg = -1;
  if (qcc_aifs_opts.input) {
    mod_arg = input_index(func, qcc_aifs_opts.input, list, sizeof list);
    if (mod_arg < 0) return qcc_error("--aifs: '%s' is not a graph input (inputs: %s)", qcc_aifs_opts.input, list), -1;
    qcc_shape s = shape(mlirBlockGetArgument(body, mod_arg));
    char buf[64];
    /* [T], or [1, T] with trailing ones ([1, T, 1]: a mask that multiplies
     * the embeddings directly) */
    bool per_token = s.rank == 1 || (s.rank >= 2 && s.dims[0] == 1);
    for (int a = 2; a < s.rank; a++) per_token &= s.dims[a] == 1;
    if (!per_token || s.dims[s.rank == 1 ? 0 : 1] < 1)
      return qcc_error("--aifs: input '%s' is %s; expected one modality per token, shaped [T], [1, T] or [1, T, 1]",
                       qcc_aifs_opts.input, qcc_shape_str(&s, buf, sizeof buf)), -1;
    T = s.dims[s.rank == 1 ? 0 : 1];
  } else {
    /* The sequence: the longest one a concatenation along the token axis
     * assembles, else the first input shaped [1, T, ...]. */
    for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op)) {
      int64_t L;
      if (sequence_concat(op, &L) && L > T) T = L;
    }
    for (int i = 0; i < n_args && T < 0; i++) {
      qcc_shape s = shape(mlirBlockGetArgument(body, i));
      if (s.rank >= 2 && s.dims[0] == 1) T = s.dims[1];
    }
    if (T < 0)
      return qcc_error("--aifs-static: no graph input is shaped [1, T, ...] and no concatenation along axis 1 builds a "
                       "sequence, so the sequence length is unknown"), -1;
    for (int r = 0; r < qcc_aifs_opts.n_ranges; r++)
      if (qcc_aifs_opts.ranges[r].end > T)
        return qcc_error("--aifs-static: range %lld:%lld of '%s' runs past the sequence length %lld",
                         (long long)qcc_aifs_opts.ranges[r].start, (long long)qcc_aifs_opts.ranges[r].end,
                         qcc_aifs_opts.names[qcc_aifs_opts.ranges[r].modality - 1], (long long)T), -1;
  }

  analysis an = {.T = T};
  int n_seeds = 0;
  for (int i = 0; i < n_args; i++) {
    qcc_shape s = shape(mlirBlockGetArgument(body, i));
    int a = token_axis(&s, T);
    if (a >= 0) set_axes(&an, mlirBlockGetArgument(body, i), 1u << a), n_seeds++;
  }
  MlirOperation ret = {NULL};
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op) && !an.failed;
       op = mlirOperationGetNextInBlock(op)) {
    if (mlirOperationGetNumResults(op) == 0) {
      ret = op;
      continue;
    }
    if (q_constant_is(op)) continue;
    axes_t out = transfer(&an, op);
    if (!an.failed && mlirOperationGetNumResults(op) > 1 && out)
      fail(&an, op, "has several results; AIFS follows single-result ops only");
    if (!an.failed) set_axes(&an, mlirOperationGetResult(op, 0), out);
  }
  int rc = an.failed ? -1 : 0;
  int n_outputs_back = 0;
  if (!rc) {
    MlirOperation first = mlirBlockGetFirstOperation(body);
    MlirValue perm = {NULL}, inv = {NULL};
    int64_t counts[QCC_AIFS_MAX_MODALITIES + 1] = {0};
    bool identity = false;
    /* The modality values: the input itself when the sort and MSQ's
     * kernels read its type (float32/64, int8/32/64, uint8), else a float32
     * copy (a bool is_image mask as 0 / 1, int16, float16, ...). */
    MlirValue modality = mod_arg >= 0 ? mlirBlockGetArgument(body, mod_arg) : (MlirValue){NULL};
    const qrt_dtype mt = mod_arg >= 0 ? shape(modality).dtype : QRT_F32;
    const bool cast_modality = !(mt == QRT_F32 || mt == QRT_F64 || mt == QRT_I8 || mt == QRT_U8 || mt == QRT_I32 ||
                                 mt == QRT_I64);
    if (cast_modality) {
      qcc_shape f = shape(modality);
      f.dtype = QRT_F32;
      modality = qcc_insert_before(first, q_cast_create(mlirOperationGetLocation(first),
                                                        qcc_tensor_type(mlirOperationGetContext(func), &f), modality));
    }
    if (qcc_aifs_opts.input) runtime_permutation(first, modality, T, &perm, &inv);
    else identity = static_permutation(first, T, &perm, &inv, counts);
    /* identity: each modality is one block already, in place; nothing
     * below moves (no gathers, no requests served, no outputs restored) */
    /* Token-indexed inputs: gathered by perm right after the permutation,
     * the modality input first (MSQ's calibration reads it before any
     * layer input). */
    for (int k = -1; k < n_args && !identity; k++) {
      int i = k < 0 ? mod_arg : k;
      if (i < 0 || (k >= 0 && i == mod_arg && !cast_modality)) continue;
      MlirValue x = k < 0 ? modality : mlirBlockGetArgument(body, i);
      axes_t a = axes_of(&an, mlirBlockGetArgument(body, i));
      if (!a) continue;
      MlirValue g = gather_axes(first, x, perm, a);
      /* The reordered modalities: what MSQ reads to pick each row's scales. */
      if (k < 0)
        mlirOperationSetAttributeByName(mlirOpResultGetOwner(g), mlirStringRefCreateFromCString("qcc.modality"),
                                        mlirUnitAttrGet(mlirOperationGetContext(func)));
      /* Every reader of x but the permutation itself and the new gather. */
      MlirOpOperand u = mlirValueGetFirstUse(x);
      while (!mlirOpOperandIsNull(u)) {
        MlirOpOperand next = mlirOpOperandGetNextUse(u);
        MlirOperation user = mlirOpOperandGetOwner(u);
        bool ours = false;
        for (MlirOperation o = mlirBlockGetFirstOperation(body); !mlirOperationEqual(o, first); o = mlirOperationGetNextInBlock(o))
          ours |= mlirOperationEqual(o, user);
        if (!ours) mlirOperationSetOperand(user, mlirOpOperandGetOperandNumber(u), g);
        u = next;
      }
    }
    /* Sequences assembled in the graph: gathered right after their
     * concatenation, which every other reader then reads through. */
    for (int k = 0; k < an.n_sequences && !identity; k++) {
      MlirValue x = mlirOperationGetResult(an.sequences[k], 0);
      MlirValue g = gather_along(mlirOperationGetNextInBlock(an.sequences[k]), x, perm, 1);
      mlirValueReplaceAllUsesOfWith(x, g);
      mlirOperationSetOperand(mlirOpResultGetOwner(g), 0, x);
    }
    /* Operands indexed by original position: gathered once per value and axes. */
    typedef struct { MlirValue from, to; axes_t axes; } done_t;
    done_t *done = calloc((size_t)an.n_reqs + 1, sizeof *done);
    int n_done = 0;
    for (int r = 0; r < an.n_reqs && !identity; r++) {
      MlirValue v = mlirOperationGetOperand(an.reqs[r].op, an.reqs[r].operand), g = {NULL};
      for (int k = 0; k < n_done; k++)
        if (mlirValueEqual(done[k].from, v) && done[k].axes == an.reqs[r].axes) g = done[k].to;
      uint64_t v0, v1;
      if (mlirValueIsNull(g)) {
        /* with a run-time permutation (a static one folds the gathers) */
        if (qcc_aifs_opts.input && causal_constant(v, an.reqs[r].axes, T, &v0, &v1))
          g = permuted_causal_mask(an.reqs[r].op, v, perm, T, v0, v1);
        else
          g = gather_axes(an.reqs[r].op, v, perm, an.reqs[r].axes);
        done[n_done++] = (done_t){v, g, an.reqs[r].axes};
      }
      mlirOperationSetOperand(an.reqs[r].op, an.reqs[r].operand, g);
    }
    free(done);
    /* Outputs: back to the original order. */
    for (intptr_t k = 0; !identity && !mlirOperationIsNull(ret) && k < mlirOperationGetNumOperands(ret); k++) {
      MlirValue y = mlirOperationGetOperand(ret, k);
      axes_t a = axes_of(&an, y);
      if (!a) continue;
      mlirOperationSetOperand(ret, k, gather_axes(ret, y, inv, a));
      n_outputs_back++;
    }
    char text[400];
    if (qcc_aifs_opts.input) {
      snprintf(text, sizeof text,
               "tokens reordered by modality input '%s' (T = %lld, run-time stable partition): %d inputs and %d "
               "assembled sequences gathered, %d position-indexed operands permuted, %d outputs restored",
               qcc_aifs_opts.input, (long long)T, n_seeds, an.n_sequences, an.n_reqs, n_outputs_back);
    } else {
      int n = snprintf(text, sizeof text, "tokens reordered by a static layout (T = %lld): text %lld", (long long)T,
                       (long long)counts[0]);
      for (int k = 0; k < qcc_aifs_opts.n_names && n < (int)sizeof text; k++)
        n += snprintf(text + n, sizeof text - (size_t)n, ", %s %lld", qcc_aifs_opts.names[k], (long long)counts[k + 1]);
      if (n < (int)sizeof text && identity)
        snprintf(text + n, sizeof text - (size_t)n, "; each modality is one block already: nothing reordered");
      else if (n < (int)sizeof text)
        snprintf(text + n, sizeof text - (size_t)n,
                 "; %d inputs and %d assembled sequences gathered, %d position-indexed operands permuted, %d outputs restored",
                 n_seeds, an.n_sequences, an.n_reqs, n_outputs_back);
    }
    set_description(func, text);
    qcc_remark("aifs: %s", text);
    if (!qcc_aifs_opts.input) rc = qcc_pass_fold_constants(m);
  }
  free(an.vals);
  free(an.reqs);
  free(an.sequences);
  return rc;
}
