/* Growable byte buffer with a hard maximum (git strbuf guarantees + curl dynbuf bound):
 * b->p is never NULL after zg_buf_init and is always NUL-terminated. */
#ifndef ZG_BUF_H
#define ZG_BUF_H

#include "compat.h"

struct zg_buf {
    char *p;     /* contents, NUL-terminated; points at a static "" until first growth */
    size_t len;  /* bytes used, excluding the terminator */
    size_t cap;  /* bytes allocated (0 while p is the static "") */
    size_t max;  /* growth beyond this many bytes fails with ZG_ETOOBIG */
};

/* Initialises an empty buffer that may grow to max bytes (0 = 16 MiB). */
void zg_buf_init(struct zg_buf *b, size_t max);

/* Frees the memory and re-initialises the buffer with the same max. */
void zg_buf_release(struct zg_buf *b);

/* Empties the buffer, keeping its memory. */
void zg_buf_reset(struct zg_buf *b);

/* Appends n bytes. Returns 0, ZG_ETOOBIG past max, or ZG_ENOMEM. */
int zg_buf_add(struct zg_buf *b, const void *data, size_t n) ZG_MUST_CHECK;

/* Appends a NUL-terminated string. */
int zg_buf_adds(struct zg_buf *b, const char *s) ZG_MUST_CHECK;

/* Appends printf output. */
int zg_buf_addf(struct zg_buf *b, const char *fmt, ...) ZG_PRINTF(2, 3) ZG_MUST_CHECK;

/* Takes ownership of the contents (caller frees with free()); the buffer is re-initialised.
 * Returns NULL only when allocation of an empty string fails. */
char *zg_buf_detach(struct zg_buf *b, size_t *len);

#endif
