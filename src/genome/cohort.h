/* The cohort index: for every gene × alteration class, recurrent variant, cancer type, dataset,
 * organisation and case attribute, the set of cases as a CRoaring bitmap (bit = genome case_no).
 * Snapshots are immutable: a publish writes the next generation under DATA/index/ (a full
 * snapshot cohort-<generation>.zgc, or a delta over the last full one, delta-<generation>.zgd)
 * and points DATA/index/CURRENT at it by a rename; readers keep using the snapshot they hold.
 *
 * Keys ("\t"-separated): "g\tGENE\tCLASS" and "g\tGENE\t*" (any alteration) → cases;
 * "v\tSITE" → cases (site keys, sitekey.h, of variants seen in ≥ 2 cases);
 * "gg\tGENE" → cases with a truncating/splice germline call; "ct\tCODE", "ds\tNAME",
 * "org\tID", "a\tKEY=VALUE" → cases; "p\tsomatic|germline|sv|cnv" → cases profiled so;
 * "cs\tSTATUS" → cases by consent status (zg_consent_name: consented, partially-consented,
 * pending, withdrawn, unrecorded); "all" → every genome case.
 *
 * Case-level sets (ct, ds, org, a, cs, all, the case table) come from the database: the
 * cancer type is the clinical diagnosis (clinical_records.oncotree) when there is one, else
 * genome_cases.cancer_type; the consent status is the clinical record's /consent/status.
 * A snapshot acquired with a database connection carries them as of that connection's view
 * (rebuilt when a clinical record changes), over the gene sets of the published file. */
#ifndef ZG_GENOME_COHORT_H
#define ZG_GENOME_COHORT_H

#include "common/compat.h"
#include "policy/policy.h"
#include "store/datadir.h"
#include <jansson.h>
#include <roaring/roaring.h>
#include <sqlite3.h>

struct zg_error;
struct zg_cohort;
struct zg_cohort_cache;

struct zg_cohort_update_stats {
    int64_t generation;
    int64_t imports_applied;
    int64_t keys;
    int64_t cases;
    int64_t bytes;  /* written by this publish */
    int64_t deltas; /* deltas over the full snapshot after this publish (0: it wrote one) */
    int64_t cases_patched; /* cases whose case-level sets a delta patched; -1: all read again */
    int64_t ms;
};

/* Publishes a new snapshot containing every committed import not yet indexed (incremental: the
 * current snapshot plus the new imports; case-level sets are rebuilt from genome_cases).
 * Serialised between processes by DATA/index/LOCK. Returns 0 or an error. */
int zg_cohort_update(const struct zg_datadir *dd, sqlite3 *db, struct zg_cohort_update_stats *st,
                     struct zg_error *err) ZG_MUST_CHECK;

/* Rebuilds the published snapshot when an earlier zengen wrote it in another format (*rebuilt
 * then true); else nothing. Returns 0 or an error. */
int zg_cohort_upgrade(const struct zg_datadir *dd, sqlite3 *db, bool *rebuilt,
                      struct zg_error *err) ZG_MUST_CHECK;

/* Builds a snapshot from the tables alone (ignores the current one) and publishes it. */
int zg_cohort_rebuild(const struct zg_datadir *dd, sqlite3 *db,
                      struct zg_cohort_update_stats *st, struct zg_error *err) ZG_MUST_CHECK;

/* The current snapshot of dd for this process, loaded on first use and reloaded when a newer
 * generation has been published. With db (a connection to dd's zengen.db, possibly inside
 * the caller's read transaction), the case-level sets are those of the database as db sees
 * it: a clinical change (new clinical_versions row) or a new generation rebuilds them on the
 * next acquire, so a withdrawn consent counts from the next query on; with db NULL, those
 * stored in the file at publish time. The caller holds a reference until zg_cohort_release.
 * With no index published yet, an empty snapshot. Thread-safe; never waits for ingest. */
int zg_cohort_acquire(struct zg_cohort_cache *cc, const struct zg_datadir *dd, sqlite3 *db,
                      struct zg_cohort **out, struct zg_error *err) ZG_MUST_CHECK;

/* The cache zg_cohort_acquire keeps between calls (the server's, in struct zg_app): the loaded
 * snapshot of the current generation and the latest view over it. cc NULL: no caching (each
 * call loads and builds; fine for a CLI command). new returns 0 or ZG_ENOMEM. */
int zg_cohort_cache_new(struct zg_cohort_cache **out) ZG_MUST_CHECK;
void zg_cohort_cache_free(struct zg_cohort_cache *c);
void zg_cohort_release(struct zg_cohort *c);

/* Loads one snapshot file (tests, tools). Free with zg_cohort_release. */
int zg_cohort_load(const char *path, struct zg_cohort **out, struct zg_error *err) ZG_MUST_CHECK;

/* Cancer types of the snapshot in name order (*names, count returned) and, per case_no below
 * zg_cohort_slots, the index of its cancer type in that list (*group_of). */
size_t zg_cohort_cancer_types(const struct zg_cohort *c, const char *const **names,
                              const uint16_t **group_of);

/* The case set of each cancer type, in zg_cohort_cancer_types order (owned by the snapshot;
 * entries never NULL). */
const roaring_bitmap_t *const *zg_cohort_cancer_type_sets(const struct zg_cohort *c);

/* Profiled cases per cancer type, in zg_cohort_cancer_types order (precomputed at load). */
const uint64_t *zg_cohort_profiled_by_type(const struct zg_cohort *c);

/* Cases profiled for somatic, SV or CNV calls (never NULL; owned by the snapshot). */
const roaring_bitmap_t *zg_cohort_profiled(const struct zg_cohort *c);

/* The bitmap of key, or NULL when absent (owned by the snapshot). */
const roaring_bitmap_t *zg_cohort_get(const struct zg_cohort *c, const char *key);

int64_t zg_cohort_generation(const struct zg_cohort *c);
/* The full snapshot a loaded generation is built on (the rest are deltas over it); 0 when none
 * is published. */
int64_t zg_cohort_full_generation(const struct zg_cohort *c);
/* One more than the largest case_no in the snapshot. */
uint32_t zg_cohort_slots(const struct zg_cohort *c);
/* Case id ("" when the slot is unused), cancer type and TMB (mutations/Mb) of a case_no. */
const char *zg_cohort_case_id(const struct zg_cohort *c, uint32_t case_no);
const char *zg_cohort_cancer_type(const struct zg_cohort *c, uint32_t case_no);
float zg_cohort_tmb(const struct zg_cohort *c, uint32_t case_no);

/* Calls fn for each key starting with prefix (order unspecified). */
void zg_cohort_each(const struct zg_cohort *c, const char *prefix,
                    void (*fn)(void *ctx, const char *key, const roaring_bitmap_t *b), void *ctx);

/* --- queries (the "simple analyses") ----------------------------------------------------- */

/* Who may see what: the PDP's permitted case set as one more bitmap, and small-count
 * suppression. Fill with zg_query_scope_init (or by hand for tools), free with
 * zg_query_scope_release. */
struct zg_query_scope {
    const roaring_bitmap_t *permitted; /* NULL: every case; else only these case_no */
    roaring_bitmap_t *owned;           /* permitted when the scope built it (freed by release) */
    int64_t org_id;  /* > 0: the set is restricted to this organisation (noted in answers) */
    uint32_t consent; /* != 0: the set is restricted to these consent statuses (noted) */
    int k_min;       /* > 0: counts 1..k_min-1 are suppressed (ZG_OBL_SUPPRESS_SMALL) */
    bool detailed;   /* case ids may be shown (detailed-genome tier) */
    const char *cancer_type; /* restrict to one cancer type (NULL = all) */
};

/* The scope of a policy decision over c: ZG_OBL_OWN_ORG → the org's cases; ZG_OBL_CONSENT →
 * the union of the "cs\t" sets of decision->consent; both → their intersection;
 * ZG_OBL_OWN_PARTICIPANT → no case (participants never reach cohort queries); none → every
 * case (permitted NULL). ZG_OBL_SUPPRESS_SMALL sets k_min. detailed and cancer_type are left
 * false/NULL. Returns 0 or ZG_ENOMEM; release with zg_query_scope_release either way. */
int zg_query_scope_init(struct zg_query_scope *s, const struct zg_cohort *c,
                        const struct zg_decision *d, struct zg_error *err) ZG_MUST_CHECK;
void zg_query_scope_release(struct zg_query_scope *s);

/* Reusable working memory and result of a gene query (counts only): one per thread, reused
 * across queries so the hot path does not allocate once warm. */
struct zg_gene_counts;
struct zg_gene_counts *zg_gene_counts_new(void);
void zg_gene_counts_free(struct zg_gene_counts *r);

/* The counting part of zg_query_genes into r (same arguments and errors). Returns 0 or an
 * error. r refers to c's group names: render it while holding c. */
int zg_query_genes_count(const struct zg_cohort *c, const char *const *genes, size_t ngenes,
                         const char *by, const char *classes, const struct zg_query_scope *s,
                         struct zg_gene_counts *r, struct zg_error *err) ZG_MUST_CHECK;
/* The JSON answer of counted r (the shape of zg_query_genes), or NULL (out of memory). */
json_t *zg_query_genes_json(const struct zg_gene_counts *r, const struct zg_query_scope *s);

/* Genes altered by group: {genes,by,profiled,altered,percent,groups:[{group,profiled,altered,
 * percent,genes:{G:{altered,percent,classes:{…}}}}],k_min?}. by: "cancer-type" (default),
 * "dataset" or "none". classes: NULL = every alteration class, else a comma list (a gene counts
 * when it has one of those classes; "classes" lists only those). Unknown genes simply count 0.
 * zg_query_genes_count + zg_query_genes_json. ZG_EINVAL for bad input (no genes, > 50 genes, bad class, bad by). */
json_t *zg_query_genes(const struct zg_cohort *c, const char *const *genes, size_t ngenes,
                       const char *by, const char *classes, const struct zg_query_scope *s,
                       struct zg_error *err);

/* Pairwise co-occurrence / mutual exclusivity with a two-sided Fisher exact test:
 * {pairs:[{a,b,neither,a_only,b_only,both,log2_odds_ratio,p_value,tendency}]}. */
json_t *zg_query_cooccurrence(const struct zg_cohort *c, const char *const *genes, size_t ngenes,
                              const struct zg_query_scope *s, struct zg_error *err);

/* OncoPrint matrix: {genes,cases:[{case|null,cancer_type,alterations:{G:[class…]}}],
 * profiled,altered,truncated}; altered cases only, at most max_cases columns. */
json_t *zg_query_oncoprint(const struct zg_cohort *c, const char *const *genes, size_t ngenes,
                           int max_cases, const struct zg_query_scope *s, struct zg_error *err);

/* Recurrent variants of a gene with counts per cancer type (labels from db):
 * {gene,variants:[{site,chrom,pos,ref,alt,hgvsp,class,total,by_cancer_type:{…}}],
 * private_variants}. */
json_t *zg_query_variants(const struct zg_cohort *c, sqlite3 *db, const char *gene, int limit,
                          const struct zg_query_scope *s, struct zg_error *err);

/* TMB (mutations/Mb) distribution per cancer type: {groups:[{group,n,min,q1,median,q3,max,
 * mean,high}],cases?:[{case,cancer_type,tmb}] (detailed only)}. "high" = TMB ≥ 10. */
json_t *zg_query_tmb(const struct zg_cohort *c, const struct zg_query_scope *s,
                     struct zg_error *err);

/* Cohort overview: {cases,profiled:{somatic,germline,sv,cnv},cancer_types:[{code,cases,
 * profiled,median_tmb}],generation}. */
json_t *zg_query_overview(const struct zg_cohort *c, const struct zg_query_scope *s,
                          struct zg_error *err);

/* Two-sided Fisher exact test p-value of the 2×2 table [[a,b],[c,d]] (exposed for tests). */
double zg_fisher_exact(int64_t a, int64_t b, int64_t c, int64_t d);

#endif
