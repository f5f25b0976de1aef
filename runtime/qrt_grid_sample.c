#include "qrt.h"
/* qrt_grid_sample.c - ONNX GridSample (see QRT_GRID_SAMPLE_PARAMS), the
 * same coordinate arithmetic as PyTorch's grid_sampler_2d. */
#include <math.h>

QRT_INTERNAL double qrt_grid_unnormalize(double g, int64_t size, int align) {
  return align ? (g + 1.0) / 2.0 * (double)(size - 1) : ((g + 1.0) * (double)size - 1.0) / 2.0;
}

QRT_INTERNAL double qrt_grid_clip(double x, int64_t size) {
  const double hi = (double)(size - 1);
  return x < 0.0 ? 0.0 : (x > hi ? hi : x);
}

/* Reflect x into [twice_low / 2, twice_high / 2]. */
QRT_INTERNAL double qrt_grid_reflect(double x, int64_t twice_low, int64_t twice_high) {
  double lo, span, extra, flips;
  if (twice_low == twice_high) return 0.0;
  lo = (double)twice_low / 2.0;
  span = (double)(twice_high - twice_low) / 2.0;
  x = fabs(x - lo);
  extra = fmod(x, span);
  flips = floor(x / span);
  return fmod(flips, 2.0) == 0.0 ? extra + lo : span - extra + lo;
}

QRT_INTERNAL double qrt_grid_pad(const qrt_grid_sample_params *p, double x, int64_t size) {
  if (p->padding == QRT_GRID_BORDER) return qrt_grid_clip(x, size);
  if (p->padding == QRT_GRID_REFLECTION) {
    x = p->align_corners ? qrt_grid_reflect(x, 0, 2 * (size - 1)) : qrt_grid_reflect(x, -1, 2 * size - 1);
    return qrt_grid_clip(x, size);
  }
  return x;
}

/* Pixel (ix, iy) of plane, 0 outside. */
QRT_INTERNAL double qrt_grid_at(const float *plane, const qrt_grid_sample_params *p, int64_t ix, int64_t iy) {
  return ix >= 0 && ix < p->w && iy >= 0 && iy < p->h ? (double)plane[iy * p->w + ix] : 0.0;
}

/* int64 of a coordinate, saturated so that far-out (or NaN) values stay
 * out of range without overflowing the conversion. */
QRT_INTERNAL int64_t qrt_grid_index(double v) {
  if (!(v > -1e9)) return -1000000000;
  if (v > 1e9) return 1000000000;
  return (int64_t)v;
}

QRT_INTERNAL void qrt_grid_cubic(double t, double *c) {
  const double A = -0.75;
  double x = t + 1.0;
  c[0] = ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
  x = t;
  c[1] = ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
  x = 1.0 - t;
  c[2] = ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
  x = 2.0 - t;
  c[3] = ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
}

QRT_API void qrt_grid_sample(const void *params, const void *const *in, void *const *out) {
  const qrt_grid_sample_params *p = (const qrt_grid_sample_params *)params;
  const float *x = (const float *)in[0], *grid = (const float *)in[1];
  float *y = (float *)out[0];
  int64_t b, ch, i, j;
  for (b = 0; b < p->n; ++b)
    for (i = 0; i < p->oh; ++i)
      for (j = 0; j < p->ow; ++j) {
        const float *g = grid + ((b * p->oh + i) * p->ow + j) * 2;
        const double gx = qrt_grid_unnormalize((double)g[0], p->w, p->align_corners);
        const double gy = qrt_grid_unnormalize((double)g[1], p->h, p->align_corners);
        for (ch = 0; ch < p->c; ++ch) {
          const float *plane = x + (b * p->c + ch) * p->h * p->w;
          double v;
          if (p->mode == QRT_GRID_BICUBIC) {
            const double fx = floor(gx), fy = floor(gy);
            const int64_t x0 = qrt_grid_index(fx), y0 = qrt_grid_index(fy);
            double cx[4], cy[4], rows[4];
            int r, k;
            qrt_grid_cubic(gx - fx, cx);
            qrt_grid_cubic(gy - fy, cy);
            for (r = 0; r < 4; ++r) {
              rows[r] = 0.0;
              for (k = 0; k < 4; ++k) {
                const int64_t tx = qrt_grid_index(qrt_grid_pad(p, (double)(x0 - 1 + k), p->w));
                const int64_t ty = qrt_grid_index(qrt_grid_pad(p, (double)(y0 - 1 + r), p->h));
                rows[r] += cx[k] * qrt_grid_at(plane, p, tx, ty);
              }
            }
            v = cy[0] * rows[0] + cy[1] * rows[1] + cy[2] * rows[2] + cy[3] * rows[3];
          } else {
            const double px = qrt_grid_pad(p, gx, p->w), py = qrt_grid_pad(p, gy, p->h);
            if (p->mode == QRT_GRID_NEAREST) {
              /* round half to even, like nearbyint in the default mode */
              double rx = floor(px), ry = floor(py);
              if (px - rx > 0.5 || (px - rx == 0.5 && fmod(rx, 2.0) != 0.0)) rx += 1.0;
              if (py - ry > 0.5 || (py - ry == 0.5 && fmod(ry, 2.0) != 0.0)) ry += 1.0;
              v = qrt_grid_at(plane, p, qrt_grid_index(rx), qrt_grid_index(ry));
            } else {
              const double fx = floor(px), fy = floor(py), tx = px - fx, ty = py - fy;
              const int64_t x0 = qrt_grid_index(fx), y0 = qrt_grid_index(fy);
              v = (1.0 - tx) * (1.0 - ty) * qrt_grid_at(plane, p, x0, y0) + tx * (1.0 - ty) * qrt_grid_at(plane, p, x0 + 1, y0) +
                  (1.0 - tx) * ty * qrt_grid_at(plane, p, x0, y0 + 1) + tx * ty * qrt_grid_at(plane, p, x0 + 1, y0 + 1);
            }
          }
          y[((b * p->c + ch) * p->oh + i) * p->ow + j] = (float)v;
        }
      }
}
