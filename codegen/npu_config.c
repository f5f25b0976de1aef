/* npu_config.c - see npu_config.h.  A reader for exactly the JSON subset a
 * machine description needs (an object of integers and one string list),
 * not a general JSON parser. */
#include "npu_config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qcc.h"
#include "quant_options.h"

typedef struct reader {
  const char *path, *p;
} reader;

static void skip_ws(reader *r) {
  while (isspace((unsigned char)*r->p)) r->p++;
}

static bool expect(reader *r, char c) {
  skip_ws(r);
  if (*r->p != c) return qcc_error("--npu-config %s: expected '%c' near '%.12s'", r->path, c, r->p), false;
  r->p++;
  return true;
}

/* A JSON string without escapes (keys and format names need none). */
static bool read_string(reader *r, char *out, size_t cap) {
  skip_ws(r);
  if (*r->p != '"') return qcc_error("--npu-config %s: expected a string", r->path), false;
  const char *end = strchr(r->p + 1, '"');
  if (!end || (size_t)(end - r->p - 1) >= cap || memchr(r->p + 1, '\\', (size_t)(end - r->p - 1)))
    return qcc_error("--npu-config %s: bad string", r->path), false;
  memcpy(out, r->p + 1, (size_t)(end - r->p - 1));
  out[end - r->p - 1] = 0;
  r->p = end + 1;
  return true;
}

/* A block format by any name -q accepts for it (mxint8, bfp8, bfp8_32). */
static int block_format(const char *name) {
  for (const qcc_quant_scheme *q = qcc_quant_schemes; q->name; q++)
    if (q->block_format >= 0 && !strcmp(q->name, name)) return q->block_format;
  return -1;
}

static bool read_formats(reader *r, uint64_t *bits) {
  *bits = 0;
  if (!expect(r, '[')) return false;
  skip_ws(r);
  if (*r->p == ']') return r->p++, true;
  for (;;) {
    char name[32];
    if (!read_string(r, name, sizeof name)) return false;
    if (!strcmp(name, "int8")) *bits |= QRT_NPU_FMT_INT8;
    else if (!strcmp(name, "int4")) *bits |= QRT_NPU_FMT_INT4;
    else if (block_format(name) >= 0) *bits |= QRT_NPU_FMT_BLOCK(block_format(name));
    else
      return qcc_error("--npu-config %s: pe_formats: unknown format '%s' (known: int8, int4 and the block formats "
                       "of -q, e.g. mxint8, bfp8)", r->path, name), false;
    skip_ws(r);
    if (*r->p == ']') return r->p++, true;
    if (!expect(r, ',')) return false;
  }
}

static bool parse(reader *r, qrt_npu_config *cfg) {
  if (!expect(r, '{')) return false;
  skip_ws(r);
  if (*r->p == '}') return true;
  for (;;) {
    char key[64];
    if (!read_string(r, key, sizeof key) || !expect(r, ':')) return false;
    uint64_t *field = NULL;
    for (int i = 0; i < qrt_npu_config_num_fields(); i++) {
      const char *name;
      uint64_t *f = qrt_npu_config_field(cfg, i, &name);
      if (!strcmp(name, key)) field = f;
    }
    if (!field) return qcc_error("--npu-config %s: unknown key '%s' (see docs/npu.md)", r->path, key), false;
    skip_ws(r);
    if (!strcmp(key, "pe_formats")) {
      if (!read_formats(r, field)) return false;
    } else {
      char *end;
      if (!isdigit((unsigned char)*r->p)) return qcc_error("--npu-config %s: %s: expected a positive integer", r->path, key), false;
      unsigned long long v = strtoull(r->p, &end, 10);
      if (*end == '.' || *end == 'e' || *end == 'E')
        return qcc_error("--npu-config %s: %s: expected an integer", r->path, key), false;
      *field = v;
      r->p = end;
    }
    skip_ws(r);
    if (*r->p == '}') {
      r->p++;
      skip_ws(r);
      if (*r->p) return qcc_error("--npu-config %s: text after the object", r->path), false;
      return true;
    }
    if (!expect(r, ',')) return false;
  }
}

int qcc_npu_config_load(const char *path, qrt_npu_config *cfg) {
  qrt_npu_config_default(cfg);
  if (!path) return 0;
  FILE *f = fopen(path, "rb");
  if (!f) return qcc_error("--npu-config: cannot read '%s'", path), -1;
  char *text = calloc(1, 1 << 16);
  size_t n = fread(text, 1, (1 << 16) - 1, f);
  fclose(f);
  reader r = {path, text};
  bool ok = n < (1 << 16) - 1 ? parse(&r, cfg) : (qcc_error("--npu-config %s: larger than 64 KiB", path), false);
  free(text);
  if (!ok) return -1;
  char err[256];
  if (qrt_npu_config_check(cfg, err, sizeof err)) return qcc_error("--npu-config %s: %s", path, err), -1;
  return 0;
}
