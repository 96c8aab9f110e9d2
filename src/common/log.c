/* Logging to stderr as JSON lines. */
#include "log.h"
#include "clock.h"

#include <stdarg.h>
#include <unistd.h>

static enum zg_log_level min_level = ZG_LOG_INFO;

void zg_log_set_level(enum zg_log_level lvl)
{
    min_level = lvl;
}

static size_t json_escape(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return o;
}

void zg_log(enum zg_log_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (lvl < min_level)
        return;
    char msg[1024], esc[2048], ts[32], line[2304];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_escape(esc, sizeof(esc), msg);
    zg_clock_format(zg_clock_now_ms(), ts, sizeof(ts));
    int n = snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"}\n", ts,
                     names[lvl], esc);
    if (n > 0)
        zg_log_json_line(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void zg_log_json_line(const char *json, size_t len)
{
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, json, len);
        if (w <= 0)
            return;
        json += w;
        len -= (size_t)w;
    }
}
