/* test_runtime_bdot.c - bmatmul's integer path (qrt_bdot.c) bit for bit
 * against a reference written here from the definition in qrt.h:
 *   per output, acc = sum over blocks b in order of dot_b * (sa_b sw_b),
 *   dot_b the block's dot product of the element values (summed in double:
 *   exact, they are small dyadic numbers), sa_b / sw_b the scale bytes
 *   read here (E8M0 2^(e - 127), 255 NaN; E4M3 values), then
 *   C = (float)(acc * (ta tw) + bias) with NVFP4's vector scales ta / tw.
 * The reference sums element values, not the kernel's integer mantissas,
 * so it also checks the mantissa tables and shifts.  Cases: every format
 * with integer elements, odd M / N / K (K not a multiple of the block, N
 * not of 16), zero rows and columns, NaN and Inf blocks, exponents near
 * both ends of E8M0 (overflow to Inf, underflow to subnormals and zero),
 * mixed formats of one block size, run-time B.  The FP8 formats must stay
 * on the float path.  Built on every SIMD path by run_runtime_tests.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static const qrt_bformat *fmt(int32_t f) { return qrt_bformat_get(f); }

/* Block scales and vector scale of one packed vector, from its bytes. */
static void ref_scales(int32_t f, const uint8_t *v, int64_t K, double *s, double *t) {
  const qrt_bformat *F = fmt(f);
  const int64_t nb = (K + F->block - 1) / F->block, bb = 1 + ((int64_t)F->block * F->element_bits + 7) / 8;
  int64_t b;
  *t = 1.0;
  if (F->scale == QRT_SCALE_E4M3) {
    float tf;
    memcpy(&tf, v, 4); /* little-endian hosts only, like the tests' other byte checks */
    *t = tf;
    v += 4;
  }
  for (b = 0; b < nb; ++b) {
    const uint8_t e = v[b * bb];
    if (F->scale == QRT_SCALE_E4M3)
      s[b] = (double)qrt_mx_decode(QRT_ELEM_E4M3, e);
    else
      s[b] = e == 255 ? (double)NAN : ldexp(1.0, (int)e - 127);
  }
}

/* Element values (scales not applied), padding 0. */
static void ref_elems(int32_t f, const uint8_t *v, int64_t K, float *e) {
  const int64_t nb = (K + fmt(f)->block - 1) / fmt(f)->block;
  double *junk = xmalloc(sizeof(double) * (size_t)nb);
  qrt_bfmt_unpack(f, v, K, e, junk);
  free(junk);
}

/* The reference of one [M, K] x [K, N] product; A rows and B columns as
 * float, encoded here. */
static void reference(int32_t af, int32_t wf, int64_t M, int64_t N, int64_t K, const float *A, const float *B,
                      const float *bias, float *R) {
  const int64_t blk = fmt(af)->block, nb = (K + blk - 1) / blk;
  uint8_t *va = xmalloc((size_t)qrt_bfmt_bytes(af, K)), *vw = xmalloc((size_t)qrt_bfmt_bytes(wf, K));
  float *ea = xmalloc(sizeof(float) * (size_t)(M * nb * blk)), *ew = xmalloc(sizeof(float) * (size_t)(nb * blk));
  double *sa = xmalloc(sizeof(double) * (size_t)(M * nb)), *ta = xmalloc(sizeof(double) * (size_t)M);
  double *sw = xmalloc(sizeof(double) * (size_t)nb), tw;
  float *col = xmalloc(sizeof(float) * (size_t)K);
  int64_t m, n, k, b;
  for (m = 0; m < M; ++m) {
    qrt_bfmt_encode(af, A + m * K, K, va);
    ref_elems(af, va, K, ea + m * nb * blk);
    ref_scales(af, va, K, sa + m * nb, ta + m);
  }
  for (n = 0; n < N; ++n) {
    for (k = 0; k < K; ++k) col[k] = B[k * N + n];
    qrt_bfmt_encode(wf, col, K, vw);
    ref_elems(wf, vw, K, ew);
    ref_scales(wf, vw, K, sw, &tw);
    for (m = 0; m < M; ++m) {
      double acc = 0.0, y;
      for (b = 0; b < nb; ++b) {
        double dot = 0.0;
        for (k = b * blk; k < (b + 1) * blk; ++k) dot += (double)ea[m * nb * blk + k] * (double)ew[k];
        acc += dot * (sa[m * nb + b] * sw[b]);
      }
      y = acc * (ta[m] * tw);
      if (bias) y += (double)bias[n];
      R[m * N + n] = (float)y;
    }
  }
  free(va); free(vw); free(ea); free(ew); free(sa); free(ta); free(sw); free(col);
}

/* Fills, by kind: 0 uniform with an outlier, 1 zero rows / columns and
 * blocks, 2 NaN and Inf, 3 huge (products overflow float), 4 tiny
 * (products underflow), 5 mixed huge and tiny blocks in one vector. */
static void fill(float *v, int64_t n, int kind, int64_t K) {
  int64_t i;
  fill_f32(v, n, -2.0f, 2.0f);
  if (n > 0) v[0] = 40.0f;
  for (i = 0; i < n; ++i) {
    if (kind == 1 && (i / K) % 2 == 0) v[i] = 0.0f;
    if (kind == 1 && i % K < 40) v[i] = 0.0f; /* a zero block in the other vectors */
    if (kind == 3) v[i] *= 1e37f;
    if (kind == 4) v[i] *= 1e-38f; /* subnormal floats too */
    if (kind == 5) v[i] *= (i % K) / 32 % 2 ? 1e30f : 1e-30f;
  }
  if (kind == 2 && n > 3) {
    v[n / 2] = NAN;
    v[1] = INFINITY;
    v[n - 1] = -INFINITY;
  }
}

static void run_case(int32_t af, int32_t wf, int64_t M, int64_t N, int64_t K, int runtime_b, int with_bias,
                     int kind) {
  const int64_t cb = qrt_bfmt_bytes(wf, K);
  float *A = xmalloc(sizeof(float) * (size_t)(M * K)), *B = xmalloc(sizeof(float) * (size_t)(K * N));
  float *bias = xmalloc(sizeof(float) * (size_t)N), *C = xmalloc(sizeof(float) * (size_t)(M * N));
  float *R = xmalloc(sizeof(float) * (size_t)(M * N)), *col = xmalloc(sizeof(float) * (size_t)K);
  uint8_t *Wp = xmalloc((size_t)(cb * N));
  qrt_bmatmul_params p;
  const void *in[4];
  void *out[1];
  void *scratch;
  int64_t n, k;
  char what[200];
  fill(A, M * K, kind, K);
  fill(B, K * N, kind == 2 ? 0 : kind, K);
  if (kind == 2 && K * N > 5) B[5] = NAN; /* a NaN weight block too */
  fill_f32(bias, N, -0.5f, 0.5f);
  for (n = 0; n < N; ++n) {
    for (k = 0; k < K; ++k) col[k] = B[k * N + n];
    qrt_bfmt_encode(wf, col, K, Wp + n * cb);
  }
  memset(&p, 0, sizeof p);
  p.M = M; p.N = N; p.K = K; p.a_format = af; p.w_format = wf; p.b_runtime = runtime_b;
  snprintf(what, sizeof what, "bdot %s x %s M=%lld N=%lld K=%lld b_runtime=%d bias=%d kind=%d [%s]", fmt(af)->name,
           fmt(wf)->name, (long long)M, (long long)N, (long long)K, runtime_b, with_bias, kind, qrt_bdot_path());
  check(qrt_bdot_scratch(&p) > 0, what); /* the integer path applies */
  scratch = xmalloc((size_t)qrt_bmatmul_scratch(&p));
  in[0] = A; in[1] = runtime_b ? (const void *)B : (const void *)Wp; in[2] = with_bias ? bias : NULL; in[3] = scratch;
  out[0] = C;
  memset(C, 0xff, sizeof(float) * (size_t)(M * N));
  qrt_bmatmul_f32(&p, in, out);
  reference(af, wf, M, N, K, A, B, with_bias ? bias : NULL, R);
  check(same_f32_arr(C, R, M * N), what);
  free(A); free(B); free(bias); free(C); free(R); free(col); free(Wp); free(scratch);
}

/* Near a double matmul of the decoded operands (the old float path's
 * meaning): the integer path computes the same product. */
static void run_close(int32_t f, int64_t M, int64_t N, int64_t K) {
  float *A = xmalloc(sizeof(float) * (size_t)(M * K)), *B = xmalloc(sizeof(float) * (size_t)(K * N));
  float *C = xmalloc(sizeof(float) * (size_t)(M * N)), *Ah = xmalloc(sizeof(float) * (size_t)K);
  float *col = xmalloc(sizeof(float) * (size_t)K), *Bh = xmalloc(sizeof(float) * (size_t)(K * N));
  uint8_t *v = xmalloc((size_t)qrt_bfmt_bytes(f, K)), *Wp = xmalloc((size_t)(qrt_bfmt_bytes(f, K) * N));
  qrt_bmatmul_params p;
  const void *in[4];
  void *out[1];
  void *scratch;
  int64_t m, n, k;
  double worst = 0.0;
  char what[160];
  fill(A, M * K, 0, K);
  fill(B, K * N, 0, K);
  for (n = 0; n < N; ++n) {
    for (k = 0; k < K; ++k) col[k] = B[k * N + n];
    qrt_bfmt_encode(f, col, K, Wp + n * qrt_bfmt_bytes(f, K));
    qrt_bfmt_decode(f, Wp + n * qrt_bfmt_bytes(f, K), K, col);
    for (k = 0; k < K; ++k) Bh[k * N + n] = col[k];
  }
  memset(&p, 0, sizeof p);
  p.M = M; p.N = N; p.K = K; p.a_format = f; p.w_format = f;
  scratch = xmalloc((size_t)qrt_bmatmul_scratch(&p));
  in[0] = A; in[1] = Wp; in[2] = NULL; in[3] = scratch;
  out[0] = C;
  qrt_bmatmul_f32(&p, in, out);
  for (m = 0; m < M; ++m) {
    qrt_bfmt_encode(f, A + m * K, K, v);
    qrt_bfmt_decode(f, v, K, Ah);
    for (n = 0; n < N; ++n) {
      double acc = 0.0, mag = 0.0;
      for (k = 0; k < K; ++k) {
        acc += (double)Ah[k] * Bh[k * N + n];
        mag += fabs((double)Ah[k] * Bh[k * N + n]);
      }
      if (mag > 0 && fabs(acc - C[m * N + n]) / mag > worst) worst = fabs(acc - C[m * N + n]) / mag;
    }
  }
  snprintf(what, sizeof what, "bdot %s within float rounding of a double matmul of the decoded values (%.3g)",
           fmt(f)->name, worst);
  check(worst <= 1.2e-7, what); /* one float rounding of the result */
  free(A); free(B); free(C); free(Ah); free(col); free(Bh); free(v); free(Wp); free(scratch);
}

int main(void) {
  int32_t f;
  int kind;
  for (f = 0; f < QRT_BFORMAT_COUNT; ++f) {
    qrt_bmatmul_params p;
    const int fp8 = fmt(f)->element == QRT_ELEM_E4M3 || fmt(f)->element == QRT_ELEM_E5M2;
    char what[120];
    memset(&p, 0, sizeof p);
    p.M = 3; p.N = 5; p.K = 70; p.a_format = f; p.w_format = f;
    snprintf(what, sizeof what, "%s takes the %s path", fmt(f)->name, fp8 ? "float" : "integer");
    check((qrt_bdot_scratch(&p) > 0) == !fp8, what);
    p.a_format = -1; /* float activations: always the float path */
    check(qrt_bdot_scratch(&p) == 0, "float activations take the float path");
    if (fp8) continue;
    run_case(f, f, 5, 37, 100, 0, 1, 0);
    run_case(f, f, 1, 1, 1, 0, 1, 0);
    run_case(f, f, 9, 33, 257, 0, 0, 0);
    run_case(f, f, 4, 16, 64, 0, 1, 0);
    for (kind = 1; kind <= 5; ++kind) run_case(f, f, 6, 21, 130, 0, kind % 2, kind);
    run_case(f, f, 7, 19, 40, 1, 0, 0);
    run_close(f, 6, 23, 160);
  }
  /* mixed formats of one block size (int8 x int8, int8 x int16, and
   * NVFP4's vector scale on one side only) */
  run_case(qrt_bformat_find("bfp4_32"), qrt_bformat_find("mxint8"), 5, 20, 70, 0, 1, 0);
  run_case(qrt_bformat_find("mxfp4"), qrt_bformat_find("bbfp8_32"), 5, 20, 70, 0, 1, 5);
  run_case(qrt_bformat_find("nvfp4"), qrt_bformat_find("bfp8_16"), 5, 20, 70, 0, 1, 0);
  run_case(qrt_bformat_find("mxfp6_e3m2"), qrt_bformat_find("mxfp6_e2m3"), 5, 20, 70, 1, 0, 2);
  {
    /* blocks of different sizes do not line up: the float path */
    qrt_bmatmul_params p;
    memset(&p, 0, sizeof p);
    p.M = 3; p.N = 5; p.K = 70; p.a_format = qrt_bformat_find("bfp8_16"); p.w_format = qrt_bformat_find("bfp8_32");
    check(qrt_bdot_scratch(&p) == 0, "bfp8_16 x bfp8_32 takes the float path");
  }
  printf("bdot path: %s\n", qrt_bdot_path());
  return finish();
}
