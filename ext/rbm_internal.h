/*
** rbm_internal.h -- what the engine's files and the SQL glue share that is
** not the public API (include/rbm.h): the key table's slots, scratch
** sizes, serving's fold-in in steps, ranking and evaluation helpers, the
** thread pool and BLAS thread controls.  No promise of stability.
*/
#ifndef RBM_INTERNAL_H
#define RBM_INTERNAL_H

#include "rbm.h"

#include <string.h>

/* A slot of rbm_keys' open-addressing table: an integer key itself, or a
** text key's hash, so a lookup reads one slot per probe and text only on a
** hash match. */
struct rbm_key_slot {
  int64_t key;       /* the integer, or the text's 64-bit hash */
  uint32_t index1;   /* index + 1; 0 = empty */
  uint32_t is_text;
};

/* The most ratings any user has (at least 1): what per-user scratch holds. */
size_t rbm_ratings_longest_row(const rbm_ratings *r);

/* Fills m->prior from m->count; done by rbm_train and rbm_model_load. */
int rbm_model_derive_prior(rbm_model *m);

/* The same in two steps: the hidden units' total input (hbias plus the
** rated rows of W), then p = sigmoid(act) over n values. */
void rbm_hidden_input(const rbm_model *m, size_t n, const uint32_t *items,
                      const uint8_t *units, float *act);
void rbm_sigmoid_all(const float *act, float *p, int n);
/* Serving's fold-in: the same input summed in double (sum = hbias + the
** rated rows), so a sum kept up to date by adding and taking away rows as
** ratings come and go agrees with the one made afresh in any order to
** within one rounding of the float it is rounded to; then p =
** sigmoid((float)sum) over n values. */
void rbm_hidden_sum(const rbm_model *m, size_t n, const uint32_t *items,
                    const uint8_t *units, double *sum);
void rbm_hidden_sum_add(const rbm_model *m, uint32_t item, uint32_t unit,
                        int sign, double *sum);  /* sign: +1 or -1 */
void rbm_sigmoid_sums(const double *sum, float *p, int n);

/* For each row u of held (same users and items as train), the mean-field
** answers for its ratings given u's ratings in train: rating[j] and
** like[j] in held's CSR order.  A row with no training ratings gets the
** items' priors.  RBM_OK or RBM_NOMEM. */
int rbm_predict_held(const rbm_model *m, const rbm_ratings *train,
                     const rbm_ratings *held, const uint8_t *unit_of_code,
                     float *rating, float *like);

/* out = counts over K units smoothed towards global with 2 pseudo-ratings:
** (count_k + 2 global_k) / (total + 2).  The priors of items (and, for an
** item-based model, of the source's items) are made with it. */
void rbm_smooth_counts(size_t K, const double *count, double total,
                       const double *global, float *out);

/* ---- the thread pool (rbm_pool.c) --------------------------------- */

/* One pool for the whole engine: training keeps one for its run, scoring
** starts one per call.  The caller's thread is worker 0; a task gets the
** index of the worker running it (worker < rbm_pool_size), so it can use
** that worker's scratch.  Tasks of one run must be independent. */
#define RBM_MAX_TASK_THREADS 64   /* rbm_parallel_for runs at most this many */
typedef void (*rbm_task)(void *ctx, size_t i, int worker);
typedef struct rbm_pool rbm_pool;
/* threads - 1 threads, or as many as the system gives; NULL: out of
** memory. */
rbm_pool *rbm_pool_start(int threads);
int rbm_pool_size(const rbm_pool *p);   /* workers, the caller included */
/* fn(ctx, i, worker) for every i in [0, n), taken chunk at a time (0:
** about 16 chunks a worker, to even out the load).  Worker 0 first runs
** side(side_ctx), if given, then joins in: the others take the tasks it
** would have taken meanwhile. */
void rbm_pool_run(rbm_pool *p, size_t n, size_t chunk, rbm_task fn,
                  void *ctx, void (*side)(void *), void *side_ctx);
void rbm_pool_stop(rbm_pool *p);        /* NULL: nothing */
/* A pool of up to threads workers (no more than n) for one run of chunk 1. */
void rbm_parallel_for(int threads, size_t n, rbm_task fn, void *ctx);

/* Every item's softmax for n users at once, one GEMM: hidden is n rows of
** n_hidden, probs n rows of n_items * n_units; the softmaxes on up to
** threads threads. */
void rbm_all_item_probs_batch(const rbm_model *m, size_t n, const float *hidden,
                              float *probs, int threads);

/* ---- evaluation (rbm_metrics.c) ---------------------------------- */

/* Area under the ROC curve of scores for 0/1 labels: the chance that a
** random positive scores above a random negative, ties counting one half.
** NAN when every label is the same (or out of memory). */
double rbm_auc(const float *score, const uint8_t *label, size_t n);

/* Top-k ranking quality, summed over users; divide each by users.  For one
** user with R relevant items (R >= 1) and hits among the first k ranked:
**   precision = hits / k          recall = hits / R
**   ndcg      = sum over hits at rank r (from 1) of 1 / log2(r + 1),
**               over the same sum for min(k, R) hits at the top
**   map       = sum over hits at rank r of (hits so far) / r, over min(k, R) */
typedef struct rbm_ranking_sums {
  size_t k;
  double users;
  double precision, recall, ndcg, map;
} rbm_ranking_sums;

/* Adds a user: top[0 .. n_top) is the ranking, best first; relevant[0 ..
** n_relevant) the relevant items that could be ranked, sorted ascending;
** n_relevant_total also counts relevant items that could not be (unknown
** to the model), which count against recall, NDCG and MAP.  A user with no
** relevant item is not counted. */
void rbm_ranking_add(rbm_ranking_sums *s, const uint32_t *top, size_t n_top,
                     const uint32_t *relevant, size_t n_relevant,
                     size_t n_relevant_total);

/* Item-based models, for n_users users (the model's indexes of them, one
** of its visible units each; UINT32_MAX for a user it does not know, whose
** block is left as it is): each user's unit probabilities in n items whose
** hidden probabilities are the rows of hidden (n x n_hidden); probs is
** n_users blocks of n rows of n_units.  scratch: RBM_VISIBLE_SCRATCH floats,
** the caller's, so a batch after batch allocates nothing. */
void rbm_visible_probs_batch(const rbm_model *m, size_t n_users,
                             const uint32_t *users, size_t n,
                             const float *hidden, float *probs, float *scratch,
                             int threads);
/* The floats of scratch rbm_visible_probs_batch needs. */
#define RBM_VISIBLE_SCRATCH(m, n_users, n) \
  ((size_t)(n_users) * (m)->n_units * ((m)->layer.n_hidden + (size_t)(n)))

/* One user's top k of n candidate rows by P(like), best first.  Row j's
** unit probabilities are probs + j * n_units when probs is given and
** placed[j], else row_prior + j * n_units; rows with skip[j] are left out.
** With other_probs (another model's n rows, the same units; orientation
** 'both'), P(like) = w_like * this + (1 - w_like) * other, the rating
** likewise with w_rating.  out[].item is j; *n_out at most k. */
void rbm_rank_rows(const rbm_model *m, size_t n, const float *probs,
                   const uint8_t *placed, const float *row_prior,
                   const uint8_t *skip, const float *other_probs,
                   double w_rating, double w_like, size_t k,
                   rbm_recommendation *out, size_t *n_out);

/* BLAS identification for rbm_debug(). */
const char *rbm_blas_config(void);
/* 1 if need (what the training allocates) and held (what its input
** takes) fit the limit max_memory sets; else 0, and err says "training
** would need about ... (need for need_what, held for held_what), more
** than max_memory (...): hint, or raise max_memory". */
int rbm_memory_fits(double need, const char *need_what, double held,
                    const char *held_what, double max_memory, const char *hint,
                    char *err, size_t errlen);
int rbm_blas_threads(void);
void rbm_blas_set_threads(int n);
/* Stops the BLAS library's idle threads until its next threaded call
** (OpenBLAS); does nothing elsewhere.  Call while no BLAS call runs. */
void rbm_blas_park_threads(void);

/* ---- feature models (rbm_dense.c, rbm_head.c) --------------------- */

/* out = x standardised as the model's training rows were (a copy when
** the visible units are Bernoulli); out may be x. */
void rbm_dense_standardise(const rbm_dense_model *m, const float *x,
                           float *out);
/* H = P(h = 1 | V) for rows of standardised V (one GEMM). */
void rbm_dense_hidden_rows(const rbm_dense_model *m, const float *V,
                           size_t rows, float *H);
/* V = the visible units' means given rows of H, standardised space. */
void rbm_dense_visible_rows(const rbm_dense_model *m, const float *H,
                            size_t rows, float *V);
/* The softmax head: minimises mean cross-entropy + l2 / 2 |W|^2 over the
** n rows of X (d each) and their classes y (< C) by L-BFGS; W is C rows
** of d, b C floats.  RBM_OK or RBM_NOMEM. */
int rbm_head_train(const float *X, size_t n, uint32_t d, const uint32_t *y,
                   uint32_t C, double l2, int max_iterations, float *W,
                   float *b, int *iterations, double *loss);
/* p = softmax(W x + b). */
void rbm_head_probs(const float *W, const float *b, uint32_t C, uint32_t d,
                    const float *x, float *p);

/* ---- the best k of a stream of entries (rbm_topk.c) ---------------------- */

/* What an entry (rbm_recommendation, rbm_neighbour) starts with. */
typedef struct rbm_ranked {
  uint32_t id;
  float score;
} rbm_ranked;
#define RBM_TOPK_MAX_ENTRY 16

/* The entry ranks below a candidate (id, score): a lower score, or the
** same score and a higher id.  The test of a candidate against a heap's
** worst before the entry is made. */
static inline int rbm_ranks_below(const void *entry, uint32_t id, float score) {
  rbm_ranked x;
  memcpy(&x, entry, sizeof x);
  return x.score < score || (x.score == score && x.id > id);
}
/* Entry a ranks below entry b. */
static inline int rbm_ranked_below(const void *a, const void *b) {
  rbm_ranked y;
  memcpy(&y, b, sizeof y);
  return rbm_ranks_below(a, y.id, y.score);
}
/* Offers entry (size bytes) to heap, which keeps the best k of those
** offered (*n of them so far).  When *n == k the entry is kept only if
** the heap's worst (heap[0]) ranks below it: test that first with
** rbm_ranks_below, before making the entry. */
void rbm_topk_offer(void *heap, size_t size, size_t *n, size_t k, const void *entry);
/* The heap's n entries to a list, best first. */
void rbm_topk_sort(void *heap, size_t size, size_t n);

#endif /* RBM_INTERNAL_H */
