/* sensitivity.c - the sensitivity pass (-q auto): for every quantizable
 * layer and every candidate scheme of it, how much the model's output
 * moves when that layer alone is quantized with that scheme (MixDQ's
 * metric-decoupled measurement, HAWQ's additive model), and what the
 * layer's weights then cost in bits.  The allocate pass chooses from it.
 *
 * Layers are what the quantize pass rewrites: convolutions and matmuls
 * with a constant weight, and matmuls of two run-time operands (attention).
 * Candidates (all of -q's schemes that fit the layer, or those --formats
 * lists; f32 always): constant-weight matmuls take every integer and block
 * scheme, convolutions the integer ones but w8i16, run-time matmuls int8
 * (w8a8's static scales), int16 (w8i16's) or a block format.
 *
 * Measurement (or, with --sensitivity-metric hessian, HAWQ-V3's cheap
 * proxy: sensitivity_proxy.c): a copy of the calibrated module in which every layer but
 * this one is marked f32 (qcc.scheme) goes through the quantize pass and
 * the evaluator over the first --sensitivity-samples calibration samples;
 *   sensitivity = sum (y - y_float)^2 / sum y_float^2
 * over every float output element of those samples (relative output MSE;
 * f32: 0).  Size: the layer's weight bits with scales, as the generated
 * code stores them (int8: a code per weight and a float scale per channel;
 * int4: half a byte per weight, a byte per group and channel, a float
 * per channel; block formats: qrt_bfmt_bytes per column; f32: 32 bits per
 * weight; run-time matmuls have no weights: 0).
 *
 * Latency: a model, the layer's multiply-accumulates times the measured
 * picoseconds per MAC of the scheme's kernel (cost_table below).
 *
 * Invariant: the computation is unchanged; each layer gets four arrays
 * of equal length: qcc.candidates (scheme names), qcc.sensitivity (f64),
 * qcc.candidate_bits (i64) and qcc.candidate_latency_us (f64). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calib_data.h"
#include "eval_samples.h"
#include "evaluator.h"
#include "parallel.h"
#include "passes.h"
#include "qrt.h"
#include "quant_activations.h"
#include "quant_options.h"
#include "sensitivity.h"
#include "sensitivity_proxy.h"

/* The default candidates of a constant-weight matmul, when --formats is
 * not given: the integer schemes and the common block formats. */
static const char *const default_matmul[] = {"w8a8", "w4a8", "w8a16", "w4a16", "mxint8", "mxfp8",
                                             "mxfp6", "mxfp4", "nvfp4", "bbfp8", "bbfp4", "w8i16"};
static const char *const default_conv[] = {"w8a8", "w4a8", "w8a16", "w4a16"};
static const char *const default_runtime[] = {"w8a8", "w8i16", "mxint8", "mxfp8"};

qcc_layer_kind qcc_layer_kind_of(MlirOperation op) {
  if (q_conv_is(op) && qcc_value_is_constant(q_conv_in(op, 1))) return QCC_LAYER_CONV;
  if (!q_matmul_is(op)) return QCC_LAYER_NONE;
  qcc_shape a, b;
  if (!qcc_shape_of(q_matmul_in(op, 0), &a) || !qcc_shape_of(q_matmul_in(op, 1), &b) || a.dtype != QRT_F32 ||
      b.dtype != QRT_F32)
    return QCC_LAYER_NONE;
  if (!qcc_value_is_constant(q_matmul_in(op, 1))) return QCC_LAYER_RUNTIME_MATMUL;
  return b.rank == 2 ? QCC_LAYER_MATMUL : QCC_LAYER_NONE;
}

/* Whether scheme s can quantize a layer of kind k. */
static bool fits(const qcc_quant_scheme *s, qcc_layer_kind k) {
  if (!qcc_scheme_quantizes(s)) return true; /* f32 */
  /* int16 activations have static scales only */
  if (s->act_bits == 16 && qcc_quant_opts.act_per_token) return false;
  if (k == QCC_LAYER_MATMUL) return true;
  if (k == QCC_LAYER_CONV) return s->block_format < 0 && s->act_bits != 16; /* no int16 conv kernel */
  /* run-time operands: int8 or int16 (static scales) or a block format */
  return s->block_format >= 0 || ((s->act_bits == 8 || s->act_bits == 16) && s->weight_format == QRT_WFMT_I8);
}

int qcc_layer_candidates(MlirOperation op, const qcc_quant_scheme **out, int cap) {
  qcc_layer_kind k = qcc_layer_kind_of(op);
  int n = 0;
  if (k == QCC_LAYER_NONE || cap < 1) return 0;
  out[n++] = qcc_quant_find_scheme("f32");
  char at[256];
  if (qcc_kept_float(qcc_op_where(op, at, sizeof at), q_conv_is(op) ? "conv" : "matmul") ||
      (k == QCC_LAYER_RUNTIME_MATMUL && qcc_kept_float(at, "runtime_matmul")))
    return n;
  if (qcc_quant_opts.n_formats) {
    for (int i = 0; i < qcc_quant_opts.n_formats && n < cap; i++)
      if (fits(qcc_quant_opts.formats[i], k) && qcc_scheme_quantizes(qcc_quant_opts.formats[i]))
        out[n++] = qcc_quant_opts.formats[i];
    return n;
  }
  const char *const *names = k == QCC_LAYER_MATMUL ? default_matmul : k == QCC_LAYER_CONV ? default_conv : default_runtime;
  int count = k == QCC_LAYER_MATMUL ? (int)(sizeof default_matmul / sizeof *default_matmul)
              : k == QCC_LAYER_CONV ? (int)(sizeof default_conv / sizeof *default_conv)
                                    : (int)(sizeof default_runtime / sizeof *default_runtime);
  for (int i = 0; i < count && n < cap; i++) out[n++] = qcc_quant_find_scheme(names[i]);
  return n;
}

int64_t qcc_layer_weight_count(MlirOperation op) {
  qcc_shape w;
  if (qcc_layer_kind_of(op) == QCC_LAYER_RUNTIME_MATMUL || !qcc_shape_of(mlirOperationGetOperand(op, 1), &w))
    return 0;
  return qcc_shape_numel(&w);
}

int64_t qcc_layer_bits(MlirOperation op, const qcc_quant_scheme *s) {
  qcc_layer_kind k = qcc_layer_kind_of(op);
  qcc_shape w;
  if (k == QCC_LAYER_RUNTIME_MATMUL || !qcc_shape_of(mlirOperationGetOperand(op, 1), &w)) return 0;
  const int64_t count = qcc_shape_numel(&w);
  /* channels and inputs per channel: a matmul's B [K, N] has N columns of
   * K; a conv's weight [c_out, ...] has c_out rows */
  const int64_t channels = k == QCC_LAYER_MATMUL ? w.dims[1] : w.dims[0], per = count / channels;
  if (!qcc_scheme_quantizes(s)) return 32 * count;
  if (s->block_format >= 0) return 8 * qrt_bfmt_bytes(s->block_format, per) * channels;
  if (s->weight_format == QRT_WFMT_I8) return 8 * count + 32 * channels;
  int64_t g = qcc_quant_opts.group_size ? qcc_quant_opts.group_size : 128;
  int64_t groups = k == QCC_LAYER_MATMUL && g < per ? (per + g - 1) / g : 0;
  return 4 * count + 8 * groups * channels + 32 * channels;
}

/* Picoseconds per multiply-accumulate of a matmul layer under each scheme,
 * measured through the generated C on the development machine (2-core
 * AVX-512 VM) by examples/bench/kernel_costs.py (64x256x256 matmul, cc -O2
 * -march=native). Only ratios matter for a budget relative to the float
 * model; the absolute microseconds are this machine's. Schemes not listed
 * take their class's row (see scheme_cost). */
static const struct {
  const char *scheme;
  double ps_per_mac;
} cost_table[] = {
    {"f32", 13.13},   {"w8a8", 6.82},     {"w4a8", 25.46},  {"w8a16", 27.65}, {"w4a16", 24.73},
    {"mxint8", 57.73}, {"mxfp8", 159.82}, {"mxfp6", 173.35}, {"mxfp4", 160.86}, {"nvfp4", 174.72},
    {"bbfp8", 599.46}, {"bbfp4", 390.86}, {"bfp8", 52.01},  {"bfp4", 55.09},
    /* w8i16 (int64 sums, portable C): 4.67x f32 in one run of
     * kernel_costs.py --schemes w8a8,w8a16,w8i16 --repeat 5 --iters 2000
     * (f32 10.48, w8a8 4.87, w8a16 18.38, w8i16 48.90 ps), scaled to
     * this table's f32 so that the ratios hold */
    {"w8i16", 61.27},
};

/* Rows of cost_table that stand for a class of schemes. */
enum { COST_F32 = 0, COST_W8A8 = 1, COST_W4A8 = 2, COST_W8A16 = 3, COST_BBFP8 = 10, COST_BFP8 = 12, COST_MXFP8 = 6,
       COST_W8I16 = 14 };

static double scheme_cost(const qcc_quant_scheme *s) {
  for (size_t i = 0; i < sizeof cost_table / sizeof *cost_table; i++)
    if (!strcmp(cost_table[i].scheme, s->name)) return cost_table[i].ps_per_mac;
  /* the class's row: block formats by element kind, integer schemes by
   * their activations (w4a4 runs the int4 kernel of w4a8) */
  const qrt_bformat *f = qrt_bformat_get(s->block_format);
  if (f) return cost_table[f->element == QRT_ELEM_INT ? COST_BFP8 : f->element == QRT_ELEM_BBFP ? COST_BBFP8 : COST_MXFP8].ps_per_mac;
  if (s->act_bits == 16) return cost_table[COST_W8I16].ps_per_mac;
  return cost_table[s->act_bits == 0 ? COST_W8A16 : s->weight_format == QRT_WFMT_I8 ? COST_W8A8 : COST_W4A8].ps_per_mac;
}

/* Multiply-accumulates of one run of the layer. */
static double layer_macs(MlirOperation op) {
  qcc_shape a, w, y;
  if (!qcc_shape_of(mlirOperationGetOperand(op, 0), &a) || !qcc_shape_of(mlirOperationGetOperand(op, 1), &w) ||
      !qcc_shape_of(mlirOperationGetResult(op, 0), &y))
    return 0;
  const double out = (double)qcc_shape_numel(&y);
  if (q_conv_is(op)) return out * (double)(qcc_shape_numel(&w) / w.dims[0]); /* each output: c_in/group x kernel */
  return out * (double)a.dims[a.rank - 1];                                    /* each output: K */
}

double qcc_layer_latency_us(MlirOperation op, const qcc_quant_scheme *s) {
  return layer_macs(op) * (qcc_scheme_quantizes(s) ? scheme_cost(s) : cost_table[COST_F32].ps_per_mac) * 1e-6;
}

/* Sum of squares of the float outputs, and of their differences. */
static void output_mse(qcc_array *ref, qcc_array *got, int n, double *signal, double *noise) {
  for (int j = 0; j < n; j++) {
    if (ref[j].dtype != QRT_F32 || got[j].dtype != QRT_F32) continue;
    const float *a = ref[j].data, *b = got[j].data;
    for (int64_t i = 0, e = qcc_array_numel(&ref[j]); i < e; i++) {
      *signal += (double)a[i] * a[i];
      *noise += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    }
  }
}

/* log-sum-exp of v[c], c < C, in double. */
static double log_sum_exp(const float *v, int64_t C) {
  double mx = -INFINITY, sum = 0;
  for (int64_t c = 0; c < C; c++) mx = v[c] > mx ? v[c] : mx;
  for (int64_t c = 0; c < C; c++) sum += exp((double)v[c] - mx);
  return mx + log(sum);
}

/* The rows of the float outputs (last dim > 1) taken as logits: the summed
 * KL(softmax(float) || softmax(quantized)) and the number of rows. */
static void output_kl(qcc_array *ref, qcc_array *got, int n, double *rows, double *kl) {
  for (int j = 0; j < n; j++) {
    if (ref[j].dtype != QRT_F32 || got[j].dtype != QRT_F32 || ref[j].rank < 1) continue;
    const int64_t C = ref[j].dims[ref[j].rank - 1];
    if (C < 2) continue;
    for (int64_t r = 0, e = qcc_array_numel(&ref[j]) / C; r < e; r++) {
      const float *a = (const float *)ref[j].data + r * C, *b = (const float *)got[j].data + r * C;
      const double la = log_sum_exp(a, C), lb = log_sum_exp(b, C);
      double d = 0;
      for (int64_t c = 0; c < C; c++) d += exp((double)a[c] - la) * (((double)a[c] - la) - ((double)b[c] - lb));
      *kl += isfinite(d) && d > 0 ? d : (isfinite(d) ? 0 : INFINITY);
      *rows += 1;
    }
  }
}

static void free_outputs(qcc_array *o, int n) {
  for (int j = 0; j < n; j++) qcc_array_free(&o[j]);
  free(o);
}

/* One measurement over the samples: each sample's sums in its own slot,
 * added in sample order at the end, so the error is the same bits for
 * every thread count. */
typedef struct measuring {
  qcc_output_ref *r;
  double *signal, *noise; /* per sample */
} measuring;

static void measure_sample(void *user, int k, qcc_array *out, int n) {
  measuring *ms = user;
  const int common = n < ms->r->n_out[k] ? n : ms->r->n_out[k];
  if (qcc_quant_opts.sensitivity_kl) output_kl(ms->r->out[k], out, common, &ms->signal[k], &ms->noise[k]);
  else output_mse(ms->r->out[k], out, common, &ms->signal[k], &ms->noise[k]);
  free_outputs(out, n);
}

/* The output error of m against the float outputs r->out: relative MSE,
 * or (--sensitivity-metric kl) the mean KL divergence per row of logits.
 * The samples run on the compiler's threads. */
static int measure(MlirModule m, qcc_output_ref *r, double *err) {
  measuring ms = {r, calloc((size_t)r->samples + 1, sizeof(double)), calloc((size_t)r->samples + 1, sizeof(double))};
  const int rc = qcc_eval_sample_outputs(m, r->cache, &r->set, r->samples, qcc_compile_threads(), measure_sample, &ms);
  double signal = 0, noise = 0;
  for (int k = 0; k < r->samples; k++) signal += ms.signal[k], noise += ms.noise[k];
  free(ms.signal);
  free(ms.noise);
  if (rc) return -1;
  *err = signal > 0 ? noise / signal : (noise > 0 ? INFINITY : 0);
  return 0;
}

static void keep_reference(void *user, int k, qcc_array *out, int n) {
  qcc_output_ref *r = user;
  r->out[k] = out;
  r->n_out[k] = n;
}

int qcc_output_ref_init(MlirModule m, int samples, qcc_output_ref *r) {
  memset(r, 0, sizeof *r);
  if (!qcc_quant_opts.calib_path) {
    qcc_error("sensitivity: needs calibration samples: give --calib DIR");
    return -1;
  }
  if (qcc_calib_load_for(m, qcc_quant_opts.calib_path, &r->set)) return -1;
  r->samples = samples < r->set.n_samples ? samples : r->set.n_samples;
  r->out = calloc((size_t)r->samples, sizeof *r->out);
  r->n_out = calloc((size_t)r->samples, sizeof *r->n_out);
  /* One cache for every variant: each differs from the float model in one
   * layer, so all other constants and packed weights are shared. */
  r->cache = qcc_eval_cache_new();
  if (qcc_eval_sample_outputs(m, r->cache, &r->set, r->samples, qcc_compile_threads(), keep_reference, r)) {
    qcc_output_ref_free(r);
    return -1;
  }
  return 0;
}

void qcc_output_ref_free(qcc_output_ref *r) {
  for (int k = 0; k < r->samples; k++)
    if (r->out && r->out[k]) free_outputs(r->out[k], r->n_out[k]);
  free(r->out);
  free(r->n_out);
  if (r->cache) qcc_eval_cache_free(r->cache);
  qcc_calib_free(&r->set);
  memset(r, 0, sizeof *r);
}

static void set_str(MlirOperation op, const char *name, const char *value) {
  MlirContext ctx = mlirOperationGetContext(op);
  mlirOperationSetAttributeByName(op, mlirStringRefCreateFromCString(name),
                                  mlirStringAttrGet(ctx, mlirStringRefCreateFromCString(value)));
}

/* A copy of m with only layer `index` quantized under s. */
int qcc_layer_output_error(MlirModule m, qcc_output_ref *r, int index, const qcc_quant_scheme *s, double *err) {
  MlirModule copy = mlirModuleFromOperation(mlirOperationClone(mlirModuleGetOperation(m)));
  MlirBlock body = qcc_func_body(qcc_module_func(copy));
  int i = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op))
    if (qcc_layer_kind_of(op) != QCC_LAYER_NONE) set_str(op, qcc_scheme_attr, i++ == index ? s->name : "f32");
  const int verbose = qcc_verbose;
  qcc_verbose = 0; /* the quantize pass's remarks, once per copy, would drown -v */
  int rc = qcc_pass_quantize(copy);
  qcc_verbose = verbose;
  if (!rc) rc = measure(copy, r, err);
  mlirModuleDestroy(copy);
  return rc;
}

/* The gain of layer `index` (op in m) for the Hessian proxy: the relative
 * output error with the probe at its output, per unit of probe power. */
static int layer_gain(MlirModule m, qcc_output_ref *r, const qcc_proxy_stats *proxy, MlirOperation op, int index,
                      double *gain) {
  MlirModule copy = mlirModuleFromOperation(mlirOperationClone(mlirModuleGetOperation(m)));
  MlirBlock body = qcc_func_body(qcc_module_func(copy));
  MlirOperation target = {NULL};
  int i = 0;
  for (MlirOperation o = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(o) && mlirOperationIsNull(target);
       o = mlirOperationGetNextInBlock(o))
    if (qcc_layer_kind_of(o) != QCC_LAYER_NONE && i++ == index) target = o;
  int rc = 0;
  *gain = 0;
  if (!mlirOperationIsNull(target) && qcc_proxy_probe(proxy, op, target)) {
    rc = measure(copy, r, gain);
    *gain /= QCC_PROXY_PROBE;
  }
  mlirModuleDestroy(copy);
  return rc;
}

static MlirAttribute str_array(MlirContext ctx, const qcc_quant_scheme **s, int n) {
  MlirAttribute a[64];
  for (int i = 0; i < n; i++) a[i] = mlirStringAttrGet(ctx, mlirStringRefCreateFromCString(s[i]->name));
  return mlirArrayAttrGet(ctx, n, a);
}

int64_t qcc_model_weight_count(MlirModule m) {
  int64_t weights = 0;
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op))
    if (qcc_layer_kind_of(op) != QCC_LAYER_NONE) weights += qcc_layer_weight_count(op);
  return weights;
}

static bool use_proxy_by_default(MlirModule m) {
  if (qcc_quant_opts.sensitivity_metric_set) return false;
  int64_t weights = qcc_model_weight_count(m);
  if (weights <= QCC_MEASURE_MAX_WEIGHTS) return false;
  qcc_remark("sensitivity: %lld weights: the Hessian-trace proxy, one run per layer (--sensitivity-metric mse "
             "measures every layer and candidate)",
             (long long)weights);
  return true;
}

int qcc_pass_sensitivity(MlirModule m) {
  qcc_output_ref r;
  if (qcc_output_ref_init(m, qcc_quant_opts.sensitivity_samples ? qcc_quant_opts.sensitivity_samples : 8, &r))
    return -1;
  int rc = 0;
  qcc_proxy_stats *proxy = NULL;
  if (qcc_quant_opts.sensitivity_hessian || use_proxy_by_default(m)) rc = !(proxy = qcc_proxy_collect(m, &r.set, r.samples));
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  MlirContext ctx = mlirModuleGetContext(m);
  int index = 0, measured = 0;
  const double start = qcc_wall_seconds();
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !rc && !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    if (qcc_layer_kind_of(op) == QCC_LAYER_NONE) continue;
    const qcc_quant_scheme *cand[64];
    int n = qcc_layer_candidates(op, cand, 64);
    MlirAttribute sens[64], bits[64], lat[64];
    double gain = 0;
    if (proxy && n > 1) rc = layer_gain(m, &r, proxy, op, index, &gain);
    for (int c = 0; c < n && !rc; c++) {
      double err = 0;
      if (proxy) err = gain * qcc_proxy_nsr(proxy, op, cand[c]);
      else if (qcc_scheme_quantizes(cand[c])) rc = qcc_layer_output_error(m, &r, index, cand[c], &err);
      measured += qcc_scheme_quantizes(cand[c]);
      sens[c] = mlirFloatAttrDoubleGet(ctx, mlirF64TypeGet(ctx), err);
      bits[c] = mlirIntegerAttrGet(mlirIntegerTypeGet(ctx, 64), qcc_layer_bits(op, cand[c]));
      lat[c] = mlirFloatAttrDoubleGet(ctx, mlirF64TypeGet(ctx), qcc_layer_latency_us(op, cand[c]));
    }
    if (rc) break;
    mlirOperationSetAttributeByName(op, mlirStringRefCreateFromCString("qcc.candidates"), str_array(ctx, cand, n));
    mlirOperationSetAttributeByName(op, mlirStringRefCreateFromCString("qcc.sensitivity"), mlirArrayAttrGet(ctx, n, sens));
    mlirOperationSetAttributeByName(op, mlirStringRefCreateFromCString("qcc.candidate_bits"), mlirArrayAttrGet(ctx, n, bits));
    mlirOperationSetAttributeByName(op, mlirStringRefCreateFromCString("qcc.candidate_latency_us"),
                                    mlirArrayAttrGet(ctx, n, lat));
    index++;
  }
  if (!rc)
    qcc_remark("sensitivity: %d layers, %d quantized variants on %d samples (%s, %.1f s)", index, measured, r.samples,
               proxy ? "Hessian-trace proxy" : "measured", qcc_wall_seconds() - start);
  qcc_proxy_free(proxy);
  qcc_output_ref_free(&r);
  return rc;
}
