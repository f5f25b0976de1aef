/* onnx_rules_einsum.c - Einsum (opset 12) as transposes, reshapes,
 * reductions and batched products:
 *
 *  1. per operand, a repeated letter takes the diagonal (the two dims made
 *     adjacent, merged, and sliced with step n + 1);
 *  2. letters no other operand and not the output use are summed out;
 *  3. operands are contracted left to right: each pair is transposed to
 *     [batch, left, contracted] x [batch, contracted, right], flattened to
 *     [Bt, M, K] x [Bt, K, N] and multiplied (q.matmul for float32/int32,
 *     else a broadcast multiply and a sum over K), then unflattened;
 *  4. the remaining letters are summed or transposed into output order.
 * Ellipses name the same right-aligned broadcast dims in every operand;
 * without "->" the output is the ellipsis dims then the letters used once,
 * in alphabetical order (numpy's rule). */
#include <ctype.h>
#include <string.h>

#include "onnx_rules.h"

#define MAX_LETTERS 64 /* 52 letters, then the ellipsis dims */
#define ELL_BASE 52

typedef struct term {
  int n;
  int l[QRT_MAX_RANK];
} term;

typedef struct operand {
  MlirValue v;
  qcc_shape s;
  term t;
} operand;

static int letter_id(char c) { return c >= 'a' && c <= 'z' ? c - 'a' : c >= 'A' && c <= 'Z' ? 26 + c - 'A' : -1; }

/* Parses one subscript string (spaces removed) into t, with `ell` ellipsis
 * dims right-aligned among max_ell. */
static bool parse_term(onnx_node *n, const char *s, int rank, int max_ell, term *t, int *ell_out, bool count_only) {
  int letters = 0, ell = -1;
  for (const char *p = s; *p; p++) {
    if (*p == '.') {
      if (strncmp(p, "...", 3) || ell >= 0) return onnx_fail(n, "malformed ellipsis in '%s'", s), false;
      ell = letters;
      p += 2;
    } else if (letter_id(*p) >= 0) {
      letters++;
    } else {
      return onnx_fail(n, "invalid character '%c' in the equation", *p), false;
    }
  }
  int n_ell = ell >= 0 ? rank - letters : 0;
  if (n_ell < 0 || (ell < 0 && rank >= 0 && letters != rank))
    return onnx_fail(n, "subscripts '%s' do not match rank %d", s, rank), false;
  *ell_out = ell >= 0 ? n_ell : -1;
  if (count_only) return true;
  t->n = 0;
  for (const char *p = s; *p; p++) {
    if (*p == '.') {
      for (int k = 0; k < n_ell; k++) t->l[t->n++] = ELL_BASE + max_ell - n_ell + k;
      p += 2;
    } else {
      t->l[t->n++] = letter_id(*p);
    }
  }
  return true;
}

static int pos_of(const term *t, int l) {
  for (int i = 0; i < t->n; i++)
    if (t->l[i] == l) return i;
  return -1;
}

static MlirValue transpose(onnx_node *n, MlirValue v, qcc_shape *s, const int *perm) {
  q_transpose_attrs a;
  qcc_shape y = *s;
  bool identity = true;
  for (int i = 0; i < s->rank; i++) identity &= perm[i] == i;
  if (identity) return v;
  a.perm.n = s->rank;
  for (int i = 0; i < s->rank; i++) {
    a.perm.v[i] = perm[i];
    y.dims[i] = s->dims[perm[i]];
  }
  *s = y;
  return onnx_emit(n, q_transpose_create(n->loc, onnx_type(n, &y), v, &a));
}

/* Reorders op's dims to the letter order `want` (a permutation of its term). */
static void reorder(onnx_node *n, operand *op, const term *want) {
  int perm[QRT_MAX_RANK];
  bool identity = true;
  for (int i = 0; i < want->n; i++) {
    perm[i] = pos_of(&op->t, want->l[i]);
    identity &= perm[i] == i;
  }
  if (!identity) op->v = transpose(n, op->v, &op->s, perm);
  op->t = *want;
}

/* Sums op over the letters in `drop`. */
static void sum_out(onnx_node *n, operand *op, const bool *drop) {
  q_i64s axes;
  memset(&axes, 0, sizeof axes);
  qcc_shape y = {op->s.dtype, 0, {0}};
  term t = {0, {0}};
  for (int i = 0; i < op->t.n; i++) {
    if (drop[op->t.l[i]]) {
      axes.v[axes.n++] = i;
    } else {
      y.dims[y.rank++] = op->s.dims[i];
      t.l[t.n++] = op->t.l[i];
    }
  }
  if (!axes.n) return;
  op->v = onnx_reduce(n, "sum", op->v, &axes, &y);
  op->s = y;
  op->t = t;
}

/* Step 1: the diagonal of every repeated letter. */
static void take_diagonals(onnx_node *n, operand *op) {
  for (;;) {
    int p = -1, q = -1;
    for (int i = 0; i < op->t.n && p < 0; i++)
      for (int j = i + 1; j < op->t.n; j++)
        if (op->t.l[i] == op->t.l[j]) {
          p = i, q = j;
          break;
        }
    if (p < 0) return;
    /* move q right after p, merge the pair, slice with step d + 1 */
    int perm[QRT_MAX_RANK], k = 0;
    for (int i = 0; i < op->t.n; i++) {
      if (i == q) continue;
      perm[k++] = i;
      if (i == p) perm[k++] = q;
    }
    term t = op->t;
    for (int i = 0; i < op->t.n; i++) t.l[i] = op->t.l[perm[i]];
    op->v = transpose(n, op->v, &op->s, perm);
    int64_t d = op->s.dims[p];
    qcc_shape m = op->s;
    m.dims[p] = d * d;
    memmove(m.dims + p + 1, m.dims + p + 2, sizeof(int64_t) * (size_t)(m.rank - p - 2));
    m.rank--;
    op->v = onnx_reshape(n, op->v, &m);
    q_slice_attrs sa;
    sa.starts.n = sa.steps.n = m.rank;
    for (int i = 0; i < m.rank; i++) {
      sa.starts.v[i] = 0;
      sa.steps.v[i] = i == p ? d + 1 : 1;
    }
    qcc_shape y = m;
    y.dims[p] = d;
    op->v = onnx_emit(n, q_slice_create(n->loc, onnx_type(n, &y), op->v, &sa));
    op->s = y;
    memmove(t.l + p + 1, t.l + p + 2, sizeof(int) * (size_t)(t.n - p - 2));
    t.n--;
    op->t = t;
  }
}

/* Broadcasts op's size-1 dims to the letter sizes. */
static void broadcast_to_sizes(onnx_node *n, operand *op, const int64_t *size) {
  qcc_shape y = op->s;
  bool need = false;
  for (int i = 0; i < op->t.n; i++) {
    y.dims[i] = size[op->t.l[i]];
    need |= y.dims[i] != op->s.dims[i];
  }
  if (!need) return;
  op->v = onnx_emit(n, q_broadcast_create(n->loc, onnx_type(n, &y), op->v));
  op->s = y;
}

/* Step 3: a x b over their shared letters: those in `keep` (needed later
 * or in the output) stay as batch dims, the others are contracted. */
static int contract(onnx_node *n, operand *a, operand *b, const bool *keep, const int64_t *size, operand *out) {
  term batch = {0, {0}}, left = {0, {0}}, right = {0, {0}}, con = {0, {0}};
  for (int i = 0; i < a->t.n; i++) {
    int l = a->t.l[i];
    term *group = pos_of(&b->t, l) < 0 ? &left : keep[l] ? &batch : &con;
    group->l[group->n++] = l;
  }
  for (int i = 0; i < b->t.n; i++)
    if (pos_of(&a->t, b->t.l[i]) < 0) right.l[right.n++] = b->t.l[i];
  broadcast_to_sizes(n, a, size);
  broadcast_to_sizes(n, b, size);
  term ta = batch, tb = batch;
  int64_t Bt = 1, M = 1, K = 1, N = 1;
  for (int i = 0; i < batch.n; i++) Bt *= size[batch.l[i]];
  for (int i = 0; i < left.n; i++) ta.l[ta.n++] = left.l[i], M *= size[left.l[i]];
  for (int i = 0; i < con.n; i++) ta.l[ta.n++] = con.l[i], tb.l[tb.n++] = con.l[i], K *= size[con.l[i]];
  for (int i = 0; i < right.n; i++) tb.l[tb.n++] = right.l[i], N *= size[right.l[i]];
  reorder(n, a, &ta);
  reorder(n, b, &tb);
  qrt_dtype dt = a->s.dtype;
  qcc_shape y = {dt, 3, {Bt, M, N}};
  MlirValue prod;
  if (dt == QRT_F32 || dt == QRT_I32) {
    qcc_shape as = {dt, 3, {Bt, M, K}}, bs = {dt, 3, {Bt, K, N}};
    /* the batch dims stay as they are (q.matmul takes any number): attention
     * written as einsum ("bhqd,bhkd->bhqk", "bhqk,bhkd->bhqd") is then the
     * same matmul on the same [b, h, t, d] values as attention written with
     * matmuls, which the passes recognise (head-wise rotation needs K^T as
     * a transpose and P as a softmax, not reshapes of them) */
    if (batch.n > 1 && batch.n + 2 <= QRT_MAX_RANK) {
      as.rank = bs.rank = y.rank = batch.n + 2;
      for (int i = 0; i < batch.n; i++) as.dims[i] = bs.dims[i] = y.dims[i] = size[batch.l[i]];
      as.dims[batch.n] = y.dims[batch.n] = M, as.dims[batch.n + 1] = bs.dims[batch.n] = K;
      bs.dims[batch.n + 1] = y.dims[batch.n + 1] = N;
    }
    MlirValue none = {NULL};
    prod = onnx_emit(n, q_matmul_create(n->loc, onnx_type(n, &y), onnx_reshape(n, a->v, &as), onnx_reshape(n, b->v, &bs), none, none));
  } else {
    qcc_shape as = {dt, 4, {Bt, M, K, 1}}, bs = {dt, 4, {Bt, 1, K, N}}, ps = {dt, 4, {Bt, M, K, N}};
    MlirValue p = onnx_binary(n, "mul", onnx_reshape(n, a->v, &as), onnx_reshape(n, b->v, &bs), &ps);
    q_i64s ax = {1, {2}};
    prod = onnx_reduce(n, "sum", p, &ax, &y);
  }
  term t = batch;
  qcc_shape s = {dt, 0, {0}};
  for (int i = 0; i < left.n; i++) t.l[t.n++] = left.l[i];
  for (int i = 0; i < right.n; i++) t.l[t.n++] = right.l[i];
  if (t.n > QRT_MAX_RANK) return onnx_fail(n, "an intermediate result has rank > %d", QRT_MAX_RANK);
  for (int i = 0; i < t.n; i++) s.dims[s.rank++] = size[t.l[i]];
  out->v = onnx_reshape(n, prod, &s);
  out->s = s;
  out->t = t;
  return 0;
}

static int rule_einsum(onnx_node *n, MlirValue *res) {
  char eq[512], clean[512];
  onnx_attr_str(n, "equation", "", eq, sizeof eq);
  size_t k = 0;
  for (const char *p = eq; *p && k + 1 < sizeof clean; p++)
    if (!isspace((unsigned char)*p)) clean[k++] = *p;
  clean[k] = 0;
  char *arrow = strstr(clean, "->");
  char *out_str = arrow ? arrow + 2 : NULL;
  if (arrow) *arrow = 0;
  if (n->n_in < 1 || n->n_in > 16) return onnx_fail(n, "1 to 16 inputs are supported");
  char *subs[16];
  int n_subs = 0;
  for (char *p = clean;; p++) {
    subs[n_subs++] = p;
    p = strchr(p, ',');
    if (!p || n_subs == 16) break;
    *p = 0;
  }
  if (n_subs != n->n_in) return onnx_fail(n, "the equation names %d operands, the node has %d", n_subs, n->n_in);
  operand ops[16];
  int max_ell = 0, ell;
  for (int i = 0; i < n->n_in; i++) {
    if (!onnx_in_shape(n, i, &ops[i].s)) return -1;
    if (!parse_term(n, subs[i], ops[i].s.rank, 0, &ops[i].t, &ell, true)) return -1;
    if (ell > max_ell) max_ell = ell;
    if (i && ops[i].s.dtype != ops[0].s.dtype) return onnx_fail(n, "operand types differ");
  }
  qrt_dtype dt = ops[0].s.dtype;
  if (dt != QRT_F32 && dt != QRT_F64 && dt != QRT_I32 && dt != QRT_I64)
    return onnx_fail(n, "element type %s is not supported", qcc_dtype_name(dt));
  int64_t size[MAX_LETTERS];
  int uses[MAX_LETTERS] = {0};
  for (int l = 0; l < MAX_LETTERS; l++) size[l] = -1;
  for (int i = 0; i < n->n_in; i++) {
    ops[i].v = onnx_in(n, i);
    parse_term(n, subs[i], ops[i].s.rank, max_ell, &ops[i].t, &ell, false);
    for (int d = 0; d < ops[i].t.n; d++) {
      int l = ops[i].t.l[d];
      int64_t dim = ops[i].s.dims[d];
      uses[l]++;
      if (size[l] < 0 || size[l] == 1) size[l] = dim;
      else if (dim != size[l] && !(l >= ELL_BASE && dim == 1))
        return onnx_fail(n, "dimension %lld of subscript '%c' differs from %lld", (long long)dim,
                         l < 26 ? 'a' + l : l < ELL_BASE ? 'A' + l - 26 : '.', (long long)size[l]);
    }
  }
  /* output term */
  term ot = {0, {0}};
  bool in_out[MAX_LETTERS] = {false};
  if (out_str) {
    /* the output's ellipsis, if any, stands for all max_ell dims */
    bool had_ell = false;
    for (const char *p = out_str; *p; p++) {
      if (*p == '.') {
        if (strncmp(p, "...", 3) || had_ell) return onnx_fail(n, "malformed ellipsis in the output");
        had_ell = true;
        for (int e = 0; e < max_ell; e++) ot.l[ot.n++] = ELL_BASE + e;
        p += 2;
      } else {
        int l = letter_id(*p);
        if (l < 0) return onnx_fail(n, "invalid character '%c' in the equation", *p);
        if (size[l] < 0) return onnx_fail(n, "output subscript '%c' is not in any input", *p);
        if (in_out[l]) return onnx_fail(n, "output subscript '%c' repeats", *p);
        in_out[l] = true;
        ot.l[ot.n++] = l;
      }
      if (ot.n > QRT_MAX_RANK) return onnx_fail(n, "output rank too large");
    }
  } else {
    for (int e = 0; e < max_ell; e++) ot.l[ot.n++] = ELL_BASE + e;
    for (int l = 0; l < ELL_BASE; l++)
      if (uses[l] == 1 && ot.n < QRT_MAX_RANK) ot.l[ot.n++] = l;
  }
  for (int i = 0; i < ot.n; i++) in_out[ot.l[i]] = true;
  /* 1 and 2 */
  for (int i = 0; i < n->n_in; i++) {
    take_diagonals(n, &ops[i]);
    bool drop[MAX_LETTERS] = {false};
    for (int d = 0; d < ops[i].t.n; d++) {
      int l = ops[i].t.l[d];
      bool elsewhere = in_out[l];
      for (int j = 0; j < n->n_in && !elsewhere; j++)
        if (j != i && pos_of(&ops[j].t, l) >= 0) elsewhere = true;
      drop[l] = !elsewhere;
    }
    sum_out(n, &ops[i], drop);
  }
  /* 3 */
  operand acc = ops[0];
  for (int i = 1; i < n->n_in; i++) {
    bool keep[MAX_LETTERS] = {false};
    for (int l = 0; l < MAX_LETTERS; l++) keep[l] = in_out[l];
    for (int j = i + 1; j < n->n_in; j++)
      for (int d = 0; d < ops[j].t.n; d++) keep[ops[j].t.l[d]] = true;
    /* letters only one side has and nobody needs later are summed first */
    bool drop_a[MAX_LETTERS] = {false}, drop_b[MAX_LETTERS] = {false};
    for (int d = 0; d < acc.t.n; d++) drop_a[acc.t.l[d]] = !keep[acc.t.l[d]] && pos_of(&ops[i].t, acc.t.l[d]) < 0;
    for (int d = 0; d < ops[i].t.n; d++) drop_b[ops[i].t.l[d]] = !keep[ops[i].t.l[d]] && pos_of(&acc.t, ops[i].t.l[d]) < 0;
    sum_out(n, &acc, drop_a);
    sum_out(n, &ops[i], drop_b);
    operand r;
    if (contract(n, &acc, &ops[i], keep, size, &r)) return -1;
    acc = r;
  }
  /* 4 */
  bool drop[MAX_LETTERS] = {false};
  for (int d = 0; d < acc.t.n; d++) drop[acc.t.l[d]] = !in_out[acc.t.l[d]];
  sum_out(n, &acc, drop);
  broadcast_to_sizes(n, &acc, size);
  reorder(n, &acc, &ot);
  res[0] = acc.v;
  return 0;
}

const onnx_rule onnx_rules_einsum[] = {
    {"Einsum", rule_einsum},
    {NULL, NULL},
};
