/* rng.h - the seeded pseudo-random numbers of the compiler's numerics.
 *
 * Random rotations (randomized Hadamard, random orthogonal matrices) must
 * be the same on every machine for a given seed, so qcc never uses rand():
 * its sequence differs between C libraries.  The generator is splitmix64
 * (Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
 * OOPSLA 2014; the seeding generator of the xoshiro family):
 *
 *     state += 0x9E3779B97F4A7C15
 *     z = state
 *     z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
 *     z = (z ^ (z >> 27)) * 0x94D049BB133111EB
 *     return z ^ (z >> 31)                         (all mod 2^64)
 *
 * It passes BigCrush, any 64-bit seed is a good seed (0 included), and it
 * is pure integer arithmetic: the u64 stream and qcc_rng_uniform are
 * bit-identical everywhere.  qcc_rng_gaussian goes through log, sqrt, cos
 * and sin of <math.h>, so its values are identical between programs that
 * use the same libm (and within a few ulp elsewhere). */
#ifndef QCC_RNG_H
#define QCC_RNG_H
#include <stdbool.h>
#include <stdint.h>

typedef struct qcc_rng {
  uint64_t state;
  double spare;   /* second Box-Muller output, valid when has_spare */
  bool has_spare;
} qcc_rng;

/* A generator whose first output is splitmix64's first output for `seed`. */
qcc_rng qcc_rng_seed(uint64_t seed);
uint64_t qcc_rng_u64(qcc_rng *r);
/* Uniform in [0, 1): the top 53 bits of the next u64 times 2^-53 (exact). */
double qcc_rng_uniform(qcc_rng *r);
/* Standard normal, Box-Muller: u1 = 1 - uniform (in (0, 1]), u2 = uniform,
 * rad = sqrt(-2 log u1); returns rad cos(2 pi u2) and keeps rad sin(2 pi u2)
 * for the next call (two u64 draws per pair of normals). */
double qcc_rng_gaussian(qcc_rng *r);
/* +1 or -1 with probability 1/2 each: the top bit of the next u64. */
double qcc_rng_sign(qcc_rng *r);

#endif
