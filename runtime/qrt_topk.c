#include "qrt.h"
/* qrt_topk.c - ONNX TopK's indices (see QRT_TOPK_PARAMS): a stable merge
 * sort of each line's positions by a total order (values, NaN above
 * everything, then lower position first), of which the first k are kept.
 * Without scratch, an insertion into the k output slots gives the same
 * order.  A line of small non-negative integers (AIFS's modalities: a
 * stable sort of T tokens by modality) is a stable counting sort instead:
 * the same order in two passes, without comparisons. */
#include <string.h>

/* Counting sort: lines up to this long, values in [0, QRT_TOPK_KEYS). */
#define QRT_TOPK_COUNT_MAX 4096
#define QRT_TOPK_KEYS 16

/* The key of x[e] when it is an integer in [0, QRT_TOPK_KEYS) (floats:
 * exactly, -0 as 0, which compares equal), else -1. */
QRT_INTERNAL int qrt_topk_small_key(const void *x, int32_t dtype, int64_t e) {
  double v;
  switch (dtype) {
  case QRT_F32: v = (double)((const float *)x)[e]; break;
  case QRT_F64: v = ((const double *)x)[e]; break;
  case QRT_I8: v = (double)((const int8_t *)x)[e]; break;
  case QRT_U8: v = (double)((const uint8_t *)x)[e]; break;
  case QRT_I16: v = (double)((const int16_t *)x)[e]; break;
  case QRT_U16: v = (double)((const uint16_t *)x)[e]; break;
  case QRT_I32: v = (double)((const int32_t *)x)[e]; break;
  case QRT_U32: v = (double)((const uint32_t *)x)[e]; break;
  case QRT_U64: return ((const uint64_t *)x)[e] < QRT_TOPK_KEYS ? (int)((const uint64_t *)x)[e] : -1;
  default: {
    const int64_t w = ((const int64_t *)x)[e];
    return w >= 0 && w < QRT_TOPK_KEYS ? (int)w : -1;
  }
  }
  /* NaN fails both tests; the range test comes before the conversion */
  if (!(v >= 0.0 && v < (double)QRT_TOPK_KEYS) || v != (double)(int)v) return -1;
  return (int)v;
}

/* The first k positions of the line (element t at x[base + t * inner]) in
 * topk's order by a stable counting sort, into dst[j * inner]; 0 (nothing
 * written) when a value is not a small key.  Equal keys keep their
 * positions in increasing order, as the merge sort's ties do. */
QRT_INTERNAL int qrt_topk_counting(const qrt_topk_params *p, const void *x, int64_t base, int64_t k, int64_t *dst) {
  unsigned char key[QRT_TOPK_COUNT_MAX];
  int64_t count[QRT_TOPK_KEYS] = {0}, next[QRT_TOPK_KEYS], at = 0, t;
  const int64_t inner = p->inner;
  int c;
  if (p->len > QRT_TOPK_COUNT_MAX) return 0;
  for (t = 0; t < p->len; ++t) {
    const int v = qrt_topk_small_key(x, p->dtype, base + t * inner);
    if (v < 0) return 0;
    key[t] = (unsigned char)v;
    ++count[v];
  }
  for (c = 0; c < QRT_TOPK_KEYS; ++c) { /* the slots of each key, best key first */
    const int kc = p->largest ? QRT_TOPK_KEYS - 1 - c : c;
    next[kc] = at;
    at += count[kc];
  }
  for (t = 0; t < p->len; ++t) {
    const int64_t slot = next[key[t]]++;
    if (slot < k) dst[slot * inner] = t;
  }
  return 1;
}

/* Whether element a should come before element b (offsets into x). */
QRT_INTERNAL int qrt_topk_before(const void *x, int32_t dtype, int largest, int64_t a, int64_t b) {
  int c = 0; /* -1: x[a] ranks below x[b], 1: above, 0: equal */
  switch (dtype) {
  case QRT_F32: case QRT_F64: {
    const double va = dtype == QRT_F32 ? (double)((const float *)x)[a] : ((const double *)x)[a];
    const double vb = dtype == QRT_F32 ? (double)((const float *)x)[b] : ((const double *)x)[b];
    const int na = va != va, nb = vb != vb;
    c = na || nb ? na - nb : (va > vb) - (va < vb);
    break;
  }
  case QRT_U8: case QRT_U16: case QRT_U32: case QRT_U64: {
    uint64_t va, vb;
    switch (dtype) {
    case QRT_U8: va = ((const uint8_t *)x)[a]; vb = ((const uint8_t *)x)[b]; break;
    case QRT_U16: va = ((const uint16_t *)x)[a]; vb = ((const uint16_t *)x)[b]; break;
    case QRT_U32: va = ((const uint32_t *)x)[a]; vb = ((const uint32_t *)x)[b]; break;
    default: va = ((const uint64_t *)x)[a]; vb = ((const uint64_t *)x)[b]; break;
    }
    c = (va > vb) - (va < vb);
    break;
  }
  default: {
    int64_t va, vb;
    switch (dtype) {
    case QRT_I8: va = ((const int8_t *)x)[a]; vb = ((const int8_t *)x)[b]; break;
    case QRT_I16: va = ((const int16_t *)x)[a]; vb = ((const int16_t *)x)[b]; break;
    case QRT_I32: va = ((const int32_t *)x)[a]; vb = ((const int32_t *)x)[b]; break;
    default: va = ((const int64_t *)x)[a]; vb = ((const int64_t *)x)[b]; break;
    }
    c = (va > vb) - (va < vb);
    break;
  }
  }
  if (c == 0) return a < b;
  return largest ? c > 0 : c < 0;
}

QRT_API int64_t qrt_topk_scratch(const qrt_topk_params *p) { return p->len > 0 ? 2 * p->len * (int64_t)sizeof(int64_t) : 0; }

QRT_API void qrt_topk(const void *params, const void *const *in, void *const *out) {
  const qrt_topk_params *p = (const qrt_topk_params *)params;
  const void *x = in[0];
  int64_t *y = (int64_t *)out[0];
  int64_t *pos = (int64_t *)(void *)in[1], *tmp = pos ? pos + p->len : NULL;
  const int64_t len = p->len, inner = p->inner, k = p->k < len ? p->k : len;
  int64_t o, i, j, w, n;
  if (k <= 0) return;
  for (o = 0; o < p->outer; ++o)
    for (i = 0; i < inner; ++i) {
      const int64_t base = o * len * inner + i; /* element (o, t, i) at base + t * inner */
      int64_t *dst = y + o * p->k * inner + i;
      if (qrt_topk_counting(p, x, base, k, dst)) continue;
      if (pos) {
        /* bottom-up merge sort of the positions 0..len-1 */
        for (j = 0; j < len; ++j) pos[j] = j;
        for (w = 1; w < len; w *= 2) {
          int64_t lo;
          for (lo = 0; lo < len; lo += 2 * w) {
            int64_t mid = lo + w < len ? lo + w : len, hi = lo + 2 * w < len ? lo + 2 * w : len;
            int64_t a = lo, b = mid, t = lo;
            while (a < mid && b < hi)
              tmp[t++] = qrt_topk_before(x, p->dtype, p->largest, base + pos[b] * inner, base + pos[a] * inner) ? pos[b++] : pos[a++];
            while (a < mid) tmp[t++] = pos[a++];
            while (b < hi) tmp[t++] = pos[b++];
          }
          memcpy(pos, tmp, (size_t)len * sizeof *pos);
        }
        for (j = 0; j < k; ++j) dst[j * inner] = pos[j];
      } else {
        /* insertion into the k slots, best first */
        n = 0;
        for (j = 0; j < len; ++j) {
          int64_t s = n < k ? n : k - 1;
          if (n == k && !qrt_topk_before(x, p->dtype, p->largest, base + j * inner, base + dst[(k - 1) * inner] * inner)) continue;
          while (s > 0 && qrt_topk_before(x, p->dtype, p->largest, base + j * inner, base + dst[(s - 1) * inner] * inner)) {
            dst[s * inner] = dst[(s - 1) * inner];
            --s;
          }
          dst[s * inner] = j;
          if (n < k) ++n;
        }
      }
    }
}
