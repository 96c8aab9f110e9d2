/* Sequencing QC: coverage from BAM/CRAM in one streaming pass (per-contig difference arrays over a
 * sliding window, no pileup), tumour/normal identity by genotype concordance at common SNP sites,
 * pipeline metrics (GA4GH WGS QC metric names) and configurable QC gates with pass/fail/why.
 * Results are JSON documents kept under DATA/qc/<case id>/ (see docs/qc.md). */
#ifndef ZG_GENOME_QC_H
#define ZG_GENOME_QC_H

#include "common/compat.h"
#include "store/datadir.h"
#include <jansson.h>

struct zg_error;

struct zg_qc_cov_opts {
    int threads;           /* BGZF/CRAM decoding threads (0 = none) */
    int min_mapq;          /* reads below this mapping quality do not count (default 0) */
    const char *ref_fasta; /* CRAM reference, or NULL (only needed for reference-less CRAMs) */
    /* called at each contig and every 2^20 reads; returning true stops the pass (ZG_ECANCELED) */
    bool (*progress)(void *ctx, const char *contig, int64_t reads); /* or NULL */
    void *progress_ctx;
};

/* Computes coverage of the alignment file at path (coordinate-sorted BAM or CRAM), counting
 * aligned bases (CIGAR M/=/X) of reads that are mapped, primary, not QC-failed and not
 * duplicates (like mosdepth's defaults; overlapping mates are not de-duplicated).
 * Memory: one window per contig that grows only with the longest read span.
 * *out = {"file_format","scope":"autosomes"|"all contigs","raw_reads","pct_reads_mapped",
 *  "pct_reads_properly_paired","pct_reads_duplicate","mean_autosome_coverage",
 *  "median_autosome_coverage","pct_autosomes_10x","pct_autosomes_15x","pct_autosomes_30x",
 *  "contigs":[{"name","length","mean_depth","pct_10x","pct_30x"}],"seconds"}
 * ("autosome" fields cover 1–22/chr1–chr22 when present, else every contig; scope says which).
 * Returns 0, ZG_EINVAL (not an alignment file, not coordinate-sorted), ZG_EIO. */
int zg_qc_coverage(const char *path, const struct zg_qc_cov_opts *o, json_t **out,
                   struct zg_error *err) ZG_MUST_CHECK;

struct zg_qc_identity_opts {
    const char *sites_vcf;  /* biallelic SNVs to genotype (e.g. common SNPs), or NULL to
                             * discover heterozygous sites in the normal */
    int max_sites;          /* default 5000 */
    int min_depth;          /* default 8 */
    double min_concordance; /* default 0.8 */
    int min_sites;          /* fewer compared sites → "insufficient" (default 20) */
};

/* Genotypes the tumour and normal files (BAM/CRAM, indexed) at the same sites and compares:
 * *out = {"sites_compared","concordant","concordance","verdict":"match"|"mismatch"|
 * "insufficient","reason"}. Returns 0, ZG_EINVAL, ZG_EIO. */
int zg_qc_identity(const char *tumour, const char *tumour_ref, const char *normal,
                   const char *normal_ref, const struct zg_qc_identity_opts *o, json_t **out,
                   struct zg_error *err) ZG_MUST_CHECK;

/* QC gates: {"tumour_min_mean_coverage":120,"normal_min_mean_coverage":30,
 * "rna_min_reads":20000000,"min_identity_concordance":0.8}, overridable by DATA/qc/gates.json.
 * Returns a new reference. */
json_t *zg_qc_gates(const struct zg_datadir *dd);

/* Stores a result document of a case: kind "coverage-<file id>", "metrics-<role>" or
 * "identity" under DATA/qc/<case id>/<kind>.json (written atomically). Returns 0 or ZG_EIO. */
int zg_qc_store(const struct zg_datadir *dd, const char *case_id, const char *kind,
                const json_t *doc, struct zg_error *err) ZG_MUST_CHECK;

/* Stores a coverage result of a registered file (CLI and API job alike): sets "file_id" and,
 * when given, "role" in res, and stores it as "coverage-<file id>" of the file's case. */
int zg_qc_store_coverage(const struct zg_datadir *dd, const char *case_id, const char *file_id,
                         const char *role, json_t *res, struct zg_error *err) ZG_MUST_CHECK;

/* Builds the QC view of a case: every stored document and, for each gate, pass/fail/pending
 * with the reason: {"case_id","gates":[{"gate","sample","status","why","value","threshold"}],
 * "overall":"pass"|"fail"|"pending","coverage":[…],"metrics":{…},"identity":…}.
 * Returns a new reference or NULL (err set) on I/O failure. */
json_t *zg_qc_case(const struct zg_datadir *dd, const char *case_id, struct zg_error *err);

/* The sample role of a free-text specimen type: "tumour", "normal", "rna" or NULL. */
const char *zg_qc_role_of(const char *specimen_type);

#endif
