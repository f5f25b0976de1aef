/* linalg.c - random orthogonal matrices, the Jacobi eigensolver, Cholesky
 * and the small dense helpers of linalg.h (Hadamard matrices are in
 * hadamard.c). */
#include "linalg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

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

/* ---- symmetric eigenproblem (cyclic Jacobi) --------------------------- */

enum { JACOBI_MAX_SWEEPS = 100 };

/* One Jacobi rotation in the (p, q) plane zeroing a[p, q] (Numerical
 * Recipes' formulation: theta = (a_qq - a_pp) / (2 a_pq), t = tan of the
 * rotation angle, the smaller root of t^2 + 2 t theta - 1 = 0).  vt holds
 * the eigenvectors as rows. */
static void jacobi_rotate(int64_t n, double *a, double *vt, int64_t p, int64_t q) {
  const double apq = a[p * n + q], app = a[p * n + p], aqq = a[q * n + q];
  const double theta = (aqq - app) / (2.0 * apq);
  double t;
  if (fabs(theta) > 1e150) {
    t = 0.5 / theta; /* theta^2 would overflow; t ~ 1 / (2 theta) */
  } else {
    t = 1.0 / (fabs(theta) + sqrt(theta * theta + 1.0));
    if (theta < 0) t = -t;
  }
  const double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
  for (int64_t k = 0; k < n; k++) {
    if (k == p || k == q) continue;
    const double akp = a[p * n + k], akq = a[q * n + k];
    a[p * n + k] = a[k * n + p] = c * akp - s * akq;
    a[q * n + k] = a[k * n + q] = s * akp + c * akq;
  }
  a[p * n + p] = app - t * apq;
  a[q * n + q] = aqq + t * apq;
  a[p * n + q] = a[q * n + p] = 0.0;
  for (int64_t k = 0; k < n; k++) {
    const double vp = vt[p * n + k], vq = vt[q * n + k];
    vt[p * n + k] = c * vp - s * vq;
    vt[q * n + k] = s * vp + c * vq;
  }
}

bool qcc_sym_eigen(int64_t n, const double *A, double *w, double *V) {
  double *a = alloc_doubles(n * n), *vt = alloc_doubles(n * n);
  int64_t *order = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  bool converged = false;
  if (a && vt && order) {
    double fro2 = 0;
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = i; j < n; j++) {
        a[i * n + j] = a[j * n + i] = A[i * n + j];
        fro2 += (i == j ? 1.0 : 2.0) * A[i * n + j] * A[i * n + j];
      }
    for (int64_t i = 0; i < n * n; i++) vt[i] = 0;
    for (int64_t i = 0; i < n; i++) vt[i * n + i] = 1;
    const double tol2 = 1e-28 * fro2; /* (1e-14 ||A||_F)^2 */
    for (int sweep = 0; sweep <= JACOBI_MAX_SWEEPS && !converged; sweep++) {
      double off2 = 0;
      for (int64_t p = 0; p < n; p++)
        for (int64_t q = p + 1; q < n; q++) off2 += 2.0 * a[p * n + q] * a[p * n + q];
      if (off2 <= tol2) {
        converged = true;
        break;
      }
      if (sweep == JACOBI_MAX_SWEEPS) break;
      for (int64_t p = 0; p < n; p++)
        for (int64_t q = p + 1; q < n; q++)
          if (a[p * n + q] != 0.0) jacobi_rotate(n, a, vt, p, q);
    }
  }
  if (converged) {
    /* Stable insertion sort of the indices by descending eigenvalue. */
    for (int64_t i = 0; i < n; i++) {
      int64_t j = i;
      while (j > 0 && a[order[j - 1] * n + order[j - 1]] < a[i * n + i]) {
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
      w[j] = a[order[j] * n + order[j]];
      for (int64_t i = 0; i < n; i++) V[i * n + j] = flip * v[i];
    }
  }
  free(a);
  free(vt);
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

void qcc_gram_accumulate(int64_t rows, int64_t k, const float *X, double *G) {
  for (int64_t r = 0; r < rows; r++) {
    const float *x = X + r * k;
    for (int64_t i = 0; i < k; i++) {
      const double xi = x[i];
      double *g = G + i * k;
      for (int64_t j = i; j < k; j++) g[j] += xi * (double)x[j];
    }
  }
  for (int64_t i = 0; i < k; i++)
    for (int64_t j = i + 1; j < k; j++) G[j * k + i] = G[i * k + j];
}
