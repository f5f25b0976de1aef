/* eval_samples.h - the evaluator over calibration samples, on the
 * compiler's threads (parallel.h): with observers (calibration), or for
 * the outputs (sensitivity, attention scales). */
#ifndef QCC_EVAL_SAMPLES_H
#define QCC_EVAL_SAMPLES_H
#include "calib_data.h"
#include "evaluator.h"

/* Runs m's function on every sample of set: sample 0 on the calling thread
 * first (its run lowers the ops and puts the constants and packed weights
 * in the cache the other threads' plans share), the others on up to
 * `threads` threads, each with its own plan. A thread w calls
 * obs(op, value, data, states[w]) for the function's arguments (with a
 * null op) and every op result of each sample it runs. Which thread runs
 * which sample is not fixed: what obs folds must not depend on the order
 * of the samples (least, greatest, counts), and the caller merges
 * states[0 .. threads) afterwards. A one-line progress bar goes to a
 * terminal's stderr once the runs take more than a second. Returns 0, or
 * -1 after a failing sample's error. */
int qcc_eval_samples(MlirModule m, const qcc_calib_set *set, int threads, qcc_observer obs, void *const *states);

/* What a run of qcc_eval_sample_outputs hands over: sample k's outputs,
 * out[0 .. n), which take now owns. Called on the thread that ran the
 * sample: it must only touch what belongs to sample k. */
typedef void (*qcc_sample_outputs)(void *user, int k, qcc_array *out, int n);

/* Runs m's function on samples [0, n_samples) of set, scheduled as
 * qcc_eval_samples does (sample 0 first on the calling thread), with
 * constants and packed weights from cache (NULL: a cache of this run's
 * own), and gives each sample's outputs to take. No progress bar. Returns
 * 0, or -1 after a failing sample's error. */
int qcc_eval_sample_outputs(MlirModule m, qcc_eval_cache *cache, const qcc_calib_set *set, int n_samples, int threads,
                            qcc_sample_outputs take, void *user);

#endif
