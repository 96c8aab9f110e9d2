/* Variant ingest: streams a VCF/BCF with htslib into the genome tables in one transaction —
 * splitting multi-allelic records, trimming alleles, normalising contigs, picking the most
 * severe CSQ/ANN/EFF annotation (else gene overlap), keeping VAF and depth. */
#include "variants.h"
#include "files_internal.h"
#include "genome/sitekey.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/clock.h"
#include "crypto/crypto.h"
#include "ids/ids.h"
#include "store/db.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <unistd.h>
#include <htslib/hts.h>
#include <htslib/vcf.h>

static const char *const kind_names[] = {"somatic", "germline", "sv", "cnv"};

const char *zg_variant_kind_name(enum zg_variant_kind k)
{
    return (unsigned)k < ZG_ARRAY_LEN(kind_names) ? kind_names[k] : "?";
}

int zg_variant_kind_parse(const char *s, enum zg_variant_kind *out)
{
    for (size_t i = 0; s && i < ZG_ARRAY_LEN(kind_names); i++)
        if (!strcmp(s, kind_names[i])) {
            *out = (enum zg_variant_kind)i;
            return 0;
        }
    return ZG_EINVAL;
}

/* --- genome case attributes ----------------------------------------------------------- */

static bool valid_code(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

bool zg_genome_code_valid(const char *s)
{
    return s && valid_code(s, 16);
}

int zg_genome_case_ensure(sqlite3 *db, const char *case_id, const char *cancer_type,
                          const char *dataset, double callable_mb, int64_t *case_no,
                          struct zg_error *err)
{
    if (cancer_type && !valid_code(cancer_type, 16))
        return zg_error_set(err, ZG_EINVAL, "cancer-type",
                            "must be an OncoTree code (1–16 of A-Z 0-9 _ -)");
    if (dataset && (!*dataset || strlen(dataset) > 64))
        return zg_error_set(err, ZG_EINVAL, "dataset", "must be 1–64 characters");
    int64_t org = 0;
    int rc = zg_case_org(db, case_id, &org, err);
    if (rc)
        return zg_error_set(err, rc, "case", "no such case");
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "INSERT INTO genome_cases(case_id,org_id,cancer_type,dataset,callable_mb,updated_at)"
        " VALUES(?1,?2,IFNULL(?3,'UNK'),IFNULL(?4,'default'),IIF(?5>0,?5,2800),?6)"
        " ON CONFLICT(case_id) DO UPDATE SET cancer_type=IFNULL(?3,cancer_type),"
        " dataset=IFNULL(?4,dataset), callable_mb=IIF(?5>0,?5,callable_mb), updated_at=?6"
        " RETURNING case_no",
        err);
    if (!st)
        return err->code;
    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, org);
    if (cancer_type)
        sqlite3_bind_text(st, 3, cancer_type, -1, SQLITE_STATIC);
    if (dataset)
        sqlite3_bind_text(st, 4, dataset, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 5, callable_mb);
    sqlite3_bind_int64(st, 6, zg_clock_now());
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *case_no = sqlite3_column_int64(st, 0);
    else
        rc = zg_db_fail(db, r, err);
    zg_db_release(st);
    return rc;
}

int zg_genome_case_attr_set(sqlite3 *db, const char *case_id, const char *key, const char *value,
                            struct zg_error *err)
{
    size_t kl = key ? strlen(key) : 0, vl = value ? strlen(value) : 0;
    if (kl == 0 || kl > 32)
        return zg_error_set(err, ZG_EINVAL, "key", "must be 1–32 characters");
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return zg_error_set(err, ZG_EINVAL, "key", "may use a-z 0-9 _ only");
    if (vl == 0 || vl > 64)
        return zg_error_set(err, ZG_EINVAL, "value", "must be 1–64 characters");
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '\t')
            return zg_error_set(err, ZG_EINVAL, "value", "must be printable");
    int64_t case_no;
    int rc = zg_genome_case_ensure(db, case_id, NULL, NULL, 0, &case_no, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = zg_db_prepare(
        db, "INSERT OR REPLACE INTO genome_case_attrs(case_no,key,value) VALUES(?,?,?)", err);
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, case_no);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    zg_db_release(st);
    return r == SQLITE_DONE ? 0 : zg_db_fail(db, r, err);
}

/* --- annotation formats --------------------------------------------------------------- */

enum ann_kind { ANN_NONE, ANN_CSQ, ANN_ANN, ANN_EFF };
enum {
    F_ALLELE,
    F_CONS,
    F_SYMBOL,
    F_FEATURE,
    F_HGVSC,
    F_HGVSP,
    F_CANON,
    F_PICK,
    F_ALLELE_NUM,
    F__N
};

struct ann_fmt {
    enum ann_kind kind;
    const char *tag;
    int id;        /* the tag's header ID; -1 when it is not a String INFO tag */
    int idx[F__N]; /* field positions, -1 when absent */
    int nfields;
    int order[F__N]; /* the fields present, by position: the order an entry is split in */
    int norder;
    int nearly; /* order[0..nearly) are split for every entry: up to allele, consequence, gene */
};

/* Field names by meaning, most specific first: VEP (CSQ, or ANN via --vcf_info_field), SnpEff
 * ANN, old VEP (HGNC), bcftools csq. */
static const char *const field_aliases[F__N][4] = {
    [F_ALLELE] = {"Allele", NULL},
    [F_CONS] = {"Consequence", "Annotation", NULL},
    [F_SYMBOL] = {"SYMBOL", "Gene_Name", "HGNC", "gene"},
    [F_FEATURE] = {"Feature", "Feature_ID", "transcript", NULL},
    [F_HGVSC] = {"HGVSc", "HGVS.c", "dna_change", NULL},
    [F_HGVSP] = {"HGVSp", "HGVS.p", "amino_acid_change", NULL},
    [F_CANON] = {"CANONICAL", NULL},
    [F_PICK] = {"PICK", NULL},
    [F_ALLELE_NUM] = {"ALLELE_NUM", NULL},
};

static void ann_field_names(struct ann_fmt *a, const char *list)
{
    int prio[F__N];
    for (int i = 0; i < F__N; i++) {
        a->idx[i] = -1;
        prio[i] = 99;
    }
    int pos = 0;
    const char *p = list;
    while (*p && *p != '"') {
        while (*p == ' ' || *p == '\'')
            p++;
        const char *q = p;
        while (*q && *q != '|' && *q != '"' && *q != '\'')
            q++;
        const char *e = q;
        while (e > p && e[-1] == ' ')
            e--;
        size_t len = (size_t)(e - p);
        for (int i = 0; i < F__N; i++)
            for (int k = 0; k < 4 && field_aliases[i][k]; k++)
                if (k < prio[i] && len == strlen(field_aliases[i][k]) &&
                    !memcmp(p, field_aliases[i][k], len)) {
                    a->idx[i] = pos;
                    prio[i] = k;
                }
        pos++;
        if (*q != '|')
            break;
        p = q + 1;
    }
    a->nfields = pos;
    /* no name is an alias of two fields, so the positions are distinct */
    a->norder = 0;
    for (int k = 0; k < pos; k++)
        for (int i = 0; i < F__N; i++)
            if (a->idx[i] == k)
                a->order[a->norder++] = i;
    int early = 0;
    for (int i = 0; i < F__N; i++)
        if ((i == F_ALLELE || i == F_CONS || i == F_SYMBOL) && a->idx[i] + 1 > early)
            early = a->idx[i] + 1;
    a->nearly = 0;
    while (a->nearly < a->norder && a->idx[a->order[a->nearly]] < early)
        a->nearly++;
}

/* Finds CSQ, else ANN, else EFF in the header. A CSQ/ANN header without a field list is an
 * error: the annotation cannot be read correctly. */
static int ann_detect(bcf_hdr_t *h, struct ann_fmt *a, struct zg_error *err)
{
    memset(a, 0, sizeof(*a));
    static const char *const tags[] = {"CSQ", "ANN", "EFF"};
    for (int t = 0; t < 3; t++) {
        bcf_hrec_t *hr = bcf_hdr_get_hrec(h, BCF_HL_INFO, "ID", tags[t], NULL);
        if (!hr)
            continue;
        a->tag = tags[t];
        a->kind = t == 0 ? ANN_CSQ : t == 1 ? ANN_ANN : ANN_EFF;
        a->id = bcf_hdr_id2int(h, BCF_DT_ID, a->tag);
        if (!bcf_hdr_idinfo_exists(h, BCF_HL_INFO, a->id) ||
            bcf_hdr_id2type(h, BCF_HL_INFO, a->id) != BCF_HT_STR)
            a->id = -1;
        if (a->kind == ANN_EFF)
            return 0;
        int k = bcf_hrec_find_key(hr, "Description");
        const char *d = k >= 0 ? hr->vals[k] : NULL;
        const char *list = d ? strstr(d, "Format: ") : NULL;
        if (list)
            list += 8;
        else if (d && (list = strchr(d, '\'')))
            list++;
        else if (d && (list = strstr(d, "annotations: ")))
            list += 13;
        if (!list)
            return zg_error_set(err, ZG_EINVAL, "header", "the %s header does not list its fields",
                                tags[t]);
        ann_field_names(a, list);
        if (a->idx[F_CONS] < 0 || a->idx[F_SYMBOL] < 0)
            return zg_error_set(err, ZG_EINVAL, "header",
                                "the %s header lacks a consequence or gene field", tags[t]);
        return 0;
    }
    return 0;
}

static int atoi_checked(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return (end == s || v < 0 || v > 1000000) ? 0 : (int)v;
}

#define MAX_FIELDS 128
#define MAX_ENTRIES 512

struct ann_entry {
    /* The fields' first bytes. Allele, consequence and gene (and any field before them) are
     * NUL-terminated; the ones found later by ann_complete end at '|' or NUL (field_len). */
    const char *f[F__N];
    size_t cons_len;
    int rank;
    enum zg_alt_class cls;
    int allele_num; /* ALLELE_NUM (CSQ/ANN: read for multi-allelic records only) */
    char *rest;     /* CSQ/ANN: where ann_complete goes on (NULL when complete) */
    char *end;      /* CSQ/ANN: the entry's end (a NUL) */
    int next_pos;   /* position of the field at rest */
};

struct span {
    const char *s;
    size_t n;
};

/* The annotation picked for an allele. Its texts point into the parsed tag value (or the gene
 * model), valid while the record is prepared, and are already cut to the stored maximum. */
struct pick {
    struct span gene, cons, transcript, hgvsc, hgvsp;
    char unescaped[128]; /* hgvsp with '=' for VEP's %3D */
    enum zg_alt_class cls;
    bool annotated;
};

enum { GENE_MAX = 63, CONS_MAX = 95, TRANSCRIPT_MAX = 63, HGVS_MAX = 127 };

static struct span span_cut(const char *s, size_t n, size_t max)
{
    return (struct span){s ? s : "", n < max ? n : max};
}

/* Nothing picked yet (field by field: zeroing the buffer would cost more than the pick) */
static void pick_clear(struct pick *pk)
{
    pk->gene = pk->cons = pk->transcript = pk->hgvsc = pk->hgvsp = (struct span){"", 0};
    pk->cls = ZG_AC_OTHER;
    pk->annotated = false;
}

static void set_field(char *dst, size_t n, const char *src)
{
    size_t l = src ? strlen(src) : 0;
    if (l >= n)
        l = n - 1;
    if (l)
        memcpy(dst, src, l);
    dst[l] = '\0';
}

/* The length of an annotation field: up to '|' or NUL; 0 for NULL */
static size_t field_len(const char *f)
{
    size_t l = 0;
    while (f && f[l] && f[l] != '|')
        l++;
    return l;
}

static bool field_is(const char *f, const char *s)
{
    size_t l = strlen(s);
    return f && field_len(f) == l && !memcmp(f, s, l);
}

/* The start of the field n '|' separators on from s, NULL when the entry (ending at end) has
 * fewer. VEP writes dozens of mostly empty fields per entry and few are used: the separators
 * are counted eight bytes at a time, with no call or branch per field. */
static char *skip_fields(char *s, const char *end, int n)
{
    const uint64_t ones = 0x0101010101010101u, low7 = 0x7f * ones, bars = '|' * ones;
    while (n > 0 && end - s >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        w ^= bars;                                         /* a zero byte for each '|' */
        uint64_t zero = ~(((w & low7) + low7) | w | low7); /* exactly their high bits */
        int found = (int)(((zero >> 7) * ones) >> 56);
        if (found >= n)
            break; /* the field starts within these eight bytes */
        n -= found;
        s += 8;
    }
    for (; n > 0 && s < end; s++)
        if (*s == '|')
            n--;
    return n ? NULL : s;
}

/* Splits the fields before ann_fmt.order[nearly] (allele, consequence, gene) of the entry at
 * buf, NUL-terminating each; rest is left at the next field, NULL when there is none. */
static void split_early(const struct ann_fmt *a, struct ann_entry *e, char *buf)
{
    char *s = buf;
    int k = 0;
    for (int j = 0; s && j < a->nearly; j++) {
        int f = a->order[j];
        if (!(s = skip_fields(s, e->end, a->idx[f] - k)))
            break;
        char *bar = memchr(s, '|', (size_t)(e->end - s));
        e->f[f] = s;
        if (f == F_CONS)
            e->cons_len = (size_t)((bar ? bar : e->end) - s);
        k = a->idx[f] + 1;
        if (bar)
            *bar = '\0';
        s = bar ? bar + 1 : NULL;
    }
    e->rest = s;
    e->next_pos = k;
}

/* Finds the entry's remaining fields (transcript, HGVS, flags) without splitting them; with
 * multi, reads its allele number too. */
static void ann_complete(const struct ann_fmt *a, struct ann_entry *e, bool multi)
{
    char *s = e->rest;
    int k = e->next_pos;
    for (int j = a->nearly; s && j < a->norder; j++) {
        int f = a->order[j];
        if ((s = skip_fields(s, e->end, a->idx[f] - k))) {
            e->f[f] = s;
            k = a->idx[f];
        }
    }
    e->rest = NULL;
    if (multi && field_len(e->f[F_ALLELE_NUM]))
        e->allele_num = atoi_checked(e->f[F_ALLELE_NUM]); /* stops at the '|' */
}

/* Severities of the consequence lists seen so far: a file uses a few dozen distinct lists, each
 * rated once instead of once per entry. Direct-mapped: a collision only costs a new rating. */
#define SEV_SLOTS 64
#define SEV_LEN 62

struct sev_cache {
    struct {
        char cons[SEV_LEN];
        unsigned char len1; /* length + 1, 0 for an empty slot */
        int rank;
        enum zg_alt_class cls;
    } slot[SEV_SLOTS];
};

static int severity_cached(struct sev_cache *c, const char *cons, size_t len,
                           enum zg_alt_class *cls)
{
    if (len == 0 || len > SEV_LEN)
        return zg_genome_severity(cons ? cons : "", len, cls);
    const unsigned char *u = (const unsigned char *)cons;
    size_t h = (len * 31 + u[0] + 7u * u[len / 2] + 131u * u[len - 1]) % SEV_SLOTS;
    if (c->slot[h].len1 == len + 1 && !memcmp(c->slot[h].cons, cons, len)) {
        *cls = c->slot[h].cls;
        return c->slot[h].rank;
    }
    int rank = zg_genome_severity(cons, len, cls);
    memcpy(c->slot[h].cons, cons, len);
    c->slot[h].len1 = (unsigned char)(len + 1);
    c->slot[h].rank = rank;
    c->slot[h].cls = *cls;
    return rank;
}

/* Field by field: a memset of the whole entry costs more than the entry's split. */
static void entry_clear(struct ann_entry *e)
{
    for (int i = 0; i < F__N; i++)
        e->f[i] = NULL;
    e->cons_len = 0;
    e->allele_num = 0;
    e->rest = e->end = NULL;
    e->next_pos = 0;
}

/* Splits the tag's value (in buf, modified) into entries. */
static int ann_parse(const struct ann_fmt *a, char *buf, struct ann_entry *ents,
                     struct sev_cache *sev)
{
    int n = 0;
    char *stop = buf + strlen(buf);
    for (char *p = buf; p < stop && n < MAX_ENTRIES;) {
        char *next = memchr(p, ',', (size_t)(stop - p));
        if (next)
            *next = '\0';
        struct ann_entry *e = &ents[n];
        entry_clear(e);
        if (a->kind == ANN_EFF) {
            /* EFFECT(IMPACT|FUNCLASS|CODON|AA|AA_LEN|GENE|BIOTYPE|CODING|TRANSCRIPT|EXON|GT_NUM) */
            char *paren = strchr(p, '(');
            if (!paren) {
                p = next ? next + 1 : stop;
                continue;
            }
            *paren = '\0';
            e->f[F_CONS] = p;
            e->cons_len = (size_t)(paren - p);
            char *fld = paren + 1, *close = strrchr(fld, ')');
            if (close)
                *close = '\0';
            const char *v[12] = {0};
            int k = 0;
            for (char *s = fld; k < 12;) {
                v[k++] = s;
                char *bar = strchr(s, '|');
                if (!bar)
                    break;
                *bar = '\0';
                s = bar + 1;
            }
            e->f[F_HGVSC] = v[2];
            e->f[F_HGVSP] = v[3];
            e->f[F_SYMBOL] = v[5];
            e->f[F_FEATURE] = v[8];
            e->allele_num = v[10] && *v[10] ? atoi_checked(v[10]) : 0;
        } else {
            /* split only up to the allele, consequence and gene now; the rest (transcript,
             * HGVS, flags) only for entries that may be picked (ann_complete) */
            e->end = next ? next : stop;
            split_early(a, e, p);
        }
        e->rank = severity_cached(sev, e->f[F_CONS], e->cons_len, &e->cls);
        n++;
        p = next ? next + 1 : stop;
    }
    return n;
}

/* Does annotation allele `al` (VEP: first shared base removed, "-" for a deletion) describe
 * the alt allele number `ai` (1-based) with sequence alt over ref? */
static bool allele_matches(const struct ann_entry *e, int ai, const char *ref, const char *alt,
                           int nalt)
{
    if (nalt == 1)
        return true;
    if (e->allele_num > 0)
        return e->allele_num == ai;
    const char *al = e->f[F_ALLELE];
    if (!al)
        return true;
    if (!strcmp(al, alt))
        return true;
    if (ref[0] == alt[0] && (!strcmp(al, alt + 1) || (!alt[1] && !strcmp(al, "-"))))
        return true;
    return false;
}

/* Does entry e beat b, the best so far? A PICK flag first, then severity, then CANONICAL. */
static bool beats(const struct ann_entry *e, bool canon, const struct ann_entry *b, bool bcanon)
{
    bool pk = field_is(e->f[F_PICK], "1"), bpk = field_is(b->f[F_PICK], "1");
    if (pk != bpk)
        return pk;
    if (e->rank != b->rank)
        return e->rank < b->rank;
    return canon && !bcanon;
}

static void choose(const struct ann_fmt *a, struct ann_entry *ents, int n, int ai, const char *ref,
                   const char *alt, int nalt, struct pick *out)
{
    /* PICK flags or per-allele numbers need every entry's later fields */
    bool all = a->idx[F_PICK] >= 0 || (nalt > 1 && a->idx[F_ALLELE_NUM] >= 0);
    int best_rank = 1000;
    for (int i = 0; i < n; i++) {
        struct ann_entry *e = &ents[i];
        if (all && e->rest)
            ann_complete(a, e, nalt > 1);
        if (!allele_matches(e, ai, ref, alt, nalt) || !e->f[F_SYMBOL] || !*e->f[F_SYMBOL])
            continue;
        if (e->rank < best_rank)
            best_rank = e->rank;
    }
    int best = -1;
    bool best_canon = false;
    for (int i = 0; i < n; i++) {
        struct ann_entry *e = &ents[i];
        if (!allele_matches(e, ai, ref, alt, nalt) || !e->f[F_SYMBOL] || !*e->f[F_SYMBOL])
            continue;
        if (!all && e->rank != best_rank)
            continue; /* cannot win: leave its other fields unsplit */
        if (e->rest)
            ann_complete(a, e, nalt > 1);
        bool canon = field_is(e->f[F_CANON], "YES");
        if (best < 0 || beats(e, canon, &ents[best], best_canon)) {
            best = i;
            best_canon = canon;
        }
        if (!all && best_canon)
            break; /* without PICK flags nothing beats a canonical entry of the best rank */
    }
    if (best < 0)
        return;
    struct ann_entry *b = &ents[best];
    out->annotated = true;
    out->cls = b->cls;
    out->gene = span_cut(b->f[F_SYMBOL], field_len(b->f[F_SYMBOL]), GENE_MAX);
    out->cons = span_cut(b->f[F_CONS], b->cons_len, CONS_MAX);
    out->transcript = span_cut(b->f[F_FEATURE], field_len(b->f[F_FEATURE]), TRANSCRIPT_MAX);
    out->hgvsc = span_cut(b->f[F_HGVSC], field_len(b->f[F_HGVSC]), HGVS_MAX);
    out->hgvsp = span_cut(b->f[F_HGVSP], field_len(b->f[F_HGVSP]), HGVS_MAX);
    /* VEP escapes '=' in HGVSp as %3D: the first one is unescaped, in a copy */
    const char *h = out->hgvsp.s, *end = h + out->hgvsp.n, *pct = h;
    while ((pct = memchr(pct, '%', (size_t)(end - pct))) &&
           (end - pct < 3 || pct[1] != '3' || pct[2] != 'D'))
        pct++;
    if (pct) {
        size_t at = (size_t)(pct - h);
        memcpy(out->unescaped, h, at);
        out->unescaped[at] = '=';
        memcpy(out->unescaped + at + 1, pct + 3, out->hgvsp.n - at - 3);
        out->hgvsp = (struct span){out->unescaped, out->hgvsp.n - 2};
    }
}

/* --- plain-text VCF records ------------------------------------------------------------ */

/* A plain-text VCF read in large blocks, each block also fed to the file's SHA-256 (one read of
 * the file instead of two: no digest thread), its lines handed out in place (the header lines
 * too: read_line skips them, htslib has parsed them from its own handle). The buffer holds one
 * block plus the line being cut; a line may grow it up to TEXT_LINE_MAX. */
#define TEXT_BLOCK ((size_t)1 << 20)
#define TEXT_LINE_MAX ((size_t)64 << 20)

struct text_in {
    int fd; /* -1: not in use */
    char *buf;
    size_t cap, len, pos; /* buf[pos, len) is read and not yet handed out */
    size_t scanned;       /* buf[pos, scanned) has no newline: a long line is scanned once */
    bool eof;
    struct zg_sha256_ctx *sha; /* NULL when the digest is known */
};

static int text_open(struct text_in *t, const char *path, bool digest)
{
    t->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (t->fd < 0)
        return ZG_EIO;
    t->cap = 2 * TEXT_BLOCK;
    if (!(t->buf = malloc(t->cap)) || (digest && !(t->sha = zg_sha256_begin())))
        return ZG_ENOMEM;
    return 0;
}

static void text_close(struct text_in *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    free(t->buf);
    t->buf = NULL;
    zg_sha256_free(t->sha);
    t->sha = NULL;
}

/* The next line, NUL-terminated in place (without "\n" or "\r\n"). Returns 1, 0 at the end,
 * ZG_EIO when the file cannot be read, ZG_EINVAL for a line over TEXT_LINE_MAX, ZG_ENOMEM. */
static int text_line(struct text_in *t, char **line, size_t *len)
{
    for (;;) {
        size_t from = t->scanned > t->pos ? t->scanned : t->pos;
        char *nl = memchr(t->buf + from, '\n', t->len - from);
        if (!nl && t->eof && t->pos < t->len) { /* a last line without its newline */
            nl = t->buf + t->len;
            t->len++; /* room was kept for the terminator */
        }
        if (nl) {
            char *l = t->buf + t->pos;
            size_t n = (size_t)(nl - l);
            t->pos += n + 1;
            if (n && l[n - 1] == '\r')
                n--;
            l[n] = '\0';
            *line = l;
            *len = n;
            return 1;
        }
        if (t->eof)
            return 0;
        t->scanned = t->len;
        if (t->pos) { /* keep the unfinished line, at the front */
            memmove(t->buf, t->buf + t->pos, t->len - t->pos);
            t->len -= t->pos;
            t->scanned -= t->pos;
            t->pos = 0;
        }
        if (t->len > TEXT_LINE_MAX)
            return ZG_EINVAL;
        if (t->cap - t->len < TEXT_BLOCK + 1) {
            size_t cap = 2 * t->cap < TEXT_LINE_MAX + TEXT_BLOCK + 1
                             ? 2 * t->cap
                             : TEXT_LINE_MAX + TEXT_BLOCK + 1;
            char *nb = realloc(t->buf, cap);
            if (!nb)
                return ZG_ENOMEM;
            t->buf = nb;
            t->cap = cap;
        }
        ssize_t r;
        do
            r = read(t->fd, t->buf + t->len, TEXT_BLOCK);
        while (r < 0 && errno == EINTR);
        if (r < 0)
            return ZG_EIO;
        if (t->sha)
            zg_sha256_update(t->sha, t->buf + t->len, (size_t)r);
        t->len += (size_t)r;
        t->eof = r == 0;
    }
}

/* --- the import ----------------------------------------------------------------------- */

/* rows stored per multi-row statement */
#define GROUP 32

struct ingest {
    sqlite3 *db;
    bcf_hdr_t *h;
    const struct zg_import_opts *o;
    struct zg_import_result *res;
    struct ann_fmt ann;
    int sample;
    int64_t case_no, import_no;
    /* reused buffers (htslib style: caller-owned, grown by htslib) */
    char *abuf;
    int nabuf;
    /* text VCF: records are read as lines here (read_line; `text` for a plain-text file, else
     * htslib's reader into `line`), and with `lift` the annotation value is taken out of the
     * line before htslib parses the rest (lift_annotation); alen is its length, -1 none */
    bool lines, lift;
    int alen;
    kstring_t line;
    struct text_in text;
    float *fbuf;
    int nfbuf;
    int32_t *ibuf, *gt;
    int nibuf, ngt;
    char *sbuf;
    int nsbuf;
    struct ann_entry ents[MAX_ENTRIES];
    struct sev_cache sev;
    kstring_t ref, alt;
    htsFile *fp;
    sqlite3_stmt *site, *site_find, *site_annot, *row, *sv, *cnv;
    /* writer: contig codes of site keys, and where this import saw each gene */
    struct zg_contigs *contigs;
    char last_chrom[64];
    int last_code;
    char where[96]; /* "CHROM\tBIN" of the last span noted, for the bin's key */
    int64_t where_bin;
    int where_code;                      /* its contig's code (0: none yet) */
    struct pairs *spans, *genes, *terms; /* terms: consequence text → code (in lo) */
    /* the site of the row being stored: known before this import, its gene and class */
    bool site_known;
    int64_t site_first; /* a known site's first somatic carrier, -1 for none */
    sqlite3_stmt *site_first_set, *recurrent;
    const char *site_gene, *site_class; /* into the batch, or the copies below */
    bool site_coding;                   /* site_class is counted by TMB */
    /* GROUP-row statements (sites, calls) and the calls waiting for the second */
    sqlite3_stmt *sites_plain, *sites_multi, *rows_multi;
    int plain_fails, skip_plain; /* recent failed plain site inserts; groups to skip it */
    struct pending {
        size_t row;
        int64_t site;
    } pend[GROUP];
    size_t npend;
    char known_gene[64], known_class[24];
    /* new passing somatic calls of this import; those at sites already known */
    int64_t new_pass, new_coding;
    int64_t *shared;
    size_t nshared, cap_shared;
    /* germline summary */
    int64_t g_carried, g_snv, g_indel, g_pass, g_het, g_hom;
};

struct hasher {
    const char *path;
    char sha[65];
    struct zg_error err;
    int rc;
};

static void *hash_thread(void *arg)
{
    struct hasher *h = arg;
    zg_error_clear(&h->err);
    h->rc = zg_sha256_file(h->path, h->sha, &h->err);
    return NULL;
}

static int pick_sample(bcf_hdr_t *h, const char *want, struct zg_error *err)
{
    int ns = bcf_hdr_nsamples(h);
    if (want) {
        int i = bcf_hdr_id2int(h, BCF_DT_SAMPLE, want);
        if (i < 0)
            return zg_error_set(err, ZG_EINVAL, "sample", "no sample of this name in the file");
        return i;
    }
    if (ns == 0)
        return -1;
    bcf_hrec_t *hr = bcf_hdr_get_hrec(h, BCF_HL_GEN, "tumor_sample", NULL, NULL);
    if (hr && hr->value) {
        int i = bcf_hdr_id2int(h, BCF_DT_SAMPLE, hr->value);
        if (i >= 0)
            return i;
    }
    for (int i = 0; i < ns; i++) {
        const char *nm = h->samples[i];
        if (!strcasecmp(nm, "TUMOR") || !strcasecmp(nm, "TUMOUR"))
            return i;
    }
    return 0;
}

/* Trims the shared suffix then prefix (keeping one base each), moving pos. */
static void trim_alleles(kstring_t *r, kstring_t *a, int64_t *pos)
{
    while (r->l > 1 && a->l > 1 && r->s[r->l - 1] == a->s[a->l - 1]) {
        r->s[--r->l] = '\0';
        a->s[--a->l] = '\0';
    }
    size_t k = 0;
    while (r->l - k > 1 && a->l - k > 1 && r->s[k] == a->s[k])
        k++;
    if (k) {
        memmove(r->s, r->s + k, r->l - k + 1);
        memmove(a->s, a->s + k, a->l - k + 1);
        r->l -= k;
        a->l -= k;
        *pos += (int64_t)k;
    }
}

static bool symbolic(const char *alt)
{
    return alt[0] == '<' || strchr(alt, '[') || strchr(alt, ']') || !strcmp(alt, "*") ||
           !strcmp(alt, ".");
}

/* VAF and depth of allele ai (1-based) in the chosen sample from AF, AD, DP or Strelka tiers. */
static void vaf_depth(struct ingest *g, bcf1_t *rec, int ai, const char *ref, const char *alt,
                      double *vaf, int64_t *depth, int64_t *alt_depth)
{
    *vaf = -1;
    *depth = -1;
    *alt_depth = -1;
    if (g->sample < 0)
        return;
    int s = g->sample, nalt = rec->n_allele - 1, n;
    n = bcf_get_format_float(g->h, rec, "AF", &g->fbuf, &g->nfbuf);
    if (n >= (s + 1) * nalt && nalt > 0) {
        float f = g->fbuf[s * (n / bcf_hdr_nsamples(g->h)) + ai - 1];
        if (!bcf_float_is_missing(f) && !bcf_float_is_vector_end(f))
            *vaf = f;
    }
    n = bcf_get_format_int32(g->h, rec, "AD", &g->ibuf, &g->nibuf);
    if (n > 0) {
        int per = n / bcf_hdr_nsamples(g->h);
        if (per > ai) {
            int64_t sum = 0;
            for (int k = 0; k < per; k++) {
                int32_t v = g->ibuf[s * per + k];
                if (v != bcf_int32_missing && v != bcf_int32_vector_end && v > 0)
                    sum += v;
            }
            int32_t av = g->ibuf[s * per + ai];
            if (av != bcf_int32_missing && av >= 0) {
                *alt_depth = av;
                *depth = sum;
                if (*vaf < 0 && sum > 0)
                    *vaf = (double)av / (double)sum;
            }
        }
    }
    if (*alt_depth < 0 && strlen(ref) == 1 && strlen(alt) == 1) {
        /* Strelka2 SNVs: tier-1 counts in AU/CU/GU/TU */
        static const char *const tags[4] = {"AU", "CU", "GU", "TU"};
        int64_t cnt[4] = {0}, sum = 0;
        bool ok = true;
        for (int b = 0; b < 4 && ok; b++) {
            n = bcf_get_format_int32(g->h, rec, tags[b], &g->ibuf, &g->nibuf);
            ok = n >= 2 * bcf_hdr_nsamples(g->h);
            if (ok)
                cnt[b] = g->ibuf[s * 2] > 0 ? g->ibuf[s * 2] : 0;
            sum += cnt[b];
        }
        if (ok && sum > 0) {
            const char *acgt = "ACGT", *p = strchr(acgt, alt[0]);
            if (p) {
                *alt_depth = cnt[p - acgt];
                *depth = sum;
                *vaf = (double)*alt_depth / (double)sum;
            }
        }
    }
    if (*alt_depth < 0) {
        /* Strelka2 indels: TIR/TAR tier 1 */
        int nt = bcf_get_format_int32(g->h, rec, "TIR", &g->ibuf, &g->nibuf);
        if (nt >= 2 * bcf_hdr_nsamples(g->h)) {
            int64_t tir = g->ibuf[s * 2];
            nt = bcf_get_format_int32(g->h, rec, "TAR", &g->ibuf, &g->nibuf);
            if (nt >= 2 * bcf_hdr_nsamples(g->h) && tir >= 0 && tir + g->ibuf[s * 2] > 0) {
                *alt_depth = tir;
                *depth = tir + g->ibuf[s * 2];
                *vaf = (double)tir / (double)*depth;
            }
        }
    }
    n = bcf_get_format_int32(g->h, rec, "DP", &g->ibuf, &g->nibuf);
    if (n >= bcf_hdr_nsamples(g->h)) {
        int32_t v = g->ibuf[s * (n / bcf_hdr_nsamples(g->h))];
        if (v != bcf_int32_missing && v >= 0)
            *depth = v;
    }
}

/* The record's filters joined by ';' ("." for none), cut to fit out[n] (n >= 2). */
static void filter_text(bcf_hdr_t *h, bcf1_t *rec, char *out, size_t n)
{
    size_t l = 0;
    if (rec->d.n_flt == 0)
        out[l++] = '.';
    for (int i = 0; i < rec->d.n_flt && l + 2 < n; i++) {
        if (i)
            out[l++] = ';';
        const char *f = bcf_hdr_int2id(h, BCF_DT_ID, rec->d.flt[i]);
        size_t len = strlen(f), room = n - 1 - l;
        if (len > room)
            len = room;
        memcpy(out + l, f, len);
        l += len;
    }
    out[l] = '\0';
}

static int step_done(sqlite3 *db, sqlite3_stmt *st, struct zg_error *err)
{
    int r = sqlite3_step(st);
    int rc = (r == SQLITE_DONE || r == SQLITE_ROW) ? 0 : zg_db_fail(db, r, err);
    sqlite3_reset(st);
    return rc;
}

/* --- small variants: a two-stage pipeline ---------------------------------------------
 * A parser thread reads records with htslib, splits and trims alleles, picks the annotation
 * and reads VAF/depth into batches of plain rows; the calling thread (which owns the SQLite
 * connection) stores them. Memory is bounded: QUEUE_DEPTH batches of at most BATCH_ROWS rows
 * (text grows past BATCH_TEXT only for a single oversized record). */
#define BATCH_ROWS 4096
#define BATCH_TEXT (1u << 22)
#define QUEUE_DEPTH 4

struct row {
    int64_t pos, depth, alt_depth;
    double vaf;
    /* offsets of NUL-terminated strings in the batch text */
    size_t chrom, ref, alt, filter, gene, cons, transcript, hgvsc, hgvsp;
    bool hgvsc_cut; /* hgvsc is what follows the transcript in the file's HGVSc (migration 8) */
    bool pass;      /* FILTER is PASS or "." */
    enum zg_alt_class cls;
    const char *zygosity; /* germline: "het", "hom", "hemi" (static strings) */
    int64_t cons_code;    /* the writer's: consequence as its genome_terms code (0: none) */
};

struct batch {
    struct row *rows;
    size_t n, cap;
    char *text;
    size_t tlen, tcap;
    int64_t records; /* records read when the batch was handed over (progress) */
};

struct pipe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct batch b[QUEUE_DEPTH];
    struct batch *full[QUEUE_DEPTH], *free[QUEUE_DEPTH];
    size_t full_head, nfull, nfree;
    bool done, abort;
    int rc; /* the parser's result, err its reason */
    struct zg_error err;
};

static int pipe_init(struct pipe *p)
{
    memset(p, 0, sizeof(*p));
    for (size_t i = 0; i < QUEUE_DEPTH; i++) {
        /* small imports (one case's somatic calls) stay small; batches grow on demand */
        p->b[i].cap = 256;
        p->b[i].rows = malloc(p->b[i].cap * sizeof(struct row));
        p->b[i].tcap = 1u << 16;
        p->b[i].text = malloc(p->b[i].tcap);
        if (!p->b[i].rows || !p->b[i].text)
            return ZG_ENOMEM;
        p->free[p->nfree++] = &p->b[i];
    }
    if (pthread_mutex_init(&p->mu, NULL))
        return ZG_ENOMEM;
    if (pthread_cond_init(&p->cv, NULL)) {
        pthread_mutex_destroy(&p->mu);
        return ZG_ENOMEM;
    }
    return 0;
}

static void pipe_destroy(struct pipe *p, bool sync)
{
    if (sync) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
    }
    for (size_t i = 0; i < QUEUE_DEPTH; i++) {
        free(p->b[i].rows);
        free(p->b[i].text);
    }
}

/* Parser: an empty batch to fill, NULL when the writer gave up. */
static struct batch *pipe_take_free(struct pipe *p)
{
    pthread_mutex_lock(&p->mu);
    while (!p->nfree && !p->abort)
        pthread_cond_wait(&p->cv, &p->mu);
    struct batch *b = p->abort ? NULL : p->free[--p->nfree];
    pthread_mutex_unlock(&p->mu);
    if (b) {
        b->n = 0;
        b->tlen = 0;
    }
    return b;
}

static void pipe_put_full(struct pipe *p, struct batch *b)
{
    pthread_mutex_lock(&p->mu);
    p->full[(p->full_head + p->nfull++) % QUEUE_DEPTH] = b;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Writer: the next filled batch, NULL at the end of the input (or a parser error). */
static struct batch *pipe_take_full(struct pipe *p)
{
    pthread_mutex_lock(&p->mu);
    while (!p->nfull && !p->done)
        pthread_cond_wait(&p->cv, &p->mu);
    struct batch *b = NULL;
    if (p->nfull) {
        b = p->full[p->full_head];
        p->full_head = (p->full_head + 1) % QUEUE_DEPTH;
        p->nfull--;
    }
    pthread_mutex_unlock(&p->mu);
    return b;
}

static void pipe_put_free(struct pipe *p, struct batch *b)
{
    pthread_mutex_lock(&p->mu);
    p->free[p->nfree++] = b;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void pipe_finish(struct pipe *p, bool abort)
{
    pthread_mutex_lock(&p->mu);
    if (abort)
        p->abort = true;
    else
        p->done = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static int grow_text(struct batch *b, size_t n, struct zg_error *err)
{
    size_t cap = b->tcap * 2 > b->tlen + n ? b->tcap * 2 : b->tlen + n;
    char *t = realloc(b->text, cap);
    if (!t)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    b->text = t;
    b->tcap = cap;
    return 0;
}

/* Appends s[0..len) and a NUL to the batch text; its offset goes to *off. Nine per row: inline,
 * with the growth out of line. */
static inline int put_text(struct batch *b, const char *s, size_t len, size_t *off,
                           struct zg_error *err)
{
    size_t n = len + 1;
    int rc;
    if (b->tlen + n > b->tcap && (rc = grow_text(b, n, err)))
        return rc;
    if (len)
        memcpy(b->text + b->tlen, s, len);
    b->text[b->tlen + len] = '\0';
    *off = b->tlen;
    b->tlen += n;
    return 0;
}

static void fallback_gene(struct ingest *g, const char *chrom, int64_t pos, int64_t end,
                          struct pick *pk)
{
    const char *names[4];
    size_t n = zg_gene_model_overlaps(g->o->genes, chrom, pos, end, names, 4);
    if (n) {
        pk->gene = span_cut(names[0], strlen(names[0]), GENE_MAX);
        pk->cons = span_cut("gene_overlap", strlen("gene_overlap"), CONS_MAX);
        pk->cls = ZG_AC_OTHER;
    }
}

/* Copies the record's annotation into g->abuf, NUL-terminated (bcf_get_info_string without
 * looking the tag up by name for every record). Returns its length, 0 when the record has
 * none, or ZG_ENOMEM. */
static int ann_value(struct ingest *g, bcf1_t *rec)
{
    if (g->lift)
        return g->alen > 0 ? g->alen : 0;
    bcf_info_t *info = g->ann.id >= 0 ? bcf_get_info_id(rec, g->ann.id) : NULL;
    if (!info || !info->vptr || info->len <= 0)
        return 0;
    if (g->nabuf < info->len + 1) {
        char *p = realloc(g->abuf, (size_t)info->len + 1);
        if (!p)
            return ZG_ENOMEM;
        g->abuf = p;
        g->nabuf = info->len + 1;
    }
    memcpy(g->abuf, info->vptr, (size_t)info->len);
    g->abuf[info->len] = '\0';
    return info->len;
}

/* Parser side of a somatic or germline SNV/indel record: its stored alleles become rows. */
static int prepare_small(struct ingest *g, bcf1_t *rec, const char *chrom, struct batch *b,
                         struct zg_error *err)
{
    int nalt = rec->n_allele - 1;
    int nents = 0, len = g->ann.kind != ANN_NONE ? ann_value(g, rec) : 0;
    if (len < 0)
        return zg_error_set(err, len, "", "out of memory");
    if (len > 0)
        nents = ann_parse(&g->ann, g->abuf, g->ents, &g->sev);
    char filter[128];
    filter_text(g->h, rec, filter, sizeof(filter));
    bool pass = !strcmp(filter, "PASS") || !strcmp(filter, ".");
    int ngt = 0, ploidy = 0;
    if (g->o->kind == ZG_VK_GERMLINE && g->sample >= 0) {
        ngt = bcf_get_genotypes(g->h, rec, &g->gt, &g->ngt);
        ploidy = ngt > 0 ? ngt / bcf_hdr_nsamples(g->h) : 0;
    }
    size_t chrom_off = SIZE_MAX, filter_off = SIZE_MAX;
    for (int ai = 1; ai <= nalt; ai++) {
        const char *alt0 = rec->d.allele[ai];
        if (symbolic(alt0))
            continue;
        g->res->alleles++;
        int zyg = 0;
        if (g->o->kind == ZG_VK_GERMLINE) {
            if (ploidy <= 0)
                continue;
            for (int k = 0; k < ploidy; k++) {
                int32_t v = g->gt[g->sample * ploidy + k];
                if (v != bcf_int32_vector_end && !bcf_gt_is_missing(v) && bcf_gt_allele(v) == ai)
                    zyg++;
            }
            if (!zyg)
                continue;
        }
        g->ref.l = g->alt.l = 0;
        if (kputs(rec->d.allele[0], &g->ref) < 0 || kputs(alt0, &g->alt) < 0)
            return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        int64_t pos = rec->pos + 1;
        trim_alleles(&g->ref, &g->alt, &pos);
        struct pick pk;
        pick_clear(&pk);
        if (nents)
            choose(&g->ann, g->ents, nents, ai, rec->d.allele[0], alt0, nalt, &pk);
        if (pk.annotated)
            g->res->annotated++;
        else
            fallback_gene(g, chrom, pos, pos + (int64_t)g->ref.l - 1, &pk);
        bool indel = g->ref.l != g->alt.l;
        if (g->o->kind == ZG_VK_GERMLINE) {
            g->g_carried++;
            indel ? g->g_indel++ : g->g_snv++;
            if (pass)
                g->g_pass++;
            zyg >= 2 ? g->g_hom++ : g->g_het++;
            /* per-case germline rows only for truncating/splice calls (docs/genome.md) */
            if (pk.cls != ZG_AC_TRUNCATING && pk.cls != ZG_AC_SPLICE)
                continue;
        }
        if (b->n == b->cap) {
            struct row *nr = realloc(b->rows, 2 * b->cap * sizeof(*nr));
            if (!nr)
                return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
            b->rows = nr;
            b->cap *= 2;
        }
        struct row *r = &b->rows[b->n];
        /* "ENST….9:c.215C>G" is stored as ".9:c.215C>G" after the transcript "ENST…" */
        size_t cut = pk.transcript.n;
        r->hgvsc_cut = cut && pk.hgvsc.n > cut && !memcmp(pk.hgvsc.s, pk.transcript.s, cut) &&
                       (pk.hgvsc.s[cut] == '.' || pk.hgvsc.s[cut] == ':');
        if (!r->hgvsc_cut)
            cut = 0;
        int rc = 0;
        if (chrom_off == SIZE_MAX && ((rc = put_text(b, chrom, strlen(chrom), &chrom_off, err)) ||
                                      (rc = put_text(b, filter, strlen(filter), &filter_off, err))))
            return rc;
        if ((rc = put_text(b, g->ref.s, g->ref.l, &r->ref, err)) ||
            (rc = put_text(b, g->alt.s, g->alt.l, &r->alt, err)) ||
            (rc = put_text(b, pk.gene.s, pk.gene.n, &r->gene, err)) ||
            (rc = put_text(b, pk.cons.s, pk.cons.n, &r->cons, err)) ||
            (rc = put_text(b, pk.transcript.s, pk.transcript.n, &r->transcript, err)) ||
            (rc = put_text(b, pk.hgvsc.s + cut, pk.hgvsc.n - cut, &r->hgvsc, err)) ||
            (rc = put_text(b, pk.hgvsp.s, pk.hgvsp.n, &r->hgvsp, err)))
            return rc;
        r->chrom = chrom_off;
        r->filter = filter_off;
        r->pass = pass;
        r->pos = pos;
        r->cls = pk.cls;
        r->zygosity = zyg >= 2 ? (ploidy == 1 ? "hemi" : "hom") : "het";
        vaf_depth(g, rec, ai, rec->d.allele[0], alt0, &r->vaf, &r->depth, &r->alt_depth);
        b->n++;
    }
    return 0;
}

/* Pairs of strings with a position range, collected while storing and written at the end:
 * where this import saw each gene per contig (merged into genome_gene_spans, the gene →
 * site-key ranges that Beacon and variant queries use), and the gene × class pairs of its new
 * passing calls (genome_import_genes, what the cohort index adds). Open addressing. */
struct pair {
    char *key; /* "A\tB" */
    int64_t lo, hi;
};
#define MAX_PAIRS (1 << 20)

struct pairs {
    struct pair *v;
    size_t n, cap; /* cap is a power of two */
    struct pair *last;
};

static int pairs_grow(struct pairs *sp)
{
    size_t cap = sp->cap ? 2 * sp->cap : 1024;
    struct pair *v = calloc(cap, sizeof(*v));
    if (!v)
        return ZG_ENOMEM;
    for (size_t i = 0; i < sp->cap; i++) {
        if (!sp->v[i].key)
            continue;
        size_t j = zg_str_hash(sp->v[i].key) & (cap - 1);
        while (v[j].key)
            j = (j + 1) & (cap - 1);
        v[j] = sp->v[i];
    }
    free(sp->v);
    sp->v = v;
    sp->cap = cap;
    sp->last = NULL;
    return 0;
}

/* The entry of the pair (a, b), *created when new (lo = hi = pos); NULL when out of memory or
 * too long to be a name (*created false). */
static struct pair *pairs_find(struct pairs *sp, const char *a, const char *b, int64_t pos,
                               bool *created)
{
    size_t la = strlen(a), lb = strlen(b);
    struct pair *e = sp->last;
    *created = false;
    /* rows come in position order: mostly the same pair as the row before */
    if (e && !strncmp(e->key, a, la) && e->key[la] == '\t' && !strcmp(e->key + la + 1, b))
        return e;
    char key[200];
    if (la + lb + 2 > sizeof(key))
        return NULL;
    memcpy(key, a, la);
    key[la] = '\t';
    memcpy(key + la + 1, b, lb + 1);
    if (2 * (sp->n + 1) > sp->cap && pairs_grow(sp))
        return NULL;
    size_t j = zg_str_hash(key) & (sp->cap - 1);
    while (sp->v[j].key && strcmp(sp->v[j].key, key))
        j = (j + 1) & (sp->cap - 1);
    e = &sp->v[j];
    if (!e->key) {
        if (!(e->key = strdup(key)))
            return NULL;
        e->lo = e->hi = pos;
        sp->n++;
        *created = true;
    }
    sp->last = e;
    return e;
}

/* Notes (a, b) at pos. ZG_ETOOBIG past MAX_PAIRS distinct pairs (a crafted file must not grow
 * the writer's memory without bound), ZG_ENOMEM. */
static int pairs_note(struct pairs *sp, const char *a, const char *b, int64_t pos)
{
    bool created;
    if (sp->n >= MAX_PAIRS)
        return ZG_ETOOBIG;
    struct pair *e = pairs_find(sp, a, b, pos, &created);
    if (!e) /* too long for a gene name: nothing to record */
        return strlen(a) + strlen(b) + 2 > 200 ? 0 : ZG_ENOMEM;
    if (pos < e->lo)
        e->lo = pos;
    if (pos > e->hi)
        e->hi = pos;
    return 0;
}

/* The genome_terms code of a consequence text (0 for none), added when new. Consequence lists
 * repeat endlessly across sites ("intron_variant", "missense_variant&splice_region_variant"):
 * a site stores the code, not the text. */
static int term_code(struct ingest *g, const char *text, int64_t *code, struct zg_error *err)
{
    *code = 0;
    if (!*text)
        return 0;
    bool created;
    if (g->terms->n >= MAX_PAIRS)
        return zg_error_set(err, ZG_ETOOBIG, "consequence", "over %d distinct consequence texts",
                            MAX_PAIRS);
    struct pair *e = pairs_find(g->terms, text, "", 0, &created);
    if (!e)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    if (created) {
        sqlite3_stmt *st =
            zg_db_prepare(g->db, "INSERT INTO genome_terms(text) VALUES(?) RETURNING code", err);
        if (!st)
            return err->code;
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
        int r = sqlite3_step(st);
        e->lo = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        while (r == SQLITE_ROW)
            r = sqlite3_step(st);
        zg_db_release(st);
        if (r != SQLITE_DONE)
            return zg_db_fail(g->db, r, err);
    }
    *code = e->lo;
    return 0;
}

static int terms_load(struct ingest *g, struct zg_error *err)
{
    if (!(g->terms = calloc(1, sizeof(*g->terms))))
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    sqlite3_stmt *st = zg_db_prepare(g->db, "SELECT code, text FROM genome_terms", err);
    if (!st)
        return err->code;
    int r, rc = 0;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        bool created;
        struct pair *e = pairs_find(g->terms, zg_db_text(st, 1), "", 0, &created);
        if (e)
            e->lo = sqlite3_column_int64(st, 0);
        else if (strlen(zg_db_text(st, 1)) < 190)
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    }
    if (!rc && r != SQLITE_DONE)
        rc = zg_db_fail(g->db, r, err);
    zg_db_release(st);
    return rc;
}

static void pairs_free(struct pairs *sp)
{
    if (!sp)
        return;
    for (size_t i = 0; i < sp->cap; i++)
        free(sp->v[i].key);
    free(sp->v);
    free(sp);
}

/* Writes each pair with sql: parameters (A, B, lo, hi), or (import, A, B) when by_import. */
static int pairs_store(struct ingest *g, const struct pairs *sp, const char *sql, bool by_import,
                       struct zg_error *err)
{
    if (!sp || !sp->n)
        return 0;
    sqlite3_stmt *st = zg_db_prepare(g->db, sql, err);
    if (!st)
        return err->code;
    int rc = 0;
    for (size_t i = 0; i < sp->cap && !rc; i++) {
        const struct pair *e = &sp->v[i];
        if (!e->key)
            continue;
        const char *tab = strchr(e->key, '\t');
        int k = by_import ? 2 : 1;
        if (by_import)
            sqlite3_bind_int64(st, 1, g->import_no);
        sqlite3_bind_text(st, k, e->key, (int)(tab - e->key), SQLITE_STATIC);
        sqlite3_bind_text(st, k + 1, tab + 1, -1, SQLITE_STATIC);
        if (!by_import) {
            sqlite3_bind_int64(st, 3, e->lo);
            sqlite3_bind_int64(st, 4, e->hi);
        }
        rc = step_done(g->db, st, err);
    }
    zg_db_release(st);
    return rc;
}

/* What the cohort index and gene queries need of this import, written before the commit. */
static int store_summaries(struct ingest *g, struct zg_error *err)
{
    int rc = pairs_store(g, g->spans,
                         "INSERT INTO genome_gene_spans(gene, chrom, bin, lo, hi)"
                         " VALUES(?1, substr(?2, 1, instr(?2, char(9)) - 1),"
                         " CAST(substr(?2, instr(?2, char(9)) + 1) AS INTEGER), ?3, ?4)"
                         " ON CONFLICT(gene, chrom, bin) DO UPDATE SET lo = min(lo, excluded.lo),"
                         " hi = max(hi, excluded.hi)",
                         false, err);
    if (rc || g->o->kind != ZG_VK_SOMATIC)
        return rc;
    if ((rc = pairs_store(g, g->genes,
                          "INSERT OR IGNORE INTO genome_import_genes(import_no, gene, class)"
                          " VALUES(?, ?, ?)",
                          true, err)))
        return rc;
    if (!g->nshared)
        return 0;
    sqlite3_stmt *st = zg_db_prepare(
        g->db, "INSERT OR IGNORE INTO genome_import_shared(import_no, site_no) VALUES(?, ?)", err);
    if (!st)
        return err->code;
    for (size_t i = 0; i < g->nshared && !rc; i++) {
        sqlite3_bind_int64(st, 1, g->import_no);
        sqlite3_bind_int64(st, 2, g->shared[i]);
        rc = step_done(g->db, st, err);
    }
    zg_db_release(st);
    return rc;
}

/* A site row's class code (migration 8): 0 without a gene, else 1 + the class. */
static int class_code(const char *t, const struct row *w)
{
    return t[w->gene] ? (int)w->cls + 1 : 0;
}

/* Binds a row's annotation (7 parameters from first: gene, cons, class_code, transcript,
 * hgvsc_cut, hgvsc_rest, hgvsp). */
static void bind_annotation(sqlite3_stmt *st, int first, const char *t, const struct row *w)
{
    sqlite3_bind_text(st, first, t + w->gene, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, first + 1, w->cons_code);
    sqlite3_bind_int(st, first + 2, class_code(t, w));
    sqlite3_bind_text(st, first + 3, t + w->transcript, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, first + 4, w->hgvsc_cut);
    sqlite3_bind_text(st, first + 5, t + w->hgvsc, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, first + 6, t + w->hgvsp, -1, SQLITE_STATIC);
}

/* Inserts the site with number key; *added tells whether it was new. */
/* A new site's first somatic carrier: this case for a somatic import, none otherwise. */
static void bind_first_case(const struct ingest *g, sqlite3_stmt *st, int k)
{
    if (g->o->kind == ZG_VK_SOMATIC)
        sqlite3_bind_int64(st, k, g->case_no);
    else
        sqlite3_bind_null(st, k);
}

static int insert_site(struct ingest *g, const struct batch *b, const struct row *w, int64_t key,
                       bool *added, struct zg_error *err)
{
    const char *t = b->text;
    sqlite3_stmt *st = g->site;
    sqlite3_bind_int64(st, 1, key);
    sqlite3_bind_text(st, 2, t + w->chrom, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, t + w->ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, t + w->alt, -1, SQLITE_STATIC);
    bind_annotation(st, 5, t, w);
    bind_first_case(g, st, 12);
    int rc = step_done(g->db, st, err);
    *added = !rc && sqlite3_changes(g->db) == 1;
    return rc;
}

/* Notes the row's gene in the spans (within its contig's 1 Mb bin) once the row's annotation
 * is the site's: a new site, or a known one annotated by this row. */
static int note_span(struct ingest *g, const struct batch *b, const struct row *w, int64_t site_no,
                     struct zg_error *err)
{
    const char *t = b->text;
    if (!t[w->gene])
        return 0;
    int code = (int)(site_no >> (ZG_SITE_POS_BITS + ZG_SITE_ORD_BITS));
    if (w->pos >> 20 != g->where_bin || code != g->where_code) {
        g->where_bin = w->pos >> 20;
        g->where_code = code;
        snprintf(g->where, sizeof(g->where), "%s\t%lld", t + w->chrom, (long long)g->where_bin);
    }
    int rc = pairs_note(g->spans, t + w->gene, g->where, w->pos);
    return rc ? zg_error_set(err, rc, "gene", "over %d distinct genes in one import", MAX_PAIRS)
              : 0;
}

/* The ordinal-0 key of a row's site (its contig code and position checked), and its
 * consequence code. */
static int site_base(struct ingest *g, const struct batch *b, struct row *w, int64_t *base,
                     struct zg_error *err)
{
    const char *t = b->text;
    int rc;
    if (!g->last_code || strcmp(g->last_chrom, t + w->chrom)) { /* code 0: nothing cached */
        size_t len = strlen(t + w->chrom);
        if (len >= sizeof(g->last_chrom))
            return zg_error_set(err, ZG_EINVAL, "chrom", "a contig name is over 63 characters");
        if ((rc = zg_contigs_code(g->contigs, g->db, t + w->chrom, true, &g->last_code, err)))
            return rc;
        memcpy(g->last_chrom, t + w->chrom, len + 1);
    }
    if (w->pos < 0 || w->pos > ZG_SITE_MAX_POS) /* VCF allows 0 (telomere) */
        return zg_error_set(err, ZG_EINVAL, "pos",
                            "a position beyond %lld on contig %s is not supported",
                            (long long)ZG_SITE_MAX_POS, t + w->chrom);
    *base = zg_site_key(g->last_code, w->pos, 0);
    return term_code(g, t + w->cons, &w->cons_code, err);
}

static const char *row_class(const struct batch *b, const struct row *w)
{
    return b->text[w->gene] ? zg_alt_class_name(w->cls) : "";
}

/* Whether row_class is a small coding alteration (zg_alt_class_coding, without the names). */
static bool row_coding(const struct batch *b, const struct row *w)
{
    return b->text[w->gene] && zg_alt_class_is_coding(w->cls);
}

/* A row whose ordinal-0 key base is taken: its site among those at the position, else a new
 * one with the next free ordinal. */
static int resolve_site(struct ingest *g, const struct batch *b, const struct row *w, int64_t base,
                        int64_t *site_no, struct zg_error *err)
{
    const char *t = b->text;
    const char *cls = row_class(b, w);
    int rc;
    bool added = false;
    g->site_known = false;
    g->site_gene = t + w->gene;
    g->site_class = cls;
    g->site_coding = row_coding(b, w);
    /* other alleles at this position: this one, or the next free ordinal */
    sqlite3_stmt *st = g->site_find;
    sqlite3_bind_int64(st, 1, base);
    sqlite3_bind_int64(st, 2, base + ZG_SITE_MAX_ORD);
    int r;
    int64_t found = -1, last = base;
    bool annotate = false;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        last = sqlite3_column_int64(st, 0);
        if (!strcmp(zg_db_text(st, 1), t + w->ref) && !strcmp(zg_db_text(st, 2), t + w->alt)) {
            found = last;
            annotate = !*zg_db_text(st, 3) && t[w->gene];
            g->site_first =
                sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5);
            if (!annotate) { /* the calls of a site count under its stored annotation */
                snprintf(g->known_gene, sizeof(g->known_gene), "%s", zg_db_text(st, 3));
                snprintf(g->known_class, sizeof(g->known_class), "%s", zg_db_text(st, 4));
                g->site_gene = g->known_gene;
                g->site_class = g->known_class;
                g->site_coding = zg_alt_class_coding(g->known_class);
            }
            break;
        }
    }
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return zg_db_fail(g->db, r, err);
    if (found < 0) {
        if (last - base >= ZG_SITE_MAX_ORD)
            return zg_error_set(err, ZG_EINVAL, "alt", "too many distinct alleles at %s:%lld",
                                t + w->chrom, (long long)w->pos);
        if ((rc = insert_site(g, b, w, last + 1, &added, err)))
            return rc;
        if (!added)
            return zg_db_fail(g->db, SQLITE_CORRUPT, err);
        *site_no = last + 1;
        return note_span(g, b, w, *site_no, err);
    }
    *site_no = found;
    g->site_known = true;
    if (!annotate)
        return 0;
    st = g->site_annot;
    sqlite3_bind_int64(st, 1, found);
    bind_annotation(st, 2, t, w);
    return (rc = step_done(g->db, st, err)) ? rc : note_span(g, b, w, found, err);
}

/* The distinct variant of a row (its site key, sitekey.h): inserted when new; a known one
 * without a gene is annotated when this file names one. */
static int upsert_site(struct ingest *g, const struct batch *b, struct row *w, int64_t *site_no,
                       struct zg_error *err)
{
    int64_t base;
    bool added = false;
    const char *cls = row_class(b, w);
    int rc = site_base(g, b, w, &base, err);
    if (rc || (rc = insert_site(g, b, w, base, &added, err)))
        return rc;
    if (!added)
        return resolve_site(g, b, w, base, site_no, err);
    g->site_known = false;
    g->site_gene = b->text + w->gene;
    g->site_class = cls;
    g->site_coding = row_coding(b, w);
    *site_no = base;
    return note_span(g, b, w, base, err);
}

/* Binds a row's call (7 parameters from k). */
static void bind_call(struct ingest *g, sqlite3_stmt *st, int k, const struct batch *b,
                      const struct row *w, int64_t site_no)
{
    sqlite3_bind_int64(st, k, g->case_no);
    sqlite3_bind_int64(st, k + 1, site_no);
    sqlite3_bind_int64(st, k + 2, g->import_no);
    sqlite3_bind_text(st, k + 3, b->text + w->filter, -1, SQLITE_STATIC);
    if (w->vaf >= 0)
        sqlite3_bind_double(st, k + 4, w->vaf);
    else
        sqlite3_bind_null(st, k + 4);
    if (w->depth >= 0)
        sqlite3_bind_int64(st, k + 5, w->depth);
    else
        sqlite3_bind_null(st, k + 5);
    if (g->o->kind == ZG_VK_GERMLINE)
        sqlite3_bind_text(st, k + 6, w->zygosity, -1, SQLITE_STATIC);
    else if (w->alt_depth >= 0)
        sqlite3_bind_int64(st, k + 6, w->alt_depth);
    else
        sqlite3_bind_null(st, k + 6);
}

/* Accounts for a call just stored (site_known, site_gene and site_class describe its site):
 * the case's counts, the gene × class pairs, the calls at sites known before. */
static int call_stored(struct ingest *g, const struct batch *b, const struct row *w,
                       int64_t site_no, struct zg_error *err)
{
    g->res->stored++;
    if (g->o->kind != ZG_VK_SOMATIC || !w->pass)
        return 0;
    g->new_pass++;
    if (g->site_coding)
        g->new_coding++;
    int rc = g->site_gene[0] ? pairs_note(g->genes, g->site_gene, g->site_class, 0) : 0;
    if (rc)
        return zg_error_set(err, rc, "gene", "over %d distinct genes in one import", MAX_PAIRS);
    if (g->site_known) {
        if (g->nshared == g->cap_shared) {
            size_t cap = g->cap_shared ? 2 * g->cap_shared : 256;
            int64_t *v = realloc(g->shared, cap * sizeof(*v));
            if (!v)
                return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
            g->shared = v;
            g->cap_shared = cap;
        }
        g->shared[g->nshared++] = site_no;
    }
    return 0;
}

/* A new somatic call at a known site: the site's first carrier when it has none yet (a
 * germline-only site), else the site and all its carriers so far are recurrent. */
static int note_carrier(struct ingest *g, int64_t site_no, struct zg_error *err)
{
    sqlite3_stmt *st;
    if (g->site_first < 0) {
        st = g->site_first_set;
        sqlite3_bind_int64(st, 1, g->case_no);
        sqlite3_bind_int64(st, 2, site_no);
        return step_done(g->db, st, err);
    }
    st = g->recurrent;
    sqlite3_bind_int64(st, 1, site_no);
    sqlite3_bind_int64(st, 2, g->site_first);
    sqlite3_bind_int64(st, 3, g->case_no);
    return step_done(g->db, st, err);
}

/* A call at a site that may already carry this case's call: one statement, kept if new. */
static int store_call(struct ingest *g, const struct batch *b, const struct row *w, int64_t site_no,
                      struct zg_error *err)
{
    /* the same variant again in this file, its first call still waiting to be written */
    for (size_t i = 0; i < g->npend; i++)
        if (g->pend[i].site == site_no)
            return 0;
    bind_call(g, g->row, 1, b, w, site_no);
    int rc = step_done(g->db, g->row, err);
    if (rc || sqlite3_changes(g->db) != 1) /* else the case already has this call */
        return rc;
    if (g->site_known && g->o->kind == ZG_VK_SOMATIC && (rc = note_carrier(g, site_no, err)))
        return rc;
    return call_stored(g, b, w, site_no, err);
}

/* Writer side: one row into its site and the case's call table. */
static int store_row(struct ingest *g, const struct batch *b, struct row *w, struct zg_error *err)
{
    int64_t site_no = 0;
    int rc = upsert_site(g, b, w, &site_no, err);
    return rc ? rc : store_call(g, b, w, site_no, err);
}

/* Calls at sites new to this import wait here and go in GROUP at a time (a new site has no
 * call yet, so each is stored). */
static int flush_calls(struct ingest *g, const struct batch *b, struct zg_error *err)
{
    if (g->npend == GROUP) {
        for (size_t i = 0; i < GROUP; i++)
            bind_call(g, g->rows_multi, (int)(7 * i + 1), b, &b->rows[g->pend[i].row],
                      g->pend[i].site);
        int rc = step_done(g->db, g->rows_multi, err);
        if (rc)
            return rc;
    } else {
        for (size_t i = 0; i < g->npend; i++) {
            bind_call(g, g->row, 1, b, &b->rows[g->pend[i].row], g->pend[i].site);
            int rc = step_done(g->db, g->row, err);
            if (rc)
                return rc;
            if (sqlite3_changes(g->db) != 1) /* it was counted when queued */
                return zg_error_set(err, ZG_EINTERNAL, "", "a queued call was not new");
        }
    }
    g->npend = 0;
    return 0;
}

/* Binds the sites of a group's rows to st (12 parameters a row). */
static void bind_sites(const struct ingest *g, sqlite3_stmt *st, const struct batch *b,
                       const size_t *idx, const int64_t *base)
{
    for (size_t i = 0; i < GROUP; i++) {
        const struct row *w = &b->rows[idx[i]];
        int k = (int)(12 * i + 1);
        sqlite3_bind_int64(st, k, base[i]);
        sqlite3_bind_text(st, k + 1, b->text + w->chrom, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, k + 2, b->text + w->ref, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, k + 3, b->text + w->alt, -1, SQLITE_STATIC);
        bind_annotation(st, k + 4, b->text, w);
        bind_first_case(g, st, k + 11);
    }
}

/* A row whose site went in as new: its call waits for the next GROUP-row call statement. */
static int queue_call(struct ingest *g, const struct batch *b, size_t row, int64_t site_no,
                      struct zg_error *err)
{
    const struct row *w = &b->rows[row];
    g->site_known = false;
    g->site_gene = b->text + w->gene;
    g->site_class = row_class(b, w);
    g->site_coding = row_coding(b, w);
    int rc = note_span(g, b, w, site_no, err);
    if (rc || (rc = call_stored(g, b, w, site_no, err)))
        return rc;
    g->pend[g->npend++] = (struct pending){row, site_no};
    return g->npend == GROUP ? flush_calls(g, b, err) : 0;
}

/* The sites of GROUP rows at distinct positions in one statement, then their calls. The plain
 * insert is the cheapest, but fails as a whole (changing nothing) when one of the sites is
 * already there; the group then goes in with DO NOTHING … RETURNING, and the rows that do not
 * come back are resolved one by one. After failures the plain attempt is skipped for a while
 * (imports into a large cohort meet known sites more often). */
static int store_group(struct ingest *g, const struct batch *b, const size_t *idx,
                       const int64_t *base, struct zg_error *err)
{
    int rc, r = SQLITE_CONSTRAINT;
    if (g->skip_plain > 0) {
        g->skip_plain--;
    } else {
        bind_sites(g, g->sites_plain, b, idx, base);
        r = sqlite3_step(g->sites_plain);
        sqlite3_reset(g->sites_plain);
        if (r == SQLITE_DONE) {
            g->plain_fails = 0;
            g->res->groups_plain++;
            for (size_t i = 0; i < GROUP; i++)
                if ((rc = queue_call(g, b, idx[i], base[i], err)))
                    return rc;
            return 0;
        }
        if ((r & 0xff) != SQLITE_CONSTRAINT)
            return zg_db_fail(g->db, r, err);
        g->plain_fails = g->plain_fails < 6 ? g->plain_fails + 1 : 6;
        g->skip_plain = (1 << g->plain_fails) - 1;
    }
    int64_t back[GROUP];
    size_t nback = 0;
    sqlite3_stmt *st = g->sites_multi;
    g->res->groups_resolved++;
    bind_sites(g, st, b, idx, base);
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        if (nback < GROUP)
            back[nback++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (r != SQLITE_DONE)
        return zg_db_fail(g->db, r, err);
    for (size_t i = 0; i < GROUP; i++) {
        bool added = false;
        for (size_t j = 0; j < nback && !added; j++)
            added = back[j] == base[i];
        if (added) {
            rc = queue_call(g, b, idx[i], base[i], err);
        } else {
            int64_t site_no;
            const struct row *w = &b->rows[idx[i]];
            if (!(rc = resolve_site(g, b, w, base[i], &site_no, err)))
                rc = store_call(g, b, w, site_no, err);
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* One batch from the parser. Rows are taken GROUP at a time at distinct positions; a row at a
 * position already in the group (another allele, or one that trimming moved there) waits and
 * is stored alone right after it. The last rows go one by one; nothing is left pending when
 * the batch goes back to the parser. */
static int store_batch(struct ingest *g, const struct batch *b, struct zg_error *err)
{
    size_t i = 0, idx[GROUP], later[GROUP];
    int64_t base[GROUP];
    int rc = 0;
    while (!rc && g->sites_multi && i < b->n) {
        size_t n = 0, nlater = 0, j = i;
        for (; j < b->n && n < GROUP && nlater < GROUP; j++) {
            int64_t k;
            if ((rc = site_base(g, b, &b->rows[j], &k, err)))
                return rc;
            bool dup = false;
            for (size_t m = n; m-- > 0 && !dup;) /* rows are in position order: look back */
                dup = base[m] == k;
            if (dup) {
                later[nlater++] = j;
            } else {
                idx[n] = j;
                base[n++] = k;
            }
        }
        if (n < GROUP) /* the batch's tail */
            break;
        if ((rc = store_group(g, b, idx, base, err)))
            return rc;
        for (size_t m = 0; m < nlater && !rc; m++)
            rc = store_row(g, b, &b->rows[later[m]], err);
        i = j;
    }
    if (!rc)
        rc = flush_calls(g, b, err);
    for (; !rc && i < b->n; i++)
        rc = store_row(g, b, &b->rows[i], err);
    return rc;
}

/* "(?,…,?)" n times, comma-separated, each with per parameters. */
static void values_list(char *out, size_t n, size_t rows, size_t per)
{
    size_t l = 0;
    for (size_t r = 0; r < rows && l < n; r++) {
        l += (size_t)snprintf(out + l, n - l, "%s(", r ? "," : "");
        for (size_t k = 0; k < per && l < n; k++)
            l += (size_t)snprintf(out + l, n - l, "%s?", k ? "," : "");
        if (l < n)
            l += (size_t)snprintf(out + l, n - l, ")");
    }
}

static int prepare_multi(struct ingest *g, struct zg_error *err)
{
    char vals[GROUP * 32], sql[GROUP * 32 + 256];
    values_list(vals, sizeof(vals), GROUP, 12);
    snprintf(sql, sizeof(sql),
             "INSERT INTO genome_sites(site_no,chrom,ref,alt,gene,cons,class_code,"
             "transcript,hgvsc_cut,hgvsc_rest,hgvsp,somatic_case) VALUES%s ON CONFLICT DO NOTHING"
             " RETURNING site_no",
             vals);
    if (!(g->sites_multi = zg_db_prepare(g->db, sql, err)))
        return err->code;
    *strstr(sql, " ON CONFLICT") = '\0';
    if (!(g->sites_plain = zg_db_prepare(g->db, sql, err)))
        return err->code;
    values_list(vals, sizeof(vals), GROUP, 7);
    snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES%s",
             g->o->kind == ZG_VK_GERMLINE
                 ? "genome_germline(case_no,site_no,import_no,filter,vaf,depth,zygosity)"
                 : "genome_somatic(case_no,site_no,import_no,filter,vaf,depth,alt_depth)",
             vals);
    return (g->rows_multi = zg_db_prepare(g->db, sql, err)) ? 0 : err->code;
}

static int info_int(struct ingest *g, bcf1_t *rec, const char *tag, int64_t *out)
{
    int n = bcf_get_info_int32(g->h, rec, tag, &g->ibuf, &g->nibuf);
    if (n >= 1 && g->ibuf[0] != bcf_int32_missing) {
        *out = g->ibuf[0];
        return 0;
    }
    return -1;
}

static int info_float(struct ingest *g, bcf1_t *rec, const char *tag, double *out)
{
    int n = bcf_get_info_float(g->h, rec, tag, &g->fbuf, &g->nfbuf);
    if (n >= 1 && !bcf_float_is_missing(g->fbuf[0])) {
        *out = g->fbuf[0];
        return 0;
    }
    n = bcf_get_info_int32(g->h, rec, tag, &g->ibuf, &g->nibuf);
    if (n >= 1 && g->ibuf[0] != bcf_int32_missing) {
        *out = g->ibuf[0];
        return 0;
    }
    return -1;
}

static const char *info_str(struct ingest *g, bcf1_t *rec, const char *tag)
{
    return bcf_get_info_string(g->h, rec, tag, &g->sbuf, &g->nsbuf) > 0 ? g->sbuf : NULL;
}

/* Structural variant: symbolic allele or breakend. */
static int ingest_sv(struct ingest *g, bcf1_t *rec, char *chrom, struct zg_error *err)
{
    const char *alt = rec->n_allele > 1 ? rec->d.allele[1] : ".";
    char svtype[16] = "";
    const char *t = info_str(g, rec, "SVTYPE");
    if (t)
        set_field(svtype, sizeof(svtype), t);
    else if (alt[0] == '<') {
        size_t l = strcspn(alt + 1, ":>");
        if (l >= sizeof(svtype))
            l = sizeof(svtype) - 1;
        memcpy(svtype, alt + 1, l);
        svtype[l] = '\0';
    } else if (strchr(alt, '[') || strchr(alt, ']')) {
        set_field(svtype, sizeof(svtype), "BND");
    } else {
        return 0; /* a sequence-resolved small variant in an SV file: not an SV */
    }
    g->res->alleles++;
    char chrom2[64];
    set_field(chrom2, sizeof(chrom2), chrom);
    int64_t pos = rec->pos + 1, pos2 = rec->pos + rec->rlen, end;
    if (info_int(g, rec, "END", &end) == 0)
        pos2 = end;
    const char *br = strchr(alt, '[') ? strchr(alt, '[') : strchr(alt, ']');
    if (br) {
        /* t[p[ / ]p]t: mate chrom:pos between the brackets */
        const char *c = br + 1, *colon = strrchr(c, ':');
        if (colon && colon > c && (size_t)(colon - c) < sizeof(chrom2)) {
            memcpy(chrom2, c, (size_t)(colon - c));
            chrom2[colon - c] = '\0';
            char *e2;
            long long p2 = strtoll(colon + 1, &e2, 10);
            if (e2 != colon + 1 && p2 > 0)
                pos2 = p2;
        }
    } else {
        const char *c2 = info_str(g, rec, "CHR2");
        if (c2)
            set_field(chrom2, sizeof(chrom2), c2);
    }
    zg_chrom_normalise(chrom2);
    const char *n1[1], *n2[1];
    size_t k1 = zg_gene_model_overlaps(g->o->genes, chrom, pos, pos, n1, 1);
    size_t k2 = zg_gene_model_overlaps(g->o->genes, chrom2, pos2, pos2, n2, 1);
    char genes[200];
    snprintf(genes, sizeof(genes), "%s,%s", k1 ? n1[0] : "", k2 ? n2[0] : "");
    char filter[128];
    filter_text(g->h, rec, filter, sizeof(filter));
    sqlite3_stmt *st = g->sv;
    sqlite3_bind_int64(st, 1, g->case_no);
    sqlite3_bind_int64(st, 2, g->import_no);
    sqlite3_bind_text(st, 3, svtype, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, chrom, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, pos);
    sqlite3_bind_text(st, 6, chrom2, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, pos2);
    sqlite3_bind_text(st, 8, alt, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 9, genes, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 10, filter, -1, SQLITE_TRANSIENT);
    int rc = step_done(g->db, st, err);
    if (!rc)
        g->res->stored += sqlite3_changes(g->db);
    return rc;
}

/* Copy-number segment or gene-level call. */
static int ingest_cnv(struct ingest *g, bcf1_t *rec, char *chrom, struct zg_error *err)
{
    int64_t start = rec->pos + 1, end = rec->pos + rec->rlen, e;
    if (info_int(g, rec, "END", &e) == 0)
        end = e;
    double cn = -1, l2;
    const char *call = NULL;
    if (info_float(g, rec, "CN", &cn) != 0 && g->sample >= 0) {
        int n = bcf_get_format_int32(g->h, rec, "CN", &g->ibuf, &g->nibuf);
        if (n >= bcf_hdr_nsamples(g->h) && g->ibuf[g->sample * (n / bcf_hdr_nsamples(g->h))] >= 0)
            cn = g->ibuf[g->sample * (n / bcf_hdr_nsamples(g->h))];
        else
            cn = -1;
    }
    if (cn >= 0) {
        call = cn < 0.5   ? "del"
               : cn < 1.5 ? "loss"
               : cn < 2.5 ? "neutral"
               : cn < 4.5 ? "gain"
                          : "amp";
    } else if (info_float(g, rec, "LOG2", &l2) == 0 || info_float(g, rec, "LOG2R", &l2) == 0) {
        call = l2 >= 1.0    ? "amp"
               : l2 >= 0.3  ? "gain"
               : l2 <= -1.2 ? "del"
               : l2 <= -0.3 ? "loss"
                            : "neutral";
    } else {
        const char *alt = rec->n_allele > 1 ? rec->d.allele[1] : "";
        const char *t = info_str(g, rec, "SVTYPE");
        char ty[16];
        set_field(ty, sizeof(ty), t ? t : alt);
        call = strstr(ty, "DUP") || strstr(ty, "AMP") ? "gain" : strstr(ty, "DEL") ? "loss" : NULL;
    }
    if (!call)
        return 0;
    g->res->alleles++;
    /* genes: INFO GENE/GENES when given, else overlap (at most 4,000 names) */
    kstring_t genes = {0, 0, NULL};
    const char *gi = info_str(g, rec, "GENE");
    if (!gi)
        gi = info_str(g, rec, "GENES");
    if (gi) {
        kputs(gi, &genes);
    } else if (g->o->genes) {
        static const char *names[4000];
        size_t n = zg_gene_model_overlaps(g->o->genes, chrom, start, end, names, 4000);
        for (size_t i = 0; i < n; i++) {
            if (i)
                kputc(',', &genes);
            kputs(names[i], &genes);
        }
    }
    sqlite3_stmt *st = g->cnv;
    sqlite3_bind_int64(st, 1, g->case_no);
    sqlite3_bind_int64(st, 2, g->import_no);
    sqlite3_bind_text(st, 3, chrom, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, start);
    sqlite3_bind_int64(st, 5, end);
    if (cn >= 0)
        sqlite3_bind_double(st, 6, cn);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_text(st, 7, call, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, genes.s ? genes.s : "", -1, SQLITE_TRANSIENT);
    int rc = step_done(g->db, st, err);
    free(genes.s);
    if (!rc)
        g->res->stored += sqlite3_changes(g->db);
    return rc;
}

int zg_vcf_cut_info(char *line, size_t *len, size_t info, size_t iend, const char *tag, char **buf,
                    int *cap)
{
    size_t tl = strlen(tag);
    for (char *it = line + info, *ie = line + iend; it < ie;) {
        char *next = memchr(it, ';', (size_t)(ie - it));
        char *e = next ? next : ie;
        if ((size_t)(e - it) > tl && it[tl] == '=' && !memcmp(it, tag, tl)) {
            size_t vlen = (size_t)(e - it) - tl - 1;
            if (vlen >= INT_MAX)
                return ZG_ENOMEM;
            if ((size_t)*cap < vlen + 1) {
                char *p = realloc(*buf, vlen + 1);
                if (!p)
                    return ZG_ENOMEM;
                *buf = p;
                *cap = (int)vlen + 1;
            }
            memcpy(*buf, it + tl + 1, vlen);
            (*buf)[vlen] = '\0';
            /* cut "KEY=value" and one separator; an INFO left empty becomes "." */
            char *from = it, *to = e;
            if (it > line + info)
                from--;
            else if (next)
                to++;
            if (from == line + info && to == ie)
                *from++ = '.';
            memmove(from, to, (size_t)(line + *len - to) + 1);
            *len -= (size_t)(to - from);
            return (int)vlen;
        }
        it = e + 1;
    }
    return -1;
}

/* Takes the annotation (INFO key g->ann.tag) out of a text record: its value goes to g->abuf
 * (g->alen its length, -1 when the record has none) and the line keeps the rest of INFO.
 * htslib then parses a line without the value that is most of it (a VEP CSQ is ~95 % of a
 * record's bytes), which this import reads itself anyway (ann_parse). info, iend: the INFO
 * column. Returns 0 or ZG_ENOMEM. */
static int lift_annotation(struct ingest *g, kstring_t *ln, char *info, char *iend)
{
    int r = zg_vcf_cut_info(ln->s, &ln->l, (size_t)(info - ln->s), (size_t)(iend - ln->s),
                            g->ann.tag, &g->abuf, &g->nabuf);
    g->alen = r >= 0 ? r : -1;
    return r == ZG_ENOMEM ? ZG_ENOMEM : 0;
}

/* A text VCF record: the next line, checked for the columns up to INFO and a numeric POS
 * (htslib alone would read "abc" as position 0 and pad a short line), its annotation lifted,
 * the rest parsed by htslib. Returns 1, 0 at the end of the file, or ZG_EINVAL / ZG_ENOMEM with
 * the reason in err. */
static int read_line(struct ingest *g, bcf1_t *rec, struct zg_error *err)
{
    long long n = (long long)g->res->records + 1;
    kstring_t ln; /* vcf_parse reads it and writes NULs into it, never reallocates it */
next_line:
    if (g->text.fd >= 0) {
        int r = text_line(&g->text, &ln.s, &ln.l);
        if (r == 0)
            return 0;
        if (r < 0)
            return r == ZG_EINVAL ? zg_error_set(err, r, "path", "record %lld is over %zu MiB long",
                                                 n, TEXT_LINE_MAX >> 20)
                   : r == ZG_EIO  ? zg_error_set(err, r, "path", "the file cannot be read: %s",
                                                 strerror(errno))
                                  : zg_error_set(err, r, "", "out of memory");
        ln.m = ln.l + 1;
    } else {
        int r = hts_getline(g->fp, '\n', &g->line);
        if (r == -1)
            return 0;
        if (r < -1)
            return zg_error_set(err, ZG_EINVAL, "path",
                                "the file is truncated or corrupt after record %lld", n - 1);
        if (g->line.l > TEXT_LINE_MAX)
            return zg_error_set(err, ZG_EINVAL, "path", "record %lld is over %zu MiB long", n,
                                TEXT_LINE_MAX >> 20);
        ln = g->line;
    }
    /* the header (htslib read it), blank lines and '#' comment lines are not records */
    if (ln.l == 0 || ln.s[0] == '#')
        goto next_line;
    char *col[8], *p = ln.s, *end = ln.s + ln.l;
    int k = 0;
    for (; k < 8 && p; k++) {
        col[k] = p;
        char *t = memchr(p, '\t', (size_t)(end - p));
        p = t ? t + 1 : NULL;
    }
    if (k < 8)
        return zg_error_set(err, ZG_EINVAL, "path",
                            "record %lld has %d column%s: a VCF record needs 8 (CHROM to INFO)", n,
                            k, k == 1 ? "" : "s");
    size_t plen = (size_t)(col[2] - col[1]) - 1;
    if (plen == 0 || strspn(col[1], "0123456789") != plen)
        return zg_error_set(err, ZG_EINVAL, "path", "record %lld: POS is not a number", n);
    if (plen > 10)
        return zg_error_set(err, ZG_EINVAL, "path",
                            "record %lld: POS is beyond the positions stored (%lld at most)", n,
                            (long long)ZG_SITE_MAX_POS);
    char *iend = p ? p - 1 : end;
    if (g->lift && lift_annotation(g, &ln, col[7], iend))
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    if (vcf_parse(&ln, g->h, rec) < 0)
        return zg_error_set(err, ZG_EINVAL, "path", "record %lld is malformed", n);
    return 1;
}

/* Reads the next record into rec and its normalised contig into chrom[64].
 * Returns 1, 0 at the end of the file, or an error code (ZG_E*, negative; reason in err). */
static int next_record(struct ingest *g, bcf1_t *rec, char *chrom, struct zg_error *err)
{
    int r;
    if (g->lines) {
        if ((r = read_line(g, rec, err)) <= 0)
            return r;
    } else if ((r = bcf_read(g->fp, g->h, rec)) == -1) {
        return 0;
    }
    if (r < -1)
        return zg_error_set(err, ZG_EINVAL, "path",
                            "the file is truncated or corrupt after record %lld",
                            (long long)g->res->records);
    if (rec->errcode & ~(BCF_ERR_CTG_UNDEF | BCF_ERR_TAG_UNDEF))
        return zg_error_set(err, ZG_EINVAL, "path", "record %lld is malformed",
                            (long long)g->res->records + 1);
    g->res->records++;
    if (bcf_unpack(rec, BCF_UN_ALL) < 0)
        return zg_error_set(err, ZG_EINVAL, "path", "record %lld cannot be decoded",
                            (long long)g->res->records);
    set_field(chrom, 64, bcf_seqname_safe(g->h, rec));
    zg_chrom_normalise(chrom);
    return 1;
}

struct parser {
    struct ingest *g;
    struct pipe *p;
    bcf1_t *rec;
};

static void *parse_thread(void *arg)
{
    struct parser *ps = arg;
    struct pipe *p = ps->p;
    struct zg_error err;
    zg_error_clear(&err);
    char chrom[64];
    int rc = 0, r;
    struct batch *b = pipe_take_free(p);
    while (b && (r = next_record(ps->g, ps->rec, chrom, &err)) != 0) {
        if (r < 0) {
            rc = r;
            break;
        }
        /* a record adds at most n_allele-1 rows: hand the batch over before it could overflow */
        if (b->n && (b->n + (size_t)ps->rec->n_allele > BATCH_ROWS || b->tlen > BATCH_TEXT)) {
            b->records = ps->g->res->records - 1;
            pipe_put_full(p, b);
            if (!(b = pipe_take_free(p)))
                break;
        }
        if ((rc = prepare_small(ps->g, ps->rec, chrom, b, &err)))
            break;
    }
    if (b) {
        b->records = ps->g->res->records;
        pipe_put_full(p, b);
    }
    pthread_mutex_lock(&p->mu);
    p->rc = rc;
    p->err = err;
    p->done = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Somatic/germline small variants: parse on a second thread while this one stores. */
static int ingest_pipelined(struct ingest *g, bcf1_t *rec, struct zg_error *err)
{
    struct pipe *p = malloc(sizeof(*p));
    if (!p)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    int rc = pipe_init(p);
    if (rc) {
        pipe_destroy(p, false);
        free(p);
        return zg_error_set(err, rc, "", "out of memory");
    }
    struct parser ps = {.g = g, .p = p, .rec = rec};
    pthread_t th;
    if (pthread_create(&th, NULL, parse_thread, &ps)) {
        pipe_destroy(p, true);
        free(p);
        return zg_error_set(err, ZG_ENOMEM, "", "cannot start the parser thread");
    }
    struct batch *b;
    int64_t next_progress = 0x10000;
    while ((b = pipe_take_full(p)) != NULL) {
        rc = store_batch(g, b, err);
        int64_t records = b->records;
        pipe_put_free(p, b);
        if (rc) {
            pipe_finish(p, true);
            break;
        }
        if (g->o->progress && records >= next_progress) {
            next_progress = (records | 0xffff) + 1;
            if (g->o->progress(g->o->progress_ctx, records, g->res->stored)) {
                rc = zg_error_set(err, ZG_ECANCELED, "", "the import was stopped");
                pipe_finish(p, true);
                break;
            }
        }
    }
    pthread_join(th, NULL);
    if (!rc && p->rc) {
        *err = p->err;
        rc = p->rc;
    }
    pipe_destroy(p, true);
    free(p);
    return rc;
}

static int prior_import(sqlite3 *db, int64_t case_no, const char *sha, enum zg_variant_kind kind,
                        bool *same, struct zg_error *err)
{
    *same = false;
    sqlite3_stmt *st =
        zg_db_prepare(db, "SELECT kind FROM genome_imports WHERE case_no=? AND sha256=?", err);
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, case_no);
    sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
    int rc = 0, r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (!strcmp(zg_db_text(st, 0), zg_variant_kind_name(kind)))
            *same = true;
        else if ((kind == ZG_VK_SOMATIC || kind == ZG_VK_GERMLINE))
            rc = zg_error_set(err, ZG_ECONFLICT, "kind",
                              "this file was already imported for this case as %s: somatic and "
                              "germline calls never mix",
                              zg_db_text(st, 0));
    }
    if (r != SQLITE_DONE && !rc)
        rc = zg_db_fail(db, r, err);
    zg_db_release(st);
    return rc;
}

static int finish_case(struct ingest *g, struct zg_error *err)
{
    const char *sql =
        g->o->kind == ZG_VK_SOMATIC
            ? "UPDATE genome_cases SET somatic=1, n_somatic=n_somatic+?2, n_coding=n_coding+?3"
              " WHERE case_no=?1"
        : g->o->kind == ZG_VK_GERMLINE
            ? "UPDATE genome_cases SET germline=1 WHERE case_no=?1"
            : "UPDATE genome_cases SET updated_at=updated_at WHERE case_no=?1";
    sqlite3_stmt *st = zg_db_prepare(g->db, sql, err);
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, g->case_no);
    if (g->o->kind == ZG_VK_SOMATIC) {
        sqlite3_bind_int64(st, 2, g->new_pass);
        sqlite3_bind_int64(st, 3, g->new_coding);
    }
    int r = sqlite3_step(st);
    zg_db_release(st);
    if (r != SQLITE_DONE)
        return zg_db_fail(g->db, r, err);
    st = zg_db_prepare(g->db,
                       "UPDATE genome_imports SET records=?, stored=?, germline_summary=? "
                       "WHERE import_no=?",
                       err);
    if (!st)
        return err->code;
    char summary[256];
    snprintf(summary, sizeof(summary),
             "{\"variants\":%lld,\"snv\":%lld,\"indel\":%lld,\"pass\":%lld,\"het\":%lld,"
             "\"hom\":%lld}",
             (long long)g->g_carried, (long long)g->g_snv, (long long)g->g_indel,
             (long long)g->g_pass, (long long)g->g_het, (long long)g->g_hom);
    sqlite3_bind_int64(st, 1, g->res->records);
    sqlite3_bind_int64(st, 2, g->res->stored);
    if (g->o->kind == ZG_VK_GERMLINE)
        sqlite3_bind_text(st, 3, summary, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, g->import_no);
    r = sqlite3_step(st);
    zg_db_release(st);
    return r == SQLITE_DONE ? 0 : zg_db_fail(g->db, r, err);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int zg_variant_import(const struct zg_datadir *dd, sqlite3 *db, const char *path,
                      const struct zg_import_opts *opts, struct zg_import_result *res,
                      struct zg_error *err)
{
    memset(res, 0, sizeof(*res));
    enum zg_id_kind idk;
    char case_id[ZG_ID_LEN];
    int rc;
    if (!opts->case_id)
        return zg_error_set(err, ZG_EINVAL, "case", "a case ID is required");
    if ((rc = zg_id_parse(opts->case_id, &idk, case_id, err)) || idk != ZG_ID_CASE)
        return zg_error_set(err, ZG_EINVAL, "case", "is not a case ID (ZGC-…)");
    /* the file's SHA-256 (what makes re-imports no-ops): a registered file's is known; else it
     * is computed on a second thread while the records stream in, and the import is kept only
     * if it turns out to be new */
    struct hasher hs = {.path = path};
    pthread_t hth;
    bool hashing = false;
    if (opts->sha256) {
        if (strlen(opts->sha256) != 64 || strspn(opts->sha256, "0123456789abcdef") != 64)
            return zg_error_set(err, ZG_EINVAL, "sha256", "must be 64 lower-case hex digits");
        memcpy(hs.sha, opts->sha256, 65);
    }

    struct ingest *g = calloc(1, sizeof(*g));
    if (!g)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    g->text.fd = -1;
    g->db = db;
    g->o = opts;
    g->res = res;
    bcf1_t *rec = NULL;
    bool began = false, savepoint = false;
    int64_t old_cache = 0;
    htsFile *fp = hts_open(path, "r");
    if (!fp) {
        rc = zg_error_set(err, ZG_EINVAL, "path", "htslib cannot open the file");
        goto out;
    }
    const htsFormat *fmt = hts_get_format(fp);
    if (fmt->format != vcf && fmt->format != bcf) {
        rc = zg_error_set(err, ZG_EINVAL, "path", "not a VCF or BCF file");
        goto out;
    }
    if (fmt->compression == bgzf && hts_check_EOF(fp) == 0) {
        rc = zg_error_set(err, ZG_EINVAL, "path",
                          "the end-of-file marker is missing: the file is truncated");
        goto out;
    }
    /* the file's SHA-256 (what makes re-imports no-ops): a registered file's is known; else it
     * is taken from the blocks the parser reads (plain text) or computed on another thread (a
     * compressed file: its digest is cheap next to the decompression), and the import is kept
     * only if it turns out to be new */
    g->lines = fmt->format == vcf;
    if (g->lines && fmt->compression == no_compression &&
        (rc = text_open(&g->text, path, !opts->sha256))) {
        rc = rc == ZG_EIO
                 ? zg_error_set(err, rc, "path", "cannot open the file: %s", strerror(errno))
                 : zg_error_set(err, rc, "", "out of memory");
        goto out;
    }
    if (!opts->sha256 && !g->text.sha &&
        !(hashing = pthread_create(&hth, NULL, hash_thread, &hs) == 0) &&
        (rc = zg_sha256_file(path, hs.sha, err)))
        goto out;
    g->h = bcf_hdr_read(fp);
    if (!g->h) {
        rc = zg_error_set(err, ZG_EINVAL, "path", "the VCF header is malformed");
        goto out;
    }
    if ((rc = ann_detect(g->h, &g->ann, err)))
        goto out;
    g->lift = fmt->format == vcf && g->ann.kind != ANN_NONE && g->ann.id >= 0 &&
              (opts->kind == ZG_VK_SOMATIC || opts->kind == ZG_VK_GERMLINE);
    g->sample = pick_sample(g->h, opts->sample, err);
    if (g->sample < -1 || (opts->sample && g->sample < 0)) {
        rc = err->code ? err->code : ZG_EINVAL;
        goto out;
    }

    /* a large import keeps its pages in memory until commit instead of spilling them; the
     * connection's own setting comes back afterwards (job workers keep theirs for long) */
    sqlite3_stmt *cs = zg_db_prepare(db, "PRAGMA cache_size", err);
    if (cs && sqlite3_step(cs) == SQLITE_ROW)
        old_cache = sqlite3_column_int64(cs, 0);
    zg_db_release(cs);
    if ((rc = zg_db_exec(db, "PRAGMA cache_size=-262144", err)))
        goto out;
    if (!opts->in_transaction) {
        if ((rc = zg_db_begin(db, err)))
            goto out;
        began = true;
    } else {
        if ((rc = zg_db_exec(db, "SAVEPOINT zg_import", err)))
            goto out;
        savepoint = true;
    }
    if ((rc = zg_genome_case_ensure(db, case_id, opts->cancer_type, opts->dataset,
                                    opts->callable_mb, &g->case_no, err)))
        goto out;
    res->case_no = g->case_no;
    if ((rc = zg_contigs_load(db, &g->contigs, err)) || (rc = terms_load(g, err)))
        goto out;
    if (!(g->spans = calloc(1, sizeof(*g->spans))) || !(g->genes = calloc(1, sizeof(*g->genes)))) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    if (opts->kind == ZG_VK_GERMLINE && g->sample < 0) {
        /* a file already imported as somatic is the clearer reason */
        if (hashing) {
            pthread_join(hth, NULL);
            hashing = false;
        }
        if (g->text.sha) /* the records are not read: the digest is not taken from them */
            hs.rc = zg_sha256_file(path, hs.sha, &hs.err);
        bool same = false;
        if (!hs.rc && (rc = prior_import(db, g->case_no, hs.sha, opts->kind, &same, err)))
            goto out;
        rc = zg_error_set(err, ZG_EINVAL, "path", "a germline VCF needs a sample with genotypes");
        goto out;
    }
    char pending[80];
    snprintf(pending, sizeof(pending), "pending:%lld:%p", (long long)zg_clock_now_ms(), (void *)g);
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "INSERT INTO genome_imports(case_no,kind,sha256,file_id,name,records,stored,created_at)"
        " VALUES(?,?,?,?,?,0,0,?)",
        err);
    if (!st) {
        rc = err->code;
        goto out;
    }
    sqlite3_bind_int64(st, 1, g->case_no);
    sqlite3_bind_text(st, 2, zg_variant_kind_name(opts->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, pending, -1, SQLITE_STATIC);
    if (opts->file_id)
        sqlite3_bind_text(st, 4, opts->file_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, base_name(path), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, zg_clock_now());
    int r = sqlite3_step(st);
    zg_db_release(st);
    if (r != SQLITE_DONE) {
        rc = zg_db_fail(db, r, err);
        goto out;
    }
    g->import_no = sqlite3_last_insert_rowid(db);
    res->import_no = g->import_no;

    if (!(g->site = zg_db_prepare(
              db,
              "INSERT INTO genome_sites(site_no,chrom,ref,alt,gene,cons,class_code,"
              "transcript,hgvsc_cut,hgvsc_rest,hgvsp,somatic_case)"
              " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12) ON CONFLICT DO NOTHING",
              err)) ||
        !(g->site_first_set =
              zg_db_prepare(db, "UPDATE genome_sites SET somatic_case=? WHERE site_no=?", err)) ||
        !(g->recurrent = zg_db_prepare(db,
                                       "INSERT OR IGNORE INTO genome_recurrent(site_no, case_no)"
                                       " VALUES(?1, ?2), (?1, ?3)",
                                       err)) ||
        !(g->site_find = zg_db_prepare(db,
                                       "SELECT site_no, ref, alt, gene, class, somatic_case"
                                       " FROM genome_sites"
                                       " WHERE site_no BETWEEN ? AND ? ORDER BY site_no",
                                       err)) ||
        !(g->site_annot =
              zg_db_prepare(db,
                            "UPDATE genome_sites SET gene=?2,cons=?3,class_code=?4,transcript=?5,"
                            "hgvsc_cut=?6,hgvsc_rest=?7,hgvsp=?8 WHERE site_no=?1",
                            err)) ||
        !(g->row = zg_db_prepare(
              db,
              opts->kind == ZG_VK_GERMLINE
                  ? "INSERT INTO genome_germline(case_no,site_no,import_no,filter,vaf,depth,"
                    "zygosity) VALUES(?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"
                  : "INSERT INTO genome_somatic(case_no,site_no,import_no,filter,vaf,depth,"
                    "alt_depth) VALUES(?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
              err)) ||
        !(g->sv = zg_db_prepare(
              db,
              "INSERT INTO genome_sv(case_no,import_no,svtype,chrom,pos,chrom2,pos2,alt,genes,"
              "filter) VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
              err)) ||
        !(g->cnv = zg_db_prepare(
              db,
              "INSERT INTO genome_cnv(case_no,import_no,chrom,start,end,copy_number,call,genes)"
              " VALUES(?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
              err))) {
        rc = err->code;
        goto out;
    }
    if ((opts->kind == ZG_VK_SOMATIC || opts->kind == ZG_VK_GERMLINE) &&
        (rc = prepare_multi(g, err)))
        goto out;

    rec = bcf_init();
    if (!rec) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    g->fp = fp;
    if (opts->kind == ZG_VK_SOMATIC || opts->kind == ZG_VK_GERMLINE) {
        if ((rc = ingest_pipelined(g, rec, err)))
            goto out;
    } else {
        char chrom[64];
        while ((r = next_record(g, rec, chrom, err)) == 1) {
            rc = opts->kind == ZG_VK_SV ? ingest_sv(g, rec, chrom, err)
                                        : ingest_cnv(g, rec, chrom, err);
            if (rc)
                goto out;
            if (opts->progress && (res->records & 0xffff) == 0 &&
                opts->progress(opts->progress_ctx, res->records, res->stored)) {
                rc = zg_error_set(err, ZG_ECANCELED, "", "the import was stopped");
                goto out;
            }
        }
        if (r < 0) {
            rc = r;
            goto out;
        }
    }
    if ((rc = store_summaries(g, err)) || (rc = finish_case(g, err)))
        goto out;
    if (hashing) {
        pthread_join(hth, NULL);
        hashing = false;
        if (hs.rc) {
            *err = hs.err;
            rc = hs.rc;
            goto out;
        }
    }
    if (g->text.sha) { /* every block of the file went through it */
        zg_sha256_end(g->text.sha, hs.sha);
        g->text.sha = NULL;
        if (!hs.sha[0]) {
            rc = zg_error_set(err, ZG_EINTERNAL, "", "the file's SHA-256 could not be computed");
            goto out;
        }
    }
    snprintf(res->sha256, sizeof(res->sha256), "%s", hs.sha);
    bool same = false;
    if ((rc = prior_import(db, g->case_no, res->sha256, opts->kind, &same, err)))
        goto out;
    if (same) {
        res->already = true;
        res->stored = 0;
        goto out; /* rolled back below: nothing changes (attributes included) */
    }
    if (!(st = zg_db_prepare(db, "UPDATE genome_imports SET sha256=? WHERE import_no=?", err))) {
        rc = err->code;
        goto out;
    }
    sqlite3_bind_text(st, 1, res->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, g->import_no);
    r = sqlite3_step(st);
    zg_db_release(st);
    if (r != SQLITE_DONE) {
        rc = zg_db_fail(db, r, err);
        goto out;
    }
    if (began) {
        if ((rc = zg_db_commit(db, err)))
            goto out;

        began = false;
    }
    if (savepoint) {
        if ((rc = zg_db_exec(db, "RELEASE zg_import", err)))
            goto out;
        savepoint = false;
    }
    if (opts->progress) /* the final count; the import is committed, too late to stop */
        (void)opts->progress(opts->progress_ctx, res->records, res->stored);
out:
    if (hashing)
        pthread_join(hth, NULL);
    if (began)
        zg_db_rollback(db);
    if (old_cache) {
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA cache_size=%lld", (long long)old_cache);
        struct zg_error e3;
        int r3 = zg_db_exec(db, pragma, &e3); /* the setting only affects memory use */
        (void)r3;
    }
    if (savepoint) { /* undo only this import inside the caller's transaction */
        struct zg_error e2;
        if (zg_db_exec(db, "ROLLBACK TO zg_import", &e2) == 0 &&
            zg_db_exec(db, "RELEASE zg_import", &e2) == 0)
            res->stored = rc ? 0 : res->stored;
    }
    zg_db_release(g->site);
    zg_db_release(g->site_find);
    zg_db_release(g->site_annot);
    zg_db_release(g->row);
    zg_db_release(g->sv);
    zg_db_release(g->cnv);
    zg_db_release(g->sites_multi);
    zg_db_release(g->sites_plain);
    zg_db_release(g->site_first_set);
    zg_db_release(g->recurrent);
    zg_db_release(g->rows_multi);
    zg_contigs_free(g->contigs);
    pairs_free(g->spans);
    pairs_free(g->genes);
    pairs_free(g->terms);
    free(g->shared);
    bcf_destroy(rec);
    if (g->h)
        bcf_hdr_destroy(g->h);
    if (fp && hts_close(fp) != 0 && !rc) {
        rc = zg_error_set(err, ZG_EINVAL, "path", "the file is truncated or corrupt");
    }
    free(g->abuf);
    free(g->line.s);
    text_close(&g->text);
    free(g->fbuf);
    free(g->ibuf);
    free(g->gt);
    free(g->sbuf);
    free(g->ref.s);
    free(g->alt.s);
    free(g);
    return rc;
}
