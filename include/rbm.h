/*
** rbm.h -- the engine's C API: Restricted Boltzmann Machines for
** collaborative filtering (Salakhutdinov, Mnih & Hinton, ICML 2007).
**
** Usage, top to bottom:
**
**   rbm_config cfg;  rbm_config_defaults(&cfg);  cfg.hidden = 200;
**   const char *why = rbm_config_check(&cfg);          // NULL when valid
**
**   rbm_ratings r = {0};                                 // ratings in CSR form
**   ... rbm_ratings_add(&r, &user_key, &item_key, 4.0) for every row ...
**   rbm_ratings_finish(&r);                              // sorts rows by user
**
**   rbm_model *m;  rbm_train_report rep;
**   rbm_train(&cfg, &r, NULL, &m, &rep, errbuf, sizeof errbuf);
**
**   float *hid = malloc(m->layer.n_hidden * sizeof *hid);
**   rbm_fold_in(m, n, items, units, hid);                 // one mean-field up-pass
**   float probs[RBM_MAX_VALUES];
**   rbm_item_probs(m, hid, item, probs);                  // softmax over units
**   double rating = rbm_expected_rating(m, probs);
**   double p_like = rbm_like_probability(m, probs);
**
**   rbm_model_save(m, &blob, &nblob);  rbm_model_load(blob, nblob, &m2, ...);
**
** One user is one RBM whose visible layer holds only the items that user
** rated, each as a K-way softmax over the rating values seen in training
** (K = 2, like / not like, for a binary model).  All users share the
** weights.  A rating that is missing is absent from the visible layer; it is
** never an input.
**
** Nothing here depends on SQLite.  Ids are rbm_key values: a 64-bit integer
** or a byte string.
*/
#ifndef RBM_H
#define RBM_H

#include <stddef.h>
#include <stdint.h>

#define RBM_VERSION "0.1.0"
#define RBM_FORMAT_VERSION 2   /* model blob layout, see ARCHITECTURE.md */
#define RBM_MAX_VALUES 64      /* distinct rating values a softmax model takes */

/* Return codes. */
#define RBM_OK 0
#define RBM_ERROR 1      /* bad input; the message says which */
#define RBM_NOMEM 2
#define RBM_STOPPED 3    /* the caller's should_stop hook asked to stop */
#define RBM_CORRUPT 4    /* a model blob failed its checks */

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

typedef enum rbm_visible {
  RBM_VISIBLE_SOFTMAX = 0,   /* one unit per distinct rating value */
  RBM_VISIBLE_BINARY = 1,    /* like (rating >= like_threshold) / not */
  /* Implicit feedback: every row is an interaction, whatever its rating.
  ** A dense binary visible layer over all items (an item the user has no
  ** row for is a 0, not a missing value), trained with minibatch GEMMs.
  ** Stored and served as a binary model whose unit 1 is "interacted" and
  ** whose unit 0 rows are zero, so folding a user in over their rows alone
  ** is exact. */
  RBM_VISIBLE_IMPLICIT = 2
} rbm_visible;

/* Which side of the ratings each RBM is.  A user-based model has one RBM
** per user over the items they rated; an item-based one, one RBM per item
** over the users who rated it.  The engine trains whichever it is given:
** for an item-based model, pass rbm_train the ratings with users and items
** swapped (rows by item), and the model's "items" are then users. */
typedef enum rbm_orientation {
  RBM_ORIENT_USER = 0,
  RBM_ORIENT_ITEM = 1,
  RBM_ORIENT_BOTH = 2   /* a configuration only: trains an rbm_pair */
} rbm_orientation;

typedef struct rbm_config {
  int hidden;              /* hidden units */
  int epochs;              /* passes over all users */
  int batch_size;          /* users per minibatch */
  double learning_rate;    /* divided by batch_size inside the update */
  double momentum;
  double weight_decay;     /* L2 on weights, not biases */
  int cd_k;                /* Gibbs steps of contrastive divergence */
  uint64_t seed;           /* same seed + data + threads -> same model */
  rbm_visible visible;
  rbm_orientation orientation;
  double like_threshold;   /* rating >= this is a like */
  int threads;             /* worker threads splitting each minibatch;
                           ** 0: rbm_auto_threads() (the default) */
  int verbose;             /* per-epoch progress through on_epoch */
  /* Schedules (all off by default): cd_k_steps[j] = {from_epoch, k}
  ** raises the Gibbs steps during training (cd_k until the first
  ** from_epoch); momentum ramps linearly from momentum_start to momentum
  ** over the first momentum_epochs epochs; the learning rate of epoch e is
  ** learning_rate / (1 + lr_decay * (e - 1)). */
#define RBM_MAX_CD_STEPS 8
  int cd_k_steps[RBM_MAX_CD_STEPS][2];
  int n_cd_k_steps;
  double momentum_start;   /* < 0: no ramp */
  int momentum_epochs;
  double lr_decay;
  /* Persistent CD (Tieleman 2008): each user's negative chain goes on from
  ** where the previous epoch left it instead of restarting at the data. */
  int pcd;
  /* Early stopping: this fraction of each user's ratings (drawn with the
  ** seed) is held out of training and predicted after every epoch; the
  ** model returned is the one of the epoch that predicted them best, and
  ** training stops once patience epochs in a row have not improved on it
  ** (patience 0: never early).  validation 0: no hold-out. */
  double validation;
  int patience;
  /* The most memory, in bytes, a training may take.  It is estimated
  ** before anything is allocated (rbm_train_memory) and a training over
  ** the limit fails with the estimate, so a model too large for the
  ** machine is an error, not a process the kernel kills.  0: a share of
  ** physical memory (RBM_DEFAULT_MEMORY_SHARE). */
  double max_memory;
} rbm_config;

#define RBM_DEFAULT_MEMORY_SHARE 0.5
/* The limit cfg sets: max_memory, or the default share of physical memory
** (INFINITY where that cannot be read). */
double rbm_memory_limit(double max_memory);
/* "about 1.2 GB", for messages: writes into buf and returns it. */
const char *rbm_format_bytes(double bytes, char *buf, size_t n);

void rbm_config_defaults(rbm_config *cfg);
/* The online cores, at most RBM_AUTO_THREADS_MAX: what threads = 0 means.
** The model does not depend on the thread count. */
#define RBM_AUTO_THREADS_MAX 8
int rbm_auto_threads(void);
/* cfg->threads, with 0 resolved to rbm_auto_threads(). */
int rbm_config_threads(const rbm_config *cfg);
/* The schedules' values for a 1-based epoch. */
int rbm_config_cd_k(const rbm_config *cfg, int epoch);
double rbm_config_momentum(const rbm_config *cfg, int epoch);
double rbm_config_learning_rate(const rbm_config *cfg, int epoch);
/* NULL if cfg is usable, else a static message naming the bad field.
** hidden 0 is usable with visible 'implicit': see rbm_config_fit_shape. */
const char *rbm_config_check(const rbm_config *cfg);
/* Fills in what cfg leaves to the data's shape.  Visible 'implicit' with
** hidden 0: RBM_IMPLICIT_HIDDEN hidden units, but at most half the items
** (at least 1): with as many hidden units as items the model learns to
** copy its input (bench/QUALITY.md).  rbm_train does this on its own copy
** of cfg; call it to know what rbm_train will use. */
#define RBM_IMPLICIT_HIDDEN 200
void rbm_config_fit_shape(rbm_config *cfg, uint32_t n_users, uint32_t n_items);

/* ------------------------------------------------------------------ */
/* Ids: integer or text keys, interned into dense indexes              */

typedef struct rbm_key {
  const char *text;   /* NULL for an integer key */
  uint32_t len;       /* bytes of text */
  int64_t i;          /* the integer, when text is NULL */
} rbm_key;

typedef struct rbm_keys {
  uint32_t n, cap;
  int64_t *ival;        /* integer, or offset of the text in arena */
  uint32_t *tlen;       /* text length, RBM_KEY_INT for integers */
  char *arena;
  size_t arena_len, arena_cap;
  /* Open addressing (rbm_internal.h), and the last key interned: sources
  ** grouped by user repeat it, and it costs one comparison. */
  struct rbm_key_slot *slot;
  uint32_t nslot;       /* power of two */
  uint32_t last_index1; /* index + 1 of the last key if an integer, else 0 */
  int64_t last_int;
  /* In front of the table, for ids that are small non-negative integers
  ** (the usual case): dense[id] = index + 1, or 0 if not seen yet. */
  uint32_t *dense;
  uint32_t ndense;
} rbm_keys;
#define RBM_KEY_INT UINT32_MAX

/* Index of key, adding it if new; -1 on out of memory. */
int64_t rbm_keys_intern(rbm_keys *keys, const rbm_key *key);
/* Index of key, or -1 when absent. */
int64_t rbm_keys_find(const rbm_keys *keys, const rbm_key *key);
rbm_key rbm_keys_get(const rbm_keys *keys, uint32_t index);
int rbm_key_equal(const rbm_key *a, const rbm_key *b);
/* A 64-bit hash of the key, the same on every host. */
uint64_t rbm_key_hash(const rbm_key *k);
void rbm_keys_free(rbm_keys *keys);

/* ------------------------------------------------------------------ */
/* Ratings in CSR form                                                 */

typedef struct rbm_ratings {
  rbm_keys users, items;
  uint32_t n_values;             /* distinct rating values */
  double values[RBM_MAX_VALUES]; /* ascending once finished */
  uint64_t n;                    /* ratings */
  uint64_t n_duplicates;         /* repeated (user, item) rows dropped */
  /* Built by rbm_ratings_add (in arrival order): */
  uint32_t *user, *item;
  uint8_t *code;                 /* index into values */
  uint64_t cap;
  /* Built by rbm_ratings_finish: user u's ratings are the entries
  ** row[u] .. row[u+1]-1 of col_item / col_code. */
  uint64_t *row;
  uint32_t *col_item;
  uint8_t *col_code;
} rbm_ratings;

/* RBM_OK, RBM_NOMEM, or RBM_ERROR when there are too many distinct values. */
int rbm_ratings_add(rbm_ratings *r, const rbm_key *user, const rbm_key *item,
                    double value);
/* Sorts values ascending, recodes, and builds the CSR rows. */
int rbm_ratings_finish(rbm_ratings *r);

/* rbm_ratings_add through a second thread: rows are copied into batches
** that the thread interns and adds in order, while the caller reads the
** next ones (from SQLite, say).  The result is what rbm_ratings_add row by
** row gives.  With threaded = 0 the batches are added by the caller.
**   rbm_feed *f = rbm_feed_open(&r, 1);               // NULL: out of memory
**   while (...) if (rbm_feed_add(f, &user, &item, v) != RBM_OK) break;
**   int rc = rbm_feed_close(f);                       // the first error
** rbm_feed_add returns the first error the thread has met so far, so the
** caller can stop reading early; rbm_feed_close always frees the feed. */
typedef struct rbm_feed rbm_feed;
rbm_feed *rbm_feed_open(rbm_ratings *r, int threaded);
int rbm_feed_add(rbm_feed *f, const rbm_key *user, const rbm_key *item,
                 double value);
int rbm_feed_close(rbm_feed *f);
void rbm_ratings_free(rbm_ratings *r);

/* ------------------------------------------------------------------ */
/* The model                                                           */

/* What a unit is: how its probability (or mean) follows from its total
** input, and how it is drawn (rbm_units.c). */
typedef enum rbm_unit_type {
  RBM_UNIT_BERNOULLI = 0,  /* 0 or 1: p = sigmoid(input) */
  RBM_UNIT_SOFTMAX = 1,    /* one of a group: p = softmax over the group */
  RBM_UNIT_GAUSSIAN = 2    /* real, variance 1: mean = input */
} rbm_unit_type;

/* An RBM's parameters: n_visible visible units (in groups of group units
** for softmax units, group 1 otherwise), every one connected to each of
** n_hidden hidden units.  Visible unit v's weights are the row
** W + (size_t)v * n_hidden. */
typedef struct rbm_layer {
  rbm_unit_type visible_type, hidden_type;
  uint32_t n_visible, group, n_hidden;
  float *W;             /* n_visible * n_hidden */
  float *vbias;         /* n_visible */
  float *hbias;         /* n_hidden */
} rbm_layer;

/* A collaborative-filtering model: a layer whose visible units are one
** softmax group of n_units per item (K = n_units; a binary model's two
** units are not like / like), and what is its own: the items' ids, and
** their training counts and priors.  An implicit model's items are
** Bernoulli units, stored as two-unit groups whose unit-0 rows and biases
** are 0 (softmax(0, x) is sigmoid(x)), so every model is served alike. */
typedef struct rbm_model {
  rbm_visible visible;
  rbm_orientation orientation;          /* ITEM: "items" below are users */
  uint32_t n_items, n_units;            /* layer.n_visible = n_items * n_units */
  double like_threshold;
  double unit_value[RBM_MAX_VALUES];    /* rating of each unit; binary: 0, 1 */
  rbm_keys items;                       /* item id -> index */
  /* Hidden units Bernoulli.  The row of (item i, unit k) is
  ** layer.W + ((size_t)i * n_units + k) * layer.n_hidden. */
  rbm_layer layer;
  uint32_t *count;      /* training ratings per (item, unit): the priors */
  float *prior;         /* derived from count: (n_items + 1) * n_units, the
                        ** last row the global distribution */
} rbm_model;

/* Fills m->layer's shape from n_items, n_units and n_hidden: softmax
** groups of n_units over Bernoulli hidden units. */
void rbm_model_shape(rbm_model *m, uint32_t n_items, uint32_t n_units,
                     uint32_t n_hidden);

void rbm_model_free(rbm_model *m);

/* Visible unit of a rating value: the nearest value for a softmax model,
** like / not like for a binary one. */
int rbm_unit_of_value(const rbm_model *m, double value);

/* ------------------------------------------------------------------ */
/* Training                                                            */

/* A model's fit to a set of ratings, by mean-field prediction: RMSE and
** MAE of the expected rating (binary models: of P(like) against 0/1), and
** the share of likes and dislikes told right by P(like) >= 0.5. */
typedef struct rbm_fit {
  uint64_t ratings;       /* 0: not measured, and the figures are NAN */
  double rmse, mae, like_accuracy;
} rbm_fit;

typedef struct rbm_epoch_stats {
  int epoch;              /* 1-based */
  double seconds;         /* since training started */
  double recon_rmse;      /* reconstruction error of the first Gibbs step,
                          ** in units of the rating scale (binary: of 0/1) */
  rbm_fit validation;     /* the held-out ratings (config.validation) */
  int best_epoch;         /* of the best validation RMSE so far, or 0 */
} rbm_epoch_stats;

typedef struct rbm_train_hooks {
  void *ctx;
  int (*should_stop)(void *ctx);                 /* nonzero stops training */
  void (*on_epoch)(void *ctx, const rbm_epoch_stats *stats);
} rbm_train_hooks;

typedef struct rbm_train_report {
  int epochs_run;
  double seconds;
  double train_rmse;         /* mean-field prediction of the training ratings
                             ** (softmax only; 0 for binary) */
  double train_like_accuracy;
  uint64_t fit_ratings;      /* ratings the two figures above were measured
                             ** on: all of them, or about a million users'
                             ** worth on a larger table */
  int threads;
  rbm_fit validation;        /* of the model returned */
  int best_epoch;            /* the epoch it is from (validation), else 0 */
} rbm_train_report;

/* What rbm_train would allocate for r under cfg (the weights, their
** updates, the minibatch and hold-out buffers), and what r itself holds:
** rbm_train refuses when their sum is over the limit cfg sets. */
double rbm_train_memory(const rbm_config *cfg, const rbm_ratings *r);
double rbm_ratings_memory(const rbm_ratings *r);

/* Trains a model on r (finished).  The model takes a copy of r's item keys.
** On failure *out is NULL and err holds the reason. */
int rbm_train(const rbm_config *cfg, const rbm_ratings *r,
              const rbm_train_hooks *hooks, rbm_model **out,
              rbm_train_report *report, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Prediction                                                          */

/* Hidden probabilities p(h=1 | v) of a user whose visible layer holds the
** given (item, unit) pairs: one mean-field up-pass. */
void rbm_fold_in(const rbm_model *m, size_t n, const uint32_t *items,
                 const uint8_t *units, float *hidden);

/* Softmax over item's units given hidden probabilities. */
void rbm_item_probs(const rbm_model *m, const float *hidden, uint32_t item,
                    float *probs);
/* The same for n items at once: probs is n * n_units. */
void rbm_items_probs(const rbm_model *m, const float *hidden, size_t n,
                     const uint32_t *items, float *probs);
/* Every item's softmax at once, one GEMV: probs is n_items * n_units. */
void rbm_all_item_probs(const rbm_model *m, const float *hidden, float *probs);


/* Expected rating and P(rating >= like_threshold) from a unit distribution. */
double rbm_expected_rating(const rbm_model *m, const float *probs);
double rbm_like_probability(const rbm_model *m, const float *probs);

/* Orientation 'both': the expected rating and P(like) of the item-based
** half's unit probabilities p blended with the user-based half's q (the
** same units), w_rating and w_like on the item-based half; q NULL: p's
** own. */
void rbm_blend(const rbm_model *m, const float *p, const float *q,
               double w_rating, double w_like, double *rating, double *like);

/* The item's training distribution over units (Laplace-smoothed towards the
** global one): what a user the model cannot place gets. item may be
** UINT32_MAX for "unknown item", which gets the global distribution. */
void rbm_prior_probs(const rbm_model *m, uint32_t item, float *probs);


/* One user to recommend for: hidden probabilities (NULL for a user the
** model cannot place, who gets the item priors) and the items they rated,
** which are never recommended. */
typedef struct rbm_user_query {
  const float *hidden;
  const uint32_t *rated;
  size_t n_rated;
} rbm_user_query;

typedef struct rbm_recommendation {
  uint32_t item;
  float p_like, rating;  /* rating: the expected rating */
} rbm_recommendation;

/* The top k items by P(like) for each of n users, best first: user u's are
** out[u*k .. u*k + n_out[u]).  Users are scored in batches, one GEMM each.
** RBM_OK or RBM_NOMEM. */
int rbm_recommend(const rbm_model *m, size_t n, const rbm_user_query *users,
                  size_t k, rbm_recommendation *out, size_t *n_out);


/* ------------------------------------------------------------------ */
/* Embeddings and similar items (rbm_embed.c)                          */
/*
** A folded-in user's hidden probabilities (rbm_fold_in) are one vector of
** the user; an item's comes from its weight rows (rbm_item_vector).  For
** an item-based model the "items" are users.  rbm_nearest ranks rows by
** cosine similarity.
*/

/* The floats of rbm_item_vector: 2 n_hidden, or n_hidden for an implicit
** model. */
uint32_t rbm_item_vector_size(const rbm_model *m);
/* out: the mean of item's K weight rows (what rating it adds to a user's
** hidden input, whatever the rating) scaled to length sqrt(3/4), then the
** mean of its like rows less the mean of the others (what liking it adds
** over disliking it) scaled to length 1/2; a part of zeros stays zeros.
** The cosine of two is 3/4 of their first parts' plus 1/4 of their
** second parts'.  An implicit model: its interaction row (unit 1's), as
** it is. */
void rbm_item_vector(const rbm_model *m, uint32_t item, float *out);

/* Scales each of the n rows of X (d floats) to unit length, so that a dot
** product is the cosine similarity; a row of zeros stays zeros, and
** nonzero[j] (if given) says which rows were not. */
void rbm_unit_rows(float *X, size_t n, size_t d, uint8_t *nonzero);

typedef struct rbm_neighbour {
  uint32_t row;
  float similarity;
} rbm_neighbour;

/* For each of n_q query rows Q (d floats), the k rows of X (n rows of d)
** with the largest dot product, best first; equal ones by lower row first.
** Rows with usable[j] == 0 (usable may be NULL) and row exclude[q] (or
** none: UINT32_MAX; exclude may be NULL) are left out.  Query q's are
** out[q*k .. q*k + n_out[q]).  With unit rows this is the k most similar by
** cosine.  Every dot product is computed the same way whatever n_q and
** threads, so a query's answer does not depend on the batch it is in.  No
** allocation but the threads' (without them it runs on one). */
void rbm_nearest(const float *X, size_t n, size_t d, const uint8_t *usable,
                 size_t n_q, const float *Q, const uint32_t *exclude,
                 size_t k, int threads, rbm_neighbour *out, size_t *n_out);

/* ------------------------------------------------------------------ */
/* Serialisation: a versioned, little-endian, checksummed blob          */

int rbm_model_save(const rbm_model *m, unsigned char **blob, size_t *n);
/* The same blob in pieces, in order, to sink (nonzero from it stops the
** writing: RBM_ERROR), without ever holding it whole: for writing a large
** model straight into its destination.  rbm_model_blob_size is its size. */
typedef int (*rbm_sink)(void *ctx, const void *bytes, size_t n);
size_t rbm_model_blob_size(const rbm_model *m);
int rbm_model_write(const rbm_model *m, rbm_sink sink, void *ctx);
int rbm_model_load(const void *blob, size_t n, rbm_model **out, char *err,
                   size_t errlen);

/* Orientation 'both': a user-based and an item-based model of the same
** ratings, whose answers are blended: rating = w_rating * item-based +
** (1 - w_rating) * user-based, and likewise P(like) with w_like.  Saved as
** one blob holding the two models' blobs. */
typedef struct rbm_pair {
  rbm_model *user_half, *item_half;
  double w_rating, w_like;
} rbm_pair;

int rbm_blob_is_pair(const void *blob, size_t n);
size_t rbm_pair_blob_size(const rbm_pair *p);
int rbm_pair_write(const rbm_pair *p, rbm_sink sink, void *ctx);
/* Takes p apart on failure (err says why). */
int rbm_pair_load(const void *blob, size_t n, rbm_pair *p, char *err,
                  size_t errlen);
void rbm_pair_free(rbm_pair *p);

/* ------------------------------------------------------------------ */
/* Feature models: an RBM on vectors (rbm_dense.c, rbm_dense_train.c)  */
/*
**   rbm_dense_config c;  rbm_dense_config_defaults(&c, RBM_UNIT_BERNOULLI, 0);
**   c.train.hidden = 256;
**   rbm_dense_model *m;  rbm_dense_report rep;
**   rbm_dense_train(&c, X, n, d, labels, &label_keys, NULL, &m, &rep, err, n_err);
**   rbm_dense_transform(m, x, h);              // P(h = 1 | x), n_hidden floats
**   rbm_dense_reconstruct(m, x, x2);           // one mean-field up-down pass
**   double fe = rbm_dense_free_energy(m, x);   // higher: less typical
**   rbm_dense_class_probs(m, x, p);            // with a head: n_classes floats
**
** X is n rows of d features, row-major, as the caller has them: Bernoulli
** visible units read values in [0, 1] as probabilities; Gaussian ones read
** real values, standardised per feature with the training rows' mean and
** standard deviation, which the model keeps and applies to every vector it
** is given afterwards (and undoes on what it returns in feature space).
** With labels, a softmax layer (multinomial logistic regression) is
** trained on the hidden probabilities after the RBM; with hidden 0 there is
** no RBM and the head reads the features themselves.
*/

typedef struct rbm_dense_config {
  /* hidden (0: no RBM), epochs, batch_size, learning_rate, momentum and its
  ** ramp, lr_decay, weight_decay, cd_k and its steps, pcd, seed, threads,
  ** verbose, validation (a share of the rows held out; its reconstruction
  ** error is reported each epoch) and patience (on that error).  visible,
  ** orientation and like_threshold do not apply. */
  rbm_config train;
  rbm_unit_type visible;   /* RBM_UNIT_BERNOULLI or RBM_UNIT_GAUSSIAN */
  double l2;               /* the head's L2 penalty, on the mean loss */
  int head_iterations;     /* the head's L-BFGS iterations, at most */
} rbm_dense_config;

/* The defaults for a visible unit type, with persistent chains (pcd) or
** without.  Bernoulli units: learning rate 0.1 decaying (lr_decay 0.1),
** momentum 0.5 ramped to 0.9, no weight decay; with persistent chains 0.05
** and momentum 0.5 throughout, since the chains must keep up with the
** weights.  Gaussian units: 0.001, not decaying, weight decay 1e-4
** (Hinton's guide, section 13.2).  The README gives the sweep. */
void rbm_dense_config_defaults(rbm_dense_config *c, rbm_unit_type visible,
                               int pcd);
const char *rbm_dense_config_check(const rbm_dense_config *c);

typedef struct rbm_dense_model {
  rbm_layer layer;          /* n_visible = the features; n_hidden may be 0 */
  float *mean, *scale;      /* Gaussian: x' = (x - mean) / scale; else NULL */
  uint32_t n_classes;       /* 0: no head */
  rbm_keys labels;          /* class index -> label */
  uint32_t head_inputs;     /* n_hidden, or the features when n_hidden is 0 */
  float *head_W;            /* n_classes rows of head_inputs */
  float *head_b;            /* n_classes */
} rbm_dense_model;

typedef struct rbm_dense_epoch {
  int epoch;
  double seconds;
  double recon_rmse;        /* of the first Gibbs step, per feature */
  double validation_rmse;   /* mean-field, held-out rows; NAN without */
  int best_epoch;
} rbm_dense_epoch;

typedef struct rbm_dense_hooks {
  void *ctx;
  int (*should_stop)(void *ctx);
  void (*on_epoch)(void *ctx, const rbm_dense_epoch *e);
} rbm_dense_hooks;

typedef struct rbm_dense_report {
  int epochs_run, best_epoch, threads;
  double seconds, rbm_seconds, head_seconds;
  double cd_seconds;         /* of rbm_seconds, in the minibatches' CD steps */
  double recon_rmse;         /* the last epoch's */
  double validation_rmse;    /* of the model returned; NAN without */
  double gflops;             /* the CD steps' arithmetic per second */
  int head_iterations;
  double head_loss;          /* mean cross-entropy on the training rows */
  double train_accuracy;     /* of the head on the training rows; NAN without */
} rbm_dense_report;

/* labels: n class indexes (< label_keys->n, at most RBM_MAX_CLASSES), or
** NULL for no head; the model copies label_keys.  Refuses, before any
** allocation, when rbm_dense_train_memory and the rows (4 n d bytes, the
** caller's) come to more than c->train.max_memory allows. */
#define RBM_MAX_CLASSES 10000
double rbm_dense_train_memory(const rbm_dense_config *c, size_t n, uint32_t d,
                              uint32_t n_classes);
int rbm_dense_train(const rbm_dense_config *c, const float *X, size_t n,
                    uint32_t d, const uint32_t *labels,
                    const rbm_keys *label_keys, const rbm_dense_hooks *hooks,
                    rbm_dense_model **out, rbm_dense_report *report,
                    char *err, size_t errlen);
void rbm_dense_free(rbm_dense_model *m);

/* x: d raw features.  Scratch is the model's own business (stack or
** malloc); each returns RBM_OK or RBM_NOMEM. */
int rbm_dense_transform(const rbm_dense_model *m, const float *x, float *h);
int rbm_dense_reconstruct(const rbm_dense_model *m, const float *x, float *out);
double rbm_dense_free_energy(const rbm_dense_model *m, const float *x);
/* scikit-learn's score_samples: with feature i flipped (1 - x_i),
** d * log(sigmoid(F(x flipped) - F(x))), i drawn from rng_seed. */
double rbm_dense_pseudo_likelihood(const rbm_dense_model *m, const float *x,
                                   uint64_t rng_seed);
int rbm_dense_class_probs(const rbm_dense_model *m, const float *x, float *p);
/* n vectors by block Gibbs sampling from a random start, steps up-down
** passes each; out: n rows of d, the visible means of the last pass, in
** feature space. */
int rbm_dense_sample(const rbm_dense_model *m, size_t n, int steps,
                     uint64_t seed, float *out);

int rbm_blob_is_dense(const void *blob, size_t n);
size_t rbm_dense_blob_size(const rbm_dense_model *m);
int rbm_dense_write(const rbm_dense_model *m, rbm_sink sink, void *ctx);
int rbm_dense_load(const void *blob, size_t n, rbm_dense_model **out,
                   char *err, size_t errlen);

#endif /* RBM_H */
