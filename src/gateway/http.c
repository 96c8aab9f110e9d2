/* A small bounded HTTP client over libcurl (gateway pushes and FHIR pulls), back-off and
 * atomic file replacement shared by both. */
#include "gateway/gateway.h"
#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <unistd.h>

#define RESP_MAX ((size_t)8 << 20)

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    struct zg_buf *b = ud;
    size_t n = size * nmemb;
    if (zg_buf_add(b, p, n))
        return 0; /* past the bound: curl aborts the transfer */
    return n;
}

int zg_gw_http(const char *method, const char *url, const char *token, const char *cacert,
               const char *const *headers, const char *body, size_t body_len, long timeout_s,
               long *status, struct zg_buf *resp, struct zg_error *err)
{
    *status = 0;
    zg_buf_release(resp);
    resp->max = RESP_MAX;
    CURL *c = curl_easy_init();
    if (!c)
        return zg_error_set(err, ZG_ENOMEM, "", "cannot create an HTTP handle");
    struct curl_slist *h = NULL, *t;
    char auth[600];
    int rc = 0;
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        if (!(t = curl_slist_append(h, auth)))
            goto nomem;
        h = t;
    }
    for (size_t i = 0; headers && headers[i]; i++) {
        if (!(t = curl_slist_append(h, headers[i])))
            goto nomem;
        h = t;
    }
    if (!(t = curl_slist_append(h, "Expect:"))) /* no 100-continue round trip */
        goto nomem;
    h = t;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 60L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "zengen-gateway/" ZG_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (cacert)
        curl_easy_setopt(c, CURLOPT_CAINFO, cacert);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        rc = zg_error_set(err, ZG_EIO, "", "%s", cc == CURLE_WRITE_ERROR
                                                     ? "response larger than 8 MiB"
                                                     : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    goto out;
nomem:
    rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
out:
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}

int64_t zg_gw_backoff(int attempt, int64_t base, int64_t cap)
{
    if (base < 1)
        base = 1;
    int64_t d = base;
    for (int i = 0; i < attempt && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    /* ±20 % jitter so that many gateways do not retry in step after a center outage */
    int64_t span = d / 5;
    if (span > 0)
        d += (int64_t)zg_random_uniform((uint32_t)(2 * span + 1)) - span;
    return d < 1 ? 1 : d;
}

int zg_gw_write_file_atomic(const char *path, const char *data, size_t n, struct zg_error *err)
{
    char tmp[1200];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return zg_error_set(err, ZG_EINVAL, "", "path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return zg_error_set(err, ZG_EIO, "", "cannot write %s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, data + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return zg_error_set(err, ZG_EIO, "", "cannot write %s: %s", tmp, strerror(e));
        }
        off += (size_t)w;
    }
    if (fsync(fd) || close(fd)) {
        unlink(tmp);
        return zg_error_set(err, ZG_EIO, "", "cannot sync %s", tmp);
    }
    if (rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return zg_error_set(err, ZG_EIO, "", "cannot rename to %s: %s", path, strerror(e));
    }
    char dir[1200];
    snprintf(dir, sizeof(dir), "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}
