/*
** rbm_train.c -- minibatch contrastive divergence (CD-k) over users.
**
** Read top to bottom:
**   init_model        weights ~ N(0, 0.01), visible biases = log base rates
**   train_user        one user's CD-k chain, adding to a gradient buffer
**   apply_update      sum the workers' gradients, momentum step, weight decay
**   run_workers       split a range of users (or items) across threads
**   measure_fit       mean-field predictions of the training ratings
**   rbm_train         epochs of shuffled minibatches
**
** The visible layer of user u holds only the items u rated.  A minibatch
** touches only those items' weights, so gradients are kept per item and
** only touched items are updated (and decayed): the cost of a minibatch is
** proportional to its ratings, not to the catalogue.
**
** Each worker thread owns a gradient buffer; apply_update sums them in
** worker order, so one seed with one thread count gives one model.  Every
** random draw for user u in epoch e comes from a stream seeded by
** (seed, e, u), whatever thread runs it.
*/
#include "rbm.h"
#include "rbm_math.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct trainer trainer;

typedef struct worker {
  trainer *t;
  /* Gradient sums over the worker's share of a minibatch. */
  float *grad_W, *grad_vbias, *grad_hbias;
  uint8_t *touched;          /* per item: has gradient in grad_* */
  uint32_t *touched_list, n_touched;
  /* Scratch sized for the longest user row. */
  uint8_t *units_data, *units_model;
  float *h_data, *h_sample, *h_model, *probs;
  /* What the worker does next: users order[lo .. hi). */
  uint32_t lo, hi;
  int epoch;
  void (*job)(struct worker *, uint32_t user);
  double sq_err, n_err, n_like_right;
} worker;

struct trainer {
  const rbm_config *cfg;
  const rbm_ratings *r;
  rbm_model *m;
  uint8_t unit_of_code[RBM_MAX_VALUES];
  float *vel_W, *vel_vbias, *vel_hbias;  /* momentum */
  uint32_t *order;                       /* users, shuffled each epoch */
  uint8_t *in_update;                    /* per item, for apply_update */
  uint32_t *update_list;
  float batch_scale;                     /* 1 / users in the minibatch */
  float **grad_W, **grad_vbias, **grad_hbias;  /* each worker's buffers */
  worker *w;
  int n_workers;
};

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline size_t row_of(const rbm_model *m, uint32_t item, uint32_t unit) {
  return ((size_t)item * m->n_units + unit) * m->n_hidden;
}

/* ---- initialisation --------------------------------------------------- */

static float gaussian(rbm_rng *rng) {
  float u1 = rbm_rng_uniform(rng), u2 = rbm_rng_uniform(rng);
  return sqrtf(-2.f * logf(1.f - u1)) * cosf(6.2831853f * u2);
}

static void init_model(trainer *t) {
  rbm_model *m = t->m;
  const rbm_ratings *r = t->r;
  uint32_t K = m->n_units;
  rbm_rng rng;
  rbm_rng_seed(&rng, t->cfg->seed, UINT64_MAX, 0);
  size_t nw = (size_t)m->n_items * K * m->n_hidden;
  for (size_t j = 0; j < nw; j++) m->W[j] = 0.01f * gaussian(&rng);
  for (uint64_t j = 0; j < r->n; j++)
    m->count[(size_t)r->col_item[j] * K + t->unit_of_code[r->col_code[j]]]++;
  /* Softmax biases = log of each item's (smoothed) rating frequencies. */
  for (size_t i = 0; i < m->n_items; i++) {
    double n = 0;
    for (uint32_t k = 0; k < K; k++) n += m->count[i * K + k];
    for (uint32_t k = 0; k < K; k++)
      m->vbias[i * K + k] = (float)log((m->count[i * K + k] + 1.0) / (n + K));
  }
  memset(m->hbias, 0, m->n_hidden * sizeof *m->hbias);
}

/* ---- one user's CD-k ---------------------------------------------------- */

static void sample_bernoulli(rbm_rng *rng, const float *p, float *out, int n) {
  for (int f = 0; f < n; f++) out[f] = rbm_rng_uniform(rng) < p[f] ? 1.f : 0.f;
}

static uint8_t sample_unit(rbm_rng *rng, const float *p, uint32_t K) {
  float u = rbm_rng_uniform(rng), acc = 0.f;
  for (uint32_t k = 0; k + 1 < K; k++) {
    acc += p[k];
    if (u < acc) return (uint8_t)k;
  }
  return (uint8_t)(K - 1);
}

/* grad += sign * (statistics of visible units v with hidden probabilities h) */
static void add_statistics(worker *w, size_t n, const uint32_t *items,
                           const uint8_t *units, const float *h, float sign) {
  const rbm_model *m = w->t->m;
  int F = (int)m->n_hidden;
  for (size_t j = 0; j < n; j++) {
    uint32_t i = items[j];
    if (!w->touched[i]) {
      w->touched[i] = 1;
      w->touched_list[w->n_touched++] = i;
    }
    rbm_axpy(w->grad_W + row_of(m, i, units[j]), sign, h, F);
    w->grad_vbias[(size_t)i * m->n_units + units[j]] += sign;
  }
  rbm_axpy(w->grad_hbias, sign, h, F);
}

static void train_user(worker *w, uint32_t u) {
  const trainer *t = w->t;
  const rbm_model *m = t->m;
  const rbm_ratings *r = t->r;
  uint32_t K = m->n_units;
  int F = (int)m->n_hidden;
  size_t n = (size_t)(r->row[u + 1] - r->row[u]);
  const uint32_t *items = r->col_item + r->row[u];
  for (size_t j = 0; j < n; j++)
    w->units_data[j] = t->unit_of_code[r->col_code[r->row[u] + j]];

  rbm_rng rng;
  rbm_rng_seed(&rng, t->cfg->seed, (uint64_t)w->epoch, u);

  /* Positive phase: hidden probabilities given the user's ratings. */
  rbm_fold_in(m, n, items, w->units_data, w->h_data);
  add_statistics(w, n, items, w->units_data, w->h_data, 1.f);

  /* Negative phase: k steps of Gibbs sampling over the same items. */
  sample_bernoulli(&rng, w->h_data, w->h_sample, F);
  for (int step = 1; step <= t->cfg->cd_k; step++) {
    for (size_t j = 0; j < n; j++) {
      rbm_item_probs(m, w->h_sample, items[j], w->probs);
      if (step == 1) {
        double got = m->visible == RBM_VISIBLE_BINARY
                         ? rbm_like_probability(m, w->probs)
                         : rbm_expected_rating(m, w->probs);
        double want = m->unit_value[w->units_data[j]];
        w->sq_err += (got - want) * (got - want);
        w->n_err += 1;
      }
      w->units_model[j] = sample_unit(&rng, w->probs, K);
    }
    rbm_fold_in(m, n, items, w->units_model, w->h_model);
    if (step < t->cfg->cd_k) sample_bernoulli(&rng, w->h_model, w->h_sample, F);
  }
  add_statistics(w, n, items, w->units_model, w->h_model, -1.f);
}

/* ---- the parameter update ------------------------------------------------ */

/* One momentum step on len parameters from the workers' summed gradient
** grad[k] + at (summed into worker 0's buffer, in worker order, and zeroed). */
static void step_block(trainer *t, float *param, float *vel, float **grad,
                       size_t at, size_t len, float scale, float decay) {
  float mom = (float)t->cfg->momentum, lr = (float)t->cfg->learning_rate;
  float *g = grad[0] + at;
  for (int k = 1; k < t->n_workers; k++) {
    rbm_add(g, grad[k] + at, (int)len);
    memset(grad[k] + at, 0, len * sizeof *g);
  }
  float *p = param + at, *v = vel + at;
#pragma omp simd
  for (size_t j = 0; j < len; j++) {
    v[j] = mom * v[j] + lr * (g[j] * scale - decay * p[j]);
    p[j] += v[j];
    g[j] = 0.f;
  }
}

/* The update of one touched item's weights and visible biases. */
static void update_item(worker *w, uint32_t j) {
  trainer *t = w->t;
  rbm_model *m = t->m;
  uint32_t i = t->update_list[j], K = m->n_units;
  t->in_update[i] = 0;
  step_block(t, m->W, t->vel_W, t->grad_W, row_of(m, i, 0),
             (size_t)K * m->n_hidden, t->batch_scale,
             (float)t->cfg->weight_decay);
  step_block(t, m->vbias, t->vel_vbias, t->grad_vbias, (size_t)i * K, K,
             t->batch_scale, 0.f);
}

static void run_workers(trainer *t, uint32_t lo, uint32_t hi,
                        void (*job)(worker *, uint32_t));

static void apply_update(trainer *t, uint32_t batch_users) {
  uint32_t n_update = 0;
  t->batch_scale = 1.f / (float)batch_users;
  /* Union of the items any worker touched, in worker order. */
  for (int k = 0; k < t->n_workers; k++) {
    worker *w = &t->w[k];
    for (uint32_t j = 0; j < w->n_touched; j++) {
      uint32_t i = w->touched_list[j];
      w->touched[i] = 0;
      if (!t->in_update[i]) {
        t->in_update[i] = 1;
        t->update_list[n_update++] = i;
      }
    }
    w->n_touched = 0;
  }
  /* Items are disjoint between workers: each updates its share. */
  run_workers(t, 0, n_update, update_item);
  step_block(t, t->m->hbias, t->vel_hbias, t->grad_hbias, 0, t->m->n_hidden,
             t->batch_scale, 0.f);
}

/* ---- threads ------------------------------------------------------------ */

static void *worker_main(void *arg) {
  worker *w = arg;
  for (uint32_t j = w->lo; j < w->hi; j++) w->job(w, j);
  return NULL;
}

/* Runs job(worker, j) for j in [lo, hi), split in contiguous shares. */
static void run_workers(trainer *t, uint32_t lo, uint32_t hi,
                        void (*job)(worker *, uint32_t)) {
  uint32_t n = hi - lo;
  int nw = t->n_workers;
  pthread_t tid[256];
  int started[256] = {0};
  for (int k = 0; k < nw; k++) {
    worker *w = &t->w[k];
    w->lo = lo + (uint32_t)((uint64_t)n * k / nw);
    w->hi = lo + (uint32_t)((uint64_t)n * (k + 1) / nw);
    w->job = job;
  }
  for (int k = 1; k < nw; k++)
    started[k] = pthread_create(&tid[k], NULL, worker_main, &t->w[k]) == 0;
  worker_main(&t->w[0]);
  for (int k = 1; k < nw; k++) {
    if (started[k]) pthread_join(tid[k], NULL);
    else worker_main(&t->w[k]);  /* no thread to be had: do it here */
  }
}

static void measure_user(worker *w, uint32_t u);
static void train_job(worker *w, uint32_t j) { train_user(w, w->t->order[j]); }
static void measure_job(worker *w, uint32_t j) {
  measure_user(w, w->t->order[j]);
}

/* ---- measuring the fit --------------------------------------------------- */

static void measure_user(worker *w, uint32_t u) {
  const trainer *t = w->t;
  const rbm_model *m = t->m;
  const rbm_ratings *r = t->r;
  size_t n = (size_t)(r->row[u + 1] - r->row[u]);
  const uint32_t *items = r->col_item + r->row[u];
  for (size_t j = 0; j < n; j++)
    w->units_data[j] = t->unit_of_code[r->col_code[r->row[u] + j]];
  rbm_fold_in(m, n, items, w->units_data, w->h_data);
  for (size_t j = 0; j < n; j++) {
    rbm_item_probs(m, w->h_data, items[j], w->probs);
    double value = r->values[r->col_code[r->row[u] + j]];
    double err = rbm_expected_rating(m, w->probs) - value;
    w->sq_err += err * err;
    w->n_err += 1;
    int like = value >= m->like_threshold;
    w->n_like_right += (rbm_like_probability(m, w->probs) >= 0.5) == like;
  }
}

static void reset_counters(trainer *t) {
  for (int k = 0; k < t->n_workers; k++)
    t->w[k].sq_err = t->w[k].n_err = t->w[k].n_like_right = 0;
}

static void sum_counters(const trainer *t, double *sq, double *n,
                         double *right) {
  *sq = *n = *right = 0;
  for (int k = 0; k < t->n_workers; k++) {
    *sq += t->w[k].sq_err;
    *n += t->w[k].n_err;
    *right += t->w[k].n_like_right;
  }
}

/* ---- set-up and tear-down ------------------------------------------------ */

static void free_trainer(trainer *t) {
  for (int k = 0; t->w && k < t->n_workers; k++) {
    worker *w = &t->w[k];
    free(w->grad_W);
    free(w->grad_vbias);
    free(w->grad_hbias);
    free(w->touched);
    free(w->touched_list);
    free(w->units_data);
    free(w->units_model);
    free(w->h_data);
    free(w->h_sample);
    free(w->h_model);
    free(w->probs);
  }
  free(t->w);
  free(t->grad_W);
  free(t->grad_vbias);
  free(t->grad_hbias);
  free(t->vel_W);
  free(t->vel_vbias);
  free(t->vel_hbias);
  free(t->order);
  free(t->in_update);
  free(t->update_list);
}

static int alloc_trainer(trainer *t) {
  rbm_model *m = t->m;
  size_t ni = m->n_items, nv = ni * m->n_units, F = m->n_hidden;
  size_t longest = 1;
  for (uint32_t u = 0; u < t->r->users.n; u++)
    if (t->r->row[u + 1] - t->r->row[u] > longest)
      longest = (size_t)(t->r->row[u + 1] - t->r->row[u]);

  m->W = malloc(nv * F * sizeof *m->W);
  m->vbias = malloc(nv * sizeof *m->vbias);
  m->hbias = malloc(F * sizeof *m->hbias);
  m->count = calloc(nv, sizeof *m->count);
  t->vel_W = calloc(nv * F, sizeof *t->vel_W);
  t->vel_vbias = calloc(nv, sizeof *t->vel_vbias);
  t->vel_hbias = calloc(F, sizeof *t->vel_hbias);
  t->order = malloc((t->r->users.n + 1) * sizeof *t->order);
  t->in_update = calloc(ni, 1);
  t->update_list = malloc(ni * sizeof *t->update_list);
  t->w = calloc((size_t)t->n_workers, sizeof *t->w);
  t->grad_W = calloc((size_t)t->n_workers, sizeof *t->grad_W);
  t->grad_vbias = calloc((size_t)t->n_workers, sizeof *t->grad_vbias);
  t->grad_hbias = calloc((size_t)t->n_workers, sizeof *t->grad_hbias);
  if (!t->grad_W || !t->grad_vbias || !t->grad_hbias) return 0;
  if (!m->W || !m->vbias || !m->hbias || !m->count || !t->vel_W ||
      !t->vel_vbias || !t->vel_hbias || !t->order || !t->in_update ||
      !t->update_list || !t->w)
    return 0;
  for (int k = 0; k < t->n_workers; k++) {
    worker *w = &t->w[k];
    w->t = t;
    w->grad_W = calloc(nv * F, sizeof *w->grad_W);
    w->grad_vbias = calloc(nv, sizeof *w->grad_vbias);
    w->grad_hbias = calloc(F, sizeof *w->grad_hbias);
    w->touched = calloc(ni, 1);
    w->touched_list = malloc(ni * sizeof *w->touched_list);
    w->units_data = malloc(longest);
    w->units_model = malloc(longest);
    w->h_data = malloc(F * sizeof *w->h_data);
    w->h_sample = malloc(F * sizeof *w->h_sample);
    w->h_model = malloc(F * sizeof *w->h_model);
    w->probs = malloc(m->n_units * sizeof *w->probs);
    t->grad_W[k] = w->grad_W;
    t->grad_vbias[k] = w->grad_vbias;
    t->grad_hbias[k] = w->grad_hbias;
    if (!w->grad_W || !w->grad_vbias || !w->grad_hbias || !w->touched ||
        !w->touched_list || !w->units_data || !w->units_model || !w->h_data ||
        !w->h_sample || !w->h_model || !w->probs)
      return 0;
  }
  return 1;
}

/* The model's shape: units from the rating values seen, or like / not. */
static int shape_model(trainer *t, char *err, size_t errlen) {
  const rbm_ratings *r = t->r;
  rbm_model *m = t->m;
  m->visible = t->cfg->visible;
  m->n_items = r->items.n;
  m->n_hidden = (uint32_t)t->cfg->hidden;
  m->like_threshold = t->cfg->like_threshold;
  if (m->visible == RBM_VISIBLE_BINARY) {
    m->n_units = 2;
    m->unit_value[0] = 0;
    m->unit_value[1] = 1;
    for (uint32_t c = 0; c < r->n_values; c++)
      t->unit_of_code[c] = r->values[c] >= m->like_threshold;
    return 1;
  }
  if (r->n_values < 2) {
    snprintf(err, errlen,
             "a softmax model needs at least 2 distinct rating values, but "
             "every rating is %g (use visible='binary'?)",
             r->n_values ? r->values[0] : 0.0);
    return 0;
  }
  m->n_units = r->n_values;
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

/* ---- training ------------------------------------------------------------ */

static void shuffle_users(trainer *t, int epoch) {
  uint32_t n = t->r->users.n;
  rbm_rng rng;
  rbm_rng_seed(&rng, t->cfg->seed, (uint64_t)epoch, UINT64_MAX);
  for (uint32_t u = 0; u < n; u++) t->order[u] = u;
  for (uint32_t u = n; u > 1; u--) {
    uint32_t j = (uint32_t)(rbm_rng_next(&rng) % u);
    uint32_t tmp = t->order[u - 1];
    t->order[u - 1] = t->order[j];
    t->order[j] = tmp;
  }
}

int rbm_train(const rbm_config *cfg, const rbm_ratings *r,
              const rbm_train_hooks *hooks, rbm_model **out,
              rbm_train_report *report, char *err, size_t errlen) {
  trainer t = {0};
  int rc = RBM_NOMEM;
  double start = now_seconds();
  const char *why = rbm_config_check(cfg);
  *out = NULL;
  memset(report, 0, sizeof *report);
  if (why) {
    snprintf(err, errlen, "%s", why);
    return RBM_ERROR;
  }
  if (r->n == 0 || r->users.n == 0 || r->items.n == 0) {
    snprintf(err, errlen, "no ratings to train on");
    return RBM_ERROR;
  }
  t.cfg = cfg;
  t.r = r;
  t.n_workers = cfg->threads < (int)r->users.n ? cfg->threads : (int)r->users.n;
  t.m = calloc(1, sizeof *t.m);
  if (!t.m) goto fail;
  if (!shape_model(&t, err, errlen)) {
    rc = RBM_ERROR;
    goto fail;
  }
  if (!copy_item_keys(t.m, &r->items) || !alloc_trainer(&t)) goto fail;
  init_model(&t);

  uint32_t n_users = r->users.n;
  for (int epoch = 1; epoch <= cfg->epochs; epoch++) {
    for (int k = 0; k < t.n_workers; k++) t.w[k].epoch = epoch;
    shuffle_users(&t, epoch);
    reset_counters(&t);
    for (uint32_t lo = 0; lo < n_users; lo += (uint32_t)cfg->batch_size) {
      uint32_t hi = lo + (uint32_t)cfg->batch_size;
      if (hi > n_users) hi = n_users;
      run_workers(&t, lo, hi, train_job);
      apply_update(&t, hi - lo);
      if (hooks && hooks->should_stop && hooks->should_stop(hooks->ctx)) {
        snprintf(err, errlen, "interrupted");
        rc = RBM_STOPPED;
        goto fail;
      }
    }
    report->epochs_run = epoch;
    if (hooks && hooks->on_epoch) {
      double sq, n, right;
      sum_counters(&t, &sq, &n, &right);
      rbm_epoch_stats st = {epoch, now_seconds() - start, sqrt(sq / n)};
      hooks->on_epoch(hooks->ctx, &st);
    }
  }

  /* Final fit: mean-field predictions of the training ratings. */
  for (uint32_t u = 0; u < n_users; u++) t.order[u] = u;
  reset_counters(&t);
  run_workers(&t, 0, n_users, measure_job);
  double sq, n, right;
  sum_counters(&t, &sq, &n, &right);
  report->train_rmse = t.m->visible == RBM_VISIBLE_SOFTMAX ? sqrt(sq / n) : 0;
  report->train_like_accuracy = right / n;
  report->threads = t.n_workers;
  if (rbm_model_derive_prior(t.m) != RBM_OK) goto fail;
  report->seconds = now_seconds() - start;
  free_trainer(&t);
  *out = t.m;
  return RBM_OK;

fail:
  if (rc == RBM_NOMEM) snprintf(err, errlen, "out of memory");
  free_trainer(&t);
  rbm_model_free(t.m);
  return rc;
}
