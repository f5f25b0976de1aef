/* npu_gemm.c - matmuls and convolutions onto the PE array: tile choice,
 * double-buffered SRAM tiles, the command sequence (see docs/npu.md,
 * "Lowering").  One GEMM for three operand formats: int8 (MATMUL,
 * REQUANT), int4 weights (MATMUL_I4 on the runtime's packed int4 panels,
 * REQUANT) and block formats (BMATMUL on the runtime's packed block
 * storage, BSCALE; the activation rows encoded by BENCODE first). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu_builder.h"

/* ---- GEMM tiling -------------------------------------------------------------
 * C[M,N] = epilogue(A[M,K] @ B[K,N]) per batch.  Tiles tm x tk of A,
 * tk x tn of B, tm x tn accumulators and outputs, tn-wide epilogue vectors,
 * every one double-buffered: the tile sizes are the largest (halving from
 * 256 x 256 x 4096, see choose_tiles) whose ten buffers fit the banks. */
typedef struct gemm_tiles {
  int64_t tm, tn, tk;
} gemm_tiles;

enum { GEMM_I8, GEMM_I4, GEMM_BLOCK };

typedef struct gemm_step {
  int64_t batch, i, j, kk;
  bool load_b, load_vec;
  int a_par, b_par, v_par, acc_par;
} gemm_step;

typedef struct gemm_layer {
  int kind;                                  /* GEMM_I8, GEMM_I4, GEMM_BLOCK */
  uint32_t a, b, bias, mult, shift, gmult, out; /* tensors (bias, mult, shift, gmult NONE if absent) */
  int64_t M, N, K, out_es;
  int64_t a_ld;           /* DRAM bytes between rows of A */
  int64_t b_ld;           /* DRAM bytes between rows (int8), 16-column panels (int4) or columns (block) of B */
  int64_t group;          /* int4: K rows per group multiplier (0: none) */
  int32_t a_fmt, w_fmt;   /* block formats */
  int64_t blk, a_bb, w_bb; /* block: values per block, bytes per block of A and of W */
  int32_t scale_shift;    /* block: BSCALE's 2^-shift */
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

/* ---- the operand formats' tile sizes ---------------------------------------- */
static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Bytes of kt values of one row of A, and where value k0 of a row starts. */
static int64_t a_row_bytes(const gemm_layer *g, int64_t kt) { return g->kind == GEMM_BLOCK ? cdiv(kt, g->blk) * g->a_bb : kt; }
static int64_t a_k_offset(const gemm_layer *g, int64_t k0) { return g->kind == GEMM_BLOCK ? k0 / g->blk * g->a_bb : k0; }

/* A tile of B (kt x nt) as a 2-D DMA: rows of row bytes.  int8: K rows of
 * columns; int4: the runtime's 16-column panels, 32 bytes per 4 rows
 * (qrt_pack_b_strided_i4); block: columns, each ceil(kt / block) blocks. */
static int64_t b_rows(const gemm_layer *g, int64_t kt, int64_t nt) {
  return g->kind == GEMM_I8 ? kt : g->kind == GEMM_I4 ? cdiv(nt, 16) : nt;
}
static int64_t b_row_bytes(const gemm_layer *g, int64_t kt, int64_t nt) {
  return g->kind == GEMM_I8 ? nt : g->kind == GEMM_I4 ? cdiv(kt, 4) * 32 : cdiv(kt, g->blk) * g->w_bb;
}
/* The int4 group multipliers of a tile, kept after B in its buffer. */
static int64_t gmult_bytes(const gemm_layer *g, int64_t kt, int64_t nt) {
  return g->kind == GEMM_I4 && g->group ? cdiv(kt, g->group) * nt : 0;
}
static int64_t b_buffer_bytes(const gemm_layer *g, int64_t kt, int64_t nt) {
  return b_rows(g, kt, nt) * b_row_bytes(g, kt, nt) + gmult_bytes(g, kt, nt);
}
/* SRAM address of B buffer h's group multipliers: after its largest tile */
static uint64_t gmult_sram(const gemm_layer *g, int h) {
  return g->B[h] + (uint64_t)(b_rows(g, g->t.tk, g->t.tn) * b_row_bytes(g, g->t.tk, g->t.tn));
}
/* int32 accumulators, or the block formats' double ones */
static int64_t acc_es(const gemm_layer *g) { return g->kind == GEMM_BLOCK ? 8 : 4; }
/* epilogue vectors per column: bias, mult (int32) and shift (int8), or the float bias */
static int64_t vec_es(const gemm_layer *g) { return g->kind == GEMM_BLOCK ? 4 : 9; }

static uint64_t gemm_banks(const qrt_npu_config *cfg, const gemm_layer *g, const gemm_tiles *t) {
  return 2 * (npu_banks_for(cfg, (uint64_t)(t->tm * a_row_bytes(g, t->tk))) +
              npu_banks_for(cfg, (uint64_t)b_buffer_bytes(g, t->tk, t->tn)) +
              npu_banks_for(cfg, (uint64_t)(t->tm * t->tn * acc_es(g))) +
              npu_banks_for(cfg, (uint64_t)(t->tm * t->tn * g->out_es)) +
              npu_banks_for(cfg, (uint64_t)(t->tn * vec_es(g))));
}

static int64_t halve(int64_t v, int64_t pe) {
  int64_t h = (v + 1) / 2;
  return h > pe ? (h + pe - 1) / pe * pe : h;
}

/* *v halved (see halve), rounded up to a multiple of align; false if that
 * does not shrink it. */
static bool shrink(int64_t *v, int64_t pe, int64_t align) {
  const int64_t h = (halve(*v, pe) + align - 1) / align * align;
  if (h >= *v) return false;
  *v = h;
  return true;
}

/* k_whole: K stays one tile (IM2COL gathers whole receptive fields).
 * Tiles of K start at multiples of the format's unit (int4: 4 rows of a
 * panel group, or the group of a multiplier; block: the block), tiles of
 * N at multiples of an int4 panel's 16 columns. */
static bool choose_tiles(const qrt_npu_config *cfg, const gemm_layer *g, bool k_whole, gemm_tiles *t) {
  const int64_t ka = g->kind == GEMM_I4 ? (g->group ? g->group : 4) : g->kind == GEMM_BLOCK ? g->blk : 1;
  const int64_t na = g->kind == GEMM_I4 ? 16 : 1;
  t->tm = g->M < 256 ? g->M : 256;
  t->tn = g->N < 256 ? g->N : 256;
  /* a convolution's IM2COL gathers whole receptive fields: its K is never
   * split, however long (K = 4608 for 3x3 over 512 channels) */
  t->tk = k_whole || g->K <= 4096 || 4096 < ka ? g->K : 4096 / ka * ka;
  /* shrink the largest buffer: an operand tile along K first (more K
   * passes cost accumulator traffic only), then along M or N */
  while (gemm_banks(cfg, g, t) > cfg->sram_banks) {
    const int64_t a = t->tm * a_row_bytes(g, t->tk), bt = b_buffer_bytes(g, t->tk, t->tn),
                  acc = t->tm * t->tn * acc_es(g);
    bool done = false;
    if ((a >= acc || bt >= acc) && t->tk > 16 && !k_whole) done = shrink(&t->tk, 16, ka);
    if (!done && t->tm >= t->tn && t->tm > 1) done = shrink(&t->tm, (int64_t)cfg->pe_rows, 1);
    if (!done && t->tn > 1) done = shrink(&t->tn, (int64_t)cfg->pe_cols, na);
    if (!done && t->tm > 1) done = shrink(&t->tm, (int64_t)cfg->pe_rows, 1);
    if (!done && !k_whole && t->tk > 1) done = shrink(&t->tk, 1, ka);
    if (!done) return false;
  }
  return true;
}

static void gemm_loads(npu_builder *b, const gemm_layer *g, const gemm_step *s) {
  const int64_t m0 = s->i * g->t.tm, n0 = s->j * g->t.tn, k0 = s->kk * g->t.tk;
  const int64_t mt = npu_min64(g->t.tm, g->M - m0), nt = npu_min64(g->t.tn, g->N - n0), kt = npu_min64(g->t.tk, g->K - k0);
  if (s->load_vec) {
    const uint64_t v = g->V[s->v_par];
    const int64_t n0 = s->j * g->t.tn + (g->v_off ? g->v_off[s->batch] : 0);
    if (g->bias != QRT_NPU_NONE) npu_dma(b, QRT_NPU_OP_DMA_LOAD, g->bias, (uint64_t)(n0 * 4), v, 1, (uint64_t)(nt * 4), 0, 0);
    if (g->mult != QRT_NPU_NONE)
      npu_dma(b, QRT_NPU_OP_DMA_LOAD, g->mult, (uint64_t)(n0 * 4), v + (uint64_t)g->t.tn * 4, 1, (uint64_t)(nt * 4), 0, 0);
    if (g->shift != QRT_NPU_NONE)
      npu_dma(b, QRT_NPU_OP_DMA_LOAD, g->shift, (uint64_t)n0, v + (uint64_t)g->t.tn * 8, 1, (uint64_t)nt, 0, 0);
  }
  if (s->load_b) {
    /* where the tile starts in B's DRAM layout */
    const int64_t at = g->kind == GEMM_I8 ? k0 * g->N + n0
                       : g->kind == GEMM_I4 ? n0 / 16 * g->b_ld + k0 * 8
                                            : n0 * g->b_ld + k0 / g->blk * g->w_bb;
    const int64_t rb = b_row_bytes(g, kt, nt);
    npu_dma(b, QRT_NPU_OP_DMA_LOAD, g->b, (uint64_t)(g->b_off[s->batch] + at), g->B[s->b_par], (uint64_t)b_rows(g, kt, nt),
        (uint64_t)rb, (uint64_t)g->b_ld, (uint64_t)rb);
    if (gmult_bytes(g, kt, nt)) /* [groups of the tile][nt] */
      npu_dma(b, QRT_NPU_OP_DMA_LOAD, g->gmult, (uint64_t)(k0 / g->group * g->N + n0), gmult_sram(g, s->b_par),
          (uint64_t)cdiv(kt, g->group), (uint64_t)nt, (uint64_t)g->N, (uint64_t)nt);
  }
  if (g->conv) {
    uint64_t f[QRT_NPU_COMMAND_FIELDS];
    memcpy(f, g->im2col, sizeof f);
    f[0] = g->a, f[1] = (uint64_t)g->a_off[s->batch], f[2] = g->A[s->a_par], f[3] = (uint64_t)m0, f[4] = (uint64_t)mt;
    npu_emit(b, QRT_NPU_OP_IM2COL, f, QRT_NPU_COMMAND_FIELDS);
    return;
  }
  npu_dma(b, QRT_NPU_OP_DMA_LOAD, g->a, (uint64_t)(g->a_off[s->batch] + m0 * g->a_ld + a_k_offset(g, k0)),
      g->A[s->a_par], (uint64_t)mt, (uint64_t)a_row_bytes(g, kt), (uint64_t)g->a_ld, (uint64_t)a_row_bytes(g, kt));
}

static void gemm_compute(npu_builder *b, const gemm_layer *g, const gemm_step *s, int64_t nk) {
  const int64_t m0 = s->i * g->t.tm, n0 = s->j * g->t.tn, k0 = s->kk * g->t.tk;
  const int64_t mt = npu_min64(g->t.tm, g->M - m0), nt = npu_min64(g->t.tn, g->N - n0), kt = npu_min64(g->t.tk, g->K - k0);
  const uint64_t v = g->V[s->v_par];
  if (g->kind == GEMM_I8) {
    const uint64_t mm[] = {g->A[s->a_par], g->B[s->b_par], g->ACC[s->acc_par], (uint64_t)mt, (uint64_t)nt,
                           (uint64_t)kt, (uint64_t)kt, (uint64_t)nt, npu_sgn(g->a_zp), s->kk > 0};
    npu_emit(b, QRT_NPU_OP_MATMUL, mm, 10);
  } else if (g->kind == GEMM_I4) {
    const uint64_t gm = g->group ? gmult_sram(g, s->b_par) : QRT_NPU_NONE;
    const uint64_t mm[] = {g->A[s->a_par], g->B[s->b_par], g->ACC[s->acc_par], (uint64_t)mt, (uint64_t)nt, (uint64_t)kt,
                           (uint64_t)kt, (uint64_t)b_row_bytes(g, kt, nt), npu_sgn(g->a_zp),
                           (uint64_t)(s->kk > 0) | (uint64_t)g->group << 32, gm};
    npu_emit(b, QRT_NPU_OP_MATMUL_I4, mm, 11);
  } else {
    const uint64_t mm[] = {g->A[s->a_par], g->B[s->b_par], g->ACC[s->acc_par], (uint64_t)mt, (uint64_t)nt, (uint64_t)kt,
                           (uint64_t)a_row_bytes(g, kt), (uint64_t)b_row_bytes(g, kt, nt), (uint64_t)g->a_fmt,
                           s->kk > 0, (uint64_t)g->w_fmt};
    npu_emit(b, QRT_NPU_OP_BMATMUL, mm, 11);
  }
  if (s->kk != nk - 1) return;
  if (g->kind == GEMM_BLOCK) {
    const uint64_t bs[] = {g->ACC[s->acc_par], g->OUT[s->acc_par], (uint64_t)mt, (uint64_t)nt,
                           g->bias == QRT_NPU_NONE ? QRT_NPU_NONE : v, (uint64_t)g->scale_shift};
    npu_emit(b, QRT_NPU_OP_BSCALE, bs, 6);
  } else {
    const uint64_t bias = g->bias == QRT_NPU_NONE ? QRT_NPU_NONE : v;
    const uint64_t rq[] = {g->ACC[s->acc_par], g->OUT[s->acc_par], (uint64_t)mt, (uint64_t)nt, bias,
                           v + (uint64_t)g->t.tn * 4, v + (uint64_t)g->t.tn * 8, npu_sgn(g->out_zp), npu_sgn(g->out_min),
                           npu_sgn(g->out_max), g->conv};
    npu_emit(b, QRT_NPU_OP_REQUANT, rq, 11);
  }
  if (g->conv) { /* [nt channels][mt positions] into channel rows of P = M positions */
    npu_dma(b, QRT_NPU_OP_DMA_STORE, g->out, (uint64_t)(s->batch * g->M * g->N + n0 * g->M + m0), g->OUT[s->acc_par],
        (uint64_t)nt, (uint64_t)mt, (uint64_t)g->M, (uint64_t)mt);
    return;
  }
  npu_dma(b, QRT_NPU_OP_DMA_STORE, g->out, (uint64_t)((s->batch * g->M * g->N + m0 * g->N + n0) * g->out_es),
      g->OUT[s->acc_par], (uint64_t)mt, (uint64_t)(nt * g->out_es), (uint64_t)(g->N * g->out_es),
      (uint64_t)(nt * g->out_es));
}

/* Steps in loop order batch, column tile, row tile, K tile; each step's
 * loads are issued before the previous step's compute (prefetch into the
 * other half of each double buffer). */
static void emit_gemm(npu_builder *b, gemm_layer *g) {
  const int64_t nm = (g->M + g->t.tm - 1) / g->t.tm, nn = (g->N + g->t.tn - 1) / g->t.tn,
                nk = (g->K + g->t.tk - 1) / g->t.tk;
  const int64_t n_steps = g->nbatch * nn * nm * nk;
  gemm_step *steps = calloc((size_t)n_steps, sizeof *steps);
  int64_t s = 0;
  int b_loads = 0, v_loads = 0, tiles = 0;
  npu_sram_alloc sa = {b->cfg, 0};
  for (int h = 0; h < 2; h++) g->A[h] = npu_sram_place(&sa, (uint64_t)(g->t.tm * a_row_bytes(g, g->t.tk)));
  for (int h = 0; h < 2; h++) g->B[h] = npu_sram_place(&sa, (uint64_t)b_buffer_bytes(g, g->t.tk, g->t.tn));
  for (int h = 0; h < 2; h++) g->ACC[h] = npu_sram_place(&sa, (uint64_t)(g->t.tm * g->t.tn * acc_es(g)));
  for (int h = 0; h < 2; h++) g->OUT[h] = npu_sram_place(&sa, (uint64_t)(g->t.tm * g->t.tn * g->out_es));
  for (int h = 0; h < 2; h++) g->V[h] = npu_sram_place(&sa, (uint64_t)(g->t.tn * vec_es(g)));
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

/* qrt_qmatmul_i8 (int8 or int4 weights) on the PE array, or false with
 * why not. */
bool npu_lower_qmatmul(npu_builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap) {
  const qrt_qmatmul_params *p = &call->params.qmatmul;
  const bool int4 = p->b_format == QRT_WFMT_I4, grouped = p->group > 0 && !mlirValueIsNull(call->in[6]);
  gemm_layer g;
  memset(&g, 0, sizeof g);
  if (p->b_format != QRT_WFMT_I8 && !int4) return snprintf(why, cap, "weight format %d: no PE command", p->b_format), false;
  if (!int4 && !(b->cfg->pe_formats & QRT_NPU_FMT_INT8))
    return snprintf(why, cap, "the PE array multiplies no int8 (--npu-config pe_formats)"), false;
  if (int4 && !(b->cfg->pe_formats & QRT_NPU_FMT_INT4))
    return snprintf(why, cap, "int4 weights: the PE array multiplies no int4 (--npu-config pe_formats)"), false;
  if (grouped && (!int4 || p->group % 4 || p->group > (1 << 20)))
    return snprintf(why, cap, "grouped int8 weights: MATMUL has no group multiplier"), false;
  if (int4 && call->packed_slot != 1) return snprintf(why, cap, "int4 weights that are not a constant"), false;
  g.kind = int4 ? GEMM_I4 : GEMM_I8;
  g.a = npu_value_tensor(b, call->in[0]);
  g.b = npu_value_tensor(b, call->in[1]);
  g.gmult = grouped ? npu_value_tensor(b, call->in[6]) : QRT_NPU_NONE;
  g.group = grouped ? p->group : 0;
  const bool b_const = b->tensors[g.b].d.region == QRT_NPU_REGION_CONST;
  if (int4 && !b_const) return snprintf(why, cap, "int4 weights that are not a constant"), false;
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
  g.a_ld = g.K;
  g.b_ld = int4 ? (g.K + 3) / 4 * 32 : g.N; /* int4: bytes of a 16-column panel */
  if (!choose_tiles(b->cfg, &g, false, &g.t)) {
    free(g.a_off), free(g.b_off);
    return snprintf(why, cap, "the SRAM has too few banks for ten tile buffers"), false;
  }
  if (int4) { /* the runtime's packed int4 panels, the very bytes the generated C reads */
    qcc_array w, packed;
    if (!qcc_value_constant(call->in[1], &w) || !qcc_pack_weight(call, &w, &packed)) {
      free(g.a_off), free(g.b_off);
      return snprintf(why, cap, "int4 weights that cannot be packed"), false;
    }
    g.b = npu_add_const(b, &packed);
    qcc_array_free(&w);
    qcc_array_free(&packed);
  }
  g.bias = mlirValueIsNull(call->in[2]) ? QRT_NPU_NONE : npu_value_tensor(b, call->in[2]);
  g.mult = npu_value_tensor(b, call->in[3]);
  g.shift = npu_value_tensor(b, call->in[4]);
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
bool npu_lower_qconv(npu_builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap) {
  const qrt_qconv_params *p = &call->params.qconv;
  if (!(b->cfg->pe_formats & QRT_NPU_FMT_INT8))
    return snprintf(why, cap, "the PE array multiplies no int8 (--npu-config pe_formats)"), false;
  if (p->w_format != QRT_WFMT_I8)
    return snprintf(why, cap, "int4 convolution weights: only matmuls lower to MATMUL_I4 so far"), false;
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
  g.M = P, g.N = cout_g, g.K = K, g.out_es = 1, g.a_ld = K, g.b_ld = cout_g;
  g.gmult = QRT_NPU_NONE;
  if (!choose_tiles(b->cfg, &g, true, &g.t))
    return snprintf(why, cap, "the receptive field (K = %lld) does not fit one SRAM tile", (long long)K), false;
  qcc_array w;
  if (!qcc_value_constant(call->in[1], &w)) return snprintf(why, cap, "weights are not a constant"), false;
  qcc_array wt = {QRT_I8, 3, {G, K, cout_g}, malloc((size_t)(G * K * cout_g)), (size_t)(G * K * cout_g)};
  const int8_t *src = w.data;
  int8_t *dst = wt.data;
  for (int64_t gi = 0; gi < G; gi++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t co = 0; co < cout_g; co++) dst[(gi * K + k) * cout_g + co] = src[(gi * cout_g + co) * K + k];
  g.b = npu_add_const(b, &wt);
  qcc_array_free(&w);
  qcc_array_free(&wt);
  g.a = npu_value_tensor(b, call->in[0]);
  g.bias = mlirValueIsNull(call->in[2]) ? QRT_NPU_NONE : npu_value_tensor(b, call->in[2]);
  g.mult = npu_value_tensor(b, call->in[3]);
  g.shift = npu_value_tensor(b, call->in[4]);
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

/* ---- block formats ------------------------------------------------------------ */
/* Vectors of K floats encoded into fmt, each stored as qrt_bfmt_bytes(fmt,
 * K) bytes of a new DRAM tensor [batch * V][bytes]: the rows of x (float
 * [batch * V][K]) or, with columns, the columns of each x[b] (float
 * [K][V], B of a matmul of two run-time operands).  Runs of vectors
 * through SRAM: loaded, encoded on the vector unit (BENCODE: the runtime's
 * qrt_bfmt_encode; columns gathered by its element stride), stored, two
 * buffers each way alternating.  NONE when one vector's K floats do not
 * fit a quarter of the SRAM. */
static uint32_t encode_vectors(npu_builder *b, uint32_t x, int64_t batch, int64_t V, int64_t K, int32_t fmt, bool columns) {
  const qrt_npu_config *cfg = b->cfg;
  const int64_t vb = qrt_bfmt_bytes(fmt, K), quarter = (int64_t)(cfg->sram_banks / 4 * cfg->sram_bank_bytes);
  const int64_t per = npu_min64(V, quarter / (K * 4));
  if (per <= 0) return QRT_NPU_NONE;
  const int64_t dims[2] = {batch * V, vb}, per_batch = (V + per - 1) / per, n_chunks = batch * per_batch;
  const uint32_t enc = npu_add_tensor(b, QRT_NPU_REGION_DRAM, QRT_U8, 2, dims, NULL);
  npu_sram_alloc sa = {cfg, 0};
  uint64_t IN[2], OUT[2];
  for (int h = 0; h < 2; h++) IN[h] = npu_sram_place(&sa, (uint64_t)(per * K * 4));
  for (int h = 0; h < 2; h++) OUT[h] = npu_sram_place(&sa, (uint64_t)(per * vb));
  for (int64_t c = -1; c < n_chunks; c++) {
    if (c + 1 < n_chunks) { /* chunk c + 1: vectors [v0, v0 + n) of batch bt */
      const int64_t bt = (c + 1) / per_batch, v0 = (c + 1) % per_batch * per, n = npu_min64(per, V - v0);
      if (columns) /* K rows of n floats, dense in SRAM */
        npu_dma(b, QRT_NPU_OP_DMA_LOAD, x, (uint64_t)((bt * K * V + v0) * 4), IN[(c + 1) % 2], (uint64_t)K,
            (uint64_t)(n * 4), (uint64_t)(V * 4), (uint64_t)(n * 4));
      else
        npu_dma(b, QRT_NPU_OP_DMA_LOAD, x, (uint64_t)((bt * V + v0) * K * 4), IN[(c + 1) % 2], 1, (uint64_t)(n * K * 4), 0,
            0);
    }
    if (c < 0) continue;
    const int64_t bt = c / per_batch, v0 = c % per_batch * per, n = npu_min64(per, V - v0);
    const uint64_t f[] = {IN[c % 2], OUT[c % 2], (uint64_t)n, (uint64_t)K, (uint64_t)(columns ? 4 : K * 4), (uint64_t)vb,
                          (uint64_t)fmt, (uint64_t)(columns ? n * 4 : 4)};
    npu_emit(b, QRT_NPU_OP_BENCODE, f, 8);
    npu_dma(b, QRT_NPU_OP_DMA_STORE, enc, (uint64_t)((bt * V + v0) * vb), OUT[c % 2], 1, (uint64_t)(n * vb), 0, 0);
  }
  return enc;
}

/* qrt_bmatmul_f32 on the PE array: the runtime's integer path
 * (qrt_bdot.c), so only where the generated C takes it too, and only for
 * E8M0 scales (the PE adds exponents).  Constant weights are the packed
 * columns themselves; a run-time B (attention) has its columns encoded
 * first, per batch. */
bool npu_lower_bmatmul(npu_builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap) {
  const qrt_bmatmul_params *p = &call->params.bmatmul;
  const qrt_bformat *fa = qrt_bformat_get(p->a_format), *fw = qrt_bformat_get(p->w_format);
  int wide;
  if (!fw) return snprintf(why, cap, "unknown block format"), false;
  if (!fa) return snprintf(why, cap, "%s weights times float activations: the PE array multiplies mantissas", fw->name), false;
  if (!qrt_npu_bfmt_pair_ok((uint64_t)p->a_format, (uint64_t)p->w_format, &wide) || qrt_bdot_scratch(p) <= 0)
    return snprintf(why, cap, "%s x %s: the PE array multiplies integer mantissas with E8M0 scales of one block size",
                    fa->name, fw->name), false;
  for (int k = 0; k < 2; k++) {
    const int32_t f = k ? p->w_format : p->a_format;
    if (!(b->cfg->pe_formats & QRT_NPU_FMT_BLOCK(f)))
      return snprintf(why, cap, "the PE array multiplies no %s (--npu-config pe_formats)", qrt_bformat_get(f)->name), false;
  }
  const int64_t nbatch = p->batch > 0 ? p->batch : 1;
  if (!p->b_runtime && nbatch != 1) return snprintf(why, cap, "batched block-format matmul of constant weights"), false;
  gemm_layer g;
  memset(&g, 0, sizeof g);
  g.kind = GEMM_BLOCK;
  g.M = p->M, g.N = p->N, g.K = p->K, g.out_es = 4;
  g.a_fmt = p->a_format, g.w_fmt = p->w_format, g.blk = fa->block;
  g.a_bb = qrt_bfmt_bytes(p->a_format, fa->block), g.w_bb = qrt_bfmt_bytes(p->w_format, fw->block);
  g.a_ld = qrt_bfmt_bytes(p->a_format, p->K);
  g.b_ld = qrt_bfmt_bytes(p->w_format, p->K); /* one encoded column */
  const uint32_t x = npu_value_tensor(b, call->in[0]), w = npu_value_tensor(b, call->in[1]);
  const uint64_t floats = (uint64_t)(nbatch * g.M * g.K * 4);
  if (b->tensors[x].d.dtype != QRT_F32 || b->tensors[x].d.nbytes != floats)
    return snprintf(why, cap, "activations that are not dense float32 matrices"), false;
  if (p->b_runtime ? b->tensors[w].d.dtype != QRT_F32 || b->tensors[w].d.nbytes != (uint64_t)(nbatch * g.K * g.N * 4)
                   : b->tensors[w].d.region != QRT_NPU_REGION_CONST || b->tensors[w].d.nbytes != (uint64_t)(g.N * g.b_ld))
    return snprintf(why, cap, "weights that are neither packed constant columns nor dense float32 matrices"), false;
  if (!choose_tiles(b->cfg, &g, false, &g.t)) return snprintf(why, cap, "the SRAM has too few banks for ten tile buffers"), false;
  /* both encoders' feasibility first: nothing is emitted for a layer that
   * then goes to the host */
  const int64_t quarter = (int64_t)(b->cfg->sram_banks / 4 * b->cfg->sram_bank_bytes);
  if (quarter / (g.K * 4) < 1)
    return snprintf(why, cap, "a vector of %lld floats does not fit a quarter of the SRAM", (long long)g.K), false;
  int16_t table[QRT_BFMT_MAX_CODES];
  int32_t kmax;
  g.scale_shift = qrt_bfmt_int_table(p->a_format, table, &kmax) + qrt_bfmt_int_table(p->w_format, table, &kmax);
  g.a = encode_vectors(b, x, 1, nbatch * g.M, g.K, p->a_format, false);
  g.b = p->b_runtime ? encode_vectors(b, w, nbatch, g.N, g.K, p->w_format, true) : w;
  g.bias = mlirValueIsNull(call->in[2]) ? QRT_NPU_NONE : npu_value_tensor(b, call->in[2]);
  g.mult = g.shift = g.gmult = QRT_NPU_NONE;
  g.out = out;
  g.nbatch = nbatch;
  g.a_off = calloc((size_t)nbatch, sizeof *g.a_off);
  g.b_off = calloc((size_t)nbatch, sizeof *g.b_off);
  for (int64_t bt = 0; bt < nbatch; bt++) g.a_off[bt] = bt * g.M * g.a_ld, g.b_off[bt] = bt * g.N * g.b_ld;
  emit_gemm(b, &g);
  free(g.a_off), free(g.b_off);
  return true;
}
