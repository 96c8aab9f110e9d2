/* Site keys: the number of a distinct variant (genome_sites.site_no) is built from where it
 * is, so finding a site, or the sites of a region, is one integer range in one B-tree:
 *
 *   site_no = contig code << 49 | position << 19 | ordinal
 *
 * The contig code (1..16383) comes from genome_contigs (1–22, X = 23, Y = 24, MT = 25 fixed;
 * other contigs numbered on first sight); the position is 1-based (< 2^30); the ordinal tells
 * apart the distinct ref/alt pairs at one position (0 for the first seen, then 1, 2, …). */
#ifndef ZG_GENOME_SITEKEY_H
#define ZG_GENOME_SITEKEY_H

#include "common/compat.h"
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

struct zg_error;

#define ZG_SITE_ORD_BITS 19
#define ZG_SITE_POS_BITS 30
#define ZG_SITE_MAX_ORD ((INT64_C(1) << ZG_SITE_ORD_BITS) - 1)
#define ZG_SITE_MAX_POS ((INT64_C(1) << ZG_SITE_POS_BITS) - 1)
#define ZG_SITE_MAX_CODE 16383

/* The key of ordinal ord at 1-based pos on the contig with this code. */
static inline int64_t zg_site_key(int code, int64_t pos, int64_t ord)
{
    return ((int64_t)code << (ZG_SITE_POS_BITS + ZG_SITE_ORD_BITS)) | (pos << ZG_SITE_ORD_BITS) |
           ord;
}

/* The contig codes of a database, cached (a few hundred names at most in practice). */
struct zg_contigs;

/* Loads genome_contigs. Returns 0 or an error. */
int zg_contigs_load(sqlite3 *db, struct zg_contigs **out, struct zg_error *err) ZG_MUST_CHECK;

/* The code of a normalised contig name; a name not yet known gets the next free code (written
 * with db, inside the caller's transaction) when add is true, else *code is 0. */
int zg_contigs_code(struct zg_contigs *c, sqlite3 *db, const char *name, bool add, int *code,
                    struct zg_error *err) ZG_MUST_CHECK;

void zg_contigs_free(struct zg_contigs *c);

#endif
