/* Unit tests of the cohort queries under the policy's permitted case set: on a generated cohort
 * whose clinical records give consent statuses and diagnoses, every query agrees with a
 * brute-force computation over the tables restricted to the permitted cases; a withdrawn
 * consent leaves the counts at the next acquire, a renewed one brings the case back. */
#include "testutil.h"

#include "auth/auth.h"
#include "clinical/clinical.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "genome/cohort.h"
#include "genome/synth.h"
#include "genome/variants.h"
#include "ids/ids.h"
#include "policy/policy.h"
#include "store/db.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define MAXC 4096
#define NCASES 300

/* What the brute force knows of each case_no. */
static struct {
    bool exists, prof, som;
    char id[ZG_ID_LEN];
    char ct[17]; /* effective cancer type */
    int consent; /* enum zg_consent */
    int64_t org;
    bool alt[5];    /* per gene of genes[] */
    bool cls[5][2]; /* missense, truncating (somatic) */
    double tmb;
} cs[MAXC];

static const char *const genes[] = {"TP53", "KRAS", "PIK3CA", "CDKN2A", "ERG"};

static void brute_gene(sqlite3 *db, int g)
{
    static const char *const sqls[] = {
        "SELECT s.case_no, t.class FROM genome_somatic s JOIN genome_sites t USING(site_no) "
        "WHERE t.gene=?1 AND t.class IN ('missense','truncating','splice','inframe') AND "
        "s.filter IN ('PASS','.')",
        "SELECT case_no, call FROM genome_cnv WHERE call IN ('amp','del') AND "
        "','||genes||',' LIKE '%,'||?1||',%'",
        "SELECT case_no, svtype FROM genome_sv WHERE filter IN ('PASS','.') AND "
        "','||genes||',' LIKE '%,'||?1||',%'",
    };
    for (size_t i = 0; i < 3; i++) {
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db, sqls[i], -1, &st, NULL), SQLITE_OK);
        sqlite3_bind_text(st, 1, genes[g], -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            int64_t c = sqlite3_column_int64(st, 0);
            assert_true(c > 0 && c < MAXC);
            cs[c].alt[g] = true;
            const char *cl = (const char *)sqlite3_column_text(st, 1);
            if (i == 0 && !strcmp(cl, "missense"))
                cs[c].cls[g][0] = true;
            if (i == 0 && !strcmp(cl, "truncating"))
                cs[c].cls[g][1] = true;
        }
        sqlite3_finalize(st);
    }
}

/* Case table, profiles and the genes' alterations from the tables (clinical records decide
 * the cancer type and the consent). */
static void brute_load(sqlite3 *db)
{
    memset(cs, 0, sizeof(cs));
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT g.case_no, g.case_id, g.cancer_type, g.org_id,"
                           " g.n_somatic / g.callable_mb, r.oncotree,"
                           " json_extract(v.doc, '$.consent.status') FROM genome_cases g"
                           " LEFT JOIN clinical_records r ON r.case_id = g.case_id"
                           " LEFT JOIN clinical_versions v ON v.case_id = r.case_id"
                           " AND v.version = r.version",
                           -1, &st, NULL),
        SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t no = sqlite3_column_int64(st, 0);
        assert_true(no > 0 && no < MAXC);
        cs[no].exists = true;
        snprintf(cs[no].id, sizeof(cs[no].id), "%s", (const char *)sqlite3_column_text(st, 1));
        const char *onc = (const char *)sqlite3_column_text(st, 5);
        snprintf(cs[no].ct, sizeof(cs[no].ct), "%s",
                 onc && *onc ? onc : (const char *)sqlite3_column_text(st, 2));
        cs[no].org = sqlite3_column_int64(st, 3);
        cs[no].tmb = sqlite3_column_double(st, 4);
        const char *status = (const char *)sqlite3_column_text(st, 6);
        enum zg_consent k = ZG_CONSENT_UNRECORDED;
        if (status && zg_consent_parse(status, &k))
            k = ZG_CONSENT_UNRECORDED;
        cs[no].consent = (int)k;
    }
    sqlite3_finalize(st);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT case_no, kind FROM genome_imports", -1, &st, NULL),
        SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t no = sqlite3_column_int64(st, 0);
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        if (strcmp(kind, "germline"))
            cs[no].prof = true;
        if (!strcmp(kind, "somatic"))
            cs[no].som = true;
    }
    sqlite3_finalize(st);
    for (int g = 0; g < 5; g++)
        brute_gene(db, g);
}

static bool permitted(int no, const struct zg_decision *d)
{
    if (!cs[no].exists)
        return false;
    if ((d->obligations & ZG_OBL_CONSENT) && !(d->consent & ZG_CONSENT_BIT(cs[no].consent)))
        return false;
    if ((d->obligations & ZG_OBL_OWN_ORG) && cs[no].org != d->org_id)
        return false;
    return true;
}

static int64_t jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

/* Every gene query (plain and by class), co-occurrence, OncoPrint, TMB and overview agree with
 * the brute force under decision d. */
static void check_all(struct zg_test_fx *f, const struct zg_decision *d)
{
    struct zg_error err;
    struct zg_cohort *c;
    assert_int_equal(zg_cohort_acquire(zg_test_cohort_cache(), &f->t.dd, f->db, &c, &err), 0);
    struct zg_query_scope s;
    assert_int_equal(zg_query_scope_init(&s, c, d, &err), 0);
    s.k_min = 0; /* exact counts for comparison */
    int64_t want_prof = 0, want_alt = 0, want_cases = 0;
    for (int k = 0; k < MAXC; k++) {
        if (!permitted(k, d))
            continue;
        want_cases++;
        if (!cs[k].prof)
            continue;
        want_prof++;
        bool any = false;
        for (int g = 0; g < 5; g++)
            any |= cs[k].alt[g];
        want_alt += any;
    }
    for (int by_class = 0; by_class < 2; by_class++) {
        json_t *j = zg_query_genes(c, genes, 5, "cancer-type",
                                   by_class ? "missense,truncating" : NULL, &s, &err);
        assert_non_null(j);
        assert_int_equal(jint(j, "profiled"), want_prof);
        if (!by_class)
            assert_int_equal(jint(j, "altered"), want_alt);
        size_t i;
        json_t *grp;
        int64_t total = 0;
        json_array_foreach(json_object_get(j, "groups"), i, grp)
        {
            const char *code = json_string_value(json_object_get(grp, "group"));
            int64_t np = 0, na = 0, ng[5] = {0}, nc[5][2] = {{0}};
            for (int k = 0; k < MAXC; k++) {
                if (!permitted(k, d) || !cs[k].prof || strcmp(cs[k].ct, code))
                    continue;
                np++;
                bool any = false;
                for (int g = 0; g < 5; g++) {
                    bool a = by_class ? cs[k].cls[g][0] || cs[k].cls[g][1] : cs[k].alt[g];
                    ng[g] += a;
                    any |= a;
                    nc[g][0] += cs[k].cls[g][0];
                    nc[g][1] += cs[k].cls[g][1];
                }
                na += any;
            }
            assert_int_equal(jint(grp, "profiled"), np);
            assert_int_equal(jint(grp, "altered"), na);
            for (int g = 0; g < 5; g++) {
                json_t *gj = json_object_get(json_object_get(grp, "genes"), genes[g]);
                assert_int_equal(jint(gj, "altered"), ng[g]);
                json_t *cl = json_object_get(gj, "classes");
                json_t *m = json_object_get(cl, "missense"), *t = json_object_get(cl, "truncating");
                assert_int_equal(m ? json_integer_value(m) : 0, nc[g][0]);
                assert_int_equal(t ? json_integer_value(t) : 0, nc[g][1]);
            }
            total += np;
        }
        assert_int_equal(total, want_prof);
        json_decref(j);
    }
    /* dataset and no grouping give the same totals */
    json_t *j = zg_query_genes(c, genes, 5, "none", NULL, &s, &err);
    assert_int_equal(jint(j, "profiled"), want_prof);
    assert_int_equal(jint(j, "altered"), want_alt);
    json_decref(j);
    j = zg_query_genes(c, genes, 5, "dataset", NULL, &s, &err);
    assert_int_equal(jint(j, "altered"), want_alt);
    int64_t dsum[5][3] = {{0}}; /* per gene: altered, missense, truncating over the datasets */
    size_t di;
    json_t *dg;
    json_array_foreach(json_object_get(j, "groups"), di, dg)
    {
        for (int g = 0; g < 5; g++) {
            json_t *gj = json_object_get(json_object_get(dg, "genes"), genes[g]);
            json_t *cl = json_object_get(gj, "classes");
            json_t *m = json_object_get(cl, "missense"), *t = json_object_get(cl, "truncating");
            dsum[g][0] += jint(gj, "altered");
            dsum[g][1] += m ? json_integer_value(m) : 0;
            dsum[g][2] += t ? json_integer_value(t) : 0;
        }
    }
    for (int g = 0; g < 5; g++) {
        int64_t want[3] = {0};
        for (int k = 0; k < MAXC; k++)
            if (permitted(k, d) && cs[k].prof) {
                want[0] += cs[k].alt[g];
                want[1] += cs[k].cls[g][0];
                want[2] += cs[k].cls[g][1];
            }
        assert_int_equal(dsum[g][0], want[0]);
        assert_int_equal(dsum[g][1], want[1]);
        assert_int_equal(dsum[g][2], want[2]);
    }
    json_decref(j);

    /* co-occurrence of TP53 and KRAS */
    j = zg_query_cooccurrence(c, genes, 2, &s, &err);
    assert_non_null(j);
    int64_t both = 0;
    for (int k = 0; k < MAXC; k++)
        both += permitted(k, d) && cs[k].prof && cs[k].alt[0] && cs[k].alt[1];
    json_t *p0 = json_array_get(json_object_get(j, "pairs"), 0);
    assert_int_equal(jint(p0, "both"), both);
    assert_int_equal(jint(j, "profiled"), want_prof);
    json_decref(j);

    /* OncoPrint: the altered permitted cases, each with its effective cancer type */
    j = zg_query_oncoprint(c, genes, 5, 5000, &s, &err);
    assert_non_null(j);
    assert_int_equal(jint(j, "altered"), want_alt);
    assert_int_equal((int64_t)json_array_size(json_object_get(j, "cases")), want_alt);
    json_decref(j);

    /* TMB: cases per cancer type (somatic profile) */
    j = zg_query_tmb(c, &s, &err);
    assert_non_null(j);
    size_t i;
    json_t *grp;
    json_array_foreach(json_object_get(j, "groups"), i, grp)
    {
        const char *code = json_string_value(json_object_get(grp, "group"));
        int64_t n = 0;
        for (int k = 0; k < MAXC; k++)
            n += permitted(k, d) && cs[k].som && cs[k].prof && !strcmp(cs[k].ct, code);
        assert_int_equal(jint(grp, "n"), n);
    }
    json_decref(j);

    /* overview: every permitted genome case */
    j = zg_query_overview(c, &s, &err);
    assert_non_null(j);
    assert_int_equal(jint(j, "cases"), want_cases);
    json_decref(j);
    zg_query_scope_release(&s);
    zg_cohort_release(c);
}

static int put_record(struct zg_test_fx *f, const char *case_id, const char *status,
                      const char *oncotree)
{
    json_t *rec = json_object();
    if (status)
        json_object_set_new(rec, "consent", json_pack("{s:s}", "status", status));
    if (oncotree)
        json_object_set_new(rec, "diagnosis", json_pack("{s:s}", "oncotree", oncotree));
    struct zg_clinical_actor who = {.login = "test", .org_id = f->org};
    struct zg_clinical_push p = {
        .case_id = case_id, .record = rec, .merge = true, .source_system = "test"};
    struct zg_clinical_result res;
    struct zg_error err;
    int rc = zg_db_begin(f->db, &err);
    if (!rc)
        rc = zg_clinical_put(f->db, &who, &p, &res, NULL, &err);
    if (!rc)
        rc = zg_db_commit(f->db, &err);
    else
        zg_db_rollback(f->db);
    if (rc)
        fprintf(stderr, "put %s: %s %s\n", case_id, err.field, err.reason);
    json_decref(rec);
    return rc;
}

static void permitted_set_matches_brute_force(void **state)
{
    struct zg_test_fx *f = *state;
    struct zg_error err;
    struct zg_synth_opts so = {.ncases = NCASES / 2, .seed = 5, .org_id = f->org, .batch = 100};
    struct zg_synth_stats ss;
    assert_int_equal(zg_synth_cohort(&f->t.dd, f->db, &so, &ss, &err), 0);
    so.org_id = f->org2;
    so.seed = 6;
    assert_int_equal(zg_synth_cohort(&f->t.dd, f->db, &so, &ss, &err), 0);

    /* clinical records: consent by case_no % 5 (the fifth has none), some diagnoses that
     * differ from the genome's cancer type */
    static const char *const status[] = {"consented", "partially-consented", "withdrawn", "pending",
                                         NULL};
    brute_load(f->db);
    for (int k = 0; k < MAXC; k++) {
        if (!cs[k].exists)
            continue;
        const char *st = status[k % 5];
        const char *onc = k % 7 == 0 ? "BRCA" : NULL;
        if ((st || onc) && put_record(f, cs[k].id, st, onc))
            fail();
    }
    brute_load(f->db);
    int nconsented = 0;
    for (int k = 0; k < MAXC; k++)
        nconsented += cs[k].exists && cs[k].consent == ZG_CONSENT_CONSENTED;
    assert_true(nconsented > 30);

    /* what the PDP decides for these callers, and an unrestricted operator */
    struct zg_policy_config cfg = {.k_min = 5};
    struct zg_identity acad = {
        .kind = ZG_AUTH_SESSION, .role = ZG_ROLE_ACADEMIC, .mfa = true, .scopes = ~0u};
    struct zg_identity clin = {.kind = ZG_AUTH_SESSION,
                               .role = ZG_ROLE_CLINICIAN,
                               .mfa = true,
                               .org_id = f->org,
                               .scopes = ~0u};
    struct zg_identity op = {
        .kind = ZG_AUTH_SESSION, .role = ZG_ROLE_OPERATOR, .mfa = true, .scopes = ~0u};
    struct zg_decision dacad, dclin, dop, dboth;
    struct zg_policy_request r1 = {&acad, ZG_TIER_AGGREGATE, "genome.query", "cohort"};
    struct zg_policy_request r2 = {&clin, ZG_TIER_AGGREGATE, "genome.query", "cohort"};
    struct zg_policy_request r3 = {&op, ZG_TIER_AGGREGATE, "genome.query", "cohort"};
    zg_policy_decide(&cfg, &r1, &dacad);
    zg_policy_decide(&cfg, &r2, &dclin);
    zg_policy_decide(&cfg, &r3, &dop);
    assert_true(dacad.allow && (dacad.obligations & ZG_OBL_CONSENT));
    assert_false(dop.obligations & (ZG_OBL_CONSENT | ZG_OBL_OWN_ORG));
    dboth = dacad; /* consent and organisation together */
    dboth.obligations |= ZG_OBL_OWN_ORG;
    dboth.org_id = f->org2;
    check_all(f, &dop);
    check_all(f, &dacad);
    check_all(f, &dclin);
    check_all(f, &dboth);

    /* withdrawing a consent takes effect at the next acquire, without a new index generation;
     * consenting again brings the case back */
    struct zg_cohort *c;
    assert_int_equal(zg_cohort_acquire(zg_test_cohort_cache(), &f->t.dd, f->db, &c, &err), 0);
    int64_t gen = zg_cohort_generation(c);
    zg_cohort_release(c);
    int victim = 0;
    for (int k = 0; k < MAXC && !victim; k++)
        if (cs[k].exists && cs[k].prof && cs[k].consent == ZG_CONSENT_CONSENTED && cs[k].alt[0])
            victim = k;
    assert_true(victim > 0);
    assert_int_equal(put_record(f, cs[victim].id, "withdrawn", NULL), 0);
    brute_load(f->db);
    assert_int_equal(cs[victim].consent, ZG_CONSENT_WITHDRAWN);
    check_all(f, &dacad);
    assert_int_equal(put_record(f, cs[victim].id, "consented", NULL), 0);
    brute_load(f->db);
    check_all(f, &dacad);
    assert_int_equal(zg_cohort_acquire(zg_test_cohort_cache(), &f->t.dd, f->db, &c, &err), 0);
    assert_int_equal(zg_cohort_generation(c), gen);
    zg_cohort_release(c);

    /* a published snapshot carries the consent sets too (tools without a database) */
    struct zg_cohort_update_stats us;
    assert_int_equal(zg_cohort_rebuild(&f->t.dd, f->db, &us, &err), 0);
    assert_int_equal(zg_cohort_acquire(zg_test_cohort_cache(), &f->t.dd, NULL, &c, &err), 0);
    const roaring_bitmap_t *w = zg_cohort_get(c, "cs\twithdrawn");
    assert_non_null(w);
    int64_t nw = 0;
    for (int k = 0; k < MAXC; k++)
        nw += cs[k].exists && cs[k].consent == ZG_CONSENT_WITHDRAWN;
    assert_int_equal((int64_t)roaring_bitmap_get_cardinality(w), nw);
    assert_false(roaring_bitmap_contains(w, (uint32_t)victim));
    zg_cohort_release(c);

    /* participants never count cohort cases */
    struct zg_decision dpart = {.allow = true, .obligations = ZG_OBL_OWN_PARTICIPANT};
    assert_int_equal(zg_cohort_acquire(zg_test_cohort_cache(), &f->t.dd, f->db, &c, &err), 0);
    struct zg_query_scope s;
    assert_int_equal(zg_query_scope_init(&s, c, &dpart, &err), 0);
    json_t *j = zg_query_genes(c, genes, 2, NULL, NULL, &s, &err);
    assert_int_equal(jint(j, "profiled"), 0);
    json_decref(j);
    zg_query_scope_release(&s);
    zg_cohort_release(c);
}

/* The counts object is reused across queries of different sizes and snapshots. */
static void counts_reuse(void **state)
{
    struct zg_test_fx *f = *state;
    struct zg_error err;
    struct zg_synth_opts so = {.ncases = 60, .seed = 9, .org_id = f->org, .batch = 60};
    struct zg_synth_stats ss;
    assert_int_equal(zg_synth_cohort(&f->t.dd, f->db, &so, &ss, &err), 0);
    struct zg_cohort *c;
    assert_int_equal(zg_cohort_acquire(zg_test_cohort_cache(), &f->t.dd, f->db, &c, &err), 0);
    struct zg_gene_counts *r = zg_gene_counts_new();
    struct zg_query_scope s = {0};
    json_t *first = NULL;
    for (int i = 0; i < 50; i++) {
        size_t n = (size_t)(i % 5) + 1;
        assert_int_equal(zg_query_genes_count(c, genes, n, "cancer-type", NULL, &s, r, &err), 0);
        json_t *j = zg_query_genes_json(r, &s);
        json_t *ref = zg_query_genes(c, genes, n, "cancer-type", NULL, &s, &err);
        assert_true(json_equal(j, ref));
        if (n == 5 && !first)
            first = json_incref(j);
        else if (n == 5)
            assert_true(json_equal(j, first));
        json_decref(j);
        json_decref(ref);
    }
    json_decref(first);
    assert_int_not_equal(zg_query_genes_count(c, genes, 1, "bogus", NULL, &s, r, &err), 0);
    assert_int_not_equal(zg_query_genes_count(c, genes, 1, NULL, "nonsense", &s, r, &err), 0);
    zg_gene_counts_free(r);
    zg_cohort_release(c);
}

/* CURRENT of the data directory: the generation and the full snapshot it builds on. */
static void read_current(struct zg_test_fx *f, int64_t *gen, int64_t *base)
{
    char p[512], line[64] = "";
    snprintf(p, sizeof(p), "%s/index/CURRENT", f->t.data);
    FILE *c = fopen(p, "r");
    assert_non_null(c);
    assert_non_null(fgets(line, sizeof(line), c));
    fclose(c);
    long long g = 0, b = 0;
    int n = sscanf(line, "%lld %lld", &g, &b);
    assert_true(n >= 1);
    *gen = g;
    *base = n == 2 ? b : g;
}

struct same_ctx {
    const struct zg_cohort *other;
    int64_t keys;
};

static void same_set(void *ctx, const char *key, const roaring_bitmap_t *b)
{
    struct same_ctx *x = ctx;
    const roaring_bitmap_t *o = zg_cohort_get(x->other, key);
    if (!o || !roaring_bitmap_equals(o, b))
        fail_msg("key %s differs", key);
    x->keys++;
}

/* Every set and case slot of a equals b's. */
static void assert_same_index(const struct zg_cohort *a, const struct zg_cohort *b)
{
    struct same_ctx ab = {b, 0}, ba = {a, 0};
    zg_cohort_each(a, "", same_set, &ab);
    zg_cohort_each(b, "", same_set, &ba);
    assert_int_equal(ab.keys, ba.keys);
    assert_true(ab.keys > 50);
    assert_int_equal(zg_cohort_slots(a), zg_cohort_slots(b));
    for (uint32_t i = 0; i < zg_cohort_slots(a); i++) {
        assert_string_equal(zg_cohort_case_id(a, i), zg_cohort_case_id(b, i));
        assert_string_equal(zg_cohort_cancer_type(a, i), zg_cohort_cancer_type(b, i));
        assert_true(zg_cohort_tmb(a, i) == zg_cohort_tmb(b, i));
    }
}

/* The case-level sets and case slots of two views (snapshots acquired with a database). */
static void assert_same_views(const struct zg_cohort *a, const struct zg_cohort *b)
{
    static const char *const prefixes[] = {"ct\t", "ds\t", "org\t", "a\t", "cs\t", "all", "p\t"};
    int64_t total = 0;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++) {
        struct same_ctx ab = {b, 0}, ba = {a, 0};
        zg_cohort_each(a, prefixes[i], same_set, &ab);
        zg_cohort_each(b, prefixes[i], same_set, &ba);
        assert_int_equal(ab.keys, ba.keys);
        total += ab.keys;
    }
    assert_true(total > 10);
    assert_int_equal(zg_cohort_slots(a), zg_cohort_slots(b));
    for (uint32_t i = 0; i < zg_cohort_slots(a); i++) {
        assert_string_equal(zg_cohort_case_id(a, i), zg_cohort_case_id(b, i));
        assert_string_equal(zg_cohort_cancer_type(a, i), zg_cohort_cancer_type(b, i));
        assert_true(zg_cohort_tmb(a, i) == zg_cohort_tmb(b, i));
    }
}

/* The published file's case-level sets and slots (a tool without a database reads them) equal
 * those read from the tables now. */
static void assert_file_matches_tables(struct zg_test_fx *f)
{
    struct zg_cohort *file = NULL, *tables = NULL;
    struct zg_error err;
    assert_int_equal(zg_cohort_acquire(NULL, &f->t.dd, NULL, &file, &err), 0);
    assert_int_equal(zg_cohort_acquire(NULL, &f->t.dd, f->db, &tables, &err), 0);
    assert_same_views(file, tables);
    zg_cohort_release(file);
    zg_cohort_release(tables);
}

static void write_u32_at(const char *path, long off, uint32_t v)
{
    FILE *o = fopen(path, "r+b");
    assert_non_null(o);
    assert_int_equal(fseek(o, off, SEEK_SET), 0);
    assert_int_equal(fwrite(&v, 4, 1, o), 1);
    fclose(o);
}

static int count_files(struct zg_test_fx *f, const char *suffix)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls %s/index | grep -c '%s$'", f->t.data, suffix);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int n = -1;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

/* n synthetic cases of the first hospital (one rebuild at the end); ids gets the case numbers of
 * every genome case (MAXC entries at most); returns how many. */
static int synth_cases(struct zg_test_fx *f, int n, uint64_t seed, int *ids)
{
    struct zg_error err;
    struct zg_synth_stats ss;
    struct zg_synth_opts so = {.ncases = n, .seed = seed, .org_id = f->org, .batch = n};
    assert_int_equal(zg_synth_cohort(&f->t.dd, f->db, &so, &ss, &err), 0);
    brute_load(f->db);
    int nids = 0;
    for (int k = 0; k < MAXC; k++)
        if (cs[k].exists)
            ids[nids++] = k;
    assert_true(nids >= n);
    return nids;
}

/* Publishing by delta: many small publishes (synth batches, a changed diagnosis and consent, a
 * case attribute) load to the same index as a rebuild from the tables; long chains fold into a
 * full snapshot and the files of older chains go; a damaged delta is reported, not read, and
 * a rebuild repairs it. */
static void delta_chain_matches_rebuild(void **state)
{
    struct zg_test_fx *f = *state;
    struct zg_error err;
    static int ids[MAXC];
    int nids = synth_cases(f, 100, 11, ids);
    static const char *const gene[] = {"TP53", "KRAS", "EGFR", "BRAF", "PIK3CA", "ZNF99X"};
    static const char *const csq[] = {"missense_variant", "stop_gained", "splice_donor_variant",
                                      "inframe_deletion", "synonymous_variant"};
    int64_t gen = 0, base = 0, longest = 0, bases = 0, last_base = 0;
    /* a server's cache follows along, applying each new delta to the generation it holds */
    struct zg_cohort_cache *cc = NULL, *cv = NULL; /* without and with the database */
    assert_int_equal(zg_cohort_cache_new(&cc), 0);
    assert_int_equal(zg_cohort_cache_new(&cv), 0);
    for (int round = 0; round < 40; round++) {
        /* a second file for one of the cases: three calls, at positions other rounds use too */
        char path[512];
        snprintf(path, sizeof(path), "%s/round%d.vcf", f->t.root, round);
        FILE *o = fopen(path, "w");
        assert_non_null(o);
        fputs("##fileformat=VCFv4.2\n##contig=<ID=chr17,length=83257441>\n"
              "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Consequence annotations from "
              "Ensembl VEP. Format: Allele|Consequence|SYMBOL|Feature|HGVSc|HGVSp|CANONICAL\">\n"
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n",
              o);
        for (int i = 0; i < 3; i++)
            fprintf(o, "chr17\t%d\t.\tC\tT\t.\tPASS\tCSQ=T|%s|%s|ENST9|c.1C>T|p.X|YES\n",
                    1000 + (round % 7) * 10 + i, csq[(round + i) % 5], gene[(round * 3 + i) % 6]);
        fclose(o);
        struct zg_import_opts io = {.case_id = cs[ids[round % nids]].id, .kind = ZG_VK_SOMATIC};
        struct zg_import_result res;
        assert_int_equal(zg_variant_import(&f->t.dd, f->db, path, &io, &res, &err), 0);
        struct zg_cohort_update_stats us;
        assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
        assert_int_equal(us.imports_applied, 1);
        if (us.deltas) /* the imported case's somatic count changed: only it is read again */
            assert_int_equal(us.cases_patched, 1);
        read_current(f, &gen, &base);
        struct zg_cohort *held = NULL;
        assert_int_equal(zg_cohort_acquire(cc, &f->t.dd, NULL, &held, &err), 0);
        assert_int_equal(zg_cohort_generation(held), gen);
        zg_cohort_release(held);
        if (round % 3 == 0) { /* a server's view, patched across generations */
            assert_int_equal(zg_cohort_acquire(cv, &f->t.dd, f->db, &held, &err), 0);
            zg_cohort_release(held);
        }
        longest = gen - base > longest ? gen - base : longest;
        bases += base != last_base;
        last_base = base;
        if (round == 10 || round == 25) { /* case-level changes between publishes */
            for (int k = 1; k < nids; k += 4)
                assert_int_equal(put_record(f, cs[ids[k]].id,
                                            round == 10 ? "withdrawn" : "consented",
                                            round == 10 ? "BRCA" : "LUAD"),
                                 0);
            for (int k = 2; k < nids; k += 5)
                assert_int_equal(zg_genome_case_attr_set(f->db, cs[ids[k]].id, "stage",
                                                         round == 10 ? "II" : "III", &err),
                                 0);
            assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
            assert_int_equal(us.imports_applied, 0);
            if (us.deltas)
                assert_true(us.cases_patched >= 20);
            assert_file_matches_tables(f);
        }
        if (round == 30) { /* more changed cases than a patch is worth: all are read again */
            for (int k = 0; k < nids; k++)
                assert_int_equal(zg_genome_case_attr_set(f->db, cs[ids[k]].id, "batch", "b2", &err),
                                 0);
            assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
            assert_int_equal(us.cases_patched, -1);
        }
        if (round == 5 || round == 34) { /* germline calls: a profile set grows */
            snprintf(path, sizeof(path), "%s/germ%d.vcf", f->t.root, round);
            o = fopen(path, "w");
            assert_non_null(o);
            fputs("##fileformat=VCFv4.2\n##contig=<ID=chr13,length=114364328>\n"
                  "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Consequence annotations "
                  "from Ensembl VEP. Format: Allele|Consequence|SYMBOL|Feature|HGVSc|HGVSp|"
                  "CANONICAL\">\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
                  "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL\n"
                  "chr13\t32340300\t.\tC\tT\t.\tPASS\tCSQ=T|stop_gained|BRCA2|ENST8|c.9C>T|p.Q3*|"
                  "YES\tGT\t0/1\n",
                  o);
            fclose(o);
            struct zg_import_opts go = {.case_id = cs[ids[round + 1]].id, .kind = ZG_VK_GERMLINE};
            assert_int_equal(zg_variant_import(&f->t.dd, f->db, path, &go, &res, &err), 0);
            assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
            assert_int_equal(us.imports_applied, 1);
        }
        if (round == 36 || round == 37) { /* a set that a patch leaves empty goes */
            if (round == 36)
                assert_int_equal(zg_genome_case_attr_set(f->db, cs[ids[5]].id, "solo", "x", &err),
                                 0);
            else
                zg_test_sql(f->db, "DELETE FROM genome_case_attrs WHERE key = 'solo'");
            assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
            assert_int_equal(us.cases_patched, us.deltas ? 1 : -1);
            assert_file_matches_tables(f);
        }
        if (round == 33) { /* changes made by hand in the tables are logged too */
            char sql[256];
            snprintf(sql, sizeof(sql),
                     "DELETE FROM genome_case_attrs WHERE case_no IN (%d, %d);"
                     "UPDATE genome_cases SET dataset = 'cohort-b' WHERE case_no = %d",
                     ids[2], ids[7], ids[3]);
            zg_test_sql(f->db, sql);
            assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
            if (us.deltas)
                assert_int_equal(us.cases_patched, 3);
            assert_file_matches_tables(f);
        }
    }
    assert_true(longest >= 2); /* deltas were written over one base */
    assert_true(bases >= 3);   /* and folded into new full snapshots */
    assert_true(count_files(f, ".zgc") <= 2);
    assert_int_equal(count_files(f, ".tmp"), 0);

    /* one more publish: a delta over the current base, unless the chain was due to fold */
    struct zg_cohort_update_stats us;
    assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
    read_current(f, &gen, &base);
    assert_int_equal(us.generation, gen);
    assert_int_equal(us.deltas, gen - base);
    if (gen == base) /* folded: one more makes a delta */
        assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
    read_current(f, &gen, &base);
    assert_true(gen > base);
    assert_true(us.deltas > 0);

    /* the chain as a tool without a database reads it, against a rebuild from the tables */
    struct zg_cohort *chain = NULL, *full = NULL;
    assert_int_equal(zg_cohort_acquire(NULL, &f->t.dd, NULL, &chain, &err), 0);
    assert_int_equal(zg_cohort_generation(chain), gen);
    assert_int_equal(zg_cohort_full_generation(chain), base);
    const roaring_bitmap_t *w = zg_cohort_get(chain, "cs\twithdrawn");
    assert_true(!w || roaring_bitmap_is_empty(w)); /* consented again in round 25 */
    assert_non_null(zg_cohort_get(chain, "a\tstage=III"));
    struct zg_cohort *followed = NULL;
    assert_int_equal(zg_cohort_acquire(cc, &f->t.dd, NULL, &followed, &err), 0);
    assert_int_equal(zg_cohort_generation(followed), gen);
    assert_int_equal(zg_cohort_rebuild(&f->t.dd, f->db, &us, &err), 0);
    assert_int_equal(us.deltas, 0);
    assert_int_equal(zg_cohort_acquire(NULL, &f->t.dd, NULL, &full, &err), 0);
    assert_int_equal(zg_cohort_generation(full), gen + 1);
    assert_same_index(chain, full);
    assert_same_index(followed, full);
    zg_cohort_release(followed);
    struct zg_cohort *patched = NULL, *built = NULL;
    assert_int_equal(zg_cohort_acquire(cv, &f->t.dd, f->db, &patched, &err), 0);
    assert_int_equal(zg_cohort_acquire(NULL, &f->t.dd, f->db, &built, &err), 0);
    assert_same_views(patched, built);
    zg_cohort_release(patched);
    zg_cohort_release(built);
    zg_cohort_cache_free(cv);
    zg_cohort_release(full);
    zg_cohort_cache_free(cc);

    /* a damaged delta: readers and incremental publishes refuse it; a rebuild repairs it */
    assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
    read_current(f, &gen, &base);
    assert_true(gen > base);
    char p[600];
    snprintf(p, sizeof(p), "%s/index/delta-%lld.zgd", f->t.data, (long long)gen);
    FILE *o = fopen(p, "r+b");
    assert_non_null(o);
    assert_int_equal(fseek(o, 12, SEEK_SET), 0);
    assert_int_equal(fputc(0x7f, o), 0x7f);
    fclose(o);
    assert_int_equal(zg_cohort_acquire(NULL, &f->t.dd, NULL, &full, &err), ZG_ECORRUPT);
    assert_non_null(strstr(err.reason, "damaged"));
    assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), ZG_ECORRUPT);
    assert_int_equal(zg_cohort_rebuild(&f->t.dd, f->db, &us, &err), 0);
    assert_true(us.generation > gen);
    assert_int_equal(zg_cohort_acquire(NULL, &f->t.dd, NULL, &full, &err), 0);
    assert_same_index(chain, full);
    assert_int_equal(count_files(f, ".zgd"), 0);
    zg_cohort_release(full);

    /* a delta claiming an absurd case table is damaged, not allocated */
    assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
    read_current(f, &gen, &base);
    assert_true(gen > base);
    snprintf(p, sizeof(p), "%s/index/delta-%lld.zgd", f->t.data, (long long)gen);
    write_u32_at(p, 56, 40000000u); /* its slot count (after 7 eight-byte fields) */
    assert_int_equal(zg_cohort_acquire(NULL, &f->t.dd, NULL, &full, &err), ZG_ECORRUPT);
    /* a missing delta too: an update refuses it instead of starting a new index */
    assert_int_equal(unlink(p), 0);
    assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), ZG_ECORRUPT);
    assert_non_null(strstr(err.reason, "damaged"));
    assert_int_equal(zg_cohort_rebuild(&f->t.dd, f->db, &us, &err), 0);

    /* a case gone from the tables leaves an empty slot, also when the publish that sees it
     * folds a full chain (reading every case into the loaded snapshot) */
    int64_t gone = ids[9];
    char sql[600];
    for (int k = 0; k < 40 && (k == 0 || us.deltas < 32); k++)
        assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
    assert_int_equal(us.deltas, 32);
    snprintf(sql, sizeof(sql),
             "DELETE FROM genome_case_attrs WHERE case_no = %lld;"
             "DELETE FROM genome_cases WHERE case_no = %lld",
             (long long)gone, (long long)gone);
    zg_test_sql(f->db, sql);
    assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
    assert_int_equal(us.deltas, 0); /* folded */
    assert_int_equal(zg_cohort_acquire(NULL, &f->t.dd, NULL, &full, &err), 0);
    assert_string_equal(zg_cohort_case_id(full, (uint32_t)gone), "");
    zg_cohort_release(full);
    assert_file_matches_tables(f);

    /* change marks that went backwards (a restored database): every case is read again */
    zg_test_sql(f->db, "DELETE FROM genome_case_changes");
    assert_int_equal(zg_genome_case_attr_set(f->db, cs[ids[4]].id, "late", "yes", &err), 0);
    assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
    assert_true(us.deltas > 0);
    assert_int_equal(us.cases_patched, -1);
    assert_file_matches_tables(f);

    /* the index directory wiped and rebuilt under a running server: its cache follows */
    struct zg_cohort_cache *srv = NULL;
    assert_int_equal(zg_cohort_cache_new(&srv), 0);
    assert_int_equal(zg_cohort_acquire(srv, &f->t.dd, NULL, &full, &err), 0);
    int64_t before = zg_cohort_generation(full);
    zg_cohort_release(full);
    snprintf(sql, sizeof(sql), "rm -rf %s/index", f->t.data);
    assert_int_equal(system(sql), 0);
    assert_int_equal(zg_cohort_rebuild(&f->t.dd, f->db, &us, &err), 0);
    assert_true(us.generation < before);
    assert_int_equal(zg_cohort_acquire(srv, &f->t.dd, NULL, &full, &err), 0);
    assert_int_equal(zg_cohort_generation(full), us.generation);
    struct zg_cohort *fresh = NULL;
    assert_int_equal(zg_cohort_acquire(NULL, &f->t.dd, NULL, &fresh, &err), 0);
    assert_same_index(fresh, full);
    zg_cohort_release(fresh);
    zg_cohort_release(full);
    zg_cohort_cache_free(srv);
    zg_cohort_release(chain);
}

struct reader {
    struct zg_cohort_cache *cc;
    const struct zg_datadir *dd;
    atomic_int *stop;
    int64_t last, reads;
    bool went_back;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    while (!atomic_load(r->stop)) {
        struct zg_cohort *c = NULL;
        struct zg_error err;
        if (zg_cohort_acquire(r->cc, r->dd, NULL, &c, &err)) {
            r->went_back = true;
            break;
        }
        int64_t g = zg_cohort_generation(c);
        r->went_back |= g < r->last;
        r->last = g;
        r->reads++;
        (void)zg_cohort_get(c, "g\tTP53\t*");
        zg_cohort_release(c);
    }
    return NULL;
}

/* Readers sharing one cache while publishes go on: each sees generations in order, one of them
 * brings the cache up to date while the others keep the snapshot held. */
static void cache_readers_during_publishes(void **state)
{
    struct zg_test_fx *f = *state;
    struct zg_error err;
    static int ids[MAXC];
    (void)synth_cases(f, 30, 12, ids);
    const char *id = cs[ids[0]].id;
    struct zg_cohort_cache *cc = NULL;
    assert_int_equal(zg_cohort_cache_new(&cc), 0);
    atomic_int stop;
    atomic_init(&stop, 0);
    enum { NR = 4 };
    struct reader rd[NR];
    pthread_t th[NR];
    for (int i = 0; i < NR; i++) {
        rd[i] = (struct reader){.cc = cc, .dd = &f->t.dd, .stop = &stop};
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
    }
    int64_t gen = 0, base = 0;
    for (int round = 0; round < 12; round++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/r%d.vcf", f->t.root, round);
        FILE *o = fopen(path, "w");
        assert_non_null(o);
        fprintf(o,
                "##fileformat=VCFv4.2\n##contig=<ID=chr17,length=83257441>\n"
                "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Consequence annotations from "
                "Ensembl VEP. Format: Allele|Consequence|SYMBOL|Feature|HGVSc|HGVSp|CANONICAL\">\n"
                "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                "chr17\t%d\t.\tC\tT\t.\tPASS\tCSQ=T|missense_variant|TP53|ENST9|c.1C>T|p.X|YES\n",
                5000 + round);
        fclose(o);
        struct zg_import_opts io = {.case_id = id, .kind = ZG_VK_SOMATIC};
        struct zg_import_result res;
        assert_int_equal(zg_variant_import(&f->t.dd, f->db, path, &io, &res, &err), 0);
        struct zg_cohort_update_stats us;
        assert_int_equal(zg_cohort_update(&f->t.dd, f->db, &us, &err), 0);
        usleep(2000);
    }
    read_current(f, &gen, &base);
    usleep(20000);
    atomic_store(&stop, 1);
    for (int i = 0; i < NR; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_false(rd[i].went_back);
        assert_true(rd[i].reads > 0);
        assert_true(rd[i].last <= gen);
    }
    struct zg_cohort *c = NULL;
    assert_int_equal(zg_cohort_acquire(cc, &f->t.dd, NULL, &c, &err), 0);
    assert_int_equal(zg_cohort_generation(c), gen);
    zg_cohort_release(c);
    zg_cohort_cache_free(cc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(permitted_set_matches_brute_force, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(counts_reuse, zg_test_fx_setup, zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(delta_chain_matches_rebuild, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(cache_readers_during_publishes, zg_test_fx_setup,
                                        zg_test_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
