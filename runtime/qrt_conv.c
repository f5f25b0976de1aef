#include "qrt.h"
/* qrt_conv.c - N-d convolution, canonical 3 spatial dims (D, H, W).
 * Needs qrt_matmul.c (qrt_sgemm_ex): see QRT_FILE_DEPS.
 *
 * Every output is act(sum + bias[co]) where sum starts at 0 and adds
 * w * x over (ci, kd, kh, kw) in increasing order, padding cells adding
 * w * 0.  Three paths give exactly these bits:
 *  - pointwise (1x1x1, stride 1, no padding): GEMM straight on x;
 *  - GEMM path (>= QRT_CONV_GEMM_MIN_M output channels per group and a
 *    scratch buffer): im2col of a tile of output positions into scratch,
 *    then qrt_sgemm_ex (its k order is the im2col row order);
 *  - direct path (depthwise and other thin groups, or no scratch):
 *    accumulates w * x rows into the output plane in the same order;
 *    depthwise from a zero-padded copy of each input plane (no bounds per
 *    tap: qrt_conv_dw_plane).
 * With packed weights (w_packed, constant weights of a GEMM-path conv) the
 * order is (kd, kh, kw, ci) instead, and the rows path computes it:
 *  - rows path: the input of one image and group copied channels last and
 *    padded ([PD, PH, PW, cin_g], zeros around), then per tile of output
 *    positions an im2row (row = position, K = (kd, kh, kw, ci): one copy of
 *    KW * cin_g contiguous floats per (kd, kh)), the GEMM with the packed
 *    W^T as B (every panel full: N = output channels), and the tile's
 *    [positions, channels] result transposed into the NCDHW output. The
 *    im2col of the GEMM path copies a row of positions per (ci, kd, kh,
 *    kw), 7-56 floats in a CNN's later layers, and fills 16-column panels
 *    of positions (49 = 3 full + 1 column at 7x7). */
#include <string.h>

#define QRT_CONV_GEMM_MIN_M 4
#define QRT_CONV_COL_BUDGET 65536 /* floats in one im2col tile (256 KiB) */

QRT_INTERNAL int qrt_conv_pointwise(const qrt_conv_params *p) {
  int k;
  for (k = 0; k < 3; ++k)
    if (p->kernel[k] != 1 || p->strides[k] != 1 || p->pads_begin[k] != 0 ||
        p->out_spatial[k] != p->in_spatial[k])
      return 0;
  return 1;
}

QRT_INTERNAL int qrt_conv_use_gemm(const qrt_conv_params *p) {
  return p->group > 0 && p->c_out / p->group >= QRT_CONV_GEMM_MIN_M;
}

/* Output positions per im2col tile. */
QRT_INTERNAL int64_t qrt_conv_tile(const qrt_conv_params *p) {
  const int64_t K = (p->group > 0 ? p->c_in / p->group : 0) * p->kernel[0] * p->kernel[1] *
                    p->kernel[2];
  const int64_t P = p->out_spatial[0] * p->out_spatial[1] * p->out_spatial[2];
  int64_t t = K > 0 ? QRT_CONV_COL_BUDGET / K : P;
  t = t / 16 * 16;
  if (t < 64) t = 64;
  return t < P ? t : P;
}

#define QRT_CONV_ROWS_BUDGET 262144 /* floats in one im2row tile (1 MiB) */

/* The rows path's padded channels-last input: dims [PD, PH, PW] (each
 * covering every window and the input at offset pads_begin); its floats,
 * or 0 where the path does not apply (dilated rows, negative pads, or a
 * copy over twice the group's input and 64 Ki floats). */
QRT_INTERNAL int64_t qrt_conv_padded_nhwc(const qrt_conv_params *p, int64_t dims[3]) {
  const int64_t cin_g = p->group > 0 ? p->c_in / p->group : 0;
  const int64_t in = cin_g * p->in_spatial[0] * p->in_spatial[1] * p->in_spatial[2];
  int64_t n;
  if (!qrt_conv_use_gemm(p) || qrt_conv_pointwise(p) || p->dilations[2] != 1 || cin_g < 1) return 0;
  n = cin_g * qrt_window_cover(p->in_spatial, p->out_spatial, p->kernel, p->strides, p->dilations, p->pads_begin, dims);
  return n <= 65536 || n <= 2 * in ? n : 0;
}

QRT_API int qrt_conv_packs_w(const qrt_conv_params *p) {
  int64_t dims[3];
  return qrt_conv_padded_nhwc(p, dims) > 0;
}

/* Output positions per tile of the rows path: a multiple of 8 (the GEMM's
 * micro-tile height), the whole output when it fits the budget. */
QRT_INTERNAL int64_t qrt_conv_rows_tile(const qrt_conv_params *p) {
  const int64_t K = (p->group > 0 ? p->c_in / p->group : 0) * p->kernel[0] * p->kernel[1] * p->kernel[2];
  const int64_t P = p->out_spatial[0] * p->out_spatial[1] * p->out_spatial[2];
  int64_t t = K > 0 ? QRT_CONV_ROWS_BUDGET / K / 8 * 8 : P;
  if (t < 8) t = 8;
  return t < P ? t : P;
}

/* The depthwise path (one input channel per group, the direct path's
 * convolutions in a MobileNet): each input plane is copied once into a
 * zero-padded plane [PD, PH, PW] covering every window, so that each tap
 * of an output row is one pass over contiguous (or strided) floats with no
 * bounds: same sum order, and a padding cell still adds w * 0. Its floats,
 * or 0 where it does not apply. */
QRT_INTERNAL int64_t qrt_conv_dw_plane(const qrt_conv_params *p, int64_t dims[3]) {
  int64_t n;
  if (p->group <= 1 || p->c_in != p->group || qrt_conv_use_gemm(p)) return 0;
  n = qrt_window_cover(p->in_spatial, p->out_spatial, p->kernel, p->strides, p->dilations, p->pads_begin, dims);
  if (n == 0 || (n > 65536 && n > 2 * p->in_spatial[0] * p->in_spatial[1] * p->in_spatial[2])) return 0;
  return n + p->out_spatial[1] * dims[2]; /* then one output plane at the padded width */
}

QRT_API int64_t qrt_conv_scratch_f32(const qrt_conv_params *p) {
  const int64_t cout_g = p->group > 0 ? p->c_out / p->group : 0;
  const int64_t K = (p->group > 0 ? p->c_in / p->group : 0) * p->kernel[0] * p->kernel[1] *
                    p->kernel[2];
  int64_t dims[3];
  if (qrt_conv_dw_plane(p, dims)) return qrt_conv_dw_plane(p, dims) * (int64_t)sizeof(float);
  if (!qrt_conv_use_gemm(p) || qrt_conv_pointwise(p)) return 0;
  if (p->w_packed) /* rows tile, its result, the padded input */
    return (qrt_conv_rows_tile(p) * (K + cout_g) + qrt_conv_padded_nhwc(p, dims)) * (int64_t)sizeof(float);
  return K * qrt_conv_tile(p) * (int64_t)sizeof(float);
}

QRT_API int64_t qrt_conv_packed_w_size(const qrt_conv_params *p) {
  const int64_t G = p->group > 0 ? p->group : 1;
  const int64_t K = p->c_in / G * p->kernel[0] * p->kernel[1] * p->kernel[2];
  return G * qrt_packed_b_size(K, p->c_out / G);
}

/* Per group, W_g^T with K in (kd, kh, kw, ci) order in the packed-B
 * layout (qrt.h: panels of 16 columns, K rows of 16 floats each): packed
 * row k' = (kd * KH + kh) * KW + kw) * cin_g + ci is weight row (ci, kd,
 * kh, kw). */
QRT_API void qrt_pack_conv_w_f32(const qrt_conv_params *p, const float *w, float *packed) {
  const int64_t G = p->group > 0 ? p->group : 1;
  const int64_t cin_g = p->c_in / G, cout_g = p->c_out / G, T = p->kernel[0] * p->kernel[1] * p->kernel[2];
  const int64_t K = cin_g * T, gsz = qrt_packed_b_size(K, cout_g);
  int64_t g, t, ci, n;
  const int64_t cols = (cout_g + QRT_SGEMM_NR - 1) / QRT_SGEMM_NR * QRT_SGEMM_NR;
  for (g = 0; g < G; ++g)
    for (n = 0; n < cols; ++n)
      for (t = 0; t < T; ++t)
        for (ci = 0; ci < cin_g; ++ci)
          packed[g * gsz + (n / QRT_SGEMM_NR) * K * QRT_SGEMM_NR + (t * cin_g + ci) * QRT_SGEMM_NR + n % QRT_SGEMM_NR] =
              n < cout_g ? w[(g * cout_g + n) * K + ci * T + t] : 0.0f;
}

/* The GEMM arguments both GEMM paths share: K, A rows of K contiguous
 * values (the weights, or the im2row tile), the activation and FMA. */
QRT_INTERNAL void qrt_conv_gemm_args(const qrt_conv_params *p, int64_t K, qrt_sgemm_args *a) {
  memset(a, 0, sizeof *a);
  a->K = K;
  a->rs_a = K;
  a->cs_a = 1;
  a->act = p->act;
  a->act_alpha = p->act_alpha;
  a->act_beta = p->act_beta;
  a->fused = p->fused;
}

/* The rows path over every image and group (see the top of the file). */
QRT_INTERNAL void qrt_conv_rows(const qrt_conv_params *p, const float *x, const float *w, const float *bias,
                                float *scratch, float *y) {
  const int64_t G = p->group > 0 ? p->group : 1;
  const int64_t cin_g = p->c_in / G, cout_g = p->c_out / G;
  const int64_t isz = p->in_spatial[0] * p->in_spatial[1] * p->in_spatial[2];
  const int64_t P = p->out_spatial[0] * p->out_spatial[1] * p->out_spatial[2];
  const int64_t K = cin_g * p->kernel[0] * p->kernel[1] * p->kernel[2];
  const int64_t pt = qrt_conv_rows_tile(p), gsz = qrt_packed_b_size(K, cout_g);
  int64_t dims[3], n, g, j, r, co;
  qrt_conv_padded_nhwc(p, dims); /* fills dims */
  float *rows = scratch, *tile = scratch + pt * K, *xp = tile + pt * cout_g;
  qrt_sgemm_args a;
  qrt_conv_gemm_args(p, K, &a);
  a.N = cout_g;
  a.A = rows;
  a.b_packed = 1;
  a.C = tile;
  a.ldc = cout_g;
  a.bias_rs = 0;
  a.bias_cs = 1;
  for (n = 0; n < p->n; ++n)
    for (g = 0; g < G; ++g) {
      float *yg = y + (n * p->c_out + g * cout_g) * P;
      qrt_pad_channels_last((const unsigned char *)(x + (n * p->c_in + g * cin_g) * isz), sizeof(float), cin_g,
                            p->in_spatial, p->pads_begin, dims, 0, (unsigned char *)xp);
      a.B = w + g * gsz;
      a.bias = bias ? bias + g * cout_g : NULL;
      for (j = 0; j < P; j += pt) {
        const int64_t m = P - j < pt ? P - j : pt;
        qrt_im2row_channels_last((const unsigned char *)xp, dims, cin_g * (int64_t)sizeof(float), p->out_spatial, p->kernel,
                                 p->strides, p->dilations, j, m, (unsigned char *)rows);
        a.M = m;
        qrt_sgemm_ex(&a);
        for (co = 0; co < cout_g; ++co)
          for (r = 0; r < m; ++r) yg[co * P + j + r] = tile[r * cout_g + co];
      }
    }
}

QRT_INTERNAL int64_t qrt_conv_ceil_div(int64_t a, int64_t b) {
  if (b == 1) return a; /* the common stride: no division */
  return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

/* Output columns ow whose input column ow*s + k*d - pad is in [0, n):
 * [*lo, *hi), clamped to [0, on]. */
QRT_INTERNAL void qrt_conv_range(int64_t n, int64_t on, int64_t s, int64_t off, int64_t *lo,
                                 int64_t *hi) {
  int64_t a = qrt_conv_ceil_div(-off, s), b = qrt_conv_ceil_div(n - off, s);
  if (a < 0) a = 0;
  if (a > on) a = on;
  if (b > on) b = on;
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

/* dst[j - ow] for ow <= j < e: input column j*sw + offw of row xr where
 * a <= j < b, else 0 (padding).  One loop with a conditional load: the
 * usual zero, copy and zero loops become memset/memcpy calls, which cost
 * more than the 1-16 floats they move in small images' rows. */
QRT_INTERNAL void qrt_conv_im2col_row(float *dst, const float *xr, int64_t ow, int64_t e, int64_t a,
                                      int64_t b, int64_t sw, int64_t offw) {
  int64_t j;
  if (b - a >= 16) { /* a long inside run: zero, copy, zero, each a vector loop */
    for (j = ow; j < a; ++j) dst[j - ow] = 0.0f;
    if (sw == 1)
      for (j = a; j < b; ++j) dst[j - ow] = xr[j + offw];
    else if (sw == 2) /* a constant stride: loads and a shuffle per vector */
      for (j = a; j < b; ++j) dst[j - ow] = xr[j * 2 + offw];
    else
      for (j = a; j < b; ++j) dst[j - ow] = xr[j * sw + offw];
    for (j = b; j < e; ++j) dst[j - ow] = 0.0f;
    return;
  }
  if (sw == 1) {
    for (j = ow; j < e; ++j) dst[j - ow] = j >= a && j < b ? xr[j + offw] : 0.0f;
  } else {
    for (j = ow; j < e; ++j) dst[j - ow] = j >= a && j < b ? xr[j * sw + offw] : 0.0f;
  }
}

/* im2col of output positions [p0, p0 + pt) for one image and group:
 * col[r][j], r = ((ci*KD + kd)*KH + kh)*KW + kw, row stride pt.
 * A tile of whole output rows (small images: the whole image) goes row
 * by row with the inside columns [lo, hi) of each kw computed once;
 * otherwise segment by segment. */
QRT_INTERNAL void qrt_conv_im2col(const qrt_conv_params *p, const float *x, int64_t cin_g,
                                  int64_t p0, int64_t pt, float *col) {
  const int64_t ID = p->in_spatial[0], IH = p->in_spatial[1], IW = p->in_spatial[2];
  const int64_t OH = p->out_spatial[1], OW = p->out_spatial[2];
  const int64_t KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];
  const int64_t sw = p->strides[2];
  /* The tile's first position, divided out once, not per row of col. */
  const int64_t od0 = p0 / (OH * OW), oh0 = p0 / OW % OH, ow0 = p0 % OW;
  const int whole_rows = ow0 == 0 && pt % OW == 0;
  int64_t ci, kd, kh, kw;
  float *dst = col;
  for (ci = 0; ci < cin_g; ++ci) {
    const float *xc = x + ci * ID * IH * IW;
    for (kd = 0; kd < KD; ++kd)
      for (kh = 0; kh < KH; ++kh)
        for (kw = 0; kw < KW; ++kw) {
          const int64_t offw = kw * p->dilations[2] - p->pads_begin[2];
          int64_t lo, hi, pos = p0, od = od0, oh = oh0, ow = ow0;
          qrt_conv_range(IW, OW, sw, offw, &lo, &hi);
          if (whole_rows) {
            int64_t r;
            for (r = 0; r < pt / OW; ++r) {
              const int64_t id = od * p->strides[0] + kd * p->dilations[0] - p->pads_begin[0];
              const int64_t ih = oh * p->strides[1] + kh * p->dilations[1] - p->pads_begin[1];
              if (id < 0 || id >= ID || ih < 0 || ih >= IH)
                qrt_conv_im2col_row(dst, xc, 0, OW, 0, 0, sw, offw); /* all padding */
              else
                qrt_conv_im2col_row(dst, xc + (id * IH + ih) * IW, 0, OW, lo, hi, sw, offw);
              dst += OW;
              if (++oh == OH) { oh = 0; ++od; }
            }
            continue;
          }
          while (pos < p0 + pt) {
            const int64_t seg = OW - ow < p0 + pt - pos ? OW - ow : p0 + pt - pos;
            const int64_t id = od * p->strides[0] + kd * p->dilations[0] - p->pads_begin[0];
            const int64_t ih = oh * p->strides[1] + kh * p->dilations[1] - p->pads_begin[1];
            const int64_t e = ow + seg;
            if (id < 0 || id >= ID || ih < 0 || ih >= IH) {
              qrt_conv_im2col_row(dst, xc, ow, e, ow, ow, sw, offw); /* all padding */
            } else {
              const int64_t a = lo > ow ? (lo < e ? lo : e) : ow;
              const int64_t b = hi < e ? (hi > a ? hi : a) : e;
              qrt_conv_im2col_row(dst, xc + (id * IH + ih) * IW, ow, e, a, b, sw, offw);
            }
            dst += seg;
            pos += seg;
            ow += seg;
            if (ow == OW) {
              ow = 0;
              if (++oh == OH) { oh = 0; ++od; }
            }
          }
        }
  }
}

/* row[j] += wv * x[id, ih, j * sw + kw * dw - pad] for the output row at
 * (od, oh) and tap (kd, kh, kw) of channel plane xc; cells in the padding
 * add wv * 0. */
QRT_INTERNAL QRT_ALWAYS_INLINE inline void qrt_conv_direct_tap(const qrt_conv_params *p, const float *xc, float wv,
                                                              int64_t od, int64_t oh, int64_t kd, int64_t kh,
                                                              int64_t kw, float *row) {
  const int64_t ID = p->in_spatial[0], IH = p->in_spatial[1], IW = p->in_spatial[2], OW = p->out_spatial[2];
  const int64_t id = od * p->strides[0] + kd * p->dilations[0] - p->pads_begin[0];
  const int64_t ih = oh * p->strides[1] + kh * p->dilations[1] - p->pads_begin[1];
  const int64_t sw = p->strides[2], offw = kw * p->dilations[2] - p->pads_begin[2];
  const float wz = wv * 0.0f;
  const float *xr;
  int64_t j, lo, hi;
  if (id < 0 || id >= ID || ih < 0 || ih >= IH) {
    for (j = 0; j < OW; ++j) row[j] = row[j] + wz;
    return;
  }
  xr = xc + (id * IH + ih) * IW;
  qrt_conv_range(IW, OW, sw, offw, &lo, &hi);
  for (j = 0; j < lo; ++j) row[j] = row[j] + wz;
  if (sw == 1)
    for (j = lo; j < hi; ++j) row[j] = row[j] + wv * xr[j + offw];
  else
    for (j = lo; j < hi; ++j) row[j] = row[j] + wv * xr[j * sw + offw];
  for (j = hi; j < OW; ++j) row[j] = row[j] + wz;
}

/* y[j] = act(y[j] + bias[0]) over n floats (qrt_act_inplace_f32: a loop
 * per activation, as the switch of qrt_act_f32 inside the loop kept it
 * scalar). */
QRT_INTERNAL void qrt_conv_bias_act(const qrt_conv_params *p, const float *bias, int64_t n, float *y) {
  int64_t j;
  if (bias)
    for (j = 0; j < n; ++j) y[j] = y[j] + bias[0];
  qrt_act_inplace_f32(y, n, p->act, p->act_alpha, p->act_beta);
}

/* acc[j] += wv * src[j] for j < n (restrict: a vector loop). */
QRT_INTERNAL void qrt_conv_dw_tap(float *restrict acc, const float *restrict src, int64_t n, float wv) {
  int64_t j;
  for (j = 0; j < n; ++j) acc[j] = acc[j] + wv * src[j];
}

/* Output channel y [OD, OH, OW] of the depthwise path from the padded
 * plane xp (dims): per output row, tap by tap (kd, kh, kw) in order, one
 * pass row[j] += w * xp[..., j * sw + kw * dw]. */
QRT_INTERNAL void qrt_conv_dw_channel(const qrt_conv_params *p, const float *xp, const int64_t dims[3], const float *w,
                                      float *acc, float *y) {
  const int64_t OD = p->out_spatial[0], OH = p->out_spatial[1], OW = p->out_spatial[2];
  const int64_t KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];
  const int64_t PH = dims[1], PW = dims[2], sw = p->strides[2], dw = p->dilations[2];
  int64_t od, oh, kd, kh, kw, j;
  if (sw == 1 && p->strides[1] == 1) {
    /* stride 1: each tap one pass over the whole output plane at the
     * padded width PW (columns past OW computed and dropped): passes long
     * enough to vectorize at 7-28 columns */
    const int64_t L = (OH - 1) * PW + OW;
    for (od = 0; od < OD; ++od) {
      for (j = 0; j < L; ++j) acc[j] = 0.0f;
      for (kd = 0; kd < KD; ++kd)
        for (kh = 0; kh < KH; ++kh)
          for (kw = 0; kw < KW; ++kw)
            qrt_conv_dw_tap(acc, xp + ((od * p->strides[0] + kd * p->dilations[0]) * PH + kh * p->dilations[1]) * PW + kw * dw,
                            L, w[(kd * KH + kh) * KW + kw]);
      for (oh = 0; oh < OH; ++oh) memcpy(y + (od * OH + oh) * OW, acc + oh * PW, (size_t)OW * sizeof(float));
    }
    return;
  }
  for (od = 0; od < OD; ++od)
    for (oh = 0; oh < OH; ++oh) {
      float *row = y + (od * OH + oh) * OW;
      for (j = 0; j < OW; ++j) row[j] = 0.0f;
      for (kd = 0; kd < KD; ++kd)
        for (kh = 0; kh < KH; ++kh) {
          const float *pr = xp + ((od * p->strides[0] + kd * p->dilations[0]) * PH + oh * p->strides[1] +
                                  kh * p->dilations[1]) * PW;
          for (kw = 0; kw < KW; ++kw) {
            const float wv = w[(kd * KH + kh) * KW + kw];
            const float *src = pr + kw * dw;
            if (sw == 1)
              for (j = 0; j < OW; ++j) row[j] = row[j] + wv * src[j];
            else if (sw == 2)
              for (j = 0; j < OW; ++j) row[j] = row[j] + wv * src[2 * j];
            else
              for (j = 0; j < OW; ++j) row[j] = row[j] + wv * src[j * sw];
          }
        }
    }
}

/* Direct path for one output channel of one image: each output row is
 * accumulated in place (it stays in L1) over (ci, kd, kh, kw), or over
 * (kd, kh, kw, ci) when taps_first (packed weights); weight k of that
 * order is w[k * ws]. */
QRT_INTERNAL void qrt_conv_direct_channel(const qrt_conv_params *p, const float *x, const float *w, int64_t ws,
                                          int taps_first, int64_t cin_g, float *y) {
  const int64_t ID = p->in_spatial[0], IH = p->in_spatial[1], IW = p->in_spatial[2];
  const int64_t OD = p->out_spatial[0], OH = p->out_spatial[1], OW = p->out_spatial[2];
  const int64_t KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];
  int64_t od, oh, j, ci, kd, kh, kw, k;
  for (od = 0; od < OD; ++od)
    for (oh = 0; oh < OH; ++oh) {
      float *row = y + (od * OH + oh) * OW;
      for (j = 0; j < OW; ++j) row[j] = 0.0f;
      k = 0;
      if (taps_first) {
        for (kd = 0; kd < KD; ++kd)
          for (kh = 0; kh < KH; ++kh)
            for (kw = 0; kw < KW; ++kw)
              for (ci = 0; ci < cin_g; ++ci, ++k)
                qrt_conv_direct_tap(p, x + ci * ID * IH * IW, w[k * ws], od, oh, kd, kh, kw, row);
      } else {
        for (ci = 0; ci < cin_g; ++ci)
          for (kd = 0; kd < KD; ++kd)
            for (kh = 0; kh < KH; ++kh)
              for (kw = 0; kw < KW; ++kw, ++k)
                qrt_conv_direct_tap(p, x + ci * ID * IH * IW, w[k * ws], od, oh, kd, kh, kw, row);
      }
    }
}

QRT_API void qrt_conv_f32(const void *params, const void *const *in, void *const *out) {
  const qrt_conv_params *p = (const qrt_conv_params *)params;
  const float *x = (const float *)in[0];
  const float *w = (const float *)in[1];
  const float *bias = (const float *)in[2];
  float *scratch = (float *)in[3];
  float *y = (float *)out[0];
  const int64_t G = p->group > 0 ? p->group : 1;
  const int64_t cin_g = p->c_in / G, cout_g = p->c_out / G;
  const int64_t isz = p->in_spatial[0] * p->in_spatial[1] * p->in_spatial[2];
  const int64_t P = p->out_spatial[0] * p->out_spatial[1] * p->out_spatial[2];
  const int64_t K = cin_g * p->kernel[0] * p->kernel[1] * p->kernel[2];
  const int pointwise = qrt_conv_pointwise(p);
  int64_t n, g, co, j;
  if (P <= 0 || p->c_out <= 0) return;
  if (p->w_packed && scratch) {
    qrt_conv_rows(p, x, w, bias, scratch, y);
    return;
  }
  if (qrt_conv_use_gemm(p) && !p->w_packed && (pointwise || scratch)) {
    const int64_t pt = qrt_conv_tile(p);
    qrt_sgemm_args a;
    qrt_conv_gemm_args(p, K, &a);
    a.M = cout_g;
    a.cs_b = 1;
    a.ldc = P;
    a.bias_rs = 1;
    a.bias_cs = 0;
    for (n = 0; n < p->n; ++n)
      for (g = 0; g < G; ++g) {
        const float *xg = x + (n * p->c_in + g * cin_g) * isz;
        float *yg = y + (n * p->c_out + g * cout_g) * P;
        a.A = w + g * cout_g * K;
        a.bias = bias ? bias + g * cout_g : NULL;
        if (pointwise) {
          a.N = P;
          a.B = xg;
          a.rs_b = P;
          a.C = yg;
          qrt_sgemm_ex(&a);
          continue;
        }
        for (j = 0; j < P; j += pt) {
          const int64_t wdt = P - j < pt ? P - j : pt;
          qrt_conv_im2col(p, xg, cin_g, j, wdt, scratch);
          a.N = wdt;
          a.B = scratch;
          a.rs_b = wdt;
          a.C = yg + j;
          qrt_sgemm_ex(&a);
        }
      }
    return;
  }
  for (n = 0; n < p->n; ++n)
    for (g = 0; g < G; ++g) {
      int64_t dims[3];
      const int64_t plane = scratch ? qrt_conv_dw_plane(p, dims) : 0;
      if (plane) { /* the input channel padded once for its cout_g outputs */
        const float *xc = x + (n * p->c_in + g) * isz;
        int64_t id, ih;
        memset(scratch, 0, (size_t)plane * sizeof(float));
        for (id = 0; id < p->in_spatial[0]; ++id)
          for (ih = 0; ih < p->in_spatial[1]; ++ih)
            memcpy(scratch + ((p->pads_begin[0] + id) * dims[1] + p->pads_begin[1] + ih) * dims[2] + p->pads_begin[2],
                   xc + (id * p->in_spatial[1] + ih) * p->in_spatial[2], (size_t)p->in_spatial[2] * sizeof(float));
      }
      for (co = g * cout_g; co < (g + 1) * cout_g; ++co) {
        float *yc = y + (n * p->c_out + co) * P;
        if (plane)
          qrt_conv_dw_channel(p, scratch, dims, w + co * K, scratch + plane - p->out_spatial[1] * dims[2], yc);
        else if (p->w_packed) /* column co of the packed W_g^T: k rows QRT_SGEMM_NR floats apart */
          qrt_conv_direct_channel(p, x + (n * p->c_in + g * cin_g) * isz,
                                  w + g * qrt_packed_b_size(K, cout_g) + ((co - g * cout_g) / QRT_SGEMM_NR) * K * QRT_SGEMM_NR +
                                      (co - g * cout_g) % QRT_SGEMM_NR,
                                  QRT_SGEMM_NR, 1, cin_g, yc);
        else
          qrt_conv_direct_channel(p, x + (n * p->c_in + g * cin_g) * isz, w + co * K, 1, 0, cin_g, yc);
        qrt_conv_bias_act(p, bias ? bias + co : NULL, P, yc);
      }
    }
}
