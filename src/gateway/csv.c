/* CSV exports → standard clinical model, row by row, as the mapping file describes: each
 * field rule copies one column (or a constant) to a JSON Pointer; only mapped columns leave
 * the hospital, and the columns named as identifiers are scrubbed from any free text. */
#include "gateway/gateway.h"
#include "clinical/clinical.h"
#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"

#include <errno.h>
#include <iconv.h>

#define CSV_MAX_COLS 1000
#define CSV_MAX_CELL ((size_t)64 << 10)
#define CSV_MAX_ROWS 1000000

struct row {
    char **cell;
    size_t n;
};

static void row_free(struct row *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->cell[i]);
    free(r->cell);
    r->cell = NULL;
    r->n = 0;
}

/* Reads one record starting at *pos (RFC 4180 quoting; CRLF or LF). Returns 1 with a row,
 * 0 at the end, or a negative error (err says why). */
static int next_row(const char *s, size_t n, size_t *pos, char delim, struct row *r,
                    struct zg_error *err)
{
    if (*pos >= n)
        return 0;
    size_t cap = 16;
    r->cell = calloc(cap, sizeof(char *));
    r->n = 0;
    if (!r->cell)
        return ZG_ENOMEM;
    struct zg_buf b;
    zg_buf_init(&b, CSV_MAX_CELL);
    size_t i = *pos;
    for (;;) {
        bool quoted = false;
        zg_buf_reset(&b);
        if (i < n && s[i] == '"') {
            quoted = true;
            i++;
            for (;;) {
                if (i >= n) {
                    zg_buf_release(&b);
                    return zg_error_set(err, ZG_EINVAL, "", "unterminated quoted cell");
                }
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        if (zg_buf_add(&b, "\"", 1))
                            goto toobig;
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (zg_buf_add(&b, s + i, 1))
                    goto toobig;
                i++;
            }
        }
        while (i < n && s[i] != delim && s[i] != '\n' && s[i] != '\r') {
            if (quoted || s[i] == '"') {
                zg_buf_release(&b);
                return zg_error_set(err, ZG_EINVAL, "", "stray quote in a cell");
            }
            if (zg_buf_add(&b, s + i, 1))
                goto toobig;
            i++;
        }
        if (r->n == CSV_MAX_COLS) {
            zg_buf_release(&b);
            return zg_error_set(err, ZG_ETOOBIG, "", "more than %d columns", CSV_MAX_COLS);
        }
        if (r->n == cap) {
            char **nc = realloc(r->cell, 2 * cap * sizeof(char *));
            if (!nc) {
                zg_buf_release(&b);
                return ZG_ENOMEM;
            }
            r->cell = nc;
            cap *= 2;
        }
        r->cell[r->n] = strdup(b.p);
        if (!r->cell[r->n]) {
            zg_buf_release(&b);
            return ZG_ENOMEM;
        }
        r->n++;
        if (i < n && s[i] == delim) {
            i++;
            continue;
        }
        if (i < n && s[i] == '\r')
            i++;
        if (i < n && s[i] == '\n')
            i++;
        break;
    }
    zg_buf_release(&b);
    *pos = i;
    return 1;
toobig:
    zg_buf_release(&b);
    return zg_error_set(err, ZG_ETOOBIG, "", "a cell is larger than %zu bytes", CSV_MAX_CELL);
}

/* Converts Shift_JIS (CP932) to UTF-8 (malloc'd). */
static int sjis_to_utf8(const char *raw, size_t n, char **out, size_t *outlen, struct zg_error *err)
{
    iconv_t cd = iconv_open("UTF-8", "CP932");
    if (cd == (iconv_t)-1)
        cd = iconv_open("UTF-8", "SHIFT_JIS");
    if (cd == (iconv_t)-1)
        return zg_error_set(err, ZG_EINTERNAL, "", "iconv cannot convert Shift_JIS");
    size_t cap = n * 3 + 4;
    char *buf = malloc(cap + 1), *in = (char *)raw, *o = buf;
    size_t inleft = n, outleft = cap;
    if (!buf) {
        iconv_close(cd);
        return ZG_ENOMEM;
    }
    if (iconv(cd, &in, &inleft, &o, &outleft) == (size_t)-1) {
        size_t off = (size_t)(in - raw);
        iconv_close(cd);
        free(buf);
        return zg_error_set(err, ZG_EINVAL, "encoding", "invalid Shift_JIS at byte %zu", off);
    }
    iconv_close(cd);
    *outlen = (size_t)(o - buf);
    buf[*outlen] = '\0';
    *out = buf;
    return 0;
}

static bool utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                                : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!len || i + len > n || (c == 0))
            return false;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

/* Sets ptr in root, creating objects and arrays (a numeric segment is an array index; it
 * may name an existing item or the next one). */
static int set_pointer(json_t *root, const char *ptr, json_t *val)
{
    json_t *cur = root;
    const char *p = ptr + 1;
    char seg[128];
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || n >= sizeof(seg)) {
            json_decref(val);
            return ZG_EINVAL;
        }
        memcpy(seg, p, n);
        seg[n] = '\0';
        bool last = !slash;
        const char *nextseg = last ? NULL : slash + 1;
        bool next_is_index = nextseg && nextseg[0] >= '0' && nextseg[0] <= '9';
        if (json_is_array(cur)) {
            char *end;
            unsigned long idx = strtoul(seg, &end, 10);
            if (*end || idx > json_array_size(cur) || idx > 1000) {
                json_decref(val);
                return ZG_EINVAL;
            }
            if (last) {
                if (idx == json_array_size(cur))
                    json_array_append_new(cur, val);
                else
                    json_array_set_new(cur, idx, val);
                return 0;
            }
            if (idx == json_array_size(cur))
                json_array_append_new(cur, next_is_index ? json_array() : json_object());
            cur = json_array_get(cur, idx);
        } else if (json_is_object(cur)) {
            if (last) {
                json_object_set_new(cur, seg, val);
                return 0;
            }
            json_t *c = json_object_get(cur, seg);
            if (!c) {
                c = next_is_index ? json_array() : json_object();
                json_object_set_new(cur, seg, c);
            }
            cur = c;
        } else {
            json_decref(val);
            return ZG_EINVAL;
        }
        p = slash + 1;
    }
}

/* Normalises a date cell (YYYY-MM-DD, YYYY/MM/DD, YYYY/M/D, YYYYMMDD) to YYYY-MM-DD. */
static bool norm_date(const char *v, char out[11])
{
    int y = 0, m = 0, d = 0;
    char tail;
    if (strlen(v) == 8 && sscanf(v, "%4d%2d%2d%c", &y, &m, &d, &tail) == 3)
        ;
    else if (sscanf(v, "%d-%d-%d%c", &y, &m, &d, &tail) == 3 ||
             sscanf(v, "%d/%d/%d%c", &y, &m, &d, &tail) == 3)
        ;
    else
        return false;
    char buf[32];
    snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
    if (strlen(buf) != 10 || !zg_clinical_date_ok(buf))
        return false;
    memcpy(out, buf, 11);
    return true;
}

/* The value of one field rule for a row, or NULL (empty cell) with *why set on a bad cell. */
static json_t *cell_value(json_t *rule, const char *cell, const char **why)
{
    *why = NULL;
    json_t *constant = json_object_get(rule, "value");
    if (constant)
        return json_incref(constant);
    while (*cell == ' ' || *cell == '\t')
        cell++;
    size_t n = strlen(cell);
    while (n && (cell[n - 1] == ' ' || cell[n - 1] == '\t'))
        n--;
    if (n == 0)
        return NULL;
    char *v = strndup(cell, n);
    if (!v) {
        *why = "out of memory";
        return NULL;
    }
    json_t *map = json_object_get(rule, "map");
    json_t *out = NULL;
    if (map) {
        json_t *m = json_object_get(map, v);
        free(v);
        if (!m)
            *why = "value is not listed in the field's map";
        return m ? json_incref(m) : NULL;
    }
    const char *fmt = json_string_value(json_object_get(rule, "format"));
    if (!fmt || !strcmp(fmt, "text")) {
        out = json_string(v);
    } else if (!strcmp(fmt, "date") || !strcmp(fmt, "birth")) {
        char d[11];
        if (!strcmp(fmt, "birth") && strlen(v) == 7 && (v[4] == '-' || v[4] == '/')) {
            char tmp[16];
            snprintf(tmp, sizeof(tmp), "%.4s-%.2s-01", v, v + 5);
            if (norm_date(tmp, d))
                d[7] = '\0', out = json_string(d);
        } else if (norm_date(v, d)) {
            if (!strcmp(fmt, "birth"))
                d[7] = '\0'; /* year and month only */
            out = json_string(d);
        }
        if (!out)
            *why = "not a date";
    } else if (!strcmp(fmt, "integer")) {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (*end || errno)
            *why = "not an integer";
        else
            out = json_integer(x);
    } else if (!strcmp(fmt, "number")) {
        char *end;
        errno = 0;
        double x = strtod(v, &end);
        if (*end || errno)
            *why = "not a number";
        else
            out = json_real(x);
    } else if (!strcmp(fmt, "icd10")) {
        char c[8];
        size_t k = 0;
        for (const char *p = v; *p && k < 7; p++)
            if (*p != '.')
                c[k++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        c[k] = '\0';
        char d[16];
        if (k > 3)
            snprintf(d, sizeof(d), "%.3s.%s", c, c + 3);
        else
            snprintf(d, sizeof(d), "%s", c);
        if (zg_clinical_icd10_ok(d))
            out = json_string(d);
        else
            *why = "not an ICD-10 code";
    } else if (!strcmp(fmt, "boolean")) {
        if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "はい"))
            out = json_true();
        else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
                 !strcmp(v, "いいえ"))
            out = json_false();
        else
            *why = "not a yes/no value";
    }
    free(v);
    return out;
}

static long column_index(const struct row *hdr, const char *name)
{
    for (size_t i = 0; i < hdr->n; i++)
        if (!strcmp(hdr->cell[i], name))
            return (long)i;
    return -1;
}

int zg_gw_convert_csv(const struct zg_gw_mapping *m, const char *filename, const char *raw,
                      size_t n, struct zg_gw_record **recs, size_t *nrecs, struct zg_error *err)
{
    *recs = NULL;
    *nrecs = 0;
    json_t *layout = zg_gw_mapping_csv_layout(m, filename);
    if (!layout)
        return zg_error_set(err, ZG_EINVAL, "", "no CSV layout of the mapping matches this file");
    const char *enc = json_string_value(json_object_get(layout, "encoding"));
    const char *dl = json_string_value(json_object_get(layout, "delimiter"));
    const char *lname = json_string_value(json_object_get(layout, "name"));
    char delim = dl ? dl[0] : ',';
    char *text = NULL;
    size_t tn = 0;
    int rc = 0;
    if (enc && !strcmp(enc, "shift_jis")) {
        if ((rc = sjis_to_utf8(raw, n, &text, &tn, err)))
            return rc;
    } else {
        if (n >= 3 && !memcmp(raw, "\xEF\xBB\xBF", 3))
            raw += 3, n -= 3; /* byte-order mark */
        if (!utf8_ok((const unsigned char *)raw, n))
            return zg_error_set(err, ZG_EINVAL, "encoding", "the file is not valid UTF-8");
        text = strndup(raw, n);
        tn = n;
        if (!text)
            return ZG_ENOMEM;
    }
    struct row hdr = {0}, r = {0};
    struct zg_gw_record *out = NULL;
    size_t nout = 0, cap = 0, pos = 0;
    int got = next_row(text, tn, &pos, delim, &hdr, err);
    if (got <= 0) {
        rc = got < 0 ? got : zg_error_set(err, ZG_EINVAL, "row 1", "the file has no header row");
        goto out;
    }
    long pid_col = column_index(&hdr, json_string_value(json_object_get(layout, "patient_id")));
    if (pid_col < 0) {
        rc = zg_error_set(err, ZG_EINVAL, "row 1", "the patient ID column '%s' is missing",
                          json_string_value(json_object_get(layout, "patient_id")));
        goto out;
    }
    json_t *fields = json_object_get(layout, "fields");
    long cols[200];
    for (size_t i = 0; i < json_array_size(fields) && i < 200; i++) {
        const char *cn = json_string_value(json_object_get(json_array_get(fields, i), "column"));
        cols[i] = cn ? column_index(&hdr, cn) : -2;
        if (cols[i] == -1) {
            rc = zg_error_set(err, ZG_EINVAL, "row 1", "mapped column '%.60s' is missing", cn);
            goto out;
        }
    }
    json_t *idcols = json_object_get(layout, "identifiers");
    for (size_t rowno = 2;; rowno++) {
        char where[32];
        snprintf(where, sizeof(where), "row %zu", rowno);
        got = next_row(text, tn, &pos, delim, &r, err);
        if (got < 0) {
            char why[sizeof(err->reason)];
            snprintf(why, sizeof(why), "%s", err->reason);
            rc = zg_error_set(err, got, where, "%s", why);
            goto out;
        }
        if (got == 0)
            break;
        if (r.n == 1 && !r.cell[0][0]) { /* blank line */
            row_free(&r);
            continue;
        }
        if (rowno > CSV_MAX_ROWS) {
            rc = zg_error_set(err, ZG_ETOOBIG, where, "more than %d rows", CSV_MAX_ROWS);
            goto out;
        }
        if (r.n != hdr.n) {
            rc = zg_error_set(err, ZG_EINVAL, where, "has %zu cells, the header has %zu", r.n, hdr.n);
            goto out;
        }
        const char *local = r.cell[pid_col];
        size_t ll = strlen(local);
        bool lok = ll >= 1 && ll <= 64;
        for (size_t i = 0; i < ll; i++)
            lok &= (unsigned char)local[i] >= 0x21 && (unsigned char)local[i] <= 0x7e;
        if (!lok) {
            rc = zg_error_set(err, ZG_EINVAL, where, "patient ID must be 1–64 printable ASCII characters");
            goto out;
        }
        json_t *rec = json_object();
        for (size_t i = 0; i < json_array_size(fields) && i < 200; i++) {
            json_t *rule = json_array_get(fields, i);
            const char *why;
            json_t *v = cell_value(rule, cols[i] >= 0 ? r.cell[cols[i]] : "", &why);
            if (why) {
                json_decref(rec);
                rc = zg_error_set(err, ZG_EINVAL, where, "column '%.60s': %s",
                                  json_string_value(json_object_get(rule, "column")), why);
                goto out;
            }
            if (v && set_pointer(rec, json_string_value(json_object_get(rule, "to")), v)) {
                json_decref(rec);
                rc = zg_error_set(err, ZG_EINVAL, where, "cannot set %s",
                                  json_string_value(json_object_get(rule, "to")));
                goto out;
            }
        }
        if (!json_object_size(rec)) {
            json_decref(rec);
            row_free(&r);
            continue;
        }
        struct zg_gw_idents ids = {0};
        zg_gw_idents_add(&ids, local);
        for (size_t k = 0; k < json_array_size(idcols); k++) {
            long c = column_index(&hdr, json_string_value(json_array_get(idcols, k)));
            if (c >= 0)
                zg_gw_idents_add(&ids, r.cell[c]);
        }
        if (ids.overflow) {
            json_decref(rec);
            rc = zg_error_set(err, ZG_EINVAL, where,
                              "more than %zu identifier columns: too many to de-identify safely",
                              ZG_ARRAY_LEN(ids.v));
            goto out;
        }
        if (zg_gw_deid_scrub(rec, &ids) < 0) {
            json_decref(rec);
            rc = ZG_ENOMEM;
            goto out;
        }
        json_t *errors = json_array();
        struct zg_error ve;
        zg_error_clear(&ve);
        int vrc = zg_clinical_validate(rec, errors, &ve);
        json_decref(errors);
        if (vrc) {
            json_decref(rec);
            rc = zg_error_set(err, ZG_EINVAL, where, "%s: %s", ve.field, ve.reason);
            goto out;
        }
        if (nout == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct zg_gw_record *nv = realloc(out, nc * sizeof(*nv));
            if (!nv) {
                json_decref(rec);
                rc = ZG_ENOMEM;
                goto out;
            }
            out = nv;
            cap = nc;
        }
        struct zg_gw_record *g = &out[nout++];
        memset(g, 0, sizeof(*g));
        snprintf(g->kind, sizeof(g->kind), "csv");
        snprintf(g->local_id, sizeof(g->local_id), "%s", local);
        /* the key covers the layout and the row's cells: the same row exported again is the
         * same record; a corrected row is a new one */
        unsigned char h[ZG_SHA256_LEN];
        struct zg_buf kb;
        zg_buf_init(&kb, 0);
        int kr = zg_buf_adds(&kb, lname);
        for (size_t k = 0; k < r.n && !kr; k++)
            kr = zg_buf_add(&kb, "\x1f", 1) || zg_buf_adds(&kb, r.cell[k]);
        char *body = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS); /* and what it became */
        if (!kr && body)
            kr = zg_buf_add(&kb, "\x1e", 1) || zg_buf_adds(&kb, body);
        free(body);
        zg_sha256(kb.p, kb.len, h);
        zg_buf_release(&kb);
        char hex[ZG_SHA256_HEX];
        zg_hex_encode(h, sizeof(h), hex);
        snprintf(g->idem_key, sizeof(g->idem_key), "csv-%s", hex);
        snprintf(g->source, sizeof(g->source), "csv:%.40s", lname);
        snprintf(g->message_id, sizeof(g->message_id), "%.50s:%zu", filename, rowno);
        g->record = rec;
        row_free(&r);
    }
out:
    row_free(&hdr);
    row_free(&r);
    free(text);
    if (rc) {
        zg_gw_records_free(out, nout);
        return rc == ZG_ENOMEM ? zg_error_set(err, ZG_ENOMEM, "", "out of memory") : rc;
    }
    *recs = out;
    *nrecs = nout;
    return 0;
}
