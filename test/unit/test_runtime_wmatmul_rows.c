/* test_runtime_wmatmul_rows.c - qrt_wmatmul_f32 with at most
 * QRT_WMATMUL_ROWS rows (the direct path from the int4 / int8 codes that
 * decoding takes):
 *  - bit for bit against a scalar reference written from the documented
 *    order (qrt_wmm_rows in qrt_qmatmul_float.c) on the unpacked codes, so
 *    it also checks the packed layouts; run_runtime_tests.sh builds it for
 *    AVX-512, AVX2, the portable C path and NEON (qemu), which therefore
 *    all give these bits;
 *  - within the float rounding bound of a double-precision reference:
 *    |C - exact| <= (K + 4) 2^-24 (sum_k |a_k W_kn| + |bias_n|), i.e. one
 *    rounding per term of the longest chain of operations of one output
 *    (at most G + ceil(K/G) + 3 <= K + 4 roundings, first order);
 *  - the same bits with the work split over threads (a parallel-for hook
 *    that runs the column slices in reverse order).
 * Shapes: K odd and not a multiple of the group, N not a multiple of 16,
 * groups of 4, 32, 64, 128 (also one K long) and per channel, 1..4 rows over batches
 * (broadcast A included), bias or none. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

typedef struct rcase {
  int64_t M, batches, N, K, group; /* group 0: per channel */
  int32_t format;
  int bias, bcast; /* bcast: A has one batch for all (stride 0) */
} rcase;

/* The documented order, one output at a time, from the plain codes. */
static float ref_rows(const rcase *c, const float *a, const int8_t *B, const uint8_t *gm, const float *scale,
                      const float *bias, int64_t n) {
  const int64_t blk = c->group ? c->group : c->K;
  float acc = 0.0f;
  int64_t kb, k;
  for (kb = 0; kb < c->K; kb += blk) {
    float s = 0.0f;
    for (k = kb; k < kb + blk && k < c->K; ++k) s = s + a[k] * (float)B[k * c->N + n];
    acc = c->group ? acc + s * (float)gm[(kb / blk) * c->N + n] : s;
  }
  return bias ? acc * scale[n] + bias[n] : acc * scale[n];
}

/* Reverse-order parallel-for with 3 "threads": slices must not interact. */
static void reverse_for(void *user, int64_t n, qrt_task_fn task, void *ctx) {
  int64_t i;
  (void)user;
  for (i = n - 1; i >= 0; --i) task(ctx, i);
}

/* Codes from the LCG's high bits: irand's r % 16 sees only the low bits
 * of the generator, which repeat every 8 draws, so columns 8..15 of a
 * panel would repeat columns 0..7 and hide a wrong nibble. */
static void fill_codes(int8_t *v, int64_t n, int lo, int hi) {
  int64_t i;
  for (i = 0; i < n; ++i) v[i] = (int8_t)(lo + (int)((lcg() >> 8) % (uint32_t)(hi - lo + 1)));
}

static double g_worst; /* largest error / bound seen */

static void test_case(const rcase *c) {
  const int64_t M = c->M, N = c->N, K = c->K, nbA = c->bcast ? 1 : c->batches, rows = c->batches * M;
  const int64_t ng = c->group ? (K + c->group - 1) / c->group : 1;
  float *A = xmalloc(sizeof(float) * (size_t)(nbA * M * K)), *C = xmalloc(sizeof(float) * (size_t)(rows * N));
  float *C2 = xmalloc(sizeof(float) * (size_t)(rows * N));
  int8_t *B = xmalloc((size_t)(K * N));
  int8_t *Bp = xmalloc((size_t)(c->format == QRT_WFMT_I4 ? qrt_packed_b_i4_size(K, N) : qrt_packed_b_i8_size(K, N)));
  uint8_t *gm = xmalloc((size_t)(ng * N));
  float *sf = xmalloc(sizeof(float) * (size_t)N), *bf = xmalloc(sizeof(float) * (size_t)N);
  const int32_t cmax = c->format == QRT_WFMT_I4 ? 7 : 127;
  qrt_qmatmul_params p;
  void *scratch;
  const void *in[8] = {0};
  void *out[1];
  int64_t b, m, n, k, i;
  int exact = 1, within = 1;
  char what[200];
  fill_f32(A, nbA * M * K, -2.0f, 2.0f);
  fill_codes(B, K * N, -cmax - (c->format == QRT_WFMT_I4), cmax);
  for (i = 0; i < ng * N; ++i) gm[i] = (uint8_t)(1 + (lcg() >> 8) % 255u);
  for (n = 0; n < N; ++n) {
    sf[n] = frand(1e-4f, 1e-2f);
    bf[n] = frand(-1.0f, 1.0f);
  }
  if (c->format == QRT_WFMT_I4) qrt_pack_b_strided_i4(K, N, B, N, 1, Bp);
  else qrt_pack_b_i8(K, N, B, Bp);
  memset(&p, 0, sizeof p);
  p.b_packed = 1;
  p.M = M; p.N = N; p.K = K;
  p.b_format = c->format;
  p.group = c->group;
  p.batch_rank = 1;
  p.batch_shape[0] = c->batches;
  p.a_batch_strides[0] = c->bcast ? 0 : M * K;
  scratch = xmalloc((size_t)qrt_wmatmul_scratch(&p));
  in[0] = A; in[1] = Bp; in[2] = c->bias ? bf : NULL; in[3] = sf; in[6] = c->group ? gm : NULL; in[7] = scratch;
  out[0] = C;
  qrt_wmatmul_f32(&p, in, out);
  for (b = 0; b < c->batches; ++b)
    for (m = 0; m < M; ++m) {
      const float *a = A + (c->bcast ? 0 : b * M * K) + m * K;
      for (n = 0; n < N; ++n) {
        const float got = C[(b * M + m) * N + n];
        double exact_v = 0.0, mag = 0.0, bound;
        for (k = 0; k < K; ++k) {
          const double w = (double)sf[n] * (c->group ? gm[(k / c->group) * N + n] : 1) * B[k * N + n];
          exact_v += (double)a[k] * w;
          mag += fabs((double)a[k] * w);
        }
        if (c->bias) exact_v += bf[n], mag += fabs((double)bf[n]);
        bound = (double)(K + 4) * ldexp(1.0, -24) * mag;
        if (!same_f32(got, ref_rows(c, a, B, gm, sf, c->bias ? bf : NULL, n))) exact = 0;
        if (fabs((double)got - exact_v) > bound) within = 0;
        if (bound > 0 && fabs((double)got - exact_v) / bound > g_worst) g_worst = fabs((double)got - exact_v) / bound;
      }
    }
  snprintf(what, sizeof what, "rows fmt %d M=%lld batches %lld%s N=%lld K=%lld group %lld bias %d",
           c->format, (long long)M, (long long)c->batches, c->bcast ? " (broadcast A)" : "", (long long)N,
           (long long)K, (long long)c->group, c->bias);
  check(exact, what);
  check(within, "  within (K + 4) 2^-24 sum |a w| of the double reference");
  /* threads: column slices in any order give the same bits */
  qrt_set_parallel_for(reverse_for, NULL, 3);
  out[0] = C2;
  qrt_wmatmul_f32(&p, in, out);
  qrt_set_parallel_for(NULL, NULL, 0);
  check(memcmp(C, C2, sizeof(float) * (size_t)(rows * N)) == 0, "  same bits split over threads");
  free(A); free(C); free(C2); free(B); free(Bp); free(gm); free(sf); free(bf); free(scratch);
}

int main(void) {
  /* M, batches, N, K, group, format, bias, bcast */
  static const rcase cases[] = {
      {1, 1, 1, 1, 0, QRT_WFMT_I4, 1, 0},        {1, 1, 17, 7, 0, QRT_WFMT_I4, 0, 0},
      {1, 1, 40, 301, 32, QRT_WFMT_I4, 1, 0},    {1, 1, 33, 259, 64, QRT_WFMT_I4, 1, 0},
      {1, 1, 48, 515, 128, QRT_WFMT_I4, 0, 0},   {2, 1, 31, 130, 4, QRT_WFMT_I4, 1, 0},
      {3, 1, 16, 200, 128, QRT_WFMT_I4, 1, 0},   {4, 1, 23, 97, 0, QRT_WFMT_I4, 1, 0},
      {2, 2, 19, 161, 32, QRT_WFMT_I4, 1, 0},    {1, 3, 9, 66, 64, QRT_WFMT_I4, 1, 1},
      {1, 1, 1, 1, 0, QRT_WFMT_I8, 0, 0},        {1, 1, 45, 299, 0, QRT_WFMT_I8, 1, 0},
      {1, 1, 20, 131, 32, QRT_WFMT_I8, 1, 0},    {4, 1, 37, 257, 128, QRT_WFMT_I8, 0, 0},
      {2, 2, 17, 63, 64, QRT_WFMT_I8, 1, 1},     {3, 1, 50, 90, 0, QRT_WFMT_I8, 1, 0},
      /* one group exactly K long: still grouped (gmult applies) */
      {1, 1, 21, 64, 64, QRT_WFMT_I4, 1, 0},     {2, 1, 18, 128, 128, QRT_WFMT_I8, 0, 0},
      /* big enough for several column slices (>= 2 * 2^20 multiply-adds) */
      {2, 1, 300, 4099, 128, QRT_WFMT_I4, 1, 0}, {1, 1, 530, 4001, 0, QRT_WFMT_I8, 1, 0},
  };
  const int n_cases = (int)(sizeof cases / sizeof cases[0]);
  int i;
  for (i = 0; i < n_cases; ++i) test_case(&cases[i]);
  printf("worst error: %.3g of the bound\n", g_worst);
  return finish();
}
