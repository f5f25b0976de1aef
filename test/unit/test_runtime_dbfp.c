/* test_runtime_dbfp.c - DBFP rows and the lookup-table softmax
 * (runtime/qrt_dbfp.c) against a reference written from the definitions
 * at the top of that file, independently of it (long double, nearbyintl
 * for ties to even, ldexpl for the steps).
 *
 * Asserted:
 *  - the exp table: every entry is (float)exp(-c 2^E) of its level and
 *    group, the coarse flush code 0; bad bits are refused;
 *  - codes: qrt_dbfp_encode_row gives the reference's pivot, exponent and
 *    every code, on random rows of every spread (past the range: flush),
 *    on every rounding midpoint of the fine and coarse grids (ties to
 *    even), on both sides of the fine / coarse boundary and of the flush
 *    code, on all-equal rows (zeros), -0, subnormals, and NaN / +-Inf rows;
 *  - storage: encode then decode gives the reference values (pivot - c
 *    2^E, -inf for flush, NaN rows NaN), for every bits in [4, 8] and odd
 *    row lengths (the bit stream's tails);
 *  - the softmax: bit for bit the reference (the same table lookups, the
 *    double sum in order, one reciprocal), and within the bound stated in
 *    qrt_dbfp.c of the exact softmax (long double) on every element;
 *    NaN rows give NaN, as qrt_softmax_f32 does.
 * Printed: the largest absolute error against the exact softmax and
 * against qrt_softmax_f32 per bits and logit spread. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

#define LEVELS 8

/* --- the reference encoder ---------------------------------------------- */
typedef struct {
  float pivot;
  int e; /* E_c, 255 for a NaN row */
  uint32_t code[512];
  long double val[512]; /* decoded value; -inf for flush */
} ref_row;

static void ref_encode(int bits, const float *x, int L, ref_row *r) {
  const int emax = 4 - bits, top = (1 << bits) - 1;
  long double p = -INFINITY, lo = INFINITY, D;
  int j, nan = 0;
  for (j = 0; j < L; ++j) {
    if (isnan(x[j])) nan = 1;
    else {
      if (x[j] > p || (x[j] == p && signbit(p) && !signbit(x[j]))) p = x[j]; /* +0 above -0 */
      if (x[j] < lo) lo = x[j];
    }
  }
  r->pivot = (float)p;
  if (nan || isinf(p)) {
    r->e = 255;
    for (j = 0; j < L; ++j) r->code[j] = 0, r->val[j] = NAN;
    return;
  }
  D = p - lo;
  for (r->e = emax - (LEVELS - 1); r->e < emax; ++r->e)
    if ((long double)(top - 1) * ldexpl(1.0L, r->e) >= D) break;
  for (j = 0; j < L; ++j) {
    const long double d = p - (long double)x[j];
    const long double cf = isinf(d) ? INFINITY : nearbyintl(ldexpl(d, 2 - r->e));
    if (cf <= top) {
      r->code[j] = (uint32_t)cf;
      r->val[j] = p - cf * ldexpl(1.0L, r->e - 2);
    } else {
      const long double cc = isinf(d) ? INFINITY : nearbyintl(ldexpl(d, -r->e));
      if (cc <= top - 1) {
        r->code[j] = (uint32_t)cc | (1u << bits);
        r->val[j] = p - cc * ldexpl(1.0L, r->e);
      } else {
        r->code[j] = (uint32_t)top | (1u << bits);
        r->val[j] = -INFINITY;
      }
    }
  }
}

/* --- checks --------------------------------------------------------------- */
static float g_table[9][LEVELS * 2 * 256];

static void check_table(void) {
  int bits, lev, g, c, bad = 0;
  float dummy[1];
  for (bits = 4; bits <= 8; ++bits) {
    const int n = 1 << bits;
    if (qrt_dbfp_table_size(bits) != LEVELS * 2 * n || qrt_build_dbfp_softmax_table(bits, g_table[bits])) bad++;
    for (lev = 0; lev < LEVELS; ++lev)
      for (g = 0; g < 2; ++g)
        for (c = 0; c < n; ++c) {
          const int e = 4 - bits - (LEVELS - 1) + lev - (g ? 0 : 2);
          const float want = g && c == n - 1 ? 0.0f : (float)exp(-ldexp((double)c, e));
          bad += !same_f32(g_table[bits][(lev * 2 + g) * n + c], want);
        }
  }
  bad += qrt_build_dbfp_softmax_table(3, dummy) != -1 || qrt_build_dbfp_softmax_table(9, dummy) != -1;
  bad += qrt_dbfp_table_size(9) != 0 || qrt_dbfp_bytes(3, 4) != 0 || qrt_dbfp_bytes(8, 0) != 0;
  check(!bad, "exp table: every level, group and code; bad bits refused");
}

/* One row through every entry point; returns 0 on a mismatch (printed). */
static int row_ok(int bits, const float *x, int L, const char *tag) {
  ref_row r;
  uint16_t codes[512];
  uint8_t buf[5 + 512 * 9 / 8 + 8];
  float pivot, dec[512], y[512];
  const int64_t nb = qrt_dbfp_bytes(bits, L);
  int32_t e;
  int j;
  ref_encode(bits, x, L, &r);
  e = qrt_dbfp_encode_row(bits, x, L, codes, &pivot);
  if (e != r.e || (e != 255 && !same_f32(pivot, r.pivot))) {
    printf("  %s bits %d: exponent %d pivot %g, want %d %g\n", tag, bits, e, pivot, r.e, r.pivot);
    return 0;
  }
  for (j = 0; j < L && e != 255; ++j)
    if (codes[j] != r.code[j]) {
      printf("  %s bits %d: x[%d] = %.9g (pivot %.9g, E_c %d): code %#x, want %#x\n", tag, bits, j, x[j], pivot, e,
             codes[j], r.code[j]);
      return 0;
    }
  memset(buf, 0xa5, sizeof buf);
  qrt_dbfp_encode(bits, x, L, buf);
  if (buf[nb] != 0xa5) {
    printf("  %s bits %d: encode wrote past %lld bytes\n", tag, bits, (long long)nb);
    return 0;
  }
  qrt_dbfp_decode(bits, buf, L, dec);
  for (j = 0; j < L; ++j)
    if (!same_f32(dec[j], (float)r.val[j]) || !same_f32(dec[j], qrt_dbfp_value(bits, pivot, e, codes[j]))) {
      printf("  %s bits %d: decoded x[%d] = %.9g, want %.9g\n", tag, bits, j, dec[j], (double)r.val[j]);
      return 0;
    }
  {
    /* the softmax: bit for bit the reference arithmetic */
    qrt_dbfp_softmax_params p = {1, L, bits};
    const void *in[2] = {x, g_table[bits]};
    void *out[1] = {y};
    const int n = 1 << bits;
    double S = 0.0, rs, lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    float e_ref[512];
    qrt_dbfp_softmax_f32(&p, in, out);
    if (r.e == 255) {
      for (j = 0; j < L; ++j)
        if (!isnan(y[j])) {
          printf("  %s bits %d: NaN row gave y[%d] = %g\n", tag, bits, j, y[j]);
          return 0;
        }
      return 1;
    }
    for (j = 0; j < L; ++j) {
      const int lev = r.e - (4 - bits) + LEVELS - 1, g = (int)(r.code[j] >> bits);
      e_ref[j] = g_table[bits][(lev * 2 + g) * n + (int)(r.code[j] & (uint32_t)(n - 1))];
    }
    /* the kernel's sum order: 8 lanes, j into lane j % 8 in order, then
     * pairwise halving */
    for (j = 0; j < L; ++j) lane[j % 8] += (double)e_ref[j];
    lane[0] += lane[4], lane[1] += lane[5], lane[2] += lane[6], lane[3] += lane[7];
    lane[0] += lane[2], lane[1] += lane[3];
    S = lane[0] + lane[1];
    rs = 1.0 / S;
    for (j = 0; j < L; ++j)
      if (!same_f32(y[j], (float)((double)e_ref[j] * rs))) {
        printf("  %s bits %d: softmax y[%d] = %.9g, want %.9g\n", tag, bits, j, y[j], (float)((double)e_ref[j] * rs));
        return 0;
      }
  }
  return 1;
}

static void check_random_rows(void) {
  static const float spreads[] = {0.0f, 1e-6f, 0.05f, 0.5f, 2.0f, 5.0f, 12.0f, 15.9f, 16.5f, 40.0f, 1e4f};
  static const int lens[] = {1, 2, 7, 31, 64, 100, 257};
  float x[512];
  int bits, s, l, k, ok = 1;
  for (bits = 4; bits <= 8; ++bits)
    for (s = 0; s < (int)(sizeof spreads / sizeof *spreads); ++s)
      for (l = 0; l < (int)(sizeof lens / sizeof *lens); ++l)
        for (k = 0; k < 4 && ok; ++k) {
          const float off = k == 0 ? 0.0f : frand(-50.0f, 50.0f);
          int j;
          for (j = 0; j < lens[l]; ++j) x[j] = off + frand(-spreads[s], 0.0f);
          if (k == 3) x[irand(0, lens[l] - 1)] = off - spreads[s]; /* the spread exactly */
          ok = row_ok(bits, x, lens[l], "random");
        }
  check(ok, "random rows: codes, storage and softmax equal the reference (bits 4..8, spreads 0..1e4)");
}

/* Every rounding midpoint of the fine and the coarse grid, both sides of
 * the fine / coarse boundary and of the flush code, at every level. */
static void check_midpoints(void) {
  float x[600];
  int bits, lev, ok = 1;
  for (bits = 4; bits <= 8 && ok; ++bits)
    for (lev = 0; lev < LEVELS && ok; ++lev) {
      const int top = (1 << bits) - 1, e = 4 - bits - (LEVELS - 1) + lev;
      const double step_f = ldexp(1.0, e - 2), step_c = ldexp(1.0, e);
      const float p = 3.0f;
      int c, L = 0;
      x[L++] = p;
      /* the spread selects this level: exactly its top coarse distance */
      x[L++] = (float)(p - (top - 1) * step_c);
      for (c = 0; c <= top && L < 500; ++c) x[L++] = (float)(p - (c + 0.5) * step_f);
      for (c = top / 4; c <= top - 1 && L < 598; c += 1) x[L++] = (float)(p - (c + 0.5) * step_c);
      ok = row_ok(bits, x, L, "midpoints");
      if (!ok) break;
      /* the fine / coarse boundary: (top + 1/2) step_f rounds to top + 1,
       * even, so the element goes coarse; just below stays fine */
      L = 0;
      x[L++] = p;
      x[L++] = (float)(p - (top - 1) * step_c);
      x[L++] = (float)(p - (top + 0.5) * step_f);
      x[L++] = nextafterf((float)(p - (top + 0.5) * step_f), p);
      x[L++] = (float)(p - top * step_f);
      ok = row_ok(bits, x, L, "fine/coarse");
      if (ok) {
        /* around p - 2^(E_c + m), where the kernel stops computing codes
         * and gives the flush code directly */
        const double w = ldexp(1.0, e + bits);
        L = 0;
        x[L++] = p;
        x[L++] = (float)(p - (top - 1) * step_c);
        x[L++] = (float)(p - w);
        x[L++] = nextafterf((float)(p - w), p);
        x[L++] = nextafterf((float)(p - w), -1e30f);
        x[L++] = (float)(p - (top - 0.5) * step_c);
        ok = row_ok(bits, x, L, "far threshold");
      }
      if (lev == LEVELS - 1 && ok) {
        /* the flush code: (top - 1/2) step_c rounds to top (odd? ties to
         * even decide) and flushes; (top - 1.5) step_c stays */
        L = 0;
        x[L++] = p;
        x[L++] = (float)(p - (top - 0.5) * step_c);
        x[L++] = (float)(p - (top - 1.5) * step_c);
        x[L++] = (float)(p - (top - 1) * step_c);
        x[L++] = (float)(p - 1000.0);
        ok = row_ok(bits, x, L, "flush");
      }
    }
  check(ok, "every rounding midpoint (ties to even), the fine/coarse boundary and the flush code, every level");
}

static void check_special(void) {
  const float inf = INFINITY, nan = NAN;
  float x[8], y[8];
  int ok = 1, bits, j;
  for (bits = 4; bits <= 8 && ok; ++bits) {
    const float zeros[5] = {0.0f, 0.0f, -0.0f, 0.0f, 0.0f};
    const float subn[4] = {1e-40f, -1e-40f, 0.0f, 1e-45f};
    const float nanrow[4] = {1.0f, nan, 0.0f, -2.0f};
    const float posinf[4] = {1.0f, inf, 0.0f, -2.0f};
    const float allneg[3] = {-inf, -inf, -inf};
    const float masked[4] = {1.0f, -inf, 0.5f, -1e9f};
    /* huge pivots: p - 2^(E_c + m) rounds in double; the spread overflows
     * float but not double */
    const float huge[5] = {1e30f, 1e30f, 0.0f, -1e30f, 1e30f};
    const float huge2[4] = {1e30f, 0.0f, 1e30f, 1e30f};
    const float widest[3] = {3e38f, -3e38f, 3e38f};
    const float gap[3] = {1e30f, 0.0f, 0.0f};
    ok = row_ok(bits, zeros, 5, "zeros") && row_ok(bits, subn, 4, "subnormals") && row_ok(bits, nanrow, 4, "NaN") &&
         row_ok(bits, posinf, 4, "+inf") && row_ok(bits, allneg, 3, "all -inf") && row_ok(bits, masked, 4, "masked") &&
         row_ok(bits, huge, 5, "huge") && row_ok(bits, huge2, 4, "huge2") && row_ok(bits, widest, 3, "widest") &&
         row_ok(bits, gap, 3, "gap");
    {
      /* a huge pivot and its float neighbour below (2^76 apart: flush) */
      float nb[3];
      nb[0] = 1e30f, nb[1] = nextafterf(1e30f, 0.0f), nb[2] = 1e30f;
      ok = ok && row_ok(bits, nb, 3, "huge neighbour");
    }
    if (ok) {
      /* masked elements flush to exactly 0; equal logits give exactly 1/L */
      qrt_dbfp_softmax_params p = {1, 4, bits};
      const void *in[2] = {masked, g_table[bits]};
      void *out[1] = {y};
      qrt_dbfp_softmax_f32(&p, in, out);
      ok = y[1] == 0.0f && y[3] == 0.0f;
      memset(x, 0, sizeof x);
      in[0] = x;
      qrt_dbfp_softmax_f32(&p, in, out);
      for (j = 0; j < 4; ++j) ok &= y[j] == 0.25f;
    }
  }
  check(ok, "zeros, -0, subnormals, NaN / +inf / all -inf rows (NaN out), -inf and -1e9 masks (exactly 0), huge "
            "pivots and spreads");
}

/* The bound of qrt_dbfp.c on every element, and the measured errors. */
static void check_bound(void) {
  static const double sigmas[] = {0.5, 2.0, 5.0, 20.0};
  enum { L = 64, ROWS = 100 };
  float x[L], y[L], yf[L];
  int bits, s, ok = 1;
  printf("  max |softmax error|     sigma:");
  for (s = 0; s < 4; ++s) printf(" %9g", sigmas[s]);
  printf("\n");
  for (bits = 4; bits <= 8; ++bits) {
    const long double phi = expl(-ldexpl((long double)((1 << bits) - 1.5), 4 - bits));
    double worst[4] = {0}, worst_f[4] = {0};
    for (s = 0; s < 4; ++s) {
      int row;
      for (row = 0; row < ROWS; ++row) {
        ref_row r;
        long double S = 0.0L, eta = 0.0L, p[L];
        qrt_dbfp_softmax_params pp = {1, L, bits};
        qrt_softmax_params fp = {0, 1, L, 1};
        const void *in[2] = {x, g_table[bits]};
        void *out[1] = {y}, *outf[1] = {yf};
        int j;
        for (j = 0; j < L; ++j) {
          /* normal-ish logits: the sum of three uniforms */
          x[j] = (float)(sigmas[s] * (frand(-1, 1) + frand(-1, 1) + frand(-1, 1)));
        }
        ref_encode(bits, x, L, &r);
        qrt_dbfp_softmax_f32(&pp, in, out);
        qrt_softmax_f32(&fp, in, outf);
        for (j = 0; j < L; ++j) S += expl((long double)x[j] - r.pivot);
        for (j = 0; j < L; ++j) {
          p[j] = expl((long double)x[j] - r.pivot) / S;
          if (!isinf(r.val[j]) && fabsl(r.val[j] - x[j]) > eta) eta = fabsl(r.val[j] - x[j]);
        }
        for (j = 0; j < L; ++j) {
          const long double eta_j = isinf(r.val[j]) ? 0.0L : fabsl(r.val[j] - x[j]);
          const long double bound =
              isinf(r.val[j]) ? phi
                              : p[j] * (expl(eta_j + eta) * (1.0L + ldexpl(1.0L, -22)) / (1.0L - L * phi * expl(eta)) - 1.0L);
          const double err = (double)fabsl((long double)y[j] - p[j]);
          if (err > bound + ldexpl(1.0L, -30)) {
            if (ok) printf("  bits %d sigma %g: |y - p| = %g > bound %g at %d\n", bits, sigmas[s], err, (double)bound, j);
            ok = 0;
          }
          if (err > worst[s]) worst[s] = err;
          if (fabs((double)y[j] - (double)yf[j]) > worst_f[s]) worst_f[s] = fabs((double)y[j] - (double)yf[j]);
        }
      }
    }
    printf("  dbfp%d vs exact / vs float:", bits);
    for (s = 0; s < 4; ++s) printf(" %.2e/%.2e", worst[s], worst_f[s]);
    printf("\n");
  }
  /* For comparison, the int8 softmax of --integer-only on the same kind of
   * rows: the logits quantized per tensor over [-3 sigma, 3 sigma] (their
   * range), qrt_qsoftmax_i8, p = (y + 128) / 256; the compiler uses it
   * only when the step is at most 1/8 ("-" otherwise). */
  printf("  int8 (qsoftmax)          :");
  for (s = 0; s < 4; ++s) {
    const double step = 6.0 * sigmas[s] / 255.0;
    int32_t table[256];
    int8_t q[L], yq[L];
    double worst = 0.0;
    int row;
    if (step > 0.125 || qrt_build_qsoftmax_i8(step, table)) {
      printf(" %19s", "-");
      continue;
    }
    for (row = 0; row < ROWS; ++row) {
      qrt_qsoftmax_params qp = {1, L, 0};
      const void *in[3] = {q, table, NULL};
      void *out[1] = {yq};
      long double S = 0.0L, mx = -INFINITY;
      int j;
      for (j = 0; j < L; ++j) {
        long double c;
        x[j] = (float)(sigmas[s] * (frand(-1, 1) + frand(-1, 1) + frand(-1, 1)));
        c = nearbyintl((long double)x[j] / step);
        q[j] = (int8_t)(c > 127 ? 127 : c < -128 ? -128 : c);
        if (x[j] > mx) mx = x[j];
      }
      qrt_qsoftmax_i8(&qp, in, out);
      for (j = 0; j < L; ++j) S += expl((long double)x[j] - mx);
      for (j = 0; j < L; ++j) {
        const double err = fabs((double)((yq[j] + 128) / 256.0L - expl((long double)x[j] - mx) / S));
        if (err > worst) worst = err;
      }
    }
    printf(" %19.2e", worst);
  }
  printf("\n");
  check(ok, "softmax within the stated bound of the exact softmax, every element (bits 4..8, 400 rows of 64)");
}

int main(void) {
  check_table();
  check_random_rows();
  check_midpoints();
  check_special();
  check_bound();
  return finish();
}
