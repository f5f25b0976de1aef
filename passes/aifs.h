/* aifs.h - token reordering by modality (AIFS, MQuant 2502.00425): the
 * options (--aifs INPUT, --aifs-static NAME=S:E,...) and the pass
 * (aifs.c). */
#ifndef QCC_AIFS_H
#define QCC_AIFS_H
#include "qcc.h"

enum { QCC_AIFS_MAX_RANGES = 32, QCC_AIFS_MAX_MODALITIES = 8 };

/* A run of tokens [start, end) of one modality (--aifs-static). */
typedef struct qcc_aifs_range {
  int modality; /* 1-based index into qcc_aifs_options.names; text is 0 */
  int64_t start, end;
} qcc_aifs_range;

typedef struct qcc_aifs_options {
  const char *input; /* --aifs INPUT: graph input holding each token's modality */
  qcc_aifs_range ranges[QCC_AIFS_MAX_RANGES]; /* --aifs-static */
  int n_ranges;
  char names[QCC_AIFS_MAX_MODALITIES][32]; /* modality names of --aifs-static, in order of appearance */
  int n_names;
} qcc_aifs_options;

extern qcc_aifs_options qcc_aifs_opts;

/* Consumes an AIFS flag at argv[*i]: 1 if it was one, 0 if not, -1 after
 * an error message. */
int qcc_aifs_parse_flag(int argc, char **argv, int *i);
extern const char qcc_aifs_flags_help[];
bool qcc_aifs_enabled(void);

/* The pass: does nothing without --aifs / --aifs-static. */
int qcc_pass_reorder_tokens(MlirModule m);

#endif
