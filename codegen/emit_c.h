/* emit_c.h - the C backend: a legalized module -> model.c + model.h. */
#ifndef QCC_EMIT_C_H
#define QCC_EMIT_C_H
#include "qcc.h"

typedef struct qcc_emit_options {
  const char *name;    /* C identifier prefix: NAME_run */
  const char *c_path;  /* model.c */
  const char *h_path;  /* model.h */
  bool runtime_inline; /* paste the used kernels (default) or #include "qrt.h" */
  /* --weights-file: NULL keeps the weights in model.c as arrays; else all
   * constant data goes to this file (layout in runtime/qrt_weights.c) and
   * model.c gets NAME_set_weights.  asm_path, when not NULL, also gets an
   * assembler file that links the weights file in with .incbin. */
  const char *weights_path;
  const char *asm_path;
  int threads; /* --threads: QRT_THREADS of the pasted runtime (<= 1: one) */
} qcc_emit_options;

typedef struct qcc_emit_stats {
  int64_t arena_bytes;        /* planned workspace */
  int64_t intermediate_bytes; /* sum of all intermediate tensors and scratch */
  int64_t weight_bytes;       /* constant data emitted */
  int64_t weights_file_bytes; /* size of the weights file (0 without one) */
  int steps;                  /* kernel calls */
  int64_t flops;              /* multiply-adds x2 of conv and matmul calls */
} qcc_emit_stats;

int qcc_emit_c(MlirModule m, const qcc_emit_options *o, qcc_emit_stats *stats);

#endif
