/* onnx_rules_nbits.c - ONNX Runtime's MatMulNBits (com.microsoft): the
 * weight-only quantized linear layer of LLMs exported for ONNX Runtime
 * (its GenAI model builder, Olive, optimum's 4-bit export).
 *
 *   Y = A @ W + bias,  W[k, n] = (code[n, k] - zp[n, b]) * scale[n, b],
 *   b = k / block_size (or g_idx[k], act-order GPTQ)
 *
 * B holds the codes as [N, blocks, block_size * bits / 8] bytes, each
 * byte's codes from its low bits up; zero points are packed the same way,
 * ceil(blocks * bits / 8) bytes per row (or are floats, one per block, of
 * the scales' type), and default to 2^(bits - 1). The weights are
 * constants: they are unpacked here, at compile time, into the float
 * matrix the definition describes, and the layer becomes MatMul (+ Add),
 * which every pass knows (so -q w4a8 requantizes it on qcc's own grid). */
#include <stdlib.h>
#include <string.h>

#include "onnx_rules.h"

static unsigned code_at(const uint8_t *bytes, int64_t i, int bits) {
  const int per = 8 / bits;
  return (bytes[i / per] >> (bits * (int)(i % per))) & ((1u << bits) - 1);
}

static bool const_f32(onnx_node *n, int i, int64_t count, qcc_array *a, const char *what) {
  if (!onnx_const_input(n, i, a)) {
    onnx_fail(n, "%s must be a constant", what);
    return false;
  }
  if (a->dtype != QRT_F32 || (int64_t)(a->nbytes / sizeof(float)) != count) {
    onnx_fail(n, "%s must hold %lld float32 values", what, (long long)count);
    qcc_array_free(a);
    return false;
  }
  return true;
}

/* W [K, N] as the definition gives it; false with an error. */
static bool unpack(onnx_node *n, int64_t K, int64_t N, int bits, int64_t block, float *w) {
  const int64_t blocks = (K + block - 1) / block, row_bytes = blocks * block * bits / 8;
  qcc_array b, s, z, g;
  memset(&s, 0, sizeof s);
  memset(&z, 0, sizeof z);
  memset(&g, 0, sizeof g);
  if (!onnx_const_input(n, 1, &b)) return onnx_fail(n, "B must be a constant"), false;
  bool ok = b.dtype == QRT_U8 && (int64_t)b.nbytes == N * row_bytes;
  if (!ok) onnx_fail(n, "B must hold N x blocks x blob = %lld x %lld x %lld uint8 values", (long long)N,
                     (long long)blocks, (long long)(row_bytes / blocks));
  ok = ok && const_f32(n, 2, N * blocks, &s, "scales");
  const int64_t zp_row_bytes = (blocks * bits + 7) / 8;
  bool zp_float = false;
  if (ok && onnx_has_in(n, 3)) {
    ok = onnx_const_input(n, 3, &z);
    if (!ok) onnx_fail(n, "zero_points must be a constant");
    zp_float = ok && z.dtype == QRT_F32;
    if (ok && !(zp_float ? (int64_t)z.nbytes == N * blocks * 4 : z.dtype == QRT_U8 && (int64_t)z.nbytes == N * zp_row_bytes))
      ok = false, onnx_fail(n, "zero_points must hold N x %lld packed uint8 values or one float per block",
                            (long long)zp_row_bytes);
  }
  if (ok && onnx_has_in(n, 4)) {
    ok = onnx_const_input(n, 4, &g);
    if (!ok) onnx_fail(n, "g_idx must be a constant");
    if (ok && (g.dtype != QRT_I32 || (int64_t)g.nbytes != K * 4)) ok = false, onnx_fail(n, "g_idx must hold K int32 values");
    for (int64_t k = 0; ok && k < K; k++) {
      const int32_t gi = ((const int32_t *)g.data)[k];
      if (gi < 0 || gi >= blocks) ok = false, onnx_fail(n, "g_idx[%lld] = %d is not a block index", (long long)k, gi);
    }
  }
  const unsigned dflt = 1u << (bits - 1);
  for (int64_t c = 0; ok && c < N; c++) {
    const uint8_t *codes = (const uint8_t *)b.data + c * row_bytes;
    for (int64_t k = 0; k < K; k++) {
      const int64_t blk = g.data ? ((const int32_t *)g.data)[k] : k / block;
      const float scale = ((const float *)s.data)[c * blocks + blk];
      float zp = (float)dflt;
      if (zp_float) zp = ((const float *)z.data)[c * blocks + blk];
      else if (z.data) zp = (float)code_at((const uint8_t *)z.data + c * zp_row_bytes, blk, bits);
      w[k * N + c] = ((float)code_at(codes, k, bits) - zp) * scale;
    }
  }
  qcc_array_free(&b);
  qcc_array_free(&s);
  qcc_array_free(&z);
  qcc_array_free(&g);
  return ok;
}

static int rule_matmul_nbits(onnx_node *n, MlirValue *res) {
  qcc_shape as;
  if (!onnx_need_inputs(n, "xxx---")) return -1;
  if (!onnx_in_shape(n, 0, &as)) return -1;
  if (!onnx_has_attr(n, "K") || !onnx_has_attr(n, "N") || !onnx_has_attr(n, "block_size"))
    return onnx_fail(n, "attributes K, N and block_size are required");
  const int64_t K = onnx_attr_int(n, "K", 0), N = onnx_attr_int(n, "N", 0), block = onnx_attr_int(n, "block_size", 0);
  const int64_t bits = onnx_attr_int(n, "bits", 4);
  if (bits != 2 && bits != 4 && bits != 8) return onnx_fail(n, "bits %lld is not supported (2, 4 or 8)", (long long)bits);
  if (block < 16 || block > (1 << 20) || (block & (block - 1)))
    return onnx_fail(n, "block_size %lld must be a power of 2 from 16 to 2^20", (long long)block);
  const int64_t most = (int64_t)1 << 28; /* weights unpacked to float: 1 GiB */
  if (K <= 0 || N <= 0 || K > most || N > most || K * N > most) return onnx_fail(n, "K x N = %lld x %lld is out of range", (long long)K, (long long)N);
  if (as.dtype != QRT_F32) return onnx_fail(n, "A must be float32 (element type %s)", qcc_dtype_name(as.dtype));
  if (as.rank < 1 || as.dims[as.rank - 1] != K)
    return onnx_fail(n, "A's last dim must be K = %lld", (long long)K);
  float *w = malloc(sizeof(float) * (size_t)(K * N));
  if (!w || !unpack(n, K, N, (int)bits, block, w)) {
    free(w);
    return -1;
  }
  qcc_array wa = {QRT_F32, 2, {K, N}, w, sizeof(float) * (size_t)(K * N)};
  MlirValue ab[2] = {onnx_raw_in(n, 0), onnx_constant(n, &wa)};
  free(w);
  MlirValue y = onnx_expand1(n, "MatMul", 13, 2, ab, NULL, 0);
  if (onnx_has_in(n, 5)) {
    MlirValue yb[2] = {y, onnx_raw_in(n, 5)};
    y = onnx_expand1(n, "Add", 13, 2, yb, NULL, 0);
  }
  res[0] = y;
  return mlirValueIsNull(y) ? -1 : 0;
}

const onnx_rule onnx_rules_nbits[] = {
    {"com.microsoft.MatMulNBits", rule_matmul_nbits},
    {NULL, NULL},
};
