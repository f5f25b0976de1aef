/* sensitivity_proxy.c - HAWQ-V3's Hessian-trace proxy for -q auto
 * (--sensitivity-metric hessian), for models where one quantized run of
 * the whole model per (layer, candidate, sample) costs too much: it needs
 * one run per layer instead.
 *
 * HAWQ-V3 scores layer i's quantization by tr(H_i)/n_i * |Q(W_i) - W_i|^2,
 * H_i the Hessian of the loss, its trace estimated with Hutchinson's
 * method (random probes). Here the loss is the relative output error
 * sum (y - y_float)^2 / sum y_float^2 of the measured metric, whose
 * Gauss-Newton Hessian with respect to layer i's output u is J^T J (J the
 * Jacobian of the model's output in u). Quantization error e in u
 * changes the loss by about |J e|^2 / |y|^2; for an error spread evenly
 * over u's elements (HAWQ's isotropic reading) that is
 *   gain_i * |e|^2 / |u|^2,   gain_i = tr(J^T J) |u|^2 / (dim u |y|^2).
 * gain_i is estimated as Hutchinson does: one run of the model with a
 * Gaussian probe of relative power QCC_PROXY_PROBE added to u (a constant
 * of u's shape inserted after the layer), whose relative output error
 * divided by QCC_PROXY_PROBE is gain_i (qcc_proxy_probe; sensitivity.c
 * runs it). The layer's own relative output error under a candidate is,
 * with the layer-wise Hessian E[x x^T] of its input read the same way,
 * the sum of the inverse SQNRs of its weights and of its input (or of its
 * two inputs, attention), plus that of its int8 output where a static
 * integer scheme requantizes it:
 *   |e|^2/|u|^2 = |dW|^2/|W|^2 + E|dx|^2/E|x|^2 [+ E|du|^2/E|u|^2]
 * (qcc_proxy_nsr)
 * and the sensitivity is gain_i times that. The inverse SQNRs are
 * measured: the weights quantized as the quantize pass would (round to
 * nearest, its scales, groups and block codecs), the inputs a sample of
 * the calibration vectors the layer contracts (2^16 elements per value,
 * 64 to 1024 vectors, spread evenly over the samples) quantized with the static scale
 * calibration gave, per vector (--act-scale token), or in the block
 * format.
 *
 * What it does not see, unlike the measured metric (sensitivity.c):
 * errors that are not spread evenly (one outlier channel clipped hurts
 * more than its share of the power), the non-linear regime of large
 * errors, and GPTQ's better codes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evaluator.h"
#include "name_map.h"
#include "qrt.h"
#include "rng.h"
#include "quant_activations.h"
#include "quant_weights.h"
#include "sensitivity.h"
#include "sensitivity_proxy.h"

/* Vectors kept per value: 2^16 elements (so clipped tails are sampled),
 * at least 64 and at most 1024 vectors. */
enum { QCC_PROXY_ELEMENTS = 1 << 16, QCC_PROXY_MIN_VECTORS = 64, QCC_PROXY_MAX_VECTORS = 1024 };

/* Vectors of one value along the axis its layer contracts. */
typedef struct vectors {
  int64_t k, n, cap; /* length, count kept, most to keep */
  float *v;     /* n x k */
  bool columns; /* along axis -2 (a matmul's B), else the last axis */
} vectors;

/* Sum of squares and count of a layer output's elements. */
typedef struct power {
  double sumsq;
  int64_t count;
} power;

struct qcc_proxy_stats {
  qcc_ptr_map rows, cols; /* MlirValue.ptr -> vectors*, by axis */
  qcc_ptr_map outputs;    /* MlirValue.ptr -> power* (layer results) */
  int samples;
};

static vectors *want(qcc_proxy_stats *st, MlirValue v, bool columns) {
  qcc_ptr_map *m = columns ? &st->cols : &st->rows;
  vectors *s = qcc_ptr_map_get(m, v.ptr);
  if (s) return s;
  qcc_shape sh;
  if (!qcc_shape_of(v, &sh) || sh.rank < (columns ? 2 : 1)) return NULL;
  s = calloc(1, sizeof *s);
  s->k = sh.dims[sh.rank - (columns ? 2 : 1)];
  s->columns = columns;
  s->cap = s->k ? QCC_PROXY_ELEMENTS / s->k : 1;
  s->cap = s->cap < QCC_PROXY_MIN_VECTORS ? QCC_PROXY_MIN_VECTORS : s->cap > QCC_PROXY_MAX_VECTORS ? QCC_PROXY_MAX_VECTORS : s->cap;
  s->v = malloc(sizeof(float) * (size_t)(s->cap * (s->k ? s->k : 1)));
  qcc_ptr_map_put(m, v.ptr, s);
  return s;
}

/* Keeps up to ceil(cap / samples) vectors of one sample's data, evenly
 * spaced. */
static void keep(vectors *s, const qcc_array *a, int samples) {
  if (a->dtype != QRT_F32 || !s->k || s->n >= s->cap) return;
  const float *x = a->data;
  const int64_t total = qcc_array_numel(a) / s->k;
  const int64_t inner = s->columns ? a->dims[a->rank - 1] : 1; /* a column's stride */
  int64_t take = (s->cap + samples - 1) / samples;
  if (take > total) take = total;
  if (take > s->cap - s->n) take = s->cap - s->n;
  for (int64_t t = 0; t < take; t++) {
    const int64_t j = t * total / take; /* vector j: (batch, column) or row */
    const float *base = s->columns ? x + (j / inner) * s->k * inner + j % inner : x + j * s->k;
    float *out = s->v + s->n * s->k;
    for (int64_t i = 0; i < s->k; i++) out[i] = base[i * inner];
    s->n++;
  }
}

static void observe(MlirOperation op, MlirValue v, const qcc_array *data, void *user) {
  (void)op;
  qcc_proxy_stats *st = user;
  vectors *s;
  power *p;
  if ((s = qcc_ptr_map_get(&st->rows, v.ptr))) keep(s, data, st->samples);
  if ((s = qcc_ptr_map_get(&st->cols, v.ptr))) keep(s, data, st->samples);
  if ((p = qcc_ptr_map_get(&st->outputs, v.ptr)) && data->dtype == QRT_F32) {
    const float *x = data->data;
    for (int64_t i = 0, n = qcc_array_numel(data); i < n; i++) p->sumsq += (double)x[i] * x[i];
    p->count += qcc_array_numel(data);
  }
}

qcc_proxy_stats *qcc_proxy_collect(MlirModule m, const qcc_calib_set *set, int samples) {
  qcc_proxy_stats *st = calloc(1, sizeof *st);
  qcc_ptr_map_init(&st->rows);
  qcc_ptr_map_init(&st->cols);
  qcc_ptr_map_init(&st->outputs);
  st->samples = samples;
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    qcc_layer_kind k = qcc_layer_kind_of(op);
    if (k == QCC_LAYER_NONE) continue;
    want(st, mlirOperationGetOperand(op, 0), false);
    if (k == QCC_LAYER_RUNTIME_MATMUL) want(st, mlirOperationGetOperand(op, 1), true);
    want(st, mlirOperationGetResult(op, 0), false);
    qcc_ptr_map_put(&st->outputs, mlirOperationGetResult(op, 0).ptr, calloc(1, sizeof(power)));
  }
  qcc_eval_cache *cache = qcc_eval_cache_new();
  qcc_eval_plan *plan = qcc_eval_plan_new(m, cache);
  int rc = 0;
  for (int k = 0; k < samples && !rc; k++) {
    const qcc_array *in = &set->samples[k * set->n_inputs];
    for (intptr_t a = 0; a < mlirBlockGetNumArguments(body) && a < set->n_inputs; a++) {
      MlirValue arg = mlirBlockGetArgument(body, a);
      observe((MlirOperation){NULL}, arg, &in[a], st);
    }
    rc = qcc_eval_plan_run(plan, in, set->n_inputs, NULL, NULL, observe, st);
  }
  qcc_eval_plan_free(plan);
  qcc_eval_cache_free(cache);
  if (rc) {
    qcc_proxy_free(st);
    return NULL;
  }
  return st;
}

static void free_map(qcc_ptr_map *m, bool vecs) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i]) {
      if (vecs) free(((vectors *)m->vals[i])->v);
      free(m->vals[i]);
    }
  qcc_ptr_map_free(m);
}

void qcc_proxy_free(qcc_proxy_stats *st) {
  if (!st) return;
  free_map(&st->rows, true);
  free_map(&st->cols, true);
  free_map(&st->outputs, false);
  free(st);
}

/* ---- the probe ---- */

bool qcc_proxy_probe(const qcc_proxy_stats *st, MlirOperation layer, MlirOperation copy_op) {
  const power *p = qcc_ptr_map_get(&st->outputs, mlirOperationGetResult(layer, 0).ptr);
  MlirValue u = mlirOperationGetResult(copy_op, 0);
  qcc_shape s;
  if (!p || !p->count || !(p->sumsq > 0) || !qcc_shape_of(u, &s) || s.dtype != QRT_F32) return false;
  const int64_t n = qcc_shape_numel(&s);
  const double sd = sqrt(QCC_PROXY_PROBE * p->sumsq / (double)p->count);
  float *noise = malloc(sizeof(float) * (size_t)(n ? n : 1));
  qcc_rng r = qcc_rng_seed(0x4841575100000000ull); /* "HAWQ": one probe, the same for every layer and run */
  for (int64_t i = 0; i < n; i++) noise[i] = (float)(sd * qcc_rng_gaussian(&r));
  MlirOperation next = mlirOperationGetNextInBlock(copy_op);
  MlirLocation loc = mlirOperationGetLocation(copy_op);
  MlirValue c = qcc_constant_before(next, QRT_F32, s.rank, s.dims, noise);
  free(noise);
  q_binary_attrs a = {qcc_str("add")};
  MlirValue sum = qcc_insert_before(next, q_binary_create(loc, mlirValueGetType(u), u, c, &a));
  /* every reader of u now reads u + probe (the add itself still reads u) */
  mlirValueReplaceAllUsesOfWith(u, sum);
  mlirOperationSetOperand(mlirOpResultGetOwner(sum), 0, u);
  return true;
}

/* ---- inverse SQNRs ---- */

static double ratio(double noise, double signal) { return signal > 0 ? noise / signal : (noise > 0 ? 1 : 0); }

/* |Q(x) - x|^2 / |x|^2 over the sampled vectors of v: in block format
 * fmt (>= 0), else bits-bit integers with v's calibrated static range
 * (symmetric when sym), or each vector's own range (per_vector). */
static double input_nsr(const vectors *s, MlirValue v, int fmt, int bits, bool sym, bool per_vector) {
  if (!s || !s->n) return 0;
  double lo = 0, hi = 0, noise = 0, signal = 0;
  if (fmt < 0 && !per_vector && !qcc_value_range_bits(v, bits, &lo, &hi)) return 0; /* stays float: quantize says why */
  uint8_t *code = fmt >= 0 ? malloc((size_t)qrt_bfmt_bytes(fmt, s->k)) : NULL;
  float *back = malloc(sizeof(float) * (size_t)s->k);
  for (int64_t j = 0; j < s->n; j++) {
    const float *x = s->v + j * s->k;
    if (fmt >= 0) {
      qrt_bfmt_encode(fmt, x, s->k, code);
      qrt_bfmt_decode(fmt, code, s->k, back);
    } else {
      if (per_vector) {
        lo = hi = 0;
        for (int64_t i = 0; i < s->k; i++) lo = x[i] < lo ? x[i] : lo, hi = x[i] > hi ? x[i] : hi;
      }
      qcc_qparams p = sym ? qcc_symmetric_params(lo, hi, bits) : qcc_activation_params(lo, hi, bits);
      for (int64_t i = 0; i < s->k; i++) {
        double q = nearbyint((double)x[i] / p.scale) + (double)p.zero_point;
        q = q < (double)p.qmin ? (double)p.qmin : q > (double)p.qmax ? (double)p.qmax : q;
        back[i] = (float)((q - (double)p.zero_point) * p.scale);
      }
    }
    for (int64_t i = 0; i < s->k; i++) {
      signal += (double)x[i] * x[i];
      noise += ((double)back[i] - x[i]) * ((double)back[i] - x[i]);
    }
  }
  free(code);
  free(back);
  return ratio(noise, signal);
}

/* |Q(W) - W|^2 / |W|^2 of the layer's constant weight under s. */
static double weight_nsr(MlirOperation op, const qcc_quant_scheme *s) {
  qcc_array w;
  bool borrowed;
  if (!qcc_value_constant_borrow(mlirOperationGetOperand(op, 1), &w, &borrowed) || w.dtype != QRT_F32) return 0;
  const bool conv = q_conv_is(op);
  const int64_t channels = conv ? w.dims[0] : w.dims[1], per = qcc_array_numel(&w) / channels;
  double nsr = 0;
  if (s->block_format >= 0) {
    /* each column of B [K, N] is one encoded vector, as the kernels store it */
    float *col = malloc(sizeof(float) * (size_t)per), *back = malloc(sizeof(float) * (size_t)per);
    uint8_t *code = malloc((size_t)qrt_bfmt_bytes(s->block_format, per));
    double noise = 0, signal = 0;
    for (int64_t c = 0; c < channels; c++) {
      for (int64_t i = 0; i < per; i++) col[i] = ((const float *)w.data)[i * channels + c];
      qrt_bfmt_encode(s->block_format, col, per, code);
      qrt_bfmt_decode(s->block_format, code, per, back);
      for (int64_t i = 0; i < per; i++) {
        signal += (double)col[i] * col[i];
        noise += ((double)back[i] - col[i]) * ((double)back[i] - col[i]);
      }
    }
    free(col);
    free(back);
    free(code);
    nsr = ratio(noise, signal);
  } else {
    int64_t group = 0;
    if (s->weight_format == QRT_WFMT_I4 && !conv) {
      group = qcc_quant_opts.group_size ? qcc_quant_opts.group_size : 128;
      if (group >= per) group = 0;
    }
    qcc_qweights qw;
    char err[256];
    qcc_quantize_weights(w.data, channels, per, !conv, s->weight_format, group, NULL, &qw, err, sizeof err);
    nsr = isfinite(qw.sqnr_db) ? pow(10.0, -qw.sqnr_db / 10.0) : 0;
    qcc_qweights_free(&qw);
  }
  if (!borrowed) qcc_array_free(&w);
  return nsr;
}

double qcc_proxy_nsr(const qcc_proxy_stats *st, MlirOperation op, const qcc_quant_scheme *s) {
  if (!qcc_scheme_quantizes(s)) return 0;
  MlirValue x = mlirOperationGetOperand(op, 0), y = mlirOperationGetResult(op, 0);
  const vectors *xs = qcc_ptr_map_get(&st->rows, x.ptr);
  const int fmt = s->block_format;
  const bool runtime = qcc_layer_kind_of(op) == QCC_LAYER_RUNTIME_MATMUL;
  const bool per_token = qcc_quant_opts.act_per_token && !runtime && !q_conv_is(op);
  double nsr;
  if (runtime) {
    /* attention: a asymmetric, b symmetric (quantize.c), one static scale each */
    MlirValue b = mlirOperationGetOperand(op, 1);
    const int bits = s->act_bits == 16 ? 16 : 8; /* as quantize.c: w4a4's attention stays int8 */
    nsr = input_nsr(xs, x, fmt, bits, false, false) +
          input_nsr(qcc_ptr_map_get(&st->cols, b.ptr), b, fmt, bits, true, false);
  } else {
    nsr = weight_nsr(op, s);
    if (fmt >= 0 || s->act_bits) nsr += input_nsr(xs, x, fmt, s->act_bits, false, per_token);
  }
  /* static integer layers requantize their output to int8 (int16 under
   * int16 activations; quantize.c's output_bits) */
  if (fmt < 0 && (s->act_bits || runtime) && !per_token)
    nsr += input_nsr(qcc_ptr_map_get(&st->rows, y.ptr), y, -1, s->act_bits == 16 ? 16 : 8, false, false);
  return nsr;
}
