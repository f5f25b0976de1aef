/* emit_c.c - the C backend (see emit_c.h and docs/generated-c.md).
 *
 * Every non-constant q op becomes one runtime call, lowered by
 * kernel_call.c exactly as the evaluator runs it. Values live in: the
 * caller's input and output pointers, const weight arrays, or a static
 * arena laid out by plan_memory.c from their lifetimes. Output is
 * deterministic: names come from ONNX names, order from the IR.
 * A Reshape of an arena value is no call: its result is a view of the
 * input's buffer (the same bytes, row-major either way), whose lifetime
 * then runs to the last use of either.
 *
 * A q.loop is a `for` around its body's calls: its iteration number,
 * carried values and scan slices each have an arena buffer that lives for
 * the whole loop (bind_loop), and so does every outer value the body
 * reads; the body's own values are planned like any others, since each
 * iteration writes them before it reads them. */
#include "emit_c.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guards.h"
#include "io_alias.h"
#include "kernel_call.h"
#include "name_map.h"
#include "plan_memory.h"
#include "runtime_sources.h"

enum { ARENA_ALIGN = 64 };

typedef enum { V_ARG, V_CONST, V_BUF, V_OUT } value_kind;

typedef struct value_info {
  value_kind kind;
  int index; /* arg / output position, buffer index, or constant index */
} value_info;

typedef struct constant {
  MlirValue value;
  bool packed;
  const qcc_call *call; /* for packing */
  char name[96];
  int64_t file_offset; /* in the weights file (--weights-file) */
  qrt_dtype dtype;     /* after packing */
} constant;

typedef enum { STEP_CALL, STEP_LOOP, STEP_END } step_kind;

typedef struct step {
  MlirOperation op;
  qcc_call call;   /* STEP_CALL */
  int scratch_buf; /* buffer index or -1 */
  bool view;       /* a reshape whose result shares its input's buffer: no call */
  step_kind kind;  /* STEP_LOOP opens a q.loop's `for`, STEP_END closes it */
  int loop;        /* the STEP_LOOP whose body holds this step (STEP_END: the one it closes), or -1 */
  int end;         /* STEP_LOOP: its STEP_END */
  int depth;       /* loops around the step: indentation, and t<depth> is the loop's counter */
  int iter_buf;    /* STEP_LOOP: the iteration number's buffer */
  int *bufs;       /* STEP_LOOP: per carried value its buffer, then per scan input its slice's;
                      STEP_END: per carried value a staging buffer for the yield, or -1 */
  int group;       /* first of a sibling group: its size (one qrt_qmatmul_group call); else 0 */
  int group_end;   /* the group's last step (k when not in a group): its buffers live until then */
} step;

typedef struct emitter {
  const qcc_emit_options *o;
  MlirBlock body;
  int n_args, n_outs;
  step *steps;
  int n_steps;
  constant *consts;
  int n_consts, cap_consts;
  qcc_buffer *bufs;
  int n_bufs, cap_bufs;
  qcc_ptr_map values; /* MlirValue.ptr -> value_info* */
  qcc_ptr_map loop_step; /* q.loop op.ptr -> 1 + index of its STEP_LOOP */
  qcc_ptr_map const_of[2]; /* MlirValue.ptr -> 1 + index in consts, [packed] */
  qcc_name_map used_names;
  FILE *c, *h;
  bool parallel;               /* qrt_parallel.c is in (NAME_set_parallel_for) */
  FILE *weights;               /* --weights-file, or NULL */
  int64_t weights_size;        /* bytes written so far */
} emitter;

/* C identifier from an ONNX name, made unique within the file. */
static void make_name(emitter *e, const char *prefix, const char *raw, char *out, size_t cap) {
  char base[80];
  size_t n = 0;
  for (const char *p = raw; *p && n + 1 < sizeof base - 8; p++) base[n++] = isalnum((unsigned char)*p) ? *p : '_';
  base[n] = 0;
  snprintf(out, cap, "%s%s", prefix, base);
  const void *seen;
  for (int k = 1; qcc_name_map_get(&e->used_names, out, &seen); k++) snprintf(out, cap, "%s%s_%d", prefix, base, k);
  qcc_name_map_put(&e->used_names, out, out);
}

static void loc_name(MlirOperation op, char *out, size_t cap) {
  char where[256];
  qcc_op_where(op, where, sizeof where);
  const char *q = strchr(where, '\'');
  if (q) {
    snprintf(out, cap, "%s", q + 1);
    char *end = strrchr(out, '\'');
    if (end) *end = 0;
  } else {
    snprintf(out, cap, "%s", "");
  }
}

static value_info *info(emitter *e, MlirValue v) { return qcc_ptr_map_get(&e->values, v.ptr); }

static void set_info(emitter *e, MlirValue v, value_kind k, int index) {
  value_info *vi = info(e, v);
  if (!vi) {
    vi = malloc(sizeof *vi);
    qcc_ptr_map_put(&e->values, v.ptr, vi);
  }
  vi->kind = k;
  vi->index = index;
}

static int add_buffer(emitter *e, int64_t size, int first) {
  if (e->n_bufs == e->cap_bufs) e->bufs = realloc(e->bufs, sizeof *e->bufs * (size_t)(e->cap_bufs = e->cap_bufs * 2 + 16));
  qcc_buffer *b = &e->bufs[e->n_bufs];
  b->size = size > 0 ? size : 1;
  b->first = b->last = first;
  b->offset = 0;
  return e->n_bufs++;
}

/* Whether constant c holds what v would (packed as call packs it). Two
 * q.constant ops with equal data share one array: MLIR uniques attributes,
 * so equal data is one attribute (an unrolled Loop's or Scan's copies of a
 * quantized weight, tied weights). Convolution packings are shared only
 * by the same value: their layout depends on more than k and n. */
static bool same_const(const constant *c, MlirValue v, bool packed, const qcc_call *call) {
  if (c->packed != packed) return false;
  if (mlirValueEqual(c->value, v)) return true;
  if (!call || !c->call || !qcc_value_is_constant(v) || !mlirTypeEqual(mlirValueGetType(c->value), mlirValueGetType(v)))
    return false;
  if (!mlirAttributeEqual(q_constant_get(mlirOpResultGetOwner(c->value)).value,
                          q_constant_get(mlirOpResultGetOwner(v)).value))
    return false;
  if (!packed) return true;
  return c->call->pack_kind == call->pack_kind && call->pack_kind != QCC_PACK_I8_CONV &&
         c->call->pack_k == call->pack_k && c->call->pack_n == call->pack_n;
}

/* The array v reads (packed or not), or -1. */
static int find_const(emitter *e, MlirValue v, bool packed) {
  void *p = qcc_ptr_map_get(&e->const_of[packed], v.ptr);
  return p ? (int)((intptr_t)p - 1) : -1;
}

static int add_const(emitter *e, MlirValue v, bool packed, const qcc_call *call) {
  int i = find_const(e, v, packed);
  if (i >= 0) return i;
  for (i = 0; i < e->n_consts && !same_const(&e->consts[i], v, packed, call); i++) {
  }
  qcc_ptr_map_put(&e->const_of[packed], v.ptr, (void *)(intptr_t)(i + 1));
  if (i < e->n_consts) return i;
  if (e->n_consts == e->cap_consts)
    e->consts = realloc(e->consts, sizeof *e->consts * (size_t)(e->cap_consts = e->cap_consts * 2 + 16));
  constant *c = &e->consts[e->n_consts];
  c->value = v;
  c->packed = packed;
  c->call = call;
  char raw[128];
  loc_name(mlirOpResultGetOwner(v), raw, sizeof raw);
  if (!raw[0]) snprintf(raw, sizeof raw, "c%d", e->n_consts);
  if (packed) strncat(raw, "_packed", sizeof raw - strlen(raw) - 1);
  make_name(e, "w_", raw, c->name, sizeof c->name);
  return e->n_consts++;
}

/* ---- analysis: lower every op, bind values, plan the arena ---- */
static MlirBlock loop_body(MlirOperation loop) { return mlirRegionGetFirstBlock(mlirOperationGetRegion(loop, 0)); }

/* The onnx.Yield ending a q.loop's body. */
static MlirOperation loop_yield(MlirOperation loop) {
  MlirOperation o = mlirBlockGetFirstOperation(loop_body(loop)), last = o;
  for (; !mlirOperationIsNull(o); o = mlirOperationGetNextInBlock(o)) last = o;
  return last;
}

static int64_t value_bytes(MlirValue v) {
  qcc_shape s;
  qcc_shape_of(v, &s);
  return qcc_shape_numel(&s) * (int64_t)qcc_dtype_size(s.dtype);
}

static int push_step(emitter *e, int *cap, MlirOperation op, step_kind kind, int loop, int depth) {
  if (e->n_steps == *cap) e->steps = realloc(e->steps, sizeof *e->steps * (size_t)(*cap *= 2));
  step *s = &e->steps[e->n_steps];
  memset(s, 0, sizeof *s);
  s->op = op;
  s->kind = kind;
  s->scratch_buf = s->iter_buf = -1;
  s->loop = loop;
  s->end = -1;
  s->depth = depth;
  return e->n_steps++;
}

/* The steps of a block in order, a q.loop's body between its STEP_LOOP
 * and STEP_END. */
static int linearize(emitter *e, int *cap, MlirBlock b, MlirOperation stop, int loop, int depth) {
  for (MlirOperation op = mlirBlockGetFirstOperation(b); !mlirOperationEqual(op, stop);
       op = mlirOperationGetNextInBlock(op)) {
    if (q_constant_is(op)) continue;
    if (q_loop_is(op)) {
      if (!qcc_check_loop(op)) return -1;
      int k = push_step(e, cap, op, STEP_LOOP, loop, depth);
      qcc_ptr_map_put(&e->loop_step, op.ptr, (void *)(intptr_t)(k + 1));
      if (linearize(e, cap, loop_body(op), loop_yield(op), k, depth + 1)) return -1;
      int end = push_step(e, cap, op, STEP_END, k, depth);
      e->steps[k].end = end;
      continue;
    }
    int k = push_step(e, cap, op, STEP_CALL, loop, depth);
    if (!qcc_lower_op(op, &e->steps[k].call)) return -1;
  }
  return 0;
}

/* The step where v's buffer is last needed when step k reads it at step
 * `at`: a value from outside a loop that the loop reads is needed until the
 * loop's last iteration ends. */
static int use_point(emitter *e, MlirValue v, int k, int at) {
  MlirBlock b = mlirValueIsAOpResult(v) ? mlirOperationGetBlock(mlirOpResultGetOwner(v)) : mlirBlockArgumentGetOwner(v);
  MlirOperation parent = mlirBlockGetParentOperation(b);
  int home = q_loop_is(parent) ? (int)(intptr_t)qcc_ptr_map_get(&e->loop_step, parent.ptr) - 1 : -1;
  for (int l = e->steps[k].loop; l >= 0 && l != home; l = e->steps[l].loop) at = e->steps[l].end;
  return at;
}

/* Step k reads v (at step `at`): constants get their array, buffers live on. */
static void read_value(emitter *e, MlirValue v, int k, int at) {
  if (qcc_value_is_constant(v)) {
    add_const(e, v, false, NULL);
    return;
  }
  value_info *vi = info(e, v);
  if (vi && vi->kind == V_BUF) {
    int last = use_point(e, v, k, at);
    if (last > e->bufs[vi->index].last) e->bufs[vi->index].last = last;
  }
}

/* A q.loop's buffers: its iteration number, each carried value (which is
 * also its block argument and its result), each scan input's slice, each
 * scan output; all live from the loop's start to its end (and on). */
static void bind_loop(emitter *e, int k) {
  step *s = &e->steps[k];
  MlirOperation op = s->op;
  MlirBlock body = loop_body(op);
  int nc = (int)q_loop_get(op).num_carried, n_in = (int)mlirOperationGetNumOperands(op) - nc;
  int n_res = (int)mlirOperationGetNumResults(op), end = s->end;
  s->bufs = malloc(sizeof(int) * (size_t)(nc + n_in + 1));
  s->iter_buf = add_buffer(e, value_bytes(mlirBlockGetArgument(body, 0)), k);
  e->bufs[s->iter_buf].last = end;
  set_info(e, mlirBlockGetArgument(body, 0), V_BUF, s->iter_buf);
  for (int i = 0; i < nc + n_in; i++) {
    MlirValue arg = mlirBlockGetArgument(body, 1 + i), x = mlirOperationGetOperand(op, i);
    int b = s->bufs[i] = add_buffer(e, value_bytes(arg), k);
    e->bufs[b].last = end;
    set_info(e, arg, V_BUF, b);
    if (i < nc) set_info(e, mlirOperationGetResult(op, i), V_BUF, b);
    read_value(e, x, k, i < nc ? k : end); /* scan inputs are read by every iteration */
  }
  for (int r = nc; r < n_res; r++) {
    MlirValue y = mlirOperationGetResult(op, r);
    set_info(e, y, V_BUF, add_buffer(e, value_bytes(y), k));
  }
}

/* The yields: read at the end of each iteration. A carried value whose
 * next value is another carried value's buffer (a swap) goes through a
 * staging buffer, so no copy overwrites what a later one reads. */
static void bind_end(emitter *e, int k) {
  step *s = &e->steps[k];
  const step *l = &e->steps[s->loop];
  MlirOperation yield = loop_yield(s->op);
  q_loop_attrs a = q_loop_get(s->op);
  int nc = (int)a.num_carried, c = a.has_cond != 0;
  s->bufs = malloc(sizeof(int) * (size_t)(nc + 1));
  for (intptr_t i = 0; i < mlirOperationGetNumOperands(yield); i++) read_value(e, mlirOperationGetOperand(yield, i), k, k);
  for (int j = 0; j < nc; j++) {
    value_info *vi = info(e, mlirOperationGetOperand(yield, c + j));
    bool other = false;
    for (int i = 0; i < nc && vi && vi->kind == V_BUF; i++) other |= i != j && vi->index == l->bufs[i];
    s->bufs[j] = other ? add_buffer(e, e->bufs[l->bufs[j]].size, k) : -1;
  }
}

/* Sibling matmuls (passes/group_siblings.c): the run of integer matmul
 * calls from step k on that read the same A, none another's result;
 * 1 when step k starts no such run (or with one thread). */
static bool groupable(const step *s) {
  return s->kind == STEP_CALL && !s->view && s->call.kernel &&
         (!strcmp(s->call.kernel->symbol, "qrt_qmatmul_i8") || !strcmp(s->call.kernel->symbol, "qrt_qmatmul_i8_f32out"));
}

static int sibling_run(emitter *e, const qcc_guards *guards, int k) {
  const step *s = &e->steps[k];
  int n = 1;
  if (e->o->threads <= 1 || !groupable(s)) return 1;
  for (; k + n < e->n_steps && n < QRT_QMM_GROUP_MAX; n++) {
    const step *t = &e->steps[k + n];
    if (!groupable(t) || t->loop != s->loop || !mlirValueEqual(t->call.in[0], s->call.in[0]) ||
        (s->loop < 0 && !qcc_guard_equal(qcc_guard_of(guards, t->op), qcc_guard_of(guards, s->op))))
      break;
    bool reads_member = false;
    for (int j = 0; j < n; j++)
      for (int i = 0; i < t->call.n_in; i++)
        reads_member |= !mlirValueIsNull(t->call.in[i]) &&
                        mlirValueEqual(t->call.in[i], mlirOperationGetResult(e->steps[k + j].op, 0));
    if (reads_member) break;
  }
  return n;
}

/* Marks the sibling groups: their members run at the same time, so what
 * any member reads or writes lives until the group's last step (no member
 * writes where another still reads). */
static void mark_groups(emitter *e) {
  qcc_guards *guards = qcc_guards_compute(e->body);
  for (int k = 0; k < e->n_steps; k++) {
    int n = sibling_run(e, guards, k);
    e->steps[k].group = n > 1 ? n : 0;
    for (int j = 0; j < n; j++) e->steps[k + j].group_end = k + n - 1;
    k += n - 1;
  }
  qcc_guards_free(guards);
}

static int analyse(emitter *e, MlirOperation func) {
  e->body = qcc_func_body(func);
  MlirOperation ret = mlirBlockGetTerminator(e->body);
  e->n_args = (int)mlirBlockGetNumArguments(e->body);
  e->n_outs = (int)mlirOperationGetNumOperands(ret);
  for (int i = 0; i < e->n_args; i++) set_info(e, mlirBlockGetArgument(e->body, i), V_ARG, i);
  int cap = 16;
  e->steps = malloc(sizeof *e->steps * (size_t)cap);
  if (linearize(e, &cap, e->body, ret, -1, 0)) return -1;
  mark_groups(e);
  /* Results: the first return of a value writes straight into the caller's
   * output; everything else gets an arena buffer. */
  for (int k = 0; k < e->n_steps; k++) {
    step *s = &e->steps[k];
    if (s->kind == STEP_LOOP) {
      bind_loop(e, k);
      continue;
    }
    if (s->kind == STEP_END) {
      bind_end(e, k);
      continue;
    }
    MlirValue r = mlirOperationGetResult(s->op, 0);
    int out = -1;
    for (int j = 0; j < e->n_outs && out < 0 && s->loop < 0; j++)
      if (mlirValueEqual(mlirOperationGetOperand(ret, j), r)) out = j;
    value_info *src = q_reshape_is(s->op) ? info(e, mlirOperationGetOperand(s->op, 0)) : NULL;
    if (out >= 0) {
      set_info(e, r, V_OUT, out);
    } else if (src && src->kind == V_BUF) {
      s->view = true;
      set_info(e, r, V_BUF, src->index);
    } else {
      qcc_shape sh;
      qcc_shape_of(r, &sh);
      int b = add_buffer(e, qcc_shape_numel(&sh) * (int64_t)qcc_dtype_size(sh.dtype), k);
      set_info(e, r, V_BUF, b);
      e->bufs[b].last = s->group_end;
    }
    if (s->call.scratch_slot >= 0 && s->call.scratch_bytes > 0) {
      s->scratch_buf = add_buffer(e, s->call.scratch_bytes, k);
      e->bufs[s->scratch_buf].last = s->group_end;
    }
    for (int i = 0; i < s->call.n_in; i++) {
      MlirValue v = s->call.in[i];
      if (i == s->call.scratch_slot || mlirValueIsNull(v)) continue;
      if (qcc_value_is_constant(v)) {
        add_const(e, v, i == s->call.packed_slot, &s->call);
        continue;
      }
      read_value(e, v, k, s->group_end);
    }
  }
  /* Outputs that are constants are copied from their arrays at the end. */
  for (int j = 0; j < e->n_outs; j++) {
    MlirValue v = mlirOperationGetOperand(ret, j);
    if (qcc_value_is_constant(v)) add_const(e, v, false, NULL);
    value_info *vi = info(e, v);
    if (vi && vi->kind == V_BUF) e->bufs[vi->index].last = e->n_steps;
  }
  return 0;
}

/* ---- printing ---- */
static void print_float(FILE *f, double v, bool is_float) {
  if (isnan(v)) fprintf(f, "NAN");
  else if (isinf(v)) fprintf(f, v > 0 ? "INFINITY" : "-INFINITY");
  else if (is_float) fprintf(f, "%af", v);
  else fprintf(f, "%a", v);
}

static void print_element(FILE *f, qrt_dtype t, const void *p) {
  switch (t) {
  case QRT_F32: print_float(f, *(const float *)p, true); break;
  case QRT_F64: print_float(f, *(const double *)p, false); break;
  case QRT_I8: fprintf(f, "%d", *(const int8_t *)p); break;
  case QRT_U8: case QRT_BOOL: fprintf(f, "%u", *(const uint8_t *)p); break;
  case QRT_I16: fprintf(f, "%d", *(const int16_t *)p); break;
  case QRT_U16: case QRT_F16: case QRT_BF16: fprintf(f, "%u", *(const uint16_t *)p); break;
  case QRT_I32: fprintf(f, "%ld", (long)*(const int32_t *)p); break;
  case QRT_U32: fprintf(f, "%luu", (unsigned long)*(const uint32_t *)p); break;
  case QRT_I64: {
    int64_t v = *(const int64_t *)p;
    if (v == INT64_MIN) fprintf(f, "INT64_MIN");
    else fprintf(f, "INT64_C(%lld)", (long long)v);
    break;
  }
  case QRT_U64: fprintf(f, "UINT64_C(%llu)", (unsigned long long)*(const uint64_t *)p); break;
  default: fprintf(f, "0"); break;
  }
}

/* A constant's data as the kernels read it (packed when its call packs);
 * true when it is borrowed from the attribute (not to be freed). */
static bool constant_data(constant *c, qcc_array *a) {
  qcc_array packed;
  bool borrowed;
  qcc_value_constant_borrow(c->value, a, &borrowed);
  if (c->packed) {
    qcc_pack_weight(c->call, a, &packed);
    if (!borrowed) qcc_array_free(a);
    *a = packed;
    borrowed = false;
  }
  c->dtype = a->dtype;
  return borrowed;
}

static void print_constant_comment(emitter *e, const constant *c, const qcc_array *a) {
  char shape[128];
  qcc_shape s = {a->dtype, a->rank, {0}};
  memcpy(s.dims, a->dims, sizeof s.dims);
  fprintf(e->c, "/* %s%s */\n", qcc_shape_str(&s, shape, sizeof shape),
          c->packed ? ", packed into GEMM panels at compile time" : "");
}

/* Inline: a static const array holding the values. */
static int64_t emit_constant(emitter *e, constant *c) {
  qcc_array a;
  bool borrowed = constant_data(c, &a);
  int64_t n = qcc_array_numel(&a);
  size_t es = qcc_dtype_size(a.dtype);
  print_constant_comment(e, c, &a);
  fprintf(e->c, "static const %s %s[%lld] = {", qcc_dtype_c_type(a.dtype), c->name, (long long)(n ? n : 1));
  for (int64_t i = 0; i < n; i++) {
    fprintf(e->c, i % 8 ? " " : "\n  ");
    print_element(e->c, a.dtype, (const char *)a.data + (size_t)i * es);
    fputc(',', e->c);
  }
  if (n == 0) fprintf(e->c, "0");
  fprintf(e->c, "\n};\n\n");
  if (!borrowed) qcc_array_free(&a);
  return (int64_t)(n * (int64_t)es);
}

/* Appends bytes to the weights file, zero-padded to the file's alignment. */
static void weights_append(emitter *e, const void *data, size_t n) {
  static const unsigned char zeros[QRT_WEIGHTS_ALIGN];
  size_t pad = (QRT_WEIGHTS_ALIGN - n % QRT_WEIGHTS_ALIGN) % QRT_WEIGHTS_ALIGN;
  fwrite(data, 1, n, e->weights);
  fwrite(zeros, 1, pad, e->weights);
  e->weights_size += (int64_t)(n + pad);
}

/* --weights-file: the data goes to the file; model.c gets a pointer that
 * NAME_set_weights aims at it. */
static int64_t emit_constant_pointer(emitter *e, constant *c) {
  qcc_array a;
  bool borrowed = constant_data(c, &a);
  c->file_offset = e->weights_size;
  weights_append(e, a.data, a.nbytes);
  print_constant_comment(e, c, &a);
  fprintf(e->c, "static const %s *%s;\n\n", qcc_dtype_c_type(a.dtype), c->name);
  int64_t bytes = (int64_t)a.nbytes;
  if (!borrowed) qcc_array_free(&a);
  return bytes;
}

static void emit_params(emitter *e, const step *s, int k) {
  const qcc_kernel_info *ki = s->call.kernel;
  fprintf(e->c, "static const %s p%d = {", ki->params_type, k);
  const unsigned char *base = (const unsigned char *)&s->call.params;
  int first = 1;
  for (int f = 0; f < ki->n_fields; f++) {
    const qcc_param_field *fd = &ki->fields[f];
    int last_nonzero = -1;
    for (int i = 0; i < fd->count; i++) {
      const unsigned char *p = base + fd->offset + (size_t)i * (fd->type == 'l' ? 8 : 4);
      bool nz = fd->type == 'l' ? *(const int64_t *)p != 0 : fd->type == 'i' ? *(const int32_t *)p != 0 : *(const float *)p != 0.0f;
      if (nz) last_nonzero = i;
    }
    if (last_nonzero < 0) continue; /* designated initializers zero the rest */
    fprintf(e->c, "%s.%s = ", first ? "" : ", ", fd->name);
    first = 0;
    if (fd->count > 1) fputc('{', e->c);
    for (int i = 0; i <= (fd->count > 1 ? last_nonzero : 0); i++) {
      const unsigned char *p = base + fd->offset + (size_t)i * (fd->type == 'l' ? 8 : 4);
      if (i) fprintf(e->c, ", ");
      if (fd->type == 'l') fprintf(e->c, "%lld", (long long)*(const int64_t *)p);
      else if (fd->type == 'i') fprintf(e->c, "%d", (int)*(const int32_t *)p);
      else print_float(e->c, *(const float *)p, true);
    }
    if (fd->count > 1) fputc('}', e->c);
  }
  if (first) fprintf(e->c, "0");
  fprintf(e->c, "};\n");
}

static void operand_expr(emitter *e, MlirValue v, bool packed, char *out, size_t cap) {
  if (qcc_value_is_constant(v)) {
    snprintf(out, cap, "%s", e->consts[find_const(e, v, packed)].name);
    return;
  }
  value_info *vi = info(e, v);
  switch (vi->kind) {
  case V_ARG: snprintf(out, cap, "in%d", vi->index); break;
  case V_OUT: snprintf(out, cap, "out%d", vi->index); break;
  default: snprintf(out, cap, "ws + %lld", (long long)e->bufs[vi->index].offset); break;
  }
}

/* A call's operand arrays: `(const void *const[]){in...}, (void *const[]){out...}`. */
static void emit_operands(emitter *e, const step *s) {
  char expr[160];
  fprintf(e->c, "(const void *const[]){");
  for (int i = 0; i < s->call.n_in; i++) {
    if (i) fprintf(e->c, ", ");
    if (i == s->call.scratch_slot) {
      if (s->scratch_buf >= 0) fprintf(e->c, "ws + %lld", (long long)e->bufs[s->scratch_buf].offset);
      else fprintf(e->c, "0");
    } else if (mlirValueIsNull(s->call.in[i])) {
      fprintf(e->c, "0");
    } else {
      operand_expr(e, s->call.in[i], i == s->call.packed_slot, expr, sizeof expr);
      fprintf(e->c, "%s", expr);
    }
  }
  operand_expr(e, mlirOperationGetResult(s->op, 0), false, expr, sizeof expr);
  fprintf(e->c, "}, (void *const[]){%s", expr);
  for (int i = 1; i < s->call.n_out; i++) fprintf(e->c, ", 0");
  fprintf(e->c, "}");
}

static void emit_step(emitter *e, const step *s, int k, int ind) {
  char where[256];
  qcc_op_where(s->op, where, sizeof where);
  fprintf(e->c, "%*s/* %s */\n%*s%s(&p%d, ", ind, "", where, ind, "", s->call.kernel->symbol, k);
  emit_operands(e, s);
  fprintf(e->c, ");\n");
}

static void emit_sibling_group(emitter *e, int k, int n, int ind) {
  char where[256];
  for (int j = 0; j < n; j++) {
    qcc_op_where(e->steps[k + j].op, where, sizeof where);
    fprintf(e->c, "%*s/* %s */\n", ind, "", where);
  }
  fprintf(e->c, "%*sqrt_qmatmul_group(%d, (const qrt_qmm_call[]){", ind, "", n);
  for (int j = 0; j < n; j++) {
    const step *s = &e->steps[k + j];
    fprintf(e->c, "%s{&p%d, ", j ? ", " : "", k + j);
    emit_operands(e, s);
    fprintf(e->c, ", %d}", !strcmp(s->call.kernel->symbol, "qrt_qmatmul_i8_f32out"));
  }
  fprintf(e->c, "});\n");
}

/* Opens `if (c0 && !c1 ...) {` for a guarded run of steps (guards.h). */
static void open_guard(emitter *e, const qcc_guard *g) {
  char expr[160];
  fprintf(e->c, "  if (");
  for (int i = 0; i < g->n; i++) {
    operand_expr(e, g->cond[i], false, expr, sizeof expr);
    fprintf(e->c, "%s%s*(const uint8_t *)(%s)", i ? " && " : "", g->side[i] ? "" : "!", expr);
  }
  fprintf(e->c, ") {\n");
}

static void indent(emitter *e, int n) { fprintf(e->c, "%*s", n, ""); }

/* Element t (or trip - 1 - t when reverse) of an array of `bytes`-byte
 * elements at expr, as a byte pointer expression. */
static void element_expr(char *out, size_t cap, const char *expr, bool is_const, int depth, int64_t trip, bool reverse,
                         int64_t bytes) {
  char at[64];
  if (reverse) snprintf(at, sizeof at, "(INT64_C(%lld) - t%d)", (long long)(trip - 1), depth);
  else snprintf(at, sizeof at, "t%d", depth);
  snprintf(out, cap, "(%sunsigned char *)(%s) + (size_t)%s * %lld", is_const ? "const " : "", expr, at,
           (long long)bytes);
}

/* Opens a q.loop: carried values from their initial values, then the
 * `for` with this iteration's number and scan input slices. */
static void emit_loop_open(emitter *e, const step *s, int ind) {
  MlirOperation op = s->op;
  q_loop_attrs a = q_loop_get(op);
  MlirBlock body = loop_body(op);
  int nc = (int)a.num_carried, n_in = (int)mlirOperationGetNumOperands(op) - nc;
  char where[256], src[160], dst[160], el[512];
  qcc_op_where(op, where, sizeof where);
  indent(e, ind);
  fprintf(e->c, "/* %s: %s%lld iterations */\n", where, a.has_cond ? "at most " : "", (long long)a.trip_count);
  for (int j = 0; j < nc; j++) {
    MlirValue x = mlirOperationGetOperand(op, j);
    value_info *vi = info(e, x);
    if (vi && vi->kind == V_BUF && vi->index == s->bufs[j]) continue;
    operand_expr(e, x, false, src, sizeof src);
    indent(e, ind);
    fprintf(e->c, "memcpy(ws + %lld, %s, %lld);\n", (long long)e->bufs[s->bufs[j]].offset, src,
            (long long)value_bytes(x));
  }
  indent(e, ind);
  fprintf(e->c, "for (int64_t t%d = 0; t%d < INT64_C(%lld); t%d++) {\n", s->depth, s->depth, (long long)a.trip_count,
          s->depth);
  if (!mlirOpOperandIsNull(mlirValueGetFirstUse(mlirBlockGetArgument(body, 0)))) {
    indent(e, ind + 2);
    fprintf(e->c, "memcpy(ws + %lld, &t%d, sizeof t%d);\n", (long long)e->bufs[s->iter_buf].offset, s->depth, s->depth);
  }
  for (int i = 0; i < n_in; i++) {
    MlirValue arg = mlirBlockGetArgument(body, 1 + nc + i);
    if (mlirOpOperandIsNull(mlirValueGetFirstUse(arg))) continue;
    int64_t bytes = value_bytes(arg);
    operand_expr(e, mlirOperationGetOperand(op, nc + i), false, src, sizeof src);
    element_expr(el, sizeof el, src, true, s->depth, a.trip_count, i < a.scan_in_reverse.n && a.scan_in_reverse.v[i],
                 bytes);
    snprintf(dst, sizeof dst, "ws + %lld", (long long)e->bufs[s->bufs[nc + i]].offset);
    indent(e, ind + 2);
    fprintf(e->c, "memcpy(%s, %s, %lld);\n", dst, el, (long long)bytes);
  }
}

/* Ends an iteration: scan output slices out, then the carried values'
 * next values in (through their staging buffers where one is set); with a
 * condition, read before those copies, the loop ends when it is false. */
static void emit_loop_close(emitter *e, const step *s, int ind) {
  const step *l = &e->steps[s->loop];
  MlirOperation op = s->op, yield = loop_yield(op);
  q_loop_attrs a = q_loop_get(op);
  int nc = (int)a.num_carried, n_res = (int)mlirOperationGetNumResults(op), c = a.has_cond != 0;
  char src[160], dst[160], el[512];
  if (c) {
    operand_expr(e, mlirOperationGetOperand(yield, 0), false, src, sizeof src);
    indent(e, ind + 2);
    fprintf(e->c, "const int go%d = *(const uint8_t *)(%s) != 0;\n", l->depth, src);
  }
  for (int r = nc; r < n_res; r++) {
    MlirValue y = mlirOperationGetOperand(yield, c + r);
    int64_t bytes = value_bytes(y);
    operand_expr(e, y, false, src, sizeof src);
    operand_expr(e, mlirOperationGetResult(op, r), false, dst, sizeof dst);
    int k = r - nc;
    element_expr(el, sizeof el, dst, false, l->depth, a.trip_count, k < a.scan_out_reverse.n && a.scan_out_reverse.v[k],
                 bytes);
    indent(e, ind + 2);
    fprintf(e->c, "memcpy(%s, %s, %lld);\n", el, src, (long long)bytes);
  }
  for (int pass = 0; pass < 3; pass++) /* into staging; direct; out of staging */
    for (int j = 0; j < nc; j++) {
      MlirValue y = mlirOperationGetOperand(yield, c + j);
      value_info *vi = info(e, y);
      int64_t bytes = value_bytes(y), to = e->bufs[l->bufs[j]].offset;
      bool staged = s->bufs[j] >= 0;
      if (pass == 1 && (staged || (vi && vi->kind == V_BUF && vi->index == l->bufs[j]))) continue;
      if (pass != 1 && !staged) continue;
      operand_expr(e, y, false, src, sizeof src);
      indent(e, ind + 2);
      if (pass == 0) fprintf(e->c, "memcpy(ws + %lld, %s, %lld);\n", (long long)e->bufs[s->bufs[j]].offset, src, (long long)bytes);
      else if (pass == 1) fprintf(e->c, "memcpy(ws + %lld, %s, %lld);\n", (long long)to, src, (long long)bytes);
      else fprintf(e->c, "memcpy(ws + %lld, ws + %lld, %lld);\n", (long long)to, (long long)e->bufs[s->bufs[j]].offset,
                   (long long)bytes);
    }
  if (c) {
    indent(e, ind + 2);
    fprintf(e->c, "if (!go%d) break;\n", l->depth);
  }
  indent(e, ind);
  fprintf(e->c, "}\n");
}

/* The steps in order; those of one If branch (the same guard, in a row)
 * under one `if`, so only the taken branch runs. A loop's body runs under
 * the loop's guard: its steps have none of their own. */
static void emit_steps(emitter *e) {
  qcc_guards *guards = qcc_guards_compute(e->body);
  const qcc_guard *open = NULL;
  for (int k = 0; k < e->n_steps; k++) {
    const step *s = &e->steps[k];
    if (s->loop < 0) {
      const qcc_guard *g = qcc_guard_of(guards, s->op);
      if (open && !qcc_guard_equal(open, g)) {
        fprintf(e->c, "  }\n");
        open = NULL;
      }
      if (!open && g->n) open_guard(e, open = g);
    }
    int ind = 2 + (open ? 2 : 0) + 2 * s->depth;
    if (s->kind == STEP_LOOP) {
      emit_loop_open(e, s, ind);
      continue;
    }
    if (s->kind == STEP_END) {
      emit_loop_close(e, s, ind);
      continue;
    }
    if (s->view) {
      char where[256], expr[160];
      qcc_op_where(s->op, where, sizeof where);
      operand_expr(e, mlirOperationGetResult(s->op, 0), false, expr, sizeof expr);
      indent(e, ind);
      fprintf(e->c, "/* %s: a view of %s (no copy) */\n", where, expr);
      continue;
    }
    if (s->group > 1) {
      emit_sibling_group(e, k, s->group, ind);
      k += s->group - 1;
      continue;
    }
    emit_step(e, s, k, ind);
  }
  if (open) fprintf(e->c, "  }\n");
  qcc_guards_free(guards);
}

/* The runtime: qrt_dtype.h, qrt.h, then each needed kernel file once. */
static const char *runtime_text(const char *file) {
  for (const qcc_runtime_source *s = qcc_runtime_sources; s->name; s++)
    if (!strcmp(s->name, file)) return s->text;
  return NULL;
}

static void paste_runtime_file(emitter *e, const char *file) {
  const char *text = runtime_text(file);
  fprintf(e->c, "/* ---- runtime/%s ---- */\n", file);
  for (const char *line = text; line && *line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
    bool local_include = !strncmp(line, "#include \"", 10);
    if (!local_include) fwrite(line, 1, len, e->c);
    line += len;
  }
  fputc('\n', e->c);
}

typedef struct pasted_files {
  const char *names[64];
  int n;
} pasted_files;

/* Pastes `file` once, after the files it calls into (QRT_FILE_DEPS, followed
 * transitively). */
static void paste_with_deps(emitter *e, const char *file, pasted_files *done) {
  for (int j = 0; j < done->n; j++)
    if (!strcmp(done->names[j], file)) return;
#define DEP(f, needs) if (!strcmp(file, f)) paste_with_deps(e, needs, done);
  QRT_FILE_DEPS(DEP)
#undef DEP
  if (done->n < 64) done->names[done->n++] = file;
  if (e->o->runtime_inline) paste_runtime_file(e, file);
}

/* The runtime: pasted (only the files the model needs), or included from
 * the runtime library; either way the same files are walked, so the API
 * that depends on them (NAME_set_parallel_for) is the same. */
static void emit_runtime(emitter *e) {
  if (!e->o->runtime_inline) {
    fprintf(e->c, "#include \"qrt.h\"\n\n");
  } else {
    /* Only some kernel files are pasted, so qrt.h's prototypes are left
     * out (unused static declarations warn) and every file follows the
     * files it calls into (QRT_FILE_DEPS). */
    fprintf(e->c, "#define QRT_API static QRT_MAYBE_UNUSED\n#define QRT_NO_PROTOTYPES\n");
    if (e->o->threads > 1)
      fprintf(e->c, "#ifndef QRT_THREADS /* qcc --threads: link with -pthread, or define QRT_NO_PTHREADS */\n"
                    "#define QRT_THREADS %d\n#endif\n", e->o->threads);
    paste_runtime_file(e, "qrt_dtype.h");
    paste_runtime_file(e, "qrt.h");
  }
  const char *files[64];
  int n = 0;
  for (int k = 0; k < e->n_steps; k++) {
    bool have = false;
    if (e->steps[k].view || e->steps[k].kind != STEP_CALL) continue;
    for (int i = 0; i < n; i++) have |= !strcmp(files[i], e->steps[k].call.kernel->file);
    if (!have && n < 64) files[n++] = e->steps[k].call.kernel->file;
  }
  for (int i = 0; i < n; i++) /* alphabetical, for a stable output */
    for (int j = i + 1; j < n; j++)
      if (strcmp(files[j], files[i]) < 0) {
        const char *t = files[i];
        files[i] = files[j];
        files[j] = t;
      }
  if (e->weights && n < 64) files[n++] = "qrt_weights.c";
  pasted_files done = {{NULL}, 0};
  for (int i = 0; i < n; i++) paste_with_deps(e, files[i], &done);
  for (int i = 0; i < done.n; i++) e->parallel |= !strcmp(done.names[i], "qrt_parallel.c");
}

/* The file name of path without its folders (what generated files name). */
static const char *file_base(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

static void io_name(MlirOperation func, const char *attr, int i, char *out, size_t cap) {
  MlirAttribute a = mlirOperationGetAttributeByName(func, mlirStringRefCreateFromCString(attr));
  if (!mlirAttributeIsNull(a) && mlirAttributeIsAArray(a) && i < mlirArrayAttrGetNumElements(a)) {
    MlirStringRef s = mlirStringAttrGetValue(mlirArrayAttrGetElement(a, i));
    snprintf(out, cap, "%.*s", (int)s.length, s.data);
  } else {
    snprintf(out, cap, "%s%d", attr[5] == 'i' ? "input" : "output", i);
  }
}

static void upper(const char *in, char *out, size_t cap) {
  size_t i = 0;
  for (; in[i] && i + 1 < cap; i++) out[i] = (char)toupper((unsigned char)in[i]);
  out[i] = 0;
}

/* The signature, with parameters named in0.., out0.. and typed. */
static void emit_signature(emitter *e, FILE *f, const char *suffix, bool with_ws) {
  MlirOperation ret = mlirBlockGetTerminator(e->body);
  fprintf(f, "int %s_%s(", e->o->name, suffix);
  for (int i = 0; i < e->n_args; i++) {
    qcc_shape s;
    qcc_shape_of(mlirBlockGetArgument(e->body, i), &s);
    fprintf(f, "%sconst %s *in%d", i ? ", " : "", qcc_dtype_c_type(s.dtype), i);
  }
  for (int j = 0; j < e->n_outs; j++) {
    qcc_shape s;
    qcc_shape_of(mlirOperationGetOperand(ret, j), &s);
    fprintf(f, "%s%s *out%d", e->n_args + j ? ", " : "", qcc_dtype_c_type(s.dtype), j);
  }
  if (with_ws) fprintf(f, ", void *workspace");
  fprintf(f, ")");
}

/* The q.kv_store that reads or makes v (a packed KV cache input or
 * output, --kv-bits), or a null op. */
static MlirOperation kv_store_of(MlirValue v) {
  MlirOperation none = {NULL};
  if (mlirValueIsAOpResult(v)) return q_kv_store_is(mlirOpResultGetOwner(v)) ? mlirOpResultGetOwner(v) : none;
  for (MlirOpOperand u = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u))
    if (q_kv_store_is(mlirOpOperandGetOwner(u)) && mlirOpOperandGetOperandNumber(u) == 0) return mlirOpOperandGetOwner(u);
  return none;
}

/* What a packed KV cache's bytes are, for the caller. */
static void emit_kv_note(emitter *e, MlirValue v, const qcc_shape *s) {
  MlirOperation st = kv_store_of(v);
  if (mlirOperationIsNull(st)) return;
  q_kv_store_attrs a = q_kv_store_get(st);
  fprintf(e->h, ":\n * a KV cache (qcc --kv-bits %lld): float [", (long long)a.bits);
  for (int d = 0; d < s->rank; d++)
    fprintf(e->h, "%s%lld", d ? ", " : "", (long long)(d == s->rank - 1 ? a.row_len : s->dims[d]));
  fprintf(e->h, "] as rows of %s and %lld %s codes (runtime/qrt.h\n * QRT_KV_PARAMS); "
                "all-zero bytes hold zeros",
          a.bits == 4 ? "a float scale, a float minimum" : "a float scale", (long long)a.row_len,
          a.bits == 4 ? "uint4" : "int8");
}

static void emit_shape_macros(emitter *e, MlirOperation func, const char *NAME, const char *tag, int i, MlirValue v) {
  qcc_shape s;
  char onnx_name[128];
  qcc_shape_of(v, &s);
  io_name(func, tag[0] == 'I' ? "onnx.input_names" : "onnx.output_names", i, onnx_name, sizeof onnx_name);
  fprintf(e->h, "/* %s %d: '%s', %s", tag[0] == 'I' ? "input" : "output", i, onnx_name, qcc_dtype_c_type(s.dtype));
  emit_kv_note(e, v, &s);
  fprintf(e->h, " */\n");
  fprintf(e->h, "#define %s_%s%d_RANK %d\n#define %s_%s%d_SHAPE {", NAME, tag, i, s.rank, NAME, tag, i);
  for (int d = 0; d < s.rank; d++) fprintf(e->h, "%s%lld", d ? ", " : "", (long long)s.dims[d]);
  fprintf(e->h, "%s}\n#define %s_%s%d_SIZE %lld\n", s.rank ? "" : "1", NAME, tag, i, (long long)qcc_shape_numel(&s));
  fprintf(e->h, "#define %s_%s%d_TYPE %s\n", NAME, tag, i, qcc_dtype_c_type(s.dtype));
}

/* NAME_INi_MAY_ALIAS_OUTj for the pairs io_alias.c proves safe. */
static void emit_alias_macros(emitter *e, MlirOperation func, const char *NAME) {
  enum { MAX_PAIRS = 256 };
  qcc_io_alias pairs[MAX_PAIRS];
  int n = qcc_io_aliases(func, pairs, MAX_PAIRS);
  if (!n) return;
  fprintf(e->h, "\n/* Inputs that may be the same buffer as an output (state updated in place,\n"
                " * e.g. a KV cache: nothing is copied then).  Any of the pairs may be\n"
                " * aliased at once; all other buffers must not overlap. */\n");
  for (int k = 0; k < n; k++) fprintf(e->h, "#define %s_IN%d_MAY_ALIAS_OUT%d 1\n", NAME, pairs[k].in, pairs[k].out);
}

static void emit_header(emitter *e, MlirOperation func, int64_t arena) {
  char NAME[128];
  upper(e->o->name, NAME, sizeof NAME);
  MlirOperation ret = mlirBlockGetTerminator(e->body);
  fprintf(e->h, "/* Generated by qcc. Model API: see docs/generated-c.md. */\n#ifndef %s_H\n#define %s_H\n\n"
                "#include <stddef.h>\n#include <stdint.h>\n\n", NAME, NAME);
  for (int i = 0; i < e->n_args; i++) emit_shape_macros(e, func, NAME, "IN", i, mlirBlockGetArgument(e->body, i));
  for (int j = 0; j < e->n_outs; j++) emit_shape_macros(e, func, NAME, "OUT", j, mlirOperationGetOperand(ret, j));
  emit_alias_macros(e, func, NAME);
  fprintf(e->h, "\n/* Bytes of workspace %s_run_ws needs (8-byte aligned). */\n#define %s_WORKSPACE_SIZE %lld\n\n",
          e->o->name, NAME, (long long)arena);
  fprintf(e->h, "/* Runs the model: inputs then outputs in ONNX graph order. Returns 0.\n"
                " * Uses a static workspace, so it is not re-entrant; see _run_ws. */\n");
  emit_signature(e, e->h, "run", false);
  fprintf(e->h, ";\n\n/* Re-entrant: the caller provides %s_WORKSPACE_SIZE bytes. Returns 0, or\n"
                " * -1 if workspace is NULL or not 8-byte aligned. */\n", NAME);
  emit_signature(e, e->h, "run_ws", true);
  fprintf(e->h, ";\n");
  if (e->parallel)
    fprintf(e->h, "\n/* Parallel GEMMs: %s_set_parallel_for installs the program's parallel-for\n"
                  " * (run task(ctx, i) for all i < n, `width` at a time; NULL: back to the\n"
                  " * built-in one: qcc --threads N threads, or none). Results are the same\n"
                  " * bits for any parallel-for and width. */\n"
                  "typedef void (*%s_parallel_for_fn)(void *user, int64_t n, void (*task)(void *ctx, int64_t i), "
                  "void *ctx);\n"
                  "void %s_set_parallel_for(%s_parallel_for_fn parallel_for, void *user, int width);\n",
            e->o->name, e->o->name, e->o->name, e->o->name);
  if (e->weights) {
    const char *bin = file_base(e->o->weights_path);
    fprintf(e->h, "\n/* The weights are in %s, %s_WEIGHTS_SIZE bytes (qcc --weights-file).\n"
                  " * %s_set_weights checks and installs them: data must be 64-byte aligned\n"
                  " * (mmap, posix_memalign or the linked-in %s_weights_data give that) and\n"
                  " * stay valid while the model runs.  Returns 0, or -1 for a wrong size,\n"
                  " * alignment, version or checksum.  %s_run returns -1 until it succeeded. */\n"
                  "#define %s_WEIGHTS_SIZE %lld\n"
                  "int %s_set_weights(const void *data, size_t size);\n",
            bin, NAME, e->o->name, e->o->name, e->o->name, NAME, (long long)e->weights_size, e->o->name);
    if (e->o->asm_path)
      fprintf(e->h, "/* The weights file's bytes, when the assembler file qcc wrote is linked in. */\n"
                    "extern const unsigned char %s_weights_data[];\n", e->o->name);
  }
  fprintf(e->h, "\n#endif\n");
}

/* The header's place, filled in by emit_set_weights once the size and the
 * checksum are known. */
static void weights_begin(emitter *e) {
  static const unsigned char zeros[QRT_WEIGHTS_HEADER];
  fwrite(zeros, 1, sizeof zeros, e->weights);
  e->weights_size = QRT_WEIGHTS_HEADER;
}

static void put_le(unsigned char *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> 8 * i);
}

/* Reads the file back for its checksum (the runtime's own function, so
 * writer and reader cannot disagree), writes the header, and emits
 * NAME_set_weights, which checks the file and aims each pointer into it. */
static int emit_set_weights(emitter *e) {
  uint64_t state[2] = {1, 0};
  unsigned char *chunk = malloc(1 << 20);
  size_t got;
  fflush(e->weights);
  fseek(e->weights, QRT_WEIGHTS_HEADER, SEEK_SET);
  while ((got = fread(chunk, 1, 1 << 20, e->weights)) > 0) qrt_weights_checksum_update(state, chunk, got);
  free(chunk);
  uint64_t sum = qrt_weights_checksum_final(state);
  unsigned char header[QRT_WEIGHTS_HEADER] = {0};
  memcpy(header, QRT_WEIGHTS_MAGIC, 8);
  put_le(header + 8, QRT_WEIGHTS_VERSION, 4);
  put_le(header + 12, QRT_WEIGHTS_HEADER, 4);
  put_le(header + 16, (uint64_t)e->weights_size, 8);
  put_le(header + 24, sum, 8);
  fseek(e->weights, 0, SEEK_SET);
  fwrite(header, 1, sizeof header, e->weights);
  if (fflush(e->weights) || ferror(e->weights)) {
    qcc_error("cannot write %s", e->o->weights_path);
    return -1;
  }
  fprintf(e->c, "static int weights_ready;\n\nint %s_set_weights(const void *data, size_t size) {\n"
                "  const unsigned char *d = (const unsigned char *)data;\n"
                "  if (qrt_weights_check(data, size, UINT64_C(%llu), UINT64_C(%llu))) return -1;\n",
          e->o->name, (unsigned long long)e->weights_size, (unsigned long long)sum);
  for (int i = 0; i < e->n_consts; i++)
    fprintf(e->c, "  %s = (const %s *)(const void *)(d + %lld);\n", e->consts[i].name,
            qcc_dtype_c_type(e->consts[i].dtype), (long long)e->consts[i].file_offset);
  fprintf(e->c, "  weights_ready = 1;\n  return 0;\n}\n\n");
  return 0;
}

static int emit_source(emitter *e, MlirOperation func, qcc_emit_stats *st) {
  char NAME[128];
  upper(e->o->name, NAME, sizeof NAME);
  MlirOperation ret = mlirBlockGetTerminator(e->body);
  const char *h_base = file_base(e->o->h_path);
  fprintf(e->c, "/* Generated by qcc: %d kernel calls; workspace %lld bytes (intermediates and\n"
                " * scratch total %lld bytes before liveness planning). */\n",
          st->steps, (long long)st->arena_bytes, (long long)st->intermediate_bytes);
  fprintf(e->c, "#include <math.h>\n#include <stdint.h>\n#include <string.h>\n\n#include \"%s\"\n\n", h_base);
  emit_runtime(e);
  fprintf(e->c, "/* ---- weights ---- */\n");
  st->weight_bytes = 0;
  if (e->weights) weights_begin(e);
  for (int i = 0; i < e->n_consts; i++)
    st->weight_bytes += e->weights ? emit_constant_pointer(e, &e->consts[i]) : emit_constant(e, &e->consts[i]);
  if (e->weights && emit_set_weights(e)) return -1;
  fprintf(e->c, "/* ---- kernel parameters ---- */\n");
  for (int k = 0; k < e->n_steps; k++)
    if (!e->steps[k].view && e->steps[k].kind == STEP_CALL) emit_params(e, &e->steps[k], k);
  fprintf(e->c, "\n");
  emit_signature(e, e->c, "run_ws", true);
  fprintf(e->c, " {\n  unsigned char *ws = (unsigned char *)workspace;\n"
                "  if (!ws || (uintptr_t)ws %% 8%s) return -1;\n", e->weights ? " || !weights_ready" : "");
  emit_steps(e);
  /* Outputs not written by a call: graph inputs, constants, repeats. */
  for (int j = 0; j < e->n_outs; j++) {
    MlirValue v = mlirOperationGetOperand(ret, j);
    value_info *vi = info(e, v);
    if (vi && vi->kind == V_OUT && vi->index == j) continue;
    qcc_shape s;
    qcc_shape_of(v, &s);
    char expr[160];
    operand_expr(e, v, false, expr, sizeof expr);
    fprintf(e->c, "  memcpy(out%d, %s, %lld);\n", j, expr, (long long)(qcc_shape_numel(&s) * (int64_t)qcc_dtype_size(s.dtype)));
  }
  fprintf(e->c, "  (void)ws;\n  return 0;\n}\n\n");
  fprintf(e->c, "static union {\n  double align;\n  unsigned char bytes[%lld];\n} %s_arena;\n\n",
          (long long)(st->arena_bytes ? st->arena_bytes : 1), e->o->name);
  emit_signature(e, e->c, "run", false);
  fprintf(e->c, " {\n  return %s_run_ws(", e->o->name);
  for (int i = 0; i < e->n_args; i++) fprintf(e->c, "in%d, ", i);
  for (int j = 0; j < e->n_outs; j++) fprintf(e->c, "out%d, ", j);
  fprintf(e->c, "%s_arena.bytes);\n}\n", e->o->name);
  if (e->parallel)
    fprintf(e->c, "\nvoid %s_set_parallel_for(%s_parallel_for_fn parallel_for, void *user, int width) {\n"
                  "  qrt_set_parallel_for(parallel_for, user, width);\n}\n", e->o->name, e->o->name);
  (void)func;
  return 0;
}

/* FILE.S: the weights file linked in with .incbin, so a build links the
 * data without a C compiler parsing it.  The assembler finds the file in
 * its include path (cc -Wa,-I,DIR) or where it runs; -DQCC_WEIGHTS_BIN=
 * '"PATH"' names another.  ELF and Mach-O spell sections and symbols
 * differently; the preprocessor (.S, not .s) picks. */
static int emit_weights_asm(emitter *e) {
  FILE *f = fopen(e->o->asm_path, "w");
  if (!f) return qcc_error("cannot write %s", e->o->asm_path), -1;
  const char *bin = file_base(e->o->weights_path);
  const char *n = e->o->name;
  fprintf(f, "/* Generated by qcc: %s_weights_data, the bytes of %s (%lld bytes). */\n"
             "#ifndef QCC_WEIGHTS_BIN\n#define QCC_WEIGHTS_BIN \"%s\"\n#endif\n"
             "#if defined(__APPLE__)\n"
             "  .const_data\n  .globl _%s_weights_data\n  .p2align 6\n_%s_weights_data:\n  .incbin QCC_WEIGHTS_BIN\n"
             "#else\n"
             "  .section .rodata\n  .globl %s_weights_data\n  .balign 64\n%s_weights_data:\n  .incbin QCC_WEIGHTS_BIN\n"
             "#if defined(__ELF__)\n  .type %s_weights_data, %%object\n"
             "  .size %s_weights_data, . - %s_weights_data\n"
             "  .section .note.GNU-stack,\"\",%%progbits\n#endif\n"
             "#endif\n",
          n, bin, (long long)e->weights_size, bin, n, n, n, n, n, n, n);
  return fclose(f) ? (qcc_error("cannot write %s", e->o->asm_path), -1) : 0;
}

/* 2 x multiply-adds of the GEMM-like calls (float or int8), for GFLOP/s. */
static int64_t call_flops(const qcc_call *c) {
  if (!strcmp(c->kernel->params_type, "qrt_conv_params")) {
    const qrt_conv_params *p = &c->params.conv;
    int64_t f = 2 * p->n * p->c_out * (p->c_in / p->group);
    for (int i = 0; i < 3; i++) f *= p->out_spatial[i] * p->kernel[i];
    return f;
  }
  if (!strcmp(c->kernel->params_type, "qrt_qconv_params")) {
    const qrt_qconv_params *p = &c->params.qconv;
    int64_t f = 2 * p->n * p->c_out * (p->c_in / p->group);
    for (int i = 0; i < 3; i++) f *= p->out_spatial[i] * p->kernel[i];
    return f;
  }
  if (!strcmp(c->kernel->params_type, "qrt_qmatmul_params")) {
    const qrt_qmatmul_params *p = &c->params.qmatmul;
    int64_t f = 2 * p->M * p->N * p->K;
    for (int i = 0; i < p->batch_rank; i++) f *= p->batch_shape[i];
    return f;
  }
  if (!strcmp(c->kernel->params_type, "qrt_matmul_params")) {
    const qrt_matmul_params *p = &c->params.matmul;
    int64_t f = 2 * p->M * p->N * p->K;
    for (int i = 0; i < p->batch_rank; i++) f *= p->batch_shape[i];
    return f;
  }
  return 0;
}

int qcc_emit_c(MlirModule m, const qcc_emit_options *o, qcc_emit_stats *stats) {
  emitter e;
  memset(&e, 0, sizeof e);
  e.o = o;
  qcc_ptr_map_init(&e.values);
  qcc_ptr_map_init(&e.loop_step);
  qcc_ptr_map_init(&e.const_of[0]);
  qcc_ptr_map_init(&e.const_of[1]);
  qcc_name_map_init(&e.used_names);
  MlirOperation func = qcc_module_func(m);
  int rc = analyse(&e, func);
  qcc_emit_stats st;
  memset(&st, 0, sizeof st);
  if (!rc) {
    for (int i = 0; i < e.n_bufs; i++) st.intermediate_bytes += e.bufs[i].size;
    st.arena_bytes = qcc_plan_memory(e.bufs, e.n_bufs, ARENA_ALIGN);
    for (int k = 0; k < e.n_steps; k++) st.steps += !e.steps[k].view && e.steps[k].kind == STEP_CALL;
    for (int k = 0; k < e.n_steps; k++) { /* per run: a loop body's calls count once per iteration */
      if (e.steps[k].kind != STEP_CALL) continue;
      int64_t f = call_flops(&e.steps[k].call);
      for (int l = e.steps[k].loop; l >= 0; l = e.steps[l].loop) f *= q_loop_get(e.steps[l].op).trip_count;
      st.flops += f;
    }
    e.c = fopen(o->c_path, "w");
    e.h = fopen(o->h_path, "w");
    if (o->weights_path) e.weights = fopen(o->weights_path, "w+b");
    if (!e.c || !e.h || (o->weights_path && !e.weights)) {
      qcc_error("cannot write %s", !e.c ? o->c_path : !e.h ? o->h_path : o->weights_path);
      rc = -1;
    } else {
      rc = emit_source(&e, func, &st); /* first: the header states the weights file's size */
      if (!rc) emit_header(&e, func, st.arena_bytes);
      if (!rc && o->asm_path) rc = emit_weights_asm(&e);
      st.weights_file_bytes = e.weights_size;
    }
    if (e.c) fclose(e.c);
    if (e.h) fclose(e.h);
    if (e.weights) fclose(e.weights);
  }
  for (size_t i = 0; i < e.values.cap; i++) free(e.values.vals[i]);
  qcc_ptr_map_free(&e.values);
  qcc_ptr_map_free(&e.loop_step);
  qcc_ptr_map_free(&e.const_of[0]);
  qcc_ptr_map_free(&e.const_of[1]);
  qcc_name_map_free(&e.used_names);
  for (int k = 0; k < e.n_steps; k++) free(e.steps[k].bufs);
  free(e.steps);
  free(e.consts);
  free(e.bufs);
  if (stats) *stats = st;
  return rc;
}
