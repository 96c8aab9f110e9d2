/* Sequencing QC (qc.h): streaming coverage, tumour/normal identity, stored results and gates. */
#include "genome/qc.h"
#include "common/error.h"

#include <htslib/hts.h>
#include <htslib/sam.h>
#include <htslib/vcf.h>

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HIST_MAX 4096 /* depths above this share the last histogram bin */
#define WINDOW_MIN ((size_t)1 << 16)
#define WINDOW_MAX ((size_t)1 << 28) /* a read spanning more than 268 Mb is refused */

/* ------------------------------------------------------------------ coverage ---- */

/* Difference array over a sliding window [base, base + cap) of one contig. */
struct window {
    int32_t *diff;
    size_t cap, mask;
    int64_t base;   /* first position not yet accumulated */
    int64_t maxend; /* furthest segment end added */
    int64_t depth;  /* depth at base - 1 */
    /* sums over the contig */
    uint64_t sum, ge10, ge15, ge30;
    uint64_t *hist; /* scope histogram, or NULL when the contig is outside the scope */
};

static int window_grow(struct window *w, int64_t need)
{
    size_t cap = w->cap;
    while ((int64_t)cap <= need - w->base)
        cap *= 2;
    if (cap > WINDOW_MAX)
        return -1;
    int32_t *nd = calloc(cap, sizeof(*nd));
    if (!nd)
        return -1;
    for (int64_t p = w->base; p < w->base + (int64_t)w->cap; p++)
        nd[(size_t)p & (cap - 1)] = w->diff[(size_t)p & w->mask];
    free(w->diff);
    w->diff = nd;
    w->cap = cap;
    w->mask = cap - 1;
    return 0;
}

static inline void count_depth(struct window *w, int64_t d, uint64_t n)
{
    w->sum += (uint64_t)d * n;
    if (d >= 10)
        w->ge10 += n;
    if (d >= 15)
        w->ge15 += n;
    if (d >= 30)
        w->ge30 += n;
    if (w->hist)
        w->hist[d < HIST_MAX ? d : HIST_MAX - 1] += n;
}

/* Accumulates positions [base, pos): runs of constant depth end at the next non-zero
 * difference; a stretch with nothing pending is counted at once. Slots of positions already
 * passed are zero, so scanning past the ring's end reads zeros. */
static void window_flush(struct window *w, int64_t pos)
{
    while (w->base < pos) {
        if (w->depth == 0 && w->base >= w->maxend) {
            count_depth(w, 0, (uint64_t)(pos - w->base));
            w->base = pos;
            return;
        }
        int64_t p = w->base;
        w->depth += w->diff[(size_t)p & w->mask];
        w->diff[(size_t)p & w->mask] = 0;
        int64_t q = p + 1;
        while (q < pos && w->diff[(size_t)q & w->mask] == 0)
            q++;
        count_depth(w, w->depth, (uint64_t)(q - p));
        w->base = q;
    }
}

static int window_add(struct window *w, int64_t s, int64_t e)
{
    if (e <= s)
        return 0;
    if (e - w->base >= (int64_t)w->cap && window_grow(w, e + 1) != 0)
        return -1;
    w->diff[(size_t)s & w->mask]++;
    w->diff[(size_t)e & w->mask]--;
    if (e > w->maxend)
        w->maxend = e;
    return 0;
}

static void window_reset(struct window *w, uint64_t *hist)
{
    memset(w->diff, 0, w->cap * sizeof(*w->diff));
    w->base = 0;
    w->maxend = 0;
    w->depth = 0;
    w->sum = w->ge10 = w->ge15 = w->ge30 = 0;
    w->hist = hist;
}

/* 1–22 or chr1–chr22. */
static bool is_autosome(const char *name)
{
    if (!strncmp(name, "chr", 3))
        name += 3;
    char *end;
    long v = strtol(name, &end, 10);
    return end != name && !*end && v >= 1 && v <= 22 && name[0] != '0';
}

static double pct(uint64_t a, uint64_t b)
{
    return b ? 100.0 * (double)a / (double)b : 0.0;
}

static double round2(double v)
{
    return (double)(int64_t)(v * 100.0 + (v >= 0 ? 0.5 : -0.5)) / 100.0;
}

struct contig_stat {
    uint64_t len, sum, ge10, ge30;
    bool seen;
};

int zg_qc_coverage(const char *path, const struct zg_qc_cov_opts *o, json_t **out,
                   struct zg_error *err)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = 0;
    htsFile *fp = hts_open(path, "r");
    sam_hdr_t *h = NULL;
    bam1_t *b = bam_init1();
    uint64_t *hist = calloc(HIST_MAX, sizeof(*hist));
    struct contig_stat *cs = NULL;
    struct window w = {0};
    if (!fp || !b || !hist) {
        rc = zg_error_set(err, fp ? ZG_ENOMEM : ZG_EIO, "", fp ? "out of memory"
                                                             : "the file cannot be opened");
        goto out;
    }
    if (fp->format.format != bam && fp->format.format != cram) {
        rc = zg_error_set(err, ZG_EINVAL, "", "not a BAM or CRAM file");
        goto out;
    }
    if (o && o->threads > 0)
        hts_set_threads(fp, o->threads);
    if (fp->format.format == cram) {
        /* coverage needs positions and CIGARs only: no sequence, qualities or tags */
        hts_set_opt(fp, CRAM_OPT_REQUIRED_FIELDS,
                    SAM_FLAG | SAM_RNAME | SAM_POS | SAM_MAPQ | SAM_CIGAR | SAM_RNEXT | SAM_PNEXT |
                        SAM_TLEN);
        hts_set_opt(fp, CRAM_OPT_DECODE_MD, 0);
        if (o && o->ref_fasta && *o->ref_fasta)
            hts_set_fai_filename(fp, o->ref_fasta);
    }
    h = sam_hdr_read(fp);
    if (!h) {
        rc = zg_error_set(err, ZG_EINVAL, "", "the header cannot be read");
        goto out;
    }
    int n = sam_hdr_nref(h);
    cs = calloc(n > 0 ? (size_t)n : 1, sizeof(*cs));
    w.cap = WINDOW_MIN;
    w.mask = w.cap - 1;
    w.diff = calloc(w.cap, sizeof(*w.diff));
    if (!cs || !w.diff) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    bool any_auto = false;
    for (int i = 0; i < n; i++) {
        cs[i].len = (uint64_t)sam_hdr_tid2len(h, i);
        any_auto = any_auto || is_autosome(sam_hdr_tid2name(h, i));
    }
    uint64_t reads = 0, mapped = 0, paired = 0, proper = 0, dups = 0;
    int cur = -1;
    int64_t last_pos = -1, clen = 0;
    int r;
    while ((r = sam_read1(fp, h, b)) >= 0) {
        const bam1_core_t *c = &b->core;
        if (c->flag & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY))
            continue;
        reads++;
        if ((reads & 0xfffff) == 0 && cur >= 0 && o && o->progress &&
            o->progress(o->progress_ctx, sam_hdr_tid2name(h, cur), (int64_t)reads)) {
            rc = zg_error_set(err, ZG_ECANCELED, "", "the coverage pass was stopped");
            goto out;
        }
        if (c->flag & BAM_FPAIRED)
            paired++;
        if (c->flag & BAM_FUNMAP)
            continue;
        mapped++;
        if ((c->flag & BAM_FPAIRED) && (c->flag & BAM_FPROPER_PAIR))
            proper++;
        if (c->flag & BAM_FDUP) {
            dups++;
            continue;
        }
        if ((c->flag & BAM_FQCFAIL) || c->tid < 0 || c->tid >= n ||
            (o && c->qual < o->min_mapq))
            continue;
        if (c->tid != cur) {
            if (cur >= 0) {
                window_flush(&w, clen);
                cs[cur].sum = w.sum, cs[cur].ge10 = w.ge10, cs[cur].ge30 = w.ge30;
            }
            if (c->tid < cur || cs[c->tid].seen) {
                rc = zg_error_set(err, ZG_EINVAL, "", "the file is not coordinate-sorted");
                goto out;
            }
            cur = c->tid;
            cs[cur].seen = true;
            clen = (int64_t)cs[cur].len;
            bool in_scope = any_auto ? is_autosome(sam_hdr_tid2name(h, cur)) : true;
            window_reset(&w, in_scope ? hist : NULL);
            last_pos = -1;
            if (o && o->progress &&
                o->progress(o->progress_ctx, sam_hdr_tid2name(h, cur), (int64_t)reads)) {
                rc = zg_error_set(err, ZG_ECANCELED, "", "the coverage pass was stopped");
                goto out;
            }
        }
        if (c->pos < last_pos) {
            rc = zg_error_set(err, ZG_EINVAL, "", "the file is not coordinate-sorted");
            goto out;
        }
        last_pos = c->pos;
        if (c->pos >= clen)
            continue;
        window_flush(&w, c->pos);
        const uint32_t *cig = bam_get_cigar(b);
        int64_t p = c->pos;
        for (uint32_t k = 0; k < c->n_cigar; k++) {
            int op = bam_cigar_op(cig[k]);
            int64_t len = bam_cigar_oplen(cig[k]);
            int type = bam_cigar_type(op);
            if (op == BAM_CMATCH || op == BAM_CEQUAL || op == BAM_CDIFF) {
                int64_t e = p + len > clen ? clen : p + len;
                if (window_add(&w, p, e) != 0) {
                    rc = zg_error_set(err, ZG_ETOOBIG, "", "a read spans too far");
                    goto out;
                }
            }
            if (type & 2)
                p += len;
        }
    }
    if (r < -1) {
        rc = zg_error_set(err, ZG_EIO, "", "a record could not be read (truncated file?)");
        goto out;
    }
    if (cur >= 0) {
        window_flush(&w, clen);
        cs[cur].sum = w.sum, cs[cur].ge10 = w.ge10, cs[cur].ge30 = w.ge30;
    }
    /* contigs without reads count as zero depth */
    uint64_t scope_len = 0, scope_sum = 0;
    for (int i = 0; i < n; i++) {
        bool in_scope = any_auto ? is_autosome(sam_hdr_tid2name(h, i)) : true;
        if (!in_scope)
            continue;
        scope_len += cs[i].len;
        scope_sum += cs[i].sum;
        if (!cs[i].seen)
            hist[0] += cs[i].len;
    }
    uint64_t ge[3] = {0, 0, 0}, acc = 0;
    double median = 0;
    bool have_median = false;
    for (int d = HIST_MAX - 1; d >= 0; d--) {
        if (d >= 10)
            ge[0] += hist[d];
        if (d >= 15)
            ge[1] += hist[d];
        if (d >= 30)
            ge[2] += hist[d];
    }
    for (int d = 0; d < HIST_MAX && !have_median; d++) {
        acc += hist[d];
        if (scope_len && acc * 2 >= scope_len) {
            median = d;
            have_median = true;
        }
    }
    json_t *contigs = json_array();
    for (int i = 0; i < n; i++) {
        json_array_append_new(
            contigs, json_pack("{s:s,s:I,s:f,s:f,s:f}", "name", sam_hdr_tid2name(h, i), "length",
                               (json_int_t)cs[i].len, "mean_depth",
                               round2(cs[i].len ? (double)cs[i].sum / (double)cs[i].len : 0),
                               "pct_10x", round2(pct(cs[i].ge10, cs[i].len)), "pct_30x",
                               round2(pct(cs[i].ge30, cs[i].len))));
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    *out = json_pack(
        "{s:s,s:s,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:o,s:f}", "file_format",
        fp->format.format == cram ? "cram" : "bam", "scope", any_auto ? "autosomes" : "all contigs",
        "raw_reads", (json_int_t)reads, "mapped_reads", (json_int_t)mapped, "pct_reads_mapped",
        round2(pct(mapped, reads)), "pct_reads_properly_paired", round2(pct(proper, paired)),
        "pct_reads_duplicate", round2(pct(dups, mapped)), "mean_autosome_coverage",
        round2(scope_len ? (double)scope_sum / (double)scope_len : 0), "median_autosome_coverage",
        median, "pct_autosomes_10x", round2(pct(ge[0], scope_len)), "pct_autosomes_15x",
        round2(pct(ge[1], scope_len)), "pct_autosomes_30x", round2(pct(ge[2], scope_len)),
        "contigs", contigs, "seconds", round2(secs * 100) / 100);
    if (!*out)
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
out:
    free(w.diff);
    free(cs);
    free(hist);
    if (b)
        bam_destroy1(b);
    if (h)
        sam_hdr_destroy(h);
    if (fp)
        hts_close(fp);
    return rc;
}

/* ------------------------------------------------------------------ identity ---- */

struct site {
    int tid;
    int64_t pos;
    char a, b; /* the two alleles */
};

struct sites {
    struct site *v;
    size_t n, cap;
};

static int sites_add(struct sites *s, int tid, int64_t pos, char a, char b)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        struct site *nv = realloc(s->v, cap * sizeof(*nv));
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = (struct site){tid, pos, a, b};
    return 0;
}

/* Counts the bases of good reads at one position through the index. counts: A C G T. */
static int count_bases(htsFile *fp, sam_hdr_t *h, hts_idx_t *idx, bam1_t *b, int tid,
                       int64_t pos, int counts[4])
{
    memset(counts, 0, 4 * sizeof(int));
    hts_itr_t *itr = sam_itr_queryi(idx, tid, pos, pos + 1);
    if (!itr)
        return -1;
    int r;
    while ((r = sam_itr_next(fp, itr, b)) >= 0) {
        const bam1_core_t *c = &b->core;
        if (c->flag & (BAM_FUNMAP | BAM_FSECONDARY | BAM_FSUPPLEMENTARY | BAM_FQCFAIL | BAM_FDUP) ||
            c->qual < 20)
            continue;
        const uint32_t *cig = bam_get_cigar(b);
        int64_t rp = c->pos, qp = 0;
        for (uint32_t k = 0; k < c->n_cigar; k++) {
            int op = bam_cigar_op(cig[k]), type = bam_cigar_type(op);
            int64_t len = bam_cigar_oplen(cig[k]);
            if ((type & 3) == 3 && pos >= rp && pos < rp + len) {
                int64_t q = qp + (pos - rp);
                if (bam_get_qual(b)[q] >= 13 || bam_get_qual(b)[0] == 0xff) {
                    int base = bam_seqi(bam_get_seq(b), q);
                    int i = base == 1 ? 0 : base == 2 ? 1 : base == 4 ? 2 : base == 8 ? 3 : -1;
                    if (i >= 0)
                        counts[i]++;
                }
                break;
            }
            if ((type & 2) && pos < rp + len && pos >= rp)
                break; /* a deletion over the position */
            if (type & 1)
                qp += len;
            if (type & 2)
                rp += len;
        }
    }
    hts_itr_destroy(itr);
    (void)h;
    return r < -1 ? -1 : 0;
}

static int base_index(char c)
{
    switch (c) {
    case 'A': return 0;
    case 'C': return 1;
    case 'G': return 2;
    case 'T': return 3;
    default: return -1;
    }
}

/* 0 hom a, 1 het, 2 hom b; -1 not enough depth. */
static int genotype(const int counts[4], char a, char b, int min_depth)
{
    int ia = base_index(a), ib = base_index(b);
    if (ia < 0 || ib < 0)
        return -1;
    int na = counts[ia], nb = counts[ib];
    if (na + nb < min_depth)
        return -1;
    double f = (double)nb / (double)(na + nb);
    return f < 0.15 ? 0 : f > 0.85 ? 2 : 1;
}

struct aln {
    htsFile *fp;
    sam_hdr_t *h;
    hts_idx_t *idx;
};

static int aln_open(struct aln *a, const char *path, const char *ref, struct zg_error *err)
{
    memset(a, 0, sizeof(*a));
    a->fp = hts_open(path, "r");
    if (!a->fp || (a->fp->format.format != bam && a->fp->format.format != cram))
        return zg_error_set(err, ZG_EINVAL, "", "%s is not a BAM or CRAM file",
                            a->fp ? "one file" : "a file that cannot be opened");
    if (a->fp->format.format == cram && ref && *ref)
        hts_set_fai_filename(a->fp, ref);
    a->h = sam_hdr_read(a->fp);
    a->idx = a->h ? sam_index_load(a->fp, path) : NULL;
    if (!a->h || !a->idx)
        return zg_error_set(err, ZG_EINVAL, "", "an alignment file has no readable index");
    return 0;
}

static void aln_close(struct aln *a)
{
    if (a->idx)
        hts_idx_destroy(a->idx);
    if (a->h)
        sam_hdr_destroy(a->h);
    if (a->fp)
        hts_close(a->fp);
}

static int sites_from_vcf(const char *vcf, sam_hdr_t *h, int max, struct sites *s,
                          struct zg_error *err)
{
    htsFile *vf = hts_open(vcf, "r");
    bcf_hdr_t *vh = vf ? bcf_hdr_read(vf) : NULL;
    bcf1_t *v = bcf_init();
    int rc = 0;
    if (!vf || !vh || !v) {
        rc = zg_error_set(err, ZG_EINVAL, "sites", "the sites VCF cannot be read");
        goto out;
    }
    while ((int)s->n < max && bcf_read(vf, vh, v) == 0) {
        bcf_unpack(v, BCF_UN_STR);
        if (v->n_allele != 2 || strlen(v->d.allele[0]) != 1 || strlen(v->d.allele[1]) != 1)
            continue;
        const char *chrom = bcf_seqname(vh, v);
        int tid = sam_hdr_name2tid(h, chrom);
        if (tid < 0) { /* 1 vs chr1 */
            char alt[300];
            snprintf(alt, sizeof(alt), strncmp(chrom, "chr", 3) ? "chr%.290s" : "%.290s",
                     strncmp(chrom, "chr", 3) ? chrom : chrom + 3);
            tid = sam_hdr_name2tid(h, alt);
        }
        if (tid < 0)
            continue;
        if (sites_add(s, tid, v->pos, v->d.allele[0][0], v->d.allele[1][0])) {
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
            goto out;
        }
    }
out:
    if (v)
        bcf_destroy(v);
    if (vh)
        bcf_hdr_destroy(vh);
    if (vf)
        hts_close(vf);
    return rc;
}

/* Heterozygous-looking sites of the normal: a pileup-free scan of aligned bases per window. */
static int sites_discover(struct aln *a, int max, int min_depth, struct sites *s,
                          struct zg_error *err)
{
    /* count bases in windows of 4096 positions, sliding with the sorted reads */
    enum { W = 4096 };
    int (*cnt)[4] = calloc(W, sizeof(*cnt));
    bam1_t *b = bam_init1();
    int rc = 0, cur = -1, r;
    int64_t wbase = 0;
    if (!cnt || !b) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    hts_itr_t *itr = sam_itr_queryi(a->idx, HTS_IDX_START, 0, 0);
    if (!itr) {
        rc = zg_error_set(err, ZG_EIO, "", "the index cannot be queried");
        goto out;
    }
#define EMIT_UPTO(limit_expr)                                                                  \
    for (int64_t lim_ = (limit_expr); wbase < lim_ && (int)s->n < max; wbase++) {              \
        int *cc = cnt[wbase % W];                                                               \
        int tot = cc[0] + cc[1] + cc[2] + cc[3], i1 = 0, i2 = -1;                                  \
        for (int i = 1; i < 4; i++)                                                            \
            if (cc[i] > cc[i1])                                                                  \
                i1 = i;                                                                        \
        for (int i = 0; i < 4; i++)                                                            \
            if (i != i1 && (i2 < 0 || cc[i] > cc[i2]))                                           \
                i2 = i;                                                                        \
        if (tot >= min_depth && cc[i2] * 10 >= tot * 3 && cc[i1] * 10 >= tot * 3 &&              \
            sites_add(s, cur, wbase, "ACGT"[i1], "ACGT"[i2])) {                                \
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");                            \
            break;                                                                             \
        }                                                                                      \
        memset(cc, 0, sizeof(cnt[0]));                                                          \
    }
    while ((int)s->n < max && !rc && (r = sam_itr_next(a->fp, itr, b)) >= 0) {
        const bam1_core_t *c = &b->core;
        if (c->tid < 0)
            break;
        if (c->flag & (BAM_FUNMAP | BAM_FSECONDARY | BAM_FSUPPLEMENTARY | BAM_FQCFAIL | BAM_FDUP) ||
            c->qual < 20)
            continue;
        if (c->tid != cur) {
            if (cur >= 0)
                EMIT_UPTO(wbase + W);
            cur = c->tid;
            wbase = 0;
            for (int i = 0; i < W; i++)
                memset(cnt[i], 0, sizeof(cnt[0]));
        }
        EMIT_UPTO(c->pos);
        const uint32_t *cig = bam_get_cigar(b);
        int64_t rp = c->pos, qp = 0;
        const uint8_t *seq = bam_get_seq(b), *qual = bam_get_qual(b);
        for (uint32_t k = 0; k < c->n_cigar; k++) {
            int op = bam_cigar_op(cig[k]), type = bam_cigar_type(op);
            int64_t len = bam_cigar_oplen(cig[k]);
            if ((type & 3) == 3) {
                for (int64_t j = 0; j < len; j++) {
                    int64_t p = rp + j;
                    if (p - wbase >= W)
                        break; /* beyond the window: longer than any short read */
                    if (qual[0] != 0xff && qual[qp + j] < 13)
                        continue;
                    int base = bam_seqi(seq, qp + j);
                    int i = base == 1 ? 0 : base == 2 ? 1 : base == 4 ? 2 : base == 8 ? 3 : -1;
                    if (i >= 0)
                        cnt[p % W][i]++;
                }
            }
            if (type & 1)
                qp += len;
            if (type & 2)
                rp += len;
        }
    }
    if (cur >= 0 && !rc)
        EMIT_UPTO(wbase + W);
#undef EMIT_UPTO
    hts_itr_destroy(itr);
out:
    free(cnt);
    if (b)
        bam_destroy1(b);
    return rc;
}

int zg_qc_identity(const char *tumour, const char *tumour_ref, const char *normal,
                   const char *normal_ref, const struct zg_qc_identity_opts *o, json_t **out,
                   struct zg_error *err)
{
    int max = o && o->max_sites > 0 ? o->max_sites : 5000;
    int min_depth = o && o->min_depth > 0 ? o->min_depth : 8;
    double min_conc = o && o->min_concordance > 0 ? o->min_concordance : 0.8;
    int min_sites = o && o->min_sites > 0 ? o->min_sites : 20;
    struct aln t, nn;
    struct sites s = {0};
    bam1_t *b = bam_init1();
    int rc = aln_open(&t, tumour, tumour_ref, err);
    if (!rc)
        rc = aln_open(&nn, normal, normal_ref, err);
    else
        memset(&nn, 0, sizeof(nn));
    if (rc)
        goto out;
    if (o && o->sites_vcf)
        rc = sites_from_vcf(o->sites_vcf, nn.h, max, &s, err);
    else
        rc = sites_discover(&nn, max, min_depth, &s, err);
    if (rc)
        goto out;
    int compared = 0, concordant = 0;
    for (size_t i = 0; i < s.n; i++) {
        const char *name = sam_hdr_tid2name(nn.h, s.v[i].tid);
        int ttid = sam_hdr_name2tid(t.h, name);
        int ct[4], cn[4];
        if (ttid < 0)
            continue;
        if (count_bases(nn.fp, nn.h, nn.idx, b, s.v[i].tid, s.v[i].pos, cn) ||
            count_bases(t.fp, t.h, t.idx, b, ttid, s.v[i].pos, ct)) {
            rc = zg_error_set(err, ZG_EIO, "", "reads could not be read at a site");
            goto out;
        }
        int gn = genotype(cn, s.v[i].a, s.v[i].b, min_depth);
        int gt = genotype(ct, s.v[i].a, s.v[i].b, min_depth);
        if (gn < 0 || gt < 0)
            continue;
        compared++;
        concordant += gn == gt;
    }
    double conc = compared ? (double)concordant / compared : 0;
    const char *verdict, *why;
    char reason[200];
    if (compared < min_sites) {
        verdict = "insufficient";
        snprintf(reason, sizeof(reason),
                 "only %d sites had depth >= %d in both samples (%d needed)", compared,
                 min_depth, min_sites);
    } else if (conc >= min_conc) {
        verdict = "match";
        snprintf(reason, sizeof(reason), "genotypes agree at %.1f%% of %d sites (>= %.0f%%)",
                 100 * conc, compared, 100 * min_conc);
    } else {
        verdict = "mismatch";
        snprintf(reason, sizeof(reason),
                 "genotypes agree at only %.1f%% of %d sites (< %.0f%%): possible sample swap",
                 100 * conc, compared, 100 * min_conc);
    }
    why = reason;
    *out = json_pack("{s:i,s:i,s:f,s:s,s:s,s:s,s:i}", "sites_compared", compared, "concordant",
                     concordant, "concordance", round2(conc * 1000) / 1000, "verdict", verdict,
                     "reason", why, "site_source", o && o->sites_vcf ? "sites file" : "normal",
                     "sites_considered", (int)s.n);
    if (!*out)
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
out:
    free(s.v);
    if (b)
        bam_destroy1(b);
    aln_close(&t);
    aln_close(&nn);
    return rc;
}

/* ------------------------------------------------------------ storage, gates ---- */

static void qc_dir(const struct zg_datadir *dd, const char *case_id, char *out, size_t outsz)
{
    if (case_id)
        snprintf(out, outsz, "%s/qc/%s", dd->path, case_id);
    else
        snprintf(out, outsz, "%s/qc", dd->path);
}

static bool safe_name(const char *s)
{
    if (!s || !*s || strlen(s) > 80)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

json_t *zg_qc_gates(const struct zg_datadir *dd)
{
    json_t *g = json_pack("{s:f,s:f,s:I,s:f}", "tumour_min_mean_coverage", 120.0,
                          "normal_min_mean_coverage", 30.0, "rna_min_reads",
                          (json_int_t)20000000, "min_identity_concordance", 0.8);
    char path[1200];
    qc_dir(dd, NULL, path, sizeof(path));
    size_t n = strlen(path);
    snprintf(path + n, sizeof(path) - n, "/gates.json");
    json_t *over = json_load_file(path, 0, NULL);
    if (json_is_object(over)) {
        const char *k;
        json_t *v;
        json_object_foreach(over, k, v) {
            if (json_object_get(g, k) && json_is_number(v))
                json_object_set(g, k, v);
        }
    }
    json_decref(over);
    return g;
}

int zg_qc_store_coverage(const struct zg_datadir *dd, const char *case_id, const char *file_id,
                         const char *role, json_t *res, struct zg_error *err)
{
    json_object_set_new(res, "file_id", json_string(file_id));
    if (role)
        json_object_set_new(res, "role", json_string(role));
    char kind[64];
    snprintf(kind, sizeof(kind), "coverage-%s", file_id);
    return zg_qc_store(dd, case_id, kind, res, err);
}

int zg_qc_store(const struct zg_datadir *dd, const char *case_id, const char *kind,
                const json_t *doc, struct zg_error *err)
{
    if (!safe_name(case_id) || !safe_name(kind))
        return zg_error_set(err, ZG_EINVAL, "", "bad case id or result kind");
    char dir[1200], tmp[1300], path[1300];
    qc_dir(dd, NULL, dir, sizeof(dir));
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return zg_error_set(err, ZG_EIO, "", "cannot create the QC directory");
    qc_dir(dd, case_id, dir, sizeof(dir));
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return zg_error_set(err, ZG_EIO, "", "cannot create the QC directory");
    snprintf(path, sizeof(path), "%s/%s.json", dir, kind);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, kind);
    if (json_dump_file(doc, tmp, JSON_COMPACT) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return zg_error_set(err, ZG_EIO, "", "cannot write the QC result");
    }
    return 0;
}

const char *zg_qc_role_of(const char *t)
{
    if (!t)
        return NULL;
    char low[64];
    size_t i = 0;
    for (; t[i] && i + 1 < sizeof(low); i++)
        low[i] = (char)(t[i] >= 'A' && t[i] <= 'Z' ? t[i] + 32 : t[i]);
    low[i] = '\0';
    if (strstr(low, "rna"))
        return "rna";
    if (strstr(low, "tumour") || strstr(low, "tumor") || strstr(low, "cancer"))
        return "tumour";
    if (strstr(low, "normal") || strstr(low, "blood") || strstr(low, "germline"))
        return "normal";
    return NULL;
}

static json_t *gate(const char *name, const char *sample, const char *status, const char *why,
                    json_t *value, double threshold)
{
    json_t *g = json_pack("{s:s,s:s,s:s,s:s,s:f}", "gate", name, "sample", sample, "status",
                          status, "why", why, "threshold", threshold);
    json_object_set_new(g, "value", value ? value : json_null());
    return g;
}

json_t *zg_qc_case(const struct zg_datadir *dd, const char *case_id, struct zg_error *err)
{
    if (!safe_name(case_id)) {
        zg_error_set(err, ZG_EINVAL, "id", "not a case id");
        return NULL;
    }
    char dir[1200];
    qc_dir(dd, case_id, dir, sizeof(dir));
    json_t *coverage = json_array(), *metrics = json_object(), *identity = json_null();
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        int count = 0;
        while ((e = readdir(d)) != NULL && count < 1000) {
            size_t n = strlen(e->d_name);
            if (n < 6 || strcmp(e->d_name + n - 5, ".json") || e->d_name[0] == '.')
                continue;
            count++;
            char path[1500];
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            json_t *doc = json_load_file(path, 0, NULL);
            if (!doc)
                continue;
            if (!strncmp(e->d_name, "coverage-", 9)) {
                json_array_append_new(coverage, doc);
            } else if (!strncmp(e->d_name, "metrics-", 8)) {
                char role[32];
                snprintf(role, sizeof(role), "%.*s", (int)(n - 13), e->d_name + 8);
                json_object_set_new(metrics, role, doc);
            } else if (!strcmp(e->d_name, "identity.json")) {
                json_decref(identity);
                identity = doc;
            } else {
                json_decref(doc);
            }
        }
        closedir(d);
    }
    json_t *g = zg_qc_gates(dd), *gates = json_array();
    static const char *const roles[] = {"tumour", "normal"};
    bool fail = false, pending = false;
    for (size_t r = 0; r < 2; r++) {
        const char *key = r == 0 ? "tumour_min_mean_coverage" : "normal_min_mean_coverage";
        double thr = json_number_value(json_object_get(g, key));
        /* the best coverage measured for the role, else the pipeline's reported value */
        double best = -1;
        size_t i;
        json_t *c;
        json_array_foreach(coverage, i, c) {
            const char *role = json_string_value(json_object_get(c, "role"));
            double v = json_number_value(json_object_get(c, "mean_autosome_coverage"));
            if (role && !strcmp(role, roles[r]) && v > best)
                best = v;
        }
        json_t *m = json_object_get(metrics, roles[r]);
        if (best < 0 && m && json_is_number(json_object_get(m, "mean_autosome_coverage")))
            best = json_number_value(json_object_get(m, "mean_autosome_coverage"));
        char why[200];
        if (best < 0) {
            snprintf(why, sizeof(why), "no coverage measured or reported for the %s sample yet",
                     roles[r]);
            json_array_append_new(gates, gate(key, roles[r], "pending", why, NULL, thr));
            pending = true;
        } else {
            bool ok = best >= thr;
            snprintf(why, sizeof(why), "mean coverage %.1fx %s the required %.0fx", best,
                     ok ? "meets" : "is below", thr);
            json_array_append_new(gates, gate(key, roles[r], ok ? "pass" : "fail", why,
                                              json_real(best), thr));
            fail = fail || !ok;
        }
    }
    json_t *rna = json_object_get(metrics, "rna");
    if (rna) {
        double thr = json_number_value(json_object_get(g, "rna_min_reads"));
        json_t *v = json_object_get(rna, "raw_reads");
        char why[200];
        if (!json_is_number(v)) {
            snprintf(why, sizeof(why), "the RNA metrics do not report raw_reads");
            json_array_append_new(gates, gate("rna_min_reads", "rna", "pending", why, NULL, thr));
            pending = true;
        } else {
            double reads = json_number_value(v);
            bool ok = reads >= thr;
            snprintf(why, sizeof(why), "%.1f M reads %s the required %.0f M", reads / 1e6,
                     ok ? "meet" : "are below", thr / 1e6);
            json_array_append_new(gates, gate("rna_min_reads", "rna", ok ? "pass" : "fail", why,
                                              json_real(reads), thr));
            fail = fail || !ok;
        }
    }
    {
        double thr = json_number_value(json_object_get(g, "min_identity_concordance"));
        const char *verdict = json_string_value(json_object_get(identity, "verdict"));
        const char *reason = json_string_value(json_object_get(identity, "reason"));
        const char *status = !verdict                       ? "pending"
                             : !strcmp(verdict, "match")    ? "pass"
                             : !strcmp(verdict, "mismatch") ? "fail"
                                                            : "pending";
        json_array_append_new(
            gates, gate("tumour_normal_identity", "tumour+normal", status,
                        reason ? reason : "no tumour/normal identity check has run yet",
                        json_is_object(identity) ? json_incref(json_object_get(identity,
                                                                               "concordance"))
                                                 : NULL,
                        thr));
        fail = fail || !strcmp(status, "fail");
        pending = pending || !strcmp(status, "pending");
    }
    json_decref(g);
    return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o}", "case_id", case_id, "overall",
                     fail ? "fail" : pending ? "pending" : "pass", "gates", gates, "coverage",
                     coverage, "metrics", metrics, "identity", identity);
}
