/* A small streaming JSON writer into a bounded zg_buf, for hot paths where building a tree
 * first would cost more than the output (audit events). Strings are escaped per RFC 8259;
 * invalid UTF-8 is replaced by U+FFFD so that the output is always valid JSON. */
#ifndef ZG_JSONW_H
#define ZG_JSONW_H

#include "buf.h"

/* Appends s as a quoted, escaped JSON string (NULL → null). Returns 0 or ZG_ETOOBIG/ZG_ENOMEM. */
int zg_jsonw_str(struct zg_buf *b, const char *s) ZG_MUST_CHECK;

/* Appends `"key":` preceded by ',' unless *first (then clears it). */
int zg_jsonw_key(struct zg_buf *b, bool *first, const char *key) ZG_MUST_CHECK;

/* Appends `"key":"value"` (escaped; NULL value → null). */
int zg_jsonw_kv_str(struct zg_buf *b, bool *first, const char *key, const char *value)
    ZG_MUST_CHECK;

/* Appends `"key":<integer>`. */
int zg_jsonw_kv_int(struct zg_buf *b, bool *first, const char *key, long long value)
    ZG_MUST_CHECK;

#endif
