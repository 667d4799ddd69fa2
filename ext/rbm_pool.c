/*
** rbm_pool.c -- the engine's one thread pool.
**
**   rbm_pool *p = rbm_pool_start(threads);     // the caller is worker 0
**   rbm_pool_run(p, n, chunk, fn, ctx, NULL, NULL);  // fn(ctx, i, worker)
**   rbm_pool_stop(p);
**
** Training starts one for its whole run: each minibatch is two rounds (the
** users' chains, then the items' updates), and a round can take as little
** as a few tens of microseconds, which is what a futex wake-up costs, so
** both sides spin a while before they sleep.  Scoring starts one per call
** (rbm_parallel_for): a call does milliseconds of work.
**
** Tasks are taken chunk at a time from a shared counter, so a worker that
** drew light tasks takes more of them.  Each task writes only its own
** output, so no result depends on the number of workers or on which one
** ran what.
*/
#include "rbm_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct pool_thread {
  rbm_pool *pool;
  int worker;
  pthread_t tid;
} pool_thread;

struct rbm_pool {
  pthread_mutex_t mu;
  pthread_cond_t start, done;
  atomic_uint round;   /* bumped once per run */
  atomic_int pending;  /* threads still working on this round */
  atomic_int quit;
  int n_threads;       /* started, beside the caller */
  int spins;           /* pauses before sleeping (0: sleep at once) */
  pool_thread *thread;
  /* The round being run. */
  rbm_task fn;
  void *ctx;
  size_t n, chunk;
  atomic_size_t next;
};

#define POOL_SPINS 20000  /* pauses: some tens of microseconds */

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static void run_share(rbm_pool *p, int worker) {
  for (;;) {
    size_t j = atomic_fetch_add(&p->next, p->chunk);
    if (j >= p->n) return;
    size_t end = p->n - j < p->chunk ? p->n : j + p->chunk;
    for (; j < end; j++) p->fn(p->ctx, j, worker);
  }
}

static void *pool_main(void *arg) {
  pool_thread *me = arg;
  rbm_pool *p = me->pool;
  unsigned seen = 0;
  for (;;) {
    for (int s = 0; s < p->spins && atomic_load(&p->round) == seen &&
                    !atomic_load(&p->quit);
         s++)
      cpu_relax();
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->round) == seen && !atomic_load(&p->quit))
      pthread_cond_wait(&p->start, &p->mu);
    pthread_mutex_unlock(&p->mu);
    if (atomic_load(&p->quit)) return NULL;
    seen = atomic_load(&p->round);
    run_share(p, me->worker);
    if (atomic_fetch_sub(&p->pending, 1) == 1) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

/* A pool of threads - 1 threads.  With fn, its first round (chunk 1) is
** set before the threads start, so each goes straight to work on it. */
static rbm_pool *pool_open(int threads, int spins, rbm_task fn, void *ctx,
                           size_t n) {
  rbm_pool *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->spins = spins;
  if (threads > 1 && !(p->thread = calloc((size_t)threads, sizeof *p->thread))) {
    free(p);
    return NULL;
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->start, NULL);
  pthread_cond_init(&p->done, NULL);
  if (fn) {
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->chunk = 1;
    atomic_store(&p->round, 1);
    atomic_store(&p->pending, threads - 1);
  }
  for (int k = 1; k < threads; k++) {
    p->thread[k] = (pool_thread){p, k, 0};
    if (pthread_create(&p->thread[k].tid, NULL, pool_main, &p->thread[k]) != 0) {
      /* the threads there are (at least the caller) do it all */
      if (fn) atomic_fetch_sub(&p->pending, threads - k);
      break;
    }
    p->n_threads = k;
  }
  return p;
}

/* A pool whose sides spin before they sleep: a training's rounds follow
** each other within microseconds.  (rbm_parallel_for's single round is
** waited for asleep: a spin would only take the core from the thread the
** caller waits for, on a machine of two.) */
rbm_pool *rbm_pool_start(int threads) {
  return pool_open(threads, POOL_SPINS, NULL, NULL, 0);
}

int rbm_pool_size(const rbm_pool *p) { return p->n_threads + 1; }

void rbm_pool_run(rbm_pool *p, size_t n, size_t chunk, rbm_task fn,
                  void *ctx, void (*side)(void *), void *side_ctx) {
  p->fn = fn;
  p->ctx = ctx;
  p->n = n;
  p->chunk = chunk ? chunk : n / ((size_t)rbm_pool_size(p) * 16) + 1;
  atomic_store(&p->next, 0);
  if (p->n_threads > 0) {
    atomic_store(&p->pending, p->n_threads);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->round, 1);
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
  }
  if (side) side(side_ctx);
  run_share(p, 0);
  if (p->n_threads > 0) {
    for (int s = 0; s < p->spins && atomic_load(&p->pending) > 0; s++)
      cpu_relax();
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
  }
}

void rbm_pool_stop(rbm_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->quit, 1);
  pthread_cond_broadcast(&p->start);
  pthread_mutex_unlock(&p->mu);
  for (int k = 1; k <= p->n_threads; k++) pthread_join(p->thread[k].tid, NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->start);
  pthread_cond_destroy(&p->done);
  free(p->thread);
  free(p);
}

/* One round on a pool made for it: the round is set before the threads
** start, so each goes straight to work; without memory for a pool, the
** caller runs every task. */
void rbm_parallel_for(int threads, size_t n, rbm_task fn, void *ctx) {
  if (threads < 1) threads = 1;
  if (threads > RBM_MAX_TASK_THREADS) threads = RBM_MAX_TASK_THREADS;
  if ((size_t)threads > n) threads = (int)n;
  rbm_pool *p = threads > 1 ? pool_open(threads, 0, fn, ctx, n) : NULL;
  if (!p) {
    for (size_t i = 0; i < n; i++) fn(ctx, i, 0);
    return;
  }
  run_share(p, 0);
  pthread_mutex_lock(&p->mu);
  while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
  rbm_pool_stop(p);
}
