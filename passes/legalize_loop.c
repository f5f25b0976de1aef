/* legalize_loop.c - legalize-onnx's rules for onnx.Loop and onnx.Scan (see
 * compiler/onnx_import_control.c for their form). A loop whose unrolled
 * copies would hold more than --unroll-max-ops ops (default
 * QCC_UNROLL_DEFAULT_OPS) becomes a q.loop, a loop in the generated C, when
 * it can: a Loop with a constant trip count whose condition stays true, or
 * a Scan of opset 9 or later (legalize_loop_region.c). Every other loop is
 * unrolled here into the parent block, one copy per iteration, so every
 * later pass, the evaluator and the emitter see flat statically shaped q
 * ops (the memory planner then reuses buffers across iterations like
 * across any other ops).
 *
 * Unrolling needs the trip count at compile time:
 * - Loop: M (input 0) and the initial condition (input 1) must be
 *   constants (after folding, e.g. through --bind), and so must every
 *   condition the body returns: each iteration is legalized before the
 *   next is decided. A copy of the body sees its iteration number as a
 *   constant, so Slice/Gather by the iteration number fold to static
 *   slices.
 * - Scan: the sequence length is the scan inputs' static extent.
 * A loop whose copies would exceed QCC_UNROLL_MAX_OPS ops is refused with
 * its count.
 *
 * The op itself carries the unrolling's state between visits: its operands
 * become the values the copies produced (Loop: [M, cond, carried...,
 * scan slices...]; Scan: every copy's yields) and `qcc.iter` counts the
 * iterations unrolled. When no iteration is left, the results are the
 * final carried values and the scan outputs are the per-iteration slices
 * stacked (q.reshape + q.concat), and the op is erased. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "legalize_loop.h"
#include "name_map.h"
#include "passes.h"
#include "qrt.h"

/* Body copies beyond this many ops make the generated C too large to be
 * worth compiling; a loop that cannot be a C loop (q.loop) and would need
 * more is refused. */
#define QCC_UNROLL_MAX_OPS 200000

/* Loops whose unrolled copies would hold more ops than this become a C
 * loop when they can (legalize_loop_region.c); smaller ones are unrolled,
 * where each copy sees its iteration number as a constant. --unroll-max-ops. */
int64_t qcc_unroll_max_ops = QCC_UNROLL_DEFAULT_OPS;

static MlirBlock body_block(MlirOperation op) { return mlirRegionGetFirstBlock(mlirOperationGetRegion(op, 0)); }

/* How many times a nested control-flow op runs its regions, as far as is
 * known before legalization: a Loop's constant M, a q.loop's trip count;
 * else once. */
static int64_t region_runs(MlirOperation op) {
  if (q_loop_is(op)) return q_loop_get(op).trip_count;
  qcc_array a;
  int64_t runs = 1;
  if (q_op_named(op, "onnx.Loop") && mlirOperationGetNumOperands(op) > 0 &&
      qcc_value_constant(mlirOperationGetOperand(op, 0), &a)) {
    if (a.dtype == QRT_I64 && qcc_array_numel(&a) == 1 && ((int64_t *)a.data)[0] > 1) runs = ((int64_t *)a.data)[0];
    qcc_array_free(&a);
  }
  return runs;
}

#define OPS_CAP ((int64_t)1 << 40) /* saturates: only comparisons against budgets follow */

/* The ops of a block, nested regions' ops counted once per run. */
static int64_t block_ops(MlirBlock b) {
  int64_t k = 0;
  for (MlirOperation o = mlirBlockGetFirstOperation(b); !mlirOperationIsNull(o); o = mlirOperationGetNextInBlock(o)) {
    if (q_op_named(o, "onnx.Yield")) continue;
    k++;
    int64_t inner = 0;
    for (intptr_t r = 0; r < mlirOperationGetNumRegions(o); r++)
      for (MlirBlock rb = mlirRegionGetFirstBlock(mlirOperationGetRegion(o, r)); !mlirBlockIsNull(rb);
           rb = mlirBlockGetNextInRegion(rb))
        inner += block_ops(rb);
    int64_t runs = region_runs(o);
    k += inner > OPS_CAP / runs ? OPS_CAP : inner * runs;
    if (k > OPS_CAP) k = OPS_CAP;
  }
  return k;
}

int64_t onnx_body_ops(MlirOperation op) { return block_ops(body_block(op)); }

static MlirValue mapped(qcc_ptr_map *m, MlirValue v) {
  void *p = qcc_ptr_map_get(m, v.ptr);
  return p ? (MlirValue){p} : v;
}

/* Points op's operands, and those of the ops in its regions (a nested If
 * reads the body's values), at the copies of body values. */
static void remap_operands(MlirOperation op, qcc_ptr_map *m) {
  for (intptr_t i = 0; i < mlirOperationGetNumOperands(op); i++)
    mlirOperationSetOperand(op, i, mapped(m, mlirOperationGetOperand(op, i)));
  for (intptr_t r = 0; r < mlirOperationGetNumRegions(op); r++)
    for (MlirBlock b = mlirRegionGetFirstBlock(mlirOperationGetRegion(op, r)); !mlirBlockIsNull(b);
         b = mlirBlockGetNextInRegion(b))
      for (MlirOperation o = mlirBlockGetFirstOperation(b); !mlirOperationIsNull(o); o = mlirOperationGetNextInBlock(o))
        remap_operands(o, m);
}

/* Copies the body's ops before `at`, block argument i standing for
 * args[i]; yields[i] = the copy's i-th yielded value. Returns the first op
 * copied (null when the body only yields). */
static MlirOperation clone_body(MlirOperation loop, MlirOperation at, const MlirValue *args, MlirValue *yields) {
  MlirBlock body = body_block(loop);
  qcc_ptr_map m;
  qcc_ptr_map_init(&m);
  for (intptr_t i = 0; i < mlirBlockGetNumArguments(body); i++)
    qcc_ptr_map_put(&m, mlirBlockGetArgument(body, i).ptr, (void *)args[i].ptr);
  MlirOperation first = {NULL};
  MlirBlock parent = mlirOperationGetBlock(at);
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    if (q_op_named(op, "onnx.Yield")) {
      for (intptr_t i = 0; i < mlirOperationGetNumOperands(op); i++) yields[i] = mapped(&m, mlirOperationGetOperand(op, i));
      break;
    }
    MlirOperation c = mlirOperationClone(op);
    remap_operands(c, &m);
    mlirBlockInsertOwnedOperationBefore(parent, at, c);
    for (intptr_t r = 0; r < mlirOperationGetNumResults(op); r++)
      qcc_ptr_map_put(&m, mlirOperationGetResult(op, r).ptr, (void *)mlirOperationGetResult(c, r).ptr);
    if (mlirOperationIsNull(first)) first = c;
  }
  qcc_ptr_map_free(&m);
  return first;
}

static const char ITER[] = "qcc.iter", STATES[] = "qcc.scan_states", BATCH[] = "qcc.scan_batch";

static bool unrolling(onnx_node *n) { return onnx_has_attr(n, ITER); }

static void set_state(onnx_node *n, const MlirValue *operands, intptr_t count, int64_t iter) {
  mlirOperationSetOperands(n->op, count, operands);
  MlirAttribute a = mlirIntegerAttrGet(mlirIntegerTypeGet(n->ctx, 64), iter);
  mlirOperationSetAttributeByName(n->op, mlirStringRefCreateFromCString(ITER), a);
}

static bool within_budget(onnx_node *n, int64_t iterations) {
  int64_t per = onnx_body_ops(n->op);
  if (per > 0 && iterations > QCC_UNROLL_MAX_OPS / per) {
    onnx_fail(n, "unrolling %lld iterations of a %lld-op body exceeds %d ops, and it cannot be a C loop (a Loop with "
                 "a constant trip count or a condition known only at run time, or a Scan of opset 9 or later)",
              (long long)iterations, (long long)per, QCC_UNROLL_MAX_OPS);
    return false;
  }
  return true;
}

static bool too_big_to_unroll(onnx_node *n, int64_t iterations) {
  int64_t per = onnx_body_ops(n->op);
  return per > 0 && iterations > qcc_unroll_max_ops / per;
}

/* A loop too big to unroll: a C loop when its body can be one, else
 * unrolled when within QCC_UNROLL_MAX_OPS (-v says why), else refused with
 * both reasons. 1: the node is a q.loop now; 0: unroll it; -1: refused. */
static int c_loop_or_unroll(onnx_node *n, int64_t iterations, const scan_form *f) {
  char why[400];
  if (onnx_try_c_loop(n, iterations, f, why, sizeof why)) return 1;
  int64_t per = onnx_body_ops(n->op);
  if (per > 0 && iterations > QCC_UNROLL_MAX_OPS / per)
    return onnx_fail(n, "is not a C loop (%s), and unrolling %lld iterations of a %lld-op body exceeds %d ops", why,
                     (long long)iterations, (long long)per, QCC_UNROLL_MAX_OPS);
  qcc_remark("legalize-onnx: %s: unrolled: not a C loop: %s", n->where, why);
  return 0;
}

/* Replaces the op's results by res[] and erases it (and its body). */
static int finish(onnx_node *n, const MlirValue *res) {
  for (int i = 0; i < n->n_out; i++) mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(n->op, i), res[i]);
  mlirOperationDestroy(n->op);
  return 0;
}

/* x with index idx of axis taken and the axis removed. */
static MlirValue take(onnx_node *n, MlirValue x, int64_t axis, int64_t idx) {
  qcc_shape s, y;
  qcc_shape_of(x, &s);
  q_slice_attrs a;
  a.starts.n = a.steps.n = s.rank;
  for (int d = 0; d < s.rank; d++) {
    a.starts.v[d] = d == axis ? idx : 0;
    a.steps.v[d] = 1;
  }
  y = s;
  y.dims[axis] = 1;
  MlirValue v = onnx_emit(n, q_slice_create(n->loc, onnx_type(n, &y), x, &a));
  y.rank--;
  memmove(y.dims + axis, y.dims + axis + 1, sizeof(int64_t) * (size_t)(y.rank - axis));
  return onnx_reshape(n, v, &y);
}

/* The count pieces (each of shape `one`, extent 1 along axis) joined
 * along axis, by q.concats of at most CONCAT_MAX operands (an op's
 * operand limit): groups first, then the groups. */
enum { CONCAT_MAX = QRT_CONCAT_MAX_INPUTS };
static MlirValue concat_pieces(onnx_node *n, MlirValue *ins, int64_t count, int64_t axis, const qcc_shape *one) {
  int64_t per = 1; /* the pieces' extent along axis, at this level */
  q_concat_attrs a = {axis};
  while (count > 1) {
    int64_t groups = (count + CONCAT_MAX - 1) / CONCAT_MAX, total = count * per;
    for (int64_t g = 0; g < groups; g++) {
      int64_t k = g == groups - 1 ? count - g * CONCAT_MAX : CONCAT_MAX;
      qcc_shape y = *one;
      y.dims[axis] = g == groups - 1 ? total - g * CONCAT_MAX * per : k * per;
      ins[g] = k == 1 ? ins[g * CONCAT_MAX]
                      : onnx_emit(n, q_concat_create(n->loc, onnx_type(n, &y), ins + g * CONCAT_MAX, k, &a));
    }
    count = groups;
    per *= CONCAT_MAX;
  }
  return ins[0];
}

/* The count pieces (one static shape) stacked along a new axis; reverse:
 * the last piece first. *out = the result; false with an error. */
static bool stack(onnx_node *n, const char *what, int k, MlirValue const *pieces, int64_t count, int64_t axis,
                  bool reverse, MlirValue *out) {
  qcc_shape s, si;
  char b0[128], b1[128];
  if (!qcc_shape_of(pieces[0], &s)) return onnx_fail(n, "%s %d has no static shape", what, k), false;
  if (s.rank + 1 > QRT_MAX_RANK) return onnx_fail(n, "%s %d would have rank %d", what, k, s.rank + 1), false;
  if (!onnx_axis(n, axis, s.rank + 1, &axis)) return false;
  qcc_shape one = s;
  memmove(one.dims + axis + 1, one.dims + axis, sizeof(int64_t) * (size_t)(s.rank - axis));
  one.dims[axis] = 1;
  one.rank++;
  MlirValue *ins = malloc(sizeof *ins * (size_t)count);
  for (int64_t j = 0; j < count; j++) {
    MlirValue p = pieces[reverse ? count - 1 - j : j];
    if (!qcc_shape_of(p, &si) || si.dtype != s.dtype || si.rank != s.rank ||
        memcmp(si.dims, s.dims, sizeof(int64_t) * (size_t)s.rank)) {
      free(ins);
      onnx_fail(n, "%s %d is %s in the first iteration but %s in another; stacked iterations need one shape", what,
                k, qcc_shape_str(&s, b0, sizeof b0), qcc_shape_str(&si, b1, sizeof b1));
      return false;
    }
    ins[j] = onnx_reshape(n, p, &one);
  }
  *out = concat_pieces(n, ins, count, axis, &one);
  free(ins);
  return true;
}

/* A constant of the type a body argument declares (rank 0 unless it
 * declares a one-element tensor), holding v. */
static MlirValue arg_constant(onnx_node *n, int arg, qrt_dtype t, double v) {
  qcc_shape s;
  MlirValue c = onnx_scalar(n, t, v);
  if (qcc_shape_of(mlirBlockGetArgument(body_block(n->op), arg), &s) && s.dtype == t && qcc_shape_numel(&s) == 1)
    c = onnx_reshape(n, c, &s);
  return c;
}

/* ---- Loop ---------------------------------------------------------------- */

/* The constant scalar input i as an int64 (bool: 0/1); false if not constant. */
static bool const_scalar(onnx_node *n, int i, int64_t *v) {
  qcc_array a;
  if (!onnx_const_input(n, i, &a)) return false;
  bool ok = qcc_array_numel(&a) == 1;
  if (ok) switch (a.dtype) {
    case QRT_I64: *v = ((int64_t *)a.data)[0]; break;
    case QRT_I32: *v = ((int32_t *)a.data)[0]; break;
    case QRT_BOOL: *v = ((uint8_t *)a.data)[0] != 0; break;
    default: ok = false;
    }
  qcc_array_free(&a);
  return ok;
}

int onnx_legalize_loop(onnx_node *n, MlirOperation *next) {
  MlirBlock body = body_block(n->op);
  int n_carried = (int)mlirBlockGetNumArguments(body) - 2;
  int n_scan = n->n_out - n_carried;
  if (n_carried < 0 || n_scan < 0 || mlirOperationGetNumOperands(onnx_region_yield(n->op, 0)) != 1 + n_carried + n_scan)
    return onnx_fail(n, "the body's %d inputs and %d outputs do not match the node's %d outputs",
                     (int)mlirBlockGetNumArguments(body), (int)mlirOperationGetNumOperands(onnx_region_yield(n->op, 0)), n->n_out);
  int64_t t = onnx_attr_int(n, ITER, 0), trip = -1, cond = 1;
  if (onnx_has_in(n, 0)) {
    if (!const_scalar(n, 0, &trip))
      return onnx_fail(n, "input 0 (M, the trip count) must be a compile-time constant integer scalar: qcc needs "
                          "Loop's trip count at compile time");
  }
  if (onnx_has_in(n, 1) && !const_scalar(n, 1, &cond)) {
    if (t == 0) return onnx_fail(n, "input 1 (cond) must be a compile-time constant bool: qcc needs Loop's trip count at compile time");
    return onnx_fail(n, "the condition the body returns in iteration %lld is known only at run time; qcc needs "
                        "Loop's trip count at compile time%s",
                     (long long)t - 1,
                     trip >= 1 && n_scan == 0 ? " to unroll it (--unroll-max-ops 0: a C loop, which ends where it is false)"
                                              : "");
  }
  if (t == 0 && trip >= 1 && cond && too_big_to_unroll(n, trip)) {
    int r = c_loop_or_unroll(n, trip, NULL);
    if (r) return r > 0 ? 0 : -1;
  }
  if (t == 0 && trip >= 0 && !within_budget(n, trip)) return -1;
  if (trip < 0 && !onnx_has_in(n, 1)) return onnx_fail(n, "has neither a trip count nor a condition: it never ends");
  if (t == 0 && trip < 0 && cond) { /* a while: a C loop if its body's condition is known only at run time */
    char why[400];
    if (onnx_try_c_loop(n, INT64_MAX, NULL, why, sizeof why)) return 0;
  }
  if (trip < 0 && !within_budget(n, t + 1)) return -1;
  MlirValue *ops = malloc(sizeof *ops * (size_t)(2 + n_carried + (t + 1) * n_scan + 1));
  for (int i = 0; i < 2 + n_carried + t * n_scan; i++) ops[i] = mlirOperationGetOperand(n->op, i);
  int rc = 0;
  if ((trip < 0 || t < trip) && cond) {
    MlirValue *args = malloc(sizeof *args * (size_t)(2 + n_carried));
    MlirValue *ys = malloc(sizeof *ys * (size_t)(1 + n_carried + n_scan));
    args[0] = arg_constant(n, 0, QRT_I64, (double)t);
    args[1] = onnx_has_in(n, 1) ? ops[1] : arg_constant(n, 1, QRT_BOOL, 1);
    for (int i = 0; i < n_carried; i++) args[2 + i] = ops[2 + i];
    MlirOperation first = clone_body(n->op, n->op, args, ys);
    /* Without an input condition the body's is ignored (ONNX: "for"). */
    if (onnx_has_in(n, 1)) ops[1] = ys[0];
    for (int i = 0; i < n_carried; i++) ops[2 + i] = ys[1 + i];
    for (int k = 0; k < n_scan; k++) ops[2 + n_carried + t * n_scan + k] = ys[1 + n_carried + k];
    set_state(n, ops, 2 + n_carried + (t + 1) * n_scan, t + 1);
    *next = mlirOperationIsNull(first) ? n->op : first;
    free(args);
    free(ys);
  } else if (n_scan && t == 0) {
    rc = onnx_fail(n, "runs no iteration, so its %d scan output(s) would be empty; qcc does not compile empty scan "
                      "outputs",
                   n_scan);
  } else {
    MlirValue *res = malloc(sizeof *res * (size_t)(n->n_out + 1));
    for (int i = 0; i < n_carried; i++) res[i] = ops[2 + i];
    MlirValue *pieces = malloc(sizeof *pieces * (size_t)(t + 1));
    for (int k = 0; k < n_scan && !rc; k++) {
      for (int64_t j = 0; j < t; j++) pieces[j] = ops[2 + n_carried + j * n_scan + k];
      if (!stack(n, "scan output", k, pieces, t, 0, false, &res[n_carried + k])) rc = -1;
    }
    if (!rc) {
      qcc_remark("legalize-onnx: %s: unrolled %lld iteration(s)", n->where, (long long)t);
      rc = finish(n, res);
    }
    free(pieces);
    free(res);
  }
  free(ops);
  return rc;
}

/* ---- Scan ---------------------------------------------------------------- */


static bool attr_list(onnx_node *n, const char *name, int count, q_i64s *out) {
  if (!onnx_attr_ints(n, name, out)) {
    out->n = count;
    memset(out->v, 0, sizeof out->v);
  }
  if (out->n != count) return onnx_fail(n, "attribute %s has %d values for %d tensors", name, out->n, count), false;
  return true;
}

static bool scan_read(onnx_node *n, scan_form *f) {
  memset(f, 0, sizeof *f);
  bool v8 = n->opset < 9;
  f->first = v8 ? 1 : 0;
  f->n_in = (int)onnx_attr_int(n, "num_scan_inputs", -1);
  f->n_state = n->n_in - f->first - f->n_in;
  f->n_out = n->n_out - f->n_state;
  if (f->n_in < 1 || f->n_state < 0 || f->n_out < 0)
    return onnx_fail(n, "num_scan_inputs %d does not fit its %d inputs and %d outputs", f->n_in, n->n_in, n->n_out),
           false;
  if (f->n_in > QRT_MAX_RANK || f->n_out > QRT_MAX_RANK)
    return onnx_fail(n, "more than %d scan inputs or outputs", QRT_MAX_RANK), false;
  if (v8) {
    if (!attr_list(n, "directions", f->n_in, &f->in_dirs)) return false;
    f->in_axes.n = f->n_in;
    for (int i = 0; i < f->n_in; i++) f->in_axes.v[i] = 1;
    f->out_axes.n = f->out_dirs.n = f->n_out;
  } else if (!attr_list(n, "scan_input_axes", f->n_in, &f->in_axes) ||
             !attr_list(n, "scan_input_directions", f->n_in, &f->in_dirs) ||
             !attr_list(n, "scan_output_axes", f->n_out, &f->out_axes) ||
             !attr_list(n, "scan_output_directions", f->n_out, &f->out_dirs)) {
    return false;
  }
  f->batch = 1;
  for (int i = 0; i < f->n_in; i++) {
    qcc_shape s;
    int in = f->first + f->n_state + i;
    if (!onnx_in_shape(n, in, &s)) return false;
    if (v8 && s.rank < 2) return onnx_fail(n, "scan input %d must have batch and sequence axes", i), false;
    if (!onnx_axis(n, f->in_axes.v[i], s.rank, &f->in_axes.v[i])) return false;
    int64_t len = s.dims[f->in_axes.v[i]];
    if (i == 0) f->len = len, f->batch = v8 ? s.dims[0] : 1;
    if (len != f->len || (v8 && s.dims[0] != f->batch))
      return onnx_fail(n, "scan input %d's sequence length %lld differs from scan input 0's %lld", i, (long long)len,
                       (long long)f->len),
             false;
  }
  if (v8 && onnx_has_in(n, 0)) {
    qcc_array a;
    if (!onnx_const_input(n, 0, &a))
      return onnx_fail(n, "input 0 (sequence_lens) must be a compile-time constant"), false;
    bool full = a.dtype == QRT_I32 && qcc_array_numel(&a) == f->batch;
    for (int64_t b = 0; full && b < f->batch; b++) full = ((int32_t *)a.data)[b] == f->len;
    qcc_array_free(&a);
    if (!full) return onnx_fail(n, "sequence_lens shorter than the scan inputs' %lld steps are not supported", (long long)f->len), false;
  }
  if (f->len == 0 || f->batch == 0)
    return onnx_fail(n, "the sequence is empty; qcc does not compile empty scans"), false;
  return true;
}

/* First visit: every iteration of every batch entry copied before the op;
 * the operands become all the copies' yields, in (batch, step) order. */
static int scan_unroll(onnx_node *n, const scan_form *f, MlirOperation *next) {
  if (!within_budget(n, f->batch * f->len)) return -1;
  int per = f->n_state + f->n_out;
  int64_t total = f->batch * f->len * per;
  MlirValue *ops = malloc(sizeof *ops * (size_t)(total + 1));
  MlirValue *args = malloc(sizeof *args * (size_t)(per + f->n_in + 1));
  MlirValue *ys = malloc(sizeof *ys * (size_t)(per + 1));
  MlirOperation first = {NULL};
  bool v8 = f->first == 1;
  for (int64_t b = 0; b < f->batch; b++) {
    MlirValue ins[QRT_MAX_RANK];
    for (int i = 0; i < f->n_state; i++) {
      MlirValue s = onnx_in(n, f->first + i);
      args[i] = v8 ? take(n, s, 0, b) : s;
    }
    for (int i = 0; i < f->n_in; i++) {
      MlirValue x = onnx_in(n, f->first + f->n_state + i);
      ins[i] = v8 ? take(n, x, 0, b) : x;
    }
    for (int64_t t = 0; t < f->len; t++) {
      for (int i = 0; i < f->n_in; i++) {
        int64_t axis = v8 ? 0 : f->in_axes.v[i];
        args[f->n_state + i] = take(n, ins[i], axis, f->in_dirs.v[i] ? f->len - 1 - t : t);
      }
      MlirOperation c = clone_body(n->op, n->op, args, ys);
      if (mlirOperationIsNull(first)) first = c;
      for (int i = 0; i < per; i++) ops[(b * f->len + t) * per + i] = ys[i];
      for (int i = 0; i < f->n_state; i++) args[i] = ys[i];
    }
  }
  set_state(n, ops, total, f->len);
  *next = mlirOperationIsNull(first) ? n->op : first;
  free(ops);
  free(args);
  free(ys);
  return 0;
}

/* Second visit: final states and stacked scan outputs. */
static int scan_finish(onnx_node *n, const scan_form *f) {
  int per = f->n_state + f->n_out;
  int64_t B = f->batch, L = f->len;
  bool v8 = f->first == 1;
  MlirValue *res = malloc(sizeof *res * (size_t)(n->n_out + 1));
  MlirValue *pieces = malloc(sizeof *pieces * (size_t)(B * L + 1));
  MlirValue *rows = malloc(sizeof *rows * (size_t)(B + 1));
  int rc = 0;
  for (int i = 0; i < f->n_state && !rc; i++) {
    for (int64_t b = 0; b < B; b++) rows[b] = mlirOperationGetOperand(n->op, (b * L + L - 1) * per + i);
    if (!v8) res[i] = rows[0];
    else if (!stack(n, "state", i, rows, B, 0, false, &res[i])) rc = -1;
  }
  for (int k = 0; k < f->n_out && !rc; k++) {
    for (int64_t b = 0; b < B && !rc; b++) {
      for (int64_t t = 0; t < L; t++) pieces[t] = mlirOperationGetOperand(n->op, (b * L + t) * per + f->n_state + k);
      if (!stack(n, "scan output", k, pieces, L, f->out_axes.v[k], f->out_dirs.v[k] != 0, &rows[b])) rc = -1;
    }
    if (!rc) {
      if (!v8) res[f->n_state + k] = rows[0];
      else if (!stack(n, "scan output", k, rows, B, 0, false, &res[f->n_state + k])) rc = -1;
    }
  }
  if (!rc) {
    qcc_remark("legalize-onnx: %s: unrolled %lld step(s)%s", n->where, (long long)L, v8 ? " per batch entry" : "");
    rc = finish(n, res);
  }
  free(res);
  free(pieces);
  free(rows);
  return rc;
}

/* The first visit reads the form from the original operands; the second
 * (the operands are yields then) from the attributes the first left. */
int onnx_legalize_scan(onnx_node *n, MlirOperation *next) {
  scan_form f;
  if (!unrolling(n)) {
    if (!scan_read(n, &f)) return -1;
    MlirType i64 = mlirIntegerTypeGet(n->ctx, 64);
    mlirOperationSetAttributeByName(n->op, mlirStringRefCreateFromCString(STATES),
                                    mlirIntegerAttrGet(i64, f.n_state));
    mlirOperationSetAttributeByName(n->op, mlirStringRefCreateFromCString(BATCH), mlirIntegerAttrGet(i64, f.batch));
    if (f.first == 0 && too_big_to_unroll(n, f.len)) {
      int r = c_loop_or_unroll(n, f.len, &f);
      if (r) return r > 0 ? 0 : -1;
    }
    return scan_unroll(n, &f, next);
  }
  memset(&f, 0, sizeof f);
  f.first = n->opset < 9 ? 1 : 0;
  f.n_state = (int)onnx_attr_int(n, STATES, 0);
  f.n_out = n->n_out - f.n_state;
  f.batch = onnx_attr_int(n, BATCH, 1);
  f.len = onnx_attr_int(n, ITER, 0);
  if (f.first) f.out_axes.n = f.out_dirs.n = f.n_out;
  else if (!attr_list(n, "scan_output_axes", f.n_out, &f.out_axes) ||
           !attr_list(n, "scan_output_directions", f.n_out, &f.out_dirs))
    return -1;
  return scan_finish(n, &f);
}
