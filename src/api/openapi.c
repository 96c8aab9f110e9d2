/* Merges the OpenAPI fragments of each domain into the base document, once. */
#include "api.h"

#include <pthread.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *merged;
static size_t merged_len;

/* Moves every member of src[key] into dst[key]; a name defined twice is an error. */
static int merge_object(json_t *dst, json_t *src, const char *key)
{
    json_t *from = json_object_get(src, key);
    if (!from)
        return 0;
    json_t *to = json_object_get(dst, key);
    if (!to) {
        to = json_object();
        json_object_set_new(dst, key, to);
    }
    const char *k;
    json_t *v;
    json_object_foreach(from, k, v)
    {
        if (json_object_get(to, k))
            return -1;
        json_object_set(to, k, v);
    }
    return 0;
}

static void build(void)
{
    json_error_t je;
    json_t *doc = json_loadb(zg_openapi_json, zg_openapi_json_len, 0, &je);
    if (!doc)
        return;
    for (size_t i = 0; i < zg_openapi_nparts; i++) {
        json_t *part = json_loadb(zg_openapi_parts[i].data, zg_openapi_parts[i].len, 0, &je);
        int bad = !part || merge_object(doc, part, "paths");
        json_t *pc = json_object_get(part, "components");
        if (!bad && pc) {
            json_t *dc = json_object_get(doc, "components");
            if (!dc) {
                dc = json_object();
                json_object_set_new(doc, "components", dc);
            }
            bad = merge_object(dc, pc, "schemas") || merge_object(dc, pc, "parameters") ||
                  merge_object(dc, pc, "responses");
        }
        json_t *tags = json_object_get(part, "tags");
        if (!bad && json_is_array(tags)) {
            json_t *dt = json_object_get(doc, "tags");
            if (json_is_array(dt))
                json_array_extend(dt, tags);
        }
        json_decref(part);
        if (bad) {
            json_decref(doc);
            return;
        }
    }
    merged = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    merged_len = merged ? strlen(merged) : 0;
    json_decref(doc);
}

const char *zg_api_openapi_document(size_t *len)
{
    pthread_once(&once, build);
    if (len)
        *len = merged_len;
    return merged;
}
