/* npu_config.h - the NPU machine description of --npu-config FILE.
 *
 * FILE is one flat JSON object: each key a field of QRT_NPU_CONFIG_FIELDS
 * (runtime/qrt_npu.h) with a positive integer value, except pe_formats, a
 * list of format names ("int8", "int4").  Keys left out keep their
 * defaults; an unknown key, a bad value or a config the executor cannot
 * model is a one-line error naming FILE and the key. */
#ifndef QCC_NPU_CONFIG_H
#define QCC_NPU_CONFIG_H
#include "qrt_npu.h"

/* path NULL: the defaults.  0, or -1 after qcc_error. */
int qcc_npu_config_load(const char *path, qrt_npu_config *cfg);

#endif
