/* onnx_rules_audio.c - legalization of the audio front-end ops of opset 17
 * (spectrograms, as torch.stft and speech models export them):
 *   STFT            frames gathered from the signal, times the window, then
 *                   the DFT of each frame (q.gather, q.binary mul, q.dft);
 *   MelWeightMatrix the triangular mel filter bank, a constant computed
 *                   here from constant arguments.
 * Frame counts and the filter bank are shapes and values fixed by the
 * arguments, so those must be compile-time constants (`--bind` freezes
 * graph inputs); the signal and the window may be run-time values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_rules.h"

/* One scalar integer argument that must be known at compile time. */
static bool const_scalar(onnx_node *n, int i, const char *what, int64_t *v) {
  q_i64s l;
  if (!onnx_const_ints(n, i, &l, what)) return false;
  if (l.n != 1) return onnx_fail(n, "input %d (%s) must be a scalar", i, what), false;
  *v = l.v[0];
  return true;
}

/* STFT(signal [B, L, 1 or 2], frame_step, window? [N], frame_length?):
 * frame f holds samples [f * step, f * step + N), F = (L - N) / step + 1
 * frames; the output is [B, F, N / 2 + 1 (onesided) or N, 2]. */
static int rule_stft(onnx_node *n, MlirValue *res) {
  qcc_shape x, w;
  if (!onnx_in_shape(n, 0, &x)) return -1;
  if (x.dtype != QRT_F32) return onnx_fail(n, "element type %s is not supported (float32 only)", qcc_dtype_name(x.dtype));
  if (x.rank != 3 || (x.dims[2] != 1 && x.dims[2] != 2))
    return onnx_fail(n, "signal must be [batch, length, 1 or 2]");
  int64_t step, length = -1;
  if (!const_scalar(n, 1, "frame_step", &step)) return -1;
  bool windowed = onnx_has_in(n, 2);
  if (windowed) {
    if (!onnx_in_shape(n, 2, &w)) return -1;
    if (w.rank != 1 || w.dtype != QRT_F32) return onnx_fail(n, "window must be a 1-D float32 tensor");
    length = w.dims[0];
  }
  if (onnx_has_in(n, 3)) {
    int64_t l;
    if (!const_scalar(n, 3, "frame_length", &l)) return -1;
    if (windowed && l != length)
      return onnx_fail(n, "frame_length %lld differs from the window's length %lld", (long long)l, (long long)length);
    length = l;
  }
  if (length < 0) return onnx_fail(n, "needs a window or a frame_length");
  bool onesided = onnx_attr_int(n, "onesided", 1) != 0;
  if (onesided && x.dims[2] != 1) return onnx_fail(n, "onesided needs a real signal");
  if (step < 1) return onnx_fail(n, "frame_step %lld must be positive", (long long)step);
  if (length < 1 || length > x.dims[1])
    return onnx_fail(n, "frame length %lld must be from 1 to the signal length %lld", (long long)length,
                     (long long)x.dims[1]);
  int64_t frames = (x.dims[1] - length) / step + 1;
  if (frames > QCC_MAX_TENSOR_ELEMENTS / length) return onnx_fail(n, "too many frames");

  /* idx[f][k] = f * step + k: every index lies in [0, L) by the frame count */
  int64_t *idx = malloc(sizeof(int64_t) * (size_t)(frames * length));
  if (!idx) return onnx_fail(n, "out of memory");
  for (int64_t f = 0; f < frames; f++)
    for (int64_t k = 0; k < length; k++) idx[f * length + k] = f * step + k;
  qcc_array ia = {QRT_I64, 2, {frames, length}, idx, sizeof(int64_t) * (size_t)(frames * length)};
  MlirValue iv = onnx_constant(n, &ia);
  free(idx);
  qcc_shape fs = {QRT_F32, 4, {x.dims[0], frames, length, x.dims[2]}};
  q_gather_attrs ga = {1};
  MlirValue v = onnx_emit(n, q_gather_create(n->loc, onnx_type(n, &fs), onnx_in(n, 0), iv, &ga));
  if (windowed) {
    qcc_shape ws = {QRT_F32, 4, {1, 1, length, 1}};
    v = onnx_binary(n, "mul", v, onnx_reshape(n, onnx_in(n, 2), &ws), &fs);
  }
  qcc_shape y = {QRT_F32, 4, {x.dims[0], frames, onesided ? length / 2 + 1 : length, 2}};
  q_dft_attrs da = {2, 0, length};
  res[0] = onnx_emit(n, q_dft_create(n->loc, onnx_type(n, &y), v, &da));
  return 0;
}

/* A scalar constant argument as a double (integer or float types). */
static bool const_number(onnx_node *n, int i, const char *what, double *v) {
  qcc_array a;
  if (!onnx_const_input(n, i, &a)) return onnx_fail(n, "input %d (%s) must be a compile-time constant", i, what), false;
  bool ok = qcc_array_numel(&a) == 1;
  if (ok) switch (a.dtype) {
    case QRT_F32: *v = *(const float *)a.data; break;
    case QRT_F64: *v = *(const double *)a.data; break;
    case QRT_I32: *v = *(const int32_t *)a.data; break;
    case QRT_I64: *v = (double)*(const int64_t *)a.data; break;
    default: ok = false;
    }
  qcc_array_free(&a);
  if (!ok) onnx_fail(n, "input %d (%s) must be a float or integer scalar", i, what);
  return ok;
}

static double hz_to_mel(double hz) { return 2595.0 * log10(1.0 + hz / 700.0); }
static double mel_to_hz(double mel) { return 700.0 * (pow(10.0, mel / 2595.0) - 1.0); }

/* MelWeightMatrix(num_mel_bins, dft_length, sample_rate, lower_edge_hertz,
 * upper_edge_hertz) -> [dft_length / 2 + 1, num_mel_bins], as the ONNX
 * specification computes it: num_mel_bins + 2 points equally spaced in mel
 * from the lower edge by (high - low) / (num_mel_bins + 2), each moved to
 * the DFT bin floor((dft_length + 1) * hz / sample_rate); filter i rises
 * linearly from point i to 1 at point i + 1 and falls to 0 at point i + 2
 * (a filter whose first two points share a bin is 1 at that bin). */
static int rule_mel_weight_matrix(onnx_node *n, MlirValue *res) {
  int64_t mels, dft, rate;
  double lo, hi;
  if (!const_scalar(n, 0, "num_mel_bins", &mels) || !const_scalar(n, 1, "dft_length", &dft) ||
      !const_scalar(n, 2, "sample_rate", &rate) || !const_number(n, 3, "lower_edge_hertz", &lo) ||
      !const_number(n, 4, "upper_edge_hertz", &hi))
    return -1;
  if (mels < 1 || dft < 1 || rate < 1 || mels > (1 << 20) || dft > (1 << 24))
    return onnx_fail(n, "num_mel_bins, dft_length and sample_rate must be positive (and below 2^20, 2^24)");
  if (!(lo >= 0.0 && hi > lo && hi <= 1e9)) return onnx_fail(n, "the edges must satisfy 0 <= lower < upper");
  qrt_dtype t = (qrt_dtype)onnx_attr_int(n, "output_datatype", QRT_F32);
  if (t != QRT_F32 && t != QRT_F64) return onnx_fail(n, "output_datatype %d is not supported (float or double)", (int)t);
  const int64_t bins = dft / 2 + 1;
  int64_t *point = malloc(sizeof(int64_t) * (size_t)(mels + 2));
  double *m = calloc((size_t)(bins * mels), sizeof(double));
  if (!point || !m) return free(point), free(m), onnx_fail(n, "out of memory");
  const double lo_mel = hz_to_mel(lo), step = (hz_to_mel(hi) - lo_mel) / (double)(mels + 2);
  for (int64_t i = 0; i < mels + 2; i++)
    point[i] = (int64_t)floor((double)(dft + 1) * mel_to_hz((double)i * step + lo_mel) / (double)rate);
  /* the last point only ends the last filter's fall (exclusive) */
  for (int64_t i = 0; i < mels + 2; i++)
    if (point[i] < 0 || point[i] > (i == mels + 1 ? bins : bins - 1) || (i && point[i] < point[i - 1])) {
      free(point);
      free(m);
      return onnx_fail(n, "the edges put a filter outside the %lld DFT bins (upper_edge_hertz above sample_rate / 2?)",
                       (long long)bins);
    }
  for (int64_t i = 0; i < mels; i++) {
    const int64_t left = point[i], center = point[i + 1], right = point[i + 2];
    if (center == left) m[center * mels + i] = 1.0;
    else
      for (int64_t j = left; j <= center; j++) m[j * mels + i] = (double)(j - left) / (double)(center - left);
    for (int64_t j = center; j < right; j++) m[j * mels + i] = (double)(right - j) / (double)(right - center);
  }
  free(point);
  size_t es = t == QRT_F32 ? sizeof(float) : sizeof(double);
  qcc_array y = {t, 2, {bins, mels}, malloc(es * (size_t)(bins * mels) + 1), es * (size_t)(bins * mels)};
  if (!y.data) return free(m), onnx_fail(n, "out of memory");
  for (int64_t k = 0; k < bins * mels; k++)
    if (t == QRT_F32) ((float *)y.data)[k] = (float)m[k];
    else ((double *)y.data)[k] = m[k];
  free(m);
  res[0] = onnx_constant(n, &y);
  free(y.data);
  return 0;
}

const onnx_rule onnx_rules_audio[] = {
    {"STFT", rule_stft}, {"MelWeightMatrix", rule_mel_weight_matrix}, {NULL, NULL},
};
