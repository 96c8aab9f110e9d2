/* Unit tests of src/genome: real VEP/SnpEff-annotated VCFs ingest with the right genes and
 * consequences; malformed and truncated files are refused with nothing stored; re-imports are
 * no-ops and somatic/germline never mix; the file registry validates with htslib; cohort
 * queries agree with a brute-force computation over the tables on a generated cohort. */
#include "testutil.h"

#include "auth/auth.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "genome/cohort.h"
#include "genome/files.h"
#include "genome/synth.h"
#include "genome/variants.h"
#include "ids/ids.h"
#include "store/db.h"

#include <htslib/hts.h>
#include <htslib/vcf.h>
#include <math.h>
#include <unistd.h>

#define SHARED "/../shared/data"


static char data_root[1024];

static void shared_path(char *out, size_t n, const char *rel)
{
    snprintf(out, n, "%s%s", data_root, rel);
}


static int64_t count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int import(struct zg_test_fx *f, const char *rel, enum zg_variant_kind kind,
                  struct zg_import_result *res, struct zg_error *err)
{
    char p[1200];
    shared_path(p, sizeof(p), rel);
    struct zg_import_opts o = {.case_id = f->case_id, .kind = kind, .cancer_type = "LUAD"};
    return zg_variant_import(&f->t.dd, f->db, p, &o, res, err);
}

static void vep_csq_genes_and_consequences(void **state)
{
    struct zg_test_fx *f = *state;
    struct zg_import_result res;
    struct zg_error err;
    int rc = import(f, SHARED "/vcf/annotated/bcftools-tests/test/split-vep.vcf", ZG_VK_SOMATIC,
                    &res, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(res.records, 802);
    assert_true(res.annotated == res.alleles);
    /* 1:69428 T>G is OR4F5 p.Phe113Cys in the file's CSQ */
    assert_int_equal(count(f->db, "SELECT count(*) FROM genome_sites WHERE chrom='1' AND "
                                  "pos=69428 AND gene='OR4F5' AND class='missense' AND "
                                  "hgvsp LIKE '%p.Phe113Cys' AND cons=(SELECT code FROM"
                                  " genome_terms WHERE text='missense_variant')"),
                     1);
    /* a frameshift is truncating, WASH7P non-coding is not an alteration */
    assert_true(count(f->db, "SELECT count(*) FROM genome_sites WHERE class='truncating' AND "
                             "cons IN (SELECT code FROM genome_terms"
                             " WHERE text LIKE '%frameshift_variant%')") >= 1);
    assert_true(count(f->db, "SELECT count(*) FROM genome_sites WHERE gene='WASH7P' AND "
                             "class='other'") > 100);
    assert_int_equal(count(f->db, "SELECT cancer_type='LUAD' FROM genome_cases"), 1);
}

static void snpeff_eff_genes(void **state)
{
    struct zg_test_fx *f = *state;
    struct zg_import_result res;
    struct zg_error err;
    assert_int_equal(import(f, SHARED "/vcf/annotated/cyvcf2-tests/test.snpeff.vcf",
                            ZG_VK_SOMATIC, &res, &err),
                     0);
    /* chr1 → 1; NON_SYNONYMOUS_CODING → missense of OR4F5 with the amino-acid change */
    assert_int_equal(count(f->db, "SELECT count(*) FROM genome_sites WHERE chrom='1' AND "
                                  "pos=69428 AND gene='OR4F5' AND class='missense' AND "
                                  "hgvsp='F113C'"),
                     1);
    assert_int_equal(count(f->db, "SELECT count(*) FROM genome_sites WHERE chrom LIKE 'chr%'"), 0);
}

static void ann_in_bcf(void **state)
{
    struct zg_test_fx *f = *state;
    struct zg_import_result res;
    struct zg_error err;
    /* BCF input through the same path */
    assert_int_equal(import(f, SHARED "/vcf/annotated/cyvcf2-tests/test.snpeff.bcf",
                            ZG_VK_SOMATIC, &res, &err),
                     0);
    assert_true(res.records > 0);
}

static void multiallelic_split(void **state)
{
    struct zg_test_fx *f = *state;
    struct zg_import_result res;
    struct zg_error err;
    assert_int_equal(
        import(f, SHARED "/vcf/annotated/cyvcf2-tests/bug.vcf.gz",
               ZG_VK_SOMATIC, &res, &err),
        0);
    assert_true(res.alleles > res.records);
    assert_int_equal(count(f->db, "SELECT count(*) FROM genome_sites WHERE alt LIKE '%,%'"), 0);
}

static void rejects_malformed_and_truncated(void **state)
{
    struct zg_test_fx *f = *state;
    struct zg_import_result res;
    struct zg_error err;
    zg_error_clear(&err);
    int rc = import(f, SHARED "/vcf/annotated/cyvcf2-tests/test-invalid-header.vcf",
                    ZG_VK_SOMATIC, &res, &err);
    assert_int_equal(rc, ZG_EINVAL);
    assert_non_null(strstr(err.reason, "header"));
    /* a bgzipped VCF cut in the middle */
    char src[1200], cut[600];
    shared_path(src, sizeof(src), SHARED "/vcf/annotated/cyvcf2-tests/test.vcf.gz");
    size_t n = 0;
    char *bytes = zg_test_slurp(src, &n);
    assert_non_null(bytes);
    snprintf(cut, sizeof(cut), "%s/cut.vcf.gz", f->t.root);
    FILE *o = fopen(cut, "wb");
    assert_non_null(o);
    assert_int_equal(fwrite(bytes, 1, n / 2, o), n / 2);
    fclose(o);
    free(bytes);
    struct zg_import_opts io = {.case_id = f->case_id, .kind = ZG_VK_GERMLINE};
    zg_error_clear(&err);
    rc = zg_variant_import(&f->t.dd, f->db, cut, &io, &res, &err);
    assert_int_equal(rc, ZG_EINVAL);
    assert_non_null(strstr(err.reason, "truncated"));
    struct zg_file_add_opts fo = {.case_id = f->case_id};
    struct zg_file_info fi;
    assert_int_equal(zg_file_add(&f->t.dd, f->db, cut, &fo, &fi, &err), ZG_EINVAL);
    /* nothing half-ingested or registered */
    assert_int_equal(count(f->db, "SELECT count(*) FROM genome_imports"), 0);
    assert_int_equal(count(f->db, "SELECT count(*) FROM genome_somatic"), 0);
    assert_int_equal(count(f->db, "SELECT count(*) FROM genome_germline"), 0);
    assert_int_equal(count(f->db, "SELECT count(*) FROM genome_files"), 0);
}

/* Writes the crafted VEP-annotated somatic VCF of annotation_lifted_like_htslib. */
static void write_csq_vcf(const char *path)
{
    FILE *o = fopen(path, "w");
    assert_non_null(o);
    static const char *const csq[] = {
        "T|missense_variant|MODERATE|GENE1|ENST01|ENST01.1:c.1A>T|ENSP01.1:p.Met1Leu",
        "G|stop_gained|HIGH|GENE2|ENST02|ENST02.3:c.5C>G|ENSP02.3:p.Ser2Ter",
        "C|splice_donor_variant|HIGH|GENE3|ENST03|ENST03.1:c.9+1A>C|",
        "A|inframe_deletion|MODERATE|GENE4|ENST04|ENST04.2:c.10_12del|ENSP04.2:p.Lys4del",
    };
    fputs("##fileformat=VCFv4.2\n##contig=<ID=1,length=10000000>\n"
          "##INFO=<ID=AF,Number=A,Type=Float,Description=\"f\">\n"
          "##INFO=<ID=DP,Number=1,Type=Integer,Description=\"d\">\n"
          "##INFO=<ID=XCSQ,Number=.,Type=String,Description=\"decoy\">\n"
          "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Consequence annotations from "
          "Ensembl VEP. Format: Allele|Consequence|IMPACT|SYMBOL|Feature|HGVSc|HGVSp\">\n"
          "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"g\">\n"
          "##FORMAT=<ID=AD,Number=R,Type=Integer,Description=\"a\">\n"
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n",
          o);
    /* the annotation alone, in the middle, last after a decoy key, first, absent, and only a
     * decoy; FORMAT after INFO must survive the cut (an annotation that ends the line: the
     * split-vep.vcf records of vep_csq_genes_and_consequences) */
    fprintf(o, "1\t100\t.\tA\tT\t.\tPASS\tCSQ=%s\tGT:AD\t0/1:30,10\n", csq[0]);
    fprintf(o, "1\t200\t.\tC\tG\t.\tPASS\tAF=0.5;CSQ=%s;DP=10\tGT:AD\t0/1:20,20\n", csq[1]);
    fprintf(o, "1\t300\t.\tA\tC\t.\tPASS\tXCSQ=%s;CSQ=%s\tGT:AD\t0/1:9,1\n", csq[0], csq[2]);
    fprintf(o, "1\t400\t.\tAAAG\tA\t.\tPASS\tCSQ=%s;AF=0.25\tGT:AD\t0/1:3,1\n", csq[3]);
    fprintf(o, "1\t500\t.\tG\tA\t.\tPASS\tDP=3\tGT:AD\t0/1:1,2\n");
    fprintf(o, "1\t600\t.\tG\tC\t.\tPASS\tXCSQ=%s\tGT:AD\t0/1:5,5\n", csq[1]);
    fprintf(o, "1\t700\t.\tG\tT\t.\tPASS\tCSQ=%s;DP=8\tGT:AD\t0/1:4,4\n", csq[0]);
    fclose(o);
}

/* What an import stored, as one text: sites with their annotation, calls with their values. */
static char *stored_dump(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(
            db,
            "SELECT group_concat(x, ';') FROM (SELECT t.chrom||':'||t.pos||t.ref||'>'||t.alt||'|'||"
            "t.gene||'|'||coalesce(k.text,'')||'|'||t.class||'|'||t.transcript||'|'||t.hgvsc||'|'||"
            "t.hgvsp||'|'||s.filter||'|'||coalesce(s.vaf,'')||'|'||coalesce(s.depth,'')||'|'||"
            "coalesce(s.alt_depth,'') AS x FROM genome_somatic s JOIN genome_sites t USING(site_no)"
            " LEFT JOIN genome_terms k ON k.code = t.cons ORDER BY t.site_no)",
            -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char *out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

/* A text VCF's annotation is taken out of the line before htslib parses the rest: what is
 * stored equals the BCF of the same records, where htslib reads every INFO field. */
static void annotation_lifted_like_htslib(void **state)
{
    struct zg_test_fx *f = *state;
    char vcf[600], bcf[600];
    snprintf(vcf, sizeof(vcf), "%s/csq.vcf", f->t.root);
    snprintf(bcf, sizeof(bcf), "%s/csq.bcf", f->t.root);
    write_csq_vcf(vcf);
    htsFile *in = hts_open(vcf, "r"), *out = hts_open(bcf, "wb");
    assert_non_null(in);
    assert_non_null(out);
    bcf_hdr_t *h = bcf_hdr_read(in);
    assert_non_null(h);
    assert_int_equal(bcf_hdr_write(out, h), 0);
    bcf1_t *rec = bcf_init();
    while (bcf_read(in, h, rec) == 0)
        assert_int_equal(bcf_write(out, h, rec), 0);
    bcf_destroy(rec);
    bcf_hdr_destroy(h);
    hts_close(in);
    assert_int_equal(hts_close(out), 0);

    struct zg_import_result res;
    struct zg_error err;
    struct zg_import_opts o = {.case_id = f->case_id, .kind = ZG_VK_SOMATIC};
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, vcf, &o, &res, &err), 0);
    assert_int_equal(res.records, 7);
    assert_int_equal(res.annotated, 5);
    char *text = stored_dump(f->db);

    void *st2 = NULL;
    assert_int_equal(zg_test_fx_setup(&st2), 0);
    struct zg_test_fx *f2 = st2;
    o.case_id = f2->case_id;
    assert_int_equal(zg_variant_import(&f2->t.dd, f2->db, bcf, &o, &res, &err), 0);
    char *binary = stored_dump(f2->db);
    zg_test_fx_teardown(&st2);
    assert_string_equal(text, binary);
    /* and it is the right annotation: not the decoy's, the sample's values intact (the other
     * INFO keys: unit.genome_ingest cut_info_keeps_other_keys) */
    assert_non_null(strstr(text, "1:100A>T|GENE1|missense_variant|missense|ENST01|"
                                 "ENST01.1:c.1A>T|ENSP01.1:p.Met1Leu|PASS|0.25|40|10"));
    assert_non_null(strstr(text, "1:200C>G|GENE2|stop_gained|truncating|"));
    assert_non_null(strstr(text, "1:300A>C|GENE3|splice_donor_variant|splice|"));
    assert_non_null(strstr(text, "1:400AAAG>A|GENE4|inframe_deletion|inframe|"));
    assert_non_null(strstr(text, "1:600G>C|||||||PASS|0.5|10|5"));
    free(text);
    free(binary);
}

/* Text records htslib alone would take (a POS that is not a number reads as 0; a short line
 * is padded) are refused by record number, and nothing of the file is kept. */
static void rejects_bad_records(void **state)
{
    struct zg_test_fx *f = *state;
    static const char *const bad[][2] = {
        {"1\tabc\t.\tA\tT\t.\tPASS\t.\n", "record 2: POS is not a number"},
        {"1\t200\n", "record 2 has 2 columns"},
        {"1\t\t.\tA\tT\t.\tPASS\t.\n", "record 2: POS is not a number"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[600];
        snprintf(path, sizeof(path), "%s/bad%zu.vcf", f->t.root, i);
        FILE *o = fopen(path, "w");
        assert_non_null(o);
        fprintf(o,
                "##fileformat=VCFv4.2\n##contig=<ID=1,length=1000000>\n"
                "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Format: "
                "Allele|Consequence|SYMBOL\">\n"
                "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                "1\t100\t.\tA\tT\t.\tPASS\tCSQ=T|missense_variant|GENE1\n%s"
                "1\t300\t.\tA\tT\t.\tPASS\t.\n",
                bad[i][0]);
        fclose(o);
        struct zg_import_result res;
        struct zg_error err;
        zg_error_clear(&err);
        struct zg_import_opts io = {.case_id = f->case_id, .kind = ZG_VK_SOMATIC};
        assert_int_equal(zg_variant_import(&f->t.dd, f->db, path, &io, &res, &err), ZG_EINVAL);
        assert_string_equal(err.field, "path");
        assert_non_null(strstr(err.reason, bad[i][1]));
        assert_int_equal(count(f->db, "SELECT count(*) FROM genome_somatic"), 0);
        assert_int_equal(count(f->db, "SELECT count(*) FROM genome_imports"), 0);
    }
}

static void idempotent_and_never_mixed(void **state)
{
    struct zg_test_fx *f = *state;
    struct zg_import_result res;
    struct zg_error err;
    const char *rel = SHARED "/vcf/annotated/bcftools-tests/test/split-vep.vcf";
    assert_int_equal(import(f, rel, ZG_VK_SOMATIC, &res, &err), 0);
    int64_t rows = count(f->db, "SELECT count(*) FROM genome_somatic");
    assert_false(res.already);
    assert_int_equal(import(f, rel, ZG_VK_SOMATIC, &res, &err), 0);
    assert_true(res.already);
    assert_int_equal(count(f->db, "SELECT count(*) FROM genome_somatic"), rows);
    assert_int_equal(count(f->db, "SELECT count(*) FROM genome_imports"), 1);
    zg_error_clear(&err);
    assert_int_equal(import(f, rel, ZG_VK_GERMLINE, &res, &err), ZG_ECONFLICT);
    assert_int_equal(count(f->db, "SELECT count(*) FROM genome_germline"), 0);
}

static void germline_summary_only(void **state)
{
    struct zg_test_fx *f = *state;
    struct zg_import_result res;
    struct zg_error err;
    assert_int_equal(import(f, SHARED "/vcf/annotated/cyvcf2-tests/test.vcf.gz", ZG_VK_GERMLINE,
                            &res, &err),
                     0);
    assert_true(res.records > 100);
    assert_true(res.stored < res.alleles); /* only truncating/splice calls become rows */
    assert_int_equal(count(f->db, "SELECT count(*) FROM genome_somatic"), 0);
    assert_int_equal(
        count(f->db, "SELECT json_extract(germline_summary,'$.variants')>0 FROM genome_imports"),
        1);
}

static void file_registry_validates(void **state)
{
    struct zg_test_fx *f = *state;
    struct zg_error err;
    struct zg_file_info fi, again;
    char p[1200];
    struct zg_file_add_opts o = {.case_id = f->case_id, .pipeline = "test", .pipeline_version = "1"};
    shared_path(p, sizeof(p), SHARED "/bam_cram/htslib-test/range.bam");
    assert_int_equal(zg_file_add(&f->t.dd, f->db, p, &o, &fi, &err), 0);
    assert_int_equal(fi.format, ZG_FF_BAM);
    assert_int_equal(strlen(fi.sha256), 64);
    assert_int_equal(strlen(fi.md5), 32);
    assert_true(fi.index_path[0] != '\0');
    assert_int_equal(access(fi.path, R_OK), 0);
    /* same content, same case: the same id */
    assert_int_equal(zg_file_add(&f->t.dd, f->db, p, &o, &again, &err), 0);
    assert_string_equal(fi.id, again.id);
    assert_int_equal(zg_file_get(f->db, fi.id, &again, &err), 0);
    assert_string_equal(again.case_id, f->case_id);
    /* GRCh37 recognised from a VCF header (contig lengths) */
    shared_path(p, sizeof(p), SHARED "/vcf/annotated/cyvcf2-tests/test.vcf.gz");
    assert_int_equal(zg_file_add(&f->t.dd, f->db, p, &o, &fi, &err), 0);
    assert_string_equal(fi.reference, "GRCh37");
    assert_true(fi.index_path[0] != '\0');
    /* not a genome file */
    shared_path(p, sizeof(p), SHARED "/README.md");
    zg_error_clear(&err);
    assert_int_equal(zg_file_add(&f->t.dd, f->db, p, &o, &fi, &err), ZG_EINVAL);
    /* a truncated BAM: EOF marker missing */
    char cut[600];
    shared_path(p, sizeof(p), SHARED "/bam_cram/htslib-test/range.bam");
    size_t n;
    char *bytes = zg_test_slurp(p, &n);
    snprintf(cut, sizeof(cut), "%s/cut.bam", f->t.root);
    FILE *out = fopen(cut, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(bytes, 1, n - 100, out), n - 100);
    fclose(out);
    free(bytes);
    zg_error_clear(&err);
    assert_int_equal(zg_file_add(&f->t.dd, f->db, cut, &o, &fi, &err), ZG_EINVAL);
    assert_non_null(strstr(err.reason, "truncated"));
}

static void fisher_known_values(void **state)
{
    (void)state;
    /* R: fisher.test(matrix(c(3,1,1,3),2))$p.value = 0.4857143 */
    assert_true(fabs(zg_fisher_exact(3, 1, 1, 3) - 0.4857143) < 1e-6);
    /* perfect separation of 10 vs 10: 2 / choose(20,10) */
    assert_true(fabs(zg_fisher_exact(10, 0, 0, 10) - 2.0 / 184756.0) < 1e-12);
    assert_true(fabs(zg_fisher_exact(5, 5, 5, 5) - 1.0) < 1e-9);
}

/* --- query correctness against brute force ----------------------------------------------- */

#define MAXC 4096

/* Cases (by case_no) altered in gene, computed from the tables directly. */
static void brute_altered(sqlite3 *db, const char *gene, bool *out)
{
    memset(out, 0, MAXC * sizeof(bool));
    const char *sqls[] = {
        "SELECT s.case_no FROM genome_somatic s JOIN genome_sites t USING(site_no) WHERE "
        "t.gene=?1 AND t.class IN ('missense','truncating','splice','inframe') AND s.filter IN "
        "('PASS','.')",
        "SELECT case_no FROM genome_cnv WHERE call IN ('amp','del') AND ','||genes||',' LIKE "
        "'%,'||?1||',%'",
        "SELECT case_no FROM genome_sv WHERE filter IN ('PASS','.') AND ','||genes||',' LIKE "
        "'%,'||?1||',%'",
    };
    for (size_t i = 0; i < 3; i++) {
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db, sqls[i], -1, &st, NULL), SQLITE_OK);
        sqlite3_bind_text(st, 1, gene, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            int64_t c = sqlite3_column_int64(st, 0);
            assert_true(c > 0 && c < MAXC);
            out[c] = true;
        }
        sqlite3_finalize(st);
    }
}

static void queries_match_brute_force(void **state)
{
    struct zg_test_fx *f = *state;
    struct zg_error err;
    struct zg_synth_opts so = {.ncases = 300, .seed = 5, .org_id = f->org, .batch = 100};
    struct zg_synth_stats ss;
    assert_int_equal(zg_synth_cohort(&f->t.dd, f->db, &so, &ss, &err), 0);
    assert_int_equal(ss.cases, 300);
    struct zg_cohort *c;
    assert_int_equal(zg_cohort_acquire(zg_test_cohort_cache(), &f->t.dd, f->db, &c, &err), 0);

    /* case → cancer type, and which cases are profiled */
    static char ct[MAXC][17];
    static bool prof[MAXC], alt[4][MAXC];
    memset(prof, 0, sizeof(prof));
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT case_no,cancer_type FROM genome_cases",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t no = sqlite3_column_int64(st, 0);
        snprintf(ct[no], sizeof(ct[no]), "%s", (const char *)sqlite3_column_text(st, 1));
        prof[no] = true;
    }
    sqlite3_finalize(st);

    const char *genes[] = {"TP53", "KRAS", "CDKN2A", "ERG"};
    for (int g = 0; g < 4; g++)
        brute_altered(f->db, genes[g], alt[g]);
    struct zg_query_scope s = {0};
    json_t *j = zg_query_genes(c, genes, 4, "cancer-type", NULL, &s, &err);
    assert_non_null(j);
    size_t i;
    json_t *grp;
    int64_t total = 0;
    json_array_foreach(json_object_get(j, "groups"), i, grp)
    {
        const char *code = json_string_value(json_object_get(grp, "group"));
        int64_t np = 0, na = 0, ng[4] = {0};
        for (int k = 0; k < MAXC; k++) {
            if (!prof[k] || strcmp(ct[k], code))
                continue;
            np++;
            bool any = false;
            for (int g = 0; g < 4; g++)
                if (alt[g][k]) {
                    ng[g]++;
                    any = true;
                }
            na += any;
        }
        assert_int_equal(json_integer_value(json_object_get(grp, "profiled")), np);
        assert_int_equal(json_integer_value(json_object_get(grp, "altered")), na);
        for (int g = 0; g < 4; g++)
            assert_int_equal(json_integer_value(json_object_get(
                                 json_object_get(json_object_get(grp, "genes"), genes[g]),
                                 "altered")),
                             ng[g]);
        total += np;
    }
    assert_int_equal(total, 300);
    json_decref(j);

    /* co-occurrence counts */
    j = zg_query_cooccurrence(c, genes, 2, &s, &err);
    assert_non_null(j);
    int64_t both = 0;
    for (int k = 0; k < MAXC; k++)
        both += prof[k] && alt[0][k] && alt[1][k];
    json_t *p0 = json_array_get(json_object_get(j, "pairs"), 0);
    assert_int_equal(json_integer_value(json_object_get(p0, "both")), both);
    json_decref(j);

    /* suppression: no visible count in 1..k-1 */
    struct zg_query_scope sk = {.k_min = 5};
    j = zg_query_genes(c, genes, 4, NULL, NULL, &sk, &err);
    json_array_foreach(json_object_get(j, "groups"), i, grp)
    {
        json_t *v = json_object_get(grp, "altered");
        assert_true(json_is_null(v) || json_integer_value(v) == 0 || json_integer_value(v) >= 5);
    }
    json_decref(j);

    /* another organisation sees nothing */
    struct zg_decision d2 = {.allow = true, .obligations = ZG_OBL_OWN_ORG, .org_id = f->org + 1000};
    struct zg_query_scope so2;
    assert_int_equal(zg_query_scope_init(&so2, c, &d2, &err), 0);
    j = zg_query_genes(c, genes, 1, NULL, NULL, &so2, &err);
    assert_int_equal(json_integer_value(json_object_get(j, "profiled")), 0);
    json_decref(j);
    zg_query_scope_release(&so2);

    /* the persisted snapshot reloads to the same answers; an incremental update adds cases */
    int64_t gen = zg_cohort_generation(c);
    zg_cohort_release(c);
    char cid[ZG_ID_LEN];
    assert_int_equal(zg_case_add(f->db, f->org, NULL, 0, cid, NULL, &err), 0);
    char p[1200];
    shared_path(p, sizeof(p), SHARED "/vcf/annotated/bcftools-tests/test/split-vep.vcf");
    struct zg_import_opts io = {.case_id = cid, .kind = ZG_VK_SOMATIC, .cancer_type = "LUAD"};
    struct zg_import_result res;
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, p, &io, &res, &err), 0);
    struct zg_cohort_update_stats us;
    assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
    assert_int_equal(us.generation, gen + 1);
    assert_int_equal(us.imports_applied, 1);
    assert_int_equal(zg_cohort_acquire(zg_test_cohort_cache(), &f->t.dd, f->db, &c, &err), 0);
    assert_int_equal(zg_cohort_generation(c), gen + 1);
    const char *or4f5[] = {"OR4F5"};
    j = zg_query_genes(c, or4f5, 1, "none", NULL, &s, &err);
    assert_true(json_integer_value(json_object_get(j, "altered")) >= 1);
    assert_int_equal(json_integer_value(json_object_get(j, "profiled")), 301);
    json_decref(j);
    zg_cohort_release(c);
}

int main(void)
{
    /* the shared test data sits beside the project: <root>/../shared/data */
    snprintf(data_root, sizeof(data_root), "%s/..", ZG_DOCS_DIR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(vep_csq_genes_and_consequences, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(snpeff_eff_genes, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(ann_in_bcf, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(multiallelic_split, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(rejects_malformed_and_truncated, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(annotation_lifted_like_htslib, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(rejects_bad_records, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(idempotent_and_never_mixed, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(germline_summary_only, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(file_registry_validates, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test(fisher_known_values),
        cmocka_unit_test_setup_teardown(queries_match_brute_force, zg_test_fx_setup,
                                        zg_test_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
