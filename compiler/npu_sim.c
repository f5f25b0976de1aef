/* npu_sim.c - `qcc sim`: runs an NPU stream on the reference executor
 * (runtime/qrt_npu.c) with .npy inputs, writes each output as
 * DIR/<name>.npy and DIR/report.json (cycles, PE utilization, DRAM traffic
 * against its lower bound, SRAM peak, host fallbacks, per-layer figures;
 * docs/npu.md explains them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu_config.h"
#include "npu_tools.h"
#include "qcc.h"

void *qcc_npu_load(const char *path, qrt_npu_stream *s) {
  FILE *f = fopen(path, "rb");
  if (!f) return qcc_error("cannot read '%s'", path), NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  if (n < 0) return fclose(f), qcc_error("cannot read '%s'", path), NULL;
  void *buf = aligned_alloc(64, ((size_t)n + 63) / 64 * 64 + 64);
  size_t got = fread(buf, 1, (size_t)n, f);
  fclose(f);
  char err[256];
  if (got != (size_t)n) {
    free(buf);
    return qcc_error("cannot read '%s'", path), NULL;
  }
  if (qrt_npu_open(s, buf, (uint64_t)n, err, sizeof err)) {
    free(buf);
    return qcc_error("%s: %s", path, err), NULL;
  }
  return buf;
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
    else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
    else fputc(*s, f);
  }
  fputc('"', f);
}

static const char *const engine_names[QRT_NPU_NUM_ENGINES] = {"dma", "pe", "vector", "lut", "host"};

/* Compulsory DRAM traffic: every tensor the NPU loads crosses once, every
 * tensor it stores crosses once (an SRAM as large as the model, nothing
 * re-read). */
static uint64_t dram_lower_bound(const qrt_npu_stream *s) {
  unsigned char *seen = calloc((size_t)s->n_tensors + 1, 2);
  uint64_t lb = 0;
  for (uint32_t i = 0; i < s->n_commands; i++) {
    qrt_npu_command c;
    qrt_npu_get_command(s, i, &c);
    if (c.opcode != QRT_NPU_OP_DMA_LOAD && c.opcode != QRT_NPU_OP_DMA_STORE) continue;
    unsigned char *flag = &seen[2 * c.f[0] + (c.opcode == QRT_NPU_OP_DMA_STORE)];
    if (*flag) continue;
    *flag = 1;
    qrt_npu_tensor t;
    qrt_npu_get_tensor(s, (uint32_t)c.f[0], &t);
    lb += t.nbytes;
  }
  free(seen);
  return lb;
}

static void write_report(FILE *f, const char *path, const qrt_npu_stream *s, const qrt_npu_stats *st,
                         const qrt_npu_command_cost *costs) {
  const qrt_npu_config *cfg = &s->config;
  const uint64_t pes = cfg->pe_rows * cfg->pe_cols, lb = dram_lower_bound(s);
  const uint64_t dram = st->dram_read_bytes + st->dram_write_bytes;
  fprintf(f, "{\n  \"stream\": ");
  json_str(f, path);
  fprintf(f, ",\n  \"config_hash\": \"0x%016llx\",\n  \"clock_mhz\": %llu,\n  \"commands\": %u,\n",
          (unsigned long long)s->config_hash, (unsigned long long)cfg->clock_mhz, s->n_commands);
  fprintf(f, "  \"cycles\": %llu,\n  \"time_us\": %.3f,\n", (unsigned long long)st->cycles,
          (double)st->cycles / (double)cfg->clock_mhz);
  fprintf(f, "  \"engines\": {");
  for (int e = 0; e < QRT_NPU_NUM_ENGINES; e++)
    fprintf(f, "%s\n    \"%s\": {\"commands\": %llu, \"busy_cycles\": %llu}", e ? "," : "", engine_names[e],
            (unsigned long long)st->commands[e], (unsigned long long)st->busy[e]);
  fprintf(f, "\n  },\n  \"macs\": %llu,\n  \"pe_slots\": %llu,\n  \"pe_count\": %llu,\n", (unsigned long long)st->macs,
          (unsigned long long)st->pe_slots, (unsigned long long)pes);
  fprintf(f, "  \"pe_utilization\": %.4f,\n  \"pe_busy_utilization\": %.4f,\n",
          st->cycles ? (double)st->pe_slots / ((double)st->cycles * (double)pes) : 0.0,
          st->busy[QRT_NPU_ENGINE_PE] ? (double)st->pe_slots / ((double)st->busy[QRT_NPU_ENGINE_PE] * (double)pes) : 0.0);
  fprintf(f, "  \"dram_read_bytes\": %llu,\n  \"dram_write_bytes\": %llu,\n  \"dram_lower_bound_bytes\": %llu,\n"
             "  \"dram_traffic_over_lower_bound\": %.3f,\n",
          (unsigned long long)st->dram_read_bytes, (unsigned long long)st->dram_write_bytes, (unsigned long long)lb,
          lb ? (double)dram / (double)lb : 0.0);
  fprintf(f, "  \"sram_bytes\": %llu,\n  \"sram_peak_bytes\": %llu,\n  \"host_bytes\": %llu,\n",
          (unsigned long long)s->sram_bytes, (unsigned long long)st->sram_peak, (unsigned long long)st->host_bytes);
  fprintf(f, "  \"host_fallbacks\": [");
  int first = 1;
  for (uint32_t i = 0; i < s->n_commands; i++) {
    qrt_npu_command c;
    qrt_npu_get_command(s, i, &c);
    if (c.opcode != QRT_NPU_OP_HOST) continue;
    fprintf(f, "%s\n    {\"command\": %u, \"node\": ", first ? "" : ",", i);
    json_str(f, qrt_npu_string(s, c.note));
    fprintf(f, ", \"kernel\": ");
    json_str(f, qrt_npu_string(s, c.f[0]));
    fprintf(f, ", \"reason\": ");
    json_str(f, qrt_npu_string(s, c.f[5]));
    fprintf(f, "}");
    first = 0;
  }
  /* layers: runs of consecutive commands from one node */
  fprintf(f, "\n  ],\n  \"layers\": [");
  for (uint32_t i = 0; i < s->n_commands;) {
    qrt_npu_command c;
    qrt_npu_get_command(s, i, &c);
    uint32_t j = i, note = c.note;
    uint64_t start = costs[i].start, end = 0, macs = 0, bytes = 0;
    int host = 0;
    for (; j < s->n_commands; j++) {
      qrt_npu_command d;
      qrt_npu_get_command(s, j, &d);
      if (d.note != note) break;
      start = costs[j].start < start ? costs[j].start : start;
      end = costs[j].end > end ? costs[j].end : end;
      macs += costs[j].macs;
      bytes += costs[j].dram_bytes;
      host |= d.opcode == QRT_NPU_OP_HOST;
    }
    fprintf(f, "%s\n    {\"node\": ", i ? "," : "");
    json_str(f, qrt_npu_string(s, note));
    fprintf(f, ", \"on\": \"%s\", \"commands\": %u, \"cycles\": %llu, \"macs\": %llu, \"bytes\": %llu}",
            host ? "host" : "npu", j - i, (unsigned long long)(end - start), (unsigned long long)macs,
            (unsigned long long)bytes);
    i = j;
  }
  fprintf(f, "\n  ]\n}\n");
}

int qcc_npu_sim_main(int argc, char **argv) {
  const char *stream_path = NULL, *out_dir = NULL, *config_path = NULL;
  const char *in_names[64], *in_files[64];
  int n_inputs = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if ((!strcmp(a, "--input") || !strcmp(a, "--out-dir") || !strcmp(a, "--npu-config")) && i + 1 >= argc)
      return qcc_error("qcc sim: flag '%s' needs a value", a), 2;
    if (!strcmp(a, "--input")) {
      const char *v = argv[++i], *eq = strchr(v, '=');
      if (!eq || eq == v || !eq[1] || n_inputs == 64)
        return qcc_error("qcc sim: --input: expected NAME=FILE.npy, got '%s'", v), 2;
      in_names[n_inputs] = strndup(v, (size_t)(eq - v));
      in_files[n_inputs++] = eq + 1;
    } else if (!strcmp(a, "--out-dir")) {
      out_dir = argv[++i];
    } else if (!strcmp(a, "--npu-config")) {
      config_path = argv[++i];
    } else if (a[0] == '-') {
      return qcc_error("qcc sim: unknown flag '%s' (usage: qcc sim MODEL.qcs --input NAME=FILE.npy ... --out-dir DIR)", a), 2;
    } else if (!stream_path) {
      stream_path = a;
    } else {
      return qcc_error("qcc sim: unexpected argument '%s' (one stream at a time)", a), 2;
    }
  }
  if (!stream_path) return qcc_error("qcc sim: no stream given (usage: qcc sim MODEL.qcs --input NAME=FILE.npy ... --out-dir DIR)"), 2;
  if (!out_dir) return qcc_error("qcc sim: give --out-dir DIR for the outputs and the report"), 2;
  qrt_npu_stream s;
  void *buf = qcc_npu_load(stream_path, &s);
  if (!buf) return 1;
  if (config_path) {
    qrt_npu_config cfg;
    if (qcc_npu_config_load(config_path, &cfg)) return free(buf), 1;
    if (qrt_npu_config_hash(&cfg) != s.config_hash)
      return free(buf), qcc_error("qcc sim: %s was compiled for another machine (config hash 0x%016llx, --npu-config %s "
                                  "hashes to 0x%016llx)", stream_path, (unsigned long long)s.config_hash, config_path,
                                  (unsigned long long)qrt_npu_config_hash(&cfg)), 1;
  }
  uint8_t *dram = aligned_alloc(64, (size_t)(s.dram_bytes + 64) / 64 * 64);
  uint8_t *sram = calloc((size_t)s.sram_bytes, 1);
  memset(dram, 0, (size_t)(s.dram_bytes + 64) / 64 * 64);
  int rc = 0;
  for (int k = 0; k < n_inputs && !rc; k++) {
    bool known = false;
    for (uint32_t i = 0; i < s.n_inputs; i++) {
      const char *name;
      qrt_npu_io(&s, 0, i, &name);
      known |= !strcmp(name, in_names[k]);
    }
    if (!known) rc = 1, qcc_error("qcc sim: the stream has no input named '%s'", in_names[k]);
  }
  for (uint32_t i = 0; i < s.n_inputs && !rc; i++) {
    const char *name;
    const uint32_t t = qrt_npu_io(&s, 0, i, &name);
    int found = -1;
    for (int k = 0; k < n_inputs; k++)
      if (!strcmp(in_names[k], name)) found = k;
    if (found < 0) {
      rc = 1, qcc_error("qcc sim: no --input given for stream input '%s'", name);
      break;
    }
    qcc_array a;
    char err[512];
    if (qcc_npy_read(in_files[found], &a, err, sizeof err)) {
      rc = 1, qcc_error("%s", err);
      break;
    }
    qrt_npu_tensor d;
    qrt_npu_get_tensor(&s, t, &d);
    bool same = a.dtype == (qrt_dtype)d.dtype && (uint32_t)a.rank == d.rank;
    for (int k = 0; same && k < a.rank; k++) same = a.dims[k] == d.dims[k];
    if (!same) {
      qcc_shape want = {(qrt_dtype)d.dtype, (int)d.rank, {0}}, got = {a.dtype, a.rank, {0}};
      memcpy(want.dims, d.dims, sizeof want.dims);
      memcpy(got.dims, a.dims, sizeof got.dims);
      char w[128], g[128];
      rc = 1, qcc_error("qcc sim: input '%s' (%s): expected %s, got %s", name, in_files[found],
                        qcc_shape_str(&want, w, sizeof w), qcc_shape_str(&got, g, sizeof g));
    } else {
      memcpy(qrt_npu_tensor_data(&s, dram, t), a.data, a.nbytes);
    }
    qcc_array_free(&a);
  }
  qrt_npu_stats st;
  qrt_npu_command_cost *costs = calloc((size_t)s.n_commands + 1, sizeof *costs);
  char err[256];
  if (!rc && qrt_npu_run(&s, dram, sram, &st, costs, err, sizeof err)) rc = 1, qcc_error("%s: %s", stream_path, err);
  if (!rc && qcc_make_output_dir(out_dir, err, sizeof err)) rc = 1, qcc_error("qcc sim: --out-dir %s", err);
  for (uint32_t j = 0; j < s.n_outputs && !rc; j++) {
    const char *name;
    const uint32_t t = qrt_npu_io(&s, 1, j, &name);
    qrt_npu_tensor d;
    qrt_npu_get_tensor(&s, t, &d);
    qcc_array a;
    memset(&a, 0, sizeof a);
    a.dtype = (qrt_dtype)d.dtype;
    a.rank = (int)d.rank;
    memcpy(a.dims, d.dims, sizeof a.dims);
    a.nbytes = (size_t)d.nbytes;
    a.data = qrt_npu_tensor_data(&s, dram, t);
    char e2[512];
    if (qcc_npy_write_output(out_dir, name, &a, e2, sizeof e2)) rc = 1, qcc_error("%s", e2);
  }
  if (!rc) {
    char path[1200];
    snprintf(path, sizeof path, "%s/report.json", out_dir);
    FILE *f = fopen(path, "w");
    if (!f) rc = 1, qcc_error("qcc sim: cannot write %s", path);
    else {
      write_report(f, stream_path, &s, &st, costs);
      fclose(f);
      const uint64_t pes = s.config.pe_rows * s.config.pe_cols;
      printf("%s: %llu cycles (%.1f us at %llu MHz), PE utilization %.1f%%, DRAM %llu B (lower bound %llu B), SRAM "
             "peak %llu of %llu B, %llu host commands\n",
             stream_path, (unsigned long long)st.cycles, (double)st.cycles / (double)s.config.clock_mhz,
             (unsigned long long)s.config.clock_mhz,
             st.cycles ? 100.0 * (double)st.pe_slots / ((double)st.cycles * (double)pes) : 0.0,
             (unsigned long long)(st.dram_read_bytes + st.dram_write_bytes), (unsigned long long)dram_lower_bound(&s),
             (unsigned long long)st.sram_peak, (unsigned long long)s.sram_bytes,
             (unsigned long long)st.commands[QRT_NPU_ENGINE_HOST]);
    }
  }
  free(costs);
  free(dram);
  free(sram);
  free(buf);
  return rc;
}
