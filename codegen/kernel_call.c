/* kernel_call.c - q op -> runtime kernel call (see kernel_call.h). */
#include "kernel_call.h"
#include "cpu_features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- kernel and params tables, built from the runtime's X-macros ---- */
#define TYPE_CODE(x) _Generic((x), int32_t: 'i', int64_t: 'l', float: 'f')
#define S_FIELD(t, n) {#n, offsetof(PT, n), TYPE_CODE(((PT *)0)->n), 1},
#define A_FIELD(t, n, c) {#n, offsetof(PT, n), TYPE_CODE(((PT *)0)->n[0]), c},
#define FIELDS(name, list)                                                                                     \
  static const qcc_param_field name##_fields[] = {list(S_FIELD, A_FIELD)};

#define PT qrt_unary_params
FIELDS(unary, QRT_UNARY_PARAMS)
#undef PT
#define PT qrt_binary_params
FIELDS(binary, QRT_BINARY_PARAMS)
#undef PT
#define PT qrt_where_params
FIELDS(where, QRT_WHERE_PARAMS)
#undef PT
#define PT qrt_conv_params
FIELDS(conv, QRT_CONV_PARAMS)
#undef PT
#define PT qrt_pool_params
FIELDS(pool, QRT_POOL_PARAMS)
#undef PT
#define PT qrt_matmul_params
FIELDS(matmul, QRT_MATMUL_PARAMS)
#undef PT
#define PT qrt_softmax_params
FIELDS(softmax, QRT_SOFTMAX_PARAMS)
#undef PT
#define PT qrt_norm_params
FIELDS(norm, QRT_NORM_PARAMS)
#undef PT
#define PT qrt_norm_q_params
FIELDS(norm_q, QRT_NORM_Q_PARAMS)
#undef PT
#define PT qrt_binary_q_params
FIELDS(binary_q, QRT_BINARY_Q_PARAMS)
#undef PT
#define PT qrt_reduce_params
FIELDS(reduce, QRT_REDUCE_PARAMS)
#undef PT
#define PT qrt_copy_params
FIELDS(copy, QRT_COPY_PARAMS)
#undef PT
#define PT qrt_concat_params
FIELDS(concat, QRT_CONCAT_PARAMS)
#undef PT
#define PT qrt_gather_params
FIELDS(gather, QRT_GATHER_PARAMS)
#undef PT
#define PT qrt_pad_params
FIELDS(pad, QRT_PAD_PARAMS)
#undef PT
#define PT qrt_cast_params
FIELDS(cast, QRT_CAST_PARAMS)
#undef PT
#define PT qrt_quantize_params
FIELDS(quantize, QRT_QUANTIZE_PARAMS)
#undef PT
#define PT qrt_dequantize_params
FIELDS(dequantize, QRT_DEQUANTIZE_PARAMS)
#undef PT
#define PT qrt_requantize_params
FIELDS(requantize, QRT_REQUANTIZE_PARAMS)
#undef PT
#define PT qrt_qmatmul_params
FIELDS(qmatmul, QRT_QMATMUL_PARAMS)
#undef PT
#define PT qrt_qconv_params
FIELDS(qconv, QRT_QCONV_PARAMS)
#undef PT
#define PT qrt_argreduce_params
FIELDS(argreduce, QRT_ARGREDUCE_PARAMS)
#undef PT
#define PT qrt_hadamard_params
FIELDS(hadamard, QRT_HADAMARD_PARAMS)
#undef PT
#define PT qrt_lut_params
FIELDS(lut, QRT_LUT_PARAMS)
#undef PT
#define PT qrt_qsoftmax_params
FIELDS(qsoftmax, QRT_QSOFTMAX_PARAMS)
#undef PT
#define PT qrt_softmax_codes_q_params
FIELDS(softmax_codes_q, QRT_SOFTMAX_CODES_Q_PARAMS)
#undef PT
#define PT qrt_qnorm_params
FIELDS(qnorm, QRT_QNORM_PARAMS)
#undef PT
#define PT qrt_dbfp_softmax_params
FIELDS(dbfp_softmax, QRT_DBFP_SOFTMAX_PARAMS)
#undef PT
#define PT qrt_qadd_params
FIELDS(qadd, QRT_QADD_PARAMS)
#undef PT
#define PT qrt_bmatmul_params
FIELDS(bmatmul, QRT_BMATMUL_PARAMS)
#undef PT
#define PT qrt_gather_elements_params
FIELDS(gather_elements, QRT_GATHER_ELEMENTS_PARAMS)
#undef PT
#define PT qrt_gather_nd_params
FIELDS(gather_nd, QRT_GATHER_ND_PARAMS)
#undef PT
#define PT qrt_scatter_elements_params
FIELDS(scatter_elements, QRT_SCATTER_ELEMENTS_PARAMS)
#undef PT
#define PT qrt_scatter_nd_params
FIELDS(scatter_nd, QRT_SCATTER_ND_PARAMS)
#undef PT
#define PT qrt_resize_params
FIELDS(resize, QRT_RESIZE_PARAMS)
#undef PT
#define PT qrt_cumsum_params
FIELDS(cumsum, QRT_CUMSUM_PARAMS)
#undef PT
#define PT qrt_topk_params
FIELDS(topk, QRT_TOPK_PARAMS)
#undef PT
#define PT qrt_grid_sample_params
FIELDS(grid_sample, QRT_GRID_SAMPLE_PARAMS)
#undef PT
#define PT qrt_tfidf_params
FIELDS(tfidf, QRT_TFIDF_PARAMS)
#undef PT
#define PT qrt_dft_params
FIELDS(dft, QRT_DFT_PARAMS)
#undef PT
#define PT qrt_det_params
FIELDS(det, QRT_DET_PARAMS)
#undef PT
#define PT qrt_roi_align_params
FIELDS(roi_align, QRT_ROI_ALIGN_PARAMS)
#undef PT
#define PT qrt_msq_quantize_params
FIELDS(msq_quantize, QRT_MSQ_QUANTIZE_PARAMS)
#undef PT
#define PT qrt_msqmatmul_params
FIELDS(msqmatmul, QRT_MSQMATMUL_PARAMS)
#undef PT
#define PT qrt_msq_lut_params
FIELDS(msq_lut, QRT_MSQ_LUT_PARAMS)
#undef PT
#define PT qrt_kv_params
FIELDS(kv, QRT_KV_PARAMS)
#undef PT
#define PT qrt_attention_params
FIELDS(attention, QRT_ATTENTION_PARAMS)
#undef PT

#ifdef QCC_HAVE_QRT_V4
#define DECLARE_V4(sym, pname, file) void sym##_v4(const void *params, const void *const *in, void *const *out);
QRT_ALL_KERNELS(DECLARE_V4)
#define FN_V4(sym) sym##_v4
#else
#define FN_V4(sym) NULL
#endif

#ifdef QCC_HAVE_QRT_V3
#define DECLARE_V3(sym, pname, file) void sym##_v3(const void *params, const void *const *in, void *const *out);
QRT_ALL_KERNELS(DECLARE_V3)
#define FN_V3(sym) sym##_v3
#else
#define FN_V3(sym) NULL
#endif

#define KERNEL_ENTRY(sym, pname, file)                                                                          \
  {#sym, sym, FN_V4(sym), FN_V3(sym), "qrt_" #pname "_params", pname##_fields,                                 \
   (int)(sizeof pname##_fields / sizeof pname##_fields[0]), sizeof(qrt_##pname##_params), file},
const qcc_kernel_info qcc_kernels[] = {QRT_ALL_KERNELS(KERNEL_ENTRY)};
const int qcc_num_kernels = (int)(sizeof qcc_kernels / sizeof qcc_kernels[0]);

const qcc_kernel_info *qcc_find_kernel(const char *symbol) {
  for (int i = 0; i < qcc_num_kernels; i++)
    if (!strcmp(qcc_kernels[i].symbol, symbol)) return &qcc_kernels[i];
  return NULL;
}

/* On by default (FMA hardware is the common case: x86-64-v3+, every
 * AArch64); --no-fma turns it off for targets where fmaf is a library call. */
bool qcc_fused_multiply_add = true;

/* The runtime copy the CPU runs: 4 for x86-64-v4 (AVX-512 VNNI), 3 for
 * AVX2 + FMA, 0 for the baseline build. */
static int cpu_level(void) {
  const int f = qcc_cpu_features();
  (void)f;
#if defined(QCC_HAVE_QRT_V4)
  if (f & QCC_CPU_X86_64_V4) return 4;
#endif
#if defined(QCC_HAVE_QRT_V3)
  if (f & QCC_CPU_X86_64_V3) return 3;
#endif
  return 0;
}

/* The copy the evaluator calls: the CPU's best, at most QCC_KERNELS's
 * (baseline, x86-64-v3). Decided once; calibration's worker threads may
 * ask at once, hence the atomic load and store (they would all store the
 * same answer). */
static int kernel_level(void) {
  static int level = -1;
  int v = __atomic_load_n(&level, __ATOMIC_RELAXED);
  if (v < 0) {
    const char *env = getenv("QCC_KERNELS");
    v = cpu_level();
    if (env && !strcmp(env, "baseline")) v = 0;
    if (env && !strcmp(env, "x86-64-v3") && v > 3) v = 3;
    __atomic_store_n(&level, v, __ATOMIC_RELAXED);
  }
  return v;
}

qrt_kernel_fn qcc_kernel_entry(const qcc_kernel_info *k) {
  const int level = kernel_level();
  return level == 4 && k->fn_v4 ? k->fn_v4 : level == 3 && k->fn_v3 ? k->fn_v3 : k->fn;
}

const char *qcc_kernel_isa(void) {
  const int level = kernel_level();
  return level == 4 ? "x86-64-v4" : level == 3 ? "x86-64-v3" : "baseline";
}

/* ---- helpers ---- */
static bool fail(MlirOperation op, const char *why) {
  char where[256];
  qcc_error("%s: %s", qcc_op_where(op, where, sizeof where), why);
  return false;
}

static qcc_shape shape_of(MlirValue v) {
  qcc_shape s;
  qcc_shape_of(v, &s);
  return s;
}

static void strides_of(const qcc_shape *s, int64_t *st) {
  int64_t acc = 1;
  for (int i = s->rank - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s->dims[i];
  }
}

/* Element strides of x read as a numpy broadcast to out (0 on broadcast dims). */
static void broadcast_strides(const qcc_shape *x, const qcc_shape *out, int64_t *st) {
  int64_t own[QRT_MAX_RANK];
  strides_of(x, own);
  for (int i = 0; i < out->rank; i++) {
    int j = i - (out->rank - x->rank);
    st[i] = (j < 0 || x->dims[j] == 1) ? 0 : own[j];
  }
}

static const char *dtype_suffix(qrt_dtype t) {
  switch (t) {
  case QRT_F32: return "f32";
  case QRT_F64: return "f64";
  case QRT_I32: return "i32";
  case QRT_I64: return "i64";
  case QRT_I8: return "i8";
  case QRT_U8: return "u8";
  case QRT_I16: return "i16";
  case QRT_U16: return "u16";
  case QRT_U32: return "u32";
  case QRT_U64: return "u64";
  case QRT_BOOL: return "bool";
  default: return NULL;
  }
}

/* The typed variant of a kernel family ("qrt_unary" + f32), if it exists. */
static bool pick(MlirOperation op, qcc_call *c, const char *family, qrt_dtype t) {
  const char *sfx = dtype_suffix(t);
  char sym[64];
  snprintf(sym, sizeof sym, "%s_%s", family, sfx ? sfx : "?");
  c->kernel = sfx ? qcc_find_kernel(sym) : NULL;
  if (c->kernel) return true;
  char why[160];
  snprintf(why, sizeof why, "no %s kernel for element type %s", family + 4, qcc_dtype_name(t));
  return fail(op, why);
}

static bool use(MlirOperation op, qcc_call *c, const char *sym) {
  c->kernel = qcc_find_kernel(sym);
  return c->kernel ? true : fail(op, "runtime kernel missing");
}

static void set_inputs(MlirOperation op, qcc_call *c) {
  c->n_in = (int)mlirOperationGetNumOperands(op);
  for (int i = 0; i < c->n_in; i++) c->in[i] = mlirOperationGetOperand(op, i);
}

typedef struct kind_code {
  const char *name;
  int code;
} kind_code;

static bool code_of(MlirOperation op, const kind_code *table, const char *kind, int *code) {
  for (; table->name; table++)
    if (!strcmp(table->name, kind)) {
      *code = table->code;
      return true;
    }
  char why[96];
  snprintf(why, sizeof why, "kind '%s' has no runtime kernel", kind);
  return fail(op, why);
}

/* Conv and pool geometry canonicalised to 3 spatial dims (leading 1s). */
typedef struct geometry {
  int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
} geometry;

static void canonical_geometry(const qcc_shape *x, const qcc_shape *y, const q_i64s *kernel, const q_i64s *strides,
                               const q_i64s *pads, const q_i64s *dil, geometry *g) {
  int n = x->rank - 2, off = 3 - n;
  for (int i = 0; i < 3; i++) {
    g->in[i] = g->out[i] = g->k[i] = g->s[i] = g->d[i] = 1;
    g->pb[i] = g->pe[i] = 0;
  }
  for (int i = 0; i < n; i++) {
    g->in[off + i] = x->dims[2 + i];
    g->out[off + i] = y->dims[2 + i];
    g->k[off + i] = kernel->v[i];
    g->s[off + i] = strides->v[i];
    g->d[off + i] = dil->v[i];
    g->pb[off + i] = pads->v[i];
    g->pe[off + i] = pads->v[n + i];
  }
}

/* Copies the canonical geometry into a conv/pool/qconv params struct. */
static void set_geometry(const geometry *g, int64_t *in, int64_t *out, int64_t *k, int64_t *s, int64_t *d, int64_t *pb) {
  memcpy(in, g->in, sizeof g->in);
  memcpy(out, g->out, sizeof g->out);
  memcpy(k, g->k, sizeof g->k);
  memcpy(s, g->s, sizeof g->s);
  memcpy(d, g->d, sizeof g->d);
  memcpy(pb, g->pb, sizeof g->pb);
}

/* The activation fuse-conv-activation put in a float conv's or matmul's
 * epilogue (qcc.act, qcc.act_alpha, qcc.act_beta), or none. */
static void epilogue_activation(MlirOperation op, int32_t *act, float *alpha, float *beta) {
  MlirAttribute kind = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("qcc.act"));
  *act = QRT_ACT_NONE;
  *alpha = *beta = 0.0f;
  if (mlirAttributeIsNull(kind) || !mlirAttributeIsAString(kind)) return;
  MlirStringRef k = mlirStringAttrGetValue(kind);
  static const struct { const char *name; int32_t act; } acts[] = {
      {"relu", QRT_ACT_RELU}, {"leaky_relu", QRT_ACT_LEAKY_RELU}, {"clip", QRT_ACT_CLIP},
      {"silu", QRT_ACT_SILU}, {"gelu", QRT_ACT_GELU}, {"gelu_tanh", QRT_ACT_GELU_TANH}};
  for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
    if (k.length == strlen(acts[i].name) && !memcmp(k.data, acts[i].name, k.length)) *act = acts[i].act;
  MlirAttribute a = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("qcc.act_alpha"));
  MlirAttribute b = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("qcc.act_beta"));
  if (!mlirAttributeIsNull(a) && mlirAttributeIsAFloat(a)) *alpha = (float)mlirFloatAttrGetValueDouble(a);
  if (!mlirAttributeIsNull(b) && mlirAttributeIsAFloat(b)) *beta = (float)mlirFloatAttrGetValueDouble(b);
}

/* ---- one function per op ---- */
static bool lower_conv(MlirOperation op, qcc_call *c) {
  q_conv_attrs a = q_conv_get(op);
  qcc_shape x = shape_of(q_conv_in(op, 0)), w = shape_of(q_conv_in(op, 1)), y = shape_of(mlirOperationGetResult(op, 0));
  bool i32 = x.dtype == QRT_I32 && w.dtype == QRT_I32;
  if (x.dtype != QRT_F32 && !i32) return fail(op, "only float32 and int32 convolution are implemented");
  q_i64s kernel = {w.rank - 2, {0}};
  for (int i = 0; i < kernel.n; i++) kernel.v[i] = w.dims[2 + i];
  geometry g;
  canonical_geometry(&x, &y, &kernel, &a.strides, &a.pads, &a.dilations, &g);
  qrt_conv_params *p = &c->params.conv;
  p->group = (int32_t)a.group;
  epilogue_activation(op, &p->act, &p->act_alpha, &p->act_beta);
  p->fused = qcc_fused_multiply_add;
  p->n = x.dims[0];
  p->c_in = x.dims[1];
  p->c_out = w.dims[0];
  set_geometry(&g, p->in_spatial, p->out_spatial, p->kernel, p->strides, p->dilations, p->pads_begin);
  c->in[0] = q_conv_in(op, 0);
  c->in[1] = q_conv_in(op, 1);
  c->in[2] = q_conv_in(op, 2);
  c->n_in = 4;
  if (i32) { /* integer convolution (ConvInteger / QLinearConv): no scratch */
    c->n_in = 3;
    return use(op, c, "qrt_conv_i32");
  }
  c->scratch_slot = 3;
  if (qcc_value_is_constant(c->in[1]) && qrt_conv_packs_w(p)) {
    p->w_packed = 1;
    c->packed_slot = 1;
    c->pack_kind = QCC_PACK_F32_CONV;
  }
  c->scratch_bytes = qrt_conv_scratch_f32(p); /* its layout depends on the packing */
  return use(op, c, "qrt_conv_f32");
}

static bool lower_pool(MlirOperation op, qcc_call *c) {
  q_pool_attrs a = q_pool_get(op);
  qcc_shape x = shape_of(q_pool_in(op, 0)), y = shape_of(mlirOperationGetResult(op, 0));
  bool i8 = x.dtype == QRT_I8 && !strcmp(a.kind.s, "max");
  if (x.dtype != QRT_F32 && !i8) return fail(op, "pooling is float32 (and max pooling int8)");
  geometry g;
  canonical_geometry(&x, &y, &a.kernel, &a.strides, &a.pads, &a.dilations, &g);
  qrt_pool_params *p = &c->params.pool;
  static const kind_code pool_kinds[] = {
      {"max", QRT_POOL_MAX}, {"avg", QRT_POOL_AVG}, {"argmax", QRT_POOL_ARGMAX}, {"argmax_col", QRT_POOL_ARGMAX_COL}, {NULL, 0},
  };
  int kind;
  if (!code_of(op, pool_kinds, a.kind.s, &kind)) return false;
  p->kind = kind;
  p->count_include_pad = (int32_t)a.count_include_pad;
  p->n = x.dims[0];
  p->c = x.dims[1];
  set_geometry(&g, p->in_spatial, p->out_spatial, p->kernel, p->strides, p->dilations, p->pads_begin);
  memcpy(p->pads_end, g.pe, sizeof g.pe);
  set_inputs(op, c);
  return use(op, c, i8 ? "qrt_maxpool_i8" : kind >= QRT_POOL_ARGMAX ? "qrt_pool_argmax_f32" : "qrt_pool_f32");
}

static bool lower_matmul(MlirOperation op, qcc_call *c) {
  qcc_shape a = shape_of(q_matmul_in(op, 0)), b = shape_of(q_matmul_in(op, 1)), y = shape_of(mlirOperationGetResult(op, 0));
  bool i32 = a.dtype == QRT_I32 && b.dtype == QRT_I32;
  if ((a.dtype != QRT_F32 || b.dtype != QRT_F32) && !i32) return fail(op, "only float32 and int32 matmul are implemented");
  if (i32 && !mlirValueIsNull(q_matmul_in(op, 2))) return fail(op, "int32 matmul takes no bias");
  qrt_matmul_params *p = &c->params.matmul;
  p->fused = !i32 && qcc_fused_multiply_add;
  p->M = a.dims[a.rank - 2];
  p->K = a.dims[a.rank - 1];
  p->N = b.dims[b.rank - 1];
  p->batch_rank = y.rank - 2;
  if (p->batch_rank > 6) return fail(op, "more than 6 batch dims");
  for (int i = 0; i < p->batch_rank; i++) {
    p->batch_shape[i] = y.dims[i];
    int ia = i - (y.rank - a.rank), ib = i - (y.rank - b.rank);
    int64_t sa = p->M * p->K, sb = p->K * p->N;
    for (int j = ia + 1; j >= 0 && j < a.rank - 2; j++) sa *= a.dims[j];
    for (int j = ib + 1; j >= 0 && j < b.rank - 2; j++) sb *= b.dims[j];
    p->a_batch_strides[i] = (ia < 0 || a.dims[ia] == 1) ? 0 : sa;
    p->b_batch_strides[i] = (ib < 0 || b.dims[ib] == 1) ? 0 : sb;
  }
  c->in[0] = q_matmul_in(op, 0);
  c->in[1] = q_matmul_in(op, 1);
  c->in[2] = q_matmul_in(op, 2);
  c->in[3] = q_matmul_in(op, 3);
  c->n_in = 3;
  if (!mlirValueIsNull(c->in[2])) {
    p->bias_rs = 0;
    p->bias_cs = 1;
  }
  if (!mlirValueIsNull(c->in[3])) { /* a residual or gate (passes/fuse_matmul_epilogue.c) */
    qcc_shape rs = shape_of(c->in[3]);
    if (i32 || rs.dtype != QRT_F32 || !qcc_shape_same_dims(&rs, &y))
      return fail(op, "a matmul's epilogue operand must be float32 of its result's shape");
    MlirAttribute kind = mlirOperationGetDiscardableAttributeByName(op, mlirStringRefCreateFromCString("qcc.epilogue"));
    const bool mul = !mlirAttributeIsNull(kind) && mlirAttributeIsAString(kind) &&
                     !strncmp(mlirStringAttrGetValue(kind).data, "mul", mlirStringAttrGetValue(kind).length);
    p->residual = mul ? 2 : 1;
    c->n_in = 4;
  }
  if (i32) return use(op, c, "qrt_matmul_i32");
  epilogue_activation(op, &p->act, &p->act_alpha, &p->act_beta);
  /* A constant 2-D B is packed at compile time into the GEMM's panel
   * layout (same sums, same bits; no packing at run time). */
  if (b.rank == 2 && qcc_value_is_constant(c->in[1])) {
    p->b_packed = 1;
    c->packed_slot = 1;
    c->pack_kind = QCC_PACK_F32_B;
    c->pack_k = p->K;
    c->pack_n = p->N;
  }
  return use(op, c, "qrt_matmul_f32");
}

bool qcc_pack_weight(const qcc_call *call, const qcc_array *b, qcc_array *packed) {
  memset(packed, 0, sizeof *packed);
  int64_t n;
  switch (call->pack_kind) {
  case QCC_PACK_F32_B: n = qrt_packed_b_size(call->pack_k, call->pack_n); break;
  case QCC_PACK_I8_B: n = qrt_packed_b_i8_size(call->pack_k, call->pack_n); break;
  case QCC_PACK_I4_B: n = qrt_packed_b_i4_size(call->pack_k, call->pack_n); break;
  case QCC_PACK_F32_CONV: n = qrt_conv_packed_w_size(&call->params.conv); break;
  default: n = qrt_qconv_packed_w_size(&call->params.qconv); break;
  }
  packed->dtype = call->pack_kind == QCC_PACK_F32_B || call->pack_kind == QCC_PACK_F32_CONV ? QRT_F32 : QRT_I8;
  packed->rank = 1;
  packed->dims[0] = n;
  packed->nbytes = qcc_dtype_size(packed->dtype) * (size_t)n;
  packed->data = calloc(packed->nbytes ? packed->nbytes : 1, 1);
  switch (call->pack_kind) {
  case QCC_PACK_F32_B: qrt_pack_b_f32(call->pack_k, call->pack_n, b->data, packed->data); break;
  case QCC_PACK_I8_B: qrt_pack_b_i8(call->pack_k, call->pack_n, b->data, packed->data); break;
  case QCC_PACK_I4_B: qrt_pack_b_strided_i4(call->pack_k, call->pack_n, b->data, call->pack_n, 1, packed->data); break;
  case QCC_PACK_F32_CONV: qrt_pack_conv_w_f32(&call->params.conv, b->data, packed->data); break;
  default: qrt_pack_conv_w_i8(&call->params.qconv, b->data, packed->data); break;
  }
  return true;
}

/* ---- quantized ops ---- */
static void quant_of(MlirValue v, double *scale, int64_t *zp) {
  if (!qcc_value_quant(v, scale, zp)) {
    *scale = 1.0;
    *zp = 0;
  }
}

/* The constants of qrt_quantize_f32_i8 that make the int8 value y: also
 * those of a float kernel whose output quantization was fused into it
 * (passes/fuse_output_quantize.c). */
static void output_quant(MlirValue y, float *inv_scale, int32_t *zero_point, int32_t *qmin, int32_t *qmax) {
  double s;
  int64_t z, lo = -128, hi = 127;
  quant_of(y, &s, &z);
  qcc_value_quant_range(y, &lo, &hi);
  *inv_scale = 1.0f / (float)s;
  *zero_point = (int32_t)z;
  *qmin = (int32_t)lo;
  *qmax = (int32_t)hi;
}

static bool lower_quantize(MlirOperation op, qcc_call *c) {
  qcc_shape x = shape_of(q_quantize_in(op, 0));
  qrt_quantize_params *p = &c->params.quantize;
  p->n = qcc_shape_numel(&x);
  output_quant(mlirOperationGetResult(op, 0), &p->inv_scale, &p->zero_point, &p->qmin, &p->qmax);
  set_inputs(op, c);
  /* the storage type picks the code width (int16 activations: w8i16) */
  return use(op, c, shape_of(mlirOperationGetResult(op, 0)).dtype == QRT_I16 ? "qrt_quantize_f32_i16" : "qrt_quantize_f32_i8");
}

static bool lower_dequantize(MlirOperation op, qcc_call *c) {
  qcc_shape x = shape_of(q_dequantize_in(op, 0));
  double s;
  int64_t z;
  quant_of(q_dequantize_in(op, 0), &s, &z);
  qrt_dequantize_params *p = &c->params.dequantize;
  p->n = qcc_shape_numel(&x);
  p->scale = (float)s;
  p->zero_point = (int32_t)z;
  set_inputs(op, c);
  return use(op, c, x.dtype == QRT_I16 ? "qrt_dequantize_i16_f32" : "qrt_dequantize_i8_f32");
}

/* --integer-only ops: their integer constants are operands or attributes
 * already (made by the runtime's builders in the quantize pass). */
static bool lower_lut(MlirOperation op, qcc_call *c) {
  qcc_shape x = shape_of(q_lut_in(op, 0)), t = shape_of(q_lut_in(op, 1));
  qcc_shape y = shape_of(mlirOperationGetResult(op, 0));
  if (x.dtype != QRT_I8) return fail(op, "lut needs an int8 input");
  if (qcc_shape_numel(&t) != 256 || t.dtype != y.dtype || (y.dtype != QRT_I8 && y.dtype != QRT_F32))
    return fail(op, "lut needs a table of 256 int8 or float32 values of its result's type");
  c->params.lut.n = qcc_shape_numel(&x);
  set_inputs(op, c);
  /* a float table: a float function of int8 codes (static schemes) */
  return use(op, c, y.dtype == QRT_F32 ? "qrt_lut_i8_f32" : "qrt_lut_i8");
}

static bool lower_qsoftmax(MlirOperation op, qcc_call *c) {
  qcc_shape x = shape_of(q_qsoftmax_in(op, 0));
  if (x.dtype != QRT_I8 || x.rank < 1) return fail(op, "qsoftmax needs an int8 tensor");
  qrt_qsoftmax_params *p = &c->params.qsoftmax;
  p->axis_len = x.dims[x.rank - 1];
  p->outer = p->axis_len ? qcc_shape_numel(&x) / p->axis_len : 0;
  c->in[0] = q_qsoftmax_in(op, 0);
  c->in[1] = q_qsoftmax_in(op, 1);
  c->in[2] = q_qsoftmax_in(op, 2);
  c->n_in = 3;
  if (!mlirValueIsNull(c->in[2])) {
    qcc_shape m = shape_of(c->in[2]);
    p->mask_n = qcc_shape_numel(&m);
    if ((m.dtype != QRT_U8 && m.dtype != QRT_BOOL) || p->mask_n < 1)
      return fail(op, "qsoftmax mask must be a non-empty ui8 or bool tensor");
  }
  return use(op, c, "qrt_qsoftmax_i8");
}

static bool lower_softmax_codes(MlirOperation op, qcc_call *c) {
  qcc_shape x = shape_of(q_softmax_codes_in(op, 0)), t = shape_of(q_softmax_codes_in(op, 1));
  if (x.dtype != QRT_I8 || x.rank < 1) return fail(op, "softmax_codes needs an int8 tensor");
  if (t.dtype != QRT_F32 || qcc_shape_numel(&t) != 256) return fail(op, "softmax_codes needs a table of 256 float32");
  qrt_qsoftmax_params *p = &c->params.qsoftmax;
  p->axis_len = x.dims[x.rank - 1];
  p->outer = p->axis_len ? qcc_shape_numel(&x) / p->axis_len : 0;
  c->in[0] = q_softmax_codes_in(op, 0);
  c->in[1] = q_softmax_codes_in(op, 1);
  c->in[2] = q_softmax_codes_in(op, 2);
  c->n_in = 3;
  if (!mlirValueIsNull(c->in[2])) {
    qcc_shape m = shape_of(c->in[2]);
    p->mask_n = qcc_shape_numel(&m);
    if ((m.dtype != QRT_U8 && m.dtype != QRT_BOOL) || p->mask_n < 1)
      return fail(op, "softmax_codes mask must be a non-empty ui8 or bool tensor");
  }
  MlirValue y = mlirOperationGetResult(op, 0);
  qcc_shape ys = shape_of(y);
  if (ys.dtype == QRT_F32) return use(op, c, "qrt_softmax_codes_f32");
  /* int8 out: its quantization fused (passes/fuse_output_quantize.c) */
  if (ys.dtype != QRT_I8 || p->axis_len > QRT_SOFTMAX_CODES_MAX_ROW)
    return fail(op, "softmax_codes writes float32, or int8 codes of rows up to 4096");
  qrt_qsoftmax_params sp = *p;
  qrt_softmax_codes_q_params *q = &c->params.softmax_codes_q;
  memset(q, 0, sizeof *q);
  q->outer = sp.outer;
  q->axis_len = sp.axis_len;
  q->mask_n = sp.mask_n;
  output_quant(y, &q->inv_scale, &q->zero_point, &q->qmin, &q->qmax);
  return use(op, c, "qrt_softmax_codes_i8");
}

static bool lower_dbfp_softmax(MlirOperation op, qcc_call *c) {
  qcc_shape x = shape_of(q_dbfp_softmax_in(op, 0)), t = shape_of(q_dbfp_softmax_in(op, 1));
  qrt_dbfp_softmax_params *p = &c->params.dbfp_softmax;
  p->bits = (int32_t)q_dbfp_softmax_get(op).bits;
  if (x.dtype != QRT_F32 || x.rank < 1) return fail(op, "dbfp_softmax needs a float32 tensor");
  if (t.dtype != QRT_F32 || qcc_shape_numel(&t) != qrt_dbfp_table_size(p->bits) || !qrt_dbfp_table_size(p->bits))
    return fail(op, "dbfp_softmax needs bits in [4, 8] and a float32 table of 16 * 2^bits entries");
  p->axis_len = x.dims[x.rank - 1];
  p->outer = p->axis_len ? qcc_shape_numel(&x) / p->axis_len : 0;
  set_inputs(op, c);
  return use(op, c, "qrt_dbfp_softmax_f32");
}

static bool lower_qnorm(MlirOperation op, qcc_call *c) {
  q_qnorm_attrs a = q_qnorm_get(op);
  qcc_shape x = shape_of(q_qnorm_in(op, 0)), g = shape_of(q_qnorm_in(op, 1));
  if (x.dtype != QRT_I8 || g.dtype != QRT_I32) return fail(op, "qnorm needs int8 x and int32 gamma");
  qrt_qnorm_params *p = &c->params.qnorm;
  double s;
  int64_t zx, zy, lo = -128, hi = 127;
  quant_of(q_qnorm_in(op, 0), &s, &zx);
  quant_of(mlirOperationGetResult(op, 0), &s, &zy);
  qcc_value_quant_range(mlirOperationGetResult(op, 0), &lo, &hi);
  p->in_zero_point = (int32_t)zx;
  p->out_zero_point = (int32_t)zy;
  p->out_min = (int32_t)lo;
  p->out_max = (int32_t)hi;
  p->eps_q = a.eps_q;
  p->eps_shift = (int32_t)a.eps_shift;
  p->norm_shift = (int32_t)a.norm_shift;
  p->gamma_shift = (int32_t)a.gamma_shift;
  p->beta_shift = (int32_t)a.beta_shift;
  p->norm_size = qcc_shape_numel(&g);
  p->outer = p->norm_size ? qcc_shape_numel(&x) / p->norm_size : 0;
  c->in[0] = q_qnorm_in(op, 0);
  c->in[1] = q_qnorm_in(op, 1);
  c->in[2] = q_qnorm_in(op, 2);
  c->n_in = 3;
  if (!strcmp(a.kind.s, "layer")) return use(op, c, "qrt_qlayernorm_i8");
  if (!strcmp(a.kind.s, "rms")) return use(op, c, "qrt_qrmsnorm_i8");
  return fail(op, "unknown qnorm kind");
}

static bool lower_qadd(MlirOperation op, qcc_call *c) {
  q_qadd_attrs a = q_qadd_get(op);
  qcc_shape x = shape_of(q_qadd_in(op, 0)), w = shape_of(q_qadd_in(op, 1)), y = shape_of(mlirOperationGetResult(op, 0));
  if (x.dtype != QRT_I8 || w.dtype != QRT_I8) return fail(op, "qadd needs int8 operands");
  qrt_qadd_params *p = &c->params.qadd;
  double s;
  int64_t za, zb, zy, lo = -128, hi = 127;
  quant_of(q_qadd_in(op, 0), &s, &za);
  quant_of(q_qadd_in(op, 1), &s, &zb);
  quant_of(mlirOperationGetResult(op, 0), &s, &zy);
  qcc_value_quant_range(mlirOperationGetResult(op, 0), &lo, &hi);
  p->rank = y.rank;
  memcpy(p->out_shape, y.dims, sizeof(int64_t) * (size_t)y.rank);
  broadcast_strides(&x, &y, p->a_strides);
  broadcast_strides(&w, &y, p->b_strides);
  p->a_zero_point = (int32_t)za;
  p->b_zero_point = (int32_t)zb;
  p->out_zero_point = (int32_t)zy;
  p->a_mult = (int32_t)a.a_mult;
  p->b_mult = (int32_t)a.b_mult;
  p->shift = (int32_t)a.shift;
  p->out_min = (int32_t)lo;
  p->out_max = (int32_t)hi;
  set_inputs(op, c);
  return use(op, c, "qrt_qadd_i8");
}

static bool weight_format(MlirOperation op, const char *name, int32_t *code) {
#define FORMAT(id, fname, bits, lo, hi) \
  if (!strcmp(name, fname)) {          \
    *code = id;                        \
    return true;                       \
  }
  QRT_ALL_WFORMATS(FORMAT)
#undef FORMAT
  return fail(op, "unknown weight format");
}

/* A matmul operand or result as the kernel sees it: the logical dims and
 * each one's element stride in the stored tensor.  The fold-transposes
 * pass leaves the permutations: logical dim i of an operand is stored dim
 * qcc.a_perm[i] (qcc.b_perm[i]); stored dim i of the result is logical dim
 * qcc.c_perm[i].  Without them the view is the dense tensor. */
typedef struct mm_view {
  int rank;
  int64_t dims[QRT_MAX_RANK], strides[QRT_MAX_RANK];
  bool permuted;
} mm_view;

static bool mm_view_of(MlirOperation op, MlirValue v, const char *perm_name, bool result, mm_view *out) {
  qcc_shape s = shape_of(v);
  int64_t dense[QRT_MAX_RANK], st = 1;
  out->rank = s.rank;
  out->permuted = false;
  for (int i = s.rank - 1; i >= 0; i--) dense[i] = st, st *= s.dims[i];
  for (int i = 0; i < s.rank; i++) out->dims[i] = s.dims[i], out->strides[i] = dense[i];
  MlirAttribute a = mlirOperationGetDiscardableAttributeByName(op, mlirStringRefCreateFromCString(perm_name));
  if (mlirAttributeIsNull(a)) return true;
  if (!mlirAttributeIsADenseI64Array(a) || mlirDenseArrayGetNumElements(a) != s.rank)
    return fail(op, "a matmul's transpose permutation must be an i64 array of its operand's rank");
  bool seen[QRT_MAX_RANK] = {false};
  for (int i = 0; i < s.rank; i++) {
    int64_t p = mlirDenseI64ArrayGetElement(a, i);
    if (p < 0 || p >= s.rank || seen[p]) return fail(op, "a matmul's transpose permutation is not a permutation");
    seen[p] = true;
    if (result) out->dims[p] = s.dims[i], out->strides[p] = dense[i];
    else out->dims[i] = s.dims[p], out->strides[i] = dense[p];
  }
  out->permuted = true;
  return true;
}

/* fold-transposes leaves the head split's permutations on q.attention
 * (qcc.a_perm: Q, qcc.b_perm: Kt, qcc.v_perm: V, qcc.c_perm: the
 * result): logical views of the stored tensors. */
static bool attention_views(MlirOperation op, mm_view *q, mm_view *kt, mm_view *v, mm_view *y) {
  return mm_view_of(op, mlirOperationGetOperand(op, 0), "qcc.a_perm", false, q) &&
         mm_view_of(op, mlirOperationGetOperand(op, 1), "qcc.b_perm", false, kt) &&
         mm_view_of(op, mlirOperationGetOperand(op, 2), "qcc.v_perm", false, v) &&
         mm_view_of(op, mlirOperationGetResult(op, 0), "qcc.c_perm", true, y);
}

/* The mask m (f32, dense) broadcast to the scores [batch..., M, N] along
 * rows and leading dims: per batch dim its stride (0 where it is 1 or
 * missing), its row stride (0 for one row). */
static bool attention_mask_strides(MlirOperation op, qcc_shape m, const mm_view *q, qrt_attention_params *p) {
  const int r = q->rank, off = r - m.rank;
  if (m.dtype != QRT_F32 || m.rank < 1 || m.rank > r || m.dims[m.rank - 1] != p->N)
    return fail(op, "attention mask must be float32 [..., M or 1, N], broadcasting to the scores");
  int64_t dense[QRT_MAX_RANK], st = 1;
  for (int i = m.rank - 1; i >= 0; i--) dense[i] = st, st *= m.dims[i];
  p->mask_bcast = 1;
  for (int d = 0; d < r - 1; d++) {
    const int md = d - off;
    const int64_t want = d < r - 2 ? q->dims[d] : p->M, have = md < 0 ? 1 : m.dims[md];
    if (have != 1 && have != want)
      return fail(op, "attention mask must be float32 [..., M or 1, N], broadcasting to the scores");
    const int64_t stride = have == 1 ? 0 : dense[md];
    if (d < r - 2) p->mask_batch_strides[d] = stride;
    else p->mask_rs = stride;
  }
  return true;
}

/* The kernel reads and writes permuted views through strides; Q's and
 * the result's rows must stay contiguous. */
static bool attention_strides(MlirOperation op, const mm_view *q, const mm_view *kt, const mm_view *v,
                              const mm_view *y, qrt_attention_params *p) {
  p->strided = q->permuted || kt->permuted || v->permuted || y->permuted;
  if (!p->strided) return true;
  const int r = q->rank;
  if (q->strides[r - 1] != 1 || y->strides[r - 1] != 1)
    return fail(op, "a folded transpose must keep attention's Q and result rows contiguous");
  for (int i = 0; i < p->batch_rank; i++) {
    p->q_batch_strides[i] = q->strides[i];
    p->kt_batch_strides[i] = kt->strides[i];
    p->v_batch_strides[i] = v->strides[i];
    p->y_batch_strides[i] = y->strides[i];
  }
  p->q_rs = q->strides[r - 2];
  p->kt_rs = kt->strides[r - 2];
  p->kt_cs = kt->strides[r - 1];
  p->v_rs = v->strides[r - 2];
  p->v_cs = v->strides[r - 1];
  p->y_rs = y->strides[r - 2];
  return true;
}

/* q.attention (passes/fuse_attention.c): Q [..., M, D], Kt [..., D, N],
 * V [..., N, DV], optional f32 scalar scale and f32 mask [..., M, N]
 * (leading dims all 1, or those of the scores); the operands and result
 * as stored, or read through fold-transposes' permutations. */
static bool lower_attention(MlirOperation op, qcc_call *c) {
  qcc_shape qs = shape_of(q_attention_in(op, 0)), kts = shape_of(q_attention_in(op, 1));
  qcc_shape vs = shape_of(q_attention_in(op, 2));
  qrt_attention_params *p = &c->params.attention;
  if (qs.dtype != QRT_F32 || kts.dtype != QRT_F32 || vs.dtype != QRT_F32 || qs.rank < 2 || kts.rank != qs.rank ||
      vs.rank != qs.rank)
    return fail(op, "attention needs float Q, Kt, V of one rank >= 2");
  mm_view q, kt, v, y;
  if (!attention_views(op, &q, &kt, &v, &y)) return false;
  p->fused = qcc_fused_multiply_add;
  p->scale_divides = (int32_t)q_attention_get(op).scale_divides;
  p->mask_first = (int32_t)q_attention_get(op).mask_first;
  p->nan_to_zero = (int32_t)q_attention_get(op).nan_to_zero;
  p->M = q.dims[q.rank - 2];
  p->D = q.dims[q.rank - 1];
  p->N = kt.dims[kt.rank - 1];
  p->DV = v.dims[v.rank - 1];
  /* the batch dims, for the strided operands and a broadcast mask */
  p->batch = 1;
  p->batch_rank = q.rank - 2;
  if (p->batch_rank > 6) return fail(op, "attention with more than 6 batch dims");
  for (int i = 0; i < q.rank - 2; i++) {
    if (kt.dims[i] != q.dims[i] || v.dims[i] != q.dims[i] || y.dims[i] != q.dims[i])
      return fail(op, "attention operands differ in batch dims");
    p->batch_shape[i] = q.dims[i];
    p->batch *= q.dims[i];
  }
  if (kt.dims[kt.rank - 2] != p->D || v.dims[v.rank - 2] != p->N || y.dims[y.rank - 2] != p->M ||
      y.dims[y.rank - 1] != p->DV)
    return fail(op, "attention operand shapes mismatch");
  if (!attention_strides(op, &q, &kt, &v, &y, p)) return false;
  for (int i = 0; i < 6; i++) c->in[i] = (MlirValue){NULL};
  for (int i = 0; i < 3; i++) c->in[i] = q_attention_in(op, i);
  if (q_attention_num_in(op, 3)) {
    qcc_shape sc = shape_of(q_attention_in(op, 3));
    if (sc.dtype != QRT_F32 || qcc_shape_numel(&sc) != 1) return fail(op, "attention scale must be one float32");
    c->in[3] = q_attention_in(op, 3);
  }
  if (q_attention_num_in(op, 4)) {
    if (!attention_mask_strides(op, shape_of(q_attention_in(op, 4)), &q, p)) return false;
    c->in[4] = q_attention_in(op, 4);
  }
  c->n_in = 6;
  c->scratch_slot = 5;
  c->scratch_bytes = qrt_attention_scratch_f32(p);
  return use(op, c, "qrt_attention_f32");
}

/* M, N, K, the batch geometry and (fold-transposes) the strides of a
 * quantized matmul a [..., M, K] x b [K, N] -> y [..., M, N]. */
static bool qmatmul_geometry(MlirOperation op, qrt_qmatmul_params *p) {
  mm_view a, b, y;
  if (!mm_view_of(op, mlirOperationGetOperand(op, 0), "qcc.a_perm", false, &a) ||
      !mm_view_of(op, mlirOperationGetOperand(op, 1), "qcc.b_perm", false, &b) ||
      !mm_view_of(op, mlirOperationGetResult(op, 0), "qcc.c_perm", true, &y))
    return false;
  p->batch_rank = y.rank - 2;
  if (a.rank < 2 || b.rank < 2 || p->batch_rank > 6) return fail(op, "quantized matmul needs 2-D+ operands and at most 6 batch dims");
  p->M = a.dims[a.rank - 2];
  p->K = a.dims[a.rank - 1];
  p->N = b.dims[b.rank - 1];
  if (b.rank > 2 && qcc_value_is_constant(mlirOperationGetOperand(op, 1)))
    return fail(op, "quantized matmul: a constant weight must be 2-D");
  for (int i = 0; i < p->batch_rank; i++) {
    p->batch_shape[i] = y.dims[i];
    int ia = i - (y.rank - a.rank), ib = i - (y.rank - b.rank);
    p->a_batch_strides[i] = (ia < 0 || a.dims[ia] == 1) ? 0 : a.strides[ia];
    p->b_batch_strides[i] = (ib < 0 || b.dims[ib] == 1) ? 0 : b.strides[ib];
    p->c_batch_strides[i] = y.strides[i];
  }
  p->strided = a.permuted || b.permuted || y.permuted;
  if (p->strided) {
    if (a.strides[a.rank - 1] != 1 || y.strides[y.rank - 1] != 1)
      return fail(op, "a folded transpose must keep A's and C's innermost dim innermost");
    if (b.permuted && qcc_value_is_constant(mlirOperationGetOperand(op, 1)))
      return fail(op, "a constant weight cannot be read through a transpose");
    p->lda = a.strides[a.rank - 2];
    p->rs_b = b.strides[b.rank - 2];
    p->cs_b = b.strides[b.rank - 1];
    p->rs_c = y.strides[y.rank - 2];
  }
  return true;
}

/* Inputs a, b, bias, mult/scale, shift (absent for fqmatmul), colsum
 * (never: the zero point is folded), gmult, and the packing of b. */
static bool qmatmul_inputs(MlirOperation op, qcc_call *c, qrt_qmatmul_params *p, int n_fixed, MlirValue gmult) {
  for (int i = 0; i < 8; i++) c->in[i] = (MlirValue){NULL};
  for (int i = 0; i < n_fixed; i++) c->in[i] = mlirOperationGetOperand(op, i);
  c->in[6] = gmult;
  c->n_in = 8;
  if (!mlirValueIsNull(gmult) && (p->group <= 0 || p->group % 4))
    return fail(op, "grouped weights need a group size that is a positive multiple of 4");
  if (qcc_value_is_constant(c->in[1])) {
    p->b_packed = 1;
    c->packed_slot = 1;
    c->pack_kind = p->b_format == QRT_WFMT_I4 ? QCC_PACK_I4_B : QCC_PACK_I8_B;
    c->pack_k = p->K;
    c->pack_n = p->N;
  } else if (p->b_format != QRT_WFMT_I8) {
    return fail(op, "int4 weights must be constants (packed at compile time)");
  }
  return true;
}

/* int16 activations (qrt_qmatmul_i16): int16 a and output codes, b int16
 * at run time or int8 weight codes read as they are (row-major, not
 * packed), an int64 bias with a's zero point folded in for constant b. */
static bool lower_qmatmul16(MlirOperation op, qcc_call *c, qrt_qmatmul_params *p, MlirValue gmult) {
  qcc_shape b = shape_of(q_qmatmul_in(op, 1)), y = shape_of(mlirOperationGetResult(op, 0));
  qcc_shape bias = shape_of(q_qmatmul_in(op, 2));
  const bool runtime_b = !qcc_value_is_constant(q_qmatmul_in(op, 1));
  if (!mlirValueIsNull(gmult) || p->b_format != QRT_WFMT_I8 || y.dtype != QRT_I16 || bias.dtype != QRT_I64 ||
      b.dtype != (runtime_b ? QRT_I16 : QRT_I8))
    return fail(op, "int16 quantized matmul needs int16 a and result, int16 (run-time) or int8 (constant, "
                    "per channel) b and an int64 bias");
  if (p->strided) return fail(op, "int16 quantized matmul reads dense operands only (no folded transposes)");
  p->b_bits = runtime_b ? 16 : 8;
  p->a_bits = 16;
  p->b_packed = 0;
  for (int i = 0; i < 8; i++) c->in[i] = (MlirValue){NULL};
  for (int i = 0; i < 5; i++) c->in[i] = mlirOperationGetOperand(op, i);
  c->n_in = 8;
  return use(op, c, "qrt_qmatmul_i16");
}

static bool lower_qmatmul(MlirOperation op, qcc_call *c) {
  q_qmatmul_attrs at = q_qmatmul_get(op);
  double s;
  int64_t zy;
  quant_of(mlirOperationGetResult(op, 0), &s, &zy);
  qrt_qmatmul_params *p = &c->params.qmatmul;
  /* With a constant b the quantize pass folds a's zero point into the bias
   * (see q.irdl.mlir); a b computed at run time (attention) has no column
   * sums to fold, so the kernel subtracts the zero point itself. */
  double sa;
  int64_t za = 0;
  if (!qcc_value_is_constant(q_qmatmul_in(op, 1))) quant_of(q_qmatmul_in(op, 0), &sa, &za);
  p->a_zero_point = (int32_t)za;
  p->out_zero_point = (int32_t)zy;
  p->out_min = (int32_t)at.out_min;
  p->out_max = (int32_t)at.out_max;
  p->group = at.group;
  if (!qmatmul_geometry(op, p) || !weight_format(op, at.format.s, &p->b_format)) return false;
  MlirValue gm = q_qmatmul_num_in(op, 5) ? q_qmatmul_in(op, 5) : (MlirValue){NULL};
  if (shape_of(q_qmatmul_in(op, 0)).dtype == QRT_I16) return lower_qmatmul16(op, c, p, gm);
  if (!qmatmul_inputs(op, c, p, 5, gm)) return false;
  return use(op, c, "qrt_qmatmul_i8");
}

/* q.qmatmul_deq (float-epilogues pass): the integer sums of q.qmatmul with
 * a constant b, then clamp(scale[n] * acc + bias[n]) [+ residual] in float. */
static bool lower_qmatmul_deq(MlirOperation op, qcc_call *c) {
  q_qmatmul_deq_attrs at = q_qmatmul_deq_get(op);
  qrt_qmatmul_params *p = &c->params.qmatmul;
  qcc_shape bias = shape_of(q_qmatmul_deq_in(op, 2)), scale = shape_of(q_qmatmul_deq_in(op, 3));
  p->a_zero_point = 0; /* folded into the bias with a constant b */
  p->out_min = -128;
  p->out_max = 127;
  p->group = at.group;
  p->f_clamp = 1;
  p->f_min = (float)at.out_lo;
  p->f_max = (float)at.out_hi;
  if (!(p->f_min <= p->f_max)) return fail(op, "qmatmul_deq needs out_lo <= out_hi");
  if (!qmatmul_geometry(op, p) || !weight_format(op, at.format.s, &p->b_format)) return false;
  if (shape_of(q_qmatmul_deq_in(op, 0)).dtype != QRT_I8 || shape_of(mlirOperationGetResult(op, 0)).dtype != QRT_F32)
    return fail(op, "qmatmul_deq needs int8 a and a float32 result");
  if (bias.dtype != QRT_F32 || scale.dtype != QRT_F32 || qcc_shape_numel(&bias) != p->N ||
      qcc_shape_numel(&scale) != p->N)
    return fail(op, "qmatmul_deq needs float32 bias and scale of N");
  MlirValue gm = q_qmatmul_deq_num_in(op, 4) ? q_qmatmul_deq_in(op, 4) : (MlirValue){NULL};
  if (!qmatmul_inputs(op, c, p, 4, gm)) return false;
  if (!p->b_packed) return fail(op, "qmatmul_deq needs a constant weight");
  if (q_qmatmul_deq_num_in(op, 5)) {
    qcc_shape r = shape_of(q_qmatmul_deq_in(op, 5)), y = shape_of(mlirOperationGetResult(op, 0));
    if (r.dtype != QRT_F32 || qcc_shape_numel(&r) != qcc_shape_numel(&y))
      return fail(op, "qmatmul_deq's residual must be float32 of the result's shape");
    if (p->strided) return fail(op, "qmatmul_deq adds its residual to a dense result only (no folded transposes)");
    c->in[4] = q_qmatmul_deq_in(op, 5);
  }
  return use(op, c, "qrt_qmatmul_i8_f32out");
}

/* MSQ: the per-modality parameters of both ops are dense f64 scales and
 * i64 arrays of one entry per modality; the modality operand gives one
 * value per row. */
static bool msq_scales(MlirAttribute a, int n, float *out, bool inverse) {
  qcc_array s = {0};
  bool ok = qcc_dense_attr_read(a, &s) && s.dtype == QRT_F64 && qcc_array_numel(&s) == n;
  for (int m = 0; ok && m < n; m++) out[m] = inverse ? 1.0f / (float)((double *)s.data)[m] : (float)((double *)s.data)[m];
  qcc_array_free(&s);
  return ok;
}

static bool lower_msq_quantize(MlirOperation op, qcc_call *c) {
  q_msq_quantize_attrs at = q_msq_quantize_get(op);
  qrt_msq_quantize_params *p = &c->params.msq_quantize;
  qcc_shape x = shape_of(q_msq_quantize_in(op, 0)), mod = shape_of(q_msq_quantize_in(op, 1));
  int n = (int)at.zero_points.n;
  if (n < 1 || n > QRT_MSQ_MAX_MODALITIES || !msq_scales(at.scales, n, p->inv_scale, true) || x.rank < 1)
    return fail(op, "msq_quantize needs 1..8 modalities with one scale and zero point each");
  p->n_mod = n;
  for (int m = 0; m < n; m++) p->zero_point[m] = (int32_t)at.zero_points.v[m];
  p->K = x.dims[x.rank - 1];
  p->M = p->K ? qcc_shape_numel(&x) / p->K : 0;
  if (qcc_shape_numel(&mod) != p->M) return fail(op, "msq_quantize needs one modality per row");
  p->mod_dtype = mod.dtype;
  p->qmin = (int32_t)at.qmin;
  p->qmax = (int32_t)at.qmax;
  set_inputs(op, c);
  return use(op, c, "qrt_msq_quantize_f32_i8");
}

/* What both MSQ matmuls share: the geometry (int8 codes a [M, K], constant
 * weight codes b [K, N] packed, one modality per row), weight format and
 * group; in[0] a, in[1] b, in[5] the modalities, in[6] gmult.  The
 * caller sets in[2..4] (its epilogue's constants). */
static bool msqmatmul_common(MlirOperation op, qcc_call *c, qrt_msqmatmul_params *p, MlirValue mod_v, MlirValue gm,
                             int64_t group, const char *format) {
  qcc_shape a = shape_of(mlirOperationGetOperand(op, 0)), b = shape_of(mlirOperationGetOperand(op, 1));
  qcc_shape mod = shape_of(mod_v);
  p->K = a.dims[a.rank - 1];
  p->M = p->K ? qcc_shape_numel(&a) / p->K : 0;
  p->N = b.dims[b.rank - 1];
  if (a.dtype != QRT_I8 || b.rank != 2 || qcc_shape_numel(&mod) != p->M)
    return fail(op, "msqmatmul needs int8 codes, a 2-D weight and one modality per row");
  p->mod_dtype = mod.dtype;
  p->group = group;
  if (!weight_format(op, format, &p->b_format)) return false;
  for (int i = 0; i < 8; i++) c->in[i] = (MlirValue){NULL};
  c->in[0] = mlirOperationGetOperand(op, 0);
  c->in[1] = mlirOperationGetOperand(op, 1);
  c->in[5] = mod_v;
  c->in[6] = gm;
  c->n_in = 8;
  if (!mlirValueIsNull(gm) && (p->group <= 0 || p->group % 4))
    return fail(op, "grouped weights need a group size that is a positive multiple of 4");
  if (!qcc_value_is_constant(c->in[1])) return fail(op, "msqmatmul needs constant weight codes");
  p->b_packed = 1;
  c->packed_slot = 1;
  c->pack_kind = p->b_format == QRT_WFMT_I4 ? QCC_PACK_I4_B : QCC_PACK_I8_B;
  c->pack_k = p->K;
  c->pack_n = p->N;
  return true;
}

static bool lower_msqmatmul(MlirOperation op, qcc_call *c) {
  q_msqmatmul_attrs at = q_msqmatmul_get(op);
  qrt_msqmatmul_params *p = &c->params.msqmatmul;
  int n = (int)at.out_zero_points.n;
  if (n < 1 || n > QRT_MSQ_MAX_MODALITIES || !msq_scales(at.out_scales, n, p->out_scale, false) ||
      at.out_mins.n != n || at.out_maxs.n != n)
    return fail(op, "msqmatmul needs 1..8 modalities with one output scale, zero point and range each");
  p->n_mod = n;
  for (int m = 0; m < n; m++) {
    p->out_zero_point[m] = (int32_t)at.out_zero_points.v[m];
    p->out_min[m] = (int32_t)at.out_mins.v[m];
    p->out_max[m] = (int32_t)at.out_maxs.v[m];
  }
  MlirValue gm = q_msqmatmul_num_in(op, 6) ? q_msqmatmul_in(op, 6) : (MlirValue){NULL};
  if (!msqmatmul_common(op, c, p, q_msqmatmul_in(op, 5), gm, at.group, at.format.s)) return false;
  for (int i = 2; i < 5; i++) c->in[i] = mlirOperationGetOperand(op, i); /* bias, mult, shift */
  qcc_shape y = shape_of(mlirOperationGetResult(op, 0));
  if (y.dtype == QRT_I8) return use(op, c, "qrt_msqmatmul_i8"); /* int8 codes out */
  return use(op, c, "qrt_msqmatmul_i8_f32");
}

/* q.msqmatmul_deq (float-epilogues pass): the sums of q.msqmatmul, then per
 * modality clamp(scale * acc + bias) [+ residual] in float. */
static bool lower_msqmatmul_deq(MlirOperation op, qcc_call *c) {
  q_msqmatmul_deq_attrs at = q_msqmatmul_deq_get(op);
  qrt_msqmatmul_params *p = &c->params.msqmatmul;
  qcc_shape bias = shape_of(q_msqmatmul_deq_in(op, 2)), scale = shape_of(q_msqmatmul_deq_in(op, 3));
  qcc_shape y = shape_of(mlirOperationGetResult(op, 0));
  int n = bias.rank == 2 ? (int)bias.dims[0] : 0;
  if (n < 1 || n > QRT_MSQ_MAX_MODALITIES || !msq_scales(at.out_los, n, p->f_min, false) ||
      !msq_scales(at.out_his, n, p->f_max, false))
    return fail(op, "msqmatmul_deq needs 1..8 modalities with one output range each");
  p->n_mod = n;
  for (int m = 0; m < n; m++)
    if (!(p->f_min[m] <= p->f_max[m])) return fail(op, "msqmatmul_deq needs out_los <= out_his");
  MlirValue gm = q_msqmatmul_deq_num_in(op, 5) ? q_msqmatmul_deq_in(op, 5) : (MlirValue){NULL};
  if (!msqmatmul_common(op, c, p, q_msqmatmul_deq_in(op, 4), gm, at.group, at.format.s)) return false;
  if (y.dtype != QRT_F32 || bias.dtype != QRT_F32 || scale.dtype != QRT_F32 || qcc_shape_numel(&bias) != n * p->N ||
      qcc_shape_numel(&scale) != n * p->N)
    return fail(op, "msqmatmul_deq needs a float32 result and float32 bias and scale [n_mod, N]");
  c->in[2] = q_msqmatmul_deq_in(op, 2);
  c->in[3] = q_msqmatmul_deq_in(op, 3);
  if (q_msqmatmul_deq_num_in(op, 6)) {
    qcc_shape r = shape_of(q_msqmatmul_deq_in(op, 6));
    if (r.dtype != QRT_F32 || qcc_shape_numel(&r) != qcc_shape_numel(&y))
      return fail(op, "msqmatmul_deq's residual must be float32 of the result's shape");
    c->in[4] = q_msqmatmul_deq_in(op, 6);
  }
  return use(op, c, "qrt_msqmatmul_i8_f32out");
}

static bool lower_msq_lut(MlirOperation op, qcc_call *c) {
  qrt_msq_lut_params *p = &c->params.msq_lut;
  qcc_shape x = shape_of(q_msq_lut_in(op, 0)), t = shape_of(q_msq_lut_in(op, 1)), mod = shape_of(q_msq_lut_in(op, 2));
  qcc_shape y = shape_of(mlirOperationGetResult(op, 0));
  if (x.dtype != QRT_I8 || x.rank < 1 || (t.dtype != QRT_I8 && t.dtype != QRT_F32) || t.dtype != y.dtype ||
      t.rank != 2 || t.dims[1] != 256 || t.dims[0] < 1 || t.dims[0] > QRT_MSQ_MAX_MODALITIES)
    return fail(op, "msq_lut needs int8 codes and an int8 or float32 table [n_mod, 256] of its result's type, 1..8 modalities");
  p->n_mod = (int32_t)t.dims[0];
  p->K = x.dims[x.rank - 1];
  p->M = p->K ? qcc_shape_numel(&x) / p->K : 0;
  if (qcc_shape_numel(&mod) != p->M) return fail(op, "msq_lut needs one modality per row");
  p->mod_dtype = mod.dtype;
  set_inputs(op, c);
  return use(op, c, y.dtype == QRT_F32 ? "qrt_msq_lut_i8_f32" : "qrt_msq_lut_i8");
}

static bool lower_fqmatmul(MlirOperation op, qcc_call *c) {
  q_fqmatmul_attrs at = q_fqmatmul_get(op);
  qrt_qmatmul_params *p = &c->params.qmatmul;
  p->group = at.group;
  p->a_bits = (int32_t)at.act_bits;
  if (at.act_bits != 0 && at.act_bits != 8 && at.act_bits != 4) return fail(op, "act_bits must be 0, 4 or 8");
  if (!qmatmul_geometry(op, p) || !weight_format(op, at.format.s, &p->b_format)) return false;
  if (p->strided) return fail(op, "fqmatmul reads dense operands only (no folded transposes)");
  MlirValue gm = q_fqmatmul_num_in(op, 4) ? q_fqmatmul_in(op, 4) : (MlirValue){NULL};
  if (!qmatmul_inputs(op, c, p, 4, gm)) return false;
  if (!p->b_packed) return fail(op, "fqmatmul needs a constant weight");
  c->scratch_slot = 7;
  c->scratch_bytes = at.act_bits ? qrt_qmatmul_dyn_scratch(p) : qrt_wmatmul_scratch(p);
  return use(op, c, at.act_bits ? "qrt_qmatmul_dyn_f32" : "qrt_wmatmul_f32");
}

/* A block format's table id; "f32" (float activations) is -1 when
 * allowed. */
static bool block_format(MlirOperation op, const char *name, bool f32_ok, int32_t *id) {
  if (f32_ok && !strcmp(name, "f32")) {
    *id = -1;
    return true;
  }
  *id = qrt_bformat_find(name);
  return *id >= 0 ? true : fail(op, "unknown block format");
}

static bool lower_bmatmul(MlirOperation op, qcc_call *c) {
  q_bmatmul_attrs at = q_bmatmul_get(op);
  qrt_bmatmul_params *p = &c->params.bmatmul;
  qcc_shape a = shape_of(q_bmatmul_in(op, 0)), w = shape_of(q_bmatmul_in(op, 1));
  if (!block_format(op, at.w_format.s, false, &p->w_format) || !block_format(op, at.a_format.s, true, &p->a_format))
    return false;
  if (a.rank < 1) return fail(op, "bmatmul needs a ranked input");
  p->K = a.dims[a.rank - 1];
  if (qcc_value_is_constant(q_bmatmul_in(op, 1)) && w.dtype == QRT_U8 && w.rank == 2) {
    /* packed constant weights: every row of a is one of M */
    p->batch = 1;
    p->M = qcc_shape_numel(&a) / (p->K ? p->K : 1);
    p->N = w.dims[0];
    if (w.dims[1] != qrt_bfmt_bytes(p->w_format, p->K))
      return fail(op, "bmatmul weight bytes do not match K and the format");
  } else if (w.dtype == QRT_F32 && w.rank == a.rank && a.rank >= 2 && w.dims[w.rank - 2] == p->K) {
    /* a run-time B [batch..., K, N], batch dims equal to a's (no broadcast) */
    p->b_runtime = 1;
    p->batch = 1;
    for (int i = 0; i < a.rank - 2; i++) {
      if (a.dims[i] != w.dims[i]) return fail(op, "bmatmul with a run-time B needs equal batch dims");
      p->batch *= a.dims[i];
    }
    p->M = a.dims[a.rank - 2];
    p->N = w.dims[w.rank - 1];
  } else {
    return fail(op, "bmatmul needs a constant ui8 [N, bytes] weight or a float [..., K, N] run-time B");
  }
  for (int i = 0; i < 4; i++) c->in[i] = (MlirValue){NULL};
  c->in[0] = q_bmatmul_in(op, 0);
  c->in[1] = q_bmatmul_in(op, 1);
  if (q_bmatmul_num_in(op, 2)) c->in[2] = q_bmatmul_in(op, 2);
  c->n_in = 4;
  c->scratch_slot = 3;
  c->scratch_bytes = qrt_bmatmul_scratch(p);
  return use(op, c, "qrt_bmatmul_f32");
}

static bool lower_qconv(MlirOperation op, qcc_call *c) {
  q_qconv_attrs a = q_qconv_get(op);
  qcc_shape x = shape_of(q_qconv_in(op, 0)), w = shape_of(q_qconv_in(op, 1)), y = shape_of(mlirOperationGetResult(op, 0));
  q_i64s kernel = {w.rank - 2, {0}};
  for (int i = 0; i < kernel.n; i++) kernel.v[i] = w.dims[2 + i];
  geometry g;
  canonical_geometry(&x, &y, &kernel, &a.strides, &a.pads, &a.dilations, &g);
  double s;
  int64_t zx, zy;
  quant_of(q_qconv_in(op, 0), &s, &zx);
  quant_of(mlirOperationGetResult(op, 0), &s, &zy);
  qrt_qconv_params *p = &c->params.qconv;
  p->group = (int32_t)a.group;
  p->a_zero_point = (int32_t)zx;
  p->out_zero_point = (int32_t)zy;
  p->out_min = (int32_t)a.out_min;
  p->out_max = (int32_t)a.out_max;
  p->n = x.dims[0];
  p->c_in = x.dims[1];
  p->c_out = w.dims[0];
  set_geometry(&g, p->in_spatial, p->out_spatial, p->kernel, p->strides, p->dilations, p->pads_begin);
  set_inputs(op, c);
  c->n_in = 7;
  c->scratch_slot = 6;
  int32_t fmt;
  if (!weight_format(op, a.format.s, &fmt)) return false;
  /* int4 codes are packed two per byte where the GEMM path reads them;
   * elsewhere (depthwise) they stay one per byte. */
  if (fmt == QRT_WFMT_I4 && qcc_value_is_constant(c->in[1]) && qrt_qconv_packs_i4(p)) p->w_format = fmt;
  if (qcc_value_is_constant(c->in[1])) {
    p->w_packed = 1;
    c->packed_slot = 1;
    c->pack_kind = QCC_PACK_I8_CONV;
  }
  c->scratch_bytes = qrt_qconv_scratch_i8(p); /* its im2row layout depends on the packing */
  return use(op, c, "qrt_qconv_i8");
}

static const kind_code unary_kinds[] = {
    {"identity", QRT_UNARY_IDENTITY}, {"relu", QRT_UNARY_RELU}, {"leaky_relu", QRT_UNARY_LEAKY_RELU},
    {"elu", QRT_UNARY_ELU}, {"selu", QRT_UNARY_SELU}, {"sigmoid", QRT_UNARY_SIGMOID},
    {"hard_sigmoid", QRT_UNARY_HARD_SIGMOID}, {"hard_swish", QRT_UNARY_HARD_SWISH}, {"tanh", QRT_UNARY_TANH},
    {"erf", QRT_UNARY_ERF}, {"gelu", QRT_UNARY_GELU}, {"gelu_tanh", QRT_UNARY_GELU_TANH}, {"silu", QRT_UNARY_SILU},
    {"softplus", QRT_UNARY_SOFTPLUS}, {"softsign", QRT_UNARY_SOFTSIGN}, {"exp", QRT_UNARY_EXP},
    {"log", QRT_UNARY_LOG}, {"sqrt", QRT_UNARY_SQRT}, {"neg", QRT_UNARY_NEG}, {"abs", QRT_UNARY_ABS},
    {"reciprocal", QRT_UNARY_RECIPROCAL}, {"ceil", QRT_UNARY_CEIL}, {"floor", QRT_UNARY_FLOOR},
    {"round", QRT_UNARY_ROUND}, {"sign", QRT_UNARY_SIGN}, {"sin", QRT_UNARY_SIN}, {"cos", QRT_UNARY_COS},
    {"tan", QRT_UNARY_TAN}, {"asin", QRT_UNARY_ASIN}, {"acos", QRT_UNARY_ACOS}, {"atan", QRT_UNARY_ATAN},
    {"sinh", QRT_UNARY_SINH}, {"cosh", QRT_UNARY_COSH}, {"asinh", QRT_UNARY_ASINH}, {"acosh", QRT_UNARY_ACOSH},
    {"atanh", QRT_UNARY_ATANH}, {"clip", QRT_UNARY_CLIP}, {"not", QRT_UNARY_NOT}, {"isnan", QRT_UNARY_ISNAN},
    {"isinf", QRT_UNARY_ISINF}, {"isinf_pos", QRT_UNARY_ISINF_POS}, {"isinf_neg", QRT_UNARY_ISINF_NEG},
    {"shrink", QRT_UNARY_SHRINK}, {"celu", QRT_UNARY_CELU}, {"thresholded_relu", QRT_UNARY_THRESHOLDED_RELU},
    {"mish", QRT_UNARY_MISH}, {NULL, 0},
};

bool qcc_unary_kind_code(const char *kind, int *code) {
  for (const kind_code *k = unary_kinds; k->name; k++)
    if (!strcmp(k->name, kind)) {
      *code = k->code;
      return true;
    }
  return false;
}

static bool lower_unary(MlirOperation op, qcc_call *c) {
  q_unary_attrs a = q_unary_get(op);
  qcc_shape x = shape_of(q_unary_in(op, 0));
  qrt_unary_params *p = &c->params.unary;
  int code;
  if (!code_of(op, unary_kinds, a.kind.s, &code)) return false;
  p->op = code;
  p->n = qcc_shape_numel(&x);
  p->alpha = (float)a.alpha;
  p->beta = (float)a.beta;
  if (x.dtype != QRT_F32 && x.dtype != QRT_F64 && code == QRT_UNARY_CLIP) {
    p->ialpha = (int64_t)a.alpha;
    p->ibeta = (int64_t)a.beta;
  }
  set_inputs(op, c);
  return pick(op, c, "qrt_unary", x.dtype);
}

static const kind_code binary_kinds[] = {
    {"add", QRT_BINARY_ADD}, {"sub", QRT_BINARY_SUB}, {"mul", QRT_BINARY_MUL}, {"div", QRT_BINARY_DIV},
    {"pow", QRT_BINARY_POW}, {"max", QRT_BINARY_MAX}, {"min", QRT_BINARY_MIN}, {"mod", QRT_BINARY_MOD},
    {"fmod", QRT_BINARY_FMOD}, {"prelu", QRT_BINARY_PRELU}, {"equal", QRT_BINARY_EQUAL},
    {"less", QRT_BINARY_LESS}, {"greater", QRT_BINARY_GREATER}, {"less_equal", QRT_BINARY_LESS_EQUAL},
    {"greater_equal", QRT_BINARY_GREATER_EQUAL}, {"and", QRT_BINARY_AND}, {"or", QRT_BINARY_OR},
    {"xor", QRT_BINARY_XOR}, {"bitand", QRT_BINARY_BITAND}, {"bitor", QRT_BINARY_BITOR},
    {"bitxor", QRT_BINARY_BITXOR}, {"shl", QRT_BINARY_SHL}, {"shr", QRT_BINARY_SHR}, {NULL, 0},
};

static bool lower_binary(MlirOperation op, qcc_call *c) {
  q_binary_attrs a = q_binary_get(op);
  qcc_shape x = shape_of(q_binary_in(op, 0)), w = shape_of(q_binary_in(op, 1)), y = shape_of(mlirOperationGetResult(op, 0));
  qrt_binary_params *p = &c->params.binary;
  int code;
  if (!code_of(op, binary_kinds, a.kind.s, &code)) return false;
  p->op = code;
  p->rank = y.rank;
  memcpy(p->out_shape, y.dims, sizeof(int64_t) * (size_t)y.rank);
  broadcast_strides(&x, &y, p->a_strides);
  broadcast_strides(&w, &y, p->b_strides);
  set_inputs(op, c);
  if (y.dtype != QRT_I8 || x.dtype != QRT_F32) return pick(op, c, "qrt_binary", x.dtype);
  /* float operands, int8 out: its quantize fused (passes/fuse_output_quantize.c) */
  if (w.dtype != QRT_F32 || (code != QRT_BINARY_ADD && code != QRT_BINARY_SUB && code != QRT_BINARY_MUL))
    return fail(op, "a binary op writes int8 codes of float operands only for add, sub and mul");
  qrt_binary_params bp = *p;
  qrt_binary_q_params *q = &c->params.binary_q;
  memset(q, 0, sizeof *q);
  q->op = bp.op;
  q->rank = bp.rank;
  memcpy(q->out_shape, bp.out_shape, sizeof q->out_shape);
  memcpy(q->a_strides, bp.a_strides, sizeof q->a_strides);
  memcpy(q->b_strides, bp.b_strides, sizeof q->b_strides);
  output_quant(mlirOperationGetResult(op, 0), &q->inv_scale, &q->zero_point, &q->qmin, &q->qmax);
  return use(op, c, "qrt_binary_f32_i8");
}

static bool lower_where(MlirOperation op, qcc_call *c) {
  qcc_shape y = shape_of(mlirOperationGetResult(op, 0));
  qcc_shape cs = shape_of(q_where_in(op, 0)), as = shape_of(q_where_in(op, 1)), bs = shape_of(q_where_in(op, 2));
  qrt_where_params *p = &c->params.where;
  p->rank = y.rank;
  p->elem_size = (int32_t)qcc_dtype_size(y.dtype);
  memcpy(p->out_shape, y.dims, sizeof(int64_t) * (size_t)y.rank);
  broadcast_strides(&cs, &y, p->cond_strides);
  broadcast_strides(&as, &y, p->a_strides);
  broadcast_strides(&bs, &y, p->b_strides);
  set_inputs(op, c);
  /* an operand of the result's shape (not broadcast) may be its buffer:
   * b first (y = where(update here, new, state)) */
  if (bs.rank == y.rank && !memcmp(bs.dims, y.dims, sizeof(int64_t) * (size_t)y.rank)) c->inplace_slot = 2;
  else if (as.rank == y.rank && !memcmp(as.dims, y.dims, sizeof(int64_t) * (size_t)y.rank)) c->inplace_slot = 1;
  return use(op, c, "qrt_where");
}

static bool lower_softmax(MlirOperation op, qcc_call *c) {
  q_softmax_attrs a = q_softmax_get(op);
  qcc_shape x = shape_of(q_softmax_in(op, 0));
  if (x.dtype != QRT_F32) return fail(op, "only float32 softmax is implemented");
  qrt_softmax_params *p = &c->params.softmax;
  p->log = (int32_t)a.log;
  p->outer = p->inner = 1;
  p->axis_len = x.rank ? x.dims[a.axis] : 1;
  for (int i = 0; i < x.rank; i++) {
    if (i < a.axis) p->outer *= x.dims[i];
    if (i > a.axis) p->inner *= x.dims[i];
  }
  set_inputs(op, c);
  return use(op, c, "qrt_softmax_f32");
}

static bool lower_norm(MlirOperation op, qcc_call *c) {
  q_norm_attrs a = q_norm_get(op);
  qcc_shape x = shape_of(q_norm_in(op, 0));
  if (x.dtype != QRT_F32) return fail(op, "only float32 normalisation is implemented");
  qrt_norm_params *p = &c->params.norm;
  p->epsilon = (float)a.epsilon;
  p->outer = p->norm_size = 1;
  for (int i = 0; i < x.rank; i++) *(i < a.axis ? &p->outer : &p->norm_size) *= x.dims[i];
  c->in[0] = q_norm_in(op, 0);
  c->in[1] = q_norm_in(op, 1);
  c->in[2] = q_norm_in(op, 2);
  c->n_in = 3;
  c->n_out = 3; /* mean and inverse std outputs: not produced (NULL) */
  bool layer = !strcmp(a.kind.s, "layer");
  if (!layer && strcmp(a.kind.s, "rms")) return fail(op, "unknown norm kind");
  MlirValue y = mlirOperationGetResult(op, 0);
  qcc_shape ys = shape_of(y);
  if (ys.dtype == QRT_F32) return use(op, c, layer ? "qrt_layernorm_f32" : "qrt_rmsnorm_f32");
  /* int8 out: its quantization fused (passes/fuse_output_quantize.c) */
  if (ys.dtype != QRT_I8) return fail(op, "normalisation writes float32 or int8 codes");
  qrt_norm_params np = *p;
  qrt_norm_q_params *q = &c->params.norm_q;
  memset(q, 0, sizeof *q);
  q->epsilon = np.epsilon;
  q->outer = np.outer;
  q->norm_size = np.norm_size;
  output_quant(y, &q->inv_scale, &q->zero_point, &q->qmin, &q->qmax);
  return use(op, c, layer ? "qrt_layernorm_f32_i8" : "qrt_rmsnorm_f32_i8");
}

static bool lower_hadamard(MlirOperation op, qcc_call *c) {
  qcc_shape x = shape_of(q_hadamard_in(op, 0));
  if (x.dtype != QRT_F32 || x.rank < 1) return fail(op, "hadamard needs a float32 tensor");
  qrt_hadamard_params *p = &c->params.hadamard;
  p->n = x.dims[x.rank - 1];
  p->rows = p->n ? qcc_shape_numel(&x) / p->n : 0;
  p->m = 1;
  p->scale = (float)q_hadamard_get(op).scale;
  c->in[0] = q_hadamard_in(op, 0);
  c->in[1] = (MlirValue){NULL};
  if (q_hadamard_num_in(op, 1)) {
    c->in[1] = q_hadamard_in(op, 1);
    p->m = shape_of(c->in[1]).dims[0];
  }
  int64_t pw = p->m > 0 ? p->n / p->m : 0;
  if (p->m <= 0 || p->n % p->m || pw <= 0 || (pw & (pw - 1)))
    return fail(op, "hadamard: the last dim must be m times a power of two");
  c->n_in = 3;
  c->scratch_slot = 2;
  c->scratch_bytes = qrt_hadamard_scratch_f32(p);
  return use(op, c, "qrt_hadamard_f32");
}

static const kind_code reduce_kinds[] = {
    {"sum", QRT_REDUCE_SUM}, {"mean", QRT_REDUCE_MEAN}, {"max", QRT_REDUCE_MAX}, {"min", QRT_REDUCE_MIN},
    {"prod", QRT_REDUCE_PROD}, {"l1", QRT_REDUCE_L1}, {"l2", QRT_REDUCE_L2}, {"sum_square", QRT_REDUCE_SUM_SQUARE},
    {"log_sum", QRT_REDUCE_LOG_SUM}, {"log_sum_exp", QRT_REDUCE_LOG_SUM_EXP}, {NULL, 0},
};

static bool lower_reduce(MlirOperation op, qcc_call *c) {
  q_reduce_attrs a = q_reduce_get(op);
  qcc_shape x = shape_of(q_reduce_in(op, 0));
  qrt_reduce_params *p = &c->params.reduce;
  int code;
  if (!code_of(op, reduce_kinds, a.kind.s, &code)) return false;
  p->op = code;
  p->rank = x.rank;
  memcpy(p->in_shape, x.dims, sizeof(int64_t) * (size_t)x.rank);
  for (int i = 0; i < a.axes.n; i++) p->reduced[a.axes.v[i]] = 1;
  set_inputs(op, c);
  return pick(op, c, "qrt_reduce", x.dtype);
}

/* Data movement: a strided read of the input into a dense result. */
static bool lower_copy(MlirOperation op, qcc_call *c, const int64_t *in_strides, int64_t offset) {
  qcc_shape y = shape_of(mlirOperationGetResult(op, 0));
  qrt_copy_params *p = &c->params.copy;
  p->rank = y.rank;
  p->elem_size = (int32_t)qcc_dtype_size(y.dtype);
  p->offset = offset;
  memcpy(p->out_shape, y.dims, sizeof(int64_t) * (size_t)y.rank);
  memcpy(p->in_strides, in_strides, sizeof(int64_t) * (size_t)y.rank);
  c->n_in = 1;
  c->in[0] = mlirOperationGetOperand(op, 0);
  return use(op, c, "qrt_copy");
}

static bool lower_reshape(MlirOperation op, qcc_call *c) {
  /* A dense copy: viewed as 1-D. */
  qcc_shape y = shape_of(mlirOperationGetResult(op, 0));
  int64_t one = 1, n = qcc_shape_numel(&y);
  qrt_copy_params *p = &c->params.copy;
  p->rank = 1;
  p->elem_size = (int32_t)qcc_dtype_size(y.dtype);
  p->out_shape[0] = n;
  p->in_strides[0] = one;
  c->n_in = 1;
  c->in[0] = mlirOperationGetOperand(op, 0);
  return use(op, c, "qrt_copy");
}

static bool lower_transpose(MlirOperation op, qcc_call *c) {
  q_transpose_attrs a = q_transpose_get(op);
  qcc_shape x = shape_of(q_transpose_in(op, 0));
  int64_t xs[QRT_MAX_RANK], st[QRT_MAX_RANK];
  strides_of(&x, xs);
  for (int i = 0; i < a.perm.n; i++) st[i] = xs[a.perm.v[i]];
  return lower_copy(op, c, st, 0);
}

static bool lower_slice(MlirOperation op, qcc_call *c) {
  q_slice_attrs a = q_slice_get(op);
  qcc_shape x = shape_of(q_slice_in(op, 0));
  int64_t xs[QRT_MAX_RANK], st[QRT_MAX_RANK], offset = 0;
  strides_of(&x, xs);
  for (int i = 0; i < x.rank; i++) {
    offset += a.starts.v[i] * xs[i];
    st[i] = a.steps.v[i] * xs[i];
  }
  return lower_copy(op, c, st, offset);
}

static bool lower_broadcast(MlirOperation op, qcc_call *c) {
  qcc_shape x = shape_of(q_broadcast_in(op, 0)), y = shape_of(mlirOperationGetResult(op, 0));
  int64_t st[QRT_MAX_RANK];
  broadcast_strides(&x, &y, st);
  return lower_copy(op, c, st, 0);
}

static bool lower_concat(MlirOperation op, qcc_call *c) {
  q_concat_attrs a = q_concat_get(op);
  qcc_shape y = shape_of(mlirOperationGetResult(op, 0));
  qrt_concat_params *p = &c->params.concat;
  intptr_t n = q_concat_num_in(op, 0);
  if (n > QRT_CONCAT_MAX_INPUTS) return fail(op, "more than 64 inputs");
  p->n_inputs = (int32_t)n;
  p->elem_size = (int32_t)qcc_dtype_size(y.dtype);
  p->outer = 1;
  for (int i = 0; i < a.axis; i++) p->outer *= y.dims[i];
  for (intptr_t k = 0; k < n; k++) {
    qcc_shape s = shape_of(mlirOperationGetOperand(op, k));
    int64_t inner = 1;
    for (int i = (int)a.axis; i < s.rank; i++) inner *= s.dims[i];
    p->inner_sizes[k] = inner;
  }
  set_inputs(op, c);
  return use(op, c, "qrt_concat");
}

static bool lower_gather(MlirOperation op, qcc_call *c) {
  q_gather_attrs a = q_gather_get(op);
  qcc_shape x = shape_of(q_gather_in(op, 0)), idx = shape_of(q_gather_in(op, 1));
  qrt_gather_params *p = &c->params.gather;
  p->index_dtype = idx.dtype;
  p->elem_size = (int32_t)qcc_dtype_size(x.dtype);
  p->outer = p->inner = 1;
  p->axis_dim = x.dims[a.axis];
  for (int i = 0; i < x.rank; i++) {
    if (i < a.axis) p->outer *= x.dims[i];
    if (i > a.axis) p->inner *= x.dims[i];
  }
  p->n_indices = qcc_shape_numel(&idx);
  set_inputs(op, c);
  return use(op, c, "qrt_gather");
}

static bool lower_gather_elements(MlirOperation op, qcc_call *c) {
  q_gather_elements_attrs a = q_gather_elements_get(op);
  qcc_shape x = shape_of(q_gather_elements_in(op, 0)), idx = shape_of(q_gather_elements_in(op, 1));
  qrt_gather_elements_params *p = &c->params.gather_elements;
  p->index_dtype = idx.dtype;
  p->elem_size = (int32_t)qcc_dtype_size(x.dtype);
  p->rank = x.rank;
  p->axis = (int32_t)a.axis;
  memcpy(p->data_shape, x.dims, sizeof(int64_t) * (size_t)x.rank);
  memcpy(p->idx_shape, idx.dims, sizeof(int64_t) * (size_t)idx.rank);
  set_inputs(op, c);
  return use(op, c, "qrt_gather_elements");
}

/* GatherND / ScatterND geometry: x viewed as [batch, tuple dims, slice],
 * indices as [batch, n_tuples, k]. */
static void nd_geometry(const qcc_shape *x, const qcc_shape *idx, int batch_dims, int64_t *batch, int64_t *n_tuples,
                        int32_t *k, int64_t *slice, int64_t *idx_dims) {
  *k = (int32_t)idx->dims[idx->rank - 1];
  *batch = *n_tuples = *slice = 1;
  for (int i = 0; i < batch_dims; i++) *batch *= x->dims[i];
  for (int i = batch_dims; i < idx->rank - 1; i++) *n_tuples *= idx->dims[i];
  for (int i = 0; i < *k; i++) idx_dims[i] = x->dims[batch_dims + i];
  for (int i = batch_dims + *k; i < x->rank; i++) *slice *= x->dims[i];
}

static bool lower_gather_nd(MlirOperation op, qcc_call *c) {
  q_gather_nd_attrs a = q_gather_nd_get(op);
  qcc_shape x = shape_of(q_gather_nd_in(op, 0)), idx = shape_of(q_gather_nd_in(op, 1));
  qrt_gather_nd_params *p = &c->params.gather_nd;
  p->index_dtype = idx.dtype;
  p->elem_size = (int32_t)qcc_dtype_size(x.dtype);
  nd_geometry(&x, &idx, (int)a.batch_dims, &p->batch, &p->n_tuples, &p->k, &p->slice, p->idx_dims);
  set_inputs(op, c);
  return use(op, c, "qrt_gather_nd");
}

static const kind_code scatter_kinds[] = {
    {"none", QRT_SCATTER_NONE}, {"add", QRT_SCATTER_ADD}, {"mul", QRT_SCATTER_MUL},
    {"max", QRT_SCATTER_MAX},   {"min", QRT_SCATTER_MIN}, {NULL, 0},
};

static bool lower_scatter_elements(MlirOperation op, qcc_call *c) {
  q_scatter_elements_attrs a = q_scatter_elements_get(op);
  qcc_shape x = shape_of(q_scatter_elements_in(op, 0)), idx = shape_of(q_scatter_elements_in(op, 1));
  qrt_scatter_elements_params *p = &c->params.scatter_elements;
  int code;
  if (!code_of(op, scatter_kinds, a.reduction.s, &code)) return false;
  p->dtype = x.dtype;
  p->index_dtype = idx.dtype;
  p->reduction = code;
  p->rank = x.rank;
  p->axis = (int32_t)a.axis;
  memcpy(p->data_shape, x.dims, sizeof(int64_t) * (size_t)x.rank);
  memcpy(p->idx_shape, idx.dims, sizeof(int64_t) * (size_t)idx.rank);
  set_inputs(op, c);
  c->inplace_slot = 0; /* the kernel copies data only when out != data */
  return use(op, c, "qrt_scatter_elements");
}

static bool lower_scatter_nd(MlirOperation op, qcc_call *c) {
  q_scatter_nd_attrs a = q_scatter_nd_get(op);
  qcc_shape x = shape_of(q_scatter_nd_in(op, 0)), idx = shape_of(q_scatter_nd_in(op, 1));
  qrt_scatter_nd_params *p = &c->params.scatter_nd;
  int code;
  int64_t batch;
  if (!code_of(op, scatter_kinds, a.reduction.s, &code)) return false;
  p->dtype = x.dtype;
  p->index_dtype = idx.dtype;
  p->reduction = code;
  nd_geometry(&x, &idx, 0, &batch, &p->n_tuples, &p->k, &p->slice, p->idx_dims);
  set_inputs(op, c);
  c->inplace_slot = 0;
  return use(op, c, "qrt_scatter_nd");
}

/* KV cache rows (--kv-bits): the packed cache is ui8 [..., row bytes]; the
 * float tensor it holds is [..., row_len]. */
static bool kv_geometry(MlirOperation op, MlirValue cache, int64_t bits, int64_t row_len, qrt_kv_params *p,
                        qcc_shape *as_float) {
  qcc_shape x = shape_of(cache);
  if ((bits != 8 && bits != 4) || row_len < 1 || x.rank < 1 || x.dtype != QRT_U8 ||
      x.dims[x.rank - 1] != qrt_kv_row_bytes((int32_t)bits, row_len))
    return fail(op, "KV cache rows do not match their bits and row length");
  p->bits = (int32_t)bits;
  p->row_len = row_len;
  p->rows = qcc_shape_numel(&x) / x.dims[x.rank - 1];
  *as_float = x;
  as_float->dtype = QRT_F32;
  as_float->dims[x.rank - 1] = row_len;
  return true;
}

static bool lower_kv_load(MlirOperation op, qcc_call *c) {
  q_kv_load_attrs a = q_kv_load_get(op);
  qcc_shape f, y = shape_of(mlirOperationGetResult(op, 0));
  qrt_kv_params *p = &c->params.kv;
  if (!kv_geometry(op, q_kv_load_in(op, 0), a.bits, y.rank ? y.dims[y.rank - 1] : 0, p, &f)) return false;
  set_inputs(op, c);
  return use(op, c, "qrt_kv_load");
}

static bool lower_kv_store(MlirOperation op, qcc_call *c) {
  q_kv_store_attrs a = q_kv_store_get(op);
  qcc_shape f, idx = shape_of(q_kv_store_in(op, 1));
  qrt_kv_params *p = &c->params.kv;
  bool nd = !strcmp(a.kind.s, "nd");
  if (!kv_geometry(op, q_kv_store_in(op, 0), a.bits, a.row_len, p, &f)) return false;
  if (!nd && strcmp(a.kind.s, "elements")) return fail(op, "kv_store kind must be elements or nd");
  p->index_dtype = idx.dtype;
  if (nd) {
    int64_t batch;
    nd_geometry(&f, &idx, 0, &batch, &p->n_tuples, &p->k, &p->slice, p->idx_dims);
  } else {
    p->rank = f.rank;
    p->axis = (int32_t)a.axis;
    memcpy(p->data_shape, f.dims, sizeof(int64_t) * (size_t)f.rank);
    memcpy(p->idx_shape, idx.dims, sizeof(int64_t) * (size_t)idx.rank);
  }
  set_inputs(op, c);
  c->inplace_slot = 0; /* the kernel copies the cache only when out != in */
  c->n_in = 4;
  c->scratch_slot = 3;
  c->scratch_bytes = qrt_kv_store_scratch(p);
  return use(op, c, nd ? "qrt_kv_store_nd" : "qrt_kv_store_elements");
}

static const kind_code resize_modes[] = {
    {"nearest", QRT_RESIZE_NEAREST}, {"linear", QRT_RESIZE_LINEAR}, {"cubic", QRT_RESIZE_CUBIC}, {NULL, 0},
};
static const kind_code resize_coords[] = {
    {"half_pixel", QRT_RESIZE_HALF_PIXEL}, {"pytorch_half_pixel", QRT_RESIZE_PYTORCH_HALF_PIXEL},
    {"align_corners", QRT_RESIZE_ALIGN_CORNERS}, {"asymmetric", QRT_RESIZE_ASYMMETRIC},
    {"tf_half_pixel_for_nn", QRT_RESIZE_TF_HALF_PIXEL_FOR_NN}, {"tf_crop_and_resize", QRT_RESIZE_TF_CROP_AND_RESIZE},
    {NULL, 0},
};
static const kind_code resize_nearest[] = {
    {"round_prefer_floor", QRT_RESIZE_ROUND_PREFER_FLOOR}, {"round_prefer_ceil", QRT_RESIZE_ROUND_PREFER_CEIL},
    {"floor", QRT_RESIZE_FLOOR}, {"ceil", QRT_RESIZE_CEIL}, {NULL, 0},
};

static bool lower_resize(MlirOperation op, qcc_call *c) {
  q_resize_attrs a = q_resize_get(op);
  qcc_shape x = shape_of(q_resize_in(op, 0)), y = shape_of(mlirOperationGetResult(op, 0));
  qrt_resize_params *p = &c->params.resize;
  int mode, coord, nearest;
  if (!code_of(op, resize_modes, a.mode.s, &mode) || !code_of(op, resize_coords, a.coord.s, &coord) ||
      !code_of(op, resize_nearest, a.nearest.s, &nearest))
    return false;
  if (mode != QRT_RESIZE_NEAREST && x.dtype != QRT_F32 && x.dtype != QRT_F64)
    return fail(op, "linear and cubic resize need float32 or float64");
  p->dtype = x.dtype;
  p->rank = x.rank;
  p->mode = mode;
  p->coord = coord;
  p->nearest = nearest;
  p->exclude_outside = a.exclude_outside != 0;
  p->cubic_a = (float)a.cubic_a;
  p->extrapolation = (float)a.extrapolation;
  memcpy(p->in_shape, x.dims, sizeof(int64_t) * (size_t)x.rank);
  memcpy(p->out_shape, y.dims, sizeof(int64_t) * (size_t)y.rank);
  c->in[0] = q_resize_in(op, 0);
  c->in[1] = q_resize_in(op, 1);
  c->in[2] = q_resize_in(op, 2);
  c->n_in = 3;
  return use(op, c, "qrt_resize");
}

static bool lower_cumsum(MlirOperation op, qcc_call *c) {
  q_cumsum_attrs a = q_cumsum_get(op);
  qcc_shape x = shape_of(q_cumsum_in(op, 0)), ax = shape_of(q_cumsum_in(op, 1));
  qrt_cumsum_params *p = &c->params.cumsum;
  p->dtype = x.dtype;
  p->axis_dtype = ax.dtype;
  p->exclusive = a.exclusive != 0;
  p->reverse = a.reverse != 0;
  p->rank = x.rank;
  memcpy(p->shape, x.dims, sizeof(int64_t) * (size_t)x.rank);
  set_inputs(op, c);
  return use(op, c, "qrt_cumsum");
}

static bool lower_topk(MlirOperation op, qcc_call *c) {
  q_topk_attrs a = q_topk_get(op);
  qcc_shape x = shape_of(q_topk_in(op, 0)), y = shape_of(mlirOperationGetResult(op, 0));
  qrt_topk_params *p = &c->params.topk;
  p->dtype = x.dtype;
  p->largest = a.largest != 0;
  p->outer = p->inner = 1;
  p->len = x.dims[a.axis];
  p->k = y.dims[a.axis];
  for (int i = 0; i < x.rank; i++) {
    if (i < a.axis) p->outer *= x.dims[i];
    if (i > a.axis) p->inner *= x.dims[i];
  }
  c->in[0] = q_topk_in(op, 0);
  c->n_in = 2;
  c->scratch_slot = 1;
  c->scratch_bytes = qrt_topk_scratch(p);
  return use(op, c, "qrt_topk");
}

static const kind_code grid_modes[] = {
    {"bilinear", QRT_GRID_BILINEAR}, {"nearest", QRT_GRID_NEAREST}, {"bicubic", QRT_GRID_BICUBIC}, {NULL, 0},
};
static const kind_code grid_paddings[] = {
    {"zeros", QRT_GRID_ZEROS}, {"border", QRT_GRID_BORDER}, {"reflection", QRT_GRID_REFLECTION}, {NULL, 0},
};

static bool lower_grid_sample(MlirOperation op, qcc_call *c) {
  q_grid_sample_attrs a = q_grid_sample_get(op);
  qcc_shape x = shape_of(q_grid_sample_in(op, 0)), y = shape_of(mlirOperationGetResult(op, 0));
  qrt_grid_sample_params *p = &c->params.grid_sample;
  int mode, pad;
  if (!code_of(op, grid_modes, a.mode.s, &mode) || !code_of(op, grid_paddings, a.padding.s, &pad)) return false;
  if (x.dtype != QRT_F32 || x.rank != 4) return fail(op, "grid_sample takes a 4-D float32 input");
  p->mode = mode;
  p->padding = pad;
  p->align_corners = a.align_corners != 0;
  p->n = x.dims[0];
  p->c = x.dims[1];
  p->h = x.dims[2];
  p->w = x.dims[3];
  p->oh = y.dims[2];
  p->ow = y.dims[3];
  set_inputs(op, c);
  return use(op, c, "qrt_grid_sample");
}

static const kind_code tfidf_modes[] = {
    {"TF", QRT_TFIDF_TF}, {"IDF", QRT_TFIDF_IDF}, {"TFIDF", QRT_TFIDF_TFIDF}, {NULL, 0},
};

static bool lower_tfidf(MlirOperation op, qcc_call *c) {
  q_tfidf_attrs a = q_tfidf_get(op);
  qcc_shape x = shape_of(q_tfidf_in(op, 0)), y = shape_of(mlirOperationGetResult(op, 0));
  qcc_shape pool = shape_of(q_tfidf_in(op, 1)), counts = shape_of(q_tfidf_in(op, 2)), idx = shape_of(q_tfidf_in(op, 3));
  qrt_tfidf_params *p = &c->params.tfidf;
  int mode;
  if (!code_of(op, tfidf_modes, a.mode.s, &mode)) return false;
  p->x_dtype = x.dtype;
  p->mode = mode;
  p->min_n = (int32_t)a.min_gram_length;
  p->max_n = (int32_t)a.max_gram_length;
  p->max_skip = (int32_t)a.max_skip_count;
  p->rows = x.rank == 2 ? x.dims[0] : 1;
  p->cols = x.dims[x.rank - 1];
  p->out_size = y.dims[y.rank - 1];
  p->pool_size = qcc_shape_numel(&pool);
  p->n_counts = qcc_shape_numel(&counts);
  p->n_grams = qcc_shape_numel(&idx);
  c->n_in = 5;
  for (int i = 0; i < 5; i++) c->in[i] = q_tfidf_in(op, i);
  return use(op, c, "qrt_tfidf");
}

static bool lower_dft(MlirOperation op, qcc_call *c) {
  q_dft_attrs a = q_dft_get(op);
  qcc_shape x = shape_of(q_dft_in(op, 0)), y = shape_of(mlirOperationGetResult(op, 0));
  qrt_dft_params *p = &c->params.dft;
  if (x.dtype != QRT_F32) return fail(op, "only float32 DFT is implemented");
  p->inverse = a.inverse != 0;
  p->complex_in = (int32_t)x.dims[x.rank - 1];
  p->outer = p->inner = 1;
  for (int i = 0; i < x.rank - 1; i++) {
    if (i < a.axis) p->outer *= x.dims[i];
    if (i > a.axis) p->inner *= x.dims[i];
  }
  p->n = x.dims[a.axis];
  p->length = a.length;
  p->bins = y.dims[a.axis];
  set_inputs(op, c);
  return use(op, c, "qrt_dft");
}

static bool lower_det(MlirOperation op, qcc_call *c) {
  qcc_shape x = shape_of(q_det_in(op, 0));
  qrt_det_params *p = &c->params.det;
  if ((x.dtype != QRT_F32 && x.dtype != QRT_F64) || x.rank < 2) return fail(op, "det takes float32/float64 matrices");
  p->dtype = x.dtype;
  p->m = x.dims[x.rank - 1];
  p->batch = qcc_shape_numel(&x) / (p->m * p->m > 0 ? p->m * p->m : 1);
  c->in[0] = q_det_in(op, 0);
  c->n_in = 2;
  c->scratch_slot = 1;
  c->scratch_bytes = qrt_det_scratch(p);
  return use(op, c, "qrt_det");
}

static bool lower_roi_align(MlirOperation op, qcc_call *c) {
  q_roi_align_attrs a = q_roi_align_get(op);
  qcc_shape x = shape_of(q_roi_align_in(op, 0)), y = shape_of(mlirOperationGetResult(op, 0));
  qrt_roi_align_params *p = &c->params.roi_align;
  if (x.dtype != QRT_F32) return fail(op, "only float32 roi_align is implemented");
  p->mode = !strcmp(a.mode.s, "max") ? QRT_ROI_MAX : QRT_ROI_AVG;
  p->half_pixel = a.half_pixel != 0;
  p->sampling_ratio = (int32_t)a.sampling_ratio;
  p->spatial_scale = (float)a.spatial_scale;
  p->n = x.dims[0];
  p->c = x.dims[1];
  p->h = x.dims[2];
  p->w = x.dims[3];
  p->num_rois = y.dims[0];
  p->oh = y.dims[2];
  p->ow = y.dims[3];
  set_inputs(op, c);
  return use(op, c, "qrt_roi_align");
}

/* The pad value's bit pattern in the element type. */
static int64_t value_bits(qrt_dtype t, double v) {
  int64_t bits = 0;
  union {
    float f;
    double d;
    int8_t i8;
    uint8_t u8;
    int16_t i16;
    uint16_t u16;
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
  } u;
  memset(&u, 0, sizeof u);
  switch (t) {
  case QRT_F32: u.f = (float)v; break;
  case QRT_F64: u.d = v; break;
  case QRT_F16: u.u16 = qrt_f32_to_f16((float)v); break;
  case QRT_I8: u.i8 = (int8_t)v; break;
  case QRT_U8: u.u8 = (uint8_t)v; break;
  case QRT_BOOL: u.u8 = v != 0; break;
  case QRT_I16: u.i16 = (int16_t)v; break;
  case QRT_U16: u.u16 = (uint16_t)v; break;
  case QRT_I32: u.i32 = (int32_t)v; break;
  case QRT_U32: u.u32 = (uint32_t)v; break;
  case QRT_I64: u.i64 = (int64_t)v; break;
  case QRT_U64: u.u64 = (uint64_t)v; break;
  default: break;
  }
  memcpy(&bits, &u, sizeof bits);
  return bits;
}

static bool lower_pad(MlirOperation op, qcc_call *c) {
  q_pad_attrs a = q_pad_get(op);
  qcc_shape x = shape_of(q_pad_in(op, 0));
  qrt_pad_params *p = &c->params.pad;
  p->mode = !strcmp(a.mode.s, "reflect") ? QRT_PAD_REFLECT : !strcmp(a.mode.s, "edge") ? QRT_PAD_EDGE : QRT_PAD_CONSTANT;
  p->rank = x.rank;
  p->elem_size = (int32_t)qcc_dtype_size(x.dtype);
  p->value_bits = value_bits(x.dtype, a.value);
  for (int i = 0; i < x.rank; i++) {
    p->in_shape[i] = x.dims[i];
    p->pads_begin[i] = a.pads.v[i];
    p->pads_end[i] = a.pads.v[x.rank + i];
  }
  set_inputs(op, c);
  return use(op, c, "qrt_pad");
}

static bool lower_cast(MlirOperation op, qcc_call *c) {
  qcc_shape x = shape_of(q_cast_in(op, 0)), y = shape_of(mlirOperationGetResult(op, 0));
  qrt_cast_params *p = &c->params.cast;
  p->from = x.dtype;
  p->to = y.dtype;
  p->n = qcc_shape_numel(&x);
  set_inputs(op, c);
  return use(op, c, "qrt_cast");
}

static bool lower_argreduce(MlirOperation op, qcc_call *c) {
  q_argreduce_attrs a = q_argreduce_get(op);
  qcc_shape x = shape_of(q_argreduce_in(op, 0));
  qrt_argreduce_params *p = &c->params.argreduce;
  if (!strcmp(a.kind.s, "max")) p->kind = QRT_ARGREDUCE_MAX;
  else if (!strcmp(a.kind.s, "min")) p->kind = QRT_ARGREDUCE_MIN;
  else return fail(op, "unknown argreduce kind");
  p->select_last_index = a.select_last_index != 0;
  p->outer = p->inner = 1;
  p->axis_len = x.rank ? x.dims[a.axis] : 1;
  for (int i = 0; i < x.rank; i++) {
    if (i < a.axis) p->outer *= x.dims[i];
    if (i > a.axis) p->inner *= x.dims[i];
  }
  set_inputs(op, c);
  return pick(op, c, "qrt_argreduce", x.dtype);
}

typedef struct lowering {
  bool (*is)(MlirOperation);
  bool (*lower)(MlirOperation, qcc_call *);
} lowering;

static const lowering lowerings[] = {
    {q_conv_is, lower_conv},       {q_pool_is, lower_pool},           {q_matmul_is, lower_matmul},
    {q_unary_is, lower_unary},     {q_binary_is, lower_binary},       {q_where_is, lower_where},
    {q_softmax_is, lower_softmax}, {q_norm_is, lower_norm},           {q_reduce_is, lower_reduce},
    {q_reshape_is, lower_reshape}, {q_transpose_is, lower_transpose}, {q_slice_is, lower_slice},
    {q_broadcast_is, lower_broadcast}, {q_concat_is, lower_concat},   {q_gather_is, lower_gather},
    {q_pad_is, lower_pad},         {q_cast_is, lower_cast},
    {q_quantize_is, lower_quantize}, {q_dequantize_is, lower_dequantize},
    {q_qmatmul_is, lower_qmatmul}, {q_qmatmul_deq_is, lower_qmatmul_deq}, {q_qconv_is, lower_qconv}, {q_fqmatmul_is, lower_fqmatmul}, {q_bmatmul_is, lower_bmatmul},
    {q_argreduce_is, lower_argreduce}, {q_hadamard_is, lower_hadamard},
    {q_lut_is, lower_lut},         {q_qsoftmax_is, lower_qsoftmax}, {q_softmax_codes_is, lower_softmax_codes}, {q_attention_is, lower_attention},   {q_qnorm_is, lower_qnorm},
    {q_dbfp_softmax_is, lower_dbfp_softmax},
    {q_qadd_is, lower_qadd}, {q_msqmatmul_is, lower_msqmatmul}, {q_msqmatmul_deq_is, lower_msqmatmul_deq}, {q_msq_quantize_is, lower_msq_quantize}, {q_msq_lut_is, lower_msq_lut},
    {q_gather_elements_is, lower_gather_elements}, {q_gather_nd_is, lower_gather_nd},
    {q_scatter_elements_is, lower_scatter_elements}, {q_scatter_nd_is, lower_scatter_nd},
    {q_kv_store_is, lower_kv_store}, {q_kv_load_is, lower_kv_load},
    {q_resize_is, lower_resize},   {q_cumsum_is, lower_cumsum},       {q_topk_is, lower_topk},
    {q_grid_sample_is, lower_grid_sample}, {q_tfidf_is, lower_tfidf},
    {q_dft_is, lower_dft},         {q_det_is, lower_det},             {q_roi_align_is, lower_roi_align},
};

static int64_t type_bytes(MlirValue v) {
  qcc_shape s;
  if (!qcc_shape_of(v, &s)) return -1;
  return qcc_shape_numel(&s) * (int64_t)qcc_dtype_size(s.dtype);
}

bool qcc_check_loop(MlirOperation op) {
  q_loop_attrs a = q_loop_get(op);
  intptr_t n_ops = mlirOperationGetNumOperands(op), n_res = mlirOperationGetNumResults(op);
  int64_t nc = a.num_carried, t = a.trip_count;
  if (mlirOperationGetNumRegions(op) != 1 || mlirBlockIsNull(mlirRegionGetFirstBlock(mlirOperationGetRegion(op, 0))))
    return fail(op, "a q.loop needs one region with one block");
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(op, 0));
  MlirOperation yield = mlirBlockGetFirstOperation(body);
  for (MlirOperation o = yield; !mlirOperationIsNull(o); o = mlirOperationGetNextInBlock(o)) yield = o;
  int64_t c = a.has_cond != 0; /* the yield's operand 0 is the condition */
  if (t < 1 || nc < 0 || nc > n_ops || nc > n_res || n_res < 1 || a.scan_in_reverse.n > n_ops - nc ||
      a.scan_out_reverse.n > n_res - nc || mlirBlockGetNumArguments(body) != 1 + n_ops ||
      mlirOperationIsNull(yield) || !q_op_named(yield, "onnx.Yield") ||
      mlirOperationGetNumOperands(yield) != c + n_res || (c && n_res != nc))
    return fail(op, "malformed q.loop: trip_count, num_carried, operands, block arguments, yield and results disagree");
  qcc_shape cs;
  if (c && (!qcc_shape_of(mlirOperationGetOperand(yield, 0), &cs) || cs.dtype != QRT_BOOL || qcc_shape_numel(&cs) != 1))
    return fail(op, "malformed q.loop: its condition is not one bool");
  if (type_bytes(mlirBlockGetArgument(body, 0)) != 8) return fail(op, "malformed q.loop: the iteration number is not one i64");
  for (intptr_t i = 0; i < n_ops; i++) {
    MlirValue x = mlirOperationGetOperand(op, i), arg = mlirBlockGetArgument(body, 1 + i);
    bool ok = i < nc ? mlirTypeEqual(mlirValueGetType(x), mlirValueGetType(arg)) &&
                           mlirTypeEqual(mlirValueGetType(x), mlirValueGetType(mlirOperationGetResult(op, i))) &&
                           mlirTypeEqual(mlirValueGetType(x), mlirValueGetType(mlirOperationGetOperand(yield, c + i)))
                     : type_bytes(arg) >= 0 && type_bytes(x) == t * type_bytes(arg);
    if (!ok) return fail(op, "malformed q.loop: a carried value's types or a scan input's slices disagree");
  }
  for (intptr_t r = nc; r < n_res; r++) {
    int64_t y = type_bytes(mlirOperationGetOperand(yield, c + r));
    if (y < 0 || type_bytes(mlirOperationGetResult(op, r)) != t * y)
      return fail(op, "malformed q.loop: a scan output is not trip_count slices");
  }
  return true;
}

bool qcc_lower_op(MlirOperation op, qcc_call *call) {
  memset(call, 0, sizeof *call);
  call->scratch_slot = -1;
  call->packed_slot = -1;
  call->inplace_slot = -1;
  call->n_out = 1;
  for (size_t i = 0; i < sizeof lowerings / sizeof *lowerings; i++)
    if (lowerings[i].is(op)) return lowerings[i].lower(op, call);
  return fail(op, "no runtime kernel implements this op");
}
