/* zengen linkage-key split|status|restore: secret-sharing storage of the linkage keys (M18). */
#include "cli.h"
#include "common/error.h"
#include "ids/ids.h"
#include "store/db.h"
#include "store/keyshare.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *usage = "zengen linkage-key split --threshold K --shares N --out DIR | status | "
                           "restore SHARE_FILE…";

static int write_share(const char *dir, int x, int n, const char *text, const char *fpr,
                       struct zg_error *err)
{
    char path[1200], body[ZG_SHARE_TEXT + 512];
    snprintf(path, sizeof(path), "%s/zengen-linkage-share-%d-of-%d.txt", dir, x, n);
    int len = snprintf(body, sizeof(body),
                       "# zengen linkage key share %d of %d (keys %s).\n"
                       "# Keep it offline and apart from the other shares; give it only to unseal\n"
                       "# the linkage store (POST /api/v1/admin/linkage/unseal or\n"
                       "# zengen linkage-key restore). Never store it in the data directory.\n"
                       "%s\n",
                       x, n, fpr, text);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return zg_error_set(err, ZG_EIO, "--out", "cannot create %s: %s", path, strerror(errno));
    bool ok = write(fd, body, (size_t)len) == len && fsync(fd) == 0;
    close(fd);
    zg_wipe(body, sizeof(body));
    if (!ok) {
        unlink(path);
        return zg_error_set(err, ZG_EIO, "--out", "cannot write %s", path);
    }
    return 0;
}

/* The share line of a share file (comment lines skipped). */
static int read_share(const char *path, struct zg_share *out, struct zg_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return zg_error_set(err, ZG_EINVAL, "share", "cannot read %s: %s", path, strerror(errno));
    char line[ZG_SHARE_TEXT + 64];
    int rc = zg_error_set(err, ZG_EINVAL, "share", "%s holds no share line (zgs1-…)", path);
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        zg_error_clear(err);
        rc = zg_keyshare_parse(line, out, err);
        break;
    }
    zg_wipe(line, sizeof(line));
    fclose(f);
    return rc;
}

int zg_cmd_linkage_key(int argc, char **argv)
{
    if (argc < 1)
        return zg_cli_usage(usage, "say what to do with the linkage keys");
    const char *sub = argv[0];
    struct zg_args a;
    if (zg_args_init(&a, argc - 1, argv + 1))
        return zg_cli_usage(usage, "too many arguments");
    const char *ks = zg_args_opt(&a, "--threshold"), *ns = zg_args_opt(&a, "--shares");
    const char *out = zg_args_opt(&a, "--out");
    struct zg_datadir dd;
    struct zg_error err;
    zg_error_clear(&err);
    if (zg_cli_open(&a, &dd, NULL, &err))
        return zg_cli_fail(&err);
    const char *files[20];
    int nfiles = 0;
    for (const char *f; nfiles < 20 && (f = zg_args_pos(&a, nfiles)); nfiles++)
        files[nfiles] = f;
    int rc = zg_args_done(&a, usage);
    if (rc)
        goto done;
    struct zg_unseal_status st;
    if (!strcmp(sub, "status")) {
        zg_unseal_status(NULL, &dd, &st);
        if (st.sealed)
            printf("sealed: %d of %d key holders must unseal (keys %s)\n", st.threshold, st.shares,
                   st.fingerprint);
        else {
            char fpr[17];
            zg_keyshare_fingerprint(&dd, fpr);
            printf("not sealed: the linkage keys are in the data directory (keys %s)\n", fpr);
        }
    } else if (!strcmp(sub, "split")) {
        char *end = NULL;
        long k = ks ? strtol(ks, &end, 10) : 0;
        if (!ks || *end) {
            rc = zg_cli_usage(usage, "split needs --threshold K (2..20)");
            goto done;
        }
        long n = ns ? strtol(ns, &end, 10) : 0;
        if (!ns || *end) {
            rc = zg_cli_usage(usage, "split needs --shares N (K..20)");
            goto done;
        }
        struct stat sb;
        if (!out || stat(out, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            rc = zg_cli_usage(usage, "split needs --out DIR, an existing directory (removable "
                                     "media, one file per key holder)");
            goto done;
        }
        /* local IDs move under the linkage store's own key before that key is split */
        sqlite3 *link = NULL;
        int64_t moved = 0;
        if (zg_datadir_connect(&dd, ZG_DB_LINKAGE, &link, &err) ||
            zg_linkage_reseal(&dd, link, &moved, &err)) {
            zg_db_close(link);
            rc = zg_cli_fail(&err);
            goto done;
        }
        zg_db_close(link);
        char(*shares)[ZG_SHARE_TEXT] = calloc((size_t)(n > 0 && n <= 20 ? n : 1), ZG_SHARE_TEXT);
        char fpr[17];
        zg_keyshare_fingerprint(&dd, fpr);
        if (!shares || zg_keyshare_split(&dd, (int)k, (int)n, shares, &err)) {
            free(shares);
            rc = zg_cli_fail(&err);
            goto done;
        }
        int wrote = 0;
        for (int i = 0; i < n && !rc; i++, wrote++)
            rc = write_share(out, i + 1, (int)n, shares[i], fpr, &err);
        zg_wipe(shares, (size_t)n * ZG_SHARE_TEXT);
        free(shares);
        if (rc || (rc = zg_keyshare_seal(&dd, (int)k, (int)n, &err))) {
            /* nothing is sealed unless every share file is written; when sealing failed
             * half-way and the keys could not be put back, the shares are all that is left */
            char path[1200];
            for (int i = 0; rc != ZG_ECORRUPT && i < wrote; i++) {
                snprintf(path, sizeof(path), "%s/zengen-linkage-share-%d-of-%ld.txt", out, i + 1,
                         n);
                unlink(path);
            }
            rc = zg_cli_fail(&err);
            goto done;
        }
        json_t *opt = json_pack("{s:i,s:i,s:s,s:I}", "threshold", (int)k, "shares", (int)n,
                                "fingerprint", fpr, "local_ids_resealed", (json_int_t)moved);
        int r2 = zg_cli_audit(&dd, "linkage.keys.split", "key", "success", NULL, opt);
        json_decref(opt);
        printf("split the linkage keys %s into %ld shares (any %ld recover them) in %s;\n"
               "the keys are no longer in the data directory: hand one share file to each key "
               "holder and remove them from %s\n",
               fpr, n, k, out, out);
        rc = r2 ? ZG_EXIT_FAIL : 0;
    } else if (!strcmp(sub, "restore")) {
        if (!nfiles) {
            rc = zg_cli_usage(usage, "restore needs the share files of enough key holders");
            goto done;
        }
        struct zg_share sh[20];
        for (int i = 0; i < nfiles && !rc; i++)
            if (read_share(files[i], &sh[i], &err))
                rc = zg_cli_fail(&err);
        if (!rc && (zg_keyshare_unseal(&dd, sh, nfiles, &err) || zg_keyshare_restore(&dd, &err)))
            rc = zg_cli_fail(&err);
        char fpr[17] = "";
        if (!rc)
            snprintf(fpr, sizeof(fpr), "%s", sh[0].fpr);
        zg_wipe(sh, sizeof(sh));
        if (rc)
            goto done;
        json_t *opt = json_pack("{s:i,s:s}", "shares_used", nfiles, "fingerprint", fpr);
        int r2 = zg_cli_audit(&dd, "linkage.keys.restore", "key", "success", NULL, opt);
        json_decref(opt);
        printf("the linkage keys are back in the data directory; the store is not sealed\n");
        rc = r2 ? ZG_EXIT_FAIL : 0;
    } else {
        rc = zg_cli_usage(usage, "unknown linkage-key command '%s'", sub);
    }
done:
    zg_datadir_close(&dd);
    return rc;
}
