/*
** sgemm.c -- the ceiling for a feature model's training: OpenBLAS sgemm
** alone, on the GEMMs of one CD-1 minibatch of a B x d batch and F hidden
** units (up, down, up, and the gradient's two), as training runs them:
** the batch's rows split between the threads, one BLAS thread each.
**
**   dist/sgemm [B d F threads seconds [blas]]   (default 100 784 256 2 2)
**
** With "blas", one caller runs the whole shapes on OpenBLAS's own threads
** instead.  Prints "sgemm_gflops G": multiply-adds x 2 per second.
*/
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern void openblas_set_num_threads(int);

static int B, d, F, threads;
static double seconds;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct job { int rows, units; double flops; } job;

/* One thread's share of minibatches: its rows' three passes and its
** visible units' gradient, until the time is up. */
static void *run(void *arg) {
  job *j = arg;
  float *V = calloc((size_t)B * d, 4), *H = calloc((size_t)B * F, 4);
  float *W = calloc((size_t)d * F, 4), *G = calloc((size_t)d * F, 4);
  for (size_t i = 0; i < (size_t)d * F; i++) W[i] = (float)(i % 7) * 0.01f;
  for (size_t i = 0; i < (size_t)B * d; i++) V[i] = (float)(i % 5) * 0.2f;
  double start = now(), per = 2.0 * 3 * j->rows * (double)d * F + 2.0 * 2 * j->units * (double)B * F;
  j->flops = 0;
  while (now() - start < seconds) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->rows, F, d, 1, V, d, W, F, 0, H, F);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->rows, d, F, 1, H, F, W, F, 0, V, d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->rows, F, d, 1, V, d, W, F, 0, H, F);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, j->units, F, B, 1, V, d, H, F, 0, G, F);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, j->units, F, B, -1, V, d, H, F, 1, G, F);
    j->flops += per;
  }
  j->flops /= now() - start;
  free(V), free(H), free(W), free(G);
  return NULL;
}

int main(int argc, char **argv) {
  B = argc > 1 ? atoi(argv[1]) : 100;
  d = argc > 2 ? atoi(argv[2]) : 784;
  F = argc > 3 ? atoi(argv[3]) : 256;
  threads = argc > 4 ? atoi(argv[4]) : 2;
  seconds = argc > 5 ? atof(argv[5]) : 2;
  int blas = argc > 6;
  openblas_set_num_threads(blas ? threads : 1);
  if (blas) threads = 1;
  pthread_t tid[64];
  job jobs[64];
  double total = 0;
  for (int t = 0; t < threads; t++) {
    jobs[t].rows = (B + threads - 1) / threads;
    jobs[t].units = (d + threads - 1) / threads;
    pthread_create(&tid[t], NULL, run, &jobs[t]);
  }
  for (int t = 0; t < threads; t++) {
    pthread_join(tid[t], NULL);
    total += jobs[t].flops;
  }
  printf("sgemm_gflops %.1f\n", total * 1e-9);
  return 0;
}
