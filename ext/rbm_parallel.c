/*
** rbm_parallel_for: n independent tasks shared out to threads as they free
** up.  Scoring uses it for the per-user work after a GEMM (softmax, blending,
** top-k), which would otherwise run on one core while the other idles.
** Threads are started per call: a call does milliseconds of work, and a
** start costs tens of microseconds.  Each task writes only its own output,
** so the result does not depend on the thread count.
*/
#include "rbm_internal.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct parallel_job {
  rbm_task fn;
  void *ctx;
  size_t n;
  atomic_size_t next;
} parallel_job;

typedef struct parallel_worker {
  parallel_job *job;
  int worker;
} parallel_worker;

static void run_tasks(parallel_job *job, int worker) {
  for (;;) {
    size_t i = atomic_fetch_add(&job->next, 1);
    if (i >= job->n) return;
    job->fn(job->ctx, i, worker);
  }
}

static void *worker_main(void *arg) {
  parallel_worker *w = arg;
  run_tasks(w->job, w->worker);
  return NULL;
}

void rbm_parallel_for(int threads, size_t n, rbm_task fn, void *ctx) {
  parallel_job job = {fn, ctx, n, 0};
  pthread_t tid[RBM_MAX_TASK_THREADS];
  parallel_worker w[RBM_MAX_TASK_THREADS];
  int started = 0;
  if (threads > RBM_MAX_TASK_THREADS) threads = RBM_MAX_TASK_THREADS;
  if ((size_t)threads > n) threads = (int)n;
  for (int k = 1; k < threads; k++) {
    w[started] = (parallel_worker){&job, k};
    if (pthread_create(&tid[started], NULL, worker_main, &w[started]) != 0)
      break;  /* the threads there are (at least the caller) do it all */
    started++;
  }
  run_tasks(&job, 0);
  for (int k = 0; k < started; k++) pthread_join(tid[k], NULL);
}
