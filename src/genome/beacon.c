/* Beacon v2 variant queries (beacon.h) over genome_sites × genome_somatic/genome_germline. Sites
 * are found by site-key ranges (sitekey.h): of the region asked for, or of the gene's spans. */
#include "genome/beacon.h"
#include "common/error.h"
#include "genome/sitekey.h"
#include "genome/variants.h"
#include "store/db.h"

static bool bases_ok(const char *s)
{
    if (!s || strlen(s) > 1000)
        return false;
    for (; *s; s++)
        if (!strchr("ACGTN", *s))
            return false;
    return true;
}

/* "chr1" → "1", "chrM"/"M" → "MT" (the tables hold normalised names). */
static void norm_chrom(const char *in, char *out, size_t n)
{
    if (!strncmp(in, "chr", 3))
        in += 3;
    snprintf(out, n, "%s", !strcmp(in, "M") ? "MT" : in);
}

static int check(const struct zg_beacon_query *q, struct zg_error *err)
{
    if (!q->gene && !q->chrom)
        return zg_error_set(err, ZG_EINVAL, "referenceName",
                            "give referenceName with start (and end), or geneId");
    if (q->chrom && (strlen(q->chrom) > 64 || !*q->chrom))
        return zg_error_set(err, ZG_EINVAL, "referenceName", "must be a contig name");
    if (q->chrom && q->start < 0)
        return zg_error_set(err, ZG_EINVAL, "start", "needs a 0-based start position");
    if (q->chrom && q->start >= ZG_SITE_MAX_POS)
        return zg_error_set(err, ZG_EINVAL, "start", "must be below %lld",
                            (long long)ZG_SITE_MAX_POS);
    if (q->end >= 0 && q->end < q->start)
        return zg_error_set(err, ZG_EINVAL, "end", "must not be before start");
    if (q->end >= 0 && q->end - q->start > 10000000)
        return zg_error_set(err, ZG_EINVAL, "end", "a range query spans at most 10 Mb");
    if (q->ref && !bases_ok(q->ref))
        return zg_error_set(err, ZG_EINVAL, "referenceBases", "must be bases A, C, G, T or N");
    if (q->alt && !bases_ok(q->alt))
        return zg_error_set(err, ZG_EINVAL, "alternateBases", "must be bases A, C, G, T or N");
    if (q->gene && (strlen(q->gene) > 64 || !*q->gene))
        return zg_error_set(err, ZG_EINVAL, "geneId", "must be a gene symbol");
    if (q->origin && strcmp(q->origin, "somatic") && strcmp(q->origin, "germline"))
        return zg_error_set(err, ZG_EINVAL, "origin", "must be somatic or germline");
    return 0;
}

/* The matching (site, case, origin) rows as a CTE; parameters ?1..?6, ?8 (see bind). The
 * permitted case set is applied to the rows in C (a bitmap, not SQL). */
static const char *const HITS =
    "WITH r(lo, hi) AS (SELECT (k.code << 49) | (?2 << 19), (k.code << 49) | (?3 << 19) | 524287"
    "  FROM genome_contigs k WHERE ?1 IS NOT NULL AND k.name = ?1"
    " UNION ALL SELECT (k.code << 49) | (g.lo << 19), (k.code << 49) | (g.hi << 19) | 524287"
    "  FROM genome_gene_spans g JOIN genome_contigs k ON k.name = g.chrom"
    "  WHERE ?1 IS NULL AND g.gene = ?6),"
    " s AS (SELECT t.site_no, t.chrom, t.pos, t.ref, t.alt, t.gene, t.cons AS consequence,"
    "  t.hgvsp,"
    "  t.somatic_case FROM r CROSS JOIN genome_sites t WHERE t.site_no BETWEEN r.lo AND r.hi"
    "  AND (?4 IS NULL OR t.ref = ?4) AND (?5 IS NULL OR t.alt = ?5)"
    "  AND (?6 IS NULL OR t.gene = ?6)),"
    /* somatic carriers: the site's first case, and the others of a recurrent site */
    " h AS (SELECT s.*, c.case_no, c.case_id, 'somatic' AS origin FROM s"
    " JOIN genome_cases c ON c.case_no = s.somatic_case"
    " WHERE (?8 IS NULL OR ?8 = 'somatic')"
    " UNION ALL SELECT s.*, c.case_no, c.case_id, 'somatic' FROM s"
    " JOIN genome_recurrent v ON v.site_no = s.site_no AND v.case_no <> s.somatic_case"
    " JOIN genome_cases c ON c.case_no = v.case_no WHERE (?8 IS NULL OR ?8 = 'somatic')"
    " UNION ALL SELECT s.*, c.case_no, c.case_id, 'germline' FROM s"
    " JOIN genome_germline v ON v.site_no = s.site_no JOIN genome_cases c ON c.case_no = v.case_no"
    " WHERE (?8 IS NULL OR ?8 = 'germline')) ";

static void bind(sqlite3_stmt *st, const struct zg_beacon_query *q, const char *chrom)
{
    if (chrom) {
        sqlite3_bind_text(st, 1, chrom, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, q->start + 1);
        int64_t end = q->end >= 0 ? q->end : q->start + 1;
        sqlite3_bind_int64(st, 3, end > ZG_SITE_MAX_POS ? ZG_SITE_MAX_POS : end);
    }
    if (q->ref)
        sqlite3_bind_text(st, 4, q->ref, -1, SQLITE_STATIC);
    if (q->alt)
        sqlite3_bind_text(st, 5, q->alt, -1, SQLITE_STATIC);
    if (q->gene)
        sqlite3_bind_text(st, 6, q->gene, -1, SQLITE_STATIC);
    if (q->origin)
        sqlite3_bind_text(st, 8, q->origin, -1, SQLITE_STATIC);
}

static const char *variant_type(const char *ref, const char *alt)
{
    size_t r = strlen(ref), a = strlen(alt);
    if (r == 1 && a == 1)
        return "SNP";
    if (r == a)
        return "MNP";
    return r > a ? "DEL" : "INS";
}

static bool allowed(const struct zg_beacon_query *q, int64_t case_no)
{
    return !q->permitted || (case_no >= 0 && case_no <= UINT32_MAX &&
                             roaring_bitmap_contains(q->permitted, (uint32_t)case_no));
}

/* The site's consequence terms ("missense_variant&splice_region_variant") as Sequence Ontology
 * terms ({"id": "SO:0001583", "label": "missense variant"}); NULL when none is known. */
static json_t *molecular_effects(const char *cons)
{
    json_t *a = NULL;
    for (const char *p = cons; *p;) {
        size_t n = strcspn(p, "&");
        const char *id = zg_so_accession(p, n);
        char label[64];
        if (id && n < sizeof(label)) {
            for (size_t i = 0; i < n; i++)
                label[i] = p[i] == '_' ? ' ' : p[i];
            label[n] = '\0';
            if (!a)
                a = json_array();
            json_array_append_new(a, json_pack("{s:s,s:s}", "id", id, "label", label));
        }
        p += n + (p[n] == '&');
    }
    return a;
}

/* One Beacon genomicVariation from the current row (columns as in the records query) and its
 * permitted carriers in cases (consumed). */
static json_t *variation(sqlite3_stmt *st, json_t *cases)
{
    const char *c = zg_db_text(st, 1), *ref = zg_db_text(st, 3), *alt = zg_db_text(st, 4);
    int64_t pos = sqlite3_column_int64(st, 2);
    char id[200];
    snprintf(id, sizeof(id), "%s:%lld:%s:%s", c, (long long)pos, ref, alt);
    /* location in the Beacon "legacy" form: a VRS-style sequence interval, 0-based */
    json_t *v = json_pack("{s:s,s:{s:s,s:s,s:s,s:{s:s,s:s,s:{s:s,s:{s:s,s:I},s:{s:s,s:I}}}},s:o}",
                          "variantInternalId", id, "variation", "variantType",
                          variant_type(ref, alt), "referenceBases", ref, "alternateBases", alt,
                          "location", "type", "SequenceLocation", "sequence_id", c, "interval",
                          "type", "SequenceInterval", "start", "type", "Number", "value",
                          (json_int_t)(pos - 1), "end", "type", "Number", "value",
                          (json_int_t)(pos - 1 + (int64_t)strlen(ref)), "caseLevelData", cases);
    const char *gene = zg_db_text(st, 5), *hp = zg_db_text(st, 7);
    json_t *effects = molecular_effects(zg_db_text(st, 6));
    if (*gene || *hp || effects) {
        json_t *m = json_object();
        if (*gene)
            json_object_set_new(m, "geneIds", json_pack("[s]", gene));
        if (*hp)
            json_object_set_new(m, "aminoacidChanges", json_pack("[s]", hp));
        if (effects)
            json_object_set_new(m, "molecularEffects", effects);
        json_object_set_new(v, "molecularAttributes", m);
    }
    return v;
}

static json_t *case_level(const char *case_id, bool somatic)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s}}", "biosampleId", case_id, "individualId", case_id,
                     "alleleOrigin", "id", somatic ? "SO:0001777" : "SO:0001778", "label",
                     somatic ? "somatic variant" : "germline variant");
}

/* Ends the variant being collected: appended when it has a permitted carrier and is past the
 * first skip such variants. */
static void flush(json_t *records, json_t **pending, json_t **carriers, int64_t *seen, int64_t skip)
{
    if (*pending && json_array_size(*carriers) && (*seen)++ >= skip)
        json_array_append(records, *pending);
    json_decref(*pending);
    json_decref(*carriers);
    *pending = *carriers = NULL;
}

int zg_beacon_variants(sqlite3 *db, const struct zg_beacon_query *q, int64_t *n_variants,
                       int64_t *n_cases, json_t *records, struct zg_error *err)
{
    int rc = check(q, err);
    if (rc)
        return rc;
    char chrom[80] = "";
    if (q->chrom)
        norm_chrom(q->chrom, chrom, sizeof(chrom));
    char sql[2400];
    /* counts: distinct sites and cases among the permitted rows */
    snprintf(sql, sizeof(sql), "%sSELECT site_no, case_no FROM h ORDER BY site_no", HITS);
    sqlite3_stmt *st = zg_db_prepare(db, sql, err);
    if (!st)
        return ZG_EIO;
    bind(st, q, q->chrom ? chrom : NULL);
    roaring_bitmap_t *cases = roaring_bitmap_create();
    int64_t nsites = 0, last = -1;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t site = sqlite3_column_int64(st, 0), cno = sqlite3_column_int64(st, 1);
        if (!allowed(q, cno) || cno < 0 || cno > UINT32_MAX)
            continue;
        if (site != last) /* rows come in site order */
            nsites++;
        last = site;
        roaring_bitmap_add(cases, (uint32_t)cno);
    }
    rc = r == SQLITE_DONE ? 0 : zg_db_fail(db, r, err);
    zg_db_release(st);
    *n_variants = nsites;
    *n_cases = (int64_t)roaring_bitmap_get_cardinality(cases);
    roaring_bitmap_free(cases);
    if (rc || !records || *n_variants == 0)
        return rc;
    /* records: rows in variant order, grouped by site; sites without a permitted carrier are
     * not there for this caller (and do not count towards skip) */
    snprintf(sql, sizeof(sql),
             "%sSELECT site_no, chrom, pos, ref, alt, gene,"
             " (SELECT text FROM genome_terms WHERE code = h.consequence), hgvsp, case_no, case_id,"
             " origin FROM h ORDER BY chrom, pos, ref, alt, site_no, case_id, origin",
             HITS);
    st = zg_db_prepare(db, sql, err);
    if (!st)
        return ZG_EIO;
    bind(st, q, q->chrom ? chrom : NULL);
    int64_t skip = q->skip > 0 ? q->skip : 0, limit = q->limit > 0 ? q->limit : 10, seen = 0;
    int64_t cur = -1;
    json_t *carriers = NULL, *pending = NULL;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t site = sqlite3_column_int64(st, 0);
        if (site != cur) {
            flush(records, &pending, &carriers, &seen, skip);
            if ((int64_t)json_array_size(records) >= limit)
                break;
            cur = site;
            carriers = json_array();
            pending = variation(st, json_incref(carriers));
        }
        if (allowed(q, sqlite3_column_int64(st, 8)))
            json_array_append_new(
                carriers, case_level(zg_db_text(st, 9), !strcmp(zg_db_text(st, 10), "somatic")));
    }
    flush(records, &pending, &carriers, &seen, skip);
    rc = r == SQLITE_DONE || r == SQLITE_ROW ? 0 : zg_db_fail(db, r, err);
    zg_db_release(st);
    return rc;
}

json_t *zg_beacon_genes(sqlite3 *db, int limit, struct zg_error *err)
{
    sqlite3_stmt *st =
        zg_db_prepare(db, "SELECT DISTINCT gene FROM genome_gene_spans ORDER BY gene LIMIT ?", err);
    if (!st)
        return NULL;
    sqlite3_bind_int(st, 1, limit);
    json_t *a = json_array();
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(a, json_string(zg_db_text(st, 0)));
    zg_db_release(st);
    if (r != SQLITE_DONE) {
        json_decref(a);
        zg_db_fail(db, r, err);
        return NULL;
    }
    return a;
}
