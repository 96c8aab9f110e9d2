/* GA4GH Beacon v2 genomic-variant queries over the variant tables (somatic and germline calls
 * per case): sequence, range and gene queries with counts and, for record granularity, the
 * variants with the cases that carry them. */
#ifndef ZG_GENOME_BEACON_H
#define ZG_GENOME_BEACON_H

#include "common/compat.h"
#include <jansson.h>
#include <roaring/roaring.h>
#include <sqlite3.h>

struct zg_error;

struct zg_beacon_query {
    const char *chrom;       /* referenceName ("1", "chr1", "X", "MT"…) or NULL for gene queries */
    int64_t start, end;      /* 0-based half-open; end = -1 for a single position (sequence query) */
    const char *ref, *alt;   /* referenceBases / alternateBases, or NULL */
    const char *gene;        /* geneId, or NULL */
    const char *origin;      /* "somatic", "germline" or NULL for both */
    const roaring_bitmap_t *permitted; /* NULL: every case; else only these genome case_no
                                        * (the PDP's permitted set, zg_query_scope_init) */
    int64_t skip, limit;     /* records page */
};

/* Validates q (ZG_EINVAL with the parameter name in err->field), then counts the distinct
 * matching variants carried by permitted cases and those cases; when records is an array,
 * appends up to q->limit such variants (after q->skip) as Beacon genomicVariations (legacy
 * variation form) with caseLevelData naming permitted cases only.
 * Returns 0, ZG_EINVAL or ZG_EIO. */
int zg_beacon_variants(sqlite3 *db, const struct zg_beacon_query *q, int64_t *n_variants,
                       int64_t *n_cases, json_t *records, struct zg_error *err) ZG_MUST_CHECK;

/* Gene symbols present in the variant tables (for filtering_terms), at most limit. */
json_t *zg_beacon_genes(sqlite3 *db, int limit, struct zg_error *err);

#endif
