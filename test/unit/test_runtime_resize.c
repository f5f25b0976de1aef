/* test_runtime_resize.c - qrt_resize against a transcription of the ONNX
 * reference (onnx/backend/test/case/node/resize.py): nested 1-D
 * interpolation, innermost axis first, neighbours found as the n nearest
 * indices of the edge-padded input (ties to the smaller index), ratio 1 at
 * integer coordinates.  That is a different construction from the
 * kernel's floor-and-clamp taps, so agreement checks the equivalence.
 * Every mode x coordinate transform x nearest mode x exclude_outside, up-
 * and downscaling, scales from the shapes and from a run-time tensor. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

typedef struct cfg {
  int mode, coord, nearest, excl;
  double a;
} cfg;

static void coeffs(const cfg *c, double ratio, double *w, int *n) {
  if (c->mode == QRT_RESIZE_NEAREST) {
    int is_int = ratio == 1.0;
    *n = 2;
    if (is_int) { w[0] = 0; w[1] = 1; return; }
    switch (c->nearest) {
    case QRT_RESIZE_ROUND_PREFER_FLOOR: w[0] = ratio <= 0.5; w[1] = ratio > 0.5; break;
    case QRT_RESIZE_ROUND_PREFER_CEIL: w[0] = ratio < 0.5; w[1] = ratio >= 0.5; break;
    case QRT_RESIZE_FLOOR: w[0] = 1; w[1] = 0; break;
    default: w[0] = 0; w[1] = 1; break;
    }
  } else if (c->mode == QRT_RESIZE_LINEAR) {
    *n = 2;
    w[0] = 1 - ratio;
    w[1] = ratio;
  } else {
    double A = c->a;
    *n = 4;
    w[0] = ((A * (ratio + 1) - 5 * A) * (ratio + 1) + 8 * A) * (ratio + 1) - 4 * A;
    w[1] = ((A + 2) * ratio - (A + 3)) * ratio * ratio + 1;
    w[2] = ((A + 2) * (1 - ratio) - (A + 3)) * (1 - ratio) * (1 - ratio) + 1;
    w[3] = ((A * ((1 - ratio) + 1) - 5 * A) * ((1 - ratio) + 1) + 8 * A) * ((1 - ratio) + 1) - 4 * A;
  }
}

/* _interpolate_1d_with_x */
static double interp1d(const cfg *c, const double *data, int len, double scale, int out_len, int x, double r0, double r1,
                       double extra) {
  double out_w = scale * len, xo, ratio, w[4], acc = 0, sum = 0;
  int n, p, k, idx[4], lo;
  switch (c->coord) {
  case QRT_RESIZE_ALIGN_CORNERS: xo = out_w == 1 ? 0 : x * (double)(len - 1) / (out_w - 1); break;
  case QRT_RESIZE_ASYMMETRIC: xo = x / scale; break;
  case QRT_RESIZE_TF_CROP_AND_RESIZE:
    xo = out_w == 1 ? (r1 - r0) * (len - 1) / 2 : x * (r1 - r0) * (len - 1) / (out_w - 1);
    xo += r0 * (len - 1);
    if (xo < 0 || xo > len - 1) return extra;
    break;
  case QRT_RESIZE_PYTORCH_HALF_PIXEL: xo = out_len == 1 ? 0 : (x + 0.5) / scale - 0.5; break;
  case QRT_RESIZE_TF_HALF_PIXEL_FOR_NN: xo = (x + 0.5) / scale; break;
  default: xo = (x + 0.5) / scale - 0.5; break;
  }
  ratio = xo == floor(xo) ? 1.0 : xo - floor(xo);
  coeffs(c, ratio, w, &n);
  /* n nearest of the padded indices [0, len + 2p) to xo + p, ties smaller */
  p = (n + 1) / 2;
  {
    double xp = xo + p;
    int best = 0, i, m = len + 2 * p;
    for (i = 0; i < m; ++i)
      if (fabs(xp - i) < fabs(xp - best)) best = i;
    /* grow a window of n around best, preferring the smaller side on ties */
    lo = best;
    {
      int hi = best;
      while (hi - lo + 1 < n) {
        double dl = lo > 0 ? fabs(xp - (lo - 1)) : 1e300, dh = hi < m - 1 ? fabs(xp - (hi + 1)) : 1e300;
        if (dl <= dh) --lo; else ++hi;
      }
    }
    for (k = 0; k < n; ++k) idx[k] = lo + k - p;
  }
  if (c->excl) {
    for (k = 0; k < n; ++k) {
      if (idx[k] < 0 || idx[k] >= len) w[k] = 0;
      sum += w[k];
    }
    for (k = 0; k < n; ++k) w[k] /= sum;
  }
  for (k = 0; k < n; ++k) {
    int j = idx[k] < 0 ? 0 : idx[k] >= len ? len - 1 : idx[k];
    acc += w[k] * data[j];
  }
  return acc;
}

static void run(const cfg *c, int h, int w, int oh, int ow, int runtime_scales, double sh, double sw) {
  qrt_resize_params p;
  float *x = (float *)xmalloc(sizeof(float) * (size_t)(h * w)), *y = (float *)xmalloc(sizeof(float) * (size_t)(oh * ow));
  float sc[2] = {(float)sh, (float)sw};
  double roi[4] = {0.1, 0.2, 0.9, 1.3}, row[64], col[64];
  const void *in[3];
  void *out[1];
  int i, j, k, ok = 1;
  char what[160];
  fill_f32(x, h * w, -2.0f, 2.0f);
  memset(&p, 0, sizeof p);
  p.dtype = QRT_F32; p.rank = 2; p.mode = c->mode; p.coord = c->coord; p.nearest = c->nearest;
  p.exclude_outside = c->excl; p.cubic_a = (float)c->a; p.extrapolation = 7.5f;
  p.in_shape[0] = h; p.in_shape[1] = w; p.out_shape[0] = oh; p.out_shape[1] = ow;
  in[0] = x; in[1] = runtime_scales ? sc : NULL; in[2] = c->coord == QRT_RESIZE_TF_CROP_AND_RESIZE ? roi : NULL;
  out[0] = y;
  qrt_resize(&p, in, out);
  if (!runtime_scales) { sh = (double)oh / h; sw = (double)ow / w; }
  else { sh = sc[0]; sw = sc[1]; }
  for (i = 0; i < oh && ok; ++i)
    for (j = 0; j < ow && ok; ++j) {
      double ref;
      for (k = 0; k < h; ++k) {
        for (int q = 0; q < w; ++q) row[q] = x[k * w + q];
        col[k] = interp1d(c, row, w, sw, ow, j, roi[1], roi[3], 7.5);
      }
      ref = interp1d(c, col, h, sh, oh, i, roi[0], roi[2], 7.5);
      if (!(fabs((double)y[i * ow + j] - ref) <= 1e-5 * (1 + fabs(ref)))) {
        printf("  (%d,%d): %.9g vs reference %.9g\n", i, j, (double)y[i * ow + j], ref);
        ok = 0;
      }
    }
  sprintf(what, "resize mode %d coord %d nearest %d excl %d %dx%d -> %dx%d rt %d", c->mode, c->coord, c->nearest,
          c->excl, h, w, oh, ow, runtime_scales);
  check(ok, what);
  free(x); free(y);
}

int main(void) {
  static const int sizes[][4] = {{4, 5, 7, 9}, {5, 4, 2, 3}, {3, 3, 1, 6}, {6, 2, 6, 1}};
  cfg c;
  int s;
  for (c.mode = 0; c.mode <= 2; ++c.mode)
    for (c.coord = 0; c.coord <= 5; ++c.coord)
      for (c.nearest = 0; c.nearest <= (c.mode == 0 ? 3 : 0); ++c.nearest)
        for (c.excl = 0; c.excl <= 1; ++c.excl)
          for (c.a = -0.75; c.a <= -0.5; c.a += 0.25)
            for (s = 0; s < 4; ++s) {
              /* tf_half_pixel_for_nn is for nearest only in ONNX */
              if (c.coord == QRT_RESIZE_TF_HALF_PIXEL_FOR_NN && c.mode != QRT_RESIZE_NEAREST) continue;
              /* exclude_outside is ignored for nearest (the kernel clamps;
               * the reference divides 0 by 0 when the picked index lies
               * outside) */
              if (c.mode == QRT_RESIZE_NEAREST && c.excl) continue;
              run(&c, sizes[s][0], sizes[s][1], sizes[s][2], sizes[s][3], 0, 0, 0);
              /* run-time scales that do not equal out/in (0.6 * 5 -> 3) */
              run(&c, sizes[s][0], sizes[s][1], sizes[s][2], sizes[s][3], 1,
                  (double)sizes[s][2] / sizes[s][0] + 0.1, (double)sizes[s][3] / sizes[s][1] + 0.05);
            }
  return finish();
}
