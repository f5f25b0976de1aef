/* evaluator.c - see evaluator.h.
 *
 * The function body is planned once (qcc_eval_plan) and then run on any
 * number of inputs: each op's kernel call is lowered once, each constant's
 * array found once, and the intermediate values share one arena laid out
 * from their lifetimes, as the generated C's are. Until 2026-12 every run
 * lowered every op again and malloc'd every value: on the small examples
 * that was more than half of calibration's time. A q.loop's body is
 * interpreted at each iteration, its values malloc'd and freed after
 * their last use. */
#include "evaluator.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guards.h"
#include "kernel_call.h"
#include "name_map.h"
#include "plan_memory.h"

/* The array shape of v, without data. */
static qcc_array array_of(MlirValue v) {
  qcc_shape s;
  qcc_array a;
  memset(&a, 0, sizeof a);
  qcc_shape_of(v, &s);
  a.dtype = s.dtype;
  a.rank = s.rank;
  memcpy(a.dims, s.dims, sizeof s.dims);
  a.nbytes = (size_t)qcc_shape_numel(&s) * qcc_dtype_size(s.dtype);
  return a;
}

/* The array of v with zeroed data of its own. */
static qcc_array alloc_for(MlirValue v) {
  qcc_array a = array_of(v);
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
 * same bits either way.
 *
 * Plans on several threads (calibration, eval_samples.c) share one cache:
 * its maps are read and written under `lock`; an entry, once in, never
 * changes until the cache is freed. */
enum { PACKED_BUDGET = 1 << 30 };
struct qcc_eval_cache {
  qcc_ptr_map constants; /* attribute -> constant_entry* */
  qcc_ptr_map packed;    /* attribute -> packed_entry* */
  size_t packed_bytes;   /* kept in `packed` */
  pthread_mutex_t lock;
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
  pthread_mutex_init(&c->lock, NULL);
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
  pthread_mutex_destroy(&c->lock);
  free(c);
}

/* The attribute holding constant v's data, as a cache key; NULL if v is
 * not a q.constant. */
static const void *constant_key(MlirValue v) {
  if (!qcc_value_is_constant(v)) return NULL;
  return q_constant_get(mlirOpResultGetOwner(v)).value.ptr;
}

/* The cache's entry for constant v, made now if it has none. */
static constant_entry *cache_constant(qcc_eval_cache *cache, MlirValue v) {
  const void *key = constant_key(v);
  pthread_mutex_lock(&cache->lock);
  constant_entry *e = qcc_ptr_map_get(&cache->constants, key);
  if (!e) {
    e = malloc(sizeof *e);
    qcc_value_constant_borrow(v, &e->array, &e->borrowed);
    qcc_ptr_map_put(&cache->constants, key, e);
  }
  pthread_mutex_unlock(&cache->lock);
  return e;
}

/* The cache's packed copy of the weight keyed `key` in call's packing;
 * NULL if it has none. */
static packed_entry *cache_packed(qcc_eval_cache *cache, const void *key, const qcc_call *call) {
  pthread_mutex_lock(&cache->lock);
  packed_entry *e = qcc_ptr_map_get(&cache->packed, key);
  pthread_mutex_unlock(&cache->lock);
  return e && e->kind == (int)call->pack_kind && e->k == call->pack_k && e->n == call->pack_n ? e : NULL;
}

/* The packed layout of call's weight b: from the cache when one is given
 * and holds it for the same packing; *owned tells the caller to free it. */
static const void *packed_weight(const qcc_call *call, const qcc_array *b, qcc_eval_cache *cache, qcc_array *tmp,
                                 bool *owned) {
  const void *key = cache ? constant_key(call->in[call->packed_slot]) : NULL;
  packed_entry *e = key ? cache_packed(cache, key, call) : NULL;
  if (e) {
    *owned = false;
    return e->data.data;
  }
  qcc_pack_weight(call, b, tmp);
  *owned = true;
  if (!key) return tmp->data;
  pthread_mutex_lock(&cache->lock);
  e = qcc_ptr_map_get(&cache->packed, key); /* another thread may have put it in since */
  if (!e && cache->packed_bytes + tmp->nbytes <= PACKED_BUDGET) {
    cache->packed_bytes += tmp->nbytes;
    e = malloc(sizeof *e);
    e->kind = (int)call->pack_kind;
    e->k = call->pack_k;
    e->n = call->pack_n;
    e->data = *tmp;
    qcc_ptr_map_put(&cache->packed, key, e);
    *owned = false;
  }
  pthread_mutex_unlock(&cache->lock);
  return tmp->data;
}

/* Runs call with its input arrays (NULL entries for absent inputs).
 * packed: the packed weight when the caller already holds it (NULL: from
 * the cache, or packed now); scratch: a buffer of at least the call's
 * scratch_bytes (NULL: malloc'd for the call). */
static void run_call(const qcc_call *call, qcc_array *const *ins, qcc_array *out, qcc_eval_cache *cache,
                     const void *packed_in, void *scratch) {
  const void *in_ptrs[QCC_CALL_MAX_IN];
  void *own_scratch = NULL;
  qcc_array packed;
  memset(&packed, 0, sizeof packed);
  for (int i = 0; i < call->n_in; i++) in_ptrs[i] = ins[i] ? ins[i]->data : NULL;
  if (call->scratch_slot >= 0 && call->scratch_bytes > 0)
    in_ptrs[call->scratch_slot] = scratch ? scratch : (own_scratch = malloc((size_t)call->scratch_bytes));
  bool packed_owned = false;
  if (call->packed_slot >= 0)
    in_ptrs[call->packed_slot] =
        packed_in ? packed_in : packed_weight(call, ins[call->packed_slot], cache, &packed, &packed_owned);
  void *out_ptrs[QCC_CALL_MAX_OUT] = {out->data, NULL, NULL};
  qcc_kernel_entry(call->kernel)(&call->params, in_ptrs, out_ptrs);
  free(own_scratch);
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
    run_call(&call, ins, result, NULL, NULL, NULL);
  }
  for (int i = 0; i < call.n_in; i++)
    if (ins[i]) qcc_array_free(ins[i]);
  return ok;
}

/* Per-value state: its data and how many uses remain before it is freed
 * (loop bodies; the function body's values live in the plan's arena). */
typedef struct slot {
  qcc_array data;
  intptr_t uses_left;
  bool owned;
} slot;

/* One op of the function body. Its lowering is made at its first run
 * (as before plans: an op on the side of a run-time If that never runs is
 * never lowered) and kept for every later run. */
typedef struct step {
  MlirOperation op;
  MlirValue res; /* result 0 */
  enum { STEP_CONSTANT, STEP_CALL, STEP_VIEW, STEP_LOOP } kind;
  int result;          /* slot of result 0 (a loop's results follow it) */
  int src;             /* STEP_VIEW: the slot whose bytes it shows */
  const qcc_guard *guard;
  bool lowered;
  bool owns_constant; /* STEP_CONSTANT: its array is a copy the plan frees */
  qcc_call call;
  int in[QCC_CALL_MAX_IN]; /* slot of each call input, -1 absent */
  const void *packed;      /* the cache's packed weight, once found there */
} step;

/* The function body, planned for repeated runs. Slots: the arguments,
 * then each step's results. Values computed by calls (and loops) live in
 * one arena laid out from their lifetimes by the generated code's own
 * planner (codegen/plan_memory.c): a run allocates nothing but its
 * outputs. A reshape's result is a view of its input's bytes, as in the
 * generated C (no value is written after the op producing it). */
struct qcc_eval_plan {
  MlirBlock body;
  qcc_eval_cache *cache;
  int n_args, n_steps, n_slots, n_outs;
  step *steps;
  slot *slots;
  int *outs;         /* slot of each returned value */
  qcc_ptr_map index; /* MlirValue.ptr -> 1 + its slot */
  qcc_guards *guards;
  char *arena;
  void *scratch; /* the calls' scratch buffer, grown to the largest */
  int64_t scratch_bytes;
};

/* The slots of one block's values: a loop body's (one iteration's, freed
 * when it ends), or the function body's, held by its plan. Body ops read
 * outer values through `up`. */
typedef struct scope {
  qcc_ptr_map slots;
  struct scope *up;
  qcc_eval_plan *plan; /* the function body's scope: its values are the plan's slots */
} scope;

static int slot_index(const qcc_eval_plan *p, MlirValue v) {
  return (int)(intptr_t)qcc_ptr_map_get(&p->index, v.ptr) - 1;
}

static slot *lookup(const scope *sc, MlirValue v, bool *local) {
  for (const scope *c = sc; c; c = c->up) {
    int i = c->plan ? slot_index(c->plan, v) : -1;
    slot *s = c->plan ? (i >= 0 ? &c->plan->slots[i] : NULL) : qcc_ptr_map_get(&c->slots, v.ptr);
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

static int eval_op(qcc_eval_cache *cache, scope *sc, MlirOperation op);

static MlirOperation last_op(MlirBlock b) {
  MlirOperation o = mlirBlockGetFirstOperation(b), last = o;
  for (; !mlirOperationIsNull(o); o = mlirOperationGetNextInBlock(o)) last = o;
  return last;
}

/* A q.loop (dialects/q.irdl.mlir): the body once per iteration, in a scope
 * of its own; carried values are copied from the yields after each
 * iteration, scan slices are copied in and out. The generated C does the
 * same (emit_c.c), with the same kernels, so the bits agree. res[r]: the
 * slots of its results, their buffers allocated by the caller. */
static int run_loop(qcc_eval_cache *cache, scope *sc, MlirOperation op, slot *const *res) {
  if (!qcc_check_loop(op)) return -1;
  q_loop_attrs a = q_loop_get(op);
  int nc = (int)a.num_carried, n_in = (int)mlirOperationGetNumOperands(op) - nc;
  int n_res = (int)mlirOperationGetNumResults(op);
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(op, 0));
  MlirOperation yield = last_op(body);
  qcc_array *cur = calloc((size_t)nc + 1, sizeof *cur), *slices = calloc((size_t)n_in + 1, sizeof *slices);
  for (int j = 0; j < nc; j++) {
    const qcc_array *init = &lookup(sc, mlirOperationGetOperand(op, j), NULL)->data;
    cur[j] = *init;
    cur[j].data = malloc(init->nbytes ? init->nbytes : 1);
    memcpy(cur[j].data, init->data, init->nbytes);
  }
  for (int i = 0; i < n_in; i++) slices[i] = alloc_for(mlirBlockGetArgument(body, 1 + nc + i));
  qcc_array iter = alloc_for(mlirBlockGetArgument(body, 0));
  int rc = 0, c = a.has_cond != 0; /* yield operand 0: go on? */
  bool go = true;
  for (int64_t t = 0; t < a.trip_count && go && !rc; t++) {
    scope inner = {{0}, sc, NULL};
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
      rc = eval_op(cache, &inner, o);
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
    if (!rc) memcpy(res[j]->data.data, cur[j].data, cur[j].nbytes);
    qcc_array_free(&cur[j]);
  }
  for (int i = 0; i < n_in; i++) qcc_array_free(&slices[i]);
  qcc_array_free(&iter);
  free(cur);
  free(slices);
  return rc;
}

/* One op of a loop body: lowered, its result malloc'd, its operands
 * released after their last use. */
static int eval_op(qcc_eval_cache *cache, scope *sc, MlirOperation op) {
  intptr_t n_res = mlirOperationGetNumResults(op);
  if (q_loop_is(op)) {
    slot **res = malloc(sizeof *res * (size_t)(n_res + 1));
    for (intptr_t r = 0; r < n_res; r++) {
      res[r] = new_slot(sc, mlirOperationGetResult(op, r));
      res[r]->data = alloc_for(mlirOperationGetResult(op, r));
    }
    int rc = run_loop(cache, sc, op, res);
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(op); i++) release_use(sc, mlirOperationGetOperand(op, i));
    for (intptr_t r = 0; r < n_res; r++)
      if (res[r]->uses_left == 0) qcc_array_free(&res[r]->data);
    free(res);
    return rc;
  }
  MlirValue res = mlirOperationGetResult(op, 0);
  slot *out = new_slot(sc, res);
  if (q_constant_is(op) && cache) {
    out->data = cache_constant(cache, res)->array;
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
    run_call(&call, ins, &out->data, cache, NULL, NULL);
    for (int i = 0; i < call.n_in; i++)
      if (!mlirValueIsNull(call.in[i])) release_use(sc, call.in[i]);
  }
  if (out->uses_left == 0 && out->owned) qcc_array_free(&out->data);
  return 0;
}

/* The step of the function body's op that holds op (op itself, or the
 * loop whose body it is in); -1 for the terminator. */
static int holder_step(const qcc_ptr_map *step_of, MlirBlock body, MlirOperation op) {
  while (!mlirBlockEqual(mlirOperationGetBlock(op), body)) op = mlirOperationGetParentOperation(op);
  return (int)(intptr_t)qcc_ptr_map_get(step_of, op.ptr) - 1;
}

qcc_eval_plan *qcc_eval_plan_new(MlirModule m, qcc_eval_cache *cache) {
  qcc_eval_plan *p = calloc(1, sizeof *p);
  p->body = qcc_func_body(qcc_module_func(m));
  p->cache = cache;
  p->guards = qcc_guards_compute(p->body);
  qcc_ptr_map_init(&p->index);
  MlirOperation ret = mlirBlockGetTerminator(p->body);
  p->n_args = (int)mlirBlockGetNumArguments(p->body);
  p->n_slots = p->n_args;
  qcc_ptr_map step_of; /* op.ptr -> 1 + its step */
  qcc_ptr_map_init(&step_of);
  for (MlirOperation op = mlirBlockGetFirstOperation(p->body); !mlirOperationEqual(op, ret);
       op = mlirOperationGetNextInBlock(op)) {
    qcc_ptr_map_put(&step_of, op.ptr, (void *)(intptr_t)(++p->n_steps));
    p->n_slots += (int)mlirOperationGetNumResults(op);
  }
  p->steps = calloc((size_t)p->n_steps + 1, sizeof *p->steps);
  p->slots = calloc((size_t)p->n_slots + 1, sizeof *p->slots);
  /* Per slot: its arena buffer (-1: none) and its last reader's step. */
  int *buf = malloc(sizeof(int) * (size_t)(p->n_slots + 1)), *last = malloc(sizeof(int) * (size_t)(p->n_slots + 1));
  qcc_buffer *bufs = calloc((size_t)p->n_slots + 1, sizeof *bufs);
  int n_bufs = 0, n = 0, k = 0;
  for (int i = 0; i < p->n_args; i++) {
    MlirValue a = mlirBlockGetArgument(p->body, i);
    qcc_ptr_map_put(&p->index, a.ptr, (void *)(intptr_t)(n + 1));
    buf[n++] = -1;
  }
  for (MlirOperation op = mlirBlockGetFirstOperation(p->body); !mlirOperationEqual(op, ret);
       op = mlirOperationGetNextInBlock(op), k++) {
    step *s = &p->steps[k];
    s->op = op;
    s->res = mlirOperationGetResult(op, 0);
    s->result = n;
    s->guard = qcc_guard_of(p->guards, op);
    s->kind = q_constant_is(op) ? STEP_CONSTANT : q_loop_is(op) ? STEP_LOOP : STEP_CALL;
    if (q_reshape_is(op) && s->guard->n == 0) { /* skipped ops' results are zeros: those get a buffer */
      s->kind = STEP_VIEW;
      s->src = slot_index(p, mlirOperationGetOperand(op, 0));
    }
    for (intptr_t r = 0; r < mlirOperationGetNumResults(op); r++, n++) {
      MlirValue v = mlirOperationGetResult(op, r);
      qcc_ptr_map_put(&p->index, v.ptr, (void *)(intptr_t)(n + 1));
      p->slots[n].data = array_of(v);
      buf[n] = -1;
      if (s->kind == STEP_VIEW) {
        buf[n] = buf[s->src];
      } else if (s->kind != STEP_CONSTANT && (r == 0 || s->kind == STEP_LOOP)) {
        bufs[n_bufs].size = (int64_t)p->slots[n].data.nbytes;
        bufs[n_bufs].first = bufs[n_bufs].last = k;
        buf[n] = n_bufs++;
      }
    }
    if (s->kind == STEP_CONSTANT) {
      qcc_array *c = &p->slots[s->result].data;
      constant_entry *e = cache ? cache_constant(cache, s->res) : NULL;
      bool borrowed = true;
      if (e) *c = e->array;
      else qcc_value_constant_borrow(s->res, c, &borrowed);
      s->owns_constant = !borrowed;
    }
  }
  /* Lifetimes: a buffer lives from its step to the last step reading any
   * value in it (a loop reads what its body reads; returned values live to
   * the end). */
  for (int i = 0; i < n; i++) last[i] = -1;
  for (size_t i = 0; i < p->index.cap; i++) {
    if (!p->index.keys[i]) continue;
    MlirValue v = {p->index.keys[i]};
    int at = (int)(intptr_t)p->index.vals[i] - 1;
    for (MlirOpOperand u = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
      int h = holder_step(&step_of, p->body, mlirOpOperandGetOwner(u));
      h = h < 0 ? p->n_steps : h;
      if (h > last[at]) last[at] = h;
    }
  }
  for (int i = 0; i < n; i++)
    if (buf[i] >= 0 && last[i] > bufs[buf[i]].last) bufs[buf[i]].last = last[i];
  const int64_t arena_bytes = qcc_plan_memory(bufs, n_bufs, 64);
  /* calloc: the first run's buffers start as zeros, as each value's own
   * calloc'd buffer did before plans (kernels write all of their result) */
  p->arena = calloc((size_t)arena_bytes + 1, 1);
  for (int i = 0; i < n; i++)
    if (buf[i] >= 0) p->slots[i].data.data = p->arena + bufs[buf[i]].offset;
  p->n_outs = (int)mlirOperationGetNumOperands(ret);
  p->outs = malloc(sizeof(int) * (size_t)(p->n_outs + 1));
  for (int j = 0; j < p->n_outs; j++) p->outs[j] = slot_index(p, mlirOperationGetOperand(ret, j));
  qcc_ptr_map_free(&step_of);
  free(buf);
  free(last);
  free(bufs);
  return p;
}

void qcc_eval_plan_free(qcc_eval_plan *p) {
  if (!p) return;
  for (int k = 0; k < p->n_steps; k++)
    if (p->steps[k].owns_constant) qcc_array_free(&p->slots[p->steps[k].result].data);
  qcc_guards_free(p->guards);
  qcc_ptr_map_free(&p->index);
  free(p->steps);
  free(p->slots);
  free(p->outs);
  free(p->arena);
  free(p->scratch);
  free(p);
}

/* Lowers step s at its first run: its call and its inputs' slots. */
static bool lower_step(qcc_eval_plan *p, step *s) {
  if (!qcc_lower_op(s->op, &s->call)) return false;
  for (int i = 0; i < s->call.n_in; i++)
    s->in[i] = i == s->call.scratch_slot || mlirValueIsNull(s->call.in[i]) ? -1 : slot_index(p, s->call.in[i]);
  if (s->call.scratch_slot >= 0 && s->call.scratch_bytes > p->scratch_bytes) {
    free(p->scratch);
    p->scratch = malloc((size_t)s->call.scratch_bytes);
    p->scratch_bytes = s->call.scratch_bytes;
  }
  s->lowered = true;
  return true;
}

static int run_step(qcc_eval_plan *p, scope *top, step *s) {
  qcc_array *out = &p->slots[s->result].data;
  if (s->kind == STEP_CONSTANT) return 0; /* its array is in its slot */
  if (s->kind == STEP_VIEW) {
    out->data = p->slots[s->src].data.data;
    return 0;
  }
  if (s->kind == STEP_LOOP) {
    intptr_t n_res = mlirOperationGetNumResults(s->op);
    slot **res = malloc(sizeof *res * (size_t)(n_res + 1));
    for (intptr_t r = 0; r < n_res; r++) {
      res[r] = &p->slots[s->result + r];
      memset(res[r]->data.data, 0, res[r]->data.nbytes);
    }
    int rc = run_loop(p->cache, top, s->op, res);
    free(res);
    return rc;
  }
  if (!s->lowered && !lower_step(p, s)) return -1;
  qcc_array *ins[QCC_CALL_MAX_IN];
  for (int i = 0; i < s->call.n_in; i++) ins[i] = s->in[i] >= 0 ? &p->slots[s->in[i]].data : NULL;
  if (s->call.packed_slot >= 0 && !s->packed && p->cache) { /* in the cache from now on, if it keeps it */
    const void *key = constant_key(s->call.in[s->call.packed_slot]);
    run_call(&s->call, ins, out, p->cache, NULL, p->scratch);
    packed_entry *e = key ? cache_packed(p->cache, key, &s->call) : NULL;
    if (e) s->packed = e->data.data;
    return 0;
  }
  run_call(&s->call, ins, out, p->cache, s->packed, p->scratch);
  return 0;
}

int qcc_eval_plan_run(qcc_eval_plan *p, const qcc_array *inputs, int n_inputs, qcc_array **outputs, int *n_outputs,
                      qcc_observer observe, void *user) {
  if (n_inputs != p->n_args) {
    qcc_error("the model has %d inputs, %d given", p->n_args, n_inputs);
    return -1;
  }
  for (int i = 0; i < p->n_args; i++) {
    MlirValue a = mlirBlockGetArgument(p->body, i);
    qcc_shape s;
    qcc_shape_of(a, &s);
    qcc_array in = inputs[i]; /* the struct, not the data: a bfloat16 input may arrive as uint16 */
    bool same = qcc_array_expect(&in, s.dtype) && s.rank == inputs[i].rank;
    for (int d = 0; same && d < s.rank; d++) same = s.dims[d] == inputs[i].dims[d];
    if (!same) {
      char want[128], got[128];
      qcc_error("input %d: expected %s, got %s", i, qcc_shape_str(&s, want, sizeof want),
                qcc_array_shape_str(&inputs[i], got, sizeof got));
      return -1;
    }
    p->slots[i].data = in;
  }
  scope top = {{0}, NULL, p};
  int rc = 0;
  for (int k = 0; k < p->n_steps && !rc; k++) {
    step *s = &p->steps[k];
    if (s->guard->n && !guard_holds(s->guard, &top)) {
      /* The other branch of a run-time If: as in the generated C, not run
       * (nor observed); zeros stand in for its results, which no one reads. */
      for (intptr_t r = 0; s->kind != STEP_CONSTANT && r < mlirOperationGetNumResults(s->op); r++) {
        qcc_array *a = &p->slots[s->result + r].data;
        if (a->data) memset(a->data, 0, a->nbytes);
      }
      continue;
    }
    rc = run_step(p, &top, s);
    if (!rc && observe && s->kind != STEP_LOOP) observe(s->op, s->res, &p->slots[s->result].data, user);
  }
  if (!rc && outputs) {
    *n_outputs = p->n_outs;
    *outputs = calloc((size_t)p->n_outs + 1, sizeof **outputs);
    for (int j = 0; j < p->n_outs; j++) {
      const qcc_array *s = &p->slots[p->outs[j]].data;
      qcc_array *o = &(*outputs)[j];
      *o = *s;
      o->data = malloc(s->nbytes ? s->nbytes : 1);
      memcpy(o->data, s->data, s->nbytes);
    }
  }
  return rc;
}

int qcc_evaluate(MlirModule m, const qcc_array *inputs, int n_inputs, qcc_array **outputs, int *n_outputs,
                 qcc_observer observe, void *user) {
  return qcc_evaluate_cached(m, NULL, inputs, n_inputs, outputs, n_outputs, observe, user);
}

int qcc_evaluate_cached(MlirModule m, qcc_eval_cache *cache, const qcc_array *inputs, int n_inputs,
                        qcc_array **outputs, int *n_outputs, qcc_observer observe, void *user) {
  qcc_eval_plan *p = qcc_eval_plan_new(m, cache);
  int rc = qcc_eval_plan_run(p, inputs, n_inputs, outputs, n_outputs, observe, user);
  qcc_eval_plan_free(p);
  return rc;
}
