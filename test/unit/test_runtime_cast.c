/* test_runtime_cast.c - qrt_cast for every (from, to) pair on values covering
 * the edge cases (NaN, inf, out of range, negative to unsigned, fractions),
 * against a reference built from the documented rules; f16 conversions:
 * all 65536 halves round-trip, random floats round to the nearest half
 * (ties to even) checked by comparing with both neighbours, and f64 -> f16
 * avoids double rounding.  All bit-exact. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static const int g_types[12] = {QRT_F32, QRT_F64, QRT_F16, QRT_I8, QRT_U8, QRT_I16,
                                QRT_U16, QRT_I32, QRT_U32, QRT_I64, QRT_U64, QRT_BOOL};
static int tsize(int t) {
  switch (t) {
  case QRT_F64: case QRT_I64: case QRT_U64: return 8;
  case QRT_F32: case QRT_I32: case QRT_U32: return 4;
  case QRT_F16: case QRT_I16: case QRT_U16: return 2;
  default: return 1;
  }
}
static int is_float(int t) { return t == QRT_F32 || t == QRT_F64 || t == QRT_F16; }

/* the source values, as doubles (stored in each type where representable) */
static const double g_vals[] = {0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -2.75, 100.9, -100.9,
                                127.0, 128.0, -129.0, 255.0, 256.0, 300.0, 32767.0, 65535.0,
                                70000.0, -70000.0, 2147483647.0, 2147483648.0, -2147483649.0,
                                4294967296.0, 1e19, -1e19, 3e38, 1e-8};
enum { NV = sizeof g_vals / sizeof g_vals[0] };

/* write value v into slot i of an array of type t (what the test feeds) */
static void put(int t, void *a, int i, double v, int special) {
  switch (t) {
  case QRT_F32: ((float *)a)[i] = special == 1 ? NAN : (special == 2 ? INFINITY : (float)v); break;
  case QRT_F64: ((double *)a)[i] = special == 1 ? NAN : (special == 2 ? -INFINITY : v); break;
  case QRT_F16: ((uint16_t *)a)[i] = special == 1 ? 0x7e00 : (special == 2 ? 0x7c00 : qrt_f32_to_f16((float)v)); break;
  /* integers: the C value of a wrapped conversion of the truncated double */
  case QRT_I8: ((int8_t *)a)[i] = (int8_t)(uint8_t)(int64_t)fmod(v, 256.0); break;
  case QRT_U8: ((uint8_t *)a)[i] = (uint8_t)(int64_t)fmod(v, 256.0); break;
  case QRT_I16: ((int16_t *)a)[i] = (int16_t)(uint16_t)(int64_t)fmod(v, 65536.0); break;
  case QRT_U16: ((uint16_t *)a)[i] = (uint16_t)(int64_t)fmod(v, 65536.0); break;
  case QRT_I32: ((int32_t *)a)[i] = (int32_t)(uint32_t)(int64_t)fmod(v, 4294967296.0); break;
  case QRT_U32: ((uint32_t *)a)[i] = (uint32_t)(int64_t)fmod(v, 4294967296.0); break;
  case QRT_I64: ((int64_t *)a)[i] = (int64_t)fmod(v, 9.2e18); break;
  case QRT_U64: ((uint64_t *)a)[i] = (uint64_t)(int64_t)fmod(v, 9.2e18); break;
  default: ((uint8_t *)a)[i] = (uint8_t)(v != 0); break;
  }
}

/* read slot i as: a double for floats (f16 via qrt_f16_to_f32), or exact
 * integer pieces */
typedef struct { int kind; double d; int64_t s; uint64_t u; } val;
static val get(int t, const void *a, int i) {
  val r;
  memset(&r, 0, sizeof r);
  switch (t) {
  case QRT_F32: r.kind = 0; r.d = ((const float *)a)[i]; break;
  case QRT_F64: r.kind = 0; r.d = ((const double *)a)[i]; break;
  case QRT_F16: r.kind = 0; r.d = qrt_f16_to_f32(((const uint16_t *)a)[i]); break;
  case QRT_I8: r.kind = 1; r.s = ((const int8_t *)a)[i]; break;
  case QRT_I16: r.kind = 1; r.s = ((const int16_t *)a)[i]; break;
  case QRT_I32: r.kind = 1; r.s = ((const int32_t *)a)[i]; break;
  case QRT_I64: r.kind = 1; r.s = ((const int64_t *)a)[i]; break;
  case QRT_U8: r.kind = 2; r.u = ((const uint8_t *)a)[i]; break;
  case QRT_U16: r.kind = 2; r.u = ((const uint16_t *)a)[i]; break;
  case QRT_U32: r.kind = 2; r.u = ((const uint32_t *)a)[i]; break;
  case QRT_U64: r.kind = 2; r.u = ((const uint64_t *)a)[i]; break;
  default: r.kind = 2; r.u = ((const uint8_t *)a)[i] != 0; break;
  }
  return r;
}

/* expected bytes of converting v to type t */
static void expect(int t, val v, void *dst) {
  if (t == QRT_BOOL) {
    uint8_t b = v.kind == 0 ? (uint8_t)(v.d != 0) : (uint8_t)(v.kind == 1 ? v.s != 0 : v.u != 0);
    memcpy(dst, &b, 1);
    return;
  }
  if (is_float(t)) {
    /* integers -> double exactly here only for |x| < 2^53 (our values) */
    double d = v.kind == 0 ? v.d : (v.kind == 1 ? (double)v.s : (double)v.u);
    if (t == QRT_F64) memcpy(dst, &d, 8);
    else if (t == QRT_F32) {
      float f = v.kind == 0 ? (float)d : (v.kind == 1 ? (float)v.s : (float)v.u);
      memcpy(dst, &f, 4);
    } else {
      uint16_t h = qrt_f32_to_f16((float)d); /* exact here: d has few bits or is large */
      memcpy(dst, &h, 2);
    }
    return;
  }
  {
    /* integer destinations */
    const int bits = tsize(t) * 8;
    const int sgn = t == QRT_I8 || t == QRT_I16 || t == QRT_I32 || t == QRT_I64;
    uint64_t u;
    if (v.kind == 0) {
      double d = v.d, lo, hi;
      lo = sgn ? -ldexp(1.0, bits - 1) : 0.0;
      hi = sgn ? ldexp(1.0, bits - 1) : ldexp(1.0, bits);
      if (d != d) u = 0;
      else if (d < lo) u = sgn ? (uint64_t)1 << (bits - 1) : 0;            /* MIN */
      else if (d >= hi) u = sgn ? ((uint64_t)1 << (bits - 1)) - 1 : ~(uint64_t)0; /* MAX */
      else {
        d = trunc(d);
        u = d < 0 ? (uint64_t)(int64_t)d : (uint64_t)d;
      }
    } else {
      u = v.kind == 1 ? (uint64_t)v.s : v.u;
    }
    /* little-endian-independent: store as the integer type */
    switch (tsize(t)) {
    case 1: { uint8_t x = (uint8_t)u; memcpy(dst, &x, 1); break; }
    case 2: { uint16_t x = (uint16_t)u; memcpy(dst, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)u; memcpy(dst, &x, 4); break; }
    default: memcpy(dst, &u, 8); break;
    }
  }
}

static void test_all_pairs(void) {
  int f, t, i;
  for (f = 0; f < 12; ++f)
    for (t = 0; t < 12; ++t) {
      unsigned char src[(NV + 2) * 8], dst[(NV + 2) * 8], ex[8];
      qrt_cast_params p;
      const void *in[1];
      void *out[1];
      int ok = 1;
      char what[48];
      const int nv = is_float(g_types[f]) ? NV + 2 : NV;
      for (i = 0; i < NV; ++i) put(g_types[f], src, i, g_vals[i], 0);
      if (is_float(g_types[f])) {
        put(g_types[f], src, NV, 0, 1);
        put(g_types[f], src, NV + 1, 0, 2);
      }
      memset(&p, 0, sizeof p);
      p.from = g_types[f]; p.to = g_types[t]; p.n = nv;
      in[0] = src; out[0] = dst;
      qrt_cast(&p, in, out);
      for (i = 0; i < nv; ++i) {
        const val v = get(g_types[f], src, i);
        const int sz = tsize(g_types[t]);
        expect(g_types[t], v, ex);
        if (memcmp(ex, dst + i * sz, (size_t)sz) != 0) {
          /* NaN -> float: any NaN is fine */
          if (is_float(g_types[t]) && v.kind == 0 && v.d != v.d) {
            const val o = get(g_types[t], dst, i);
            if (o.d != o.d) continue;
          }
          if (ok) printf("  %d -> %d value %d (%.17g)\n", g_types[f], g_types[t], i, v.kind == 0 ? v.d : (double)v.s);
          ok = 0;
        }
      }
      sprintf(what, "cast %d -> %d", g_types[f], g_types[t]);
      check(ok, what);
    }
}

static void test_f16(void) {
  uint32_t h;
  int ok = 1, i;
  /* every half round-trips through float */
  for (h = 0; h < 65536; ++h) {
    const float f = qrt_f16_to_f32((uint16_t)h);
    const uint16_t back = qrt_f32_to_f16(f);
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) ok &= (back & 0x7e00) == 0x7e00 && (back & 0x8000) == (h & 0x8000);
    else ok &= back == h;
  }
  check(ok, "f16 -> f32 -> f16 round trip (all 65536)");
  /* random floats: the nearest half, ties to even */
  for (ok = 1, i = 0; i < 200000; ++i) {
    uint32_t u = lcg();
    float f;
    uint16_t hh;
    double d, dl, dh, e, el, eh;
    u = (u & 0x80000000u) | ((0x66u + (u >> 8) % 0x1au) << 23) | (lcg() & 0x7fffffu); /* |f| in ~[2^-25, 2^17) */
    memcpy(&f, &u, 4);
    hh = qrt_f32_to_f16(f);
    d = qrt_f16_to_f32(hh);
    e = fabs((double)f - d);
    if ((hh & 0x7fff) == 0x7c00) { ok &= fabs((double)f) >= 65520.0; continue; }
    /* neighbours in magnitude: below (the other side of zero for 0) and above */
    dl = (hh & 0x7fff) == 0 ? qrt_f16_to_f32((uint16_t)((hh ^ 0x8000) | 1))
                            : qrt_f16_to_f32((uint16_t)(hh - 1));
    dh = (hh & 0x7fff) == 0x7bff ? 65536.0 * (hh & 0x8000 ? -1 : 1) : qrt_f16_to_f32((uint16_t)(hh + 1));
    el = fabs((double)f - dl);
    eh = fabs((double)f - dh);
    if (e > el || e > eh) ok = 0;
    if ((e == el || e == eh) && (hh & 1)) ok = 0; /* tie must pick even */
  }
  check(ok, "f32 -> f16 nearest, ties to even (random)");
  {
    static const struct { float f; uint16_t h; } cases[] = {
        {65504.0f, 0x7bff}, {65519.996f, 0x7bff}, {65520.0f, 0x7c00}, {-65520.0f, 0xfc00},
        {5.9604645e-8f, 0x0001}, {2.9802322e-8f, 0x0000}, {2.9802326e-8f, 0x0001},
        {8.940697e-8f, 0x0002}, {6.097555e-5f, 0x03ff}, {6.1035156e-5f, 0x0400},
        {1.0f, 0x3c00}, {1.00048828125f, 0x3c00}, {1.00146484375f, 0x3c02}, {-0.0f, 0x8000},
        {1e-30f, 0x0000}, {1e30f, 0x7c00}};
    for (ok = 1, i = 0; i < (int)(sizeof cases / sizeof cases[0]); ++i) {
      if (qrt_f32_to_f16(cases[i].f) != cases[i].h) {
        printf("  f16(%.9g) = %04x, want %04x\n", (double)cases[i].f, qrt_f32_to_f16(cases[i].f), cases[i].h);
        ok = 0;
      }
    }
    check(ok, "f32 -> f16 edge values");
  }
  {
    /* f64 -> f16 directly: 1 + 2^-11 + 2^-40 rounds up (via float it would tie to 1.0) */
    double d[2] = {1.0 + ldexp(1.0, -11) + ldexp(1.0, -40), 1.0 + ldexp(1.0, -11)};
    uint16_t y[2];
    qrt_cast_params p;
    const void *in[1];
    void *out[1];
    memset(&p, 0, sizeof p);
    p.from = QRT_F64; p.to = QRT_F16; p.n = 2;
    in[0] = d; out[0] = y;
    qrt_cast(&p, in, out);
    check(y[0] == 0x3c01 && y[1] == 0x3c00, "f64 -> f16 without double rounding");
  }
}

int main(void) {
  test_all_pairs();
  test_f16();
  return finish();
}
