/* Unit tests of site keys (src/genome/sitekey.h, migration 6): a distinct variant's number is
 * built from its contig code, position and an ordinal per ref/alt pair; unusual contigs get
 * codes of their own; gene spans lead gene queries to the sites; recurrence across cases is
 * found by the incremental cohort update; and migration 6 renumbers existing rows. */
#include "testutil.h"

#include "common/error.h"
#include "crypto/crypto.h"
#include "genome/beacon.h"
#include "genome/cohort.h"
#include "genome/sitekey.h"
#include "genome/variants.h"
#include "ids/ids.h"
#include "store/db.h"
#include "store/schema.h"

#include <unistd.h>

static void write_file(const char *path, const char *text)
{
    FILE *o = fopen(path, "w");
    assert_non_null(o);
    fputs(text, o);
    fclose(o);
}

#define HEADER                                                                                     \
    "##fileformat=VCFv4.2\n##contig=<ID=chr17,length=83257441>\n"                                  \
    "##contig=<ID=chrUn_KI270742v1,length=186739>\n"                                               \
    "##FILTER=<ID=PASS,Description=\"All filters passed\">\n"                                      \
    "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Consequence annotations from "              \
    "Ensembl VEP. Format: Allele|Consequence|SYMBOL|Feature|HGVSc|HGVSp|CANONICAL\">\n"            \
    "##FORMAT=<ID=AD,Number=R,Type=Integer,Description=\"Allelic depths\">\n"                      \
    "##FORMAT=<ID=DP,Number=1,Type=Integer,Description=\"Depth\">\n"                               \
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n"

/* Case A: two alleles at one TP53 position (two records), one more TP53 site, a site on an
 * unplaced contig. Case B: the second allele again (recurrent) and a new KRAS-less site. */
static const char *const VCF_A =
    HEADER "chr17\t7674220\t.\tC\tT\t.\tPASS\tCSQ=T|missense_variant|TP53|ENST1|c.1C>T|p.R1H|YES"
           "\tAD:DP\t20,10:30\n"
           "chr17\t7674220\t.\tC\tA\t.\tPASS\tCSQ=A|stop_gained|TP53|ENST1|c.1C>A|p.R1*|YES"
           "\tAD:DP\t20,10:30\n"
           "chr17\t7675088\t.\tG\tA\t.\tPASS\tCSQ=A|missense_variant|TP53|ENST1|c.2G>A|p.R2Q|YES"
           "\tAD:DP\t20,10:30\n"
           "chrUn_KI270742v1\t100\t.\tA\tG\t.\tPASS\t.\tAD:DP\t20,10:30\n";
static const char *const VCF_B =
    HEADER "chr17\t7674220\t.\tC\tA\t.\tPASS\tCSQ=A|stop_gained|TP53|ENST1|c.1C>A|p.R1*|YES"
           "\tAD:DP\t20,10:30\n"
           "chr17\t7676000\t.\tG\tC\t.\tPASS\tCSQ=C|missense_variant|TP53|ENST1|c.3G>C|p.R3P|YES"
           "\tAD:DP\t20,10:30\n";

static int64_t site_of(sqlite3 *db, const char *chrom, int64_t pos, const char *alt)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT site_no FROM genome_sites WHERE chrom=? AND "
                                        "pos=? AND alt=?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, chrom, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, pos);
    sqlite3_bind_text(st, 3, alt, -1, SQLITE_STATIC);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

static void import_text(struct zg_test_fx *f, const char *case_id, const char *name,
                        const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", f->t.root, name);
    write_file(p, text);
    struct zg_import_opts o = {.case_id = case_id, .kind = ZG_VK_SOMATIC, .cancer_type = "LUAD"};
    struct zg_import_result res;
    struct zg_error err;
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, p, &o, &res, &err), 0);
    struct zg_cohort_update_stats us;
    assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
}

static void keys_from_contig_position_and_allele(void **state)
{
    struct zg_test_fx *f = *state;
    import_text(f, f->case_id, "a.vcf", VCF_A);
    int64_t t = site_of(f->db, "17", 7674220, "T"), a = site_of(f->db, "17", 7674220, "A");
    assert_int_equal(t, zg_site_key(17, 7674220, 0)); /* first seen: ordinal 0 */
    assert_int_equal(a, zg_site_key(17, 7674220, 1)); /* another allele: ordinal 1 */
    /* an unplaced contig gets the next free code after the fixed 1–25 */
    int64_t un = site_of(f->db, "Un_KI270742v1", 100, "G");
    assert_true(un >= 0);
    assert_int_equal(un >> 49, 26);
    assert_int_equal(
        zg_test_count(f->db, "SELECT code FROM genome_contigs WHERE name='Un_KI270742v1'"), 26);
    /* where TP53's sites lie, for gene queries */
    assert_int_equal(zg_test_count(f->db, "SELECT lo FROM genome_gene_spans WHERE gene='TP53'"),
                     7674220);
    assert_int_equal(zg_test_count(f->db, "SELECT hi FROM genome_gene_spans WHERE gene='TP53'"),
                     7675088);
    assert_int_equal(zg_test_count(f->db, "SELECT n_somatic FROM genome_cases"), 4);
    assert_int_equal(zg_test_count(f->db, "SELECT n_coding FROM genome_cases"), 3);
    /* re-importing the same calls under another file name adds nothing */
    char p[512];
    snprintf(p, sizeof(p), "%s/a2.vcf", f->t.root);
    write_file(p, VCF_A);
    FILE *o = fopen(p, "a");
    fputs("chr17\t7674221\t.\tC\tG\t.\tPASS\t.\tAD:DP\t20,10:30\n", o);
    fclose(o);
    struct zg_import_opts io = {.case_id = f->case_id, .kind = ZG_VK_SOMATIC};
    struct zg_import_result res;
    struct zg_error err;
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, p, &io, &res, &err), 0);
    assert_int_equal(res.stored, 1);
    assert_int_equal(zg_test_count(f->db, "SELECT n_somatic FROM genome_cases"), 5);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_somatic"), 5);
}

static void recurrence_spans_and_beacon(void **state)
{
    struct zg_test_fx *f = *state;
    char b_id[ZG_ID_LEN];
    struct zg_error err;
    assert_int_equal(zg_case_add(f->db, f->org, NULL, 0, b_id, NULL, &err), 0);
    import_text(f, f->case_id, "a.vcf", VCF_A);
    import_text(f, b_id, "b.vcf", VCF_B);
    int64_t a = site_of(f->db, "17", 7674220, "A");
    assert_int_equal(a, zg_site_key(17, 7674220, 1)); /* found again, not renumbered */
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_import_shared"), 1);
    assert_int_equal(zg_test_count(f->db, "SELECT hi FROM genome_gene_spans WHERE gene='TP53'"),
                     7676000);

    struct zg_cohort *c = NULL;
    assert_int_equal(zg_cohort_acquire(zg_test_cohort_cache(), &f->t.dd, f->db, &c, &err), 0);
    char key[64];
    snprintf(key, sizeof(key), "v\t%lld", (long long)a);
    const roaring_bitmap_t *rec = zg_cohort_get(c, key);
    assert_non_null(rec); /* recurrent: both cases */
    assert_int_equal(roaring_bitmap_get_cardinality(rec), 2);
    struct zg_query_scope s = {0};
    json_t *v = zg_query_variants(c, f->db, "TP53", 10, &s, &err);
    assert_non_null(v);
    assert_int_equal(json_integer_value(json_object_get(v, "recurrent")), 1);
    assert_int_equal(json_integer_value(json_object_get(v, "private_variants")), 3);
    json_t *top = json_array_get(json_object_get(v, "variants"), 0);
    assert_string_equal(json_string_value(json_object_get(top, "alt")), "A");
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)a);
    assert_string_equal(json_string_value(json_object_get(top, "site")), id);
    json_decref(v);
    zg_cohort_release(c);

    /* Beacon: a range over both alleles, a sequence query, a gene query, an empty region */
    struct zg_beacon_query q = {.chrom = "chr17", .start = 7674219, .end = 7674220, .limit = 10};
    int64_t nv = 0, nc = 0;
    assert_int_equal(zg_beacon_variants(f->db, &q, &nv, &nc, NULL, &err), 0);
    assert_int_equal(nv, 2);
    assert_int_equal(nc, 2);
    q = (struct zg_beacon_query){
        .chrom = "17", .start = 7674219, .end = -1, .ref = "C", .alt = "A", .limit = 10};
    json_t *recs = json_array();
    assert_int_equal(zg_beacon_variants(f->db, &q, &nv, &nc, recs, &err), 0);
    assert_int_equal(nv, 1);
    assert_int_equal(nc, 2);
    assert_int_equal(json_array_size(recs), 1);
    json_decref(recs);
    q = (struct zg_beacon_query){.gene = "TP53", .end = -1, .limit = 10};
    assert_int_equal(zg_beacon_variants(f->db, &q, &nv, &nc, NULL, &err), 0);
    assert_int_equal(nv, 4);
    q = (struct zg_beacon_query){.chrom = "Un_KI270742v1", .start = 0, .end = 1000, .limit = 10};
    assert_int_equal(zg_beacon_variants(f->db, &q, &nv, &nc, NULL, &err), 0);
    assert_int_equal(nv, 1);
    q = (struct zg_beacon_query){.chrom = "chr9", .start = 0, .end = 1000, .limit = 10};
    assert_int_equal(zg_beacon_variants(f->db, &q, &nv, &nc, NULL, &err), 0);
    assert_int_equal(nv, 0);
    q = (struct zg_beacon_query){.chrom = "1", .start = ZG_SITE_MAX_POS, .end = -1, .limit = 10};
    assert_int_equal(zg_beacon_variants(f->db, &q, &nv, &nc, NULL, &err), ZG_EINVAL);
    assert_string_equal(err.field, "start");
    json_t *genes = zg_beacon_genes(f->db, 10, &err);
    assert_int_equal(json_array_size(genes), 1);
    json_decref(genes);
    /* a third file names another gene for a known site: the site keeps its annotation, and
     * the other gene gets no span (it would be listed, then found nowhere) */
    char c_id[ZG_ID_LEN];
    assert_int_equal(zg_case_add(f->db, f->org, NULL, 0, c_id, NULL, &err), 0);
    import_text(f, c_id, "c.vcf",
                HEADER "chr17\t7674220\t.\tC\tA\t.\tPASS\tCSQ=A|stop_gained|OTHERGENE|ENST9|"
                       "c.1C>A|p.R1*|YES\tAD:DP\t20,10:30\n");
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_gene_spans"
                                          " WHERE gene='OTHERGENE'"),
                     0);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_sites WHERE"
                                          " gene='OTHERGENE'"),
                     0);
}

/* Writes n records at 1000 + 10·i; every 10th position also has a second allele (a record
 * of its own); with offset, positions i % 3 == 0 are those of the first file (shared). */
static void write_many(const char *path, int n, bool second)
{
    FILE *o = fopen(path, "w");
    assert_non_null(o);
    fputs(HEADER, o);
    for (int i = 0; i < n; i++) {
        int pos = second && i % 3 ? 1005 + 10 * i : 1000 + 10 * i;
        fprintf(o,
                "chr17\t%d\t.\tC\tT\t.\tPASS\tCSQ=T|missense_variant|G%d|ENST%d|c.%dC>T|p.X%d|YES"
                "\tAD:DP\t20,10:30\n",
                pos, i / 40, i, i, i);
        if (!second && i % 10 == 0)
            fprintf(o, "chr17\t%d\t.\tC\tG\t.\tPASS\t.\tAD:DP\t20,10:30\n", pos);
    }
    fclose(o);
}

/* Imports large enough for the grouped writer: alleles sharing a position inside a group, and
 * a second case meeting the first one's sites (the plain group insert fails, the group goes in
 * again with the known sites resolved). Every call and site is there once. */
static void grouped_writer_matches_row_by_row(void **state)
{
    struct zg_test_fx *f = *state;
    enum { N = 1000 };
    char a[512], b[512], b_id[ZG_ID_LEN];
    snprintf(a, sizeof(a), "%s/many-a.vcf", f->t.root);
    snprintf(b, sizeof(b), "%s/many-b.vcf", f->t.root);
    write_many(a, N, false);
    write_many(b, N, true);
    struct zg_error err;
    assert_int_equal(zg_case_add(f->db, f->org, NULL, 0, b_id, NULL, &err), 0);
    struct zg_import_opts o = {.case_id = f->case_id, .kind = ZG_VK_SOMATIC};
    struct zg_import_result res;
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, a, &o, &res, &err), 0);
    assert_int_equal(res.stored, N + N / 10);
    /* a fresh cohort: groups go in whole, except those holding a second allele's position */
    assert_true(res.groups_plain >= N / 32 - N / 10 / 32 - 2);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_sites"), N + N / 10);
    /* the second allele at each tenth position: ordinal 1 */
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_sites WHERE alt='G' AND"
                                          " site_no & 524287 = 1"),
                     N / 10);
    o.case_id = b_id;
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, b, &o, &res, &err), 0);
    int shared = (N + 2) / 3;
    assert_int_equal(res.stored, N);
    /* a third of the sites are known: groups are re-sent with those resolved */
    assert_true(res.groups_resolved >= N / 32 - 1);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_sites"),
                     N + N / 10 + N - shared);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_somatic"), N + N / 10 + N);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_import_shared"), shared);
    /* carriers: the first case on the site row, both cases of a shared site in the table */
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_recurrent"), 2 * shared);
    assert_int_equal(
        zg_test_count(f->db, "SELECT count(*) FROM genome_sites WHERE somatic_case IS NULL"), 0);
    assert_int_equal(zg_test_count(f->db, "SELECT count(DISTINCT somatic_case) FROM genome_sites"),
                     2);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM (SELECT site_no FROM genome_somatic"
                                          " GROUP BY site_no HAVING count(*) = 2)"),
                     shared);
    /* every site's key is its position's, and no two sites are the same variant */
    assert_int_equal(zg_test_count(f->db,
                                   "SELECT count(*) FROM genome_sites WHERE"
                                   " (site_no >> 19) & 1073741823 <> pos OR site_no >> 49 <> 17"),
                     0);
    assert_int_equal(zg_test_count(f->db,
                                   "SELECT count(*) FROM (SELECT DISTINCT chrom, pos, ref, alt"
                                   " FROM genome_sites)"),
                     N + N / 10 + N - shared);
    assert_int_equal(zg_test_count(f->db, "SELECT sum(n_somatic) FROM genome_cases"),
                     N + N / 10 + N);
}

/* Writes n records for a second case: even ones at the first file's positions (known sites),
 * odd ones new; record `again` is written twice; the last record sits at position 0. */
static void write_repeats(const char *path, int n, int again)
{
    FILE *o = fopen(path, "w");
    assert_non_null(o);
    fputs(HEADER, o);
    for (int i = 0; i < n; i++) {
        int pos = i % 2 ? 100005 + 10 * i : 1000 + 10 * i;
        for (int k = 0; k < (i == again ? 2 : 1); k++)
            fprintf(o, "chr17\t%d\t.\tC\tT\t.\tPASS\t.\tAD:DP\t20,10:30\n", pos);
    }
    fclose(o);
}

/* A record repeated while earlier calls of its group still wait to be written is stored and
 * counted once (groups ending in a flush of 32 waiting calls, and shorter ones); a record at
 * position 0 (telomeric, allowed by VCF) and a contig whose name normalises to "" get keys. */
static void repeated_records_and_edge_positions(void **state)
{
    struct zg_test_fx *f = *state;
    char a[512], b[512];
    snprintf(a, sizeof(a), "%s/many-a.vcf", f->t.root);
    write_many(a, 200, false);
    struct zg_error err;
    struct zg_import_opts o = {.case_id = f->case_id, .kind = ZG_VK_SOMATIC};
    struct zg_import_result res;
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, a, &o, &res, &err), 0);
    static const int sizes[] = {40, 100};
    for (int k = 0; k < 2; k++) {
        char id[ZG_ID_LEN], sql[200];
        assert_int_equal(zg_case_add(f->db, f->org, NULL, 0, id, NULL, &err), 0);
        snprintf(b, sizeof(b), "%s/rep%d.vcf", f->t.root, k);
        write_repeats(b, sizes[k], sizes[k] / 2 + 1);
        o.case_id = id;
        assert_int_equal(zg_variant_import(&f->t.dd, f->db, b, &o, &res, &err), 0);
        assert_int_equal(res.stored, sizes[k]);
        snprintf(sql, sizeof(sql), "SELECT n_somatic FROM genome_cases WHERE case_no=%lld",
                 (long long)res.case_no);
        assert_int_equal(zg_test_count(f->db, sql), sizes[k]);
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM genome_somatic WHERE case_no=%lld",
                 (long long)res.case_no);
        assert_int_equal(zg_test_count(f->db, sql), sizes[k]);
    }
    /* every recurrent site has two carriers or more; no case pairs with itself */
    assert_int_equal(zg_test_count(f->db,
                                   "SELECT count(*) FROM (SELECT site_no FROM"
                                   " genome_recurrent GROUP BY site_no HAVING count(*) < 2)"),
                     0);
    char p[512];
    snprintf(p, sizeof(p), "%s/edge.vcf", f->t.root);
    write_file(p, "##fileformat=VCFv4.2\n##contig=<ID=chr17,length=83257441>\n##contig=<ID=chr>\n"
                  "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                  "chr\t5\t.\tA\tG\t.\tPASS\t.\n"
                  "chr17\t0\t.\tN\tA\t.\tPASS\t.\n");
    o.case_id = f->case_id;
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, p, &o, &res, &err), 0);
    assert_int_equal(res.stored, 2);
    assert_true(zg_test_count(f->db, "SELECT site_no >> 49 FROM genome_sites WHERE chrom=''") >=
                26);
    assert_int_equal(zg_test_count(f->db, "SELECT site_no FROM genome_sites WHERE pos=0"),
                     zg_site_key(17, 0, 0));
}

/* A site first seen in a germline call gets its first somatic carrier later. */
static void germline_site_then_somatic(void **state)
{
    struct zg_test_fx *f = *state;
    char p[512];
    snprintf(p, sizeof(p), "%s/g.vcf", f->t.root);
    write_file(p, "##fileformat=VCFv4.2\n##contig=<ID=chr17,length=83257441>\n"
                  "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Consequence annotations "
                  "from Ensembl VEP. Format: Allele|Consequence|SYMBOL|Feature|HGVSc|HGVSp|"
                  "CANONICAL\">\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
                  "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL\n"
                  "chr17\t7674220\t.\tC\tA\t.\tPASS\tCSQ=A|stop_gained|TP53|ENST1|c.1C>A|p.R1*|YES"
                  "\tGT\t0/1\n");
    struct zg_import_opts o = {.case_id = f->case_id, .kind = ZG_VK_GERMLINE};
    struct zg_import_result res;
    struct zg_error err;
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, p, &o, &res, &err), 0);
    assert_int_equal(res.stored, 1);
    assert_int_equal(
        zg_test_count(f->db, "SELECT count(*) FROM genome_sites WHERE somatic_case IS NULL"), 1);
    char b_id[ZG_ID_LEN];
    assert_int_equal(zg_case_add(f->db, f->org, NULL, 0, b_id, NULL, &err), 0);
    import_text(f, b_id, "b.vcf", VCF_B);
    assert_int_equal(
        zg_test_count(f->db, "SELECT count(*) FROM genome_sites WHERE somatic_case IS NULL"), 0);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_recurrent"), 0);
    struct zg_beacon_query q = {
        .chrom = "17", .start = 7674219, .end = -1, .alt = "A", .limit = 10};
    int64_t nv = 0, nc = 0;
    assert_int_equal(zg_beacon_variants(f->db, &q, &nv, &nc, NULL, &err), 0);
    assert_int_equal(nv, 1);
    assert_int_equal(nc, 2); /* the germline carrier and the somatic one */
    q.origin = "somatic";
    assert_int_equal(zg_beacon_variants(f->db, &q, &nv, &nc, NULL, &err), 0);
    assert_int_equal(nc, 1);
}

/* A registered file's digest is taken as given (not computed again) and makes the same
 * re-import a no-op; a malformed digest is refused. */
static void known_digest_is_reused(void **state)
{
    struct zg_test_fx *f = *state;
    char p[512], sha[65];
    snprintf(p, sizeof(p), "%s/a.vcf", f->t.root);
    write_file(p, VCF_A);
    struct zg_error err;
    assert_int_equal(zg_sha256_file(p, sha, &err), 0);
    struct zg_import_opts o = {.case_id = f->case_id, .kind = ZG_VK_SOMATIC, .sha256 = sha};
    struct zg_import_result res;
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, p, &o, &res, &err), 0);
    assert_string_equal(res.sha256, sha);
    assert_int_equal(res.stored, 4);
    o.sha256 = NULL; /* computed now: the same digest, so nothing changes */
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, p, &o, &res, &err), 0);
    assert_true(res.already);
    o.sha256 = "ABC";
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, p, &o, &res, &err), ZG_EINVAL);
    assert_string_equal(err.field, "sha256");
}

/* A cohort snapshot written by an earlier zengen (site numbers before site keys) is rebuilt by
 * the first command-line reader, not read. */
static void stale_snapshot_is_rebuilt(void **state)
{
    struct zg_test_fx *f = *state;
    import_text(f, f->case_id, "a.vcf", VCF_A);
    char cur[512], snap[600], line[32] = "";
    snprintf(cur, sizeof(cur), "%s/index/CURRENT", f->t.data);
    FILE *c = fopen(cur, "r");
    assert_non_null(c);
    assert_non_null(fgets(line, sizeof(line), c));
    fclose(c);
    snprintf(snap, sizeof(snap), "%s/index/cohort-%lld.zgc", f->t.data, atoll(line));
    FILE *o = fopen(snap, "r+b");
    assert_non_null(o);
    assert_int_equal(fwrite("ZGCOHRT1", 1, 8, o), 8);
    fclose(o);
    struct zg_cohort *co = NULL;
    struct zg_error err;
    assert_int_equal(zg_cohort_acquire(NULL, &f->t.dd, f->db, &co, &err), 0);
    const roaring_bitmap_t *tp53 = zg_cohort_get(co, "g\tTP53\t*");
    assert_non_null(tp53);
    assert_int_equal(roaring_bitmap_get_cardinality(tp53), 1);
    assert_true(zg_cohort_generation(co) > atoll(line));
    zg_cohort_release(co);
}

/* A database at the migrations before `version` (in a new scratch directory root): what a data
 * directory written by an older zengen holds. */
static sqlite3 *db_before(char root[256], int version)
{
    char path[300];
    zg_test_mkdtemp(root);
    snprintf(path, sizeof(path), "%s/old.db", root);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    size_t n = 0, before = 0;
    const struct zg_migration *m = zg_schema_migrations(ZG_DB_MAIN, &n);
    while (before < n && m[before].version < version)
        before++;
    assert_true(before < n);
    struct zg_error err;
    assert_int_equal(zg_db_migrate(db, m, before, &err), 0);
    return db;
}

/* Brings a db_before database to the current schema. */
static void migrate_all(sqlite3 *db)
{
    size_t n = 0;
    const struct zg_migration *m = zg_schema_migrations(ZG_DB_MAIN, &n);
    struct zg_error err;
    assert_int_equal(zg_db_migrate(db, m, n, &err), 0);
}

/* Rows written before migration 6 get site keys; the calls follow their sites. */
static void migration_renumbers_sites(void **state)
{
    (void)state;
    char root[256];
    sqlite3 *db = db_before(root, 6);
    zg_test_sql(db, "INSERT INTO genome_sites(site_no,chrom,pos,ref,alt,gene,class) VALUES"
                    "(1,'17',7674220,'C','T','TP53','missense'),"
                    "(2,'X',5000,'G','A','',''),"
                    "(3,'17',7674220,'C','A','TP53','truncating'),"
                    "(4,'HLA-A*01:01:01:01',10,'A','C','HLA-A','missense');"
                    "INSERT INTO genome_somatic(case_no,site_no,import_no,filter) VALUES"
                    "(1,1,1,'PASS'),(1,3,1,'PASS'),(2,3,2,'PASS'),(2,4,2,'PASS');"
                    "INSERT INTO genome_germline(case_no,site_no,import_no,filter,zygosity)"
                    " VALUES(1,2,3,'PASS','het');");
    migrate_all(db);
    assert_int_equal(zg_test_count(db, "SELECT count(*) FROM genome_sites"), 4);
    assert_int_equal(zg_test_count(db, "SELECT site_no FROM genome_sites WHERE alt='T'"),
                     zg_site_key(17, 7674220, 0));
    assert_int_equal(
        zg_test_count(db, "SELECT site_no FROM genome_sites WHERE alt='A' AND chrom='17'"),
        zg_site_key(17, 7674220, 1));
    assert_int_equal(zg_test_count(db, "SELECT site_no FROM genome_sites WHERE chrom='X'"),
                     zg_site_key(23, 5000, 0));
    assert_int_equal(zg_test_count(db, "SELECT site_no FROM genome_sites WHERE gene='HLA-A'"),
                     zg_site_key(26, 10, 0));
    /* calls follow their sites */
    assert_int_equal(zg_test_count(db, "SELECT count(*) FROM genome_somatic s JOIN genome_sites t"
                                       " USING(site_no) WHERE t.alt='A' AND t.chrom='17'"),
                     2);
    assert_int_equal(zg_test_count(db, "SELECT count(*) FROM genome_germline g JOIN genome_sites t"
                                       " USING(site_no) WHERE t.chrom='X'"),
                     1);
    assert_int_equal(zg_test_count(db, "SELECT count(*) FROM genome_gene_spans"), 2);
    /* what the incremental cohort publish reads, for the imports made before */
    assert_int_equal(zg_test_count(db, "SELECT count(*) FROM genome_import_genes"), 4);
    assert_int_equal(zg_test_count(db, "SELECT count(*) FROM genome_import_shared"), 2);
    assert_int_equal(zg_test_count(db, "SELECT count(*) FROM genome_recurrent"), 2);
    assert_int_equal(zg_test_count(db, "SELECT somatic_case FROM genome_sites WHERE alt='A' AND"
                                       " chrom='17'"),
                     1);
    assert_int_equal(
        zg_test_count(db, "SELECT count(*) FROM genome_sites WHERE somatic_case IS NULL"), 1);
    assert_int_equal(zg_test_count(db, "SELECT count(*) FROM pragma_index_list('genome_somatic')"),
                     1);
    assert_int_equal(zg_test_count(db, "SELECT count(*) FROM pragma_index_list('genome_sites')"),
                     0);
    zg_db_close(db);
    zg_test_rmtree(root);
}

/* Migration 8 keeps what readers see: pos, class and hgvsc are virtual columns over the site
 * key, a class code and an HGVSc without the transcript it begins with (when it does). */
static void migration_slims_site_rows(void **state)
{
    (void)state;
    char root[256];
    sqlite3 *db = db_before(root, 8);
    /* every class; HGVSc with the transcript and a version, with it and ':', a different
     * transcript, none, a transcript that is only a prefix of the HGVSc's */
    static const char *const rows[][4] = {
        {"missense", "ENST01", "ENST01.4:c.1A>T", "ENSP01.4:p.Met1Leu"},
        {"truncating", "ENST02", "ENST02:c.5C>G", ""},
        {"splice", "ENST03", "ENST99.1:c.9+1A>C", ""},
        {"inframe", "", "c.10_12del", "p.Lys4del"},
        {"amp", "ENST0", "ENST01.4:c.1A>T", ""},
        {"del", "ENST05", "ENST05", ""},
        {"fusion", "", "", ""},
        {"sv", "ENST07", "ENST07.1:", ""},
        {"other", "NM_000546", "NM_000546.6:c.215C>G", "NP_000537.3:p.(Pro72Arg)"},
        {"", "", "", ""},
    };
    size_t nrows = sizeof(rows) / sizeof(rows[0]);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO genome_sites(site_no,chrom,pos,ref,alt,gene,"
                                        "class,transcript,hgvsc,hgvsp) VALUES(?,'1',?,'A','C',?,?,"
                                        "?,?,?)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    for (size_t i = 0; i < nrows; i++) {
        int64_t pos = 1000 + (int64_t)i;
        sqlite3_bind_int64(st, 1, zg_site_key(1, pos, 0));
        sqlite3_bind_int64(st, 2, pos);
        sqlite3_bind_text(st, 3, rows[i][0][0] ? "G" : "", -1, SQLITE_STATIC);
        for (int k = 0; k < 4; k++)
            sqlite3_bind_text(st, 4 + k, rows[i][k], -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    migrate_all(db);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT pos,class,transcript,hgvsc,hgvsp,hgvsc_cut FROM"
                                        " genome_sites ORDER BY site_no",
                                        -1, &st, NULL),
                     SQLITE_OK);
    for (size_t i = 0; i < nrows; i++) {
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int64(st, 0), 1000 + (int64_t)i);
        for (int k = 0; k < 4; k++)
            assert_string_equal((const char *)sqlite3_column_text(st, 1 + k), rows[i][k]);
        /* cut only where the HGVSc begins with the transcript, then '.' or ':' */
        assert_int_equal(sqlite3_column_int(st, 5), i == 0 || i == 1 || i == 7 || i == 8);
    }
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_equal(zg_test_count(db, "SELECT count(*) FROM genome_sites WHERE hgvsc_rest ="
                                       " '.4:c.1A>T'"),
                     1);
    /* the stored columns are gone */
    assert_int_equal(zg_test_count(db, "SELECT count(*) FROM pragma_table_xinfo('genome_sites')"
                                       " WHERE name IN ('pos','class','hgvsc') AND hidden = 2"),
                     3);
    /* the class codes are the order of zg_alt_class_name */
    for (int c = 0; c < ZG_AC__COUNT; c++) {
        char sql[200];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM genome_sites WHERE class_code = %d AND class = '%s'", c + 1,
                 zg_alt_class_name((enum zg_alt_class)c));
        assert_int_equal(zg_test_count(db, sql), 1);
    }
    assert_int_equal(zg_test_count(db, "SELECT class_code FROM genome_sites WHERE class = ''"), 0);
    zg_db_close(db);
    zg_test_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(keys_from_contig_position_and_allele, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(recurrence_spans_and_beacon, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(grouped_writer_matches_row_by_row, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(repeated_records_and_edge_positions, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(germline_site_then_somatic, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(known_digest_is_reused, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(stale_snapshot_is_rebuilt, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test(migration_renumbers_sites),
        cmocka_unit_test(migration_slims_site_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
