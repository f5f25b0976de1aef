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
 * (GroupQueryAttention, with its own cache semantics: onnx_rules_contrib_gqa.c)
 *
 * The attention ops become the default-domain Attention (opset 23),
 * whose rule (onnx_rules_attention.c) builds the q chain fuse-attention
 * and rotate-heads know. ONNX Runtime masks a key by adding
 * mask_filter_value (-10000), a finite number: a row whose every key is
 * masked is the softmax of its scores, not zeros; the bias built here is
 * the same. Its causal rule (query i sees keys j <= past + i) is
 * Attention's is_causal. */
#include <string.h>

#include "onnx_rules.h"

static MlirValue in(onnx_node *n, int i) { return onnx_raw_in(n, i); }

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
    pos = onnx_xslice(n, in(n, 3), 0, 0, S);
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
      MlirValue v[2] = {count, onnx_xints(n, &axis, 1)};
      res[1] = onnx_expand1(n, "ReduceSum", 13, 2, v, &keep, 1);
    } else {
      const qcc_shape one = {QRT_I32, 1, {1}};
      MlirValue zero = onnx_reshape(n, onnx_scalar(n, QRT_I32, 0), &one);
      res[1] = onnx_expand2(n, "Expand", zero, onnx_xints(n, &ids.dims[0], 1));
    }
  }
  res[2] = sum;
  return mlirValueIsNull(res[0]) ? -1 : 0;
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
    MlirValue keys = onnx_xarange(n, QRT_I32, T, 2, 1); /* [1, T] */
    const int64_t col[2] = {B, 1};
    MlirValue end = onnx_xreshape(n, ms.dims[0] == B ? in(n, mi) : onnx_xslice(n, in(n, mi), 0, 0, B), col, 2);
    keep = onnx_expand2(n, "Less", keys, end);
    if (ms.dims[0] == 2 * B && B > 0) {
      MlirValue start = onnx_xreshape(n, onnx_xslice(n, in(n, mi), 0, B, 2 * B), col, 2);
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
  *out = onnx_xreshape(n, onnx_xkey_bias(n, keep, filter), dims, 4);
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
    past_k = onnx_xreshape(n, onnx_xslice(n, in(n, at->past), 0, 0, 1), one, 4);
    past_v = onnx_xreshape(n, onnx_xslice(n, in(n, at->past), 0, 1, 2), one, 4);
  }
  MlirValue qkv = project(n);
  MlirValue q = onnx_xslice(n, qkv, 2, 0, d[0]), k = onnx_xslice(n, qkv, 2, d[0], d[0] + d[1]);
  MlirValue v = onnx_xslice(n, qkv, 2, d[0] + d[1], d[0] + d[1] + d[2]);
  MlirValue bias = {NULL};
  const double filter = onnx_attr_float(n, "mask_filter_value", -10000.0);
  if (onnx_has_in(n, at->mask) && key_mask_bias(n, at->mask, B, S, P + S, filter, true, &bias)) return -1;
  if (at->attention_bias >= 0) bias = add_bias(n, bias, at->attention_bias);
  MlirValue y[3];
  if (attention23(n, q, k, v, bias, past_k, past_v, N, true, y)) return -1;
  res[0] = y[0];
  if (onnx_out_used(n, 1)) {
    const int64_t stacked[5] = {1, B, N, P + S, d[0] / N};
    MlirValue both[2] = {onnx_xreshape(n, y[1], stacked, 5), onnx_xreshape(n, y[2], stacked, 5)};
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
    q = onnx_expand2(n, "Add", q, onnx_xslice(n, in(n, 3), 0, 0, qs.dims[2]));
    if (!bnsh) {
      k = onnx_expand2(n, "Add", k, onnx_xslice(n, in(n, 3), 0, qs.dims[2], qs.dims[2] + Dk));
      v = onnx_expand2(n, "Add", v, onnx_xslice(n, in(n, 3), 0, qs.dims[2] + Dk, qs.dims[2] + Dk + Dv));
    }
  }
  MlirValue bias = {NULL};
  const double filter = onnx_attr_float(n, "mask_filter_value", -10000.0);
  if (onnx_has_in(n, 4) && key_mask_bias(n, 4, B, S, P + L, filter, false, &bias)) return -1;
  bias = add_bias(n, bias, 5);
  if (bnsh) { /* the default Attention takes Q, K, V all 4-D: Q to BNSH and the output back */
    const int64_t split[4] = {B, S, N, H}, perm[4] = {0, 2, 1, 3};
    MlirNamedAttribute p = onnx_xattr_ints(n, "perm", perm, 4);
    MlirValue qr = onnx_xreshape(n, q, split, 4);
    q = onnx_expand1(n, "Transpose", 13, 1, &qr, &p, 1);
  }
  MlirValue y[3], none = {NULL};
  if (attention23(n, q, k, v, bias, onnx_has_in(n, 6) ? in(n, 6) : none, onnx_has_in(n, 7) ? in(n, 7) : none, N,
                  !bnsh, y))
    return -1;
  if (bnsh) {
    const int64_t perm[4] = {0, 2, 1, 3}, flat[3] = {B, S, Dv};
    MlirNamedAttribute p = onnx_xattr_ints(n, "perm", perm, 4);
    y[0] = onnx_xreshape(n, onnx_expand1(n, "Transpose", 13, 1, &y[0], &p, 1), flat, 3);
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
    MlirValue steps = onnx_xarange(n, QRT_I64, S, 2, 1); /* [1, S] */
    const int64_t one[2] = {1, 1}, bs[2] = {B, S};
    pos = onnx_expand2(n, "Expand", onnx_expand2(n, "Add", onnx_xreshape(n, in(n, 1), one, 2), steps), onnx_xints(n, bs, 2));
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

const onnx_rule onnx_rules_contrib_attention[] = {
    {"com.microsoft.Attention", rule_ms_attention},
    {"com.microsoft.QAttention", rule_qattention},
    {"com.microsoft.MultiHeadAttention", rule_multihead_attention},
    {"com.microsoft.RotaryEmbedding", rule_ms_rotary},
    {"com.microsoft.EmbedLayerNormalization", rule_embed_layernorm},
    {NULL, NULL},
};
