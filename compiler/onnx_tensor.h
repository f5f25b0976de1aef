/* onnx_tensor.h - ONNX TensorProto <-> qcc_array. */
#ifndef QCC_ONNX_TENSOR_H
#define QCC_ONNX_TENSOR_H
#include "npy.h"
#include "onnx.pb-c.h"

/* Decodes t (raw_data or the typed repeated fields) into a malloc'd array.
 * External data, strings and inconsistent sizes are errors: -1 with a
 * one-line message in err. */
int qcc_tensor_from_proto(const Onnx__TensorProto *t, qcc_array *out, char *err, size_t errlen);
/* Reads a serialized TensorProto file (.pb, as in ONNX test data). */
int qcc_tensor_read_pb(const char *path, qcc_array *out, char *name, size_t name_cap, char *err, size_t errlen);
/* Whole file into a malloc'd buffer; NULL (and err) on failure. */
unsigned char *qcc_read_file(const char *path, size_t *len, char *err, size_t errlen);

#endif
