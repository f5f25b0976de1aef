/* legalize_loop_region.c - legalize-onnx's rule for a Loop or Scan too big
 * to unroll: one q.loop (dialects/q.irdl.mlir), which the evaluator runs
 * and the C backend emits as a `for` over the body.
 *
 * The body is legalized where it is, in the node's region, once its block
 * arguments have the static types every iteration sees: the iteration
 * number an i64 with one element, each carried value its initial value's
 * type, each scan slice its input's type without the scan axis. An op of
 * the body that needs a compile-time constant which depends on the
 * iteration number (a Slice starting at i) fails there; as this runs on a
 * copy of the node with its errors held (onnx_try_c_loop), the node is
 * then unrolled instead when it may be (legalize_loop.c). Then the region
 * moves into a new q.loop, whose body ends with onnx.Yield(next carried
 * values..., scan output slices...).
 *
 * q.loop iterates its scan inputs, and stacks its scan outputs, along
 * axis 0 only: a Scan axis other than 0 becomes a q.transpose before the
 * loop (inputs) or after it (outputs), so the loop itself copies
 * contiguous slices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "legalize_loop.h"
#include "passes.h"

static MlirBlock body_of(MlirOperation op) { return mlirRegionGetFirstBlock(mlirOperationGetRegion(op, 0)); }

/* The iteration number's type: as the body declares it when that is one
 * i64 element ([1] or a scalar), else a scalar. */
static MlirType iter_type(onnx_node *n, MlirValue arg) {
  qcc_shape s;
  if (!mlirValueIsNull(arg) && qcc_shape_of(arg, &s) && s.dtype == QRT_I64 && qcc_shape_numel(&s) == 1)
    return mlirValueGetType(arg);
  qcc_shape scalar = {QRT_I64, 0, {0}};
  return onnx_type(n, &scalar);
}

/* A scan input's shape without its axis 0: one slice. */
static qcc_shape drop_axis0(const qcc_shape *s) {
  qcc_shape r = *s;
  r.rank--;
  memmove(r.dims, r.dims + 1, sizeof(int64_t) * (size_t)r.rank);
  return r;
}

/* A scan output slice's shape s with an axis 0 of extent len prepended:
 * the slices stacked; false with an error past QRT_MAX_RANK. */
static bool stacked(onnx_node *n, int k, const qcc_shape *s, int64_t len, qcc_shape *out) {
  if (s->rank + 1 > QRT_MAX_RANK)
    return onnx_fail(n, "scan output %d would have rank %d; at most %d is supported", k, s->rank + 1, QRT_MAX_RANK),
           false;
  *out = *s;
  memmove(out->dims + 1, out->dims, sizeof(int64_t) * (size_t)s->rank);
  out->dims[0] = len;
  out->rank++;
  return true;
}

/* x with axis moved to the front (to_front) or axis 0 moved to axis. */
static MlirValue move_axis(onnx_node *n, MlirOperation before, MlirValue x, int64_t axis, bool to_front) {
  if (axis == 0) return x;
  qcc_shape s, y;
  qcc_shape_of(x, &s);
  q_transpose_attrs a;
  memset(&a, 0, sizeof a);
  a.perm.n = s.rank;
  for (int d = 0; d < s.rank; d++) {
    if (to_front) a.perm.v[d] = d == 0 ? axis : d <= axis ? d - 1 : d;
    else a.perm.v[d] = d < axis ? d + 1 : d == axis ? 0 : d;
  }
  y = s;
  for (int d = 0; d < s.rank; d++) y.dims[d] = s.dims[a.perm.v[d]];
  return qcc_insert_before(before, q_transpose_create(n->loc, onnx_type(n, &y), x, &a));
}

/* Replaces uses of block argument `arg` by a constant true of its type. */
static void arg_is_true(onnx_node *n, MlirBlock body, MlirValue arg) {
  if (mlirOpOperandIsNull(mlirValueGetFirstUse(arg))) return;
  qcc_shape s;
  if (!qcc_shape_of(arg, &s) || s.dtype != QRT_BOOL || qcc_shape_numel(&s) != 1) s = (qcc_shape){QRT_BOOL, 0, {0}};
  uint8_t one = 1;
  qcc_array a = {QRT_BOOL, s.rank, {0}, &one, 1};
  memcpy(a.dims, s.dims, sizeof a.dims);
  mlirValueReplaceAllUsesOfWith(arg, qcc_make_constant(mlirBlockGetFirstOperation(body), n->loc, &a));
}

/* Erases the body's ops whose results nothing reads (q ops are pure). */
static void body_dce(MlirBlock body) {
  bool again = true;
  while (again) {
    again = false;
    for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);) {
      MlirOperation next = mlirOperationGetNextInBlock(op);
      intptr_t k = mlirOperationGetNumResults(op);
      bool dead = k > 0 && !q_op_named(op, "onnx.Yield");
      for (intptr_t i = 0; dead && i < k; i++) dead = mlirOpOperandIsNull(mlirValueGetFirstUse(mlirOperationGetResult(op, i)));
      if (dead) mlirOperationDestroy(op), again = true;
      op = next;
    }
  }
}

static bool same_type_or_fail(onnx_node *n, const char *what, int k, MlirValue in, MlirValue out) {
  if (mlirTypeEqual(mlirValueGetType(in), mlirValueGetType(out))) return true;
  qcc_shape a, b;
  char sa[128] = "?", sb[128] = "?";
  if (qcc_shape_of(in, &a)) qcc_shape_str(&a, sa, sizeof sa);
  if (qcc_shape_of(out, &b)) qcc_shape_str(&b, sb, sizeof sb);
  onnx_fail(n, "%s %d enters the body as %s but the body returns %s; a C loop needs one static type", what, k, sa, sb);
  return false;
}

/* Builds the q.loop from the legalized body: operands ins[n_ins], results
 * types[n_res] (carried values first), the yield's operands set to
 * yields[has_cond + n_res] (the condition first, with has_cond). Returns
 * the q.loop, inserted before the node. */
static MlirOperation make_loop(onnx_node *n, int64_t trip, int n_carried, const MlirValue *ins, int n_ins,
                               const MlirType *types, int n_res, const MlirValue *yields, const q_i64s *in_rev,
                               const q_i64s *out_rev, bool has_cond) {
  MlirOperation yield = onnx_region_yield(n->op, 0);
  mlirOperationSetOperands(yield, n_res + has_cond, yields);
  MlirRegion r = mlirRegionCreate();
  mlirRegionTakeBody(r, mlirOperationGetRegion(n->op, 0));
  q_loop_attrs a;
  memset(&a, 0, sizeof a);
  a.trip_count = trip;
  a.num_carried = n_carried;
  a.scan_in_reverse = *in_rev;
  a.scan_out_reverse = *out_rev;
  a.has_cond = has_cond;
  MlirOperation loop = q_loop_create(n->loc, types, n_res, ins, n_ins, &a, r);
  qcc_insert_before(n->op, loop);
  body_dce(body_of(loop));
  return loop;
}

int onnx_try_c_loop(onnx_node *n, int64_t trip, const scan_form *f, char *why, size_t cap) {
  MlirOperation orig = n->op, copy = mlirOperationClone(orig);
  mlirBlockInsertOwnedOperationBefore(mlirOperationGetBlock(orig), orig, copy);
  for (int i = 0; i < n->n_out; i++)
    mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(orig, i), mlirOperationGetResult(copy, i));
  onnx_node c = *n;
  c.op = copy;
  qcc_error_hold outer = qcc_hold_errors(why, cap);
  int rc = f ? onnx_scan_region(&c, f) : onnx_loop_region(&c, trip);
  qcc_restore_errors(outer);
  if (!rc) { /* the copy is a q.loop now */
    mlirOperationDestroy(orig);
    return 1;
  }
  /* What the attempt made before the copy (constants, transposes) is
   * dead, and goes with dce; the copy goes now. */
  for (int i = 0; i < n->n_out; i++)
    mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(copy, i), mlirOperationGetResult(orig, i));
  mlirOperationDestroy(copy);
  return 0;
}

int onnx_loop_region(onnx_node *n, int64_t trip) {
  MlirBlock body = body_of(n->op);
  int n_carried = (int)mlirBlockGetNumArguments(body) - 2, n_scan = n->n_out - n_carried;
  if (n_scan > 16) return onnx_fail(n, "more than 16 scan outputs");
  if (n->n_out == 0) return onnx_fail(n, "has no outputs"); /* a q.loop has at least one result */
  mlirValueSetType(mlirBlockGetArgument(body, 0), iter_type(n, mlirBlockGetArgument(body, 0)));
  arg_is_true(n, body, mlirBlockGetArgument(body, 1));
  mlirBlockEraseArgument(body, 1);
  for (int i = 0; i < n_carried; i++) {
    qcc_shape s;
    if (!onnx_in_shape(n, 2 + i, &s)) return -1;
    mlirValueSetType(mlirBlockGetArgument(body, 1 + i), mlirValueGetType(onnx_in(n, 2 + i)));
  }
  if (onnx_legalize_block(body, n->opset)) return -1;
  MlirOperation yield = onnx_region_yield(n->op, 0);
  /* The body's condition: the constant true, or the loop ends where it
   * is false (C: break), which scan outputs of a static length cannot. */
  bool has_cond = false;
  if (onnx_has_in(n, 1)) {
    onnx_node y = *n;
    y.op = yield;
    y.n_in = (int)mlirOperationGetNumOperands(yield);
    qcc_array c;
    bool known = onnx_const_input(&y, 0, &c), stays = known && qcc_array_numel(&c) == 1 && ((uint8_t *)c.data)[0];
    if (known) qcc_array_free(&c);
    has_cond = !stays;
    qcc_shape cs;
    if (has_cond && n_scan)
      return onnx_fail(n, "the condition its body returns is %s, so its %d scan output(s) would have no static "
                          "length",
                       known ? "the constant false" : "known only at run time", n_scan);
    if (has_cond && (!qcc_shape_of(mlirOperationGetOperand(yield, 0), &cs) || cs.dtype != QRT_BOOL ||
                     qcc_shape_numel(&cs) != 1))
      return onnx_fail(n, "the condition its body returns is not one bool");
  }
  if (trip == INT64_MAX && !has_cond) /* no M: the condition ends it, or nothing does */
    return onnx_fail(n, "has no trip count and its body's condition is the constant true: it never ends");
  int n_res = n_carried + n_scan;
  MlirValue *ys = malloc(sizeof *ys * (size_t)(n_res + 2));
  MlirValue *ins = malloc(sizeof *ins * (size_t)(n_carried + 1));
  MlirType *types = malloc(sizeof *types * (size_t)(n_res + 1));
  int rc = 0;
  if (has_cond) ys[0] = mlirOperationGetOperand(yield, 0);
  for (int i = 0; i < n_res && !rc; i++) {
    MlirValue yi = ys[has_cond + i] = mlirOperationGetOperand(yield, 1 + i);
    if (i < n_carried) {
      ins[i] = onnx_in(n, 2 + i);
      types[i] = mlirValueGetType(ins[i]);
      if (!same_type_or_fail(n, "carried value", i, ins[i], yi)) rc = -1;
    } else {
      qcc_shape s, y;
      if (!qcc_shape_of(yi, &s) || !stacked(n, i - n_carried, &s, trip, &y)) rc = -1;
      else types[i] = onnx_type(n, &y);
    }
  }
  if (!rc) {
    q_i64s none = {0, {0}}, fwd = {n_scan, {0}};
    MlirOperation loop = make_loop(n, trip, n_carried, ins, n_carried, types, n_res, ys, &none, &fwd, has_cond);
    for (int i = 0; i < n_res; i++)
      mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(n->op, i), mlirOperationGetResult(loop, i));
    if (trip == INT64_MAX)
      qcc_remark("legalize-onnx: %s: a C loop over a %lld-op body, ended by its condition (no trip count)", n->where,
                 (long long)onnx_body_ops(loop));
    else
      qcc_remark("legalize-onnx: %s: a C loop of %s%lld iteration(s) over a %lld-op body%s", n->where,
                 has_cond ? "at most " : "", (long long)trip, (long long)onnx_body_ops(loop),
                 has_cond ? ", ended by its condition" : "");
    mlirOperationDestroy(n->op);
  }
  free(ys);
  free(ins);
  free(types);
  return rc;
}

int onnx_scan_region(onnx_node *n, const scan_form *f) {
  MlirBlock body = body_of(n->op);
  if ((int)mlirBlockGetNumArguments(body) != f->n_state + f->n_in)
    return onnx_fail(n, "the body has %d inputs for %d states and %d scan inputs", (int)mlirBlockGetNumArguments(body),
                     f->n_state, f->n_in);
  if (n->n_out == 0) return onnx_fail(n, "has no outputs"); /* a q.loop has at least one result */
  mlirBlockInsertArgument(body, 0, iter_type(n, (MlirValue){NULL}), n->loc);
  int n_res = f->n_state + f->n_out;
  q_i64s out_axes = f->out_axes; /* normalized below, against the stacked rank */
  MlirValue *ins = malloc(sizeof *ins * (size_t)(f->n_state + f->n_in + 1));
  MlirValue *ys = malloc(sizeof *ys * (size_t)(n_res + 1));
  MlirType *types = malloc(sizeof *types * (size_t)(n_res + 1));
  int rc = 0;
  for (int i = 0; i < f->n_state + f->n_in && !rc; i++) {
    qcc_shape s;
    if (!onnx_in_shape(n, i, &s)) {
      rc = -1;
      break;
    }
    ins[i] = onnx_in(n, i);
    MlirType t = mlirValueGetType(ins[i]);
    if (i >= f->n_state) {
      ins[i] = move_axis(n, n->op, ins[i], f->in_axes.v[i - f->n_state], true);
      qcc_shape_of(ins[i], &s);
      qcc_shape slice = drop_axis0(&s);
      t = onnx_type(n, &slice);
    }
    mlirValueSetType(mlirBlockGetArgument(body, 1 + i), t);
  }
  if (!rc && onnx_legalize_block(body, n->opset)) rc = -1;
  MlirOperation yield = rc ? (MlirOperation){NULL} : onnx_region_yield(n->op, 0);
  if (!rc && (int)mlirOperationGetNumOperands(yield) != n_res)
    rc = onnx_fail(n, "the body returns %d values for %d outputs", (int)mlirOperationGetNumOperands(yield), n_res);
  for (int i = 0; i < n_res && !rc; i++) {
    ys[i] = mlirOperationGetOperand(yield, i);
    if (i < f->n_state) {
      types[i] = mlirValueGetType(ins[i]);
      if (!same_type_or_fail(n, "state", i, ins[i], ys[i])) rc = -1;
    } else {
      qcc_shape s, y;
      if (!qcc_shape_of(ys[i], &s) || !stacked(n, i - f->n_state, &s, f->len, &y)) rc = -1;
      else if (!onnx_axis(n, out_axes.v[i - f->n_state], y.rank, &out_axes.v[i - f->n_state])) rc = -1;
      else types[i] = onnx_type(n, &y);
    }
  }
  if (!rc) {
    MlirOperation loop =
        make_loop(n, f->len, f->n_state, ins, f->n_state + f->n_in, types, n_res, ys, &f->in_dirs, &f->out_dirs, false);
    for (int i = 0; i < n_res; i++) {
      MlirValue v = mlirOperationGetResult(loop, i);
      if (i >= f->n_state) v = move_axis(n, n->op, v, out_axes.v[i - f->n_state], false);
      mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(n->op, i), v);
    }
    qcc_remark("legalize-onnx: %s: a C loop of %lld step(s) over a %lld-op body", n->where, (long long)f->len,
               (long long)onnx_body_ops(loop));
    mlirOperationDestroy(n->op);
  }
  free(ins);
  free(ys);
  free(types);
  return rc;
}
