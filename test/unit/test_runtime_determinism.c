/* test_runtime_determinism.c - runs every kernel family on fixed inputs and
 * prints one FNV-1a hash of the output bytes per case.  run_runtime_tests.sh
 * builds it with different compilers and flags (-O0 .. -O3 -march=native,
 * GNU mode, no vector extension, pasted static into one file) and requires
 * identical output: the bits must not depend on how the runtime is built. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

static uint64_t fnv(const void *p, size_t n) {
  const unsigned char *b = (const unsigned char *)p;
  uint64_t h = 1469598103934665603ull;
  size_t i;
  for (i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}
static void report(const char *name, const void *p, size_t n) {
  printf("%-28s %016llx\n", name, (unsigned long long)fnv(p, n));
}

/* Float results with every NaN as one pattern: the NaN's sign and payload
 * are the hardware's (x86 gives the "default NaN" with the sign set, ARM
 * without), not the runtime's. */
static void report_f32(const char *name, const float *x, size_t n) {
  static float c[16384];
  size_t i;
  for (i = 0; i < n && i < 16384; ++i) c[i] = x[i] != x[i] ? (float)NAN : x[i];
  report(name, c, i * sizeof(float));
}

/* Ops whose float result is a C library transcendental (expm1, tanh,
 * log, log1p, the trigonometric and hyperbolic functions, pow): their
 * lines carry " libm", since another platform's C library may round
 * them differently (the cross-architecture comparison skips them). */
static int unary_uses_libm(int op) {
  switch (op) {
  case QRT_UNARY_ELU: case QRT_UNARY_SELU: case QRT_UNARY_TANH: case QRT_UNARY_GELU_TANH:
  case QRT_UNARY_SOFTPLUS: case QRT_UNARY_LOG: case QRT_UNARY_MISH: case QRT_UNARY_CELU:
    return 1;
  default:
    return op >= QRT_UNARY_SIN && op <= QRT_UNARY_ATANH;
  }
}

#define NBUF 16384
static float X[NBUF], Y[NBUF], Z[NBUF], W[NBUF], B[NBUF];
static float S[1 << 16];

int main(void) {
  const void *in[4];
  void *out[3];
  int op;
  char name[64];
  fill_f32(X, NBUF, -3, 3);
  fill_f32(Y, NBUF, -3, 3);
  fill_f32(W, NBUF, -1, 1);
  fill_f32(B, NBUF, -1, 1);
  for (op = 0; op <= QRT_UNARY_SHRINK; ++op) {
    qrt_unary_params p;
    if (op == QRT_UNARY_NOT) continue;
    memset(&p, 0, sizeof p);
    p.op = op; p.n = 1000; p.alpha = 0.7f; p.beta = 1.1f;
    in[0] = X; out[0] = Z;
    memset(Z, 0, sizeof Z);
    qrt_unary_f32(&p, in, out);
    sprintf(name, "unary_f32 op %d%s", op, unary_uses_libm(op) ? " libm" : "");
    report_f32(name, Z, 1000);
  }
  for (op = QRT_BINARY_ADD; op <= QRT_BINARY_GREATER_EQUAL; ++op) {
    qrt_binary_params p;
    memset(&p, 0, sizeof p);
    p.op = op; p.rank = 2; p.out_shape[0] = 30; p.out_shape[1] = 33;
    p.a_strides[0] = 33; p.a_strides[1] = 1; p.b_strides[0] = 0; p.b_strides[1] = 1;
    in[0] = X; in[1] = Y; out[0] = Z;
    qrt_binary_f32(&p, in, out);
    sprintf(name, "binary_f32 op %d%s", op, op == QRT_BINARY_POW ? " libm" : "");
    report_f32(name, Z, 990);
  }
  {
    /* matmul: several shapes, packed and not, bias + relu */
    static const int64_t sh[4][3] = {{37, 45, 61}, {64, 64, 64}, {5, 100, 7}, {1, 31, 300}};
    int s;
    for (s = 0; s < 4; ++s) {
      qrt_matmul_params p;
      memset(&p, 0, sizeof p);
      p.M = sh[s][0]; p.N = sh[s][1]; p.K = sh[s][2]; p.bias_cs = 1; p.act = QRT_ACT_RELU;
      in[0] = X; in[1] = W; in[2] = B; out[0] = S;
      qrt_matmul_f32(&p, in, out);
      sprintf(name, "matmul %d", s);
      report(name, S, (size_t)(p.M * p.N) * sizeof(float));
    }
  }
  {
    /* conv: 3x3 gemm path, depthwise, strided, no-scratch */
    static float scratch[1 << 15];
    int c;
    for (c = 0; c < 4; ++c) {
      qrt_conv_params p;
      int k;
      memset(&p, 0, sizeof p);
      p.n = 1; p.c_in = c == 1 ? 8 : 4; p.c_out = 8; p.group = c == 1 ? 8 : 1; p.act = c & 1;
      for (k = 0; k < 3; ++k) {
        p.in_spatial[k] = k ? 12 : 1; p.kernel[k] = k ? 3 : 1; p.strides[k] = c == 2 && k ? 2 : 1;
        p.dilations[k] = 1; p.pads_begin[k] = k ? 1 : 0;
        p.out_spatial[k] = (p.in_spatial[k] + 2 * p.pads_begin[k] - p.kernel[k]) / p.strides[k] + 1;
      }
      in[0] = X; in[1] = W; in[2] = B; in[3] = c == 3 ? NULL : scratch;
      out[0] = S;
      qrt_conv_f32(&p, in, out);
      sprintf(name, "conv %d", c);
      report(name, S, (size_t)(8 * p.out_spatial[1] * p.out_spatial[2]) * sizeof(float));
    }
  }
  {
    qrt_pool_params p;
    int k, kind;
    for (kind = 0; kind < 2; ++kind) {
      memset(&p, 0, sizeof p);
      p.kind = kind; p.n = 1; p.c = 3; p.count_include_pad = 1;
      for (k = 0; k < 3; ++k) {
        p.in_spatial[k] = k ? 11 : 1; p.kernel[k] = k ? 3 : 1; p.strides[k] = k ? 2 : 1;
        p.dilations[k] = 1; p.pads_begin[k] = k ? 1 : 0; p.pads_end[k] = k ? 1 : 0;
        p.out_spatial[k] = k ? 6 : 1;
      }
      in[0] = X; out[0] = Z;
      qrt_pool_f32(&p, in, out);
      sprintf(name, "pool %d", kind);
      report(name, Z, 3 * 36 * sizeof(float));
    }
  }
  {
    qrt_softmax_params p;
    int lg;
    for (lg = 0; lg < 2; ++lg) {
      memset(&p, 0, sizeof p);
      p.log = lg; p.outer = 4; p.axis_len = 100; p.inner = 1;
      in[0] = X; out[0] = Z;
      qrt_softmax_f32(&p, in, out);
      sprintf(name, "softmax inner1 log %d", lg);
      report(name, Z, 400 * sizeof(float));
      p.outer = 2; p.axis_len = 10; p.inner = 20;
      qrt_softmax_f32(&p, in, out);
      sprintf(name, "softmax inner20 log %d", lg);
      report(name, Z, 400 * sizeof(float));
    }
  }
  {
    qrt_norm_params p;
    memset(&p, 0, sizeof p);
    p.epsilon = 1e-5f; p.outer = 3; p.norm_size = 333;
    in[0] = X; in[1] = W; in[2] = B; out[0] = Z; out[1] = NULL; out[2] = NULL;
    qrt_layernorm_f32(&p, in, out);
    report("layernorm", Z, 999 * sizeof(float));
    qrt_rmsnorm_f32(&p, in, out);
    report("rmsnorm", Z, 999 * sizeof(float));
  }
  for (op = QRT_REDUCE_SUM; op <= QRT_REDUCE_LOG_SUM_EXP; ++op) {
    qrt_reduce_params p;
    memset(&p, 0, sizeof p);
    p.op = op; p.rank = 3; p.in_shape[0] = 5; p.in_shape[1] = 6; p.in_shape[2] = 7;
    p.reduced[0] = 1; p.reduced[2] = 1;
    in[0] = op == QRT_REDUCE_LOG_SUM || op == QRT_REDUCE_L2 ? (const void *)B : (const void *)X;
    out[0] = Z;
    qrt_reduce_f32(&p, in, out);
    sprintf(name, "reduce op %d%s", op, op >= QRT_REDUCE_LOG_SUM ? " libm" : "");
    report_f32(name, Z, 6);
  }
  {
    /* casts f32 -> f16 / i8 / f64 */
    qrt_cast_params p;
    static uint16_t h[1000];
    static int8_t i8[1000];
    memset(&p, 0, sizeof p);
    p.from = QRT_F32; p.n = 1000;
    in[0] = X;
    p.to = QRT_F16; out[0] = h; qrt_cast(&p, in, out); report("cast f32->f16", h, sizeof h);
    p.to = QRT_I8; out[0] = i8; qrt_cast(&p, in, out); report("cast f32->i8", i8, sizeof i8);
  }
  {
    /* online Hadamard: 3 rows of 12 * 64 (dense H_12 pass + butterflies),
     * 2 rows of 1024 (butterflies only) */
    qrt_hadamard_params p;
    static int8_t h12[144];
    int i;
    for (i = 0; i < 144; ++i) h12[i] = (int8_t)((lcg() >> 31) ? 1 : -1);
    memset(&p, 0, sizeof p);
    p.rows = 3; p.n = 768; p.m = 12; p.scale = 0.036f;
    in[0] = X; in[1] = h12; in[2] = S; out[0] = Z;
    qrt_hadamard_f32(&p, in, out);
    report("hadamard m 12", Z, 3 * 768 * sizeof(float));
    p.rows = 2; p.n = 1024; p.m = 1; p.scale = 0.03125f;
    in[1] = NULL; in[2] = NULL;
    qrt_hadamard_f32(&p, in, out);
    report("hadamard m 1", Z, 2 * 1024 * sizeof(float));
  }
  {
    /* integer-only int8 kernels (tables and constants from the builders) */
    static int8_t xq[4096], yq[4096], lut[256];
    static int32_t tab[256], gq[512], bq[512];
    qrt_lut_params lp;
    qrt_qsoftmax_params sp;
    qrt_qnorm_params np;
    fill_i8(xq, 4096, -128, 127);
    for (op = QRT_UNARY_SIGMOID; op <= QRT_UNARY_SILU; ++op) {
      if (qrt_build_lut_i8(op, 0.5f, 0.1f, 0.04, -7, 0.02, 3, lut) != 0) continue;
      memset(&lp, 0, sizeof lp);
      lp.n = 4096;
      in[0] = xq; in[1] = lut; out[0] = yq;
      qrt_lut_i8(&lp, in, out);
      sprintf(name, "lut_i8 op %d", op);
      report(name, yq, sizeof yq);
    }
    qrt_build_qsoftmax_i8(0.07, tab);
    memset(&sp, 0, sizeof sp);
    sp.outer = 8; sp.axis_len = 512;
    in[0] = xq; in[1] = tab; out[0] = yq;
    qrt_qsoftmax_i8(&sp, in, out);
    report("qsoftmax_i8", yq, sizeof yq);
    for (op = 0; op < 2; ++op) {
      qrt_build_qnorm_i8(op, 512, 1e-5, 0.03, 5, 0.05, -2, W, B, &np, gq, bq);
      np.outer = 8;
      in[0] = xq; in[1] = gq; in[2] = bq; out[0] = yq; out[1] = NULL; out[2] = NULL;
      (op ? qrt_qrmsnorm_i8 : qrt_qlayernorm_i8)(&np, in, out);
      report(op ? "qrmsnorm_i8" : "qlayernorm_i8", yq, sizeof yq);
    }
  }
  {
    /* int16 activations (w8i16): quantize, qmatmul_i16 with a run-time
     * int16 B and with int8 weights, dequantize */
    static int16_t a16[9 * 150], b16[150 * 37], c16[9 * 37];
    static int8_t w8[150 * 37], sh[37];
    static int32_t mult[37];
    static int64_t bias[37];
    const void *mm_in[5];
    qrt_quantize_params qp;
    qrt_dequantize_params dp;
    qrt_qmatmul_params mp;
    int i;
    memset(&qp, 0, sizeof qp);
    qp.n = 9 * 150; qp.inv_scale = 9000.0f; qp.zero_point = -1234; qp.qmin = -32768; qp.qmax = 32767;
    in[0] = X; out[0] = a16;
    qrt_quantize_f32_i16(&qp, in, out);
    report("quantize_f32_i16", a16, sizeof a16);
    qp.n = 150 * 37; qp.zero_point = 0;
    in[0] = Y; out[0] = b16;
    qrt_quantize_f32_i16(&qp, in, out);
    fill_i8(w8, 150 * 37, -127, 127);
    for (i = 0; i < 37; ++i) {
      mult[i] = 1100000000 + 7919 * i; sh[i] = (int8_t)(44 + i % 9); bias[i] = (int64_t)(i - 18) * 123456789;
    }
    memset(&mp, 0, sizeof mp);
    mp.M = 9; mp.N = 37; mp.K = 150; mp.a_zero_point = -1234; mp.out_zero_point = 5;
    mp.out_min = -32768; mp.out_max = 32767; mp.b_format = QRT_WFMT_I8; mp.a_bits = 16; mp.b_bits = 16;
    mm_in[0] = a16; mm_in[1] = b16; mm_in[2] = NULL; mm_in[3] = mult; mm_in[4] = sh; out[0] = c16;
    qrt_qmatmul_i16(&mp, mm_in, out);
    report("qmatmul_i16 b16", c16, sizeof c16);
    mp.b_bits = 8; mp.a_zero_point = 0;
    mm_in[1] = w8; mm_in[2] = bias;
    qrt_qmatmul_i16(&mp, mm_in, out);
    report("qmatmul_i16 b8", c16, sizeof c16);
    memset(&dp, 0, sizeof dp);
    dp.n = 9 * 37; dp.scale = 0.0123f; dp.zero_point = 5;
    in[0] = c16; out[0] = Z;
    qrt_dequantize_i16_f32(&dp, in, out);
    report_f32("dequantize_i16_f32", Z, 9 * 37);
  }
  {
    /* bmatmul: the integer path (int8 and int16 mantissas, NVFP4's vector
     * scale) and the float path (FP8), constant and run-time B */
    static const char *const fmts[] = {"bfp8_32", "bfp4_16", "mxfp4", "mxfp6_e2m3", "bbfp8_32", "nvfp4", "mxfp8_e4m3"};
    static uint8_t wp[64 * 300];
    static unsigned char scratch[1 << 18];
    size_t i;
    for (i = 0; i < sizeof fmts / sizeof *fmts; ++i) {
      const int32_t f = qrt_bformat_find(fmts[i]);
      const int64_t K = 150, N = 37, M = 9, cb = qrt_bfmt_bytes(f, K);
      qrt_bmatmul_params bp;
      float col[150];
      int64_t n, k;
      int rt;
      for (n = 0; n < N; ++n) {
        for (k = 0; k < K; ++k) col[k] = W[k * N + n];
        qrt_bfmt_encode(f, col, K, wp + n * cb);
      }
      for (rt = 0; rt < 2; ++rt) {
        memset(&bp, 0, sizeof bp);
        bp.M = M; bp.N = N; bp.K = K; bp.a_format = f; bp.w_format = f; bp.b_runtime = rt;
        if (qrt_bmatmul_scratch(&bp) > (int64_t)sizeof scratch) continue;
        in[0] = X; in[1] = rt ? (const void *)W : (const void *)wp; in[2] = rt ? NULL : B; in[3] = scratch;
        out[0] = Z;
        qrt_bmatmul_f32(&bp, in, out);
        sprintf(name, "bmatmul %s%s", fmts[i], rt ? " runtime-b" : "");
        report_f32(name, Z, (size_t)(M * N));
      }
    }
  }
  return 0;
}
