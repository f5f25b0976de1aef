/* test_runtime_concat.c - qrt_concat along several axes against a reference
 * built from the per-input shapes.  Bit-exact (byte compare). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static void run_case(int64_t outer, int n_inputs, const int64_t *inner, int es) {
  qrt_concat_params p;
  const void *in[QRT_CONCAT_MAX_INPUTS];
  void *out[1];
  uint8_t *src[QRT_CONCAT_MAX_INPUTS], *y, *r, *rp;
  int64_t total = 0, o;
  int i, k;
  char what[64];
  memset(&p, 0, sizeof p);
  p.n_inputs = n_inputs; p.elem_size = es; p.outer = outer;
  for (i = 0; i < n_inputs; ++i) {
    p.inner_sizes[i] = inner[i];
    total += inner[i];
    src[i] = (uint8_t *)xmalloc((size_t)(outer * inner[i] * es));
    for (k = 0; k < outer * inner[i] * es; ++k) src[i][k] = (uint8_t)(lcg() >> 24);
    in[i] = src[i];
  }
  y = (uint8_t *)xmalloc((size_t)(outer * total * es));
  r = (uint8_t *)xmalloc((size_t)(outer * total * es));
  out[0] = y;
  qrt_concat(&p, in, out);
  rp = r;
  for (o = 0; o < outer; ++o)
    for (i = 0; i < n_inputs; ++i)
      for (k = 0; k < inner[i] * es; ++k) *rp++ = src[i][o * inner[i] * es + k];
  sprintf(what, "concat outer %lld n %d es %d", (long long)outer, n_inputs, es);
  check(outer * total == 0 || memcmp(y, r, (size_t)(outer * total * es)) == 0, what);
  for (i = 0; i < n_inputs; ++i) free(src[i]);
  free(y); free(r);
}

int main(void) {
  static const int es[4] = {1, 2, 4, 8};
  int e, i;
  for (e = 0; e < 4; ++e) {
    const int64_t a[3] = {12, 20, 4}, b[2] = {1, 1}, c[3] = {5, 0, 7};
    int64_t many[64];
    for (i = 0; i < 64; ++i) many[i] = 1 + i % 3;
    run_case(1, 3, a, es[e]);   /* axis 0 */
    run_case(6, 3, a, es[e]);   /* inner axis */
    run_case(9, 2, b, es[e]);   /* last axis, one element each */
    run_case(4, 3, c, es[e]);   /* an empty input */
    run_case(3, 64, many, es[e]);
  }
  return finish();
}
