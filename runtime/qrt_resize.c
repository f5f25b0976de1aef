#include "qrt.h"
/* qrt_resize.c - ONNX Resize / Upsample (see QRT_RESIZE_PARAMS).  The taps
 * of an axis depend only on that axis' output index, so they are
 * recomputed only when that index changes while the output is walked in
 * row-major order.  Coordinates and weights are computed in double, like
 * the ONNX reference, so nearest rounding at exact halves agrees with it. */
#include <math.h>
#include <string.h>

#define QRT_RESIZE_MAX_TAPS 4

typedef struct qrt_resize_taps {
  int64_t idx[QRT_RESIZE_MAX_TAPS];
  double w[QRT_RESIZE_MAX_TAPS];
  int n;
  int outside; /* TF_CROP_AND_RESIZE coordinate outside the input */
} qrt_resize_taps;

/* Keys' cubic convolution weights for taps i-1, i, i+1, i+2 at fraction r
 * (the ONNX reference's formulas). */
QRT_INTERNAL void qrt_cubic_weights(double r, double A, double *c) {
  const double r1 = r + 1.0, s = 1.0 - r, s1 = s + 1.0;
  c[0] = ((A * r1 - 5.0 * A) * r1 + 8.0 * A) * r1 - 4.0 * A;
  c[1] = ((A + 2.0) * r - (A + 3.0)) * r * r + 1.0;
  c[2] = ((A + 2.0) * s - (A + 3.0)) * s * s + 1.0;
  c[3] = ((A * s1 - 5.0 * A) * s1 + 8.0 * A) * s1 - 4.0 * A;
}

QRT_INTERNAL void qrt_resize_axis_taps(const qrt_resize_params *p, int a, int64_t o, double scale, double roi_start,
                                       double roi_end, qrt_resize_taps *t) {
  const int64_t in = p->in_shape[a];
  const double len = scale * (double)in, od = (double)o;
  double c, r, sum;
  int64_t i;
  int k;
  t->n = 0;
  t->outside = 0;
  switch (p->coord) {
  case QRT_RESIZE_PYTORCH_HALF_PIXEL: c = p->out_shape[a] > 1 ? (od + 0.5) / scale - 0.5 : 0.0; break;
  case QRT_RESIZE_ALIGN_CORNERS: c = len == 1.0 ? 0.0 : od * (double)(in - 1) / (len - 1.0); break;
  case QRT_RESIZE_ASYMMETRIC: c = od / scale; break;
  case QRT_RESIZE_TF_HALF_PIXEL_FOR_NN: c = (od + 0.5) / scale; break;
  case QRT_RESIZE_TF_CROP_AND_RESIZE:
    c = len == 1.0 ? 0.5 * (roi_start + roi_end) * (double)(in - 1)
                   : roi_start * (double)(in - 1) + od * (roi_end - roi_start) * (double)(in - 1) / (len - 1.0);
    if (!(c >= 0.0 && c <= (double)(in - 1))) t->outside = 1;
    break;
  default: c = (od + 0.5) / scale - 0.5; break;
  }
  if (t->outside) return;
  /* keep floor() finite and in int64 range: far-out coordinates clamp to
   * the edge anyway */
  if (!(c > -4.0)) c = -4.0;
  if (c > (double)in + 4.0) c = (double)in + 4.0;
  r = floor(c);
  i = (int64_t)r;
  r = c - r;
  if (p->mode == QRT_RESIZE_NEAREST) {
    int up;
    switch (p->nearest) {
    case QRT_RESIZE_ROUND_PREFER_CEIL: up = r >= 0.5; break;
    case QRT_RESIZE_FLOOR: up = 0; break;
    case QRT_RESIZE_CEIL: up = r > 0.0; break;
    default: up = r > 0.5; break;
    }
    t->idx[0] = i + up;
    t->w[0] = 1.0;
    t->n = 1;
  } else if (p->mode == QRT_RESIZE_LINEAR) {
    t->idx[0] = i;
    t->w[0] = 1.0 - r;
    t->idx[1] = i + 1;
    t->w[1] = r;
    t->n = 2;
  } else {
    qrt_cubic_weights(r, (double)p->cubic_a, t->w);
    for (k = 0; k < 4; ++k) t->idx[k] = i - 1 + k;
    t->n = 4;
  }
  if (p->exclude_outside && p->mode != QRT_RESIZE_NEAREST) {
    sum = 0.0;
    for (k = 0; k < t->n; ++k) {
      if (t->idx[k] < 0 || t->idx[k] >= in) t->w[k] = 0.0;
      sum += t->w[k];
    }
    if (sum != 0.0)
      for (k = 0; k < t->n; ++k) t->w[k] /= sum;
  }
  /* clamp (edge padding), then drop zero-weight taps */
  for (k = 0; k < t->n; ++k) t->idx[k] = t->idx[k] < 0 ? 0 : (t->idx[k] >= in ? in - 1 : t->idx[k]);
  {
    int m = 0;
    for (k = 0; k < t->n; ++k)
      if (t->w[k] != 0.0 || t->n == 1) {
        t->idx[m] = t->idx[k];
        t->w[m] = t->w[k];
        ++m;
      }
    if (m == 0) { /* all weights zero (exclude_outside with nothing inside): tap 0 with weight 0 */
      t->w[0] = 0.0;
      m = 1;
    }
    t->n = m;
  }
}

QRT_API void qrt_resize(const void *params, const void *const *in, void *const *out) {
  const qrt_resize_params *p = (const qrt_resize_params *)params;
  const int rank = p->rank < 1 ? 1 : (p->rank > 8 ? 8 : p->rank);
  const float *scales = (const float *)in[1];
  const double *roi = (const double *)in[2];
  const int64_t es = p->dtype == QRT_F64 || p->dtype == QRT_I64 || p->dtype == QRT_U64 ? 8
                   : p->dtype == QRT_F32 || p->dtype == QRT_I32 || p->dtype == QRT_U32 ? 4
                   : p->dtype == QRT_F16 || p->dtype == QRT_I16 || p->dtype == QRT_U16 ? 2 : 1;
  const char *x = (const char *)in[0];
  char *y = (char *)out[0];
  qrt_resize_taps taps[8];
  double scale[8];
  int64_t stride[8], pos[8], total = 1, j;
  int a, k;
  for (a = rank - 1; a >= 0; --a) {
    stride[a] = a == rank - 1 ? 1 : stride[a + 1] * p->in_shape[a + 1];
    total *= p->out_shape[a];
    if (p->in_shape[a] <= 0) return;
    scale[a] = scales ? (double)scales[a] : (double)p->out_shape[a] / (double)p->in_shape[a];
    if (!(scale[a] > 0.0)) scale[a] = 1.0; /* the compiler rejects such scales; stay finite */
    pos[a] = 0;
  }
  if (total <= 0) return;
  for (a = 0; a < rank; ++a) qrt_resize_axis_taps(p, a, 0, scale[a], roi ? roi[a] : 0.0, roi ? roi[rank + a] : 1.0, &taps[a]);
  for (j = 0; j < total; ++j) {
    int outside = 0;
    for (a = 0; a < rank; ++a) outside |= taps[a].outside;
    if (p->mode == QRT_RESIZE_NEAREST && !outside) {
      int64_t off = 0;
      for (a = 0; a < rank; ++a) off += taps[a].idx[0] * stride[a];
      memcpy(y + j * es, x + off * es, (size_t)es);
    } else {
      double acc = 0.0;
      if (outside) {
        acc = (double)p->extrapolation;
      } else {
        int t[8];
        for (a = 0; a < rank; ++a) t[a] = 0;
        for (;;) {
          int64_t off = 0;
          double w = 1.0;
          for (a = 0; a < rank; ++a) {
            off += taps[a].idx[t[a]] * stride[a];
            w *= taps[a].w[t[a]];
          }
          acc += w * (p->dtype == QRT_F64 ? ((const double *)x)[off] : (double)((const float *)x)[off]);
          for (k = rank - 1; k >= 0; --k) {
            if (++t[k] < taps[k].n) break;
            t[k] = 0;
          }
          if (k < 0) break;
        }
      }
      if (p->dtype == QRT_F64) ((double *)y)[j] = acc;
      else if (p->dtype == QRT_F32) ((float *)y)[j] = (float)acc;
      else memset(y + j * es, 0, (size_t)es); /* interpolation of other types: not supported */
    }
    for (a = rank - 1; a >= 0; --a) {
      if (++pos[a] < p->out_shape[a]) {
        qrt_resize_axis_taps(p, a, pos[a], scale[a], roi ? roi[a] : 0.0, roi ? roi[rank + a] : 1.0, &taps[a]);
        break;
      }
      pos[a] = 0;
      qrt_resize_axis_taps(p, a, 0, scale[a], roi ? roi[a] : 0.0, roi ? roi[rank + a] : 1.0, &taps[a]);
    }
  }
}
