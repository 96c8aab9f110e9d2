/* Secret-sharing storage of the linkage keys (see keyshare.h). */
#include "keyshare.h"
#include "datadir_internal.h"
#include "common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

static const char *const key_files[3] = {"lookup.key", "linkage.key", "linkage-seal.key"};

static void secret_of(const struct zg_datadir *dd, unsigned char s[ZG_LINKAGE_SECRET_LEN])
{
    memcpy(s, dd->lookup_key, ZG_KEY_LEN);
    memcpy(s + ZG_KEY_LEN, dd->linkage_key, ZG_KEY_LEN);
    memcpy(s + 2 * ZG_KEY_LEN, dd->linkage_seal_key, ZG_KEY_LEN);
}

static void fingerprint_of(const unsigned char s[ZG_LINKAGE_SECRET_LEN], char out[17])
{
    static const char label[] = "zengen linkage keys v1";
    unsigned char buf[sizeof(label) + ZG_LINKAGE_SECRET_LEN], d[ZG_SHA256_LEN];
    memcpy(buf, label, sizeof(label));
    memcpy(buf + sizeof(label), s, ZG_LINKAGE_SECRET_LEN);
    zg_sha256(buf, sizeof(buf), d);
    zg_wipe(buf, sizeof(buf));
    zg_hex_encode(d, 8, out);
}

void zg_keyshare_fingerprint(const struct zg_datadir *dd, char out[17])
{
    unsigned char s[ZG_LINKAGE_SECRET_LEN];
    secret_of(dd, s);
    fingerprint_of(s, out);
    zg_wipe(s, sizeof(s));
}

/* 8 hex digits of SHA-256 over the share text before its checksum */
static void checksum(const char *text, size_t n, char out[9])
{
    unsigned char d[ZG_SHA256_LEN];
    zg_sha256(text, n, d);
    zg_hex_encode(d, 4, out);
}

static void format_share(int k, int n, int x, const unsigned char *y, const char *fpr,
                         char out[ZG_SHARE_TEXT])
{
    char hex[2 * ZG_LINKAGE_SECRET_LEN + 1], sum[9];
    zg_hex_encode(y, ZG_LINKAGE_SECRET_LEN, hex);
    int len = snprintf(out, ZG_SHARE_TEXT, "zgs1-%d-%d-%d-%s-%s", k, n, x, hex, fpr);
    checksum(out, (size_t)len, sum);
    snprintf(out + len, ZG_SHARE_TEXT - (size_t)len, "-%s", sum);
    zg_wipe(hex, sizeof(hex));
}

/* Recovers the secret from k shares; true when its fingerprint is fpr. */
static bool combine(const struct zg_share *const *sh, int k, const char *fpr,
                    unsigned char s[ZG_LINKAGE_SECRET_LEN])
{
    const unsigned char *ys[ZG_SHAMIR_MAX_SHARES];
    unsigned char xs[ZG_SHAMIR_MAX_SHARES];
    for (int i = 0; i < k; i++) {
        ys[i] = sh[i]->y;
        xs[i] = (unsigned char)sh[i]->x;
    }
    if (zg_shamir_combine(ys, xs, k, ZG_LINKAGE_SECRET_LEN, s))
        return false;
    char got[17];
    fingerprint_of(s, got);
    return !strcmp(got, fpr);
}

static uint64_t binom(int n, int k)
{
    uint64_t r = 1;
    for (int i = 1; i <= k; i++) {
        r = r * (uint64_t)(n - k + i) / (uint64_t)i;
        if (r > 1000000)
            return r;
    }
    return r;
}

int zg_keyshare_split(const struct zg_datadir *dd, int k, int n, char (*out)[ZG_SHARE_TEXT],
                      struct zg_error *err)
{
    if (!zg_datadir_linkage_ready(dd))
        return zg_error_set(err, ZG_ECONFLICT, "",
                            "the linkage keys are already split (restore them first)");
    if (k < 2 || k > 20)
        return zg_error_set(err, ZG_EINVAL, "--threshold", "must be 2..20");
    if (n < k || n > 20)
        return zg_error_set(err, ZG_EINVAL, "--shares", "must be %d..20 (at least the threshold)",
                            k);
    unsigned char s[ZG_LINKAGE_SECRET_LEN], ys[20 * ZG_LINKAGE_SECRET_LEN];
    secret_of(dd, s);
    char fpr[17];
    fingerprint_of(s, fpr);
    int rc = zg_shamir_split(s, ZG_LINKAGE_SECRET_LEN, k, n, ys);
    struct zg_share sh[20];
    for (int i = 0; i < n && !rc; i++) {
        format_share(k, n, i + 1, ys + (size_t)i * ZG_LINKAGE_SECRET_LEN, fpr, out[i]);
        /* what a key holder will type back must parse to what was split */
        if ((rc = zg_keyshare_parse(out[i], &sh[i], err)))
            break;
    }
    /* every k-subset must give the keys back (a sample when there are very many) */
    uint64_t total = binom(n, k);
    int idx[20];
    const struct zg_share *pick[20];
    unsigned char back[ZG_LINKAGE_SECRET_LEN];
    for (uint64_t t = 0; !rc && t < (total > 2000 ? 2000 : total); t++) {
        if (total > 2000) { /* a random k-subset */
            bool used[20] = {false};
            for (int j = 0; j < k; j++) {
                int c;
                do
                    c = (int)zg_random_uniform((uint32_t)n);
                while (used[c]);
                used[c] = true;
                idx[j] = c;
            }
        } else if (t == 0) {
            for (int j = 0; j < k; j++)
                idx[j] = j;
        } else { /* next combination in lexicographic order */
            int j = k - 1;
            while (j >= 0 && idx[j] == n - k + j)
                j--;
            idx[j]++;
            for (int m = j + 1; m < k; m++)
                idx[m] = idx[m - 1] + 1;
        }
        for (int j = 0; j < k; j++)
            pick[j] = &sh[idx[j]];
        if (!combine(pick, k, fpr, back) || memcmp(back, s, sizeof(s)))
            rc = zg_error_set(err, ZG_EINTERNAL, "", "a set of shares did not recover the keys");
    }
    zg_wipe(back, sizeof(back));
    zg_wipe(s, sizeof(s));
    zg_wipe(ys, sizeof(ys));
    zg_wipe(sh, sizeof(sh));
    if (rc)
        for (int i = 0; i < n; i++)
            zg_wipe(out[i], ZG_SHARE_TEXT);
    return rc;
}

/* Overwrites keys/<name> with zeros (so the key does not stay in freed disk blocks). */
static int overwrite(const char *dir, const char *name, struct zg_error *err)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/keys/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return zg_error_set(err, ZG_EIO, "", "cannot open %s: %s", path, strerror(errno));
    char zeros[2 * ZG_KEY_LEN + 1] = {0};
    bool ok = write(fd, zeros, sizeof(zeros)) == (ssize_t)sizeof(zeros) && fsync(fd) == 0;
    close(fd);
    return ok ? 0 : zg_error_set(err, ZG_EIO, "", "cannot overwrite %s", path);
}

static int remove_key(const char *dir, const char *name, struct zg_error *err)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/keys/%s", dir, name);
    if (unlink(path) != 0 && errno != ENOENT)
        return zg_error_set(err, ZG_EIO, "", "cannot remove %s: %s", path, strerror(errno));
    return 0;
}

static int sync_dir(const char *dir)
{
    char p[1200];
    snprintf(p, sizeof(p), "%s/keys", dir);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int zg_keyshare_seal(struct zg_datadir *dd, int k, int n, struct zg_error *err)
{
    if (!zg_datadir_linkage_ready(dd))
        return zg_error_set(err, ZG_ECONFLICT, "", "the linkage keys are already sealed");
    char fpr[17], path[1200], tmp[1220], line[96];
    zg_keyshare_fingerprint(dd, fpr);
    int len = snprintf(line, sizeof(line), "k=%d n=%d fingerprint=%s\n", k, n, fpr);
    snprintf(path, sizeof(path), "%s/keys/linkage.sealed", dd->path);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return zg_error_set(err, ZG_EIO, "", "cannot create %s: %s", tmp, strerror(errno));
    bool ok = write(fd, line, (size_t)len) == len && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0)
        return zg_error_set(err, ZG_EIO, "", "cannot write %s", path);
    sync_dir(dd->path);
    /* the marker is durable first: a crash now leaves keys next to it, which are still used.
     * All three files are overwritten before any is removed; on any failure the keys are
     * written back from memory and the marker removed (the directory is then not sealed) */
    int rc = 0;
    for (int i = 0; i < 3 && !rc; i++)
        rc = overwrite(dd->path, key_files[i], err);
    for (int i = 0; i < 3 && !rc; i++)
        rc = remove_key(dd->path, key_files[i], err);
    if (rc) {
        struct zg_error e2;
        const unsigned char *keys[3] = {dd->lookup_key, dd->linkage_key, dd->linkage_seal_key};
        bool back = true;
        for (int i = 0; i < 3; i++)
            back = back && zg_datadir_write_key(dd->path, key_files[i], keys[i], &e2) == 0;
        if (back && unlink(path) == 0) {
            sync_dir(dd->path);
            return rc; /* not sealed; the keys are as before */
        }
        return zg_error_set(err, ZG_ECORRUPT, "",
                            "sealing failed half-way and the keys could not be put back: keep "
                            "the share files, they are now the only copy of the keys (%s)",
                            err->reason);
    }
    sync_dir(dd->path);
    dd->seal_k = k;
    dd->seal_n = n;
    snprintf(dd->seal_fpr, sizeof(dd->seal_fpr), "%s", fpr);
    atomic_store_explicit(&dd->linkage_sealed, true, memory_order_release);
    zg_wipe(dd->lookup_key, sizeof(dd->lookup_key));
    zg_wipe(dd->linkage_key, sizeof(dd->linkage_key));
    zg_wipe(dd->linkage_seal_key, sizeof(dd->linkage_seal_key));
    return 0;
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

#define SHARE_BUF (ZG_SHARE_TEXT + 2)

static int parse_into(const char *text, char *t, struct zg_share *out, struct zg_error *err)
{
    memset(out, 0, sizeof(*out));
    size_t n = text ? strnlen(text, SHARE_BUF) : 0;
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        n--;
    while (n && (*text == ' ' || *text == '\t')) {
        text++;
        n--;
    }
    if (n == 0 || n >= ZG_SHARE_TEXT)
        return zg_error_set(err, ZG_EINVAL, "share", "is not a zengen key share (zgs1-…)");
    memcpy(t, text, n);
    t[n] = '\0';
    int k, total, x, used = 0;
    if (strncmp(t, "zgs1-", 5) || sscanf(t + 5, "%d-%d-%d-%n", &k, &total, &x, &used) != 3 ||
        used == 0)
        return zg_error_set(err, ZG_EINVAL, "share", "is not a zengen key share (zgs1-…)");
    const char *p = t + 5 + used;
    size_t hexlen = 2 * ZG_LINKAGE_SECRET_LEN;
    if (strlen(p) != hexlen + 1 + 16 + 1 + 8 || p[hexlen] != '-' || p[hexlen + 17] != '-' ||
        !all_hex(p, hexlen) || !all_hex(p + hexlen + 1, 16) || !all_hex(p + hexlen + 18, 8))
        return zg_error_set(err, ZG_EINVAL, "share",
                            "is incomplete or garbled: a share is one line of %zu characters",
                            (size_t)(p - t) + hexlen + 26);
    char sum[9];
    checksum(t, (size_t)(p + hexlen + 17 - t), sum);
    if (strcmp(sum, p + hexlen + 18))
        return zg_error_set(err, ZG_EINVAL, "share",
                            "checksum mismatch: the share was mistyped or damaged");
    if (k < 2 || total < k || total > 20 || x < 1 || x > total)
        return zg_error_set(err, ZG_EINVAL, "share", "names an impossible threshold or index");
    char hex[2 * ZG_LINKAGE_SECRET_LEN + 1];
    memcpy(hex, p, hexlen);
    hex[hexlen] = '\0';
    int bad = zg_hex_decode(hex, out->y, ZG_LINKAGE_SECRET_LEN);
    zg_wipe(hex, sizeof(hex));
    if (bad)
        return zg_error_set(err, ZG_EINVAL, "share", "is garbled");
    out->k = k;
    out->n = total;
    out->x = x;
    memcpy(out->fpr, p + hexlen + 1, 16);
    out->fpr[16] = '\0';
    return 0;
}

/* The copy of the share text is wiped on every path (it is half a secret). */
int zg_keyshare_parse(const char *text, struct zg_share *out, struct zg_error *err)
{
    char t[SHARE_BUF];
    int rc = parse_into(text, t, out, err);
    zg_wipe(t, sizeof(t));
    if (rc)
        zg_wipe(out, sizeof(*out));
    return rc;
}

int zg_keyshare_unseal(struct zg_datadir *dd, const struct zg_share *shares, int count,
                       struct zg_error *err)
{
    if (count < 1)
        return zg_error_set(err, ZG_EINVAL, "share", "no shares given");
    const struct zg_share *pick[ZG_SHAMIR_MAX_SHARES];
    int k = shares[0].k, m = 0;
    const char *fpr = shares[0].fpr;
    bool sealed = !zg_datadir_linkage_ready(dd);
    if (sealed && (k != dd->seal_k || strcmp(fpr, dd->seal_fpr)))
        return zg_error_set(err, ZG_EINVAL, "share",
                            "belongs to another split of the keys (fingerprint %s; this data "
                            "directory's is %s)",
                            fpr, dd->seal_fpr);
    if (!sealed) { /* keys in memory already: only shares of these very keys are accepted */
        char mine[17];
        zg_keyshare_fingerprint(dd, mine);
        if (strcmp(fpr, mine))
            return zg_error_set(err, ZG_EINVAL, "share",
                                "belongs to other keys (fingerprint %s) than this data "
                                "directory's (%s): restoring them would orphan every link",
                                fpr, mine);
    }
    for (int i = 0; i < count; i++) {
        if (shares[i].k != k || strcmp(shares[i].fpr, fpr))
            return zg_error_set(err, ZG_EINVAL, "share", "shares of different splits were mixed");
        bool dup = false;
        for (int j = 0; j < m; j++)
            dup = dup || pick[j]->x == shares[i].x;
        if (!dup && m < k)
            pick[m++] = &shares[i];
    }
    if (m < k)
        return zg_error_set(err, ZG_EINVAL, "share", "%d different shares of %d are needed, got %d",
                            k, shares[0].n, m);
    unsigned char s[ZG_LINKAGE_SECRET_LEN];
    if (!combine(pick, k, fpr, s)) {
        zg_wipe(s, sizeof(s));
        return zg_error_set(err, ZG_EINVAL, "share",
                            "the shares do not recover keys with their fingerprint");
    }
    memcpy(dd->lookup_key, s, ZG_KEY_LEN);
    memcpy(dd->linkage_key, s + ZG_KEY_LEN, ZG_KEY_LEN);
    memcpy(dd->linkage_seal_key, s + 2 * ZG_KEY_LEN, ZG_KEY_LEN);
    zg_wipe(s, sizeof(s));
    dd->seal_k = k;
    dd->seal_n = shares[0].n;
    snprintf(dd->seal_fpr, sizeof(dd->seal_fpr), "%s", fpr);
    atomic_store_explicit(&dd->linkage_sealed, false, memory_order_release);
    return 0;
}

int zg_keyshare_restore(struct zg_datadir *dd, struct zg_error *err)
{
    if (!zg_datadir_linkage_ready(dd))
        return zg_error_set(err, ZG_ECONFLICT, "", "the linkage keys are sealed: unseal first");
    const unsigned char *keys[3] = {dd->lookup_key, dd->linkage_key, dd->linkage_seal_key};
    for (int i = 0; i < 3; i++) {
        int rc = zg_datadir_write_key(dd->path, key_files[i], keys[i], err);
        if (rc)
            return rc;
    }
    char path[1200];
    snprintf(path, sizeof(path), "%s/keys/linkage.sealed", dd->path);
    if (unlink(path) != 0 && errno != ENOENT)
        return zg_error_set(err, ZG_EIO, "", "cannot remove %s", path);
    sync_dir(dd->path);
    dd->seal_k = dd->seal_n = 0;
    dd->seal_fpr[0] = '\0';
    return 0;
}

/* --- a server's unsealing -------------------------------------------------------------- */

struct zg_unseal {
    pthread_mutex_t mu;
    struct zg_share got[20];
    int count;
};

struct zg_unseal *zg_unseal_new(void)
{
    struct zg_unseal *u = calloc(1, sizeof(*u));
    if (u && pthread_mutex_init(&u->mu, NULL)) {
        free(u);
        return NULL;
    }
    return u;
}

void zg_unseal_free(struct zg_unseal *u)
{
    if (!u)
        return;
    zg_wipe(u->got, sizeof(u->got));
    pthread_mutex_destroy(&u->mu);
    free(u);
}

static void status_locked(const struct zg_unseal *u, const struct zg_datadir *dd,
                          struct zg_unseal_status *st)
{
    st->sealed = !zg_datadir_linkage_ready(dd);
    st->threshold = dd->seal_k;
    st->shares = dd->seal_n;
    st->received = u && st->sealed ? u->count : 0;
    snprintf(st->fingerprint, sizeof(st->fingerprint), "%s", dd->seal_fpr);
}

void zg_unseal_status(struct zg_unseal *u, const struct zg_datadir *dd, struct zg_unseal_status *st)
{
    if (u)
        pthread_mutex_lock(&u->mu);
    status_locked(u, dd, st);
    if (u)
        pthread_mutex_unlock(&u->mu);
}

int zg_unseal_submit(struct zg_unseal *u, struct zg_datadir *dd, const char *text,
                     struct zg_unseal_status *st, struct zg_error *err)
{
    struct zg_share sh;
    int rc = zg_keyshare_parse(text, &sh, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&u->mu);
    if (zg_datadir_linkage_ready(dd)) {
        rc = zg_error_set(err, ZG_ECONFLICT, "share", "the linkage store is not sealed");
    } else if (sh.k != dd->seal_k || sh.n != dd->seal_n || strcmp(sh.fpr, dd->seal_fpr)) {
        rc = zg_error_set(err, ZG_EINVAL, "share",
                          "belongs to another split of the keys (fingerprint %s; this data "
                          "directory's is %s)",
                          sh.fpr, dd->seal_fpr);
    } else {
        bool dup = false, clash = false;
        for (int i = 0; i < u->count; i++)
            if (u->got[i].x == sh.x) {
                dup = true;
                clash = clash || !zg_ct_equal(u->got[i].y, sh.y, sizeof(sh.y));
            }
        if (clash) {
            rc = zg_error_set(err, ZG_ECONFLICT, "share",
                              "a different share with the same number (%d) was already given: "
                              "one of them is wrong; restart the server to begin again",
                              sh.x);
            pthread_mutex_unlock(&u->mu);
            zg_wipe(&sh, sizeof(sh));
            return rc;
        }
        if (!dup && u->count < 20)
            u->got[u->count++] = sh;
        if (u->count >= dd->seal_k) {
            rc = zg_keyshare_unseal(dd, u->got, u->count, err);
            zg_wipe(u->got, sizeof(u->got));
            u->count = 0; /* on failure the holders start again */
        }
    }
    if (!rc)
        status_locked(u, dd, st);
    pthread_mutex_unlock(&u->mu);
    zg_wipe(&sh, sizeof(sh));
    return rc;
}
