#include "qrt.h"
/* qrt_argreduce.c - ArgMax / ArgMin over the middle axis of
 * [outer, axis_len, inner] -> int64 [outer, inner].
 * Ties: the first index wins, or the last with select_last_index.
 * NaN (float kernels) as numpy/ONNX: a NaN beats every number for both
 * kinds, so the first NaN wins (the last NaN with select_last_index).
 * axis_len 0 writes 0. */

/* 1 if v replaces the current best b. */
#define QRT_ARG_BETTER(v, b, is_max, last)                                            \
  ((b) != (b) ? ((last) && (v) != (v))                                                \
              : ((v) != (v) ? 1                                                       \
                            : ((is_max) ? ((last) ? (v) >= (b) : (v) > (b))           \
                                        : ((last) ? (v) <= (b) : (v) < (b)))))

#define QRT_ARGREDUCE_BODY(T)                                                         \
  const qrt_argreduce_params *p = (const qrt_argreduce_params *)params;               \
  const T *x = (const T *)in[0];                                                      \
  int64_t *y = (int64_t *)out[0];                                                     \
  const int is_max = p->kind == QRT_ARGREDUCE_MAX, last = p->select_last_index != 0;  \
  int64_t o, i, k;                                                                    \
  for (o = 0; o < p->outer; ++o)                                                      \
    for (i = 0; i < p->inner; ++i) {                                                  \
      const T *xp = x + o * p->axis_len * p->inner + i;                               \
      int64_t best_k = 0;                                                             \
      T best;                                                                         \
      if (p->axis_len > 0) {                                                          \
        best = xp[0];                                                                 \
        for (k = 1; k < p->axis_len; ++k) {                                           \
          const T v = xp[k * p->inner];                                               \
          if (QRT_ARG_BETTER(v, best, is_max, last)) {                                \
            best = v;                                                                 \
            best_k = k;                                                               \
          }                                                                           \
        }                                                                             \
      }                                                                               \
      y[o * p->inner + i] = best_k;                                                   \
    }

QRT_API void qrt_argreduce_f32(const void *params, const void *const *in, void *const *out) {
  QRT_ARGREDUCE_BODY(float)
}
QRT_API void qrt_argreduce_f64(const void *params, const void *const *in, void *const *out) {
  QRT_ARGREDUCE_BODY(double)
}
QRT_API void qrt_argreduce_i32(const void *params, const void *const *in, void *const *out) {
  QRT_ARGREDUCE_BODY(int32_t)
}
QRT_API void qrt_argreduce_i64(const void *params, const void *const *in, void *const *out) {
  QRT_ARGREDUCE_BODY(int64_t)
}
