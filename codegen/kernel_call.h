/* kernel_call.h - lowering of one q op to one runtime kernel call.
 *
 * This is the single place that knows how a q op maps onto a runtime
 * kernel and its params struct. The evaluator executes the call through
 * the kernel's function pointer; the C emitter prints the same call and
 * the same params struct as C source. So the generated code and `qcc run`
 * compute the same bits by construction. */
#ifndef QCC_KERNEL_CALL_H
#define QCC_KERNEL_CALL_H
#include "qcc.h"
#include "qrt.h"

/* A params field, for printing any params struct generically. */
typedef struct qcc_param_field {
  const char *name;
  size_t offset;
  char type; /* 'i' int32_t, 'l' int64_t, 'f' float */
  int count; /* 1 for scalars */
} qcc_param_field;

typedef struct qcc_kernel_info {
  const char *symbol; /* "qrt_conv_f32" */
  qrt_kernel_fn fn;
  qrt_kernel_fn fn_v4; /* the x86-64-v4 build of the same kernel, or NULL */
  qrt_kernel_fn fn_v3; /* the AVX2 + FMA build, or NULL */
  const char *params_type; /* "qrt_conv_params" */
  const qcc_param_field *fields;
  int n_fields;
  size_t params_size;
  const char *file; /* runtime source holding it, "qrt_conv.c" */
} qcc_kernel_info;

enum { QCC_CALL_MAX_IN = 66, QCC_CALL_MAX_OUT = 3 };

/* Params storage large enough for any params struct. */
typedef union qcc_params {
#define QCC_PARAMS_MEMBER(name, fields) qrt_##name##_params name;
  QRT_ALL_PARAMS(QCC_PARAMS_MEMBER)
#undef QCC_PARAMS_MEMBER
} qcc_params;

typedef struct qcc_call {
  const qcc_kernel_info *kernel;
  qcc_params params;
  int n_in;
  MlirValue in[QCC_CALL_MAX_IN]; /* null value: absent optional input */
  int n_out;                     /* output slots the kernel reads; slot 0 is the
                                    result, the others (optional outputs) NULL */
  int scratch_slot;              /* input slot of the scratch buffer, or -1 */
  int64_t scratch_bytes;
  /* packed_slot >= 0: that input is a constant weight the kernel reads in
   * a packed layout, built at compile time (see qcc_pack_weight). */
  int packed_slot;
  /* inplace_slot >= 0: the kernel is correct when the result's buffer is
   * that input's buffer (it then leaves the data in place and writes only
   * what changes), so the C API may let the caller alias them
   * (codegen/io_alias.c). -1: the result must not overlap any input. */
  int inplace_slot;
  enum { QCC_PACK_F32_B, QCC_PACK_I8_B, QCC_PACK_I4_B, QCC_PACK_I8_CONV, QCC_PACK_F32_CONV } pack_kind;
  int64_t pack_k, pack_n;
} qcc_call;

/* Float matmuls and GEMM convolutions round each multiply-add once (fmaf)
 * instead of twice: about twice the throughput on FMA hardware, the same
 * bits on every target (software fmaf where there is no FMA instruction).
 * The default; `--no-fma` clears it (two roundings: fast on targets
 * without FMA, other bits). `--fma` is accepted and sets it. */
extern bool qcc_fused_multiply_add;

/* Lowers op into call; false with an error if no kernel implements it
 * (the op, its types and why). q.constant is not a call: callers skip it. */
bool qcc_lower_op(MlirOperation op, qcc_call *call);
/* Whether a q.loop is well formed (dialects/q.irdl.mlir: operand, block
 * argument, yield and result counts and types agree; trip_count >= 1),
 * which IRDL cannot check; false with an error naming it. The evaluator
 * and the C backend run only loops that pass. */
bool qcc_check_loop(MlirOperation op);
/* The runtime's QRT_UNARY_* code of a q.unary kind; false if unknown. */
bool qcc_unary_kind_code(const char *kind, int *code);
/* Pack a constant B operand for its matmul call (caller frees .data). */
bool qcc_pack_weight(const qcc_call *call, const qcc_array *b, qcc_array *packed);

const qcc_kernel_info *qcc_find_kernel(const char *symbol);
/* The build of k the compiler's evaluator runs: the x86-64-v4 (AVX-512
 * VNNI) copy when qcc has one and the CPU runs it, unless the environment
 * says QCC_KERNELS=baseline; else the baseline build. Same bits either way
 * (the runtime's kernels do not depend on the vector width). */
qrt_kernel_fn qcc_kernel_entry(const qcc_kernel_info *k);
/* "x86-64-v4" or "baseline": the path qcc_kernel_entry takes. */
const char *qcc_kernel_isa(void);
extern const qcc_kernel_info qcc_kernels[];
extern const int qcc_num_kernels;

#endif
