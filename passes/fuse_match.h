/* fuse_match.h - the use-def questions the fuse-* passes ask while they
 * match a chain of ops (one copy for fuse_affine, fuse_norms,
 * fuse_activations and fuse_attention). */
#ifndef QCC_FUSE_MATCH_H
#define QCC_FUSE_MATCH_H
#include <string.h>

#include "passes.h"

/* The op that defines v, or a null op (a block argument). */
static inline MlirOperation def(MlirValue v) {
  MlirOperation none = {NULL};
  return mlirValueIsAOpResult(v) ? mlirOpResultGetOwner(v) : none;
}

static inline bool single_use(MlirValue v) {
  MlirOpOperand u = mlirValueGetFirstUse(v);
  return !mlirOpOperandIsNull(u) && mlirOpOperandIsNull(mlirOpOperandGetNextUse(u));
}

/* The only op that uses v, or a null op. */
static inline MlirOperation sole_user(MlirValue v) {
  MlirOperation none = {NULL};
  return single_use(v) ? mlirOpOperandGetOwner(mlirValueGetFirstUse(v)) : none;
}

static inline bool is_binary(MlirOperation op, const char *kind) {
  return !mlirOperationIsNull(op) && q_binary_is(op) && !strcmp(q_binary_get(op).kind.s, kind);
}
#endif
