/* q_dialect_support.h - the small runtime the generated op builders and
 * accessors (q_ops.gen.c) are written against, and dialect loading. */
#ifndef Q_DIALECT_SUPPORT_H
#define Q_DIALECT_SUPPORT_H
#include <mlir-c/IR.h>
#include <stdbool.h>
#include "q_ops.gen.h"

/* Loads the IRDL-defined q dialect into ctx; returns false on failure. */
bool q_dialect_load(MlirContext ctx);

/* True if op's name is exactly `name`. */
bool q_op_named(MlirOperation op, const char *name);

enum { Q_BUILDER_MAX_OPERANDS = 256, Q_BUILDER_MAX_ATTRS = 16 };

typedef struct q_op_builder {
  const char *name;
  MlirLocation loc;
  MlirType result;
  MlirContext ctx;
  intptr_t n_operands;
  MlirValue operands[Q_BUILDER_MAX_OPERANDS];
  int n_groups;
  int32_t group_sizes[16];
  int n_attrs;
  MlirNamedAttribute attrs[Q_BUILDER_MAX_ATTRS];
  const MlirType *results; /* variadic results (q.loop): these instead of `result` */
  intptr_t n_results;
  int n_regions;
  MlirRegion regions[2];
} q_op_builder;

void q_builder_init(q_op_builder *b, const char *name, MlirLocation loc, MlirType result);
void q_builder_operands(q_op_builder *b, const MlirValue *v, intptr_t n);
void q_builder_optional(q_op_builder *b, MlirValue v_or_null);
void q_builder_i64s(q_op_builder *b, const char *name, const q_i64s *v);
void q_builder_i64(q_op_builder *b, const char *name, int64_t v);
void q_builder_f64(q_op_builder *b, const char *name, double v);
void q_builder_str(q_op_builder *b, const char *name, const char *v);
void q_builder_attr(q_op_builder *b, const char *name, MlirAttribute v);
/* Variadic results: the op gets these n types instead of init's one. */
void q_builder_results(q_op_builder *b, const MlirType *types, intptr_t n);
/* A region the op takes ownership of. */
void q_builder_region(q_op_builder *b, MlirRegion r);
/* Creates the (detached) operation; with_segments (the number of optional
 * or variadic operand groups, at most 2) adds operandSegmentSizes, and with
 * 2 also operand_segment_sizes, the name IRDL's verifier reads. */
MlirOperation q_builder_finish(q_op_builder *b, int with_segments);

q_i64s q_attr_i64s(MlirOperation op, const char *name);
int64_t q_attr_i64(MlirOperation op, const char *name);
double q_attr_f64(MlirOperation op, const char *name);
q_str q_attr_str(MlirOperation op, const char *name);
MlirAttribute q_attr_any(MlirOperation op, const char *name);

/* Operand group k of an op whose declared groups have the given kinds
 * (0 single, 1 optional, 2 variadic): the i-th value of the group, or a null
 * value when the group is empty. */
MlirValue q_operand_group(MlirOperation op, const int *kinds, int n_groups, int k, intptr_t i);
intptr_t q_operand_group_size(MlirOperation op, const int *kinds, int n_groups, int k);

#endif
