/* test_runtime_int_linear.c - qrt_matmul_i32 (batch broadcasting) and
 * qrt_conv_i32 (strides, dilations, padding, groups, bias) against int64
 * references reduced modulo 2^32; inputs large enough that the int32
 * accumulators wrap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static int32_t wrap(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

static void run_matmul(int64_t M, int64_t N, int64_t K, int bcast_a) {
  const int64_t batch = 3;
  int32_t *a = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)(batch * M * K));
  int32_t *b = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)(batch * K * N));
  int32_t *c = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)(batch * M * N));
  qrt_matmul_params p;
  const void *in[3];
  void *out[1];
  int64_t bt, m, n, k;
  int ok = 1;
  for (m = 0; m < batch * M * K; ++m) a[m] = (int32_t)irand(-70000, 70000);
  for (m = 0; m < batch * K * N; ++m) b[m] = (int32_t)irand(-70000, 70000);
  memset(&p, 0, sizeof p);
  p.M = M; p.N = N; p.K = K; p.batch_rank = 1; p.batch_shape[0] = batch;
  p.a_batch_strides[0] = bcast_a ? 0 : M * K;
  p.b_batch_strides[0] = K * N;
  in[0] = a; in[1] = b; in[2] = NULL; out[0] = c;
  qrt_matmul_i32(&p, in, out);
  for (bt = 0; bt < batch; ++bt)
    for (m = 0; m < M; ++m)
      for (n = 0; n < N; ++n) {
        uint64_t acc = 0;
        for (k = 0; k < K; ++k)
          acc += (uint64_t)((int64_t)a[(bcast_a ? 0 : bt) * M * K + m * K + k] * b[bt * K * N + k * N + n]);
        ok &= c[(bt * M + m) * N + n] == wrap((int64_t)acc);
      }
  check(ok, bcast_a ? "matmul_i32 broadcast A" : "matmul_i32");
  free(a); free(b); free(c);
}

static void run_conv(int group, int64_t stride, int64_t dil, int64_t pad, int with_bias) {
  qrt_conv_params p;
  const int64_t N = 2, C = 4, M = 6, H = 7, W = 6, KH = 3, KW = 2;
  const int64_t cg = C / group, mg = M / group;
  const int64_t OH = (H + 2 * pad - dil * (KH - 1) - 1) / stride + 1, OW = (W + 2 * pad - dil * (KW - 1) - 1) / stride + 1;
  int32_t *x = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)(N * C * H * W));
  int32_t *w = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)(M * cg * KH * KW));
  int32_t *y = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)(N * M * OH * OW)), bias[6];
  const void *in[3];
  void *out[1];
  int64_t n, m, oh, ow, c, kh, kw;
  int ok = 1;
  char what[80];
  for (n = 0; n < N * C * H * W; ++n) x[n] = (int32_t)irand(-300000, 300000);
  for (n = 0; n < M * cg * KH * KW; ++n) w[n] = (int32_t)irand(-300000, 300000);
  for (n = 0; n < M; ++n) bias[n] = (int32_t)irand(-1000000, 1000000);
  memset(&p, 0, sizeof p);
  p.group = group; p.n = N; p.c_in = C; p.c_out = M;
  p.in_spatial[0] = 1; p.in_spatial[1] = H; p.in_spatial[2] = W;
  p.out_spatial[0] = 1; p.out_spatial[1] = OH; p.out_spatial[2] = OW;
  p.kernel[0] = 1; p.kernel[1] = KH; p.kernel[2] = KW;
  p.strides[0] = 1; p.strides[1] = stride; p.strides[2] = stride;
  p.dilations[0] = 1; p.dilations[1] = dil; p.dilations[2] = dil;
  p.pads_begin[1] = pad; p.pads_begin[2] = pad;
  in[0] = x; in[1] = w; in[2] = with_bias ? bias : NULL; out[0] = y;
  qrt_conv_i32(&p, in, out);
  for (n = 0; n < N; ++n)
    for (m = 0; m < M; ++m)
      for (oh = 0; oh < OH; ++oh)
        for (ow = 0; ow < OW; ++ow) {
          uint64_t acc = with_bias ? (uint64_t)(int64_t)bias[m] : 0;
          for (c = 0; c < cg; ++c)
            for (kh = 0; kh < KH; ++kh)
              for (kw = 0; kw < KW; ++kw) {
                int64_t ih = oh * stride + kh * dil - pad, iw = ow * stride + kw * dil - pad;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += (uint64_t)((int64_t)x[((n * C + (m / mg) * cg + c) * H + ih) * W + iw] *
                                  w[((m * cg + c) * KH + kh) * KW + kw]);
              }
          ok &= y[((n * M + m) * OH + oh) * OW + ow] == wrap((int64_t)acc);
        }
  sprintf(what, "conv_i32 group %d stride %lld dil %lld pad %lld bias %d", group, (long long)stride, (long long)dil,
          (long long)pad, with_bias);
  check(ok, what);
  free(x); free(w); free(y);
}

int main(void) {
  run_matmul(5, 7, 9, 0);
  run_matmul(1, 33, 17, 1);
  run_conv(1, 1, 1, 0, 0);
  run_conv(2, 2, 1, 1, 1);
  run_conv(1, 1, 2, 2, 1);
  return finish();
}
