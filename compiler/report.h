/* report.h - the --report of a quantized compile (see report.c). */
#ifndef QCC_REPORT_H
#define QCC_REPORT_H
#include "calib_data.h"
#include "qcc.h"

typedef struct qcc_report_sizes {
  int64_t float_bytes, quant_bytes; /* constant data in the generated C */
} qcc_report_sizes;

int qcc_write_report(const char *path, MlirModule float_m, MlirModule quant_m, const qcc_calib_set *calib,
                     const qcc_report_sizes *sizes);

/* report_html.c: the page around the text report `text` (plots of the
 * allocate pass's record on func, when there is one). */
int qcc_write_report_html(FILE *f, const char *text, size_t text_len, MlirOperation func);

#endif
