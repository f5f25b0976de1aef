/* test_runtime_cumsum_topk.c - qrt_cumsum (every axis incl. negative and
 * out of range, exclusive/reverse, f32 bit-exact against a sequential
 * reference, int32 wrapping) and qrt_topk (largest/smallest, ties, NaN,
 * the merge-sort path with scratch and the insertion path without must
 * both equal a reference selection; lines of small non-negative integers,
 * which take the counting sort, too, and lines where one value (0.5, NaN,
 * 16) sends them back to the sort). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static void run_cumsum(int64_t axis_in, int excl, int rev) {
  static const int64_t shape[3] = {3, 5, 4};
  float x[60], y[60], r[60];
  int32_t xi[60], yi[60], ri[60];
  int64_t ax = axis_in < 0 ? axis_in + 3 : axis_in, o, i, t, outer = 1, len = 1, inner = 1;
  qrt_cumsum_params p;
  const void *in[2];
  void *out[1];
  int k;
  char what[80];
  fill_f32(x, 60, -2.0f, 2.0f);
  for (k = 0; k < 60; ++k) xi[k] = (int32_t)(lcg() ^ 0x40000000u);
  memset(&p, 0, sizeof p);
  p.dtype = QRT_F32; p.axis_dtype = QRT_I64; p.exclusive = excl; p.reverse = rev; p.rank = 3;
  memcpy(p.shape, shape, sizeof shape);
  in[0] = x; in[1] = &axis_in; out[0] = y;
  qrt_cumsum(&p, in, out);
  p.dtype = QRT_I32; in[0] = xi; out[0] = yi;
  qrt_cumsum(&p, in, out);
  if (ax < 0 || ax > 2) {
    memset(r, 0, sizeof r);
    memset(ri, 0, sizeof ri);
  } else {
    for (k = 0; k < 3; ++k) {
      if (k < ax) outer *= shape[k];
      else if (k == ax) len = shape[k];
      else inner *= shape[k];
    }
    for (o = 0; o < outer; ++o)
      for (i = 0; i < inner; ++i) {
        float acc = 0.0f;
        uint32_t acci = 0;
        for (t = 0; t < len; ++t) {
          int64_t j = rev ? len - 1 - t : t, at = (o * len + j) * inner + i;
          if (excl) { r[at] = acc; ri[at] = (int32_t)acci; }
          acc = acc + x[at];
          acci += (uint32_t)xi[at];
          if (!excl) { r[at] = acc; ri[at] = (int32_t)acci; }
        }
      }
  }
  sprintf(what, "cumsum axis %lld excl %d rev %d", (long long)axis_in, excl, rev);
  check(same_f32_arr(y, r, 60) && memcmp(yi, ri, sizeof ri) == 0, what);
}

/* reference: repeatedly pick the best remaining position */
static int better(float a, float b, int64_t ia, int64_t ib, int largest) {
  int na = a != a, nb = b != b, c = na || nb ? na - nb : (a > b) - (a < b);
  if (c == 0) return ia < ib;
  return largest ? c > 0 : c < 0;
}

/* values: 0 many ties, NaN and negatives; 1 integers in [0, 16) with -0
 * (the counting sort); 2 the same with one 0.5, NaN or 16 (not counted) */
static void run_topk(int64_t outer, int64_t len, int64_t inner, int64_t k, int largest, int values) {
  qrt_topk_params p;
  int64_t n = outer * len * inner, ny = outer * k * inner, o, i, j, s;
  float *x = (float *)xmalloc(sizeof(float) * (size_t)n);
  int64_t *y1 = (int64_t *)xmalloc(sizeof(int64_t) * (size_t)ny), *y2 = (int64_t *)xmalloc(sizeof(int64_t) * (size_t)ny);
  int64_t *r = (int64_t *)xmalloc(sizeof(int64_t) * (size_t)ny);
  char *used = (char *)xmalloc((size_t)len);
  void *scratch;
  const void *in[2];
  void *out[1];
  char what[160];
  for (j = 0; j < n; ++j) x[j] = (lcg() % 11 == 0) ? NAN : (float)(int)(lcg() % 7) - 3.0f; /* many ties */
  if (values)
    for (j = 0; j < n; ++j) x[j] = j % 5 == 2 ? -0.0f : (float)(int)(lcg() % (len > 20 ? 16 : 3));
  if (values == 2)
    for (o = 0; o < outer; ++o)
      for (i = 0; i < inner; ++i) x[(o * len + len / 2) * inner + i] = (o + i) % 3 == 0 ? 0.5f : (o + i) % 3 == 1 ? NAN : 16.0f;
  memset(&p, 0, sizeof p);
  p.dtype = QRT_F32; p.largest = largest; p.outer = outer; p.len = len; p.inner = inner; p.k = k;
  scratch = xmalloc((size_t)qrt_topk_scratch(&p));
  in[0] = x; in[1] = scratch; out[0] = y1;
  qrt_topk(&p, in, out);
  in[1] = NULL; out[0] = y2;
  qrt_topk(&p, in, out);
  for (o = 0; o < outer; ++o)
    for (i = 0; i < inner; ++i) {
      memset(used, 0, (size_t)len);
      for (s = 0; s < k; ++s) {
        int64_t best = -1;
        for (j = 0; j < len; ++j) {
          if (used[j]) continue;
          if (best < 0 || better(x[(o * len + j) * inner + i], x[(o * len + best) * inner + i], j, best, largest)) best = j;
        }
        used[best] = 1;
        r[(o * k + s) * inner + i] = best;
      }
    }
  snprintf(what, sizeof what, "topk %lldx%lldx%lld k %lld largest %d values %d", (long long)outer, (long long)len, (long long)inner,
          (long long)k, largest, values);
  check(memcmp(y1, r, sizeof(int64_t) * (size_t)ny) == 0 && memcmp(y2, r, sizeof(int64_t) * (size_t)ny) == 0, what);
  free(x); free(y1); free(y2); free(r); free(used); free(scratch);
}

int main(void) {
  int64_t ax;
  int e, v, l;
  for (ax = -4; ax <= 3; ++ax)
    for (e = 0; e < 2; ++e)
      for (v = 0; v < 2; ++v) run_cumsum(ax, e, v);
  for (l = 0; l < 2; ++l)
    for (v = 0; v < 3; ++v) {
      run_topk(1, 17, 1, 5, l, v);
      run_topk(3, 9, 4, 9, l, v);
      run_topk(2, 33, 3, 1, l, v);
      run_topk(4, 1, 2, 1, l, v);
      run_topk(1, 48, 1, 48, l, v);
    }
  return finish();
}
