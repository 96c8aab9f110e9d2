/* Genome API: thin handlers over genome/ — parse, call, render. Permissions, audit and the
 * policy decision happen in http/; here the decision's obligations become the query scope. */
#include "api.h"
#include "common/error.h"
#include "genome/cohort.h"
#include "genome/files.h"
#include "genome/variants.h"
#include "ids/ids.h"
#include "store/db.h"

#include <sodium.h>

/* The snapshot as this request's read transaction sees it, and the scope the policy decision
 * grants over it (the permitted case set as a bitmap, small-count suppression). Aggregate
 * routes never name cases. */
static int with_cohort(struct zg_req *req, struct zg_cohort **c, struct zg_query_scope *s,
                       struct zg_error *err)
{
    memset(s, 0, sizeof(*s));
    int rc = zg_cohort_acquire(req->app->cohort, &req->app->dd, req->conns->db, c, err);
    if (rc)
        return rc;
    if ((rc = zg_query_scope_init(s, *c, &req->decision, err))) {
        zg_query_scope_release(s);
        zg_cohort_release(*c);
        return rc;
    }
    return 0;
}

/* Splits ?genes=A,B,C into the arena (the query layer resolves case: tp53 → TP53). */
static int gene_list(struct zg_req *req, const char **out, size_t max, size_t *n,
                     struct zg_error *err)
{
    const char *q = zg_req_query(req, "genes");
    if (!q || !*q)
        return zg_error_set(err, ZG_EINVAL, "genes", "give gene symbols, comma-separated");
    if (strlen(q) > 2000)
        return zg_error_set(err, ZG_EINVAL, "genes", "too long");
    char *copy = zg_arena_strdup(req->arena, q);
    if (!copy)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    *n = 0;
    for (char *p = copy; *p;) {
        char *c = strchr(p, ',');
        if (c)
            *c = '\0';
        while (*p == ' ')
            p++;
        for (char *e = p + strlen(p); e > p && e[-1] == ' ';)
            *--e = '\0';
        if (*p) {
            if (*n == max)
                return zg_error_set(err, ZG_EINVAL, "genes", "at most %zu genes", max);
            out[(*n)++] = p;
        }
        if (!c)
            break;
        p = c + 1;
    }
    zg_req_audit_option(req, "genes", json_string(q));
    return 0;
}

static int finish(struct zg_req *req, struct zg_cohort *c, struct zg_query_scope *s, json_t *j,
                  struct zg_error *err)
{
    zg_query_scope_release(s);
    zg_cohort_release(c);
    if (!j) {
        if (err->code == ZG_EINVAL && err->field[0] == '/')
            memmove(err->field, err->field + 1, strlen(err->field));
        return err->code ? err->code : ZG_EINTERNAL;
    }
    return zg_req_reply(req, 200, j);
}

int zg_api_genome_overview(struct zg_req *req, struct zg_error *err)
{
    struct zg_query_scope s;
    struct zg_cohort *c;
    int rc = with_cohort(req, &c, &s, err);
    return rc ? rc : finish(req, c, &s, zg_query_overview(c, &s, err), err);
}

int zg_api_genome_query_genes(struct zg_req *req, struct zg_error *err)
{
    const char *genes[50];
    size_t n;
    int rc = gene_list(req, genes, 50, &n, err);
    if (rc)
        return rc;
    struct zg_query_scope s;
    const char *by = zg_req_query(req, "by"), *classes = zg_req_query(req, "classes");
    if (by)
        zg_req_audit_option(req, "by", json_string(by));
    struct zg_cohort *c;
    if ((rc = with_cohort(req, &c, &s, err)))
        return rc;
    s.cancer_type = zg_req_query(req, "cancer_type");
    return finish(req, c, &s, zg_query_genes(c, genes, n, by, classes, &s, err), err);
}

int zg_api_genome_query_cooccurrence(struct zg_req *req, struct zg_error *err)
{
    const char *genes[20];
    size_t n;
    int rc = gene_list(req, genes, 20, &n, err);
    if (rc)
        return rc;
    struct zg_query_scope s;
    struct zg_cohort *c;
    if ((rc = with_cohort(req, &c, &s, err)))
        return rc;
    s.cancer_type = zg_req_query(req, "cancer_type");
    return finish(req, c, &s, zg_query_cooccurrence(c, genes, n, &s, err), err);
}

int zg_api_genome_query_oncoprint(struct zg_req *req, struct zg_error *err)
{
    const char *genes[50];
    size_t n;
    int64_t max;
    int rc = gene_list(req, genes, 50, &n, err);
    if (rc || (rc = zg_query_int(req, "max", 500, 1, 5000, &max, err)))
        return rc;
    struct zg_query_scope s;
    struct zg_cohort *c;
    if ((rc = with_cohort(req, &c, &s, err)))
        return rc;
    s.cancer_type = zg_req_query(req, "cancer_type");
    return finish(req, c, &s, zg_query_oncoprint(c, genes, n, (int)max, &s, err), err);
}

int zg_api_genome_query_variants(struct zg_req *req, struct zg_error *err)
{
    const char *genes[1];
    size_t n;
    int64_t limit;
    int rc = gene_list(req, genes, 1, &n, err);
    if (rc || (rc = zg_query_int(req, "limit", 25, 1, 500, &limit, err)))
        return rc;
    struct zg_query_scope s;
    struct zg_cohort *c;
    if ((rc = with_cohort(req, &c, &s, err)))
        return rc;
    return finish(req, c, &s, zg_query_variants(c, req->conns->db, genes[0], (int)limit, &s, err),
                  err);
}

int zg_api_genome_query_tmb(struct zg_req *req, struct zg_error *err)
{
    struct zg_query_scope s;
    struct zg_cohort *c;
    int rc = with_cohort(req, &c, &s, err);
    if (rc)
        return rc;
    s.cancer_type = zg_req_query(req, "cancer_type");
    return finish(req, c, &s, zg_query_tmb(c, &s, err), err);
}

/* Whether the decision's consent obligation lets the caller see case_id (ZG_ENOTFOUND if
 * not): the case must be in the permitted set of the current snapshot. */
static int consent_allows(struct zg_req *req, const char *case_id, struct zg_error *err)
{
    if (!(req->decision.obligations & ZG_OBL_CONSENT))
        return 0;
    struct zg_cohort *c;
    struct zg_query_scope s;
    int rc = with_cohort(req, &c, &s, err);
    if (rc)
        return rc;
    bool ok = false;
    for (uint32_t n = 0; n < zg_cohort_slots(c) && !ok; n++)
        ok = !strcmp(zg_cohort_case_id(c, n), case_id) &&
             (!s.permitted || roaring_bitmap_contains(s.permitted, n));
    zg_query_scope_release(&s);
    zg_cohort_release(c);
    return ok ? 0 : zg_error_set(err, ZG_ENOTFOUND, "id", "no such case");
}

/* {id} as a case the caller may see (another organisation's case, or one whose consent does
 * not cover the caller's use, is "not found"). */
static int case_param(struct zg_req *req, char out[ZG_ID_LEN], struct zg_error *err)
{
    enum zg_id_kind kind;
    int rc = zg_id_parse(zg_req_param(req, "id"), &kind, out, err);
    if (rc)
        return rc;
    if (kind != ZG_ID_CASE)
        return zg_error_set(err, ZG_EINVAL, "id", "is not a case ID (ZGC-…)");
    zg_req_audit_data(req, out);
    int64_t owner = 0;
    if ((rc = zg_case_org(req->conns->db, out, &owner, err)))
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such case");
    if ((req->decision.obligations & ZG_OBL_OWN_ORG) && owner != req->decision.org_id)
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such case");
    return consent_allows(req, out, err);
}

int zg_api_genome_case(struct zg_req *req, struct zg_error *err)
{
    char id[ZG_ID_LEN];
    int64_t limit;
    int rc = case_param(req, id, err);
    if (rc || (rc = zg_query_int(req, "limit", 500, 1, 5000, &limit, err)))
        return rc;
    json_t *j = zg_genome_case_json(req->conns->db, id, (int)limit, err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_genome_files_list(struct zg_req *req, struct zg_error *err)
{
    char id[ZG_ID_LEN];
    int rc = case_param(req, id, err);
    if (rc)
        return rc;
    json_t *j = zg_file_list(req->conns->db, id, 0, 1000, err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_genome_file_get(struct zg_req *req, struct zg_error *err)
{
    struct zg_file_info f;
    const char *id = zg_req_param(req, "id");
    int rc = zg_file_get(req->conns->db, id ? id : "", &f, err);
    if (rc)
        return rc;
    if ((req->decision.obligations & ZG_OBL_OWN_ORG) && f.org_id != req->decision.org_id)
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such file");
    if (consent_allows(req, f.case_id, err))
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such file");
    zg_req_audit_data(req, f.id);
    zg_req_audit_data(req, f.case_id);
    return zg_req_reply(req, 200, zg_file_json(&f));
}

int zg_api_genome_upload_begin(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"case_id", "specimen_id", "size", "sha256",
                                          "reference", "pipeline", "pipeline_version", "kind",
                                          "name", NULL};
    struct zg_file_add_opts o = {0};
    const char *sha = NULL;
    int64_t size = 0;
    int rc;
    if ((rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "case_id", true, 32, &o.case_id, err)) ||
        (rc = zg_body_string(req, "specimen_id", false, 32, &o.specimen_id, err)) ||
        (rc = zg_body_int(req, "size", true, 1, INT64_C(1) << 42, &size, err)) ||
        (rc = zg_body_string(req, "sha256", true, 64, &sha, err)) ||
        (rc = zg_body_string(req, "reference", false, 16, &o.reference, err)) ||
        (rc = zg_body_string(req, "pipeline", false, 63, &o.pipeline, err)) ||
        (rc = zg_body_string(req, "pipeline_version", false, 31, &o.pipeline_version, err)) ||
        (rc = zg_body_string(req, "kind", false, 15, &o.data_kind, err)) ||
        (rc = zg_body_string(req, "name", false, 255, &o.name, err)))
        return rc;
    enum zg_id_kind kind;
    char cid[ZG_ID_LEN];
    if ((rc = zg_id_parse(o.case_id, &kind, cid, err)) || kind != ZG_ID_CASE)
        return zg_error_set(err, ZG_EINVAL, "/case_id", "is not a case ID (ZGC-…)");
    int64_t owner = 0;
    if (zg_case_org(req->conns->db, cid, &owner, err) ||
        ((req->decision.obligations & ZG_OBL_OWN_ORG) && owner != req->decision.org_id))
        return zg_error_set(err, ZG_EINVAL, "/case_id", "no such case");
    o.case_id = cid;
    zg_req_audit_data(req, cid);
    char id[33];
    if ((rc = zg_db_begin(req->conns->db, err)))
        return rc;
    if ((rc = zg_upload_begin(&req->app->dd, req->conns->db, size, sha, &o, req->who.user_id, id,
                              err)) ||
        (rc = zg_db_commit(req->conns->db, err))) {
        zg_db_rollback(req->conns->db);
        zg_error_pointerize(err);
        return rc;
    }
    json_t *j = zg_upload_status(req->conns->db, id, err);
    return j ? zg_req_reply(req, 201, j) : err->code;
}

static int own_upload(struct zg_req *req, const char **id, struct zg_error *err)
{
    *id = zg_req_param(req, "id");
    int64_t uid = 0;
    int rc = zg_upload_owner(req->conns->db, *id ? *id : "", &uid, err);
    if (rc)
        return rc;
    if (uid != req->who.user_id)
        return zg_error_set(err, ZG_ENOTFOUND, "id", "no such upload");
    zg_req_audit_data(req, *id);
    return 0;
}

int zg_api_genome_upload_status(struct zg_req *req, struct zg_error *err)
{
    const char *id;
    int rc = own_upload(req, &id, err);
    if (rc)
        return rc;
    json_t *j = zg_upload_status(req->conns->db, id, err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

/* Appends n bytes at offset and answers with the upload's state. No transaction here: the
 * chunk is written and made durable under the upload's own lock, and its new size recorded in
 * one statement after that (the database is not locked while the disk works). */
static int append_and_reply(struct zg_req *req, const char *id, int64_t offset,
                            const unsigned char *bin, size_t n, struct zg_error *err)
{
    int64_t received = 0;
    int rc = zg_upload_append(&req->app->dd, req->conns->db, id, offset, bin, n, &received, err);
    if (rc)
        return rc;
    zg_req_audit_option(req, "offset", json_integer(offset));
    zg_req_audit_option(req, "bytes", json_integer((json_int_t)n));
    json_t *j = zg_upload_status(req->conns->db, id, err);
    return j ? zg_req_reply(req, 200, j) : err->code;
}

int zg_api_genome_upload_chunk(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"offset", "data", NULL};
    const char *id, *data = NULL;
    int64_t offset = 0;
    int rc;
    if ((rc = own_upload(req, &id, err)) || (rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_int(req, "offset", true, 0, INT64_C(1) << 42, &offset, err)) ||
        (rc = zg_body_string(req, "data", true, 12u << 20, &data, err)))
        return rc;
    size_t len = strlen(data), cap = len / 4 * 3 + 3, n = 0;
    unsigned char *bin = zg_arena_alloc(req->arena, cap ? cap : 1);
    if (!bin)
        return zg_error_set(err, ZG_ETOOBIG, "/data", "chunk too large");
    if (sodium_base642bin(bin, cap, data, len, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL))
        return zg_error_set(err, ZG_EINVAL, "/data", "must be base64 (RFC 4648, with padding)");
    rc = append_and_reply(req, id, offset, bin, n, err);
    if (rc)
        zg_error_pointerize(err);
    return rc;
}

/* PUT …/data?offset=N with the raw bytes (application/octet-stream): what `curl -T` sends. */
int zg_api_genome_upload_data(struct zg_req *req, struct zg_error *err)
{
    const char *id;
    int64_t offset = 0;
    int rc;
    if ((rc = own_upload(req, &id, err)) ||
        (rc = zg_query_int(req, "offset", -1, 0, INT64_C(1) << 42, &offset, err)))
        return rc;
    if (offset < 0)
        return zg_error_set(err, ZG_EINVAL, "offset",
                            "is required: the byte offset of this chunk in the file");
    if (req->raw_len == 0)
        return zg_error_set(err, ZG_EINVAL, "body", "is empty: send the chunk's bytes");
    return append_and_reply(req, id, offset, req->raw, req->raw_len, err);
}

int zg_api_genome_upload_finish(struct zg_req *req, struct zg_error *err)
{
    static const char *const allowed[] = {"index_upload", NULL};
    const char *id, *index_id = NULL;
    int rc;
    if ((rc = own_upload(req, &id, err)) || (rc = zg_body_only(req, allowed, err)) ||
        (rc = zg_body_string(req, "index_upload", false, 64, &index_id, err)))
        return rc;
    if (index_id) { /* the caller's own upload, like the data's */
        int64_t uid = 0;
        if (zg_upload_owner(req->conns->db, index_id, &uid, err) || uid != req->who.user_id)
            return zg_error_set(err, ZG_ENOTFOUND, "index_upload", "no such upload");
        zg_req_audit_data(req, index_id);
    }
    struct zg_file_info f;
    /* no transaction here: the finish reads, checks and indexes the data with no lock held and
     * records the file and the upload's state in one short transaction of its own */
    if ((rc = zg_upload_finish(&req->app->dd, req->conns->db, id, index_id, &f, err)))
        return rc;
    zg_req_audit_data(req, f.id);
    zg_req_audit_data(req, f.case_id);
    return zg_req_reply(req, 201, zg_file_json(&f));
}
