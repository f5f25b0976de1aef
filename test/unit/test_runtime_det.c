/* test_runtime_det.c - qrt_det: random 3x3 matrices against the cofactor
 * formula, a permutation (sign), a singular matrix (0), float64 input,
 * a batch. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

int main(void) {
  enum { B = 20 };
  static float a[B * 9], d[B];
  static double scratch[9];
  qrt_det_params p;
  const void *in[2];
  void *out[1];
  int b, ok = 1;
  fill_f32(a, B * 9, -2.0f, 2.0f);
  memcpy(a + 9, (const float[9]){0, 1, 0, 0, 0, 1, 1, 0, 0}, sizeof(float) * 9);  /* cyclic: +1 */
  memcpy(a + 18, (const float[9]){0, 1, 0, 1, 0, 0, 0, 0, 1}, sizeof(float) * 9); /* swap: -1 */
  memcpy(a + 27, (const float[9]){1, 2, 3, 2, 4, 6, 0, 1, 1}, sizeof(float) * 9); /* singular */
  memset(&p, 0, sizeof p);
  p.dtype = QRT_F32; p.batch = B; p.m = 3;
  in[0] = a; in[1] = scratch; out[0] = d;
  qrt_det(&p, in, out);
  for (b = 0; b < B; ++b) {
    const float *m = a + b * 9;
    double want = (double)m[0] * ((double)m[4] * m[8] - (double)m[5] * m[7]) - (double)m[1] * ((double)m[3] * m[8] - (double)m[5] * m[6]) +
                  (double)m[2] * ((double)m[3] * m[7] - (double)m[4] * m[6]);
    ok &= fabs((double)d[b] - want) <= 1e-5 * (1.0 + fabs(want));
  }
  check(ok, "3x3 determinants");
  check(d[1] == 1.0f && d[2] == -1.0f && d[3] == 0.0f, "permutations and a singular matrix");
  {
    double x[4] = {3.0, 8.0, 4.0, 6.0}, y[1];
    p.dtype = QRT_F64; p.batch = 1; p.m = 2;
    in[0] = x; out[0] = y;
    qrt_det(&p, in, out);
    check(fabs(y[0] - (-14.0)) < 1e-12, "float64 2x2");
  }
  return finish();
}
