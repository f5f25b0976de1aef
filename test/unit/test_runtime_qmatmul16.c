/* test_runtime_qmatmul16.c - int16 activations (w8i16): qrt_qmatmul_i16,
 * qrt_requant_wide and the int16 quantize / dequantize kernels against
 * scalar references written independently of them.
 *
 * The references: the dot product summed term by term in int64 with the
 * zero point subtracted from each code (the kernel uses column sums), the
 * requantization on an exact 128-bit product (the kernel uses two 64-bit
 * words), the quantization with rint() under the default rounding mode
 * (the kernel works on the float's bits).  Extreme codes (-32768, 32767,
 * whole rows and columns of them) reach the largest products (2^30) and
 * accumulators (K 2^30). */
#include <math.h>

#include "qrt_test_util.h"

__extension__ typedef __int128 i128;

/* round(acc * m0 / 2^s) half away from zero, saturated, as the contract
 * of qrt_requant says, on an exact 128-bit product. */
static int32_t ref_requant_wide(int64_t acc, int32_t m0, int32_t s, int32_t zp, int32_t lo, int32_t hi) {
  i128 prod = (i128)acc * (m0 < 0 ? 0 : m0), mag = prod < 0 ? -prod : prod, q, v;
  s = s < 0 ? 0 : s > 62 ? 62 : s;
  q = s ? (mag + ((i128)1 << (s - 1))) >> s : mag;
  if (q > ((i128)1 << 33)) q = (i128)1 << 33;
  v = (prod < 0 ? -q : q) + zp;
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  return (int32_t)v;
}

static int64_t rand_acc(void) {
  /* magnitudes spread over 2^0 .. 2^62 */
  const int bits = (int)irand(0, 62);
  int64_t m = bits ? (int64_t)(((uint64_t)lcg() << 32 | lcg()) >> (64 - bits)) : 0;
  return irand(0, 1) ? -m : m;
}

static void test_requant_wide(void) {
  static const int64_t edge[] = {0, 1, -1, 4294967295LL, -4294967295LL, 4294967296LL, (int64_t)1 << 62,
                                 -((int64_t)1 << 62), INT64_MAX, INT64_MIN + 1, INT64_MIN};
  static const int32_t m_edge[] = {0, 1, 1 << 30, 2147483647, -5};
  int ok_narrow = 1, ok_wide = 1, i, j, s;
  for (i = 0; i < 200000; ++i) {
    const int32_t m0 = (int32_t)irand(0, 2147483647), sh = (int32_t)irand(-2, 64);
    const int32_t zp = (int32_t)irand(-32768, 32767);
    const int64_t narrow = irand(-4294967295LL, 4294967295LL), acc = rand_acc();
    if (qrt_requant_wide(narrow, m0, sh, zp, -32768, 32767) != qrt_requant(narrow, m0, sh, zp, -32768, 32767) ||
        qrt_requant_wide(narrow, m0, sh, zp, -32768, 32767) != ref_requant(narrow, m0, sh < 0 ? 0 : sh > 62 ? 62 : sh, zp, -32768, 32767))
      ok_narrow = 0;
    if (qrt_requant_wide(acc, m0, sh, zp, -32768, 32767) != ref_requant_wide(acc, m0, sh, zp, -32768, 32767)) {
      if (ok_wide) printf("  acc %lld m0 %d s %d\n", (long long)acc, m0, sh);
      ok_wide = 0;
    }
  }
  for (i = 0; i < (int)(sizeof edge / sizeof *edge); ++i)
    for (j = 0; j < (int)(sizeof m_edge / sizeof *m_edge); ++j)
      for (s = 0; s <= 62; ++s)
        if (qrt_requant_wide(edge[i], m_edge[j], s, 3, INT32_MIN, INT32_MAX) !=
            ref_requant_wide(edge[i], m_edge[j], s, 3, INT32_MIN, INT32_MAX))
          ok_wide = 0;
  /* ties round away from zero: 3 * 2^30 / 2^31 = 1.5 -> 2, -1.5 -> -2 */
  check(qrt_requant_wide(3, 1 << 30, 31, 0, -100, 100) == 2 && qrt_requant_wide(-3, 1 << 30, 31, 0, -100, 100) == -2 &&
            qrt_requant_wide((int64_t)3 << 31, 1 << 30, 62, 0, -100, 100) == 2,
        "requant_wide ties away from zero");
  check(ok_narrow, "requant_wide == qrt_requant (and the int64 reference) for |acc| < 2^32");
  check(ok_wide, "requant_wide == exact 128-bit reference for any int64 acc, shifts 0..62, edge multipliers");
}

typedef struct mm_case {
  int64_t batch, M, N, K;
  int b16, broadcast_b, extreme;
  int32_t za, zy;
} mm_case;

static int16_t code16(int extreme) {
  if (extreme == 1) return (int16_t)(irand(0, 1) ? -32768 : 32767);
  if (extreme == 2) return -32768;
  return (int16_t)irand(-32768, 32767);
}

static void run_case(const mm_case *t) {
  const int64_t M = t->M, N = t->N, K = t->K, nb = t->batch, nbb = t->broadcast_b ? 1 : nb;
  int16_t *A = xmalloc(sizeof(int16_t) * (size_t)(nb * M * K)), *C = xmalloc(sizeof(int16_t) * (size_t)(nb * M * N));
  int16_t *B16 = xmalloc(sizeof(int16_t) * (size_t)(nbb * K * N));
  int8_t *B8 = xmalloc((size_t)(K * N));
  int64_t *bias = xmalloc(sizeof(int64_t) * (size_t)N), i, b, m, n, k;
  int32_t *mult = xmalloc(sizeof(int32_t) * (size_t)N);
  int8_t *shift = xmalloc((size_t)N);
  qrt_qmatmul_params p;
  const void *in[8] = {0};
  void *out[1];
  int ok = 1;
  char what[160];
  for (i = 0; i < nb * M * K; ++i) A[i] = code16(t->extreme);
  for (i = 0; i < nbb * K * N; ++i) B16[i] = code16(t->extreme);
  for (i = 0; i < K * N; ++i) B8[i] = t->extreme ? (irand(0, 1) ? -128 : 127) : (int8_t)irand(-128, 127);
  for (n = 0; n < N; ++n) {
    bias[n] = t->b16 ? 0 : irand(-((int64_t)1 << 40), (int64_t)1 << 40);
    mult[n] = (int32_t)irand(1 << 30, 2147483647);
    shift[n] = (int8_t)irand(t->extreme ? 40 : 31, 62);
  }
  memset(&p, 0, sizeof p);
  p.M = M; p.N = N; p.K = K;
  p.a_zero_point = t->za;
  p.out_zero_point = t->zy;
  p.out_min = -32768;
  p.out_max = 32767;
  p.b_format = QRT_WFMT_I8;
  p.a_bits = 16;
  p.b_bits = t->b16 ? 16 : 8;
  p.batch_rank = nb > 1 ? 1 : 0;
  p.batch_shape[0] = nb;
  p.a_batch_strides[0] = M * K;
  p.b_batch_strides[0] = t->broadcast_b || !t->b16 ? 0 : K * N; /* int8 B: one [K, N] weight for every batch */
  in[0] = A;
  in[1] = t->b16 ? (const void *)B16 : (const void *)B8;
  in[2] = t->b16 ? NULL : bias;
  in[3] = mult;
  in[4] = shift;
  out[0] = C;
  qrt_qmatmul_i16(&p, in, out);
  for (b = 0; b < nb && ok; ++b)
    for (m = 0; m < M && ok; ++m)
      for (n = 0; n < N && ok; ++n) {
        int64_t acc = t->b16 ? 0 : bias[n];
        for (k = 0; k < K; ++k) {
          const int64_t a = (int64_t)A[(b * M + m) * K + k] - t->za;
          acc += a * (t->b16 ? B16[((t->broadcast_b ? 0 : b) * K + k) * N + n] : B8[k * N + n]);
        }
        if (C[(b * M + m) * N + n] != ref_requant_wide(acc, mult[n], shift[n], t->zy, -32768, 32767)) {
          printf("  [%lld,%lld,%lld]: %d vs %d (acc %lld)\n", (long long)b, (long long)m, (long long)n,
                 C[(b * M + m) * N + n], ref_requant_wide(acc, mult[n], shift[n], t->zy, -32768, 32767),
                 (long long)acc);
          ok = 0;
        }
      }
  snprintf(what, sizeof what, "qmatmul_i16 batch %lld M %lld N %lld K %lld b%d%s extreme %d za %d", (long long)nb,
           (long long)M, (long long)N, (long long)K, t->b16 ? 16 : 8, t->broadcast_b ? " broadcast" : "", t->extreme,
           t->za);
  check(ok, what);
  free(A); free(C); free(B16); free(B8); free(bias); free(mult); free(shift);
}

static void test_qmatmul(void) {
  static const mm_case cases[] = {
      {1, 1, 1, 1, 1, 0, 0, 0, 0},        {1, 7, 65, 13, 1, 0, 0, 5, -3},    {3, 5, 64, 64, 1, 0, 0, -32768, 0},
      {4, 9, 130, 33, 1, 1, 0, 32767, 17}, {2, 3, 17, 257, 1, 0, 1, 0, 0},    {2, 3, 17, 257, 1, 0, 2, 0, 0},
      {2, 4, 70, 300, 1, 0, 1, -32768, 9}, {1, 6, 129, 255, 0, 0, 0, 0, -7},  {1, 5, 40, 1000, 0, 0, 1, 0, 0},
      {1, 1, 3, 4097, 1, 0, 2, 0, 0},      {2, 2, 8, 0, 1, 0, 0, 3, 2},
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof *cases; ++i) run_case(&cases[i]);
  /* random shapes */
  for (i = 0; i < 40; ++i) {
    mm_case t = {irand(1, 3), irand(1, 9), irand(1, 140), irand(1, 200), (int)irand(0, 1), 0, (int)irand(0, 1) * (int)irand(1, 2),
                 (int32_t)irand(-32768, 32767), (int32_t)irand(-100, 100)};
    t.broadcast_b = t.b16 && irand(0, 1);
    run_case(&t);
  }
}

/* quantize / dequantize with int16 codes against rint() */
static void test_quant16(void) {
  static const float special[] = {0.0f, -0.0f, 0.5f, -0.5f, 1.5f, 2.5f, -2.5f, 32766.5f, 32767.5f, -32768.5f,
                                  65536.0f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN, 1e-30f};
  enum { N = 4096 };
  float x[N + 17], y[N + 17];
  int16_t q[N + 17];
  int ok = 1, okd = 1, i, t;
  for (t = 0; t < 8 && ok; ++t) {
    qrt_quantize_params p;
    qrt_dequantize_params d;
    const float scale = t == 0 ? 1.0f : frand(1e-4f, 10.0f);
    const int32_t zp = t == 0 ? 0 : (int32_t)irand(-32768, 32767), qmin = t == 7 ? -100 : -32768,
                  qmax = t == 7 ? 100 : 32767;
    const void *in[1];
    void *out[1];
    for (i = 0; i < N; ++i) x[i] = frand(-40000.0f, 40000.0f) * scale;
    for (i = 0; i < 17; ++i) x[N + i] = special[i];
    p.n = N + 17;
    p.inv_scale = 1.0f / scale;
    p.zero_point = zp;
    p.qmin = qmin;
    p.qmax = qmax;
    in[0] = x;
    out[0] = q;
    qrt_quantize_f32_i16(&p, in, out);
    for (i = 0; i < N + 17; ++i) {
      const float v = x[i] * p.inv_scale;
      double r = (v != v ? 0 : rint(fmax(fmin((double)v, 1e6), -1e6))) + zp;
      r = r < qmin ? qmin : r > qmax ? qmax : r;
      if (q[i] != (int16_t)r) {
        if (ok) printf("  quantize x %.9g scale %g zp %d: %d vs %d\n", (double)x[i], (double)scale, zp, q[i], (int)r);
        ok = 0;
      }
    }
    d.n = N + 17;
    d.scale = scale;
    d.zero_point = zp;
    in[0] = q;
    out[0] = y;
    qrt_dequantize_i16_f32(&d, in, out);
    for (i = 0; i < N + 17; ++i)
      if (!same_f32(y[i], scale * (float)((int32_t)q[i] - zp))) okd = 0;
  }
  check(ok, "quantize_f32_i16 == rint reference (ties to even, saturation, NaN -> zero point, infinities)");
  check(okd, "dequantize_i16_f32 == scale * (q - zp)");
}

int main(void) {
  test_requant_wide();
  test_qmatmul();
  test_quant16();
  return finish();
}
