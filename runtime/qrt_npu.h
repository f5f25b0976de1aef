/* qrt_npu.h - the NPU command stream: its binary format, the machine
 * configuration it was compiled for, and the reference executor.
 *
 * docs/npu.md describes the machine, each command's semantics, encoding and
 * cycle cost.  In short: a stream is a 64-byte header, a section table and
 * sections; every integer is little-endian; every section starts at a
 * multiple of 64 bytes.  The executor (qrt_npu.c) validates a whole stream
 * before it runs any command (qrt_npu_open), then runs it bit-exactly
 * (qrt_npu_run): native commands compute what the runtime's kernels compute,
 * with the same integer requantization (qrt_requant); HOST commands call
 * the runtime kernel itself.  It allocates nothing: the caller gives the
 * DRAM arena and the SRAM.  C99; qrt_npu.c needs no libc beyond
 * <string.h>, qrt_npu_fmt.c (the int4 and block-format commands) the
 * runtime's block-format codec (qrt_fmt*.c) and <math.h>. */
#ifndef QRT_NPU_H
#define QRT_NPU_H
#include <stddef.h>
#include <stdint.h>

#define QRT_NPU_MAGIC "QNPU"
/* Bump on any change of the encoding or of a command's semantics.
 * 2: MATMUL_I4, BENCODE, BMATMUL, BSCALE; block formats in pe_formats. */
#define QRT_NPU_VERSION 2u
#define QRT_NPU_HEADER_BYTES 64u
#define QRT_NPU_SECTION_ENTRY_BYTES 24u
#define QRT_NPU_ALIGN 64u
/* "no address / no tensor" in a command field. */
#define QRT_NPU_NONE 0xffffffffu

/* Section kinds: each appears exactly once. */
enum {
  QRT_NPU_SEC_CONFIG = 1,   /* the machine (qrt_npu_config, as u64 fields) */
  QRT_NPU_SEC_STRINGS = 2,  /* NUL-terminated strings, referenced by offset */
  QRT_NPU_SEC_TENSORS = 3,  /* tensor descriptors */
  QRT_NPU_SEC_CONSTS = 4,   /* constant data (weights, tables, host params' constants) */
  QRT_NPU_SEC_IO = 5,       /* DRAM arena size, model inputs and outputs */
  QRT_NPU_SEC_HOSTDATA = 6, /* HOST commands' params blobs and input lists */
  QRT_NPU_SEC_COMMANDS = 7, /* the commands, in issue order */
  QRT_NPU_NUM_SECTIONS = 7
};

/* The machine.  Stored in the stream (CONFIG section, one u64 per field in
 * this order) and hashed into the header's config hash. */
#define QRT_NPU_CONFIG_FIELDS(F) \
  F(pe_rows, 16) F(pe_cols, 16) F(pe_formats, 1) F(sram_banks, 16) F(sram_bank_bytes, 16384) \
  F(dma_bytes_per_cycle, 16) F(dma_latency_cycles, 64) F(vector_lanes, 16) F(vector_latency_cycles, 4) \
  F(lut_entries, 256) F(lut_lanes, 16) F(clock_mhz, 800)
/* pe_formats: bit set of operand formats the PE array multiplies: int8,
 * int4 (weights, times int8 activations), and block format f of the
 * runtime's table (QRT_ALL_BFORMATS row f) at bit 2 + f. */
#define QRT_NPU_FMT_INT8 1u
#define QRT_NPU_FMT_INT4 2u
#define QRT_NPU_FMT_BLOCK(f) ((uint64_t)4 << (f))

typedef struct qrt_npu_config {
#define QRT_NPU_DECLARE_FIELD(name, dflt) uint64_t name;
  QRT_NPU_CONFIG_FIELDS(QRT_NPU_DECLARE_FIELD)
#undef QRT_NPU_DECLARE_FIELD
} qrt_npu_config;

/* Tensor descriptor (TENSORS section: u32 count, then 96-byte records):
 * u32 region, u32 dtype (qrt_dtype), u32 rank, u32 name (string offset or
 * NONE), u64 offset, u64 nbytes, i64 dims[8].  region CONST: offset into
 * the CONSTS section (read-only); DRAM: offset into the DRAM arena. */
enum { QRT_NPU_REGION_CONST = 0, QRT_NPU_REGION_DRAM = 1 };
#define QRT_NPU_TENSOR_BYTES 96u

/* Command record (COMMANDS section: u32 count, then 96-byte records):
 * u32 opcode, u32 note (string offset: the ONNX node it came from), then
 * f[0..10], eleven u64 fields whose meaning depends on the opcode (signed
 * values are stored as two's complement).  See docs/npu.md. */
#define QRT_NPU_COMMAND_BYTES 96u
#define QRT_NPU_COMMAND_FIELDS 11
enum {
  QRT_NPU_OP_DMA_LOAD = 1,  /* tensor, dram_off, sram, rows, row_bytes, dram_stride, sram_stride */
  QRT_NPU_OP_DMA_STORE = 2, /* same fields: SRAM -> DRAM */
  QRT_NPU_OP_MATMUL = 3,    /* a, b, acc, M, N, K, lda, ldb, a_zero_point, accumulate */
  QRT_NPU_OP_REQUANT = 4,   /* acc, out, M, N, bias|NONE, mult, shift, out_zp, out_min, out_max, transpose */
  QRT_NPU_OP_LUT = 5,       /* in, out, table, n */
  QRT_NPU_OP_HOST = 6,      /* kernel (string), params_off, params_bytes, n_in, refs_off, reason (string), binding */
  QRT_NPU_OP_IM2COL = 7,    /* tensor, dram_off, sram, p0, count, channels, H, W, kernel/stride, dilation/pad, OW/pad value */
  QRT_NPU_OP_ADD = 8,       /* a, b, out, n, a_zp, b_zp, out_zp, out_min, out_max, a_mult | b_mult << 32, shift */
  QRT_NPU_OP_MAXPOOL = 9,   /* in, out, planes, H, W, kernel/stride, dilation/pad, OH | OW << 32 */
  QRT_NPU_OP_MATMUL_I4 = 10, /* a, b (int4 panels), acc, M, N, K, lda, ldb (panel stride), a_zp, accumulate | group << 32, gmult|NONE */
  QRT_NPU_OP_BENCODE = 11,  /* in (float rows), out, rows, K, in_stride, out_stride, format, elem_stride */
  QRT_NPU_OP_BMATMUL = 12,  /* a, b, acc (double), M, N, K, lda, ldb, a_format, accumulate, w_format */
  QRT_NPU_OP_BSCALE = 13,   /* acc (double), out (float), M, N, bias|NONE, shift */
  QRT_NPU_NUM_OPS = 14
};

/* Engines, for the cost model and the report. */
enum { QRT_NPU_ENGINE_DMA, QRT_NPU_ENGINE_PE, QRT_NPU_ENGINE_VECTOR, QRT_NPU_ENGINE_LUT, QRT_NPU_ENGINE_HOST,
       QRT_NPU_NUM_ENGINES };

/* A decoded command. */
typedef struct qrt_npu_command {
  uint32_t opcode, note;
  uint64_t f[QRT_NPU_COMMAND_FIELDS];
} qrt_npu_command;

typedef struct qrt_npu_tensor {
  uint32_t region, dtype, rank, name;
  uint64_t offset, nbytes;
  int64_t dims[8];
} qrt_npu_tensor;

/* A validated stream: pointers into the caller's buffer (which must stay
 * alive and be 16-byte aligned: HOST kernels read constants in place). */
typedef struct qrt_npu_stream {
  const uint8_t *base;
  uint64_t size, config_hash;
  qrt_npu_config config;
  const uint8_t *strings, *tensors, *consts, *hostdata, *commands;
  uint64_t strings_bytes, consts_bytes, hostdata_bytes;
  uint32_t n_tensors, n_commands, n_inputs, n_outputs;
  const uint8_t *io; /* u64 dram_bytes, u32 n_in, u32 n_out, then (tensor, name) u32 pairs */
  uint64_t dram_bytes, sram_bytes;
} qrt_npu_stream;

/* What one command cost. */
typedef struct qrt_npu_command_cost {
  uint64_t start, end;  /* cycles on the NPU's timeline */
  uint64_t dram_bytes;  /* bytes moved between DRAM and SRAM (DMA) or touched by the host */
  uint64_t macs;        /* multiply-accumulates (MATMUL) */
} qrt_npu_command_cost;

typedef struct qrt_npu_stats {
  uint64_t cycles;                                 /* end of the last command */
  uint64_t busy[QRT_NPU_NUM_ENGINES];              /* cycles each engine worked */
  uint64_t commands[QRT_NPU_NUM_ENGINES];          /* commands per engine */
  uint64_t macs;                                   /* total multiply-accumulates */
  uint64_t pe_slots;                               /* PE-cycles those took at the array's peak: a MAC each
                                                    * (int8), half a MAC (int4: two per cycle), two
                                                    * (block mantissas over 8 bits) */
  uint64_t dram_read_bytes, dram_write_bytes;      /* DMA traffic */
  uint64_t host_bytes;                             /* bytes HOST commands read and wrote */
  uint64_t sram_peak;                              /* highest SRAM address + 1 any command touched */
} qrt_npu_stats;

/* The defaults (docs/npu.md). */
void qrt_npu_config_default(qrt_npu_config *c);
/* FNV-1a 64 of the config's fields as the stream stores them. */
uint64_t qrt_npu_config_hash(const qrt_npu_config *c);
/* Field i of the config, in QRT_NPU_CONFIG_FIELDS order (for serializing). */
uint64_t *qrt_npu_config_field(qrt_npu_config *c, int i, const char **name);
int qrt_npu_config_num_fields(void);
/* A config the executor can model: nonzero sizes and widths, ranges that
 * keep every product in 64 bits.  0, or -1 with err set. */
int qrt_npu_config_check(const qrt_npu_config *c, char *err, size_t cap);

/* CRC-32 (IEEE) of n bytes, the header's integrity check over everything
 * after the header. */
uint32_t qrt_npu_crc32(const uint8_t *p, uint64_t n);

/* A HOST command's binding hash (its field 6): FNV-1a 64 of the kernel
 * name (with its NUL), the params blob and the n_refs 16-byte tensor
 * references.  The executor cannot check a runtime kernel's params against
 * their meaning; the hash checks that kernel, params and tensors are the
 * ones the compiler wrote together (the CRC covers the stream as a whole). */
uint64_t qrt_npu_host_binding(const char *kernel, const uint8_t *params, uint64_t params_bytes,
                              const uint8_t *refs, uint64_t n_refs);

/* Validates the whole stream (header, sections, tensors, I/O, every
 * command's fields and address ranges); 0, or -1 with a one-line reason
 * naming the section or command in err.  Nothing is executed. */
int qrt_npu_open(qrt_npu_stream *s, const void *data, uint64_t size, char *err, size_t cap);

void qrt_npu_get_command(const qrt_npu_stream *s, uint32_t i, qrt_npu_command *c);
void qrt_npu_get_tensor(const qrt_npu_stream *s, uint32_t i, qrt_npu_tensor *t);
/* The string at offset off of the STRINGS section ("" for NONE). */
const char *qrt_npu_string(const qrt_npu_stream *s, uint64_t off);
/* Tensor id and name of input / output i. */
uint32_t qrt_npu_io(const qrt_npu_stream *s, int output, uint32_t i, const char **name);
/* The opcode's mnemonic ("DMA_LOAD"), or "?" */
const char *qrt_npu_op_name(uint32_t opcode);
int qrt_npu_op_engine(uint32_t opcode);

/* The PE array's int4 and block-format products and the vector unit's
 * block encoder and epilogue (qrt_npu_fmt.c), for the executor:
 * qrt_npu_bfmt_pair_ok is 0 unless BMATMUL can multiply a_format by
 * w_format (integer mantissas, E8M0 scales, one block size, int32 block
 * sums that cannot overflow: qrt_bdot.c's integer path); *wide is set
 * when a mantissa needs more than 8 bits.  qrt_npu_bfmt_row_bytes: bytes
 * of K values of fmt (0: not a block format the executor encodes);
 * qrt_npu_bencode_passes: vector passes of fmt's encoder (cost model). */
int qrt_npu_bfmt_pair_ok(uint64_t a_format, uint64_t w_format, int *wide);
uint64_t qrt_npu_bfmt_row_bytes(uint64_t fmt, uint64_t K);
uint64_t qrt_npu_bfmt_block(uint64_t fmt);
uint64_t qrt_npu_bencode_passes(uint64_t fmt);
void qrt_npu_run_matmul_i4(uint8_t *sram, const uint64_t *f);
void qrt_npu_run_bencode(uint8_t *sram, const uint64_t *f);
void qrt_npu_run_bmatmul(uint8_t *sram, const uint64_t *f);
void qrt_npu_run_bscale(uint8_t *sram, const uint64_t *f);

/* Runs an opened stream.  dram: dram_bytes bytes, 16-byte aligned, the
 * inputs already written at their tensors' offsets (qrt_npu_tensor_data);
 * sram: sram_bytes bytes.  costs: NULL or n_commands entries.  0, or -1
 * with err set (only for a stream that qrt_npu_open did not accept). */
int qrt_npu_run(const qrt_npu_stream *s, uint8_t *dram, uint8_t *sram, qrt_npu_stats *stats,
                qrt_npu_command_cost *costs, char *err, size_t cap);
/* Where tensor t lives (in the stream's constants or in dram). */
void *qrt_npu_tensor_data(const qrt_npu_stream *s, uint8_t *dram, uint32_t t);

#endif
