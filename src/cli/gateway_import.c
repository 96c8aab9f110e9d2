/* zengen import ssmix2 DIR: the gateway's conversion, de-identification and validation run
 * locally against a data directory (no HTTP): the local patient ID goes through the linkage
 * store, each message is merged into the patient's case with its idempotency key. */
#include "cli.h"
#include "auth/auth.h"
#include "clinical/clinical.h"
#include "gateway/gateway.h"
#include "gateway/hl7.h"
#include "ids/ids.h"
#include "store/db.h"

#include <pwd.h>
#include <unistd.h>

/* The first case of participant pid at org_id, or "" (cases live in the ids registry). */
static int find_case(sqlite3 *db, int64_t org_id, const char *pid, char out[ZG_ID_LEN],
                     struct zg_error *err)
{
    out[0] = '\0';
    sqlite3_stmt *s = zg_db_prepare(
        db, "SELECT id FROM cases WHERE participant_id=?1 AND org_id=?2 ORDER BY created_at, id LIMIT 1",
        err);
    if (!s)
        return err->code;
    sqlite3_bind_text(s, 1, pid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, org_id);
    if (sqlite3_step(s) == SQLITE_ROW)
        snprintf(out, ZG_ID_LEN, "%s", zg_db_text(s, 0));
    zg_db_release(s);
    return 0;
}

int zg_cmd_import_ssmix2(int argc, char **argv)
{
    static const char *u = "zengen import ssmix2 DIR --org ORG [--mapping FILE] [--dry-run] --data DIR";
    struct zg_args a;
    if (zg_args_init(&a, argc, argv))
        return zg_cli_usage(u, "too many arguments");
    const char *org = zg_args_opt(&a, "--org"), *mapping = zg_args_opt(&a, "--mapping");
    bool dry = zg_args_flag(&a, "--dry-run");
    (void)zg_args_opt(&a, "--data"); /* read again by zg_cli_open */
    const char *dir = zg_args_pos(&a, 0);
    int rc = zg_args_done(&a, u);
    if (rc)
        return rc;
    if (!dir)
        return zg_cli_usage(u, "name the SS-MIX2 storage directory");
    if (!dry && !org)
        return zg_cli_usage(u, "--org names the hospital the data comes from");
    struct zg_error err;
    zg_error_clear(&err);
    struct zg_gw_mapping *map = NULL;
    if (mapping && zg_gw_mapping_load(mapping, &map, &err))
        return zg_cli_fail(&err);
    struct zg_datadir dd;
    sqlite3 *db = NULL, *link = NULL;
    bool opened = false;
    int64_t org_id = 0;
    if (!dry) {
        /* zg_cli_open reads --data (or $ZENGEN_DATA) */
        if (zg_cli_open(&a, &dd, &db, &err)) {
            zg_gw_mapping_free(map);
            return zg_cli_fail(&err);
        }
        opened = true;
        if (zg_org_lookup(db, org, &org_id, &err) ||
            zg_datadir_connect(&dd, ZG_DB_LINKAGE, &link, &err)) {
            rc = zg_cli_fail(&err);
            goto out;
        }
    }
    struct zg_gw_file *files = NULL;
    size_t nf = 0;
    if (zg_gw_list_files(dir, 0, &files, &nf, &err)) {
        rc = zg_cli_fail(&err);
        goto out;
    }
    char login[96];
    struct passwd *pw = getpwuid(getuid());
    snprintf(login, sizeof(login), "cli:%s", pw ? pw->pw_name : "unknown");
    struct zg_clinical_actor who = {0, login, org_id, org_id};
    int nrec = 0, nbad = 0, nskip = 0, nreplay = 0;
    json_t *cases = json_array();
    for (size_t i = 0; i < nf; i++) {
        char shown[600]; /* printed names never carry the patient ID */
        zg_gw_safe_name(files[i].rel, shown, sizeof(shown));
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", dir, files[i].rel);
        char *raw = NULL;
        size_t n;
        struct zg_error ce;
        zg_error_clear(&ce);
        struct zg_gw_record *recs = NULL;
        size_t nr = 0;
        const char *skip = NULL;
        int crc = zg_gw_read_file(path, ZG_HL7_MAX_BYTES, &raw, &n, &ce);
        if (!crc && zg_gw_ssmix2_withdrawn(files[i].rel))
            skip = "withdrawn (condition flag 0)";
        else if (!crc && !zg_gw_ssmix2_name_ok(files[i].rel) &&
                 !(n >= 3 && (!memcmp(raw, "MSH", 3) ||
                              (raw[0] == '\x0b' && n >= 4 && !memcmp(raw + 1, "MSH", 3)))))
            skip = "not an SS-MIX2 message file";
        else if (!crc)
            crc = zg_gw_convert_ssmix2(map, raw, n, &recs, &nr, &skip, &ce);
        free(raw);
        if (crc) {
            fprintf(stderr, "zengen: %s: rejected: %s%s%s\n", shown, ce.field,
                    ce.field[0] ? ": " : "", ce.reason);
            nbad++;
            continue;
        }
        if (!nr) {
            fprintf(stderr, "zengen: %s: skipped: %s\n", shown, skip ? skip : "no records");
            nskip++;
            continue;
        }
        for (size_t k = 0; k < nr; k++) {
            if (dry) {
                json_t *line = json_pack("{s:s,s:s,s:s,s:i,s:O}", "file", shown, "kind",
                                         recs[k].kind, "message_type", recs[k].source,
                                         "unmapped", recs[k].unmapped, "record", recs[k].record);
                char *s = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
                if (s)
                    puts(s);
                free(s);
                json_decref(line);
                nrec++;
                continue;
            }
            char pid[ZG_ID_LEN], cid[ZG_ID_LEN], ppart[ZG_ID_LEN];
            bool created;
            struct zg_clinical_result res;
            bool replayed = false;
            json_t *errors = json_array();
            zg_error_clear(&ce);
            int prc = zg_linkage_resolve(&dd, link, db, org_id, org, recs[k].local_id, NULL, true,
                                         pid, &created, &ce);
            if (!prc)
                prc = find_case(db, org_id, pid, cid, &ce);
            if (!prc && !cid[0])
                prc = zg_case_add(db, org_id, pid, 0, cid, ppart, &ce);
            if (!prc) {
                struct zg_clinical_push p = {cid, recs[k].record, true, NULL, "import:ssmix2",
                                             recs[k].message_id};
                prc = zg_clinical_push_one(db, &who, &p, recs[k].idem_key, &res, &replayed,
                                           errors, &ce);
            }
            json_decref(errors);
            if (prc) {
                fprintf(stderr, "zengen: %s: rejected: %s%s%s\n", shown, ce.field,
                        ce.field[0] ? ": " : "", ce.reason);
                nbad++;
            } else {
                nrec++;
                nreplay += replayed;
                json_array_append_new(cases, json_string(cid));
            }
        }
        zg_gw_records_free(recs, nr);
    }
    zg_gw_files_free(files, nf);
    fprintf(stderr, "zengen: %zu file(s): %d record(s) %s%s, %d skipped, %d rejected\n", nf, nrec,
            dry ? "converted" : "imported", nreplay ? " (some already imported before)" : "",
            nskip, nbad);
    if (!dry && zg_cli_audit(&dd, "clinical.import.ssmix2", "clinical", nbad ? "partial" : "success",
                             cases, NULL))
        nbad++;
    json_decref(cases);
    rc = nbad ? ZG_EXIT_FAIL : ZG_EXIT_OK;
out:
    zg_db_close(link);
    zg_db_close(db);
    if (opened)
        zg_datadir_close(&dd);
    zg_gw_mapping_free(map);
    return rc;
}
