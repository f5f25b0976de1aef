/* onnx_tensor.h - ONNX TensorProto <-> qcc_array. */
#ifndef QCC_ONNX_TENSOR_H
#define QCC_ONNX_TENSOR_H
#include "npy.h"
#include "onnx.pb-c.h"

/* Decodes t (raw_data, the typed repeated fields, or external data named
 * relative to model_path's folder) into a malloc'd array.  Strings,
 * inconsistent sizes and unsafe or broken external references (and any
 * external data when model_path is NULL) are errors: -1 with a one-line
 * message in err. */
int qcc_tensor_from_proto(const Onnx__TensorProto *t, const char *model_path, qcc_array *out, char *err,
                          size_t errlen);
/* onnx_external.c: the nbytes of t's external data into dst. */
int qcc_external_data_read(const Onnx__TensorProto *t, const char *model_path, void *dst, size_t nbytes, char *err,
                           size_t errlen);
/* Reads a serialized TensorProto file (.pb, as in ONNX test data). */
int qcc_tensor_read_pb(const char *path, qcc_array *out, char *name, size_t name_cap, char *err, size_t errlen);
/* Whole file into a malloc'd buffer; NULL (and err) on failure. */
unsigned char *qcc_read_file(const char *path, size_t *len, char *err, size_t errlen);

#endif
