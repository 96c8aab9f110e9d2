/* Segment-by-segment route matching. */
#include "router.h"

/* Compares path against pattern; on match fills params (if arena given). */
static bool match_path(const char *pattern, const char *path, struct zg_arena *arena,
                       const char **names, const char **values, size_t *np)
{
    size_t n = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return false;
        p++;
        s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p), sl = se ? (size_t)(se - s) : strlen(s);
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (sl == 0 || n >= ZG_MAX_PARAMS)
                return false;
            if (arena) {
                names[n] = zg_arena_strndup(arena, p + 1, pl - 2);
                values[n] = zg_arena_strndup(arena, s, sl);
                if (!names[n] || !values[n])
                    return false;
            }
            n++;
        } else if (pl != sl || memcmp(p, s, pl) != 0) {
            return false;
        }
        p += pl;
        s += sl;
    }
    if (*p || *s)
        return false;
    if (np)
        *np = n;
    return true;
}

int zg_router_match(const struct zg_route *routes, size_t n, const char *method, const char *path,
                    struct zg_arena *arena, const char **names, const char **values,
                    size_t *nparams)
{
    if (!path || path[0] != '/' || strlen(path) > ZG_PATH_MAX)
        return ZG_ROUTE_NOT_FOUND;
    const char *m = !strcmp(method, "HEAD") ? "GET" : method;
    bool path_seen = false;
    for (size_t i = 0; i < n; i++) {
        if (!match_path(routes[i].path, path, NULL, NULL, NULL, NULL))
            continue;
        path_seen = true;
        if (strcmp(routes[i].method, m))
            continue;
        size_t np = 0;
        if (!match_path(routes[i].path, path, arena, names, values, &np))
            return ZG_ROUTE_NOT_FOUND; /* arena exhausted */
        *nparams = np;
        return (int)i;
    }
    return path_seen ? ZG_ROUTE_BAD_METHOD : ZG_ROUTE_NOT_FOUND;
}

void zg_router_allowed(const struct zg_route *routes, size_t n, const char *path, char *out,
                       size_t outsz)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        if (match_path(routes[i].path, path, NULL, NULL, NULL, NULL) && o < outsz)
            o += (size_t)snprintf(out + o, outsz - o, "%s%s", o ? ", " : "", routes[i].method);
}
