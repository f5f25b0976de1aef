/* llama_decode.c - greedy decoding with a single-token build of
 * make_llama.py's step model, timed.
 *
 *   qcc model.onnx -o step.c --name step --shape tokens=1x1 [--weights-file step.bin] [-q ...]
 *   cc -O3 -march=native -DLAYERS=22 llama_decode.c step.c -o decode -lm
 *   ./decode [--weights step.bin] --prompt 1,2,3 [-n N] [--logits FILE]
 *
 * The prompt's tokens go through the step function one at a time (the
 * cache fills as it would in a prefill), then each step feeds back the
 * argmax of the last logits.  The cache lives in this program's arrays and
 * is updated in place when the header allows it (STEP_IN2_MAY_ALIAS_OUT1,
 * ...: qcc proves it per input), else two sets alternate.  A model built
 * with --weights-file gets its weights from FILE by mmap (the pages are
 * read as the first step touches them, so the first step is timed apart).
 *
 * LAYERS must be the model's layer count: the step function takes 2 x
 * LAYERS cache arrays as inputs and as outputs, spelled out below by the
 * preprocessor; a wrong count does not compile (the prototype disagrees).
 *
 * Prints the prompt and generated token ids on stdout, timings on stderr;
 * --logits writes the float32 logits of every position ([positions]
 * [vocabulary], prompt then generated) to FILE. */
#define _POSIX_C_SOURCE 200112L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "step.h"

#ifndef LAYERS
#error "define LAYERS (the model's layer count), e.g. -DLAYERS=22"
#endif
#define CACHES (2 * LAYERS)
#if CACHES > 126
#error "at most 63 layers"
#endif

/* a[o], ..., a[o + n - 1] for n a power of two */
#define C2(a, o) a[(o)], a[(o) + 1]
#define C4(a, o) C2(a, o), C2(a, (o) + 2)
#define C8(a, o) C4(a, o), C4(a, (o) + 4)
#define C16(a, o) C8(a, o), C8(a, (o) + 8)
#define C32(a, o) C16(a, o), C16(a, (o) + 16)
#define C64(a, o) C32(a, o), C32(a, (o) + 32)
/* all CACHES elements of a, each followed by a comma: CACHES in binary */
#if CACHES & 64
#define P64(a) C64(a, 0),
#define O64 64
#else
#define P64(a)
#define O64 0
#endif
#if CACHES & 32
#define P32(a) C32(a, O64),
#define O32 (O64 + 32)
#else
#define P32(a)
#define O32 O64
#endif
#if CACHES & 16
#define P16(a) C16(a, O32),
#define O16 (O32 + 16)
#else
#define P16(a)
#define O16 O32
#endif
#if CACHES & 8
#define P8(a) C8(a, O16),
#define O8 (O16 + 8)
#else
#define P8(a)
#define O8 O16
#endif
#if CACHES & 4
#define P4(a) C4(a, O8),
#define O4 (O8 + 4)
#else
#define P4(a)
#define O4 O8
#endif
#if CACHES & 2
#define P2(a) C2(a, O4),
#else
#define P2(a)
#endif
#define ALL_CACHES(a) P64(a) P32(a) P16(a) P8(a) P4(a) P2(a)

#if STEP_IN0_SIZE != 1
#error "build the model with --shape tokens=1x1"
#endif
#define VOCAB STEP_OUT0_SIZE
#define CACHE_SIZE STEP_IN2_SIZE
typedef STEP_IN2_TYPE cache_t; /* float, or uint8_t rows with --kv-bits */
static const int64_t cache_shape[] = STEP_IN2_SHAPE; /* [1, kv heads, context, head dim] */

#ifdef STEP_IN2_MAY_ALIAS_OUT1
#define CAN_ALIAS 1
#else
#define CAN_ALIAS 0
#endif

static cache_t *cache_in[CACHES], *cache_out[CACHES];
static float logits[VOCAB];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int step(int64_t token, int64_t pos, void *ws) {
  int rc = step_run_ws(&token, &pos, ALL_CACHES(cache_in) logits, ALL_CACHES(cache_out) ws);
  if (cache_in[0] != cache_out[0])
    for (int c = 0; c < CACHES; c++) {
      cache_t *t = cache_in[c];
      cache_in[c] = cache_out[c];
      cache_out[c] = t;
    }
  return rc;
}

static int argmax(const float *x, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

#ifdef STEP_WEIGHTS_SIZE
/* The weights file, mapped read-only (mmap gives the 64-byte alignment
 * set_weights asks for); NULL after a one-line error. */
static const void *map_weights(const char *path, size_t *size) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  void *p = MAP_FAILED;
  if (fd >= 0 && fstat(fd, &st) == 0) {
    *size = (size_t)st.st_size;
    p = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
  }
  if (fd >= 0) close(fd);
  if (p == MAP_FAILED) {
    fprintf(stderr, "llama_decode: cannot map %s\n", path);
    return NULL;
  }
  return p;
}
#endif

int main(int argc, char **argv) {
  const char *weights = NULL, *prompt = NULL, *logits_path = NULL;
  int n_new = 16;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-n") && i + 1 < argc) n_new = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--weights") && i + 1 < argc) weights = argv[++i];
    else if (!strcmp(argv[i], "--prompt") && i + 1 < argc) prompt = argv[++i];
    else if (!strcmp(argv[i], "--logits") && i + 1 < argc) logits_path = argv[++i];
    else return fprintf(stderr, "llama_decode: unexpected argument '%s'\n", argv[i]), 2;
  }
  if (!prompt) {
    fprintf(stderr, "usage: llama_decode [--weights FILE.bin] --prompt ID,ID,... [-n N] [--logits FILE]\n");
    return 2;
  }
#ifdef STEP_WEIGHTS_SIZE
  size_t wsize = 0;
  const void *wdata = weights ? map_weights(weights, &wsize) : NULL;
  if (!weights) return fprintf(stderr, "llama_decode: this model needs --weights FILE.bin\n"), 2;
  if (!wdata) return 1;
  if (step_set_weights(wdata, wsize)) return fprintf(stderr, "llama_decode: %s is not this model's weights file\n", weights), 1;
#else
  if (weights) return fprintf(stderr, "llama_decode: this model has its weights inside (no --weights)\n"), 2;
#endif
  const int ctx = (int)cache_shape[2];
  int64_t *ids = malloc(sizeof(int64_t) * (size_t)ctx);
  int n_prompt = 0;
  for (const char *p = prompt; *p;) {
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p || v < 0 || v >= VOCAB || n_prompt == ctx || (*end && *end != ','))
      return fprintf(stderr, "llama_decode: --prompt takes up to %d token ids in [0, %d), comma-separated\n", ctx,
                     VOCAB), 2;
    ids[n_prompt++] = v;
    p = *end ? end + 1 : end;
  }
  if (n_prompt == 0 || n_new < 0) return fprintf(stderr, "llama_decode: empty prompt or negative -n\n"), 2;
  if (n_new > ctx - n_prompt) n_new = ctx - n_prompt;
  /* calloc: rows not yet written must be finite (zero bytes are zeros in
   * every cache format) */
  for (int c = 0; c < CACHES; c++) {
    cache_in[c] = calloc(CACHE_SIZE, sizeof(cache_t));
    cache_out[c] = CAN_ALIAS ? cache_in[c] : calloc(CACHE_SIZE, sizeof(cache_t));
    if (!cache_in[c] || !cache_out[c]) return fprintf(stderr, "llama_decode: out of memory\n"), 1;
  }
  void *ws = malloc(STEP_WORKSPACE_SIZE ? STEP_WORKSPACE_SIZE : 1);
  float *all = logits_path ? malloc(sizeof(float) * VOCAB * (size_t)(n_prompt + n_new)) : NULL;
  double t0 = now(), t_first = 0, t1;
  int pos = 0;
  for (; pos < n_prompt; pos++) {
    if (step(ids[pos], pos, ws)) return fprintf(stderr, "llama_decode: step failed\n"), 1;
    if (pos == 0) t_first = now() - t0;
    if (all) memcpy(all + (size_t)pos * VOCAB, logits, sizeof logits);
  }
  t1 = now();
  for (int k = 0; k < n_new; k++, pos++) {
    ids[pos] = argmax(logits, VOCAB);
    if (step(ids[pos], pos, ws)) return fprintf(stderr, "llama_decode: step failed\n"), 1;
    if (all) memcpy(all + (size_t)pos * VOCAB, logits, sizeof logits);
  }
  double t_decode = now() - t1;
  for (int i = 0; i < pos; i++) printf("%s%lld", i ? "," : "", (long long)ids[i]);
  printf("\n");
  fprintf(stderr,
          "llama_decode: first step %.1f ms, prompt %d tokens in %.1f ms, %d decoded in %.1f ms: %.2f tokens/s "
          "(%s cache)\n",
          1e3 * t_first, n_prompt, 1e3 * (t1 - t0), n_new, 1e3 * t_decode, t_decode > 0 ? n_new / t_decode : 0.0,
          CAN_ALIAS ? "in-place" : "double-buffered");
  if (all) {
    FILE *f = fopen(logits_path, "wb");
    size_t n = (size_t)pos * VOCAB;
    if (!f || fwrite(all, sizeof(float), n, f) != n || fclose(f))
      return fprintf(stderr, "llama_decode: cannot write %s\n", logits_path), 1;
  }
  for (int c = 0; c < CACHES; c++) {
    if (cache_out[c] != cache_in[c]) free(cache_out[c]);
    free(cache_in[c]);
  }
  free(all);
  free(ws);
  free(ids);
  return 0;
}
