/* FNV-1a over a NUL-terminated string: the hash of zengen's in-memory string tables (open
 * addressing; not for anything an attacker could aim collisions at beyond slowing a lookup). */
#ifndef ZG_COMMON_HASH_H
#define ZG_COMMON_HASH_H

#include <stdint.h>

static inline uint64_t zg_str_hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

#endif
