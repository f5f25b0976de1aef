/* emit_npu.c - the NPU backend (see emit_npu.h, runtime/qrt_npu.h and
 * docs/npu.md).
 *
 * Every non-constant q op is lowered by kernel_call.c, as for the C backend
 * and the evaluator; the call then becomes either native commands or one
 * HOST command:
 *  - qrt_qmatmul_i8 with int8 weights: tiled onto the PE array (MATMUL)
 *    with the epilogue on the vector unit (REQUANT), operands moved by DMA
 *    through statically allocated, double-buffered SRAM tiles;
 *  - qrt_qconv_i8 (2-D, int8 weights): the same GEMM per image and group,
 *    its A tiles gathered by IM2COL, its output stored as NCHW rows;
 *  - qrt_lut_i8: the LUT unit, streamed through SRAM;
 *  - qrt_qadd_i8 without broadcasting: ADD on the vector unit, streamed;
 *  - qrt_copy with a contiguous innermost axis: DMA only;
 *  - anything else: a HOST command that names the runtime kernel, carries
 *    its params struct and its tensors, and says why the NPU cannot run it.
 * DRAM holds the model's inputs, outputs and every intermediate tensor,
 * laid out by plan_memory.c from their lifetimes; constants (weights,
 * tables, packed host weights) live in the stream's CONSTS section. */
#include "emit_npu.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_call.h"
#include "name_map.h"
#include "plan_memory.h"

/* ---- growable little-endian byte buffers --------------------------------- */
typedef struct bytes {
  uint8_t *p;
  size_t n, cap;
} bytes;

static size_t put(bytes *b, const void *d, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 64;
    b->p = realloc(b->p, b->cap);
  }
  if (d) memcpy(b->p + b->n, d, n);
  else memset(b->p + b->n, 0, n);
  b->n += n;
  return b->n - n;
}

static void put32(bytes *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  put(b, x, 4);
}

static void put64(bytes *b, uint64_t v) {
  put32(b, (uint32_t)v);
  put32(b, (uint32_t)(v >> 32));
}

static void align_to(bytes *b, size_t a) {
  if (b->n % a) put(b, NULL, a - b->n % a);
}

/* ---- the stream under construction ---------------------------------------- */
typedef struct tensor {
  qrt_npu_tensor d;
  int first, last; /* DRAM lifetime in steps */
} tensor;

typedef struct builder {
  const qrt_npu_config *cfg;
  bytes strings, consts, hostdata;
  tensor *tensors;
  int n_tensors, cap_tensors;
  qrt_npu_command *cmds;
  int n_cmds, cap_cmds;
  qcc_ptr_map values; /* MlirValue.ptr -> tensor id + 1 */
  int step;
  uint32_t note;
  int native_layers, host_commands;
} builder;

static uint32_t intern(builder *b, const char *s) {
  for (size_t off = 0; off < b->strings.n; off += strlen((char *)b->strings.p + off) + 1)
    if (!strcmp((char *)b->strings.p + off, s)) return (uint32_t)off;
  return (uint32_t)put(&b->strings, s, strlen(s) + 1);
}

static uint32_t add_tensor(builder *b, uint32_t region, qrt_dtype dt, int rank, const int64_t *dims, const char *name) {
  if (b->n_tensors == b->cap_tensors) {
    b->cap_tensors = b->cap_tensors * 2 + 16;
    b->tensors = realloc(b->tensors, sizeof *b->tensors * (size_t)b->cap_tensors);
  }
  tensor *t = &b->tensors[b->n_tensors];
  memset(t, 0, sizeof *t);
  t->d.region = region;
  t->d.dtype = (uint32_t)dt;
  t->d.rank = (uint32_t)rank;
  t->d.name = name ? intern(b, name) : QRT_NPU_NONE;
  uint64_t n = qcc_dtype_size(dt);
  for (int i = 0; i < rank; i++) t->d.dims[i] = dims[i], n *= (uint64_t)dims[i];
  t->d.nbytes = n;
  t->first = t->last = b->step;
  return (uint32_t)b->n_tensors++;
}

static uint32_t add_const(builder *b, const qcc_array *a) {
  uint32_t id = add_tensor(b, QRT_NPU_REGION_CONST, a->dtype, a->rank, a->dims, NULL);
  align_to(&b->consts, QRT_NPU_ALIGN);
  b->tensors[id].d.offset = put(&b->consts, a->data, a->nbytes);
  return id;
}

static uint32_t value_tensor(builder *b, MlirValue v) {
  void *id = qcc_ptr_map_get(&b->values, v.ptr);
  if (!id) return QRT_NPU_NONE;
  uint32_t t = (uint32_t)((intptr_t)id - 1);
  if (b->tensors[t].last < b->step) b->tensors[t].last = b->step;
  return t;
}

static uint32_t new_value_tensor(builder *b, MlirValue v, uint32_t region) {
  qcc_shape s;
  qcc_shape_of(v, &s);
  uint32_t id = add_tensor(b, region, s.dtype, s.rank, s.dims, NULL);
  qcc_ptr_map_put(&b->values, v.ptr, (void *)(intptr_t)(id + 1));
  return id;
}

static void emit(builder *b, uint32_t opcode, const uint64_t *f, int n) {
  if (b->n_cmds == b->cap_cmds) {
    b->cap_cmds = b->cap_cmds * 2 + 64;
    b->cmds = realloc(b->cmds, sizeof *b->cmds * (size_t)b->cap_cmds);
  }
  qrt_npu_command *c = &b->cmds[b->n_cmds++];
  memset(c, 0, sizeof *c);
  c->opcode = opcode;
  c->note = b->note;
  memcpy(c->f, f, sizeof *f * (size_t)n);
}

static void dma(builder *b, uint32_t op, uint32_t tensor, uint64_t dram_off, uint64_t sram, uint64_t rows,
                uint64_t row_bytes, uint64_t dram_stride, uint64_t sram_stride) {
  uint64_t f[] = {tensor, dram_off, sram, rows, row_bytes, dram_stride, sram_stride};
  emit(b, op, f, 7);
}

static uint64_t sgn(int64_t v) { return (uint64_t)v; }

/* ---- static SRAM allocation -------------------------------------------------
 * Each buffer starts on a bank boundary and owns whole banks, so that the
 * two halves of a double buffer never share a bank (the executor's timing
 * lets a DMA into one bank overlap compute on another). */
typedef struct sram_alloc {
  const qrt_npu_config *cfg;
  uint64_t next_bank;
} sram_alloc;

static uint64_t banks_for(const qrt_npu_config *cfg, uint64_t bytes) {
  return (bytes + cfg->sram_bank_bytes - 1) / cfg->sram_bank_bytes;
}

static uint64_t sram_place(sram_alloc *a, uint64_t bytes) {
  uint64_t addr = a->next_bank * a->cfg->sram_bank_bytes;
  a->next_bank += banks_for(a->cfg, bytes);
  return addr;
}

/* ---- GEMM tiling -------------------------------------------------------------
 * C[M,N] = epilogue(A[M,K] @ B[K,N]) per batch.  Tiles tm x tk of A,
 * tk x tn of B, tm x tn accumulators and outputs, tn-wide epilogue vectors,
 * every one double-buffered: the tile sizes are the largest (halving from
 * 256 x 256 x 4096, see choose_tiles) whose ten buffers fit the banks. */
typedef struct gemm_tiles {
  int64_t tm, tn, tk;
} gemm_tiles;

static uint64_t gemm_banks(const qrt_npu_config *cfg, const gemm_tiles *t, int64_t out_es) {
  return 2 * (banks_for(cfg, (uint64_t)(t->tm * t->tk)) + banks_for(cfg, (uint64_t)(t->tk * t->tn)) +
              banks_for(cfg, (uint64_t)(t->tm * t->tn * 4)) + banks_for(cfg, (uint64_t)(t->tm * t->tn * out_es)) +
              banks_for(cfg, (uint64_t)(t->tn * 9)));
}

static int64_t halve(int64_t v, int64_t pe) {
  int64_t h = (v + 1) / 2;
  return h > pe ? (h + pe - 1) / pe * pe : h;
}

/* k_whole: K stays one tile (IM2COL gathers whole receptive fields). */
static bool choose_tiles(const qrt_npu_config *cfg, int64_t M, int64_t N, int64_t K, int64_t out_es, bool k_whole,
                         gemm_tiles *t) {
  t->tm = M < 256 ? M : 256;
  t->tn = N < 256 ? N : 256;
  t->tk = K < 4096 ? K : 4096;
  /* shrink the largest buffer: an operand tile along K first (more K
   * passes cost accumulator traffic only), then along M or N */
  while (gemm_banks(cfg, t, out_es) > cfg->sram_banks) {
    const int64_t a = t->tm * t->tk, bt = t->tk * t->tn, acc = t->tm * t->tn * 4;
    if (t->tm == 1 && t->tn == 1 && (t->tk == 1 || k_whole)) return false;
    if ((a >= acc || bt >= acc) && t->tk > 16 && !k_whole) t->tk = halve(t->tk, 16);
    else if (t->tm >= t->tn && t->tm > 1) t->tm = halve(t->tm, (int64_t)cfg->pe_rows);
    else if (t->tn > 1) t->tn = halve(t->tn, (int64_t)cfg->pe_cols);
    else if (!k_whole) t->tk = halve(t->tk, 1);
  }
  return true;
}

typedef struct gemm_step {
  int64_t batch, i, j, kk;
  bool load_b, load_vec;
  int a_par, b_par, v_par, acc_par;
} gemm_step;

typedef struct gemm_layer {
  uint32_t a, b, bias, mult, shift, out; /* tensors (bias NONE if absent) */
  int64_t M, N, K, out_es;
  int64_t nbatch;
  int64_t *a_off, *b_off; /* per batch, bytes; see lower_qmatmul */
  int64_t *v_off;         /* per batch, elements of the epilogue vectors (NULL: 0) */
  /* convolutions: A tiles gathered by IM2COL (these fields, f[5..10]) and
   * the output tile stored transposed (positions x channels -> NCHW) */
  bool conv;
  uint64_t im2col[QRT_NPU_COMMAND_FIELDS];
  int32_t a_zp, out_zp, out_min, out_max;
  gemm_tiles t;
  uint64_t A[2], B[2], ACC[2], OUT[2], V[2];
} gemm_layer;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static void gemm_loads(builder *b, const gemm_layer *g, const gemm_step *s) {
  const int64_t m0 = s->i * g->t.tm, n0 = s->j * g->t.tn, k0 = s->kk * g->t.tk;
  const int64_t mt = min64(g->t.tm, g->M - m0), nt = min64(g->t.tn, g->N - n0), kt = min64(g->t.tk, g->K - k0);
  if (s->load_vec) {
    const uint64_t v = g->V[s->v_par];
    const int64_t n0 = s->j * g->t.tn + (g->v_off ? g->v_off[s->batch] : 0);
    if (g->bias != QRT_NPU_NONE) dma(b, QRT_NPU_OP_DMA_LOAD, g->bias, (uint64_t)(n0 * 4), v, 1, (uint64_t)(nt * 4), 0, 0);
    dma(b, QRT_NPU_OP_DMA_LOAD, g->mult, (uint64_t)(n0 * 4), v + (uint64_t)g->t.tn * 4, 1, (uint64_t)(nt * 4), 0, 0);
    dma(b, QRT_NPU_OP_DMA_LOAD, g->shift, (uint64_t)n0, v + (uint64_t)g->t.tn * 8, 1, (uint64_t)nt, 0, 0);
  }
  if (s->load_b)
    dma(b, QRT_NPU_OP_DMA_LOAD, g->b, (uint64_t)(g->b_off[s->batch] + k0 * g->N + n0), g->B[s->b_par], (uint64_t)kt,
        (uint64_t)nt, (uint64_t)g->N, (uint64_t)nt);
  if (g->conv) {
    uint64_t f[QRT_NPU_COMMAND_FIELDS];
    memcpy(f, g->im2col, sizeof f);
    f[0] = g->a, f[1] = (uint64_t)g->a_off[s->batch], f[2] = g->A[s->a_par], f[3] = (uint64_t)m0, f[4] = (uint64_t)mt;
    emit(b, QRT_NPU_OP_IM2COL, f, QRT_NPU_COMMAND_FIELDS);
    return;
  }
  dma(b, QRT_NPU_OP_DMA_LOAD, g->a, (uint64_t)(g->a_off[s->batch] + m0 * g->K + k0), g->A[s->a_par], (uint64_t)mt,
      (uint64_t)kt, (uint64_t)g->K, (uint64_t)kt);
}

static void gemm_compute(builder *b, const gemm_layer *g, const gemm_step *s, int64_t nk) {
  const int64_t m0 = s->i * g->t.tm, n0 = s->j * g->t.tn, k0 = s->kk * g->t.tk;
  const int64_t mt = min64(g->t.tm, g->M - m0), nt = min64(g->t.tn, g->N - n0), kt = min64(g->t.tk, g->K - k0);
  const uint64_t mm[] = {g->A[s->a_par], g->B[s->b_par], g->ACC[s->acc_par], (uint64_t)mt, (uint64_t)nt,
                         (uint64_t)kt, (uint64_t)kt, (uint64_t)nt, sgn(g->a_zp), s->kk > 0};
  emit(b, QRT_NPU_OP_MATMUL, mm, 10);
  if (s->kk != nk - 1) return;
  const uint64_t v = g->V[s->v_par];
  const uint64_t bias = g->bias == QRT_NPU_NONE ? QRT_NPU_NONE : v;
  const uint64_t rq[] = {g->ACC[s->acc_par], g->OUT[s->acc_par], (uint64_t)mt, (uint64_t)nt, bias,
                         v + (uint64_t)g->t.tn * 4, v + (uint64_t)g->t.tn * 8, sgn(g->out_zp), sgn(g->out_min),
                         sgn(g->out_max), g->conv};
  emit(b, QRT_NPU_OP_REQUANT, rq, 11);
  if (g->conv) { /* [nt channels][mt positions] into channel rows of P = M positions */
    dma(b, QRT_NPU_OP_DMA_STORE, g->out, (uint64_t)(s->batch * g->M * g->N + n0 * g->M + m0), g->OUT[s->acc_par],
        (uint64_t)nt, (uint64_t)mt, (uint64_t)g->M, (uint64_t)mt);
    return;
  }
  dma(b, QRT_NPU_OP_DMA_STORE, g->out, (uint64_t)((s->batch * g->M * g->N + m0 * g->N + n0) * g->out_es),
      g->OUT[s->acc_par], (uint64_t)mt, (uint64_t)(nt * g->out_es), (uint64_t)(g->N * g->out_es),
      (uint64_t)(nt * g->out_es));
}

/* Steps in loop order batch, column tile, row tile, K tile; each step's
 * loads are issued before the previous step's compute (prefetch into the
 * other half of each double buffer). */
static void emit_gemm(builder *b, gemm_layer *g) {
  const int64_t nm = (g->M + g->t.tm - 1) / g->t.tm, nn = (g->N + g->t.tn - 1) / g->t.tn,
                nk = (g->K + g->t.tk - 1) / g->t.tk;
  const int64_t n_steps = g->nbatch * nn * nm * nk;
  gemm_step *steps = calloc((size_t)n_steps, sizeof *steps);
  int64_t s = 0;
  int b_loads = 0, v_loads = 0, tiles = 0;
  sram_alloc sa = {b->cfg, 0};
  for (int h = 0; h < 2; h++) g->A[h] = sram_place(&sa, (uint64_t)(g->t.tm * g->t.tk));
  for (int h = 0; h < 2; h++) g->B[h] = sram_place(&sa, (uint64_t)(g->t.tk * g->t.tn));
  for (int h = 0; h < 2; h++) g->ACC[h] = sram_place(&sa, (uint64_t)(g->t.tm * g->t.tn * 4));
  for (int h = 0; h < 2; h++) g->OUT[h] = sram_place(&sa, (uint64_t)(g->t.tm * g->t.tn * g->out_es));
  for (int h = 0; h < 2; h++) g->V[h] = sram_place(&sa, (uint64_t)(g->t.tn * 9));
  for (int64_t bt = 0; bt < g->nbatch; bt++)
    for (int64_t j = 0; j < nn; j++)
      for (int64_t i = 0; i < nm; i++, tiles++)
        for (int64_t kk = 0; kk < nk; kk++, s++) {
          gemm_step *st = &steps[s];
          st->batch = bt, st->i = i, st->j = j, st->kk = kk;
          st->load_vec = i == 0 && kk == 0;
          st->load_b = nk > 1 || (i == 0 && kk == 0);
          if (st->load_vec) v_loads++;
          if (st->load_b) b_loads++;
          st->a_par = (int)(s % 2);
          st->b_par = (b_loads - 1) % 2;
          st->v_par = (v_loads - 1) % 2;
          st->acc_par = tiles % 2;
        }
  gemm_loads(b, g, &steps[0]);
  for (s = 0; s < n_steps; s++) {
    if (s + 1 < n_steps) gemm_loads(b, g, &steps[s + 1]);
    gemm_compute(b, g, &steps[s], nk);
  }
  free(steps);
}

/* qrt_qmatmul_i8 on the PE array, or false with why not. */
static bool lower_qmatmul(builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap) {
  const qrt_qmatmul_params *p = &call->params.qmatmul;
  gemm_layer g;
  memset(&g, 0, sizeof g);
  if (!(b->cfg->pe_formats & QRT_NPU_FMT_INT8))
    return snprintf(why, cap, "the PE array multiplies no int8 (--npu-config pe_formats)"), false;
  if (p->b_format != QRT_WFMT_I8)
    return snprintf(why, cap, "int4 weights: the PE array path is int8 only so far"), false;
  if (p->group > 0 && !mlirValueIsNull(call->in[6]))
    return snprintf(why, cap, "grouped weights: no group multiplier on the PE array yet"), false;
  g.a = value_tensor(b, call->in[0]);
  g.b = value_tensor(b, call->in[1]);
  const bool b_const = b->tensors[g.b].d.region == QRT_NPU_REGION_CONST;
  /* A constant B is stored unpacked (row-major K x N) for the PE array, so
   * its batch strides (in the packed layout) are usable only when they are
   * all 0: one weight matrix broadcast over the batch (a linear layer). */
  for (int d = 0; d < p->batch_rank; d++)
    if ((b_const || p->b_packed) && p->b_batch_strides[d] != 0)
      return snprintf(why, cap, "batched matmul over distinct constant (packed) B matrices"), false;
  g.nbatch = 1;
  for (int d = 0; d < p->batch_rank; d++) g.nbatch *= p->batch_shape[d];
  g.M = p->M, g.N = p->N, g.K = p->K;
  if (g.M <= 0 || g.N <= 0 || g.K <= 0) return snprintf(why, cap, "empty matmul"), false;
  for (int d = 0; d < p->batch_rank; d++)
    if (p->batch_shape[d] <= 0) return snprintf(why, cap, "empty matmul"), false;
  /* per-batch operand offsets, as qrt_qmatmul_run walks the batch index */
  int64_t idx[6] = {0};
  bool a_dense = true, b_shared = true;
  g.a_off = calloc((size_t)g.nbatch, sizeof *g.a_off);
  g.b_off = calloc((size_t)g.nbatch, sizeof *g.b_off);
  for (int64_t bt = 0; bt < g.nbatch; bt++) {
    int64_t ao = 0, bo = 0;
    for (int d = 0; d < p->batch_rank; d++) ao += idx[d] * p->a_batch_strides[d], bo += idx[d] * p->b_batch_strides[d];
    g.a_off[bt] = ao, g.b_off[bt] = bo;
    a_dense &= ao == bt * g.M * g.K;
    b_shared &= bo == 0;
    for (int d = p->batch_rank - 1; d >= 0; d--) {
      if (++idx[d] < p->batch_shape[d]) break;
      idx[d] = 0;
    }
  }
  /* consecutive A matrices times one B: a single GEMM with nbatch * M rows */
  if (g.nbatch > 1 && a_dense && b_shared) g.M *= g.nbatch, g.nbatch = 1;
  g.out_es = 1;
  if (!choose_tiles(b->cfg, g.M, g.N, g.K, g.out_es, false, &g.t)) {
    free(g.a_off), free(g.b_off);
    return snprintf(why, cap, "the SRAM has too few banks for ten tile buffers"), false;
  }
  g.bias = mlirValueIsNull(call->in[2]) ? QRT_NPU_NONE : value_tensor(b, call->in[2]);
  g.mult = value_tensor(b, call->in[3]);
  g.shift = value_tensor(b, call->in[4]);
  g.out = out;
  g.a_zp = p->a_zero_point, g.out_zp = p->out_zero_point, g.out_min = p->out_min, g.out_max = p->out_max;
  emit_gemm(b, &g);
  free(g.a_off), free(g.b_off);
  return true;
}

/* qrt_qconv_i8 (2-D, int8 weights) as one GEMM per image and group, the
 * runtime's im2row formulation: A = IM2COL rows (output positions x
 * cin_g*kh*kw, padding at the activation zero point), B = the group's
 * weights transposed at compile time (K x cout_g), REQUANT per output
 * channel written transposed, so that DMA_STORE writes NCHW rows. */
static bool lower_qconv(builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap) {
  const qrt_qconv_params *p = &call->params.qconv;
  if (!(b->cfg->pe_formats & QRT_NPU_FMT_INT8))
    return snprintf(why, cap, "the PE array multiplies no int8 (--npu-config pe_formats)"), false;
  if (p->w_format != QRT_WFMT_I8) return snprintf(why, cap, "int4 weights: the PE array path is int8 only so far"), false;
  if (p->kernel[0] != 1 || p->in_spatial[0] != 1 || p->out_spatial[0] != 1 || p->pads_begin[0] != 0)
    return snprintf(why, cap, "3-D convolution: IM2COL gathers 2-D windows"), false;
  for (int d = 1; d < 3; d++)
    if (p->kernel[d] > 0xffff || p->strides[d] > 0xffff || p->dilations[d] > 0xffff || p->pads_begin[d] > 0xffff ||
        p->kernel[d] < 1 || p->strides[d] < 1 || p->dilations[d] < 1 || p->pads_begin[d] < 0)
      return snprintf(why, cap, "window geometry outside IM2COL's 16-bit fields"), false;
  if (p->group < 1 || mlirValueIsNull(call->in[3]) || mlirValueIsNull(call->in[4]))
    return snprintf(why, cap, "no per-channel requantization vectors"), false;
  const int64_t G = p->group, cin_g = p->c_in / G, cout_g = p->c_out / G;
  const int64_t H = p->in_spatial[1], W = p->in_spatial[2], P = p->out_spatial[1] * p->out_spatial[2];
  const int64_t K = cin_g * p->kernel[1] * p->kernel[2];
  if (P <= 0 || cout_g <= 0 || K <= 0 || p->n <= 0) return snprintf(why, cap, "empty convolution"), false;
  gemm_layer g;
  memset(&g, 0, sizeof g);
  g.M = P, g.N = cout_g, g.K = K, g.out_es = 1;
  if (!choose_tiles(b->cfg, g.M, g.N, g.K, 1, true, &g.t))
    return snprintf(why, cap, "the receptive field (K = %lld) does not fit one SRAM tile", (long long)K), false;
  qcc_array w;
  if (!qcc_value_constant(call->in[1], &w)) return snprintf(why, cap, "weights are not a constant"), false;
  qcc_array wt = {QRT_I8, 3, {G, K, cout_g}, malloc((size_t)(G * K * cout_g)), (size_t)(G * K * cout_g)};
  const int8_t *src = w.data;
  int8_t *dst = wt.data;
  for (int64_t gi = 0; gi < G; gi++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t co = 0; co < cout_g; co++) dst[(gi * K + k) * cout_g + co] = src[(gi * cout_g + co) * K + k];
  g.b = add_const(b, &wt);
  qcc_array_free(&w);
  qcc_array_free(&wt);
  g.a = value_tensor(b, call->in[0]);
  g.bias = mlirValueIsNull(call->in[2]) ? QRT_NPU_NONE : value_tensor(b, call->in[2]);
  g.mult = value_tensor(b, call->in[3]);
  g.shift = value_tensor(b, call->in[4]);
  g.out = out;
  g.a_zp = p->a_zero_point, g.out_zp = p->out_zero_point, g.out_min = p->out_min, g.out_max = p->out_max;
  g.conv = true;
  g.nbatch = p->n * G;
  g.a_off = calloc((size_t)g.nbatch, sizeof *g.a_off);
  g.b_off = calloc((size_t)g.nbatch, sizeof *g.b_off);
  g.v_off = calloc((size_t)g.nbatch, sizeof *g.v_off);
  for (int64_t bt = 0; bt < g.nbatch; bt++) {
    const int64_t img = bt / G, gi = bt % G;
    g.a_off[bt] = (img * p->c_in + gi * cin_g) * H * W;
    g.b_off[bt] = gi * K * cout_g;
    g.v_off[bt] = gi * cout_g;
  }
  g.im2col[5] = (uint64_t)cin_g, g.im2col[6] = (uint64_t)H, g.im2col[7] = (uint64_t)W;
  g.im2col[8] = (uint64_t)p->kernel[1] | (uint64_t)p->kernel[2] << 16 | (uint64_t)p->strides[1] << 32 |
                (uint64_t)p->strides[2] << 48;
  g.im2col[9] = (uint64_t)p->dilations[1] | (uint64_t)p->dilations[2] << 16 | (uint64_t)p->pads_begin[1] << 32 |
                (uint64_t)p->pads_begin[2] << 48;
  g.im2col[10] = (uint64_t)p->out_spatial[2] | (uint64_t)(uint8_t)(int8_t)p->a_zero_point << 32;
  emit_gemm(b, &g);
  free(g.a_off), free(g.b_off), free(g.v_off);
  return true;
}

/* An element-wise int8 op streamed through SRAM: bank-sized chunks of each
 * input into its double buffer (the next chunk's loads issued before this
 * chunk's op), the op, the output chunk stored back. */
typedef void (*chunk_op_fn)(builder *b, const uint64_t *in, uint64_t out, uint64_t len, const void *ctx);

static void stream_elementwise(builder *b, sram_alloc *sa, int64_t n, const uint32_t *ins, int n_ins, uint32_t out,
                               chunk_op_fn op, const void *ctx) { /* n > 0 */
  const int64_t chunk = min64(n, (int64_t)b->cfg->sram_bank_bytes), n_chunks = (n + chunk - 1) / chunk;
  uint64_t IN[2][2], OUT[2];
  for (int i = 0; i < n_ins; i++)
    for (int h = 0; h < 2; h++) IN[i][h] = sram_place(sa, (uint64_t)chunk);
  for (int h = 0; h < 2; h++) OUT[h] = sram_place(sa, (uint64_t)chunk);
  for (int64_t c = -1; c < n_chunks; c++) {
    if (c + 1 < n_chunks)
      for (int i = 0; i < n_ins; i++)
        dma(b, QRT_NPU_OP_DMA_LOAD, ins[i], (uint64_t)((c + 1) * chunk), IN[i][(c + 1) % 2], 1,
            (uint64_t)min64(chunk, n - (c + 1) * chunk), 0, 0);
    if (c < 0) continue;
    const int64_t len = min64(chunk, n - c * chunk);
    const uint64_t in[2] = {IN[0][c % 2], n_ins > 1 ? IN[1][c % 2] : 0};
    op(b, in, OUT[c % 2], (uint64_t)len, ctx);
    dma(b, QRT_NPU_OP_DMA_STORE, out, (uint64_t)(c * chunk), OUT[c % 2], 1, (uint64_t)len, 0, 0);
  }
}

static void lut_chunk(builder *b, const uint64_t *in, uint64_t out, uint64_t len, const void *ctx) {
  const uint64_t f[] = {in[0], out, *(const uint64_t *)ctx, len};
  emit(b, QRT_NPU_OP_LUT, f, 4);
}

/* qrt_lut_i8 on the LUT unit: the table once, then the data streamed. */
static bool lower_lut(builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap) {
  const qrt_npu_config *cfg = b->cfg;
  if (cfg->lut_entries < 256) return snprintf(why, cap, "the LUT unit holds fewer than 256 entries"), false;
  if (cfg->sram_banks < 5) return snprintf(why, cap, "the SRAM has too few banks for five LUT buffers"), false;
  if (call->params.lut.n <= 0) return snprintf(why, cap, "empty tensor"), false;
  const uint32_t x = value_tensor(b, call->in[0]), table = value_tensor(b, call->in[1]);
  sram_alloc sa = {cfg, 0};
  const uint64_t T = sram_place(&sa, 256);
  dma(b, QRT_NPU_OP_DMA_LOAD, table, 0, T, 1, 256, 0, 0);
  stream_elementwise(b, &sa, call->params.lut.n, &x, 1, out, lut_chunk, &T);
  return true;
}

static void add_chunk(builder *b, const uint64_t *in, uint64_t out, uint64_t len, const void *ctx) {
  const qrt_qadd_params *p = ctx;
  const uint64_t f[] = {in[0], in[1], out, len, sgn(p->a_zero_point), sgn(p->b_zero_point), sgn(p->out_zero_point),
                        sgn(p->out_min), sgn(p->out_max),
                        (uint64_t)(uint32_t)p->a_mult | (uint64_t)(uint32_t)p->b_mult << 32, (uint64_t)p->shift};
  emit(b, QRT_NPU_OP_ADD, f, 11);
}

static bool int8_range(int64_t v) { return v >= -128 && v <= 127; }

/* qrt_qadd_i8 (the integer-only residual add) on the vector unit, when
 * neither operand is broadcast. */
static bool lower_qadd(builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap) {
  const qrt_qadd_params *p = &call->params.qadd;
  int64_t n = 1, stride = 1;
  for (int d = p->rank - 1; d >= 0; d--) {
    if (p->out_shape[d] != 1 && (p->a_strides[d] != stride || p->b_strides[d] != stride))
      return snprintf(why, cap, "broadcasting add: no strided operand walk on the vector unit yet"), false;
    stride *= p->out_shape[d];
  }
  n = stride;
  if (n <= 0) return snprintf(why, cap, "empty tensor"), false;
  if (!int8_range(p->a_zero_point) || !int8_range(p->b_zero_point) || !int8_range(p->out_zero_point) ||
      !int8_range(p->out_min) || !int8_range(p->out_max) || p->a_mult < 0 || p->a_mult >= (1 << 22) ||
      p->b_mult < 0 || p->b_mult >= (1 << 22) || p->shift < 0 || p->shift > 31)
    return snprintf(why, cap, "add constants outside the vector unit's ranges"), false;
  if (b->cfg->sram_banks < 6) return snprintf(why, cap, "the SRAM has too few banks for six add buffers"), false;
  const uint32_t ins[2] = {value_tensor(b, call->in[0]), value_tensor(b, call->in[1])};
  sram_alloc sa = {b->cfg, 0};
  stream_elementwise(b, &sa, n, ins, 2, out, add_chunk, p);
  return true;
}

/* qrt_copy (reshape, slice, concat-like layout copies) on the DMA engine
 * when its innermost axis is contiguous: each run of rows (the two inner
 * axes, at most a bank) is loaded from the input's strided layout and
 * stored dense, two SRAM buffers alternating.  Transposes of the innermost
 * axis need an element gather the DMA does not have. */
static bool lower_copy(builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap) {
  const qrt_copy_params *p = &call->params.copy;
  const int64_t es = p->elem_size;
  int64_t shape[8], st[8];
  const int pad = p->rank < 2 ? 2 - p->rank : 0, R = p->rank + pad;
  if (p->rank < 0 || p->rank > 8 || es < 1) return snprintf(why, cap, "copy of unusual rank or element size"), false;
  for (int d = 0; d < pad; d++) shape[d] = 1, st[d] = 0;
  int64_t outer = 1;
  for (int d = 0; d < p->rank; d++) {
    shape[pad + d] = p->out_shape[d], st[pad + d] = p->in_strides[d];
    if (p->out_shape[d] == 0) return snprintf(why, cap, "empty copy"), false;
    if (p->in_strides[d] < 0) return snprintf(why, cap, "reversed axis (negative step): no descending DMA yet"), false;
  }
  for (int d = 0; d < R - 2; d++) outer *= shape[d];
  const int64_t rows = shape[R - 2], row_bytes = shape[R - 1] * es, rs = st[R - 2] * es;
  if (shape[R - 1] > 1 && st[R - 1] != 1)
    return snprintf(why, cap, "layout copy with a strided innermost axis (a transpose): no element-gather DMA yet"), false;
  if (rows > 1 && rs < row_bytes)
    return snprintf(why, cap, "layout copy that repeats rows (expand): no row-broadcast DMA yet"), false;
  if (row_bytes > (int64_t)b->cfg->sram_bank_bytes || b->cfg->sram_banks < 2)
    return snprintf(why, cap, "layout copy with rows longer than an SRAM bank"), false;
  const int64_t per_chunk = min64(rows, (int64_t)b->cfg->sram_bank_bytes / row_bytes);
  const int64_t chunks = (rows + per_chunk - 1) / per_chunk;
  if (outer * chunks > 4096) return snprintf(why, cap, "layout copy needing more than 4096 DMA transfers"), false;
  const uint32_t in = value_tensor(b, call->in[0]);
  const int64_t n_blocks = outer * chunks;
  /* block k: outer index k / chunks, rows from (k % chunks) * per_chunk */
  int64_t *src = malloc(sizeof *src * (size_t)n_blocks), *dst = malloc(sizeof *dst * (size_t)n_blocks),
          *len = malloc(sizeof *len * (size_t)n_blocks);
  for (int64_t k = 0; k < n_blocks; k++) {
    int64_t o = k / chunks, r0 = (k % chunks) * per_chunk, base = p->offset;
    for (int d = R - 3; d >= 0; d--) base += (o % shape[d]) * st[d], o /= shape[d];
    src[k] = base * es + r0 * rs;
    dst[k] = ((k / chunks) * rows + r0) * row_bytes;
    len[k] = min64(per_chunk, rows - r0);
  }
  const uint64_t buf[2] = {0, b->cfg->sram_bank_bytes};
  for (int64_t k = -1; k < n_blocks; k++) {
    if (k + 1 < n_blocks)
      dma(b, QRT_NPU_OP_DMA_LOAD, in, (uint64_t)src[k + 1], buf[(k + 1) % 2], (uint64_t)len[k + 1],
          (uint64_t)row_bytes, (uint64_t)(len[k + 1] > 1 ? rs : 0), (uint64_t)row_bytes);
    if (k >= 0)
      dma(b, QRT_NPU_OP_DMA_STORE, out, (uint64_t)dst[k], buf[k % 2], (uint64_t)len[k], (uint64_t)row_bytes,
          (uint64_t)row_bytes, (uint64_t)row_bytes);
  }
  free(src), free(dst), free(len);
  return true;
}

/* Why a kernel with no native lowering runs on the host. */
static const char *host_reason(const char *sym) {
  if (!strcmp(sym, "qrt_quantize_f32_i8") || !strcmp(sym, "qrt_dequantize_i8_f32"))
    return "float <-> int8 conversion at the quantized region's boundary";
  if (!strcmp(sym, "qrt_bmatmul_f32"))
    return "block-format matmul (BFP / MX): no shared-exponent datapath on the PE array yet";
  if (!strcmp(sym, "qrt_qmatmul_dyn_f32"))
    return "matmul with per-token scales found at run time: no row-amax command on the vector unit yet";
  if (!strcmp(sym, "qrt_wmatmul_f32")) return "weight-only quantized matmul: float activations";
  if (!strcmp(sym, "qrt_qsoftmax_i8")) return "integer softmax: no row max / exp table / normalize sequence on the vector unit yet";
  if (!strcmp(sym, "qrt_qlayernorm_i8") || !strcmp(sym, "qrt_qrmsnorm_i8"))
    return "integer norm: no row mean / variance reduction on the vector unit yet";
  if (!strcmp(sym, "qrt_gather")) return "gather (index-driven rows, e.g. an embedding): no indexed DMA yet";
  if (!strcmp(sym, "qrt_maxpool_i8")) return "int8 max pooling: no window command on the vector unit yet";
  if (strstr(sym, "_f32") || strstr(sym, "_f64") || !strcmp(sym, "qrt_where"))
    return "float kernel: the NPU computes on int8 codes";
  return "no NPU command for this runtime kernel yet";
}

static void host_ref(builder *b, uint32_t t) {
  put32(&b->hostdata, t);
  put32(&b->hostdata, t == QRT_NPU_NONE ? 0 : b->tensors[t].d.dtype);
  put64(&b->hostdata, t == QRT_NPU_NONE ? 0 : b->tensors[t].d.nbytes);
}

static void lower_host(builder *b, const qcc_call *call, uint32_t out, const char *reason) {
  uint32_t ins[QCC_CALL_MAX_IN];
  for (int i = 0; i < call->n_in; i++) {
    ins[i] = QRT_NPU_NONE;
    if (i == call->scratch_slot) {
      if (call->scratch_bytes > 0) {
        int64_t n = call->scratch_bytes;
        ins[i] = add_tensor(b, QRT_NPU_REGION_DRAM, QRT_U8, 1, &n, NULL);
      }
    } else if (i == call->packed_slot) {
      qcc_array w, packed;
      qcc_value_constant(call->in[i], &w);
      qcc_pack_weight(call, &w, &packed);
      ins[i] = add_const(b, &packed);
      qcc_array_free(&w);
      qcc_array_free(&packed);
    } else if (!mlirValueIsNull(call->in[i])) {
      ins[i] = value_tensor(b, call->in[i]);
    }
  }
  align_to(&b->hostdata, 16);
  const size_t params_off = put(&b->hostdata, &call->params, call->kernel->params_size);
  align_to(&b->hostdata, 16);
  const size_t list_off = b->hostdata.n;
  for (int i = 0; i < call->n_in; i++) host_ref(b, ins[i]);
  host_ref(b, out);
  const uint64_t binding = qrt_npu_host_binding(call->kernel->symbol, b->hostdata.p + params_off,
                                                call->kernel->params_size, b->hostdata.p + list_off,
                                                (uint64_t)call->n_in + 1);
  const uint64_t f[] = {intern(b, call->kernel->symbol), params_off, call->kernel->params_size, (uint64_t)call->n_in,
                        list_off, intern(b, reason), binding};
  emit(b, QRT_NPU_OP_HOST, f, 7);
  b->host_commands++;
}

static int lower_op(builder *b, MlirOperation op) {
  MlirValue res = mlirOperationGetResult(op, 0);
  if (q_constant_is(op)) {
    qcc_array a;
    if (!qcc_value_constant(res, &a)) return qcc_error("NPU backend: unreadable constant"), -1;
    uint32_t id = add_const(b, &a);
    qcc_ptr_map_put(&b->values, res.ptr, (void *)(intptr_t)(id + 1));
    qcc_array_free(&a);
    return 0;
  }
  qcc_call call;
  if (!qcc_lower_op(op, &call)) return -1;
  char where[256], why[160];
  b->note = intern(b, qcc_op_where(op, where, sizeof where));
  /* inputs first (extends their lifetimes), then the result */
  for (int i = 0; i < call.n_in; i++)
    if (i != call.scratch_slot && i != call.packed_slot && !mlirValueIsNull(call.in[i])) value_tensor(b, call.in[i]);
  const uint32_t out = new_value_tensor(b, res, QRT_NPU_REGION_DRAM);
  const char *sym = call.kernel->symbol;
  bool native = false;
  why[0] = 0;
  if (!strcmp(sym, "qrt_qmatmul_i8"))
    native = lower_qmatmul(b, &call, out, why, sizeof why);
  else if (!strcmp(sym, "qrt_qconv_i8"))
    native = lower_qconv(b, &call, out, why, sizeof why);
  else if (!strcmp(sym, "qrt_qadd_i8"))
    native = lower_qadd(b, &call, out, why, sizeof why);
  else if (!strcmp(sym, "qrt_copy"))
    native = lower_copy(b, &call, out, why, sizeof why);
  else if (!strcmp(sym, "qrt_lut_i8"))
    native = lower_lut(b, &call, out, why, sizeof why);
  if (native) {
    b->native_layers++;
  } else {
    lower_host(b, &call, out, why[0] ? why : host_reason(sym));
    qcc_remark("NPU: %s runs %s on the host: %s", where, sym, why[0] ? why : host_reason(sym));
  }
  return 0;
}

/* ---- writing the stream --------------------------------------------------------- */
static void section(bytes *out, bytes *table, uint32_t kind, const void *data, size_t n) {
  align_to(out, QRT_NPU_ALIGN);
  put32(table, kind);
  put32(table, 0);
  put64(table, out->n);
  put64(table, n);
  put(out, data, n);
}

static int write_header_file(const qcc_npu_emit_options *o, const builder *b, const bytes *s, MlirOperation func,
                             const uint32_t *io, int n_in, int n_out, uint64_t dram) {
  FILE *f = fopen(o->h_path, "w");
  if (!f) return qcc_error("cannot write %s", o->h_path), -1;
  const char *n = o->name;
  fprintf(f, "/* %s - NPU command stream generated by qcc (format version %u, docs/npu.md).\n"
             " * Run it with runtime/qrt_npu.c: qrt_npu_open(&s, %s_qcs, %s_QCS_BYTES, ...), write each\n"
             " * input at dram + its offset, qrt_npu_run, read each output at its offset. */\n",
          o->h_path, QRT_NPU_VERSION, n, n);
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
  builder b;
  memset(&b, 0, sizeof b);
  b.cfg = o->config;
  qcc_ptr_map_init(&b.values);
  put(&b.strings, "", 1); /* offset 0: the empty string */
  MlirOperation func = qcc_module_func(m);
  MlirBlock body = qcc_func_body(func);
  MlirAttribute in_names = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("onnx.input_names"));
  MlirAttribute out_names = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString("onnx.output_names"));
  const int n_in = (int)mlirBlockGetNumArguments(body);
  for (int i = 0; i < n_in; i++) new_value_tensor(&b, mlirBlockGetArgument(body, i), QRT_NPU_REGION_DRAM);
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
  for (int i = 0; i < n_in && !rc; i++) io[i] = value_tensor(&b, mlirBlockGetArgument(body, i));
  for (int i = 0; i < n_out && !rc; i++) io[n_in + i] = value_tensor(&b, mlirOperationGetOperand(ret, i));
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
  bytes sections[QRT_NPU_NUM_SECTIONS + 1];
  memset(sections, 0, sizeof sections);
  if (!rc) {
    bytes *cfg = &sections[QRT_NPU_SEC_CONFIG], *tens = &sections[QRT_NPU_SEC_TENSORS], *iob = &sections[QRT_NPU_SEC_IO],
          *cmds = &sections[QRT_NPU_SEC_COMMANDS];
    qrt_npu_config c = *o->config;
    for (int i = 0; i < qrt_npu_config_num_fields(); i++) put64(cfg, *qrt_npu_config_field(&c, i, NULL));
    put32(tens, (uint32_t)b.n_tensors);
    for (int t = 0; t < b.n_tensors; t++) {
      const qrt_npu_tensor *d = &b.tensors[t].d;
      put32(tens, d->region), put32(tens, d->dtype), put32(tens, d->rank), put32(tens, d->name);
      put64(tens, d->offset), put64(tens, d->nbytes);
      for (int k = 0; k < 8; k++) put64(tens, (uint64_t)d->dims[k]);
    }
    put64(iob, dram);
    put32(iob, (uint32_t)n_in);
    put32(iob, (uint32_t)n_out);
    for (int k = 0; k < n_in + n_out; k++) {
      MlirAttribute names = k < n_in ? in_names : out_names;
      MlirStringRef nm = mlirStringAttrGetValue(mlirArrayAttrGetElement(names, k < n_in ? k : k - n_in));
      char name[256];
      snprintf(name, sizeof name, "%.*s", (int)nm.length, nm.data);
      put32(iob, io[k]);
      put32(iob, intern(&b, name));
    }
    put32(cmds, (uint32_t)b.n_cmds);
    for (int i = 0; i < b.n_cmds; i++) {
      put32(cmds, b.cmds[i].opcode);
      put32(cmds, b.cmds[i].note);
      for (int k = 0; k < QRT_NPU_COMMAND_FIELDS; k++) put64(cmds, b.cmds[i].f[k]);
    }
    sections[QRT_NPU_SEC_STRINGS] = b.strings;
    sections[QRT_NPU_SEC_CONSTS] = b.consts;
    sections[QRT_NPU_SEC_HOSTDATA] = b.hostdata;
    bytes out = {0}, table = {0};
    put(&out, NULL, QRT_NPU_HEADER_BYTES + QRT_NPU_NUM_SECTIONS * QRT_NPU_SECTION_ENTRY_BYTES);
    for (uint32_t k = 1; k <= QRT_NPU_NUM_SECTIONS; k++) section(&out, &table, k, sections[k].p, sections[k].n);
    memcpy(out.p + QRT_NPU_HEADER_BYTES, table.p, table.n);
    bytes hdr = {0};
    put(&hdr, QRT_NPU_MAGIC, 4);
    put32(&hdr, QRT_NPU_VERSION);
    put64(&hdr, qrt_npu_config_hash(o->config));
    put32(&hdr, QRT_NPU_HEADER_BYTES);
    put32(&hdr, QRT_NPU_NUM_SECTIONS);
    put64(&hdr, out.n);
    put32(&hdr, qrt_npu_crc32(out.p + QRT_NPU_HEADER_BYTES, out.n - QRT_NPU_HEADER_BYTES));
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
