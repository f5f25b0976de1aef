/* test_runtime_qconv.c - qrt_qconv_i8 (GEMM and direct paths, packed and raw
 * weights, colsums given or not) against a naive loop with int64
 * accumulators (padding cells skipped: x = a_zero_point adds 0) and an
 * independent requantization: bit-exact.  Groups, depthwise, strides,
 * padding, dilation, 1-d / 2-d / 3-d, zero points at -128 / 127; the
 * GEMM path's im2row from a padded copy of the input and without one.
 * Buffers are allocated at their exact sizes (scratch too), so the
 * sanitized build catches a read or write past them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static void ref_qconv(const qrt_qconv_params *p, const int8_t *x, const int8_t *w, const int32_t *bias,
                      const int32_t *mult, const int8_t *shift, int8_t *y) {
  const int64_t G = p->group, cin_g = p->c_in / G, cout_g = p->c_out / G;
  const int64_t ID = p->in_spatial[0], IH = p->in_spatial[1], IW = p->in_spatial[2];
  const int64_t OD = p->out_spatial[0], OH = p->out_spatial[1], OW = p->out_spatial[2];
  const int64_t KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];
  int64_t n, co, od, oh, ow, ci, kd, kh, kw;
  for (n = 0; n < p->n; ++n)
    for (co = 0; co < p->c_out; ++co)
      for (od = 0; od < OD; ++od)
        for (oh = 0; oh < OH; ++oh)
          for (ow = 0; ow < OW; ++ow) {
            int64_t acc = 0;
            const int64_t g = co / cout_g;
            for (ci = 0; ci < cin_g; ++ci)
              for (kd = 0; kd < KD; ++kd)
                for (kh = 0; kh < KH; ++kh)
                  for (kw = 0; kw < KW; ++kw) {
                    const int64_t id = od * p->strides[0] + kd * p->dilations[0] - p->pads_begin[0];
                    const int64_t ih = oh * p->strides[1] + kh * p->dilations[1] - p->pads_begin[1];
                    const int64_t iw = ow * p->strides[2] + kw * p->dilations[2] - p->pads_begin[2];
                    if (id < 0 || id >= ID || ih < 0 || ih >= IH || iw < 0 || iw >= IW) continue;
                    acc += ((int64_t)x[(((n * p->c_in + g * cin_g + ci) * ID + id) * IH + ih) * IW + iw] -
                            p->a_zero_point) *
                           (int64_t)w[(((co * cin_g + ci) * KD + kd) * KH + kh) * KW + kw];
                  }
            y[(((n * p->c_out + co) * OD + od) * OH + oh) * OW + ow] = (int8_t)ref_requant(
                acc + (bias ? bias[co] : 0), mult[co], shift[co], p->out_zero_point, p->out_min, p->out_max);
          }
}

typedef struct geo {
  int64_t n, cin, cout, group;
  int64_t in[3], k[3], s[3], d[3], pb[3], pe[3];
} geo;

/* variant bits: 1 packed w, 2 colsum given, 4 no scratch (direct), 8 no bias */
static void run_case(const geo *c, int32_t za, int variant) {
  qrt_qconv_params p;
  int64_t i, xs, ws, ys, P, K, cout_g;
  int8_t *x, *w, *wp, *y, *r, *scratch = NULL;
  int32_t *bias, *mult, *cs;
  int8_t *shift;
  const void *in[7];
  void *out[1];
  char what[240];
  int ok;
  memset(&p, 0, sizeof p);
  p.group = (int32_t)c->group;
  p.w_packed = (variant & 1) != 0;
  p.a_zero_point = za;
  p.out_zero_point = (int32_t)irand(-128, 127);
  p.out_min = variant & 8 ? p.out_zero_point : -128;
  p.out_max = 127;
  p.n = c->n; p.c_in = c->cin; p.c_out = c->cout;
  for (i = 0; i < 3; ++i) {
    p.in_spatial[i] = c->in[i]; p.kernel[i] = c->k[i]; p.strides[i] = c->s[i];
    p.dilations[i] = c->d[i]; p.pads_begin[i] = c->pb[i];
    p.out_spatial[i] = (c->in[i] + c->pb[i] + c->pe[i] - (c->d[i] * (c->k[i] - 1) + 1)) / c->s[i] + 1;
  }
  P = p.out_spatial[0] * p.out_spatial[1] * p.out_spatial[2];
  cout_g = c->cout / c->group;
  K = c->cin / c->group * c->k[0] * c->k[1] * c->k[2];
  xs = c->n * c->cin * c->in[0] * c->in[1] * c->in[2];
  ws = c->cout * K;
  ys = c->n * c->cout * P;
  x = (int8_t *)xmalloc((size_t)xs); w = (int8_t *)xmalloc((size_t)ws);
  wp = (int8_t *)xmalloc((size_t)qrt_qconv_packed_w_size(&p));
  y = (int8_t *)xmalloc((size_t)ys); r = (int8_t *)xmalloc((size_t)ys);
  bias = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)c->cout); mult = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)c->cout);
  shift = (int8_t *)xmalloc((size_t)c->cout); cs = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)c->cout);
  fill_i8(x, xs, -128, 127);
  fill_i8(w, ws, -128, 127);
  for (i = 0; i < c->cout; ++i) {
    double typ = sqrt((double)K) * 128.0 * 74.0;
    bias[i] = (int32_t)irand(-100000, 100000);
    mult[i] = (int32_t)irand(1073741824LL, 2147483647LL);
    shift[i] = (int8_t)(30 + (int32_t)ceil(log2(typ / 64.0)) + (int32_t)irand(-1, 1));
  }
  for (i = 0; i < c->group; ++i) qrt_colsum_i8(K, cout_g, w + i * cout_g * K, 1, K, cs + i * cout_g);
  qrt_pack_conv_w_i8(&p, w, wp);
  if (!(variant & 4) && qrt_qconv_scratch_i8(&p) > 0) scratch = (int8_t *)xmalloc((size_t)qrt_qconv_scratch_i8(&p));
  in[0] = x; in[1] = p.w_packed ? wp : w; in[2] = variant & 8 ? NULL : bias; in[3] = mult; in[4] = shift;
  in[5] = variant & 2 ? cs : NULL; in[6] = scratch;
  out[0] = y;
  memset(y, 0x55, (size_t)ys);
  qrt_qconv_i8(&p, in, out);
  ref_qconv(&p, x, w, variant & 8 ? NULL : bias, mult, shift, r);
  ok = memcmp(y, r, (size_t)ys) == 0;
  sprintf(what, "qconv n%lld ci%lld co%lld g%lld in %lldx%lldx%lld k %lldx%lldx%lld s %lld,%lld,%lld d %lld,%lld,%lld za %d v%d%s",
          (long long)c->n, (long long)c->cin, (long long)c->cout, (long long)c->group, (long long)c->in[0],
          (long long)c->in[1], (long long)c->in[2], (long long)c->k[0], (long long)c->k[1], (long long)c->k[2],
          (long long)c->s[0], (long long)c->s[1], (long long)c->s[2], (long long)c->d[0], (long long)c->d[1],
          (long long)c->d[2], za, variant, scratch ? " gemm" : " direct");
  check(ok, what);
  free(x); free(w); free(wp); free(y); free(r); free(bias); free(mult); free(shift); free(cs); free(scratch);
}

int main(void) {
  static const geo cases[] = {
      /* n cin cout g   in          k          s          d          pb         pe */
      {1, 3, 8, 1, {1, 8, 8}, {1, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}},
      {2, 4, 6, 2, {1, 7, 9}, {1, 3, 2}, {1, 2, 1}, {1, 1, 2}, {0, 1, 0}, {0, 2, 1}},
      {1, 8, 8, 8, {1, 9, 9}, {1, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}},   /* depthwise */
      {2, 6, 12, 6, {1, 11, 13}, {1, 3, 3}, {1, 2, 2}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}}, /* dw x2, stride 2 */
      {1, 4, 4, 4, {1, 9, 10}, {1, 3, 3}, {1, 1, 1}, {1, 2, 2}, {0, 2, 2}, {0, 1, 2}},   /* dw dilated */
      {1, 4, 4, 4, {4, 6, 7}, {2, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}},   /* dw 3-d: planes per od */
      {1, 3, 6, 3, {3, 9, 8}, {2, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 0}, {0, 1, 2}},   /* dw 3-d, stride 2 */
      {1, 4, 4, 4, {1, 11, 12}, {1, 3, 3}, {1, 2, 2}, {1, 2, 2}, {0, 2, 1}, {0, 2, 2}},  /* dw stride 2, dilated */
      {1, 2, 2, 2, {1, 7, 9}, {1, 2, 4}, {1, 1, 2}, {1, 1, 1}, {0, 0, 1}, {0, 1, 2}},   /* dw stride 2 in W only */
      {1, 16, 32, 1, {1, 12, 12}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}}, /* pointwise */
      {1, 5, 17, 1, {1, 1, 40}, {1, 1, 5}, {1, 1, 2}, {1, 1, 3}, {0, 0, 4}, {0, 0, 2}},   /* 1-d */
      {1, 3, 5, 1, {5, 6, 7}, {3, 2, 3}, {2, 1, 2}, {1, 2, 1}, {1, 1, 1}, {1, 0, 2}},     /* 3-d */
      {2, 6, 12, 3, {1, 10, 11}, {1, 5, 5}, {1, 3, 2}, {1, 1, 1}, {0, 2, 2}, {0, 2, 2}},
      {1, 32, 40, 1, {1, 17, 19}, {1, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}}, /* several tiles */
      {1, 1, 4, 1, {1, 30, 30}, {1, 7, 7}, {1, 1, 1}, {1, 2, 2}, {0, 6, 6}, {0, 6, 6}},   /* large pad + dilation */
      {1, 64, 48, 2, {1, 6, 70}, {1, 2, 3}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, {0, 0, 1}},  /* K tail, > 1 tile */
      {1, 2, 3, 1, {1, 4, 4}, {1, 2, 2}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}},     /* thin: direct */
      {1, 300, 20, 1, {1, 5, 5}, {1, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}},  /* K = 2700 */
      /* im2row from the padded input (windows up to 8 bytes wide, W not
       * dilated, at most 64 KiB padded): width 8 (the widest), width 9 (the
       * unpadded im2row), strides with D/H dilation and uneven pads, tiles
       * of 96 positions ending mid-row (K = 2700), an input over the
       * padding budget (unpadded, several tiles) */
      {1, 3, 8, 1, {1, 6, 20}, {1, 2, 8}, {1, 1, 1}, {1, 1, 1}, {0, 1, 3}, {0, 0, 4}},
      {1, 2, 8, 1, {1, 5, 21}, {1, 3, 9}, {1, 2, 1}, {1, 1, 1}, {0, 1, 4}, {0, 1, 4}},
      {2, 4, 10, 2, {4, 9, 11}, {2, 3, 3}, {2, 2, 3}, {2, 3, 1}, {1, 3, 2}, {0, 0, 1}},
      {1, 300, 20, 1, {1, 12, 13}, {1, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}},
      {1, 8, 16, 1, {1, 100, 100}, {1, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}},
  };
  static const int32_t zas[] = {0, -128, 127, 9};
  const int every = test_sample();
  size_t s;
  int v, z = 0;
  for (s = 0; s < sizeof cases / sizeof cases[0]; ++s)
    for (v = 0; v < 16; ++v)
      if ((v + (int)s) % every == 0) run_case(&cases[s], zas[z++ % 4], v);
  return finish();
}
