/* test_runtime_copy.c - qrt_copy: transposes (incl. the tiled 2-D path), slices
 * with positive / negative steps, expand (zero strides), reshape copies, for
 * element sizes 1, 2, 4, 8.  Reference: per output element, the source
 * offset from the multi-index.  Bit-exact (byte compare). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static void run_case(int r, const int64_t *shape, const int64_t *strides, int64_t offset,
                     int64_t in_elems, int es, const char *name) {
  qrt_copy_params p;
  int64_t no = 1, i;
  int k, ok = 1;
  uint8_t *x, *y;
  const void *in[1];
  void *out[1];
  char what[80];
  memset(&p, 0, sizeof p);
  p.rank = r; p.elem_size = es; p.offset = offset;
  for (k = 0; k < r; ++k) {
    p.out_shape[k] = shape[k];
    p.in_strides[k] = strides[k];
    no *= shape[k];
  }
  x = (uint8_t *)xmalloc((size_t)(in_elems * es));
  y = (uint8_t *)xmalloc((size_t)(no * es));
  for (i = 0; i < in_elems * es; ++i) x[i] = (uint8_t)(lcg() >> 24);
  in[0] = x; out[0] = y;
  qrt_copy(&p, in, out);
  for (i = 0; i < no; ++i) {
    int64_t rem = i, off = offset;
    for (k = r - 1; k >= 0; --k) {
      off += (rem % shape[k]) * strides[k];
      rem /= shape[k];
    }
    ok &= memcmp(y + i * es, x + off * es, (size_t)es) == 0;
  }
  sprintf(what, "copy %s es %d", name, es);
  check(ok, what);
  free(x); free(y);
}

int main(void) {
  static const int es[4] = {1, 2, 4, 8};
  int e;
  for (e = 0; e < 4; ++e) {
    {
      /* 2-D transpose of [37, 70] -> [70, 37] */
      const int64_t s[2] = {70, 37}, st[2] = {1, 70};
      run_case(2, s, st, 0, 37 * 70, es[e], "transpose2d");
    }
    {
      /* attention's k^T: heads of 32 columns of a [64, 128] matrix, each
       * transposed to [32, 64] (whole 16 x 16 int8 blocks), and of a
       * [50, 120] one with heads of 40 (edge rows and columns too) */
      const int64_t s[3] = {4, 32, 64}, st[3] = {32, 1, 128};
      const int64_t s2[3] = {3, 40, 50}, st2[3] = {40, 1, 120};
      run_case(3, s, st, 0, 64 * 128, es[e], "heads transposed");
      run_case(3, s2, st2, 0, 50 * 120, es[e], "heads transposed, edges");
    }
    {
      /* [2, 3, 4, 5] permuted (0, 2, 3, 1): out [2, 4, 5, 3] */
      const int64_t s[4] = {2, 4, 5, 3}, st[4] = {60, 5, 1, 20};
      run_case(4, s, st, 0, 120, es[e], "perm0231");
    }
    {
      /* [2, 3, 4, 5] permuted (3, 1, 0, 2): out [5, 3, 2, 4] */
      const int64_t s[4] = {5, 3, 2, 4}, st[4] = {1, 20, 60, 5};
      run_case(4, s, st, 0, 120, es[e], "perm3102");
    }
    {
      /* slice x[1:9:2, ::-1] of [10, 6]: out [4, 6] */
      const int64_t s[2] = {4, 6}, st[2] = {12, -1};
      run_case(2, s, st, 6 + 5, 60, es[e], "slice steps, negative");
    }
    {
      /* x[::-3] of [10] -> 4 elements from 9 */
      const int64_t s[1] = {4}, st[1] = {-3};
      run_case(1, s, st, 9, 10, es[e], "slice -3");
    }
    {
      /* expand [3, 1] -> [2, 3, 4] */
      const int64_t s[3] = {2, 3, 4}, st[3] = {0, 1, 0};
      run_case(3, s, st, 0, 3, es[e], "expand");
    }
    {
      /* contiguous reshape copy of [4, 5, 6] and a rank-0 copy */
      const int64_t s[3] = {4, 5, 6}, st[3] = {30, 6, 1}, one[1] = {1};
      run_case(3, s, st, 0, 120, es[e], "contiguous");
      run_case(0, one, one, 7, 10, es[e], "scalar");
    }
    {
      /* rank 8 with size-1 dims and a slice in the middle */
      const int64_t s[8] = {2, 1, 3, 1, 2, 2, 1, 3}, st[8] = {200, 7, 50, 9, 20, 5, 3, 1};
      run_case(8, s, st, 4, 400, es[e], "rank8");
    }
  }
  return finish();
}
