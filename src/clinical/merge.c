/* Merging a partial record into a stored one (PATCH and bundle entries with mode "merge"):
 * objects member by member (null deletes, RFC 7396), arrays item by item by "id". */
#include "clinical.h"

static bool array_has_equal(json_t *arr, json_t *item)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) if (json_equal(x, item)) return true;
    return false;
}

static json_t *merge_array(json_t *target, json_t *patch)
{
    json_t *out = json_is_array(target) ? json_deep_copy(target) : json_array();
    if (!out)
        return NULL;
    size_t i;
    json_t *item;
    json_array_foreach(patch, i, item)
    {
        const char *id = json_string_value(json_object_get(item, "id"));
        bool done = false;
        if (id) {
            size_t j;
            json_t *x;
            json_array_foreach(out, j, x)
            {
                const char *xid = json_string_value(json_object_get(x, "id"));
                if (xid && !strcmp(xid, id)) {
                    json_array_set(out, j, item);
                    done = true;
                    break;
                }
            }
        }
        if (!done && !array_has_equal(out, item))
            json_array_append(out, item);
    }
    return out;
}

json_t *zg_clinical_merge(json_t *target, json_t *patch)
{
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
    if (!out)
        return NULL;
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v)
    {
        if (json_is_null(v)) {
            json_object_del(out, k);
            continue;
        }
        json_t *cur = json_object_get(out, k);
        json_t *m = json_is_object(v)  ? zg_clinical_merge(cur, v)
                    : json_is_array(v) ? merge_array(cur, v)
                                       : json_incref(v);
        if (!m) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, k, m);
    }
    return out;
}
