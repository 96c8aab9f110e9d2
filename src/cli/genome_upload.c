/* zengen upload: a sequencing center's client for the genome upload API. Streams a local
 * BAM/CRAM/VCF/BCF/FASTQ to a zengen server in raw chunks (bounded memory), resumes after a
 * lost connection or with --resume, lets the server verify the SHA-256, and can start and follow
 * the variant-import job. */
#include "cli.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "gateway/gateway.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK_MAX ((size_t)16 << 20) /* the server's limit for one raw chunk */

static const char *usage =
    "zengen upload FILE --server URL --case ID [--token-file F] [--kind reads|somatic|germline|sv|"
    "cnv] [--reference GRCh38|GRCh37] [--pipeline NAME --pipeline-version V] [--resume ID] "
    "[--index FILE.bai|.csi|.crai|.tbi | --no-index] [--import somatic|germline|sv|cnv "
    "[--cancer-type CODE]] "
    "[--cacert PEM] [--chunk-size BYTES] [--quiet]";

struct client {
    const char *server, *cacert;
    char token[512];
    bool quiet, tty;
};

/* One request; *out is the parsed JSON answer (or NULL). Network failures and 5xx are retried
 * with back-off (8 attempts); *status is the final HTTP status (0: no answer). */
static int request(const struct client *cl, const char *method, const char *path, const char *type,
                   const char *body, size_t len, long *status, json_t **out, struct zg_error *err)
{
    char url[2048], ct[96];
    snprintf(url, sizeof(url), "%s%s", cl->server, path);
    snprintf(ct, sizeof(ct), "Content-Type: %s", type ? type : "application/json");
    const char *headers[] = {ct, "Accept: application/json, application/problem+json", NULL};
    struct zg_buf resp;
    zg_buf_init(&resp, (size_t)8 << 20);
    *out = NULL;
    int rc = 0;
    for (int attempt = 0;; attempt++) {
        zg_error_clear(err);
        rc = zg_gw_http(method, url, cl->token, cl->cacert, body ? headers : headers + 1, body, len,
                        600, status, &resp, err);
        if (!rc && *status < 500)
            break;
        /* GET and PUT-at-offset are safe to repeat; a POST whose answer was lost may have
         * taken effect, so it is not repeated blindly */
        if (attempt == 7 || !strcmp(method, "POST")) {
            if (!rc)
                rc = zg_error_set(err, ZG_EIO, "--server", "the server answered %ld", *status);
            zg_buf_release(&resp);
            return rc;
        }
        int64_t wait = zg_gw_backoff(attempt, 1, 30);
        if (!cl->quiet)
            fprintf(stderr, "%supload: %s; retrying in %llds\n", cl->tty ? "\n" : "",
                    rc ? err->reason : "server error", (long long)wait);
        sleep((unsigned)wait);
    }
    if (resp.len)
        *out = json_loadb(resp.p, resp.len, 0, NULL);
    zg_buf_release(&resp);
    return 0;
}

/* A string member of a server answer, or "" (a malformed answer must not crash the client). */
static const char *str(json_t *j, const char *key)
{
    const char *v = json_string_value(json_object_get(j, key));
    return v ? v : "";
}

/* The problem's detail (or the status) as a CLI error. */
static int problem(long status, json_t *j, const char *what, struct zg_error *err)
{
    const char *d = json_string_value(json_object_get(j, "detail"));
    return zg_error_set(err,
                        status == 404                    ? ZG_ENOTFOUND
                        : status == 401 || status == 403 ? ZG_EDENIED
                                                         : ZG_EINVAL,
                        "", "%s: %s (HTTP %ld)", what, d ? d : "refused", status);
}

static int hash_file(int fd, int64_t size, const struct client *cl, char hex[ZG_SHA256_HEX],
                     struct zg_error *err)
{
    struct zg_sha256_ctx *h = zg_sha256_begin();
    unsigned char *buf = malloc((size_t)1 << 20);
    int rc = 0;
    int64_t done = 0, t0 = zg_clock_mono_ms(), shown = 0;
    if (!h || !buf) {
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        goto out;
    }
    for (;;) {
        ssize_t n = pread(fd, buf, (size_t)1 << 20, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = zg_error_set(err, ZG_EIO, "FILE", "read error: %s", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        zg_sha256_update(h, buf, (size_t)n);
        done += n;
        int64_t now = zg_clock_mono_ms();
        if (!cl->quiet && now - shown > 500) {
            shown = now;
            fprintf(stderr, "%schecksum: %.0f%% of %.1f MB", cl->tty ? "\r" : "",
                    size ? 100.0 * (double)done / (double)size : 100.0, (double)size / 1e6);
            if (!cl->tty)
                fputc('\n', stderr);
        }
    }
    if (done != size) {
        rc = zg_error_set(err, ZG_EIO, "FILE", "the file changed while it was read");
        goto out;
    }
    zg_sha256_end(h, hex);
    h = NULL;
    if (!cl->quiet)
        fprintf(stderr, "%schecksum: SHA-256 %s (%.1f s)\n", cl->tty ? "\r" : "", hex,
                (double)(zg_clock_mono_ms() - t0) / 1000.0);
out:
    zg_sha256_free(h);
    free(buf);
    return rc;
}

/* Sends [offset, size) in chunks; returns the bytes the server holds in *received. */
static int send_chunks(const struct client *cl, const char *id, int fd, int64_t size, size_t chunk,
                       int64_t *received, struct zg_error *err)
{
    unsigned char *buf = malloc(chunk);
    if (!buf)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    int rc = 0, stalled = 0;
    int64_t t0 = zg_clock_mono_ms(), start = *received, shown = 0;
    while (!rc && *received < size) {
        if (stalled >= 5) { /* answers that never move the upload forward */
            rc = zg_error_set(err, ZG_EIO, "--server",
                              "the upload does not advance (stuck at %lld bytes); try --resume",
                              (long long)*received);
            break;
        }
        size_t want = (size_t)(size - *received) < chunk ? (size_t)(size - *received) : chunk;
        size_t got = 0;
        while (got < want) {
            ssize_t n = pread(fd, buf + got, want - got, (off_t)(*received + (int64_t)got));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                rc = zg_error_set(err, ZG_EIO, "FILE", "read error");
                break;
            }
            got += (size_t)n;
        }
        if (rc)
            break;
        char path[256];
        snprintf(path, sizeof(path), "/api/v1/genome/uploads/%s/data?offset=%lld", id,
                 (long long)*received);
        long status = 0;
        json_t *j = NULL;
        if ((rc = request(cl, "PUT", path, "application/octet-stream", (const char *)buf, want,
                          &status, &j, err)))
            break;
        if (status == 200 || status == 409) {
            /* 409: the server holds a different amount (another client, a lost answer): ask */
            if (status == 409) {
                json_decref(j);
                snprintf(path, sizeof(path), "/api/v1/genome/uploads/%s", id);
                if ((rc = request(cl, "GET", path, NULL, NULL, 0, &status, &j, err)))
                    break;
                if (status != 200) {
                    rc = problem(status, j, "upload status", err);
                    json_decref(j);
                    break;
                }
            }
            json_t *rv = json_object_get(j, "received");
            if (!json_is_integer(rv)) {
                rc = zg_error_set(err, ZG_EIO, "--server", "the server's answer has no byte count");
                json_decref(j);
                break;
            }
            int64_t before = *received;
            *received = json_integer_value(rv);
            stalled = *received > before ? 0 : stalled + 1;
        } else {
            rc = problem(status, j, "upload", err);
        }
        json_decref(j);
        int64_t now = zg_clock_mono_ms();
        if (!rc && !cl->quiet && (now - shown >= 500 || *received >= size)) {
            shown = now;
            double s = (double)(now - t0) / 1000.0;
            double rate = s > 0 ? (double)(*received - start) / s : 0;
            fprintf(stderr, "%supload: %.1f of %.1f MB (%.0f%%), %.1f MB/s", cl->tty ? "\r" : "",
                    (double)*received / 1e6, (double)size / 1e6,
                    size ? 100.0 * (double)*received / (double)size : 100.0, rate / 1e6);
            if (!cl->tty)
                fputc('\n', stderr);
        }
    }
    if (!cl->quiet && cl->tty)
        fputc('\n', stderr);
    zg_wipe(buf, chunk);
    free(buf);
    return rc;
}

/* Starts the import job of the uploaded file and follows it to the end. */
static int import_and_follow(const struct client *cl, const char *file_id, const char *kind,
                             const char *cancer_type, struct zg_error *err)
{
    json_t *body = json_pack("{s:s}", "kind", kind);
    if (cancer_type)
        json_object_set_new(body, "cancer_type", json_string(cancer_type));
    char *text = json_dumps(body, JSON_COMPACT), path[160];
    json_decref(body);
    snprintf(path, sizeof(path), "/api/v1/genome/files/%s/import", file_id);
    long status = 0;
    json_t *j = NULL;
    int rc = text ? request(cl, "POST", path, NULL, text, strlen(text), &status, &j, err)
                  : zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    free(text);
    if (rc)
        return rc;
    if (status != 202) {
        rc = problem(status, j, "import", err);
        json_decref(j);
        return rc;
    }
    char job[40];
    snprintf(job, sizeof(job), "%s", str(j, "id"));
    json_decref(j);
    if (!cl->quiet)
        fprintf(stderr, "import: job %s\n", job);
    int64_t queued_since = zg_clock_mono_ms();
    for (;;) {
        snprintf(path, sizeof(path), "/api/v1/jobs/%s", job);
        if ((rc = request(cl, "GET", path, NULL, NULL, 0, &status, &j, err)))
            return rc;
        if (status != 200) {
            rc = problem(status, j, "job", err);
            json_decref(j);
            return rc;
        }
        const char *state = json_string_value(json_object_get(j, "state"));
        json_t *p = json_object_get(j, "progress");
        if (!cl->quiet && json_is_object(p))
            fprintf(
                stderr, "%simport: %s, %lld records read, %lld stored%s", cl->tty ? "\r" : "",
                state ? state : "?", (long long)json_integer_value(json_object_get(p, "records")),
                (long long)json_integer_value(json_object_get(p, "stored")), cl->tty ? "" : "\n");
        if (state && !strcmp(state, "succeeded")) {
            json_t *r = json_object_get(j, "result");
            if (!cl->quiet && cl->tty)
                fputc('\n', stderr);
            printf("imported %lld %s rows from %lld records into case %s%s\n",
                   (long long)json_integer_value(json_object_get(r, "stored")), kind,
                   (long long)json_integer_value(json_object_get(r, "records")), str(r, "case_id"),
                   json_is_true(json_object_get(r, "already")) ? " (already imported)" : "");
            json_decref(j);
            return 0;
        }
        if (state && !strcmp(state, "failed")) {
            const char *d =
                json_string_value(json_object_get(json_object_get(j, "error"), "detail"));
            rc = zg_error_set(err, ZG_EINVAL, "", "the import failed: %s", d ? d : "see the job");
            json_decref(j);
            return rc;
        }
        if (state && !strcmp(state, "queued") && zg_clock_mono_ms() - queued_since > 600000) {
            rc = zg_error_set(err, ZG_EIO, "--import",
                              "job %s has waited 10 minutes without starting (does the server run "
                              "job workers?); follow it with GET /api/v1/jobs/%s",
                              job, job);
            json_decref(j);
            return rc;
        }
        if (state && strcmp(state, "queued"))
            queued_since = zg_clock_mono_ms();
        json_decref(j);
        sleep(1);
    }
}

/* Sends the index file at path as an upload of its own (named after the file, which tells the
 * server its kind); its upload id into id. */
static int upload_index(const struct client *cl, const char *case_id, const char *path,
                        size_t chunk, char id[64], struct zg_error *err)
{
    const char *dot = strrchr(path, '.');
    if (!dot ||
        (strcmp(dot, ".bai") && strcmp(dot, ".csi") && strcmp(dot, ".crai") && strcmp(dot, ".tbi")))
        return zg_error_set(err, ZG_EINVAL, "--index",
                            "must be a .bai, .csi, .crai or .tbi file (the name says which kind)");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
        if (fd >= 0)
            close(fd);
        return zg_error_set(err, ZG_ENOTFOUND, "--index", "cannot read %s", path);
    }
    char sha[ZG_SHA256_HEX];
    long status = 0;
    json_t *j = NULL;
    int64_t received = 0;
    const char *base = strrchr(path, '/');
    int rc = hash_file(fd, sb.st_size, cl, sha, err);
    json_t *b =
        rc ? NULL
           : json_pack("{s:s,s:I,s:s,s:s}", "case_id", case_id, "size", (json_int_t)sb.st_size,
                       "sha256", sha, "name", base ? base + 1 : path);
    char *text = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (!rc && !text)
        rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    if (!rc &&
        !(rc = request(cl, "POST", "/api/v1/genome/uploads", NULL, text, strlen(text), &status, &j,
                       err)) &&
        status != 201)
        rc = problem(status, j, "--index", err);
    free(text);
    if (!rc) {
        snprintf(id, 64, "%s", str(j, "id"));
        if (!id[0])
            rc = zg_error_set(err, ZG_EIO, "--server", "the server's answer names no upload");
    }
    json_decref(j);
    if (!rc)
        rc = send_chunks(cl, id, fd, sb.st_size, chunk, &received, err);
    close(fd);
    return rc;
}

/* The index beside a data file, as samtools and IGV look for it: FILE.bai/.csi/.crai/.tbi, or
 * the stem of a .bam/.cram with .bai/.crai. Into out; false when there is none. */
static bool index_beside(const char *file, char *out, size_t n)
{
    static const char *const same[] = {".bai", ".csi", ".crai", ".tbi"};
    struct stat sb;
    for (size_t i = 0; i < 4; i++) {
        snprintf(out, n, "%s%s", file, same[i]);
        if (!stat(out, &sb) && S_ISREG(sb.st_mode) && sb.st_size > 0)
            return true;
    }
    size_t len = strlen(file);
    static const char *const stems[][2] = {{".bam", ".bai"}, {".cram", ".crai"}};
    for (size_t i = 0; i < 2; i++) {
        size_t el = strlen(stems[i][0]);
        if (len > el && !strcmp(file + len - el, stems[i][0])) {
            snprintf(out, n, "%.*s%s", (int)(len - el), file, stems[i][1]);
            if (!stat(out, &sb) && S_ISREG(sb.st_mode) && sb.st_size > 0)
                return true;
        }
    }
    return false;
}

int zg_cmd_upload(int argc, char **argv)
{
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(usage, "too many arguments");
    struct client cl = {.server = zg_args_opt(&a, "--server"),
                        .cacert = zg_args_opt(&a, "--cacert")};
    const char *case_id = zg_args_opt(&a, "--case"), *token_file = zg_args_opt(&a, "--token-file");
    const char *kind = zg_args_opt(&a, "--kind"), *ref = zg_args_opt(&a, "--reference");
    const char *pipe = zg_args_opt(&a, "--pipeline"), *pv = zg_args_opt(&a, "--pipeline-version");
    const char *resume = zg_args_opt(&a, "--resume"), *imp = zg_args_opt(&a, "--import");
    const char *ct = zg_args_opt(&a, "--cancer-type"), *cs = zg_args_opt(&a, "--chunk-size");
    const char *index = zg_args_opt(&a, "--index");
    bool no_index = zg_args_flag(&a, "--no-index");
    cl.quiet = zg_args_flag(&a, "--quiet");
    cl.tty = isatty(2) != 0;
    const char *file = zg_args_pos(&a, 0);
    int rc = zg_args_done(&a, usage);
    if (rc)
        return rc;
    if (!file || !cl.server || !case_id)
        return zg_cli_usage(usage, "upload needs FILE, --server and --case");
    if (strncmp(cl.server, "https://", 8) && strncmp(cl.server, "http://", 7))
        return zg_cli_usage(usage, "--server must be an http(s):// URL of a zengen server");
    if (!strncmp(cl.server, "http://", 7) && strncmp(cl.server, "http://127.0.0.1", 16) &&
        strncmp(cl.server, "http://localhost", 16) && strncmp(cl.server, "http://[::1]", 12))
        fprintf(stderr,
                "zengen: warning: %s is plain HTTP: the API token and the data travel "
                "unencrypted; use https://\n",
                cl.server);
    size_t chunk = CHUNK_MAX;
    if (cs) {
        char *end = NULL;
        unsigned long long v = strtoull(cs, &end, 10);
        if (!*cs || *end || v < 1024 || v > CHUNK_MAX)
            return zg_cli_usage(usage, "--chunk-size must be 1024..%zu bytes", CHUNK_MAX);
        chunk = (size_t)v;
    }
    struct zg_error err;
    zg_error_clear(&err);
    const char *env = getenv("ZENGEN_TOKEN");
    if (token_file) {
        if (zg_cli_read_token(token_file, cl.token, sizeof(cl.token), &err))
            return zg_cli_fail(&err);
    } else if (env && *env && strlen(env) < sizeof(cl.token)) {
        snprintf(cl.token, sizeof(cl.token), "%s", env);
    } else {
        return zg_cli_usage(usage, "give the API token with --token-file F (or ZENGEN_TOKEN)");
    }
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        zg_error_set(&err, ZG_ENOTFOUND, "FILE", "cannot read %s", file);
        return zg_cli_fail(&err);
    }
    int64_t size = sb.st_size;
    char sha[ZG_SHA256_HEX], id[64] = "", file_id[40] = "";
    long status = 0;
    json_t *j = NULL;
    int64_t received = 0;
    if ((rc = hash_file(fd, size, &cl, sha, &err)))
        goto fail;
    if (resume) {
        char path[160];
        snprintf(path, sizeof(path), "/api/v1/genome/uploads/%s", resume);
        if ((rc = request(&cl, "GET", path, NULL, NULL, 0, &status, &j, &err)))
            goto fail;
        if (status != 200) {
            rc = problem(status, j, "resume", &err);
            goto fail;
        }
        if (json_integer_value(json_object_get(j, "expected_size")) != size) {
            rc = zg_error_set(&err, ZG_EINVAL, "--resume",
                              "that upload expects %lld bytes; this file has %lld",
                              (long long)json_integer_value(json_object_get(j, "expected_size")),
                              (long long)size);
            goto fail;
        }
        snprintf(id, sizeof(id), "%s", resume);
    } else {
        const char *base = strrchr(file, '/');
        json_t *b = json_pack("{s:s,s:I,s:s,s:s}", "case_id", case_id, "size", (json_int_t)size,
                              "sha256", sha, "name", base ? base + 1 : file);
        if (kind)
            json_object_set_new(b, "kind", json_string(kind));
        if (ref)
            json_object_set_new(b, "reference", json_string(ref));
        if (pipe)
            json_object_set_new(b, "pipeline", json_string(pipe));
        if (pv)
            json_object_set_new(b, "pipeline_version", json_string(pv));
        char *text = json_dumps(b, JSON_COMPACT);
        json_decref(b);
        rc = text ? request(&cl, "POST", "/api/v1/genome/uploads", NULL, text, strlen(text),
                            &status, &j, &err)
                  : zg_error_set(&err, ZG_ENOMEM, "", "out of memory");
        free(text);
        if (rc)
            goto fail;
        if (status != 201) {
            rc = problem(status, j, "upload", &err);
            goto fail;
        }
        snprintf(id, sizeof(id), "%s", str(j, "id"));
        if (!id[0]) {
            rc = zg_error_set(&err, ZG_EIO, "--server", "the server's answer names no upload");
            goto fail;
        }
        if (!cl.quiet)
            fprintf(stderr, "upload: %s (continue an interrupted upload with --resume %s)\n", id,
                    id);
    }
    received = json_integer_value(json_object_get(j, "received"));
    json_decref(j);
    j = NULL;
    if ((rc = send_chunks(&cl, id, fd, size, chunk, &received, &err)))
        goto fail;
    /* the index, when there is one, goes along: the server checks it instead of building one
     * (which reads the whole file: minutes for a WGS BAM). One found beside the file is sent
     * too; should the server find it does not fit, the file is finished without it. */
    char index_id[64] = "", fbody[128] = "{}", beside[PATH_MAX];
    bool found = false;
    if (!index && !no_index && (found = index_beside(file, beside, sizeof(beside)))) {
        index = beside;
        if (!cl.quiet)
            fprintf(stderr, "upload: sending the index beside it too: %s\n", index);
    }
    if (index) {
        if ((rc = upload_index(&cl, case_id, index, chunk, index_id, &err)) && !found)
            goto fail;
        if (rc) { /* the one found beside the file could not be sent: the file goes without */
            fprintf(stderr,
                    "zengen: warning: the index beside the file was not sent (%s); "
                    "finishing without it (the server builds one)\n",
                    err.reason);
            zg_error_clear(&err);
            rc = 0;
            found = false;
        } else {
            snprintf(fbody, sizeof(fbody), "{\"index_upload\":\"%s\"}", index_id);
        }
    }
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/genome/uploads/%s/finish", id);
    rc = request(&cl, "POST", path, NULL, fbody, strlen(fbody), &status, &j, &err);
    const char *detail = json_string_value(json_object_get(j, "detail"));
    if (!rc && found && status == 422 && detail && strstr(detail, "index_upload")) {
        fprintf(stderr,
                "zengen: warning: the server refused the index beside the file (%s); "
                "finishing without it (the server builds one)\n",
                detail);
        json_decref(j);
        j = NULL;
        rc = request(&cl, "POST", path, NULL, "{}", 2, &status, &j, &err);
    }
    if (rc || status != 201) {
        /* the answer may have been lost after the server finished: ask the upload */
        json_t *st = NULL;
        long s2 = 0;
        struct zg_error e2;
        snprintf(path, sizeof(path), "/api/v1/genome/uploads/%s", id);
        if (request(&cl, "GET", path, NULL, NULL, 0, &s2, &st, &e2) == 0 && s2 == 200 &&
            !strcmp(str(st, "state"), "done") && str(st, "file_id")[0]) {
            zg_error_clear(&err);
            rc = 0;
            json_decref(j);
            j = json_pack("{s:s,s:s}", "id", str(st, "file_id"), "format", "registered");
            json_decref(st);
        } else {
            json_decref(st);
            if (!rc)
                rc = problem(status, j, "finish", &err);
            goto fail;
        }
    }
    snprintf(file_id, sizeof(file_id), "%s", str(j, "id"));
    if (!file_id[0]) {
        rc = zg_error_set(&err, ZG_EIO, "--server", "the server's answer names no file");
        goto fail;
    }
    printf("file %s registered for case %s (%s, SHA-256 verified by the server)\n", file_id,
           case_id, str(j, "format"));
    json_decref(j);
    j = NULL;
    close(fd);
    fd = -1;
    if (imp && (rc = import_and_follow(&cl, file_id, imp, ct, &err)))
        goto fail;
    zg_wipe(cl.token, sizeof(cl.token));
    return 0;
fail:
    json_decref(j);
    if (fd >= 0)
        close(fd);
    zg_wipe(cl.token, sizeof(cl.token));
    return zg_cli_fail(&err);
}
