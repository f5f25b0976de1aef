/* final_ir.h - the final IR as a file: what --emit-mlir writes, and what
 * qcc and qcc run read back in place of an ONNX model (no pass runs
 * again). The file is sealed: its func carries a digest of the module's
 * text, so that an edited file (whose ops no pass checked) is refused
 * rather than compiled; qcc-opt is the tool for IR edited by hand. (A
 * 64-bit FNV-1a digest: it catches edits, it is no defence against
 * someone forging one.) */
#ifndef QCC_FINAL_IR_H
#define QCC_FINAL_IR_H
#include <mlir-c/IR.h>

/* Writes m to path, with each op's location (the ONNX node it came from,
 * which names its constants in the C) and the seal; --no-fma's lowering
 * goes along as the func's qcc.no_fma. Warns when m holds a run-time
 * loop, which does not read back. 0, or -1 reported. */
int qcc_write_final_ir(MlirModule m, const char *path);

/* The module a qcc_write_final_ir file holds (and its --no-fma choice
 * restored), or a null module, reported in one line: not MLIR, not final
 * (no func with the model's input and output names, an onnx.* op, a
 * run-time loop), or edited since it was written. */
MlirModule qcc_read_final_ir(MlirContext ctx, const char *path);

#endif
