/* rng.c - splitmix64 and the distributions built on it (see rng.h). */
#include "rng.h"

#include <math.h>

qcc_rng qcc_rng_seed(uint64_t seed) {
  qcc_rng r = {seed, 0.0, false};
  return r;
}

uint64_t qcc_rng_u64(qcc_rng *r) {
  uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double qcc_rng_uniform(qcc_rng *r) { return (double)(qcc_rng_u64(r) >> 11) * 0x1.0p-53; }

double qcc_rng_gaussian(qcc_rng *r) {
  if (r->has_spare) {
    r->has_spare = false;
    return r->spare;
  }
  /* u1 in (0, 1] so the log is finite. */
  const double u1 = 1.0 - qcc_rng_uniform(r);
  const double u2 = qcc_rng_uniform(r);
  const double rad = sqrt(-2.0 * log(u1));
  const double two_pi = 6.283185307179586476925286766559;
  r->spare = rad * sin(two_pi * u2);
  r->has_spare = true;
  return rad * cos(two_pi * u2);
}

double qcc_rng_sign(qcc_rng *r) { return (qcc_rng_u64(r) >> 63) ? -1.0 : 1.0; }
