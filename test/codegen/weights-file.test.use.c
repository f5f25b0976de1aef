/* Links the weights with the assembler file qcc wrote and checks the
 * set_weights contract: running before it, or handing it misaligned or
 * short data, returns -1; the linked bytes install and the model runs. */
#include <stdio.h>
#include "tf.h"

int main(void) {
  static float in[TF_IN0_SIZE], out[TF_OUT0_SIZE];
  int i, best = 0;
  for (i = 0; i < TF_IN0_SIZE; i++) in[i] = (float)(i % 7) / 7.0f;
  if (tf_run(in, out) != -1) return printf("ran without weights\n"), 1;
  if (tf_set_weights(tf_weights_data + 1, TF_WEIGHTS_SIZE - 1) != -1) return printf("took misaligned data\n"), 1;
  if (tf_set_weights(tf_weights_data, TF_WEIGHTS_SIZE - 64) != -1) return printf("took short data\n"), 1;
  if (tf_set_weights(tf_weights_data, TF_WEIGHTS_SIZE)) return printf("refused its own weights\n"), 1;
  if (tf_run(in, out)) return printf("run failed\n"), 1;
  for (i = 1; i < TF_OUT0_SIZE; i++)
    if (out[i] > out[best]) best = i;
  printf("linked weights: argmax %d\n", best);
  return 0;
}
