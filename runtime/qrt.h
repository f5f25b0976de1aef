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
#include <string.h>
#include "qrt_dtype.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__) && !defined(__STRICT_ANSI__) && !defined(QRT_NO_FP_CONTRACT_PRAGMA)
#pragma GCC optimize("fp-contract=off")
#endif

/* The runtime's loops run over n elements or rows of any length. GCC's -O2
 * (the usual build flag) vectorizes only with its "very cheap" cost model,
 * which skips every loop whose trip count is not a known multiple of the
 * vector width, so at -O2 these loops ran scalar: the W8A8 multimodal
 * example took 0.61 ms per run at -O2 against 0.13 ms at -O3. The
 * dynamic cost model vectorizes them at -O2 too. Results do not change:
 * GCC vectorizes no float sum that needs reassociation without
 * -ffast-math, and contraction is off above. Not at -Os (size first) or
 * -O0; define QRT_NO_VECTORIZE_PRAGMA to leave GCC's choice alone. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE__) && !defined(__OPTIMIZE_SIZE__) && \
    !defined(QRT_NO_VECTORIZE_PRAGMA)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

#if defined(__GNUC__)
#define QRT_MAYBE_UNUSED __attribute__((unused))
/* Small helpers that must be inlined into vectorized loops. */
#define QRT_ALWAYS_INLINE __attribute__((always_inline))
#else
#define QRT_MAYBE_UNUSED
#define QRT_ALWAYS_INLINE
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
 * CLIP y = x<alpha ? alpha : (x>beta ? beta : x); SILU, GELU,
 * GELU_TANH as qrt_unary's (qrt_act_f32).  NaN passes through. */
#define QRT_ACT_NONE 0
#define QRT_ACT_RELU 1
#define QRT_ACT_LEAKY_RELU 2
#define QRT_ACT_CLIP 3
#define QRT_ACT_SILU 4      /* x * sigmoid(x), qrt_unary's SiLU */
#define QRT_ACT_GELU 5      /* 0.5 x (1 + erf(x / sqrt 2)), qrt_unary's GELU */
#define QRT_ACT_GELU_TANH 6 /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */

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
/* qrt_binary_f32_i8: qrt_binary_f32's ADD, SUB or MUL with its output
 * quantized to int8 codes as qrt_quantize_f32_i8 with inv_scale,
 * zero_point, qmin, qmax would make them (the same bits;
 * passes/fuse_output_quantize.c), 1024 elements at a time on the stack;
 * other ops write zero codes (the compiler never asks). */
#define QRT_BINARY_Q_PARAMS(S, A) \
  QRT_BINARY_PARAMS(S, A) S(float, inv_scale) S(int32_t, zero_point) S(int32_t, qmin) S(int32_t, qmax)
/* Float kernels: ADD..PRELU and the comparisons.  Integer kernels (i8 u8
 * i16 u16 i32 u32 i64 u64): ADD..FMOD,
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
/* in[0] x [n, c_in, D, H, W], in[1] w [c_out, c_in/group, kd, kh, kw]
 * (or, with w_packed, qrt_pack_conv_w_f32's layout), in[2] bias [c_out] or
 * NULL, in[3] scratch of qrt_conv_scratch_f32(p) bytes or NULL (then a
 * slower direct loop gives the same bits).
 * y[n, co, od, oh, ow] = act(sum + bias[co]) where sum starts at 0 and adds
 * w*x for (ci, kd, kh, kw) in increasing order, or with w_packed for (kd,
 * kh, kw, ci); padding cells add w*0. */
#define QRT_CONV_PARAMS(S, A) \
  S(int32_t, group) S(int32_t, act) S(int32_t, fused) S(int32_t, w_packed) S(float, act_alpha) S(float, act_beta) \
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
#define QRT_POOL_ARGMAX 2     /* qrt_pool_argmax_f32 (int64 out), row-major positions */
#define QRT_POOL_ARGMAX_COL 3 /* the same, column-major (ONNX storage_order 1) */
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
 * ((0 + a0*b0) + a1*b1) + ... in increasing k, then + bias, then act,
 * then + in[3][m*N + n] (`residual` 1: a residual) or * in[3][m*N + n]
 * (`residual` 2: a gate), dense in C's shape (fuse_matmul_epilogue.c): the same
 * bits packed or not, whatever the blocking. */
#define QRT_MATMUL_PARAMS(S, A) \
  S(int32_t, act) S(int32_t, b_packed) S(int32_t, trans_a) S(int32_t, trans_b) S(int32_t, fused) S(int32_t, residual) \
  S(int32_t, batch_rank) S(float, act_alpha) S(float, act_beta) \
  S(int64_t, M) S(int64_t, N) S(int64_t, K) S(int64_t, bias_rs) S(int64_t, bias_cs) \
  A(int64_t, batch_shape, 6) A(int64_t, a_batch_strides, 6) A(int64_t, b_batch_strides, 6)

/* The number of batches of a batched matmul: the product of
 * batch_shape[0..rank) (rank clamped to 0..6). */
static QRT_MAYBE_UNUSED inline int64_t qrt_batch_count(int32_t rank, const int64_t *shape) {
  const int32_t br = rank < 0 ? 0 : (rank > 6 ? 6 : rank);
  int64_t nb = 1, d;
  for (d = 0; d < br; ++d) nb *= shape[d];
  return nb;
}

/* The element offsets of batch b of a batched matmul (float or int8) in
 * A and B: b unravelled row-major over batch_shape[0..rank), each index
 * times that operand's batch stride (0 where it broadcasts). */
static QRT_MAYBE_UNUSED inline void qrt_batch_offsets(int32_t rank, const int64_t *shape, const int64_t *a_strides,
                                                      const int64_t *b_strides, int64_t b, int64_t *ao,
                                                      int64_t *bo) {
  const int32_t br = rank < 0 ? 0 : (rank > 6 ? 6 : rank);
  int64_t r = b, d;
  *ao = 0;
  *bo = 0;
  for (d = br - 1; d >= 0; --d) {
    const int64_t n = shape[d] > 0 ? shape[d] : 1;
    *ao += (r % n) * a_strides[d];
    *bo += (r % n) * b_strides[d];
    r /= n;
  }
}

/* --- fused float attention (qrt_attention.c) ----------------------------- *
 * For each of `batch` batches b (heads): Q[b] M x D, Kt[b] D x N,
 * V[b] N x DV, Y[b] M x DV, dense and consecutive, or with `strided`
 * (a head split's transposes folded into the kernel, fold_transposes.c)
 * at the element offsets of b unravelled over batch_shape[0..batch_rank)
 * times each operand's batch strides, rows q_rs / y_rs apart (columns
 * consecutive), Kt(d, n) at d * kt_rs + n * kt_cs, V(n, j) at
 * n * v_rs + j * v_cs:
 *   S = Q Kt (as qrt_matmul_f32 with `fused`), S = S * scale, or
 *   S / scale with scale_divides (in[3], an f32 scalar, or none),
 *   S = S + mask[b] (before the scale with mask_first; in[4], M x N floats at
 *   in[4] + b * mask_batch_stride, or with mask_bcast row i at
 *   i * mask_rs (0: one row for all) from b unravelled over batch_shape
 *   times mask_batch_strides (0 where it broadcasts); or none),
 *   P = softmax of each row of S
 *   (qrt_softmax_f32), Y = P V (qrt_matmul_f32 with `fused`):
 * the bits of that chain of kernels. in[5]: scratch
 * (qrt_attention_scratch_f32). */
#define QRT_ATTENTION_PARAMS(S, A) \
  S(int32_t, fused) S(int32_t, scale_divides) S(int32_t, mask_first) S(int32_t, nan_to_zero) S(int64_t, batch) S(int64_t, M) S(int64_t, N) S(int64_t, D) \
  S(int64_t, DV) S(int64_t, mask_batch_stride) \
  S(int32_t, mask_bcast) S(int64_t, mask_rs) A(int64_t, mask_batch_strides, 6) \
  S(int32_t, strided) S(int32_t, batch_rank) S(int64_t, q_rs) S(int64_t, kt_rs) S(int64_t, kt_cs) S(int64_t, v_rs) \
  S(int64_t, v_cs) S(int64_t, y_rs) A(int64_t, batch_shape, 6) A(int64_t, q_batch_strides, 6) \
  A(int64_t, kt_batch_strides, 6) A(int64_t, v_batch_strides, 6) A(int64_t, y_batch_strides, 6)

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
/* qrt_layernorm_f32_i8 / qrt_rmsnorm_f32_i8: the same norm with its
 * output quantized to int8 codes as qrt_quantize_f32_i8 with inv_scale,
 * zero_point, qmin, qmax would (the same bits; passes/
 * fuse_output_quantize.c), 256 elements at a time; out[0] y int8, out[1]
 * and out[2] as above. */
#define QRT_NORM_Q_PARAMS(S, A) \
  S(float, epsilon) S(int64_t, outer) S(int64_t, norm_size) \
  S(float, inv_scale) S(int32_t, zero_point) S(int32_t, qmin) S(int32_t, qmax)

/* --- reduce over a set of axes ------------------------------------------ */
/* Input viewed as in_shape[0..rank); reduced[k] != 0 marks a reduced dim;
 * the output has the same rank with the reduced dims of size 1 (dense).
 * Each output = init, then op with every reduced element in row-major
 * order of the reduced dims (sum-like ops: sequential float sum).
 * f32, f64: all ops; i32/i64: SUM MAX MIN PROD (wrapping).
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

/* --- gather_elements (ONNX GatherElements): out has idx_shape;
 * out[i] = data[i with i[axis] replaced by idx[i]] for every index i of
 * idx_shape (data_shape agrees with idx_shape except on axis, where idx may
 * be shorter or longer).  Negative indices add data_shape[axis]; still out
 * of range: a zero element (never an out-of-bounds read). */
#define QRT_GATHER_ELEMENTS_PARAMS(S, A) \
  S(int32_t, index_dtype) S(int32_t, elem_size) S(int32_t, rank) S(int32_t, axis) \
  A(int64_t, data_shape, 8) A(int64_t, idx_shape, 8)

/* --- gather_nd (ONNX GatherND): data viewed as [batch, idx_dims[0..k),
 * slice], indices as [batch, n_tuples, k]; out [batch, n_tuples, slice] =
 * data[b, tuple, :].  Negative components add their dim; a tuple still out
 * of range gives a zero-filled slice. */
#define QRT_GATHER_ND_PARAMS(S, A) \
  S(int32_t, index_dtype) S(int32_t, elem_size) S(int32_t, k) S(int64_t, batch) \
  S(int64_t, n_tuples) S(int64_t, slice) A(int64_t, idx_dims, 8)

/* --- scatter (ONNX ScatterElements / Scatter / ScatterND): out = data,
 * then each update is combined into the element (or slice) its index
 * names, in row-major order of the updates, with `reduction`: NONE
 * (replace; with repeated indices the last update wins), ADD, MUL, MAX,
 * MIN (MAX/MIN propagate NaN like the binary kernels; integers wrap).
 * dtype: a qrt_dtype; reductions other than NONE need a numeric dtype
 * (not f16 or bool: those write zeros).  Negative indices add the dim;
 * updates whose index is still out of range are dropped.
 * scatter_elements: indices and updates have idx_shape (same rank as
 * data_shape); the element of out at the update's index with idx
 * replacing the axis component.
 * scatter_nd: data viewed as [idx_dims[0..k), slice], indices as
 * [n_tuples, k], updates [n_tuples, slice]. */
#define QRT_SCATTER_NONE 0
#define QRT_SCATTER_ADD 1
#define QRT_SCATTER_MUL 2
#define QRT_SCATTER_MAX 3
#define QRT_SCATTER_MIN 4
#define QRT_SCATTER_ELEMENTS_PARAMS(S, A) \
  S(int32_t, dtype) S(int32_t, index_dtype) S(int32_t, reduction) S(int32_t, rank) S(int32_t, axis) \
  A(int64_t, data_shape, 8) A(int64_t, idx_shape, 8)
#define QRT_SCATTER_ND_PARAMS(S, A) \
  S(int32_t, dtype) S(int32_t, index_dtype) S(int32_t, reduction) S(int32_t, k) \
  S(int64_t, n_tuples) S(int64_t, slice) A(int64_t, idx_dims, 8)

/* --- KV cache rows in int8 / int4 (qcc --kv-bits; qrt_kvcache.c) -----
 * A float tensor [rows, row_len] is stored as `rows` packed rows of
 * qrt_kv_row_bytes(bits, row_len) bytes (floats in native byte order):
 *   bits 8: a float s, then int8 codes c; x = c s, with s = max|x| / 127
 *     and c = round_half_even(x * (127 / max|x|));
 *   bits 4: floats s and lo, then 4-bit codes c (two per byte, the even
 *     element in the low nibble); x = lo + c s, with lo = min x,
 *     s = (max x - lo) / 15, c = round_half_even((x - lo) * (15 / (max x -
 *     lo))) (asymmetric: a row's 16 levels span its range; measured 35%
 *     less squared error than symmetric on char_lm's keys and values).
 * Rounding as qrt_quantize_row_f32_i8, so |x - decoded| <= s / 2 (plus
 * float rounding); all-zero bytes decode to zeros, and a row of equal
 * values to that value exactly; a row holding a NaN or an infinity (int4:
 * or spanning more than FLT_MAX) gets s = NaN and decodes to NaN.
 *   qrt_kv_load: in[0] packed rows -> out[0] float [rows, row_len].
 *   qrt_kv_store_elements / _nd: out[0] = in[0] (copied only when the
 *   buffers differ), then the updates in[2] (float) land at the indices
 *   in[1] exactly as qrt_scatter_elements / qrt_scatter_nd with reduction
 *   NONE would write them into the decoded tensor (data_shape / idx_shape /
 *   axis, resp. k / n_tuples / slice / idx_dims, of that float tensor):
 *   each run of consecutive updates into one row decodes that row into the
 *   scratch in[3] (row_len floats), writes them and encodes the row again;
 *   rows without updates keep their bytes.  A row written whole (a new
 *   token's keys) is exactly the encoding of its new values. */
#define QRT_KV_PARAMS(S, A) \
  S(int32_t, bits) S(int64_t, rows) S(int64_t, row_len) S(int32_t, index_dtype) \
  S(int32_t, rank) S(int32_t, axis) A(int64_t, data_shape, 8) A(int64_t, idx_shape, 8) \
  S(int32_t, k) S(int64_t, n_tuples) S(int64_t, slice) A(int64_t, idx_dims, 8)

/* --- resize (ONNX Resize / Upsample), any rank ---------------------------
 * in[0] x (dtype: NEAREST copies elements of any type; LINEAR and CUBIC
 * need QRT_F32 or QRT_F64), in[1] scales float32 [rank] or NULL (then the
 * scale of axis a is out_shape[a] / in_shape[a]), in[2] roi float64
 * [2*rank] (starts then ends; TF_CROP_AND_RESIZE only) or NULL.
 * For each axis, output index o maps to the input coordinate c (all in
 * double, with scale s and L = s * in_shape[a], the unrounded resized
 * length):
 *   HALF_PIXEL (o + 0.5) / s - 0.5;  PYTORCH_HALF_PIXEL the same, or 0
 *   when out_shape[a] == 1;  ALIGN_CORNERS o (in - 1) / (L - 1), or 0 when
 *   L == 1;  ASYMMETRIC o / s;  TF_HALF_PIXEL_FOR_NN (o + 0.5) / s;
 *   TF_CROP_AND_RESIZE start (in - 1) + o (end - start) (in - 1) / (L - 1)
 *   (0.5 (start + end) (in - 1) when L == 1), and any c outside
 *   [0, in - 1] makes the output element `extrapolation`.
 * Taps with i = floor(c), r = c - i: NEAREST one tap, i or i + 1 by
 * `nearest` (ROUND_PREFER_FLOOR/CEIL pick i + 1 for r > 0.5 / r >= 0.5;
 * FLOOR i; CEIL i + 1 when r > 0); LINEAR (i, 1 - r), (i + 1, r); CUBIC
 * i - 1 .. i + 2 with Keys' weights for cubic_a (as the ONNX reference).
 * exclude_outside (LINEAR, CUBIC) zeroes the weights of taps outside [0, in) and divides
 * the rest by their sum; then tap indices are clamped to [0, in - 1] (edge
 * padding).  An output element is sum(prod of its axes' weights * x) over
 * the taps of all axes, accumulated in double in row-major tap order. */
#define QRT_RESIZE_NEAREST 0
#define QRT_RESIZE_LINEAR 1
#define QRT_RESIZE_CUBIC 2
#define QRT_RESIZE_HALF_PIXEL 0
#define QRT_RESIZE_PYTORCH_HALF_PIXEL 1
#define QRT_RESIZE_ALIGN_CORNERS 2
#define QRT_RESIZE_ASYMMETRIC 3
#define QRT_RESIZE_TF_HALF_PIXEL_FOR_NN 4
#define QRT_RESIZE_TF_CROP_AND_RESIZE 5
#define QRT_RESIZE_ROUND_PREFER_FLOOR 0
#define QRT_RESIZE_ROUND_PREFER_CEIL 1
#define QRT_RESIZE_FLOOR 2
#define QRT_RESIZE_CEIL 3
#define QRT_RESIZE_PARAMS(S, A) \
  S(int32_t, dtype) S(int32_t, rank) S(int32_t, mode) S(int32_t, coord) S(int32_t, nearest) \
  S(int32_t, exclude_outside) S(float, cubic_a) S(float, extrapolation) \
  A(int64_t, in_shape, 8) A(int64_t, out_shape, 8)

/* --- cumsum (ONNX CumSum): x viewed as [outer, len, inner] for the axis
 * read at run time from in[1] (a scalar of axis_dtype, QRT_I32 or QRT_I64;
 * negative counts from the end; out of range: the output is all zeros).
 * y[o, j, i] = sum of x[o, t, i] for t <= j (t < j with exclusive), or
 * t >= j (t > j) with reverse, added in order of t moving away from j's
 * start (sequential float sums; integers wrap).  dtype: QRT_F32, QRT_F64,
 * QRT_I32, QRT_I64, QRT_U32, QRT_U64. */
#define QRT_CUMSUM_PARAMS(S, A) \
  S(int32_t, dtype) S(int32_t, axis_dtype) S(int32_t, exclusive) S(int32_t, reverse) S(int32_t, rank) \
  A(int64_t, shape, 8)

/* --- topk (ONNX TopK, the indices output): x viewed as [outer, len,
 * inner]; out int64 [outer, k, inner] holds, for every (outer, inner), the
 * positions of the k largest (largest != 0) or smallest elements along the
 * axis, best first; ties keep the lower position first; NaN ranks above
 * every number (first when largest, last when smallest).  in[1]: scratch
 * of qrt_topk_scratch(p) bytes (a stable merge sort), or NULL (then a
 * k-slot insertion gives the same result).  dtype: any numeric qrt_dtype
 * but f16. */
#define QRT_TOPK_PARAMS(S, A) \
  S(int32_t, dtype) S(int32_t, largest) S(int64_t, outer) S(int64_t, len) S(int64_t, inner) S(int64_t, k)

/* --- grid_sample (ONNX GridSample-16, PyTorch's grid_sample): in[0] x
 * f32 [n, c, h, w], in[1] grid f32 [n, oh, ow, 2] of (x, y) in [-1, 1];
 * out [n, c, oh, ow].  Grid values map to pixel coordinates by
 * ((g + 1) / 2) (size - 1) with align_corners, else ((g + 1) size - 1) / 2.
 * padding ZEROS reads 0 outside; BORDER clamps coordinates to [0, size-1];
 * REFLECTION reflects them about the borders (pixel centres with
 * align_corners, else the outer edges), then clamps.  BILINEAR and NEAREST
 * (round half to even) pad the mapped coordinate; BICUBIC (A = -0.75) pads
 * each of its 4x4 tap positions.  Computed in double. */
#define QRT_GRID_BILINEAR 0
#define QRT_GRID_NEAREST 1
#define QRT_GRID_BICUBIC 2
#define QRT_GRID_ZEROS 0
#define QRT_GRID_BORDER 1
#define QRT_GRID_REFLECTION 2
#define QRT_GRID_SAMPLE_PARAMS(S, A) \
  S(int32_t, mode) S(int32_t, padding) S(int32_t, align_corners) \
  S(int64_t, n) S(int64_t, c) S(int64_t, h) S(int64_t, w) S(int64_t, oh) S(int64_t, ow)

/* --- tfidf (ONNX TfIdfVectorizer, integer pools): in[0] x (x_dtype
 * QRT_I32 or QRT_I64) viewed as [rows, cols]; in[1] pool int64, in[2]
 * ngram_counts int64 [n_counts] (pool offset of the n-grams of length
 * k + 1), in[3] ngram_indexes int64 [n_grams] (output column of each pool
 * n-gram, in pool order), in[4] float32 [out_size], the weight of each
 * output column (the compiler maps the pool weights there), or NULL (1).
 * out f32 [rows, out_size].  For skip distances d = 1 .. max_skip + 1,
 * every start i and length n in [min_n, max_n] with all n tokens x[i],
 * x[i + d], ... inside the row, a pool n-gram equal to those tokens counts
 * once; unigrams are counted in the first pass only (ONNX Runtime's
 * rule).  mode TF: the count; IDF: weight if count > 0; TFIDF: count *
 * weight. */
#define QRT_TFIDF_TF 0
#define QRT_TFIDF_IDF 1
#define QRT_TFIDF_TFIDF 2
#define QRT_TFIDF_PARAMS(S, A) \
  S(int32_t, x_dtype) S(int32_t, mode) S(int32_t, min_n) S(int32_t, max_n) S(int32_t, max_skip) \
  S(int64_t, rows) S(int64_t, cols) S(int64_t, out_size) S(int64_t, pool_size) S(int64_t, n_counts) \
  S(int64_t, n_grams)

/* --- dft (ONNX DFT): in[0] x f32 viewed as [outer, n, inner, complex]
 * (complex 1: real input, 2: (re, im) pairs), out f32 [outer, bins,
 * inner, 2] with, for bin k < bins, X_k = sum over t < min(n, length) of
 * x_t e^(-+ 2 pi i k t / length) (+ and a factor 1/length when inverse):
 * the signal zero-padded or truncated to `length`.  Naive O(n bins) sums
 * in double with angles reduced exactly ((k t) mod length), so bins that
 * are 0 in exact arithmetic come out within ~1e-13 of 0. */
#define QRT_DFT_PARAMS(S, A) \
  S(int32_t, inverse) S(int32_t, complex_in) S(int64_t, outer) S(int64_t, n) S(int64_t, inner) \
  S(int64_t, length) S(int64_t, bins)

/* --- det (ONNX Det): in[0] x [batch, m, m] (dtype QRT_F32 or QRT_F64),
 * in[1] scratch of qrt_det_scratch(p) bytes; out [batch]: LU
 * decomposition with partial pivoting (the first largest |pivot| in the
 * column) in double, det = sign * product of the pivots (0 when a column
 * has no non-zero pivot). */
#define QRT_DET_PARAMS(S, A) \
  S(int32_t, dtype) S(int64_t, batch) S(int64_t, m)

/* --- roi_align (ONNX RoiAlign, f32): in[0] x [n, c, h, w], in[1] rois
 * [num_rois, 4] (x1, y1, x2, y2), in[2] batch_indices int64 [num_rois];
 * out [num_rois, c, oh, ow].  Each output bin averages (AVG) or takes the
 * max of (MAX) grid_h x grid_w bilinear samples (sampling_ratio, or
 * ceil(roi size / output size) when 0); half_pixel shifts the roi by -0.5
 * pixel, otherwise rois are at least 1 x 1.  Samples outside
 * [-1, size] count as 0; the MAX mode is ONNX Runtime's (the max over
 * samples of the max of the four weighted corners). */
#define QRT_ROI_AVG 0
#define QRT_ROI_MAX 1
#define QRT_ROI_ALIGN_PARAMS(S, A) \
  S(int32_t, mode) S(int32_t, half_pixel) S(int32_t, sampling_ratio) S(float, spatial_scale) \
  S(int64_t, n) S(int64_t, c) S(int64_t, h) S(int64_t, w) S(int64_t, num_rois) S(int64_t, oh) S(int64_t, ow)

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

/* --- cast between f32 f64 f16 bf16 i8 u8 i16 u16 i32 i64 u32 u64 bool ---
 * from/to: qrt_dtype values.  Float -> int truncates toward zero,
 * saturating out of range values, NaN -> 0; -> bool: x != 0 (NaN -> 1);
 * int -> int wraps; -> f16 rounds to nearest even (f64 -> f16 directly,
 * no double rounding); -> bf16 rounds to nearest even from the exact
 * source value, NaN -> 0x7fc0; f64 -> f32 as C (IEEE, nearest even). */
#define QRT_CAST_PARAMS(S, A) \
  S(int32_t, from) S(int32_t, to) S(int64_t, n)

/* --- argmax / argmin over the middle axis of [outer, axis_len, inner] ----
 * out int64 [outer, inner]; kind QRT_ARGREDUCE_*; ties: first index, last
 * with select_last_index; NaN wins over numbers (first NaN, or last with
 * select_last_index), as numpy.  Kernels f32 f64 i32 i64. */
#define QRT_ARGREDUCE_MAX 0
#define QRT_ARGREDUCE_MIN 1
#define QRT_ARGREDUCE_PARAMS(S, A) \
  S(int32_t, kind) S(int32_t, select_last_index) S(int64_t, outer) S(int64_t, axis_len) S(int64_t, inner)

/* --- integer-only quantization (static W8A8; gemmlowp / TFLite style) ---
 * Activations: int8, asymmetric: real = scale * (q - zero_point), q in
 * [-128, 127].  Weights: int8, symmetric per output channel (zero point 0):
 * real = w_scale[n] * q.
 *
 * Requantization (qrt_requant below; every integer kernel uses it): an
 * int64 accumulator acc with |acc| < 2^32, a multiplier M0 in [0, 2^31)
 * (normally [2^30, 2^31)) and a total right shift s in [0, 62] (normally
 * 31..62; values outside are clamped to [0, 62]) represent real M = M0*2^-s:
 *   out = clamp(zero_point + round(acc * M0 / 2^s), out_min, out_max)
 * with round = half away from zero, computed exactly on the 64-bit
 * magnitude |acc| * M0 (< 2^63).  qrt_quantize_multiplier (qrt_quant.c,
 * compile time) turns a real M into (M0, s).
 *
 * qrt_quantize_f32_i8: y = clamp(rhe(x * inv_scale) + zero_point, qmin, qmax)
 * where x * inv_scale is one float multiply (inv_scale = 1/scale, computed
 * by the compiler in float), rhe = round half to even done in integer
 * arithmetic (independent of the FP rounding mode), NaN -> zero_point,
 * +-inf and huge values saturate to qmax / qmin. */
#define QRT_QUANTIZE_PARAMS(S, A) \
  S(int64_t, n) S(float, inv_scale) S(int32_t, zero_point) S(int32_t, qmin) S(int32_t, qmax)
/* qrt_dequantize_i8_f32: y = scale * (float)(q - zero_point) (the
 * difference exact in integers, then one conversion, one multiply).
 * qrt_quantize_f32_i16 / qrt_dequantize_i16_f32: the same with int16 codes
 * (qmin, qmax and the zero point within [-32768, 32767]). */
#define QRT_DEQUANTIZE_PARAMS(S, A) \
  S(int64_t, n) S(float, scale) S(int32_t, zero_point)
/* qrt_requantize_i32_i8 / qrt_requantize_i8_i8: x viewed as
 * [outer, channels, inner]; in[0] x (int32 / int8), in[1] M0 int32
 * [channels], in[2] s int32 [channels] (per tensor: channels = 1);
 *   y = requant(x - in_zero_point) (difference exact in int64). */
#define QRT_REQUANTIZE_PARAMS(S, A) \
  S(int32_t, in_zero_point) S(int32_t, out_zero_point) S(int32_t, out_min) S(int32_t, out_max) \
  S(int64_t, outer) S(int64_t, channels) S(int64_t, inner)

/* --- weight formats: the one table of the runtime and the compiler -------
 * F(id, name, bits, code_min, code_max): symmetric integer weight codes,
 * real weight = channel_scale[n] * group_mult[g][n] * code (group_mult
 * only when the layer is grouped, see qmatmul).  Storage in the packed B
 * layout (qrt_pack_b_i8 / qrt_pack_b_i4 below):
 *   int8: one byte per code;
 *   int4: two codes per byte (nibble = code + 8), half the int8 bytes.
 * The quantize pass picks codes and scales from this table; block float
 * formats (BFP, MX) will join it. */
#define QRT_WFMT_I8 0
#define QRT_WFMT_I4 1
#define QRT_ALL_WFORMATS(F) F(QRT_WFMT_I8, "int8", 8, -127, 127) F(QRT_WFMT_I4, "int4", 4, -8, 7)

/* --- block formats: the one table of the runtime and the compiler --------
 * F(id, name, element, element_bits, block, scale): a vector of K values
 * is cut into ceil(K / block) blocks along K (the last one padded with
 * zeros); each block shares one scale and stores one code per element.
 *   element: QRT_ELEM_INT (BFP / MXINT8: signed integer codes in
 *     [-(2^(b-1) - 1), 2^(b-1) - 1], b = element_bits, two's complement in
 *     b bits), QRT_ELEM_E4M3 / E5M2 / E3M2 / E2M3 / E2M1 (the OCP MX v1.0
 *     FP8 / FP6 / FP4 element encodings: sign, exponent, mantissa, bias
 *     2^(e-1) - 1; E4M3 has no infinities and one NaN code per sign
 *     (S.1111.111), E5M2 is IEEE-like with Inf and NaN, FP6 and FP4 have
 *     neither), QRT_ELEM_BBFP (bidirectional BFP, BBAL 2504.15721: see
 *     qrt_fmt_bfp.c for its exact definition);
 *   scale: QRT_SCALE_E8M0 (one byte e, scale 2^(e - 127), e = 255 NaN)
 *     or QRT_SCALE_E4M3 (NVFP4: one FP8 E4M3 byte per block times one
 *     float32 scale per vector, stored little-endian before the blocks).
 * Scale choice (OCP MX v1.0 section 6.3; BFP as quant-spec.md 7): per
 * block amax = max |x|; E = floor(log2 amax) - emax(element) with
 * emax = element_bits - 2 for QRT_ELEM_INT (so BFP's code is
 * round(x / 2^(floor(log2 amax) - b + 2)) and MXINT8 is BFP(8, 32): int8
 * codes with 6 fraction bits) and the largest normal exponent of the FP
 * element formats (E4M3 8, E5M2 15, E3M2 4, E2M3 2, E2M1 2); E is
 * clamped to [-127, 127]; amax = 0 gives E = -127 and all-zero codes; a
 * NaN or infinity in the block gives the NaN scale (255), whose values all
 * decode to NaN.  Codes: x / 2^E rounded to nearest, ties to even, and
 * saturated to the element's largest finite magnitude (never to Inf or
 * NaN).  NVFP4 (block 16): vector scale t = amax(vector) / (6 * 448)
 * (t = 1 when that is 0 or not finite), block scale s = E4M3(amax(block)
 * / 6 / t) rounded to nearest even and saturated at 448, codes
 * E2M1(x / (s t)) (s = 0: all codes 0).
 * Storage of one vector (qrt_bfmt_bytes): [NVFP4: 4 bytes t], then per
 * block 1 scale byte followed by ceil(block * element_bits / 8) bytes of
 * codes, packed as a little-endian bit stream (element i at bits
 * [i*element_bits, (i+1)*element_bits) of the block's code bytes, bit 0
 * the least significant bit of the first byte).
 * Every value a format can represent is exactly a float times the block
 * scale; unpack gives those element values as floats (exact) and the
 * block scales as doubles (exact), decode their products rounded to float
 * once. */
#define QRT_ELEM_INT 0
#define QRT_ELEM_E4M3 1
#define QRT_ELEM_E5M2 2
#define QRT_ELEM_E3M2 3
#define QRT_ELEM_E2M3 4
#define QRT_ELEM_E2M1 5
#define QRT_ELEM_BBFP 6
#define QRT_SCALE_E8M0 0
#define QRT_SCALE_E4M3 1
#define QRT_ALL_BFORMATS(F) \
  F(0, "bfp4_16", QRT_ELEM_INT, 4, 16, QRT_SCALE_E8M0) F(1, "bfp4_32", QRT_ELEM_INT, 4, 32, QRT_SCALE_E8M0) \
  F(2, "bfp4_64", QRT_ELEM_INT, 4, 64, QRT_SCALE_E8M0) F(3, "bfp6_16", QRT_ELEM_INT, 6, 16, QRT_SCALE_E8M0) \
  F(4, "bfp6_32", QRT_ELEM_INT, 6, 32, QRT_SCALE_E8M0) F(5, "bfp6_64", QRT_ELEM_INT, 6, 64, QRT_SCALE_E8M0) \
  F(6, "bfp8_16", QRT_ELEM_INT, 8, 16, QRT_SCALE_E8M0) F(7, "bfp8_32", QRT_ELEM_INT, 8, 32, QRT_SCALE_E8M0) \
  F(8, "bfp8_64", QRT_ELEM_INT, 8, 64, QRT_SCALE_E8M0) F(9, "mxint8", QRT_ELEM_INT, 8, 32, QRT_SCALE_E8M0) \
  F(10, "mxfp8_e4m3", QRT_ELEM_E4M3, 8, 32, QRT_SCALE_E8M0) F(11, "mxfp8_e5m2", QRT_ELEM_E5M2, 8, 32, QRT_SCALE_E8M0) \
  F(12, "mxfp6_e3m2", QRT_ELEM_E3M2, 6, 32, QRT_SCALE_E8M0) F(13, "mxfp6_e2m3", QRT_ELEM_E2M3, 6, 32, QRT_SCALE_E8M0) \
  F(14, "mxfp4", QRT_ELEM_E2M1, 4, 32, QRT_SCALE_E8M0) F(15, "nvfp4", QRT_ELEM_E2M1, 4, 16, QRT_SCALE_E4M3) \
  F(16, "bbfp4_32", QRT_ELEM_BBFP, 5, 32, QRT_SCALE_E8M0) F(17, "bbfp6_32", QRT_ELEM_BBFP, 7, 32, QRT_SCALE_E8M0) \
  F(18, "bbfp8_32", QRT_ELEM_BBFP, 9, 32, QRT_SCALE_E8M0)
#define QRT_BFORMAT_COUNT 19
/* Codes of the widest element (bbfp8: 9 bits): qrt_bfmt_elem_table's size. */
#define QRT_BFMT_MAX_CODES 512
/* One row of the table, as data (qrt_bformat_get). */
typedef struct qrt_bformat {
  const char *name;
  int32_t element, element_bits, block, scale;
} qrt_bformat;

/* --- bmatmul: float activations x block-format weights -------------------
 * A float [batch, M, K], in[1] the weights: b_runtime 0: packed per
 * column (column n is the qrt_bfmt_encode vector of W[:, n] at byte
 * n * qrt_bfmt_bytes(w_format, K); batch 1, all of A's leading dims
 * flattened into M); b_runtime 1: float [batch, K, N] computed at run time
 * (attention), each column quantized to w_format here; in[2] bias float
 * [N] or NULL; in[3] scratch of qrt_bmatmul_scratch(p) bytes.  Per batch:
 *   A_hat = A when a_format < 0, else each row of A encoded in a_format and
 *           decoded (blocks along K, scales chosen at run time per block:
 *           the MX way, no calibration);
 *   W_hat = the decoded weights (columns, blocks along K);
 *   C = A_hat @ W_hat + bias, by the float GEMM (qrt_sgemm_ex, its sum
 *       order) on one 16-column panel of W_hat at a time.
 * So the result equals a float matmul of the format's exact values, on
 * every SIMD path.  Except, the integer path (qrt_bdot.c): when both
 * formats have integer mantissas (qrt_bfmt_int_table >= 0: all but FP8
 * elements) and one block size, block * kmax_a * kmax_w < 2^31, then per
 * output, with a value = k 2^-sh s t (mantissa, element shift, block
 * scale, NVFP4 vector scale or 1):
 *   acc = sum over blocks b in order of (double)(sum_{k in b} ka kw) * (sa_b sw_b)
 *   C   = (float)(acc * (ta 2^-sha tw 2^-shw) + (double)bias)
 * (int32 block sums, every term exact in double; see qrt_bdot.c). */
#define QRT_BMATMUL_PARAMS(S, A) \
  S(int64_t, M) S(int64_t, N) S(int64_t, K) S(int32_t, a_format) S(int32_t, w_format) S(int64_t, batch) \
  S(int32_t, b_runtime)

/* --- qmatmul (int8 activations x int8/int4 weights), batched like matmul -- *
 * For each batch index b (row-major over batch_shape[0..batch_rank)):
 * A[b] (M x K int8 row-major) at in[0] + sum idx*a_batch_strides, B[b]
 * (K x N int8 row-major, or the qrt_pack_b_i8 layout when b_packed) at
 * in[1] + sum idx*b_batch_strides (strides in bytes of int8 elements /
 * of the packed layout), C[b] (M x N, dense, batches consecutive).
 * b_format QRT_WFMT_I4: B is always the packed int4 layout (b_packed 1,
 * no batch strides).
 *   acc[m,n] = sum_k (A[m,k] - a_zero_point) * B[k,n]   (int32, exact)
 * or, grouped (group > 0 and in[6] not NULL; group a multiple of 4):
 *   acc[m,n] = sum_g gmult[g,n] * sum_{k in group g} (A[m,k] - a_zp) B[k,n]
 * with gmult uint8 [ceil(K/group), N] at in[6] (integer group scales, so
 * the sum stays integer: the channel scale is the common factor).
 * qrt_qmatmul_i8 (int8 out):
 *   C[m,n] = requant(acc + bias[n]; M0 = mult[n], s = shift[n],
 *                    out_zero_point, out_min, out_max)
 *   in[2] bias int32 [N] or NULL (acc + bias is formed in int64),
 *   in[3] mult int32 [N], in[4] shift int8 [N] (0..62: a byte, not four,
 *   per channel of model size),
 *   in[5] colsum int32 [N] = sum_k B[k,n] (precomputed by the compiler
 *   for constant B) or NULL (computed on the fly, or not at all when
 *   a_zero_point is 0: qcc folds -a_zero_point * colsum into the bias).
 * qrt_qmatmul_i8_f32out (float out, e.g. the last layer):
 *   C[m,n] = scale[n] * (float)acc + bias[n]  (one conversion, multiply, add)
 *            [clamped to [f_min, f_max] when f_clamp: the float twin of the
 *            int8 epilogue's output range]
 *            [+ R[m,n]]  (a residual added last: the bits of a separate add)
 *   in[2] bias float [N] or NULL (then no add), in[3] scale float [N]
 *   (= a_scale * w_scale[n]), in[4] R float, C's shape, or NULL (R may be
 *   C's own buffer), in[5] colsum as above.
 * qrt_qmatmul_dyn_f32 (dynamic per-row activations: float A, float C):
 *   each row m of A is quantized at run time, symmetric, to codes in
 *   [-qa, qa] (qa = 2^(a_bits-1) - 1: 127 or 7) with
 *   s_m = amax_m / qa (amax_m = max |A[m,k]|; s_m = 1 when amax_m is 0 or
 *   not finite), code = clamp(round_half_even(A * (qa / amax_m))) (NaN ->
 *   0), then C[m,n] = (scale[n] * (float)acc) * s_m + bias[n];
 *   in[2] bias float [N] or NULL, in[3] scale float [N] (= w_scale[n]),
 *   in[7] scratch of qrt_qmatmul_dyn_scratch(p) bytes.
 * qrt_wmatmul_f32 (weight-only: float A, float C): C = A @ W + bias with
 *   W[k,n] = (scale[n] * (float)gmult[g,n]) * (float)code (gmult = 1 when
 *   not grouped), rebuilt per 16-column panel into scratch and multiplied
 *   by the float GEMM (qrt_sgemm_ex, its sum order); except when all
 *   batches together have at most QRT_WMATMUL_ROWS rows (decoding): then
 *   straight from the codes, per group sums scaled by gmult, then by
 *   scale[n] (the order is documented at qrt_wmm_rows in
 *   qrt_qmatmul_float.c), the same bits on every SIMD path;
 *   in[2] bias float [N] or NULL, in[3] scale float [N], in[7] scratch of
 *   qrt_wmatmul_scratch(p) bytes.  B must be packed (b_packed 1).
 * Limit: acc is exact while K * 255 * 128 < 2^31, i.e. K <= 65792 (int8,
 * not grouped); grouped int4: K * 128 * 8 * 255 < 2^31 (K <= 8224, with
 * a_zero_point folded).  Past that every path still gives the same bits
 * (all sums wrap modulo 2^32 identically) but they are not the true sums.
 * The result does not depend on the SIMD path (AVX-512 VNNI, AVX2, NEON,
 * portable C) or the blocking: integer sums are exact.
 * qrt_qmatmul_i16 (int16 activations, qrt_qmatmul16.c): A int16 codes,
 *   B int16 codes [..., K, N] computed at run time (b_bits 16: attention's
 *   q.k^T and p.v) or a constant int8 weight [K, N], row-major, not packed
 *   (b_bits 8; b_packed 0, b_format QRT_WFMT_I8, group 0), C int16 codes;
 *   batches as above (strides in elements).  With S_n = sum_k B[k,n]:
 *     acc[m,n] = sum_k A[m,k] * B[k,n] - a_zero_point * S_n + bias[n]
 *   every product exact in int32 (|A B| <= 2^30), every sum in int64;
 *   in[2] bias int64 [N] or NULL (int64: a 16-bit zero point folded into
 *   it, z * S_n, can pass 2^31), in[3] mult int32 [N], in[4] shift int8
 *   [N]; C = qrt_requant_wide(acc; ...) (qrt_requant for any int64 acc).
 *   acc is the true sum while K < 2^30 (|acc| < 2^62). */
/* Strided operands (qrt_qmatmul_i8 and qrt_qmatmul_i8_f32out without a
 * residual; the fold-transposes pass): with strided != 0, A's rows are lda
 * elements apart (k contiguous), B[k, n] of a run-time B is at k * rs_b +
 * n * cs_b, C's rows are rs_c apart (n contiguous) and its batches at
 * c_batch_strides; a transposed head layout read and written in place.
 * strided == 0: dense, lda = K, rs_b = N, cs_b = 1, rs_c = N, batch b of C
 * at b * M * N. */
#define QRT_WMATMUL_ROWS 4
#define QRT_QMATMUL_PARAMS(S, A) \
  S(int32_t, a_zero_point) S(int32_t, out_zero_point) S(int32_t, out_min) S(int32_t, out_max) \
  S(int32_t, b_packed) S(int32_t, batch_rank) S(int64_t, M) S(int64_t, N) S(int64_t, K) \
  A(int64_t, batch_shape, 6) A(int64_t, a_batch_strides, 6) A(int64_t, b_batch_strides, 6) \
  S(int32_t, b_format) S(int32_t, a_bits) S(int64_t, group) S(int32_t, b_bits) \
  S(int32_t, f_clamp) S(float, f_min) S(float, f_max) \
  S(int32_t, strided) S(int64_t, lda) S(int64_t, rs_b) S(int64_t, cs_b) S(int64_t, rs_c) \
  A(int64_t, c_batch_strides, 6)

/* --- MSQ (MQuant 2502.00425: static activation parameters per modality):
 * in[1] (quantize) / in[5] (matmul) holds the modality of each of the M
 * rows (mod_dtype QRT_F32, QRT_F64 or an integer type; index = the value
 * clamped to [0, n_mod - 1], NaN -> 0).
 * qrt_msq_quantize_f32_i8: x float [M, K] -> int8; each row as
 *   qrt_quantize_f32_i8 with its modality's inv_scale[m], zero_point[m] and
 *   [qmin, qmax].
 * qrt_msqmatmul_i8_f32: A int8 codes [M, K] (of qrt_msq_quantize_f32_i8),
 *   float C [M, N]; each run of rows of one modality m is multiplied as
 *   qrt_qmatmul_i8 with row m of the int32 bias [n_mod, N] (m's input zero
 *   point folded in), mult [n_mod, N] and shift int8 [n_mod, N] (the
 *   per-modality requantization constants) into int8 codes of
 *   out_zero_point[m], [out_min[m], out_max[m]], then dequantized as
 *   qrt_dequantize_i8_f32 with out_scale[m].  qrt_msqmatmul_i8 stops at the
 *   int8 codes (out int8 [M, N]), for an output the next int8 op reads
 *   (its parameters then equal for every modality).  All rows go through
 *   one integer GEMM whose epilogue picks each row's modality constants
 *   (qrt_qgemm_args.row_set), and every sum is exact: the result does not
 *   depend on how the rows are grouped or ordered.  in[1] B codes
 *   (b_packed, b_format, group, in[6] gmult as qmatmul); in[7] unused.
 * qrt_msqmatmul_i8_f32out: the float epilogue of qrt_qmatmul_i8_f32out per
 *   modality: in[2] bias_f and in[3] scale_f float [n_mod, N], row r of
 *   modality m: C = clamp(scale_f[m] acc + bias_f[m], f_min[m], f_max[m])
 *   [+ in[4][r] residual, float [M, N], may be C itself]; acc the sum of the
 *   codes' products (m's input zero point folded into bias_f, as into the
 *   int32 bias above). */
enum { QRT_MSQ_MAX_MODALITIES = 8 };
#define QRT_MSQ_QUANTIZE_PARAMS(S, A) \
  S(int64_t, M) S(int64_t, K) S(int32_t, n_mod) S(int32_t, mod_dtype) S(int32_t, qmin) S(int32_t, qmax) \
  A(float, inv_scale, 8) A(int32_t, zero_point, 8)
/* qrt_msq_lut_i8: x int8 [M, K] -> y int8 [M, K]; each run of rows of one
 * modality m as qrt_lut_i8 with row m of the table in[1] (int8 [n_mod,
 * 256]); in[2] the modalities. qrt_msq_lut_i8_f32: the same with a float
 * table [n_mod, 256] and float y (qrt_lut_i8_f32 per run). */
#define QRT_MSQ_LUT_PARAMS(S, A) S(int64_t, M) S(int64_t, K) S(int32_t, n_mod) S(int32_t, mod_dtype)
#define QRT_MSQMATMUL_PARAMS(S, A) \
  S(int64_t, M) S(int64_t, N) S(int64_t, K) S(int32_t, b_packed) S(int32_t, b_format) S(int64_t, group) \
  S(int32_t, n_mod) S(int32_t, mod_dtype) \
  A(float, out_scale, 8) A(int32_t, out_zero_point, 8) A(int32_t, out_min, 8) A(int32_t, out_max, 8) \
  A(float, f_min, 8) A(float, f_max, 8)

/* --- qconv (int8 W8A8), geometry as conv ---------------------------------
 * in[0] x int8 [n, c_in, D, H, W] (zero point a_zero_point),
 * in[1] w int8: w_packed == 0: [c_out, c_in/group, kd, kh, kw];
 *   w_packed != 0: per group g the qrt_pack_b_i8 layout of the K x cout_g
 *   matrix W_g^T (K = c_in/group*kd*kh*kw, row k = (ci, kd, kh, kw)
 *   row-major, or (kd, kh, kw, ci) where the channels-last im2row applies,
 *   qrt_qconv_padded_nhwc; integer sums do not depend on the order),
 *   groups consecutive, each qrt_packed_b_i8_size(K, cout_g)
 *   bytes (qrt_pack_conv_w_i8 builds it); w_format QRT_WFMT_I4 (only with
 *   w_packed and the GEMM path, qrt_qconv_packs_i4): the int4 layout,
 *   qrt_packed_b_i4_size(K, cout_g) bytes per group;
 * in[2] bias int32 [c_out] or NULL, in[3] mult int32 [c_out], in[4] shift
 * int8 [c_out], in[5] colsum int32 [c_out] = sum of the weights of each
 * output channel, or NULL (computed on the fly), in[6] scratch of
 * qrt_qconv_scratch_i8(p) bytes or NULL (then a slower direct loop gives
 * the same bits).
 * y[n, co, od, oh, ow] = requant(acc + bias[co]; mult[co], shift[co],
 * out_zero_point, out_min, out_max) with acc = sum (x - a_zero_point) * w
 * over (ci, kd, kh, kw); padding cells are taken as x = a_zero_point (real
 * value 0), i.e. they add nothing.  Fused ReLU / clip: narrow out_min /
 * out_max.  Limit on K as qmatmul. */
#define QRT_QCONV_PARAMS(S, A) \
  S(int32_t, group) S(int32_t, w_packed) S(int32_t, a_zero_point) S(int32_t, out_zero_point) \
  S(int32_t, out_min) S(int32_t, out_max) \
  S(int64_t, n) S(int64_t, c_in) S(int64_t, c_out) \
  A(int64_t, in_spatial, 3) A(int64_t, out_spatial, 3) A(int64_t, kernel, 3) \
  A(int64_t, strides, 3) A(int64_t, dilations, 3) A(int64_t, pads_begin, 3) S(int32_t, w_format)

/* --- online Hadamard transform (f32) ------------------------------------
 * The rotation QuaRot computes at run time (before the MLP down projection,
 * whose weights absorb its inverse).  in[0] x viewed as [rows, n] with
 * n = m * p, p a power of two; in[1] H_m: int8 [m, m] row-major, entries
 * +-1 (qcc_hadamard(m), compiler/linalg.h), NULL when m == 1; in[2] scratch
 * of qrt_hadamard_scratch_f32(p) bytes (0, i.e. NULL, when m == 1).
 * out[0] y [rows, n]: the same buffer as x (in place) or disjoint from it.
 *   y = scale * x (H_m (x) S_p),   S_p[b, d] = (-1)^popcount(b & d)
 * (S_p the Sylvester-Hadamard matrix: the same Kronecker order as the
 * compiler's qcc_hadamard(n)).  With X[a, b] = x[a*p + b], Y = scale H_m^T X S_p,
 * computed per row in this order:
 *  1. Z[c, :] = H_m[0,c] X[0,:] + H_m[1,c] X[1,:] + ... summed in increasing
 *     a, starting from the (exact) first term; skipped when m == 1;
 *  2. each Z[c, :] gets the fast Walsh-Hadamard transform: stages
 *     h = 1, 2, 4, ..., p/2, each replacing (u, v) = (z[j], z[j+h]) by
 *     (u + v, u - v) for every j with (j & h) == 0;
 *  3. y = z * scale (one multiply).
 * Products with +-1 are exact, so FMA contraction cannot change the bits.
 * Invalid params (n not m times a power of two, m > 1 without H_m or
 * scratch) write zeros. */
#define QRT_HADAMARD_PARAMS(S, A) S(int64_t, rows) S(int64_t, n) S(int64_t, m) S(float, scale)

/* --- integer-only nonlinear ops on int8 (--integer-only) ----------------
 * Same activation format as above (real = scale * (q - zero_point), q in
 * [-128, 127]).  The kernels use integer arithmetic only; every constant
 * that depends on a float (scales, epsilon, gamma, beta, the function
 * itself) comes from a builder below, run by the compiler (all builders
 * return 0, or -1 for arguments they reject).  Measured errors:
 * docs/quantization.md, "Integer-only kernels".
 *
 * qrt_lut_i8 (qrt_lut.c): y[i] = table[x[i] + 128], i < n.
 *   in[0] x int8 [n], in[1] table int8 [256] from qrt_build_lut_i8;
 *   out[0] y int8 [n].  Exact: the table holds the best int8 value.
 * qrt_lut_i8_f32 (qrt_lut.c, static int8 schemes): y[i] = table[x[i] +
 *   128] with a float table [256] from qrt_build_lut_f32 (f of each code's
 *   dequantized value, as qrt_dequantize_i8_f32 then qrt_unary_f32 compute
 *   them); out[0] y float [n]. */
#define QRT_LUT_PARAMS(S, A) S(int64_t, n)
/* qrt_qsoftmax_i8 (qrt_qsoftmax.c): softmax over the last axis of x
 * [outer, axis_len], int8 in (any scale / zero point: the scale is in the
 * table, the zero point cancels), int8 out with scale 1/256 and zero point
 * -128 (the TFLite convention: y = clamp(round(256 p) - 128, -128, 127)).
 *   in[0] x int8, in[1] table int32 [256] from qrt_build_qsoftmax_i8,
 *   in[2] mask uint8 [mask_n] or NULL (mask_n 0): element j of row o
 *   takes part iff mask[(o * axis_len + j) % mask_n] != 0 (a [L, L]
 *   causal mask repeats over batch and heads); excluded elements get
 *   p = 0 (-128), as an additive -inf / -1e4 mask gives in float; a row
 *   with no element left takes all of them (what an additive mask that
 *   covers the whole row gives);
 *   out[0] y int8 [outer, axis_len].
 * Error: at most 1 LSB from the correctly rounded exact softmax, and only
 * when 256 p lies within (axis_len + 4) * 2^-23 of a rounding boundary
 * (derivation in qrt_qsoftmax.c); axis_len <= 2^20. */
#define QRT_QSOFTMAX_PARAMS(S, A) S(int64_t, outer) S(int64_t, axis_len) S(int64_t, mask_n)
/* qrt_softmax_codes_f32 (qrt_lut.c, static int8 schemes): float
 * softmax over the last axis of values read from int8 codes, params as
 * qrt_qsoftmax_i8's.  Element j of row o is x = table[code + 128] where
 * mask[(o * axis_len + j) % mask_n] != 0 (or every element, mask NULL),
 * and -inf elsewhere; then qrt_softmax_f32's row (max, exp, sum order,
 * division), so y has the bits of that kernel on those x.
 *   in[0] codes int8 [outer, axis_len], in[1] table float [256] (the
 *   float values the codes stood for: dequantize and constant factors,
 *   built by the compiler with the runtime's formulas), in[2] mask uint8
 *   [mask_n] (constant keep bytes, or a bool tensor computed at run time)
 *   or NULL; out[0] y float [outer, axis_len].
 * The compiler uses it where the masked-out elements' exp is 0 anyway
 * (attention's causal mask, passes/quantize_nonlinear.c). */
/* qrt_softmax_codes_i8 (qrt_lut.c): qrt_softmax_codes_f32 whose output
 * goes straight to int8 codes, as qrt_quantize_f32_i8 with inv_scale,
 * zero_point, qmin, qmax would make them of its float output (the same
 * bits; passes/fuse_output_quantize.c), a block of rows at a time while it
 * is in L1; axis_len <= QRT_SOFTMAX_CODES_MAX_ROW (larger rows: nothing
 * is written, the compiler never asks).  out[0] y int8 [outer, axis_len]. */
#define QRT_SOFTMAX_CODES_MAX_ROW 4096 /* floats of the kernel's block (16 KiB, L1) */
#define QRT_SOFTMAX_CODES_Q_PARAMS(S, A) \
  S(int64_t, outer) S(int64_t, axis_len) S(int64_t, mask_n) \
  S(float, inv_scale) S(int32_t, zero_point) S(int32_t, qmin) S(int32_t, qmax)
/* qrt_dbfp_softmax_f32 (qrt_dbfp.c, `--softmax-format dbfpM`): softmax
 * over the last axis of x [outer, axis_len], float in and out, each row
 * encoded in DBFP(bits) (bits in [4, 8]) and exp read from a table:
 *   in[0] x float, in[1] table float [qrt_dbfp_table_size(bits)] from
 *   qrt_build_dbfp_softmax_table; out[0] y float [outer, axis_len].
 * The format, the kernel's arithmetic and its error bound against the
 * exact softmax are at the top of qrt_dbfp.c. */
#define QRT_DBFP_SOFTMAX_PARAMS(S, A) S(int64_t, outer) S(int64_t, axis_len) S(int32_t, bits)
/* qrt_qlayernorm_i8 / qrt_qrmsnorm_i8 (qrt_qnorm.c): over the last axis
 * of x [outer, norm_size], 1 <= norm_size <= 2^23,
 *   layernorm: y = (x - mean) / sqrt(var + eps) * gamma + beta,
 *   rmsnorm:   y = x / sqrt(mean(x^2) + eps) * gamma + beta
 * (x the real input values: rmsnorm uses the zero point), then
 * y_q = clamp(out_zero_point + round(y / out_scale), out_min, out_max),
 * round half away from zero.
 *   in[0] x int8, in[1] gamma_q int32 [norm_size], in[2] beta_q int32
 *   [norm_size] or NULL (beta 0); out[0] y int8 [outer, norm_size].
 * qrt_build_qnorm_i8 fills every field but outer (and out_min / out_max
 * with -128 / 127: narrow them to fuse a ReLU) and gamma_q / beta_q:
 *   eps_q = round(n^2 eps / in_scale^2 * 2^eps_shift), eps_shift even;
 *   gamma_q[c] = round(gamma[c] / out_scale * 2^gamma_shift);
 *   beta_q[c] = round(beta[c] / out_scale * 2^beta_shift);
 *   norm_shift: fraction bits of the normalized value.
 * Error: at most 1 LSB from the correctly rounded exact result, and only
 * near a rounding boundary (bound in qrt_qnorm.c). */
#define QRT_QNORM_PARAMS(S, A) \
  S(int32_t, in_zero_point) S(int32_t, out_zero_point) S(int32_t, out_min) S(int32_t, out_max) \
  S(int32_t, eps_shift) S(int32_t, norm_shift) S(int32_t, gamma_shift) S(int32_t, beta_shift) \
  S(int64_t, eps_q) S(int64_t, outer) S(int64_t, norm_size)

/* qrt_qadd_i8 (qrt_qadd.c): y = a + b on int8 with numpy broadcasting
 * (rank, out_shape, a_strides, b_strides as QRT_BINARY_PARAMS):
 *   y = clamp(out_zero_point + round(((a - a_zero_point) a_mult +
 *             (b - b_zero_point) b_mult) / 2^shift), out_min, out_max)
 * round half away from zero, in int64; a_mult, b_mult, shift from
 * qrt_build_qadd_i8 (a_mult ~ a_scale / out_scale 2^shift).
 *   in[0] a int8, in[1] b int8; out[0] y int8.
 * Error: at most 1 LSB from the correctly rounded sum, and only near a
 * rounding boundary (bound in qrt_qadd.c). */
#define QRT_QADD_PARAMS(S, A) \
  S(int32_t, rank) A(int64_t, out_shape, 8) A(int64_t, a_strides, 8) A(int64_t, b_strides, 8) \
  S(int32_t, a_zero_point) S(int32_t, b_zero_point) S(int32_t, out_zero_point) \
  S(int32_t, a_mult) S(int32_t, b_mult) S(int32_t, shift) S(int32_t, out_min) S(int32_t, out_max)

#define QRT_ALL_PARAMS(X) \
  X(unary, QRT_UNARY_PARAMS) X(binary, QRT_BINARY_PARAMS) X(binary_q, QRT_BINARY_Q_PARAMS) X(where, QRT_WHERE_PARAMS) \
  X(conv, QRT_CONV_PARAMS) X(pool, QRT_POOL_PARAMS) X(matmul, QRT_MATMUL_PARAMS) \
  X(softmax, QRT_SOFTMAX_PARAMS) X(norm, QRT_NORM_PARAMS) X(norm_q, QRT_NORM_Q_PARAMS) X(reduce, QRT_REDUCE_PARAMS) \
  X(copy, QRT_COPY_PARAMS) X(concat, QRT_CONCAT_PARAMS) X(gather, QRT_GATHER_PARAMS) \
  X(pad, QRT_PAD_PARAMS) X(cast, QRT_CAST_PARAMS) \
  X(argreduce, QRT_ARGREDUCE_PARAMS) \
  X(gather_elements, QRT_GATHER_ELEMENTS_PARAMS) X(gather_nd, QRT_GATHER_ND_PARAMS) \
  X(scatter_elements, QRT_SCATTER_ELEMENTS_PARAMS) X(scatter_nd, QRT_SCATTER_ND_PARAMS) \
  X(resize, QRT_RESIZE_PARAMS) X(cumsum, QRT_CUMSUM_PARAMS) X(topk, QRT_TOPK_PARAMS) \
  X(grid_sample, QRT_GRID_SAMPLE_PARAMS) X(tfidf, QRT_TFIDF_PARAMS) X(dft, QRT_DFT_PARAMS) \
  X(det, QRT_DET_PARAMS) X(roi_align, QRT_ROI_ALIGN_PARAMS) \
  X(quantize, QRT_QUANTIZE_PARAMS) X(dequantize, QRT_DEQUANTIZE_PARAMS) \
  X(requantize, QRT_REQUANTIZE_PARAMS) X(qmatmul, QRT_QMATMUL_PARAMS) X(qconv, QRT_QCONV_PARAMS) \
  X(hadamard, QRT_HADAMARD_PARAMS) \
  X(lut, QRT_LUT_PARAMS) X(qsoftmax, QRT_QSOFTMAX_PARAMS) X(softmax_codes_q, QRT_SOFTMAX_CODES_Q_PARAMS) \
  X(qnorm, QRT_QNORM_PARAMS) \
  X(dbfp_softmax, QRT_DBFP_SOFTMAX_PARAMS) \
  X(qadd, QRT_QADD_PARAMS) X(bmatmul, QRT_BMATMUL_PARAMS) X(msq_quantize, QRT_MSQ_QUANTIZE_PARAMS) X(msqmatmul, QRT_MSQMATMUL_PARAMS) \
  X(msq_lut, QRT_MSQ_LUT_PARAMS) \
  X(kv, QRT_KV_PARAMS) X(attention, QRT_ATTENTION_PARAMS)

typedef struct qrt_unary_params { QRT_UNARY_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_unary_params;
typedef struct qrt_binary_params { QRT_BINARY_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_binary_params;
typedef struct qrt_binary_q_params { QRT_BINARY_Q_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_binary_q_params;
typedef struct qrt_where_params { QRT_WHERE_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_where_params;
typedef struct qrt_conv_params { QRT_CONV_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_conv_params;
typedef struct qrt_pool_params { QRT_POOL_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_pool_params;
typedef struct qrt_matmul_params { QRT_MATMUL_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_matmul_params;
typedef struct qrt_softmax_params { QRT_SOFTMAX_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_softmax_params;
typedef struct qrt_norm_params { QRT_NORM_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_norm_params;
typedef struct qrt_norm_q_params { QRT_NORM_Q_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_norm_q_params;
typedef struct qrt_reduce_params { QRT_REDUCE_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_reduce_params;
typedef struct qrt_copy_params { QRT_COPY_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_copy_params;
typedef struct qrt_concat_params { QRT_CONCAT_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_concat_params;
typedef struct qrt_gather_params { QRT_GATHER_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_gather_params;
typedef struct qrt_pad_params { QRT_PAD_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_pad_params;
typedef struct qrt_cast_params { QRT_CAST_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_cast_params;
typedef struct qrt_argreduce_params { QRT_ARGREDUCE_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_argreduce_params;
typedef struct qrt_gather_elements_params { QRT_GATHER_ELEMENTS_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_gather_elements_params;
typedef struct qrt_gather_nd_params { QRT_GATHER_ND_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_gather_nd_params;
typedef struct qrt_scatter_elements_params { QRT_SCATTER_ELEMENTS_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_scatter_elements_params;
typedef struct qrt_scatter_nd_params { QRT_SCATTER_ND_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_scatter_nd_params;
typedef struct qrt_resize_params { QRT_RESIZE_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_resize_params;
typedef struct qrt_cumsum_params { QRT_CUMSUM_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_cumsum_params;
typedef struct qrt_topk_params { QRT_TOPK_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_topk_params;
typedef struct qrt_grid_sample_params { QRT_GRID_SAMPLE_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_grid_sample_params;
typedef struct qrt_tfidf_params { QRT_TFIDF_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_tfidf_params;
typedef struct qrt_dft_params { QRT_DFT_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_dft_params;
typedef struct qrt_det_params { QRT_DET_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_det_params;
typedef struct qrt_roi_align_params { QRT_ROI_ALIGN_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_roi_align_params;
typedef struct qrt_quantize_params { QRT_QUANTIZE_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_quantize_params;
typedef struct qrt_dequantize_params { QRT_DEQUANTIZE_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_dequantize_params;
typedef struct qrt_requantize_params { QRT_REQUANTIZE_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_requantize_params;
typedef struct qrt_qmatmul_params { QRT_QMATMUL_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_qmatmul_params;
typedef struct qrt_qconv_params { QRT_QCONV_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_qconv_params;
typedef struct qrt_hadamard_params { QRT_HADAMARD_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_hadamard_params;
typedef struct qrt_lut_params { QRT_LUT_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_lut_params;
typedef struct qrt_qsoftmax_params { QRT_QSOFTMAX_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_qsoftmax_params;
typedef struct qrt_softmax_codes_q_params { QRT_SOFTMAX_CODES_Q_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_softmax_codes_q_params;
typedef struct qrt_dbfp_softmax_params { QRT_DBFP_SOFTMAX_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_dbfp_softmax_params;
typedef struct qrt_qnorm_params { QRT_QNORM_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_qnorm_params;
typedef struct qrt_qadd_params { QRT_QADD_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_qadd_params;
typedef struct qrt_bmatmul_params { QRT_BMATMUL_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_bmatmul_params;
typedef struct qrt_msq_quantize_params { QRT_MSQ_QUANTIZE_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_msq_quantize_params;
typedef struct qrt_msqmatmul_params { QRT_MSQMATMUL_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_msqmatmul_params;
typedef struct qrt_msq_lut_params { QRT_MSQ_LUT_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_msq_lut_params;
typedef struct qrt_kv_params { QRT_KV_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_kv_params;
typedef struct qrt_attention_params { QRT_ATTENTION_PARAMS(QRT_DECLARE_SCALAR, QRT_DECLARE_ARRAY) } qrt_attention_params;
/* Where a scatter's updates go (qrt_scatter_*_walk, below). */
typedef void (*qrt_scatter_sink)(void *ctx, int64_t target, int64_t update, int64_t n);
/* The row function of qrt_bin_drive (qrt_broadcast.c, below). */
typedef void (*qrt_bin_row_fn)(int64_t n, const void *a, int64_t sa, const void *b, int64_t sb,
                               void *y, const void *ctx);

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
  K(qrt_binary_f32_i8, binary_q, "qrt_binary.c") \
  K(qrt_binary_i32, binary, "qrt_binary.c") K(qrt_binary_i64, binary, "qrt_binary.c") \
  K(qrt_binary_i8, binary, "qrt_binary.c") K(qrt_binary_u8, binary, "qrt_binary.c") \
  K(qrt_binary_bool, binary, "qrt_binary.c") \
  K(qrt_binary_i16, binary, "qrt_binary.c") K(qrt_binary_u16, binary, "qrt_binary.c") \
  K(qrt_binary_u32, binary, "qrt_binary.c") K(qrt_binary_u64, binary, "qrt_binary.c") \
  K(qrt_where, where, "qrt_where.c") \
  K(qrt_conv_f32, conv, "qrt_conv.c") \
  K(qrt_pool_f32, pool, "qrt_pool.c") K(qrt_pool_argmax_f32, pool, "qrt_pool.c") \
  K(qrt_maxpool_i8, pool, "qrt_pool.c") \
  K(qrt_matmul_f32, matmul, "qrt_matmul.c") K(qrt_matmul_i32, matmul, "qrt_int_linear.c") \
  K(qrt_conv_i32, conv, "qrt_int_linear.c") \
  K(qrt_softmax_f32, softmax, "qrt_softmax.c") \
  K(qrt_layernorm_f32, norm, "qrt_norm.c") K(qrt_rmsnorm_f32, norm, "qrt_norm.c") \
  K(qrt_layernorm_f32_i8, norm_q, "qrt_norm.c") K(qrt_rmsnorm_f32_i8, norm_q, "qrt_norm.c") \
  K(qrt_reduce_f32, reduce, "qrt_reduce.c") K(qrt_reduce_i32, reduce, "qrt_reduce.c") \
  K(qrt_reduce_i64, reduce, "qrt_reduce.c") K(qrt_reduce_f64, reduce, "qrt_reduce.c") \
  K(qrt_copy, copy, "qrt_copy.c") \
  K(qrt_concat, concat, "qrt_concat.c") \
  K(qrt_gather, gather, "qrt_gather.c") \
  K(qrt_gather_elements, gather_elements, "qrt_gather.c") K(qrt_gather_nd, gather_nd, "qrt_gather.c") \
  K(qrt_scatter_elements, scatter_elements, "qrt_scatter.c") K(qrt_scatter_nd, scatter_nd, "qrt_scatter.c") \
  K(qrt_resize, resize, "qrt_resize.c") K(qrt_grid_sample, grid_sample, "qrt_grid_sample.c") \
  K(qrt_tfidf, tfidf, "qrt_tfidf.c") K(qrt_dft, dft, "qrt_dft.c") \
  K(qrt_det, det, "qrt_det.c") K(qrt_roi_align, roi_align, "qrt_roi_align.c") \
  K(qrt_cumsum, cumsum, "qrt_cumsum.c") K(qrt_topk, topk, "qrt_topk.c") \
  K(qrt_pad, pad, "qrt_pad.c") \
  K(qrt_cast, cast, "qrt_cast.c") \
  K(qrt_argreduce_f32, argreduce, "qrt_argreduce.c") K(qrt_argreduce_f64, argreduce, "qrt_argreduce.c") \
  K(qrt_argreduce_i32, argreduce, "qrt_argreduce.c") K(qrt_argreduce_i64, argreduce, "qrt_argreduce.c") \
  K(qrt_quantize_f32_i8, quantize, "qrt_quant.c") K(qrt_dequantize_i8_f32, dequantize, "qrt_quant.c") \
  K(qrt_quantize_f32_i16, quantize, "qrt_quant.c") K(qrt_dequantize_i16_f32, dequantize, "qrt_quant.c") \
  K(qrt_qmatmul_i16, qmatmul, "qrt_qmatmul16.c") \
  K(qrt_requantize_i32_i8, requantize, "qrt_quant.c") K(qrt_requantize_i8_i8, requantize, "qrt_quant.c") \
  K(qrt_qmatmul_i8, qmatmul, "qrt_qmatmul.c") K(qrt_qmatmul_i8_f32out, qmatmul, "qrt_qmatmul.c") \
  K(qrt_qconv_i8, qconv, "qrt_qconv.c") \
  K(qrt_qmatmul_dyn_f32, qmatmul, "qrt_qmatmul_float.c") \
  K(qrt_wmatmul_f32, qmatmul, "qrt_qmatmul_float.c") \
  K(qrt_hadamard_f32, hadamard, "qrt_hadamard.c") \
  K(qrt_lut_i8, lut, "qrt_lut.c") K(qrt_lut_i8_f32, lut, "qrt_lut.c") K(qrt_qsoftmax_i8, qsoftmax, "qrt_qsoftmax.c") \
  K(qrt_softmax_codes_f32, qsoftmax, "qrt_lut.c") K(qrt_softmax_codes_i8, softmax_codes_q, "qrt_lut.c") K(qrt_attention_f32, attention, "qrt_attention.c") \
  K(qrt_dbfp_softmax_f32, dbfp_softmax, "qrt_dbfp.c") \
  K(qrt_qlayernorm_i8, qnorm, "qrt_qnorm.c") K(qrt_qrmsnorm_i8, qnorm, "qrt_qnorm.c") \
  K(qrt_qadd_i8, qadd, "qrt_qadd.c") K(qrt_bmatmul_f32, bmatmul, "qrt_bmatmul.c") \
  K(qrt_msq_quantize_f32_i8, msq_quantize, "qrt_msq.c") K(qrt_msqmatmul_i8_f32, msqmatmul, "qrt_msq.c") K(qrt_msqmatmul_i8_f32out, msqmatmul, "qrt_msq.c") \
  K(qrt_msqmatmul_i8, msqmatmul, "qrt_msq.c") K(qrt_msq_lut_i8, msq_lut, "qrt_msq.c") K(qrt_msq_lut_i8_f32, msq_lut, "qrt_msq.c") \
  K(qrt_kv_load, kv, "qrt_kvcache.c") K(qrt_kv_store_elements, kv, "qrt_kvcache.c") \
  K(qrt_kv_store_nd, kv, "qrt_kvcache.c")

/* D(file, file it needs): paste both when the first is used. */
#define QRT_FILE_DEPS(D) D("qrt_matmul.c", "qrt_parallel.c") D("qrt_qmatmul.c", "qrt_parallel.c") \
  D("qrt_softmax.c", "qrt_parallel.c") D("qrt_norm.c", "qrt_parallel.c") D("qrt_broadcast.c", "qrt_parallel.c") \
  D("qrt_unary.c", "qrt_parallel.c") D("qrt_copy.c", "qrt_parallel.c") D("qrt_quant.c", "qrt_parallel.c") \
  D("qrt_lut.c", "qrt_parallel.c") \
  D("qrt_conv.c", "qrt_matmul.c") D("qrt_qconv.c", "qrt_qmatmul.c") \
  D("qrt_qmatmul_float.c", "qrt_qmatmul.c") D("qrt_qmatmul_float.c", "qrt_matmul.c") \
  D("qrt_qmatmul_float.c", "qrt_quant.c") D("qrt_lut.c", "qrt_unary.c") D("qrt_lut.c", "qrt_softmax.c") D("qrt_lut.c", "qrt_quant.c") D("qrt_norm.c", "qrt_quant.c") D("qrt_binary.c", "qrt_quant.c") \
  D("qrt_binary.c", "qrt_broadcast.c") D("qrt_qadd.c", "qrt_broadcast.c") D("qrt_bmatmul.c", "qrt_bdot.c") D("qrt_bmatmul.c", "qrt_fmt.c") \
  D("qrt_bmatmul.c", "qrt_matmul.c") D("qrt_bdot.c", "qrt_fmt.c") \
  D("qrt_fmt.c", "qrt_fmt_mx.c") D("qrt_fmt.c", "qrt_fmt_bfp.c") \
  D("qrt_msq.c", "qrt_qmatmul.c") D("qrt_msq.c", "qrt_quant.c") D("qrt_msq.c", "qrt_lut.c") \
  D("qrt_kvcache.c", "qrt_scatter.c") D("qrt_kvcache.c", "qrt_quant.c") \
  D("qrt_bdot.c", "qrt_bdot_enc.c") D("qrt_bdot_enc.c", "qrt_fmt.c") \
  D("qrt_attention.c", "qrt_matmul.c") D("qrt_attention.c", "qrt_softmax.c")

/* Kernels that take a scratch buffer: X(kernel, size function (params ->
 * bytes, 0 = none needed), input slot).  The memory planner passes a buffer
 * of at least that many bytes, aligned for float, in that slot. */
#define QRT_ALL_SCRATCH(X) X(qrt_conv_f32, qrt_conv_scratch_f32, 3) \
  X(qrt_qconv_i8, qrt_qconv_scratch_i8, 6) X(qrt_topk, qrt_topk_scratch, 1) \
  X(qrt_det, qrt_det_scratch, 1) \
  X(qrt_qmatmul_dyn_f32, qrt_qmatmul_dyn_scratch, 7) X(qrt_wmatmul_f32, qrt_wmatmul_scratch, 7) \
  X(qrt_hadamard_f32, qrt_hadamard_scratch_f32, 2) X(qrt_bmatmul_f32, qrt_bmatmul_scratch, 3) \
  X(qrt_kv_store_elements, qrt_kv_store_scratch, 3) \
  X(qrt_kv_store_nd, qrt_kv_store_scratch, 3) X(qrt_attention_f32, qrt_attention_scratch_f32, 5)

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
  /* 1: each multiply-add rounds once (fmaf; `qcc --fma`), 0: twice */
  int32_t fused;
  /* combined last (fuse_matmul_epilogue.c): C = act(A B + bias) + res, or
   * * res with res_mul (a gate); row stride res_rs; or NULL */
  const float *res;
  int64_t res_rs;
  int32_t res_mul;
} qrt_sgemm_args;

/* qrt_qmatmul.c.  Packed int8 B (qrt_pack_b_i8): panels of 16 columns;
 * panel j (columns 16j..16j+15) holds ceil(K/4) groups of 64 bytes, group
 * g = bytes [g*64 + c*4 + r] = B[4g + r][16j + c] + 128 stored as uint8
 * (i.e. the int8 bit pattern xor 0x80), c < 16, r < 4; rows past K and
 * columns past N hold 0x80 (B = 0).  A panel is 16*4*ceil(K/4) bytes; the
 * K range [k0, k0 + 4t) of a panel (k0 a multiple of 4) starts at byte
 * k0*16.  This is the u8 operand layout of vpdpbusd (16 int32 lanes, 4
 * bytes each); AVX2, NEON and the portable path read it too.
 * qrt_packed_b_i8_size is in bytes.
 * qrt_qgemm_ex: C[m*rs_c + n*cs_c] for m < M, n < N, with
 *   acc = sum_k (A[m*lda + k] - a_zero_point) * B(k, n)
 * (B(k, n) = B[k*rs_b + n*cs_b], or the packed layout when b_packed) and
 * the epilogue of qrt_qmatmul_i8 (C, int8) or, when Cf is not NULL, of
 * qrt_qmatmul_i8_f32out (Cf, float; bias_f / scale_f), or the int8
 * epilogue dequantized into Cf (deq_scale).  Column vectors (bias, mult,
 * shift, colsum, bias_f, scale_f) are indexed by n (and by row set). */
#define QRT_QGEMM_NR 16
typedef struct qrt_qgemm_args {
  int64_t M, N, K;
  const int8_t *A;
  int64_t lda;
  const int8_t *B;
  int64_t rs_b, cs_b;
  int32_t b_packed;
  int32_t a_zero_point, out_zero_point, out_min, out_max;
  int32_t b_format;       /* QRT_WFMT_I8 or QRT_WFMT_I4 (then b_packed) */
  int64_t group;          /* > 0 with gmult: grouped (see qmatmul) */
  const uint8_t *gmult;   /* [ceil(K/group), N] or NULL */
  const float *row_scale; /* [M] or NULL: Cf also scaled per row */
  const int32_t *colsum; /* [N] or NULL */
  const int32_t *bias;   /* [N] or NULL */
  const int32_t *mult;
  const int8_t *shift;
  int8_t *C;
  float *Cf;
  const float *bias_f, *scale_f;
  /* With Cf (not deq_scale): added last, Cf = (scale_f acc [* row_scale]
   * [+ bias_f]) + res_f[m*rs_c + n*cs_c] (a residual add fused; res_f
   * may be Cf itself: each element is read before it is written) */
  const float *res_f;
  /* With Cf: clamp_f != 0 clamps (before res_f) to [min_f, max_f] */
  int32_t clamp_f;
  float min_f, max_f;
  int64_t rs_c, cs_c;
  /* Row sets (MSQ: one per modality), so rows with different
   * requantization constants share one GEMM and its micro-tiles: when
   * row_set is not NULL, row m's int8 epilogue uses set s = row_set[m]:
   * bias, mult and shift at + s * set_stride, zero point and range
   * set_zero_point[s], set_min[s], set_max[s] (out_zero_point, out_min and
   * out_max are then unused). */
  const uint8_t *row_set;
  int64_t set_stride;
  const int32_t *set_zero_point, *set_min, *set_max;
  /* With row_set and the float epilogue (Cf, not deq_scale): scale_f and
   * bias_f at + s * set_stride, and (clamp_f) row m's clamp is
   * [set_min_f[s], set_max_f[s]] (min_f, max_f unused). */
  const float *set_min_f, *set_max_f;
  /* Not NULL (with Cf; C unused): the int8 epilogue's codes are
   * dequantized into Cf as qrt_dequantize_i8_f32 does,
   *   Cf = deq_scale[s] * (float)(code - zero point),
   * s the row's set (0 without row_set): each tile's codes go through a
   * stack buffer, dequantized while in cache, instead of an [M, N] int8
   * intermediate and a second pass. */
  const float *deq_scale;
} qrt_qgemm_args;
/* One call of qrt_qmatmul_i8 (fout 0) or qrt_qmatmul_i8_f32out (fout 1),
 * for qrt_qmatmul_group, which runs at most QRT_QMM_GROUP_MAX of them as
 * one parallel region (more: one after another). */
#define QRT_QMM_GROUP_MAX 8
typedef struct qrt_qmm_call {
  const void *params; /* qrt_qmatmul_params */
  const void *const *in;
  void *const *out;
  int fout;
} qrt_qmm_call;

/* Parallel loops (qrt_parallel.c): task(ctx, i) for every i < n. */
typedef void (*qrt_task_fn)(void *ctx, int64_t i);
typedef void (*qrt_parallel_for_fn)(void *user, int64_t n, qrt_task_fn task, void *ctx);
typedef void (*qrt_range_fn)(void *ctx, int64_t begin, int64_t end);
/* Minimum work of one task of a split kernel, in elements (float
 * elementwise work: a few hundred nanoseconds per thousand elements),
 * against the few hundred nanoseconds a hand-off to a spinning worker
 * costs; kernels doing more per element scale it (see each file). */
#ifndef QRT_PAR_MIN_ELEMS
#define QRT_PAR_MIN_ELEMS 4096
#endif

/* The weights file of `qcc --weights-file` (layout in qrt_weights.c). */
#define QRT_WEIGHTS_MAGIC "QCCWGT\0\1"
#define QRT_WEIGHTS_VERSION 1
#define QRT_WEIGHTS_HEADER 64
#define QRT_WEIGHTS_ALIGN 64

/* Prototypes.  When the generator pastes only some .c files, it defines
 * QRT_NO_PROTOTYPES (GCC warns about static functions declared and never
 * defined) and pastes each file after those it depends on (QRT_FILE_DEPS). */
#ifndef QRT_NO_PROTOTYPES
QRT_ALL_KERNELS(QRT_DECLARE_KERNEL)

/* qrt_attention.c: scratch bytes qrt_attention_f32 wants in in[5]. */
QRT_API int64_t qrt_attention_scratch_f32(const qrt_attention_params *p);

/* qrt_conv.c: scratch bytes qrt_conv_f32 wants in in[3] (0: none). */
QRT_API int64_t qrt_conv_scratch_f32(const qrt_conv_params *p);
/* Whether constant weights of this convolution should be packed (the
 * rows path: im2row from a channels-last copy of the input, the GEMM with
 * the weights as its packed B); then set w_packed and pack them with
 * qrt_pack_conv_w_f32 into qrt_conv_packed_w_size(p) floats: per group
 * the K x (c_out/group) matrix W^T with K in (kd, kh, kw, ci) order, in
 * qrt_pack_b_f32's layout. */
QRT_API int qrt_conv_packs_w(const qrt_conv_params *p);
QRT_API int64_t qrt_conv_packed_w_size(const qrt_conv_params *p);
QRT_API void qrt_pack_conv_w_f32(const qrt_conv_params *p, const float *w, float *packed);

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

/* qrt_quant.c: (M0, s) with M0 * 2^-s ~= real (see requantization).
 * frexp(real) = f * 2^e, f in [0.5, 1): M0 = round(f * 2^31) (half away
 * from zero; 2^31 becomes 2^30 with e + 1), s = 31 - e.  So for
 * real in [2^-32, 2^31), M0 is in [2^30, 2^31) and s in [0, 62] (real < 1:
 * s >= 31).  real >= 2^31 - 1/2 (M0 * 2^-s would need s < 0): M0 = 2^31 - 1,
 * s = 0 (saturates any nonzero acc).  real < 2^-32: s = 62 and
 * M0 = round(real * 2^62) <= 2^30 (fewer significant bits; M0 = 0 and s = 0
 * for real < 2^-63).  real <= 0 or NaN: M0 = 0, s = 0. */
QRT_API void qrt_quantize_multiplier(double real, int32_t *m0, int32_t *shift);

/* qrt_qmatmul.c */
QRT_API int64_t qrt_packed_b_i8_size(int64_t K, int64_t N);
QRT_API void qrt_pack_b_i8(int64_t K, int64_t N, const int8_t *B, int8_t *packed);
/* Element (k, n) of the logical K x N matrix at B[k*rs_b + n*cs_b]. */
QRT_API void qrt_pack_b_strided_i8(int64_t K, int64_t N, const int8_t *B, int64_t rs_b,
                                   int64_t cs_b, int8_t *packed);
/* Rows 4q .. 4q+3 (those below K) of a K x N int8 matrix, row r's column
 * n at rows[r][n * cs_b], packed into their place in qrt_pack_b_i8's layout
 * of the whole matrix (so a matrix can be packed in any row order). */
QRT_API void qrt_pack_b_group_i8(int64_t K, int64_t N, const int8_t *const rows[4], int64_t cs_b, int64_t q,
                                 int8_t *packed);
/* colsum[n] = sum_k B[k*rs_b + n*cs_b] (the in[5] input of qmatmul / qconv). */
QRT_API void qrt_colsum_i8(int64_t K, int64_t N, const int8_t *B, int64_t rs_b, int64_t cs_b,
                           int32_t *colsum);
QRT_API void qrt_qgemm_ex(const qrt_qgemm_args *g);
/* Sibling quantized matmuls: calls of qrt_qmatmul_i8 or
 * qrt_qmatmul_i8_f32out (qrt_qmm_call) that read the same A and none of which
 * reads another's result (an attention block's q, k and v projections, a
 * gated MLP's gate and up).  qrt_qmatmul_group runs them as one parallel
 * region, one hand-off to the threads instead of one per call, each
 * thread taking the same rows of every GEMM; the results are those of
 * the calls made one after another (the same bits), which is what it
 * does on one thread, for more than QRT_QMM_GROUP_MAX calls, or for
 * batched matmuls. */
QRT_API void qrt_qmatmul_group(int64_t n, const qrt_qmm_call *calls);
/* Packed int4 B: the qrt_pack_b_i8 layout with each 64-byte group (4 k x
 * 16 columns) stored in 32 bytes: byte i holds element i (low nibble) and
 * element i + 32 (high nibble) of the group, nibble = code + 8 (codes in
 * [-8, 7]); half of qrt_packed_b_i8_size bytes. */
QRT_API int64_t qrt_packed_b_i4_size(int64_t K, int64_t N);
QRT_API void qrt_pack_b_strided_i4(int64_t K, int64_t N, const int8_t *B, int64_t rs_b,
                                   int64_t cs_b, int8_t *packed);
/* The 64 biased bytes (code + 128, the int8 packed group layout) of the
 * 4-row group g4 of 16-column panel `panel` of a packed B of either
 * format: a pointer into B (int8) or into tmp[64] (int4, unpacked). */
QRT_API const uint8_t *qrt_packed_b_group(const int8_t *B, int32_t b_format, int64_t K,
                                          int64_t panel, int64_t g4, uint8_t *tmp);
/* qrt_qmatmul_float.c: scratch bytes of qrt_qmatmul_dyn_f32 /
 * qrt_wmatmul_f32 (in[7]); the float -> int8 row quantization of
 * qrt_quantize_f32_i8 (qrt_quant.c), usable by other kernels. */
QRT_API int64_t qrt_qmatmul_dyn_scratch(const qrt_qmatmul_params *p);
QRT_API int64_t qrt_wmatmul_scratch(const qrt_qmatmul_params *p);
/* qrt_parallel.c: runs task(ctx, i), i < n, in any order and possibly on
 * several threads (see the file); qrt_set_parallel_for installs the
 * program's own parallel-for running `width` tasks at once (NULL: the
 * built-in one, QRT_THREADS threads); qrt_parallel_width is that width. */
QRT_API void qrt_parallel_for(int64_t n, qrt_task_fn task, void *ctx);
QRT_API void qrt_set_parallel_for(qrt_parallel_for_fn fn, void *user, int width);
QRT_API int qrt_parallel_width(void);
/* Columns per slice when an M x N x K GEMM splits by columns in whole
 * multiples of `step` (as many slices as the width, each with at least
 * min_macs multiply-adds); 0 when the caller should run it alone. */
QRT_API int64_t qrt_parallel_cols(int64_t M, int64_t N, int64_t K, int64_t step, int64_t min_macs);
/* Splits [0, n) into contiguous ranges and runs fn(ctx, begin, end) on
 * each, possibly on several threads: as many ranges as the parallel width,
 * each at least min_items long and, but for the last, a multiple of align;
 * fn(ctx, 0, n) on the caller when n is too small for two.
 * qrt_parallel_chunk is the range length it uses (n: one range). */
QRT_API void qrt_parallel_range(int64_t n, int64_t align, int64_t min_items, qrt_range_fn fn, void *ctx);
/* Blocks of an M x N x K GEMM for the parallel width: as many as the
 * width, each with at least min_macs multiply-adds; rows first (blocks of
 * at least 16 rows, *rows a multiple of row_step or M), then columns
 * (*cols a multiple of col_step or N).  Returns the block count (1: run
 * it whole); block t covers rows (t / col_blocks) * rows and columns
 * (t % col_blocks) * cols, col_blocks = ceil(N / cols). */
QRT_API int64_t qrt_parallel_blocks(int64_t M, int64_t N, int64_t K, int64_t min_macs, int64_t row_step,
                                    int64_t col_step, int64_t *rows, int64_t *cols);
/* The same for a given task count (at most `tasks` blocks). */
QRT_API int64_t qrt_parallel_blocks_n(int64_t M, int64_t N, int64_t K, int64_t tasks, int64_t row_step,
                                      int64_t col_step, int64_t *rows, int64_t *cols);
QRT_API int64_t qrt_parallel_chunk(int64_t n, int64_t align, int64_t min_items);
/* qrt_weights.c: 0 when data (QRT_WEIGHTS_ALIGN-aligned, size bytes) is a
 * weights file of want_size bytes whose header and contents carry
 * want_checksum; else -1.  The checksum is built with state {1, 0}, _update
 * over the bytes after the header, then _final. */
QRT_API int qrt_weights_check(const void *data, size_t size, uint64_t want_size, uint64_t want_checksum);
QRT_API void qrt_weights_checksum_update(uint64_t state[2], const unsigned char *p, size_t n);
QRT_API uint64_t qrt_weights_checksum_final(const uint64_t state[2]);
/* The compile-time path: "avx512vnni", "avx2", "neon-dotprod", "neon", "portable". */
QRT_API const char *qrt_qgemm_path(void);

/* qrt_qconv.c: scratch bytes qrt_qconv_i8 wants in in[6] (0: none); the
 * packed weight layout (w_packed) size in bytes and its builder from
 * [c_out, c_in/group, kd, kh, kw] weights. */
QRT_API int64_t qrt_qconv_scratch_i8(const qrt_qconv_params *p);
QRT_API int64_t qrt_qconv_packed_w_size(const qrt_qconv_params *p);
QRT_API void qrt_pack_conv_w_i8(const qrt_qconv_params *p, const int8_t *w, int8_t *packed);
/* True when the kernel can read int4 packed weights for p (GEMM path). */
QRT_API int qrt_qconv_packs_i4(const qrt_qconv_params *p);

/* qrt_quant.c: y[i] = qrt_quantize_f32_i8 of x[i] (see QRT_QUANTIZE_PARAMS). */
QRT_API void qrt_quantize_row_f32_i8(int64_t n, const float *x, float inv_scale, int32_t zero_point,
                                     int32_t qmin, int32_t qmax, int8_t *y);

/* qrt_scatter.c: the writes of a scatter, in row-major order of the
 * updates: sink(ctx, target, update, n) puts the n updates from element
 * `update` on at element `target` of the output (offsets in elements);
 * out-of-range indices are skipped.  The float and the KV-cache kernels
 * share them. */
QRT_API void qrt_scatter_elements_walk(int32_t rank, int32_t axis, const int64_t *data_shape,
                                       const int64_t *idx_shape, const void *idx, int32_t index_dtype,
                                       qrt_scatter_sink sink, void *ctx);
QRT_API void qrt_scatter_nd_walk(int32_t k, const int64_t *idx_dims, int64_t n_tuples, int64_t slice,
                                 const void *idx, int32_t index_dtype, qrt_scatter_sink sink, void *ctx);

/* qrt_kvcache.c: bytes of one packed row; scratch bytes of the stores;
 * the rows of x [rows, row_len] encoded (as the stores encode a row). */
QRT_API int64_t qrt_kv_row_bytes(int32_t bits, int64_t row_len);
QRT_API void qrt_kv_encode(int32_t bits, int64_t rows, int64_t row_len, const float *x, uint8_t *packed);
QRT_API int64_t qrt_kv_store_scratch(const qrt_kv_params *p);

/* qrt_det.c: scratch bytes qrt_det needs in in[1] (the m x m work matrix). */
QRT_API int64_t qrt_det_scratch(const qrt_det_params *p);

/* qrt_topk.c: scratch bytes qrt_topk wants in in[1]. */
QRT_API int64_t qrt_topk_scratch(const qrt_topk_params *p);

/* qrt_cast.c: IEEE half <-> float, round to nearest even. */
QRT_API uint16_t qrt_f32_to_f16(float x);
QRT_API float qrt_f16_to_f32(uint16_t h);
/* qrt_cast.c: bfloat16 <-> float: round to nearest even, NaN -> 0x7fc0;
 * back exactly. */
QRT_API uint16_t qrt_f32_to_bf16(float x);
QRT_API float qrt_bf16_to_f32(uint16_t b);

/* qrt_hadamard.c: scratch bytes qrt_hadamard_f32 wants in in[2] (0: none,
 * when m == 1 or the params are invalid). */
QRT_API int64_t qrt_hadamard_scratch_f32(const qrt_hadamard_params *p);
/* qrt_lut.c: table[q + 128] = clamp(out_zp + rne(f(in_scale * (q - in_zp))
 * / out_scale), -128, 127) for q in [-128, 127], f = the float unary op
 * `op` with alpha, beta (QRT_UNARY_*, all but the bool ops and NOT),
 * evaluated in double by qrt_unary_f64, rne = round half to even (as
 * qrt_quantize_f32_i8); NaN -> out_zp, +-inf saturate. */
QRT_API int qrt_build_lut_i8(int32_t op, float alpha, float beta, double in_scale, int32_t in_zp,
                             double out_scale, int32_t out_zp, int8_t table[256]);
/* qrt_lut.c: table[q + 128] = f(in_scale * (float)(q - in_zp)) for q in
 * [-128, 127], f = the float unary op `op` (as above) run by qrt_unary_f32:
 * the bits qrt_dequantize_i8_f32 then qrt_unary_f32 give (in_zp in
 * [-128, 127]). */
QRT_API int qrt_build_lut_f32(int32_t op, float alpha, float beta, float in_scale, int32_t in_zp,
                              float table[256]);
/* qrt_qsoftmax.c: table[d] = round(2^30 exp(-in_scale * d)), d < 256.
 * in_scale may include any constant factor applied before the softmax
 * (e.g. attention's 1/sqrt(d_head)). */
QRT_API int qrt_build_qsoftmax_i8(double in_scale, int32_t table[256]);
/* qrt_dbfp.c: DBFP(bits) rows, bits in [4, 8] (definitions at the top
 * of qrt_dbfp.c).  qrt_dbfp_bytes: bytes of one encoded row of L values
 * (0 for bad arguments); qrt_dbfp_encode / qrt_dbfp_decode: one row;
 * qrt_dbfp_encode_row: the row's codes (c | g << bits) and pivot, returns
 * the coarse exponent E_c (255: a NaN row); qrt_dbfp_value: the value of
 * one code; qrt_dbfp_emax: the top level's E_c (4 - bits);
 * qrt_build_dbfp_softmax_table: the softmax's exp table of
 * qrt_dbfp_table_size(bits) floats (0 or -1 for bad bits). */
QRT_API int64_t qrt_dbfp_bytes(int32_t bits, int64_t L);
QRT_API void qrt_dbfp_encode(int32_t bits, const float *x, int64_t L, uint8_t *out);
QRT_API void qrt_dbfp_decode(int32_t bits, const uint8_t *in, int64_t L, float *x);
QRT_API int32_t qrt_dbfp_encode_row(int32_t bits, const float *x, int64_t L, uint16_t *codes, float *pivot);
QRT_API float qrt_dbfp_value(int32_t bits, float pivot, int32_t e, uint32_t code);
QRT_API int32_t qrt_dbfp_emax(int32_t bits);
QRT_API int64_t qrt_dbfp_table_size(int32_t bits);
QRT_API int qrt_build_dbfp_softmax_table(int32_t bits, float *table);
/* qrt_qnorm.c: fills p (all but outer), gamma_q [norm_size] and beta_q
 * [norm_size] (beta_q may be NULL when beta is NULL; gamma NULL: ones)
 * for layernorm (rms 0) or rmsnorm (rms 1); see QRT_QNORM_PARAMS. */
QRT_API int qrt_build_qnorm_i8(int rms, int64_t norm_size, double epsilon, double in_scale,
                               int32_t in_zp, double out_scale, int32_t out_zp, const float *gamma,
                               const float *beta, qrt_qnorm_params *p, int32_t *gamma_q,
                               int32_t *beta_q);
/* qrt_broadcast.c: the broadcast walk of the binary kernels (and of
 * qrt_qadd_i8): coalesces the dims of p (rank, out_shape, a_strides,
 * b_strides; op unused) and calls fn once per innermost row with the row's
 * length, operand pointers and strides (elements), output pointer and
 * ctx; es / yes: operand / output element bytes.  fn NULL: zero output. */
QRT_API void qrt_bin_drive(const qrt_binary_params *p, const void *a, const void *b, void *y,
                           qrt_bin_row_fn fn, int64_t es, int64_t yes, const void *ctx);
/* qrt_fmt.c: the block-format table (QRT_ALL_BFORMATS) as data and the
 * codecs of one vector of K values (see the table's comment for the rules).
 * qrt_bformat_get: the row of fmt, NULL when fmt is out of range;
 * qrt_bformat_find: the id of a name, -1 when unknown;
 * qrt_bfmt_bytes: packed bytes of a K-vector (0 for an unknown fmt);
 * qrt_bfmt_encode: x[K] -> out[qrt_bfmt_bytes(fmt, K)];
 * qrt_bfmt_unpack: elem[nblocks * block] (exact element values, padding 0)
 *   and scale[nblocks] (exact block scales, NVFP4's vector scale folded
 *   in; NaN for a NaN block): value k = elem[k] * scale[k / block];
 * qrt_bfmt_decode: x[k] = (float)(elem[k] * scale[k / block]), k < K. */
QRT_API const qrt_bformat *qrt_bformat_get(int32_t fmt);
QRT_API int32_t qrt_bformat_find(const char *name);
QRT_API int64_t qrt_bfmt_bytes(int32_t fmt, int64_t K);
QRT_API void qrt_bfmt_encode(int32_t fmt, const float *x, int64_t K, uint8_t *out);
QRT_API void qrt_bfmt_unpack(int32_t fmt, const uint8_t *in, int64_t K, float *elem, double *scale);
QRT_API void qrt_bfmt_decode(int32_t fmt, const uint8_t *in, int64_t K, float *x);
/* qrt_fmt_mx.c: one FP element (QRT_ELEM_E4M3 .. QRT_ELEM_E2M1).
 * qrt_mx_encode: the code of v (v already divided by the scale): nearest,
 *   ties to even, saturating at the largest finite magnitude (+-Inf too),
 *   sign kept (-0 too); NaN gives the NaN code S.1..1 where there is one
 *   (E4M3, E5M2), else +0; qrt_mx_decode: a code's value (exact);
 *   qrt_mx_emax: the largest normal exponent (an unknown element gives 0
 *   from all three).
 * qrt_nvfp4_scale: NVFP4's vector scale t of x[K];
 * qrt_nvfp4_encode_block: the E4M3 scale code of one finite block x[n]
 *   and its E2M1 codes[n].
 * qrt_fmt_bfp.c: qrt_bfp_encode_block: codes[n] of one finite block of
 *   QRT_ELEM_INT (at exponent E) or QRT_ELEM_BBFP (E: BFP(m)'s exponent,
 *   where its search starts); returns the exponent used (scale byte - 127);
 * qrt_bfp_decode: a code's element value. */
QRT_API uint32_t qrt_mx_encode(int32_t element, double v);
QRT_API float qrt_mx_decode(int32_t element, uint32_t code);
QRT_API int32_t qrt_mx_emax(int32_t element);
QRT_API float qrt_nvfp4_scale(const float *x, int64_t K);
QRT_API uint32_t qrt_nvfp4_encode_block(const float *x, int32_t n, float t, uint16_t *codes);
QRT_API int32_t qrt_bfp_encode_block(int32_t element, int32_t bits, const float *x, int32_t n, int32_t E,
                                     uint16_t *codes);
QRT_API float qrt_bfp_decode(int32_t element, int32_t bits, uint32_t code);
/* qrt_bfmt_elem_table: the element value of every code of fmt (2^bits
 * entries, at most QRT_BFMT_MAX_CODES); qrt_bfmt_decode_table: the same
 * bits as qrt_bfmt_decode with the element values looked up there (the
 * fast path of kernels that decode many vectors of one format). */
QRT_API void qrt_bfmt_elem_table(int32_t fmt, float *table);
QRT_API void qrt_bfmt_decode_table(int32_t fmt, const uint8_t *in, int64_t K, const float *table, float *x);
/* qrt_bfmt_int_table: the element values of fmt as integers,
 * value(code) = table[code] 2^-shift; returns shift (the least in [0, 15]
 * that makes every value an integer of magnitude <= 32767) and the largest
 * |table[code]| in *kmax, or -1 when no shift does (FP8 elements).
 * qrt_bfmt_unpack_int: a packed vector as those integers: k[i] =
 * table[code i] for i < nblocks * block (padding 0), scale[b] = block b's
 * scale as a double without NVFP4's vector scale (2^(e - 127), NaN for
 * 255; E4M3 value, NaN for its NaN codes), *t = NVFP4's vector scale (1
 * otherwise): value i = k[i] 2^-shift scale[i / block] t, exactly. */
QRT_API int32_t qrt_bfmt_int_table(int32_t fmt, int16_t *table, int32_t *kmax);
QRT_API void qrt_bfmt_unpack_int(int32_t fmt, const uint8_t *in, int64_t K, const int16_t *table, int16_t *k,
                                 double *scale, double *t);
/* qrt_bfmt_encode_int: x[K] encoded (qrt_bfmt_encode's codes) straight
 * into qrt_bfmt_unpack_int's k, scale and t. */
QRT_API void qrt_bfmt_encode_int(int32_t fmt, const float *x, int64_t K, const int16_t *table, int16_t *k,
                                 double *scale, double *t);
/* qrt_bdot.c: bmatmul's integer path.  qrt_bdot_scratch: its scratch
 * bytes, 0 when it does not apply to p; qrt_bdot_matmul: computes
 * qrt_bmatmul_f32's output (in / out as there) and returns 1, or returns
 * 0 and touches nothing when it does not apply; qrt_bdot_path: the
 * compile-time kernel ("avx512vnni", "avx512bw" or "portable"). */
QRT_API int64_t qrt_bdot_scratch(const qrt_bmatmul_params *p);
QRT_API int qrt_bdot_matmul(const qrt_bmatmul_params *p, const void *const *in, void *const *out);
QRT_API const char *qrt_bdot_path(void);
/* qrt_bdot_enc.c: qrt_bdot.c's run-time encoders for BFP / MXINT8
 * (qrt_bdot_enc_fits: integer elements of at most 8 bits, E8M0 scales),
 * qrt_bfmt_encode's codes bit for bit.  qrt_bdot_enc_row: x[K] ->
 * k[nblocks * block] int8 mantissas (padding 0) and scale[nblocks] (2^E,
 * NaN for a block holding a NaN or Inf, whose mantissas are 0);
 * qrt_bdot_enc_panel: columns [n0, n0 + 16) of B [K, N] (row-major),
 * each column one vector, into wm [kb / 4][16][4] int8 (k = 4g + j of
 * column c at wm[(16 g + c) 4 + j], kb = nblocks * block, k past K 0),
 * ws [nblocks][16] scales and wc [nblocks][16] 128 * each block's
 * mantissa sum; columns past N: mantissas 0, scales 0.
 * qrt_bdot_enc_path: the compile-time path ("avx512", "avx2", "neon",
 * "portable"). */
QRT_API int qrt_bdot_enc_fits(int32_t fmt);
QRT_API void qrt_bdot_enc_row(int32_t fmt, const float *x, int64_t K, int8_t *k, double *scale);
QRT_API void qrt_bdot_enc_panel(int32_t fmt, const float *B, int64_t K, int64_t N, int64_t n0, int8_t *wm,
                                double *ws, int32_t *wc);
QRT_API const char *qrt_bdot_enc_path(void);
/* qrt_bmatmul.c: scratch bytes of qrt_bmatmul_f32. */
QRT_API int64_t qrt_bmatmul_scratch(const qrt_bmatmul_params *p);

/* qrt_qadd.c: a_mult, b_mult and shift of qrt_qadd_i8 for these scales
 * (-1: a scale not positive and finite, or a ratio a_scale / out_scale
 * or b_scale / out_scale of 2^22 or more). */
QRT_API int qrt_build_qadd_i8(double a_scale, double b_scale, double out_scale, int32_t *a_mult,
                              int32_t *b_mult, int32_t *shift);
/* qrt_qnorm.c: floor(sqrt(v)), exact for every uint64 v. */
QRT_API uint64_t qrt_isqrt_u64(uint64_t v);
#endif

/* ---------------------------------------------------------------------
 * Shared scalar helpers (static inline here: qrt.h is pasted once).
 * ------------------------------------------------------------------- */
/* Sum of v[0..n) in a fixed order that compilers vectorize without
 * reassociating: lane l (of 16) adds j = l, l+16, ... in order, then the
 * lanes are added pairwise 0+8, 1+9, ..., then 0+4, ..., then 0+2, then
 * 0+1.  Softmax's row sums (qrt_softmax.c, qrt_lut.c) use it, so every
 * build gives the same bits. */
static QRT_MAYBE_UNUSED inline float qrt_lanes_sum_f32(const float *v, int64_t n) {
  float acc[16];
  int64_t i, l;
  for (l = 0; l < 16; ++l) acc[l] = 0.0f;
  for (i = 0; i + 16 <= n; i += 16)
    for (l = 0; l < 16; ++l) acc[l] = acc[l] + v[i + l];
  for (l = 0; i + l < n; ++l) acc[l] = acc[l] + v[i + l];
  /* the tree with constant bounds, so that compilers keep it in vector
   * registers (a loop over w went through memory, one scalar add at a
   * time: a quarter of a short softmax row's time) */
  for (l = 0; l < 8; ++l) acc[l] = acc[l] + acc[l + 8];
  for (l = 0; l < 4; ++l) acc[l] = acc[l] + acc[l + 4];
  for (l = 0; l < 2; ++l) acc[l] = acc[l] + acc[l + 2];
  return acc[0] + acc[1];
}

/* exp for float, accurate to 4 ulp (max relative error 2.6e-7 measured
 * against glibc's expf on [-86.5, 88.72]) and written so that compilers
 * vectorize loops over it: range reduction x = n ln2 + r with a two-part
 * ln2, a degree-6 polynomial for e^r, 2^n from the exponent bits, and all
 * special cases as bit masks (no branches; a conditional would also stop
 * vectorization under -ftrapping-math). x > 88.72 gives +inf, x < -86.6
 * gives 0 (the true value is below 2.4e-38), NaN gives NaN. Softmax,
 * sigmoid, SiLU and exp use it; it is the same code in the evaluator and
 * the generated C. */
static QRT_MAYBE_UNUSED QRT_ALWAYS_INLINE inline float qrt_exp_f32(float x) {
  const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  uint32_t xb, tb, hb, yb, bits, m_big, m_small, m_nan, cb;
  float xc, t, half, fn, r, p, s, y;
  int32_t n;
  memcpy(&xb, &x, sizeof xb);
  m_big = 0u - (uint32_t)(((xb >> 31) == 0) & (xb > 0x42b170a4u));          /* x > 88.72 */
  m_small = 0u - (uint32_t)(((xb & 0x7fffffffu) > 0x42ad3333u) & (xb >> 31)); /* x < -86.6 */
  m_nan = 0u - (uint32_t)((xb & 0x7fffffffu) > 0x7f800000u);
  cb = (xb & ~m_big) | (0x42b170a4u & m_big);
  cb = (cb & ~m_small) | (0xc2ad3333u & m_small);
  cb &= ~m_nan;
  memcpy(&xc, &cb, sizeof xc);
  t = xc * log2e;
  memcpy(&tb, &t, sizeof tb);
  hb = 0x3f000000u | (tb & 0x80000000u); /* +-0.5: round half away from zero */
  memcpy(&half, &hb, sizeof half);
  n = (int32_t)(t + half); /* in [-125, 128] */
  fn = (float)n;
  r = (xc - fn * ln2_hi) - fn * ln2_lo;
  p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  bits = (uint32_t)(n + 126) << 23; /* 2^(n-1), a normal float */
  memcpy(&s, &bits, sizeof s);
  y = (p * s) * 2.0f;
  memcpy(&yb, &y, sizeof yb);
  yb &= ~m_small;
  yb = (yb & ~m_big) | (0x7f800000u & m_big);
  yb = (yb & ~m_nan) | (xb & m_nan);
  memcpy(&y, &yb, sizeof y);
  return y;
}

/* qrt_exp_f32 on QRT_F32X_LANES floats at once (GCC/clang vector
 * extension; QRT_HAVE_F32X is 0 elsewhere and callers use the scalar
 * function).  The same operations as qrt_exp_f32, lane by lane, so the same
 * bits (test_runtime_exp.c checks it on every path).  Why a second copy: a
 * loop over qrt_exp_f32 vectorizes one register wide, and one register's
 * ~30 dependent operations leave the FP units mostly idle (latency bound,
 * measured ~3x below their throughput); here every step is done for
 * QRT_F32X_UNROLL registers side by side (independent chains).  A single
 * vector type of four registers would do the same on paper, but GCC 12
 * splits some of its operations into scalars. */
#if defined(__GNUC__) && !defined(QRT_NO_VECTOR_EXT)
#define QRT_HAVE_F32X 1
#if defined(__AVX512F__)
#define QRT_F32V_LANES 16
#elif defined(__AVX__)
#define QRT_F32V_LANES 8
#else
#define QRT_F32V_LANES 4
#endif
#define QRT_F32X_UNROLL 4
#define QRT_F32X_LANES (QRT_F32V_LANES * QRT_F32X_UNROLL)
typedef float qrt_f32v __attribute__((vector_size(QRT_F32V_LANES * 4)));
typedef uint32_t qrt_u32v __attribute__((vector_size(QRT_F32V_LANES * 4)));
typedef int32_t qrt_i32v __attribute__((vector_size(QRT_F32V_LANES * 4)));
/* QRT_F32X_LANES floats as QRT_F32X_UNROLL registers */
typedef struct qrt_f32x { qrt_f32v v[QRT_F32X_UNROLL]; } qrt_f32x;
#define QRT_F32X_EACH(u) _Pragma("GCC unroll 4") for (u = 0; u < QRT_F32X_UNROLL; ++u)

/* *out = exp(*in) lane by lane. */
static QRT_MAYBE_UNUSED QRT_ALWAYS_INLINE inline void qrt_exp_f32x(qrt_f32x *out, const qrt_f32x *in) {
  const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  const qrt_u32v zero = {0};
  qrt_u32v xb[QRT_F32X_UNROLL], tb, hb, yb, bits, m_big[QRT_F32X_UNROLL], m_small[QRT_F32X_UNROLL],
      m_nan[QRT_F32X_UNROLL], cb;
  qrt_f32v xc[QRT_F32X_UNROLL], t[QRT_F32X_UNROLL], half, fn[QRT_F32X_UNROLL], r[QRT_F32X_UNROLL],
      p[QRT_F32X_UNROLL], s, y;
  qrt_i32v n[QRT_F32X_UNROLL];
  int u;
  QRT_F32X_EACH(u) {
    memcpy(&xb[u], &in->v[u], sizeof xb[u]);
    /* a vector compare gives -1 / 0 per lane: the scalar code's 0u - (0 or 1) */
    m_big[u] = (qrt_u32v)(((xb[u] >> 31) == zero) & (xb[u] > 0x42b170a4u + zero));
    m_small[u] = (qrt_u32v)(((xb[u] & 0x7fffffffu) > 0x42ad3333u + zero) & ((xb[u] >> 31) != zero));
    m_nan[u] = (qrt_u32v)((xb[u] & 0x7fffffffu) > 0x7f800000u + zero);
    cb = (xb[u] & ~m_big[u]) | (0x42b170a4u & m_big[u]);
    cb = (cb & ~m_small[u]) | (0xc2ad3333u & m_small[u]);
    cb &= ~m_nan[u];
    memcpy(&xc[u], &cb, sizeof xc[u]);
  }
  QRT_F32X_EACH(u) t[u] = xc[u] * log2e;
  QRT_F32X_EACH(u) {
    memcpy(&tb, &t[u], sizeof tb);
    hb = 0x3f000000u | (tb & 0x80000000u);
    memcpy(&half, &hb, sizeof half);
    n[u] = __builtin_convertvector(t[u] + half, qrt_i32v); /* truncates, as (int32_t) */
    fn[u] = __builtin_convertvector(n[u], qrt_f32v);
  }
  QRT_F32X_EACH(u) r[u] = (xc[u] - fn[u] * ln2_hi) - fn[u] * ln2_lo;
  QRT_F32X_EACH(u) p[u] = r[u] * (1.0f / 720.0f) + 1.0f / 120.0f;
  QRT_F32X_EACH(u) p[u] = p[u] * r[u] + 1.0f / 24.0f;
  QRT_F32X_EACH(u) p[u] = p[u] * r[u] + 1.0f / 6.0f;
  QRT_F32X_EACH(u) p[u] = p[u] * r[u] + 0.5f;
  QRT_F32X_EACH(u) p[u] = p[u] * r[u] + 1.0f;
  QRT_F32X_EACH(u) p[u] = p[u] * r[u] + 1.0f;
  QRT_F32X_EACH(u) {
    bits = (qrt_u32v)(n[u] + 126) << 23;
    memcpy(&s, &bits, sizeof s);
    y = (p[u] * s) * 2.0f;
    memcpy(&yb, &y, sizeof yb);
    yb &= ~m_small[u];
    yb = (yb & ~m_big[u]) | (0x7f800000u & m_big[u]);
    yb = (yb & ~m_nan[u]) | (xb[u] & m_nan[u]);
    memcpy(&out->v[u], &yb, sizeof yb);
  }
}
#else
#define QRT_HAVE_F32X 0
#define QRT_F32X_LANES 1
#endif

/* erf for float, vectorizable (libm's erff is a scalar call, and erf
 * GELU is a large part of a transformer's float time): for |x| < 0.5,
 * x times the Taylor series of erf(x)/x in x^2 to x^12 (truncation below
 * 1e-9 relative); else sign(x) (1 - erfc|x|) with Numerical Recipes'
 * Chebyshev fit erfc(z) = t exp(-z^2 - 1.26551223 + t P(t)), t = 1 / (1 +
 * z/2) (fractional error below 1.2e-7), exp by qrt_exp_f32. Both branches
 * are computed and one selected, so loops over it vectorize. Measured
 * against double erf: test_runtime_exp.c. NaN gives NaN. */
static QRT_MAYBE_UNUSED QRT_ALWAYS_INLINE inline float qrt_erf_f32(float x) {
  uint32_t xb, ab, yb, sb, small;
  float a, x2, series, t, q, tail, y;
  memcpy(&xb, &x, sizeof xb);
  ab = xb & 0x7fffffffu;
  memcpy(&a, &ab, sizeof a);
  small = 0u - (uint32_t)(ab < 0x3f000000u); /* |x| < 0.5 (not NaN): a mask, as a float
                                                compare would stop vectorization */
  x2 = x * x;
  series = 1.0f / 9360.0f;
  series = series * x2 - 1.0f / 1320.0f;
  series = series * x2 + 1.0f / 216.0f;
  series = series * x2 - 1.0f / 42.0f;
  series = series * x2 + 1.0f / 10.0f;
  series = series * x2 - 1.0f / 3.0f;
  series = series * x2 + 1.0f;
  series = series * (1.12837916709551257f * x);
  t = 1.0f / (1.0f + 0.5f * a);
  q = 0.17087277f;
  q = q * t - 0.82215223f;
  q = q * t + 1.48851587f;
  q = q * t - 1.13520398f;
  q = q * t + 0.27886807f;
  q = q * t - 0.18628806f;
  q = q * t + 0.09678418f;
  q = q * t + 0.37409196f;
  q = q * t + 1.00002368f;
  tail = 1.0f - t * qrt_exp_f32(q * t - 1.26551223f - a * a);
  memcpy(&yb, &tail, sizeof yb);
  yb |= xb & 0x80000000u; /* erf is odd */
  memcpy(&sb, &series, sizeof sb);
  yb = (sb & small) | (yb & ~small);
  memcpy(&y, &yb, sizeof y);
  return y;
}

/* tanh for float, vectorizable (libm's tanhf is a scalar call per element:
 * GPT-2's tanh GELU, Mish, and the RNN gates): for |x| < 0.5 the Taylor
 * series x + x^3 P(x^2) to x^17 (truncation below 1e-8 relative); else
 * sign(x) (1 - 2 / (e^(2|x|) + 1)), the exp by qrt_exp_f32 (+inf past 44:
 * exactly +-1). Both are computed and one selected, as in qrt_erf_f32, so
 * loops over it vectorize. Measured against double tanh:
 * test_runtime_exp.c. tanh(-0) = -0; NaN gives NaN. */
static QRT_MAYBE_UNUSED QRT_ALWAYS_INLINE inline float qrt_tanh_f32(float x) {
  uint32_t xb, ab, yb, sb, small;
  float a, x2, series, e, tail, y;
  memcpy(&xb, &x, sizeof xb);
  ab = xb & 0x7fffffffu;
  memcpy(&a, &ab, sizeof a);
  small = 0u - (uint32_t)(ab < 0x3f000000u); /* |x| < 0.5 (not NaN) */
  x2 = x * x;
  series = 6404582.0f / 10854718875.0f;
  series = series * x2 - 929569.0f / 638512875.0f;
  series = series * x2 + 21844.0f / 6081075.0f;
  series = series * x2 - 1382.0f / 155925.0f;
  series = series * x2 + 62.0f / 2835.0f;
  series = series * x2 - 17.0f / 315.0f;
  series = series * x2 + 2.0f / 15.0f;
  series = series * x2 - 1.0f / 3.0f;
  series = x + x * (x2 * series);
  e = qrt_exp_f32(2.0f * a);
  tail = 1.0f - 2.0f / (e + 1.0f);
  memcpy(&yb, &tail, sizeof yb);
  memcpy(&sb, &series, sizeof sb);
  yb = (sb & small) | (yb & ~small);
  yb |= xb & 0x80000000u; /* tanh is odd (and keeps -0) */
  memcpy(&y, &yb, sizeof y);
  return y;
}

/* SiLU x sigmoid(x), GELU 0.5 x (1 + erf(x / sqrt 2)) and tanh GELU
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) in type T, given its
 * exp, erf or tanh: the one form of each, for qrt_act_f32,
 * qrt_act_inplace_f32 (through qrt_silu_f32 and the others below) and
 * qrt_unary's float and double ops, so a fused activation has the
 * unfused unary's bits. x is evaluated more than once. */
#define QRT_SILU_OF(T, EXP, x) ((x) * ((T)1 / ((T)1 + EXP(-(x)))))
#define QRT_GELU_OF(T, ERF, x) ((T)0.5 * (x) * ((T)1 + ERF((x) * (T)0.70710678118654752440)))
#define QRT_GELU_TANH_OF(T, TANH, x) \
  ((T)0.5 * (x) * ((T)1 + TANH((T)0.79788456080286535588 * ((x) + (T)0.044715 * (x) * (x) * (x)))))

static QRT_MAYBE_UNUSED QRT_ALWAYS_INLINE inline float qrt_silu_f32(float x) {
  return QRT_SILU_OF(float, qrt_exp_f32, x);
}
static QRT_MAYBE_UNUSED QRT_ALWAYS_INLINE inline float qrt_gelu_f32(float x) {
  return QRT_GELU_OF(float, qrt_erf_f32, x);
}
static QRT_MAYBE_UNUSED QRT_ALWAYS_INLINE inline float qrt_gelu_tanh_f32(float x) {
  return QRT_GELU_TANH_OF(float, qrt_tanh_f32, x);
}

/* A float conv's or matmul's fused activation (fuse_conv_activation.c):
 * the same float operations as qrt_unary's op of that name, so the same
 * bits as the unfused unary. */
static QRT_MAYBE_UNUSED inline float qrt_act_f32(float x, int32_t act, float alpha, float beta) {
  switch (act) {
  case QRT_ACT_RELU: return x < 0.0f ? 0.0f : x;
  case QRT_ACT_LEAKY_RELU: return x < 0.0f ? alpha * x : x;
  case QRT_ACT_CLIP: return x < alpha ? alpha : (x > beta ? beta : x);
  case QRT_ACT_SILU: return qrt_silu_f32(x);
  case QRT_ACT_GELU: return qrt_gelu_f32(x);
  case QRT_ACT_GELU_TANH: return qrt_gelu_tanh_f32(x);
  default: return x;
  }
}

/* y = x * sigmoid(x) on QRT_F32X_LANES floats: qrt_silu_f32 lane by
 * lane (the same bits), the exps side by side (qrt_exp_f32x). */
#if QRT_HAVE_F32X
static QRT_MAYBE_UNUSED QRT_ALWAYS_INLINE inline void qrt_silu_f32x(qrt_f32x *y, const qrt_f32x *x) {
  qrt_f32x nx, e;
  int u;
  QRT_F32X_EACH(u) nx.v[u] = -x->v[u];
  qrt_exp_f32x(&e, &nx);
  QRT_F32X_EACH(u) y->v[u] = x->v[u] * (1.0f / (1.0f + e.v[u]));
}
#endif

/* qrt_erf_f32, qrt_tanh_f32 and the two GELUs on QRT_F32X_LANES floats:
 * the scalar functions' operations lane by lane, in the same order (the
 * same bits: test_runtime_exp.c sweeps bit patterns), with the
 * QRT_F32X_UNROLL registers' chains side by side as in qrt_exp_f32x.  A
 * loop over the scalar forms vectorizes one register wide at best, and
 * GELU is a fifth of a ViT's or BERT's float time. */
#if QRT_HAVE_F32X
/* The shared start of qrt_erf_f32x and qrt_tanh_f32x, register u: x's
 * bits, |x|, and the mask (all ones per lane) of |x| < 0.5, not NaN,
 * where both use their series: the scalar forms' xb, a and small. */
static QRT_MAYBE_UNUSED QRT_ALWAYS_INLINE inline void qrt_odd_split_f32x(const qrt_f32v *x, qrt_u32v *xb,
                                                                           qrt_f32v *a, qrt_u32v *small) {
  const qrt_u32v zero = {0};
  qrt_u32v ab;
  memcpy(xb, x, sizeof *xb);
  ab = *xb & 0x7fffffffu;
  memcpy(a, &ab, sizeof *a);
  *small = (qrt_u32v)(ab < 0x3f000000u + zero);
}

static QRT_MAYBE_UNUSED QRT_ALWAYS_INLINE inline void qrt_erf_f32x(qrt_f32x *y, const qrt_f32x *x) {
  qrt_u32v xb[QRT_F32X_UNROLL], small[QRT_F32X_UNROLL], yb, sb;
  qrt_f32v a[QRT_F32X_UNROLL], series[QRT_F32X_UNROLL], t[QRT_F32X_UNROLL], x2, q, tail;
  qrt_f32x arg, e;
  int u;
  QRT_F32X_EACH(u) qrt_odd_split_f32x(&x->v[u], &xb[u], &a[u], &small[u]);
  QRT_F32X_EACH(u) {
    x2 = x->v[u] * x->v[u];
    series[u] = (1.0f / 9360.0f) * x2 - 1.0f / 1320.0f;
    series[u] = series[u] * x2 + 1.0f / 216.0f;
    series[u] = series[u] * x2 - 1.0f / 42.0f;
    series[u] = series[u] * x2 + 1.0f / 10.0f;
    series[u] = series[u] * x2 - 1.0f / 3.0f;
    series[u] = series[u] * x2 + 1.0f;
    series[u] = series[u] * (1.12837916709551257f * x->v[u]);
  }
  QRT_F32X_EACH(u) {
    t[u] = 1.0f / (1.0f + 0.5f * a[u]);
    q = 0.17087277f * t[u] - 0.82215223f;
    q = q * t[u] + 1.48851587f;
    q = q * t[u] - 1.13520398f;
    q = q * t[u] + 0.27886807f;
    q = q * t[u] - 0.18628806f;
    q = q * t[u] + 0.09678418f;
    q = q * t[u] + 0.37409196f;
    q = q * t[u] + 1.00002368f;
    arg.v[u] = q * t[u] - 1.26551223f - a[u] * a[u];
  }
  qrt_exp_f32x(&e, &arg);
  QRT_F32X_EACH(u) {
    tail = 1.0f - t[u] * e.v[u];
    memcpy(&yb, &tail, sizeof yb);
    yb |= xb[u] & 0x80000000u; /* erf is odd */
    memcpy(&sb, &series[u], sizeof sb);
    yb = (sb & small[u]) | (yb & ~small[u]);
    memcpy(&y->v[u], &yb, sizeof yb);
  }
}

static QRT_MAYBE_UNUSED QRT_ALWAYS_INLINE inline void qrt_tanh_f32x(qrt_f32x *y, const qrt_f32x *x) {
  qrt_u32v xb[QRT_F32X_UNROLL], small[QRT_F32X_UNROLL], yb, sb;
  qrt_f32v series[QRT_F32X_UNROLL], a, x2, tail;
  qrt_f32x arg, e;
  int u;
  QRT_F32X_EACH(u) {
    qrt_odd_split_f32x(&x->v[u], &xb[u], &a, &small[u]);
    arg.v[u] = 2.0f * a;
  }
  QRT_F32X_EACH(u) {
    x2 = x->v[u] * x->v[u];
    series[u] = (6404582.0f / 10854718875.0f) * x2 - 929569.0f / 638512875.0f;
    series[u] = series[u] * x2 + 21844.0f / 6081075.0f;
    series[u] = series[u] * x2 - 1382.0f / 155925.0f;
    series[u] = series[u] * x2 + 62.0f / 2835.0f;
    series[u] = series[u] * x2 - 17.0f / 315.0f;
    series[u] = series[u] * x2 + 2.0f / 15.0f;
    series[u] = series[u] * x2 - 1.0f / 3.0f;
    series[u] = x->v[u] + x->v[u] * (x2 * series[u]);
  }
  qrt_exp_f32x(&e, &arg);
  QRT_F32X_EACH(u) {
    tail = 1.0f - 2.0f / (e.v[u] + 1.0f);
    memcpy(&yb, &tail, sizeof yb);
    memcpy(&sb, &series[u], sizeof sb);
    yb = (sb & small[u]) | (yb & ~small[u]);
    yb |= xb[u] & 0x80000000u; /* tanh is odd (and keeps -0) */
    memcpy(&y->v[u], &yb, sizeof yb);
  }
}

/* QRT_GELU_OF and QRT_GELU_TANH_OF (float) over the two above. */
static QRT_MAYBE_UNUSED QRT_ALWAYS_INLINE inline void qrt_gelu_f32x(qrt_f32x *y, const qrt_f32x *x) {
  qrt_f32x s, e;
  int u;
  QRT_F32X_EACH(u) s.v[u] = x->v[u] * (float)0.70710678118654752440;
  qrt_erf_f32x(&e, &s);
  QRT_F32X_EACH(u) y->v[u] = 0.5f * x->v[u] * (1.0f + e.v[u]);
}

static QRT_MAYBE_UNUSED QRT_ALWAYS_INLINE inline void qrt_gelu_tanh_f32x(qrt_f32x *y, const qrt_f32x *x) {
  qrt_f32x s, e;
  int u;
  QRT_F32X_EACH(u)
  s.v[u] = (float)0.79788456080286535588 * (x->v[u] + (float)0.044715 * x->v[u] * x->v[u] * x->v[u]);
  qrt_tanh_f32x(&e, &s);
  QRT_F32X_EACH(u) y->v[u] = 0.5f * x->v[u] * (1.0f + e.v[u]);
}
#endif

/* qrt_act_inplace_f32's vector blocks: x[j..) through the vector form VF,
 * QRT_F32X_LANES floats at a time, while a whole block is left. */
#if QRT_HAVE_F32X
#define QRT_ACT_BLOCKS_F32X(VF)                                        \
  for (; j + QRT_F32X_LANES <= n; j += QRT_F32X_LANES) {               \
    qrt_f32x v;                                                        \
    memcpy(&v, x + j, sizeof v);                                       \
    VF(&v, &v);                                                        \
    memcpy(x + j, &v, sizeof v);                                       \
  }
#else
#define QRT_ACT_BLOCKS_F32X(VF)
#endif

/* x[0..n) = act(x) in place, as qrt_act_f32 element by element: one loop
 * per activation, so each vectorizes (a switch inside the loop keeps it
 * scalar), and SiLU and the GELUs a vector block at a time. */
static QRT_MAYBE_UNUSED void qrt_act_inplace_f32(float *x, int64_t n, int32_t act, float alpha, float beta) {
  int64_t j = 0;
  switch (act) {
  case QRT_ACT_NONE: break;
  case QRT_ACT_RELU:
    for (; j < n; ++j) x[j] = x[j] < 0.0f ? 0.0f : x[j];
    break;
  case QRT_ACT_LEAKY_RELU:
    for (; j < n; ++j) x[j] = x[j] < 0.0f ? alpha * x[j] : x[j];
    break;
  case QRT_ACT_CLIP: /* ReLU6 after MobileNet's convolutions */
    for (; j < n; ++j) x[j] = x[j] < alpha ? alpha : (x[j] > beta ? beta : x[j]);
    break;
  case QRT_ACT_SILU:
    QRT_ACT_BLOCKS_F32X(qrt_silu_f32x);
    for (; j < n; ++j) x[j] = qrt_silu_f32(x[j]);
    break;
  case QRT_ACT_GELU:
    QRT_ACT_BLOCKS_F32X(qrt_gelu_f32x);
    for (; j < n; ++j) x[j] = qrt_gelu_f32(x[j]);
    break;
  case QRT_ACT_GELU_TANH:
    QRT_ACT_BLOCKS_F32X(qrt_gelu_tanh_f32x);
    for (; j < n; ++j) x[j] = qrt_gelu_tanh_f32(x[j]);
    break;
  default:
    for (; j < n; ++j) x[j] = qrt_act_f32(x[j], act, alpha, beta);
  }
}

/* The extents dims[a] (a < 3) of a padded copy of a convolution's input
 * that covers every window and the input itself at offset pads_begin;
 * their product, or 0 when a pad is negative, a window or the input is
 * empty, or the product passes 2^40. */
static QRT_MAYBE_UNUSED inline int64_t qrt_window_cover(const int64_t *in, const int64_t *out, const int64_t *k,
                                                        const int64_t *s, const int64_t *d, const int64_t *pb,
                                                        int64_t dims[3]) {
  int64_t a, n = 1;
  for (a = 0; a < 3; ++a) {
    const int64_t reach = (out[a] - 1) * s[a] + (k[a] - 1) * d[a] + 1, have = pb[a] + in[a];
    if (pb[a] < 0 || reach < 1 || have < 1) return 0;
    dims[a] = reach > have ? reach : have;
    if (dims[a] > (int64_t)1 << 24) return 0;
    n *= dims[a];
    if (n > (int64_t)1 << 40) return 0;
  }
  return n;
}

/* dst[0..16) = src[0], src[stride], ..., src[15 stride]: 16 bytes gathered
 * per 16-byte store (a store per byte was the cost of the int8
 * convolution's transposes: qrt_pad_channels_last, and the GEMM
 * epilogue's transposed output). */
static QRT_MAYBE_UNUSED inline void qrt_gather16_u8(void *dst, const void *src, int64_t stride) {
  const unsigned char *s = (const unsigned char *)src;
  unsigned char t[16];
  int b;
  for (b = 0; b < 16; ++b) t[b] = s[b * stride];
  memcpy(dst, t, 16);
}

/* The 16 x 16 bytes src[r * ss + c] to dst[c * ds + r] (r, c < 16): with
 * SSE2 four rounds of unpacks (8-, 16-, 32-, 64-bit) on 16 registers, 64
 * instructions where 16 gathers load every byte alone; NEON the same in
 * vtrn rounds; elsewhere those gathers. The int8 convolution's transposes (its input to channels last,
 * the GEMM's tile to the [cout, positions] output) move whole 16 x 16
 * blocks through it. */
#if defined(__SSE2__)
#include <emmintrin.h>
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#endif
static QRT_MAYBE_UNUSED inline void qrt_transpose16_u8(void *dst, int64_t ds, const void *src, int64_t ss) {
  unsigned char *d = (unsigned char *)dst;
  const unsigned char *s = (const unsigned char *)src;
  int i;
#if defined(__SSE2__)
  __m128i a[16], b[16];
  int k;
  for (i = 0; i < 16; ++i) a[i] = _mm_loadu_si128((const __m128i *)(const void *)(s + i * ss));
  for (i = 0; i < 8; ++i) { /* b[2i], b[2i+1]: rows 2i, 2i+1 byte-interleaved, columns 0-7 and 8-15 */
    b[2 * i] = _mm_unpacklo_epi8(a[2 * i], a[2 * i + 1]);
    b[2 * i + 1] = _mm_unpackhi_epi8(a[2 * i], a[2 * i + 1]);
  }
  for (i = 0; i < 4; ++i) /* a[4i + k]: rows 4i..4i+3 of columns 4k..4k+3 */
    for (k = 0; k < 2; ++k) {
      a[4 * i + 2 * k] = _mm_unpacklo_epi16(b[4 * i + k], b[4 * i + 2 + k]);
      a[4 * i + 2 * k + 1] = _mm_unpackhi_epi16(b[4 * i + k], b[4 * i + 2 + k]);
    }
  for (i = 0; i < 2; ++i) /* b[8i + m]: rows 8i..8i+7 of columns 2m, 2m+1 */
    for (k = 0; k < 4; ++k) {
      b[8 * i + 2 * k] = _mm_unpacklo_epi32(a[8 * i + k], a[8 * i + 4 + k]);
      b[8 * i + 2 * k + 1] = _mm_unpackhi_epi32(a[8 * i + k], a[8 * i + 4 + k]);
    }
  for (k = 0; k < 8; ++k) { /* columns 2k and 2k+1, all 16 rows */
    _mm_storeu_si128((__m128i *)(void *)(d + 2 * k * ds), _mm_unpacklo_epi64(b[k], b[8 + k]));
    _mm_storeu_si128((__m128i *)(void *)(d + (2 * k + 1) * ds), _mm_unpackhi_epi64(b[k], b[8 + k]));
  }
#elif defined(__ARM_NEON)
  /* transposes of 2 x 2 blocks of 8-, 16-, 32-bit elements (vtrn), then
   * of the 8 x 8 halves: row i ends as column i */
  uint8x16_t r[16];
  int k;
  for (i = 0; i < 16; ++i) r[i] = vld1q_u8(s + i * ss);
  for (i = 0; i < 16; i += 2) {
    const uint8x16x2_t t = vtrnq_u8(r[i], r[i + 1]);
    r[i] = t.val[0];
    r[i + 1] = t.val[1];
  }
  for (i = 0; i < 16; i += 4)
    for (k = 0; k < 2; ++k) {
      const uint16x8x2_t t = vtrnq_u16(vreinterpretq_u16_u8(r[i + k]), vreinterpretq_u16_u8(r[i + k + 2]));
      r[i + k] = vreinterpretq_u8_u16(t.val[0]);
      r[i + k + 2] = vreinterpretq_u8_u16(t.val[1]);
    }
  for (i = 0; i < 16; i += 8)
    for (k = 0; k < 4; ++k) {
      const uint32x4x2_t t = vtrnq_u32(vreinterpretq_u32_u8(r[i + k]), vreinterpretq_u32_u8(r[i + k + 4]));
      r[i + k] = vreinterpretq_u8_u32(t.val[0]);
      r[i + k + 4] = vreinterpretq_u8_u32(t.val[1]);
    }
  for (k = 0; k < 8; ++k) {
    const uint8x16_t a = r[k], b = r[k + 8];
    r[k] = vcombine_u8(vget_low_u8(a), vget_low_u8(b));
    r[k + 8] = vcombine_u8(vget_high_u8(a), vget_high_u8(b));
  }
  for (i = 0; i < 16; ++i) vst1q_u8(d + i * ds, r[i]);
#else
  for (i = 0; i < 16; ++i) qrt_gather16_u8(d + i * ds, s + i, ss);
#endif
}

/* One image-group's input x [cin, in[0], in[1], in[2]] of es-byte elements
 * (es 1 or 4) copied channels last into xp [dims[0], dims[1], dims[2], cin]
 * at offset pb, every other byte `fill` (the float and int8 convolutions'
 * rows paths). */
static QRT_MAYBE_UNUSED inline void qrt_pad_channels_last(const unsigned char *x, int64_t es, int64_t cin,
                                                          const int64_t *in, const int64_t *pb, const int64_t dims[3],
                                                          int fill, unsigned char *xp) {
  const int64_t isz = in[0] * in[1] * in[2];
  int64_t ci, id, ih, iw;
  memset(xp, fill, (size_t)(dims[0] * dims[1] * dims[2] * cin * es));
  for (id = 0; id < in[0]; ++id)
    for (ih = 0; ih < in[1]; ++ih) {
      unsigned char *dst = xp + (((pb[0] + id) * dims[1] + pb[1] + ih) * dims[2] + pb[2]) * cin * es;
      const unsigned char *src = x + (id * in[1] + ih) * in[2] * es;
      /* int8: 16 channels per store (15% of MobileNetV2's W8A8 run had
       * been this transpose, which every 1x1 convolution's input takes;
       * for float, 4 channels per store measured no faster) */
      ci = 0;
      if (es == 1)
        for (; ci + 16 <= cin; ci += 16) {
          for (iw = 0; iw + 16 <= in[2]; iw += 16) qrt_transpose16_u8(dst + iw * cin + ci, cin, src + ci * isz + iw, isz);
          for (; iw < in[2]; ++iw) qrt_gather16_u8(dst + iw * cin + ci, src + ci * isz + iw, isz);
        }
      for (; ci < cin; ++ci)
        if (es == 4)
          for (iw = 0; iw < in[2]; ++iw) memcpy(dst + (iw * cin + ci) * 4, src + (ci * isz + iw) * 4, 4);
        else
          for (iw = 0; iw < in[2]; ++iw) dst[iw * cin + ci] = src[ci * isz + iw];
    }
}

/* Rows [p0, p0 + pt) of the im2row matrix, K in (kd, kh, kw, ci) order,
 * from a channels-last padded input xp (dims, cells of `cell` bytes: cin
 * elements): per position and (kd, kh) one copy of KW cells. */
static QRT_MAYBE_UNUSED inline void qrt_im2row_channels_last(const unsigned char *xp, const int64_t dims[3], int64_t cell,
                                                             const int64_t *out, const int64_t *k, const int64_t *s,
                                                             const int64_t *d, int64_t p0, int64_t pt,
                                                             unsigned char *rows) {
  const int64_t run = k[2] * cell, plane = dims[1] * dims[2] * cell, line = dims[2] * cell;
  int64_t j, kd, kh;
  unsigned char *dst = rows;
  for (j = 0; j < pt; ++j) {
    const int64_t pos = p0 + j;
    const unsigned char *base = xp + pos / (out[1] * out[2]) * s[0] * plane + pos / out[2] % out[1] * s[1] * line +
                                pos % out[2] * s[2] * cell;
    for (kd = 0; kd < k[0]; ++kd)
      for (kh = 0; kh < k[1]; ++kh, dst += run) memcpy(dst, base + kd * d[0] * plane + kh * d[1] * line, (size_t)run);
  }
}

/* Requantization (see QRT_QUANTIZE_PARAMS): clamp(zp + round(acc * m0 /
 * 2^shift), lo, hi), round half away from zero, on the unsigned magnitude
 * (no signed overflow, no shift of a negative value).  Needs |acc| < 2^32
 * and 0 <= m0 < 2^31 (so |acc| * m0 < 2^63); shift is clamped to [0, 62]. */
static QRT_MAYBE_UNUSED inline int32_t qrt_requant(int64_t acc, int32_t m0, int32_t shift,
                                                   int32_t zp, int32_t lo, int32_t hi) {
  /* branch-free: sign mask, magnitude, rounding shift, saturate, sign back */
  const uint64_t sgn = (uint64_t)0 - (uint64_t)(acc < 0);
  const uint32_t sh = (uint32_t)(shift < 0 ? 0 : (shift > 62 ? 62 : shift));
  uint64_t mag = ((uint64_t)acc ^ sgn) - sgn;
  int64_t v;
  mag *= (uint64_t)(m0 < 0 ? 0 : m0);
  mag = (mag + (((uint64_t)1 << sh) >> 1)) >> sh;
  mag = mag > ((uint64_t)1 << 33) ? (uint64_t)1 << 33 : mag; /* saturates any int32 range */
  v = (int64_t)((mag ^ sgn) - sgn); /* two's complement narrowing: -mag when negative */
  v += zp;
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  return (int32_t)v;
}

#if defined(__AVX512F__)
#include <immintrin.h>
/* qrt_requant before the clamp, for 16 int32 sums t with |t| < 2^31 and a
 * shift s = 32 + e, e >= 1 (s = 32 is 2 M0 with s = 33): for such shifts
 * the rounding (|t| M0 + 2^(s-1)) >> s needs only the high word H of
 * |t| M0, (H + 2^(e-1)) >> e, as the low word cannot carry past the bit the
 * shift keeps. m0: M0 per lane (as unsigned); m0o: m0 >> 32 per 64-bit
 * lane (the odd lanes' multipliers in the low dwords); rnd: 2^(e-1).
 * Returns zp + r, or zp - r where t < 0: the same values as qrt_requant
 * (the int8 GEMM epilogue and the depthwise convolution use it). */
static QRT_MAYBE_UNUSED inline __m512i qrt_requant_high_x16(__m512i t, __m512i m0, __m512i m0o, __m512i rnd,
                                                            __m512i e, __m512i zp) {
  const __mmask16 neg = _mm512_cmplt_epi32_mask(t, _mm512_setzero_si512());
  const __m512i mag = _mm512_abs_epi32(t);
  const __m512i pe = _mm512_mul_epu32(mag, m0), po = _mm512_mul_epu32(_mm512_srli_epi64(mag, 32), m0o);
  __m512i r = _mm512_mask_mov_epi32(_mm512_srli_epi64(pe, 32), 0xAAAA, po); /* the high words H */
  r = _mm512_srlv_epi32(_mm512_add_epi32(r, rnd), e);
  return _mm512_mask_sub_epi32(_mm512_add_epi32(zp, r), neg, zp, r);
}
#endif

/* qrt_requant for any int64 acc (int16 activations: |acc| past 2^32):
 * the same value, round(|acc| * M0 / 2^s) half away from zero, computed
 * exactly on the 96-bit product |acc| * M0 held as two 64-bit words, then
 * saturated as qrt_requant does.  Equal to qrt_requant wherever that one
 * is exact (|acc| < 2^32; test_runtime_qmatmul16.c checks both). */
static QRT_MAYBE_UNUSED inline int32_t qrt_requant_wide(int64_t acc, int32_t m0, int32_t shift,
                                                        int32_t zp, int32_t lo, int32_t hi) {
  const uint64_t sgn = (uint64_t)0 - (uint64_t)(acc < 0);
  const uint32_t sh = (uint32_t)(shift < 0 ? 0 : (shift > 62 ? 62 : shift));
  const uint64_t mag = ((uint64_t)acc ^ sgn) - sgn; /* |acc| <= 2^63 */
  const uint64_t m = (uint64_t)(m0 < 0 ? 0 : m0);  /* < 2^31 */
  const uint64_t p0 = (mag & 0xffffffffu) * m, p1 = (mag >> 32) * m; /* each < 2^63 */
  uint64_t lw = p0 + (p1 << 32), hw = (p1 >> 32) + (uint64_t)(p0 + (p1 << 32) < p0), q;
  const uint64_t t = lw + ((((uint64_t)1 << sh) >> 1)); /* + half, carried into hw */
  int64_t v;
  hw += (uint64_t)(t < lw);
  lw = t;
  q = sh ? (lw >> sh) | (hw << (64 - sh)) : lw;
  q = ((hw >> sh) != 0 || q > ((uint64_t)1 << 33)) ? (uint64_t)1 << 33 : q; /* saturates any int32 range */
  v = (int64_t)((q ^ sgn) - sgn);
  v += zp;
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  return (int32_t)v;
}

/* The int8 addition of qrt_qadd_i8 (see QRT_QADD_PARAMS and qrt_qadd.c),
 * one element at a time, shared with the NPU executor's ADD command:
 * qrt_qadd_ctx_init clamps the params to the ranges the arithmetic needs
 * (multipliers in [0, 2^22) so acc fits int32, shift in [0, 31], the output
 * range inside int8). */
typedef struct qrt_qadd_ctx {
  int32_t za, zb, zy, lo, hi, ma, mb;
  uint32_t shift, half;
} qrt_qadd_ctx;

static QRT_MAYBE_UNUSED inline void qrt_qadd_ctx_init(qrt_qadd_ctx *c, int32_t za, int32_t zb, int32_t zy,
                                                      int32_t out_min, int32_t out_max, int32_t a_mult,
                                                      int32_t b_mult, int32_t shift) {
  c->za = za;
  c->zb = zb;
  c->zy = zy;
  c->lo = out_min < -128 ? -128 : out_min;
  c->hi = out_max > 127 ? 127 : (out_max < c->lo ? c->lo : out_max);
  c->ma = a_mult < 0 ? 0 : (a_mult > 4194303 ? 4194303 : a_mult);
  c->mb = b_mult < 0 ? 0 : (b_mult > 4194303 ? 4194303 : b_mult);
  c->shift = (uint32_t)(shift < 0 ? 0 : (shift > 31 ? 31 : shift));
  c->half = ((uint32_t)1 << c->shift) >> 1;
}

static QRT_MAYBE_UNUSED QRT_ALWAYS_INLINE inline int8_t qrt_qadd_one(const qrt_qadd_ctx *c, int8_t a, int8_t b) {
  const int32_t acc = ((int32_t)a - c->za) * c->ma + ((int32_t)b - c->zb) * c->mb;
  const uint32_t sgn = 0u - (uint32_t)(acc < 0);
  /* |acc| + half < 2^31 + 2^30 fits uint32; the result < 2^31 - 2^7 */
  const uint32_t mag = ((((uint32_t)acc ^ sgn) - sgn) + c->half) >> c->shift;
  int32_t v = (int32_t)((mag ^ sgn) - sgn) + c->zy;
  v = v < c->lo ? c->lo : v;
  v = v > c->hi ? c->hi : v;
  return (int8_t)v;
}

#endif /* QRT_H */
