/* bench_wmatmul.c - ns per call of the weight-only matmul qrt_wmatmul_f32
 * (w8a16: int8 per channel; w4a16: int4, groups of 128) against the float
 * GEMM qrt_sgemm_ex (packed B) at decoding shapes (M rows, default 1),
 * single thread.  Two regimes:
 *   hot:  the same weights every call (they stay in the caches);
 *   cold: cycling through copies of the weights, at least 256 MB in all,
 *         so every call reads them from memory, as a decoding step of a
 *         model much larger than the caches does.
 * Best of 7 repetitions of about 0.1 s each, in CPU time of the thread
 * (steadier than wall time on a machine shared with other work).
 * cc -std=c99 -O3 -march=native -Iruntime test/unit/bench_wmatmul.c runtime/qrt_qmatmul_float.c \
 *    runtime/qrt_qmatmul.c runtime/qrt_matmul.c runtime/qrt_parallel.c runtime/qrt_quant.c \
 *    runtime/qrt_unary.c -lm -o bench_wmatmul && ./bench_wmatmul [M] */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "qrt.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *xalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) { fprintf(stderr, "bench_wmatmul: out of memory\n"); exit(1); }
  return p;
}

enum { F32, W8, W4, KINDS };
static const char *kind_name[KINDS] = {"f32", "w8a16", "w4a16"};

typedef struct wset {
  int kind, copies;
  size_t bytes; /* of one copy of the weights */
  void **w;     /* packed weights per copy */
  qrt_qmatmul_params p;
  uint8_t *gm;
  float *scale, *bias, *scratch;
} wset;

/* One call on copy i. */
static void call(wset *s, const float *A, float *C, int64_t M, int64_t N, int64_t K, int i) {
  if (s->kind == F32) {
    qrt_sgemm_args g;
    memset(&g, 0, sizeof g);
    g.M = M; g.N = N; g.K = K; g.A = A; g.rs_a = K; g.cs_a = 1; g.B = (const float *)s->w[i]; g.b_packed = 1;
    g.C = C; g.ldc = N; g.bias = s->bias; g.bias_cs = 1;
    qrt_sgemm_ex(&g);
  } else {
    const void *in[8] = {0};
    void *out[1];
    in[0] = A; in[1] = s->w[i]; in[2] = s->bias; in[3] = s->scale; in[6] = s->gm; in[7] = s->scratch;
    out[0] = C;
    qrt_wmatmul_f32(&s->p, in, out);
  }
}

static double time_calls(wset *s, const float *A, float *C, int64_t M, int64_t N, int64_t K, int cold) {
  double best = 1e30, t0, t;
  int rep, it, iters = 1, i = 0;
  /* calibrate: about 0.1 s per repetition */
  t0 = now_s();
  call(s, A, C, M, N, K, 0);
  t = now_s() - t0;
  iters = (int)(0.1 / (t > 1e-7 ? t : 1e-7)) + 1;
  for (rep = 0; rep < 7; ++rep) {
    t0 = now_s();
    for (it = 0; it < iters; ++it) {
      call(s, A, C, M, N, K, cold ? i : 0);
      i = i + 1 == s->copies ? 0 : i + 1;
    }
    t = (now_s() - t0) / iters;
    if (t < best) best = t;
  }
  return best;
}

static void bench(int64_t M, int64_t N, int64_t K) {
  float *A = xalloc(sizeof(float) * (size_t)(M * K)), *C = xalloc(sizeof(float) * (size_t)(M * N));
  float *Bf = xalloc(sizeof(float) * (size_t)(K * N));
  int8_t *Bq = xalloc((size_t)(K * N));
  wset sets[KINDS];
  double t[2][KINDS];
  uint32_t r = 1;
  int64_t i;
  int k, c, cold;
  for (i = 0; i < M * K; ++i) { r = r * 1664525u + 1013904223u; A[i] = (float)(r >> 8) / 16777216.0f - 0.5f; }
  for (i = 0; i < K * N; ++i) {
    r = r * 1664525u + 1013904223u;
    Bf[i] = (float)(r >> 8) / 16777216.0f - 0.5f;
    Bq[i] = (int8_t)((int32_t)(r >> 24) - 128);
  }
  for (k = 0; k < KINDS; ++k) {
    wset *s = &sets[k];
    int8_t *codes = Bq;
    memset(s, 0, sizeof *s);
    s->kind = k;
    s->bytes = k == F32 ? sizeof(float) * (size_t)qrt_packed_b_size(K, N)
               : k == W8 ? (size_t)qrt_packed_b_i8_size(K, N) : (size_t)qrt_packed_b_i4_size(K, N);
    s->copies = (int)((256u << 20) / s->bytes) + 1;
    s->w = xalloc(sizeof(void *) * (size_t)s->copies);
    s->scale = xalloc(sizeof(float) * (size_t)N);
    s->bias = xalloc(sizeof(float) * (size_t)N);
    for (i = 0; i < N; ++i) { s->scale[i] = 1e-3f; s->bias[i] = 0.01f * (float)(i % 7); }
    if (k == W4) {
      codes = xalloc((size_t)(K * N));
      for (i = 0; i < K * N; ++i) codes[i] = (int8_t)(((Bq[i] % 8) + 8) % 16 - 8);
      s->gm = xalloc((size_t)((K + 127) / 128 * N));
      for (i = 0; i < (K + 127) / 128 * N; ++i) s->gm[i] = (uint8_t)(100 + i % 100);
    }
    for (c = 0; c < s->copies; ++c) {
      s->w[c] = xalloc(s->bytes);
      if (k == F32) qrt_pack_b_f32(K, N, Bf, (float *)s->w[c]);
      else if (k == W8) qrt_pack_b_i8(K, N, codes, (int8_t *)s->w[c]);
      else qrt_pack_b_strided_i4(K, N, codes, N, 1, (int8_t *)s->w[c]);
    }
    if (k == W4) free(codes);
    s->p.b_packed = 1;
    s->p.M = M; s->p.N = N; s->p.K = K;
    s->p.b_format = k == W4 ? QRT_WFMT_I4 : QRT_WFMT_I8;
    s->p.group = k == W4 ? 128 : 0;
    s->scratch = k == F32 ? NULL : xalloc((size_t)qrt_wmatmul_scratch(&s->p));
  }
  for (cold = 0; cold < 2; ++cold)
    for (k = 0; k < KINDS; ++k) t[cold][k] = time_calls(&sets[k], A, C, M, N, K, cold);
  for (cold = 0; cold < 2; ++cold) {
    printf("M=%lld K=%lld N=%lld %-4s", (long long)M, (long long)K, (long long)N, cold ? "cold" : "hot");
    for (k = 0; k < KINDS; ++k)
      printf("  %s %9.0f ns (x%.2f, %.1f GB/s)", kind_name[k], 1e9 * t[cold][k], t[cold][F32] / t[cold][k],
             (double)sets[k].bytes / t[cold][k] * 1e-9);
    printf("\n");
  }
  for (k = 0; k < KINDS; ++k) {
    for (c = 0; c < sets[k].copies; ++c) free(sets[k].w[c]);
    free(sets[k].w); free(sets[k].scale); free(sets[k].bias); free(sets[k].gm); free(sets[k].scratch);
  }
  free(A); free(C); free(Bf); free(Bq);
}

int main(int argc, char **argv) {
  const int64_t M = argc > 1 ? atoi(argv[1]) : 1;
  printf("weight-only matmul, %lld row(s), one thread; xR: f32 time / this time; GB/s: weight bytes read per second\n",
         (long long)M);
  bench(M, 2048, 2048);
  bench(M, 5632, 2048);
  return 0;
}
