/* test_runtime_where.c - qrt_where (element sizes 1, 2, 4, 8; broadcasting of
 * cond, a and b, also both values broadcast) against a multi-index
 * reference.  Bit-exact (byte compare). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static void strides_for(int r, const int64_t *out, const int64_t *s, int64_t *st) {
  int64_t acc = 1;
  int k;
  for (k = r - 1; k >= 0; --k) {
    st[k] = s[k] == 1 && out[k] != 1 ? 0 : acc;
    acc *= s[k];
  }
}

static void run_case(int r, const int64_t *out, const int64_t *sc, const int64_t *sa,
                     const int64_t *sb, int es) {
  qrt_where_params p;
  int64_t nc = 1, na = 1, nb = 1, no = 1, i;
  int k;
  uint8_t *c, *a, *b, *y;
  const void *in[3];
  void *o[1];
  int ok = 1;
  char what[64];
  memset(&p, 0, sizeof p);
  p.rank = r; p.elem_size = es;
  for (k = 0; k < r; ++k) {
    p.out_shape[k] = out[k];
    nc *= sc[k]; na *= sa[k]; nb *= sb[k]; no *= out[k];
  }
  strides_for(r, out, sc, p.cond_strides);
  strides_for(r, out, sa, p.a_strides);
  strides_for(r, out, sb, p.b_strides);
  c = (uint8_t *)xmalloc((size_t)nc);
  a = (uint8_t *)xmalloc((size_t)(na * es));
  b = (uint8_t *)xmalloc((size_t)(nb * es));
  y = (uint8_t *)xmalloc((size_t)(no * es));
  for (i = 0; i < nc; ++i) c[i] = (uint8_t)(lcg() >> 31);
  for (i = 0; i < na * es; ++i) a[i] = (uint8_t)(lcg() >> 24);
  for (i = 0; i < nb * es; ++i) b[i] = (uint8_t)(lcg() >> 24);
  in[0] = c; in[1] = a; in[2] = b; o[0] = y;
  qrt_where(&p, in, o);
  for (i = 0; i < no; ++i) {
    int64_t rem = i, oc = 0, oa = 0, ob = 0;
    for (k = r - 1; k >= 0; --k) {
      const int64_t ix = rem % out[k];
      rem /= out[k];
      oc += ix * p.cond_strides[k]; oa += ix * p.a_strides[k]; ob += ix * p.b_strides[k];
    }
    ok &= memcmp(y + i * es, c[oc] ? a + oa * es : b + ob * es, (size_t)es) == 0;
  }
  sprintf(what, "where rank %d es %d", r, es);
  check(ok, what);
  free(c); free(a); free(b); free(y);
}

int main(void) {
  static const int es[4] = {1, 2, 4, 8};
  int e;
  for (e = 0; e < 4; ++e) {
    {
      const int64_t s[3] = {3, 4, 5};
      run_case(3, s, s, s, s, es[e]);
    }
    {
      const int64_t out[3] = {3, 4, 5}, c[3] = {3, 1, 5}, a[3] = {1, 4, 5}, b[3] = {1, 1, 1};
      run_case(3, out, c, a, b, es[e]);
      run_case(3, out, b, c, a, es[e]);
    }
    {
      const int64_t out[5] = {2, 3, 1, 4, 7}, c[5] = {1, 3, 1, 4, 1}, a[5] = {2, 1, 1, 1, 7},
                    b[5] = {2, 3, 1, 4, 7};
      run_case(5, out, c, a, b, es[e]);
    }
    {
      const int64_t one[1] = {1};
      run_case(0, one, one, one, one, es[e]);
    }
    {
      /* a and b each one value broadcast (AIFS's permuted causal mask) */
      const int64_t out[2] = {4, 48}, c[2] = {4, 48}, c1[2] = {4, 1}, one[2] = {1, 1};
      run_case(2, out, c, one, one, es[e]);
      run_case(2, out, c1, one, one, es[e]);
    }
  }
  return finish();
}
