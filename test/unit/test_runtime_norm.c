/* test_runtime_norm.c - layernorm / rmsnorm against a double-precision reference.
 * The kernel sums in float (16 lanes) so the comparison uses a tolerance:
 * |y - ref| <= 1e-5 * (1 + |ref|); mean and 1/std outputs likewise.
 * The int8-output kernels (qrt_layernorm_f32_i8 / qrt_rmsnorm_f32_i8)
 * against the float kernel followed by qrt_quantize_f32_i8: bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static void run_case(int64_t outer, int64_t n, int rms, int with_bias, float offset) {
  qrt_norm_params p;
  float *x = (float *)xmalloc(sizeof(float) * (size_t)(outer * n));
  float *y = (float *)xmalloc(sizeof(float) * (size_t)(outer * n));
  float *sc = (float *)xmalloc(sizeof(float) * (size_t)n), *bi = (float *)xmalloc(sizeof(float) * (size_t)n);
  float *mean = (float *)xmalloc(sizeof(float) * (size_t)outer), *inv = (float *)xmalloc(sizeof(float) * (size_t)outer);
  const void *in[3];
  void *out[3];
  int64_t o, j;
  int ok = 1;
  char what[80];
  fill_f32(x, outer * n, offset - 2.0f, offset + 2.0f);
  fill_f32(sc, n, 0.5f, 1.5f);
  fill_f32(bi, n, -1.0f, 1.0f);
  memset(&p, 0, sizeof p);
  p.epsilon = 1e-5f; p.outer = outer; p.norm_size = n;
  in[0] = x; in[1] = sc; in[2] = with_bias ? bi : NULL;
  out[0] = y; out[1] = rms ? NULL : mean; out[2] = inv;
  if (rms) qrt_rmsnorm_f32(&p, in, out);
  else qrt_layernorm_f32(&p, in, out);
  for (o = 0; o < outer; ++o) {
    double m = 0, v = 0, d;
    for (j = 0; j < n; ++j) m += x[o * n + j];
    m /= (double)n;
    if (rms) m = 0;
    for (j = 0; j < n; ++j) v += (x[o * n + j] - m) * (x[o * n + j] - m);
    v /= (double)n;
    d = sqrt(v + 1e-5);
    for (j = 0; j < n; ++j) {
      const double r = (x[o * n + j] - m) / d * sc[j] + (with_bias ? bi[j] : 0.0);
      if (!(fabs(y[o * n + j] - r) <= 1e-5 * (1 + fabs(r)))) {
        if (ok) printf("  %.9g vs %.9g\n", (double)y[o * n + j], r);
        ok = 0;
      }
    }
    if (!rms && !(fabs(mean[o] - m) <= 1e-5 * (1 + fabs(m)))) ok = 0;
    if (!(fabs(inv[o] - 1 / d) <= 1e-5 * (1 + 1 / d))) ok = 0;
  }
  sprintf(what, "%s outer %lld n %lld bias %d", rms ? "rmsnorm" : "layernorm", (long long)outer,
          (long long)n, with_bias);
  check(ok, what);
  {
    /* int8 output: the float kernel's bits through qrt_quantize_f32_i8,
     * with a narrowed code range too (a fused ReLU's) */
    static const float inv_scales[2] = {40.0f, 7.5f};
    static const int32_t zps[2] = {0, -20}, qmins[2] = {-128, -20};
    qrt_norm_q_params qp;
    qrt_quantize_params xp;
    int8_t *want = (int8_t *)xmalloc((size_t)(outer * n)), *got = (int8_t *)xmalloc((size_t)(outer * n));
    float *inv2 = (float *)xmalloc(sizeof(float) * (size_t)outer);
    int k;
    for (k = 0; k < 2; ++k) {
      memset(&xp, 0, sizeof xp);
      xp.n = outer * n; xp.inv_scale = inv_scales[k]; xp.zero_point = zps[k]; xp.qmin = qmins[k]; xp.qmax = 127;
      in[0] = y; out[0] = want;
      qrt_quantize_f32_i8(&xp, in, out);
      memset(&qp, 0, sizeof qp);
      qp.epsilon = p.epsilon; qp.outer = outer; qp.norm_size = n;
      qp.inv_scale = xp.inv_scale; qp.zero_point = xp.zero_point; qp.qmin = xp.qmin; qp.qmax = xp.qmax;
      in[0] = x; out[0] = got; out[1] = NULL; out[2] = inv2;
      memset(got, 0x55, (size_t)(outer * n));
      if (rms) qrt_rmsnorm_f32_i8(&qp, in, out);
      else qrt_layernorm_f32_i8(&qp, in, out);
      sprintf(what, "%s int8 out %d: outer %lld n %lld bias %d: bit for bit", rms ? "rmsnorm" : "layernorm", k,
              (long long)outer, (long long)n, with_bias);
      check(memcmp(got, want, (size_t)(outer * n)) == 0 && memcmp(inv, inv2, sizeof(float) * (size_t)outer) == 0,
            what);
    }
    free(want); free(got); free(inv2);
  }
  free(x); free(y); free(sc); free(bi); free(mean); free(inv);
}

int main(void) {
  int rms;
  for (rms = 0; rms < 2; ++rms) {
    run_case(3, 768, rms, 1, 0.0f);
    run_case(5, 37, rms, 0, 0.0f);
    run_case(2, 5, rms, 1, 3.0f);
    run_case(4, 1, rms, 1, 0.0f);
    run_case(2, 4096, rms, 1, 10.0f); /* offset mean: two-pass variance */
    run_case(67, 128, rms, 0, 0.5f);  /* 32 rows to a block of codes, a partial block */
    run_case(3, 5000, rms, 1, 0.0f);  /* rows across blocks */
  }
  return finish();
}
