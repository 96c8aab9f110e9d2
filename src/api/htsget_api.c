/* GA4GH htsget 1.3: tickets for reads (BAM/CRAM) and variants (VCF/BCF) and the data blocks they
 * point at. Authentication, the policy decision and audit happen in the router; this file
 * applies the own-organisation obligation and speaks htsget's JSON and error shapes. */
#include "api.h"
#include <unistd.h>
#include <sys/stat.h>
#include <fcntl.h>
#include "common/buf.h"
#include "common/error.h"
#include "genome/files.h"
#include "genome/htsget.h"

#include <errno.h>

/* Blocks are inlined into the ticket as data: URIs until this many bytes (before base64);
 * ZENGEN_HTSGET_INLINE (bytes, 0 = never, at most 4 MiB) overrides. */
static uint64_t inline_max(void)
{
    const char *v = getenv("ZENGEN_HTSGET_INLINE");
    if (!v || !*v)
        return (uint64_t)1 << 20;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    return *end ? (uint64_t)1 << 20 : n > ((uint64_t)4 << 20) ? (uint64_t)4 << 20 : n;
}

#define HTSGET_TYPE "application/vnd.ga4gh.htsget.v1.3.0+json; charset=utf-8"

/* Replies with an htsget error object {"htsget":{"error","message"}} (spec §Errors). */
static int hg_error(struct zg_req *req, int status, const char *type, const char *msg)
{
    json_t *j = json_pack("{s:{s:s,s:s}}", "htsget", "error", type, "message", msg);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s)
        return ZG_ENOMEM;
    req->text = zg_arena_strdup(req->arena, s);
    req->text_len = strlen(s);
    free(s);
    req->content_type = "application/json";
    req->status = status;
    return req->text ? 0 : ZG_ENOMEM;
}

static int hg_error_from(struct zg_req *req, int rc, const struct zg_error *e)
{
    char msg[600];
    if (e->field[0])
        snprintf(msg, sizeof(msg), "%s: %s", e->field, e->reason);
    else
        snprintf(msg, sizeof(msg), "%s", e->reason);
    switch (rc) {
    case ZG_ENOTFOUND: return hg_error(req, 404, "NotFound", msg);
    case ZG_EINVAL:
        if (!strcmp(e->field, "start") && strstr(e->reason, "greater"))
            return hg_error(req, 400, "InvalidRange", msg);
        if (!strcmp(e->field, "format"))
            return hg_error(req, 400, "UnsupportedFormat", msg);
        return hg_error(req, 400, "InvalidInput", msg);
    case ZG_ETOOBIG: return hg_error(req, 413, "PayloadTooLarge", msg);
    default: return rc;
    }
}

/* The scheme://host[:port] that block URLs start with: ZENGEN_PUBLIC_URL when the server sits
 * behind a proxy, else the request's Host header (checked to be a plain host[:port]). */
const char *zg_api_base_url(struct zg_req *req)
{
    const char *pub = getenv("ZENGEN_PUBLIC_URL");
    if (pub && *pub) {
        size_t n = strlen(pub);
        while (n && pub[n - 1] == '/')
            n--;
        return zg_arena_strndup(req->arena, pub, n);
    }
    const char *host = zg_req_header(req, "Host");
    bool ok = host && *host && strlen(host) < 256;
    for (const char *p = host; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']';
    if (!ok)
        host = "localhost";
    return zg_arena_printf(req->arena, "%s://%s", req->app->tls ? "https" : "http", host);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64(struct zg_arena *a, const unsigned char *d, size_t n)
{
    char *o = zg_arena_alloc(a, (n + 2) / 3 * 4 + 1), *p = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        *p++ = b64[v >> 18 & 63];
        *p++ = b64[v >> 12 & 63];
        *p++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
        *p++ = i + 2 < n ? b64[v & 63] : '=';
    }
    *p = '\0';
    return o;
}

/* Parses a non-negative integer query parameter (absent → -1). */
static int query_pos(struct zg_req *req, const char *name, int64_t *out, struct zg_error *err)
{
    const char *s = zg_req_query(req, name);
    *out = -1;
    if (!s)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < 0)
        return zg_error_set(err, ZG_EINVAL, name, "must be a non-negative integer");
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+' || strlen(s) > 20)
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno)
        return -1;
    *out = v;
    return 0;
}

/* Looks the file up and applies the own-organisation obligation. Replies itself (htsget error)
 * and returns 1 when the request ends here. */
static int load_file(struct zg_req *req, struct zg_file_info *f, int *rc)
{
    const char *id = zg_req_param(req, "id");
    struct zg_error e;
    zg_error_clear(&e);
    zg_req_audit_data(req, id ? id : "");
    int r = zg_file_get(req->conns->db, id ? id : "", f, &e);
    if (r == ZG_ENOTFOUND || r == ZG_EINVAL) {
        *rc = hg_error(req, 404, "NotFound", "no such file");
        return 1;
    }
    if (r) {
        *rc = r;
        return 1;
    }
    if ((req->decision.obligations & ZG_OBL_OWN_ORG) && f->org_id != req->decision.org_id) {
        *rc = hg_error(req, 403, "PermissionDenied",
                       "this file belongs to another organisation; your role may read only "
                       "your own organisation's genome files");
        return 1;
    }
    return 0;
}

static int build_ticket(struct zg_req *req, const struct zg_file_info *f,
                        const struct zg_hg_plan *plans, size_t nplans)
{
    const char *base = zg_api_base_url(req);
    enum zg_file_format served = nplans ? plans[0].format : f->format;
    const char *mime = served == ZG_FF_BAM    ? "application/vnd.ga4gh.bam"
                       : served == ZG_FF_CRAM ? "application/vnd.ga4gh.cram"
                       : served == ZG_FF_BCF  ? "application/vnd.ga4gh.bcf"
                                              : "application/vnd.ga4gh.vcf";
    /* The spec lets clients send the API credentials to block URLs only when the ticket says
     * so: repeat the caller's own Authorization header (a browser session's cookie goes to the
     * same origin by itself). Checked like the router checks it: one Bearer token. */
    const char *authz = zg_req_header(req, "Authorization");
    if (authz && (strncasecmp(authz, "Bearer ", 7) != 0 || strlen(authz) > 512 ||
                  strpbrk(authz, "\r\n\"")))
        authz = NULL;
    json_t *urls = json_array();
    struct zg_buf blk;
    zg_buf_init(&blk, ZG_HG_MAX_BLOCK + ((size_t)1 << 20));
    uint64_t inlined = 0, limit = inline_max();
    for (size_t k = 0; k < nplans; k++) {
        const struct zg_hg_plan *p = &plans[k];
        for (size_t i = 0; i < p->n; i++) {
            const struct zg_hg_piece *pc = &p->pieces[i];
            /* several regions (POST): one header, the bodies in order, one EOF at the end */
            if (k > 0 && pc->header)
                continue;
            if (pc->kind == ZG_HG_DATA && k + 1 < nplans)
                continue;
            char *url;
            /* small blocks travel inside the ticket: one round trip instead of several */
            uint64_t est = pc->kind == ZG_HG_BGZF ? (pc->b >> 16) - (pc->a >> 16) + 65536
                           : pc->kind == ZG_HG_XBAM ? 3 * (pc->b - pc->a) /* BAM > CRAM */
                                                    : pc->b - pc->a;
            const unsigned char *data = pc->data;
            size_t dlen = pc->len;
            if (pc->kind != ZG_HG_DATA && limit && inlined + est <= limit) {
                struct zg_hg_region rg = {p->tid, p->beg, p->end};
                struct zg_error e;
                zg_error_clear(&e);
                zg_buf_reset(&blk);
                if (zg_htsget_block(req->app->hg_cache, f, pc->kind, pc->a, pc->b, &rg,
                                    req->app->dd.path, &blk, &e) == 0) {
                    data = (const unsigned char *)blk.p;
                    dlen = blk.len;
                    inlined += blk.len;
                }
            }
            if (data) {
                char *enc = base64(req->arena, data, dlen);
                url = enc ? zg_arena_printf(req->arena, "data:%s;base64,%s", mime, enc) : NULL;
            } else {
                char k0 = pc->kind == ZG_HG_BGZF          ? 'z'
                          : pc->kind == ZG_HG_RAW         ? 'r'
                          : pc->kind == ZG_HG_XBAM_HEADER ? 'y'
                          : pc->kind == ZG_HG_XBAM        ? 'x'
                                                          : 'c';
                url = zg_arena_printf(req->arena, "%s/api/htsget/v1/blocks/%s?k=%c&a=%llu&b=%llu",
                                      base, f->id, k0, (unsigned long long)pc->a,
                                      (unsigned long long)pc->b);
                if (url && (pc->kind == ZG_HG_CRAM || pc->kind == ZG_HG_XBAM))
                    url = zg_arena_printf(req->arena, "%s&t=%d&s=%lld&e=%lld", url, p->tid,
                                          (long long)p->beg, (long long)p->end);
            }
            if (!url) {
                json_decref(urls);
                zg_buf_release(&blk);
                return ZG_ENOMEM;
            }
            json_t *u = json_pack("{s:s}", "url", url);
            if (authz && !data)
                json_object_set_new(u, "headers", json_pack("{s:s}", "Authorization", authz));
            json_object_set_new(u, "class", json_string(pc->header ? "header" : "body"));
            json_array_append_new(urls, u);
        }
    }
    zg_buf_release(&blk);
    json_t *j = json_pack("{s:{s:s,s:o}}", "htsget", "format", zg_htsget_format(served),
                          "urls", urls);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s)
        return ZG_ENOMEM;
    req->text_len = strlen(s);
    req->text = zg_arena_strndup(req->arena, s, req->text_len);
    free(s);
    if (!req->text)
        return ZG_ENOMEM;
    req->content_type = HTSGET_TYPE;
    req->status = 200;
    return 0;
}

/* Checks that the file suits the endpoint and the requested format. Replies on mismatch.
 * A CRAM file is also served as BAM (*as_bam), for clients that read only BAM (igv.js). */
static int check_format(struct zg_req *req, const struct zg_file_info *f, bool reads,
                        const char *format, bool *as_bam, int *rc)
{
    const char *have = zg_htsget_format(f->format);
    *as_bam = false;
    if (!have || zg_htsget_is_reads(f->format) != reads) {
        *rc = hg_error(req, 404, "NotFound",
                       reads ? "no such read file (BAM or CRAM)"
                             : "no such variant file (VCF or BCF)");
        return 1;
    }
    if (format && f->format == ZG_FF_CRAM && !strcasecmp(format, "BAM")) {
        *as_bam = true;
        zg_req_audit_option(req, "as_bam", json_true());
        return 0;
    }
    if (format && strcasecmp(format, have) != 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "this file is served as %s; format %.20s is not available",
                 have, format);
        *rc = hg_error(req, 400, "UnsupportedFormat", msg);
        return 1;
    }
    return 0;
}

static int ticket_get(struct zg_req *req, struct zg_error *err, bool reads)
{
    struct zg_file_info f;
    int rc = 0;
    if (load_file(req, &f, &rc))
        return rc;
    bool as_bam;
    if (check_format(req, &f, reads, zg_req_query(req, "format"), &as_bam, &rc))
        return rc;
    struct zg_hg_query q = {.start = -1, .end = -1, .as_bam = as_bam};
    const char *cls = zg_req_query(req, "class");
    if (cls && strcmp(cls, "header") && strcmp(cls, "body"))
        return hg_error(req, 400, "InvalidInput", "class must be header or body");
    q.header_only = cls && !strcmp(cls, "header");
    q.ref = zg_req_query(req, "referenceName");
    if (q.ref && (!*q.ref || strlen(q.ref) > 255))
        return hg_error(req, 400, "InvalidInput", "referenceName is empty or too long");
    struct zg_error e;
    zg_error_clear(&e);
    if (query_pos(req, "start", &q.start, &e) || query_pos(req, "end", &q.end, &e))
        return hg_error_from(req, ZG_EINVAL, &e);
    if (zg_req_query(req, "fields") || zg_req_query(req, "tags") || zg_req_query(req, "notags")) {
        /* accepted: the spec lets a server return more fields than asked for */
        zg_req_audit_option(req, "fields_ignored", json_true());
    }
    struct zg_hg_plan plan;
    rc = zg_htsget_plan(req->app->hg_cache, &f, &q, &plan, &e);
    if (rc) {
        int r = hg_error_from(req, rc, &e);
        if (r)
            *err = e;
        return r;
    }
    rc = build_ticket(req, &f, &plan, 1);
    zg_htsget_plan_release(&plan);
    return rc;
}

int zg_api_htsget_reads(struct zg_req *req, struct zg_error *err)
{
    return ticket_get(req, err, true);
}

int zg_api_htsget_variants(struct zg_req *req, struct zg_error *err)
{
    return ticket_get(req, err, false);
}

/* POST: {"format"?, "class"?, "fields"?, "tags"?, "notags"?, "regions"?: [{referenceName,
 * start?, end?}]} (spec §POST request). */
static int ticket_post(struct zg_req *req, struct zg_error *err, bool reads)
{
    struct zg_file_info f;
    int rc = 0;
    if (load_file(req, &f, &rc))
        return rc;
    json_t *body = req->body;
    const char *keys[] = {"format", "class", "fields", "tags", "notags", "regions", NULL};
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val) {
        bool known = false;
        for (size_t i = 0; keys[i]; i++)
            known = known || !strcmp(key, keys[i]);
        if (!known)
            return hg_error(req, 400, "InvalidInput", "unknown member in the request body");
    }
    json_t *fmt = json_object_get(body, "format"), *cls = json_object_get(body, "class");
    if ((fmt && !json_is_string(fmt)) || (cls && !json_is_string(cls)))
        return hg_error(req, 400, "InvalidInput", "format and class must be strings");
    bool as_bam;
    if (check_format(req, &f, reads, fmt ? json_string_value(fmt) : NULL, &as_bam, &rc))
        return rc;
    bool header_only = cls && !strcmp(json_string_value(cls), "header");
    if (cls && !header_only && strcmp(json_string_value(cls), "body"))
        return hg_error(req, 400, "InvalidInput", "class must be header or body");
    json_t *regions = json_object_get(body, "regions");
    if (regions && (!json_is_array(regions) || json_array_size(regions) == 0 ||
                    json_array_size(regions) > 64 || header_only))
        return hg_error(req, 400, "InvalidInput",
                        "regions must be a non-empty list of at most 64 regions, without "
                        "class=header");
    size_t n = regions ? json_array_size(regions) : 1;
    struct zg_hg_plan plans[64];
    size_t done = 0;
    struct zg_error e;
    zg_error_clear(&e);
    for (size_t i = 0; i < n; i++) {
        struct zg_hg_query q = {.header_only = header_only, .start = -1, .end = -1,
                                .as_bam = as_bam};
        if (regions) {
            json_t *r = json_array_get(regions, i), *rn = json_object_get(r, "referenceName");
            json_t *rs = json_object_get(r, "start"), *re = json_object_get(r, "end");
            if (!json_is_object(r) || !json_is_string(rn) || (rs && !json_is_integer(rs)) ||
                (re && !json_is_integer(re)) || (rs && json_integer_value(rs) < 0) ||
                (re && json_integer_value(re) < 0)) {
                rc = hg_error(req, 400, "InvalidInput",
                              "each region needs referenceName and non-negative integer "
                              "start/end");
                goto out;
            }
            q.ref = json_string_value(rn);
            q.start = rs ? json_integer_value(rs) : -1;
            q.end = re ? json_integer_value(re) : -1;
        }
        rc = zg_htsget_plan(req->app->hg_cache, &f, &q, &plans[done], &e);
        if (rc) {
            rc = hg_error_from(req, rc, &e);
            if (rc)
                *err = e;
            goto out;
        }
        done++;
    }
    zg_req_audit_option(req, "regions", json_integer((json_int_t)n));
    rc = build_ticket(req, &f, plans, done);
out:
    for (size_t i = 0; i < done; i++)
        zg_htsget_plan_release(&plans[i]);
    return rc;
}

int zg_api_htsget_reads_post(struct zg_req *req, struct zg_error *err)
{
    return ticket_post(req, err, true);
}

int zg_api_htsget_variants_post(struct zg_req *req, struct zg_error *err)
{
    return ticket_post(req, err, false);
}

int zg_api_htsget_service_info(struct zg_req *req, struct zg_error *err)
{
    (void)err;
    bool reads = strstr(req->path, "/reads/") != NULL;
    json_t *j = json_pack(
        "{s:s,s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s},s:{s:s,s:[ss],s:b,s:b}}", "id",
        reads ? "jp.zengen.htsget.reads" : "jp.zengen.htsget.variants", "name",
        "zengen htsget", "version", ZG_VERSION, "organization", "name", "zengen", "url",
        "https://zengen.invalid/", "type", "group", "org.ga4gh", "artifact", "htsget", "version",
        "1.3.0", "htsget", "datatype", reads ? "reads" : "variants", "formats",
        reads ? "BAM" : "VCF", reads ? "CRAM" : "BCF", "fieldsParameterEffective", 0,
        "tagsParametersEffective", 0);
    return zg_req_reply(req, 200, j);
}

/* GET /api/htsget/v1/blocks/{id}?k=z|r|c|x|y&a=&b=[&t=&s=&e=] — one data block of a ticket
 * (x, y: a CRAM file's records / header as BAM). */
int zg_api_htsget_block(struct zg_req *req, struct zg_error *err)
{
    struct zg_file_info f;
    int rc = 0;
    if (load_file(req, &f, &rc))
        return rc;
    const char *k = zg_req_query(req, "k");
    enum zg_hg_kind kind;
    if (k && !strcmp(k, "z"))
        kind = ZG_HG_BGZF;
    else if (k && !strcmp(k, "r"))
        kind = ZG_HG_RAW;
    else if (k && !strcmp(k, "c"))
        kind = ZG_HG_CRAM;
    else if (k && !strcmp(k, "x"))
        kind = ZG_HG_XBAM;
    else if (k && !strcmp(k, "y"))
        kind = ZG_HG_XBAM_HEADER;
    else
        return hg_error(req, 400, "InvalidInput", "k must be z, r, c, x or y");
    int64_t t = -1, s = -1, e = -1;
    struct zg_error ee;
    zg_error_clear(&ee);
    /* offsets are 64-bit (BGZF virtual offsets) */
    uint64_t ua, ub;
    if (parse_u64(zg_req_query(req, "a"), &ua) || parse_u64(zg_req_query(req, "b"), &ub))
        return hg_error(req, 400, "InvalidInput", "a and b must be non-negative integers");
    struct zg_hg_region rg = {-1, 0, 0};
    if (kind == ZG_HG_CRAM || kind == ZG_HG_XBAM) {
        const char *ts = zg_req_query(req, "t");
        if (!ts || query_pos(req, "s", &s, &ee) || query_pos(req, "e", &e, &ee) || s < 0 ||
            e < 0)
            return hg_error(req, 400, "InvalidInput", "t, s and e are required for k=c and k=x");
        char *tend;
        errno = 0;
        t = strtoll(ts, &tend, 10);
        if (!*ts || *tend || errno || t < (kind == ZG_HG_XBAM ? -2 : -1) || t > INT32_MAX)
            return hg_error(req, 400, "InvalidInput", "t must be a reference index");
        rg = (struct zg_hg_region){(int)t, s, e};
    }
    if (kind == ZG_HG_RAW && !strcmp(f.storage, "local")) {
        /* a verbatim byte range: sent from the file by the kernel, never copied in memory */
        int fd = open(f.path, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) != 0) {
            if (fd >= 0)
                close(fd);
            return zg_error_set(err, ZG_EIO, "", "the file cannot be opened");
        }
        if (ub < ua || ub - ua > ZG_HG_MAX_BLOCK || ub > (uint64_t)sb.st_size) {
            close(fd);
            return hg_error(req, 400, "InvalidInput", "not a block of this file");
        }
        return zg_req_reply_file(req, fd, ua, ub - ua, "application/octet-stream");
    }
    struct zg_buf out;
    zg_buf_init(&out, ZG_HG_MAX_BLOCK + ((size_t)1 << 20));
    rc = zg_htsget_block(req->app->hg_cache, &f, kind, ua, ub, &rg, req->app->dd.path, &out,
                         &ee);
    if (rc) {
        zg_buf_release(&out);
        int r = hg_error_from(req, rc, &ee);
        if (r)
            *err = ee;
        return r;
    }
    char *copy = zg_arena_alloc(req->arena, out.len ? out.len : 1);
    if (!copy) {
        zg_buf_release(&out);
        return zg_error_set(err, ZG_ENOMEM, "", "block does not fit the request memory");
    }
    memcpy(copy, out.p, out.len);
    req->text = copy;
    req->text_len = out.len;
    req->content_type = "application/octet-stream";
    zg_buf_release(&out);
    return 0;
}
