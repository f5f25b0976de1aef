/* Linked into the grouped model's program: a parallel-for that runs the
 * tasks in reverse order (as a job system might), width 2. A group's task
 * 1 then writes its rows of every member before task 0 reads its rows: a
 * member whose result took the memory of a value another member still
 * reads would corrupt it, and the outputs would differ from one thread's. */
#include "s2.h"

static void reverse_for(void *user, int64_t n, void (*task)(void *ctx, int64_t i), void *ctx) {
  int64_t i;
  (void)user;
  for (i = n - 1; i >= 0; i--) task(ctx, i);
}

__attribute__((constructor)) static void install_reverse_for(void) { s_set_parallel_for(reverse_for, 0, 2); }
