/* A program's own parallel-for (here: tasks in reverse order, as a job
 * system might run them, width 4) gives the model the same bits as one
 * thread: prints the output's bytes as a checksum for comparison. */
#include <stdio.h>
#include <string.h>
#include "par.h"

static int calls;

static void reverse_for(void *user, int64_t n, void (*task)(void *ctx, int64_t i), void *ctx) {
  int64_t i;
  (void)user;
  calls++;
  for (i = n - 1; i >= 0; i--) task(ctx, i);
}

int main(void) {
  static float x[PAR_IN0_SIZE], y[PAR_IN1_SIZE], out[PAR_OUT0_SIZE];
  unsigned long sum = 0;
  int i;
  for (i = 0; i < PAR_IN0_SIZE; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
  for (i = 0; i < PAR_IN1_SIZE; i++) y[i] = (float)((i * 53) % 97) / 48.0f - 1.0f;
  par_set_parallel_for(reverse_for, NULL, 4);
  if (par_run(x, y, out)) return 1;
  for (i = 0; i < PAR_OUT0_SIZE; i++) {
    unsigned char b[4];
    memcpy(b, &out[i], 4);
    sum = sum * 31 + b[0] + b[1] * 7u + b[2] * 13u + b[3] * 17u;
  }
  printf("hook calls %d checksum %lu\n", calls, sum);
  par_set_parallel_for(NULL, NULL, 0);
  return 0;
}
