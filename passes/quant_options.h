/* quant_options.h - options of the quantization passes, set by the driver
 * (qcc) or by qcc-opt from the same flags (qcc_quant_parse_flag). */
#ifndef QCC_QUANT_OPTIONS_H
#define QCC_QUANT_OPTIONS_H
#include "qcc.h"

/* A -q scheme: weight format (the runtime's QRT_ALL_WFORMATS; -1 for f32
 * or a block format) and activation bits (8 or 4; 0: activations stay
 * float, i.e. weight-only); or a block format (the runtime's
 * QRT_ALL_BFORMATS, else -1) for the weights and, quantized at run time,
 * the inputs of every matmul with constant weights. */
typedef struct qcc_quant_scheme {
  const char *name;
  int weight_format;
  int act_bits;
  const char *summary;
  int block_format;
} qcc_quant_scheme;

/* NULL-terminated table of the schemes -q accepts. */
extern const qcc_quant_scheme qcc_quant_schemes[];

/* The scheme the quantize pass applies: -q's, or w8a8 when -q was not
 * given (qcc-opt --quantize alone) or is f32. */
const qcc_quant_scheme *qcc_quant_active_scheme(void);
/* The scheme named `name` (-q's spellings, "f32" included); NULL if none. */
const qcc_quant_scheme *qcc_quant_find_scheme(const char *name);
/* The attribute by which the allocate pass gives one layer its own scheme
 * (a string: a scheme name, "f32" to keep it float). */
#define qcc_scheme_attr "qcc.scheme"
/* The scheme op's qcc.scheme attribute names, else the first
 * --layer-scheme whose glob matches the layer, NULL for neither; false
 * after an error for an unknown name. */
bool qcc_layer_scheme(MlirOperation op, const qcc_quant_scheme **s);
/* True when the layer op will read its input as static 8-bit codes (its
 * own scheme, else -q's). */
bool qcc_layer_reads_static_int8(MlirOperation op);
/* True when s quantizes anything (not f32). */
bool qcc_scheme_quantizes(const qcc_quant_scheme *s);

typedef enum { QCC_OBSERVER_MINMAX, QCC_OBSERVER_PERCENTILE, QCC_OBSERVER_MSE } qcc_observer_kind;

/* How integer weight codes are chosen for the fixed scales: round to
 * nearest, or GPTQ against the calibrated second moment of the layer's
 * input (matmuls with constant weights; convs always round to nearest). */
typedef enum { QCC_WEIGHT_RTN, QCC_WEIGHT_GPTQ } qcc_weight_quant;

typedef struct qcc_quant_options {
  const char *calib_path;          /* --calib */
  const qcc_quant_scheme *scheme;  /* -q (NULL: not given) */
  int64_t group_size;              /* --group-size (int4 weights); 0: default 128 */
  bool act_per_token;              /* --act-scale token (else static) */
  bool attention_measure;          /* --attention-scales measure (default) / static (attention_scales.c) */
  qcc_observer_kind observer;      /* --observer */
  double percentile;               /* --observer percentile:P (default 99.99) */
  qcc_weight_quant weight_quant;   /* --weight-quant (default rtn) */
  bool integer_only;               /* --integer-only: softmax, norms, functions in int8 */
  int softmax_bits;                /* --softmax-format dbfpM: M (0: float softmax) */
  /* --keep-float: globs on the ONNX node name or the op (conv, matmul);
   * matching layers stay float. */
  const char *keep_float[32];
  int n_keep_float;
  /* --layer-scheme GLOB=SCHEME,...: layers matching GLOB (node name or
   * kind, as --keep-float; kind runtime_matmul: both operands computed at
   * run time, attention) get SCHEME instead of -q's; the first match wins */
  const char *layer_glob[32];
  const qcc_quant_scheme *layer_scheme[32];
  int n_layer_schemes;
  /* -q auto: mixed precision (sensitivity + allocate passes) */
  bool allocate;
  double avg_bits;                         /* --avg-bits (0: not given) */
  int64_t max_bytes;                       /* --max-bytes (0: not given) */
  double max_latency_us;                   /* --max-latency-us, modeled (0: not given) */
  const qcc_quant_scheme *formats[32];     /* --formats: the candidates */
  int n_formats;
  int sensitivity_samples;                 /* --sensitivity-samples (0: 8) */
  bool sensitivity_kl;                     /* --sensitivity-metric kl (else mse) */
  bool sensitivity_hessian;                /* --sensitivity-metric hessian: the proxy (sensitivity_proxy.c) */
  bool sensitivity_metric_set;             /* --sensitivity-metric was given */
} qcc_quant_options;

extern qcc_quant_options qcc_quant_opts;

/* Consumes the quantization flag at argv[*i] (with its value, as "--flag V"
 * or "--flag=V"): 1 if it was one, 0 if not, -1 after an error message. */
int qcc_quant_parse_flag(int argc, char **argv, int *i);
/* The flags' help text, for the drivers' usage. */
extern const char qcc_quant_flags_help[];
/* True when -q asks for quantization (not f32). */
bool qcc_quantizing(void);
/* True when the calibrate pass is needed: the scheme quantizes activations,
 * or --weight-quant gptq needs the layers' input second moments. */
bool qcc_quant_needs_calibration(void);

/* Calibrated range of v (attributes written by the calibrate pass). */
bool qcc_value_range(MlirValue v, double *lo, double *hi);

/* The observer's (--observer) clip of a histogram of observed values, as
 * calibrate and MSQ (per modality) choose it: into *lo, *hi for codes of
 * -q's activation bits (percentile or MSE), and into *lo8, *hi8 the MSE
 * range for 8-bit codes when those bits are not 8 (w4a4's int8 outputs
 * and attention operands); outputs it does not choose are left as they
 * are (minmax: all four). */
struct qcc_histogram;
void qcc_observer_clip(const struct qcc_histogram *h, double *lo, double *hi, double *lo8, double *hi8);

#endif
