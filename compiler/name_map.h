/* name_map.h - string -> pointer hash map (open addressing), for ONNX
 * value names during import and pointer-keyed lookups elsewhere. */
#ifndef QCC_NAME_MAP_H
#define QCC_NAME_MAP_H
#include <stddef.h>

typedef struct qcc_name_map {
  size_t cap, count;
  char **keys;
  const void **vals;
} qcc_name_map;

void qcc_name_map_init(qcc_name_map *m);
void qcc_name_map_free(qcc_name_map *m);
/* Inserts or replaces; the key is copied. */
void qcc_name_map_put(qcc_name_map *m, const char *key, const void *val);
/* Returns 1 and sets *val if found. */
int qcc_name_map_get(const qcc_name_map *m, const char *key, const void **val);



/* Pointer-keyed variant (MlirValue.ptr -> index or payload). */
typedef struct qcc_ptr_map {
  size_t cap, count;
  const void **keys;
  void **vals;
} qcc_ptr_map;

void qcc_ptr_map_init(qcc_ptr_map *m);
void qcc_ptr_map_free(qcc_ptr_map *m);
void qcc_ptr_map_put(qcc_ptr_map *m, const void *key, void *val);
/* Returns NULL if absent. */
void *qcc_ptr_map_get(const qcc_ptr_map *m, const void *key);
#endif
