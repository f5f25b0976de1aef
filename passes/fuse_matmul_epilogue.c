/* fuse_matmul_epilogue.c - the fuse-matmul-epilogue pass: a float q.matmul
 * whose only reader is an add or a multiply with a tensor of its own shape
 * does that operation in the GEMM's epilogue instead of in a kernel of its
 * own:
 *
 *   z = q.binary add(q.matmul(a, B [, bias]), r)  ->  z = q.matmul(a, B, bias, r)
 *   z = q.binary mul(q.matmul(a, B [, bias]), g)  ->  z = q.matmul(a, B, bias, g) {qcc.epilogue = "mul"}
 *
 * The add is a transformer's residual stream (x + o_proj(...),
 * x + down(...)), the multiply a gated feed-forward's gate (SwiGLU's
 * silu(gate(x)) * up(x), GeGLU's). The fourth operand is combined last:
 * each element is (acc + bias[j]) + r[i, j] (or * g[i, j]), the binary
 * op's own bits (float add and multiply commute), one pass over the output
 * and one kernel call (a thread hand-off) fewer. The int8 GEMMs with float
 * outputs get the residual from float-epilogues (float_epilogue.c).
 *
 * Applies to a float32 matmul without such an operand yet whose add or
 * multiply reads an operand of the result's shape (no broadcast: each
 * batch's GEMM reads its rows of it) that is not the matmul's result
 * itself. Runs late, on
 * what stays float after quantization (calibration and rotation see the
 * add as its own op); not for --target npu. A matmul whose only reader is
 * an add or multiply it cannot take says why under -v. */
#include "fuse_match.h"
#include "quant_activations.h"

static bool float_shape(MlirValue v, qcc_shape *s) { return qcc_shape_of(v, s) && s->dtype == QRT_F32; }

/* Why the binary op after mm cannot join its epilogue with operand r, or
 * NULL. */
static const char *why_not(MlirOperation mm, MlirValue y, MlirValue r, MlirValue z) {
  qcc_shape ys, rs, zs, as, bs;
  if (!float_shape(y, &ys) || !float_shape(q_matmul_in(mm, 0), &as) || !float_shape(q_matmul_in(mm, 1), &bs))
    return "the matmul is not float32";
  if (q_matmul_num_in(mm, 3)) return "the matmul already has an epilogue operand";
  if (mlirValueEqual(r, y)) return "it reads the matmul's result twice";
  if (!float_shape(z, &zs) || !qcc_shape_same_dims(&zs, &ys)) return "it broadcasts the result";
  if (!float_shape(r, &rs) || !qcc_shape_same_dims(&rs, &ys)) return "the other operand is not float32 of the result's shape";
  return NULL;
}

/* Returns the op the walk goes on after (the new matmul where the binary
 * op was, or mm). */
/* An add or multiply among the readers of y, or a null op. */
static MlirOperation binary_reader(MlirValue y) {
  for (MlirOpOperand u = mlirValueGetFirstUse(y); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
    MlirOperation op = mlirOpOperandGetOwner(u);
    if (is_binary(op, "add") || is_binary(op, "mul")) return op;
  }
  return (MlirOperation){NULL};
}

static MlirOperation fuse(MlirOperation mm, bool *changed) {
  MlirValue y = mlirOperationGetResult(mm, 0);
  MlirOperation bin = sole_user(y);
  char at[256];
  if (mlirOperationIsNull(bin)) { /* the result is read elsewhere too: it must be stored as it is */
    MlirOperation other = binary_reader(y);
    if (!mlirOperationIsNull(other))
      qcc_remark("fuse-matmul-epilogue: %s stays a kernel of its own: the matmul's result has other readers",
                 qcc_op_where(other, at, sizeof at));
    return mm;
  }
  const bool mul = is_binary(bin, "mul");
  if (!mul && !is_binary(bin, "add")) return mm;
  MlirValue r = mlirValueEqual(q_binary_in(bin, 0), y) ? q_binary_in(bin, 1) : q_binary_in(bin, 0);
  MlirValue z = mlirOperationGetResult(bin, 0);
  qcc_op_where(bin, at, sizeof at);
  const char *why = why_not(mm, y, r, z);
  if (why) {
    qcc_remark("fuse-matmul-epilogue: %s stays a kernel of its own: %s", at, why);
    return mm;
  }
  MlirValue out = qcc_insert_before(bin, q_matmul_create(mlirOperationGetLocation(mm), mlirValueGetType(z),
                                                         q_matmul_in(mm, 0), q_matmul_in(mm, 1), q_matmul_in(mm, 2), r));
  MlirOperation nop = mlirOpResultGetOwner(out);
  qcc_copy_qcc_attrs(mm, nop);
  if (mul) {
    MlirContext ctx = mlirOperationGetContext(nop);
    mlirOperationSetDiscardableAttributeByName(nop, mlirStringRefCreateFromCString("qcc.epilogue"),
                                               mlirStringAttrGet(ctx, mlirStringRefCreateFromCString("mul")));
  }
  mlirValueReplaceAllUsesOfWith(z, out);
  qcc_remark("fuse-matmul-epilogue: %s is %s in the epilogue of the matmul before it", at,
             mul ? "multiplied" : "added");
  mlirOperationDestroy(bin);
  mlirOperationDestroy(mm);
  *changed = true;
  return nop;
}

int qcc_pass_fuse_matmul_epilogue(MlirModule m) {
  MlirBlock body = qcc_func_body(qcc_module_func(m));
  bool changed = false;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op))
    if (q_matmul_is(op)) op = fuse(op, &changed); /* destroys op and the (later) binary op */
  return changed ? qcc_pass_dce(m) : 0;
}
