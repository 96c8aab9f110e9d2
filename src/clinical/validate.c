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

/* --------------------------------------------------------------- native patterns ---- */

static bool date_shape(const char *s)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !is_digit(s[i]))
            return false;
    return true;
}

static bool oncotree_shape(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 16)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_upper(s[i]) && !is_digit(s[i]) && !strchr("_/-", s[i]))
            return false;
    return true;
}

static bool drug_name_shape(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 100 || !((s[0] >= 'a' && s[0] <= 'z') || is_digit(s[0])))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || is_digit(s[i]) || strchr(" ()/+-", s[i])))
            return false;
    return true;
}

/* The patterns met most often, matched without the regex engine (validation is on the
 * ingest path). Each is exactly equivalent to its regular expression; the unit tests check
 * them against regcomp/regexec. */
static const struct {
    const char *pattern;
    bool (*fn)(const char *s);
} natives[] = {
    {"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", date_shape},
    {"^[A-Z][0-9]{2}([.][0-9A-Z]{1,2})?$", zg_clinical_icd10_ok},
    {"^C[0-9]{2}([.][0-9])?$", zg_clinical_icdo3_topo_ok},
    {"^[89][0-9]{3}/[012369]$", zg_clinical_icdo3_morph_ok},
    {"^[A-Z0-9_/-]{2,16}$", oncotree_shape},
    {"^[a-z0-9][a-z0-9 ()/+-]{1,99}$", drug_name_shape},
};

bool zg_clinical_pattern_native(const char *pattern, const char *s, bool *matched)
{
    for (size_t i = 0; i < ZG_ARRAY_LEN(natives); i++)
        if (!strcmp(natives[i].pattern, pattern)) {
            *matched = natives[i].fn(s);
            return true;
        }
    return false;
}

/* ------------------------------------------------------------------- the walker ---- */

#define PTR_MAX 512

struct vctx {
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

/* ------------------------------------------------------------ compiled schema ---- */

/* The schema is compiled once into this tree, so that validating a value costs no hash
 * lookups in the schema (validation is on the ingest path). */
enum stype { T_ANY, T_OBJECT, T_ARRAY, T_STRING, T_INTEGER, T_NUMBER, T_BOOLEAN, T_NULL };

struct snode {
    struct snode *ref; /* resolved "$ref" (the model uses $ref without siblings) */
    bool oncotree;     /* the $ref was #/$defs/oncotree: the code must exist */
    enum stype type;
    const char *type_text;
    json_t *en; /* enum (borrowed from the parsed schema) */
    bool has_minlen, has_maxlen, has_min, has_max, has_minitems, has_maxitems;
    json_int_t minlen, maxlen, minitems, maxitems;
    double min, max;
    const char *pattern;
    bool (*native)(const char *s);
    regex_t re;
    bool re_ok;
    bool date;
    struct snode *items;
    size_t nprops;
    const char **prop_names;
    struct snode **props;
    size_t nreq;
    const char **req;
    bool closed;
    size_t nany;
    struct snode **any;
    char any_names[160];
};

#define MAX_DEFS 32
static struct {
    const char *name;
    struct snode *node;
} defs[MAX_DEFS];
static size_t ndefs;
static struct snode *root;
static pthread_once_t compile_once = PTHREAD_ONCE_INIT;
static bool compile_failed;

static struct snode *compile(json_t *s, json_t *defs_json, int depth);

static struct snode *def_node(const char *name, json_t *defs_json, int depth)
{
    for (size_t i = 0; i < ndefs; i++)
        if (!strcmp(defs[i].name, name))
            return defs[i].node;
    json_t *d = json_object_get(defs_json, name);
    if (!d || ndefs == MAX_DEFS) {
        compile_failed = true;
        return NULL;
    }
    size_t slot = ndefs++;
    defs[slot].name = name;
    defs[slot].node = NULL;
    defs[slot].node = compile(d, defs_json, depth + 1);
    return defs[slot].node;
}

static struct snode *compile(json_t *s, json_t *defs_json, int depth)
{
    if (!json_is_object(s) || depth > 32)
        return NULL;
    struct snode *n = calloc(1, sizeof(*n));
    if (!n) {
        compile_failed = true;
        return NULL;
    }
    const char *ref = json_string_value(json_object_get(s, "$ref"));
    if (ref) {
        const char *name = !strncmp(ref, "#/$defs/", 8) ? ref + 8 : "";
        n->ref = def_node(name, defs_json, depth);
        n->oncotree = !strcmp(name, "oncotree");
        if (!n->ref)
            compile_failed = true;
        return n;
    }
    static const struct {
        const char *name;
        enum stype t;
    } types[] = {{"object", T_OBJECT},   {"array", T_ARRAY},     {"string", T_STRING},
                 {"integer", T_INTEGER}, {"number", T_NUMBER},   {"boolean", T_BOOLEAN},
                 {"null", T_NULL}};
    const char *t = json_string_value(json_object_get(s, "type"));
    for (size_t i = 0; t && i < ZG_ARRAY_LEN(types); i++)
        if (!strcmp(t, types[i].name)) {
            n->type = types[i].t;
            n->type_text = types[i].name;
        }
    n->en = json_object_get(s, "enum");
    json_t *x;
#define NUM(key, has, field, conv)                                                             \
    if ((x = json_object_get(s, key))) {                                                       \
        n->has = true;                                                                         \
        n->field = conv(x);                                                                    \
    }
    NUM("minLength", has_minlen, minlen, json_integer_value)
    NUM("maxLength", has_maxlen, maxlen, json_integer_value)
    NUM("minItems", has_minitems, minitems, json_integer_value)
    NUM("maxItems", has_maxitems, maxitems, json_integer_value)
    NUM("minimum", has_min, min, json_number_value)
    NUM("maximum", has_max, max, json_number_value)
#undef NUM
    n->pattern = json_string_value(json_object_get(s, "pattern"));
    if (n->pattern) {
        for (size_t i = 0; i < ZG_ARRAY_LEN(natives); i++)
            if (!strcmp(natives[i].pattern, n->pattern))
                n->native = natives[i].fn;
        if (!n->native)
            n->re_ok = regcomp(&n->re, n->pattern, REG_EXTENDED | REG_NOSUB) == 0;
        if (!n->native && !n->re_ok)
            compile_failed = true;
    }
    const char *fmt = json_string_value(json_object_get(s, "format"));
    n->date = fmt && !strcmp(fmt, "date");
    if ((x = json_object_get(s, "items")))
        n->items = compile(x, defs_json, depth + 1);
    json_t *props = json_object_get(s, "properties");
    if (json_object_size(props)) {
        n->nprops = json_object_size(props);
        n->prop_names = calloc(n->nprops, sizeof(*n->prop_names));
        n->props = calloc(n->nprops, sizeof(*n->props));
        if (!n->prop_names || !n->props) {
            compile_failed = true;
            return n;
        }
        size_t i = 0;
        const char *k;
        json_t *v;
        json_object_foreach(props, k, v)
        {
            n->prop_names[i] = k;
            n->props[i] = compile(v, defs_json, depth + 1);
            i++;
        }
    }
    json_t *req = json_object_get(s, "required");
    if (json_array_size(req)) {
        n->nreq = json_array_size(req);
        n->req = calloc(n->nreq, sizeof(*n->req));
        if (!n->req) {
            compile_failed = true;
            return n;
        }
        for (size_t i = 0; i < n->nreq; i++)
            n->req[i] = json_string_value(json_array_get(req, i));
    }
    n->closed = json_is_false(json_object_get(s, "additionalProperties"));
    json_t *any = json_object_get(s, "anyOf");
    if (json_array_size(any)) {
        n->nany = json_array_size(any);
        n->any = calloc(n->nany, sizeof(*n->any));
        if (!n->any) {
            compile_failed = true;
            return n;
        }
        size_t o = 0;
        for (size_t i = 0; i < n->nany; i++) {
            json_t *alt = json_array_get(any, i);
            n->any[i] = compile(alt, defs_json, depth + 1);
            const char *r = json_string_value(json_array_get(json_object_get(alt, "required"), 0));
            if (r && o < sizeof(n->any_names)) {
                int w = snprintf(n->any_names + o, sizeof(n->any_names) - o, "%s%s",
                                 o ? ", " : "", r);
                if (w > 0)
                    o += (size_t)w;
            }
        }
    }
    return n;
}

static void compile_schema(void)
{
    json_t *s = zg_clinical_schema();
    if (!s) {
        compile_failed = true;
        return;
    }
    root = compile(s, json_object_get(s, "$defs"), 0);
    if (!root)
        compile_failed = true;
}

static bool type_ok(enum stype t, json_t *x)
{
    switch (t) {
    case T_ANY: return true;
    case T_OBJECT: return json_is_object(x);
    case T_ARRAY: return json_is_array(x);
    case T_STRING: return json_is_string(x);
    case T_INTEGER: return json_is_integer(x);
    case T_NUMBER: return json_is_number(x);
    case T_BOOLEAN: return json_is_boolean(x);
    case T_NULL: return json_is_null(x);
    }
    return false;
}

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
            snprintf(out + (outsz > 5 ? outsz - 5 : 0), 5, "...");
            return;
        }
        o += (size_t)n;
    }
}

static bool pattern_ok(const struct snode *n, const char *str)
{
    return n->native ? n->native(str) : n->re_ok && regexec(&n->re, str, 0, NULL, 0) == 0;
}

static void walk(struct vctx *v, const struct snode *s, json_t *x, char *ptr, size_t len,
                 int depth)
{
    if (!s || depth > 32)
        return;
    if (s->ref) {
        walk(v, s->ref, x, ptr, len, depth + 1);
        if (s->oncotree && json_is_string(x) && pattern_ok(s->ref, json_string_value(x)) &&
            !zg_oncotree_lookup(json_string_value(x), NULL, NULL))
            verr(v, ptr, "is not an OncoTree code (OncoTree 2023-03-09, e.g. LUAD, COAD, BRCA)");
        return;
    }
    if (s->nany && json_is_object(x)) {
        bool one = false;
        for (size_t i = 0; i < s->nany && !one; i++) {
            struct vctx probe = {NULL, NULL, 0};
            char p2[PTR_MAX];
            memcpy(p2, ptr, len + 1);
            walk(&probe, s->any[i], x, p2, len, depth + 1);
            one = probe.n == 0;
        }
        if (!one) {
            verr(v, ptr, "must have at least one of: %s", s->any_names);
            return;
        }
    }
    if (!type_ok(s->type, x)) {
        verr(v, ptr, "must be %s %s, not %s",
             s->type == T_INTEGER || s->type == T_ARRAY || s->type == T_OBJECT ? "an" : "a",
             s->type_text, type_name(x));
        return;
    }
    if (s->en) {
        bool found = false;
        size_t i;
        json_t *e;
        json_array_foreach(s->en, i, e) if (json_equal(e, x))
        {
            found = true;
            break;
        }
        if (!found) {
            char list[240];
            enum_reason(s->en, list, sizeof(list));
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
        if (s->has_minlen || s->has_maxlen) {
            /* length in characters (UTF-8 code points), as JSON Schema counts */
            size_t chars = 0;
            for (size_t i = 0; i < n; i++)
                chars += ((unsigned char)str[i] & 0xC0) != 0x80;
            if (s->has_minlen && (json_int_t)chars < s->minlen)
                verr(v, ptr, "must be at least %lld characters", (long long)s->minlen);
            else if (s->has_maxlen && (json_int_t)chars > s->maxlen)
                verr(v, ptr, "must be at most %lld characters", (long long)s->maxlen);
        }
        if (s->pattern && !pattern_ok(s, str)) {
            verr(v, ptr, "has the wrong format (must match %s)", s->pattern);
            return;
        }
        if (s->date && !zg_clinical_date_ok(str))
            verr(v, ptr, "is not a calendar date (YYYY-MM-DD between 1900 and 2199)");
    }
    if (json_is_number(x) && (s->has_min || s->has_max)) {
        double d = json_number_value(x);
        if (s->has_min && d < s->min)
            verr(v, ptr, "must be at least %g", s->min);
        else if (s->has_max && d > s->max)
            verr(v, ptr, "must be at most %g", s->max);
    }
    if (json_is_array(x)) {
        size_t n = json_array_size(x);
        if (s->has_minitems && (json_int_t)n < s->minitems)
            verr(v, ptr, "must have at least %lld items", (long long)s->minitems);
        if (s->has_maxitems && (json_int_t)n > s->maxitems) {
            verr(v, ptr, "must have at most %lld items", (long long)s->maxitems);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            size_t l2 = ptr_push_index(ptr, len, i);
            walk(v, s->items, json_array_get(x, i), ptr, l2, depth + 1);
            ptr[len] = '\0';
        }
    }
    if (json_is_object(x)) {
        for (size_t i = 0; i < s->nreq; i++) {
            json_t *m = s->req[i] ? json_object_get(x, s->req[i]) : NULL;
            if (!m || json_is_null(m)) {
                ptr_push(ptr, len, s->req[i] ? s->req[i] : "");
                verr(v, ptr, "is required");
                ptr[len] = '\0';
            }
        }
        const char *k;
        json_t *m;
        json_object_foreach(x, k, m)
        {
            const struct snode *ps = NULL;
            bool known = false;
            for (size_t i = 0; i < s->nprops; i++)
                if (!strcmp(s->prop_names[i], k)) {
                    ps = s->props[i];
                    known = true;
                    break;
                }
            size_t l2 = ptr_push(ptr, len, k);
            if (!known) {
                if (s->closed)
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
    pthread_once(&compile_once, compile_schema);
    if (compile_failed)
        return zg_error_set(err, ZG_EINTERNAL, "", "the clinical schema could not be compiled");
    struct vctx v = {errors, err, 0};
    char ptr[PTR_MAX] = "";
    walk(&v, root, record, ptr, 0, 0);
    if (v.n == 0 && json_is_object(record))
        semantic(&v, record);
    return v.n ? ZG_EINVAL : 0;
}
