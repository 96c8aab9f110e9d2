/* Clock implementation. */
#include "clock.h"

#include <time.h>

static int64_t offset_ms(void)
{
    /* read once; the value is constant for the process, so a benign race is harmless */
    static int64_t off;
    static int done;
    if (!done) {
        const char *e = getenv("ZENGEN_FAKE_TIME_OFFSET");
        off = e ? (int64_t)strtoll(e, NULL, 10) * 1000 : 0;
        done = 1;
    }
    return off;
}

int64_t zg_clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + offset_ms();
}

int64_t zg_clock_now(void)
{
    return zg_clock_now_ms() / 1000;
}

int64_t zg_clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t zg_clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void zg_clock_format(int64_t ms, char *out, size_t outsz)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}
