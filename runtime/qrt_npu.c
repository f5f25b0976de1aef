/* qrt_npu.c - the NPU stream's reference executor (see qrt_npu.h and
 * docs/npu.md).
 *
 * Two phases, so that a bad stream never runs: qrt_npu_open checks every
 * byte range and every command field against the sizes it can address;
 * qrt_npu_run then trusts them.  Native commands compute exactly what the
 * runtime's int8 kernels compute: int32 accumulation modulo 2^32 of
 * (a - a_zero_point) * b (qrt_qmatmul.c's acc, exact below K = 65792),
 * then the same epilogue (qrt_requant on acc + bias).
 * HOST commands call the runtime kernel itself.  A HOST command's params
 * blob is trusted once the CRC matches, as the generated C trusts its own
 * params; its tensors are checked (id, dtype, bytes) like everything else.
 *
 * Timing: each command runs on one engine (DMA, PE array, vector unit, LUT
 * unit, host).  It starts when its engine is free and the SRAM banks it
 * reads have been written (and those it writes have been read: double
 * buffering is two buffers in different banks), and when the DRAM tensors
 * it loads have been stored.  HOST commands are barriers and cost no NPU
 * cycles (the host's time is not modelled; their bytes are counted). */
#include "qrt_npu.h"

#include <string.h>

#include "qrt.h"

/* ---- configuration ----------------------------------------------------- */
void qrt_npu_config_default(qrt_npu_config *c) {
#define QRT_NPU_SET_DEFAULT(name, dflt) c->name = dflt;
  QRT_NPU_CONFIG_FIELDS(QRT_NPU_SET_DEFAULT)
#undef QRT_NPU_SET_DEFAULT
}

int qrt_npu_config_num_fields(void) {
#define QRT_NPU_COUNT(name, dflt) +1
  return 0 QRT_NPU_CONFIG_FIELDS(QRT_NPU_COUNT);
#undef QRT_NPU_COUNT
}

uint64_t *qrt_npu_config_field(qrt_npu_config *c, int i, const char **name) {
  int k = 0;
#define QRT_NPU_PICK(fname, dflt) \
  if (k++ == i) {                 \
    if (name) *name = #fname;     \
    return &c->fname;             \
  }
  QRT_NPU_CONFIG_FIELDS(QRT_NPU_PICK)
#undef QRT_NPU_PICK
  return NULL;
}

uint64_t qrt_npu_config_hash(const qrt_npu_config *c) {
  uint64_t h = 1469598103934665603u;
  qrt_npu_config copy = *c;
  int i, b;
  for (i = 0; i < qrt_npu_config_num_fields(); i++) {
    uint64_t v = *qrt_npu_config_field(&copy, i, NULL);
    for (b = 0; b < 8; b++) {
      h ^= (v >> (8 * b)) & 0xff;
      h *= 1099511628211u;
    }
  }
  return h;
}

/* ---- one-line errors without stdio ---------------------------------------
 * err receives the concatenation of the pieces; %s and %u (uint64_t) are
 * the only conversions qrt_npu needs. */
typedef struct qrt_npu_msg {
  char *buf;
  size_t cap, len;
} qrt_npu_msg;

static void msg_str(qrt_npu_msg *m, const char *s) {
  while (*s && m->len + 1 < m->cap) m->buf[m->len++] = *s++;
  if (m->cap) m->buf[m->len] = 0;
}

static void msg_u64(qrt_npu_msg *m, uint64_t v) {
  char d[24];
  int n = 0;
  do d[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
  while (n > 0 && m->len + 1 < m->cap) m->buf[m->len++] = d[--n];
  if (m->cap) m->buf[m->len] = 0;
}

/* fail(err, cap, "fmt with %s and %u", ...) for up to three arguments,
 * each a string or a number as the format says.  Returns -1. */
static int fail3(char *err, size_t cap, const char *fmt, const char *s0, uint64_t u0, uint64_t u1) {
  qrt_npu_msg m;
  int u_used = 0;
  m.buf = err;
  m.cap = cap;
  m.len = 0;
  if (cap) err[0] = 0;
  for (; *fmt; fmt++) {
    if (fmt[0] == '%' && fmt[1] == 's') {
      msg_str(&m, s0 ? s0 : "");
      fmt++;
    } else if (fmt[0] == '%' && fmt[1] == 'u') {
      msg_u64(&m, u_used++ ? u1 : u0);
      fmt++;
    } else if (m.len + 1 < m.cap) {
      m.buf[m.len++] = *fmt;
      m.buf[m.len] = 0;
    }
  }
  return -1;
}

/* ---- little-endian reads -------------------------------------------------- */
static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

uint32_t qrt_npu_crc32(const uint8_t *p, uint64_t n) {
  uint32_t c = 0xffffffffu;
  uint64_t i;
  int k;
  for (i = 0; i < n; i++) {
    c ^= p[i];
    for (k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

/* ---- the runtime kernels a HOST command may call -------------------------- */
typedef struct qrt_npu_host_kernel {
  const char *name;
  qrt_kernel_fn fn;
  size_t params_bytes;
} qrt_npu_host_kernel;

static const qrt_npu_host_kernel host_kernels[] = {
#define QRT_NPU_KERNEL_ROW(sym, pname, file) {#sym, sym, sizeof(qrt_##pname##_params)},
    QRT_ALL_KERNELS(QRT_NPU_KERNEL_ROW)
#undef QRT_NPU_KERNEL_ROW
};

/* Storage for any params struct, aligned for its widest field. */
typedef union qrt_npu_params {
#define QRT_NPU_PARAMS_MEMBER(name, fields) qrt_##name##_params name;
  QRT_ALL_PARAMS(QRT_NPU_PARAMS_MEMBER)
#undef QRT_NPU_PARAMS_MEMBER
  int64_t align;
} qrt_npu_params;

static const qrt_npu_host_kernel *find_host_kernel(const char *name) {
  size_t i;
  for (i = 0; i < sizeof host_kernels / sizeof host_kernels[0]; i++)
    if (!strcmp(host_kernels[i].name, name)) return &host_kernels[i];
  return NULL;
}

/* FNV-1a 64 of n bytes, continuing from h. */
static uint64_t fnv1a(uint64_t h, const uint8_t *p, uint64_t n) {
  uint64_t i;
  for (i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211u;
  }
  return h;
}

uint64_t qrt_npu_host_binding(const char *kernel, const uint8_t *params, uint64_t params_bytes,
                              const uint8_t *refs, uint64_t n_refs) {
  uint64_t h = fnv1a(1469598103934665603u, (const uint8_t *)kernel, strlen(kernel) + 1);
  h = fnv1a(h, params, params_bytes);
  return fnv1a(h, refs, 16 * n_refs);
}

/* ---- accessors ------------------------------------------------------------ */
static const char *const op_names[QRT_NPU_NUM_OPS] = {"?",      "DMA_LOAD", "DMA_STORE", "MATMUL",  "REQUANT",
                                                      "LUT",    "HOST",     "IM2COL",    "ADD",     "MAXPOOL",
                                                      "MATMUL_I4", "BENCODE", "BMATMUL", "BSCALE"};

const char *qrt_npu_op_name(uint32_t opcode) { return opcode < QRT_NPU_NUM_OPS ? op_names[opcode] : "?"; }

int qrt_npu_op_engine(uint32_t opcode) {
  switch (opcode) {
  case QRT_NPU_OP_DMA_LOAD:
  case QRT_NPU_OP_DMA_STORE:
  case QRT_NPU_OP_IM2COL: return QRT_NPU_ENGINE_DMA;
  case QRT_NPU_OP_MATMUL:
  case QRT_NPU_OP_MATMUL_I4:
  case QRT_NPU_OP_BMATMUL: return QRT_NPU_ENGINE_PE;
  case QRT_NPU_OP_BENCODE:
  case QRT_NPU_OP_BSCALE:
  case QRT_NPU_OP_REQUANT:
  case QRT_NPU_OP_ADD:
  case QRT_NPU_OP_MAXPOOL: return QRT_NPU_ENGINE_VECTOR;
  case QRT_NPU_OP_LUT: return QRT_NPU_ENGINE_LUT;
  default: return QRT_NPU_ENGINE_HOST;
  }
}

void qrt_npu_get_command(const qrt_npu_stream *s, uint32_t i, qrt_npu_command *c) {
  const uint8_t *p = s->commands + 4 + (uint64_t)i * QRT_NPU_COMMAND_BYTES;
  int k;
  c->opcode = rd32(p);
  c->note = rd32(p + 4);
  for (k = 0; k < QRT_NPU_COMMAND_FIELDS; k++) c->f[k] = rd64(p + 8 + 8 * k);
}

void qrt_npu_get_tensor(const qrt_npu_stream *s, uint32_t i, qrt_npu_tensor *t) {
  const uint8_t *p = s->tensors + 4 + (uint64_t)i * QRT_NPU_TENSOR_BYTES;
  int k;
  t->region = rd32(p);
  t->dtype = rd32(p + 4);
  t->rank = rd32(p + 8);
  t->name = rd32(p + 12);
  t->offset = rd64(p + 16);
  t->nbytes = rd64(p + 24);
  for (k = 0; k < 8; k++) t->dims[k] = (int64_t)rd64(p + 32 + 8 * k);
}

const char *qrt_npu_string(const qrt_npu_stream *s, uint64_t off) {
  return off < s->strings_bytes ? (const char *)s->strings + off : "";
}

uint32_t qrt_npu_io(const qrt_npu_stream *s, int output, uint32_t i, const char **name) {
  const uint8_t *p = s->io + 16 + 8 * ((uint64_t)(output ? s->n_inputs : 0) + i);
  if (name) *name = qrt_npu_string(s, rd32(p + 4));
  return rd32(p);
}

void *qrt_npu_tensor_data(const qrt_npu_stream *s, uint8_t *dram, uint32_t t) {
  qrt_npu_tensor d;
  qrt_npu_get_tensor(s, t, &d);
  return d.region == QRT_NPU_REGION_CONST ? (void *)(uintptr_t)(s->consts + d.offset) : (void *)(dram + d.offset);
}

/* ---- validation ------------------------------------------------------------ */
/* Every size and address field must stay below 2^40, so that the sums and
 * products below (at most three such terms multiplied by small counts)
 * cannot wrap a uint64_t. */
#define QRT_NPU_FIELD_LIMIT ((uint64_t)1 << 40)

static uint64_t dtype_bytes(uint32_t dtype) {
  switch (dtype) {
  case QRT_U8: case QRT_I8: case QRT_BOOL: return 1;
  case QRT_U16: case QRT_I16: case QRT_F16: return 2;
  case QRT_F32: case QRT_I32: case QRT_U32: return 4;
  case QRT_I64: case QRT_F64: case QRT_U64: return 8;
  default: return 0;
  }
}

int qrt_npu_config_check(const qrt_npu_config *c, char *err, size_t cap) {
  qrt_npu_config copy = *c;
  int i;
  for (i = 0; i < qrt_npu_config_num_fields(); i++) {
    const char *name;
    uint64_t v = *qrt_npu_config_field(&copy, i, &name);
    /* pe_formats is a bit set (checked below), the rest are sizes */
    if (v == 0 || (v > (1u << 20) && strcmp(name, "pe_formats")))
      return fail3(err, cap, "config: %s = %u is out of range [1, 1048576]", name, v, 0);
  }
  if (c->sram_banks > 64) return fail3(err, cap, "config: sram_banks = %u: at most 64", NULL, c->sram_banks, 0);
  if (c->pe_formats & ~(QRT_NPU_FMT_BLOCK(QRT_BFORMAT_COUNT) - 1))
    return fail3(err, cap, "config: pe_formats = %u has unknown format bits", NULL, c->pe_formats, 0);
  return 0;
}

/* [off, off + rows*stride...) of a 2-D access inside a space of `space` bytes:
 * the last row ends at off + (rows - 1) * stride + row_bytes. */
static int range_ok(uint64_t off, uint64_t rows, uint64_t row_bytes, uint64_t stride, uint64_t space) {
  if (off >= QRT_NPU_FIELD_LIMIT || rows == 0 || rows >= QRT_NPU_FIELD_LIMIT || row_bytes == 0 ||
      row_bytes >= QRT_NPU_FIELD_LIMIT || stride >= QRT_NPU_FIELD_LIMIT)
    return 0;
  /* rows must not overlap: it bounds the work of a command by the space it
   * addresses (rows <= space / row_bytes) */
  if (rows > 1 && (stride < row_bytes || stride > QRT_NPU_FIELD_LIMIT / rows)) return 0;
  return off + (rows - 1) * stride + row_bytes <= space;
}

static int str_ok(const qrt_npu_stream *s, uint64_t off) { return off < s->strings_bytes; }

static int signed_in(uint64_t v, int64_t lo, int64_t hi) {
  /* two's complement field: v as int64 without relying on a narrowing */
  int64_t x = v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
  return x >= lo && x <= hi;
}
static int64_t as_signed(uint64_t v) { return v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1; }

/* One HOST tensor reference: (u32 tensor, u32 dtype, u64 nbytes). */
static int host_ref_ok(const qrt_npu_stream *s, const uint8_t *p, int is_output) {
  uint32_t t = rd32(p);
  qrt_npu_tensor d;
  if (t == QRT_NPU_NONE) return !is_output;
  if (t >= s->n_tensors) return 0;
  qrt_npu_get_tensor(s, t, &d);
  if (is_output && d.region != QRT_NPU_REGION_DRAM) return 0;
  return d.dtype == rd32(p + 4) && d.nbytes == rd64(p + 8);
}

/* Bytes from BENCODE's first input value to past its last. */
static uint64_t bencode_extent(const uint64_t *f) { return (f[2] - 1) * f[4] + (f[3] - 1) * f[7] + 4; }

static int check_command(const qrt_npu_stream *s, uint32_t i, char *err, size_t cap) {
  qrt_npu_command c;
  const uint64_t sram = s->sram_bytes;
  const uint64_t *f = c.f;
  qrt_npu_get_command(s, i, &c);
  if (c.opcode == 0 || c.opcode >= QRT_NPU_NUM_OPS)
    return fail3(err, cap, "command %u: unknown opcode %u", NULL, i, c.opcode);
  if (!str_ok(s, c.note)) return fail3(err, cap, "command %u (%s): note string out of range", qrt_npu_op_name(c.opcode), i, 0);
#define BAD(why) fail3(err, cap, "command %u (%s): " why, qrt_npu_op_name(c.opcode), i, 0)
  switch (c.opcode) {
  case QRT_NPU_OP_DMA_LOAD:
  case QRT_NPU_OP_DMA_STORE: {
    qrt_npu_tensor t;
    if (f[0] >= s->n_tensors) return BAD("tensor id out of range");
    qrt_npu_get_tensor(s, (uint32_t)f[0], &t);
    if (c.opcode == QRT_NPU_OP_DMA_STORE && t.region != QRT_NPU_REGION_DRAM) return BAD("stores into a constant");
    if (!range_ok(f[1], f[3], f[4], f[5], t.nbytes)) return BAD("DRAM range outside its tensor");
    if (!range_ok(f[2], f[3], f[4], f[6], sram)) return BAD("SRAM range outside the SRAM");
    break;
  }
  case QRT_NPU_OP_MATMUL:
    if (!f[3] || !f[4] || !f[5] || f[3] > (1u << 20) || f[4] > (1u << 20) || f[5] > (1u << 20))
      return BAD("M, N, K must be in [1, 2^20]");
    if (f[6] < f[5] || f[7] < f[4]) return BAD("row stride shorter than a row");
    if (!range_ok(f[0], f[3], f[5], f[6], sram)) return BAD("A outside the SRAM");
    if (!range_ok(f[1], f[5], f[4], f[7], sram)) return BAD("B outside the SRAM");
    if (!range_ok(f[2], f[3], f[4] * 4, f[4] * 4, sram)) return BAD("accumulator outside the SRAM");
    if (!signed_in(f[8], -128, 127)) return BAD("a_zero_point outside [-128, 127]");
    if (f[9] > 1) return BAD("accumulate flag is not 0 or 1");
    if (!(s->config.pe_formats & QRT_NPU_FMT_INT8)) return BAD("the PE array of this config has no int8");
    break;
  case QRT_NPU_OP_MATMUL_I4: {
    const uint64_t G = f[9] >> 32, panel = (f[5] + 3) / 4 * 32; /* bytes of a 16-column panel's K rows */
    if (!f[3] || !f[4] || !f[5] || f[3] > (1u << 20) || f[4] > (1u << 20) || f[5] > (1u << 20))
      return BAD("M, N, K must be in [1, 2^20]");
    if (f[6] < f[5] || f[7] < panel) return BAD("row or panel stride shorter than a row or panel");
    if (!range_ok(f[0], f[3], f[5], f[6], sram)) return BAD("A outside the SRAM");
    if (!range_ok(f[1], (f[4] + 15) / 16, panel, f[7], sram)) return BAD("B outside the SRAM");
    if (!range_ok(f[2], f[3], f[4] * 4, f[4] * 4, sram)) return BAD("accumulator outside the SRAM");
    if (!signed_in(f[8], -128, 127)) return BAD("a_zero_point outside [-128, 127]");
    if ((f[9] & 0xffffffffu) > 1) return BAD("accumulate flag is not 0 or 1");
    if ((f[10] == QRT_NPU_NONE) != (G == 0) || G % 4 || G > (1u << 20))
      return BAD("group size must be a multiple of 4 up to 2^20 with group multipliers, or 0 without");
    if (G && !range_ok(f[10], (f[5] + G - 1) / G, f[4], f[4], sram)) return BAD("group multipliers outside the SRAM");
    if (!(s->config.pe_formats & QRT_NPU_FMT_INT4)) return BAD("the PE array of this config has no int4");
    break;
  }
  case QRT_NPU_OP_BENCODE: {
    const uint64_t rb = qrt_npu_bfmt_row_bytes(f[6], f[3]);
    if (!f[2] || !f[3] || f[2] > (1u << 20) || f[3] > (1u << 20)) return BAD("rows, K must be in [1, 2^20]");
    if (!rb) return BAD("format is not a block format with E8M0 scales");
    if (!(s->config.pe_formats & QRT_NPU_FMT_BLOCK(f[6]))) return BAD("the PE array of this config lacks the format");
    /* rows may interleave (columns of a matrix): the input is checked as
     * one extent, and the work bounded by the values fitting the SRAM */
    if (f[4] >= QRT_NPU_FIELD_LIMIT || f[7] >= QRT_NPU_FIELD_LIMIT || f[2] * f[3] * 4 > sram ||
        !range_ok(f[0], 1, bencode_extent(f), 0, sram))
      return BAD("input outside the SRAM");
    if (!range_ok(f[1], f[2], rb, f[5], sram)) return BAD("output outside the SRAM");
    break;
  }
  case QRT_NPU_OP_BMATMUL: {
    int wide;
    uint64_t arb, wrb;
    if (!f[3] || !f[4] || !f[5] || f[3] > (1u << 20) || f[4] > (1u << 20) || f[5] > (1u << 20))
      return BAD("M, N, K must be in [1, 2^20]");
    if (!qrt_npu_bfmt_pair_ok(f[8], f[10], &wide))
      return BAD("formats the PE array cannot multiply (integer mantissas, E8M0 scales, one block size)");
    if (!(s->config.pe_formats & QRT_NPU_FMT_BLOCK(f[8])) || !(s->config.pe_formats & QRT_NPU_FMT_BLOCK(f[10])))
      return BAD("the PE array of this config lacks the formats");
    arb = qrt_npu_bfmt_row_bytes(f[8], f[5]);
    wrb = qrt_npu_bfmt_row_bytes(f[10], f[5]);
    if (f[6] < arb || f[7] < wrb) return BAD("row or column stride shorter than a row or column");
    if (!range_ok(f[0], f[3], arb, f[6], sram)) return BAD("A outside the SRAM");
    if (!range_ok(f[1], f[4], wrb, f[7], sram)) return BAD("B outside the SRAM");
    if (!range_ok(f[2], f[3], f[4] * 8, f[4] * 8, sram)) return BAD("accumulator outside the SRAM");
    if (f[9] > 1) return BAD("accumulate flag is not 0 or 1");
    break;
  }
  case QRT_NPU_OP_BSCALE:
    if (!f[2] || !f[3] || f[2] > (1u << 20) || f[3] > (1u << 20)) return BAD("M, N must be in [1, 2^20]");
    if (!range_ok(f[0], f[2], f[3] * 8, f[3] * 8, sram)) return BAD("accumulator outside the SRAM");
    if (!range_ok(f[1], f[2], f[3] * 4, f[3] * 4, sram)) return BAD("output outside the SRAM");
    if (f[4] != QRT_NPU_NONE && !range_ok(f[4], 1, f[3] * 4, 0, sram)) return BAD("bias outside the SRAM");
    if (f[5] > 64) return BAD("shift above 64");
    break;
  case QRT_NPU_OP_REQUANT:
    if (!f[2] || !f[3] || f[2] > (1u << 20) || f[3] > (1u << 20)) return BAD("M, N must be in [1, 2^20]");
    if (!range_ok(f[0], f[2], f[3] * 4, f[3] * 4, sram)) return BAD("accumulator outside the SRAM");
    if (!range_ok(f[1], f[2], f[3], f[3], sram)) return BAD("output outside the SRAM");
    if (f[4] != QRT_NPU_NONE && !range_ok(f[4], 1, f[3] * 4, 0, sram)) return BAD("bias outside the SRAM");
    if (!range_ok(f[5], 1, f[3] * 4, 0, sram)) return BAD("multipliers outside the SRAM");
    if (!range_ok(f[6], 1, f[3], 0, sram)) return BAD("shifts outside the SRAM");
    if (!signed_in(f[7], -128, 127) || !signed_in(f[8], -128, 127) || !signed_in(f[9], -128, 127) ||
        as_signed(f[8]) > as_signed(f[9]))
      return BAD("zero point or clamp range outside int8");
    if (f[10] > 1) return BAD("transpose flag is not 0 or 1");
    break;
  case QRT_NPU_OP_ADD:
    if (!range_ok(f[0], 1, f[3], 0, sram) || !range_ok(f[1], 1, f[3], 0, sram) || !range_ok(f[2], 1, f[3], 0, sram))
      return BAD("data outside the SRAM");
    if (!signed_in(f[4], -128, 127) || !signed_in(f[5], -128, 127) || !signed_in(f[6], -128, 127) ||
        !signed_in(f[7], -128, 127) || !signed_in(f[8], -128, 127))
      return BAD("zero points or clamp range outside int8");
    if ((f[9] & 0xffffffffu) >= (1u << 22) || (f[9] >> 32) >= (1u << 22) || f[10] > 31)
      return BAD("multipliers outside [0, 2^22) or shift above 31");
    break;
  case QRT_NPU_OP_MAXPOOL: {
    int k;
    if (!f[2] || !f[3] || !f[4] || f[2] > (1u << 20) || f[3] > (1u << 20) || f[4] > (1u << 20))
      return BAD("planes, H, W must be in [1, 2^20]");
    for (k = 0; k < 4; k++)
      if (((f[5] >> (16 * k)) & 0xffff) == 0 || (k < 2 && ((f[6] >> (16 * k)) & 0xffff) == 0))
        return BAD("kernel, stride and dilation must be at least 1");
    if ((f[7] & 0xffffffffu) == 0 || (f[7] >> 32) == 0 || (f[7] & 0xffffffffu) > (1u << 20) || (f[7] >> 32) > (1u << 20))
      return BAD("output height and width must be in [1, 2^20]");
    if (!range_ok(f[0], f[2], f[3] * f[4], f[3] * f[4], sram)) return BAD("input outside the SRAM");
    if (!range_ok(f[1], f[2], (f[7] & 0xffffffffu) * (f[7] >> 32), (f[7] & 0xffffffffu) * (f[7] >> 32), sram))
      return BAD("output outside the SRAM");
    /* bounds the command's work as the SRAM bounds the others' */
    if (f[2] * (f[7] & 0xffffffffu) * (f[7] >> 32) * (f[5] & 0xffff) * ((f[5] >> 16) & 0xffff) > ((uint64_t)1 << 26))
      return BAD("more than 2^26 window taps");
    break;
  }
  case QRT_NPU_OP_IM2COL: {
    qrt_npu_tensor t;
    int k;
    if (f[0] >= s->n_tensors) return BAD("tensor id out of range");
    qrt_npu_get_tensor(s, (uint32_t)f[0], &t);
    if (!f[5] || !f[6] || !f[7] || f[5] > (1u << 20) || f[6] > (1u << 20) || f[7] > (1u << 20))
      return BAD("channels, H, W must be in [1, 2^20]");
    for (k = 0; k < 4; k++)
      if (((f[8] >> (16 * k)) & 0xffff) == 0 || (k < 2 && ((f[9] >> (16 * k)) & 0xffff) == 0))
        return BAD("kernel, stride and dilation must be at least 1");
    if ((f[10] & 0xffffffffu) == 0 || (f[10] & 0xffffffffu) > (1u << 20) || (f[10] >> 40) != 0)
      return BAD("output width must be in [1, 2^20], pad value a byte");
    if (f[3] >= ((uint64_t)1 << 32)) return BAD("first position out of range");
    if (!range_ok(f[1], 1, f[5] * f[6] * f[7], 0, t.nbytes)) return BAD("DRAM range outside its tensor");
    if (!range_ok(f[2], f[4], f[5] * (f[8] & 0xffff) * ((f[8] >> 16) & 0xffff), f[5] * (f[8] & 0xffff) * ((f[8] >> 16) & 0xffff), sram))
      return BAD("SRAM range outside the SRAM");
    break;
  }
  case QRT_NPU_OP_LUT:
    if (s->config.lut_entries < 256) return BAD("the LUT unit of this config holds fewer than 256 entries");
    if (!range_ok(f[0], 1, f[3], 0, sram) || !range_ok(f[1], 1, f[3], 0, sram)) return BAD("data outside the SRAM");
    if (!range_ok(f[2], 1, 256, 0, sram)) return BAD("table outside the SRAM");
    break;
  case QRT_NPU_OP_HOST: {
    const qrt_npu_host_kernel *k;
    uint64_t j;
    if (!str_ok(s, f[0]) || !str_ok(s, f[5])) return BAD("kernel or reason string out of range");
    k = find_host_kernel(qrt_npu_string(s, f[0]));
    if (!k) return fail3(err, cap, "command %u (HOST): unknown runtime kernel '%s'", qrt_npu_string(s, f[0]), i, 0);
    if (f[2] != k->params_bytes || !range_ok(f[1], 1, f[2], 0, s->hostdata_bytes))
      return BAD("params blob size or range wrong for its kernel");
    if (f[3] > 66) return BAD("more than 66 inputs");
    if (!range_ok(f[4], 1, (f[3] + 1) * 16, 0, s->hostdata_bytes)) return BAD("tensor list outside HOSTDATA");
    for (j = 0; j <= f[3]; j++)
      if (!host_ref_ok(s, s->hostdata + f[4] + 16 * j, j == f[3]))
        return fail3(err, cap, "command %u (HOST): tensor reference %u does not match its tensor", NULL, i, j);
    if (qrt_npu_host_binding(k->name, s->hostdata + f[1], f[2], s->hostdata + f[4], f[3] + 1) != f[6])
      return BAD("kernel, params and tensors are not the ones compiled together (binding hash)");
    break;
  }
  }
#undef BAD
  return 0;
}

int qrt_npu_open(qrt_npu_stream *s, const void *data, uint64_t size, char *err, size_t cap) {
  const uint8_t *p = (const uint8_t *)data;
  const uint8_t *sec[QRT_NPU_NUM_SECTIONS + 1];
  uint64_t sec_bytes[QRT_NPU_NUM_SECTIONS + 1];
  uint64_t table_end, k;
  uint32_t n_sections, i;
  memset(s, 0, sizeof *s);
  memset((void *)sec, 0, sizeof sec);
  if (size < QRT_NPU_HEADER_BYTES) return fail3(err, cap, "stream truncated: %u bytes, the header alone is 64", NULL, size, 0);
  if (memcmp(p, QRT_NPU_MAGIC, 4)) return fail3(err, cap, "not an NPU stream (bad magic)", NULL, 0, 0);
  if (rd32(p + 4) != QRT_NPU_VERSION)
    return fail3(err, cap, "stream version %u, this executor runs version %u", NULL, rd32(p + 4), QRT_NPU_VERSION);
  if ((uintptr_t)data % 16) return fail3(err, cap, "stream buffer is not 16-byte aligned", NULL, 0, 0);
  if (rd64(p + 24) != size)
    return fail3(err, cap, "stream truncated or padded: the header says %u bytes, got %u", NULL, rd64(p + 24), size);
  if (rd32(p + 16) != QRT_NPU_HEADER_BYTES) return fail3(err, cap, "header: header size %u, expected 64", NULL, rd32(p + 16), 0);
  n_sections = rd32(p + 20);
  if (n_sections != QRT_NPU_NUM_SECTIONS)
    return fail3(err, cap, "header: %u sections, expected %u", NULL, n_sections, QRT_NPU_NUM_SECTIONS);
  if (qrt_npu_crc32(p + QRT_NPU_HEADER_BYTES, size - QRT_NPU_HEADER_BYTES) != rd32(p + 32))
    return fail3(err, cap, "stream corrupted: CRC-32 mismatch", NULL, 0, 0);
  table_end = QRT_NPU_HEADER_BYTES + (uint64_t)n_sections * QRT_NPU_SECTION_ENTRY_BYTES;
  if (table_end > size) return fail3(err, cap, "section table truncated", NULL, 0, 0);
  for (i = 0; i < n_sections; i++) {
    const uint8_t *e = p + QRT_NPU_HEADER_BYTES + (uint64_t)i * QRT_NPU_SECTION_ENTRY_BYTES;
    uint32_t kind = rd32(e);
    uint64_t off = rd64(e + 8), bytes = rd64(e + 16);
    if (kind == 0 || kind > QRT_NPU_NUM_SECTIONS || sec[kind])
      return fail3(err, cap, "section table entry %u: unknown or repeated kind %u", NULL, i, kind);
    if (off % QRT_NPU_ALIGN || off < table_end || off > size || bytes > size - off)
      return fail3(err, cap, "section %u: offset %u outside the stream or misaligned", NULL, kind, off);
    sec[kind] = p + off;
    sec_bytes[kind] = bytes;
  }
  s->base = p;
  s->size = size;
  s->config_hash = rd64(p + 8);
  /* CONFIG */
  if (sec_bytes[QRT_NPU_SEC_CONFIG] != 8 * (uint64_t)qrt_npu_config_num_fields())
    return fail3(err, cap, "section CONFIG: %u bytes, expected %u", NULL, sec_bytes[QRT_NPU_SEC_CONFIG],
                 8 * (uint64_t)qrt_npu_config_num_fields());
  for (i = 0; i < (uint32_t)qrt_npu_config_num_fields(); i++)
    *qrt_npu_config_field(&s->config, (int)i, NULL) = rd64(sec[QRT_NPU_SEC_CONFIG] + 8 * i);
  if (qrt_npu_config_check(&s->config, err, cap)) return -1;
  if (qrt_npu_config_hash(&s->config) != s->config_hash)
    return fail3(err, cap, "header: config hash does not match section CONFIG", NULL, 0, 0);
  s->sram_bytes = s->config.sram_banks * s->config.sram_bank_bytes;
  /* STRINGS */
  s->strings = sec[QRT_NPU_SEC_STRINGS];
  s->strings_bytes = sec_bytes[QRT_NPU_SEC_STRINGS];
  if (s->strings_bytes == 0 || s->strings[s->strings_bytes - 1] != 0)
    return fail3(err, cap, "section STRINGS: does not end with a NUL", NULL, 0, 0);
  s->consts = sec[QRT_NPU_SEC_CONSTS];
  s->consts_bytes = sec_bytes[QRT_NPU_SEC_CONSTS];
  s->hostdata = sec[QRT_NPU_SEC_HOSTDATA];
  s->hostdata_bytes = sec_bytes[QRT_NPU_SEC_HOSTDATA];
  /* IO (before TENSORS: it holds the DRAM size tensors are checked against) */
  s->io = sec[QRT_NPU_SEC_IO];
  if (sec_bytes[QRT_NPU_SEC_IO] < 16) return fail3(err, cap, "section IO: truncated", NULL, 0, 0);
  s->dram_bytes = rd64(s->io);
  s->n_inputs = rd32(s->io + 8);
  s->n_outputs = rd32(s->io + 12);
  if (s->dram_bytes >= QRT_NPU_FIELD_LIMIT) return fail3(err, cap, "section IO: DRAM size %u too large", NULL, s->dram_bytes, 0);
  if (s->n_inputs > 4096 || s->n_outputs > 4096 ||
      sec_bytes[QRT_NPU_SEC_IO] < 16 + 8 * ((uint64_t)s->n_inputs + s->n_outputs))
    return fail3(err, cap, "section IO: truncated", NULL, 0, 0);
  /* TENSORS */
  s->tensors = sec[QRT_NPU_SEC_TENSORS];
  if (sec_bytes[QRT_NPU_SEC_TENSORS] < 4) return fail3(err, cap, "section TENSORS: truncated", NULL, 0, 0);
  s->n_tensors = rd32(s->tensors);
  if ((uint64_t)s->n_tensors * QRT_NPU_TENSOR_BYTES > sec_bytes[QRT_NPU_SEC_TENSORS] - 4)
    return fail3(err, cap, "section TENSORS: %u tensors do not fit in it", NULL, s->n_tensors, 0);
  for (i = 0; i < s->n_tensors; i++) {
    qrt_npu_tensor t;
    uint64_t numel = 1, es;
    qrt_npu_get_tensor(s, i, &t);
    es = dtype_bytes(t.dtype);
    if (t.region > QRT_NPU_REGION_DRAM || es == 0 || t.rank > 8 || (t.name != QRT_NPU_NONE && !str_ok(s, t.name)))
      return fail3(err, cap, "tensor %u: bad region, dtype, rank or name", NULL, i, 0);
    for (k = 0; k < t.rank; k++) {
      if (t.dims[k] < 0 || (uint64_t)t.dims[k] >= QRT_NPU_FIELD_LIMIT) return fail3(err, cap, "tensor %u: bad dim", NULL, i, 0);
      numel *= (uint64_t)t.dims[k];
      if (numel >= QRT_NPU_FIELD_LIMIT) return fail3(err, cap, "tensor %u: too large", NULL, i, 0);
    }
    if (numel * es != t.nbytes) return fail3(err, cap, "tensor %u: %u bytes do not match its shape", NULL, i, t.nbytes);
    if (t.offset % 16 || t.offset >= QRT_NPU_FIELD_LIMIT ||
        t.offset + t.nbytes > (t.region == QRT_NPU_REGION_CONST ? s->consts_bytes : s->dram_bytes))
      return fail3(err, cap, "tensor %u: offset %u misaligned or outside its region", NULL, i, t.offset);
  }
  for (i = 0; i < s->n_inputs + s->n_outputs; i++) {
    const uint8_t *e = s->io + 16 + 8 * (uint64_t)i;
    qrt_npu_tensor t;
    if (rd32(e) >= s->n_tensors || !str_ok(s, rd32(e + 4)))
      return fail3(err, cap, "section IO: entry %u names no tensor or no string", NULL, i, 0);
    qrt_npu_get_tensor(s, rd32(e), &t);
    if (i < s->n_inputs && t.region != QRT_NPU_REGION_DRAM)
      return fail3(err, cap, "section IO: input %u is not in DRAM", NULL, i, 0);
  }
  /* COMMANDS */
  s->commands = sec[QRT_NPU_SEC_COMMANDS];
  if (sec_bytes[QRT_NPU_SEC_COMMANDS] < 4) return fail3(err, cap, "section COMMANDS: truncated", NULL, 0, 0);
  s->n_commands = rd32(s->commands);
  if ((uint64_t)s->n_commands * QRT_NPU_COMMAND_BYTES > sec_bytes[QRT_NPU_SEC_COMMANDS] - 4)
    return fail3(err, cap, "section COMMANDS: %u commands do not fit in it", NULL, s->n_commands, 0);
  for (i = 0; i < s->n_commands; i++)
    if (check_command(s, i, err, cap)) return -1;
  return 0;
}

/* ---- execution ---------------------------------------------------------------- */
static int32_t ld_i32(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* acc[m][n] (+)= sum_k (a[m][k] - za) * b[k][n] modulo 2^32, as qrt_qmatmul.c. */
static void run_matmul(uint8_t *sram, const uint64_t *f) {
  const int8_t *a = (const int8_t *)(sram + f[0]), *b = (const int8_t *)(sram + f[1]);
  uint8_t *acc = sram + f[2];
  const uint64_t M = f[3], N = f[4], K = f[5], lda = f[6], ldb = f[7];
  const int32_t za = (int32_t)as_signed(f[8]);
  uint64_t m, n, k;
  for (m = 0; m < M; m++)
    for (n = 0; n < N; n++) {
      uint32_t sum = f[9] ? (uint32_t)ld_i32(acc + 4 * (m * N + n)) : 0u;
      int32_t v;
      for (k = 0; k < K; k++) sum += (uint32_t)((a[m * lda + k] - za) * b[k * ldb + n]);
      v = (int32_t)sum; /* two's complement narrowing, as the runtime */
      memcpy(acc + 4 * (m * N + n), &v, 4);
    }
}

/* qrt_qmatmul_i8's epilogue: requant((int64)acc + bias[n]; mult[n], shift[n]),
 * written as [M][N], or as [N][M] when transposed (a convolution's GEMM
 * has positions as rows and channels as columns; NCHW wants them swapped). */
static void run_requant(uint8_t *sram, const uint64_t *f) {
  const uint64_t M = f[2], N = f[3];
  const int32_t zp = (int32_t)as_signed(f[7]), lo = (int32_t)as_signed(f[8]), hi = (int32_t)as_signed(f[9]);
  uint64_t m, n;
  for (m = 0; m < M; m++)
    for (n = 0; n < N; n++) {
      const int64_t t = (int64_t)ld_i32(sram + f[0] + 4 * (m * N + n)) +
                        (f[4] != QRT_NPU_NONE ? (int64_t)ld_i32(sram + f[4] + 4 * n) : 0);
      const int32_t shift = (int8_t)sram[f[6] + n];
      sram[f[1] + (f[10] ? n * M + m : m * N + n)] = (uint8_t)(int8_t)qrt_requant(t, ld_i32(sram + f[5] + 4 * n), shift, zp, lo, hi);
    }
}

static void run_dma(uint8_t *sram, uint8_t *tensor, const uint64_t *f, int load) {
  uint64_t r;
  for (r = 0; r < f[3]; r++) {
    uint8_t *d = tensor + f[1] + r * f[5], *q = sram + f[2] + r * f[6];
    if (load) memcpy(q, d, (size_t)f[4]);
    else memcpy(d, q, (size_t)f[4]);
  }
}

/* qrt_qadd_i8 without broadcasting: the runtime's own element function. */
static void run_add(uint8_t *sram, const uint64_t *f) {
  qrt_qadd_ctx c;
  uint64_t i;
  qrt_qadd_ctx_init(&c, (int32_t)as_signed(f[4]), (int32_t)as_signed(f[5]), (int32_t)as_signed(f[6]),
                    (int32_t)as_signed(f[7]), (int32_t)as_signed(f[8]), (int32_t)(f[9] & 0xffffffffu),
                    (int32_t)(f[9] >> 32), (int32_t)f[10]);
  for (i = 0; i < f[3]; i++)
    sram[f[2] + i] = (uint8_t)qrt_qadd_one(&c, (int8_t)sram[f[0] + i], (int8_t)sram[f[1] + i]);
}

/* qrt_maxpool_i8 on planes in SRAM: each output cell is the largest input
 * cell its window covers inside the plane, -128 when it covers none
 * (cells outside are skipped, as qrt_pool.c does). */
static void run_maxpool(uint8_t *sram, const uint64_t *f) {
  const int64_t H = (int64_t)f[3], W = (int64_t)f[4];
  const int64_t KH = (int64_t)(f[5] & 0xffff), KW = (int64_t)((f[5] >> 16) & 0xffff);
  const int64_t SH = (int64_t)((f[5] >> 32) & 0xffff), SW = (int64_t)(f[5] >> 48);
  const int64_t DH = (int64_t)(f[6] & 0xffff), DW = (int64_t)((f[6] >> 16) & 0xffff);
  const int64_t PH = (int64_t)((f[6] >> 32) & 0xffff), PW = (int64_t)(f[6] >> 48);
  const int64_t OH = (int64_t)(f[7] & 0xffffffffu), OW = (int64_t)(f[7] >> 32);
  uint64_t pl;
  int64_t oh, ow, kh, kw;
  for (pl = 0; pl < f[2]; pl++) {
    const int8_t *x = (const int8_t *)(sram + f[0] + pl * (uint64_t)(H * W));
    uint8_t *y = sram + f[1] + pl * (uint64_t)(OH * OW);
    for (oh = 0; oh < OH; oh++)
      for (ow = 0; ow < OW; ow++) {
        int32_t m = -128;
        for (kh = 0; kh < KH; kh++)
          for (kw = 0; kw < KW; kw++) {
            const int64_t ih = oh * SH + kh * DH - PH, iw = ow * SW + kw * DW - PW;
            if (ih >= 0 && ih < H && iw >= 0 && iw < W && x[ih * W + iw] > m) m = x[ih * W + iw];
          }
        y[oh * OW + ow] = (uint8_t)(int8_t)m;
      }
  }
}

/* Rows of the im2row matrix of one image (and group): row j, for output
 * position p = p0 + j = oh * OW + ow, holds x[c][ih][iw] for (c, kh, kw)
 * row-major, ih = oh*sh + kh*dh - ph, iw = ow*sw + kw*dw - pw, or the pad
 * value (the activation zero point) outside the image: qrt_qconv.c's
 * im2row. */
static void run_im2col(uint8_t *sram, const uint8_t *x, const uint64_t *f) {
  const int64_t C = (int64_t)f[5], H = (int64_t)f[6], W = (int64_t)f[7];
  const int64_t KH = (int64_t)(f[8] & 0xffff), KW = (int64_t)((f[8] >> 16) & 0xffff);
  const int64_t SH = (int64_t)((f[8] >> 32) & 0xffff), SW = (int64_t)(f[8] >> 48);
  const int64_t DH = (int64_t)(f[9] & 0xffff), DW = (int64_t)((f[9] >> 16) & 0xffff);
  const int64_t PH = (int64_t)((f[9] >> 32) & 0xffff), PW = (int64_t)(f[9] >> 48);
  const int64_t OW = (int64_t)(f[10] & 0xffffffffu);
  const uint8_t pad = (uint8_t)(f[10] >> 32);
  uint8_t *dst = sram + f[2];
  uint64_t j;
  int64_t c, kh, kw;
  x += f[1];
  for (j = 0; j < f[4]; j++) {
    const int64_t pos = (int64_t)(f[3] + j), oh = pos / OW, ow = pos % OW;
    for (c = 0; c < C; c++)
      for (kh = 0; kh < KH; kh++)
        for (kw = 0; kw < KW; kw++) {
          const int64_t ih = oh * SH + kh * DH - PH, iw = ow * SW + kw * DW - PW;
          *dst++ = ih >= 0 && ih < H && iw >= 0 && iw < W ? x[(c * H + ih) * W + iw] : pad;
        }
  }
}

static void run_host(const qrt_npu_stream *s, uint8_t *dram, const uint64_t *f, uint64_t *bytes) {
  const qrt_npu_host_kernel *k = find_host_kernel(qrt_npu_string(s, f[0]));
  const void *in[66];
  void *out[3] = {NULL, NULL, NULL};
  qrt_npu_params params;
  uint64_t j;
  *bytes = 0;
  memcpy(&params, s->hostdata + f[1], (size_t)f[2]);
  for (j = 0; j <= f[3]; j++) {
    const uint8_t *ref = s->hostdata + f[4] + 16 * j;
    void *ptr = rd32(ref) == QRT_NPU_NONE ? NULL : qrt_npu_tensor_data(s, dram, rd32(ref));
    if (j < f[3]) in[j] = ptr;
    else out[0] = ptr;
    if (ptr) *bytes += rd64(ref + 8);
  }
  k->fn(&params, in, out);
}

/* Bytes an IM2COL writes into SRAM (and gathers from DRAM). */
static uint64_t im2col_bytes(const uint64_t *f) { return f[4] * f[5] * (f[8] & 0xffff) * ((f[8] >> 16) & 0xffff); }

/* Cycles a command takes on its engine (docs/npu.md, "Cost model"). */
static uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

static uint64_t command_cycles(const qrt_npu_config *cfg, const qrt_npu_command *c) {
  const uint64_t *f = c->f;
  switch (c->opcode) {
  case QRT_NPU_OP_DMA_LOAD:
  case QRT_NPU_OP_DMA_STORE: return cfg->dma_latency_cycles + ceil_div(f[3] * f[4], cfg->dma_bytes_per_cycle);
  case QRT_NPU_OP_IM2COL: return cfg->dma_latency_cycles + ceil_div(im2col_bytes(f), cfg->dma_bytes_per_cycle);
  case QRT_NPU_OP_MATMUL:
    return cfg->pe_rows + cfg->pe_cols + ceil_div(f[3], cfg->pe_rows) * ceil_div(f[4], cfg->pe_cols) * f[5];
  case QRT_NPU_OP_MATMUL_I4: /* two int4 k per cycle; grouped: one more cycle per group (the multiply-add) */
    return cfg->pe_rows + cfg->pe_cols +
           ceil_div(f[3], cfg->pe_rows) * ceil_div(f[4], cfg->pe_cols) *
               (ceil_div(f[5], 2) + (f[9] >> 32 ? ceil_div(f[5], f[9] >> 32) : 0));
  case QRT_NPU_OP_BMATMUL: { /* whole blocks, one k per cycle (two for mantissas over 8 bits), one cycle per block
                              * to add the exponents and accumulate */
    const uint64_t blk = qrt_npu_bfmt_block(f[8]), nb = ceil_div(f[5], blk);
    int wide = 0;
    (void)qrt_npu_bfmt_pair_ok(f[8], f[10], &wide);
    return cfg->pe_rows + cfg->pe_cols +
           ceil_div(f[3], cfg->pe_rows) * ceil_div(f[4], cfg->pe_cols) * (nb * blk * (wide ? 2u : 1u) + nb);
  }
  case QRT_NPU_OP_BENCODE:
    return cfg->vector_latency_cycles +
           ceil_div(f[2] * ceil_div(f[3], qrt_npu_bfmt_block(f[6])) * qrt_npu_bfmt_block(f[6]) *
                        qrt_npu_bencode_passes(f[6]),
                    cfg->vector_lanes);
  case QRT_NPU_OP_BSCALE: return cfg->vector_latency_cycles + ceil_div(f[2] * f[3], cfg->vector_lanes);
  case QRT_NPU_OP_REQUANT: return cfg->vector_latency_cycles + ceil_div(f[2] * f[3], cfg->vector_lanes);
  case QRT_NPU_OP_LUT: return cfg->vector_latency_cycles + ceil_div(f[3], cfg->lut_lanes);
  case QRT_NPU_OP_ADD: return cfg->vector_latency_cycles + ceil_div(f[3], cfg->vector_lanes);
  case QRT_NPU_OP_MAXPOOL: /* one window tap per lane per cycle */
    return cfg->vector_latency_cycles +
           ceil_div(f[2] * (f[7] & 0xffffffffu) * (f[7] >> 32) * (f[5] & 0xffff) * ((f[5] >> 16) & 0xffff),
                    cfg->vector_lanes);
  default: return 0;
  }
}

/* SRAM ranges a command reads (rd) and writes (wr), up to four each, as [lo, hi). */
typedef struct qrt_npu_ranges {
  uint64_t lo[4], hi[4];
  int n;
} qrt_npu_ranges;

static void add_range(qrt_npu_ranges *r, uint64_t addr, uint64_t rows, uint64_t row_bytes, uint64_t stride) {
  r->lo[r->n] = addr;
  r->hi[r->n] = addr + (rows - 1) * stride + row_bytes;
  r->n++;
}

static void command_ranges(const qrt_npu_command *c, qrt_npu_ranges *rd, qrt_npu_ranges *wr) {
  const uint64_t *f = c->f;
  rd->n = wr->n = 0;
  switch (c->opcode) {
  case QRT_NPU_OP_DMA_LOAD: add_range(wr, f[2], f[3], f[4], f[6]); break;
  case QRT_NPU_OP_DMA_STORE: add_range(rd, f[2], f[3], f[4], f[6]); break;
  case QRT_NPU_OP_IM2COL: add_range(wr, f[2], 1, im2col_bytes(f), 0); break;
  case QRT_NPU_OP_MATMUL:
    add_range(rd, f[0], f[3], f[5], f[6]);
    add_range(rd, f[1], f[5], f[4], f[7]);
    if (f[9]) add_range(rd, f[2], 1, f[3] * f[4] * 4, 0);
    add_range(wr, f[2], 1, f[3] * f[4] * 4, 0);
    break;
  case QRT_NPU_OP_MATMUL_I4:
    add_range(rd, f[0], f[3], f[5], f[6]);
    add_range(rd, f[1], (f[4] + 15) / 16, (f[5] + 3) / 4 * 32, f[7]);
    if (f[10] != QRT_NPU_NONE) add_range(rd, f[10], 1, ceil_div(f[5], f[9] >> 32) * f[4], 0);
    if (f[9] & 1u) add_range(rd, f[2], 1, f[3] * f[4] * 4, 0);
    add_range(wr, f[2], 1, f[3] * f[4] * 4, 0);
    break;
  case QRT_NPU_OP_BMATMUL:
    add_range(rd, f[0], f[3], qrt_npu_bfmt_row_bytes(f[8], f[5]), f[6]);
    add_range(rd, f[1], f[4], qrt_npu_bfmt_row_bytes(f[10], f[5]), f[7]);
    if (f[9]) add_range(rd, f[2], 1, f[3] * f[4] * 8, 0);
    add_range(wr, f[2], 1, f[3] * f[4] * 8, 0);
    break;
  case QRT_NPU_OP_BENCODE:
    add_range(rd, f[0], 1, bencode_extent(f), 0);
    add_range(wr, f[1], f[2], qrt_npu_bfmt_row_bytes(f[6], f[3]), f[5]);
    break;
  case QRT_NPU_OP_BSCALE:
    add_range(rd, f[0], 1, f[2] * f[3] * 8, 0);
    if (f[4] != QRT_NPU_NONE) add_range(rd, f[4], 1, f[3] * 4, 0);
    add_range(wr, f[1], 1, f[2] * f[3] * 4, 0);
    break;
  case QRT_NPU_OP_REQUANT:
    add_range(rd, f[0], 1, f[2] * f[3] * 4, 0);
    if (f[4] != QRT_NPU_NONE) add_range(rd, f[4], 1, f[3] * 4, 0);
    add_range(rd, f[5], 1, f[3] * 4, 0);
    add_range(rd, f[6], 1, f[3], 0);
    add_range(wr, f[1], 1, f[2] * f[3], 0);
    break;
  case QRT_NPU_OP_MAXPOOL:
    add_range(rd, f[0], 1, f[2] * f[3] * f[4], 0);
    add_range(wr, f[1], 1, f[2] * (f[7] & 0xffffffffu) * (f[7] >> 32), 0);
    break;
  case QRT_NPU_OP_ADD:
    add_range(rd, f[0], 1, f[3], 0);
    add_range(rd, f[1], 1, f[3], 0);
    add_range(wr, f[2], 1, f[3], 0);
    break;
  case QRT_NPU_OP_LUT:
    add_range(rd, f[0], 1, f[3], 0);
    add_range(rd, f[2], 1, 256, 0);
    add_range(wr, f[1], 1, f[3], 0);
    break;
  default: break;
  }
}

/* The timeline: when each engine is free, when each SRAM bank was last
 * written and last read, when each DRAM tensor (hashed to 64 slots: a
 * collision only adds a wait) was last stored. */
typedef struct qrt_npu_clock {
  uint64_t engine_free[QRT_NPU_NUM_ENGINES];
  uint64_t bank_written[64], bank_read[64];
  uint64_t tensor_stored[64];
  uint64_t now_max;
} qrt_npu_clock;

static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static void schedule(qrt_npu_clock *ck, const qrt_npu_config *cfg, const qrt_npu_command *c, uint64_t dur,
                     qrt_npu_command_cost *cost, uint64_t *sram_peak) {
  qrt_npu_ranges rd, wr;
  const int e = qrt_npu_op_engine(c->opcode);
  uint64_t start = ck->engine_free[e], b, end;
  int i;
  command_ranges(c, &rd, &wr);
  if (e == QRT_NPU_ENGINE_HOST) { /* a barrier: everything before it is done */
    start = ck->now_max;
  }
  if (c->opcode == QRT_NPU_OP_DMA_LOAD || c->opcode == QRT_NPU_OP_IM2COL) start = max_u64(start, ck->tensor_stored[c->f[0] % 64]);
  for (i = 0; i < rd.n; i++)
    for (b = rd.lo[i] / cfg->sram_bank_bytes; b * cfg->sram_bank_bytes < rd.hi[i]; b++) start = max_u64(start, ck->bank_written[b]);
  for (i = 0; i < wr.n; i++)
    for (b = wr.lo[i] / cfg->sram_bank_bytes; b * cfg->sram_bank_bytes < wr.hi[i]; b++)
      start = max_u64(start, max_u64(ck->bank_written[b], ck->bank_read[b]));
  end = start + dur;
  ck->engine_free[e] = end;
  for (i = 0; i < rd.n; i++) {
    for (b = rd.lo[i] / cfg->sram_bank_bytes; b * cfg->sram_bank_bytes < rd.hi[i]; b++)
      ck->bank_read[b] = max_u64(ck->bank_read[b], end);
    *sram_peak = max_u64(*sram_peak, rd.hi[i]);
  }
  for (i = 0; i < wr.n; i++) {
    for (b = wr.lo[i] / cfg->sram_bank_bytes; b * cfg->sram_bank_bytes < wr.hi[i]; b++) ck->bank_written[b] = end;
    *sram_peak = max_u64(*sram_peak, wr.hi[i]);
  }
  if (c->opcode == QRT_NPU_OP_DMA_STORE) ck->tensor_stored[c->f[0] % 64] = max_u64(ck->tensor_stored[c->f[0] % 64], end);
  if (e == QRT_NPU_ENGINE_HOST) /* later loads of anything the host wrote wait for it */
    for (i = 0; i < 64; i++) ck->tensor_stored[i] = max_u64(ck->tensor_stored[i], end);
  ck->now_max = max_u64(ck->now_max, end);
  cost->start = start;
  cost->end = end;
}

int qrt_npu_run(const qrt_npu_stream *s, uint8_t *dram, uint8_t *sram, qrt_npu_stats *st,
                qrt_npu_command_cost *costs, char *err, size_t cap) {
  qrt_npu_clock ck;
  uint32_t i;
  if (!s->base) return fail3(err, cap, "qrt_npu_run: the stream was not opened", NULL, 0, 0);
  memset(&ck, 0, sizeof ck);
  memset(st, 0, sizeof *st);
  for (i = 0; i < s->n_commands; i++) {
    qrt_npu_command c;
    qrt_npu_command_cost cost;
    uint64_t dur;
    memset(&cost, 0, sizeof cost);
    qrt_npu_get_command(s, i, &c);
    dur = command_cycles(&s->config, &c);
    switch (c.opcode) {
    case QRT_NPU_OP_DMA_LOAD:
    case QRT_NPU_OP_DMA_STORE: {
      uint8_t *t = (uint8_t *)qrt_npu_tensor_data(s, dram, (uint32_t)c.f[0]);
      run_dma(sram, t, c.f, c.opcode == QRT_NPU_OP_DMA_LOAD);
      cost.dram_bytes = c.f[3] * c.f[4];
      if (c.opcode == QRT_NPU_OP_DMA_LOAD) st->dram_read_bytes += cost.dram_bytes;
      else st->dram_write_bytes += cost.dram_bytes;
      break;
    }
    case QRT_NPU_OP_IM2COL:
      run_im2col(sram, (const uint8_t *)qrt_npu_tensor_data(s, dram, (uint32_t)c.f[0]), c.f);
      cost.dram_bytes = im2col_bytes(c.f);
      st->dram_read_bytes += cost.dram_bytes;
      break;
    case QRT_NPU_OP_MATMUL:
      run_matmul(sram, c.f);
      cost.macs = c.f[3] * c.f[4] * c.f[5];
      st->macs += cost.macs;
      st->pe_slots += cost.macs;
      break;
    case QRT_NPU_OP_MATMUL_I4:
      qrt_npu_run_matmul_i4(sram, c.f);
      cost.macs = c.f[3] * c.f[4] * c.f[5];
      st->macs += cost.macs;
      st->pe_slots += c.f[3] * c.f[4] * ceil_div(c.f[5], 2);
      break;
    case QRT_NPU_OP_BMATMUL: {
      int wide = 0;
      qrt_npu_run_bmatmul(sram, c.f);
      (void)qrt_npu_bfmt_pair_ok(c.f[8], c.f[10], &wide);
      cost.macs = c.f[3] * c.f[4] * c.f[5];
      st->macs += cost.macs;
      st->pe_slots += cost.macs * (wide ? 2u : 1u);
      break;
    }
    case QRT_NPU_OP_BENCODE: qrt_npu_run_bencode(sram, c.f); break;
    case QRT_NPU_OP_BSCALE: qrt_npu_run_bscale(sram, c.f); break;
    case QRT_NPU_OP_REQUANT: run_requant(sram, c.f); break;
    case QRT_NPU_OP_ADD: run_add(sram, c.f); break;
    case QRT_NPU_OP_MAXPOOL: run_maxpool(sram, c.f); break;
    case QRT_NPU_OP_LUT: {
      uint64_t j;
      for (j = 0; j < c.f[3]; j++) sram[c.f[1] + j] = sram[c.f[2] + (uint8_t)(sram[c.f[0] + j] ^ 0x80u)];
      break;
    }
    case QRT_NPU_OP_HOST:
      run_host(s, dram, c.f, &cost.dram_bytes);
      st->host_bytes += cost.dram_bytes;
      break;
    default: return fail3(err, cap, "command %u: unknown opcode (stream not validated)", NULL, i, 0);
    }
    schedule(&ck, &s->config, &c, dur, &cost, &st->sram_peak);
    st->busy[qrt_npu_op_engine(c.opcode)] += dur;
    st->commands[qrt_npu_op_engine(c.opcode)]++;
    if (costs) costs[i] = cost;
  }
  st->cycles = ck.now_max;
  return 0;
}
