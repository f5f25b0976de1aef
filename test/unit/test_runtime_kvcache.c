/* test_runtime_kvcache.c - the KV cache in int8 / int4 rows (qrt_kvcache.c,
 * QRT_KV_PARAMS in qrt.h):
 *   - layout: int8 rows are a float scale and int8 codes, int4 rows a
 *     float scale, a float minimum and 4-bit codes (two per byte, the even
 *     element low), read here independently of the kernel;
 *   - encoding: int8 s = max|x| / 127, int4 s = (max - min) / 15; every
 *     element within s/2 (+ float rounding) of x; the extremes get the end
 *     codes; zero rows zero bytes; NaN / infinity rows NaN;
 *   - kv_store (elements and nd) equals a float scatter into the decoded
 *     cache followed by the encoding of every row it wrote, for whole-row
 *     writes (a KV cache's); rows not written keep their bytes; partial
 *     rows and repeated rows follow the same decode-write-encode rule;
 *   - in place (out == in) gives the same bytes as out of place. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static float row_scale(const uint8_t *row) {
  float s;
  memcpy(&s, row, sizeof s);
  return s;
}

/* Code k of a packed row and the int4 row's minimum, read from the
 * documented layout. */
static int row_code(int bits, const uint8_t *row, int64_t k) {
  if (bits == 8) return (int8_t)row[sizeof(float) + k];
  return (row[2 * sizeof(float) + k / 2] >> (4 * (k & 1))) & 15;
}

static float row_min(const uint8_t *row) {
  float lo;
  memcpy(&lo, row + sizeof lo, sizeof lo);
  return lo;
}

static void set_params(qrt_kv_params *p, int bits, int64_t rows, int64_t len) {
  memset(p, 0, sizeof *p);
  p->bits = bits;
  p->rows = rows;
  p->row_len = len;
  p->index_dtype = QRT_I64;
}

/* Encodes x [rows, len] by storing every row whole (scatter_nd, k = 1). */
static void encode_all(int bits, int64_t rows, int64_t len, const float *x, uint8_t *packed) {
  qrt_kv_params p;
  int64_t *idx = xmalloc(sizeof(int64_t) * (size_t)rows), r;
  float *scratch = xmalloc(sizeof(float) * (size_t)len);
  const void *in[4];
  void *out[1];
  set_params(&p, bits, rows, len);
  p.k = 1;
  p.n_tuples = rows;
  p.slice = len;
  p.idx_dims[0] = rows;
  for (r = 0; r < rows; ++r) idx[r] = r;
  memset(packed, 0, (size_t)(rows * qrt_kv_row_bytes(bits, len)));
  in[0] = packed, in[1] = idx, in[2] = x, in[3] = scratch, out[0] = packed;
  qrt_kv_store_nd(&p, in, out);
  free(idx);
  free(scratch);
}

static void decode_all(int bits, int64_t rows, int64_t len, const uint8_t *packed, float *x) {
  qrt_kv_params p;
  const void *in[1];
  void *out[1];
  set_params(&p, bits, rows, len);
  in[0] = packed, out[0] = x;
  qrt_kv_load(&p, in, out);
}

static void test_encoding(int bits, int64_t len) {
  const int64_t rows = 6, rb = qrt_kv_row_bytes(bits, len);
  const int qmax = 127;
  float *x = xmalloc(sizeof(float) * (size_t)(rows * len)), *y = xmalloc(sizeof(float) * (size_t)(rows * len));
  uint8_t *pk = xmalloc((size_t)(rows * rb));
  int64_t r, k;
  char what[128];
  fill_f32(x, rows * len, -2.0f, 2.0f);
  x[1 * len + len / 2] = 40.0f;                                /* an outlier row */
  for (k = 0; k < len; ++k) x[2 * len + k] = 0.0f;             /* a zero row */
  x[3 * len] = NAN;                                            /* NaN row */
  x[4 * len + len - 1] = -INFINITY;                            /* infinite row */
  for (k = 0; k < len; ++k) x[5 * len + k] = k % 2 ? 1e-30f : -3e-31f; /* tiny values */
  encode_all(bits, rows, len, x, pk);
  decode_all(bits, rows, len, pk, y);
  check(rb == (bits == 8 ? 4 + len : 8 + (len + 1) / 2), "row bytes");
  for (r = 0; r < rows; ++r) {
    const uint8_t *row = pk + r * rb;
    const float s = row_scale(row);
    float amax = 0.0f;
    int ok = 1, finite = 1;
    for (k = 0; k < len; ++k) {
      float a = fabsf(x[r * len + k]);
      if (!(a <= 3.4e38f)) finite = 0;
      else if (a > amax) amax = a;
    }
    if (!finite) {
      for (k = 0; k < len; ++k) ok &= isnan(y[r * len + k]);
      sprintf(what, "int%d len %lld row %lld: NaN / infinity gives a NaN row", bits, (long long)len, (long long)r);
      check(isnan(s) && ok, what);
      continue;
    }
    {
      float lo = x[r * len], hi = x[r * len];
      for (k = 0; k < len; ++k) {
        lo = x[r * len + k] < lo ? x[r * len + k] : lo;
        hi = x[r * len + k] > hi ? x[r * len + k] : hi;
      }
      if (bits == 8) ok &= s == amax / 127.0f;
      else ok &= s == (hi - lo) / 15.0f && row_min(row) == lo;
      for (k = 0; k < len; ++k) {
        const int c = row_code(bits, row, k);
        const float v = x[r * len + k], dec = bits == 8 ? (float)c * s : lo + (float)c * s;
        ok &= bits == 8 ? c >= -qmax && c <= qmax : c >= 0 && c <= 15;
        ok &= y[r * len + k] == dec; /* decode follows the layout exactly */
        ok &= fabsf(v - y[r * len + k]) <= 0.5f * s * 1.0001f + 1e-6f * amax + 1e-37f; /* half a step */
        if (bits == 8 && fabsf(v) == amax && amax > 0) ok &= c == (v > 0 ? qmax : -qmax);
        if (bits == 4 && hi > lo) ok &= v == lo ? c == 0 : v == hi ? c == 15 : 1;
      }
      if (bits == 4 && (len & 1)) ok &= (row[rb - 1] >> 4) == 0; /* the pad nibble stays zero */
      if (amax == 0.0f) {
        for (k = 0; k < rb; ++k) ok &= row[k] == 0; /* zero row: zero bytes */
      }
    }
    sprintf(what, "int%d len %lld row %lld: scale, codes and error bound", bits, (long long)len, (long long)r);
    check(ok, what);
  }
  free(x);
  free(y);
  free(pk);
}

/* Reference for a store: decode the whole cache, apply the float scatter,
 * re-encode the rows it wrote (whole-row writes). */
static void test_store_elements(int bits, int in_place) {
  /* cache [1, H, CTX, D], T new rows at positions pos..pos+T-1 on axis 2 */
  const int64_t H = 3, CTX = 7, D = 5, T = 2, pos = 4, rows = H * CTX, rb = qrt_kv_row_bytes(bits, D);
  float *x = xmalloc(sizeof(float) * (size_t)(rows * D)), *upd = xmalloc(sizeof(float) * (size_t)(H * T * D));
  float *ref = xmalloc(sizeof(float) * (size_t)(rows * D)), *scratch = xmalloc(sizeof(float) * (size_t)D);
  uint8_t *cache = xmalloc((size_t)(rows * rb)), *out = xmalloc((size_t)(rows * rb)), *want = xmalloc((size_t)(rows * rb));
  int64_t *idx = xmalloc(sizeof(int64_t) * (size_t)(H * T * D)), h, t, d;
  qrt_kv_params p;
  const void *in[4];
  void *o[1];
  char what[96];
  fill_f32(x, rows * D, -1.0f, 1.0f);
  fill_f32(upd, H * T * D, -3.0f, 3.0f);
  encode_all(bits, rows, D, x, cache);
  for (h = 0; h < H; ++h)
    for (t = 0; t < T; ++t)
      for (d = 0; d < D; ++d) idx[(h * T + t) * D + d] = t == 1 ? -(CTX - pos - 1) : pos + t; /* a negative index too */
  /* reference: decoded cache, rows pos and pos+1 of each head replaced */
  decode_all(bits, rows, D, cache, ref);
  for (h = 0; h < H; ++h)
    for (t = 0; t < T; ++t) memcpy(ref + (h * CTX + pos + t) * D, upd + (h * T + t) * D, sizeof(float) * (size_t)D);
  memcpy(want, cache, (size_t)(rows * rb));
  for (h = 0; h < H; ++h)
    for (t = 0; t < T; ++t) {
      uint8_t tmp[64];
      float rowf[5];
      int64_t r = h * CTX + pos + t;
      memcpy(rowf, ref + r * D, sizeof rowf);
      encode_all(bits, 1, D, rowf, tmp);
      memcpy(want + r * rb, tmp, (size_t)rb);
    }
  set_params(&p, bits, rows, D);
  p.rank = 4;
  p.axis = 2;
  p.data_shape[0] = 1, p.data_shape[1] = H, p.data_shape[2] = CTX, p.data_shape[3] = D;
  p.idx_shape[0] = 1, p.idx_shape[1] = H, p.idx_shape[2] = T, p.idx_shape[3] = D;
  if (in_place) memcpy(out, cache, (size_t)(rows * rb));
  in[0] = in_place ? out : cache, in[1] = idx, in[2] = upd, in[3] = scratch, o[0] = out;
  qrt_kv_store_elements(&p, in, o);
  sprintf(what, "int%d store_elements %s == float scatter + row encoding", bits, in_place ? "in place" : "copy");
  check(!memcmp(out, want, (size_t)(rows * rb)), what);
  free(x), free(upd), free(ref), free(scratch), free(cache), free(out), free(want), free(idx);
}

/* A partial row (the scatter axis is the last one) and a row written twice
 * in separate runs: decode, write, encode per run of consecutive writes. */
static void test_partial_rows(int bits) {
  const int64_t rows = 2, D = 4, rb = qrt_kv_row_bytes(bits, D);
  float x[8] = {1, -2, 3, -4, 0.5f, 0.25f, -0.125f, 1}, upd[3] = {9, 7, -5}, scratch[4], ref[8], rowf[4];
  int64_t idx[3] = {1, 2, 1}; /* updates along axis 1 of [rows=1 of 3 updates]: row 0, cols 1, 2, 1 */
  uint8_t cache[2 * 16], out[2 * 16], want[2 * 16];
  qrt_kv_params p;
  const void *in[4];
  void *o[1];
  encode_all(bits, rows, D, x, cache);
  /* reference: one run into row 0 (three consecutive writes), last wins */
  decode_all(bits, rows, D, cache, ref);
  ref[1] = 9, ref[2] = 7, ref[1] = -5;
  memcpy(want, cache, (size_t)(rows * rb));
  memcpy(rowf, ref, sizeof rowf);
  encode_all(bits, 1, D, rowf, want);
  set_params(&p, bits, rows, D);
  p.rank = 2;
  p.axis = 1;
  p.data_shape[0] = rows, p.data_shape[1] = D;
  p.idx_shape[0] = 1, p.idx_shape[1] = 3;
  in[0] = cache, in[1] = idx, in[2] = upd, in[3] = scratch, o[0] = out;
  qrt_kv_store_elements(&p, in, o);
  check(!memcmp(out, want, (size_t)(rows * rb)), bits == 8 ? "int8 partial row" : "int4 partial row");
  check(!memcmp(out + rb, cache + rb, (size_t)rb), "a row without writes keeps its bytes");
}

int main(void) {
  static const int64_t lens[] = {1, 2, 7, 32, 33, 300};
  int b, i;
  for (b = 8; b >= 4; b -= 4) {
    for (i = 0; i < (int)(sizeof lens / sizeof *lens); ++i) test_encoding(b, lens[i]);
    test_store_elements(b, 0);
    test_store_elements(b, 1);
    test_partial_rows(b);
  }
  return finish();
}
