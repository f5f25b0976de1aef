/* weight_algebra.h - what the passes that fold a transform into weights
 * (rotate.c: rotations; smooth.c: per-channel scales) share: constants
 * read and written as double matrices, and per-channel statistics of chosen
 * values over the calibration set. */
#ifndef QCC_WEIGHT_ALGEBRA_H
#define QCC_WEIGHT_ALGEBRA_H
#include "calib_data.h"
#include "name_map.h"
#include "qcc.h"

/* ---- constants as double matrices ---- */
typedef struct qcc_mat {
  int64_t r, c;
  double *v; /* r * c values, row-major; the caller frees */
} qcc_mat;

/* The constant v as an r x c matrix (c = the last dim, r = all leading
 * dims); {0, 0, NULL} when v is not a constant. */
qcc_mat qcc_mat_read(MlirValue v);
/* Replaces operand idx of op by a new f32 constant of the old shape holding
 * m's values. */
void qcc_mat_write(MlirOperation op, int idx, const qcc_mat *m);
/* A new f32 constant [n] of v, before `before`. */
MlirValue qcc_vector_const(MlirOperation before, const double *v, int64_t n);
/* Rows of m (each of m.c values) times the c x c matrix Q, in place. */
void qcc_mat_rows_times(qcc_mat *m, const double *Q);
/* The weight W [d, N] of matmul mm <- A W, A a d x d matrix (diag or Q^T). */
void qcc_reader_left(MlirOperation mm, const double *A);

/* ---- per-channel statistics over the calibration set ---- */
typedef struct qcc_chan_stats {
  int64_t d;      /* the last dim: statistics per channel */
  double *absmax; /* [d] */
  double *cov;    /* [d * d] second moment sum x^T x, or NULL */
  double *sum;    /* [d] */
  double *sq;     /* [d] sum of squares per channel */
  double n_rows, sumsq, maxabs;
} qcc_chan_stats;

typedef struct qcc_chan_stats_set {
  qcc_ptr_map by_value; /* MlirValue.ptr -> qcc_chan_stats* */
} qcc_chan_stats_set;

/* The statistics of v in set, created empty (with the covariance when cov)
 * the first time; the set's map must have been initialised. */
qcc_chan_stats *qcc_chan_stats_want(qcc_chan_stats_set *set, MlirValue v, bool cov);
/* Runs the module on every calibration sample, accumulating the statistics
 * of every value in set; -1 after an error message. */
int qcc_chan_stats_run(MlirModule m, const qcc_calib_set *calib, qcc_chan_stats_set *set);
void qcc_chan_stats_free(qcc_chan_stats_set *set);

#endif
