/* htsget slicing: index → plan of exact data blocks, and the bytes of one block (htsget.h).
 *
 * BGZF files (BAM, bgzipped VCF, BCF) in coordinate order hold the records overlapping a region
 * as (1) a few records before the first one starting inside the region (long records reaching
 * into it), found by walking the index chunks from the linear-index start, and (2) one
 * contiguous run from the first record starting at or after `start` to the first record
 * starting at or after `end`, found by reading only around the two boundaries. Each run is
 * planned as: the tail of its first BGZF block (decompressed, cut, recompressed: a small "edge"
 * piece), the untouched blocks in between (raw file bytes, sent by the kernel), the head of its
 * last block (another edge piece).
 *
 * What planning needs from a file (header, index, CRAM container list, the CRAM reference for
 * re-encoding edge containers) is loaded once per file and kept in a zg_hg_cache, checked
 * against the file's and index's stat data on every use. */
#include "genome/htsget.h"
#include "common/buf.h"
#include "common/error.h"

#include <htslib/bgzf.h>
#include <htslib/cram.h>
#include <htslib/hfile.h>
#include <htslib/hts.h>
#include <htslib/kstring.h>
#include <htslib/sam.h>
#include <htslib/tbx.h>
#include <htslib/vcf.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

/* The BGZF end-of-file marker block (SAM/BAM specification §4.1.2). */
static const unsigned char bgzf_eof[28] = {0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff,
                                           0x06, 0,    0x42, 0x43, 0x02, 0, 0x1b, 0, 0x03, 0,
                                           0,    0,    0,    0,    0,    0, 0,    0};
/* The CRAM 3.x end-of-file container (CRAM specification §9). */
static const unsigned char cram3_eof[38] = {
    0x0f, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xe0, 0x45, 0x4f, 0x46,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x05, 0xbd, 0xd9, 0x4f, 0x00, 0x01, 0x00,
    0x06, 0x06, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0xee, 0x63, 0x01, 0x4b};

#define VOFF(c, u) (((uint64_t)(c) << 16) | (uint64_t)(u))
#define COFF(v) ((v) >> 16)
#define UOFF(v) ((v)&0xffff)

/* Re-encoded edge blocks are read once by one client: fast compression is worth more than a
 * few kilobytes (the bytes they decode to are what is exact, not their compressed form). */
#define EDGE_LEVEL 1

const char *zg_htsget_format(enum zg_file_format f)
{
    switch (f) {
    case ZG_FF_BAM: return "BAM";
    case ZG_FF_CRAM: return "CRAM";
    case ZG_FF_VCF: return "VCF";
    case ZG_FF_BCF: return "BCF";
    default: return NULL;
    }
}

bool zg_htsget_is_reads(enum zg_file_format f)
{
    return f == ZG_FF_BAM || f == ZG_FF_CRAM;
}

/* ----------------------------------------------------------------- file state ---- */

/* What stat says about one path; a change in any field means the file was rewritten. */
struct fstamp {
    bool present;
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns, ctime_ns;
};

static void stamp_of(const char *path, struct fstamp *s)
{
    struct stat sb;
    memset(s, 0, sizeof(*s));
    if (!path[0] || stat(path, &sb) != 0)
        return;
    s->present = true;
    s->dev = sb.st_dev;
    s->ino = sb.st_ino;
    s->size = sb.st_size;
    s->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    s->ctime_ns = (int64_t)sb.st_ctim.tv_sec * 1000000000 + sb.st_ctim.tv_nsec;
}

static bool stamp_eq(const struct fstamp *a, const struct fstamp *b)
{
    return a->present == b->present && a->dev == b->dev && a->ino == b->ino &&
           a->size == b->size && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

#define NSTAMPS 3 /* the file and up to two index files htslib may pick */

struct crai_entry {
    int tid;
    int64_t start, span; /* 1-based start as in the .crai */
    uint64_t container;
};

/* The slicing state of one file. Immutable after loading except the members under mu. */
struct hg_file {
    char id[ZG_FILE_ID_LEN];
    char path[1024], index_path[1024], ref_fasta[1024];
    enum zg_file_format fmt;
    struct fstamp st[NSTAMPS];
    size_t cost;     /* approximate bytes held */
    unsigned users;  /* requests holding it (cache lock) */
    bool listed;     /* in the cache's table (cache lock) */
    uint64_t used;   /* LRU tick (cache lock) */

    uint64_t size;
    bool bgzf;                /* BGZF formats: false for a plain-text VCF */
    bool has_eof;
    uint64_t hdr_end;         /* BGZF: virtual offset; CRAM: byte offset */
    uint64_t data_end;        /* same units: before the EOF marker */
    sam_hdr_t *sh;            /* BAM, CRAM */
    bcf_hdr_t *vh;            /* VCF, BCF */
    tbx_t *tbx;               /* VCF (owns idx) */
    hts_idx_t *idx;           /* BAM, BCF, VCF; NULL when no index could be read */
    int ntargets;
    hts_pos_t *tid_len;       /* [ntargets] reference lengths, 0 unknown */
    pthread_mutex_t mu;       /* guards tid_end and header name lookups */
    uint64_t *tid_end;        /* [ntargets] end of each reference's records, lazily */
    int version;              /* CRAM major << 8 | minor */
    struct crai_entry *crai;  /* CRAM index entries sorted by container */
    size_t ncrai;
    bool have_crai;           /* false: the .crai could not be read */
    htsFile *ref_owner;       /* CRAM with ref_fasta: holds the reference shared by re-encodings */
    /* htslib updates a shared reference (refs_t: its users, its id table from each header)
     * without a lock: re-encodings that share hf's reference run one at a time per file */
    pthread_mutex_t ref_mu;
};

struct zg_hg_cache {
    pthread_mutex_t mu;
    struct hg_file **files;
    size_t n, max_files, bytes, max_bytes;
    uint64_t tick;
    struct zg_hg_cache_stats stats;
};

static void hg_file_free(struct hg_file *hf)
{
    if (!hf)
        return;
    if (hf->tbx)
        tbx_destroy(hf->tbx);
    else if (hf->idx)
        hts_idx_destroy(hf->idx);
    if (hf->sh)
        sam_hdr_destroy(hf->sh);
    if (hf->vh)
        bcf_hdr_destroy(hf->vh);
    if (hf->ref_owner)
        hts_close(hf->ref_owner);
    free(hf->tid_len);
    free(hf->tid_end);
    free(hf->crai);
    pthread_mutex_destroy(&hf->mu);
    pthread_mutex_destroy(&hf->ref_mu);
    free(hf);
}

/* The index files htslib may use for f, in the order it tries them. */
static size_t index_candidates(const struct zg_file_info *f, char c[2][1100])
{
    if (f->index_path[0]) {
        snprintf(c[0], sizeof(c[0]), "%s", f->index_path);
        return 1;
    }
    const char *a = f->format == ZG_FF_BAM    ? ".bai"
                    : f->format == ZG_FF_CRAM ? ".crai"
                    : f->format == ZG_FF_VCF  ? ".tbi"
                                              : ".csi";
    snprintf(c[0], sizeof(c[0]), "%s%s", f->path, a);
    if (f->format == ZG_FF_CRAM || f->format == ZG_FF_BCF)
        return 1;
    snprintf(c[1], sizeof(c[1]), "%s.csi", f->path);
    return 2;
}

static void stamps_of(const struct zg_file_info *f, struct fstamp st[NSTAMPS])
{
    char c[2][1100];
    size_t n = index_candidates(f, c);
    stamp_of(f->path, &st[0]);
    for (size_t i = 0; i < 2; i++)
        if (i < n)
            stamp_of(c[i], &st[1 + i]);
        else
            memset(&st[1 + i], 0, sizeof(st[1 + i]));
}

static bool same_key(const struct hg_file *hf, const struct zg_file_info *f)
{
    return hf->fmt == f->format && !strcmp(hf->id, f->id) && !strcmp(hf->path, f->path) &&
           !strcmp(hf->index_path, f->index_path) && !strcmp(hf->ref_fasta, f->ref_fasta);
}

static bool same_stamps(const struct hg_file *hf, const struct fstamp st[NSTAMPS])
{
    for (size_t i = 0; i < NSTAMPS; i++)
        if (!stamp_eq(&hf->st[i], &st[i]))
            return false;
    return true;
}

static int crai_read(const char *path, struct crai_entry **out, size_t *n, struct zg_error *err);
static int cram_header_end(const char *path, uint64_t *hdr_end, int *version);
static bool cram3_has_eof(const char *path, uint64_t size);

static int cmp_crai(const void *a, const void *b)
{
    const struct crai_entry *x = a, *y = b;
    return x->container < y->container ? -1 : x->container > y->container;
}

static int load_cram(struct hg_file *hf, struct zg_error *err)
{
    if (cram_header_end(hf->path, &hf->hdr_end, &hf->version) != 0)
        return zg_error_set(err, ZG_EIO, "", "the CRAM file cannot be opened");
    hf->has_eof = (hf->version >> 8) == 3 && cram3_has_eof(hf->path, hf->size);
    hf->data_end = hf->has_eof ? hf->size - sizeof(cram3_eof) : hf->size;
    htsFile *fp = hts_open(hf->path, "r");
    hf->sh = fp ? sam_hdr_read(fp) : NULL;
    if (fp)
        hts_close(fp);
    if (!hf->sh || sam_hdr_name2tid(hf->sh, "") == -2) /* also builds the name table */
        return zg_error_set(err, ZG_EIO, "", "the CRAM header cannot be read");
    hf->cost += (size_t)sam_hdr_length(hf->sh);
    /* no .crai: whole-file and header requests still work; regions report it */
    char ipath[1100];
    snprintf(ipath, sizeof(ipath), "%s%s", hf->index_path[0] ? hf->index_path : hf->path,
             hf->index_path[0] ? "" : ".crai");
    struct zg_error ie;
    zg_error_clear(&ie);
    if (crai_read(ipath, &hf->crai, &hf->ncrai, &ie) == 0) {
        qsort(hf->crai, hf->ncrai, sizeof(*hf->crai), cmp_crai);
        hf->have_crai = true;
        hf->cost += hf->ncrai * sizeof(*hf->crai);
    } else if (ie.code == ZG_ENOMEM || ie.code == ZG_ETOOBIG) {
        *err = ie;
        return ie.code;
    }
    if (hf->ref_fasta[0]) {
        hf->ref_owner = hts_open(hf->path, "r");
        if (!hf->ref_owner || hts_set_fai_filename(hf->ref_owner, hf->ref_fasta) != 0)
            return zg_error_set(err, ZG_EIO, "", "the CRAM reference cannot be loaded");
        hf->cost += (size_t)1 << 20;
    }
    return 0;
}

static int load_bgzf(struct hg_file *hf, struct zg_error *err)
{
    htsFile *fp = hts_open(hf->path, "r");
    const char **names = NULL;
    int rc = 0;
    if (!fp)
        return zg_error_set(err, ZG_EIO, "", "the file cannot be opened");
    if (fp->format.compression != bgzf)
        goto out; /* a plain-text VCF: whole-file requests only */
    hf->bgzf = true;
    if (hf->fmt == ZG_FF_BAM)
        hf->sh = sam_hdr_read(fp);
    else
        hf->vh = bcf_hdr_read(fp);
    if ((hf->fmt == ZG_FF_BAM && (!hf->sh || sam_hdr_name2tid(hf->sh, "") == -2)) ||
        (hf->fmt != ZG_FF_BAM && !hf->vh)) {
        rc = zg_error_set(err, ZG_EIO, "", "the file header cannot be read");
        goto out;
    }
    hf->hdr_end = (uint64_t)bgzf_tell(fp->fp.bgzf);
    hf->has_eof = bgzf_check_EOF(fp->fp.bgzf) == 1;
    hf->data_end = hf->has_eof ? VOFF(hf->size - sizeof(bgzf_eof), 0) : VOFF(hf->size, 0);
    const char *ipath = hf->index_path[0] ? hf->index_path : NULL;
    if (hf->fmt == ZG_FF_VCF) {
        hf->tbx = tbx_index_load3(hf->path, ipath, HTS_IDX_SILENT_FAIL);
        hf->idx = hf->tbx ? hf->tbx->idx : NULL;
    } else if (hf->fmt == ZG_FF_BAM) {
        hf->idx = sam_index_load3(fp, hf->path, ipath, HTS_IDX_SILENT_FAIL);
    } else {
        hf->idx = bcf_index_load3(hf->path, ipath, HTS_IDX_SILENT_FAIL);
    }
    /* reference lengths bound index queries: a query up to HTS_POS_MAX walks every bin */
    if (hf->fmt == ZG_FF_BAM)
        hf->ntargets = sam_hdr_nref(hf->sh);
    else if (hf->fmt == ZG_FF_BCF)
        hf->ntargets = hf->vh->n[BCF_DT_CTG];
    else if (hf->tbx && !(names = tbx_seqnames(hf->tbx, &hf->ntargets)))
        hf->ntargets = 0;
    if (hf->ntargets < 0)
        hf->ntargets = 0;
    size_t nt = hf->ntargets ? (size_t)hf->ntargets : 1;
    hf->tid_len = calloc(nt, sizeof(*hf->tid_len));
    hf->tid_end = malloc(nt * sizeof(*hf->tid_end));
    if (!hf->tid_len || !hf->tid_end) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    for (int t = 0; t < hf->ntargets; t++) {
        hf->tid_end[t] = UINT64_MAX;
        if (hf->fmt == ZG_FF_BAM) {
            hf->tid_len[t] = sam_hdr_tid2len(hf->sh, t);
        } else {
            int id = hf->fmt == ZG_FF_BCF ? t : bcf_hdr_name2id(hf->vh, names[t]);
            if (id >= 0 && id < hf->vh->n[BCF_DT_CTG] && hf->vh->id[BCF_DT_CTG][id].val)
                hf->tid_len[t] = (hts_pos_t)hf->vh->id[BCF_DT_CTG][id].val->info[0];
        }
    }
    hf->cost += nt * (sizeof(*hf->tid_len) + sizeof(*hf->tid_end));
    hf->cost += (size_t)hf->st[1].size + (size_t)hf->st[2].size; /* the index, roughly */
    if (hf->sh)
        hf->cost += (size_t)sam_hdr_length(hf->sh);
out:
    free(names);
    hts_close(fp);
    return rc;
}

/* Reads what slicing needs from f; st are the stamps taken before reading. */
static int hg_file_load(const struct zg_file_info *f, const struct fstamp st[NSTAMPS],
                        struct hg_file **out, struct zg_error *err)
{
    struct hg_file *hf = calloc(1, sizeof(*hf));
    if (!hf)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    pthread_mutex_init(&hf->mu, NULL);
    pthread_mutex_init(&hf->ref_mu, NULL);
    snprintf(hf->id, sizeof(hf->id), "%s", f->id);
    snprintf(hf->path, sizeof(hf->path), "%s", f->path);
    snprintf(hf->index_path, sizeof(hf->index_path), "%s", f->index_path);
    snprintf(hf->ref_fasta, sizeof(hf->ref_fasta), "%s", f->ref_fasta);
    hf->fmt = f->format;
    memcpy(hf->st, st, sizeof(hf->st));
    hf->cost = sizeof(*hf);
    int rc;
    if (!st[0].present) {
        rc = zg_error_set(err, ZG_EIO, "", "the file cannot be opened");
    } else {
        hf->size = (uint64_t)st[0].size;
        rc = f->format == ZG_FF_CRAM ? load_cram(hf, err) : load_bgzf(hf, err);
    }
    if (rc) {
        hg_file_free(hf);
        return rc;
    }
    *out = hf;
    return 0;
}

int zg_hg_cache_new(size_t max_files, size_t max_bytes, struct zg_hg_cache **out,
                    struct zg_error *err)
{
    struct zg_hg_cache *c = calloc(1, sizeof(*c));
    if (max_files == 0)
        max_files = 1;
    if (c)
        c->files = calloc(max_files, sizeof(*c->files));
    if (!c || !c->files) {
        free(c);
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    }
    pthread_mutex_init(&c->mu, NULL);
    c->max_files = max_files;
    c->max_bytes = max_bytes;
    *out = c;
    return 0;
}

void zg_hg_cache_free(struct zg_hg_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        hg_file_free(c->files[i]); /* no request may still hold one */
    free(c->files);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void zg_hg_cache_stats(struct zg_hg_cache *c, struct zg_hg_cache_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    out->files = c->n;
    out->bytes = c->bytes;
    pthread_mutex_unlock(&c->mu);
}

/* Takes hf out of the table (cache lock held). Returns true when the caller must free it. */
static bool unlist(struct zg_hg_cache *c, size_t i)
{
    struct hg_file *hf = c->files[i];
    c->files[i] = c->files[--c->n];
    c->bytes -= hf->cost;
    hf->listed = false;
    return hf->users == 0;
}

/* The slicing state of f: from the cache when its file and index are unchanged, else loaded
 * (and kept when the cache has room). Release with hg_release. c may be NULL (no caching). */
static int hg_acquire(struct zg_hg_cache *c, const struct zg_file_info *f, struct hg_file **out,
                      struct zg_error *err)
{
    struct fstamp st[NSTAMPS];
    stamps_of(f, st);
    if (!c)
        return hg_file_load(f, st, out, err);
    struct hg_file *stale = NULL, *hf = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n; i++) {
        if (!same_key(c->files[i], f))
            continue;
        if (same_stamps(c->files[i], st)) {
            hf = c->files[i];
            hf->users++;
            hf->used = ++c->tick;
            c->stats.hits++;
        } else {
            struct hg_file *old = c->files[i];
            c->stats.reloads++;
            if (unlist(c, i))
                stale = old;
        }
        break;
    }
    if (!hf)
        c->stats.misses++;
    pthread_mutex_unlock(&c->mu);
    hg_file_free(stale);
    if (hf) {
        *out = hf;
        return 0;
    }

    int rc = hg_file_load(f, st, &hf, err);
    if (rc)
        return rc;
    struct hg_file *evicted[8];
    size_t nev = 0;
    pthread_mutex_lock(&c->mu);
    struct hg_file *other = NULL;
    for (size_t i = 0; i < c->n && !other; i++)
        if (same_key(c->files[i], f) && same_stamps(c->files[i], st))
            other = c->files[i]; /* another request loaded it meanwhile */
    if (other) {
        other->users++;
        other->used = ++c->tick;
    } else {
        hf->users = 1;
        hf->used = ++c->tick;
        /* least recently used first; entries in use are unlisted and freed by their last user */
        while (nev < sizeof(evicted) / sizeof(evicted[0]) && c->n > 0 &&
               (c->n >= c->max_files || c->bytes + hf->cost > c->max_bytes)) {
            size_t lru = 0;
            for (size_t i = 1; i < c->n; i++)
                if (c->files[i]->used < c->files[lru]->used)
                    lru = i;
            struct hg_file *victim = c->files[lru];
            c->stats.evictions++;
            if (unlist(c, lru))
                evicted[nev++] = victim;
        }
        if (c->n < c->max_files && c->bytes + hf->cost <= c->max_bytes) {
            c->files[c->n++] = hf;
            c->bytes += hf->cost;
            hf->listed = true;
        }
    }
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < nev; i++)
        hg_file_free(evicted[i]);
    if (other) {
        hg_file_free(hf);
        hf = other;
    }
    *out = hf;
    return 0;
}

static void hg_release(struct zg_hg_cache *c, struct hg_file *hf)
{
    if (!hf)
        return;
    if (!c) {
        hg_file_free(hf);
        return;
    }
    pthread_mutex_lock(&c->mu);
    bool last = --hf->users == 0 && !hf->listed;
    pthread_mutex_unlock(&c->mu);
    if (last)
        hg_file_free(hf);
}

/* ----------------------------------------------------------------------- plan ---- */

void zg_htsget_plan_release(struct zg_hg_plan *plan)
{
    if (!plan)
        return;
    free(plan->pieces);
    memset(plan, 0, sizeof(*plan));
}

static int add_piece(struct zg_hg_plan *p, enum zg_hg_kind kind, bool header, uint64_t a,
                     uint64_t b, const unsigned char *data, size_t len, struct zg_error *err)
{
    /* adjacent raw pieces of the same class merge when the result stays one block */
    if (p->n) {
        struct zg_hg_piece *last = &p->pieces[p->n - 1];
        if (last->kind == kind && last->header == header && last->b == a && kind == ZG_HG_RAW &&
            b - last->a <= ZG_HG_MAX_BLOCK) {
            last->b = b;
            return 0;
        }
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        if (cap > 1u << 20)
            return zg_error_set(err, ZG_ETOOBIG, "", "the slice needs too many data blocks");
        struct zg_hg_piece *np = realloc(p->pieces, cap * sizeof(*np));
        if (!np)
            return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        p->pieces = np;
        p->cap = cap;
    }
    p->pieces[p->n++] = (struct zg_hg_piece){kind, header, a, b, data, len};
    return 0;
}

/* Reads the BGZF block header at coff; *size = the whole block's compressed size. */
static int bgzf_block_size(int fd, uint64_t coff, uint64_t *size)
{
    unsigned char h[18];
    if (pread(fd, h, sizeof(h), (off_t)coff) != (ssize_t)sizeof(h))
        return -1;
    if (h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || !(h[3] & 4))
        return -1;
    unsigned xlen = (unsigned)h[10] | (unsigned)h[11] << 8;
    if (xlen == 6 && h[12] == 'B' && h[13] == 'C' && h[14] == 2 && h[15] == 0) {
        *size = ((uint64_t)h[16] | (uint64_t)h[17] << 8) + 1;
        return 0;
    }
    /* general extra field: look for the BC subfield */
    if (xlen > 1024)
        return -1;
    unsigned char x[1024];
    if (pread(fd, x, xlen, (off_t)coff + 12) != (ssize_t)xlen)
        return -1;
    for (unsigned i = 0; i + 4 <= xlen;) {
        unsigned slen = (unsigned)x[i + 2] | (unsigned)x[i + 3] << 8;
        if (x[i] == 'B' && x[i + 1] == 'C' && slen == 2 && i + 6 <= xlen) {
            *size = ((uint64_t)x[i + 4] | (uint64_t)x[i + 5] << 8) + 1;
            return 0;
        }
        i += 4 + slen;
    }
    return -1;
}

static int add_raw_span(struct zg_hg_plan *p, bool header, uint64_t a, uint64_t b,
                        struct zg_error *err)
{
    while (b > a) {
        uint64_t e = b - a > ZG_HG_MAX_BLOCK ? a + ZG_HG_MAX_BLOCK : b;
        int rc = add_piece(p, ZG_HG_RAW, header, a, e, NULL, 0, err);
        if (rc)
            return rc;
        a = e;
    }
    return 0;
}

/* Adds the uncompressed span [vs, ve) of a BGZF file: the part of its first block from vs and
 * the part of its last block up to ve as (recompressed) BGZF pieces, the whole blocks between
 * them as raw file bytes. */
static int add_bgzf_span(struct zg_hg_plan *p, int fd, bool header, uint64_t vs, uint64_t ve,
                         struct zg_error *err)
{
    if (ve <= vs)
        return 0;
    if (COFF(vs) == COFF(ve))
        return add_piece(p, ZG_HG_BGZF, header, vs, ve, NULL, 0, err);
    uint64_t a = COFF(vs), b = COFF(ve);
    int rc;
    if (UOFF(vs)) {
        uint64_t size;
        if (bgzf_block_size(fd, a, &size) || a + size > b)
            return zg_error_set(err, ZG_EIO, "", "BGZF block at byte %llu is damaged",
                                (unsigned long long)a);
        if ((rc = add_piece(p, ZG_HG_BGZF, header, vs, VOFF(a + size, 0), NULL, 0, err)))
            return rc;
        a += size;
    }
    if ((rc = add_raw_span(p, header, a, b, err)))
        return rc;
    return UOFF(ve) ? add_piece(p, ZG_HG_BGZF, header, VOFF(b, 0), ve, NULL, 0, err) : 0;
}

/* Finds the reference: exact name first, then with "chr" added or removed (data mixes both). */
static int resolve_ref(const char *name, int (*lookup)(void *, const char *), void *ctx,
                       char *found, size_t foundsz)
{
    int tid = lookup(ctx, name);
    if (tid >= 0) {
        snprintf(found, foundsz, "%.255s", name);
        return tid;
    }
    char alt[300];
    if (!strncmp(name, "chr", 3))
        snprintf(alt, sizeof(alt), "%s", name + 3);
    else
        snprintf(alt, sizeof(alt), "chr%s", name);
    tid = lookup(ctx, alt);
    if (tid >= 0)
        snprintf(found, foundsz, "%.255s", alt);
    return tid;
}

static int lookup_sam(void *ctx, const char *name)
{
    return sam_hdr_name2tid((sam_hdr_t *)ctx, name);
}
static int lookup_bcf(void *ctx, const char *name)
{
    return bcf_hdr_name2id((const bcf_hdr_t *)ctx, name);
}
static int lookup_tbx(void *ctx, const char *name)
{
    return tbx_name2id((tbx_t *)ctx, name);
}

/* Resolves q->ref in the shared header of hf (lookups are serialised: htslib's name tables
 * are not documented as safe for concurrent readers). */
static int hf_resolve(struct hg_file *hf, const char *name, char *found, size_t foundsz)
{
    int (*lookup)(void *, const char *) = hf->fmt == ZG_FF_VCF ? lookup_tbx
                                          : hf->fmt == ZG_FF_BCF ? lookup_bcf
                                                                 : lookup_sam;
    void *ctx = hf->fmt == ZG_FF_VCF ? (void *)hf->tbx
                : hf->fmt == ZG_FF_BCF ? (void *)hf->vh
                                       : (void *)hf->sh;
    pthread_mutex_lock(&hf->mu);
    int tid = resolve_ref(name, lookup, ctx, found, foundsz);
    pthread_mutex_unlock(&hf->mu);
    return tid;
}

static int no_readrec(BGZF *fp, void *data, void *r, int *tid, hts_pos_t *beg, hts_pos_t *end)
{
    (void)fp, (void)data, (void)r, (void)tid, (void)beg, (void)end;
    return -1;
}

/* An index query for [beg, end) that stops at the reference's length when end is beyond it:
 * htslib walks every bin up to `end`, milliseconds for HTS_POS_MAX. When the bounded query
 * finds nothing the unbounded one is asked (records placed beyond a reference's stated
 * length are invalid but exist). */
static hts_itr_t *query(const struct hg_file *hf, int tid, hts_pos_t beg, hts_pos_t end)
{
    hts_pos_t len = tid >= 0 && tid < hf->ntargets ? hf->tid_len[tid] : 0;
    if (len > beg && end > len) {
        hts_itr_t *it = hts_itr_query(hf->idx, tid, beg, len, no_readrec);
        if (!it || (!it->finished && it->n_off > 0))
            return it;
        hts_itr_destroy(it);
    }
    return hts_itr_query(hf->idx, tid, beg, end, no_readrec);
}

/* Virtual offset just after the last record of reference tid (0: none), computed once. */
static int tid_data_end(struct hg_file *hf, int tid, uint64_t *out)
{
    bool cached = tid >= 0 && tid < hf->ntargets;
    if (cached) {
        pthread_mutex_lock(&hf->mu);
        *out = hf->tid_end[tid];
        pthread_mutex_unlock(&hf->mu);
        if (*out != UINT64_MAX)
            return 0;
    }
    hts_itr_t *all = hts_itr_query(hf->idx, tid, 0, HTS_POS_MAX, no_readrec);
    if (!all)
        return -1;
    uint64_t end = 0;
    for (int i = 0; i < all->n_off; i++)
        if (all->off[i].v > end)
            end = all->off[i].v;
    hts_itr_destroy(all);
    if (cached) {
        pthread_mutex_lock(&hf->mu);
        hf->tid_end[tid] = end;
        pthread_mutex_unlock(&hf->mu);
    }
    *out = end;
    return 0;
}

/* A record reader positioned by BGZF virtual offsets. */
struct scan {
    enum zg_file_format fmt;
    BGZF *z;
    bam1_t *b;
    bcf1_t *v;
    tbx_t *tbx; /* borrowed */
    kstring_t line;
};

/* Reads the next record: 0 with its reference and span, -1 at the end, < -1 on error. */
static int scan_next(struct scan *s, int *tid, hts_pos_t *beg, hts_pos_t *end)
{
    int r;
    switch (s->fmt) {
    case ZG_FF_BAM:
        r = bam_read1(s->z, s->b);
        if (r < 0)
            return r;
        *tid = s->b->core.tid;
        *beg = s->b->core.pos;
        *end = bam_endpos(s->b);
        return 0;
    case ZG_FF_BCF:
        r = bcf_readrec(s->z, NULL, s->v, tid, beg, end);
        return r < 0 ? r : 0;
    default:
        r = tbx_readrec(s->z, s->tbx, &s->line, tid, beg, end);
        return r < 0 ? r : 0;
    }
}

static int add_run(struct zg_hg_plan *p, int fd, uint64_t vs, uint64_t ve, struct zg_error *err)
{
    return add_bgzf_span(p, fd, false, vs, ve, err);
}

/* The records of region (tid, beg, end) as runs of virtual offsets (see the file comment). */
static int plan_bgzf_region(struct zg_hg_plan *p, struct scan *s, struct hg_file *hf, int fd,
                            struct zg_error *err)
{
    int rc = 0, tid = p->tid;
    hts_pos_t beg = p->beg, end = p->end;
    hts_itr_t *itr = query(hf, tid, beg, end);
    hts_itr_t *after = NULL;
    if (!itr)
        return zg_error_set(err, ZG_EIO, "", "the index cannot be queried");
    if (itr->finished || itr->n_off == 0)
        goto out;

    /* 1. from the first chunk, records that start before `beg` and reach into the region */
    uint64_t first_in = 0, run_s = 0, run_e = 0;
    bool found = false, stop = false, have_run = false;
    for (int i = 0; i < itr->n_off && !found && !stop; i++) {
        if (bgzf_seek(s->z, (int64_t)itr->off[i].u, SEEK_SET) < 0) {
            rc = zg_error_set(err, ZG_EIO, "", "cannot seek in the file");
            goto out;
        }
        while ((uint64_t)bgzf_tell(s->z) < itr->off[i].v) {
            uint64_t vs = (uint64_t)bgzf_tell(s->z);
            int rtid;
            hts_pos_t rb, re;
            int r = scan_next(s, &rtid, &rb, &re);
            if (r < -1) {
                rc = zg_error_set(err, ZG_EIO, "", "a record could not be read");
                goto out;
            }
            if (r < 0 || rtid != tid || rb >= end) {
                stop = true;
                break;
            }
            if (rb >= beg) {
                first_in = vs;
                found = true;
                break;
            }
            if (re > beg) {
                uint64_t ve = (uint64_t)bgzf_tell(s->z);
                if (have_run && run_e == vs) {
                    run_e = ve;
                } else {
                    if (have_run && (rc = add_run(p, fd, run_s, run_e, err)))
                        goto out;
                    run_s = vs, run_e = ve, have_run = true;
                }
            }
        }
    }
    if (!found) {
        if (have_run)
            rc = add_run(p, fd, run_s, run_e, err);
        goto out;
    }

    /* 2. the contiguous run [first_in, first record starting at or after `end`) */
    uint64_t tid_end; /* just after the reference's last record */
    if (tid_data_end(hf, tid, &tid_end)) {
        rc = zg_error_set(err, ZG_EIO, "", "the index cannot be queried");
        goto out;
    }
    uint64_t last_end = tid_end;
    if (end < HTS_POS_MAX) {
        after = query(hf, tid, end, HTS_POS_MAX);
        if (!after) {
            rc = zg_error_set(err, ZG_EIO, "", "the index cannot be queried");
            goto out;
        }
        if (!after->finished && after->n_off > 0) {
            uint64_t from = after->off[0].u > first_in ? after->off[0].u : first_in;
            if (bgzf_seek(s->z, (int64_t)from, SEEK_SET) < 0) {
                rc = zg_error_set(err, ZG_EIO, "", "cannot seek in the file");
                goto out;
            }
            for (;;) {
                uint64_t vs = (uint64_t)bgzf_tell(s->z);
                if (vs >= tid_end) {
                    last_end = tid_end;
                    break;
                }
                int rtid;
                hts_pos_t rb, re;
                int r = scan_next(s, &rtid, &rb, &re);
                if (r < -1) {
                    rc = zg_error_set(err, ZG_EIO, "", "a record could not be read");
                    goto out;
                }
                if (r < 0 || rtid != tid || rb >= end) {
                    last_end = vs;
                    break;
                }
            }
        }
    }
    if (have_run && run_e == first_in)
        first_in = run_s;
    else if (have_run && (rc = add_run(p, fd, run_s, run_e, err)))
        goto out;
    rc = add_run(p, fd, first_in, last_end, err);
out:
    hts_itr_destroy(itr);
    hts_itr_destroy(after);
    return rc;
}

static void scan_close(struct scan *s)
{
    if (s->b)
        bam_destroy1(s->b);
    if (s->v)
        bcf_destroy(s->v);
    free(s->line.s);
    if (s->z)
        bgzf_close(s->z);
}

static int file_size(const char *path, uint64_t *size)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    *size = (uint64_t)sb.st_size;
    return 0;
}

static int check_query(const struct zg_hg_query *q, struct zg_error *err)
{
    if (q->header_only && (q->ref || q->start >= 0 || q->end >= 0))
        return zg_error_set(err, ZG_EINVAL, "class",
                            "class=header cannot be combined with a region");
    if (!q->ref && (q->start >= 0 || q->end >= 0))
        return zg_error_set(err, ZG_EINVAL, q->start >= 0 ? "start" : "end",
                            "needs referenceName");
    if (q->ref && !strcmp(q->ref, "*") && (q->start >= 0 || q->end >= 0))
        return zg_error_set(err, ZG_EINVAL, q->start >= 0 ? "start" : "end",
                            "cannot be used with referenceName=*");
    if (q->start >= 0 && q->end >= 0 && q->start > q->end)
        return zg_error_set(err, ZG_EINVAL, "start", "start is greater than end");
    return 0;
}

static int plan_bgzf(struct hg_file *hf, const struct zg_hg_query *q, struct zg_hg_plan *p,
                     struct zg_error *err)
{
    struct scan s = {.fmt = hf->fmt, .tbx = hf->tbx};
    int rc = 0, fd = -1;
    if (!hf->bgzf) {
        /* a plain-text VCF has no index: only the whole file can be served */
        if (q->ref)
            return zg_error_set(err, ZG_EINVAL, "referenceName",
                                "the file is not BGZF-compressed and indexed, so it cannot be "
                                "sliced by region");
        return add_raw_span(p, false, 0, hf->size, err);
    }
    if ((fd = open(hf->path, O_RDONLY | O_CLOEXEC)) < 0)
        return zg_error_set(err, ZG_EIO, "", "the file cannot be opened");
    if ((rc = add_bgzf_span(p, fd, true, 0, hf->hdr_end, err)))
        goto out;
    if (q->header_only)
        goto eof;
    if (!q->ref) {
        if ((rc = add_bgzf_span(p, fd, false, hf->hdr_end, hf->data_end, err)))
            goto out;
        goto eof;
    }
    if (!hf->idx) {
        rc = zg_error_set(err, ZG_EIO, "", "the file's index cannot be read");
        goto out;
    }
    if (!strcmp(q->ref, "*")) {
        if (hf->fmt != ZG_FF_BAM) {
            rc = zg_error_set(err, ZG_EINVAL, "referenceName",
                              "\"*\" (unplaced unmapped reads) applies to reads only");
            goto out;
        }
        hts_itr_t *itr = hts_itr_query(hf->idx, HTS_IDX_NOCOOR, 0, 0, no_readrec);
        if (!itr) {
            rc = zg_error_set(err, ZG_EIO, "", "the index cannot be queried");
            goto out;
        }
        p->tid = -1;
        snprintf(p->ref, sizeof(p->ref), "*");
        if (!itr->finished && itr->curr_off)
            rc = add_bgzf_span(p, fd, false, itr->curr_off, hf->data_end, err);
        hts_itr_destroy(itr);
        if (rc)
            goto out;
        goto eof;
    }
    p->tid = hf_resolve(hf, q->ref, p->ref, sizeof(p->ref));
    if (p->tid < 0) {
        rc = zg_error_set(err, ZG_ENOTFOUND, "referenceName",
                          "reference '%.100s' is not in the file", q->ref);
        goto out;
    }
    p->beg = q->start >= 0 ? q->start : 0;
    p->end = q->end >= 0 ? q->end : HTS_POS_MAX;
    if (p->end > p->beg) {
        s.z = bgzf_open(hf->path, "r");
        if (hf->fmt == ZG_FF_BAM)
            s.b = bam_init1();
        else if (hf->fmt == ZG_FF_BCF)
            s.v = bcf_init();
        if (!s.z || (hf->fmt == ZG_FF_BAM && !s.b) || (hf->fmt == ZG_FF_BCF && !s.v)) {
            rc = zg_error_set(err, ZG_EIO, "", "the file cannot be opened");
            goto out;
        }
        if ((rc = plan_bgzf_region(p, &s, hf, fd, err)))
            goto out;
    }
eof:
    if (hf->has_eof)
        rc = add_piece(p, ZG_HG_DATA, false, 0, 0, bgzf_eof, sizeof(bgzf_eof), err);
out:
    scan_close(&s);
    close(fd);
    return rc;
}

/* ----------------------------------------------------------------------- CRAM ---- */

/* Reads a .crai (gzip-compressed text: seq, start, span, container offset, slice offset,
 * slice size). Bounded by the index size; caller frees *out. */
static int crai_read(const char *path, struct crai_entry **out, size_t *n, struct zg_error *err)
{
    BGZF *z = bgzf_open(path, "r");
    if (!z)
        return zg_error_set(err, ZG_EIO, "", "the CRAM index cannot be read");
    kstring_t line = {0, 0, NULL};
    struct crai_entry *e = NULL;
    size_t ne = 0, cap = 0;
    int rc = 0, r;
    while ((r = bgzf_getline(z, '\n', &line)) >= 0) {
        if (line.l == 0)
            continue;
        int64_t v[6];
        char *p = line.s, *q;
        for (int i = 0; i < 6; i++) {
            errno = 0;
            v[i] = strtoll(p, &q, 10);
            if (q == p || errno) {
                rc = zg_error_set(err, ZG_EIO, "", "the CRAM index is malformed");
                goto out;
            }
            p = q;
        }
        if (ne == cap) {
            cap = cap ? cap * 2 : 64;
            if (cap > (size_t)64 << 20) {
                rc = zg_error_set(err, ZG_ETOOBIG, "", "the CRAM index is too large");
                goto out;
            }
            struct crai_entry *ne2 = realloc(e, cap * sizeof(*e));
            if (!ne2) {
                rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
                goto out;
            }
            e = ne2;
        }
        e[ne++] = (struct crai_entry){(int)v[0], v[1], v[2], (uint64_t)v[3]};
    }
    if (r < -1)
        rc = zg_error_set(err, ZG_EIO, "", "the CRAM index cannot be read");
out:
    free(line.s);
    bgzf_close(z);
    if (rc) {
        free(e);
        return rc;
    }
    *out = e;
    *n = ne;
    return 0;
}

/* Byte offset just after the CRAM file definition and SAM header container. */
static int cram_header_end(const char *path, uint64_t *hdr_end, int *version)
{
    htsFile *fp = hts_open(path, "r");
    if (!fp || fp->format.format != cram) {
        if (fp)
            hts_close(fp);
        return -1;
    }
    off_t off = htell(cram_fd_get_fp(fp->fp.cram));
    *version = cram_fd_get_version(fp->fp.cram);
    hts_close(fp);
    if (off <= 0)
        return -1;
    *hdr_end = (uint64_t)off;
    return 0;
}

static bool cram3_has_eof(const char *path, uint64_t size)
{
    unsigned char t[sizeof(cram3_eof)];
    if (size < sizeof(t))
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = pread(fd, t, sizeof(t), (off_t)(size - sizeof(t))) == (ssize_t)sizeof(t) &&
              !memcmp(t, cram3_eof, sizeof(t));
    close(fd);
    return ok;
}

/* CRAM served as CRAM: containers wholly inside the region byte for byte, edge containers
 * re-encoded. Served as BAM (q->as_bam): the header and each container holding records of the
 * region decoded and written as BAM, then the BGZF EOF marker. */
static int plan_cram(struct hg_file *hf, const struct zg_hg_query *q, struct zg_hg_plan *p,
                     struct zg_error *err)
{
    int rc = 0;
    bool v3 = (hf->version >> 8) == 3, bam = q->as_bam;
    p->format = bam ? ZG_FF_BAM : ZG_FF_CRAM;
    rc = bam ? add_piece(p, ZG_HG_XBAM_HEADER, true, 0, hf->hdr_end, NULL, 0, err)
             : add_raw_span(p, true, 0, hf->hdr_end, err);
    if (rc)
        return rc;
    if (q->header_only)
        goto eof;
    if (!q->ref && !bam) {
        if ((rc = add_raw_span(p, false, hf->hdr_end, hf->data_end, err)))
            return rc;
        goto eof;
    }
    if (!hf->have_crai)
        return zg_error_set(err, ZG_EIO, "", "the CRAM index cannot be read");
    if (!q->ref) { /* the whole file as BAM: every container */
        p->tid = -2;
        p->beg = 0;
        p->end = HTS_POS_MAX;
    } else if (!strcmp(q->ref, "*")) {
        p->tid = -1;
        snprintf(p->ref, sizeof(p->ref), "*");
    } else {
        p->tid = hf_resolve(hf, q->ref, p->ref, sizeof(p->ref));
        if (p->tid == -2)
            return zg_error_set(err, ZG_EIO, "", "the CRAM header cannot be read");
        if (p->tid < 0)
            return zg_error_set(err, ZG_ENOTFOUND, "referenceName",
                                "reference '%.100s' is not in the file", q->ref);
    }
    if (q->ref) {
        p->beg = q->start >= 0 ? q->start : 0;
        p->end = q->end >= 0 ? q->end : HTS_POS_MAX;
    }
    if (p->tid >= 0 && p->end <= p->beg)
        goto eof;

    /* entries are sorted by container: a container ends where the next one starts */
    for (size_t i = 0; i < hf->ncrai;) {
        uint64_t cs = hf->crai[i].container;
        bool any = false, inside = true;
        size_t j = i;
        for (; j < hf->ncrai && hf->crai[j].container == cs; j++) {
            const struct crai_entry *e = &hf->crai[j];
            if (p->tid == -2) { /* whole file */
                any = true;
                continue;
            }
            if (p->tid < 0) { /* unplaced: containers of unmapped reads only */
                if (e->tid == -1)
                    any = true;
                else
                    inside = false;
                continue;
            }
            int64_t sb = e->start - 1, se = e->start - 1 + e->span;
            bool overlap = e->tid == -2 || (e->tid == p->tid && sb < p->end && se > p->beg);
            if (overlap)
                any = true;
            if (e->tid != p->tid || sb < p->beg || se > p->end)
                inside = false;
        }
        uint64_t ce = j < hf->ncrai ? hf->crai[j].container : hf->data_end;
        i = j;
        if (!any)
            continue;
        if (bam)
            rc = add_piece(p, ZG_HG_XBAM, false, cs, ce, NULL, 0, err);
        else if (inside || !v3)
            rc = add_raw_span(p, false, cs, ce, err);
        else
            rc = add_piece(p, ZG_HG_CRAM, false, cs, ce, NULL, 0, err);
        if (rc)
            return rc;
    }
eof:
    if (bam)
        rc = add_piece(p, ZG_HG_DATA, false, 0, 0, bgzf_eof, sizeof(bgzf_eof), err);
    else if (hf->has_eof)
        rc = add_piece(p, ZG_HG_DATA, false, 0, 0, cram3_eof, sizeof(cram3_eof), err);
    return rc;
}

int zg_htsget_plan(struct zg_hg_cache *cache, const struct zg_file_info *f,
                   const struct zg_hg_query *q, struct zg_hg_plan *plan, struct zg_error *err)
{
    memset(plan, 0, sizeof(*plan));
    plan->tid = -1;
    plan->format = f->format;
    int rc = check_query(q, err);
    if (rc)
        return rc;
    if (f->format != ZG_FF_BAM && f->format != ZG_FF_VCF && f->format != ZG_FF_BCF &&
        f->format != ZG_FF_CRAM)
        return zg_error_set(err, ZG_EINVAL, "format", "%s files are not served by htsget",
                            zg_file_format_name(f->format));
    struct hg_file *hf;
    if ((rc = hg_acquire(cache, f, &hf, err)))
        return rc;
    rc = f->format == ZG_FF_CRAM ? plan_cram(hf, q, plan, err) : plan_bgzf(hf, q, plan, err);
    hg_release(cache, hf);
    if (rc)
        zg_htsget_plan_release(plan);
    return rc;
}

/* --------------------------------------------------------------------- blocks ---- */

static int read_raw(int fd, uint64_t a, uint64_t b, struct zg_buf *out, struct zg_error *err)
{
    char tmp[65536];
    while (a < b) {
        size_t want = b - a < sizeof(tmp) ? (size_t)(b - a) : sizeof(tmp);
        ssize_t got = pread(fd, tmp, want, (off_t)a);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return zg_error_set(err, got == 0 ? ZG_EINVAL : ZG_EIO, "b",
                                "the range ends beyond the file");
        if (zg_buf_add(out, tmp, (size_t)got))
            return zg_error_set(err, ZG_ETOOBIG, "", "block too large");
        a += (uint64_t)got;
    }
    return 0;
}

/* Recompresses n uncompressed bytes as BGZF blocks. */
static int put_bgzf(const unsigned char *src, size_t n, struct zg_buf *out, struct zg_error *err)
{
    unsigned char dst[BGZF_MAX_BLOCK_SIZE];
    while (n > 0) {
        size_t chunk = n > BGZF_BLOCK_SIZE ? BGZF_BLOCK_SIZE : n, dlen = sizeof(dst);
        if (bgzf_compress(dst, &dlen, src, chunk, EDGE_LEVEL) != 0)
            return zg_error_set(err, ZG_EINTERNAL, "", "BGZF compression failed");
        if (zg_buf_add(out, dst, dlen))
            return zg_error_set(err, ZG_ETOOBIG, "", "block too large");
        src += chunk;
        n -= chunk;
    }
    return 0;
}

/* Loads the BGZF block starting at byte coff. */
static int load_block(BGZF *z, uint64_t coff, struct zg_error *err)
{
    if (bgzf_seek(z, (int64_t)VOFF(coff, 0), SEEK_SET) < 0 || bgzf_read_block(z) != 0 ||
        (uint64_t)z->block_address != coff || z->block_length <= 0)
        return zg_error_set(err, ZG_EINVAL, "a", "no BGZF block starts at byte %llu",
                            (unsigned long long)coff);
    return 0;
}

static int block_bgzf(const struct zg_file_info *f, uint64_t a, uint64_t b, struct zg_buf *out,
                      struct zg_error *err)
{
    uint64_t ca = COFF(a), ua = UOFF(a), cb = COFF(b), ub = UOFF(b);
    if (b < a || cb - ca > ZG_HG_MAX_BLOCK)
        return zg_error_set(err, ZG_EINVAL, "b", "not a block of this file");
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    BGZF *z = fd >= 0 ? bgzf_open(f->path, "r") : NULL;
    int rc = 0;
    if (!z) {
        rc = zg_error_set(err, ZG_EIO, "", "the file cannot be opened");
        goto out;
    }
    if (ca == cb) {
        if (ub > ua) {
            if ((rc = load_block(z, ca, err)))
                goto out;
            if (ub > (uint64_t)z->block_length) {
                rc = zg_error_set(err, ZG_EINVAL, "b", "offset beyond the block");
                goto out;
            }
            rc = put_bgzf((unsigned char *)z->uncompressed_block + ua, ub - ua, out, err);
        }
        goto out;
    }
    uint64_t raw_from = ca;
    if (ua > 0) {
        if ((rc = load_block(z, ca, err)))
            goto out;
        if (ua > (uint64_t)z->block_length) {
            rc = zg_error_set(err, ZG_EINVAL, "a", "offset beyond the block");
            goto out;
        }
        uint64_t csize;
        if (bgzf_block_size(fd, ca, &csize)) {
            rc = zg_error_set(err, ZG_EINVAL, "a", "no BGZF block starts at byte %llu",
                              (unsigned long long)ca);
            goto out;
        }
        raw_from = ca + csize;
        if ((rc = put_bgzf((unsigned char *)z->uncompressed_block + ua,
                           (size_t)z->block_length - ua, out, err)))
            goto out;
    }
    if (raw_from < cb && (rc = read_raw(fd, raw_from, cb, out, err)))
        goto out;
    if (ub > 0) {
        if ((rc = load_block(z, cb, err)))
            goto out;
        if (ub > (uint64_t)z->block_length) {
            rc = zg_error_set(err, ZG_EINVAL, "b", "offset beyond the block");
            goto out;
        }
        rc = put_bgzf((unsigned char *)z->uncompressed_block, ub, out, err);
    }
out:
    if (z)
        bgzf_close(z);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Reads an ITF8 integer (CRAM specification §2.3); returns its length, 0 when truncated. */
static size_t itf8_get(const unsigned char *p, size_t n, uint32_t *v)
{
    static const unsigned char len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 5};
    size_t k = n ? len[p[0] >> 4] : 1;
    if (k > n)
        return 0;
    switch (k) {
    case 1: *v = p[0]; break;
    case 2: *v = (uint32_t)(p[0] & 0x3f) << 8 | p[1]; break;
    case 3: *v = (uint32_t)(p[0] & 0x1f) << 16 | (uint32_t)p[1] << 8 | p[2]; break;
    case 4:
        *v = (uint32_t)(p[0] & 0x0f) << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        break;
    default:
        *v = (uint32_t)(p[0] & 0x0f) << 28 | (uint32_t)p[1] << 20 | (uint32_t)p[2] << 12 |
             (uint32_t)p[3] << 4 | (p[4] & 0x0f);
    }
    return k;
}

/* The number of records of the CRAM 3 container at byte a (its header: int32 length, ITF8
 * reference id, start, span, records, …), or -1 when it cannot be read. Reading exactly that
 * many records spares decoding the next container just to learn that this one ended. */
static int64_t cram_container_records(const char *path, uint64_t a)
{
    unsigned char h[4 + 5 * 4];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t got = pread(fd, h, sizeof(h), (off_t)a);
    close(fd);
    if (got < 5)
        return -1;
    size_t off = 4, n = (size_t)got;
    uint32_t v = 0;
    for (int field = 0; field < 4; field++) {
        size_t k = itf8_get(h + off, n - off, &v);
        if (!k)
            return -1;
        off += k;
    }
    return (int64_t)v;
}

/* Re-encodes the records of CRAM container bytes [a, b) that overlap the region into new
 * containers (same CRAM version, header and reference), via a scratch CRAM file. */
static int block_cram(struct hg_file *hf, uint64_t a, uint64_t b, const struct zg_hg_region *rg,
                      const char *tmpdir, struct zg_buf *out, struct zg_error *err)
{
    if (b <= a || b - a > (uint64_t)256 << 20)
        return zg_error_set(err, ZG_EINVAL, "b", "not a container of this file");
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s/zg-htsget-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int tfd = mkstemp(tmp);
    if (tfd < 0)
        return zg_error_set(err, ZG_EIO, "", "no scratch space for CRAM re-encoding");
    close(tfd);
    int rc = 0;
    htsFile *in = hts_open(hf->path, "r"), *o = NULL;
    sam_hdr_t *h = in ? sam_hdr_read(in) : NULL;
    bam1_t *rec = bam_init1();
    /* the reference is loaded once per file, not per block: both sides share hf's */
    refs_t *refs = hf->ref_owner ? cram_get_refs(hf->ref_owner) : NULL;
    if (!in || !h || !rec) {
        rc = zg_error_set(err, ZG_EIO, "", "the CRAM file cannot be opened");
        goto out;
    }
    int sr = refs ? hts_set_opt(in, CRAM_OPT_SHARED_REF, refs) : 0;
    /* MD/NM are not made up while decoding: the re-encoded records carry what the file has,
     * and a client generates them as it would from the original */
    if (sr != 0 || hts_set_opt(in, CRAM_OPT_DECODE_MD, 0) != 0) {
        rc = zg_error_set(err, ZG_EIO, "", "the CRAM reference cannot be loaded");
        goto out;
    }
    hFILE *hin = cram_fd_get_fp(in->fp.cram);
    if (hseek(hin, (off_t)a, SEEK_SET) < 0) {
        rc = zg_error_set(err, ZG_EINVAL, "a", "not a container of this file");
        goto out;
    }
    int version = cram_fd_get_version(in->fp.cram);
    char vs[16];
    snprintf(vs, sizeof(vs), "%d.%d", version >> 8, version & 0xff);
    o = hts_open(tmp, "wc");
    if (!o || hts_set_opt(o, CRAM_OPT_VERSION, vs) != 0 ||
        hts_set_opt(o, HTS_OPT_COMPRESSION_LEVEL, EDGE_LEVEL) != 0 ||
        hts_set_opt(o, CRAM_OPT_USE_RANS, 0) != 0) {
        rc = zg_error_set(err, ZG_EIO, "", "cannot write the scratch CRAM");
        goto out;
    }
    sr = refs ? hts_set_opt(o, CRAM_OPT_SHARED_REF, refs) : hts_set_opt(o, CRAM_OPT_NO_REF, 1);
    if (sr != 0) {
        rc = zg_error_set(err, ZG_EIO, "", "cannot set the CRAM reference");
        goto out;
    }
    if (sam_hdr_write(o, h) < 0) {
        rc = zg_error_set(err, ZG_EIO, "", "cannot write the scratch CRAM");
        goto out;
    }
    int64_t nrec = cram_container_records(hf->path, a), nread = 0;
    int r = 0;
    while ((nrec < 0 || nread < nrec) && (r = sam_read1(in, h, rec)) >= 0) {
        nread++;
        if ((uint64_t)htell(hin) > b) /* the record came from the next container */
            break;
        const bam1_core_t *c = &rec->core;
        if (rg->tid >= 0 && (c->tid > rg->tid || (c->tid == rg->tid && c->pos >= rg->end)))
            break; /* coordinate-sorted (indexed): nothing after this overlaps */
        bool keep = rg->tid < 0 ? c->tid < 0
                                : c->tid == rg->tid && c->pos < rg->end && bam_endpos(rec) > rg->beg;
        if (keep && sam_write1(o, h, rec) < 0) {
            rc = zg_error_set(err, ZG_EIO, "", "cannot write the scratch CRAM");
            goto out;
        }
    }
    if (r < -1) {
        rc = zg_error_set(err, ZG_EIO, "", "a CRAM record could not be decoded");
        goto out;
    }
    int cr = hts_close(o);
    o = NULL;
    if (cr != 0) {
        rc = zg_error_set(err, ZG_EIO, "", "cannot write the scratch CRAM");
        goto out;
    }
    uint64_t size, hdr_end;
    int v2;
    if (file_size(tmp, &size) != 0 || cram_header_end(tmp, &hdr_end, &v2) != 0 ||
        size < hdr_end + sizeof(cram3_eof)) {
        rc = zg_error_set(err, ZG_EIO, "", "the scratch CRAM is unreadable");
        goto out;
    }
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = zg_error_set(err, ZG_EIO, "", "the scratch CRAM is unreadable");
        goto out;
    }
    rc = read_raw(fd, hdr_end, size - sizeof(cram3_eof), out, err);
    close(fd);
out:
    if (o)
        hts_close(o);
    if (in)
        hts_close(in);
    bam_destroy1(rec);
    if (h)
        sam_hdr_destroy(h);
    unlink(tmp);
    return rc;
}

/* CRAM as BAM: the header (header == true) or the records of container bytes [a, b) in the
 * region, decoded against the file's reference and written as BGZF-compressed BAM into a
 * scratch file, whose bytes without the EOF marker are appended to out. */
static int block_xbam(const struct zg_file_info *f, bool header, uint64_t a, uint64_t b,
                      const struct zg_hg_region *rg, const char *tmpdir, struct zg_buf *out,
                      struct zg_error *err)
{
    if (!header && (b <= a || b - a > (uint64_t)256 << 20))
        return zg_error_set(err, ZG_EINVAL, "b", "not a container of this file");
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s/zg-htsget-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int tfd = mkstemp(tmp);
    if (tfd < 0)
        return zg_error_set(err, ZG_EIO, "", "no scratch space for BAM encoding");
    close(tfd);
    int rc = 0;
    htsFile *in = hts_open(f->path, "r");
    sam_hdr_t *h = in ? sam_hdr_read(in) : NULL;
    bam1_t *rec = bam_init1();
    BGZF *o = NULL;
    if (!in || !h || !rec || in->format.format != cram) {
        rc = zg_error_set(err, ZG_EIO, "", "the CRAM file cannot be opened");
        goto out;
    }
    if (f->ref_fasta[0] && hts_set_fai_filename(in, f->ref_fasta) != 0) {
        rc = zg_error_set(err, ZG_EIO, "", "the CRAM reference cannot be loaded");
        goto out;
    }
    if (!(o = bgzf_open(tmp, "w"))) {
        rc = zg_error_set(err, ZG_EIO, "", "cannot write the scratch BAM");
        goto out;
    }
    if (header) {
        if (bam_hdr_write(o, h) < 0)
            rc = zg_error_set(err, ZG_EIO, "", "cannot write the scratch BAM");
    } else {
        hFILE *hf = cram_fd_get_fp(in->fp.cram);
        if (hseek(hf, (off_t)a, SEEK_SET) < 0) {
            rc = zg_error_set(err, ZG_EINVAL, "a", "not a container of this file");
            goto out;
        }
        int r;
        while ((r = sam_read1(in, h, rec)) >= 0) {
            if ((uint64_t)htell(hf) > b) /* the record came from the next container */
                break;
            const bam1_core_t *cc = &rec->core;
            bool keep = rg->tid == -2 ||
                        (rg->tid < 0 ? cc->tid < 0
                                     : cc->tid == rg->tid && cc->pos < rg->end &&
                                           bam_endpos(rec) > rg->beg);
            if (keep && bam_write1(o, rec) < 0) {
                rc = zg_error_set(err, ZG_EIO, "", "cannot write the scratch BAM");
                goto out;
            }
            if ((uint64_t)(bgzf_tell(o) >> 16) > ZG_HG_MAX_BLOCK - BGZF_MAX_BLOCK_SIZE) {
                rc = zg_error_set(err, ZG_ETOOBIG, "",
                                  "one CRAM container is larger than %zu bytes as BAM; ask for "
                                  "a smaller region or for format CRAM",
                                  ZG_HG_MAX_BLOCK);
                goto out;
            }
        }
        if (r < -1) {
            rc = zg_error_set(err, ZG_EIO, "", "a CRAM record could not be decoded");
            goto out;
        }
    }
    int cr = bgzf_close(o);
    o = NULL;
    if (rc)
        goto out;
    uint64_t size;
    if (cr != 0 || file_size(tmp, &size) != 0 || size < sizeof(bgzf_eof)) {
        rc = zg_error_set(err, ZG_EIO, "", "the scratch BAM is unreadable");
        goto out;
    }
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = zg_error_set(err, ZG_EIO, "", "the scratch BAM is unreadable");
        goto out;
    }
    rc = read_raw(fd, 0, size - sizeof(bgzf_eof), out, err);
    close(fd);
out:
    if (o)
        bgzf_close(o);
    bam_destroy1(rec);
    if (h)
        sam_hdr_destroy(h);
    if (in)
        hts_close(in);
    unlink(tmp);
    return rc;
}

int zg_htsget_block(struct zg_hg_cache *cache, const struct zg_file_info *f, enum zg_hg_kind kind,
                    uint64_t a, uint64_t b, const struct zg_hg_region *region, const char *tmpdir,
                    struct zg_buf *out, struct zg_error *err)
{
    switch (kind) {
    case ZG_HG_RAW: {
        if (b < a || b - a > ZG_HG_MAX_BLOCK)
            return zg_error_set(err, ZG_EINVAL, "b", "not a block of this file");
        int fd = open(f->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return zg_error_set(err, ZG_EIO, "", "the file cannot be opened");
        int rc = read_raw(fd, a, b, out, err);
        close(fd);
        return rc;
    }
    case ZG_HG_BGZF:
        if (f->format == ZG_FF_CRAM)
            return zg_error_set(err, ZG_EINVAL, "k", "not a BGZF file");
        return block_bgzf(f, a, b, out, err);
    case ZG_HG_CRAM:
        if (f->format != ZG_FF_CRAM || !region)
            return zg_error_set(err, ZG_EINVAL, "k", "not a CRAM file");
    {
        struct hg_file *hf;
        int rc = hg_acquire(cache, f, &hf, err);
        if (rc)
            return rc;
        /* one re-encoding at a time per file: they share its reference (see ref_mu) */
        pthread_mutex_lock(&hf->ref_mu);
        rc = block_cram(hf, a, b, region, tmpdir, out, err);
        pthread_mutex_unlock(&hf->ref_mu);
        hg_release(cache, hf);
        return rc;
    }
    case ZG_HG_XBAM_HEADER:
    case ZG_HG_XBAM:
        if (f->format != ZG_FF_CRAM || (kind == ZG_HG_XBAM && !region))
            return zg_error_set(err, ZG_EINVAL, "k", "not a CRAM file");
        return block_xbam(f, kind == ZG_HG_XBAM_HEADER, a, b, region, tmpdir, out, err);
    default: return zg_error_set(err, ZG_EINVAL, "k", "unknown block kind");
    }
}
