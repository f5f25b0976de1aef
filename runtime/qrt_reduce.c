#include "qrt.h"
/* qrt_reduce.c - reductions over any set of axes.
 * Each output element is init, then acc = op(acc, f(x)) for its reduced
 * elements in row-major order of the reduced dims (sequential, the same
 * order whatever the layout), then a final map (mean: /count, l2: sqrt,
 * log_sum: log).  Implementation: adjacent dims with the same reduced flag
 * are merged, size-1 dims dropped; the input is then walked once in memory
 * order, accumulating into the output (so reductions over outer dims
 * vectorize across the kept inner dims).  LOG_SUM_EXP takes a first pass
 * for the max m, then log(sum exp(x - m)) + m per output element. */
#include <math.h>
#include <string.h>

typedef struct qrt_reduce_view {
  int r;              /* merged rank (>= 1) */
  int64_t shape[8];
  int red[8];         /* reduced flag per merged dim */
  int64_t ostride[8]; /* output element stride per merged dim (0 if reduced) */
  int64_t total;      /* input elements */
  int64_t out_total;  /* output elements */
  int64_t count;      /* reduced elements per output */
} qrt_reduce_view;

QRT_INTERNAL void qrt_reduce_make_view(const qrt_reduce_params *p, qrt_reduce_view *v) {
  int k, rank = p->rank < 0 ? 0 : (p->rank > 8 ? 8 : p->rank);
  int64_t os = 1;
  v->r = 0;
  v->total = 1;
  v->out_total = 1;
  v->count = 1;
  for (k = 0; k < rank; ++k) {
    const int64_t d = p->in_shape[k];
    const int red = p->reduced[k] != 0;
    v->total *= d;
    if (red) v->count *= d;
    else v->out_total *= d;
    if (d == 1) continue;
    if (v->r > 0 && v->red[v->r - 1] == red) {
      v->shape[v->r - 1] *= d;
      continue;
    }
    v->shape[v->r] = d;
    v->red[v->r] = red;
    ++v->r;
  }
  if (v->r == 0) { v->shape[0] = 1; v->red[0] = 0; v->r = 1; }
  for (k = v->r - 1; k >= 0; --k) {
    v->ostride[k] = v->red[k] ? 0 : os;
    if (!v->red[k]) os *= v->shape[k];
  }
}

/* Walk the input in memory order: ACCUM(acc_lvalue, x) per element;
 * T the output type, x the input pointer. */
#define QRT_REDUCE_WALK(T, ACCUM)                                                      \
  do {                                                                                 \
    int64_t idx_[8], oo_ = 0, i_, row_, rows_;                                         \
    const int64_t n_ = v.shape[v.r - 1], os_ = v.ostride[v.r - 1];                     \
    const T *xp_ = x;                                                                  \
    int k_;                                                                            \
    for (k_ = 0; k_ < v.r; ++k_) idx_[k_] = 0;                                         \
    rows_ = v.total / n_;                                                              \
    for (row_ = 0; row_ < rows_; ++row_, xp_ += n_) {                                  \
      T *yo_ = y + oo_;                                                                \
      if (os_ == 0) {                                                                  \
        T acc_ = yo_[0];                                                               \
        for (i_ = 0; i_ < n_; ++i_) ACCUM(acc_, xp_[i_]);                              \
        yo_[0] = acc_;                                                                 \
      } else {                                                                         \
        for (i_ = 0; i_ < n_; ++i_) ACCUM(yo_[i_], xp_[i_]);                           \
      }                                                                                \
      for (k_ = v.r - 2; k_ >= 0; --k_) {                                              \
        oo_ += v.ostride[k_];                                                          \
        if (++idx_[k_] < v.shape[k_]) break;                                           \
        oo_ -= v.ostride[k_] * v.shape[k_];                                            \
        idx_[k_] = 0;                                                                  \
      }                                                                                \
    }                                                                                  \
  } while (0)

#define QRT_REDUCE_ADD(a, t) (a) = (a) + (t)
#define QRT_REDUCE_ADD_ABS_f32(a, t) (a) = (a) + fabsf(t)
#define QRT_REDUCE_ADD_ABS_f64(a, t) (a) = (a) + fabs(t)
#define QRT_REDUCE_ADD_SQ(a, t) (a) = (a) + (t) * (t)
#define QRT_REDUCE_MUL(a, t) (a) = (a) * (t)
#define QRT_REDUCE_FMAX(a, t) (a) = ((t) > (a) || (t) != (t)) ? (t) : (a)
#define QRT_REDUCE_FMIN(a, t) (a) = ((t) < (a) || (t) != (t)) ? (t) : (a)

/* The float kernels, f32 and f64 (SQRT, LOG, EXP: the libm / qrt
 * functions of that precision). */
#define QRT_REDUCE_DEFINE_FLOAT(SFX, T, SQRT, LOG, EXP)                                  \
  QRT_INTERNAL void qrt_reduce_fill_##SFX(T *y, int64_t n, T v) {                       \
    int64_t i;                                                                          \
    for (i = 0; i < n; ++i) y[i] = v;                                                   \
  }                                                                                     \
                                                                                        \
  QRT_API void qrt_reduce_##SFX(const void *params, const void *const *in, void *const *out) { \
    const qrt_reduce_params *p = (const qrt_reduce_params *)params;                     \
    const T *x = (const T *)in[0];                                                      \
    T *y = (T *)out[0];                                                                 \
    qrt_reduce_view v;                                                                  \
    int64_t i;                                                                          \
    qrt_reduce_make_view(p, &v);                                                        \
    if (v.out_total <= 0) return;                                                       \
    switch (p->op) {                                                                    \
    case QRT_REDUCE_MAX: qrt_reduce_fill_##SFX(y, v.out_total, (T)-INFINITY); break;    \
    case QRT_REDUCE_MIN: qrt_reduce_fill_##SFX(y, v.out_total, (T)INFINITY); break;     \
    case QRT_REDUCE_PROD: qrt_reduce_fill_##SFX(y, v.out_total, (T)1); break;           \
    case QRT_REDUCE_LOG_SUM_EXP: qrt_reduce_fill_##SFX(y, v.out_total, (T)-INFINITY); break; \
    default: qrt_reduce_fill_##SFX(y, v.out_total, (T)0); break;                        \
    }                                                                                   \
    if (v.total <= 0) {                                                                 \
      if (p->op == QRT_REDUCE_MEAN) qrt_reduce_fill_##SFX(y, v.out_total, (T)NAN);      \
      if (p->op == QRT_REDUCE_LOG_SUM) qrt_reduce_fill_##SFX(y, v.out_total, (T)-INFINITY); \
      return;                                                                           \
    }                                                                                   \
    switch (p->op) {                                                                    \
    case QRT_REDUCE_SUM: QRT_REDUCE_WALK(T, QRT_REDUCE_ADD); break;                     \
    case QRT_REDUCE_MEAN:                                                               \
      QRT_REDUCE_WALK(T, QRT_REDUCE_ADD);                                               \
      for (i = 0; i < v.out_total; ++i) y[i] = y[i] / (T)v.count;                       \
      break;                                                                            \
    case QRT_REDUCE_MAX: QRT_REDUCE_WALK(T, QRT_REDUCE_FMAX); break;                    \
    case QRT_REDUCE_MIN: QRT_REDUCE_WALK(T, QRT_REDUCE_FMIN); break;                    \
    case QRT_REDUCE_PROD: QRT_REDUCE_WALK(T, QRT_REDUCE_MUL); break;                    \
    case QRT_REDUCE_L1: QRT_REDUCE_WALK(T, QRT_REDUCE_ADD_ABS_##SFX); break;            \
    case QRT_REDUCE_L2:                                                                 \
      QRT_REDUCE_WALK(T, QRT_REDUCE_ADD_SQ);                                            \
      for (i = 0; i < v.out_total; ++i) y[i] = SQRT(y[i]);                              \
      break;                                                                            \
    case QRT_REDUCE_SUM_SQUARE: QRT_REDUCE_WALK(T, QRT_REDUCE_ADD_SQ); break;           \
    case QRT_REDUCE_LOG_SUM:                                                            \
      QRT_REDUCE_WALK(T, QRT_REDUCE_ADD);                                               \
      for (i = 0; i < v.out_total; ++i) y[i] = LOG(y[i]);                               \
      break;                                                                            \
    case QRT_REDUCE_LOG_SUM_EXP: {                                                      \
      /* y holds the max m; the sums go through the same walk per output               \
       * element, gathering its reduced elements in row-major order. */                 \
      int64_t oidx[8], ridx[8], o;                                                      \
      int64_t instr[8];                                                                 \
      int k;                                                                            \
      instr[v.r - 1] = 1;                                                               \
      for (k = v.r - 2; k >= 0; --k) instr[k] = instr[k + 1] * v.shape[k + 1];          \
      QRT_REDUCE_WALK(T, QRT_REDUCE_FMAX);                                              \
      for (k = 0; k < v.r; ++k) oidx[k] = 0;                                            \
      for (o = 0; o < v.out_total; ++o) {                                               \
        const T m = y[o];                                                               \
        int64_t base = 0, c;                                                            \
        T s = (T)0;                                                                     \
        for (k = 0; k < v.r; ++k) {                                                     \
          if (!v.red[k]) base += oidx[k] * instr[k];                                    \
          ridx[k] = 0;                                                                  \
        }                                                                               \
        if (m == (T)INFINITY || m == (T)-INFINITY || m != m) {                          \
          /* all -inf: -inf; any +inf: +inf; NaN: NaN */                               \
        } else {                                                                        \
          int64_t off = base;                                                           \
          for (c = 0; c < v.count; ++c) {                                               \
            s = s + EXP(x[off] - m);                                                    \
            for (k = v.r - 1; k >= 0; --k) {                                            \
              if (!v.red[k]) continue;                                                  \
              off += instr[k];                                                          \
              if (++ridx[k] < v.shape[k]) break;                                        \
              off -= instr[k] * v.shape[k];                                             \
              ridx[k] = 0;                                                              \
            }                                                                           \
          }                                                                             \
          y[o] = LOG(s) + m;                                                            \
        }                                                                               \
        for (k = v.r - 1; k >= 0; --k) {                                                \
          if (v.red[k]) continue;                                                       \
          if (++oidx[k] < v.shape[k]) break;                                            \
          oidx[k] = 0;                                                                  \
        }                                                                               \
      }                                                                                 \
      break;                                                                            \
    }                                                                                   \
    default: break;                                                                     \
    }                                                                                   \
  }

QRT_REDUCE_DEFINE_FLOAT(f32, float, sqrtf, logf, qrt_exp_f32)
QRT_REDUCE_DEFINE_FLOAT(f64, double, sqrt, log, exp)

/* Integer reductions: SUM MAX MIN PROD, wrapping arithmetic in U. */
#define QRT_REDUCE_DEFINE_INT(SFX, T, U, MINV, MAXV)                                    \
  QRT_API void qrt_reduce_##SFX(const void *params, const void *const *in, void *const *out) { \
    const qrt_reduce_params *p = (const qrt_reduce_params *)params;                     \
    const T *x = (const T *)in[0];                                                      \
    T *y = (T *)out[0];                                                                 \
    qrt_reduce_view v;                                                                  \
    int64_t i;                                                                          \
    T init = 0;                                                                         \
    qrt_reduce_make_view(p, &v);                                                        \
    if (v.out_total <= 0) return;                                                       \
    switch (p->op) {                                                                    \
    case QRT_REDUCE_MAX: init = MINV; break;                                            \
    case QRT_REDUCE_MIN: init = MAXV; break;                                            \
    case QRT_REDUCE_PROD: init = 1; break;                                              \
    default: break;                                                                     \
    }                                                                                   \
    for (i = 0; i < v.out_total; ++i) y[i] = init;                                      \
    if (v.total <= 0) return;                                                           \
    switch (p->op) {                                                                    \
    case QRT_REDUCE_SUM: QRT_REDUCE_WALK(T, QRT_REDUCE_IADD_##SFX); break;              \
    case QRT_REDUCE_MAX: QRT_REDUCE_WALK(T, QRT_REDUCE_IMAX); break;                    \
    case QRT_REDUCE_MIN: QRT_REDUCE_WALK(T, QRT_REDUCE_IMIN); break;                    \
    case QRT_REDUCE_PROD: QRT_REDUCE_WALK(T, QRT_REDUCE_IMUL_##SFX); break;             \
    default: break;                                                                     \
    }                                                                                   \
  }
#define QRT_REDUCE_IMAX(a, t) (a) = (t) > (a) ? (t) : (a)
#define QRT_REDUCE_IMIN(a, t) (a) = (t) < (a) ? (t) : (a)
#define QRT_REDUCE_IADD_i32(a, t) (a) = (int32_t)((uint32_t)(a) + (uint32_t)(t))
#define QRT_REDUCE_IMUL_i32(a, t) (a) = (int32_t)((uint32_t)(a) * (uint32_t)(t))
#define QRT_REDUCE_IADD_i64(a, t) (a) = (int64_t)((uint64_t)(a) + (uint64_t)(t))
#define QRT_REDUCE_IMUL_i64(a, t) (a) = (int64_t)((uint64_t)(a) * (uint64_t)(t))

QRT_REDUCE_DEFINE_INT(i32, int32_t, uint32_t, INT32_MIN, INT32_MAX)
QRT_REDUCE_DEFINE_INT(i64, int64_t, uint64_t, INT64_MIN, INT64_MAX)
