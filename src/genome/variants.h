/* Variant ingest (VCF/BCF through htslib) into the genome tables, and the per-case genome
 * attributes (cancer type, dataset) that the cohort index groups by.
 *
 * Tables (schema.inc): genome_cases (case_no = bitmap position of a case), genome_sites (one row
 * per distinct normalised allele: chrom without "chr", 1-based pos, ref, alt; with the picked
 * gene/consequence/class/transcript/HGVS), genome_somatic and genome_germline (case × site;
 * never mixed), genome_sv, genome_cnv, genome_imports (one row per imported file per case and
 * kind: what makes re-imports no-ops). */
#ifndef ZG_GENOME_VARIANTS_H
#define ZG_GENOME_VARIANTS_H

#include "common/compat.h"
#include "store/datadir.h"
#include <jansson.h>
#include <sqlite3.h>

struct zg_error;
struct zg_gene_model;

enum zg_variant_kind { ZG_VK_SOMATIC, ZG_VK_GERMLINE, ZG_VK_SV, ZG_VK_CNV };

/* "somatic", "germline", "sv", "cnv"; parse returns 0 or ZG_EINVAL. */
const char *zg_variant_kind_name(enum zg_variant_kind k);
int zg_variant_kind_parse(const char *s, enum zg_variant_kind *out) ZG_MUST_CHECK;

/* Alteration classes, as indexed per gene. */
enum zg_alt_class {
    ZG_AC_MISSENSE,
    ZG_AC_TRUNCATING, /* stop gained/lost, frameshift, start lost, transcript ablation */
    ZG_AC_SPLICE,     /* splice donor/acceptor */
    ZG_AC_INFRAME,    /* in-frame insertion/deletion, protein altering */
    ZG_AC_AMP,        /* copy-number amplification */
    ZG_AC_DEL,        /* deep (homozygous) deletion */
    ZG_AC_FUSION,     /* breakend joining two genes */
    ZG_AC_SV,         /* other structural variant with a breakpoint in the gene */
    ZG_AC_OTHER,      /* synonymous, non-coding, or gene overlap only: not an alteration */
    ZG_AC__COUNT
};
const char *zg_alt_class_name(enum zg_alt_class c);
int zg_alt_class_parse(const char *s, enum zg_alt_class *out) ZG_MUST_CHECK;
/* Whether a class is a small coding alteration (missense, truncating, splice, in-frame): what
 * TMB counts; by name (false for an unknown one) or by value. */
bool zg_alt_class_coding(const char *name);
bool zg_alt_class_is_coding(enum zg_alt_class c);

/* Maps a Sequence Ontology term list ("a&b", VEP/SnpEff ANN) or an old SnpEff EFF effect name
 * to its most severe class. */
enum zg_alt_class zg_alt_class_of(const char *consequence);
/* The Sequence Ontology accession ("SO:0001583") of a consequence term (term[0..len), as VEP
 * and SnpEff ANN name them), or NULL for a term outside that list. */
const char *zg_so_accession(const char *term, size_t len);

/* --- gene model (BED: chrom start end name …) ------------------------------------------ */

/* Loads gene spans from a BED file (chrom names normalised, at most 1,000,000 lines). */
int zg_gene_model_load(const char *bed_path, struct zg_gene_model **out, struct zg_error *err)
    ZG_MUST_CHECK;
void zg_gene_model_free(struct zg_gene_model *m);
/* Up to max gene names overlapping [start,end] (1-based, inclusive) of chrom; returns the
 * count written into names (pointers owned by the model). */
size_t zg_gene_model_overlaps(const struct zg_gene_model *m, const char *chrom, int64_t start,
                              int64_t end, const char **names, size_t max);
/* Span of a gene by symbol (first match); 0 or ZG_ENOTFOUND. */
int zg_gene_model_find(const struct zg_gene_model *m, const char *gene, const char **chrom,
                       int64_t *start, int64_t *end) ZG_MUST_CHECK;

/* The gene model used when a VCF carries no CSQ/ANN/EFF: $ZENGEN_GENE_BED, else
 * DATA/reference/genes.bed. NULL (not an error) when neither exists. */
const char *zg_gene_model_default_path(const struct zg_datadir *dd, char *buf, size_t n);

/* Normalises a contig name in place: "chr1" → "1", "chrX" → "X", "chrM"/"M" → "MT". */
void zg_chrom_normalise(char *chrom);

/* --- genome case attributes --------------------------------------------------------------- */

/* Ensures a genome_cases row for case_id (a registered case) and returns its case_no; sets
 * cancer_type / dataset / callable_mb when non-NULL / > 0. cancer_type: an OncoTree-style code
 * (1–16 of A-Z 0-9 _ -). Future: the clinical domain's diagnosis will be the source of truth
 * and will set this through the same call. */
int zg_genome_case_ensure(sqlite3 *db, const char *case_id, const char *cancer_type,
                          const char *dataset, double callable_mb, int64_t *case_no,
                          struct zg_error *err) ZG_MUST_CHECK;

/* Sets one free-form attribute (key 1–32 of a-z 0-9 _, value 1–64 printable). */
int zg_genome_case_attr_set(sqlite3 *db, const char *case_id, const char *key,
                            const char *value, struct zg_error *err) ZG_MUST_CHECK;

/* --- ingest ------------------------------------------------------------------------------ */

/* Progress of an import; returning true stops it (ZG_ECANCELED, nothing kept). */
typedef bool (*zg_import_progress_fn)(void *ctx, int64_t records, int64_t stored);

/* A cancer-type (OncoTree) code as the genome tables accept it: 1–16 of A-Z 0-9 _ -. */
bool zg_genome_code_valid(const char *s);

struct zg_import_opts {
    const char *case_id;        /* required */
    enum zg_variant_kind kind;
    const char *cancer_type;    /* optional, sets the case's cancer type */
    const char *dataset;        /* optional */
    double callable_mb;         /* > 0: callable territory for TMB (default 2800, WGS) */
    const char *sample;         /* sample to read FORMAT from; NULL → ##tumor_sample, a sample
                                 * named TUMOR/TUMOUR, else the first */
    const struct zg_gene_model *genes; /* fallback annotation (may be NULL) */
    const char *file_id;        /* the registered file this came from (optional) */
    const char *sha256;         /* the file's SHA-256 when known (a registered, content-addressed
                                 * file): not computed again; NULL → computed while reading */
    bool in_transaction;        /* the caller holds a write transaction (batch ingest) */
    zg_import_progress_fn progress; /* called every 65,536 records (may be NULL) */
    void *progress_ctx;
};

struct zg_import_result {
    int64_t case_no, import_no;
    int64_t records;   /* VCF records read */
    int64_t alleles;   /* alleles after splitting multi-allelic records */
    int64_t stored;    /* rows written */
    int64_t annotated; /* alleles with a gene from CSQ/ANN/EFF */
    bool already;      /* this file was already imported for this case and kind: no change */
    char sha256[65];
    /* how the writer went (diagnostics, tests): groups of 32 sites stored by one plain insert,
     * and groups sent again with the known sites resolved one by one */
    int64_t groups_plain, groups_resolved;
};

/* Streams the VCF/BCF at path into the tables of opts->kind, all in one transaction (unless
 * opts->in_transaction): on any error nothing is kept. Multi-allelic records are split, alleles
 * trimmed to a minimal representation, contigs normalised; annotations from CSQ (VEP), ANN or
 * EFF (SnpEff), else gene overlap from opts->genes. Somatic keeps PASS/"." and filtered calls
 * with their FILTER; germline keeps a summary plus truncating/splice calls of the sample.
 * Idempotent by the file's SHA-256 per case and kind; a file imported under another kind for the
 * same case is refused (somatic and germline never mix).
 * Returns 0, ZG_EINVAL (malformed/truncated file, header problems — reason in err; nothing
 * stored), ZG_ENOTFOUND (case), ZG_EIO. */
int zg_variant_import(const struct zg_datadir *dd, sqlite3 *db, const char *path,
                      const struct zg_import_opts *opts, struct zg_import_result *res,
                      struct zg_error *err) ZG_MUST_CHECK;

/* A case's genome summary and variants: {case_id,case_no,cancer_type,dataset,tmb,n_somatic,
 * somatic:[{chrom,pos,ref,alt,gene,consequence,class,transcript,hgvsc,hgvsp,filter,vaf,depth}],
 * sv:[…],cnv:[…],germline:{summary,variants:[…]},files:[…]} (at most limit somatic rows,
 * protein-altering first). NULL with ZG_ENOTFOUND when the case has no genome data. */
json_t *zg_genome_case_json(sqlite3 *db, const char *case_id, int limit, struct zg_error *err);

#endif
