/* test_runtime_pad.c - qrt_pad in constant / reflect / edge / wrap modes, with
 * positive and negative (crop) pads, ranks 1..4, element sizes 1..8.
 * Reference: per output element, the source index per dim (numpy-style
 * repeated reflection).  Bit-exact (byte compare). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static int64_t ref_map(int64_t s, int64_t n, int mode) {
  if (s >= 0 && s < n) return s;
  if (mode == QRT_PAD_CONSTANT) return -1;
  if (mode == QRT_PAD_EDGE) return s < 0 ? 0 : n - 1;
  if (mode == QRT_PAD_WRAP) return ((s % n) + n) % n;
  /* reflect by walking */
  if (n == 1) return 0;
  while (s < 0 || s >= n) s = s < 0 ? -s : 2 * (n - 1) - s;
  return s;
}

static void run_case(int r, const int64_t *shape, const int64_t *pb, const int64_t *pe, int mode, int es) {
  qrt_pad_params p;
  int64_t ni = 1, no = 1, os[8], i;
  int k, ok = 1;
  uint8_t *x, *y, val[8];
  const void *in[1];
  void *out[1];
  char what[64];
  uint64_t bits = 0x1122334455667788ull;
  memset(&p, 0, sizeof p);
  p.mode = mode; p.rank = r; p.elem_size = es; p.value_bits = (int64_t)bits;
  for (k = 0; k < r; ++k) {
    p.in_shape[k] = shape[k]; p.pads_begin[k] = pb[k]; p.pads_end[k] = pe[k];
    os[k] = shape[k] + pb[k] + pe[k];
    ni *= shape[k];
    no *= os[k];
  }
  /* expected constant: the low es bytes of value_bits, in memory order of
   * that integer type */
  for (k = 0; k < es; ++k) {
    uint64_t v = bits;
    if (es == 1) { uint8_t t = (uint8_t)v; memcpy(val, &t, 1); }
    if (es == 2) { uint16_t t = (uint16_t)v; memcpy(val, &t, 2); }
    if (es == 4) { uint32_t t = (uint32_t)v; memcpy(val, &t, 4); }
    if (es == 8) memcpy(val, &v, 8);
  }
  x = (uint8_t *)xmalloc((size_t)(ni * es));
  y = (uint8_t *)xmalloc((size_t)(no * es));
  for (i = 0; i < ni * es; ++i) x[i] = (uint8_t)(lcg() >> 24);
  in[0] = x; out[0] = y;
  qrt_pad(&p, in, out);
  for (i = 0; i < no; ++i) {
    int64_t rem = i, off = 0, stride = 1;
    int fill = 0;
    for (k = r - 1; k >= 0; --k) {
      const int64_t s = ref_map(rem % os[k] - pb[k], shape[k], mode);
      rem /= os[k];
      if (s < 0) fill = 1;
      else off += s * stride;
      stride *= shape[k];
    }
    ok &= memcmp(y + i * es, fill ? val : x + off * es, (size_t)es) == 0;
  }
  sprintf(what, "pad rank %d mode %d es %d", r, mode, es);
  check(ok, what);
  free(x); free(y);
}

int main(void) {
  static const int es[4] = {1, 2, 4, 8};
  int e, mode;
  for (e = 0; e < 4; ++e)
    for (mode = 0; mode < 4; ++mode) {
      {
        const int64_t s[1] = {5}, b[1] = {2}, en[1] = {3};
        run_case(1, s, b, en, mode, es[e]);
      }
      {
        const int64_t s[1] = {4}, b[1] = {9}, en[1] = {7}; /* pads larger than the dim */
        run_case(1, s, b, en, mode, es[e]);
      }
      {
        const int64_t s[2] = {3, 4}, b[2] = {1, 2}, en[2] = {2, 1};
        run_case(2, s, b, en, mode, es[e]);
      }
      {
        const int64_t s[4] = {1, 2, 5, 6}, b[4] = {0, 1, 1, 1}, en[4] = {0, 0, 1, 2};
        run_case(4, s, b, en, mode, es[e]);
      }
      {
        const int64_t s[3] = {4, 5, 6}, b[3] = {-1, 2, -2}, en[3] = {1, -2, 3}; /* crops */
        run_case(3, s, b, en, mode, es[e]);
      }
      {
        const int64_t s[2] = {1, 1}, b[2] = {2, 1}, en[2] = {1, 2}; /* size-1 dims */
        run_case(2, s, b, en, mode, es[e]);
      }
    }
  return finish();
}
