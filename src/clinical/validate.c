/* The model validator: interprets the subset of JSON Schema 2020-12 that the model uses
 * (type, enum, properties, required, additionalProperties:false, items, min/maxItems,
 * min/maxLength, minimum/maximum, pattern, format:date, $ref to #/$defs), then checks what
 * a schema cannot say (OncoTree codes exist, dates are real and in order, stage agrees with M). */
#include "clinical.h"
#include "oncotree.h"
#include "common/error.h"
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>

/* ------------------------------------------------------------------ code systems ---- */

static int oncotree_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct zg_oncotree_entry *)elem)->code);
}

bool zg_oncotree_lookup(const char *code, const char **name, const char **tissue)
{
    if (!code)
        return false;
    const struct zg_oncotree_entry *e =
        bsearch(code, zg_oncotree, zg_oncotree_count, sizeof(zg_oncotree[0]), oncotree_cmp);
    if (!e)
        return false;
    if (name)
        *name = e->name;
    if (tissue)
        *tissue = e->tissue;
    return true;
}

static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool zg_clinical_icd10_ok(const char *s)
{
    if (!s || !is_upper(s[0]) || !is_digit(s[1]) || !is_digit(s[2]))
        return false;
    if (!s[3])
        return true;
    if (s[3] != '.' || !s[4])
        return false;
    size_t n = strlen(s + 4);
    if (n > 2)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[4 + i]) && !is_upper(s[4 + i]))
            return false;
    return true;
}

bool zg_clinical_icdo3_topo_ok(const char *s)
{
    if (!s || s[0] != 'C' || !is_digit(s[1]) || !is_digit(s[2]))
        return false;
    if (!s[3])
        return true;
    return s[3] == '.' && is_digit(s[4]) && !s[5];
}

bool zg_clinical_icdo3_morph_ok(const char *s)
{
    if (!s || strlen(s) != 6 || (s[0] != '8' && s[0] != '9'))
        return false;
    for (int i = 1; i < 4; i++)
        if (!is_digit(s[i]))
            return false;
    return s[4] == '/' && strchr("012369", s[5]) && s[5];
}

bool zg_clinical_date_ok(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !is_digit(s[i]))
            return false;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

/* ------------------------------------------------------------- compiled patterns ---- */

#define MAX_PATTERNS 64

static struct {
    const char *text; /* the schema's string (the parsed schema is immutable) */
    regex_t re;
    bool ok;
} patterns[MAX_PATTERNS];
static size_t npatterns;
static pthread_once_t patterns_once = PTHREAD_ONCE_INIT;

static void collect_patterns(json_t *s)
{
    if (json_is_object(s)) {
        const char *k;
        json_t *v;
        json_object_foreach(s, k, v)
        {
            if (!strcmp(k, "pattern") && json_is_string(v) && npatterns < MAX_PATTERNS) {
                patterns[npatterns].text = json_string_value(v);
                patterns[npatterns].ok =
                    regcomp(&patterns[npatterns].re, json_string_value(v),
                            REG_EXTENDED | REG_NOSUB) == 0;
                npatterns++;
            } else {
                collect_patterns(v);
            }
        }
    } else if (json_is_array(s)) {
        size_t i;
        json_t *v;
        json_array_foreach(s, i, v) collect_patterns(v);
    }
}

static void compile_patterns(void)
{
    json_t *s = zg_clinical_schema();
    if (s)
        collect_patterns(s);
}

/* True when s matches pattern p (a string of the parsed schema). */
static bool pattern_match(const char *p, const char *s)
{
    for (size_t i = 0; i < npatterns; i++)
        if (patterns[i].text == p)
            return patterns[i].ok && regexec(&patterns[i].re, s, 0, NULL, 0) == 0;
    return false; /* a pattern the schema does not hold: never valid */
}

/* ------------------------------------------------------------------- the walker ---- */

#define PTR_MAX 512

struct vctx {
    json_t *defs;
    json_t *errors;
    struct zg_error *err;
    int n;
};

static void verr(struct vctx *v, const char *ptr, const char *fmt, ...) ZG_PRINTF(3, 4);

static void verr(struct vctx *v, const char *ptr, const char *fmt, ...)
{
    char reason[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (v->n == 0 && v->err)
        zg_error_set(v->err, ZG_EINVAL, ptr, "%s", reason);
    if (v->errors && v->n < ZG_CLINICAL_MAX_ERRORS)
        json_array_append_new(v->errors, json_pack("{s:s,s:s}", "pointer", ptr, "reason", reason));
    v->n++;
}

/* Appends "/token" (RFC 6901 escaped) to ptr of length len; returns the new length. */
static size_t ptr_push(char *ptr, size_t len, const char *tok)
{
    if (len + 2 >= PTR_MAX)
        return len;
    ptr[len++] = '/';
    for (const char *t = tok; *t && len + 3 < PTR_MAX; t++) {
        if (*t == '~' || *t == '/') {
            ptr[len++] = '~';
            ptr[len++] = *t == '~' ? '0' : '1';
        } else {
            ptr[len++] = *t;
        }
    }
    ptr[len] = '\0';
    return len;
}

static size_t ptr_push_index(char *ptr, size_t len, size_t i)
{
    char tok[24];
    snprintf(tok, sizeof(tok), "%zu", i);
    return ptr_push(ptr, len, tok);
}

static const char *type_name(json_t *x)
{
    switch (json_typeof(x)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static bool type_ok(const char *t, json_t *x)
{
    if (!strcmp(t, "object")) return json_is_object(x);
    if (!strcmp(t, "array")) return json_is_array(x);
    if (!strcmp(t, "string")) return json_is_string(x);
    if (!strcmp(t, "integer")) return json_is_integer(x);
    if (!strcmp(t, "number")) return json_is_number(x);
    if (!strcmp(t, "boolean")) return json_is_boolean(x);
    if (!strcmp(t, "null")) return json_is_null(x);
    return false;
}

static void walk(struct vctx *v, json_t *s, json_t *x, char *ptr, size_t len, int depth);

static void enum_reason(json_t *en, char *out, size_t outsz)
{
    size_t o = 0, i;
    json_t *e;
    out[0] = '\0';
    json_array_foreach(en, i, e)
    {
        char item[40];
        if (json_is_string(e))
            snprintf(item, sizeof(item), "%s", json_string_value(e));
        else if (json_is_integer(e))
            snprintf(item, sizeof(item), "%lld", (long long)json_integer_value(e));
        else
            continue;
        int n = snprintf(out + o, outsz - o, "%s%s", o ? ", " : "", item);
        if (n < 0 || (size_t)n >= outsz - o) {
            snprintf(out + (outsz > 5 ? outsz - 5 : 0), 5, "…");
            return;
        }
        o += (size_t)n;
    }
}

static void walk(struct vctx *v, json_t *s, json_t *x, char *ptr, size_t len, int depth)
{
    if (!json_is_object(s) || depth > 16)
        return;
    const char *ref = json_string_value(json_object_get(s, "$ref"));
    if (ref) {
        const char *name = !strncmp(ref, "#/$defs/", 8) ? ref + 8 : "";
        json_t *target = json_object_get(v->defs, name);
        walk(v, target, x, ptr, len, depth + 1);
        if (!strcmp(name, "oncotree") && json_is_string(x) &&
            !zg_oncotree_lookup(json_string_value(x), NULL, NULL) &&
            pattern_match(json_string_value(json_object_get(target, "pattern")),
                          json_string_value(x)))
            verr(v, ptr, "is not an OncoTree code (OncoTree 2023-03-09, e.g. LUAD, COAD, BRCA)");
        return;
    }
    json_t *any = json_object_get(s, "anyOf");
    if (json_is_array(any) && json_is_object(x)) {
        bool one = false;
        char names[160] = "";
        size_t i, o = 0;
        json_t *alt;
        json_array_foreach(any, i, alt)
        {
            struct vctx probe = {v->defs, NULL, NULL, 0};
            char p2[PTR_MAX];
            memcpy(p2, ptr, len + 1);
            walk(&probe, alt, x, p2, len, depth + 1);
            one |= probe.n == 0;
            const char *req = json_string_value(json_array_get(json_object_get(alt, "required"), 0));
            if (req && o < sizeof(names)) {
                int n = snprintf(names + o, sizeof(names) - o, "%s%s", o ? ", " : "", req);
                if (n > 0)
                    o += (size_t)n;
            }
        }
        if (!one) {
            verr(v, ptr, "must have at least one of: %s", names);
            return;
        }
    }
    const char *type = json_string_value(json_object_get(s, "type"));
    if (type && !type_ok(type, x)) {
        verr(v, ptr, "must be %s%s, not %s", !strcmp(type, "integer") || !strcmp(type, "array") ||
                                                     !strcmp(type, "object") ? "an " : "a ",
             type, type_name(x));
        return;
    }
    json_t *en = json_object_get(s, "enum");
    if (json_is_array(en)) {
        bool found = false;
        size_t i;
        json_t *e;
        json_array_foreach(en, i, e) found |= json_equal(e, x) != 0;
        if (!found) {
            char list[240];
            enum_reason(en, list, sizeof(list));
            verr(v, ptr, "must be one of: %s", list);
            return;
        }
    }
    if (json_is_string(x)) {
        const char *str = json_string_value(x);
        size_t n = json_string_length(x);
        if (strlen(str) != n) {
            verr(v, ptr, "must not contain NUL characters");
            return;
        }
        /* length in characters (UTF-8 code points), as JSON Schema counts */
        size_t chars = 0;
        for (size_t i = 0; i < n; i++)
            chars += ((unsigned char)str[i] & 0xC0) != 0x80;
        json_t *mn = json_object_get(s, "minLength"), *mx = json_object_get(s, "maxLength");
        if (mn && (json_int_t)chars < json_integer_value(mn))
            verr(v, ptr, "must be at least %lld characters", (long long)json_integer_value(mn));
        else if (mx && (json_int_t)chars > json_integer_value(mx))
            verr(v, ptr, "must be at most %lld characters", (long long)json_integer_value(mx));
        const char *pat = json_string_value(json_object_get(s, "pattern"));
        if (pat && !pattern_match(pat, str)) {
            verr(v, ptr, "has the wrong format (must match %s)", pat);
            return;
        }
        const char *fmt = json_string_value(json_object_get(s, "format"));
        if (fmt && !strcmp(fmt, "date") && !zg_clinical_date_ok(str))
            verr(v, ptr, "is not a calendar date (YYYY-MM-DD between 1900 and 2199)");
    }
    if (json_is_number(x)) {
        double d = json_number_value(x);
        json_t *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum");
        if (mn && d < json_number_value(mn))
            verr(v, ptr, "must be at least %g", json_number_value(mn));
        else if (mx && d > json_number_value(mx))
            verr(v, ptr, "must be at most %g", json_number_value(mx));
    }
    if (json_is_array(x)) {
        json_t *mn = json_object_get(s, "minItems"), *mx = json_object_get(s, "maxItems");
        size_t n = json_array_size(x);
        if (mn && (json_int_t)n < json_integer_value(mn))
            verr(v, ptr, "must have at least %lld items", (long long)json_integer_value(mn));
        if (mx && (json_int_t)n > json_integer_value(mx)) {
            verr(v, ptr, "must have at most %lld items", (long long)json_integer_value(mx));
            return;
        }
        json_t *items = json_object_get(s, "items");
        size_t i;
        json_t *it;
        json_array_foreach(x, i, it)
        {
            size_t l2 = ptr_push_index(ptr, len, i);
            walk(v, items, it, ptr, l2, depth + 1);
            ptr[len] = '\0';
        }
    }
    if (json_is_object(x)) {
        json_t *props = json_object_get(s, "properties");
        json_t *req = json_object_get(s, "required");
        bool closed = json_is_false(json_object_get(s, "additionalProperties"));
        size_t i;
        json_t *r;
        json_array_foreach(req, i, r)
        {
            const char *name = json_string_value(r);
            json_t *m = name ? json_object_get(x, name) : NULL;
            if (!m || json_is_null(m)) {
                ptr_push(ptr, len, name ? name : "");
                verr(v, ptr, "is required");
                ptr[len] = '\0';
            }
        }
        const char *k;
        json_t *m;
        json_object_foreach(x, k, m)
        {
            json_t *ps = json_object_get(props, k);
            size_t l2 = ptr_push(ptr, len, k);
            if (!ps) {
                if (closed)
                    verr(v, ptr, "is not a known field");
            } else {
                walk(v, ps, m, ptr, l2, depth + 1);
            }
            ptr[len] = '\0';
        }
    }
}

/* ------------------------------------------------------------- semantic checks ---- */

static const char *str_at(json_t *o, const char *a, const char *b)
{
    json_t *x = json_object_get(o, a);
    if (b)
        x = json_object_get(x, b);
    return json_string_value(x);
}

/* Dates compare as strings (YYYY-MM-DD). */
static void check_order(struct vctx *v, const char *early, const char *late, const char *ptr,
                        const char *what)
{
    if (early && late && zg_clinical_date_ok(early) && zg_clinical_date_ok(late) &&
        strcmp(late, early) < 0)
        verr(v, ptr, "%s", what);
}

static void check_ids(struct vctx *v, json_t *arr, const char *ptr)
{
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(arr, i, a)
    {
        const char *ia = json_string_value(json_object_get(a, "id"));
        if (!ia)
            continue;
        for (j = i + 1; j < json_array_size(arr); j++) {
            b = json_array_get(arr, j);
            const char *ib = json_string_value(json_object_get(b, "id"));
            if (ib && !strcmp(ia, ib)) {
                char p[PTR_MAX];
                snprintf(p, sizeof(p), "%s/%zu/id", ptr, j);
                verr(v, p, "repeats the id of item %zu", i);
                break;
            }
        }
    }
}

static void semantic(struct vctx *v, json_t *r)
{
    static const char *const arrays[] = {"specimens", "drug_therapies", "surgeries",
                                         "radiotherapies", "adverse_events", "expert_panel"};
    for (size_t i = 0; i < ZG_ARRAY_LEN(arrays); i++) {
        char p[64];
        snprintf(p, sizeof(p), "/%s", arrays[i]);
        check_ids(v, json_object_get(r, arrays[i]), p);
    }
    json_t *bg = json_object_get(r, "background");
    check_ids(v, json_object_get(bg, "comorbidities"), "/background/comorbidities");
    check_ids(v, json_object_get(bg, "family_history"), "/background/family_history");
    json_t *dx = json_object_get(r, "diagnosis");
    check_ids(v, json_object_get(dx, "metastatic_sites"), "/diagnosis/metastatic_sites");

    const char *dxdate = str_at(dx, "date", NULL);
    const char *birth = str_at(r, "patient", "birth_year_month");
    if (birth && dxdate && strlen(birth) == 7 && strncmp(dxdate, birth, 7) < 0)
        verr(v, "/diagnosis/date", "is before the birth year-month");

    json_t *tnm = json_object_get(dx, "tnm");
    const char *m = str_at(tnm, "m", NULL), *stage = str_at(tnm, "stage", NULL);
    if (m && stage && !strncmp(m, "M1", 2) && strncmp(stage, "IV", 2))
        verr(v, "/diagnosis/tnm/stage", "must be a stage IV group when M is %s", m);
    if (m && stage && !strcmp(m, "M0") && !strncmp(stage, "IV", 2) &&
        json_array_size(json_object_get(dx, "metastatic_sites")) == 0)
        verr(v, "/diagnosis/tnm/stage", "is stage IV but M is M0 and no metastatic site is given");

    json_t *ps = json_object_get(dx, "performance_status");
    const char *scale = str_at(ps, "scale", NULL);
    json_int_t psv = json_integer_value(json_object_get(ps, "value"));
    if (scale && !strcmp(scale, "ECOG") && psv > 4)
        verr(v, "/diagnosis/performance_status/value", "ECOG performance status is 0-4");
    if (scale && !strcmp(scale, "KPS") && psv % 10)
        verr(v, "/diagnosis/performance_status/value",
             "Karnofsky performance status is a multiple of 10");

    size_t i;
    json_t *t;
    char p[PTR_MAX];
    json_array_foreach(json_object_get(r, "drug_therapies"), i, t)
    {
        snprintf(p, sizeof(p), "/drug_therapies/%zu/end_date", i);
        check_order(v, str_at(t, "start_date", NULL), str_at(t, "end_date", NULL), p,
                    "is before start_date");
        const char *stop = str_at(t, "stop_reason", NULL);
        if (stop && !strcmp(stop, "ongoing") && json_object_get(t, "end_date"))
            verr(v, p, "must be absent while stop_reason is ongoing");
    }
    json_array_foreach(json_object_get(r, "radiotherapies"), i, t)
    {
        snprintf(p, sizeof(p), "/radiotherapies/%zu/end_date", i);
        check_order(v, str_at(t, "start_date", NULL), str_at(t, "end_date", NULL), p,
                    "is before start_date");
    }
    json_t *course = json_object_get(r, "course");
    const char *vital = str_at(course, "vital_status", NULL);
    const char *death = str_at(course, "death_date", NULL);
    if (death && (!vital || strcmp(vital, "dead")))
        verr(v, "/course/death_date", "is given but vital_status is not dead");
    if (json_object_get(course, "death_cause") && (!vital || strcmp(vital, "dead")))
        verr(v, "/course/death_cause", "is given but vital_status is not dead");
    check_order(v, dxdate, death, "/course/death_date", "is before the diagnosis date");
    check_order(v, dxdate, str_at(course, "last_followup_date", NULL),
                "/course/last_followup_date", "is before the diagnosis date");
    check_order(v, str_at(course, "last_followup_date", NULL), death, "/course/death_date",
                "is before the last follow-up date");
}

int zg_clinical_validate(json_t *record, json_t *errors, struct zg_error *err)
{
    json_t *schema = zg_clinical_schema();
    if (!schema)
        return zg_error_set(err, ZG_EINTERNAL, "", "the clinical schema does not parse");
    pthread_once(&patterns_once, compile_patterns);
    struct vctx v = {json_object_get(schema, "$defs"), errors, err, 0};
    char ptr[PTR_MAX] = "";
    walk(&v, schema, record, ptr, 0, 0);
    if (v.n == 0 && json_is_object(record))
        semantic(&v, record);
    return v.n ? ZG_EINVAL : 0;
}
