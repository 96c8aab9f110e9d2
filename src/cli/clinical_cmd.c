/* zengen import fhir, zengen clinical validate|bench and the clinical demo cohort: the same
 * conversion, validation and push functions as the API. */
#include "cli.h"
#include "clinical_cli.h"
#include "clinical/clinical.h"
#include "auth/auth.h"
#include "common/buf.h"
#include "common/clock.h"
#include "ids/ids.h"
#include "store/db.h"

#include <errno.h>
#include <unistd.h>

#define MAX_FILE ((size_t)64 << 20)

/* Reads a JSON file (at most MAX_FILE bytes). NULL with err. */
static json_t *load_json(const char *path, struct zg_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        zg_error_set(err, ZG_EIO, path, "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct zg_buf b;
    zg_buf_init(&b, MAX_FILE);
    char tmp[65536];
    size_t n;
    int rc = 0;
    while (!rc && (n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        rc = zg_buf_add(&b, tmp, n);
    bool bad = ferror(f);
    fclose(f);
    if (rc || bad) {
        zg_buf_release(&b);
        zg_error_set(err, rc == ZG_ETOOBIG ? ZG_ETOOBIG : ZG_EIO, path,
                     rc == ZG_ETOOBIG ? "larger than 64 MiB" : "cannot read");
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(b.p, b.len, JSON_REJECT_DUPLICATES, &je);
    zg_buf_release(&b);
    if (!j)
        zg_error_set(err, ZG_EINVAL, path, "not valid JSON: %s (line %d, column %d)", je.text,
                     je.line, je.column);
    return j;
}

static void os_login(char out[80])
{
    const char *u = getenv("USER");
    snprintf(out, 80, "cli:%s", u && *u ? u : "unknown");
}

int zg_cmd_import_fhir(int argc, char **argv)
{
    static const char *u = "zengen import fhir FILE… [--source-system NAME] [--quiet] --data DIR";
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(u, "too many arguments");
    const char *src = zg_args_opt(&a, "--source-system");
    bool quiet = zg_args_flag(&a, "--quiet");
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_cli_open(&a, &dd, &db, &err))
        return zg_cli_fail(&err);
    int nfiles = 0, rc;
    while (zg_args_pos(&a, nfiles))
        nfiles++;
    if (!nfiles) {
        rc = zg_cli_usage(u, "name at least one FHIR Bundle file");
        goto out;
    }
    if ((rc = zg_args_done(&a, u)))
        goto out;
    char login[80];
    os_login(login);
    struct zg_clinical_actor who = {0, login, 0, 0};
    int failed = 0, ok = 0;
    json_t *touched = json_array();
    int64_t t0 = zg_clock_mono_ms();
    for (int i = 0; i < nfiles; i++) {
        const char *path = zg_args_pos(&a, i);
        zg_error_clear(&err);
        json_t *bundle = load_json(path, &err), *res = NULL, *errors = json_array();
        int frc = bundle ? zg_clinical_import_fhir(db, &who, bundle, src ? src : "fhir-file",
                                                   NULL, &res, errors, &err)
                         : err.code;
        if (frc) {
            failed++;
            fprintf(stderr, "[%d/%d] %s: rejected: %s%s%s\n", i + 1, nfiles, path, err.field,
                    err.field[0] ? ": " : "", err.reason);
            size_t k;
            json_t *e;
            json_array_foreach(errors, k, e) if (k > 0 && k < 20) fprintf(
                stderr, "    %s: %s\n", json_string_value(json_object_get(e, "pointer")),
                json_string_value(json_object_get(e, "reason")));
        } else {
            ok++;
            size_t k;
            json_t *c;
            json_array_foreach(json_object_get(res, "cases"), k, c)
                json_array_append(touched, json_object_get(c, "case_id"));
            json_t *rep = json_object_get(res, "report");
            if (!quiet)
                fprintf(stderr, "[%d/%d] %s: %zu case(s), %lld of %lld resources mapped, %zu "
                                "element(s) not mapped\n",
                        i + 1, nfiles, path, json_array_size(json_object_get(res, "cases")),
                        (long long)json_integer_value(json_object_get(rep, "mapped")),
                        (long long)json_integer_value(json_object_get(rep, "resources")),
                        json_array_size(json_object_get(rep, "unmapped")));
            json_object_set_new(res, "file", json_string(path));
            char *line = json_dumps(res, JSON_COMPACT);
            if (line)
                printf("%s\n", line);
            free(line);
        }
        json_decref(errors);
        json_decref(res);
        json_decref(bundle);
    }
    double s = (double)(zg_clock_mono_ms() - t0) / 1000.0;
    if (!quiet)
        fprintf(stderr, "%d imported, %d rejected in %.2f s\n", ok, failed, s);
    json_t *opts = json_pack("{s:i,s:i}", "files", nfiles, "rejected", failed);
    rc = zg_cli_audit(&dd, "fhir.import", "clinical", failed ? (ok ? "partial" : "error") : "success",
                      touched, opts);
    json_decref(opts);
    json_decref(touched);
    rc = rc ? ZG_EXIT_FAIL : failed ? ZG_EXIT_FAIL : ZG_EXIT_OK;
    goto out;
out:
    zg_db_close(db);
    return rc;
}

static int cmd_validate(struct zg_args *a, const char *u)
{
    const char *path = zg_args_pos(a, 1);
    if (!path)
        return zg_cli_usage(u, "clinical validate needs a FILE");
    int rc = zg_args_done(a, u);
    if (rc)
        return rc;
    struct zg_error err;
    zg_error_clear(&err);
    json_t *rec = load_json(path, &err);
    if (!rec)
        return zg_cli_fail(&err);
    json_t *errors = json_array();
    rc = zg_clinical_validate(rec, errors, &err);
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) printf("%s: %s\n", json_string_value(json_object_get(e, "pointer")),
                                            json_string_value(json_object_get(e, "reason")));
    if (!rc) {
        json_t *c = zg_clinical_completeness(rec);
        printf("valid; %s\n", json_is_true(json_object_get(c, "complete"))
                                  ? "clinically complete"
                                  : "not complete (missing required items)");
        json_array_foreach(json_object_get(c, "missing"), i, e)
            printf("missing: %s\n", json_string_value(e));
        json_decref(c);
    }
    json_decref(errors);
    json_decref(rec);
    return rc ? ZG_EXIT_FAIL : ZG_EXIT_OK;
}

/* Creates n cases of org, each in its own transaction (zg_case_add commits). */
static int make_cases(sqlite3 *db, int64_t org, int n, char (*ids)[ZG_ID_LEN],
                      struct zg_error *err)
{
    int rc = 0;
    for (int i = 0; !rc && i < n; i++)
        rc = zg_case_add(db, org, NULL, 0, ids[i], NULL, err);
    return rc;
}

static int cmd_bench(struct zg_args *a, const char *u, struct zg_datadir *dd, sqlite3 *db)
{
    const char *ns = zg_args_opt(a, "--records"), *bs = zg_args_opt(a, "--batch");
    int rc = zg_args_done(a, u);
    if (rc)
        return rc;
    long n = ns ? strtol(ns, NULL, 10) : 5000, batch = bs ? strtol(bs, NULL, 10) : 500;
    if (n < 10 || n > 1000000 || batch < 1 || batch > ZG_CLINICAL_MAX_ENTRIES)
        return zg_cli_usage(u, "--records 10..1000000, --batch 1..%d", ZG_CLINICAL_MAX_ENTRIES);
    struct zg_error err;
    zg_error_clear(&err);
    int64_t org;
    char oname[64];
    snprintf(oname, sizeof(oname), "Bench Hospital %lld", (long long)zg_clock_now_ms());
    char (*ids)[ZG_ID_LEN] = calloc((size_t)n, ZG_ID_LEN);
    json_t **recs = calloc((size_t)n, sizeof(*recs));
    char **docs = calloc((size_t)n, sizeof(*docs));
    sqlite3 *raw = NULL;
    if (!ids || !recs || !docs) {
        rc = zg_error_set(&err, ZG_ENOMEM, "", "out of memory");
        goto fail;
    }
    if ((rc = zg_org_add(db, oname, "hospital", &org, &err)) ||
        (rc = make_cases(db, org, (int)n, ids, &err)))
        goto fail;
    for (long i = 0; i < n; i++) {
        recs[i] = zg_clinical_synth_record((uint64_t)i + 1, ids[i]);
        docs[i] = json_dumps(recs[i], JSON_COMPACT | JSON_SORT_KEYS);
        if (!recs[i] || !docs[i]) {
            rc = zg_error_set(&err, ZG_ENOMEM, "", "out of memory");
            goto fail;
        }
    }
    fprintf(stderr, "%ld synthetic records ready; validated ingest…\n", n);
    /* 1. validated ingest through the push path hospitals use, in bundles of `batch` */
    struct zg_clinical_actor who = {0, "cli:bench", org, org};
    int64_t t0 = zg_clock_mono_us();
    for (long i = 0; i < n; i += batch) {
        json_t *b = json_pack("{s:s,s:[]}", "source_system", "bench", "entries");
        for (long k = i; k < n && k < i + batch; k++)
            json_array_append_new(json_object_get(b, "entries"),
                                  json_pack("{s:s,s:O}", "case_id", ids[k], "record", recs[k]));
        json_t *res = NULL;
        bool replayed;
        rc = zg_clinical_push_bundle(db, &who, b, &res, &replayed, NULL, &err);
        json_decref(b);
        json_decref(res);
        if (rc)
            goto fail;
    }
    double t_ingest = (double)(zg_clock_mono_us() - t0) / 1e6;
    /* 2. plain SQLite inserts, same pragmas, same batches: (a) the same documents, one row
     * each; (b) the same rows the validated path writes (current-record row, version row with
     * the document, search terms), with the same indexes — values prepared beforehand */
    char path[1200];
    zg_datadir_file(dd, "bench-raw.db", path, sizeof(path));
    unlink(path);
    if ((rc = zg_db_open(path, ZG_DB_CREATE, &raw, &err)) ||
        (rc = zg_db_exec(raw,
                         "CREATE TABLE raw(case_id TEXT PRIMARY KEY, doc TEXT NOT NULL);"
                         "CREATE TABLE r_records(case_id TEXT PRIMARY KEY, version INTEGER, etag"
                         " TEXT, updated_at INTEGER, updated_by INTEGER, source_system TEXT,"
                         " oncotree TEXT, stage TEXT, vital_status TEXT, complete INTEGER);"
                         "CREATE INDEX r1 ON r_records(oncotree);"
                         "CREATE INDEX r2 ON r_records(stage);"
                         "CREATE INDEX r3 ON r_records(vital_status);"
                         "CREATE TABLE r_versions(case_id TEXT, version INTEGER, etag TEXT, doc"
                         " TEXT, created_at INTEGER, user_id INTEGER, login TEXT, source_system"
                         " TEXT, source_message_id TEXT, UNIQUE(case_id, version));"
                         "CREATE TABLE r_terms(kind TEXT, value TEXT, case_id TEXT,"
                         " PRIMARY KEY(kind, value, case_id)) WITHOUT ROWID;"
                         "CREATE INDEX r4 ON r_terms(case_id);",
                         &err)))
        goto fail;
    fprintf(stderr, "plain SQLite insert…\n");
    double t_raw = 0, t_rows = 0;
    for (int pass = 0; pass < 2 && !rc; pass++) {
        t0 = zg_clock_mono_us();
        for (long i = 0; i < n && !rc; i += batch) {
            if ((rc = zg_db_begin(raw, &err)))
                break;
            for (long k = i; !rc && k < n && k < i + batch; k++) {
                if (pass == 0) {
                    sqlite3_stmt *st =
                        zg_db_prepare(raw, "INSERT INTO raw(case_id, doc) VALUES(?,?)", &err);
                    if (!st) {
                        rc = ZG_EIO;
                        break;
                    }
                    sqlite3_bind_text(st, 1, ids[k], -1, SQLITE_STATIC);
                    sqlite3_bind_text(st, 2, docs[k], -1, SQLITE_STATIC);
                    int src = sqlite3_step(st);
                    zg_db_release(st);
                    if (src != SQLITE_DONE)
                        rc = zg_db_fail(raw, src, &err);
                    continue;
                }
                json_t *dx = json_object_get(recs[k], "diagnosis");
                sqlite3_stmt *st = zg_db_prepare(
                    raw,
                    "INSERT INTO r_records VALUES(?1,1,'v1-0000000000000000',0,NULL,'bench',?2,"
                    "?3,?4,1)",
                    &err);
                if (!st) {
                    rc = ZG_EIO;
                    break;
                }
                sqlite3_bind_text(st, 1, ids[k], -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, json_string_value(json_object_get(dx, "oncotree")), -1,
                                  SQLITE_STATIC);
                sqlite3_bind_text(
                    st, 3,
                    json_string_value(json_object_get(json_object_get(dx, "tnm"), "stage")), -1,
                    SQLITE_STATIC);
                sqlite3_bind_text(st, 4,
                                  json_string_value(json_object_get(
                                      json_object_get(recs[k], "course"), "vital_status")),
                                  -1, SQLITE_STATIC);
                int src = sqlite3_step(st);
                zg_db_release(st);
                st = zg_db_prepare(raw,
                                   "INSERT INTO r_versions VALUES(?,1,'v1-0000000000000000',?,0,"
                                   "NULL,'cli:bench','bench',NULL)",
                                   &err);
                if (src != SQLITE_DONE || !st) {
                    zg_db_release(st);
                    rc = st ? zg_db_fail(raw, src, &err) : ZG_EIO;
                    break;
                }
                sqlite3_bind_text(st, 1, ids[k], -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, docs[k], -1, SQLITE_STATIC);
                src = sqlite3_step(st);
                zg_db_release(st);
                if (src != SQLITE_DONE) {
                    rc = zg_db_fail(raw, src, &err);
                    break;
                }
                size_t j, m;
                json_t *t, *d;
                json_array_foreach(json_object_get(recs[k], "drug_therapies"), j, t)
                {
                    json_array_foreach(json_object_get(t, "drugs"), m, d)
                    {
                        st = zg_db_prepare(raw, "INSERT OR IGNORE INTO r_terms VALUES('drug',?,?)",
                                           &err);
                        if (!st)
                            break;
                        sqlite3_bind_text(st, 1, json_string_value(json_object_get(d, "name")),
                                          -1, SQLITE_STATIC);
                        sqlite3_bind_text(st, 2, ids[k], -1, SQLITE_STATIC);
                        (void)sqlite3_step(st);
                        zg_db_release(st);
                    }
                    st = zg_db_prepare(raw, "INSERT OR IGNORE INTO r_terms VALUES('response',?,?)",
                                       &err);
                    if (st && json_object_get(t, "best_response")) {
                        sqlite3_bind_text(st, 1,
                                          json_string_value(json_object_get(t, "best_response")),
                                          -1, SQLITE_STATIC);
                        sqlite3_bind_text(st, 2, ids[k], -1, SQLITE_STATIC);
                        (void)sqlite3_step(st);
                    }
                    zg_db_release(st);
                }
            }
            if (rc)
                zg_db_rollback(raw);
            else
                rc = zg_db_commit(raw, &err);
        }
        double t = (double)(zg_clock_mono_us() - t0) / 1e6;
        if (pass == 0)
            t_raw = t;
        else
            t_rows = t;
    }
    if (rc)
        goto fail;
    /* 3. FHIR: record → Bundle → record */
    fprintf(stderr, "FHIR conversion…\n");
    long nf = n < 2000 ? n : 2000;
    t0 = zg_clock_mono_us();
    size_t unmapped = 0;
    for (long i = 0; i < nf; i++) {
        json_t *bundle = zg_clinical_to_fhir(recs[i], &err), *out = NULL, *rep = json_object();
        if (!bundle || zg_clinical_from_fhir(bundle, &out, rep, &err)) {
            json_decref(bundle);
            json_decref(rep);
            rc = err.code ? err.code : ZG_EINTERNAL;
            goto fail;
        }
        unmapped += json_array_size(json_object_get(rep, "unmapped"));
        json_decref(bundle);
        json_decref(out);
        json_decref(rep);
    }
    double t_fhir = (double)(zg_clock_mono_us() - t0) / 1e6;
    /* 4. validation alone */
    t0 = zg_clock_mono_us();
    for (long i = 0; i < n; i++)
        if (zg_clinical_validate(recs[i], NULL, &err)) {
            rc = ZG_EINTERNAL;
            goto fail;
        }
    double t_val = (double)(zg_clock_mono_us() - t0) / 1e6;
    json_t *out = json_pack("{s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:f,s:I}", "records",
                            (json_int_t)n, "batch", (json_int_t)batch, "validated_ingest_per_s",
                            n / t_ingest, "raw_insert_per_s", n / t_raw, "ratio", t_raw / t_ingest,
                            "raw_same_rows_per_s", n / t_rows, "ratio_same_rows",
                            t_rows / t_ingest,
                            "validate_per_s", n / t_val, "fhir_roundtrips", (json_int_t)nf,
                            "fhir_roundtrips_per_s", nf / t_fhir, "fhir_unmapped",
                            (json_int_t)unmapped);
    char *s = json_dumps(out, JSON_COMPACT);
    printf("%s\n", s ? s : "{}");
    free(s);
    json_decref(out);
    rc = 0;
    goto out;
fail:
    rc = zg_cli_fail(&err);
out:
    zg_db_close(raw);
    if (recs)
        for (long i = 0; i < n; i++) {
            json_decref(recs[i]);
            free(docs[i]);
        }
    free(ids);
    free(recs);
    free(docs);
    unlink(path);
    return rc;
}

int zg_cmd_clinical(int argc, char **argv)
{
    static const char *u = "zengen clinical validate FILE | bench [--records N] [--batch B] "
                           "--data DIR";
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(u, "too many arguments");
    const char *sub = zg_args_pos(&a, 0);
    if (!sub)
        return zg_cli_usage(u, "say what to do");
    if (!strcmp(sub, "validate"))
        return cmd_validate(&a, u);
    if (strcmp(sub, "bench"))
        return zg_cli_usage(u, "unknown clinical command '%s'", sub);
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_cli_open(&a, &dd, &db, &err))
        return zg_cli_fail(&err);
    int rc = cmd_bench(&a, u, &dd, db);
    zg_db_close(db);
    return rc;
}

#define DEMO_EXTRA_CASES 36 /* synthetic cases per hospital beyond the demo's own */

int zg_demo_clinical(const struct zg_datadir *dd, sqlite3 *db, struct zg_error *err)
{
    (void)dd;
    /* more cases per hospital, so that counts by cancer type are worth showing */
    sqlite3_stmt *st = zg_db_prepare(db, "SELECT id, name FROM orgs WHERE type='hospital'"
                                         " ORDER BY id", err);
    if (!st)
        return ZG_EIO;
    int64_t orgs[16];
    char names[16][128];
    int norgs = 0, rc = 0;
    while (norgs < 16 && sqlite3_step(st) == SQLITE_ROW) {
        orgs[norgs] = sqlite3_column_int64(st, 0);
        snprintf(names[norgs], sizeof(names[0]), "%s", zg_db_text(st, 1));
        norgs++;
    }
    zg_db_release(st);
    for (int o = 0; o < norgs && !rc; o++) {
        char (*ids)[ZG_ID_LEN] = calloc(DEMO_EXTRA_CASES, ZG_ID_LEN);
        if (!ids)
            return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        rc = make_cases(db, orgs[o], DEMO_EXTRA_CASES, ids, err);
        free(ids);
    }
    if (rc)
        return rc;
    /* every hospital pushes a bundle for its cases, as its gateway would */
    uint64_t seed = 1;
    int total = 0;
    for (int o = 0; o < norgs && !rc; o++) {
        st = zg_db_prepare(db, "SELECT id FROM cases WHERE org_id=? ORDER BY created_at, id", err);
        if (!st)
            return ZG_EIO;
        sqlite3_bind_int64(st, 1, orgs[o]);
        char src[160];
        snprintf(src, sizeof(src), "demo-ehr:%.120s", names[o]);
        json_t *b = json_pack("{s:s,s:[]}", "source_system", src, "entries");
        int k = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            char msg[32];
            snprintf(msg, sizeof(msg), "DEMO-MSG-%06d", ++k);
            json_array_append_new(json_object_get(b, "entries"),
                                  json_pack("{s:s,s:s,s:o}", "case_id", zg_db_text(st, 0),
                                            "source_message_id", msg, "record",
                                            zg_clinical_synth_record(seed++, zg_db_text(st, 0))));
        }
        zg_db_release(st);
        char login[160];
        snprintf(login, sizeof(login), "demo-gateway:%.120s", names[o]);
        struct zg_clinical_actor who = {0, login, orgs[o], orgs[o]};
        json_t *res = NULL;
        bool replayed;
        if (json_array_size(json_object_get(b, "entries")))
            rc = zg_clinical_push_bundle(db, &who, b, &res, &replayed, NULL, err);
        total += (int)json_array_size(res);
        json_decref(res);
        json_decref(b);
    }
    if (!rc)
        printf("%d synthetic clinical records pushed (%d hospitals)\n", total, norgs);
    return rc;
}
