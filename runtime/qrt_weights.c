#include "qrt.h"
/* qrt_weights.c - the weights file of `qcc --weights-file` (see
 * docs/generated-c.md): the model's constant data, out of model.c.
 *
 * Layout, all integers little-endian (the data itself is in the compiling
 * machine's byte order, which the checksum then also catches):
 *     bytes  0..7   magic "QCCWGT\0\1"
 *            8..11  version (QRT_WEIGHTS_VERSION)
 *           12..15  header bytes (64)
 *           16..23  file size in bytes
 *           24..31  checksum of bytes [64, size)
 *           32..63  zero
 *     then each tensor at an offset that is a multiple of 64, zero padding
 *     between them and up to the end (the size is a multiple of 64).
 * The offsets are compiled into model.c, so the file needs no index; the
 * checksum ties the file to the build that made it and catches truncation
 * and corruption before any kernel reads the data. */
#include <string.h>

/* Two running 64-bit sums over 32-bit words (Fletcher's scheme without
 * the modulus): order-sensitive, and about as fast as reading memory,
 * which matters when set_weights checks a gigabyte. n is a multiple of 4. */
QRT_API void qrt_weights_checksum_update(uint64_t state[2], const unsigned char *p, size_t n) {
  uint64_t a = state[0], b = state[1];
  size_t i;
  for (i = 0; i + 4 <= n; i += 4) {
    uint32_t w;
    memcpy(&w, p + i, 4);
    a += w;
    b += a;
  }
  state[0] = a;
  state[1] = b;
}

QRT_API uint64_t qrt_weights_checksum_final(const uint64_t state[2]) {
  return state[0] ^ (state[1] << 32 | state[1] >> 32);
}

/* Little-endian integer of n bytes at p. */
QRT_INTERNAL uint64_t qrt_weights_le(const unsigned char *p, int n) {
  uint64_t v = 0;
  while (n-- > 0) v = v << 8 | p[n];
  return v;
}

QRT_API int qrt_weights_check(const void *data, size_t size, uint64_t want_size, uint64_t want_checksum) {
  const unsigned char *d = (const unsigned char *)data;
  uint64_t state[2] = {1, 0};
  if (!d || (uintptr_t)d % QRT_WEIGHTS_ALIGN || size != want_size || size < QRT_WEIGHTS_HEADER) return -1;
  if (memcmp(d, QRT_WEIGHTS_MAGIC, 8) || qrt_weights_le(d + 8, 4) != QRT_WEIGHTS_VERSION ||
      qrt_weights_le(d + 12, 4) != QRT_WEIGHTS_HEADER || qrt_weights_le(d + 16, 8) != want_size ||
      qrt_weights_le(d + 24, 8) != want_checksum)
    return -1;
  qrt_weights_checksum_update(state, d + QRT_WEIGHTS_HEADER, size - QRT_WEIGHTS_HEADER);
  return qrt_weights_checksum_final(state) == want_checksum ? 0 : -1;
}
