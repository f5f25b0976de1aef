/* npu_tools.h - the `qcc sim` and `qcc dis` subcommands over an NPU
 * command stream (runtime/qrt_npu.h, docs/npu.md).
 *
 *   qcc sim MODEL.qcs --input NAME=FILE.npy ... --out-dir DIR [--npu-config FILE]
 *   qcc dis MODEL.qcs
 *
 * argv[0] is the subcommand.  Both return the process exit status. */
#ifndef QCC_NPU_TOOLS_H
#define QCC_NPU_TOOLS_H
#include "qrt_npu.h"

int qcc_npu_sim_main(int argc, char **argv);
int qcc_npu_dis_main(int argc, char **argv);

/* Reads and validates a stream file into a 64-byte aligned buffer (freed
 * by the caller with free); NULL after a one-line qcc_error. */
void *qcc_npu_load(const char *path, qrt_npu_stream *s);

#endif
