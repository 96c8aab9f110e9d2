/* Streaming JSON writer. */
#include "jsonw.h"
#include "error.h"

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not valid. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (!n || (n == 2 && c < 0xc2) || (n == 4 && c > 0xf4))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0)))
        return 0; /* overlong or surrogate */
    if (n == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)))
        return 0;
    return n;
}

int zg_jsonw_str(struct zg_buf *b, const char *s)
{
    if (!s)
        return zg_buf_add(b, "null", 4);
    int rc = zg_buf_add(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s, *run = p;
    while (!rc && *p) {
        unsigned char c = *p;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            p++;
            continue;
        }
        size_t n = c >= 0x80 ? utf8_len(p) : 0;
        if (n) {
            p += n;
            continue;
        }
        rc = zg_buf_add(b, run, (size_t)(p - run));
        if (rc)
            break;
        if (c == '"')
            rc = zg_buf_add(b, "\\\"", 2);
        else if (c == '\\')
            rc = zg_buf_add(b, "\\\\", 2);
        else if (c < 0x20)
            rc = zg_buf_addf(b, "\\u%04x", c);
        else
            rc = zg_buf_add(b, "\\ufffd", 6); /* invalid UTF-8 byte */
        p++;
        run = p;
    }
    if (!rc)
        rc = zg_buf_add(b, run, (size_t)(p - run));
    if (!rc)
        rc = zg_buf_add(b, "\"", 1);
    return rc;
}

int zg_jsonw_key(struct zg_buf *b, bool *first, const char *key)
{
    int rc = *first ? 0 : zg_buf_add(b, ",", 1);
    *first = false;
    if (!rc)
        rc = zg_jsonw_str(b, key);
    if (!rc)
        rc = zg_buf_add(b, ":", 1);
    return rc;
}

int zg_jsonw_kv_str(struct zg_buf *b, bool *first, const char *key, const char *value)
{
    int rc = zg_jsonw_key(b, first, key);
    return rc ? rc : zg_jsonw_str(b, value);
}

int zg_jsonw_kv_int(struct zg_buf *b, bool *first, const char *key, long long value)
{
    int rc = zg_jsonw_key(b, first, key);
    return rc ? rc : zg_buf_addf(b, "%lld", value);
}
