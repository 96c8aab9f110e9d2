/* zengen file add|list|show: the genome file registry from the command line. */
#include "cli.h"
#include "genome_cli.h"
#include "genome/files.h"
#include "store/db.h"

int zg_cmd_file(int argc, char **argv)
{
    static const char *u =
        "zengen file add PATH --case ID [--specimen ID] [--index IDX] [--ref-fasta FA] "
        "[--reference GRCh38|GRCh37] [--pipeline NAME] [--pipeline-version V] "
        "[--kind reads|somatic|germline|sv|cnv] [--json] | list [--case ID] [--json] | show ID | "
        "sweep [--idle-days N]";
    if (argc < 1)
        return zg_cli_usage(u, "say what to do with files");
    const char *sub = argv[0];
    struct zg_args a;
    if (zg_args_init(&a, argc - 1, argv + 1))
        return zg_cli_usage(u, "too many arguments");
    struct zg_file_add_opts o = {
        .case_id = zg_args_opt(&a, "--case"),
        .specimen_id = zg_args_opt(&a, "--specimen"),
        .index_path = zg_args_opt(&a, "--index"),
        .ref_fasta = zg_args_opt(&a, "--ref-fasta"),
        .reference = zg_args_opt(&a, "--reference"),
        .pipeline = zg_args_opt(&a, "--pipeline"),
        .pipeline_version = zg_args_opt(&a, "--pipeline-version"),
        .data_kind = zg_args_opt(&a, "--kind"),
    };
    bool as_json = zg_args_flag(&a, "--json");
    const char *idle_days = zg_args_opt(&a, "--idle-days");
    struct zg_datadir dd;
    sqlite3 *db = NULL;
    const char *pos = NULL;
    int rc = zg_cli_start(&a, u, &dd, &db, &pos);
    if (rc)
        return rc;
    struct zg_error err;
    zg_error_clear(&err);
    struct zg_file_info f;
    if (!strcmp(sub, "add")) {
        if (!pos || !o.case_id) {
            rc = zg_cli_usage(u, "file add needs PATH and --case");
            goto out;
        }
        if (zg_file_add(&dd, db, pos, &o, &f, &err)) {
            json_t *opt = json_pack("{s:s}", "case", o.case_id);
            int r2 = zg_cli_audit(&dd, "file.register", "file", "failure", NULL, opt);
            (void)r2;
            json_decref(opt);
            rc = zg_cli_fail(&err);
            goto out;
        }
        json_t *d = json_pack("[s,s]", f.id, f.case_id);
        json_t *opt = json_pack("{s:s,s:s}", "format", zg_file_format_name(f.format), "sha256",
                                f.sha256);
        rc = zg_cli_audit(&dd, "file.register", "file", "success", d, opt) ? ZG_EXIT_FAIL : 0;
        json_decref(d);
        json_decref(opt);
        if (!rc) {
            if (as_json) {
                json_t *j = zg_file_json(&f);
                json_dumpf(j, stdout, JSON_INDENT(2));
                putchar('\n');
                json_decref(j);
            } else {
                printf("%s\n", f.id);
            }
        }
    } else if (!strcmp(sub, "list")) {
        json_t *j = zg_file_list(db, o.case_id, 0, 1000, &err);
        if (!j) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        if (as_json) {
            json_dumpf(j, stdout, JSON_INDENT(2));
            putchar('\n');
        } else {
            size_t i;
            json_t *x;
            json_array_foreach(json_object_get(j, "files"), i, x)
                printf("%s\t%s\t%s\t%s\t%lld\t%s\n", json_string_value(json_object_get(x, "id")),
                       json_string_value(json_object_get(x, "case_id")),
                       json_string_value(json_object_get(x, "format")),
                       json_string_value(json_object_get(x, "reference")),
                       (long long)json_integer_value(json_object_get(x, "size")),
                       json_string_value(json_object_get(x, "name")));
        }
        json_decref(j);
    } else if (!strcmp(sub, "show")) {
        if (!pos) {
            rc = zg_cli_usage(u, "file show needs an ID");
            goto out;
        }
        if (zg_file_get(db, pos, &f, &err)) {
            rc = zg_cli_fail(&err);
            goto out;
        }
        json_t *j = zg_file_json(&f);
        json_object_set_new(j, "path", json_string(f.path));
        json_object_set_new(j, "index_path", json_string(f.index_path));
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(j);
    } else if (!strcmp(sub, "sweep")) {
        /* uploads abandoned for days, and what interrupted ones left in the store */
        char *end = NULL;
        long days = idle_days ? strtol(idle_days, &end, 10) : 7;
        if (idle_days && (!*idle_days || *end || days < 1 || days > 3650)) {
            rc = zg_cli_usage(u, "--idle-days must be a number of days from 1 to 3650");
            goto out;
        }
        struct zg_sweep_stats st;
        rc = zg_uploads_sweep(&dd, db, (int64_t)days * 86400, &st, &err);
        json_t *opt = json_pack("{s:i,s:I,s:I,s:I}", "idle_days", (int)days, "expired",
                                (json_int_t)st.expired, "removed", (json_int_t)st.removed, "bytes",
                                (json_int_t)st.bytes);
        if ((rc = zg_cli_outcome(&dd, "files.sweep", "files", rc, &err, NULL, opt)))
            goto out;
        printf("expired %lld upload%s idle for %ld day%s or more; removed %lld leftover file%s; "
               "%.1f MB freed\n",
               (long long)st.expired, st.expired == 1 ? "" : "s", days, days == 1 ? "" : "s",
               (long long)st.removed, st.removed == 1 ? "" : "s", (double)st.bytes / 1e6);
    } else {
        rc = zg_cli_usage(u, "unknown file command '%s'", sub);
    }
out:
    zg_db_close(db);
    zg_datadir_close(&dd);
    return rc;
}
