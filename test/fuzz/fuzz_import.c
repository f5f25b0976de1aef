/* fuzz_import.c - libFuzzer harness over what `qcc MODEL -o OUT.c` does:
 * bytes as an .onnx file -> import -> default pipeline (legalization and
 * shape inference, folding, fusions) -> C emission to /dev/null.
 *
 * The invariant it checks beyond the sanitizers: an input qcc refuses must
 * have been reported with qcc_error (a failure with no error line is a
 * silent refusal, as bad for a user as a crash), and the error count only
 * moves when the stage returned failure.
 *
 * The bytes are written to a file in a private temporary folder because
 * the importer resolves external data beside the model's path: an empty
 * folder makes every external reference fail cleanly instead of reading
 * whatever sits next to a shared /tmp file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emit_c.h"
#include "passes.h"
#include "qcc.h"

static char model_path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  char dir[] = "/tmp/qcc-fuzz-XXXXXX";
  if (!mkdtemp(dir)) {
    perror("qcc fuzz: mkdtemp");
    abort();
  }
  snprintf(model_path, sizeof model_path, "%s/model.onnx", dir);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *f = fopen(model_path, "wb");
  if (!f || fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  const int errors_before = qcc_error_count();
  MlirContext ctx = qcc_context_create();
  MlirModule m = qcc_import_onnx(ctx, model_path, NULL);
  int rc = mlirModuleIsNull(m) ? -1 : qcc_run_default_pipeline(m);
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
