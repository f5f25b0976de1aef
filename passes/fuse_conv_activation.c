/* fuse_conv_activation.c - the fuse-conv-activation pass: a float q.conv
 * whose only reader is a ReLU, LeakyReLU or Clip (q.unary relu /
 * leaky_relu / clip) takes that activation into its epilogue
 * (qcc.act = "relu" | "leaky_relu" | "clip", qcc.act_alpha, qcc.act_beta:
 * discardable attributes that codegen's lower_conv reads), and the unary
 * goes. The convolution kernels apply act(sum + bias) as each output is
 * stored (runtime/qrt_conv.c), with the comparisons of qrt_unary's, so
 * the result is the same bits with one pass over the output fewer
 * (ResNet's and MobileNet's every conv is followed by one).
 *
 * It runs late, on what stays float after quantization: calibration must
 * still see the activation as its own op (the quantize pass folds a ReLU
 * into the int8 codes' range). */
#include <string.h>

#include "fuse_match.h"

static const char *const fusable[] = {"relu", "leaky_relu", "clip"};

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

static bool fuse(MlirOperation conv) {
  MlirValue y = mlirOperationGetResult(conv, 0);
  qcc_shape s;
  if (!qcc_shape_of(y, &s) || s.dtype != QRT_F32) return false;
  if (!mlirAttributeIsNull(mlirOperationGetAttributeByName(conv, mlirStringRefCreateFromCString("qcc.act"))))
    return false; /* one activation per conv */
  MlirOperation act = sole_user(y);
  if (mlirOperationIsNull(act) || !q_unary_is(act)) return false;
  q_unary_attrs a = q_unary_get(act);
  if (!fusable_kind(a.kind.s)) return false;
  MlirContext ctx = mlirOperationGetContext(conv);
  mlirOperationSetAttributeByName(conv, mlirStringRefCreateFromCString("qcc.act"),
                                  mlirStringAttrGet(ctx, mlirStringRefCreateFromCString(a.kind.s)));
  set_f32_attr(conv, "qcc.act_alpha", a.alpha);
  set_f32_attr(conv, "qcc.act_beta", a.beta);
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(act, 0), y);
  char at[256];
  qcc_remark("fuse-conv-activation: %s applies the %s that was its only reader", qcc_op_where(conv, at, sizeof at),
             a.kind.s);
  return true;
}

int qcc_pass_fuse_conv_activation(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  bool changed = false;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op))
    if (q_conv_is(op)) changed |= fuse(op);
  return changed ? qcc_pass_dce(m) : 0;
}
