/* Finding the gateway's input files: a bounded recursive walk of the SS-MIX2 storage tree
 * (or a CSV export folder), in the order the hospital system wrote the messages. */
#include "gateway/gateway.h"
#include "common/clock.h"
#include "common/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILES 1000000
#define MAX_DEPTH 12

struct list {
    struct zg_gw_file *v;
    size_t n, cap;
};

static int walk(const char *root, const char *rel, int depth, int64_t cutoff, struct list *l,
                struct zg_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d)
        return zg_error_set(err, ZG_EIO, "", "cannot read directory %s: %s", path, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *nm = e->d_name;
        size_t nl = strlen(nm);
        if (nm[0] == '.' || (nl > 4 && !strcmp(nm + nl - 4, ".tmp")))
            continue;
        char sub[4096];
        if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", nm) >= 2048)
            continue; /* absurdly long path: not SS-MIX2 */
        char full[4096 + 8];
        snprintf(full, sizeof(full), "%s/%s", root, sub);
        struct stat sb;
        if (lstat(full, &sb))
            continue;
        if (S_ISDIR(sb.st_mode)) {
            if (depth < MAX_DEPTH && (rc = walk(root, sub, depth + 1, cutoff, l, err)))
                break;
            continue;
        }
        if (!S_ISREG(sb.st_mode) || (int64_t)sb.st_mtime > cutoff)
            continue;
        if (l->n >= MAX_FILES) {
            rc = zg_error_set(err, ZG_ETOOBIG, "", "more than %d files under %s", MAX_FILES, root);
            break;
        }
        if (l->n == l->cap) {
            size_t nc = l->cap ? l->cap * 2 : 256;
            struct zg_gw_file *nv = realloc(l->v, nc * sizeof(*nv));
            if (!nv) {
                rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
                break;
            }
            l->v = nv;
            l->cap = nc;
        }
        char *r = strdup(sub);
        if (!r) {
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
            break;
        }
        l->v[l->n++] = (struct zg_gw_file){r, (int64_t)sb.st_size, (int64_t)sb.st_mtime};
    }
    closedir(d);
    return rc;
}

/* The SS-MIX2 timestamp field (the 5th '_'-separated piece of the base name), or "". */
static void stamp_of(const char *rel, char out[24])
{
    const char *b = strrchr(rel, '/');
    b = b ? b + 1 : rel;
    out[0] = '\0';
    int field = 0;
    const char *start = b;
    for (const char *p = b;; p++) {
        if (*p == '_' || !*p) {
            if (field == 4) {
                size_t n = (size_t)(p - start);
                snprintf(out, 24, "%.*s", (int)(n > 23 ? 23 : n), start);
                return;
            }
            field++;
            start = p + 1;
        }
        if (!*p)
            return;
    }
}

static int cmp_files(const void *a, const void *b)
{
    const struct zg_gw_file *x = a, *y = b;
    char sx[24], sy[24];
    stamp_of(x->rel, sx);
    stamp_of(y->rel, sy);
    int c = strcmp(sx, sy);
    return c ? c : strcmp(x->rel, y->rel);
}

int zg_gw_list_files(const char *root, int64_t settle_s, struct zg_gw_file **out, size_t *n,
                     struct zg_error *err)
{
    struct list l = {0};
    int rc = walk(root, "", 0, zg_clock_now() - settle_s, &l, err);
    if (rc) {
        zg_gw_files_free(l.v, l.n);
        *out = NULL;
        *n = 0;
        return rc;
    }
    if (l.n)
        qsort(l.v, l.n, sizeof(*l.v), cmp_files);
    *out = l.v;
    *n = l.n;
    return 0;
}

void zg_gw_files_free(struct zg_gw_file *f, size_t n)
{
    for (size_t i = 0; i < n && f; i++)
        free(f[i].rel);
    free(f);
}

int zg_gw_read_file(const char *path, size_t max, char **out, size_t *n, struct zg_error *err)
{
    *out = NULL;
    *n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return zg_error_set(err, ZG_EIO, "", "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb)) {
        close(fd);
        return zg_error_set(err, ZG_EIO, "", "cannot stat: %s", strerror(errno));
    }
    if ((uint64_t)sb.st_size > max) {
        close(fd);
        return zg_error_set(err, ZG_ETOOBIG, "", "file is larger than %zu bytes", max);
    }
    size_t cap = (size_t)sb.st_size;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    }
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *n = got;
    return 0;
}

bool zg_gw_ssmix2_withdrawn(const char *rel)
{
    size_t n = strlen(rel);
    return n > 2 && rel[n - 1] == '0' && rel[n - 2] == '_';
}

bool zg_gw_ssmix2_name_ok(const char *rel)
{
    const char *b = strrchr(rel, '/');
    b = b ? b + 1 : rel;
    int fields = 1;
    for (; *b; b++)
        fields += *b == '_';
    return fields >= 7;
}

void zg_gw_safe_name(const char *rel, char *out, size_t outsz)
{
    const char *b = strrchr(rel, '/');
    const char *base = b ? b + 1 : rel;
    if (!zg_gw_ssmix2_name_ok(rel)) {
        snprintf(out, outsz, "%s", base);
        return;
    }
    /* the folder just above the file is the data type (ADT-00, PPR-01, …) */
    const char *dir = "";
    size_t dn = 0;
    if (b) {
        const char *p = b;
        while (p > rel && p[-1] != '/')
            p--;
        dir = p;
        dn = (size_t)(b - p);
    }
    const char *rest = strchr(base, '_');
    snprintf(out, outsz, "%.*s%s*%s", (int)dn, dir, dn ? "/" : "", rest ? rest : "");
}
