/* test_npy.c - unit tests for compiler/npy.c (.npy read/write).
 *
 * Self-contained: writes its files into a fresh temp directory. Exits nonzero
 * on failure and prints "N passed, N failed" at the end.
 *
 * build and run (from the repository root):
 *   cc -std=c11 -Wall -Wextra -pedantic -O1 -g test/unit/test_npy.c compiler/npy.c -o /tmp/test_npy && /tmp/test_npy
 * with sanitizers:
 *   cc -std=c11 -Wall -Wextra -pedantic -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
 *      test/unit/test_npy.c compiler/npy.c -o /tmp/test_npy_asan && /tmp/test_npy_asan
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, rmdir */

#include "../../compiler/npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int g_pass, g_fail;
static char g_dir[256];

#define CHECK(cond, ...)                                                                                     \
  do {                                                                                                       \
    if (cond) {                                                                                              \
      g_pass++;                                                                                              \
    } else {                                                                                                 \
      g_fail++;                                                                                              \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                        \
      fprintf(stderr, __VA_ARGS__);                                                                          \
      fputc('\n', stderr);                                                                                   \
    }                                                                                                        \
  } while (0)

static const char *tpath(const char *name) {
  static char buf[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
  return buf[k];
}

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    exit(2);
  }
  if (n && fwrite(p, 1, n, f) != n) {
    perror(path);
    exit(2);
  }
  fclose(f);
}

static unsigned char *read_bytes(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1024, len = 0;
  unsigned char *b = malloc(cap);
  size_t k;
  while (b && (k = fread(b + len, 1, cap - len, f)) > 0) {
    len += k;
    if (len == cap) {
      unsigned char *nb = realloc(b, cap *= 2);
      if (!nb) free(b);
      b = nb;
    }
  }
  fclose(f);
  *n = len;
  return b;
}

/* Build a .npy file: magic, version, header text (padded like numpy unless
 * raw), then data. */
typedef struct buf {
  unsigned char *p;
  size_t n, cap;
} buf;

static void buf_add(buf *b, const void *p, size_t n) {
  if (b->n + n > b->cap) {
    size_t nc = b->cap ? b->cap : 256;
    while (nc < b->n + n) nc *= 2;
    unsigned char *np = realloc(b->p, nc);
    if (!np) exit(2);
    b->p = np;
    b->cap = nc;
  }
  if (n) memcpy(b->p + b->n, p, n);
  b->n += n;
}

static buf make_npy(int major, const char *header, int pad, const void *data, size_t dlen) {
  buf b = {0};
  char h[4096];
  size_t hl = strlen(header);
  memcpy(h, header, hl);
  if (pad) {
    size_t pre = major == 1 ? 10 : 12;
    while ((pre + hl + 1) % 64) h[hl++] = ' ';
    h[hl++] = '\n';
  }
  unsigned char pre[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0};
  if (major == 1) {
    pre[8] = (unsigned char)(hl & 0xff);
    pre[9] = (unsigned char)(hl >> 8);
    buf_add(&b, pre, 10);
  } else {
    pre[8] = (unsigned char)(hl & 0xff);
    pre[9] = (unsigned char)(hl >> 8);
    pre[10] = (unsigned char)(hl >> 16);
    pre[11] = (unsigned char)(hl >> 24);
    buf_add(&b, pre, 12);
  }
  buf_add(&b, h, hl);
  buf_add(&b, data, dlen);
  return b;
}

/* Expect qcc_npy_read of the given bytes to fail with `want` in the message. */
static void expect_err_bytes(const char *name, const void *p, size_t n, const char *want) {
  const char *path = tpath(name);
  write_bytes(path, p, n);
  qcc_array a;
  char err[512];
  memset(&a, 0x5a, sizeof a); /* garbage: read must reset it */
  int rc = qcc_npy_read(path, &a, err, sizeof err);
  CHECK(rc == -1, "%s: expected failure, got rc=%d", name, rc);
  CHECK(a.data == NULL && a.nbytes == 0, "%s: output not empty after failure", name);
  CHECK(strstr(err, want) != NULL, "%s: message '%s' lacks '%s'", name, err, want);
  CHECK(strstr(err, path) == err, "%s: message '%s' does not start with the path", name, err);
  CHECK(strchr(err, '\n') == NULL, "%s: message has a newline", name);
  qcc_array_free(&a);
  remove(path);
}

static void expect_err_hdr(const char *name, const char *header, const void *data, size_t dlen, const char *want) {
  buf b = make_npy(1, header, 1, data, dlen);
  expect_err_bytes(name, b.p, b.n, want);
  free(b.p);
}

static int read_ok(const char *name, const void *p, size_t n, qcc_array *a) {
  const char *path = tpath(name);
  write_bytes(path, p, n);
  char err[512];
  int rc = qcc_npy_read(path, a, err, sizeof err);
  CHECK(rc == 0, "%s: read failed: %s", name, err);
  remove(path);
  return rc;
}

/* ------------------------------------------------------------------------ */

static void test_dtype_info(void) {
  static const struct { qrt_dtype t; size_t size; const char *name; } tab[] = {
      {QRT_F32, 4, "float32"}, {QRT_U8, 1, "uint8"},     {QRT_I8, 1, "int8"},       {QRT_U16, 2, "uint16"},
      {QRT_I16, 2, "int16"},   {QRT_I32, 4, "int32"},    {QRT_I64, 8, "int64"},     {QRT_STRING, 0, "string"},
      {QRT_BOOL, 1, "bool"},   {QRT_F16, 2, "float16"},  {QRT_F64, 8, "float64"},   {QRT_U32, 4, "uint32"},
      {QRT_U64, 8, "uint64"},  {QRT_BF16, 2, "bfloat16"}, {QRT_UNDEFINED, 0, "undefined"},
  };
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
    CHECK(qcc_dtype_size(tab[i].t) == tab[i].size, "size of %s", tab[i].name);
    CHECK(strcmp(qcc_dtype_name(tab[i].t), tab[i].name) == 0, "name of %d: %s", (int)tab[i].t,
          qcc_dtype_name(tab[i].t));
  }
  CHECK(qcc_dtype_size((qrt_dtype)99) == 0, "unknown size");
  CHECK(strcmp(qcc_dtype_name((qrt_dtype)99), "unknown") == 0, "unknown name");

  qcc_array a = {0};
  CHECK(qcc_array_numel(&a) == 1, "rank 0 numel");
  a.rank = 3;
  a.dims[0] = 2, a.dims[1] = 3, a.dims[2] = 4;
  CHECK(qcc_array_numel(&a) == 24, "numel 24");
  a.dims[1] = 0;
  CHECK(qcc_array_numel(&a) == 0, "numel 0");
  a.dims[1] = -1;
  CHECK(qcc_array_numel(&a) == -1, "negative dim");
  a.rank = 2;
  a.dims[0] = INT64_MAX / 2, a.dims[1] = 3;
  CHECK(qcc_array_numel(&a) == -1, "overflow");
  a.rank = QRT_MAX_RANK + 1;
  CHECK(qcc_array_numel(&a) == -1, "bad rank");
  CHECK(qcc_array_numel(NULL) == -1, "NULL");
}

/* Fill with a deterministic byte pattern that is valid for every dtype. */
static void fill_pattern(qcc_array *a, unsigned seed) {
  unsigned char *p = a->data;
  uint32_t x = 2463534242u ^ seed;
  for (size_t i = 0; i < a->nbytes; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    p[i] = (unsigned char)(x >> 8);
  }
  if (a->dtype == QRT_BOOL)
    for (size_t i = 0; i < a->nbytes; i++) p[i] &= 1;
}

/* bfloat16 is written as its uint16 bits and read back as uint16, which
 * qcc_array_expect relabels where bfloat16 is wanted (and only there). */
static void test_bf16_as_u16(void) {
  uint16_t bits[3] = {0x3f80, 0x7fc0, 0x8001};
  qcc_array a = {QRT_BF16, 1, {3}, bits, sizeof bits}, b;
  char err[512];
  const char *path = tpath("bf16.npy");
  CHECK(qcc_npy_write(path, &a, err, sizeof err) == 0, "write bf16: %s", err);
  size_t n;
  unsigned char *raw = read_bytes(path, &n);
  CHECK(raw && n > 10 && strstr((const char *)raw + 10, "'descr': '<u2'"), "bf16 written as <u2");
  free(raw);
  CHECK(qcc_npy_read(path, &b, err, sizeof err) == 0 && b.dtype == QRT_U16, "read back as uint16");
  CHECK(!qcc_array_expect(&b, QRT_F16) && b.dtype == QRT_U16, "uint16 is not float16");
  CHECK(qcc_array_expect(&b, QRT_BF16) && b.dtype == QRT_BF16, "uint16 taken as bfloat16");
  CHECK(b.nbytes == sizeof bits && memcmp(b.data, bits, sizeof bits) == 0, "bf16 bits kept");
  CHECK(qcc_array_expect(&b, QRT_BF16), "bfloat16 is bfloat16");
  qcc_array_free(&b);
  remove(path);
}

static void test_roundtrip(void) {
  static const qrt_dtype types[] = {QRT_F32, QRT_U8,  QRT_I8,  QRT_U16, QRT_I16, QRT_I32,
                                    QRT_I64, QRT_BOOL, QRT_F16, QRT_F64, QRT_U32, QRT_U64};
  static const struct { int rank; int64_t dims[QRT_MAX_RANK]; } shapes[] = {
      {0, {0}}, {1, {1}}, {1, {7}}, {2, {3, 5}}, {3, {2, 0, 4}}, {4, {1, 2, 3, 4}},
      {QRT_MAX_RANK, {2, 1, 2, 1, 3, 1, 2, 1}}, {1, {1000}},
  };
  for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
      qcc_array a = {0}, b;
      a.dtype = types[ti];
      a.rank = shapes[si].rank;
      memcpy(a.dims, shapes[si].dims, sizeof a.dims);
      a.nbytes = (size_t)qcc_array_numel(&a) * qcc_dtype_size(a.dtype);
      a.data = malloc(a.nbytes ? a.nbytes : 1);
      fill_pattern(&a, (unsigned)(ti * 100 + si));
      char err[512];
      const char *path = tpath("rt.npy");
      int rc = qcc_npy_write(path, &a, err, sizeof err);
      CHECK(rc == 0, "write %s shape#%zu: %s", qcc_dtype_name(a.dtype), si, err);
      rc = qcc_npy_read(path, &b, err, sizeof err);
      CHECK(rc == 0, "read %s shape#%zu: %s", qcc_dtype_name(a.dtype), si, err);
      if (rc == 0) {
        CHECK(b.dtype == a.dtype, "dtype %d != %d", (int)b.dtype, (int)a.dtype);
        CHECK(b.rank == a.rank, "rank %d != %d", b.rank, a.rank);
        CHECK(memcmp(b.dims, a.dims, sizeof(int64_t) * (size_t)a.rank) == 0, "dims differ");
        CHECK(b.nbytes == a.nbytes, "nbytes %zu != %zu", b.nbytes, a.nbytes);
        CHECK(b.data != NULL, "data NULL");
        CHECK(b.nbytes == a.nbytes && memcmp(b.data, a.data, a.nbytes) == 0, "%s shape#%zu: data differs",
              qcc_dtype_name(a.dtype), si);
      }
      /* header layout: v1.0, data offset a multiple of 64, header ends in '\n' */
      size_t n;
      unsigned char *raw = read_bytes(path, &n);
      CHECK(raw && n >= 10 && raw[6] == 1 && raw[7] == 0, "version 1.0");
      if (raw && n >= 10) {
        size_t hl = (size_t)raw[8] | (size_t)raw[9] << 8;
        CHECK((10 + hl) % 64 == 0, "data offset %zu not aligned", 10 + hl);
        CHECK(10 + hl <= n && raw[10 + hl - 1] == '\n', "header does not end in newline");
        CHECK(n == 10 + hl + a.nbytes, "file size %zu", n);
      }
      free(raw);
      remove(path);
      qcc_array_free(&a);
      qcc_array_free(&b);
      CHECK(b.data == NULL && b.nbytes == 0, "free resets");
    }
  }
  qcc_array_free(NULL); /* allowed */
}

/* np.save(f, np.arange(6, dtype='<f4').reshape(2, 3) - 2.5), numpy 1.24 */
static const unsigned char numpy_f4_2x3[] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x20,
    0x33, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x00, 0x00, 0x20, 0xc0, 0x00, 0x00, 0xc0, 0xbf, 0x00, 0x00, 0x00, 0xbf, 0x00, 0x00, 0x00, 0x3f,
    0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x20, 0x40};

static void test_numpy_bytes(void) {
  qcc_array a;
  if (read_ok("np_f4.npy", numpy_f4_2x3, sizeof numpy_f4_2x3, &a) == 0) {
    CHECK(a.dtype == QRT_F32 && a.rank == 2 && a.dims[0] == 2 && a.dims[1] == 3 && a.nbytes == 24, "f4 (2,3)");
    const float *f = a.data;
    for (int i = 0; i < 6; i++) CHECK(f[i] == (float)i - 2.5f, "f4 value %d: %g", i, (double)f[i]);
    /* writing it back gives numpy's exact bytes */
    char err[256];
    const char *path = tpath("np_f4_out.npy");
    CHECK(qcc_npy_write(path, &a, err, sizeof err) == 0, "%s", err);
    size_t n;
    unsigned char *raw = read_bytes(path, &n);
    CHECK(raw && n == sizeof numpy_f4_2x3 && memcmp(raw, numpy_f4_2x3, n) == 0, "written bytes differ from numpy's");
    free(raw);
    remove(path);
    qcc_array_free(&a);
  }
}

static void test_header_variants(void) {
  qcc_array a;
  /* v2.0 and v3.0 headers */
  const int32_t i4[3] = {1, -2, 300};
  for (int major = 2; major <= 3; major++) {
    buf b = make_npy(major, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", 1, i4, sizeof i4);
    if (read_ok("v23.npy", b.p, b.n, &a) == 0) {
      CHECK(a.dtype == QRT_I32 && a.rank == 1 && a.dims[0] == 3 && memcmp(a.data, i4, 12) == 0, "v%d.0", major);
      qcc_array_free(&a);
    }
    free(b.p);
  }
  /* big-endian data is converted */
  {
    const unsigned char be[] = {0x00, 0x01, 0xff, 0xfe, 0x01, 0x2c};
    buf b = make_npy(1, "{'descr': '>i2', 'fortran_order': False, 'shape': (3,), }", 1, be, sizeof be);
    if (read_ok("be_i2.npy", b.p, b.n, &a) == 0) {
      const int16_t *v = a.data;
      CHECK(a.dtype == QRT_I16 && v[0] == 1 && v[1] == -2 && v[2] == 300, "big-endian i2: %d %d %d", v[0], v[1], v[2]);
      qcc_array_free(&a);
    }
    free(b.p);
    const unsigned char bef8[] = {0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18}; /* pi */
    b = make_npy(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (), }", 1, bef8, sizeof bef8);
    if (read_ok("be_f8.npy", b.p, b.n, &a) == 0) {
      CHECK(a.dtype == QRT_F64 && a.rank == 0 && *(double *)a.data == 3.141592653589793, "big-endian f8");
      qcc_array_free(&a);
    }
    free(b.p);
  }
  /* key order, double quotes, no trailing comma, spaces, Python 2 'L' dims, list shape, no padding */
  {
    const uint16_t u2[6] = {0, 1, 2, 65535, 4, 5};
    const char *hdrs[] = {
        "{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \"<u2\"}",
        "{ 'descr' : '<u2' , 'fortran_order' : False , 'shape' : ( 2 , 3 , ) , }",
        "{'descr': '<u2', 'fortran_order': False, 'shape': (2L, 3L), }",
        "{'descr': '<u2', 'fortran_order': False, 'shape': [2, 3]}",
    };
    for (size_t k = 0; k < sizeof hdrs / sizeof hdrs[0]; k++) {
      for (int pad = 0; pad <= 1; pad++) {
        buf b = make_npy(1, hdrs[k], pad, u2, sizeof u2);
        if (read_ok("var.npy", b.p, b.n, &a) == 0) {
          CHECK(a.dtype == QRT_U16 && a.rank == 2 && a.dims[0] == 2 && a.dims[1] == 3 && memcmp(a.data, u2, 12) == 0,
                "header variant %zu", k);
          qcc_array_free(&a);
        }
        free(b.p);
      }
    }
  }
  /* bool bytes other than 0/1 are normalized; '|u1' and '|i1' */
  {
    const unsigned char bb[4] = {0, 1, 2, 255};
    buf b = make_npy(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }", 1, bb, 4);
    if (read_ok("b1.npy", b.p, b.n, &a) == 0) {
      const unsigned char *v = a.data;
      CHECK(a.dtype == QRT_BOOL && v[0] == 0 && v[1] == 1 && v[2] == 1 && v[3] == 1, "bool normalized");
      qcc_array_free(&a);
    }
    free(b.p);
    b = make_npy(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 2), }", 1, bb, 4);
    if (read_ok("i1.npy", b.p, b.n, &a) == 0) {
      CHECK(a.dtype == QRT_I8 && ((signed char *)a.data)[3] == -1, "i1");
      qcc_array_free(&a);
    }
    free(b.p);
  }
  /* empty array: data is non-NULL, nbytes 0 */
  {
    buf b = make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 5), }", 1, NULL, 0);
    if (read_ok("empty.npy", b.p, b.n, &a) == 0) {
      CHECK(a.rank == 2 && a.dims[0] == 0 && a.nbytes == 0 && a.data != NULL, "empty array");
      qcc_array_free(&a);
    }
    free(b.p);
  }
  /* exactly QRT_MAX_RANK dims */
  {
    unsigned char d[1] = {7};
    buf b = make_npy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1), }", 1, d, 1);
    if (read_ok("rank8.npy", b.p, b.n, &a) == 0) {
      CHECK(a.rank == 8 && *(unsigned char *)a.data == 7, "rank 8");
      qcc_array_free(&a);
    }
    free(b.p);
  }
}

static void test_errors(void) {
  const float f6[6] = {0};
  char err[512];
  qcc_array a;

  /* not found */
  CHECK(qcc_npy_read(tpath("does_not_exist.npy"), &a, err, sizeof err) == -1, "missing file");
  CHECK(strstr(err, "does_not_exist.npy: not found") != NULL, "missing file message: %s", err);
  CHECK(a.data == NULL, "missing file: data NULL");
  /* a directory */
  CHECK(qcc_npy_read(g_dir, &a, err, sizeof err) == -1 && strstr(err, "read error") != NULL, "directory: %s", err);

  /* truncated / bad magic */
  expect_err_bytes("empty.npy", "", 0, "truncated file");
  expect_err_bytes("short.npy", "\x93NUM", 4, "truncated file");
  expect_err_bytes("short2.npy", "\x93NUMPY\x01", 7, "truncated file");
  expect_err_bytes("short3.npy", "\x93NUMPY\x01\x00\x76", 9, "truncated file");
  expect_err_bytes("short4.npy", "\x93NUMPY\x02\x00\x76\x00\x00", 11, "truncated file");
  expect_err_bytes("magic.npy", "PK\x03\x04 this is a zip file", 24, "bad magic");
  expect_err_bytes("magic2.npy", "\x93NUMPX\x01\x00\x10\x00{}", 12, "bad magic");
  expect_err_bytes("magic3.npy", "x", 1, "bad magic");
  expect_err_bytes("version.npy", "\x93NUMPY\x04\x00\x10\x00{}", 12, "unsupported .npy format version 4.0");
  expect_err_bytes("hdrtrunc.npy", "\x93NUMPY\x01\x00\x76\x00{'descr'", 17, "truncated file");
  expect_err_bytes("hdrhuge.npy", "\x93NUMPY\x02\x00\xff\xff\xff\xff{", 13, "too large");
  for (size_t cut = 0; cut < sizeof numpy_f4_2x3; cut++) {
    char name[64];
    snprintf(name, sizeof name, "cut%zu.npy", cut);
    expect_err_bytes(name, numpy_f4_2x3, cut, cut < 128 ? "truncated file" : "data size mismatch");
  }

  /* header parse errors */
  const char *F = "'fortran_order': False";
  char h[512];
  expect_err_hdr("nodict.npy", "['descr', '<f4']", f6, 24, "header parse error");
  expect_err_hdr("nodescr.npy", "{'fortran_order': False, 'shape': (6,), }", f6, 24, "missing key 'descr'");
  expect_err_hdr("noshape.npy", "{'descr': '<f4', 'fortran_order': False, }", f6, 24, "missing key 'shape'");
  expect_err_hdr("noforder.npy", "{'descr': '<f4', 'shape': (6,), }", f6, 24, "missing key 'fortran_order'");
  expect_err_hdr("dupkey.npy", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", f6, 24,
                 "duplicate key 'descr'");
  expect_err_hdr("badkey.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}", f6, 24,
                 "unexpected key 'x'");
  expect_err_hdr("unterm.npy", "{'descr': '<f4, 'fortran_order': False, 'shape': (6,), }", f6, 24,
                 "header parse error");
  expect_err_hdr("unterm2.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (6,", f6, 24,
                 "header parse error");
  expect_err_hdr("unterm3.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)", f6, 24,
                 "header parse error");
  expect_err_hdr("shape_int.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': 6, }", f6, 24,
                 "shape is not a tuple");
  expect_err_hdr("shape_neg.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }", f6, 24,
                 "negative dimension");
  expect_err_hdr("shape_float.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (6.0,), }", f6, 24,
                 "header parse error");
  expect_err_hdr("shape_junk.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", f6, 24,
                 "header parse error");
  expect_err_hdr("forder_bad.npy", "{'descr': '<f4', 'fortran_order': 0, 'shape': (6,), }", f6, 24,
                 "fortran_order is not True or False");
  expect_err_hdr("trailing.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), } x", f6, 24,
                 "unexpected text after");
  expect_err_hdr("emptyhdr.npy", "", f6, 24, "header parse error");
  snprintf(h, sizeof h, "{'descr': '<f4', %s, 'shape': (99999999999999999999,), }", F);
  expect_err_hdr("dim_big.npy", h, f6, 24, "dimension too large");

  /* unsupported dtypes, fortran order */
  snprintf(h, sizeof h, "{'descr': '<c8', %s, 'shape': (3,), }", F);
  expect_err_hdr("c8.npy", h, f6, 24, "unsupported dtype '<c8'");
  snprintf(h, sizeof h, "{'descr': '|O', %s, 'shape': (3,), }", F);
  expect_err_hdr("obj.npy", h, f6, 24, "unsupported dtype '|O'");
  snprintf(h, sizeof h, "{'descr': '<U5', %s, 'shape': (3,), }", F);
  expect_err_hdr("str.npy", h, f6, 24, "unsupported dtype '<U5'");
  snprintf(h, sizeof h, "{'descr': '|f4', %s, 'shape': (6,), }", F);
  expect_err_hdr("pipe_f4.npy", h, f6, 24, "without byte order");
  snprintf(h, sizeof h, "{'descr': [('a', '<f4'), ('b', '<i4')], %s, 'shape': (3,), }", F);
  expect_err_hdr("record.npy", h, f6, 24, "structured");
  snprintf(h, sizeof h, "{'descr': '<f4xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', %s, 'shape': (3,), }", F);
  expect_err_hdr("longdescr.npy", h, f6, 24, "unsupported dtype");
  expect_err_hdr("fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", f6, 24,
                 "fortran order");

  /* rank cap and size overflow */
  snprintf(h, sizeof h, "{'descr': '|u1', %s, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", F);
  expect_err_hdr("rank9.npy", h, f6, 1, "rank 9 exceeds the maximum rank 8");
  snprintf(h, sizeof h, "{'descr': '|u1', %s, 'shape': (%s), }", F,
           "1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1");
  expect_err_hdr("rank35.npy", h, f6, 1, "rank 35 exceeds");
  snprintf(h, sizeof h, "{'descr': '<f8', %s, 'shape': (4611686018427387904, 4), }", F);
  expect_err_hdr("ovf1.npy", h, f6, 24, "too large");
  snprintf(h, sizeof h, "{'descr': '<f8', %s, 'shape': (2305843009213693952,), }", F);
  expect_err_hdr("ovf2.npy", h, f6, 24, "too large");
  snprintf(h, sizeof h, "{'descr': '<f8', %s, 'shape': (9223372036854775807,), }", F);
  expect_err_hdr("ovf3.npy", h, f6, 24, "too large");

  /* data size mismatch */
  snprintf(h, sizeof h, "{'descr': '<f4', %s, 'shape': (2, 3), }", F);
  expect_err_hdr("short_data.npy", h, f6, 20, "data size mismatch");
  {
    unsigned char big[30] = {0};
    expect_err_hdr("long_data2.npy", h, big, sizeof big, "6 extra bytes");
  }

  /* small / NULL error buffers are safe */
  {
    char tiny[8];
    CHECK(qcc_npy_read(tpath("nope.npy"), &a, tiny, sizeof tiny) == -1 && strlen(tiny) == 7, "tiny err buffer");
    CHECK(qcc_npy_read(tpath("nope.npy"), &a, NULL, 0) == -1, "NULL err");
    CHECK(qcc_npy_read(tpath("nope.npy"), &a, tiny, 0) == -1, "errlen 0");
    CHECK(qcc_npy_read(tpath("nope.npy"), NULL, err, sizeof err) == -1, "NULL out");
    CHECK(qcc_npy_read(NULL, &a, err, sizeof err) == -1, "NULL path");
  }
}

static void test_write_errors(void) {
  char err[512];
  float v[4] = {1, 2, 3, 4};
  qcc_array a = {0};
  a.dtype = QRT_F32;
  a.rank = 1;
  a.dims[0] = 4;
  a.data = v;
  a.nbytes = sizeof v;

  a.dtype = QRT_STRING;
  CHECK(qcc_npy_write(tpath("w.npy"), &a, err, sizeof err) == -1 && strstr(err, "string"), "string: %s", err);
  a.dtype = QRT_UNDEFINED;
  CHECK(qcc_npy_write(tpath("w.npy"), &a, err, sizeof err) == -1, "undefined");
  a.dtype = (qrt_dtype)77;
  CHECK(qcc_npy_write(tpath("w.npy"), &a, err, sizeof err) == -1, "unknown");
  a.dtype = QRT_F32;
  a.rank = QRT_MAX_RANK + 1;
  CHECK(qcc_npy_write(tpath("w.npy"), &a, err, sizeof err) == -1 && strstr(err, "rank"), "rank: %s", err);
  a.rank = -1;
  CHECK(qcc_npy_write(tpath("w.npy"), &a, err, sizeof err) == -1, "rank -1");
  a.rank = 1;
  a.nbytes = 12;
  CHECK(qcc_npy_write(tpath("w.npy"), &a, err, sizeof err) == -1 && strstr(err, "nbytes"), "nbytes: %s", err);
  a.nbytes = 16;
  a.dims[0] = -4;
  CHECK(qcc_npy_write(tpath("w.npy"), &a, err, sizeof err) == -1, "negative dim");
  a.dims[0] = 4;
  a.data = NULL;
  CHECK(qcc_npy_write(tpath("w.npy"), &a, err, sizeof err) == -1 && strstr(err, "NULL"), "NULL data: %s", err);
  a.data = v;
  CHECK(qcc_npy_write(tpath("no/such/dir/w.npy"), &a, err, sizeof err) == -1 && strstr(err, "cannot open"),
        "bad dir: %s", err);
  CHECK(qcc_npy_write(tpath("w.npy"), NULL, err, sizeof err) == -1, "NULL array");
  CHECK(qcc_npy_write(NULL, &a, err, sizeof err) == -1, "NULL path");
  /* writing bools normalizes to 0/1 */
  unsigned char bb[3] = {0, 5, 1};
  qcc_array b = {0}, c;
  b.dtype = QRT_BOOL;
  b.rank = 1;
  b.dims[0] = 3;
  b.data = bb;
  b.nbytes = 3;
  CHECK(qcc_npy_write(tpath("w.npy"), &b, err, sizeof err) == 0, "bool write: %s", err);
  if (qcc_npy_read(tpath("w.npy"), &c, err, sizeof err) == 0) {
    const unsigned char *p = c.data;
    CHECK(p[0] == 0 && p[1] == 1 && p[2] == 1, "bool normalized on write");
    qcc_array_free(&c);
  }
  CHECK(bb[1] == 5, "write does not modify the input");
  remove(tpath("w.npy"));
}

/* Mutation fuzzing: random byte flips, truncations and header garbage must
 * give an error or a consistent array, never a crash (run under ASan). */
static uint32_t rng_state = 12345;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static void test_fuzz(void) {
  const char *path = tpath("fuzz.npy");
  int ok = 0, bad = 0, inconsistent = 0;
  unsigned char b[512];
  static const char alphabet[] = "{}()[]'\":, 0123456789-+LTrueFalsedescrfortran_ordershape<>|=fiub\n\\";
  for (int it = 0; it < 20000; it++) {
    size_t n = sizeof numpy_f4_2x3;
    memcpy(b, numpy_f4_2x3, n);
    int mode = (int)(rnd() % 4);
    if (mode == 0) { /* random byte flips anywhere */
      int k = 1 + (int)(rnd() % 4);
      for (int j = 0; j < k; j++) b[rnd() % n] = (unsigned char)rnd();
    } else if (mode == 1) { /* header-alphabet characters inside the header text */
      int k = 1 + (int)(rnd() % 6);
      for (int j = 0; j < k; j++) b[10 + rnd() % 118] = (unsigned char)alphabet[rnd() % (sizeof alphabet - 1)];
    } else if (mode == 2) { /* header length field */
      b[8] = (unsigned char)rnd();
      b[9] = (unsigned char)(rnd() % 3);
      if (rnd() % 2) b[6] = (unsigned char)(1 + rnd() % 3);
    } else { /* random header text of random length */
      size_t hl = rnd() % 200;
      n = 10 + hl + rnd() % 64;
      b[8] = (unsigned char)(hl & 0xff);
      b[9] = (unsigned char)(hl >> 8);
      for (size_t j = 10; j < n; j++) b[j] = (unsigned char)alphabet[rnd() % (sizeof alphabet - 1)];
    }
    if (rnd() % 5 == 0) n = rnd() % (n + 1);
    write_bytes(path, b, n);
    qcc_array a;
    char err[256];
    if (qcc_npy_read(path, &a, err, sizeof err) == 0) {
      ok++;
      int64_t ne = qcc_array_numel(&a);
      if (ne < 0 || (size_t)ne * qcc_dtype_size(a.dtype) != a.nbytes || a.rank < 0 || a.rank > QRT_MAX_RANK ||
          !a.data)
        inconsistent++;
      if (a.nbytes) { /* touch all the data */
        volatile unsigned char s = 0;
        for (size_t j = 0; j < a.nbytes; j++) s ^= ((unsigned char *)a.data)[j];
        (void)s;
      }
      qcc_array_free(&a);
    } else {
      bad++;
      if (a.data != NULL || err[0] == '\0' || strchr(err, '\n')) inconsistent++;
    }
  }
  remove(path);
  CHECK(inconsistent == 0, "fuzz: %d inconsistent results (%d ok, %d errors)", inconsistent, ok, bad);
  CHECK(bad > 0 && ok > 0, "fuzz: %d ok, %d errors", ok, bad);
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(g_dir, sizeof g_dir, "%s/test_npy.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(g_dir)) {
    perror("mkdtemp");
    return 2;
  }
  test_dtype_info();
  test_roundtrip();
  test_bf16_as_u16();
  test_numpy_bytes();
  test_header_variants();
  test_errors();
  test_write_errors();
  test_fuzz();
  if (rmdir(g_dir) != 0) perror(g_dir);
  printf("%d passed, %d failed\n", g_pass, g_fail);
  return g_fail ? 1 : 0;
}
