/* onnx_external.c - tensors whose bytes live outside the .onnx file (ONNX
 * "external data": models over protobuf's 2 GB limit, and most exported
 * LLMs).  The TensorProto names a file relative to the model's folder and
 * an optional offset and length; qcc checks them before the caller
 * allocates anything (dims may claim gigabytes the file does not hold),
 * then reads exactly those bytes into the caller's buffer, one tensor at
 * a time, so only the tensor being imported is ever held twice.
 *
 * The path comes from the model, so it is untrusted: it must be relative,
 * have no ".." component, and (symlinks resolved) stay inside the model's
 * folder; the byte range must lie inside the file and match the tensor's
 * size exactly.  Every failure is one line naming the tensor. */
#define _XOPEN_SOURCE 700 /* realpath, fseeko */
#include "onnx_tensor.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* "offset" / "length": a decimal count; false for anything else. */
static bool parse_count(const char *s, int64_t *out) {
  char *end;
  if (!s || !*s || *s == '-' || *s == '+') return false;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (*end || errno || v < 0) return false;
  *out = v;
  return true;
}

/* A relative path with no empty, "." or ".." escape: the folder check
 * below catches symlinks, this catches the plain cases with a clear
 * message before touching the file system. */
static bool plain_relative(const char *loc) {
  if (!*loc || loc[0] == '/' || loc[0] == '\\') return false;
  for (const char *p = loc; *p;) {
    const char *slash = strpbrk(p, "/\\");
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 2 && !strncmp(p, "..", 2)) return false;
    p += n + (slash != NULL);
  }
  return true;
}

/* The model's folder, resolved; "." for a bare file name. */
static char *model_folder(const char *model_path) {
  const char *slash = strrchr(model_path, '/');
  char *dir = slash ? strndup(model_path, (size_t)(slash - model_path + (slash == model_path))) : strdup(".");
  char *real = realpath(dir, NULL);
  free(dir);
  return real;
}

FILE *qcc_external_data_open(const Onnx__TensorProto *t, const char *model_path, size_t nbytes, char *err,
                             size_t errlen) {
  const char *name = t->name ? t->name : "";
  const char *location = NULL, *offset_s = NULL, *length_s = NULL;
  for (size_t i = 0; i < t->n_external_data; i++) {
    const Onnx__StringStringEntryProto *kv = t->external_data[i];
    if (!kv->key) continue;
    if (!strcmp(kv->key, "location")) location = kv->value;
    else if (!strcmp(kv->key, "offset")) offset_s = kv->value;
    else if (!strcmp(kv->key, "length")) length_s = kv->value;
  }
  int64_t offset = 0, length = (int64_t)nbytes;
  if (!model_path) return snprintf(err, errlen, "tensor '%s' uses external data, which only a model file can name", name), NULL;
  if (!location) return snprintf(err, errlen, "tensor '%s': external data without a 'location'", name), NULL;
  if (!plain_relative(location))
    return snprintf(err, errlen, "tensor '%s': external data location '%s' must be a relative path inside the "
                                 "model's folder", name, location), NULL;
  if ((offset_s && !parse_count(offset_s, &offset)) || (length_s && !parse_count(length_s, &length)))
    return snprintf(err, errlen, "tensor '%s': external data offset '%s' / length '%s' are not byte counts", name,
                    offset_s ? offset_s : "", length_s ? length_s : ""), NULL;
  if ((uint64_t)length != nbytes)
    return snprintf(err, errlen, "tensor '%s': external data length %lld, but its dims and type need %zu bytes",
                    name, (long long)length, nbytes), NULL;

  char *folder = model_folder(model_path);
  if (!folder) return snprintf(err, errlen, "tensor '%s': cannot resolve the model's folder", name), NULL;
  size_t path_len = strlen(folder) + strlen(location) + 2;
  char *joined = malloc(path_len);
  snprintf(joined, path_len, "%s/%s", folder, location);
  char *real = realpath(joined, NULL);
  FILE *f = NULL;
  size_t fl = strlen(folder);
  if (!real) {
    snprintf(err, errlen, "tensor '%s': external data file '%s' not found next to the model", name, location);
  } else if (strncmp(real, folder, fl) || (real[fl] != '/' && strcmp(folder, "/"))) {
    snprintf(err, errlen, "tensor '%s': external data file '%s' resolves outside the model's folder", name, location);
  } else {
    f = fopen(real, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
      snprintf(err, errlen, "tensor '%s': cannot read external data file '%s'", name, location);
    } else if (offset > (int64_t)st.st_size || length > (int64_t)st.st_size - offset) {
      snprintf(err, errlen, "tensor '%s': external data bytes [%lld, %lld) lie past the end of '%s' (%lld bytes)",
               name, (long long)offset, (long long)(offset + length), location, (long long)st.st_size);
    } else if (fseeko(f, (off_t)offset, SEEK_SET)) {
      snprintf(err, errlen, "tensor '%s': cannot seek in external data file '%s'", name, location);
    } else {
      free(real), free(joined), free(folder);
      return f;
    }
    if (f) fclose(f);
    f = NULL;
  }
  free(real);
  free(joined);
  free(folder);
  return NULL;
}

int qcc_external_data_read(const Onnx__TensorProto *t, FILE *f, void *dst, size_t nbytes, char *err, size_t errlen) {
  const int rc = fread(dst, 1, nbytes, f) == nbytes ? 0 : -1;
  if (rc) snprintf(err, errlen, "tensor '%s': read error in its external data file", t->name ? t->name : "");
  fclose(f);
  return rc;
}
