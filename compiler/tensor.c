/* tensor.c - tensor types, dense constants and q.constant values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qcc.h"

#include <mlir-c/Dialect/Quant.h>

int64_t qcc_shape_numel(const qcc_shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++)
    if (__builtin_mul_overflow(n, s->dims[i], &n)) return INT64_MAX;
  return n;
}

bool qcc_shape_same_dims(const qcc_shape *a, const qcc_shape *b) {
  return a->rank == b->rank && !memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank);
}

const char *qcc_dtype_c_type(qrt_dtype t) {
  switch (t) {
  case QRT_F32: return "float";
  case QRT_F64: return "double";
  case QRT_I8: return "int8_t";
  case QRT_U8: case QRT_BOOL: return "uint8_t";
  case QRT_I16: return "int16_t";
  case QRT_U16: case QRT_F16: case QRT_BF16: return "uint16_t";
  case QRT_I32: return "int32_t";
  case QRT_U32: return "uint32_t";
  case QRT_I64: return "int64_t";
  case QRT_U64: return "uint64_t";
  default: return "void";
  }
}

MlirType qcc_element_type(MlirContext ctx, qrt_dtype dt) {
  switch (dt) {
  case QRT_F32: return mlirF32TypeGet(ctx);
  case QRT_F64: return mlirF64TypeGet(ctx);
  case QRT_F16: return mlirF16TypeGet(ctx);
  case QRT_BF16: return mlirBF16TypeGet(ctx);
  case QRT_I8: return mlirIntegerTypeGet(ctx, 8);
  case QRT_I16: return mlirIntegerTypeGet(ctx, 16);
  case QRT_I32: return mlirIntegerTypeGet(ctx, 32);
  case QRT_I64: return mlirIntegerTypeGet(ctx, 64);
  case QRT_U8: return mlirIntegerTypeUnsignedGet(ctx, 8);
  case QRT_U16: return mlirIntegerTypeUnsignedGet(ctx, 16);
  case QRT_U32: return mlirIntegerTypeUnsignedGet(ctx, 32);
  case QRT_U64: return mlirIntegerTypeUnsignedGet(ctx, 64);
  case QRT_BOOL: return mlirIntegerTypeGet(ctx, 1);
  default: return mlirNoneTypeGet(ctx);
  }
}

qrt_dtype qcc_dtype_of_element(MlirType t) {
  /* Quantized element types are stored as their storage integers. */
  if (mlirTypeIsAQuantizedType(t)) t = mlirQuantizedTypeGetStorageType(t);
  if (mlirTypeIsAF32(t)) return QRT_F32;
  if (mlirTypeIsAF64(t)) return QRT_F64;
  if (mlirTypeIsAF16(t)) return QRT_F16;
  if (mlirTypeIsABF16(t)) return QRT_BF16;
  if (mlirTypeIsAInteger(t)) {
    unsigned w = mlirIntegerTypeGetWidth(t);
    bool u = mlirIntegerTypeIsUnsigned(t);
    switch (w) {
    case 1: return QRT_BOOL;
    case 8: return u ? QRT_U8 : QRT_I8;
    case 16: return u ? QRT_U16 : QRT_I16;
    case 32: return u ? QRT_U32 : QRT_I32;
    case 64: return u ? QRT_U64 : QRT_I64;
    default: return QRT_UNDEFINED;
    }
  }
  return QRT_UNDEFINED;
}

bool qcc_shape_of_type(MlirType t, qcc_shape *out) {
  memset(out, 0, sizeof *out);
  if (!mlirTypeIsARankedTensor(t) || !mlirShapedTypeHasStaticShape(t)) return false;
  intptr_t rank = mlirShapedTypeGetRank(t);
  if (rank > QRT_MAX_RANK) return false;
  out->rank = (int)rank;
  for (intptr_t i = 0; i < rank; i++) out->dims[i] = mlirShapedTypeGetDimSize(t, i);
  out->dtype = qcc_dtype_of_element(mlirShapedTypeGetElementType(t));
  return out->dtype != QRT_UNDEFINED;
}

bool qcc_shape_of(MlirValue v, qcc_shape *out) { return qcc_shape_of_type(mlirValueGetType(v), out); }

MlirType qcc_tensor_type(MlirContext ctx, const qcc_shape *s) {
  MlirAttribute no_encoding = mlirAttributeGetNull();
  return mlirRankedTensorTypeGet(s->rank, s->dims, qcc_element_type(ctx, s->dtype), no_encoding);
}

const char *qcc_shape_str(const qcc_shape *s, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = 0;
  for (int i = 0; i < s->rank && n < cap; i++) n += (size_t)snprintf(buf + n, cap - n, "%lldx", (long long)s->dims[i]);
  if (n < cap) snprintf(buf + n, cap - n, "%s", qcc_dtype_name(s->dtype));
  return buf;
}

const char *qcc_array_shape_str(const qcc_array *a, char *buf, size_t cap) {
  qcc_shape s = {a->dtype, a->rank < QRT_MAX_RANK ? a->rank : QRT_MAX_RANK, {0}};
  for (int i = 0; i < s.rank; i++) s.dims[i] = a->dims[i];
  return qcc_shape_str(&s, buf, cap);
}

MlirAttribute qcc_dense_attr(MlirContext ctx, const qcc_shape *s, const void *data) {
  MlirType t = qcc_tensor_type(ctx, s);
  int64_t n = qcc_shape_numel(s);
  if (s->dtype == QRT_BOOL) {
    /* MLIR bit-packs i1 in raw buffers; go through the bool builder. */
    /* n is within QCC_MAX_TENSOR_ELEMENTS: import refuses larger tensors */
    const int64_t count = n > 0 && n <= QCC_MAX_TENSOR_ELEMENTS ? n : 0;
    int *vals = malloc(sizeof(int) * (size_t)(count ? count : 1));
    for (int64_t i = 0; i < count; i++) vals[i] = ((const uint8_t *)data)[i] != 0;
    MlirAttribute a = mlirDenseElementsAttrBoolGet(t, count, vals);
    free(vals);
    return a;
  }
  return mlirDenseElementsAttrRawBufferGet(t, (size_t)n * qcc_dtype_size(s->dtype), data);
}

bool qcc_dense_attr_read(MlirAttribute a, qcc_array *out) {
  memset(out, 0, sizeof *out);
  if (mlirAttributeIsNull(a) || !mlirAttributeIsADenseElements(a)) return false;
  qcc_shape s;
  if (!qcc_shape_of_type(mlirAttributeGetType(a), &s)) return false;
  out->dtype = s.dtype;
  out->rank = s.rank;
  memcpy(out->dims, s.dims, sizeof s.dims);
  int64_t n = qcc_shape_numel(&s);
  size_t es = qcc_dtype_size(s.dtype);
  out->nbytes = (size_t)n * es;
  out->data = calloc(out->nbytes ? out->nbytes : 1, 1);
  if (s.dtype == QRT_BOOL) {
    for (int64_t i = 0; i < n; i++) ((uint8_t *)out->data)[i] = mlirDenseElementsAttrGetBoolValue(a, i);
    return true;
  }
  const char *raw = mlirDenseElementsAttrGetRawData(a);
  if (mlirDenseElementsAttrIsSplat(a)) {
    for (int64_t i = 0; i < n; i++) memcpy((char *)out->data + (size_t)i * es, raw, es);
  } else if (out->nbytes) { /* a zero-element attribute may have no data at all (NULL) */
    memcpy(out->data, raw, out->nbytes);
  }
  return true;
}

bool qcc_dense_attr_view(MlirAttribute a, qcc_array *out) {
  memset(out, 0, sizeof *out);
  qcc_shape s;
  if (mlirAttributeIsNull(a) || !mlirAttributeIsADenseElements(a) || mlirDenseElementsAttrIsSplat(a) ||
      !qcc_shape_of_type(mlirAttributeGetType(a), &s) || s.dtype == QRT_BOOL)
    return false;
  out->dtype = s.dtype;
  out->rank = s.rank;
  memcpy(out->dims, s.dims, sizeof s.dims);
  out->nbytes = (size_t)qcc_shape_numel(&s) * qcc_dtype_size(s.dtype);
  out->data = (void *)mlirDenseElementsAttrGetRawData(a);
  return out->data != NULL; /* none for zero elements: the caller copies (an owned, non-NULL buffer) */
}

bool qcc_value_is_constant(MlirValue v) {
  return !mlirValueIsNull(v) && mlirValueIsAOpResult(v) && q_constant_is(mlirOpResultGetOwner(v));
}

bool qcc_value_constant(MlirValue v, qcc_array *out) {
  if (!qcc_value_is_constant(v)) return false;
  return qcc_dense_attr_read(q_constant_get(mlirOpResultGetOwner(v)).value, out);
}

bool qcc_value_constant_borrow(MlirValue v, qcc_array *out, bool *borrowed) {
  *borrowed = false;
  if (!qcc_value_is_constant(v)) return false;
  *borrowed = qcc_dense_attr_view(q_constant_get(mlirOpResultGetOwner(v)).value, out);
  return *borrowed || qcc_value_constant(v, out);
}

MlirValue qcc_insert_before(MlirOperation before, MlirOperation op) {
  mlirBlockInsertOwnedOperationBefore(mlirOperationGetBlock(before), before, op);
  return mlirOperationGetResult(op, 0);
}

MlirValue qcc_make_constant(MlirOperation before, MlirLocation loc, const qcc_array *arr) {
  MlirContext ctx = mlirLocationGetContext(loc);
  qcc_shape s = {arr->dtype, arr->rank, {0}};
  memcpy(s.dims, arr->dims, sizeof s.dims);
  q_constant_attrs attrs = {qcc_dense_attr(ctx, &s, arr->data)};
  return qcc_insert_before(before, q_constant_create(loc, qcc_tensor_type(ctx, &s), &attrs));
}

bool qcc_value_quant(MlirValue v, double *scale, int64_t *zero_point) {
  MlirType t = mlirValueGetType(v);
  if (!mlirTypeIsARankedTensor(t)) return false;
  MlirType e = mlirShapedTypeGetElementType(t);
  if (!mlirTypeIsAUniformQuantizedType(e)) return false;
  *scale = mlirUniformQuantizedTypeGetScale(e);
  *zero_point = mlirUniformQuantizedTypeGetZeroPoint(e);
  return true;
}

bool qcc_value_quant_range(MlirValue v, int64_t *qmin, int64_t *qmax) {
  MlirType t = mlirValueGetType(v);
  if (!mlirTypeIsARankedTensor(t) || !mlirTypeIsAUniformQuantizedType(mlirShapedTypeGetElementType(t))) return false;
  *qmin = mlirQuantizedTypeGetStorageTypeMin(mlirShapedTypeGetElementType(t));
  *qmax = mlirQuantizedTypeGetStorageTypeMax(mlirShapedTypeGetElementType(t));
  return true;
}

MlirType qcc_quant_tensor_type(MlirContext ctx, const qcc_shape *s, double scale, int64_t zero_point, int64_t qmin,
                               int64_t qmax) {
  MlirType storage = qcc_element_type(ctx, s->dtype);
  bool is_signed = s->dtype == QRT_I8 || s->dtype == QRT_I16 || s->dtype == QRT_I32;
  MlirType q = mlirUniformQuantizedTypeGet(is_signed ? mlirQuantizedTypeGetSignedFlag() : 0, storage, mlirF32TypeGet(ctx),
                                           scale, zero_point, qmin, qmax);
  return mlirRankedTensorTypeGet(s->rank, s->dims, q, mlirAttributeGetNull());
}
