/* smooth.h - per-channel smoothing (SmoothQuant; smooth.c): the scales,
 * where 1/s can be folded, and the pass for --smooth without --rotate. */
#ifndef QCC_SMOOTH_H
#define QCC_SMOOTH_H
#include "qcc.h"
#include "weight_algebra.h"

/* Smoothing scales s [d] for an input with statistics xs read by the
 * matmuls mms (weights [d, N]): s_j = max|x_j|^a / max_n |W_jn|^(1-a),
 * clamped to [1e-5, 1e5], a being --smooth's. With --smooth auto, a is the
 * one of 0.25, 0.4, 0.5, 0.6, 0.75 (or no smoothing, s = 1) whose estimated
 * output error under the active scheme's rounding is least. Returns a, or
 * -1 when s = 1 was chosen. */
double qcc_smoothing_scales(const qcc_chan_stats *xs, MlirOperation *mms, int n_mm, double *s);
/* The constant-weight matmul producing x (or the linear factor of a gated
 * product x = a * (y W)), used only there: where 1/s can be folded; null
 * when there is none. */
MlirOperation qcc_smoothing_producer(MlirValue x);
/* --smooth without --rotate: smoothing in the model's own basis. */
int qcc_pass_smooth(MlirModule m);

#endif
