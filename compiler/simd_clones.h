/* simd_clones.h - run-time ISA selection for the compiler's own loops.
 *
 * qcc is built for the baseline ISA so that it runs on any x86-64; its
 * heavy numerical loops (calibration histograms, Gram matrices, the
 * eigensolver, GPTQ's loss) are marked QCC_CLONES, and GCC then also
 * builds an AVX2 and an AVX-512 copy of each and picks one at load time
 * (target_clones), as the evaluator's kernels pick their x86-64-v4 copy.
 *
 * The clones give the same bits: qcc_core is compiled with
 * -ffp-contract=off (CMakeLists.txt), so no clone fuses a multiply and an
 * add that the baseline copy rounds twice, and the vector loops only run
 * independent sums side by side, each in its scalar order. */
#ifndef QCC_SIMD_CLONES_H
#define QCC_SIMD_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 9 && defined(__x86_64__) && defined(__linux__)
#define QCC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define QCC_CLONES
#endif

/* A helper of a QCC_CLONES function: always inlined, so that it is built
 * for the clone's ISA (a call would reach its baseline copy). */
#if defined(__GNUC__)
#define QCC_INLINE static inline __attribute__((always_inline))
#else
#define QCC_INLINE static inline
#endif

#endif
