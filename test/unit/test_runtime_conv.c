/* test_runtime_conv.c - qrt_conv_f32 (GEMM, pointwise and direct paths) against a
 * naive loop with the same summation order (acc = 0; acc += w * x over
 * (ci, kd, kh, kw) increasing, padding cells contribute w * 0; + bias; act):
 * all comparisons are bit-exact, with and without scratch. Where
 * qrt_conv_packs_w, also with packed weights (the rows path, and the
 * direct path reading the packed layout) against the naive loop over (kd,
 * kh, kw, ci). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static float act_ref(float v, int act, float a, float b) {
  if (act == QRT_ACT_RELU) return v < 0.0f ? 0.0f : v;
  if (act == QRT_ACT_LEAKY_RELU) return v < 0.0f ? a * v : v;
  if (act == QRT_ACT_CLIP) return v < a ? a : (v > b ? b : v);
  return v;
}

static void ref_conv(const qrt_conv_params *p, const float *x, const float *w, const float *bias,
                     int taps_first, float *y) {
  const int64_t G = p->group, cin_g = p->c_in / G, cout_g = p->c_out / G;
  const int64_t *is = p->in_spatial, *os = p->out_spatial, *ks = p->kernel, T = ks[0] * ks[1] * ks[2];
  int64_t n, co, od, oh, ow, ci, kd, kh, kw, k;
  for (n = 0; n < p->n; ++n)
    for (co = 0; co < p->c_out; ++co)
      for (od = 0; od < os[0]; ++od)
        for (oh = 0; oh < os[1]; ++oh)
          for (ow = 0; ow < os[2]; ++ow) {
            const int64_t g = co / cout_g;
            float acc = 0.0f;
            for (k = 0; k < cin_g * T; ++k) {
                    const int64_t tap = taps_first ? k / cin_g : k % T;
                    ci = taps_first ? k % cin_g : k / T;
                    kd = tap / (ks[1] * ks[2]);
                    kh = tap / ks[2] % ks[1];
                    kw = tap % ks[2];
                    {
                    const int64_t id = od * p->strides[0] + kd * p->dilations[0] - p->pads_begin[0];
                    const int64_t ih = oh * p->strides[1] + kh * p->dilations[1] - p->pads_begin[1];
                    const int64_t iw = ow * p->strides[2] + kw * p->dilations[2] - p->pads_begin[2];
                    const int inside = id >= 0 && id < is[0] && ih >= 0 && ih < is[1] && iw >= 0 &&
                                       iw < is[2];
                    const float xv =
                        inside ? x[(((n * p->c_in + g * cin_g + ci) * is[0] + id) * is[1] + ih) * is[2] + iw]
                               : 0.0f;
                    const float wv = w[(((co * cin_g + ci) * ks[0] + kd) * ks[1] + kh) * ks[2] + kw];
                    acc = acc + wv * xv;
                    }
            }
            if (bias) acc = acc + bias[co];
            y[(((n * p->c_out + co) * os[0] + od) * os[1] + oh) * os[2] + ow] =
                act_ref(acc, p->act, p->act_alpha, p->act_beta);
          }
}

/* spatial dims as (D, H, W); pads_end used to compute out sizes */
static void run_case(int64_t n, int64_t cin, int64_t cout, int64_t group, const int64_t in3[3],
                     const int64_t k3[3], const int64_t s3[3], const int64_t d3[3],
                     const int64_t pb3[3], const int64_t pe3[3], int with_bias, int act) {
  qrt_conv_params p;
  int64_t i, xs, ws, ys, scratch_bytes;
  float *x, *w, *b, *y1, *y2, *r, *scratch;
  const void *in[4];
  void *out[1];
  char what[200];
  memset(&p, 0, sizeof p);
  p.n = n; p.c_in = cin; p.c_out = cout; p.group = (int32_t)group;
  p.act = act; p.act_alpha = act == QRT_ACT_CLIP ? -0.5f : 0.125f; p.act_beta = 0.75f;
  for (i = 0; i < 3; ++i) {
    p.in_spatial[i] = in3[i]; p.kernel[i] = k3[i]; p.strides[i] = s3[i];
    p.dilations[i] = d3[i]; p.pads_begin[i] = pb3[i];
    p.out_spatial[i] = (in3[i] + pb3[i] + pe3[i] - ((k3[i] - 1) * d3[i] + 1)) / s3[i] + 1;
  }
  xs = n * cin * in3[0] * in3[1] * in3[2];
  ws = cout * (cin / group) * k3[0] * k3[1] * k3[2];
  ys = n * cout * p.out_spatial[0] * p.out_spatial[1] * p.out_spatial[2];
  x = (float *)xmalloc(sizeof(float) * (size_t)xs);
  w = (float *)xmalloc(sizeof(float) * (size_t)ws);
  b = (float *)xmalloc(sizeof(float) * (size_t)cout);
  y1 = (float *)xmalloc(sizeof(float) * (size_t)ys);
  y2 = (float *)xmalloc(sizeof(float) * (size_t)ys);
  r = (float *)xmalloc(sizeof(float) * (size_t)ys);
  fill_f32(x, xs, -1, 1);
  fill_f32(w, ws, -1, 1);
  fill_f32(b, cout, -1, 1);
  scratch_bytes = qrt_conv_scratch_f32(&p);
  scratch = (float *)xmalloc((size_t)scratch_bytes);
  ref_conv(&p, x, w, with_bias ? b : NULL, 0, r);
  in[0] = x; in[1] = w; in[2] = with_bias ? b : NULL; in[3] = scratch_bytes ? scratch : NULL;
  out[0] = y1;
  qrt_conv_f32(&p, in, out);
  in[3] = NULL;
  out[0] = y2;
  qrt_conv_f32(&p, in, out);
  sprintf(what, "conv n%lld c%lld->%lld g%lld in %lldx%lldx%lld k %lldx%lldx%lld s%lld d%lld act%d scratch %lld",
          (long long)n, (long long)cin, (long long)cout, (long long)group, (long long)in3[0],
          (long long)in3[1], (long long)in3[2], (long long)k3[0], (long long)k3[1],
          (long long)k3[2], (long long)s3[2], (long long)d3[2], act, (long long)scratch_bytes);
  check(same_f32_arr(y1, r, ys), what);
  check(same_f32_arr(y2, r, ys), "  (same case, no scratch)");
  if (qrt_conv_packs_w(&p)) {
    float *packed = (float *)xmalloc(sizeof(float) * (size_t)qrt_conv_packed_w_size(&p));
    qrt_pack_conv_w_f32(&p, w, packed);
    p.w_packed = 1;
    free(scratch);
    scratch_bytes = qrt_conv_scratch_f32(&p);
    scratch = (float *)xmalloc((size_t)scratch_bytes);
    ref_conv(&p, x, w, with_bias ? b : NULL, 1, r);
    in[1] = packed; in[3] = scratch;
    out[0] = y1;
    qrt_conv_f32(&p, in, out);
    in[3] = NULL;
    out[0] = y2;
    qrt_conv_f32(&p, in, out);
    check(same_f32_arr(y1, r, ys), "  (packed weights, rows path)");
    check(same_f32_arr(y2, r, ys), "  (packed weights, no scratch)");
    free(packed);
  }
  free(x); free(w); free(b); free(y1); free(y2); free(r); free(scratch);
}

int main(void) {
  static const int64_t one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
  {
    /* 2-D 3x3 pad 1, the common case, and variants */
    const int64_t in[3] = {1, 9, 11}, k[3] = {1, 3, 3}, pb[3] = {0, 1, 1}, pe[3] = {0, 1, 1};
    const int64_t s2[3] = {1, 2, 2}, d2[3] = {1, 2, 2};
    run_case(1, 3, 8, 1, in, k, one, one, pb, pe, 1, QRT_ACT_NONE);
    run_case(2, 4, 6, 1, in, k, one, one, pb, pe, 1, QRT_ACT_RELU);
    run_case(1, 5, 7, 1, in, k, s2, one, pb, pe, 0, QRT_ACT_NONE);
    run_case(1, 4, 9, 1, in, k, one, d2, pb, pe, 1, QRT_ACT_LEAKY_RELU);
    run_case(1, 4, 8, 2, in, k, one, one, pb, pe, 1, QRT_ACT_CLIP);  /* groups, cout_g 4 */
    run_case(1, 6, 6, 3, in, k, s2, one, pb, pe, 1, QRT_ACT_RELU);    /* groups, cout_g 2 */
    run_case(2, 8, 8, 8, in, k, one, one, pb, pe, 1, QRT_ACT_RELU);   /* depthwise */
    run_case(1, 8, 16, 8, in, k, s2, d2, pb, pe, 1, QRT_ACT_NONE);    /* dw multiplier 2 */
  }
  {
    /* depthwise windows over the blocked taps' 64 taps (a pass per tap)
     * and planes of several 64-output blocks with a tail */
    const int64_t in[3] = {1, 30, 29}, k9[3] = {1, 9, 9}, k5[3] = {1, 5, 5};
    const int64_t p4[3] = {0, 4, 4}, p2[3] = {0, 2, 2}, p3[3] = {0, 3, 1};
    run_case(1, 3, 3, 3, in, k9, one, one, p4, p4, 1, QRT_ACT_CLIP);
    run_case(1, 4, 4, 4, in, k5, one, one, p2, p3, 1, QRT_ACT_RELU);
  }
  {
    /* asymmetric padding, ceil-style sizes, no padding */
    const int64_t in[3] = {1, 8, 8}, k[3] = {1, 3, 3}, pb[3] = {0, 0, 1}, pe[3] = {0, 2, 0};
    const int64_t s[3] = {1, 2, 3};
    run_case(1, 3, 5, 1, in, k, s, one, pb, pe, 1, QRT_ACT_NONE);
    run_case(1, 3, 5, 1, in, k, one, one, zero, zero, 1, QRT_ACT_NONE);
  }
  {
    /* pointwise 1x1 (no im2col), and 1x1 stride 2 (im2col) */
    const int64_t in[3] = {1, 7, 9}, k[3] = {1, 1, 1}, s2[3] = {1, 2, 2};
    run_case(2, 16, 24, 1, in, k, one, one, zero, zero, 1, QRT_ACT_RELU);
    run_case(1, 16, 24, 2, in, k, one, one, zero, zero, 0, QRT_ACT_NONE);
    run_case(1, 16, 8, 1, in, k, s2, one, zero, zero, 1, QRT_ACT_NONE);
  }
  {
    /* several im2col tiles: K = 64*9 = 576 -> tile 112, P = 20*21 = 420;
     * several rows tiles: tile 448, P = 40*41 = 1640, cout 40 (2.5 panels) */
    const int64_t in[3] = {1, 20, 21}, k[3] = {1, 3, 3}, pb[3] = {0, 1, 1}, pe[3] = {0, 1, 1};
    const int64_t in2[3] = {1, 40, 41};
    run_case(1, 64, 20, 1, in, k, one, one, pb, pe, 1, QRT_ACT_RELU);
    run_case(2, 64, 40, 2, in2, k, one, one, pb, pe, 1, QRT_ACT_CLIP);
  }
  {
    /* 1-D and 3-D */
    const int64_t in1[3] = {1, 1, 37}, k1[3] = {1, 1, 5}, pb1[3] = {0, 0, 2}, pe1[3] = {0, 0, 1};
    const int64_t s1[3] = {1, 1, 2}, d1[3] = {1, 1, 3};
    const int64_t in3[3] = {5, 6, 7}, k3[3] = {3, 2, 3}, pb3[3] = {1, 0, 1}, pe3[3] = {1, 1, 1};
    const int64_t s3[3] = {2, 1, 1}, d3[3] = {1, 2, 1};
    run_case(2, 6, 10, 1, in1, k1, s1, d1, pb1, pe1, 1, QRT_ACT_NONE);
    run_case(1, 6, 10, 2, in1, k1, one, one, pb1, pe1, 0, QRT_ACT_RELU);
    run_case(1, 3, 5, 1, in3, k3, s3, d3, pb3, pe3, 1, QRT_ACT_NONE);
    run_case(1, 4, 4, 4, in3, k3, one, one, pb3, pe3, 1, QRT_ACT_NONE);
  }
  {
    /* large padding: whole output rows/planes in padding */
    const int64_t in[3] = {1, 3, 4}, k[3] = {1, 2, 2}, pb[3] = {0, 3, 2}, pe[3] = {0, 3, 3};
    run_case(1, 2, 4, 1, in, k, one, one, pb, pe, 1, QRT_ACT_NONE);
    run_case(1, 2, 2, 2, in, k, one, one, pb, pe, 1, QRT_ACT_NONE);
  }
  return finish();
}
