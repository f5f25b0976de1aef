/* bench_sgemm.c - GFLOP/s of qrt_sgemm (single thread).
 * cc -std=c99 -O3 -march=native -Iruntime test/unit/bench_sgemm.c runtime/qrt_matmul.c -o bench_sgemm */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "qrt.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void bench(int64_t M, int64_t N, int64_t K, int packed) {
  float *A = (float *)malloc(sizeof(float) * (size_t)(M * K));
  float *B = (float *)malloc(sizeof(float) * (size_t)(K * N));
  float *Bp = (float *)malloc(sizeof(float) * (size_t)qrt_packed_b_size(K, N));
  float *C = (float *)malloc(sizeof(float) * (size_t)(M * N));
  double flops = 2.0 * (double)M * (double)N * (double)K, best = 1e30, t0;
  int64_t i;
  int rep, it, iters;
  uint32_t s = 1;
  for (i = 0; i < M * K; ++i) { s = s * 1664525u + 1013904223u; A[i] = (float)(s >> 8) / 16777216.0f - 0.5f; }
  for (i = 0; i < K * N; ++i) { s = s * 1664525u + 1013904223u; B[i] = (float)(s >> 8) / 16777216.0f - 0.5f; }
  qrt_pack_b_f32(K, N, B, Bp);
  iters = (int)(2e8 / flops) + 1;
  for (rep = 0; rep < 7; ++rep) {
    t0 = now_s();
    for (it = 0; it < iters; ++it) {
      if (packed) {
        qrt_sgemm_args g = {0};
        g.M = M; g.N = N; g.K = K; g.A = A; g.rs_a = K; g.cs_a = 1; g.B = Bp; g.b_packed = 1;
        g.C = C; g.ldc = N;
        qrt_sgemm_ex(&g);
      } else {
        qrt_sgemm(M, N, K, A, K, B, N, C, N, NULL);
      }
    }
    t0 = (now_s() - t0) / iters;
    if (t0 < best) best = t0;
  }
  printf("M=%-4lld N=%-4lld K=%-4lld %-8s %7.2f GFLOP/s (%.1f us)\n", (long long)M, (long long)N,
         (long long)K, packed ? "packed" : "unpacked", flops / best * 1e-9, best * 1e6);
  free(A); free(B); free(Bp); free(C);
}

int main(void) {
  bench(256, 256, 256, 0);
  bench(256, 256, 256, 1);
  bench(64, 512, 128, 0);
  bench(64, 512, 128, 1);
  bench(1024, 1024, 1024, 0);
  return 0;
}
