/* npy.c - NumPy .npy file I/O. See npy.h. */
#include "npy.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Header text larger than this is rejected (numpy itself refuses headers
 * over 10000 bytes by default; a rank-8 header is under 200 bytes). */
#define NPY_MAX_HEADER (1u << 20)

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

size_t qcc_dtype_size(qrt_dtype t) {
  switch (t) {
  case QRT_U8:
  case QRT_I8:
  case QRT_BOOL:
    return 1;
  case QRT_U16:
  case QRT_I16:
  case QRT_F16:
  case QRT_BF16:
    return 2;
  case QRT_F32:
  case QRT_I32:
  case QRT_U32:
    return 4;
  case QRT_I64:
  case QRT_F64:
  case QRT_U64:
    return 8;
  default:
    return 0;
  }
}

const char *qcc_dtype_name(qrt_dtype t) {
  switch (t) {
  case QRT_UNDEFINED: return "undefined";
  case QRT_F32: return "float32";
  case QRT_U8: return "uint8";
  case QRT_I8: return "int8";
  case QRT_U16: return "uint16";
  case QRT_I16: return "int16";
  case QRT_I32: return "int32";
  case QRT_I64: return "int64";
  case QRT_STRING: return "string";
  case QRT_BOOL: return "bool";
  case QRT_F16: return "float16";
  case QRT_F64: return "float64";
  case QRT_U32: return "uint32";
  case QRT_U64: return "uint64";
  case QRT_BF16: return "bfloat16";
  }
  return "unknown";
}

/* numpy type code (kind + size, without byte order) for a dtype; NULL if none. */
static const char *dtype_code(qrt_dtype t) {
  switch (t) {
  case QRT_F32: return "f4";
  case QRT_U8: return "u1";
  case QRT_I8: return "i1";
  case QRT_U16: return "u2";
  case QRT_I16: return "i2";
  case QRT_I32: return "i4";
  case QRT_I64: return "i8";
  case QRT_BOOL: return "b1";
  case QRT_F16: return "f2";
  case QRT_F64: return "f8";
  case QRT_U32: return "u4";
  case QRT_U64: return "u8";
  case QRT_BF16: return "u2"; /* its bits: numpy has no bfloat16 */
  default: return NULL;
  }
}

int64_t qcc_array_numel(const qcc_array *a) {
  if (!a || a->rank < 0 || a->rank > QRT_MAX_RANK) return -1;
  int64_t n = 1;
  for (int i = 0; i < a->rank; i++) {
    int64_t d = a->dims[i];
    if (d < 0) return -1;
    if (d != 0 && n > INT64_MAX / d) return -1;
    n *= d;
  }
  return n;
}

int qcc_array_expect(qcc_array *a, qrt_dtype want) {
  if (want == QRT_BF16 && a->dtype == QRT_U16) a->dtype = QRT_BF16;
  return a->dtype == want;
}

void qcc_array_free(qcc_array *a) {
  if (!a) return;
  free(a->data);
  memset(a, 0, sizeof *a);
  a->dtype = QRT_UNDEFINED;
  a->data = NULL;
}

static void set_err(char *err, size_t errlen, const char *path, const char *fmt, ...) {
  if (!err || errlen == 0) return;
  int n = snprintf(err, errlen, "%s: ", path ? path : "(null)");
  if (n < 0) {
    err[0] = '\0';
    return;
  }
  if ((size_t)n >= errlen) return; /* already truncated, NUL-terminated */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
  va_end(ap);
  /* keep it one line */
  for (char *p = err; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
}

static int host_is_little_endian(void) {
  const uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

static void byteswap_elems(unsigned char *p, size_t nbytes, size_t size) {
  if (size <= 1) return;
  for (size_t off = 0; off + size <= nbytes; off += size) {
    for (size_t i = 0, j = size - 1; i < j; i++, j--) {
      unsigned char t = p[off + i];
      p[off + i] = p[off + j];
      p[off + j] = t;
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Header parser: a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * Only the three keys numpy writes are accepted. The text is a byte range,
 * not a C string; every access is bounds-checked. */

typedef struct hparse {
  const char *s;
  size_t n, i;
  char msg[160]; /* problem description on failure */
} hparse;

static int hp_fail(hparse *h, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(h->msg, sizeof h->msg, fmt, ap);
  va_end(ap);
  return -1;
}

static void hp_ws(hparse *h) {
  while (h->i < h->n) {
    char c = h->s[h->i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
      h->i++;
    else
      break;
  }
}

static int hp_peek(hparse *h) { return h->i < h->n ? (unsigned char)h->s[h->i] : -1; }

static int hp_expect(hparse *h, char c) {
  hp_ws(h);
  if (hp_peek(h) != (unsigned char)c) {
    if (h->i >= h->n) return hp_fail(h, "header parse error: expected '%c' but header ended", c);
    return hp_fail(h, "header parse error: expected '%c' at offset %zu", c, h->i);
  }
  h->i++;
  return 0;
}

/* Quoted string into buf (truncated copies are flagged by *len >= cap). */
static int hp_string(hparse *h, char *buf, size_t cap, size_t *len) {
  hp_ws(h);
  int q = hp_peek(h);
  if (q != '\'' && q != '"') return hp_fail(h, "header parse error: expected a string at offset %zu", h->i);
  h->i++;
  size_t k = 0;
  for (;;) {
    if (h->i >= h->n) return hp_fail(h, "header parse error: unterminated string");
    char c = h->s[h->i++];
    if (c == (char)q) break;
    if (c == '\\') {
      if (h->i >= h->n) return hp_fail(h, "header parse error: unterminated string");
      c = h->s[h->i++];
    }
    if (k + 1 < cap) buf[k] = c;
    k++;
  }
  if (cap) buf[k < cap ? k : cap - 1] = '\0';
  *len = k;
  return 0;
}

static int hp_match_word(hparse *h, const char *w) {
  size_t L = strlen(w);
  if (h->n - h->i >= L && memcmp(h->s + h->i, w, L) == 0) {
    h->i += L;
    return 1;
  }
  return 0;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

/* Non-negative integer (Python 2 headers may carry an 'L' suffix). */
static int hp_dim(hparse *h, int64_t *out) {
  hp_ws(h);
  int c = hp_peek(h);
  if (c == '-') return hp_fail(h, "header parse error: negative dimension in shape");
  if (c == '+') {
    h->i++;
    c = hp_peek(h);
  }
  if (!is_digit(c)) return hp_fail(h, "header parse error: expected a dimension at offset %zu", h->i);
  int64_t v = 0;
  while (is_digit(hp_peek(h))) {
    int d = hp_peek(h) - '0';
    if (v > (INT64_MAX - d) / 10) return hp_fail(h, "header parse error: dimension too large");
    v = v * 10 + d;
    h->i++;
  }
  if (hp_peek(h) == 'L' || hp_peek(h) == 'l') h->i++;
  *out = v;
  return 0;
}

static int hp_shape(hparse *h, int *rank, int64_t dims[QRT_MAX_RANK]) {
  hp_ws(h);
  int open = hp_peek(h);
  if (open != '(' && open != '[') return hp_fail(h, "header parse error: shape is not a tuple");
  int close = open == '(' ? ')' : ']';
  h->i++;
  int r = 0;
  for (;;) {
    hp_ws(h);
    if (hp_peek(h) == close) {
      h->i++;
      break;
    }
    int64_t d;
    if (hp_dim(h, &d)) return -1;
    if (r >= QRT_MAX_RANK) {
      /* count the rest for the message, still bounded by the header size */
      int more = r + 1;
      for (;;) {
        hp_ws(h);
        if (hp_peek(h) == ',') {
          h->i++;
          hp_ws(h);
          if (hp_peek(h) == close) break;
          if (hp_dim(h, &d)) return -1;
          more++;
        } else {
          break;
        }
      }
      return hp_fail(h, "rank %d exceeds the maximum rank %d", more, QRT_MAX_RANK);
    }
    dims[r++] = d;
    hp_ws(h);
    if (hp_peek(h) == ',') {
      h->i++;
    } else if (hp_peek(h) != close) {
      if (h->i >= h->n) return hp_fail(h, "header parse error: unterminated shape");
      return hp_fail(h, "header parse error: expected ',' or '%c' in shape at offset %zu", close, h->i);
    }
  }
  *rank = r;
  return 0;
}

typedef struct npy_header {
  char descr[32];
  int fortran;
  int rank;
  int64_t dims[QRT_MAX_RANK];
} npy_header;

static int parse_header(hparse *h, npy_header *hd) {
  int have_descr = 0, have_fortran = 0, have_shape = 0;
  if (hp_expect(h, '{')) return -1;
  for (;;) {
    hp_ws(h);
    if (hp_peek(h) == '}') {
      h->i++;
      break;
    }
    char key[32];
    size_t klen;
    if (hp_string(h, key, sizeof key, &klen)) return -1;
    if (hp_expect(h, ':')) return -1;
    hp_ws(h);
    if (klen < sizeof key && strcmp(key, "descr") == 0) {
      if (have_descr) return hp_fail(h, "header parse error: duplicate key 'descr'");
      have_descr = 1;
      int c = hp_peek(h);
      if (c == '[' || c == '{' || c == '(')
        return hp_fail(h, "unsupported dtype: structured (record) dtypes are not supported");
      size_t dlen;
      if (hp_string(h, hd->descr, sizeof hd->descr, &dlen)) return -1;
      if (dlen >= sizeof hd->descr) return hp_fail(h, "unsupported dtype '%.20s...'", hd->descr);
    } else if (klen < sizeof key && strcmp(key, "fortran_order") == 0) {
      if (have_fortran) return hp_fail(h, "header parse error: duplicate key 'fortran_order'");
      have_fortran = 1;
      if (hp_match_word(h, "True")) hd->fortran = 1;
      else if (hp_match_word(h, "False")) hd->fortran = 0;
      else return hp_fail(h, "header parse error: fortran_order is not True or False");
    } else if (klen < sizeof key && strcmp(key, "shape") == 0) {
      if (have_shape) return hp_fail(h, "header parse error: duplicate key 'shape'");
      have_shape = 1;
      if (hp_shape(h, &hd->rank, hd->dims)) return -1;
    } else {
      return hp_fail(h, "header parse error: unexpected key '%.20s'", key);
    }
    hp_ws(h);
    if (hp_peek(h) == ',') {
      h->i++;
    } else if (hp_peek(h) != '}') {
      if (h->i >= h->n) return hp_fail(h, "header parse error: unterminated dict");
      return hp_fail(h, "header parse error: expected ',' or '}' at offset %zu", h->i);
    }
  }
  hp_ws(h);
  /* Some writers pad with NULs; anything else after the dict is an error. */
  while (h->i < h->n && h->s[h->i] == '\0') h->i++;
  hp_ws(h);
  if (h->i != h->n) return hp_fail(h, "header parse error: unexpected text after the header dict");
  if (!have_descr) return hp_fail(h, "header parse error: missing key 'descr'");
  if (!have_fortran) return hp_fail(h, "header parse error: missing key 'fortran_order'");
  if (!have_shape) return hp_fail(h, "header parse error: missing key 'shape'");
  return 0;
}

/* descr -> dtype and byte order. Returns -1 with a message in h->msg. */
static int parse_descr(hparse *h, const char *descr, qrt_dtype *dt, int *swap) {
  const char *p = descr;
  char order = '=';
  if (*p == '<' || *p == '>' || *p == '|' || *p == '=') order = *p++;
  static const struct { const char *code; qrt_dtype t; } tab[] = {
      {"f2", QRT_F16}, {"f4", QRT_F32}, {"f8", QRT_F64}, {"i1", QRT_I8},  {"i2", QRT_I16},
      {"i4", QRT_I32}, {"i8", QRT_I64}, {"u1", QRT_U8},  {"u2", QRT_U16}, {"u4", QRT_U32},
      {"u8", QRT_U64}, {"b1", QRT_BOOL},
  };
  qrt_dtype t = QRT_UNDEFINED;
  for (size_t k = 0; k < sizeof tab / sizeof tab[0]; k++)
    if (strcmp(p, tab[k].code) == 0) t = tab[k].t;
  if (t == QRT_UNDEFINED) return hp_fail(h, "unsupported dtype '%s'", descr);
  size_t size = qcc_dtype_size(t);
  if (order == '|' && size > 1) return hp_fail(h, "unsupported dtype '%s' (multi-byte type without byte order)", descr);
  int file_le;
  if (order == '<') file_le = 1;
  else if (order == '>') file_le = 0;
  else file_le = host_is_little_endian(); /* '=', '|' or none: native */
  *swap = size > 1 && file_le != host_is_little_endian();
  *dt = t;
  return 0;
}

static uint32_t rd_le16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd_le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void fmt_shape(char *buf, size_t cap, int rank, const int64_t *dims) {
  size_t k = 0;
  int n = snprintf(buf, cap, "(");
  if (n < 0) return;
  k = (size_t)n;
  for (int i = 0; i < rank && k < cap; i++) {
    n = snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (n < 0) return;
    k += (size_t)n;
  }
  if (k < cap) snprintf(buf + k, cap - k, rank == 1 ? ",)" : ")");
}

int qcc_npy_read(const char *path, qcc_array *out, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (!out) {
    set_err(err, errlen, path, "no output array given");
    return -1;
  }
  memset(out, 0, sizeof *out);
  out->dtype = QRT_UNDEFINED;
  out->data = NULL;
  if (!path) {
    set_err(err, errlen, path, "no path given");
    return -1;
  }

  errno = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
#ifdef ENOENT
    if (errno == ENOENT) {
      set_err(err, errlen, path, "not found");
      return -1;
    }
#endif
    set_err(err, errlen, path, "cannot open: %s", errno ? strerror(errno) : "unknown error");
    return -1;
  }

  int rc = -1;
  char *htext = NULL;
  unsigned char *data = NULL;
  unsigned char pre[12];
  errno = 0;
  size_t got = fread(pre, 1, 10, f);
  if (got < 10 && ferror(f)) { /* e.g. EISDIR: fopen succeeds on a directory */
    set_err(err, errlen, path, "read error: %s", errno ? strerror(errno) : "unknown error");
    goto done;
  }
  if (got < 8 || memcmp(pre, npy_magic, 6) != 0) {
    if (got >= 6 && memcmp(pre, npy_magic, 6) == 0)
      set_err(err, errlen, path, "truncated file (%zu bytes, header incomplete)", got);
    else if (got < 6 && (got == 0 || memcmp(pre, npy_magic, got) == 0))
      set_err(err, errlen, path, "truncated file (%zu bytes, not a complete .npy header)", got);
    else
      set_err(err, errlen, path, "bad magic (not a .npy file)");
    goto done;
  }
  unsigned major = pre[6], minor = pre[7];
  size_t pre_len;
  uint32_t hlen;
  if (major == 1) {
    pre_len = 10;
  } else if (major == 2 || major == 3) {
    pre_len = 12;
  } else {
    set_err(err, errlen, path, "unsupported .npy format version %u.%u", major, minor);
    goto done;
  }
  if (got < 10 || (pre_len == 12 && fread(pre + 10, 1, 2, f) != 2)) {
    set_err(err, errlen, path, "truncated file (header incomplete)");
    goto done;
  }
  hlen = pre_len == 10 ? rd_le16(pre + 8) : rd_le32(pre + 8);
  if (hlen > NPY_MAX_HEADER) {
    set_err(err, errlen, path, "header parse error: header length %lu is too large", (unsigned long)hlen);
    goto done;
  }
  htext = malloc(hlen ? hlen : 1);
  if (!htext) {
    set_err(err, errlen, path, "out of memory");
    goto done;
  }
  if (fread(htext, 1, hlen, f) != hlen) {
    set_err(err, errlen, path, "truncated file (header says %lu header bytes, file is shorter)", (unsigned long)hlen);
    goto done;
  }

  hparse h = {htext, hlen, 0, {0}};
  npy_header hd;
  memset(&hd, 0, sizeof hd);
  qrt_dtype dt = QRT_UNDEFINED;
  int swap = 0;
  if (parse_header(&h, &hd) || parse_descr(&h, hd.descr, &dt, &swap)) {
    set_err(err, errlen, path, "%s", h.msg);
    goto done;
  }
  if (hd.fortran) {
    set_err(err, errlen, path, "fortran order (fortran_order: True) is not supported; save a C-order array "
                               "(numpy.ascontiguousarray)");
    goto done;
  }

  qcc_array a;
  memset(&a, 0, sizeof a);
  a.dtype = dt;
  a.rank = hd.rank;
  for (int i = 0; i < hd.rank; i++) a.dims[i] = hd.dims[i];
  int64_t numel = qcc_array_numel(&a);
  size_t esize = qcc_dtype_size(dt);
  if (numel < 0 || (uint64_t)numel > SIZE_MAX / esize) {
    char sh[256];
    fmt_shape(sh, sizeof sh, hd.rank, hd.dims);
    set_err(err, errlen, path, "shape %s of '%s' is too large (element count or byte size overflows)", sh, hd.descr);
    goto done;
  }
  size_t nbytes = (size_t)numel * esize;

  data = malloc(nbytes ? nbytes : 1);
  if (!data) {
    set_err(err, errlen, path, "out of memory allocating %zu bytes", nbytes);
    goto done;
  }
  size_t nread = fread(data, 1, nbytes, f);
  if (nread != nbytes) {
    char sh[256];
    fmt_shape(sh, sizeof sh, hd.rank, hd.dims);
    if (ferror(f))
      set_err(err, errlen, path, "read error: %s", strerror(errno));
    else
      set_err(err, errlen, path, "data size mismatch: shape %s of '%s' needs %zu bytes, file has %zu (truncated)",
              sh, hd.descr, nbytes, nread);
    goto done;
  }
  /* Trailing bytes mean the header and the data disagree. */
  {
    unsigned char tail[4096];
    size_t extra = 0, k;
    while ((k = fread(tail, 1, sizeof tail, f)) > 0) extra += k;
    if (extra) {
      char sh[256];
      fmt_shape(sh, sizeof sh, hd.rank, hd.dims);
      set_err(err, errlen, path, "data size mismatch: shape %s of '%s' needs %zu bytes, file has %zu extra bytes",
              sh, hd.descr, nbytes, extra);
      goto done;
    }
  }
  if (swap) byteswap_elems(data, nbytes, esize);
  if (dt == QRT_BOOL)
    for (size_t i = 0; i < nbytes; i++) data[i] = data[i] != 0;

  a.data = data;
  a.nbytes = nbytes;
  data = NULL;
  *out = a;
  rc = 0;

done:
  free(htext);
  free(data);
  fclose(f);
  return rc;
}

int qcc_npy_write(const char *path, const qcc_array *a, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (!path) {
    set_err(err, errlen, path, "no path given");
    return -1;
  }
  if (!a) {
    set_err(err, errlen, path, "no array given");
    return -1;
  }
  const char *code = dtype_code(a->dtype);
  size_t esize = qcc_dtype_size(a->dtype);
  if (!code || !esize) {
    set_err(err, errlen, path, "cannot write dtype %s (%d) to .npy", qcc_dtype_name(a->dtype), (int)a->dtype);
    return -1;
  }
  if (a->rank < 0 || a->rank > QRT_MAX_RANK) {
    set_err(err, errlen, path, "invalid rank %d (maximum %d)", a->rank, QRT_MAX_RANK);
    return -1;
  }
  int64_t numel = qcc_array_numel(a);
  if (numel < 0 || (uint64_t)numel > SIZE_MAX / esize) {
    set_err(err, errlen, path, "invalid shape (negative dimension or size overflow)");
    return -1;
  }
  size_t nbytes = (size_t)numel * esize;
  if (a->nbytes != nbytes) {
    set_err(err, errlen, path, "nbytes is %zu but the shape needs %zu bytes", a->nbytes, nbytes);
    return -1;
  }
  if (nbytes && !a->data) {
    set_err(err, errlen, path, "array data is NULL");
    return -1;
  }

  /* Header: magic(6) version(2) hlen(2) text; total padded to 64 bytes. */
  char hdr[512];
  char sh[256];
  fmt_shape(sh, sizeof sh, a->rank, a->dims);
  int n = snprintf(hdr, sizeof hdr, "{'descr': '%c%s', 'fortran_order': False, 'shape': %s, }",
                   esize == 1 ? '|' : '<', code, sh);
  if (n < 0 || (size_t)n + 64 >= sizeof hdr) {
    set_err(err, errlen, path, "internal error formatting header");
    return -1;
  }
  size_t hl = (size_t)n;
  size_t total = 10 + hl + 1;
  size_t pad = (64 - total % 64) % 64;
  memset(hdr + hl, ' ', pad);
  hl += pad;
  hdr[hl++] = '\n';
  unsigned char pre[10];
  memcpy(pre, npy_magic, 6);
  pre[6] = 1;
  pre[7] = 0;
  pre[8] = (unsigned char)(hl & 0xff);
  pre[9] = (unsigned char)(hl >> 8);

  errno = 0;
  FILE *f = fopen(path, "wb");
  if (!f) {
    set_err(err, errlen, path, "cannot open for writing: %s", errno ? strerror(errno) : "unknown error");
    return -1;
  }
  int ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre && fwrite(hdr, 1, hl, f) == hl;
  if (ok && nbytes) {
    int need_copy = a->dtype == QRT_BOOL || (esize > 1 && !host_is_little_endian());
    if (!need_copy) {
      ok = fwrite(a->data, 1, nbytes, f) == nbytes;
    } else {
      /* convert in chunks: bools to 0/1, multi-byte values to little-endian */
      unsigned char buf[4096];
      const unsigned char *src = a->data;
      for (size_t off = 0; ok && off < nbytes;) {
        size_t k = nbytes - off < sizeof buf ? nbytes - off : sizeof buf; /* multiple of esize */
        memcpy(buf, src + off, k);
        if (a->dtype == QRT_BOOL)
          for (size_t i = 0; i < k; i++) buf[i] = buf[i] != 0;
        else
          byteswap_elems(buf, k, esize);
        ok = fwrite(buf, 1, k, f) == k;
        off += k;
      }
    }
  }
  int saved = errno;
  if (fclose(f) != 0 && ok) {
    ok = 0;
    saved = errno;
  }
  if (!ok) {
    set_err(err, errlen, path, "write error: %s", saved ? strerror(saved) : "unknown error");
    remove(path);
    return -1;
  }
  return 0;
}

/* mkdir -p: each prefix of dir ending at a '/', then dir itself. */
static int make_dirs(const char *dir) {
  char tmp[1024];
  if (!*dir || strlen(dir) >= sizeof tmp) return -1;
  strcpy(tmp, dir);
  for (char *p = tmp + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      if (mkdir(tmp, 0777) && errno != EEXIST) return -1;
      *p = '/';
    }
  return mkdir(tmp, 0777) && errno != EEXIST ? -1 : 0;
}

int qcc_make_output_dir(const char *dir, char *err, size_t errlen) {
  struct stat st;
  if (make_dirs(dir) || stat(dir, &st)) {
    set_err(err, errlen, dir, "cannot create the output folder: %s", strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    set_err(err, errlen, dir, "exists and is not a folder");
    return -1;
  }
  return 0;
}

void qcc_npy_file_stem(const char *name, char *safe, size_t cap) {
  size_t i = 0;
  for (; name[i] && i + 1 < cap; i++) {
    char ch = name[i];
    int keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';
    safe[i] = keep ? ch : '_';
  }
  safe[i] = 0;
}

int qcc_npy_write_output(const char *dir, const char *name, const qcc_array *a, char *err, size_t errlen) {
  if (qcc_make_output_dir(dir, err, errlen)) return -1;
  char safe[256], path[1400];
  qcc_npy_file_stem(name, safe, sizeof safe);
  snprintf(path, sizeof path, "%s/%s.npy", dir, safe);
  return qcc_npy_write(path, a, err, errlen);
}
