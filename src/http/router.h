/* Route matching: method + path against the route table (data, declared in api/). */
#ifndef ZG_ROUTER_H
#define ZG_ROUTER_H

#include "svc/svc.h"

#define ZG_ROUTE_NOT_FOUND (-1)
#define ZG_ROUTE_BAD_METHOD (-2)
#define ZG_PATH_MAX 2048

/* Finds the route for method and path. Path parameters ({name} segments) are copied into the
 * arena and returned through names/values (at most ZG_MAX_PARAMS) and *nparams.
 * Returns the route index, ZG_ROUTE_NOT_FOUND, or ZG_ROUTE_BAD_METHOD when the path exists
 * with other methods only. HEAD matches GET routes. */
int zg_router_match(const struct zg_route *routes, size_t n, const char *method, const char *path,
                    struct zg_arena *arena, const char **names, const char **values,
                    size_t *nparams);

/* Comma-separated methods allowed for path (for the Allow header) into out. */
void zg_router_allowed(const struct zg_route *routes, size_t n, const char *path, char *out,
                       size_t outsz);

#endif
