#include "qrt.h"
/* qrt_qconv.c - int8 (W8A8) N-d convolution, canonical 3 spatial dims.
 * Needs qrt_qmatmul.c (qrt_qgemm_ex): see QRT_FILE_DEPS.
 *
 * Semantics: see QRT_QCONV_PARAMS in qrt.h.  Two paths, same bits (exact
 * integer sums modulo 2^32, then the shared requantization):
 *  - GEMM path (>= QRT_QCONV_GEMM_MIN_N output channels per group and a
 *    scratch buffer): "im2row" of a tile of output positions into scratch
 *    (row = position, K = (ci, kd, kh, kw) bytes, padding cells =
 *    a_zero_point; with packed int8 weights usually (kd, kh, kw, ci), from
 *    a channels-last padded copy of the input: qrt_qconv_padded_nhwc), then qrt_qgemm_ex with A = that tile, B = W_g^T
 *    (packed at compile time, or the raw weights read as a strided K x
 *    cout_g matrix), C written transposed (row stride 1, column stride P)
 *    straight into the NCDHW output;
 *  - direct path (depthwise and other thin groups, or no scratch). */
#include <string.h>

#define QRT_QCONV_GEMM_MIN_N 4
#define QRT_QCONV_ROW_BUDGET 262144 /* bytes in one im2row tile */

QRT_INTERNAL int qrt_qconv_use_gemm(const qrt_qconv_params *p) {
  return p->group > 0 && p->c_out / p->group >= QRT_QCONV_GEMM_MIN_N;
}

QRT_INTERNAL int64_t qrt_qconv_K(const qrt_qconv_params *p) {
  return (p->group > 0 ? p->c_in / p->group : 0) * p->kernel[0] * p->kernel[1] * p->kernel[2];
}

/* Output positions per im2row tile. */
QRT_INTERNAL int64_t qrt_qconv_tile(const qrt_qconv_params *p) {
  const int64_t K = qrt_qconv_K(p);
  const int64_t P = p->out_spatial[0] * p->out_spatial[1] * p->out_spatial[2];
  int64_t t = K > 0 ? QRT_QCONV_ROW_BUDGET / K : P;
  t = t / 16 * 16;
  if (t < 64) t = 64;
  return t < P ? t : P;
}

/* The padded input (see qrt_qconv_im2row_padded): one image-group's
 * channels with every window inside, padding cells = a_zero_point, dims
 * [cin_g, PD, PH, PW] in dims; its bytes (8 of slack after the last row
 * for the 8-byte loads), or 0 where it does not apply: windows wider than
 * 8 bytes or dilated along W, or more than QRT_QCONV_PAD_BUDGET bytes. */
#define QRT_QCONV_PAD_BUDGET 65536
QRT_INTERNAL int64_t qrt_qconv_padded(const qrt_qconv_params *p, int64_t dims[3]) {
  const int64_t cin_g = p->group > 0 ? p->c_in / p->group : 0;
  const int64_t bytes = p->kernel[2] > 8 || p->dilations[2] != 1 ? 0 : cin_g * qrt_window_cover(p->in_spatial, p->out_spatial, p->kernel, p->strides, p->dilations, p->pads_begin, dims);
  return bytes > 0 && bytes <= QRT_QCONV_PAD_BUDGET ? bytes + 8 : 0;
}

/* The channels-last padded input (qrt_pad_channels_last): dims [PD, PH, PW]
 * as qrt_qconv_padded's, cin_g bytes per cell; its bytes, or 0 where that
 * path does not apply. It applies to packed int8 weights (the packing puts
 * K in its (kd, kh, kw, ci) order), undilated rows and groups of 2 or more
 * channels, when the padded copy is within QRT_QCONV_PAD_BUDGET or twice
 * the group's input: then each window row (kd, kh) is one run of KW * cin_g
 * bytes, where the channels-first im2row copies cin_g runs of KW bytes. */
QRT_INTERNAL int64_t qrt_qconv_padded_nhwc(const qrt_qconv_params *p, int64_t dims[3]) {
  const int64_t cin_g = p->group > 0 ? p->c_in / p->group : 0;
  const int64_t in_bytes = cin_g * p->in_spatial[0] * p->in_spatial[1] * p->in_spatial[2];
  int64_t bytes;
  if (!qrt_qconv_use_gemm(p) || !p->w_packed || p->w_format == QRT_WFMT_I4 || p->dilations[2] != 1 || cin_g < 2)
    return 0;
  bytes = cin_g * qrt_window_cover(p->in_spatial, p->out_spatial, p->kernel, p->strides, p->dilations, p->pads_begin, dims);
  return bytes <= QRT_QCONV_PAD_BUDGET || bytes <= 2 * in_bytes ? bytes : 0;
}

/* The depthwise path (one input channel per group, int8 weights of at
 * most QRT_QCONV_DW_MAX_K taps): each input plane padded once with
 * a_zero_point into [PD, PH, PW] covering every window, then per output row
 * one int32 accumulator row, each tap one bound-free pass (the integer sums
 * are exact, so the result is the direct path's). Its scratch bytes (the
 * plane, then OW int32), or 0 where it does not apply. */
#define QRT_QCONV_DW_MAX_K 64

/* The phases of qrt_qconv_dw's plane: s = 1 or 2 where the H and W
 * strides are both s (then every tap is one pass over a whole output
 * plane), else 0 (a pass per output row). */
QRT_INTERNAL int64_t qrt_qconv_dw_phases(const qrt_qconv_params *p) {
  return p->strides[1] == p->strides[2] && (p->strides[2] == 1 || p->strides[2] == 2) ? p->strides[2] : 0;
}

/* Bytes of the padded plane [PD, PH, PW] (dims) in s x s phases of
 * [PD, ceil(PH / s), ceil(PW / s)] each. */
QRT_INTERNAL int64_t qrt_qconv_dw_plane_bytes(const qrt_qconv_params *p, const int64_t dims[3]) {
  const int64_t s = qrt_qconv_dw_phases(p) ? qrt_qconv_dw_phases(p) : 1;
  return s * s * dims[0] * ((dims[1] + s - 1) / s) * ((dims[2] + s - 1) / s);
}

QRT_INTERNAL int64_t qrt_qconv_dw_plane(const qrt_qconv_params *p, int64_t dims[3]) {
  int64_t n;
  if (p->group <= 1 || p->c_in != p->group || qrt_qconv_use_gemm(p) || p->w_format == QRT_WFMT_I4 ||
      qrt_qconv_K(p) > QRT_QCONV_DW_MAX_K)
    return 0;
  n = qrt_window_cover(p->in_spatial, p->out_spatial, p->kernel, p->strides, p->dilations, p->pads_begin, dims);
  if (n == 0 || (n > QRT_QCONV_PAD_BUDGET && n > 2 * p->in_spatial[0] * p->in_spatial[1] * p->in_spatial[2])) return 0;
  /* the plane, then the accumulators of one output plane at the padded
   * width (qrt_qconv_dw: taps run over whole planes) */
  return (qrt_qconv_dw_plane_bytes(p, dims) + 3) / 4 * 4 + p->out_spatial[1] * dims[2] * (int64_t)sizeof(int32_t);
}

QRT_API int64_t qrt_qconv_scratch_i8(const qrt_qconv_params *p) {
  int64_t dims[3];
  const int64_t nhwc = qrt_qconv_padded_nhwc(p, dims);
  if (qrt_qconv_dw_plane(p, dims)) return qrt_qconv_dw_plane(p, dims);
  if (!qrt_qconv_use_gemm(p)) return 0;
  return qrt_qconv_K(p) * qrt_qconv_tile(p) + (nhwc ? nhwc : qrt_qconv_padded(p, dims));
}

QRT_API int qrt_qconv_packs_i4(const qrt_qconv_params *p) { return qrt_qconv_use_gemm(p); }

QRT_INTERNAL int64_t qrt_qconv_group_w_size(const qrt_qconv_params *p) {
  const int64_t G = p->group > 0 ? p->group : 1;
  return p->w_format == QRT_WFMT_I4 ? qrt_packed_b_i4_size(qrt_qconv_K(p), p->c_out / G)
                                    : qrt_packed_b_i8_size(qrt_qconv_K(p), p->c_out / G);
}

QRT_API int64_t qrt_qconv_packed_w_size(const qrt_qconv_params *p) {
  return (p->group > 0 ? p->group : 1) * qrt_qconv_group_w_size(p);
}

/* Packs W_g^T (K x cout_g) per group. For the channels-last path the
 * packed K runs in (kd, kh, kw, ci) order: packed row k' is row
 * ((ci * KD + kd) * KH + kh) * KW + kw of the weights' own order. The
 * panels hold K in groups of 4 rows, 64 bytes a group and panel, so each
 * group of 4 permuted rows is packed into its place
 * (qrt_pack_b_group_i8). */
QRT_API void qrt_pack_conv_w_i8(const qrt_qconv_params *p, const int8_t *w, int8_t *packed) {
  const int64_t G = p->group > 0 ? p->group : 1;
  const int64_t K = qrt_qconv_K(p), cout_g = p->c_out / G;
  const int64_t gsz = qrt_qconv_group_w_size(p);
  int64_t g, dims[3];
  const int nhwc = qrt_qconv_padded_nhwc(p, dims) > 0;
  for (g = 0; g < G; ++g) {
    const int8_t *wg = w + g * cout_g * K;
    if (p->w_format == QRT_WFMT_I4) {
      qrt_pack_b_strided_i4(K, cout_g, wg, 1, K, packed + g * gsz);
    } else if (!nhwc) {
      qrt_pack_b_strided_i8(K, cout_g, wg, 1, K, packed + g * gsz);
    } else {
      const int64_t cin_g = p->c_in / G, KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];
      int64_t q, r;
      for (q = 0; q < (K + 3) / 4; ++q) {
        const int8_t *rows[4] = {wg, wg, wg, wg};
        for (r = 0; r < 4 && 4 * q + r < K; ++r) { /* k' = ((kd * KH + kh) * KW + kw) * cin_g + ci */
          const int64_t kp = 4 * q + r, ci = kp % cin_g, kw = kp / cin_g % KW, kh = kp / cin_g / KW % KH,
                        kd = kp / cin_g / KW / KH;
          rows[r] = wg + ((ci * KD + kd) * KH + kh) * KW + kw;
        }
        qrt_pack_b_group_i8(K, cout_g, rows, K, q, packed + g * gsz);
      }
    }
  }
}

/* im2row of output positions [p0, p0 + pt) of one image and group:
 * row j (K bytes) = x at (ci, kd, kh, kw) for position p0 + j. */
QRT_INTERNAL void qrt_qconv_im2row(const qrt_qconv_params *p, const int8_t *x, int64_t cin_g,
                                   int64_t p0, int64_t pt, int8_t *rows) {
  const int64_t ID = p->in_spatial[0], IH = p->in_spatial[1], IW = p->in_spatial[2];
  const int64_t OH = p->out_spatial[1], OW = p->out_spatial[2];
  const int64_t KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];
  const int64_t dw = p->dilations[2];
  const int8_t za = (int8_t)p->a_zero_point;
  int64_t j, ci, kd, kh, kw;
  int8_t *dst = rows;
  for (j = 0; j < pt; ++j) {
    const int64_t pos = p0 + j;
    const int64_t od = pos / (OH * OW), oh = pos / OW % OH, ow = pos % OW;
    const int64_t iw0 = ow * p->strides[2] - p->pads_begin[2];
    const int row_inside = iw0 >= 0 && iw0 + (KW - 1) * dw < IW;
    for (ci = 0; ci < cin_g; ++ci)
      for (kd = 0; kd < KD; ++kd) {
        const int64_t id = od * p->strides[0] + kd * p->dilations[0] - p->pads_begin[0];
        for (kh = 0; kh < KH; ++kh) {
          const int64_t ih = oh * p->strides[1] + kh * p->dilations[1] - p->pads_begin[1];
          if (id < 0 || id >= ID || ih < 0 || ih >= IH) {
            memset(dst, (unsigned char)za, (size_t)KW);
          } else {
            const int8_t *xr = x + ((ci * ID + id) * IH + ih) * IW;
            if (row_inside && dw == 1) {
              memcpy(dst, xr + iw0, (size_t)KW);
            } else {
              for (kw = 0; kw < KW; ++kw) {
                const int64_t iw = iw0 + kw * dw;
                dst[kw] = iw >= 0 && iw < IW ? xr[iw] : za;
              }
            }
          }
          dst += KW;
        }
      }
  }
}

/* Fill xp (dims from qrt_qconv_padded, bytes long) with one image-group's
 * input x [cin_g, ID, IH, IW] at offset pads_begin, a_zero_point around. */
QRT_INTERNAL void qrt_qconv_pad(const qrt_qconv_params *p, const int8_t *x, int64_t cin_g, const int64_t dims[3],
                                int64_t bytes, int8_t *xp) {
  const int64_t ID = p->in_spatial[0], IH = p->in_spatial[1], IW = p->in_spatial[2];
  const int64_t PD = dims[0], PH = dims[1], PW = dims[2];
  int64_t ci, id, ih;
  memset(xp, (unsigned char)(int8_t)p->a_zero_point, (size_t)bytes);
  for (ci = 0; ci < cin_g; ++ci)
    for (id = 0; id < ID; ++id)
      for (ih = 0; ih < IH; ++ih)
        memcpy(xp + ((ci * PD + p->pads_begin[0] + id) * PH + p->pads_begin[1] + ih) * PW + p->pads_begin[2],
               x + ((ci * ID + id) * IH + ih) * IW, (size_t)IW);
}

/* im2row as qrt_qconv_im2row, from the padded input xp: every window lies
 * inside it, so each cell (ci, kd, kh) is one copy of KW <= 8 contiguous
 * bytes without a bounds check, done as an 8-byte load and store.  The
 * bytes past the window land in the cells after it, in this row or the
 * next, which are written later; so the 8-byte store is used wherever it
 * ends inside the tile (the last cells of the tile are copied byte by
 * byte), and the 8-byte load always stays inside xp (its 8 bytes of
 * slack).  digits_cnn's 3x3 convolutions: the bounds checks and the
 * padded edge positions were most of the im2row time. */
QRT_INTERNAL void qrt_qconv_im2row_padded(const qrt_qconv_params *p, const int8_t *xp, const int64_t dims[3],
                                          int64_t cin_g, int64_t p0, int64_t pt, int8_t *rows) {
  const int64_t OH = p->out_spatial[1], OW = p->out_spatial[2];
  const int64_t KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];
  const int64_t PD = dims[0], PH = dims[1], PW = dims[2];
  const int64_t sd = p->strides[0] * PH * PW, sh = p->strides[1] * PW, sw = p->strides[2];
  const int64_t dd = p->dilations[0] * PH * PW, dh = p->dilations[1] * PW, cs = PD * PH * PW;
  const int64_t wide_last = pt * qrt_qconv_K(p) - 8; /* the last offset an 8-byte store may start at */
  int64_t j, ci, kd, kh, kw;
  int8_t *dst = rows;
  for (j = 0; j < pt; ++j) {
    const int64_t pos = p0 + j;
    const int8_t *base = xp + pos / (OH * OW) * sd + pos / OW % OH * sh + pos % OW * sw;
    for (ci = 0; ci < cin_g; ++ci)
      for (kd = 0; kd < KD; ++kd)
        for (kh = 0; kh < KH; ++kh, dst += KW) {
          const int8_t *src = base + ci * cs + kd * dd + kh * dh;
          if (dst - rows <= wide_last)
            memcpy(dst, src, 8);
          else
            for (kw = 0; kw < KW; ++kw) dst[kw] = src[kw];
        }
  }
}

/* Weight k of output channel co (K taps), from either layout. */
QRT_INTERNAL int32_t qrt_qconv_weight(const qrt_qconv_params *p, const int8_t *w, int64_t K, int64_t cout_g,
                                      int64_t co, int64_t k) {
  const int64_t g = co / cout_g, c = co % cout_g;
  if (!p->w_packed) return w[co * K + k];
  return (int32_t)((const unsigned char *)w + g * qrt_packed_b_i8_size(K, cout_g) + (c / 16) * ((K + 3) / 4 * 4) * 16 +
                   (c % 16) * 4)[(k / 4) * 64 + k % 4] -
         128;
}

/* acc[j] += (src[j * sw] - za) * wv for j < n: |x - za| <= 255, |w| <=
 * 128 and at most QRT_QCONV_DW_MAX_K taps, so no overflow. restrict
 * parameters: int8 may alias anything, which kept the loop scalar. */
QRT_INTERNAL void qrt_qconv_dw_tap(int32_t *restrict acc, const int8_t *restrict src, int64_t n, int64_t sw,
                                   int32_t za, int32_t wv) {
  int64_t j;
  if (sw == 1)
    for (j = 0; j < n; ++j) acc[j] += ((int32_t)src[j] - za) * wv;
  else if (sw == 2)
    for (j = 0; j < n; ++j) acc[j] += ((int32_t)src[2 * j] - za) * wv;
  else
    for (j = 0; j < n; ++j) acc[j] += ((int32_t)src[j * sw] - za) * wv;
}

/* acc[j] = sum_t (src[t][j] - za) w[t] for j < L, nt taps, computed as
 * sum_t src[t][j] w[t] - za sum_t w[t] (exact in int32: at most
 * QRT_QCONV_DW_MAX_K taps of |x w| <= 2^14), QRT_QCONV_DW_BLOCK outputs at
 * a time held in registers over all taps: a pass per tap had read and
 * written the int32 row once per tap (a quarter of MobileNetV2's W8A8 run). */
#define QRT_QCONV_DW_BLOCK 64
#if defined(__AVX512BW__)
#include <immintrin.h>
/* One full block (QRT_QCONV_DW_BLOCK = 64 outputs at j0) on AVX-512BW:
 * taps in pairs, the two taps' bytes widened to int16 and interleaved so
 * that one vpmaddwd gives s0[j] w0 + s1[j] w1 for 16 outputs (two products
 * of at most 2^14 each: exact in int32), where the portable loop spends a
 * vpmulld (two uops) per tap. Interleaving works within 128-bit lanes, so
 * the accumulators hold the outputs permuted (lo: j = 8L..8L+3 of lane L,
 * hi: 8L+4..8L+7); the stores put them back in order. The same int32 sums
 * as the portable loop, so the same bits. */
static void qrt_qconv_dw_block_avx512(int32_t *acc, const int8_t *const *src, const int32_t *w, int64_t nt,
                                      int64_t j0, int64_t m, int32_t zsum) {
  /* m < 64 (a plane's last block; all of a 7 x 7 plane's): masked loads
   * and stores, no byte past the block read or written */
  const __mmask32 in[2] = {m >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << m) - 1),
                           m >= 64 ? ~(__mmask32)0 : m > 32 ? (((__mmask32)1 << (m - 32)) - 1) : 0};
  __m512i lo[2], hi[2];
  int64_t t;
  int h;
  const __m512i first = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0), second = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
  for (h = 0; h < 2; ++h) lo[h] = hi[h] = _mm512_set1_epi32(-zsum);
  for (t = 0; t < nt; t += 2) {
    const int8_t *s0 = src[t] + j0, *s1 = t + 1 < nt ? src[t + 1] + j0 : s0;
    const int32_t w1 = t + 1 < nt ? w[t + 1] : 0;
    const __m512i wp = _mm512_set1_epi32((int32_t)(((uint32_t)(uint16_t)(int16_t)w1 << 16) | (uint16_t)(int16_t)w[t]));
    for (h = 0; h < 2; ++h) {
      const __m512i x0 = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(in[h], s0 + 32 * h));
      const __m512i x1 = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(in[h], s1 + 32 * h));
      lo[h] = _mm512_add_epi32(lo[h], _mm512_madd_epi16(_mm512_unpacklo_epi16(x0, x1), wp));
      hi[h] = _mm512_add_epi32(hi[h], _mm512_madd_epi16(_mm512_unpackhi_epi16(x0, x1), wp));
    }
  }
  for (h = 0; h < 2; ++h) {
    const int64_t a = 32 * h, b = a + 16; /* the two stores' first outputs */
    const __mmask16 ka = m >= a + 16 ? 0xFFFF : m > a ? (__mmask16)((1u << (m - a)) - 1) : 0;
    const __mmask16 kb = m >= b + 16 ? 0xFFFF : m > b ? (__mmask16)((1u << (m - b)) - 1) : 0;
    _mm512_mask_storeu_epi32(acc + j0 + a, ka, _mm512_permutex2var_epi64(lo[h], first, hi[h]));
    _mm512_mask_storeu_epi32(acc + j0 + b, kb, _mm512_permutex2var_epi64(lo[h], second, hi[h]));
  }
}
#elif defined(__AVX2__)
#include <immintrin.h>
/* The same on AVX2, 16 outputs per step of 16 bytes (lo: j = 8L..8L+3 of
 * lane L, hi: 8L+4..8L+7; the stores put lanes back in order). */
static void qrt_qconv_dw_block_avx2(int32_t *acc, const int8_t *const *src, const int32_t *w, int64_t nt, int64_t j0,
                                    int32_t zsum) {
  __m256i lo[4], hi[4];
  int64_t t;
  int h;
  for (h = 0; h < 4; ++h) lo[h] = hi[h] = _mm256_set1_epi32(-zsum);
  for (t = 0; t < nt; t += 2) {
    const int8_t *s0 = src[t] + j0, *s1 = t + 1 < nt ? src[t + 1] + j0 : s0;
    const int32_t w1 = t + 1 < nt ? w[t + 1] : 0;
    const __m256i wp = _mm256_set1_epi32((int32_t)(((uint32_t)(uint16_t)(int16_t)w1 << 16) | (uint16_t)(int16_t)w[t]));
    for (h = 0; h < 4; ++h) {
      const __m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(s0 + 16 * h)));
      const __m256i x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(s1 + 16 * h)));
      lo[h] = _mm256_add_epi32(lo[h], _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), wp));
      hi[h] = _mm256_add_epi32(hi[h], _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1), wp));
    }
  }
  for (h = 0; h < 4; ++h) {
    _mm256_storeu_si256((__m256i *)(void *)(acc + j0 + 16 * h), _mm256_permute2x128_si256(lo[h], hi[h], 0x20));
    _mm256_storeu_si256((__m256i *)(void *)(acc + j0 + 16 * h + 8), _mm256_permute2x128_si256(lo[h], hi[h], 0x31));
  }
}
#endif

QRT_INTERNAL void qrt_qconv_dw_taps(int32_t *restrict acc, const int8_t *const *src, const int32_t *w, int64_t nt,
                                    int64_t L, int32_t za) {
  int32_t a[QRT_QCONV_DW_BLOCK], zsum = 0;
  int64_t j0, j, t;
  for (t = 0; t < nt; ++t) zsum += za * w[t];
  for (j0 = 0; j0 < L; j0 += QRT_QCONV_DW_BLOCK) {
    const int64_t m = L - j0 < QRT_QCONV_DW_BLOCK ? L - j0 : QRT_QCONV_DW_BLOCK;
#if defined(__AVX512BW__)
    qrt_qconv_dw_block_avx512(acc, src, w, nt, j0, m, zsum);
    continue;
#elif defined(__AVX2__)
    if (m == QRT_QCONV_DW_BLOCK) {
      qrt_qconv_dw_block_avx2(acc, src, w, nt, j0, zsum);
      continue;
    }
#endif
    for (j = 0; j < QRT_QCONV_DW_BLOCK; ++j) a[j] = -zsum;
    for (t = 0; t < nt; ++t) {
      const int8_t *restrict s = src[t] + j0;
      const int32_t wv = w[t];
      if (m == QRT_QCONV_DW_BLOCK) /* a fixed count: straight vector code */
        for (j = 0; j < QRT_QCONV_DW_BLOCK; ++j) a[j] += (int32_t)s[j] * wv;
      else
        for (j = 0; j < m; ++j) a[j] += (int32_t)s[j] * wv;
    }
    /* a full block at a constant size: vector moves (a variable size
     * became `rep movsq`, 36% of this function on a MobileNet stack) */
    if (m == QRT_QCONV_DW_BLOCK) memcpy(acc + j0, a, sizeof a);
    else memcpy(acc + j0, a, sizeof(int32_t) * (size_t)m);
  }
}

/* a[t] = src[2 t], b[t] = src[2 t + 1] (restrict: int8 may alias
 * anything, which kept the loops scalar). */
QRT_INTERNAL void qrt_qconv_dw_split(const int8_t *restrict src, int64_t n, int8_t *restrict a, int8_t *restrict b) {
  int64_t t;
  for (t = 0; t < n / 2; ++t) {
    a[t] = src[2 * t];
    b[t] = src[2 * t + 1];
  }
  if (n & 1) a[n / 2] = src[n - 1];
}

/* y[j] = requant(acc[j] + bias) for j < n with one channel's constants:
 * qrt_requant inlined in a loop of its own (restrict, constants hoisted),
 * which the compiler vectorizes. */
QRT_INTERNAL void qrt_qconv_dw_requant(const qrt_qconv_params *p, const int32_t *restrict acc, int64_t n, int32_t bias,
                                       int32_t m0, int32_t shift, int8_t *restrict y) {
  const int32_t zp = p->out_zero_point, lo = p->out_min, hi = p->out_max;
  int64_t j = 0;
#if defined(__AVX512BW__)
  /* 16 at a time through qrt_requant_high_x16 (qrt.h), as the int8 GEMM
   * epilogue does: the same bits as qrt_requant for shifts from 32 where
   * |t| < 2^31, here a depthwise sum of at most QRT_QCONV_DW_MAX_K
   * products of 2^14 plus a bias below 2^30. The per-element int64 form
   * had been 13% of a MobileNetV2 run. */
  if (shift >= 32 && shift <= 62 && m0 >= 0 && bias > -(1 << 30) && bias < (1 << 30) && zp > -(1 << 30) &&
      zp < (1 << 30)) {
    const int s32 = shift == 32;
    const int32_t e = s32 ? 1 : shift - 32;
    const __m512i m1 = _mm512_set1_epi32(m0), m0v = s32 ? _mm512_slli_epi32(m1, 1) : m1; /* 2 M0 < 2^32, unsigned */
    const __m512i m0o = _mm512_srli_epi64(m0v, 32), ev = _mm512_set1_epi32(e);
    const __m512i rnd = _mm512_set1_epi32(1 << (e - 1)), bv = _mm512_set1_epi32(bias), zpv = _mm512_set1_epi32(zp);
    const __m512i lov = _mm512_set1_epi32(lo), hiv = _mm512_set1_epi32(hi);
    for (; j + 16 <= n; j += 16) {
      const __m512i t = _mm512_add_epi32(_mm512_loadu_si512((const void *)(acc + j)), bv);
      __m512i r = qrt_requant_high_x16(t, m0v, m0o, rnd, ev, zpv);
      r = _mm512_min_epi32(hiv, _mm512_max_epi32(lov, r));
      _mm_storeu_si128((__m128i *)(void *)(y + j), _mm512_cvtepi32_epi8(r));
    }
  }
#endif
  for (; j < n; ++j) y[j] = (int8_t)qrt_requant((int64_t)acc[j] + bias, m0, shift, zp, lo, hi);
}

/* The depthwise path (qrt_qconv_dw_plane). With s phases (H and W
 * strides both s = 1 or 2) the padded plane is stored as s x s sub-planes,
 * phase (r % s, c % s) holding padded rows r and columns c at (r / s,
 * c / s), SH x SW each: output (oh, ow)'s tap (kh, kw) reads padded
 * (s oh + kh dh, s ow + kw dw), i.e. phase ((kh dh) % s, (kw dw) % s) at
 * (oh + kh dh / s, ow + kw dw / s), so each tap is one contiguous pass over
 * the whole output plane at width SW (columns past OW computed and
 * dropped). At stride 2 the rows' every-other-byte reads had been 14% of
 * MobileNetV2's W8A8 run; per-row passes of 7-56 columns cost more in
 * calls than the strided reads saved, whole planes do not. */
QRT_INTERNAL void qrt_qconv_dw(const qrt_qconv_params *p, const int8_t *x, const int8_t *w, const int32_t *bias,
                               const int32_t *mult, const int8_t *shift, int8_t *scratch, int8_t *y) {
  const int64_t G = p->group, cout_g = p->c_out / G, K = qrt_qconv_K(p);
  const int64_t ID = p->in_spatial[0], IH = p->in_spatial[1], IW = p->in_spatial[2], isz = ID * IH * IW;
  const int64_t OD = p->out_spatial[0], OH = p->out_spatial[1], OW = p->out_spatial[2], P = OD * OH * OW;
  const int64_t KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];
  const int64_t sw = p->strides[2], dw = p->dilations[2], s = qrt_qconv_dw_phases(p);
  int64_t dims[3], plane, SH, SW, sub, n, g, co, od, oh, kd, kh, kw, j, id, ih;
  int32_t *acc;
  plane = qrt_qconv_dw_plane(p, dims) - OH * dims[2] * (int64_t)sizeof(int32_t);
  SH = s ? (dims[1] + s - 1) / s : dims[1];
  SW = s ? (dims[2] + s - 1) / s : dims[2];
  sub = dims[0] * SH * SW; /* bytes of one phase */
  acc = (int32_t *)(void *)(scratch + plane);
  for (n = 0; n < p->n; ++n)
    for (g = 0; g < G; ++g) {
      const int8_t *xc = x + (n * p->c_in + g) * isz;
      memset(scratch, (unsigned char)(int8_t)p->a_zero_point, (size_t)plane);
      for (id = 0; id < ID; ++id)
        for (ih = 0; ih < IH; ++ih) {
          const int64_t r = p->pads_begin[1] + ih, c0 = p->pads_begin[2];
          const int8_t *src = xc + (id * IH + ih) * IW;
          int8_t *row = scratch + ((p->pads_begin[0] + id) * SH + (s == 2 ? r / 2 : r)) * SW;
          if (s != 2) {
            memcpy(row + c0, src, (size_t)IW);
            continue;
          }
          row += (r & 1) * 2 * sub;
          qrt_qconv_dw_split(src, IW, row + (c0 & 1) * sub + c0 / 2, row + (1 - (c0 & 1)) * sub + (c0 + 1) / 2);
        }
      for (co = g * cout_g; co < (g + 1) * cout_g; ++co) {
        int32_t wk[QRT_QCONV_DW_MAX_K];
        for (j = 0; j < K; ++j) wk[j] = qrt_qconv_weight(p, w, K, cout_g, co, j);
        for (od = 0; od < OD && s; ++od) {
          const int64_t L = (OH - 1) * SW + OW;
          const int8_t *srcs[QRT_QCONV_DW_MAX_K];
          for (kd = 0; kd < KD; ++kd)
            for (kh = 0; kh < KH; ++kh)
              for (kw = 0; kw < KW; ++kw) {
                const int64_t rr = kh * p->dilations[1], cc = kw * dw;
                srcs[(kd * KH + kh) * KW + kw] = scratch + ((rr % s) * s + cc % s) * sub +
                                                 ((od * p->strides[0] + kd * p->dilations[0]) * SH + rr / s) * SW + cc / s;
              }
          qrt_qconv_dw_taps(acc, srcs, wk, K, L, p->a_zero_point);
          /* the rows moved together (OW <= SW, so forward order is
           * safe), then one requantization pass over the plane: rows of
           * 7-28 columns left the vector loop mostly to its scalar tail */
          for (oh = 1; oh < OH; ++oh) memmove(acc + oh * OW, acc + oh * SW, sizeof(int32_t) * (size_t)OW);
          qrt_qconv_dw_requant(p, acc, OH * OW, bias ? bias[co] : 0, mult[co], shift[co],
                               y + (n * p->c_out + co) * P + od * OH * OW);
        }
        for (od = 0; od < OD && !s; ++od) {
          for (oh = 0; oh < OH; ++oh) {
            int32_t *ar = acc + oh * OW;
            for (j = 0; j < OW; ++j) ar[j] = 0;
            for (kd = 0; kd < KD; ++kd)
              for (kh = 0; kh < KH; ++kh) {
                const int8_t *pr = scratch + ((od * p->strides[0] + kd * p->dilations[0]) * dims[1] + oh * p->strides[1] +
                                              kh * p->dilations[1]) * dims[2];
                for (kw = 0; kw < KW; ++kw)
                  qrt_qconv_dw_tap(ar, pr + kw * dw, OW, sw, p->a_zero_point, wk[(kd * KH + kh) * KW + kw]);
              }
          }
          qrt_qconv_dw_requant(p, acc, OH * OW, bias ? bias[co] : 0, mult[co], shift[co],
                               y + (n * p->c_out + co) * P + od * OH * OW);
        }
      }
    }
}

QRT_API void qrt_qconv_i8(const void *params, const void *const *in, void *const *out) {
  const qrt_qconv_params *p = (const qrt_qconv_params *)params;
  const int8_t *x = (const int8_t *)in[0];
  const int8_t *w = (const int8_t *)in[1];
  const int32_t *bias = (const int32_t *)in[2];
  const int32_t *mult = (const int32_t *)in[3];
  const int8_t *shift = (const int8_t *)in[4];
  const int32_t *colsum = (const int32_t *)in[5];
  int8_t *scratch = (int8_t *)in[6];
  int8_t *y = (int8_t *)out[0];
  const int64_t G = p->group > 0 ? p->group : 1;
  const int64_t cin_g = p->c_in / G, cout_g = p->c_out / G;
  const int64_t ID = p->in_spatial[0], IH = p->in_spatial[1], IW = p->in_spatial[2];
  const int64_t isz = ID * IH * IW;
  const int64_t OD = p->out_spatial[0], OH = p->out_spatial[1], OW = p->out_spatial[2];
  const int64_t P = OD * OH * OW;
  const int64_t KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];
  const int64_t K = cin_g * KD * KH * KW;
  int64_t n, g, co, j, pad_dims_dw[3];
  int nhwc;
  if (P <= 0 || p->c_out <= 0) return;
  if (qrt_qconv_use_gemm(p) && scratch) {
    const int64_t pt = qrt_qconv_tile(p);
    const int64_t gsz = qrt_qconv_group_w_size(p);
    int64_t pad_dims[3];
    const int64_t nhwc_bytes = qrt_qconv_padded_nhwc(p, pad_dims);
    const int64_t pad_bytes = nhwc_bytes ? 0 : qrt_qconv_padded(p, pad_dims);
    int8_t *const xpad = scratch + K * pt; /* after the im2row tile */
    qrt_qgemm_args a;
    memset(&a, 0, sizeof a);
    a.b_format = p->w_format;
    a.N = cout_g;
    a.K = K;
    a.A = scratch;
    a.lda = K;
    a.rs_b = 1;
    a.cs_b = K;
    a.b_packed = p->w_packed;
    a.a_zero_point = p->a_zero_point;
    a.out_zero_point = p->out_zero_point;
    a.out_min = p->out_min;
    a.out_max = p->out_max;
    a.rs_c = 1;
    a.cs_c = P;
    for (n = 0; n < p->n; ++n)
      for (g = 0; g < G; ++g) {
        const int8_t *xg = x + (n * p->c_in + g * cin_g) * isz;
        int8_t *yg = y + (n * p->c_out + g * cout_g) * P;
        a.B = p->w_packed ? w + g * gsz : w + g * cout_g * K;
        a.bias = bias ? bias + g * cout_g : NULL;
        a.mult = mult + g * cout_g;
        a.shift = shift + g * cout_g;
        a.colsum = colsum ? colsum + g * cout_g : NULL;
        if (nhwc_bytes) /* channels last, a_zero_point around */
          qrt_pad_channels_last((const unsigned char *)xg, 1, cin_g, p->in_spatial, p->pads_begin, pad_dims,
                                (unsigned char)(int8_t)p->a_zero_point, (unsigned char *)xpad);
        if (pad_bytes) qrt_qconv_pad(p, xg, cin_g, pad_dims, pad_bytes, xpad);
        for (j = 0; j < P; j += pt) {
          const int64_t wdt = P - j < pt ? P - j : pt;
          if (nhwc_bytes)
            qrt_im2row_channels_last((const unsigned char *)xpad, pad_dims, cin_g, p->out_spatial, p->kernel, p->strides,
                                     p->dilations, j, wdt, (unsigned char *)scratch);
          else if (pad_bytes)
            qrt_qconv_im2row_padded(p, xpad, pad_dims, cin_g, j, wdt, scratch);
          else
            qrt_qconv_im2row(p, xg, cin_g, j, wdt, scratch);
          a.M = wdt;
          a.C = yg + j;
          qrt_qgemm_ex(&a);
        }
      }
    return;
  }
  if (scratch && qrt_qconv_dw_plane(p, pad_dims_dw)) {
    qrt_qconv_dw(p, x, w, bias, mult, shift, scratch, y);
    return;
  }
  /* Direct path: packed weights are read back through the layout (K in
   * (kd, kh, kw, ci) order where the channels-last path packed them). */
  {
    int64_t nhwc_dims[3];
    nhwc = qrt_qconv_padded_nhwc(p, nhwc_dims) > 0;
  }
  for (n = 0; n < p->n; ++n)
    for (g = 0; g < G; ++g)
      for (co = 0; co < cout_g; ++co) {
        const int64_t oc = g * cout_g + co;
        const int8_t *xg = x + (n * p->c_in + g * cin_g) * isz;
        const int64_t k4 = (K + 3) / 4 * 4;
        const int i4 = p->w_packed && p->w_format == QRT_WFMT_I4;
        const unsigned char *wp =
            p->w_packed && !i4 ? (const unsigned char *)w + g * qrt_packed_b_i8_size(K, cout_g) +
                                     (co / 16) * k4 * 16 + (co % 16) * 4
                               : NULL;
        uint8_t tmp[64];
        int64_t od, oh, ow;
        for (od = 0; od < OD; ++od)
          for (oh = 0; oh < OH; ++oh)
            for (ow = 0; ow < OW; ++ow) {
              uint32_t acc = 0;
              int64_t ci, kd, kh, kw, k = 0;
              int64_t t;
              for (ci = 0; ci < cin_g; ++ci)
                for (kd = 0; kd < KD; ++kd)
                  for (kh = 0; kh < KH; ++kh)
                    for (kw = 0; kw < KW; ++kw, ++k) {
                      const int64_t id = od * p->strides[0] + kd * p->dilations[0] - p->pads_begin[0];
                      const int64_t ih = oh * p->strides[1] + kh * p->dilations[1] - p->pads_begin[1];
                      const int64_t iw = ow * p->strides[2] + kw * p->dilations[2] - p->pads_begin[2];
                      int32_t wv;
                      if (id < 0 || id >= ID || ih < 0 || ih >= IH || iw < 0 || iw >= IW) continue;
                      if (i4) /* slow, but only when the compiler did not pick the GEMM path */
                        wv = (int32_t)qrt_packed_b_group(w + g * qrt_packed_b_i4_size(K, cout_g), QRT_WFMT_I4,
                                                         K, co / 16, k / 4, tmp)[(co % 16) * 4 + k % 4] - 128;
                      else if (p->w_packed) {
                        const int64_t kp = nhwc ? ((kd * KH + kh) * KW + kw) * cin_g + ci : k;
                        wv = (int32_t)wp[(kp / 4) * 64 + kp % 4] - 128;
                      } else {
                        wv = (int32_t)w[oc * K + k];
                      }
                      acc += (uint32_t)(((int64_t)xg[(ci * ID + id) * IH * IW + ih * IW + iw] -
                                         (int64_t)p->a_zero_point) * wv);
                    }
              t = (int64_t)(int32_t)acc + (bias ? (int64_t)bias[oc] : 0);
              y[(n * p->c_out + oc) * P + (od * OH + oh) * OW + ow] = (int8_t)qrt_requant(
                  t, mult[oc], shift[oc], p->out_zero_point, p->out_min, p->out_max);
            }
      }
}
