/* test_pool.c - the thread pool of qrt_parallel.c (built with QRT_THREADS
 * > 1 and -pthread; the kernels' splits are tested through a hook in
 * test_runtime_parallel.c): every task of a job runs exactly once, for
 * jobs of 1 to 200 tasks, hundreds of jobs back to back (a worker late
 * for one job must not run a task of the next); a parallel-for inside a
 * task runs on its caller;
 * and, in jobs of one task per thread whose tasks wait for each other,
 * every thread takes one (a task taken twice or lost would hang or fail);
 * with atomics, a job of at most QRT_THREADS tasks runs task k on the
 * same thread every time (task 0 on the caller), so a kernel's slice k
 * stays in one core's cache from kernel to kernel, except that the caller
 * runs a task whose worker has not started it by the time the caller's
 * own is done: on a single CPU (the process pinned to one, where a
 * spinning caller would otherwise wait out the worker's time slice) the
 * caller takes tasks, and every task still runs exactly once.
 * Also built with -DQRT_POOL_NO_ATOMICS (the mutex-only pool). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_setaffinity */
#endif
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

#define MAX_TASKS 200

typedef struct job {
  int runs[MAX_TASKS]; /* times each task ran (one writer per task) */
} job;

static void count_task(void *ctx, int64_t i) {
  job *j = (job *)ctx;
  j->runs[i] += 1;
}

#if !defined(QRT_POOL_NO_ATOMICS) && defined(__GNUC__)
/* the thread that ran task i */
static pthread_t first_thread[QRT_THREADS], task_thread[QRT_THREADS];
static void record_thread(void *ctx, int64_t i) { ((pthread_t *)ctx)[i] = pthread_self(); }
#endif

/* a task that splits again: the inner job runs on this thread */
static void nested_task(void *ctx, int64_t i) {
  job *inner = (job *)ctx + 1 + i;
  qrt_parallel_for(5, count_task, inner);
}

#if !defined(QRT_POOL_NO_ATOMICS) && defined(__GNUC__)
static int arrived;
static void rendezvous(void *ctx, int64_t i) {
  const int want = *(const int *)ctx;
  (void)i;
  __atomic_fetch_add(&arrived, 1, __ATOMIC_ACQ_REL);
  while (__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) < want) {
  }
}

#if defined(__linux__)
/* Pins the thread that runs it to *pin_to, then waits for the job's other
 * tasks (so each thread runs one: every thread of the pool is pinned). */
static cpu_set_t pin_to;
static int pinned_ok = 1;
static void pin_task(void *ctx, int64_t i) {
  if (pthread_setaffinity_np(pthread_self(), sizeof pin_to, &pin_to)) __atomic_store_n(&pinned_ok, 0, __ATOMIC_RELAXED);
  rendezvous(ctx, i);
}
#endif
#endif

int main(void) {
  static job jobs[4];
  int64_t n, i, rep;
  int ok = 1;
  char what[96];
  for (rep = 0; rep < 20; ++rep)
    for (n = 1; n <= MAX_TASKS; n += n < 30 ? 1 : 17) {
      memset(&jobs[0], 0, sizeof jobs[0]);
      qrt_parallel_for(n, count_task, &jobs[0]);
      for (i = 0; i < MAX_TASKS; ++i)
        if (jobs[0].runs[i] != (i < n)) {
          snprintf(what, sizeof what, "job of %lld tasks: task %lld ran %d times (repeat %lld)", (long long)n,
                   (long long)i, jobs[0].runs[i], (long long)rep);
          check(0, what);
          ok = 0;
          break;
        }
      if (!ok) break;
    }
  check(ok, "every task of jobs of 1..200 tasks ran exactly once, 20 times over");
  memset(jobs, 0, sizeof jobs);
  qrt_parallel_for(3, nested_task, jobs);
  for (n = 1, ok = 1; n <= 3; ++n)
    for (i = 0; i < MAX_TASKS; ++i) ok &= jobs[n].runs[i] == (i < 5);
  check(ok, "a parallel-for inside a task runs each of its tasks once");
#if !defined(QRT_POOL_NO_ATOMICS) && defined(__GNUC__)
  {
    int want = 0;
#if defined(__linux__)
    cpu_set_t all;
    int64_t k;
    int taken = 0, once = 1;
#endif
    for (rep = 0; rep < 200; ++rep) {
      want += QRT_THREADS;
      qrt_parallel_for(QRT_THREADS, rendezvous, &want);
    }
    check(__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) == want, "200 jobs whose tasks wait for each other");
#if defined(__linux__)
    /* Every thread on one CPU: the caller takes the tasks of workers that
     * are not running (instead of spinning until the OS preempts it). */
    if (sched_getaffinity(0, sizeof all, &all) == 0) {
      CPU_ZERO(&pin_to);
      for (k = 0; k < CPU_SETSIZE && !CPU_ISSET(k, &all); ++k) {
      }
      CPU_SET(k, &pin_to);
      want += QRT_THREADS;
      qrt_parallel_for(QRT_THREADS, pin_task, &want);
      for (rep = 0; rep < 2000 && pinned_ok; ++rep) {
        memset(&jobs[0], 0, sizeof jobs[0]);
        qrt_parallel_for(QRT_THREADS, record_thread, task_thread);
        for (k = 1; k < QRT_THREADS; ++k) taken += pthread_equal(task_thread[k], pthread_self()) != 0;
        qrt_parallel_for(QRT_THREADS, count_task, &jobs[0]);
        for (i = 0; i < QRT_THREADS; ++i) once &= jobs[0].runs[i] == 1;
      }
      pin_to = all;
      want += QRT_THREADS;
      qrt_parallel_for(QRT_THREADS, pin_task, &want);
      if (pinned_ok) {
        check(once, "all threads on one CPU: every task of 2000 jobs ran exactly once");
        check(taken > 0, "all threads on one CPU: the caller ran tasks of workers that had not started them");
      }
    }
#endif
  }
  {
    /* task k on the caller or on worker k: the first worker seen running
     * task k is its worker; no other worker ever runs it, and no worker
     * runs two of a job's tasks */
    int same = 1, seen[QRT_THREADS];
    int64_t k, j;
    for (n = 2; n <= QRT_THREADS; ++n) {
      memset(seen, 0, sizeof seen);
      for (rep = 0; rep < 300; ++rep) {
        qrt_parallel_for(n, record_thread, task_thread);
        same &= pthread_equal(task_thread[0], pthread_self()) != 0;
        for (k = 1; k < n; ++k) {
          if (pthread_equal(task_thread[k], pthread_self())) continue;
          if (!seen[k]) first_thread[k] = task_thread[k], seen[k] = 1;
          same &= pthread_equal(task_thread[k], first_thread[k]) != 0;
          for (j = 1; j < k; ++j)
            same &= !seen[j] || !pthread_equal(first_thread[k], first_thread[j]);
        }
      }
    }
    check(same, "jobs of up to QRT_THREADS tasks: task k on the caller (always task 0) or on its own worker");
  }
#endif
  return finish();
}
