/* attention_scales.c - the attention_scales pass: per-tensor static scales
 * for attention's matmuls, or finer ones where measuring says a static
 * per-tensor scale cannot hold the operands' range (issue 16: "per-head or
 * per-token scales, chosen by measuring, not by a flag").
 *
 * Under a static integer scheme (-q w8a8, w4a8, w4a4 with --calib), a
 * matmul of two run-time operands (Q K^T, P V) gets int8 codes with one
 * calibrated scale per operand (quantize.c). That holds when every head
 * and token of an operand spans about the same range; when a few tokens or
 * heads carry most of it (outliers, attention sinks, softmax rows that
 * are nearly one-hot), the small ones round to a handful of codes.
 *
 * The finer choice is MXINT8 (qrt_fmt_bfp.c): int8 mantissas with a
 * power-of-two scale per 32 values of each row of A and each column of B,
 * taken from the data at run time. For Q K^T with heads of at most 32
 * that is a scale per query token and per key token of each head; wider
 * heads get several per token. For P V it is a scale per 32 keys of each
 * probability row and per 32 tokens of each value channel. The product is
 * still an integer dot product per block (qrt_bmatmul.c).
 *
 * Measuring: for each such matmul, two copies of the calibrated module in
 * which only this matmul is quantized, one per tensor static and one
 * MXINT8, run on the first 8 calibration samples; the relative output
 * error of each against the float outputs (sensitivity.c, the metric of
 * -q auto). The matmul takes MXINT8 when static's error is above
 * QCC_ATTN_FLOOR and more than QCC_ATTN_RATIO times MXINT8's: a clear
 * loss, not noise, and worth the run-time encoding. -v prints both errors
 * per matmul and the choice.
 *
 * Not measured (the pass does nothing; the last two with a remark): -q auto (the allocator
 * chooses there, among the same formats), per-token activations (the
 * run-time matmuls stay float), --integer-only and --msq (their attention
 * paths read int8 codes), block-format and int16 schemes, a matmul that
 * --keep-float or --layer-scheme names, a matmul whose operands'
 * batch dims differ (broadcast heads: no block-format kernel), and models
 * of more than QCC_MEASURE_MAX_WEIGHTS weights (one evaluator run of the
 * whole model per matmul, choice and sample).
 *
 * The default (--attention-scales static opts out): the run-time MXINT8
 * matmul encodes its rows and columns with runtime/qrt_bdot_enc.c's
 * vectorized encoder, so on mm_lm W8A8 the two Q K^T it picks cost about
 * 7% of the run (0.104 -> 0.111 ms, examples/bench/attention_bench.py);
 * with the generic encoder they took it to 0.26 ms.
 *
 * Invariant: the computation is unchanged; a chosen matmul gets
 * qcc.scheme = "mxint8", which the quantize pass reads. */
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "msq.h"
#include "passes.h"
#include "quant_activations.h"
#include "quant_options.h"
#include "sensitivity.h"

/* Output error of per-tensor static below which it is kept whatever the
 * ratio: relative MSE 1e-5 is 50 dB, below what 8 calibration samples
 * resolve between two choices. */
#define QCC_ATTN_FLOOR 1e-5
/* How much better MXINT8 must measure (6 dB) to be worth its run-time
 * encoding: on char_lm a 3 dB gain on 8 calibration samples did not
 * carry over to the test split. */
#define QCC_ATTN_RATIO 4.0

static bool applies(MlirModule m) {
  const qcc_quant_scheme *s = qcc_quant_opts.scheme;
  if (!qcc_quant_opts.attention_measure || !qcc_quantizing() || qcc_quant_opts.allocate ||
      !qcc_quant_opts.calib_path || !s || s->block_format >= 0 ||
      (s->act_bits != 8 && s->act_bits != 4) || qcc_quant_opts.act_per_token || qcc_quant_opts.integer_only ||
      qcc_msq_enabled)
    return false;
  int64_t weights = qcc_model_weight_count(m);
  if (weights > QCC_MEASURE_MAX_WEIGHTS) {
    qcc_remark("attention_scales: %lld weights: attention keeps per-tensor static scales without measuring "
               "(--layer-scheme runtime_matmul=mxint8 chooses block scales by hand)",
               (long long)weights);
    return false;
  }
  return true;
}

/* Whether the user decided this matmul's scheme: --keep-float or a
 * --layer-scheme glob. */
static bool user_chose(MlirOperation op) {
  char at[256];
  qcc_op_where(op, at, sizeof at);
  const qcc_quant_scheme *s = NULL;
  return qcc_kept_float(at, "runtime_matmul") || !qcc_layer_scheme(op, &s) || s;
}

static double db(double err) { return err > 0 ? -10.0 * log10(err) : INFINITY; }

int qcc_pass_attention_scales(MlirModule m) {
  if (!applies(m)) return 0;
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  int n_runtime = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op))
    n_runtime += qcc_layer_kind_of(op) == QCC_LAYER_RUNTIME_MATMUL && !user_chose(op);
  if (!n_runtime) return 0;
  const qcc_quant_scheme *fine = qcc_quant_find_scheme("mxint8");
  qcc_output_ref r;
  if (qcc_output_ref_init(m, 8, &r)) return -1;
  clock_t start = clock();
  int index = 0, chosen = 0, rc = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !rc && !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    qcc_layer_kind k = qcc_layer_kind_of(op);
    if (k == QCC_LAYER_NONE) continue;
    const int layer = index++;
    if (k != QCC_LAYER_RUNTIME_MATMUL || user_chose(op)) continue;
    char at[256];
    qcc_op_where(op, at, sizeof at);
    /* a grouped-query matmul whose key/value heads broadcast over the
     * query heads has no block kernel: measuring would compare static
     * int8 with the float it would fall back to */
    if (!qcc_runtime_block_matmul_fits(op)) {
      qcc_remark("attention_scales: %s keeps per-tensor static scales: mxint8 needs equal batch dims on both operands "
                 "(no broadcast heads) and no bias",
                 at);
      continue;
    }
    double err_static = 0, err_fine = 0;
    rc = qcc_layer_output_error(m, &r, layer, qcc_quant_opts.scheme, &err_static);
    if (!rc) rc = qcc_layer_output_error(m, &r, layer, fine, &err_fine);
    if (rc) break;
    const bool finer = err_static > QCC_ATTN_FLOOR && err_static > QCC_ATTN_RATIO * err_fine;
    qcc_remark("attention_scales: %s: output error %.1f dB per-tensor static, %.1f dB mxint8: %s", at, db(err_static),
               db(err_fine), finer ? "mxint8" : "static");
    if (finer) {
      MlirContext ctx = mlirOperationGetContext(op);
      mlirOperationSetAttributeByName(op, mlirStringRefCreateFromCString(qcc_scheme_attr),
                                      mlirStringAttrGet(ctx, mlirStringRefCreateFromCString(fine->name)));
      chosen++;
    }
  }
  if (!rc)
    qcc_remark("attention_scales: %d of %d run-time matmuls take mxint8 block scales (measured on %d samples, %.1f s)",
               chosen, n_runtime, r.samples, (double)(clock() - start) / CLOCKS_PER_SEC);
  qcc_output_ref_free(&r);
  return rc;
}
