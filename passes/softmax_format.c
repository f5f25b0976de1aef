/* softmax_format.c - `--softmax-format dbfpM`: every float softmax over
 * the last axis becomes q.dbfp_softmax, which encodes each row in
 * DB-Attn's DBFP(M) (the row maximum as pivot, distances from it in a fine
 * and a coarse group, exponents from the row's spread) and reads exp from
 * a table built here (runtime/qrt_dbfp.c has the format and the error
 * bound):
 *
 *   y = q.softmax(x) {axis = last, log = 0}
 *     ->  y = q.dbfp_softmax(x, table) {bits = M}
 *
 * The input stays float up to the softmax (attention's scores come from a
 * float or block-format matmul) and the output is float, so the rewrite
 * is independent of -q: it runs after quantization, on whatever softmax
 * is left float (--integer-only's int8 softmax replaces them itself, so
 * the two flags exclude each other). An additive mask needs no special
 * case: masked scores (-inf, -1e4) are past the format's range and flush
 * to exp = 0.
 *
 * Stays float, with a remark: log-softmax, a softmax over another axis,
 * non-float32 inputs, and --keep-float matches. */
#include <stdlib.h>

#include "passes.h"
#include "quant_activations.h"
#include "quant_options.h"

static int rewrite(MlirOperation op, int bits, const float *table) {
  char at[256];
  qcc_op_where(op, at, sizeof at);
  q_softmax_attrs a = q_softmax_get(op);
  MlirValue x = q_softmax_in(op, 0), y = mlirOperationGetResult(op, 0);
  qcc_shape xs;
  qcc_shape_of(x, &xs);
  if (qcc_kept_float(at, "softmax")) {
    qcc_remark("softmax-format: %s stays float: --keep-float", at);
    return 0;
  }
  if (xs.dtype != QRT_F32 || a.log || xs.rank < 1 || a.axis != xs.rank - 1) {
    qcc_remark("softmax-format: %s stays float: the DBFP softmax is over the last axis of float32, not logarithmic",
               at);
    return 0;
  }
  int64_t n = qrt_dbfp_table_size(bits);
  q_dbfp_softmax_attrs da = {bits};
  MlirValue t = qcc_constant_before(op, QRT_F32, 1, &n, table);
  MlirValue r = qcc_insert_before(
      op, q_dbfp_softmax_create(mlirOperationGetLocation(op), mlirValueGetType(y), x, t, &da));
  mlirValueReplaceAllUsesOfWith(y, r);
  mlirOperationDestroy(op);
  qcc_remark("softmax-format: %s runs on DBFP%d rows with a table exp", at, bits);
  return 0;
}

int qcc_pass_softmax_format(MlirModule m) {
  const int bits = qcc_quant_opts.softmax_bits;
  if (!bits) return 0;
  float *table = malloc(sizeof(float) * (size_t)qrt_dbfp_table_size(bits));
  if (!table || qrt_build_dbfp_softmax_table(bits, table)) {
    free(table);
    qcc_error("--softmax-format: no table for dbfp%d", bits);
    return -1;
  }
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  int rc = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op) && !rc;) {
    MlirOperation next = mlirOperationGetNextInBlock(op);
    if (q_softmax_is(op)) rc = rewrite(op, bits, table);
    op = next;
  }
  free(table);
  return rc;
}
