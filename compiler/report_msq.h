/* report_msq.h - the MSQ part of --report (report_msq.c): per modality of
 * a q.msqmatmul, its calibrated input range and the SQNR of its input's
 * codes (from its q.msq_quantize) against the float input. */
#ifndef QCC_REPORT_MSQ_H
#define QCC_REPORT_MSQ_H
#include <stdio.h>

#include "qcc.h"
#include "qrt.h"

typedef struct qcc_msq_acc {
  double signal[QRT_MSQ_MAX_MODALITIES], noise[QRT_MSQ_MAX_MODALITIES];
  int64_t rows[QRT_MSQ_MAX_MODALITIES];
} qcc_msq_acc;

/* Adds one evaluation of a q.msq_quantize op: x its float input, codes its
 * result, mod its modality operand's data (NULL: read from the op's
 * constant operand). */
void qcc_msq_report_observe(MlirOperation op, const qcc_array *x, const qcc_array *codes, const qcc_array *mod,
                            qcc_msq_acc *acc);
/* For an MSQ layer (q.msqmatmul, q.msqmatmul_deq): one line per modality (table), or
 * `, "modalities": [...]` (json). */
void qcc_msq_report_print(FILE *f, MlirOperation op, const qcc_msq_acc *acc, bool json);

#endif
