/* The genome file registry: validation with htslib, streaming checksums, content-addressed
 * storage under DATA/files/sha256/, and the registry rows (genome_files). */
#include "files.h"
#include "files_internal.h"
#include "common/error.h"
#include "common/clock.h"
#include "crypto/crypto.h"
#include "store/db.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <htslib/hts.h>
#include <htslib/sam.h>
#include <htslib/vcf.h>
#include <htslib/tbx.h>
#include <htslib/kseq.h>

#define COPY_CHUNK (1u << 20)

static const char *const format_names[] = {"unknown", "fastq", "bam", "cram", "vcf", "bcf"};

const char *zg_file_format_name(enum zg_file_format f)
{
    return (unsigned)f < ZG_ARRAY_LEN(format_names) ? format_names[f] : "unknown";
}

enum zg_file_format zg_file_format_parse(const char *s)
{
    for (size_t i = 1; s && i < ZG_ARRAY_LEN(format_names); i++)
        if (!strcmp(s, format_names[i]))
            return (enum zg_file_format)i;
    return ZG_FF_UNKNOWN;
}

static void copy_str(char *dst, size_t n, const char *src)
{
    size_t l = src ? strlen(src) : 0;
    if (l >= n)
        l = n - 1;
    if (l)
        memcpy(dst, src, l);
    dst[l] = '\0';
}

int zg_genome_mkdirs(const char *path, struct zg_error *err)
{
    char tmp[1100];
    copy_str(tmp, sizeof(tmp), path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) && errno != EEXIST)
            return zg_error_set(err, ZG_EIO, "", "cannot create directory %s: %s", tmp,
                                strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0700) && errno != EEXIST)
        return zg_error_set(err, ZG_EIO, "", "cannot create directory %s: %s", tmp,
                            strerror(errno));
    return 0;
}

int zg_file_digests_begin(struct zg_file_digests *d)
{
    d->sha = zg_sha256_begin();
    d->md5 = hts_md5_init();
    if (d->sha && d->md5)
        return 0;
    zg_file_digests_free(d);
    return ZG_ENOMEM;
}

void zg_file_digests_update(struct zg_file_digests *d, const void *p, size_t n)
{
    zg_sha256_update(d->sha, p, n);
    hts_md5_update(d->md5, p, (unsigned long)n);
}

bool zg_file_digests_end(struct zg_file_digests *d, char sha[65], char md5[33])
{
    unsigned char raw[16];
    hts_md5_final(raw, d->md5);
    hts_md5_hex(md5, raw);
    zg_sha256_end(d->sha, sha);
    d->sha = NULL;
    zg_file_digests_free(d);
    return sha[0] != '\0';
}

void zg_file_digests_free(struct zg_file_digests *d)
{
    zg_sha256_free(d->sha);
    if (d->md5)
        hts_md5_destroy(d->md5);
    d->sha = NULL;
    d->md5 = NULL;
}

/* Streams src into dst (when dst_fd >= 0) while computing MD5 and SHA-256. */
static int hash_copy(const char *src, int dst_fd, int64_t *size, char md5[33], char sha[65],
                     struct zg_error *err)
{
    int rc = 0;
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return zg_error_set(err, errno == ENOENT ? ZG_ENOTFOUND : ZG_EIO, "path",
                            "cannot open %s: %s", src, strerror(errno));
    unsigned char *buf = malloc(COPY_CHUNK);
    struct zg_file_digests dg = {0};
    if (!buf || zg_file_digests_begin(&dg)) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    *size = 0;
    for (;;) {
        ssize_t n = read(fd, buf, COPY_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = zg_error_set(err, ZG_EIO, "path", "read error: %s", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        zg_file_digests_update(&dg, buf, (size_t)n);
        *size += n;
        for (ssize_t off = 0; dst_fd >= 0 && off < n;) {
            ssize_t w = write(dst_fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = zg_error_set(err, ZG_EIO, "", "write error: %s", strerror(errno));
                goto out;
            }
            off += w;
        }
    }
    if (!zg_file_digests_end(&dg, sha, md5))
        rc = zg_error_set(err, ZG_EINTERNAL, "", "SHA-256 failed");
out:
    zg_file_digests_free(&dg);
    free(buf);
    close(fd);
    return rc;
}

static int copy_file(const char *src, const char *dst, struct zg_error *err)
{
    int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return zg_error_set(err, ZG_EIO, "", "cannot create %s: %s", dst, strerror(errno));
    int64_t size;
    char md5[33], sha[65];
    int rc = hash_copy(src, fd, &size, md5, sha, err);
    if (!rc && fsync(fd))
        rc = zg_error_set(err, ZG_EIO, "", "fsync failed: %s", strerror(errno));
    close(fd);
    if (rc)
        unlink(dst);
    return rc;
}

/* Reference genome from the length of chromosome 1 and header text markers. */
static const char *reference_from(int64_t chr1_len, const char *text)
{
    if (chr1_len == 249250621)
        return "GRCh37";
    if (chr1_len == 248956422)
        return "GRCh38";
    if (text && (strstr(text, "GRCh37") || strstr(text, "hg19") || strstr(text, "hs37d5") ||
                 strstr(text, "b37") || strstr(text, "human_g1k_v37")))
        return "GRCh37";
    return "GRCh38";
}

static bool is_chr1(const char *name)
{
    return !strcmp(name, "1") || !strcmp(name, "chr1");
}

/* Index file name conventions, by format. */
static const char *const bam_idx[] = {".bai", ".csi", NULL};
static const char *const cram_idx[] = {".crai", NULL};
static const char *const vcfgz_idx[] = {".tbi", ".csi", NULL};
static const char *const bcf_idx[] = {".csi", NULL};

static const char *const *index_exts(enum zg_file_format f, bool bgzf)
{
    switch (f) {
    case ZG_FF_BAM:
        return bam_idx;
    case ZG_FF_CRAM:
        return cram_idx;
    case ZG_FF_VCF:
        return bgzf ? vcfgz_idx : NULL;
    case ZG_FF_BCF:
        return bcf_idx;
    default:
        return NULL;
    }
}

struct probe {
    enum zg_file_format format;
    bool bgzf;
    const char *reference;
    char ext[12];
};

/* Checks that the index at idx belongs to the data file: it loads and a query over the first
 * sequence reads without error. */
static int check_index(const char *path, const char *idx, const struct probe *p,
                       const char *ref_fasta, struct zg_error *err)
{
    int rc = 0;
    htsFile *fp = hts_open(path, "r");
    if (!fp)
        return zg_error_set(err, ZG_EINVAL, "index", "cannot reopen the file");
    if (p->format == ZG_FF_CRAM && ref_fasta && *ref_fasta)
        hts_set_fai_filename(fp, ref_fasta);
    if (p->format == ZG_FF_BAM || p->format == ZG_FF_CRAM) {
        sam_hdr_t *h = sam_hdr_read(fp);
        hts_idx_t *ix = h ? sam_index_load2(fp, path, idx) : NULL;
        if (!ix) {
            rc = zg_error_set(err, ZG_EINVAL, "index", "the index cannot be read");
        } else if (sam_hdr_nref(h) > 0) {
            hts_itr_t *it = sam_itr_queryi(ix, 0, 0, HTS_POS_MAX);
            bam1_t *b = bam_init1();
            int r = it && b ? sam_itr_next(fp, it, b) : -2;
            if (r < -1)
                rc = zg_error_set(err, ZG_EINVAL, "index",
                                  "the index does not match the file (slice read failed)");
            bam_destroy1(b);
            hts_itr_destroy(it);
        }
        hts_idx_destroy(ix);
        sam_hdr_destroy(h);
    } else {
        bcf_hdr_t *h = bcf_hdr_read(fp);
        if (!h) {
            rc = zg_error_set(err, ZG_EINVAL, "index", "cannot reread the header");
        } else if (p->format == ZG_FF_BCF) {
            hts_idx_t *ix = bcf_index_load2(path, idx);
            if (!ix)
                rc = zg_error_set(err, ZG_EINVAL, "index", "the index cannot be read");
            hts_idx_destroy(ix);
        } else {
            tbx_t *t = tbx_index_load2(path, idx);
            if (!t) {
                rc = zg_error_set(err, ZG_EINVAL, "index", "the index cannot be read");
            } else {
                int nseq = 0;
                const char **names = tbx_seqnames(t, &nseq);
                if (nseq > 0) {
                    hts_itr_t *it = tbx_itr_querys(t, names[0]);
                    kstring_t s = {0, 0, NULL};
                    int r = it ? tbx_itr_next(fp, t, it, &s) : -2;
                    if (r < -1)
                        rc = zg_error_set(err, ZG_EINVAL, "index",
                                          "the index does not match the file (slice read failed)");
                    free(s.s);
                    hts_itr_destroy(it);
                }
                free(names);
                tbx_destroy(t);
            }
        }
        bcf_hdr_destroy(h);
    }
    hts_close(fp);
    return rc;
}

/* Validates the file at path with htslib: detects its format, parses the header, checks the
 * EOF marker and reads records (all of them for VCF/BCF, the first 10,000 for reads). */
int zg_genome_probe(const char *path, const char *ref_fasta, enum zg_file_format *format,
                    bool *is_bgzf, const char **reference, struct zg_error *err)
{
    int rc = 0;
    htsFile *fp = hts_open(path, "r");
    if (!fp)
        return zg_error_set(err, ZG_EINVAL, "path", "htslib cannot open the file");
    const htsFormat *f = hts_get_format(fp);
    *is_bgzf = f->compression == bgzf;
    *reference = "GRCh38";
    switch (f->format) {
    case bam:
        *format = ZG_FF_BAM;
        break;
    case cram:
        *format = ZG_FF_CRAM;
        break;
    case vcf:
        *format = ZG_FF_VCF;
        break;
    case bcf:
        *format = ZG_FF_BCF;
        break;
    case fastq_format:
        *format = ZG_FF_FASTQ;
        break;
    default:
        rc = zg_error_set(err, ZG_EINVAL, "path",
                          "not a FASTQ, BAM, CRAM, VCF or BCF file (htslib sees %s)",
                          hts_format_file_extension(f) ? hts_format_file_extension(f) : "?");
        goto out;
    }
    if (f->compression == bgzf || *format == ZG_FF_CRAM) {
        int e = hts_check_EOF(fp);
        if (e == 0) {
            rc = zg_error_set(err, ZG_EINVAL, "path",
                              "the end-of-file marker is missing: the file is truncated");
            goto out;
        }
        if (e < 0) {
            rc = zg_error_set(err, ZG_EINVAL, "path", "cannot check the end-of-file marker");
            goto out;
        }
    }
    if (*format == ZG_FF_CRAM && ref_fasta && *ref_fasta)
        hts_set_fai_filename(fp, ref_fasta);
    if (*format == ZG_FF_BAM || *format == ZG_FF_CRAM) {
        sam_hdr_t *h = sam_hdr_read(fp);
        if (!h) {
            rc = zg_error_set(err, ZG_EINVAL, "path", "the %s header is malformed",
                              zg_file_format_name(*format));
            goto out;
        }
        int64_t chr1 = 0;
        for (int i = 0; i < sam_hdr_nref(h); i++)
            if (is_chr1(sam_hdr_tid2name(h, i)))
                chr1 = sam_hdr_tid2len(h, i);
        *reference = reference_from(chr1, sam_hdr_str(h));
        bam1_t *b = bam_init1();
        int r = 0;
        /* CRAM records need the reference to decode; without one, the header and EOF suffice */
        long limit = (*format == ZG_FF_CRAM && !(ref_fasta && *ref_fasta)) ? 0 : 10000;
        for (long n = 0; b && n < limit && (r = sam_read1(fp, h, b)) >= 0; n++)
            ;
        if (!b || r < -1)
            rc = zg_error_set(err, ZG_EINVAL, "path", "a record is corrupt or truncated");
        bam_destroy1(b);
        sam_hdr_destroy(h);
    } else if (*format == ZG_FF_VCF || *format == ZG_FF_BCF) {
        bcf_hdr_t *h = bcf_hdr_read(fp);
        if (!h) {
            rc = zg_error_set(err, ZG_EINVAL, "path", "the VCF header is malformed");
            goto out;
        }
        int64_t chr1 = 0;
        int n = 0;
        const char **names = bcf_hdr_seqnames(h, &n);
        for (int i = 0; i < n; i++)
            if (is_chr1(names[i])) {
                int id = bcf_hdr_name2id(h, names[i]);
                chr1 = bcf_hdr_id2length(h, BCF_DT_CTG, id);
            }
        free(names);
        kstring_t txt = {0, 0, NULL};
        if (bcf_hdr_format(h, 0, &txt) == 0)
            *reference = reference_from(chr1, txt.s);
        free(txt.s);
        bcf1_t *rec = bcf_init();
        int r = 0;
        while (rec && (r = bcf_read(fp, h, rec)) == 0)
            ;
        if (!rec || r < -1 || (rec && (rec->errcode & ~(BCF_ERR_CTG_UNDEF | BCF_ERR_TAG_UNDEF))))
            rc = zg_error_set(err, ZG_EINVAL, "path", "a record is malformed or truncated");
        bcf_destroy(rec);
        bcf_hdr_destroy(h);
    } else {
        /* FASTQ: every record of the first 10,000 must have @name, sequence, +, qualities */
        kstring_t line = {0, 0, NULL};
        long n = 0;
        int r;
        size_t seqlen = 0;
        while (n < 40000 && (r = hts_getline(fp, '\n', &line)) >= 0) {
            int k = (int)(n % 4);
            if ((k == 0 && line.s[0] != '@') || (k == 2 && line.s[0] != '+') ||
                (k == 3 && line.l != seqlen)) {
                rc = zg_error_set(err, ZG_EINVAL, "path", "FASTQ record %ld is malformed",
                                  n / 4 + 1);
                break;
            }
            if (k == 1)
                seqlen = line.l;
            n++;
        }
        if (!rc && n % 4 != 0)
            rc = zg_error_set(err, ZG_EINVAL, "path", "the last FASTQ record is truncated");
        free(line.s);
    }
out:
    if (hts_close(fp) != 0 && !rc)
        rc = zg_error_set(err, ZG_EINVAL, "path", "the file is truncated or corrupt");
    return rc;
}

static void file_id_new(char out[ZG_FILE_ID_LEN])
{
    unsigned char r[6];
    zg_random_bytes(r, sizeof(r));
    char hex[13];
    zg_hex_encode(r, sizeof(r), hex);
    for (char *p = hex; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    snprintf(out, ZG_FILE_ID_LEN, "ZGF-%s", hex);
}

static bool valid_file_id(const char *id)
{
    if (!id || strlen(id) != 16 || strncmp(id, "ZGF-", 4))
        return false;
    for (const char *p = id + 4; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F')))
            return false;
    return true;
}

#define FILE_COLS                                                                                  \
    "id,format,case_id,IFNULL(specimen_id,''),org_id,name,size,md5,sha256,reference,pipeline,"     \
    "pipeline_version,data_kind,storage,path,index_path,ref_fasta,uri,created_at"

static void row_to_info(sqlite3_stmt *st, struct zg_file_info *o)
{
    memset(o, 0, sizeof(*o));
    copy_str(o->id, sizeof(o->id), zg_db_text(st, 0));
    o->format = zg_file_format_parse(zg_db_text(st, 1));
    copy_str(o->case_id, sizeof(o->case_id), zg_db_text(st, 2));
    copy_str(o->specimen_id, sizeof(o->specimen_id), zg_db_text(st, 3));
    o->org_id = sqlite3_column_int64(st, 4);
    copy_str(o->name, sizeof(o->name), zg_db_text(st, 5));
    o->size = sqlite3_column_int64(st, 6);
    copy_str(o->md5, sizeof(o->md5), zg_db_text(st, 7));
    copy_str(o->sha256, sizeof(o->sha256), zg_db_text(st, 8));
    copy_str(o->reference, sizeof(o->reference), zg_db_text(st, 9));
    copy_str(o->pipeline, sizeof(o->pipeline), zg_db_text(st, 10));
    copy_str(o->pipeline_version, sizeof(o->pipeline_version), zg_db_text(st, 11));
    copy_str(o->data_kind, sizeof(o->data_kind), zg_db_text(st, 12));
    copy_str(o->storage, sizeof(o->storage), zg_db_text(st, 13));
    copy_str(o->path, sizeof(o->path), zg_db_text(st, 14));
    copy_str(o->index_path, sizeof(o->index_path), zg_db_text(st, 15));
    copy_str(o->ref_fasta, sizeof(o->ref_fasta), zg_db_text(st, 16));
    copy_str(o->uri, sizeof(o->uri), zg_db_text(st, 17));
    o->created_at = sqlite3_column_int64(st, 18);
}

int zg_file_get(sqlite3 *db, const char *id, struct zg_file_info *out, struct zg_error *err)
{
    if (!valid_file_id(id))
        return zg_error_set(err, ZG_EINVAL, "id", "is not a file ID (ZGF- and 12 hex digits)");
    sqlite3_stmt *st = zg_db_prepare(db, "SELECT " FILE_COLS " FROM genome_files WHERE id=?", err);
    if (!st)
        return err->code;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    int rc = 0;
    if (r == SQLITE_ROW)
        row_to_info(st, out);
    else if (r == SQLITE_DONE)
        rc = zg_error_set(err, ZG_ENOTFOUND, "id", "no such file");
    else
        rc = zg_db_fail(db, r, err);
    zg_db_release(st);
    return rc;
}

static int find_existing(sqlite3 *db, const char *case_id, const char *sha,
                         struct zg_file_info *out, bool *found, struct zg_error *err)
{
    *found = false;
    sqlite3_stmt *st = zg_db_prepare(
        db, "SELECT " FILE_COLS " FROM genome_files WHERE case_id=? AND sha256=?", err);
    if (!st)
        return err->code;
    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW) {
        row_to_info(st, out);
        *found = true;
    } else if (r != SQLITE_DONE) {
        rc = zg_db_fail(db, r, err);
    }
    zg_db_release(st);
    return rc;
}

json_t *zg_file_json(const struct zg_file_info *f)
{
    return json_pack(
        "{s:s,s:s,s:s,s:s?,s:I,s:s,s:I,s:s,s:s,s:s,s:{s:s,s:s},s:s,s:s,s:s,s:b,"
        "s:b,s:I}",
        "id", f->id, "format", zg_file_format_name(f->format), "case_id", f->case_id, "specimen_id",
        *f->specimen_id ? f->specimen_id : NULL, "org_id", (json_int_t)f->org_id, "name", f->name,
        "size", (json_int_t)f->size, "md5", f->md5, "sha256", f->sha256, "reference", f->reference,
        "pipeline", "name", f->pipeline, "version", f->pipeline_version, "data_kind", f->data_kind,
        "storage", f->storage, "uri", f->storage[0] && !strcmp(f->storage, "local") ? "" : f->uri,
        "has_index", f->index_path[0] != '\0', "has_reference", f->ref_fasta[0] != '\0',
        "created_at", (json_int_t)f->created_at);
}

json_t *zg_file_list(sqlite3 *db, const char *case_id, int64_t org_id, int limit,
                     struct zg_error *err)
{
    if (case_id && org_id > 0) {
        int64_t owner = 0;
        if (zg_case_org(db, case_id, &owner, err))
            return NULL;
        if (owner != org_id) {
            zg_error_set(err, ZG_ENOTFOUND, "id", "no such case");
            return NULL;
        }
    }
    sqlite3_stmt *st = zg_db_prepare(
        db,
        case_id ? "SELECT " FILE_COLS " FROM genome_files WHERE case_id=?1 ORDER BY created_at, id"
                : "SELECT " FILE_COLS " FROM genome_files WHERE (?2<=0 OR org_id=?2)"
                  " ORDER BY created_at DESC, id LIMIT ?3",
        err);
    if (!st)
        return NULL;
    if (case_id)
        sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
    else {
        sqlite3_bind_int64(st, 2, org_id);
        sqlite3_bind_int(st, 3, limit);
    }
    json_t *arr = json_array();
    int r;
    struct zg_file_info f;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        row_to_info(st, &f);
        json_array_append_new(arr, zg_file_json(&f));
    }
    if (r != SQLITE_DONE) {
        zg_db_fail(db, r, err);
        json_decref(arr);
        arr = NULL;
    }
    zg_db_release(st);
    return arr ? json_pack("{s:o}", "files", arr) : NULL;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static bool exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Builds an index for a BGZF/BAM/CRAM file; true when one was written to idx. */
static bool build_index(const char *path, const char *idx, const struct probe *p)
{
    int r = -1;
    switch (p->format) {
    case ZG_FF_BAM:
        r = sam_index_build3(path, idx, 0, 1);
        break;
    case ZG_FF_CRAM:
        r = sam_index_build3(path, idx, 0, 1);
        break;
    case ZG_FF_BCF:
        r = bcf_index_build3(path, idx, 14, 1);
        break;
    case ZG_FF_VCF:
        if (p->bgzf)
            r = tbx_index_build3(path, idx, 0, 1, &tbx_conf_vcf);
        break;
    default:
        break;
    }
    if (r != 0)
        unlink(idx);
    return r == 0;
}

static void ext_for(struct probe *p)
{
    const char *e = "dat";
    switch (p->format) {
    case ZG_FF_FASTQ:
        e = p->bgzf ? "fastq.gz" : "fastq";
        break;
    case ZG_FF_BAM:
        e = "bam";
        break;
    case ZG_FF_CRAM:
        e = "cram";
        break;
    case ZG_FF_VCF:
        e = p->bgzf ? "vcf.gz" : "vcf";
        break;
    case ZG_FF_BCF:
        e = "bcf";
        break;
    default:
        break;
    }
    copy_str(p->ext, sizeof(p->ext), e);
}

static int lookup_case(sqlite3 *db, const char *case_text, const char *specimen_text,
                       char case_id[ZG_ID_LEN], char specimen_id[ZG_ID_LEN], int64_t *org_id,
                       struct zg_error *err)
{
    enum zg_id_kind kind;
    int rc;
    if (!case_text)
        return zg_error_set(err, ZG_EINVAL, "case", "a case ID is required");
    if ((rc = zg_id_parse(case_text, &kind, case_id, err)))
        return zg_error_set(err, rc, "case", "%s", err->reason);
    if (kind != ZG_ID_CASE)
        return zg_error_set(err, ZG_EINVAL, "case", "is not a case ID (ZGC-…)");
    if ((rc = zg_case_org(db, case_id, org_id, err)))
        return zg_error_set(err, rc, "case", "no such case");
    specimen_id[0] = '\0';
    if (specimen_text && *specimen_text) {
        if ((rc = zg_id_parse(specimen_text, &kind, specimen_id, err)) || kind != ZG_ID_SPECIMEN)
            return zg_error_set(err, ZG_EINVAL, "specimen", "is not a specimen ID (ZGS-…)");
        sqlite3_stmt *st =
            zg_db_prepare(db, "SELECT 1 FROM specimens WHERE id=? AND case_id=?", err);
        if (!st)
            return err->code;
        sqlite3_bind_text(st, 1, specimen_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, case_id, -1, SQLITE_STATIC);
        int r = sqlite3_step(st);
        zg_db_release(st);
        if (r != SQLITE_ROW)
            return zg_error_set(err, ZG_ENOTFOUND, "specimen", "no such specimen in this case");
    }
    return 0;
}

/* Records a file in one savepoint: its row (st, the bound INSERT; NULL when the row exists and
 * out is it) and what the caller records with it (opts->recorded: an upload's state), both or
 * neither. An INSERT that meets the same content recorded for the case meanwhile (two finishes
 * of one file at once) takes that row, as when it is found before. st is released. */
static int record_file(sqlite3 *db, sqlite3_stmt *st, const struct zg_file_add_opts *opts,
                       const char *case_id, const char *sha, struct zg_file_info *out,
                       struct zg_error *err)
{
    bool outermost = sqlite3_get_autocommit(db) != 0;
    int rc = zg_db_exec(db, "SAVEPOINT zg_file_record", err);
    if (rc) {
        zg_db_release(st);
        return rc; /* the stored content stays; a retry finds and records it */
    }
    int r = st ? sqlite3_step(st) : SQLITE_DONE;
    zg_db_release(st);
    if ((r & 0xff) == SQLITE_CONSTRAINT) {
        struct zg_error e3;
        bool again = false;
        char id[sizeof(out->id)];
        copy_str(id, sizeof(id), out->id);
        if (zg_db_exec(db, "ROLLBACK TO zg_file_record", &e3) == 0 &&
            find_existing(db, case_id, sha, out, &again, &e3) == 0 && again)
            r = SQLITE_DONE;
        else
            copy_str(out->id, sizeof(out->id), id);
    }
    rc = r == SQLITE_DONE ? 0 : zg_db_fail(db, r, err);
    if (!rc && opts->recorded)
        rc = opts->recorded(opts->recorded_ctx, db, out, err);
    struct zg_error e2;
    if (!rc) {
        if ((rc = zg_db_exec(db, "RELEASE zg_file_record", err)) && outermost)
            zg_db_rollback(db);
    } else if ((zg_db_exec(db, "ROLLBACK TO zg_file_record", &e2) ||
                zg_db_exec(db, "RELEASE zg_file_record", &e2)) &&
               outermost) {
        zg_db_rollback(db); /* the savepoint was the transaction: nothing of it stays */
    }
    return rc;
}

int zg_file_add(const struct zg_datadir *dd, sqlite3 *db, const char *src,
                const struct zg_file_add_opts *opts, struct zg_file_info *out, struct zg_error *err)
{
    char case_id[ZG_ID_LEN], specimen_id[ZG_ID_LEN];
    int64_t org_id = 0;
    int rc = lookup_case(db, opts->case_id, opts->specimen_id, case_id, specimen_id, &org_id, err);
    if (rc)
        return rc;
    if (opts->reference && strcmp(opts->reference, "GRCh38") && strcmp(opts->reference, "GRCh37"))
        return zg_error_set(err, ZG_EINVAL, "reference", "must be GRCh38 or GRCh37");
    if (opts->data_kind && strcmp(opts->data_kind, "reads") && strcmp(opts->data_kind, "somatic") &&
        strcmp(opts->data_kind, "germline") && strcmp(opts->data_kind, "sv") &&
        strcmp(opts->data_kind, "cnv"))
        return zg_error_set(err, ZG_EINVAL, "kind", "must be reads, somatic, germline, sv or cnv");
    if (opts->index_path && !exists(opts->index_path))
        return zg_error_set(err, ZG_ENOTFOUND, "index", "no such index file");

    char root[1024], tmpdir[1100], tmp[1200], tmpidx[1200];
    zg_datadir_file(dd, "files", root, sizeof(root));
    snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", root);
    if ((rc = zg_genome_mkdirs(tmpdir, err)))
        return rc;
    char rnd[33];
    zg_random_token(16, rnd, sizeof(rnd));
    snprintf(tmp, sizeof(tmp), "%s/%s", tmpdir, rnd);
    snprintf(tmpidx, sizeof(tmpidx), "%s/%s.idx", tmpdir, rnd);

    /* 1. one streaming pass: copy (or move) into the store's tmp/ while hashing */
    int64_t size = 0;
    char md5[33], sha[65];
    struct stat sb;
    bool linked = false; /* src stays until the file is recorded (then it is removed) */
    if (opts->move) {
        linked = link(src, tmp) == 0;
        if (!linked && rename(src, tmp))
            return zg_error_set(err, ZG_EIO, "path", "cannot move the file into the store: %s",
                                strerror(errno));
        if (opts->known_md5 && opts->expect_sha256 && strlen(opts->known_md5) == 32 &&
            strlen(opts->expect_sha256) == 64 && !stat(tmp, &sb) &&
            (int64_t)sb.st_size == opts->known_size) { /* hashed as it arrived */
            size = sb.st_size;
            copy_str(md5, sizeof(md5), opts->known_md5);
            copy_str(sha, sizeof(sha), opts->expect_sha256);
        } else if ((rc = hash_copy(tmp, -1, &size, md5, sha, err))) {
            goto fail;
        }
    } else {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return zg_error_set(err, ZG_EIO, "", "cannot create %s: %s", tmp, strerror(errno));
        rc = hash_copy(src, fd, &size, md5, sha, err);
        if (!rc && fsync(fd))
            rc = zg_error_set(err, ZG_EIO, "", "fsync failed: %s", strerror(errno));
        close(fd);
        if (rc)
            goto fail;
    }
    if (size == 0) {
        rc = zg_error_set(err, ZG_EINVAL, "path", "the file is empty");
        goto fail;
    }
    if (opts->expect_sha256 && strcmp(sha, opts->expect_sha256)) {
        rc = zg_error_set(err, ZG_EINVAL, "sha256",
                          "the data received does not match the declared SHA-256; the upload "
                          "was discarded");
        goto fail;
    }
    bool found = false;
    if ((rc = find_existing(db, case_id, sha, out, &found, err)))
        goto fail;
    if (found) { /* the same content for the same case: idempotent */
        unlink(tmp);
        rc = record_file(db, NULL, opts, case_id, sha, out, err);
        if (!rc && linked)
            unlink(src);
        return rc;
    }

    /* 2. validate what was stored (not the source, which may change) */
    struct probe p = {0};
    if ((rc = zg_genome_probe(tmp, opts->ref_fasta, &p.format, &p.bgzf, &p.reference, err))) {
        if (access(tmp, F_OK)) /* not the data's fault: it was removed meanwhile */
            rc = zg_error_set(err, ZG_EIO, "", "the file went missing while it was checked");
        goto fail;
    }
    ext_for(&p);

    /* 3. the index: given, found beside the source, or built */
    bool have_idx = false;
    const char *const *exts = index_exts(p.format, p.bgzf);
    char idx_ext[8] = "";
    if (opts->index_path) {
        if (!exts) {
            rc = zg_error_set(err, ZG_EINVAL, "index", "%s files are not indexed",
                              zg_file_format_name(p.format));
            goto fail;
        }
        const char *dot = strrchr(opts->index_path, '.');
        copy_str(idx_ext, sizeof(idx_ext), dot ? dot : exts[0]);
        if ((rc = copy_file(opts->index_path, tmpidx, err)))
            goto fail;
        have_idx = true;
    } else if (exts && !opts->move) {
        for (size_t i = 0; exts[i] && !have_idx; i++) {
            char cand[1100];
            snprintf(cand, sizeof(cand), "%s%s", src, exts[i]);
            if (exists(cand)) {
                if ((rc = copy_file(cand, tmpidx, err)))
                    goto fail;
                copy_str(idx_ext, sizeof(idx_ext), exts[i]);
                have_idx = true;
            }
        }
    }
    if (have_idx) {
        /* htslib needs the conventional suffix to recognise the index kind */
        char named[1300];
        snprintf(named, sizeof(named), "%s%s", tmp, idx_ext);
        if (rename(tmpidx, named)) {
            rc = zg_error_set(err, ZG_EIO, "", "cannot rename the index");
            goto fail;
        }
        copy_str(tmpidx, sizeof(tmpidx), named);
        if ((rc = check_index(tmp, tmpidx, &p, opts->ref_fasta, err))) {
            unlink(tmpidx);
            goto fail;
        }
    } else if (exts) {
        snprintf(tmpidx, sizeof(tmpidx), "%s%s", tmp, exts[0]);
        have_idx = build_index(tmp, tmpidx, &p);
        copy_str(idx_ext, sizeof(idx_ext), exts[0]);
    }

    /* 4. publish into the content-addressed store, then record */
    char dir[1200], final[1300], finalidx[1400];
    snprintf(dir, sizeof(dir), "%s/sha256/%.2s", root, sha);
    if ((rc = zg_genome_mkdirs(dir, err)))
        goto fail_idx;
    snprintf(final, sizeof(final), "%s/%s.%s", dir, sha, p.ext);
    snprintf(finalidx, sizeof(finalidx), "%s%s", final, idx_ext);
    if (rename(tmp, final)) {
        rc = zg_error_set(err, ZG_EIO, "", "cannot publish into the store: %s", strerror(errno));
        goto fail_idx;
    }
    if (have_idx && rename(tmpidx, finalidx)) {
        rc = zg_error_set(err, ZG_EIO, "", "cannot publish the index: %s", strerror(errno));
        goto fail_idx;
    }

    memset(out, 0, sizeof(*out));
    file_id_new(out->id);
    out->format = p.format;
    copy_str(out->case_id, sizeof(out->case_id), case_id);
    copy_str(out->specimen_id, sizeof(out->specimen_id), specimen_id);
    out->org_id = org_id;
    copy_str(out->name, sizeof(out->name), opts->name ? opts->name : base_name(src));
    out->size = size;
    copy_str(out->md5, sizeof(out->md5), md5);
    copy_str(out->sha256, sizeof(out->sha256), sha);
    copy_str(out->reference, sizeof(out->reference),
             opts->reference ? opts->reference : p.reference);
    copy_str(out->pipeline, sizeof(out->pipeline), opts->pipeline ? opts->pipeline : "unspecified");
    copy_str(out->pipeline_version, sizeof(out->pipeline_version), opts->pipeline_version);
    copy_str(out->data_kind, sizeof(out->data_kind),
             opts->data_kind                                    ? opts->data_kind
             : (p.format == ZG_FF_VCF || p.format == ZG_FF_BCF) ? "somatic"
                                                                : "reads");
    copy_str(out->storage, sizeof(out->storage), "local");
    copy_str(out->path, sizeof(out->path), final);
    copy_str(out->index_path, sizeof(out->index_path), have_idx ? finalidx : "");
    copy_str(out->ref_fasta, sizeof(out->ref_fasta), opts->ref_fasta);
    memcpy(out->uri, "file://", 7);
    copy_str(out->uri + 7, sizeof(out->uri) - 7, final);
    out->created_at = zg_clock_now();

    sqlite3_stmt *st = zg_db_prepare(
        db,
        "INSERT INTO genome_files(id,case_id,specimen_id,org_id,format,name,size,md5,sha256,"
        "reference,pipeline,pipeline_version,data_kind,storage,path,index_path,ref_fasta,uri,"
        "created_at) VALUES(?,?,NULLIF(?,''),?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        err);
    if (!st)
        return err->code; /* the stored content stays; a retry finds and records it */
    sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, out->case_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, out->specimen_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, out->org_id);
    sqlite3_bind_text(st, 5, zg_file_format_name(out->format), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, out->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, out->size);
    sqlite3_bind_text(st, 8, out->md5, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, out->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, out->reference, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, out->pipeline, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, out->pipeline_version, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, out->data_kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, out->storage, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 15, out->path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 16, out->index_path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 17, out->ref_fasta, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 18, out->uri, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 19, out->created_at);
    rc = record_file(db, st, opts, case_id, sha, out, err);
    if (!rc && linked)
        unlink(src);
    return rc;

fail_idx:
    unlink(tmpidx);
fail:
    unlink(tmp);
    return rc;
}
