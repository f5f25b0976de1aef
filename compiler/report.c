/* report.c - `--report FILE`: what quantization did and what it cost.
 *
 * Per quantized layer: the ONNX node, format and bits, how the weight codes
 * were chosen (rtn or gptq), the weight SQNR (dB, recorded by the quantize
 * pass), the weight output SQNR (x W^T against x (W - W^)^T over the
 * calibration inputs, from their second moment: only known with
 * --weight-quant gptq) and the SQNR of its input activation: the
 * float values entering its q.quantize vs their int8 round trip, over the
 * calibration samples (a layer fed int8 directly by the previous quantized
 * layer has no float input: reported as null / "-").
 * MSQ layers (q.msqmatmul, --msq) add, per modality, the calibrated input
 * range and the SQNR of the input's round trip through that modality's
 * static parameters (report_msq.c).
 * With --rotate: per rotated layer input, max|x|/std and QSUR before ->
 * after the rotation (see rotate.c), and what happened to each residual
 * stream (rotated, or the op that blocked it and why).
 * For the model: output SQNR and max abs error of the quantized model
 * against the float model on the calibration samples, the top-1 agreement
 * of the last output dim, and the weight bytes of both builds.
 * FILE ending in .json gets JSON; anything else (or "-") a readable table. */
#include "report.h"
#include "report_kv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaluator.h"
#include "name_map.h"
#include "qrt.h"
#include "report_msq.h"

typedef struct sqnr_acc {
  double signal, noise;
} sqnr_acc;

static double db(const sqnr_acc *a) { return a->noise > 0 ? 10 * log10(a->signal / a->noise) : 999.0; }

/* Observer state: the float data last seen for each value, and per
 * q.quantize op the accumulated round-trip error of its input. */
typedef struct act_state {
  qcc_ptr_map last;  /* MlirValue.ptr -> qcc_array* (copies) */
  qcc_ptr_map acc;   /* quantize op ptr -> sqnr_acc* */
  qcc_ptr_map msq;   /* msqmatmul op ptr -> qcc_msq_acc* */
} act_state;

static void remember(act_state *st, MlirValue v, const qcc_array *data) {
  qcc_array *copy = qcc_ptr_map_get(&st->last, v.ptr);
  if (!copy) qcc_ptr_map_put(&st->last, v.ptr, copy = calloc(1, sizeof *copy));
  else qcc_array_free(copy);
  *copy = *data;
  copy->data = malloc(data->nbytes ? data->nbytes : 1);
  memcpy(copy->data, data->data, data->nbytes);
}

static void observe(MlirOperation op, MlirValue v, const qcc_array *data, void *user) {
  act_state *st = user;
  if (q_msq_quantize_is(op)) {
    const qcc_array *x = qcc_ptr_map_get(&st->last, q_msq_quantize_in(op, 0).ptr);
    qcc_msq_acc *a = qcc_ptr_map_get(&st->msq, op.ptr);
    if (!a) qcc_ptr_map_put(&st->msq, op.ptr, a = calloc(1, sizeof *a));
    if (x) qcc_msq_report_observe(op, x, data, qcc_ptr_map_get(&st->last, q_msq_quantize_in(op, 1).ptr), a);
  }
  if (q_quantize_is(op)) {
    const qcc_array *x = qcc_ptr_map_get(&st->last, q_quantize_in(op, 0).ptr);
    double s;
    int64_t z;
    if (x && qcc_value_quant(v, &s, &z)) {
      sqnr_acc *a = qcc_ptr_map_get(&st->acc, op.ptr);
      if (!a) qcc_ptr_map_put(&st->acc, op.ptr, a = calloc(1, sizeof *a));
      const float *xf = x->data;
      const int8_t *q = data->data;
      const int16_t *q16 = data->data; /* int16 codes (w8i16) */
      for (int64_t i = 0, n = qcc_array_numel(x); i < n; i++) {
        double back = s * ((data->dtype == QRT_I16 ? q16[i] : q[i]) - z);
        a->signal += (double)xf[i] * xf[i];
        a->noise += (xf[i] - back) * (xf[i] - back);
      }
    }
  }
  if (data->dtype == QRT_F32) remember(st, v, data);
}

static void node_name(MlirOperation op, char *out, size_t cap) {
  char where[256];
  qcc_op_where(op, where, sizeof where);
  snprintf(out, cap, "%s", where);
}


/* An f64 attribute the quantize pass recorded; NAN when absent. */
static double db_attr(MlirOperation op, const char *name) {
  MlirAttribute a = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(name));
  return mlirAttributeIsNull(a) ? NAN : mlirFloatAttrGetValueDouble(a);
}

/* "rtn" or "gptq": how the quantize pass chose the layer's weight codes;
 * empty for a matmul of two run-time operands (no constant weights). */
static void weight_method(MlirOperation op, char *out, size_t cap) {
  MlirAttribute a = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("qcc.weight_quant"));
  MlirStringRef s = mlirAttributeIsNull(a) ? mlirStringRefCreateFromCString("") : mlirStringAttrGetValue(a);
  snprintf(out, cap, "%.*s", (int)s.length, s.data);
}

/* "%.2f" of a dB value, or the JSON null / table "-" when it is unknown. */
static const char *db_str(double v, bool json, char *buf, size_t cap) {
  snprintf(buf, cap, !isnan(v) ? "%.2f" : json ? "null" : "-", v);
  return buf;
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static double attr_f64(MlirOperation op, const char *name) {
  MlirAttribute a = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(name));
  return mlirAttributeIsNull(a) ? NAN : mlirFloatAttrGetValueDouble(a);
}

typedef struct layer_format {
  char format[32];
  int64_t group;
  int weight_bits, act_bits; /* act_bits 0: float activations */
  const char *act_scale;     /* "static", "token" or "float" */
} layer_format;

/* An MSQ layer: per-modality activation parameters, with its int8 or
 * its float epilogue. */
static bool is_msq_layer(MlirOperation op) { return q_msqmatmul_is(op) || q_msqmatmul_deq_is(op); }

/* Format, group and bits of a quantized layer, read back from its IR. */
static layer_format format_of(MlirOperation op) {
  layer_format lf = {"int8", 0, 8, 8, "static"};
  MlirAttribute fa = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("format"));
  if (!mlirAttributeIsNull(fa)) {
    MlirStringRef sr = mlirStringAttrGetValue(fa);
    snprintf(lf.format, sizeof lf.format, "%.*s", (int)sr.length, sr.data);
  }
#define BITS(id, fname, bits, lo, hi) \
  if (!strcmp(lf.format, fname)) lf.weight_bits = bits;
  QRT_ALL_WFORMATS(BITS)
#undef BITS
  if (q_qmatmul_is(op)) lf.group = q_qmatmul_get(op).group;
  if (q_qmatmul_deq_is(op)) lf.group = q_qmatmul_deq_get(op).group;
  int64_t lo, hi;
  if (q_bmatmul_is(op)) {
    q_bmatmul_attrs a = q_bmatmul_get(op);
    const qrt_bformat *wf = qrt_bformat_get(qrt_bformat_find(a.w_format.s));
    const qrt_bformat *af = qrt_bformat_get(qrt_bformat_find(a.a_format.s));
    snprintf(lf.format, sizeof lf.format, "%s", a.w_format.s);
    lf.group = wf ? wf->block : 0;
    lf.weight_bits = wf ? wf->element_bits : 0;
    lf.act_bits = af ? af->element_bits : 0;
    lf.act_scale = af ? "block" : "float";
  } else if (is_msq_layer(op)) {
    MlirValue codes = mlirOperationGetOperand(op, 0);
    lf.group = q_msqmatmul_is(op) ? q_msqmatmul_get(op).group : q_msqmatmul_deq_get(op).group;
    lf.act_bits = 8;
    if (mlirValueIsAOpResult(codes) && q_msq_quantize_is(mlirOpResultGetOwner(codes))) {
      q_msq_quantize_attrs a = q_msq_quantize_get(mlirOpResultGetOwner(codes));
      lf.act_bits = 0;
      while ((INT64_C(1) << lf.act_bits) < a.qmax - a.qmin + 1) lf.act_bits++;
    }
    lf.act_scale = "modality";
  } else if (q_fqmatmul_is(op)) {
    q_fqmatmul_attrs a = q_fqmatmul_get(op);
    lf.group = a.group;
    lf.act_bits = (int)a.act_bits;
    lf.act_scale = a.act_bits ? "token" : "float";
  } else if (qcc_value_quant_range(mlirOperationGetOperand(op, 0), &lo, &hi)) {
    lf.act_bits = 0;
    while ((INT64_C(1) << lf.act_bits) < hi - lo + 1) lf.act_bits++;
  }
  return lf;
}

static MlirAttribute dict_get(MlirAttribute d, const char *name) {
  return mlirDictionaryAttrGetElementByName(d, mlirStringRefCreateFromCString(name));
}

/* The allocate pass's choices (qcc.allocation on the function), if any:
 * one row per layer and the size/cost frontier the solver explored. */
static void print_allocation(FILE *f, MlirOperation func, bool json) {
  MlirAttribute al = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("qcc.allocation"));
  if (mlirAttributeIsNull(al)) return;
  int64_t weights = mlirIntegerAttrGetValueInt(dict_get(al, "weights"));
  int64_t budget = mlirIntegerAttrGetValueInt(dict_get(al, "budget_bits")), bits = mlirIntegerAttrGetValueInt(dict_get(al, "bits"));
  double w = weights ? (double)weights : 1.0;
  MlirAttribute rows = dict_get(al, "layers"), fb = dict_get(al, "frontier_bits"), fc = dict_get(al, "frontier_cost");
  if (json)
    fprintf(f, ",\n  \"allocation\": {\"budget_bits\": %lld, \"bits\": %lld, \"weights\": %lld, "
               "\"avg_bits\": %.4f, \"predicted_cost\": %.6g, \"latency_us\": %.3f, \"budget_latency_us\": %.3f,"
               "\n    \"layers\": [",
            (long long)budget, (long long)bits, (long long)weights, bits / w,
            mlirFloatAttrGetValueDouble(dict_get(al, "cost")), mlirFloatAttrGetValueDouble(dict_get(al, "latency_us")),
            mlirFloatAttrGetValueDouble(dict_get(al, "budget_latency_us")));
  else
    fprintf(f, "allocation: %.3f bits per weight (budget %.3f), modeled %.1f us, predicted output error %.4g\n",
            bits / w, budget / w, mlirFloatAttrGetValueDouble(dict_get(al, "latency_us")),
            mlirFloatAttrGetValueDouble(dict_get(al, "cost")));
  for (intptr_t i = 0; i < mlirArrayAttrGetNumElements(rows); i++) {
    MlirAttribute r = mlirArrayAttrGetElement(rows, i);
    MlirStringRef layer = mlirStringAttrGetValue(dict_get(r, "layer")), sch = mlirStringAttrGetValue(dict_get(r, "scheme"));
    int64_t lb = mlirIntegerAttrGetValueInt(dict_get(r, "bits")), lw = mlirIntegerAttrGetValueInt(dict_get(r, "weights"));
    double sens = mlirFloatAttrGetValueDouble(dict_get(r, "sensitivity"));
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)layer.length, layer.data);
    if (json) {
      fprintf(f, "%s\n      {\"layer\": ", i ? "," : "");
      json_str(f, name);
      fprintf(f, ", \"scheme\": \"%.*s\", \"bits\": %lld, \"weights\": %lld, \"sensitivity\": %.6g, \"latency_us\": %.4f}",
              (int)sch.length, sch.data, (long long)lb, (long long)lw, sens,
              mlirFloatAttrGetValueDouble(dict_get(r, "latency_us")));
    } else {
      fprintf(f, "  %-60.60s %-10.*s %6.2f bits/weight  sensitivity %.4g\n", name, (int)sch.length, sch.data,
              lw ? (double)lb / lw : 0.0, sens);
    }
  }
  if (json) fprintf(f, "],\n    \"frontier\": [");
  for (intptr_t i = 0; json && i < mlirArrayAttrGetNumElements(fb); i++)
    fprintf(f, "%s[%.4f, %.6g]", i ? ", " : "", mlirIntegerAttrGetValueInt(mlirArrayAttrGetElement(fb, i)) / w,
            mlirFloatAttrGetValueDouble(mlirArrayAttrGetElement(fc, i)));
  if (json) fprintf(f, "]}");
}

int qcc_write_report(const char *path, MlirModule float_m, MlirModule quant_m, const qcc_calib_set *calib,
                     const qcc_report_sizes *sizes) {
  act_state st;
  qcc_ptr_map_init(&st.last);
  qcc_ptr_map_init(&st.acc);
  qcc_ptr_map_init(&st.msq);
  sqnr_acc out_acc = {0, 0};
  qcc_kv_report kv;
  memset(&kv, 0, sizeof kv);
  double max_err = 0;
  int agree = 0, rows = 0, rc = 0;
  qcc_eval_cache *cache = qcc_eval_cache_new();
  qcc_eval_plan *float_plan = qcc_eval_plan_new(float_m, cache), *quant_plan = qcc_eval_plan_new(quant_m, cache);
  for (int k = 0; k < calib->n_samples && !rc; k++) {
    qcc_array *fo = NULL, *qo = NULL;
    int nf = 0, nq = 0;
    const qcc_array *in = &calib->samples[k * calib->n_inputs];
    qcc_array *qin = malloc(sizeof *qin * (size_t)(calib->n_inputs + 1));
    bool *owned = malloc(sizeof *owned * (size_t)(calib->n_inputs + 1));
    qcc_kv_report_inputs(quant_m, in, calib->n_inputs, qin, owned, &kv);
    MlirBlock qbody = qcc_func_body(qcc_module_func(quant_m));
    for (int i = 0; i < calib->n_inputs; i++)
      if (qin[i].dtype == QRT_F32) remember(&st, mlirBlockGetArgument(qbody, i), &qin[i]);
    rc = qcc_eval_plan_run(float_plan, in, calib->n_inputs, &fo, &nf, NULL, NULL) ||
         qcc_eval_plan_run(quant_plan, qin, calib->n_inputs, &qo, &nq, observe, &st);
    for (int i = 0; i < calib->n_inputs; i++)
      if (owned[i]) qcc_array_free(&qin[i]);
    free(qin);
    free(owned);
    for (int j = 0; !rc && j < nf && j < nq; j++) {
      if (fo[j].dtype != QRT_F32 || qo[j].dtype != QRT_F32) continue;
      const float *a = fo[j].data, *b = qo[j].data;
      int64_t n = qcc_array_numel(&fo[j]), last = fo[j].rank ? fo[j].dims[fo[j].rank - 1] : 1;
      for (int64_t i = 0; i < n; i++) {
        out_acc.signal += (double)a[i] * a[i];
        out_acc.noise += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        if (fabs((double)a[i] - b[i]) > max_err) max_err = fabs((double)a[i] - b[i]);
      }
      for (int64_t r = 0; j == 0 && last > 0 && r < n / last; r++) {
        int64_t ia = 0, ib = 0;
        for (int64_t i = 1; i < last; i++) {
          if (a[r * last + i] > a[r * last + ia]) ia = i;
          if (b[r * last + i] > b[r * last + ib]) ib = i;
        }
        agree += ia == ib;
        rows++;
      }
    }
    for (int j = 0; j < nf; j++) qcc_array_free(&fo[j]);
    for (int j = 0; j < nq; j++) qcc_array_free(&qo[j]);
    free(fo);
    free(qo);
  }
  qcc_eval_plan_free(float_plan);
  qcc_eval_plan_free(quant_plan);
  qcc_eval_cache_free(cache);
  bool json = strlen(path) > 5 && !strcmp(path + strlen(path) - 5, ".json");
  /* .html: the text report, written to memory, goes into the page */
  bool html = strlen(path) > 5 && !strcmp(path + strlen(path) - 5, ".html");
  char *text = NULL;
  size_t text_len = 0;
  FILE *f = html ? open_memstream(&text, &text_len) : !strcmp(path, "-") ? stdout : fopen(path, "w");
  if (!f) {
    qcc_error("--report: cannot write %s", path);
    rc = -1;
  }
  if (!rc) {
    MlirBlock body = qcc_func_body(qcc_module_func(quant_m));
    if (json) fprintf(f, "{\n  \"layers\": [");
    else
      fprintf(f, "%-48s %-10s %5s %5s %-7s %-6s %12s %12s %12s\n", "layer", "format", "w", "a", "a-scale", "codes",
              "weight SQNR", "w-out SQNR", "act SQNR");
    int n_layers = 0;
    for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
         op = mlirOperationGetNextInBlock(op)) {
      if (!q_qconv_is(op) && !q_qmatmul_is(op) && !q_qmatmul_deq_is(op) && !q_fqmatmul_is(op) && !q_bmatmul_is(op) &&
          !is_msq_layer(op))
        continue;
      MlirValue x = mlirOperationGetOperand(op, 0);
      sqnr_acc *a = NULL, msq_all = {0, 0};
      qcc_msq_acc *ma = is_msq_layer(op) && mlirValueIsAOpResult(x) ? qcc_ptr_map_get(&st.msq, mlirOpResultGetOwner(x).ptr) : NULL;
      if (mlirValueIsAOpResult(x) && q_quantize_is(mlirOpResultGetOwner(x)))
        a = qcc_ptr_map_get(&st.acc, mlirOpResultGetOwner(x).ptr);
      if (ma) {
        for (int m = 0; m < QRT_MSQ_MAX_MODALITIES; m++) msq_all.signal += ma->signal[m], msq_all.noise += ma->noise[m];
        a = &msq_all;
      }
      char name[256], act[32], fmt[48], method[16], wsq[32], wout[32], jmethod[24];
      layer_format lf = format_of(op);
      node_name(op, name, sizeof name);
      weight_method(op, method, sizeof method);
      db_str(a ? db(a) : NAN, json, act, sizeof act);
      db_str(db_attr(op, "qcc.weight_sqnr_db"), json, wsq, sizeof wsq);
      db_str(db_attr(op, "qcc.weight_output_sqnr_db"), json, wout, sizeof wout);
      snprintf(jmethod, sizeof jmethod, *method ? "\"%s\"" : "null", method);
      snprintf(fmt, sizeof fmt, lf.group ? "%s/g%lld" : "%s", lf.format, (long long)lf.group);
      double ms0 = attr_f64(op, "qcc.max_std_before"), ms1 = attr_f64(op, "qcc.max_std_after");
      double qs0 = attr_f64(op, "qcc.qsur_before"), qs1 = attr_f64(op, "qcc.qsur_after");
      char rot[96] = "";
      if (!isnan(ms0) && json)
        snprintf(rot, sizeof rot, ", \"max_std_before\": %.2f, \"max_std_after\": %.2f, \"qsur_before\": %.3f, \"qsur_after\": %.3f",
                 ms0, ms1, qs0, qs1);
      else if (!isnan(ms0))
        snprintf(rot, sizeof rot, "  max/std %.1f->%.1f  QSUR %.3f->%.3f", ms0, ms1, qs0, qs1);
      if (json) {
        fprintf(f, "%s\n    {\"layer\": ", n_layers ? "," : "");
        json_str(f, name);
        fprintf(f, ", \"format\": \"%s\", \"group\": %lld, \"weight_bits\": %d, \"activation_bits\": %d, "
                   "\"activation_scale\": \"%s\", \"weight_quant\": %s, \"weight_sqnr_db\": %s, "
                   "\"weight_output_sqnr_db\": %s, \"activation_sqnr_db\": %s%s",
                lf.format, (long long)lf.group, lf.weight_bits, lf.act_bits, lf.act_scale, jmethod, wsq, wout, act, rot);
        if (ma) qcc_msq_report_print(f, op, ma, true);
        fputc('}', f);
      } else {
        fprintf(f, "%-48.48s %-10s %5d %5d %-7s %-6s %12s %12s %12s%s\n", name, fmt, lf.weight_bits, lf.act_bits,
                lf.act_scale, *method ? method : "-", wsq, wout, act, rot);
        if (ma) qcc_msq_report_print(f, op, ma, false);
      }
      n_layers++;
    }
    MlirAttribute rl = mlirOperationGetAttributeByName(qcc_module_func(quant_m), mlirStringRefCreateFromCString("qcc.rotation"));
    intptr_t n_rot = mlirAttributeIsNull(rl) ? 0 : mlirArrayAttrGetNumElements(rl);
    if (json) fprintf(f, "\n  ],\n  \"rotation\": [");
    for (intptr_t i = 0; i < n_rot; i++) {
      MlirStringRef sr = mlirStringAttrGetValue(mlirArrayAttrGetElement(rl, i));
      char line[512];
      snprintf(line, sizeof line, "%.*s", (int)sr.length, sr.data);
      if (json) {
        fprintf(f, "%s\n    ", i ? "," : "");
        json_str(f, line);
      } else {
        fprintf(f, "rotation: %s\n", line);
      }
    }
    if (!json) print_allocation(f, qcc_module_func(quant_m), json);
    double top1 = rows ? (double)agree / rows : NAN;
    if (json) {
      fprintf(f, "\n  ],\n  \"calibration_samples\": %d,\n  \"output_sqnr_db\": %.2f,\n  \"output_max_abs_error\": %.6g,\n"
                 "  \"top1_agreement\": %.4f,\n  \"weight_bytes_float\": %lld,\n  \"weight_bytes_quantized\": %lld,\n"
                 "  \"size_ratio\": %.4f",
              calib->n_samples, db(&out_acc), max_err, top1, (long long)sizes->float_bytes,
              (long long)sizes->quant_bytes, sizes->float_bytes ? (double)sizes->quant_bytes / sizes->float_bytes : 0.0);
      qcc_kv_report_print(f, &kv, json);
      print_allocation(f, qcc_module_func(quant_m), json);
      fprintf(f, "\n}\n");
    } else {
      fprintf(f, "model vs float on %d calibration samples: output SQNR %.2f dB, max |error| %.4g, top-1 agreement %.2f%%\n",
              calib->n_samples, db(&out_acc), max_err, 100 * top1);
      fprintf(f, "weights: %lld bytes quantized vs %lld float (%.1f%%)\n", (long long)sizes->quant_bytes,
              (long long)sizes->float_bytes, sizes->float_bytes ? 100.0 * sizes->quant_bytes / sizes->float_bytes : 0.0);
      qcc_kv_report_print(f, &kv, json);
    }
    if (f != stdout) fclose(f);
    FILE *page = html ? fopen(path, "w") : NULL;
    if (html && (!page || qcc_write_report_html(page, text, text_len, qcc_module_func(quant_m)))) {
      qcc_error("--report: cannot write %s", path);
      rc = -1;
    }
    if (page) fclose(page);
    free(text);
  }
  for (size_t i = 0; i < st.last.cap; i++)
    if (st.last.keys[i]) {
      qcc_array_free(st.last.vals[i]);
      free(st.last.vals[i]);
    }
  for (size_t i = 0; i < st.acc.cap; i++) free(st.acc.vals[i]);
  for (size_t i = 0; i < st.msq.cap; i++) free(st.msq.vals[i]);
  qcc_ptr_map_free(&st.last);
  qcc_ptr_map_free(&st.acc);
  qcc_ptr_map_free(&st.msq);
  return rc;
}
