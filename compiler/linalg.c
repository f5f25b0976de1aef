/* linalg.c - random orthogonal matrices, the Jacobi eigensolver, Cholesky
 * and the small dense helpers of linalg.h (Hadamard matrices are in
 * hadamard.c). */
#include "linalg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_features.h"
#include "rng.h"
#include "simd_clones.h"

static double *alloc_doubles(int64_t count) {
  return malloc(sizeof(double) * (size_t)(count > 0 ? count : 1));
}

/* ---- random orthogonal ----------------------------------------------- */

bool qcc_random_orthogonal(int64_t n, uint64_t seed, double *Q) {
  double *A = alloc_doubles(n * n), *V = alloc_doubles(n * n);
  double *beta = alloc_doubles(n), *sign = alloc_doubles(n), *w = alloc_doubles(n);
  bool ok = A && V && beta && sign && w;
  if (ok) {
    qcc_rng r = qcc_rng_seed(seed);
    for (int64_t i = 0; i < n * n; i++) A[i] = qcc_rng_gaussian(&r);
    /* Householder QR: step k reflects column k below the diagonal onto
     * alpha e_k with alpha = -sign(x_0) ||x|| (no cancellation in v_0), so
     * R_kk = alpha; v is kept in row k of V, H_k = I - beta v v^T. */
    for (int64_t k = 0; k < n; k++) {
      double norm2 = 0;
      for (int64_t i = k; i < n; i++) norm2 += A[i * n + k] * A[i * n + k];
      const double x0 = A[k * n + k];
      const double alpha = x0 >= 0 ? -sqrt(norm2) : sqrt(norm2);
      double vnorm2 = 0;
      for (int64_t i = k; i < n; i++) {
        V[k * n + i] = A[i * n + k] - (i == k ? alpha : 0.0);
        vnorm2 += V[k * n + i] * V[k * n + i];
      }
      beta[k] = vnorm2 > 0 ? 2.0 / vnorm2 : 0.0;
      sign[k] = alpha < 0 ? -1.0 : 1.0;
      /* A[k:, k+1:] -= beta v (v^T A[k:, k+1:]) */
      for (int64_t j = k + 1; j < n; j++) w[j] = 0;
      for (int64_t i = k; i < n; i++)
        for (int64_t j = k + 1; j < n; j++) w[j] += V[k * n + i] * A[i * n + j];
      for (int64_t i = k; i < n; i++)
        for (int64_t j = k + 1; j < n; j++) A[i * n + j] -= beta[k] * V[k * n + i] * w[j];
    }
    /* Q = H_0 H_1 ... H_{n-1}, applied to I from the last reflector on;
     * while H_k is applied, columns < k of rows >= k are still zero. */
    for (int64_t i = 0; i < n * n; i++) Q[i] = 0;
    for (int64_t i = 0; i < n; i++) Q[i * n + i] = 1;
    for (int64_t k = n - 1; k >= 0; k--) {
      for (int64_t j = k; j < n; j++) w[j] = 0;
      for (int64_t i = k; i < n; i++)
        for (int64_t j = k; j < n; j++) w[j] += V[k * n + i] * Q[i * n + j];
      for (int64_t i = k; i < n; i++)
        for (int64_t j = k; j < n; j++) Q[i * n + j] -= beta[k] * V[k * n + i] * w[j];
    }
    /* G = (Q D)(D R) with D = diag(sign(R_kk)): D R has a positive diagonal. */
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < n; j++) Q[i * n + j] *= sign[j];
  }
  free(A);
  free(V);
  free(beta);
  free(sign);
  free(w);
  return ok;
}

/* ---- symmetric eigenproblem (Householder tridiagonalization + QL) ------
 *
 * The EISPACK pair tred2/tql2 (as in JAMA): Householder reflections reduce
 * A to a tridiagonal matrix (d: diagonal, e: off-diagonal) and accumulate
 * them, then the QL algorithm with implicit Wilkinson-like shifts
 * diagonalizes it, applying each plane rotation to the accumulated
 * vectors.  About 9 n^3 flops in all, against 6-10 sweeps of 4 n^3 for
 * cyclic Jacobi with far worse memory access (KLT of a 1024-wide MLP
 * input took minutes).  The vectors are kept as rows of W (W = V^T):
 * every inner loop then walks contiguous memory. */

enum { QL_MAX_ITERATIONS = 64 }; /* per eigenvalue; 1-2 in practice */

/* tred2's product step for row i: for j < i in order,
 *   g_j = e[j] + V(j, j) d[j] + sum_{k=j+1}^{i-1} V(k, j) d[k],
 *   e[k] += V(k, j) d[j] for k in (j, i),  then e[j] = g_j,  V(j, i) = d[j].
 * Each g_j is one serial chain of adds (its latency bound the eigensolver),
 * so columns go HH_BLOCK at a time: the block's own triangle in the
 * original order, then one loop over the rows below it that advances the
 * HH_BLOCK chains side by side and adds the block's terms to e[k] in j
 * order.  Every sum keeps its order, so the bits are those of the plain
 * loop. */
enum { HH_BLOCK = 4 };

QCC_INLINE void symmetric_product_block(int64_t n, double *W, int64_t i, const double *d, double *e) {
#define V(r, c) W[(c) * n + (r)]
  int64_t j0 = 0;
  for (; j0 + HH_BLOCK <= i; j0 += HH_BLOCK) {
    double g[HH_BLOCK];
    const int64_t j_end = j0 + HH_BLOCK;
    for (int64_t j = j0; j < j_end; j++) { /* the triangle k < j_end */
      const double f = d[j];
      V(j, i) = f;
      g[j - j0] = e[j] + V(j, j) * f;
      for (int64_t k = j + 1; k < j_end; k++) {
        g[j - j0] += V(k, j) * d[k];
        e[k] += V(k, j) * f;
      }
    }
    const double *v0 = &V(0, j0), *v1 = &V(0, j0 + 1), *v2 = &V(0, j0 + 2), *v3 = &V(0, j0 + 3);
    const double f0 = d[j0], f1 = d[j0 + 1], f2 = d[j0 + 2], f3 = d[j0 + 3];
    double g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3];
    for (int64_t k = j_end; k <= i - 1; k++) {
      const double dk = d[k];
      g0 += v0[k] * dk;
      g1 += v1[k] * dk;
      g2 += v2[k] * dk;
      g3 += v3[k] * dk;
      double t = e[k];
      t += v0[k] * f0;
      t += v1[k] * f1;
      t += v2[k] * f2;
      t += v3[k] * f3;
      e[k] = t;
    }
    e[j0] = g0;
    e[j0 + 1] = g1;
    e[j0 + 2] = g2;
    e[j0 + 3] = g3;
  }
  for (int64_t j = j0; j < i; j++) {
    const double f = d[j];
    V(j, i) = f;
    double g = e[j] + V(j, j) * f;
    for (int64_t k = j + 1; k <= i - 1; k++) {
      g += V(k, j) * d[k];
      e[k] += V(k, j) * f;
    }
    e[j] = g;
  }
#undef V
}

QCC_CLONES static void householder_tridiagonal(int64_t n, double *W, double *d, double *e) {
#define V(r, c) W[(c) * n + (r)]
  for (int64_t j = 0; j < n; j++) d[j] = V(n - 1, j);
  for (int64_t i = n - 1; i > 0; i--) {
    double scale = 0, h = 0;
    for (int64_t k = 0; k < i; k++) scale += fabs(d[k]);
    if (scale == 0) {
      e[i] = d[i - 1];
      for (int64_t j = 0; j < i; j++) {
        d[j] = V(i - 1, j);
        V(i, j) = 0;
        V(j, i) = 0;
      }
    } else {
      for (int64_t k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      double f = d[i - 1], g = sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (int64_t j = 0; j < i; j++) e[j] = 0;
      symmetric_product_block(n, W, i, d, e);
      f = 0;
      for (int64_t j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const double hh = f / (h + h);
      for (int64_t j = 0; j < i; j++) e[j] -= hh * d[j];
      for (int64_t j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (int64_t k = j; k <= i - 1; k++) V(k, j) -= f * e[k] + g * d[k];
        d[j] = V(i - 1, j);
        V(i, j) = 0;
      }
    }
    d[i] = h;
  }
  /* accumulate the reflections */
  for (int64_t i = 0; i < n - 1; i++) {
    V(n - 1, i) = V(i, i);
    V(i, i) = 1;
    const double h = d[i + 1];
    if (h != 0) {
      for (int64_t k = 0; k <= i; k++) d[k] = V(k, i + 1) / h;
      /* column j's dot product reads only columns j and i + 1, which no
       * other column's update writes: HH_BLOCK serial chains side by side,
       * each sum in its order (the same bits as one column at a time) */
      const double *u = &V(0, i + 1);
      int64_t j = 0;
      for (; j + HH_BLOCK <= i + 1; j += HH_BLOCK) {
        double *c0 = &V(0, j), *c1 = &V(0, j + 1), *c2 = &V(0, j + 2), *c3 = &V(0, j + 3);
        double g0 = 0, g1 = 0, g2 = 0, g3 = 0;
        for (int64_t k = 0; k <= i; k++) {
          g0 += u[k] * c0[k];
          g1 += u[k] * c1[k];
          g2 += u[k] * c2[k];
          g3 += u[k] * c3[k];
        }
        for (int64_t k = 0; k <= i; k++) {
          c0[k] -= g0 * d[k];
          c1[k] -= g1 * d[k];
          c2[k] -= g2 * d[k];
          c3[k] -= g3 * d[k];
        }
      }
      for (; j <= i; j++) {
        double g = 0;
        for (int64_t k = 0; k <= i; k++) g += V(k, i + 1) * V(k, j);
        for (int64_t k = 0; k <= i; k++) V(k, j) -= g * d[k];
      }
    }
    for (int64_t k = 0; k <= i; k++) V(k, i + 1) = 0;
  }
  for (int64_t j = 0; j < n; j++) {
    d[j] = V(n - 1, j);
    V(n - 1, j) = 0;
  }
  V(n - 1, n - 1) = 1;
  e[0] = 0;
#undef V
}

/* Diagonalizes the tridiagonal (d, e) in place, rotating W's rows along;
 * false if an eigenvalue needs more than QL_MAX_ITERATIONS. */
QCC_CLONES static bool tridiagonal_ql(int64_t n, double *W, double *d, double *e) {
  for (int64_t i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  double f = 0, tst1 = 0;
  const double eps = 0x1p-52;
  for (int64_t l = 0; l < n; l++) {
    tst1 = fmax(tst1, fabs(d[l]) + fabs(e[l]));
    int64_t m = l;
    while (m < n && fabs(e[m]) > eps * tst1) m++;
    if (m == n) m = n - 1; /* e[n - 1] == 0: never reached */
    if (m > l) {
      int iter = 0;
      do {
        if (++iter > QL_MAX_ITERATIONS) return false;
        double g = d[l], p = (d[l + 1] - g) / (2.0 * e[l]), r = hypot(p, 1.0);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const double dl1 = d[l + 1];
        double h = g - d[l];
        for (int64_t i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        double c = 1, c2 = 1, c3 = 1, s = 0, s2 = 0;
        const double el1 = e[l + 1];
        for (int64_t i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          double *wi = W + i * n, *wi1 = W + (i + 1) * n;
          for (int64_t k = 0; k < n; k++) {
            const double t = wi1[k];
            wi1[k] = s * wi[k] + c * t;
            wi[k] = c * wi[k] - s * t;
          }
        }
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (fabs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
  return true;
}

bool qcc_sym_eigen(int64_t n, const double *A, double *w, double *V) {
  double *vt = alloc_doubles(n * n), *d = alloc_doubles(n), *e = alloc_doubles(n);
  int64_t *order = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  bool converged = n == 0;
  if (n > 0 && vt && d && e && order) {
    for (int64_t i = 0; i < n; i++) /* the upper triangle, mirrored (A = A^T = W) */
      for (int64_t j = i; j < n; j++) vt[i * n + j] = vt[j * n + i] = A[i * n + j];
    householder_tridiagonal(n, vt, d, e);
    converged = tridiagonal_ql(n, vt, d, e);
  }
  if (converged) {
    /* Stable insertion sort of the indices by descending eigenvalue. */
    for (int64_t i = 0; i < n; i++) {
      int64_t j = i;
      while (j > 0 && d[order[j - 1]] < d[i]) {
        order[j] = order[j - 1];
        j--;
      }
      order[j] = i;
    }
    for (int64_t j = 0; j < n; j++) {
      const double *v = vt + order[j] * n;
      double maxabs = 0;
      for (int64_t i = 0; i < n; i++) maxabs = fmax(maxabs, fabs(v[i]));
      int64_t lead = 0;
      while (lead < n - 1 && fabs(v[lead]) < maxabs * (1.0 - 1e-9)) lead++;
      const double flip = v[lead] < 0 ? -1.0 : 1.0;
      w[j] = d[order[j]];
      for (int64_t i = 0; i < n; i++) V[i * n + j] = flip * v[i];
    }
  }
  free(vt);
  free(d);
  free(e);
  free(order);
  return converged;
}

/* ---- Cholesky and triangular inverse --------------------------------- */

int64_t qcc_cholesky(int64_t n, double *A) {
  for (int64_t j = 0; j < n; j++) {
    double d = A[j * n + j];
    for (int64_t k = 0; k < j; k++) d -= A[j * n + k] * A[j * n + k];
    if (!(d > 0 && d < INFINITY)) return j; /* also NaN, and inf from an overflow upstream */
    const double ljj = sqrt(d);
    A[j * n + j] = ljj;
    for (int64_t i = j + 1; i < n; i++) {
      double s = A[i * n + j];
      for (int64_t k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
      A[i * n + j] = s / ljj;
    }
  }
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = i + 1; j < n; j++) A[i * n + j] = 0;
  return -1;
}

/* X = L^-1 column by column, left to right: X_jj = 1 / L_jj and for i > j
 * X_ij = -(sum_{k=j}^{i-1} L_ik X_kj) / L_ii.  Column j only reads columns
 * >= j of L, which later columns have not overwritten yet. */
void qcc_lower_inverse(int64_t n, double *L) {
  for (int64_t j = 0; j < n; j++) {
    const double ljj = L[j * n + j];
    L[j * n + j] = 1.0 / ljj;
    for (int64_t i = j + 1; i < n; i++) {
      double s = L[i * n + j] * L[j * n + j];
      for (int64_t k = j + 1; k < i; k++) s += L[i * n + k] * L[k * n + j];
      L[i * n + j] = -s / L[i * n + i];
    }
  }
}

/* ---- small dense helpers --------------------------------------------- */

void qcc_mat_mul(int64_t m, int64_t k, int64_t n, const double *A, const double *B, double *C) {
  for (int64_t i = 0; i < m; i++) {
    double *c = C + i * n;
    for (int64_t j = 0; j < n; j++) c[j] = 0;
    for (int64_t t = 0; t < k; t++) {
      const double a = A[i * k + t];
      const double *b = B + t * n;
      for (int64_t j = 0; j < n; j++) c[j] += a * b[j];
    }
  }
}

void qcc_mat_mul_nt(int64_t m, int64_t k, int64_t n, const double *A, const double *B, double *C) {
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double s = 0;
      for (int64_t t = 0; t < k; t++) s += A[i * k + t] * B[j * k + t];
      C[i * n + j] = s;
    }
}

void qcc_mat_mul_tn(int64_t m, int64_t k, int64_t n, const double *A, const double *B, double *C) {
  for (int64_t i = 0; i < m * n; i++) C[i] = 0;
  for (int64_t t = 0; t < k; t++)
    for (int64_t i = 0; i < m; i++) {
      const double a = A[t * m + i];
      const double *b = B + t * n;
      double *c = C + i * n;
      for (int64_t j = 0; j < n; j++) c[j] += a * b[j];
    }
}

void qcc_kron(int64_t ra, int64_t ca, const double *A, int64_t rb, int64_t cb, const double *B,
              double *C) {
  const int64_t cols = ca * cb;
  for (int64_t i = 0; i < ra; i++)
    for (int64_t k = 0; k < rb; k++)
      for (int64_t j = 0; j < ca; j++)
        for (int64_t l = 0; l < cb; l++) C[(i * rb + k) * cols + j * cb + l] = A[i * ca + j] * B[k * cb + l];
}

double qcc_orthogonality_error(int64_t n, const double *Q) {
  double *row = alloc_doubles(n);
  if (!row) return INFINITY;
  double err = 0;
  for (int64_t i = 0; i < n; i++) {
    /* row = (Q^T Q)[i, :] = sum_k Q[k, i] Q[k, :] */
    for (int64_t j = 0; j < n; j++) row[j] = 0;
    for (int64_t k = 0; k < n; k++) {
      const double qki = Q[k * n + i];
      for (int64_t j = 0; j < n; j++) row[j] += qki * Q[k * n + j];
    }
    for (int64_t j = 0; j < n; j++) err = fmax(err, fabs(row[j] - (i == j ? 1.0 : 0.0)));
  }
  free(row);
  return err;
}

/* G += X^T X, upper triangle (qcc_gram_mirror fills the lower one).
 * Rows are taken GRAM_CHUNK at a time, converted to double and stored in
 * panels of GRAM_TILE_J columns (row after row within a panel: a tile then
 * reads consecutive lines, where rows of a wide X, 4 KiB apart or more,
 * fought over one L1 set); G is updated in GRAM_TILE_I x GRAM_TILE_J
 * tiles held in vector registers over the chunk's rows, so G (k^2
 * doubles, megabytes for wide layers) is streamed once per chunk.  Every
 * G element still adds its rows' products one by one in row order, so the
 * sums are the bits of row-at-a-time accumulation (the vector lanes are
 * different elements; QCC_CLONES picks AVX2 / AVX-512). */
enum { GRAM_CHUNK = 64, GRAM_TILE_I = 4, GRAM_TILE_J = 16 };
typedef double gram_vec __attribute__((vector_size(8 * sizeof(double))));

/* element (r, c) of the chunk's panels */
#define GRAM_AT(x, nr, r, c) (x)[((c) / GRAM_TILE_J) * (nr) * GRAM_TILE_J + (r) * GRAM_TILE_J + (c) % GRAM_TILE_J]

QCC_INLINE void gram_element(int64_t nr, const double *x, int64_t i, int64_t j, double *g) {
  double t = *g;
  for (int64_t r = 0; r < nr; r++) t += GRAM_AT(x, nr, r, i) * GRAM_AT(x, nr, r, j);
  *g = t;
}

/* G[i..i+3][j..j+15] over the chunk's nr rows (i a multiple of
 * GRAM_TILE_I, j of GRAM_TILE_J).  Elements below the diagonal
 * (j + b < i + a) are computed too; qcc_gram_mirror overwrites them.
 * For CPUs with AVX-512: 8 accumulator registers. */
QCC_INLINE void gram_tile(int64_t nr, int64_t k, const double *x, int64_t i, int64_t j, double *G) {
  enum { NV = GRAM_TILE_J / 8 };
  gram_vec acc[GRAM_TILE_I][NV];
  for (int a = 0; a < GRAM_TILE_I; a++)
    for (int b = 0; b < NV; b++) memcpy(&acc[a][b], G + (i + a) * k + j + 8 * b, sizeof(gram_vec));
  const double *pi = &GRAM_AT(x, nr, 0, i), *pj = &GRAM_AT(x, nr, 0, j);
  for (int64_t r = 0; r < nr; r++, pi += GRAM_TILE_J, pj += GRAM_TILE_J) {
    gram_vec xj[NV];
    for (int b = 0; b < NV; b++) memcpy(&xj[b], pj + 8 * b, sizeof(gram_vec));
    for (int a = 0; a < GRAM_TILE_I; a++)
      for (int b = 0; b < NV; b++) acc[a][b] += pi[a] * xj[b];
  }
  for (int a = 0; a < GRAM_TILE_I; a++)
    for (int b = 0; b < NV; b++) memcpy(G + (i + a) * k + j + 8 * b, &acc[a][b], sizeof(gram_vec));
}

/* gram_tile's G[i..i+3][j..j+7] (j a multiple of 8), in vectors of 4
 * doubles (8 AVX2 accumulator registers), for CPUs without AVX-512: there
 * GCC split gram_tile's 8-double vectors into 128-bit pieces assembled
 * lane by lane through the stack, 0.7-1 GMAC/s, and the AVX2 copy spent
 * 94% of a w8a8 + GPTQ compile of the outlier LM in it. The same sums in
 * the same order. */
typedef double gram_vec4 __attribute__((vector_size(4 * sizeof(double))));
/* unaligned loads and stores of it (memcpy into arrays of it went through
 * the stack in 16-byte halves: store-forwarding stalls) */
typedef double gram_vec4u __attribute__((vector_size(4 * sizeof(double)), aligned(sizeof(double)), may_alias));
QCC_INLINE void gram_tile_avx2(int64_t nr, int64_t k, const double *x, int64_t i, int64_t j, double *G) {
  double *g0 = G + i * k + j, *g1 = g0 + k, *g2 = g1 + k, *g3 = g2 + k;
  gram_vec4 a00 = *(const gram_vec4u *)g0, a01 = *(const gram_vec4u *)(g0 + 4);
  gram_vec4 a10 = *(const gram_vec4u *)g1, a11 = *(const gram_vec4u *)(g1 + 4);
  gram_vec4 a20 = *(const gram_vec4u *)g2, a21 = *(const gram_vec4u *)(g2 + 4);
  gram_vec4 a30 = *(const gram_vec4u *)g3, a31 = *(const gram_vec4u *)(g3 + 4);
  const double *pi = &GRAM_AT(x, nr, 0, i), *pj = &GRAM_AT(x, nr, 0, j);
  for (int64_t r = 0; r < nr; r++, pi += GRAM_TILE_J, pj += GRAM_TILE_J) {
    const gram_vec4 x0 = *(const gram_vec4u *)pj, x1 = *(const gram_vec4u *)(pj + 4);
    const gram_vec4 b0 = {pi[0], pi[0], pi[0], pi[0]}, b1 = {pi[1], pi[1], pi[1], pi[1]};
    const gram_vec4 b2 = {pi[2], pi[2], pi[2], pi[2]}, b3 = {pi[3], pi[3], pi[3], pi[3]};
    a00 += b0 * x0, a01 += b0 * x1;
    a10 += b1 * x0, a11 += b1 * x1;
    a20 += b2 * x0, a21 += b2 * x1;
    a30 += b3 * x0, a31 += b3 * x1;
  }
  *(gram_vec4u *)g0 = a00, *(gram_vec4u *)(g0 + 4) = a01;
  *(gram_vec4u *)g1 = a10, *(gram_vec4u *)(g1 + 4) = a11;
  *(gram_vec4u *)g2 = a20, *(gram_vec4u *)(g2 + 4) = a21;
  *(gram_vec4u *)g3 = a30, *(gram_vec4u *)(g3 + 4) = a31;
}

/* Whether the CPU has AVX-512 (gram_tile, else gram_tile_avx2). */
static bool gram_wide(void) {
#if defined(__x86_64__)
  return (qcc_cpu_features() & QCC_CPU_AVX512F) != 0;
#else
  return true;
#endif
}

QCC_CLONES void qcc_gram_accumulate(int64_t rows, int64_t k, const float *X, double *G) {
  const int64_t panels = (k + GRAM_TILE_J - 1) / GRAM_TILE_J;
  const bool wide = gram_wide();
  double *x = alloc_doubles(GRAM_CHUNK * panels * GRAM_TILE_J);
  if (!x) { /* out of memory: the same sums straight from X */
    for (int64_t r = 0; r < rows; r++)
      for (int64_t i = 0; i < k; i++)
        for (int64_t j = i; j < k; j++) G[i * k + j] += (double)X[r * k + i] * (double)X[r * k + j];
    return;
  }
  for (int64_t r0 = 0; r0 < rows; r0 += GRAM_CHUNK) {
    const int64_t nr = rows - r0 < GRAM_CHUNK ? rows - r0 : GRAM_CHUNK;
    for (int64_t r = 0; r < nr; r++)
      for (int64_t c = 0; c < k; c++) GRAM_AT(x, nr, r, c) = X[(r0 + r) * k + c];
    int64_t i = 0;
    for (; i + GRAM_TILE_I <= k; i += GRAM_TILE_I) {
      int64_t j = i - i % GRAM_TILE_J;
      for (; j + GRAM_TILE_J <= k; j += GRAM_TILE_J)
        if (wide) {
          gram_tile(nr, k, x, i, j, G);
        } else {
          gram_tile_avx2(nr, k, x, i, j, G);
          gram_tile_avx2(nr, k, x, i, j + 8, G);
        }
      for (; j < k; j++)
        for (int64_t a = i; a < i + GRAM_TILE_I && a <= j; a++) gram_element(nr, x, a, j, G + a * k + j);
    }
    for (; i < k; i++)
      for (int64_t j = i; j < k; j++) gram_element(nr, x, i, j, G + i * k + j);
  }
  free(x);
}

void qcc_gram_mirror(int64_t k, double *G) {
  for (int64_t i = 0; i < k; i++)
    for (int64_t j = i + 1; j < k; j++) G[j * k + i] = G[i * k + j];
}
