/* sensitivity.h - the layers mixed precision chooses formats for, their
 * candidate schemes and sizes (shared by the sensitivity and allocate
 * passes and the report). */
#ifndef QCC_SENSITIVITY_H
#define QCC_SENSITIVITY_H
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

#endif
