/* evaluator.c - see evaluator.h. Buffers are malloc'd per value and freed
 * after the value's last use, so peak memory follows the graph's liveness. */
#include "evaluator.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guards.h"
#include "kernel_call.h"
#include "name_map.h"

static qcc_array alloc_for(MlirValue v) {
  qcc_shape s;
  qcc_array a;
  memset(&a, 0, sizeof a);
  qcc_shape_of(v, &s);
  a.dtype = s.dtype;
  a.rank = s.rank;
  memcpy(a.dims, s.dims, sizeof s.dims);
  a.nbytes = (size_t)qcc_shape_numel(&s) * qcc_dtype_size(s.dtype);
  a.data = calloc(a.nbytes ? a.nbytes : 1, 1);
  return a;
}

/* Constants as arrays, and packed weights, keyed by their attribute: an
 * attribute is immutable and uniqued (same pointer, same contents), so an
 * entry can never go stale while passes rewrite the module between runs.
 *
 * Memory is what limits this at LLM size (issue 14): a constant's array
 * points into its attribute's storage wherever it can (no second copy of
 * the weights), and packed weights are kept only up to PACKED_BUDGET bytes
 * in all; past it a weight is packed again at each run, which costs about
 * what the matmul's own pass over the weights does.  Packing gives the
 * same bits either way. */
enum { PACKED_BUDGET = 1 << 30 };
struct qcc_eval_cache {
  qcc_ptr_map constants; /* attribute -> constant_entry* */
  qcc_ptr_map packed;    /* attribute -> packed_entry* */
  size_t packed_bytes;   /* kept in `packed` */
};

typedef struct constant_entry {
  qcc_array array;
  bool borrowed; /* array.data is the attribute's storage */
} constant_entry;

typedef struct packed_entry {
  int kind;
  int64_t k, n;
  qcc_array data;
} packed_entry;

qcc_eval_cache *qcc_eval_cache_new(void) {
  qcc_eval_cache *c = calloc(1, sizeof *c);
  qcc_ptr_map_init(&c->constants);
  qcc_ptr_map_init(&c->packed);
  return c;
}

void qcc_eval_cache_free(qcc_eval_cache *c) {
  if (!c) return;
  for (size_t i = 0; i < c->constants.cap; i++)
    if (c->constants.keys[i]) {
      constant_entry *e = c->constants.vals[i];
      if (!e->borrowed) qcc_array_free(&e->array);
      free(e);
    }
  for (size_t i = 0; i < c->packed.cap; i++)
    if (c->packed.keys[i]) {
      packed_entry *e = c->packed.vals[i];
      qcc_array_free(&e->data);
      free(e);
    }
  qcc_ptr_map_free(&c->constants);
  qcc_ptr_map_free(&c->packed);
  free(c);
}

/* The attribute holding constant v's data, as a cache key; NULL if v is
 * not a q.constant. */
static const void *constant_key(MlirValue v) {
  if (!qcc_value_is_constant(v)) return NULL;
  return q_constant_get(mlirOpResultGetOwner(v)).value.ptr;
}

/* The packed layout of call's weight b: from the cache when one is given
 * and holds it for the same packing; *owned tells the caller to free it. */
static const void *packed_weight(const qcc_call *call, const qcc_array *b, qcc_eval_cache *cache, qcc_array *tmp,
                                 bool *owned) {
  const void *key = cache ? constant_key(call->in[call->packed_slot]) : NULL;
  packed_entry *e = key ? qcc_ptr_map_get(&cache->packed, key) : NULL;
  if (e && e->kind == (int)call->pack_kind && e->k == call->pack_k && e->n == call->pack_n) {
    *owned = false;
    return e->data.data;
  }
  qcc_pack_weight(call, b, tmp);
  *owned = true;
  if (key && !e && cache->packed_bytes + tmp->nbytes <= PACKED_BUDGET) {
    cache->packed_bytes += tmp->nbytes;
    e = malloc(sizeof *e);
    e->kind = (int)call->pack_kind;
    e->k = call->pack_k;
    e->n = call->pack_n;
    e->data = *tmp;
    qcc_ptr_map_put(&cache->packed, key, e);
    *owned = false;
  }
  return tmp->data;
}

/* Runs call with its input arrays (NULL entries for absent inputs). */
static void run_call(const qcc_call *call, qcc_array *const *ins, qcc_array *out, qcc_eval_cache *cache) {
  const void *in_ptrs[QCC_CALL_MAX_IN];
  void *scratch = NULL;
  qcc_array packed;
  memset(&packed, 0, sizeof packed);
  for (int i = 0; i < call->n_in; i++) in_ptrs[i] = ins[i] ? ins[i]->data : NULL;
  if (call->scratch_slot >= 0 && call->scratch_bytes > 0) {
    scratch = malloc((size_t)call->scratch_bytes);
    in_ptrs[call->scratch_slot] = scratch;
  }
  bool packed_owned = false;
  if (call->packed_slot >= 0)
    in_ptrs[call->packed_slot] = packed_weight(call, ins[call->packed_slot], cache, &packed, &packed_owned);
  void *out_ptrs[QCC_CALL_MAX_OUT] = {out->data, NULL, NULL};
  qcc_kernel_entry(call->kernel)(&call->params, in_ptrs, out_ptrs);
  free(scratch);
  if (packed_owned) qcc_array_free(&packed);
}

bool qcc_evaluate_op(MlirOperation op, qcc_array *result) {
  qcc_call call;
  if (!qcc_lower_op(op, &call)) return false;
  qcc_array vals[QCC_CALL_MAX_IN], *ins[QCC_CALL_MAX_IN];
  bool ok = true;
  for (int i = 0; i < call.n_in; i++) {
    ins[i] = NULL;
    if (i == call.scratch_slot || mlirValueIsNull(call.in[i])) continue;
    if (!qcc_value_constant(call.in[i], &vals[i])) ok = false;
    else ins[i] = &vals[i];
  }
  if (ok) {
    *result = alloc_for(mlirOperationGetResult(op, 0));
    run_call(&call, ins, result, NULL);
  }
  for (int i = 0; i < call.n_in; i++)
    if (ins[i]) qcc_array_free(ins[i]);
  return ok;
}

/* Per-value state: its data and how many uses remain before it is freed. */
typedef struct slot {
  qcc_array data;
  intptr_t uses_left;
  bool owned;
} slot;

/* The slots of one block's values: the function body's, or one iteration
 * of a q.loop body's (freed when the iteration ends). Body ops read outer
 * values through `up`. */
typedef struct scope {
  qcc_ptr_map slots;
  struct scope *up;
} scope;

static slot *lookup(const scope *sc, MlirValue v, bool *local) {
  for (const scope *c = sc; c; c = c->up) {
    slot *s = qcc_ptr_map_get(&c->slots, v.ptr);
    if (s) {
      if (local) *local = c == sc;
      return s;
    }
  }
  return NULL;
}

static MlirBlock block_of(MlirValue v) {
  return mlirValueIsAOpResult(v) ? mlirOperationGetBlock(mlirOpResultGetOwner(v)) : mlirBlockArgumentGetOwner(v);
}

/* Uses by ops of v's own block; a value a loop body reads is read on every
 * iteration, so it is kept until its scope ends. */
static intptr_t count_uses(MlirValue v) {
  intptr_t n = 0;
  MlirBlock home = block_of(v);
  for (MlirOpOperand u = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
    if (!mlirBlockEqual(mlirOperationGetBlock(mlirOpOperandGetOwner(u)), home)) return INTPTR_MAX / 2;
    n++;
  }
  return n;
}

static void release(slot *s) {
  if (s && s->owned && --s->uses_left <= 0) qcc_array_free(&s->data);
}

/* An op of sc's block read v: only values of that block are counted down
 * (see count_uses). */
static void release_use(const scope *sc, MlirValue v) {
  bool local = false;
  slot *s = lookup(sc, v, &local);
  if (local) release(s);
}

static slot *new_slot(scope *sc, MlirValue v) {
  slot *s = calloc(1, sizeof *s);
  s->owned = true;
  s->uses_left = count_uses(v);
  qcc_ptr_map_put(&sc->slots, v.ptr, s);
  return s;
}

static void scope_free(scope *sc) {
  for (size_t i = 0; i < sc->slots.cap; i++) {
    slot *s = sc->slots.vals[i];
    if (!sc->slots.keys[i]) continue;
    if (s->owned && s->data.data && s->uses_left > 0) qcc_array_free(&s->data);
    free(s);
  }
  qcc_ptr_map_free(&sc->slots);
}

/* Whether every literal of g holds, reading the conditions' slots. */
static bool guard_holds(const qcc_guard *g, const scope *sc) {
  for (int i = 0; i < g->n; i++) {
    slot *s = lookup(sc, g->cond[i], NULL);
    if (!s || !s->data.data || (((const uint8_t *)s->data.data)[0] != 0) != g->side[i]) return false;
  }
  return true;
}

typedef struct eval_ctx {
  qcc_eval_cache *cache;
  qcc_observer observe; /* top-level ops only: a loop body's values have no one range */
  void *user;
  qcc_guards *guards; /* of the function body; NULL inside loop bodies (no guards there) */
} eval_ctx;

static int eval_op(eval_ctx *cx, scope *sc, MlirOperation op);

static MlirOperation last_op(MlirBlock b) {
  MlirOperation o = mlirBlockGetFirstOperation(b), last = o;
  for (; !mlirOperationIsNull(o); o = mlirOperationGetNextInBlock(o)) last = o;
  return last;
}

/* A q.loop (dialects/q.irdl.mlir): the body once per iteration, in a scope
 * of its own; carried values are copied from the yields after each
 * iteration, scan slices are copied in and out. The generated C does the
 * same (emit_c.c), with the same kernels, so the bits agree. */
static int run_loop(eval_ctx *cx, scope *sc, MlirOperation op) {
  if (!qcc_check_loop(op)) return -1;
  q_loop_attrs a = q_loop_get(op);
  int nc = (int)a.num_carried, n_in = (int)mlirOperationGetNumOperands(op) - nc;
  int n_res = (int)mlirOperationGetNumResults(op);
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(op, 0));
  MlirOperation yield = last_op(body);
  slot **res = malloc(sizeof *res * (size_t)(n_res + 1));
  for (int r = 0; r < n_res; r++) res[r] = new_slot(sc, mlirOperationGetResult(op, r));
  qcc_array *cur = calloc((size_t)nc + 1, sizeof *cur), *slices = calloc((size_t)n_in + 1, sizeof *slices);
  for (int j = 0; j < nc; j++) {
    const qcc_array *init = &lookup(sc, mlirOperationGetOperand(op, j), NULL)->data;
    cur[j] = *init;
    cur[j].data = malloc(init->nbytes ? init->nbytes : 1);
    memcpy(cur[j].data, init->data, init->nbytes);
  }
  for (int i = 0; i < n_in; i++) slices[i] = alloc_for(mlirBlockGetArgument(body, 1 + nc + i));
  for (int r = nc; r < n_res; r++) res[r]->data = alloc_for(mlirOperationGetResult(op, r));
  qcc_array iter = alloc_for(mlirBlockGetArgument(body, 0));
  eval_ctx in_body = {cx->cache, NULL, NULL, NULL};
  int rc = 0, c = a.has_cond != 0; /* yield operand 0: go on? */
  bool go = true;
  for (int64_t t = 0; t < a.trip_count && go && !rc; t++) {
    scope inner = {{0}, sc};
    qcc_ptr_map_init(&inner.slots);
    memcpy(iter.data, &t, sizeof t);
    for (int k = 0; k < 1 + nc + n_in; k++) {
      slot *s = calloc(1, sizeof *s);
      if (k >= 1 + nc) {
        int i = k - 1 - nc;
        int64_t at = i < a.scan_in_reverse.n && a.scan_in_reverse.v[i] ? a.trip_count - 1 - t : t;
        const qcc_array *x = &lookup(sc, mlirOperationGetOperand(op, nc + i), NULL)->data;
        memcpy(slices[i].data, (const char *)x->data + (size_t)at * slices[i].nbytes, slices[i].nbytes);
      }
      s->data = k == 0 ? iter : k <= nc ? cur[k - 1] : slices[k - 1 - nc];
      qcc_ptr_map_put(&inner.slots, mlirBlockGetArgument(body, k).ptr, s);
    }
    for (MlirOperation o = mlirBlockGetFirstOperation(body); !rc && !mlirOperationEqual(o, yield);
         o = mlirOperationGetNextInBlock(o))
      rc = eval_op(&in_body, &inner, o);
    for (int r = nc; r < n_res && !rc; r++) {
      const qcc_array *y = &lookup(&inner, mlirOperationGetOperand(yield, c + r), NULL)->data;
      int k = r - nc;
      int64_t at = k < a.scan_out_reverse.n && a.scan_out_reverse.v[k] ? a.trip_count - 1 - t : t;
      memcpy((char *)res[r]->data.data + (size_t)at * y->nbytes, y->data, y->nbytes);
    }
    qcc_array *next = calloc((size_t)nc + 1, sizeof *next);
    for (int j = 0; j < nc && !rc; j++) {
      const qcc_array *y = &lookup(&inner, mlirOperationGetOperand(yield, c + j), NULL)->data;
      next[j] = cur[j];
      next[j].data = malloc(y->nbytes ? y->nbytes : 1);
      memcpy(next[j].data, y->data, y->nbytes);
    }
    if (c && !rc) go = *(const uint8_t *)lookup(&inner, mlirOperationGetOperand(yield, 0), NULL)->data.data != 0;
    scope_free(&inner);
    for (int j = 0; j < nc && !rc; j++) {
      qcc_array_free(&cur[j]);
      cur[j] = next[j];
    }
    free(next);
  }
  for (int j = 0; j < nc; j++) {
    if (rc) qcc_array_free(&cur[j]);
    else res[j]->data = cur[j];
  }
  for (int i = 0; i < n_in; i++) qcc_array_free(&slices[i]);
  qcc_array_free(&iter);
  free(cur);
  free(slices);
  free(res);
  return rc;
}

static int eval_op(eval_ctx *cx, scope *sc, MlirOperation op) {
  intptr_t n_res = mlirOperationGetNumResults(op);
  if (cx->guards && !guard_holds(qcc_guard_of(cx->guards, op), sc)) {
    /* The other branch of a run-time If: as in the generated C, not run
     * (nor observed); zeros stand in for its results, which no one reads. */
    for (intptr_t r = 0; r < n_res; r++) {
      slot *out = new_slot(sc, mlirOperationGetResult(op, r));
      out->data = alloc_for(mlirOperationGetResult(op, r));
      if (out->uses_left == 0) qcc_array_free(&out->data);
    }
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(op); i++) release_use(sc, mlirOperationGetOperand(op, i));
    return 0;
  }
  if (q_loop_is(op)) {
    int rc = run_loop(cx, sc, op);
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(op); i++) release_use(sc, mlirOperationGetOperand(op, i));
    for (intptr_t r = 0; r < n_res && !rc; r++) {
      slot *out = lookup(sc, mlirOperationGetResult(op, r), NULL);
      if (out->uses_left == 0) qcc_array_free(&out->data);
    }
    return rc;
  }
  MlirValue res = mlirOperationGetResult(op, 0);
  slot *out = new_slot(sc, res);
  if (q_constant_is(op) && cx->cache) {
    const void *key = constant_key(res);
    constant_entry *c = qcc_ptr_map_get(&cx->cache->constants, key);
    if (!c) {
      c = malloc(sizeof *c);
      qcc_value_constant_borrow(res, &c->array, &c->borrowed);
      qcc_ptr_map_put(&cx->cache->constants, key, c);
    }
    out->data = c->array;
    out->owned = false; /* the cache's */
  } else if (q_constant_is(op)) {
    qcc_value_constant(res, &out->data);
  } else {
    qcc_call call;
    if (!qcc_lower_op(op, &call)) return -1;
    qcc_array *ins[QCC_CALL_MAX_IN];
    for (int i = 0; i < call.n_in; i++) {
      slot *s = mlirValueIsNull(call.in[i]) ? NULL : lookup(sc, call.in[i], NULL);
      ins[i] = s ? &s->data : NULL;
    }
    out->data = alloc_for(res);
    run_call(&call, ins, &out->data, cx->cache);
    for (int i = 0; i < call.n_in; i++)
      if (!mlirValueIsNull(call.in[i])) release_use(sc, call.in[i]);
  }
  if (cx->observe) cx->observe(op, res, &out->data, cx->user);
  if (out->uses_left == 0 && out->owned) qcc_array_free(&out->data);
  return 0;
}

int qcc_evaluate(MlirModule m, const qcc_array *inputs, int n_inputs, qcc_array **outputs, int *n_outputs,
                 qcc_observer observe, void *user) {
  return qcc_evaluate_cached(m, NULL, inputs, n_inputs, outputs, n_outputs, observe, user);
}

int qcc_evaluate_cached(MlirModule m, qcc_eval_cache *cache, const qcc_array *inputs, int n_inputs,
                        qcc_array **outputs, int *n_outputs, qcc_observer observe, void *user) {
  MlirOperation func = qcc_module_func(m);
  MlirBlock body = qcc_func_body(func);
  intptr_t n_args = mlirBlockGetNumArguments(body);
  if (n_inputs != n_args) {
    qcc_error("the model has %ld inputs, %d given", (long)n_args, n_inputs);
    return -1;
  }
  scope top = {{0}, NULL};
  qcc_ptr_map_init(&top.slots);
  int rc = 0;
  for (intptr_t i = 0; i < n_args && !rc; i++) {
    MlirValue a = mlirBlockGetArgument(body, i);
    qcc_shape s;
    qcc_shape_of(a, &s);
    qcc_array in = inputs[i]; /* the struct, not the data: a bfloat16 input may arrive as uint16 */
    bool same = qcc_array_expect(&in, s.dtype) && s.rank == inputs[i].rank;
    for (int d = 0; same && d < s.rank; d++) same = s.dims[d] == inputs[i].dims[d];
    if (!same) {
      char want[128];
      qcc_error("input %ld: expected %s, got %s with rank %d", (long)i, qcc_shape_str(&s, want, sizeof want),
                qcc_dtype_name(inputs[i].dtype), inputs[i].rank);
      rc = -1;
      break;
    }
    slot *sl = calloc(1, sizeof *sl);
    sl->data = in;
    qcc_ptr_map_put(&top.slots, a.ptr, sl);
  }
  MlirOperation ret = mlirBlockGetTerminator(body);
  eval_ctx cx = {cache, observe, user, qcc_guards_compute(body)};
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !rc && !mlirOperationIsNull(op) && !mlirOperationEqual(op, ret);
       op = mlirOperationGetNextInBlock(op))
    rc = eval_op(&cx, &top, op);
  qcc_guards_free(cx.guards);
  if (!rc) {
    intptr_t n = mlirOperationGetNumOperands(ret);
    *n_outputs = (int)n;
    *outputs = calloc((size_t)n + 1, sizeof **outputs);
    for (intptr_t i = 0; i < n; i++) {
      slot *s = lookup(&top, mlirOperationGetOperand(ret, i), NULL);
      qcc_array *o = &(*outputs)[i];
      *o = s->data;
      o->data = malloc(s->data.nbytes ? s->data.nbytes : 1);
      memcpy(o->data, s->data.data, s->data.nbytes);
      release(s);
    }
  }
  scope_free(&top);
  return rc;
}
