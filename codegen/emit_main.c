/* emit_main.c - `--emit-main FILE`: a standalone C99 program around the
 * generated model, for trying a model from the shell and for tests:
 *
 *   ./model IN0.npy ... [--out DIR]
 *
 * It reads each input from a .npy file (dtype and shape checked against the
 * model's), runs NAME_run, prints every output's shape, first values and
 * argmax, and with --out writes DIR/out<i>.npy. With --bench N it runs the
 * model N more times, in batches timed as a whole, and prints
 * "c_ms_per_run MEDIAN MIN" over the batches (wall-clock time per run on
 * POSIX systems, CPU time elsewhere). On POSIX systems --out DIR is
 * created (one level) when missing. */
#include "emit_main.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* numpy descr of each element type as the generated program checks it. */
static const char *npy_descr(qrt_dtype t) {
  switch (t) {
  case QRT_F32: return "<f4";
  case QRT_F64: return "<f8";
  case QRT_I8: return "|i1";
  case QRT_U8: return "|u1";
  case QRT_BOOL: return "|b1";
  case QRT_I16: return "<i2";
  case QRT_U16: return "<u2";
  case QRT_F16: return "<f2";
  case QRT_BF16: return "<u2"; /* its bits: numpy has no bfloat16 */
  case QRT_I32: return "<i4";
  case QRT_U32: return "<u4";
  case QRT_I64: return "<i8";
  case QRT_U64: return "<u8";
  default: return "?";
  }
}

static void shape_tuple(const qcc_shape *s, char *out, size_t cap) {
  size_t n = (size_t)snprintf(out, cap, "(");
  for (int d = 0; d < s->rank && n < cap; d++)
    n += (size_t)snprintf(out + n, cap - n, "%lld,%s", (long long)s->dims[d], d + 1 < s->rank ? " " : "");
  if (s->rank > 1 && n > 1 && out[n - 1] == ',') n--; /* numpy writes (1, 2) but (3,) */
  if (n < cap) snprintf(out + n, cap - n, ")");
}

static const char *support_code =
    "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <time.h>\n"
    "#if defined(__unix__) || defined(__APPLE__)\n#include <sys/stat.h> /* mkdir: --out DIR is created */\n#endif\n\n"
    "/* Reads a little-endian C-order .npy whose descr and shape must match. */\n"
    "static int read_npy(const char *path, const char *descr, const char *shape, void *dst, size_t bytes) {\n"
    "  unsigned char magic[10];\n  char header[4096], want[256];\n  size_t hlen;\n"
    "  FILE *f = fopen(path, \"rb\");\n"
    "  if (!f) { fprintf(stderr, \"%s: cannot open\\n\", path); return -1; }\n"
    "  if (fread(magic, 1, 10, f) != 10 || memcmp(magic, \"\\x93NUMPY\", 6)) {\n"
    "    fprintf(stderr, \"%s: not a .npy file\\n\", path); fclose(f); return -1;\n  }\n"
    "  if (magic[6] == 1) hlen = (size_t)magic[8] | (size_t)magic[9] << 8;\n"
    "  else { unsigned char b[2]; if (fread(b, 1, 2, f) != 2) { fclose(f); return -1; }\n"
    "    hlen = (size_t)magic[8] | (size_t)magic[9] << 8 | (size_t)b[0] << 16 | (size_t)b[1] << 24; }\n"
    "  if (hlen >= sizeof header || fread(header, 1, hlen, f) != hlen) {\n"
    "    fprintf(stderr, \"%s: bad header\\n\", path); fclose(f); return -1;\n  }\n"
    "  header[hlen] = 0;\n"
    "  while (hlen > 0 && (header[hlen - 1] == ' ' || header[hlen - 1] == '\\n')) header[--hlen] = 0; /* padding */\n"
    "  sprintf(want, \"'descr': '%s'\", descr);\n"
    "  if (!strstr(header, want) || strstr(header, \"'fortran_order': True\")) {\n"
    "    fprintf(stderr, \"%s: expected dtype %s in C order; header is %s\\n\", path, descr, header);\n"
    "    fclose(f); return -1;\n  }\n"
    "  sprintf(want, \"'shape': %s\", shape);\n"
    "  if (!strstr(header, want)) {\n"
    "    fprintf(stderr, \"%s: expected shape %s; header is %s\\n\", path, shape, header); fclose(f); return -1;\n  }\n"
    "  if (fread(dst, 1, bytes, f) != bytes) { fprintf(stderr, \"%s: truncated data\\n\", path); fclose(f); return -1; }\n"
    "  fclose(f);\n  return 0;\n}\n\n"
    "static int write_npy(const char *path, const char *descr, const char *shape, const void *src, size_t bytes) {\n"
    "  char header[256];\n  size_t n;\n  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};\n"
    "  FILE *f = fopen(path, \"wb\");\n"
    "  if (!f) { fprintf(stderr, \"%s: cannot write\\n\", path); return -1; }\n"
    "  n = (size_t)sprintf(header, \"{'descr': '%s', 'fortran_order': False, 'shape': %s, }\", descr, shape);\n"
    "  while ((10 + n + 1) % 64) header[n++] = ' ';\n  header[n++] = '\\n';\n"
    "  pre[8] = (unsigned char)(n & 255);\n  pre[9] = (unsigned char)(n >> 8);\n"
    "  fwrite(pre, 1, 10, f);\n  fwrite(header, 1, n, f);\n  fwrite(src, 1, bytes, f);\n"
    "  return fclose(f);\n}\n\n";

/* Reads a weights file into memory aligned as NAME_set_weights wants it
 * (C99 has no aligned allocation: over-allocate and round the pointer). */
static const char *weights_loader =
    "static void *weights_block;\n\n"
    "static const void *read_weights(const char *path, size_t *size) {\n"
    "  FILE *f = fopen(path, \"rb\");\n  long n;\n  unsigned char *p;\n"
    "  if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {\n"
    "    fprintf(stderr, \"%s: cannot read\\n\", path); if (f) fclose(f); return NULL;\n  }\n"
    "  weights_block = malloc((size_t)n + 64);\n"
    "  if (!weights_block) { fclose(f); return NULL; }\n"
    "  p = (unsigned char *)weights_block + (64 - (uintptr_t)weights_block % 64) % 64;\n"
    "  if (fread(p, 1, (size_t)n, f) != (size_t)n) { fprintf(stderr, \"%s: truncated\\n\", path); fclose(f); return NULL; }\n"
    "  fclose(f);\n  *size = (size_t)n;\n  return p;\n}\n\n";

int qcc_emit_main(MlirModule m, const char *path, const char *name, const char *header, bool weights_file) {
  FILE *f = fopen(path, "w");
  if (!f) {
    qcc_error("cannot write %s", path);
    return -1;
  }
  MlirOperation func = qcc_module_func(m);
  MlirBlock body = qcc_func_body(func);
  MlirOperation ret = mlirBlockGetTerminator(body);
  int n_in = (int)mlirBlockGetNumArguments(body), n_out = (int)mlirOperationGetNumOperands(ret);
  char NAME[128];
  size_t k = 0;
  for (; name[k] && k + 1 < sizeof NAME; k++) NAME[k] = (char)toupper((unsigned char)name[k]);
  NAME[k] = 0;
  fprintf(f, "/* Generated by qcc --emit-main: runs %s on .npy inputs. */\n"
             "#if !defined(_POSIX_C_SOURCE) && !defined(_WIN32)\n#define _POSIX_C_SOURCE 199309L /* clock_gettime */\n#endif\n"
             "#include \"%s\"\n\n%s%s", name, header, support_code, weights_file ? weights_loader : "");
  for (int i = 0; i < n_in; i++) {
    qcc_shape s;
    qcc_shape_of(mlirBlockGetArgument(body, i), &s);
    fprintf(f, "static %s in%d[%s_IN%d_SIZE];\n", qcc_dtype_c_type(s.dtype), i, NAME, i);
  }
  for (int j = 0; j < n_out; j++) {
    qcc_shape s;
    qcc_shape_of(mlirOperationGetOperand(ret, j), &s);
    fprintf(f, "static %s out%d[%s_OUT%d_SIZE];\n", qcc_dtype_c_type(s.dtype), j, NAME, j);
  }
  fprintf(f, "\n/* Wall-clock seconds from a monotonic clock where POSIX has one (CPU time\n"
             " * would add up the time of every thread of a --threads build), else CPU. */\n"
             "static double bench_seconds(void) {\n#if defined(CLOCK_MONOTONIC)\n"
             "  struct timespec t;\n  clock_gettime(CLOCK_MONOTONIC, &t);\n"
             "  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;\n#else\n"
             "  return (double)clock() / CLOCKS_PER_SEC;\n#endif\n}\n");
  fprintf(f, "\nstatic int cmp_double(const void *a, const void *b) {\n"
             "  double x = *(const double *)a, y = *(const double *)b;\n  return x < y ? -1 : x > y;\n}\n");
  /* The usage line, and main: options in any order around the inputs. */
  fprintf(f, "\nstatic void usage(FILE *to, const char *program) {\n  fprintf(to, \"usage: %%s");
  for (int i = 0; i < n_in; i++) fprintf(f, " IN%d.npy", i);
  fprintf(f, "%s [--out DIR] [--bench N]\\n\", program);\n}\n", weights_file ? " --weights FILE" : "");
  fprintf(f, "\nint main(int argc, char **argv) {\n  const char *out_dir = NULL, *weights = NULL;\n"
             "  const char *inputs[%d] = {0};\n  int n_inputs = 0;\n  long bench = 0;\n  int rc;\n  long i;\n"
             "  char path[4096];\n"
             "  for (i = 1; i < argc; i++) {\n"
             "    const char *a = argv[i];\n"
             "    if (!strcmp(a, \"--help\") || !strcmp(a, \"-h\")) { usage(stdout, argv[0]); return 0; }\n"
             "    if (!strcmp(a, \"--bench\") || !strcmp(a, \"--out\") || !strcmp(a, \"--weights\")) {\n"
             "      const char *v = i + 1 < argc ? argv[++i] : NULL;\n"
             "      if (!v) { fprintf(stderr, \"%%s: expected a value\\n\", a); return 2; }\n"
             "      if (a[2] == 'b') {\n"
             "        char *end;\n        bench = strtol(v, &end, 10);\n"
             "        if (end == v || *end || bench < 1) {\n"
             "          fprintf(stderr, \"--bench: expected a positive number of runs, got '%%s'\\n\", v);\n"
             "          return 2;\n        }\n"
             "      } else if (a[2] == 'o') {\n        out_dir = v;\n      } else {\n        weights = v;\n      }\n"
             "    } else if (a[0] == '-' && a[1] == '-') {\n"
             "      fprintf(stderr, \"unknown option '%%s'\\n\", a);\n      usage(stderr, argv[0]);\n      return 2;\n"
             "    } else if (n_inputs < %d) {\n      inputs[n_inputs++] = a;\n"
             "    } else {\n      fprintf(stderr, \"'%%s': this model takes %d input%s\\n\", a);\n"
             "      usage(stderr, argv[0]);\n      return 2;\n    }\n  }\n"
             "  if (n_inputs != %d) {\n    usage(stderr, argv[0]);\n    return 2;\n  }\n"
             "#if defined(__unix__) || defined(__APPLE__)\n"
             "  if (out_dir) (void)mkdir(out_dir, 0777); /* an existing one is fine; a failure shows at the write */\n"
             "#endif\n",
          n_in > 0 ? n_in : 1, n_in, n_in, n_in == 1 ? "" : "s", n_in);
  if (weights_file)
    fprintf(f, "  {\n    const void *w = NULL;\n    size_t wsize = 0;\n"
               "    if (!weights) { fprintf(stderr, \"this model keeps its weights in a file: give --weights FILE\\n\"); return 2; }\n"
               "    w = read_weights(weights, &wsize);\n"
               "    if (!w || %s_set_weights(w, wsize)) {\n"
               "      fprintf(stderr, \"%%s: not this model's weights file (size, version or checksum)\\n\", weights);\n"
               "      return 1;\n    }\n  }\n",
            name);
  else
    fprintf(f, "  if (weights) { fprintf(stderr, \"--weights: this model's weights are compiled in\\n\"); return 2; }\n");
  for (int i = 0; i < n_in; i++) {
    qcc_shape s;
    char tuple[256];
    qcc_shape_of(mlirBlockGetArgument(body, i), &s);
    shape_tuple(&s, tuple, sizeof tuple);
    fprintf(f, "  if (read_npy(inputs[%d], \"%s\", \"%s\", in%d, sizeof in%d)) return 1;\n", i, npy_descr(s.dtype),
            tuple, i, i);
  }
  fprintf(f, "  rc = %s_run(", name);
  for (int i = 0; i < n_in; i++) fprintf(f, "in%d, ", i);
  for (int j = 0; j < n_out; j++) fprintf(f, "out%d%s", j, j + 1 < n_out ? ", " : "");
  fprintf(f, ");\n  if (rc) { fprintf(stderr, \"%s_run failed: %%d\\n\", rc); return 1; }\n", name);
  for (int j = 0; j < n_out; j++) {
    qcc_shape s;
    char tuple[256];
    qcc_shape_of(mlirOperationGetOperand(ret, j), &s);
    shape_tuple(&s, tuple, sizeof tuple);
    bool is_float = s.dtype == QRT_F32 || s.dtype == QRT_F64;
    fprintf(f, "  {\n    long best = 0;\n    printf(\"output %d %s:\");\n", j, tuple);
    fprintf(f, "    for (i = 0; i < %s_OUT%d_SIZE; i++) {\n", NAME, j);
    fprintf(f, "      if (i < 10) printf(\" %s\", %sout%d[i]);\n", is_float ? "%.6g" : "%lld",
            is_float ? "(double)" : "(long long)", j);
    fprintf(f, "      if (out%d[i] > out%d[best]) best = i;\n    }\n", j, j);
    fprintf(f, "    printf(\"%%s\\n  argmax %%ld\\n\", %s_OUT%d_SIZE > 10 ? \" ...\" : \"\", best);\n", NAME, j);
    fprintf(f, "    if (out_dir) {\n      sprintf(path, \"%%.4000s/out%d.npy\", out_dir);\n"
               "      if (write_npy(path, \"%s\", \"%s\", out%d, sizeof out%d)) return 1;\n    }\n  }\n",
            j, npy_descr(s.dtype), tuple, j, j);
  }
  /* Batches of runs, each timed as a whole: one clock reading per run
   * would add its own cost (a system call) to every run and quantize
   * runs of a few microseconds to the clock's resolution. */
  char call[1024];
  int at = snprintf(call, sizeof call, "%s_run(", name);
  for (int i = 0; i < n_in && at < (int)sizeof call; i++) at += snprintf(call + at, sizeof call - (size_t)at, "in%d, ", i);
  for (int j = 0; j < n_out && at < (int)sizeof call; j++)
    at += snprintf(call + at, sizeof call - (size_t)at, "out%d%s", j, j + 1 < n_out ? ", " : "");
  fprintf(f, "  if (bench > 0) {\n"
             "    /* batch: the runs that take about 2 ms, at most bench / 11 (11 batches or more) */\n"
             "    long batch = 1, nb, b, k;\n    double *ms;\n    double t0 = bench_seconds();\n"
             "    for (k = 0; k < 10; k++) %s);\n"
             "    {\n      const double one = (bench_seconds() - t0) / 10.0;\n"
             "      if (one > 0 && one < 0.002) batch = (long)(0.002 / one) + 1;\n"
             "      if (batch > bench / 11) batch = bench / 11 > 0 ? bench / 11 : 1;\n    }\n"
             "    nb = bench / batch;\n"
             "    ms = (double *)malloc(sizeof(double) * (size_t)nb);\n    if (!ms) return 1;\n"
             "    for (b = 0; b < nb; b++) {\n      t0 = bench_seconds();\n      for (k = 0; k < batch; k++) %s);\n"
             "      ms[b] = 1000.0 * (bench_seconds() - t0) / (double)batch;\n    }\n"
             "    qsort(ms, (size_t)nb, sizeof *ms, cmp_double);\n"
             "    printf(\"c_ms_per_run %%.5f %%.5f\\n\", ms[nb / 2], ms[0]);\n    free(ms);\n  }\n",
          call, call);
  fprintf(f, "%s  return 0;\n}\n", weights_file ? "  free(weights_block);\n" : "");
  return fclose(f) ? -1 : 0;
}
