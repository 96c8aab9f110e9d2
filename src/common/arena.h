/* A memory pool freed all at once (h2o's per-request pool): handlers allocate, never free. */
#ifndef ZG_ARENA_H
#define ZG_ARENA_H

#include "compat.h"

struct zg_arena;

/* Creates an arena that refuses to hand out more than `limit` bytes in total (0 = 64 MiB).
 * Returns NULL on allocation failure. Free with zg_arena_free. */
struct zg_arena *zg_arena_new(size_t limit);

/* Frees every allocation and the arena itself (NULL is a no-op). */
void zg_arena_free(struct zg_arena *a);

/* Returns n zeroed bytes aligned for any type, or NULL when the limit would be exceeded or
 * memory is exhausted. The memory lives until zg_arena_free. */
void *zg_arena_alloc(struct zg_arena *a, size_t n);

/* Copies the NUL-terminated string s (NULL → NULL). */
char *zg_arena_strdup(struct zg_arena *a, const char *s);

/* Copies at most n bytes of s (stopping at a NUL) and NUL-terminates. */
char *zg_arena_strndup(struct zg_arena *a, const char *s, size_t n);

/* printf into the arena; NULL on failure. */
char *zg_arena_printf(struct zg_arena *a, const char *fmt, ...) ZG_PRINTF(2, 3);

/* Bytes handed out so far. */
size_t zg_arena_used(const struct zg_arena *a);

#endif
