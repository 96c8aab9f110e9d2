/* Fuzzes the gateway's SS-MIX2 path (src/gateway/): zg_hl7_decode → zg_hl7_parse → the
 * identifiers de-identification collects, and zg_gw_convert_ssmix2 with a small mapping file.
 * No crash, decoded text and every parsed value are valid UTF-8, every converted record is a
 * valid, reloadable UTF-8 JSON record, and none of its strings still holds the patient's name
 * (PID-5) or address (PID-11) components of 3 characters or more. */
#include "fuzz.h"
#include "common/arena.h"
#include "common/compat.h"
#include "common/error.h"
#include "clinical/clinical.h"
#include "gateway/gateway.h"
#include "gateway/hl7.h"

#include <unistd.h>

#define HL7_MAX_INPUT ((size_t)256 << 10) /* well past any real message in the corpus */

/* The mapping of tests/data/ssmix2-extra/mapping.json (drugs by HOT9, OncoTree by ICD-10), so
 * that prescriptions and problems reach the model. */
static const char mapping_json[] =
    "{\"mapping_version\":1,\"drugs\":{\"HOT9\":{"
    "\"900000011\":{\"name\":\"oxaliplatin\",\"atc\":\"L01XA03\"},"
    "\"900000012\":{\"name\":\"capecitabine\",\"atc\":\"L01BC06\"},"
    "\"900000013\":{\"name\":\"osimertinib\",\"atc\":\"L01EB04\"},"
    "\"900000014\":{\"name\":\"pembrolizumab\",\"atc\":\"L01FF02\"},"
    "\"108665201\":{\"name\":\"serrapeptase\"},"
    "\"110626901\":{\"name\":\"cefotiam hexetil\"},"
    "\"100607002\":{\"name\":\"phenytoin\",\"atc\":\"N03AB02\"}}},"
    "\"oncotree\":{\"C18.7\":\"COAD\",\"C34.1\":\"LUAD\",\"C16.9\":\"STAD\",\"C50.9\":\"BRCA\"}}";

static struct zg_gw_mapping *the_mapping(void)
{
    static struct zg_gw_mapping *map;
    static bool tried;
    if (tried)
        return map;
    tried = true;
    char path[] = "/tmp/zg-fuzz-hl7-mapping-XXXXXX";
    int fd = mkstemp(path);
    ZG_FUZZ_CHECK(fd >= 0);
    size_t n = sizeof(mapping_json) - 1;
    ZG_FUZZ_CHECK(write(fd, mapping_json, n) == (ssize_t)n);
    close(fd);
    struct zg_error err;
    zg_error_clear(&err);
    int rc = zg_gw_mapping_load(path, &map, &err);
    unlink(path);
    ZG_FUZZ_CHECK(rc == 0 && map);
    return map;
}

/* Strict UTF-8 (RFC 3629: no overlongs, surrogates or code points past U+10FFFF). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, min = 0x80, c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, min = 0x800, c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, min = 0x10000, c &= 0x07;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            c = (c << 6) | (s[i + k] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

static bool str_ok(const char *s)
{
    return s && utf8_ok((const unsigned char *)s, strlen(s));
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

/* The name and address pieces that must not survive de-identification. */
struct secrets {
    const char *v[512];
    size_t n;
};

static void secrets_add_field(const struct zg_hl7_msg *m, size_t seg, size_t f, size_t maxc,
                              struct secrets *s)
{
    size_t nr = zg_hl7_nreps(m, seg, f);
    for (size_t r = 0; r < nr && r < 16; r++)
        for (size_t c = 1; c <= maxc; c++) {
            const char *v = zg_hl7_get(m, seg, f, r, c, 1);
            if (v && utf8_chars(v) >= 3 && s->n < ZG_ARRAY_LEN(s->v))
                s->v[s->n++] = v;
        }
}

static bool is_alnum_ascii(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* True when t holds id the way deid.c defines an occurrence: Japanese text anywhere, an ASCII
 * letter/digit edge only at a token boundary ("075" is not hidden inside "ORD1075"). */
static bool holds(const char *t, const char *id)
{
    size_t kl = strlen(id);
    for (const char *p = strstr(t, id); p; p = strstr(p + 1, id)) {
        if (is_alnum_ascii(id[0]) && p > t && is_alnum_ascii(p[-1]))
            continue;
        if (is_alnum_ascii(id[kl - 1]) && is_alnum_ascii(p[kl]))
            continue;
        return true;
    }
    return false;
}

static void check_strings(json_t *v, const struct secrets *s)
{
    if (json_is_string(v)) {
        const char *t = json_string_value(v);
        ZG_FUZZ_CHECK(str_ok(t));
        for (size_t i = 0; i < s->n; i++)
            if (holds(t, s->v[i])) {
                fprintf(stderr, "identifier survived de-identification (%zu bytes)\n",
                        strlen(s->v[i]));
                ZG_FUZZ_CHECK(!"PID-5/PID-11 value in converted output");
            }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            check_strings(x, s);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            check_strings(x, s);
        }
    }
}

/* Walks the parsed message through the accessors. */
static void check_parsed(const struct zg_hl7_msg *m, struct secrets *s, bool *overflow)
{
    size_t nseg = zg_hl7_nsegments(m);
    ZG_FUZZ_CHECK(nseg >= 1 && nseg <= ZG_HL7_MAX_SEGMENTS);
    ZG_FUZZ_CHECK(!strcmp(zg_hl7_segment_name(m, 0), "MSH"));
    ZG_FUZZ_CHECK(zg_hl7_segment_name(m, nseg) == NULL);
    for (size_t i = 0; i < nseg && i < 64; i++) {
        const char *name = zg_hl7_segment_name(m, i);
        ZG_FUZZ_CHECK(name && str_ok(name));
        ZG_FUZZ_CHECK(zg_hl7_find(m, name, i) == (long)i);
        for (size_t f = 1; f <= 24; f++) {
            size_t nr = zg_hl7_nreps(m, i, f);
            ZG_FUZZ_CHECK(nr <= ZG_HL7_MAX_REPS);
            for (size_t r = 0; r <= nr && r < 4; r++)
                for (size_t c = 0; c <= 4; c++) {
                    ZG_FUZZ_CHECK(str_ok(zg_hl7_get(m, i, f, r, c, 0)));
                    ZG_FUZZ_CHECK(str_ok(zg_hl7_get(m, i, f, r, c, 1)));
                }
        }
    }
    struct zg_gw_idents ids = {0};
    zg_gw_idents_from_hl7(m, &ids);
    ZG_FUZZ_CHECK(ids.n <= ZG_ARRAY_LEN(ids.v));
    *overflow = ids.overflow;
    for (size_t i = 0; i < ids.n; i++)
        ZG_FUZZ_CHECK(str_ok(ids.v[i]) && strlen(ids.v[i]) >= 2);
    for (long p = zg_hl7_find(m, "PID", 0); p >= 0; p = zg_hl7_find(m, "PID", (size_t)p + 1)) {
        secrets_add_field(m, (size_t)p, 5, 3, s);  /* family, given, middle name */
        secrets_add_field(m, (size_t)p, 11, 9, s); /* address: every component */
    }
}

static void check_records(struct zg_gw_record *recs, size_t nrecs, const struct secrets *s)
{
    ZG_FUZZ_CHECK(nrecs <= 1 && (nrecs == 0 || recs));
    for (size_t i = 0; i < nrecs; i++) {
        struct zg_gw_record *r = &recs[i];
        ZG_FUZZ_CHECK(json_is_object(r->record));
        ZG_FUZZ_CHECK(r->kind[0] && r->local_id[0] && !strncmp(r->idem_key, "ss2-", 4));
        char *out = json_dumps(r->record, JSON_COMPACT | JSON_SORT_KEYS);
        ZG_FUZZ_CHECK(out && utf8_ok((const unsigned char *)out, strlen(out)));
        json_error_t jerr;
        json_t *back = json_loads(out, JSON_REJECT_DUPLICATES, &jerr);
        ZG_FUZZ_CHECK(back && json_equal(back, r->record));
        json_decref(back);
        free(out);
        check_strings(r->record, s);
        struct zg_error err;
        zg_error_clear(&err);
        ZG_FUZZ_CHECK(zg_clinical_validate(r->record, NULL, &err) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > HL7_MAX_INPUT)
        return 0;
    struct zg_gw_mapping *map = the_mapping();
    struct zg_error err;
    zg_error_clear(&err);
    char *text = NULL;
    size_t tlen = 0;
    struct zg_arena *arena = NULL;
    struct secrets s = {0};
    bool parsed = false, overflow = false;
    int rc = zg_hl7_decode((const char *)data, size, &text, &tlen, &err);
    if (rc) {
        ZG_FUZZ_CHECK(rc == ZG_EINVAL || rc == ZG_ETOOBIG);
        ZG_FUZZ_CHECK(err.code == rc && err.reason[0]);
    } else {
        ZG_FUZZ_CHECK(text && text[tlen] == '\0');
        ZG_FUZZ_CHECK(utf8_ok((const unsigned char *)text, tlen));
        /* bounded: no input byte becomes more than one 3-byte UTF-8 character */
        ZG_FUZZ_CHECK(tlen <= 3 * size);
        arena = zg_arena_new(tlen * 8 + (1u << 20));
        ZG_FUZZ_CHECK(arena);
        struct zg_hl7_msg *m = NULL;
        zg_error_clear(&err);
        rc = zg_hl7_parse(arena, text, tlen, &m, &err);
        if (rc) {
            ZG_FUZZ_CHECK(rc == ZG_EINVAL || rc == ZG_ETOOBIG);
            ZG_FUZZ_CHECK(err.code == rc && err.reason[0]);
        } else {
            ZG_FUZZ_CHECK(m);
            parsed = true;
            check_parsed(m, &s, &overflow);
        }
    }

    struct zg_gw_record *recs = NULL;
    size_t nrecs = 0;
    const char *skip = NULL;
    zg_error_clear(&err);
    int crc = zg_gw_convert_ssmix2(map, (const char *)data, size, &recs, &nrecs, &skip, &err);
    if (crc) {
        ZG_FUZZ_CHECK(crc == ZG_EINVAL || crc == ZG_ETOOBIG || crc == ZG_ENOMEM);
        ZG_FUZZ_CHECK(err.code == crc && nrecs == 0 && !recs);
    } else {
        ZG_FUZZ_CHECK(parsed); /* conversion decodes and parses exactly as above */
        ZG_FUZZ_CHECK(nrecs == 1 ? !skip : skip && *skip);
        /* identifiers that did not all fit cannot be scrubbed: such a message is refused */
        ZG_FUZZ_CHECK(nrecs == 0 || !overflow);
        check_records(recs, nrecs, &s);
    }
    zg_gw_records_free(recs, nrecs);
    zg_arena_free(arena);
    free(text);
    return 0;
}
