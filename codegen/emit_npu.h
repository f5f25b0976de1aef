/* emit_npu.h - the NPU backend: a quantized module -> a command stream
 * (model.qcs, format in runtime/qrt_npu.h) and model.qcs.h (the stream as a
 * C array plus its I/O layout, for firmware).  docs/npu.md. */
#ifndef QCC_EMIT_NPU_H
#define QCC_EMIT_NPU_H
#include "qcc.h"
#include "qrt_npu.h"

typedef struct qcc_npu_emit_options {
  const char *name;     /* C identifier prefix of model.qcs.h */
  const char *qcs_path; /* the stream */
  const char *h_path;   /* the header */
  const qrt_npu_config *config;
} qcc_npu_emit_options;

typedef struct qcc_npu_emit_stats {
  int native_layers, host_commands, commands;
  int64_t stream_bytes, dram_bytes;
} qcc_npu_emit_stats;

int qcc_emit_npu(MlirModule m, const qcc_npu_emit_options *o, qcc_npu_emit_stats *stats);

#endif
