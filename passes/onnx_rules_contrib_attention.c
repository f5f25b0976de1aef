/* onnx_rules_contrib_attention.c - the transformer blocks ONNX Runtime's
 * optimizer fuses (domain com.microsoft), expanded into default-domain
 * ops (onnx_expand.c) as onnx_rules_contrib.c does for the simpler ones:
 *
 *   EmbedLayerNormalization  LayerNorm(word[ids] + pos[positions] (+ seg[segment ids]))
 *                            and the mask's per-row count of ones
 *   Attention                input @ weights + bias split into Q, K, V; the
 *                            default Attention with the key mask as a bias;
 *                            past / present stacked as [2, B, N, T, H]
 *   QAttention               the same with an exact int8 projection
 *   MultiHeadAttention       Q, K, V (+ bias), 3-D or key/value in BNSH
 *   RotaryEmbedding          the default RotaryEmbedding (position_ids an
 *                            offset or per token)
 *
 * The attention ops become the default-domain Attention (opset 23),
 * whose rule (onnx_rules_attention.c) builds the q chain fuse-attention
 * and rotate-heads know. ONNX Runtime masks a key by adding
 * mask_filter_value (-10000), a finite number: a row whose every key is
 * masked is the softmax of its scores, not zeros; the bias built here is
 * the same. Its causal rule (query i sees keys j <= past + i) is
 * Attention's is_causal. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_rules.h"

static MlirValue in(onnx_node *n, int i) { return onnx_raw_in(n, i); }

static MlirValue ints(onnx_node *n, const int64_t *v, int k) {
  qcc_array a = {QRT_I64, 1, {k}, (void *)v, sizeof(int64_t) * (size_t)k};
  return onnx_constant(n, &a);
}

/* 0, 1, .., len - 1 (int32 or int64) laid along dim `axis` of a
 * rank-`rank` shape of 1s: key and query positions, rotary steps. */
static MlirValue arange(onnx_node *n, qrt_dtype dtype, int64_t len, int rank, int axis) {
  const size_t size = dtype == QRT_I64 ? sizeof(int64_t) : sizeof(int32_t);
  void *v = malloc(size * (size_t)(len > 0 ? len : 1));
  for (int64_t i = 0; i < len; i++) {
    if (dtype == QRT_I64) ((int64_t *)v)[i] = i;
    else ((int32_t *)v)[i] = (int32_t)i;
  }
  qcc_array a = {dtype, rank, {1, 1, 1, 1}, v, size * (size_t)len};
  a.dims[axis] = len;
  MlirValue c = onnx_constant(n, &a);
  free(v);
  return c;
}

/* EmbedLayerNormalization (epsilon 1e-12): input_ids, segment_ids,
 * word_embedding, position_embedding, segment_embedding, gamma, beta,
 * mask, position_ids -> output, mask_index (per batch row, the count of
 * ones in mask, as ONNX Runtime's CPU kernel computes it; zeros without a
 * mask), embedding_sum. Positions are position_ids, or 0..S-1. */
static int rule_embed_layernorm(onnx_node *n, MlirValue *res) {
  qcc_shape ids;
  if (!onnx_need_inputs(n, "x-xx-xx--")) return -1;
  if (!onnx_in_shape(n, 0, &ids)) return -1;
  if (ids.rank != 2) return onnx_fail(n, "input_ids must be 2-D [batch, sequence]");
  if (onnx_has_in(n, 1) != onnx_has_in(n, 4))
    return onnx_fail(n, "segment_ids and segment_embedding go together");
  const int64_t S = ids.dims[1];
  MlirValue sum = onnx_expand2(n, "Gather", in(n, 2), in(n, 0));
  MlirValue pos;
  if (onnx_has_in(n, 8)) {
    pos = onnx_expand2(n, "Gather", in(n, 3), in(n, 8));
  } else {
    const int64_t zero = 0, end = S;
    MlirValue v[3] = {in(n, 3), ints(n, &zero, 1), ints(n, &end, 1)};
    pos = onnx_expand1(n, "Slice", 13, 3, v, NULL, 0);
  }
  sum = onnx_expand2(n, "Add", sum, pos);
  if (onnx_has_in(n, 1)) sum = onnx_expand2(n, "Add", sum, onnx_expand2(n, "Gather", in(n, 4), in(n, 1)));
  MlirNamedAttribute attrs[2] = {onnx_xattr_int(n, "axis", -1),
                                 onnx_xattr_float(n, "epsilon", onnx_attr_float(n, "epsilon", 1e-12))};
  MlirValue norm[3] = {sum, in(n, 5), in(n, 6)};
  res[0] = onnx_expand1(n, "LayerNormalization", 17, 3, norm, attrs, 2);
  if (onnx_out_used(n, 1)) {
    if (onnx_has_in(n, 7)) {
      MlirValue ones = onnx_expand2(n, "Equal", in(n, 7), onnx_scalar(n, QRT_I32, 1));
      MlirNamedAttribute to = onnx_xattr_int(n, "to", 6 /* INT32 */);
      MlirValue count = onnx_expand1(n, "Cast", 13, 1, &ones, &to, 1);
      const int64_t axis = 1;
      MlirNamedAttribute keep = onnx_xattr_int(n, "keepdims", 0);
      MlirValue v[2] = {count, ints(n, &axis, 1)};
      res[1] = onnx_expand1(n, "ReduceSum", 13, 2, v, &keep, 1);
    } else {
      const qcc_shape one = {QRT_I32, 1, {1}};
      MlirValue zero = onnx_reshape(n, onnx_scalar(n, QRT_I32, 0), &one);
      res[1] = onnx_expand2(n, "Expand", zero, ints(n, &ids.dims[0], 1));
    }
  }
  res[2] = sum;
  return mlirValueIsNull(res[0]) ? -1 : 0;
}

static MlirValue reshape(onnx_node *n, MlirValue x, const int64_t *dims, int rank) {
  MlirValue v[2] = {x, ints(n, dims, rank)};
  return onnx_expand1(n, "Reshape", 13, 2, v, NULL, 0);
}

/* x[..., from:to) along axis. */
static MlirValue slice(onnx_node *n, MlirValue x, int64_t axis, int64_t from, int64_t to) {
  MlirValue v[4] = {x, ints(n, &from, 1), ints(n, &to, 1), ints(n, &axis, 1)};
  return onnx_expand1(n, "Slice", 13, 4, v, NULL, 0);
}

static MlirValue where(onnx_node *n, MlirValue keep, double filter) {
  MlirValue v[3] = {keep, onnx_scalar(n, QRT_F32, 0.0), onnx_scalar(n, QRT_F32, filter)};
  return onnx_expand1(n, "Where", 13, 3, v, NULL, 0);
}

/* The additive bias of a key mask (input mi) over scores [B, N, S, T]:
 * `filter` where a key is masked, 0 where it is kept, shaped [B, 1, 1, T]
 * or [B, 1, S, T]. Forms: [B] (keys j < end[b] kept), [2B] (and j >=
 * start[b]; Attention only), [3B + 2] (the first B as ends, as ORT's CPU
 * kernel reads it), [B, T] and [B, S, T] (a value > 0 keeps the key).
 * [B, 1] and [1, 1] (Attention's "dummy" mask) give no bias: *out null. */
static int key_mask_bias(onnx_node *n, int mi, int64_t B, int64_t S, int64_t T, double filter, bool attention,
                         MlirValue *out) {
  qcc_shape ms;
  *out = (MlirValue){NULL};
  if (!onnx_in_shape(n, mi, &ms)) return -1;
  if (ms.dtype != QRT_I32) return onnx_fail(n, "the key mask must be int32 (element type %s)", qcc_dtype_name(ms.dtype));
  if (B < 1 || S < 1 || T < 1)
    return onnx_fail(n, "empty attention: batch %lld, %lld queries, %lld keys", (long long)B, (long long)S, (long long)T);
  MlirValue keep;
  int64_t rows = 1;
  if (ms.rank == 1 && (ms.dims[0] == B || ms.dims[0] == 3 * B + 2 || (attention && ms.dims[0] == 2 * B))) {
    MlirValue keys = arange(n, QRT_I32, T, 2, 1); /* [1, T] */
    const int64_t col[2] = {B, 1};
    MlirValue end = reshape(n, ms.dims[0] == B ? in(n, mi) : slice(n, in(n, mi), 0, 0, B), col, 2);
    keep = onnx_expand2(n, "Less", keys, end);
    if (ms.dims[0] == 2 * B && B > 0) {
      MlirValue start = reshape(n, slice(n, in(n, mi), 0, B, 2 * B), col, 2);
      keep = onnx_expand2(n, "And", keep, onnx_expand2(n, "GreaterOrEqual", keys, start));
    }
  } else if (attention && ms.rank == 2 && ms.dims[1] == 1 && (ms.dims[0] == B || ms.dims[0] == 1)) {
    return 0;
  } else if ((ms.rank == 2 && ms.dims[0] == B && ms.dims[1] == T) ||
             (ms.rank == 3 && ms.dims[0] == B && ms.dims[1] == S && ms.dims[2] == T)) {
    keep = onnx_expand2(n, "Greater", in(n, mi), onnx_scalar(n, QRT_I32, 0));
    rows = ms.rank == 3 ? S : 1;
  } else {
    char buf[96];
    return onnx_fail(n, "key mask of shape %s is not supported ([B], %s[B, T] or [B, S, T] with B = %lld, S = %lld, "
                        "T = %lld)", qcc_shape_str(&ms, buf, sizeof buf), attention ? "[2B], " : "", (long long)B, (long long)S, (long long)T);
  }
  const int64_t dims[4] = {B, 1, rows, T};
  *out = reshape(n, where(n, keep, filter), dims, 4);
  return 0;
}

/* bias (may be null) + input ab (attention_bias, if given). */
static MlirValue add_bias(onnx_node *n, MlirValue bias, int ab) {
  if (!onnx_has_in(n, ab)) return bias;
  return mlirValueIsNull(bias) ? in(n, ab) : onnx_expand2(n, "Add", bias, in(n, ab));
}

/* The default Attention (opset 23) of 3-D or 4-D q, k, v with N heads. */
static int attention23(onnx_node *n, MlirValue q, MlirValue k, MlirValue v, MlirValue bias, MlirValue past_k,
                       MlirValue past_v, int64_t heads, bool three_d, MlirValue *out) {
  MlirNamedAttribute attrs[5];
  int k_attrs = 0;
  attrs[k_attrs++] = onnx_xattr_int(n, "is_causal", onnx_attr_int(n, "unidirectional", 0) != 0);
  /* ONNX Runtime's softmax of a row whose keys are all masked is the
   * softmax of its (finitely masked) scores, not Attention-23's zeros:
   * without the rule's reduce and select the attention fuses, and
   * rotate-heads folds its output rotation. */
  attrs[k_attrs++] = onnx_xattr_int(n, "qcc.no_masked_row_rule", 1);
  const double scale = onnx_attr_float(n, "scale", 0.0);
  if (scale != 0.0) attrs[k_attrs++] = onnx_xattr_float(n, "scale", scale);
  if (three_d) {
    attrs[k_attrs++] = onnx_xattr_int(n, "q_num_heads", heads);
    attrs[k_attrs++] = onnx_xattr_int(n, "kv_num_heads", heads);
  }
  MlirValue v6[6] = {q, k, v, bias, past_k, past_v};
  return onnx_expand(n, "Attention", 23, 6, v6, attrs, k_attrs, 3, out);
}

/* Where Attention and QAttention keep their inputs. */
typedef struct packed_attention {
  int mask, past, attention_bias; /* input indices; -1: the op has none */
} packed_attention;

/* The attention both ops compute from the projection qkv = [Q | K | V]
 * ([B, S, d0 + d1 + d2]) of input 0 by weights input 1. */
static int packed_qkv_attention(onnx_node *n, const packed_attention *at, MlirValue (*project)(onnx_node *),
                                MlirValue *res) {
  qcc_shape xs, ws;
  if (!onnx_in_shape(n, 0, &xs) || !onnx_in_shape(n, 1, &ws)) return -1;
  if (onnx_attr_int(n, "do_rotary", 0)) return onnx_fail(n, "do_rotary is not supported");
  if (onnx_attr_int(n, "past_present_share_buffer", 0)) return onnx_fail(n, "past_present_share_buffer is not supported");
  const int64_t N = onnx_attr_int(n, "num_heads", 0);
  if (xs.rank != 3 || ws.rank != 2 || ws.dims[0] != xs.dims[2])
    return onnx_fail(n, "input must be [B, S, D_in] and weights [D_in, 3 D]");
  int64_t d[3];
  q_i64s sizes;
  if (onnx_attr_ints(n, "qkv_hidden_sizes", &sizes)) {
    if (sizes.n != 3 || sizes.v[0] != sizes.v[1]) return onnx_fail(n, "qkv_hidden_sizes must be 3 sizes, Q's equal to K's");
    memcpy(d, sizes.v, sizeof d);
  } else {
    d[0] = d[1] = d[2] = ws.dims[1] / 3;
  }
  if (N < 1 || d[0] < 1 || d[2] < 1 || d[0] % N || d[2] % N || d[0] + d[1] + d[2] != ws.dims[1])
    return onnx_fail(n, "num_heads %lld does not split Q, K, V of %lld, %lld, %lld columns (weights have %lld)",
                     (long long)N, (long long)d[0], (long long)d[1], (long long)d[2], (long long)ws.dims[1]);
  const int64_t B = xs.dims[0], S = xs.dims[1];
  int64_t P = 0;
  MlirValue past_k = {NULL}, past_v = {NULL};
  if (onnx_has_in(n, at->past)) {
    qcc_shape ps;
    if (!onnx_in_shape(n, at->past, &ps)) return -1;
    if (ps.rank != 5 || ps.dims[0] != 2 || ps.dims[1] != B || ps.dims[2] != N || ps.dims[4] != d[0] / N ||
        d[1] != d[2])
      return onnx_fail(n, "past must be [2, %lld, %lld, P, %lld]", (long long)B, (long long)N, (long long)(d[0] / N));
    P = ps.dims[3];
    const int64_t one[4] = {B, N, P, d[0] / N};
    past_k = reshape(n, slice(n, in(n, at->past), 0, 0, 1), one, 4);
    past_v = reshape(n, slice(n, in(n, at->past), 0, 1, 2), one, 4);
  }
  MlirValue qkv = project(n);
  MlirValue q = slice(n, qkv, 2, 0, d[0]), k = slice(n, qkv, 2, d[0], d[0] + d[1]);
  MlirValue v = slice(n, qkv, 2, d[0] + d[1], d[0] + d[1] + d[2]);
  MlirValue bias = {NULL};
  const double filter = onnx_attr_float(n, "mask_filter_value", -10000.0);
  if (onnx_has_in(n, at->mask) && key_mask_bias(n, at->mask, B, S, P + S, filter, true, &bias)) return -1;
  if (at->attention_bias >= 0) bias = add_bias(n, bias, at->attention_bias);
  MlirValue y[3];
  if (attention23(n, q, k, v, bias, past_k, past_v, N, true, y)) return -1;
  res[0] = y[0];
  if (onnx_out_used(n, 1)) {
    const int64_t stacked[5] = {1, B, N, P + S, d[0] / N};
    MlirValue both[2] = {reshape(n, y[1], stacked, 5), reshape(n, y[2], stacked, 5)};
    MlirNamedAttribute axis = onnx_xattr_int(n, "axis", 0);
    res[1] = onnx_expand1(n, "Concat", 13, 2, both, &axis, 1);
  }
  return 0;
}

static MlirValue float_projection(onnx_node *n) {
  MlirValue qkv = onnx_expand2(n, "MatMul", in(n, 0), in(n, 1));
  return onnx_has_in(n, 2) ? onnx_expand2(n, "Add", qkv, in(n, 2)) : qkv;
}

/* QAttention's projection: exact int32 (input - izp) @ (weight - wzp)
 * (MatMulInteger), times input_scale * weight_scale, plus the float bias. */
static MlirValue integer_projection(onnx_node *n) {
  MlirValue v[4] = {in(n, 0), in(n, 1), onnx_has_in(n, 6) ? in(n, 6) : (MlirValue){NULL},
                    onnx_has_in(n, 7) ? in(n, 7) : (MlirValue){NULL}};
  MlirValue acc = onnx_expand1(n, "MatMulInteger", 13, 4, v, NULL, 0);
  MlirNamedAttribute to = onnx_xattr_int(n, "to", 1 /* FLOAT */);
  MlirValue f = onnx_expand1(n, "Cast", 13, 1, &acc, &to, 1);
  return onnx_expand2(n, "Add", onnx_expand2(n, "Mul", f, onnx_expand2(n, "Mul", in(n, 3), in(n, 4))), in(n, 2));
}

/* Attention (num_heads, unidirectional, qkv_hidden_sizes,
 * mask_filter_value, scale): input, weights, bias, mask_index, past,
 * attention_bias -> output, present. */
static int rule_ms_attention(onnx_node *n, MlirValue *res) {
  static const packed_attention at = {3, 4, 5};
  if (!onnx_need_inputs(n, "xx----")) return -1;
  return packed_qkv_attention(n, &at, float_projection, res);
}

/* QAttention (ORT's quantize_dynamic of Attention): input (8-bit codes),
 * weight (8-bit codes), bias, input_scale, weight_scale, mask_index,
 * input_zero_point, weight_zero_point, past -> output, present. */
static int rule_qattention(onnx_node *n, MlirValue *res) {
  static const packed_attention at = {5, 8, -1};
  if (!onnx_need_inputs(n, "xxxxx----")) return -1;
  return packed_qkv_attention(n, &at, integer_projection, res);
}

/* MultiHeadAttention (num_heads, mask_filter_value, scale, unidirectional):
 * query [B, S, D]; key / value [B, L, D] (BSNH) or [B, N, L, H] (BNSH,
 * bias not added to them, as ORT does); bias, key_padding_mask,
 * attention_bias, past_key, past_value -> output, present_key,
 * present_value. */
static int rule_multihead_attention(onnx_node *n, MlirValue *res) {
  qcc_shape qs, ks, vs;
  if (!onnx_need_inputs(n, "xxx-----") || !onnx_in_shape(n, 0, &qs) || !onnx_in_shape(n, 1, &ks) ||
      !onnx_in_shape(n, 2, &vs))
    return -1;
  if (onnx_out_used(n, 3)) return onnx_fail(n, "output qk is not supported");
  const int64_t N = onnx_attr_int(n, "num_heads", 0);
  if (qs.rank != 3) return onnx_fail(n, "query must be [B, S, D] (packed QKV is not supported)");
  if (ks.rank != vs.rank || (ks.rank != 3 && ks.rank != 4))
    return onnx_fail(n, "key and value must both be [B, L, D] or both [B, N, L, H] (packed KV is not supported)");
  if (N < 1 || qs.dims[2] % N) return onnx_fail(n, "num_heads %lld does not divide the hidden size %lld", (long long)N,
                                                (long long)qs.dims[2]);
  const bool bnsh = ks.rank == 4;
  const int64_t B = qs.dims[0], S = qs.dims[1], H = qs.dims[2] / N, L = bnsh ? ks.dims[2] : ks.dims[1];
  const int64_t Dv = bnsh ? vs.dims[1] * vs.dims[3] : vs.dims[2];
  if (bnsh && onnx_has_in(n, 6)) return onnx_fail(n, "past_key goes with 3-D key and value only");
  if (onnx_has_in(n, 6) != onnx_has_in(n, 7)) return onnx_fail(n, "past_key and past_value go together");
  int64_t P = 0;
  if (onnx_has_in(n, 6)) {
    qcc_shape ps;
    if (!onnx_in_shape(n, 6, &ps)) return -1;
    if (ps.rank != 4) return onnx_fail(n, "past_key must be [B, N, P, H]");
    P = ps.dims[2];
  }
  MlirValue q = in(n, 0), k = in(n, 1), v = in(n, 2);
  if (onnx_has_in(n, 3)) {
    qcc_shape bs;
    if (!onnx_in_shape(n, 3, &bs)) return -1;
    const int64_t Dk = bnsh ? 0 : ks.dims[2];
    if (bs.rank != 1 || bs.dims[0] != qs.dims[2] + (bnsh ? qs.dims[2] + Dv : Dk + Dv))
      return onnx_fail(n, "bias must hold the Q, K and V hidden sizes' values");
    q = onnx_expand2(n, "Add", q, slice(n, in(n, 3), 0, 0, qs.dims[2]));
    if (!bnsh) {
      k = onnx_expand2(n, "Add", k, slice(n, in(n, 3), 0, qs.dims[2], qs.dims[2] + Dk));
      v = onnx_expand2(n, "Add", v, slice(n, in(n, 3), 0, qs.dims[2] + Dk, qs.dims[2] + Dk + Dv));
    }
  }
  MlirValue bias = {NULL};
  const double filter = onnx_attr_float(n, "mask_filter_value", -10000.0);
  if (onnx_has_in(n, 4) && key_mask_bias(n, 4, B, S, P + L, filter, false, &bias)) return -1;
  bias = add_bias(n, bias, 5);
  if (bnsh) { /* the default Attention takes Q, K, V all 4-D: Q to BNSH and the output back */
    const int64_t split[4] = {B, S, N, H}, perm[4] = {0, 2, 1, 3};
    MlirNamedAttribute p = onnx_xattr_ints(n, "perm", perm, 4);
    MlirValue qr = reshape(n, q, split, 4);
    q = onnx_expand1(n, "Transpose", 13, 1, &qr, &p, 1);
  }
  MlirValue y[3], none = {NULL};
  if (attention23(n, q, k, v, bias, onnx_has_in(n, 6) ? in(n, 6) : none, onnx_has_in(n, 7) ? in(n, 7) : none, N,
                  !bnsh, y))
    return -1;
  if (bnsh) {
    const int64_t perm[4] = {0, 2, 1, 3}, flat[3] = {B, S, Dv};
    MlirNamedAttribute p = onnx_xattr_ints(n, "perm", perm, 4);
    y[0] = reshape(n, onnx_expand1(n, "Transpose", 13, 1, &y[0], &p, 1), flat, 3);
  }
  res[0] = y[0];
  res[1] = y[1];
  res[2] = y[2];
  return 0;
}

/* RotaryEmbedding (interleaved, num_heads, rotary_embedding_dim): input
 * [B, S, D] or [B, N, S, H], position_ids (one offset: positions p0 + s;
 * or [B, S]), cos_cache, sin_cache [M, R/2]. Without
 * rotary_embedding_dim, ONNX Runtime takes the head size as twice the
 * cache's width. */
static int rule_ms_rotary(onnx_node *n, MlirValue *res) {
  qcc_shape xs, ps, cs;
  if (!onnx_need_inputs(n, "xxxx") || !onnx_in_shape(n, 0, &xs) || !onnx_in_shape(n, 1, &ps) ||
      !onnx_in_shape(n, 2, &cs))
    return -1;
  if ((xs.rank != 3 && xs.rank != 4) || cs.rank != 2) return onnx_fail(n, "input must be 3-D or 4-D and the caches 2-D");
  const int64_t R = onnx_attr_int(n, "rotary_embedding_dim", 0);
  int64_t heads = onnx_attr_int(n, "num_heads", 0);
  const int64_t B = xs.dims[0], S = xs.dims[xs.rank == 3 ? 1 : 2];
  if (B < 1 || S < 1) return onnx_fail(n, "empty input: batch %lld, %lld positions", (long long)B, (long long)S);
  if (xs.rank == 3 && heads == 0 && R == 0) heads = cs.dims[1] > 0 ? xs.dims[2] / (2 * cs.dims[1]) : 0;
  if (xs.rank == 3 && (heads < 1 || xs.dims[2] % heads)) return onnx_fail(n, "num_heads does not split the hidden size");
  const int64_t H = xs.rank == 3 ? xs.dims[2] / heads : xs.dims[3];
  if (R == 0 ? 2 * cs.dims[1] != H : 2 * cs.dims[1] != R)
    return onnx_fail(n, "the caches must be [M, %lld] (half the rotated dims)", (long long)((R ? R : H) / 2));
  MlirValue pos = in(n, 1);
  if (qcc_shape_numel(&ps) == 1) { /* an offset: positions p0 + s for every batch entry */
    MlirValue steps = arange(n, QRT_I64, S, 2, 1); /* [1, S] */
    const int64_t one[2] = {1, 1}, bs[2] = {B, S};
    pos = onnx_expand2(n, "Expand", onnx_expand2(n, "Add", reshape(n, in(n, 1), one, 2), steps), ints(n, bs, 2));
  } else if (ps.rank != 2 || ps.dims[0] != B || ps.dims[1] != S) {
    return onnx_fail(n, "position_ids must be one offset or [%lld, %lld]", (long long)B, (long long)S);
  }
  MlirNamedAttribute attrs[3];
  int k = 0;
  attrs[k++] = onnx_xattr_int(n, "interleaved", onnx_attr_int(n, "interleaved", 0));
  if (R) attrs[k++] = onnx_xattr_int(n, "rotary_embedding_dim", R);
  if (xs.rank == 3) attrs[k++] = onnx_xattr_int(n, "num_heads", heads);
  MlirValue v[4] = {in(n, 0), in(n, 2), in(n, 3), pos};
  res[0] = onnx_expand1(n, "RotaryEmbedding", 23, 4, v, attrs, k);
  return mlirValueIsNull(res[0]) ? -1 : 0;
}

static MlirValue i32(onnx_node *n, int64_t v) { return onnx_scalar(n, QRT_I32, (double)v); }

/* [B, S, heads * H] -> [B, heads, S, H]. */
static MlirValue to_bnsh(onnx_node *n, MlirValue x, int64_t B, int64_t S, int64_t heads, int64_t H) {
  const int64_t split[4] = {B, S, heads, H}, perm[4] = {0, 2, 1, 3};
  MlirNamedAttribute p = onnx_xattr_ints(n, "perm", perm, 4);
  MlirValue r = reshape(n, x, split, 4);
  return onnx_expand1(n, "Transpose", 13, 1, &r, &p, 1);
}

/* x [B, h, len, H] padded with zero rows to `to` rows. */
static MlirValue pad_rows(onnx_node *n, MlirValue x, int64_t len, int64_t to) {
  if (to == len) return x;
  const int64_t pads[8] = {0, 0, 0, 0, 0, 0, to - len, 0};
  MlirValue v[2] = {x, ints(n, pads, 8)};
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
    k = slice(n, q, 2, N * H, (N + NKV) * H);
    v = slice(n, q, 2, (N + NKV) * H, (N + 2 * NKV) * H);
    q = slice(n, q, 2, 0, N * H);
  }
  q = to_bnsh(n, q, B, S, N, H);
  k = to_bnsh(n, k, B, S, NKV, H);
  v = to_bnsh(n, v, B, S, NKV, H);

  /* total_b and c_b, [B, 1, 1, 1] */
  const int64_t col[4] = {B, 1, 1, 1};
  MlirValue tb = reshape(n, onnx_expand2(n, "Add", in(n, 5), i32(n, 1)), col, 4);
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
      pos = slice(n, in(n, 9), 1, 0, S);
    } else {
      MlirValue base = i32(n, 0); /* int32: the first position */
      if (!first) {
        base = reshape(n, cb, bcol, 2);
      } else if (onnx_has_in(n, 9)) { /* ONNX Runtime reads position_ids[0] alone */
        MlirValue p0 = slice(n, slice(n, in(n, 9), 0, 0, 1), 1, 0, 1);
        base = onnx_expand1(n, "Cast", 13, 1, &p0, &to32, 1);
      }
      MlirValue p32 = onnx_expand2(n, "Add", base, reshape(n, arange(n, QRT_I32, S, 4, 3), row, 2));
      pos = onnx_expand2(n, "Expand", onnx_expand1(n, "Cast", 13, 1, &p32, &to64, 1), ints(n, bs, 2));
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
    MlirValue r = arange(n, QRT_I32, PL, 4, 2); /* [1, 1, PL, 1] */
    MlirValue idx = onnx_expand2(n, "Sub", r, cb);
    MlirValue lo_hi[3] = {idx, i32(n, 0), i32(n, S - 1)};
    idx = onnx_expand1(n, "Clip", 13, 3, lo_hi, NULL, 0);
    const int64_t full[4] = {B, NKV, PL, H};
    MlirNamedAttribute to64 = onnx_xattr_int(n, "to", 7);
    idx = onnx_expand1(n, "Cast", 13, 1, &idx, &to64, 1);
    idx = onnx_expand2(n, "Expand", idx, ints(n, full, 4));
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
  MlirValue i1 = onnx_expand2(n, "Add", arange(n, QRT_I32, S, 4, 2), i32(n, 1));
  MlirValue L = onnx_expand2(n, "Min", onnx_expand2(n, "Add", cb, i1), tb);
  MlirValue j = arange(n, QRT_I32, PL, 4, 3);
  MlirValue keep = onnx_expand2(n, "Less", j, L);
  const int64_t W = onnx_attr_int(n, "local_window_size", -1);
  if (W >= 0) keep = onnx_expand2(n, "And", keep, onnx_expand2(n, "GreaterOrEqual", j, onnx_expand2(n, "Sub", L, i32(n, W))));
  MlirValue bias = where(n, keep, -INFINITY);
  if (onnx_has_in(n, 10)) {
    qcc_shape as;
    if (!onnx_in_shape(n, 10, &as)) return -1;
    if (as.rank != 4 || as.dims[3] != T) return onnx_fail(n, "attention_bias must be [B or 1, N or 1, S, %lld]", (long long)T);
    const int64_t pads[8] = {0, 0, 0, 0, 0, 0, 0, PL - T};
    MlirValue pv[2] = {in(n, 10), ints(n, pads, 8)};
    bias = onnx_expand2(n, "Add", bias, PL > T ? onnx_expand1(n, "Pad", 13, 2, pv, NULL, 0) : in(n, 10));
  }
  MlirNamedAttribute attrs[3];
  int na = 0;
  const double scale = onnx_attr_float(n, "scale", 0.0), softcap = onnx_attr_float(n, "softcap", 0.0);
  if (scale != 0.0) attrs[na++] = onnx_xattr_float(n, "scale", scale);
  if (softcap != 0.0) attrs[na++] = onnx_xattr_float(n, "softcap", softcap);
  MlirValue av[4] = {q, present[0], present[1], bias};
  MlirValue y = onnx_expand1(n, "Attention", 23, 4, av, attrs, na);
  const int64_t perm[4] = {0, 2, 1, 3}, flat[3] = {B, S, N * H};
  MlirNamedAttribute p = onnx_xattr_ints(n, "perm", perm, 4);
  res[0] = reshape(n, onnx_expand1(n, "Transpose", 13, 1, &y, &p, 1), flat, 3);
  res[1] = present[0];
  res[2] = present[1];
  return mlirValueIsNull(res[0]) ? -1 : 0;
}

const onnx_rule onnx_rules_contrib_attention[] = {
    {"com.microsoft.GroupQueryAttention", rule_group_query_attention},
    {"com.microsoft.Attention", rule_ms_attention},
    {"com.microsoft.QAttention", rule_qattention},
    {"com.microsoft.MultiHeadAttention", rule_multihead_attention},
    {"com.microsoft.RotaryEmbedding", rule_ms_rotary},
    {"com.microsoft.EmbedLayerNormalization", rule_embed_layernorm},
    {NULL, NULL},
};
