/* Cross-cancer queries over a cohort snapshot: bitmap algebra with the caller's permitted case
 * set ANDed in, small counts suppressed when the policy says so. */
#include "cohort.h"
#include "variants.h"
#include "common/error.h"
#include "store/db.h"

#include <math.h>

#define MAX_GENES 50

static bool valid_gene(const char *g)
{
    size_t n = strlen(g);
    if (n == 0 || n > 40)
        return false;
    for (; *g; g++)
        if (!((*g >= 'A' && *g <= 'Z') || (*g >= 'a' && *g <= 'z') || (*g >= '0' && *g <= '9') ||
              *g == '-' || *g == '.' || *g == '_'))
            return false;
    return true;
}

/* Gene names as the index spells them: exact when known, else the upper-case form when that
 * is known ("tp53" → "TP53"; "C1orf112" stays as typed). */
struct gene_names {
    char buf[MAX_GENES][48];
    const char *p[MAX_GENES];
};

static bool gene_known(const struct zg_cohort *c, const char *g)
{
    char key[80];
    snprintf(key, sizeof(key), "gv\t%s", g);
    if (zg_cohort_get(c, key))
        return true;
    snprintf(key, sizeof(key), "g\t%s\t*", g);
    return zg_cohort_get(c, key) != NULL;
}

static const char *const *resolve_genes(const struct zg_cohort *c, const char *const *genes,
                                        size_t n, struct gene_names *out)
{
    for (size_t i = 0; i < n && i < MAX_GENES; i++) {
        snprintf(out->buf[i], sizeof(out->buf[i]), "%s", genes[i]);
        if (!gene_known(c, out->buf[i])) {
            char up[48];
            size_t k = 0;
            for (; out->buf[i][k] && k < sizeof(up) - 1; k++)
                up[k] = (out->buf[i][k] >= 'a' && out->buf[i][k] <= 'z')
                            ? (char)(out->buf[i][k] - 'a' + 'A')
                            : out->buf[i][k];
            up[k] = '\0';
            if (gene_known(c, up))
                memcpy(out->buf[i], up, k + 1);
        }
        out->p[i] = out->buf[i];
    }
    return out->p;
}

static int check_genes(const char *const *genes, size_t n, struct zg_error *err)
{
    if (n == 0)
        return zg_error_set(err, ZG_EINVAL, "genes", "name at least one gene");
    if (n > MAX_GENES)
        return zg_error_set(err, ZG_EINVAL, "genes", "at most %d genes", MAX_GENES);
    for (size_t i = 0; i < n; i++)
        if (!valid_gene(genes[i]))
            return zg_error_set(err, ZG_EINVAL, "genes", "'%.40s' is not a gene symbol",
                                genes[i]);
    return 0;
}

/* Cases the caller may count: profiled (somatic, SV or CNV) ∧ organisation ∧ cancer type. */
static roaring_bitmap_t *base_set(const struct zg_cohort *c, const struct zg_query_scope *s)
{
    const roaring_bitmap_t *prof = zg_cohort_profiled(c);
    const roaring_bitmap_t *o = NULL, *t = NULL;
    char key[64];
    if (s->org_id > 0) {
        snprintf(key, sizeof(key), "org\t%lld", (long long)s->org_id);
        if (!(o = zg_cohort_get(c, key)))
            return roaring_bitmap_create();
    }
    if (s->cancer_type) {
        snprintf(key, sizeof(key), "ct\t%s", s->cancer_type);
        if (!(t = zg_cohort_get(c, key)))
            return roaring_bitmap_create();
    }
    roaring_bitmap_t *b = o ? roaring_bitmap_and(prof, o) : t ? roaring_bitmap_and(prof, t)
                                                              : roaring_bitmap_copy(prof);
    if (o && t)
        roaring_bitmap_and_inplace(b, t);
    return b;
}

/* A count for the response: null when 0 < n < k_min. */
static json_t *count_json(uint64_t n, const struct zg_query_scope *s)
{
    if (s->k_min > 0 && n > 0 && n < (uint64_t)s->k_min)
        return json_null();
    return json_integer((json_int_t)n);
}

static json_t *pct_json(uint64_t n, uint64_t d, const struct zg_query_scope *s)
{
    if (d == 0 || (s->k_min > 0 && ((n > 0 && n < (uint64_t)s->k_min) ||
                                    (d > 0 && d < (uint64_t)s->k_min))))
        return json_null();
    return json_real(round(1000.0 * (double)n / (double)d) / 10.0);
}

static void scope_note(json_t *j, const struct zg_query_scope *s)
{
    if (s->k_min > 0)
        json_object_set_new(j, "suppressed_below", json_integer(s->k_min));
    if (s->org_id > 0)
        json_object_set_new(j, "restricted_to_org", json_integer(s->org_id));
}

/* Cases of base with an alteration of gene (classes NULL = any, else a comma list). */
static roaring_bitmap_t *gene_set(const struct zg_cohort *c, const char *gene, const char *classes,
                                  const roaring_bitmap_t *base)
{
    char key[128];
    if (!classes) {
        snprintf(key, sizeof(key), "g\t%s\t*", gene);
        const roaring_bitmap_t *b = zg_cohort_get(c, key);
        return b ? roaring_bitmap_and(b, base) : roaring_bitmap_create();
    }
    roaring_bitmap_t *u = roaring_bitmap_create();
    const char *p = classes;
    while (*p) {
        const char *q = strchr(p, ',');
        size_t l = q ? (size_t)(q - p) : strlen(p);
        snprintf(key, sizeof(key), "g\t%s\t%.*s", gene, (int)l, p);
        const roaring_bitmap_t *b = zg_cohort_get(c, key);
        if (b)
            roaring_bitmap_or_inplace(u, b);
        p = q ? q + 1 : p + l;
    }
    roaring_bitmap_and_inplace(u, base);
    return u;
}

static int check_classes(const char *classes, struct zg_error *err)
{
    if (!classes)
        return 0;
    const char *p = classes;
    while (*p) {
        const char *q = strchr(p, ',');
        size_t l = q ? (size_t)(q - p) : strlen(p);
        char cl[32];
        enum zg_alt_class k;
        if (l == 0 || l >= sizeof(cl))
            return zg_error_set(err, ZG_EINVAL, "classes", "is not a list of alteration classes");
        memcpy(cl, p, l);
        cl[l] = '\0';
        if (zg_alt_class_parse(cl, &k) || k == ZG_AC_OTHER)
            return zg_error_set(err, ZG_EINVAL, "classes",
                                "'%s' is not one of missense, truncating, splice, inframe, amp, "
                                "del, fusion, sv",
                                cl);
        p = q ? q + 1 : p + l;
    }
    return 0;
}

struct group_ctx {
    const char *prefix;
    const char **names;
    const roaring_bitmap_t **sets;
    size_t n, cap;
};

static void collect_group(void *ctx, const char *key, const roaring_bitmap_t *b)
{
    struct group_ctx *g = ctx;
    if (g->n == g->cap) {
        size_t nc = g->cap ? g->cap * 2 : 64;
        const char **nn = realloc(g->names, nc * sizeof(*nn));
        if (!nn)
            return;
        g->names = nn;
        const roaring_bitmap_t **ns = realloc(g->sets, nc * sizeof(*ns));
        if (!ns)
            return;
        g->sets = ns;
        g->cap = nc;
    }
    g->names[g->n] = key + strlen(g->prefix);
    g->sets[g->n] = b;
    g->n++;
}

static void sort_groups(struct group_ctx *g)
{
    for (size_t i = 1; i < g->n; i++)
        for (size_t j = i; j > 0 && strcmp(g->names[j - 1], g->names[j]) > 0; j--) {
            const char *t = g->names[j];
            g->names[j] = g->names[j - 1];
            g->names[j - 1] = t;
            const roaring_bitmap_t *u = g->sets[j];
            g->sets[j] = g->sets[j - 1];
            g->sets[j - 1] = u;
        }
}

struct tally {
    const uint16_t *group_of;
    uint32_t nslots;
    uint64_t *cnt;
};

/* Adds every member of b to the count of its cancer type (bulk reads, no per-value calls). */
static void tally_set(struct tally *t, const roaring_bitmap_t *b)
{
    uint32_t buf[1024];
    roaring_uint32_iterator_t *it = roaring_create_iterator(b);
    uint32_t n;
    while (it && (n = roaring_read_uint32_iterator(it, buf, 1024)) > 0)
        for (uint32_t i = 0; i < n; i++)
            if (buf[i] < t->nslots)
                t->cnt[t->group_of[buf[i]]]++;
    roaring_free_uint32_iterator(it);
}

json_t *zg_query_genes(const struct zg_cohort *c, const char *const *genes, size_t ngenes,
                       const char *by, const char *classes, const struct zg_query_scope *s,
                       struct zg_error *err)
{
    if (check_genes(genes, ngenes, err) || check_classes(classes, err))
        return NULL;
    struct gene_names gn;
    genes = resolve_genes(c, genes, ngenes, &gn);
    const char *prefix;
    if (!by || !strcmp(by, "cancer-type"))
        prefix = "ct\t", by = "cancer-type";
    else if (!strcmp(by, "dataset"))
        prefix = "ds\t";
    else if (!strcmp(by, "none"))
        prefix = NULL;
    else {
        zg_error_set(err, ZG_EINVAL, "by", "must be cancer-type, dataset or none");
        return NULL;
    }
    roaring_bitmap_t *base = base_set(c, s);
    roaring_bitmap_t *gs[MAX_GENES];
    roaring_bitmap_t *cb[MAX_GENES][ZG_AC_OTHER]; /* class ∧ permitted, per gene */
    roaring_bitmap_t *any = roaring_bitmap_create();
    for (size_t i = 0; i < ngenes; i++) {
        gs[i] = gene_set(c, genes[i], classes, base);
        roaring_bitmap_or_inplace(any, gs[i]);
        for (int ac = 0; ac < ZG_AC_OTHER; ac++) {
            char key[128];
            snprintf(key, sizeof(key), "g\t%s\t%s", genes[i], zg_alt_class_name(ac));
            const roaring_bitmap_t *b = zg_cohort_get(c, key);
            cb[i][ac] = b ? roaring_bitmap_and(b, gs[i]) : NULL;
        }
    }
    uint64_t nb = roaring_bitmap_get_cardinality(base), na = roaring_bitmap_get_cardinality(any);
    json_t *gl = json_array();
    for (size_t i = 0; i < ngenes; i++)
        json_array_append_new(gl, json_string(genes[i]));
    json_t *out = json_pack("{s:o,s:s,s:o,s:o,s:o}", "genes", gl, "by", by, "profiled",
                            count_json(nb, s), "altered", count_json(na, s), "percent",
                            pct_json(na, nb, s));
    if (classes)
        json_object_set_new(out, "classes", json_string(classes));
    json_t *groups = json_array();
    const char *const *ctn;
    const uint16_t *ct_of;
    size_t nct = zg_cohort_cancer_types(c, &ctn, &ct_of);
    if (prefix && !strcmp(prefix, "ct\t") && nct && !s->cancer_type) {
        /* one pass over each set, counting by the case's cancer type */
        uint64_t *cnt = calloc(nct * (2 + ngenes * (1 + ZG_AC_OTHER)), sizeof(uint64_t));
        if (!cnt) {
            json_decref(out);
            out = NULL;
            zg_error_set(err, ZG_ENOMEM, "", "out of memory");
            goto done;
        }
        struct tally t = {ct_of, zg_cohort_slots(c), cnt};
        const uint64_t *pre = zg_cohort_profiled_by_type(c);
        if (s->org_id <= 0 && pre) /* the whole profiled cohort: counted at load */
            memcpy(cnt, pre, nct * sizeof(uint64_t));
        else
            tally_set(&t, base);
        t.cnt = cnt + nct;
        if (ngenes > 1)
            tally_set(&t, any);
        for (size_t i = 0; i < ngenes; i++) {
            t.cnt = cnt + nct * (2 + i * (1 + ZG_AC_OTHER));
            tally_set(&t, gs[i]);
            if (ngenes == 1) /* one gene: "any" is that gene's set */
                memcpy(cnt + nct, t.cnt, nct * sizeof(uint64_t));
            for (int ac = 0; ac < ZG_AC_OTHER; ac++)
                if (cb[i][ac]) {
                    t.cnt = cnt + nct * (2 + i * (1 + ZG_AC_OTHER) + 1 + (size_t)ac);
                    tally_set(&t, cb[i][ac]);
                }
        }
        for (size_t k = 0; k < nct; k++) {
            uint64_t gp = cnt[k], ga = cnt[nct + k];
            if (gp == 0)
                continue;
            json_t *gj = json_object();
            for (size_t i = 0; i < ngenes; i++) {
                const uint64_t *gc = cnt + nct * (2 + i * (1 + ZG_AC_OTHER));
                json_t *cls = json_object();
                for (int ac = 0; ac < ZG_AC_OTHER; ac++) {
                    uint64_t m = gc[nct * (1 + (size_t)ac) + k];
                    if (m)
                        json_object_set_new(cls, zg_alt_class_name(ac), count_json(m, s));
                }
                json_object_set_new(gj, genes[i],
                                    json_pack("{s:o,s:o,s:o}", "altered", count_json(gc[k], s),
                                              "percent", pct_json(gc[k], gp, s), "classes", cls));
            }
            json_array_append_new(groups, json_pack("{s:s,s:o,s:o,s:o,s:o}", "group", ctn[k],
                                                    "profiled", count_json(gp, s), "altered",
                                                    count_json(ga, s), "percent",
                                                    pct_json(ga, gp, s), "genes", gj));
        }
        free(cnt);
        json_object_set_new(out, "groups", groups);
        scope_note(out, s);
        goto done;
    }
    struct group_ctx g = {prefix ? prefix : "", NULL, NULL, 0, 0};
    if (prefix) {
        zg_cohort_each(c, prefix, collect_group, &g);
        sort_groups(&g);
    }
    for (size_t k = 0; k < g.n; k++) {
        uint64_t gp = roaring_bitmap_and_cardinality(base, g.sets[k]);
        if (gp == 0)
            continue;
        uint64_t ga = roaring_bitmap_and_cardinality(any, g.sets[k]);
        json_t *gj = json_object();
        for (size_t i = 0; i < ngenes; i++) {
            uint64_t n = roaring_bitmap_and_cardinality(gs[i], g.sets[k]);
            json_t *cls = json_object();
            for (int ac = 0; ac < ZG_AC_OTHER; ac++) {
                uint64_t m = cb[i][ac] ? roaring_bitmap_and_cardinality(cb[i][ac], g.sets[k]) : 0;
                if (m)
                    json_object_set_new(cls, zg_alt_class_name(ac), count_json(m, s));
            }
            json_object_set_new(gj, genes[i],
                                json_pack("{s:o,s:o,s:o}", "altered", count_json(n, s),
                                          "percent", pct_json(n, gp, s), "classes", cls));
        }
        json_array_append_new(groups, json_pack("{s:s,s:o,s:o,s:o,s:o}", "group", g.names[k],
                                                "profiled", count_json(gp, s), "altered",
                                                count_json(ga, s), "percent",
                                                pct_json(ga, gp, s), "genes", gj));
    }
    json_object_set_new(out, "groups", groups);
    scope_note(out, s);
    free(g.names);
    free(g.sets);
done:
    for (size_t i = 0; i < ngenes; i++) {
        roaring_bitmap_free(gs[i]);
        for (int ac = 0; ac < ZG_AC_OTHER; ac++)
            if (cb[i][ac])
                roaring_bitmap_free(cb[i][ac]);
    }
    roaring_bitmap_free(any);
    roaring_bitmap_free(base);
    return out;
}

/* --- Fisher exact ----------------------------------------------------------------------- */

static double lfact(int64_t n)
{
    return lgamma((double)n + 1.0);
}

double zg_fisher_exact(int64_t a, int64_t b, int64_t c, int64_t d)
{
    int64_t r1 = a + b, r2 = c + d, c1 = a + c, n = a + b + c + d;
    if (n <= 0)
        return 1.0;
    double base = lfact(r1) + lfact(r2) + lfact(c1) + lfact(n - c1) - lfact(n);
    int64_t lo = c1 - r2 > 0 ? c1 - r2 : 0, hi = r1 < c1 ? r1 : c1;
    double pobs = base - lfact(a) - lfact(b) - lfact(c) - lfact(d);
    double p = 0.0;
    for (int64_t x = lo; x <= hi; x++) {
        double lp = base - lfact(x) - lfact(r1 - x) - lfact(c1 - x) - lfact(r2 - c1 + x);
        if (lp <= pobs + 1e-7 * fabs(pobs) + 1e-12)
            p += exp(lp);
    }
    return p > 1.0 ? 1.0 : p;
}

json_t *zg_query_cooccurrence(const struct zg_cohort *c, const char *const *genes, size_t ngenes,
                              const struct zg_query_scope *s, struct zg_error *err)
{
    if (check_genes(genes, ngenes, err))
        return NULL;
    struct gene_names gn;
    genes = resolve_genes(c, genes, ngenes, &gn);
    if (ngenes < 2) {
        zg_error_set(err, ZG_EINVAL, "genes", "name at least two genes");
        return NULL;
    }
    if (ngenes > 20) {
        zg_error_set(err, ZG_EINVAL, "genes", "at most 20 genes for pairwise tests");
        return NULL;
    }
    roaring_bitmap_t *base = base_set(c, s);
    roaring_bitmap_t *gs[20];
    for (size_t i = 0; i < ngenes; i++) {
        gs[i] = gene_set(c, genes[i], NULL, base);
    }
    int64_t n = (int64_t)roaring_bitmap_get_cardinality(base);
    json_t *pairs = json_array();
    for (size_t i = 0; i < ngenes; i++)
        for (size_t j = i + 1; j < ngenes; j++) {
            int64_t na = (int64_t)roaring_bitmap_get_cardinality(gs[i]);
            int64_t nbb = (int64_t)roaring_bitmap_get_cardinality(gs[j]);
            int64_t both = (int64_t)roaring_bitmap_and_cardinality(gs[i], gs[j]);
            int64_t a_only = na - both, b_only = nbb - both, neither = n - na - nbb + both;
            double lor = log2(((double)both + 0.5) * ((double)neither + 0.5) /
                              (((double)a_only + 0.5) * ((double)b_only + 0.5)));
            double p = zg_fisher_exact(neither, a_only, b_only, both);
            json_array_append_new(
                pairs, json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:f,s:f,s:s}", "a", genes[i], "b",
                                 genes[j], "neither", count_json((uint64_t)neither, s), "a_only",
                                 count_json((uint64_t)a_only, s), "b_only",
                                 count_json((uint64_t)b_only, s), "both",
                                 count_json((uint64_t)both, s), "log2_odds_ratio",
                                 round(lor * 1000.0) / 1000.0, "p_value", p, "tendency",
                                 lor > 0 ? "co-occurrence" : "mutual-exclusivity"));
        }
    json_t *out = json_pack("{s:o,s:o}", "profiled", count_json((uint64_t)n, s), "pairs", pairs);
    scope_note(out, s);
    for (size_t i = 0; i < ngenes; i++)
        roaring_bitmap_free(gs[i]);
    roaring_bitmap_free(base);
    return out;
}

/* --- OncoPrint ------------------------------------------------------------------------------ */

json_t *zg_query_oncoprint(const struct zg_cohort *c, const char *const *genes, size_t ngenes,
                           int max_cases, const struct zg_query_scope *s, struct zg_error *err)
{
    if (check_genes(genes, ngenes, err))
        return NULL;
    struct gene_names gn;
    genes = resolve_genes(c, genes, ngenes, &gn);
    roaring_bitmap_t *base = base_set(c, s);
    roaring_bitmap_t *any = roaring_bitmap_create();
    const roaring_bitmap_t *cls[MAX_GENES][ZG_AC_OTHER];
    for (size_t i = 0; i < ngenes; i++)
        for (int k = 0; k < ZG_AC_OTHER; k++) {
            char key[128];
            snprintf(key, sizeof(key), "g\t%s\t%s", genes[i], zg_alt_class_name(k));
            cls[i][k] = zg_cohort_get(c, key);
            if (cls[i][k]) {
                roaring_bitmap_t *t = roaring_bitmap_and(cls[i][k], base);
                roaring_bitmap_or_inplace(any, t);
                roaring_bitmap_free(t);
            }
        }
    uint64_t nb = roaring_bitmap_get_cardinality(base), na = roaring_bitmap_get_cardinality(any);
    json_t *gl = json_array();
    for (size_t i = 0; i < ngenes; i++)
        json_array_append_new(gl, json_string(genes[i]));
    json_t *cases = json_array();
    bool suppressed = s->k_min > 0 && na > 0 && na < (uint64_t)s->k_min;
    int shown = 0;
    bool truncated = false;
    if (!suppressed) {
        roaring_uint32_iterator_t *it = roaring_create_iterator(any);
        while (it && it->has_value) {
            if (shown >= max_cases) {
                truncated = true;
                break;
            }
            uint32_t cn = it->current_value;
            json_t *alts = json_object();
            for (size_t i = 0; i < ngenes; i++) {
                json_t *l = NULL;
                for (int k = 0; k < ZG_AC_OTHER; k++)
                    if (cls[i][k] && roaring_bitmap_contains(cls[i][k], cn)) {
                        if (!l)
                            l = json_array();
                        json_array_append_new(l, json_string(zg_alt_class_name(k)));
                    }
                if (l)
                    json_object_set_new(alts, genes[i], l);
            }
            json_array_append_new(
                cases, json_pack("{s:s?,s:s,s:o}", "case",
                                 s->detailed ? zg_cohort_case_id(c, cn) : NULL, "cancer_type",
                                 zg_cohort_cancer_type(c, cn), "alterations", alts));
            shown++;
            roaring_advance_uint32_iterator(it);
        }
        roaring_free_uint32_iterator(it);
    }
    json_t *out = json_pack("{s:o,s:o,s:o,s:o,s:b}", "genes", gl, "profiled", count_json(nb, s),
                            "altered", count_json(na, s), "cases", cases, "truncated", truncated);
    scope_note(out, s);
    roaring_bitmap_free(any);
    roaring_bitmap_free(base);
    return out;
}

/* --- variant frequencies ------------------------------------------------------------------- */

struct vcount {
    uint32_t site;
    uint64_t total;
};

static int vcount_cmp(const void *a, const void *b)
{
    const struct vcount *x = a, *y = b;
    return x->total < y->total ? 1 : x->total > y->total ? -1 : (x->site > y->site) - (x->site < y->site);
}

json_t *zg_query_variants(const struct zg_cohort *c, sqlite3 *db, const char *gene, int limit,
                          const struct zg_query_scope *s, struct zg_error *err)
{
    if (check_genes(&gene, 1, err))
        return NULL;
    struct gene_names gn;
    gene = resolve_genes(c, &gene, 1, &gn)[0];
    char key[128];
    snprintf(key, sizeof(key), "gv\t%s", gene);
    const roaring_bitmap_t *sites = zg_cohort_get(c, key);
    roaring_bitmap_t *base = base_set(c, s);
    size_t nsites = sites ? (size_t)roaring_bitmap_get_cardinality(sites) : 0;
    struct vcount *v = calloc(nsites ? nsites : 1, sizeof(*v));
    size_t nv = 0, private = 0;
    if (!v) {
        roaring_bitmap_free(base);
        zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        return NULL;
    }
    if (sites) {
        roaring_uint32_iterator_t *it = roaring_create_iterator(sites);
        while (it && it->has_value) {
            snprintf(key, sizeof(key), "v\t%u", it->current_value);
            const roaring_bitmap_t *b = zg_cohort_get(c, key);
            uint64_t t = b ? roaring_bitmap_and_cardinality(b, base) : 0;
            if (t >= 2)
                v[nv++] = (struct vcount){it->current_value, t};
            else
                private++;
            roaring_advance_uint32_iterator(it);
        }
        roaring_free_uint32_iterator(it);
    }
    qsort(v, nv, sizeof(*v), vcount_cmp);
    struct group_ctx g = {"ct\t", NULL, NULL, 0, 0};
    zg_cohort_each(c, "ct\t", collect_group, &g);
    sort_groups(&g);
    json_t *arr = json_array();
    sqlite3_stmt *st = zg_db_prepare(
        db, "SELECT chrom,pos,ref,alt,hgvsp,hgvsc,class,consequence FROM genome_sites WHERE site_no=?",
        err);
    for (size_t i = 0; st && i < nv && (int)i < limit; i++) {
        snprintf(key, sizeof(key), "v\t%u", v[i].site);
        const roaring_bitmap_t *b = zg_cohort_get(c, key);
        json_t *byct = json_object();
        for (size_t k = 0; k < g.n; k++) {
            roaring_bitmap_t *t = roaring_bitmap_and(b, g.sets[k]);
            uint64_t m = roaring_bitmap_and_cardinality(t, base);
            roaring_bitmap_free(t);
            if (m)
                json_object_set_new(byct, g.names[k], count_json(m, s));
        }
        sqlite3_bind_int64(st, 1, v[i].site);
        json_t *row = json_pack("{s:I,s:o,s:o}", "site", (json_int_t)v[i].site, "total",
                                count_json(v[i].total, s), "by_cancer_type", byct);
        if (sqlite3_step(st) == SQLITE_ROW) {
            json_object_set_new(row, "chrom", json_string(zg_db_text(st, 0)));
            json_object_set_new(row, "pos", json_integer(sqlite3_column_int64(st, 1)));
            json_object_set_new(row, "ref", json_string(zg_db_text(st, 2)));
            json_object_set_new(row, "alt", json_string(zg_db_text(st, 3)));
            json_object_set_new(row, "hgvsp", json_string(zg_db_text(st, 4)));
            json_object_set_new(row, "hgvsc", json_string(zg_db_text(st, 5)));
            json_object_set_new(row, "class", json_string(zg_db_text(st, 6)));
            json_object_set_new(row, "consequence", json_string(zg_db_text(st, 7)));
        }
        sqlite3_reset(st);
        json_array_append_new(arr, row);
    }
    zg_db_release(st);
    json_t *out = json_pack("{s:s,s:o,s:I,s:I}", "gene", gene, "variants", arr, "recurrent",
                            (json_int_t)nv, "private_variants", (json_int_t)private);
    scope_note(out, s);
    free(g.names);
    free(g.sets);
    free(v);
    roaring_bitmap_free(base);
    return out;
}

/* --- TMB ------------------------------------------------------------------------------------ */

static int float_cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static double quantile(const float *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    double f = pos - (double)i;
    return i + 1 < n ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

static double r2(double x)
{
    return round(x * 100.0) / 100.0;
}

json_t *zg_query_tmb(const struct zg_cohort *c, const struct zg_query_scope *s,
                     struct zg_error *err)
{
    const roaring_bitmap_t *som = zg_cohort_get(c, "p\tsomatic");
    roaring_bitmap_t *base = base_set(c, s);
    if (som)
        roaring_bitmap_and_inplace(base, som);
    else
        roaring_bitmap_clear(base);
    struct group_ctx g = {"ct\t", NULL, NULL, 0, 0};
    zg_cohort_each(c, "ct\t", collect_group, &g);
    sort_groups(&g);
    size_t nmax = (size_t)roaring_bitmap_get_cardinality(base);
    float *vals = malloc((nmax ? nmax : 1) * sizeof(float));
    if (!vals) {
        roaring_bitmap_free(base);
        free(g.names);
        free(g.sets);
        zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        return NULL;
    }
    json_t *groups = json_array();
    for (size_t k = 0; k < g.n; k++) {
        roaring_bitmap_t *t = roaring_bitmap_and(base, g.sets[k]);
        size_t n = 0, high = 0;
        double sum = 0;
        roaring_uint32_iterator_t *it = roaring_create_iterator(t);
        while (it && it->has_value) {
            float x = zg_cohort_tmb(c, it->current_value);
            vals[n++] = x;
            sum += x;
            if (x >= 10.0f)
                high++;
            roaring_advance_uint32_iterator(it);
        }
        roaring_free_uint32_iterator(it);
        roaring_bitmap_free(t);
        if (n == 0)
            continue;
        qsort(vals, n, sizeof(float), float_cmp);
        bool small = s->k_min > 0 && n < (size_t)s->k_min;
        json_t *gj = json_pack("{s:s,s:o,s:o}", "group", g.names[k], "n", count_json(n, s),
                               "high", count_json(high, s));
        if (!small) {
            /* with suppression, extremes are single cases: show quartiles only */
            json_object_set_new(gj, "q1", json_real(r2(quantile(vals, n, 0.25))));
            json_object_set_new(gj, "median", json_real(r2(quantile(vals, n, 0.5))));
            json_object_set_new(gj, "q3", json_real(r2(quantile(vals, n, 0.75))));
            json_object_set_new(gj, "mean", json_real(r2(sum / (double)n)));
            if (s->k_min <= 0) {
                json_object_set_new(gj, "min", json_real(r2(vals[0])));
                json_object_set_new(gj, "max", json_real(r2(vals[n - 1])));
            }
        }
        json_array_append_new(groups, gj);
    }
    json_t *out = json_pack("{s:s,s:f,s:o}", "unit", "mutations/Mb", "high_threshold", 10.0,
                            "groups", groups);
    if (s->detailed) {
        json_t *cases = json_array();
        roaring_uint32_iterator_t *it = roaring_create_iterator(base);
        while (it && it->has_value && json_array_size(cases) < 10000) {
            uint32_t cn = it->current_value;
            json_array_append_new(cases, json_pack("{s:s,s:s,s:f}", "case",
                                                   zg_cohort_case_id(c, cn), "cancer_type",
                                                   zg_cohort_cancer_type(c, cn), "tmb",
                                                   r2(zg_cohort_tmb(c, cn))));
            roaring_advance_uint32_iterator(it);
        }
        roaring_free_uint32_iterator(it);
        json_object_set_new(out, "cases", cases);
    }
    scope_note(out, s);
    free(vals);
    free(g.names);
    free(g.sets);
    roaring_bitmap_free(base);
    return out;
}

json_t *zg_query_overview(const struct zg_cohort *c, const struct zg_query_scope *s,
                          struct zg_error *err)
{
    roaring_bitmap_t *scope = roaring_bitmap_create();
    const roaring_bitmap_t *all = zg_cohort_get(c, "all");
    if (all)
        roaring_bitmap_or_inplace(scope, all);
    if (s->org_id > 0) {
        char key[40];
        snprintf(key, sizeof(key), "org\t%lld", (long long)s->org_id);
        const roaring_bitmap_t *o = zg_cohort_get(c, key);
        if (o)
            roaring_bitmap_and_inplace(scope, o);
        else
            roaring_bitmap_clear(scope);
    }
    json_t *prof = json_object();
    static const char *const kinds[] = {"somatic", "germline", "sv", "cnv"};
    for (int i = 0; i < 4; i++) {
        char key[32];
        snprintf(key, sizeof(key), "p\t%s", kinds[i]);
        const roaring_bitmap_t *b = zg_cohort_get(c, key);
        json_object_set_new(prof, kinds[i],
                            count_json(b ? roaring_bitmap_and_cardinality(b, scope) : 0, s));
    }
    struct group_ctx g = {"ct\t", NULL, NULL, 0, 0};
    zg_cohort_each(c, "ct\t", collect_group, &g);
    sort_groups(&g);
    const roaring_bitmap_t *som = zg_cohort_get(c, "p\tsomatic");
    json_t *cts = json_array();
    float *vals = malloc((size_t)(roaring_bitmap_get_cardinality(scope) + 1) * sizeof(float));
    for (size_t k = 0; vals && k < g.n; k++) {
        roaring_bitmap_t *t = roaring_bitmap_and(scope, g.sets[k]);
        uint64_t n = roaring_bitmap_get_cardinality(t);
        if (n) {
            if (som)
                roaring_bitmap_and_inplace(t, som);
            else
                roaring_bitmap_clear(t);
            size_t m = 0;
            roaring_uint32_iterator_t *it = roaring_create_iterator(t);
            while (it && it->has_value) {
                vals[m++] = zg_cohort_tmb(c, it->current_value);
                roaring_advance_uint32_iterator(it);
            }
            roaring_free_uint32_iterator(it);
            qsort(vals, m, sizeof(float), float_cmp);
            json_t *row = json_pack("{s:s,s:o,s:o}", "code", g.names[k], "cases",
                                    count_json(n, s), "profiled", count_json(m, s));
            if (m && !(s->k_min > 0 && m < (size_t)s->k_min))
                json_object_set_new(row, "median_tmb", json_real(r2(quantile(vals, m, 0.5))));
            json_array_append_new(cts, row);
        }
        roaring_bitmap_free(t);
    }
    free(vals);
    json_t *out = json_pack("{s:o,s:o,s:o,s:I}", "cases",
                            count_json(roaring_bitmap_get_cardinality(scope), s), "profiled", prof,
                            "cancer_types", cts, "generation",
                            (json_int_t)zg_cohort_generation(c));
    scope_note(out, s);
    free(g.names);
    free(g.sets);
    roaring_bitmap_free(scope);
    (void)err;
    return out;
}
