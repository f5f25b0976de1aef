/* qcc_opt_main.c - qcc-opt: parse textual MLIR (or import an .onnx), run
 * the named passes in order, verify, print. The test interface of every
 * pass, like mlir-opt:
 *
 *   qcc-opt input.mlir --legalize-onnx --dce
 *   qcc-opt model.onnx              (prints the imported onnx.* IR)
 *   qcc-opt --list-passes */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aifs.h"
#include "onnx_tensor.h"
#include "passes.h"
#include "quant_options.h"
#include "kv_cache.h"
#include "rotate.h"

static void usage(FILE *f) {
  fprintf(f, "usage: qcc-opt [INPUT.mlir|INPUT.onnx|-] [--PASS]... [--elide] [--list-passes]\npasses:\n");
  for (const qcc_pass_info *p = qcc_passes; p->name; p++) fprintf(f, "  --%-18s %s\n", p->name, p->summary);
  fprintf(f, "  --%-18s %s\n", "default-pipeline", "legalize-onnx, fold-constants, fuse-affine, fuse-norms, fuse-activations, dce");
  fprintf(f, "options: --elide, -v; for --calibrate and --quantize (-q defaults to w8a8 there):\n%s",
          qcc_quant_flags_help);
  fprintf(f, "for --fuse-rotations:\n%s", qcc_rotate_flags_help);
  fprintf(f, "for --reorder-tokens:\n%s", qcc_aifs_flags_help);
  fprintf(f, "for --kv-cache (8 bits unless given):\n%s", qcc_kv_flags_help);
}

int main(int argc, char **argv) {
  const char *input = "-";
  const qcc_pass_info *pipeline[64];
  int n_passes = 0, default_pipeline = 0;
  bool elide = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int q;
    if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "--list-passes")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--elide")) {
      elide = true;
    } else if (!strcmp(a, "-v")) {
      qcc_verbose = 1;
    } else if ((q = qcc_quant_parse_flag(argc, argv, &i)) || (q = qcc_rotate_parse_flag(argc, argv, &i)) ||
               (q = qcc_aifs_parse_flag(argc, argv, &i)) || (q = qcc_kv_parse_flag(argc, argv, &i))) {
      if (q < 0) return 2;
    } else if (!strcmp(a, "--default-pipeline")) {
      default_pipeline = 1;
    } else if (!strncmp(a, "--", 2)) {
      const qcc_pass_info *p = qcc_find_pass(a + 2);
      if (!p || n_passes == 64) {
        qcc_error("unknown pass or flag '%s' (see qcc-opt --list-passes)", a);
        return 2;
      }
      pipeline[n_passes++] = p;
    } else {
      input = a;
    }
  }
  MlirContext ctx = qcc_context_create();
  size_t n = strlen(input);
  bool onnx = n > 5 && !strcmp(input + n - 5, ".onnx");
  MlirModule m = onnx ? qcc_import_onnx(ctx, input, NULL) : qcc_parse_mlir_file(ctx, input);
  int rc = mlirModuleIsNull(m) ? 1 : 0;
  if (!rc && default_pipeline && qcc_run_default_pipeline(m)) rc = 1;
  for (int i = 0; i < n_passes && !rc; i++)
    if (pipeline[i]->run(m)) rc = 1;
  if (!rc && (n_passes || default_pipeline) && !mlirOperationVerify(mlirModuleGetOperation(m))) {
    qcc_error("the IR does not verify after the passes");
    rc = 1;
  }
  if (!rc) qcc_print_module(m, stdout, elide);
  if (!mlirModuleIsNull(m)) mlirModuleDestroy(m);
  mlirContextDestroy(ctx);
  return rc;
}
