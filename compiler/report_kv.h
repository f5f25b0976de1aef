/* report_kv.h - the KV cache in --report (report_kv.c): calibration
 * samples hold float caches; a --kv-bits build takes packed rows. */
#ifndef QCC_REPORT_KV_H
#define QCC_REPORT_KV_H
#include <stdio.h>

#include "qcc.h"

typedef struct qcc_kv_report {
  int bits, n_caches;
  int64_t bytes, float_bytes; /* of all caches, one sample */
  double signal, noise;       /* of the float caches' round trip, all samples */
} qcc_kv_report;

/* The inputs of quant_m for one sample: out[i] = in[i], except for the
 * packed KV caches (inputs read by q.kv_store) given as float, which are
 * encoded into new arrays (owned[i] set) and their round-trip error added
 * to r. */
void qcc_kv_report_inputs(MlirModule quant_m, const qcc_array *in, int n, qcc_array *out, bool *owned,
                          qcc_kv_report *r);
/* One text line, or a JSON member ",\n  \"kv_cache\": {...}"; nothing
 * without caches. */
void qcc_kv_report_print(FILE *f, const qcc_kv_report *r, bool json);

#endif
