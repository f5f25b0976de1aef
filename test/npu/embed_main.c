/* embed_main.c - firmware-style use of model.qcs.h (test/npu/embed.test):
 * the stream compiled into the program, run by runtime/qrt_npu.c with
 * static DRAM and SRAM.  usage: embed_main INPUT.npy OUTPUT.raw (float32
 * .npy input, version 1 header; the output is written as raw bytes). */
#include <stdio.h>
#include <string.h>

#include "m.qcs.h"
#include "qrt_npu.h"

static unsigned char dram[m_DRAM_BYTES + 64] __attribute__((aligned(64)));
static unsigned char sram[m_SRAM_BYTES];
static unsigned char file[1 << 16];

int main(int argc, char **argv) {
  qrt_npu_stream s;
  qrt_npu_stats st;
  char err[256];
  FILE *f;
  size_t n, header;
  if (argc != 3) return 2;
  f = fopen(argv[1], "rb");
  if (!f) return 2;
  n = fread(file, 1, sizeof file, f);
  fclose(f);
  header = 10 + (size_t)(file[8] | file[9] << 8);
  if (n != header + m_INPUT0_BYTES) return fprintf(stderr, "input: %zu bytes, expected %u\n", n - header, m_INPUT0_BYTES), 1;
  if (qrt_npu_open(&s, m_qcs, m_QCS_BYTES, err, sizeof err)) return fprintf(stderr, "%s\n", err), 1;
  memcpy(dram + m_INPUT0_DRAM_OFFSET, file + header, m_INPUT0_BYTES);
  if (qrt_npu_run(&s, dram, sram, &st, NULL, err, sizeof err)) return fprintf(stderr, "%s\n", err), 1;
  f = fopen(argv[2], "wb");
  if (!f || fwrite(dram + m_OUTPUT0_DRAM_OFFSET, 1, m_OUTPUT0_BYTES, f) != m_OUTPUT0_BYTES) return 1;
  fclose(f);
  printf("ran %u commands in %llu cycles\n", s.n_commands, (unsigned long long)st.cycles);
  return 0;
}
