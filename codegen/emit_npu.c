/* emit_npu.c - the NPU backend (see emit_npu.h, runtime/qrt_npu.h and
 * docs/npu.md).
 *
 * Every non-constant q op is lowered by kernel_call.c, as for the C backend
 * and the evaluator; the call then becomes either native commands or one
 * HOST command:
 *  - qrt_qmatmul_i8 with int8 weights: tiled onto the PE array (MATMUL)
 *    with the epilogue on the vector unit (REQUANT), operands moved by DMA
 *    through statically allocated, double-buffered SRAM tiles; int4
 *    weights the same way through MATMUL_I4;
 *  - qrt_bmatmul_f32 (block formats, constant weights, the runtime's
 *    integer path): activation rows encoded by BENCODE, then the GEMM
 *    through BMATMUL and BSCALE;
 *  - qrt_qconv_i8 (2-D, int8 weights): the same GEMM per image and group,
 *    its A tiles gathered by IM2COL, its output stored as NCHW rows;
 *  - qrt_lut_i8: the LUT unit, streamed through SRAM;
 *  - qrt_qadd_i8 without broadcasting: ADD on the vector unit, streamed;
 *  - qrt_maxpool_i8 (2-D): MAXPOOL on the vector unit, streamed by planes;
 *  - qrt_copy with a contiguous innermost axis: DMA only;
 *  - anything else: a HOST command that names the runtime kernel, carries
 *    its params struct and its tensors, and says why the NPU cannot run it.
 * The lowerings live in npu_gemm.c and npu_stream_ops.c, the stream under
 * construction in npu_builder.c; this file dispatches, builds HOST commands
 * and writes the stream and its header.
 * DRAM holds the model's inputs, outputs and every intermediate tensor,
 * laid out by plan_memory.c from their lifetimes; constants (weights,
 * tables, packed host weights) live in the stream's CONSTS section. */
#include "emit_npu.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu_builder.h"
#include "plan_memory.h"

/* Why a kernel with no native lowering runs on the host. */
static const char *host_reason(const char *sym) {
  if (!strcmp(sym, "qrt_quantize_f32_i8") || !strcmp(sym, "qrt_dequantize_i8_f32"))
    return "float <-> int8 conversion at the quantized region's boundary";
  if (!strcmp(sym, "qrt_bmatmul_f32"))
    return "block-format matmul the PE array cannot run";
  if (!strcmp(sym, "qrt_qmatmul_dyn_f32"))
    return "matmul with per-token scales found at run time: no row-amax command on the vector unit yet";
  if (!strcmp(sym, "qrt_wmatmul_f32")) return "weight-only quantized matmul: float activations";
  if (!strcmp(sym, "qrt_qsoftmax_i8")) return "integer softmax: no row max / exp table / normalize sequence on the vector unit yet";
  if (!strcmp(sym, "qrt_dbfp_softmax_f32"))
    return "DBFP softmax: no row max / encode / exp table / normalize sequence on the vector unit yet";
  if (!strcmp(sym, "qrt_qlayernorm_i8") || !strcmp(sym, "qrt_qrmsnorm_i8"))
    return "integer norm: no row mean / variance reduction on the vector unit yet";
  if (!strcmp(sym, "qrt_gather")) return "gather (index-driven rows, e.g. an embedding): no indexed DMA yet";
  if (strstr(sym, "_f32") || strstr(sym, "_f64") || !strcmp(sym, "qrt_where"))
    return "float kernel: the NPU computes on int8 codes";
  return "no NPU command for this runtime kernel yet";
}

static void host_ref(npu_builder *b, uint32_t t) {
  npu_put32(&b->hostdata, t);
  npu_put32(&b->hostdata, t == QRT_NPU_NONE ? 0 : b->tensors[t].d.dtype);
  npu_put64(&b->hostdata, t == QRT_NPU_NONE ? 0 : b->tensors[t].d.nbytes);
}

static void lower_host(npu_builder *b, const qcc_call *call, uint32_t out, const char *reason) {
  uint32_t ins[QCC_CALL_MAX_IN];
  for (int i = 0; i < call->n_in; i++) {
    ins[i] = QRT_NPU_NONE;
    if (i == call->scratch_slot) {
      if (call->scratch_bytes > 0) {
        int64_t n = call->scratch_bytes;
        ins[i] = npu_add_tensor(b, QRT_NPU_REGION_DRAM, QRT_U8, 1, &n, NULL);
      }
    } else if (i == call->packed_slot) {
      qcc_array w, packed;
      qcc_value_constant(call->in[i], &w);
      qcc_pack_weight(call, &w, &packed);
      ins[i] = npu_add_const(b, &packed);
      qcc_array_free(&w);
      qcc_array_free(&packed);
    } else if (!mlirValueIsNull(call->in[i])) {
      ins[i] = npu_value_tensor(b, call->in[i]);
    }
  }
  npu_align_to(&b->hostdata, 16);
  const size_t params_off = npu_put(&b->hostdata, &call->params, call->kernel->params_size);
  npu_align_to(&b->hostdata, 16);
  const size_t list_off = b->hostdata.n;
  for (int i = 0; i < call->n_in; i++) host_ref(b, ins[i]);
  host_ref(b, out);
  const uint64_t binding = qrt_npu_host_binding(call->kernel->symbol, b->hostdata.p + params_off,
                                                call->kernel->params_size, b->hostdata.p + list_off,
                                                (uint64_t)call->n_in + 1);
  const uint64_t f[] = {npu_intern(b, call->kernel->symbol), params_off, call->kernel->params_size, (uint64_t)call->n_in,
                        list_off, npu_intern(b, reason), binding};
  npu_emit(b, QRT_NPU_OP_HOST, f, 7);
  b->host_commands++;
}

static int lower_op(npu_builder *b, MlirOperation op) {
  MlirValue res = mlirOperationGetResult(op, 0);
  if (q_constant_is(op)) {
    qcc_array a;
    if (!qcc_value_constant(res, &a)) return qcc_error("NPU backend: unreadable constant"), -1;
    uint32_t id = npu_add_const(b, &a);
    qcc_ptr_map_put(&b->values, res.ptr, (void *)(intptr_t)(id + 1));
    qcc_array_free(&a);
    return 0;
  }
  qcc_call call;
  char where[256], why[160];
  if (q_loop_is(op))
    return qcc_error("%s: the NPU backend has no loops (a Loop or Scan of at most --unroll-max-ops ops is unrolled)",
                     qcc_op_where(op, where, sizeof where)),
           -1;
  if (!qcc_lower_op(op, &call)) return -1;
  b->note = npu_intern(b, qcc_op_where(op, where, sizeof where));
  /* inputs first (extends their lifetimes), then the result */
  for (int i = 0; i < call.n_in; i++)
    if (i != call.scratch_slot && i != call.packed_slot && !mlirValueIsNull(call.in[i])) npu_value_tensor(b, call.in[i]);
  const uint32_t out = npu_new_value_tensor(b, res, QRT_NPU_REGION_DRAM);
  const char *sym = call.kernel->symbol;
  bool native = false;
  why[0] = 0;
  if (!strcmp(sym, "qrt_qmatmul_i8"))
    native = npu_lower_qmatmul(b, &call, out, why, sizeof why);
  else if (!strcmp(sym, "qrt_bmatmul_f32"))
    native = npu_lower_bmatmul(b, &call, out, why, sizeof why);
  else if (!strcmp(sym, "qrt_qconv_i8"))
    native = npu_lower_qconv(b, &call, out, why, sizeof why);
  else if (!strcmp(sym, "qrt_qadd_i8"))
    native = npu_lower_qadd(b, &call, out, why, sizeof why);
  else if (!strcmp(sym, "qrt_maxpool_i8"))
    native = npu_lower_maxpool(b, &call, out, why, sizeof why);
  else if (!strcmp(sym, "qrt_copy"))
    native = npu_lower_copy(b, &call, out, why, sizeof why);
  else if (!strcmp(sym, "qrt_lut_i8"))
    native = npu_lower_lut(b, &call, out, why, sizeof why);
  if (native) {
    b->native_layers++;
  } else {
    lower_host(b, &call, out, why[0] ? why : host_reason(sym));
    qcc_remark("NPU: %s runs %s on the host: %s", where, sym, why[0] ? why : host_reason(sym));
  }
  return 0;
}

/* ---- writing the stream --------------------------------------------------------- */
static void section(npu_bytes *out, npu_bytes *table, uint32_t kind, const void *data, size_t n) {
  npu_align_to(out, QRT_NPU_ALIGN);
  npu_put32(table, kind);
  npu_put32(table, 0);
  npu_put64(table, out->n);
  npu_put64(table, n);
  npu_put(out, data, n);
}

static int write_header_file(const qcc_npu_emit_options *o, const npu_builder *b, const npu_bytes *s, MlirOperation func,
                             const uint32_t *io, int n_in, int n_out, uint64_t dram) {
  FILE *f = fopen(o->h_path, "w");
  if (!f) return qcc_error("cannot write %s", o->h_path), -1;
  const char *n = o->name;
  /* the file's base name only: the same model and flags give the same
   * bytes whatever folder they are written to */
  const char *slash = strrchr(o->h_path, '/');
  fprintf(f, "/* %s - NPU command stream generated by qcc (format version %u, docs/npu.md).\n"
             " * Run it with runtime/qrt_npu.c: qrt_npu_open(&s, %s_qcs, %s_QCS_BYTES, ...), write each\n"
             " * input at dram + its offset, qrt_npu_run, read each output at its offset. */\n",
          slash ? slash + 1 : o->h_path, QRT_NPU_VERSION, n, n);
  fprintf(f, "#ifndef %s_QCS_H\n#define %s_QCS_H\n\n", n, n);
  fprintf(f, "#define %s_QCS_BYTES %zuu\n#define %s_DRAM_BYTES %lluu\n#define %s_SRAM_BYTES %lluu\n", n, s->n, n,
          (unsigned long long)dram, n, (unsigned long long)(b->cfg->sram_banks * b->cfg->sram_bank_bytes));
  MlirAttribute names[2] = {
      mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("onnx.input_names")),
      mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("onnx.output_names"))};
  for (int k = 0; k < n_in + n_out; k++) {
    const bool is_out = k >= n_in;
    const int i = is_out ? k - n_in : k;
    const qrt_npu_tensor *t = &b->tensors[io[k]].d;
    MlirStringRef nm = mlirStringAttrGetValue(mlirArrayAttrGetElement(names[is_out], i));
    const char *kind = is_out ? "OUTPUT" : "INPUT";
    fprintf(f, "/* %s %d: '%.*s' */\n", is_out ? "output" : "input", i, (int)nm.length, nm.data);
    fprintf(f, "#define %s_%s%d_%s %lluu\n", n, kind, i, t->region == QRT_NPU_REGION_DRAM ? "DRAM_OFFSET" : "CONST_OFFSET",
            (unsigned long long)t->offset);
    fprintf(f, "#define %s_%s%d_BYTES %lluu\n", n, kind, i, (unsigned long long)t->nbytes);
  }
  fprintf(f, "\n#if defined(__GNUC__)\n__attribute__((aligned(64)))\n#endif\n"
             "static const unsigned char %s_qcs[%zu] = {", n, s->n);
  for (size_t i = 0; i < s->n; i++) fprintf(f, "%s%u,", i % 24 ? "" : "\n  ", s->p[i]);
  fprintf(f, "\n};\n\n#endif\n");
  return fclose(f) ? (qcc_error("cannot write %s", o->h_path), -1) : 0;
}

int qcc_emit_npu(MlirModule m, const qcc_npu_emit_options *o, qcc_npu_emit_stats *stats) {
  npu_builder b;
  memset(&b, 0, sizeof b);
  b.cfg = o->config;
  qcc_ptr_map_init(&b.values);
  npu_put(&b.strings, "", 1); /* offset 0: the empty string */
  MlirOperation func = qcc_module_func(m);
  MlirBlock body = qcc_func_body(func);
  MlirAttribute in_names = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("onnx.input_names"));
  MlirAttribute out_names = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("onnx.output_names"));
  const int n_in = (int)mlirBlockGetNumArguments(body);
  for (int i = 0; i < n_in; i++) npu_new_value_tensor(&b, mlirBlockGetArgument(body, i), QRT_NPU_REGION_DRAM);
  MlirOperation ret = mlirBlockGetTerminator(body);
  int rc = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !rc && !mlirOperationEqual(op, ret);
       op = mlirOperationGetNextInBlock(op)) {
    b.step++;
    rc = lower_op(&b, op);
  }
  const int n_out = (int)mlirOperationGetNumOperands(ret);
  uint32_t *io = calloc((size_t)(n_in + n_out) + 1, sizeof *io);
  b.step = INT_MAX;
  for (int i = 0; i < n_in && !rc; i++) io[i] = npu_value_tensor(&b, mlirBlockGetArgument(body, i));
  for (int i = 0; i < n_out && !rc; i++) io[n_in + i] = npu_value_tensor(&b, mlirOperationGetOperand(ret, i));
  for (int i = 0; i < n_in && !rc; i++) b.tensors[io[i]].first = 0;
  /* DRAM layout from lifetimes */
  uint64_t dram = 0;
  if (!rc) {
    qcc_buffer *bufs = calloc((size_t)b.n_tensors + 1, sizeof *bufs);
    int *ids = calloc((size_t)b.n_tensors + 1, sizeof *ids), n = 0;
    for (int t = 0; t < b.n_tensors; t++)
      if (b.tensors[t].d.region == QRT_NPU_REGION_DRAM) {
        bufs[n] = (qcc_buffer){(int64_t)(b.tensors[t].d.nbytes ? b.tensors[t].d.nbytes : 1), b.tensors[t].first,
                               b.tensors[t].last, 0};
        ids[n++] = t;
      }
    dram = (uint64_t)qcc_plan_memory(bufs, n, QRT_NPU_ALIGN);
    for (int k = 0; k < n; k++) b.tensors[ids[k]].d.offset = (uint64_t)bufs[k].offset;
    free(bufs);
    free(ids);
  }
  npu_bytes sections[QRT_NPU_NUM_SECTIONS + 1];
  memset(sections, 0, sizeof sections);
  if (!rc) {
    npu_bytes *cfg = &sections[QRT_NPU_SEC_CONFIG], *tens = &sections[QRT_NPU_SEC_TENSORS], *iob = &sections[QRT_NPU_SEC_IO],
          *cmds = &sections[QRT_NPU_SEC_COMMANDS];
    qrt_npu_config c = *o->config;
    for (int i = 0; i < qrt_npu_config_num_fields(); i++) npu_put64(cfg, *qrt_npu_config_field(&c, i, NULL));
    npu_put32(tens, (uint32_t)b.n_tensors);
    for (int t = 0; t < b.n_tensors; t++) {
      const qrt_npu_tensor *d = &b.tensors[t].d;
      npu_put32(tens, d->region), npu_put32(tens, d->dtype), npu_put32(tens, d->rank), npu_put32(tens, d->name);
      npu_put64(tens, d->offset), npu_put64(tens, d->nbytes);
      for (int k = 0; k < 8; k++) npu_put64(tens, (uint64_t)d->dims[k]);
    }
    npu_put64(iob, dram);
    npu_put32(iob, (uint32_t)n_in);
    npu_put32(iob, (uint32_t)n_out);
    for (int k = 0; k < n_in + n_out; k++) {
      MlirAttribute names = k < n_in ? in_names : out_names;
      MlirStringRef nm = mlirStringAttrGetValue(mlirArrayAttrGetElement(names, k < n_in ? k : k - n_in));
      char name[256];
      snprintf(name, sizeof name, "%.*s", (int)nm.length, nm.data);
      npu_put32(iob, io[k]);
      npu_put32(iob, npu_intern(&b, name));
    }
    npu_put32(cmds, (uint32_t)b.n_cmds);
    for (int i = 0; i < b.n_cmds; i++) {
      npu_put32(cmds, b.cmds[i].opcode);
      npu_put32(cmds, b.cmds[i].note);
      for (int k = 0; k < QRT_NPU_COMMAND_FIELDS; k++) npu_put64(cmds, b.cmds[i].f[k]);
    }
    sections[QRT_NPU_SEC_STRINGS] = b.strings;
    sections[QRT_NPU_SEC_CONSTS] = b.consts;
    sections[QRT_NPU_SEC_HOSTDATA] = b.hostdata;
    npu_bytes out = {0}, table = {0};
    npu_put(&out, NULL, QRT_NPU_HEADER_BYTES + QRT_NPU_NUM_SECTIONS * QRT_NPU_SECTION_ENTRY_BYTES);
    for (uint32_t k = 1; k <= QRT_NPU_NUM_SECTIONS; k++) section(&out, &table, k, sections[k].p, sections[k].n);
    memcpy(out.p + QRT_NPU_HEADER_BYTES, table.p, table.n);
    npu_bytes hdr = {0};
    npu_put(&hdr, QRT_NPU_MAGIC, 4);
    npu_put32(&hdr, QRT_NPU_VERSION);
    npu_put64(&hdr, qrt_npu_config_hash(o->config));
    npu_put32(&hdr, QRT_NPU_HEADER_BYTES);
    npu_put32(&hdr, QRT_NPU_NUM_SECTIONS);
    npu_put64(&hdr, out.n);
    npu_put32(&hdr, qrt_npu_crc32(out.p + QRT_NPU_HEADER_BYTES, out.n - QRT_NPU_HEADER_BYTES));
    memcpy(out.p, hdr.p, hdr.n);
    FILE *f = fopen(o->qcs_path, "wb");
    if (!f || fwrite(out.p, 1, out.n, f) != out.n) rc = -1, qcc_error("cannot write %s", o->qcs_path);
    if (f && fclose(f)) rc = -1, qcc_error("cannot write %s", o->qcs_path);
    if (!rc) rc = write_header_file(o, &b, &out, func, io, n_in, n_out, dram);
    if (stats) {
      stats->native_layers = b.native_layers;
      stats->host_commands = b.host_commands;
      stats->commands = b.n_cmds;
      stats->stream_bytes = (int64_t)out.n;
      stats->dram_bytes = (int64_t)dram;
    }
    free(out.p), free(table.p), free(hdr.p);
    for (int k = 0; k <= QRT_NPU_NUM_SECTIONS; k++)
      if (k == QRT_NPU_SEC_CONFIG || k == QRT_NPU_SEC_TENSORS || k == QRT_NPU_SEC_IO || k == QRT_NPU_SEC_COMMANDS)
        free(sections[k].p);
  }
  free(io);
  free(b.strings.p), free(b.consts.p), free(b.hostdata.p), free(b.tensors), free(b.cmds);
  qcc_ptr_map_free(&b.values);
  return rc;
}
