/* io_alias.c - graph inputs that may share a buffer with a graph output.
 *
 * A decoder's step function takes its KV cache as an input and returns the
 * updated cache as an output; copying the cache every step costs more than
 * the update.  The generated code lets the caller pass one buffer for both
 * (input i, output j) when it can prove the run is unchanged:
 *
 *   1. output j is the result of one kernel call S (emit_c.c writes that
 *      result straight into out_j, and nothing else writes out_j before
 *      the final copies of repeated outputs);
 *   2. S's kernel is correct with its result in the buffer of operand
 *      slot s (qcc_call.inplace_slot: the scatter and KV-cache stores
 *      skip the copy of the data when out == data and write only the
 *      updated elements; where reads each element of an operand of its
 *      result's shape at the index it writes);
 *   3. input i is operand s of S and has no other use (no other op, no
 *      other slot of S, not returned), so nothing reads in_i after S
 *      has written out_j, and nothing reads it before S but S itself;
 *   4. input i and output j have the same element type and shape.
 *
 * Each pair stands alone, and all of them hold at once: the other buffers
 * stay distinct.  A pair that fails 2-3 while output j is computed from
 * input i of its type (by an op reading it, or through a few ops of that
 * type) gets a -v remark with the reason. */
#include "io_alias.h"

#include <stdio.h>
#include <string.h>

#include "kernel_call.h"

enum { SEARCH_DEPTH = 4 };

static bool same_type(MlirValue a, MlirValue b) {
  qcc_shape x, y;
  if (!qcc_shape_of(a, &x) || !qcc_shape_of(b, &y)) return false;
  return x.dtype == y.dtype && x.rank == y.rank && !memcmp(x.dims, y.dims, sizeof(int64_t) * (size_t)x.rank);
}

/* The op that reads arg, found from v's producer up through operands of
 * v's type (the data an update starts from: a scatter's data, a where's
 * branches, a requantized copy), at most depth ops up; or a null op. */
static MlirOperation reader_above(MlirValue v, MlirValue arg, int depth) {
  MlirOperation none = {NULL};
  if (depth == 0 || !mlirValueIsAOpResult(v)) return none;
  MlirOperation op = mlirOpResultGetOwner(v);
  intptr_t n = mlirOperationGetNumOperands(op);
  for (intptr_t k = 0; k < n; k++)
    if (mlirValueEqual(mlirOperationGetOperand(op, k), arg)) return op;
  for (intptr_t k = 0; k < n; k++) {
    MlirValue x = mlirOperationGetOperand(op, k);
    MlirOperation r = same_type(x, v) ? reader_above(x, arg, depth - 1) : none;
    if (!mlirOperationIsNull(r)) return r;
  }
  return none;
}

/* NULL if arg's only use is operand slot of op, else why not. */
static const char *other_use(MlirValue arg, MlirOperation op, int slot, char *buf, size_t cap) {
  for (MlirOpOperand u = mlirValueGetFirstUse(arg); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
    MlirOperation user = mlirOpOperandGetOwner(u);
    if (mlirOperationEqual(user, op) && mlirOpOperandGetOperandNumber(u) == (unsigned)slot) continue;
    if (mlirOperationEqual(user, op)) return "it is also another operand of that op";
    if (mlirOperationGetNumResults(user) == 0) return "it is also a graph output";
    char where[200];
    snprintf(buf, cap, "it is also read by %s", qcc_op_where(user, where, sizeof where));
    return buf;
  }
  return NULL;
}

static void names(MlirOperation func, int i, int j, char *in, char *out, size_t cap) {
  const char *attrs[2] = {"onnx.input_names", "onnx.output_names"};
  char *dst[2] = {in, out};
  int idx[2] = {i, j};
  for (int t = 0; t < 2; t++) {
    MlirAttribute a = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString(attrs[t]));
    if (!mlirAttributeIsNull(a) && mlirAttributeIsAArray(a) && idx[t] < mlirArrayAttrGetNumElements(a)) {
      MlirStringRef s = mlirStringAttrGetValue(mlirArrayAttrGetElement(a, idx[t]));
      snprintf(dst[t], cap, "%.*s", (int)s.length, s.data);
    } else {
      snprintf(dst[t], cap, "%s%d", t ? "output" : "input", idx[t]);
    }
  }
}

int qcc_io_aliases(MlirOperation func, qcc_io_alias *out, int cap) {
  MlirBlock body = qcc_func_body(func);
  MlirOperation ret = mlirBlockGetTerminator(body);
  int n_in = (int)mlirBlockGetNumArguments(body), n_out = (int)mlirOperationGetNumOperands(ret), n = 0;
  for (int j = 0; j < n_out; j++) {
    MlirValue r = mlirOperationGetOperand(ret, j);
    if (!mlirValueIsAOpResult(r) || qcc_value_is_constant(r)) continue;
    MlirOperation op = mlirOpResultGetOwner(r);
    for (int i = 0; i < n_in; i++) {
      MlirValue a = mlirBlockGetArgument(body, i);
      if (!same_type(a, r)) continue;
      MlirOperation reader = reader_above(r, a, SEARCH_DEPTH);
      if (mlirOperationIsNull(reader)) continue; /* not an update of input i */
      char in_name[128], out_name[128], where[200], buf[512];
      names(func, i, j, in_name, out_name, sizeof in_name);
      qcc_op_where(op, where, sizeof where);
      const char *why = NULL;
      qcc_call call;
      if (!mlirOperationEqual(reader, op)) {
        char rw[200];
        snprintf(buf, sizeof buf, "it is computed from the input through %s and then %s, not by one in-place update",
                 qcc_op_where(reader, rw, sizeof rw), where);
        why = buf;
      } else if (q_loop_is(op)) {
        snprintf(buf, sizeof buf, "%s is a loop, which updates nothing in place", where);
        why = buf;
      } else if (!qcc_lower_op(op, &call) || call.inplace_slot < 0 || !mlirValueEqual(call.in[call.inplace_slot], a)) {
        snprintf(buf, sizeof buf, "%s has no kernel that updates that operand in place", where);
        why = buf;
      } else {
        why = other_use(a, op, call.inplace_slot, buf, sizeof buf);
      }
      if (why) {
        qcc_remark("io-alias: input %d '%s' may not share a buffer with output %d '%s': %s", i, in_name, j,
                   out_name, why);
      } else if (n < cap) {
        out[n].in = i;
        out[n].out = j;
        n++;
        qcc_remark("io-alias: input %d '%s' may share its buffer with output %d '%s', updated in place by %s", i,
                   in_name, j, out_name, where);
      }
    }
  }
  return n;
}
