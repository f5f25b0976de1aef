#include "qrt.h"
/* qrt_kvcache.c - a KV cache kept as int8 or int4 rows with one float
 * scale per row (qcc --kv-bits; layout and semantics: QRT_KV_PARAMS in
 * qrt.h).  A row is one head's key or value vector of one token, so a
 * step that appends a token writes whole rows and never re-encodes an old
 * one: the cache error does not grow with the number of steps.  Needs
 * qrt_scatter.c (where the updates go) and qrt_quant.c (the rounding of
 * every other int8 path): see QRT_FILE_DEPS. */
#include <math.h>
#include <string.h>

QRT_API int64_t qrt_kv_row_bytes(int32_t bits, int64_t row_len) {
  return bits == 4 ? 2 * (int64_t)sizeof(float) + (row_len + 1) / 2 : (int64_t)sizeof(float) + row_len;
}

QRT_API int64_t qrt_kv_store_scratch(const qrt_kv_params *p) { return p->row_len * (int64_t)sizeof(float); }

QRT_INTERNAL void qrt_kv_decode_row(int32_t bits, int64_t n, const uint8_t *row, float *x) {
  float s, lo;
  int64_t i;
  memcpy(&s, row, sizeof s);
  if (bits == 4) {
    memcpy(&lo, row + sizeof s, sizeof lo);
    row += 2 * sizeof s;
    for (i = 0; i + 1 < n; i += 2) { /* a byte at a time: the loop vectorizes */
      x[i] = lo + (float)(row[i / 2] & 15) * s;
      x[i + 1] = lo + (float)(row[i / 2] >> 4) * s;
    }
    if (i < n) x[i] = lo + (float)(row[i / 2] & 15) * s;
  } else {
    row += sizeof s;
    for (i = 0; i < n; ++i) x[i] = (float)(int8_t)row[i] * s;
  }
}

/* Encodes x[n] into row (see QRT_KV_PARAMS). */
QRT_INTERNAL void qrt_kv_encode_row(int32_t bits, int64_t n, const float *x, uint8_t *row) {
  int8_t chunk[256];
  float shifted[256], lo = 0.0f, hi = 0.0f, amax, s;
  int64_t i, i0, m;
  int finite = 1;
  for (i = 0; i < n; ++i) {
    if (!(x[i] >= -3.402823466e38f && x[i] <= 3.402823466e38f)) finite = 0; /* NaN or an infinity */
    else if (i == 0 || x[i] < lo) lo = x[i];
    if (finite && (i == 0 || x[i] > hi)) hi = x[i];
  }
  if (bits == 4 && !(hi - lo <= 3.402823466e38f)) finite = 0; /* a range past FLT_MAX: NaN too */
  if (!finite) {
    s = (float)NAN; /* the whole row decodes to NaN */
    memcpy(row, &s, sizeof s);
    if (bits == 4) memcpy(row + sizeof s, &s, sizeof s);
    memset(row + (bits == 4 ? 2 : 1) * sizeof s, 0, (size_t)(bits == 4 ? (n + 1) / 2 : n));
    return;
  }
  if (bits == 4) { /* asymmetric: x = lo + c s, c in [0, 15] */
    float range = hi - lo;
    if (lo == 0.0f) lo = 0.0f; /* not -0: a zero row is zero bytes */
    s = range > 0.0f ? range / 15.0f : 0.0f;
    memcpy(row, &s, sizeof s);
    memcpy(row + sizeof s, &lo, sizeof lo);
    row += 2 * sizeof s;
    memset(row, 0, (size_t)((n + 1) / 2));
    for (i0 = 0; i0 < n; i0 += 256) {
      m = n - i0 < 256 ? n - i0 : 256;
      for (i = 0; i < m; ++i) shifted[i] = x[i0 + i] - lo; /* >= 0 */
      /* range == 0: every code 0 (inv_scale 0), x = lo exactly */
      qrt_quantize_row_f32_i8(m, shifted, range > 0.0f ? 15.0f / range : 0.0f, 0, 0, 15, chunk);
      for (i = 0; i < m; ++i)
        row[(i0 + i) / 2] = (uint8_t)(row[(i0 + i) / 2] | ((uint32_t)chunk[i] << (4 * ((i0 + i) & 1))));
    }
    return;
  }
  amax = hi > -lo ? hi : -lo; /* symmetric int8: x = c s, c in [-127, 127] */
  s = amax > 0.0f ? amax / 127.0f : 0.0f; /* not -0: a zero row is zero bytes */
  memcpy(row, &s, sizeof s);
  row += sizeof s;
  for (i0 = 0; i0 < n; i0 += 256) {
    m = n - i0 < 256 ? n - i0 : 256;
    /* amax == 0: every code 0 */
    qrt_quantize_row_f32_i8(m, x + i0, amax > 0.0f ? 127.0f / amax : 0.0f, 0, -127, 127, chunk);
    memcpy(row + i0, chunk, (size_t)m);
  }
}

QRT_API void qrt_kv_encode(int32_t bits, int64_t rows, int64_t row_len, const float *x, uint8_t *packed) {
  const int64_t rb = qrt_kv_row_bytes(bits, row_len);
  int64_t r;
  for (r = 0; r < rows; ++r) qrt_kv_encode_row(bits, row_len, x + r * row_len, packed + r * rb);
}

QRT_API void qrt_kv_load(const void *params, const void *const *in, void *const *out) {
  const qrt_kv_params *p = (const qrt_kv_params *)params;
  const int64_t rb = qrt_kv_row_bytes(p->bits, p->row_len);
  const uint8_t *src = (const uint8_t *)in[0];
  float *y = (float *)out[0];
  int64_t r;
  for (r = 0; r < p->rows; ++r) qrt_kv_decode_row(p->bits, p->row_len, src + r * rb, y + r * p->row_len);
}

/* The scatter's writes, gathered per row: `row` holds the decoded row
 * `current` (-1: none) until a write goes to another row. */
typedef struct qrt_kv_ctx {
  const qrt_kv_params *p;
  uint8_t *dst;
  const float *upd;
  float *row;
  int64_t current, row_bytes;
} qrt_kv_ctx;

QRT_INTERNAL void qrt_kv_flush(qrt_kv_ctx *c) {
  if (c->current >= 0) qrt_kv_encode_row(c->p->bits, c->p->row_len, c->row, c->dst + c->current * c->row_bytes);
  c->current = -1;
}

QRT_INTERNAL void qrt_kv_sink(void *ctx, int64_t target, int64_t update, int64_t n) {
  qrt_kv_ctx *c = (qrt_kv_ctx *)ctx;
  const int64_t L = c->p->row_len;
  while (n > 0) {
    const int64_t r = target / L, col = target % L, take = n < L - col ? n : L - col;
    if (r != c->current) {
      qrt_kv_flush(c);
      qrt_kv_decode_row(c->p->bits, L, c->dst + r * c->row_bytes, c->row);
      c->current = r;
    }
    memcpy(c->row + col, c->upd + update, (size_t)take * sizeof(float));
    target += take;
    update += take;
    n -= take;
  }
}

QRT_INTERNAL void qrt_kv_store_begin(const qrt_kv_params *p, const void *const *in, void *const *out,
                                     qrt_kv_ctx *c) {
  c->p = p;
  c->dst = (uint8_t *)out[0];
  c->upd = (const float *)in[2];
  c->row = (float *)in[3];
  c->current = -1;
  c->row_bytes = qrt_kv_row_bytes(p->bits, p->row_len);
  if (c->dst != (const uint8_t *)in[0]) memmove(c->dst, in[0], (size_t)(p->rows * c->row_bytes));
}

QRT_API void qrt_kv_store_elements(const void *params, const void *const *in, void *const *out) {
  const qrt_kv_params *p = (const qrt_kv_params *)params;
  qrt_kv_ctx c;
  if (p->row_len <= 0) return;
  qrt_kv_store_begin(p, in, out, &c);
  qrt_scatter_elements_walk(p->rank, p->axis, p->data_shape, p->idx_shape, in[1], p->index_dtype, qrt_kv_sink, &c);
  qrt_kv_flush(&c);
}

QRT_API void qrt_kv_store_nd(const void *params, const void *const *in, void *const *out) {
  const qrt_kv_params *p = (const qrt_kv_params *)params;
  qrt_kv_ctx c;
  if (p->row_len <= 0) return;
  qrt_kv_store_begin(p, in, out, &c);
  qrt_scatter_nd_walk(p->k, p->idx_dims, p->n_tuples, p->slice, in[1], p->index_dtype, qrt_kv_sink, &c);
  qrt_kv_flush(&c);
}
