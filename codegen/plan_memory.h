/* plan_memory.h - static arena layout from tensor lifetimes.
 *
 * Greedy by size (as TFLite Micro's greedy planner): buffers are placed
 * largest first, each at the lowest aligned offset that does not overlap a
 * placed buffer whose lifetime [first, last] intersects its own. */
#ifndef QCC_PLAN_MEMORY_H
#define QCC_PLAN_MEMORY_H
#include <stdint.h>

typedef struct qcc_buffer {
  int64_t size;   /* bytes */
  int first;      /* index of the step that writes it */
  int last;       /* index of the last step that reads it */
  int64_t offset; /* out: byte offset in the arena */
} qcc_buffer;

/* Assigns offsets (multiples of align) and returns the arena size. */
int64_t qcc_plan_memory(qcc_buffer *bufs, int n, int64_t align);

#endif
