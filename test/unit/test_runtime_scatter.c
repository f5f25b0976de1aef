/* test_runtime_scatter.c - qrt_scatter_elements and qrt_scatter_nd: every
 * reduction on float, int32, int8 and uint64 data (integer add/mul wrap),
 * repeated indices applied in update order, negative and out-of-range
 * (dropped) indices, NaN through max/min, against a reference that applies
 * the updates one by one; and in place (out == data, as a KV cache that
 * the caller aliases), which must give the same bytes.  Bit-exact. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

/* The reference combine on doubles / 64-bit integers per dtype. */
static void ref_combine(void *d, const void *u, int dtype, int red) {
  if (red == QRT_SCATTER_NONE) {
    memcpy(d, u, dtype == QRT_F32 || dtype == QRT_I32 ? 4 : dtype == QRT_I8 ? 1 : 8);
    return;
  }
  if (dtype == QRT_F32) {
    float a = *(float *)d, b = *(const float *)u, r;
    if (red == QRT_SCATTER_ADD) r = a + b;
    else if (red == QRT_SCATTER_MUL) r = a * b;
    else if (isnan(a) || isnan(b)) r = NAN;
    else r = red == QRT_SCATTER_MAX ? (a > b ? a : b) : (a < b ? a : b);
    *(float *)d = r;
  } else if (dtype == QRT_I32 || dtype == QRT_I8) {
    int64_t a = dtype == QRT_I32 ? *(int32_t *)d : *(int8_t *)d, b = dtype == QRT_I32 ? *(const int32_t *)u : *(const int8_t *)u, r;
    uint64_t m = dtype == QRT_I32 ? 0xffffffffu : 0xffu, sign = dtype == QRT_I32 ? 0x80000000u : 0x80u;
    if (red == QRT_SCATTER_ADD) r = (int64_t)(((uint64_t)a + (uint64_t)b) & m);
    else if (red == QRT_SCATTER_MUL) r = (int64_t)(((uint64_t)a * (uint64_t)b) & m);
    else r = (int64_t)((uint64_t)(red == QRT_SCATTER_MAX ? (a > b ? a : b) : (a < b ? a : b)) & m);
    if ((uint64_t)r & sign) r -= (int64_t)(m + 1); /* back to signed */
    if (dtype == QRT_I32) *(int32_t *)d = (int32_t)r;
    else *(int8_t *)d = (int8_t)r;
  } else {
    uint64_t a = *(uint64_t *)d, b = *(const uint64_t *)u;
    *(uint64_t *)d = red == QRT_SCATTER_ADD ? a + b : red == QRT_SCATTER_MUL ? a * b
                   : red == QRT_SCATTER_MAX ? (a > b ? a : b) : (a < b ? a : b);
  }
}

static int es_of(int dtype) { return dtype == QRT_F32 || dtype == QRT_I32 ? 4 : dtype == QRT_I8 ? 1 : 8; }

static void fill(uint8_t *v, int64_t n, int dtype) {
  int64_t i;
  for (i = 0; i < n; ++i) {
    if (dtype == QRT_F32) ((float *)v)[i] = (lcg() % 17 == 0) ? NAN : frand(-3.0f, 3.0f);
    else if (dtype == QRT_I32) ((int32_t *)v)[i] = (int32_t)(lcg() ^ 0x5a5a5a5au);
    else if (dtype == QRT_I8) ((int8_t *)v)[i] = (int8_t)(lcg() >> 24);
    else ((uint64_t *)v)[i] = ((uint64_t)lcg() << 32) | lcg();
  }
}

/* data [d0, d1], indices/updates [i0, i1], axis 0 or 1. */
static void run_elements(int dtype, int red, int axis) {
  const int64_t dd[2] = {4, 5}, id[2] = {3, 4};
  const int es = es_of(dtype);
  uint8_t data[20 * 8], upd[12 * 8], y[20 * 8], r[20 * 8];
  int32_t idx[12];
  qrt_scatter_elements_params p;
  const void *in[3];
  void *out[1];
  int64_t a, b;
  char what[96];
  memset(&p, 0, sizeof p);
  p.dtype = dtype; p.index_dtype = QRT_I32; p.reduction = red; p.rank = 2; p.axis = axis;
  p.data_shape[0] = dd[0]; p.data_shape[1] = dd[1]; p.idx_shape[0] = id[0]; p.idx_shape[1] = id[1];
  fill(data, 20, dtype);
  fill(upd, 12, dtype);
  for (a = 0; a < 12; ++a) idx[a] = (int32_t)(lcg() % (uint32_t)(3 * dd[axis])) - (int32_t)dd[axis]; /* repeats, negatives, too large */
  in[0] = data; in[1] = idx; in[2] = upd; out[0] = y;
  qrt_scatter_elements(&p, in, out);
  memcpy(r, data, (size_t)(20 * es));
  for (a = 0; a < id[0]; ++a)
    for (b = 0; b < id[1]; ++b) {
      int64_t ix = idx[a * id[1] + b], pos[2] = {a, b};
      ix += ix < 0 ? dd[axis] : 0;
      if (ix < 0 || ix >= dd[axis]) continue;
      pos[axis] = ix;
      ref_combine(r + (pos[0] * dd[1] + pos[1]) * es, upd + (a * id[1] + b) * es, dtype, red);
    }
  sprintf(what, "scatter_elements dtype %d reduction %d axis %d", dtype, red, axis);
  check(dtype == QRT_F32 ? same_f32_arr((float *)y, (float *)r, 20) : memcmp(y, r, (size_t)(20 * es)) == 0, what);
  in[0] = data; out[0] = data; /* in place */
  qrt_scatter_elements(&p, in, out);
  strcat(what, " in place");
  check(memcmp(data, y, (size_t)(20 * es)) == 0, what);
}

/* data [3, 4, slice 2], tuples of k = 2 (or k = 1 over [3, 8]). */
static void run_nd(int dtype, int red, int k) {
  const int64_t dims[2] = {3, 4}, slice = k == 2 ? 2 : 8, n = 6;
  const int es = es_of(dtype);
  uint8_t data[24 * 8], upd[48 * 8], y[24 * 8], r[24 * 8];
  int64_t idx[12], t, c;
  qrt_scatter_nd_params p;
  const void *in[3];
  void *out[1];
  char what[96];
  memset(&p, 0, sizeof p);
  p.dtype = dtype; p.index_dtype = QRT_I64; p.reduction = red; p.k = k; p.n_tuples = n; p.slice = slice;
  p.idx_dims[0] = dims[0]; p.idx_dims[1] = dims[1];
  fill(data, 24, dtype);
  fill(upd, n * slice, dtype);
  for (t = 0; t < n * k; ++t) idx[t] = (int64_t)(lcg() % (uint32_t)(2 * dims[t % k] + 1)) - dims[t % k];
  in[0] = data; in[1] = idx; in[2] = upd; out[0] = y;
  qrt_scatter_nd(&p, in, out);
  memcpy(r, data, (size_t)(24 * es));
  for (t = 0; t < n; ++t) {
    int64_t off = 0, ok = 1, e;
    for (c = 0; c < k; ++c) {
      int64_t ix = idx[t * k + c];
      ix += ix < 0 ? dims[c] : 0;
      ok &= ix >= 0 && ix < dims[c];
      off = off * dims[c] + ix;
    }
    if (!ok) continue;
    for (e = 0; e < slice; ++e) ref_combine(r + (off * slice + e) * es, upd + (t * slice + e) * es, dtype, red);
  }
  sprintf(what, "scatter_nd dtype %d reduction %d k %d", dtype, red, k);
  check(dtype == QRT_F32 ? same_f32_arr((float *)y, (float *)r, 24) : memcmp(y, r, (size_t)(24 * es)) == 0, what);
  in[0] = data; out[0] = data; /* in place */
  qrt_scatter_nd(&p, in, out);
  strcat(what, " in place");
  check(memcmp(data, y, (size_t)(24 * es)) == 0, what);
}

int main(void) {
  static const int dtypes[4] = {QRT_F32, QRT_I32, QRT_I8, QRT_U64};
  int d, red, rep;
  for (rep = 0; rep < 20; ++rep)
    for (d = 0; d < 4; ++d)
      for (red = QRT_SCATTER_NONE; red <= QRT_SCATTER_MIN; ++red) {
        run_elements(dtypes[d], red, 0);
        run_elements(dtypes[d], red, 1);
        run_nd(dtypes[d], red, 1);
        run_nd(dtypes[d], red, 2);
      }
  return finish();
}
