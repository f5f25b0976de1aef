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

QRT_API void qrt_scatter_elements_walk(int32_t rank, int32_t axis, const int64_t *data_shape,
                                       const int64_t *idx_shape, const void *idx, int32_t index_dtype,
                                       qrt_scatter_sink sink, void *ctx) {
  int64_t stride[8], pos[8], total = 1, off = 0, j;
  int k;
  rank = rank < 1 ? 1 : (rank > 8 ? 8 : rank);
  if (axis < 0 || axis >= rank) return;
  for (k = rank - 1; k >= 0; --k) {
    stride[k] = k == rank - 1 ? 1 : stride[k + 1] * data_shape[k + 1];
    total *= idx_shape[k];
    pos[k] = 0;
  }
  for (j = 0; j < total; ++j) {
    int64_t ix = qrt_scatter_index(idx, index_dtype, j);
    if (ix < 0) ix += data_shape[axis];
    if (ix >= 0 && ix < data_shape[axis]) sink(ctx, off + ix * stride[axis], j, 1);
    for (k = rank - 1; k >= 0; --k) {
      if (k != axis) off += stride[k];
      if (++pos[k] < idx_shape[k]) break;
      if (k != axis) off -= stride[k] * idx_shape[k];
      pos[k] = 0;
    }
  }
}

QRT_API void qrt_scatter_nd_walk(int32_t k, const int64_t *idx_dims, int64_t n_tuples, int64_t slice,
                                 const void *idx, int32_t index_dtype, qrt_scatter_sink sink, void *ctx) {
  int64_t t;
  int32_t c;
  k = k < 0 ? 0 : (k > 8 ? 8 : k);
  for (t = 0; t < n_tuples; ++t) {
    int64_t off = 0;
    for (c = 0; c < k && off >= 0; ++c) {
      int64_t ix = qrt_scatter_index(idx, index_dtype, t * k + c);
      if (ix < 0) ix += idx_dims[c];
      off = (ix < 0 || ix >= idx_dims[c]) ? -1 : off * idx_dims[c] + ix;
    }
    if (off >= 0) sink(ctx, off * slice, t * slice, slice);
  }
}

/* The float (and integer) scatters: combine into dst. */
typedef struct qrt_scatter_ctx {
  char *dst;
  const char *upd;
  int64_t es;
  int32_t dtype, reduction;
} qrt_scatter_ctx;

QRT_INTERNAL void qrt_scatter_combine_sink(void *ctx, int64_t target, int64_t update, int64_t n) {
  const qrt_scatter_ctx *c = (const qrt_scatter_ctx *)ctx;
  qrt_scatter_combine(c->dst + target * c->es, c->upd + update * c->es, n, c->dtype, c->reduction);
}

QRT_API void qrt_scatter_elements(const void *params, const void *const *in, void *const *out) {
  const qrt_scatter_elements_params *p = (const qrt_scatter_elements_params *)params;
  qrt_scatter_ctx c;
  int64_t n_data = 1;
  int k;
  for (k = 0; k < p->rank && k < 8; ++k) n_data *= p->data_shape[k];
  c.dst = (char *)out[0];
  c.upd = (const char *)in[2];
  c.es = qrt_scatter_elem_size(p->dtype);
  c.dtype = p->dtype;
  c.reduction = p->reduction;
  if (c.dst != (const char *)in[0]) memmove(c.dst, in[0], (size_t)(n_data * c.es));
  qrt_scatter_elements_walk(p->rank, p->axis, p->data_shape, p->idx_shape, in[1], p->index_dtype,
                            qrt_scatter_combine_sink, &c);
}

QRT_API void qrt_scatter_nd(const void *params, const void *const *in, void *const *out) {
  const qrt_scatter_nd_params *p = (const qrt_scatter_nd_params *)params;
  qrt_scatter_ctx c;
  int64_t n_slices = 1;
  int32_t d;
  for (d = 0; d < p->k && d < 8; ++d) n_slices *= p->idx_dims[d];
  c.dst = (char *)out[0];
  c.upd = (const char *)in[2];
  c.es = qrt_scatter_elem_size(p->dtype);
  c.dtype = p->dtype;
  c.reduction = p->reduction;
  if (p->slice <= 0) return;
  if (c.dst != (const char *)in[0]) memmove(c.dst, in[0], (size_t)(n_slices * p->slice * c.es));
  qrt_scatter_nd_walk(p->k, p->idx_dims, p->n_tuples, p->slice, in[1], p->index_dtype, qrt_scatter_combine_sink,
                      &c);
}
