/* legalize_loop.h - shared by legalize_loop.c (unrolling) and
 * legalize_loop_region.c (q.loop, a loop in the generated C). */
#ifndef QCC_LEGALIZE_LOOP_H
#define QCC_LEGALIZE_LOOP_H

#include "onnx_rules.h"

/* A Scan node's form, read from its attributes and inputs. */
typedef struct scan_form {
  int n_state, n_in, n_out; /* states, scan inputs, scan outputs */
  int first;                /* index of the first state among the operands (opset 8: 1) */
  int64_t batch;            /* opset 8: the batch extent, else 1 with no batch axis */
  int64_t len;              /* the sequence length */
  q_i64s in_axes, in_dirs, out_axes, out_dirs;
} scan_form;

/* The ops a body holds (without its terminator): what one unrolled copy
 * costs, before legalization. */
int64_t onnx_body_ops(MlirOperation op);

/* Loop (trip count `trip` >= 1, INT64_MAX when it has none; initial
 * condition absent or the constant true) and
 * Scan (opset 9 or later) as one q.loop: the body is legalized in place,
 * then moved into the q.loop's region; the node is replaced and erased. */
int onnx_loop_region(onnx_node *n, int64_t trip);
int onnx_scan_region(onnx_node *n, const scan_form *f);

/* Tries one of those (f: the Scan's form; NULL: a Loop of `trip`
 * iterations) on a copy of the node, its errors held: 1 when the node is
 * a q.loop now; 0 when its body cannot be one (why[cap] says why: an op
 * that needs the iteration number at compile time), the node unchanged,
 * to be unrolled. */
int onnx_try_c_loop(onnx_node *n, int64_t trip, const scan_form *f, char *why, size_t cap);

#endif
