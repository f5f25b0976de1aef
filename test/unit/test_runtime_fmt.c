/* test_runtime_fmt.c - the block formats (qrt_fmt.c, qrt_fmt_mx.c,
 * qrt_fmt_bfp.c) against references written here from the definitions,
 * not from the runtime:
 *  - FP elements: every code decodes to its OCP MX v1.0 value (sign,
 *    fields, bias, subnormals, NaN / Inf codes) and re-encodes to itself;
 *    every midpoint of adjacent values rounds to the even code, its float
 *    and double neighbours to the nearer one; beyond the max: saturation;
 *  - E8M0 scale: floor(log2 amax) by a power-of-two walk (no frexp), on
 *    random and crafted blocks (powers of two and just below, zeros,
 *    subnormals, NaN, Inf);
 *  - every format on vectors whose K is no multiple of the block: packed
 *    size, codes read bit by bit (integer: rint, the FPU's ties-to-even;
 *    FP: brute-force nearest value), error bounds, unpack / decode
 *    agreement, padding, no byte written past the end;
 *  - NVFP4 and BBFP byte for byte against reference encoders; BBFP's block
 *    error never above BFP's with the same mantissa bits, and below it on
 *    blocks with one outlier 50x the rest. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

/* --- the FP element formats, from the OCP definition ------------------- */
typedef struct {
  int32_t element;
  const char *name;
  int ebits, mbits, emax;
  double maxval;
} fp_fmt;
static const fp_fmt g_fp[5] = {
  {QRT_ELEM_E4M3, "E4M3", 4, 3, 8, 448.0}, {QRT_ELEM_E5M2, "E5M2", 5, 2, 15, 57344.0},
  {QRT_ELEM_E3M2, "E3M2", 3, 2, 4, 28.0},  {QRT_ELEM_E2M3, "E2M3", 2, 3, 2, 7.5},
  {QRT_ELEM_E2M1, "E2M1", 2, 1, 2, 6.0},
};

static const fp_fmt *fp_of(int32_t element) {
  int i;
  for (i = 0; i < 5; ++i)
    if (g_fp[i].element == element) return &g_fp[i];
  return NULL;
}

/* (-1)^S 2^(E - bias) (1 + M / 2^mbits), E = 0: 2^(1 - bias) (M / 2^mbits) */
static double ref_fp_value(const fp_fmt *f, uint32_t code) {
  const int nb = f->ebits + f->mbits, bias = (1 << (f->ebits - 1)) - 1;
  const uint32_t ef = (code >> f->mbits) & ((1u << f->ebits) - 1u), mf = code & ((1u << f->mbits) - 1u);
  const double frac = mf / pow(2.0, f->mbits);
  double v;
  if (f->element == QRT_ELEM_E4M3 && ef == 15 && mf == 7) return NAN;
  if (f->element == QRT_ELEM_E5M2 && ef == 31) {
    if (mf != 0) return NAN;
    v = INFINITY;
  } else {
    v = ef == 0 ? frac * pow(2.0, 1 - bias) : (1.0 + frac) * pow(2.0, (double)ef - bias);
  }
  return (code >> nb) & 1u ? -v : v;
}

/* the largest finite positive code (codes 0..it are increasing values) */
static uint32_t ref_maxcode(const fp_fmt *f) {
  uint32_t c = 0;
  while (c + 1 < (1u << (f->ebits + f->mbits)) && isfinite(ref_fp_value(f, c + 1))) ++c;
  return c;
}

/* nearest code by brute force, ties to the even code, saturating */
static uint32_t ref_fp_encode(const fp_fmt *f, double v) {
  const uint32_t maxc = ref_maxcode(f), sign = signbit(v) ? 1u << (f->ebits + f->mbits) : 0u;
  const double a = fabs(v);
  uint32_t c, best = 0;
  double bestd = a;
  if (a >= f->maxval) return sign | maxc;
  for (c = 1; c <= maxc; ++c) {
    const double d = fabs(a - ref_fp_value(f, c));
    if (d < bestd || (d == bestd && c % 2 == 0)) {
      bestd = d;
      best = c;
    }
  }
  return sign | best;
}

/* k with 2^k <= a < 2^(k+1), a > 0 finite: a walk over powers of two */
static int ref_floor_log2(double a) {
  int k = 0;
  while (ldexp(1.0, k) > a) --k;
  while (ldexp(1.0, k + 1) <= a) ++k;
  return k;
}

/* bit i*bits .. of a block's code bytes, one bit at a time */
static uint32_t read_code(const uint8_t *codes, int i, int bits) {
  uint32_t c = 0;
  int j;
  for (j = 0; j < bits; ++j) {
    const int b = i * bits + j;
    c |= (uint32_t)((codes[b / 8] >> (b % 8)) & 1) << j;
  }
  return c;
}
static void write_code(uint8_t *codes, int i, int bits, uint32_t c) {
  int j;
  for (j = 0; j < bits; ++j) {
    const int b = i * bits + j;
    if ((c >> j) & 1u) codes[b / 8] = (uint8_t)(codes[b / 8] | (1 << (b % 8)));
  }
}

static int block_bytes(const qrt_bformat *f) { return 1 + (f->block * f->element_bits + 7) / 8; }
static int head_bytes(const qrt_bformat *f) { return f->scale == QRT_SCALE_E4M3 ? 4 : 0; }
static int nblocks(const qrt_bformat *f, int K) { return (K + f->block - 1) / f->block; }
static int ref_emax(const qrt_bformat *f) {
  return f->element == QRT_ELEM_INT ? f->element_bits - 2 : fp_of(f->element)->emax;
}
static int ref_e8m0(const float *x, int n, int emax) { /* the expected scale byte */
  double amax = 0.0;
  int i, e;
  for (i = 0; i < n; ++i) {
    if (!isfinite(x[i])) return 255;
    if (fabs(x[i]) > amax) amax = fabs(x[i]);
  }
  if (amax == 0.0) return 0;
  e = ref_floor_log2(amax) - emax;
  return (e < -127 ? -127 : (e > 127 ? 127 : e)) + 127;
}

/* --- random vectors ------------------------------------------------------ */
static float gen_one(int kind, int e) {
  switch (kind) {
  case 0: return frand(-1.0f, 1.0f) * (float)ldexp(1.0, e);                          /* uniform */
  case 1: return (frand(-1.0f, 1.0f) + frand(-1.0f, 1.0f) + frand(-1.0f, 1.0f)) * (float)ldexp(1.0, e);
  case 2: return (float)ldexp((double)irand(-600, 600) / 4.0, e - 7);              /* many ties */
  case 3: return irand(0, 3) == 0 ? 0.0f : frand(-1.0f, 1.0f) * (float)ldexp(1.0, e + (int)irand(-30, 0));
  default: return frand(-1.0f, 1.0f) * (float)ldexp(1.0, (int)irand(-149, 126));    /* anything */
  }
}
static void gen_vec(float *x, int K) {
  const int kind = (int)irand(0, 4), e = (int)irand(-140, 126);
  int k;
  for (k = 0; k < K; ++k) x[k] = gen_one(kind, kind == 2 ? (int)irand(-3, 3) : e);
}

/* --- 1. every code of every FP element ----------------------------------- */
static void test_elem_decode(void) {
  int i;
  for (i = 0; i < 5; ++i) {
    const fp_fmt *f = &g_fp[i];
    const uint32_t ncodes = 1u << (f->ebits + f->mbits + 1), maxc = ref_maxcode(f);
    const uint32_t sign = ncodes / 2;
    uint32_t c;
    int bad = 0, bad_rt = 0;
    char what[96];
    for (c = 0; c < ncodes; ++c) {
      const double want = ref_fp_value(f, c);
      const float got = qrt_mx_decode(f->element, c);
      if (!same_f32(got, (float)want)) {
        if (bad++ < 3) printf("  %s code 0x%02x: %.9g, want %.9g\n", f->name, c, (double)got, want);
      }
      if (isnan(want)) {
        if (!isnan(qrt_mx_decode(f->element, qrt_mx_encode(f->element, want)))) ++bad_rt;
      } else if (isinf(want)) {
        if (qrt_mx_encode(f->element, want) != ((c & sign) | maxc)) ++bad_rt; /* saturates */
      } else if (qrt_mx_encode(f->element, (double)got) != c) {
        if (bad_rt++ < 3) printf("  %s code 0x%02x re-encodes to 0x%02x\n", f->name, c, qrt_mx_encode(f->element, (double)got));
      }
    }
    sprintf(what, "%s: every code decodes to its OCP value", f->name);
    check(bad == 0, what);
    sprintf(what, "%s: encode(decode(c)) == c (Inf saturates, NaN stays NaN)", f->name);
    check(bad_rt == 0, what);
    sprintf(what, "%s: max %g, emax %d", f->name, f->maxval, f->emax);
    check(ref_fp_value(f, maxc) == f->maxval && (double)qrt_mx_decode(f->element, maxc) == f->maxval &&
              qrt_mx_emax(f->element) == f->emax, what);
  }
  {
    static const double e2m1[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
    int ok = 1;
    for (i = 0; i < 8; ++i) ok &= (double)qrt_mx_decode(QRT_ELEM_E2M1, (uint32_t)i) == e2m1[i];
    check(ok, "E2M1 values 0 0.5 1 1.5 2 3 4 6");
  }
  /* FP6 / FP4 have no NaN: a NaN input gives +0; unknown elements give 0 */
  check(qrt_mx_encode(QRT_ELEM_E2M1, NAN) == 0 && qrt_mx_encode(QRT_ELEM_E3M2, NAN) == 0 &&
            qrt_mx_encode(QRT_ELEM_INT, 1.0) == 0 && qrt_mx_decode(99, 1) == 0.0f,
        "NaN without a NaN code, unknown element");
}

/* --- 2. rounding at every midpoint, saturation ---------------------------- */
static void test_elem_rounding(void) {
  int i;
  for (i = 0; i < 5; ++i) {
    const fp_fmt *f = &g_fp[i];
    const uint32_t maxc = ref_maxcode(f), sign = 1u << (f->ebits + f->mbits);
    const double top_mid = f->maxval + (f->maxval - ref_fp_value(f, maxc - 1)) / 2.0;
    static const double big[] = {1e30, 3.4028234663852886e38, INFINITY, 1e300};
    uint32_t c;
    int bad = 0, j;
    char what[96];
    for (c = 0; c < maxc; ++c) {
      const double a = ref_fp_value(f, c), b = ref_fp_value(f, c + 1), mid = (a + b) / 2.0;
      const uint32_t even = c % 2 == 0 ? c : c + 1;
      const float midf = (float)mid;
      const double probes[6] = {mid, nextafter(mid, 0.0), nextafter(mid, 1e9),
                                (double)nextafterf(midf, 0.0f), (double)nextafterf(midf, 1e9f), -mid};
      const uint32_t want[6] = {even, c, c + 1, c, c + 1, sign | even};
      if ((double)midf != mid) ++bad; /* the float probes need an exact float midpoint */
      for (j = 0; j < 6; ++j)
        if (qrt_mx_encode(f->element, probes[j]) != want[j]) {
          if (bad++ < 4)
            printf("  %s: %.17g -> 0x%02x, want 0x%02x\n", f->name, probes[j],
                   qrt_mx_encode(f->element, probes[j]), want[j]);
        }
    }
    sprintf(what, "%s: every midpoint to even, neighbours to nearest (%u pairs)", f->name, maxc);
    check(bad == 0, what);
    bad = 0;
    if (qrt_mx_encode(f->element, nextafter(f->maxval, 1e300)) != maxc) ++bad;
    if (qrt_mx_encode(f->element, top_mid) != maxc) ++bad;
    if (qrt_mx_encode(f->element, 2 * top_mid) != maxc) ++bad;
    for (j = 0; j < 4; ++j) {
      if (qrt_mx_encode(f->element, big[j]) != maxc) ++bad;
      if (qrt_mx_encode(f->element, -big[j]) != (sign | maxc)) ++bad;
    }
    if (qrt_mx_encode(f->element, -0.0) != sign || qrt_mx_encode(f->element, 0.0) != 0) ++bad;
    if (qrt_mx_encode(f->element, 1e-300) != 0 || qrt_mx_encode(f->element, -1e-300) != sign) ++bad;
    sprintf(what, "%s: above the max saturates (1e30, FLT_MAX, +-Inf), signed zeros", f->name);
    check(bad == 0, what);
  }
}

/* --- 3. the E8M0 scale choice ---------------------------------------------- */
/* bad blocks of x[K] under fmt: scale byte or NaN-ness of the values */
static int check_scales(int fmt, const float *x, int K) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  const int nb = nblocks(f, K), bb = block_bytes(f);
  uint8_t *buf = (uint8_t *)xmalloc((size_t)qrt_bfmt_bytes(fmt, K));
  float *y = (float *)xmalloc(sizeof(float) * (size_t)K);
  int b, k, bad = 0;
  qrt_bfmt_encode(fmt, x, K, buf);
  qrt_bfmt_decode(fmt, buf, K, y);
  for (b = 0; b < nb; ++b) {
    const int n = K - b * f->block < f->block ? K - b * f->block : f->block;
    const int want = ref_e8m0(x + b * f->block, n, ref_emax(f));
    if (buf[b * bb] != want) {
      if (bad++ < 3) printf("  %s block %d: scale byte %d, want %d\n", f->name, b, buf[b * bb], want);
    }
    for (k = b * f->block; k < b * f->block + n; ++k)
      if ((want == 255) != (isnan(y[k]) != 0)) ++bad; /* NaN exactly in NaN blocks */
  }
  free(buf);
  free(y);
  return bad;
}

static void test_scale_choice(void) {
  enum { K = 64 * 6 };
  static float x[K];
  int fmt, t, b, k;
  char what[128];
  for (fmt = 0; fmt < QRT_BFORMAT_COUNT; ++fmt) {
    const qrt_bformat *f = qrt_bformat_get(fmt);
    int bad = 0;
    if (f->scale != QRT_SCALE_E8M0 || f->element == QRT_ELEM_BBFP) continue;
    for (t = 0; t < 60; ++t) {
      gen_vec(x, K);
      bad += check_scales(fmt, x, K - (int)irand(0, 40));
    }
    sprintf(what, "%s: random blocks' E8M0 = floor(log2 amax) - emax + 127, NaN values only in NaN blocks",
            f->name);
    check(bad == 0, what);
    bad = 0;
    /* crafted blocks, one per block of the vector */
    for (t = -151; t <= 128; t += 3) {
      for (b = 0; b < 6; ++b) {
        float *xb = x + b * f->block;
        const int last = f->block - 1;
        for (k = 0; k < f->block; ++k) xb[k] = frand(-1.0f, 1.0f) * (float)ldexp(1.0, t - 3);
        switch (b) {
        case 0: xb[last / 2] = (float)ldexp(1.0, t < -149 ? -149 : (t > 127 ? 127 : t)); break; /* 2^t */
        case 1: xb[1] = -nextafterf((float)ldexp(1.0, t < -148 ? -148 : (t > 127 ? 127 : t)), 0.0f); break;
        case 2: memset(xb, 0, sizeof(float) * (size_t)f->block); break;
        case 3: for (k = 0; k < f->block; ++k) xb[k] = (float)ldexp((double)irand(-7, 7), -149); break;
        case 4: xb[last] = t % 2 ? NAN : (t % 3 ? INFINITY : -INFINITY); break;
        default: if (t > 100) xb[0] = 3.4028234663852886e38f; break; /* FLT_MAX */
        }
      }
      bad += check_scales(fmt, x, f->block * 6 - (t & 7));
    }
    sprintf(what, "%s: crafted blocks (2^k, just below 2^k, zeros, subnormals, NaN, Inf, FLT_MAX)", f->name);
    check(bad == 0, what);
  }
}

/* --- 4. every format: round trip --------------------------------------------- */
/* one encoded vector and what the runtime unpacks and decodes from it */
typedef struct {
  int fmt, K, nb, bytes;
  uint8_t *buf;
  float *elem, *y;
  double *scale;
} coded;

/* encodes, unpacks and decodes x[K]; nonzero when the size, the padding,
 * decode = (float)(elem * scale) or the bytes past the ends are wrong */
static int code_vec(coded *c, int fmt, const float *x, int K) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  int i, bad = 0;
  c->fmt = fmt;
  c->K = K;
  c->nb = nblocks(f, K);
  c->bytes = head_bytes(f) + c->nb * block_bytes(f);
  c->buf = (uint8_t *)xmalloc((size_t)c->bytes + 16);
  c->elem = (float *)xmalloc(sizeof(float) * (size_t)(c->nb * f->block + 8));
  c->scale = (double *)xmalloc(sizeof(double) * (size_t)(c->nb + 8));
  c->y = (float *)xmalloc(sizeof(float) * (size_t)(K + 8));
  memset(c->buf, 0xa5, (size_t)c->bytes + 16);
  memset(c->elem, 0xa5, sizeof(float) * (size_t)(c->nb * f->block + 8));
  memset(c->y, 0xa5, sizeof(float) * (size_t)(K + 8));
  qrt_bfmt_encode(fmt, x, K, c->buf);
  qrt_bfmt_unpack(fmt, c->buf, K, c->elem, c->scale);
  qrt_bfmt_decode(fmt, c->buf, K, c->y);
  for (i = 0; i < 16; ++i) bad |= c->buf[c->bytes + i] != 0xa5;
  for (i = 0; i < 8; ++i) {
    uint32_t u, v;
    memcpy(&u, &c->elem[c->nb * f->block + i], 4);
    memcpy(&v, &c->y[K + i], 4);
    bad |= u != 0xa5a5a5a5u || v != 0xa5a5a5a5u;
  }
  for (i = K; i < c->nb * f->block; ++i) bad |= c->elem[i] != 0.0f;
  for (i = 0; i < K; ++i) bad |= !same_f32(c->y[i], (float)((double)c->elem[i] * c->scale[i / f->block]));
  bad |= qrt_bfmt_bytes(fmt, K) != c->bytes;
  if (bad) printf("  %s K=%d: size, padding, decode = (float)(elem * scale) or a write past the end\n", f->name, K);
  return bad;
}
static void free_coded(coded *c) {
  free(c->buf);
  free(c->elem);
  free(c->scale);
  free(c->y);
}

/* integer elements: codes = rint(x / 2^E) clamped; |err| <= 2^(E-1) unless clamped */
static int check_int(const coded *c, const float *x) {
  const qrt_bformat *f = qrt_bformat_get(c->fmt);
  const int bits = f->element_bits, lim = (1 << (bits - 1)) - 1;
  int k, bad = 0;
  for (k = 0; k < c->K; ++k) {
    const uint8_t *blk = c->buf + (k / f->block) * block_bytes(f);
    const int E = blk[0] - 127;
    double q = rint(ldexp((double)x[k], -E));
    const uint32_t code = read_code(blk + 1, k % f->block, bits);
    const int got = (int)code - ((code >> (bits - 1)) & 1u ? 1 << bits : 0);
    const double v = (double)c->elem[k] * c->scale[k / f->block], err = fabs((double)x[k] - v);
    q = q > lim ? lim : (q < -lim ? -lim : q);
    if (got != (int)q || (double)c->elem[k] != q || c->scale[k / f->block] != ldexp(1.0, E) ||
        !(err <= ldexp(1.0, E - 1) || fabs(q) == lim)) {
      if (bad++ < 3) printf("  %s x=%.9g E=%d: code %d, want %.0f\n", f->name, (double)x[k], E, got, q);
    }
  }
  return bad;
}

/* FP elements: code = the nearest value of x / 2^E (brute force); |err| at
 * most half the element's ulp there, or saturation at the max */
static int check_fp(const coded *c, const float *x) {
  const qrt_bformat *f = qrt_bformat_get(c->fmt);
  const fp_fmt *e = fp_of(f->element);
  const int emin = 2 - (1 << (e->ebits - 1));
  int k, bad = 0;
  for (k = 0; k < c->K; ++k) {
    const uint8_t *blk = c->buf + (k / f->block) * block_bytes(f);
    const int E = blk[0] - 127;
    const double v = ldexp((double)x[k], -E), a = fabs(v);
    const uint32_t code = read_code(blk + 1, k % f->block, f->element_bits);
    const double got = (double)c->elem[k] * c->scale[k / f->block], err = fabs((double)x[k] - got);
    int ok = code == ref_fp_encode(e, v) && (double)c->elem[k] == ref_fp_value(e, code);
    if (a >= e->maxval) {
      ok &= fabs(got) == ldexp(e->maxval, E);
    } else {
      const int fl = a == 0.0 || ref_floor_log2(a) < emin ? emin : ref_floor_log2(a);
      ok &= err <= ldexp(1.0, fl - e->mbits - 1 + E);
    }
    if (!ok && bad++ < 3) printf("  %s x=%.9g E=%d: code 0x%02x, value %.9g\n", f->name, (double)x[k], E, code, got);
  }
  return bad;
}

static int check_nvfp4(const coded *c, const float *x);
static int check_bbfp(const coded *c, const float *x);

static void test_round_trip(void) {
  static const int Ks[] = {1, 31, 33, 100, 16, 64, 65, 7};
  enum { KMAX = 100 };
  float x[KMAX];
  int fmt, ki, t;
  char what[128];
  for (fmt = 0; fmt < QRT_BFORMAT_COUNT; ++fmt) {
    const qrt_bformat *f = qrt_bformat_get(fmt);
    int bad = 0;
    for (ki = 0; ki < 8; ++ki)
      for (t = 0; t < 40; ++t) {
        coded c;
        gen_vec(x, Ks[ki]);
        bad += code_vec(&c, fmt, x, Ks[ki]);
        if (f->scale == QRT_SCALE_E8M0 && f->element != QRT_ELEM_BBFP) bad += check_scales(fmt, x, Ks[ki]);
        if (f->element == QRT_ELEM_INT) bad += check_int(&c, x);
        else if (f->element == QRT_ELEM_BBFP) bad += check_bbfp(&c, x);
        else if (f->scale == QRT_SCALE_E4M3) bad += check_nvfp4(&c, x);
        else bad += check_fp(&c, x);
        free_coded(&c);
      }
    sprintf(what, "%s: codes, values and error bound on 320 vectors, K in 1..100", f->name);
    check(bad == 0, what);
  }
  /* MXINT8 is BFP(8, 32): the same bytes */
  {
    int same = 1;
    for (t = 0; t < 50; ++t) {
      const int K = (int)irand(1, KMAX);
      coded a, b;
      gen_vec(x, K);
      same &= !code_vec(&a, qrt_bformat_find("mxint8"), x, K);
      same &= !code_vec(&b, qrt_bformat_find("bfp8_32"), x, K);
      same &= a.bytes == b.bytes && memcmp(a.buf, b.buf, (size_t)a.bytes) == 0;
      free_coded(&a);
      free_coded(&b);
    }
    check(same, "mxint8 and bfp8_32 give identical bytes");
  }
  /* near FLT_MAX every E8M0 format still decodes finite values */
  for (fmt = 0; fmt < QRT_BFORMAT_COUNT; ++fmt) {
    const qrt_bformat *f = qrt_bformat_get(fmt);
    coded c;
    int k, ok = 1;
    if (f->scale != QRT_SCALE_E8M0) continue;
    for (k = 0; k < 40; ++k) x[k] = k % 3 == 0 ? 3.4028234663852886e38f : frand(-1.0f, 1.0f) * 3.4e38f;
    ok = !code_vec(&c, fmt, x, 40);
    for (k = 0; k < 40; ++k) ok &= isfinite(c.y[k]) != 0;
    sprintf(what, "%s: values near FLT_MAX decode finite", f->name);
    check(ok, what);
    free_coded(&c);
  }
}

/* --- 5. NVFP4 --------------------------------------------------------------- */
/* the reference encoder: t = amax / 2688 (1 if 0 or not finite); per block
 * s = E4M3(amax_b / 6 / t), codes E2M1(x / (s t)); NaN / Inf block: E4M3 NaN */
static void ref_nvfp4(const float *x, int K, uint8_t *out) {
  const fp_fmt *e4 = fp_of(QRT_ELEM_E4M3), *e2 = fp_of(QRT_ELEM_E2M1);
  float amax = 0.0f, t;
  uint32_t u;
  int k, b, fin = 1;
  memset(out, 0, (size_t)(4 + nblocks(qrt_bformat_get(qrt_bformat_find("nvfp4")), K) * 9));
  for (k = 0; k < K; ++k) {
    fin &= isfinite(x[k]) != 0;
    if (fabsf(x[k]) > amax) amax = fabsf(x[k]);
  }
  t = amax / 2688.0f;
  if (!fin || !(t > 0.0f)) t = 1.0f;
  memcpy(&u, &t, 4);
  for (k = 0; k < 4; ++k) out[k] = (uint8_t)(u >> (8 * k));
  for (b = 0; b * 16 < K; ++b) {
    uint8_t *blk = out + 4 + 9 * b;
    double ab = 0.0, s;
    int bfin = 1;
    for (k = b * 16; k < K && k < b * 16 + 16; ++k) {
      bfin &= isfinite(x[k]) != 0;
      if (fabs(x[k]) > ab) ab = fabs(x[k]);
    }
    if (!bfin) {
      blk[0] = 0x7f;
      continue;
    }
    blk[0] = (uint8_t)ref_fp_encode(e4, ab / 6.0 / t);
    s = ref_fp_value(e4, blk[0]);
    for (k = b * 16; k < K && k < b * 16 + 16; ++k)
      write_code(blk + 1, k - b * 16, 4, s > 0.0 ? ref_fp_encode(e2, x[k] / (s * t)) : 0u);
  }
}

static int check_nvfp4(const coded *c, const float *x) {
  uint8_t ref[4 + 9 * 8];
  float t;
  int k, bad = 0;
  ref_nvfp4(x, c->K, ref);
  if (memcmp(ref, c->buf, (size_t)c->bytes) != 0) {
    printf("  nvfp4 K=%d: bytes differ from the reference\n", c->K);
    return 1;
  }
  memcpy(&t, c->buf, 4);
  for (k = 0; k < c->K; ++k) {
    const uint8_t *blk = c->buf + 4 + 9 * (k / 16);
    const double st = ref_fp_value(fp_of(QRT_ELEM_E4M3), blk[0]) * t;
    const double v = st > 0 ? fabs(x[k]) / st : 0.0, got = (double)c->elem[k] * c->scale[k / 16];
    const int fl = v >= 1.0 ? ref_floor_log2(v) : 0;
    if (isnan(st)) {
      if (!isnan(c->scale[k / 16])) ++bad;
      continue;
    }
    /* s = 0 (block amax below E4M3's reach at this t): zeros; v >= 6: saturated; else half an E2M1 ulp */
    if (c->scale[k / 16] != st || !(st == 0 ? got == 0
                                    : fabs(x[k] - got) <= (v >= 6.0 ? fabs(x[k]) - 6 * st : ldexp(st, fl - 2)))) {
      if (bad++ < 3) printf("  nvfp4 x=%.9g: value %.9g (s t = %.9g)\n", (double)x[k], got, st);
    }
  }
  return bad;
}

static void test_nvfp4(void) {
  const int fmt = qrt_bformat_find("nvfp4");
  float x[100];
  int t, k, ok;
  coded c;
  for (k = 0; k < 100; ++k) x[k] = frand(-1, 1);
  x[37] = 1000.0f; /* an outlier block; the others get small block scales */
  ok = !code_vec(&c, fmt, x, 100);
  check(ok && check_nvfp4(&c, x) == 0, "nvfp4: outlier vector matches the reference");
  free_coded(&c);
  memset(x, 0, sizeof x);
  ok = !code_vec(&c, fmt, x, 40);
  ok &= check_nvfp4(&c, x) == 0 && c.buf[0] == 0 && c.buf[3] == 0x3f && c.buf[2] == 0x80; /* t = 1.0f */
  for (k = 0; k < 40; ++k) ok &= c.y[k] == 0.0f;
  check(ok, "nvfp4: all zeros: t = 1, s = 0, zeros");
  free_coded(&c);
  for (t = 0; t < 3; ++t) {
    for (k = 0; k < 50; ++k) x[k] = frand(-4, 4);
    x[20] = t == 0 ? NAN : (t == 1 ? INFINITY : -INFINITY);
    ok = !code_vec(&c, fmt, x, 50);
    ok &= check_nvfp4(&c, x) == 0 && c.buf[4 + 9] == 0x7f;
    for (k = 0; k < 50; ++k) ok &= (k / 16 == 1) == (isnan(c.y[k]) != 0);
    check(ok, "nvfp4: a NaN / Inf block: E4M3 NaN scale, NaN values there only, t = 1");
    free_coded(&c);
  }
  for (k = 0; k < 33; ++k) x[k] = (float)ldexp(frand(-1, 1), -140); /* t underflows to 0: t = 1 */
  ok = !code_vec(&c, fmt, x, 33);
  check(ok && check_nvfp4(&c, x) == 0, "nvfp4: subnormal vector");
  free_coded(&c);
}

/* --- 6. BBFP ---------------------------------------------------------------- */
/* the reference encoder of one finite block, from the definition at the top
 * of qrt_fmt_bfp.c; returns e */
static double ref_bbfp_sse(const float *x, int n, int m, int d, int e, uint8_t *codes) {
  const double lim = (1 << (m - 1)) - 1;
  double sse = 0.0;
  int i;
  for (i = 0; i < n; ++i) {
    double q0 = rint(ldexp((double)x[i], -e)), q1 = rint(ldexp((double)x[i], -(e + d))), e0, e1;
    q0 = q0 > lim ? lim : (q0 < -lim ? -lim : q0);
    q1 = q1 > lim ? lim : (q1 < -lim ? -lim : q1);
    e0 = (double)x[i] - ldexp(q0, e);
    e1 = (double)x[i] - ldexp(q1, e + d);
    if (fabs(e1) < fabs(e0)) {
      sse += e1 * e1;
      if (codes) write_code(codes, i, m + 1, ((uint32_t)(int)q1 & ((1u << m) - 1u)) | 1u << m);
    } else {
      sse += e0 * e0;
      if (codes) write_code(codes, i, m + 1, (uint32_t)(int)q0 & ((1u << m) - 1u));
    }
  }
  return sse;
}
static int ref_bbfp_block(const float *x, int n, int bits, uint8_t *codes) {
  const int m = bits - 1, d = m - m / 2;
  static const int order[] = {0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 8, -8};
  double amax = 0.0, best_sse = 0.0;
  int i, E0, best = 0;
  for (i = 0; i < n; ++i) amax = fabs(x[i]) > amax ? fabs(x[i]) : amax;
  E0 = amax == 0.0 ? -127 : ref_floor_log2(amax) - (m - 2);
  E0 = E0 < -127 ? -127 : E0;
  for (i = 0; i < 2 * d + 1; ++i) {
    const int j = order[i], e = E0 - d + j < -127 ? -127 : E0 - d + j;
    double sse;
    if (e + d + m - 1 > 128) continue;
    sse = ref_bbfp_sse(x, n, m, d, e, NULL);
    if (i == 0 || sse < best_sse) {
      best_sse = sse;
      best = e;
    }
  }
  ref_bbfp_sse(x, n, m, d, best, codes);
  return best;
}

static int check_bbfp(const coded *c, const float *x) {
  const qrt_bformat *f = qrt_bformat_get(c->fmt);
  const int bb = block_bytes(f), m = f->element_bits - 1, d = m - m / 2, L = (1 << (m - 1)) - 1;
  float xb[32];
  uint8_t ref[1 + 36];
  int b, k, bad = 0;
  for (b = 0; b < c->nb; ++b) {
    const int n = c->K - b * 32 < 32 ? c->K - b * 32 : 32;
    const uint8_t *blk = c->buf + b * bb;
    int e;
    memset(xb, 0, sizeof xb);
    memcpy(xb, x + b * 32, sizeof(float) * (size_t)n);
    memset(ref, 0, sizeof ref);
    e = ref_bbfp_block(xb, 32, f->element_bits, ref + 1);
    ref[0] = (uint8_t)(e + 127);
    if (memcmp(ref, blk, (size_t)bb) != 0) {
      if (bad++ < 3) printf("  %s block %d: bytes differ from the reference (e %d vs %d)\n", f->name, b, e, blk[0] - 127);
      continue;
    }
    if (c->scale[b] != ldexp(1.0, e)) ++bad;
    for (k = b * 32; k < b * 32 + n; ++k) {
      const uint32_t code = read_code(blk + 1, k - b * 32, m + 1);
      const int q = (int)(code & ((1u << m) - 1u)) - ((code >> (m - 1)) & 1u ? 1 << m : 0);
      const double a = fabs(x[k]), got = (double)c->elem[k] * c->scale[b], err = fabs(x[k] - got);
      if ((double)c->elem[k] != ldexp(q, (code >> m) ? d : 0)) ++bad;
      if (a <= (L + 0.5) * ldexp(1.0, e) ? err > ldexp(1.0, e - 1)
          : a <= (L + 0.5) * ldexp(1.0, e + d) ? err > ldexp(1.0, e + d - 1)
                                               : fabs(got) != L * ldexp(1.0, e + d)) {
        if (bad++ < 3) printf("  %s x=%.9g e=%d: value %.9g out of bound\n", f->name, (double)x[k], e, got);
      }
    }
  }
  return bad;
}

/* block squared errors of x under fmt, from the exact unpacked values */
static int block_sse(int fmt, const float *x, int K, double *sse) {
  coded c;
  int k, bad = code_vec(&c, fmt, x, K);
  for (k = 0; k < c.nb; ++k) sse[k] = 0.0;
  for (k = 0; k < K; ++k) {
    const double e = (double)x[k] - (double)c.elem[k] * c.scale[k / 32];
    sse[k / 32] += e * e;
  }
  free_coded(&c);
  return bad;
}

/* BBFP's j = 0 candidate is BFP(m)'s grid, so no block errs more; with an
 * outlier, the lower window keeps the small values that BFP rounds away. */
static void test_bbfp_vs_bfp(void) {
  static const char *pairs[3][2] = {{"bbfp4_32", "bfp4_32"}, {"bbfp6_32", "bfp6_32"}, {"bbfp8_32", "bfp8_32"}};
  float x[96];
  double s1[3], s2[3];
  int p, t, b, k;
  char what[160];
  for (p = 0; p < 3; ++p) {
    const int f1 = qrt_bformat_find(pairs[p][0]), f2 = qrt_bformat_find(pairs[p][1]);
    int never_above = 1, heavy_below = 0, bad = 0;
    double tot1 = 0.0, tot2 = 0.0;
    for (t = 0; t < 300; ++t) {
      gen_vec(x, 96);
      bad += block_sse(f1, x, 96, s1) + block_sse(f2, x, 96, s2);
      for (b = 0; b < 3; ++b) never_above &= s1[b] <= s2[b] * (1 + 1e-12);
    }
    for (t = 0; t < 300; ++t) {
      for (b = 0; b < 3; ++b) { /* bell-shaped blocks at three scales, one outlier 50x their max */
        float mx = 0.0f;
        for (k = 0; k < 32; ++k) {
          x[b * 32 + k] = (frand(-1, 1) + frand(-1, 1) + frand(-1, 1)) * (float)ldexp(1.0, b * 7 - 5);
          mx = fabsf(x[b * 32 + k]) > mx ? fabsf(x[b * 32 + k]) : mx;
        }
        x[b * 32 + (int)irand(0, 31)] = 50.0f * mx * (irand(0, 1) ? 1.0f : -1.0f);
      }
      bad += block_sse(f1, x, 96, s1) + block_sse(f2, x, 96, s2);
      for (b = 0; b < 3; ++b) {
        heavy_below += s1[b] < s2[b];
        tot1 += s1[b];
        tot2 += s2[b];
      }
    }
    printf("  %s / %s squared error on the outlier blocks: %.3f\n", pairs[p][0], pairs[p][1], tot1 / tot2);
    sprintf(what, "%s: block squared error never above %s (900 random blocks)", pairs[p][0], pairs[p][1]);
    check(never_above && !bad, what);
    sprintf(what, "%s: below %s on blocks with a 50x outlier (%d of 900 blocks; %s)", pairs[p][0],
            pairs[p][1], heavy_below, p == 0 ? "in total" : "every block");
    check(tot1 < tot2 && (p == 0 || heavy_below == 900), what);
  }
}

/* crafted BBFP blocks: ties between candidates go to j = 0; zeros; NaN */
static void test_bbfp_crafted(void) {
  const int fmt = qrt_bformat_find("bbfp4_32");
  float x[40], elem[64];
  double scale[2];
  uint8_t buf[64];
  int k, ok;
  coded c;
  for (k = 0; k < 40; ++k) x[k] = 1.0f; /* exact at j = 0, 1 and 2: j = 0, e = -2 - 2 */
  ok = !code_vec(&c, fmt, x, 40) && c.buf[0] == 127 - 4 && c.buf[21] == 127 - 4;
  for (k = 0; k < 40; ++k) ok &= c.y[k] == 1.0f && read_code(c.buf + 1 + (k / 32) * 21, k % 32, 5) == (1u << 4 | 4u);
  check(ok, "bbfp4_32: a constant block: exact, e = E0 - d (j = 0 wins ties), flag set");
  free_coded(&c);
  memset(x, 0, sizeof x);
  x[35] = NAN;
  ok = !code_vec(&c, fmt, x, 40) && c.buf[0] == 0 && c.buf[21] == 255 && isnan(c.scale[1]);
  for (k = 0; k < 40; ++k) ok &= k < 32 ? c.y[k] == 0.0f : isnan(c.y[k]) != 0;
  check(ok, "bbfp4_32: zero block (scale byte 0), NaN block (255, NaN values)");
  free_coded(&c);
  /* padding elements unpack as 0 whatever their bits */
  for (k = 0; k < 40; ++k) x[k] = (float)k;
  qrt_bfmt_encode(fmt, x, 40, buf);
  memset(buf + 21 + 1 + 5, 0xff, 15);
  qrt_bfmt_unpack(fmt, buf, 40, elem, scale);
  ok = 1;
  for (k = 40; k < 64; ++k) ok &= elem[k] == 0.0f;
  check(ok, "unpack: padding elements are 0 whatever the bytes hold");
}

/* --- 7. the table ------------------------------------------------------------ */
static void test_table(void) {
  static const struct { const char *name; int element, bits, block, scale; } rows[QRT_BFORMAT_COUNT] = {
    {"bfp4_16", QRT_ELEM_INT, 4, 16, 0}, {"bfp4_32", QRT_ELEM_INT, 4, 32, 0},
    {"bfp4_64", QRT_ELEM_INT, 4, 64, 0}, {"bfp6_16", QRT_ELEM_INT, 6, 16, 0},
    {"bfp6_32", QRT_ELEM_INT, 6, 32, 0}, {"bfp6_64", QRT_ELEM_INT, 6, 64, 0},
    {"bfp8_16", QRT_ELEM_INT, 8, 16, 0}, {"bfp8_32", QRT_ELEM_INT, 8, 32, 0},
    {"bfp8_64", QRT_ELEM_INT, 8, 64, 0}, {"mxint8", QRT_ELEM_INT, 8, 32, 0},
    {"mxfp8_e4m3", QRT_ELEM_E4M3, 8, 32, 0}, {"mxfp8_e5m2", QRT_ELEM_E5M2, 8, 32, 0},
    {"mxfp6_e3m2", QRT_ELEM_E3M2, 6, 32, 0}, {"mxfp6_e2m3", QRT_ELEM_E2M3, 6, 32, 0},
    {"mxfp4", QRT_ELEM_E2M1, 4, 32, 0}, {"nvfp4", QRT_ELEM_E2M1, 4, 16, 1},
    {"bbfp4_32", QRT_ELEM_BBFP, 5, 32, 0}, {"bbfp6_32", QRT_ELEM_BBFP, 7, 32, 0},
    {"bbfp8_32", QRT_ELEM_BBFP, 9, 32, 0},
  };
  uint8_t canary[8];
  float x[4] = {1, 2, 3, 4};
  int i, ok = 1;
  for (i = 0; i < QRT_BFORMAT_COUNT; ++i) {
    const qrt_bformat *f = qrt_bformat_get(i);
    ok &= f && strcmp(f->name, rows[i].name) == 0 && f->element == rows[i].element &&
          f->element_bits == rows[i].bits && f->block == rows[i].block && f->scale == rows[i].scale &&
          qrt_bformat_find(rows[i].name) == i;
  }
  check(ok, "every row: get(id) and find(name) agree with the table");
  check(!qrt_bformat_get(-1) && !qrt_bformat_get(QRT_BFORMAT_COUNT) && !qrt_bformat_get(1 << 30) &&
            qrt_bformat_find(NULL) == -1 && qrt_bformat_find("") == -1 && qrt_bformat_find("bfp4") == -1 &&
            qrt_bformat_find("BFP4_16") == -1 && qrt_bformat_find("mxint8 ") == -1,
        "bad ids and names: NULL / -1");
  memset(canary, 0x5a, sizeof canary);
  qrt_bfmt_encode(-1, x, 4, canary);
  qrt_bfmt_encode(QRT_BFORMAT_COUNT, x, 4, canary);
  qrt_bfmt_decode(QRT_BFORMAT_COUNT, canary, 4, x);
  check(qrt_bfmt_bytes(-1, 10) == 0 && qrt_bfmt_bytes(QRT_BFORMAT_COUNT, 10) == 0 && canary[0] == 0x5a &&
            x[3] == 4.0f && qrt_bfmt_bytes(0, 0) == 0 && qrt_bfmt_bytes(15, 0) == 4 &&
            qrt_bfmt_bytes(16, 33) == 2 * (1 + 20) && qrt_bfmt_bytes(15, 17) == 4 + 2 * 9,
        "unknown formats write nothing; sizes");
}

int main(void) {
  test_table();
  test_elem_decode();
  test_elem_rounding();
  test_scale_choice();
  test_round_trip();
  test_nvfp4();
  test_bbfp_vs_bfp();
  test_bbfp_crafted();
  return finish();
}
