/*
** rbm_train.c -- minibatch contrastive divergence (CD-k) over users.
**
** Read top to bottom:
**   convert_rows      while a large model trains, each weight row as bfloat16
**                     tops (what the chains read) and the remainders that
**                     make it exact
**   init_model        weights ~ N(0, 0.01), visible biases = log base rates
**   gather_batch      a minibatch's ratings, grouped by user and by item
**   chain             one user's CD-k chain: up, then k x (down, up)
**   update_items      per item: gradient v0 h0' - vk hk', momentum step
**   dense_batch       visible 'implicit': the same steps over every item,
**                     as minibatch matrices and GEMMs
**   run_workers       users or items shared out to threads as they free up
**   split_ratings     a validation share of each user's ratings (early stopping)
**   measure_user      mean-field predictions of a user's training (or
**                     validation) ratings
**   rbm_train         epochs of shuffled minibatches
**
** One RBM per user over the items that user rated (Salakhutdinov et al.
** 2007).  A minibatch runs its users' chains (threads share the users),
** then the update runs over its items (threads share the items): an item's
** gradient is summed from the hidden vectors of the users who rated it, in
** minibatch order, and its rows are stepped at once, so no thread ever
** writes what another reads.  Only the rows of the items a minibatch rated
** are read, updated and decayed: a minibatch costs in proportion to its
** ratings, not to the catalogue.
**
** Every sum runs in a fixed order and every random draw of a user's chain
** comes from a stream keyed by (seed, epoch, user), so the model does not
** depend on the number of threads or on which thread ran what; nor do the
** errors reported, kept per user and summed in user order.
*/
#include "rbm_internal.h"
#include "rbm_math.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct trainer trainer;

/* Aligned to a cache line: two workers' counters never share one. */
typedef struct worker {
  _Alignas(64) trainer *t;
  float *grad;         /* one item's K gradient rows (update_items) */
  /* Scratch for measure_user, sized for the longest user row. */
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

struct trainer {
  const rbm_config *cfg;
  const rbm_ratings *r;
  rbm_model *m;
  uint8_t unit_of_code[RBM_MAX_VALUES];
  /* Momentum.  The weights' velocities are kept as bfloat16 (the top half
  ** of a float, rounded): a velocity only steers the next steps, and at
  ** hidden 600 the half it saves is a fifth of the bytes a minibatch moves
  ** (weights_step). */
  uint16_t *vel_W;
  float *vel_vbias, *vel_hbias;
  int split;  /* the weight rows are split (convert_rows), not floats */
  /* Binary models: per item, its like row less its dislike row.  The chain
  ** reads one row per rating instead of two (see binary_probs). */
  float *diff_W;
  uint32_t *order;                       /* users, shuffled each epoch */
  int epoch;
  int cd_k;                       /* this epoch's, from the schedules */
  uint8_t *pcd_units;   /* persistent CD: each rating's unit in its user's
                        ** chain, kept from epoch to epoch (t->r's layout) */
  /* momentum_step's: this epoch's momentum and learning rate, and 1 / the
  ** minibatch's users (set by train_batch and dense_batch). */
  float momentum, learning_rate, grad_scale;
  /* The minibatch being trained, and the next one, which worker 0
  ** gathers while the others start on this one's chains. */
  minibatch mb[2], *b;
  int gathered;  /* 0 if gathering the next one ran out of memory */
  worker *w;
  int n_workers;
  struct pool *pool;                     /* threads for workers 1.. */
  /* The round being run: job(worker, j) for j in [0, n_jobs), taken
  ** job_chunk at a time from next_job. */
  void (*job)(worker *, uint32_t j);
  atomic_uint next_job;
  uint32_t n_jobs, job_chunk;
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
  /* visible 'implicit': a minibatch as dense matrices (dense_batch). */
  struct dense {
    float *v_data, *v_model;                /* B x n_items */
    float *h_data, *h_sample, *h_model;     /* B x n_hidden */
    float *grad;                            /* n_items x n_hidden */
    rbm_rng *rng;                           /* B: each user's stream */
  } d;
};

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- split weight rows ------------------------------------------------- */

/* While a sparse model whose weights outgrow the caches trains, each
** weight row of F floats holds, in the same bytes, two planes of F 16-bit
** halves: first the weights rounded to bfloat16 -- what the chains read,
** at half the bytes of the floats -- then the remainders that make each
** weight exact again (rbm_split_weight).  The chains' passes read twice as
** many weights per byte moved, and the update reads and writes both planes,
** as many bytes as the floats.  A model that fits the caches gains nothing
** by it and pays the conversions, so it stays in floats (t->split 0).
** convert_rows turns rows of floats into this and back. */
static inline float *w_row(const rbm_model *m, uint32_t item, uint32_t unit) {
  return m->W + ((size_t)item * m->n_units + unit) * m->n_hidden;
}

static inline uint16_t *split_row(const rbm_model *m, uint32_t item,
                                  uint32_t unit) {
  return (uint16_t *)w_row(m, item, unit);
}

/* Rows [c * SPLIT_CHUNK, ...) of the model turned to what t->split says
** (split, or floats), in place through a row of scratch (the worker's
** hidden vector). */
#define SPLIT_CHUNK 256
static void convert_rows(worker *w, uint32_t c) {
  const rbm_model *m = w->t->m;
  size_t F = m->n_hidden, rows = (size_t)m->n_items * m->n_units;
  for (size_t r = (size_t)c * SPLIT_CHUNK; r < rows && r < (size_t)(c + 1) * SPLIT_CHUNK; r++) {
    float *row = m->W + r * F, *tmp = w->hidden;
    uint16_t *top = (uint16_t *)row, *rest = top + F;
    if (w->t->split) {
      memcpy(tmp, row, F * sizeof *row);
      for (size_t f = 0; f < F; f++) rbm_split_weight(tmp[f], &top[f], &rest[f]);
    } else {
      for (size_t f = 0; f < F; f++) tmp[f] = rbm_join_weight(top[f], rest[f]);
      memcpy(row, tmp, F * sizeof *row);
    }
  }
}

/* ---- initialisation --------------------------------------------------- */

/* Two independent N(0, 1) draws (Box-Muller: both halves are used). */
static void gaussian_pair(rbm_rng *rng, float *a, float *b) {
  float u1 = rbm_rng_uniform(rng), u2 = rbm_rng_uniform(rng);
  float radius = sqrtf(-2.f * logf(1.f - u1)), angle = 6.2831853f * u2;
  *a = radius * cosf(angle);
  *b = radius * sinf(angle);
}

/* Weights in chunks of INIT_CHUNK, each from its own stream keyed by
** (seed, chunk): the threads share the work, and the draws do not depend
** on how many there are. */
#define INIT_CHUNK 65536
static void init_weights(worker *w, uint32_t c) {
  rbm_model *m = w->t->m;
  size_t nw = (size_t)m->n_items * m->n_units * m->n_hidden;
  size_t lo = (size_t)c * INIT_CHUNK;
  size_t hi = lo + INIT_CHUNK < nw ? lo + INIT_CHUNK : nw;
  rbm_rng rng;
  rbm_rng_seed(&rng, w->t->cfg->seed, UINT64_MAX, c);
  for (size_t j = lo; j < hi; j += 2) {
    float a, b;
    gaussian_pair(&rng, &a, &b);
    m->W[j] = 0.01f * a;
    if (j + 1 < hi) m->W[j + 1] = 0.01f * b;
  }
}

static void run_workers(trainer *t, uint32_t n,
                        void (*job)(worker *, uint32_t), uint32_t chunk,
                        void (*side)(trainer *));

/* Splits (split 1) or joins the weight rows, if they are not so already. */
static void set_split(trainer *t, int split) {
  if (t->split == split) return;
  size_t rows = (size_t)t->m->n_items * t->m->n_units;
  t->split = split;
  run_workers(t, (uint32_t)((rows + SPLIT_CHUNK - 1) / SPLIT_CHUNK),
              convert_rows, 0, NULL);
}

/* The difference rows of items lo .. hi-1 (binary models). */
static inline void set_diff_rows(trainer *t, size_t lo, size_t hi) {
  size_t F = t->m->n_hidden;
  for (size_t i = lo; i < hi; i++) {
    float *d = t->diff_W + i * F;
    if (t->split) {
      const uint16_t *w0 = split_row(t->m, (uint32_t)i, 0);
      const uint16_t *w1 = split_row(t->m, (uint32_t)i, 1);
#pragma omp simd
      for (size_t f = 0; f < F; f++)
        d[f] = rbm_join_weight(w1[f], w1[F + f]) - rbm_join_weight(w0[f], w0[F + f]);
    } else {
      const float *w0 = w_row(t->m, (uint32_t)i, 0), *w1 = w0 + F;
#pragma omp simd
      for (size_t f = 0; f < F; f++) d[f] = w1[f] - w0[f];
    }
  }
}

static int init_model(trainer *t) {
  rbm_model *m = t->m;
  const rbm_ratings *r = t->r;
  uint32_t K = m->n_units;
  size_t nw = (size_t)m->n_items * K * m->n_hidden;
  uint32_t chunks = (uint32_t)((nw + INIT_CHUNK - 1) / INIT_CHUNK);
  run_workers(t, chunks, init_weights, 0, NULL);
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
  if (m->visible == RBM_VISIBLE_IMPLICIT) {
    /* Unit 0 ("no interaction") is the reference: its rows and biases
    ** stay 0, and unit 1's bias starts at the log-odds of the item's share
    ** of users.  The counts of unit 0 are the users without a row, which
    ** the priors (unplaced users) then turn into popularity. */
    size_t F = m->n_hidden;
    double nu = (double)r->users.n;
    for (size_t i = 0; i < m->n_items; i++) {
      double p = (m->count[i * 2 + 1] + 1.0) / (nu + 2.0);
      memset(m->W + i * 2 * F, 0, F * sizeof *m->W);
      m->vbias[i * 2] = 0;
      m->vbias[i * 2 + 1] = (float)log(p / (1 - p));
      m->count[i * 2] = (uint32_t)(nu - m->count[i * 2 + 1]);
    }
  }
  if (t->diff_W) set_diff_rows(t, 0, m->n_items);
  return 1;
}

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

/* ---- the CD-k passes ------------------------------------------------------- */

static void sample_bernoulli(rbm_rng *rng, const float *p, float *out, int n) {
  for (int f = 0; f < n; f++) out[f] = rbm_rng_uniform(rng) < p[f] ? 1.f : 0.f;
}

/* A unit drawn from a softmax's K probabilities. */
static inline int sample_unit(rbm_rng *rng, const float *p, int K) {
  float x = rbm_rng_uniform(rng);
  for (int c = 0; c < K - 1; c++) {
    x -= p[c];
    if (x < 0) return c;
  }
  return K - 1;
}

/* p(dislike), p(like) of n items of a binary model given hidden h:
** p(like) = sigmoid(b1 - b0 + (W1 - W0) . h), one dot over the item's
** difference row (which the chain's update then adds or takes away) where
** the softmax would take two. */
RBM_CLONES static void binary_probs(const trainer *t, const float *h, size_t n,
                                    const uint32_t *items, float *probs) {
  const rbm_model *m = t->m;
  int F = (int)m->n_hidden;
  size_t row_bytes = (size_t)F * sizeof(float);
  int cold = rbm_weights_are_cold((size_t)m->n_items * F);
  for (size_t q = 0; q < n; q++) {
    if (q + RBM_PREFETCH_AHEAD < n)
      rbm_prefetch(t->diff_W + (size_t)items[q + RBM_PREFETCH_AHEAD] * F,
                   cold ? row_bytes : 1);
    const float *vb = m->vbias + (size_t)items[q] * 2;
    probs[2 * q + 1] = vb[1] - vb[0] + rbm_dot(t->diff_W + (size_t)items[q] * F, h, F);
  }
#pragma omp simd
  for (size_t q = 0; q < n; q++) {
    float like = rbm_sigmoid(probs[2 * q + 1]);
    probs[2 * q] = 1.f - like;
    probs[2 * q + 1] = like;
  }
}

/* Dot products of top planes with a hidden vector: top_dot for one row,
** top_dot4 for four rows stride halves apart (the vector read once for
** all four).  A 32-byte load of sixteen top halves gives, per 32-bit lane,
** an even weight (lane << 16) and the odd one after it (lane with its low
** half cleared), so the vector is taken in that order: in blocks of
** sixteen, its even floats and then its odd ones (even_odd).  Eight-lane
** vectors and separate accumulators, as rbm_dot and rbm_dot4. */
static void even_odd(const float *h, float *out, int n) {
  int f = 0;
  for (; f + 16 <= n; f += 16)
    for (int i = 0; i < 8; i++) {
      out[f + i] = h[f + 2 * i];
      out[f + 8 + i] = h[f + 2 * i + 1];
    }
  for (; f < n; f++) out[f] = h[f];
}

#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
typedef uint32_t rbm_u32x8 __attribute__((vector_size(32)));
#define TOP_EVEN(x) ((rbm_v8)((x) << 16))
#define TOP_ODD(x) ((rbm_v8)((x) & 0xffff0000u))

/* By pointer: a vector argument would change the baseline clone's ABI. */
static inline float sum_lanes(const rbm_v8 *v) {
  rbm_v8 a = *v;
  rbm_v4 lo = {a[0], a[1], a[2], a[3]}, hi = {a[4], a[5], a[6], a[7]};
  lo += hi;
  return (lo[0] + lo[2]) + (lo[1] + lo[3]);
}

/* always_inline: GCC otherwise calls one baseline copy from the clones */
#define TOP_INLINE static inline __attribute__((always_inline))
TOP_INLINE float top_dot(const uint16_t *restrict w, const float *restrict h,
                         int n) {
  rbm_v8 a0 = {0}, a1 = {0}, y0, y1;
  rbm_u32x8 x;
  int f = 0;
  for (; f + 16 <= n; f += 16) {
    __builtin_memcpy(&x, w + f, sizeof x);
    __builtin_memcpy(&y0, h + f, sizeof y0);
    __builtin_memcpy(&y1, h + f + 8, sizeof y1);
    a0 += TOP_EVEN(x) * y0;
    a1 += TOP_ODD(x) * y1;
  }
  a0 += a1;
  float s = sum_lanes(&a0);
  for (; f < n; f++) s += rbm_bf16_to_float(w[f]) * h[f];
  return s;
}

TOP_INLINE void top_dot4(const uint16_t *restrict w, size_t stride,
                         const float *restrict h, int n, float *out) {
  rbm_v8 e0 = {0}, e1 = {0}, e2 = {0}, e3 = {0};
  rbm_v8 o0 = {0}, o1 = {0}, o2 = {0}, o3 = {0}, y0, y1;
  rbm_u32x8 x;
  int f = 0;
  for (; f + 16 <= n; f += 16) {
    __builtin_memcpy(&y0, h + f, sizeof y0);
    __builtin_memcpy(&y1, h + f + 8, sizeof y1);
    __builtin_memcpy(&x, w + f, sizeof x);
    e0 += TOP_EVEN(x) * y0;
    o0 += TOP_ODD(x) * y1;
    __builtin_memcpy(&x, w + stride + f, sizeof x);
    e1 += TOP_EVEN(x) * y0;
    o1 += TOP_ODD(x) * y1;
    __builtin_memcpy(&x, w + 2 * stride + f, sizeof x);
    e2 += TOP_EVEN(x) * y0;
    o2 += TOP_ODD(x) * y1;
    __builtin_memcpy(&x, w + 3 * stride + f, sizeof x);
    e3 += TOP_EVEN(x) * y0;
    o3 += TOP_ODD(x) * y1;
  }
  rbm_v8 sums[4] = {e0 + o0, e1 + o1, e2 + o2, e3 + o3};
  for (int r = 0; r < 4; r++) {
    float s = sum_lanes(&sums[r]);
    for (int g = f; g < n; g++) s += rbm_bf16_to_float(w[r * stride + g]) * h[g];
    out[r] = s;
  }
}
#else
static inline float top_dot(const uint16_t *restrict w,
                            const float *restrict h, int n) {
  float s = 0.f;
  int f = 0;
  for (; f + 16 <= n; f += 16)
    for (int i = 0; i < 16; i++) s += rbm_bf16_to_float(w[f + i]) * h[f + (i & 1) * 8 + i / 2];
  for (; f < n; f++) s += rbm_bf16_to_float(w[f]) * h[f];
  return s;
}

static inline void top_dot4(const uint16_t *restrict w, size_t stride,
                            const float *restrict h, int n, float *out) {
  for (int r = 0; r < 4; r++) out[r] = top_dot(w + r * stride, h, n);
}
#endif

/* rbm_hidden_input on split rows: act = hbias + the top planes of the rows
** of (items[j], units[j]).  Rows are split only when the weights are
** large, so they are always prefetched. */
RBM_CLONES static void split_hidden_input(const trainer *t, size_t n,
                                          const uint32_t *items,
                                          const uint8_t *units, float *act) {
  const rbm_model *m = t->m;
  int F = (int)m->n_hidden;
  memcpy(act, m->hbias, (size_t)F * sizeof *act);
  for (size_t j = 0; j < n; j++) {
    if (j + RBM_PREFETCH_AHEAD < n)
      rbm_prefetch(split_row(m, items[j + RBM_PREFETCH_AHEAD],
                             units[j + RBM_PREFETCH_AHEAD]),
                   (size_t)F * sizeof(uint16_t));
    const uint16_t *top = split_row(m, items[j], units[j]);
#pragma omp simd
    for (int f = 0; f < F; f++) act[f] += rbm_bf16_to_float(top[f]);
  }
}

/* The chain's hidden input, from split rows or floats. */
static inline void chain_hidden_input(const trainer *t, size_t n,
                                      const uint32_t *items,
                                      const uint8_t *units, float *act) {
  if (t->split) {
    split_hidden_input(t, n, items, units, act);
  } else {
    rbm_hidden_input(t->m, n, items, units, act);
  }
}

/* rbm_items_probs on split rows: the softmaxes of n items given hidden h
** (in even_odd order), from the top planes. */
RBM_CLONES static void split_items_probs(const trainer *t, const float *h,
                                         size_t n, const uint32_t *items,
                                         float *probs) {
  const rbm_model *m = t->m;
  int F = (int)m->n_hidden, K = (int)m->n_units;
  for (size_t j = 0; j < n; j++) {
    if (j + 1 < n)  /* split rows are large ones: always prefetched */
      for (int k = 0; k < K; k++)
        rbm_prefetch(split_row(m, items[j + 1], (uint32_t)k),
                     (size_t)F * sizeof(uint16_t));
    const uint16_t *w = split_row(m, items[j], 0);
    size_t stride = 2 * (size_t)F;  /* halves from one row's top to the next's */
    float *p = probs + j * K;
    int k = 0;
    for (; k + 4 <= K; k += 4) top_dot4(w + k * stride, stride, h, F, p + k);
    for (; k < K; k++) p[k] = top_dot(w + k * stride, h, F);
    const float *vb = m->vbias + (size_t)items[j] * K;
    for (k = 0; k < K; k++) p[k] += vb[k];
  }
  rbm_softmax_rows(probs, n, K);
}

/* The softmaxes of n items in a chain's down pass, given the hidden sample
** hs (and, for split rows, it in even_odd order, hs_eo): one dot with the
** difference row for a binary model, K dots with the top planes of split
** rows, or K with the float rows. */
static inline void chain_items_probs(const trainer *t, const float *hs,
                                     const float *hs_eo, size_t n,
                                     const uint32_t *items, float *probs) {
  if (t->diff_W) {
    binary_probs(t, hs, n, items, probs);
  } else if (t->split) {
    split_items_probs(t, hs_eo, n, items, probs);
  } else {
    rbm_items_probs(t->m, hs, n, items, probs);
  }
}

/* act += the rows of item's new unit less those of the unit it had. */
static inline void unit_changed(const trainer *t, float *restrict act,
                                uint32_t item, uint32_t unit, uint32_t was) {
  const rbm_model *m = t->m;
  int F = (int)m->n_hidden;
  if (t->diff_W) {  /* like: + (W1 - W0); dislike: - (W1 - W0) */
    rbm_axpy(act, unit ? 1.f : -1.f, t->diff_W + (size_t)item * F, F);
  } else if (t->split) {
    const uint16_t *now = split_row(m, item, unit), *old = split_row(m, item, was);
#pragma omp simd
    for (int f = 0; f < F; f++)
      act[f] += rbm_bf16_to_float(now[f]) - rbm_bf16_to_float(old[f]);
  } else {
    const float *now = w_row(m, item, unit), *old = w_row(m, item, was);
#pragma omp simd
    for (int f = 0; f < F; f++) act[f] += now[f] - old[f];
  }
}

/* One user's CD-k chain, for minibatch user j (users are independent
** while the weights stand still):
**   positive phase  h_data = p(h | v_data), and a hidden sample from it;
**   k Gibbs steps   each rated item's softmax given the hidden sample, a
**                   sampled unit, then h_model = p(h | that sample).
** After the first step most sampled units stay as they were, so the hidden
** input is updated by the rows of the units that changed -- exact up to
** rounding, which a full recount every 16 steps keeps from drifting. */
RBM_CLONES static void chain(worker *w, uint32_t job) {
  trainer *t = w->t;
  const rbm_model *m = t->m;
  const rbm_ratings *r = t->r;
  minibatch *b = t->b;
  uint32_t j = b->by_length[job];
  int F = (int)m->n_hidden, K = (int)m->n_units;
  uint32_t user = t->order[b->lo + j];
  const uint8_t *unit_data = b->unit_data + b->user_start[j];
  size_t n = (size_t)(b->user_start[j + 1] - b->user_start[j]);
  const uint32_t *items = r->col_item + r->row[user];
  float *act = b->act + (size_t)j * F, *hs = b->h_sample + (size_t)j * F;
  float *hd = b->h_data + (size_t)j * F, *hm = b->h_model + (size_t)j * F;
  /* The down pass runs over blocks of items whose rows fit in L1 cache
  ** together, so the rows of a changed unit are still there for the
  ** hidden input's update. */
  size_t row_bytes = t->diff_W ? (size_t)F * sizeof(float)
                    : (size_t)K * F * (t->split ? sizeof(uint16_t) : sizeof(float));
  size_t block = 16384 / row_bytes;
  if (block < 4) block = 4;
  double sq_err = 0;
  rbm_rng rng;
  rbm_rng_seed(&rng, t->cfg->seed, (uint64_t)t->epoch, user);

  memcpy(w->units, unit_data, n);
  chain_hidden_input(t, n, items, w->units, act);
  rbm_sigmoid_all(act, hd, F);
  uint8_t *persistent = t->pcd_units ? t->pcd_units + r->row[user] : NULL;
  if (persistent) {  /* PCD: the negative phase goes on from the user's last sample */
    memcpy(w->units, persistent, n);
    chain_hidden_input(t, n, items, w->units, act);
    rbm_sigmoid_all(act, hm, F);
    sample_bernoulli(&rng, hm, hs, F);
  } else {
    sample_bernoulli(&rng, hd, hs, F);
  }

  for (int step = 1; step <= t->cd_k; step++) {
    if (t->split && !t->diff_W) even_odd(hs, w->hidden, F);  /* for split_items_probs */
    for (size_t q0 = 0; q0 < n; q0 += block) {
      size_t nb = n - q0 < block ? n - q0 : block;
      chain_items_probs(t, hs, w->hidden, nb, items + q0, w->probs);
      for (size_t q = q0; q < q0 + nb; q++) {
        const float *p = w->probs + (q - q0) * K;
        if (step == 1) {  /* reconstruction error of the first step */
          double got = m->visible == RBM_VISIBLE_BINARY
                           ? rbm_like_probability(m, p)
                           : rbm_expected_rating(m, p);
          double want = m->unit_value[unit_data[q]];
          sq_err += (got - want) * (got - want);
        }
        int unit = sample_unit(&rng, p, K);
        uint8_t was = w->units[q];
        w->units[q] = (uint8_t)unit;
        if (step % 16 == 0 || unit == was) continue;
        unit_changed(t, act, items[q], (uint32_t)unit, was);
      }
    }
    if (step % 16 == 0) chain_hidden_input(t, n, items, w->units, act);
    rbm_sigmoid_all(act, hm, F);
    if (step < t->cd_k) sample_bernoulli(&rng, hm, hs, F);
  }
  memcpy(b->unit_model + b->user_start[j], w->units, n);
  if (persistent) memcpy(persistent, w->units, n);
  t->job_sq[j] = sq_err;
}

/* momentum_step's rates, in locals: read from the trainer through a
** pointer, the compiler reloads them for every vector of a row. */
typedef struct step_rates {
  float momentum, learning_rate, grad_scale, decay;
} step_rates;

static inline step_rates rates_of(const trainer *t, float decay) {
  step_rates r = {t->momentum, t->learning_rate, t->grad_scale, decay};
  return r;
}

/* momentum_step for one weight, whose velocity is bfloat16: the step taken
** is the one computed, and the velocity kept is it rounded.  Returns the
** new weight. */
static inline float weight_stepped(step_rates r, float w, uint16_t *vel,
                                   float g) {
  float v = r.momentum * rbm_bf16_to_float(*vel) +
            r.learning_rate * (g * r.grad_scale - r.decay * w);
  *vel = rbm_float_to_bf16(v);
  return w + v;
}

/* The momentum step of a row of float weights. */
RBM_CLONES static void weights_step(const trainer *t, float *w, uint16_t *vel,
                                    const float *g, size_t n, float decay) {
  step_rates r = rates_of(t, decay);
#pragma omp simd
  for (size_t j = 0; j < n; j++) w[j] = weight_stepped(r, w[j], &vel[j], g[j]);
}

/* The same on a split row. */
RBM_CLONES static void split_weights_step(const trainer *t, uint16_t *row,
                                          uint16_t *vel, const float *g,
                                          size_t n, float decay) {
  step_rates r = rates_of(t, decay);
  uint16_t *top = row, *rest = row + n;
#pragma omp simd
  for (size_t j = 0; j < n; j++) {
    float w = weight_stepped(r, rbm_join_weight(top[j], rest[j]), &vel[j], g[j]);
    rbm_split_weight(w, &top[j], &rest[j]);
  }
}

/* vel = momentum * vel + lr * (grad / batch - decay * param); param += vel */
RBM_CLONES static void momentum_step(const trainer *t, float *param,
                                     float *vel, const float *g, size_t n,
                                     float decay) {
  float mom = t->momentum, lr = t->learning_rate, scale = t->grad_scale;
#pragma omp simd
  for (size_t j = 0; j < n; j++) {
    vel[j] = mom * vel[j] + lr * (g[j] * scale - decay * param[j]);
    param[j] += vel[j];
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
  int F = (int)m->n_hidden, K = (int)m->n_units;
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
      rbm_prefetch(m->W + (next_row + c) * F, (size_t)F * sizeof(float));
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
  for (int c = 0; c < K; c++) {
    if (!touched[c]) continue;
    float decay = (float)t->cfg->weight_decay;
    if (t->split) {
      split_weights_step(t, split_row(m, item, (uint32_t)c),
                         t->vel_W + (row + c) * F, g + (size_t)c * F, (size_t)F, decay);
    } else {
      weights_step(t, w_row(m, item, (uint32_t)c), t->vel_W + (row + c) * F,
                   g + (size_t)c * F, (size_t)F, decay);
    }
    momentum_step(t, m->vbias + row + c, t->vel_vbias + row + c, &gb[c], 1,
                  0.f);
  }
  if (t->diff_W) set_diff_rows(t, item, item + 1);
}

/* The hidden biases' step: sum over the minibatch's n users (rows of hd
** and hm), in order; g is F floats of scratch. */
static void hidden_bias_step(trainer *t, const float *hd, const float *hm,
                             uint32_t n, float *g) {
  size_t F = t->m->n_hidden;
  memset(g, 0, F * sizeof *g);
  for (uint32_t u = 0; u < n; u++)
    for (size_t f = 0; f < F; f++) g[f] += hd[u * F + f] - hm[u * F + f];
  momentum_step(t, t->m->hbias, t->vel_hbias, g, F, 0.f);
}

/* ---- threads ------------------------------------------------------------ */

/* A pool of n_workers - 1 threads, started once per training: the caller's
** thread is worker 0.  Each round, run_workers publishes a job, bumps the
** round number and waits until every thread has finished its share.  A
** round can take as little as a few tens of microseconds (a minibatch of
** short rows), which is what a futex wake-up costs, so both sides spin a
** while before they sleep. */
typedef struct pool {
  pthread_mutex_t mu;
  pthread_cond_t start, done;
  atomic_uint round;   /* bumped once per job */
  atomic_int pending;  /* threads still working on this round */
  atomic_int quit;
  pthread_t tid[256];
  int n_threads;
} pool;

#define POOL_SPINS 20000  /* pauses: some tens of microseconds */

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* Takes job_chunk jobs at a time until none are left: a thread that drew
** light users takes more of them, so no share waits on a heavy one. */
static void run_share(worker *w) {
  trainer *t = w->t;
  for (;;) {
    uint32_t j = atomic_fetch_add(&t->next_job, t->job_chunk);
    if (j >= t->n_jobs) return;
    uint32_t end = t->n_jobs - j < t->job_chunk ? t->n_jobs : j + t->job_chunk;
    for (; j < end; j++) t->job(w, j);
  }
}

static void *pool_thread(void *arg) {
  worker *w = arg;
  pool *p = w->t->pool;
  unsigned seen = 0;
  for (;;) {
    for (int s = 0; s < POOL_SPINS && atomic_load(&p->round) == seen &&
                    !atomic_load(&p->quit);
         s++)
      cpu_relax();
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->round) == seen && !atomic_load(&p->quit))
      pthread_cond_wait(&p->start, &p->mu);
    pthread_mutex_unlock(&p->mu);
    if (atomic_load(&p->quit)) return NULL;
    seen = atomic_load(&p->round);
    run_share(w);
    if (atomic_fetch_sub(&p->pending, 1) == 1) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
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
  atomic_store(&p->quit, 1);
  pthread_cond_broadcast(&p->start);
  pthread_mutex_unlock(&p->mu);
  for (int k = 1; k <= p->n_threads; k++) pthread_join(p->tid[k], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->start);
  pthread_cond_destroy(&p->done);
  free(p);
  t->pool = NULL;
}

/* Runs job(worker, j) for every j in [0, n) on all the workers, taken
** chunk at a time; chunk 0 picks one small enough (about 16 per worker) to
** even out the load and large enough that taking one costs nothing next
** to the jobs in it.  Worker 0
** first runs side(t), if given, and then joins in: the others take the
** jobs it would have taken meanwhile. */
static void run_workers(trainer *t, uint32_t n,
                        void (*job)(worker *, uint32_t), uint32_t chunk,
                        void (*side)(trainer *)) {
  t->job = job;
  t->n_jobs = n;
  t->job_chunk = chunk ? chunk : n / ((uint32_t)t->n_workers * 16) + 1;
  atomic_store(&t->next_job, 0);
  pool *p = t->pool;
  if (p && p->n_threads > 0) {
    atomic_store(&p->pending, p->n_threads);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->round, 1);
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
  }
  if (side) side(t);
  run_share(&t->w[0]);
  if (p && p->n_threads > 0) {
    for (int s = 0; s < POOL_SPINS && atomic_load(&p->pending) > 0; s++)
      cpu_relax();
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
  }
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
static int train_batch(trainer *t) {
  minibatch *b = t->b;
  t->grad_scale = 1.f / (float)b->n_users;
  t->gathered = 1;
  /* A chain is long enough to take alone, and they come longest first. */
  run_workers(t, b->n_users, chain, 1, gather_next);
  if (!t->gathered) return 0;
  for (uint32_t j = 0; j < b->n_users; j++) t->epoch_sq += t->job_sq[j];
  run_workers(t, b->n_items, update_items, 0, NULL);
  /* b->act is free once the chains are done: the scratch */
  hidden_bias_step(t, b->h_data, b->h_model, b->n_users, b->act);
  release_batch(b);
  t->b = b == &t->mb[0] ? &t->mb[1] : &t->mb[0];
  return 1;
}

/* ---- implicit feedback: dense minibatches ------------------------------- */

/* visible 'implicit': every item is a Bernoulli unit of every user's RBM,
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
** Each user's draws come from a stream keyed by (seed, epoch, user). */

static inline float *dense_w1(const rbm_model *m) { return m->W + m->n_hidden; }

static void dense_data(trainer *t, uint32_t lo, uint32_t nb, worker *w) {
  const rbm_ratings *r = t->r;
  rbm_model *m = t->m;
  struct dense *d = &t->d;
  size_t n = m->n_items, F = m->n_hidden;
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
    sample_bernoulli(&d->rng[j], d->h_data + j * F, d->h_sample + j * F, (int)F);
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
  size_t n = m->n_items, F = m->n_hidden;
  const float *W1 = dense_w1(m);
  for (int step = 1; step <= t->cd_k; step++) {
    int last = step == t->cd_k;
    /* V1 = p(v | Hs): (B x F) (F x n) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)n,
                (int)F, 1.f, d->h_sample, (int)F, W1, (int)(2 * F), 0.f,
                d->v_model, (int)n);
    dense_sigmoid_rows(d->v_model, nb, n, m->vbias + 1, 2);
    if (step == 1)  /* reconstruction error of the first step */
      t->epoch_sq += dense_sq_diff(d->v_model, d->v_data, (size_t)nb * n);
    if (!last)  /* in place: a sample of the probabilities */
      for (uint32_t j = 0; j < nb; j++)
        sample_bernoulli(&d->rng[j], d->v_model + j * n, d->v_model + j * n,
                         (int)n);
    /* H1 = p(h | V1): (B x n) (n x F) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)F,
                (int)n, 1.f, d->v_model, (int)n, W1, (int)(2 * F), 0.f,
                d->h_model, (int)F);
    dense_sigmoid_rows(d->h_model, nb, F, m->hbias, 1);
    if (!last)
      for (uint32_t j = 0; j < nb; j++)
        sample_bernoulli(&d->rng[j], d->h_model + j * F, d->h_sample + j * F,
                         (int)F);
  }
}

RBM_CLONES static void dense_update(trainer *t, uint32_t lo, uint32_t nb) {
  const rbm_ratings *r = t->r;
  rbm_model *m = t->m;
  struct dense *d = &t->d;
  size_t n = m->n_items, F = m->n_hidden;
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
    weights_step(t, m->W + row * F, t->vel_W + row * F, d->grad + i * F, F,
                  decay);
    momentum_step(t, m->vbias + row, t->vel_vbias + row, &gb[i], 1, 0.f);
  }
  hidden_bias_step(t, d->h_data, d->h_model, nb, d->h_sample);
}

/* One minibatch of users order[lo .. lo+nb). */
static void dense_batch(trainer *t, uint32_t lo, uint32_t nb) {
  t->grad_scale = 1.f / (float)nb;
  dense_data(t, lo, nb, &t->w[0]);
  dense_chain(t, nb);
  dense_update(t, lo, nb);
}

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
static rbm_fit measure(trainer *t, const rbm_ratings *of,
                       const uint32_t *users, uint32_t n, uint64_t ratings) {
  t->measured = of;
  t->measured_users = users;
  run_workers(t, n, measure_user, 0, NULL);
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
static int split_ratings(trainer *t, const rbm_ratings *r, rbm_ratings *train) {
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

static void free_split(rbm_ratings *r) {
  free(r->row);
  free(r->col_item);
  free(r->col_code);
}

/* Keeps (or puts back) the parameters of the best epoch. */
static int copy_params(trainer *t, int restore) {
  rbm_model *m = t->m;
  size_t nv = (size_t)m->n_items * m->n_units, nw = nv * m->n_hidden;
  if (!t->best_W) {
    t->best_W = rbm_alloc_big(nw * sizeof *t->best_W);
    t->best_vbias = malloc(nv * sizeof *t->best_vbias);
    t->best_hbias = malloc(m->n_hidden * sizeof *t->best_hbias);
    if (!t->best_W || !t->best_vbias || !t->best_hbias) return 0;
  }
  if (restore) {
    memcpy(m->W, t->best_W, nw * sizeof *m->W);
    memcpy(m->vbias, t->best_vbias, nv * sizeof *m->vbias);
    memcpy(m->hbias, t->best_hbias, m->n_hidden * sizeof *m->hbias);
  } else {
    memcpy(t->best_W, m->W, nw * sizeof *m->W);
    memcpy(t->best_vbias, m->vbias, nv * sizeof *m->vbias);
    memcpy(t->best_hbias, m->hbias, m->n_hidden * sizeof *m->hbias);
  }
  return 1;
}

/* ---- set-up and tear-down ------------------------------------------------ */

static void free_trainer(trainer *t) {
  pool_stop(t);
  for (int k = 0; t->w && k < t->n_workers; k++) {
    worker *w = &t->w[k];
    free(w->grad);
    free(w->units);
    free(w->hidden);
    free(w->probs);
  }
  free(t->w);
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
  free(t->d.v_data);
  free(t->d.v_model);
  free(t->d.h_data);
  free(t->d.h_sample);
  free(t->d.h_model);
  free(t->d.grad);
  free(t->d.rng);
}

static int alloc_trainer(trainer *t) {
  rbm_model *m = t->m;
  size_t ni = m->n_items, nv = ni * m->n_units, F = m->n_hidden;
  size_t B = (size_t)t->cfg->batch_size, nu = t->r->users.n;
  if (B > nu) B = nu;
  /* measure_user's scratch holds a user's training or validation rows. */
  size_t longest = rbm_ratings_longest_row(t->r);
  if (t->valid.n && rbm_ratings_longest_row(&t->valid) > longest)
    longest = rbm_ratings_longest_row(&t->valid);

  m->W = rbm_alloc_big(nv * F * sizeof *m->W);
  m->vbias = malloc(nv * sizeof *m->vbias);
  m->hbias = malloc(F * sizeof *m->hbias);
  m->count = calloc(nv, sizeof *m->count);
  t->vel_W = rbm_alloc_big(nv * F * sizeof *t->vel_W);
  if (m->visible == RBM_VISIBLE_BINARY) {
    t->diff_W = rbm_alloc_big(ni * F * sizeof *t->diff_W);
    if (!t->diff_W) return 0;
  }
  if (m->visible == RBM_VISIBLE_IMPLICIT) {
    struct dense *d = &t->d;
    d->v_data = rbm_alloc_big(B * ni * sizeof *d->v_data);
    d->v_model = rbm_alloc_big(B * ni * sizeof *d->v_model);
    d->h_data = malloc(B * F * sizeof *d->h_data);
    d->h_sample = malloc(B * F * sizeof *d->h_sample);
    d->h_model = malloc(B * F * sizeof *d->h_model);
    d->grad = rbm_alloc_big(ni * F * sizeof *d->grad);
    d->rng = malloc(B * sizeof *d->rng);
    if (!d->v_data || !d->v_model || !d->h_data || !d->h_sample ||
        !d->h_model || !d->grad || !d->rng)
      return 0;
  }
  t->vel_vbias = calloc(nv, sizeof *t->vel_vbias);
  t->vel_hbias = calloc(F, sizeof *t->vel_hbias);
  t->order = malloc((nu + 1) * sizeof *t->order);
  t->job_sq = malloc((nu + 1) * sizeof *t->job_sq);
  t->job_right = malloc((nu + 1) * sizeof *t->job_right);
  t->job_abs = malloc((nu + 1) * sizeof *t->job_abs);
  /* The sparse minibatches (the dense path has its own, above). */
  for (int k = 0; m->visible != RBM_VISIBLE_IMPLICIT && k < 2; k++) {
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
  t->w = aligned_alloc(64, (size_t)t->n_workers * sizeof *t->w);
  if (t->w) memset(t->w, 0, (size_t)t->n_workers * sizeof *t->w);
  if (!m->W || !m->vbias || !m->hbias || !m->count || !t->vel_W ||
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
  m->n_items = r->items.n;
  m->n_hidden = (uint32_t)t->cfg->hidden;
  m->like_threshold = t->cfg->like_threshold;
  if (m->visible != RBM_VISIBLE_SOFTMAX) {
    int implicit = m->visible == RBM_VISIBLE_IMPLICIT;
    m->n_units = 2;
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
  if (cfg->orientation == RBM_ORIENT_BOTH) {
    snprintf(err, errlen, "orientation 'both' is two trainings, one per half");
    return RBM_ERROR;
  }
  t.cfg = cfg;
  t.r = r;
  t.n_workers = cfg->threads;
  rbm_ratings train;  /* r less the validation share */
  memset(&train, 0, sizeof train);
  if (cfg->validation > 0) {
    if (!split_ratings(&t, r, &train)) goto fail;
    t.r = &train;
  }
  t.m = calloc(1, sizeof *t.m);
  if (!t.m) goto fail;
  if (!shape_model(&t, err, errlen)) {
    rc = RBM_ERROR;
    goto fail;
  }
  if (!copy_item_keys(t.m, &r->items) || !alloc_trainer(&t) ||
      !pool_start(&t))
    goto fail;
  if (!init_model(&t)) goto fail;
  if (cfg->visible == RBM_VISIBLE_IMPLICIT && rbm_blas_threads() != t.n_workers)
    rbm_blas_set_threads(t.n_workers);  /* its GEMMs */
  if (cfg->pcd) {  /* the chains start at the data */
    t.pcd_units = malloc(t.r->n ? t.r->n : 1);
    if (!t.pcd_units) goto fail;
    for (uint64_t q = 0; q < t.r->n; q++)
      t.pcd_units[q] = t.unit_of_code[t.r->col_code[q]];
  }

  uint32_t n_users = r->users.n;
  int implicit = cfg->visible == RBM_VISIBLE_IMPLICIT;
  int split = !implicit && rbm_model_is_cold(t.m);  /* the rows while training */
  rbm_fit best = {0, NAN, NAN, NAN};
  for (int epoch = 1; epoch <= cfg->epochs; epoch++) {
    t.epoch = epoch;
    t.cd_k = rbm_config_cd_k(cfg, epoch);
    t.momentum = (float)rbm_config_momentum(cfg, epoch);
    t.learning_rate = (float)rbm_config_learning_rate(cfg, epoch);
    set_split(&t, split);
    shuffle_users(&t, epoch);
    t.epoch_sq = 0;
    uint32_t B = (uint32_t)cfg->batch_size;
    if (!implicit && !gather_batch(&t, t.b, 0, n_users < B ? n_users : B))
      goto fail;
    for (uint32_t lo = 0; lo < n_users; lo += B) {
      if (implicit) {
        dense_batch(&t, lo, n_users - lo < B ? n_users - lo : B);
      } else if (!train_batch(&t)) {
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
      set_split(&t, 0);  /* measured, and kept, as floats */
      st.validation =
          measure(&t, &t.valid, t.valid_users, t.n_valid_users, t.valid.n);
      if (!(st.validation.rmse >= best.rmse)) {  /* better, or the first */
        best = st.validation;
        report->best_epoch = epoch;
        if (!copy_params(&t, 0)) goto fail;
      }
      st.best_epoch = report->best_epoch;
    }
    st.seconds = now_seconds() - start;
    if (hooks && hooks->on_epoch) hooks->on_epoch(hooks->ctx, &st);
    if (t.valid.n && cfg->patience > 0 &&
        epoch - report->best_epoch >= cfg->patience)
      break;
  }
  set_split(&t, 0);
  if (t.valid.n && !copy_params(&t, 1)) goto fail;  /* the best epoch's model */
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
  rbm_fit fit = measure(&t, t.r, t.order, n_fit, fit_ratings);
  report->fit_ratings = fit_ratings;
  report->train_rmse = t.m->visible == RBM_VISIBLE_SOFTMAX ? fit.rmse : 0;
  report->train_like_accuracy = fit.like_accuracy;
  report->threads = t.n_workers;
  if (rbm_model_derive_prior(t.m) != RBM_OK) goto fail;
  report->seconds = now_seconds() - start;
  free_trainer(&t);
  free_split(&train);
  free_split(&t.valid);
  *out = t.m;
  return RBM_OK;

fail:
  if (rc == RBM_NOMEM) snprintf(err, errlen, "out of memory");
  free_trainer(&t);
  free_split(&train);
  free_split(&t.valid);
  rbm_model_free(t.m);
  return rc;
}
