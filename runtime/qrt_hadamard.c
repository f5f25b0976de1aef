#include "qrt.h"
/* qrt_hadamard.c - online Hadamard transform y = scale * x (H_m (x) S_p)
 * per row (see QRT_HADAMARD_PARAMS in qrt.h for the contract and the
 * order of the float operations).
 *
 * Cost per row of n = m p: m n adds for the dense H_m pass (m > 1) and
 * n log2(p) adds for the butterflies.  Every output element's chain of
 * operations is fixed by the contract, so the loop structure below (the
 * column chunks of the dense pass, the fused first two butterfly stages)
 * can be changed without changing a bit. */

/* Columns of X per chunk of the dense pass: the chunk of all m rows is
 * copied to the scratch first (which is what makes in-place work), and
 * QRT_HADAMARD_BLOCK accumulators stay in registers. */
#define QRT_HADAMARD_BLOCK 32

/* p = n / m when n = m * p with p a power of two, else 0. */
QRT_INTERNAL int64_t qrt_hadamard_pow2(const qrt_hadamard_params *p) {
  int64_t q;
  if (p->rows < 0 || p->n < 1 || p->m < 1 || p->n % p->m != 0) return 0;
  q = p->n / p->m;
  return (q & (q - 1)) == 0 ? q : 0;
}

QRT_API int64_t qrt_hadamard_scratch_f32(const qrt_hadamard_params *p) {
  const int64_t pw = qrt_hadamard_pow2(p);
  if (pw == 0 || p->m == 1) return 0;
  return p->m * (pw < QRT_HADAMARD_BLOCK ? pw : QRT_HADAMARD_BLOCK) * (int64_t)sizeof(float);
}

/* Z[c, :] = sum_a H[a, c] X[a, :] for the m rows of length pw of one row of
 * x (xr) into yr; t holds m * min(pw, BLOCK) floats. */
QRT_INTERNAL void qrt_hadamard_dense(const float *xr, float *yr, const int8_t *H, int64_t m, int64_t pw,
                                     float *t) {
  int64_t d0, a, c, d;
  for (d0 = 0; d0 < pw; d0 += QRT_HADAMARD_BLOCK) {
    const int64_t B = pw - d0 < QRT_HADAMARD_BLOCK ? pw - d0 : QRT_HADAMARD_BLOCK;
    for (a = 0; a < m; ++a) memcpy(t + a * B, xr + a * pw + d0, (size_t)B * sizeof(float));
    for (c = 0; c < m; ++c) {
      float acc[QRT_HADAMARD_BLOCK];
      const float h0 = (float)H[c];
      for (d = 0; d < B; ++d) acc[d] = h0 * t[d];
      for (a = 1; a < m; ++a) {
        const float h = (float)H[a * m + c];
        const float *ta = t + a * B;
        for (d = 0; d < B; ++d) acc[d] = acc[d] + h * ta[d];
      }
      memcpy(yr + c * pw + d0, acc, (size_t)B * sizeof(float));
    }
  }
}

/* In-place fast Walsh-Hadamard transform of z[0..pw), pw a power of two.
 * Stages h = 1 and 2 are fused per group of 4 (the same butterflies, in
 * registers); from h = 4 on the inner loop runs over h contiguous pairs,
 * which compilers vectorize. */
QRT_INTERNAL void qrt_hadamard_fwht(float *z, int64_t pw) {
  int64_t h = 1, i, j;
  if (pw >= 4) {
    for (i = 0; i < pw; i += 4) {
      const float a0 = z[i] + z[i + 1], a1 = z[i] - z[i + 1];
      const float a2 = z[i + 2] + z[i + 3], a3 = z[i + 2] - z[i + 3];
      z[i] = a0 + a2;
      z[i + 1] = a1 + a3;
      z[i + 2] = a0 - a2;
      z[i + 3] = a1 - a3;
    }
    h = 4;
  }
  for (; h < pw; h *= 2)
    for (i = 0; i < pw; i += 2 * h) {
      float *u = z + i, *v = z + i + h;
      for (j = 0; j < h; ++j) {
        const float a = u[j], b = v[j];
        u[j] = a + b;
        v[j] = a - b;
      }
    }
}

QRT_API void qrt_hadamard_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_hadamard_params *p = (const qrt_hadamard_params *)params;
  const float *x = (const float *)in[0];
  const int8_t *H = (const int8_t *)in[1];
  float *scratch = (float *)in[2];
  float *y = (float *)out[0];
  const int64_t pw = qrt_hadamard_pow2(p), n = p->n, m = p->m;
  const float scale = p->scale;
  int64_t r, c, i;
  if (pw == 0 || (m > 1 && (H == NULL || scratch == NULL))) {
    if (p->rows > 0 && p->n > 0) memset(y, 0, (size_t)(p->rows * p->n) * sizeof(float));
    return;
  }
  for (r = 0; r < p->rows; ++r) {
    const float *xr = x + r * n;
    float *yr = y + r * n;
    if (m > 1) qrt_hadamard_dense(xr, yr, H, m, pw, scratch);
    else if (yr != xr) memcpy(yr, xr, (size_t)n * sizeof(float));
    for (c = 0; c < m; ++c) qrt_hadamard_fwht(yr + c * pw, pw);
    for (i = 0; i < n; ++i) yr[i] = yr[i] * scale;
  }
}
