/* Unit tests of streaming uploads (src/genome/uploads.c): the digests are taken as the chunks
 * arrive, so a finish does not read the file again; a resent or overlapping chunk keeps them
 * right; without them (a restart) the finish reads the file; a declared SHA-256 that does not
 * match discards the upload; one finish at a time; the file's row and the upload's "done" are
 * written together, with no transaction left open. */
#include "testutil.h"

#include "common/error.h"
#include "crypto/crypto.h"
#include "genome/files.h"
#include "genome/files_internal.h"
#include "store/db.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <htslib/hts.h>

#define SHARED "/../shared/data"
#define CHUNK 65536

static char data_root[1024];

/* flock and rename are wrapped at link time (tests/unit/CMakeLists.txt): a hook set here runs
 * once, just before the next non-blocking flock or the next rename, to put another finish
 * exactly into the window a race would need. */
int __real_flock(int fd, int op);
int __real_rename(const char *from, const char *to);
int __wrap_flock(int fd, int op);
int __wrap_rename(const char *from, const char *to);
static void (*flock_hook)(void), (*rename_hook)(void);

int __wrap_flock(int fd, int op)
{
    void (*h)(void) = flock_hook;
    if (h && (op & LOCK_NB)) {
        flock_hook = NULL;
        h();
    }
    return __real_flock(fd, op);
}

int __wrap_rename(const char *from, const char *to)
{
    void (*h)(void) = rename_hook;
    if (h) {
        rename_hook = NULL;
        h();
    }
    return __real_rename(from, to);
}

/* what a hook finishes, and how that went */
static struct zg_test_fx *hook_fx;
static char hook_id[33];
static int hook_rc;
static struct zg_file_info hook_file;

static void finish_other(void)
{
    struct zg_error err;
    hook_rc = zg_upload_finish(&hook_fx->t.dd, hook_fx->db, hook_id, NULL, &hook_file, &err);
}

struct content {
    char *bytes;
    size_t n;
    char sha[ZG_SHA256_HEX], md5[33];
};

/* The bytes of a shared test file (rel below ../shared/data), with their digests. */
static void load_file(struct content *c, const char *rel)
{
    char p[1200];
    snprintf(p, sizeof(p), "%s%s%s", data_root, SHARED, rel);
    c->bytes = zg_test_slurp(p, &c->n);
    assert_non_null(c->bytes);
    zg_sha256_hex(c->bytes, c->n, c->sha);
    hts_md5_context *m = hts_md5_init();
    assert_non_null(m);
    hts_md5_update(m, c->bytes, (unsigned long)c->n);
    unsigned char d[16];
    hts_md5_final(d, m);
    hts_md5_hex(c->md5, d);
    hts_md5_destroy(m);
}

/* A VEP-annotated VCF of several chunks. */
static void load_content(struct content *c)
{
    load_file(c, "/vcf/annotated/bcftools-tests/test/split-vep.vcf");
    assert_true(c->n > 4 * CHUNK);
}

static void begin_named(struct zg_test_fx *f, const struct content *c, const char *sha,
                        const char *kind, const char *name, char id[33])
{
    struct zg_file_add_opts o = {.case_id = f->case_id, .data_kind = kind, .name = name};
    struct zg_error err;
    assert_int_equal(zg_upload_begin(&f->t.dd, f->db, (int64_t)c->n, sha, &o, 1, id, &err), 0);
}

static void begin(struct zg_test_fx *f, const struct content *c, const char *sha, char id[33])
{
    begin_named(f, c, sha, "somatic", NULL, id);
}

static void append(struct zg_test_fx *f, const struct content *c, const char *id, size_t from,
                   size_t to)
{
    int64_t received = 0;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_upload_append(&f->t.dd, f->db, id, (int64_t)from, c->bytes + from,
                                      to - from, &received, &err),
                     0);
}

static void append_all(struct zg_test_fx *f, const struct content *c, const char *id, size_t from)
{
    for (size_t at = from; at < c->n; at += CHUNK)
        append(f, c, id, at, at + CHUNK < c->n ? at + CHUNK : c->n);
}

/* An upload of c (declared SHA-256 sha) with every byte sent. */
static void sent(struct zg_test_fx *f, struct content *c, const char *sha, char id[33])
{
    begin(f, c, sha, id);
    append_all(f, c, id, 0);
}

static int64_t uploads_in(sqlite3 *db, const char *id, const char *state)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM genome_uploads WHERE id='%s' AND state='%s'",
             id, state);
    return zg_test_count(db, sql);
}

static void part_gone(struct zg_test_fx *f, const char *id)
{
    char p[1200];
    snprintf(p, sizeof(p), "%s/files/uploads/%s.part", f->t.data, id);
    assert_int_equal(access(p, F_OK), -1);
}

/* Chunks in order, one resent whole and one resent overlapping new bytes: the finish uses the
 * running digests, which equal the file's. */
static void digests_taken_on_arrival(void **state)
{
    struct zg_test_fx *f = *state;
    struct content c;
    load_content(&c);
    char id[33];
    begin(f, &c, c.sha, id);
    append(f, &c, id, 0, CHUNK);
    append(f, &c, id, 0, CHUNK); /* the same chunk again: a no-op */
    append(f, &c, id, CHUNK, 2 * CHUNK);
    append(f, &c, id, CHUNK + 100, 3 * CHUNK); /* overlaps: only its new part is written */
    append_all(f, &c, id, 3 * CHUNK);
    uint64_t hits = zg_upload_digest_hits();
    struct zg_file_info fi;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_upload_finish(&f->t.dd, f->db, id, NULL, &fi, &err), 0);
    assert_int_equal(zg_upload_digest_hits(), hits + 1);
    assert_true(sqlite3_get_autocommit(f->db));
    assert_string_equal(fi.sha256, c.sha);
    assert_string_equal(fi.md5, c.md5);
    assert_int_equal(fi.size, (int64_t)c.n);
    /* what is in the store is what was sent */
    char stored[ZG_SHA256_HEX];
    assert_int_equal(zg_sha256_file(fi.path, stored, &err), 0);
    assert_string_equal(stored, c.sha);
    /* the row and the upload's state went in together */
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM genome_uploads WHERE id='%s' AND"
             " state='done' AND file_id='%s'",
             id, fi.id);
    assert_int_equal(zg_test_count(f->db, sql), 1);
    part_gone(f, id);
    /* a finished upload takes no more chunks and no second finish */
    assert_int_equal(zg_upload_finish(&f->t.dd, f->db, id, NULL, &fi, &err), ZG_ENOTFOUND);
    free(c.bytes);
}

/* Without running digests (as after a restart), the finish reads the file for them. */
static void restart_reads_the_file(void **state)
{
    struct zg_test_fx *f = *state;
    struct content c;
    load_content(&c);
    char id[33];
    begin(f, &c, c.sha, id);
    append(f, &c, id, 0, 2 * CHUNK);
    zg_upload_digests_forget();
    append_all(f, &c, id, 2 * CHUNK);
    uint64_t hits = zg_upload_digest_hits();
    struct zg_file_info fi;
    struct zg_error err;
    assert_int_equal(zg_upload_finish(&f->t.dd, f->db, id, NULL, &fi, &err), 0);
    assert_int_equal(zg_upload_digest_hits(), hits);
    assert_string_equal(fi.sha256, c.sha);
    assert_string_equal(fi.md5, c.md5);
    assert_int_equal(uploads_in(f->db, id, "done"), 1);
    free(c.bytes);
}

/* Data that does not match the declared SHA-256 is discarded: nothing registered. */
static void declared_digest_mismatch_discards(void **state)
{
    struct zg_test_fx *f = *state;
    struct content c;
    load_content(&c);
    char id[33], wrong[ZG_SHA256_HEX];
    memcpy(wrong, c.sha, sizeof(wrong));
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    sent(f, &c, wrong, id);
    struct zg_file_info fi;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_upload_finish(&f->t.dd, f->db, id, NULL, &fi, &err), ZG_EINVAL);
    assert_string_equal(err.field, "sha256");
    assert_true(sqlite3_get_autocommit(f->db));
    assert_int_equal(uploads_in(f->db, id, "failed"), 1);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_files"), 0);
    part_gone(f, id);
    free(c.bytes);
}

/* One finish at a time: while another holds the upload, a finish is refused (409). */
static void one_finish_at_a_time(void **state)
{
    struct zg_test_fx *f = *state;
    struct content c;
    load_content(&c);
    char id[33];
    sent(f, &c, c.sha, id);
    char p[1200];
    snprintf(p, sizeof(p), "%s/files/uploads/%s.part", f->t.data, id);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    struct zg_file_info fi;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_upload_finish(&f->t.dd, f->db, id, NULL, &fi, &err), ZG_ECONFLICT);
    assert_int_equal(uploads_in(f->db, id, "open"), 1);
    close(fd);
    assert_int_equal(zg_upload_finish(&f->t.dd, f->db, id, NULL, &fi, &err), 0);
    assert_string_equal(fi.sha256, c.sha);
    free(c.bytes);
}

/* A finish that got past its first look while another completed the upload (between its look
 * and its lock) finds it finished: it neither fails nor touches it. */
static void finish_after_another_completed(void **state)
{
    struct zg_test_fx *f = *state;
    struct content c;
    load_content(&c);
    char id[33];
    sent(f, &c, c.sha, id);
    hook_fx = f;
    memcpy(hook_id, id, sizeof(hook_id));
    flock_hook = finish_other;
    struct zg_file_info fi;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_upload_finish(&f->t.dd, f->db, id, NULL, &fi, &err), ZG_ENOTFOUND);
    assert_null(flock_hook);
    assert_int_equal(hook_rc, 0);
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM genome_uploads WHERE id='%s' AND"
             " state='done' AND file_id='%s'",
             id, hook_file.id);
    assert_int_equal(zg_test_count(f->db, sql), 1);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_files"), 1);
    free(c.bytes);
}

/* Two uploads of the same content for one case, finished at once: the second to record finds
 * the first's row (the same file), and both uploads are done. */
static void same_content_finished_at_once(void **state)
{
    struct zg_test_fx *f = *state;
    struct content c;
    load_content(&c);
    char a[33], b[33];
    sent(f, &c, c.sha, a);
    sent(f, &c, c.sha, b);
    hook_fx = f;
    memcpy(hook_id, a, sizeof(hook_id));
    rename_hook = finish_other; /* a is recorded while b is being published */
    struct zg_file_info fi;
    struct zg_error err;
    zg_error_clear(&err);
    int rc = zg_upload_finish(&f->t.dd, f->db, b, NULL, &fi, &err);
    if (rc)
        print_message("%s: %s\n", err.field, err.reason);
    assert_int_equal(rc, 0);
    assert_null(rename_hook);
    assert_int_equal(hook_rc, 0);
    assert_string_equal(fi.id, hook_file.id);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_files"), 1);
    assert_int_equal(uploads_in(f->db, a, "done"), 1);
    assert_int_equal(uploads_in(f->db, b, "done"), 1);
    part_gone(f, a);
    part_gone(f, b);
    free(c.bytes);
}

/* The database too busy to record the file: the upload stays open with its data, and a later
 * finish completes it. */
static void busy_database_keeps_the_upload(void **state)
{
    struct zg_test_fx *f = *state;
    struct content c;
    load_content(&c);
    char id[33];
    sent(f, &c, c.sha, id);
    sqlite3 *other = zg_test_connect(&f->t, ZG_DB_MAIN);
    zg_test_sql(other, "BEGIN IMMEDIATE");
    sqlite3_busy_timeout(f->db, 50);
    struct zg_file_info fi;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_not_equal(zg_upload_finish(&f->t.dd, f->db, id, NULL, &fi, &err), 0);
    assert_true(sqlite3_get_autocommit(f->db));
    zg_test_sql(other, "ROLLBACK");
    zg_db_close(other);
    sqlite3_busy_timeout(f->db, 10000);
    assert_int_equal(uploads_in(f->db, id, "open"), 1);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_files"), 0);
    assert_int_equal(zg_upload_finish(&f->t.dd, f->db, id, NULL, &fi, &err), 0);
    assert_string_equal(fi.sha256, c.sha);
    assert_string_equal(fi.md5, c.md5);
    assert_int_equal(uploads_in(f->db, id, "done"), 1);
    part_gone(f, id);
    free(c.bytes);
}

/* A BAM and its index, each an upload: the index is checked against the data and stored with
 * it (no index built), and both uploads end done with the one file. */
static void index_sent_as_its_own_upload(void **state)
{
    struct zg_test_fx *f = *state;
    struct content bam, bai;
    load_file(&bam, "/bam_cram/strelka-demo20/NA12891_demo20.bam");
    load_file(&bai, "/bam_cram/strelka-demo20/NA12891_demo20.bam.bai");
    char id[33], iid[33];
    begin_named(f, &bam, bam.sha, "reads", "NA12891_demo20.bam", id);
    append_all(f, &bam, id, 0);
    begin_named(f, &bai, bai.sha, "reads", "NA12891_demo20.bam.bai", iid);
    append_all(f, &bai, iid, 0);
    struct zg_file_info fi;
    struct zg_error err;
    zg_error_clear(&err);
    int rc = zg_upload_finish(&f->t.dd, f->db, id, iid, &fi, &err);
    if (rc)
        print_message("%s: %s\n", err.field, err.reason);
    assert_int_equal(rc, 0);
    assert_string_equal(fi.sha256, bam.sha);
    assert_true(fi.index_path[0]);
    size_t n = 0;
    char *stored = zg_test_slurp(fi.index_path, &n);
    assert_non_null(stored);
    assert_int_equal(n, bai.n);
    assert_memory_equal(stored, bai.bytes, n);
    free(stored);
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM genome_uploads WHERE state='done' AND"
             " file_id='%s' AND id IN ('%s','%s')",
             fi.id, id, iid);
    assert_int_equal(zg_test_count(f->db, sql), 2);
    part_gone(f, id);
    part_gone(f, iid);
    /* nothing else is left beside the parts (the index's named link is gone too) */
    char dir[1200];
    snprintf(dir, sizeof(dir), "%s/files/uploads", f->t.data);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int left = 0;
    for (struct dirent *e; (e = readdir(d));)
        left += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(left, 0);
    free(bam.bytes);
    free(bai.bytes);
}

/* An index that does not fit is discarded and the data stays open: a finish without it then
 * builds one. An index upload not named for its kind is refused with nothing discarded. */
static void unfit_index_keeps_the_data(void **state)
{
    struct zg_test_fx *f = *state;
    struct content bam, junk = {0};
    load_file(&bam, "/bam_cram/strelka-demo20/NA12891_demo20.bam");
    junk.n = 96;
    junk.bytes = calloc(1, junk.n);
    assert_non_null(junk.bytes);
    memcpy(junk.bytes, "BAI\\1", 4);
    zg_sha256_hex(junk.bytes, junk.n, junk.sha);
    char id[33], iid[33], nid[33];
    begin_named(f, &bam, bam.sha, "reads", "a.bam", id);
    append_all(f, &bam, id, 0);
    begin_named(f, &junk, junk.sha, "reads", "a.bam.idx", nid);
    append_all(f, &junk, nid, 0);
    struct zg_file_info fi;
    struct zg_error err;
    zg_error_clear(&err);
    assert_int_equal(zg_upload_finish(&f->t.dd, f->db, id, nid, &fi, &err), ZG_EINVAL);
    assert_string_equal(err.field, "index_upload");
    assert_int_equal(uploads_in(f->db, nid, "open"), 1);
    assert_int_equal(uploads_in(f->db, id, "open"), 1);

    begin_named(f, &junk, junk.sha, "reads", "a.bam.bai", iid);
    append_all(f, &junk, iid, 0);
    zg_error_clear(&err);
    assert_int_equal(zg_upload_finish(&f->t.dd, f->db, id, iid, &fi, &err), ZG_EINVAL);
    assert_string_equal(err.field, "index_upload");
    assert_int_equal(uploads_in(f->db, iid, "failed"), 1);
    part_gone(f, iid);
    assert_int_equal(uploads_in(f->db, id, "open"), 1);
    assert_int_equal(zg_test_count(f->db, "SELECT count(*) FROM genome_files"), 0);
    assert_int_equal(zg_upload_finish(&f->t.dd, f->db, id, NULL, &fi, &err), 0);
    assert_true(fi.index_path[0]); /* built */
    free(bam.bytes);
    free(junk.bytes);
}

/* Writes n bytes to path and dates it back by age seconds. */
static void old_file(const char *path, size_t n, int64_t age)
{
    FILE *o = fopen(path, "wb");
    assert_non_null(o);
    for (size_t i = 0; i < n; i++)
        fputc('x', o);
    fclose(o);
    struct timeval tv[2];
    tv[0].tv_sec = tv[1].tv_sec = (time_t)(time(NULL) - age);
    tv[0].tv_usec = tv[1].tv_usec = 0;
    assert_int_equal(utimes(path, tv), 0);
}

/* The sweep expires uploads idle past the limit (their data goes) and removes what no open
 * upload owns in uploads/ and what is left in tmp/, when old enough; the rest stays. */
static void sweep_abandoned(void **state)
{
    struct zg_test_fx *f = *state;
    struct content c;
    load_content(&c);
    char idle[33], busy[33], fresh[33], done[33];
    begin(f, &c, c.sha, idle);
    append(f, &c, idle, 0, CHUNK);
    begin(f, &c, c.sha, busy);
    append(f, &c, busy, 0, CHUNK);
    begin(f, &c, c.sha, fresh);
    append(f, &c, fresh, 0, CHUNK);
    sent(f, &c, c.sha, done);
    struct zg_file_info fi;
    struct zg_error err;
    assert_int_equal(zg_upload_finish(&f->t.dd, f->db, done, NULL, &fi, &err), 0);
    char sql[300];
    snprintf(sql, sizeof(sql),
             "UPDATE genome_uploads SET updated_at = updated_at - 30*86400 WHERE id IN ('%s','%s')",
             idle, busy);
    zg_test_sql(f->db, sql);
    /* the busy one is being written right now: its lock is held */
    char p[1200], q[1200], t1[1200], t2[1200], stray[1200];
    snprintf(p, sizeof(p), "%s/files/uploads/%s.part", f->t.data, busy);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    /* leftovers: a part of a finished upload, a named index link, tmp files old and new, and a
     * file that is not the store's own */
    snprintf(q, sizeof(q), "%s/files/uploads/%s.part", f->t.data, done);
    old_file(q, 100, 9 * 86400);
    snprintf(stray, sizeof(stray), "%s/files/uploads/%s.part.%s.bai", f->t.data, done, done);
    old_file(stray, 10, 9 * 86400);
    snprintf(t1, sizeof(t1), "%s/files/tmp/abandoned", f->t.data);
    old_file(t1, 1000, 9 * 86400);
    snprintf(t2, sizeof(t2), "%s/files/tmp/in-flight", f->t.data);
    old_file(t2, 1000, 60);
    /* the busy upload's data, linked into tmp/ as a finish does: old by its write time, but
     * linked just now and still the part's */
    char t3[1200];
    snprintf(t3, sizeof(t3), "%s/files/tmp/being-registered", f->t.data);
    struct timeval tv[2] = {{(time_t)(time(NULL) - 9 * 86400), 0},
                            {(time_t)(time(NULL) - 9 * 86400), 0}};
    assert_int_equal(utimes(p, tv), 0);
    assert_int_equal(link(p, t3), 0);
    struct zg_sweep_stats st;
    zg_error_clear(&err);
    assert_int_equal(zg_uploads_sweep(&f->t.dd, f->db, 60, &st, &err), ZG_EINVAL);
    assert_int_equal(zg_uploads_sweep(&f->t.dd, f->db, 7 * 86400, &st, &err), 0);
    assert_int_equal(st.expired, 1);
    assert_int_equal(st.removed, 3);
    assert_int_equal(st.bytes, CHUNK + 100 + 10 + 1000);
    assert_int_equal(uploads_in(f->db, idle, "failed"), 1);
    part_gone(f, idle);
    assert_int_equal(uploads_in(f->db, busy, "open"), 1);
    assert_int_equal(access(p, F_OK), 0);
    assert_int_equal(uploads_in(f->db, fresh, "open"), 1);
    assert_int_equal(uploads_in(f->db, done, "done"), 1);
    assert_int_equal(access(q, F_OK), -1);
    assert_int_equal(access(stray, F_OK), -1);
    assert_int_equal(access(t1, F_OK), -1);
    assert_int_equal(access(t2, F_OK), 0);
    assert_int_equal(access(t3, F_OK), 0);
    close(fd);
    /* an expired upload takes no more chunks */
    int64_t received = 0;
    assert_int_equal(
        zg_upload_append(&f->t.dd, f->db, idle, CHUNK, c.bytes + CHUNK, CHUNK, &received, &err),
        ZG_ENOTFOUND);
    free(c.bytes);
}

static const struct content *hook_content;

/* A chunk of hook_id arrives (what a client resuming an idle upload sends). */
static void append_more(void)
{
    int64_t received = 0;
    struct zg_error err;
    hook_rc = zg_upload_append(&hook_fx->t.dd, hook_fx->db, hook_id, CHUNK,
                               hook_content->bytes + CHUNK, CHUNK, &received, &err);
}

/* An idle upload that a chunk revives between the sweep's look and its lock keeps its data. */
static void sweep_spares_a_revived_upload(void **state)
{
    struct zg_test_fx *f = *state;
    struct content c;
    load_content(&c);
    char id[33];
    begin(f, &c, c.sha, id);
    append(f, &c, id, 0, CHUNK);
    char sql[300];
    snprintf(sql, sizeof(sql),
             "UPDATE genome_uploads SET updated_at = updated_at - 30*86400 WHERE id = '%s'", id);
    zg_test_sql(f->db, sql);
    hook_fx = f;
    hook_content = &c;
    memcpy(hook_id, id, sizeof(hook_id));
    flock_hook = append_more;
    struct zg_sweep_stats st;
    struct zg_error err;
    assert_int_equal(zg_uploads_sweep(&f->t.dd, f->db, 7 * 86400, &st, &err), 0);
    assert_null(flock_hook);
    assert_int_equal(hook_rc, 0);
    assert_int_equal(st.expired, 0);
    assert_int_equal(uploads_in(f->db, id, "open"), 1);
    append_all(f, &c, id, 2 * CHUNK);
    struct zg_file_info fi;
    assert_int_equal(zg_upload_finish(&f->t.dd, f->db, id, NULL, &fi, &err), 0);
    assert_string_equal(fi.sha256, c.sha);
    free(c.bytes);
}

int main(void)
{
    /* the shared test data sits beside the project: <root>/../shared/data */
    snprintf(data_root, sizeof(data_root), "%s/..", ZG_DOCS_DIR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(digests_taken_on_arrival, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(restart_reads_the_file, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(declared_digest_mismatch_discards, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(one_finish_at_a_time, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(finish_after_another_completed, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(same_content_finished_at_once, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(busy_database_keeps_the_upload, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(index_sent_as_its_own_upload, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(unfit_index_keeps_the_data, zg_test_fx_setup,
                                        zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(sweep_abandoned, zg_test_fx_setup, zg_test_fx_teardown),
        cmocka_unit_test_setup_teardown(sweep_spares_a_revived_upload, zg_test_fx_setup,
                                        zg_test_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
