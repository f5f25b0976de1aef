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
  qcc_eval_cache *cache;
  qcc_eval_plan **plans; /* one per thread, made at its first sample */
  qcc_observer obs;
  void *const *states;
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
  MlirBlock body = qcc_func_body(qcc_module_func(r->m));
  for (int i = 0; i < n_in; i++) r->obs((MlirOperation){NULL}, mlirBlockGetArgument(body, i), &in[i], r->states[w]);
  if (qcc_eval_plan_run(r->plans[w], in, n_in, NULL, NULL, r->obs, r->states[w])) {
    __atomic_store_n(&r->failed, 1, __ATOMIC_RELAXED);
    return;
  }
  const int done = __atomic_add_fetch(&r->done, 1, __ATOMIC_RELAXED);
  if (w == 0 && done < r->set->n_samples) progress(done, r->set->n_samples, r->start);
}

/* Samples 1.. on the threads (task t is sample t + 1). */
static void run_later_sample(void *user, int t, int w) { run_sample(user, t + 1, w); }

int qcc_eval_samples(MlirModule m, const qcc_calib_set *set, int threads, qcc_observer obs, void *const *states) {
  if (threads < 1) threads = 1;
  samples_run r = {m, set, qcc_eval_cache_new(), calloc((size_t)threads, sizeof(qcc_eval_plan *)), obs, states,
                   0, 0, time(NULL)};
  if (set->n_samples > 0) run_sample(&r, 0, 0);
  if (!r.failed && set->n_samples > 1) qcc_parallel_for(set->n_samples - 1, threads, run_later_sample, &r);
  if (!r.failed && set->n_samples > 0) progress(set->n_samples, set->n_samples, r.start);
  for (int w = 0; w < threads; w++) qcc_eval_plan_free(r.plans[w]);
  free(r.plans);
  qcc_eval_cache_free(r.cache);
  return r.failed ? -1 : 0;
}
