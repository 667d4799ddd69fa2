/*
** rbm_cd_dense.c -- CD-k by GEMMs: visible 'implicit'.
**
** Visible 'implicit': every item is a Bernoulli unit of every user's RBM,
** 1 where the user has a row and 0 elsewhere, so a minibatch of B users is
** a B x n matrix and the passes are products with the n x F weights (the
** model's unit-1 rows, which sit every other row: leading dimension 2F).
**   dense_data      V0 from the users' rows; H0 = p(h | V0), gathered from
**                   the rows' weights (V0 is sparse), and a sample Hs
**   dense_chain     k Gibbs steps: V1 = p(v | Hs) (a GEMM), sampled but in
**                   the last step; H1 = p(h | V1) (a GEMM), sampled but in
**                   the last step
**   dense_update    grad W = V0' H0 - V1' H1 (a GEMM, then the rows scattered
**                   in), the momentum step on every item's row: in a dense
**                   RBM every weight has a gradient every minibatch
** The first two run in tasks of a few rows, the update in tasks of items.
** Each user's draws come from a stream keyed by (seed, epoch, user).
*/
#include "rbm_trainer.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

static inline float *dense_w1(const rbm_model *m) { return m->layer.W + m->layer.n_hidden; }

/* Rows of a minibatch per task, and items per task of the update: fixed,
** since a GEMM's sums depend on its shape, so that the tasks, and every
** sum, are the same for any thread count. */
#define DENSE_ROWS 25
#define DENSE_ITEMS 64

/* V0 for users order[lo + j], j in [j0, j1); H0 = p(h | V0), gathered from
** the rows' weights (V0 is sparse), and a sample Hs. */
static void dense_data(trainer *t, uint32_t j0, uint32_t j1, worker *w) {
  const rbm_ratings *r = t->r;
  rbm_model *m = t->m;
  struct dense *d = &t->d;
  size_t n = m->n_items, F = m->layer.n_hidden;
  memset(d->v_data + j0 * n, 0, (size_t)(j1 - j0) * n * sizeof *d->v_data);
  for (uint32_t j = j0; j < j1; j++) {
    uint32_t user = t->order[d->lo + j];
    size_t nr = (size_t)(r->row[user + 1] - r->row[user]);
    const uint32_t *items = r->col_item + r->row[user];
    for (size_t q = 0; q < nr; q++) d->v_data[j * n + items[q]] = 1.f;
    memset(w->units, 1, nr);
    float *act = d->h_model + j * F;  /* scratch until dense_chain */
    rbm_hidden_input(m, nr, items, w->units, act);
    rbm_sigmoid_all(act, d->h_data + j * F, (int)F);
    rbm_rng_seed(&d->rng[j], t->cfg->seed, (uint64_t)t->epoch, user);
    rbm_sample_bernoulli(&d->rng[j], d->h_data + j * F, d->h_sample + j * F, (int)F);
  }
}

/* x = sigmoid(x + bias) over rows of n, the bias every stride-th float. */
RBM_CLONES static void dense_sigmoid_rows(float *x, size_t rows, size_t n,
                                          const float *bias, size_t stride) {
  for (size_t j = 0; j < rows; j++) {
    float *p = x + j * n;
#pragma omp simd
    for (size_t c = 0; c < n; c++) p[c] = rbm_sigmoid(p[c] + bias[c * stride]);
  }
}

/* sum of (a - b)^2 over n floats, by stretches of at most 4096 (float sums
** of a few thousand terms, then double). */
RBM_CLONES static double dense_sq_diff(const float *a, const float *b, size_t n) {
  double total = 0;
  for (size_t lo = 0; lo < n; lo += 4096) {
    size_t hi = lo + 4096 < n ? lo + 4096 : n;
    float s = 0.f;
#pragma omp simd reduction(+ : s)
    for (size_t q = lo; q < hi; q++) s += (a[q] - b[q]) * (a[q] - b[q]);
    total += s;
  }
  return total;
}

/* The k Gibbs steps of rows [j0, j1): the rows' chains are independent,
** so one task runs all k steps of its rows. */
RBM_CLONES static double dense_chain(trainer *t, uint32_t j0, uint32_t j1) {
  rbm_model *m = t->m;
  struct dense *d = &t->d;
  size_t n = m->n_items, F = m->layer.n_hidden;
  int rows = (int)(j1 - j0);
  const float *W1 = dense_w1(m);
  float *v_data = d->v_data + j0 * n, *v_model = d->v_model + j0 * n;
  float *h_sample = d->h_sample + j0 * F, *h_model = d->h_model + j0 * F;
  double sq = 0;
  for (int step = 1; step <= t->cd_k; step++) {
    int last = step == t->cd_k;
    /* V1 = p(v | Hs): (rows x F) (F x n) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, (int)n, (int)F,
                1.f, h_sample, (int)F, W1, (int)(2 * F), 0.f, v_model, (int)n);
    dense_sigmoid_rows(v_model, (size_t)rows, n, m->layer.vbias + 1, 2);
    if (step == 1)  /* reconstruction error of the first step */
      sq = dense_sq_diff(v_model, v_data, (size_t)rows * n);
    if (!last)  /* in place: a sample of the probabilities */
      for (uint32_t j = j0; j < j1; j++)
        rbm_sample_bernoulli(&d->rng[j], d->v_model + j * n, d->v_model + j * n,
                             (int)n);
    /* H1 = p(h | V1): (rows x n) (n x F) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, (int)F, (int)n,
                1.f, v_model, (int)n, W1, (int)(2 * F), 0.f, h_model, (int)F);
    dense_sigmoid_rows(h_model, (size_t)rows, F, m->layer.hbias, 1);
    if (!last)
      for (uint32_t j = j0; j < j1; j++)
        rbm_sample_bernoulli(&d->rng[j], d->h_model + j * F, d->h_sample + j * F,
                             (int)F);
  }
  return sq;
}

/* Task c of the passes: rows [c * DENSE_ROWS, ...) of the minibatch. */
static void dense_passes(worker *w, uint32_t c) {
  trainer *t = w->t;
  uint32_t j0 = c * DENSE_ROWS;
  uint32_t j1 = j0 + DENSE_ROWS < t->d.nb ? j0 + DENSE_ROWS : t->d.nb;
  dense_data(t, j0, j1, w);
  t->job_sq[c] = dense_chain(t, j0, j1);
}

/* Task c of the update: items [c * DENSE_ITEMS, ...).  Each weight has a
** gradient every minibatch in a dense RBM: grad W = V0' H0 - V1' H1 (a
** GEMM, then the users' rows scattered in, in minibatch order), then the
** momentum step on every item's row and bias. */
RBM_CLONES static void dense_update(worker *w, uint32_t c) {
  trainer *t = w->t;
  const rbm_ratings *r = t->r;
  rbm_model *m = t->m;
  struct dense *d = &t->d;
  size_t n = m->n_items, F = m->layer.n_hidden, nb = d->nb;
  size_t i0 = (size_t)c * DENSE_ITEMS, i1 = i0 + DENSE_ITEMS < n ? i0 + DENSE_ITEMS : n;
  float decay = (float)t->cfg->weight_decay;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(i1 - i0), (int)F,
              (int)nb, -1.f, d->v_model + i0, (int)n, d->h_model, (int)F, 0.f,
              d->grad + i0 * F, (int)F);
  for (uint32_t j = 0; j < nb; j++) {
    uint32_t user = t->order[d->lo + j];
    for (uint64_t q = r->row[user]; q < r->row[user + 1]; q++) {
      size_t i = r->col_item[q];
      if (i >= i0 && i < i1) rbm_add(d->grad + i * F, d->h_data + j * F, (int)F);
    }
  }
  float *gb = d->v_data;  /* the visible biases' gradient, in row 0 */
#pragma omp simd
  for (size_t i = i0; i < i1; i++) gb[i] -= d->v_model[i];
  for (size_t j = 1; j < nb; j++) {
    const float *v0 = d->v_data + j * n, *v1 = d->v_model + j * n;
#pragma omp simd
    for (size_t i = i0; i < i1; i++) gb[i] += v0[i] - v1[i];
  }
  for (size_t i = i0; i < i1; i++) {
    size_t row = i * 2 + 1;
    rbm_weights_step(t, m->layer.W + row * F, t->vel_W + row * F, d->grad + i * F, F,
                     decay);
    rbm_momentum_step(t, m->layer.vbias + row, t->vel_vbias + row, &gb[i], 1, 0.f);
  }
}

/* One minibatch of users order[lo .. lo+nb): the passes by rows, then the
** update by items, on the trainer's workers; OpenBLAS runs each task's
** GEMM on one thread (rbm_trainer_open), so the split is the same for
** any thread count and so is the model. */
void rbm_cd_dense_batch(trainer *t, uint32_t lo, uint32_t nb) {
  struct dense *d = &t->d;
  t->grad_scale = 1.f / (float)nb;
  d->lo = lo;
  d->nb = nb;
  uint32_t tasks = (nb + DENSE_ROWS - 1) / DENSE_ROWS;
  rbm_trainer_run(t, tasks, dense_passes, 1, NULL);
  for (uint32_t c = 0; c < tasks; c++) t->epoch_sq += t->job_sq[c];
  size_t n = t->m->n_items;
  rbm_trainer_run(t, (uint32_t)((n + DENSE_ITEMS - 1) / DENSE_ITEMS), dense_update, 1,
                  NULL);
  rbm_hidden_bias_step(t, d->h_data, d->h_model, nb, d->h_sample);
}


/* A minibatch of up to batch users as dense matrices. */
int rbm_cd_dense_alloc(trainer *t, size_t batch) {
  struct dense *d = &t->d;
  size_t ni = t->m->n_items, F = t->m->layer.n_hidden, B = batch;
  d->v_data = rbm_alloc_big(B * ni * sizeof *d->v_data);
  d->v_model = rbm_alloc_big(B * ni * sizeof *d->v_model);
  d->h_data = malloc(B * F * sizeof *d->h_data);
  d->h_sample = malloc(B * F * sizeof *d->h_sample);
  d->h_model = malloc(B * F * sizeof *d->h_model);
  d->grad = rbm_alloc_big(ni * F * sizeof *d->grad);
  d->rng = malloc(B * sizeof *d->rng);
  return d->v_data && d->v_model && d->h_data && d->h_sample && d->h_model &&
         d->grad && d->rng;
}

void rbm_cd_dense_free(trainer *t) {
  free(t->d.v_data);
  free(t->d.v_model);
  free(t->d.h_data);
  free(t->d.h_sample);
  free(t->d.h_model);
  free(t->d.grad);
  free(t->d.rng);
}
