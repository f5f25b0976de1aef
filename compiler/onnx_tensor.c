/* onnx_tensor.c - decoding ONNX TensorProto payloads. */
#include "onnx_tensor.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* memcpy for tensor payloads: a zero-element tensor may carry no data
 * field at all (NULL), which memcpy must not be given even for 0 bytes. */
static void copy_data(void *d, const void *src, size_t n) {
  if (n) memcpy(d, src, n);
}

unsigned char *qcc_read_file(const char *path, size_t *len, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: cannot open file", path);
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap);
  for (;;) {
    unsigned char *grown = n == cap ? realloc(buf, cap *= 2) : buf;
    if (!grown) {
      free(buf);
      fclose(f);
      snprintf(err, errlen, "%s: out of memory after %zu bytes", path, n);
      return NULL;
    }
    buf = grown;
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    snprintf(err, errlen, "%s: read error", path);
    return NULL;
  }
  *len = n;
  return buf;
}

/* Element counts must agree with dims before anything is copied. */
static int check_count(size_t have, int64_t want, const char *field, const Onnx__TensorProto *t, char *err,
                       size_t errlen) {
  if ((int64_t)have == want) return 0;
  snprintf(err, errlen, "tensor '%s': %s holds %zu elements, dims say %lld", t->name ? t->name : "", field, have,
           (long long)want);
  return -1;
}

/* ONNX's names of the element types qcc has no dtype for (TensorProto's
 * numbering: 16 bfloat16, 17-20 float8, 21-26 from opsets 21-25). */
static const char *unsupported_type_name(int t) {
  static const char *const names[] = {"bfloat16", "float8e4m3fn", "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz",
                                      "uint4",    "int4",         "float4e2m1",     "float8e8m0", "uint2",
                                      "int2"};
  if (t == QRT_STRING) return "string";
  return t >= 16 && t < 16 + (int)(sizeof names / sizeof *names) ? names[t - 16] : "unknown";
}

int qcc_tensor_from_proto(const Onnx__TensorProto *t, const char *model_path, qcc_array *out, char *err,
                          size_t errlen) {
  memset(out, 0, sizeof *out);
  const char *name = t->name ? t->name : "";
  bool external = t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  if (t->n_dims > QRT_MAX_RANK) {
    snprintf(err, errlen, "tensor '%s' has rank %zu; at most %d is supported", name, t->n_dims, QRT_MAX_RANK);
    return -1;
  }
  qrt_dtype dt = (qrt_dtype)t->data_type;
  size_t es = qcc_dtype_size(dt);
  if (es == 0) {
    snprintf(err, errlen, "tensor '%s' has unsupported element type %d (%s)", name, (int)t->data_type,
             unsupported_type_name((int)t->data_type));
    return -1;
  }
  int64_t n = 1;
  for (size_t i = 0; i < t->n_dims; i++) {
    if (t->dims[i] < 0 || (t->dims[i] && n > INT64_MAX / 4 / t->dims[i])) {
      snprintf(err, errlen, "tensor '%s' has invalid dims", name);
      return -1;
    }
    n *= t->dims[i];
    out->dims[i] = t->dims[i];
  }
  out->rank = (int)t->n_dims;
  out->dtype = dt;
  out->nbytes = (size_t)n * es;
  /* the inline payload's field and count, checked before anything is
   * allocated: dims may claim gigabytes that a few bytes of data do not
   * back; as_is: its bytes are the array's, copied without conversion */
  const char *field = NULL;
  size_t have = 0;
  const void *src = NULL;
  bool as_is = true;
  FILE *ext = NULL;
  if (external) {
    if (!(ext = qcc_external_data_open(t, model_path, out->nbytes, err, errlen))) return -1;
  } else if (t->has_raw_data) {
    field = "raw_data", have = t->raw_data.len / es, src = t->raw_data.data;
  } else if (dt == QRT_F32) {
    field = "float_data", have = t->n_float_data, src = t->float_data;
  } else if (dt == QRT_F64) {
    field = "double_data", have = t->n_double_data, src = t->double_data;
  } else if (dt == QRT_I64) {
    field = "int64_data", have = t->n_int64_data, src = t->int64_data;
  } else if (dt == QRT_U32 || dt == QRT_U64) {
    field = "uint64_data", have = t->n_uint64_data, as_is = false;
  } else {
    field = "int32_data", have = t->n_int32_data, as_is = false; /* every type of 32 bits or fewer (f16 as its bits) */
  }
  if (field && check_count(have, n, field, t, err, errlen)) return -1;
  if (field && t->has_raw_data && t->raw_data.len % es && check_count(0, n, field, t, err, errlen)) return -1;
  out->data = calloc(out->nbytes ? out->nbytes : 1, 1);
  if (!out->data) {
    if (ext) fclose(ext);
    snprintf(err, errlen, "tensor '%s': cannot allocate %zu bytes", name, out->nbytes);
    return -1;
  }
  unsigned char *d = out->data;
  int rc = 0;
  if (external) {
    rc = qcc_external_data_read(t, ext, d, out->nbytes, err, errlen);
  } else if (as_is) {
    copy_data(d, src, out->nbytes);
  } else if (dt == QRT_U32 || dt == QRT_U64) {
    for (int64_t i = 0; i < n; i++) {
      if (dt == QRT_U32) ((uint32_t *)d)[i] = (uint32_t)t->uint64_data[i];
      else ((uint64_t *)d)[i] = t->uint64_data[i];
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      int32_t v = t->int32_data[i];
      switch (es) {
      case 1: d[i] = (unsigned char)v; break;
      case 2: ((uint16_t *)d)[i] = (uint16_t)v; break;
      default: ((int32_t *)d)[i] = v; break;
      }
    }
  }
  if (rc) {
    qcc_array_free(out);
    return -1;
  }
  if (dt == QRT_BOOL)
    for (int64_t i = 0; i < n; i++) d[i] = d[i] != 0;
  return 0;
}

int qcc_tensor_read_pb(const char *path, qcc_array *out, char *name, size_t name_cap, char *err, size_t errlen) {
  size_t len;
  unsigned char *buf = qcc_read_file(path, &len, err, errlen);
  if (!buf) return -1;
  Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, buf);
  free(buf);
  if (!t) {
    snprintf(err, errlen, "%s: not a valid TensorProto (protobuf parse failed)", path);
    return -1;
  }
  int rc = qcc_tensor_from_proto(t, path, out, err, errlen);
  if (name && name_cap) snprintf(name, name_cap, "%s", t->name ? t->name : "");
  onnx__tensor_proto__free_unpacked(t, NULL);
  return rc;
}
