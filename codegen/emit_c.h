/* emit_c.h - the C backend: a legalized module -> model.c + model.h. */
#ifndef QCC_EMIT_C_H
#define QCC_EMIT_C_H
#include "qcc.h"

typedef struct qcc_emit_options {
  const char *name;    /* C identifier prefix: NAME_run */
  const char *c_path;  /* model.c */
  const char *h_path;  /* model.h */
  bool runtime_inline; /* paste the used kernels (default) or #include "qrt.h" */
} qcc_emit_options;

typedef struct qcc_emit_stats {
  int64_t arena_bytes;        /* planned workspace */
  int64_t intermediate_bytes; /* sum of all intermediate tensors and scratch */
  int64_t weight_bytes;       /* constant data emitted */
  int steps;                  /* kernel calls */
  int64_t flops;              /* multiply-adds x2 of conv and matmul calls */
} qcc_emit_stats;

int qcc_emit_c(MlirModule m, const qcc_emit_options *o, qcc_emit_stats *stats);

#endif
