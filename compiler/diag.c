/* diag.c - one-line diagnostics. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qcc.h"

int qcc_verbose;
static int error_count;

static void vreport(const char *kind, const char *fmt, va_list ap) {
  fprintf(stderr, "qcc: %s: ", kind);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void qcc_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport("error", fmt, ap);
  va_end(ap);
  error_count++;
}

void qcc_warning(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport("warning", fmt, ap);
  va_end(ap);
}

void qcc_remark(const char *fmt, ...) {
  if (!qcc_verbose) return;
  va_list ap;
  va_start(ap, fmt);
  vreport("remark", fmt, ap);
  va_end(ap);
}

int qcc_error_count(void) { return error_count; }

typedef struct text_buf {
  char *p;
  size_t cap, len;
} text_buf;

static void append_text(MlirStringRef s, void *user) {
  text_buf *b = user;
  for (size_t i = 0; i < s.length && b->len + 1 < b->cap; i++) b->p[b->len++] = s.data[i];
  b->p[b->len] = 0;
}

/* Imported ops carry NameLoc("<node name>"); the op type comes from the op
 * name (onnx.Conv -> Conv, q.conv -> q.conv). */
const char *qcc_op_where(MlirOperation op, char *buf, size_t cap) {
  char loc[256] = "";
  text_buf tb = {loc, sizeof loc, 0};
  mlirLocationPrint(mlirOperationGetLocation(op), append_text, &tb);
  char node[200] = "";
  const char *q1 = strchr(loc, '"');
  const char *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
  /* NameLoc prints loc("name") or loc("name"(child)); a file location
   * prints loc("file":line:col) and names no node. */
  if (q1 && q2 && q2[1] != ':') snprintf(node, sizeof node, "%.*s", (int)(q2 - q1 - 1), q1 + 1);
  MlirStringRef name = mlirIdentifierStr(mlirOperationGetName(op));
  int is_onnx = name.length > 5 && !memcmp(name.data, "onnx.", 5);
  const char *type = is_onnx ? name.data + 5 : name.data;
  int type_len = (int)(is_onnx ? name.length - 5 : name.length);
  if (node[0]) snprintf(buf, cap, "%.*s node '%s'", type_len, type, node);
  else snprintf(buf, cap, "%.*s", type_len, type);
  return buf;
}
