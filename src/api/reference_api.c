/* The reference FASTA (and its .fai) a registered BAM/CRAM file was aligned to, served with
 * HTTP byte ranges so that a genome viewer (igv.js in the portal) can show the reference bases
 * under the reads. Authentication, the policy decision and audit happen in http/. */
#include "api.h"
#include "common/error.h"
#include "genome/files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* One byte range of a Range header value, RFC 9110 §14.1.2: "bytes=A-B", "bytes=A-" or
 * "bytes=-N" (the last N bytes). Several ranges in one request are not served.
 * Returns 0 with [*first, *last] inside [0, size), ZG_ERANGE when the range lies outside the
 * data, ZG_EINVAL when the value is not one byte range. */
static int parse_range(const char *v, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (strncmp(v, "bytes=", 6) != 0 || strchr(v, ',') || strlen(v) > 64)
        return ZG_EINVAL;
    const char *p = v + 6;
    uint64_t a = 0, b = UINT64_MAX;
    bool suffix = *p == '-';
    char *end;
    if (!suffix) {
        if (*p < '0' || *p > '9')
            return ZG_EINVAL;
        errno = 0;
        a = strtoull(p, &end, 10);
        if (errno || *end != '-')
            return ZG_EINVAL;
        p = end;
    }
    p++; /* the '-' */
    if (*p) {
        if (*p < '0' || *p > '9')
            return ZG_EINVAL;
        errno = 0;
        b = strtoull(p, &end, 10);
        if (errno || *end)
            return ZG_EINVAL;
    } else if (suffix) {
        return ZG_EINVAL;
    }
    if (suffix) { /* the last b bytes */
        if (b == 0 || size == 0)
            return ZG_ERANGE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 0;
    }
    if (b < a)
        return ZG_EINVAL;
    if (a >= size)
        return ZG_ERANGE;
    *first = a;
    *last = b >= size ? size - 1 : b;
    return 0;
}

/* Replies with the whole file at path or the one byte range the request asks for (206). */
static int reply_range(struct zg_req *req, const char *path, bool fasta, struct zg_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        return zg_error_set(err, ZG_ENOTFOUND, "",
                            fasta ? "the reference FASTA recorded for this file is not readable"
                                  : "the reference FASTA has no index (.fai) next to it");
    }
    uint64_t size = (uint64_t)sb.st_size;
    unsigned char magic[2];
    if (fasta && size >= 2 && pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        close(fd);
        return zg_error_set(err, ZG_ENOTFOUND, "",
                            "the reference FASTA is compressed; only an uncompressed FASTA "
                            "with a .fai index can be served");
    }
    const char *type = "text/plain; charset=us-ascii";
    if (zg_req_set_header(req, "Accept-Ranges", "bytes")) {
        close(fd);
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    }
    const char *range = zg_req_header(req, "Range");
    if (!range) {
        zg_req_audit_option(req, "bytes", json_string("all"));
        return zg_req_reply_file(req, fd, 0, size, type);
    }
    uint64_t first = 0, last = 0;
    int rc = parse_range(range, size, &first, &last);
    if (rc) {
        close(fd);
        if (rc == ZG_ERANGE) {
            char *cr = zg_arena_printf(req->arena, "bytes */%llu", (unsigned long long)size);
            if (!cr || zg_req_set_header(req, "Content-Range", cr))
                return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
            return zg_error_set(err, ZG_ERANGE, "Range", "the range starts beyond the %llu bytes",
                                (unsigned long long)size);
        }
        return zg_error_set(err, ZG_ERANGE, "Range",
                            "give one byte range: bytes=FIRST-LAST, bytes=FIRST- or bytes=-N");
    }
    char *cr = zg_arena_printf(req->arena, "bytes %llu-%llu/%llu", (unsigned long long)first,
                               (unsigned long long)last, (unsigned long long)size);
    char *au = zg_arena_printf(req->arena, "%llu-%llu", (unsigned long long)first,
                               (unsigned long long)last);
    if (!cr || !au || zg_req_set_header(req, "Content-Range", cr)) {
        close(fd);
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    }
    zg_req_audit_option(req, "bytes", json_string(au));
    zg_req_reply_file(req, fd, first, last - first + 1, type);
    req->status = 206;
    return 0;
}

/* The registered read file of the request, with the own-organisation obligation applied. */
static int load_reads_file(struct zg_req *req, struct zg_file_info *f, struct zg_error *err)
{
    const char *id = zg_req_param(req, "id");
    int rc = zg_file_get(req->conns->db, id ? id : "", f, err);
    if (rc == ZG_EINVAL)
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such file");
    if (rc)
        return rc;
    if ((req->decision.obligations & ZG_OBL_OWN_ORG) && f->org_id != req->decision.org_id)
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such file");
    zg_req_audit_data(req, f->id);
    if (f->format != ZG_FF_BAM && f->format != ZG_FF_CRAM)
        return zg_error_set(err, ZG_ENOTFOUND, "id",
                            "a reference is served for BAM and CRAM files only");
    if (!f->ref_fasta[0])
        return zg_error_set(err, ZG_ENOTFOUND, "id",
                            "no reference FASTA was recorded when this file was registered "
                            "(zengen file add --ref-fasta)");
    return 0;
}

int zg_api_genome_reference_fasta(struct zg_req *req, struct zg_error *err)
{
    struct zg_file_info f;
    int rc = load_reads_file(req, &f, err);
    return rc ? rc : reply_range(req, f.ref_fasta, true, err);
}

int zg_api_genome_reference_fai(struct zg_req *req, struct zg_error *err)
{
    struct zg_file_info f;
    int rc = load_reads_file(req, &f, err);
    if (rc)
        return rc;
    char path[sizeof(f.ref_fasta) + 8];
    snprintf(path, sizeof(path), "%s.fai", f.ref_fasta);
    return reply_range(req, path, false, err);
}
