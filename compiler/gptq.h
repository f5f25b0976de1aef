/* gptq.h - GPTQ weight rounding with fixed ("static") group scales.
 *
 * Frantar, Ashkboos, Hoefler, Alistarh, "GPTQ: Accurate Post-Training
 * Quantization for Generative Pre-trained Transformers", ICLR 2023
 * (arXiv 2210.17323).
 *
 * Problem.  A linear layer y = x W^T with W [rows = N output channels] x
 * [cols = K input features] is quantized to W^ = s * codes, with a scale
 * s[r, g] per row r and group g of G consecutive input columns (G = K:
 * per output channel) chosen beforehand by the caller, and integer codes in
 * [qmin, qmax].  Given calibration inputs X (tokens x K) and the Hessian of
 * the layer-wise loss H = X^T X (K x K), GPTQ picks codes that keep
 *     ||X (W - W^)^T||^2 = sum_r (w_r - w^_r) H (w_r - w^_r)^T
 * small, instead of rounding each weight to its nearest code (RTN).
 *
 * Algorithm (each row independently; all rows share U):
 *  1. Dead inputs: a column i with H_ii = 0 never sees a nonzero input;
 *     set H_ii = 1 and W[:, i] = 0 (its codes become 0).
 *  2. act_order (optional): process the columns by decreasing H_ii (ties
 *     by index); the scale of a weight is still the one of its original
 *     group, which is what makes the groups "static".
 *  3. Dampening: H += lambda I with lambda = damp * mean(diag H).
 *  4. U = the upper Cholesky factor of H^-1 (H^-1 = U^T U): Cholesky
 *     H = L L^T, H^-1 = L^-T L^-1, then Cholesky of H^-1.  Row i of U,
 *     divided by U_ii, is the optimal update of the not yet quantized
 *     weights when weight i is fixed (OBS with the inverse Hessian of the
 *     remaining columns, all of which the Cholesky rows encode at once).
 *  5. Columns i = 0..K-1 in blocks of block_size ("lazy batch"): within
 *     a block, for each column i
 *         q_i  = clamp(round_half_even(w_i / s), qmin, qmax)
 *         e_i  = (w_i - s q_i) / U_ii
 *         w_j -= e_i U_ij            for the later columns j of the block;
 *     after the block, the columns past it get the whole block's update
 *     at once: w_j -= sum_i e_i U_ij (sum over the block's i in order).
 *     This is the same arithmetic as updating every later column after
 *     every column, regrouped (in exact arithmetic identical).
 *  The loss this produces is sum_i e_i^2 = sum_i (w_i - s q_i)^2 / U_ii^2
 *  over rows and columns (w_i as updated when column i is reached), which
 *  equals ||X (W - W^)^T||^2 for the damped H in exact arithmetic; it is
 *  returned in *loss.
 *
 * A scale of 0 gives codes 0 for its group (an all-zero group).  With
 * H = I (or any diagonal H) the updates vanish and GPTQ equals RTN. */
#ifndef QCC_GPTQ_H
#define QCC_GPTQ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The quantization grid of one weight matrix (shared by RTN and GPTQ). */
typedef struct qcc_wquant {
  int64_t rows;         /* N output channels */
  int64_t cols;         /* K input features */
  int64_t group_size;   /* G in [1, K]; the last group may be shorter */
  const double *scales; /* [rows, ceil(K / G)], each finite and >= 0 */
  int32_t qmin, qmax;   /* code range, -128 <= qmin < qmax <= 127
                           (int8 [-127, 127], int4 [-8, 7] or [-7, 7]) */
} qcc_wquant;

typedef struct qcc_gptq_options {
  double damp;        /* lambda = damp * mean(diag H), >= 0 */
  int64_t block_size; /* columns per lazy batch, >= 1 */
  bool act_order;     /* columns by decreasing H_ii */
} qcc_gptq_options;

/* damp 0.01, block_size 128, act_order false (the paper's defaults). */
qcc_gptq_options qcc_gptq_default_options(void);

/* GPTQ codes [rows, cols] for W [rows, cols] with Hessian H [cols, cols]
 * (symmetric; only its lower triangle and diagonal are read).  opt NULL
 * means the defaults; loss may be NULL.  False, with a one-line message in
 * err (err_cap bytes, err may be NULL), when the grid or options are
 * invalid, W or H has a non-finite entry, H (damped) or its inverse is not
 * numerically positive definite, or memory runs out; codes are then
 * unspecified. */
bool qcc_gptq(const qcc_wquant *q, const double *W, const double *H, const qcc_gptq_options *opt,
              int8_t *codes, double *loss, char *err, size_t err_cap);

/* Round to nearest: codes = clamp(round_half_even(W / s), qmin, qmax), 0
 * where s = 0.  False (message in err) for an invalid grid or a
 * non-finite W. */
bool qcc_rtn(const qcc_wquant *q, const double *W, int8_t *codes, char *err, size_t err_cap);

/* sum_r (w_r - w^_r) H (w_r - w^_r)^T with w^ = s * codes: the layer-wise
 * loss ||X (W - W^)^T||^2 when H = X^T X.  Sum order: rows in order, each
 * row's quadratic form as sum_i e_i (sum_j H_ij e_j), i and j increasing. */
double qcc_wquant_loss(const qcc_wquant *q, const double *W, const int8_t *codes, const double *H);

#endif
