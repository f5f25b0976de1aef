#include "qrt.h"
/* qrt_copy.c - generic strided copy (transpose, slice with any steps,
 * expand/broadcast, reshape): out dense [i0..ir] = in[offset + sum ik*s_k].
 * Dims are merged where the input is contiguous across them; rows with a
 * unit inner stride are memcpy'd; a transpose of the two innermost dims is
 * done in 32 x 32 tiles. */
#include <string.h>

#define QRT_COPY_TILE 32

#define QRT_COPY_ELEMS(ES)                                                        \
  for (i = 0; i < n; ++i) memcpy(dst + i * (ES), src + i * s * (ES), (ES));       \
  break

/* dst[i] = src[i*s], i < n, elements of es bytes. */
QRT_INTERNAL void qrt_copy_row(char *dst, const char *src, int64_t n, int64_t s, int64_t es) {
  int64_t i;
  if (s == 1) { memcpy(dst, src, (size_t)(n * es)); return; }
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

QRT_API void qrt_copy(const void *params, const void *const *in, void *const *out) {
  const qrt_copy_params *p = (const qrt_copy_params *)params;
  const int64_t es = p->elem_size;
  const char *src = (const char *)in[0] + p->offset * es;
  char *dst = (char *)out[0];
  int64_t shape[8], st[8], idx[8];
  int64_t total = 1, n, off = 0, row, rows;
  int r = 0, k, rank = p->rank < 0 ? 0 : (p->rank > 8 ? 8 : p->rank);
  for (k = 0; k < rank; ++k) total *= p->out_shape[k];
  if (total <= 0 || es <= 0) return;
  for (k = rank - 1; k >= 0; --k) {
    const int64_t d = p->out_shape[k];
    if (d == 1) continue;
    if (r > 0 && p->in_strides[k] == st[0] * shape[0]) {
      shape[0] *= d;
      continue;
    }
    memmove(shape + 1, shape, (size_t)r * sizeof shape[0]);
    memmove(st + 1, st, (size_t)r * sizeof st[0]);
    shape[0] = d;
    st[0] = p->in_strides[k];
    ++r;
  }
  if (r == 0) { memcpy(dst, src, (size_t)es); return; }
  for (k = 0; k < r; ++k) idx[k] = 0;
  if (r >= 2 && st[r - 1] != 1 && st[r - 2] == 1) {
    /* Transpose of the two innermost dims: tiles, per outer index. */
    const int64_t n0 = shape[r - 1], n1 = shape[r - 2], s0 = st[r - 1];
    const int64_t mats = total / (n0 * n1);
    int64_t m;
    for (m = 0; m < mats; ++m) {
      qrt_copy_transpose(dst + m * n0 * n1 * es, src + off * es, n0, n1, s0, es);
      for (k = r - 3; k >= 0; --k) {
        off += st[k];
        if (++idx[k] < shape[k]) break;
        off -= st[k] * shape[k];
        idx[k] = 0;
      }
    }
    return;
  }
  n = shape[r - 1];
  rows = total / n;
  for (row = 0; row < rows; ++row) {
    qrt_copy_row(dst + row * n * es, src + off * es, n, st[r - 1], es);
    for (k = r - 2; k >= 0; --k) {
      off += st[k];
      if (++idx[k] < shape[k]) break;
      off -= st[k] * shape[k];
      idx[k] = 0;
    }
  }
}
