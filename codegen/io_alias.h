/* io_alias.h - which graph inputs the caller may pass as the buffer of a
 * graph output (a state updated in place, e.g. a KV cache). */
#ifndef QCC_IO_ALIAS_H
#define QCC_IO_ALIAS_H
#include "qcc.h"

typedef struct qcc_io_alias {
  int in, out; /* graph input and output positions */
} qcc_io_alias;

/* Fills out[] with the pairs (input i, output j) for which NAME_run is
 * correct when in_i and out_j are the same buffer, and returns their
 * number (at most cap).  With -v, says for each output computed from an
 * input of its type why that pair is not one. */
int qcc_io_aliases(MlirOperation func, qcc_io_alias *out, int cap);

#endif
