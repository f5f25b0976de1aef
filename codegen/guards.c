/* guards.c - see guards.h.
 *
 * One backward walk over the block. Each op's guard is the intersection of
 * what its uses require: func.return requires nothing (always run); operand
 * 1 / 2 of an if-select requires the select's guard plus (cond, true /
 * false); any other use requires its user's guard. If the intersection is
 * false, every use's requirement is false, so skipping the op changes
 * nothing anyone reads. A guard also "uses" its conditions: the op testing
 * literal k needs cond k computed whenever literals 0..k-1 hold, which is
 * pushed to cond k's producer as a requirement like any other. Literals
 * whose condition is defined after the op are dropped (a weaker guard is
 * always safe: the op runs more often). */
#include "guards.h"

#include <stdlib.h>
#include <string.h>

#include "name_map.h"

struct qcc_guards {
  int n;
  qcc_ptr_map index; /* op.ptr -> position + 1 */
  qcc_guard *guard;  /* final guards, by position */
  qcc_guard *acc;    /* requirements pushed so far (intersection) */
  bool *pushed;
};

bool qcc_is_if_select(MlirOperation op) {
  return q_where_is(op) &&
         !mlirAttributeIsNull(mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("qcc.if_select")));
}

bool qcc_guard_equal(const qcc_guard *a, const qcc_guard *b) {
  if (a->n != b->n) return false;
  for (int i = 0; i < a->n; i++)
    if (!mlirValueEqual(a->cond[i], b->cond[i]) || a->side[i] != b->side[i]) return false;
  return true;
}

static int position(const qcc_guards *g, MlirOperation op) {
  return (int)(intptr_t)qcc_ptr_map_get(&g->index, op.ptr) - 1;
}

/* Position of v's producer; -1 for block arguments. */
static int def_position(const qcc_guards *g, MlirValue v) {
  return mlirValueIsAOpResult(v) ? position(g, mlirOpResultGetOwner(v)) : -1;
}

static bool has(const qcc_guard *a, MlirValue c, bool side) {
  for (int i = 0; i < a->n; i++)
    if (mlirValueEqual(a->cond[i], c) && a->side[i] == side) return true;
  return false;
}

/* Pushes requirement r onto the producer of v (if an op of the block). */
static void push(qcc_guards *g, MlirValue v, const qcc_guard *r) {
  int p = def_position(g, v);
  if (p < 0) return;
  qcc_guard *a = &g->acc[p];
  if (!g->pushed[p]) {
    *a = *r;
    g->pushed[p] = true;
    return;
  }
  qcc_guard both = {0, {{NULL}}, {false}};
  for (int i = 0; i < a->n; i++)
    if (has(r, a->cond[i], a->side[i])) {
      both.cond[both.n] = a->cond[i];
      both.side[both.n++] = a->side[i];
    }
  *a = both;
}

/* Keeps the literals whose condition is defined before position p, in the
 * order of those definitions. */
static void finish(const qcc_guards *g, const qcc_guard *in, int p, qcc_guard *out) {
  out->n = 0;
  for (int i = 0; i < in->n; i++)
    if (def_position(g, in->cond[i]) < p) {
      out->cond[out->n] = in->cond[i];
      out->side[out->n++] = in->side[i];
    }
  for (int i = 1; i < out->n; i++) /* insertion sort: a handful of literals */
    for (int j = i; j > 0 && def_position(g, out->cond[j - 1]) > def_position(g, out->cond[j]); j--) {
      MlirValue c = out->cond[j];
      bool s = out->side[j];
      out->cond[j] = out->cond[j - 1];
      out->side[j] = out->side[j - 1];
      out->cond[j - 1] = c;
      out->side[j - 1] = s;
    }
}

/* A loop body's ops run under their loop's guard, so the outer values
 * they read must be computed then too. */
static void push_nested(qcc_guards *g, MlirOperation op, const qcc_guard *r) {
  for (intptr_t k = 0; k < mlirOperationGetNumRegions(op); k++)
    for (MlirBlock b = mlirRegionGetFirstBlock(mlirOperationGetRegion(op, k)); !mlirBlockIsNull(b);
         b = mlirBlockGetNextInRegion(b))
      for (MlirOperation o = mlirBlockGetFirstOperation(b); !mlirOperationIsNull(o); o = mlirOperationGetNextInBlock(o)) {
        for (intptr_t i = 0; i < mlirOperationGetNumOperands(o); i++) push(g, mlirOperationGetOperand(o, i), r);
        push_nested(g, o, r);
      }
}

qcc_guards *qcc_guards_compute(MlirBlock body) {
  qcc_guards *g = calloc(1, sizeof *g);
  qcc_ptr_map_init(&g->index);
  MlirOperation ret = mlirBlockGetTerminator(body);
  MlirOperation *ops = NULL;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    if (g->n % 64 == 0) ops = realloc(ops, sizeof *ops * (size_t)(g->n + 64));
    ops[g->n] = op;
    qcc_ptr_map_put(&g->index, op.ptr, (void *)(intptr_t)(g->n + 1));
    g->n++;
  }
  g->guard = calloc((size_t)g->n + 1, sizeof *g->guard);
  g->acc = calloc((size_t)g->n + 1, sizeof *g->acc);
  g->pushed = calloc((size_t)g->n + 1, sizeof *g->pushed);
  const qcc_guard always = {0, {{NULL}}, {false}};
  for (int p = g->n - 1; p >= 0; p--) {
    MlirOperation op = ops[p];
    qcc_guard *self = &g->guard[p];
    if (mlirOperationEqual(op, ret)) {
      *self = always;
    } else {
      finish(g, g->pushed[p] ? &g->acc[p] : &always, p, self);
    }
    intptr_t k = mlirOperationGetNumOperands(op);
    bool select = qcc_is_if_select(op);
    for (intptr_t i = 0; i < k; i++) {
      qcc_guard r = *self;
      if (select && i > 0 && r.n < QCC_GUARD_MAX) {
        r.cond[r.n] = mlirOperationGetOperand(op, 0);
        r.side[r.n++] = i == 1;
      }
      push(g, mlirOperationGetOperand(op, i), &r);
    }
    push_nested(g, op, self);
    for (int i = 0; i < self->n; i++) { /* testing literal i reads cond i */
      qcc_guard prefix = *self;
      prefix.n = i;
      push(g, self->cond[i], &prefix);
    }
  }
  free(ops);
  return g;
}

const qcc_guard *qcc_guard_of(const qcc_guards *g, MlirOperation op) {
  static const qcc_guard always = {0, {{NULL}}, {false}};
  int p = position(g, op);
  return p < 0 ? &always : &g->guard[p];
}

void qcc_guards_free(qcc_guards *g) {
  if (!g) return;
  qcc_ptr_map_free(&g->index);
  free(g->guard);
  free(g->acc);
  free(g->pushed);
  free(g);
}
