/* gemm_bench.c - the runtime's GEMMs against the machine's peak, one thread.
 *
 * Measures, in one run:
 *  - the fp32 peak: independent FMA chains on registers only (AVX-512,
 *    AVX2+FMA or NEON; 2 FLOP per lane per FMA);
 *  - the int8 peak: independent vpdpbusd chains (AVX512-VNNI, AVX-VNNI or
 *    NEON sdot; 2 OP per byte product); on AVX2 without VNNI, vpmaddwd +
 *    vpaddd pairs (what its int8 kernel is made of: 16 products a pair);
 *  - qrt_sgemm_ex with a packed B (what generated code runs for a constant
 *    weight) with fused multiply-adds (the default) and with two roundings
 *    (--no-fma), and qrt_qgemm_ex with a packed int8 B and the int8
 *    requantizing epilogue (W8A8), and with a packed int4 B (W4A8, its
 *    % against the int8 peak: AVX2's int4 kernel passes it), at
 *    256x1024x1024 and at the shapes of the example models' layers;
 * as GFLOP/s (GOP/s) and % of the peak.  Each figure is the best of
 * --rounds timings of at least 0.2 s of CPU time (the machine is shared:
 * the best is the least disturbed).
 *
 * Build and run (from the repository root):
 *   cc -std=c99 -O3 -march=native -Iruntime examples/bench/gemm_bench.c \
 *      runtime/qrt_matmul.c runtime/qrt_qmatmul.c runtime/qrt_parallel.c -lm -pthread -o /tmp/gemm_bench
 *   /tmp/gemm_bench [--rounds R] [--shape MxKxN]...
 */
#define _POSIX_C_SOURCE 199309L
#include "qrt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__GNUC__) && (defined(__AVX512F__) || defined(__AVX2__) || defined(__AVXVNNI__))
#include <immintrin.h>
#elif defined(__GNUC__) && defined(__aarch64__)
#include <arm_neon.h>
#endif

/* CPU time of this process (one thread): time slices lost to other
 * processes on a shared machine do not count. */
static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Opaque to the optimizer, so the peak loops cannot be folded. */
static volatile float vf_mul = 0.999999f, vf_add = 1e-6f;
static volatile int32_t vi_a = 0x01010101, vi_b = 0x01010101;

#define CHAINS 16 /* independent accumulators: > latency x issue width */
/* AVX2 has 16 vector registers: 16 chains and their 2 constants spill
 * (loads and stores in the loop: a peak 25-30% low); 12 still exceed a
 * 4-5 cycle latency times 2 pipes. */
#define CHAINS_AVX2 12

/* fp32 peak: FLOP per second of `iters` x CHAINS dependent FMA chains. */
static double fp32_peak_run(long iters, float *sink) {
#if defined(__GNUC__) && defined(__AVX512F__)
  __m512 acc[CHAINS];
  const __m512 m = _mm512_set1_ps(vf_mul), a = _mm512_set1_ps(vf_add);
  const int lanes = 16;
  int c;
  long i;
  for (c = 0; c < CHAINS; ++c) acc[c] = _mm512_set1_ps((float)c);
  for (i = 0; i < iters; ++i)
    for (c = 0; c < CHAINS; ++c) acc[c] = _mm512_fmadd_ps(acc[c], m, a);
  for (c = 0; c < CHAINS; ++c) *sink += _mm512_reduce_add_ps(acc[c]);
#elif defined(__GNUC__) && defined(__AVX2__) && defined(__FMA__)
  __m256 acc[CHAINS_AVX2];
  const __m256 m = _mm256_set1_ps(vf_mul), a = _mm256_set1_ps(vf_add);
  const int lanes = 8;
  int c;
  long i;
  for (c = 0; c < CHAINS_AVX2; ++c) acc[c] = _mm256_set1_ps((float)c);
  for (i = 0; i < iters; ++i)
    for (c = 0; c < CHAINS_AVX2; ++c) acc[c] = _mm256_fmadd_ps(acc[c], m, a);
  for (c = 0; c < CHAINS_AVX2; ++c) {
    float t[8];
    int l;
    _mm256_storeu_ps(t, acc[c]);
    for (l = 0; l < 8; ++l) *sink += t[l];
  }
  return 2.0 * lanes * CHAINS_AVX2 * (double)iters;
#elif defined(__GNUC__) && defined(__aarch64__)
  float32x4_t acc[CHAINS];
  const float32x4_t m = vdupq_n_f32(vf_mul), a = vdupq_n_f32(vf_add);
  const int lanes = 4;
  int c;
  long i;
  for (c = 0; c < CHAINS; ++c) acc[c] = vdupq_n_f32((float)c);
  for (i = 0; i < iters; ++i)
    for (c = 0; c < CHAINS; ++c) acc[c] = vfmaq_f32(a, acc[c], m);
  for (c = 0; c < CHAINS; ++c) *sink += vaddvq_f32(acc[c]);
#else
  const int lanes = 0;
  (void)iters;
  (void)sink;
  return 0.0;
#endif
  return 2.0 * lanes * CHAINS * (double)iters;
}

/* int8 peak: OP per second of dot-product-accumulate chains (each
 * instruction: 4 byte products per 32-bit lane, a multiply and an add each). */
static double int8_peak_run(long iters, int32_t *sink) {
#if defined(__GNUC__) && defined(__AVX512VNNI__) && defined(__AVX512F__)
  __m512i acc[CHAINS];
  const __m512i a = _mm512_set1_epi32(vi_a), b = _mm512_set1_epi32(vi_b);
  const int lanes = 16;
  int c;
  long i;
  for (c = 0; c < CHAINS; ++c) acc[c] = _mm512_set1_epi32(c);
  for (i = 0; i < iters; ++i)
    for (c = 0; c < CHAINS; ++c) acc[c] = _mm512_dpbusd_epi32(acc[c], a, b);
  for (c = 0; c < CHAINS; ++c) *sink += _mm512_reduce_add_epi32(acc[c]);
#elif defined(__GNUC__) && defined(__AVXVNNI__)
  __m256i acc[CHAINS];
  const __m256i a = _mm256_set1_epi32(vi_a), b = _mm256_set1_epi32(vi_b);
  const int lanes = 8;
  int c;
  long i;
  for (c = 0; c < CHAINS; ++c) acc[c] = _mm256_set1_epi32(c);
  for (i = 0; i < iters; ++i)
    for (c = 0; c < CHAINS; ++c) acc[c] = _mm256_dpbusd_avx_epi32(acc[c], a, b);
  for (c = 0; c < CHAINS; ++c) {
    int32_t t[8];
    int l;
    _mm256_storeu_si256((__m256i *)t, acc[c]);
    for (l = 0; l < 8; ++l) *sink += t[l];
  }
#elif defined(__GNUC__) && defined(__AVX2__)
  /* no VNNI: the int8 kernels multiply bytes widened to int16 with
   * vpmaddwd (16 products, summed in pairs) and add with vpaddd; the
   * peak is that pair's rate */
  __m256i acc[CHAINS_AVX2];
  const __m256i a = _mm256_set1_epi32(vi_a), b = _mm256_set1_epi32(vi_b);
  const int lanes = 0; /* (the return below is this path's own) */
  int c;
  long i;
  for (c = 0; c < CHAINS_AVX2; ++c) acc[c] = _mm256_set1_epi32(c);
  for (i = 0; i < iters; ++i)
    for (c = 0; c < CHAINS_AVX2; ++c) acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(a, b));
  for (c = 0; c < CHAINS_AVX2; ++c) {
    int32_t t[8];
    int l;
    _mm256_storeu_si256((__m256i *)t, acc[c]);
    for (l = 0; l < 8; ++l) *sink += t[l];
  }
  (void)lanes;
  return 2.0 * 16 * CHAINS_AVX2 * (double)iters;
#elif defined(__GNUC__) && defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
  int32x4_t acc[CHAINS];
  const int8x16_t a = vreinterpretq_s8_s32(vdupq_n_s32(vi_a)), b = vreinterpretq_s8_s32(vdupq_n_s32(vi_b));
  const int lanes = 4;
  int c;
  long i;
  for (c = 0; c < CHAINS; ++c) acc[c] = vdupq_n_s32(c);
  for (i = 0; i < iters; ++i)
    for (c = 0; c < CHAINS; ++c) acc[c] = vdotq_s32(acc[c], a, b);
  for (c = 0; c < CHAINS; ++c) *sink += vaddvq_s32(acc[c]);
#else
  const int lanes = 0;
  (void)iters;
  (void)sink;
  return 0.0;
#endif
  return 2.0 * 4 * lanes * CHAINS * (double)iters;
}

/* Best rate (operations per second) of `rounds` timings of fn(ctx), each
 * repeated until it has run 0.2 s; `ops` per call. */
typedef double (*bench_fn)(void *ctx);
static double best_rate(bench_fn fn, void *ctx, int rounds) {
  double best = 0.0;
  int r;
  for (r = 0; r < rounds; ++r) {
    double ops = 0.0, t0 = now_s(), t;
    do {
      ops += fn(ctx);
    } while ((t = now_s() - t0) < 0.2);
    if (ops / t > best) best = ops / t;
  }
  return best;
}

/* External: the peak loops' results are stored where the compiler must keep them. */
float gemm_bench_f_sink;
int32_t gemm_bench_i_sink;
static double fp32_peak_fn(void *ctx) { (void)ctx; return fp32_peak_run(100000, &gemm_bench_f_sink); }
static double int8_peak_fn(void *ctx) { (void)ctx; return int8_peak_run(100000, &gemm_bench_i_sink); }

typedef struct sgemm_case {
  qrt_sgemm_args g;
} sgemm_case;
static double sgemm_fn(void *ctx) {
  const sgemm_case *s = (const sgemm_case *)ctx;
  qrt_sgemm_ex(&s->g);
  return 2.0 * (double)s->g.M * (double)s->g.N * (double)s->g.K;
}

typedef struct qgemm_case {
  qrt_qgemm_args g;
} qgemm_case;
static double qgemm_fn(void *ctx) {
  const qgemm_case *s = (const qgemm_case *)ctx;
  qrt_qgemm_ex(&s->g);
  return 2.0 * (double)s->g.M * (double)s->g.N * (double)s->g.K;
}

static uint32_t rng_state = 12345u;
static uint32_t rng(void) {
  rng_state = rng_state * 1664525u + 1013904223u;
  return rng_state >> 8;
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "gemm_bench: out of memory (%zu bytes)\n", n);
    exit(1);
  }
  return p;
}

/* One shape: fp32 fused, fp32 two roundings, int8; prints one line. */
static void bench_shape(int64_t M, int64_t K, int64_t N, int rounds, double fpeak, double ipeak) {
  float *A = (float *)xmalloc(sizeof(float) * (size_t)(M * K));
  float *B = (float *)xmalloc(sizeof(float) * (size_t)(K * N));
  float *Bp = (float *)xmalloc(sizeof(float) * (size_t)qrt_packed_b_size(K, N));
  float *C = (float *)xmalloc(sizeof(float) * (size_t)(M * N));
  int8_t *Aq = (int8_t *)xmalloc((size_t)(M * K));
  int8_t *Bq = (int8_t *)xmalloc((size_t)(K * N));
  int8_t *Bqp = (int8_t *)xmalloc((size_t)qrt_packed_b_i8_size(K, N));
  int8_t *B4 = (int8_t *)xmalloc((size_t)(K * N));
  int8_t *B4p = (int8_t *)xmalloc((size_t)qrt_packed_b_i4_size(K, N));
  int32_t *colsum4 = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)N);
  int8_t *Cq = (int8_t *)xmalloc((size_t)(M * N));
  int32_t *colsum = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)N);
  int32_t *bias = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)N);
  int32_t *mult = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)N);
  int8_t *shift = (int8_t *)xmalloc((size_t)N);
  sgemm_case sf, sn;
  qgemm_case q, q4;
  double r_fused, r_plain, r_int8, r_int4;
  int64_t i;
  for (i = 0; i < M * K; ++i) {
    A[i] = (float)((int)(rng() % 2001) - 1000) * 1e-3f;
    Aq[i] = (int8_t)((int)(rng() % 256) - 128);
  }
  for (i = 0; i < K * N; ++i) {
    B[i] = (float)((int)(rng() % 2001) - 1000) * 1e-3f;
    Bq[i] = (int8_t)((int)(rng() % 255) - 127);
    B4[i] = (int8_t)((int)(rng() % 16) - 8);
  }
  for (i = 0; i < N; ++i) {
    bias[i] = (int32_t)(rng() % 2001) - 1000;
    mult[i] = (int32_t)(1073741824u + rng() % 1073741824u);
    shift[i] = 40;
  }
  qrt_pack_b_f32(K, N, B, Bp);
  qrt_pack_b_i8(K, N, Bq, Bqp);
  qrt_colsum_i8(K, N, Bq, N, 1, colsum);
  qrt_pack_b_strided_i4(K, N, B4, N, 1, B4p);
  qrt_colsum_i8(K, N, B4, N, 1, colsum4);

  memset(&sf, 0, sizeof sf);
  sf.g.M = M; sf.g.N = N; sf.g.K = K;
  sf.g.A = A; sf.g.rs_a = K; sf.g.cs_a = 1;
  sf.g.B = Bp; sf.g.b_packed = 1;
  sf.g.C = C; sf.g.ldc = N;
  sf.g.act = QRT_ACT_NONE;
  sf.g.fused = 1;
  sn = sf;
  sn.g.fused = 0;

  memset(&q, 0, sizeof q);
  q.g.M = M; q.g.N = N; q.g.K = K;
  q.g.A = Aq; q.g.lda = K;
  q.g.B = Bqp; q.g.b_packed = 1; q.g.b_format = QRT_WFMT_I8;
  q.g.a_zero_point = 3; q.g.out_zero_point = -5; q.g.out_min = -128; q.g.out_max = 127;
  q.g.colsum = colsum; q.g.bias = bias; q.g.mult = mult; q.g.shift = shift;
  q.g.C = Cq; q.g.rs_c = N; q.g.cs_c = 1;

  r_fused = best_rate(sgemm_fn, &sf, rounds);
  r_plain = best_rate(sgemm_fn, &sn, rounds);
  q4 = q; /* W4A8: the same A and epilogue, int4 packed B */
  q4.g.B = B4p; q4.g.b_format = QRT_WFMT_I4; q4.g.colsum = colsum4;
  r_int8 = best_rate(qgemm_fn, &q, rounds);
  r_int4 = best_rate(qgemm_fn, &q4, rounds);
  printf("%4lldx%4lldx%4lld %9.1f %6.1f%% %9.1f %6.1f%% %9.1f %6.1f%% %9.1f %6.1f%%\n", (long long)M, (long long)K,
         (long long)N, r_fused * 1e-9, fpeak > 0 ? 100.0 * r_fused / fpeak : 0.0, r_plain * 1e-9,
         fpeak > 0 ? 100.0 * r_plain / fpeak : 0.0, r_int8 * 1e-9, ipeak > 0 ? 100.0 * r_int8 / ipeak : 0.0,
         r_int4 * 1e-9, ipeak > 0 ? 100.0 * r_int4 / ipeak : 0.0);
  free(A); free(B); free(Bp); free(C); free(Aq); free(Bq); free(Bqp); free(Cq); free(B4); free(B4p);
  free(colsum); free(colsum4); free(bias); free(mult); free(shift);
}

int main(int argc, char **argv) {
  /* M x K x N: the bar's shape, then the example models' layers (char_lm's
   * projections at T=64, digits_cnn's 3x3 convolutions as im2col GEMMs:
   * 32 output channels, K = 16*9 over 8x8 and K = 32*9 over 4x4 positions);
   * --shape replaces them. */
  static int64_t shapes[16][3] = {{256, 1024, 1024}, {64, 128, 256}, {64, 256, 128}, {64, 128, 128},
                                  {32, 144, 64},     {32, 288, 16}};
  int rounds = 5, n_shapes = 6, own_shapes = 0, s;
  double fpeak, ipeak;
  for (s = 1; s < argc; ++s) {
    if (!strcmp(argv[s], "--rounds") && s + 1 < argc) {
      rounds = atoi(argv[++s]);
      if (rounds < 1) {
        fprintf(stderr, "gemm_bench: --rounds: expected a count >= 1, got '%s'\n", argv[s]);
        return 1;
      }
    } else if (!strcmp(argv[s], "--shape") && s + 1 < argc) {
      long long m, k, n;
      char tail;
      if (sscanf(argv[++s], "%lldx%lldx%lld%c", &m, &k, &n, &tail) != 3 || m < 1 || k < 1 || n < 1 ||
          m * k > (1LL << 28) || k * n > (1LL << 28) || m * n > (1LL << 28)) {
        fprintf(stderr, "gemm_bench: --shape: expected MxKxN (each >= 1, products <= 2^28), got '%s'\n", argv[s]);
        return 1;
      }
      if (!own_shapes) n_shapes = 0, own_shapes = 1;
      if (n_shapes == 16) {
        fprintf(stderr, "gemm_bench: --shape: at most 16 shapes\n");
        return 1;
      }
      shapes[n_shapes][0] = m, shapes[n_shapes][1] = k, shapes[n_shapes][2] = n, ++n_shapes;
    } else {
      fprintf(stderr, "gemm_bench: unknown argument '%s' (usage: gemm_bench [--rounds R] [--shape MxKxN]...)\n",
              argv[s]);
      return 1;
    }
  }
  fpeak = best_rate(fp32_peak_fn, NULL, rounds);
  ipeak = best_rate(int8_peak_fn, NULL, rounds);
  printf("fp32 peak %.1f GFLOP/s, int8 peak %.1f GOP/s (one thread; int8 GEMM path %s)\n", fpeak * 1e-9,
         ipeak * 1e-9, qrt_qgemm_path());
  printf("%-14s %9s %7s %9s %7s %9s %7s %9s %7s\n", "MxKxN", "f32 fma", "%peak", "f32 2rnd", "%peak", "int8 GOP", "%peak",
         "w4a8 GOP", "%peak");
  for (s = 0; s < n_shapes; ++s)
    bench_shape(shapes[s][0], shapes[s][1], shapes[s][2], rounds, fpeak, ipeak);
  return 0;
}
