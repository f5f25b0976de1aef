/* test_runtime_msq.c - qrt_msq_quantize_f32_i8 then qrt_msqmatmul_i8,
 * qrt_msqmatmul_i8_f32 and qrt_msqmatmul_i8_f32out (MSQ: static activation parameters per modality)
 * against their definition: every row computed on its own by the
 * per-tensor kernels with its modality's parameters (qrt_quantize_f32_i8,
 * qrt_qmatmul_i8 with M = 1 and that modality's bias / mult / shift rows,
 * qrt_dequantize_i8_f32; qrt_qmatmul_i8_f32out with its float constants
 * and clamp, with and without a residual): bit-exact, whether rows come in one run per
 * modality (AIFS order, run boundaries inside the GEMM's micro-tiles) or
 * interleaved, for float and integer modality vectors, out-of-range and
 * NaN modalities (clamped, NaN -> 0), int8 and grouped int4 weights, and
 * more rows than one GEMM call takes (QRT_MSQ_CHUNK); and qrt_msq_lut_i8
 * and qrt_msq_lut_i8_f32 (one int8 / float table per modality) against a
 * lookup per element. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

/* Row r's modality as MSQ defines it: the value clamped to
 * [0, n_mod - 1], NaN -> 0. */
static int row_modality(int mod_dtype, const float *fmod, const int64_t *imod, int64_t r, int n_mod) {
  const double v = mod_dtype == QRT_F32 ? (double)fmod[r] : (double)imod[r];
  return v != v || v < 0 ? 0 : v > n_mod - 1 ? n_mod - 1 : (int)v;
}

/* qrt_msq_lut_i8 (int8 tables) or, with float_tables, qrt_msq_lut_i8_f32
 * on a layer's codes [M, K]: each result is its row's modality's table
 * entry for the code, as a plain lookup defines it (bit for bit). */
static void check_msq_lut(const int8_t *codes, int64_t M, int64_t K, int n_mod, int layout, int mod_dtype,
                          const float *fmod, const int64_t *imod, int float_tables) {
  const size_t es = float_tables ? sizeof(float) : 1;
  unsigned char *table = (unsigned char *)xmalloc(es * (size_t)(256 * n_mod));
  unsigned char *y = (unsigned char *)xmalloc(es * (size_t)(M * K));
  qrt_msq_lut_params lp;
  const void *in[3];
  void *out[1];
  int64_t r, i;
  int ok = 1;
  char what[160];
  if (float_tables) fill_f32((float *)(void *)table, 256 * n_mod, -4.0f, 4.0f);
  else fill_i8((int8_t *)table, 256 * n_mod, -128, 127);
  lp.M = M;
  lp.K = K;
  lp.n_mod = n_mod;
  lp.mod_dtype = mod_dtype;
  in[0] = codes;
  in[1] = table;
  in[2] = mod_dtype == QRT_F32 ? (const void *)fmod : (const void *)imod;
  out[0] = y;
  if (float_tables) qrt_msq_lut_i8_f32(&lp, in, out);
  else qrt_msq_lut_i8(&lp, in, out);
  for (r = 0; r < M; ++r) {
    const int m = row_modality(mod_dtype, fmod, imod, r, n_mod);
    for (i = 0; i < K; ++i)
      ok &= memcmp(y + es * (size_t)(r * K + i), table + es * (size_t)(256 * m + (uint8_t)(codes[r * K + i] + 128)),
                   es) == 0;
  }
  snprintf(what, sizeof what, "msq_lut%s M=%lld K=%lld n_mod=%d layout=%d dtype=%d", float_tables ? " f32" : "",
           (long long)M, (long long)K, n_mod, layout, mod_dtype);
  check(ok, what);
  free(table);
  free(y);
}

/* qrt_msqmatmul_i8_f32out on the codes of a test case: every row equals
 * qrt_qmatmul_i8_f32out with M = 1 and its modality's float constants
 * (scale_f, bias_f rows, clamp) bit for bit; with a residual (layout 1:
 * the output buffer itself) added last. */
static void check_msq_f32out(const qrt_msqmatmul_params *p0, const int8_t *codes, const int8_t *Bp, const void *mod,
                             const float *fmod, const int64_t *imod, const uint8_t *gmult, int layout) {
  const int64_t M = p0->M, N = p0->N, K = p0->K;
  const int n_mod = p0->n_mod, with_res = layout != 0, res_in_place = layout == 1;
  float *bias_f = (float *)xmalloc(sizeof(float) * (size_t)(n_mod * N));
  float *scale_f = (float *)xmalloc(sizeof(float) * (size_t)(n_mod * N));
  float *res = (float *)xmalloc(sizeof(float) * (size_t)(M * N)), *C = (float *)xmalloc(sizeof(float) * (size_t)(M * N));
  float *R = (float *)xmalloc(sizeof(float) * (size_t)(M * N));
  qrt_msqmatmul_params p = *p0;
  const void *in[8];
  void *out[1];
  int64_t r;
  int m;
  fill_f32(bias_f, n_mod * N, -2.0f, 2.0f);
  fill_f32(scale_f, n_mod * N, 1e-5f, 1e-3f);
  fill_f32(res, M * N, -1.0f, 1.0f);
  for (m = 0; m < n_mod; ++m) { /* a clamp that cuts some outputs, another per modality */
    p.f_min[m] = -1.5f + 0.25f * (float)m;
    p.f_max[m] = 1.0f + 0.5f * (float)m;
  }
  memcpy(C, res, sizeof(float) * (size_t)(M * N));
  memset((void *)in, 0, sizeof in);
  in[0] = codes; in[1] = Bp; in[2] = bias_f; in[3] = scale_f;
  in[4] = with_res ? (res_in_place ? C : res) : NULL;
  in[5] = mod;
  in[6] = gmult;
  out[0] = C;
  qrt_msqmatmul_i8_f32out(&p, in, out);
  for (r = 0; r < M; ++r) {
    qrt_qmatmul_params mp;
    m = row_modality(p.mod_dtype, fmod, imod, r, n_mod);
    memset(&mp, 0, sizeof mp);
    mp.M = 1; mp.N = N; mp.K = K;
    mp.b_packed = 1;
    mp.b_format = p.b_format;
    mp.group = p.group;
    mp.f_clamp = 1;
    mp.f_min = p.f_min[m];
    mp.f_max = p.f_max[m];
    memset((void *)in, 0, sizeof in);
    in[0] = codes + r * K; in[1] = Bp; in[2] = bias_f + m * N; in[3] = scale_f + m * N;
    in[4] = with_res ? res + r * N : NULL;
    in[6] = gmult;
    out[0] = R + r * N;
    qrt_qmatmul_i8_f32out(&mp, in, out);
  }
  {
    char what[160];
    snprintf(what, sizeof what, "msqmatmul f32out M=%lld N=%lld K=%lld n_mod=%d layout=%d dtype=%d group=%lld",
             (long long)M, (long long)N, (long long)K, n_mod, layout, p.mod_dtype, (long long)p.group);
    check(same_f32_arr(C, R, M * N), what);
  }
  free(bias_f); free(scale_f); free(res); free(C); free(R);
}

static void test_case(int64_t M, int64_t N, int64_t K, int n_mod, int layout, int mod_dtype, int int4) {
  float *A = (float *)xmalloc(sizeof(float) * (size_t)(M * K)), *C = (float *)xmalloc(sizeof(float) * (size_t)(M * N));
  float *R = (float *)xmalloc(sizeof(float) * (size_t)(M * N));
  int8_t *B = (int8_t *)xmalloc((size_t)(K * N)), *Bp = (int8_t *)xmalloc((size_t)qrt_packed_b_i8_size(K, N));
  int32_t *bias = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)(n_mod * N));
  int32_t *mult = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)(n_mod * N));
  int8_t *shift = (int8_t *)xmalloc((size_t)(n_mod * N));
  const int64_t group = int4 ? 8 : 0, n_groups = int4 ? (K + 7) / 8 : 0;
  uint8_t *gmult = (uint8_t *)xmalloc((size_t)(n_groups * N + 1));
  float *fmod = (float *)xmalloc(sizeof(float) * (size_t)M);
  int64_t *imod = (int64_t *)xmalloc(sizeof(int64_t) * (size_t)M);
  int8_t *cout = (int8_t *)xmalloc((size_t)(M * N)), *codes = (int8_t *)xmalloc((size_t)(M * K));
  int8_t *rcodes = (int8_t *)xmalloc((size_t)(M * N));
  qrt_msqmatmul_params p;
  qrt_msq_quantize_params pq;
  int64_t r, i;
  int m;
  memset(&p, 0, sizeof p);
  memset(&pq, 0, sizeof pq);
  fill_f32(A, M * K, -3.0f, 3.0f);
  fill_i8(B, K * N, int4 ? -8 : -127, int4 ? 7 : 127);
  for (i = 0; i < n_groups * N; ++i) gmult[i] = (uint8_t)irand(1, 255);
  for (i = 0; i < n_mod * N; ++i) {
    bias[i] = (int32_t)irand(-5000, 5000);
    mult[i] = (int32_t)irand(1 << 30, 2147483647);
    shift[i] = (int8_t)irand(int4 ? 38 : 40, 44);
  }
  if (int4) qrt_pack_b_strided_i4(K, N, B, N, 1, Bp);
  else qrt_pack_b_i8(K, N, B, Bp);
  /* modalities: layout 0 sorted blocks, 1 interleaved, 2 with values out
   * of range (7, -1) and NaN */
  for (r = 0; r < M; ++r) {
    double v = layout == 0 ? (double)(r * n_mod / M) : (double)((r * 7 + 3) % n_mod);
    if (layout == 2 && r % 5 == 1) v = 7;
    if (layout == 2 && r % 5 == 2) v = -1;
    fmod[r] = (float)v;
    imod[r] = (int64_t)v;
  }
  if (layout == 2 && mod_dtype == QRT_F32) fmod[M - 1] = NAN;
  p.M = M;
  p.N = N;
  p.K = K;
  p.b_packed = 1;
  p.b_format = int4 ? QRT_WFMT_I4 : QRT_WFMT_I8;
  p.group = group;
  p.n_mod = n_mod;
  p.mod_dtype = mod_dtype;
  pq.M = M;
  pq.K = K;
  pq.n_mod = n_mod;
  pq.mod_dtype = mod_dtype;
  pq.qmin = int4 ? -8 : -128;
  pq.qmax = int4 ? 7 : 127;
  for (m = 0; m < n_mod; ++m) {
    pq.inv_scale[m] = 1.0f / (0.01f + 0.02f * (float)m);
    pq.zero_point[m] = (int32_t)irand(pq.qmin, pq.qmax);
    p.out_scale[m] = 0.05f + 0.01f * (float)m;
    p.out_zero_point[m] = (int32_t)irand(-20, 20);
    p.out_min[m] = -128 + m;
    p.out_max[m] = 127 - m;
  }
  {
    const void *in[8];
    void *out[1];
    const void *mod = mod_dtype == QRT_F32 ? (const void *)fmod : (const void *)imod;
    in[0] = A; in[1] = mod;
    out[0] = codes;
    qrt_msq_quantize_f32_i8(&pq, in, out);
    in[0] = codes; in[1] = Bp; in[2] = bias; in[3] = mult; in[4] = shift;
    in[5] = mod;
    in[6] = int4 ? gmult : NULL;
    in[7] = NULL;
    out[0] = C;
    qrt_msqmatmul_i8_f32(&p, in, out);
    out[0] = cout;
    qrt_msqmatmul_i8(&p, in, out);
  }
  for (r = 0; r < M; ++r) {
    int8_t aq[64], *cq = rcodes + r * N;
    qrt_quantize_params qp;
    qrt_qmatmul_params mp;
    qrt_dequantize_params dp;
    const void *in[8];
    void *out[1];
    m = row_modality(mod_dtype, fmod, imod, r, n_mod);
    qp.n = K;
    qp.inv_scale = pq.inv_scale[m];
    qp.zero_point = pq.zero_point[m];
    qp.qmin = pq.qmin;
    qp.qmax = pq.qmax;
    in[0] = A + r * K;
    out[0] = aq;
    qrt_quantize_f32_i8(&qp, in, out);
    memset(&mp, 0, sizeof mp);
    mp.M = 1; mp.N = N; mp.K = K;
    mp.b_packed = 1;
    mp.b_format = p.b_format;
    mp.group = group;
    mp.out_zero_point = p.out_zero_point[m];
    mp.out_min = p.out_min[m];
    mp.out_max = p.out_max[m];
    memset((void *)in, 0, sizeof in);
    in[0] = aq; in[1] = Bp; in[2] = bias + m * N; in[3] = mult + m * N; in[4] = shift + m * N;
    in[6] = int4 ? gmult : NULL;
    out[0] = cq;
    qrt_qmatmul_i8(&mp, in, out);
    dp.n = N;
    dp.scale = p.out_scale[m];
    dp.zero_point = p.out_zero_point[m];
    in[0] = cq;
    out[0] = R + r * N;
    qrt_dequantize_i8_f32(&dp, in, out);
  }
  {
    char what[160];
    snprintf(what, sizeof what, "msqmatmul M=%lld N=%lld K=%lld n_mod=%d layout=%d dtype=%d int4=%d", (long long)M,
             (long long)N, (long long)K, n_mod, layout, mod_dtype, int4);
    check(same_f32_arr(C, R, M * N), what);
    check(memcmp(cout, rcodes, (size_t)(M * N)) == 0, what);
  }
  check_msq_f32out(&p, codes, Bp, mod_dtype == QRT_F32 ? (const void *)fmod : (const void *)imod, fmod, imod,
                   int4 ? gmult : NULL, layout);
  check_msq_lut(cout, M, N, n_mod, layout, mod_dtype, fmod, imod, 0);
  check_msq_lut(cout, M, N, n_mod, layout, mod_dtype, fmod, imod, 1);
  free(A); free(C); free(R); free(B); free(Bp); free(bias); free(mult); free(shift); free(gmult); free(cout); free(codes);
  free(rcodes); free(fmod); free(imod);
}

int main(void) {
  int layout, n_mod, int4;
  for (int4 = 0; int4 < 2; ++int4)
    for (n_mod = 1; n_mod <= 3; ++n_mod)
      for (layout = 0; layout < 3; ++layout) {
        test_case(13, 17, 24, n_mod, layout, QRT_F32, int4);
        test_case(48, 33, 64, n_mod, layout, QRT_I64, int4);
      }
  /* more rows than one GEMM call (QRT_MSQ_CHUNK = 1024), blocks of 64 */
  test_case(1100, 20, 12, 3, 0, QRT_F32, 0);
  test_case(1100, 20, 12, 2, 1, QRT_I64, 1);
  return finish();
}
