/* kv_cache.h - the kv-cache pass (--kv-bits 8|4, kv_cache.c): a decoder's
 * KV cache stored as int8 / int4 rows with a float scale per row. */
#ifndef QCC_KV_CACHE_H
#define QCC_KV_CACHE_H
#include "qcc.h"

extern int qcc_kv_bits; /* 0: off */

/* Consumes --kv-bits at argv[*i]: 1 if it was it, 0 if not, -1 after an
 * error message. */
int qcc_kv_parse_flag(int argc, char **argv, int *i);
extern const char qcc_kv_flags_help[];

/* Does nothing without --kv-bits. */
int qcc_pass_kv_cache(MlirModule m);

#endif
