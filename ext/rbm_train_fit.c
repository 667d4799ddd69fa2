/*
** rbm_train_fit.c -- how well a model in training fits: mean-field
** predictions of training or held-out ratings, the hold-out itself, and
** the parameters of the best epoch (early stopping).
*/
#include "rbm_trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- measuring the fit --------------------------------------------------- */

/* Mean-field predictions of the ratings in t->measured of user
** t->measured_users[j] (training or validation ratings), given
** the user's training ratings; errors against each rating's unit value
** (the rating, or 0/1 for a binary model). */
RBM_CLONES static void measure_user(worker *w, uint32_t j) {
  trainer *t = w->t;
  const rbm_model *m = t->m;
  const rbm_ratings *r = t->r, *of = t->measured;
  uint32_t u = t->measured_users[j];
  size_t n = (size_t)(r->row[u + 1] - r->row[u]);
  const uint32_t *items = r->col_item + r->row[u];
  for (size_t q = 0; q < n; q++)
    w->units[q] = t->unit_of_code[r->col_code[r->row[u] + q]];
  rbm_fold_in(m, n, items, w->units, w->hidden);
  size_t n_of = (size_t)(of->row[u + 1] - of->row[u]);
  const uint32_t *of_items = of->col_item + of->row[u];
  rbm_items_probs(m, w->hidden, n_of, of_items, w->probs);
  double sq_err = 0, abs_err = 0, right = 0;
  for (size_t q = 0; q < n_of; q++) {
    const float *p = w->probs + q * m->n_units;
    uint8_t code = of->col_code[of->row[u] + q];
    double err = rbm_expected_rating(m, p) - m->unit_value[t->unit_of_code[code]];
    sq_err += err * err;
    abs_err += fabs(err);
    int like = of->values[code] >= m->like_threshold;
    right += (rbm_like_probability(m, p) >= 0.5) == like;
  }
  t->job_sq[j] = sq_err;
  t->job_abs[j] = abs_err;
  t->job_right[j] = right;
}

/* The model's fit to the ratings in of of users[0 .. n) (t->order or
** t->valid_users), summed in order. */
rbm_fit rbm_trainer_measure(trainer *t, const rbm_ratings *of,
                            const uint32_t *users, uint32_t n,
                            uint64_t ratings) {
  t->measured = of;
  t->measured_users = users;
  rbm_trainer_run(t, n, measure_user, 0, NULL);
  double sq = 0, ab = 0, right = 0;
  for (uint32_t j = 0; j < n; j++) {
    sq += t->job_sq[j];
    ab += t->job_abs[j];
    right += t->job_right[j];
  }
  rbm_fit fit = {ratings, sqrt(sq / (double)ratings), ab / (double)ratings,
                 right / (double)ratings};
  return fit;
}

/* ---- early stopping ------------------------------------------------------ */

/* Moves a share cfg->validation of each user's ratings from train (a copy
** of r's rows) to t->valid, drawn from the user's own stream; a user keeps
** at least one rating for training.  Both borrow r's ids and values. */
int rbm_trainer_hold_out(trainer *t, const rbm_ratings *r, rbm_ratings *train) {
  rbm_ratings *valid = &t->valid;
  uint32_t nu = r->users.n;
  *train = *r;
  *valid = *r;
  train->row = malloc(((size_t)nu + 1) * sizeof *train->row);
  valid->row = malloc(((size_t)nu + 1) * sizeof *valid->row);
  train->col_item = malloc((r->n ? r->n : 1) * sizeof *train->col_item);
  train->col_code = malloc(r->n ? r->n : 1);
  valid->col_item = malloc((r->n ? r->n : 1) * sizeof *valid->col_item);
  valid->col_code = malloc(r->n ? r->n : 1);
  t->valid_users = malloc(((size_t)nu + 1) * sizeof *t->valid_users);
  size_t longest = rbm_ratings_longest_row(r);
  uint8_t *held = malloc(longest);
  uint32_t *pick = malloc(longest * sizeof *pick);
  if (!train->row || !valid->row || !train->col_item || !train->col_code ||
      !valid->col_item || !valid->col_code || !t->valid_users || !held || !pick) {
    free(held);
    free(pick);
    return 0;
  }
  uint64_t nt = 0, nv = 0;
  t->n_valid_users = 0;
  for (uint32_t u = 0; u < nu; u++) {
    size_t n = (size_t)(r->row[u + 1] - r->row[u]);
    rbm_rng rng;
    rbm_rng_seed(&rng, t->cfg->seed, UINT64_MAX - 1, u);
    double want = t->cfg->validation * (double)n;
    size_t k = (size_t)want + (rbm_rng_uniform(&rng) < want - floor(want));
    if (k > n - 1) k = n - 1;
    memset(held, 0, n);
    for (size_t q = 0; q < n; q++) pick[q] = (uint32_t)q;
    for (size_t q = 0; q < k; q++) {  /* partial Fisher-Yates */
      size_t x = q + (size_t)(rbm_rng_next(&rng) % (n - q));
      uint32_t tmp = pick[q];
      pick[q] = pick[x];
      pick[x] = tmp;
      held[pick[q]] = 1;
    }
    train->row[u] = nt;
    valid->row[u] = nv;
    for (size_t q = 0; q < n; q++) {
      uint64_t j = r->row[u] + q;
      rbm_ratings *to = held[q] ? valid : train;
      uint64_t at = held[q] ? nv++ : nt++;
      to->col_item[at] = r->col_item[j];
      to->col_code[at] = r->col_code[j];
    }
    if (k) t->valid_users[t->n_valid_users++] = u;
  }
  train->row[nu] = nt;
  valid->row[nu] = nv;
  train->n = nt;
  valid->n = nv;
  free(held);
  free(pick);
  return 1;
}

void rbm_trainer_free_rows(rbm_ratings *r) {
  free(r->row);
  free(r->col_item);
  free(r->col_code);
}

/* Keeps (or puts back) the parameters of the best epoch. */
int rbm_trainer_keep_best(trainer *t, int restore) {
  rbm_model *m = t->m;
  size_t nv = (size_t)m->n_items * m->n_units, nw = nv * m->layer.n_hidden;
  if (!t->best_W) {
    t->best_W = rbm_alloc_big(nw * sizeof *t->best_W);
    t->best_vbias = malloc(nv * sizeof *t->best_vbias);
    t->best_hbias = malloc(m->layer.n_hidden * sizeof *t->best_hbias);
    if (!t->best_W || !t->best_vbias || !t->best_hbias) return 0;
  }
  if (restore) {
    memcpy(m->layer.W, t->best_W, nw * sizeof *m->layer.W);
    memcpy(m->layer.vbias, t->best_vbias, nv * sizeof *m->layer.vbias);
    memcpy(m->layer.hbias, t->best_hbias, m->layer.n_hidden * sizeof *m->layer.hbias);
  } else {
    memcpy(t->best_W, m->layer.W, nw * sizeof *m->layer.W);
    memcpy(t->best_vbias, m->layer.vbias, nv * sizeof *m->layer.vbias);
    memcpy(t->best_hbias, m->layer.hbias, m->layer.n_hidden * sizeof *m->layer.hbias);
  }
  return 1;
}

