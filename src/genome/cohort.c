/* Cohort index snapshots: building (incremental or from scratch), persisting under DATA/index/,
 * loading, live views (the published gene sets + case-level sets read from the database, so
 * clinical changes such as a withdrawn consent count at once) and the cache (struct zg_app) of the
 * current snapshot and view. Queries are in query.c. */
#include "cohort.h"
#include "files_internal.h"
#include "ids/ids.h"
#include "common/error.h"
#include "common/clock.h"
#include "common/hash.h"
#include "crypto/crypto.h"
#include "store/db.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "ZGCOHRT4"
#define MAGIC_V2 "ZGCOHRT2"    /* without the change marks: read, marks unknown */
#define OLD_MAGIC "ZGCOHRT1"   /* site numbers before site keys (migration 6) */
#define OLD_MAGIC_3 "ZGCOHRT3" /* marks without lineage: never released, rebuilt like ZGCOHRT1 */

/* Whether a file starts like a full snapshot of a format that is rebuilt, not read. */
static bool stale_magic(const char *head)
{
    return !memcmp(head, OLD_MAGIC, 8) || !memcmp(head, OLD_MAGIC_3, 8);
}
#define END_MAGIC "ZGCOEND1"
#define MAX_KEY 256

struct entry {
    char *key;
    roaring_bitmap_t *bm;
};

struct case_slot {
    char id[ZG_ID_LEN];
    char ct[17];
    float tmb;
};

struct zg_cohort {
    atomic_int refs;
    /* A live view (zg_cohort_acquire with a database): the gene sets (tab) are borrowed from
     * base, the case-level sets (small, owned), case table and derived arrays are its own. */
    struct zg_cohort *base;
    int64_t clin_mark; /* the clinical_versions high-water mark the view was built at */
    int64_t generation;
    int64_t full_gen; /* the full snapshot a loaded generation is built on (its deltas follow) */
    /* what the case-level sets were read at: genome_case_changes.seq and the clinical_versions
     * high-water mark (-1: unknown, an index written before migration 7) */
    int64_t case_seq, clin_seq;
    uint64_t lineage; /* random id of the full snapshot; its deltas carry it */
    int64_t max_import;
    struct entry *tab; /* open addressing, capacity power of two */
    size_t cap, n;
    struct case_slot *cases;
    uint32_t nslots;
    /* case-level keys (ct, ds, org, a, p, all): few, listed for fast prefix walks */
    struct entry *small;
    size_t nsmall;
    roaring_bitmap_t *profiled; /* p\tsomatic ∪ p\tsv ∪ p\tcnv, computed at load */
    const char **ct_names;      /* cancer types in name order (into the keys) */
    size_t nct;
    uint16_t *ct_of;                  /* case_no → index into ct_names */
    const roaring_bitmap_t **ct_sets; /* the set of each cancer type, in ct_names order */
    uint64_t *prof_ct;                /* profiled cases per cancer type */
};

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Lists the cancer types and maps every case to its type's index (for one-pass counting). */
static int list_types(struct zg_cohort *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nsmall; i++)
        n += !strncmp(c->small[i].key, "ct\t", 3);
    if (n > 65535)
        return ZG_ETOOBIG;
    c->ct_names = calloc(n ? n : 1, sizeof(*c->ct_names));
    c->ct_sets = calloc(n ? n : 1, sizeof(*c->ct_sets));
    c->ct_of = calloc(c->nslots ? c->nslots : 1, sizeof(*c->ct_of));
    if (!c->ct_names || !c->ct_of || !c->ct_sets)
        return ZG_ENOMEM;
    for (size_t i = 0; i < c->nsmall; i++)
        if (!strncmp(c->small[i].key, "ct\t", 3))
            c->ct_names[c->nct++] = c->small[i].key + 3;
    qsort(c->ct_names, c->nct, sizeof(*c->ct_names), name_cmp);
    for (size_t k = 0; k < c->nct; k++) {
        char key[64];
        snprintf(key, sizeof(key), "ct\t%s", c->ct_names[k]);
        const roaring_bitmap_t *b = zg_cohort_get(c, key);
        c->ct_sets[k] = b;
        roaring_uint32_iterator_t *it = b ? roaring_create_iterator(b) : NULL;
        while (it && it->has_value) {
            if (it->current_value < c->nslots)
                c->ct_of[it->current_value] = (uint16_t)k;
            roaring_advance_uint32_iterator(it);
        }
        roaring_free_uint32_iterator(it);
    }
    return 0;
}

const uint64_t *zg_cohort_profiled_by_type(const struct zg_cohort *c)
{
    return c ? c->prof_ct : NULL;
}

const roaring_bitmap_t *const *zg_cohort_cancer_type_sets(const struct zg_cohort *c)
{
    return c ? c->ct_sets : NULL;
}

size_t zg_cohort_cancer_types(const struct zg_cohort *c, const char *const **names,
                              const uint16_t **group_of)
{
    *names = c ? c->ct_names : NULL;
    *group_of = c ? c->ct_of : NULL;
    return c && c->ct_names ? c->nct : 0;
}

static bool case_level(const char *key)
{
    return !strncmp(key, "ct\t", 3) || !strncmp(key, "ds\t", 3) || !strncmp(key, "org\t", 4) ||
           !strncmp(key, "a\t", 2) || !strncmp(key, "p\t", 2) || !strncmp(key, "cs\t", 3) ||
           !strcmp(key, "all");
}

/* the case-level sets an update reads again from the tables (a delta replaces them whole) */
static const char *const rebuilt_prefixes[] = {"ct\t", "ds\t", "org\t", "a\t", "cs\t", "all", NULL};

static bool replaced_key(const char *key)
{
    return case_level(key) && strncmp(key, "p\t", 2);
}

/* Lists the case-level entries (after a load or a build; the table no longer changes). */
static int list_small(struct zg_cohort *c)
{
    free(c->small);
    c->small = NULL;
    c->nsmall = 0;
    size_t n = 0;
    for (size_t i = 0; i < c->cap; i++)
        if (c->tab[i].key && case_level(c->tab[i].key))
            n++;
    c->small = calloc(n ? n : 1, sizeof(*c->small));
    if (!c->small)
        return ZG_ENOMEM;
    for (size_t i = 0; i < c->cap; i++)
        if (c->tab[i].key && case_level(c->tab[i].key))
            c->small[c->nsmall++] = c->tab[i];
    return 0;
}

static struct zg_cohort *cohort_new(void)
{
    struct zg_cohort *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    c->cap = 1024;
    c->tab = calloc(c->cap, sizeof(*c->tab));
    if (!c->tab) {
        free(c);
        return NULL;
    }
    return c;
}

void zg_cohort_release(struct zg_cohort *c);

static void cohort_free(struct zg_cohort *c)
{
    if (!c)
        return;
    if (c->base) { /* a view: its case-level entries are its own, the table is the base's */
        for (size_t i = 0; i < c->nsmall; i++) {
            free(c->small[i].key);
            roaring_bitmap_free(c->small[i].bm);
        }
        zg_cohort_release(c->base);
    } else {
        for (size_t i = 0; i < c->cap; i++)
            if (c->tab[i].key) {
                free(c->tab[i].key);
                roaring_bitmap_free(c->tab[i].bm);
            }
        free(c->tab);
    }
    free(c->cases);
    free(c->small);
    free(c->ct_names);
    free(c->ct_sets);
    free(c->ct_of);
    free(c->prof_ct);
    if (c->profiled)
        roaring_bitmap_free(c->profiled);
    free(c);
}

void zg_cohort_release(struct zg_cohort *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        cohort_free(c);
}

static struct entry *slot_for(const struct zg_cohort *c, const char *key)
{
    size_t mask = c->cap - 1, i = (size_t)zg_str_hash(key) & mask;
    while (c->tab[i].key && strcmp(c->tab[i].key, key))
        i = (i + 1) & mask;
    return &c->tab[i];
}

const roaring_bitmap_t *zg_cohort_get(const struct zg_cohort *c, const char *key)
{
    if (!c)
        return NULL;
    if (c->base && case_level(key)) {
        for (size_t i = 0; i < c->nsmall; i++)
            if (!strcmp(c->small[i].key, key))
                return c->small[i].bm;
        return NULL;
    }
    struct entry *e = slot_for(c, key);
    return e->key ? e->bm : NULL;
}

static int grow(struct zg_cohort *c)
{
    size_t ncap = c->cap * 2;
    struct entry *nt = calloc(ncap, sizeof(*nt));
    if (!nt)
        return ZG_ENOMEM;
    struct entry *old = c->tab;
    size_t ocap = c->cap;
    c->tab = nt;
    c->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].key)
            *slot_for(c, old[i].key) = old[i];
    free(old);
    return 0;
}

/* The bitmap of key, created empty when missing (builder only). NULL on allocation failure. */
static roaring_bitmap_t *get_or_add(struct zg_cohort *c, const char *key)
{
    struct entry *e = slot_for(c, key);
    if (e->key)
        return e->bm;
    if ((c->n + 1) * 2 > c->cap) {
        if (grow(c))
            return NULL;
        e = slot_for(c, key);
    }
    e->key = strdup(key);
    e->bm = roaring_bitmap_create();
    if (!e->key || !e->bm) {
        free(e->key);
        if (e->bm)
            roaring_bitmap_free(e->bm);
        e->key = NULL;
        return NULL;
    }
    c->n++;
    return e->bm;
}

/* Removes every entry pred says to drop (the table is rebuilt: open addressing cannot remove a
 * key in place). */
static int drop_where(struct zg_cohort *c, bool (*pred)(const struct entry *, const void *),
                      const void *ctx)
{
    struct entry *old = c->tab;
    size_t ocap = c->cap;
    c->tab = calloc(ocap, sizeof(*c->tab));
    if (!c->tab) {
        c->tab = old;
        return ZG_ENOMEM;
    }
    c->n = 0;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].key)
            continue;
        if (pred(&old[i], ctx)) {
            free(old[i].key);
            roaring_bitmap_free(old[i].bm);
        } else {
            *slot_for(c, old[i].key) = old[i];
            c->n++;
        }
    }
    free(old);
    return 0;
}

static bool has_prefix(const struct entry *e, const void *ctx)
{
    for (const char *const *p = ctx; *p; p++)
        if (!strncmp(e->key, *p, strlen(*p)))
            return true;
    return false;
}

/* Removes every key with one of the prefixes (case-level sets are rebuilt on each update). */
static int drop_prefixes(struct zg_cohort *c, const char *const *prefixes)
{
    return drop_where(c, has_prefix, prefixes);
}

void zg_cohort_each(const struct zg_cohort *c, const char *prefix,
                    void (*fn)(void *ctx, const char *key, const roaring_bitmap_t *b), void *ctx)
{
    size_t pl = strlen(prefix);
    if (c && c->small && pl >= 2 && case_level(prefix)) {
        for (size_t i = 0; i < c->nsmall; i++)
            if (!strncmp(c->small[i].key, prefix, pl))
                fn(ctx, c->small[i].key, c->small[i].bm);
        return;
    }
    for (size_t i = 0; c && i < c->cap; i++)
        if (c->tab[i].key && !strncmp(c->tab[i].key, prefix, pl))
            fn(ctx, c->tab[i].key, c->tab[i].bm);
}

static roaring_bitmap_t *empty_set; /* for an empty snapshot: created once, never written */
static pthread_once_t empty_once = PTHREAD_ONCE_INIT;

static void make_empty(void)
{
    empty_set = roaring_bitmap_create();
}

const roaring_bitmap_t *zg_cohort_profiled(const struct zg_cohort *c)
{
    if (c && c->profiled)
        return c->profiled;
    pthread_once(&empty_once, make_empty);
    return empty_set;
}

int64_t zg_cohort_generation(const struct zg_cohort *c)
{
    return c ? c->generation : 0;
}

int64_t zg_cohort_full_generation(const struct zg_cohort *c)
{
    return c ? (c->base ? c->base->full_gen : c->full_gen) : 0;
}

uint32_t zg_cohort_slots(const struct zg_cohort *c)
{
    return c ? c->nslots : 0;
}

const char *zg_cohort_case_id(const struct zg_cohort *c, uint32_t n)
{
    return c && n < c->nslots ? c->cases[n].id : "";
}

const char *zg_cohort_cancer_type(const struct zg_cohort *c, uint32_t n)
{
    return c && n < c->nslots ? c->cases[n].ct : "";
}

float zg_cohort_tmb(const struct zg_cohort *c, uint32_t n)
{
    return c && n < c->nslots ? c->cases[n].tmb : 0.0f;
}

/* Ends a row loop over st: rc, or the step's error when the loop stopped on one (r is neither a
 * row nor done); st is released. */
static int end_rows(sqlite3 *db, sqlite3_stmt *st, int r, int rc, struct zg_error *err)
{
    if (!rc && r != SQLITE_DONE && r != SQLITE_ROW)
        rc = zg_db_fail(db, r, err);
    zg_db_release(st);
    return rc;
}

/* --- building ------------------------------------------------------------------------- */

static int addk(struct zg_cohort *c, uint32_t v, struct zg_error *err, const char *fmt, ...)
    ZG_PRINTF(4, 5);
static int addk(struct zg_cohort *c, uint32_t v, struct zg_error *err, const char *fmt, ...)
{
    char key[MAX_KEY];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(key, sizeof(key), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(key))
        return 0; /* absurdly long gene names are not indexed */
    roaring_bitmap_t *b = get_or_add(c, key);
    if (!b)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory building the cohort index");
    roaring_bitmap_add(b, v);
    return 0;
}

static bool is_alteration(const char *cls)
{
    enum zg_alt_class k;
    return !zg_alt_class_parse(cls, &k) && k != ZG_AC_OTHER;
}

static int add_gene_class(struct zg_cohort *c, uint32_t case_no, const char *gene, const char *cls,
                          struct zg_error *err)
{
    int rc;
    if (!*gene || !is_alteration(cls))
        return 0;
    if ((rc = addk(c, case_no, err, "g\t%s\t%s", gene, cls)))
        return rc;
    return addk(c, case_no, err, "g\t%s\t*", gene);
}

/* One genome case's row for the case-level sets; the clinical record is the source of truth
 * for the cancer type and the consent. */
#define CASE_ROW_SQL                                                                               \
    "SELECT g.case_no, g.case_id, g.org_id,"                                                       \
    " coalesce(nullif(r.oncotree, ''), g.cancer_type), g.dataset, g.n_somatic,"                    \
    " g.callable_mb, json_extract(v.doc, '$.consent.status')"                                      \
    " FROM genome_cases g LEFT JOIN clinical_records r ON r.case_id = g.case_id"                   \
    " LEFT JOIN clinical_versions v ON v.case_id = r.case_id AND v.version = r.version"

enum { ROW_KEYS = 5 };

/* The case slot and the case-level keys (all, ct, ds, org, cs; attributes are read apart) of a
 * CASE_ROW_SQL row. Returns how many keys (one too long for MAX_KEY is left out, as addk
 * does). */
static int case_row(sqlite3_stmt *st, struct case_slot *s, char keys[ROW_KEYS][MAX_KEY])
{
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", zg_db_text(st, 1));
    snprintf(s->ct, sizeof(s->ct), "%s", zg_db_text(st, 3));
    double mb = sqlite3_column_double(st, 6);
    s->tmb = mb > 0 ? (float)(sqlite3_column_double(st, 5) / mb) : 0.0f;
    enum zg_consent cs = ZG_CONSENT_UNRECORDED;
    if (sqlite3_column_type(st, 7) == SQLITE_TEXT && zg_consent_parse(zg_db_text(st, 7), &cs))
        cs = ZG_CONSENT_UNRECORDED;
    int n = 0, w[ROW_KEYS];
    w[0] = snprintf(keys[n], MAX_KEY, "all");
    n += w[0] < MAX_KEY;
    w[1] = snprintf(keys[n], MAX_KEY, "ct\t%s", zg_db_text(st, 3));
    n += w[1] < MAX_KEY;
    w[2] = snprintf(keys[n], MAX_KEY, "ds\t%s", zg_db_text(st, 4));
    n += w[2] < MAX_KEY;
    w[3] = snprintf(keys[n], MAX_KEY, "org\t%lld", (long long)sqlite3_column_int64(st, 2));
    n += w[3] < MAX_KEY;
    w[4] = snprintf(keys[n], MAX_KEY, "cs\t%s", zg_consent_name(cs));
    n += w[4] < MAX_KEY;
    return n;
}

/* Case-level sets and the case table, from genome_cases (one row per case). */
static int build_case_level(struct zg_cohort *c, sqlite3 *db, struct zg_error *err)
{
    int rc = drop_prefixes(c, rebuilt_prefixes);
    if (rc)
        return zg_error_set(err, rc, "", "out of memory");
    if (c->nslots) /* every slot from the tables: a case gone since leaves an empty one */
        memset(c->cases, 0, (size_t)c->nslots * sizeof(*c->cases));
    sqlite3_stmt *st = zg_db_prepare(db, CASE_ROW_SQL " ORDER BY g.case_no", err);
    if (!st)
        return err->code;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t no = sqlite3_column_int64(st, 0);
        if (no < 0 || no > UINT32_MAX - 1) {
            rc = zg_error_set(err, ZG_ECORRUPT, "", "case number out of range");
            break;
        }
        uint32_t cn = (uint32_t)no;
        if (cn >= c->nslots) {
            uint32_t ns = cn + 1 > c->nslots * 2 ? cn + 1 : c->nslots * 2;
            struct case_slot *p = realloc(c->cases, (size_t)ns * sizeof(*p));
            if (!p) {
                rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
                break;
            }
            memset(p + c->nslots, 0, (size_t)(ns - c->nslots) * sizeof(*p));
            c->cases = p;
            c->nslots = ns;
        }
        char keys[ROW_KEYS][MAX_KEY];
        int nk = case_row(st, &c->cases[cn], keys);
        for (int k = 0; k < nk && !rc; k++)
            rc = addk(c, cn, err, "%s", keys[k]);
        if (rc)
            break;
    }
    rc = end_rows(db, st, r, rc, err);
    if (rc)
        return rc;
    /* shrink nslots to the real extent */
    while (c->nslots && !c->cases[c->nslots - 1].id[0])
        c->nslots--;
    st = zg_db_prepare(db, "SELECT case_no,key,value FROM genome_case_attrs", err);
    if (!st)
        return err->code;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = addk(c, (uint32_t)sqlite3_column_int64(st, 0), err, "a\t%s=%s", zg_db_text(st, 1),
                       zg_db_text(st, 2))))
            break;
    rc = end_rows(db, st, r, rc, err);
    return rc;
}

/* Adds the passing somatic calls of one import to the gene and variant sets, from what the
 * import recorded (its gene × class pairs; its calls at sites known before it, the only ones
 * that can make a variant recurrent). */
static int apply_somatic_import(struct zg_cohort *c, sqlite3 *db, int64_t case_no,
                                int64_t import_no, struct zg_error *err)
{
    sqlite3_stmt *st =
        zg_db_prepare(db, "SELECT gene, class FROM genome_import_genes WHERE import_no=?", err);
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, import_no);
    int rc = 0, r;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW)
        rc = add_gene_class(c, (uint32_t)case_no, zg_db_text(st, 0), zg_db_text(st, 1), err);
    rc = end_rows(db, st, r, rc, err);
    if (rc)
        return rc;
    /* those sites' other carriers (passing calls of other cases) */
    st = zg_db_prepare(db,
                       "SELECT x.site_no, o.case_no FROM genome_import_shared x"
                       " JOIN genome_recurrent r ON r.site_no = x.site_no AND r.case_no <> ?1"
                       " JOIN genome_somatic o ON o.case_no = r.case_no AND o.site_no = r.site_no"
                       " WHERE x.import_no = ?2 AND o.filter IN ('PASS','.')",
                       err);
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, case_no);
    sqlite3_bind_int64(st, 2, import_no);
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        long long site = sqlite3_column_int64(st, 0);
        if (!(rc = addk(c, (uint32_t)case_no, err, "v\t%lld", site)))
            rc = addk(c, (uint32_t)sqlite3_column_int64(st, 1), err, "v\t%lld", site);
    }
    rc = end_rows(db, st, r, rc, err);
    return rc;
}

/* Adds every passing somatic call to the gene and profile sets, and the passing carriers of
 * recurrent sites (genome_recurrent, in site order) to the variant sets (a rebuild). */
static int apply_somatic_all(struct zg_cohort *c, sqlite3 *db, struct zg_error *err)
{
    int rc = 0, r;
    sqlite3_stmt *st =
        zg_db_prepare(db,
                      "SELECT s.case_no,t.gene,t.class FROM genome_somatic s JOIN genome_sites "
                      "t USING(site_no) WHERE s.filter IN ('PASS','.')",
                      err);
    if (!st)
        return err->code;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t cn = (uint32_t)sqlite3_column_int64(st, 0);
        if ((rc = add_gene_class(c, cn, zg_db_text(st, 1), zg_db_text(st, 2), err)) ||
            (rc = addk(c, cn, err, "p\tsomatic")))
            break;
    }
    rc = end_rows(db, st, r, rc, err);
    if (rc)
        return rc;
    st = zg_db_prepare(db,
                       "SELECT r.site_no, r.case_no FROM genome_recurrent r"
                       " JOIN genome_somatic o ON o.case_no = r.case_no AND o.site_no = r.site_no"
                       " WHERE o.filter IN ('PASS','.') ORDER BY r.site_no",
                       err);
    if (!st)
        return err->code;
    /* a run of ≥ 2 passing carriers of one site is a recurrent variant */
    int64_t prev_site = -1, prev_case = -1;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t site = sqlite3_column_int64(st, 0);
        uint32_t cn = (uint32_t)sqlite3_column_int64(st, 1);
        if (site == prev_site &&
            ((rc = addk(c, (uint32_t)prev_case, err, "v\t%lld", (long long)site)) ||
             (rc = addk(c, cn, err, "v\t%lld", (long long)site))))
            break;
        prev_site = site;
        prev_case = cn;
    }
    rc = end_rows(db, st, r, rc, err);
    return rc;
}

static int apply_other(struct zg_cohort *c, sqlite3 *db, const char *kind, int64_t case_no,
                       int64_t import_no, struct zg_error *err)
{
    const char *sql;
    bool all = import_no == 0;
    if (!strcmp(kind, "germline"))
        sql = all ? "SELECT g.case_no,t.gene,t.class FROM genome_germline g JOIN genome_sites t"
                    " USING(site_no) WHERE g.filter IN ('PASS','.')"
                  : "SELECT g.case_no,t.gene,t.class FROM genome_germline g JOIN genome_sites t"
                    " USING(site_no) WHERE g.case_no=?1 AND g.import_no=?2"
                    " AND g.filter IN ('PASS','.')";
    else if (!strcmp(kind, "sv"))
        sql = all ? "SELECT case_no,genes,svtype FROM genome_sv WHERE filter IN ('PASS','.')"
                  : "SELECT case_no,genes,svtype FROM genome_sv WHERE case_no=?1 AND import_no=?2"
                    " AND filter IN ('PASS','.')";
    else
        sql = all ? "SELECT case_no,genes,call FROM genome_cnv"
                  : "SELECT case_no,genes,call FROM genome_cnv WHERE case_no=?1 AND import_no=?2";
    sqlite3_stmt *st = zg_db_prepare(db, sql, err);
    if (!st)
        return err->code;
    if (!all) {
        sqlite3_bind_int64(st, 1, case_no);
        sqlite3_bind_int64(st, 2, import_no);
    }
    int rc = 0, r;
    if (!all) /* a profiled case, even when the file holds no calls */
        rc = addk(c, (uint32_t)case_no, err, "p\t%s", kind);
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t cn = (uint32_t)sqlite3_column_int64(st, 0);
        const char *a = zg_db_text(st, 1), *b = zg_db_text(st, 2);
        if ((rc = addk(c, cn, err, "p\t%s", kind)))
            break;
        if (!strcmp(kind, "germline")) {
            if (*a && (!strcmp(b, "truncating") || !strcmp(b, "splice")))
                rc = addk(c, cn, err, "gg\t%s", a);
        } else if (!strcmp(kind, "sv")) {
            char g1[128] = "", g2[128] = "";
            const char *comma = strchr(a, ',');
            size_t l1 = comma ? (size_t)(comma - a) : strlen(a);
            if (l1 < sizeof(g1)) {
                memcpy(g1, a, l1);
                g1[l1] = '\0';
            }
            if (comma)
                snprintf(g2, sizeof(g2), "%s", comma + 1);
            bool fusion = *g1 && *g2 && strcmp(g1, g2);
            const char *cls = fusion ? "fusion" : "sv";
            if (*g1 && (rc = add_gene_class(c, cn, g1, cls, err)))
                break;
            if (*g2 && strcmp(g1, g2))
                rc = add_gene_class(c, cn, g2, cls, err);
        } else if (!strcmp(b, "amp") || !strcmp(b, "del")) {
            const char *p = a;
            while (*p && !rc) {
                const char *q = strchr(p, ',');
                size_t l = q ? (size_t)(q - p) : strlen(p);
                char gene[128];
                if (l && l < sizeof(gene)) {
                    memcpy(gene, p, l);
                    gene[l] = '\0';
                    rc = add_gene_class(c, cn, gene, b, err);
                }
                p = q ? q + 1 : p + l;
            }
        }
    }
    zg_db_release(st);
    return rc;
}

/* --- persistence ----------------------------------------------------------------------
 *
 * A published generation G is a full snapshot, DATA/index/cohort-G.zgc, or a full snapshot of
 * an earlier generation B plus the deltas delta-(B+1).zgd … delta-G.zgd. CURRENT names it:
 * "G" or "G B". An incremental publish writes only a delta: the bits the new imports add to
 * the gene, variant and profile sets, the case-level sets (small, replaced whole) and the case
 * slots that changed. Loading and rewriting the whole index on every import grew with the
 * cohort (~0.25 s each way at 30,000 cases); a delta grows with the import. A publish writes a
 * full snapshot again when the chain reaches MAX_CHAIN deltas or its deltas add up to a quarter
 * of the base, so readers never apply more than a bounded amount. */

#define DELTA_MAGIC "ZGCODEL1"
#define MAX_CHAIN 32

static void index_dir(const struct zg_datadir *dd, char *out, size_t n)
{
    zg_datadir_file(dd, "index", out, n);
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Buffered writer of one index file (bounded 1 MiB buffer), written to a temporary name and
 * renamed into place by wpublish. */
struct wbuf {
    int fd;
    char *p;
    size_t n;
    bool failed;
    int64_t total;
    char *sbuf; /* one serialised bitmap */
    size_t scap;
};

static void wput(struct wbuf *w, const void *data, size_t n)
{
    if (w->failed)
        return;
    w->total += (int64_t)n;
    if (w->n + n > (1u << 20)) {
        if (write_all(w->fd, w->p, w->n)) {
            w->failed = true;
            return;
        }
        w->n = 0;
    }
    if (n > (1u << 20)) {
        if (write_all(w->fd, data, n))
            w->failed = true;
        return;
    }
    memcpy(w->p + w->n, data, n);
    w->n += n;
}

static int wopen(struct wbuf *w, const char *tmp, struct zg_error *err)
{
    memset(w, 0, sizeof(*w));
    w->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->fd < 0)
        return zg_error_set(err, ZG_EIO, "", "cannot write %s: %s", tmp, strerror(errno));
    if (!(w->p = malloc(1u << 20))) {
        close(w->fd);
        unlink(tmp);
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    }
    return 0;
}

/* One key and its bitmap (run-length optimised first). */
static void wentry(struct wbuf *w, const char *key, roaring_bitmap_t *bm)
{
    roaring_bitmap_run_optimize(bm);
    uint16_t kl = (uint16_t)strlen(key);
    size_t bl = roaring_bitmap_portable_size_in_bytes(bm);
    if (bl > w->scap) {
        char *p = realloc(w->sbuf, bl);
        if (!p) {
            w->failed = true;
            return;
        }
        w->sbuf = p;
        w->scap = bl;
    }
    roaring_bitmap_portable_serialize(bm, w->sbuf);
    uint64_t bl64 = bl;
    wput(w, &kl, 2);
    wput(w, key, kl);
    wput(w, &bl64, 8);
    wput(w, w->sbuf, bl);
}

/* Ends the file: flush, fsync, rename tmp to final. */
static int wpublish(struct wbuf *w, const char *tmp, const char *final, struct zg_error *err)
{
    wput(w, END_MAGIC, 8);
    if (!w->failed && w->n && write_all(w->fd, w->p, w->n))
        w->failed = true;
    free(w->p);
    free(w->sbuf);
    if (w->failed || fsync(w->fd)) {
        close(w->fd);
        unlink(tmp);
        return zg_error_set(err, ZG_EIO, "", "cannot write the cohort index");
    }
    close(w->fd);
    if (rename(tmp, final)) {
        unlink(tmp);
        return zg_error_set(err, ZG_EIO, "", "cannot publish the cohort index");
    }
    return 0;
}

/* Replaces CURRENT atomically ("G" or "G B") and syncs the directory. */
static int write_current(const char *dir, int64_t gen, int64_t base, struct zg_error *err)
{
    char cur[1100], curtmp[1100], line[48];
    snprintf(cur, sizeof(cur), "%s/CURRENT", dir);
    snprintf(curtmp, sizeof(curtmp), "%s/CURRENT.tmp", dir);
    int ll = base == gen
                 ? snprintf(line, sizeof(line), "%lld\n", (long long)gen)
                 : snprintf(line, sizeof(line), "%lld %lld\n", (long long)gen, (long long)base);
    int fd = open(curtmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_all(fd, line, (size_t)ll) || fsync(fd)) {
        if (fd >= 0)
            close(fd);
        return zg_error_set(err, ZG_EIO, "", "cannot write the index pointer");
    }
    close(fd);
    if (rename(curtmp, cur))
        return zg_error_set(err, ZG_EIO, "", "cannot publish the index pointer");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd)) {
            close(dfd);
            return zg_error_set(err, ZG_EIO, "", "cannot sync the index directory");
        }
        close(dfd);
    }
    return 0;
}

/* Removes the files of generations before keep (a base older than keep, deltas up to it) and
 * temporary files of interrupted publishes. Readers of the previous chain keep theirs. */
static void remove_before(const char *dir, int64_t keep)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        long long g;
        int end = 0;
        size_t nl = strlen(e->d_name);
        bool old = (sscanf(e->d_name, "cohort-%lld.zgc%n", &g, &end) == 1 && (size_t)end == nl &&
                    g < keep) ||
                   (sscanf(e->d_name, "delta-%lld.zgd%n", &g, &end) == 1 && (size_t)end == nl &&
                    g <= keep) ||
                   (nl > 4 && !strcmp(e->d_name + nl - 4, ".tmp") &&
                    (!strncmp(e->d_name, "cohort-", 7) || !strncmp(e->d_name, "delta-", 6)));
        if (old) {
            char p[1400];
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
}

/* The highest generation any index file names (0 when none). */
static int64_t newest_on_disk(const char *dir)
{
    int64_t newest = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        long long g;
        if ((sscanf(e->d_name, "cohort-%lld.", &g) == 1 ||
             sscanf(e->d_name, "delta-%lld.", &g) == 1) &&
            g > newest)
            newest = g;
    }
    if (d)
        closedir(d);
    return newest;
}

/* Writes c as the full snapshot of its generation and points CURRENT at it; removes what no
 * reader needs any more (generations before prev_base, the base of the chain it replaces). */
static int save_full(const char *dir, struct zg_cohort *c, int64_t prev_base, int64_t *bytes,
                     struct zg_error *err)
{
    char tmp[1100], final[1100];
    snprintf(tmp, sizeof(tmp), "%s/cohort-%lld.tmp", dir, (long long)c->generation);
    snprintf(final, sizeof(final), "%s/cohort-%lld.zgc", dir, (long long)c->generation);
    struct wbuf w;
    int rc = wopen(&w, tmp, err);
    if (rc)
        return rc;
    wput(&w, MAGIC, 8);
    wput(&w, &c->generation, 8);
    wput(&w, &c->max_import, 8);
    wput(&w, &c->case_seq, 8);
    wput(&w, &c->clin_seq, 8);
    zg_random_bytes(&c->lineage, sizeof(c->lineage)); /* a new history starts here */
    wput(&w, &c->lineage, 8);
    wput(&w, &c->nslots, 4);
    for (uint32_t i = 0; i < c->nslots; i++)
        wput(&w, &c->cases[i], sizeof(struct case_slot));
    uint64_t nkeys = c->n;
    wput(&w, &nkeys, 8);
    for (size_t i = 0; i < c->cap && !w.failed; i++)
        if (c->tab[i].key)
            wentry(&w, c->tab[i].key, c->tab[i].bm);
    if ((rc = wpublish(&w, tmp, final, err)) ||
        (rc = write_current(dir, c->generation, c->generation, err)))
        return rc;
    remove_before(dir, prev_base);
    *bytes = w.total;
    return 0;
}

static bool slot_same(const struct case_slot *a, const struct case_slot *b)
{
    return !strcmp(a->id, b->id) && !strcmp(a->ct, b->ct) && a->tmb == b->tmb;
}

/* A case whose case-level membership a delta patches: its slot and keys (NUL-separated). */
struct patched {
    uint32_t cn;
    uint16_t nkeys;
    struct case_slot slot;
    char *keys;
    size_t klen;
};

/* Writes the delta of generation d->generation over base and points CURRENT at it. d holds what
 * the new imports add (gene, variant and profile sets), and either (np < 0) the case-level sets
 * and case table read again, of which the slots that differ from prev (nprev slots, the case
 * table of the generation before) are written, or (np ≥ 0) the cases patched: np of them, and
 * nslots the table's new extent. */
static int save_delta(const char *dir, struct zg_cohort *d, int64_t base,
                      const struct case_slot *prev, uint32_t nprev, const struct patched *pt,
                      int64_t np, uint32_t nslots, int64_t *bytes, struct zg_error *err)
{
    char tmp[1100], final[1100];
    snprintf(tmp, sizeof(tmp), "%s/delta-%lld.tmp", dir, (long long)d->generation);
    snprintf(final, sizeof(final), "%s/delta-%lld.zgd", dir, (long long)d->generation);
    uint32_t mode = np >= 0, nchanged = 0;
    if (mode) {
        nchanged = (uint32_t)np;
    } else {
        nslots = d->nslots;
        for (uint32_t i = 0; i < d->nslots; i++)
            nchanged += i >= nprev || !slot_same(&d->cases[i], &prev[i]);
    }
    uint64_t nrepl = 0, nor = 0;
    for (size_t i = 0; i < d->cap; i++)
        if (d->tab[i].key)
            *(replaced_key(d->tab[i].key) ? &nrepl : &nor) += 1;
    struct wbuf w;
    int rc = wopen(&w, tmp, err);
    if (rc)
        return rc;
    wput(&w, DELTA_MAGIC, 8);
    wput(&w, &d->generation, 8);
    wput(&w, &base, 8);
    wput(&w, &d->lineage, 8);
    wput(&w, &d->max_import, 8);
    wput(&w, &d->case_seq, 8);
    wput(&w, &d->clin_seq, 8);
    wput(&w, &nslots, 4);
    wput(&w, &mode, 4);
    wput(&w, &nchanged, 4);
    if (mode) {
        for (int64_t k = 0; k < np; k++) {
            wput(&w, &pt[k].cn, 4);
            wput(&w, &pt[k].slot, sizeof(struct case_slot));
            wput(&w, &pt[k].nkeys, 2);
            const char *key = pt[k].keys;
            for (uint16_t j = 0; j < pt[k].nkeys; j++) {
                uint16_t kl = (uint16_t)strlen(key);
                wput(&w, &kl, 2);
                wput(&w, key, kl);
                key += kl + 1;
            }
        }
    } else {
        for (uint32_t i = 0; i < d->nslots; i++)
            if (i >= nprev || !slot_same(&d->cases[i], &prev[i])) {
                wput(&w, &i, 4);
                wput(&w, &d->cases[i], sizeof(struct case_slot));
            }
        wput(&w, &nrepl, 8);
        for (size_t i = 0; i < d->cap && !w.failed; i++)
            if (d->tab[i].key && replaced_key(d->tab[i].key))
                wentry(&w, d->tab[i].key, d->tab[i].bm);
    }
    wput(&w, &nor, 8);
    for (size_t i = 0; i < d->cap && !w.failed; i++)
        if (d->tab[i].key && !replaced_key(d->tab[i].key))
            wentry(&w, d->tab[i].key, d->tab[i].bm);
    if ((rc = wpublish(&w, tmp, final, err)) || (rc = write_current(dir, d->generation, base, err)))
        return rc;
    *bytes = w.total;
    return 0;
}

/* Cancer-type list, case → type map, profiled set and profiled cases per type, from the
 * case-level entries (after a load or a view build). */
static int derive_case_level(struct zg_cohort *c, struct zg_error *err)
{
    if (list_types(c) || !(c->profiled = roaring_bitmap_create()))
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    static const char *const prof[] = {"p\tsomatic", "p\tsv", "p\tcnv"};
    for (int i = 0; i < 3; i++) {
        const roaring_bitmap_t *b = zg_cohort_get(c, prof[i]);
        if (b)
            roaring_bitmap_or_inplace(c->profiled, b);
    }
    if (!(c->prof_ct = calloc(c->nct ? c->nct : 1, sizeof(uint64_t))))
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    roaring_uint32_iterator_t *it = roaring_create_iterator(c->profiled);
    while (it && it->has_value) {
        if (it->current_value < c->nslots && c->nct)
            c->prof_ct[c->ct_of[it->current_value]]++;
        roaring_advance_uint32_iterator(it);
    }
    roaring_free_uint32_iterator(it);
    return 0;
}

struct rbuf {
    const char *p;
    size_t n, off;
};

static bool rget(struct rbuf *r, void *out, size_t n)
{
    if (r->n - r->off < n)
        return false;
    memcpy(out, r->p + r->off, n);
    r->off += n;
    return true;
}

/* The whole of a file (index files are read whole; a delta is small, a base is the index). */
static int read_file(const char *path, char **buf, size_t *len, struct zg_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return zg_error_set(err, ZG_ENOTFOUND, "", "cannot open %s", path);
    struct stat sb;
    if (fstat(fd, &sb) || sb.st_size < 40) {
        close(fd);
        return zg_error_set(err, ZG_ECORRUPT, "", "the cohort index %s is truncated", path);
    }
    char *b = malloc((size_t)sb.st_size);
    size_t got = 0;
    while (b && got < (size_t)sb.st_size) {
        ssize_t n = read(fd, b + got, (size_t)sb.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!b || got != (size_t)sb.st_size) {
        free(b);
        return zg_error_set(err, ZG_EIO, "", "cannot read %s", path);
    }
    *buf = b;
    *len = got;
    return 0;
}

/* Adds key → b to c (which takes b): a new key, or with merge its bits OR'd into the
 * existing set. ZG_ECORRUPT for a repeated key without merge. */
static int put_entry(struct zg_cohort *c, const char *key, roaring_bitmap_t *b, bool merge)
{
    struct entry *e = slot_for(c, key);
    if (e->key) {
        if (merge)
            roaring_bitmap_or_inplace(e->bm, b);
        roaring_bitmap_free(b);
        return merge ? 0 : ZG_ECORRUPT;
    }
    if ((c->n + 1) * 2 > c->cap) {
        if (grow(c)) {
            roaring_bitmap_free(b);
            return ZG_ENOMEM;
        }
        e = slot_for(c, key);
    }
    if (!(e->key = strdup(key))) {
        roaring_bitmap_free(b);
        return ZG_ENOMEM;
    }
    e->bm = b;
    c->n++;
    return 0;
}

/* n keyed bitmaps from r into c (merged into existing sets with merge). */
static int read_entries(struct zg_cohort *c, struct rbuf *r, uint64_t n, bool merge)
{
    for (uint64_t i = 0; i < n; i++) {
        uint16_t kl;
        uint64_t bl;
        char key[MAX_KEY + 1];
        if (!rget(r, &kl, 2) || kl > MAX_KEY || !rget(r, key, kl) || !rget(r, &bl, 8) ||
            bl > r->n - r->off)
            return ZG_ECORRUPT;
        key[kl] = '\0';
        roaring_bitmap_t *b = roaring_bitmap_portable_deserialize_safe(r->p + r->off, (size_t)bl);
        r->off += (size_t)bl;
        if (!b)
            return ZG_ECORRUPT;
        int rc = put_entry(c, key, b, merge);
        if (rc)
            return rc;
    }
    return 0;
}

/* Sets the case table to n slots (new ones empty). */
static int resize_slots(struct zg_cohort *c, uint32_t n)
{
    if (n > c->nslots) {
        struct case_slot *p = realloc(c->cases, (size_t)n * sizeof(*p));
        if (!p)
            return ZG_ENOMEM;
        memset(p + c->nslots, 0, (size_t)(n - c->nslots) * sizeof(*p));
        c->cases = p;
    }
    c->nslots = n;
    return 0;
}

static int damaged(struct zg_error *err, int rc, const char *path)
{
    return rc == ZG_ENOMEM ? zg_error_set(err, ZG_ENOMEM, "", "out of memory")
                           : zg_error_set(err, ZG_ECORRUPT, "",
                                          "the cohort index %s is damaged (zengen genome-index "
                                          "rebuild makes it again from the database)",
                                          path);
}

/* A full snapshot file, without the derived lists (finish_loaded). */
static int load_base(const char *path, struct zg_cohort **out, struct zg_error *err)
{
    char *buf = NULL;
    size_t got = 0;
    int rc = read_file(path, &buf, &got, err);
    if (rc)
        return rc;
    struct zg_cohort *c = cohort_new();
    struct rbuf r = {buf, got, 0};
    char magic[8];
    uint64_t nkeys = 0;
    uint32_t nslots = 0;
    if (c && stale_magic(buf)) {
        rc = zg_error_set(err, ZG_ECONFLICT, "",
                          "the cohort index %s was built by an earlier zengen; it is rebuilt at "
                          "the next publish (zengen genome-index rebuild)",
                          path);
        goto out;
    }
    if (!c) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    bool v2 = got >= 8 && !memcmp(buf, MAGIC_V2, 8);
    c->case_seq = c->clin_seq = -1;
    if (!rget(&r, magic, 8) || (memcmp(magic, MAGIC, 8) && !v2) ||
        memcmp(buf + got - 8, END_MAGIC, 8) || !rget(&r, &c->generation, 8) ||
        !rget(&r, &c->max_import, 8) || (!v2 && !rget(&r, &c->case_seq, 8)) ||
        (!v2 && !rget(&r, &c->clin_seq, 8)) || (!v2 && !rget(&r, &c->lineage, 8)) ||
        !rget(&r, &nslots, 4) || (uint64_t)nslots * sizeof(struct case_slot) > r.n - r.off) {
        rc = damaged(err, ZG_ECORRUPT, path);
        goto out;
    }
    if (!(c->cases = calloc(nslots ? nslots : 1, sizeof(struct case_slot)))) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    c->nslots = nslots;
    for (uint32_t i = 0; i < nslots; i++) {
        (void)rget(&r, &c->cases[i], sizeof(struct case_slot)); /* size checked above */
        c->cases[i].id[ZG_ID_LEN - 1] = '\0';
        c->cases[i].ct[sizeof(c->cases[i].ct) - 1] = '\0';
    }
    if (!rget(&r, &nkeys, 8) || nkeys > (r.n - r.off) / 10) {
        rc = damaged(err, ZG_ECORRUPT, path);
        goto out;
    }
    while (c->cap < nkeys * 2 + 2)
        if (grow(c)) {
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
            goto out;
        }
    if ((rc = read_entries(c, &r, nkeys, false)))
        rc = damaged(err, rc, path);
out:
    free(buf);
    if (rc) {
        cohort_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* The fixed part of a delta file. */
struct delta_head {
    int64_t gen, base, max_import, case_seq, clin_seq;
    uint64_t lineage;
    uint32_t nslots, mode, nchanged; /* mode 0: case-level sets replaced; 1: cases patched */
};

static bool delta_head(struct rbuf *r, struct delta_head *h)
{
    char magic[8];
    return rget(r, magic, 8) && !memcmp(magic, DELTA_MAGIC, 8) && rget(r, &h->gen, 8) &&
           rget(r, &h->base, 8) && rget(r, &h->lineage, 8) && rget(r, &h->max_import, 8) &&
           rget(r, &h->case_seq, 8) && rget(r, &h->clin_seq, 8) && rget(r, &h->nslots, 4) &&
           rget(r, &h->mode, 4) && rget(r, &h->nchanged, 4) && h->mode <= 1 &&
           (uint64_t)h->nchanged * (4 + sizeof(struct case_slot)) <= r->n - r->off;
}

/* The non-profile case-level sets of c (pointers stay valid while keys are added). */
static int case_level_sets(const struct zg_cohort *c, roaring_bitmap_t ***out, size_t *n)
{
    size_t k = 0;
    for (size_t i = 0; i < c->cap; i++)
        k += c->tab[i].key && replaced_key(c->tab[i].key);
    roaring_bitmap_t **v = malloc((k ? k : 1) * sizeof(*v));
    if (!v)
        return ZG_ENOMEM;
    k = 0;
    for (size_t i = 0; i < c->cap; i++)
        if (c->tab[i].key && replaced_key(c->tab[i].key))
            v[k++] = c->tab[i].bm;
    *out = v;
    *n = k;
    return 0;
}

/* Removes the non-profile case-level sets left empty by a patch (a set without cases is not
 * in an index built from the tables). */
static bool empty_case_level(const struct entry *e, const void *ctx)
{
    (void)ctx;
    return replaced_key(e->key) && roaring_bitmap_is_empty(e->bm);
}

static int drop_empty_case_level(struct zg_cohort *c)
{
    return drop_where(c, empty_case_level, NULL);
}

/* The changed cases of a delta: their slots into c's table and, with sets (mode 1), their
 * case-level membership (out of every such set, into the listed ones). Without sets the keys
 * are skipped (a publisher reading only the case table). */
/* A patched case leaves every non-profile case-level set (cl, from case_level_sets) ... */
static void leave_case_sets(roaring_bitmap_t *const *cl, size_t ncl, uint32_t cn)
{
    for (size_t j = 0; j < ncl; j++)
        roaring_bitmap_remove(cl[j], cn);
}

/* ... and joins the set of each of its keys (created when new). 0 or ZG_ENOMEM. */
static int join_case_set(struct zg_cohort *c, const char *key, uint32_t cn)
{
    roaring_bitmap_t *b = get_or_add(c, key);
    if (!b)
        return ZG_ENOMEM;
    roaring_bitmap_add(b, cn);
    return 0;
}

/* Whether the changed-case section of a delta (read from a copy of r) is well formed, and its
 * new table extent no larger than c's table or the highest case it fills: a damaged count must
 * be refused, not allocated. */
static bool delta_cases_valid(const struct zg_cohort *c, struct rbuf r, const struct delta_head *h)
{
    uint64_t top = c->nslots;
    for (uint32_t k = 0; k < h->nchanged; k++) {
        uint32_t i = UINT32_MAX;
        struct case_slot slot;
        uint16_t nk = 0;
        if (!rget(&r, &i, 4) || !rget(&r, &slot, sizeof(slot)) || i == UINT32_MAX ||
            (!h->mode && i >= h->nslots) || (h->mode && !rget(&r, &nk, 2)))
            return false;
        if (slot.id[0]) { /* a case that exists has its slot within the table */
            if (i >= h->nslots)
                return false;
            top = (uint64_t)i + 1 > top ? (uint64_t)i + 1 : top;
        }
        for (uint16_t j = 0; j < nk; j++) {
            uint16_t kl;
            if (!rget(&r, &kl, 2) || kl > MAX_KEY || r.n - r.off < kl)
                return false;
            r.off += kl;
        }
    }
    return h->nslots <= top;
}

static int delta_cases(struct zg_cohort *c, struct rbuf *r, const struct delta_head *h, bool sets)
{
    if (!delta_cases_valid(c, *r, h))
        return ZG_ECORRUPT;
    if (resize_slots(c, h->nslots))
        return ZG_ENOMEM;
    roaring_bitmap_t **cl = NULL;
    size_t ncl = 0;
    if (sets && h->mode && case_level_sets(c, &cl, &ncl))
        return ZG_ENOMEM;
    int rc = 0;
    for (uint32_t k = 0; k < h->nchanged && !rc; k++) {
        uint32_t i = UINT32_MAX;
        struct case_slot slot;
        if (!rget(r, &i, 4) || !rget(r, &slot, sizeof(slot)) || i == UINT32_MAX ||
            (!h->mode && i >= h->nslots)) {
            rc = ZG_ECORRUPT;
            break;
        }
        slot.id[ZG_ID_LEN - 1] = '\0';
        slot.ct[sizeof(slot.ct) - 1] = '\0';
        if (i < h->nslots)
            c->cases[i] = slot;
        if (!h->mode)
            continue;
        uint16_t nk = 0;
        if (!rget(r, &nk, 2)) {
            rc = ZG_ECORRUPT;
            break;
        }
        if (sets)
            leave_case_sets(cl, ncl, i);
        for (uint16_t j = 0; j < nk && !rc; j++) {
            uint16_t kl;
            char key[MAX_KEY + 1];
            if (!rget(r, &kl, 2) || kl > MAX_KEY || !rget(r, key, kl)) {
                rc = ZG_ECORRUPT;
                break;
            }
            key[kl] = '\0';
            if (!sets)
                continue;
            if (!replaced_key(key)) {
                rc = ZG_ECORRUPT;
                break;
            }
            rc = join_case_set(c, key, i);
        }
    }
    free(cl);
    if (!rc && sets && h->mode)
        rc = drop_empty_case_level(c);
    return rc;
}

/* Applies delta-gen.zgd (over base) to c. */
static int apply_delta(struct zg_cohort *c, const char *dir, int64_t gen, int64_t base,
                       struct zg_error *err)
{
    char path[1100];
    snprintf(path, sizeof(path), "%s/delta-%lld.zgd", dir, (long long)gen);
    char *buf = NULL;
    size_t got = 0;
    int rc = read_file(path, &buf, &got, err);
    if (rc)
        return rc;
    struct rbuf r = {buf, got, 0};
    struct delta_head h;
    uint64_t nrepl = 0, nor = 0;
    if (memcmp(buf + got - 8, END_MAGIC, 8) || !delta_head(&r, &h) || h.gen != gen ||
        h.base != base) {
        rc = damaged(err, ZG_ECORRUPT, path);
        goto out;
    }
    if (h.lineage != c->lineage) { /* written over another full snapshot of that number */
        rc = zg_error_set(err, ZG_ECONFLICT, "",
                          "the cohort index %s belongs to another snapshot history", path);
        goto out;
    }
    if ((rc = delta_cases(c, &r, &h, true)) ||
        (!h.mode && (!rget(&r, &nrepl, 8) || (rc = drop_prefixes(c, rebuilt_prefixes)) ||
                     (rc = read_entries(c, &r, nrepl, false)))) ||
        !rget(&r, &nor, 8) || (rc = read_entries(c, &r, nor, true)) || r.off != got - 8) {
        rc = damaged(err, rc ? rc : ZG_ECORRUPT, path);
        goto out;
    }
    c->generation = gen;
    c->max_import = h.max_import;
    c->case_seq = h.case_seq;
    c->clin_seq = h.clin_seq;
out:
    free(buf);
    return rc;
}

/* After a load: the case-level list and the derived arrays. */
static int finish_loaded(struct zg_cohort *c, struct zg_error *err)
{
    if (list_small(c))
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    return derive_case_level(c, err);
}

int zg_cohort_load(const char *path, struct zg_cohort **out, struct zg_error *err)
{
    int rc = load_base(path, out, err);
    if (!rc && (rc = finish_loaded(*out, err))) {
        cohort_free(*out);
        *out = NULL;
    }
    return rc;
}

/* CURRENT: the generation and the base it is built on. */
static int read_current(const char *dir, int64_t *gen, int64_t *base)
{
    char p[1100], line[48] = "";
    snprintf(p, sizeof(p), "%s/CURRENT", dir);
    FILE *f = fopen(p, "r");
    if (!f)
        return ZG_ENOTFOUND;
    bool ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    char *end;
    long long g = ok ? strtoll(line, &end, 10) : 0, b = g;
    if (ok && *end == ' ')
        b = strtoll(end + 1, &end, 10);
    if (!ok || g <= 0 || b <= 0 || b > g || g - b > MAX_CHAIN || (*end && *end != '\n'))
        return ZG_ECORRUPT;
    *gen = g;
    *base = b;
    return 0;
}

/* Generation gen: its base, then its deltas. */
static int load_chain(const char *dir, int64_t gen, int64_t base, struct zg_cohort **out,
                      struct zg_error *err)
{
    char p[1100];
    snprintf(p, sizeof(p), "%s/cohort-%lld.zgc", dir, (long long)base);
    struct zg_cohort *c = NULL;
    int rc = load_base(p, &c, err);
    if (!rc && c->generation != base)
        rc = damaged(err, ZG_ECORRUPT, p);
    for (int64_t g = base + 1; !rc && g <= gen; g++)
        rc = apply_delta(c, dir, g, base, err);
    if (!rc) {
        c->full_gen = base;
        rc = finish_loaded(c, err);
    }
    if (rc) {
        cohort_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* A copy of a loaded snapshot's sets and case table (not a view), to apply deltas to: cheaper
 * than loading the chain again (no file read, no deserialisation, no rehashing). */
static struct zg_cohort *cohort_clone(const struct zg_cohort *src)
{
    struct zg_cohort *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    c->generation = src->generation;
    c->full_gen = src->full_gen;
    c->lineage = src->lineage;
    c->max_import = src->max_import;
    c->cap = src->cap;
    c->tab = calloc(c->cap, sizeof(*c->tab));
    c->cases = malloc((src->nslots ? src->nslots : 1) * sizeof(*c->cases));
    bool ok = c->tab && c->cases;
    for (size_t i = 0; ok && i < c->cap; i++) {
        if (!src->tab[i].key)
            continue;
        c->tab[i].key = strdup(src->tab[i].key);
        c->tab[i].bm = c->tab[i].key ? roaring_bitmap_copy(src->tab[i].bm) : NULL;
        if (!c->tab[i].bm) {
            free(c->tab[i].key);
            c->tab[i].key = NULL;
            ok = false;
        }
        c->n++;
    }
    if (!ok) {
        cohort_free(c);
        return NULL;
    }
    memcpy(c->cases, src->cases, (size_t)src->nslots * sizeof(*c->cases));
    c->nslots = src->nslots;
    return c;
}

/* Generation gen (over full snapshot base) from a loaded earlier generation over the same base:
 * a copy of it with the newer deltas applied. */
static int advance(const struct zg_cohort *from, const char *dir, int64_t gen, int64_t base,
                   struct zg_cohort **out, struct zg_error *err)
{
    struct zg_cohort *c = cohort_clone(from);
    if (!c)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    int rc = 0;
    for (int64_t g = from->generation + 1; !rc && g <= gen; g++)
        rc = apply_delta(c, dir, g, base, err);
    if (!rc)
        rc = finish_loaded(c, err);
    if (rc) {
        cohort_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* The published snapshot, or an empty one when none is published yet. One in an earlier
 * format is an error (ZG_ECONFLICT: rebuild it). */
static int load_current(const struct zg_datadir *dd, struct zg_cohort *have, struct zg_cohort **out,
                        struct zg_error *err)
{
    char dir[1024];
    index_dir(dd, dir, sizeof(dir));
    int64_t gen = 0, base = 0;
    int rc = read_current(dir, &gen, &base);
    if (rc == ZG_ENOTFOUND) {
        *out = cohort_new();
        return *out ? 0 : zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    }
    if (rc)
        return zg_error_set(err, rc, "", "the cohort index pointer is damaged");
    /* a loaded generation over the same full snapshot only needs the newer deltas */
    if (have && have->full_gen == base && have->generation == gen) {
        atomic_fetch_add(&have->refs, 1);
        *out = have;
        return 0;
    }
    if (have && have->full_gen == base && have->generation >= base && have->generation < gen) {
        rc = advance(have, dir, gen, base, out, err);
        if (rc != ZG_ENOTFOUND && rc != ZG_ECONFLICT)
            return rc;
        zg_error_clear(err); /* folded meanwhile, or another history: load it whole */
    }
    rc = load_chain(dir, gen, base, out, err);
    /* publishes between reading CURRENT and opening its files remove that chain: read the
     * pointer again */
    for (int tries = 0; rc == ZG_ENOTFOUND && tries < 3; tries++) {
        if (read_current(dir, &gen, &base))
            break;
        zg_error_clear(err);
        rc = load_chain(dir, gen, base, out, err);
    }
    return rc;
}

/* What a publisher needs of the published generation without loading its sets: generation,
 * base, last import applied, case table, and the sizes of the base and of its deltas.
 * ZG_ENOTFOUND when nothing is published; ZG_ECONFLICT (gen set) for an earlier format. */
struct chain_state {
    int64_t gen, base, max_import, case_seq, clin_seq;
    uint64_t lineage;
    struct case_slot *cases;
    uint32_t nslots;
    int64_t base_bytes, delta_bytes;
};

static int read_chain_state(const char *dir, struct chain_state *s, struct zg_error *err)
{
    memset(s, 0, sizeof(*s));
    int rc = read_current(dir, &s->gen, &s->base);
    if (rc == ZG_ENOTFOUND)
        return rc;
    if (rc)
        return zg_error_set(err, rc, "", "the cohort index pointer is damaged");
    /* the base's header and case table are read whole; its sets are not needed */
    char p[1100];
    snprintf(p, sizeof(p), "%s/cohort-%lld.zgc", dir, (long long)s->base);
    struct zg_cohort *c = cohort_new();
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    char head[52];
    uint32_t nslots = 0;
    if (!c || fd < 0 || fstat(fd, &sb) || read(fd, head, 52) != 52) {
        rc = fd < 0 ? zg_error_set(err, ZG_ECORRUPT, "", "the cohort index %s is missing", p)
                    : damaged(err, c ? ZG_ECORRUPT : ZG_ENOMEM, p);
        goto out;
    }
    if (stale_magic(head)) {
        rc = ZG_ECONFLICT;
        goto out;
    }
    bool v2 = !memcmp(head, MAGIC_V2, 8); /* no marks */
    size_t hl = v2 ? 28 : 52;
    memcpy(&nslots, head + hl - 4, 4);
    size_t tl = (size_t)nslots * sizeof(struct case_slot);
    if ((memcmp(head, MAGIC, 8) && !v2) || (int64_t)(hl + tl) > sb.st_size ||
        resize_slots(c, nslots) || (tl && pread(fd, c->cases, tl, (off_t)hl) != (ssize_t)tl)) {
        rc = damaged(err, ZG_ECORRUPT, p);
        goto out;
    }
    for (uint32_t i = 0; i < nslots; i++) {
        c->cases[i].id[ZG_ID_LEN - 1] = '\0';
        c->cases[i].ct[sizeof(c->cases[i].ct) - 1] = '\0';
    }
    memcpy(&s->max_import, head + 16, 8);
    s->case_seq = s->clin_seq = -1;
    if (!v2) {
        memcpy(&s->case_seq, head + 24, 8);
        memcpy(&s->clin_seq, head + 32, 8);
        memcpy(&s->lineage, head + 40, 8);
    }
    s->base_bytes = sb.st_size;
    for (int64_t g = s->base + 1; g <= s->gen; g++) {
        snprintf(p, sizeof(p), "%s/delta-%lld.zgd", dir, (long long)g);
        char *buf = NULL;
        size_t got = 0;
        if ((rc = read_file(p, &buf, &got, err))) { /* missing too: the chain is damaged */
            rc = damaged(err, rc == ZG_ENOMEM ? ZG_ENOMEM : ZG_ECORRUPT, p);
            goto out;
        }
        struct rbuf r = {buf, got, 0};
        struct delta_head h;
        bool ok = !memcmp(buf + got - 8, END_MAGIC, 8) && delta_head(&r, &h) && h.gen == g &&
                  h.base == s->base && h.lineage == s->lineage && !delta_cases(c, &r, &h, false);
        free(buf);
        if (!ok) {
            rc = damaged(err, ZG_ECORRUPT, p);
            goto out;
        }
        s->max_import = h.max_import;
        s->case_seq = h.case_seq;
        s->clin_seq = h.clin_seq;
        s->delta_bytes += (int64_t)got;
    }
    s->cases = c->cases;
    s->nslots = c->nslots;
    c->cases = NULL;
out:
    if (fd >= 0)
        close(fd);
    cohort_free(c);
    return rc;
}

/* Applies the committed imports after c->max_import to c (gene, variant and profile sets). */
static int apply_new_imports(struct zg_cohort *c, sqlite3 *db, bool scratch,
                             struct zg_cohort_update_stats *stats, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "SELECT import_no,case_no,kind FROM genome_imports WHERE import_no>? ORDER BY import_no",
        err);
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, c->max_import);
    int r, rc = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t ino = sqlite3_column_int64(st, 0), cno = sqlite3_column_int64(st, 1);
        const char *kind = zg_db_text(st, 2);
        if (!scratch) {
            rc = !strcmp(kind, "somatic") ? apply_somatic_import(c, db, cno, ino, err)
                                          : apply_other(c, db, kind, cno, ino, err);
            if (rc)
                break;
            if (!strcmp(kind, "somatic") && (rc = addk(c, (uint32_t)cno, err, "p\tsomatic")))
                break;
        }
        c->max_import = ino;
        stats->imports_applied++;
    }
    rc = end_rows(db, st, r, rc, err);
    return rc;
}

/* Everything from the tables (a rebuild). */
static int apply_everything(struct zg_cohort *c, sqlite3 *db, struct zg_error *err)
{
    static const char *const kinds[] = {"germline", "sv", "cnv"};
    int rc = apply_somatic_all(c, db, err);
    for (int k = 0; !rc && k < 3; k++)
        rc = apply_other(c, db, kinds[k], 0, 0, err);
    if (rc)
        return rc;
    /* profiled flags for files without calls */
    sqlite3_stmt *st = zg_db_prepare(db, "SELECT case_no,kind FROM genome_imports", err);
    if (!st)
        return err->code;
    while (!rc && sqlite3_step(st) == SQLITE_ROW)
        rc = addk(c, (uint32_t)sqlite3_column_int64(st, 0), err, "p\t%s", zg_db_text(st, 1));
    zg_db_release(st);
    return rc;
}

/* The change marks of what db sees: the case change log's last seq, and the clinical
 * high-water mark (clinical_versions is append-only, so its largest rowid grows with every
 * stored clinical change). Two index seeks. */
static int change_marks(sqlite3 *db, int64_t *case_seq, int64_t *clin_seq, struct zg_error *err)
{
    sqlite3_stmt *st =
        zg_db_prepare(db,
                      "SELECT (SELECT coalesce(max(seq), 0) FROM genome_case_changes),"
                      " (SELECT coalesce(max(rowid), 0) FROM clinical_versions)",
                      err);
    if (!st)
        return err->code;
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW) {
        *case_seq = sqlite3_column_int64(st, 0);
        *clin_seq = sqlite3_column_int64(st, 1);
    } else {
        rc = zg_db_fail(db, r, err);
    }
    zg_db_release(st);
    return rc;
}

static void free_patches(struct patched *pt, int64_t np)
{
    for (int64_t k = 0; k < np; k++)
        free(pt[k].keys);
    free(pt);
}

static int patch_key(struct patched *p, size_t *cap, const char *key)
{
    size_t kl = strlen(key) + 1;
    if (p->nkeys == UINT16_MAX)
        return ZG_ETOOBIG;
    if (p->klen + kl > *cap) {
        char *q = realloc(p->keys, *cap * 2 + kl);
        if (!q)
            return ZG_ENOMEM;
        p->keys = q;
        *cap = *cap * 2 + kl;
    }
    memcpy(p->keys + p->klen, key, kl);
    p->klen += kl;
    p->nkeys++;
    return 0;
}

/* One changed case: its slot and case-level keys as db has them now (none when it is gone). */
static int read_patch(sqlite3 *db, sqlite3_stmt *row, sqlite3_stmt *attrs, uint32_t cn,
                      struct patched *p, struct zg_error *err)
{
    memset(p, 0, sizeof(*p));
    p->cn = cn;
    sqlite3_reset(row);
    sqlite3_bind_int64(row, 1, cn);
    int r = sqlite3_step(row);
    if (r == SQLITE_DONE) /* no longer a genome case: out of every set */
        return 0;
    if (r != SQLITE_ROW)
        return zg_db_fail(db, r, err);
    char keys[ROW_KEYS][MAX_KEY], key[MAX_KEY];
    int nk = case_row(row, &p->slot, keys), rc = 0;
    size_t cap = 0;
    for (int k = 0; k < nk && !rc; k++)
        rc = patch_key(p, &cap, keys[k]);
    sqlite3_reset(attrs);
    sqlite3_bind_int64(attrs, 1, cn);
    while (!rc && (r = sqlite3_step(attrs)) == SQLITE_ROW) {
        int n = snprintf(key, sizeof(key), "a\t%s=%s", zg_db_text(attrs, 0), zg_db_text(attrs, 1));
        if (n >= 0 && n < MAX_KEY) /* longer ones are not indexed (addk) */
            rc = patch_key(p, &cap, key);
    }
    if (rc)
        return zg_error_set(err, rc, "", "out of memory");
    return r == SQLITE_DONE ? 0 : zg_db_fail(db, r, err);
}

/* The cases whose case-level membership changed since the marks (genome case rows and
 * attributes from the change log after case_seq, clinical records from clinical_versions after
 * clin_seq), read again, and the case table (*cases, *nslots) updated with them. *np = -1 when more
 * changed than patching is worth (then nothing is changed; the caller reads every case). */
static int read_patches(sqlite3 *db, int64_t case_seq, int64_t clin_seq, struct case_slot **cases,
                        uint32_t *nslots, struct patched **out, int64_t *np, struct zg_error *err)
{
    *out = NULL;
    *np = -1;
    int64_t lim = 64 + *nslots / 16;
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "SELECT case_no FROM genome_case_changes WHERE seq > ?1 UNION"
        /* CROSS JOIN: the versions after the mark first (a range), not every genome case */
        " SELECT g.case_no FROM clinical_versions v CROSS JOIN genome_cases g"
        " ON g.case_id = v.case_id WHERE v.rowid > ?2 ORDER BY 1 LIMIT ?3",
        err);
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, case_seq);
    sqlite3_bind_int64(st, 2, clin_seq);
    sqlite3_bind_int64(st, 3, lim + 1);
    uint32_t *cns = malloc((size_t)(lim + 1) * sizeof(*cns));
    int64_t n = 0;
    int r, rc = 0;
    while (cns && (r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t no = sqlite3_column_int64(st, 0);
        if (no < 0 || no > UINT32_MAX - 1) {
            rc = zg_error_set(err, ZG_ECORRUPT, "", "case number out of range");
            break;
        }
        cns[n++] = (uint32_t)no;
    }
    if (!cns)
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    else if (!rc && r != SQLITE_DONE)
        rc = zg_db_fail(db, r, err);
    zg_db_release(st);
    if (rc || n > lim) {
        free(cns);
        return rc;
    }
    struct patched *pt = calloc((size_t)(n ? n : 1), sizeof(*pt));
    sqlite3_stmt *row = zg_db_prepare(db, CASE_ROW_SQL " WHERE g.case_no = ?", err);
    sqlite3_stmt *attrs =
        row ? zg_db_prepare(db,
                            "SELECT key, value FROM genome_case_attrs WHERE case_no = ?"
                            " ORDER BY key",
                            err)
            : NULL;
    if (!pt)
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    else if (!row || !attrs)
        rc = err->code;
    int64_t k = 0;
    for (; !rc && k < n; k++)
        rc = read_patch(db, row, attrs, cns[k], &pt[k], err);
    zg_db_release(row);
    zg_db_release(attrs);
    free(cns);
    if (rc) {
        free_patches(pt, k);
        return rc;
    }
    /* the case table after the patch (its extent as a rebuild gives it) */
    for (int64_t j = 0; j < n; j++) {
        struct case_slot *t = *cases;
        uint32_t cn = pt[j].cn;
        if (cn >= *nslots && pt[j].slot.id[0]) {
            t = realloc(*cases, ((size_t)cn + 1) * sizeof(*t));
            if (!t) {
                free_patches(pt, n);
                return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
            }
            memset(t + *nslots, 0, ((size_t)cn + 1 - *nslots) * sizeof(*t));
            *cases = t;
            *nslots = cn + 1;
        }
        if (cn < *nslots)
            (*cases)[cn] = pt[j].slot;
    }
    while (*nslots && !(*cases)[*nslots - 1].id[0])
        (*nslots)--;
    *out = pt;
    *np = n;
    return 0;
}

static int publish(const struct zg_datadir *dd, sqlite3 *db, bool scratch,
                   struct zg_cohort_update_stats *stats, struct zg_error *err)
{
    int64_t t0 = zg_clock_mono_ms();
    char dir[1024], lockp[1100];
    index_dir(dd, dir, sizeof(dir));
    int rc = zg_genome_mkdirs(dir, err);
    if (rc)
        return rc;
    snprintf(lockp, sizeof(lockp), "%s/LOCK", dir);
    int lfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0 || flock(lfd, LOCK_EX)) {
        if (lfd >= 0)
            close(lfd);
        return zg_error_set(err, ZG_EIO, "", "cannot lock the cohort index");
    }
    memset(stats, 0, sizeof(*stats));
    struct zg_cohort *c = NULL;
    struct chain_state cs;
    struct patched *pt = NULL;
    int64_t np = -1;
    rc = read_chain_state(dir, &cs, err);
    bool fresh = rc == ZG_ENOTFOUND;
    if (rc == ZG_ECONFLICT) /* written by an earlier zengen: rebuilt from the tables */
        scratch = true;
    if (rc && !fresh && scratch) { /* a rebuild also repairs a damaged index */
        zg_error_clear(err);
        int64_t newest = newest_on_disk(dir);
        cs.gen = newest > cs.gen ? newest : cs.gen;
        cs.base = cs.gen;
        rc = 0;
    }
    if (fresh) { /* numbering goes on after any files left behind (readers compare numbers) */
        rc = 0;
        cs.gen = cs.base = newest_on_disk(dir);
    }
    if (rc)
        goto out;
    /* a delta, unless this is a rebuild or the chain is long or heavy enough to fold */
    bool delta =
        !scratch && !fresh && cs.gen - cs.base < MAX_CHAIN && cs.delta_bytes * 4 < cs.base_bytes;
    if (delta || scratch || fresh) {
        if (!(c = cohort_new())) {
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
            goto out;
        }
        c->generation = cs.gen;
        c->max_import = delta ? cs.max_import : 0;
        c->lineage = cs.lineage;
    } else if ((rc = load_chain(dir, cs.gen, cs.base, &c, err))) {
        goto out;
    }
    /* read everything from one consistent database snapshot: the new imports, and the cases
     * whose case-level membership changed (only those, for a delta after a snapshot that knows
     * its marks; else every case) */
    if ((rc = zg_db_exec(db, "BEGIN", err)))
        goto out;
    if ((rc = change_marks(db, &c->case_seq, &c->clin_seq, err)) ||
        (scratch && (rc = apply_everything(c, db, err))) ||
        (rc = apply_new_imports(c, db, scratch, stats, err)) ||
        /* (marks that went backwards — a restored database — read every case) */
        (delta && cs.case_seq >= 0 && cs.clin_seq >= 0 && c->case_seq >= cs.case_seq &&
         c->clin_seq >= cs.clin_seq &&
         (rc = read_patches(db, cs.case_seq, cs.clin_seq, &cs.cases, &cs.nslots, &pt, &np, err))) ||
        (np < 0 && (rc = build_case_level(c, db, err)))) {
        zg_db_rollback(db);
        goto out;
    }
    zg_db_rollback(db); /* read-only: just end it */
    c->generation++;
    if ((rc = delta ? save_delta(dir, c, cs.base, cs.cases, cs.nslots, pt, np, cs.nslots,
                                 &stats->bytes, err)
                    : save_full(dir, c, fresh ? 0 : cs.base, &stats->bytes, err)))
        goto out;
    stats->generation = c->generation;
    stats->deltas = delta ? c->generation - cs.base : 0;
    stats->keys = (int64_t)c->n;
    stats->cases_patched = np;
    const roaring_bitmap_t *all = zg_cohort_get(c, "all");
    stats->cases = all ? (int64_t)roaring_bitmap_get_cardinality(all) : 0;
    for (uint32_t i = 0; np >= 0 && i < cs.nslots; i++)
        stats->cases += cs.cases[i].id[0] != '\0';
    stats->ms = zg_clock_mono_ms() - t0;
out:
    free_patches(pt, np);
    free(cs.cases);
    cohort_free(c);
    flock(lfd, LOCK_UN);
    close(lfd);
    return rc;
}

int zg_cohort_update(const struct zg_datadir *dd, sqlite3 *db, struct zg_cohort_update_stats *st,
                     struct zg_error *err)
{
    return publish(dd, db, false, st, err);
}

int zg_cohort_rebuild(const struct zg_datadir *dd, sqlite3 *db, struct zg_cohort_update_stats *st,
                      struct zg_error *err)
{
    return publish(dd, db, true, st, err);
}

/* Whether the published snapshot was written in an earlier format (its base's first bytes). */
static bool current_is_stale(const struct zg_datadir *dd)
{
    char dir[1024], p[1100], magic[8];
    index_dir(dd, dir, sizeof(dir));
    int64_t gen = 0, base = 0;
    if (read_current(dir, &gen, &base))
        return false;
    snprintf(p, sizeof(p), "%s/cohort-%lld.zgc", dir, (long long)base);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool stale = read(fd, magic, 8) == 8 && stale_magic(magic);
    close(fd);
    return stale;
}

int zg_cohort_upgrade(const struct zg_datadir *dd, sqlite3 *db, bool *rebuilt, struct zg_error *err)
{
    *rebuilt = false;
    if (!current_is_stale(dd))
        return 0;
    int rc;
    struct zg_cohort_update_stats st;
    if ((rc = zg_cohort_rebuild(dd, db, &st, err)))
        return rc;
    *rebuilt = true;
    return 0;
}

/* --- live views and the per-process current snapshot ---------------------------------- */

/* The case-level sets of prev (a view built at earlier marks, over this base or an earlier
 * one) copied into the builder tmp, without the profile sets (the base's), and the cases
 * changed since its marks read again: clinical records, genome case rows and attributes.
 * Returns 0, ZG_ETOOBIG when so many changed that a full build is cheaper, or an error. */
static int patch_case_level(struct zg_cohort *tmp, const struct zg_cohort *prev, sqlite3 *db,
                            struct zg_error *err)
{
    for (size_t i = 0; i < prev->nsmall; i++) {
        if (!replaced_key(prev->small[i].key))
            continue;
        roaring_bitmap_t *b = get_or_add(tmp, prev->small[i].key);
        if (!b)
            return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        roaring_bitmap_or_inplace(b, prev->small[i].bm);
    }
    if (!(tmp->cases = malloc((prev->nslots ? prev->nslots : 1) * sizeof(*tmp->cases))))
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    memcpy(tmp->cases, prev->cases, (size_t)prev->nslots * sizeof(*tmp->cases));
    tmp->nslots = prev->nslots;
    struct patched *pt = NULL;
    int64_t np = -1;
    int rc =
        read_patches(db, prev->case_seq, prev->clin_mark, &tmp->cases, &tmp->nslots, &pt, &np, err);
    if (rc)
        return rc;
    if (np < 0)
        return ZG_ETOOBIG;
    roaring_bitmap_t **cl = NULL;
    size_t ncl = 0;
    if (case_level_sets(tmp, &cl, &ncl))
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    for (int64_t k = 0; !rc && k < np; k++) {
        leave_case_sets(cl, ncl, pt[k].cn); /* out of every set, into its own */
        const char *key = pt[k].keys;
        for (uint16_t j = 0; j < pt[k].nkeys && !rc; j++, key += strlen(key) + 1)
            if (join_case_set(tmp, key, pt[k].cn))
                rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    }
    free(cl);
    free_patches(pt, np);
    if (!rc && drop_empty_case_level(tmp))
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    return rc;
}

/* A view of base whose case-level sets are read from db now, at the marks seq and mark (base
 * gains a reference): from prev (a view built at earlier marks, or NULL) and the cases changed
 * since, else from the tables. */
static int make_view(struct zg_cohort *base, const struct zg_cohort *prev, sqlite3 *db, int64_t seq,
                     int64_t mark, struct zg_cohort **out, struct zg_error *err)
{
    struct zg_cohort *tmp = cohort_new(), *v = calloc(1, sizeof(*v));
    int rc = 0;
    if (!tmp || !v) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    if (prev && (rc = patch_case_level(tmp, prev, db, err)) == ZG_ETOOBIG) {
        cohort_free(tmp);
        if (!(tmp = cohort_new())) {
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
            goto out;
        }
        prev = NULL;
    }
    if (rc == ZG_ETOOBIG)
        rc = 0;
    if (rc || (!prev && (rc = build_case_level(tmp, db, err))))
        goto out;
    static const char *const prof[] = {"p\tsomatic", "p\tgermline", "p\tsv", "p\tcnv"};
    for (int i = 0; i < 4; i++) { /* the profile sets are the base's */
        const roaring_bitmap_t *b = zg_cohort_get(base, prof[i]);
        roaring_bitmap_t *t = b ? get_or_add(tmp, prof[i]) : NULL;
        if (b && !t) {
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
            goto out;
        }
        if (t)
            roaring_bitmap_or_inplace(t, b);
    }
    atomic_init(&v->refs, 1);
    atomic_fetch_add(&base->refs, 1);
    v->base = base;
    v->tab = base->tab;
    v->cap = base->cap;
    v->n = base->n;
    v->generation = base->generation;
    v->max_import = base->max_import;
    v->clin_mark = mark;
    v->case_seq = seq;
    /* the builder's entries become the view's own case-level list */
    if (!(v->small = calloc(tmp->n ? tmp->n : 1, sizeof(*v->small)))) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < tmp->cap; i++)
        if (tmp->tab[i].key) {
            v->small[v->nsmall++] = tmp->tab[i];
            tmp->tab[i].key = NULL;
        }
    v->cases = tmp->cases;
    v->nslots = tmp->nslots;
    tmp->cases = NULL;
    rc = derive_case_level(v, err);
out:
    cohort_free(tmp);
    if (rc) {
        cohort_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

/* The server's cache (struct zg_app): the loaded file of the current generation and the
 * latest view over it. NULL everywhere below means no cache (the CLI: load, build, release). */
struct zg_cohort_cache {
    pthread_mutex_t mu;
    char dir[1024];
    struct zg_cohort *cur;
    struct zg_cohort *view; /* over cur, built at view->clin_mark */
    struct timespec mtime;
    ino_t ino;
    bool have;
    bool loading; /* a request is bringing cur up to date */
};

int zg_cohort_cache_new(struct zg_cohort_cache **out)
{
    struct zg_cohort_cache *c = calloc(1, sizeof(*c));
    if (!c || pthread_mutex_init(&c->mu, NULL)) {
        free(c);
        return ZG_ENOMEM;
    }
    *out = c;
    return 0;
}

void zg_cohort_cache_free(struct zg_cohort_cache *c)
{
    if (!c)
        return;
    zg_cohort_release(c->view);
    zg_cohort_release(c->cur);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* The current file snapshot (a new reference). One request at a time brings the cache up to
 * date (from the cached generation plus the newer deltas when it can); requests arriving
 * meanwhile keep the cached snapshot instead of each loading the index again. */
static int acquire_file(struct zg_cohort_cache *cc, const struct zg_datadir *dd,
                        struct zg_cohort **out, struct zg_error *err)
{
    if (!cc)
        return load_current(dd, NULL, out, err);
    char dir[1024], cur[1100];
    index_dir(dd, dir, sizeof(dir));
    snprintf(cur, sizeof(cur), "%s/CURRENT", dir);
    struct stat sb;
    bool exists = stat(cur, &sb) == 0;
    pthread_mutex_lock(&cc->mu);
    bool same_dir = cc->have && !strcmp(cc->dir, dir);
    bool fresh =
        same_dir && (exists ? (cc->ino == sb.st_ino && cc->mtime.tv_sec == sb.st_mtim.tv_sec &&
                               cc->mtime.tv_nsec == sb.st_mtim.tv_nsec)
                            : cc->ino == 0);
    if (fresh || (same_dir && cc->loading)) {
        atomic_fetch_add(&cc->cur->refs, 1);
        *out = cc->cur;
        pthread_mutex_unlock(&cc->mu);
        return 0;
    }
    struct zg_cohort *have = same_dir ? cc->cur : NULL;
    if (have)
        atomic_fetch_add(&have->refs, 1);
    cc->loading = true;
    pthread_mutex_unlock(&cc->mu);
    /* load outside the lock: other readers keep the old snapshot meanwhile */
    struct zg_cohort *c = NULL;
    int rc = load_current(dd, have, &c, err);
    zg_cohort_release(have);
    pthread_mutex_lock(&cc->mu);
    cc->loading = false;
    if (rc) {
        pthread_mutex_unlock(&cc->mu);
        return rc;
    }
    /* one loader at a time: what it loaded is the newest (numbers can start again after the
     * index directory was wiped and rebuilt: another history) */
    if (!cc->have || strcmp(cc->dir, dir) || c->generation >= zg_cohort_generation(cc->cur) ||
        c->lineage != cc->cur->lineage) {
        /* the view over the old generation stays: the next view is patched from it */
        struct zg_cohort *old = cc->cur;
        if (c == old) { /* nothing newer after all */
            old = NULL;
        } else {
            cc->cur = c;
            atomic_fetch_add(&c->refs, 1); /* the cache's reference + the caller's */
        }
        snprintf(cc->dir, sizeof(cc->dir), "%s", dir);
        cc->ino = exists ? sb.st_ino : 0;
        if (exists)
            cc->mtime = sb.st_mtim;
        cc->have = true;
        pthread_mutex_unlock(&cc->mu);
        zg_cohort_release(old);
        *out = c;
        return 0;
    }
    atomic_fetch_add(&cc->cur->refs, 1);
    *out = cc->cur;
    pthread_mutex_unlock(&cc->mu);
    zg_cohort_release(c);
    return 0;
}

int zg_cohort_acquire(struct zg_cohort_cache *cc, const struct zg_datadir *dd, sqlite3 *db,
                      struct zg_cohort **out, struct zg_error *err)
{
    struct zg_cohort *base = NULL, *v = NULL;
    int64_t mark = 0, seq = 0;
    bool rebuilt;
    /* a command-line reader (no cache, a connection of its own) brings an index written by
     * an earlier zengen up to date first; a server does so when it starts */
    int rc = !cc && db ? zg_cohort_upgrade(dd, db, &rebuilt, err) : 0;
    if (!rc)
        rc = acquire_file(cc, dd, &base, err);
    if (rc || !db) {
        if (!rc)
            *out = base;
        return rc;
    }
    if ((rc = change_marks(db, &seq, &mark, err))) {
        zg_cohort_release(base);
        return rc;
    }
    if (!cc) { /* no cache: a view of its own */
        rc = make_view(base, NULL, db, seq, mark, &v, err);
        zg_cohort_release(base);
        if (!rc)
            *out = v;
        return rc;
    }
    pthread_mutex_lock(&cc->mu);
    if (cc->view && cc->view->base == base && cc->view->clin_mark == mark &&
        cc->view->case_seq == seq) {
        atomic_fetch_add(&cc->view->refs, 1);
        *out = cc->view;
        pthread_mutex_unlock(&cc->mu);
        zg_cohort_release(base);
        return 0;
    }
    /* the cached view, over this base or an earlier one, built at marks db has passed:
     * patched for the cases changed since (its gene sets are not used) */
    struct zg_cohort *prev =
        cc->view && cc->view->clin_mark <= mark && cc->view->case_seq <= seq ? cc->view : NULL;
    if (prev)
        atomic_fetch_add(&prev->refs, 1);
    pthread_mutex_unlock(&cc->mu);
    /* built outside the lock from what db sees; concurrent builders each use their own */
    rc = make_view(base, prev, db, seq, mark, &v, err);
    zg_cohort_release(prev);
    zg_cohort_release(base);
    if (rc)
        return rc;
    struct zg_cohort *old = NULL;
    pthread_mutex_lock(&cc->mu);
    if (cc->cur == v->base && (!cc->view || cc->view->base != v->base ||
                               (cc->view->clin_mark <= mark && cc->view->case_seq <= seq))) {
        old = cc->view;
        cc->view = v;
        atomic_fetch_add(&v->refs, 1);
    }
    pthread_mutex_unlock(&cc->mu);
    zg_cohort_release(old);
    *out = v;
    return 0;
}
