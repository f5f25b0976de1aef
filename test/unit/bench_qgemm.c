/* bench_qgemm.c - GOP/s of int8 qrt_qmatmul_i8 (packed B, precomputed
 * colsums, per-column requantization) against float qrt_sgemm_ex (packed
 * B) on the same shapes, single thread.
 * cc -std=c99 -O3 -march=native -Iruntime test/unit/bench_qgemm.c runtime/qrt_qmatmul.c runtime/qrt_matmul.c -lm -o bench_qgemm */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "qrt.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void bench(int64_t M, int64_t N, int64_t K) {
  float *A = (float *)malloc(sizeof(float) * (size_t)(M * K));
  float *B = (float *)malloc(sizeof(float) * (size_t)(K * N));
  float *Bp = (float *)malloc(sizeof(float) * (size_t)qrt_packed_b_size(K, N));
  float *C = (float *)malloc(sizeof(float) * (size_t)(M * N));
  int8_t *qA = (int8_t *)malloc((size_t)(M * K)), *qB = (int8_t *)malloc((size_t)(K * N));
  int8_t *qBp = (int8_t *)malloc((size_t)qrt_packed_b_i8_size(K, N)), *qC = (int8_t *)malloc((size_t)(M * N));
  int32_t *bias = (int32_t *)malloc(sizeof(int32_t) * (size_t)N), *mult = (int32_t *)malloc(sizeof(int32_t) * (size_t)N);
  int8_t *shift = (int8_t *)malloc((size_t)N);
  int32_t *cs = (int32_t *)malloc(sizeof(int32_t) * (size_t)N);
  double ops = 2.0 * (double)M * (double)N * (double)K, tf = 1e30, tq = 1e30, t0;
  int64_t i;
  int rep, it, iters;
  uint32_t s = 1;
  qrt_sgemm_args g;
  qrt_qmatmul_params p;
  const void *in[8] = {0};
  void *out[1];
  for (i = 0; i < M * K; ++i) { s = s * 1664525u + 1013904223u; A[i] = (float)(s >> 8) / 16777216.0f - 0.5f; qA[i] = (int8_t)(s >> 24); }
  for (i = 0; i < K * N; ++i) { s = s * 1664525u + 1013904223u; B[i] = (float)(s >> 8) / 16777216.0f - 0.5f; qB[i] = (int8_t)(s >> 24); }
  for (i = 0; i < N; ++i) { bias[i] = (int32_t)i * 17 - 1000; mult[i] = 1500000000; shift[i] = 40; }
  qrt_pack_b_f32(K, N, B, Bp);
  qrt_pack_b_i8(K, N, qB, qBp);
  qrt_colsum_i8(K, N, qB, N, 1, cs);
  memset(&g, 0, sizeof g);
  g.M = M; g.N = N; g.K = K; g.A = A; g.rs_a = K; g.cs_a = 1; g.B = Bp; g.b_packed = 1; g.C = C; g.ldc = N;
  memset(&p, 0, sizeof p);
  p.a_zero_point = -3; p.out_zero_point = 1; p.out_min = -128; p.out_max = 127; p.b_packed = 1;
  p.M = M; p.N = N; p.K = K;
  in[0] = qA; in[1] = qBp; in[2] = bias; in[3] = mult; in[4] = shift; in[5] = cs;
  out[0] = qC;
  iters = (int)(3e8 / ops) + 1;
  for (rep = 0; rep < 7; ++rep) {
    t0 = now_s();
    for (it = 0; it < iters; ++it) qrt_sgemm_ex(&g);
    t0 = (now_s() - t0) / iters;
    if (t0 < tf) tf = t0;
    t0 = now_s();
    for (it = 0; it < iters; ++it) qrt_qmatmul_i8(&p, in, out);
    t0 = (now_s() - t0) / iters;
    if (t0 < tq) tq = t0;
  }
  printf("M=%-4lld N=%-4lld K=%-4lld  f32 %7.2f GFLOP/s (%8.1f us)  int8 %7.2f GOP/s (%8.1f us)  x%.2f\n",
         (long long)M, (long long)N, (long long)K, ops / tf * 1e-9, tf * 1e6, ops / tq * 1e-9, tq * 1e6, tf / tq);
  free(A); free(B); free(Bp); free(C); free(qA); free(qB); free(qBp); free(qC);
  free(bias); free(mult); free(shift); free(cs);
}

int main(void) {
  printf("qgemm path: %s\n", qrt_qgemm_path());
  bench(256, 256, 256);
  bench(64, 512, 128);
  bench(1, 512, 512);
  bench(64, 384, 128);
  bench(64, 128, 344);
  return 0;
}
