#include "qrt.h"
/* qrt_concat.c - concatenation: for each of `outer` rows, the rows of
 * in[0..n_inputs) (inner_sizes[i] elements each) one after another. */
#include <string.h>

QRT_API void qrt_concat(const void *params, const void *const *in, void *const *out) {
  const qrt_concat_params *p = (const qrt_concat_params *)params;
  const int64_t es = p->elem_size;
  const int ni = p->n_inputs < 0 ? 0
                 : (p->n_inputs > QRT_CONCAT_MAX_INPUTS ? QRT_CONCAT_MAX_INPUTS : p->n_inputs);
  char *dst = (char *)out[0];
  int64_t o;
  int i;
  for (o = 0; o < p->outer; ++o)
    for (i = 0; i < ni; ++i) {
      const int64_t bytes = p->inner_sizes[i] * es;
      if (bytes > 0) {
        memcpy(dst, (const char *)in[i] + o * bytes, (size_t)bytes);
        dst += bytes;
      }
    }
}
