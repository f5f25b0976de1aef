#include "qrt.h"
/* qrt_det.c - ONNX Det by LU decomposition with partial pivoting in
 * double (see QRT_DET_PARAMS). */
#include <math.h>

QRT_API int64_t qrt_det_scratch(const qrt_det_params *p) { return p->m * p->m * (int64_t)sizeof(double); }

QRT_API void qrt_det(const void *params, const void *const *in, void *const *out) {
  const qrt_det_params *p = (const qrt_det_params *)params;
  double *a = (double *)(void *)in[1];
  const int64_t m = p->m;
  int64_t b, i, j, k;
  if (!a && m > 0) return; /* the compiler always provides the scratch */
  for (b = 0; b < p->batch; ++b) {
    double det = 1.0;
    for (i = 0; i < m * m; ++i)
      a[i] = p->dtype == QRT_F64 ? ((const double *)in[0])[b * m * m + i] : (double)((const float *)in[0])[b * m * m + i];
    for (k = 0; k < m && det != 0.0; ++k) {
      int64_t piv = k;
      for (i = k + 1; i < m; ++i)
        if (fabs(a[i * m + k]) > fabs(a[piv * m + k])) piv = i;
      if (a[piv * m + k] == 0.0) {
        det = 0.0;
        break;
      }
      if (piv != k) {
        for (j = 0; j < m; ++j) {
          const double t = a[k * m + j];
          a[k * m + j] = a[piv * m + j];
          a[piv * m + j] = t;
        }
        det = -det;
      }
      det *= a[k * m + k];
      for (i = k + 1; i < m; ++i) {
        const double f = a[i * m + k] / a[k * m + k];
        for (j = k; j < m; ++j) a[i * m + j] -= f * a[k * m + j];
      }
    }
    if (p->dtype == QRT_F64) ((double *)out[0])[b] = det;
    else ((float *)out[0])[b] = (float)det;
  }
}
