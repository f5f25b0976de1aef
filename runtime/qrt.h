/* qrt.h - the qcc float runtime: params structs, kernel list, prototypes.
 *
 * The same kernels run in the compiler's evaluator and in the generated
 * C, so both give the same bits by construction.  The code generator pastes
 * this header and the .c files a model needs into one model.c (dropping
 * their `#include "qrt.h"` line) after defining
 *     #define QRT_API static QRT_MAYBE_UNUSED
 * Every kernel has the signature qrt_kernel_fn; `params` points to the
 * kernel's params struct, in[] / out[] to dense row-major tensors.
 * in[] and out[] always hold every slot a kernel documents; an absent
 * optional tensor is a NULL slot (conv: in[0..3], matmul: in[0..2],
 * layernorm/rmsnorm: in[0..2] and out[0..2]).  Kernels return nothing:
 * the compiler validates params (an unsupported op code writes zeros).
 *
 * Determinism rules (read before changing anything in runtime/):
 *  - every float sum is accumulated in an order the code fixes; nothing
 *    depends on reassociation (no -ffast-math, ever);
 *  - a*b+c must not be contracted to an FMA in one build and not another.
 *    GCC in ISO mode (-std=c99/c11: __STRICT_ANSI__) uses -ffp-contract=off
 *    already; in GNU mode this header sets it with a pragma (define
 *    QRT_NO_FP_CONTRACT_PRAGMA to skip that and pass -ffp-contract=off
 *    yourself); clang honours the standard pragma below;
 *  - transcendental functions come from <math.h>, so bit identity holds
 *    between programs that use the same libm (the evaluator and a model
 *    built and run on the same system);
 *  - FLT_EVAL_METHOD must be 0 (x86-64 SSE, AArch64, ...; not x87).
 *
 * Integer arithmetic is done in unsigned types where signed overflow could
 * occur (wraps modulo 2^n); narrowing to signed types relies on the
 * implementation-defined (two's complement, wrapping) conversion that GCC
 * and clang document. */
#ifndef QRT_H
#define QRT_H

#include <stddef.h>
#include <stdint.h>
#include "qrt_dtype.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__) && !defined(__STRICT_ANSI__) && !defined(QRT_NO_FP_CONTRACT_PRAGMA)
#pragma GCC optimize("fp-contract=off")
#endif

#if defined(__GNUC__)
#define QRT_MAYBE_UNUSED __attribute__((unused))
#else
#define QRT_MAYBE_UNUSED
#endif

/* External linkage by default; the generator defines it as
 * `static QRT_MAYBE_UNUSED` when it pastes the runtime into model.c. */
#ifndef QRT_API
#define QRT_API
#endif

/* File-local helpers of the runtime .c files. */
#define QRT_INTERNAL static QRT_MAYBE_UNUSED

typedef void (*qrt_kernel_fn)(const void *params, const void *const *in, void *const *out);

/* ---------------------------------------------------------------------
 * Params structs as X-macros.
 * S(type, name) scalar field; A(type, name, count) fixed array field.
 * Types used: int32_t, int64_t, float.  Counts and shapes are elements,
 * not bytes, unless a field name says bytes.
 * ------------------------------------------------------------------- */
#define QRT_DECLARE_SCALAR(t, n) t n;
#define QRT_DECLARE_ARRAY(t, n, c) t n[c];

/* Fused activations of conv / matmul (field `act`, with act_alpha, act_beta):
 * NONE y=x; RELU y = x<0 ? 0 : x; LEAKY_RELU y = x<0 ? alpha*x : x;
 * CLIP y = x<alpha ? alpha : (x>beta ? beta : x).  NaN passes through. */
#define QRT_ACT_NONE 0
#define QRT_ACT_RELU 1
#define QRT_ACT_LEAKY_RELU 2
#define QRT_ACT_CLIP 3

/* --- unary: y[i] = f(x[i]), i < n ------------------------------------ */
/* op: QRT_UNARY_*; alpha, beta: float parameters (see each op);
 * ialpha, ibeta: the bounds of CLIP in the integer kernels. */
#define QRT_UNARY_PARAMS(S, A) \
  S(int32_t, op) S(int64_t, n) S(float, alpha) S(float, beta) S(int64_t, ialpha) S(int64_t, ibeta)
/* Float kernels (f32, f64) support all ops except NOT. ISNAN, ISINF*
 * write bool (uint8_t 0/1) output.  Integer kernels (i32, i64, i8, u8)
 * support IDENTITY RELU NEG ABS SIGN CLIP (neg/abs wrap at the minimum;
 * u8: abs = identity, neg wraps).  The bool kernel: IDENTITY, NOT.
 * An op a kernel does not support writes zeros. */
#define QRT_UNARY_IDENTITY 0
#define QRT_UNARY_RELU 1
#define QRT_UNARY_LEAKY_RELU 2   /* alpha */
#define QRT_UNARY_ELU 3          /* alpha */
#define QRT_UNARY_SELU 4         /* alpha, beta = gamma */
#define QRT_UNARY_SIGMOID 5
#define QRT_UNARY_HARD_SIGMOID 6 /* max(0, min(1, alpha*x + beta)) */
#define QRT_UNARY_HARD_SWISH 7   /* x * hard_sigmoid(x; 1/6, 0.5) */
#define QRT_UNARY_TANH 8
#define QRT_UNARY_ERF 9
#define QRT_UNARY_GELU 10        /* 0.5 x (1 + erf(x / sqrt 2)) */
#define QRT_UNARY_GELU_TANH 11   /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
#define QRT_UNARY_SILU 12        /* x * sigmoid(x) */
#define QRT_UNARY_SOFTPLUS 13
#define QRT_UNARY_SOFTSIGN 14
#define QRT_UNARY_EXP 15
#define QRT_UNARY_LOG 16
#define QRT_UNARY_SQRT 17
#define QRT_UNARY_NEG 18
#define QRT_UNARY_ABS 19
#define QRT_UNARY_RECIPROCAL 20
#define QRT_UNARY_CEIL 21
#define QRT_UNARY_FLOOR 22
#define QRT_UNARY_ROUND 23       /* half to even */
#define QRT_UNARY_SIGN 24
#define QRT_UNARY_SIN 25
#define QRT_UNARY_COS 26
#define QRT_UNARY_TAN 27
#define QRT_UNARY_ASIN 28
#define QRT_UNARY_ACOS 29
#define QRT_UNARY_ATAN 30
#define QRT_UNARY_SINH 31
#define QRT_UNARY_COSH 32
#define QRT_UNARY_ASINH 33
#define QRT_UNARY_ACOSH 34
#define QRT_UNARY_ATANH 35
#define QRT_UNARY_CLIP 36        /* alpha = min, beta = max (ints: ialpha, ibeta) */
#define QRT_UNARY_NOT 37         /* bool kernel only */
#define QRT_UNARY_ISNAN 38       /* -> bool */
#define QRT_UNARY_ISINF 39       /* -> bool, either sign */
#define QRT_UNARY_ISINF_POS 40   /* -> bool, +inf only */
#define QRT_UNARY_ISINF_NEG 41   /* -> bool, -inf only */
#define QRT_UNARY_MISH 42        /* x * tanh(softplus(x)) */
#define QRT_UNARY_CELU 43        /* alpha */
#define QRT_UNARY_THRESHOLDED_RELU 44 /* x > alpha ? x : 0 */
#define QRT_UNARY_SHRINK 45      /* alpha = lambd, beta = bias */

/* --- binary with numpy broadcasting ---------------------------------- */
/* out has shape out_shape[0..rank) (dense); a and b are read at
 * sum idx[k]*a_strides[k] (element strides, 0 where broadcast). */
#define QRT_BINARY_PARAMS(S, A) \
  S(int32_t, op) S(int32_t, rank) A(int64_t, out_shape, 8) A(int64_t, a_strides, 8) A(int64_t, b_strides, 8)
/* Float kernels: ADD..PRELU and the comparisons.  Integer kernels: ADD..FMOD,
 * comparisons, BITAND..SHR.  Bool kernel: EQUAL and AND OR XOR.
 * Comparisons (and the logic ops) write bool (uint8_t 0/1).
 * Integers: ADD SUB MUL POW wrap; DIV truncates toward zero (like C) and
 * x/0 = 0, MIN/-1 = MIN; MOD takes the sign of the divisor (Python), FMOD
 * the sign of the dividend (C %), both give 0 for a zero divisor; POW by
 * repeated squaring, a negative exponent gives 1/a^|b| truncated (0 unless
 * a is 1 or -1); SHL/SHR by >= the bit width give 0 (SHR is logical for
 * unsigned, arithmetic for signed types).
 * Floats: MAX/MIN propagate NaN; MOD r = fmod(a,b), +b when r != 0 and
 * its sign differs from b's; FMOD = fmod; PRELU: a<0 ? a*b : a. */
#define QRT_BINARY_ADD 0
#define QRT_BINARY_SUB 1
#define QRT_BINARY_MUL 2
#define QRT_BINARY_DIV 3
#define QRT_BINARY_POW 4
#define QRT_BINARY_MAX 5
#define QRT_BINARY_MIN 6
#define QRT_BINARY_MOD 7
#define QRT_BINARY_FMOD 8
#define QRT_BINARY_PRELU 9
#define QRT_BINARY_EQUAL 10
#define QRT_BINARY_LESS 11
#define QRT_BINARY_GREATER 12
#define QRT_BINARY_LESS_EQUAL 13
#define QRT_BINARY_GREATER_EQUAL 14
#define QRT_BINARY_AND 15
#define QRT_BINARY_OR 16
#define QRT_BINARY_XOR 17
#define QRT_BINARY_BITAND 18
#define QRT_BINARY_BITOR 19
#define QRT_BINARY_BITXOR 20
#define QRT_BINARY_SHL 21
#define QRT_BINARY_SHR 22

/* --- where(cond, a, b) with broadcasting, any element size ------------ */
/* in[0] bool cond, in[1] a, in[2] b; elem_size 1, 2, 4 or 8 bytes. */
#define QRT_WHERE_PARAMS(S, A) \
  S(int32_t, rank) S(int32_t, elem_size) A(int64_t, out_shape, 8) \
  A(int64_t, cond_strides, 8) A(int64_t, a_strides, 8) A(int64_t, b_strides, 8)

/* --- conv (f32), canonical 3 spatial dims (D, H, W) -------------------- */
/* in[0] x [n, c_in, D, H, W], in[1] w [c_out, c_in/group, kd, kh, kw],
 * in[2] bias [c_out] or NULL, in[3] scratch of qrt_conv_scratch_f32(p)
 * bytes or NULL (then a slower direct loop gives the same bits).
 * y[n, co, od, oh, ow] = act(sum + bias[co]) where sum starts at 0 and adds
 * w*x for (ci, kd, kh, kw) in increasing order; padding cells add w*0. */
#define QRT_CONV_PARAMS(S, A) \
  S(int32_t, group) S(int32_t, act) S(float, act_alpha) S(float, act_beta) \
  S(int64_t, n) S(int64_t, c_in) S(int64_t, c_out) \
  A(int64_t, in_spatial, 3) A(int64_t, out_spatial, 3) A(int64_t, kernel, 3) \
  A(int64_t, strides, 3) A(int64_t, dilations, 3) A(int64_t, pads_begin, 3)

/* --- pool (f32), canonical 3 spatial dims ------------------------------ */
/* MAX ignores padding cells (NaN propagates). AVG sums the cells inside
 * the input in (kd, kh, kw) order and divides by their count, or with
 * count_include_pad by the number of cells inside the padded input
 * [-pads_begin, in + pads_end) (cells past it, from ceil_mode, never count). */
#define QRT_POOL_MAX 0
#define QRT_POOL_AVG 1
#define QRT_POOL_PARAMS(S, A) \
  S(int32_t, kind) S(int32_t, count_include_pad) S(int64_t, n) S(int64_t, c) \
  A(int64_t, in_spatial, 3) A(int64_t, out_spatial, 3) A(int64_t, kernel, 3) \
  A(int64_t, strides, 3) A(int64_t, dilations, 3) A(int64_t, pads_begin, 3) \
  A(int64_t, pads_end, 3)

/* --- matmul (f32), batched with broadcasting ---------------------------- */
/* For each batch index b (row-major over batch_shape[0..batch_rank)):
 *   C[b] (M x N, dense, batches consecutive) = act(A[b] @ B[b] + bias)
 * A[b] starts at in[0] + sum idx*a_batch_strides, B[b] likewise (strides in
 * floats; for b_packed in floats of the packed layout).  A[b] is M x K
 * row-major, or K x M with trans_a; B[b] K x N, or N x K with trans_b, or
 * with b_packed the qrt_pack_b_f32 layout of the K x N matrix (trans_b
 * ignored).  in[2] bias or NULL: element (m, n) at bias[m*bias_rs + n*bias_cs]
 * (a [N] bias: bias_rs 0, bias_cs 1).  Each C element is
 * ((0 + a0*b0) + a1*b1) + ... in increasing k, then + bias, then act: the
 * same bits packed or not, whatever the blocking. */
#define QRT_MATMUL_PARAMS(S, A) \
  S(int32_t, act) S(int32_t, b_packed) S(int32_t, trans_a) S(int32_t, trans_b) \
  S(int32_t, batch_rank) S(float, act_alpha) S(float, act_beta) \
  S(int64_t, M) S(int64_t, N) S(int64_t, K) S(int64_t, bias_rs) S(int64_t, bias_cs) \
  A(int64_t, batch_shape, 6) A(int64_t, a_batch_strides, 6) A(int64_t, b_batch_strides, 6)

/* --- softmax / log_softmax over one axis -------------------------------- */
/* x viewed as [outer, axis_len, inner]. */
#define QRT_SOFTMAX_PARAMS(S, A) \
  S(int32_t, log) S(int64_t, outer) S(int64_t, axis_len) S(int64_t, inner)

/* --- layernorm / rmsnorm over the trailing norm_size elements ----------- */
/* in[0] x [outer, norm_size], in[1] scale [norm_size], in[2] bias or NULL.
 * out[0] y; out[1] mean [outer] or NULL; out[2] inv_std_dev [outer] or NULL
 * (rmsnorm: out[1] unused, out[2] 1/rms).
 * layernorm: y = (x - mean) / sqrt(var + eps) * scale + bias,
 * rmsnorm:   y = x / sqrt(mean(x^2) + eps) * scale (+ bias). */
#define QRT_NORM_PARAMS(S, A) \
  S(float, epsilon) S(int64_t, outer) S(int64_t, norm_size)

/* --- reduce over a set of axes ------------------------------------------ */
/* Input viewed as in_shape[0..rank); reduced[k] != 0 marks a reduced dim;
 * the output has the same rank with the reduced dims of size 1 (dense).
 * Each output = init, then op with every reduced element in row-major
 * order of the reduced dims (sum-like ops: sequential float sum).
 * f32: all ops; i32/i64: SUM MAX MIN PROD (wrapping).
 * Empty reductions give: sum 0, prod 1, max -inf (int: minimum), min +inf
 * (int: maximum), mean NaN, log_sum -inf, log_sum_exp -inf. */
#define QRT_REDUCE_SUM 0
#define QRT_REDUCE_MEAN 1
#define QRT_REDUCE_MAX 2
#define QRT_REDUCE_MIN 3
#define QRT_REDUCE_PROD 4
#define QRT_REDUCE_L1 5
#define QRT_REDUCE_L2 6
#define QRT_REDUCE_SUM_SQUARE 7
#define QRT_REDUCE_LOG_SUM 8
#define QRT_REDUCE_LOG_SUM_EXP 9
#define QRT_REDUCE_PARAMS(S, A) \
  S(int32_t, op) S(int32_t, rank) A(int64_t, in_shape, 8) A(int32_t, reduced, 8)

/* --- generic strided copy, any element size (1, 2, 4, 8 bytes) -------- */
/* out (dense, out_shape[0..rank)) [i0..ir] = in[offset + sum ik*in_strides[k]]
 * (element units; strides may be negative or zero).  Transpose, slice with
 * steps, expand, reshape copies. */
#define QRT_COPY_PARAMS(S, A) \
  S(int32_t, rank) S(int32_t, elem_size) S(int64_t, offset) \
  A(int64_t, out_shape, 8) A(int64_t, in_strides, 8)

/* --- concat: in[i] viewed as [outer, inner_sizes[i]], i < n_inputs ----- */
#define QRT_CONCAT_MAX_INPUTS 64
#define QRT_CONCAT_PARAMS(S, A) \
  S(int32_t, n_inputs) S(int32_t, elem_size) S(int64_t, outer) \
  A(int64_t, inner_sizes, 64)

/* --- gather (ONNX Gather): data [outer, axis_dim, inner], indices
 * [n_indices] (index_dtype QRT_I32 or QRT_I64) -> out [outer, n_indices,
 * inner].  Negative indices add axis_dim; still out of range: the slice is
 * zero-filled (the kernel never reads out of bounds). */
#define QRT_GATHER_PARAMS(S, A) \
  S(int32_t, index_dtype) S(int32_t, elem_size) S(int64_t, outer) \
  S(int64_t, axis_dim) S(int64_t, inner) S(int64_t, n_indices)

/* --- pad: out shape = in_shape + pads_begin + pads_end (pads may be
 * negative: crop).  CONSTANT fills with the elem_size low-order bytes of
 * value_bits (the value's bit pattern, e.g. a float's uint32 bits);
 * REFLECT mirrors without repeating the edge (repeatedly, numpy-style);
 * EDGE repeats the edge; WRAP is periodic.  Non-constant modes need every
 * padded dim non-empty. */
#define QRT_PAD_CONSTANT 0
#define QRT_PAD_REFLECT 1
#define QRT_PAD_EDGE 2
#define QRT_PAD_WRAP 3
#define QRT_PAD_PARAMS(S, A) \
  S(int32_t, mode) S(int32_t, rank) S(int32_t, elem_size) S(int64_t, value_bits) \
  A(int64_t, in_shape, 8) A(int64_t, pads_begin, 8) A(int64_t, pads_end, 8)

/* --- cast between f32 f64 f16 i8 u8 i16 u16 i32 i64 u32 u64 bool --------
 * from/to: qrt_dtype values.  Float -> int truncates toward zero,
 * saturating out of range values, NaN -> 0; -> bool: x != 0 (NaN -> 1);
 * int -> int wraps; -> f16 rounds to nearest even (f64 -> f16 directly,
 * no double rounding); f64 -> f32 as C (IEEE, nearest even). */
#define QRT_CAST_PARAMS(S, A) \
  S(int32_t, from) S(int32_t, to) S(int64_t, n)

#define QRT_ALL_PARAMS(X) \
  X(unary, QRT_UNARY_PARAMS) X(binary, QRT_BINARY_PARAMS) X(where, QRT_WHERE_PARAMS) \
  X(conv, QRT_CONV_PARAMS) X(pool, QRT_POOL_PARAMS) X(matmul, QRT_MATMUL_PARAMS) \
  X(softmax, QRT_SOFTMAX_PARAMS) X(norm, QRT_NORM_PARAMS) X(reduce, QRT_REDUCE_PARAMS) \
  X(copy, QRT_COPY_PARAMS) X(concat, QRT_CONCAT_PARAMS) X(gather, QRT_GATHER_PARAMS) \
  X(pad, QRT_PAD_PARAMS) X(cast, QRT_CAST_PARAMS)

typedef struct qrt_unary_params { QRT_UNARY_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_unary_params;
typedef struct qrt_binary_params { QRT_BINARY_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_binary_params;
typedef struct qrt_where_params { QRT_WHERE_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_where_params;
typedef struct qrt_conv_params { QRT_CONV_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_conv_params;
typedef struct qrt_pool_params { QRT_POOL_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_pool_params;
typedef struct qrt_matmul_params { QRT_MATMUL_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_matmul_params;
typedef struct qrt_softmax_params { QRT_SOFTMAX_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_softmax_params;
typedef struct qrt_norm_params { QRT_NORM_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_norm_params;
typedef struct qrt_reduce_params { QRT_REDUCE_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_reduce_params;
typedef struct qrt_copy_params { QRT_COPY_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_copy_params;
typedef struct qrt_concat_params { QRT_CONCAT_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_concat_params;
typedef struct qrt_gather_params { QRT_GATHER_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_gather_params;
typedef struct qrt_pad_params { QRT_PAD_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_pad_params;
typedef struct qrt_cast_params { QRT_CAST_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_cast_params;

/* ---------------------------------------------------------------------
 * Kernels: K(symbol, params struct short name, source file).
 * All have the qrt_kernel_fn signature.
 * ------------------------------------------------------------------- */
#define QRT_ALL_KERNELS(K) \
  K(qrt_unary_f32, unary, "qrt_unary.c") K(qrt_unary_f64, unary, "qrt_unary.c") \
  K(qrt_unary_i32, unary, "qrt_unary.c") K(qrt_unary_i64, unary, "qrt_unary.c") \
  K(qrt_unary_i8, unary, "qrt_unary.c") K(qrt_unary_u8, unary, "qrt_unary.c") \
  K(qrt_unary_bool, unary, "qrt_unary.c") \
  K(qrt_binary_f32, binary, "qrt_binary.c") K(qrt_binary_f64, binary, "qrt_binary.c") \
  K(qrt_binary_i32, binary, "qrt_binary.c") K(qrt_binary_i64, binary, "qrt_binary.c") \
  K(qrt_binary_i8, binary, "qrt_binary.c") K(qrt_binary_u8, binary, "qrt_binary.c") \
  K(qrt_binary_bool, binary, "qrt_binary.c") \
  K(qrt_where, where, "qrt_where.c") \
  K(qrt_conv_f32, conv, "qrt_conv.c") \
  K(qrt_pool_f32, pool, "qrt_pool.c") \
  K(qrt_matmul_f32, matmul, "qrt_matmul.c") \
  K(qrt_softmax_f32, softmax, "qrt_softmax.c") \
  K(qrt_layernorm_f32, norm, "qrt_norm.c") K(qrt_rmsnorm_f32, norm, "qrt_norm.c") \
  K(qrt_reduce_f32, reduce, "qrt_reduce.c") K(qrt_reduce_i32, reduce, "qrt_reduce.c") \
  K(qrt_reduce_i64, reduce, "qrt_reduce.c") \
  K(qrt_copy, copy, "qrt_copy.c") \
  K(qrt_concat, concat, "qrt_concat.c") \
  K(qrt_gather, gather, "qrt_gather.c") \
  K(qrt_pad, pad, "qrt_pad.c") \
  K(qrt_cast, cast, "qrt_cast.c")

/* D(file, file it needs): paste both when the first is used. */
#define QRT_FILE_DEPS(D) D("qrt_conv.c", "qrt_matmul.c")

/* Kernels that take a scratch buffer: X(kernel, size function (params ->
 * bytes, 0 = none needed), input slot).  The memory planner passes a buffer
 * of at least that many bytes, aligned for float, in that slot. */
#define QRT_ALL_SCRATCH(X) X(qrt_conv_f32, qrt_conv_scratch_f32, 3)

#define QRT_DECLARE_KERNEL(sym, pname, file) \
  QRT_API void sym(const void *params, const void *const *in, void *const *out);

/* ---------------------------------------------------------------------
 * Other entry points.
 * ------------------------------------------------------------------- */
/* qrt_matmul.c.  Packed B: panels of 16 columns; panel j (columns
 * 16j..16j+15) holds K rows of 16 floats (k-major), columns past N zero.
 * qrt_packed_b_size is in floats.
 * qrt_sgemm_ex: C (M x N, row stride ldc) = act(A @ B + bias) with general
 * strides; B is the packed layout when b_packed (rs_b, cs_b ignored); bias
 * NULL or element (m, n) at bias[m*bias_rs + n*bias_cs].  Sum order: see
 * matmul. */
#define QRT_SGEMM_NR 16
typedef struct qrt_sgemm_args {
  int64_t M, N, K;
  const float *A;
  int64_t rs_a, cs_a;
  const float *B;
  int64_t rs_b, cs_b;
  int32_t b_packed;
  float *C;
  int64_t ldc;
  const float *bias;
  int64_t bias_rs, bias_cs;
  int32_t act;
  float act_alpha, act_beta;
} qrt_sgemm_args;

/* Prototypes.  When the generator pastes only some .c files, it defines
 * QRT_NO_PROTOTYPES (GCC warns about static functions declared and never
 * defined) and pastes each file after those it depends on (QRT_FILE_DEPS). */
#ifndef QRT_NO_PROTOTYPES
QRT_ALL_KERNELS(QRT_DECLARE_KERNEL)

/* qrt_conv.c: scratch bytes qrt_conv_f32 wants in in[3] (0: none). */
QRT_API int64_t qrt_conv_scratch_f32(const qrt_conv_params *p);

/* qrt_matmul.c */
QRT_API int64_t qrt_packed_b_size(int64_t K, int64_t N);
QRT_API void qrt_pack_b_f32(int64_t K, int64_t N, const float *B, float *packed);
/* Element (k, n) of the logical K x N matrix at B[k*rs_b + n*cs_b]. */
QRT_API void qrt_pack_b_strided_f32(int64_t K, int64_t N, const float *B, int64_t rs_b,
                                    int64_t cs_b, float *packed);
QRT_API void qrt_sgemm_ex(const qrt_sgemm_args *g);
/* Row-major C[M,N] = A[M,K] @ B[K,N] (+ bias[N] when not NULL). */
QRT_API void qrt_sgemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                       const float *B, int64_t ldb, float *C, int64_t ldc, const float *bias);

/* qrt_cast.c: IEEE half <-> float, round to nearest even. */
QRT_API uint16_t qrt_f32_to_f16(float x);
QRT_API float qrt_f16_to_f32(uint16_t h);
#endif

/* ---------------------------------------------------------------------
 * Shared scalar helpers (static inline here: qrt.h is pasted once).
 * ------------------------------------------------------------------- */
static QRT_MAYBE_UNUSED inline float qrt_act_f32(float x, int32_t act, float alpha, float beta) {
  switch (act) {
  case QRT_ACT_RELU: return x < 0.0f ? 0.0f : x;
  case QRT_ACT_LEAKY_RELU: return x < 0.0f ? alpha * x : x;
  case QRT_ACT_CLIP: return x < alpha ? alpha : (x > beta ? beta : x);
  default: return x;
  }
}

#endif /* QRT_H */
