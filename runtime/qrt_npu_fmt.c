/* qrt_npu_fmt.c - the NPU executor's commands for operand formats other
 * than int8 (see qrt_npu.h and docs/npu.md, "Commands"): MATMUL_I4 (int4
 * weight codes times int8 activations, per-group multipliers), and the
 * block-format datapath: BENCODE (vector unit: float rows into a block
 * format), BMATMUL (PE array: integer mantissas multiplied, block exponents
 * added) and BSCALE (vector unit: the float epilogue).
 *
 * Each computes what the runtime computes for the generated C, through
 * the runtime's own code where there is some: MATMUL_I4 reads the packed
 * int4 panels qrt_pack_b_strided_i4 writes and sums as qrt_qmatmul.c does
 * (modulo 2^32: a ring, so the grouping of the sums changes no bit);
 * BENCODE is qrt_bfmt_encode; BMATMUL unpacks with qrt_bfmt_unpack_int and
 * accumulates as qrt_bdot.c (int32 block sums, each block's term
 * isum * (sa * sw) exact in double, added in block order); BSCALE is
 * qrt_bdot_matmul's last step.  qrt_npu.c validates the fields first:
 * nothing here checks a range. */
#include <math.h>
#include <string.h>

#include "qrt.h"
#include "qrt_npu.h"

/* The largest block of the table (qrt_fmt.c checks every row against 64). */
#define QRT_NPU_MAX_BLOCK 64

static int32_t ld_i32(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

static int64_t as_signed(uint64_t v) { return v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1; }

/* ---- int4 ------------------------------------------------------------------ */
/* Code of B(k, n) in packed int4 panels ldb bytes apart: the runtime's
 * layout (qrt.h, "Packed int4 B"): a panel is 16 columns, each 4 rows of
 * it one 32-byte group whose byte e % 32 holds element e = c * 4 + k % 4
 * (c the column in the panel), low nibble for e < 32, nibble = code + 8. */
static int32_t i4_code(const uint8_t *b, uint64_t ldb, uint64_t k, uint64_t n) {
  const uint64_t e = (n % 16) * 4 + k % 4;
  const unsigned v = b[(n / 16) * ldb + (k / 4) * 32 + e % 32];
  return (int32_t)(e < 32 ? v & 15u : v >> 4) - 8;
}

/* acc[m][n] (+)= sum over groups j of gmult[j][n] * sum_{k in group j}
 * (a[m][k] - za) * B(k, n), modulo 2^32 (ungrouped: one group, weight 1). */
void qrt_npu_run_matmul_i4(uint8_t *sram, const uint64_t *f) {
  const int8_t *a = (const int8_t *)(sram + f[0]);
  const uint8_t *b = sram + f[1], *gm = f[10] != QRT_NPU_NONE ? sram + f[10] : NULL;
  uint8_t *acc = sram + f[2];
  const uint64_t M = f[3], N = f[4], K = f[5], lda = f[6], ldb = f[7];
  const uint64_t G = gm ? f[9] >> 32 : K;
  const int32_t za = (int32_t)as_signed(f[8]);
  uint64_t m, n, k0, k;
  for (m = 0; m < M; m++)
    for (n = 0; n < N; n++) {
      uint32_t sum = (f[9] & 1u) ? (uint32_t)ld_i32(acc + 4 * (m * N + n)) : 0u;
      int32_t v;
      for (k0 = 0; k0 < K; k0 += G) {
        uint32_t s = 0;
        for (k = k0; k < K && k < k0 + G; k++) s += (uint32_t)((a[m * lda + k] - za) * i4_code(b, ldb, k, n));
        sum += (gm ? (uint32_t)gm[(k0 / G) * N + n] : 1u) * s;
      }
      v = (int32_t)sum; /* two's complement narrowing, as the runtime */
      memcpy(acc + 4 * (m * N + n), &v, 4);
    }
}

/* ---- block formats ------------------------------------------------------------ */
int qrt_npu_bfmt_pair_ok(uint64_t a_format, uint64_t w_format, int *wide) {
  int16_t table[QRT_BFMT_MAX_CODES];
  const qrt_bformat *fa, *fw;
  int32_t ka = 0, kw = 0, c;
  *wide = 0;
  if (a_format >= QRT_BFORMAT_COUNT || w_format >= QRT_BFORMAT_COUNT) return 0;
  fa = qrt_bformat_get((int32_t)a_format);
  fw = qrt_bformat_get((int32_t)w_format);
  if (fa->block != fw->block || fa->block % 4 || fa->scale != QRT_SCALE_E8M0 || fw->scale != QRT_SCALE_E8M0) return 0;
  if (qrt_bfmt_int_table((int32_t)a_format, table, &ka) < 0) return 0;
  for (c = 0; c < 1 << fa->element_bits; c++) *wide |= table[c] < -128 || table[c] > 127;
  if (qrt_bfmt_int_table((int32_t)w_format, table, &kw) < 0) return 0;
  for (c = 0; c < 1 << fw->element_bits; c++) *wide |= table[c] < -128 || table[c] > 127;
  return (int64_t)fa->block * ka * kw < (int64_t)1 << 31;
}

uint64_t qrt_npu_bfmt_row_bytes(uint64_t fmt, uint64_t K) {
  const qrt_bformat *f = fmt < QRT_BFORMAT_COUNT ? qrt_bformat_get((int32_t)fmt) : NULL;
  return f && f->scale == QRT_SCALE_E8M0 ? (uint64_t)qrt_bfmt_bytes((int32_t)fmt, (int64_t)K) : 0;
}

uint64_t qrt_npu_bfmt_block(uint64_t fmt) {
  return fmt < QRT_BFORMAT_COUNT ? (uint64_t)qrt_bformat_get((int32_t)fmt)->block : 1;
}

/* The encoder's passes over a block: the maximum, then the rounding
 * (BBFP: the rounding once per exponent it tries, 2d + 1 of them, d the
 * windows' distance, qrt_fmt_bfp.c). */
uint64_t qrt_npu_bencode_passes(uint64_t fmt) {
  const qrt_bformat *f = fmt < QRT_BFORMAT_COUNT ? qrt_bformat_get((int32_t)fmt) : NULL;
  if (f && f->element == QRT_ELEM_BBFP) {
    const uint64_t m = (uint64_t)f->element_bits - 1, d = m - m / 2;
    return 2 + 2 * d;
  }
  return 2;
}

/* out row r = qrt_bfmt_encode(format, in row r, K), value k of in row r
 * at in + r * in_stride + k * elem_stride (a column of a row-major
 * matrix: in_stride 4, elem_stride its row bytes). */
void qrt_npu_run_bencode(uint8_t *sram, const uint64_t *f) {
  float x[QRT_NPU_MAX_BLOCK];
  const uint64_t K = f[3], blk = qrt_npu_bfmt_block(f[6]), bb = qrt_npu_bfmt_row_bytes(f[6], blk);
  uint64_t r, k0, i;
  /* block by block (E8M0 formats encode each block alone): the floats
   * are gathered out of SRAM, which promises no alignment */
  for (r = 0; r < f[2]; r++)
    for (k0 = 0; k0 < K; k0 += blk) {
      const uint64_t n = K - k0 < blk ? K - k0 : blk;
      for (i = 0; i < n; i++) memcpy(x + i, sram + f[0] + r * f[4] + (k0 + i) * f[7], 4);
      qrt_bfmt_encode((int32_t)f[6], x, (int64_t)n, sram + f[1] + r * f[5] + (k0 / blk) * bb);
    }
}

/* Mantissas and scale of the block of n <= block values at p. */
static double unpack_block(uint64_t fmt, const uint8_t *p, uint64_t n, const int16_t *table, int16_t *k) {
  double scale, t;
  qrt_bfmt_unpack_int((int32_t)fmt, p, (int64_t)n, table, k, &scale, &t);
  return scale;
}

/* acc[m][n] (+)= sum over blocks b in order of (double)isum_b * (sa_b * sw_b),
 * isum_b the int32 dot product of row m's and column n's mantissas in
 * block b; A rows lda bytes apart, W columns ldb bytes apart, each in its
 * format's storage (per block: the E8M0 scale byte, then the codes). */
void qrt_npu_run_bmatmul(uint8_t *sram, const uint64_t *f) {
  int16_t ta[QRT_BFMT_MAX_CODES], tw[QRT_BFMT_MAX_CODES], ka[QRT_NPU_MAX_BLOCK], kw[QRT_NPU_MAX_BLOCK];
  const uint64_t M = f[3], N = f[4], K = f[5], af = f[8], wf = f[10], blk = qrt_npu_bfmt_block(af);
  const uint64_t abb = qrt_npu_bfmt_row_bytes(af, blk), wbb = qrt_npu_bfmt_row_bytes(wf, blk);
  int32_t kmax;
  uint64_t m, n, k0, i;
  (void)qrt_bfmt_int_table((int32_t)af, ta, &kmax);
  (void)qrt_bfmt_int_table((int32_t)wf, tw, &kmax);
  for (m = 0; m < M; m++)
    for (n = 0; n < N; n++) {
      uint8_t *at = sram + f[2] + 8 * (m * N + n);
      double acc = 0.0;
      if (f[9]) memcpy(&acc, at, 8);
      for (k0 = 0; k0 < K; k0 += blk) {
        const uint64_t cnt = K - k0 < blk ? K - k0 : blk;
        const double sa = unpack_block(af, sram + f[0] + m * f[6] + (k0 / blk) * abb, cnt, ta, ka);
        const double sw = unpack_block(wf, sram + f[1] + n * f[7] + (k0 / blk) * wbb, cnt, tw, kw);
        int32_t s = 0;
        for (i = 0; i < cnt; i++) s += (int32_t)ka[i] * kw[i];
        acc += (double)s * (sa * sw);
      }
      memcpy(at, &acc, 8);
    }
}

/* out[m][n] = (float)(acc[m][n] * 2^-shift [+ (double)bias[n]]): the
 * element shifts of the two formats (acc times ta 2^-sha times tw 2^-shw,
 * t = 1 for E8M0 formats) and the float bias, as qrt_bdot_matmul ends. */
void qrt_npu_run_bscale(uint8_t *sram, const uint64_t *f) {
  const double factor = ldexp(1.0, -(int)f[5]);
  uint64_t m, n;
  for (m = 0; m < f[2]; m++)
    for (n = 0; n < f[3]; n++) {
      double acc, y;
      float out;
      memcpy(&acc, sram + f[0] + 8 * (m * f[3] + n), 8);
      y = acc * factor;
      if (f[4] != QRT_NPU_NONE) {
        float bias;
        memcpy(&bias, sram + f[4] + 4 * n, 4);
        y += (double)bias;
      }
      out = (float)y;
      memcpy(sram + f[1] + 4 * (m * f[3] + n), &out, 4);
    }
}
