/* Classifies one 8x8 digit image with the model qcc_add_model compiled
 * into this program (CMakeLists.txt), and prints the predicted digit:
 *     digits_app IMAGE.npy    (float32 [1,1,8,8], e.g. digits_cnn/input_0.npy)
 * digits.h comes from qcc: the input and output sizes and digits_run. */
#include <stdio.h>
#include <string.h>

#include "digits.h"

/* Reads a little-endian float32 .npy of exactly n values: the magic, a
 * version byte pair, the header's length (2 bytes in version 1, 4 after),
 * a header naming dtype and shape, then the raw values. */
static int read_npy_f32(const char *path, float *data, size_t n) {
  unsigned char pre[12];
  char header[1024];
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  int ok = fread(pre, 1, 10, f) == 10 && !memcmp(pre, "\x93NUMPY", 6);
  size_t len = ok ? (size_t)pre[8] | (size_t)pre[9] << 8 : 0;
  if (ok && pre[6] > 1) {
    ok = fread(pre + 10, 1, 2, f) == 2;
    len |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
  }
  ok = ok && len < sizeof header && fread(header, 1, len, f) == len;
  if (ok) header[len] = 0;
  ok = ok && strstr(header, "'<f4'") && fread(data, sizeof *data, n, f) == n && fgetc(f) == EOF;
  fclose(f);
  return ok ? 0 : -1;
}

int main(int argc, char **argv) {
  static float image[DIGITS_IN0_SIZE], logits[DIGITS_OUT0_SIZE];
  if (argc != 2) {
    fprintf(stderr, "usage: %s IMAGE.npy (float32 [1,1,8,8])\n", argv[0]);
    return 2;
  }
  if (read_npy_f32(argv[1], image, DIGITS_IN0_SIZE)) {
    fprintf(stderr, "%s: not a float32 .npy of %d values\n", argv[1], DIGITS_IN0_SIZE);
    return 1;
  }
#ifdef DIGITS_WEIGHTS_SIZE /* built with WEIGHTS_FILE: the weights are linked in as bytes */
  if (digits_set_weights(digits_weights_data, DIGITS_WEIGHTS_SIZE) != 0) {
    fprintf(stderr, "the linked weights do not match this model\n");
    return 1;
  }
#endif
  if (digits_run(image, logits) != 0) return 1;
  int best = 0;
  for (int i = 1; i < DIGITS_OUT0_SIZE; i++)
    if (logits[i] > logits[best]) best = i;
  printf("predicted digit %d\n", best);
  return 0;
}
