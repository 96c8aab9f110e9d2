/* Unit tests of src/http/router: matching method + path against a route table, path
 * parameters, 404 versus 405, HEAD served by GET routes, the Allow list, and bad paths. */
#include "testutil.h"

#include "common/arena.h"
#include "http/router.h"

static const struct zg_route routes[] = {
    {"GET", "/healthz", "system.health", "system", ZG_TIER_PUBLIC, 0, NULL, 0},
    {"GET", "/api/v1/cases", "case.list", "case", ZG_TIER_DETAILED_CLINICAL, 0, NULL, 0},
    {"POST", "/api/v1/cases", "case.create", "case", ZG_TIER_DETAILED_CLINICAL, 0, NULL, 0},
    {"GET", "/api/v1/cases/{id}", "case.read", "case", ZG_TIER_DETAILED_CLINICAL, 0, NULL, 0},
    {"POST", "/api/v1/cases/{id}/specimens", "specimen.create", "specimen",
     ZG_TIER_DETAILED_CLINICAL, 0, NULL, 0},
    {"DELETE", "/api/v1/me/sessions/{id}", "me.sessions.revoke", "session", ZG_TIER_SELF, 0, NULL,
     0},
    {"GET", "/api/v1/a/{x}/b/{y}", "two.params", "x", ZG_TIER_SELF, 0, NULL, 0},
    {"GET", "/api/v1/users/me", "user.me", "user", ZG_TIER_SELF, 0, NULL, 0},
    {"GET", "/api/v1/users/{login}", "user.read", "user", ZG_TIER_ADMIN, 0, NULL, 0},
};
#define NR ZG_ARRAY_LEN(routes)

struct m {
    struct zg_arena *arena;
    const char *names[ZG_MAX_PARAMS], *values[ZG_MAX_PARAMS];
    size_t np;
};

static int match(struct m *m, const char *method, const char *path)
{
    memset(m->names, 0, sizeof(m->names));
    memset(m->values, 0, sizeof(m->values));
    m->np = 99;
    return zg_router_match(routes, NR, method, path, m->arena, m->names, m->values, &m->np);
}

static int setup(void **state)
{
    struct m *m = calloc(1, sizeof(*m));
    m->arena = zg_arena_new(0);
    *state = m;
    return 0;
}

static int teardown(void **state)
{
    struct m *m = *state;
    zg_arena_free(m->arena);
    free(m);
    return 0;
}

static void exact_matches(void **state)
{
    struct m *m = *state;
    assert_int_equal(match(m, "GET", "/healthz"), 0);
    assert_int_equal(m->np, 0);
    assert_int_equal(match(m, "GET", "/api/v1/cases"), 1);
    assert_int_equal(match(m, "POST", "/api/v1/cases"), 2);
    /* a literal route wins over a parameter route declared after it */
    assert_int_equal(match(m, "GET", "/api/v1/users/me"), 7);
    assert_int_equal(match(m, "GET", "/api/v1/users/sato"), 8);
    assert_string_equal(m->values[0], "sato");
}

static void params(void **state)
{
    struct m *m = *state;
    assert_int_equal(match(m, "GET", "/api/v1/cases/ZGC-7K3M-9QX2R"), 3);
    assert_int_equal(m->np, 1);
    assert_string_equal(m->names[0], "id");
    assert_string_equal(m->values[0], "ZGC-7K3M-9QX2R");
    assert_int_equal(match(m, "POST", "/api/v1/cases/ZGC-1/specimens"), 4);
    assert_int_equal(m->np, 1);
    assert_string_equal(m->values[0], "ZGC-1");
    assert_int_equal(match(m, "GET", "/api/v1/a/one/b/two"), 6);
    assert_int_equal(m->np, 2);
    assert_string_equal(m->names[0], "x");
    assert_string_equal(m->values[0], "one");
    assert_string_equal(m->names[1], "y");
    assert_string_equal(m->values[1], "two");
    /* a parameter is one whole, non-empty segment */
    assert_int_equal(match(m, "GET", "/api/v1/cases/"), ZG_ROUTE_NOT_FOUND);
    assert_int_equal(match(m, "GET", "/api/v1/cases/a/b"), ZG_ROUTE_NOT_FOUND);
    assert_int_equal(match(m, "GET", "/api/v1/a//b/two"), ZG_ROUTE_NOT_FOUND);
    assert_int_equal(match(m, "POST", "/api/v1/cases//specimens"), ZG_ROUTE_NOT_FOUND);
    /* values are copies in the arena, not pointers into the request path */
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/cases/ABC");
    assert_int_equal(match(m, "GET", path), 3);
    path[14] = 'X';
    assert_string_equal(m->values[0], "ABC");
}

static void not_found_vs_bad_method(void **state)
{
    struct m *m = *state;
    assert_int_equal(match(m, "GET", "/nope"), ZG_ROUTE_NOT_FOUND);
    assert_int_equal(match(m, "GET", "/api/v1"), ZG_ROUTE_NOT_FOUND);
    assert_int_equal(match(m, "GET", "/api/v1/cases/x/specimens"), ZG_ROUTE_BAD_METHOD);
    assert_int_equal(match(m, "DELETE", "/api/v1/cases"), ZG_ROUTE_BAD_METHOD);
    assert_int_equal(match(m, "PUT", "/healthz"), ZG_ROUTE_BAD_METHOD);
    assert_int_equal(match(m, "GET", "/api/v1/me/sessions/5"), ZG_ROUTE_BAD_METHOD);
    assert_int_equal(match(m, "DELETE", "/api/v1/me/sessions/5"), 5);
    /* methods are case-sensitive tokens */
    assert_int_equal(match(m, "get", "/healthz"), ZG_ROUTE_BAD_METHOD);
    /* trailing slashes, doubled slashes, case differences and missing leading slash */
    assert_int_equal(match(m, "GET", "/healthz/"), ZG_ROUTE_NOT_FOUND);
    assert_int_equal(match(m, "GET", "//healthz"), ZG_ROUTE_NOT_FOUND);
    assert_int_equal(match(m, "GET", "/HEALTHZ"), ZG_ROUTE_NOT_FOUND);
    assert_int_equal(match(m, "GET", "healthz"), ZG_ROUTE_NOT_FOUND);
    assert_int_equal(match(m, "GET", ""), ZG_ROUTE_NOT_FOUND);
    assert_int_equal(match(m, "GET", "/"), ZG_ROUTE_NOT_FOUND);
    assert_int_equal(match(m, "GET", NULL), ZG_ROUTE_NOT_FOUND);
    assert_int_equal(match(m, "GET", "/healthz?x=1"), ZG_ROUTE_NOT_FOUND);
}

static void head_is_get(void **state)
{
    struct m *m = *state;
    assert_int_equal(match(m, "HEAD", "/healthz"), 0);
    assert_int_equal(match(m, "HEAD", "/api/v1/cases/abc"), 3);
    assert_string_equal(m->values[0], "abc");
    /* HEAD on a path without GET is a bad method, not a match of another method */
    assert_int_equal(match(m, "HEAD", "/api/v1/me/sessions/5"), ZG_ROUTE_BAD_METHOD);
}

static void long_paths(void **state)
{
    struct m *m = *state;
    size_t n = ZG_PATH_MAX + 100;
    char *p = malloc(n + 1);
    memcpy(p, "/api/v1/cases/", 14);
    memset(p + 14, 'a', n - 14);
    p[n] = '\0';
    assert_int_equal(match(m, "GET", p), ZG_ROUTE_NOT_FOUND);
    /* a parameter just within the limit still matches */
    p[ZG_PATH_MAX] = '\0';
    assert_int_equal(match(m, "GET", p), 3);
    assert_int_equal(strlen(m->values[0]), ZG_PATH_MAX - 14);
    /* many segments */
    for (size_t i = 0; i < ZG_PATH_MAX; i++)
        p[i] = i % 2 ? 'x' : '/';
    p[ZG_PATH_MAX] = '\0';
    assert_int_equal(match(m, "GET", p), ZG_ROUTE_NOT_FOUND);
    free(p);
    /* an exhausted arena never yields half-filled parameters */
    struct zg_arena *small = zg_arena_new(16);
    const char *names[ZG_MAX_PARAMS], *values[ZG_MAX_PARAMS];
    size_t np = 0;
    int rc = zg_router_match(routes, NR, "GET", "/api/v1/a/0123456789abcdef/b/0123456789abcdef",
                             small, names, values, &np);
    assert_int_equal(rc, ZG_ROUTE_NOT_FOUND);
    zg_arena_free(small);
}

static void allowed(void **state)
{
    (void)state;
    char out[128];
    zg_router_allowed(routes, NR, "/api/v1/cases", out, sizeof(out));
    assert_string_equal(out, "GET, POST");
    zg_router_allowed(routes, NR, "/api/v1/cases/ZGC-1/specimens", out, sizeof(out));
    assert_string_equal(out, "POST");
    zg_router_allowed(routes, NR, "/nope", out, sizeof(out));
    assert_string_equal(out, "");
    char tiny[5];
    zg_router_allowed(routes, NR, "/api/v1/cases", tiny, sizeof(tiny));
    assert_true(strlen(tiny) < sizeof(tiny));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(exact_matches), T(params), T(not_found_vs_bad_method), T(head_is_get),
        T(long_paths),    T(allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
