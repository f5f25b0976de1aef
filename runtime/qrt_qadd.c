#include "qrt.h"
/* qrt_qadd.c - int8 + int8 -> int8 addition with numpy broadcasting
 * (integer-only residual adds; format: QRT_QADD_PARAMS), and its
 * compile-time constants (qrt_build_qadd_i8).
 *
 * Real values s_a (a - z_a) + s_b (b - z_b) requantized to s_y, z_y:
 *   acc = (a - z_a) M_a + (b - z_b) M_b          (|acc| < 2 * 255 * 2^22 < 2^31)
 *   y   = clamp(z_y + round(acc / 2^S), out_min, out_max)
 * round = half away from zero, with M_a = round(s_a / s_y 2^S), M_b =
 * round(s_b / s_y 2^S) in [0, 2^22) and one shift S in [0, 31], the
 * largest with both multipliers below 2^22: everything fits 32 bits, so
 * the loop vectorizes in 32-bit lanes.  One rounding at the end (TFLite's
 * add rounds each operand first, then the sum).
 *
 * Error: the multipliers are off by at most 1/2 each, so acc / 2^S is
 * within 255 2^-S of the exact s_a (a - z_a) / s_y + s_b (b - z_b) / s_y;
 * the result is the correctly rounded one unless that value lies within
 * 255 2^-S of a half-integer (S >= 20 when both scale ratios are at most
 * 2: within 2.5e-4).
 *
 * The broadcast walk is qrt_broadcast.c's (QRT_FILE_DEPS). */
#include <math.h>
#include <string.h>

/* qrt_qadd_ctx and qrt_qadd_one live in qrt.h: the NPU executor's ADD
 * command (qrt_npu.c) computes with them too. */

/* qrt_bin_drive's row function: strides (1, 1) (the residual add) and
 * (1, 0) / (0, 1) (a broadcast operand) get their own loops. */
QRT_INTERNAL void qrt_qadd_row(int64_t n, const void *va, int64_t sa, const void *vb, int64_t sb,
                               void *vy, const void *ctx) {
  const qrt_qadd_ctx *c = (const qrt_qadd_ctx *)ctx;
  const int8_t *a = (const int8_t *)va, *b = (const int8_t *)vb;
  int8_t *y = (int8_t *)vy;
  int64_t i;
  if (sa == 1 && sb == 1) {
    for (i = 0; i < n; ++i) y[i] = qrt_qadd_one(c, a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    for (i = 0; i < n; ++i) y[i] = qrt_qadd_one(c, a[i], b[0]);
  } else if (sa == 0 && sb == 1) {
    for (i = 0; i < n; ++i) y[i] = qrt_qadd_one(c, a[0], b[i]);
  } else {
    for (i = 0; i < n; ++i) y[i] = qrt_qadd_one(c, a[i * sa], b[i * sb]);
  }
}

QRT_API int qrt_build_qadd_i8(double a_scale, double b_scale, double out_scale, int32_t *a_mult,
                              int32_t *b_mult, int32_t *shift) {
  const double lim = 4194304.0; /* 2^22 */
  double ra, rb, big;
  int32_t s = 31;
  if (!(a_scale > 0.0) || !(b_scale > 0.0) || !(out_scale > 0.0) || a_scale == HUGE_VAL ||
      b_scale == HUGE_VAL || out_scale == HUGE_VAL)
    return -1;
  ra = a_scale / out_scale;
  rb = b_scale / out_scale;
  big = ra > rb ? ra : rb;
  if (!(big < lim - 0.5)) return -1; /* the multiplier would need S < 0 */
  /* the largest S with round(big 2^S) < 2^22 */
  while (s > 0 && !(ldexp(big, s) < lim - 0.5)) --s;
  *a_mult = (int32_t)floor(ldexp(ra, s) + 0.5);
  *b_mult = (int32_t)floor(ldexp(rb, s) + 0.5);
  *shift = s;
  return 0;
}

QRT_API void qrt_qadd_i8(const void *params, const void *const *in, void *const *out) {
  const qrt_qadd_params *p = (const qrt_qadd_params *)params;
  qrt_binary_params g;
  qrt_qadd_ctx c;
  memset(&g, 0, sizeof g);
  qrt_qadd_ctx_init(&c, p->a_zero_point, p->b_zero_point, p->out_zero_point, p->out_min, p->out_max, p->a_mult,
                    p->b_mult, p->shift);
  g.rank = p->rank;
  memcpy(g.out_shape, p->out_shape, sizeof g.out_shape);
  memcpy(g.a_strides, p->a_strides, sizeof g.a_strides);
  memcpy(g.b_strides, p->b_strides, sizeof g.b_strides);
  qrt_bin_drive(&g, in[0], in[1], out[0], qrt_qadd_row, 1, 1, &c);
}
