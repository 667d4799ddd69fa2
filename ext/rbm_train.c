/*
** rbm_train.c -- training, read top to bottom: epochs of shuffled
** minibatches of contrastive divergence (CD-k), with the schedules,
** early stopping and the per-epoch report.
**
**   set-up         the model's shape, buffers, first weights (rbm_trainer.c)
**   each epoch     this epoch's CD steps, momentum and learning rate; the
**                  users shuffled; every minibatch one CD-k step
**                  (rbm_cd_sparse.c over rated items, rbm_cd_dense.c by
**                  GEMMs for 'implicit'); the held-out ratings measured
**                  and the best epoch kept (rbm_train_fit.c)
**   the end        the best epoch's parameters back, the fit measured
**
** Every sum runs in a fixed order and every random draw of a user's chain
** comes from a stream keyed by (seed, epoch, user), so the model does not
** depend on the number of threads or on which thread ran what; nor do the
** errors reported, kept per user and summed in user order.
*/
#include "rbm_trainer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define FIT_RATINGS 1000000

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

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
  rbm_config shaped = *cfg;
  rbm_config_fit_shape(&shaped, r->users.n, r->items.n);
  cfg = &shaped;
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
  if (cfg->orientation == RBM_ORIENT_BOTH) {
    snprintf(err, errlen, "orientation 'both' is two trainings, one per half");
    return RBM_ERROR;
  }
  if (!rbm_memory_fits(rbm_train_memory(cfg, r), "the model and its updates",
                       rbm_ratings_memory(r), "the ratings", cfg->max_memory,
                       "lower hidden", err, errlen))
    return RBM_ERROR;
  t.cfg = cfg;
  t.r = r;
  rbm_ratings train;  /* r less the validation share */
  memset(&train, 0, sizeof train);
  if (cfg->validation > 0) {
    if (!rbm_trainer_hold_out(&t, r, &train)) goto fail;
    t.r = &train;
  }
  if ((rc = rbm_trainer_open(&t, err, errlen)) != RBM_OK) goto fail;
  rc = RBM_NOMEM;

  uint32_t n_users = r->users.n, B = (uint32_t)cfg->batch_size;
  int implicit = cfg->visible == RBM_VISIBLE_IMPLICIT;
  int split = !implicit && rbm_model_is_cold(t.m);  /* the rows while training */
  rbm_fit best = {0, NAN, NAN, NAN};
  for (int epoch = 1; epoch <= cfg->epochs; epoch++) {
    t.epoch = epoch;
    t.cd_k = rbm_config_cd_k(cfg, epoch);
    t.momentum = (float)rbm_config_momentum(cfg, epoch);
    t.learning_rate = (float)rbm_config_learning_rate(cfg, epoch);
    rbm_weights_set_layout(&t, split);
    shuffle_users(&t, epoch);
    t.epoch_sq = 0;
    if (!implicit && !rbm_cd_sparse_first_batch(&t, n_users < B ? n_users : B))
      goto fail;
    for (uint32_t lo = 0; lo < n_users; lo += B) {
      if (implicit) {
        rbm_cd_dense_batch(&t, lo, n_users - lo < B ? n_users - lo : B);
      } else if (!rbm_cd_sparse_batch(&t)) {
        goto fail;
      }
      if (hooks && hooks->should_stop && hooks->should_stop(hooks->ctx)) {
        snprintf(err, errlen, "interrupted");
        rc = RBM_STOPPED;
        goto fail;
      }
    }
    report->epochs_run = epoch;
    /* The reconstruction error per rating, or per (user, item) cell of a
    ** dense model. */
    double cells = implicit ? (double)n_users * t.m->n_items : (double)t.r->n;
    rbm_epoch_stats st = {epoch, 0, sqrt(t.epoch_sq / cells),
                          {0, NAN, NAN, NAN}, 0};
    if (t.valid.n) {
      rbm_weights_set_layout(&t, 0);  /* measured, and kept, as floats */
      st.validation = rbm_trainer_measure(&t, &t.valid, t.valid_users,
                                          t.n_valid_users, t.valid.n);
      if (!(st.validation.rmse >= best.rmse)) {  /* better, or the first */
        best = st.validation;
        report->best_epoch = epoch;
        if (!rbm_trainer_keep_best(&t, 0)) goto fail;
      }
      st.best_epoch = report->best_epoch;
    }
    st.seconds = now_seconds() - start;
    if (hooks && hooks->on_epoch) hooks->on_epoch(hooks->ctx, &st);
    if (t.valid.n && cfg->patience > 0 &&
        epoch - report->best_epoch >= cfg->patience)
      break;
  }
  rbm_weights_set_layout(&t, 0);
  if (t.valid.n && !rbm_trainer_keep_best(&t, 1)) goto fail;  /* the best epoch's */
  report->validation = best;  /* without validation: not measured, NAN */

  /* Final fit: mean-field predictions of the training ratings, of all of
  ** them up to FIT_RATINGS, else of the users (in the last epoch's random
  ** order) whose ratings add up to that many: a measure, not another
  ** epoch's work on a large table. */
  uint32_t n_fit = 0;
  uint64_t fit_ratings = 0;
  while (n_fit < n_users && (fit_ratings < FIT_RATINGS || n_fit == 0)) {
    uint32_t u = t.order[n_fit++];
    fit_ratings += t.r->row[u + 1] - t.r->row[u];
  }
  rbm_fit fit = rbm_trainer_measure(&t, t.r, t.order, n_fit, fit_ratings);
  report->fit_ratings = fit_ratings;
  report->train_rmse = t.m->visible == RBM_VISIBLE_SOFTMAX ? fit.rmse : 0;
  report->train_like_accuracy = fit.like_accuracy;
  report->threads = t.n_workers;
  if (rbm_model_derive_prior(t.m) != RBM_OK) goto fail;
  report->seconds = now_seconds() - start;
  rbm_trainer_close(&t);
  rbm_trainer_free_rows(&train);
  rbm_trainer_free_rows(&t.valid);
  *out = t.m;
  return RBM_OK;

fail:
  if (rc == RBM_NOMEM) snprintf(err, errlen, "out of memory");
  rbm_trainer_close(&t);
  rbm_trainer_free_rows(&train);
  rbm_trainer_free_rows(&t.valid);
  rbm_model_free(t.m);
  return rc;
}
