/* npu_builder.c - see npu_builder.h. */
#include "npu_builder.h"

#include <stdlib.h>
#include <string.h>

/* ---- growable little-endian byte buffers --------------------------------- */
size_t npu_put(npu_bytes *b, const void *d, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 64;
    b->p = realloc(b->p, b->cap);
  }
  if (d) memcpy(b->p + b->n, d, n);
  else memset(b->p + b->n, 0, n);
  b->n += n;
  return b->n - n;
}

void npu_put32(npu_bytes *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  npu_put(b, x, 4);
}

void npu_put64(npu_bytes *b, uint64_t v) {
  npu_put32(b, (uint32_t)v);
  npu_put32(b, (uint32_t)(v >> 32));
}

void npu_align_to(npu_bytes *b, size_t a) {
  if (b->n % a) npu_put(b, NULL, a - b->n % a);
}

/* ---- the stream under construction ---------------------------------------- */
uint32_t npu_intern(npu_builder *b, const char *s) {
  for (size_t off = 0; off < b->strings.n; off += strlen((char *)b->strings.p + off) + 1)
    if (!strcmp((char *)b->strings.p + off, s)) return (uint32_t)off;
  return (uint32_t)npu_put(&b->strings, s, strlen(s) + 1);
}

uint32_t npu_add_tensor(npu_builder *b, uint32_t region, qrt_dtype dt, int rank, const int64_t *dims, const char *name) {
  if (b->n_tensors == b->cap_tensors) {
    b->cap_tensors = b->cap_tensors * 2 + 16;
    b->tensors = realloc(b->tensors, sizeof *b->tensors * (size_t)b->cap_tensors);
  }
  npu_tensor *t = &b->tensors[b->n_tensors];
  memset(t, 0, sizeof *t);
  t->d.region = region;
  t->d.dtype = (uint32_t)dt;
  t->d.rank = (uint32_t)rank;
  t->d.name = name ? npu_intern(b, name) : QRT_NPU_NONE;
  uint64_t n = qcc_dtype_size(dt);
  for (int i = 0; i < rank; i++) t->d.dims[i] = dims[i], n *= (uint64_t)dims[i];
  t->d.nbytes = n;
  t->first = t->last = b->step;
  return (uint32_t)b->n_tensors++;
}

uint32_t npu_add_const(npu_builder *b, const qcc_array *a) {
  uint32_t id = npu_add_tensor(b, QRT_NPU_REGION_CONST, a->dtype, a->rank, a->dims, NULL);
  npu_align_to(&b->consts, QRT_NPU_ALIGN);
  b->tensors[id].d.offset = npu_put(&b->consts, a->data, a->nbytes);
  return id;
}

uint32_t npu_value_tensor(npu_builder *b, MlirValue v) {
  void *id = qcc_ptr_map_get(&b->values, v.ptr);
  if (!id) return QRT_NPU_NONE;
  uint32_t t = (uint32_t)((intptr_t)id - 1);
  if (b->tensors[t].last < b->step) b->tensors[t].last = b->step;
  return t;
}

uint32_t npu_new_value_tensor(npu_builder *b, MlirValue v, uint32_t region) {
  qcc_shape s;
  qcc_shape_of(v, &s);
  uint32_t id = npu_add_tensor(b, region, s.dtype, s.rank, s.dims, NULL);
  qcc_ptr_map_put(&b->values, v.ptr, (void *)(intptr_t)(id + 1));
  return id;
}

void npu_emit(npu_builder *b, uint32_t opcode, const uint64_t *f, int n) {
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

void npu_dma(npu_builder *b, uint32_t op, uint32_t tensor, uint64_t dram_off, uint64_t sram, uint64_t rows,
                uint64_t row_bytes, uint64_t dram_stride, uint64_t sram_stride) {
  uint64_t f[] = {tensor, dram_off, sram, rows, row_bytes, dram_stride, sram_stride};
  npu_emit(b, op, f, 7);
}


/* ---- static SRAM allocation ---- */
uint64_t npu_banks_for(const qrt_npu_config *cfg, uint64_t bytes) {
  return (bytes + cfg->sram_bank_bytes - 1) / cfg->sram_bank_bytes;
}

uint64_t npu_sram_place(npu_sram_alloc *a, uint64_t bytes) {
  uint64_t addr = a->next_bank * a->cfg->sram_bank_bytes;
  a->next_bank += npu_banks_for(a->cfg, bytes);
  return addr;
}
