#include "qrt.h"
/* qrt_int_linear.c - int32 matmul and convolution with wrapping int32
 * accumulation (ONNX MatMulInteger / ConvInteger and the accumulator of
 * QLinearMatMul / QLinearConv, after the compiler has subtracted the zero
 * points).  Plain loops: integer sums are exact in any order, so no
 * blocking is needed for determinism; these ops are rare outside the
 * conformance suite (qcc's own W8A8 path uses qrt_qmatmul.c / qrt_qconv.c). */

/* qrt_matmul_i32: the batching of QRT_MATMUL_PARAMS (A[b] M x K, B[b]
 * K x N row-major; b_packed, trans_*, bias and act must be 0 / absent). */
QRT_API void qrt_matmul_i32(const void *params, const void *const *in, void *const *out) {
  const qrt_matmul_params *p = (const qrt_matmul_params *)params;
  const int32_t *A = (const int32_t *)in[0], *B = (const int32_t *)in[1];
  int32_t *C = (int32_t *)out[0];
  const int64_t nb = qrt_batch_count(p->batch_rank, p->batch_shape);
  int64_t b, m, n, k;
  for (b = 0; b < nb; ++b) {
    const int32_t *a, *bb;
    int32_t *c = C + b * p->M * p->N;
    int64_t ao, bo;
    qrt_batch_offsets(p->batch_rank, p->batch_shape, p->a_batch_strides, p->b_batch_strides, b, &ao, &bo);
    a = A + ao;
    bb = B + bo;
    for (m = 0; m < p->M; ++m) {
      for (n = 0; n < p->N; ++n) c[m * p->N + n] = 0;
      for (k = 0; k < p->K; ++k) {
        const uint32_t av = (uint32_t)a[m * p->K + k];
        for (n = 0; n < p->N; ++n)
          c[m * p->N + n] = (int32_t)((uint32_t)c[m * p->N + n] + av * (uint32_t)bb[k * p->N + n]);
      }
    }
  }
}

/* qrt_conv_i32: the geometry of QRT_CONV_PARAMS (act must be NONE);
 * in[2] bias int32 [c_out] or NULL; padding cells count as 0. */
QRT_API void qrt_conv_i32(const void *params, const void *const *in, void *const *out) {
  const qrt_conv_params *p = (const qrt_conv_params *)params;
  const int32_t *x = (const int32_t *)in[0], *w = (const int32_t *)in[1], *bias = (const int32_t *)in[2];
  int32_t *y = (int32_t *)out[0];
  const int64_t *is = p->in_spatial, *os = p->out_spatial, *ks = p->kernel;
  const int64_t cin_g = p->group > 0 ? p->c_in / p->group : 0, cout_g = p->group > 0 ? p->c_out / p->group : 0;
  const int64_t in_plane = is[0] * is[1] * is[2], out_plane = os[0] * os[1] * os[2];
  int64_t n, co, od, oh, ow, ci, kd, kh, kw;
  if (cin_g <= 0 || cout_g <= 0) return;
  for (n = 0; n < p->n; ++n)
    for (co = 0; co < p->c_out; ++co) {
      const int64_t g = co / cout_g;
      int32_t *yp = y + (n * p->c_out + co) * out_plane;
      for (od = 0; od < os[0]; ++od)
        for (oh = 0; oh < os[1]; ++oh)
          for (ow = 0; ow < os[2]; ++ow) {
            uint32_t acc = bias ? (uint32_t)bias[co] : 0u;
            for (ci = 0; ci < cin_g; ++ci) {
              const int32_t *xp = x + (n * p->c_in + g * cin_g + ci) * in_plane;
              const int32_t *wp = w + (co * cin_g + ci) * ks[0] * ks[1] * ks[2];
              for (kd = 0; kd < ks[0]; ++kd) {
                const int64_t id = od * p->strides[0] + kd * p->dilations[0] - p->pads_begin[0];
                if (id < 0 || id >= is[0]) continue;
                for (kh = 0; kh < ks[1]; ++kh) {
                  const int64_t ih = oh * p->strides[1] + kh * p->dilations[1] - p->pads_begin[1];
                  if (ih < 0 || ih >= is[1]) continue;
                  for (kw = 0; kw < ks[2]; ++kw) {
                    const int64_t iw = ow * p->strides[2] + kw * p->dilations[2] - p->pads_begin[2];
                    if (iw < 0 || iw >= is[2]) continue;
                    acc += (uint32_t)xp[(id * is[1] + ih) * is[2] + iw] * (uint32_t)wp[(kd * ks[1] + kh) * ks[2] + kw];
                  }
                }
              }
            }
            yp[(od * os[1] + oh) * os[2] + ow] = (int32_t)acc;
          }
    }
}
