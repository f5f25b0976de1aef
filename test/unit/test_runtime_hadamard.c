/* test_runtime_hadamard.c - qrt_hadamard_f32 against
 *  (a) multiplication by the explicit matrix M = H_m (x) S_p (S_p the
 *      Sylvester matrix, H_m a seeded random +-1 matrix: the kernel's
 *      contract holds for any +-1 H_m; test_linalg repeats this with the
 *      compiler's real Hadamard factors), in double:
 *      - bit-exact for small integer inputs (|x| <= 8, n <= 4096: every
 *        partial sum is an integer below 2^24, exact in float) with a
 *        power-of-two scale;
 *      - for uniform random floats within
 *        |y - ref| <= (m + log2 p + 1) 2^-24 |scale| sum|x_row| * 1.01,
 *        the first-order bound for m - 1 sequential adds, log2 p butterfly
 *        adds and the scale multiply;
 *  (b) a literal transcription of the float order qrt.h documents, bit for
 *      bit on random floats (the kernel's chunking and fused stages must
 *      not change a bit);
 * for every m in 1..40 and some larger orders, rows > 1, in place and out
 * of place, and invalid params writing zeros. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static int sylvester(int64_t b, int64_t d) {
  int64_t x = b & d, par = 0;
  while (x) par ^= x & 1, x >>= 1;
  return par ? -1 : 1;
}

/* y = scale * x M in double, M[(a p + b), (c p + d)] = H[a, c] S[b, d]. */
static void ref_matrix(const float *x, double *y, const int8_t *H, int64_t m, int64_t pw, float scale) {
  const int64_t n = m * pw;
  int64_t col, row;
  for (col = 0; col < n; ++col) {
    double s = 0;
    for (row = 0; row < n; ++row)
      s += (double)x[row] * H[(row / pw) * m + col / pw] * sylvester(row % pw, col % pw);
    y[col] = s * scale;
  }
}

/* The documented order, written as plainly as possible. */
static void ref_documented(const float *x, float *y, const int8_t *H, int64_t m, int64_t pw, float scale) {
  const int64_t n = m * pw;
  int64_t a, c, d, h, j;
  for (c = 0; c < m; ++c)
    for (d = 0; d < pw; ++d) {
      float z = (float)H[c] * x[d];
      for (a = 1; a < m; ++a) z = z + (float)H[a * m + c] * x[a * pw + d];
      y[c * pw + d] = z;
    }
  for (c = 0; c < m; ++c)
    for (h = 1; h < pw; h *= 2)
      for (j = 0; j < pw; ++j)
        if ((j & h) == 0) {
          const float u = y[c * pw + j], v = y[c * pw + j + h];
          y[c * pw + j] = u + v;
          y[c * pw + j + h] = u - v;
        }
  for (j = 0; j < n; ++j) y[j] = y[j] * scale;
}

static void run(const qrt_hadamard_params *p, const float *x, const int8_t *H, float *y) {
  const int64_t sb = qrt_hadamard_scratch_f32(p);
  float *scratch = sb ? (float *)xmalloc((size_t)sb) : NULL;
  const void *in[3];
  void *out[1];
  in[0] = x; in[1] = p->m > 1 ? H : NULL; in[2] = scratch;
  out[0] = y;
  qrt_hadamard_f32(p, in, out);
  free(scratch);
}

static void run_case(int64_t m, int64_t pw, int64_t rows, int integer_inputs) {
  const int64_t n = m * pw;
  qrt_hadamard_params p;
  float *x = (float *)xmalloc(sizeof(float) * (size_t)(rows * n));
  float *y = (float *)xmalloc(sizeof(float) * (size_t)(rows * n));
  float *yi = (float *)xmalloc(sizeof(float) * (size_t)(rows * n));
  float *yd = (float *)xmalloc(sizeof(float) * (size_t)n);
  double *ref = (double *)xmalloc(sizeof(double) * (size_t)n);
  int8_t *H = (int8_t *)xmalloc((size_t)(m * m));
  int64_t r, i, lg = 0;
  int exact = 1, bound = 1, order = 1, inplace;
  char what[120];
  while (((int64_t)1 << lg) < pw) ++lg;
  for (i = 0; i < m * m; ++i) H[i] = (lcg() >> 31) ? 1 : -1;
  if (m == 1) H[0] = 1; /* H_1 = [1]: the kernel gets no in[1] */
  if (integer_inputs)
    for (i = 0; i < rows * n; ++i) x[i] = (float)irand(-8, 8);
  else
    fill_f32(x, rows * n, -1.0f, 1.0f);
  memset(&p, 0, sizeof p);
  p.rows = rows; p.n = n; p.m = m;
  p.scale = integer_inputs ? 0.125f : (float)(1.0 / sqrt((double)n));
  run(&p, x, H, y);
  memcpy(yi, x, sizeof(float) * (size_t)(rows * n));
  run(&p, yi, H, yi); /* in place */
  inplace = memcmp(y, yi, sizeof(float) * (size_t)(rows * n)) == 0;
  for (r = 0; r < rows; ++r) {
    const float *xr = x + r * n, *yr = y + r * n;
    double l1 = 0, tol;
    ref_matrix(xr, ref, H, m, pw, p.scale);
    for (i = 0; i < n; ++i) l1 += fabs(xr[i]);
    tol = (double)(m + lg + 1) * ldexp(1.0, -24) * fabs(p.scale) * l1 * 1.01;
    for (i = 0; i < n; ++i) {
      if (integer_inputs && (double)yr[i] != ref[i]) {
        if (exact) printf("  [%lld] %.9g vs exact %.9g\n", (long long)i, (double)yr[i], ref[i]);
        exact = 0;
      }
      if (!(fabs(yr[i] - ref[i]) <= tol)) {
        if (bound) printf("  [%lld] %.9g vs %.9g (tol %.3g)\n", (long long)i, (double)yr[i], ref[i], tol);
        bound = 0;
      }
    }
    ref_documented(xr, yd, H, m, pw, p.scale);
    if (!same_f32_arr(yr, yd, n)) order = 0;
  }
  sprintf(what, "m %lld p %lld rows %lld %s: matrix product %s", (long long)m, (long long)pw,
          (long long)rows, integer_inputs ? "integers" : "floats", integer_inputs ? "exact" : "within bound");
  check(integer_inputs ? exact : bound, what);
  sprintf(what, "m %lld p %lld rows %lld: documented float order", (long long)m, (long long)pw, (long long)rows);
  check(order, what);
  sprintf(what, "m %lld p %lld rows %lld: in place == out of place", (long long)m, (long long)pw, (long long)rows);
  check(inplace, what);
  free(x); free(y); free(yi); free(yd); free(ref); free(H);
}

static void invalid_params(void) {
  qrt_hadamard_params p;
  float x[24], y[24];
  int8_t H[9] = {1, 1, 1, 1, -1, 1, 1, 1, -1};
  const void *in[3];
  void *out[1];
  int i, zeros;
  fill_f32(x, 24, 1.0f, 2.0f);
  memset(&p, 0, sizeof p);
  /* n = 24, m = 5: not a divisor. */
  p.rows = 2; p.n = 12; p.m = 5; p.scale = 1.0f;
  in[0] = x; in[1] = H; in[2] = NULL; out[0] = y;
  for (i = 0; i < 24; ++i) y[i] = 7.0f;
  qrt_hadamard_f32(&p, in, out);
  for (zeros = 1, i = 0; i < 24; ++i) zeros &= y[i] == 0.0f;
  check(zeros && qrt_hadamard_scratch_f32(&p) == 0, "n % m != 0 writes zeros, needs no scratch");
  /* n / m = 3 is not a power of two. */
  p.n = 9; p.m = 3;
  for (i = 0; i < 24; ++i) y[i] = 7.0f;
  qrt_hadamard_f32(&p, in, out);
  for (zeros = 1, i = 0; i < 18; ++i) zeros &= y[i] == 0.0f;
  check(zeros, "n / m not a power of two writes zeros");
  /* m = 3, p = 4, but no scratch. */
  p.n = 12; p.m = 3;
  for (i = 0; i < 24; ++i) y[i] = 7.0f;
  qrt_hadamard_f32(&p, in, out);
  for (zeros = 1, i = 0; i < 24; ++i) zeros &= y[i] == 0.0f;
  check(zeros, "m > 1 without scratch writes zeros");
  check(qrt_hadamard_scratch_f32(&p) == 3 * 4 * (int64_t)sizeof(float), "scratch size m * min(p, 32) floats");
  p.m = 1; p.n = 8;
  check(qrt_hadamard_scratch_f32(&p) == 0, "m == 1 needs no scratch");
}

int main(void) {
  static const int64_t big_m[] = {44, 52, 60, 76, 108, 172};
  int64_t m, k;
  size_t i;
  int ints;
  for (ints = 1; ints >= 0; --ints) {
    for (m = 1; m <= 40; ++m)
      for (k = 0; k <= 6; k += (m < 12 ? 1 : 3)) run_case(m, (int64_t)1 << k, m < 12 ? 3 : 2, ints);
    for (i = 0; i < sizeof big_m / sizeof big_m[0]; ++i) run_case(big_m[i], 16, 2, ints);
    run_case(1, 4096, 2, ints);   /* deep butterflies only */
    run_case(12, 256, 2, ints);   /* 3072 = 12 * 2^8: several column chunks */
    run_case(20, 32, 1, ints);    /* p = 32: exactly one chunk */
  }
  invalid_params();
  return finish();
}
