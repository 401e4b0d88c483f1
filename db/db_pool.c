/*
 * A fixed-size pool of connections for threads that serve requests.
 * Connections open lazily on first need and are checked (db_ensure) each
 * time they are handed out; a thread that finds none free waits on a
 * condition variable up to its deadline.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "db/db.h"

struct db_pool {
  pthread_mutex_t lock;
  pthread_cond_t freed;
  char *conninfo;
  unsigned max_retries;
  unsigned size;   /* most connections */
  unsigned opened; /* connections that exist (idle or lent) */
  unsigned n_idle;
  struct db_conn **idle; /* size slots */
};

int db_pool_create(const char *conninfo, unsigned size, unsigned max_retries, struct db_pool **out)
{
  struct db_pool *p = calloc(1, sizeof *p);
  if (p == NULL)
    return -ERR_NOMEM;
  p->conninfo = strdup(conninfo);
  p->idle = calloc(size == 0 ? 1 : size, sizeof *p->idle);
  if (p->conninfo == NULL || p->idle == NULL) {
    free(p->conninfo);
    free(p->idle);
    free(p);
    return -ERR_NOMEM;
  }
  p->size = size == 0 ? 1 : size;
  p->max_retries = max_retries;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->freed, NULL);
  *out = p;
  return 0;
}

void db_pool_free(struct db_pool *p)
{
  if (p == NULL)
    return;
  for (unsigned i = 0; i < p->n_idle; i++)
    db_close(p->idle[i]);
  if (p->opened != p->n_idle)
    log_bug("db", "pool freed with %u connections lent", p->opened - p->n_idle);
  sodium_memzero(p->conninfo, strlen(p->conninfo));
  free(p->conninfo);
  free(p->idle);
  pthread_cond_destroy(&p->freed);
  pthread_mutex_destroy(&p->lock);
  free(p);
}

int db_pool_get(struct db_pool *p, unsigned timeout_ms, struct db_conn **out)
{
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&p->lock);
  while (p->n_idle == 0 && p->opened >= p->size) {
    if (pthread_cond_timedwait(&p->freed, &p->lock, &deadline) == ETIMEDOUT && p->n_idle == 0 &&
        p->opened >= p->size) {
      pthread_mutex_unlock(&p->lock);
      return -ERR_DB_POOL_TIMEOUT;
    }
  }
  struct db_conn *c = NULL;
  if (p->n_idle > 0)
    c = p->idle[--p->n_idle];
  else
    p->opened++; /* reserve the slot, open outside the lock */
  pthread_mutex_unlock(&p->lock);

  int rc = c == NULL ? db_connect(p->conninfo, NULL, p->max_retries, &c) : db_ensure(c);
  if (rc != 0) {
    pthread_mutex_lock(&p->lock);
    if (c != NULL) {
      /* Keep the broken one idle: it reconnects on a later get. */
      p->idle[p->n_idle++] = c;
    } else {
      p->opened--;
    }
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
    return -ERR_DB_CONNECT;
  }
  *out = c;
  return 0;
}

void db_pool_put(struct db_pool *p, struct db_conn *c)
{
  if (c->in_txn) {
    log_bug("db", "connection returned inside a transaction");
    PGresult *r = PQexec(c->pg, "ROLLBACK");
    PQclear(r);
    c->in_txn = false;
  }
  pthread_mutex_lock(&p->lock);
  p->idle[p->n_idle++] = c;
  pthread_cond_signal(&p->freed);
  pthread_mutex_unlock(&p->lock);
}
