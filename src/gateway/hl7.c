/* HL7 v2.x: character-set decoding and a bounded parser (separators from MSH, escapes checked
 * at parse time so that accessors cannot fail on input). */
#include "gateway/hl7.h"
#include "common/arena.h"
#include "common/error.h"

#include <errno.h>
#include <iconv.h>

struct seg {
    char name[4];
    size_t nf;          /* number of fields including the name at [0] */
    const char **f;     /* raw field text (pointers into the message copy) */
    size_t *flen;
};

struct zg_hl7_msg {
    struct zg_arena *arena;
    char fs, cs, rs, es, ss; /* field, component, repetition, escape, subcomponent */
    size_t nseg;
    struct seg *segs;
};

/* --- character sets ------------------------------------------------------------------ */

enum charset { CS_ASCII, CS_JIS, CS_UTF8 };

static bool streq_nocase_nospace(const char *a, size_t an, const char *b)
{
    /* compares ignoring case, spaces, '-' and '_' ("ISO IR87" == "ISO_IR 87") */
    size_t i = 0, j = 0, bn = strlen(b);
    for (;;) {
        while (i < an && (a[i] == ' ' || a[i] == '-' || a[i] == '_'))
            i++;
        while (j < bn && (b[j] == ' ' || b[j] == '-' || b[j] == '_'))
            j++;
        if (i == an || j == bn)
            return i == an && j == bn;
        char x = a[i], y = b[j];
        if (x >= 'a' && x <= 'z')
            x = (char)(x - 32);
        if (y >= 'a' && y <= 'z')
            y = (char)(y - 32);
        if (x != y)
            return false;
        i++, j++;
    }
}

/* Classifies one repetition of MSH-18. */
static int charset_name(const char *v, size_t vn, enum charset *cs, struct zg_error *err)
{
    if (vn == 0 || streq_nocase_nospace(v, vn, "ISO IR6") || streq_nocase_nospace(v, vn, "ASCII"))
        return 0;
    if (streq_nocase_nospace(v, vn, "ISO IR87") || streq_nocase_nospace(v, vn, "ISO IR159") ||
        streq_nocase_nospace(v, vn, "ISO IR13") || streq_nocase_nospace(v, vn, "ISO 2022 1994")) {
        *cs = CS_JIS;
        return 0;
    }
    if (streq_nocase_nospace(v, vn, "UNICODE UTF8") || streq_nocase_nospace(v, vn, "ISO IR192") ||
        streq_nocase_nospace(v, vn, "UTF8")) {
        *cs = CS_UTF8;
        return 0;
    }
    return zg_error_set(err, ZG_EINVAL, "MSH-18", "unsupported character set '%.*s'",
                        (int)(vn > 40 ? 40 : vn), v);
}

/* Reads MSH-18 from the raw (ASCII) MSH segment and classifies it (absent → ASCII). */
static int raw_charset(const char *raw, size_t n, enum charset *cs, struct zg_error *err)
{
    *cs = CS_ASCII;
    if (n < 8 || memcmp(raw, "MSH", 3))
        return zg_error_set(err, ZG_EINVAL, "MSH", "the file does not start with an MSH segment");
    char fs = raw[3], rs = raw[5];
    size_t end = 0;
    while (end < n && raw[end] != '\r' && raw[end] != '\n')
        end++;
    /* from offset 4, fs-separated piece k is MSH-(k+2); MSH-18 is piece 16 */
    size_t k = 0, start = 4;
    for (size_t i = 4; i <= end; i++) {
        if (i < end && raw[i] != fs)
            continue;
        if (k == 16) {
            size_t p = start;
            for (size_t q = start; q <= i; q++) {
                if (q < i && raw[q] != rs)
                    continue;
                int rc = charset_name(raw + p, q - p, cs, err);
                if (rc)
                    return rc;
                p = q + 1;
            }
            return 0;
        }
        k++;
        start = i + 1;
    }
    return 0;
}

/* Checks UTF-8 well-formedness (no overlongs, no surrogates, ≤ U+10FFFF). Returns the offset of
 * the first bad byte or n when valid. NUL and control characters other than CR, LF, TAB are
 * also refused. */
static size_t utf8_bad_offset(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c < 0x20 && c != '\r' && c != '\n' && c != '\t')
                return i;
            if (c == 0x7f)
                return i;
            i++;
            continue;
        }
        size_t len;
        unsigned min;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0)
            len = 2, min = 0x80, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0)
            len = 3, min = 0x800, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0)
            len = 4, min = 0x10000, cp = c & 0x07;
        else
            return i;
        if (i + len > n)
            return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += len;
    }
    return n;
}

int zg_hl7_decode(const char *raw, size_t n, char **out, size_t *outlen, struct zg_error *err)
{
    *out = NULL;
    *outlen = 0;
    if (n > ZG_HL7_MAX_BYTES)
        return zg_error_set(err, ZG_ETOOBIG, "", "message is larger than %zu bytes",
                            ZG_HL7_MAX_BYTES);
    /* MLLP framing left in stored messages: <VT> before, <FS> (and CR) after */
    if (n && raw[0] == '\x0b')
        raw++, n--;
    while (n && (raw[n - 1] == '\x1c' || raw[n - 1] == '\r' || raw[n - 1] == '\n')) {
        if (raw[n - 1] == '\x1c') {
            n--;
            continue;
        }
        if (n >= 2 && raw[n - 2] == '\x1c') {
            n--;
            continue;
        }
        break;
    }
    enum charset cs;
    int rc = raw_charset(raw, n, &cs, err);
    if (rc)
        return rc;
    if (cs != CS_JIS) {
        /* ISO-2022 escape bytes outside a declared ISO-2022 message are a broken encoding */
        size_t bad = utf8_bad_offset((const unsigned char *)raw, n);
        if (bad != n)
            return zg_error_set(err, ZG_EINVAL, "MSH-18",
                                "invalid %s byte 0x%02x at offset %zu",
                                cs == CS_UTF8 ? "UTF-8" : "ASCII/UTF-8",
                                (unsigned)(unsigned char)raw[bad], bad);
        char *p = malloc(n + 1);
        if (!p)
            return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        memcpy(p, raw, n);
        p[n] = '\0';
        *out = p;
        *outlen = n;
        return 0;
    }
    /* ISO-2022-JP: a double-byte JIS X 0208 character may contain the bytes of '|', '^', '~'
     * or '\\', so the whole message is converted before any splitting. ISO-2022-JP-3 also
     * reads JIS X 0213 and half-width katakana designations that some HIS emit. */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c >= 0x80 || c == 0)
            return zg_error_set(err, ZG_EINVAL, "MSH-18",
                                "byte 0x%02x at offset %zu is not valid in ISO-2022-JP", c, i);
    }
    iconv_t cd = iconv_open("UTF-8", "ISO-2022-JP-3");
    if (cd == (iconv_t)-1)
        cd = iconv_open("UTF-8", "ISO-2022-JP");
    if (cd == (iconv_t)-1)
        return zg_error_set(err, ZG_EINTERNAL, "", "iconv cannot convert ISO-2022-JP");
    size_t cap = n * 3 + 16; /* a JIS character (2 bytes + shifts) is ≤ 3 bytes of UTF-8 */
    char *buf = malloc(cap + 1);
    if (!buf) {
        iconv_close(cd);
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    }
    char *in = (char *)raw, *o = buf;
    size_t inleft = n, outleft = cap;
    size_t r = iconv(cd, &in, &inleft, &o, &outleft);
    if (r != (size_t)-1)
        r = iconv(cd, NULL, NULL, &o, &outleft); /* flush; a message must end in ASCII mode */
    if (r == (size_t)-1 || inleft) {
        int e = errno;
        size_t off = (size_t)(in - raw);
        iconv_close(cd);
        free(buf);
        return zg_error_set(err, ZG_EINVAL, "MSH-18",
                            "invalid ISO-2022-JP sequence at offset %zu (%s)", off,
                            e == EILSEQ   ? "illegal sequence"
                            : e == EINVAL ? "incomplete sequence"
                                          : "conversion failed");
    }
    iconv_close(cd);
    size_t len = (size_t)(o - buf);
    buf[len] = '\0';
    size_t bad = utf8_bad_offset((const unsigned char *)buf, len);
    if (bad != len) {
        free(buf);
        return zg_error_set(err, ZG_EINVAL, "MSH-18", "control character in decoded text");
    }
    *out = buf;
    *outlen = len;
    return 0;
}

/* --- parsing ------------------------------------------------------------------------- */

static bool is_delim_ok(char c)
{
    return c && c != '\r' && c != '\n' && !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'Z') &&
           !(c >= 'a' && c <= 'z') && (unsigned char)c < 0x80 && c != ' ';
}

static bool ishex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* Length of the escape sequence body starting after the opening escape char at s[0..n), or
 * 0 when it is not a valid, terminated sequence. */
static size_t escape_len(const struct zg_hl7_msg *m, const char *s, size_t n)
{
    size_t k = 0;
    while (k < n && k < 64 && s[k] != m->es) {
        if (s[k] == m->fs || s[k] == m->cs || s[k] == m->rs || s[k] == m->ss)
            return 0;
        k++;
    }
    if (k >= n || s[k] != m->es || k == 0)
        return 0;
    /* s[0..k) is the body */
    if (k == 1 && strchr("FSTREHN", s[0]))
        return k;
    if (s[0] == 'X') {
        if ((k - 1) % 2 || k == 1)
            return 0;
        for (size_t i = 1; i < k; i++)
            if (!ishex(s[i]))
                return 0;
        return k;
    }
    if (s[0] == '.') { /* formatting: .br .sp .in .ti .ce .fi .nf with optional number */
        static const char *const fmt[] = {"br", "sp", "in", "ti", "ce", "fi", "nf"};
        for (size_t i = 0; i < ZG_ARRAY_LEN(fmt); i++)
            if (k >= 3 && !memcmp(s + 1, fmt[i], 2)) {
                for (size_t j = 3; j < k; j++)
                    if (!(s[j] >= '0' && s[j] <= '9') && s[j] != '+' && s[j] != '-')
                        return 0;
                return k;
            }
        return 0;
    }
    if (s[0] == 'C' || s[0] == 'M' || s[0] == 'Z') { /* charset switches, local escapes */
        for (size_t i = 1; i < k; i++)
            if (!ishex(s[i]) && s[0] != 'Z')
                return 0;
        return k;
    }
    return 0;
}

/* Validates the escapes and bounds of one field. Returns 0 or fills err. */
static int check_field(const struct zg_hl7_msg *m, const char *segname, size_t fno,
                       const char *s, size_t n, struct zg_error *err)
{
    size_t reps = 1, comps = 1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == m->rs) {
            if (++reps > ZG_HL7_MAX_REPS)
                return zg_error_set(err, ZG_ETOOBIG, "", "%s-%zu: more than %d repetitions",
                                    segname, fno, ZG_HL7_MAX_REPS);
            comps = 1;
        } else if (c == m->cs) {
            if (++comps > ZG_HL7_MAX_COMPS)
                return zg_error_set(err, ZG_ETOOBIG, "", "%s-%zu: more than %d components",
                                    segname, fno, ZG_HL7_MAX_COMPS);
        } else if (c == m->es) {
            size_t k = escape_len(m, s + i + 1, n - i - 1);
            if (!k) {
                char f[32];
                snprintf(f, sizeof(f), "%s-%zu", segname, fno);
                return zg_error_set(err, ZG_EINVAL, f, "invalid or unterminated escape sequence");
            }
            i += k + 1;
        }
    }
    return 0;
}

int zg_hl7_parse(struct zg_arena *arena, const char *text, size_t n, struct zg_hl7_msg **out,
                 struct zg_error *err)
{
    *out = NULL;
    if (n > ZG_HL7_MAX_BYTES)
        return zg_error_set(err, ZG_ETOOBIG, "", "message is larger than %zu bytes",
                            ZG_HL7_MAX_BYTES);
    if (n < 8 || memcmp(text, "MSH", 3))
        return zg_error_set(err, ZG_EINVAL, "MSH", "the message does not start with MSH");
    struct zg_hl7_msg *m = zg_arena_alloc(arena, sizeof(*m));
    char *copy = zg_arena_strndup(arena, text, n);
    if (!m || !copy)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    if (strlen(copy) != n)
        return zg_error_set(err, ZG_EINVAL, "", "NUL byte in message");
    m->arena = arena;
    m->fs = copy[3];
    if (!is_delim_ok(m->fs))
        return zg_error_set(err, ZG_EINVAL, "MSH-1", "invalid field separator");
    size_t e = 4;
    while (e < n && copy[e] != m->fs && copy[e] != '\r' && copy[e] != '\n')
        e++;
    if (e == n || copy[e] != m->fs || (e - 4 != 4 && e - 4 != 5))
        return zg_error_set(err, ZG_EINVAL, "MSH-2", "encoding characters must be 4 or 5 characters followed by the field separator");
    m->cs = copy[4], m->rs = copy[5], m->es = copy[6], m->ss = copy[7];
    const char d[5] = {m->fs, m->cs, m->rs, m->es, m->ss};
    for (int i = 0; i < 5; i++) {
        if (!is_delim_ok(d[i]))
            return zg_error_set(err, ZG_EINVAL, "MSH-2", "invalid encoding character");
        for (int j = 0; j < i; j++)
            if (d[i] == d[j])
                return zg_error_set(err, ZG_EINVAL, "MSH-2", "encoding characters are not distinct");
    }

    /* count segments to size the array */
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        if (copy[i] == '\r' || copy[i] == '\n')
            cap++;
    if (cap > ZG_HL7_MAX_SEGMENTS * 2 + 2)
        cap = ZG_HL7_MAX_SEGMENTS * 2 + 2;
    m->segs = zg_arena_alloc(arena, cap * sizeof(*m->segs));
    if (!m->segs)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");

    size_t p = 0;
    while (p < n) {
        size_t q = p;
        while (q < n && copy[q] != '\r' && copy[q] != '\n')
            q++;
        size_t len = q - p;
        char *line = copy + p;
        size_t next = q;
        while (next < n && (copy[next] == '\r' || copy[next] == '\n'))
            next++;
        line[len] = '\0';
        if (len == 0) {
            p = next;
            continue;
        }
        if (m->nseg >= ZG_HL7_MAX_SEGMENTS)
            return zg_error_set(err, ZG_ETOOBIG, "", "more than %d segments", ZG_HL7_MAX_SEGMENTS);
        char where[32];
        snprintf(where, sizeof(where), "segment %zu", m->nseg + 1);
        if (len < 3 || !(line[0] >= 'A' && line[0] <= 'Z'))
            return zg_error_set(err, ZG_EINVAL, where, "segment name must be 3 letters or digits");
        for (int i = 1; i < 3; i++)
            if (!((line[i] >= 'A' && line[i] <= 'Z') || (line[i] >= '0' && line[i] <= '9')))
                return zg_error_set(err, ZG_EINVAL, where, "segment name must be 3 letters or digits");
        if (len > 3 && line[3] != m->fs)
            return zg_error_set(err, ZG_EINVAL, where, "segment name is not followed by the field separator");
        bool is_msh = !memcmp(line, "MSH", 3);
        if (is_msh != (m->nseg == 0))
            return zg_error_set(err, ZG_EINVAL, where,
                                is_msh ? "more than one message in the file (a second MSH)"
                                       : "the first segment must be MSH");
        size_t nf = 1;
        for (size_t i = 3; i < len; i++)
            if (line[i] == m->fs)
                nf++;
        if (is_msh)
            nf++; /* MSH-1 is the separator itself */
        if (nf > ZG_HL7_MAX_FIELDS)
            return zg_error_set(err, ZG_ETOOBIG, where, "more than %d fields", ZG_HL7_MAX_FIELDS);
        struct seg *s = &m->segs[m->nseg];
        memcpy(s->name, line, 3);
        s->name[3] = '\0';
        s->f = zg_arena_alloc(arena, nf * sizeof(*s->f));
        s->flen = zg_arena_alloc(arena, nf * sizeof(*s->flen));
        if (!s->f || !s->flen)
            return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        s->f[0] = s->name;
        s->flen[0] = 3;
        size_t k = 1;
        size_t start = 4;
        if (is_msh) {
            char *fsv = zg_arena_alloc(arena, 2);
            if (!fsv)
                return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
            fsv[0] = m->fs;
            s->f[1] = fsv;
            s->flen[1] = 1;
            k = 2;
        }
        if (len > 3) {
            for (size_t i = 4; i <= len; i++) {
                if (i == len || line[i] == m->fs) {
                    s->f[k] = line + start;
                    s->flen[k] = i - start;
                    if (!(is_msh && k == 2)) {
                        int rc = check_field(m, s->name, k, line + start, i - start, err);
                        if (rc)
                            return rc;
                    }
                    k++;
                    start = i + 1;
                }
            }
        }
        s->nf = k;
        m->nseg++;
        p = next;
    }
    *out = m;
    return 0;
}

size_t zg_hl7_nsegments(const struct zg_hl7_msg *m)
{
    return m->nseg;
}

const char *zg_hl7_segment_name(const struct zg_hl7_msg *m, size_t i)
{
    return i < m->nseg ? m->segs[i].name : NULL;
}

long zg_hl7_find(const struct zg_hl7_msg *m, const char *name, size_t from)
{
    for (size_t i = from; i < m->nseg; i++)
        if (!strcmp(m->segs[i].name, name))
            return (long)i;
    return -1;
}

/* The k-th (0-based) piece of s[0..n) split by delim into ps, pn; false when absent. */
static bool piece(const char *s, size_t n, char delim, size_t k, const char **ps, size_t *pn)
{
    size_t start = 0, idx = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == delim) {
            if (idx == k) {
                *ps = s + start;
                *pn = i - start;
                return true;
            }
            idx++;
            start = i + 1;
        }
    }
    return false;
}

size_t zg_hl7_nreps(const struct zg_hl7_msg *m, size_t i, size_t f)
{
    if (i >= m->nseg || f >= m->segs[i].nf || m->segs[i].flen[f] == 0)
        return 0;
    if (i == 0 && f <= 2)
        return 1;
    size_t r = 1;
    for (size_t k = 0; k < m->segs[i].flen[f]; k++)
        if (m->segs[i].f[f][k] == m->rs)
            r++;
    return r;
}

const char *zg_hl7_unescape(const struct zg_hl7_msg *m, const char *raw, size_t n)
{
    char *o = zg_arena_alloc(m->arena, n + 1);
    if (!o)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (raw[i] != m->es) {
            o[w++] = raw[i];
            continue;
        }
        size_t k = escape_len(m, raw + i + 1, n - i - 1);
        if (!k)
            return NULL;
        const char *b = raw + i + 1;
        if (k == 1) {
            switch (b[0]) {
            case 'F': o[w++] = m->fs; break;
            case 'S': o[w++] = m->cs; break;
            case 'T': o[w++] = m->ss; break;
            case 'R': o[w++] = m->rs; break;
            case 'E': o[w++] = m->es; break;
            default: break; /* H, N: highlighting on/off */
            }
        } else if (b[0] == 'X') {
            for (size_t j = 1; j + 1 < k; j += 2) {
                unsigned v;
                char hx[3] = {b[j], b[j + 1], 0};
                v = (unsigned)strtoul(hx, NULL, 16);
                if (v == 0)
                    return NULL;
                o[w++] = (char)v;
            }
        } else if (b[0] == '.' && (!memcmp(b + 1, "br", 2) || !memcmp(b + 1, "sp", 2))) {
            o[w++] = '\n';
        } /* other formatting and charset switches carry no text */
        i += k + 1;
    }
    o[w] = '\0';
    /* \X..\ may produce arbitrary bytes: the result must still be clean UTF-8 */
    if (utf8_bad_offset((const unsigned char *)o, w) != w)
        return NULL;
    return o;
}

const char *zg_hl7_get(const struct zg_hl7_msg *m, size_t i, size_t f, size_t r, size_t c,
                       size_t s)
{
    if (i >= m->nseg || f >= m->segs[i].nf)
        return "";
    const char *v = m->segs[i].f[f];
    size_t vn = m->segs[i].flen[f];
    if (i == 0 && f <= 2) /* MSH-1 and MSH-2 are taken literally */
        return r == 0 && c <= 1 ? zg_arena_strndup(m->arena, v, vn) : "";
    const char *p;
    size_t pn;
    if (!piece(v, vn, m->rs, r, &p, &pn))
        return "";
    if (c > 0) {
        if (!piece(p, pn, m->cs, c - 1, &p, &pn))
            return "";
        if (s > 0 && !piece(p, pn, m->ss, s - 1, &p, &pn))
            return "";
    }
    if (pn == 2 && p[0] == '"' && p[1] == '"')
        return ""; /* explicit null */
    const char *u = zg_hl7_unescape(m, p, pn);
    return u ? u : "";
}

const char *zg_hl7_val(const struct zg_hl7_msg *m, size_t i, size_t f, size_t c)
{
    return zg_hl7_get(m, i, f, 0, c, c ? 1 : 0);
}
