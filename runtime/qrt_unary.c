#include "qrt.h"
/* qrt_unary.c - elementwise unary kernels: y[i] = f(x[i]), i < p->n.
 * The op switch is outside the loops, so simple ops vectorize.  Float ops
 * are evaluated in the tensor's own precision with the formulas below. */
#include <math.h>
#include <string.h>

/* Round half to even, as rint in the default rounding mode (a zero result
 * keeps the sign of x): below BIG = 2^(mantissa bits) x + copysign(BIG, x)
 * has no fraction bits left, so the addition rounds x to an integer, half
 * to even, and subtracting BIG back is exact; from BIG on every value is an
 * integer already. No branch and no floor, so the loop vectorizes (the
 * floor-based form with branches stayed scalar: QuantizeLinear's rounding
 * was half of an ONNX Runtime-quantized SqueezeNet's run). The same bits
 * as floor, compare and adjust (checked on every float; test_runtime_unary
 * checks ties). Needs IEEE arithmetic: not -ffast-math, which drops the
 * addition. */
#define QRT_UNARY_DEFINE_ROUND(NAME, T, BIG, FABS, COPYSIGN)   \
  static QRT_MAYBE_UNUSED inline T NAME(T x) {                 \
    const T t = COPYSIGN(BIG, x), s = (x + t) - t;             \
    const T r = FABS(x) < BIG ? s : x;                         \
    return r == (T)0 ? COPYSIGN((T)0, x) : r;                  \
  }
QRT_UNARY_DEFINE_ROUND(qrt_unary_round_f32, float, 0x1p23f, fabsf, copysignf)
QRT_UNARY_DEFINE_ROUND(qrt_unary_round_f64, double, 0x1p52, fabs, copysign)

/* The float kernels for type T; M(f) names the libm function for T
 * (expf or exp).  Numerically careful forms: sigmoid never overflows exp,
 * softplus is x + log1p(exp(-x)) for x > 0. */
#define QRT_MATH_F32(fn) fn##f
#define QRT_MATH_F64(fn) fn
/* exp: the runtime's vectorizable qrt_exp_f32 for float, libm for double. */
#define QRT_EXP_f32(v) qrt_exp_f32(v)
#define QRT_EXP_f64(v) exp(v)
/* erf and tanh likewise: qrt_erf_f32, qrt_tanh_f32 (vectorizable) for
 * float, libm for double. */
#define QRT_ERF_f32(v) qrt_erf_f32(v)
#define QRT_ERF_f64(v) erf(v)
#define QRT_TANH_f32(v) qrt_tanh_f32(v)
#define QRT_TANH_f64(v) tanh(v)
/* GELU, tanh GELU and SiLU are qrt.h's QRT_GELU_OF, QRT_GELU_TANH_OF and
 * QRT_SILU_OF over these: for float, the fused activations' qrt_gelu_f32,
 * qrt_gelu_tanh_f32 and qrt_silu_f32 (the same bits). */

#define QRT_UNARY_LOOP(EXPR) \
  for (i = 0; i < n; ++i) {  \
    const qrt_unary_elem v = x[i]; \
    y[i] = (EXPR);           \
  }                          \
  break
#define QRT_UNARY_BOOL_LOOP(EXPR) \
  for (i = 0; i < n; ++i) {       \
    const qrt_unary_elem v = x[i]; \
    yb[i] = (uint8_t)(EXPR);      \
  }                               \
  break

/* Sigmoid, SiLU, exp, erf, tanh and the GELUs on float, QRT_F32X_LANES
 * elements at a time through qrt_exp_f32x and qrt.h's forms over it: the
 * same operations as the scalar loops below, so the same bits, with
 * independent exp chains side by side (qrt.h says why).
 * Returns how many leading elements it did; the scalar loop does the rest
 * (and everything for other ops, for double, and without QRT_HAVE_F32X). */
static QRT_MAYBE_UNUSED int64_t qrt_unary_exp_blocks_f32(int32_t op, const float *x, float *y, int64_t n) {
  int64_t i = 0;
#if QRT_HAVE_F32X
  qrt_f32x v, e;
  int u;
  if (op == QRT_UNARY_EXP) {
    for (; i + QRT_F32X_LANES <= n; i += QRT_F32X_LANES) {
      memcpy(&v, x + i, sizeof v);
      qrt_exp_f32x(&e, &v);
      memcpy(y + i, &e, sizeof e);
    }
  } else if (op == QRT_UNARY_SIGMOID) {
    for (; i + QRT_F32X_LANES <= n; i += QRT_F32X_LANES) {
      qrt_f32x nv;
      memcpy(&v, x + i, sizeof v);
      QRT_F32X_EACH(u) nv.v[u] = -v.v[u];
      qrt_exp_f32x(&e, &nv);
      QRT_F32X_EACH(u) e.v[u] = 1.0f / (1.0f + e.v[u]);
      memcpy(y + i, &e, sizeof e);
    }
  } else if (op == QRT_UNARY_SILU || op == QRT_UNARY_GELU || op == QRT_UNARY_GELU_TANH || op == QRT_UNARY_ERF ||
             op == QRT_UNARY_TANH) { /* the fused activations' forms (qrt.h) */
    for (; i + QRT_F32X_LANES <= n; i += QRT_F32X_LANES) {
      memcpy(&v, x + i, sizeof v);
      switch (op) {
      case QRT_UNARY_SILU: qrt_silu_f32x(&e, &v); break;
      case QRT_UNARY_GELU: qrt_gelu_f32x(&e, &v); break;
      case QRT_UNARY_GELU_TANH: qrt_gelu_tanh_f32x(&e, &v); break;
      case QRT_UNARY_ERF: qrt_erf_f32x(&e, &v); break;
      default: qrt_tanh_f32x(&e, &v); break;
      }
      memcpy(y + i, &e, sizeof e);
    }
  }
#else
  (void)op; (void)x; (void)y; (void)n;
#endif
  return i;
}
#define QRT_EXP_BLOCKS_f32(op, x, y, n) qrt_unary_exp_blocks_f32(op, x, y, n)
#define QRT_EXP_BLOCKS_f64(op, x, y, n) 0

/* Threads take ranges of whole 64-element blocks (the vector blocks of
 * qrt_unary_exp_blocks_f32 stay where they were), at least
 * QRT_PAR_MIN_ELEMS / 4 elements a task (exp, erf, tanh per element). */
typedef struct qrt_unary_job {
  void (*serial)(const void *params, const void *const *in, void *const *out);
  const qrt_unary_params *p;
  const char *x;
  char *y;
  int64_t xes, yes;
} qrt_unary_job;

QRT_INTERNAL void qrt_unary_range(void *ctx, int64_t b, int64_t e) {
  const qrt_unary_job *j = (const qrt_unary_job *)ctx;
  qrt_unary_params q = *j->p;
  const void *in[1];
  void *out[1];
  q.n = e - b;
  in[0] = j->x + b * j->xes;
  out[0] = j->y + b * j->yes;
  j->serial(&q, in, out);
}

QRT_INTERNAL void qrt_unary_split(void (*serial)(const void *, const void *const *, void *const *),
                                  const qrt_unary_params *p, const void *x, void *y, int64_t xes, int64_t yes) {
  qrt_unary_job j;
  j.serial = serial;
  j.p = p;
  j.x = (const char *)x;
  j.y = (char *)y;
  j.xes = xes;
  j.yes = yes;
  qrt_parallel_range(p->n, 64, QRT_PAR_MIN_ELEMS / 4, qrt_unary_range, &j);
}

#define QRT_UNARY_DEFINE_FLOAT(SFX, T, M, ROUND)                                            \
  /* 1 / (1 + e^-v): e^-v overflows to +inf for very negative v, giving 0. */ \
  static QRT_MAYBE_UNUSED inline T qrt_unary_sigmoid_##SFX(T v) {                           \
    return (T)1 / ((T)1 + QRT_EXP_##SFX(-v));                                                \
  }                                                                                         \
  static QRT_MAYBE_UNUSED inline T qrt_unary_unit_##SFX(T t) { /* clamp to [0, 1] */       \
    return t < (T)0 ? (T)0 : (t > (T)1 ? (T)1 : t);                                         \
  }                                                                                         \
  static QRT_MAYBE_UNUSED inline T qrt_unary_softplus_##SFX(T v) {                          \
    return v > (T)0 ? v + M(log1p)(M(exp)(-v)) : M(log1p)(M(exp)(v));                      \
  }                                                                                         \
  QRT_INTERNAL void qrt_unary_serial_##SFX(const void *params, const void *const *in, void *const *out) { \
    typedef T qrt_unary_elem;                                                               \
    const qrt_unary_params *p = (const qrt_unary_params *)params;                           \
    const int64_t done = QRT_EXP_BLOCKS_##SFX(p->op, (const T *)in[0], (T *)out[0], p->n);  \
    const T *x = (const T *)in[0] + done;                                                   \
    T *y = (T *)out[0] + done;                                                              \
    uint8_t *yb = (uint8_t *)out[0]; /* bool results: done is 0 */                          \
    const int64_t n = p->n - done;                                                          \
    const T al = (T)p->alpha, be = (T)p->beta;                                              \
    int64_t i;                                                                              \
    switch (p->op) {                                                                        \
    case QRT_UNARY_IDENTITY: QRT_UNARY_LOOP(v);                                             \
    case QRT_UNARY_RELU: QRT_UNARY_LOOP(v < (T)0 ? (T)0 : v);                               \
    case QRT_UNARY_LEAKY_RELU: QRT_UNARY_LOOP(v < (T)0 ? al * v : v);                       \
    case QRT_UNARY_ELU: QRT_UNARY_LOOP(v < (T)0 ? al * M(expm1)(v) : v);                    \
    case QRT_UNARY_SELU: QRT_UNARY_LOOP(v <= (T)0 ? be * (al * M(expm1)(v)) : be * v);      \
    case QRT_UNARY_SIGMOID: QRT_UNARY_LOOP(qrt_unary_sigmoid_##SFX(v));                     \
    case QRT_UNARY_HARD_SIGMOID: QRT_UNARY_LOOP(qrt_unary_unit_##SFX(al * v + be));         \
    case QRT_UNARY_HARD_SWISH: {                                                            \
      const T sixth = (T)1 / (T)6;                                                          \
      QRT_UNARY_LOOP(v * qrt_unary_unit_##SFX(v * sixth + (T)0.5));                         \
    }                                                                                       \
    case QRT_UNARY_TANH: QRT_UNARY_LOOP(QRT_TANH_##SFX(v));                                        \
    case QRT_UNARY_ERF: QRT_UNARY_LOOP(QRT_ERF_##SFX(v));                                          \
    case QRT_UNARY_GELU: QRT_UNARY_LOOP(QRT_GELU_OF(T, QRT_ERF_##SFX, v));                  \
    case QRT_UNARY_GELU_TANH: QRT_UNARY_LOOP(QRT_GELU_TANH_OF(T, QRT_TANH_##SFX, v));        \
    case QRT_UNARY_SILU: QRT_UNARY_LOOP(QRT_SILU_OF(T, QRT_EXP_##SFX, v));                  \
    case QRT_UNARY_SOFTPLUS: QRT_UNARY_LOOP(qrt_unary_softplus_##SFX(v));                   \
    case QRT_UNARY_SOFTSIGN: QRT_UNARY_LOOP(v / ((T)1 + M(fabs)(v)));                       \
    case QRT_UNARY_EXP: QRT_UNARY_LOOP(QRT_EXP_##SFX(v));                                    \
    case QRT_UNARY_LOG: QRT_UNARY_LOOP(M(log)(v));                                          \
    case QRT_UNARY_SQRT: QRT_UNARY_LOOP(M(sqrt)(v));                                        \
    case QRT_UNARY_NEG: QRT_UNARY_LOOP(-v);                                                 \
    case QRT_UNARY_ABS: QRT_UNARY_LOOP(M(fabs)(v));                                         \
    case QRT_UNARY_RECIPROCAL: QRT_UNARY_LOOP((T)1 / v);                                    \
    case QRT_UNARY_CEIL: QRT_UNARY_LOOP(M(ceil)(v));                                        \
    case QRT_UNARY_FLOOR: QRT_UNARY_LOOP(M(floor)(v));                                      \
    case QRT_UNARY_ROUND: QRT_UNARY_LOOP(ROUND(v));                                         \
    case QRT_UNARY_SIGN: QRT_UNARY_LOOP(v > (T)0 ? (T)1 : (v < (T)0 ? (T)-1 : v));          \
    case QRT_UNARY_SIN: QRT_UNARY_LOOP(M(sin)(v));                                          \
    case QRT_UNARY_COS: QRT_UNARY_LOOP(M(cos)(v));                                          \
    case QRT_UNARY_TAN: QRT_UNARY_LOOP(M(tan)(v));                                          \
    case QRT_UNARY_ASIN: QRT_UNARY_LOOP(M(asin)(v));                                        \
    case QRT_UNARY_ACOS: QRT_UNARY_LOOP(M(acos)(v));                                        \
    case QRT_UNARY_ATAN: QRT_UNARY_LOOP(M(atan)(v));                                        \
    case QRT_UNARY_SINH: QRT_UNARY_LOOP(M(sinh)(v));                                        \
    case QRT_UNARY_COSH: QRT_UNARY_LOOP(M(cosh)(v));                                        \
    case QRT_UNARY_ASINH: QRT_UNARY_LOOP(M(asinh)(v));                                      \
    case QRT_UNARY_ACOSH: QRT_UNARY_LOOP(M(acosh)(v));                                      \
    case QRT_UNARY_ATANH: QRT_UNARY_LOOP(M(atanh)(v));                                      \
    case QRT_UNARY_CLIP: QRT_UNARY_LOOP(v < al ? al : (v > be ? be : v));                   \
    case QRT_UNARY_ISNAN: QRT_UNARY_BOOL_LOOP(v != v);                                      \
    case QRT_UNARY_ISINF: QRT_UNARY_BOOL_LOOP(M(fabs)(v) == (T)INFINITY);                   \
    case QRT_UNARY_ISINF_POS: QRT_UNARY_BOOL_LOOP(v == (T)INFINITY);                        \
    case QRT_UNARY_ISINF_NEG: QRT_UNARY_BOOL_LOOP(v == -(T)INFINITY);                       \
    case QRT_UNARY_MISH: QRT_UNARY_LOOP(v * QRT_TANH_##SFX(qrt_unary_softplus_##SFX(v)));          \
    case QRT_UNARY_CELU:                                                                    \
      QRT_UNARY_LOOP(v > (T)0 ? v : al * M(expm1)(v / al));                                 \
    case QRT_UNARY_THRESHOLDED_RELU: QRT_UNARY_LOOP(v > al ? v : (T)0);                     \
    case QRT_UNARY_SHRINK: QRT_UNARY_LOOP(v < -al ? v + be : (v > al ? v - be : (T)0));     \
    default: memset(out[0], 0, (size_t)(n > 0 ? n : 0) * sizeof(T)); break;                 \
    }                                                                                       \
  }                                                                                         \
  QRT_API void qrt_unary_##SFX(const void *params, const void *const *in, void *const *out) { \
    const qrt_unary_params *p = (const qrt_unary_params *)params;                           \
    const int bool_out = p->op == QRT_UNARY_ISNAN || p->op == QRT_UNARY_ISINF ||              \
                         p->op == QRT_UNARY_ISINF_POS || p->op == QRT_UNARY_ISINF_NEG;        \
    qrt_unary_split(qrt_unary_serial_##SFX, p, in[0], out[0], (int64_t)sizeof(T), bool_out ? 1 : (int64_t)sizeof(T)); \
  }

QRT_UNARY_DEFINE_FLOAT(f32, float, QRT_MATH_F32, qrt_unary_round_f32)
QRT_UNARY_DEFINE_FLOAT(f64, double, QRT_MATH_F64, qrt_unary_round_f64)

#define QRT_UNARY_ISNEG1(v) ((v) < 0)
#define QRT_UNARY_ISNEG0(v) 0

/* Integer kernels: T the type, U the unsigned type of the same width (for
 * wrapping negation), SIGNED 1 for signed types. */
#define QRT_UNARY_DEFINE_INT(SFX, T, U, SIGNED)                                             \
  QRT_API void qrt_unary_##SFX(const void *params, const void *const *in, void *const *out) { \
    typedef T qrt_unary_elem;                                                               \
    const qrt_unary_params *p = (const qrt_unary_params *)params;                           \
    const T *x = (const T *)in[0];                                                          \
    T *y = (T *)out[0];                                                                     \
    const int64_t n = p->n;                                                                 \
    int64_t i;                                                                              \
    switch (p->op) {                                                                        \
    case QRT_UNARY_IDENTITY: QRT_UNARY_LOOP(v);                                             \
    case QRT_UNARY_RELU: QRT_UNARY_LOOP(QRT_UNARY_ISNEG##SIGNED(v) ? (T)0 : v);                     \
    case QRT_UNARY_NEG: QRT_UNARY_LOOP((T)(U)(0u - (U)v));                                  \
    case QRT_UNARY_ABS: QRT_UNARY_LOOP(QRT_UNARY_ISNEG##SIGNED(v) ? (T)(U)(0u - (U)v) : v);         \
    case QRT_UNARY_SIGN: QRT_UNARY_LOOP(v > (T)0 ? (T)1 : (QRT_UNARY_ISNEG##SIGNED(v) ? (T)-1 : (T)0)); \
    case QRT_UNARY_CLIP:                                                                    \
      QRT_UNARY_LOOP((int64_t)v < p->ialpha ? (T)p->ialpha                                  \
                                            : ((int64_t)v > p->ibeta ? (T)p->ibeta : v));   \
    default: memset(out[0], 0, (size_t)(n > 0 ? n : 0) * sizeof(T)); break;                 \
    }                                                                                       \
  }

QRT_UNARY_DEFINE_INT(i32, int32_t, uint32_t, 1)
QRT_UNARY_DEFINE_INT(i64, int64_t, uint64_t, 1)
QRT_UNARY_DEFINE_INT(i8, int8_t, uint8_t, 1)
QRT_UNARY_DEFINE_INT(u8, uint8_t, uint8_t, 0)

QRT_API void qrt_unary_bool(const void *params, const void *const *in, void *const *out) {
  const qrt_unary_params *p = (const qrt_unary_params *)params;
  const uint8_t *x = (const uint8_t *)in[0];
  uint8_t *y = (uint8_t *)out[0];
  const int64_t n = p->n;
  int64_t i;
  switch (p->op) {
  case QRT_UNARY_IDENTITY:
    for (i = 0; i < n; ++i) y[i] = (uint8_t)(x[i] != 0);
    break;
  case QRT_UNARY_NOT:
    for (i = 0; i < n; ++i) y[i] = (uint8_t)(x[i] == 0);
    break;
  default:
    memset(y, 0, (size_t)(n > 0 ? n : 0));
    break;
  }
}
