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

QRT_API void qrt_pool_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_pool_params *p = (const qrt_pool_params *)params;
  const float *x = (const float *)in[0];
  float *y = (float *)out[0];
  const int64_t ID = p->in_spatial[0], IH = p->in_spatial[1], IW = p->in_spatial[2];
  const int64_t OD = p->out_spatial[0], OH = p->out_spatial[1], OW = p->out_spatial[2];
  const int64_t KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];
  const int64_t SD = p->strides[0], SH = p->strides[1], SW = p->strides[2];
  const int64_t DD = p->dilations[0], DH = p->dilations[1], DW = p->dilations[2];
  const int64_t PD = p->pads_begin[0], PH = p->pads_begin[1], PW = p->pads_begin[2];
  const int64_t planes = p->n * p->c, isz = ID * IH * IW, osz = OD * OH * OW;
  int64_t pl, od, oh, ow, kd, kh, kw;
  for (pl = 0; pl < planes; ++pl) {
    const float *xp = x + pl * isz;
    float *yp = y + pl * osz;
    for (od = 0; od < OD; ++od)
      for (oh = 0; oh < OH; ++oh)
        for (ow = 0; ow < OW; ++ow) {
          float acc = p->kind == QRT_POOL_MAX ? -INFINITY : 0.0f;
          int64_t cnt = 0;
          for (kd = 0; kd < KD; ++kd) {
            const int64_t id = od * SD + kd * DD - PD;
            if (id < 0 || id >= ID) continue;
            for (kh = 0; kh < KH; ++kh) {
              const int64_t ih = oh * SH + kh * DH - PH;
              if (ih < 0 || ih >= IH) continue;
              for (kw = 0; kw < KW; ++kw) {
                const int64_t iw = ow * SW + kw * DW - PW;
                float v;
                if (iw < 0 || iw >= IW) continue;
                v = xp[(id * IH + ih) * IW + iw];
                if (p->kind == QRT_POOL_MAX) acc = (v > acc || v != v) ? v : acc;
                else acc = acc + v;
                ++cnt;
              }
            }
          }
          if (p->kind != QRT_POOL_MAX) {
            if (p->count_include_pad)
              cnt = qrt_pool_count(od, SD, DD, PD, KD, -PD, ID + p->pads_end[0]) *
                    qrt_pool_count(oh, SH, DH, PH, KH, -PH, IH + p->pads_end[1]) *
                    qrt_pool_count(ow, SW, DW, PW, KW, -PW, IW + p->pads_end[2]);
            acc = acc / (float)cnt;
          }
          yp[(od * OH + oh) * OW + ow] = acc;
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
  const int64_t ID = p->in_spatial[0], IH = p->in_spatial[1], IW = p->in_spatial[2];
  const int64_t OD = p->out_spatial[0], OH = p->out_spatial[1], OW = p->out_spatial[2];
  const int64_t planes = p->n * p->c, isz = ID * IH * IW, osz = OD * OH * OW;
  int64_t pl, od, oh, ow, kd, kh, kw;
  for (pl = 0; pl < planes; ++pl) {
    const int8_t *xp = x + pl * isz;
    int8_t *yp = y + pl * osz;
    for (od = 0; od < OD; ++od)
      for (oh = 0; oh < OH; ++oh)
        for (ow = 0; ow < OW; ++ow) {
          int32_t acc = -128;
          for (kd = 0; kd < p->kernel[0]; ++kd) {
            const int64_t id = od * p->strides[0] + kd * p->dilations[0] - p->pads_begin[0];
            if (id < 0 || id >= ID) continue;
            for (kh = 0; kh < p->kernel[1]; ++kh) {
              const int64_t ih = oh * p->strides[1] + kh * p->dilations[1] - p->pads_begin[1];
              if (ih < 0 || ih >= IH) continue;
              for (kw = 0; kw < p->kernel[2]; ++kw) {
                const int64_t iw = ow * p->strides[2] + kw * p->dilations[2] - p->pads_begin[2];
                if (iw >= 0 && iw < IW && xp[(id * IH + ih) * IW + iw] > acc) acc = xp[(id * IH + ih) * IW + iw];
              }
            }
          }
          yp[(od * OH + oh) * OW + ow] = (int8_t)acc;
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
          float acc = -INFINITY;
          int64_t best = -1;
          for (kd = 0; kd < p->kernel[0]; ++kd) {
            const int64_t id = od * p->strides[0] + kd * p->dilations[0] - p->pads_begin[0];
            if (id < 0 || id >= ID) continue;
            for (kh = 0; kh < p->kernel[1]; ++kh) {
              const int64_t ih = oh * p->strides[1] + kh * p->dilations[1] - p->pads_begin[1];
              if (ih < 0 || ih >= IH) continue;
              for (kw = 0; kw < p->kernel[2]; ++kw) {
                const int64_t iw = ow * p->strides[2] + kw * p->dilations[2] - p->pads_begin[2];
                float v;
                if (iw < 0 || iw >= IW) continue;
                v = xp[(id * IH + ih) * IW + iw];
                if (best < 0 || (acc == acc && (v > acc || v != v))) {
                  acc = v;
                  best = col ? id + ID * (ih + IH * iw) : (id * IH + ih) * IW + iw;
                }
              }
            }
          }
          yp[(od * OH + oh) * OW + ow] = best < 0 ? -1 : pl * isz + best;
        }
  }
}
