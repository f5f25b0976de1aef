/* sensitivity.h - the layers mixed precision chooses formats for, their
 * candidate schemes and sizes (shared by the sensitivity and allocate
 * passes and the report). */
#ifndef QCC_SENSITIVITY_H
#define QCC_SENSITIVITY_H
#include "calib_data.h"
#include "evaluator.h"
#include "qcc.h"
#include "quant_options.h"

typedef enum {
  QCC_LAYER_NONE,
  QCC_LAYER_MATMUL,         /* constant 2-D weight */
  QCC_LAYER_CONV,           /* constant weight */
  QCC_LAYER_RUNTIME_MATMUL, /* both operands computed at run time */
} qcc_layer_kind;

qcc_layer_kind qcc_layer_kind_of(MlirOperation op);
/* The schemes a layer may take, f32 first (--formats, else defaults per
 * kind); at most cap; 0 for an op that is not a layer. */
int qcc_layer_candidates(MlirOperation op, const qcc_quant_scheme **out, int cap);
/* Bits of the layer's weights under s, scales included (0: no weights). */
int64_t qcc_layer_bits(MlirOperation op, const qcc_quant_scheme *s);
/* Modeled microseconds of one run of the layer under s (its MACs times the
 * scheme kernel's measured cost per MAC; sensitivity.c). */
double qcc_layer_latency_us(MlirOperation op, const qcc_quant_scheme *s);
/* Number of weights of the layer (0 for a run-time matmul). */
int64_t qcc_layer_weight_count(MlirOperation op);

/* Number of weights of the layers of m. Above QCC_MEASURE_MAX_WEIGHTS,
 * measuring output errors layer by layer (one evaluator run of the whole
 * model per layer, candidate and sample) takes minutes to days (the
 * 3.2M-weight outlier LM: 15 s for -q auto), so the passes that measure
 * fall back: -q auto to the Hessian proxy, attention_scales to static. */
#define QCC_MEASURE_MAX_WEIGHTS (16 * 1000 * 1000)
int64_t qcc_model_weight_count(MlirModule m);

/* The float model's outputs on the first `samples` calibration samples
 * (--calib), and an evaluator cache shared by the variants measured
 * against them (each differs from m in one layer). */
typedef struct qcc_output_ref {
  qcc_calib_set set;
  int samples;
  qcc_array **out;
  int *n_out;
  qcc_eval_cache *cache;
} qcc_output_ref;
int qcc_output_ref_init(MlirModule m, int samples, qcc_output_ref *r);
void qcc_output_ref_free(qcc_output_ref *r);
/* How far m's outputs move when layer `index` (counting the layers in
 * block order) alone is quantized under s: relative output MSE, or with
 * --sensitivity-metric kl the mean KL per row of logits. */
int qcc_layer_output_error(MlirModule m, qcc_output_ref *r, int index, const qcc_quant_scheme *s, double *err);

#endif
