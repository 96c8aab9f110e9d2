/* De-identification at the hospital: the converters copy only whitelisted model fields; this
 * file collects the patient's direct identifiers from the message and scrubs any that still
 * appear in free text, together with phone-number and postal-code shaped runs. */
#include "gateway/gateway.h"
#include "gateway/hl7.h"
#include "common/buf.h"
#include "common/error.h"

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

void zg_gw_idents_add(struct zg_gw_idents *ids, const char *s)
{
    if (!s || !*s)
        return;
    bool ascii = true;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p >= 0x80)
            ascii = false;
    /* short ASCII pieces ("L", "PI", "JP") are codes, not identifiers; a single kanji would
     * erase that character from every diagnosis text */
    if (utf8_chars(s) < (ascii ? 3u : 2u))
        return;
    for (size_t i = 0; i < ids->n; i++)
        if (!strcmp(ids->v[i], s))
            return;
    if (ids->n >= ZG_ARRAY_LEN(ids->v)) {
        ids->overflow = true;
        return;
    }
    ids->v[ids->n++] = s;
}

/* Adds every component 1..maxc of every repetition of field f of every segment named seg. */
static void add_field(const struct zg_hl7_msg *m, const char *seg, size_t f, size_t maxc,
                      struct zg_gw_idents *ids)
{
    for (long i = zg_hl7_find(m, seg, 0); i >= 0; i = zg_hl7_find(m, seg, (size_t)i + 1)) {
        size_t nr = zg_hl7_nreps(m, (size_t)i, f);
        for (size_t r = 0; r < nr && r < 16; r++) {
            if (maxc == 0) {
                zg_gw_idents_add(ids, zg_hl7_get(m, (size_t)i, f, r, 0, 0));
                continue;
            }
            for (size_t c = 1; c <= maxc; c++)
                zg_gw_idents_add(ids, zg_hl7_get(m, (size_t)i, f, r, c, 1));
        }
    }
}

/* Adds a telephone field (XTN): the number (component 1), the e-mail (4) and the
 * unformatted number (12). */
static void add_phone(const struct zg_hl7_msg *m, const char *seg, size_t f,
                      struct zg_gw_idents *ids)
{
    for (long i = zg_hl7_find(m, seg, 0); i >= 0; i = zg_hl7_find(m, seg, (size_t)i + 1)) {
        size_t nr = zg_hl7_nreps(m, (size_t)i, f);
        for (size_t r = 0; r < nr && r < 16; r++) {
            zg_gw_idents_add(ids, zg_hl7_get(m, (size_t)i, f, r, 1, 1));
            zg_gw_idents_add(ids, zg_hl7_get(m, (size_t)i, f, r, 4, 1));
            zg_gw_idents_add(ids, zg_hl7_get(m, (size_t)i, f, r, 12, 1));
        }
    }
}

void zg_gw_idents_from_hl7(const struct zg_hl7_msg *m, struct zg_gw_idents *ids)
{
    add_field(m, "PID", 2, 1, ids);  /* patient ID (older messages) */
    add_field(m, "PID", 3, 1, ids);  /* patient identifier list */
    add_field(m, "PID", 4, 1, ids);  /* alternate ID */
    add_field(m, "PID", 5, 3, ids);  /* names: family, given, middle (kanji and kana) */
    add_field(m, "PID", 6, 3, ids);  /* mother's maiden name */
    add_field(m, "PID", 7, 1, ids);  /* birth date, in full */
    add_field(m, "PID", 9, 3, ids);  /* alias */
    add_field(m, "PID", 11, 9, ids); /* addresses: street … postal code, every component */
    add_phone(m, "PID", 13, ids);
    add_phone(m, "PID", 14, ids);
    add_field(m, "PID", 19, 1, ids); /* SSN-like numbers */
    add_field(m, "PID", 20, 1, ids); /* driver's licence */
    add_field(m, "NK1", 2, 3, ids);  /* next of kin */
    add_field(m, "NK1", 4, 9, ids);
    add_phone(m, "NK1", 5, ids);
    add_phone(m, "NK1", 6, ids);
    add_field(m, "NK1", 13, 1, ids); /* organisation (employer) */
    add_field(m, "IN1", 16, 3, ids); /* insured's name, birth date, address, policy numbers */
    add_field(m, "IN1", 18, 1, ids);
    add_field(m, "IN1", 19, 9, ids);
    add_field(m, "IN1", 36, 1, ids);
    add_field(m, "IN1", 49, 1, ids);
    add_field(m, "ZI1", 10, 1, ids); /* SS-MIX2 insurance: card symbol, number, birth, address */
    add_field(m, "ZI1", 11, 1, ids);
    add_field(m, "ZI1", 18, 1, ids);
    add_field(m, "ZI1", 19, 9, ids);
    /* the birth date is also written YYYY-MM-DD in converted text */
    for (long i = zg_hl7_find(m, "PID", 0); i >= 0; i = zg_hl7_find(m, "PID", (size_t)i + 1)) {
        const char *b = zg_hl7_val(m, (size_t)i, 7, 1);
        if (strlen(b) >= 8) {
            char iso[11];
            snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2s", b, b + 4, b + 6);
            /* copy into the message's arena (the text holds no escape characters) */
            zg_gw_idents_add(ids, zg_hl7_unescape(m, iso, strlen(iso)));
        }
    }
}

int zg_gw_deid_birth(const char *hl7, char out[8])
{
    out[0] = '\0';
    for (int i = 0; i < 6; i++)
        if (!(hl7[i] >= '0' && hl7[i] <= '9'))
            return ZG_EINVAL;
    int month = (hl7[4] - '0') * 10 + (hl7[5] - '0');
    if (month < 1 || month > 12)
        return ZG_EINVAL;
    snprintf(out, 8, "%.4s-%.2s", hl7, hl7 + 4);
    return 0;
}

static bool isdig(char c)
{
    return c >= '0' && c <= '9';
}

static bool isalnum_ascii(char c)
{
    return isdig(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Length of a phone/postal-shaped run starting at s (0 when none): groups of digits joined by
 * '-' where either (a) there are ≥ 2 hyphens, the first digit is 0 and 9–11 digits in total,
 * (b) the whole run is ddd-dddd (a postal code), or (c) 10–11 digits starting with 0. */
static size_t phone_run(const char *s)
{
    size_t i = 0, digits = 0, hyph = 0, g0 = 0, g1 = 0;
    while (isdig(s[i]) || (s[i] == '-' && i > 0 && isdig(s[i - 1]) && isdig(s[i + 1]))) {
        if (s[i] == '-')
            hyph++;
        else {
            digits++;
            if (hyph == 0)
                g0++;
            else if (hyph == 1)
                g1++;
        }
        i++;
    }
    if (!i)
        return 0;
    if (hyph >= 2 && s[0] == '0' && digits >= 9 && digits <= 11)
        return i;
    if (hyph == 1 && g0 == 3 && g1 == 4)
        return i;
    if (hyph == 0 && s[0] == '0' && digits >= 10 && digits <= 11)
        return i;
    return 0;
}

bool zg_gw_looks_like_phone(const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        if (i > 0 && (isdig(s[i - 1]) || s[i - 1] == '-'))
            continue; /* only at the start of a run */
        if (phone_run(s + i))
            return true;
    }
    return false;
}

/* Scrubs one string; returns the number of replacements and the new text in *out (malloc'd)
 * or NULL when nothing changed. */
static int scrub_string(const char *s, const struct zg_gw_idents *ids, char **out)
{
    struct zg_buf b;
    zg_buf_init(&b, 0);
    int n = 0;
    size_t i = 0, len = strlen(s);
    while (i < len) {
        size_t hit = 0;
        for (size_t k = 0; k < ids->n; k++) {
            const char *id = ids->v[k];
            size_t kl = strlen(id);
            if (kl <= hit || kl > len - i || memcmp(s + i, id, kl))
                continue;
            /* an ID made of letters and digits matches whole tokens only ("1234567890" is
             * not hidden inside order number "123456789012345"); Japanese text has no word
             * boundaries, so names match anywhere */
            if (isalnum_ascii(id[0]) && i > 0 && isalnum_ascii(s[i - 1]))
                continue;
            if (isalnum_ascii(id[kl - 1]) && isalnum_ascii(s[i + kl]))
                continue;
            hit = kl;
        }
        if (!hit && (i == 0 || !(isdig(s[i - 1]) || s[i - 1] == '-')))
            hit = phone_run(s + i);
        if (hit) {
            if (zg_buf_adds(&b, "***")) {
                zg_buf_release(&b);
                return ZG_ENOMEM;
            }
            i += hit;
            n++;
            continue;
        }
        if (zg_buf_add(&b, s + i, 1)) {
            zg_buf_release(&b);
            return ZG_ENOMEM;
        }
        i++;
    }
    if (n == 0) {
        zg_buf_release(&b);
        *out = NULL;
        return 0;
    }
    *out = zg_buf_detach(&b, NULL);
    return *out ? n : ZG_ENOMEM;
}

int zg_gw_deid_scrub(json_t *v, const struct zg_gw_idents *ids)
{
    int total = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            if (json_is_string(x)) {
                char *o = NULL;
                int n = scrub_string(json_string_value(x), ids, &o);
                if (n < 0)
                    return n;
                if (o) {
                    json_object_set_new(v, k, json_string(o));
                    free(o);
                }
                total += n;
            } else {
                int n = zg_gw_deid_scrub(x, ids);
                if (n < 0)
                    return n;
                total += n;
            }
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *x = json_array_get(v, i);
            if (json_is_string(x)) {
                char *o = NULL;
                int n = scrub_string(json_string_value(x), ids, &o);
                if (n < 0)
                    return n;
                if (o) {
                    json_array_set_new(v, i, json_string(o));
                    free(o);
                }
                total += n;
            } else {
                int n = zg_gw_deid_scrub(x, ids);
                if (n < 0)
                    return n;
                total += n;
            }
        }
    }
    return total;
}
