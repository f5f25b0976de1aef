/* test_runtime_gather.c - qrt_gather with i32 / i64 indices, negative indices,
 * out-of-range indices (zero-filled slices), several axes and element sizes.
 * Bit-exact (byte compare). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static void run_case(int64_t outer, int64_t axis_dim, int64_t inner, int64_t nidx, int idx64, int es) {
  qrt_gather_params p;
  uint8_t *data, *y, *r;
  int32_t *i32 = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)nidx);
  int64_t *i64 = (int64_t *)xmalloc(sizeof(int64_t) * (size_t)nidx);
  const void *in[2];
  void *out[1];
  int64_t o, j, k, bytes = inner * es;
  char what[80];
  memset(&p, 0, sizeof p);
  p.index_dtype = idx64 ? QRT_I64 : QRT_I32; p.elem_size = es; p.outer = outer;
  p.axis_dim = axis_dim; p.inner = inner; p.n_indices = nidx;
  data = (uint8_t *)xmalloc((size_t)(outer * axis_dim * bytes));
  y = (uint8_t *)xmalloc((size_t)(outer * nidx * bytes));
  r = (uint8_t *)xmalloc((size_t)(outer * nidx * bytes));
  for (k = 0; k < outer * axis_dim * bytes; ++k) data[k] = (uint8_t)(lcg() >> 24);
  for (j = 0; j < nidx; ++j) {
    i64[j] = (int64_t)(lcg() % (uint32_t)(3 * axis_dim + 2)) - (int64_t)(3 * axis_dim / 2) - 1;
    i32[j] = (int32_t)i64[j];
  }
  in[0] = data; in[1] = idx64 ? (const void *)i64 : (const void *)i32; out[0] = y;
  qrt_gather(&p, in, out);
  for (o = 0; o < outer; ++o)
    for (j = 0; j < nidx; ++j) {
      int64_t ix = i64[j] < 0 ? i64[j] + axis_dim : i64[j];
      uint8_t *dst = r + (o * nidx + j) * bytes;
      if (ix < 0 || ix >= axis_dim) memset(dst, 0, (size_t)bytes);
      else memcpy(dst, data + (o * axis_dim + ix) * bytes, (size_t)bytes);
    }
  sprintf(what, "gather outer %lld axis %lld inner %lld idx64 %d es %d", (long long)outer,
          (long long)axis_dim, (long long)inner, idx64, es);
  check(memcmp(y, r, (size_t)(outer * nidx * bytes)) == 0, what);
  free(data); free(y); free(r); free(i32); free(i64);
}

int main(void) {
  static const int es[4] = {1, 2, 4, 8};
  int e, i64;
  for (e = 0; e < 4; ++e)
    for (i64 = 0; i64 < 2; ++i64) {
      run_case(1, 10, 7, 13, i64, es[e]);  /* embedding-style, axis 0 */
      run_case(5, 6, 1, 9, i64, es[e]);    /* last axis */
      run_case(3, 4, 5, 1, i64, es[e]);    /* scalar-like index */
    }
  return finish();
}
