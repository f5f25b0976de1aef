/* test_runtime_qnorm.c - integer-only int8 LayerNorm / RMSNorm
 * (qrt_qlayernorm_i8, qrt_qrmsnorm_i8, qrt_build_qnorm_i8) and the exact
 * integer square root qrt_isqrt_u64.
 *
 * Reference: the norm in long double of the exact dequantized inputs with
 * the float gamma / beta, u = y / out_scale, out = clamp(zp +
 * round_half_away(u)).  Asserted: |out - ref| <= 1 LSB everywhere and
 * out == ref unless u is within eta_j of a half-integer, eta_j the bound
 * stated in qrt_qnorm.c (computed here from the builder's shifts).
 * Measured and printed: the error against the real value u (max, mean),
 * mismatches against the correctly rounded reference, and the difference
 * from the float path (qrt_dequantize_i8_f32 -> qrt_layernorm_f32 /
 * qrt_rmsnorm_f32 -> qrt_quantize_f32_i8). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

typedef struct {
  double max_real, sum_real, max_tie;
  long n, mism, near, n_float, float_diff, float_max;
} stats;
static stats g_st[2];

typedef struct {
  int rms;
  int64_t outer, n;
  double in_s, eps, out_s;
  int32_t in_z, out_z;
  int has_beta, calib; /* calib: out format from the reference's range */
} ncase;

/* The exact real result: with d_j = q_j - z (integers), layernorm's
 * x_j - mean = s (n d_j - S1) / n and var = s^2 (n S2 - S1^2) / n^2, both
 * from exact integers (rmsnorm: S1 taken as 0), so the only roundings
 * are long double's in the final few operations.  0 / 0 (a constant row
 * with eps 0) is taken as 0. */
static void ref_row(const ncase *c, const int8_t *xr, const float *gamma, const float *beta,
                    long double *yv) {
  const int64_t n = c->n;
  int64_t S1 = 0, S2 = 0, j;
  long double V, den;
  for (j = 0; j < n; ++j) {
    S1 += xr[j] - c->in_z;
    S2 += (int64_t)(xr[j] - c->in_z) * (xr[j] - c->in_z);
  }
  if (c->rms) S1 = 0;
  V = (long double)(n * S2 - S1 * S1); /* < 2^62: exact */
  /* norm_j = D_j / sqrt(V + n^2 eps / s^2) */
  den = sqrtl(V + (long double)n * (long double)n * (long double)c->eps /
                      ((long double)c->in_s * (long double)c->in_s));
  for (j = 0; j < n; ++j) {
    const long double D = (long double)(n * (xr[j] - c->in_z) - S1);
    yv[j] = (den > 0 ? D / den : 0) * gamma[j] + (c->has_beta ? beta[j] : 0);
  }
}

static void run_case(const ncase *c, const int8_t *xin, const float *gin, const float *bin,
                     const char *tag) {
  const int64_t N = c->outer * c->n, n = c->n;
  int8_t *x = (int8_t *)xmalloc((size_t)N), *y = (int8_t *)xmalloc((size_t)N + 16);
  int8_t *yf = (int8_t *)xmalloc((size_t)N);
  float *xf = (float *)xmalloc(sizeof(float) * (size_t)N), *of = (float *)xmalloc(sizeof(float) * (size_t)N);
  float *gamma = (float *)xmalloc(sizeof(float) * (size_t)n), *beta = (float *)xmalloc(sizeof(float) * (size_t)n);
  int32_t *gq = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)n), *bq = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)n);
  long double *yv = (long double *)xmalloc(sizeof(long double) * (size_t)N);
  qrt_qnorm_params p;
  qrt_norm_params fp;
  qrt_dequantize_params dq;
  qrt_quantize_params qp;
  stats *st = &g_st[c->rms];
  const void *in[3];
  void *out[3];
  double out_s = c->out_s, gmaxs = 0;
  int32_t out_z = c->out_z;
  int64_t o, j;
  int bad = 0, fbad = 0, far = 0;
  char what[240];
  if (xin) memcpy(x, xin, (size_t)N);
  else {
    for (o = 0; o < c->outer; ++o) { /* rows with their own narrow or wide range */
      const int lo = (int)irand(-128, 127), hi = (int)irand(lo, lo + irand(0, 1) * 255);
      fill_i8(x + o * n, n, lo, hi > 127 ? 127 : hi);
    }
  }
  if (gin) memcpy(gamma, gin, sizeof(float) * (size_t)n);
  else fill_f32(gamma, n, -2, 2);
  if (bin) memcpy(beta, bin, sizeof(float) * (size_t)n);
  else fill_f32(beta, n, -1, 1);
  for (o = 0; o < c->outer; ++o) ref_row(c, x + o * n, gamma, beta, yv + o * n);
  if (c->calib) {
    long double lo = 0, hi = 0;
    for (j = 0; j < N; ++j) { lo = yv[j] < lo ? yv[j] : lo; hi = yv[j] > hi ? yv[j] : hi; }
    out_s = hi > lo ? (double)((hi - lo) / 255) : 1.0;
    out_z = (int32_t)floor(-128 - (double)lo / out_s + 0.5);
    out_z = out_z < -128 ? -128 : (out_z > 127 ? 127 : out_z);
  }
  if (qrt_build_qnorm_i8(c->rms, n, c->eps, c->in_s, c->in_z, out_s, out_z, gamma,
                         c->has_beta ? beta : NULL, &p, gq, c->has_beta ? bq : NULL) != 0) {
    sprintf(what, "qnorm %s: build", tag);
    check(0, what);
    goto done;
  }
  p.outer = c->outer;
  memset(y + N, 0x5a, 16);
  in[0] = x; in[1] = gq; in[2] = c->has_beta ? bq : NULL;
  out[0] = y; out[1] = NULL; out[2] = NULL;
  (c->rms ? qrt_qrmsnorm_i8 : qrt_qlayernorm_i8)(&p, in, out);
  for (j = 0; j < 16; ++j) far |= y[N + j] != 0x5a;
  for (j = 0; j < n; ++j) gmaxs = fabs(gamma[j]) / out_s > gmaxs ? fabs(gamma[j]) / out_s : gmaxs;
  for (j = 0; j < N; ++j) {
    /* eta_j of qrt_qnorm.c */
    const double rho = 1.5 * ldexp(1, -30) + (p.eps_shift >= 0 ? ldexp(1, -(p.eps_shift + 1)) /
                                                   (double)(n > 1 ? n - 1 : 1) : ldexp(1, -57));
    const double eta = fabs(gamma[j % n]) / out_s * (ldexp(1, -(p.norm_shift + 1)) + sqrt((double)n) * rho) +
                       sqrt((double)n) * ldexp(1, -(p.gamma_shift + 1)) + ldexp(1, -(p.beta_shift + 1));
    const long double u = yv[j] / out_s;
    const long double a = fabsl(u), fl = floorl(a), fr = a - fl;
    long double r = (fr >= 0.5L ? fl + 1 : fl) * (u < 0 ? -1 : 1);
    int want, got = y[j];
    r += out_z;
    want = r < -128 ? -128 : (r > 127 ? 127 : (int)r);
    if (got != want) {
      ++st->mism;
      if ((double)fabsl(fr - 0.5L) > st->max_tie) st->max_tie = (double)fabsl(fr - 0.5L);
      if (fabsl(fr - 0.5L) > eta || abs(got - want) > 1) {
        if (!bad) printf("  %s elem %lld: %d, want %d (u = %.12Lf, eta %.3g)\n", tag, (long long)j, got,
                         want, u, eta);
        ++bad;
      }
    }
    if (fabsl(fr - 0.5L) <= eta) ++st->near;
    if (want > -128 && want < 127) {
      const double e = (double)fabsl((long double)(got - out_z) - u);
      st->max_real = e > st->max_real ? e : st->max_real;
      st->sum_real += e;
    }
    ++st->n;
  }
  /* float path */
  memset(&dq, 0, sizeof dq);
  dq.n = N; dq.scale = (float)c->in_s; dq.zero_point = c->in_z;
  in[0] = x; out[0] = xf;
  qrt_dequantize_i8_f32(&dq, in, out);
  memset(&fp, 0, sizeof fp);
  fp.epsilon = (float)c->eps; fp.outer = c->outer; fp.norm_size = n;
  in[0] = xf; in[1] = gamma; in[2] = c->has_beta ? beta : NULL;
  out[0] = of; out[1] = NULL; out[2] = NULL;
  (c->rms ? qrt_rmsnorm_f32 : qrt_layernorm_f32)(&fp, in, out);
  memset(&qp, 0, sizeof qp);
  qp.n = N; qp.inv_scale = (float)(1.0 / out_s); qp.zero_point = out_z; qp.qmin = -128; qp.qmax = 127;
  in[0] = of; out[0] = yf;
  qrt_quantize_f32_i8(&qp, in, out);
  /* eps < 1e-6 with (near-)constant rows: the float path's own rounding
   * of x - mean is divided by ~sqrt(eps) (0 / 0 for eps 0) and it is off
   * by up to 255 LSB while the kernel stays within 1 LSB of the exact
   * value; the comparison is for well-conditioned cases only.  The same
   * holds for a constant row at any eps: its exact x - mean is 0, the float
   * path's is the rounding error of a float mean over up to 20000 equal
   * values (relative ~1e-5 of values up to 255 in_s), over sqrt(eps). */
  for (j = 0; j < N && c->eps >= 1e-6; ++j) {
    int d;
    if (j % n == 0) { /* a new row: skip it whole if it is constant */
      int64_t k;
      for (k = 1; k < n && x[j + k] == x[j]; ++k) {}
      if (n > 1 && k == n) {
        j += n - 1;
        continue;
      }
    }
    d = abs(y[j] - yf[j]);
    ++st->n_float;
    st->float_diff += d != 0;
    st->float_max = d > st->float_max ? d : st->float_max;
    if (d > 1 && !fbad)
      printf("  %s elem %lld: float path %d, kernel %d, exact u + z = %.6Lf\n", tag, (long long)j,
             yf[j], y[j], yv[j] / out_s + out_z);
    fbad |= d > 1;
  }
  sprintf(what, "q%s %s (outer %lld n %lld in %g/%d eps %g out %g/%d): exact but near ties",
          c->rms ? "rmsnorm" : "layernorm", tag, (long long)c->outer, (long long)n, c->in_s, c->in_z,
          c->eps, out_s, out_z);
  check(bad == 0, what);
  {
    sprintf(what, "q%s %s: within 1 LSB of the float path", c->rms ? "rmsnorm" : "layernorm", tag);
    check(!fbad, what);
  }
  sprintf(what, "q%s %s: nothing written past the end", c->rms ? "rmsnorm" : "layernorm", tag);
  check(!far, what);
done:
  free(x); free(y); free(yf); free(xf); free(of); free(gamma); free(beta); free(gq); free(bq); free(yv);
}

static void test_random(void) {
  static const int64_t lens[] = {1, 2, 3, 4, 7, 16, 33, 64, 100, 128, 384, 768, 1024, 4096, 20000};
  static const double epss[] = {1e-5, 1e-6, 1e-12, 1e-3, 0.1, 1.0, 1e-5, 0.0};
  int t;
  char tag[32];
  const int every = test_sample();
  for (t = 0; t < 1200; ++t) {
    ncase c;
    if ((t / 2) % every) continue; /* under qemu: every Nth pair (LayerNorm, RMSNorm) */
    memset(&c, 0, sizeof c);
    c.rms = t & 1;
    c.n = lens[(t / 2) % 15];
    c.outer = irand(1, c.n > 1000 ? 2 : 8);
    c.in_s = exp(frand(-9.0f, 0.0f));
    c.in_z = (int32_t)irand(-128, 127);
    c.eps = epss[(t / 30) % 8];
    c.has_beta = (t / 4) % 3 != 0 || c.rms == 0;
    c.calib = t % 5 != 4;
    c.out_s = exp(frand(-6.0f, 1.0f));
    c.out_z = (int32_t)irand(-128, 127);
    if (c.eps == 0 && c.n == 1 && c.rms) c.eps = 1e-5; /* RMS of one nonzero value: fine, but keep eps */
    sprintf(tag, "random %d", t);
    run_case(&c, NULL, NULL, NULL, tag);
  }
}

static void test_edges(void) {
  static int8_t x[8192];
  static float g[8192], b[8192];
  ncase c;
  int64_t i;
  int rms;
  for (rms = 0; rms < 2; ++rms) {
    memset(&c, 0, sizeof c);
    c.rms = rms; c.has_beta = 1; c.calib = 0; c.eps = 1e-5;
    c.in_s = 0.02; c.in_z = 5; c.out_s = 0.01; c.out_z = -3;
    /* zero-variance rows (layernorm: beta; rmsnorm: a constant row) and
     * all-zero-point rows (rmsnorm: beta) */
    for (i = 0; i < 8192; ++i) x[i] = (int8_t)(i < 4096 ? 40 : 5);
    c.outer = 8; c.n = 1024;
    run_case(&c, x, NULL, NULL, "constant rows");
    c.eps = 0;
    run_case(&c, x, NULL, NULL, "constant rows eps 0");
    c.eps = 1e-5;
    /* row length 1 */
    fill_i8(x, 64, -128, 127);
    c.outer = 64; c.n = 1;
    run_case(&c, x, NULL, NULL, "n 1");
    /* extreme input scales: eps dominates / negligible; huge eps (F < 0) */
    fill_i8(x, 8192, -128, 127);
    c.outer = 4; c.n = 2048; c.calib = 1;
    c.in_s = 1e-6; run_case(&c, x, NULL, NULL, "in scale 1e-6");
    c.in_s = 1e-3; run_case(&c, x, NULL, NULL, "in scale 1e-3");
    c.in_s = 100.0; run_case(&c, x, NULL, NULL, "in scale 100");
    c.in_s = 0.05; c.eps = 1e12; run_case(&c, x, NULL, NULL, "eps 1e12");
    c.eps = 1e30; run_case(&c, x, NULL, NULL, "eps 1e30");
    c.eps = 1e-5;
    /* saturating outputs: tiny output scale, huge beta, huge gamma */
    c.calib = 0; c.out_s = 1e-3; c.out_z = 0;
    run_case(&c, x, NULL, NULL, "tiny out scale");
    for (i = 0; i < 2048; ++i) { g[i] = 1.0f; b[i] = (i & 1) ? 1e6f : -1e6f; }
    c.out_s = 0.05;
    run_case(&c, x, g, b, "beta 1e6");
    for (i = 0; i < 2048; ++i) { g[i] = (i & 1) ? 3e4f : -2e4f; b[i] = (float)i * 1e-3f; }
    run_case(&c, x, g, b, "gamma 3e4");
    c.out_s = 1e-7;
    run_case(&c, x, g, b, "gamma / out scale 3e11");
    /* all-zero gamma: beta only */
    for (i = 0; i < 2048; ++i) g[i] = 0.0f;
    c.out_s = 0.01;
    run_case(&c, x, g, b, "gamma 0");
    /* inputs at the int8 extremes with the zero point at the other end */
    for (i = 0; i < 4096; ++i) x[i] = (int8_t)((i % 3) ? 127 : -128);
    c.in_z = -128; c.calib = 1; c.outer = 2;
    run_case(&c, x, NULL, NULL, "extremes zp -128");
    c.in_z = 127;
    run_case(&c, x, NULL, NULL, "extremes zp 127");
    /* a long row: 2^18 (the int32 block sums) */
    {
      static int8_t big[1 << 18];
      float *gg = (float *)xmalloc(sizeof(float) << 18), *bb = (float *)xmalloc(sizeof(float) << 18);
      fill_i8(big, 1 << 18, -128, 127);
      for (i = 0; i < (1 << 18); ++i) { gg[i] = 1.0f; bb[i] = 0.0f; }
      c.in_z = 0; c.outer = 1; c.n = 1 << 18; c.calib = 1;
      run_case(&c, big, gg, bb, "n 2^18");
      free(gg); free(bb);
    }
  }
  {
    qrt_qnorm_params p;
    int32_t gq[4], bq[4];
    const float gm[4] = {1, 1, 1, 1};
    check(qrt_build_qnorm_i8(0, 0, 1e-5, 1, 0, 1, 0, gm, NULL, &p, gq, NULL) == -1, "reject n 0");
    check(qrt_build_qnorm_i8(0, ((int64_t)1 << 22) + 1, 1e-5, 1, 0, 1, 0, NULL, NULL, &p, gq, NULL) == -1,
          "reject n > 2^22");
    check(qrt_build_qnorm_i8(0, 4, -1, 1, 0, 1, 0, gm, NULL, &p, gq, NULL) == -1, "reject eps < 0");
    check(qrt_build_qnorm_i8(0, 4, 1e-5, 0, 0, 1, 0, gm, NULL, &p, gq, NULL) == -1, "reject scale 0");
    check(qrt_build_qnorm_i8(0, 4, 1e-5, 1, 0, 1, 0, gm, gm, &p, gq, NULL) == -1,
          "reject beta without beta_q");
    check(qrt_build_qnorm_i8(1, 4, 1e-5, 1, 0, 1, 0, NULL, NULL, &p, gq, bq) == 0 && bq[0] == 0 &&
              p.out_min == -128 && p.out_max == 127,
          "gamma NULL, beta NULL with beta_q: zeros");
  }
}

static void test_isqrt(void) {
  int bad = 0;
  long i;
  for (i = 0; i < 2000000; ++i) {
    uint64_t v, r, w;
    const int bits = (int)(i % 65);
    v = ((uint64_t)lcg() << 32) ^ lcg();
    v = bits == 64 ? v : (v & ((((uint64_t)1) << bits) - 1));
    if (i % 4 == 1) { w = v >> 32; v = w * w - (i % 8 == 1); } /* squares and squares - 1 */
    if (i < 3) v = i == 0 ? 0 : (i == 1 ? ~(uint64_t)0 : ((uint64_t)0xffffffff * 0xffffffff));
    r = qrt_isqrt_u64(v);
    /* r^2 <= v < (r+1)^2, with r < 2^32 */
    if (r > 0xffffffffu || r * r > v || (r < 0xffffffffu && (r + 1) * (r + 1) <= v)) {
      if (!bad) printf("  isqrt(%llu) = %llu\n", (unsigned long long)v, (unsigned long long)r);
      ++bad;
    }
  }
  check(bad == 0, "isqrt: floor(sqrt(v)) for 2M values incl. squares, squares - 1, 0, 2^64 - 1");
}

int main(void) {
  int r;
  test_isqrt();
  test_random();
  test_edges();
  for (r = 0; r < 2; ++r) {
    const stats *s = &g_st[r];
    printf("q%s: %ld outputs; vs the real value (non-saturated): max %.4f LSB, mean %.4f LSB\n",
           r ? "rmsnorm" : "layernorm", s->n, s->max_real, s->sum_real / (double)(s->n ? s->n : 1));
    printf("q%s: vs the correctly rounded reference: %ld differ by 1 LSB, all within %.2g of a "
           "rounding tie (%ld outputs within eta of one)\n",
           r ? "rmsnorm" : "layernorm", s->mism, s->max_tie, s->near);
    printf("q%s: vs the float path (eps >= 1e-6, %ld outputs): max %ld LSB, %ld differ (%.4f%%)\n",
           r ? "rmsnorm" : "layernorm", s->n_float, s->float_max, s->float_diff,
           100.0 * (double)s->float_diff / (double)(s->n_float ? s->n_float : 1));
    check(s->max_real < 0.5 + 1e-4, "qnorm: |error| vs the real value < 0.5 LSB + eta");
  }
  return finish();
}
