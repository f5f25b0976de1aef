/* report_msq.c - --report's per-modality lines for MSQ layers: the input
 * range the msq pass calibrated for each modality (qcc.msq_in_min/max) and
 * the SQNR of the layer input's rows of that modality against the codes its
 * q.msq_quantize computed (dequantized with the modality's scale and zero
 * point). */
#include "report_msq.h"

#include <math.h>

/* The modality index of row r, as qrt_msqmatmul_f32 reads it. */
static int modality_of(const qcc_array *mod, int64_t r, int n_mod) {
  double v = mod->dtype == QRT_F32   ? ((const float *)mod->data)[r]
             : mod->dtype == QRT_I32 ? (double)((const int32_t *)mod->data)[r]
             : mod->dtype == QRT_I64 ? (double)((const int64_t *)mod->data)[r]
                                     : 0.0;
  if (!(v >= 0)) return 0;
  return v >= n_mod - 1 ? n_mod - 1 : (int)v;
}

void qcc_msq_report_observe(MlirOperation op, const qcc_array *x, const qcc_array *codes, const qcc_array *mod,
                            qcc_msq_acc *acc) {
  q_msq_quantize_attrs a = q_msq_quantize_get(op);
  qcc_array as = {0}, constant = {0};
  if (!qcc_dense_attr_read(a.scales, &as) || as.dtype != QRT_F64 || codes->dtype != QRT_I8) return qcc_array_free(&as);
  if (!mod && qcc_value_constant(q_msq_quantize_in(op, 1), &constant)) mod = &constant;
  int n_mod = (int)qcc_array_numel(&as);
  int64_t K = x->rank ? x->dims[x->rank - 1] : 1, rows = K ? qcc_array_numel(x) / K : 0;
  for (int64_t r = 0; mod && r < rows && r < qcc_array_numel(mod); r++) {
    int m = modality_of(mod, r, n_mod);
    double s = ((double *)as.data)[m];
    int64_t z = a.zero_points.v[m];
    const float *row = (const float *)x->data + r * K;
    const int8_t *q = (const int8_t *)codes->data + r * K;
    for (int64_t k = 0; k < K; k++) {
      double back = s * (double)(q[k] - z);
      acc->signal[m] += (double)row[k] * row[k];
      acc->noise[m] += (row[k] - back) * (row[k] - back);
    }
    acc->rows[m]++;
  }
  qcc_array_free(&as);
  qcc_array_free(&constant);
}

static double attr_at(MlirOperation op, const char *name, int m) {
  MlirAttribute a = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(name));
  return mlirAttributeIsNull(a) || m >= mlirDenseArrayGetNumElements(a) ? NAN : mlirDenseF64ArrayGetElement(a, m);
}

void qcc_msq_report_print(FILE *f, MlirOperation op, const qcc_msq_acc *acc, bool json) {
  MlirAttribute in_min = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("qcc.msq_in_min"));
  int n_mod = mlirAttributeIsNull(in_min) ? 0 : (int)mlirDenseArrayGetNumElements(in_min); /* the msq pass's */
  if (json) fprintf(f, ", \"modalities\": [");
  for (int m = 0; m < n_mod; m++) {
    double lo = attr_at(op, "qcc.msq_in_min", m), hi = attr_at(op, "qcc.msq_in_max", m);
    double db = acc->noise[m] > 0 ? 10 * log10(acc->signal[m] / acc->noise[m]) : 999.0;
    char name[32];
    snprintf(name, sizeof name, m ? "modality %d" : "text (0)", m);
    if (json)
      fprintf(f, "%s{\"modality\": %d, \"input_min\": %.6g, \"input_max\": %.6g, \"rows\": %lld, "
                 "\"activation_sqnr_db\": %.2f}",
              m ? ", " : "", m, lo, hi, (long long)acc->rows[m], db);
    else if (acc->rows[m])
      fprintf(f, "    %-12s input [%.4g, %.4g]  act SQNR %.2f dB over %lld rows\n", name, lo, hi, db,
              (long long)acc->rows[m]);
    else
      fprintf(f, "    %-12s input [%.4g, %.4g]  no rows in the samples\n", name, lo, hi);
  }
  if (json) fprintf(f, "]");
}
