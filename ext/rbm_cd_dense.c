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
** Each user's draws come from a stream keyed by (seed, epoch, user).
*/
#include "rbm_trainer.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

static inline float *dense_w1(const rbm_model *m) { return m->layer.W + m->layer.n_hidden; }

static void dense_data(trainer *t, uint32_t lo, uint32_t nb, worker *w) {
  const rbm_ratings *r = t->r;
  rbm_model *m = t->m;
  struct dense *d = &t->d;
  size_t n = m->n_items, F = m->layer.n_hidden;
  memset(d->v_data, 0, (size_t)nb * n * sizeof *d->v_data);
  for (uint32_t j = 0; j < nb; j++) {
    uint32_t user = t->order[lo + j];
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

/* sum of (a - b)^2 over n floats, by rows of at most 4096 (float sums of
** a few thousand terms, then double). */
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

RBM_CLONES static void dense_chain(trainer *t, uint32_t nb) {
  rbm_model *m = t->m;
  struct dense *d = &t->d;
  size_t n = m->n_items, F = m->layer.n_hidden;
  const float *W1 = dense_w1(m);
  for (int step = 1; step <= t->cd_k; step++) {
    int last = step == t->cd_k;
    /* V1 = p(v | Hs): (B x F) (F x n) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)n,
                (int)F, 1.f, d->h_sample, (int)F, W1, (int)(2 * F), 0.f,
                d->v_model, (int)n);
    dense_sigmoid_rows(d->v_model, nb, n, m->layer.vbias + 1, 2);
    if (step == 1)  /* reconstruction error of the first step */
      t->epoch_sq += dense_sq_diff(d->v_model, d->v_data, (size_t)nb * n);
    if (!last)  /* in place: a sample of the probabilities */
      for (uint32_t j = 0; j < nb; j++)
        rbm_sample_bernoulli(&d->rng[j], d->v_model + j * n, d->v_model + j * n,
                         (int)n);
    /* H1 = p(h | V1): (B x n) (n x F) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)F,
                (int)n, 1.f, d->v_model, (int)n, W1, (int)(2 * F), 0.f,
                d->h_model, (int)F);
    dense_sigmoid_rows(d->h_model, nb, F, m->layer.hbias, 1);
    if (!last)
      for (uint32_t j = 0; j < nb; j++)
        rbm_sample_bernoulli(&d->rng[j], d->h_model + j * F, d->h_sample + j * F,
                         (int)F);
  }
}

RBM_CLONES static void dense_update(trainer *t, uint32_t lo, uint32_t nb) {
  const rbm_ratings *r = t->r;
  rbm_model *m = t->m;
  struct dense *d = &t->d;
  size_t n = m->n_items, F = m->layer.n_hidden;
  float decay = (float)t->cfg->weight_decay;
  /* grad = -V1' H1, then + H0 on the rows of each user's items */
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)F, (int)nb,
              -1.f, d->v_model, (int)n, d->h_model, (int)F, 0.f, d->grad,
              (int)F);
  for (uint32_t j = 0; j < nb; j++) {
    uint32_t user = t->order[lo + j];
    for (uint64_t q = r->row[user]; q < r->row[user + 1]; q++)
      rbm_add(d->grad + (size_t)r->col_item[q] * F, d->h_data + j * F, (int)F);
  }
  float *gb = d->v_data;  /* the visible biases' gradient, in row 0 */
#pragma omp simd
  for (size_t c = 0; c < n; c++) gb[c] -= d->v_model[c];
  for (uint32_t j = 1; j < nb; j++) {
    const float *v0 = d->v_data + j * n, *v1 = d->v_model + j * n;
#pragma omp simd
    for (size_t c = 0; c < n; c++) gb[c] += v0[c] - v1[c];
  }
  for (size_t i = 0; i < n; i++) {
    size_t row = i * 2 + 1;
    rbm_weights_step(t, m->layer.W + row * F, t->vel_W + row * F, d->grad + i * F, F,
                  decay);
    rbm_momentum_step(t, m->layer.vbias + row, t->vel_vbias + row, &gb[i], 1, 0.f);
  }
  rbm_hidden_bias_step(t, d->h_data, d->h_model, nb, d->h_sample);
}

/* One minibatch of users order[lo .. lo+nb). */
void rbm_cd_dense_batch(trainer *t, uint32_t lo, uint32_t nb) {
  t->grad_scale = 1.f / (float)nb;
  dense_data(t, lo, nb, &t->w[0]);
  dense_chain(t, nb);
  dense_update(t, lo, nb);
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
