/* calib_data.h - calibration samples (--calib PATH); layouts in calib_data.c. */
#ifndef QCC_CALIB_DATA_H
#define QCC_CALIB_DATA_H
#include "qcc.h"

typedef struct qcc_calib_inputs {
  int n;
  const char *names[64];
  qcc_shape shapes[64];
} qcc_calib_inputs;

typedef struct qcc_calib_set {
  int n_samples, n_inputs;
  qcc_array *samples; /* sample k, input i at [k * n_inputs + i] */
} qcc_calib_set;

int qcc_calib_load(const char *path, const qcc_calib_inputs *in, qcc_calib_set *set);
/* qcc_calib_load for the inputs of m's function (names from
 * onnx.input_names, shapes from the arguments). */
int qcc_calib_load_for(MlirModule m, const char *path, qcc_calib_set *set);
void qcc_calib_free(qcc_calib_set *set);

#endif
