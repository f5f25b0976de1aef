/* generate.c - greedy text generation with char_lm's KV-cache step models.
 *
 * Two builds of step.onnx (export_kv.py) are linked in: `prefill` (T
 * tokens per call, e.g. qcc --shape tokens=1x16 --name prefill) and `step`
 * (one token, --shape tokens=1x1 --name step).  The prompt goes through
 * prefill in chunks of T tokens (the rest one token at a time); then each
 * step feeds the argmax of the last logits back.  The KV cache lives in
 * this program's arrays: when the header says an input may alias an output
 * (NAME_INi_MAY_ALIAS_OUTj) the same arrays are passed as both and the
 * model updates them in place; otherwise (or with --no-alias) two sets of
 * arrays alternate as input and output.  Neither copies the cache.
 *
 * usage: generate VOCAB.json PROMPT [-n N] [--bench R] [--no-alias] [--logits FILE] [--weights DIR]
 *   prints PROMPT and the N generated characters on stdout, timings on
 *   stderr; --logits writes the float32 logits of every position
 *   (prompt, then generated, [positions][vocabulary]) to FILE; --bench
 *   repeats the whole generation R times for the timing; --weights DIR
 *   (required when both builds were made with qcc --weights-file
 *   DIR/prefill.bin and DIR/step.bin) loads those files. */
#define _POSIX_C_SOURCE 200112L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prefill.h"
#include "step.h"

enum { LAYERS = 4, CACHES = 2 * LAYERS, MAX_VOCAB = 512 };

#ifdef PREFILL_WEIGHTS_SIZE
/* DIR/NAME.bin into 64-byte aligned memory, installed by set (kept for
 * the program's life); nonzero with a message on failure. */
static int load_weights(const char *dir, const char *name, size_t size, int (*set)(const void *, size_t)) {
  char path[4096];
  void *data = NULL;
  snprintf(path, sizeof path, "%s/%s.bin", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return fprintf(stderr, "generate: cannot open %s\n", path), 1;
  int bad = posix_memalign(&data, 64, size) || fread(data, 1, size, f) != size || fgetc(f) != EOF;
  fclose(f);
  if (bad || set(data, size)) return fprintf(stderr, "generate: %s is not %s's weights file\n", path, name), 1;
  return 0;
}
#endif

/* The builds' weights: in their C (nothing to do) or in files under dir. */
static int install_weights(const char *dir) {
#ifdef PREFILL_WEIGHTS_SIZE
  if (!dir) return fprintf(stderr, "generate: built with qcc --weights-file: pass --weights DIR\n"), 1;
  return load_weights(dir, "prefill", PREFILL_WEIGHTS_SIZE, prefill_set_weights) ||
         load_weights(dir, "step", STEP_WEIGHTS_SIZE, step_set_weights);
#else
  if (dir) return fprintf(stderr, "generate: --weights given, but the weights are in the C\n"), 1;
  return 0;
#endif
}
#define CACHE_SIZE STEP_IN2_SIZE
/* float, or uint8_t rows when built with qcc --kv-bits (then both builds
 * must use the same bits: the header's comment on input 2 says which) */
typedef STEP_IN2_TYPE cache_t;
#define VOCAB STEP_OUT0_SIZE
#define CHUNK PREFILL_IN0_SIZE

static const int64_t cache_shape[] = STEP_IN2_SHAPE; /* [1, heads, context, head dim] */

/* Both models' header must allow every cache input i = 2 + c to alias
 * output 1 + c, for the in-place path. */
#if defined(PREFILL_IN2_MAY_ALIAS_OUT1) && defined(PREFILL_IN9_MAY_ALIAS_OUT8) && \
    defined(STEP_IN2_MAY_ALIAS_OUT1) && defined(STEP_IN3_MAY_ALIAS_OUT2) && defined(STEP_IN4_MAY_ALIAS_OUT3) && \
    defined(STEP_IN5_MAY_ALIAS_OUT4) && defined(STEP_IN6_MAY_ALIAS_OUT5) && defined(STEP_IN7_MAY_ALIAS_OUT6) && \
    defined(STEP_IN8_MAY_ALIAS_OUT7) && defined(STEP_IN9_MAY_ALIAS_OUT8) && defined(PREFILL_IN3_MAY_ALIAS_OUT2) && \
    defined(PREFILL_IN4_MAY_ALIAS_OUT3) && defined(PREFILL_IN5_MAY_ALIAS_OUT4) && \
    defined(PREFILL_IN6_MAY_ALIAS_OUT5) && defined(PREFILL_IN7_MAY_ALIAS_OUT6) && defined(PREFILL_IN8_MAY_ALIAS_OUT7)
#define CAN_ALIAS 1
#else
#define CAN_ALIAS 0
#endif

static cache_t cache_a[CACHES][CACHE_SIZE], cache_b[CACHES][CACHE_SIZE];
static cache_t *cache_in[CACHES], *cache_out[CACHES];
static float logits[CHUNK * VOCAB];

/* ---- vocabulary: vocab.json's "chars", each a UTF-8 string ---- */
static char vocab[MAX_VOCAB][8];
static int n_vocab;

static int put_utf8(char *out, unsigned long c) {
  if (c < 0x80) return out[0] = (char)c, 1;
  if (c < 0x800) return out[0] = (char)(0xC0 | c >> 6), out[1] = (char)(0x80 | (c & 0x3F)), 2;
  out[0] = (char)(0xE0 | c >> 12);
  out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
  out[2] = (char)(0x80 | (c & 0x3F));
  return 3;
}

/* One JSON string starting after its opening quote; returns the position
 * after the closing quote, or NULL. */
static const char *json_string(const char *p, char *out, size_t cap) {
  size_t n = 0;
  while (*p && *p != '"') {
    char tmp[4];
    int len = 1;
    tmp[0] = *p;
    if (*p == '\\') {
      ++p;
      switch (*p) {
      case 'n': tmp[0] = '\n'; break;
      case 't': tmp[0] = '\t'; break;
      case 'r': tmp[0] = '\r'; break;
      case 'u': {
        char hex[5] = {0};
        if (strlen(p) < 5) return NULL;
        memcpy(hex, p + 1, 4);
        len = put_utf8(tmp, strtoul(hex, NULL, 16));
        p += 4;
        break;
      }
      case 0: return NULL;
      default: tmp[0] = *p; break; /* \" \\ \/ */
      }
    }
    if (n + (size_t)len >= cap) return NULL;
    memcpy(out + n, tmp, (size_t)len);
    n += (size_t)len;
    ++p;
  }
  out[n] = 0;
  return *p == '"' ? p + 1 : NULL;
}

static int load_vocab(const char *path) {
  static char text[1 << 16];
  FILE *f = fopen(path, "rb");
  size_t got = f ? fread(text, 1, sizeof text - 1, f) : 0;
  const char *p;
  if (f) fclose(f);
  text[got] = 0;
  p = strstr(text, "\"chars\"");
  p = p ? strchr(p, '[') : NULL;
  while (p && n_vocab < MAX_VOCAB) {
    p = strpbrk(p, "\"]");
    if (!p || *p == ']') break;
    p = json_string(p + 1, vocab[n_vocab], sizeof vocab[0]);
    if (p) n_vocab++;
  }
  if (!p || n_vocab != VOCAB) {
    fprintf(stderr, "generate: %s: expected %d characters in \"chars\"\n", path, VOCAB);
    return -1;
  }
  return 0;
}

/* The prompt's token ids: the longest vocabulary entry at each place. */
static int encode(const char *s, int64_t *ids, int cap) {
  int n = 0;
  while (*s) {
    int best = -1;
    size_t best_len = 0;
    for (int i = 0; i < n_vocab; i++) {
      size_t len = strlen(vocab[i]);
      if (len > best_len && !strncmp(s, vocab[i], len)) best = i, best_len = len;
    }
    if (best < 0 || n == cap) {
      fprintf(stderr, "generate: %s\n", best < 0 ? "the prompt has a character not in the vocabulary"
                                                 : "the prompt does not fit the context");
      return -1;
    }
    ids[n++] = best;
    s += best_len;
  }
  return n;
}

/* ---- the model calls ---- */
static void swap_caches(void) {
  for (int c = 0; c < CACHES; c++) {
    cache_t *t = cache_in[c];
    cache_in[c] = cache_out[c];
    cache_out[c] = t;
  }
}

static void run_prefill(const int64_t *tokens, int64_t pos) {
  cache_t **i = cache_in, **o = cache_out;
  prefill_run(tokens, &pos, i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], logits, o[0], o[1], o[2], o[3], o[4], o[5],
              o[6], o[7]);
  if (i[0] != o[0]) swap_caches();
}

static void run_step(const int64_t *token, int64_t pos) {
  cache_t **i = cache_in, **o = cache_out;
  step_run(token, &pos, i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], logits, o[0], o[1], o[2], o[3], o[4], o[5], o[6],
           o[7]);
  if (i[0] != o[0]) swap_caches();
}

static int argmax(const float *x, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Prompt ids[0..n_prompt) then n_new greedy tokens into ids; the logits of
 * every position go to all_logits when not NULL.  Adds the seconds spent in
 * prefill and in generation. */
static void generate(int64_t *ids, int n_prompt, int n_new, float *all_logits, double *t_prefill, double *t_decode) {
  double t0 = now(), t1;
  int pos = 0;
  memset(cache_a, 0, sizeof cache_a); /* rows not yet written must be finite (zero bytes: zeros) */
  memset(cache_b, 0, sizeof cache_b);
  for (; pos + CHUNK <= n_prompt; pos += CHUNK) {
    run_prefill(ids + pos, pos);
    if (all_logits) memcpy(all_logits + (size_t)pos * VOCAB, logits, sizeof(float) * CHUNK * VOCAB);
  }
  for (; pos < n_prompt; pos++) {
    run_step(ids + pos, pos);
    if (all_logits) memcpy(all_logits + (size_t)pos * VOCAB, logits, sizeof(float) * VOCAB);
  }
  /* logits now holds the last prompt position's scores at row 0 (step) or
   * row CHUNK-1 (prefill) */
  t1 = now();
  *t_prefill += t1 - t0;
  for (int k = 0; k < n_new; k++, pos++) {
    const float *last = all_logits ? all_logits + (size_t)(pos - 1) * VOCAB
                                   : (k == 0 && n_prompt % CHUNK == 0 ? logits + (CHUNK - 1) * VOCAB : logits);
    ids[pos] = argmax(last, VOCAB);
    if (k + 1 == n_new && !all_logits) break; /* its scores are not needed */
    run_step(ids + pos, pos);
    if (all_logits) memcpy(all_logits + (size_t)pos * VOCAB, logits, sizeof(float) * VOCAB);
  }
  *t_decode += now() - t1;
}

int main(int argc, char **argv) {
  const char *vocab_path = NULL, *prompt = NULL, *logits_path = NULL, *weights_dir = NULL;
  int n_new = 32, bench = 1, alias = CAN_ALIAS;
  const int ctx = (int)cache_shape[2];
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-n") && i + 1 < argc) n_new = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--bench") && i + 1 < argc) bench = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--logits") && i + 1 < argc) logits_path = argv[++i];
    else if (!strcmp(argv[i], "--weights") && i + 1 < argc) weights_dir = argv[++i];
    else if (!strcmp(argv[i], "--no-alias")) alias = 0;
    else if (!vocab_path) vocab_path = argv[i];
    else if (!prompt) prompt = argv[i];
    else return fprintf(stderr, "generate: unexpected argument '%s'\n", argv[i]), 2;
  }
  if (!prompt) {
    fprintf(stderr, "usage: generate VOCAB.json PROMPT [-n N] [--bench R] [--no-alias] [--logits FILE] "
                    "[--weights DIR]\n");
    return 2;
  }
  if (install_weights(weights_dir)) return 1;
  if (load_vocab(vocab_path)) return 1;
  int64_t *ids = malloc(sizeof(int64_t) * (size_t)ctx);
  int n_prompt = encode(prompt, ids, ctx);
  if (n_prompt < 1) return fprintf(stderr, "generate: %s\n", n_prompt ? "bad prompt" : "empty prompt"), 1;
  if (n_new < 0 || bench < 1) return fprintf(stderr, "generate: -n and --bench take positive counts\n"), 2;
  if (n_new > ctx - n_prompt) n_new = ctx - n_prompt; /* learned positions end at the context */
  for (int c = 0; c < CACHES; c++) {
    cache_in[c] = cache_a[c];
    cache_out[c] = alias ? cache_a[c] : cache_b[c];
  }
  float *all_logits = logits_path ? malloc(sizeof(float) * (size_t)ctx * VOCAB) : NULL;
  double t_prefill = 0, t_decode = 0;
  for (int r = 0; r < bench; r++) {
    if (cache_in[0] != cache_a[0]) swap_caches(); /* the same arrays each round */
    generate(ids, n_prompt, n_new, all_logits, &t_prefill, &t_decode);
  }
  for (int i = 0; i < n_prompt + n_new; i++) fputs(vocab[ids[i]], stdout);
  fputc('\n', stdout);
  fprintf(stderr, "generate: prompt %d tokens (prefill %.3f ms), %d generated in %.3f ms: %.0f tokens/s (%s cache)\n",
          n_prompt, 1e3 * t_prefill / bench, n_new, 1e3 * t_decode / bench,
          t_decode > 0 ? n_new * bench / t_decode : 0.0, alias ? "in-place" : "double-buffered");
  if (all_logits) {
    FILE *f = fopen(logits_path, "wb");
    size_t n = (size_t)(n_prompt + n_new) * VOCAB;
    if (!f || fwrite(all_logits, sizeof(float), n, f) != n || fclose(f))
      return fprintf(stderr, "generate: cannot write %s\n", logits_path), 1;
  }
  free(all_logits);
  free(ids);
  return 0;
}
