#include "qrt.h"
/* qrt_dft.c - ONNX DFT as direct sums (see QRT_DFT_PARAMS).  Direct sums
 * rather than an FFT: any length, a fixed summation order, and DFT is rare
 * in inference graphs. */
#include <math.h>

QRT_API void qrt_dft(const void *params, const void *const *in, void *const *out) {
  const qrt_dft_params *p = (const qrt_dft_params *)params;
  const float *x = (const float *)in[0];
  float *y = (float *)out[0];
  const double two_pi = 6.283185307179586476925286766559;
  const int64_t c = p->complex_in == 2 ? 2 : 1, m = p->n < p->length ? p->n : p->length;
  const double sign = p->inverse ? 1.0 : -1.0, scale = p->inverse ? 1.0 / (double)p->length : 1.0;
  int64_t o, k, i, t;
  if (p->length <= 0) return;
  for (o = 0; o < p->outer; ++o)
    for (k = 0; k < p->bins; ++k)
      for (i = 0; i < p->inner; ++i) {
        double re = 0.0, im = 0.0;
        for (t = 0; t < m; ++t) {
          /* (k t) mod length keeps the angle exact for large k t */
          const int64_t kt = (int64_t)(((uint64_t)k * (uint64_t)t) % (uint64_t)p->length);
          const double a = sign * two_pi * (double)kt / (double)p->length, ca = cos(a), sa = sin(a);
          const float *xp = x + ((o * p->n + t) * p->inner + i) * c;
          const double xr = (double)xp[0], xi = c == 2 ? (double)xp[1] : 0.0;
          re += xr * ca - xi * sa;
          im += xr * sa + xi * ca;
        }
        y[((o * p->bins + k) * p->inner + i) * 2] = (float)(re * scale);
        y[((o * p->bins + k) * p->inner + i) * 2 + 1] = (float)(im * scale);
      }
}
