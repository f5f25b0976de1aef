/* parallel.h - the compiler's own worker threads (calibration over samples,
 * one observer choice per value): a parallel-for whose tasks are claimed
 * in order by whichever thread is free. Callers make their results
 * independent of which thread ran which task, so qcc's output is the same
 * for every thread count (docs/quantization.md, "Calibration on threads"). */
#ifndef QCC_PARALLEL_H
#define QCC_PARALLEL_H

/* How many threads the compiler uses: --calib-threads N, else the online
 * CPUs, at most QCC_MAX_THREADS. */
enum { QCC_MAX_THREADS = 8 };
int qcc_compile_threads(void);
/* --calib-threads N (0: automatic). */
extern int qcc_calib_threads_flag;

/* Runs fn(user, task, worker) once for every task in [0, n) on up to
 * `threads` threads, the caller being worker 0 (worker < threads); returns
 * when every task has run. A worker gets tasks only while some are left,
 * so a worker index that gets none is never passed. */
void qcc_parallel_for(int n, int threads, void (*fn)(void *user, int task, int worker), void *user);

/* Wall-clock seconds from an arbitrary origin (CLOCK_MONOTONIC): what the
 * passes that run on threads report (clock() adds up every thread's CPU
 * time). */
double qcc_wall_seconds(void);

#endif
