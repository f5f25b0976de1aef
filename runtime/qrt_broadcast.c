#include "qrt.h"
/* qrt_broadcast.c - the broadcast walk of elementwise binary kernels
 * (qrt_binary.c's ops, qrt_qadd.c's int8 add).
 *
 * qrt_bin_drive merges dims that are contiguous for a, b and the output
 * (and drops size-1 dims), then walks all but the innermost dim with an
 * odometer and calls the kernel's row function for the innermost one.
 * A file of its own: the int8 add needs the walk without the float and
 * integer op tables of qrt_binary.c (pasted code stays small, and a
 * sanitized -O3 build of those tables takes a minute). */
#include <string.h>

/* A broadcast walk: dims merged where contiguous for a, b and y, the
 * innermost (length n, strides sa[r-1], sb[r-1]) done by fn per row. */
typedef struct qrt_bin_job {
  int64_t shape[8], sa[8], sb[8];
  int r;
  const char *a, *b;
  char *y;
  qrt_bin_row_fn fn;
  int64_t es, yes;
  const void *ctx;
} qrt_bin_job;

/* Output elements [e0, e1) (rows cut anywhere: every element is computed
 * alone, so any split gives the same bits). */
QRT_INTERNAL void qrt_bin_range(void *ctx, int64_t e0, int64_t e1) {
  const qrt_bin_job *w = (const qrt_bin_job *)ctx;
  const int r = w->r;
  const int64_t n = w->shape[r - 1];
  int64_t idx[8], row = e0 / n, j = e0 % n, oa = 0, ob = 0, t, e = e0;
  int k;
  for (k = r - 2, t = row; k >= 0; --k) { /* the row's index, innermost outer dim first */
    idx[k] = t % w->shape[k];
    t /= w->shape[k];
    oa += idx[k] * w->sa[k];
    ob += idx[k] * w->sb[k];
  }
  while (e < e1) {
    const int64_t len = e1 - e < n - j ? e1 - e : n - j;
    w->fn(len, w->a + (oa + j * w->sa[r - 1]) * w->es, w->sa[r - 1], w->b + (ob + j * w->sb[r - 1]) * w->es,
          w->sb[r - 1], w->y + e * w->yes, w->ctx);
    e += len;
    j = 0;
    for (k = r - 2; k >= 0; --k) {
      oa += w->sa[k];
      ob += w->sb[k];
      if (++idx[k] < w->shape[k]) break;
      oa -= w->sa[k] * w->shape[k];
      ob -= w->sb[k] * w->shape[k];
      idx[k] = 0;
    }
  }
}

/* Walks the broadcast (see qrt.h); threads take ranges of whole 64-element
 * blocks (the row functions' vector blocks stay where they were). */
QRT_API void qrt_bin_drive(const qrt_binary_params *p, const void *a, const void *b, void *y,
                           qrt_bin_row_fn fn, int64_t es, int64_t yes, const void *ctx) {
  qrt_bin_job w;
  int64_t total = 1;
  int r = 0, k, rank = p->rank < 0 ? 0 : (p->rank > 8 ? 8 : p->rank);
  for (k = 0; k < rank; ++k) total *= p->out_shape[k];
  if (total <= 0) return;
  if (!fn) { memset(y, 0, (size_t)(total * yes)); return; }
  /* Coalesce from the innermost dim outwards. */
  for (k = rank - 1; k >= 0; --k) {
    const int64_t d = p->out_shape[k];
    if (d == 1) continue;
    if (r > 0 && p->a_strides[k] == w.sa[0] * w.shape[0] && p->b_strides[k] == w.sb[0] * w.shape[0]) {
      w.shape[0] *= d;
      continue;
    }
    memmove(w.shape + 1, w.shape, (size_t)r * sizeof w.shape[0]);
    memmove(w.sa + 1, w.sa, (size_t)r * sizeof w.sa[0]);
    memmove(w.sb + 1, w.sb, (size_t)r * sizeof w.sb[0]);
    w.shape[0] = d;
    w.sa[0] = p->a_strides[k];
    w.sb[0] = p->b_strides[k];
    ++r;
  }
  if (r == 0) { w.shape[0] = 1; w.sa[0] = 0; w.sb[0] = 0; r = 1; }
  w.r = r;
  w.a = (const char *)a;
  w.b = (const char *)b;
  w.y = (char *)y;
  w.fn = fn;
  w.es = es;
  w.yes = yes;
  w.ctx = ctx;
  qrt_parallel_range(total, 64, QRT_PAR_MIN_ELEMS, qrt_bin_range, &w);
}

