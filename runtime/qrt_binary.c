#include "qrt.h"
/* qrt_binary.c - elementwise binary ops with numpy broadcasting.
 *
 * The broadcast walk is qrt_broadcast.c's (qrt_bin_drive): it calls a row
 * function for each innermost run.  Row functions have fast loops for the
 * common stride pairs (1,1), (1,0), (0,1). */
#include <math.h>
#include <string.h>

/* Blocks of 16 elements with a fixed count: loops whose result type is
 * narrower than the operands' (comparisons: int64 -> bool, as AIFS's mask
 * condition against one broadcast value) are vectorized at -O2 only in
 * this form; the tail goes element by element. */
#define QRT_BIN_BLOCKS(BODY)                                                              \
  for (i = 0; i + 16 <= n; i += 16) {                                                     \
    int t;                                                                                \
    for (t = 0; t < 16; ++t) { BODY; }                                                    \
  }

#define QRT_BIN_ROW(NAME, T, TO, EXPR)                                                    \
  QRT_INTERNAL void NAME(int64_t n, const void *va, int64_t sa, const void *vb, int64_t sb, \
                         void *vy, const void *ctx) {                                     \
    const T *pa = (const T *)va;                                                          \
    const T *pb = (const T *)vb;                                                          \
    TO *py = (TO *)vy;                                                                    \
    int64_t i;                                                                            \
    (void)ctx;                                                                            \
    if (sa == 1 && sb == 1) {                                                             \
      for (i = 0; i < n; ++i) {                                                           \
        const T a = pa[i], b = pb[i];                                                     \
        py[i] = (TO)(EXPR);                                                               \
      }                                                                                   \
    } else if (sa == 1 && sb == 0) {                                                      \
      const T b = pb[0];                                                                  \
      QRT_BIN_BLOCKS(const T a = pa[i + t]; py[i + t] = (TO)(EXPR));                       \
      for (; i < n; ++i) {                                                                \
        const T a = pa[i];                                                                \
        py[i] = (TO)(EXPR);                                                               \
      }                                                                                   \
    } else if (sa == 0 && sb == 1) {                                                      \
      const T a = pa[0];                                                                  \
      QRT_BIN_BLOCKS(const T b = pb[i + t]; py[i + t] = (TO)(EXPR));                       \
      for (; i < n; ++i) {                                                                \
        const T b = pb[i];                                                                \
        py[i] = (TO)(EXPR);                                                               \
      }                                                                                   \
    } else {                                                                              \
      for (i = 0; i < n; ++i) {                                                           \
        const T a = pa[i * sa], b = pb[i * sb];                                           \
        py[i] = (TO)(EXPR);                                                               \
      }                                                                                   \
    }                                                                                     \
  }

/* ---- float kernels ---------------------------------------------------- */
#define QRT_BIN_MATH_F32(fn) fn##f
#define QRT_BIN_MATH_F64(fn) fn

#define QRT_BIN_DEFINE_FLOAT(SFX, T, M)                                                     \
  static QRT_MAYBE_UNUSED inline T qrt_bin_pymod_##SFX(T a, T b) {                          \
    T r = M(fmod)(a, b);                                                                    \
    if (r != (T)0 && ((r < (T)0) != (b < (T)0))) r = r + b;                                 \
    return r;                                                                               \
  }                                                                                         \
  QRT_BIN_ROW(qrt_bin_add_##SFX, T, T, a + b)                                               \
  QRT_BIN_ROW(qrt_bin_sub_##SFX, T, T, a - b)                                               \
  QRT_BIN_ROW(qrt_bin_mul_##SFX, T, T, a * b)                                               \
  QRT_BIN_ROW(qrt_bin_div_##SFX, T, T, a / b)                                               \
  QRT_BIN_ROW(qrt_bin_pow_##SFX, T, T, M(pow)(a, b))                                        \
  QRT_BIN_ROW(qrt_bin_max_##SFX, T, T, (a > b || a != a) ? a : b)                           \
  QRT_BIN_ROW(qrt_bin_min_##SFX, T, T, (a < b || a != a) ? a : b)                           \
  QRT_BIN_ROW(qrt_bin_mod_##SFX, T, T, qrt_bin_pymod_##SFX(a, b))                           \
  QRT_BIN_ROW(qrt_bin_fmod_##SFX, T, T, M(fmod)(a, b))                                      \
  QRT_BIN_ROW(qrt_bin_prelu_##SFX, T, T, a < (T)0 ? a * b : a)                              \
  QRT_BIN_ROW(qrt_bin_eq_##SFX, T, uint8_t, a == b)                                         \
  QRT_BIN_ROW(qrt_bin_lt_##SFX, T, uint8_t, a < b)                                          \
  QRT_BIN_ROW(qrt_bin_gt_##SFX, T, uint8_t, a > b)                                          \
  QRT_BIN_ROW(qrt_bin_le_##SFX, T, uint8_t, a <= b)                                         \
  QRT_BIN_ROW(qrt_bin_ge_##SFX, T, uint8_t, a >= b)                                         \
  QRT_API void qrt_binary_##SFX(const void *params, const void *const *in, void *const *out) { \
    const qrt_binary_params *p = (const qrt_binary_params *)params;                         \
    qrt_bin_row_fn fn = NULL;                                                               \
    int64_t yes = (int64_t)sizeof(T);                                                       \
    switch (p->op) {                                                                        \
    case QRT_BINARY_ADD: fn = qrt_bin_add_##SFX; break;                                     \
    case QRT_BINARY_SUB: fn = qrt_bin_sub_##SFX; break;                                     \
    case QRT_BINARY_MUL: fn = qrt_bin_mul_##SFX; break;                                     \
    case QRT_BINARY_DIV: fn = qrt_bin_div_##SFX; break;                                     \
    case QRT_BINARY_POW: fn = qrt_bin_pow_##SFX; break;                                     \
    case QRT_BINARY_MAX: fn = qrt_bin_max_##SFX; break;                                     \
    case QRT_BINARY_MIN: fn = qrt_bin_min_##SFX; break;                                     \
    case QRT_BINARY_MOD: fn = qrt_bin_mod_##SFX; break;                                     \
    case QRT_BINARY_FMOD: fn = qrt_bin_fmod_##SFX; break;                                   \
    case QRT_BINARY_PRELU: fn = qrt_bin_prelu_##SFX; break;                                 \
    case QRT_BINARY_EQUAL: fn = qrt_bin_eq_##SFX; yes = 1; break;                           \
    case QRT_BINARY_LESS: fn = qrt_bin_lt_##SFX; yes = 1; break;                            \
    case QRT_BINARY_GREATER: fn = qrt_bin_gt_##SFX; yes = 1; break;                         \
    case QRT_BINARY_LESS_EQUAL: fn = qrt_bin_le_##SFX; yes = 1; break;                      \
    case QRT_BINARY_GREATER_EQUAL: fn = qrt_bin_ge_##SFX; yes = 1; break;                   \
    default: break;                                                                         \
    }                                                                                       \
    qrt_bin_drive(p, in[0], in[1], out[0], fn, (int64_t)sizeof(T), yes, NULL);              \
  }

QRT_BIN_DEFINE_FLOAT(f32, float, QRT_BIN_MATH_F32)
QRT_BIN_DEFINE_FLOAT(f64, double, QRT_BIN_MATH_F64)

/* Float results as int8 codes (qrt_binary_f32_i8): each run of the
 * broadcast walk goes through QRT_BIN_Q_CHUNK floats on the stack, made by
 * the float op's own row function, then quantized; every element alone,
 * so any cut of the runs gives the bits of the float op then
 * qrt_quantize_f32_i8. */
#define QRT_BIN_Q_CHUNK 1024
typedef struct qrt_bin_q_ctx {
  qrt_bin_row_fn fn;
  const qrt_binary_q_params *q;
} qrt_bin_q_ctx;

QRT_INTERNAL void qrt_bin_q_row(int64_t n, const void *va, int64_t sa, const void *vb, int64_t sb, void *vy,
                                const void *ctx) {
  const qrt_bin_q_ctx *c = (const qrt_bin_q_ctx *)ctx;
  float buf[QRT_BIN_Q_CHUNK];
  int64_t i, m;
  for (i = 0; i < n; i += m) {
    m = n - i < QRT_BIN_Q_CHUNK ? n - i : QRT_BIN_Q_CHUNK;
    c->fn(m, (const float *)va + i * sa, sa, (const float *)vb + i * sb, sb, buf, NULL);
    qrt_quantize_row_f32_i8(m, buf, c->q->inv_scale, c->q->zero_point, c->q->qmin, c->q->qmax, (int8_t *)vy + i);
  }
}

QRT_API void qrt_binary_f32_i8(const void *params, const void *const *in, void *const *out) {
  const qrt_binary_q_params *p = (const qrt_binary_q_params *)params;
  qrt_binary_params bp; /* the walk's fields */
  qrt_bin_q_ctx c;
  bp.op = p->op;
  bp.rank = p->rank;
  memcpy(bp.out_shape, p->out_shape, sizeof bp.out_shape);
  memcpy(bp.a_strides, p->a_strides, sizeof bp.a_strides);
  memcpy(bp.b_strides, p->b_strides, sizeof bp.b_strides);
  c.q = p;
  c.fn = p->op == QRT_BINARY_ADD ? qrt_bin_add_f32
         : p->op == QRT_BINARY_SUB ? qrt_bin_sub_f32
         : p->op == QRT_BINARY_MUL ? qrt_bin_mul_f32 : NULL;
  qrt_bin_drive(&bp, in[0], in[1], out[0], c.fn ? qrt_bin_q_row : NULL, (int64_t)sizeof(float), 1, &c);
}

/* ---- integer kernels -------------------------------------------------- */
/* T the type, U an unsigned type of the same width (at least int's width:
 * wider for 16-bit types, results are narrowed back modulo 2^BITS), SIGNED 1 or 0,
 * BITS its width, MINV its minimum. */
#define QRT_BIN_ISNEG1(v) ((v) < 0)
#define QRT_BIN_ISNEG0(v) 0

#define QRT_BIN_DEFINE_INT(SFX, T, U, SIGNED, BITS)                                         \
  static QRT_MAYBE_UNUSED inline T qrt_bin_idiv_##SFX(T a, T b) {                           \
    if (b == 0) return 0;                                                                   \
    if (QRT_BIN_ISNEG##SIGNED(b) && b == (T)-1) return (T)(U)(0u - (U)a);                   \
    return (T)(a / b);                                                                      \
  }                                                                                         \
  static QRT_MAYBE_UNUSED inline T qrt_bin_irem_##SFX(T a, T b) { /* C %, sign of a */      \
    if (b == 0) return 0;                                                                   \
    if (QRT_BIN_ISNEG##SIGNED(b) && b == (T)-1) return 0;                                   \
    return (T)(a % b);                                                                      \
  }                                                                                         \
  static QRT_MAYBE_UNUSED inline T qrt_bin_imod_##SFX(T a, T b) { /* sign of b */           \
    T r = qrt_bin_irem_##SFX(a, b);                                                         \
    if (r != 0 && (QRT_BIN_ISNEG##SIGNED(r) != QRT_BIN_ISNEG##SIGNED(b)))                   \
      r = (T)(U)((U)r + (U)b);                                                              \
    return r;                                                                               \
  }                                                                                         \
  static QRT_MAYBE_UNUSED inline T qrt_bin_ipow_##SFX(T a, T b) {                           \
    U r = 1, base = (U)a;                                                                   \
    T e = b;                                                                                \
    if (QRT_BIN_ISNEG##SIGNED(e)) {                                                         \
      if (a == 1) return 1;                                                                 \
      if (QRT_BIN_ISNEG##SIGNED(a) && a == (T)-1) return (T)((e & 1) ? -1 : 1);             \
      return 0;                                                                             \
    }                                                                                       \
    while (e != 0) {                                                                        \
      if (e & 1) r = (U)(r * base);                                                         \
      base = (U)(base * base);                                                              \
      e = (T)(e >> 1);                                                                      \
    }                                                                                       \
    return (T)r;                                                                            \
  }                                                                                         \
  static QRT_MAYBE_UNUSED inline T qrt_bin_ishl_##SFX(T a, T b) {                            \
    if (QRT_BIN_ISNEG##SIGNED(b) || b >= BITS) return 0;                                    \
    return (T)(U)((U)a << b);                                                               \
  }                                                                                         \
  static QRT_MAYBE_UNUSED inline T qrt_bin_ishr_##SFX(T a, T b) {                            \
    if (QRT_BIN_ISNEG##SIGNED(b) || b >= BITS) return 0;                                    \
    return (T)(a >> b);                                                                     \
  }                                                                                         \
  QRT_BIN_ROW(qrt_bin_add_##SFX, T, T, (U)((U)a + (U)b))                                    \
  QRT_BIN_ROW(qrt_bin_sub_##SFX, T, T, (U)((U)a - (U)b))                                    \
  QRT_BIN_ROW(qrt_bin_mul_##SFX, T, T, (U)((U)a * (U)b))                                    \
  QRT_BIN_ROW(qrt_bin_div_##SFX, T, T, qrt_bin_idiv_##SFX(a, b))                            \
  QRT_BIN_ROW(qrt_bin_pow_##SFX, T, T, qrt_bin_ipow_##SFX(a, b))                            \
  QRT_BIN_ROW(qrt_bin_max_##SFX, T, T, a > b ? a : b)                                       \
  QRT_BIN_ROW(qrt_bin_min_##SFX, T, T, a < b ? a : b)                                       \
  QRT_BIN_ROW(qrt_bin_mod_##SFX, T, T, qrt_bin_imod_##SFX(a, b))                            \
  QRT_BIN_ROW(qrt_bin_fmod_##SFX, T, T, qrt_bin_irem_##SFX(a, b))                           \
  QRT_BIN_ROW(qrt_bin_eq_##SFX, T, uint8_t, a == b)                                         \
  QRT_BIN_ROW(qrt_bin_lt_##SFX, T, uint8_t, a < b)                                          \
  QRT_BIN_ROW(qrt_bin_gt_##SFX, T, uint8_t, a > b)                                          \
  QRT_BIN_ROW(qrt_bin_le_##SFX, T, uint8_t, a <= b)                                         \
  QRT_BIN_ROW(qrt_bin_ge_##SFX, T, uint8_t, a >= b)                                         \
  QRT_BIN_ROW(qrt_bin_band_##SFX, T, T, a & b)                                              \
  QRT_BIN_ROW(qrt_bin_bor_##SFX, T, T, a | b)                                               \
  QRT_BIN_ROW(qrt_bin_bxor_##SFX, T, T, a ^ b)                                              \
  QRT_BIN_ROW(qrt_bin_shl_##SFX, T, T, qrt_bin_ishl_##SFX(a, b))                             \
  QRT_BIN_ROW(qrt_bin_shr_##SFX, T, T, qrt_bin_ishr_##SFX(a, b))                             \
  QRT_API void qrt_binary_##SFX(const void *params, const void *const *in, void *const *out) { \
    const qrt_binary_params *p = (const qrt_binary_params *)params;                         \
    qrt_bin_row_fn fn = NULL;                                                               \
    int64_t yes = (int64_t)sizeof(T);                                                       \
    switch (p->op) {                                                                        \
    case QRT_BINARY_ADD: fn = qrt_bin_add_##SFX; break;                                     \
    case QRT_BINARY_SUB: fn = qrt_bin_sub_##SFX; break;                                     \
    case QRT_BINARY_MUL: fn = qrt_bin_mul_##SFX; break;                                     \
    case QRT_BINARY_DIV: fn = qrt_bin_div_##SFX; break;                                     \
    case QRT_BINARY_POW: fn = qrt_bin_pow_##SFX; break;                                     \
    case QRT_BINARY_MAX: fn = qrt_bin_max_##SFX; break;                                     \
    case QRT_BINARY_MIN: fn = qrt_bin_min_##SFX; break;                                     \
    case QRT_BINARY_MOD: fn = qrt_bin_mod_##SFX; break;                                     \
    case QRT_BINARY_FMOD: fn = qrt_bin_fmod_##SFX; break;                                   \
    case QRT_BINARY_EQUAL: fn = qrt_bin_eq_##SFX; yes = 1; break;                           \
    case QRT_BINARY_LESS: fn = qrt_bin_lt_##SFX; yes = 1; break;                            \
    case QRT_BINARY_GREATER: fn = qrt_bin_gt_##SFX; yes = 1; break;                         \
    case QRT_BINARY_LESS_EQUAL: fn = qrt_bin_le_##SFX; yes = 1; break;                      \
    case QRT_BINARY_GREATER_EQUAL: fn = qrt_bin_ge_##SFX; yes = 1; break;                   \
    case QRT_BINARY_BITAND: fn = qrt_bin_band_##SFX; break;                                 \
    case QRT_BINARY_BITOR: fn = qrt_bin_bor_##SFX; break;                                   \
    case QRT_BINARY_BITXOR: fn = qrt_bin_bxor_##SFX; break;                                 \
    case QRT_BINARY_SHL: fn = qrt_bin_shl_##SFX; break;                                     \
    case QRT_BINARY_SHR: fn = qrt_bin_shr_##SFX; break;                                     \
    default: break;                                                                         \
    }                                                                                       \
    qrt_bin_drive(p, in[0], in[1], out[0], fn, (int64_t)sizeof(T), yes, NULL);              \
  }

QRT_BIN_DEFINE_INT(i32, int32_t, uint32_t, 1, 32)
QRT_BIN_DEFINE_INT(i64, int64_t, uint64_t, 1, 64)
QRT_BIN_DEFINE_INT(i8, int8_t, uint8_t, 1, 8)
QRT_BIN_DEFINE_INT(u8, uint8_t, uint8_t, 0, 8)
/* 16-bit types compute in uint32_t: uint16_t operands would promote to
 * (signed) int, where a product can overflow. */
QRT_BIN_DEFINE_INT(i16, int16_t, uint32_t, 1, 16)
QRT_BIN_DEFINE_INT(u16, uint16_t, uint32_t, 0, 16)
QRT_BIN_DEFINE_INT(u32, uint32_t, uint32_t, 0, 32)
QRT_BIN_DEFINE_INT(u64, uint64_t, uint64_t, 0, 64)

/* ---- bool kernel (uint8_t 0/1; any nonzero byte reads as true) -------- */
QRT_BIN_ROW(qrt_bin_eq_bool, uint8_t, uint8_t, (a != 0) == (b != 0))
QRT_BIN_ROW(qrt_bin_and_bool, uint8_t, uint8_t, (a != 0) & (b != 0))
QRT_BIN_ROW(qrt_bin_or_bool, uint8_t, uint8_t, (a != 0) | (b != 0))
QRT_BIN_ROW(qrt_bin_xor_bool, uint8_t, uint8_t, (a != 0) ^ (b != 0))

QRT_API void qrt_binary_bool(const void *params, const void *const *in, void *const *out) {
  const qrt_binary_params *p = (const qrt_binary_params *)params;
  qrt_bin_row_fn fn = NULL;
  switch (p->op) {
  case QRT_BINARY_EQUAL: fn = qrt_bin_eq_bool; break;
  case QRT_BINARY_AND: fn = qrt_bin_and_bool; break;
  case QRT_BINARY_OR: fn = qrt_bin_or_bool; break;
  case QRT_BINARY_XOR: fn = qrt_bin_xor_bool; break;
  default: break;
  }
  qrt_bin_drive(p, in[0], in[1], out[0], fn, 1, 1, NULL);
}
