/* Unit tests of the variant-ingest pipeline (src/genome/ingest.c: a parser thread hands
 * batches of rows to the storing thread): imports much larger than one batch store exactly
 * the rows a direct reading of the file gives; an error found after many batches were already
 * stored leaves nothing behind; records with many alleles; streaming SHA-256 (crypto/digest.c)
 * equals the one-shot digest. */
#include "testutil.h"

#include "auth/auth.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "genome/files_internal.h"
#include "genome/variants.h"
#include "ids/ids.h"
#include "store/db.h"

#include <htslib/bgzf.h>


/* Writes a somatic VCF of n records (every 7th bi-allelic record becomes tri-allelic, every
 * 11th is filtered) with VEP CSQ; `bad_after` > 0 inserts an unparsable record there. */
static void write_vcf(const char *path, int n, int bad_after)
{
    FILE *o = fopen(path, "w");
    assert_non_null(o);
    fputs("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
          "##FILTER=<ID=PASS,Description=\"All filters passed\">\n"
          "##FILTER=<ID=weak,Description=\"weak evidence\">\n"
          "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Consequence annotations from "
          "Ensembl VEP. Format: Allele|Consequence|SYMBOL|Feature|HGVSc|HGVSp|CANONICAL\">\n"
          "##FORMAT=<ID=AD,Number=R,Type=Integer,Description=\"Allelic depths\">\n"
          "##FORMAT=<ID=DP,Number=1,Type=Integer,Description=\"Depth\">\n"
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n",
          o);
    static const char *const genes[] = {"TP53", "KRAS", "EGFR", "BRAF", "PIK3CA"};
    static const char *const cons[] = {"missense_variant", "stop_gained", "synonymous_variant",
                                       "splice_donor_variant", "intron_variant"};
    for (int i = 0; i < n; i++) {
        if (bad_after > 0 && i == bad_after)
            fputs("chr1\t5\t.\tA\tC\t.\tPASS\t.\tAD:DP\n", o); /* no sample column */
        int pos = 1000 + i * 10;
        const char *g = genes[i % 5], *c = cons[(i / 5) % 5];
        if (i % 7 == 0)
            fprintf(o,
                    "chr1\t%d\t.\tA\tC,G\t.\tPASS\tCSQ=C|%s|%s|ENST%d|c.%dA>C|p.X%d|YES,"
                    "G|%s|%s|ENST%d|c.%dA>G|p.Y%d|YES\tAD:DP\t10,5,3:18\n",
                    pos, c, g, i, i, i, c, g, i, i, i);
        else
            fprintf(o,
                    "chr1\t%d\t.\tG\tT\t.\t%s\tCSQ=T|%s|%s|ENST%d|c.%dG>T|p.Z%d|YES\tAD:DP\t"
                    "20,%d:%d\n",
                    pos, i % 11 == 0 ? "weak" : "PASS", c, g, i, i, i, i % 30 + 1, 20 + i % 30 + 1);
    }
    fclose(o);
}

struct progress {
    int calls;
    int64_t last_records;
    bool monotonic;
    int stop_at; /* > 0: ask to stop at this call */
};

static bool on_progress(void *ctx, int64_t records, int64_t stored)
{
    struct progress *p = ctx;
    (void)stored;
    if (records < p->last_records)
        p->monotonic = false;
    p->last_records = records;
    p->calls++;
    return p->stop_at > 0 && p->calls >= p->stop_at;
}

static void many_batches_store_every_row(void **state)
{
    struct zg_test_fx *f = *state;
    enum { N = 150000 }; /* ~37 batches of 4096 rows, > 2 progress reports */
    char path[1200];
    snprintf(path, sizeof(path), "%s/big.vcf", f->t.root);
    write_vcf(path, N, 0);
    struct progress pr = {.monotonic = true};
    struct zg_import_opts o = {
        .case_id = f->case_id, .kind = ZG_VK_SOMATIC, .progress = on_progress, .progress_ctx = &pr};
    struct zg_import_result res;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, path, &o, &res, &err), 0);
    int64_t multi = (N + 6) / 7;
    assert_int_equal(res.records, N);
    assert_int_equal(res.alleles, N + multi);
    assert_int_equal(res.stored, N + multi);
    assert_int_equal(res.annotated, N + multi);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_somatic"), N + multi);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_sites"), N + multi);
    /* each row kept its own annotation, depth and filter (no mix-up between batches) */
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_sites WHERE "
                                  "CAST(substr(transcript,5) AS INTEGER)*10+1000 <> pos"),
                     0);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_sites s JOIN genome_somatic c "
                                  "USING(site_no) WHERE s.alt='T' AND c.alt_depth <> "
                                  "((s.pos-1000)/10)%30+1"),
                     0);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_somatic WHERE filter='weak'"),
                     zg_test_count(f->db, "SELECT count(*) FROM genome_sites s JOIN genome_somatic c "
                                  "USING(site_no) WHERE ((s.pos-1000)/10)%11=0 AND "
                                  "((s.pos-1000)/10)%7<>0"));
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_sites WHERE alt='G' AND "
                                  "hgvsc NOT LIKE '%A>G'"),
                     0);
    /* progress: the final call reports every record, counts never go backwards */
    assert_true(pr.calls >= 3);
    assert_true(pr.monotonic);
    assert_int_equal(pr.last_records, N);
    /* re-importing the same file changes nothing */
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, path, &o, &res, &err), 0);
    assert_true(res.already);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_somatic"), N + multi);
}

static void error_after_many_batches_keeps_nothing(void **state)
{
    struct zg_test_fx *f = *state;
    char path[1200];
    snprintf(path, sizeof(path), "%s/bad.vcf", f->t.root);
    write_vcf(path, 60000, 50000); /* 12+ batches are stored before the bad record is read */
    struct zg_import_opts o = {.case_id = f->case_id, .kind = ZG_VK_SOMATIC};
    struct zg_import_result res;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, path, &o, &res, &err), ZG_EINVAL);
    assert_non_null(strstr(err.reason, "record 50001 is malformed"));
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_imports"), 0);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_somatic"), 0);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_sites"), 0);
    /* and the connection is usable: a good file imports afterwards */
    write_vcf(path, 5000, 0);
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, path, &o, &res, &err), 0);
    assert_int_equal(res.records, 5000);
}

static void stopping_from_progress_keeps_nothing(void **state)
{
    struct zg_test_fx *f = *state;
    char path[1200];
    snprintf(path, sizeof(path), "%s/stop.vcf", f->t.root);
    write_vcf(path, 150000, 0);
    struct progress pr = {.monotonic = true, .stop_at = 1};
    struct zg_import_opts o = {
        .case_id = f->case_id, .kind = ZG_VK_SOMATIC, .progress = on_progress, .progress_ctx = &pr};
    struct zg_import_result res;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, path, &o, &res, &err), ZG_ECANCELED);
    assert_int_equal(pr.calls, 1);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_imports"), 0);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_somatic"), 0);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_sites"), 0);
}

/* Plain-text records are read in blocks that also feed the file's SHA-256: lines across block
 * boundaries, CRLF endings, a line longer than the buffer, a last line without its newline;
 * the digest equals the file's; a line over the limit is refused by record number. */
static void text_blocks_lines_and_digest(void **state)
{
    struct zg_test_fx *f = *state;
    char path[1200];
    snprintf(path, sizeof(path), "%s/crlf.vcf", f->t.root);
    FILE *o = fopen(path, "wb");
    assert_non_null(o);
    fputs("##fileformat=VCFv4.2\r\n##contig=<ID=1,length=248956422>\r\n"
          "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Consequence annotations from "
          "Ensembl VEP. Format: Allele|Consequence|SYMBOL|Feature\">\r\n"
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\r\n",
          o);
    enum { N = 30000, BIG = 2500 }; /* record BIG carries a 3 MiB annotation */
    for (int i = 0; i < N; i++) {
        fprintf(o, "1\t%d\t.\tG\tT\t.\tPASS\tCSQ=T|missense_variant|GENE%d|ENST%d", 1000 + i * 10,
                i % 50, i);
        if (i == BIG)
            for (int k = 0; k < 60000; k++) /* more transcripts, 52 bytes each */
                fprintf(o, ",T|intron_variant|GENE%d|ENST%036d", i % 50, k);
        fputs(i == N - 1 ? "" : "\r\n", o);
    }
    fclose(o);
    struct zg_import_opts io = {.case_id = f->case_id, .kind = ZG_VK_SOMATIC};
    struct zg_import_result res;
    struct zg_error err;
    zg_error_clear(&err);
    int rc = zg_variant_import(&f->t.dd, f->db, path, &io, &res, &err);
    if (rc)
        print_message("%s: %s\n", err.field, err.reason);
    assert_int_equal(rc, 0);
    assert_int_equal(res.records, N);
    assert_int_equal(res.annotated, N);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_sites WHERE"
                                          " class = 'missense' AND transcript = 'ENST'||"
                                          "((pos - 1000) / 10) AND gene = 'GENE'||"
                                          "((pos - 1000) / 10 % 50)"),
                     N);
    char want[ZG_SHA256_HEX];
    assert_int_equal(zg_sha256_file(path, want, &err), 0);
    assert_string_equal(res.sha256, want);
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, path, &io, &res, &err), 0);
    assert_true(res.already);

    /* a record over the 64 MiB line limit */
    snprintf(path, sizeof(path), "%s/long.vcf", f->t.root);
    o = fopen(path, "wb");
    assert_non_null(o);
    fputs("##fileformat=VCFv4.2\n##contig=<ID=1,length=248956422>\n"
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t100\t.\tG\tT\t.\tPASS\t.\n"
          "1\t200\t.\tG\tT\t.\tPASS\tX=",
          o);
    static char chunk[1 << 16];
    memset(chunk, 'A', sizeof(chunk));
    for (int k = 0; k < 1040; k++) /* 65 MiB */
        assert_int_equal(fwrite(chunk, 1, sizeof(chunk), o), sizeof(chunk));
    fputs("\n", o);
    fclose(o);
    zg_error_clear(&err);
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, path, &io, &res, &err), ZG_EINVAL);
    assert_string_equal(err.field, "path");
    assert_non_null(strstr(err.reason, "record 2 is over 64 MiB long"));
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_imports"), 1);
}

/* The annotation cut out of INFO before htslib parses a text record: the value, and the line
 * left with the other keys intact. */
static void cut_info_keeps_other_keys(void **state)
{
    (void)state;
    static const struct {
        const char *info, *left, *value; /* value NULL: no such key, the line is untouched */
    } cases[] = {
        {"AF=0.5;CSQ=abc;DP=10", "AF=0.5;DP=10", "abc"},
        {"CSQ=abc;AF=1", "AF=1", "abc"},
        {"AF=1;CSQ=abc", "AF=1", "abc"},
        {"CSQ=abc", ".", "abc"},
        {"XCSQ=no;CSQX=no;CSQ=yes;CS=1", "XCSQ=no;CSQX=no;CS=1", "yes"},
        {"CSQ=", ".", ""},
        {"CSQ;DP=1", "CSQ;DP=1", NULL},
        {"DP=3", "DP=3", NULL},
        {".", ".", NULL},
        {"CSQ=a;CSQ=b", "CSQ=b", "a"},
        {";CSQ=x", ".", "x"},
        {"CSQ=x;", ".", "x"},
        {"a;;CSQ=x;;b", "a;;;b", "x"},
    };
    char *buf = NULL;
    int cap = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[256], want[256];
        int pre = snprintf(line, sizeof(line), "1\t100\t.\tA\tT\t.\tPASS\t");
        snprintf(line + pre, sizeof(line) - (size_t)pre, "%s\tGT:AD\t0/1:3,4", cases[i].info);
        snprintf(want, sizeof(want), "1\t100\t.\tA\tT\t.\tPASS\t%s\tGT:AD\t0/1:3,4", cases[i].left);
        size_t len = strlen(line);
        int r = zg_vcf_cut_info(line, &len, (size_t)pre, (size_t)pre + strlen(cases[i].info), "CSQ",
                                &buf, &cap);
        if (cases[i].value) {
            assert_int_equal(r, (int)strlen(cases[i].value));
            assert_string_equal(buf, cases[i].value);
        } else {
            assert_int_equal(r, -1);
        }
        assert_string_equal(line, want);
        assert_int_equal(len, strlen(want));
    }
    free(buf);
}

/* Blank lines (in the header, the body, at the end) and '#' comment lines are not records,
 * in a plain-text and a bgzipped VCF alike. */
static void blank_and_comment_lines_skipped(void **state)
{
    struct zg_test_fx *f = *state;
    static const char text[] =
        "##fileformat=VCFv4.2\n\n##contig=<ID=1,length=1000000>\n"
        "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Format: Allele|Consequence|SYMBOL\">\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "1\t100\t.\tA\tT\t.\tPASS\tCSQ=T|missense_variant|GENE1\n\n"
        "#a comment\n"
        "1\t200\t.\tA\tG\t.\tPASS\tCSQ=G|stop_gained|GENE2\n\n\n";
    char plain[600], gz[600];
    snprintf(plain, sizeof(plain), "%s/blank.vcf", f->t.root);
    snprintf(gz, sizeof(gz), "%s/blank.vcf.gz", f->t.root);
    FILE *o = fopen(plain, "w");
    assert_non_null(o);
    fputs(text, o);
    fclose(o);
    BGZF *z = bgzf_open(gz, "w");
    assert_non_null(z);
    assert_int_equal(bgzf_write(z, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    assert_int_equal(bgzf_close(z), 0);
    const char *paths[] = {plain, gz};
    for (int i = 0; i < 2; i++) {
        struct zg_import_opts io = {.case_id = f->case_id, .kind = ZG_VK_SOMATIC};
        struct zg_import_result res;
        struct zg_error err;
        zg_error_clear(&err);
        int rc = zg_variant_import(&f->t.dd, f->db, paths[i], &io, &res, &err);
        if (rc)
            print_message("%s: %s\n", err.field, err.reason);
        assert_int_equal(rc, 0);
        assert_int_equal(res.records, 2);
        assert_int_equal(res.annotated, 2);
    }
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_sites WHERE"
                                          " gene IN ('GENE1','GENE2')"),
                     2);
    /* a POS longer than any position stored is named as such */
    snprintf(plain, sizeof(plain), "%s/far.vcf", f->t.root);
    o = fopen(plain, "w");
    assert_non_null(o);
    fputs("##fileformat=VCFv4.2\n##contig=<ID=1,length=1000000>\n"
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t10009999919\t.\tA\tT\t.\tPASS\t.\n",
          o);
    fclose(o);
    struct zg_import_opts io = {.case_id = f->case_id, .kind = ZG_VK_SOMATIC};
    struct zg_import_result res;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_variant_import(&f->t.dd, f->db, plain, &io, &res, &err), ZG_EINVAL);
    assert_non_null(strstr(err.reason, "record 1: POS is beyond the positions stored"));
}

static void streaming_sha256_matches_one_shot(void **state)
{
    struct zg_test_fx *f = *state;
    char path[1200];
    snprintf(path, sizeof(path), "%s/blob.bin", f->t.root);
    size_t n = (3u << 20) + 12345; /* spans several read chunks */
    unsigned char *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(i * 2654435761u >> 13);
    FILE *o = fopen(path, "wb");
    assert_non_null(o);
    assert_int_equal(fwrite(b, 1, n, o), n);
    fclose(o);
    char want[ZG_SHA256_HEX], got[ZG_SHA256_HEX];
    zg_sha256_hex(b, n, want);
    struct zg_error err;
    assert_int_equal(zg_sha256_file(path, got, &err), 0);
    assert_string_equal(got, want);
    /* the incremental API in uneven pieces */
    struct zg_sha256_ctx *c = zg_sha256_begin();
    assert_non_null(c);
    for (size_t off = 0; off < n;) {
        size_t k = (off * 7 + 1) % 70001 + 1;
        if (k > n - off)
            k = n - off;
        zg_sha256_update(c, b + off, k);
        off += k;
    }
    zg_sha256_end(c, got);
    assert_string_equal(got, want);
    free(b);
    assert_int_equal(zg_sha256_file("/nonexistent/zengen", got, &err), ZG_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(many_batches_store_every_row, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(error_after_many_batches_keeps_nothing, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(stopping_from_progress_keeps_nothing, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(text_blocks_lines_and_digest, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test(cut_info_keeps_other_keys),
        cmocka_unit_test_setup_teardown(blank_and_comment_lines_skipped, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(streaming_sha256_matches_one_shot, zg_test_fx_setup,
                                        zg_test_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
