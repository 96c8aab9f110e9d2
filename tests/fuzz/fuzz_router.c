/* Fuzzes route matching (src/http/router.c) over the real route table (src/api/routes.c).
 * Input: "METHOD PATH" (method up to the first space or newline; no separator → GET); the
 * path ends at the first NUL or newline, as a request target would. Checks that the match is
 * the first route whose pattern and method fit, that the parameters rebuild the path exactly,
 * and that the Allow list agrees with the result. */
#include "fuzz.h"
#include "api/api.h"
#include "common/arena.h"
#include "http/router.h"

#define ROUTER_MAX_INPUT (ZG_PATH_MAX + 64)

/* Rebuilds a path from pattern with {name} segments replaced by values[] in order; checks
 * the names on the way. Returns false if out is too small or a name does not match. */
static bool rebuild(const char *pattern, const char *const *names, const char *const *values,
                    size_t np, char *out, size_t outsz)
{
    size_t o = 0, k = 0;
    const char *p = pattern;
    while (*p) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            ZG_FUZZ_CHECK(e != NULL);
            if (k >= np || strlen(names[k]) != (size_t)(e - p - 1) ||
                memcmp(names[k], p + 1, (size_t)(e - p - 1)) != 0)
                return false;
            size_t n = strlen(values[k++]);
            if (o + n >= outsz)
                return false;
            memcpy(out + o, values[k - 1], n);
            o += n;
            p = e + 1;
        } else {
            if (o + 1 >= outsz)
                return false;
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return k == np;
}

static bool pattern_fits(size_t i, const char *path, struct zg_arena *arena)
{
    const char *names[ZG_MAX_PARAMS], *values[ZG_MAX_PARAMS];
    size_t np = 0;
    /* a one-route table answers whether this pattern alone fits the path */
    int rc = zg_router_match(&zg_api_routes[i], 1, zg_api_routes[i].method, path, arena, names,
                             values, &np);
    return rc == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > ROUTER_MAX_INPUT)
        return 0;
    char buf[ROUTER_MAX_INPUT + 1];
    memcpy(buf, data, size);
    buf[size] = '\0';

    const char *method = "GET", *path = buf;
    char *sep = strpbrk(buf, " \n");
    if (sep && *sep == ' ') {
        *sep = '\0';
        method = buf;
        path = sep + 1;
    }
    char *nl = strchr(path, '\n');
    if (nl)
        *nl = '\0';

    struct zg_arena *arena = zg_arena_new(1u << 20);
    if (!arena)
        return 0;
    const char *names[ZG_MAX_PARAMS] = {0}, *values[ZG_MAX_PARAMS] = {0};
    size_t np = 99;
    int rc = zg_router_match(zg_api_routes, zg_api_nroutes, method, path, arena, names, values,
                             &np);
    const char *m = !strcmp(method, "HEAD") ? "GET" : method;
    bool valid_path = path[0] == '/' && strlen(path) <= ZG_PATH_MAX;

    char allow[512], tiny[8];
    zg_router_allowed(zg_api_routes, zg_api_nroutes, path, allow, sizeof(allow));
    zg_router_allowed(zg_api_routes, zg_api_nroutes, path, tiny, sizeof(tiny));
    ZG_FUZZ_CHECK(strlen(allow) < sizeof(allow) && strlen(tiny) < sizeof(tiny));
    zg_router_allowed(zg_api_routes, zg_api_nroutes, path, tiny, 1);
    ZG_FUZZ_CHECK(tiny[0] == '\0');

    if (rc >= 0) {
        ZG_FUZZ_CHECK((size_t)rc < zg_api_nroutes);
        ZG_FUZZ_CHECK(valid_path);
        const struct zg_route *r = &zg_api_routes[rc];
        ZG_FUZZ_CHECK(!strcmp(r->method, m));
        ZG_FUZZ_CHECK(np <= ZG_MAX_PARAMS);
        for (size_t i = 0; i < np; i++) {
            ZG_FUZZ_CHECK(names[i] && names[i][0]);
            ZG_FUZZ_CHECK(values[i] && values[i][0] && !strchr(values[i], '/'));
        }
        char again[ZG_PATH_MAX + 1];
        ZG_FUZZ_CHECK(rebuild(r->path, names, values, np, again, sizeof(again)));
        ZG_FUZZ_CHECK(!strcmp(again, path));
        /* the first fitting route wins: none before it has this method and fits */
        for (int i = 0; i < rc; i++)
            ZG_FUZZ_CHECK(strcmp(zg_api_routes[i].method, m) || !pattern_fits((size_t)i, path,
                                                                               arena));
        /* the matched method is listed in Allow */
        ZG_FUZZ_CHECK(strstr(allow, r->method) != NULL);
    } else if (rc == ZG_ROUTE_BAD_METHOD) {
        ZG_FUZZ_CHECK(valid_path);
        ZG_FUZZ_CHECK(allow[0] != '\0');
        for (size_t i = 0; i < zg_api_nroutes; i++)
            ZG_FUZZ_CHECK(strcmp(zg_api_routes[i].method, m) || !pattern_fits(i, path, arena));
    } else {
        ZG_FUZZ_CHECK(rc == ZG_ROUTE_NOT_FOUND);
        /* with a roomy arena, not found means no pattern fits */
        if (valid_path)
            ZG_FUZZ_CHECK(allow[0] == '\0');
    }
    zg_arena_free(arena);
    return 0;
}
