#include "qrt.h"
/* qrt_where.c - y = cond ? a : b with numpy broadcasting of all three,
 * for elements of 1, 2, 4 or 8 bytes (moved with memcpy, so any type). */
#include <string.h>

/* memmove: y may be the buffer of a or b (in place, when that operand has
 * y's shape: every element is read at the index it is written to, before
 * it is written).  Two values broadcast along the row (a mask built from
 * a condition, as AIFS's permuted causal mask): a select of two
 * registers, which compilers vectorize. */
#define QRT_WHERE_ROW(ES, T)                                                     \
  if (sa == 0 && sb == 0) {                                                      \
    T av, bv;                                                                    \
    memcpy(&av, pa, (ES));                                                       \
    memcpy(&bv, pb, (ES));                                                       \
    i = 0;                                                                       \
    if (sc == 1) /* blocks of a fixed count: vectorized at -O2 too */            \
      for (; i + 16 <= n; i += 16) {                                             \
        int t;                                                                   \
        for (t = 0; t < 16; ++t) {                                               \
          const T v = c[i + t] ? av : bv;                                        \
          memcpy(py + (i + t) * (ES), &v, (ES));                                 \
        }                                                                        \
      }                                                                          \
    for (; i < n; ++i) {                                                         \
      const T v = c[i * sc] ? av : bv;                                           \
      memcpy(py + i * (ES), &v, (ES));                                           \
    }                                                                            \
    break;                                                                       \
  }                                                                              \
  for (i = 0; i < n; ++i) {                                                      \
    const char *src = c[i * sc] ? pa + i * sa * (ES) : pb + i * sb * (ES);       \
    memmove(py + i * (ES), src, (ES));                                           \
  }                                                                              \
  break

QRT_API void qrt_where(const void *params, const void *const *in, void *const *out) {
  const qrt_where_params *p = (const qrt_where_params *)params;
  const int64_t es = p->elem_size;
  int64_t shape[8], st[3][8], idx[8], off[3] = {0, 0, 0};
  int64_t total = 1, n, row, rows;
  int r = 0, k, t, rank = p->rank < 0 ? 0 : (p->rank > 8 ? 8 : p->rank);
  for (k = 0; k < rank; ++k) total *= p->out_shape[k];
  if (total <= 0) return;
  /* Drop size-1 dims and merge dims contiguous in all three inputs. */
  for (k = rank - 1; k >= 0; --k) {
    const int64_t d = p->out_shape[k];
    const int64_t s[3] = {p->cond_strides[k], p->a_strides[k], p->b_strides[k]};
    if (d == 1) continue;
    if (r > 0 && s[0] == st[0][0] * shape[0] && s[1] == st[1][0] * shape[0] &&
        s[2] == st[2][0] * shape[0]) {
      shape[0] *= d;
      continue;
    }
    memmove(shape + 1, shape, (size_t)r * sizeof shape[0]);
    for (t = 0; t < 3; ++t) {
      memmove(st[t] + 1, st[t], (size_t)r * sizeof st[t][0]);
      st[t][0] = s[t];
    }
    shape[0] = d;
    ++r;
  }
  if (r == 0) { shape[0] = 1; st[0][0] = st[1][0] = st[2][0] = 0; r = 1; }
  n = shape[r - 1];
  rows = total / n;
  for (k = 0; k < r; ++k) idx[k] = 0;
  for (row = 0; row < rows; ++row) {
    const uint8_t *c = (const uint8_t *)in[0] + off[0];
    const char *pa = (const char *)in[1] + off[1] * es;
    const char *pb = (const char *)in[2] + off[2] * es;
    char *py = (char *)out[0] + row * n * es;
    const int64_t sc = st[0][r - 1], sa = st[1][r - 1], sb = st[2][r - 1];
    int64_t i;
    switch (es) {
    case 1: QRT_WHERE_ROW(1, uint8_t);
    case 2: QRT_WHERE_ROW(2, uint16_t);
    case 4: QRT_WHERE_ROW(4, uint32_t);
    case 8: QRT_WHERE_ROW(8, uint64_t);
    default: memset(py, 0, (size_t)(n * (es > 0 ? es : 0))); break;
    }
    for (k = r - 2; k >= 0; --k) {
      for (t = 0; t < 3; ++t) off[t] += st[t][k];
      if (++idx[k] < shape[k]) break;
      for (t = 0; t < 3; ++t) off[t] -= st[t][k] * shape[k];
      idx[k] = 0;
    }
  }
}
