/* test_runtime_pool.c - qrt_pool_f32 against a naive loop: max (padding ignored)
 * and average (sum in (kd, kh, kw) order of the cells inside the input;
 * divisor: cells inside the input, or with count_include_pad the cells
 * inside the padded input [-pads_begin, in + pads_end), computed here by
 * brute force).  Same order, so bit-exact. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static void ref_pool(const qrt_pool_params *p, const float *x, float *y) {
  const int64_t *is = p->in_spatial, *os = p->out_spatial;
  int64_t pl, od, oh, ow, kd, kh, kw;
  for (pl = 0; pl < p->n * p->c; ++pl)
    for (od = 0; od < os[0]; ++od)
      for (oh = 0; oh < os[1]; ++oh)
        for (ow = 0; ow < os[2]; ++ow) {
          float acc = p->kind == QRT_POOL_MAX ? -INFINITY : 0.0f;
          int64_t cnt = 0, cnt_pad = 0;
          for (kd = 0; kd < p->kernel[0]; ++kd)
            for (kh = 0; kh < p->kernel[1]; ++kh)
              for (kw = 0; kw < p->kernel[2]; ++kw) {
                const int64_t i0 = od * p->strides[0] + kd * p->dilations[0] - p->pads_begin[0];
                const int64_t i1 = oh * p->strides[1] + kh * p->dilations[1] - p->pads_begin[1];
                const int64_t i2 = ow * p->strides[2] + kw * p->dilations[2] - p->pads_begin[2];
                if (i0 >= -p->pads_begin[0] && i0 < is[0] + p->pads_end[0] &&
                    i1 >= -p->pads_begin[1] && i1 < is[1] + p->pads_end[1] &&
                    i2 >= -p->pads_begin[2] && i2 < is[2] + p->pads_end[2])
                  ++cnt_pad;
                if (i0 >= 0 && i0 < is[0] && i1 >= 0 && i1 < is[1] && i2 >= 0 && i2 < is[2]) {
                  const float v = x[((pl * is[0] + i0) * is[1] + i1) * is[2] + i2];
                  if (p->kind == QRT_POOL_MAX) {
                    if (v > acc || v != v) acc = v;
                  } else {
                    acc = acc + v;
                  }
                  ++cnt;
                }
              }
          if (p->kind == QRT_POOL_AVG) acc = acc / (float)(p->count_include_pad ? cnt_pad : cnt);
          y[((pl * os[0] + od) * os[1] + oh) * os[2] + ow] = acc;
        }
}

static void run_case(int kind, int cip, int ceil_mode, int64_t n, int64_t c, const int64_t in[3],
                     const int64_t k[3], const int64_t s[3], const int64_t d[3],
                     const int64_t pb[3], const int64_t pe[3]) {
  qrt_pool_params p;
  int64_t i, xs, ys;
  float *x, *y, *r;
  const void *ins[1];
  void *outs[1];
  char what[160];
  memset(&p, 0, sizeof p);
  p.kind = kind; p.count_include_pad = cip; p.n = n; p.c = c;
  for (i = 0; i < 3; ++i) {
    const int64_t span = in[i] + pb[i] + pe[i] - ((k[i] - 1) * d[i] + 1);
    int64_t o = ceil_mode ? (span + s[i] - 1) / s[i] + 1 : span / s[i] + 1;
    /* ONNX: the last window must start inside the input or left padding */
    if (ceil_mode && (o - 1) * s[i] >= in[i] + pb[i]) --o;
    p.in_spatial[i] = in[i]; p.out_spatial[i] = o; p.kernel[i] = k[i]; p.strides[i] = s[i];
    p.dilations[i] = d[i]; p.pads_begin[i] = pb[i]; p.pads_end[i] = pe[i];
  }
  xs = n * c * in[0] * in[1] * in[2];
  ys = n * c * p.out_spatial[0] * p.out_spatial[1] * p.out_spatial[2];
  x = (float *)xmalloc(sizeof(float) * (size_t)xs);
  y = (float *)xmalloc(sizeof(float) * (size_t)ys);
  r = (float *)xmalloc(sizeof(float) * (size_t)ys);
  fill_f32(x, xs, -3, 3);
  if (xs > 5) x[5] = NAN; /* NaN propagates through max and avg */
  ref_pool(&p, x, r);
  ins[0] = x;
  outs[0] = y;
  qrt_pool_f32(&p, ins, outs);
  sprintf(what, "pool kind %d cip %d ceil %d in %lldx%lldx%lld k %lldx%lldx%lld", kind, cip,
          ceil_mode, (long long)in[0], (long long)in[1], (long long)in[2], (long long)k[0],
          (long long)k[1], (long long)k[2]);
  check(same_f32_arr(y, r, ys), what);
  if (kind == QRT_POOL_MAX) { /* int8 codes: the same windows' max, as integers */
    int8_t *xq = (int8_t *)xmalloc((size_t)xs), *yq = (int8_t *)xmalloc((size_t)ys);
    fill_i8(xq, xs, -128, 127);
    for (i = 0; i < xs; ++i) x[i] = (float)xq[i];
    ref_pool(&p, x, r);
    ins[0] = xq;
    outs[0] = yq;
    qrt_maxpool_i8(&p, ins, outs);
    for (i = 0; i < ys; ++i) y[i] = (float)yq[i];
    for (i = 0; i < ys; ++i) r[i] = r[i] < -128.0f ? -128.0f : r[i]; /* empty window: -inf -> -128 */
    sprintf(what + strlen(what), " (int8)");
    check(same_f32_arr(y, r, ys), what);
    free(xq); free(yq);
  }
  free(x); free(y); free(r);
}

/* qrt_pool_argmax_f32: x at the returned position (row- or column-major
 * over the plane, plus the plane offset) equals the max pool's value. */
static void run_argmax(int col) {
  qrt_pool_params p;
  enum { N = 2, C = 3, D = 3, H = 5, W = 4 };
  static float x[N * C * D * H * W], y[N * C * 2 * 3 * 2];
  static int64_t ix[N * C * 2 * 3 * 2];
  const void *in[1];
  void *out[1];
  int64_t i, ok = 1;
  fill_f32(x, N * C * D * H * W, -4.0f, 4.0f);
  for (i = 0; i < N * C * D * H * W; i += 7) x[i] = x[i / 2]; /* ties */
  memset(&p, 0, sizeof p);
  p.kind = QRT_POOL_MAX; p.n = N; p.c = C;
  p.in_spatial[0] = D; p.in_spatial[1] = H; p.in_spatial[2] = W;
  p.out_spatial[0] = 2; p.out_spatial[1] = 3; p.out_spatial[2] = 2;
  p.kernel[0] = 2; p.kernel[1] = 2; p.kernel[2] = 2;
  p.strides[0] = 1; p.strides[1] = 2; p.strides[2] = 2;
  p.dilations[0] = p.dilations[1] = p.dilations[2] = 1;
  p.pads_begin[1] = 1; p.pads_end[1] = 1;
  in[0] = x; out[0] = y;
  qrt_pool_f32(&p, in, out);
  p.kind = col ? QRT_POOL_ARGMAX_COL : QRT_POOL_ARGMAX;
  out[0] = ix;
  qrt_pool_argmax_f32(&p, in, out);
  for (i = 0; i < N * C * 12; ++i) {
    const int64_t plane = ix[i] / (D * H * W), r = ix[i] % (D * H * W);
    /* back to (d, h, w) */
    const int64_t d = col ? r % D : r / (H * W), h = col ? (r / D) % H : (r / W) % H, w = col ? r / (D * H) : r % W;
    ok &= plane == i / 12 && same_f32(x[plane * D * H * W + (d * H + h) * W + w], y[i]);
  }
  check((int)ok, col ? "argmax pool, column-major" : "argmax pool, row-major");
}

int main(void) {
  static const int64_t one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
  run_argmax(0);
  run_argmax(1);
  int kind, cip, cm;
  for (kind = 0; kind < 2; ++kind)
    for (cip = 0; cip < 2; ++cip)
      for (cm = 0; cm < 2; ++cm) {
        const int64_t in2[3] = {1, 9, 10}, k2[3] = {1, 3, 3}, s2[3] = {1, 2, 2};
        const int64_t pb[3] = {0, 1, 1}, pe[3] = {0, 1, 0}, d2[3] = {1, 2, 1};
        const int64_t in1[3] = {1, 1, 17}, k1[3] = {1, 1, 4}, s1[3] = {1, 1, 3},
                      pb1[3] = {0, 0, 2}, pe1[3] = {0, 0, 1};
        const int64_t in3[3] = {5, 6, 7}, k3[3] = {2, 3, 2}, s3[3] = {2, 2, 1},
                      pb3[3] = {1, 1, 0}, pe3[3] = {1, 0, 1};
        const int64_t k22[3] = {1, 2, 2}, s22[3] = {1, 2, 2};
        run_case(kind, cip, cm, 2, 3, in2, k2, s2, one, pb, pe);
        run_case(kind, cip, cm, 1, 2, in2, k2, s2, d2, pb, pe);
        run_case(kind, cip, cm, 1, 4, in2, k22, s22, one, zero, zero);
        run_case(kind, cip, cm, 2, 2, in1, k1, s1, one, pb1, pe1);
        run_case(kind, cip, cm, 1, 2, in3, k3, s3, one, pb3, pe3);
      }
  {
    /* global average pool */
    const int64_t in[3] = {1, 7, 7};
    run_case(QRT_POOL_AVG, 0, 0, 2, 5, in, in, one, one, zero, zero);
  }
  return finish();
}
