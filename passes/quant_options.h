/* quant_options.h - options of the quantization passes, set by the driver
 * (qcc --calib/-q) or by qcc-opt flags of the same names. */
#ifndef QCC_QUANT_OPTIONS_H
#define QCC_QUANT_OPTIONS_H
#include "qcc.h"

typedef struct qcc_quant_options {
  const char *calib_path; /* --calib */
  const char *scheme;     /* -q: f32 | w8a8 */
  /* --keep-float: globs on the ONNX node name or the op (conv, matmul);
   * matching layers stay float. */
  const char *keep_float[32];
  int n_keep_float;
} qcc_quant_options;

extern qcc_quant_options qcc_quant_opts;

/* Calibrated range of v (attributes written by the calibrate pass). */
bool qcc_value_range(MlirValue v, double *lo, double *hi);

#endif
