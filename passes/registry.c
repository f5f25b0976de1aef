/* registry.c - pass table and the default pipeline. */
#include <string.h>

#include "passes.h"
#include "aifs.h"
#include "kv_cache.h"
#include "msq.h"
#include "quant_options.h"
#include "rotate.h"
#include "smooth.h"

/* qcc-opt --kv-cache: 8 bits unless --kv-bits says otherwise. */
static int run_kv_cache(MlirModule m) {
  if (!qcc_kv_bits) qcc_kv_bits = 8;
  return qcc_pass_kv_cache(m);
}

/* qcc-opt --dbfp-softmax: DBFP8 unless --softmax-format says otherwise. */
static int run_softmax_format(MlirModule m) {
  if (!qcc_quant_opts.softmax_bits) qcc_quant_opts.softmax_bits = 8;
  return qcc_pass_softmax_format(m);
}

/* qcc-opt --msq: naming the pass asks for it (qcc's --msq flag). */
static int run_msq(MlirModule m) {
  qcc_msq_enabled = true;
  return qcc_pass_msq(m);
}

const qcc_pass_info qcc_passes[] = {
    {"legalize-onnx", qcc_pass_legalize_onnx, "onnx.* ops -> q dialect, with static shape inference"},
    {"fold-constants", qcc_pass_fold_constants, "evaluate q ops whose operands are all constant"},
    {"fuse-affine", qcc_pass_fuse_affine, "fold per-channel scale/shift (BatchNorm) into the producing conv/matmul"},
    {"fuse-activations", qcc_pass_fuse_activations, "GELU / SiLU written as elementwise ops -> one q.unary"},
    {"fuse-norms", qcc_pass_fuse_norms, "RMSNorm / LayerNorm written as elementwise ops -> one q.norm"},
    {"dce", qcc_pass_dce, "erase ops whose results are unused"},
    {"fuse-rotations", qcc_pass_rotate, "fuse orthogonal rotations of residual streams into the weights (--rotate KIND)"},
    {"smooth", qcc_pass_smooth, "per-channel smoothing of linear inputs without a rotation (--smooth ALPHA|auto, --calib)"},
    {"reorder-tokens", qcc_pass_reorder_tokens, "AIFS: group tokens by modality, mask/positions/outputs permuted to match (--aifs INPUT)"},
    {"calibrate", qcc_pass_calibrate, "run the --calib samples and record every value's range"},
    {"msq", run_msq,  "MSQ: linear layers get static scales per modality, calibrated per modality (--msq, after --aifs)"},
    {"sensitivity", qcc_pass_sensitivity, "measure each layer's output error per candidate scheme (-q auto)"},
    {"attention-scales", qcc_pass_attention_scales, "measure attention matmuls: per-tensor static or mxint8 block scales"},
    {"allocate", qcc_pass_allocate, "choose every layer's scheme under --avg-bits / --max-bytes, exactly (-q auto)"},
    {"quantize", qcc_pass_quantize, "int8 conv/matmul with integer-only requantization (-q w8a8)"},
    {"float-epilogues", qcc_pass_float_epilogues, "int8 matmuls whose codes only feed a dequantize write float directly"},
    {"dbfp-softmax", run_softmax_format, "float softmax -> DBFP rows with a lookup-table exp (dbfp8, or --softmax-format dbfpM)"},
    {"kv-cache", run_kv_cache, "KV cache inputs/outputs stored as int8/int4 rows (--kv-bits)"},
    {"fuse-attention", qcc_pass_fuse_attention, "float attention (Q Kt, scale, mask, softmax, V) -> one q.attention"},
    {"fuse-conv-activation", qcc_pass_fuse_conv_activation, "float conv read only by ReLU / LeakyReLU / Clip applies it in its epilogue"},
    {"fuse-output-quantize", qcc_pass_fuse_output_quantize, "float norm / softmax over codes read only by a quantize writes the int8 codes"},
    {"fuse-matmul-epilogue", qcc_pass_fuse_matmul_epilogue, "a float matmul read only by a residual add or a gating multiply does it in its epilogue"},
    {"fold-transposes", qcc_pass_fold_transposes, "a transpose between an int8 matmul or float attention and its operand or result becomes strides"},
    {NULL, NULL, NULL},
};

const qcc_pass_info *qcc_find_pass(const char *name) {
  for (const qcc_pass_info *p = qcc_passes; p->name; p++)
    if (!strcmp(p->name, name)) return p;
  return NULL;
}

int qcc_run_default_pipeline(MlirModule m) {
  static const char *const pipeline[] = {"legalize-onnx", "fold-constants", "fuse-affine", "fuse-norms", "fuse-activations", "dce"};
  for (size_t i = 0; i < sizeof pipeline / sizeof *pipeline; i++)
    if (qcc_find_pass(pipeline[i])->run(m)) return -1;
  return 0;
}
