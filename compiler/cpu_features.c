/* cpu_features.c - cpuid, read once (see cpu_features.h). */
#include "cpu_features.h"

static int detect(void) {
  int f = 0;
#if defined(__GNUC__) && defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) f |= QCC_CPU_AVX512F;
  if (__builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2"))
    f |= QCC_CPU_X86_64_V3;
  if ((f & QCC_CPU_X86_64_V3) && (f & QCC_CPU_AVX512F) && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512vnni"))
    f |= QCC_CPU_X86_64_V4;
#endif
  return f;
}

/* Calibration's worker threads may ask at once: an atomic load and store
 * (they would all store the same answer). -1: not asked yet. */
int qcc_cpu_features(void) {
  static int features = -1;
  int f = __atomic_load_n(&features, __ATOMIC_RELAXED);
  if (f < 0) {
    f = detect();
    __atomic_store_n(&features, f, __ATOMIC_RELAXED);
  }
  return f;
}
