/* Portability and attribute macros used by every zengen source file; includes banned.h last. */
#ifndef ZG_COMPAT_H
#define ZG_COMPAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__GNUC__) || defined(__clang__)
#define ZG_MUST_CHECK __attribute__((warn_unused_result))
#define ZG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ZG_UNUSED __attribute__((unused))
#else
#define ZG_MUST_CHECK
#define ZG_PRINTF(a, b)
#define ZG_UNUSED
#endif

#define ZG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Defensive checks for conditions that are believed impossible (SQLite's ALWAYS/NEVER):
 * they never abort in production, but make the impossible branch explicit. */
#define ZG_ALWAYS(x) (x)
#define ZG_NEVER(x) (x)

#include "banned.h"

#endif
