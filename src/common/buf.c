/* Bounded growable buffer. */
#include "buf.h"
#include "error.h"

#include <stdarg.h>

static char zg_buf_empty[1];

void zg_buf_init(struct zg_buf *b, size_t max)
{
    b->p = zg_buf_empty;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : (size_t)16 << 20;
}

void zg_buf_release(struct zg_buf *b)
{
    if (b->cap)
        free(b->p);
    zg_buf_init(b, b->max);
}

void zg_buf_reset(struct zg_buf *b)
{
    b->len = 0;
    if (b->cap)
        b->p[0] = '\0';
}

static int grow(struct zg_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return ZG_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap * 2 < cap ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = b->cap ? realloc(b->p, cap) : malloc(cap);
    if (!p)
        return ZG_ENOMEM;
    if (!b->cap)
        p[0] = '\0';
    b->p = p;
    b->cap = cap;
    return 0;
}

int zg_buf_add(struct zg_buf *b, const void *data, size_t n)
{
    int rc = grow(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int zg_buf_adds(struct zg_buf *b, const char *s)
{
    return zg_buf_add(b, s, strlen(s));
}

int zg_buf_addf(struct zg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ZG_EINVAL;
    int rc = grow(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *zg_buf_detach(struct zg_buf *b, size_t *len)
{
    char *p;
    if (len)
        *len = b->len;
    if (b->cap) {
        p = b->p;
    } else {
        p = malloc(1);
        if (p)
            p[0] = '\0';
    }
    zg_buf_init(b, b->max);
    return p;
}
