/* report_kv.c - the KV cache in --report: a --kv-bits build's caches are
 * packed rows (passes/kv_cache.c), while the calibration samples hold the
 * float caches the model was calibrated with.  The report encodes those
 * (as the step would have stored them), runs the build on the packed
 * samples, and gives the caches' bytes and the rows' round-trip SQNR. */
#include "report_kv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qrt.h"

/* The q.kv_store reading argument v, or a null op. */
static MlirOperation kv_reader(MlirValue v) {
  MlirOperation none = {NULL};
  for (MlirOpOperand u = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u))
    if (q_kv_store_is(mlirOpOperandGetOwner(u)) && mlirOpOperandGetOperandNumber(u) == 0) return mlirOpOperandGetOwner(u);
  return none;
}

void qcc_kv_report_inputs(MlirModule quant_m, const qcc_array *in, int n, qcc_array *out, bool *owned,
                          qcc_kv_report *r) {
  MlirBlock body = qcc_func_body(qcc_module_func(quant_m));
  for (int i = 0; i < n; i++) {
    MlirValue arg = mlirBlockGetArgument(body, i);
    MlirOperation st = kv_reader(arg);
    qcc_shape s;
    out[i] = in[i];
    owned[i] = false;
    if (mlirOperationIsNull(st) || in[i].dtype != QRT_F32 || !qcc_shape_of(arg, &s)) continue;
    q_kv_store_attrs a = q_kv_store_get(st);
    const int64_t len = a.row_len, rows = qcc_array_numel(&in[i]) / len, rb = qrt_kv_row_bytes((int32_t)a.bits, len);
    qcc_array p = in[i];
    p.dtype = QRT_U8;
    p.dims[p.rank - 1] = rb;
    p.data = malloc((size_t)(rows * rb) + 1);
    qrt_kv_encode((int32_t)a.bits, rows, len, in[i].data, p.data);
    float *back = malloc(sizeof(float) * (size_t)(rows * len) + 1);
    qrt_kv_params kp;
    memset(&kp, 0, sizeof kp);
    kp.bits = (int32_t)a.bits, kp.rows = rows, kp.row_len = len;
    qrt_kv_load(&kp, (const void *const[]){p.data}, (void *const[]){back});
    const float *x = in[i].data;
    for (int64_t k = 0; k < rows * len; k++) {
      r->signal += (double)x[k] * x[k];
      r->noise += ((double)x[k] - back[k]) * ((double)x[k] - back[k]);
    }
    free(back);
    out[i] = p;
    owned[i] = true;
    if (r->bits == 0 || r->bits == a.bits) r->bits = (int)a.bits;
  }
  if (r->n_caches == 0) /* sizes from the function, once */
    for (int i = 0; i < n; i++) {
      MlirValue arg = mlirBlockGetArgument(body, i);
      MlirOperation st = kv_reader(arg);
      qcc_shape s;
      if (mlirOperationIsNull(st) || !qcc_shape_of(arg, &s)) continue;
      r->n_caches++;
      r->bytes += qcc_shape_numel(&s);
      r->float_bytes += qcc_shape_numel(&s) / s.dims[s.rank - 1] * q_kv_store_get(st).row_len * 4;
    }
}

void qcc_kv_report_print(FILE *f, const qcc_kv_report *r, bool json) {
  if (!r->n_caches) return;
  double sqnr = r->noise > 0 ? 10 * log10(r->signal / r->noise) : 999.0;
  if (json)
    fprintf(f, ",\n  \"kv_cache\": {\"bits\": %d, \"caches\": %d, \"bytes\": %lld, \"float_bytes\": %lld, "
               "\"round_trip_sqnr_db\": %.2f}",
            r->bits, r->n_caches, (long long)r->bytes, (long long)r->float_bytes, sqnr);
  else
    fprintf(f, "kv cache: %d caches in int%d rows, %lld bytes vs %lld float (%.1f%%); round trip of the calibration "
               "samples' caches: SQNR %.2f dB\n",
            r->n_caches, r->bits, (long long)r->bytes, (long long)r->float_bytes,
            r->float_bytes ? 100.0 * r->bytes / r->float_bytes : 0.0, sqnr);
}
