/* Gene spans from a BED gene model (fallback annotation, CNV/SV gene overlap), contig-name
 * normalisation, and the Sequence Ontology → alteration class mapping. */
#include "variants.h"
#include "files_internal.h"
#include "common/error.h"

#include <sys/stat.h>

struct gene_span {
    int64_t start, end; /* 1-based inclusive */
    uint32_t name;      /* offset into names */
};

struct chrom_spans {
    char name[32];
    struct gene_span *v;
    size_t n, cap;
    int64_t maxlen; /* longest span: bounds the backwards scan of an overlap query */
};

struct zg_gene_model {
    struct chrom_spans *chroms;
    size_t nchroms, capchroms;
    char *names;
    size_t nnames, capnames;
};

void zg_chrom_normalise(char *c)
{
    if (!strncmp(c, "chr", 3) || !strncmp(c, "Chr", 3) || !strncmp(c, "CHR", 3))
        memmove(c, c + 3, strlen(c + 3) + 1);
    if (!strcmp(c, "M"))
        memcpy(c, "MT", 3);
}

static struct chrom_spans *chrom_get(struct zg_gene_model *m, const char *name, bool create)
{
    for (size_t i = 0; i < m->nchroms; i++)
        if (!strcmp(m->chroms[i].name, name))
            return &m->chroms[i];
    if (!create)
        return NULL;
    if (m->nchroms == m->capchroms) {
        size_t nc = m->capchroms ? m->capchroms * 2 : 32;
        struct chrom_spans *p = realloc(m->chroms, nc * sizeof(*p));
        if (!p)
            return NULL;
        m->chroms = p;
        m->capchroms = nc;
    }
    struct chrom_spans *c = &m->chroms[m->nchroms++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    return c;
}

static int span_cmp(const void *a, const void *b)
{
    const struct gene_span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

void zg_gene_model_free(struct zg_gene_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nchroms; i++)
        free(m->chroms[i].v);
    free(m->chroms);
    free(m->names);
    free(m);
}

int zg_gene_model_load(const char *bed_path, struct zg_gene_model **out, struct zg_error *err)
{
    FILE *f = fopen(bed_path, "r");
    if (!f)
        return zg_error_set(err, ZG_ENOTFOUND, "gene-bed", "cannot open %s", bed_path);
    struct zg_gene_model *m = calloc(1, sizeof(*m));
    char line[1024];
    long n = 0;
    int rc = m ? 0 : ZG_ENOMEM;
    while (!rc && fgets(line, sizeof(line), f)) {
        if (++n > 1000000) {
            rc = zg_error_set(err, ZG_ETOOBIG, "gene-bed", "more than 1,000,000 lines");
            break;
        }
        if (line[0] == '#' || !strncmp(line, "track", 5) || !strncmp(line, "browser", 7))
            continue;
        char chrom[32], name[128];
        long long s, e;
        if (sscanf(line, "%31s %lld %lld %127s", chrom, &s, &e, name) != 4 || e < s)
            continue;
        zg_chrom_normalise(chrom);
        struct chrom_spans *c = chrom_get(m, chrom, true);
        size_t nl = strlen(name) + 1;
        if (!c) {
            rc = ZG_ENOMEM;
            break;
        }
        if (m->nnames + nl > m->capnames) {
            size_t nc = m->capnames ? m->capnames * 2 : 1 << 16;
            char *p = realloc(m->names, nc);
            if (!p) {
                rc = ZG_ENOMEM;
                break;
            }
            m->names = p;
            m->capnames = nc;
        }
        if (c->n == c->cap) {
            size_t nc = c->cap ? c->cap * 2 : 256;
            struct gene_span *p = realloc(c->v, nc * sizeof(*p));
            if (!p) {
                rc = ZG_ENOMEM;
                break;
            }
            c->v = p;
            c->cap = nc;
        }
        memcpy(m->names + m->nnames, name, nl);
        c->v[c->n++] = (struct gene_span){s + 1, e, (uint32_t)m->nnames};
        m->nnames += nl;
        if (e - s > c->maxlen)
            c->maxlen = e - s;
    }
    fclose(f);
    if (rc) {
        if (rc == ZG_ENOMEM)
            zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        zg_gene_model_free(m);
        return rc;
    }
    for (size_t i = 0; i < m->nchroms; i++)
        qsort(m->chroms[i].v, m->chroms[i].n, sizeof(struct gene_span), span_cmp);
    *out = m;
    return 0;
}

size_t zg_gene_model_overlaps(const struct zg_gene_model *m, const char *chrom, int64_t start,
                              int64_t end, const char **names, size_t max)
{
    if (!m)
        return 0;
    char c[32];
    snprintf(c, sizeof(c), "%s", chrom);
    zg_chrom_normalise(c);
    struct chrom_spans *cs = chrom_get((struct zg_gene_model *)m, c, false);
    if (!cs || !cs->n)
        return 0;
    /* first span with start > end, then walk back while a span could still reach start */
    size_t lo = 0, hi = cs->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cs->v[mid].start <= end)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t k = 0;
    for (size_t i = lo; i-- > 0 && k < max;) {
        const struct gene_span *g = &cs->v[i];
        if (g->start < start - cs->maxlen)
            break;
        if (g->end >= start) {
            const char *nm = m->names + g->name;
            bool dup = false;
            for (size_t j = 0; j < k && !dup; j++)
                dup = !strcmp(names[j], nm);
            if (!dup)
                names[k++] = nm;
        }
    }
    return k;
}

int zg_gene_model_find(const struct zg_gene_model *m, const char *gene, const char **chrom,
                       int64_t *start, int64_t *end)
{
    for (size_t i = 0; m && i < m->nchroms; i++)
        for (size_t j = 0; j < m->chroms[i].n; j++)
            if (!strcmp(m->names + m->chroms[i].v[j].name, gene)) {
                *chrom = m->chroms[i].name;
                *start = m->chroms[i].v[j].start;
                *end = m->chroms[i].v[j].end;
                return 0;
            }
    return ZG_ENOTFOUND;
}

const char *zg_gene_model_default_path(const struct zg_datadir *dd, char *buf, size_t n)
{
    struct stat sb;
    const char *env = getenv("ZENGEN_GENE_BED");
    if (env && *env && stat(env, &sb) == 0) {
        snprintf(buf, n, "%s", env);
        return buf;
    }
    zg_datadir_file(dd, "reference/genes.bed", buf, n);
    return stat(buf, &sb) == 0 ? buf : NULL;
}

/* --- classes ----------------------------------------------------------------------------- */

static const char *const class_names[] = {"missense", "truncating", "splice", "inframe", "amp",
                                          "del",      "fusion",     "sv",     "other"};

const char *zg_alt_class_name(enum zg_alt_class c)
{
    return (unsigned)c < ZG_AC__COUNT ? class_names[c] : "other";
}

bool zg_alt_class_is_coding(enum zg_alt_class c)
{
    return c <= ZG_AC_INFRAME;
}

bool zg_alt_class_coding(const char *name)
{
    enum zg_alt_class c;
    return !zg_alt_class_parse(name, &c) && zg_alt_class_is_coding(c);
}

int zg_alt_class_parse(const char *s, enum zg_alt_class *out)
{
    for (int i = 0; s && i < ZG_AC__COUNT; i++)
        if (!strcmp(s, class_names[i])) {
            *out = (enum zg_alt_class)i;
            return 0;
        }
    return ZG_EINVAL;
}

struct term {
    const char *so;
    size_t len;
    int rank; /* lower is more severe */
    enum zg_alt_class cls;
};

/* VEP's severity order for the terms that matter; SnpEff ANN uses the same SO terms, old
 * SnpEff EFF its own upper-case names. */
#define T(so, rank, cls)                                                                           \
    {                                                                                              \
        so, sizeof(so) - 1, rank, cls                                                              \
    }
static const struct term terms[] = {
    T("transcript_ablation", 1, ZG_AC_TRUNCATING),
    T("splice_acceptor_variant", 2, ZG_AC_SPLICE),
    T("splice_donor_variant", 3, ZG_AC_SPLICE),
    T("stop_gained", 4, ZG_AC_TRUNCATING),
    T("frameshift_variant", 5, ZG_AC_TRUNCATING),
    T("stop_lost", 6, ZG_AC_TRUNCATING),
    T("start_lost", 7, ZG_AC_TRUNCATING),
    T("inframe_insertion", 10, ZG_AC_INFRAME),
    T("inframe_deletion", 11, ZG_AC_INFRAME),
    T("disruptive_inframe_insertion", 10, ZG_AC_INFRAME),
    T("disruptive_inframe_deletion", 11, ZG_AC_INFRAME),
    T("conservative_inframe_insertion", 10, ZG_AC_INFRAME),
    T("conservative_inframe_deletion", 11, ZG_AC_INFRAME),
    T("missense_variant", 12, ZG_AC_MISSENSE),
    T("initiator_codon_variant", 12, ZG_AC_MISSENSE),
    T("protein_altering_variant", 13, ZG_AC_INFRAME),
    /* old SnpEff EFF effect names */
    T("SPLICE_SITE_ACCEPTOR", 2, ZG_AC_SPLICE),
    T("SPLICE_SITE_DONOR", 3, ZG_AC_SPLICE),
    T("STOP_GAINED", 4, ZG_AC_TRUNCATING),
    T("FRAME_SHIFT", 5, ZG_AC_TRUNCATING),
    T("STOP_LOST", 6, ZG_AC_TRUNCATING),
    T("START_LOST", 7, ZG_AC_TRUNCATING),
    T("CODON_INSERTION", 10, ZG_AC_INFRAME),
    T("CODON_DELETION", 11, ZG_AC_INFRAME),
    T("CODON_CHANGE_PLUS_CODON_INSERTION", 10, ZG_AC_INFRAME),
    T("CODON_CHANGE_PLUS_CODON_DELETION", 11, ZG_AC_INFRAME),
    T("NON_SYNONYMOUS_CODING", 12, ZG_AC_MISSENSE),
    T("NON_SYNONYMOUS_START", 12, ZG_AC_MISSENSE),
};
#undef T

/* Severity rank of a term list ("a&b"), its class via *cls; 100 when nothing matters. */
static int severity(const char *cons, size_t len, enum zg_alt_class *cls)
{
    int best = 100;
    *cls = ZG_AC_OTHER;
    const char *p = cons, *end = cons + len;
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '&' && *q != '+')
            q++;
        for (size_t i = 0; i < ZG_ARRAY_LEN(terms); i++)
            if ((size_t)(q - p) == terms[i].len && !memcmp(p, terms[i].so, terms[i].len) &&
                terms[i].rank < best) {
                best = terms[i].rank;
                *cls = terms[i].cls;
            }
        p = q + 1;
    }
    return best;
}

/* Sequence Ontology accessions of the consequence terms VEP reports (Ensembl's "calculated
 * variant consequences" list) and of SnpEff's own in-frame and start terms. */
static const struct {
    const char *term, *id;
} so_ids[] = {
    {"transcript_ablation", "SO:0001893"},
    {"splice_acceptor_variant", "SO:0001574"},
    {"splice_donor_variant", "SO:0001575"},
    {"stop_gained", "SO:0001587"},
    {"frameshift_variant", "SO:0001589"},
    {"stop_lost", "SO:0001578"},
    {"start_lost", "SO:0002012"},
    {"transcript_amplification", "SO:0001889"},
    {"feature_elongation", "SO:0001907"},
    {"feature_truncation", "SO:0001906"},
    {"inframe_insertion", "SO:0001821"},
    {"inframe_deletion", "SO:0001822"},
    {"missense_variant", "SO:0001583"},
    {"protein_altering_variant", "SO:0001818"},
    {"splice_donor_5th_base_variant", "SO:0001787"},
    {"splice_region_variant", "SO:0001630"},
    {"splice_donor_region_variant", "SO:0002170"},
    {"splice_polypyrimidine_tract_variant", "SO:0002169"},
    {"incomplete_terminal_codon_variant", "SO:0001626"},
    {"start_retained_variant", "SO:0002019"},
    {"stop_retained_variant", "SO:0001567"},
    {"synonymous_variant", "SO:0001819"},
    {"coding_sequence_variant", "SO:0001580"},
    {"mature_miRNA_variant", "SO:0001620"},
    {"5_prime_UTR_variant", "SO:0001623"},
    {"3_prime_UTR_variant", "SO:0001624"},
    {"non_coding_transcript_exon_variant", "SO:0001792"},
    {"intron_variant", "SO:0001627"},
    {"NMD_transcript_variant", "SO:0001621"},
    {"non_coding_transcript_variant", "SO:0001619"},
    {"coding_transcript_variant", "SO:0001968"},
    {"upstream_gene_variant", "SO:0001631"},
    {"downstream_gene_variant", "SO:0001632"},
    {"TFBS_ablation", "SO:0001895"},
    {"TFBS_amplification", "SO:0001892"},
    {"TF_binding_site_variant", "SO:0001782"},
    {"regulatory_region_ablation", "SO:0001894"},
    {"regulatory_region_amplification", "SO:0001891"},
    {"regulatory_region_variant", "SO:0001566"},
    {"intergenic_variant", "SO:0001628"},
    {"sequence_variant", "SO:0001060"},
    {"initiator_codon_variant", "SO:0001582"},
    {"conservative_inframe_insertion", "SO:0001823"},
    {"disruptive_inframe_insertion", "SO:0001824"},
    {"conservative_inframe_deletion", "SO:0001825"},
    {"disruptive_inframe_deletion", "SO:0001826"},
};

const char *zg_so_accession(const char *term, size_t len)
{
    for (size_t i = 0; i < ZG_ARRAY_LEN(so_ids); i++)
        if (strlen(so_ids[i].term) == len && !memcmp(so_ids[i].term, term, len))
            return so_ids[i].id;
    return NULL;
}

enum zg_alt_class zg_alt_class_of(const char *consequence)
{
    enum zg_alt_class c;
    severity(consequence, strlen(consequence), &c);
    return c;
}

int zg_genome_severity(const char *cons, size_t len, enum zg_alt_class *cls)
{
    return severity(cons, len, cls);
}
