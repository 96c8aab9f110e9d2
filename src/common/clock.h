/* The one clock of zengen: UTC wall time, with a test override, and RFC 3339 formatting. */
#ifndef ZG_CLOCK_H
#define ZG_CLOCK_H

#include "compat.h"

/* Milliseconds since the Unix epoch, UTC. If the environment variable ZENGEN_FAKE_TIME_OFFSET
 * (seconds, may be negative) is set at first call, it is added (used by tests of expiry). */
int64_t zg_clock_now_ms(void);

/* Seconds since the epoch (zg_clock_now_ms()/1000). */
int64_t zg_clock_now(void);

/* Monotonic milliseconds for measuring durations (not wall time). */
int64_t zg_clock_mono_ms(void);

/* Monotonic microseconds for measuring latency. */
int64_t zg_clock_mono_us(void);

/* Formats epoch milliseconds as "2026-11-24T01:55:59.123Z" into out (>= 25 bytes). */
void zg_clock_format(int64_t ms, char *out, size_t outsz);

#endif
