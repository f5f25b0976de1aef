/* Used by c-api.test: the re-entrant entry point gives the same result as
 * the static one and rejects a NULL or misaligned workspace. */
#include <stdio.h>
#include <string.h>

#include "digits.h"

static union {
  double align;
  unsigned char bytes[DIGITS_WORKSPACE_SIZE + 8];
} ws;

int main(void) {
  float x[DIGITS_IN0_SIZE], a[DIGITS_OUT0_SIZE], b[DIGITS_OUT0_SIZE];
  int i;
  for (i = 0; i < DIGITS_IN0_SIZE; i++) x[i] = (float)(i % 7) / 7.0f;
  printf("null %d ", digits_run_ws(x, a, NULL));
  printf("misaligned %d ", digits_run_ws(x, a, ws.bytes + 1));
  printf("ok %d ", digits_run_ws(x, a, ws.bytes));
  digits_run(x, b);
  printf("same %d\n", memcmp(a, b, sizeof a) == 0);
  return 0;
}
