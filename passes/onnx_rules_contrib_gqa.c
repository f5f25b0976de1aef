/* onnx_rules_contrib_gqa.c - ONNX Runtime's GroupQueryAttention (domain
 * com.microsoft; the attention of ORT GenAI's LLMs), expanded into
 * default-domain ops (onnx_expand.c): rotary on Q and the new K, the
 * present buffers ORT builds from the run-time seqlens_k, and the default
 * Attention (opset 23) over the present with a run-time key bias. */
#include <math.h>

#include "onnx_rules.h"

static MlirValue in(onnx_node *n, int i) { return onnx_raw_in(n, i); }

static MlirValue i32(onnx_node *n, int64_t v) { return onnx_scalar(n, QRT_I32, (double)v); }

/* [B, S, heads * H] -> [B, heads, S, H]. */
static MlirValue to_bnsh(onnx_node *n, MlirValue x, int64_t B, int64_t S, int64_t heads, int64_t H) {
  const int64_t split[4] = {B, S, heads, H}, perm[4] = {0, 2, 1, 3};
  MlirNamedAttribute p = onnx_xattr_ints(n, "perm", perm, 4);
  MlirValue r = onnx_xreshape(n, x, split, 4);
  return onnx_expand1(n, "Transpose", 13, 1, &r, &p, 1);
}

/* x [B, h, len, H] padded with zero rows to `to` rows. */
static MlirValue pad_rows(onnx_node *n, MlirValue x, int64_t len, int64_t to) {
  if (to == len) return x;
  const int64_t pads[8] = {0, 0, 0, 0, 0, 0, to - len, 0};
  MlirValue v[2] = {x, onnx_xints(n, pads, 8)};
  return onnx_expand1(n, "Pad", 13, 2, v, NULL, 0);
}

/* GroupQueryAttention (num_heads, kv_num_heads, scale, softcap,
 * local_window_size, do_rotary, rotary_interleaved): query (or packed
 * QKV), key, value, past_key, past_value, seqlens_k, total_sequence_length,
 * cos_cache, sin_cache, position_ids, attention_bias -> output,
 * present_key, present_value; as ONNX Runtime's CPU kernel computes it
 * with separate past and present buffers. total_sequence_length must be a
 * compile-time constant T (it sets the present length, max(T, past
 * length)); seqlens_k stays a run-time input: batch entry b holds
 * total_b = seqlens_k[b] + 1 keys. A first prompt (S == T) reads no past;
 * otherwise the past's first total_b - S rows are kept and the S new rows
 * follow them. Query i of entry b sees keys j < min(c_b + i + 1, total_b)
 * (c_b = 0 on a first prompt, total_b - S otherwise), the last
 * local_window_size of them when that is set. Rotary positions are
 * position_ids[0] + s on a first prompt, else position_ids or c_b + s. */
static int rule_group_query_attention(onnx_node *n, MlirValue *res) {
  qcc_shape qs, ss;
  if (!onnx_need_inputs(n, "x----xx----") || !onnx_in_shape(n, 0, &qs) || !onnx_in_shape(n, 5, &ss)) return -1;
  if (onnx_attr_int(n, "smooth_softmax", 0) || onnx_attr_int(n, "qk_output", 0))
    return onnx_fail(n, "smooth_softmax and qk_output are not supported");
  if (onnx_has_attr(n, "kv_cache_bit_width") && onnx_attr_int(n, "kv_cache_bit_width", 0))
    return onnx_fail(n, "quantized KV caches (kv_cache_bit_width) are not supported");
  if (onnx_attr_int(n, "sliding_window_cache", 0)) return onnx_fail(n, "sliding_window_cache is not supported");
  if (onnx_has_attr(n, "causal") && !onnx_attr_int(n, "causal", 1)) return onnx_fail(n, "causal = 0 is not supported");
  const int64_t N = onnx_attr_int(n, "num_heads", 0), NKV = onnx_attr_int(n, "kv_num_heads", 0);
  const bool packed = !onnx_has_in(n, 1);
  if (packed != !onnx_has_in(n, 2)) return onnx_fail(n, "key and value go together");
  if (qs.rank != 3 || N < 1 || NKV < 1 || N % NKV)
    return onnx_fail(n, "query must be [B, S, D] and num_heads a multiple of kv_num_heads (%lld, %lld)", (long long)N,
                     (long long)NKV);
  const int64_t B = qs.dims[0], S = qs.dims[1];
  if (B < 1 || S < 1) return onnx_fail(n, "empty query: batch %lld, %lld positions", (long long)B, (long long)S);
  const int64_t H = qs.dims[2] / (packed ? N + 2 * NKV : N);
  if (H < 1 || qs.dims[2] != H * (packed ? N + 2 * NKV : N))
    return onnx_fail(n, "the query's hidden size %lld does not split into heads", (long long)qs.dims[2]);
  if (ss.rank != 1 || ss.dims[0] != B || ss.dtype != QRT_I32) return onnx_fail(n, "seqlens_k must be int32 [%lld]", (long long)B);
  q_i64s total;
  qcc_array probe;
  if (!onnx_const_input(n, 6, &probe))
    return onnx_fail(n, "total_sequence_length must be a compile-time constant (it sets the present's length): "
                        "compute it from static shapes, or --bind the graph input that holds it");
  qcc_array_free(&probe);
  if (!onnx_const_ints(n, 6, &total, "total_sequence_length")) return -1;
  if (total.n != 1 || total.v[0] < S) return onnx_fail(n, "total_sequence_length must be one value of at least S");
  const int64_t T = total.v[0];
  const bool first = S == T; /* ONNX Runtime's first prompt */
  if (!first && S > 1 && B != 1) return onnx_fail(n, "a prompt continued on a past needs batch 1 (ONNX Runtime's rule)");
  int64_t P = 0;
  if (onnx_has_in(n, 3) != onnx_has_in(n, 4)) return onnx_fail(n, "past_key and past_value go together");
  if (onnx_has_in(n, 3)) {
    qcc_shape ps;
    if (!onnx_in_shape(n, 3, &ps)) return -1;
    if (ps.rank != 4 || ps.dims[0] != B || ps.dims[1] != NKV || ps.dims[3] != H)
      return onnx_fail(n, "past_key must be [%lld, %lld, P, %lld]", (long long)B, (long long)NKV, (long long)H);
    P = ps.dims[2];
  }
  if (!first && !onnx_has_in(n, 3)) return onnx_fail(n, "S < total_sequence_length needs past_key and past_value");
  const int64_t PL = T > P ? T : P; /* the present length */

  MlirValue q = in(n, 0), k = in(n, 1), v = in(n, 2);
  if (packed) {
    k = onnx_xslice(n, q, 2, N * H, (N + NKV) * H);
    v = onnx_xslice(n, q, 2, (N + NKV) * H, (N + 2 * NKV) * H);
    q = onnx_xslice(n, q, 2, 0, N * H);
  }
  q = to_bnsh(n, q, B, S, N, H);
  k = to_bnsh(n, k, B, S, NKV, H);
  v = to_bnsh(n, v, B, S, NKV, H);

  /* total_b and c_b, [B, 1, 1, 1] */
  const int64_t col[4] = {B, 1, 1, 1};
  MlirValue tb = onnx_xreshape(n, onnx_expand2(n, "Add", in(n, 5), i32(n, 1)), col, 4);
  MlirValue cb = first ? i32(n, 0) : onnx_expand2(n, "Sub", tb, i32(n, S));

  if (onnx_attr_int(n, "do_rotary", 0)) {
    qcc_shape cs;
    if (!onnx_has_in(n, 7) || !onnx_has_in(n, 8) || !onnx_in_shape(n, 7, &cs))
      return onnx_fail(n, "do_rotary needs cos_cache and sin_cache");
    if (cs.rank != 2 || 2 * cs.dims[1] > H) return onnx_fail(n, "cos_cache must be [M, R / 2] with R <= %lld", (long long)H);
    MlirValue pos; /* [B, S] int64 */
    const int64_t bs[2] = {B, S}, row[2] = {1, S}, bcol[2] = {B, 1};
    MlirNamedAttribute to64 = onnx_xattr_int(n, "to", 7 /* INT64 */), to32 = onnx_xattr_int(n, "to", 6 /* INT32 */);
    if (!first && onnx_has_in(n, 9)) {
      pos = onnx_xslice(n, in(n, 9), 1, 0, S);
    } else {
      MlirValue base = i32(n, 0); /* int32: the first position */
      if (!first) {
        base = onnx_xreshape(n, cb, bcol, 2);
      } else if (onnx_has_in(n, 9)) { /* ONNX Runtime reads position_ids[0] alone */
        MlirValue p0 = onnx_xslice(n, onnx_xslice(n, in(n, 9), 0, 0, 1), 1, 0, 1);
        base = onnx_expand1(n, "Cast", 13, 1, &p0, &to32, 1);
      }
      MlirValue p32 = onnx_expand2(n, "Add", base, onnx_xreshape(n, onnx_xarange(n, QRT_I32, S, 4, 3), row, 2));
      pos = onnx_expand2(n, "Expand", onnx_expand1(n, "Cast", 13, 1, &p32, &to64, 1), onnx_xints(n, bs, 2));
    }
    MlirNamedAttribute ra[2] = {onnx_xattr_int(n, "interleaved", onnx_attr_int(n, "rotary_interleaved", 0)),
                                onnx_xattr_int(n, "rotary_embedding_dim", 2 * cs.dims[1])};
    MlirValue qv[4] = {q, in(n, 7), in(n, 8), pos}, kv[4] = {k, in(n, 7), in(n, 8), pos};
    q = onnx_expand1(n, "RotaryEmbedding", 23, 4, qv, ra, 2);
    k = onnx_expand1(n, "RotaryEmbedding", 23, 4, kv, ra, 2);
  }

  /* present: first prompt, the S new rows then zeros; otherwise the past's
   * rows r < c_b, the new rows c_b <= r < total_b, then zeros */
  MlirValue present[2];
  MlirValue news[2] = {k, v};
  for (int t = 0; t < 2; t++) {
    if (first) {
      present[t] = pad_rows(n, news[t], S, PL);
      continue;
    }
    MlirValue r = onnx_xarange(n, QRT_I32, PL, 4, 2); /* [1, 1, PL, 1] */
    MlirValue idx = onnx_expand2(n, "Sub", r, cb);
    MlirValue lo_hi[3] = {idx, i32(n, 0), i32(n, S - 1)};
    idx = onnx_expand1(n, "Clip", 13, 3, lo_hi, NULL, 0);
    const int64_t full[4] = {B, NKV, PL, H};
    MlirNamedAttribute to64 = onnx_xattr_int(n, "to", 7);
    idx = onnx_expand1(n, "Cast", 13, 1, &idx, &to64, 1);
    idx = onnx_expand2(n, "Expand", idx, onnx_xints(n, full, 4));
    MlirNamedAttribute axis = onnx_xattr_int(n, "axis", 2);
    MlirValue ge[2] = {news[t], idx};
    MlirValue moved = onnx_expand1(n, "GatherElements", 13, 2, ge, &axis, 1);
    MlirValue zero = onnx_scalar(n, QRT_F32, 0.0);
    MlirValue inner[3] = {onnx_expand2(n, "Less", r, tb), moved, zero};
    MlirValue outer[3] = {onnx_expand2(n, "Less", r, cb), pad_rows(n, in(n, 3 + t), P, PL),
                          onnx_expand1(n, "Where", 13, 3, inner, NULL, 0)};
    present[t] = onnx_expand1(n, "Where", 13, 3, outer, NULL, 0);
  }

  /* keys j < L_i = min(c_b + i + 1, total_b), the last W of them */
  MlirValue i1 = onnx_expand2(n, "Add", onnx_xarange(n, QRT_I32, S, 4, 2), i32(n, 1));
  MlirValue L = onnx_expand2(n, "Min", onnx_expand2(n, "Add", cb, i1), tb);
  MlirValue j = onnx_xarange(n, QRT_I32, PL, 4, 3);
  MlirValue keep = onnx_expand2(n, "Less", j, L);
  const int64_t W = onnx_attr_int(n, "local_window_size", -1);
  if (W >= 0) keep = onnx_expand2(n, "And", keep, onnx_expand2(n, "GreaterOrEqual", j, onnx_expand2(n, "Sub", L, i32(n, W))));
  MlirValue bias = onnx_xkey_bias(n, keep, -INFINITY);
  if (onnx_has_in(n, 10)) {
    qcc_shape as;
    if (!onnx_in_shape(n, 10, &as)) return -1;
    if (as.rank != 4 || as.dims[3] != T) return onnx_fail(n, "attention_bias must be [B or 1, N or 1, S, %lld]", (long long)T);
    const int64_t pads[8] = {0, 0, 0, 0, 0, 0, 0, PL - T};
    MlirValue pv[2] = {in(n, 10), onnx_xints(n, pads, 8)};
    bias = onnx_expand2(n, "Add", bias, PL > T ? onnx_expand1(n, "Pad", 13, 2, pv, NULL, 0) : in(n, 10));
  }
  MlirNamedAttribute attrs[3];
  int na = 0;
  /* ORT's softmax rule: no zeros for a row whose keys are all masked (no
   * such row unless local_window_size is 0: a query sees its own key) */
  attrs[na++] = onnx_xattr_int(n, "qcc.no_masked_row_rule", 1);
  const double scale = onnx_attr_float(n, "scale", 0.0), softcap = onnx_attr_float(n, "softcap", 0.0);
  if (scale != 0.0) attrs[na++] = onnx_xattr_float(n, "scale", scale);
  if (softcap != 0.0) attrs[na++] = onnx_xattr_float(n, "softcap", softcap);
  MlirValue av[4] = {q, present[0], present[1], bias};
  MlirValue y = onnx_expand1(n, "Attention", 23, 4, av, attrs, na);
  const int64_t perm[4] = {0, 2, 1, 3}, flat[3] = {B, S, N * H};
  MlirNamedAttribute p = onnx_xattr_ints(n, "perm", perm, 4);
  res[0] = onnx_xreshape(n, onnx_expand1(n, "Transpose", 13, 1, &y, &p, 1), flat, 3);
  res[1] = present[0];
  res[2] = present[1];
  return mlirValueIsNull(res[0]) ? -1 : 0;
}

const onnx_rule onnx_rules_contrib_gqa[] = {
    {"com.microsoft.GroupQueryAttention", rule_group_query_attention},
    {NULL, NULL},
};
