/* htsget slicing: index → plan of exact data blocks, and the bytes of one block (htsget.h).
 *
 * BGZF files (BAM, bgzipped VCF, BCF) in coordinate order hold the records overlapping a region
 * as (1) a few records before the first one starting inside the region (long records reaching
 * into it), found by walking the index chunks from the linear-index start, and (2) one
 * contiguous run from the first record starting at or after `start` to the first record
 * starting at or after `end`, found by reading only around the two boundaries. Each run is
 * served as: the tail of its first BGZF block (decompressed, cut, recompressed), the untouched
 * blocks in between (raw bytes), the head of its last block (recompressed). */
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
    /* adjacent pieces of the same kind and class merge when the result stays one block */
    if (p->n) {
        struct zg_hg_piece *last = &p->pieces[p->n - 1];
        if (last->kind == kind && last->header == header && last->b == a &&
            (kind == ZG_HG_RAW || kind == ZG_HG_BGZF)) {
            uint64_t span = kind == ZG_HG_RAW ? b - last->a : COFF(b) - COFF(last->a);
            if (span <= ZG_HG_MAX_BLOCK) {
                last->b = b;
                return 0;
            }
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

/* Adds the uncompressed span [vs, ve) of a BGZF file, split at block boundaries so that no
 * piece spans more than ZG_HG_MAX_BLOCK compressed bytes. */
static int add_bgzf_span(struct zg_hg_plan *p, int fd, bool header, uint64_t vs, uint64_t ve,
                         struct zg_error *err)
{
    if (ve <= vs)
        return 0;
    while (COFF(ve) - COFF(vs) > ZG_HG_MAX_BLOCK - BGZF_MAX_BLOCK_SIZE) {
        uint64_t c = COFF(vs), next = c, size;
        for (;;) {
            if (bgzf_block_size(fd, c, &size))
                return zg_error_set(err, ZG_EIO, "", "BGZF block at byte %llu is damaged",
                                    (unsigned long long)c);
            if (c + size - COFF(vs) > ZG_HG_MAX_BLOCK - BGZF_MAX_BLOCK_SIZE || c + size > COFF(ve))
                break;
            c += size;
            next = c;
        }
        if (next == COFF(vs)) /* one block larger than the bound cannot happen in BGZF */
            return zg_error_set(err, ZG_EIO, "", "BGZF block too large");
        int rc = add_piece(p, ZG_HG_BGZF, header, vs, VOFF(next, 0), NULL, 0, err);
        if (rc)
            return rc;
        vs = VOFF(next, 0);
    }
    return add_piece(p, ZG_HG_BGZF, header, vs, ve, NULL, 0, err);
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

static int no_readrec(BGZF *fp, void *data, void *r, int *tid, hts_pos_t *beg, hts_pos_t *end)
{
    (void)fp, (void)data, (void)r, (void)tid, (void)beg, (void)end;
    return -1;
}

/* A record reader positioned by BGZF virtual offsets. */
struct scan {
    enum zg_file_format fmt;
    htsFile *fp;
    BGZF *z;
    bam1_t *b;
    bcf1_t *v;
    tbx_t *tbx;
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
static int plan_bgzf_region(struct zg_hg_plan *p, struct scan *s, const hts_idx_t *idx, int fd,
                            struct zg_error *err)
{
    int rc = 0, tid = p->tid;
    hts_pos_t beg = p->beg, end = p->end;
    hts_itr_t *itr = hts_itr_query(idx, tid, beg, end, no_readrec);
    hts_itr_t *all = NULL, *after = NULL;
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
    all = hts_itr_query(idx, tid, 0, HTS_POS_MAX, no_readrec);
    if (!all) {
        rc = zg_error_set(err, ZG_EIO, "", "the index cannot be queried");
        goto out;
    }
    uint64_t tid_end = 0; /* just after the reference's last record */
    for (int i = 0; i < all->n_off; i++)
        if (all->off[i].v > tid_end)
            tid_end = all->off[i].v;
    uint64_t last_end = tid_end;
    if (end < HTS_POS_MAX) {
        after = hts_itr_query(idx, tid, end, HTS_POS_MAX, no_readrec);
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
    hts_itr_destroy(all);
    hts_itr_destroy(after);
    return rc;
}

static void scan_close(struct scan *s)
{
    if (s->b)
        bam_destroy1(s->b);
    if (s->v)
        bcf_destroy(s->v);
    if (s->tbx)
        tbx_destroy(s->tbx);
    free(s->line.s);
    if (s->fp)
        hts_close(s->fp);
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

static int plan_bgzf(const struct zg_file_info *f, const struct zg_hg_query *q,
                     struct zg_hg_plan *p, struct zg_error *err)
{
    struct scan s = {.fmt = f->format};
    hts_idx_t *idx = NULL;
    sam_hdr_t *sh = NULL;
    bcf_hdr_t *vh = NULL;
    int rc = 0, fd = -1;
    uint64_t size;
    if (file_size(f->path, &size) != 0 || (fd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0)
        return zg_error_set(err, ZG_EIO, "", "the file cannot be opened");
    s.fp = hts_open(f->path, "r");
    if (!s.fp) {
        rc = zg_error_set(err, ZG_EIO, "", "the file cannot be opened");
        goto out;
    }
    if (s.fp->format.compression != bgzf) {
        /* a plain-text VCF has no index: only the whole file can be served */
        if (q->ref) {
            rc = zg_error_set(err, ZG_EINVAL, "referenceName",
                              "the file is not BGZF-compressed and indexed, so it cannot be "
                              "sliced by region");
            goto out;
        }
        rc = add_raw_span(p, false, 0, size, err);
        goto out;
    }
    s.z = s.fp->fp.bgzf;
    int (*lookup)(void *, const char *) = NULL;
    void *lctx = NULL;
    if (f->format == ZG_FF_BAM) {
        sh = sam_hdr_read(s.fp);
        s.b = bam_init1();
        lookup = lookup_sam, lctx = sh;
    } else {
        vh = bcf_hdr_read(s.fp);
        if (f->format == ZG_FF_BCF) {
            s.v = bcf_init();
            lookup = lookup_bcf, lctx = vh;
        }
    }
    if ((f->format == ZG_FF_BAM && (!sh || !s.b)) || (f->format != ZG_FF_BAM && !vh)) {
        rc = zg_error_set(err, ZG_EIO, "", "the file header cannot be read");
        goto out;
    }
    uint64_t hdr_end = (uint64_t)bgzf_tell(s.z);
    bool has_eof = bgzf_check_EOF(s.z) == 1;
    uint64_t data_end = has_eof ? VOFF(size - sizeof(bgzf_eof), 0) : VOFF(size, 0);

    if ((rc = add_bgzf_span(p, fd, true, 0, hdr_end, err)))
        goto out;
    if (q->header_only)
        goto eof;
    if (!q->ref) {
        if ((rc = add_bgzf_span(p, fd, false, hdr_end, data_end, err)))
            goto out;
        goto eof;
    }
    const char *ipath = f->index_path[0] ? f->index_path : NULL;
    if (f->format == ZG_FF_VCF) {
        s.tbx = tbx_index_load3(f->path, ipath, HTS_IDX_SILENT_FAIL);
        if (s.tbx)
            idx = s.tbx->idx, lookup = lookup_tbx, lctx = s.tbx;
    } else {
        idx = f->format == ZG_FF_BAM ? sam_index_load3(s.fp, f->path, ipath, HTS_IDX_SILENT_FAIL)
                                     : bcf_index_load3(f->path, ipath, HTS_IDX_SILENT_FAIL);
    }
    if (!idx) {
        rc = zg_error_set(err, ZG_EIO, "", "the file's index cannot be read");
        goto out;
    }
    if (!strcmp(q->ref, "*")) {
        if (f->format != ZG_FF_BAM) {
            rc = zg_error_set(err, ZG_EINVAL, "referenceName",
                              "\"*\" (unplaced unmapped reads) applies to reads only");
            goto out;
        }
        hts_itr_t *itr = hts_itr_query(idx, HTS_IDX_NOCOOR, 0, 0, no_readrec);
        if (!itr) {
            rc = zg_error_set(err, ZG_EIO, "", "the index cannot be queried");
            goto out;
        }
        p->tid = -1;
        snprintf(p->ref, sizeof(p->ref), "*");
        if (!itr->finished && itr->curr_off)
            rc = add_bgzf_span(p, fd, false, itr->curr_off, data_end, err);
        hts_itr_destroy(itr);
        if (rc)
            goto out;
        goto eof;
    }
    p->tid = resolve_ref(q->ref, lookup, lctx, p->ref, sizeof(p->ref));
    if (p->tid < 0) {
        rc = zg_error_set(err, ZG_ENOTFOUND, "referenceName",
                          "reference '%.100s' is not in the file", q->ref);
        goto out;
    }
    p->beg = q->start >= 0 ? q->start : 0;
    p->end = q->end >= 0 ? q->end : HTS_POS_MAX;
    if (p->end > p->beg && (rc = plan_bgzf_region(p, &s, idx, fd, err)))
        goto out;
eof:
    if (has_eof)
        rc = add_piece(p, ZG_HG_DATA, false, 0, 0, bgzf_eof, sizeof(bgzf_eof), err);
out:
    if (idx && !s.tbx)
        hts_idx_destroy(idx);
    if (sh)
        sam_hdr_destroy(sh);
    if (vh)
        bcf_hdr_destroy(vh);
    scan_close(&s);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ----------------------------------------------------------------------- CRAM ---- */

struct crai_entry {
    int tid;
    int64_t start, span; /* 1-based start as in the .crai */
    uint64_t container;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

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

static char *crai_path(const struct zg_file_info *f, char *buf, size_t bufsz)
{
    if (f->index_path[0])
        return (char *)f->index_path;
    snprintf(buf, bufsz, "%s.crai", f->path);
    return buf;
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
static int plan_cram(const struct zg_file_info *f, const struct zg_hg_query *q,
                     struct zg_hg_plan *p, struct zg_error *err)
{
    uint64_t size, hdr_end;
    int version, rc = 0;
    if (file_size(f->path, &size) != 0 || cram_header_end(f->path, &hdr_end, &version) != 0)
        return zg_error_set(err, ZG_EIO, "", "the CRAM file cannot be opened");
    bool v3 = (version >> 8) == 3, bam = q->as_bam;
    bool has_eof = v3 && cram3_has_eof(f->path, size);
    uint64_t data_end = has_eof ? size - sizeof(cram3_eof) : size;
    p->format = bam ? ZG_FF_BAM : ZG_FF_CRAM;
    rc = bam ? add_piece(p, ZG_HG_XBAM_HEADER, true, 0, hdr_end, NULL, 0, err)
             : add_raw_span(p, true, 0, hdr_end, err);
    if (rc)
        return rc;
    if (q->header_only)
        goto eof;
    if (!q->ref && !bam) {
        if ((rc = add_raw_span(p, false, hdr_end, data_end, err)))
            return rc;
        goto eof;
    }

    struct crai_entry *e = NULL;
    size_t ne = 0;
    char ib[1100];
    if ((rc = crai_read(crai_path(f, ib, sizeof(ib)), &e, &ne, err)))
        return rc;
    uint64_t *starts = NULL;
    if (!q->ref) { /* the whole file as BAM: every container */
        p->tid = -2;
        p->beg = 0;
        p->end = HTS_POS_MAX;
    } else if (!strcmp(q->ref, "*")) {
        p->tid = -1;
        snprintf(p->ref, sizeof(p->ref), "*");
    } else {
        htsFile *fp = hts_open(f->path, "r");
        sam_hdr_t *h = fp ? sam_hdr_read(fp) : NULL;
        p->tid = h ? resolve_ref(q->ref, lookup_sam, h, p->ref, sizeof(p->ref)) : -2;
        if (h)
            sam_hdr_destroy(h);
        if (fp)
            hts_close(fp);
        if (p->tid == -2) {
            rc = zg_error_set(err, ZG_EIO, "", "the CRAM header cannot be read");
            goto out;
        }
        if (p->tid < 0) {
            rc = zg_error_set(err, ZG_ENOTFOUND, "referenceName",
                              "reference '%.100s' is not in the file", q->ref);
            goto out;
        }
    }
    if (q->ref) {
        p->beg = q->start >= 0 ? q->start : 0;
        p->end = q->end >= 0 ? q->end : HTS_POS_MAX;
    }
    if (p->tid >= 0 && p->end <= p->beg)
        goto eof_free;

    /* distinct container offsets, sorted: a container ends where the next one starts */
    starts = malloc((ne + 1) * sizeof(*starts));
    if (!starts) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ne; i++)
        starts[i] = e[i].container;
    qsort(starts, ne, sizeof(*starts), cmp_u64);
    size_t nc = 0;
    for (size_t i = 0; i < ne; i++)
        if (!nc || starts[nc - 1] != starts[i])
            starts[nc++] = starts[i];
    for (size_t c = 0; c < nc; c++) {
        uint64_t cs = starts[c], ce = c + 1 < nc ? starts[c + 1] : data_end;
        bool any = false, inside = true;
        for (size_t i = 0; i < ne; i++) {
            if (e[i].container != cs)
                continue;
            if (p->tid == -2) { /* whole file */
                any = true;
                continue;
            }
            if (p->tid < 0) { /* unplaced: containers of unmapped reads only */
                if (e[i].tid == -1)
                    any = true;
                else
                    inside = false;
                continue;
            }
            int64_t sb = e[i].start - 1, se = e[i].start - 1 + e[i].span;
            bool overlap = e[i].tid == -2 || (e[i].tid == p->tid && sb < p->end && se > p->beg);
            if (overlap)
                any = true;
            if (e[i].tid != p->tid || sb < p->beg || se > p->end)
                inside = false;
        }
        if (!any)
            continue;
        if (bam)
            rc = add_piece(p, ZG_HG_XBAM, false, cs, ce, NULL, 0, err);
        else if (inside || !v3)
            rc = add_raw_span(p, false, cs, ce, err);
        else
            rc = add_piece(p, ZG_HG_CRAM, false, cs, ce, NULL, 0, err);
        if (rc)
            goto out;
    }
eof_free:
    free(starts);
    free(e);
eof:
    if (bam)
        rc = add_piece(p, ZG_HG_DATA, false, 0, 0, bgzf_eof, sizeof(bgzf_eof), err);
    else if (has_eof)
        rc = add_piece(p, ZG_HG_DATA, false, 0, 0, cram3_eof, sizeof(cram3_eof), err);
    return rc;
out:
    free(starts);
    free(e);
    return rc;
}

int zg_htsget_plan(const struct zg_file_info *f, const struct zg_hg_query *q,
                   struct zg_hg_plan *plan, struct zg_error *err)
{
    memset(plan, 0, sizeof(*plan));
    plan->tid = -1;
    plan->format = f->format;
    int rc = check_query(q, err);
    if (rc)
        return rc;
    switch (f->format) {
    case ZG_FF_BAM:
    case ZG_FF_VCF:
    case ZG_FF_BCF: rc = plan_bgzf(f, q, plan, err); break;
    case ZG_FF_CRAM: rc = plan_cram(f, q, plan, err); break;
    default:
        return zg_error_set(err, ZG_EINVAL, "format", "%s files are not served by htsget",
                            zg_file_format_name(f->format));
    }
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
        if (bgzf_compress(dst, &dlen, src, chunk, 6) != 0)
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

/* Re-encodes the records of CRAM container bytes [a, b) that overlap the region into new
 * containers (same CRAM version, header and reference), via a scratch CRAM file. */
static int block_cram(const struct zg_file_info *f, uint64_t a, uint64_t b,
                      const struct zg_hg_region *rg, const char *tmpdir, struct zg_buf *out,
                      struct zg_error *err)
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
    htsFile *in = hts_open(f->path, "r"), *o = NULL;
    sam_hdr_t *h = in ? sam_hdr_read(in) : NULL;
    bam1_t *rec = bam_init1();
    if (!in || !h || !rec) {
        rc = zg_error_set(err, ZG_EIO, "", "the CRAM file cannot be opened");
        goto out;
    }
    if (f->ref_fasta[0] && hts_set_fai_filename(in, f->ref_fasta) != 0) {
        rc = zg_error_set(err, ZG_EIO, "", "the CRAM reference cannot be loaded");
        goto out;
    }
    hFILE *hf = cram_fd_get_fp(in->fp.cram);
    if (hseek(hf, (off_t)a, SEEK_SET) < 0) {
        rc = zg_error_set(err, ZG_EINVAL, "a", "not a container of this file");
        goto out;
    }
    int version = cram_fd_get_version(in->fp.cram);
    char vs[16];
    snprintf(vs, sizeof(vs), "%d.%d", version >> 8, version & 0xff);
    o = hts_open(tmp, "wc");
    if (!o || hts_set_opt(o, CRAM_OPT_VERSION, vs) != 0) {
        rc = zg_error_set(err, ZG_EIO, "", "cannot write the scratch CRAM");
        goto out;
    }
    if (f->ref_fasta[0] ? hts_set_fai_filename(o, f->ref_fasta) != 0
                        : hts_set_opt(o, CRAM_OPT_NO_REF, 1) != 0) {
        rc = zg_error_set(err, ZG_EIO, "", "cannot set the CRAM reference");
        goto out;
    }
    if (sam_hdr_write(o, h) < 0) {
        rc = zg_error_set(err, ZG_EIO, "", "cannot write the scratch CRAM");
        goto out;
    }
    int r;
    while ((r = sam_read1(in, h, rec)) >= 0) {
        if ((uint64_t)htell(hf) > b) /* the record came from the next container */
            break;
        const bam1_core_t *c = &rec->core;
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
    bam_destroy1(rec);
    if (h)
        sam_hdr_destroy(h);
    if (in)
        hts_close(in);
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

int zg_htsget_block(const struct zg_file_info *f, enum zg_hg_kind kind, uint64_t a, uint64_t b,
                    const struct zg_hg_region *region, const char *tmpdir, struct zg_buf *out,
                    struct zg_error *err)
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
        return block_cram(f, a, b, region, tmpdir, out, err);
    case ZG_HG_XBAM_HEADER:
    case ZG_HG_XBAM:
        if (f->format != ZG_FF_CRAM || (kind == ZG_HG_XBAM && !region))
            return zg_error_set(err, ZG_EINVAL, "k", "not a CRAM file");
        return block_xbam(f, kind == ZG_HG_XBAM_HEADER, a, b, region, tmpdir, out, err);
    default: return zg_error_set(err, ZG_EINVAL, "k", "unknown block kind");
    }
}
