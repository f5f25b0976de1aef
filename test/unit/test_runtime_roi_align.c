/* test_runtime_roi_align.c - qrt_roi_align: on a linear ramp image
 * (value = x) bilinear samples are exact, so an AVG bin equals the ramp at
 * the bin's mean sample position; a constant image gives the constant in
 * both modes' AVG; rois are offset by batch index. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

int main(void) {
  enum { H = 8, W = 10 };
  static float x[2 * H * W], y[2 * 3 * 4];
  const float rois[8] = {1.0f, 1.0f, 7.0f, 5.0f, 2.0f, 0.0f, 8.0f, 6.0f};
  const int64_t bidx[2] = {0, 1};
  qrt_roi_align_params p;
  const void *in[3];
  void *out[1];
  int i, j, r, ok = 1;
  for (i = 0; i < H; ++i)
    for (j = 0; j < W; ++j) {
      x[i * W + j] = (float)j;  /* batch 0: ramp along x */
      x[H * W + i * W + j] = 5.0f; /* batch 1: constant */
    }
  memset(&p, 0, sizeof p);
  p.mode = QRT_ROI_AVG; p.half_pixel = 1; p.sampling_ratio = 2; p.spatial_scale = 1.0f;
  p.n = 2; p.c = 1; p.h = H; p.w = W; p.num_rois = 2; p.oh = 3; p.ow = 4;
  in[0] = x; in[1] = rois; in[2] = bidx; out[0] = y;
  qrt_roi_align(&p, in, out);
  for (r = 0; r < 3; ++r)
    for (j = 0; j < 4; ++j) {
      /* roi x from 0.5 to 6.5, bins 1.5 wide, samples at 1/4 and 3/4 */
      const double want = 0.5 + 1.5 * j + 0.75;
      ok &= fabs(y[r * 4 + j] - want) < 1e-5;
      ok &= fabsf(y[12 + r * 4 + j] - 5.0f) < 1e-6f;
    }
  check(ok, "ramp and constant images");
  return finish();
}
