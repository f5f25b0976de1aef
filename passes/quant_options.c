/* quant_options.c - the quantization flags and the scheme table, shared by
 * qcc and qcc-opt so both accept the same spellings and report the same
 * errors. */
#include "quant_options.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "qrt.h"
#include "quant_activations.h"

/* attention_measure: measured attention scales are the default since the
 * run-time MXINT8 encoder is vectorized (runtime/qrt_bdot_enc.c). */
qcc_quant_options qcc_quant_opts = {.attention_measure = true, .observer = QCC_OBSERVER_MSE, .percentile = 99.99};

const qcc_quant_scheme qcc_quant_schemes[] = {
    {"f32", -1, 0, "no quantization", -1},
    {"w8a8", QRT_WFMT_I8, 8, "int8 weights per channel, int8 activations", -1},
    {"w4a8", QRT_WFMT_I4, 8, "int4 weights per group, int8 activations", -1},
    {"w4a4", QRT_WFMT_I4, 4, "int4 weights per group, int4 activations", -1},
    {"w8a16", QRT_WFMT_I8, 0, "int8 weights per channel, float activations (weight-only)", -1},
    {"w4a16", QRT_WFMT_I4, 0, "int4 weights per group, float activations (weight-only)", -1},
    /* integer 16-bit activations (not "a16": that name means float
     * activations, weight-only): static int16 codes, int64 sums */
    {"w8i16", QRT_WFMT_I8, 16, "int8 weights per channel, int16 activations (static, matmuls)", -1},
    /* block formats: weights and matmul inputs in the format (short names
     * first: the common block size and element variant) */
    {"mxfp8", -1, 0, "OCP MXFP8 (E4M3), block 32", 10},
    {"mxfp6", -1, 0, "OCP MXFP6 (E2M3), block 32", 13},
    {"bfp8", -1, 0, "BFP, 8-bit mantissas, block 32", 7},
    {"bfp6", -1, 0, "BFP, 6-bit mantissas, block 32", 4},
    {"bfp4", -1, 0, "BFP, 4-bit mantissas, block 32", 1},
    {"bbfp8", -1, 0, "bidirectional BFP, 8-bit mantissas, block 32", 18},
    {"bbfp6", -1, 0, "bidirectional BFP, 6-bit mantissas, block 32", 17},
    {"bbfp4", -1, 0, "bidirectional BFP, 4-bit mantissas, block 32", 16},
#define BLOCK_SCHEME(id, fname, elem, bits, block, scale) {fname, -1, 0, "block format " fname, id},
    QRT_ALL_BFORMATS(BLOCK_SCHEME)
#undef BLOCK_SCHEME
    {NULL, 0, 0, NULL, -1},
};

const char qcc_quant_flags_help[] =
    "  -q SCHEME             f32 (default), w8a8, w4a8, w4a4 (integer matmul/conv,\n"
    "                        calibrated activations), w8i16 (int16 activations,\n"
    "                        matmuls and attention) or w8a16, w4a16 (weight-only);\n"
    "                        or a block format for matmul weights and inputs:\n"
    "                        mxint8, mxfp8[_e5m2], mxfp6[_e3m2], mxfp4, nvfp4,\n"
    "                        bfp8|6|4, bbfp8|6|4 (block 32; bfpM_B for block B)\n"
    "  --calib DIR           calibration samples (DIR/<input>.npy stacked [N,...],\n"
    "                        test_data_set_*/input_*.pb, or one .npy per sample)\n"
    "  --group-size N        int4 weights: N input rows per scale (default 128, or\n"
    "                        the row length when smaller); a multiple of 4\n"
    "  --act-scale static|token\n"
    "                        activations: calibrated per-tensor scales (default) or\n"
    "                        per-token scales computed at run time (matmuls)\n"
    "  --attention-scales static|measure\n"
    "                        static integer schemes: each of attention's matmuls\n"
    "                        is measured against MXINT8 block scales and takes\n"
    "                        them where per-tensor static int8 is clearly worse\n"
    "                        (measure, the default), or all keep static int8\n"
    "  --observer mse|minmax|percentile[:P]\n"
    "                        activation range from calibration: the clip minimizing\n"
    "                        the quantization MSE (default), min/max, or the central\n"
    "                        P percent of the values (default 99.99)\n"
    "  --calib-threads N     calibration, and -q auto's and --attention-scales'\n"
    "                        measurements, run their samples on N threads (default:\n"
    "                        the online CPUs, at most 8; calibration on one with\n"
    "                        --weight-quant gptq); the same results for every N\n"
    "  --weight-quant rtn|gptq\n"
    "                        integer weight codes for the chosen scales: round to\n"
    "                        nearest (default), or GPTQ, which minimizes the\n"
    "                        matmul's output error on the calibration inputs\n"
    "                        (needs --calib, also for w8a16/w4a16); convolutions\n"
    "                        always round to nearest\n"
    "  --integer-only        static int8 schemes: also softmax, LayerNorm/RMSNorm\n"
    "                        and elementwise functions (GELU, SiLU, ...) in\n"
    "                        integer arithmetic between the quantized layers\n"
    "                        (without it, only functions whose input and users\n"
    "                        are int8 layers run as int8 tables)\n"
    "  --softmax-format float|dbfp4..dbfp8\n"
    "                        softmax over the last axis on DBFP rows (M-bit\n"
    "                        distances from the row maximum plus a group bit) with\n"
    "                        a lookup-table exp (any -q; not with --integer-only)\n"
    "  -q auto               mixed precision: every layer's scheme chosen by measured\n"
    "                        sensitivity under a budget, solved exactly (needs --calib\n"
    "                        and a budget: --avg-bits, --max-bytes, --max-latency-us)\n"
    "  --avg-bits B          -q auto: average bits per weight, scales included\n"
    "  --max-bytes N         -q auto: total bytes of the layers' weights\n"
    "  --max-latency-us T    -q auto: the layers' modeled latency (measured cost per\n"
    "                        multiply-accumulate of each scheme's kernel)\n"
    "  --formats LIST        -q auto: the candidate schemes (comma-separated -q names;\n"
    "                        f32 is always one)\n"
    "  --sensitivity-metric mse|kl|hessian\n"
    "                        -q auto: a layer's output error as relative MSE (default)\n"
    "                        or KL divergence of the outputs' rows taken as logits,\n"
    "                        measured per layer and candidate; or hessian: HAWQ-V3's\n"
    "                        Hessian-trace proxy of the MSE, one run per layer (the\n"
    "                        default above 16M weights)\n"
    "  --sensitivity-samples N\n"
    "                        -q auto: calibration samples per measurement (default 8)\n"
    "  --keep-float GLOBS    comma-separated globs on ONNX node names or ops (conv,\n"
    "                        matmul, runtime_matmul) whose layers stay float\n"
    "  --layer-scheme GLOB=SCHEME,...\n"
    "                        layers matching GLOB (node name or kind: conv, matmul,\n"
    "                        runtime_matmul = attention's) get SCHEME instead of\n"
    "                        -q's, e.g. runtime_matmul=w8i16\n";

static int parse_scheme(const char *v) {
  /* auto: the allocate pass gives every layer its scheme; w8a8 covers
   * what it leaves (and decides the static activation handling) */
  qcc_quant_opts.allocate = !strcmp(v, "auto");
  if ((qcc_quant_opts.scheme = qcc_quant_find_scheme(qcc_quant_opts.allocate ? "w8a8" : v))) return 1;
  char names[1024] = "";
  for (const qcc_quant_scheme *s = qcc_quant_schemes; s->name; s++)
    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", s == qcc_quant_schemes ? "" : ", ", s->name);
  qcc_error("-q: unknown scheme '%s' (available: auto, %s)", v, names);
  return -1;
}

static int parse_observer(const char *v) {
  if (!strcmp(v, "minmax")) {
    qcc_quant_opts.observer = QCC_OBSERVER_MINMAX;
  } else if (!strcmp(v, "mse")) {
    qcc_quant_opts.observer = QCC_OBSERVER_MSE;
  } else if (!strncmp(v, "percentile", 10) && (!v[10] || v[10] == ':')) {
    qcc_quant_opts.observer = QCC_OBSERVER_PERCENTILE;
    if (v[10] == ':') {
      char *end;
      double p = strtod(v + 11, &end);
      if (*end || !(p > 50 && p <= 100)) {
        qcc_error("--observer percentile:P: P must be a number in (50, 100], got '%s'", v + 11);
        return -1;
      }
      qcc_quant_opts.percentile = p;
    }
  } else {
    qcc_error("--observer: expected minmax, percentile[:P] or mse, got '%s'", v);
    return -1;
  }
  return 1;
}

int qcc_quant_parse_flag(int argc, char **argv, int *i) {
  bool missing = false;
  const char *v;
  int rc = 1;
  if ((v = qcc_flag_value(argc, argv, i, "-q", &missing))) {
    rc = parse_scheme(v);
  } else if ((v = qcc_flag_value(argc, argv, i, "--calib", &missing))) {
    qcc_quant_opts.calib_path = v;
  } else if ((v = qcc_flag_value(argc, argv, i, "--group-size", &missing))) {
    char *end;
    long long g = strtoll(v, &end, 10);
    if (*end || g <= 0 || g % 4 || g > (1 << 20)) {
      qcc_error("--group-size: expected a positive multiple of 4, got '%s'", v);
      rc = -1;
    }
    qcc_quant_opts.group_size = g;
  } else if ((v = qcc_flag_value(argc, argv, i, "--act-scale", &missing))) {
    if (!strcmp(v, "static") || !strcmp(v, "token")) {
      qcc_quant_opts.act_per_token = !strcmp(v, "token");
    } else {
      qcc_error("--act-scale: expected static or token, got '%s'", v);
      rc = -1;
    }
  } else if ((v = qcc_flag_value(argc, argv, i, "--attention-scales", &missing))) {
    if (!strcmp(v, "static") || !strcmp(v, "measure")) {
      qcc_quant_opts.attention_measure = !strcmp(v, "measure");
    } else {
      qcc_error("--attention-scales: expected static or measure, got '%s'", v);
      rc = -1;
    }
  } else if ((v = qcc_flag_value(argc, argv, i, "--observer", &missing))) {
    rc = parse_observer(v);
  } else if ((v = qcc_flag_value(argc, argv, i, "--calib-threads", &missing))) {
    char *end;
    long t = strtol(v, &end, 10);
    if (*end || t < 1 || t > 256) {
      qcc_error("--calib-threads: expected a count from 1 to 256, got '%s'", v);
      rc = -1;
    }
    qcc_calib_threads_flag = (int)t;
  } else if ((v = qcc_flag_value(argc, argv, i, "--weight-quant", &missing))) {
    if (!strcmp(v, "rtn") || !strcmp(v, "gptq")) {
      qcc_quant_opts.weight_quant = !strcmp(v, "gptq") ? QCC_WEIGHT_GPTQ : QCC_WEIGHT_RTN;
    } else {
      qcc_error("--weight-quant: expected rtn or gptq, got '%s'", v);
      rc = -1;
    }
  } else if ((v = qcc_flag_value(argc, argv, i, "--softmax-format", &missing))) {
    if (!strcmp(v, "float")) {
      qcc_quant_opts.softmax_bits = 0;
    } else if (!strncmp(v, "dbfp", 4) && v[4] >= '4' && v[4] <= '8' && !v[5]) {
      qcc_quant_opts.softmax_bits = v[4] - '0';
    } else {
      qcc_error("--softmax-format: expected float or dbfp4, dbfp5, dbfp6, dbfp7, dbfp8, got '%s'", v);
      rc = -1;
    }
  } else if (!strcmp(argv[*i], "--integer-only")) {
    qcc_quant_opts.integer_only = true;
  } else if ((v = qcc_flag_value(argc, argv, i, "--keep-float", &missing))) {
    for (char *tok = strtok(strdup(v), ","); tok && rc > 0; tok = strtok(NULL, ",")) {
      if (qcc_quant_opts.n_keep_float == 32) {
        qcc_error("--keep-float: at most 32 patterns");
        rc = -1;
        break;
      }
      qcc_quant_opts.keep_float[qcc_quant_opts.n_keep_float++] = tok;
    }
  } else if ((v = qcc_flag_value(argc, argv, i, "--layer-scheme", &missing))) {
    for (char *tok = strtok(strdup(v), ","); tok && rc > 0; tok = strtok(NULL, ",")) {
      char *eq = strrchr(tok, '=');
      const qcc_quant_scheme *s = eq ? qcc_quant_find_scheme(eq + 1) : NULL;
      if (!eq || eq == tok || !s) {
        qcc_error("--layer-scheme: expected GLOB=SCHEME (a -q scheme but auto), got '%s'", tok);
        rc = -1;
      } else if (qcc_quant_opts.n_layer_schemes == 32) {
        qcc_error("--layer-scheme: at most 32 entries");
        rc = -1;
      } else {
        *eq = 0;
        qcc_quant_opts.layer_glob[qcc_quant_opts.n_layer_schemes] = tok;
        qcc_quant_opts.layer_scheme[qcc_quant_opts.n_layer_schemes++] = s;
      }
    }
  } else if ((v = qcc_flag_value(argc, argv, i, "--avg-bits", &missing))) {
    char *end;
    qcc_quant_opts.avg_bits = strtod(v, &end);
    if (*end || !(qcc_quant_opts.avg_bits >= 1 && qcc_quant_opts.avg_bits <= 32)) {
      qcc_error("--avg-bits: expected a number of bits per weight in [1, 32], got '%s'", v);
      rc = -1;
    }
  } else if ((v = qcc_flag_value(argc, argv, i, "--max-bytes", &missing))) {
    char *end;
    long long b = strtoll(v, &end, 10);
    if (*end || b <= 0) {
      qcc_error("--max-bytes: expected a positive number of bytes, got '%s'", v);
      rc = -1;
    }
    qcc_quant_opts.max_bytes = b;
  } else if ((v = qcc_flag_value(argc, argv, i, "--max-latency-us", &missing))) {
    char *end;
    qcc_quant_opts.max_latency_us = strtod(v, &end);
    if (*end || !(qcc_quant_opts.max_latency_us > 0) || isinf(qcc_quant_opts.max_latency_us)) {
      qcc_error("--max-latency-us: expected a positive number of microseconds, got '%s'", v);
      rc = -1;
    }
  } else if ((v = qcc_flag_value(argc, argv, i, "--sensitivity-metric", &missing))) {
    if (!strcmp(v, "mse") || !strcmp(v, "kl") || !strcmp(v, "hessian")) {
      qcc_quant_opts.sensitivity_kl = !strcmp(v, "kl");
      qcc_quant_opts.sensitivity_hessian = !strcmp(v, "hessian");
      qcc_quant_opts.sensitivity_metric_set = true;
    } else {
      qcc_error("--sensitivity-metric: expected mse, kl or hessian, got '%s'", v);
      rc = -1;
    }
  } else if ((v = qcc_flag_value(argc, argv, i, "--sensitivity-samples", &missing))) {
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n <= 0 || n > 100000) {
      qcc_error("--sensitivity-samples: expected a positive count, got '%s'", v);
      rc = -1;
    }
    qcc_quant_opts.sensitivity_samples = (int)n;
  } else if ((v = qcc_flag_value(argc, argv, i, "--formats", &missing))) {
    qcc_quant_opts.n_formats = 0;
    for (char *tok = strtok(strdup(v), ","); tok && rc > 0; tok = strtok(NULL, ",")) {
      const qcc_quant_scheme *s = qcc_quant_find_scheme(tok);
      if (!s || !strcmp(tok, "auto")) {
        qcc_error("--formats: unknown scheme '%s' (any -q scheme but auto)", tok);
        rc = -1;
      } else if (qcc_quant_opts.n_formats == 32) {
        qcc_error("--formats: at most 32 schemes");
        rc = -1;
      } else {
        qcc_quant_opts.formats[qcc_quant_opts.n_formats++] = s;
      }
    }
  } else if (!missing) {
    return 0;
  }
  if (missing) {
    qcc_error("flag '%s' needs a value", argv[*i]);
    return -1;
  }
  return rc;
}

bool qcc_scheme_quantizes(const qcc_quant_scheme *s) { return s && (s->weight_format >= 0 || s->block_format >= 0); }

bool qcc_quantizing(void) { return qcc_scheme_quantizes(qcc_quant_opts.scheme); }

const qcc_quant_scheme *qcc_quant_find_scheme(const char *name) {
  for (const qcc_quant_scheme *s = qcc_quant_schemes; s->name; s++)
    if (!strcmp(s->name, name)) return s;
  return NULL;
}

bool qcc_quant_needs_calibration(void) {
  bool layer_acts = false; /* a --layer-scheme with static activations */
  for (int i = 0; i < qcc_quant_opts.n_layer_schemes; i++) layer_acts |= qcc_quant_opts.layer_scheme[i]->act_bits > 0;
  return qcc_quantizing() && (qcc_quant_opts.allocate || qcc_quant_opts.scheme->act_bits > 0 || layer_acts ||
                              qcc_quant_opts.weight_quant == QCC_WEIGHT_GPTQ);
}

const qcc_quant_scheme *qcc_quant_active_scheme(void) {
  return qcc_quantizing() ? qcc_quant_opts.scheme : &qcc_quant_schemes[1]; /* w8a8 */
}

bool qcc_layer_scheme(MlirOperation op, const qcc_quant_scheme **s) {
  MlirAttribute a = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(qcc_scheme_attr));
  *s = NULL;
  if (mlirAttributeIsNull(a)) {
    for (int i = 0; i < qcc_quant_opts.n_layer_schemes && !*s; i++)
      if (qcc_layer_matches(op, qcc_quant_opts.layer_glob[i])) *s = qcc_quant_opts.layer_scheme[i];
    return true;
  }
  char name[64], at[256];
  MlirStringRef sr = mlirStringAttrGetValue(a);
  snprintf(name, sizeof name, "%.*s", (int)sr.length, sr.data);
  if ((*s = qcc_quant_find_scheme(name))) return true;
  qcc_error("quantize: %s: unknown %s '%s'", qcc_op_where(op, at, sizeof at), qcc_scheme_attr, name);
  return false;
}

bool qcc_layer_reads_static_int8(MlirOperation op) {
  const qcc_quant_scheme *s;
  if (!qcc_layer_scheme(op, &s)) return false;
  if (!s) s = qcc_quant_active_scheme();
  return s->act_bits == 8 && s->block_format < 0 && !qcc_quant_opts.act_per_token;
}
