/* evaluator.h - runs a legalized module on concrete inputs with the same
 * runtime kernels the generated C calls (through codegen/kernel_call.h). */
#ifndef QCC_EVALUATOR_H
#define QCC_EVALUATOR_H
#include "qcc.h"

/* Called after each op with the value it produced (calibration observers). */
typedef void (*qcc_observer)(MlirOperation op, MlirValue v, const qcc_array *data, void *user);

/* Runs the module's function on inputs[n_inputs] (in argument order, types
 * checked) and fills outputs (malloc'd array of *n_outputs arrays; free
 * each with qcc_array_free and then the array). 0 on success. */
int qcc_evaluate(MlirModule m, const qcc_array *inputs, int n_inputs, qcc_array **outputs, int *n_outputs,
                 qcc_observer observe, void *user);

/* Repeated runs (calibration over many samples) keep each constant's
 * array and each packed weight in a cache instead of re-reading and
 * re-packing them per run. Valid across module rewrites: entries are
 * keyed by the immutable attributes. Free it when the runs are done. */
typedef struct qcc_eval_cache qcc_eval_cache;
qcc_eval_cache *qcc_eval_cache_new(void);
void qcc_eval_cache_free(qcc_eval_cache *c);
/* qcc_evaluate with a cache (NULL: none). */
int qcc_evaluate_cached(MlirModule m, qcc_eval_cache *cache, const qcc_array *inputs, int n_inputs,
                        qcc_array **outputs, int *n_outputs, qcc_observer observe, void *user);

/* The module's function planned for repeated runs (calibration: one run
 * per sample): every op lowered to its kernel call once (at its first
 * run), every constant's array found once, the intermediate values laid
 * out in one arena from their lifetimes. The module must not change while
 * the plan lives; the cache (NULL: none) must outlive it. */
typedef struct qcc_eval_plan qcc_eval_plan;
qcc_eval_plan *qcc_eval_plan_new(MlirModule m, qcc_eval_cache *cache);
void qcc_eval_plan_free(qcc_eval_plan *p);
/* qcc_evaluate on a plan; outputs may be NULL when they are not wanted
 * (observers alone). The same bits as qcc_evaluate. */
int qcc_eval_plan_run(qcc_eval_plan *p, const qcc_array *inputs, int n_inputs, qcc_array **outputs, int *n_outputs,
                      qcc_observer observe, void *user);

/* Evaluates one op whose operands are all q.constant; result malloc'd. */
bool qcc_evaluate_op(MlirOperation op, qcc_array *result);

#endif
