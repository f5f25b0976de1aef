/* plan_memory.c - see plan_memory.h. */
#include "plan_memory.h"

#include <stdlib.h>

static int64_t round_up(int64_t x, int64_t a) { return (x + a - 1) / a * a; }

static int by_size_desc(const void *pa, const void *pb, void *ctx) {
  const qcc_buffer *b = ctx;
  int ia = *(const int *)pa, ib = *(const int *)pb;
  if (b[ia].size != b[ib].size) return b[ia].size > b[ib].size ? -1 : 1;
  return ia - ib; /* deterministic order for equal sizes */
}

static const qcc_buffer *sort_ctx;
static int cmp_size(const void *a, const void *b) { return by_size_desc(a, b, (void *)sort_ctx); }

static int cmp_offset(const void *pa, const void *pb) {
  const qcc_buffer *a = *(const qcc_buffer *const *)pa, *b = *(const qcc_buffer *const *)pb;
  return a->offset < b->offset ? -1 : a->offset > b->offset;
}

int64_t qcc_plan_memory(qcc_buffer *bufs, int n, int64_t align) {
  int *order = malloc(sizeof(int) * (size_t)(n + 1));
  const qcc_buffer **live = malloc(sizeof *live * (size_t)(n + 1));
  for (int i = 0; i < n; i++) order[i] = i;
  sort_ctx = bufs;
  qsort(order, (size_t)n, sizeof *order, cmp_size);
  int64_t total = 0;
  for (int k = 0; k < n; k++) {
    qcc_buffer *b = &bufs[order[k]];
    int m = 0;
    for (int j = 0; j < k; j++) {
      const qcc_buffer *o = &bufs[order[j]];
      if (o->first <= b->last && b->first <= o->last) live[m++] = o;
    }
    qsort(live, (size_t)m, sizeof *live, cmp_offset);
    int64_t at = 0;
    for (int j = 0; j < m; j++) {
      if (live[j]->offset >= at + b->size) break; /* fits in the gap before it */
      int64_t end = round_up(live[j]->offset + live[j]->size, align);
      if (end > at) at = end;
    }
    b->offset = at;
    if (at + b->size > total) total = at + b->size;
  }
  free(order);
  free(live);
  return round_up(total, align);
}
