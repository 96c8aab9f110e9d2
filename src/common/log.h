/* Structured logging: one JSON object per line on stderr. Callers pass only non-sensitive
 * fields — never bodies, genotypes, patient identifiers, tokens or passwords. */
#ifndef ZG_LOG_H
#define ZG_LOG_H

#include "compat.h"

enum zg_log_level { ZG_LOG_DEBUG, ZG_LOG_INFO, ZG_LOG_WARN, ZG_LOG_ERROR };

/* Sets the minimum level written (default INFO; ZENGEN_LOG=debug lowers it). */
void zg_log_set_level(enum zg_log_level lvl);

/* Writes {"ts":…,"level":…,"msg":…} with msg formatted by printf. Thread-safe (one write()). */
void zg_log(enum zg_log_level lvl, const char *fmt, ...) ZG_PRINTF(2, 3);

/* Writes an already-built JSON object line verbatim (used for access logs). */
void zg_log_json_line(const char *json, size_t len);

#endif
