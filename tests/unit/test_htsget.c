/* htsget planning/blocks and sequencing QC on real files from ../shared/data: coverage numbers
 * equal an independent computation (samtools depth -a over the same BAM: mean 16.207,
 * 61.62% ≥10×, 20.74% ≥30×), BAM and CRAM give the same coverage, the identity check tells the
 * same person from a different one, htsget refuses bad regions with the spec's reasons, and
 * plan blocks reassemble into a BAM that holds exactly the region's reads. */
#include "testutil.h"
#include "common/buf.h"
#include "common/error.h"
#include "genome/htsget.h"
#include "genome/qc.h"

#include <htslib/sam.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#define SD ZG_DOCS_DIR "/../../shared/data/bam_cram/strelka-demo20/"

static void demo_file(struct zg_file_info *f, enum zg_file_format fmt)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->id, sizeof(f->id), "ZGF-000000000001");
    f->format = fmt;
    snprintf(f->path, sizeof(f->path), "%s", fmt == ZG_FF_BAM ? SD "NA12891_demo20.bam"
                                                              : SD "NA12891_demo20.cram");
    snprintf(f->ref_fasta, sizeof(f->ref_fasta), "%s", SD "demo20.fa");
}

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static void coverage_matches_samtools_depth(void **state)
{
    (void)state;
    json_t *c = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    struct zg_qc_cov_opts o = {0};
    assert_int_equal(zg_qc_coverage(SD "NA12891_demo20.bam", &o, &c, &err), 0);
    assert_string_equal(json_string_value(json_object_get(c, "scope")), "all contigs");
    assert_true(fabs(num(c, "mean_autosome_coverage") - 16.21) < 0.006);
    assert_true(fabs(num(c, "pct_autosomes_10x") - 61.62) < 0.006);
    assert_true(fabs(num(c, "pct_autosomes_30x") - 20.74) < 0.006);
    assert_int_equal(json_integer_value(json_object_get(c, "raw_reads")), 829);
    json_t *contig = json_array_get(json_object_get(c, "contigs"), 0);
    assert_string_equal(json_string_value(json_object_get(contig, "name")), "demo20");
    assert_int_equal(json_integer_value(json_object_get(contig, "length")), 5000);

    /* the CRAM of the same reads gives the same numbers (no reference decoding needed) */
    json_t *k = NULL;
    assert_int_equal(zg_qc_coverage(SD "NA12891_demo20.cram", &o, &k, &err), 0);
    assert_true(fabs(num(k, "mean_autosome_coverage") - num(c, "mean_autosome_coverage")) < 1e-9);
    assert_true(fabs(num(k, "pct_autosomes_30x") - num(c, "pct_autosomes_30x")) < 1e-9);
    json_decref(k);

    /* a mapping-quality floor can only lower coverage */
    o.min_mapq = 60;
    assert_int_equal(zg_qc_coverage(SD "NA12891_demo20.bam", &o, &k, &err), 0);
    assert_true(num(k, "mean_autosome_coverage") < num(c, "mean_autosome_coverage"));
    json_decref(k);
    json_decref(c);

    assert_int_equal(zg_qc_coverage(SD "demo20.fa", &o, &k, &err), ZG_EINVAL);
}

static void identity_tells_people_apart(void **state)
{
    (void)state;
    struct zg_qc_identity_opts o = {.min_sites = 10};
    struct zg_error err;
    zg_error_clear(&err);
    json_t *same = NULL, *other = NULL;
    assert_int_equal(zg_qc_identity(SD "NA12891_demo20.cram", SD "demo20.fa",
                                    SD "NA12891_demo20.bam", NULL, &o, &same, &err),
                     0);
    assert_string_equal(json_string_value(json_object_get(same, "verdict")), "match");
    assert_int_equal(zg_qc_identity(SD "NA12892_demo20.bam", NULL, SD "NA12891_demo20.bam",
                                    NULL, &o, &other, &err),
                     0);
    assert_string_equal(json_string_value(json_object_get(other, "verdict")), "mismatch");
    assert_true(num(other, "concordance") < num(same, "concordance"));
    json_decref(same);
    json_decref(other);
}

static void plan_refuses_bad_regions(void **state)
{
    (void)state;
    struct zg_file_info f;
    demo_file(&f, ZG_FF_BAM);
    struct zg_hg_plan p;
    struct zg_error err;
    zg_error_clear(&err);
    struct zg_hg_query q = {.ref = "demo20", .start = 300, .end = 200};
    assert_int_equal(zg_htsget_plan(NULL, &f, &q, &p, &err), ZG_EINVAL);
    assert_string_equal(err.field, "start");
    q = (struct zg_hg_query){.ref = "chrNope", .start = -1, .end = -1};
    assert_int_equal(zg_htsget_plan(NULL, &f, &q, &p, &err), ZG_ENOTFOUND);
    q = (struct zg_hg_query){.ref = NULL, .start = 5, .end = -1};
    assert_int_equal(zg_htsget_plan(NULL, &f, &q, &p, &err), ZG_EINVAL);
    q = (struct zg_hg_query){.header_only = true, .ref = "demo20", .start = -1, .end = -1};
    assert_int_equal(zg_htsget_plan(NULL, &f, &q, &p, &err), ZG_EINVAL);
    /* "chr" added or removed when the exact name is absent */
    q = (struct zg_hg_query){.ref = "chrdemo20", .start = -1, .end = -1};
    assert_int_equal(zg_htsget_plan(NULL, &f, &q, &p, &err), 0);
    assert_string_equal(p.ref, "demo20");
    zg_htsget_plan_release(&p);
}

/* Reassembles a plan's blocks into a file and counts its reads. */
static int count_reassembled(const struct zg_file_info *f, const struct zg_hg_plan *p)
{
    char path[] = "/tmp/zg-test-htsget-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *out = fdopen(fd, "wb");
    struct zg_buf b;
    zg_buf_init(&b, ZG_HG_MAX_BLOCK + ((size_t)1 << 20));
    struct zg_hg_region rg = {p->tid, p->beg, p->end};
    for (size_t i = 0; i < p->n; i++) {
        const struct zg_hg_piece *pc = &p->pieces[i];
        struct zg_error err;
        zg_error_clear(&err);
        zg_buf_reset(&b);
        if (pc->kind == ZG_HG_DATA)
            assert_int_equal(zg_buf_add(&b, pc->data, pc->len), 0);
        else
            assert_int_equal(zg_htsget_block(NULL, f, pc->kind, pc->a, pc->b, &rg, "/tmp", &b, &err), 0);
        assert_int_equal(fwrite(b.p, 1, b.len, out), b.len);
    }
    zg_buf_release(&b);
    fclose(out);
    samFile *in = sam_open(path, "r");
    assert_non_null(in);
    if (f->format == ZG_FF_CRAM)
        hts_set_fai_filename(in, f->ref_fasta);
    sam_hdr_t *h = sam_hdr_read(in);
    bam1_t *r = bam_init1();
    int n = 0, rc;
    while ((rc = sam_read1(in, h, r)) >= 0) {
        assert_true(r->core.pos < p->end && bam_endpos(r) > p->beg);
        n++;
    }
    assert_int_equal(rc, -1);
    bam_destroy1(r);
    sam_hdr_destroy(h);
    sam_close(in);
    unlink(path);
    return n;
}

static void blocks_hold_exactly_the_region(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        struct zg_file_info f;
        demo_file(&f, k ? ZG_FF_CRAM : ZG_FF_BAM);
        struct zg_hg_plan p;
        struct zg_error err;
        zg_error_clear(&err);
        /* samtools view -c NA12891_demo20.bam demo20:1000-1200 → 53; demo20:2000-2001 → 21 */
        struct zg_hg_query q = {.ref = "demo20", .start = 999, .end = 1200};
        assert_int_equal(zg_htsget_plan(NULL, &f, &q, &p, &err), 0);
        assert_true(p.n >= 3);
        assert_true(p.pieces[0].header);
        assert_int_equal(count_reassembled(&f, &p), 53);
        zg_htsget_plan_release(&p);
        q = (struct zg_hg_query){.ref = "demo20", .start = 1999, .end = 2001};
        assert_int_equal(zg_htsget_plan(NULL, &f, &q, &p, &err), 0);
        assert_int_equal(count_reassembled(&f, &p), 21);
        zg_htsget_plan_release(&p);
    }
}

/* Copies src to dst through a new inode (like a re-upload replacing a file). */
static void replace_file(const char *src, const char *dst)
{
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.new", dst);
    FILE *in = fopen(src, "rb"), *out = fopen(tmp, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
    assert_int_equal(rename(tmp, dst), 0);
}

static int count_region(struct zg_hg_cache *c, const struct zg_file_info *f, const char *ref,
                        int64_t s, int64_t e)
{
    struct zg_hg_plan p;
    struct zg_error err;
    zg_error_clear(&err);
    struct zg_hg_query q = {.ref = ref, .start = s, .end = e};
    assert_int_equal(zg_htsget_plan(c, f, &q, &p, &err), 0);
    int n = count_reassembled(f, &p);
    zg_htsget_plan_release(&p);
    return n;
}

static void cache_reloads_a_changed_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/zg-test-hgcache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct zg_file_info f;
    demo_file(&f, ZG_FF_BAM);
    char bai[1100];
    snprintf(f.path, sizeof(f.path), "%s/reads.bam", dir);
    snprintf(bai, sizeof(bai), "%s.bai", f.path);
    replace_file(SD "NA12891_demo20.bam", f.path);
    replace_file(SD "NA12891_demo20.bam.bai", bai);

    struct zg_hg_cache *c;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_hg_cache_new(4, (size_t)64 << 20, &c, &err), 0);
    struct zg_hg_cache_stats st;
    /* samtools view -c: NA12891 demo20:1000-1200 → 53, NA12892 → 62 */
    assert_int_equal(count_region(c, &f, "demo20", 999, 1200), 53);
    assert_int_equal(count_region(c, &f, "demo20", 999, 1200), 53);
    zg_hg_cache_stats(c, &st);
    assert_int_equal(st.misses, 1);
    assert_true(st.hits >= 1);
    assert_int_equal(st.files, 1);

    /* another person's reads under the same path and id: the cached index must not be used */
    replace_file(SD "NA12892_demo20.bam", f.path);
    replace_file(SD "NA12892_demo20.bam.bai", bai);
    assert_int_equal(count_region(c, &f, "demo20", 999, 1200), 62);
    zg_hg_cache_stats(c, &st);
    assert_int_equal(st.reloads, 1);
    assert_int_equal(st.files, 1);

    /* a rebuilt index alone also counts as a change */
    replace_file(SD "NA12892_demo20.bam.bai", bai);
    assert_int_equal(count_region(c, &f, "demo20", 999, 1200), 62);
    zg_hg_cache_stats(c, &st);
    assert_int_equal(st.reloads, 2);

    /* a file that disappeared is an error, not a stale answer */
    unlink(f.path);
    struct zg_hg_plan p;
    struct zg_hg_query q = {.ref = "demo20", .start = 999, .end = 1200};
    assert_int_equal(zg_htsget_plan(c, &f, &q, &p, &err), ZG_EIO);
    zg_hg_cache_free(c);
    unlink(bai);
    rmdir(dir);
}

/* Several threads plan and cut blocks through one cache that holds a single file, so entries
 * are evicted while other threads still use them; every answer must equal the uncached one. */
struct worker {
    struct zg_hg_cache *c;
    const struct zg_file_info *files;
    const struct zg_hg_plan *want; /* [file][region] */
    const struct zg_buf *want_cram; /* CRAM edge bytes per region */
    atomic_int *failures;
    unsigned seed;
};

static const int64_t regions[][2] = {{999, 1200}, {1999, 2001}, {0, 5000}, {4000, 4900}};
#define NREG (sizeof(regions) / sizeof(regions[0]))

static bool same_plan(const struct zg_hg_plan *a, const struct zg_hg_plan *b)
{
    if (a->n != b->n || a->tid != b->tid || a->beg != b->beg || a->end != b->end)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->pieces[i].kind != b->pieces[i].kind || a->pieces[i].a != b->pieces[i].a ||
            a->pieces[i].b != b->pieces[i].b || a->pieces[i].header != b->pieces[i].header)
            return false;
    return true;
}

/* The bytes of a plan's non-inline pieces, concatenated. */
static int plan_bytes(struct zg_hg_cache *c, const struct zg_file_info *f,
                      const struct zg_hg_plan *p, struct zg_buf *out)
{
    struct zg_buf b;
    zg_buf_init(&b, ZG_HG_MAX_BLOCK + ((size_t)1 << 20));
    struct zg_hg_region rg = {p->tid, p->beg, p->end};
    int rc = 0;
    for (size_t i = 0; i < p->n && !rc; i++) {
        struct zg_error err;
        zg_error_clear(&err);
        zg_buf_reset(&b);
        if (p->pieces[i].kind == ZG_HG_DATA)
            continue;
        rc = zg_htsget_block(c, f, p->pieces[i].kind, p->pieces[i].a, p->pieces[i].b, &rg,
                             "/tmp", &b, &err);
        if (!rc)
            rc = zg_buf_add(out, b.p, b.len);
    }
    zg_buf_release(&b);
    return rc;
}

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    for (int it = 0; it < 40; it++) {
        w->seed = w->seed * 1103515245u + 12345u;
        size_t k = (w->seed >> 16) % 2, r = (w->seed >> 8) % NREG;
        struct zg_hg_query q = {.ref = "demo20", .start = regions[r][0], .end = regions[r][1]};
        struct zg_hg_plan p;
        struct zg_error err;
        zg_error_clear(&err);
        if (zg_htsget_plan(w->c, &w->files[k], &q, &p, &err) != 0 ||
            !same_plan(&p, &w->want[k * NREG + r])) {
            atomic_fetch_add(w->failures, 1);
        } else if (k == 1 && it % 4 == 0) { /* CRAM: re-encode edges with the shared reference */
            struct zg_buf got;
            zg_buf_init(&got, (size_t)64 << 20);
            if (plan_bytes(w->c, &w->files[k], &p, &got) != 0 ||
                got.len != w->want_cram[r].len || memcmp(got.p, w->want_cram[r].p, got.len))
                atomic_fetch_add(w->failures, 1);
            zg_buf_release(&got);
        }
        zg_htsget_plan_release(&p);
    }
    return NULL;
}

static void cache_is_safe_under_concurrent_use(void **state)
{
    (void)state;
    struct zg_file_info files[2];
    demo_file(&files[0], ZG_FF_BAM);
    demo_file(&files[1], ZG_FF_CRAM);
    snprintf(files[1].id, sizeof(files[1].id), "ZGF-000000000002");
    struct zg_hg_plan want[2 * NREG];
    struct zg_buf want_cram[NREG];
    struct zg_error err;
    zg_error_clear(&err);
    for (size_t k = 0; k < 2; k++)
        for (size_t r = 0; r < NREG; r++) {
            struct zg_hg_query q = {.ref = "demo20", .start = regions[r][0],
                                    .end = regions[r][1]};
            assert_int_equal(zg_htsget_plan(NULL, &files[k], &q, &want[k * NREG + r], &err), 0);
            if (k == 1) {
                zg_buf_init(&want_cram[r], (size_t)64 << 20);
                assert_int_equal(plan_bytes(NULL, &files[1], &want[NREG + r], &want_cram[r]), 0);
            }
        }
    struct zg_hg_cache *c;
    assert_int_equal(zg_hg_cache_new(1, (size_t)64 << 20, &c, &err), 0);
    atomic_int failures = 0;
    pthread_t t[4];
    struct worker w[4];
    for (unsigned i = 0; i < 4; i++) {
        w[i] = (struct worker){c, files, want, want_cram, &failures, 7u + i};
        assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&failures), 0);
    struct zg_hg_cache_stats st;
    zg_hg_cache_stats(c, &st);
    assert_true(st.hits > 0);
    assert_true(st.evictions > 0); /* two files, room for one */
    assert_true(st.files <= 1);
    zg_hg_cache_free(c);
    for (size_t i = 0; i < 2 * NREG; i++)
        zg_htsget_plan_release(&want[i]);
    for (size_t r = 0; r < NREG; r++)
        zg_buf_release(&want_cram[r]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(coverage_matches_samtools_depth),
        cmocka_unit_test(identity_tells_people_apart),
        cmocka_unit_test(plan_refuses_bad_regions),
        cmocka_unit_test(blocks_hold_exactly_the_region),
        cmocka_unit_test(cache_reloads_a_changed_file),
        cmocka_unit_test(cache_is_safe_under_concurrent_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
