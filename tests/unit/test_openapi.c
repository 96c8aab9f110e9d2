/* Unit test of the embedded OpenAPI document against the route table (src/api): every route
 * is documented with its method, public routes declare `security: []`, protected ones do not,
 * and the document describes no operation the server does not route. */
#include "testutil.h"

#include "api/api.h"

#include <ctype.h>
#include <jansson.h>

static const char *const http_methods[] = {"get", "put", "post", "delete", "options",
                                           "head", "patch", "trace"};

static json_t *load_doc(void)
{
    json_error_t je;
    size_t doclen = 0;
    const char *text = zg_api_openapi_document(&doclen);
    assert_non_null(text);
    json_t *doc = json_loadb(text, doclen, 0, &je);
    if (!doc)
        fail_msg("embedded openapi.json does not parse: line %d column %d: %s", je.line,
                 je.column, je.text);
    return doc;
}

static void lower(const char *in, char *out, size_t outsz)
{
    size_t i = 0;
    for (; in[i] && i + 1 < outsz; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static void document_shape(void **state)
{
    (void)state;
    json_t *doc = load_doc();
    const char *v = json_string_value(json_object_get(doc, "openapi"));
    assert_non_null(v);
    assert_int_equal(strncmp(v, "3.1", 3), 0);
    assert_true(json_is_object(json_object_get(doc, "paths")));
    assert_true(json_object_size(json_object_get(doc, "paths")) > 0);
    assert_true(zg_api_nroutes > 0);
    json_decref(doc);
}

static void every_route_documented(void **state)
{
    (void)state;
    json_t *doc = load_doc();
    json_t *paths = json_object_get(doc, "paths");
    json_t *global = json_object_get(doc, "security");
    char problems[8192] = "";
    size_t o = 0;
    int bad = 0;
    for (size_t i = 0; i < zg_api_nroutes; i++) {
        const struct zg_route *r = &zg_api_routes[i];
        char m[16];
        lower(r->method, m, sizeof(m));
        json_t *item = json_object_get(paths, r->path);
        json_t *op = item ? json_object_get(item, m) : NULL;
        const char *why = NULL;
        if (!item)
            why = "path missing from openapi.json";
        else if (!json_is_object(op))
            why = "method missing under this path in openapi.json";
        else {
            json_t *sec = json_object_get(op, "security");
            bool empty = json_is_array(sec) && json_array_size(sec) == 0;
            if (r->tier == ZG_TIER_PUBLIC && !empty)
                why = "public route must declare \"security\": []";
            else if (r->tier != ZG_TIER_PUBLIC && empty)
                why = "protected route declares \"security\": [] (documented as public)";
            else if (r->tier != ZG_TIER_PUBLIC && !sec &&
                     !(json_is_array(global) && json_array_size(global) > 0))
                why = "protected route has no security requirement (none global either)";
        }
        if (why) {
            bad++;
            if (o < sizeof(problems))
                o += (size_t)snprintf(problems + o, sizeof(problems) - o, "\n  %s %s: %s",
                                      r->method, r->path, why);
        }
    }
    json_decref(doc);
    if (bad)
        fail_msg("%d route(s) do not match openapi.json:%s", bad, problems);
}

static void no_undocumented_extras(void **state)
{
    (void)state;
    json_t *doc = load_doc();
    json_t *paths = json_object_get(doc, "paths");
    char problems[8192] = "";
    size_t o = 0;
    int bad = 0;
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item)
    {
        bool path_known = false;
        for (size_t i = 0; i < zg_api_nroutes; i++)
            path_known |= !strcmp(zg_api_routes[i].path, path);
        if (!path_known) {
            bad++;
            if (o < sizeof(problems))
                o += (size_t)snprintf(problems + o, sizeof(problems) - o,
                                      "\n  %s: documented but not in the route table", path);
            continue;
        }
        for (size_t k = 0; k < ZG_ARRAY_LEN(http_methods); k++) {
            if (!json_object_get(item, http_methods[k]))
                continue;
            bool found = false;
            for (size_t i = 0; i < zg_api_nroutes; i++) {
                char m[16];
                lower(zg_api_routes[i].method, m, sizeof(m));
                if (!strcmp(zg_api_routes[i].path, path) && !strcmp(m, http_methods[k]))
                    found = true;
            }
            if (!found) {
                bad++;
                if (o < sizeof(problems))
                    o += (size_t)snprintf(problems + o, sizeof(problems) - o,
                                          "\n  %s %s: documented but not routed",
                                          http_methods[k], path);
            }
        }
    }
    json_decref(doc);
    if (bad)
        fail_msg("%d openapi.json entr(ies) missing from the route table:%s", bad, problems);
}

static void route_table_sane(void **state)
{
    (void)state;
    /* no duplicate method+path, every path absolute, every route has an action and handler */
    for (size_t i = 0; i < zg_api_nroutes; i++) {
        const struct zg_route *r = &zg_api_routes[i];
        assert_non_null(r->handler);
        assert_non_null(r->action);
        assert_true(r->action[0] != '\0');
        assert_int_equal(r->path[0], '/');
        assert_true((unsigned)r->tier < ZG_TIER__COUNT);
        for (size_t j = i + 1; j < zg_api_nroutes; j++)
            if (!strcmp(r->method, zg_api_routes[j].method) &&
                !strcmp(r->path, zg_api_routes[j].path))
                fail_msg("route %s %s is declared twice", r->method, r->path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(document_shape),
        cmocka_unit_test(every_route_documented),
        cmocka_unit_test(no_undocumented_extras),
        cmocka_unit_test(route_table_sane),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
