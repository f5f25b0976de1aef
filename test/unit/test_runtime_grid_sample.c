/* test_runtime_grid_sample.c - qrt_grid_sample properties: the identity
 * grid reproduces the input exactly (every mode, align_corners 0 and 1);
 * points far outside give 0 (zeros), the nearest edge pixel (border) or
 * a reflected pixel (reflection); bilinear at a pixel-centre midpoint is
 * the mean of the two neighbours. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

#define H 4
#define W 5

static float x[2 * H * W];

static float sample1(int mode, int pad, int align, float gx, float gy, int ch) {
  qrt_grid_sample_params p;
  float g[2] = {gx, gy}, y[2];
  const void *in[2];
  void *out[1];
  memset(&p, 0, sizeof p);
  p.mode = mode; p.padding = pad; p.align_corners = align;
  p.n = 1; p.c = 2; p.h = H; p.w = W; p.oh = 1; p.ow = 1;
  in[0] = x; in[1] = g; out[0] = y;
  qrt_grid_sample(&p, in, out);
  return y[ch];
}

/* normalized grid coordinate of pixel i of `size` */
static float norm(int i, int size, int align) {
  return align ? (float)(2.0 * i / (size - 1) - 1.0) : (float)((2.0 * i + 1.0) / size - 1.0);
}

int main(void) {
  int mode, pad, align, i, j, ok;
  fill_f32(x, 2 * H * W, -3.0f, 3.0f);
  for (mode = 0; mode <= 2; ++mode)
    for (pad = 0; pad <= 2; ++pad)
      for (align = 0; align <= 1; ++align) {
        char what[80];
        ok = 1;
        for (i = 0; i < H; ++i)
          for (j = 0; j < W; ++j)
            ok &= fabsf(sample1(mode, pad, align, norm(j, W, align), norm(i, H, align), 1) - x[H * W + i * W + j]) < 1e-5f;
        sprintf(what, "identity grid mode %d pad %d align %d", mode, pad, align);
        check(ok, what);
      }
  /* far outside (x = 9): zeros -> 0, border -> the right edge column */
  for (mode = 0; mode <= 1; ++mode) {
    check(sample1(mode, QRT_GRID_ZEROS, 0, 9.0f, norm(2, H, 0), 0) == 0.0f, "zeros outside");
    check(fabsf(sample1(mode, QRT_GRID_BORDER, 0, 9.0f, norm(2, H, 0), 0) - x[2 * W + W - 1]) < 1e-6f, "border outside");
  }
  /* reflection with align_corners: pixel -1 reflects to pixel 1 */
  check(fabsf(sample1(QRT_GRID_NEAREST, QRT_GRID_REFLECTION, 1, norm(-1, W, 1), norm(0, H, 1), 0) - x[1]) < 1e-6f,
        "reflection about the first pixel");
  /* bilinear halfway between pixels (1, 2) and (2, 2) */
  check(fabsf(sample1(QRT_GRID_BILINEAR, QRT_GRID_ZEROS, 1, 0.5f * (norm(1, W, 1) + norm(2, W, 1)), norm(2, H, 1), 0) -
              0.5f * (x[2 * W + 1] + x[2 * W + 2])) < 1e-5f,
        "bilinear midpoint");
  return finish();
}
