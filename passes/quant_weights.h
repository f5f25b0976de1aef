/* quant_weights.h - integer codes and scales of one layer's weights in a
 * format of the runtime's table (QRT_ALL_WFORMATS): symmetric per output
 * channel, or per group of input rows with integer group multipliers. */
#ifndef QCC_QUANT_WEIGHTS_H
#define QCC_QUANT_WEIGHTS_H
#include <stdbool.h>
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
} qcc_qweights;

/* Weights w of `channels` output channels, each with `per` inputs: element
 * (channel c, input i) at w[i * channels + c] when column_major (a matmul's
 * B [K, N]) else w[c * per + i] (conv [c_out, ...]).  group: 0 or >= per
 * for per channel, else a multiple of 4.
 *   per channel: step = r * max|w| / code_max with the clip ratio r in
 *                [0.5, 1] (steps of 0.01) that minimizes the squared
 *                rounding error (MSE-optimal clipping), code =
 *                clamp(round(w / step));
 *   grouped:     scale = max|w| / (code_max * 255); per group the integer
 *                multiplier gmult in [1, 255] that minimizes the group's
 *                squared error, from the one covering the group's max down
 *                to half of it; code = clamp(round(w / (scale * gmult))),
 * so real weight = scale * gmult * code, and a group's step is within
 * 1/255 of the channel maximum's step of its own optimum. */
void qcc_quantize_weights(const float *w, int64_t channels, int64_t per, bool column_major, int format,
                          int64_t group, qcc_qweights *out);
void qcc_qweights_free(qcc_qweights *q);
/* Code range of a format. */
void qcc_wformat_range(int format, int32_t *code_min, int32_t *code_max);
const char *qcc_wformat_name(int format);

#endif
