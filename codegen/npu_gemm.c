/* npu_gemm.c - int8 matmuls and convolutions onto the PE array: tile
 * choice, double-buffered SRAM tiles, the command sequence (see
 * docs/npu.md, "Lowering"). */
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

static uint64_t gemm_banks(const qrt_npu_config *cfg, const gemm_tiles *t, int64_t out_es) {
  return 2 * (npu_banks_for(cfg, (uint64_t)(t->tm * t->tk)) + npu_banks_for(cfg, (uint64_t)(t->tk * t->tn)) +
              npu_banks_for(cfg, (uint64_t)(t->tm * t->tn * 4)) + npu_banks_for(cfg, (uint64_t)(t->tm * t->tn * out_es)) +
              npu_banks_for(cfg, (uint64_t)(t->tn * 9)));
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

static void gemm_loads(npu_builder *b, const gemm_layer *g, const gemm_step *s) {
  const int64_t m0 = s->i * g->t.tm, n0 = s->j * g->t.tn, k0 = s->kk * g->t.tk;
  const int64_t mt = npu_min64(g->t.tm, g->M - m0), nt = npu_min64(g->t.tn, g->N - n0), kt = npu_min64(g->t.tk, g->K - k0);
  if (s->load_vec) {
    const uint64_t v = g->V[s->v_par];
    const int64_t n0 = s->j * g->t.tn + (g->v_off ? g->v_off[s->batch] : 0);
    if (g->bias != QRT_NPU_NONE) npu_dma(b, QRT_NPU_OP_DMA_LOAD, g->bias, (uint64_t)(n0 * 4), v, 1, (uint64_t)(nt * 4), 0, 0);
    npu_dma(b, QRT_NPU_OP_DMA_LOAD, g->mult, (uint64_t)(n0 * 4), v + (uint64_t)g->t.tn * 4, 1, (uint64_t)(nt * 4), 0, 0);
    npu_dma(b, QRT_NPU_OP_DMA_LOAD, g->shift, (uint64_t)n0, v + (uint64_t)g->t.tn * 8, 1, (uint64_t)nt, 0, 0);
  }
  if (s->load_b)
    npu_dma(b, QRT_NPU_OP_DMA_LOAD, g->b, (uint64_t)(g->b_off[s->batch] + k0 * g->N + n0), g->B[s->b_par], (uint64_t)kt,
        (uint64_t)nt, (uint64_t)g->N, (uint64_t)nt);
  if (g->conv) {
    uint64_t f[QRT_NPU_COMMAND_FIELDS];
    memcpy(f, g->im2col, sizeof f);
    f[0] = g->a, f[1] = (uint64_t)g->a_off[s->batch], f[2] = g->A[s->a_par], f[3] = (uint64_t)m0, f[4] = (uint64_t)mt;
    npu_emit(b, QRT_NPU_OP_IM2COL, f, QRT_NPU_COMMAND_FIELDS);
    return;
  }
  npu_dma(b, QRT_NPU_OP_DMA_LOAD, g->a, (uint64_t)(g->a_off[s->batch] + m0 * g->K + k0), g->A[s->a_par], (uint64_t)mt,
      (uint64_t)kt, (uint64_t)g->K, (uint64_t)kt);
}

static void gemm_compute(npu_builder *b, const gemm_layer *g, const gemm_step *s, int64_t nk) {
  const int64_t m0 = s->i * g->t.tm, n0 = s->j * g->t.tn, k0 = s->kk * g->t.tk;
  const int64_t mt = npu_min64(g->t.tm, g->M - m0), nt = npu_min64(g->t.tn, g->N - n0), kt = npu_min64(g->t.tk, g->K - k0);
  const uint64_t mm[] = {g->A[s->a_par], g->B[s->b_par], g->ACC[s->acc_par], (uint64_t)mt, (uint64_t)nt,
                         (uint64_t)kt, (uint64_t)kt, (uint64_t)nt, npu_sgn(g->a_zp), s->kk > 0};
  npu_emit(b, QRT_NPU_OP_MATMUL, mm, 10);
  if (s->kk != nk - 1) return;
  const uint64_t v = g->V[s->v_par];
  const uint64_t bias = g->bias == QRT_NPU_NONE ? QRT_NPU_NONE : v;
  const uint64_t rq[] = {g->ACC[s->acc_par], g->OUT[s->acc_par], (uint64_t)mt, (uint64_t)nt, bias,
                         v + (uint64_t)g->t.tn * 4, v + (uint64_t)g->t.tn * 8, npu_sgn(g->out_zp), npu_sgn(g->out_min),
                         npu_sgn(g->out_max), g->conv};
  npu_emit(b, QRT_NPU_OP_REQUANT, rq, 11);
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
  for (int h = 0; h < 2; h++) g->A[h] = npu_sram_place(&sa, (uint64_t)(g->t.tm * g->t.tk));
  for (int h = 0; h < 2; h++) g->B[h] = npu_sram_place(&sa, (uint64_t)(g->t.tk * g->t.tn));
  for (int h = 0; h < 2; h++) g->ACC[h] = npu_sram_place(&sa, (uint64_t)(g->t.tm * g->t.tn * 4));
  for (int h = 0; h < 2; h++) g->OUT[h] = npu_sram_place(&sa, (uint64_t)(g->t.tm * g->t.tn * g->out_es));
  for (int h = 0; h < 2; h++) g->V[h] = npu_sram_place(&sa, (uint64_t)(g->t.tn * 9));
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
bool npu_lower_qmatmul(npu_builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap) {
  const qrt_qmatmul_params *p = &call->params.qmatmul;
  gemm_layer g;
  memset(&g, 0, sizeof g);
  if (!(b->cfg->pe_formats & QRT_NPU_FMT_INT8))
    return snprintf(why, cap, "the PE array multiplies no int8 (--npu-config pe_formats)"), false;
  if (p->b_format != QRT_WFMT_I8)
    return snprintf(why, cap, "int4 weights: the PE array path is int8 only so far"), false;
  if (p->group > 0 && !mlirValueIsNull(call->in[6]))
    return snprintf(why, cap, "grouped weights: no group multiplier on the PE array yet"), false;
  g.a = npu_value_tensor(b, call->in[0]);
  g.b = npu_value_tensor(b, call->in[1]);
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
