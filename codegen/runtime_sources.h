/* runtime_sources.h - the runtime's source files, embedded at build time so
 * that generated C can carry the kernels it uses (--runtime=inline). */
#ifndef QCC_RUNTIME_SOURCES_H
#define QCC_RUNTIME_SOURCES_H

typedef struct qcc_runtime_source {
  const char *name; /* file name under runtime/, e.g. "qrt_conv.c" */
  const char *text;
} qcc_runtime_source;

/* Terminated by an entry with name == 0. */
extern const qcc_runtime_source qcc_runtime_sources[];

#endif
