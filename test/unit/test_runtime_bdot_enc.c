/* test_runtime_bdot_enc.c - qrt_bdot_enc.c's run-time BFP / MXINT8
 * encoders against the reference encoder, bit for bit: qrt_bfmt_encode
 * (qrt_fmt.c + qrt_fmt_bfp.c, frexp exponent and double rounding) read
 * back with qrt_bfmt_unpack_int gives each block's mantissas and scale;
 * qrt_bdot_enc_row must give the same int8 mantissas (padding 0) and the
 * same scale bits (NaN for NaN / Inf blocks), and qrt_bdot_enc_panel the
 * same per column, in qrt_bdot.c's panel layout, with 128 * the block
 * sums and 0 for columns past N.  Every BFP row of the table (bfp4/6/8 x
 * blocks 16/32/64, MXINT8).  Blocks: uniformly random float bit patterns
 * (every binade, subnormals included), values with an exact tie at every
 * mantissa (x = (j + 1/2) 2^E), values at the saturation edge, all
 * subnormal / all zero / signed zero blocks, amax near FLT_MAX, NaN, +Inf
 * and -Inf at every position class, and K with a partial last block or
 * shorter than one block.  Also: qrt_bfmt_int_table's view of these
 * formats is the one qrt_bdot.c assumes without reading it (shift 0, kmax
 * 2^(b-1), int8 mantissas).  Built on every SIMD path (AVX-512, AVX2,
 * NEON, portable) by run_runtime_tests.sh. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static int same_f64(double a, double b) { return memcmp(&a, &b, sizeof a) == 0 || (a != a && b != b); }

static float from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* The reference mantissas k[nb * block] and scales s[nb] of x[K]. */
static void reference(int32_t fmt, const float *x, int64_t K, int16_t *k, double *s) {
  int16_t table[QRT_BFMT_MAX_CODES];
  int32_t kmax;
  double t;
  uint8_t *v = xmalloc((size_t)qrt_bfmt_bytes(fmt, K));
  (void)qrt_bfmt_int_table(fmt, table, &kmax);
  qrt_bfmt_encode(fmt, x, K, v);
  qrt_bfmt_unpack_int(fmt, v, K, table, k, s, &t);
  free(v);
}

/* Fills one block x[n] (block exponent chosen here) by kind. */
static void fill_block(float *x, int32_t n, int kind, int32_t bits) {
  const int32_t emax = bits - 2, lim = (1 << (bits - 1)) - 1;
  int32_t i;
  /* a block exponent E over most of E8M0's range, and its scale 2^E */
  const int32_t E = (int32_t)irand(-140, 120);
  for (i = 0; i < n; ++i) {
    switch (kind) {
    case 0: /* random bit patterns, finite: every binade and subnormals */
      do x[i] = from_bits(lcg()); while (!isfinite(x[i]));
      break;
    case 1: /* random magnitudes spanning 2^-30 .. 1 of the block's top */
      x[i] = ldexpf(frand(-1.0f, 1.0f), (int)irand(-30, 0) + E + emax);
      break;
    case 2: /* exact ties (j + 1/2) 2^E, j up to the saturation edge, and
             * one value setting amax so the block's exponent is E */
      x[i] = ldexpf((float)irand(-lim - 1, lim) + 0.5f, E);
      break;
    case 3: /* subnormal floats only */
      x[i] = from_bits((lcg() & 0x807fffffu));
      break;
    case 4: /* zeros of both signs, a few tiny values */
      x[i] = (lcg() & 3) == 0 ? from_bits(lcg() & 0x8000000fu) : (lcg() & 1 ? -0.0f : 0.0f);
      break;
    default: /* near FLT_MAX, rounding to the top codes */
      x[i] = frand(-1.0f, 1.0f) * FLT_MAX;
      break;
    }
  }
  if (kind == 2 && n > 0) {
    /* amax in [2^(E+emax), 2^(E+emax+1)): E is the block's exponent (when
     * in E8M0's range), so the ties above stay ties */
    x[irand(0, n - 1)] = ldexpf((float)irand(-1, 0) ? -1.0f : 1.0f, E + emax) * frand(1.0f, 1.999f);
  }
}

static void fill_vector(float *x, int64_t K, int32_t block, int32_t bits) {
  int64_t k0;
  for (k0 = 0; k0 < K; k0 += block) {
    const int32_t n = K - k0 < block ? (int32_t)(K - k0) : block;
    const int kind = (int)irand(0, 5);
    fill_block(x + k0, n, kind, bits);
    if (irand(0, 9) == 0) { /* a non-finite block */
      const uint32_t r = lcg() % 3;
      x[k0 + irand(0, n - 1)] = r == 0 ? NAN : (r == 1 ? INFINITY : -INFINITY);
    }
  }
}

static void test_rows(int32_t fmt, int64_t K, int reps) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  const int64_t nb = (K + f->block - 1) / f->block, kb = nb * f->block;
  float *x = xmalloc(sizeof(float) * (size_t)K);
  int16_t *kr = xmalloc(sizeof(int16_t) * (size_t)kb);
  int8_t *k = xmalloc((size_t)kb);
  double *sr = xmalloc(sizeof(double) * (size_t)nb), *s = xmalloc(sizeof(double) * (size_t)nb);
  int64_t i, bad = 0;
  int r;
  char what[200];
  for (r = 0; r < reps; ++r) {
    fill_vector(x, K, f->block, f->element_bits);
    reference(fmt, x, K, kr, sr);
    memset(k, 0x5a, (size_t)kb); /* padding must be written */
    qrt_bdot_enc_row(fmt, x, K, k, s);
    for (i = 0; i < kb; ++i)
      if (k[i] != kr[i]) {
        if (!bad) printf("  %s K=%lld k[%lld] = %d, reference %d (x %.9g)\n", f->name, (long long)K, (long long)i,
                         k[i], kr[i], i < K ? (double)x[i] : 0.0);
        ++bad;
      }
    for (i = 0; i < nb; ++i)
      if (!same_f64(s[i], sr[i])) {
        if (!bad) printf("  %s K=%lld scale[%lld] = %g, reference %g\n", f->name, (long long)K, (long long)i, s[i],
                         sr[i]);
        ++bad;
      }
  }
  snprintf(what, sizeof what, "row encoder %s K=%lld x %d vectors == qrt_bfmt_encode [%s]", f->name, (long long)K,
           reps, qrt_bdot_enc_path());
  check(bad == 0, what);
  free(x); free(kr); free(k); free(sr); free(s);
}

static void test_panel(int32_t fmt, int64_t K, int64_t N) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  const int64_t nb = (K + f->block - 1) / f->block, kb = nb * f->block;
  float *B = xmalloc(sizeof(float) * (size_t)(K * N)), *col = xmalloc(sizeof(float) * (size_t)K);
  int16_t *kr = xmalloc(sizeof(int16_t) * (size_t)kb);
  int8_t *wm = xmalloc((size_t)(kb * 16));
  double *sr = xmalloc(sizeof(double) * (size_t)nb), *ws = xmalloc(sizeof(double) * (size_t)(nb * 16));
  int32_t *wc = xmalloc(sizeof(int32_t) * (size_t)(nb * 16));
  int64_t n0, c, k, b, bad = 0;
  char what[200];
  /* columns filled as vectors (each its own block kinds), then scattered */
  for (c = 0; c < N; ++c) {
    fill_vector(col, K, f->block, f->element_bits);
    for (k = 0; k < K; ++k) B[k * N + c] = col[k];
  }
  for (n0 = 0; n0 < N; n0 += 16) {
    memset(wm, 0x5a, (size_t)(kb * 16));
    qrt_bdot_enc_panel(fmt, B, K, N, n0, wm, ws, wc);
    for (c = 0; c < 16; ++c) {
      if (n0 + c < N) {
        for (k = 0; k < K; ++k) col[k] = B[k * N + n0 + c];
        reference(fmt, col, K, kr, sr);
      } else {
        memset(kr, 0, sizeof(int16_t) * (size_t)kb);
        for (b = 0; b < nb; ++b) sr[b] = 0.0;
      }
      for (k = 0; k < kb; ++k) bad += wm[(k / 4 * 16 + c) * 4 + k % 4] != kr[k];
      for (b = 0; b < nb; ++b) {
        int32_t sum = 0;
        for (k = b * f->block; k < (b + 1) * f->block; ++k) sum += kr[k];
        bad += !same_f64(ws[b * 16 + c], sr[b]) || wc[b * 16 + c] != 128 * sum;
      }
    }
  }
  snprintf(what, sizeof what, "panel encoder %s K=%lld N=%lld == qrt_bfmt_encode per column [%s]", f->name,
           (long long)K, (long long)N, qrt_bdot_enc_path());
  check(bad == 0, what);
  free(B); free(col); free(kr); free(wm); free(sr); free(ws); free(wc);
}

/* Every tie of one block exactly: x = (j + 1/2) 2^E for all j, both
 * signs, next to a maximum that fixes E (the codes round to even). */
static void test_all_ties(int32_t fmt) {
  const qrt_bformat *f = qrt_bformat_get(fmt);
  const int32_t lim = (1 << (f->element_bits - 1)) - 1, emax = f->element_bits - 2;
  float x[64];
  int16_t kr[64];
  int8_t k[64];
  double sr[1], s[1];
  int32_t j0, i, E, bad = 0;
  char what[160];
  /* |j + 1/2| <= L + 1/2 < 2^(emax+1): the block's exponent stays E */
  for (E = -127; E <= 120; E += 31)
    for (j0 = 0; j0 < 2 * lim + 2; j0 += f->block - 1) {
      x[0] = ldexpf(1.5f, E + emax); /* amax in [2^(E+emax), 2^(E+emax+1)) */
      for (i = 1; i < f->block; ++i) x[i] = ldexpf((float)(-lim - 1 + (j0 + i - 1) % (2 * lim + 2)) + 0.5f, E);
      reference(fmt, x, f->block, kr, sr);
      qrt_bdot_enc_row(fmt, x, f->block, k, s);
      for (i = 0; i < f->block; ++i) bad += k[i] != kr[i];
      bad += !same_f64(s[0], sr[0]);
    }
  snprintf(what, sizeof what, "row encoder %s: every tie (j + 1/2) 2^E rounds as the reference", f->name);
  check(bad == 0, what);
}

int main(void) {
  static const int64_t Ks[] = {1, 5, 16, 31, 32, 33, 64, 70, 100, 128, 257};
  int32_t fmt, i, n = 0;
  for (fmt = 0; fmt < QRT_BFORMAT_COUNT; ++fmt) {
    const qrt_bformat *f = qrt_bformat_get(fmt);
    const int fits = f->element == QRT_ELEM_INT && f->scale == QRT_SCALE_E8M0;
    int16_t table[QRT_BFMT_MAX_CODES];
    int32_t kmax = 0, shift, c, view_ok;
    char what[160];
    snprintf(what, sizeof what, "%s %s the BFP encoders", f->name, fits ? "takes" : "does not take");
    check(qrt_bdot_enc_fits(fmt) == fits, what);
    if (!fits) continue;
    ++n;
    /* qrt_bdot.c's view of a BFP format, which it does not read from the table */
    shift = qrt_bfmt_int_table(fmt, table, &kmax);
    view_ok = shift == 0 && kmax == 1 << (f->element_bits - 1);
    for (c = 0; c < 1 << f->element_bits; ++c) view_ok &= table[c] >= -128 && table[c] <= 127;
    snprintf(what, sizeof what, "%s: integer view shift 0, kmax 2^(b-1), int8 mantissas", f->name);
    check(view_ok, what);
    for (i = 0; i < (int32_t)(sizeof Ks / sizeof Ks[0]); ++i) test_rows(fmt, Ks[i], 300);
    test_all_ties(fmt);
    test_panel(fmt, 16, 48);
    test_panel(fmt, 70, 37);
    test_panel(fmt, 5, 3);
    test_panel(fmt, 200, 16);
  }
  check(n == 10, "ten BFP formats in the table");
  printf("bdot encoder path: %s\n", qrt_bdot_enc_path());
  return finish();
}
