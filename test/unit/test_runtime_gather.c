/* test_runtime_gather.c - qrt_gather, qrt_gather_elements and qrt_gather_nd
 * with i32 / i64 indices, negative indices, out-of-range indices
 * (zero-filled elements / slices), several axes and element sizes, against
 * straightforward references.  Bit-exact (byte compare). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

/* in_range: every index in [0, axis_dim) (a permutation or token ids: the
 * kernel's path without per-slice checks); else in range, negative or
 * out of range. */
static void run_case(int64_t outer, int64_t axis_dim, int64_t inner, int64_t nidx, int idx64, int es, int in_range) {
  qrt_gather_params p;
  uint8_t *data, *y, *r;
  int32_t *i32 = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)nidx);
  int64_t *i64 = (int64_t *)xmalloc(sizeof(int64_t) * (size_t)nidx);
  const void *in[2];
  void *out[1];
  int64_t o, j, k, bytes = inner * es;
  char what[80];
  memset(&p, 0, sizeof p);
  p.index_dtype = idx64 ? QRT_I64 : QRT_I32; p.elem_size = es; p.outer = outer;
  p.axis_dim = axis_dim; p.inner = inner; p.n_indices = nidx;
  data = (uint8_t *)xmalloc((size_t)(outer * axis_dim * bytes));
  y = (uint8_t *)xmalloc((size_t)(outer * nidx * bytes));
  r = (uint8_t *)xmalloc((size_t)(outer * nidx * bytes));
  for (k = 0; k < outer * axis_dim * bytes; ++k) data[k] = (uint8_t)(lcg() >> 24);
  for (j = 0; j < nidx; ++j) {
    i64[j] = in_range ? (int64_t)(lcg() % (uint32_t)axis_dim)
                      : (int64_t)(lcg() % (uint32_t)(3 * axis_dim + 2)) - (int64_t)(3 * axis_dim / 2) - 1;
    i32[j] = (int32_t)i64[j];
  }
  in[0] = data; in[1] = idx64 ? (const void *)i64 : (const void *)i32; out[0] = y;
  qrt_gather(&p, in, out);
  for (o = 0; o < outer; ++o)
    for (j = 0; j < nidx; ++j) {
      int64_t ix = i64[j] < 0 ? i64[j] + axis_dim : i64[j];
      uint8_t *dst = r + (o * nidx + j) * bytes;
      if (ix < 0 || ix >= axis_dim) memset(dst, 0, (size_t)bytes);
      else memcpy(dst, data + (o * axis_dim + ix) * bytes, (size_t)bytes);
    }
  sprintf(what, "gather outer %lld axis %lld inner %lld idx64 %d es %d in_range %d", (long long)outer,
          (long long)axis_dim, (long long)inner, idx64, es, in_range);
  check(memcmp(y, r, (size_t)(outer * nidx * bytes)) == 0, what);
  free(data); free(y); free(r); free(i32); free(i64);
}

/* Random index in [-2*dim, 2*dim): in range, negative or out of range. */
static int64_t rand_index(int64_t dim) { return (int64_t)(lcg() % (uint32_t)(4 * dim)) - 2 * dim; }

/* Data 3-D [d0, d1, d2]; indices [i0, i1, i2] with i_k <= d_k off the axis. */
static void run_elements(const int64_t *dd, const int64_t *id, int axis, int idx64, int es) {
  qrt_gather_elements_params p;
  int64_t nd = dd[0] * dd[1] * dd[2], ni = id[0] * id[1] * id[2], a, b, c, j;
  uint8_t *data = (uint8_t *)xmalloc((size_t)(nd * es)), *y = (uint8_t *)xmalloc((size_t)(ni * es)),
          *r = (uint8_t *)xmalloc((size_t)(ni * es));
  int64_t *i64 = (int64_t *)xmalloc(sizeof(int64_t) * (size_t)ni);
  int32_t *i32 = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)ni);
  const void *in[2];
  void *out[1];
  char what[96];
  memset(&p, 0, sizeof p);
  p.index_dtype = idx64 ? QRT_I64 : QRT_I32; p.elem_size = es; p.rank = 3; p.axis = axis;
  for (j = 0; j < 3; ++j) { p.data_shape[j] = dd[j]; p.idx_shape[j] = id[j]; }
  for (j = 0; j < nd * es; ++j) data[j] = (uint8_t)(lcg() >> 24);
  for (j = 0; j < ni; ++j) { i64[j] = rand_index(dd[axis]); i32[j] = (int32_t)i64[j]; }
  in[0] = data; in[1] = idx64 ? (const void *)i64 : (const void *)i32; out[0] = y;
  qrt_gather_elements(&p, in, out);
  for (a = 0, j = 0; a < id[0]; ++a)
    for (b = 0; b < id[1]; ++b)
      for (c = 0; c < id[2]; ++c, ++j) {
        int64_t pos[3] = {a, b, c}, ix = i64[j] < 0 ? i64[j] + dd[axis] : i64[j];
        pos[axis] = ix;
        if (ix < 0 || ix >= dd[axis]) memset(r + j * es, 0, (size_t)es);
        else memcpy(r + j * es, data + ((pos[0] * dd[1] + pos[1]) * dd[2] + pos[2]) * es, (size_t)es);
      }
  sprintf(what, "gather_elements axis %d idx64 %d es %d", axis, idx64, es);
  check(memcmp(y, r, (size_t)(ni * es)) == 0, what);
  free(data); free(y); free(r); free(i64); free(i32);
}

/* GatherND: data [batch, dims[0..k), slice], n tuples per batch. */
static void run_nd(int64_t batch, int k, const int64_t *dims, int64_t slice, int64_t n, int es) {
  qrt_gather_nd_params p;
  int64_t per = 1, bt, t, c, nd, ny;
  uint8_t *data, *y, *r;
  int64_t *idx = (int64_t *)xmalloc(sizeof(int64_t) * (size_t)(batch * n * k));
  const void *in[2];
  void *out[1];
  char what[96];
  for (c = 0; c < k; ++c) per *= dims[c];
  nd = batch * per * slice * es;
  ny = batch * n * slice * es;
  data = (uint8_t *)xmalloc((size_t)nd); y = (uint8_t *)xmalloc((size_t)ny); r = (uint8_t *)xmalloc((size_t)ny);
  memset(&p, 0, sizeof p);
  p.index_dtype = QRT_I64; p.elem_size = es; p.k = k; p.batch = batch; p.n_tuples = n; p.slice = slice;
  for (c = 0; c < k; ++c) p.idx_dims[c] = dims[c];
  for (t = 0; t < nd; ++t) data[t] = (uint8_t)(lcg() >> 24);
  for (t = 0; t < batch * n * k; ++t) idx[t] = rand_index(dims[t % k]);
  in[0] = data; in[1] = idx; out[0] = y;
  qrt_gather_nd(&p, in, out);
  for (bt = 0; bt < batch; ++bt)
    for (t = 0; t < n; ++t) {
      int64_t off = 0, ok = 1;
      for (c = 0; c < k; ++c) {
        int64_t ix = idx[(bt * n + t) * k + c];
        ix += ix < 0 ? dims[c] : 0;
        ok &= ix >= 0 && ix < dims[c];
        off = off * dims[c] + ix;
      }
      if (ok) memcpy(r + (bt * n + t) * slice * es, data + (bt * per + off) * slice * es, (size_t)(slice * es));
      else memset(r + (bt * n + t) * slice * es, 0, (size_t)(slice * es));
    }
  sprintf(what, "gather_nd batch %lld k %d slice %lld es %d", (long long)batch, k, (long long)slice, es);
  check(memcmp(y, r, (size_t)ny) == 0, what);
  free(data); free(y); free(r); free(idx);
}

int main(void) {
  static const int64_t dd[3] = {3, 4, 5}, id_small[3] = {2, 3, 4}, id_long[3] = {3, 4, 9}, nd_dims[3] = {3, 2, 4};
  static const int es[4] = {1, 2, 4, 8};
  int e, i64, in_range;
  for (e = 0; e < 4; ++e)
    for (i64 = 0; i64 < 2; ++i64) {
      for (in_range = 0; in_range < 2; ++in_range) {
        run_case(1, 10, 7, 13, i64, es[e], in_range); /* embedding-style, axis 0 */
        run_case(5, 6, 1, 9, i64, es[e], in_range);   /* last axis */
        run_case(3, 4, 5, 1, i64, es[e], in_range);   /* scalar-like index */
        run_case(48, 48, 1, 48, i64, es[e], in_range); /* AIFS's mask columns */
        run_case(2, 12, 16, 10, i64, es[e], in_range); /* rows of 16..128 bytes (inline row copies) */
      }
      run_elements(dd, id_small, 0, i64, es[e]);
      run_elements(dd, id_small, 1, i64, es[e]);
      run_elements(dd, id_long, 2, i64, es[e]); /* longer than the data on the axis */
    }
  for (e = 0; e < 4; ++e) {
    run_nd(1, 1, nd_dims, 6, 5, es[e]);
    run_nd(2, 2, nd_dims, 3, 4, es[e]);
    run_nd(3, 3, nd_dims, 1, 7, es[e]);
  }
  return finish();
}
