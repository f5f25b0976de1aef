/* npy.h - NumPy .npy file I/O for the qcc compiler and its tests.
 *
 * Reads .npy format versions 1.0, 2.0 and 3.0 (C order only), writes 1.0.
 * Supported element types (numpy descr -> qrt_dtype):
 *   f2 F16 (raw IEEE half bits), f4 F32, f8 F64,
 *   i1 I8, i2 I16, i4 I32, i8 I64, u1 U8, u2 U16, u4 U32, u8 U64,
 *   b1 BOOL (one byte, normalized to 0/1 on read and write).
 * BF16 has no numpy dtype: it is written as its uint16 bits (u2), as ONNX's
 * numpy_helper and the ONNX backend test data hold it, and a u2 file is
 * taken as bfloat16 where bfloat16 is expected (qcc_array_expect).
 * Big-endian ('>') files are byte-swapped to host order on read; files are
 * always written little-endian. In memory, data is in host byte order.
 *
 * Pure C11, no dependencies beyond libc. */
#ifndef QCC_NPY_H
#define QCC_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/qrt_dtype.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qcc_array {
  qrt_dtype dtype;
  int rank;                    /* 0 .. QRT_MAX_RANK; 0 is a scalar */
  int64_t dims[QRT_MAX_RANK];  /* dims[0 .. rank-1]; the rest are unused */
  void *data;                  /* C order, host byte order */
  size_t nbytes;               /* numel * qcc_dtype_size(dtype) */
} qcc_array;

/* Bytes per element; 0 for QRT_UNDEFINED, QRT_STRING and unknown values. */
size_t qcc_dtype_size(qrt_dtype t);

/* "float32", "int64", "bool", ...; "undefined" / "unknown" otherwise. */
const char *qcc_dtype_name(qrt_dtype t);

/* Product of dims (1 for rank 0); -1 if rank or a dim is invalid or the
 * product overflows int64_t. */
int64_t qcc_array_numel(const qcc_array *a);

/* Reads a .npy file. Returns 0 on success. On failure returns -1, leaves *out
 * empty (data NULL, safe to pass to qcc_array_free) and writes a one-line
 * message "PATH: problem" into err (if err is non-NULL and errlen > 0).
 * out->data is malloc'd (non-NULL even for an empty array); free it with
 * qcc_array_free. */
int qcc_npy_read(const char *path, qcc_array *out, char *err, size_t errlen);

/* Writes a as a .npy (format 1.0) file. Returns 0 on success, -1 with a
 * one-line message in err on failure (invalid array, I/O error); a partly
 * written file is removed. */
int qcc_npy_write(const char *path, const qcc_array *a, char *err, size_t errlen);

/* mkdir -p dir: 0, or -1 with "DIR: why" in err. */
int qcc_make_output_dir(const char *dir, char *err, size_t errlen);

/* Writes a to DIR/NAME.npy, DIR created with its parents if missing and
 * NAME's characters other than letters, digits, '.' and '-' replaced by
 * '_' (tensor names may hold '/' or ':'). 0, or -1 with a message in err.
 * `qcc run` and `qcc sim` write their outputs with it. */
int qcc_npy_write_output(const char *dir, const char *name, const qcc_array *a, char *err, size_t errlen);
/* That file name's stem for a tensor name (no ".npy"), at most cap - 1
 * characters: also what --calib accepts for an input whose name is no
 * file name (one with '/'). */
void qcc_npy_file_stem(const char *name, char *safe, size_t cap);

/* Whether a (read from a .npy) has element type want; a uint16 array
 * where bfloat16 is wanted is relabelled bfloat16 (see above). */
int qcc_array_expect(qcc_array *a, qrt_dtype want);

/* Frees a->data and resets *a to an empty array. NULL is allowed. */
void qcc_array_free(qcc_array *a);

#ifdef __cplusplus
}
#endif

#endif
