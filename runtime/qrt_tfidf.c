#include "qrt.h"
/* qrt_tfidf.c - ONNX TfIdfVectorizer over an integer pool (see
 * QRT_TFIDF_PARAMS).  Each candidate n-gram is compared with the pool's
 * n-grams of its length by a linear scan: pools are attribute data and
 * small; the kernel keeps no state between calls. */
#include <string.h>

QRT_INTERNAL int64_t qrt_tfidf_x(const void *x, int32_t dtype, int64_t i) {
  return dtype == QRT_I32 ? (int64_t)((const int32_t *)x)[i] : ((const int64_t *)x)[i];
}

QRT_API void qrt_tfidf(const void *params, const void *const *in, void *const *out) {
  const qrt_tfidf_params *p = (const qrt_tfidf_params *)params;
  const int64_t *pool = (const int64_t *)in[1], *counts = (const int64_t *)in[2], *indexes = (const int64_t *)in[3];
  const float *weights = (const float *)in[4];
  float *y = (float *)out[0];
  int64_t r, i, g, k, t;
  int d, n;
  if (p->rows <= 0 || p->out_size <= 0) return;
  memset(y, 0, sizeof(float) * (size_t)(p->rows * p->out_size));
  for (r = 0; r < p->rows; ++r) {
    float *yr = y + r * p->out_size;
    int start_n = p->min_n;
    for (d = 1; d <= p->max_skip + 1; ++d) {
      for (i = 0; i < p->cols; ++i)
        for (n = start_n < 1 ? 1 : start_n; n <= p->max_n; ++n) {
          int64_t first, last, len;
          if (i + (int64_t)(n - 1) * d >= p->cols) break;
          if (n > p->n_counts) break;
          /* the pool's n-grams of length n: [first, last), n tokens each,
           * numbered from gram index g0 */
          first = counts[n - 1];
          last = n < p->n_counts ? counts[n] : p->pool_size;
          if (first < 0 || last > p->pool_size || first > last) continue;
          len = (last - first) / n;
          {
            int64_t g0 = 0, m;
            for (m = 1; m < n; ++m) {
              int64_t f = counts[m - 1], l = m < p->n_counts ? counts[m] : p->pool_size;
              g0 += l > f ? (l - f) / m : 0;
            }
            for (g = 0; g < len; ++g) {
              for (k = 0; k < n; ++k)
                if (pool[first + g * n + k] != qrt_tfidf_x(in[0], p->x_dtype, r * p->cols + i + k * d)) break;
              if (k == n && g0 + g < p->n_grams) {
                t = indexes[g0 + g];
                if (t >= 0 && t < p->out_size) yr[t] += 1.0f;
              }
            }
          }
        }
      /* unigrams do not depend on the skip distance: count them once */
      if (start_n <= 1) {
        start_n = 2;
        if (start_n > p->max_n) break;
      }
    }
    for (t = 0; t < p->out_size; ++t) {
      const float w = weights ? weights[t] : 1.0f;
      if (p->mode == QRT_TFIDF_IDF) yr[t] = yr[t] > 0.0f ? w : 0.0f;
      else if (p->mode == QRT_TFIDF_TFIDF) yr[t] = yr[t] * w;
    }
  }
}
