/* fuse_conv_activation.c - the fuse-conv-activation pass: a float q.conv
 * or q.matmul whose only reader is a ReLU, LeakyReLU, Clip, SiLU or GELU
 * (q.unary relu / leaky_relu / clip / silu / gelu / gelu_tanh) takes that
 * activation into its epilogue (qcc.act = the unary's kind,
 * qcc.act_alpha, qcc.act_beta:
 * discardable attributes that codegen's lower_conv and lower_matmul read),
 * and the unary goes. The convolution and GEMM kernels apply
 * act(sum + bias) as each output is stored (runtime/qrt_conv.c,
 * qrt_matmul.c), with qrt_unary's float operations, so the result is
 * the same bits with one pass over the output and one kernel call fewer
 * (ResNet's and MobileNet's every conv is followed by one, as is the
 * first Linear of a ReLU MLP: nn.TransformerEncoderLayer's default; a
 * SwiGLU's gate projection its SiLU, BERT's and ViT's FFN its GELU,
 * GPT-2's its tanh GELU, YOLO's and EfficientNet's convs SiLU).
 *
 * It runs late, on what stays float after quantization: calibration must
 * still see the activation as its own op (the quantize pass folds a ReLU
 * into the int8 codes' range). */
#include <string.h>

#include "fuse_match.h"

static const char *const fusable[] = {"relu", "leaky_relu", "clip", "silu", "gelu", "gelu_tanh"};

static bool fusable_kind(const char *kind) {
  for (size_t i = 0; i < sizeof fusable / sizeof fusable[0]; i++)
    if (!strcmp(kind, fusable[i])) return true;
  return false;
}

static void set_f32_attr(MlirOperation op, const char *name, double v) {
  MlirContext ctx = mlirOperationGetContext(op);
  mlirOperationSetAttributeByName(op, mlirStringRefCreateFromCString(name),
                                  mlirFloatAttrDoubleGet(ctx, mlirF32TypeGet(ctx), v));
}

static bool fuse(MlirOperation layer) {
  MlirValue y = mlirOperationGetResult(layer, 0);
  qcc_shape s;
  if (!qcc_shape_of(y, &s) || s.dtype != QRT_F32) return false;
  if (!mlirAttributeIsNull(mlirOperationGetAttributeByName(layer, mlirStringRefCreateFromCString("qcc.act"))))
    return false; /* one activation per layer */
  MlirOperation act = sole_user(y);
  char at[256];
  if (mlirOperationIsNull(act)) { /* read elsewhere too: the layer must store its sum as it is */
    for (MlirOpOperand u = mlirValueGetFirstUse(y); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
      MlirOperation r = mlirOpOperandGetOwner(u);
      if (q_unary_is(r) && fusable_kind(q_unary_get(r).kind.s)) {
        qcc_remark("fuse-conv-activation: %s stays a kernel of its own: the layer's result has other readers",
                   qcc_op_where(r, at, sizeof at));
        break;
      }
    }
    return false;
  }
  if (!q_unary_is(act)) return false;
  q_unary_attrs a = q_unary_get(act);
  if (!fusable_kind(a.kind.s)) return false;
  MlirContext ctx = mlirOperationGetContext(layer);
  mlirOperationSetAttributeByName(layer, mlirStringRefCreateFromCString("qcc.act"),
                                  mlirStringAttrGet(ctx, mlirStringRefCreateFromCString(a.kind.s)));
  set_f32_attr(layer, "qcc.act_alpha", a.alpha);
  set_f32_attr(layer, "qcc.act_beta", a.beta);
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(act, 0), y);
  qcc_remark("fuse-conv-activation: %s applies the %s that was its only reader", qcc_op_where(layer, at, sizeof at),
             a.kind.s);
  return true;
}

int qcc_pass_fuse_conv_activation(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  bool changed = false;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op))
    if (q_conv_is(op) || q_matmul_is(op)) changed |= fuse(op);
  return changed ? qcc_pass_dce(m) : 0;
}
