/* linalg.h - dense double-precision linear algebra for the compiler's
 * rotation passes (QuaRot / SpinQuant / KLT rotations, GPTQ).
 *
 * Conventions: matrices are row-major, element (i, j) of an r x c matrix
 * at A[i*c + j]; every buffer is caller-owned and sized by the caller;
 * outputs never alias inputs unless a function says so.  Functions that
 * need work memory allocate it and return false when that fails.  Sums run
 * in a fixed order (stated per function), so results are deterministic for
 * a given build.
 *
 * Hadamard matrices (hadamard.c)
 * ------------------------------
 * A Hadamard matrix H of order n has entries +-1 and H H^T = n I, so
 * H / sqrt(n) is orthogonal.  qcc builds order n = 2^k * m as the
 * Kronecker product
 *
 *     H_n = H_m (x) H_{2^k},     H_n[a*2^k + b, c*2^k + d] = H_m[a, c] * S[b, d]
 *
 * with S the Sylvester matrix S[b, d] = (-1)^popcount(b & d) (S_1 = [1],
 * S_2p = [[S_p, S_p], [S_p, -S_p]]) and H_m one of the built-in orders:
 *   m = 1              (n a power of two: Sylvester alone);
 *   m = q + 1          Paley construction I, q a prime power = 3 (mod 4):
 *                      H_m = I + [[0, 1^T], [-1, J]];
 *   m = 2 (q + 1)      Paley construction II, q a prime power = 1 (mod 4):
 *                      C = [[0, 1^T], [1, J]], each 0 of C replaced by
 *                      [[1, -1], [-1, -1]] and each +-1 by +-[[1, 1], [1, -1]];
 * where J[i, j] = chi(a_i - a_j) is the Jacobsthal matrix of GF(q) (chi the
 * quadratic character: 0 at 0, +1 on nonzero squares, -1 otherwise; the
 * elements a_i of GF(p^e) are numbered by their coefficient vectors over
 * GF(p) in base p, in the representation GF(p)[x]/f with f the first
 * primitive polynomial in that numbering).  Paley I is tried before II.
 * For n the smallest such m is used (m = 2^j * odd(n), j = 2, 3, ...), which
 * keeps the dense m x m part of the run-time transform small.
 * Orders below 256 that this leaves out: 92, 116, 156, 172, 184, 188, 232,
 * 236 (Williamson-type orders; test_linalg prints the list), besides the
 * orders where no Hadamard matrix exists (odd n > 1 and n = 2 mod 4, n > 2).
 *
 * The run-time kernel qrt_hadamard_f32 computes y = x (H_m (x) H_{2^k}) with
 * the same H_m (given as an int8 [m, m] input, built by qcc_hadamard(m)),
 * so weights can absorb H_n^T / n exactly as this header builds it. */
#ifndef QCC_LINALG_H
#define QCC_LINALG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Hadamard matrices (hadamard.c) ---------------------------------- */

/* n = pow2 * m with pow2 a power of two and m = 1 or the built-in order
 * qcc_hadamard uses for n; false if n has no construction here. */
bool qcc_hadamard_factor(int64_t n, int64_t *pow2, int64_t *m);
/* NULL when qcc_hadamard supports n; otherwise a one-line reason written
 * into buf (cap bytes) and returned. */
const char *qcc_hadamard_why_not(int64_t n, char *buf, size_t cap);
/* Fills the n x n matrix H_n described above (entries exactly +-1.0);
 * false if n is unsupported or memory runs out.  qcc_hadamard(m) for the m
 * of qcc_hadamard_factor(n) is the H_m factor of H_n. */
bool qcc_hadamard(int64_t n, double *H);
/* s[i] = qcc_rng_sign of a generator seeded with seed, i = 0..n-1. */
void qcc_random_signs(int64_t n, uint64_t seed, double *s);
/* Randomized Hadamard rotation Q = H_n diag(s) / sqrt(n) with
 * s = qcc_random_signs(n, seed): orthogonal, Q[i, j] = H_n[i, j] s[j] / sqrt(n).
 * False as qcc_hadamard. */
bool qcc_random_hadamard(int64_t n, uint64_t seed, double *Q);

/* ---- orthogonal matrices and symmetric eigenproblems (linalg.c) ------- */

/* A Haar-distributed random orthogonal n x n matrix: G with i.i.d. standard
 * normal entries (qcc_rng_gaussian, seeded with seed, filled row-major),
 * Householder QR G = Q R, then Q <- Q diag(sign(R_ii)) so that R has a
 * positive diagonal (without that fix Q is not Haar: Mezzadri 2007).
 * False if memory runs out. */
bool qcc_random_orthogonal(int64_t n, uint64_t seed, double *Q);

/* Eigendecomposition of a symmetric n x n matrix A = V diag(w) V^T by the
 * Householder reduction to tridiagonal form and the implicit QL algorithm
 * (EISPACK tred2/tql2): A V = V diag(w) holds to ~1e-14 n ||A||; O(n^3),
 * about 9 n^3 flops (seconds at n = 1024).
 * Only the upper triangle of A is read.  w: eigenvalues in descending order
 * (equal values keep the order of their diagonal positions); V: the
 * orthonormal eigenvectors as columns (V[i*n + j] is component i of vector
 * j), each with its largest-magnitude component positive (the first
 * component within 1e-9 relative of the largest, so the choice does not
 * hinge on rounding when several are equally large).  For a repeated
 * eigenvalue the basis of its eigenspace is deterministic but arbitrary.
 * False if it did not converge or memory runs out. */
bool qcc_sym_eigen(int64_t n, const double *A, double *w, double *V);

/* Cholesky factorization in place: the lower triangle of the n x n
 * symmetric A becomes L with A = L L^T, the strict upper triangle is set to
 * 0; only the lower triangle is read.  Returns -1 on success, else the
 * first pivot index j whose pivot A_jj - sum_k L_jk^2 is not a positive
 * finite number (A not numerically positive definite; A is then partly
 * overwritten). */
int64_t qcc_cholesky(int64_t n, double *A);
/* Inverse of a lower-triangular n x n L with nonzero diagonal, in place
 * (the result is lower triangular). */
void qcc_lower_inverse(int64_t n, double *L);

/* ---- small dense helpers (linalg.c) -----------------------------------
 * Each C element is the sum over k in increasing order starting from 0.0.
 * C must not alias A or B. */
/* C (m x n) = A (m x k) B (k x n). */
void qcc_mat_mul(int64_t m, int64_t k, int64_t n, const double *A, const double *B, double *C);
/* C (m x n) = A (m x k) B^T, B stored n x k. */
void qcc_mat_mul_nt(int64_t m, int64_t k, int64_t n, const double *A, const double *B, double *C);
/* C (m x n) = A^T B, A stored k x m, B stored k x n. */
void qcc_mat_mul_tn(int64_t m, int64_t k, int64_t n, const double *A, const double *B, double *C);
/* Kronecker product C = A (x) B, A ra x ca, B rb x cb, C (ra rb) x (ca cb):
 * C[i*rb + k, j*cb + l] = A[i, j] B[k, l]. */
void qcc_kron(int64_t ra, int64_t ca, const double *A, int64_t rb, int64_t cb, const double *B,
              double *C);
/* max |Q^T Q - I| over all entries, Q n x n (INFINITY if memory runs out). */
double qcc_orthogonality_error(int64_t n, const double *Q);
/* G (k x k) += X^T X for X rows x k in float: the calibration Gram matrix
 * (GPTQ Hessian, KLT covariance) accumulated batch by batch.  For j >= i,
 * G[i, j] += (double)X[r, i] * X[r, j] for r in increasing order (products
 * exact in double).  Only the upper triangle is defined (start from
 * zeros); after the last batch qcc_gram_mirror copies it to the lower one
 * (once, not per batch: a k^2 column-order walk per batch of a few dozen
 * rows cost as much as the products). */
void qcc_gram_accumulate(int64_t rows, int64_t k, const float *X, double *G);
void qcc_gram_mirror(int64_t k, double *G);

#endif
