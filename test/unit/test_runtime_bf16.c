/* test_runtime_bf16.c - bfloat16 conversions (qrt_f32_to_bf16,
 * qrt_bf16_to_f32 and qrt_cast to and from QRT_BF16) against a reference
 * written here from the format's definition, with double arithmetic
 * (ldexp/frexp), not with the bit tricks of qrt_cast.c:
 *   - every one of the 65536 bf16 codes decodes to the value its sign,
 *     exponent and fraction fields define, and encodes back to itself (NaN
 *     codes: to the quiet NaN 0x7fc0);
 *   - 2^24 floats spread over all 2^32 bit patterns, and for every bf16
 *     code the floats at, just below and just above each rounding tie,
 *     round to the nearest bf16 value, ties to even, overflowing to
 *     infinity at 2^128 - 2^119 (half a step above the largest finite);
 *   - f64 -> bf16 rounds once, from the double (2^20 random doubles, and
 *     a case that double rounding through f32 would get wrong);
 *   - integer -> bf16 rounds from the integer (int64 near 2^60 where
 *     going through double would round twice);
 *   - bf16 -> integers and f16 through the cast kernel, on every code.
 * All bit-exact. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

#define BF16_QNAN 0x7fc0u

static int ref_is_nan(uint32_t c) { return (c & 0x7f80u) == 0x7f80u && (c & 0x7fu) != 0; }

/* The value bf16 code c stands for: (-1)^s * 1.f * 2^(e-127), or
 * 0.f * 2^-126 when e = 0; infinities for e = 255 (NaN codes: NAN). */
static double ref_decode(uint32_t c) {
  const int s = (int)(c >> 15) & 1, e = (int)(c >> 7) & 0xff, f = (int)(c & 0x7f);
  double v;
  if (e == 0xff) v = f ? NAN : INFINITY;
  else if (e == 0) v = ldexp((double)f, -126 - 7);
  else v = ldexp(128.0 + f, e - 127 - 7);
  return s ? -v : v;
}

/* The code of |v| where v is exactly a bf16 value (or 2^128: infinity). */
static uint32_t ref_encode_exact(double v) {
  int e2;
  double m;
  if (v == 0) return 0;
  if (v >= ldexp(1.0, 128)) return 0x7f80u;
  m = frexp(v, &e2); /* v = m * 2^e2, m in [0.5, 1): leading bit at 2^(e2-1) */
  if (e2 - 1 < -126) return (uint32_t)ldexp(v, 133); /* subnormal: multiples of 2^-133 */
  return ((uint32_t)(e2 - 1 + 127) << 7) | ((uint32_t)ldexp(m, 8) & 0x7fu);
}

/* Round-to-nearest-even bf16 code of the double x (any finite or not). */
static uint32_t ref_round(double x) {
  const uint32_t sign = signbit(x) ? 0x8000u : 0;
  double a = fabs(x), step, lo, hi;
  int e2;
  if (x != x) return BF16_QNAN;
  if (isinf(x)) return sign | 0x7f80u;
  if (a == 0) return sign;
  frexp(a, &e2);
  /* 8 significant bits: the step is 2^(e2-8), but never below 2^-133 */
  step = ldexp(1.0, (e2 - 8) < -133 ? -133 : e2 - 8);
  lo = floor(a / step) * step; /* a / step is exact: a power-of-two scale */
  hi = lo + step;              /* may be 2^128: infinity */
  if (a - lo < hi - a) return sign | ref_encode_exact(lo);
  if (a - lo > hi - a) return sign | ref_encode_exact(hi);
  /* a tie: the even one (step-units count, as the last fraction bit) */
  return sign | ref_encode_exact(fmod(lo / step, 2.0) == 0 ? lo : hi);
}

static float f32_of_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static void test_all_codes(void) {
  uint32_t c;
  int ok_dec = 1, ok_back = 1;
  for (c = 0; c < 65536; ++c) {
    const float f = qrt_bf16_to_f32((uint16_t)c);
    const double want = ref_decode(c);
    const uint16_t back = qrt_f32_to_bf16(f);
    if (ref_is_nan(c) ? f == f : (double)f != want || !signbit(f) != !signbit(want)) {
      if (ok_dec) printf("  decode %04x = %.9g, want %.9g\n", (unsigned)c, (double)f, want);
      ok_dec = 0;
    }
    if (back != (ref_is_nan(c) ? BF16_QNAN : c)) {
      if (ok_back) printf("  %04x -> f32 -> %04x\n", (unsigned)c, (unsigned)back);
      ok_back = 0;
    }
  }
  check(ok_dec, "bf16 -> f32: all 65536 codes decode to their field values");
  check(ok_back, "bf16 -> f32 -> bf16: all 65536 codes round-trip (NaN -> 0x7fc0)");
}

static int check_f32(uint32_t u, int *reported) {
  const float f = f32_of_bits(u);
  const uint32_t got = qrt_f32_to_bf16(f), want = ref_round((double)f);
  if (got == want) return 1;
  if (!*reported) printf("  f32 %08x (%.9g) -> %04x, want %04x\n", (unsigned)u, (double)f, (unsigned)got, (unsigned)want);
  *reported = 1;
  return 0;
}

static void test_f32_to_bf16(void) {
  uint64_t k;
  uint32_t c;
  int ok = 1, rep = 0;
  /* 2^24 patterns spread over all of them (an odd stride visits every
   * exponent, sign and NaN payload region) plus the extremes */
  for (k = 0; k < (1u << 24); ++k) ok &= check_f32((uint32_t)(k * 255u + (k >> 8)), &rep);
  ok &= check_f32(0x00000001u, &rep) & check_f32(0x7f7fffffu, &rep) & check_f32(0xff7fffffu, &rep);
  check(ok, "f32 -> bf16: 2^24 floats over all bit patterns, nearest, ties to even");
  /* around every tie: the float halfway between code c and c + 1 (low half
   * 0x8000), and its two float neighbours */
  for (ok = 1, rep = 0, c = 0; c < 65536; ++c) {
    const uint32_t u = c << 16 | 0x8000u;
    ok &= check_f32(u, &rep) & check_f32(u - 1, &rep) & check_f32(u + 1, &rep) & check_f32(c << 16, &rep);
  }
  check(ok, "f32 -> bf16: at, below and above every tie (all 65536 codes)");
  {
    /* named cases: overflow threshold, subnormals, ONNX's Cast data */
    static const struct { uint32_t f; uint16_t b; } cases[] = {
        {0x7f7f7fffu, 0x7f7f}, {0x7f7f8000u, 0x7f80}, {0xff7f8000u, 0xff80}, {0x00008000u, 0x0000},
        {0x00008001u, 0x0001}, {0x00018000u, 0x0002}, {0x007fffffu, 0x0080}, {0x3ef5eeb0u, 0x3ef6},
        {0x3ef535b8u, 0x3ef5}, {0x7fc00000u, 0x7fc0}, {0xffc00001u, 0x7fc0}, {0x7f800001u, 0x7fc0},
        {0x80000000u, 0x8000}};
    for (ok = 1, k = 0; k < sizeof cases / sizeof cases[0]; ++k)
      if (qrt_f32_to_bf16(f32_of_bits(cases[k].f)) != cases[k].b) {
        printf("  %08x -> %04x, want %04x\n", (unsigned)cases[k].f,
               (unsigned)qrt_f32_to_bf16(f32_of_bits(cases[k].f)), (unsigned)cases[k].b);
        ok = 0;
      }
    check(ok, "f32 -> bf16: edge values");
  }
}

static void cast(int from, int to, const void *x, void *y, int64_t n) {
  qrt_cast_params p;
  const void *in[1];
  void *out[1];
  memset(&p, 0, sizeof p);
  p.from = from;
  p.to = to;
  p.n = n;
  in[0] = x;
  out[0] = y;
  qrt_cast(&p, in, out);
}

static void test_f64_to_bf16(void) {
  enum { N = 1 << 20 };
  double *x = malloc(sizeof(double) * N);
  uint16_t *y = malloc(sizeof(uint16_t) * N);
  int i, ok = 1;
  for (i = 0; i < N; ++i) {
    /* random sign, exponent in [-140, 130], 52 random fraction bits */
    const double m = 1.0 + (double)(((uint64_t)lcg() << 21) ^ lcg()) / 9007199254740992.0;
    x[i] = ldexp((lcg() & 1) ? -m : m, (int)irand(-140, 130));
  }
  x[0] = NAN;
  x[1] = -INFINITY;
  x[2] = 0x1.0100000001p0; /* above a tie: up to 0x3f81; through f32 (0x1.01p0, a tie) it would stay 0x3f80 */
  x[3] = -0.0;
  x[4] = 0x1.fep127 + 0x1p119; /* exactly halfway to 2^128: ties to even (infinity) */
  x[5] = 0x1.fep127 + 0x1p119 - 0x1p80;
  cast(QRT_F64, QRT_BF16, x, y, N);
  for (i = 0; i < N; ++i)
    if (y[i] != ref_round(x[i])) {
      if (ok) printf("  f64 %a -> %04x, want %04x\n", x[i], (unsigned)y[i], (unsigned)ref_round(x[i]));
      ok = 0;
    }
  check(ok, "f64 -> bf16: 2^20 random doubles, rounded once from the double");
  check(y[2] == 0x3f81 && y[4] == 0x7f80 && y[5] == 0x7f7f, "f64 -> bf16: no double rounding, overflow tie");
  free(x);
  free(y);
}

/* |x| rounded to bf16 must be the nearest multiple of the step (ties to
 * even) for a 64-bit integer: checked with integer arithmetic. */
static int int_ok(uint64_t mag, int neg, uint16_t got) {
  int top = 63, e, sh;
  uint64_t step, lo, hi, want;
  if ((got >> 15) != (uint16_t)(neg && mag)) return 0;
  if (mag == 0) return got == 0;
  while (!(mag >> top)) --top;
  if (top < 8) return (double)qrt_bf16_to_f32(got) == (neg ? -(double)mag : (double)mag);
  sh = top - 7;
  step = (uint64_t)1 << sh;
  lo = mag >> sh << sh;
  hi = lo + step; /* may be 2^64 for mag near 2^64: wraps to 0 */
  if (mag - lo < step / 2 || (mag - lo == step / 2 && !((lo >> sh) & 1))) want = lo;
  else want = hi;
  e = (int)((got >> 7) & 0xff) - 127 - 7;
  if (want == 0) return e == 64 - 7 && (got & 0x7f) == 0; /* 2^64 = 1.0 * 2^64 */
  return e >= 0 && e <= 56 && ((uint64_t)(128 + (got & 0x7f)) << e) == want;
}

static void test_int_to_bf16(void) {
  enum { N = 200000 };
  int64_t *x = malloc(sizeof(int64_t) * N);
  uint64_t *u = malloc(sizeof(uint64_t) * N);
  uint16_t *y = malloc(sizeof(uint16_t) * N), *z = malloc(sizeof(uint16_t) * N);
  int i, ok = 1;
  for (i = 0; i < N; ++i) {
    const int bits = (int)irand(0, 63);
    u[i] = (((uint64_t)lcg() << 32) ^ lcg()) >> (63 - bits);
    x[i] = (lcg() & 1) ? -(int64_t)(u[i] >> 1) : (int64_t)(u[i] >> 1);
  }
  x[0] = INT64_MIN;
  x[1] = ((int64_t)1 << 60) + ((int64_t)1 << 52) + 1; /* via double: a tie, down; exactly: up */
  u[0] = UINT64_MAX;
  u[1] = ((uint64_t)1 << 63) + ((uint64_t)1 << 55) + 1;
  cast(QRT_I64, QRT_BF16, x, y, N);
  cast(QRT_U64, QRT_BF16, u, z, N);
  for (i = 0; i < N; ++i) {
    const uint64_t mag = x[i] < 0 ? (uint64_t)0 - (uint64_t)x[i] : (uint64_t)x[i];
    if (!int_ok(mag, x[i] < 0, y[i]) || !int_ok(u[i], 0, z[i])) {
      if (ok) printf("  int %lld / %llu -> %04x / %04x\n", (long long)x[i], (unsigned long long)u[i], y[i], z[i]);
      ok = 0;
    }
  }
  check(ok, "int64/uint64 -> bf16: nearest, ties to even, from the integer");
  check(y[1] == 0x5d81 && z[0] == 0x5f80, "int64 -> bf16 without double rounding; UINT64_MAX -> 2^64");
  free(x);
  free(u);
  free(y);
  free(z);
}

/* bf16 -> every other type goes through its f32 value: the same bytes as
 * casting that float (the reference decoding; NaN codes keep their
 * payload, as f32 NaNs), for all codes. */
static void test_from_bf16(void) {
  static const int types[] = {QRT_F32, QRT_F64, QRT_F16, QRT_I8, QRT_U8, QRT_I16, QRT_U16,
                              QRT_I32, QRT_U32, QRT_I64, QRT_U64, QRT_BOOL};
  uint16_t *b = malloc(sizeof(uint16_t) * 65536);
  float *f = malloc(sizeof(float) * 65536);
  unsigned char *y1 = malloc(8 * 65536), *y2 = malloc(8 * 65536);
  unsigned t, c;
  int ok = 1;
  for (c = 0; c < 65536; ++c) {
    b[c] = (uint16_t)c;
    f[c] = ref_is_nan(c) ? f32_of_bits(c << 16) : (float)ref_decode(c);
  }
  for (t = 0; t < sizeof types / sizeof types[0]; ++t) {
    memset(y1, 0, 8 * 65536);
    memset(y2, 0, 8 * 65536);
    cast(QRT_BF16, types[t], b, y1, 65536);
    cast(QRT_F32, types[t], f, y2, 65536);
    if (memcmp(y1, y2, 8 * 65536)) {
      printf("  bf16 -> type %d differs from casting the codes' f32 values\n", types[t]);
      ok = 0;
    }
  }
  check(ok, "bf16 -> f32/f64/f16/ints/bool: as the code's value, all 65536 codes");
  free(b);
  free(f);
  free(y1);
  free(y2);
}

int main(void) {
  test_all_codes();
  test_f32_to_bf16();
  test_f64_to_bf16();
  test_int_to_bf16();
  test_from_bf16();
  return finish();
}
