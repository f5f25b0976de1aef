/* name_map.c - see name_map.h. */
#include "name_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (size_t)h;
}

void qcc_name_map_init(qcc_name_map *m) {
  m->cap = 64;
  m->count = 0;
  m->keys = calloc(m->cap, sizeof *m->keys);
  m->vals = calloc(m->cap, sizeof *m->vals);
}

void qcc_name_map_free(qcc_name_map *m) {
  for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

static size_t slot_of(const qcc_name_map *m, const char *key) {
  size_t i = hash_str(key) & (m->cap - 1);
  while (m->keys[i] && strcmp(m->keys[i], key)) i = (i + 1) & (m->cap - 1);
  return i;
}

static void grow(qcc_name_map *m) {
  qcc_name_map bigger = {m->cap * 2, 0, NULL, NULL};
  bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
  bigger.vals = calloc(bigger.cap, sizeof *bigger.vals);
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->keys[i]) continue;
    size_t j = slot_of(&bigger, m->keys[i]);
    bigger.keys[j] = m->keys[i];
    bigger.vals[j] = m->vals[i];
    bigger.count++;
  }
  free(m->keys);
  free(m->vals);
  *m = bigger;
}

void qcc_name_map_put(qcc_name_map *m, const char *key, const void *val) {
  if ((m->count + 1) * 2 > m->cap) grow(m);
  size_t i = slot_of(m, key);
  if (!m->keys[i]) {
    m->keys[i] = strdup(key);
    m->count++;
  }
  m->vals[i] = val;
}

int qcc_name_map_get(const qcc_name_map *m, const char *key, const void **val) {
  size_t i = slot_of(m, key);
  if (!m->keys[i]) return 0;
  *val = m->vals[i];
  return 1;
}

static size_t hash_ptr(const void *p) {
  uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
  return (size_t)(h ^ (h >> 29));
}

void qcc_ptr_map_init(qcc_ptr_map *m) {
  m->cap = 64;
  m->count = 0;
  m->keys = calloc(m->cap, sizeof *m->keys);
  m->vals = calloc(m->cap, sizeof *m->vals);
}

void qcc_ptr_map_free(qcc_ptr_map *m) {
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

static size_t ptr_slot(const qcc_ptr_map *m, const void *key) {
  size_t i = hash_ptr(key) & (m->cap - 1);
  while (m->keys[i] && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
  return i;
}

void qcc_ptr_map_put(qcc_ptr_map *m, const void *key, void *val) {
  if ((m->count + 1) * 2 > m->cap) {
    qcc_ptr_map bigger = {m->cap * 2, 0, NULL, NULL};
    bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
    bigger.vals = calloc(bigger.cap, sizeof *bigger.vals);
    for (size_t i = 0; i < m->cap; i++)
      if (m->keys[i]) qcc_ptr_map_put(&bigger, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    *m = bigger;
  }
  size_t i = ptr_slot(m, key);
  if (!m->keys[i]) {
    m->keys[i] = key;
    m->count++;
  }
  m->vals[i] = val;
}

void *qcc_ptr_map_get(const qcc_ptr_map *m, const void *key) {
  size_t i = ptr_slot(m, key);
  return m->keys[i] ? m->vals[i] : NULL;
}
