/* legalize_if.c - legalize-onnx's rule for onnx.If (see onnx_import_if.c
 * for its form): the branches are flattened into the parent block, so every
 * later pass, the evaluator and the emitter see one flat block of q ops.
 *
 * - Condition constant (after folding what computes it, e.g. Equal of a
 *   --bind-bound input): the taken branch's ops move before the If, its
 *   yielded values replace the If's results, the other branch is dropped.
 * - Condition known at run time only: both branches' ops move before the
 *   If (then first), are legalized like any others, and then each result
 *   becomes q.where(cond, then_value, else_value) on the rank-0 condition,
 *   marked qcc.if_select. Both values must have one static type. The
 *   emitter and the evaluator run an op only when a select takes its value
 *   (codegen/guards.c), so the generated C branches; without the marker the
 *   where would still be right, computing both branches. */
#include <stdio.h>
#include <string.h>

#include "onnx_rules.h"
#include "passes.h"

static MlirBlock branch_block(MlirOperation iff, int b) {
  return mlirRegionGetFirstBlock(mlirOperationGetRegion(iff, b));
}

/* Moves branch b's ops (all but the yield) before the If; returns the
 * first one moved, or a null op when the branch only yields. */
static MlirOperation inline_branch(MlirOperation iff, int b) {
  MlirOperation first = {NULL};
  MlirOperation op = mlirBlockGetFirstOperation(branch_block(iff, b));
  while (!q_op_named(op, "onnx.Yield")) {
    MlirOperation next = mlirOperationGetNextInBlock(op);
    mlirOperationMoveBefore(op, iff);
    if (mlirOperationIsNull(first)) first = op;
    op = next;
  }
  return first;
}

static bool flattened(MlirOperation iff) {
  return q_op_named(mlirBlockGetFirstOperation(branch_block(iff, 0)), "onnx.Yield") &&
         q_op_named(mlirBlockGetFirstOperation(branch_block(iff, 1)), "onnx.Yield");
}

static int check_cond(onnx_node *n, qcc_shape *cs) {
  if (!onnx_in_shape(n, 0, cs)) return -1;
  if (cs->dtype != QRT_BOOL || qcc_shape_numel(cs) != 1) {
    char buf[128];
    return onnx_fail(n, "the condition must be one bool, got %s", qcc_shape_str(cs, buf, sizeof buf));
  }
  return 0;
}

/* Each result is the taken branch's yielded value. */
static int inline_taken(onnx_node *n, bool cond, MlirOperation *next) {
  int b = cond ? 0 : 1;
  MlirOperation first = inline_branch(n->op, b);
  MlirOperation yield = onnx_region_yield(n->op, b);
  for (int i = 0; i < n->n_out; i++)
    mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(n->op, i), mlirOperationGetOperand(yield, i));
  if (!mlirOperationIsNull(first)) *next = first;
  qcc_remark("legalize-onnx: %s: the condition is the constant %s; %s inlined, %s dropped", n->where,
             cond ? "true" : "false", cond ? "then_branch" : "else_branch", cond ? "else_branch" : "then_branch");
  mlirOperationDestroy(n->op);
  return 0;
}

/* Both branches are legalized in the parent block: one where per result. */
static int select_results(onnx_node *n, MlirValue cond) {
  MlirOperation yields[2] = {onnx_region_yield(n->op, 0), onnx_region_yield(n->op, 1)};
  MlirValue c = cond; /* rank 0 already (onnx_legalize_if) */
  MlirAttribute unit = mlirUnitAttrGet(n->ctx);
  for (int i = 0; i < n->n_out; i++) {
    MlirValue t = mlirOperationGetOperand(yields[0], i), e = mlirOperationGetOperand(yields[1], i);
    qcc_shape ts, es;
    char tb[128], eb[128];
    if (!qcc_shape_of(t, &ts) || !qcc_shape_of(e, &es))
      return onnx_fail(n, "output %d has no static type in one of the branches", i);
    if (!mlirTypeEqual(mlirValueGetType(t), mlirValueGetType(e)))
      return onnx_fail(n, "output %d is %s in then_branch but %s in else_branch; a run-time If needs one static "
                          "type (bind the condition's inputs with --bind to pick a branch at compile time)",
                       i, qcc_shape_str(&ts, tb, sizeof tb), qcc_shape_str(&es, eb, sizeof eb));
    MlirValue r = t;
    if (!mlirValueEqual(t, e)) {
      r = onnx_where(n, c, t, e, &ts);
      mlirOperationSetAttributeByName(mlirOpResultGetOwner(r), mlirStringRefCreateFromCString("qcc.if_select"), unit);
    }
    mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(n->op, i), r);
  }
  mlirOperationDestroy(n->op);
  return 0;
}

int onnx_legalize_if(onnx_node *n, MlirOperation *next) {
  qcc_shape cs;
  qcc_array c;
  if (check_cond(n, &cs)) return -1;
  if (onnx_const_input(n, 0, &c)) {
    bool v = ((const uint8_t *)c.data)[0] != 0;
    qcc_array_free(&c);
    return inline_taken(n, v, next);
  }
  if (flattened(n->op)) return select_results(n, onnx_in(n, 0));
  /* Run-time condition: legalize both branches here, then come back. The
   * rank-0 condition the selects and the guards read is made first, so it
   * is computed before either branch runs. */
  qcc_shape scalar = {QRT_BOOL, 0, {0}};
  mlirOperationSetOperand(n->op, 0, onnx_reshape(n, onnx_in(n, 0), &scalar));
  MlirOperation first = inline_branch(n->op, 0), second = inline_branch(n->op, 1);
  *next = !mlirOperationIsNull(first) ? first : !mlirOperationIsNull(second) ? second : n->op;
  return 0;
}
