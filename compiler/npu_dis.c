/* npu_dis.c - `qcc dis`: an NPU stream as text, one line per command,
 * grouped under the ONNX node each run of commands came from.  The
 * stream is validated first (a bad stream is refused, as by `qcc sim`).
 * The format is what lit tests check the lowering with (docs/npu.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu_tools.h"
#include "qrt.h"
#include "qcc.h"

static const char *dtype_str(uint32_t dt) { return qcc_dtype_name((qrt_dtype)dt); }

static void print_tensor(const qrt_npu_stream *s, uint32_t id) {
  qrt_npu_tensor t;
  qrt_npu_get_tensor(s, id, &t);
  printf("t%u %s %s", id, t.region == QRT_NPU_REGION_CONST ? "const" : "dram", dtype_str(t.dtype));
  for (uint32_t k = 0; k < t.rank; k++) printf("%s%lld", k ? "x" : " ", (long long)t.dims[k]);
  printf(" @%llu (%llu B)", (unsigned long long)t.offset, (unsigned long long)t.nbytes);
}

static const char *bformat_name(uint64_t f) {
  const qrt_bformat *b = f < QRT_BFORMAT_COUNT ? qrt_bformat_get((int32_t)f) : NULL;
  return b ? b->name : "?";
}

static long long sv(uint64_t v) { return (long long)(int64_t)v; }

static void print_command(const qrt_npu_stream *s, uint32_t i, const qrt_npu_command *c) {
  const uint64_t *f = c->f;
  printf("%5u: %-9s ", i, qrt_npu_op_name(c->opcode));
  switch (c->opcode) {
  case QRT_NPU_OP_DMA_LOAD:
    printf("t%llu+%llu -> sram 0x%llx [%llu x %llu B, dram stride %llu, sram stride %llu]", (unsigned long long)f[0],
           (unsigned long long)f[1], (unsigned long long)f[2], (unsigned long long)f[3], (unsigned long long)f[4],
           (unsigned long long)f[5], (unsigned long long)f[6]);
    break;
  case QRT_NPU_OP_DMA_STORE:
    printf("sram 0x%llx -> t%llu+%llu [%llu x %llu B, dram stride %llu, sram stride %llu]", (unsigned long long)f[2],
           (unsigned long long)f[0], (unsigned long long)f[1], (unsigned long long)f[3], (unsigned long long)f[4],
           (unsigned long long)f[5], (unsigned long long)f[6]);
    break;
  case QRT_NPU_OP_MATMUL:
    printf("acc 0x%llx %s a 0x%llx [%llux%llu, ld %llu] * b 0x%llx [%llux%llu, ld %llu], a_zp %lld",
           (unsigned long long)f[2], f[9] ? "+=" : "=", (unsigned long long)f[0], (unsigned long long)f[3],
           (unsigned long long)f[5], (unsigned long long)f[6], (unsigned long long)f[1], (unsigned long long)f[5],
           (unsigned long long)f[4], (unsigned long long)f[7], sv(f[8]));
    break;
  case QRT_NPU_OP_MATMUL_I4:
    printf("acc 0x%llx %s a 0x%llx [%llux%llu, ld %llu] * b 0x%llx int4 [%llux%llu, panels of 16 columns, ld %llu], "
           "a_zp %lld",
           (unsigned long long)f[2], f[9] & 1u ? "+=" : "=", (unsigned long long)f[0], (unsigned long long)f[3],
           (unsigned long long)f[5], (unsigned long long)f[6], (unsigned long long)f[1], (unsigned long long)f[5],
           (unsigned long long)f[4], (unsigned long long)f[7], sv(f[8]));
    if (f[10] != QRT_NPU_NONE)
      printf(", groups of %llu x gmult 0x%llx", (unsigned long long)(f[9] >> 32), (unsigned long long)f[10]);
    break;
  case QRT_NPU_OP_BENCODE:
    printf("out 0x%llx %s = encode(in 0x%llx f32 [%llux%llu, ld %llu B, step %llu B]), ld %llu B", (unsigned long long)f[1],
           bformat_name(f[6]), (unsigned long long)f[0], (unsigned long long)f[2], (unsigned long long)f[3],
           (unsigned long long)f[4], (unsigned long long)f[7], (unsigned long long)f[5]);
    break;
  case QRT_NPU_OP_BMATMUL:
    printf("acc 0x%llx f64 %s a 0x%llx %s [%llux%llu, ld %llu B] * b 0x%llx %s [%llux%llu, columns, ld %llu B]",
           (unsigned long long)f[2], f[9] ? "+=" : "=", (unsigned long long)f[0], bformat_name(f[8]),
           (unsigned long long)f[3], (unsigned long long)f[5], (unsigned long long)f[6], (unsigned long long)f[1],
           bformat_name(f[10]), (unsigned long long)f[5], (unsigned long long)f[4], (unsigned long long)f[7]);
    break;
  case QRT_NPU_OP_BSCALE:
    printf("out 0x%llx f32 = acc 0x%llx [%llux%llu] * 2^-%llu", (unsigned long long)f[1], (unsigned long long)f[0],
           (unsigned long long)f[2], (unsigned long long)f[3], (unsigned long long)f[5]);
    if (f[4] != QRT_NPU_NONE) printf(" + bias 0x%llx", (unsigned long long)f[4]);
    break;
  case QRT_NPU_OP_REQUANT:
    printf("out 0x%llx i8 = requant(acc 0x%llx [%llux%llu]", (unsigned long long)f[1], (unsigned long long)f[0],
           (unsigned long long)f[2], (unsigned long long)f[3]);
    if (f[4] != QRT_NPU_NONE) printf(" + bias 0x%llx", (unsigned long long)f[4]);
    printf("; mult 0x%llx, shift 0x%llx, zp %lld, clamp [%lld, %lld])%s", (unsigned long long)f[5],
           (unsigned long long)f[6], sv(f[7]), sv(f[8]), sv(f[9]), f[10] ? " transposed" : "");
    break;
  case QRT_NPU_OP_ADD:
    printf("out 0x%llx = qadd(a 0x%llx - %lld, b 0x%llx - %lld; mult %llu, %llu, shift %llu, zp %lld, clamp [%lld, "
           "%lld]), %llu B",
           (unsigned long long)f[2], (unsigned long long)f[0], sv(f[4]), (unsigned long long)f[1], sv(f[5]),
           (unsigned long long)(f[9] & 0xffffffffu), (unsigned long long)(f[9] >> 32), (unsigned long long)f[10],
           sv(f[6]), sv(f[7]), sv(f[8]), (unsigned long long)f[3]);
    break;
  case QRT_NPU_OP_MAXPOOL:
    printf("out 0x%llx = maxpool(in 0x%llx [%llu planes of %llux%llu], kernel %llux%llu, stride %llux%llu, dilation "
           "%llux%llu, pad %llux%llu) [%llux%llu]",
           (unsigned long long)f[1], (unsigned long long)f[0], (unsigned long long)f[2], (unsigned long long)f[3],
           (unsigned long long)f[4], (unsigned long long)(f[5] & 0xffff), (unsigned long long)((f[5] >> 16) & 0xffff),
           (unsigned long long)((f[5] >> 32) & 0xffff), (unsigned long long)(f[5] >> 48),
           (unsigned long long)(f[6] & 0xffff), (unsigned long long)((f[6] >> 16) & 0xffff),
           (unsigned long long)((f[6] >> 32) & 0xffff), (unsigned long long)(f[6] >> 48),
           (unsigned long long)(f[7] & 0xffffffffu), (unsigned long long)(f[7] >> 32));
    break;
  case QRT_NPU_OP_IM2COL:
    printf("t%llu+%llu -> sram 0x%llx [positions %llu..%llu of width %llu, %llu ch x %llux%llu input, kernel %llux%llu, "
           "stride %llux%llu, dilation %llux%llu, pad %llux%llu, pad value %lld]",
           (unsigned long long)f[0], (unsigned long long)f[1], (unsigned long long)f[2], (unsigned long long)f[3],
           (unsigned long long)(f[3] + f[4] - 1), (unsigned long long)(f[10] & 0xffffffffu), (unsigned long long)f[5],
           (unsigned long long)f[6], (unsigned long long)f[7], (unsigned long long)(f[8] & 0xffff),
           (unsigned long long)((f[8] >> 16) & 0xffff), (unsigned long long)((f[8] >> 32) & 0xffff),
           (unsigned long long)(f[8] >> 48), (unsigned long long)(f[9] & 0xffff),
           (unsigned long long)((f[9] >> 16) & 0xffff), (unsigned long long)((f[9] >> 32) & 0xffff),
           (unsigned long long)(f[9] >> 48), (long long)(int8_t)(uint8_t)(f[10] >> 32));
    break;
  case QRT_NPU_OP_LUT:
    printf("out 0x%llx = table 0x%llx [in 0x%llx], %llu B", (unsigned long long)f[1], (unsigned long long)f[2],
           (unsigned long long)f[0], (unsigned long long)f[3]);
    break;
  case QRT_NPU_OP_HOST: {
    printf("%s (", qrt_npu_string(s, f[0]));
    for (uint64_t j = 0; j <= f[3]; j++) {
      const uint8_t *ref = s->hostdata + f[4] + 16 * j;
      uint32_t t = (uint32_t)ref[0] | (uint32_t)ref[1] << 8 | (uint32_t)ref[2] << 16 | (uint32_t)ref[3] << 24;
      if (j == f[3]) printf(") -> ");
      else if (j) printf(", ");
      if (t == QRT_NPU_NONE) printf("-");
      else printf("t%u", t);
    }
    printf("  ; host: %s", qrt_npu_string(s, f[5]));
    break;
  }
  }
  printf("\n");
}

int qcc_npu_dis_main(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') return qcc_error("usage: qcc dis MODEL.qcs"), 2;
  qrt_npu_stream s;
  void *buf = qcc_npu_load(argv[1], &s);
  if (!buf) return 1;
  const qrt_npu_config *c = &s.config;
  printf("; qcc NPU stream version %u, %llu bytes, config hash 0x%016llx\n", QRT_NPU_VERSION,
         (unsigned long long)s.size, (unsigned long long)s.config_hash);
  char formats[512] = "";
  if (c->pe_formats & QRT_NPU_FMT_INT8) strcat(formats, " int8");
  if (c->pe_formats & QRT_NPU_FMT_INT4) strcat(formats, " int4");
  for (int f = 0; f < QRT_BFORMAT_COUNT; f++)
    if (c->pe_formats & QRT_NPU_FMT_BLOCK(f)) strcat(strcat(formats, " "), qrt_bformat_get(f)->name);
  printf("; machine: PE %llux%llu%s, SRAM %llu banks x %llu B, DMA %llu B/cycle + %llu cycles, vector %llu lanes, "
         "LUT %llu entries x %llu lanes, %llu MHz\n",
         (unsigned long long)c->pe_rows, (unsigned long long)c->pe_cols, formats, (unsigned long long)c->sram_banks,
         (unsigned long long)c->sram_bank_bytes, (unsigned long long)c->dma_bytes_per_cycle,
         (unsigned long long)c->dma_latency_cycles, (unsigned long long)c->vector_lanes,
         (unsigned long long)c->lut_entries, (unsigned long long)c->lut_lanes, (unsigned long long)c->clock_mhz);
  printf("; dram %llu B, consts %llu B, %u tensors, %u commands\n", (unsigned long long)s.dram_bytes,
         (unsigned long long)s.consts_bytes, s.n_tensors, s.n_commands);
  for (int out = 0; out < 2; out++)
    for (uint32_t i = 0; i < (out ? s.n_outputs : s.n_inputs); i++) {
      const char *name;
      uint32_t t = qrt_npu_io(&s, out, i, &name);
      printf("%s %u '%s': ", out ? "output" : "input", i, name);
      print_tensor(&s, t);
      printf("\n");
    }
  uint32_t note = QRT_NPU_NONE;
  for (uint32_t i = 0; i < s.n_commands; i++) {
    qrt_npu_command cmd;
    qrt_npu_get_command(&s, i, &cmd);
    if (cmd.note != note) printf("; %s\n", qrt_npu_string(&s, cmd.note));
    note = cmd.note;
    print_command(&s, i, &cmd);
  }
  free(buf);
  return 0;
}
