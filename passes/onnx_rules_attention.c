/* onnx_rules_attention.c - opset 23's transformer ops, written as the q ops
 * of the chains that models exported below opset 23 spell out, so that
 * every later pass (fuse-attention, attention scales, rotation through
 * heads, KV caches) sees the form it already knows:
 *
 *   Attention        Q K^T, times the scale, softcap, plus the mask and
 *                    causal biases, softmax, times V; 3-D inputs split into
 *                    heads and back; GQA by repeating each key/value head
 *                    (Expand + Reshape, as torch exports repeat_kv); past
 *                    keys and values concatenated in front (present_*).
 *   RotaryEmbedding  RoPE on the first rotary_embedding_dim channels of each
 *                    head: halves or interleaved pairs, cos/sin caches read
 *                    directly or gathered by position_ids.
 *
 * Attention computes (Q K^T) * scale where the specification scales Q and
 * K by sqrt(scale) each (to keep fp16 products in range): the same real
 * number, rounded differently in float32 (test/import/opset23.test holds
 * both within 1e-6 of the output range of a float64 reference). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_rules.h"

static MlirValue transpose(onnx_node *n, MlirValue x, const qcc_shape *xs, const int64_t *perm, qcc_shape *ys) {
  q_transpose_attrs a;
  a.perm.n = xs->rank;
  *ys = *xs;
  for (int i = 0; i < xs->rank; i++) {
    a.perm.v[i] = perm[i];
    ys->dims[i] = xs->dims[perm[i]];
  }
  return onnx_emit(n, q_transpose_create(n->loc, onnx_type(n, ys), x, &a));
}

static MlirValue concat2(onnx_node *n, MlirValue a, MlirValue b, const qcc_shape *y, int64_t axis) {
  MlirValue ins[2] = {a, b};
  q_concat_attrs c = {axis};
  return onnx_emit(n, q_concat_create(n->loc, onnx_type(n, y), ins, 2, &c));
}

/* [B, S, H*D] -> [B, H, S, D] (*s is updated). */
static MlirValue split_heads(onnx_node *n, MlirValue x, qcc_shape *s, int64_t heads) {
  qcc_shape v = {s->dtype, 4, {s->dims[0], s->dims[1], heads, s->dims[2] / heads}};
  const int64_t perm[4] = {0, 2, 1, 3};
  return transpose(n, onnx_reshape(n, x, &v), &v, perm, s);
}

/* [B, KVH, T, D] -> [B, KVH * G, T, D], each head repeated G times in a
 * row (head h reads key/value head h / G). */
static MlirValue repeat_heads(onnx_node *n, MlirValue x, qcc_shape *s, int64_t g) {
  if (g == 1) return x;
  qcc_shape one = {s->dtype, 5, {s->dims[0], s->dims[1], 1, s->dims[2], s->dims[3]}};
  qcc_shape wide = one;
  wide.dims[2] = g;
  MlirValue v = onnx_emit(n, q_broadcast_create(n->loc, onnx_type(n, &wide), onnx_reshape(n, x, &one)));
  s->dims[1] *= g;
  return onnx_reshape(n, v, s);
}

/* Whether query i may see key j under the causal frontier and the
 * windows (opset 25; -1: unbounded), the query's absolute position being
 * i + off (off: the keys before the query block). */
static bool allowed(int64_t i, int64_t j, int64_t off, bool causal, int64_t left, int64_t right) {
  const int64_t p = i + off;
  return (!causal || j <= p) && (left < 0 || j >= p - left) && (right < 0 || j <= p + right);
}

/* Whether some query row, under a constant mask (bool, or float biases;
 * NULL: none) and the frontier above, lets no key through: then its
 * softmax has nothing to normalise. m's last two dims are [S or 1, T or 1]
 * (right-aligned; absent ones are 1). */
static bool blocks_a_row(const qcc_array *m, int64_t S, int64_t T, int64_t off, bool causal, int64_t left,
                         int64_t right) {
  const int64_t mt = m && m->rank >= 1 ? m->dims[m->rank - 1] : 1, ms = m && m->rank >= 2 ? m->dims[m->rank - 2] : 1;
  const int64_t rows = m ? (int64_t)(m->nbytes / qcc_dtype_size(m->dtype)) / mt : 1;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t i = 0; i < S; i++) {
      if (ms > 1 && r % ms != i) continue;
      bool any = false;
      for (int64_t j = 0; j < T && !any; j++) {
        if (!allowed(i, j, off, causal, left, right)) continue;
        const int64_t at = r * mt + (mt > 1 ? j : 0);
        any = !m || (m->dtype == QRT_BOOL ? ((const uint8_t *)m->data)[at] != 0
                                          : ((const float *)m->data)[at] != -INFINITY);
      }
      if (!any) return true;
    }
  return false;
}

/* The frontier's bias [S, T]: 0 where allowed, else -inf. */
static MlirValue frontier_bias(onnx_node *n, int64_t S, int64_t T, int64_t off, bool causal, int64_t left,
                               int64_t right) {
  float *b = malloc(sizeof(float) * (size_t)(S * T));
  for (int64_t i = 0; i < S; i++)
    for (int64_t j = 0; j < T; j++) b[i * T + j] = allowed(i, j, off, causal, left, right) ? 0.0f : -INFINITY;
  qcc_array a = {QRT_F32, 2, {S, T}, b, sizeof(float) * (size_t)(S * T)};
  MlirValue v = onnx_constant(n, &a);
  free(b);
  return v;
}

/* The int64 constant [rows, cols] holding j - step * i at (i, j): the
 * key index minus the query index (step 1), or the key index (one row). */
static MlirValue key_offsets(onnx_node *n, int64_t rows, int64_t cols, int64_t step) {
  int64_t *v = malloc(sizeof(int64_t) * (size_t)(rows * cols));
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++) v[i * cols + j] = j - step * i;
  qcc_array a = {QRT_I64, 2, {rows, cols}, v, sizeof(int64_t) * (size_t)(rows * cols)};
  MlirValue c = onnx_constant(n, &a);
  free(v);
  return c;
}

/* The bias [B, 1, S, T] of an external cache (opset 24's
 * nonpad_kv_seqlen [B]): batch b's keys j < nonpad[b] only, its query
 * block after nonpad[b] - S keys (the causal and window frontiers' offset,
 * so each depends on b). */
static MlirValue nonpad_bias(onnx_node *n, int64_t B, int64_t S, int64_t T, bool causal, int64_t left, int64_t right,
                             qcc_shape *out) {
  qcc_shape bs = {QRT_I64, 4, {B, 1, 1, 1}}, ok = {QRT_BOOL, 4, {B, 1, S, T}}, keys = {QRT_BOOL, 4, {B, 1, 1, T}};
  MlirValue len = onnx_reshape(n, onnx_in(n, 6), &bs);
  MlirValue d = key_offsets(n, S, T, 1), j = key_offsets(n, 1, T, 0);
  MlirValue off = onnx_binary(n, "sub", len, onnx_scalar(n, QRT_I64, (double)S), &bs);
  MlirValue all = onnx_binary(n, "less", j, len, &keys);
  if (causal || left >= 0 || right >= 0) keys = ok; /* the result's shape */
  if (causal) all = onnx_binary(n, "and", all, onnx_binary(n, "less_equal", d, off, &ok), &ok);
  if (left >= 0) {
    MlirValue lo = onnx_binary(n, "sub", off, onnx_scalar(n, QRT_I64, (double)left), &bs);
    all = onnx_binary(n, "and", all, onnx_binary(n, "greater_equal", d, lo, &ok), &ok);
  }
  if (right >= 0) {
    MlirValue hi = onnx_binary(n, "add", off, onnx_scalar(n, QRT_I64, (double)right), &bs);
    all = onnx_binary(n, "and", all, onnx_binary(n, "less_equal", d, hi, &ok), &ok);
  }
  *out = keys;
  out->dtype = QRT_F32;
  return onnx_where(n, all, onnx_scalar(n, QRT_F32, 0.0), onnx_scalar(n, QRT_F32, -INFINITY), out);
}

/* Attention (opsets 23 to 25). */
static int rule_attention(onnx_node *n, MlirValue *res) {
  qcc_shape qs, ks, vs;
  if (!onnx_in_shape(n, 0, &qs) || !onnx_in_shape(n, 1, &ks) || !onnx_in_shape(n, 2, &vs)) return -1;
  if (qs.dtype != QRT_F32 || ks.dtype != QRT_F32 || vs.dtype != QRT_F32)
    return onnx_fail(n, "Q, K and V must be float32 (element types %s, %s, %s)", qcc_dtype_name(qs.dtype),
                     qcc_dtype_name(ks.dtype), qcc_dtype_name(vs.dtype));
  if (qs.rank != ks.rank || qs.rank != vs.rank || (qs.rank != 3 && qs.rank != 4))
    return onnx_fail(n, "Q, K and V must all be 3-D or all 4-D (ranks %d, %d, %d)", qs.rank, ks.rank, vs.rank);
  if (onnx_has_attr(n, "softmax_precision") && onnx_attr_int(n, "softmax_precision", 1) != 1)
    return onnx_fail(n, "softmax_precision %lld is not supported (float32 only)",
                     (long long)onnx_attr_int(n, "softmax_precision", 1));
  const int64_t mode = onnx_attr_int(n, "qk_matmul_output_mode", 0);
  if (mode < 0 || mode > 3) return onnx_fail(n, "qk_matmul_output_mode %lld is not 0, 1, 2 or 3", (long long)mode);
  if (onnx_has_in(n, 4) != onnx_has_in(n, 5)) return onnx_fail(n, "past_key and past_value must be given together");
  const bool nonpad = n->n_in > 6 && onnx_has_in(n, 6);
  if (nonpad && onnx_has_in(n, 4))
    return onnx_fail(n, "nonpad_kv_seqlen (an external cache) and past_key (a cache inside the op) exclude each other");
  const int64_t left = onnx_attr_int(n, "left_window_size", -1), right = onnx_attr_int(n, "right_window_size", -1);
  const bool three_d = qs.rank == 3;
  MlirValue q = onnx_in(n, 0), k = onnx_in(n, 1), v = onnx_in(n, 2);
  int64_t qh, kvh;
  if (three_d) {
    qh = onnx_attr_int(n, "q_num_heads", 0);
    kvh = onnx_attr_int(n, "kv_num_heads", 0);
    if (qh < 1 || kvh < 1) return onnx_fail(n, "3-D inputs need the q_num_heads and kv_num_heads attributes");
    if (qs.dims[2] % qh || ks.dims[2] % kvh || vs.dims[2] % kvh)
      return onnx_fail(n, "hidden sizes %lld, %lld, %lld do not split into %lld query and %lld key/value heads",
                       (long long)qs.dims[2], (long long)ks.dims[2], (long long)vs.dims[2], (long long)qh, (long long)kvh);
    q = split_heads(n, q, &qs, qh);
    k = split_heads(n, k, &ks, kvh);
    v = split_heads(n, v, &vs, kvh);
  } else {
    qh = qs.dims[1];
    kvh = ks.dims[1];
  }
  const int64_t B = qs.dims[0], S = qs.dims[2], D = qs.dims[3], DV = vs.dims[3];
  if (ks.dims[0] != B || vs.dims[0] != B || vs.dims[1] != kvh || ks.dims[3] != D || vs.dims[2] != ks.dims[2])
    return onnx_fail(n, "K [%lld, %lld, %lld, %lld] and V [%lld, %lld, %lld, %lld] do not match Q's batch %lld and head "
                        "size %lld",
                     (long long)ks.dims[0], (long long)ks.dims[1], (long long)ks.dims[2], (long long)ks.dims[3],
                     (long long)vs.dims[0], (long long)vs.dims[1], (long long)vs.dims[2], (long long)vs.dims[3],
                     (long long)B, (long long)D);
  if (qh < 1 || kvh < 1 || D < 1 || S < 1 || ks.dims[2] < 1)
    return onnx_fail(n, "empty attention: %lld query and %lld key/value heads, %lld queries of size %lld, %lld keys",
                     (long long)qh, (long long)kvh, (long long)S, (long long)D, (long long)ks.dims[2]);
  if (qh % kvh) return onnx_fail(n, "%lld query heads are not a multiple of %lld key/value heads", (long long)qh, (long long)kvh);
  int64_t past = 0;
  if (onnx_has_in(n, 4)) {
    qcc_shape pk, pv;
    if (!onnx_in_shape(n, 4, &pk) || !onnx_in_shape(n, 5, &pv)) return -1;
    if (pk.rank != 4 || pv.rank != 4 || pk.dims[0] != B || pk.dims[1] != kvh || pk.dims[3] != D || pv.dims[0] != B ||
        pv.dims[1] != kvh || pv.dims[2] != pk.dims[2] || pv.dims[3] != DV || pk.dtype != QRT_F32 || pv.dtype != QRT_F32)
      return onnx_fail(n, "past_key / past_value must be float32 [%lld, %lld, P, %lld] / [.., P, %lld]", (long long)B,
                       (long long)kvh, (long long)D, (long long)DV);
    past = pk.dims[2];
    ks.dims[2] += past;
    vs.dims[2] += past;
    k = concat2(n, onnx_in(n, 4), k, &ks, 2);
    v = concat2(n, onnx_in(n, 5), v, &vs, 2);
  }
  const int64_t T = ks.dims[2];
  res[1] = k;
  res[2] = v;
  k = repeat_heads(n, k, &ks, qh / kvh);
  v = repeat_heads(n, v, &vs, qh / kvh);

  qcc_shape kt, ss;
  const int64_t swap[4] = {0, 1, 3, 2};
  MlirValue s;
  if (onnx_emit_matmul(n, q, &qs, transpose(n, k, &ks, swap, &kt), &kt, &s)) return -1;
  qcc_shape_of(s, &ss);
  const double scale = onnx_has_attr(n, "scale") ? onnx_attr_float(n, "scale", 1.0) : 1.0 / sqrt((double)D);
  s = onnx_binary(n, "mul", s, onnx_scalar(n, QRT_F32, scale), &ss);
  MlirValue qk[4];
  qk[0] = s;
  const double softcap = onnx_attr_float(n, "softcap", 0.0);
  if (softcap != 0) {
    MlirValue t = onnx_unary(n, "tanh", onnx_binary(n, "div", s, onnx_scalar(n, QRT_F32, softcap), &ss), &ss, 0, 0);
    s = onnx_binary(n, "mul", t, onnx_scalar(n, QRT_F32, softcap), &ss);
  }
  qk[1] = s;

  /* The additive bias: the mask's (bool: 0 or -inf) plus the frontier's
   * (causal, windows, an external cache's length). */
  const bool causal = onnx_attr_int(n, "is_causal", 0) != 0;
  if (nonpad) {
    qcc_shape ns;
    if (!onnx_in_shape(n, 6, &ns)) return -1;
    if (ns.dtype != QRT_I64 || qcc_shape_numel(&ns) != B)
      return onnx_fail(n, "nonpad_kv_seqlen must be int64 [%lld]", (long long)B);
  }
  MlirValue bias = {NULL};
  qcc_shape bs = {QRT_F32, 2, {S, T}};
  bool guard = nonpad; /* some query row may let no key through */
  if (onnx_has_in(n, 3)) {
    qcc_shape ms, bshape;
    if (!onnx_in_shape(n, 3, &ms)) return -1;
    if (ms.dtype != QRT_BOOL && ms.dtype != QRT_F32)
      return onnx_fail(n, "attn_mask must be bool or float32 (element type %s)", qcc_dtype_name(ms.dtype));
    if (ms.rank > 4 || !onnx_broadcast_shape(n, &ms, &ss, &bshape) || bshape.rank != 4 ||
        memcmp(bshape.dims, ss.dims, sizeof(int64_t) * 4))
      return onnx_fail(n, "attn_mask does not broadcast to the scores [%lld, %lld, %lld, %lld]", (long long)B,
                       (long long)qh, (long long)S, (long long)T);
    bias = onnx_in(n, 3);
    bs = ms;
    bs.dtype = QRT_F32;
    if (ms.dtype == QRT_BOOL)
      bias = onnx_where(n, bias, onnx_scalar(n, QRT_F32, 0.0), onnx_scalar(n, QRT_F32, -INFINITY), &bs);
    qcc_array c;
    if (!nonpad && onnx_const_input(n, 3, &c)) {
      guard = blocks_a_row(&c, S, T, past, causal, left, right);
      qcc_array_free(&c);
    } else {
      guard = true;
    }
  } else if (!nonpad) {
    guard = blocks_a_row(NULL, S, T, past, causal, left, right);
  }
  /* An expansion of ONNX Runtime's attention ops (onnx_rules_contrib_attention.c)
   * has no fully-masked-row rule: its masks are finite biases. */
  if (onnx_attr_int(n, "qcc.no_masked_row_rule", 0)) guard = false;
  if (nonpad || causal || left >= 0 || right >= 0) {
    qcc_shape fs = {QRT_F32, 2, {S, T}}, both;
    MlirValue frame = nonpad ? nonpad_bias(n, B, S, T, causal, left, right, &fs)
                             : frontier_bias(n, S, T, past, causal, left, right);
    if (mlirValueIsNull(bias)) {
      bias = frame;
      bs = fs;
    } else {
      if (!onnx_broadcast_shape(n, &bs, &fs, &both)) return -1;
      both.dtype = QRT_F32;
      bias = onnx_binary(n, "add", bias, frame, &both);
      bs = both;
    }
  }
  if (!mlirValueIsNull(bias)) s = onnx_binary(n, "add", s, bias, &ss);
  qk[2] = s;

  q_softmax_attrs sa = {ss.rank - 1, 0};
  MlirValue p = onnx_emit(n, q_softmax_create(n->loc, onnx_type(n, &ss), s, &sa));
  qcc_shape ys;
  MlirValue y;
  if (onnx_emit_matmul(n, p, &ss, v, &vs, &y)) return -1;
  qcc_shape_of(y, &ys);
  qk[3] = p;
  if (guard) {
    /* A row whose every key is masked gives zeros, not softmax's NaN
     * (the specification's fully-masked-row rule). */
    qcc_shape rs = bs, okshape;
    rs.dims[rs.rank - 1] = 1;
    q_i64s last = {1, {rs.rank - 1}};
    MlirValue most = onnx_reduce(n, "max", bias, &last, &rs);
    okshape = rs;
    okshape.dtype = QRT_BOOL;
    MlirValue ok = onnx_binary(n, "greater", most, onnx_scalar(n, QRT_F32, -INFINITY), &okshape);
    MlirValue zero = onnx_scalar(n, QRT_F32, 0.0);
    y = onnx_where(n, ok, y, zero, &ys);
    if (onnx_out_used(n, 3) && mode == 3) qk[3] = onnx_where(n, ok, p, zero, &ss);
  }
  if (three_d) {
    const int64_t perm[4] = {0, 2, 1, 3};
    qcc_shape t, flat = {QRT_F32, 3, {B, S, qh * DV}};
    y = onnx_reshape(n, transpose(n, y, &ys, perm, &t), &flat);
  }
  res[0] = y;
  res[3] = qk[mode];
  return 0;
}

/* RotaryEmbedding (opset 23): X [B, H, S, D], or [B, S, H * D] with
 * num_heads; cos/sin [B, S, R/2], or [P, R/2] read at position_ids
 * [B, S]. Channels [0, R) of each head rotate, R = rotary_embedding_dim
 * (0: D): pairs (c, c + R/2), or (2c, 2c + 1) when interleaved, become
 * (cos x1 - sin x2, sin x1 + cos x2). */
static int rule_rotary(onnx_node *n, MlirValue *res) {
  qcc_shape xs, cs, ss;
  if (!onnx_in_shape(n, 0, &xs) || !onnx_in_shape(n, 1, &cs) || !onnx_in_shape(n, 2, &ss)) return -1;
  if (xs.dtype != QRT_F32 || cs.dtype != QRT_F32 || ss.dtype != QRT_F32)
    return onnx_fail(n, "input, cos_cache and sin_cache must be float32");
  if (xs.rank != 3 && xs.rank != 4) return onnx_fail(n, "input must be 3-D or 4-D (rank %d)", xs.rank);
  MlirValue x = onnx_in(n, 0);
  qcc_shape hs = xs; /* the heads view: [B, H, S, D] or [B, S, H, D] */
  int s_axis = 2;    /* where the sequence is in hs */
  if (xs.rank == 3) {
    const int64_t heads = onnx_attr_int(n, "num_heads", 0);
    if (heads < 1 || xs.dims[2] % heads)
      return onnx_fail(n, "a 3-D input needs num_heads dividing its hidden size %lld", (long long)xs.dims[2]);
    hs = (qcc_shape){QRT_F32, 4, {xs.dims[0], xs.dims[1], heads, xs.dims[2] / heads}};
    x = onnx_reshape(n, x, &hs);
    s_axis = 1;
  }
  const int64_t B = hs.dims[0], S = hs.dims[s_axis], D = hs.dims[3];
  int64_t R = onnx_attr_int(n, "rotary_embedding_dim", 0);
  if (R == 0) R = D;
  if (R < 2 || R > D || R % 2) return onnx_fail(n, "rotary_embedding_dim %lld must be even and at most the head size %lld",
                                                (long long)R, (long long)D);
  const int64_t half = R / 2;
  MlirValue cv = onnx_in(n, 1), sv = onnx_in(n, 2);
  qcc_shape tab = {QRT_F32, 3, {B, S, half}};
  if (onnx_has_in(n, 3)) {
    qcc_shape ps;
    if (!onnx_in_shape(n, 3, &ps)) return -1;
    if (ps.rank != 2 || ps.dims[0] != B || ps.dims[1] != S || (ps.dtype != QRT_I64 && ps.dtype != QRT_I32))
      return onnx_fail(n, "position_ids must be int64 [%lld, %lld]", (long long)B, (long long)S);
    if (cs.rank != 2 || ss.rank != 2 || cs.dims[1] != half || ss.dims[1] != half || ss.dims[0] != cs.dims[0])
      return onnx_fail(n, "with position_ids, cos_cache and sin_cache must be [max_position, %lld]", (long long)half);
    q_gather_attrs g = {0};
    cv = onnx_emit(n, q_gather_create(n->loc, onnx_type(n, &tab), cv, onnx_in(n, 3), &g));
    sv = onnx_emit(n, q_gather_create(n->loc, onnx_type(n, &tab), sv, onnx_in(n, 3), &g));
  } else if (cs.rank != 3 || ss.rank != 3 || memcmp(cs.dims, tab.dims, sizeof(int64_t) * 3) ||
             memcmp(ss.dims, tab.dims, sizeof(int64_t) * 3)) {
    return onnx_fail(n, "without position_ids, cos_cache and sin_cache must be [%lld, %lld, %lld]", (long long)B,
                     (long long)S, (long long)half);
  }
  /* the tables broadcast over heads: [B, 1, S, R/2] or [B, S, 1, R/2] */
  qcc_shape tb = {QRT_F32, 4, {B, 1, S, half}};
  if (s_axis == 1) tb.dims[1] = S, tb.dims[2] = 1;
  cv = onnx_reshape(n, cv, &tb);
  sv = onnx_reshape(n, sv, &tb);

  const bool interleaved = onnx_attr_int(n, "interleaved", 0) != 0;
  qcc_shape part = hs;
  part.dims[3] = half;
  int64_t st[4] = {0, 0, 0, 0}, step[4] = {1, 1, 1, 1};
  if (interleaved) step[3] = 2;
  MlirValue x1 = onnx_slice(n, x, &part, st, step);
  st[3] = interleaved ? 1 : half;
  MlirValue x2 = onnx_slice(n, x, &part, st, step);
  MlirValue re = onnx_binary(n, "sub", onnx_binary(n, "mul", cv, x1, &part), onnx_binary(n, "mul", sv, x2, &part), &part);
  MlirValue im = onnx_binary(n, "add", onnx_binary(n, "mul", sv, x1, &part), onnx_binary(n, "mul", cv, x2, &part), &part);
  qcc_shape rot = hs;
  rot.dims[3] = R;
  MlirValue y;
  if (interleaved) {
    qcc_shape pair = {QRT_F32, 5, {hs.dims[0], hs.dims[1], hs.dims[2], half, 1}}, pairs = pair;
    pairs.dims[4] = 2;
    y = onnx_reshape(n, concat2(n, onnx_reshape(n, re, &pair), onnx_reshape(n, im, &pair), &pairs, 4), &rot);
  } else {
    y = concat2(n, re, im, &rot, 3);
  }
  if (R < D) {
    qcc_shape rest = hs;
    rest.dims[3] = D - R;
    int64_t from[4] = {0, 0, 0, R};
    const int64_t ones[4] = {1, 1, 1, 1};
    y = concat2(n, y, onnx_slice(n, x, &rest, from, ones), &hs, 3);
  }
  res[0] = onnx_reshape(n, y, &xs);
  return 0;
}

const onnx_rule onnx_rules_attention[] = {
    {"Attention", rule_attention},
    {"RotaryEmbedding", rule_rotary},
    {NULL, NULL},
};
