/* quant_weights.h - integer codes and scales of one layer's weights in a
 * format of the runtime's table (QRT_ALL_WFORMATS): symmetric per output
 * channel, or per group of input rows with integer group multipliers. */
#ifndef QCC_QUANT_WEIGHTS_H
#define QCC_QUANT_WEIGHTS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct qcc_qweights {
  int format;              /* QRT_WFMT_* */
  int64_t channels, per;   /* output channels, inputs per channel (K) */
  int64_t group;           /* rows per group; 0: per channel */
  int8_t *codes;           /* same layout as the float weights */
  float *scales;           /* [channels] channel scale */
  uint8_t *gmult;          /* [ceil(per/group), channels], or NULL */
  int32_t *colsum;         /* [channels] sum_i gmult * code (zero-point folding) */
  double sqnr_db;          /* 10 log10(sum w^2 / sum (w - w_hat)^2) */
  bool gptq;               /* codes chosen by GPTQ (else round to nearest) */
  /* With a Hessian H (the layer input's second moment): the output SQNR
   * 10 log10(tr(W H W^T) / tr(E H E^T)), E = W - W_hat, i.e. the SQNR of
   * x W^T against x E^T over the calibration inputs, which GPTQ
   * maximizes; of the chosen codes and of the round-to-nearest ones.
   * NAN without H. */
  double output_sqnr_db, rtn_output_sqnr_db;
} qcc_qweights;

/* Weights w of `channels` output channels, each with `per` inputs: element
 * (channel c, input i) at w[i * channels + c] when column_major (a matmul's
 * B [K, N]) else w[c * per + i] (conv [c_out, ...]).  group: 0 or >= per
 * for per channel, else a multiple of 4.
 * Scales:
 *   per channel: step = r * max|w| / code_max with the clip ratio r in
 *                [0.5, 1] (steps of 0.01) that minimizes the squared
 *                rounding error (MSE-optimal clipping);
 *   grouped:     scale = max|w| / (code_max * 255); per group the integer
 *                multiplier gmult in [1, 255] that minimizes the group's
 *                squared rounding error, from the one covering the group's
 *                max down to half of it; step = scale * gmult,
 * so real weight = scale * gmult * code, and a group's step is within
 * 1/255 of the channel maximum's step of its own optimum.
 * Codes, for those fixed steps: hessian NULL: round to nearest, code =
 * clamp(round(w / step)); else GPTQ (gptq.h, default options) with the
 * hessian [per, per] of the inputs (row-major, symmetric), codes within
 * the format's range.
 * False when GPTQ could not run (message in err): *out then holds the
 * complete round-to-nearest result. */
bool qcc_quantize_weights(const float *w, int64_t channels, int64_t per, bool column_major, int format,
                          int64_t group, const double *hessian, qcc_qweights *out, char *err, size_t err_cap);
void qcc_qweights_free(qcc_qweights *q);
/* Code range of a format. */
void qcc_wformat_range(int format, int32_t *code_min, int32_t *code_max);
const char *qcc_wformat_name(int format);

/* accum_bounds.c: an integer matmul of these codes (matmul layout
 * [K, N]) with any int8 activation codes (|a| <= 128) sums exactly in
 * int32: 128 x the largest column sum of |codes| (group multipliers
 * included) fits. */
bool qcc_int8_sums_exact(const qcc_qweights *qw);

#endif
