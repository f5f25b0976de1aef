/* test_runtime_qmatmul.c - qrt_qgemm_ex / qrt_qmatmul_i8 / qrt_qmatmul_i8_f32out
 * against a naive triple loop with int64 accumulators and an independent
 * requantization (exact int64 division): bit-exact.  Covers odd M/N/K,
 * K % 4 != 0, K across blocks, packed / unpacked B, colsums given or not,
 * zero points at -128 / 127, extreme accumulators, rounding ties, batches. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static long g_ties; /* rounding ties met (unclamped) */

/* C[m*rs_c + n*cs_c] = requant(sum (A - za) B + bias) or the float epilogue. */
static void ref_qgemm(int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda,
                      const int8_t *B, int64_t rs_b, int64_t cs_b, int32_t za, const int32_t *bias,
                      const int32_t *mult, const int8_t *shift, int32_t zo, int32_t lo, int32_t hi,
                      int8_t *C, float *Cf, const float *scale_f, const float *bias_f) {
  int64_t m, n, k;
  for (m = 0; m < M; ++m)
    for (n = 0; n < N; ++n) {
      int64_t acc = 0;
      for (k = 0; k < K; ++k) acc += ((int64_t)A[m * lda + k] - za) * (int64_t)B[k * rs_b + n * cs_b];
      if (Cf) {
        float v = scale_f[n] * (float)acc;
        if (bias_f) v = v + bias_f[n];
        Cf[m * N + n] = v;
      } else {
        const int64_t t = acc + (bias ? bias[n] : 0);
        C[m * N + n] = (int8_t)ref_requant(t, mult[n], shift[n], zo, lo, hi);
        if (shift[n] > 0 && mult[n] == (1 << 30) && shift[n] > 30 &&
            (((uint64_t)t) & (((uint64_t)1 << (shift[n] - 30)) - 1)) == ((uint64_t)1 << (shift[n] - 31)) &&
            C[m * N + n] > lo && C[m * N + n] < hi)
          ++g_ties;
      }
    }
}

/* Shift so that typical |acc| ~ sqrt(K) * 128 * 74 maps to ~ +-64 . */
static int32_t pick_shift(int64_t K, int amp) {
  double typ = sqrt((double)(K > 0 ? K : 1)) * 128.0 * 74.0 * amp;
  int s = 30 + (int)ceil(log2(typ / 64.0));
  if (s < 0) s = 0;
  if (s > 62) s = 62;
  return s;
}

/* mode bits: 1 packed B, 2 colsum given, 4 no bias, 8 extremes (all
 * A = -128/127, B = -128), 16 ties (M0 = 2^30, s = 31 + small), 32 relu
 * clamp, 64 float out */
static void test_case(int64_t M, int64_t N, int64_t K, int32_t za, int mode) {
  int8_t *A = (int8_t *)xmalloc((size_t)(M * K)), *B = (int8_t *)xmalloc((size_t)(K * N));
  int8_t *Bp = (int8_t *)xmalloc((size_t)qrt_packed_b_i8_size(K, N));
  int8_t *C = (int8_t *)xmalloc((size_t)(M * N)), *R = (int8_t *)xmalloc((size_t)(M * N));
  float *Cf = (float *)xmalloc(sizeof(float) * (size_t)(M * N)), *Rf = (float *)xmalloc(sizeof(float) * (size_t)(M * N));
  int32_t *bias = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)N), *mult = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)N);
  int8_t *shift = (int8_t *)xmalloc((size_t)N);
  int32_t *cs = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)N);
  float *sf = (float *)xmalloc(sizeof(float) * (size_t)N), *bf = (float *)xmalloc(sizeof(float) * (size_t)N);
  qrt_qmatmul_params p;
  const void *in[8] = {0};
  void *out[1];
  int64_t i;
  int ok;
  char what[200];
  const int32_t zo = (int32_t)irand(-128, 127);
  if (mode & 8) {
    for (i = 0; i < M * K; ++i) A[i] = (int8_t)(za >= 0 ? -128 : 127);
    for (i = 0; i < K * N; ++i) B[i] = (int8_t)(i % 5 == 0 ? 127 : -128);
  } else {
    fill_i8(A, M * K, -128, 127);
    fill_i8(B, K * N, -128, 127);
  }
  for (i = 0; i < N; ++i) {
    bias[i] = (int32_t)irand(-200000, 200000);
    if (mode & 16) {
      mult[i] = 1 << 30; /* M = 2^(30 - s): ties whenever the low s - 30 bits are 10..0 */
      shift[i] = (int8_t)(pick_shift(K, 1) + (int32_t)irand(-1, 1));
    } else {
      mult[i] = (int32_t)irand(1073741824LL, 2147483647LL);
      shift[i] = (int8_t)(pick_shift(K, (mode & 8) ? 64 : 1) + (int32_t)irand(-1, 1));
    }
    sf[i] = frand(1e-5f, 1e-3f);
    bf[i] = frand(-1.0f, 1.0f);
  }
  if (mode & 8) { bias[0] = 2147483647; if (N > 1) bias[1] = -2147483647 - 1; }
  qrt_colsum_i8(K, N, B, N, 1, cs);
  qrt_pack_b_i8(K, N, B, Bp);
  memset(&p, 0, sizeof p);
  p.a_zero_point = za;
  p.out_zero_point = zo;
  p.out_min = (mode & 32) ? zo : -128;
  p.out_max = 127;
  p.b_packed = (mode & 1) != 0;
  p.M = M; p.N = N; p.K = K;
  in[0] = A; in[1] = (mode & 1) ? Bp : B;
  in[5] = (mode & 2) ? cs : NULL;
  if (mode & 64) {
    in[2] = (mode & 4) ? NULL : bf; in[3] = sf; in[4] = NULL;
    out[0] = Cf;
    qrt_qmatmul_i8_f32out(&p, in, out);
    ref_qgemm(M, N, K, A, K, B, N, 1, za, NULL, NULL, NULL, 0, 0, 0, NULL, Rf, sf, (mode & 4) ? NULL : bf);
    ok = memcmp(Cf, Rf, sizeof(float) * (size_t)(M * N)) == 0;
    if (ok && M * N > 0) { /* a residual added last, from another buffer and in place: the bits of an add after */
      float *res = (float *)xmalloc(sizeof(float) * (size_t)(M * N)), *io = (float *)xmalloc(sizeof(float) * (size_t)(M * N));
      fill_f32(res, M * N, -50.0f, 50.0f);
      memcpy(io, res, sizeof(float) * (size_t)(M * N));
      in[4] = res;
      qrt_qmatmul_i8_f32out(&p, in, out);
      in[4] = io; out[0] = io;
      qrt_qmatmul_i8_f32out(&p, in, out);
      for (i = 0; i < M * N; ++i) {
        const float want = Rf[i] + res[i];
        ok &= same_f32(Cf[i], want) && same_f32(io[i], want);
      }
      /* clamped (the int8 epilogue's range in real values) before the residual */
      p.f_clamp = 1;
      p.f_min = -0.25f * fabsf(Rf[0]) - 0.5f;
      p.f_max = 0.5f * fabsf(Rf[M * N - 1]) + 0.25f;
      in[4] = res; out[0] = Cf;
      qrt_qmatmul_i8_f32out(&p, in, out);
      for (i = 0; i < M * N; ++i) {
        const float c = Rf[i] < p.f_min ? p.f_min : (Rf[i] > p.f_max ? p.f_max : Rf[i]);
        ok &= same_f32(Cf[i], c + res[i]);
      }
      p.f_clamp = 0;
      in[4] = NULL;
      free(res); free(io);
    }
  } else {
    in[2] = (mode & 4) ? NULL : bias; in[3] = mult; in[4] = shift;
    out[0] = C;
    qrt_qmatmul_i8(&p, in, out);
    ref_qgemm(M, N, K, A, K, B, N, 1, za, (mode & 4) ? NULL : bias, mult, shift, zo, p.out_min, 127, R, NULL, NULL, NULL);
    ok = memcmp(C, R, (size_t)(M * N)) == 0;
    if (!ok)
      for (i = 0; i < M * N; ++i)
        if (C[i] != R[i]) { printf("  first mismatch at m=%lld n=%lld: %d vs %d\n", (long long)(i / N), (long long)(i % N), C[i], R[i]); break; }
  }
  sprintf(what, "qmatmul M=%lld N=%lld K=%lld za=%d mode=%d", (long long)M, (long long)N, (long long)K, za, mode);
  check(ok, what);
  free(A); free(B); free(Bp); free(C); free(R); free(Cf); free(Rf); free(bias); free(mult); free(shift); free(cs); free(sf); free(bf);
}

static void test_packed_layout(void) {
  const int64_t K = 7, N = 19;
  int8_t B[7 * 19], P[32 * 8];
  int32_t cs[19], want;
  int64_t k, n;
  const unsigned char *u = (const unsigned char *)P;
  int ok = 1;
  fill_i8(B, K * N, -128, 127);
  check(qrt_packed_b_i8_size(K, N) == 32 * 8, "packed i8 size");
  qrt_pack_b_i8(K, N, B, P);
  for (n = 0; n < 32; ++n)
    for (k = 0; k < 8; ++k) {
      const unsigned char v = u[(n / 16) * 8 * 16 + (k / 4) * 64 + (n % 16) * 4 + k % 4];
      const unsigned char e = k < K && n < N ? (unsigned char)((unsigned char)B[k * N + n] ^ 0x80u) : 0x80u;
      if (v != e) ok = 0;
    }
  check(ok, "packed i8 layout");
  qrt_colsum_i8(K, N, B, N, 1, cs);
  ok = 1;
  for (n = 0; n < N; ++n) {
    want = 0;
    for (k = 0; k < K; ++k) want += B[k * N + n];
    if (cs[n] != want) ok = 0;
  }
  check(ok, "colsum");
}

/* K = 65792: the largest K whose sums are exact; |acc| = 65792 * 255 * 128. */
static void test_k_limit(int packed) {
  const int64_t M = 2, N = 17, K = 65792;
  int8_t *A = (int8_t *)xmalloc((size_t)(M * K)), *B = (int8_t *)xmalloc((size_t)(K * N));
  int8_t *Bp = (int8_t *)xmalloc((size_t)qrt_packed_b_i8_size(K, N));
  int8_t C[2 * 17], R[2 * 17];
  float Cf[2 * 17], Rf[2 * 17], sf[17];
  int32_t mult[17];
  int8_t shift[17];
  qrt_qmatmul_params p;
  const void *in[8] = {0};
  void *out[1];
  int64_t i;
  for (i = 0; i < K; ++i) { A[i] = 127; A[K + i] = -128; }
  for (i = 0; i < K * N; ++i) B[i] = (int8_t)((i % N) % 2 ? 127 : -128);
  for (i = 0; i < N; ++i) { mult[i] = 1 << 30; shift[i] = 54; sf[i] = 1.0f; }
  qrt_pack_b_i8(K, N, B, Bp);
  memset(&p, 0, sizeof p);
  p.a_zero_point = -128; p.out_zero_point = 0; p.out_min = -128; p.out_max = 127;
  p.b_packed = packed; p.M = M; p.N = N; p.K = K;
  in[0] = A; in[1] = packed ? Bp : B; in[2] = NULL; in[3] = mult; in[4] = shift; in[5] = NULL;
  out[0] = C;
  qrt_qmatmul_i8(&p, in, out);
  ref_qgemm(M, N, K, A, K, B, N, 1, -128, NULL, mult, shift, 0, -128, 127, R, NULL, NULL, NULL);
  check(memcmp(C, R, sizeof C) == 0, packed ? "K limit packed" : "K limit");
  in[3] = sf; in[4] = NULL; out[0] = Cf; /* in[4]: the residual slot of f32out */
  qrt_qmatmul_i8_f32out(&p, in, out);
  ref_qgemm(M, N, K, A, K, B, N, 1, -128, NULL, NULL, NULL, 0, 0, 0, NULL, Rf, sf, NULL);
  check(memcmp(Cf, Rf, sizeof Cf) == 0 && Cf[0] == -2147450880.0f, packed ? "K limit f32out packed" : "K limit f32out");
  free(A); free(B); free(Bp);
}

static void test_batched(int packed) {
  /* A [2,3,M,K], B [1,3,K,N] broadcast over the first dim */
  const int64_t M = 9, N = 21, K = 13, BA = 2, BB = 3;
  const int64_t psz = qrt_packed_b_i8_size(K, N);
  int8_t A[2 * 3 * 9 * 13], B[3 * 13 * 21], Bp[3 * 32 * 16], C[2 * 3 * 9 * 21], R[2 * 3 * 9 * 21];
  int32_t bias[21], mult[21];
  int8_t shift[21];
  qrt_qmatmul_params p;
  const void *in[8] = {0};
  void *out[1];
  int64_t b0, b1, i;
  fill_i8(A, (int64_t)sizeof A, -128, 127);
  fill_i8(B, (int64_t)sizeof B, -128, 127);
  for (i = 0; i < N; ++i) { bias[i] = (int32_t)irand(-5000, 5000); mult[i] = (int32_t)irand(1073741824LL, 2147483647LL); shift[i] = (int8_t)pick_shift(K, 1); }
  memset(&p, 0, sizeof p);
  p.a_zero_point = 3; p.out_zero_point = -2; p.out_min = -128; p.out_max = 127;
  p.M = M; p.N = N; p.K = K;
  p.batch_rank = 2;
  p.batch_shape[0] = BA; p.batch_shape[1] = BB;
  p.a_batch_strides[0] = BB * M * K; p.a_batch_strides[1] = M * K;
  p.b_batch_strides[0] = 0; p.b_batch_strides[1] = packed ? psz : K * N;
  if (packed) {
    for (b1 = 0; b1 < BB; ++b1) qrt_pack_b_i8(K, N, B + b1 * K * N, Bp + b1 * psz);
    p.b_packed = 1;
  }
  in[0] = A; in[1] = packed ? Bp : B; in[2] = bias; in[3] = mult; in[4] = shift; in[5] = NULL;
  out[0] = C;
  qrt_qmatmul_i8(&p, in, out);
  for (b0 = 0; b0 < BA; ++b0)
    for (b1 = 0; b1 < BB; ++b1)
      ref_qgemm(M, N, K, A + (b0 * BB + b1) * M * K, K, B + b1 * K * N, N, 1, 3, bias, mult, shift, -2, -128, 127,
                R + (b0 * BB + b1) * M * N, NULL, NULL, NULL);
  check(memcmp(C, R, sizeof C) == 0, packed ? "batched packed" : "batched");
}

/* qrt_qgemm_ex with strided B (B^T storage) and transposed C, with M
 * rows: 37 and 80 take the packing path (80: B packed once up front), 5
 * the direct one (few rows); K = 48 packs B^T's interior panels by whole
 * 4-byte groups, K = 45 through the edge path. */
static void test_strided(int64_t M, int64_t K) {
  const int64_t N = 29;
  int8_t A[80 * 48], Bt[29 * 48], C[29 * 80], R[80 * 29];
  int32_t bias[29], mult[29];
  int8_t shift[29];
  char what[80];
  qrt_qgemm_args g;
  int64_t m, n, i;
  int ok = 1;
  fill_i8(A, M * K, -128, 127);
  fill_i8(Bt, N * K, -128, 127);
  for (i = 0; i < N; ++i) { bias[i] = (int32_t)irand(-5000, 5000); mult[i] = (int32_t)irand(1073741824LL, 2147483647LL); shift[i] = (int8_t)pick_shift(K, 1); }
  memset(&g, 0, sizeof g);
  g.M = M; g.N = N; g.K = K; g.A = A; g.lda = K; g.B = Bt; g.rs_b = 1; g.cs_b = K;
  g.a_zero_point = -128; g.out_zero_point = 7; g.out_min = -128; g.out_max = 127;
  g.bias = bias; g.mult = mult; g.shift = shift; g.C = C; g.rs_c = 1; g.cs_c = M;
  qrt_qgemm_ex(&g);
  ref_qgemm(M, N, K, A, K, Bt, 1, K, -128, bias, mult, shift, 7, -128, 127, R, NULL, NULL, NULL);
  for (m = 0; m < M; ++m)
    for (n = 0; n < N; ++n)
      if (C[n * M + m] != R[m * N + n]) ok = 0;
  sprintf(what, "qgemm_ex strided B, transposed C, M=%lld K=%lld", (long long)M, (long long)K);
  check(ok, what);
}

/* qrt_qmatmul_i8 (fout: _f32out) with strided params, as the
 * fold-transposes pass lowers attention's heads: x [T, H, dh] int8 read as
 * A = x^(0,1) [H, T, dh] (lda H dh, batch stride dh), B = y^(1,2,0)
 * [H, dh, T] (K^T: rs_b 1, cs_b H dh) and the product [H, T, T] written
 * as [T, H, T] (rs_c H T, batch stride T); against the dense kernel on
 * explicitly transposed copies. */
static void test_heads(int64_t T, int64_t H, int64_t dh, int fout) {
  const int64_t E = H * dh;
  int8_t *x = (int8_t *)xmalloc((size_t)(T * E)), *y = (int8_t *)xmalloc((size_t)(T * E));
  int8_t *a = (int8_t *)xmalloc((size_t)(T * E)), *bt = (int8_t *)xmalloc((size_t)(T * E));
  int8_t *c = (int8_t *)xmalloc((size_t)(H * T * T)), *r = (int8_t *)xmalloc((size_t)(H * T * T));
  float *cf = (float *)xmalloc(sizeof(float) * (size_t)(H * T * T)), *rf = (float *)xmalloc(sizeof(float) * (size_t)(H * T * T));
  float scale[80];
  int32_t mult[80];
  int8_t shift[80];
  qrt_qmatmul_params p;
  const void *in[8] = {0};
  void *out[1];
  int64_t h, t, k, j;
  int ok = 1;
  char what[80];
  fill_i8(x, T * E, -128, 127);
  fill_i8(y, T * E, -128, 127);
  for (j = 0; j < T; ++j) { mult[j] = (int32_t)irand(1073741824LL, 2147483647LL); shift[j] = (int8_t)pick_shift(dh, 1); scale[j] = 0.001f * (float)(j + 1); }
  for (h = 0; h < H; ++h)
    for (t = 0; t < T; ++t)
      for (k = 0; k < dh; ++k) {
        a[(h * T + t) * dh + k] = x[t * E + h * dh + k];
        bt[(h * dh + k) * T + t] = y[t * E + h * dh + k];
      }
  memset(&p, 0, sizeof p);
  p.a_zero_point = 5; p.out_zero_point = -3; p.out_min = -128; p.out_max = 127;
  p.M = T; p.N = T; p.K = dh;
  p.batch_rank = 1; p.batch_shape[0] = H;
  p.a_batch_strides[0] = T * dh; p.b_batch_strides[0] = dh * T;
  in[0] = a; in[1] = bt; in[3] = fout ? (const void *)scale : (const void *)mult; in[4] = fout ? NULL : (const void *)shift;
  out[0] = fout ? (void *)rf : (void *)r;
  if (fout) qrt_qmatmul_i8_f32out(&p, in, out);
  else qrt_qmatmul_i8(&p, in, out);
  p.strided = 1; p.lda = E; p.rs_b = 1; p.cs_b = E; p.rs_c = H * T;
  p.a_batch_strides[0] = dh; p.b_batch_strides[0] = dh; p.c_batch_strides[0] = T;
  in[0] = x; in[1] = y;
  out[0] = fout ? (void *)cf : (void *)c;
  if (fout) qrt_qmatmul_i8_f32out(&p, in, out);
  else qrt_qmatmul_i8(&p, in, out);
  for (h = 0; h < H; ++h)
    for (t = 0; t < T; ++t)
      for (j = 0; j < T; ++j)
        if (fout ? memcmp(&cf[(t * H + h) * T + j], &rf[(h * T + t) * T + j], sizeof(float)) != 0
                 : c[(t * H + h) * T + j] != r[(h * T + t) * T + j])
          ok = 0;
  sprintf(what, "strided heads T=%lld H=%lld dh=%lld %s", (long long)T, (long long)H, (long long)dh,
          fout ? "float out" : "int8 out");
  check(ok, what);
  free(x); free(y); free(a); free(bt); free(c); free(r); free(cf); free(rf);
}

/* The int8 epilogue's 32-bit fast path (AVX-512) and its way out: blocks
 * of 16 columns where one column has a shift below 32 or a bias of 2^30,
 * zero points at and below +-2^30, shifts of 32 / 62, multipliers <= 0
 * and output ranges narrower than int8; each against the int64 reference. */
static void test_epilogue_paths(void) {
  const int64_t M = 11, N = 64, K = 70;
  static const int32_t zos[] = {0, (1 << 30) - 1, 1 << 30, -(1 << 30) + 1, -(1 << 30), -5};
  int8_t A[11 * 70], B[70 * 64], C[11 * 64], R[11 * 64];
  int32_t bias[64], mult[64];
  int8_t shift[64];
  qrt_qgemm_args g;
  char what[96];
  int64_t i;
  size_t z;
  for (z = 0; z < sizeof zos / sizeof zos[0]; ++z) {
    fill_i8(A, M * K, -128, 127);
    fill_i8(B, K * N, -128, 127);
    for (i = 0; i < N; ++i) {
      bias[i] = (int32_t)irand(-300000, 300000);
      mult[i] = (int32_t)irand(1073741824LL, 2147483647LL);
      shift[i] = (int8_t)(32 + irand(0, 8));
    }
    shift[0] = 32;      /* smallest shift of the fast path */
    shift[5] = 62;      /* largest */
    mult[7] = 0;        /* everything rounds to the zero point */
    mult[9] = -5;       /* treated as 0 */
    shift[20] = 31;     /* block 16..31 takes the int64 path */
    bias[40] = 1 << 30; /* block 32..47 too */
    bias[41] = -(1 << 30);
    if (z == 5) { for (i = 48; i < N; ++i) shift[i] = (int8_t)(20 + i % 12); } /* small shifts: saturation */
    memset(&g, 0, sizeof g);
    g.M = M; g.N = N; g.K = K; g.A = A; g.lda = K; g.B = B; g.rs_b = N; g.cs_b = 1;
    g.a_zero_point = (int32_t)(z % 2 ? 127 : -128);
    g.out_zero_point = zos[z];
    g.out_min = z == 5 ? -20 : -128;
    g.out_max = z == 5 ? 90 : 127;
    g.bias = bias; g.mult = mult; g.shift = shift; g.C = C; g.rs_c = N; g.cs_c = 1;
    qrt_qgemm_ex(&g);
    ref_qgemm(M, N, K, A, K, B, N, 1, g.a_zero_point, bias, mult, shift, g.out_zero_point, g.out_min,
              g.out_max, R, NULL, NULL, NULL);
    sprintf(what, "int8 epilogue paths, zero point %ld", (long)zos[z]);
    check(memcmp(C, R, sizeof C) == 0, what);
  }
}

/* Requantization of chosen values t (A = B = 0, so t is the bias): for
 * every shift the 32-bit epilogue takes (32..62), t at a rounding tie of
 * M0 = 2^30 (t M0 = odd 2^(s-1)), one below and one above it, both signs,
 * and the largest multiplier with |t| near 2^30: each against the int64
 * reference. */
static void test_epilogue_ties(void) {
  enum { M = 3, N = 128, K = 4 };
  int8_t A[M * K], B[K * N], C[M * N], R[M * N];
  int32_t bias[N], mult[N];
  int8_t shift[N];
  qrt_qgemm_args g;
  int64_t n;
  int d;
  memset(A, 0, sizeof A);
  memset(B, 0, sizeof B);
  for (d = -1; d <= 1; ++d) {
    for (n = 0; n < N; ++n) {
      const int s = 32 + (int)(n % 31), sign = n % 2 ? -1 : 1;
      const int64_t unit = s - 31 < 29 ? (int64_t)1 << (s - 31) : (int64_t)1 << 28;
      const int64_t kmax = ((1 << 29) - 1) / unit / 2 - 1; /* odd unit < 2^29 */
      const int64_t odd = 2 * (kmax > 0 ? irand(0, kmax) : 0) + 1;
      shift[n] = (int8_t)s;
      mult[n] = n % 4 == 3 ? 2147483647 : 1 << 30;
      bias[n] = (int32_t)(sign * (n % 4 == 3 ? (1 << 30) - 1 - irand(0, 1000) : odd * unit + d));
    }
    memset(&g, 0, sizeof g);
    g.M = M; g.N = N; g.K = K; g.A = A; g.lda = K; g.B = B; g.rs_b = N; g.cs_b = 1;
    g.out_zero_point = d * 3;
    g.out_min = -128; g.out_max = 127;
    g.bias = bias; g.mult = mult; g.shift = shift; g.C = C; g.rs_c = N; g.cs_c = 1;
    qrt_qgemm_ex(&g);
    ref_qgemm(M, N, K, A, K, B, N, 1, 0, bias, mult, shift, g.out_zero_point, -128, 127, R, NULL, NULL, NULL);
    check(memcmp(C, R, sizeof C) == 0, d ? "int8 epilogue next to rounding ties, shifts 32..62"
                                         : "int8 epilogue at rounding ties, shifts 32..62");
  }
}

int main(void) {
  static const int64_t shapes[][3] = {
      {1, 1, 1},      {3, 5, 7},      {17, 33, 19},   {12, 16, 256},  {13, 17, 257},
      {150, 40, 300}, {64, 512, 128}, {1, 100, 50},   {100, 1, 50},   {5, 16, 0},
      {29, 48, 513},  {2, 31, 1},     {300, 20, 9},   {6, 64, 64},    {14, 130, 70},
      {65, 47, 2},    {8, 32, 3},     {9, 33, 2051},  {1, 512, 512},  {64, 384, 128},
      {64, 128, 344}, {4, 7, 4100},   {71, 16, 4},    {128, 65, 33}};
  static const int32_t zas[] = {0, -128, 127, 5, -77};
  const int every = test_sample();
  size_t s;
  int mode, z = 0;
  printf("qgemm path: %s\n", qrt_qgemm_path());
  test_packed_layout();
  test_epilogue_ties();
  for (s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
    for (mode = 0; mode < 128; ++mode) {
      if ((mode & 64) && (mode & (16 | 32))) continue;
      if ((mode & 8) && (mode & 16)) continue;
      if ((mode + (int)s) % every) continue; /* under qemu: every Nth mode, rotating with the shape */
      test_case(shapes[s][0], shapes[s][1], shapes[s][2], zas[z++ % 5], mode);
    }
  test_k_limit(0);
  test_k_limit(1);
  test_batched(0);
  test_batched(1);
  test_strided(37, 45);
  test_strided(5, 45);
  test_strided(80, 48);
  test_strided(80, 45);
  test_heads(80, 3, 16, 0);
  test_heads(80, 3, 16, 1);
  test_heads(13, 2, 6, 0);
  test_heads(80, 2, 6, 1);
  test_epilogue_paths();
  printf("rounding ties exercised: %ld\n", g_ties);
  check(g_ties > 100, "ties exercised");
  return finish();
}
