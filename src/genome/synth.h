/* Synthetic cohorts: realistic per-cancer-type driver frequencies, hotspots, copy-number
 * changes, fusions and mutation burdens, written as real (bgzipped, indexed) VCF files that are
 * registered and ingested through the normal path. Only synthetic data. */
#ifndef ZG_GENOME_SYNTH_H
#define ZG_GENOME_SYNTH_H

#include "common/compat.h"
#include "store/datadir.h"
#include <sqlite3.h>

struct zg_error;

struct zg_synth_opts {
    int ncases;             /* new cases to create (ignored when use_existing) */
    uint64_t seed;          /* same seed → same cohort */
    int64_t org_id;         /* organisation of new cases */
    const char *dataset;    /* NULL → "synthetic" */
    bool use_existing;      /* give genome data to existing cases without any (demo) */
    int batch;              /* cases per transaction (0 → 250) */
    /* optional: the cancer type (OncoTree code) a case already has elsewhere (the clinical
     * record); the case then gets that type's profile (a generic one for unlisted codes) */
    const char *(*cancer_type_of)(void *ctx, const char *case_id);
    void *cancer_type_ctx;
    /* optional: called for each case inside the cohort's write transaction once its genome is
     * stored, with its cancer type and a per-case seed — the CLI records the case's clinical
     * consent and diagnosis here, so that the permitted case set of research roles (which
     * needs recorded consent) and the cancer type come from the clinical record as in
     * production. A non-zero return aborts the batch. */
    int (*on_case)(void *ctx, sqlite3 *db, const char *case_id, const char *cancer_type,
                   uint64_t seed, struct zg_error *err);
    void *on_case_ctx;
    void (*progress)(void *ctx, int done, int total);
    void *progress_ctx;
};

struct zg_synth_stats {
    int cases;
    int64_t variants, files;
    int64_t ms;
};

/* Generates and ingests a cohort, then rebuilds the cohort index. Returns 0 or an error. */
int zg_synth_cohort(const struct zg_datadir *dd, sqlite3 *db, const struct zg_synth_opts *o,
                    struct zg_synth_stats *st, struct zg_error *err) ZG_MUST_CHECK;

/* Number of built-in cancer types and their OncoTree codes (for tests and docs). */
size_t zg_synth_cancer_types(const char ***codes);

#endif
