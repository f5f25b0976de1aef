/* parallel.c - see parallel.h. A thread per worker, made for the call and
 * joined at its end: the callers run a few times per compilation, each
 * for milliseconds to minutes, so a pool would save nothing measurable. */
#include "parallel.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

int qcc_calib_threads_flag;

int qcc_compile_threads(void) {
  if (qcc_calib_threads_flag > 0) return qcc_calib_threads_flag;
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return cpus < 1 ? 1 : cpus > QCC_MAX_THREADS ? QCC_MAX_THREADS : (int)cpus;
}

typedef struct job {
  int n, next; /* next: the next task to claim (atomic) */
  void (*fn)(void *user, int task, int worker);
  void *user;
} job;

typedef struct worker_arg {
  job *j;
  int worker;
} worker_arg;

static void run_tasks(job *j, int worker) {
  for (int t; (t = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->n;) j->fn(j->user, t, worker);
}

static void *worker_main(void *p) {
  worker_arg *a = p;
  run_tasks(a->j, a->worker);
  return NULL;
}

void qcc_parallel_for(int n, int threads, void (*fn)(void *user, int task, int worker), void *user) {
  job j = {n, 0, fn, user};
  if (threads > n) threads = n;
  if (threads > 256) threads = 256;
  pthread_t tid[256];
  worker_arg args[256];
  int started = 0;
  for (int w = 1; w < threads; w++) {
    args[w] = (worker_arg){&j, w};
    if (pthread_create(&tid[w], NULL, worker_main, &args[w])) break; /* fewer threads: the caller runs the rest */
    started = w;
  }
  run_tasks(&j, 0);
  for (int w = 1; w <= started; w++) pthread_join(tid[w], NULL);
}

double qcc_wall_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
