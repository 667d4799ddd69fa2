/*
** rbm_trainer.h -- what the trainer's files share (inside the engine only).
**
**   rbm_train.c        the epoch loop: schedules, minibatches, early
**                      stopping, logging
**   rbm_trainer.c      a training's set-up and tear-down: the model's
**                      shape, buffers, first weights; its workers
**   rbm_cd_sparse.c    CD-k over each user's rated items (softmax, binary)
**   rbm_cd_dense.c     CD-k by GEMMs over every item ('implicit')
**   rbm_weights.c      how weight rows are stored while training (floats,
**                      bfloat16 split rows, binary difference rows), behind
**                      one table of operations; the momentum steps
**   rbm_train_fit.c    measuring the fit; the validation hold-out; the best
**                      epoch's parameters
*/
#ifndef RBM_TRAINER_H
#define RBM_TRAINER_H

#include "rbm_internal.h"
#include "rbm_math.h"
#include "rbm_units.h"

typedef struct trainer trainer;
typedef struct weight_layout weight_layout;

typedef enum row_change {
  ROW_CHANGE_FLOAT,  /* the float rows of the new and the old unit */
  ROW_CHANGE_SPLIT,  /* their bfloat16 tops */
  ROW_CHANGE_DIFF    /* the item's difference row, added or taken away */
} row_change;

/* Aligned to a cache line: two workers' counters never share one. */
typedef struct worker {
  _Alignas(64) trainer *t;
  float *grad;         /* one item's K gradient rows (update_items) */
  /* Scratch for a user's chain and measure_user, sized for the longest
  ** user row. */
  uint8_t *units;
  float *hidden, *probs;
} worker;

/* A minibatch's ratings, kept two ways.
**   by user: user b's ratings are positions user_start[b] ..
**            user_start[b+1]-1, in CSR order; unit_data and unit_model are
**            indexed by position, so a user's chain reads and writes one
**            contiguous stretch (threads never share cache lines there);
**   by item: the pairs of the minibatch's k-th item are item_start[k] ..
**            item_start[k+1]-1, users in minibatch order; pair p is user
**            pair_user[p] at position pair_pos[p]. */
typedef struct minibatch {
  uint32_t lo, n_users, n_items;  /* users order[lo .. lo+n_users) */
  uint64_t cap_pairs;
  uint32_t *item;          /* the items rated, in order of first rating */
  uint64_t *item_start;    /* n_items + 1 */
  uint64_t *user_start;    /* n_users + 1 */
  uint32_t *by_length;     /* users, longest row first: the chains' order */
  uint32_t *pair_user;
  uint64_t *pair_pos;
  uint8_t *unit_data, *unit_model;
  int32_t *local;          /* per model item: its index in item[], or -1 */
  /* Per user of the minibatch, n_hidden floats each. */
  float *h_data, *h_sample, *h_model, *act;
} minibatch;

/* How the weight rows are stored while training, and so how the chains
** read them and the update writes them.  Chosen once, by
** rbm_weights_set_layout, from two facts: are the rows split (a large
** model), and does the model keep difference rows (a binary one)? */
struct weight_layout {
  const char *name;
  /* act = hbias + the rows of (items[j], units[j]) for j < n. */
  void (*hidden_input)(const trainer *t, size_t n, const uint32_t *items,
                       const uint8_t *units, float *act);
  /* The softmaxes of n items given the hidden sample hs (and hs_ro, hs
  ** as reorder_hidden leaves it, if the layout has one). */
  void (*items_probs)(const trainer *t, const float *hs, const float *hs_ro,
                      size_t n, const uint32_t *items, float *probs);
  /* out = hs in the order items_probs reads it; NULL: no other order. */
  void (*reorder_hidden)(const float *hs, float *out, int n);
  /* Which rows a chain adds and takes away when a unit changes
  ** (rbm_unit_changed): it is the hottest step, so the chain is compiled
  ** once for each and inlines it. */
  row_change change;
  /* The momentum step of the row of (item, unit), by gradient g. */
  void (*step_row)(const trainer *t, uint32_t item, uint32_t unit,
                   const float *g, float decay);
  /* After an item's rows were stepped (binary: its difference row); NULL
  ** when nothing follows them. */
  void (*item_stepped)(trainer *t, uint32_t item);
  /* The bytes a chain reads per item in its down pass. */
  size_t (*down_bytes)(const rbm_model *m);
};

struct trainer {
  const rbm_config *cfg;
  const rbm_ratings *r;
  rbm_model *m;
  uint8_t unit_of_code[RBM_MAX_VALUES];
  /* Momentum.  The weights' velocities are kept as bfloat16 (the top half
  ** of a float, rounded): a velocity only steers the next steps, and at
  ** hidden 600 the half it saves is a fifth of the bytes a minibatch moves
  ** (rbm_weights.c). */
  uint16_t *vel_W;
  float *vel_vbias, *vel_hbias;
  const weight_layout *rows;  /* how the weight rows are stored now */
  int split;  /* the weight rows are split (rbm_weights.c), not floats */
  /* Binary models: per item, its like row less its dislike row.  The chain
  ** reads one row per rating instead of two. */
  float *diff_W;
  uint32_t *order;                       /* users, shuffled each epoch */
  int epoch;
  int cd_k;                       /* this epoch's, from the schedules */
  uint8_t *pcd_units;   /* persistent CD: each rating's unit in its user's
                        ** chain, kept from epoch to epoch (t->r's layout) */
  /* The momentum steps': this epoch's momentum and learning rate, and 1 /
  ** the minibatch's users (set by each minibatch). */
  float momentum, learning_rate, grad_scale;
  /* The minibatch being trained, and the next one, which worker 0
  ** gathers while the others start on this one's chains. */
  minibatch mb[2], *b;
  int gathered;  /* 0 if gathering the next one ran out of memory */
  worker *w;
  int n_workers;
  rbm_pool *pool;                        /* threads for workers 1.. */
  int blas_before;  /* OpenBLAS's thread count to put back, or 0 */
  /* The round being run (rbm_trainer_run). */
  void (*job)(worker *, uint32_t j);
  void (*side)(trainer *);
  /* What job j measured (squared errors, right like calls), summed in
  ** order of j afterwards: the same figures for any thread count. */
  double *job_sq, *job_right, *job_abs;
  double epoch_sq;  /* an epoch visits every rating: divide by r->n */
  /* Early stopping: the held-out ratings (valid.n == 0 without), the users
  ** who have some, and the parameters of the best epoch so far. */
  rbm_ratings valid;
  uint32_t *valid_users, n_valid_users;
  const rbm_ratings *measured;  /* what measure_user predicts, */
  const uint32_t *measured_users;  /* for these users */
  float *best_W, *best_vbias, *best_hbias;
  /* visible 'implicit': a minibatch as dense matrices (rbm_cd_dense.c). */
  struct dense {
    float *v_data, *v_model;                /* B x n_items */
    float *h_data, *h_sample, *h_model;     /* B x n_hidden */
    float *grad;                            /* n_items x n_hidden */
    rbm_rng *rng;                           /* B: each user's stream */
    uint32_t lo, nb;                        /* the minibatch: order[lo..] */
  } d;
};

/* ---- weight rows ------------------------------------------------------- */

static inline float *rbm_w_row(const rbm_model *m, uint32_t item,
                               uint32_t unit) {
  return m->layer.W + ((size_t)item * m->n_units + unit) * m->layer.n_hidden;
}

/* The same row, split (rbm_weights.c): tops, then remainders. */
static inline uint16_t *rbm_split_row(const rbm_model *m, uint32_t item,
                                      uint32_t unit) {
  return (uint16_t *)rbm_w_row(m, item, unit);
}

/* act += the row of item's new unit less that of the unit it had. */
static inline __attribute__((always_inline)) void
rbm_unit_changed(const trainer *t, row_change change, float *restrict act,
                 uint32_t item, uint32_t unit, uint32_t was) {
  const rbm_model *m = t->m;
  int F = (int)m->layer.n_hidden;
  if (change == ROW_CHANGE_DIFF) {  /* like: + (W1 - W0); dislike: - (W1 - W0) */
    rbm_axpy(act, unit ? 1.f : -1.f, t->diff_W + (size_t)item * F, F);
  } else if (change == ROW_CHANGE_SPLIT) {
    const uint16_t *now = rbm_split_row(m, item, unit);
    const uint16_t *old = rbm_split_row(m, item, was);
#pragma omp simd
    for (int f = 0; f < F; f++)
      act[f] += rbm_bf16_to_float(now[f]) - rbm_bf16_to_float(old[f]);
  } else {
    const float *now = rbm_w_row(m, item, unit), *old = rbm_w_row(m, item, was);
#pragma omp simd
    for (int f = 0; f < F; f++) act[f] += now[f] - old[f];
  }
}

/* ---- rbm_trainer.c -------------------------------------------------- */

/* Shapes t->m from t->cfg and t->r, allocates every buffer and draws the
** first weights.  RBM_OK, RBM_NOMEM, or RBM_ERROR with err filled. */
int rbm_trainer_open(trainer *t, char *err, size_t errlen);
void rbm_trainer_close(trainer *t);  /* frees all but t->m */
/* job(worker, j) for every j in [0, n) on t's workers, chunk at a time
** (0: the pool picks); worker 0 first runs side(t), if given. */
void rbm_trainer_run(trainer *t, uint32_t n, void (*job)(worker *, uint32_t),
                     uint32_t chunk, void (*side)(trainer *));

/* ---- rbm_cd_sparse.c ------------------------------------------------ */

int rbm_cd_sparse_alloc(trainer *t, size_t batch);
void rbm_cd_sparse_free(trainer *t);
/* Gathers an epoch's first minibatch (of n users) into t->b. */
int rbm_cd_sparse_first_batch(trainer *t, uint32_t n);
/* One CD-k step on t->b, gathering the next minibatch meanwhile; 0: out
** of memory. */
int rbm_cd_sparse_batch(trainer *t);

/* ---- rbm_cd_dense.c ------------------------------------------------- */

int rbm_cd_dense_alloc(trainer *t, size_t batch);
void rbm_cd_dense_free(trainer *t);
/* One CD-k step on the users order[lo .. lo+nb). */
void rbm_cd_dense_batch(trainer *t, uint32_t lo, uint32_t nb);

/* ---- rbm_weights.c -------------------------------------------------- */

/* Splits (split 1) or joins the weight rows, if not so already, and picks
** t->rows to match. */
void rbm_weights_set_layout(trainer *t, int split);
/* The difference rows of items lo .. hi-1 (binary models). */
void rbm_weights_set_diff_rows(trainer *t, size_t lo, size_t hi);
/* vel = momentum * vel + lr * (g * grad_scale - decay * param);
** param += vel: over n parameters, with float velocities ... */
void rbm_momentum_step(const trainer *t, float *param, float *vel,
                       const float *g, size_t n, float decay);
/* ... or bfloat16 ones (the weights'). */
void rbm_weights_step(const trainer *t, float *w, uint16_t *vel,
                      const float *g, size_t n, float decay);
/* The hidden biases' step from the minibatch's n users (rows of hd and
** hm, summed in order); g is n_hidden floats of scratch. */
void rbm_hidden_bias_step(trainer *t, const float *hd, const float *hm,
                          uint32_t n, float *g);

/* ---- rbm_train_fit.c ------------------------------------------------ */

/* The model's mean-field fit to the ratings in of of users[0 .. n),
** summed in order. */
rbm_fit rbm_trainer_measure(trainer *t, const rbm_ratings *of,
                            const uint32_t *users, uint32_t n,
                            uint64_t ratings);
/* Moves a share cfg->validation of each user's ratings from train (made a
** copy of r's rows) to t->valid.  0: out of memory. */
int rbm_trainer_hold_out(trainer *t, const rbm_ratings *r, rbm_ratings *train);
void rbm_trainer_free_rows(rbm_ratings *r);  /* of hold_out's copies */
/* Keeps (restore 0) or puts back (1) the parameters of the best epoch. */
int rbm_trainer_keep_best(trainer *t, int restore);

#endif /* RBM_TRAINER_H */
