/* diag.c - one-line diagnostics. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qcc.h"

int qcc_verbose;
static int error_count;

static void vreport(const char *kind, const char *fmt, va_list ap) {
  fprintf(stderr, "qcc: %s: ", kind);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

/* ---- remarks, one line per cause ----
 * A pass often says the same thing of many nodes ("q.conv node 'c1' stays
 * float: ..." for every conv). Consecutive remarks that differ only in
 * their node names are held and printed as one line: the first remark,
 * then "(and N more: 'c2', 'c3', ...)". Errors and warnings flush the held
 * group first, so the order of what is printed never changes. */
enum { REMARK_MAX = 1024, REMARK_NAMES_SHOWN = 6 };
static char held_first[REMARK_MAX], held_key[REMARK_MAX], held_names[REMARK_MAX];
static int held_count;

/* text with every "node '...'" name blanked: the remark's cause */
static void cause_key(const char *text, char *key, size_t cap, char *name, size_t name_cap) {
  size_t k = 0;
  name[0] = 0;
  for (const char *p = text; *p && k + 1 < cap;) {
    if (!strncmp(p, "node '", 6)) {
      const char *end = strchr(p + 6, '\'');
      if (end) {
        if (!name[0]) snprintf(name, name_cap, "%.*s", (int)(end - p - 6), p + 6);
        k += (size_t)snprintf(key + k, cap - k, "node '*'");
        if (k >= cap) k = cap - 1;
        p = end + 1;
        continue;
      }
    }
    key[k++] = *p++;
  }
  key[k] = 0;
}

void qcc_flush_remarks(void) {
  if (!held_count) return;
  if (held_count == 1) fprintf(stderr, "qcc: remark: %s\n", held_first);
  else
    fprintf(stderr, "qcc: remark: %s (and %d more: %s%s)\n", held_first, held_count - 1, held_names,
            held_count - 1 > REMARK_NAMES_SHOWN ? ", ..." : "");
  held_count = 0;
}

void qcc_remark(const char *fmt, ...) {
  if (!qcc_verbose) return;
  static bool registered;
  if (!registered) registered = true, atexit(qcc_flush_remarks);
  char text[REMARK_MAX], key[REMARK_MAX], name[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  cause_key(text, key, sizeof key, name, sizeof name);
  if (held_count && name[0] && !strcmp(key, held_key)) {
    if (held_count <= REMARK_NAMES_SHOWN) {
      size_t n = strlen(held_names);
      snprintf(held_names + n, sizeof held_names - n, "%s'%s'", n ? ", " : "", name);
    }
    held_count++;
    return;
  }
  qcc_flush_remarks();
  snprintf(held_first, sizeof held_first, "%s", text);
  snprintf(held_key, sizeof held_key, "%s", key);
  held_names[0] = 0;
  held_count = 1;
}

static qcc_error_hold hold;

qcc_error_hold qcc_hold_errors(char *buf, size_t cap) {
  qcc_error_hold previous = hold;
  hold.buf = buf;
  hold.cap = cap;
  if (cap) buf[0] = 0;
  return previous;
}

void qcc_restore_errors(qcc_error_hold previous) { hold = previous; }

void qcc_error(const char *fmt, ...) {
  va_list ap;
  if (hold.buf) {
    if (hold.cap && !hold.buf[0]) {
      va_start(ap, fmt);
      vsnprintf(hold.buf, hold.cap, fmt, ap);
      va_end(ap);
    }
    return;
  }
  qcc_flush_remarks();
  va_start(ap, fmt);
  vreport("error", fmt, ap);
  va_end(ap);
  error_count++;
}

void qcc_warning(const char *fmt, ...) {
  qcc_flush_remarks();
  va_list ap;
  va_start(ap, fmt);
  vreport("warning", fmt, ap);
  va_end(ap);
}

int qcc_error_count(void) { return error_count; }

const char *qcc_flag_value(int argc, char **argv, int *i, const char *flag, bool *missing) {
  size_t n = strlen(flag);
  if (!strncmp(argv[*i], flag, n) && argv[*i][n] == '=') return argv[*i] + n + 1;
  if (strcmp(argv[*i], flag)) return NULL;
  if (*i + 1 >= argc) {
    *missing = true;
    return NULL;
  }
  return argv[++*i];
}


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
