/* Secret-sharing storage of the linkage keys (M18): the three keys that protect the linkage
 * store — lookup (finds a hospital ID's row), linkage (the cross-project hash), linkage-seal
 * (encrypts hospital IDs at rest) — are split k-of-n with Shamir's scheme and removed from the
 * data directory. Without k shares nothing can resolve or read a hospital patient ID: the
 * linkage store is sealed. A server is unsealed at run time by k key holders each submitting
 * one share (the keys then live only in its memory); `zengen linkage-key restore` puts them
 * back on disk.
 *
 * A share is one line of text:  zgs1-K-N-X-<192 hex: share bytes>-<16 hex: fingerprint>-<8 hex>
 * — threshold, number of shares, the share's x, its bytes, the fingerprint of the keys (the
 * first 8 bytes of SHA-256 over a label and the keys: it proves a reconstruction right and tells
 * shares of different splits apart), and a checksum over the rest that catches typing errors. */
#ifndef ZG_KEYSHARE_H
#define ZG_KEYSHARE_H

#include "datadir.h"

struct zg_error;

#define ZG_LINKAGE_SECRET_LEN (3 * ZG_KEY_LEN)
#define ZG_SHARE_TEXT 256

struct zg_share {
    int k, n, x;
    unsigned char y[ZG_LINKAGE_SECRET_LEN];
    char fpr[17];
};

/* The fingerprint (16 hex digits) of dd's linkage keys, which must be loaded. */
void zg_keyshare_fingerprint(const struct zg_datadir *dd, char out[17]);

/* Splits dd's linkage keys (loaded, not sealed) into n share texts, any k of which recover
 * them; checks that every k-subset (or, past 2000 subsets, 2000 random ones) does before
 * returning. Nothing on disk changes. Returns 0, ZG_EINVAL (k, n), ZG_ECONFLICT (sealed). */
int zg_keyshare_split(const struct zg_datadir *dd, int k, int n, char (*out)[ZG_SHARE_TEXT],
                      struct zg_error *err) ZG_MUST_CHECK;

/* Seals the data directory: writes keys/linkage.sealed (k, n, fingerprint) and then removes the
 * three key files (overwritten first). dd is marked sealed and its linkage keys wiped. Call
 * only after the shares are safely with their holders. */
int zg_keyshare_seal(struct zg_datadir *dd, int k, int n, struct zg_error *err) ZG_MUST_CHECK;

/* Parses and checks one share text (format, checksum, ranges). ZG_EINVAL with the reason. */
int zg_keyshare_parse(const char *text, struct zg_share *out, struct zg_error *err) ZG_MUST_CHECK;

/* Recovers the keys from count shares of one split (at least its k, distinct x) and installs
 * them in dd (memory only), which stops being sealed. When dd is sealed the shares must match
 * its marker (k, n, fingerprint). ZG_EINVAL: too few, mixed or not matching (nothing set). */
int zg_keyshare_unseal(struct zg_datadir *dd, const struct zg_share *shares, int count,
                       struct zg_error *err) ZG_MUST_CHECK;

/* Writes dd's (unsealed) linkage keys back to their files and removes the marker. */
int zg_keyshare_restore(struct zg_datadir *dd, struct zg_error *err) ZG_MUST_CHECK;

/* A server's unsealing in progress: shares submitted one by one by key holders, kept in
 * memory only until k of them have unsealed dd. Thread-safe. */
struct zg_unseal;
struct zg_unseal *zg_unseal_new(void);
void zg_unseal_free(struct zg_unseal *u);

struct zg_unseal_status {
    bool sealed;
    int threshold, shares, received;
    char fingerprint[17];
};

/* Submits one share text for dd. A share already given (same x) is not counted twice; a share
 * of another split is refused. When the k-th share arrives the keys are recovered and
 * installed. Returns 0 with *st filled, or ZG_EINVAL (bad share), ZG_ECONFLICT (not sealed). */
int zg_unseal_submit(struct zg_unseal *u, struct zg_datadir *dd, const char *text,
                     struct zg_unseal_status *st, struct zg_error *err) ZG_MUST_CHECK;

/* The state of dd and u (u may be NULL). */
void zg_unseal_status(struct zg_unseal *u, const struct zg_datadir *dd,
                      struct zg_unseal_status *st);

#endif
