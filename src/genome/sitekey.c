/* Contig codes for site keys (sitekey.h). */
#include "genome/sitekey.h"
#include "common/error.h"
#include "store/db.h"
#include <stdlib.h>
#include <string.h>

struct zg_contigs {
    struct contig {
        char *name;
        int code;
    } * v;
    size_t n, cap;
    int max_code;
    size_t last; /* index of the last name looked up: imports go contig by contig */
};

static int push(struct zg_contigs *c, const char *name, int code)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        struct contig *v = realloc(c->v, cap * sizeof(*v));
        if (!v)
            return ZG_ENOMEM;
        c->v = v;
        c->cap = cap;
    }
    if (!(c->v[c->n].name = strdup(name)))
        return ZG_ENOMEM;
    c->v[c->n++].code = code;
    if (code > c->max_code)
        c->max_code = code;
    return 0;
}

int zg_contigs_load(sqlite3 *db, struct zg_contigs **out, struct zg_error *err)
{
    *out = NULL;
    struct zg_contigs *c = calloc(1, sizeof(*c));
    if (!c)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    sqlite3_stmt *st = zg_db_prepare(db, "SELECT code, name FROM genome_contigs", err);
    if (!st) {
        free(c);
        return err->code;
    }
    int r, rc = 0;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW)
        if (push(c, zg_db_text(st, 1), sqlite3_column_int(st, 0)))
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    if (!rc && r != SQLITE_DONE)
        rc = zg_db_fail(db, r, err);
    zg_db_release(st);
    if (rc) {
        zg_contigs_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int zg_contigs_code(struct zg_contigs *c, sqlite3 *db, const char *name, bool add, int *code,
                    struct zg_error *err)
{
    *code = 0;
    if (c->last < c->n && !strcmp(c->v[c->last].name, name)) {
        *code = c->v[c->last].code;
        return 0;
    }
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->v[i].name, name)) {
            c->last = i;
            *code = c->v[i].code;
            return 0;
        }
    if (!add)
        return 0;
    if (c->max_code >= ZG_SITE_MAX_CODE)
        return zg_error_set(err, ZG_EINVAL, "chrom", "more than %d distinct contig names",
                            ZG_SITE_MAX_CODE);
    sqlite3_stmt *st =
        zg_db_prepare(db, "INSERT INTO genome_contigs(code, name) VALUES(?, ?)", err);
    if (!st)
        return err->code;
    sqlite3_bind_int(st, 1, c->max_code + 1);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    zg_db_release(st);
    if (r != SQLITE_DONE)
        return zg_db_fail(db, r, err);
    if (push(c, name, c->max_code + 1))
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    c->last = c->n - 1;
    *code = c->max_code;
    return 0;
}

void zg_contigs_free(struct zg_contigs *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].name);
    free(c->v);
    free(c);
}
