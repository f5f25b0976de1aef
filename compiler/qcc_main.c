/* qcc_main.c - the qcc driver.
 *
 *   qcc MODEL.onnx -o OUT.c [--name NAME] [--shape IN=DxDxD]... [--bind IN=FILE.npy]...
 *                           [--runtime=inline|external] [--weights-file FILE.bin|FILE.S]
 *   qcc run MODEL.onnx --input IN=FILE.npy... --out-dir DIR [--shape ...] [--bind ...]
 *   qcc MODEL.onnx -o OUT.qcs --target npu [--npu-config FILE] [-q ...]
 *   qcc sim OUT.qcs --input IN=FILE.npy... --out-dir DIR    (compiler/npu_sim.c)
 *   qcc dis OUT.qcs                                         (compiler/npu_dis.c)
 *
 * Compiling writes OUT.c and OUT.h (same stem). `run` evaluates the model
 * with the same runtime kernels and writes each output as DIR/<name>.npy.
 * MODEL may also be FINAL.mlir, the IR --emit-mlir wrote: compiled or run
 * as it is, no pass runs again (the flags that choose passes belong to the
 * compile that wrote it). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aifs.h"
#include "emit_c.h"
#include "emit_main.h"
#include "emit_npu.h"
#include "npu_config.h"
#include "npu_tools.h"
#include "evaluator.h"
#include "final_ir.h"
#include "kernel_call.h"
#include "kv_cache.h"
#include "msq.h"
#include "passes.h"
#include "quant_options.h"
#include "parallel.h"
#include "report.h"
#include "rotate.h"
#include "smooth.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: qcc MODEL.onnx -o OUT.c [options]\n"
          "       qcc run MODEL.onnx --input NAME=FILE.npy ... --out-dir DIR [options]\n"
          "       qcc MODEL.onnx -o OUT.qcs --target npu [--npu-config FILE] [options]\n"
          "       qcc sim OUT.qcs --input NAME=FILE.npy ... --out-dir DIR [--npu-config FILE]\n"
          "       qcc dis OUT.qcs\n"
          "options:\n"
          "  -o FILE               C file to write (its .h is written beside it)\n"
          "  --name NAME           C prefix of the API (default: from the output file)\n"
          "  --shape NAME=AxBxC    fix the shape of an input with symbolic dims\n"
          "  --bind NAME=FILE.npy  freeze an input to the array in FILE: it becomes a constant\n"
          "                        (no longer a parameter), e.g. Slice starts or Pad pads\n"
          "  --runtime=inline      paste the kernels the model uses into OUT.c (default)\n"
          "  --runtime=external    #include \"qrt.h\" and link the runtime library instead\n"
          "  --threads N           kernels with enough work split over N threads (POSIX threads;\n"
          "                        link with -pthread) or the program's parallel-for; same bits\n"
          "                        for any N\n"
          "  --unroll-max-ops N    a Loop or Scan whose unrolled copies would hold more than N\n"
          "                        ops becomes a C loop where it can (default 4096; 0: always)\n"
          "  --no-fma              float matmuls and convolutions round each multiply-add\n"
          "                        twice instead of fusing it (fmaf, the default: one\n"
          "                        rounding); for targets without FMA hardware, where fmaf\n"
          "                        is a slow library call. Other bits. (--fma: the default)\n"
          "  --no-fuse-attention   keep float attention as its matmul, scale, mask, softmax and\n"
          "                        matmul calls (default: one fused call per attention; the\n"
          "                        same bits)\n"
          "  --no-float-epilogues  an int8 layer whose output only goes to float ops still\n"
          "                        rounds it to int8 codes and converts them back (default:\n"
          "                        it computes the float directly, no output rounding)\n"
          "  --no-fuse-matmul-epilogue  a float matmul's residual add or gating multiply\n"
          "                        stays a kernel of its own (default: the GEMM does it as\n"
          "                        it stores; the same bits)\n"
          "  --exact-qlinear       a pre-quantized model's QLinearConv / QLinearMatMul and\n"
          "                        QDQ layers as ONNX writes them: int32 sums requantized in\n"
          "                        float, bit for bit ONNX Runtime's codes, on plain loops\n"
          "                        (default: qcc's int8 kernels with the model's scales,\n"
          "                        a code off by one where a product is near a rounding tie)\n"
          "  --no-fold-transposes  keep a transpose between an int8 matmul or a fused\n"
          "                        attention and its operand or result as a copy (default:\n"
          "                        the kernel reads or writes the transposed layout in\n"
          "                        place; the same bits)\n"
          "  --weights-file FILE   all constant data to FILE (binary; OUT.c keeps code only and\n"
          "                        gets NAME_set_weights); FILE.S: also an assembler file that\n"
          "                        links FILE.bin in with .incbin\n"
          "  --report FILE         per-layer formats and SQNR, output error vs float on\n"
          "                        the calibration set, sizes (FILE.json: JSON; else a table)\n"
          "  --emit-mlir FILE      also write the final q-dialect IR; qcc and qcc run take that\n"
          "                        FILE.mlir in place of MODEL.onnx and run no pass again\n"
          "%s%s%s%s%s"
          "  --emit-main FILE      also write a main() that runs the model on .npy files\n"
          "  --target c|npu        c: OUT.c + OUT.h (default); npu: an NPU command stream OUT and\n"
          "                        OUT.h (the stream as a C array), docs/npu.md\n"
          "  --npu-config FILE     the NPU's machine description (JSON; defaults in docs/npu.md)\n"
          "  -v                    remarks: what each pass did, memory plan\n"
          "  -h, --help            this help\n",
          qcc_quant_flags_help, qcc_rotate_flags_help, qcc_aifs_flags_help, qcc_msq_flags_help, qcc_kv_flags_help);
}

typedef struct options {
  const char *model, *out, *name, *emit_mlir, *emit_main, *out_dir, *report, *npu_config;
  const char *weights_file;
  const char *pass_flag; /* the first flag given that chooses passes (none for a .mlir input) */
  int threads;
  bool run, runtime_inline, target_npu, no_fuse_attention, no_float_epilogues, no_fold_transposes, no_fuse_matmul_epilogue;
  qcc_input_shape shapes[32];
  int n_shapes;
  const char *in_names[64], *in_files[64];
  int n_inputs;
  qcc_input_binding binds[64];
  int n_binds;
} options;

/* "1x3x32x32" -> dims; false on anything else. */
static bool parse_dims(const char *s, qcc_input_shape *out) {
  out->rank = 0;
  if (!*s) return true;
  while (*s) {
    char *end;
    if (!isdigit((unsigned char)*s) || out->rank == QRT_MAX_RANK) return false;
    long long v = strtoll(s, &end, 10);
    out->dims[out->rank++] = v;
    if (*end == 'x') end++;
    else if (*end) return false;
    s = end;
  }
  return true;
}

/* "NAME=FILE" of --input and --bind; false (reported) on anything else. */
static bool parse_name_file(const char *flag, const char *v, int n_given, const char **name, const char **file) {
  const char *eq = strchr(v, '=');
  if (!eq || eq == v || !eq[1]) return qcc_error("%s: expected NAME=FILE.npy, got '%s'", flag, v), false;
  if (n_given == 64) return qcc_error("%s: at most 64 are supported", flag), false;
  *name = strndup(v, (size_t)(eq - v));
  *file = eq + 1;
  return true;
}

/* Value of a flag given as "--flag VALUE" or "--flag=VALUE". */
static const char *flag_value(int argc, char **argv, int *i, const char *flag) {
  size_t n = strlen(flag);
  if (!strncmp(argv[*i], flag, n) && argv[*i][n] == '=') return argv[*i] + n + 1;
  if (strcmp(argv[*i], flag)) return NULL;
  if (*i + 1 >= argc) {
    qcc_error("flag '%s' needs a value", flag);
    exit(2);
  }
  return argv[++*i];
}

static bool is_mlir_path(const char *path) {
  size_t n = strlen(path);
  return n > 5 && !strcmp(path + n - 5, ".mlir");
}

static int parse_args(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  o->runtime_inline = true;
  int i = 1;
  if (argc > 1 && !strcmp(argv[1], "run")) {
    o->run = true;
    i = 2;
  }
  for (; i < argc; i++) {
    const char *a = argv[i], *v;
    int q = qcc_quant_parse_flag(argc, argv, &i);
    if (q == 0) q = qcc_rotate_parse_flag(argc, argv, &i);
    if (q == 0) q = qcc_aifs_parse_flag(argc, argv, &i);
    if (q == 0) q = qcc_msq_parse_flag(argc, argv, &i);
    if (q == 0) q = qcc_kv_parse_flag(argc, argv, &i);
    if (q < 0) return -1;
    if (q > 0 && !o->pass_flag) o->pass_flag = a;
    if (q > 0) continue;
    static const char *const pass_flags[] = {"--fma", "--no-fma", "--no-fuse-attention", "--no-float-epilogues",
                                             "--no-fuse-matmul-epilogue", "--no-fold-transposes", "--exact-qlinear", "--unroll-max-ops",
                                             "--report", "--target", "--npu-config", "--shape", "--bind"};
    for (size_t k = 0; k < sizeof pass_flags / sizeof *pass_flags && !o->pass_flag; k++) {
      size_t n = strlen(pass_flags[k]);
      if (!strncmp(a, pass_flags[k], n) && (a[n] == 0 || a[n] == '=')) o->pass_flag = pass_flags[k];
    }
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      exit(0);
    } else if (!strcmp(a, "-v")) {
      qcc_verbose = 1;
    } else if (!strcmp(a, "--fma")) {
      qcc_fused_multiply_add = true; /* the default; kept so older command lines work */
    } else if (!strcmp(a, "--no-fma")) {
      qcc_fused_multiply_add = false;
    } else if (!strcmp(a, "--no-fuse-attention")) {
      o->no_fuse_attention = true;
    } else if (!strcmp(a, "--no-float-epilogues")) {
      o->no_float_epilogues = true;
    } else if (!strcmp(a, "--no-fuse-matmul-epilogue")) {
      o->no_fuse_matmul_epilogue = true;
    } else if (!strcmp(a, "--no-fold-transposes")) {
      o->no_fold_transposes = true;
    } else if (!strcmp(a, "--exact-qlinear")) {
      qcc_exact_qlinear = true;
    } else if ((v = flag_value(argc, argv, &i, "--unroll-max-ops"))) {
      char *end;
      long long t = strtoll(v, &end, 10);
      if (*end || !*v || t < 0) return qcc_error("--unroll-max-ops: expected a count of ops >= 0, got '%s'", v), -1;
      qcc_unroll_max_ops = t;
    } else if ((v = flag_value(argc, argv, &i, "--threads"))) {
      char *end;
      long t = strtol(v, &end, 10);
      if (*end || t < 1 || t > 256) return qcc_error("--threads: expected a count from 1 to 256, got '%s'", v), -1;
      o->threads = (int)t;
    } else if ((v = flag_value(argc, argv, &i, "-o"))) {
      o->out = v;
    } else if ((v = flag_value(argc, argv, &i, "--name"))) {
      o->name = v;
    } else if ((v = flag_value(argc, argv, &i, "--emit-mlir"))) {
      o->emit_mlir = v;
    } else if ((v = flag_value(argc, argv, &i, "--report"))) {
      o->report = v;
    } else if ((v = flag_value(argc, argv, &i, "--emit-main"))) {
      o->emit_main = v;
    } else if ((v = flag_value(argc, argv, &i, "--target"))) {
      if (!strcmp(v, "npu")) o->target_npu = true;
      else if (!strcmp(v, "c")) o->target_npu = false;
      else return qcc_error("--target: expected 'c' or 'npu', got '%s'", v), -1;
    } else if ((v = flag_value(argc, argv, &i, "--npu-config"))) {
      o->npu_config = v;
    } else if ((v = flag_value(argc, argv, &i, "--weights-file"))) {
      o->weights_file = v;
    } else if ((v = flag_value(argc, argv, &i, "--out-dir"))) {
      o->out_dir = v;
    } else if ((v = flag_value(argc, argv, &i, "--runtime"))) {
      if (!strcmp(v, "inline")) o->runtime_inline = true;
      else if (!strcmp(v, "external")) o->runtime_inline = false;
      else return qcc_error("--runtime: expected 'inline' or 'external', got '%s'", v), -1;
    } else if ((v = flag_value(argc, argv, &i, "--shape"))) {
      const char *eq = strrchr(v, '=');
      if (!eq || eq == v || o->n_shapes == 32) return qcc_error("--shape: expected NAME=DIMS (e.g. input=1x3x32x32), got '%s'", v), -1;
      qcc_input_shape *s = &o->shapes[o->n_shapes++];
      s->name = strndup(v, (size_t)(eq - v));
      if (!parse_dims(eq + 1, s)) return qcc_error("--shape: bad dims '%s' (expected e.g. 1x3x32x32)", eq + 1), -1;
    } else if ((v = flag_value(argc, argv, &i, "--input"))) {
      if (!parse_name_file("--input", v, o->n_inputs, &o->in_names[o->n_inputs], &o->in_files[o->n_inputs]))
        return -1;
      o->n_inputs++;
    } else if ((v = flag_value(argc, argv, &i, "--bind"))) {
      qcc_input_binding *b = &o->binds[o->n_binds];
      if (!parse_name_file("--bind", v, o->n_binds, &b->name, &b->path)) return -1;
      o->n_binds++;
    } else if (a[0] == '-') {
      return qcc_error("unknown flag '%s' (see qcc --help)", a), -1;
    } else if (!o->model) {
      o->model = a;
    } else {
      return qcc_error("unexpected argument '%s' (one model at a time)", a), -1;
    }
  }
  if (!o->model) return qcc_error("no input model (see qcc --help)"), -1;
  if (is_mlir_path(o->model) && o->pass_flag)
    return qcc_error("%s: %s is final IR (from --emit-mlir), compiled or run as it is; the flags that choose "
                     "passes belong to the compile that wrote it", o->pass_flag, o->model), -1;
  if (!o->run && !o->out) return qcc_error("no output file: give -o OUT.c"), -1;
  if (o->run && !o->out_dir) return qcc_error("qcc run: give --out-dir DIR for the outputs"), -1;
  if (qcc_quant_needs_calibration() && !qcc_quant_opts.calib_path) {
    if (qcc_quant_opts.scheme->act_bits == 0 && qcc_quant_opts.n_layer_schemes)
      return qcc_error("--layer-scheme with static activations needs calibration data: give --calib DIR"), -1;
    if (qcc_quant_opts.scheme->act_bits == 0) /* weight-only: only GPTQ needs the samples */
      return qcc_error("-q %s --weight-quant gptq needs calibration data (the layers' input statistics): give "
                       "--calib DIR", qcc_quant_opts.scheme->name), -1;
    return qcc_error("-q %s needs calibration data: give --calib DIR", qcc_quant_opts.scheme->name), -1;
  }
  if (qcc_quantizing() && qcc_quant_opts.scheme->act_bits == 16 && qcc_quant_opts.act_per_token)
    return qcc_error("--act-scale token: -q %s has static int16 activations only", qcc_quant_opts.scheme->name), -1;
  if (qcc_quant_opts.integer_only &&
      (!qcc_quantizing() || qcc_quant_opts.scheme->act_bits == 0 || qcc_quant_opts.scheme->act_bits == 16 ||
       qcc_quant_opts.act_per_token))
    return qcc_error("--integer-only needs a scheme with static int8 activations (-q w8a8, w4a8 or w4a4 without "
                     "--act-scale token)"), -1;
  if (qcc_quant_opts.integer_only && qcc_quant_opts.softmax_bits)
    return qcc_error("--softmax-format dbfp%d and --integer-only both choose the softmax's arithmetic: give one",
                     qcc_quant_opts.softmax_bits), -1;
  if (qcc_quant_opts.allocate && qcc_quant_opts.avg_bits <= 0 && qcc_quant_opts.max_bytes <= 0 &&
      qcc_quant_opts.max_latency_us <= 0)
    return qcc_error("-q auto needs a budget: give --avg-bits B, --max-bytes N or --max-latency-us T"), -1;
  if (qcc_quant_opts.n_layer_schemes && (!qcc_quantizing() || qcc_quant_opts.allocate))
    return qcc_error("--layer-scheme: needs -q SCHEME for the other layers (not f32 or auto: -q auto picks every "
                     "layer's scheme itself)"), -1;
  if (!qcc_quant_opts.allocate && (qcc_quant_opts.avg_bits > 0 || qcc_quant_opts.max_bytes > 0 ||
                                   qcc_quant_opts.max_latency_us > 0 || qcc_quant_opts.n_formats ||
                                   qcc_quant_opts.sensitivity_samples))
    return qcc_error("--avg-bits, --max-bytes, --max-latency-us, --formats and --sensitivity-samples are for -q auto"),
           -1;
  if (!qcc_quantizing() && qcc_quant_opts.calib_path) qcc_warning("--calib is unused without -q");
  if (!qcc_quantizing() && qcc_quant_opts.weight_quant != QCC_WEIGHT_RTN)
    qcc_warning("--weight-quant is unused without -q");
  /* GPTQ picks integer codes; block-format weights are rounded to nearest
   * by their encoder (qrt_bfmt), so the flag would change nothing */
  if (qcc_quantizing() && qcc_quant_opts.scheme->block_format >= 0 && !qcc_quant_opts.n_layer_schemes &&
      qcc_quant_opts.weight_quant == QCC_WEIGHT_GPTQ)
    qcc_warning("--weight-quant gptq is unused with -q %s: block-format weights are rounded to nearest",
                qcc_quant_opts.scheme->name);
  /* a block format's activations are quantized per block, at run time */
  if (qcc_quantizing() && qcc_quant_opts.scheme->block_format >= 0 && !qcc_quant_opts.n_layer_schemes &&
      !qcc_quant_opts.allocate && qcc_quant_opts.act_per_token)
    qcc_warning("--act-scale token is unused with -q %s: a block format scales activations per block already",
                qcc_quant_opts.scheme->name);
  /* the group is int4 weights' (block formats carry theirs in the name) */
  if (qcc_quant_opts.group_size > 0 && (!qcc_quantizing() || (!qcc_quant_opts.allocate &&
                                        !qcc_quant_opts.n_layer_schemes &&
                                        qcc_quant_opts.scheme->weight_format != QRT_WFMT_I4)))
    qcc_warning("--group-size is unused with -q %s: it sets int4 weights' group size (a block format names its "
                "block size instead, e.g. bfp4_16)", qcc_quantizing() ? qcc_quant_opts.scheme->name : "f32");
  if (o->report && (!qcc_quantizing() || !qcc_quant_opts.calib_path))
    return qcc_error("--report describes a quantized compile against float on samples: give -q and --calib"), -1;
  qcc_rotate_opts.metrics = o->report != NULL; /* only the report shows them */
  if (qcc_msq_check_options()) return -1;
  if (!o->run && o->n_inputs) return qcc_error("--input is only for 'qcc run'"), -1;
  if (o->npu_config && !o->target_npu) return qcc_error("--npu-config is for --target npu"), -1;
  if (o->threads > 1 && (o->run || o->target_npu))
    return qcc_error("--threads is for C output (qcc MODEL.onnx -o OUT.c)"), -1;
  if (o->weights_file && (o->run || o->target_npu))
    return qcc_error("--weights-file is for C output (qcc MODEL.onnx -o OUT.c); the NPU stream and 'qcc run' "
                     "keep their weights"), -1;
  if (o->target_npu && (o->run || o->emit_main))
    return qcc_error("--target npu writes a command stream: run it with 'qcc sim', not 'qcc run' or --emit-main"), -1;
  for (int k = 0; k < o->n_inputs; k++)
    for (int b = 0; b < o->n_binds; b++)
      if (!strcmp(o->in_names[k], o->binds[b].name))
        return qcc_error("qcc run: input '%s' is bound with --bind, so it takes no --input", o->in_names[k]), -1;
  return 0;
}

/* Default API name: the output file's stem, made a C identifier. */
static char *default_name(const char *out) {
  const char *base = strrchr(out, '/') ? strrchr(out, '/') + 1 : out;
  char *name = strdup(base);
  char *dot = strrchr(name, '.');
  if (dot) *dot = 0;
  for (char *p = name; *p; p++)
    if (!isalnum((unsigned char)*p)) *p = '_';
  if (!isalpha((unsigned char)name[0])) name[0] = 'm';
  return name;
}

/* --weights-file FILE.S writes the data to FILE.bin (and FILE.S); any
 * other name is the data file itself. */
static char *weights_bin_path(const char *arg) {
  size_t n = strlen(arg);
  char *p = malloc(n + 5);
  strcpy(p, arg);
  if (n > 2 && !strcmp(arg + n - 2, ".S")) strcpy(p + n - 2, ".bin");
  return p;
}

/* --target npu: OUT (the stream) and OUT.h beside it. */
static int compile_npu(const options *o, MlirModule m) {
  qrt_npu_config cfg;
  if (qcc_npu_config_load(o->npu_config, &cfg)) return -1;
  char *h_path = malloc(strlen(o->out) + 3);
  strcpy(h_path, o->out);
  strcat(h_path, ".h");
  char *name = o->name ? strdup(o->name) : default_name(o->out);
  for (const char *p = name; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '_') return qcc_error("--name: '%s' is not a C identifier", name), -1;
  qcc_npu_emit_options eo = {name, o->out, h_path, &cfg};
  qcc_npu_emit_stats st;
  int rc = qcc_emit_npu(m, &eo, &st);
  if (!rc)
    qcc_remark("wrote %s and %s: %d commands, %d layers on the NPU, %d host commands, stream %lld bytes, DRAM %lld "
               "bytes", o->out, h_path, st.commands, st.native_layers, st.host_commands, (long long)st.stream_bytes,
               (long long)st.dram_bytes);
  free(h_path);
  free(name);
  return rc;
}

static int compile(const options *o, MlirModule m) {
  if (o->target_npu) return compile_npu(o, m);
  char *c_path = strdup(o->out), *h_path = malloc(strlen(o->out) + 3);
  strcpy(h_path, o->out);
  char *dot = strrchr(h_path, '.');
  char *slash = strrchr(h_path, '/');
  if (dot && (!slash || dot > slash)) strcpy(dot, ".h");
  else strcat(h_path, ".h");
  char *name = o->name ? strdup(o->name) : default_name(o->out);
  for (const char *p = name; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '_') return qcc_error("--name: '%s' is not a C identifier", name), -1;
  char *bin_path = o->weights_file ? weights_bin_path(o->weights_file) : NULL;
  if (bin_path && (!strcmp(bin_path, c_path) || !strcmp(bin_path, h_path)))
    return qcc_error("--weights-file '%s' would overwrite the generated C", o->weights_file), -1;
  qcc_emit_options eo = {name, c_path, h_path, o->runtime_inline, bin_path,
                         bin_path && strcmp(bin_path, o->weights_file) ? o->weights_file : NULL, o->threads};
  qcc_emit_stats st;
  int rc = qcc_emit_c(m, &eo, &st);
  if (!rc && o->emit_main) {
    const char *h_base = strrchr(h_path, '/') ? strrchr(h_path, '/') + 1 : h_path;
    rc = qcc_emit_main(m, o->emit_main, name, h_base, bin_path != NULL);
  }
  if (!rc && bin_path)
    qcc_remark("wrote %s: %lld bytes of weights%s%s", bin_path, (long long)st.weights_file_bytes,
               eo.asm_path ? " and " : "", eo.asm_path ? eo.asm_path : "");
  free(bin_path);
  if (!rc)
    qcc_remark("wrote %s and %s: %d kernel calls, workspace %lld bytes (intermediates total %lld bytes), "
               "weights %lld bytes, %.3f MFLOP per run",
               c_path, h_path, st.steps, (long long)st.arena_bytes, (long long)st.intermediate_bytes,
               (long long)st.weight_bytes, (double)st.flops / 1e6);
  free(c_path);
  free(h_path);
  free(name);
  return rc;
}

static int run_model(const options *o, MlirModule m) {
  MlirOperation func = qcc_module_func(m);
  MlirBlock body = qcc_func_body(func);
  int n_args = (int)mlirBlockGetNumArguments(body);
  MlirAttribute names = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("onnx.input_names"));
  MlirAttribute onames = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("onnx.output_names"));
  qcc_array *inputs = calloc((size_t)n_args + 1, sizeof *inputs);
  int rc = 0;
  /* a misspelt --input first: it is why the model's input looks missing */
  for (int k = 0; k < o->n_inputs && !rc; k++) {
    bool known = false;
    char list[512] = "";
    for (int i = 0; i < n_args; i++) {
      MlirStringRef nm = mlirStringAttrGetValue(mlirArrayAttrGetElement(names, i));
      known |= strlen(o->in_names[k]) == nm.length && !memcmp(o->in_names[k], nm.data, nm.length);
      size_t at = strlen(list);
      snprintf(list + at, sizeof list - at, "%s'%.*s'", i ? ", " : "", (int)nm.length, nm.data);
    }
    if (!known) rc = -1, qcc_error("qcc run: the model has no input named '%s' (its inputs: %s)", o->in_names[k], list);
  }
  for (int i = 0; i < n_args && !rc; i++) {
    MlirStringRef nm = mlirStringAttrGetValue(mlirArrayAttrGetElement(names, i));
    int found = -1;
    for (int k = 0; k < o->n_inputs; k++)
      if (strlen(o->in_names[k]) == nm.length && !memcmp(o->in_names[k], nm.data, nm.length)) found = k;
    if (found < 0) {
      rc = -1;
      qcc_error("qcc run: no --input given for model input '%.*s'", (int)nm.length, nm.data);
      break;
    }
    char err[512];
    if (qcc_npy_read(o->in_files[found], &inputs[i], err, sizeof err)) {
      qcc_error("%s", err);
      rc = -1;
    }
  }
  qcc_array *outs = NULL;
  int n_outs = 0;
  if (!rc) rc = qcc_evaluate(m, inputs, n_args, &outs, &n_outs, NULL, NULL);
  for (int j = 0; j < n_outs && !rc; j++) {
    MlirStringRef nm = mlirStringAttrGetValue(mlirArrayAttrGetElement(onames, j));
    char raw[256], err[512];
    snprintf(raw, sizeof raw, "%.*s", (int)nm.length, nm.data);
    if (qcc_npy_write_output(o->out_dir, raw, &outs[j], err, sizeof err)) rc = -1, qcc_error("%s", err);
  }
  for (int j = 0; j < n_outs; j++) qcc_array_free(&outs[j]);
  free(outs);
  for (int i = 0; i < n_args; i++) qcc_array_free(&inputs[i]);
  free(inputs);
  return rc;
}

/* Weight bytes of the C a module compiles to (emitted to /dev/null). */
static int64_t weight_bytes(MlirModule m) {
  qcc_emit_options eo = {"m", "/dev/null", "/dev/null", true, NULL, NULL, 1};
  qcc_emit_stats st;
  return qcc_emit_c(m, &eo, &st) ? -1 : st.weight_bytes;
}

/* Compares the quantized module with a float compile of the same model. */
static int write_report(const options *o, MlirContext ctx, MlirModule quant) {
  qcc_import_options io = {o->shapes, o->n_shapes, o->binds, o->n_binds};
  MlirModule flt = qcc_import_onnx(ctx, o->model, &io);
  if (mlirModuleIsNull(flt) || qcc_run_default_pipeline(flt)) return -1;
  MlirBlock body = qcc_func_body(qcc_module_func(flt));
  MlirAttribute names = mlirOperationGetAttributeByName(qcc_module_func(flt), mlirStringRefCreateFromCString("onnx.input_names"));
  qcc_calib_inputs in;
  memset(&in, 0, sizeof in);
  in.n = (int)mlirBlockGetNumArguments(body);
  char buf[64][128];
  for (int i = 0; i < in.n && i < 64; i++) {
    MlirStringRef s = mlirStringAttrGetValue(mlirArrayAttrGetElement(names, i));
    snprintf(buf[i], sizeof buf[i], "%.*s", (int)s.length, s.data);
    in.names[i] = buf[i];
    qcc_shape_of(mlirBlockGetArgument(body, i), &in.shapes[i]);
  }
  qcc_calib_set set;
  int rc = qcc_calib_load(qcc_quant_opts.calib_path, &in, &set);
  qcc_report_sizes sizes = {weight_bytes(flt), weight_bytes(quant)};
  if (!rc) rc = qcc_write_report(o->report, flt, quant, &set, &sizes);
  if (!rc) qcc_calib_free(&set);
  mlirModuleDestroy(flt);
  return rc;
}

/* -v: wall time of each phase (the slow ones are the ones that evaluate
 * the model on calibration samples or factor matrices). */
typedef struct phase_times {
  const char *name[16];
  double seconds[16];
  int n;
  double mark;
} phase_times;

static void phase_done(phase_times *pt, const char *name) {
  const double now = qcc_wall_seconds();
  if (pt->n < 16) pt->name[pt->n] = name, pt->seconds[pt->n++] = now - pt->mark;
  pt->mark = now;
}

static void print_phase_times(const phase_times *pt) {
  if (!qcc_verbose) return;
  char line[512];
  size_t len = 0;
  double total = 0;
  for (int i = 0; i < pt->n && len < sizeof line; i++) {
    len += (size_t)snprintf(line + len, sizeof line - len, "%s%s %.2f s", i ? ", " : "", pt->name[i], pt->seconds[i]);
    total += pt->seconds[i];
  }
  qcc_remark("time: %s; total %.2f s (evaluator kernels: %s)", line, total, qcc_kernel_isa());
}

/* The passes a compile of an ONNX model runs, in order; *report_m gets a
 * copy of the module for --report before the output fusions. */
static int run_passes(const options *o, MlirModule m, phase_times *pt, MlirModule *report_m) {
  int rc = qcc_run_default_pipeline(m);
  phase_done(pt, "legalize");
  if (!rc && qcc_rotate_opts.kind != QCC_ROT_NONE) rc = qcc_pass_rotate(m), phase_done(pt, "rotate");
  else if (!rc && qcc_rotate_opts.smooth_alpha >= 0) rc = qcc_pass_smooth(m), phase_done(pt, "smooth");
  if (!rc) rc = qcc_pass_reorder_tokens(m);
  if (!rc && qcc_quantizing()) {
    if (qcc_quant_needs_calibration()) rc = qcc_pass_calibrate(m), phase_done(pt, "calibrate");
    if (!rc) rc = qcc_pass_msq(m);
    if (!rc && qcc_quant_opts.allocate) rc = qcc_pass_sensitivity(m), phase_done(pt, "sensitivity");
    if (!rc && qcc_quant_opts.allocate) rc = qcc_pass_allocate(m), phase_done(pt, "allocate");
    if (!rc && !qcc_quant_opts.allocate) rc = qcc_pass_attention_scales(m), phase_done(pt, "attention_scales");
    if (!rc) rc = qcc_pass_quantize(m), phase_done(pt, "quantize");
    /* the accelerator's GEMM epilogues are integer; --integer-only keeps
     * every layer's output as codes */
    if (!rc && !o->target_npu && !o->no_float_epilogues && !qcc_quant_opts.integer_only)
      rc = qcc_pass_float_epilogues(m);
    if (rc) rc = -1;
  }
  if (!rc) rc = qcc_pass_softmax_format(m);
  if (!rc) rc = qcc_pass_kv_cache(m);
  /* the NPU backend lowers attention's matmuls and softmax itself */
  if (!rc && !o->target_npu && !o->no_fuse_attention) rc = qcc_pass_fuse_attention(m);
  if (!rc && !o->target_npu) rc = qcc_pass_fuse_conv_activation(m);
  if (!rc && !o->target_npu && !o->no_fuse_matmul_epilogue) rc = qcc_pass_fuse_matmul_epilogue(m);
  /* --report measures each layer input's quantization error on the float
   * values its quantize reads; the output fusions below write the codes
   * without those floats, so the report reads the module as it is here
   * (the same bits: both fusions are exact). */
  if (!rc && o->report) *report_m = mlirModuleFromOperation(mlirOperationClone(mlirModuleGetOperation(m)));
  if (!rc && !o->target_npu && qcc_quantizing()) rc = qcc_pass_fuse_output_quantize(m);
  if (!rc && !o->target_npu && !o->no_fold_transposes) rc = qcc_pass_fold_transposes(m);
  return rc;
}

int main(int argc, char **argv) {
  options o;
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "sim")) return qcc_npu_sim_main(argc - 1, argv + 1);
  if (!strcmp(argv[1], "dis")) return qcc_npu_dis_main(argc - 1, argv + 1);
  if (parse_args(argc, argv, &o)) return 2;
  MlirContext ctx = qcc_context_create();
  qcc_import_options io = {o.shapes, o.n_shapes, o.binds, o.n_binds};
  phase_times pt = {{NULL}, {0}, 0, qcc_wall_seconds()};
  MlirModule report_m = {NULL};
  MlirModule m = is_mlir_path(o.model) ? qcc_read_final_ir(ctx, o.model) : qcc_import_onnx(ctx, o.model, &io);
  phase_done(&pt, "import");
  int rc = mlirModuleIsNull(m) ? -1 : 0;
  if (!rc && !is_mlir_path(o.model)) rc = run_passes(&o, m, &pt, &report_m);
  if (!rc && !o.target_npu && !o.run && o.threads > 1) rc = qcc_pass_group_siblings(m);
  if (!rc && o.emit_mlir) rc = qcc_write_final_ir(m, o.emit_mlir);
  if (!rc) rc = o.run ? run_model(&o, m) : compile(&o, m), phase_done(&pt, o.run ? "run" : "emit");
  if (!rc && o.report) rc = write_report(&o, ctx, report_m), phase_done(&pt, "report");
  if (!rc) print_phase_times(&pt);
  if (!mlirModuleIsNull(report_m)) mlirModuleDestroy(report_m);
  if (!mlirModuleIsNull(m)) mlirModuleDestroy(m);
  mlirContextDestroy(ctx);
  return rc ? 1 : 0;
}
