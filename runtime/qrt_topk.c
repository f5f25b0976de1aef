#include "qrt.h"
/* qrt_topk.c - ONNX TopK's indices (see QRT_TOPK_PARAMS): a stable merge
 * sort of each line's positions by a total order (values, NaN above
 * everything, then lower position first), of which the first k are kept.
 * Without scratch, an insertion into the k output slots gives the same
 * order. */
#include <string.h>

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
