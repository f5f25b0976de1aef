/* guards.h - which ops run only on one side of a run-time If.
 *
 * legalize-onnx lowers a run-time If to both branches' ops in the parent
 * block and, per result, a q.where marked qcc.if_select on the rank-0
 * condition (passes/legalize_if.c). An op needs to run only when a select
 * takes its value: its guard is a conjunction of (condition, side)
 * literals such that whenever the guard is false no use of its result
 * matters. It is derived from the final IR, not carried through the
 * passes, so no pass can move an op out of (or into) its branch wrongly:
 * whatever the passes did, an op is guarded only as far as its uses allow.
 * The emitter wraps guarded calls in `if (...)`, the evaluator skips them. */
#ifndef QCC_GUARDS_H
#define QCC_GUARDS_H
#include "qcc.h"

enum { QCC_GUARD_MAX = 8 };

typedef struct qcc_guard {
  int n;
  /* Ordered by the conditions' definitions, so that under `c0 && c1 &&
   * ...` each condition has been computed when it is read. */
  MlirValue cond[QCC_GUARD_MAX]; /* rank-0 bool */
  bool side[QCC_GUARD_MAX];      /* true: runs when cond is true */
} qcc_guard;

typedef struct qcc_guards qcc_guards;

/* The guards of the ops of body (a flat block ended by func.return). */
qcc_guards *qcc_guards_compute(MlirBlock body);
/* op's guard; n == 0 when it always runs. */
const qcc_guard *qcc_guard_of(const qcc_guards *g, MlirOperation op);
bool qcc_guard_equal(const qcc_guard *a, const qcc_guard *b);
/* Whether op is a select a run-time If was lowered to. */
bool qcc_is_if_select(MlirOperation op);
void qcc_guards_free(qcc_guards *g);
#endif
