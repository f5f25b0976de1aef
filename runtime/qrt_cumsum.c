#include "qrt.h"
/* qrt_cumsum.c - ONNX CumSum with the axis read at run time (see
 * QRT_CUMSUM_PARAMS).  Each (outer, inner) line is scanned sequentially,
 * so the float sums have a fixed order. */
#include <string.h>

#define QRT_CUMSUM_LINE(T, ADD)                                                         \
  do {                                                                                  \
    const T *xs = (const T *)x;                                                         \
    T *ys = (T *)y;                                                                     \
    for (o = 0; o < outer; ++o)                                                         \
      for (i = 0; i < inner; ++i) {                                                     \
        T acc = (T)0;                                                                   \
        for (t = 0; t < len; ++t) {                                                     \
          const int64_t j = p->reverse ? len - 1 - t : t;                               \
          const int64_t at = (o * len + j) * inner + i;                                 \
          if (p->exclusive) {                                                           \
            ys[at] = acc;                                                               \
            acc = ADD(acc, xs[at]);                                                     \
          } else {                                                                      \
            acc = ADD(acc, xs[at]);                                                     \
            ys[at] = acc;                                                               \
          }                                                                             \
        }                                                                               \
      }                                                                                 \
  } while (0)

#define QRT_CUMSUM_FADD(a, b) ((a) + (b))
#define QRT_CUMSUM_I32ADD(a, b) ((int32_t)((uint32_t)(a) + (uint32_t)(b)))
#define QRT_CUMSUM_I64ADD(a, b) ((int64_t)((uint64_t)(a) + (uint64_t)(b)))

QRT_API void qrt_cumsum(const void *params, const void *const *in, void *const *out) {
  const qrt_cumsum_params *p = (const qrt_cumsum_params *)params;
  const void *x = in[0];
  void *y = out[0];
  const int rank = p->rank < 0 ? 0 : (p->rank > 8 ? 8 : p->rank);
  const int64_t es = p->dtype == QRT_F64 || p->dtype == QRT_I64 || p->dtype == QRT_U64 ? 8 : 4;
  int64_t axis = p->axis_dtype == QRT_I32 ? (int64_t)((const int32_t *)in[1])[0] : ((const int64_t *)in[1])[0];
  int64_t outer = 1, len = 1, inner = 1, total = 1, o, i, t;
  int k;
  for (k = 0; k < rank; ++k) total *= p->shape[k];
  if (total <= 0) return;
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= (rank ? rank : 1)) {
    memset(y, 0, (size_t)(total * es));
    return;
  }
  for (k = 0; k < rank; ++k) {
    if (k < axis) outer *= p->shape[k];
    else if (k == axis) len = p->shape[k];
    else inner *= p->shape[k];
  }
  switch (p->dtype) {
  case QRT_F32: QRT_CUMSUM_LINE(float, QRT_CUMSUM_FADD); break;
  case QRT_F64: QRT_CUMSUM_LINE(double, QRT_CUMSUM_FADD); break;
  case QRT_I32: QRT_CUMSUM_LINE(int32_t, QRT_CUMSUM_I32ADD); break;
  case QRT_U32: QRT_CUMSUM_LINE(uint32_t, QRT_CUMSUM_FADD); break;
  case QRT_I64: QRT_CUMSUM_LINE(int64_t, QRT_CUMSUM_I64ADD); break;
  case QRT_U64: QRT_CUMSUM_LINE(uint64_t, QRT_CUMSUM_FADD); break;
  default: memset(y, 0, (size_t)(total * es)); break;
  }
}
