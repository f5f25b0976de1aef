/* msq.h - modality-specific static quantization (MSQ, MQuant 2502.00425):
 * the --msq flag and the pass (msq.c), which runs after calibrate and
 * before quantize on a model reordered by AIFS (aifs.h). */
#ifndef QCC_MSQ_H
#define QCC_MSQ_H
#include "qcc.h"

extern bool qcc_msq_enabled;

/* Consumes --msq at argv[*i]: 1 if it was it, 0 if not. */
int qcc_msq_parse_flag(int argc, char **argv, int *i);
extern const char qcc_msq_flags_help[];
/* The flag's requirements (a static -q scheme, AIFS); -1 after an error. */
int qcc_msq_check_options(void);

/* The pass: calibrates every linear layer's input and output ranges per
 * modality and rewrites it to q.msqmatmul. */
int qcc_pass_msq(MlirModule m);

/* The pass's last step (msq_lut.c): an elementwise function of an MSQ
 * layer's output becomes one table per modality (q.msq_lut): int8 when
 * only the next MSQ layer's quantize reads it, float when its result
 * stays float. Returns how many. */
int qcc_msq_tables(MlirBlock body);

#endif
