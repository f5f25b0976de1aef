/* qrt_test_util.h - the harness shared by the runtime unit tests: a
 * fixed-seed LCG and fills, bit-exact float comparison (NaN matches NaN),
 * pass/fail counting with a closing "N passed, N failed" line, and a
 * reference requantization written independently of qrt_requant. */
#ifndef QRT_TEST_UTIL_H
#define QRT_TEST_UTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrt.h"

static int g_pass, g_fail;
static uint32_t g_seed = 12345u;
static QRT_MAYBE_UNUSED uint32_t lcg(void) {
  g_seed = g_seed * 1664525u + 1013904223u;
  return g_seed;
}
/* uniform integer in [lo, hi].  Only the upper bits of each LCG draw are
 * used: the low k bits of a power-of-two-modulus LCG repeat every 2^k
 * draws, so the old `(a << 32) ^ b` made `irand(-8, 7)` cycle through 8
 * values (two draws per call), and int4 tests saw a fraction of the codes. */
static QRT_MAYBE_UNUSED int64_t irand(int64_t lo, int64_t hi) {
  const uint64_t a = lcg() >> 8, b = lcg() >> 8;
  const uint64_t r = a << 24 | b;
  return lo + (int64_t)(r % (uint64_t)(hi - lo + 1));
}
/* Under an emulator (the --neon run under qemu sets QRT_TEST_SAMPLE=N)
 * a test that runs many variants of each case runs every Nth variant,
 * rotating with the case, so every variant still runs on some cases;
 * natively N is 1 (all of them). */
static QRT_MAYBE_UNUSED int test_sample(void) {
  const char *s = getenv("QRT_TEST_SAMPLE");
  const int n = s ? atoi(s) : 1;
  return n < 1 ? 1 : n;
}
static QRT_MAYBE_UNUSED float frand(float lo, float hi) {
  return lo + (hi - lo) * (float)(lcg() >> 8) / 16777216.0f;
}
static QRT_MAYBE_UNUSED void fill_f32(float *v, int64_t n, float lo, float hi) {
  int64_t i;
  for (i = 0; i < n; ++i) v[i] = frand(lo, hi);
}
/* bit-exact (NaN matches NaN) */
static QRT_MAYBE_UNUSED int same_f32(float a, float b) { return memcmp(&a, &b, sizeof a) == 0 || (a != a && b != b); }
static QRT_MAYBE_UNUSED int same_f32_arr(const float *a, const float *b, int64_t n) {
  int64_t i;
  for (i = 0; i < n; ++i)
    if (!same_f32(a[i], b[i])) {
      printf("  mismatch at %lld: %.9g vs %.9g\n", (long long)i, (double)a[i], (double)b[i]);
      return 0;
    }
  return 1;
}
static QRT_MAYBE_UNUSED void fill_i8(int8_t *v, int64_t n, int lo, int hi) {
  int64_t i;
  for (i = 0; i < n; ++i) v[i] = (int8_t)irand(lo, hi);
}
static QRT_MAYBE_UNUSED void check(int ok, const char *what) {
  if (ok) {
    ++g_pass;
  } else {
    ++g_fail;
    if (g_fail < 50) printf("FAIL: %s\n", what);
  }
}
static QRT_MAYBE_UNUSED void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) { printf("out of memory\n"); exit(2); }
  return p;
}
static QRT_MAYBE_UNUSED int finish(void) {
  printf("%d passed, %d failed\n", g_pass, g_fail);
  return g_fail != 0;
}
/* Reference requantization, written independently of qrt_requant: exact
 * int64 product, C division, remainder test for ties (half away from 0). */
static QRT_MAYBE_UNUSED int32_t ref_requant(int64_t acc, int32_t m0, int32_t s, int32_t zp,
                                            int32_t lo, int32_t hi) {
  int64_t prod = acc * (int64_t)m0, d, q, rem, v;
  if (s == 0) {
    q = prod;
  } else {
    d = (int64_t)1 << s;
    q = prod / d;
    rem = prod - q * d;
    if (rem < 0) rem = -rem;
    if (2 * rem >= d) q += prod < 0 ? -1 : 1;
  }
  if (q > 4000000000LL) q = 4000000000LL;
  if (q < -4000000000LL) q = -4000000000LL;
  v = q + zp;
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  return (int32_t)v;
}

#endif
