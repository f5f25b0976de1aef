/* bench_parallel.c - what one hand-off of the thread pool costs: the time
 * of qrt_parallel_for with QRT_THREADS tasks that each wait until all of
 * them have started (so every worker must take one: the publication, the
 * claims, the rendezvous and the wait for the last task), per call; the
 * fastest of 7 rounds. A kernel split over the threads pays this once, so
 * a task must do several times this much work to gain. Needs GNU atomics
 * (the rendezvous). With an argument G, the caller also works alone for G
 * microseconds between calls (a serial kernel between two split ones),
 * long enough for workers that spin briefly to fall asleep.
 * cc -std=c99 -O2 -pthread -DQRT_THREADS=2 -Iruntime test/unit/bench_parallel.c runtime/qrt_parallel.c -o bench_parallel */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "qrt.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int64_t arrived;

/* Task i of call c (ctx): waits until all QRT_THREADS tasks of the call
 * have arrived. */
static void rendezvous(void *ctx, int64_t i) {
  const int64_t want = (int64_t)(size_t)ctx * QRT_THREADS;
  (void)i;
  __atomic_fetch_add(&arrived, 1, __ATOMIC_ACQ_REL);
  while (__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) < want) {
  }
}

int main(int argc, char **argv) {
  const double gap = argc > 1 ? atof(argv[1]) * 1e-6 : 0.0;
  const int iters = 2000;
  double best = 1e30;
  size_t call = 0;
  int rep, it;
  qrt_parallel_for(QRT_THREADS, rendezvous, (void *)++call); /* start the pool */
  for (rep = 0; rep < 7; ++rep) {
    const double t0 = now_s();
    double dt;
    double alone = 0.0;
    for (it = 0; it < iters; ++it) {
      qrt_parallel_for(QRT_THREADS, rendezvous, (void *)++call);
      if (gap > 0.0) {
        const double g0 = now_s();
        while (now_s() - g0 < gap) {
        }
        alone += now_s() - g0;
      }
    }
    dt = (now_s() - t0 - alone) / iters;
    if (dt < best) best = dt;
  }
  printf("hand-off with %d threads, %.0f us apart: %.0f ns per parallel-for (fastest of 7 rounds of %d)\n",
         QRT_THREADS, gap * 1e6, best * 1e9, iters);
  return 0;
}
