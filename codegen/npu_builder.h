/* npu_builder.h - an NPU command stream under construction (codegen/
 * emit_npu.c writes it out): growable byte sections, the tensor table,
 * interned strings, the command list, and the static SRAM allocator the
 * lowerings (npu_gemm.c, npu_stream_ops.c) place their tiles with. */
#ifndef QCC_NPU_BUILDER_H
#define QCC_NPU_BUILDER_H
#include "kernel_call.h"
#include "name_map.h"
#include "qcc.h"
#include "qrt_npu.h"

/* ---- growable little-endian byte buffers ---- */
typedef struct npu_bytes {
  uint8_t *p;
  size_t n, cap;
} npu_bytes;

size_t npu_put(npu_bytes *b, const void *d, size_t n); /* d NULL: zeros; returns the offset */
void npu_put32(npu_bytes *b, uint32_t v);
void npu_put64(npu_bytes *b, uint64_t v);
void npu_align_to(npu_bytes *b, size_t a);

/* ---- the stream under construction ---- */
typedef struct npu_tensor {
  qrt_npu_tensor d;
  int first, last; /* DRAM lifetime in steps */
} npu_tensor;

typedef struct npu_builder {
  const qrt_npu_config *cfg;
  npu_bytes strings, consts, hostdata;
  npu_tensor *tensors;
  int n_tensors, cap_tensors;
  qrt_npu_command *cmds;
  int n_cmds, cap_cmds;
  qcc_ptr_map values; /* MlirValue.ptr -> tensor id + 1 */
  int step;
  uint32_t note;
  int native_layers, host_commands;
} npu_builder;

uint32_t npu_intern(npu_builder *b, const char *s);
uint32_t npu_add_tensor(npu_builder *b, uint32_t region, qrt_dtype dt, int rank, const int64_t *dims,
                        const char *name);
uint32_t npu_add_const(npu_builder *b, const qcc_array *a);
/* The tensor of a value, its DRAM lifetime extended to the current step. */
uint32_t npu_value_tensor(npu_builder *b, MlirValue v);
uint32_t npu_new_value_tensor(npu_builder *b, MlirValue v, uint32_t region);
void npu_emit(npu_builder *b, uint32_t opcode, const uint64_t *f, int n);
void npu_dma(npu_builder *b, uint32_t op, uint32_t tensor, uint64_t dram_off, uint64_t sram, uint64_t rows,
             uint64_t row_bytes, uint64_t dram_stride, uint64_t sram_stride);
static inline uint64_t npu_sgn(int64_t v) { return (uint64_t)v; }
static inline int64_t npu_min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ---- static SRAM allocation ----
 * Each buffer starts on a bank boundary and owns whole banks, so that the
 * two halves of a double buffer never share a bank (the executor's timing
 * lets a DMA into one bank overlap compute on another). */
typedef struct npu_sram_alloc {
  const qrt_npu_config *cfg;
  uint64_t next_bank;
} npu_sram_alloc;

uint64_t npu_banks_for(const qrt_npu_config *cfg, uint64_t bytes);
uint64_t npu_sram_place(npu_sram_alloc *a, uint64_t bytes);

/* ---- lowerings: true with the commands emitted, or false with why the
 * NPU cannot run the call (it then becomes a HOST command) ---- */
bool npu_lower_qmatmul(npu_builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap);
bool npu_lower_bmatmul(npu_builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap);
bool npu_lower_qconv(npu_builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap);
bool npu_lower_lut(npu_builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap);
bool npu_lower_qadd(npu_builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap);
bool npu_lower_maxpool(npu_builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap);
bool npu_lower_copy(npu_builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap);

#endif
