/* eval_samples.c - see eval_samples.h. */
#include "eval_samples.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "parallel.h"

typedef struct samples_run {
  MlirModule m;
  const qcc_calib_set *set;
  int n_samples;
  qcc_eval_cache *cache;
  qcc_eval_plan **plans; /* one per thread, made at its first sample */
  qcc_observer obs;      /* observers (calibration: with a progress bar), or */
  void *const *states;
  qcc_sample_outputs take; /* the outputs */
  void *user;
  int done, failed; /* atomic */
  time_t start;
} samples_run;

/* A one-line progress bar on stderr, only for a terminal and only once the
 * run has taken more than a second. */
static void progress(int done, int total, time_t start) {
  if (!isatty(2) || time(NULL) - start < 1) return;
  int width = 30, fill = total ? done * width / total : width;
  fprintf(stderr, "\rcalibrating [%.*s%*s] %d/%d", fill, "##############################", width - fill, "", done, total);
  if (done == total) fputc('\n', stderr);
}

static void run_sample(void *user, int k, int w) {
  samples_run *r = user;
  if (__atomic_load_n(&r->failed, __ATOMIC_RELAXED)) return;
  if (!r->plans[w]) r->plans[w] = qcc_eval_plan_new(r->m, r->cache);
  const int n_in = r->set->n_inputs;
  const qcc_array *in = &r->set->samples[(size_t)k * (size_t)n_in];
  if (r->obs) {
    MlirBlock body = qcc_func_body(qcc_module_func(r->m));
    for (int i = 0; i < n_in; i++) r->obs((MlirOperation){NULL}, mlirBlockGetArgument(body, i), &in[i], r->states[w]);
  }
  qcc_array *out = NULL;
  int n_out = 0;
  if (qcc_eval_plan_run(r->plans[w], in, n_in, r->take ? &out : NULL, r->take ? &n_out : NULL, r->obs,
                        r->obs ? r->states[w] : NULL)) {
    __atomic_store_n(&r->failed, 1, __ATOMIC_RELAXED);
    return;
  }
  if (r->take) r->take(r->user, k, out, n_out);
  const int done = __atomic_add_fetch(&r->done, 1, __ATOMIC_RELAXED);
  if (r->obs && w == 0 && done < r->n_samples) progress(done, r->n_samples, r->start);
}

/* Samples 1.. on the threads (task t is sample t + 1). */
static void run_later_sample(void *user, int t, int w) { run_sample(user, t + 1, w); }

static int run_samples(samples_run *r, int threads) {
  if (threads < 1) threads = 1;
  r->plans = calloc((size_t)threads, sizeof(qcc_eval_plan *));
  r->start = time(NULL);
  if (r->n_samples > 0) run_sample(r, 0, 0);
  if (!r->failed && r->n_samples > 1) qcc_parallel_for(r->n_samples - 1, threads, run_later_sample, r);
  if (r->obs && !r->failed && r->n_samples > 0) progress(r->n_samples, r->n_samples, r->start);
  for (int w = 0; w < threads; w++) qcc_eval_plan_free(r->plans[w]);
  free(r->plans);
  return r->failed ? -1 : 0;
}

int qcc_eval_samples(MlirModule m, const qcc_calib_set *set, int threads, qcc_observer obs, void *const *states) {
  samples_run r = {.m = m, .set = set, .n_samples = set->n_samples, .cache = qcc_eval_cache_new(), .obs = obs,
                   .states = states};
  const int rc = run_samples(&r, threads);
  qcc_eval_cache_free(r.cache);
  return rc;
}

int qcc_eval_sample_outputs(MlirModule m, qcc_eval_cache *cache, const qcc_calib_set *set, int n_samples, int threads,
                            qcc_sample_outputs take, void *user) {
  samples_run r = {.m = m, .set = set, .n_samples = n_samples < set->n_samples ? n_samples : set->n_samples,
                   .cache = cache ? cache : qcc_eval_cache_new(), .take = take, .user = user};
  const int rc = run_samples(&r, threads);
  if (!cache) qcc_eval_cache_free(r.cache);
  return rc;
}
