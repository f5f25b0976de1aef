#include "qrt.h"
/* qrt_copy.c - generic strided copy (transpose, slice with any steps,
 * expand/broadcast, reshape): out dense [i0..ir] = in[offset + sum ik*s_k].
 * Dims are merged where the input is contiguous across them; rows with a
 * unit inner stride are copied whole; a transpose of the two innermost dims is
 * done in 32 x 32 tiles. */
#include <string.h>

#define QRT_COPY_TILE 32

#define QRT_COPY_ELEMS(ES)                                                        \
  for (i = 0; i < n; ++i) memcpy(dst + i * (ES), src + i * s * (ES), (ES));       \
  break

/* nb contiguous bytes.  Short runs (attention's head rows: 32 bytes of
 * int8, 128 of float) by fixed-size moves that compilers inline: a call
 * to memcpy per row cost more than the row. */
QRT_INTERNAL void qrt_copy_bytes(char *dst, const char *src, int64_t nb) {
  int64_t i = 0;
  if (nb > 256) {
    memcpy(dst, src, (size_t)nb);
    return;
  }
  for (; i + 32 <= nb; i += 32) memcpy(dst + i, src + i, 32);
  for (; i + 8 <= nb; i += 8) memcpy(dst + i, src + i, 8);
  for (; i < nb; ++i) dst[i] = src[i];
}

/* dst[i] = src[i*s], i < n, elements of es bytes. */
QRT_INTERNAL void qrt_copy_row(char *dst, const char *src, int64_t n, int64_t s, int64_t es) {
  int64_t i;
  if (s == 1) { qrt_copy_bytes(dst, src, n * es); return; }
  switch (es) {
  case 1: QRT_COPY_ELEMS(1);
  case 2: QRT_COPY_ELEMS(2);
  case 4: QRT_COPY_ELEMS(4);
  case 8: QRT_COPY_ELEMS(8);
  default: QRT_COPY_ELEMS(es);
  }
}

#if defined(__SSE2__)
#include <emmintrin.h>
#define QRT_COPY_SSE2 1
/* Bytes: out row i (16 bytes at dst + i * ds) = byte i of the 16 input rows
 * (16 bytes each at src + j * ss), by four rounds of unpacking.  After the
 * rounds x[k] holds output row bitreverse4(k). */
QRT_INTERNAL void qrt_copy_t16_u8(char *dst, int64_t ds, const char *src, int64_t ss) {
  static const unsigned char row[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
  __m128i x[16], y[16];
  int k;
  for (k = 0; k < 16; ++k) x[k] = _mm_loadu_si128((const __m128i *)(const void *)(src + k * ss));
  for (k = 0; k < 8; ++k) { y[k] = _mm_unpacklo_epi8(x[2 * k], x[2 * k + 1]); y[k + 8] = _mm_unpackhi_epi8(x[2 * k], x[2 * k + 1]); }
  for (k = 0; k < 8; ++k) { x[k] = _mm_unpacklo_epi16(y[2 * k], y[2 * k + 1]); x[k + 8] = _mm_unpackhi_epi16(y[2 * k], y[2 * k + 1]); }
  for (k = 0; k < 8; ++k) { y[k] = _mm_unpacklo_epi32(x[2 * k], x[2 * k + 1]); y[k + 8] = _mm_unpackhi_epi32(x[2 * k], x[2 * k + 1]); }
  for (k = 0; k < 8; ++k) { x[k] = _mm_unpacklo_epi64(y[2 * k], y[2 * k + 1]); x[k + 8] = _mm_unpackhi_epi64(y[2 * k], y[2 * k + 1]); }
  for (k = 0; k < 16; ++k) _mm_storeu_si128((__m128i *)(void *)(dst + row[k] * ds), x[k]);
}
#endif

/* One n1 x n0 matrix of the innermost transpose: d[i * n0 + j] =
 * src[i + j * s0] (elements of es bytes). */
QRT_INTERNAL void qrt_copy_transpose(char *d, const char *src, int64_t n0, int64_t n1, int64_t s0, int64_t es) {
  int64_t ib, jb, i, i16 = 0;
#if defined(QRT_COPY_SSE2)
  /* int8 (attention's k^T): whole 16 x 16 blocks by unpacking, the rest
   * (the last n1 % 16 rows, the last n0 % 16 columns) as below */
  if (es == 1 && n0 >= 16 && n1 >= 16) {
    const int64_t j16 = n0 / 16 * 16;
    i16 = n1 / 16 * 16;
    for (ib = 0; ib < i16; ib += 16)
      for (jb = 0; jb < j16; jb += 16) qrt_copy_t16_u8(d + ib * n0 + jb, n0, src + ib + jb * s0, s0);
    for (i = 0; i < i16 && j16 < n0; ++i) qrt_copy_row(d + i * n0 + j16, src + i + j16 * s0, n0 - j16, s0, 1);
  }
#endif
  for (ib = i16; ib < n1; ib += QRT_COPY_TILE)
    for (jb = 0; jb < n0; jb += QRT_COPY_TILE) {
      const int64_t ie = n1 - ib < QRT_COPY_TILE ? n1 : ib + QRT_COPY_TILE;
      const int64_t jn = n0 - jb < QRT_COPY_TILE ? n0 - jb : QRT_COPY_TILE;
      for (i = ib; i < ie; ++i) qrt_copy_row(d + (i * n0 + jb) * es, src + (i + jb * s0) * es, jn, s0, es);
    }
}

/* The merged walk: dims merged where the input is contiguous across
 * them; out row `row` (or matrix, for a transpose) starts at input offset
 * off(row) = sum idx_k st_k over the outer dims. */
typedef struct qrt_copy_job {
  int64_t shape[8], st[8];
  int r, outer; /* outer dims: r - 1 (rows), r - 2 (matrices) */
  int64_t es, n0, n1;
  const char *src;
  char *dst;
} qrt_copy_job;

QRT_INTERNAL int64_t qrt_copy_offset(const qrt_copy_job *c, int64_t i, int64_t *idx) {
  int64_t off = 0;
  int k;
  for (k = c->outer - 1; k >= 0; --k) {
    idx[k] = i % c->shape[k];
    i /= c->shape[k];
    off += idx[k] * c->st[k];
  }
  return off;
}

QRT_INTERNAL void qrt_copy_step(const qrt_copy_job *c, int64_t *idx, int64_t *off) {
  int k;
  for (k = c->outer - 1; k >= 0; --k) {
    *off += c->st[k];
    if (++idx[k] < c->shape[k]) break;
    *off -= c->st[k] * c->shape[k];
    idx[k] = 0;
  }
}

/* Output rows [b, e) (each a contiguous run of the innermost dim). */
QRT_INTERNAL void qrt_copy_rows(void *ctx, int64_t b, int64_t e) {
  const qrt_copy_job *c = (const qrt_copy_job *)ctx;
  const int64_t n = c->shape[c->r - 1];
  int64_t idx[8], off = qrt_copy_offset(c, b, idx), row;
  for (row = b; row < e; ++row) {
    qrt_copy_row(c->dst + row * n * c->es, c->src + off * c->es, n, c->st[c->r - 1], c->es);
    qrt_copy_step(c, idx, &off);
  }
}

/* Blocks [b, e) of a transpose of the two innermost dims: block t is
 * output rows [32 k, 32 k + 32) of matrix t / blocks, k = t % blocks
 * (whole tiles, and whole 16-row blocks of the int8 path). */
QRT_INTERNAL void qrt_copy_mats(void *ctx, int64_t b, int64_t e) {
  const qrt_copy_job *c = (const qrt_copy_job *)ctx;
  const int64_t blocks = (c->n1 + QRT_COPY_TILE - 1) / QRT_COPY_TILE;
  int64_t idx[8], t;
  for (t = b; t < e; ++t) {
    const int64_t m = t / blocks, i0 = t % blocks * QRT_COPY_TILE;
    const int64_t rows = c->n1 - i0 < QRT_COPY_TILE ? c->n1 - i0 : QRT_COPY_TILE;
    const int64_t off = qrt_copy_offset(c, m, idx);
    qrt_copy_transpose(c->dst + (m * c->n1 + i0) * c->n0 * c->es, c->src + (off + i0) * c->es, c->n0, rows,
                       c->st[c->r - 1], c->es);
  }
}

/* Threads take whole rows or matrices, at least QRT_PAR_MIN_ELEMS
 * elements a task. */
QRT_API void qrt_copy(const void *params, const void *const *in, void *const *out) {
  const qrt_copy_params *p = (const qrt_copy_params *)params;
  qrt_copy_job c;
  int64_t total = 1, per;
  int r = 0, k, rank = p->rank < 0 ? 0 : (p->rank > 8 ? 8 : p->rank);
  c.es = p->elem_size;
  c.src = (const char *)in[0] + p->offset * c.es;
  c.dst = (char *)out[0];
  for (k = 0; k < rank; ++k) total *= p->out_shape[k];
  if (total <= 0 || c.es <= 0) return;
  for (k = rank - 1; k >= 0; --k) {
    const int64_t d = p->out_shape[k];
    if (d == 1) continue;
    if (r > 0 && p->in_strides[k] == c.st[0] * c.shape[0]) {
      c.shape[0] *= d;
      continue;
    }
    memmove(c.shape + 1, c.shape, (size_t)r * sizeof c.shape[0]);
    memmove(c.st + 1, c.st, (size_t)r * sizeof c.st[0]);
    c.shape[0] = d;
    c.st[0] = p->in_strides[k];
    ++r;
  }
  if (r == 0) { memcpy(c.dst, c.src, (size_t)c.es); return; }
  c.r = r;
  if (r >= 2 && c.st[r - 1] != 1 && c.st[r - 2] == 1) {
    /* Transpose of the two innermost dims: tiles, per outer index. */
    c.n0 = c.shape[r - 1];
    c.n1 = c.shape[r - 2];
    c.outer = r - 2;
    per = c.n0 * (c.n1 < QRT_COPY_TILE ? c.n1 : QRT_COPY_TILE);
    qrt_parallel_range(total / (c.n0 * c.n1) * ((c.n1 + QRT_COPY_TILE - 1) / QRT_COPY_TILE), 1,
                       (QRT_PAR_MIN_ELEMS + per - 1) / per, qrt_copy_mats, &c);
    return;
  }
  c.outer = r - 1;
  per = c.shape[r - 1];
  qrt_parallel_range(total / per, 1, (QRT_PAR_MIN_ELEMS + per - 1) / per, qrt_copy_rows, &c);
}
