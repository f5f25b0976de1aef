/* test_plan_memory.c - the arena planner: no two buffers whose lifetimes
 * intersect may overlap in memory, offsets are aligned, and a chain of
 * short-lived buffers reuses memory (arena < sum of sizes). Checked on
 * random instances against a brute-force overlap test. */
#include <stdio.h>
#include <stdlib.h>

#include "plan_memory.h"

static int passed, failed;

static void check(int ok, const char *what, int seed) {
  if (ok) passed++;
  else failed++, printf("FAIL: %s (seed %d)\n", what, seed);
}

int main(void) {
  for (int seed = 0; seed < 200; seed++) {
    srand((unsigned)seed);
    int n = 1 + rand() % 40;
    qcc_buffer b[40];
    int64_t sum = 0, peak_live = 0;
    for (int i = 0; i < n; i++) {
      b[i].size = 1 + rand() % 5000;
      b[i].first = rand() % 30;
      b[i].last = b[i].first + rand() % 5;
      sum += b[i].size;
    }
    int64_t arena = qcc_plan_memory(b, n, 64);
    int ok = 1, aligned = 1;
    for (int i = 0; i < n; i++) {
      aligned &= b[i].offset % 64 == 0 && b[i].offset + b[i].size <= arena;
      for (int j = i + 1; j < n; j++) {
        int time = b[i].first <= b[j].last && b[j].first <= b[i].last;
        int space = b[i].offset < b[j].offset + b[j].size && b[j].offset < b[i].offset + b[i].size;
        if (time && space) ok = 0;
      }
    }
    for (int t = 0; t < 40; t++) {
      int64_t live = 0;
      for (int i = 0; i < n; i++) live += (b[i].first <= t && t <= b[i].last) ? b[i].size : 0;
      if (live > peak_live) peak_live = live;
    }
    check(ok, "live buffers overlap", seed);
    check(aligned, "offset misaligned or past the arena", seed);
    check(arena >= peak_live && arena <= sum + 64 * n, "arena size out of bounds", seed);
  }
  /* A chain a->b->c->d: each buffer dies when the next is written. */
  qcc_buffer chain[4];
  for (int i = 0; i < 4; i++) chain[i] = (qcc_buffer){1024, i, i + 1, 0};
  int64_t arena = qcc_plan_memory(chain, 4, 64);
  check(arena == 2048, "a chain needs exactly two buffers", -1);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
