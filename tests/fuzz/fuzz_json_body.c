/* Fuzzes the JSON request-body path of the server: json_loadb with JSON_REJECT_DUPLICATES
 * (as src/http/server.c does), then, for an object, the body helpers of src/svc/svc.h with
 * the field lists of the real handlers, every member through each helper, and zg_id_parse on
 * every string member. Checks the helpers' contracts (svc.h) rather than just "no crash". */
#include "fuzz.h"
#include "common/arena.h"
#include "common/error.h"
#include "ids/ids.h"
#include "svc/svc.h"

#define BODY_MAX_INPUT (64u << 10) /* above every route's max_body but the 1 MiB default */

/* The body schemas of the API handlers (src/api/): allowed members and their reads. */
enum kind { STR, INT, LIST };
struct field {
    const char *name;
    enum kind kind;
    bool required;
    size_t maxlen; /* STR */
    int64_t min, max; /* INT */
};
struct schema {
    const char *const allowed[6];
    struct field fields[5];
};

static const struct schema schemas[] = {
    {{"login", "password", "totp", "recovery_code", NULL},
     {{"login", STR, true, 64, 0, 0},
      {"password", STR, true, 256, 0, 0},
      {"totp", STR, false, 6, 0, 0},
      {"recovery_code", STR, false, 32, 0, 0}}},
    {{"name", "type", NULL}, {{"name", STR, true, 120, 0, 0}, {"type", STR, true, 16, 0, 0}}},
    {{"login", "role", "org", "mfa", NULL},
     {{"login", STR, true, 63, 0, 0}, {"role", STR, true, 32, 0, 0}, {"org", STR, true, 120, 0, 0}}},
    {{"local_patient_id", "project", NULL},
     {{"local_patient_id", STR, true, 64, 0, 0}, {"project", STR, false, 32, 0, 0}}},
    {{"participant_id", "org", NULL},
     {{"participant_id", STR, false, 32, 0, 0}, {"org", STR, false, 120, 0, 0}}},
    {{"type", NULL}, {{"type", STR, true, 32, 0, 0}}},
    {{"name", "scopes", "expires_in_days", NULL},
     {{"name", STR, true, 63, 0, 0},
      {"scopes", LIST, false, 0, 0, 0},
      {"expires_in_days", INT, false, 0, 1, 365}}},
    {{"totp", NULL}, {{"totp", STR, true, 6, 0, 0}}},
    {{"current_password", "new_password", NULL},
     {{"current_password", STR, true, 256, 0, 0}, {"new_password", STR, true, 256, 0, 0}}},
};

/* A failed helper reports ZG_EINVAL (ZG_ETOOBIG when the arena is full) with the member's
 * JSON Pointer and a reason. */
static void check_error(int rc, const struct zg_error *err, const char *name)
{
    ZG_FUZZ_CHECK(rc == ZG_EINVAL || rc == ZG_ETOOBIG);
    ZG_FUZZ_CHECK(err->code == rc && err->reason[0]);
    char ptr[128];
    snprintf(ptr, sizeof(ptr), "/%s", name);
    ZG_FUZZ_CHECK(!strcmp(err->field, ptr));
}

static void read_string(struct zg_req *req, const char *name, bool required, size_t maxlen)
{
    struct zg_error err;
    zg_error_clear(&err);
    static const char untouched[] = "untouched";
    const char *out = untouched;
    json_t *v = json_object_get(req->body, name);
    int rc = zg_body_string(req, name, required, maxlen, &out, &err);
    if (rc) {
        check_error(rc, &err, name);
        return;
    }
    if (!v || json_is_null(v)) {
        ZG_FUZZ_CHECK(!required && out == untouched);
        return;
    }
    ZG_FUZZ_CHECK(json_is_string(v) && out == json_string_value(v));
    size_t n = strlen(out);
    ZG_FUZZ_CHECK(n == json_string_length(v)); /* no embedded NUL gets through */
    ZG_FUZZ_CHECK(!maxlen || n <= maxlen);
    ZG_FUZZ_CHECK(!required || n > 0);
}

static void read_int(struct zg_req *req, const char *name, bool required, int64_t min,
                     int64_t max)
{
    struct zg_error err;
    zg_error_clear(&err);
    int64_t out = INT64_C(0x5a5a5a5a5a5a5a5a);
    json_t *v = json_object_get(req->body, name);
    int rc = zg_body_int(req, name, required, min, max, &out, &err);
    if (rc) {
        check_error(rc, &err, name);
        return;
    }
    if (!v || json_is_null(v)) {
        ZG_FUZZ_CHECK(!required && out == INT64_C(0x5a5a5a5a5a5a5a5a));
        return;
    }
    ZG_FUZZ_CHECK(json_is_integer(v) && out == json_integer_value(v));
    ZG_FUZZ_CHECK(out >= min && out <= max);
}

static void read_list(struct zg_req *req, const char *name, bool required)
{
    struct zg_error err;
    zg_error_clear(&err);
    const char *out = NULL;
    json_t *v = json_object_get(req->body, name);
    int rc = zg_body_string_list(req, name, required, &out, &err);
    if (rc) {
        check_error(rc, &err, name);
        return;
    }
    if (!v || json_is_null(v)) {
        ZG_FUZZ_CHECK(!required && out == NULL);
        return;
    }
    ZG_FUZZ_CHECK(json_is_array(v) && out != NULL);
    /* the result is exactly the items joined with ',' */
    size_t o = 0, i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        size_t n = json_string_length(x);
        if (i) {
            ZG_FUZZ_CHECK(out[o] == ',');
            o++;
        }
        ZG_FUZZ_CHECK(memcmp(out + o, json_string_value(x), n) == 0);
        ZG_FUZZ_CHECK(!memchr(json_string_value(x), ',', n));
        o += n;
    }
    ZG_FUZZ_CHECK(out[o] == '\0');
    ZG_FUZZ_CHECK(strlen(out) == o); /* what a C-string consumer sees is the whole list */
}

static void read_id(const char *text)
{
    enum zg_id_kind kind;
    char canon[ZG_ID_LEN];
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_id_parse(text, &kind, canon, &err) == 0)
        ZG_FUZZ_CHECK(strlen(canon) == ZG_ID_LEN - 1 && canon[2] == (char)kind);
    else
        ZG_FUZZ_CHECK(err.code == ZG_EINVAL);
}

static void run_schema(struct zg_req *req, const struct schema *s)
{
    struct zg_error err;
    zg_error_clear(&err);
    int rc = zg_body_only(req, s->allowed, &err);
    /* zg_body_only accepts exactly the bodies whose members are all allowed */
    bool all_known = true;
    const char *key;
    json_t *v;
    json_object_foreach(req->body, key, v)
    {
        bool ok = false;
        for (size_t i = 0; s->allowed[i]; i++)
            ok |= !strcmp(s->allowed[i], key);
        all_known &= ok;
    }
    ZG_FUZZ_CHECK((rc == 0) == all_known);
    if (rc) {
        ZG_FUZZ_CHECK(rc == ZG_EINVAL && err.field[0] == '/' && err.reason[0]);
        return;
    }
    for (size_t i = 0; i < ZG_ARRAY_LEN(s->fields) && s->fields[i].name; i++) {
        const struct field *f = &s->fields[i];
        if (f->kind == STR)
            read_string(req, f->name, f->required, f->maxlen);
        else if (f->kind == INT)
            read_int(req, f->name, f->required, f->min, f->max);
        else
            read_list(req, f->name, f->required);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > BODY_MAX_INPUT)
        return 0;
    json_error_t je;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (!body) {
        ZG_FUZZ_CHECK(strlen(je.text) < sizeof(je.text));
        return 0;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    struct zg_arena *arena = zg_arena_new(1u << 20);
    if (!arena) {
        json_decref(body);
        return 0;
    }
    struct zg_req req;
    memset(&req, 0, sizeof(req));
    req.arena = arena;
    req.method = "POST";
    req.path = "/fuzz";
    req.body = body;

    for (size_t i = 0; i < ZG_ARRAY_LEN(schemas); i++)
        run_schema(&req, &schemas[i]);

    /* every member through every helper, and every string member as an ID */
    const char *key;
    json_t *v;
    size_t k = 0;
    json_object_foreach(body, key, v)
    {
        if (k++ >= 64)
            break;
        if (strlen(key) < 100) { /* the helpers' pointer buffer holds "/" + 126 bytes */
            read_string(&req, key, k & 1, k & 2 ? 8 : 0);
            read_int(&req, key, k & 1, k & 4 ? INT64_MIN : -5, k & 4 ? INT64_MAX : 5);
            read_list(&req, key, k & 1);
        }
        if (json_is_string(v))
            read_id(json_string_value(v));
    }
    zg_arena_free(arena);
    json_decref(body);
    return 0;
}
