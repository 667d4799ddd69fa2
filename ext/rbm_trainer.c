/*
** rbm_trainer.c -- a training's set-up and tear-down: the model's shape
** from the ratings, every buffer, the first weights, and the workers that
** share each round of work.
*/
#include "rbm_trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- workers ------------------------------------------------------------- */

/* A job is run by a worker: its index in the pool picks its scratch. */
static void run_job(void *ctx, size_t j, int worker) {
  trainer *t = ctx;
  t->job(&t->w[worker], (uint32_t)j);
}

static void run_side(void *ctx) {
  trainer *t = ctx;
  t->side(t);
}

void rbm_trainer_run(trainer *t, uint32_t n, void (*job)(worker *, uint32_t),
                     uint32_t chunk, void (*side)(trainer *)) {
  t->job = job;
  t->side = side;
  rbm_pool_run(t->pool, n, chunk, run_job, t, side ? run_side : NULL, t);
}

/* ---- the model ----------------------------------------------------------- */

void rbm_trainer_close(trainer *t) {
  rbm_pool_stop(t->pool);
  if (t->blas_before > 0) rbm_blas_set_threads(t->blas_before);
  for (int k = 0; t->w && k < t->n_workers; k++) {
    worker *w = &t->w[k];
    free(w->grad);
    free(w->units);
    free(w->hidden);
    free(w->probs);
  }
  free(t->w);
  rbm_cd_sparse_free(t);
  rbm_cd_dense_free(t);
  free(t->vel_W);
  free(t->pcd_units);
  free(t->diff_W);
  free(t->vel_vbias);
  free(t->vel_hbias);
  free(t->order);
  free(t->job_sq);
  free(t->job_right);
  free(t->job_abs);
  free(t->valid_users);
  free(t->best_W);
  free(t->best_vbias);
  free(t->best_hbias);
}

/* What alloc_trainer, the CD family's buffers, the hold-out's copies and
** the best epoch's weights come to (an estimate a little over, never
** under: the terms follow the allocations below, in floats). */
double rbm_train_memory(const rbm_config *cfg, const rbm_ratings *r) {
  double ni = r->items.n, nu = r->users.n, F = cfg->hidden, n = (double)r->n;
  double K = cfg->visible == RBM_VISIBLE_SOFTMAX && r->n_values > 2 ? r->n_values : 2;
  double nv = ni * K, B = cfg->batch_size < nu ? cfg->batch_size : nu;
  double weights = nv * F * 4;
  double bytes = 2 * weights + nv * 12 + F * 8 + nu * 28;  /* W, velocity, ... */
  if (cfg->visible == RBM_VISIBLE_BINARY) bytes += ni * F * 4;  /* difference rows */
  if (cfg->visible == RBM_VISIBLE_IMPLICIT) {
    bytes += 2 * B * ni * 4 + 3 * B * F * 4 + ni * F * 4;
  } else {
    double rated = B * (nu > 0 ? n / nu : 0) * 2 + 1024;  /* a minibatch's pairs */
    bytes += 2 * (3 * ni * 4 + 4 * B * F * 4 + rated * 10);  /* and the next one */
  }
  double longest = r->row ? (double)rbm_ratings_longest_row(r) : n;
  bytes += rbm_config_threads(cfg) * (K * F * 4 + longest * (1 + K * 4) + F * 4);
  if (cfg->pcd) bytes += n;
  if (cfg->validation > 0) bytes += weights + nv * 4 + F * 4 + 2 * (n * 5 + nu * 8);
  return bytes;
}

double rbm_ratings_memory(const rbm_ratings *r) {
  double keys = 48.0 * ((double)r->users.n + r->items.n);
  return (double)r->cap * 9 + (double)r->n * 5 + ((double)r->users.n + 1) * 8 + keys;
}

static int alloc_trainer(trainer *t) {
  rbm_model *m = t->m;
  size_t ni = m->n_items, nv = ni * m->n_units, F = m->layer.n_hidden;
  size_t B = (size_t)t->cfg->batch_size, nu = t->r->users.n;
  if (B > nu) B = nu;
  /* measure_user's scratch holds a user's training or validation rows. */
  size_t longest = rbm_ratings_longest_row(t->r);
  if (t->valid.n && rbm_ratings_longest_row(&t->valid) > longest)
    longest = rbm_ratings_longest_row(&t->valid);

  m->layer.W = rbm_alloc_big(nv * F * sizeof *m->layer.W);
  m->layer.vbias = malloc(nv * sizeof *m->layer.vbias);
  m->layer.hbias = malloc(F * sizeof *m->layer.hbias);
  m->count = calloc(nv, sizeof *m->count);
  t->vel_W = rbm_alloc_big(nv * F * sizeof *t->vel_W);
  if (m->visible == RBM_VISIBLE_BINARY) {
    t->diff_W = rbm_alloc_big(ni * F * sizeof *t->diff_W);
    if (!t->diff_W) return 0;
  }
  if (m->visible == RBM_VISIBLE_IMPLICIT ? !rbm_cd_dense_alloc(t, B)
                                         : !rbm_cd_sparse_alloc(t, B))
    return 0;
  t->vel_vbias = calloc(nv, sizeof *t->vel_vbias);
  t->vel_hbias = calloc(F, sizeof *t->vel_hbias);
  t->order = malloc((nu + 1) * sizeof *t->order);
  t->job_sq = malloc((nu + 1) * sizeof *t->job_sq);
  t->job_right = malloc((nu + 1) * sizeof *t->job_right);
  t->job_abs = malloc((nu + 1) * sizeof *t->job_abs);
  t->w = aligned_alloc(64, (size_t)t->n_workers * sizeof *t->w);
  if (t->w) memset(t->w, 0, (size_t)t->n_workers * sizeof *t->w);
  if (!m->layer.W || !m->layer.vbias || !m->layer.hbias || !m->count || !t->vel_W ||
      !t->vel_vbias || !t->vel_hbias || !t->order || !t->job_sq ||
      !t->job_right || !t->job_abs || !t->w)
    return 0;
  for (int k = 0; k < t->n_workers; k++) {
    worker *w = &t->w[k];
    w->t = t;
    w->grad = malloc(m->n_units * F * sizeof *w->grad);
    w->units = malloc(longest);
    w->hidden = malloc(F * sizeof *w->hidden);
    w->probs = malloc(longest * m->n_units * sizeof *w->probs);
    if (!w->grad || !w->units || !w->hidden || !w->probs) return 0;
  }
  return 1;
}

/* The model's shape: units from the rating values seen, or like / not. */
static int shape_model(trainer *t, char *err, size_t errlen) {
  const rbm_ratings *r = t->r;
  rbm_model *m = t->m;
  m->visible = t->cfg->visible;
  m->orientation = t->cfg->orientation;
  m->like_threshold = t->cfg->like_threshold;
  if (m->visible != RBM_VISIBLE_SOFTMAX) {
    int implicit = m->visible == RBM_VISIBLE_IMPLICIT;
    rbm_model_shape(m, r->items.n, 2, (uint32_t)t->cfg->hidden);
    m->unit_value[0] = 0;
    m->unit_value[1] = 1;
    if (implicit) m->like_threshold = 1;  /* P(like) is P(interaction) */
    for (uint32_t c = 0; c < r->n_values; c++)
      t->unit_of_code[c] = implicit || r->values[c] >= m->like_threshold;
    return 1;
  }
  if (r->n_values < 2) {
    snprintf(err, errlen,
             "a softmax model needs at least 2 distinct rating values, but "
             "every rating is %g (use visible='binary'?)",
             r->n_values ? r->values[0] : 0.0);
    return 0;
  }
  rbm_model_shape(m, r->items.n, r->n_values, (uint32_t)t->cfg->hidden);
  for (uint32_t c = 0; c < r->n_values; c++) {
    m->unit_value[c] = r->values[c];
    t->unit_of_code[c] = (uint8_t)c;
  }
  return 1;
}

/* Copies the item ids into the model, in index order. */
static int copy_item_keys(rbm_model *m, const rbm_keys *items) {
  for (uint32_t i = 0; i < items->n; i++) {
    rbm_key k = rbm_keys_get(items, i);
    if (rbm_keys_intern(&m->items, &k) != (int64_t)i) return 0;
  }
  return 1;
}

/* Weights in chunks of INIT_CHUNK, each from its own stream keyed by
** (seed, chunk): the threads share the work, and the draws do not depend
** on how many there are. */
#define INIT_CHUNK 65536
static void init_weights(worker *w, uint32_t c) {
  rbm_model *m = w->t->m;
  size_t nw = (size_t)m->n_items * m->n_units * m->layer.n_hidden;
  size_t lo = (size_t)c * INIT_CHUNK;
  size_t hi = lo + INIT_CHUNK < nw ? lo + INIT_CHUNK : nw;
  rbm_rng rng;
  rbm_rng_seed(&rng, w->t->cfg->seed, UINT64_MAX, c);
  for (size_t j = lo; j < hi; j += 2) {
    float a, b;
    rbm_gaussian_pair(&rng, &a, &b);
    m->layer.W[j] = 0.01f * a;
    if (j + 1 < hi) m->layer.W[j + 1] = 0.01f * b;
  }
}

/* Weights ~ N(0, 0.01); visible biases the log of each item's rating
** frequencies; hidden biases 0. */
static int init_model(trainer *t) {
  rbm_model *m = t->m;
  const rbm_ratings *r = t->r;
  uint32_t K = m->n_units;
  size_t nw = (size_t)m->n_items * K * m->layer.n_hidden;
  uint32_t chunks = (uint32_t)((nw + INIT_CHUNK - 1) / INIT_CHUNK);
  rbm_trainer_run(t, chunks, init_weights, 0, NULL);
  for (uint64_t j = 0; j < r->n; j++)
    m->count[(size_t)r->col_item[j] * K + t->unit_of_code[r->col_code[j]]]++;
  /* Softmax biases = log of each item's (smoothed) rating frequencies. */
  for (size_t i = 0; i < m->n_items; i++) {
    double n = 0;
    for (uint32_t k = 0; k < K; k++) n += m->count[i * K + k];
    for (uint32_t k = 0; k < K; k++)
      m->layer.vbias[i * K + k] = (float)log((m->count[i * K + k] + 1.0) / (n + K));
  }
  memset(m->layer.hbias, 0, m->layer.n_hidden * sizeof *m->layer.hbias);
  if (m->visible == RBM_VISIBLE_IMPLICIT) {
    /* Unit 0 ("no interaction") is the reference: its rows and biases
    ** stay 0, and unit 1's bias starts at the log-odds of the item's share
    ** of users.  The counts of unit 0 are the users without a row, which
    ** the priors (unplaced users) then turn into popularity. */
    size_t F = m->layer.n_hidden;
    double nu = (double)r->users.n;
    for (size_t i = 0; i < m->n_items; i++) {
      double p = (m->count[i * 2 + 1] + 1.0) / (nu + 2.0);
      memset(m->layer.W + i * 2 * F, 0, F * sizeof *m->layer.W);
      m->layer.vbias[i * 2] = 0;
      m->layer.vbias[i * 2 + 1] = (float)log(p / (1 - p));
      m->count[i * 2] = (uint32_t)(nu - m->count[i * 2 + 1]);
    }
  }
  if (t->diff_W) rbm_weights_set_diff_rows(t, 0, m->n_items);
  return 1;
}

int rbm_trainer_open(trainer *t, char *err, size_t errlen) {
  const rbm_config *cfg = t->cfg;
  t->m = calloc(1, sizeof *t->m);
  if (!t->m) return RBM_NOMEM;
  if (!shape_model(t, err, errlen)) return RBM_ERROR;
  /* The pool first: the workers' scratch is per thread it could start. */
  if (!(t->pool = rbm_pool_start(rbm_config_threads(cfg)))) return RBM_NOMEM;
  t->n_workers = rbm_pool_size(t->pool);
  if (!copy_item_keys(t->m, &t->r->items) || !alloc_trainer(t) ||
      !init_model(t))
    return RBM_NOMEM;
  if (cfg->visible == RBM_VISIBLE_IMPLICIT && rbm_blas_threads() != 1) {
    /* The workers split the GEMMs (rbm_cd_dense.c); OpenBLAS's own split
    ** would change the sums with the thread count. */
    t->blas_before = rbm_blas_threads();  /* the host's, put back on close */
    rbm_blas_set_threads(1);
  }
  if (cfg->pcd) {  /* the chains start at the data */
    t->pcd_units = malloc(t->r->n ? t->r->n : 1);
    if (!t->pcd_units) return RBM_NOMEM;
    for (uint64_t q = 0; q < t->r->n; q++)
      t->pcd_units[q] = t->unit_of_code[t->r->col_code[q]];
  }
  return RBM_OK;
}
