/* io-alias.test: cache.onnx run twice from the same inputs, once with
 * separate cache buffers and once with each cache passed as both input and
 * output (CACHE_IN2_MAY_ALIAS_OUT1, CACHE_IN4_MAY_ALIAS_OUT2); prints
 * "same 1" when every output is identical bit for bit. */
#include <stdio.h>
#include <string.h>

#include "cache.h"

#if !defined(CACHE_IN2_MAY_ALIAS_OUT1) || !defined(CACHE_IN4_MAY_ALIAS_OUT2)
#error "cache.onnx's caches should be updatable in place"
#endif

int main(void) {
  float q[CACHE_IN0_SIZE], pk[CACHE_IN2_SIZE], nk[CACHE_IN3_SIZE], pv[CACHE_IN4_SIZE], nv[CACHE_IN5_SIZE];
  float y[CACHE_OUT0_SIZE], k[CACHE_OUT1_SIZE], v[CACHE_OUT2_SIZE], y2[CACHE_OUT0_SIZE], kv[2][CACHE_IN2_SIZE];
  int64_t idx[CACHE_IN1_SIZE];
  int i, same;
  for (i = 0; i < CACHE_IN0_SIZE; i++) q[i] = (float)(i % 5) - 2.0f;
  for (i = 0; i < CACHE_IN2_SIZE; i++) pk[i] = (float)(i % 7) * 0.25f, pv[i] = (float)(i % 3) - 1.0f;
  for (i = 0; i < CACHE_IN3_SIZE; i++) nk[i] = (float)i * 0.5f, nv[i] = -(float)i;
  for (i = 0; i < CACHE_IN1_SIZE; i++) idx[i] = 3 + i / 4; /* rows 3 and 4 */
  if (cache_run(q, idx, pk, nk, pv, nv, y, k, v)) return 1;
  memcpy(kv[0], pk, sizeof pk);
  memcpy(kv[1], pv, sizeof pv);
  if (cache_run(q, idx, kv[0], nk, kv[1], nv, y2, kv[0], kv[1])) return 1;
  same = !memcmp(y, y2, sizeof y) && !memcmp(k, kv[0], sizeof k) && !memcmp(v, kv[1], sizeof v) &&
         memcmp(k, pk, sizeof k) != 0;
  printf("same %d\n", same);
  return 0;
}
