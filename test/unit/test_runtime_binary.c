/* test_runtime_binary.c - broadcasting binary kernels against a reference that
 * computes every output from its multi-index.  Each output is one IEEE
 * operation (or libm pow/fmod) in both, so comparisons are bit-exact.
 * Integer edge cases (x/0, MIN/-1, signs of mod, pow, shifts) are checked
 * against the documented results. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

typedef struct {
  int rank;
  int64_t shape[8], as[8], bs[8]; /* input shapes, broadcast to out */
} bcase;

/* Build params from two input shapes (numpy rules, right-aligned). */
static void make_params(qrt_binary_params *p, int ra, const int64_t *sa, int rb, const int64_t *sb,
                        int op) {
  int r = ra > rb ? ra : rb, k;
  int64_t da[8], db[8], stra = 1, strb = 1;
  memset(p, 0, sizeof *p);
  p->op = op;
  p->rank = r;
  for (k = 0; k < r; ++k) {
    da[k] = k - (r - ra) >= 0 ? sa[k - (r - ra)] : 1;
    db[k] = k - (r - rb) >= 0 ? sb[k - (r - rb)] : 1;
    p->out_shape[k] = da[k] > db[k] ? da[k] : db[k];
  }
  for (k = r - 1; k >= 0; --k) {
    p->a_strides[k] = da[k] == 1 ? 0 : stra;
    p->b_strides[k] = db[k] == 1 ? 0 : strb;
    stra *= da[k];
    strb *= db[k];
  }
}

static int64_t numel(int r, const int64_t *s) {
  int64_t n = 1;
  int k;
  for (k = 0; k < r; ++k) n *= s[k];
  return n;
}

/* offsets of output element i in a and b */
static void offsets(const qrt_binary_params *p, int64_t i, int64_t *oa, int64_t *ob) {
  int k;
  *oa = 0;
  *ob = 0;
  for (k = p->rank - 1; k >= 0; --k) {
    const int64_t ix = i % p->out_shape[k];
    i /= p->out_shape[k];
    *oa += ix * p->a_strides[k];
    *ob += ix * p->b_strides[k];
  }
}

static float ref_f32(int op, float a, float b, int *is_bool) {
  *is_bool = 0;
  switch (op) {
  case QRT_BINARY_ADD: return a + b;
  case QRT_BINARY_SUB: return a - b;
  case QRT_BINARY_MUL: return a * b;
  case QRT_BINARY_DIV: return a / b;
  case QRT_BINARY_POW: return powf(a, b);
  case QRT_BINARY_MAX: return a != a ? a : (b != b ? b : (a > b ? a : b));
  case QRT_BINARY_MIN: return a != a ? a : (b != b ? b : (a < b ? a : b));
  case QRT_BINARY_FMOD: return fmodf(a, b);
  case QRT_BINARY_MOD: {
    float r = fmodf(a, b);
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  }
  case QRT_BINARY_PRELU: return a < 0 ? a * b : a;
  }
  *is_bool = 1;
  switch (op) {
  case QRT_BINARY_EQUAL: return a == b;
  case QRT_BINARY_LESS: return a < b;
  case QRT_BINARY_GREATER: return a > b;
  case QRT_BINARY_LESS_EQUAL: return a <= b;
  default: return a >= b;
  }
}

static void test_f32_shapes(int ra, const int64_t *sa, int rb, const int64_t *sb) {
  int op;
  for (op = QRT_BINARY_ADD; op <= QRT_BINARY_GREATER_EQUAL; ++op) {
    qrt_binary_params p;
    int64_t na, nb, no, i;
    float *a, *b, *y;
    uint8_t *yb;
    const void *in[2];
    void *out[1];
    int ok = 1;
    char what[96];
    make_params(&p, ra, sa, rb, sb, op);
    na = numel(ra, sa); nb = numel(rb, sb); no = numel(p.rank, p.out_shape);
    a = (float *)xmalloc(sizeof(float) * (size_t)na);
    b = (float *)xmalloc(sizeof(float) * (size_t)nb);
    y = (float *)xmalloc(sizeof(float) * (size_t)no);
    yb = (uint8_t *)y;
    fill_f32(a, na, op == QRT_BINARY_POW ? 0.1f : -4.0f, 4.0f);
    fill_f32(b, nb, -4.0f, 4.0f);
    for (i = 0; i < nb; i += 7) b[i] = a[i % na]; /* some equal pairs */
    if (na > 3) a[3] = NAN;
    in[0] = a; in[1] = b; out[0] = y;
    qrt_binary_f32(&p, in, out);
    for (i = 0; i < no && ok; ++i) {
      int64_t oa, ob;
      int isb;
      float r;
      offsets(&p, i, &oa, &ob);
      r = ref_f32(op, a[oa], b[ob], &isb);
      ok = isb ? yb[i] == (uint8_t)r : same_f32(y[i], r);
      if (!ok) printf("  op %d elem %lld\n", op, (long long)i);
    }
    sprintf(what, "f32 op %d ranks %d,%d -> %lld elems", op, ra, rb, (long long)no);
    check(ok, what);
    if (op == QRT_BINARY_ADD || op == QRT_BINARY_SUB || op == QRT_BINARY_MUL) {
      /* int8 output (qrt_binary_f32_i8): the float result's bits through
       * qrt_quantize_f32_i8, a narrowed code range included */
      qrt_binary_q_params qp;
      qrt_quantize_params xp;
      int8_t *want = (int8_t *)xmalloc((size_t)no), *got = (int8_t *)xmalloc((size_t)no);
      memset(&xp, 0, sizeof xp);
      xp.n = no; xp.inv_scale = 9.5f; xp.zero_point = -7; xp.qmin = -100; xp.qmax = 127;
      in[0] = y; out[0] = want;
      qrt_quantize_f32_i8(&xp, in, out);
      memset(&qp, 0, sizeof qp);
      qp.op = p.op; qp.rank = p.rank;
      memcpy(qp.out_shape, p.out_shape, sizeof qp.out_shape);
      memcpy(qp.a_strides, p.a_strides, sizeof qp.a_strides);
      memcpy(qp.b_strides, p.b_strides, sizeof qp.b_strides);
      qp.inv_scale = xp.inv_scale; qp.zero_point = xp.zero_point; qp.qmin = xp.qmin; qp.qmax = xp.qmax;
      in[0] = a; in[1] = b; out[0] = got;
      memset(got, 0x55, (size_t)no);
      qrt_binary_f32_i8(&qp, in, out);
      sprintf(what, "f32 op %d to int8 codes, ranks %d,%d -> %lld elems: bit for bit", op, ra, rb, (long long)no);
      check(memcmp(got, want, (size_t)no) == 0, what);
      free(want); free(got);
    }
    free(a); free(b); free(y);
  }
}

static void test_f64_add(void) {
  const int64_t sa[2] = {3, 5}, sb[1] = {5};
  double a[15], b[5], y[15];
  qrt_binary_params p;
  const void *in[2];
  void *out[1];
  int i, ok = 1;
  for (i = 0; i < 15; ++i) a[i] = frand(-1, 1) / 3.0;
  for (i = 0; i < 5; ++i) b[i] = frand(-1, 1) / 7.0;
  make_params(&p, 2, sa, 1, sb, QRT_BINARY_SUB);
  in[0] = a; in[1] = b; out[0] = y;
  qrt_binary_f64(&p, in, out);
  for (i = 0; i < 15; ++i) ok &= y[i] == a[i] - b[i % 5];
  check(ok, "f64 sub broadcast");
}

static int64_t ref_i(int op, int64_t a, int64_t b) {
  switch (op) {
  case QRT_BINARY_ADD: return a + b;
  case QRT_BINARY_SUB: return a - b;
  case QRT_BINARY_MUL: return a * b;
  case QRT_BINARY_DIV: return b == 0 ? 0 : a / b;
  case QRT_BINARY_MAX: return a > b ? a : b;
  case QRT_BINARY_MIN: return a < b ? a : b;
  case QRT_BINARY_FMOD: return b == 0 ? 0 : a % b;
  case QRT_BINARY_MOD: {
    int64_t r = b == 0 ? 0 : a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  }
  case QRT_BINARY_EQUAL: return a == b;
  case QRT_BINARY_LESS: return a < b;
  case QRT_BINARY_GREATER: return a > b;
  case QRT_BINARY_LESS_EQUAL: return a <= b;
  case QRT_BINARY_GREATER_EQUAL: return a >= b;
  case QRT_BINARY_BITAND: return a & b;
  case QRT_BINARY_BITOR: return a | b;
  case QRT_BINARY_BITXOR: return a ^ b;
  default: return 0;
  }
}

/* i32 with small values (no overflow): every op against ref_i. */
static void test_i32_ops(void) {
  const int64_t sa[2] = {4, 6}, sb[2] = {4, 1};
  int32_t a[24], b[4], y[24];
  uint8_t *yb = (uint8_t *)y;
  int op, i;
  for (i = 0; i < 24; ++i) a[i] = (int32_t)(lcg() % 41) - 20;
  b[0] = 0; b[1] = -3; b[2] = 7; b[3] = 5;
  for (op = QRT_BINARY_ADD; op <= QRT_BINARY_BITXOR; ++op) {
    qrt_binary_params p;
    const void *in[2];
    void *out[1];
    int ok = 1, isb = op >= QRT_BINARY_EQUAL && op <= QRT_BINARY_GREATER_EQUAL;
    char what[48];
    if (op == QRT_BINARY_POW || op == QRT_BINARY_PRELU || (op >= QRT_BINARY_AND && op <= QRT_BINARY_XOR))
      continue;
    make_params(&p, 2, sa, 2, sb, op);
    in[0] = a; in[1] = b; out[0] = y;
    qrt_binary_i32(&p, in, out);
    for (i = 0; i < 24; ++i) {
      const int64_t r = ref_i(op, a[i], b[i / 6]);
      ok &= isb ? yb[i] == (uint8_t)r : y[i] == (int32_t)r;
    }
    sprintf(what, "i32 op %d", op);
    check(ok, what);
  }
}

/* AIFS's permuted causal mask condition: perm [1, 48] <= perm [48, 1]
 * (int64, the compare's row against one broadcast value, blocks of 16
 * and a tail), each ordering op against its definition. */
static void test_i64_compare_rows(void) {
  const int64_t sa[2] = {1, 45}, sb[2] = {45, 1};
  int64_t perm[45];
  uint8_t y[45 * 45];
  int op, i, j;
  for (i = 0; i < 45; ++i) perm[i] = i;
  for (i = 44; i > 0; --i) {
    const int k = (int)(lcg() % (uint32_t)(i + 1));
    const int64_t t = perm[i];
    perm[i] = perm[k];
    perm[k] = t;
  }
  for (op = QRT_BINARY_EQUAL; op <= QRT_BINARY_GREATER_EQUAL; ++op) {
    qrt_binary_params p;
    const void *in[2];
    void *out[1];
    int ok = 1, k;
    char what[48];
    for (k = 0; k < 2; ++k) { /* the broadcast value as b, then as a */
      make_params(&p, 2, k ? sb : sa, 2, k ? sa : sb, op);
      in[0] = perm; in[1] = perm; out[0] = y;
      qrt_binary_i64(&p, in, out);
      for (i = 0; i < 45; ++i)
        for (j = 0; j < 45; ++j)
          ok &= y[i * 45 + j] == (uint8_t)(k ? ref_i(op, perm[i], perm[j]) : ref_i(op, perm[j], perm[i]));
    }
    sprintf(what, "i64 row compare op %d", op);
    check(ok, what);
  }
}

static int32_t run_i32(int op, int32_t a, int32_t b) {
  qrt_binary_params p;
  const void *in[2];
  void *out[1];
  int32_t y;
  memset(&p, 0, sizeof p);
  p.op = op; p.rank = 0;
  in[0] = &a; in[1] = &b; out[0] = &y;
  qrt_binary_i32(&p, in, out);
  return y;
}

static void test_int_edges(void) {
  check(run_i32(QRT_BINARY_DIV, 7, 0) == 0, "i32 x/0 = 0");
  check(run_i32(QRT_BINARY_DIV, INT32_MIN, -1) == INT32_MIN, "i32 MIN/-1 = MIN");
  check(run_i32(QRT_BINARY_DIV, -7, 2) == -3, "i32 div truncates");
  check(run_i32(QRT_BINARY_MOD, -7, 3) == 2 && run_i32(QRT_BINARY_MOD, 7, -3) == -2, "i32 mod sign of divisor");
  check(run_i32(QRT_BINARY_FMOD, -7, 3) == -1 && run_i32(QRT_BINARY_FMOD, INT32_MIN, -1) == 0, "i32 fmod");
  check(run_i32(QRT_BINARY_MOD, 5, 0) == 0, "i32 mod 0");
  check(run_i32(QRT_BINARY_ADD, INT32_MAX, 1) == INT32_MIN, "i32 add wraps");
  check(run_i32(QRT_BINARY_MUL, 65536, 65536) == 0, "i32 mul wraps");
  check(run_i32(QRT_BINARY_POW, 3, 5) == 243 && run_i32(QRT_BINARY_POW, -2, 3) == -8, "i32 pow");
  check(run_i32(QRT_BINARY_POW, 2, 31) == INT32_MIN && run_i32(QRT_BINARY_POW, 7, 0) == 1, "i32 pow wrap/0");
  check(run_i32(QRT_BINARY_POW, 2, -1) == 0 && run_i32(QRT_BINARY_POW, -1, -3) == -1 &&
        run_i32(QRT_BINARY_POW, 1, -3) == 1, "i32 pow negative exponent");
  check(run_i32(QRT_BINARY_SHL, 1, 31) == INT32_MIN && run_i32(QRT_BINARY_SHL, 1, 32) == 0 &&
        run_i32(QRT_BINARY_SHR, 256, 4) == 16 && run_i32(QRT_BINARY_SHR, 5, -1) == 0, "i32 shifts");
  {
    /* i8 / u8 / i64 spot checks */
    qrt_binary_params p;
    const void *in[2];
    void *out[1];
    int8_t a8[3] = {100, -128, -7}, b8[3] = {100, -1, 2}, y8[3];
    uint8_t au[3] = {200, 7, 1}, bu[3] = {100, 0, 9}, yu[3];
    int64_t a64[2] = {INT64_MAX, INT64_MIN}, b64[2] = {1, -1}, y64[2];
    memset(&p, 0, sizeof p);
    p.rank = 1; p.out_shape[0] = 3; p.a_strides[0] = 1; p.b_strides[0] = 1;
    p.op = QRT_BINARY_ADD; in[0] = a8; in[1] = b8; out[0] = y8;
    qrt_binary_i8(&p, in, out);
    check(y8[0] == -56 && y8[1] == 127 && y8[2] == -5, "i8 add wraps");
    p.op = QRT_BINARY_DIV;
    qrt_binary_i8(&p, in, out);
    check(y8[0] == 1 && y8[1] == -128 && y8[2] == -3, "i8 div");
    p.op = QRT_BINARY_ADD; in[0] = au; in[1] = bu; out[0] = yu;
    qrt_binary_u8(&p, in, out);
    check(yu[0] == 44 && yu[1] == 7 && yu[2] == 10, "u8 add wraps");
    p.op = QRT_BINARY_SUB;
    qrt_binary_u8(&p, in, out);
    check(yu[0] == 100 && yu[1] == 7 && yu[2] == 248, "u8 sub wraps");
    p.op = QRT_BINARY_MOD;
    qrt_binary_u8(&p, in, out);
    check(yu[0] == 0 && yu[1] == 0 && yu[2] == 1, "u8 mod");
    p.op = QRT_BINARY_SHR;
    qrt_binary_u8(&p, in, out);
    check(yu[0] == 0 && yu[1] == 7 && yu[2] == 0, "u8 shr");
    p.out_shape[0] = 2; p.op = QRT_BINARY_ADD; in[0] = a64; in[1] = b64; out[0] = y64;
    qrt_binary_i64(&p, in, out);
    check(y64[0] == INT64_MIN && y64[1] == INT64_MAX, "i64 add wraps");
    p.op = QRT_BINARY_DIV;
    qrt_binary_i64(&p, in, out);
    check(y64[0] == INT64_MAX && y64[1] == INT64_MIN, "i64 MIN/-1");
  }
  {
    /* i16 / u16 / u32 / u64: wrapping, no int promotion overflow, mod, shifts */
    qrt_binary_params p;
    const void *in[2];
    void *out[1];
    int16_t a16[3] = {32767, -32768, -7}, b16[3] = {1, -1, 2}, y16[3];
    uint16_t au16[3] = {65535, 3, 1}, bu16[3] = {65535, 5, 16}, yu16[3];
    uint32_t au32[3] = {4294967295u, 7, 10}, bu32[3] = {2, 0, 3}, yu32[3];
    uint64_t au64[2] = {UINT64_MAX, 9}, bu64[2] = {1, 4}, yu64[2];
    memset(&p, 0, sizeof p);
    p.rank = 1; p.out_shape[0] = 3; p.a_strides[0] = 1; p.b_strides[0] = 1;
    p.op = QRT_BINARY_ADD; in[0] = a16; in[1] = b16; out[0] = y16;
    qrt_binary_i16(&p, in, out);
    check(y16[0] == -32768 && y16[1] == 32767 && y16[2] == -5, "i16 add wraps");
    p.op = QRT_BINARY_DIV;
    qrt_binary_i16(&p, in, out);
    check(y16[0] == 32767 && y16[1] == -32768 && y16[2] == -3, "i16 div, MIN/-1");
    p.op = QRT_BINARY_MOD;
    qrt_binary_i16(&p, in, out);
    check(y16[0] == 0 && y16[1] == 0 && y16[2] == 1, "i16 mod sign of divisor");
    p.op = QRT_BINARY_MUL; in[0] = au16; in[1] = bu16; out[0] = yu16;
    qrt_binary_u16(&p, in, out);
    check(yu16[0] == 1 && yu16[1] == 15 && yu16[2] == 16, "u16 mul wraps");
    p.op = QRT_BINARY_SHL;
    qrt_binary_u16(&p, in, out);
    check(yu16[0] == 0 && yu16[1] == 96 && yu16[2] == 0, "u16 shl");
    p.op = QRT_BINARY_MAX;
    qrt_binary_u16(&p, in, out);
    check(yu16[0] == 65535 && yu16[1] == 5 && yu16[2] == 16, "u16 max");
    p.op = QRT_BINARY_ADD; in[0] = au32; in[1] = bu32; out[0] = yu32;
    qrt_binary_u32(&p, in, out);
    check(yu32[0] == 1 && yu32[1] == 7 && yu32[2] == 13, "u32 add wraps");
    p.op = QRT_BINARY_DIV;
    qrt_binary_u32(&p, in, out);
    check(yu32[0] == 2147483647u && yu32[1] == 0 && yu32[2] == 3, "u32 div, x/0 = 0");
    p.op = QRT_BINARY_MIN;
    qrt_binary_u32(&p, in, out);
    check(yu32[0] == 2 && yu32[1] == 0 && yu32[2] == 3, "u32 min");
    p.out_shape[0] = 2; p.op = QRT_BINARY_ADD; in[0] = au64; in[1] = bu64; out[0] = yu64;
    qrt_binary_u64(&p, in, out);
    check(yu64[0] == 0 && yu64[1] == 13, "u64 add wraps");
    p.op = QRT_BINARY_SUB;
    qrt_binary_u64(&p, in, out);
    check(yu64[0] == UINT64_MAX - 1 && yu64[1] == 5, "u64 sub");
    p.op = QRT_BINARY_GREATER;
    {
      uint8_t yb[2];
      out[0] = yb;
      qrt_binary_u64(&p, in, out);
      check(yb[0] == 1 && yb[1] == 1, "u64 greater (unsigned compare)");
    }
  }
}

static void test_bool(void) {
  const int64_t sa[2] = {2, 2}, sb[1] = {2};
  const uint8_t a[4] = {0, 1, 1, 0}, b[2] = {1, 0};
  uint8_t y[4];
  static const uint8_t ex_and[4] = {0, 0, 1, 0}, ex_or[4] = {1, 1, 1, 0}, ex_xor[4] = {1, 1, 0, 0},
                       ex_eq[4] = {0, 0, 1, 1};
  qrt_binary_params p;
  const void *in[2];
  void *out[1];
  in[0] = a; in[1] = b; out[0] = y;
  make_params(&p, 2, sa, 1, sb, QRT_BINARY_AND); qrt_binary_bool(&p, in, out);
  check(memcmp(y, ex_and, 4) == 0, "bool and");
  make_params(&p, 2, sa, 1, sb, QRT_BINARY_OR); qrt_binary_bool(&p, in, out);
  check(memcmp(y, ex_or, 4) == 0, "bool or");
  make_params(&p, 2, sa, 1, sb, QRT_BINARY_XOR); qrt_binary_bool(&p, in, out);
  check(memcmp(y, ex_xor, 4) == 0, "bool xor");
  make_params(&p, 2, sa, 1, sb, QRT_BINARY_EQUAL); qrt_binary_bool(&p, in, out);
  check(memcmp(y, ex_eq, 4) == 0, "bool equal");
}

int main(void) {
  {
    const int64_t s[3] = {3, 4, 5};
    test_f32_shapes(3, s, 3, s); /* same shape */
  }
  {
    const int64_t a[2] = {6, 37}, b[1] = {37}, c[2] = {6, 1}, d[0 + 1] = {1};
    test_f32_shapes(2, a, 1, b);  /* row broadcast */
    test_f32_shapes(2, a, 2, c);  /* column broadcast */
    test_f32_shapes(2, c, 2, a);  /* column broadcast on the left */
    test_f32_shapes(1, b, 2, a);  /* broadcast on the left */
    test_f32_shapes(2, a, 0, d);  /* scalar (rank 0) */
    test_f32_shapes(0, d, 0, d);  /* both rank 0 */
  }
  {
    const int64_t a[3] = {3, 1, 5}, b[3] = {1, 4, 1};
    test_f32_shapes(3, a, 3, b); /* both broadcast */
  }
  {
    const int64_t a[6] = {2, 1, 3, 2, 1, 19}, b[5] = {4, 3, 1, 5, 19};
    test_f32_shapes(6, a, 5, b);
  }
  {
    const int64_t a[4] = {2, 3, 4, 1}, b[4] = {2, 1, 4, 1};
    test_f32_shapes(4, a, 4, b); /* size-1 innermost */
  }
  {
    const int64_t a[3] = {1, 9, 600};
    test_f32_shapes(3, a, 3, a); /* 5400 elements: runs past the int8 path's 1024-float chunk */
  }
  test_f64_add();
  test_i32_ops();
  test_i64_compare_rows();
  test_int_edges();
  test_bool();
  return finish();
}
