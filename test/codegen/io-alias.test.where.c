/* io-alias.test: where.onnx (next = Where(mask, new, state)) run with
 * separate state buffers and with the state passed as both input and
 * output (WHERE_IN2_MAY_ALIAS_OUT0); prints "same 1" when the results are
 * identical bit for bit and some rows changed. */
#include <stdio.h>
#include <string.h>

#include "where.h"

#if !defined(WHERE_IN2_MAY_ALIAS_OUT0)
#error "where.onnx's state should be updatable in place"
#endif

int main(void) {
  uint8_t mask[WHERE_IN0_SIZE];
  float fresh[WHERE_IN1_SIZE], state[WHERE_IN2_SIZE], next[WHERE_OUT0_SIZE], inplace[WHERE_IN2_SIZE];
  int i, same;
  for (i = 0; i < WHERE_IN0_SIZE; i++) mask[i] = (uint8_t)(i % 3 == 1);
  for (i = 0; i < WHERE_IN1_SIZE; i++) fresh[i] = 10.0f + (float)i;
  for (i = 0; i < WHERE_IN2_SIZE; i++) state[i] = (float)(i % 7) - 3.0f;
  if (where_run(mask, fresh, state, next)) return 1;
  memcpy(inplace, state, sizeof state);
  if (where_run(mask, fresh, inplace, inplace)) return 1;
  same = !memcmp(next, inplace, sizeof next) && memcmp(next, state, sizeof next) != 0;
  printf("same %d\n", same);
  return 0;
}
