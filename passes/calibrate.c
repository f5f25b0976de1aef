/* calibrate.c - the calibrate pass: runs the evaluator over the --calib
 * samples and records, for every value, its observed range.
 *
 * Ranges are stored in the IR, so `qcc-opt` shows them and later passes
 * read them: op results get discardable attributes qcc.min / qcc.max (f64),
 * function arguments get qcc.arg_min / qcc.arg_max arrays on the function.
 * Invariant: the computation is unchanged; only attributes are added.
 *
 * Observers (--observer): min-max over all samples; or, from a histogram
 * per value filled in the same single pass (its range grows with the
 * values, observers.h), the central percentile or the MSE-optimal clip
 * (observers.c). Then qcc.min/qcc.max hold the clipped range and
 * qcc.observed_min/qcc.observed_max the raw one.
 *
 * With --weight-quant gptq, also the second moment H = X^T X / rows of the
 * input X of every matmul with a constant [K, N] weight (X: all the
 * input's rows of K over all samples, leading dims flattened): the
 * Hessian of the layer's output error that GPTQ minimizes.  Collected
 * once per input value (q, k and v reading one value share one H) and
 * stored on each such matmul as qcc.input_hessian, a dense K x K f64
 * attribute; the quantize pass reads it and removes it.
 *
 * The samples run on the compiler's threads (--calib-threads), each with
 * its own ranges and histograms, merged when they are done; then each
 * value's clip is chosen on a thread. Least, greatest and histogram counts
 * do not depend on the order of the samples, so the ranges are the same
 * bits for every thread count. GPTQ's second moments are sums of doubles
 * whose bits would: with --weight-quant gptq the samples run on one
 * thread. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calib_data.h"
#include "eval_samples.h"
#include "evaluator.h"
#include "linalg.h"
#include "name_map.h"
#include "observers.h"
#include "parallel.h"
#include "passes.h"
#include "quant_options.h"


typedef struct range {
  double lo, hi;
  qcc_histogram *hist; /* clipping observers only */
  const void *owner;   /* the value that fills it; others share it (see share_ranges) */
  bool shared;         /* a reshape or transpose result shares it */
  bool chosen;         /* the observer's choice below is made */
  double clip_lo, clip_hi, lo8, hi8;
} range;

/* The running sum of x x^T over the rows of one matmul input. */
typedef struct gram {
  int64_t k, rows;
  double *g; /* k x k */
} gram;

typedef struct observer_state {
  bool clip;          /* a histogram per value (--observer mse or percentile) */
  qcc_ptr_map ranges; /* MlirValue.ptr -> range* */
  qcc_ptr_map grams;  /* MlirValue.ptr -> gram* (--weight-quant gptq only) */
} observer_state;

static void fold_gram(gram *g, const qcc_array *a) {
  if (a->dtype != QRT_F32) return;
  const int64_t rows = qcc_array_numel(a) / g->k;
  qcc_gram_accumulate(rows, g->k, a->data, g->g);
  g->rows += rows;
}

/* Input X and K of a matmul that quantize.c treats as a layer with
 * constant weights (float X [..., K], constant float B [K, N]); false for
 * the others (run-time operands, batched weights). */
static bool weight_layer_input(MlirOperation op, MlirValue *x, int64_t *k) {
  if (!q_matmul_is(op) || !qcc_value_is_constant(q_matmul_in(op, 1))) return false;
  qcc_shape xs, bs;
  *x = q_matmul_in(op, 0);
  if (!qcc_shape_of(*x, &xs) || !qcc_shape_of(q_matmul_in(op, 1), &bs)) return false;
  *k = bs.dims[0];
  return xs.dtype == QRT_F32 && bs.dtype == QRT_F32 && bs.rank == 2 && xs.rank >= 1 && xs.dims[xs.rank - 1] == *k;
}

/* A gram per distinct input of the weight layers; returns how many. */
static int plan_grams(MlirBlock body, observer_state *st) {
  int n = 0;
  MlirOperation ret = mlirBlockGetTerminator(body);
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationEqual(op, ret);
       op = mlirOperationGetNextInBlock(op)) {
    MlirValue x;
    int64_t k;
    if (!weight_layer_input(op, &x, &k) || qcc_ptr_map_get(&st->grams, x.ptr)) continue;
    gram *g = malloc(sizeof *g);
    g->k = k;
    g->rows = 0;
    g->g = calloc((size_t)(k * k), sizeof(double));
    qcc_ptr_map_put(&st->grams, x.ptr, g);
    n++;
  }
  return n;
}

/* qcc.input_hessian = H / rows on every weight layer; returns how many. */
static int attach_hessians(MlirBlock body, observer_state *st) {
  int n = 0;
  for (size_t i = 0; i < st->grams.cap; i++) { /* once per gram: matmuls reading one input share it */
    gram *g = st->grams.keys[i] ? st->grams.vals[i] : NULL;
    if (g) qcc_gram_mirror(g->k, g->g);
  }
  MlirOperation ret = mlirBlockGetTerminator(body);
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationEqual(op, ret);
       op = mlirOperationGetNextInBlock(op)) {
    MlirValue x;
    int64_t k;
    gram *g;
    if (!weight_layer_input(op, &x, &k) || !(g = qcc_ptr_map_get(&st->grams, x.ptr)) || !g->rows) continue;
    /* The mean over rows: the same H whatever the number of samples.
     * (Attributes are uniqued, so matmuls sharing an input share one.) */
    double *h = malloc(sizeof(double) * (size_t)(k * k));
    for (int64_t i = 0; i < k * k; i++) h[i] = g->g[i] / (double)g->rows;
    qcc_shape sh = {QRT_F64, 2, {k, k}};
    mlirOperationSetAttributeByName(op, mlirStringRefCreateFromCString("qcc.input_hessian"),
                                    qcc_dense_attr(mlirOperationGetContext(op), &sh, h));
    free(h);
    n++;
  }
  return n;
}

/* The value's min and max (NaN skipped) and, for a clipping observer, its
 * histogram. */
static void fold_range(const observer_state *st, range *r, const qcc_array *a) {
  if (a->dtype != QRT_F32) return;
  const int64_t n = qcc_array_numel(a);
  float lo, hi;
  if (st->clip) {
    if (!r->hist) {
      r->hist = qcc_hist_new();
    }
    qcc_hist_add_minmax(r->hist, a->data, n, &lo, &hi);
  } else {
    qcc_minmax_f32(a->data, n, &lo, &hi);
  }
  if (lo < r->lo) r->lo = lo;
  if (hi > r->hi) r->hi = hi;
}

static range *range_of(observer_state *st, MlirValue v) {
  range *r = qcc_ptr_map_get(&st->ranges, v.ptr);
  if (!r) {
    r = calloc(1, sizeof *r);
    r->lo = INFINITY;
    r->hi = -INFINITY;
    r->owner = v.ptr;
    qcc_ptr_map_put(&st->ranges, v.ptr, r);
  }
  return r;
}

/* A reshape or transpose result holds its input's values, permuted: the
 * same min, max and histogram. It shares the input's range instead of
 * observing a copy (a quarter of a transformer's values: the heads'
 * reshapes and transposes). */
static void share_ranges(MlirBlock body, observer_state *st) {
  MlirOperation ret = mlirBlockGetTerminator(body);
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationEqual(op, ret);
       op = mlirOperationGetNextInBlock(op))
    if (q_reshape_is(op) || q_transpose_is(op)) {
      range *r = range_of(st, mlirOperationGetOperand(op, 0));
      r->shared = true;
      qcc_ptr_map_put(&st->ranges, mlirOperationGetResult(op, 0).ptr, r);
    }
}

static void observe(MlirOperation op, MlirValue v, const qcc_array *data, void *user) {
  observer_state *st = user;
  range *r = range_of(st, v);
  /* A constant's range is never recorded (weights are quantized from
   * their own values), unless a reshape or transpose result shares it:
   * observing every weight at every sample was most of the histograms'
   * time on the language models. */
  const bool unused = !mlirOperationIsNull(op) && q_constant_is(op) && !r->shared;
  if (r->owner == v.ptr && !unused) fold_range(st, r, data);
  gram *g = qcc_ptr_map_get(&st->grams, v.ptr);
  if (g) fold_gram(g, data);
}

static void set_f64(MlirOperation op, const char *name, double v) {
  MlirContext ctx = mlirOperationGetContext(op);
  mlirOperationSetAttributeByName(op, mlirStringRefCreateFromCString(name),
                                  mlirFloatAttrDoubleGet(ctx, mlirF64TypeGet(ctx), v));
}

bool qcc_value_range(MlirValue v, double *lo, double *hi) {
  if (mlirValueIsAOpResult(v)) {
    MlirOperation op = mlirOpResultGetOwner(v);
    MlirAttribute a = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("qcc.min"));
    MlirAttribute b = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("qcc.max"));
    if (mlirAttributeIsNull(a) || mlirAttributeIsNull(b)) return false;
    *lo = mlirFloatAttrGetValueDouble(a);
    *hi = mlirFloatAttrGetValueDouble(b);
    return true;
  }
  MlirOperation func = mlirBlockGetParentOperation(mlirBlockArgumentGetOwner(v));
  MlirAttribute a = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("qcc.arg_min"));
  MlirAttribute b = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("qcc.arg_max"));
  intptr_t i = mlirBlockArgumentGetArgNumber(v);
  if (mlirAttributeIsNull(a) || mlirAttributeIsNull(b) || i >= mlirDenseArrayGetNumElements(a)) return false;
  *lo = mlirDenseF64ArrayGetElement(a, i);
  *hi = mlirDenseF64ArrayGetElement(b, i);
  return isfinite(*lo) && isfinite(*hi);
}

/* The bits the scheme's activations take (8 without -q's act bits). */
static int act_bits(void) {
  return qcc_quant_opts.scheme && qcc_quant_opts.scheme->act_bits ? qcc_quant_opts.scheme->act_bits : 8;
}

void qcc_observer_clip(const qcc_histogram *h, double *lo, double *hi, double *lo8, double *hi8) {
  if (qcc_quant_opts.observer == QCC_OBSERVER_PERCENTILE) {
    qcc_hist_percentile_range(h, qcc_quant_opts.percentile, lo, hi);
  } else if (qcc_quant_opts.observer == QCC_OBSERVER_MSE) {
    qcc_hist_mse_range(h, act_bits(), lo, hi);
    /* the 4-bit clip is about twice as hard as the 8-bit one */
    if (act_bits() != 8) qcc_hist_mse_range(h, 8, lo8, hi8);
  }
}

/* The range the observer picks (clipped) from r, and the 8-bit one (an
 * empty range, lo8 > hi8, when there is none: see qcc_observer_clip);
 * made once per range (shared ones are asked once per value). */
static void chosen_range(range *r, double *lo, double *hi, double *lo8, double *hi8) {
  if (!r->chosen) {
    r->clip_lo = r->lo;
    r->clip_hi = r->hi;
    r->lo8 = INFINITY;
    r->hi8 = -INFINITY;
    if (r->hist && r->hist->total > 0) qcc_observer_clip(r->hist, &r->clip_lo, &r->clip_hi, &r->lo8, &r->hi8);
    r->chosen = true;
  }
  *lo = r->clip_lo;
  *hi = r->clip_hi;
  *lo8 = r->lo8;
  *hi8 = r->hi8;
}

/* The range in slot i of st's map if that slot holds the value that
 * fills it (NULL for an empty slot or one sharing another's range). */
static range *owned_range(const observer_state *st, size_t i) {
  range *r = st->ranges.vals[i];
  return st->ranges.keys[i] && r && r->owner == st->ranges.keys[i] ? r : NULL;
}

/* Thread w's ranges into st's (same keys: both were set up by
 * share_ranges on one body), then freed. */
static void merge_ranges(observer_state *st, observer_state *w) {
  for (size_t i = 0; i < w->ranges.cap; i++) {
    range *r = owned_range(w, i);
    if (!r) continue;
    range *into = range_of(st, (MlirValue){r->owner});
    if (r->lo < into->lo) into->lo = r->lo;
    if (r->hi > into->hi) into->hi = r->hi;
    if (r->hist && !into->hist) into->hist = r->hist, r->hist = NULL;
    else if (r->hist) qcc_hist_merge(into->hist, r->hist);
  }
}

static void free_state(observer_state *st) {
  for (size_t i = 0; i < st->ranges.cap; i++) {
    range *r = owned_range(st, i);
    if (!r) continue;
    qcc_hist_free(r->hist);
    free(r);
  }
  qcc_ptr_map_free(&st->ranges);
  for (size_t i = 0; i < st->grams.cap; i++)
    if (st->grams.keys[i] && st->grams.vals[i]) {
      free(((gram *)st->grams.vals[i])->g);
      free(st->grams.vals[i]);
    }
  qcc_ptr_map_free(&st->grams);
}

/* The observer's choice for every range with a histogram, one range a
 * task (36 on digits_transformer, hundreds on a language model). */
typedef struct choices {
  range **r;
  int n;
} choices;

static void choose(void *user, int task, int worker) {
  (void)worker;
  double lo, hi, lo8, hi8;
  chosen_range(((choices *)user)->r[task], &lo, &hi, &lo8, &hi8);
}

static void choose_all(observer_state *st, int threads) {
  choices c = {malloc(sizeof(range *) * (st->ranges.cap + 1)), 0};
  for (size_t i = 0; i < st->ranges.cap; i++) {
    range *r = owned_range(st, i);
    if (r && r->hist) c.r[c.n++] = r;
  }
  qcc_parallel_for(c.n, threads, choose, &c);
  free(c.r);
}

int qcc_pass_calibrate(MlirModule m) {
  if (!qcc_quant_opts.calib_path) {
    qcc_error("calibrate: no calibration data: give --calib DIR");
    return -1;
  }
  MlirOperation func = qcc_module_func(m);
  MlirBlock body = qcc_func_body(func);
  MlirAttribute names = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("onnx.input_names"));
  qcc_calib_inputs in;
  memset(&in, 0, sizeof in);
  in.n = (int)mlirBlockGetNumArguments(body);
  char name_buf[64][128];
  for (int i = 0; i < in.n && i < 64; i++) {
    if (!mlirAttributeIsNull(names) && i < mlirArrayAttrGetNumElements(names)) {
      MlirStringRef s = mlirStringAttrGetValue(mlirArrayAttrGetElement(names, i));
      snprintf(name_buf[i], sizeof name_buf[i], "%.*s", (int)s.length, s.data);
    } else {
      snprintf(name_buf[i], sizeof name_buf[i], "input%d", i);
    }
    in.names[i] = name_buf[i];
    qcc_shape_of(mlirBlockGetArgument(body, i), &in.shapes[i]);
  }
  qcc_calib_set set;
  if (qcc_calib_load(qcc_quant_opts.calib_path, &in, &set)) return -1;
  const bool gptq = qcc_quant_opts.weight_quant == QCC_WEIGHT_GPTQ;
  const int threads = gptq ? 1 : qcc_compile_threads();
  observer_state *sts = calloc((size_t)threads, sizeof *sts);
  observer_state *const st0 = &sts[0];
  void *states[256]; /* --calib-threads is at most 256 */
  const bool clip = qcc_quant_opts.observer != QCC_OBSERVER_MINMAX;
  for (int w = 0; w < threads; w++) {
    qcc_ptr_map_init(&sts[w].ranges);
    qcc_ptr_map_init(&sts[w].grams);
    sts[w].clip = clip;
    share_ranges(body, &sts[w]);
    states[w] = &sts[w];
  }
  const int n_grams = gptq ? plan_grams(body, st0) : 0;
  const clock_t cpu0 = clock();
  const double wall0 = 1e3 * qcc_wall_seconds();
  int rc = qcc_eval_samples(m, &set, threads, observe, states);
  for (int w = 1; w < threads; w++) {
    if (!rc) merge_ranges(st0, &sts[w]);
    free_state(&sts[w]);
  }
  if (!rc && clip) choose_all(st0, threads);
  if (!rc) {
    MlirOperation ret = mlirBlockGetTerminator(body);
    for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationEqual(op, ret);
         op = mlirOperationGetNextInBlock(op)) {
      range *r = qcc_ptr_map_get(&st0->ranges, mlirOperationGetResult(op, 0).ptr);
      if (!r || q_constant_is(op) || !(r->lo <= r->hi)) continue;
      double lo, hi, lo8, hi8;
      chosen_range(r, &lo, &hi, &lo8, &hi8);
      set_f64(op, "qcc.min", lo);
      set_f64(op, "qcc.max", hi);
      if (clip) {
        set_f64(op, "qcc.observed_min", r->lo);
        set_f64(op, "qcc.observed_max", r->hi);
      }
      if (lo8 <= hi8) { /* int8 codes under a 4-bit scheme: qcc_value_range_bits */
        set_f64(op, "qcc.min8", lo8);
        set_f64(op, "qcc.max8", hi8);
      }
    }
    double lo[64], hi[64], lo8, hi8;
    for (int i = 0; i < in.n && i < 64; i++)
      chosen_range(range_of(st0, mlirBlockGetArgument(body, i)), &lo[i], &hi[i], &lo8, &hi8);
    MlirContext ctx = mlirOperationGetContext(func);
    mlirOperationSetAttributeByName(func, mlirStringRefCreateFromCString("qcc.arg_min"), mlirDenseF64ArrayGet(ctx, in.n, lo));
    mlirOperationSetAttributeByName(func, mlirStringRefCreateFromCString("qcc.arg_max"), mlirDenseF64ArrayGet(ctx, in.n, hi));
    /* CPU time, the observers' choices included: what the ratio to the
     * generated code's time per run (docs/quantization.md) is taken on */
    const double cpu_ms = 1000.0 * (double)(clock() - cpu0) / CLOCKS_PER_SEC, ms = 1e3 * qcc_wall_seconds() - wall0;
    const double per = set.n_samples ? 1.0 / set.n_samples : 0.0;
    qcc_remark("calibrate: %d samples from %s on %d thread%s, %.3f ms CPU and %.3f ms wall clock per sample",
               set.n_samples, qcc_quant_opts.calib_path, threads, threads > 1 ? "s" : "", cpu_ms * per, ms * per);
    if (qcc_quant_opts.weight_quant == QCC_WEIGHT_GPTQ)
      qcc_remark("calibrate: input second moments (qcc.input_hessian) of %d matmuls, %d distinct inputs",
                 attach_hessians(body, st0), n_grams);
  }
  free_state(st0);
  free(sts);
  qcc_calib_free(&set);
  return rc;
}
