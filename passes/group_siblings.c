/* group_siblings.c - the group-sibling-matmuls pass (--threads N > 1):
 * integer matmuls that read the same activations (an attention block's
 * q, k and v projections; a gated MLP's gate and up) move next to each
 * other, so codegen emits them as one qrt_qmatmul_group call: one
 * parallel region instead of one per matmul.
 *
 * Why: a split kernel costs one hand-off to the threads (publishing the
 * job, waiting for the last task), about a microsecond where cores talk
 * through a slow fabric, and a small model's projections run for a few
 * microseconds each. Grouped, the threads take the same rows of every
 * sibling GEMM after one hand-off, and their tasks are larger.
 *
 *   a = ...                               a = ...
 *   q = q.qmatmul(a, Wq)                  q = q.qmatmul(a, Wq)
 *   qt = q.transpose(q)          ->       k = q.qmatmul(a, Wk)
 *   k = q.qmatmul(a, Wk)                  v = q.qmatmul(a, Wv)
 *   v = q.qmatmul(a, Wv)                  qt = q.transpose(q)
 *
 * A sibling moves up only when every operand it reads is already
 * defined where it lands (constants it reads move with it): the values
 * it computes are the same, only the order of independent ops changes,
 * so the bits do not. Siblings are q.qmatmul (int8 result) and
 * q.qmatmul_deq (float result) in the function's body; at most
 * QRT_QMM_GROUP_MAX a group. The memory plan follows the new order (a
 * sibling's result lives a little longer). Not applied, with a -v
 * remark: a sibling that reads a value computed after the first one (a
 * residual from later in the graph). Runs last, for C output with
 * --threads > 1 only: on one thread a group is the same calls in order. */
#include "fuse_match.h"
#include "qrt.h" /* QRT_QMM_GROUP_MAX */

static bool is_sibling_kind(MlirOperation op) { return q_qmatmul_is(op) || q_qmatmul_deq_is(op); }

/* Whether op comes before `at` in their block. */
static bool before(MlirOperation op, MlirOperation at) {
  for (MlirOperation o = mlirOperationGetNextInBlock(op); !mlirOperationIsNull(o); o = mlirOperationGetNextInBlock(o))
    if (mlirOperationEqual(o, at)) return true;
  return false;
}

/* Whether every operand of y is defined before `at` in the body (or is a
 * block argument, or a constant, which can move up) and none is the
 * result of a member of the group (members run at the same time). */
static bool operands_ready(MlirOperation y, MlirOperation at, MlirBlock body, const MlirOperation *group, int n) {
  for (intptr_t i = 0; i < mlirOperationGetNumOperands(y); i++) {
    MlirOperation d = def(mlirOperationGetOperand(y, i));
    if (mlirOperationIsNull(d) || q_constant_is(d)) continue;
    for (int g = 0; g < n; g++)
      if (mlirOperationEqual(d, group[g])) return false;
    if (!mlirBlockEqual(mlirOperationGetBlock(d), body) || !before(d, at)) return false;
  }
  return true;
}

/* Moves y to just after `last`, with the constants it reads that come
 * after `last` moved before it. */
static void move_after(MlirOperation y, MlirOperation last) {
  mlirOperationMoveAfter(y, last);
  for (intptr_t i = 0; i < mlirOperationGetNumOperands(y); i++) {
    MlirOperation d = def(mlirOperationGetOperand(y, i));
    if (!mlirOperationIsNull(d) && q_constant_is(d) && !before(d, y)) mlirOperationMoveBefore(d, y);
  }
}

int qcc_pass_group_siblings(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  for (MlirOperation x = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(x); x = mlirOperationGetNextInBlock(x)) {
    if (!is_sibling_kind(x)) continue;
    MlirValue a = mlirOperationGetOperand(x, 0);
    MlirOperation group[QRT_QMM_GROUP_MAX] = {x}, last = x;
    int n = 1;
    char at[256], other[256];
    qcc_op_where(x, at, sizeof at);
    for (MlirOperation y = mlirOperationGetNextInBlock(x); !mlirOperationIsNull(y) && n < QRT_QMM_GROUP_MAX;) {
      MlirOperation next = mlirOperationGetNextInBlock(y);
      bool sibling = is_sibling_kind(y) && mlirValueEqual(mlirOperationGetOperand(y, 0), a);
      if (sibling) {
        qcc_op_where(y, other, sizeof other);
        if (!operands_ready(y, mlirOperationGetNextInBlock(last), body, group, n)) {
          qcc_remark("group-sibling-matmuls: %s stays apart from %s: it reads a value computed after %s", other, at,
                     at);
          y = next;
          continue;
        }
        if (!mlirOperationEqual(mlirOperationGetNextInBlock(last), y)) {
          move_after(y, last);
          qcc_remark("group-sibling-matmuls: %s moves next to %s (the same input): one parallel region", other, at);
        }
        group[n++] = last = y;
      }
      y = next;
    }
    x = last; /* the group's members are not groups of their own */
  }
  return 0;
}
