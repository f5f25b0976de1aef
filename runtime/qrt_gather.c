#include "qrt.h"
/* qrt_gather.c - ONNX Gather: out[o, j, :] = data[o, idx[j], :], with
 * negative indices counted from the end and indices still out of range
 * giving a zero-filled slice (never an out-of-bounds read). */
#include <string.h>

QRT_API void qrt_gather(const void *params, const void *const *in, void *const *out) {
  const qrt_gather_params *p = (const qrt_gather_params *)params;
  const char *data = (const char *)in[0];
  const int64_t bytes = p->inner * p->elem_size;
  char *dst = (char *)out[0];
  int64_t o, j;
  if (bytes <= 0) return;
  for (o = 0; o < p->outer; ++o)
    for (j = 0; j < p->n_indices; ++j, dst += bytes) {
      int64_t ix = p->index_dtype == QRT_I32 ? (int64_t)((const int32_t *)in[1])[j]
                                             : ((const int64_t *)in[1])[j];
      if (ix < 0) ix += p->axis_dim;
      if (ix < 0 || ix >= p->axis_dim) memset(dst, 0, (size_t)bytes);
      else memcpy(dst, data + (o * p->axis_dim + ix) * bytes, (size_t)bytes);
    }
}
