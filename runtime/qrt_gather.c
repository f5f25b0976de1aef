#include "qrt.h"
/* qrt_gather.c - indexed reads: ONNX Gather, GatherElements and GatherND.
 * Gather: out[o, j, :] = data[o, idx[j], :], with
 * negative indices counted from the end and indices still out of range
 * giving a zero-filled slice (never an out-of-bounds read). */
#include <string.h>

/* Index j of an int32 or int64 index tensor. */
QRT_INTERNAL int64_t qrt_index_at(const void *idx, int32_t dtype, int64_t j) {
  return dtype == QRT_I32 ? (int64_t)((const int32_t *)idx)[j] : ((const int64_t *)idx)[j];
}

/* One slice of `bytes` bytes.  Slices of one element (a gather along the
 * last axis: the columns of AIFS's permuted mask, token ids, modalities)
 * are copied with a constant-size memcpy, which compiles to one load and
 * one store instead of a library call per element. */
static void qrt_gather_slice(char *dst, const char *src, int64_t bytes) {
  switch (bytes) {
  case 1: *dst = *src; break;
  case 2: memcpy(dst, src, 2); break;
  case 4: memcpy(dst, src, 4); break;
  case 8: memcpy(dst, src, 8); break;
  default: memcpy(dst, src, (size_t)bytes); break;
  }
}

QRT_API void qrt_gather(const void *params, const void *const *in, void *const *out) {
  const qrt_gather_params *p = (const qrt_gather_params *)params;
  const char *data = (const char *)in[0];
  const int64_t bytes = p->inner * p->elem_size;
  char *dst = (char *)out[0];
  int64_t o, j;
  if (bytes <= 0) return;
  /* int64 indices all in [0, axis_dim) (AIFS's permutations, token ids):
   * one check for the whole index tensor instead of one per slice. */
  if (p->index_dtype != QRT_I32) {
    const int64_t *idx = (const int64_t *)in[1];
    for (j = 0; j < p->n_indices && idx[j] >= 0 && idx[j] < p->axis_dim; ++j) continue;
    if (j == p->n_indices) {
      /* one loop per element size: a switch per element is not hoisted
       * at -O2, and the columns of AIFS's mask are T * T elements */
      if (bytes % 32 == 0 && bytes <= 1024) {
        /* rows of a few hundred bytes (AIFS's gathers of the inputs, the
         * position table and the logits): 32-byte moves inline instead of
         * a library call per row */
        for (o = 0; o < p->outer; ++o) {
          const char *base = data + o * p->axis_dim * bytes;
          for (j = 0; j < p->n_indices; ++j, dst += bytes) {
            const char *src = base + idx[j] * bytes;
            int64_t b;
            for (b = 0; b < bytes; b += 32) memcpy(dst + b, src + b, 32);
          }
        }
        return;
      }
      if (bytes == 4 || bytes == 8) {
        for (o = 0; o < p->outer; ++o) {
          const char *base = data + o * p->axis_dim * bytes;
          if (bytes == 4)
            for (j = 0; j < p->n_indices; ++j) memcpy(dst + j * 4, base + idx[j] * 4, 4);
          else
            for (j = 0; j < p->n_indices; ++j) memcpy(dst + j * 8, base + idx[j] * 8, 8);
          dst += p->n_indices * bytes;
        }
        return;
      }
      for (o = 0; o < p->outer; ++o) {
        const char *base = data + o * p->axis_dim * bytes;
        for (j = 0; j < p->n_indices; ++j, dst += bytes) qrt_gather_slice(dst, base + idx[j] * bytes, bytes);
      }
      return;
    }
  }
  for (o = 0; o < p->outer; ++o)
    for (j = 0; j < p->n_indices; ++j, dst += bytes) {
      int64_t ix = p->index_dtype == QRT_I32 ? (int64_t)((const int32_t *)in[1])[j]
                                             : ((const int64_t *)in[1])[j];
      if (ix < 0) ix += p->axis_dim;
      if (ix < 0 || ix >= p->axis_dim) memset(dst, 0, (size_t)bytes);
      else qrt_gather_slice(dst, data + (o * p->axis_dim + ix) * bytes, bytes);
    }
}

QRT_API void qrt_gather_elements(const void *params, const void *const *in, void *const *out) {
  const qrt_gather_elements_params *p = (const qrt_gather_elements_params *)params;
  const char *data = (const char *)in[0];
  char *dst = (char *)out[0];
  const int64_t es = p->elem_size;
  const int rank = p->rank < 1 ? 1 : (p->rank > 8 ? 8 : p->rank), axis = p->axis;
  int64_t stride[8], pos[8], total = 1, off = 0, j;
  int k;
  if (axis < 0 || axis >= rank) return;
  for (k = rank - 1; k >= 0; --k) {
    stride[k] = k == rank - 1 ? 1 : stride[k + 1] * p->data_shape[k + 1];
    total *= p->idx_shape[k];
    pos[k] = 0;
  }
  /* off: the data offset of pos without the axis component. */
  for (j = 0; j < total; ++j, dst += es) {
    int64_t ix = qrt_index_at(in[1], p->index_dtype, j);
    if (ix < 0) ix += p->data_shape[axis];
    if (ix < 0 || ix >= p->data_shape[axis]) memset(dst, 0, (size_t)es);
    else memcpy(dst, data + (off + ix * stride[axis]) * es, (size_t)es);
    for (k = rank - 1; k >= 0; --k) {
      if (k != axis) off += stride[k];
      if (++pos[k] < p->idx_shape[k]) break;
      if (k != axis) off -= stride[k] * p->idx_shape[k];
      pos[k] = 0;
    }
  }
}

/* Offset (in slices) of index tuple t, or -1 when out of range. */
QRT_INTERNAL int64_t qrt_tuple_offset(const void *idx, int32_t dtype, int64_t t, int32_t k, const int64_t *dims) {
  int64_t off = 0;
  int32_t c;
  for (c = 0; c < k; ++c) {
    int64_t ix = qrt_index_at(idx, dtype, t * k + c);
    if (ix < 0) ix += dims[c];
    if (ix < 0 || ix >= dims[c]) return -1;
    off = off * dims[c] + ix;
  }
  return off;
}

QRT_API void qrt_gather_nd(const void *params, const void *const *in, void *const *out) {
  const qrt_gather_nd_params *p = (const qrt_gather_nd_params *)params;
  const char *data = (const char *)in[0];
  char *dst = (char *)out[0];
  const int64_t bytes = p->slice * p->elem_size;
  const int32_t k = p->k < 0 ? 0 : (p->k > 8 ? 8 : p->k);
  int64_t per_batch = 1, b, t;
  int32_t c;
  if (bytes <= 0) return;
  for (c = 0; c < k; ++c) per_batch *= p->idx_dims[c];
  for (b = 0; b < p->batch; ++b)
    for (t = 0; t < p->n_tuples; ++t, dst += bytes) {
      const int64_t off = qrt_tuple_offset(in[1], p->index_dtype, b * p->n_tuples + t, k, p->idx_dims);
      if (off < 0) memset(dst, 0, (size_t)bytes);
      else memcpy(dst, data + (b * per_batch + off) * bytes, (size_t)bytes);
    }
}
