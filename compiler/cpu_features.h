/* cpu_features.h - what the CPU running qcc can do, asked once.
 *
 * qcc is built for the baseline ISA and chooses its faster paths at run
 * time: the evaluator's runtime copy (codegen/kernel_call.c) and the
 * Gram tile (compiler/linalg.c). Both ask here, so cpuid is read in one
 * place and cached once for every thread. */
#ifndef QCC_CPU_FEATURES_H
#define QCC_CPU_FEATURES_H

enum {
  QCC_CPU_AVX512F = 1 << 0,   /* 512-bit vectors (AVX-512 F) */
  QCC_CPU_X86_64_V3 = 1 << 1, /* AVX, AVX2, FMA, BMI1, BMI2 */
  QCC_CPU_X86_64_V4 = 1 << 2, /* v3 and AVX-512 F, BW, VL, DQ, CD and VNNI */
};

/* The QCC_CPU_* bits of this CPU; 0 off x86-64 or without GNU C's
 * __builtin_cpu_supports. */
int qcc_cpu_features(void);

#endif
