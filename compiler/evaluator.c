/* evaluator.c - see evaluator.h. Buffers are malloc'd per value and freed
 * after the value's last use, so peak memory follows the graph's liveness. */
#include "evaluator.h"

#include <stdlib.h>
#include <string.h>

#include "kernel_call.h"
#include "name_map.h"

static qcc_array alloc_for(MlirValue v) {
  qcc_shape s;
  qcc_array a;
  memset(&a, 0, sizeof a);
  qcc_shape_of(v, &s);
  a.dtype = s.dtype;
  a.rank = s.rank;
  memcpy(a.dims, s.dims, sizeof s.dims);
  a.nbytes = (size_t)qcc_shape_numel(&s) * qcc_dtype_size(s.dtype);
  a.data = calloc(a.nbytes ? a.nbytes : 1, 1);
  return a;
}

/* Runs call with its input arrays (NULL entries for absent inputs). */
static void run_call(const qcc_call *call, qcc_array *const *ins, qcc_array *out) {
  const void *in_ptrs[QCC_CALL_MAX_IN];
  void *scratch = NULL;
  qcc_array packed;
  memset(&packed, 0, sizeof packed);
  for (int i = 0; i < call->n_in; i++) in_ptrs[i] = ins[i] ? ins[i]->data : NULL;
  if (call->scratch_slot >= 0 && call->scratch_bytes > 0) {
    scratch = malloc((size_t)call->scratch_bytes);
    in_ptrs[call->scratch_slot] = scratch;
  }
  if (call->packed_slot >= 0) {
    qcc_pack_weight(call, ins[call->packed_slot], &packed);
    in_ptrs[call->packed_slot] = packed.data;
  }
  void *out_ptrs[QCC_CALL_MAX_OUT] = {out->data, NULL, NULL};
  call->kernel->fn(&call->params, in_ptrs, out_ptrs);
  free(scratch);
  if (packed.data) qcc_array_free(&packed);
}

bool qcc_evaluate_op(MlirOperation op, qcc_array *result) {
  qcc_call call;
  if (!qcc_lower_op(op, &call)) return false;
  qcc_array vals[QCC_CALL_MAX_IN], *ins[QCC_CALL_MAX_IN];
  bool ok = true;
  for (int i = 0; i < call.n_in; i++) {
    ins[i] = NULL;
    if (i == call.scratch_slot || mlirValueIsNull(call.in[i])) continue;
    if (!qcc_value_constant(call.in[i], &vals[i])) ok = false;
    else ins[i] = &vals[i];
  }
  if (ok) {
    *result = alloc_for(mlirOperationGetResult(op, 0));
    run_call(&call, ins, result);
  }
  for (int i = 0; i < call.n_in; i++)
    if (ins[i]) qcc_array_free(ins[i]);
  return ok;
}

/* Per-value state: its data and how many uses remain before it is freed. */
typedef struct slot {
  qcc_array data;
  intptr_t uses_left;
  bool owned;
} slot;

static intptr_t count_uses(MlirValue v) {
  intptr_t n = 0;
  for (MlirOpOperand u = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) n++;
  return n;
}

static void release(slot *s) {
  if (s && s->owned && --s->uses_left <= 0) qcc_array_free(&s->data);
}

int qcc_evaluate(MlirModule m, const qcc_array *inputs, int n_inputs, qcc_array **outputs, int *n_outputs,
                 qcc_observer observe, void *user) {
  MlirOperation func = qcc_module_func(m);
  MlirBlock body = qcc_func_body(func);
  intptr_t n_args = mlirBlockGetNumArguments(body);
  if (n_inputs != n_args) {
    qcc_error("the model has %ld inputs, %d given", (long)n_args, n_inputs);
    return -1;
  }
  qcc_ptr_map slots;
  qcc_ptr_map_init(&slots);
  int rc = 0;
  for (intptr_t i = 0; i < n_args && !rc; i++) {
    MlirValue a = mlirBlockGetArgument(body, i);
    qcc_shape s;
    qcc_shape_of(a, &s);
    bool same = s.dtype == inputs[i].dtype && s.rank == inputs[i].rank;
    for (int d = 0; same && d < s.rank; d++) same = s.dims[d] == inputs[i].dims[d];
    if (!same) {
      char want[128];
      qcc_error("input %ld: expected %s, got %s with rank %d", (long)i, qcc_shape_str(&s, want, sizeof want),
                qcc_dtype_name(inputs[i].dtype), inputs[i].rank);
      rc = -1;
      break;
    }
    slot *sl = calloc(1, sizeof *sl);
    sl->data = inputs[i];
    qcc_ptr_map_put(&slots, a.ptr, sl);
  }
  MlirOperation ret = mlirBlockGetTerminator(body);
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !rc && !mlirOperationIsNull(op) && !mlirOperationEqual(op, ret);
       op = mlirOperationGetNextInBlock(op)) {
    MlirValue res = mlirOperationGetResult(op, 0);
    slot *out = calloc(1, sizeof *out);
    out->owned = true;
    out->uses_left = count_uses(res);
    qcc_ptr_map_put(&slots, res.ptr, out);
    if (q_constant_is(op)) {
      qcc_value_constant(res, &out->data);
    } else {
      qcc_call call;
      if (!qcc_lower_op(op, &call)) {
        rc = -1;
        break;
      }
      qcc_array *ins[QCC_CALL_MAX_IN];
      for (int i = 0; i < call.n_in; i++) {
        slot *s = mlirValueIsNull(call.in[i]) ? NULL : qcc_ptr_map_get(&slots, call.in[i].ptr);
        ins[i] = s ? &s->data : NULL;
      }
      out->data = alloc_for(res);
      run_call(&call, ins, &out->data);
      for (int i = 0; i < call.n_in; i++)
        if (!mlirValueIsNull(call.in[i])) release(qcc_ptr_map_get(&slots, call.in[i].ptr));
    }
    if (observe) observe(op, res, &out->data, user);
    if (out->uses_left == 0) qcc_array_free(&out->data);
  }
  if (!rc) {
    intptr_t n = mlirOperationGetNumOperands(ret);
    *n_outputs = (int)n;
    *outputs = calloc((size_t)n + 1, sizeof **outputs);
    for (intptr_t i = 0; i < n; i++) {
      slot *s = qcc_ptr_map_get(&slots, mlirOperationGetOperand(ret, i).ptr);
      qcc_array *o = &(*outputs)[i];
      *o = s->data;
      o->data = malloc(s->data.nbytes ? s->data.nbytes : 1);
      memcpy(o->data, s->data.data, s->data.nbytes);
      release(s);
    }
  }
  for (size_t i = 0; i < slots.cap; i++) {
    slot *s = slots.vals[i];
    if (!slots.keys[i]) continue;
    if (s->owned && s->data.data && s->uses_left > 0) qcc_array_free(&s->data);
    free(s);
  }
  qcc_ptr_map_free(&slots);
  return rc;
}
