/* test_runtime_dft.c - qrt_dft: a forward transform followed by the
 * inverse one returns the input (complex, several inner positions); the
 * DFT of a constant is length * (1, 0, 0, ...) with the zero bins within
 * 1e-9 (angles reduced exactly); zero padding and truncation to `length`. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

int main(void) {
  enum { OUTER = 2, N = 12, INNER = 3 };
  static float x[OUTER * N * INNER * 2], f[OUTER * N * INNER * 2], b[OUTER * N * INNER * 2];
  qrt_dft_params p;
  const void *in[1];
  void *out[1];
  int i, ok = 1;
  fill_f32(x, OUTER * N * INNER * 2, -1.0f, 1.0f);
  memset(&p, 0, sizeof p);
  p.complex_in = 2; p.outer = OUTER; p.n = N; p.inner = INNER; p.length = N; p.bins = N;
  in[0] = x; out[0] = f;
  qrt_dft(&p, in, out);
  p.inverse = 1;
  in[0] = f; out[0] = b;
  qrt_dft(&p, in, out);
  for (i = 0; i < OUTER * N * INNER * 2; ++i) ok &= fabsf(b[i] - x[i]) < 1e-5f;
  check(ok, "inverse(forward(x)) == x");
  {
    static float c[16], y[17 * 2];
    for (i = 0; i < 16; ++i) c[i] = 3.0f;
    memset(&p, 0, sizeof p);
    p.complex_in = 1; p.outer = 1; p.n = 16; p.inner = 1; p.length = 16; p.bins = 16;
    in[0] = c; out[0] = y;
    qrt_dft(&p, in, out);
    ok = y[0] == 48.0f && y[1] == 0.0f;
    for (i = 2; i < 32; ++i) ok &= fabsf(y[i]) < 1e-9f;
    check(ok, "constant signal: one non-zero bin");
    /* zero padding to 32 and truncation to 8: bin 0 sums the used part */
    p.length = 32; p.bins = 17;
    qrt_dft(&p, in, out);
    check(y[0] == 48.0f, "padded");
    p.length = 8; p.bins = 8;
    qrt_dft(&p, in, out);
    check(y[0] == 24.0f && fabsf(y[2]) < 1e-9f, "truncated");
  }
  return finish();
}
