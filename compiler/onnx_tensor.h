/* onnx_tensor.h - ONNX TensorProto <-> qcc_array. */
#ifndef QCC_ONNX_TENSOR_H
#define QCC_ONNX_TENSOR_H
#include <stdio.h>
#include "npy.h"
#include "onnx.pb-c.h"

/* Decodes t (raw_data, the typed repeated fields, or external data named
 * relative to model_path's folder) into a malloc'd array.  Strings,
 * inconsistent sizes and unsafe or broken external references (and any
 * external data when model_path is NULL) are errors: -1 with a one-line
 * message in err. */
int qcc_tensor_from_proto(const Onnx__TensorProto *t, const char *model_path, qcc_array *out, char *err,
                          size_t errlen);
/* onnx_external.c: t's external data file, checked (a safe path, a byte
 * range of exactly nbytes inside the file) and positioned at its offset,
 * or NULL with a one-line error; then qcc_external_data_read reads the
 * nbytes into dst and closes the file (also on failure). */
FILE *qcc_external_data_open(const Onnx__TensorProto *t, const char *model_path, size_t nbytes, char *err,
                             size_t errlen);
int qcc_external_data_read(const Onnx__TensorProto *t, FILE *f, void *dst, size_t nbytes, char *err, size_t errlen);
/* Reads a serialized TensorProto file (.pb, as in ONNX test data). */
int qcc_tensor_read_pb(const char *path, qcc_array *out, char *name, size_t name_cap, char *err, size_t errlen);
/* Whole file into a malloc'd buffer; NULL (and err) on failure. */
unsigned char *qcc_read_file(const char *path, size_t *len, char *err, size_t errlen);

#endif
