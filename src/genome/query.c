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

int zg_query_scope_init(struct zg_query_scope *s, const struct zg_cohort *c,
                        const struct zg_decision *d, struct zg_error *err)
{
    memset(s, 0, sizeof(*s));
    if (d->obligations & ZG_OBL_SUPPRESS_SMALL)
        s->k_min = d->k_min > 0 ? d->k_min : 5;
    uint32_t obl = d->obligations & (ZG_OBL_OWN_ORG | ZG_OBL_CONSENT | ZG_OBL_OWN_PARTICIPANT);
    if (!obl)
        return 0; /* every case */
    if (!(s->owned = roaring_bitmap_create()))
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    s->permitted = s->owned;
    if (obl & ZG_OBL_OWN_PARTICIPANT)
        return 0; /* participants never count cohort cases */
    if (obl & ZG_OBL_CONSENT) {
        s->consent = d->consent;
        for (int k = 0; k < ZG_CONSENT__COUNT; k++) {
            char key[40];
            snprintf(key, sizeof(key), "cs\t%s", zg_consent_name((enum zg_consent)k));
            const roaring_bitmap_t *b = (d->consent & ZG_CONSENT_BIT(k)) ? zg_cohort_get(c, key)
                                                                         : NULL;
            if (b)
                roaring_bitmap_or_inplace(s->owned, b);
        }
    }
    if (obl & ZG_OBL_OWN_ORG) {
        char key[40];
        s->org_id = d->org_id > 0 ? d->org_id : -1;
        snprintf(key, sizeof(key), "org\t%lld", (long long)d->org_id);
        const roaring_bitmap_t *o = d->org_id > 0 ? zg_cohort_get(c, key) : NULL;
        if (!(obl & ZG_OBL_CONSENT) && o)
            roaring_bitmap_or_inplace(s->owned, o);
        else if (o)
            roaring_bitmap_and_inplace(s->owned, o);
        else
            roaring_bitmap_clear(s->owned);
    }
    return 0;
}

void zg_query_scope_release(struct zg_query_scope *s)
{
    if (s->owned)
        roaring_bitmap_free(s->owned);
    s->owned = NULL;
    s->permitted = NULL;
}

/* Cases the caller may count: profiled (somatic, SV or CNV) ∧ permitted ∧ cancer type.
 * Either borrowed from the snapshot (*owned NULL) or a new bitmap in *owned. */
static const roaring_bitmap_t *base_set(const struct zg_cohort *c, const struct zg_query_scope *s,
                                        roaring_bitmap_t **owned)
{
    const roaring_bitmap_t *prof = zg_cohort_profiled(c), *t = NULL;
    *owned = NULL;
    if (s->cancer_type) {
        char key[64];
        snprintf(key, sizeof(key), "ct\t%s", s->cancer_type);
        if (!(t = zg_cohort_get(c, key)))
            return *owned = roaring_bitmap_create();
    }
    if (!t && !s->permitted)
        return prof;
    *owned = roaring_bitmap_and(prof, t ? t : s->permitted);
    if (t && s->permitted)
        roaring_bitmap_and_inplace(*owned, s->permitted);
    return *owned;
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
    if (s->consent) {
        json_t *a = json_array();
        for (int k = 0; k < ZG_CONSENT__COUNT; k++)
            if (s->consent & ZG_CONSENT_BIT(k))
                json_array_append_new(a, json_string(zg_consent_name((enum zg_consent)k)));
        json_object_set_new(j, "restricted_to_consent", a);
    }
}

/* Cases of base with any alteration of gene (a new bitmap). */
static roaring_bitmap_t *gene_set(const struct zg_cohort *c, const char *gene,
                                  const roaring_bitmap_t *base)
{
    char key[128];
    snprintf(key, sizeof(key), "g\t%s\t*", gene);
    const roaring_bitmap_t *b = zg_cohort_get(c, key);
    return b ? roaring_bitmap_and(b, base) : roaring_bitmap_create();
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

/* --- gene × group counts ----------------------------------------------------------------
 * One pass over each gene's sets: every member adds to the count of its group (cancer type,
 * dataset). The group of a case comes from a map: the snapshot's case → cancer type map (sets
 * are first intersected with the scope when it is narrower than the profiled cohort), or a
 * per-query case → dataset map where cases outside the scope map to the spare group ngroups.
 * The union over genes is counted in the same pass with a bit per case.
 * Counts per group k: [profiled, altered, then per gene: altered, class 0..NAC-1]. */

#define NAC ZG_AC_OTHER

struct zg_gene_counts {
    /* working memory, reused */
    uint16_t *grp;        /* per-query case → group map (ngroups = not in scope) */
    uint64_t *seen_any;   /* bit per case: counted in the union already (cleared per query) */
    uint64_t *seen_gene;  /* bit per case: counted for the current gene already */
    size_t slots;         /* capacity of grp (cases); the bit arrays hold slots bits */
    uint32_t *vals;       /* members of the set being counted */
    size_t vals_cap;
    uint32_t *bank;       /* 4 × (groups + 1) scratch counters, kept zero */
    uint64_t *cnt;
    size_t cnt_cap;
    const char **names;   /* group names (into the snapshot) */
    size_t names_cap;
    /* result */
    char genes[MAX_GENES][48];
    size_t ngenes, ngroups, stride;
    const char *by;
    char classes[160];    /* "" = every class */
    uint32_t class_mask;  /* classes shown */
    uint64_t profiled, altered;
};

struct zg_gene_counts *zg_gene_counts_new(void)
{
    return calloc(1, sizeof(struct zg_gene_counts));
}

void zg_gene_counts_free(struct zg_gene_counts *r)
{
    if (!r)
        return;
    free(r->grp);
    free(r->seen_any);
    free(r->seen_gene);
    free(r->vals);
    free(r->bank);
    free(r->cnt);
    free(r->names);
    free(r);
}

static int counts_reserve(struct zg_gene_counts *r, size_t slots, size_t ncnt, size_t ngroups)
{
    if (slots > r->slots) {
        size_t n = slots + slots / 4 + 64;
        uint16_t *g = realloc(r->grp, n * sizeof(*g));
        if (g)
            r->grp = g;
        n = (n + 63) & ~(size_t)63;
        uint64_t *a = calloc(n / 64, sizeof(*a)), *b = calloc(n / 64, sizeof(*b));
        if (!g || !a || !b) {
            free(a);
            free(b);
            return ZG_ENOMEM;
        }
        free(r->seen_any);
        free(r->seen_gene);
        r->seen_any = a;
        r->seen_gene = b;
        r->slots = n;
    }
    if (slots > r->vals_cap) { /* a set holds at most every case of the snapshot */
        uint32_t *v = realloc(r->vals, slots * sizeof(*v));
        if (!v)
            return ZG_ENOMEM;
        r->vals = v;
        r->vals_cap = slots;
    }
    if (ncnt > r->cnt_cap) {
        uint64_t *p = realloc(r->cnt, ncnt * sizeof(*p));
        if (!p)
            return ZG_ENOMEM;
        r->cnt = p;
        r->cnt_cap = ncnt;
    }
    if (ngroups > r->names_cap) {
        const char **p = realloc(r->names, ngroups * sizeof(*p));
        if (!p)
            return ZG_ENOMEM;
        r->names = p;
        uint32_t *bk = calloc(4 * (ngroups + 1), sizeof(*bk));
        if (!bk)
            return ZG_ENOMEM;
        free(r->bank);
        r->bank = bk;
        r->names_cap = ngroups;
    }
    memset(r->cnt, 0, ncnt * sizeof(*r->cnt));
    return 0;
}

struct pass {
    const uint16_t *grp;
    uint32_t n;      /* cases covered by grp */
    uint64_t *cnt;
    size_t stride;
    uint32_t *vals;  /* room for n values */
    uint32_t *bank;  /* 4 × ngroups scratch counters, zero between uses */
    size_t ngroups;
};

/* The members of b below p->n into p->vals (bulk extraction); their number. */
static size_t members(const struct pass *p, const roaring_bitmap_t *b)
{
    uint64_t card = roaring_bitmap_get_cardinality(b);
    if (card == 0)
        return 0;
    uint32_t last = roaring_bitmap_maximum(b);
    if (card <= p->n && last < p->n) {
        roaring_bitmap_to_uint32_array(b, p->vals);
        return (size_t)card;
    }
    /* members beyond the case table (a snapshot newer than this view): skip them */
    size_t m = 0;
    roaring_uint32_iterator_t it;
    roaring_init_iterator(b, &it);
    while (it.has_value && it.current_value < p->n) {
        p->vals[m++] = it.current_value;
        roaring_advance_uint32_iterator(&it);
    }
    return m;
}

/* cnt[group(v)·stride + off]++ for every member v in scope. Four interleaved banks of
 * counters, so that consecutive members of the same group do not wait on each other. */
static void tally(const struct pass *p, const roaring_bitmap_t *b, size_t off)
{
    size_t m = members(p, b), ng = p->ngroups;
    uint32_t *b0 = p->bank, *b1 = b0 + ng + 1, *b2 = b1 + ng + 1, *b3 = b2 + ng + 1;
    const uint32_t *v = p->vals;
    const uint16_t *grp = p->grp;
    size_t i = 0;
    /* cases out of scope map to group ngroups: a spare slot in each bank */
    for (; i + 4 <= m; i += 4) {
        b0[grp[v[i]]]++;
        b1[grp[v[i + 1]]]++;
        b2[grp[v[i + 2]]]++;
        b3[grp[v[i + 3]]]++;
    }
    for (; i < m; i++)
        b0[grp[v[i]]]++;
    uint64_t *cnt = p->cnt + off;
    for (size_t k = 0; k < ng; k++)
        cnt[k * p->stride] += (uint64_t)b0[k] + b1[k] + b2[k] + b3[k];
    memset(p->bank, 0, 4 * (ng + 1) * sizeof(*p->bank));
}

static bool test_and_set(uint64_t *bits, uint32_t v)
{
    uint64_t w = bits[v >> 6], bit = UINT64_C(1) << (v & 63);
    bits[v >> 6] = w | bit;
    return (w & bit) != 0;
}

/* As tally, and also: the gene count (off_gene) once per case per gene (seen_gene, NULL when
 * every member counts once anyway) and the union count (column 1) once per case per query
 * (seen_any). */
static void tally_gene(const struct pass *p, const roaring_bitmap_t *b, size_t off,
                       size_t off_gene, uint64_t *seen_gene, uint64_t *seen_any)
{
    size_t m = members(p, b);
    for (size_t i = 0; i < m; i++) {
        uint32_t v = p->vals[i];
        unsigned g = p->grp[v];
        if (g >= p->ngroups)
            continue;
        uint64_t *row = p->cnt + g * p->stride;
        if (off)
            row[off]++;
        if (seen_gene && test_and_set(seen_gene, v))
            continue;
        row[off_gene]++;
        row[1] += !test_and_set(seen_any, v);
    }
}

static int parse_classes(const char *classes, uint32_t *mask, struct zg_error *err)
{
    if (!classes) {
        *mask = (1u << NAC) - 1;
        return 0;
    }
    *mask = 0;
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
        *mask |= 1u << k;
        p = q ? q + 1 : p + l;
    }
    return 0;
}

/* The gene's sets: the "any alteration" set (classes NULL) and the class sets in mask. */
static const roaring_bitmap_t *gene_sets(const struct zg_cohort *c, const char *gene,
                                         uint32_t mask, const roaring_bitmap_t *cls[NAC])
{
    char key[128];
    for (int ac = 0; ac < NAC; ac++) {
        cls[ac] = NULL;
        if (mask & (1u << ac)) {
            snprintf(key, sizeof(key), "g\t%s\t%s", gene, zg_alt_class_name(ac));
            cls[ac] = zg_cohort_get(c, key);
        }
    }
    snprintf(key, sizeof(key), "g\t%s\t*", gene);
    return zg_cohort_get(c, key);
}

/* Counting by cancer type: the snapshot's case → type map; one pass over each of the genes'
 * sets (∧ scope first when the scope is narrower than the profiled cohort — gene sets only
 * hold profiled cases), the union over genes counted in the same passes with epoch stamps. */
static int count_by_type(const struct zg_cohort *c, const char *const *genes, size_t ngenes,
                         bool by_class, uint32_t mask, const roaring_bitmap_t *base,
                         struct zg_gene_counts *r, struct zg_error *err)
{
    const char *const *ctn;
    const uint16_t *ct_of;
    size_t nct = zg_cohort_cancer_types(c, &ctn, &ct_of);
    const roaring_bitmap_t *const *cts = zg_cohort_cancer_type_sets(c);
    bool whole = base == zg_cohort_profiled(c);
    uint32_t slots = zg_cohort_slots(c);
    struct pass p = {ct_of, slots, r->cnt, r->stride, r->vals, r->bank, nct};
    size_t words = ((size_t)slots + 63) / 64;
    memset(r->seen_any, 0, words * sizeof(uint64_t));
    for (size_t k = 0; k < nct; k++)
        r->cnt[k * r->stride] = whole ? zg_cohort_profiled_by_type(c)[k]
                                      : roaring_bitmap_and_cardinality(cts[k], base);
    int rc = 0;
    for (size_t i = 0; i < ngenes && !rc; i++) {
        size_t off_gene = 2 + i * (1 + NAC);
        const roaring_bitmap_t *cls[NAC];
        roaring_bitmap_t *x[NAC + 1] = {NULL};
        const roaring_bitmap_t *any = gene_sets(c, genes[i], mask, cls);
        if (!whole) { /* the sets within the scope */
            for (int ac = 0; ac <= NAC && !rc; ac++) {
                const roaring_bitmap_t *b = ac < NAC ? cls[ac] : any;
                if (b && !(x[ac] = roaring_bitmap_and(b, base)))
                    rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
                if (ac < NAC)
                    cls[ac] = x[ac];
                else
                    any = x[ac];
            }
        }
        if (!rc && !by_class) {
            if (any)
                tally_gene(&p, any, 0, off_gene, NULL, r->seen_any);
            for (int ac = 0; ac < NAC; ac++)
                if (cls[ac])
                    tally(&p, cls[ac], off_gene + 1 + (size_t)ac);
        } else if (!rc) { /* the gene counts when it has one of the chosen classes */
            memset(r->seen_gene, 0, words * sizeof(uint64_t));
            for (int ac = 0; ac < NAC; ac++)
                if (cls[ac])
                    tally_gene(&p, cls[ac], off_gene + 1 + (size_t)ac, off_gene, r->seen_gene,
                               r->seen_any);
        }
        for (int ac = 0; ac <= NAC; ac++)
            if (x[ac])
                roaring_bitmap_free(x[ac]);
    }
    return rc;
}

/* Counting by dataset (or one group, "none"): a per-query map of the cases in scope to their
 * group, one pass over each set, the union counted in the same pass with epoch stamps. */
static int count_by_map(const struct zg_cohort *c, const char *const *genes, size_t ngenes,
                        bool by_class, uint32_t mask, const roaring_bitmap_t *base,
                        const struct group_ctx *g, bool by_ds, struct zg_gene_counts *r,
                        struct zg_error *err)
{
    (void)err;
    uint32_t slots = zg_cohort_slots(c);
    size_t ngroups = by_ds ? g->n : 1;
    struct pass p = {r->grp, slots, r->cnt, r->stride, r->vals, r->bank, ngroups};
    size_t words = ((size_t)slots + 63) / 64;
    memset(r->seen_any, 0, words * sizeof(uint64_t));
    for (uint32_t v = 0; v < slots; v++)
        r->grp[v] = (uint16_t)ngroups; /* out of scope */
    uint32_t buf[512], m;
    roaring_uint32_iterator_t it;
    roaring_init_iterator(base, &it);
    while ((m = roaring_read_uint32_iterator(&it, buf, 512)) > 0)
        for (uint32_t i = 0; i < m; i++)
            if (buf[i] < slots)
                r->grp[buf[i]] = 0;
    for (size_t k = 0; by_ds && k < g->n; k++) {
        roaring_init_iterator(g->sets[k], &it);
        while ((m = roaring_read_uint32_iterator(&it, buf, 512)) > 0)
            for (uint32_t i = 0; i < m; i++)
                if (buf[i] < slots && r->grp[buf[i]] != ngroups)
                    r->grp[buf[i]] = (uint16_t)k;
    }
    tally(&p, base, 0);
    for (size_t i = 0; i < ngenes; i++) {
        size_t off_gene = 2 + i * (1 + NAC);
        const roaring_bitmap_t *cls[NAC];
        const roaring_bitmap_t *any = gene_sets(c, genes[i], mask, cls);
        if (!by_class) {
            if (any)
                tally_gene(&p, any, 0, off_gene, NULL, r->seen_any);
            for (int ac = 0; ac < NAC; ac++)
                if (cls[ac])
                    tally(&p, cls[ac], off_gene + 1 + (size_t)ac);
        } else {
            memset(r->seen_gene, 0, words * sizeof(uint64_t));
            for (int ac = 0; ac < NAC; ac++)
                if (cls[ac])
                    tally_gene(&p, cls[ac], off_gene + 1 + (size_t)ac, off_gene, r->seen_gene,
                               r->seen_any);
        }
    }
    return 0;
}

int zg_query_genes_count(const struct zg_cohort *c, const char *const *genes, size_t ngenes,
                         const char *by, const char *classes, const struct zg_query_scope *s,
                         struct zg_gene_counts *r, struct zg_error *err)
{
    uint32_t mask;
    int rc;
    if ((rc = check_genes(genes, ngenes, err)) || (rc = parse_classes(classes, &mask, err)))
        return rc;
    if (classes && strlen(classes) >= sizeof(r->classes))
        return zg_error_set(err, ZG_EINVAL, "classes", "is too long");
    enum { BY_CT, BY_DS, BY_NONE } mode;
    if (!by || !strcmp(by, "cancer-type"))
        mode = BY_CT, by = "cancer-type";
    else if (!strcmp(by, "dataset"))
        mode = BY_DS;
    else if (!strcmp(by, "none"))
        mode = BY_NONE;
    else
        return zg_error_set(err, ZG_EINVAL, "by", "must be cancer-type, dataset or none");
    struct gene_names gn;
    genes = resolve_genes(c, genes, ngenes, &gn);
    for (size_t i = 0; i < ngenes; i++)
        memcpy(r->genes[i], gn.buf[i], sizeof(r->genes[i]));
    r->ngenes = ngenes;
    r->by = by;
    snprintf(r->classes, sizeof(r->classes), "%s", classes ? classes : "");
    r->class_mask = mask;
    r->stride = 2 + ngenes * (1 + NAC);

    roaring_bitmap_t *owned;
    const roaring_bitmap_t *base = base_set(c, s, &owned);
    if (!base)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    const char *const *ctn;
    const uint16_t *ct_of;
    size_t nct = zg_cohort_cancer_types(c, &ctn, &ct_of);
    uint32_t slots = zg_cohort_slots(c);
    struct group_ctx g = {mode == BY_DS ? "ds\t" : "", NULL, NULL, 0, 0};
    if (mode == BY_DS) {
        zg_cohort_each(c, "ds\t", collect_group, &g);
        sort_groups(&g);
    }
    size_t ngroups = mode == BY_CT ? nct : mode == BY_DS ? g.n : 1;
    if (ngroups >= UINT16_MAX ||
        counts_reserve(r, slots, (ngroups ? ngroups : 1) * r->stride, ngroups ? ngroups : 1)) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    r->ngroups = mode == BY_NONE ? 0 : ngroups;
    for (size_t k = 0; k < ngroups && mode != BY_NONE; k++)
        r->names[k] = mode == BY_CT ? ctn[k] : g.names[k];
    if (mode == BY_CT)
        rc = count_by_type(c, genes, ngenes, classes != NULL, mask, base, r, err);
    else
        rc = count_by_map(c, genes, ngenes, classes != NULL, mask, base, &g, mode == BY_DS, r,
                          err);
    if (rc)
        goto out;
    r->profiled = roaring_bitmap_get_cardinality(base);
    r->altered = 0;
    for (size_t k = 0; k < ngroups; k++)
        r->altered += r->cnt[k * r->stride + 1];
out:
    free(g.names);
    free(g.sets);
    if (owned)
        roaring_bitmap_free(owned);
    return rc;
}

json_t *zg_query_genes_json(const struct zg_gene_counts *r, const struct zg_query_scope *s)
{
    json_t *gl = json_array();
    for (size_t i = 0; i < r->ngenes; i++)
        json_array_append_new(gl, json_string(r->genes[i]));
    json_t *out = json_object();
    json_object_set_new(out, "genes", gl);
    json_object_set_new(out, "by", json_string(r->by));
    json_object_set_new(out, "profiled", count_json(r->profiled, s));
    json_object_set_new(out, "altered", count_json(r->altered, s));
    json_object_set_new(out, "percent", pct_json(r->altered, r->profiled, s));
    if (r->classes[0])
        json_object_set_new(out, "classes", json_string(r->classes));
    json_t *groups = json_array();
    for (size_t k = 0; k < r->ngroups; k++) {
        const uint64_t *row = r->cnt + k * r->stride;
        uint64_t gp = row[0], ga = row[1];
        if (gp == 0)
            continue;
        json_t *gj = json_object();
        for (size_t i = 0; i < r->ngenes; i++) {
            const uint64_t *gc = row + 2 + i * (1 + NAC);
            json_t *cls = json_object();
            for (int ac = 0; ac < NAC; ac++)
                if (gc[1 + ac])
                    json_object_set_new(cls, zg_alt_class_name(ac), count_json(gc[1 + ac], s));
            json_t *one = json_object();
            json_object_set_new(one, "altered", count_json(gc[0], s));
            json_object_set_new(one, "percent", pct_json(gc[0], gp, s));
            json_object_set_new(one, "classes", cls);
            json_object_set_new(gj, r->genes[i], one);
        }
        json_t *grp = json_object();
        json_object_set_new(grp, "group", json_string(r->names[k]));
        json_object_set_new(grp, "profiled", count_json(gp, s));
        json_object_set_new(grp, "altered", count_json(ga, s));
        json_object_set_new(grp, "percent", pct_json(ga, gp, s));
        json_object_set_new(grp, "genes", gj);
        json_array_append_new(groups, grp);
    }
    json_object_set_new(out, "groups", groups);
    scope_note(out, s);
    return out;
}

json_t *zg_query_genes(const struct zg_cohort *c, const char *const *genes, size_t ngenes,
                       const char *by, const char *classes, const struct zg_query_scope *s,
                       struct zg_error *err)
{
    struct zg_gene_counts *r = zg_gene_counts_new();
    if (!r) {
        zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        return NULL;
    }
    json_t *j = NULL;
    if (!zg_query_genes_count(c, genes, ngenes, by, classes, s, r, err) &&
        !(j = zg_query_genes_json(r, s)))
        zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    zg_gene_counts_free(r);
    return j;
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
    roaring_bitmap_t *owned;
    const roaring_bitmap_t *base = base_set(c, s, &owned);
    roaring_bitmap_t *gs[20];
    for (size_t i = 0; i < ngenes; i++)
        gs[i] = gene_set(c, genes[i], base);
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
    if (owned)
        roaring_bitmap_free(owned);
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
    roaring_bitmap_t *owned;
    const roaring_bitmap_t *base = base_set(c, s, &owned);
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
    if (owned)
        roaring_bitmap_free(owned);
    return out;
}

/* --- variant frequencies ------------------------------------------------------------------- */

struct vcount {
    int64_t site;
    uint64_t total;
    json_t *row; /* the site's description, without counts */
};

static int vcount_cmp(const void *a, const void *b)
{
    const struct vcount *x = a, *y = b;
    return x->total < y->total ? 1 : x->total > y->total ? -1 : (x->site > y->site) - (x->site < y->site);
}

/* The somatic sites annotated with the gene (found through its spans, sitekey.h) that have a
 * passing call. */
static const char *const GENE_SITES =
    "SELECT t.site_no, t.chrom, t.pos, t.ref, t.alt, t.hgvsp, t.hgvsc, t.class,"
    " coalesce((SELECT text FROM genome_terms WHERE code = t.cons), '')"
    " FROM genome_gene_spans g JOIN genome_contigs k ON k.name = g.chrom"
    " JOIN genome_sites t ON t.site_no BETWEEN (k.code << 49) | (g.lo << 19)"
    "  AND (k.code << 49) | (g.hi << 19) | 524287"
    " WHERE g.gene = ?1 AND t.gene = ?1 AND (EXISTS (SELECT 1 FROM genome_somatic v"
    "  WHERE v.case_no = t.somatic_case AND v.site_no = t.site_no AND v.filter IN ('PASS','.'))"
    " OR EXISTS (SELECT 1 FROM genome_recurrent r JOIN genome_somatic v"
    "  ON v.case_no = r.case_no AND v.site_no = r.site_no"
    "  WHERE r.site_no = t.site_no AND v.filter IN ('PASS','.')))";

json_t *zg_query_variants(const struct zg_cohort *c, sqlite3 *db, const char *gene, int limit,
                          const struct zg_query_scope *s, struct zg_error *err)
{
    if (check_genes(&gene, 1, err))
        return NULL;
    struct gene_names gn;
    gene = resolve_genes(c, &gene, 1, &gn)[0];
    sqlite3_stmt *st = zg_db_prepare(db, GENE_SITES, err);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, gene, -1, SQLITE_STATIC);
    roaring_bitmap_t *owned;
    const roaring_bitmap_t *base = base_set(c, s, &owned);
    struct vcount *v = NULL;
    size_t nv = 0, cap = 0, private = 0;
    char key[128];
    int r, rc = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t site = sqlite3_column_int64(st, 0);
        snprintf(key, sizeof(key), "v\t%lld", (long long)site);
        const roaring_bitmap_t *b = zg_cohort_get(c, key);
        uint64_t t = b ? roaring_bitmap_and_cardinality(b, base) : 0;
        if (t < 2) {
            private++;
            continue;
        }
        if (nv == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            struct vcount *nvv = realloc(v, ncap * sizeof(*nvv));
            if (!nvv) {
                rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
                break;
            }
            v = nvv;
            cap = ncap;
        }
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)site);
        v[nv++] = (struct vcount){
            site, t,
            json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "site", id, "chrom",
                      zg_db_text(st, 1), "pos", (json_int_t)sqlite3_column_int64(st, 2), "ref",
                      zg_db_text(st, 3), "alt", zg_db_text(st, 4), "hgvsp", zg_db_text(st, 5),
                      "hgvsc", zg_db_text(st, 6), "class", zg_db_text(st, 7), "consequence",
                      zg_db_text(st, 8))};
    }
    if (!rc && r != SQLITE_DONE)
        rc = zg_db_fail(db, r, err);
    zg_db_release(st);
    json_t *out = NULL;
    if (rc)
        goto done;
    if (nv)
        qsort(v, nv, sizeof(*v), vcount_cmp);
    struct group_ctx g = {"ct\t", NULL, NULL, 0, 0};
    zg_cohort_each(c, "ct\t", collect_group, &g);
    sort_groups(&g);
    json_t *arr = json_array();
    for (size_t i = 0; i < nv && (int)i < limit; i++) {
        snprintf(key, sizeof(key), "v\t%lld", (long long)v[i].site);
        const roaring_bitmap_t *b = zg_cohort_get(c, key);
        json_t *byct = json_object();
        for (size_t k = 0; k < g.n; k++) {
            roaring_bitmap_t *t = roaring_bitmap_and(b, g.sets[k]);
            uint64_t m = roaring_bitmap_and_cardinality(t, base);
            roaring_bitmap_free(t);
            if (m)
                json_object_set_new(byct, g.names[k], count_json(m, s));
        }
        json_t *row = v[i].row;
        v[i].row = NULL;
        json_object_set_new(row, "total", count_json(v[i].total, s));
        json_object_set_new(row, "by_cancer_type", byct);
        json_array_append_new(arr, row);
    }
    free(g.names);
    free(g.sets);
    out = json_pack("{s:s,s:o,s:I,s:I}", "gene", gene, "variants", arr, "recurrent",
                    (json_int_t)nv, "private_variants", (json_int_t)private);
    scope_note(out, s);
done:
    for (size_t i = 0; i < nv; i++)
        json_decref(v[i].row);
    free(v);
    if (owned)
        roaring_bitmap_free(owned);
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
    roaring_bitmap_t *owned;
    const roaring_bitmap_t *b0 = base_set(c, s, &owned);
    roaring_bitmap_t *base = owned ? owned : roaring_bitmap_copy(b0);
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
    if (s->permitted)
        roaring_bitmap_and_inplace(scope, s->permitted);
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
