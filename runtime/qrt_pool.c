#include "qrt.h"
/* qrt_pool.c - max / average pooling over 3 canonical spatial dims
 * (1-D and 2-D pools use size-1 leading dims).  For each output cell the
 * window cells are visited in (kd, kh, kw) order; cells outside the input
 * are skipped.  MAX: -inf start, NaN propagates.  AVG: sequential float sum
 * divided by the number of cells inside the input, or with
 * count_include_pad by the number inside [-pads_begin, in + pads_end).
 * qrt_pool_argmax_f32: the int64 position of each MAX result (the first
 * cell holding it in visiting order, NaN winning as in MAX) in the whole
 * input tensor: plane * plane_size + the spatial offset, row-major
 * (ARGMAX) or column-major (ARGMAX_COL: the first spatial dim varying
 * fastest), as ONNX MaxPool's Indices. */
#include <math.h>

/* Number of window positions k (0 <= k < ks) whose input index
 * o*s + k*d - pb falls in [lo, hi). */
QRT_INTERNAL int64_t qrt_pool_count(int64_t o, int64_t s, int64_t d, int64_t pb, int64_t ks,
                                    int64_t lo, int64_t hi) {
  int64_t k, c = 0;
  for (k = 0; k < ks; ++k) {
    const int64_t i = o * s + k * d - pb;
    c += i >= lo && i < hi;
  }
  return c;
}

/* The window taps k in [*k0, *k1) of output index o whose input index
 * o s + k d - pb lies in [0, in): the index grows with k (d >= 1), so the
 * taps inside the input are one run. */
QRT_INTERNAL void qrt_pool_taps(int64_t o, int64_t s, int64_t d, int64_t pb, int64_t ks, int64_t in, int64_t *k0,
                                int64_t *k1) {
  int64_t k = 0;
  while (k < ks && o * s + k * d - pb < 0) ++k;
  *k0 = k;
  while (k < ks && o * s + k * d - pb < in) ++k;
  *k1 = k;
}

/* Output cell (od, oh, ow) of plane pl: its window's taps inside the
 * input (kd, kh, kw ranges) and the input offset of tap (0, 0, 0). */
typedef struct qrt_pool_window {
  int64_t d0, d1, h0, h1, w0, w1, base;
} qrt_pool_window;

QRT_INTERNAL qrt_pool_window qrt_pool_window_at(const qrt_pool_params *p, int64_t od, int64_t oh, int64_t ow) {
  qrt_pool_window w;
  qrt_pool_taps(od, p->strides[0], p->dilations[0], p->pads_begin[0], p->kernel[0], p->in_spatial[0], &w.d0, &w.d1);
  qrt_pool_taps(oh, p->strides[1], p->dilations[1], p->pads_begin[1], p->kernel[1], p->in_spatial[1], &w.h0, &w.h1);
  qrt_pool_taps(ow, p->strides[2], p->dilations[2], p->pads_begin[2], p->kernel[2], p->in_spatial[2], &w.w0, &w.w1);
  w.base = ((od * p->strides[0] - p->pads_begin[0]) * p->in_spatial[1] + (oh * p->strides[1] - p->pads_begin[1])) *
               p->in_spatial[2] +
           (ow * p->strides[2] - p->pads_begin[2]);
  return w;
}

/* The input offset of tap (kd, kh, kw) of window w. */
#define QRT_POOL_TAP(p, w, kd, kh, kw)                                                                  \
  ((w).base + ((kd) * (p)->dilations[0] * (p)->in_spatial[1] + (kh) * (p)->dilations[1]) * (p)->in_spatial[2] + \
   (kw) * (p)->dilations[2])

/* Output columns ow in [*lo, *hi) whose tap at input column ow s + off
 * lies in [0, in), clamped to [0, on). */
QRT_INTERNAL void qrt_pool_cols(int64_t on, int64_t s, int64_t off, int64_t in, int64_t *lo, int64_t *hi) {
  int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t b = in - 1 - off >= 0 ? (in - 1 - off) / s + 1 : 0;
  if (a > on) a = on;
  if (b > on) b = on;
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

/* Row by row: each output row accumulates its taps (kd, kh, kw) in that
 * order over all its columns at once (a loop the compiler vectorizes),
 * so every cell still visits its window in (kd, kh, kw) order. */
QRT_API void qrt_pool_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_pool_params *p = (const qrt_pool_params *)params;
  const float *x = (const float *)in[0];
  float *y = (float *)out[0];
  const int64_t ID = p->in_spatial[0], IH = p->in_spatial[1], IW = p->in_spatial[2];
  const int64_t OD = p->out_spatial[0], OH = p->out_spatial[1], OW = p->out_spatial[2];
  const int64_t planes = p->n * p->c, isz = ID * IH * IW, osz = OD * OH * OW;
  const int64_t sw = p->strides[2];
  const int max = p->kind == QRT_POOL_MAX;
  int64_t pl, od, oh, ow, kd, kh, kw;
  for (pl = 0; pl < planes; ++pl) {
    const float *xp = x + pl * isz;
    float *yp = y + pl * osz;
    for (od = 0; od < OD; ++od)
      for (oh = 0; oh < OH; ++oh) {
        float *row = yp + (od * OH + oh) * OW;
        int64_t d0, d1, h0, h1;
        qrt_pool_taps(od, p->strides[0], p->dilations[0], p->pads_begin[0], p->kernel[0], ID, &d0, &d1);
        qrt_pool_taps(oh, p->strides[1], p->dilations[1], p->pads_begin[1], p->kernel[1], IH, &h0, &h1);
        for (ow = 0; ow < OW; ++ow) row[ow] = max ? -INFINITY : 0.0f;
        for (kd = d0; kd < d1; ++kd)
          for (kh = h0; kh < h1; ++kh) {
            const int64_t id = od * p->strides[0] + kd * p->dilations[0] - p->pads_begin[0];
            const int64_t ih = oh * p->strides[1] + kh * p->dilations[1] - p->pads_begin[1];
            const float *xr = xp + (id * IH + ih) * IW;
            for (kw = 0; kw < p->kernel[2]; ++kw) {
              const int64_t off = kw * p->dilations[2] - p->pads_begin[2];
              int64_t lo, hi;
              qrt_pool_cols(OW, sw, off, IW, &lo, &hi);
              if (max) {
                for (ow = lo; ow < hi; ++ow) {
                  const float v = xr[ow * sw + off];
                  row[ow] = (v > row[ow] || v != v) ? v : row[ow];
                }
              } else {
                for (ow = lo; ow < hi; ++ow) row[ow] = row[ow] + xr[ow * sw + off];
              }
            }
          }
        if (max) continue;
        for (ow = 0; ow < OW; ++ow) {
          int64_t cnt, w0, w1;
          if (p->count_include_pad) {
            cnt = qrt_pool_count(od, p->strides[0], p->dilations[0], p->pads_begin[0], p->kernel[0],
                                 -p->pads_begin[0], ID + p->pads_end[0]) *
                  qrt_pool_count(oh, p->strides[1], p->dilations[1], p->pads_begin[1], p->kernel[1],
                                 -p->pads_begin[1], IH + p->pads_end[1]) *
                  qrt_pool_count(ow, sw, p->dilations[2], p->pads_begin[2], p->kernel[2], -p->pads_begin[2],
                                 IW + p->pads_end[2]);
          } else {
            qrt_pool_taps(ow, sw, p->dilations[2], p->pads_begin[2], p->kernel[2], IW, &w0, &w1);
            cnt = (d1 - d0) * (h1 - h0) * (w1 - w0);
          }
          row[ow] = row[ow] / (float)cnt;
        }
      }
  }
}

/* Max pooling of int8 codes (one scale and zero point in and out: the
 * max commutes with a monotonic quantization, so this is exact); a window
 * with no input cell gives -128 (the float path's -inf, quantized). */
QRT_API void qrt_maxpool_i8(const void *params, const void *const *in, void *const *out) {
  const qrt_pool_params *p = (const qrt_pool_params *)params;
  const int8_t *x = (const int8_t *)in[0];
  int8_t *y = (int8_t *)out[0];
  const int64_t isz = p->in_spatial[0] * p->in_spatial[1] * p->in_spatial[2];
  const int64_t OD = p->out_spatial[0], OH = p->out_spatial[1], OW = p->out_spatial[2];
  const int64_t IH = p->in_spatial[1], IW = p->in_spatial[2], sw = p->strides[2];
  int64_t pl, od, oh, ow, kd, kh, kw;
  for (pl = 0; pl < p->n * p->c; ++pl) {
    const int8_t *xp = x + pl * isz;
    int8_t *yp = y + pl * OD * OH * OW;
    for (od = 0; od < OD; ++od)
      for (oh = 0; oh < OH; ++oh) { /* row by row, as qrt_pool_f32 */
        int8_t *row = yp + (od * OH + oh) * OW;
        int64_t d0, d1, h0, h1;
        qrt_pool_taps(od, p->strides[0], p->dilations[0], p->pads_begin[0], p->kernel[0], p->in_spatial[0], &d0, &d1);
        qrt_pool_taps(oh, p->strides[1], p->dilations[1], p->pads_begin[1], p->kernel[1], IH, &h0, &h1);
        for (ow = 0; ow < OW; ++ow) row[ow] = -128;
        for (kd = d0; kd < d1; ++kd)
          for (kh = h0; kh < h1; ++kh) {
            const int64_t id = od * p->strides[0] + kd * p->dilations[0] - p->pads_begin[0];
            const int64_t ih = oh * p->strides[1] + kh * p->dilations[1] - p->pads_begin[1];
            const int8_t *xr = xp + (id * IH + ih) * IW;
            for (kw = 0; kw < p->kernel[2]; ++kw) {
              const int64_t off = kw * p->dilations[2] - p->pads_begin[2];
              int64_t lo, hi;
              qrt_pool_cols(OW, sw, off, IW, &lo, &hi);
              for (ow = lo; ow < hi; ++ow) row[ow] = xr[ow * sw + off] > row[ow] ? xr[ow * sw + off] : row[ow];
            }
          }
      }
  }
}

QRT_API void qrt_pool_argmax_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_pool_params *p = (const qrt_pool_params *)params;
  const float *x = (const float *)in[0];
  int64_t *y = (int64_t *)out[0];
  const int64_t ID = p->in_spatial[0], IH = p->in_spatial[1], IW = p->in_spatial[2];
  const int64_t OD = p->out_spatial[0], OH = p->out_spatial[1], OW = p->out_spatial[2];
  const int64_t planes = p->n * p->c, isz = ID * IH * IW, osz = OD * OH * OW;
  const int col = p->kind == QRT_POOL_ARGMAX_COL;
  int64_t pl, od, oh, ow, kd, kh, kw;
  for (pl = 0; pl < planes; ++pl) {
    const float *xp = x + pl * isz;
    int64_t *yp = y + pl * osz;
    for (od = 0; od < OD; ++od)
      for (oh = 0; oh < OH; ++oh)
        for (ow = 0; ow < OW; ++ow) {
          const qrt_pool_window w = qrt_pool_window_at(p, od, oh, ow);
          float acc = -INFINITY;
          int64_t best = -1;
          for (kd = w.d0; kd < w.d1; ++kd)
            for (kh = w.h0; kh < w.h1; ++kh)
              for (kw = w.w0; kw < w.w1; ++kw) {
                const int64_t at = QRT_POOL_TAP(p, w, kd, kh, kw);
                const float v = xp[at];
                if (best < 0 || (acc == acc && (v > acc || v != v))) {
                  const int64_t id = at / (IH * IW), ih = at / IW % IH, iw = at % IW;
                  acc = v;
                  best = col ? id + ID * (ih + IH * iw) : at;
                }
              }
          yp[(od * OH + oh) * OW + ow] = best < 0 ? -1 : pl * isz + best;
        }
  }
}
