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
** touches only the weight rows (item, unit) of those ratings, so each worker
** keeps its gradient as compact rows allocated on first touch, and only
** touched rows are updated (and decayed): the cost of a minibatch is
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

/* Aligned to a cache line: two workers' counters never share one. */
typedef struct worker {
  _Alignas(64) trainer *t;
  /* Gradient over the worker's share of a minibatch, as compact rows:
  ** weight row r = (item, unit) has its sums in grad + slot[r] * hidden. */
  int32_t *slot;             /* per weight row: its slot, or -1 */
  uint32_t *slot_row;        /* per slot: its weight row */
  float *grad, *grad_vbias;  /* per slot: hidden floats, and one */
  uint32_t n_slots, cap_slots;
  float *grad_hbias;
  /* Scratch sized for the longest user row. */
  uint8_t *units_data, *units_model, *units_prev;
  float *act;                /* hidden input of the chain's visible sample */
  float *h_data, *h_sample, *h_model;
  float *probs;              /* the user's items' unit probabilities */
  /* What the worker does next: job(j) for j in [lo, hi). */
  uint32_t lo, hi;
  int epoch;
  void (*job)(struct worker *, uint32_t j);
  double sq_err, n_err, n_like_right;
  int out_of_memory;
} worker;

struct trainer {
  const rbm_config *cfg;
  const rbm_ratings *r;
  rbm_model *m;
  uint8_t unit_of_code[RBM_MAX_VALUES];
  float *vel_W, *vel_vbias, *vel_hbias;  /* momentum */
  uint32_t *order;                       /* users, shuffled each epoch */
  uint8_t *in_update;                    /* per weight row, for apply_update */
  uint32_t *update_list;                 /* rows any worker touched */
  float batch_scale;                     /* 1 / users in the minibatch */
  worker *w;
  int n_workers;
  struct pool *pool;                     /* threads for workers 1.. */
};

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The weight row of (item, unit): W + row * n_hidden. */
static inline uint32_t row_of(const rbm_model *m, uint32_t item,
                              uint32_t unit) {
  return item * m->n_units + unit;
}

/* ---- initialisation --------------------------------------------------- */

/* Two independent N(0, 1) draws (Box-Muller: both halves are used). */
static void gaussian_pair(rbm_rng *rng, float *a, float *b) {
  float u1 = rbm_rng_uniform(rng), u2 = rbm_rng_uniform(rng);
  float radius = sqrtf(-2.f * logf(1.f - u1)), angle = 6.2831853f * u2;
  *a = radius * cosf(angle);
  *b = radius * sinf(angle);
}

static void init_model(trainer *t) {
  rbm_model *m = t->m;
  const rbm_ratings *r = t->r;
  uint32_t K = m->n_units;
  rbm_rng rng;
  rbm_rng_seed(&rng, t->cfg->seed, UINT64_MAX, 0);
  size_t nw = (size_t)m->n_items * K * m->n_hidden;
  for (size_t j = 0; j < nw; j += 2) {
    float a, b;
    gaussian_pair(&rng, &a, &b);
    m->W[j] = 0.01f * a;
    if (j + 1 < nw) m->W[j + 1] = 0.01f * b;
  }
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

/* The worker's gradient slot for weight row r, zeroed on first touch; -1
** when out of memory.  A slot, not a pointer: the pool may move as it
** grows. */
static int64_t grad_slot(worker *w, uint32_t r) {
  size_t F = w->t->m->n_hidden;
  if (w->slot[r] < 0) {
    if (w->n_slots == w->cap_slots) {  /* rare: the pool grows, amortised */
      uint32_t cap = w->cap_slots * 2;
      float *g = realloc(w->grad, (size_t)cap * F * sizeof *g);
      float *gv = realloc(w->grad_vbias, cap * sizeof *gv);
      uint32_t *sr = realloc(w->slot_row, cap * sizeof *sr);
      if (g) w->grad = g;
      if (gv) w->grad_vbias = gv;
      if (sr) w->slot_row = sr;
      if (!g || !gv || !sr) return -1;
      w->cap_slots = cap;
    }
    uint32_t s = w->n_slots++;
    w->slot[r] = (int32_t)s;
    w->slot_row[s] = r;
    memset(w->grad + s * F, 0, F * sizeof *w->grad);
    w->grad_vbias[s] = 0.f;
  }
  return w->slot[r];
}

/* grad += v_data h_data' - v_model h_model' over the user's rated items. */
RBM_CLONES static int add_statistics(worker *w, size_t n,
                                     const uint32_t *items) {
  const rbm_model *m = w->t->m;
  int F = (int)m->n_hidden;
  for (size_t j = 0; j < n; j++) {
    uint32_t rd = row_of(m, items[j], w->units_data[j]);
    uint32_t rm = row_of(m, items[j], w->units_model[j]);
    int64_t sd = grad_slot(w, rd), sm = sd < 0 ? -1 : grad_slot(w, rm);
    if (sm < 0) return 0;
    float *gd = w->grad + (size_t)sd * F, *gm = w->grad + (size_t)sm * F;
    if (rd == rm) {  /* the chain kept the rating: one pass */
#pragma omp simd
      for (int f = 0; f < F; f++) gd[f] += w->h_data[f] - w->h_model[f];
    } else {
      rbm_axpy(gd, 1.f, w->h_data, F);
      rbm_axpy(gm, -1.f, w->h_model, F);
      w->grad_vbias[sd] += 1.f;
      w->grad_vbias[sm] -= 1.f;
    }
  }
#pragma omp simd
  for (int f = 0; f < F; f++) w->grad_hbias[f] += w->h_data[f] - w->h_model[f];
  return 1;
}

/* The hidden input for the visible sample of this Gibbs step.  Between
** steps most sampled units stay as they were, so after the first step the
** input is updated by the rows of the units that changed -- exact, up to
** rounding, which a full recount every 16 steps keeps from drifting. */
RBM_CLONES static void hidden_input_after(worker *w, int step, size_t n,
                                          const uint32_t *items) {
  const rbm_model *m = w->t->m;
  int F = (int)m->n_hidden;
  if (step == 1 || step % 16 == 0) {
    rbm_hidden_input(m, n, items, w->units_model, w->act);
    return;
  }
  for (size_t j = 0; j < n; j++) {
    if (w->units_model[j] == w->units_prev[j]) continue;
    const float *now = m->W + ((size_t)items[j] * m->n_units + w->units_model[j]) * F;
    const float *was = m->W + ((size_t)items[j] * m->n_units + w->units_prev[j]) * F;
#pragma omp simd
    for (int f = 0; f < F; f++) w->act[f] += now[f] - was[f];
  }
}

RBM_CLONES static void train_user(worker *w, uint32_t u) {
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

  /* Negative phase: k steps of Gibbs sampling over the same items. */
  sample_bernoulli(&rng, w->h_data, w->h_sample, F);
  double sq_err = 0;
  for (int step = 1; step <= t->cfg->cd_k; step++) {
    /* units_model holds the previous step's sample, for the update below */
    if (step > 1) memcpy(w->units_prev, w->units_model, n);
    rbm_items_probs(m, w->h_sample, n, items, w->probs);
    for (size_t j = 0; j < n; j++) {
      const float *p = w->probs + j * K;
      if (step == 1) {
        double got = m->visible == RBM_VISIBLE_BINARY
                         ? rbm_like_probability(m, p)
                         : rbm_expected_rating(m, p);
        double want = m->unit_value[w->units_data[j]];
        sq_err += (got - want) * (got - want);
      }
      w->units_model[j] = sample_unit(&rng, p, K);
    }
    hidden_input_after(w, step, n, items);
    rbm_sigmoid_all(w->act, w->h_model, F);
    if (step < t->cfg->cd_k) sample_bernoulli(&rng, w->h_model, w->h_sample, F);
  }
  if (!add_statistics(w, n, items)) w->out_of_memory = 1;
  w->sq_err += sq_err;
  w->n_err += (double)n;
}

/* ---- the parameter update ------------------------------------------------ */

/* The workers' summed gradient row for weight row r (in worker order, so
** the result does not depend on timing): a worker's own row when it alone
** touched r, else the sum in scratch.  *gb gets the bias gradient. */
static const float *sum_gradients(const trainer *t, uint32_t r, float *scratch,
                                  float *gb) {
  size_t F = t->m->n_hidden;
  const float *sum = NULL;
  *gb = 0.f;
  for (int k = 0; k < t->n_workers; k++) {
    const worker *w = &t->w[k];
    if (w->slot[r] < 0) continue;
    const float *g = w->grad + (size_t)w->slot[r] * F;
    if (!sum) {
      sum = g;
    } else {
      if (sum != scratch) memcpy(scratch, sum, F * sizeof *scratch);
      rbm_add(scratch, g, (int)F);
      sum = scratch;
    }
    *gb += w->grad_vbias[w->slot[r]];
  }
  return sum;
}

/* vel = momentum * vel + lr * (grad / batch - decay * param); param += vel */
RBM_CLONES static void momentum_step(const trainer *t, float *param,
                                     float *vel, const float *g, size_t n,
                                     float decay) {
  float mom = (float)t->cfg->momentum, lr = (float)t->cfg->learning_rate;
  float scale = t->batch_scale;
#pragma omp simd
  for (size_t j = 0; j < n; j++) {
    vel[j] = mom * vel[j] + lr * (g[j] * scale - decay * param[j]);
    param[j] += vel[j];
  }
}

/* The update of one touched weight row and its visible bias. */
RBM_CLONES static void update_row(worker *w, uint32_t j) {
  trainer *t = w->t;
  rbm_model *m = t->m;
  uint32_t r = t->update_list[j];
  size_t F = m->n_hidden;
  if (j + RBM_PREFETCH_AHEAD < w->hi) {
    uint32_t next = t->update_list[j + RBM_PREFETCH_AHEAD];
    rbm_prefetch(m->W + (size_t)next * F, F * sizeof(float), 1);
    rbm_prefetch(t->vel_W + (size_t)next * F, F * sizeof(float), 1);
  }
  float gb;  /* h_sample is free between minibatches: scratch */
  const float *g = sum_gradients(t, r, w->h_sample, &gb);
  momentum_step(t, m->W + (size_t)r * F, t->vel_W + (size_t)r * F, g, F,
                (float)t->cfg->weight_decay);
  momentum_step(t, m->vbias + r, t->vel_vbias + r, &gb, 1, 0.f);
}

static void run_workers(trainer *t, uint32_t lo, uint32_t hi,
                        void (*job)(worker *, uint32_t));

static int apply_update(trainer *t, uint32_t batch_users) {
  uint32_t n_update = 0;
  t->batch_scale = 1.f / (float)batch_users;
  for (int k = 0; k < t->n_workers; k++)
    if (t->w[k].out_of_memory) return 0;
  /* Union of the rows any worker touched, in worker order. */
  for (int k = 0; k < t->n_workers; k++) {
    const worker *w = &t->w[k];
    for (uint32_t s = 0; s < w->n_slots; s++) {
      uint32_t r = w->slot_row[s];
      if (!t->in_update[r]) {
        t->in_update[r] = 1;
        t->update_list[n_update++] = r;
      }
    }
  }
  /* Rows are disjoint between workers: each updates its share. */
  run_workers(t, 0, n_update, update_row);
  /* Cleared here, not by the workers: neighbouring flags belong to rows of
  ** either worker, and writing them from two cores shares cache lines. */
  for (uint32_t j = 0; j < n_update; j++) t->in_update[t->update_list[j]] = 0;
  float *g = t->w[0].h_sample;
  memcpy(g, t->w[0].grad_hbias, t->m->n_hidden * sizeof *g);
  for (int k = 1; k < t->n_workers; k++)
    rbm_add(g, t->w[k].grad_hbias, (int)t->m->n_hidden);
  momentum_step(t, t->m->hbias, t->vel_hbias, g, t->m->n_hidden, 0.f);
  /* Empty the gradients for the next minibatch. */
  for (int k = 0; k < t->n_workers; k++) {
    worker *w = &t->w[k];
    for (uint32_t s = 0; s < w->n_slots; s++) w->slot[w->slot_row[s]] = -1;
    w->n_slots = 0;
    memset(w->grad_hbias, 0, t->m->n_hidden * sizeof *w->grad_hbias);
  }
  return 1;
}

/* ---- threads ------------------------------------------------------------ */

static void train_job(worker *w, uint32_t j);
static void measure_job(worker *w, uint32_t j);

/* A pool of n_workers - 1 threads, started once per training: the caller's
** thread is worker 0.  Each round, run_workers publishes a job, bumps the
** round number and waits until every thread has finished its share. */
typedef struct pool {
  pthread_mutex_t mu;
  pthread_cond_t start, done;
  unsigned round;      /* bumped once per job */
  int pending;         /* threads still working on this round */
  int quit;
  pthread_t tid[256];
  int n_threads;
} pool;

static void run_share(worker *w) {
  for (uint32_t j = w->lo; j < w->hi; j++) w->job(w, j);
}

static void *pool_thread(void *arg) {
  worker *w = arg;
  pool *p = w->t->pool;
  unsigned seen = 0;
  for (;;) {
    pthread_mutex_lock(&p->mu);
    while (p->round == seen && !p->quit) pthread_cond_wait(&p->start, &p->mu);
    if (p->quit) {
      pthread_mutex_unlock(&p->mu);
      return NULL;
    }
    seen = p->round;
    pthread_mutex_unlock(&p->mu);
    run_share(w);
    pthread_mutex_lock(&p->mu);
    if (--p->pending == 0) pthread_cond_signal(&p->done);
    pthread_mutex_unlock(&p->mu);
  }
}

/* Starts the pool; with fewer threads than asked if the system refuses. */
static int pool_start(trainer *t) {
  pool *p = calloc(1, sizeof *p);
  if (!p) return 0;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->start, NULL);
  pthread_cond_init(&p->done, NULL);
  t->pool = p;
  for (int k = 1; k < t->n_workers; k++) {
    if (pthread_create(&p->tid[k], NULL, pool_thread, &t->w[k]) != 0) break;
    p->n_threads = k;
  }
  t->n_workers = p->n_threads + 1;
  return 1;
}

static void pool_stop(trainer *t) {
  pool *p = t->pool;
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->quit = 1;
  pthread_cond_broadcast(&p->start);
  pthread_mutex_unlock(&p->mu);
  for (int k = 1; k <= p->n_threads; k++) pthread_join(p->tid[k], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->start);
  pthread_cond_destroy(&p->done);
  free(p);
  t->pool = NULL;
}

/* Sets each worker's share of [lo, hi): equal counts, or, for users,
** equal numbers of ratings -- user activity is heavy-tailed, and a share of
** equally many users can hold most of a minibatch's work. */
static void split_shares(trainer *t, uint32_t lo, uint32_t hi, int by_ratings) {
  int nw = t->n_workers;
  uint64_t total = 0, acc = 0;
  const uint64_t *row = t->r->row;
  if (by_ratings)
    for (uint32_t j = lo; j < hi; j++)
      total += row[t->order[j] + 1] - row[t->order[j]];
  uint32_t j = lo;
  for (int k = 0; k < nw; k++) {
    worker *w = &t->w[k];
    w->lo = j;
    if (k == nw - 1) {
      j = hi;
    } else if (!by_ratings) {
      j = lo + (uint32_t)((uint64_t)(hi - lo) * (k + 1) / nw);
    } else {
      uint64_t goal = total * (uint64_t)(k + 1) / (uint64_t)nw;
      while (j < hi && acc + (row[t->order[j] + 1] - row[t->order[j]]) / 2 < goal) {
        acc += row[t->order[j] + 1] - row[t->order[j]];
        j++;
      }
    }
    w->hi = j;
  }
}

/* Runs job(worker, j) for j in [lo, hi), split in contiguous shares. */
static void run_workers(trainer *t, uint32_t lo, uint32_t hi,
                        void (*job)(worker *, uint32_t)) {
  int nw = t->n_workers;
  split_shares(t, lo, hi, job == train_job || job == measure_job);
  for (int k = 0; k < nw; k++) t->w[k].job = job;
  pool *p = t->pool;
  if (p && p->n_threads > 0) {
    pthread_mutex_lock(&p->mu);
    p->pending = p->n_threads;
    p->round++;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
  }
  run_share(&t->w[0]);
  if (p && p->n_threads > 0) {
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
  }
}

static void measure_user(worker *w, uint32_t u);
static void train_job(worker *w, uint32_t j) { train_user(w, w->t->order[j]); }
static void measure_job(worker *w, uint32_t j) {
  measure_user(w, w->t->order[j]);
}

/* ---- measuring the fit --------------------------------------------------- */

RBM_CLONES static void measure_user(worker *w, uint32_t u) {
  const trainer *t = w->t;
  const rbm_model *m = t->m;
  const rbm_ratings *r = t->r;
  size_t n = (size_t)(r->row[u + 1] - r->row[u]);
  const uint32_t *items = r->col_item + r->row[u];
  for (size_t j = 0; j < n; j++)
    w->units_data[j] = t->unit_of_code[r->col_code[r->row[u] + j]];
  rbm_fold_in(m, n, items, w->units_data, w->h_data);
  rbm_items_probs(m, w->h_data, n, items, w->probs);
  for (size_t j = 0; j < n; j++) {
    const float *p = w->probs + j * m->n_units;
    double value = r->values[r->col_code[r->row[u] + j]];
    double err = rbm_expected_rating(m, p) - value;
    w->sq_err += err * err;
    w->n_err += 1;
    int like = value >= m->like_threshold;
    w->n_like_right += (rbm_like_probability(m, p) >= 0.5) == like;
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

static void pool_stop(trainer *t);

static void free_trainer(trainer *t) {
  pool_stop(t);
  for (int k = 0; t->w && k < t->n_workers; k++) {
    worker *w = &t->w[k];
    free(w->slot);
    free(w->slot_row);
    free(w->grad);
    free(w->grad_vbias);
    free(w->grad_hbias);
    free(w->units_data);
    free(w->units_model);
    free(w->units_prev);
    free(w->act);
    free(w->h_data);
    free(w->h_sample);
    free(w->h_model);
    free(w->probs);
  }
  free(t->w);
  free(t->vel_W);
  free(t->vel_vbias);
  free(t->vel_hbias);
  free(t->order);
  free(t->in_update);
  free(t->update_list);
}

static int alloc_trainer(trainer *t) {
  rbm_model *m = t->m;
  size_t nv = (size_t)m->n_items * m->n_units, F = m->n_hidden;
  size_t longest = 1;
  for (uint32_t u = 0; u < t->r->users.n; u++)
    if (t->r->row[u + 1] - t->r->row[u] > longest)
      longest = (size_t)(t->r->row[u + 1] - t->r->row[u]);
  /* A first guess at the rows a worker touches in a minibatch; grows. */
  size_t slots = (size_t)t->cfg->batch_size * 2 * (t->r->n / t->r->users.n + 1);
  if (slots > nv) slots = nv;
  if (slots < 64) slots = 64;

  m->W = rbm_alloc_big(nv * F * sizeof *m->W);
  m->vbias = malloc(nv * sizeof *m->vbias);
  m->hbias = malloc(F * sizeof *m->hbias);
  m->count = calloc(nv, sizeof *m->count);
  t->vel_W = rbm_alloc_big(nv * F * sizeof *t->vel_W);
  t->vel_vbias = calloc(nv, sizeof *t->vel_vbias);
  t->vel_hbias = calloc(F, sizeof *t->vel_hbias);
  t->order = malloc((t->r->users.n + 1) * sizeof *t->order);
  t->in_update = calloc(nv, 1);
  t->update_list = malloc(nv * sizeof *t->update_list);
  t->w = aligned_alloc(64, (size_t)t->n_workers * sizeof *t->w);
  if (t->w) memset(t->w, 0, (size_t)t->n_workers * sizeof *t->w);
  if (!m->W || !m->vbias || !m->hbias || !m->count || !t->vel_W ||
      !t->vel_vbias || !t->vel_hbias || !t->order || !t->in_update ||
      !t->update_list || !t->w)
    return 0;
  for (int k = 0; k < t->n_workers; k++) {
    worker *w = &t->w[k];
    w->t = t;
    w->slot = malloc(nv * sizeof *w->slot);
    w->cap_slots = (uint32_t)slots;
    w->slot_row = malloc(slots * sizeof *w->slot_row);
    w->grad = malloc(slots * F * sizeof *w->grad);
    w->grad_vbias = malloc(slots * sizeof *w->grad_vbias);
    w->grad_hbias = calloc(F, sizeof *w->grad_hbias);
    w->units_data = malloc(longest);
    w->units_model = malloc(longest);
    w->units_prev = malloc(longest);
    w->act = malloc(F * sizeof *w->act);
    w->h_data = malloc(F * sizeof *w->h_data);
    w->h_sample = malloc(F * sizeof *w->h_sample);
    w->h_model = malloc(F * sizeof *w->h_model);
    w->probs = malloc(longest * m->n_units * sizeof *w->probs);
    if (!w->slot || !w->slot_row || !w->grad || !w->grad_vbias ||
        !w->grad_hbias || !w->units_data || !w->units_model || !w->units_prev ||
        !w->act || !w->h_data ||
        !w->h_sample || !w->h_model || !w->probs)
      return 0;
    memset(w->slot, 0xff, nv * sizeof *w->slot);  /* all -1 */
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

#define FIT_RATINGS 1000000

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
  if (!copy_item_keys(t.m, &r->items) || !alloc_trainer(&t) ||
      !pool_start(&t))
    goto fail;
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
      if (!apply_update(&t, hi - lo)) goto fail;
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

  /* Final fit: mean-field predictions of the training ratings, of all of
  ** them up to FIT_RATINGS, else of the users (in the last epoch's random
  ** order) whose ratings add up to that many: a measure, not another
  ** epoch's work on a large table. */
  uint32_t n_fit = 0;
  uint64_t fit_ratings = 0;
  while (n_fit < n_users && (fit_ratings < FIT_RATINGS || n_fit == 0)) {
    uint32_t u = t.order[n_fit++];
    fit_ratings += r->row[u + 1] - r->row[u];
  }
  reset_counters(&t);
  run_workers(&t, 0, n_fit, measure_job);
  report->fit_ratings = fit_ratings;
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
