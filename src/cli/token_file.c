/* The bearer token of a client command (gateway, upload), read from a file: never from the
 * command line, where other users could see it in the process list. */
#include "cli.h"
#include "common/error.h"
#include "common/log.h"
#include "gateway/gateway.h"

#include <sys/stat.h>

/* Reads the bearer token (first line, surrounding whitespace removed). */
int zg_cli_read_token(const char *path, char *out, size_t outsz, struct zg_error *err)
{
    char *raw = NULL;
    size_t n = 0;
    int rc = zg_gw_read_file(path, 4096, &raw, &n, err);
    if (rc) {
        char why[sizeof(err->reason)];
        snprintf(why, sizeof(why), "%s", err->reason);
        return zg_error_set(err, rc, "--token-file", "%s", why);
    }
    size_t a = 0, b = n;
    while (a < n && (raw[a] == ' ' || raw[a] == '\t' || raw[a] == '\n' || raw[a] == '\r'))
        a++;
    b = a;
    while (b < n && raw[b] != '\n' && raw[b] != '\r' && raw[b] != ' ' && raw[b] != '\t')
        b++;
    if (b == a || b - a >= outsz) {
        free(raw);
        return zg_error_set(err, ZG_EINVAL, "--token-file", "the file holds no token");
    }
    memcpy(out, raw + a, b - a);
    out[b - a] = '\0';
    memset(raw, 0, n);
    free(raw);
    struct stat sb;
    if (!stat(path, &sb) && (sb.st_mode & 077))
        zg_log(ZG_LOG_WARN, "the token file %s is readable by other users; chmod 600 it", path);
    return 0;
}
