/* Arena: a chain of blocks; large requests get a block of their own. */
#include "arena.h"

#include <stdarg.h>

#define ARENA_BLOCK 8192
#define ARENA_ALIGN 16

struct block {
    struct block *next;
    size_t used, cap;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct zg_arena {
    struct block *head;
    size_t total, limit;
};

struct zg_arena *zg_arena_new(size_t limit)
{
    struct zg_arena *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->limit = limit ? limit : (size_t)64 << 20;
    return a;
}

void zg_arena_free(struct zg_arena *a)
{
    if (!a)
        return;
    struct block *b = a->head;
    while (b) {
        struct block *n = b->next;
        free(b);
        b = n;
    }
    free(a);
}

void *zg_arena_alloc(struct zg_arena *a, size_t n)
{
    if (!a)
        return NULL;
    if (n == 0)
        n = 1;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need < n || a->total + need > a->limit)
        return NULL;
    struct block *b = a->head;
    if (!b || b->cap - b->used < need) {
        size_t cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;
        struct block *nb = malloc(sizeof(*nb) + cap);
        if (!nb)
            return NULL;
        nb->used = 0;
        nb->cap = cap;
        if (b && need > ARENA_BLOCK) {
            /* keep the partly used block at the head for small allocations */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->total += need;
    memset(p, 0, n);
    return p;
}

char *zg_arena_strndup(struct zg_arena *a, const char *s, size_t n)
{
    if (!s)
        return NULL;
    n = strnlen(s, n);
    char *p = zg_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *zg_arena_strdup(struct zg_arena *a, const char *s)
{
    return s ? zg_arena_strndup(a, s, strlen(s)) : NULL;
}

char *zg_arena_printf(struct zg_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = zg_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

size_t zg_arena_used(const struct zg_arena *a)
{
    return a ? a->total : 0;
}
