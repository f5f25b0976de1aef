/* hadamard.c - Hadamard matrices H_m (x) Sylvester and the randomized
 * Hadamard rotation (see linalg.h for the constructions and the order of
 * the Kronecker factors, which the run-time kernel qrt_hadamard_f32
 * shares). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "rng.h"

enum paley_kind { PALEY_NONE, PALEY_I, PALEY_II };

/* q = p^e with p prime (e >= 1)? */
static bool prime_power(int64_t q, int64_t *p, int *e) {
  if (q < 2) return false;
  int64_t f = q;
  for (int64_t d = 2; d <= q / d; d++)
    if (q % d == 0) {
      f = d;
      break;
    }
  int k = 0;
  while (q % f == 0) q /= f, k++;
  if (q != 1) return false;
  *p = f;
  *e = k;
  return true;
}

/* Which Paley construction gives order m (m a multiple of 4), and its q. */
static enum paley_kind paley_kind(int64_t m, int64_t *q) {
  int64_t p;
  int e;
  if (m < 4 || m % 4) return PALEY_NONE;
  if ((m - 1) % 4 == 3 && prime_power(m - 1, &p, &e)) {
    *q = m - 1;
    return PALEY_I;
  }
  if ((m / 2 - 1) % 4 == 1 && prime_power(m / 2 - 1, &p, &e)) {
    *q = m / 2 - 1;
    return PALEY_II;
  }
  return PALEY_NONE;
}

bool qcc_hadamard_factor(int64_t n, int64_t *pow2, int64_t *m) {
  if (n < 1) return false;
  int a = 0;
  int64_t odd = n, q;
  while (odd % 2 == 0) odd /= 2, a++;
  if (odd == 1) {
    *pow2 = n;
    *m = 1;
    return true;
  }
  /* Hadamard orders above 2 are multiples of 4: try odd * 4, odd * 8, ... */
  for (int j = 2; j <= a; j++)
    if (paley_kind(odd << j, &q) != PALEY_NONE) {
      *m = odd << j;
      *pow2 = n / *m;
      return true;
    }
  return false;
}

const char *qcc_hadamard_why_not(int64_t n, char *buf, size_t cap) {
  int64_t pow2, m;
  if (qcc_hadamard_factor(n, &pow2, &m)) return NULL;
  if (n < 1) {
    snprintf(buf, cap, "Hadamard order %lld is not positive", (long long)n);
  } else if (n % 4) {
    snprintf(buf, cap, "no Hadamard matrix of order %lld exists (orders above 2 are multiples of 4)",
             (long long)n);
  } else {
    int64_t odd = n;
    while (odd % 2 == 0) odd /= 2;
    snprintf(buf, cap,
             "no built-in Hadamard matrix of order %lld: none of the orders 2^j * %lld dividing it "
             "(j >= 2) is q+1 with q = 3 mod 4 or 2(q+1) with q = 1 mod 4, q a prime power (Paley)",
             (long long)n, (long long)odd);
  }
  return buf;
}

/* The quadratic character of GF(q), q = p^e, for each element numbered by
 * its coefficient vector (base-p digits) in GF(p)[x]/f.  f = x^e + c_{e-1}
 * x^{e-1} + ... + c_0 runs through the monic polynomials in the order of
 * c_0 + c_1 p + ...; the first one in which x has multiplicative order
 * q - 1 is taken.  Then the ring is a field (its q - 1 nonzero elements are
 * powers of x, hence units) and the nonzero squares are the even powers of
 * x.  chi[0] = 0, chi[x^j] = (-1)^j. */
static bool quadratic_character(int64_t q, int64_t p, int e, signed char *chi) {
  int64_t c[64], d[64];
  for (int64_t coef = 0; coef < q; coef++) {
    int64_t rest = coef;
    for (int i = 0; i < e; i++) c[i] = rest % p, rest /= p;
    if (c[0] == 0) continue; /* x divides f: x is a zero divisor */
    memset(chi, 0, (size_t)q);
    for (int i = 0; i < e; i++) d[i] = 0;
    d[0] = 1;
    int64_t idx = 1;
    bool primitive = true;
    for (int64_t j = 0; j < q - 1; j++) {
      if (idx == 0 || chi[idx] != 0) {
        primitive = false;
        break;
      }
      chi[idx] = (j % 2 == 0) ? 1 : -1;
      /* d <- d * x mod f: shift up, then x^e = -(c_0 + ... + c_{e-1} x^{e-1}). */
      const int64_t top = d[e - 1];
      for (int i = e - 1; i > 0; i--) d[i] = d[i - 1];
      d[0] = 0;
      idx = 0;
      for (int i = e - 1; i >= 0; i--) {
        d[i] = ((d[i] - top * c[i]) % p + p) % p;
        idx = idx * p + d[i];
      }
    }
    if (primitive && idx == 1) return true;
  }
  return false;
}

/* Jacobsthal matrix J[i, j] = chi(a_i - a_j) of GF(q), q x q. */
static bool jacobsthal(int64_t q, signed char *J) {
  int64_t p;
  int e;
  if (!prime_power(q, &p, &e)) return false;
  signed char *chi = malloc((size_t)q);
  int64_t *dig = malloc(sizeof(int64_t) * (size_t)(q * e));
  bool ok = chi && dig && quadratic_character(q, p, e, chi);
  if (ok) {
    for (int64_t a = 0; a < q; a++) {
      int64_t r = a;
      for (int i = 0; i < e; i++) dig[a * e + i] = r % p, r /= p;
    }
    for (int64_t a = 0; a < q; a++)
      for (int64_t b = 0; b < q; b++) {
        int64_t idx = 0;
        for (int i = e - 1; i >= 0; i--) idx = idx * p + (dig[a * e + i] - dig[b * e + i] + p) % p;
        J[a * q + b] = chi[idx];
      }
  }
  free(chi);
  free(dig);
  return ok;
}

/* The built-in H_m (m a Paley order) into Hm (m x m). */
static bool paley(int64_t m, double *Hm) {
  int64_t q;
  const enum paley_kind kind = paley_kind(m, &q);
  if (kind == PALEY_NONE) return false;
  signed char *J = malloc((size_t)(q * q));
  if (!J || !jacobsthal(q, J)) {
    free(J);
    return false;
  }
  if (kind == PALEY_I) {
    /* H = I + S, S = [[0, 1^T], [-1, J]] (J is antisymmetric for q = 3 mod 4). */
    for (int64_t i = 0; i <= q; i++)
      for (int64_t j = 0; j <= q; j++) {
        double v;
        if (i == j) v = 1;
        else if (i == 0) v = 1;
        else if (j == 0) v = -1;
        else v = J[(i - 1) * q + (j - 1)];
        Hm[i * m + j] = v;
      }
  } else {
    /* C = [[0, 1^T], [1, J]] is a symmetric conference matrix of order q+1
     * (C C^T = q I); H = C (x) [[1, 1], [1, -1]] + I (x) [[1, -1], [-1, -1]]. */
    static const double zero_block[2][2] = {{1, -1}, {-1, -1}}, one_block[2][2] = {{1, 1}, {1, -1}};
    for (int64_t i = 0; i <= q; i++)
      for (int64_t j = 0; j <= q; j++) {
        const int c = (i == j) ? 0 : (i == 0 || j == 0) ? 1 : J[(i - 1) * q + (j - 1)];
        for (int s = 0; s < 2; s++)
          for (int t = 0; t < 2; t++)
            Hm[(2 * i + s) * m + 2 * j + t] = c == 0 ? zero_block[s][t] : c * one_block[s][t];
      }
  }
  free(J);
  return true;
}

/* (-1)^popcount(x): the Sylvester entry S[b, d] with x = b & d. */
static double sylvester_sign(uint64_t x) {
  x ^= x >> 32;
  x ^= x >> 16;
  x ^= x >> 8;
  x ^= x >> 4;
  x ^= x >> 2;
  x ^= x >> 1;
  return (x & 1) ? -1.0 : 1.0;
}

bool qcc_hadamard(int64_t n, double *H) {
  int64_t pow2, m;
  if (!qcc_hadamard_factor(n, &pow2, &m)) return false;
  if (m == 1) {
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < n; j++) H[i * n + j] = sylvester_sign((uint64_t)(i & j));
    return true;
  }
  if (pow2 == 1) return paley(m, H);
  double *Hm = malloc(sizeof(double) * (size_t)(m * m));
  if (!Hm || !paley(m, Hm)) {
    free(Hm);
    return false;
  }
  for (int64_t a = 0; a < m; a++)
    for (int64_t b = 0; b < pow2; b++)
      for (int64_t c = 0; c < m; c++)
        for (int64_t d = 0; d < pow2; d++)
          H[(a * pow2 + b) * n + c * pow2 + d] = Hm[a * m + c] * sylvester_sign((uint64_t)(b & d));
  free(Hm);
  return true;
}

void qcc_random_signs(int64_t n, uint64_t seed, double *s) {
  qcc_rng r = qcc_rng_seed(seed);
  for (int64_t i = 0; i < n; i++) s[i] = qcc_rng_sign(&r);
}

bool qcc_random_hadamard(int64_t n, uint64_t seed, double *Q) {
  double *s = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  if (!s || !qcc_hadamard(n, Q)) {
    free(s);
    return false;
  }
  qcc_random_signs(n, seed, s);
  const double inv_sqrt_n = 1.0 / sqrt((double)n);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++) Q[i * n + j] *= s[j] * inv_sqrt_n;
  free(s);
  return true;
}
