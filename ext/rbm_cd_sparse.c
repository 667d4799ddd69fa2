/*
** rbm_cd_sparse.c -- CD-k over users' rated items: the softmax and binary
** models (Salakhutdinov, Mnih & Hinton 2007).
**
**   gather_batch   a minibatch's ratings, grouped by user and by item
**   chain          one user's CD-k chain: up, then k x (down, up)
**   update_items   per item: gradient v0 h0' - vk hk', momentum step
**   rbm_cd_sparse_batch  the chains (threads share the users), then the
**                  update (threads share the items)
**
** One RBM per user over the items that user rated.  An item's gradient is
** summed from the hidden vectors of the users who rated it, in minibatch
** order, and its rows are stepped at once, so no thread ever writes what
** another reads.  Only the rows of the items a minibatch rated are read,
** updated and decayed: a minibatch costs in proportion to its ratings, not
** to the catalogue.  How the rows are read and written is the weight
** layout's (rbm_weights.c).
**
** Every random draw of a user's chain comes from a stream keyed by (seed,
** epoch, user), so the model does not depend on the number of threads or
** on which thread ran what.
*/
#include "rbm_trainer.h"

#include <stdlib.h>
#include <string.h>

/* ---- a minibatch -------------------------------------------------------- */

static _Thread_local const minibatch *b_sorting;  /* for longer_first */

static int longer_first(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, c = *(const uint32_t *)y;
  const uint64_t *start = b_sorting->user_start;
  uint64_t la = start[a + 1] - start[a], lc = start[c + 1] - start[c];
  return la != lc ? (la < lc) - (la > lc) : (a > c) - (a < c);
}

/* Groups the ratings of users order[lo .. lo+n) by user and by item. */
static int gather_batch(trainer *t, minibatch *b, uint32_t lo, uint32_t n) {
  const rbm_ratings *r = t->r;
  uint64_t pairs = 0;
  for (uint32_t u = 0; u < n; u++) {
    uint32_t user = t->order[lo + u];
    b->user_start[u] = pairs;
    pairs += r->row[user + 1] - r->row[user];
  }
  b->user_start[n] = pairs;
  if (pairs > b->cap_pairs) {  /* grows to the largest minibatch, then stays */
    uint64_t cap = pairs + pairs / 2;
    void *p[4] = {realloc(b->pair_user, cap * sizeof *b->pair_user),
                  realloc(b->pair_pos, cap * sizeof *b->pair_pos),
                  realloc(b->unit_data, cap), realloc(b->unit_model, cap)};
    if (p[0]) b->pair_user = p[0];
    if (p[1]) b->pair_pos = p[1];
    if (p[2]) b->unit_data = p[2];
    if (p[3]) b->unit_model = p[3];
    for (int k = 0; k < 4; k++)
      if (!p[k]) return 0;
    b->cap_pairs = cap;
  }
  b->lo = lo;
  b->n_users = n;
  /* Count each item's pairs (item_start[k+1] for now), numbering items in
  ** order of first rating. */
  b->n_items = 0;
  for (uint32_t u = 0; u < n; u++) {
    uint32_t user = t->order[lo + u];
    for (uint64_t j = r->row[user]; j < r->row[user + 1]; j++) {
      uint32_t i = r->col_item[j];
      if (b->local[i] < 0) {
        b->local[i] = (int32_t)b->n_items;
        b->item[b->n_items] = i;
        b->item_start[++b->n_items] = 0;
      }
      b->item_start[b->local[i] + 1]++;
    }
  }
  b->item_start[0] = 0;
  for (uint32_t k = 0; k < b->n_items; k++)
    b->item_start[k + 1] += b->item_start[k];
  /* Place the pairs: item_start[k] moves to the end of item k's pairs and
  ** is moved back afterwards. */
  for (uint32_t u = 0; u < n; u++) {
    uint32_t user = t->order[lo + u];
    uint64_t at = b->user_start[u];
    for (uint64_t j = r->row[user]; j < r->row[user + 1]; j++) {
      uint32_t k = (uint32_t)b->local[r->col_item[j]];
      uint64_t p = b->item_start[k]++;
      b->pair_user[p] = u;
      b->pair_pos[p] = at;
      b->unit_data[at++] = t->unit_of_code[r->col_code[j]];
    }
  }
  for (uint32_t k = b->n_items; k > 0; k--) b->item_start[k] = b->item_start[k - 1];
  b->item_start[0] = 0;
  /* Chains are handed out longest first, so that no thread starts a long
  ** one when the others are about to run out of work. */
  for (uint32_t u = 0; u < n; u++) b->by_length[u] = u;
  b_sorting = b;
  qsort(b->by_length, n, sizeof *b->by_length, longer_first);
  return 1;
}

static void release_batch(minibatch *b) {
  for (uint32_t k = 0; k < b->n_items; k++) b->local[b->item[k]] = -1;
}

/* ---- the CD-k passes --------------------------------------------------- */

/* One user's CD-k chain, for minibatch user j (users are independent
** while the weights stand still):
**   positive phase  h_data = p(h | v_data), and a hidden sample from it;
**   k Gibbs steps   each rated item's softmax given the hidden sample, a
**                   sampled unit, then h_model = p(h | that sample).
** After the first step most sampled units stay as they were, so the hidden
** input is updated by the rows of the units that changed -- exact up to
** rounding, which a full recount every 16 steps keeps from drifting. */
static inline __attribute__((always_inline)) void
chain_with(worker *w, uint32_t job, row_change change) {
  trainer *t = w->t;
  const rbm_model *m = t->m;
  const rbm_ratings *r = t->r;
  minibatch *b = t->b;
  uint32_t j = b->by_length[job];
  int F = (int)m->layer.n_hidden, K = (int)m->n_units;
  uint32_t user = t->order[b->lo + j];
  const uint8_t *unit_data = b->unit_data + b->user_start[j];
  size_t n = (size_t)(b->user_start[j + 1] - b->user_start[j]);
  const uint32_t *items = r->col_item + r->row[user];
  float *act = b->act + (size_t)j * F, *hs = b->h_sample + (size_t)j * F;
  float *hd = b->h_data + (size_t)j * F, *hm = b->h_model + (size_t)j * F;
  /* The down pass runs over blocks of items whose rows fit in L1 cache
  ** together, so the rows of a changed unit are still there for the
  ** hidden input's update. */
  const weight_layout *rows = t->rows;
  size_t block = 16384 / rows->down_bytes(m);
  if (block < 4) block = 4;
  double sq_err = 0;
  rbm_rng rng;
  rbm_rng_seed(&rng, t->cfg->seed, (uint64_t)t->epoch, user);

  memcpy(w->units, unit_data, n);
  rows->hidden_input(t, n, items, w->units, act);
  rbm_sigmoid_all(act, hd, F);
  uint8_t *persistent = t->pcd_units ? t->pcd_units + r->row[user] : NULL;
  if (persistent) {  /* PCD: the negative phase goes on from the user's last sample */
    memcpy(w->units, persistent, n);
    rows->hidden_input(t, n, items, w->units, act);
    rbm_sigmoid_all(act, hm, F);
    rbm_sample_bernoulli(&rng, hm, hs, F);
  } else {
    rbm_sample_bernoulli(&rng, hd, hs, F);
  }

  for (int step = 1; step <= t->cd_k; step++) {
    if (rows->reorder_hidden) rows->reorder_hidden(hs, w->hidden, F);
    for (size_t q0 = 0; q0 < n; q0 += block) {
      size_t nb = n - q0 < block ? n - q0 : block;
      rows->items_probs(t, hs, w->hidden, nb, items + q0, w->probs);
      for (size_t q = q0; q < q0 + nb; q++) {
        const float *p = w->probs + (q - q0) * K;
        if (step == 1) {  /* reconstruction error of the first step */
          double got = m->visible == RBM_VISIBLE_BINARY
                           ? rbm_like_probability(m, p)
                           : rbm_expected_rating(m, p);
          double want = m->unit_value[unit_data[q]];
          sq_err += (got - want) * (got - want);
        }
        int unit = rbm_sample_softmax(&rng, p, K);
        uint8_t was = w->units[q];
        w->units[q] = (uint8_t)unit;
        if (step % 16 == 0 || unit == was) continue;
        rbm_unit_changed(t, change, act, items[q], (uint32_t)unit, was);
      }
    }
    if (step % 16 == 0) rows->hidden_input(t, n, items, w->units, act);
    rbm_sigmoid_all(act, hm, F);
    if (step < t->cd_k) rbm_sample_bernoulli(&rng, hm, hs, F);
  }
  memcpy(b->unit_model + b->user_start[j], w->units, n);
  if (persistent) memcpy(persistent, w->units, n);
  t->job_sq[j] = sq_err;
}

/* The chain, compiled once for each way of updating the hidden input, so
** that the update is inlined where the units are drawn. */
RBM_CLONES static void chain(worker *w, uint32_t job) {
  switch (w->t->rows->change) {
    case ROW_CHANGE_DIFF: chain_with(w, job, ROW_CHANGE_DIFF); break;
    case ROW_CHANGE_SPLIT: chain_with(w, job, ROW_CHANGE_SPLIT); break;
    default: chain_with(w, job, ROW_CHANGE_FLOAT); break;
  }
}

/* g = x - y on a unit's first pair, g += x - y after (y NULL: zero). */
static inline void add_to_grad(float *restrict g, int first,
                               const float *restrict x,
                               const float *restrict y, float sign, int F) {
  if (first && y) {
#pragma omp simd
    for (int f = 0; f < F; f++) g[f] = x[f] - y[f];
  } else if (y) {
#pragma omp simd
    for (int f = 0; f < F; f++) g[f] += x[f] - y[f];
  } else if (first) {
#pragma omp simd
    for (int f = 0; f < F; f++) g[f] = sign * x[f];
  } else {
    rbm_axpy(g, sign, x, F);
  }
}

/* The gradient of the minibatch's k-th item, v_data h_data' - v_model
** h_model' summed over its ratings, and the momentum step for each of its
** units that a rating or a sample touched (only those are decayed).  A
** unit's gradient row is written by its first pair, not zeroed first. */
RBM_CLONES static void update_items(worker *w, uint32_t k) {
  trainer *t = w->t;
  rbm_model *m = t->m;
  minibatch *b = t->b;
  int F = (int)m->layer.n_hidden, K = (int)m->n_units;
  uint32_t item = b->item[k];
  size_t row = (size_t)item * K;
  if (k + 1 < b->n_items) {
    /* The rows the next item will update: from the caches beyond L2, or
    ** memory, while this item's gradient is summed. */
    uint8_t next[RBM_MAX_VALUES] = {0};
    for (uint64_t p = b->item_start[k + 1]; p < b->item_start[k + 2]; p++)
      next[b->unit_data[b->pair_pos[p]]] = next[b->unit_model[b->pair_pos[p]]] = 1;
    size_t next_row = (size_t)b->item[k + 1] * K;
    for (int c = 0; c < K; c++) {
      if (!next[c]) continue;
      rbm_prefetch(m->layer.W + (next_row + c) * F, (size_t)F * sizeof(float));
      rbm_prefetch(t->vel_W + (next_row + c) * F, (size_t)F * sizeof *t->vel_W);
    }
  }
  float *g = w->grad, gb[RBM_MAX_VALUES] = {0};
  uint8_t touched[RBM_MAX_VALUES] = {0};
  for (uint64_t p = b->item_start[k]; p < b->item_start[k + 1]; p++) {
    const float *hd = b->h_data + (size_t)b->pair_user[p] * F;
    const float *hm = b->h_model + (size_t)b->pair_user[p] * F;
    int ud = b->unit_data[b->pair_pos[p]], um = b->unit_model[b->pair_pos[p]];
    if (ud == um) {
      add_to_grad(g + (size_t)ud * F, !touched[ud], hd, hm, 0.f, F);
    } else {
      add_to_grad(g + (size_t)ud * F, !touched[ud], hd, NULL, 1.f, F);
      add_to_grad(g + (size_t)um * F, !touched[um], hm, NULL, -1.f, F);
      gb[ud] += 1.f;
      gb[um] -= 1.f;
    }
    touched[ud] = touched[um] = 1;
  }
  float decay = (float)t->cfg->weight_decay;
  for (int c = 0; c < K; c++) {
    if (!touched[c]) continue;
    t->rows->step_row(t, item, (uint32_t)c, g + (size_t)c * F, decay);
    rbm_momentum_step(t, m->layer.vbias + row + c, t->vel_vbias + row + c,
                      &gb[c], 1, 0.f);
  }
  if (t->rows->item_stepped) t->rows->item_stepped(t, item);
}

/* The minibatch after t->b, in the other buffer (never across an epoch's
** end: the next epoch's order is not drawn yet). */
static void gather_next(trainer *t) {
  minibatch *b = t->b, *next = b == &t->mb[0] ? &t->mb[1] : &t->mb[0];
  uint32_t lo = b->lo + b->n_users, n_users = t->r->users.n;
  uint32_t B = (uint32_t)t->cfg->batch_size;
  if (lo < n_users)
    t->gathered = gather_batch(t, next, lo, n_users - lo < B ? n_users - lo : B);
}

/* One minibatch, t->b, already gathered: the users' CD-k chains (and the
** next minibatch's gathering), then the update by items. */
int rbm_cd_sparse_batch(trainer *t) {
  minibatch *b = t->b;
  t->grad_scale = 1.f / (float)b->n_users;
  t->gathered = 1;
  /* A chain is long enough to take alone, and they come longest first. */
  rbm_trainer_run(t, b->n_users, chain, 1, gather_next);
  if (!t->gathered) return 0;
  for (uint32_t j = 0; j < b->n_users; j++) t->epoch_sq += t->job_sq[j];
  rbm_trainer_run(t, b->n_items, update_items, 0, NULL);
  /* b->act is free once the chains are done: the scratch */
  rbm_hidden_bias_step(t, b->h_data, b->h_model, b->n_users, b->act);
  release_batch(b);
  t->b = b == &t->mb[0] ? &t->mb[1] : &t->mb[0];
  return 1;
}

int rbm_cd_sparse_first_batch(trainer *t, uint32_t n) {
  return gather_batch(t, t->b, 0, n);
}

/* The two minibatches' buffers, for up to batch users. */
int rbm_cd_sparse_alloc(trainer *t, size_t batch) {
  size_t ni = t->m->n_items, F = t->m->layer.n_hidden, B = batch;
  for (int k = 0; k < 2; k++) {
    minibatch *b = &t->mb[k];
    b->item = malloc(ni * sizeof *b->item);
    b->item_start = malloc((ni + 1) * sizeof *b->item_start);
    b->user_start = malloc((B + 1) * sizeof *b->user_start);
    b->by_length = malloc((B + 1) * sizeof *b->by_length);
    b->local = malloc(ni * sizeof *b->local);
    b->h_data = malloc(B * F * sizeof *b->h_data);
    b->h_sample = malloc(B * F * sizeof *b->h_sample);
    b->h_model = malloc(B * F * sizeof *b->h_model);
    b->act = malloc(B * F * sizeof *b->act);
    if (!b->item || !b->item_start || !b->user_start || !b->by_length || !b->local ||
        !b->h_data || !b->h_sample || !b->h_model || !b->act)
      return 0;
    memset(b->local, 0xff, ni * sizeof *b->local);  /* all -1 */
  }
  t->b = &t->mb[0];
  return 1;
}

void rbm_cd_sparse_free(trainer *t) {
  for (int k = 0; k < 2; k++) {
    minibatch *b = &t->mb[k];
    free(b->item);
    free(b->item_start);
    free(b->user_start);
    free(b->by_length);
    free(b->pair_user);
    free(b->pair_pos);
    free(b->unit_data);
    free(b->unit_model);
    free(b->local);
    free(b->h_data);
    free(b->h_sample);
    free(b->h_model);
    free(b->act);
  }
}
