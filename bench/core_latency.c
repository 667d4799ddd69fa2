/*
** core_latency.c -- the round trip of a cache line between two threads, in
** nanoseconds (median of 9 runs of 100,000 round trips).
**
** The benchmark machine is a VM whose two vCPUs are placed by the host:
** sometimes on cores that share a cache (about 110 ns here), sometimes on
** cores that do not (about 500 ns).  In the second case every cache line
** one thread writes and the other reads crosses between them slowly, and
** the 2-thread figures of bench/run.sh suffer.  The figure goes into
** bench/RESULTS.md so a run can be read in that light.
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TRIPS 100000
#define RUNS 9

static _Alignas(64) atomic_int turn;

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Answers each odd value with the next even one. */
static void *answer(void *arg) {
  (void)arg;
  for (int i = 0; i < TRIPS; i++) {
    while (atomic_load_explicit(&turn, memory_order_acquire) != 2 * i + 1) {}
    atomic_store_explicit(&turn, 2 * i + 2, memory_order_release);
  }
  return NULL;
}

static double round_trip_ns(void) {
  pthread_t other;
  atomic_store(&turn, 0);
  if (pthread_create(&other, NULL, answer, NULL) != 0) return -1;
  double start = now_seconds();
  for (int i = 0; i < TRIPS; i++) {
    atomic_store_explicit(&turn, 2 * i + 1, memory_order_release);
    while (atomic_load_explicit(&turn, memory_order_acquire) != 2 * i + 2) {}
  }
  double seconds = now_seconds() - start;
  pthread_join(other, NULL);
  return seconds / TRIPS * 1e9;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(void) {
  double ns[RUNS];
  for (int r = 0; r < RUNS; r++) ns[r] = round_trip_ns();
  qsort(ns, RUNS, sizeof *ns, by_value);
  printf("%.0f\n", ns[RUNS / 2]);
  return 0;
}
