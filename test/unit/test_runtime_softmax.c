/* test_runtime_softmax.c - softmax / log_softmax against a double-precision
 * reference.  The kernel sums in float (16 lanes along a contiguous axis,
 * sequentially across a strided one), so the comparison uses a tolerance:
 * |y - ref| <= 2e-6 + 1e-5 * |ref| (a few float ulp of each term plus the
 * float sum error for axis lengths up to ~1000).
 * Rows along a contiguous axis are also compared bit for bit with the
 * definition in qrt_softmax.c written plainly (sequential max fold, scalar
 * qrt_exp_f32, 16-lane sum, division), with -inf, NaN, signed zero maxima
 * and infinities in some rows: the kernel finds the max on integer keys
 * and runs exp on whole vectors, which must not change a bit.
 * qrt_softmax_codes_f32 (int8 codes through a float table, a keep-mask)
 * is compared bit for bit with its definition written plainly (a table of
 * exps, 16-lane sums, a reciprocal; the chain's row where the sum is tiny)
 * and within 1e-5 relative (or 1e-18 absolute, where its exp table
 * underflows) with the chain it replaces in attention: dequantize, a
 * constant multiplication, an additive -1e4 mask, softmax. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static void run_case(int64_t outer, int64_t L, int64_t inner, int log_flag, float scale) {
  qrt_softmax_params p;
  const int64_t n = outer * L * inner;
  float *x = (float *)xmalloc(sizeof(float) * (size_t)n), *y = (float *)xmalloc(sizeof(float) * (size_t)n);
  const void *in[1];
  void *out[1];
  int64_t o, j, t;
  int ok = 1;
  char what[80];
  fill_f32(x, n, -scale, scale);
  memset(&p, 0, sizeof p);
  p.log = log_flag; p.outer = outer; p.axis_len = L; p.inner = inner;
  in[0] = x; out[0] = y;
  qrt_softmax_f32(&p, in, out);
  for (o = 0; o < outer; ++o)
    for (t = 0; t < inner; ++t) {
      double m = -INFINITY, s = 0;
      for (j = 0; j < L; ++j) m = fmax(m, x[(o * L + j) * inner + t]);
      for (j = 0; j < L; ++j) s += exp(x[(o * L + j) * inner + t] - m);
      for (j = 0; j < L; ++j) {
        const double xv = x[(o * L + j) * inner + t];
        const double r = log_flag ? (xv - m) - log(s) : exp(xv - m) / s;
        const double yv = y[(o * L + j) * inner + t];
        if (!(fabs(yv - r) <= 2e-6 + 1e-5 * fabs(r))) {
          if (ok) printf("  %.9g vs %.9g\n", yv, r);
          ok = 0;
        }
      }
    }
  sprintf(what, "softmax outer %lld len %lld inner %lld log %d", (long long)outer, (long long)L,
          (long long)inner, log_flag);
  check(ok, what);
  free(x); free(y);
}

static float plain_max(const float *v, int64_t n) {
  float m = v[0];
  int64_t i;
  for (i = 1; i < n; ++i) m = (v[i] > m || v[i] != v[i]) ? v[i] : m;
  return m;
}


/* y = the plain definition of one row (log 0): sequential max, scalar
 * exp, 16-lane sum, division. */
static void plain_row(const float *xr, int64_t L, float *out) {
  const float m = plain_max(xr, L);
  float acc[16], s;
  int64_t j, l, w;
  for (l = 0; l < 16; ++l) acc[l] = 0.0f;
  for (j = 0; j < L; ++j) out[j] = qrt_exp_f32(xr[j] - m);
  for (j = 0; j < L; ++j) acc[j % 16] = acc[j % 16] + out[j];
  for (w = 8; w >= 1; w /= 2)
    for (l = 0; l < w; ++l) acc[l] = acc[l] + acc[l + w];
  s = acc[0];
  for (j = 0; j < L; ++j) out[j] = out[j] / s;
}

/* Causal score rows (row i keeps i % L + 1 elements, the rest -1e4 above
 * them, some all -inf), where qrt_softmax_f32 skips the chunks whose exp
 * underflows: bit for bit with the plain definition, out of place and in
 * place, over several groups of rows, and for rows too long to be grouped
 * (the unskipped code). */
static void causal_rows(int64_t rows, int64_t L, int in_place) {
  qrt_softmax_params p;
  float *x = (float *)xmalloc(sizeof(float) * (size_t)(rows * L));
  float *y = in_place ? x : (float *)xmalloc(sizeof(float) * (size_t)(rows * L));
  float *want = (float *)xmalloc(sizeof(float) * (size_t)(rows * L));
  const void *in[1];
  void *out[1];
  int64_t r, j;
  char what[100];
  fill_f32(x, rows * L, -8.0f, 8.0f);
  for (r = 0; r < rows; ++r)
    for (j = 0; j < L; ++j)
      if (j > r % L) x[r * L + j] = r % 5 == 4 ? -INFINITY : x[r * L + j] - 1e4f;
  for (r = 0; r < rows; ++r) plain_row(x + r * L, L, want + r * L);
  memset(&p, 0, sizeof p);
  p.outer = rows; p.axis_len = L; p.inner = 1;
  in[0] = x; out[0] = y;
  qrt_softmax_f32(&p, in, out);
  sprintf(what, "softmax of %lld causal rows of %lld%s: bit-exact", (long long)rows, (long long)L,
          in_place ? " in place" : "");
  check(memcmp(y, want, sizeof(float) * (size_t)(rows * L)) == 0, what);
  free(x); free(want);
  if (!in_place) free(y);
}

static void bit_exact_rows(int64_t L, int log_flag) {
  enum { ROWS = 8 };
  qrt_softmax_params p;
  float *x = (float *)xmalloc(sizeof(float) * (size_t)(ROWS * L));
  float *y = (float *)xmalloc(sizeof(float) * (size_t)(ROWS * L));
  float e[2000];
  const void *in[1];
  void *out[1];
  int64_t r, j, l, w;
  int ok = 1;
  char what[80];
  fill_f32(x, ROWS * L, -20.0f, 20.0f);
  for (j = 0; j < L; ++j) {
    x[1 * L + j] = j % 3 ? -INFINITY : x[1 * L + j];   /* masked row */
    x[2 * L + j] = j % 2 ? -0.0f : -1.0f;              /* max -0.0 (then +0.0 below) */
    x[4 * L + j] = -(float)(j + 1);                    /* max in the first lane */
  }
  x[2 * L + L / 2] = 0.0f;
  x[3 * L + L - 1] = NAN;
  x[5 * L + 0] = INFINITY;
  x[6 * L + L / 3] = 1e30f;
  memset(&p, 0, sizeof p);
  p.log = log_flag; p.outer = ROWS; p.axis_len = L; p.inner = 1;
  in[0] = x; out[0] = y;
  qrt_softmax_f32(&p, in, out);
  for (r = 0; r < ROWS; ++r) {
    const float *xr = x + r * L;
    const float m = plain_max(xr, L);
    float acc[16], s;
    for (l = 0; l < 16; ++l) acc[l] = 0.0f;
    for (j = 0; j < L; ++j) e[j] = qrt_exp_f32(xr[j] - m);
    for (j = 0; j < L; ++j) acc[j % 16] = acc[j % 16] + e[j];
    for (w = 8; w >= 1; w /= 2)
      for (l = 0; l < w; ++l) acc[l] = acc[l] + acc[l + w];
    s = acc[0];
    for (j = 0; j < L; ++j) {
      const float want = log_flag ? (xr[j] - m) - logf(s) : e[j] / s;
      if (!same_f32(y[r * L + j], want)) {
        if (ok) printf("  row %lld j %lld: %a vs %a\n", (long long)r, (long long)j, (double)y[r * L + j], (double)want);
        ok = 0;
      }
    }
  }
  sprintf(what, "softmax rows of %lld log %d bit-exact vs the plain definition", (long long)L, log_flag);
  check(ok, what);
  free(x); free(y);
}


/* qrt_softmax_codes_f32's definition written plainly, row by row: the
 * exps of the table minus its largest value, 0 where masked, the 16-lane
 * sum, times its reciprocal; the chain's row (the table's values, -inf
 * where masked, plain_row) where the sum is below 2^-60 or the table is
 * not finite. */
static void plain_codes(const int8_t *codes, const float *table, const uint8_t *mask, int64_t mask_n, int64_t rows,
                        int64_t L, float *out) {
  float G = -INFINITY, *e = (float *)xmalloc(sizeof(float) * (size_t)L);
  int finite = 1, c;
  int64_t r, j, l, w;
  for (c = 0; c < 256; ++c) {
    finite &= isfinite(table[c]) != 0;
    G = table[c] > G ? table[c] : G;
  }
  for (r = 0; r < rows; ++r) {
    float acc[16], s = 0.0f;
    const int8_t *cr = codes + r * L;
    for (l = 0; l < 16; ++l) acc[l] = 0.0f;
    for (j = 0; j < L; ++j) {
      const int kept = !mask || mask[(r * L + j) % mask_n];
      e[j] = kept ? qrt_exp_f32(table[cr[j] + 128] - G) : 0.0f;
      acc[j % 16] = acc[j % 16] + e[j];
    }
    for (w = 8; w >= 1; w /= 2)
      for (l = 0; l < w; ++l) acc[l] = acc[l] + acc[l + w];
    s = acc[0];
    if (finite && s >= 0x1p-60f) {
      const float inv = 1.0f / s;
      for (j = 0; j < L; ++j) out[r * L + j] = e[j] * inv;
      continue;
    }
    for (j = 0; j < L; ++j) e[j] = !mask || mask[(r * L + j) % mask_n] ? table[cr[j] + 128] : -INFINITY;
    plain_row(e, L, out + r * L);
  }
  free(e);
}

/* The chain the quantize pass folds into qrt_softmax_codes_f32 (scores
 * [heads, L, L] of int8 codes with scale sc and zero point z, times c,
 * plus a [L, L] causal mask of 0 / -1e4, softmax), run with the runtime's
 * kernels, against the fused kernel with the table of the first two steps
 * (computed by qrt_dequantize_i8_f32 and a float multiply) and the mask as
 * keep bytes.  mask_kind 0: causal [L, L]; 1: none; 2: one keep byte for
 * every element (mask_n 1: the general cycling path); 3: a window of 4
 * (not a prefix); 4: each row a prefix of its own length (padding), some
 * rows whole.  inf_code >= 0 makes that table entry +inf (every row the
 * chain's way). */
static int keeps(int mask_kind, int64_t L, int64_t i, int64_t j) {
  switch (mask_kind) {
  case 0: return j <= i;
  case 3: return j <= i && j + 4 > i;
  case 4: return j < (i * 7 + 3) % L + 1;
  default: return 1;
  }
}

static void codes_case(int64_t heads, int64_t L, float sc, int32_t z, float c, int mask_kind, int inf_code) {
  const int64_t n = heads * L * L;
  int8_t *codes = (int8_t *)xmalloc((size_t)n), all[256];
  float *x = (float *)xmalloc(sizeof(float) * (size_t)n), *want = (float *)xmalloc(sizeof(float) * (size_t)n);
  float *got = (float *)xmalloc(sizeof(float) * (size_t)n), table[256];
  float *plain = (float *)xmalloc(sizeof(float) * (size_t)n);
  uint8_t *keep = (uint8_t *)xmalloc((size_t)(L * L));
  qrt_dequantize_params dp;
  qrt_softmax_params sp;
  qrt_qsoftmax_params cp;
  const void *in[3];
  void *out[1];
  int64_t i, j;
  int close = 1;
  char what[160];
  fill_i8(codes, n, -128, 127);
  memset(&dp, 0, sizeof dp);
  dp.n = n; dp.scale = sc; dp.zero_point = z;
  in[0] = codes; out[0] = x;
  qrt_dequantize_i8_f32(&dp, in, out);
  for (i = 0; i < n; ++i) {
    const int64_t r = i / L % L, col = i % L;
    x[i] = x[i] * c;
    x[i] = x[i] + (keeps(mask_kind, L, r, col) ? 0.0f : -1e4f);
  }
  memset(&sp, 0, sizeof sp);
  sp.outer = heads * L; sp.axis_len = L; sp.inner = 1;
  in[0] = x; out[0] = want;
  qrt_softmax_f32(&sp, in, out);
  for (i = 0; i < 256; ++i) all[i] = (int8_t)(i - 128);
  dp.n = 256;
  in[0] = all; out[0] = table;
  qrt_dequantize_i8_f32(&dp, in, out);
  for (i = 0; i < 256; ++i) table[i] = table[i] * c;
  if (inf_code >= 0) table[inf_code] = INFINITY;
  for (i = 0; i < L; ++i)
    for (j = 0; j < L; ++j) keep[i * L + j] = (uint8_t)keeps(mask_kind, L, i, j);
  memset(&cp, 0, sizeof cp);
  cp.outer = heads * L; cp.axis_len = L;
  cp.mask_n = mask_kind == 1 ? 0 : mask_kind == 2 ? 1 : L * L;
  in[0] = codes; in[1] = table; in[2] = cp.mask_n ? keep : NULL;
  out[0] = got;
  memset(got, 0x55, sizeof(float) * (size_t)n);
  qrt_softmax_codes_f32(&cp, in, out);
  plain_codes(codes, table, cp.mask_n ? keep : NULL, cp.mask_n, heads * L, L, plain);
  sprintf(what, "softmax of codes: %lld heads, L %lld, scale %g, zp %d, mask %d, inf code %d: bit-exact vs its definition",
          (long long)heads, (long long)L, (double)sc, (int)z, mask_kind, inf_code);
  check(memcmp(got, plain, sizeof(float) * (size_t)n) == 0, what);
  for (i = 0; inf_code < 0 && i < n; ++i)
    if (!(fabsf(got[i] - want[i]) <= 1e-5f * want[i] + 1e-18f)) {
      if (close) printf("  element %lld: %.9g vs the chain's %.9g\n", (long long)i, (double)got[i], (double)want[i]);
      close = 0;
    }
  if (inf_code < 0) { /* (with an infinite entry the table is no longer the chain's) */
    sprintf(what, "softmax of codes: %lld heads, L %lld, scale %g, zp %d, mask %d: within 1e-5 of the float chain",
            (long long)heads, (long long)L, (double)sc, (int)z, mask_kind);
    check(close, what);
  }
  {
    /* int8 output (qrt_softmax_codes_i8): qrt_quantize_f32_i8 of the float
     * output, bit for bit; codes of [0, 1] as the quantize pass picks them,
     * and a narrowed range */
    static const float inv_scales[2] = {255.0f, 100.0f};
    static const int32_t zps[2] = {-128, -50}, qmaxs[2] = {127, 40};
    qrt_softmax_codes_q_params qp;
    qrt_quantize_params xp;
    int8_t *cwant = (int8_t *)xmalloc((size_t)n), *cgot = (int8_t *)xmalloc((size_t)n);
    int k;
    for (k = 0; k < 2; ++k) {
      memset(&xp, 0, sizeof xp);
      xp.n = n; xp.inv_scale = inv_scales[k]; xp.zero_point = zps[k]; xp.qmin = -128; xp.qmax = qmaxs[k];
      in[0] = got; out[0] = cwant;
      qrt_quantize_f32_i8(&xp, in, out);
      memset(&qp, 0, sizeof qp);
      qp.outer = cp.outer; qp.axis_len = cp.axis_len; qp.mask_n = cp.mask_n;
      qp.inv_scale = xp.inv_scale; qp.zero_point = xp.zero_point; qp.qmin = xp.qmin; qp.qmax = xp.qmax;
      in[0] = codes; in[1] = table; in[2] = cp.mask_n ? keep : NULL;
      out[0] = cgot;
      memset(cgot, 0x55, (size_t)n);
      qrt_softmax_codes_i8(&qp, in, out);
      sprintf(what, "softmax of codes to int8 %d: %lld heads, L %lld, mask %d, inf code %d: bit for bit", k,
              (long long)heads, (long long)L, mask_kind, inf_code);
      check(memcmp(cgot, cwant, (size_t)n) == 0, what);
    }
    free(cwant); free(cgot);
  }
  free(codes); free(x); free(want); free(got); free(keep); free(plain);
}

int main(void) {
  {
    static const int64_t lens[] = {1, 5, 16, 33, 64, 100, 130, 1000};
    int k, lgf;
    for (k = 0; k < 8; ++k)
      for (lgf = 0; lgf < 2; ++lgf) bit_exact_rows(lens[k], lgf);
  }
  int lg;
  for (lg = 0; lg < 2; ++lg) {
    run_case(3, 10, 1, lg, 5.0f);
    run_case(2, 1000, 1, lg, 10.0f);
    run_case(4, 17, 1, lg, 1000.0f); /* large values: stability */
    run_case(2, 7, 9, lg, 5.0f);     /* strided axis */
    run_case(1, 33, 130, lg, 50.0f); /* more than one chunk of 64 */
    run_case(5, 1, 3, lg, 5.0f);     /* axis of 1 */
  }
  {
    /* all -inf but one; +inf handling is NaN-free for finite inputs */
    float x[4] = {-INFINITY, 0.0f, -INFINITY, -INFINITY}, y[4];
    qrt_softmax_params p;
    const void *in[1];
    void *out[1];
    memset(&p, 0, sizeof p);
    p.outer = 1; p.axis_len = 4; p.inner = 1;
    in[0] = x; out[0] = y;
    qrt_softmax_f32(&p, in, out);
    check(y[0] == 0.0f && y[1] == 1.0f && y[2] == 0.0f, "softmax with -inf");
  }
  causal_rows(256, 64, 0);
  causal_rows(256, 64, 1);
  causal_rows(300, 37, 1);
  causal_rows(40, 1000, 0);   /* 63 chunks a row: groups of 16 rows */
  causal_rows(3, 17000, 1);   /* more chunks than a group holds */
  codes_case(4, 64, 0.07f, -3, 0.17677669f, 0, -1); /* char_lm's attention */
  codes_case(2, 37, 0.2f, 12, 0.5f, 0, -1);
  codes_case(1, 1, 0.1f, 0, 1.0f, 0, -1);
  codes_case(3, 20, 0.05f, -128, 0.25f, 1, -1);
  codes_case(2, 9, 0.3f, 7, 2.0f, 2, -1);
  codes_case(3, 64, 0.07f, -3, 0.17677669f, 3, -1);
  codes_case(2, 100, 0.1f, 0, 0.125f, 4, -1);
  codes_case(2, 70, 1.5f, 0, 1.0f, 0, -1);   /* values +-190: rows far below the table's max (exact rows) */
  codes_case(1, 48, 0.7f, 5, 1.0f, 4, -1);   /* some rows exact, some by the exp table */
  codes_case(2, 33, 0.1f, 0, 1.0f, 0, 200);  /* an infinite table value: the chain's way */
  codes_case(1, 2500, 0.05f, 0, 0.125f, 0, -1); /* one row to a block */
  return finish();
}
