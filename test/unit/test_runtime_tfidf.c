/* test_runtime_tfidf.c - qrt_tfidf on a hand-counted example: row
 * [1 2 1 2 3] with pool unigrams {1, 3} and bigrams {(1 2), (1 3)};
 * skips 0 and 1; modes TF, IDF, TFIDF with column weights; int32 and
 * int64 input. */
#include <stdio.h>
#include <string.h>
#include "qrt.h"

#include "qrt_test_util.h"

int main(void) {
  const int64_t pool[6] = {1, 3, 1, 2, 1, 3}, counts[2] = {0, 2}, indexes[4] = {0, 1, 2, 3};
  const int32_t x32[5] = {1, 2, 1, 2, 3};
  const int64_t x64[5] = {1, 2, 1, 2, 3};
  const float w[4] = {0.5f, 2.0f, 3.0f, 4.0f};
  /* skip 0: unigrams 1 x2, 3 x1; bigrams (1 2) x2, (1 3) x0.
   * skip 1 (distance 2): bigrams (1 1) (2 2) (1 3): (1 3) x1. */
  const float tf[4] = {2, 1, 2, 1}, tf_noskip[4] = {2, 1, 2, 0};
  qrt_tfidf_params p;
  float y[4];
  const void *in[5];
  void *out[1];
  int i, ok;
  memset(&p, 0, sizeof p);
  p.x_dtype = QRT_I32; p.mode = QRT_TFIDF_TF; p.min_n = 1; p.max_n = 2; p.max_skip = 1;
  p.rows = 1; p.cols = 5; p.out_size = 4; p.pool_size = 6; p.n_counts = 2; p.n_grams = 4;
  in[0] = x32; in[1] = pool; in[2] = counts; in[3] = indexes; in[4] = NULL; out[0] = y;
  qrt_tfidf(&p, in, out);
  check(memcmp(y, tf, sizeof tf) == 0, "TF with skips");
  p.max_skip = 0;
  qrt_tfidf(&p, in, out);
  check(memcmp(y, tf_noskip, sizeof tf) == 0, "TF without skips");
  p.max_skip = 1;
  p.x_dtype = QRT_I64; in[0] = x64;
  p.mode = QRT_TFIDF_IDF; in[4] = w;
  qrt_tfidf(&p, in, out);
  for (i = 0, ok = 1; i < 4; ++i) ok &= y[i] == (tf[i] > 0 ? w[i] : 0.0f);
  check(ok, "IDF");
  p.mode = QRT_TFIDF_TFIDF;
  qrt_tfidf(&p, in, out);
  for (i = 0, ok = 1; i < 4; ++i) ok &= y[i] == tf[i] * w[i];
  check(ok, "TFIDF");
  p.min_n = 2; p.mode = QRT_TFIDF_TF; in[4] = NULL;
  qrt_tfidf(&p, in, out);
  check(y[0] == 0 && y[1] == 0 && y[2] == 2 && y[3] == 1, "bigrams only");
  return finish();
}
