#include "qrt.h"
/* qrt_parallel.c - the runtime's one parallel construct: run task(ctx, i)
 * for every i < n, in any order, possibly on several threads.  Kernels
 * split only work whose elements are computed the same way whatever the
 * split (the GEMM's column slices: each element keeps its k order), so a
 * model gives the same bits for every thread count.
 *
 * Who runs the tasks:
 *   - a parallel-for the program installs with qrt_set_parallel_for (an
 *     RTOS's worker pool, OpenMP, a job system): `width` is how many
 *     tasks it runs at once, so kernels make about that many;
 *   - else, when built with QRT_THREADS > 1 (qcc --threads N) and POSIX
 *     threads (not -DQRT_NO_PTHREADS), a pool of QRT_THREADS - 1 workers
 *     started on first use; the calling thread runs tasks too.  Workers
 *     spin for a short while before sleeping, because a model calls
 *     dozens of parallel GEMMs of tens of microseconds each;
 *   - else the caller, in order. */
#ifndef QRT_THREADS
#define QRT_THREADS 1
#endif
#if QRT_THREADS > 1 && !defined(QRT_NO_PTHREADS)
#include <pthread.h>
#define QRT_POOL 1
#endif

static qrt_parallel_for_fn qrt_par_hook;
static void *qrt_par_user;
static int qrt_par_width = QRT_THREADS;

QRT_API void qrt_set_parallel_for(qrt_parallel_for_fn fn, void *user, int width) {
  qrt_par_hook = fn;
  qrt_par_user = user;
  qrt_par_width = fn ? (width > 0 ? width : 1) : QRT_THREADS;
}

QRT_API int qrt_parallel_width(void) { return qrt_par_width; }

QRT_API int64_t qrt_parallel_cols(int64_t M, int64_t N, int64_t K, int64_t step, int64_t min_macs) {
  const int64_t steps = (N + step - 1) / step;
  int64_t slices = qrt_par_width < steps ? qrt_par_width : steps;
  if (slices > 1 && M * N * K < min_macs * slices) {
    slices = M * N * K / min_macs;
    if (slices > steps) slices = steps;
  }
  return slices <= 1 || K <= 0 ? 0 : (steps + slices - 1) / slices * step;
}

#ifdef QRT_POOL
/* Work is published by bumping `generation` under the mutex; workers that
 * wake join it (busy), take task indices from `next`, count each task they
 * finish and leave. The caller returns once every task is finished: it
 * does not wait for workers still asleep (waking one costs tens of
 * microseconds, as much as a whole small GEMM), and the next publication
 * waits only for joined workers to leave, so none takes a new task index
 * for an old function. */
typedef struct qrt_pool {
  pthread_mutex_t mu;
  pthread_cond_t wake, done;
  int started;
  unsigned long generation;
  qrt_task_fn fn;
  void *ctx;
  int64_t n, next, finished;
  int busy; /* workers joined to the current generation */
} qrt_pool;

static qrt_pool qrt_the_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
                                0, 0, 0, 0, 0, 0, 0, 0};

/* Next task index, or -1 when all are taken (mutex-free where the
 * compiler has atomics). */
static int64_t qrt_pool_take(qrt_pool *p) {
#if defined(__GNUC__)
  int64_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
#else
  int64_t i;
  pthread_mutex_lock(&p->mu);
  i = p->next++;
  pthread_mutex_unlock(&p->mu);
#endif
  return i < p->n ? i : -1;
}

/* Tasks are coarse (a slice of a GEMM), so a lock per task costs nothing. */
static void qrt_pool_finish(qrt_pool *p) {
  pthread_mutex_lock(&p->mu);
  if (++p->finished == p->n) pthread_cond_broadcast(&p->done);
  pthread_mutex_unlock(&p->mu);
}

static void *qrt_pool_worker(void *arg) {
  qrt_pool *p = (qrt_pool *)arg;
  unsigned long seen = 0;
  for (;;) {
    int64_t i;
    int spin;
    qrt_task_fn fn;
    void *ctx;
#if defined(__GNUC__)
    for (spin = 0; spin < 20000 && __atomic_load_n(&p->generation, __ATOMIC_ACQUIRE) == seen; ++spin) {
    }
#else
    (void)spin;
#endif
    pthread_mutex_lock(&p->mu);
    while (p->generation == seen) pthread_cond_wait(&p->wake, &p->mu);
    seen = p->generation;
    fn = p->fn;
    ctx = p->ctx;
    p->busy++;
    pthread_mutex_unlock(&p->mu);
    while ((i = qrt_pool_take(p)) >= 0) {
      fn(ctx, i);
      qrt_pool_finish(p);
    }
    pthread_mutex_lock(&p->mu);
    if (--p->busy == 0) pthread_cond_broadcast(&p->done);
    pthread_mutex_unlock(&p->mu);
  }
  return NULL;
}

/* 0 when the workers run (started now or before). */
static int qrt_pool_start(qrt_pool *p) {
  int t;
  if (p->started) return 0;
  for (t = 0; t < QRT_THREADS - 1; ++t) {
    pthread_t tid;
    if (pthread_create(&tid, NULL, qrt_pool_worker, p)) return -1;
    pthread_detach(tid);
    p->started++;
  }
  return 0;
}
#endif

QRT_API void qrt_parallel_for(int64_t n, qrt_task_fn fn, void *ctx) {
  int64_t i;
  if (n <= 0) return;
  if (qrt_par_hook) {
    qrt_par_hook(qrt_par_user, n, fn, ctx);
    return;
  }
#ifdef QRT_POOL
  if (n > 1 && qrt_pool_start(&qrt_the_pool) == 0 && qrt_the_pool.started == QRT_THREADS - 1) {
    qrt_pool *p = &qrt_the_pool;
    pthread_mutex_lock(&p->mu);
    while (p->busy > 0) pthread_cond_wait(&p->done, &p->mu); /* late joiners of the last call */
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->next = 0;
    p->finished = 0;
#if defined(__GNUC__)
    __atomic_store_n(&p->generation, p->generation + 1, __ATOMIC_RELEASE);
#else
    p->generation++;
#endif
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    while ((i = qrt_pool_take(p)) >= 0) {
      fn(ctx, i);
      qrt_pool_finish(p);
    }
    pthread_mutex_lock(&p->mu);
    while (p->finished < n) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return;
  }
#endif
  for (i = 0; i < n; ++i) fn(ctx, i);
}
