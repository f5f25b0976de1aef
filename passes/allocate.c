/* allocate.c - the allocate pass (-q auto): one scheme per layer, chosen
 * to minimize the summed sensitivity under the weight budget, exactly.
 *
 * Reads what the sensitivity pass left on every layer (qcc.candidates,
 * qcc.sensitivity, qcc.candidate_bits) and solves the multiple-choice
 * knapsack (knapsack.c: exact, Pareto dynamic programming):
 *   minimize   sum_i sensitivity_i(c_i)
 *   subject to sum_i bits_i(c_i) <= budget
 *   [and sum_i latency_i(c_i) <= --max-latency-us, the modeled latency],
 * budget = floor(--avg-bits * number of weights) bits, or 8 * --max-bytes
 * (the smaller when both are given; none: no size limit).  The additive model is HAWQ-V3's and
 * MixDQ's: each layer's sensitivity was measured with only that layer
 * quantized.
 *
 * Invariant: the computation is unchanged; every layer gets qcc.scheme
 * (the quantize pass applies it), the function gets qcc.allocation (a
 * dictionary: budget, chosen total, predicted cost, the explored
 * size/cost frontier, and one entry per layer) for --report.  An
 * infeasible budget is an error that names the smallest feasible one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knapsack.h"
#include "passes.h"
#include "quant_options.h"
#include "sensitivity.h"

typedef struct alloc_layer {
  MlirOperation op;
  int n;
  qcc_knap_choice choice[64];
  char names[64][32];
  int64_t weights;
} alloc_layer;

static bool read_layer(MlirOperation op, alloc_layer *L) {
  MlirAttribute names = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("qcc.candidates"));
  MlirAttribute sens = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("qcc.sensitivity"));
  MlirAttribute bits = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("qcc.candidate_bits"));
  MlirAttribute lat = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("qcc.candidate_latency_us"));
  if (mlirAttributeIsNull(names) || mlirAttributeIsNull(sens) || mlirAttributeIsNull(bits) || mlirAttributeIsNull(lat))
    return false;
  L->op = op;
  L->n = (int)mlirArrayAttrGetNumElements(names);
  if (L->n > 64 || L->n != mlirArrayAttrGetNumElements(sens) || L->n != mlirArrayAttrGetNumElements(bits) ||
      L->n != mlirArrayAttrGetNumElements(lat))
    return false;
  for (int c = 0; c < L->n; c++) {
    MlirStringRef s = mlirStringAttrGetValue(mlirArrayAttrGetElement(names, c));
    snprintf(L->names[c], sizeof L->names[c], "%.*s", (int)s.length, s.data);
    L->choice[c].cost = mlirFloatAttrGetValueDouble(mlirArrayAttrGetElement(sens, c));
    L->choice[c].size = mlirIntegerAttrGetValueInt(mlirArrayAttrGetElement(bits, c));
    L->choice[c].latency = mlirFloatAttrGetValueDouble(mlirArrayAttrGetElement(lat, c));
    if (!(L->choice[c].cost >= 0) || isinf(L->choice[c].cost)) L->choice[c].cost = 1e300; /* NaN or Inf: chosen only when forced */
  }
  L->weights = qcc_layer_weight_count(op);
  return true;
}

static MlirNamedAttribute named(MlirContext ctx, const char *name, MlirAttribute a) {
  return mlirNamedAttributeGet(mlirIdentifierGet(ctx, mlirStringRefCreateFromCString(name)), a);
}

static MlirAttribute f64(MlirContext ctx, double v) { return mlirFloatAttrDoubleGet(ctx, mlirF64TypeGet(ctx), v); }
static MlirAttribute i64(MlirContext ctx, int64_t v) { return mlirIntegerAttrGet(mlirIntegerTypeGet(ctx, 64), v); }
static MlirAttribute str(MlirContext ctx, const char *s) {
  return mlirStringAttrGet(ctx, mlirStringRefCreateFromCString(s));
}

/* qcc.allocation on the function (see the top comment). */
static void record(MlirOperation func, alloc_layer *layers, int n, const int *pick, int64_t budget, int64_t weights,
                   double latency, double latency_budget, const qcc_knap_result *r, const int64_t *fsize,
                   const double *fcost, int nf) {
  MlirContext ctx = mlirOperationGetContext(func);
  MlirAttribute *rows = malloc(sizeof(MlirAttribute) * (size_t)(n ? n : 1));
  for (int i = 0; i < n; i++) {
    char where[256];
    const qcc_knap_choice *c = &layers[i].choice[pick[i]];
    MlirNamedAttribute f[6] = {named(ctx, "layer", str(ctx, qcc_op_where(layers[i].op, where, sizeof where))),
                               named(ctx, "scheme", str(ctx, layers[i].names[pick[i]])),
                               named(ctx, "bits", i64(ctx, c->size)), named(ctx, "weights", i64(ctx, layers[i].weights)),
                               named(ctx, "sensitivity", f64(ctx, c->cost)), named(ctx, "latency_us", f64(ctx, c->latency))};
    rows[i] = mlirDictionaryAttrGet(ctx, 6, f);
  }
  MlirAttribute *fb = malloc(sizeof(MlirAttribute) * (size_t)(nf ? nf : 1)), *fc = malloc(sizeof(MlirAttribute) * (size_t)(nf ? nf : 1));
  for (int i = 0; i < nf; i++) {
    fb[i] = i64(ctx, fsize[i]);
    fc[i] = f64(ctx, fcost[i]);
  }
  MlirNamedAttribute top[9] = {named(ctx, "budget_bits", i64(ctx, budget)), named(ctx, "bits", i64(ctx, r->size)),
                               named(ctx, "latency_us", f64(ctx, latency)),
                               named(ctx, "budget_latency_us", f64(ctx, latency_budget)),
                               named(ctx, "weights", i64(ctx, weights)), named(ctx, "cost", f64(ctx, r->cost)),
                               named(ctx, "frontier_bits", mlirArrayAttrGet(ctx, nf, fb)),
                               named(ctx, "frontier_cost", mlirArrayAttrGet(ctx, nf, fc)),
                               named(ctx, "layers", mlirArrayAttrGet(ctx, n, rows))};
  mlirOperationSetAttributeByName(func, mlirStringRefCreateFromCString("qcc.allocation"), mlirDictionaryAttrGet(ctx, 9, top));
  free(rows);
  free(fb);
  free(fc);
}

int qcc_pass_allocate(MlirModule m) {
  MlirOperation func = qcc_module_func(m);
  MlirBlock body = qcc_func_body(func);
  int n = 0, cap = 0, rc = 0;
  alloc_layer *layers = NULL;
  int64_t weights = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    if (qcc_layer_kind_of(op) == QCC_LAYER_NONE) continue;
    if (n == cap) layers = realloc(layers, sizeof *layers * (size_t)(cap = cap ? 2 * cap : 16));
    if (!read_layer(op, &layers[n])) {
      char at[256];
      qcc_error("allocate: %s has no measured candidates: run the sensitivity pass first", qcc_op_where(op, at, sizeof at));
      free(layers);
      return -1;
    }
    weights += layers[n++].weights;
  }
  if (qcc_quant_opts.avg_bits <= 0 && qcc_quant_opts.max_bytes <= 0 && qcc_quant_opts.max_latency_us <= 0) {
    qcc_error("-q auto needs a budget: give --avg-bits B, --max-bytes N or --max-latency-us T");
    free(layers);
    return -1;
  }
  int64_t budget = INT64_MAX;
  if (qcc_quant_opts.avg_bits > 0) budget = (int64_t)floor(qcc_quant_opts.avg_bits * (double)weights);
  if (qcc_quant_opts.max_bytes > 0 && 8 * qcc_quant_opts.max_bytes < budget) budget = 8 * qcc_quant_opts.max_bytes;
  qcc_knap_group *groups = malloc(sizeof *groups * (size_t)(n ? n : 1));
  int *pick = malloc(sizeof(int) * (size_t)(n ? n : 1));
  for (int i = 0; i < n; i++) groups[i] = (qcc_knap_group){layers[i].choice, layers[i].n};
  qcc_knap_result r;
  char err[256];
  const double latency_budget = qcc_quant_opts.max_latency_us > 0 ? qcc_quant_opts.max_latency_us : -1;
  if (!qcc_knapsack_solve(groups, n, budget, latency_budget, pick, &r, err, sizeof err)) {
    qcc_error("allocate: %s", err);
    rc = -1;
  } else if (!r.feasible) {
    int64_t smallest = 0;
    for (int i = 0; i < n; i++) {
      int64_t s = INT64_MAX;
      for (int c = 0; c < layers[i].n; c++) s = layers[i].choice[c].size < s ? layers[i].choice[c].size : s;
      smallest += s;
    }
    double fastest = 0;
    for (int i = 0; i < n; i++) {
      double t = INFINITY;
      for (int c = 0; c < layers[i].n; c++) t = layers[i].choice[c].latency < t ? layers[i].choice[c].latency : t;
      fastest += t;
    }
    char size_part[128] = "", time_part[96] = "";
    if (budget < INT64_MAX)
      snprintf(size_part, sizeof size_part, "%lld bits (%.3f per weight; the smallest takes %lld, %.3f)",
               (long long)budget, weights ? (double)budget / weights : 0.0, (long long)smallest,
               weights ? (double)smallest / weights : 0.0);
    if (latency_budget > 0)
      snprintf(time_part, sizeof time_part, "%s%.1f us (the fastest takes %.1f, modeled)", *size_part ? " and " : "",
               latency_budget, fastest);
    qcc_error("-q auto: no allocation fits %s%s", size_part, time_part);
    rc = -1;
  }
  if (!rc && !r.exact)
    qcc_warning("allocate: %d layers outgrew the solver's state cap: the allocation fits the budget but may not be "
                "the optimum", n);
  if (!rc) {
    /* The size/cost frontier for the report: the optimum at 64 budgets
     * evenly spaced from the smallest feasible size to the size of the
     * all-cheapest pick (the exact frontier can have millions of points). */
    int64_t lo = 0, hi = 0, fsize[64];
    double fcost[64];
    int nf = 0;
    for (int i = 0; i < n; i++) {
      const qcc_knap_choice *cheapest = &layers[i].choice[0];
      int64_t smallest = INT64_MAX;
      for (int c = 0; c < layers[i].n; c++) {
        const qcc_knap_choice *x = &layers[i].choice[c];
        smallest = x->size < smallest ? x->size : smallest;
        if (x->cost < cheapest->cost || (x->cost == cheapest->cost && x->size < cheapest->size)) cheapest = x;
      }
      lo += smallest;
      hi += cheapest->size;
    }
    int *tmp = malloc(sizeof(int) * (size_t)(n ? n : 1));
    for (int t = 0; t < 64; t++) {
      qcc_knap_result fr;
      if (!qcc_knapsack_solve(groups, n, lo + (int64_t)((double)(hi - lo) * t / 63.0), -1, tmp, &fr, NULL, 0) ||
          !fr.feasible || (nf && fr.size == fsize[nf - 1]))
        continue;
      fsize[nf] = fr.size;
      fcost[nf++] = fr.cost;
    }
    free(tmp);
    for (int i = 0; i < n; i++) {
      char at[256];
      MlirContext ctx = mlirOperationGetContext(layers[i].op);
      mlirOperationSetAttributeByName(layers[i].op, mlirStringRefCreateFromCString(qcc_scheme_attr),
                                      str(ctx, layers[i].names[pick[i]]));
      const qcc_knap_choice *c = &layers[i].choice[pick[i]];
      qcc_remark("allocate: %s: %s (%.2f bits per weight, sensitivity %.3g)", qcc_op_where(layers[i].op, at, sizeof at),
                 layers[i].names[pick[i]], layers[i].weights ? (double)c->size / layers[i].weights : 0.0, c->cost);
    }
    double latency = 0;
    for (int i = 0; i < n; i++) latency += layers[i].choice[pick[i]].latency;
    qcc_remark("allocate: %d layers, %.3f bits per weight (budget %.3f), modeled %.1f us, predicted output error "
               "%.3g, %lld states",
               n, weights ? (double)r.size / weights : 0.0, weights ? (double)budget / weights : 0.0, latency, r.cost,
               (long long)r.states);
    record(func, layers, n, pick, budget, weights, latency, latency_budget, &r, fsize, fcost, nf);
  }
  free(groups);
  free(pick);
  free(layers);
  return rc;
}
