/* sensitivity_proxy.h - the cheap sensitivity of -q auto
 * (--sensitivity-metric hessian): HAWQ-V3's Hessian-trace proxy, one
 * probed run per layer instead of one quantized run per layer and
 * candidate. See sensitivity_proxy.c for the formula and its assumptions. */
#ifndef QCC_SENSITIVITY_PROXY_H
#define QCC_SENSITIVITY_PROXY_H
#include "calib_data.h"
#include "passes.h"
#include "quant_options.h"

typedef struct qcc_proxy_stats qcc_proxy_stats;

/* Runs m (float, calibrated) over the first `samples` samples of set and
 * keeps, for every layer input, a sample of the vectors its layer
 * contracts; NULL after an error (reported). */
qcc_proxy_stats *qcc_proxy_collect(MlirModule m, const qcc_calib_set *set, int samples);
void qcc_proxy_free(qcc_proxy_stats *st);

/* Relative power of the probe: small enough for the linear regime, well
 * above float rounding (30 dB). */
#define QCC_PROXY_PROBE 1e-3

/* Adds the probe (Gaussian noise of QCC_PROXY_PROBE times the power the
 * float run saw at layer's result) after copy_op, layer's counterpart in
 * a copy of the module, for every reader of its result; false when the
 * layer's output had no power (or is not float): its gain is then 0. */
bool qcc_proxy_probe(const qcc_proxy_stats *st, MlirOperation layer, MlirOperation copy_op);

/* The relative output error of layer op (qcc_layer_kind_of != NONE)
 * alone under s: the inverse SQNRs of its quantized weights and inputs.
 * 0 for f32. The sensitivity is this times the layer's gain. */
double qcc_proxy_nsr(const qcc_proxy_stats *st, MlirOperation op, const qcc_quant_scheme *s);

#endif
