#include "qrt.h"
/* qrt_roi_align.c - ONNX RoiAlign (see QRT_ROI_ALIGN_PARAMS), following
 * ONNX Runtime's sampling and bilinear weights. */
#include <math.h>

/* One bilinear sample at (y, x): its four weighted corner values, summed
 * (AVG) or maxed (MAX); 0 outside [-1, size]. */
QRT_INTERNAL double qrt_roi_sample(const float *plane, int64_t h, int64_t w, double y, double x, int mode) {
  int64_t yl, xl, yh, xh;
  double ly, lx, v1, v2, v3, v4;
  if (!(y >= -1.0 && y <= (double)h && x >= -1.0 && x <= (double)w)) return 0.0;
  if (y <= 0.0) y = 0.0;
  if (x <= 0.0) x = 0.0;
  yl = (int64_t)y;
  xl = (int64_t)x;
  if (yl >= h - 1) {
    yh = yl = h - 1;
    y = (double)yl;
  } else {
    yh = yl + 1;
  }
  if (xl >= w - 1) {
    xh = xl = w - 1;
    x = (double)xl;
  } else {
    xh = xl + 1;
  }
  ly = y - (double)yl;
  lx = x - (double)xl;
  v1 = (1.0 - ly) * (1.0 - lx) * plane[yl * w + xl];
  v2 = (1.0 - ly) * lx * plane[yl * w + xh];
  v3 = ly * (1.0 - lx) * plane[yh * w + xl];
  v4 = ly * lx * plane[yh * w + xh];
  if (mode == QRT_ROI_MAX) {
    double m = v1 > v2 ? v1 : v2;
    m = m > v3 ? m : v3;
    return m > v4 ? m : v4;
  }
  return v1 + v2 + v3 + v4;
}

QRT_API void qrt_roi_align(const void *params, const void *const *in, void *const *out) {
  const qrt_roi_align_params *p = (const qrt_roi_align_params *)params;
  const float *x = (const float *)in[0], *rois = (const float *)in[1];
  const int64_t *bidx = (const int64_t *)in[2];
  float *y = (float *)out[0];
  const double off = p->half_pixel ? 0.5 : 0.0, scale = (double)p->spatial_scale;
  int64_t r, ch, ph, pw, iy, ix;
  if (p->h <= 0 || p->w <= 0) return;
  for (r = 0; r < p->num_rois; ++r) {
    const double sw = (double)rois[r * 4] * scale - off, sh = (double)rois[r * 4 + 1] * scale - off;
    double rw = (double)rois[r * 4 + 2] * scale - off - sw, rh = (double)rois[r * 4 + 3] * scale - off - sh;
    double bw, bh;
    int64_t gh, gw, count, b = bidx[r];
    if (!p->half_pixel) {
      rw = rw > 1.0 ? rw : 1.0;
      rh = rh > 1.0 ? rh : 1.0;
    }
    bh = rh / (double)p->oh;
    bw = rw / (double)p->ow;
    {
      /* adaptive grids; degenerate (NaN, negative or huge) rois sample
       * nothing instead of overflowing the conversion */
      const double gd = ceil(rh / (double)p->oh), wd = ceil(rw / (double)p->ow);
      gh = p->sampling_ratio > 0 ? p->sampling_ratio : (gd >= 0.0 && gd <= 100000.0 ? (int64_t)gd : 0);
      gw = p->sampling_ratio > 0 ? p->sampling_ratio : (wd >= 0.0 && wd <= 100000.0 ? (int64_t)wd : 0);
    }
    count = gh * gw > 1 ? gh * gw : 1;
    for (ch = 0; ch < p->c; ++ch) {
      const float *plane = x + (b * p->c + ch) * p->h * p->w;
      float *yp = y + ((r * p->c + ch) * p->oh) * p->ow;
      for (ph = 0; ph < p->oh; ++ph)
        for (pw = 0; pw < p->ow; ++pw) {
          double acc = 0.0;
          int first = 1;
          if (b < 0 || b >= p->n) {
            yp[ph * p->ow + pw] = 0.0f; /* invalid batch index: no data */
            continue;
          }
          for (iy = 0; iy < gh; ++iy) {
            const double yy = sh + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
            for (ix = 0; ix < gw; ++ix) {
              const double xx = sw + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;
              const double v = qrt_roi_sample(plane, p->h, p->w, yy, xx, p->mode);
              if (p->mode == QRT_ROI_MAX) {
                acc = first || v > acc ? v : acc;
                first = 0;
              } else {
                acc += v;
              }
            }
          }
          yp[ph * p->ow + pw] = (float)(p->mode == QRT_ROI_MAX ? acc : acc / (double)count);
        }
    }
  }
}
