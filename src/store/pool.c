/* Connection pool. */
#include "pool.h"
#include "db.h"
#include "common/error.h"

#include <pthread.h>

struct zg_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t n, nfree;
    struct zg_conns *all;
    struct zg_conns **free;
};

int zg_pool_open(const struct zg_datadir *dd, size_t n, struct zg_pool **out,
                 struct zg_error *err)
{
    struct zg_pool *p = calloc(1, sizeof(*p));
    if (!p || !n)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    p->all = calloc(n, sizeof(*p->all));
    p->free = calloc(n, sizeof(*p->free));
    if (!p->all || !p->free) {
        free(p->all);
        free(p->free);
        free(p);
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    }
    p->n = n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (size_t i = 0; i < n; i++) {
        int rc = zg_datadir_connect(dd, ZG_DB_MAIN, &p->all[i].db, err);
        if (!rc)
            rc = zg_datadir_connect(dd, ZG_DB_LINKAGE, &p->all[i].linkage, err);
        if (!rc)
            rc = zg_datadir_connect(dd, ZG_DB_AUDIT, &p->all[i].audit, err);
        if (rc) {
            p->nfree = i + 1;
            for (size_t j = 0; j <= i; j++)
                p->free[j] = &p->all[j];
            zg_pool_close(p);
            return rc;
        }
        p->free[p->nfree++] = &p->all[i];
    }
    *out = p;
    return 0;
}

void zg_pool_close(struct zg_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        zg_db_close(p->all[i].db);
        zg_db_close(p->all[i].linkage);
        zg_db_close(p->all[i].audit);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->all);
    free(p->free);
    free(p);
}

struct zg_conns *zg_pool_acquire(struct zg_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->nfree == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    struct zg_conns *c = p->free[--p->nfree];
    pthread_mutex_unlock(&p->mu);
    return c;
}

void zg_pool_release(struct zg_pool *p, struct zg_conns *c)
{
    if (!c)
        return;
    zg_db_rollback(c->db);
    zg_db_rollback(c->linkage);
    zg_db_rollback(c->audit);
    pthread_mutex_lock(&p->mu);
    p->free[p->nfree++] = c;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}
