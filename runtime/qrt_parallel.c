#include "qrt.h"
/* qrt_parallel.c - the runtime's one parallel construct: run task(ctx, i)
 * for every i < n, in any order, possibly on several threads.  Kernels
 * split only work whose elements are computed the same way whatever the
 * split (a GEMM's row or column slices: each element keeps its k order;
 * rows of a softmax or a norm; ranges of an elementwise op), so a model
 * gives the same bits for every thread count.
 *
 * Who runs the tasks:
 *   - a parallel-for the program installs with qrt_set_parallel_for (an
 *     RTOS's worker pool, OpenMP, a job system): `width` is how many
 *     tasks it runs at once, so kernels make about that many;
 *   - else, when built with QRT_THREADS > 1 (qcc --threads N) and POSIX
 *     threads (not -DQRT_NO_PTHREADS), a pool of QRT_THREADS - 1 workers
 *     started on first use; the calling thread runs tasks too;
 *   - else the caller, in order.
 *
 * A model is a chain of short kernels (char_lm: 92 calls of 2-40 us each
 * per run), so every kernel that splits pays one hand-off; the pool is
 * built to make that cost a few hundred nanoseconds, not the tens of
 * microseconds a mutex/condition-variable hand-off costs:
 *   - workers spin on one word (with a pause instruction) for about a
 *     millisecond after their last task before they sleep, so between
 *     the kernels of a run they are awake;
 *   - a job of at most QRT_THREADS tasks (what kernels make) runs task k
 *     on thread k, the caller's being 0, each worker claiming and then
 *     flagging its own state word (see qrt_pool_done); a task whose
 *     worker has not started it when the caller is done with its own is
 *     run by the caller (a worker the OS has not scheduled, on a busy
 *     machine, costs the run nothing instead of a time slice);
 *   - a larger job's task indices are claimed by compare-and-swap on a
 *     word that also holds the job's generation and task count, so a
 *     worker that arrives late cannot take an index of a newer job;
 *   - the caller runs tasks too, then spins on the workers' done words or
 *     the count of finished tasks (a task runs for microseconds);
 *   - the mutex and condition variable serve only to put idle workers to
 *     sleep and wake them. */
#ifndef QRT_THREADS
#define QRT_THREADS 1
#endif
#if QRT_THREADS > 1 && !defined(QRT_NO_PTHREADS)
#include <pthread.h>
#include <sched.h>
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

/* Rows first (blocks of at least 16 rows, so micro-tiles stay full),
 * then columns; see qrt.h. */
QRT_API int64_t qrt_parallel_blocks_n(int64_t M, int64_t N, int64_t K, int64_t tasks, int64_t row_step,
                                      int64_t col_step, int64_t *rows, int64_t *cols) {
  const int64_t csteps = (N + col_step - 1) / col_step;
  int64_t rb, cb;
  *rows = M;
  *cols = N;
  if (tasks <= 1 || M <= 0 || N <= 0 || K <= 0) return 1;
  rb = M / 16 < tasks ? M / 16 : tasks;
  if (rb < 1) rb = 1;
  cb = tasks / rb < csteps ? tasks / rb : csteps;
  if (cb < 1) cb = 1;
  *rows = ((M + rb - 1) / rb + row_step - 1) / row_step * row_step;
  *cols = (csteps + cb - 1) / cb * col_step;
  if (*rows > M) *rows = M;
  if (*cols > N) *cols = N;
  return ((M + *rows - 1) / *rows) * ((N + *cols - 1) / *cols);
}

QRT_API int64_t qrt_parallel_blocks(int64_t M, int64_t N, int64_t K, int64_t min_macs, int64_t row_step,
                                    int64_t col_step, int64_t *rows, int64_t *cols) {
  int64_t tasks = qrt_par_width;
  if (min_macs < 1) min_macs = 1;
  if (tasks > M * N * K / min_macs) tasks = M * N * K / min_macs;
  return qrt_parallel_blocks_n(M, N, K, tasks, row_step, col_step, rows, cols);
}

#ifdef QRT_POOL
/* QRT_POOL_NO_ATOMICS forces the mutex-only pool (what compilers without
 * GNU atomics get), so it can be tested with gcc too. */
#if defined(__GNUC__) && !defined(QRT_POOL_NO_ATOMICS)
#define QRT_POOL_ATOMICS 1
#if defined(__x86_64__) || defined(__i386__)
#define QRT_POOL_PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
#define QRT_POOL_PAUSE() __asm__ __volatile__("yield")
#else
#define QRT_POOL_PAUSE() ((void)0)
#endif
/* Pause-loop iterations a worker waits for work before it sleeps (about
 * 1 ms: 2^15 pauses of 10-140 cycles), and a caller waits for a task still
 * running before it yields its core to the worker that runs it. */
#ifndef QRT_POOL_SPIN
#define QRT_POOL_SPIN 32768
#endif
#endif

/* The job word: generation (16 bits) | task count (24) | next index (24). */
#define QRT_JOB_BITS 24
#define QRT_JOB_MASK ((UINT64_C(1) << QRT_JOB_BITS) - 1)
#define QRT_JOB_MAX_TASKS ((int64_t)QRT_JOB_MASK)

/* A job of at most QRT_THREADS tasks (every split kernel's, as kernels
 * make about as many tasks as threads) runs task k on thread k: the
 * caller runs task 0 and worker k task k (claimed on worker k's own
 * state word, which the caller takes over if the worker is late). Each thread
 * then keeps the same slice of every kernel (a GEMM's row block k, range
 * k of an elementwise op), so the rows a thread wrote stay in its cache
 * for the next kernel instead of moving to whichever core claimed them,
 * and a hand-off is two cache-line transfers (the job word to the
 * workers, each worker's state word back) instead of a round of
 * compare-and-swaps on one word and a shared finished count. Larger jobs
 * are claimed as below. */
typedef struct qrt_pool_done {
  /* 2 seq + 1 while job seq's task is running, 2 seq + 2 once it is
   * finished, by whichever thread claimed it (a compare-and-swap from a
   * smaller value: the worker, or the caller when the worker is late) */
  uint64_t state;
  char pad[56];
} qrt_pool_done;

typedef struct qrt_pool {
  pthread_mutex_t mu;
  pthread_cond_t wake;
  int started;
  int sleepers; /* workers asleep on `wake` (or about to be) */
  int owned;    /* a caller is running a job (one at a time) */
  int ids;      /* worker ids handed out (1, 2, ...; the caller is 0) */
  char pad0[64];
  /* The job, on one cache line: written only while no task is claimable. */
  uint64_t job; /* the job word */
  uint64_t seq; /* the job's number (64 bits: never wraps) */
  qrt_task_fn fn;
  void *ctx;
  char pad1[64];
  int64_t finished; /* tasks of the current job finished (claimed jobs) */
  char pad2[64];
  qrt_pool_done done[QRT_THREADS];
} qrt_pool;

static qrt_pool qrt_the_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, {0}, 0, 0, 0, 0,
                                {0}, 0, {0}, {{0, {0}}}};

#ifdef QRT_POOL_ATOMICS
#define QRT_LOAD(x, mo) __atomic_load_n(&(x), mo)
#define QRT_STORE(x, v, mo) __atomic_store_n(&(x), v, mo)
#define QRT_ACQ __ATOMIC_ACQUIRE
#define QRT_REL __ATOMIC_RELEASE
#define QRT_RLX __ATOMIC_RELAXED
#define QRT_SC __ATOMIC_SEQ_CST

/* Claims the next task of the job of generation gen: its index, or -1
 * when that job has no unclaimed task (or has been replaced).  Reads of
 * fn/ctx made before a successful claim are that job's: the next job is
 * written only after every task of this one has finished. */
static int64_t qrt_pool_claim(qrt_pool *p, uint64_t gen) {
  uint64_t w = QRT_LOAD(p->job, QRT_ACQ);
  for (;;) {
    const uint64_t n = (w >> QRT_JOB_BITS) & QRT_JOB_MASK, i = w & QRT_JOB_MASK;
    if ((w >> (2 * QRT_JOB_BITS)) != gen || i >= n) return -1;
    if (__atomic_compare_exchange_n(&p->job, &w, w + 1, 0, QRT_SC, QRT_ACQ)) return (int64_t)i;
  }
}

/* Runs claimed tasks of generation gen until none is left. */
static void qrt_pool_work(qrt_pool *p, uint64_t gen, qrt_task_fn fn, void *ctx) {
  int64_t i;
  while ((i = qrt_pool_claim(p, gen)) >= 0) {
    fn(ctx, i);
    __atomic_fetch_add(&p->finished, 1, QRT_REL);
  }
}

/* Claims task k of job seq (a fixed job's): 1 when it was not started. */
static int qrt_pool_take(qrt_pool *p, int64_t k, uint64_t seq) {
  uint64_t s = QRT_LOAD(p->done[k].state, QRT_ACQ);
  while (s < 2 * seq + 1)
    if (__atomic_compare_exchange_n(&p->done[k].state, &s, 2 * seq + 1, 0, QRT_SC, QRT_ACQ)) return 1;
  return 0;
}

/* Runs task k of job seq if no thread has started it (its worker, or the
 * caller once its own task is done): 1 when this thread ran it. */
static int qrt_pool_run_task(qrt_pool *p, int64_t k, uint64_t seq, qrt_task_fn fn, void *ctx) {
  if (!qrt_pool_take(p, k, seq)) return 0;
  fn(ctx, k);
  QRT_STORE(p->done[k].state, 2 * seq + 2, QRT_REL);
  return 1;
}

/* Worker id's task of the current fixed job, unless the caller took it.
 * fn and ctx are read before the claim, and a successful claim proves
 * they were the job's: the caller publishes no other job while this
 * one's task is unclaimed (if a newer job's fn was read, the claim for
 * this seq fails: the caller took or finished that task before leaving
 * the job). */
static void qrt_pool_claim_own(qrt_pool *p, int64_t id) {
  const uint64_t seq = QRT_LOAD(p->seq, QRT_ACQ);
  qrt_pool_run_task(p, id, seq, QRT_LOAD(p->fn, QRT_RLX), QRT_LOAD(p->ctx, QRT_RLX));
}

static void *qrt_pool_worker(void *arg) {
  qrt_pool *p = (qrt_pool *)arg;
  const int64_t id = __atomic_add_fetch(&p->ids, 1, QRT_RLX);
  uint64_t seen = 0; /* before the first job: a worker that starts late joins the current one */
  for (;;) {
    uint64_t w, gen, n;
    int spin = 0;
    while ((gen = (w = QRT_LOAD(p->job, QRT_ACQ)) >> (2 * QRT_JOB_BITS)) == seen) {
      if (++spin < QRT_POOL_SPIN) {
        QRT_POOL_PAUSE();
        continue;
      }
      /* Sleep. The caller bumps the generation, then wakes sleepers if it
       * sees any (both seq_cst): either it sees us here, or we see its
       * generation below. */
      pthread_mutex_lock(&p->mu);
      __atomic_fetch_add(&p->sleepers, 1, QRT_SC);
      while (QRT_LOAD(p->job, QRT_SC) >> (2 * QRT_JOB_BITS) == seen) pthread_cond_wait(&p->wake, &p->mu);
      __atomic_fetch_sub(&p->sleepers, 1, QRT_SC);
      pthread_mutex_unlock(&p->mu);
      spin = 0;
    }
    seen = gen;
    n = (w >> QRT_JOB_BITS) & QRT_JOB_MASK;
    if (n <= QRT_THREADS) {
      /* Task `id`, if the job has one and the caller has not taken it
       * (qrt_pool_claim_own says why fn and ctx are the job's). */
      if ((uint64_t)id < n) qrt_pool_claim_own(p, id);
    } else {
      qrt_pool_work(p, gen, QRT_LOAD(p->fn, QRT_RLX), QRT_LOAD(p->ctx, QRT_RLX));
    }
  }
  return NULL;
}

/* 0 when the workers run (started now or before). */
static int qrt_pool_start(qrt_pool *p) {
  int t;
  if (QRT_LOAD(p->started, QRT_ACQ) == QRT_THREADS - 1) return 0;
  pthread_mutex_lock(&p->mu);
  for (t = p->started; t < QRT_THREADS - 1; ++t) {
    pthread_t tid;
    if (pthread_create(&tid, NULL, qrt_pool_worker, p)) break;
    pthread_detach(tid);
    QRT_STORE(p->started, t + 1, QRT_REL);
  }
  t = p->started == QRT_THREADS - 1 ? 0 : -1;
  pthread_mutex_unlock(&p->mu);
  return t;
}

/* Runs a job of n <= QRT_JOB_MAX_TASKS tasks with the workers. */
static void qrt_pool_run(qrt_pool *p, int64_t n, qrt_task_fn fn, void *ctx) {
  const uint64_t gen = ((QRT_LOAD(p->job, QRT_RLX) >> (2 * QRT_JOB_BITS)) + 1) & 0xffff;
  const uint64_t seq = p->seq + 1;
  const int fixed = n <= QRT_THREADS;
  int spin = 0;
  int64_t k;
  QRT_STORE(p->fn, fn, QRT_RLX);
  QRT_STORE(p->ctx, ctx, QRT_RLX);
  /* Worker states with no task in this job read as finished, before seq
   * is published: a worker that sees this seq (even with an older job
   * word, so an older task count or kind) then cannot claim a task the
   * job does not have, nor one of a claimed job. */
  for (k = fixed ? n : 1; k < QRT_THREADS; ++k) QRT_STORE(p->done[k].state, 2 * seq + 2, QRT_RLX);
  QRT_STORE(p->seq, seq, QRT_REL);
  QRT_STORE(p->finished, 0, QRT_RLX);
  /* A fixed job's next index starts at n: no task is claimable. */
  QRT_STORE(p->job, gen << (2 * QRT_JOB_BITS) | (uint64_t)n << QRT_JOB_BITS | (fixed ? (uint64_t)n : 0), QRT_SC);
  if (QRT_LOAD(p->sleepers, QRT_SC) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
  }
  if (fixed) {
    fn(ctx, 0);
    for (k = 1; k < n; ++k) {
      if (qrt_pool_run_task(p, k, seq, fn, ctx)) continue; /* its worker had not started it */
      while (QRT_LOAD(p->done[k].state, QRT_ACQ) != 2 * seq + 2) {
        if (++spin < QRT_POOL_SPIN) QRT_POOL_PAUSE();
        else sched_yield();
      }
    }
    return;
  }
  qrt_pool_work(p, gen, fn, ctx);
  /* Every task is claimed; wait for those still running on workers. */
  while (QRT_LOAD(p->finished, QRT_ACQ) < n) {
    if (++spin < QRT_POOL_SPIN) QRT_POOL_PAUSE();
    else sched_yield();
  }
}
#else
/* Without GNU atomics every step goes through the mutex: correct, slower. */
static void *qrt_pool_worker(void *arg) {
  qrt_pool *p = (qrt_pool *)arg;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (p->job >> (2 * QRT_JOB_BITS) == seen) pthread_cond_wait(&p->wake, &p->mu);
    seen = p->job >> (2 * QRT_JOB_BITS);
    while ((p->job & QRT_JOB_MASK) < ((p->job >> QRT_JOB_BITS) & QRT_JOB_MASK) &&
           p->job >> (2 * QRT_JOB_BITS) == seen) {
      const int64_t i = (int64_t)(p->job++ & QRT_JOB_MASK);
      qrt_task_fn fn = p->fn;
      void *ctx = p->ctx;
      pthread_mutex_unlock(&p->mu);
      fn(ctx, i);
      pthread_mutex_lock(&p->mu);
      if (++p->finished == (int64_t)((p->job >> QRT_JOB_BITS) & QRT_JOB_MASK)) pthread_cond_broadcast(&p->wake);
    }
  }
  return NULL;
}

static int qrt_pool_start(qrt_pool *p) {
  int t, ok;
  pthread_mutex_lock(&p->mu);
  for (t = p->started; t < QRT_THREADS - 1; ++t) {
    pthread_t tid;
    if (pthread_create(&tid, NULL, qrt_pool_worker, p)) break;
    pthread_detach(tid);
    p->started = t + 1;
  }
  ok = p->started == QRT_THREADS - 1;
  pthread_mutex_unlock(&p->mu);
  return ok ? 0 : -1;
}

static void qrt_pool_run(qrt_pool *p, int64_t n, qrt_task_fn fn, void *ctx) {
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->ctx = ctx;
  p->finished = 0;
  p->job = (((p->job >> (2 * QRT_JOB_BITS)) + 1) & 0xffff) << (2 * QRT_JOB_BITS) | (uint64_t)n << QRT_JOB_BITS;
  pthread_cond_broadcast(&p->wake);
  while ((int64_t)(p->job & QRT_JOB_MASK) < n) {
    const int64_t i = (int64_t)(p->job++ & QRT_JOB_MASK);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, i);
    pthread_mutex_lock(&p->mu);
    ++p->finished;
  }
  while (p->finished < n) pthread_cond_wait(&p->wake, &p->mu);
  pthread_mutex_unlock(&p->mu);
}
#endif

/* Tasks base + i of a job too large for one job word. */
typedef struct qrt_pool_chunk {
  qrt_task_fn fn;
  void *ctx;
  int64_t base;
} qrt_pool_chunk;

static void qrt_pool_chunk_task(void *ctx, int64_t i) {
  const qrt_pool_chunk *c = (const qrt_pool_chunk *)ctx;
  c->fn(c->ctx, c->base + i);
}

/* The pool runs one job at a time: a second caller (another thread's
 * model, or a task that splits again) runs its tasks itself. */
static int qrt_pool_acquire(qrt_pool *p) {
#ifdef QRT_POOL_ATOMICS
  return !__atomic_exchange_n(&p->owned, 1, QRT_ACQ);
#else
  int ok;
  pthread_mutex_lock(&p->mu);
  ok = !p->owned;
  p->owned = 1;
  pthread_mutex_unlock(&p->mu);
  return ok;
#endif
}

static void qrt_pool_release(qrt_pool *p) {
#ifdef QRT_POOL_ATOMICS
  QRT_STORE(p->owned, 0, QRT_REL);
#else
  pthread_mutex_lock(&p->mu);
  p->owned = 0;
  pthread_mutex_unlock(&p->mu);
#endif
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
  if (n > 1 && qrt_pool_start(&qrt_the_pool) == 0 && qrt_pool_acquire(&qrt_the_pool)) {
    if (n <= QRT_JOB_MAX_TASKS) {
      qrt_pool_run(&qrt_the_pool, n, fn, ctx);
    } else {
      qrt_pool_chunk c;
      c.fn = fn;
      c.ctx = ctx;
      for (c.base = 0; c.base < n; c.base += QRT_JOB_MAX_TASKS)
        qrt_pool_run(&qrt_the_pool, n - c.base < QRT_JOB_MAX_TASKS ? n - c.base : QRT_JOB_MAX_TASKS,
                     qrt_pool_chunk_task, &c);
    }
    qrt_pool_release(&qrt_the_pool);
    return;
  }
#endif
  for (i = 0; i < n; ++i) fn(ctx, i);
}

/* ---- ranges ----------------------------------------------------------- */
typedef struct qrt_range_job {
  qrt_range_fn fn;
  void *ctx;
  int64_t n, chunk;
} qrt_range_job;

static void qrt_range_task(void *ctx, int64_t i) {
  const qrt_range_job *r = (const qrt_range_job *)ctx;
  const int64_t b = i * r->chunk;
  r->fn(r->ctx, b, r->n - b < r->chunk ? r->n : b + r->chunk);
}

QRT_API int64_t qrt_parallel_chunk(int64_t n, int64_t align, int64_t min_items) {
  int64_t tasks = qrt_par_width, chunk;
  if (align < 1) align = 1;
  if (min_items < 1) min_items = 1;
  if (n / min_items < tasks) tasks = n / min_items;
  if ((n + align - 1) / align < tasks) tasks = (n + align - 1) / align;
  if (tasks <= 1) return n;
  chunk = (n + tasks - 1) / tasks;
  return (chunk + align - 1) / align * align;
}

QRT_API void qrt_parallel_range(int64_t n, int64_t align, int64_t min_items, qrt_range_fn fn, void *ctx) {
  qrt_range_job r;
  if (n <= 0) return;
  r.chunk = qrt_parallel_chunk(n, align, min_items);
  if (r.chunk >= n) {
    fn(ctx, 0, n);
    return;
  }
  r.fn = fn;
  r.ctx = ctx;
  r.n = n;
  qrt_parallel_for((n + r.chunk - 1) / r.chunk, qrt_range_task, &r);
}
