/* Data directory creation and opening. */
#include "datadir.h"
#include "db.h"
#include "schema.h"
#include "datadir_internal.h"
#include "common/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *db_file(enum zg_dbname which)
{
    switch (which) {
    case ZG_DB_MAIN: return "zengen.db";
    case ZG_DB_AUDIT: return "audit.db";
    case ZG_DB_LINKAGE: return "linkage.db";
    }
    return "zengen.db";
}

void zg_datadir_file(const struct zg_datadir *dd, const char *name, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/%s", dd->path, name);
}

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int zg_datadir_write_key(const char *dir, const char *name, const unsigned char key[ZG_KEY_LEN],
                         struct zg_error *err)
{
    char path[1200], tmp[1220], hex[2 * ZG_KEY_LEN + 2];
    zg_hex_encode(key, ZG_KEY_LEN, hex);
    size_t n = strlen(hex);
    hex[n++] = '\n';
    snprintf(path, sizeof(path), "%s/keys/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return zg_error_set(err, ZG_EIO, "", "cannot create %s: %s", tmp, strerror(errno));
    ssize_t w = write(fd, hex, n);
    int ok = w == (ssize_t)n && fsync(fd) == 0;
    close(fd);
    zg_wipe(hex, sizeof(hex));
    if (!ok || rename(tmp, path) != 0)
        return zg_error_set(err, ZG_EIO, "", "cannot write key %s", path);
    snprintf(path, sizeof(path), "%s/keys", dir);
    fsync_path(path);
    return 0;
}

static int write_key(const char *dir, const char *name, struct zg_error *err)
{
    unsigned char key[ZG_KEY_LEN];
    zg_random_bytes(key, sizeof(key));
    int rc = zg_datadir_write_key(dir, name, key, err);
    zg_wipe(key, sizeof(key));
    return rc;
}

static int read_key(const struct zg_datadir *dd, const char *name, unsigned char out[ZG_KEY_LEN],
                    struct zg_error *err)
{
    char path[1200], hex[2 * ZG_KEY_LEN + 8];
    snprintf(path, sizeof(path), "%s/keys/%s", dd->path, name);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return zg_error_set(err, ZG_EIO, "", "cannot read key %s: %s", path, strerror(errno));
    ssize_t r = read(fd, hex, sizeof(hex) - 1);
    close(fd);
    if (r < 2 * ZG_KEY_LEN)
        return zg_error_set(err, ZG_ECORRUPT, "", "key file %s is truncated", path);
    hex[2 * ZG_KEY_LEN] = '\0';
    int rc = zg_hex_decode(hex, out, ZG_KEY_LEN);
    zg_wipe(hex, sizeof(hex));
    if (rc)
        return zg_error_set(err, ZG_ECORRUPT, "", "key file %s is not 64 hex digits", path);
    return 0;
}

static int migrate_file(const char *dir, enum zg_dbname which, int flags, struct zg_error *err)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", dir, db_file(which));
    sqlite3 *db = NULL;
    int rc = zg_db_open(path, flags, &db, err);
    if (rc)
        return rc;
    size_t n = 0;
    const struct zg_migration *m = zg_schema_migrations(which, &n);
    rc = zg_db_migrate(db, m, n, err);
    zg_db_close(db);
    return rc;
}

static int dir_is_missing_or_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = 0;
    closedir(d);
    return empty;
}

static void remove_tree_shallow(const char *dir)
{
    /* removes a partly built staging directory: two levels are all init creates */
    static const char *subs[] = {"keys", "files", "index"};
    char p[1300];
    for (size_t i = 0; i < ZG_ARRAY_LEN(subs); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
        DIR *d = opendir(p);
        if (d) {
            struct dirent *e;
            char f[1600];
            while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                    snprintf(f, sizeof(f), "%s/%s", p, e->d_name);
                    unlink(f);
                }
            closedir(d);
        }
        rmdir(p);
    }
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

int zg_datadir_init(const char *path, struct zg_error *err)
{
    if (!path || !*path)
        return zg_error_set(err, ZG_EINVAL, "DIR", "a data directory path is required");
    if (strlen(path) > 900)
        return zg_error_set(err, ZG_EINVAL, "DIR", "path is too long");
    if (!dir_is_missing_or_empty(path))
        return zg_error_set(err, ZG_EEXIST, "DIR",
                            "%s already exists and is not empty; refusing to overwrite", path);
    /* Build in a staging directory and rename into place, so that a crash during init never
     * leaves a half-made data directory behind under the real name. */
    char stage[1100], sub[1200];
    snprintf(stage, sizeof(stage), "%s.init-%ld", path, (long)getpid());
    remove_tree_shallow(stage);
    if (mkdir(stage, 0700) != 0)
        return zg_error_set(err, ZG_EIO, "DIR", "cannot create %s: %s", stage, strerror(errno));
    int rc = 0;
    static const char *subs[] = {"keys", "files", "index"};
    for (size_t i = 0; i < ZG_ARRAY_LEN(subs) && !rc; i++) {
        snprintf(sub, sizeof(sub), "%s/%s", stage, subs[i]);
        if (mkdir(sub, 0700) != 0)
            rc = zg_error_set(err, ZG_EIO, "DIR", "cannot create %s: %s", sub, strerror(errno));
    }
    if (!rc)
        rc = write_key(stage, "data.key", err);
    if (!rc)
        rc = write_key(stage, "lookup.key", err);
    if (!rc)
        rc = write_key(stage, "linkage.key", err);
    if (!rc)
        rc = write_key(stage, "linkage-seal.key", err);
    for (int w = ZG_DB_MAIN; w <= ZG_DB_LINKAGE && !rc; w++)
        rc = migrate_file(stage, (enum zg_dbname)w, ZG_DB_CREATE, err);
    if (!rc) {
        snprintf(sub, sizeof(sub), "%s/keys", stage);
        fsync_path(sub);
        fsync_path(stage);
        rmdir(path); /* an empty directory given by the user is replaced */
        if (rename(stage, path) != 0)
            rc = zg_error_set(err, ZG_EIO, "DIR", "cannot move data directory into place: %s",
                              strerror(errno));
    }
    if (rc) {
        remove_tree_shallow(stage);
        return rc;
    }
    return 0;
}

bool zg_datadir_linkage_ready(const struct zg_datadir *dd)
{
    return !atomic_load_explicit(&dd->linkage_sealed, memory_order_acquire);
}

/* keys/linkage.sealed: "k=K n=N fingerprint=HEX16" written when the linkage keys were split */
static int read_seal_marker(struct zg_datadir *dd, bool *present, struct zg_error *err)
{
    char path[1200], buf[160];
    snprintf(path, sizeof(path), "%s/keys/linkage.sealed", dd->path);
    *present = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : zg_error_set(err, ZG_EIO, "", "cannot read %s", path);
    ssize_t r = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[r > 0 ? r : 0] = '\0';
    if (sscanf(buf, "k=%d n=%d fingerprint=%16s", &dd->seal_k, &dd->seal_n, dd->seal_fpr) != 3 ||
        dd->seal_k < 2 || dd->seal_n < dd->seal_k || strlen(dd->seal_fpr) != 16)
        return zg_error_set(err, ZG_ECORRUPT, "", "%s is malformed", path);
    *present = true;
    return 0;
}

/* The linkage keys: from their files, or sealed (split k-of-n) when only the marker is there.
 * Key files next to a marker mean a split that did not finish removing them: they are used. A
 * data directory made before local IDs had their own key gets one. */
static int load_linkage_keys(struct zg_datadir *dd, struct zg_error *err)
{
    bool marker;
    int rc = read_seal_marker(dd, &marker, err);
    if (rc)
        return rc;
    char p[1200];
    snprintf(p, sizeof(p), "%s/keys/lookup.key", dd->path);
    if (marker && access(p, F_OK) != 0) {
        atomic_store_explicit(&dd->linkage_sealed, true, memory_order_release);
        return 0;
    }
    if ((rc = read_key(dd, "lookup.key", dd->lookup_key, err)) ||
        (rc = read_key(dd, "linkage.key", dd->linkage_key, err)))
        return rc;
    snprintf(p, sizeof(p), "%s/keys/linkage-seal.key", dd->path);
    if (access(p, F_OK) != 0 && (rc = write_key(dd->path, "linkage-seal.key", err)))
        return rc;
    rc = read_key(dd, "linkage-seal.key", dd->linkage_seal_key, err);
    atomic_store_explicit(&dd->linkage_sealed, false, memory_order_release);
    return rc;
}

int zg_datadir_open(struct zg_datadir *dd, const char *path, struct zg_error *err)
{
    memset(dd, 0, sizeof(*dd));
    if (!path || !*path)
        return zg_error_set(err, ZG_EINVAL, "--data",
                            "no data directory: pass --data DIR or set ZENGEN_DATA");
    if (strlen(path) >= sizeof(dd->path) - 32)
        return zg_error_set(err, ZG_EINVAL, "--data", "path is too long");
    snprintf(dd->path, sizeof(dd->path), "%s", path);
    char p[1200];
    struct stat sb;
    snprintf(p, sizeof(p), "%s/zengen.db", path);
    if (stat(p, &sb) != 0)
        return zg_error_set(err, ZG_ENOTFOUND, "--data",
                            "%s is not a zengen data directory (run `zengen init %s`)", path,
                            path);
    int rc = read_key(dd, "data.key", dd->data_key, err);
    if (!rc)
        rc = load_linkage_keys(dd, err);
    for (int w = ZG_DB_MAIN; w <= ZG_DB_LINKAGE && !rc; w++)
        rc = migrate_file(path, (enum zg_dbname)w, 0, err);
    if (rc)
        zg_datadir_close(dd);
    return rc;
}

void zg_datadir_close(struct zg_datadir *dd)
{
    zg_wipe(dd->data_key, sizeof(dd->data_key));
    zg_wipe(dd->lookup_key, sizeof(dd->lookup_key));
    zg_wipe(dd->linkage_key, sizeof(dd->linkage_key));
    zg_wipe(dd->linkage_seal_key, sizeof(dd->linkage_seal_key));
}

int zg_datadir_connect(const struct zg_datadir *dd, enum zg_dbname which, sqlite3 **out,
                       struct zg_error *err)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", dd->path, db_file(which));
    return zg_db_open(path, 0, out, err);
}
