/* npu_fuzz.c - mutation fuzzing of the NPU executor (runtime/qrt_npu.c).
 *
 *   npu_fuzz STREAM.qcs ITERATIONS SEED [OPCODE,...]
 *
 * Built with -fsanitize=address,undefined (test/CMakeLists.txt), so any
 * out-of-bounds access, overflow or misaligned load in qrt_npu_open or
 * qrt_npu_run aborts the test.  Each iteration mutates a copy of a valid
 * stream one of four ways:
 *   0. truncate it: must be refused;
 *   1. flip 1-4 bytes anywhere, CRC left as is: refused unless the bytes
 *      were unchecked header padding;
 *   2. flip 1-4 bytes outside the CONSTS section and recompute the CRC, so
 *      that the structural checks, not the CRC, must catch the damage;
 *   3. set one field of one command to an edge value (0, 1, -1, 2^32,
 *      2^40, a nearby or random value, a small one such as a format id,
 *      another int4 group size) and recompute the CRC; with OPCODEs, one
 *      command of those kinds (e.g. 10,11,12,13: the int4 and block-format
 *      commands, a few among many DMA and HOST commands otherwise).
 * Accepted streams are run.  Every refusal must be one nonempty line.
 * CONSTS holds values, not structure: a HOST kernel is as safe with any
 * weight values as the generated C is (the runtime's index-reading kernels
 * clamp), so mutating them tests the kernels, not the executor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrt_npu.h"

static uint64_t rng_state;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void fix_crc(uint8_t *s, uint64_t n) {
  if (n >= QRT_NPU_HEADER_BYTES) wr32(s + 32, qrt_npu_crc32(s + QRT_NPU_HEADER_BYTES, n - QRT_NPU_HEADER_BYTES));
}

static int failures;

/* Opens (and runs, if accepted) a mutated stream; returns 1 if it ran. */
static int try_stream(const uint8_t *s, uint64_t n, int must_refuse, const char *what) {
  qrt_npu_stream st;
  char err[256];
  if (qrt_npu_open(&st, s, n, err, sizeof err)) {
    if (!err[0] || strchr(err, '\n')) {
      printf("FAIL (%s): refusal is not one nonempty line: '%s'\n", what, err);
      failures++;
    }
    return 0;
  }
  if (must_refuse) {
    printf("FAIL (%s): accepted a stream it must refuse\n", what);
    failures++;
    return 0;
  }
  if (st.dram_bytes > (64u << 20) || st.sram_bytes > (64u << 20)) return 0;
  uint8_t *dram = aligned_alloc(64, (size_t)(st.dram_bytes + 64) / 64 * 64);
  uint8_t *sram = calloc((size_t)st.sram_bytes, 1);
  qrt_npu_stats stats;
  memset(dram, 0, (size_t)(st.dram_bytes + 64) / 64 * 64);
  if (qrt_npu_run(&st, dram, sram, &stats, NULL, err, sizeof err)) {
    printf("FAIL (%s): an accepted stream failed to run: %s\n", what, err);
    failures++;
  }
  free(dram);
  free(sram);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) return fprintf(stderr, "usage: npu_fuzz STREAM.qcs ITERATIONS SEED [OPCODE,...]\n"), 2;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return fprintf(stderr, "cannot read %s\n", argv[1]), 2;
  fseek(f, 0, SEEK_END);
  const uint64_t n = (uint64_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *orig = aligned_alloc(64, (size_t)(n + 63) / 64 * 64), *s = aligned_alloc(64, (size_t)(n + 63) / 64 * 64);
  if (fread(orig, 1, (size_t)n, f) != n) return fprintf(stderr, "cannot read %s\n", argv[1]), 2;
  fclose(f);
  const long iters = atol(argv[2]);
  rng_state = (uint64_t)atoll(argv[3]) * 2654435761u + 1;
  qrt_npu_stream base;
  char err[256];
  if (qrt_npu_open(&base, orig, n, err, sizeof err)) return fprintf(stderr, "the original stream is refused: %s\n", err), 1;
  /* the CONSTS section's byte range, left alone by modes 2 and 3 */
  uint64_t c_lo = 0, c_hi = 0;
  for (uint32_t i = 0; i < QRT_NPU_NUM_SECTIONS; i++) {
    const uint8_t *e = orig + QRT_NPU_HEADER_BYTES + i * QRT_NPU_SECTION_ENTRY_BYTES;
    if (rd32(e) == QRT_NPU_SEC_CONSTS) c_lo = rd64(e + 8), c_hi = c_lo + rd64(e + 16);
  }
  const uint64_t cmd_base = (uint64_t)(base.commands - orig) + 4;
  /* the commands mode 3 mutates: all, or those of the given opcodes */
  uint32_t *targets = calloc(base.n_commands + 1, sizeof *targets), n_targets = 0;
  for (uint32_t i = 0; i < base.n_commands; i++) {
    qrt_npu_command c;
    qrt_npu_get_command(&base, i, &c);
    char key[16];
    snprintf(key, sizeof key, ",%u,", c.opcode);
    char list[256];
    snprintf(list, sizeof list, ",%s,", argc == 5 ? argv[4] : "");
    if (argc == 4 || strstr(list, key)) targets[n_targets++] = i;
  }
  if (n_targets == 0) return fprintf(stderr, "the stream has no command of opcodes %s\n", argv[4]), 1;
  long ran = 0, refused = 0;
  for (long it = 0; it < iters; it++) {
    const int mode = (int)(it % 4);
    uint64_t len = n;
    memcpy(s, orig, (size_t)n);
    if (mode == 0) {
      len = rnd() % n;
    } else if (mode == 1 || mode == 2) {
      const int flips = 1 + (int)(rnd() % 4);
      for (int k = 0; k < flips; k++) {
        uint64_t pos = rnd() % n;
        if (mode == 2 && pos >= c_lo && pos < c_hi) pos = rnd() % c_lo; /* CONSTS is never first */
        s[pos] ^= (uint8_t)(1 + rnd() % 255);
      }
      if (mode == 2) fix_crc(s, n);
    } else {
      const uint64_t c = targets[rnd() % n_targets];
      const int field = (int)(rnd() % (QRT_NPU_COMMAND_FIELDS + 2)); /* + opcode and note */
      uint8_t *p = s + cmd_base + c * QRT_NPU_COMMAND_BYTES;
      const uint64_t old = field < 2 ? rd32(p + 4 * field) : rd64(p + 8 + 8 * (field - 2));
      const uint64_t edge[] = {0, 1, ~(uint64_t)0, (uint64_t)1 << 32, (uint64_t)1 << 40, old + 1, old - 1,
                               old * 2, rnd() % 4096, rnd(), rnd() % 24, old ^ (uint64_t)4 << (32 + rnd() % 4)};
      const uint64_t v = edge[rnd() % (sizeof edge / sizeof edge[0])];
      if (field < 2) wr32(p + 4 * field, (uint32_t)v);
      else wr64(p + 8 + 8 * (field - 2), v);
      fix_crc(s, n);
    }
    static const char *const names[] = {"truncate", "flip", "flip+crc", "field+crc"};
    if (try_stream(s, len, mode == 0, names[mode])) ran++;
    else refused++;
  }
  printf("npu_fuzz: %ld mutated streams, %ld refused, %ld accepted and run, %d failures\n", iters, refused, ran,
         failures);
  free(orig);
  free(s);
  free(targets);
  return failures ? 1 : 0;
}
