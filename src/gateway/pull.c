/* Pull: the center fetches new and changed resources from a hospital's FHIR R4 server
 * (_lastUpdated), maps them with the clinical FHIR mapping and merges them into cases.
 * Configuration and checkpoints are files under DATA/pull/ (written atomically), so a restart
 * resumes from the last page that was stored. Comparison with push: docs/push-vs-pull.md. */
#include "gateway/gateway.h"
#include "auth/auth.h"
#include "clinical/clinical.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "ids/ids.h"
#include "store/datadir.h"
#include "store/db.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PULL_MAX_PAGES 100000
#define PULL_MAX_FAILURES 20
#define PULL_ATTEMPTS 5

static const char *const default_types[] = {"Patient", "Condition", "Observation",
                                            "MedicationStatement", "MedicationRequest",
                                            "Procedure", "FamilyMemberHistory", "Specimen"};

static void pull_path(const struct zg_datadir *dd, const char *name, const char *suffix,
                      char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/pull/%s%s", dd->path, name ? name : "", suffix);
}

static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 40)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
              s[i] == '_'))
            return false;
    return true;
}

static int save_json(const char *path, json_t *j, struct zg_error *err)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!s)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    int rc = zg_gw_write_file_atomic(path, s, strlen(s), err);
    free(s);
    return rc;
}

static bool type_ok(const char *t)
{
    for (size_t i = 0; i < ZG_ARRAY_LEN(default_types); i++)
        if (!strcmp(t, default_types[i]))
            return true;
    return false;
}

int zg_pull_add(const struct zg_datadir *dd, sqlite3 *db, json_t *c, struct zg_error *err)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    const char *url = json_string_value(json_object_get(c, "url"));
    const char *org = json_string_value(json_object_get(c, "org"));
    if (!name_ok(name))
        return zg_error_set(err, ZG_EINVAL, "name", "1–40 characters of a-z 0-9 - _");
    if (!url || strlen(url) > 900 || (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)))
        return zg_error_set(err, ZG_EINVAL, "--url", "must be the http(s):// base of a FHIR R4 server");
    int64_t org_id;
    if (!org || zg_org_lookup(db, org, &org_id, err))
        return zg_error_set(err, ZG_EINVAL, "--org", "must name an existing organisation");
    json_t *types = json_object_get(c, "types");
    if (!types) {
        types = json_array();
        for (size_t i = 0; i < ZG_ARRAY_LEN(default_types); i++)
            json_array_append_new(types, json_string(default_types[i]));
        json_object_set_new(c, "types", types);
    }
    size_t i;
    json_t *t;
    json_array_foreach(types, i, t) if (!json_is_string(t) || !type_ok(json_string_value(t)))
        return zg_error_set(err, ZG_EINVAL, "--types",
                            "'%s' is not a supported resource type (Patient, Condition, "
                            "Observation, MedicationStatement, MedicationRequest, Procedure, "
                            "FamilyMemberHistory, Specimen)",
                            json_is_string(t) ? json_string_value(t) : "?");
    json_int_t batch = json_integer_value(json_object_get(c, "batch"));
    if (!json_object_get(c, "batch"))
        json_object_set_new(c, "batch", json_integer(batch = 100));
    if (batch < 1 || batch > 1000)
        return zg_error_set(err, ZG_EINVAL, "--batch", "1–1000 resources per page");
    const char *tf = json_string_value(json_object_get(c, "token_file"));
    if (tf && access(tf, R_OK))
        return zg_error_set(err, ZG_EINVAL, "--token-file", "cannot read %s", tf);
    const char *ca = json_string_value(json_object_get(c, "cacert"));
    if (ca && access(ca, R_OK))
        return zg_error_set(err, ZG_EINVAL, "--cacert", "cannot read %s", ca);
    char dir[1200], path[1300];
    pull_path(dd, NULL, "", dir, sizeof(dir));
    if (mkdir(dir, 0700) && errno != EEXIST)
        return zg_error_set(err, ZG_EIO, "", "cannot create %s: %s", dir, strerror(errno));
    pull_path(dd, name, ".json", path, sizeof(path));
    json_object_set_new(c, "created_at", json_integer(zg_clock_now()));
    return save_json(path, c, err);
}

json_t *zg_pull_sources(const struct zg_datadir *dd, struct zg_error *err)
{
    char dir[1200];
    pull_path(dd, NULL, "", dir, sizeof(dir));
    json_t *out = json_array();
    DIR *d = opendir(dir);
    if (!d)
        return out; /* nothing configured */
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 5 && !strcmp(e->d_name + n - 5, ".json") &&
            !(n > 11 && !strcmp(e->d_name + n - 11, ".state.json"))) {
            char nm[64];
            snprintf(nm, sizeof(nm), "%.*s", (int)(n - 5), e->d_name);
            if (name_ok(nm))
                json_array_append_new(out, json_string(nm));
        }
    }
    closedir(d);
    (void)err;
    return out;
}

/* --- one run ------------------------------------------------------------------------- */

struct run {
    const struct zg_datadir *dd;
    sqlite3 *db, *link;
    const char *name, *base, *org, *id_system, *cacert;
    int64_t org_id;
    char token[512];
    json_t *state;       /* the source's state document */
    json_t *patients;    /* "Patient/<id>" → case ID, for this run */
    json_t *failures;    /* this run's failures */
    struct zg_pull_stats *st;
    struct zg_clinical_actor who;
    char login[64];
    long retry_base_ms;
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* GET with retries (network errors, 429, 5xx) and exponential back-off. Returns 0 with the
 * parsed 2xx body, ZG_EIO (network, 429, 5xx after every attempt: the run stops),
 * ZG_ENOTFOUND (404/410) or ZG_EINVAL (other 4xx, invalid JSON). */
static int get_json(struct run *r, const char *url, json_t **out, struct zg_error *err)
{
    *out = NULL;
    struct zg_buf resp;
    zg_buf_init(&resp, 0);
    const char *hdr[] = {"Accept: application/fhir+json", NULL};
    long status = 0;
    int rc = 0;
    for (int attempt = 0; attempt < PULL_ATTEMPTS; attempt++) {
        if (attempt) {
            r->st->retries++;
            long wait = r->retry_base_ms << (attempt - 1);
            sleep_ms(wait > 30000 ? 30000 : wait);
        }
        struct zg_error e;
        zg_error_clear(&e);
        r->st->requests++;
        if (zg_gw_http("GET", url, r->token[0] ? r->token : NULL, r->cacert, hdr, NULL, 0, 60, &status, &resp, &e))
            status = 0;
        if (status >= 200 && status < 300)
            break;
        if (status == 0)
            rc = zg_error_set(err, ZG_EIO, "", "network: %s", e.reason);
        else if (status == 404 || status == 410)
            rc = zg_error_set(err, ZG_ENOTFOUND, "", "HTTP %ld from the FHIR server", status);
        else if (status != 429 && status < 500)
            rc = zg_error_set(err, ZG_EINVAL, "", "HTTP %ld from the FHIR server", status);
        else
            rc = zg_error_set(err, ZG_EIO, "", "HTTP %ld from the FHIR server", status);
        if (status && status != 429 && status < 500)
            break; /* 4xx: retrying will not help */
    }
    if (status >= 200 && status < 300) {
        json_error_t je;
        *out = json_loadb(resp.p, resp.len, 0, &je);
        rc = *out ? 0 : zg_error_set(err, ZG_EINVAL, "", "the FHIR server sent invalid JSON (%s)", je.text);
    }
    zg_buf_release(&resp);
    return rc;
}

static int resolve_local(struct run *r, const char *local, bool create, char case_id[ZG_ID_LEN],
                         struct zg_error *err);

/* The case of a hospital Patient (linkage store, then the organisation's case, created when
 * missing). The local ID is the Patient's id, or — with patient_id_system — its identifier of
 * that system, for which the Patient is read from the server unless `known` is it. The
 * linkage store is local to the center, so by default no request is made. */
static int patient_case(struct run *r, const char *pid, json_t *known, char case_id[ZG_ID_LEN],
                        struct zg_error *err)
{
    char ref[200];
    snprintf(ref, sizeof(ref), "Patient/%s", pid);
    const char *cached = json_string_value(json_object_get(r->patients, ref));
    if (cached) {
        snprintf(case_id, ZG_ID_LEN, "%s", cached);
        return 0;
    }
    const char *local = pid;
    json_t *fetched = NULL;
    int rc;
    if (!r->id_system && !known) {
        /* a patient pulled before needs no request; an unknown one must exist on the server */
        rc = resolve_local(r, pid, false, case_id, err);
        if (rc != ZG_ENOTFOUND)
            goto done;
    }
    if (r->id_system || !known) {
        json_t *patient = known;
        if (!patient) {
            char url[1400];
            snprintf(url, sizeof(url), "%s/Patient/%s", r->base, pid);
            if ((rc = get_json(r, url, &fetched, err)))
                return rc;
            if (strcmp(json_string_value(json_object_get(fetched, "resourceType")) ?: "", "Patient")) {
                json_decref(fetched);
                return zg_error_set(err, ZG_EINVAL, "", "the server did not return a Patient");
            }
            patient = fetched;
        }
        if (r->id_system) {
            size_t i;
            json_t *id;
            local = NULL;
            json_array_foreach(json_object_get(patient, "identifier"), i, id)
                if (!strcmp(json_string_value(json_object_get(id, "system")) ?: "", r->id_system))
                    local = json_string_value(json_object_get(id, "value"));
            if (!local) {
                json_decref(fetched);
                return zg_error_set(err, ZG_EINVAL, "",
                                    "the Patient has no identifier of system %.200s", r->id_system);
            }
        }
    }
    rc = resolve_local(r, local, true, case_id, err);
    json_decref(fetched);
done:
    if (!rc)
        json_object_set_new(r->patients, ref, json_string(case_id));
    return rc;
}

/* Linkage store → participant → the organisation's case (created when missing). Without
 * create, a local ID the linkage store does not know is ZG_ENOTFOUND. */
static int resolve_local(struct run *r, const char *local, bool create, char case_id[ZG_ID_LEN],
                         struct zg_error *err)
{
    char participant[ZG_ID_LEN], part2[ZG_ID_LEN];
    bool created;
    int rc = zg_linkage_resolve(r->dd, r->link, r->db, r->org_id, r->org, local, NULL, create,
                                participant, &created, err);
    if (rc)
        return rc;
    case_id[0] = '\0';
    sqlite3_stmt *s = zg_db_prepare(r->db,
                                    "SELECT id FROM cases WHERE participant_id=?1 AND org_id=?2"
                                    " ORDER BY created_at, id LIMIT 1",
                                    err);
    if (!s)
        return err->code;
    sqlite3_bind_text(s, 1, participant, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, r->org_id);
    if (sqlite3_step(s) == SQLITE_ROW)
        snprintf(case_id, ZG_ID_LEN, "%s", zg_db_text(s, 0));
    zg_db_release(s);
    if (!case_id[0] && (rc = zg_case_add(r->db, r->org_id, participant, 0, case_id, part2, err)))
        return rc;
    return 0;
}

static void add_failure(struct run *r, const char *what, const struct zg_error *e)
{
    r->st->failed++;
    if (json_array_size(r->failures) < PULL_MAX_FAILURES)
        json_array_append_new(r->failures, json_pack("{s:s,s:s,s:s}", "resource", what, "pointer",
                                                     e->field, "reason", e->reason));
}

/* The "Patient/<id>" id a resource belongs to, or NULL. */
static const char *subject_id(json_t *res, char *buf, size_t bufsz)
{
    json_t *ref = json_object_get(res, "subject");
    if (!ref)
        ref = json_object_get(res, "patient");
    const char *s = json_string_value(json_object_get(ref, "reference"));
    if (!s)
        return NULL;
    const char *p = strstr(s, "Patient/");
    if (!p)
        return NULL;
    p += 8;
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= bufsz || n > 64)
        return NULL;
    snprintf(buf, bufsz, "%.*s", (int)n, p);
    return buf;
}

/* Maps and stores one resource. Failures of the resource itself are counted, not returned;
 * the return value is an error only when the run must stop (database, network). */
static int one_resource(struct run *r, json_t *res, struct zg_error *err)
{
    const char *type = json_string_value(json_object_get(res, "resourceType"));
    const char *id = json_string_value(json_object_get(res, "id"));
    if (!type || !id || strlen(id) > 64)
        return 0;
    r->st->fetched++;
    json_t *meta = json_object_get(res, "meta");
    const char *ver = json_string_value(json_object_get(meta, "versionId"));
    if (!ver)
        ver = json_string_value(json_object_get(meta, "lastUpdated"));
    bool is_patient = !strcmp(type, "Patient");
    /* what a failure report may name: never a Patient's id (it may be the hospital's ID) */
    char what[128];
    snprintf(what, sizeof(what), "%s%s%s", type, is_patient ? "" : "/", is_patient ? "" : id);
    char pidbuf[80];
    const char *pid = is_patient ? id : subject_id(res, pidbuf, sizeof(pidbuf));
    struct zg_error e;
    zg_error_clear(&e);
    if (!pid) {
        zg_error_set(&e, ZG_EINVAL, "/subject", "the resource refers to no Patient of this server");
        add_failure(r, what, &e);
        return 0;
    }
    char case_id[ZG_ID_LEN];
    int rc = patient_case(r, pid, is_patient ? res : NULL, case_id, &e);
    if (rc == ZG_EIO) {
        zg_error_set(err, rc, "", "%s", e.reason);
        return rc;
    }
    if (rc) {
        add_failure(r, what, &e);
        return 0;
    }
    /* the bundle the clinical mapping reads: the Patient (its hospital identifiers replaced by
     * the zengen case ID; for other resources a minimal Patient that only carries the case) and the
     * resource */
    json_t *p2 = is_patient ? json_deep_copy(res) : json_pack("{s:s,s:s}", "resourceType", "Patient", "id", pid);
    json_object_set_new(p2, "identifier", json_pack("[{s:s,s:s}]", "system", ZG_FHIR_CASE_SYSTEM,
                                                    "value", case_id));
    json_t *entries = json_pack("[{s:o}]", "resource", p2);
    if (!is_patient)
        json_array_append_new(entries, json_pack("{s:O}", "resource", res));
    json_t *bundle = json_pack("{s:s,s:s,s:o}", "resourceType", "Bundle", "type", "collection",
                               "entry", entries);
    json_t *records = NULL, *report = json_object();
    rc = zg_clinical_from_fhir(bundle, &records, report, &e);
    json_decref(bundle);
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(report, "unmapped"), i, u) {
        const char *ptr = json_string_value(json_object_get(u, "pointer")) ?: "";
        if (is_patient || !strncmp(ptr, "/entry/1", 8))
            r->st->unmapped++;
    }
    json_decref(report);
    if (rc) {
        json_decref(records);
        add_failure(r, what, &e);
        return 0;
    }
    json_t *rec = json_object_get(json_array_get(records, 0), "record");
    /* idempotency: the same version of the same resource is stored once */
    char keysrc[512], key[80], msgid[160];
    snprintf(keysrc, sizeof(keysrc), "%s%c%s/%s%c%s", r->name, 0, type, id, 0, ver ? ver : "");
    size_t kl = strlen(r->name) + 1 + strlen(type) + 1 + strlen(id) + 1 + strlen(ver ? ver : "");
    char h[ZG_SHA256_HEX];
    zg_sha256_hex(keysrc, kl < sizeof(keysrc) ? kl : sizeof(keysrc), h);
    snprintf(key, sizeof(key), "pull-%s", h);
    if (is_patient)
        snprintf(msgid, sizeof(msgid), "Patient/%.16s", h);
    else
        snprintf(msgid, sizeof(msgid), "%.40s/%.64s/_history/%.40s", type, id, ver ? ver : "-");
    char src[64];
    snprintf(src, sizeof(src), "pull:%s", r->name);
    struct zg_clinical_push push = {case_id, rec, true, NULL, src, msgid};
    struct zg_clinical_result res2;
    bool replayed = false;
    json_t *errors = json_array();
    rc = rec ? zg_clinical_push_one(r->db, &r->who, &push, key, &res2, &replayed, errors, &e) : 0;
    json_decref(errors);
    json_decref(records);
    if (rc == ZG_EIO) {
        zg_error_set(err, rc, "", "%s", e.reason);
        return rc;
    }
    if (rc)
        add_failure(r, what, &e);
    else if (!rec || replayed || res2.unchanged)
        r->st->unchanged++;
    else
        r->st->imported++;
    return 0;
}

/* Scheme://host[:port] prefix length of url (the part a next link must share). */
static size_t origin_len(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return 0;
    p += 3;
    return (size_t)(p - url) + strcspn(p, "/?#");
}

static int pull_type(struct run *r, const char *type, int batch, struct zg_error *err)
{
    json_t *cps = json_object_get(r->state, "checkpoints");
    const char *since = json_string_value(json_object_get(cps, type));
    char url[2048];
    if (since)
        snprintf(url, sizeof(url), "%s/%s?_lastUpdated=ge%s&_sort=_lastUpdated&_count=%d", r->base,
                 type, since, batch);
    else
        snprintf(url, sizeof(url), "%s/%s?_sort=_lastUpdated&_count=%d", r->base, type, batch);
    char max_seen[64] = "";
    if (since)
        snprintf(max_seen, sizeof(max_seen), "%s", since);
    size_t olen = origin_len(r->base);
    for (int page = 0; page < PULL_MAX_PAGES; page++) {
        json_t *b;
        int rc = get_json(r, url, &b, err);
        if (rc)
            return rc;
        if (strcmp(json_string_value(json_object_get(b, "resourceType")) ?: "", "Bundle")) {
            json_decref(b);
            return zg_error_set(err, ZG_EINVAL, "", "%s search did not return a Bundle", type);
        }
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(b, "entry"), i, e) {
            json_t *res = json_object_get(e, "resource");
            const char *mode = json_string_value(json_object_get(json_object_get(e, "search"), "mode"));
            if (!res || (mode && strcmp(mode, "match")))
                continue; /* included resources are read through their references */
            if (strcmp(json_string_value(json_object_get(res, "resourceType")) ?: "", type))
                continue;
            if ((rc = one_resource(r, res, err))) {
                json_decref(b);
                return rc;
            }
            const char *lu = json_string_value(json_object_get(json_object_get(res, "meta"), "lastUpdated"));
            if (lu && strlen(lu) < sizeof(max_seen) && strcmp(lu, max_seen) > 0)
                snprintf(max_seen, sizeof(max_seen), "%s", lu);
        }
        /* the page is stored: move the checkpoint (a crash from here on re-reads at most
         * this timestamp, and those replays are idempotent) */
        if (max_seen[0]) {
            json_object_set_new(cps, type, json_string(max_seen));
            char path[1300];
            pull_path(r->dd, r->name, ".state.json", path, sizeof(path));
            if ((rc = save_json(path, r->state, err))) {
                json_decref(b);
                return rc;
            }
        }
        const char *next = NULL;
        json_array_foreach(json_object_get(b, "link"), i, e)
            if (!strcmp(json_string_value(json_object_get(e, "relation")) ?: "", "next"))
                next = json_string_value(json_object_get(e, "url"));
        if (next && (strlen(next) >= sizeof(url) || strncmp(next, r->base, olen) ||
                     (next[olen] && next[olen] != '/' && next[olen] != '?'))) {
            json_decref(b);
            return zg_error_set(err, ZG_EINVAL, "", "the server's next link leaves its origin; refused");
        }
        if (next)
            snprintf(url, sizeof(url), "%s", next);
        json_decref(b);
        if (!next)
            return 0;
    }
    return zg_error_set(err, ZG_ETOOBIG, "", "more than %d pages of %s", PULL_MAX_PAGES, type);
}

static void add_total(json_t *totals, const char *k, int64_t v)
{
    json_object_set_new(totals, k, json_integer(json_integer_value(json_object_get(totals, k)) + v));
}

int zg_pull_run(const struct zg_datadir *dd, sqlite3 *db, sqlite3 *link, const char *name,
                struct zg_pull_stats *st, struct zg_error *err)
{
    memset(st, 0, sizeof(*st));
    if (!name_ok(name))
        return zg_error_set(err, ZG_EINVAL, "name", "not a pull source name");
    char path[1300], spath[1300];
    pull_path(dd, name, ".json", path, sizeof(path));
    pull_path(dd, name, ".state.json", spath, sizeof(spath));
    json_t *cfg = json_load_file(path, 0, NULL);
    if (!cfg)
        return zg_error_set(err, ZG_ENOTFOUND, "name", "no pull source '%s' (zengen pull add)", name);
    struct run r = {0};
    r.dd = dd, r.db = db, r.link = link, r.name = name, r.st = st;
    r.base = json_string_value(json_object_get(cfg, "url"));
    r.org = json_string_value(json_object_get(cfg, "org"));
    r.id_system = json_string_value(json_object_get(cfg, "patient_id_system"));
    r.cacert = json_string_value(json_object_get(cfg, "cacert"));
    const char *env = getenv("ZENGEN_PULL_RETRY_MS");
    r.retry_base_ms = env && strtol(env, NULL, 10) > 0 ? strtol(env, NULL, 10) : 1000;
    r.state = json_load_file(spath, 0, NULL);
    if (!json_is_object(r.state)) {
        json_decref(r.state);
        r.state = json_pack("{s:{},s:{}}", "checkpoints", "totals");
    }
    r.patients = json_object();
    r.failures = json_array();
    snprintf(r.login, sizeof(r.login), "pull:%s", name);
    int rc = 0;
    const char *tf = json_string_value(json_object_get(cfg, "token_file"));
    if (tf) {
        char *t = NULL;
        size_t n;
        if ((rc = zg_gw_read_file(tf, 4096, &t, &n, err)))
            goto done;
        size_t k = strcspn(t, "\r\n \t");
        snprintf(r.token, sizeof(r.token), "%.*s", (int)k, t);
        zg_wipe(t, n);
        free(t);
    }
    if (!r.base || !r.org || (rc = zg_org_lookup(db, r.org, &r.org_id, err)))
        goto done;
    r.who = (struct zg_clinical_actor){0, r.login, r.org_id, r.org_id};
    /* strip a trailing slash from the base */
    char base[1000];
    snprintf(base, sizeof(base), "%s", r.base);
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        base[--bl] = '\0';
    r.base = base;
    int batch = (int)json_integer_value(json_object_get(cfg, "batch"));
    if (batch < 1 || batch > 1000)
        batch = 100;
    json_object_set_new(r.state, "last_run_at", json_integer(zg_clock_now()));
    json_t *types = json_object_get(cfg, "types");
    /* Patients first, so that later resources find their case already made */
    bool has_patient = false;
    size_t i;
    json_t *t;
    json_array_foreach(types, i, t) has_patient |= !strcmp(json_string_value(t), "Patient");
    if (has_patient && (rc = pull_type(&r, "Patient", batch, err)))
        goto done;
    json_array_foreach(types, i, t) {
        if (!strcmp(json_string_value(t), "Patient"))
            continue;
        if ((rc = pull_type(&r, json_string_value(t), batch, err)))
            goto done;
    }
done:;
    json_t *last = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "requests", (json_int_t)st->requests,
                             "retries", (json_int_t)st->retries, "fetched", (json_int_t)st->fetched,
                             "imported", (json_int_t)st->imported, "unchanged",
                             (json_int_t)st->unchanged, "failed", (json_int_t)st->failed,
                             "unmapped", (json_int_t)st->unmapped);
    json_t *totals = json_object_get(r.state, "totals");
    if (!totals)
        json_object_set_new(r.state, "totals", totals = json_object());
    add_total(totals, "fetched", st->fetched);
    add_total(totals, "imported", st->imported);
    add_total(totals, "failed", st->failed);
    add_total(totals, "requests", st->requests);
    json_object_set_new(r.state, "last_run", last);
    json_object_set(r.state, "failures", r.failures);
    if (rc) {
        int64_t fails = json_integer_value(json_object_get(r.state, "consecutive_failures")) + 1;
        json_object_set_new(r.state, "consecutive_failures", json_integer(fails));
        json_object_set_new(r.state, "last_error", json_string(err->reason));
        json_object_set_new(r.state, "next_attempt_at",
                            json_integer(zg_clock_now() + zg_gw_backoff((int)fails, 5, 3600)));
    } else {
        json_object_set_new(r.state, "consecutive_failures", json_integer(0));
        json_object_del(r.state, "last_error");
        json_object_del(r.state, "next_attempt_at");
        json_object_set_new(r.state, "last_success_at", json_integer(zg_clock_now()));
    }
    struct zg_error se;
    zg_error_clear(&se);
    if (save_json(spath, r.state, &se) && !rc)
        rc = zg_error_set(err, se.code, "", "%s", se.reason);
    zg_wipe(r.token, sizeof(r.token));
    json_decref(r.state);
    json_decref(r.patients);
    json_decref(r.failures);
    json_decref(cfg);
    return rc;
}

json_t *zg_pull_status(const struct zg_datadir *dd, struct zg_error *err)
{
    json_t *names = zg_pull_sources(dd, err), *out = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        char path[1300], spath[1300];
        pull_path(dd, json_string_value(n), ".json", path, sizeof(path));
        pull_path(dd, json_string_value(n), ".state.json", spath, sizeof(spath));
        json_t *cfg = json_load_file(path, 0, NULL), *stj = json_load_file(spath, 0, NULL);
        json_t *s = json_object();
        if (cfg) {
            static const char *const keep[] = {"name", "url", "org", "types", "batch", "patient_id_system", "cacert"};
            for (size_t k = 0; k < ZG_ARRAY_LEN(keep); k++)
                if (json_object_get(cfg, keep[k]))
                    json_object_set(s, keep[k], json_object_get(cfg, keep[k]));
        }
        if (stj)
            json_object_update(s, stj);
        if (!json_object_get(s, "checkpoints"))
            json_object_set_new(s, "checkpoints", json_object());
        const char *state = !stj                                              ? "never-run"
                            : json_integer_value(json_object_get(s, "consecutive_failures")) ? "failing"
                                                                                             : "ok";
        json_object_set_new(s, "state", json_string(state));
        json_array_append_new(out, s);
        json_decref(cfg);
        json_decref(stj);
    }
    json_decref(names);
    return json_pack("{s:o}", "sources", out);
}
