/* fuzz_npy.c - libFuzzer harness over the .npy reader and the two places
 * qcc feeds a user's .npy file into a compile: --bind (a graph input
 * frozen to the file's array, then shape inference and folding) and
 * --calib (a calibration sample, then the calibrate and quantize passes).
 *
 * Input: the first byte picks the path (even: --bind s=FILE, odd: --calib
 * with FILE as x.npy), the rest is the file. The model is
 * test/fuzz/make_npy_seeds.py's (y = MatMul(Reshape(x, s), w)), whose path
 * comes in QCC_FUZZ_NPY_MODEL (docs/fuzzing.md has the commands).
 *
 * Checked beyond the sanitizers: a file the reader refuses leaves a
 * message and no data; one it accepts has nbytes = numel x element size;
 * a compile that fails has printed an error line (no silent refusal). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emit_c.h"
#include "npy.h"
#include "passes.h"
#include "qcc.h"
#include "quant_options.h"

static const char *model_path;
static char bind_path[256], calib_dir[256], calib_path[256], good_s[256];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  model_path = getenv("QCC_FUZZ_NPY_MODEL");
  if (!model_path) {
    fprintf(stderr, "qcc fuzz: set QCC_FUZZ_NPY_MODEL to make_npy_seeds.py's model\n");
    abort();
  }
  char dir[] = "/tmp/qcc-fuzz-npy-XXXXXX";
  if (!mkdtemp(dir)) {
    perror("qcc fuzz: mkdtemp");
    abort();
  }
  snprintf(bind_path, sizeof bind_path, "%s/s.npy", dir);
  snprintf(good_s, sizeof good_s, "%s/good_s.npy", dir);
  snprintf(calib_dir, sizeof calib_dir, "%s/calib", dir);
  snprintf(calib_path, sizeof calib_path, "%s/x.npy", calib_dir);
  char err[256];
  int64_t shape[2] = {2, 3};
  qcc_array s = {QRT_I64, 1, {2}, shape, sizeof shape};
  if (qcc_make_output_dir(calib_dir, err, sizeof err) || qcc_npy_write(good_s, &s, err, sizeof err)) {
    fprintf(stderr, "qcc fuzz: %s\n", err);
    abort();
  }
  char *flags[] = {"qcc", "-q", "w8a8", "--calib", calib_dir};
  for (int i = 1; i < 5; i++)
    if (qcc_quant_parse_flag(5, flags, &i) != 1) abort();
  return 0;
}

static void reader_invariants(const char *path) {
  qcc_array a;
  char err[256] = "";
  if (qcc_npy_read(path, &a, err, sizeof err)) {
    if (!err[0] || a.data) {
      fprintf(stderr, "qcc fuzz: the reader refused the file without a message, or left data\n");
      abort();
    }
    return;
  }
  if (qcc_array_numel(&a) < 0 || a.nbytes != (size_t)qcc_array_numel(&a) * qcc_dtype_size(a.dtype)) {
    fprintf(stderr, "qcc fuzz: accepted array with %zu bytes for %lld elements\n", a.nbytes,
            (long long)qcc_array_numel(&a));
    abort();
  }
  qcc_array_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const int calib = data[0] & 1;
  const char *path = calib ? calib_path : bind_path;
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data + 1, 1, size - 1, f) != size - 1) abort();
  fclose(f);
  reader_invariants(path);
  const int errors_before = qcc_error_count();
  MlirContext ctx = qcc_context_create();
  qcc_input_binding b = {"s", calib ? good_s : bind_path};
  qcc_import_options io = {NULL, 0, &b, 1};
  MlirModule m = qcc_import_onnx(ctx, model_path, &io);
  int rc = mlirModuleIsNull(m) ? -1 : qcc_run_default_pipeline(m);
  if (!rc && calib) rc = qcc_pass_calibrate(m);
  if (!rc && calib) rc = qcc_pass_quantize(m);
  if (!rc) {
    qcc_emit_options eo = {"m", "/dev/null", "/dev/null", true, NULL, NULL, 1};
    qcc_emit_stats st;
    rc = qcc_emit_c(m, &eo, &st);
  }
  if (rc && qcc_error_count() == errors_before) {
    fprintf(stderr, "qcc fuzz: input refused without an error line\n");
    abort();
  }
  if (!mlirModuleIsNull(m)) mlirModuleDestroy(m);
  mlirContextDestroy(ctx);
  return 0;
}
