#include "qrt.h"
/* qrt_scatter.c - indexed writes: ONNX ScatterElements (and the older
 * Scatter) and ScatterND.  out starts as a copy of data; each update then
 * lands on (or is combined with) the element or slice its index names, in
 * row-major order of the updates, so repeated indices have a defined
 * result (the last one wins with reduction NONE).  Out-of-range indices
 * are dropped: the kernels never write outside out. */
#include <string.h>

/* Index j of an int32 or int64 index tensor (a copy of qrt_gather.c's, as
 * either file may be pasted alone). */
QRT_INTERNAL int64_t qrt_scatter_index(const void *idx, int32_t dtype, int64_t j) {
  return dtype == QRT_I32 ? (int64_t)((const int32_t *)idx)[j] : ((const int64_t *)idx)[j];
}

QRT_INTERNAL int64_t qrt_scatter_elem_size(int32_t dtype) {
  switch (dtype) {
  case QRT_F64: case QRT_I64: case QRT_U64: return 8;
  case QRT_F32: case QRT_I32: case QRT_U32: return 4;
  case QRT_F16: case QRT_I16: case QRT_U16: return 2;
  default: return 1;
  }
}

/* d[i] = combine(d[i], u[i]) for i < n, elements of C type T.  Integer
 * ADD/MUL go through the unsigned type UT (at least unsigned int wide, so
 * nothing is promoted to int) so they wrap instead of overflowing. */
#define QRT_SCATTER_INT(T, UT)                                                          \
  for (i = 0; i < n; ++i) {                                                             \
    T a, b;                                                                             \
    memcpy(&a, d + i * (int64_t)sizeof(T), sizeof(T));                                 \
    memcpy(&b, u + i * (int64_t)sizeof(T), sizeof(T));                                  \
    switch (reduction) {                                                                \
    case QRT_SCATTER_ADD: a = (T)(UT)((UT)a + (UT)b); break;                            \
    case QRT_SCATTER_MUL: a = (T)(UT)((UT)a * (UT)b); break;                            \
    case QRT_SCATTER_MAX: a = b > a ? b : a; break;                                     \
    case QRT_SCATTER_MIN: a = b < a ? b : a; break;                                     \
    default: a = b; break;                                                              \
    }                                                                                   \
    memcpy(d + i * (int64_t)sizeof(T), &a, sizeof(T));                                  \
  }                                                                                     \
  return

/* Floats: MAX/MIN propagate NaN (either operand NaN gives NaN). */
#define QRT_SCATTER_FLOAT(T)                                                            \
  for (i = 0; i < n; ++i) {                                                             \
    T a, b;                                                                             \
    memcpy(&a, d + i * (int64_t)sizeof(T), sizeof(T));                                  \
    memcpy(&b, u + i * (int64_t)sizeof(T), sizeof(T));                                  \
    switch (reduction) {                                                                \
    case QRT_SCATTER_ADD: a = a + b; break;                                             \
    case QRT_SCATTER_MUL: a = a * b; break;                                             \
    case QRT_SCATTER_MAX: a = (a != a || b != b) ? a + b : (b > a ? b : a); break;      \
    case QRT_SCATTER_MIN: a = (a != a || b != b) ? a + b : (b < a ? b : a); break;      \
    default: a = b; break;                                                              \
    }                                                                                   \
    memcpy(d + i * (int64_t)sizeof(T), &a, sizeof(T));                                  \
  }                                                                                     \
  return

/* Combines n consecutive elements of u into d. */
QRT_INTERNAL void qrt_scatter_combine(char *d, const char *u, int64_t n, int32_t dtype, int32_t reduction) {
  int64_t i;
  if (reduction == QRT_SCATTER_NONE) {
    memcpy(d, u, (size_t)(n * qrt_scatter_elem_size(dtype)));
    return;
  }
  switch (dtype) {
  case QRT_F32: QRT_SCATTER_FLOAT(float);
  case QRT_F64: QRT_SCATTER_FLOAT(double);
  case QRT_I8: QRT_SCATTER_INT(int8_t, uint32_t);
  case QRT_U8: QRT_SCATTER_INT(uint8_t, uint32_t);
  case QRT_I16: QRT_SCATTER_INT(int16_t, uint32_t);
  case QRT_U16: QRT_SCATTER_INT(uint16_t, uint32_t);
  case QRT_I32: QRT_SCATTER_INT(int32_t, uint32_t);
  case QRT_U32: QRT_SCATTER_INT(uint32_t, uint32_t);
  case QRT_I64: QRT_SCATTER_INT(int64_t, uint64_t);
  case QRT_U64: QRT_SCATTER_INT(uint64_t, uint64_t);
  default: break;
  }
}

QRT_API void qrt_scatter_elements(const void *params, const void *const *in, void *const *out) {
  const qrt_scatter_elements_params *p = (const qrt_scatter_elements_params *)params;
  const int64_t es = qrt_scatter_elem_size(p->dtype);
  const char *upd = (const char *)in[2];
  char *dst = (char *)out[0];
  const int rank = p->rank < 1 ? 1 : (p->rank > 8 ? 8 : p->rank), axis = p->axis;
  int64_t stride[8], pos[8], n_data = 1, total = 1, off = 0, j;
  int k;
  if (axis < 0 || axis >= rank) return;
  for (k = rank - 1; k >= 0; --k) {
    stride[k] = k == rank - 1 ? 1 : stride[k + 1] * p->data_shape[k + 1];
    n_data *= p->data_shape[k];
    total *= p->idx_shape[k];
    pos[k] = 0;
  }
  if (dst != (const char *)in[0]) memmove(dst, in[0], (size_t)(n_data * es));
  for (j = 0; j < total; ++j) {
    int64_t ix = qrt_scatter_index(in[1], p->index_dtype, j);
    if (ix < 0) ix += p->data_shape[axis];
    if (ix >= 0 && ix < p->data_shape[axis])
      qrt_scatter_combine(dst + (off + ix * stride[axis]) * es, upd + j * es, 1, p->dtype, p->reduction);
    for (k = rank - 1; k >= 0; --k) {
      if (k != axis) off += stride[k];
      if (++pos[k] < p->idx_shape[k]) break;
      if (k != axis) off -= stride[k] * p->idx_shape[k];
      pos[k] = 0;
    }
  }
}

QRT_API void qrt_scatter_nd(const void *params, const void *const *in, void *const *out) {
  const qrt_scatter_nd_params *p = (const qrt_scatter_nd_params *)params;
  const int64_t es = qrt_scatter_elem_size(p->dtype), bytes = p->slice * es;
  const int32_t k = p->k < 0 ? 0 : (p->k > 8 ? 8 : p->k);
  const char *upd = (const char *)in[2];
  char *dst = (char *)out[0];
  int64_t n_slices = 1, t;
  int32_t c;
  for (c = 0; c < k; ++c) n_slices *= p->idx_dims[c];
  if (bytes <= 0) return;
  if (dst != (const char *)in[0]) memmove(dst, in[0], (size_t)(n_slices * bytes));
  for (t = 0; t < p->n_tuples; ++t) {
    int64_t off = 0;
    for (c = 0; c < k && off >= 0; ++c) {
      int64_t ix = qrt_scatter_index(in[1], p->index_dtype, t * k + c);
      if (ix < 0) ix += p->idx_dims[c];
      off = (ix < 0 || ix >= p->idx_dims[c]) ? -1 : off * p->idx_dims[c] + ix;
    }
    if (off >= 0) qrt_scatter_combine(dst + off * bytes, upd + t * bytes, p->slice, p->dtype, p->reduction);
  }
}
