/* npu_stream_ops.c - element-wise and layout ops streamed through SRAM:
 * the LUT unit (qrt_lut_i8), the vector unit's ADD (qrt_qadd_i8) and
 * MAXPOOL (qrt_maxpool_i8), DMA layout copies (qrt_copy) (see docs/npu.md, "Lowering"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu_builder.h"

/* An element-wise int8 op streamed through SRAM: bank-sized chunks of each
 * input into its double buffer (the next chunk's loads issued before this
 * chunk's op), the op, the output chunk stored back. */
typedef void (*chunk_op_fn)(npu_builder *b, const uint64_t *in, uint64_t out, uint64_t len, const void *ctx);

static void stream_elementwise(npu_builder *b, npu_sram_alloc *sa, int64_t n, const uint32_t *ins, int n_ins, uint32_t out,
                               chunk_op_fn op, const void *ctx) { /* n > 0 */
  const int64_t chunk = npu_min64(n, (int64_t)b->cfg->sram_bank_bytes), n_chunks = (n + chunk - 1) / chunk;
  uint64_t IN[2][2], OUT[2];
  for (int i = 0; i < n_ins; i++)
    for (int h = 0; h < 2; h++) IN[i][h] = npu_sram_place(sa, (uint64_t)chunk);
  for (int h = 0; h < 2; h++) OUT[h] = npu_sram_place(sa, (uint64_t)chunk);
  for (int64_t c = -1; c < n_chunks; c++) {
    if (c + 1 < n_chunks)
      for (int i = 0; i < n_ins; i++)
        npu_dma(b, QRT_NPU_OP_DMA_LOAD, ins[i], (uint64_t)((c + 1) * chunk), IN[i][(c + 1) % 2], 1,
            (uint64_t)npu_min64(chunk, n - (c + 1) * chunk), 0, 0);
    if (c < 0) continue;
    const int64_t len = npu_min64(chunk, n - c * chunk);
    const uint64_t in[2] = {IN[0][c % 2], n_ins > 1 ? IN[1][c % 2] : 0};
    op(b, in, OUT[c % 2], (uint64_t)len, ctx);
    npu_dma(b, QRT_NPU_OP_DMA_STORE, out, (uint64_t)(c * chunk), OUT[c % 2], 1, (uint64_t)len, 0, 0);
  }
}

static void lut_chunk(npu_builder *b, const uint64_t *in, uint64_t out, uint64_t len, const void *ctx) {
  const uint64_t f[] = {in[0], out, *(const uint64_t *)ctx, len};
  npu_emit(b, QRT_NPU_OP_LUT, f, 4);
}

/* qrt_lut_i8 on the LUT unit: the table once, then the data streamed. */
bool npu_lower_lut(npu_builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap) {
  const qrt_npu_config *cfg = b->cfg;
  if (cfg->lut_entries < 256) return snprintf(why, cap, "the LUT unit holds fewer than 256 entries"), false;
  if (cfg->sram_banks < 5) return snprintf(why, cap, "the SRAM has too few banks for five LUT buffers"), false;
  if (call->params.lut.n <= 0) return snprintf(why, cap, "empty tensor"), false;
  const uint32_t x = npu_value_tensor(b, call->in[0]), table = npu_value_tensor(b, call->in[1]);
  npu_sram_alloc sa = {cfg, 0};
  const uint64_t T = npu_sram_place(&sa, 256);
  npu_dma(b, QRT_NPU_OP_DMA_LOAD, table, 0, T, 1, 256, 0, 0);
  stream_elementwise(b, &sa, call->params.lut.n, &x, 1, out, lut_chunk, &T);
  return true;
}

static void add_chunk(npu_builder *b, const uint64_t *in, uint64_t out, uint64_t len, const void *ctx) {
  const qrt_qadd_params *p = ctx;
  const uint64_t f[] = {in[0], in[1], out, len, npu_sgn(p->a_zero_point), npu_sgn(p->b_zero_point), npu_sgn(p->out_zero_point),
                        npu_sgn(p->out_min), npu_sgn(p->out_max),
                        (uint64_t)(uint32_t)p->a_mult | (uint64_t)(uint32_t)p->b_mult << 32, (uint64_t)p->shift};
  npu_emit(b, QRT_NPU_OP_ADD, f, 11);
}

static bool int8_range(int64_t v) { return v >= -128 && v <= 127; }

/* qrt_qadd_i8 (the integer-only residual add) on the vector unit, when
 * neither operand is broadcast. */
bool npu_lower_qadd(npu_builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap) {
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
  const uint32_t ins[2] = {npu_value_tensor(b, call->in[0]), npu_value_tensor(b, call->in[1])};
  npu_sram_alloc sa = {b->cfg, 0};
  stream_elementwise(b, &sa, n, ins, 2, out, add_chunk, p);
  return true;
}

/* qrt_copy (reshape, slice, concat-like layout copies) on the DMA engine
 * when its innermost axis is contiguous: each run of rows (the two inner
 * axes, at most a bank) is loaded from the input's strided layout and
 * stored dense, two SRAM buffers alternating.  Transposes of the innermost
 * axis need an element gather the DMA does not have. */
bool npu_lower_copy(npu_builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap) {
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
  const int64_t per_chunk = npu_min64(rows, (int64_t)b->cfg->sram_bank_bytes / row_bytes);
  const int64_t chunks = (rows + per_chunk - 1) / per_chunk;
  if (outer * chunks > 4096) return snprintf(why, cap, "layout copy needing more than 4096 DMA transfers"), false;
  const uint32_t in = npu_value_tensor(b, call->in[0]);
  const int64_t n_blocks = outer * chunks;
  /* block k: outer index k / chunks, rows from (k % chunks) * per_chunk */
  int64_t *src = malloc(sizeof *src * (size_t)n_blocks), *dst = malloc(sizeof *dst * (size_t)n_blocks),
          *len = malloc(sizeof *len * (size_t)n_blocks);
  for (int64_t k = 0; k < n_blocks; k++) {
    int64_t o = k / chunks, r0 = (k % chunks) * per_chunk, base = p->offset;
    for (int d = R - 3; d >= 0; d--) base += (o % shape[d]) * st[d], o /= shape[d];
    src[k] = base * es + r0 * rs;
    dst[k] = ((k / chunks) * rows + r0) * row_bytes;
    len[k] = npu_min64(per_chunk, rows - r0);
  }
  const uint64_t buf[2] = {0, b->cfg->sram_bank_bytes};
  for (int64_t k = -1; k < n_blocks; k++) {
    if (k + 1 < n_blocks)
      npu_dma(b, QRT_NPU_OP_DMA_LOAD, in, (uint64_t)src[k + 1], buf[(k + 1) % 2], (uint64_t)len[k + 1],
          (uint64_t)row_bytes, (uint64_t)(len[k + 1] > 1 ? rs : 0), (uint64_t)row_bytes);
    if (k >= 0)
      npu_dma(b, QRT_NPU_OP_DMA_STORE, out, (uint64_t)dst[k], buf[k % 2], (uint64_t)len[k], (uint64_t)row_bytes,
          (uint64_t)row_bytes, (uint64_t)row_bytes);
  }
  free(src), free(dst), free(len);
  return true;
}

/* qrt_maxpool_i8 (2-D) on the vector unit: runs of whole planes (at most a
 * bank in and out) loaded, pooled by MAXPOOL, stored, double-buffered. */
bool npu_lower_maxpool(npu_builder *b, const qcc_call *call, uint32_t out, char *why, size_t cap) {
  const qrt_pool_params *p = &call->params.pool;
  const uint64_t bank = b->cfg->sram_bank_bytes;
  if (p->in_spatial[0] != 1 || p->out_spatial[0] != 1 || p->kernel[0] != 1)
    return snprintf(why, cap, "3-D max pooling: MAXPOOL pools 2-D planes"), false;
  for (int d = 1; d < 3; d++)
    if (p->kernel[d] < 1 || p->kernel[d] > 0xffff || p->strides[d] < 1 || p->strides[d] > 0xffff ||
        p->dilations[d] < 1 || p->dilations[d] > 0xffff || p->pads_begin[d] < 0 || p->pads_begin[d] > 0xffff)
      return snprintf(why, cap, "window geometry outside MAXPOOL's 16-bit fields"), false;
  const int64_t H = p->in_spatial[1], W = p->in_spatial[2], OH = p->out_spatial[1], OW = p->out_spatial[2];
  const int64_t planes = p->n * p->c, taps = OH * OW * p->kernel[1] * p->kernel[2];
  if (planes <= 0 || H <= 0 || W <= 0 || OH <= 0 || OW <= 0) return snprintf(why, cap, "empty pooling"), false;
  if ((uint64_t)(H * W) > bank || (uint64_t)(OH * OW) > bank || taps > ((int64_t)1 << 26))
    return snprintf(why, cap, "a plane larger than an SRAM bank"), false;
  if (b->cfg->sram_banks < 4) return snprintf(why, cap, "the SRAM has too few banks for four pooling buffers"), false;
  int64_t per = npu_min64(planes, npu_min64((int64_t)bank / (H * W), (int64_t)bank / (OH * OW)));
  per = npu_min64(per, ((int64_t)1 << 26) / taps);
  const int64_t chunks = (planes + per - 1) / per;
  const uint32_t x = npu_value_tensor(b, call->in[0]);
  npu_sram_alloc sa = {b->cfg, 0};
  uint64_t IN[2], OUT[2];
  for (int h = 0; h < 2; h++) IN[h] = npu_sram_place(&sa, bank);
  for (int h = 0; h < 2; h++) OUT[h] = npu_sram_place(&sa, bank);
  const uint64_t geo0 = (uint64_t)p->kernel[1] | (uint64_t)p->kernel[2] << 16 | (uint64_t)p->strides[1] << 32 |
                        (uint64_t)p->strides[2] << 48;
  const uint64_t geo1 = (uint64_t)p->dilations[1] | (uint64_t)p->dilations[2] << 16 |
                        (uint64_t)p->pads_begin[1] << 32 | (uint64_t)p->pads_begin[2] << 48;
  for (int64_t c = -1; c < chunks; c++) {
    if (c + 1 < chunks)
      npu_dma(b, QRT_NPU_OP_DMA_LOAD, x, (uint64_t)((c + 1) * per * H * W), IN[(c + 1) % 2], 1,
              (uint64_t)(npu_min64(per, planes - (c + 1) * per) * H * W), 0, 0);
    if (c < 0) continue;
    const int64_t np = npu_min64(per, planes - c * per);
    const uint64_t f[] = {IN[c % 2], OUT[c % 2], (uint64_t)np, (uint64_t)H, (uint64_t)W, geo0, geo1,
                          (uint64_t)OH | (uint64_t)OW << 32};
    npu_emit(b, QRT_NPU_OP_MAXPOOL, f, 8);
    npu_dma(b, QRT_NPU_OP_DMA_STORE, out, (uint64_t)(c * per * OH * OW), OUT[c % 2], 1, (uint64_t)(np * OH * OW), 0,
            0);
  }
  return true;
}
