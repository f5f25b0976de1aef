#include "qrt.h"
/* qrt_pad.c - Pad (constant / reflect / edge / wrap), rank <= 8, negative
 * pads crop.  Output row by row: the outer dims map to a source row (or to
 * the constant), the inner dim is left part, memcpy'd middle, right part. */
#include <string.h>

/* Source index of output index o - pb along a dim of n elements, or -1
 * for the constant. */
QRT_INTERNAL int64_t qrt_pad_map(int64_t s, int64_t n, int32_t mode) {
  if (s >= 0 && s < n) return s;
  if (n <= 0) return -1;
  switch (mode) {
  case QRT_PAD_EDGE: return s < 0 ? 0 : n - 1;
  case QRT_PAD_WRAP: {
    const int64_t m = s % n;
    return m < 0 ? m + n : m;
  }
  case QRT_PAD_REFLECT: {
    int64_t period, m;
    if (n == 1) return 0;
    period = 2 * (n - 1);
    m = s % period;
    if (m < 0) m += period;
    return m >= n ? period - m : m;
  }
  default: return -1;
  }
}

QRT_API void qrt_pad(const void *params, const void *const *in, void *const *out) {
  const qrt_pad_params *p = (const qrt_pad_params *)params;
  const int64_t es = p->elem_size;
  const int rank = p->rank < 1 ? 1 : (p->rank > 8 ? 8 : p->rank);
  const char *src = (const char *)in[0];
  char *dst = (char *)out[0];
  unsigned char val[8];
  int64_t oshape[8], istr[8], idx[8];
  int64_t total = 1, n, nin, pb, rows, row, j, k;
  const uint64_t bits = (uint64_t)p->value_bits;
  if (es <= 0 || es > 8) return;
  {
    const uint8_t v1 = (uint8_t)bits;
    const uint16_t v2 = (uint16_t)bits;
    const uint32_t v4 = (uint32_t)bits;
    switch (es) {
    case 1: memcpy(val, &v1, 1); break;
    case 2: memcpy(val, &v2, 2); break;
    case 4: memcpy(val, &v4, 4); break;
    case 8: memcpy(val, &bits, 8); break;
    default: memset(val, 0, sizeof val); break;
    }
  }
  for (k = rank - 1; k >= 0; --k) {
    oshape[k] = p->in_shape[k] + p->pads_begin[k] + p->pads_end[k];
    istr[k] = k == rank - 1 ? 1 : istr[k + 1] * p->in_shape[k + 1];
    total *= oshape[k] < 0 ? 0 : oshape[k];
    idx[k] = 0;
  }
  if (total <= 0) return;
  n = oshape[rank - 1];
  nin = p->in_shape[rank - 1];
  pb = p->pads_begin[rank - 1];
  rows = total / n;
  for (row = 0; row < rows; ++row, dst += n * es) {
    int64_t base = 0, lo, hi;
    int fill = 0;
    for (k = 0; k < rank - 1; ++k) {
      const int64_t s = qrt_pad_map(idx[k] - p->pads_begin[k], p->in_shape[k], p->mode);
      if (s < 0) { fill = 1; break; }
      base += s * istr[k];
    }
    if (fill) {
      for (j = 0; j < n; ++j) memcpy(dst + j * es, val, (size_t)es);
    } else {
      const char *srow = src + base * es;
      /* output j reads source j - pb; the in-range part is [lo, hi) */
      lo = pb > 0 ? pb : 0;
      hi = nin + pb < n ? nin + pb : n;
      if (lo > n) lo = n;
      if (hi < lo) hi = lo;
      for (j = 0; j < lo; ++j) {
        const int64_t s = qrt_pad_map(j - pb, nin, p->mode);
        memcpy(dst + j * es, s < 0 ? (const char *)val : srow + s * es, (size_t)es);
      }
      if (hi > lo) memcpy(dst + lo * es, srow + (lo - pb) * es, (size_t)((hi - lo) * es));
      for (j = hi; j < n; ++j) {
        const int64_t s = qrt_pad_map(j - pb, nin, p->mode);
        memcpy(dst + j * es, s < 0 ? (const char *)val : srow + s * es, (size_t)es);
      }
    }
    for (k = rank - 2; k >= 0; --k) {
      if (++idx[k] < oshape[k]) break;
      idx[k] = 0;
    }
  }
}
