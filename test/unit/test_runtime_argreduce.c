/* test_runtime_argreduce.c - argmax / argmin against a plain reference:
 * ties (first / last index), NaN (numpy: the first NaN wins, the last with
 * select_last_index), inner strides, every input type. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

static int g_pass, g_fail;
static uint32_t g_seed = 777u;
static uint32_t lcg(void) {
  g_seed = g_seed * 1664525u + 1013904223u;
  return g_seed;
}
static void check(int ok, const char *what) {
  if (ok) {
    ++g_pass;
  } else {
    ++g_fail;
    if (g_fail < 50) printf("FAIL: %s\n", what);
  }
}

/* One 1-D case: outer = inner = 1. */
static int64_t arg1(qrt_kernel_fn k, const void *x, int64_t n, int kind, int last) {
  qrt_argreduce_params p;
  int64_t y = -1;
  const void *in[1];
  void *out[1];
  memset(&p, 0, sizeof p);
  p.kind = kind;
  p.select_last_index = last;
  p.outer = p.inner = 1;
  p.axis_len = n;
  in[0] = x;
  out[0] = &y;
  k(&p, in, out);
  return y;
}

static void test_ties_and_nan(void) {
  const float t[] = {1, 3, 3, -2, -2, 0};
  const float nan1[] = {1, NAN, 5, NAN, -7};
  const double d[] = {2, 2, -1, -1};
  const int32_t i32[] = {4, 9, 9, -3, -3};
  const int64_t i64[] = {-5, 8, -5, 8};
  check(arg1(qrt_argreduce_f32, t, 6, QRT_ARGREDUCE_MAX, 0) == 1, "f32 max first tie");
  check(arg1(qrt_argreduce_f32, t, 6, QRT_ARGREDUCE_MAX, 1) == 2, "f32 max last tie");
  check(arg1(qrt_argreduce_f32, t, 6, QRT_ARGREDUCE_MIN, 0) == 3, "f32 min first tie");
  check(arg1(qrt_argreduce_f32, t, 6, QRT_ARGREDUCE_MIN, 1) == 4, "f32 min last tie");
  check(arg1(qrt_argreduce_f32, nan1, 5, QRT_ARGREDUCE_MAX, 0) == 1, "f32 max first NaN");
  check(arg1(qrt_argreduce_f32, nan1, 5, QRT_ARGREDUCE_MAX, 1) == 3, "f32 max last NaN");
  check(arg1(qrt_argreduce_f32, nan1, 5, QRT_ARGREDUCE_MIN, 0) == 1, "f32 min first NaN");
  check(arg1(qrt_argreduce_f32, nan1, 5, QRT_ARGREDUCE_MIN, 1) == 3, "f32 min last NaN");
  check(arg1(qrt_argreduce_f32, nan1, 1, QRT_ARGREDUCE_MAX, 0) == 0, "f32 single element");
  check(arg1(qrt_argreduce_f32, nan1, 0, QRT_ARGREDUCE_MAX, 0) == 0, "empty axis");
  check(arg1(qrt_argreduce_f64, d, 4, QRT_ARGREDUCE_MAX, 0) == 0, "f64 max");
  check(arg1(qrt_argreduce_f64, d, 4, QRT_ARGREDUCE_MIN, 1) == 3, "f64 min last");
  check(arg1(qrt_argreduce_i32, i32, 5, QRT_ARGREDUCE_MAX, 0) == 1, "i32 max");
  check(arg1(qrt_argreduce_i32, i32, 5, QRT_ARGREDUCE_MAX, 1) == 2, "i32 max last");
  check(arg1(qrt_argreduce_i32, i32, 5, QRT_ARGREDUCE_MIN, 0) == 3, "i32 min");
  check(arg1(qrt_argreduce_i64, i64, 4, QRT_ARGREDUCE_MAX, 1) == 3, "i64 max last");
  check(arg1(qrt_argreduce_i64, i64, 4, QRT_ARGREDUCE_MIN, 0) == 0, "i64 min");
}

/* Random [outer, L, inner] with a few duplicates, against a reference. */
static void test_random(int64_t outer, int64_t L, int64_t inner) {
  const int64_t n = outer * L * inner;
  float *x = malloc(sizeof(float) * (size_t)(n ? n : 1));
  int64_t *y = malloc(sizeof(int64_t) * (size_t)(outer * inner + 1));
  int64_t o, i, k;
  int kind, last;
  char what[96];
  for (k = 0; k < n; ++k) x[k] = (float)(int)(lcg() % 7u) - 3.0f;
  for (kind = 0; kind < 2; ++kind)
    for (last = 0; last < 2; ++last) {
      qrt_argreduce_params p;
      const void *in[1];
      void *out[1];
      int ok = 1;
      memset(&p, 0, sizeof p);
      p.kind = kind;
      p.select_last_index = last;
      p.outer = outer;
      p.axis_len = L;
      p.inner = inner;
      in[0] = x;
      out[0] = y;
      qrt_argreduce_f32(&p, in, out);
      for (o = 0; o < outer; ++o)
        for (i = 0; i < inner; ++i) {
          int64_t best = 0;
          for (k = 1; k < L; ++k) {
            float v = x[(o * L + k) * inner + i], b = x[(o * L + best) * inner + i];
            int better = kind == QRT_ARGREDUCE_MAX ? (last ? v >= b : v > b) : (last ? v <= b : v < b);
            if (better) best = k;
          }
          if (y[o * inner + i] != best) ok = 0;
        }
      snprintf(what, sizeof what, "random [%lld,%lld,%lld] kind %d last %d", (long long)outer, (long long)L,
               (long long)inner, kind, last);
      check(ok, what);
    }
  free(x);
  free(y);
}

int main(void) {
  test_ties_and_nan();
  test_random(1, 10, 1);
  test_random(3, 4, 5);
  test_random(2, 1, 7);
  test_random(4, 33, 2);
  printf("%d passed, %d failed\n", g_pass, g_fail);
  return g_fail != 0;
}
