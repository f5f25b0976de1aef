/* onnx_rules_contrib_attention.c - the transformer blocks ONNX Runtime's
 * optimizer fuses (domain com.microsoft), expanded into default-domain
 * ops (onnx_expand.c) as onnx_rules_contrib.c does for the simpler ones:
 *
 *   EmbedLayerNormalization  LayerNorm(word[ids] + pos[positions] (+ seg[segment ids]))
 *                            and the mask's per-row count of ones
 *
 * The attention ops become the default-domain Attention (opset 23),
 * whose rule (onnx_rules_attention.c) builds the q chain fuse-attention
 * and rotate-heads know. */
#include <string.h>

#include "onnx_rules.h"

static MlirValue in(onnx_node *n, int i) { return onnx_raw_in(n, i); }

static MlirValue op2(onnx_node *n, const char *type, MlirValue a, MlirValue b) {
  MlirValue ab[2] = {a, b};
  return onnx_expand1(n, type, 13, 2, ab, NULL, 0);
}

static MlirValue ints(onnx_node *n, const int64_t *v, int k) {
  qcc_array a = {QRT_I64, 1, {k}, (void *)v, sizeof(int64_t) * (size_t)k};
  return onnx_constant(n, &a);
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
  MlirValue sum = op2(n, "Gather", in(n, 2), in(n, 0));
  MlirValue pos;
  if (onnx_has_in(n, 8)) {
    pos = op2(n, "Gather", in(n, 3), in(n, 8));
  } else {
    const int64_t zero = 0, end = S;
    MlirValue v[3] = {in(n, 3), ints(n, &zero, 1), ints(n, &end, 1)};
    pos = onnx_expand1(n, "Slice", 13, 3, v, NULL, 0);
  }
  sum = op2(n, "Add", sum, pos);
  if (onnx_has_in(n, 1)) sum = op2(n, "Add", sum, op2(n, "Gather", in(n, 4), in(n, 1)));
  MlirNamedAttribute attrs[2] = {onnx_xattr_int(n, "axis", -1),
                                 onnx_xattr_float(n, "epsilon", onnx_attr_float(n, "epsilon", 1e-12))};
  MlirValue norm[3] = {sum, in(n, 5), in(n, 6)};
  res[0] = onnx_expand1(n, "LayerNormalization", 17, 3, norm, attrs, 2);
  if (onnx_out_used(n, 1)) {
    if (onnx_has_in(n, 7)) {
      MlirValue ones = op2(n, "Equal", in(n, 7), onnx_scalar(n, QRT_I32, 1));
      MlirNamedAttribute to = onnx_xattr_int(n, "to", 6 /* INT32 */);
      MlirValue count = onnx_expand1(n, "Cast", 13, 1, &ones, &to, 1);
      const int64_t axis = 1;
      MlirNamedAttribute keep = onnx_xattr_int(n, "keepdims", 0);
      MlirValue v[2] = {count, ints(n, &axis, 1)};
      res[1] = onnx_expand1(n, "ReduceSum", 13, 2, v, &keep, 1);
    } else {
      const qcc_shape one = {QRT_I32, 1, {1}};
      MlirValue zero = onnx_reshape(n, onnx_scalar(n, QRT_I32, 0), &one);
      res[1] = op2(n, "Expand", zero, ints(n, &ids.dims[0], 1));
    }
  }
  res[2] = sum;
  return mlirValueIsNull(res[0]) ? -1 : 0;
}

const onnx_rule onnx_rules_contrib_attention[] = {
    {"com.microsoft.EmbedLayerNormalization", rule_embed_layernorm},
    {NULL, NULL},
};
