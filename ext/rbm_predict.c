/*
** rbm_predict.c -- from a user's ratings to predictions.
**
** A user is folded in by one mean-field up-pass over the items they rated:
**   p(h_f = 1 | v) = sigmoid(hbias_f + sum over rated (i, k) of W[i][k][f]).
** An item's rating distribution is then the softmax over its units:
**   p(v_i = k | h) = softmax_k(vbias[i][k] + W[i][k] . h).
** The prediction is the expectation over that softmax (Salakhutdinov et al.
** 2007).  Scoring every item is one GEMV through BLAS.
*/
#include "rbm_internal.h"
#include "rbm_math.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

static inline const float *weight_row(const rbm_model *m, uint32_t item,
                                      uint32_t unit) {
  return m->layer.W + ((size_t)item * m->n_units + unit) * m->layer.n_hidden;
}

RBM_CLONES void rbm_hidden_input(const rbm_model *m, size_t n,
                                 const uint32_t *items, const uint8_t *units,
                                 float *act) {
  int F = (int)m->layer.n_hidden;
  int cold = rbm_model_is_cold(m);
  memcpy(act, m->layer.hbias, (size_t)F * sizeof *act);
  for (size_t j = 0; j < n; j++) {
    if (cold && j + RBM_PREFETCH_AHEAD < n)
      rbm_prefetch(weight_row(m, items[j + RBM_PREFETCH_AHEAD],
                              units[j + RBM_PREFETCH_AHEAD]),
                   (size_t)F * sizeof(float));
    rbm_add(act, weight_row(m, items[j], units[j]), F);
  }
}

void rbm_fold_in(const rbm_model *m, size_t n, const uint32_t *items,
                 const uint8_t *units, float *hidden) {
  rbm_hidden_input(m, n, items, units, hidden);
  rbm_sigmoid_all(hidden, hidden, (int)m->layer.n_hidden);
}

/* The sums in double: each term is a float, so sums of the same terms in
** any order, or one kept by adding and taking away terms, agree to far
** below a float's precision, and rounded to float they agree to within one
** rounding. */
RBM_CLONES void rbm_hidden_sum(const rbm_model *m, size_t n,
                               const uint32_t *items, const uint8_t *units,
                               double *sum) {
  int F = (int)m->layer.n_hidden;
  int cold = rbm_model_is_cold(m);
#pragma omp simd
  for (int f = 0; f < F; f++) sum[f] = m->layer.hbias[f];
  for (size_t j = 0; j < n; j++) {
    if (cold && j + RBM_PREFETCH_AHEAD < n)
      rbm_prefetch(weight_row(m, items[j + RBM_PREFETCH_AHEAD],
                              units[j + RBM_PREFETCH_AHEAD]),
                   (size_t)F * sizeof(float));
    const float *w = weight_row(m, items[j], units[j]);
#pragma omp simd
    for (int f = 0; f < F; f++) sum[f] += w[f];
  }
}

RBM_CLONES void rbm_hidden_sum_add(const rbm_model *m, uint32_t item,
                                   uint32_t unit, int sign, double *sum) {
  int F = (int)m->layer.n_hidden;
  const float *w = weight_row(m, item, unit);
  if (sign > 0) {
#pragma omp simd
    for (int f = 0; f < F; f++) sum[f] += w[f];
  } else {
#pragma omp simd
    for (int f = 0; f < F; f++) sum[f] -= w[f];
  }
}

RBM_CLONES void rbm_sigmoid_sums(const double *sum, float *p, int n) {
#pragma omp simd
  for (int f = 0; f < n; f++) p[f] = rbm_sigmoid((float)sum[f]);
}

RBM_CLONES void rbm_items_probs(const rbm_model *m, const float *hidden,
                                size_t n, const uint32_t *items, float *probs) {
  int F = (int)m->layer.n_hidden, K = (int)m->n_units, cold = rbm_model_is_cold(m);
  size_t bytes = (size_t)K * F * sizeof(float);
  /* Whole rows are asked for only as far ahead as fits in L1 cache with
  ** the row being read. */
  size_t ahead = cold ? 16384 / bytes : RBM_PREFETCH_AHEAD;
  if (ahead < 1) ahead = 1;
  if (ahead > RBM_PREFETCH_AHEAD) ahead = RBM_PREFETCH_AHEAD;
  for (size_t j = 0; j < n; j++) {
    const float *vb = m->layer.vbias + (size_t)items[j] * K;
    const float *w = weight_row(m, items[j], 0);
    if (j + ahead < n)
      rbm_prefetch(weight_row(m, items[j + ahead], 0), cold ? bytes : 1);
    int k = 0;
    for (; k + 4 <= K; k += 4) rbm_dot4(w + (size_t)k * F, (size_t)F, hidden, F, probs + j * K + k);
    for (; k < K; k++) probs[j * K + k] = rbm_dot(w + (size_t)k * F, hidden, F);
    for (k = 0; k < K; k++) probs[j * K + k] += vb[k];
  }
  rbm_softmax_rows(probs, n, K);
}

void rbm_item_probs(const rbm_model *m, const float *hidden, uint32_t item,
                    float *probs) {
  rbm_items_probs(m, hidden, 1, &item, probs);
}

void rbm_all_item_probs(const rbm_model *m, const float *hidden, float *probs) {
  rbm_all_item_probs_batch(m, 1, hidden, probs, 1);
}

RBM_CLONES static void add_bias(float *restrict p, const float *restrict b,
                                size_t n) {
#pragma omp simd
  for (size_t j = 0; j < n; j++) p[j] += b[j];
}

typedef struct all_items_job {
  const rbm_model *m;
  float *probs;
} all_items_job;

static void finish_all_items(void *ctx, size_t u, int worker) {
  const all_items_job *j = ctx;
  size_t nv = (size_t)j->m->n_items * j->m->n_units;
  (void)worker;
  add_bias(j->probs + u * nv, j->m->layer.vbias, nv);
  rbm_softmax_rows(j->probs + u * nv, j->m->n_items, (int)j->m->n_units);
}

void rbm_all_item_probs_batch(const rbm_model *m, size_t n, const float *hidden,
                              float *probs, int threads) {
  size_t nv = (size_t)m->n_items * m->n_units;
  if (n == 1) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)nv, (int)m->layer.n_hidden, 1.f,
                m->layer.W, (int)m->layer.n_hidden, hidden, 1, 0.f, probs, 1);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)nv,
                (int)m->layer.n_hidden, 1.f, hidden, (int)m->layer.n_hidden, m->layer.W,
                (int)m->layer.n_hidden, 0.f, probs, (int)nv);
  }
  all_items_job job = {m, probs};
  rbm_parallel_for(threads, n, finish_all_items, &job);
}

int rbm_predict_held(const rbm_model *m, const rbm_ratings *train,
                     const rbm_ratings *held, const uint8_t *unit_of_code,
                     float *rating, float *like) {
  size_t F = m->layer.n_hidden;
  uint8_t *units = malloc(rbm_ratings_longest_row(train));
  float *hidden = malloc(F * sizeof *hidden), probs[RBM_MAX_VALUES];
  int rc = units && hidden ? RBM_OK : RBM_NOMEM;
  for (uint32_t u = 0; rc == RBM_OK && u < held->users.n; u++) {
    size_t n = (size_t)(train->row[u + 1] - train->row[u]);
    const uint32_t *items = train->col_item + train->row[u];
    for (size_t q = 0; q < n; q++)
      units[q] = unit_of_code[train->col_code[train->row[u] + q]];
    if (n) rbm_fold_in(m, n, items, units, hidden);
    for (uint64_t j = held->row[u]; j < held->row[u + 1]; j++) {
      if (n) {
        rbm_item_probs(m, hidden, held->col_item[j], probs);
      } else {
        rbm_prior_probs(m, held->col_item[j], probs);
      }
      rating[j] = (float)rbm_expected_rating(m, probs);
      like[j] = (float)rbm_like_probability(m, probs);
    }
  }
  free(units);
  free(hidden);
  return rc;
}

double rbm_expected_rating(const rbm_model *m, const float *probs) {
  double r = 0;
  for (uint32_t k = 0; k < m->n_units; k++) r += probs[k] * m->unit_value[k];
  return r;
}

double rbm_like_probability(const rbm_model *m, const float *probs) {
  double p = 0;
  for (uint32_t k = 0; k < m->n_units; k++)
    if (m->unit_value[k] >= m->like_threshold ||
        (m->visible != RBM_VISIBLE_SOFTMAX && k == 1))
      p += probs[k];
  return p;
}

/* One answer of rbm_blend: of p, or w of p's and 1 - w of q's. */
static double blended(const rbm_model *m, const float *p, const float *q,
                      double w, double (*answer)(const rbm_model *, const float *)) {
  double a = answer(m, p);
  return q ? w * a + (1 - w) * answer(m, q) : a;
}

void rbm_blend(const rbm_model *m, const float *p, const float *q,
               double w_rating, double w_like, double *rating, double *like) {
  *rating = blended(m, p, q, w_rating, rbm_expected_rating);
  *like = blended(m, p, q, w_like, rbm_like_probability);
}

void rbm_prior_probs(const rbm_model *m, uint32_t item, float *probs) {
  if (item >= m->n_items) item = m->n_items;
  memcpy(probs, m->prior + (size_t)item * m->n_units,
         m->n_units * sizeof *probs);
}

/* ---- recommending ------------------------------------------------- */

/* Users are scored against blocks of items: one GEMM gives a block's
** logits for up to USERS users, and each user keeps a min-heap of the best k
** seen so far.  The weights are read (and packed by BLAS) once per USERS
** users, and the scratch stays USERS x ITEMS_PER_BLOCK x K floats whatever
** the catalogue's size. */
#define USERS 256
#define ITEMS_PER_BLOCK 2048

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

int rbm_recommend(const rbm_model *m, size_t n, const rbm_user_query *users,
                  size_t k, rbm_recommendation *out, size_t *n_out) {
  size_t ni = m->n_items, K = m->n_units, F = m->layer.n_hidden;
  size_t want = k < ni ? k : ni;  /* out keeps the stride k */
  size_t most = n < USERS ? (n ? n : 1) : USERS;  /* users in a batch */
  float *hidden = malloc(most * F * sizeof *hidden);
  float *logits = malloc(most * ITEMS_PER_BLOCK * K * sizeof *logits);
  float *prior = malloc(ITEMS_PER_BLOCK * K * sizeof *prior);
  uint32_t **rated = calloc(most, sizeof *rated);
  size_t *next_rated = malloc(most * sizeof *next_rated);
  int rc = hidden && logits && prior && rated && next_rated ? RBM_OK : RBM_NOMEM;

  for (size_t b = 0; rc == RBM_OK && b < n; b += USERS) {
    size_t nb = n - b < USERS ? n - b : USERS, placed = 0;
    size_t slot[USERS];  /* user -> row of logits, or SIZE_MAX: priors */
    for (size_t u = 0; u < nb; u++) {
      const rbm_user_query *q = &users[b + u];
      slot[u] = q->hidden ? placed : SIZE_MAX;
      if (q->hidden) memcpy(hidden + placed++ * F, q->hidden, F * sizeof *hidden);
      /* Rated items sorted, to skip them in one pass over the catalogue. */
      free(rated[u]);
      rated[u] = malloc((q->n_rated ? q->n_rated : 1) * sizeof **rated);
      if (!rated[u]) {
        rc = RBM_NOMEM;
        break;
      }
      if (q->n_rated) {  /* rated may be NULL when there are none */
        memcpy(rated[u], q->rated, q->n_rated * sizeof **rated);
        qsort(rated[u], q->n_rated, sizeof **rated, cmp_u32);
      }
      next_rated[u] = 0;
      n_out[b + u] = 0;
    }
    for (size_t i0 = 0; rc == RBM_OK && i0 < ni; i0 += ITEMS_PER_BLOCK) {
      size_t nbi = ni - i0 < ITEMS_PER_BLOCK ? ni - i0 : ITEMS_PER_BLOCK;
      size_t cols = nbi * K;
      /* One user: a GEMV, which reads the block once (a GEMM of one row
      ** first packs it, copying it). */
      if (placed == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)cols, (int)F, 1.f,
                    m->layer.W + i0 * K * F, (int)F, hidden, 1, 0.f, logits, 1);
      else if (placed)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)placed,
                    (int)cols, (int)F, 1.f, hidden, (int)F,
                    m->layer.W + i0 * K * F, (int)F, 0.f, logits, (int)cols);
      for (size_t u = 0; u < placed; u++) {
        add_bias(logits + u * cols, m->layer.vbias + i0 * K, cols);
        rbm_softmax_rows(logits + u * cols, nbi, (int)K);
      }
      if (placed < nb)  /* someone the model cannot place: priors */
        for (size_t i = 0; i < nbi; i++)
          rbm_prior_probs(m, (uint32_t)(i0 + i), prior + i * K);
      for (size_t u = 0; u < nb; u++) {
        const rbm_user_query *q = &users[b + u];
        const float *p = slot[u] == SIZE_MAX ? prior : logits + slot[u] * cols;
        rbm_recommendation *heap = out + (b + u) * k;
        for (size_t i = 0; i < nbi; i++, p += K) {
          uint32_t item = (uint32_t)(i0 + i);
          if (next_rated[u] < q->n_rated && rated[u][next_rated[u]] == item) {
            while (next_rated[u] < q->n_rated && rated[u][next_rated[u]] == item)
              next_rated[u]++;
            continue;
          }
          float like = (float)rbm_like_probability(m, p);
          if (n_out[b + u] == want && (!want || !rbm_ranks_below(heap, item, like)))
            continue;  /* not in the top k */
          rbm_recommendation r = {item, like, (float)rbm_expected_rating(m, p)};
          rbm_topk_offer(heap, sizeof r, &n_out[b + u], want, &r);
        }
      }
    }
    for (size_t u = 0; rc == RBM_OK && u < nb; u++)
      rbm_topk_sort(out + (b + u) * k, sizeof *out, n_out[b + u]);
  }
  for (size_t u = 0; rated && u < most; u++) free(rated[u]);
  free(rated);
  free(next_rated);
  free(hidden);
  free(logits);
  free(prior);
  return rc;
}

typedef struct visible_job {
  const rbm_model *m;
  const uint32_t *users;
  const float *product;  /* users*K x n */
  size_t n;
  float *probs;
} visible_job;

/* User b's K x n block of the product (the blocks of the users the model
** knows, in order), turned to n x K, biased, softmaxed. */
static void finish_visible(void *ctx, size_t b, int worker) {
  const visible_job *j = ctx;
  size_t K = j->m->n_units, n = j->n, at = 0;
  (void)worker;
  if (j->users[b] >= j->m->n_items) return;
  for (size_t c = 0; c < b; c++) at += j->users[c] < j->m->n_items;
  const float *t = j->product + at * K * n;
  const float *vb = j->m->layer.vbias + (size_t)j->users[b] * K;
  float *c = j->probs + b * n * K;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < K; k++) c[i * K + k] = t[k * n + i] + vb[k];
  rbm_softmax_rows(c, n, (int)K);
}

/* One user's unit probabilities in n items, without a GEMM: for each item
** j, probs[j] = softmax(vbias + the user's K weight rows . hidden[j]), in
** chunks of items shared out to threads.  This reads the hidden vectors
** once, where a GEMM for one user first copies them into its packed
** layout, and needs no transpose after. */
#define PRODUCT_CHUNK 512
typedef struct product_job {
  const rbm_model *m;
  const float *w, *vb, *hidden;
  float *probs;
  size_t n;
} product_job;

RBM_CLONES static void product_chunk(void *ctx, size_t c, int worker) {
  const product_job *p = ctx;
  size_t K = p->m->n_units, F = p->m->layer.n_hidden, n = p->n;
  size_t j0 = c * PRODUCT_CHUNK, j1 = j0 + PRODUCT_CHUNK < n ? j0 + PRODUCT_CHUNK : n;
  (void)worker;
  for (size_t j = j0; j < j1; j++) {
    const float *h = p->hidden + j * F;
    float *out = p->probs + j * K;
    size_t k = 0;
    for (; k + 4 <= K; k += 4) rbm_dot4(p->w + k * F, F, h, (int)F, out + k);
    for (; k < K; k++) out[k] = rbm_dot(p->w + k * F, h, (int)F);
    for (k = 0; k < K; k++) out[k] += p->vb[k];
  }
  rbm_softmax_rows(p->probs + j0 * K, j1 - j0, (int)K);
}

void rbm_visible_probs_batch(const rbm_model *m, size_t n_users,
                             const uint32_t *users, size_t n,
                             const float *hidden, float *probs, float *scratch,
                             int threads) {
  size_t K = m->n_units, F = m->layer.n_hidden;
  /* The weight blocks of the users the model knows, gathered into one
  ** (known*K x F) matrix, make one GEMM for the batch, so BLAS packs the n
  ** hidden vectors once, not once per user (a user it does not know gets
  ** no answer, and costs nothing).  The product is known*K x n (OpenBLAS is
  ** several times slower at n x known*K, whose rows are short) and is
  ** turned to n x K per user afterwards. */
  float *w = scratch, *t = scratch + n_users * K * F;
  size_t known = 0;
  for (size_t b = 0; b < n_users; b++)
    if (users[b] < m->n_items)
      memcpy(w + known++ * K * F, m->layer.W + (size_t)users[b] * K * F,
             K * F * sizeof *w);
  if (known == 1) {
    size_t b = 0;
    while (users[b] >= m->n_items) b++;
    product_job p = {m, m->layer.W + (size_t)users[b] * K * F,
                     m->layer.vbias + (size_t)users[b] * K, hidden, probs + b * n * K, n};
    rbm_parallel_for(threads, (n + PRODUCT_CHUNK - 1) / PRODUCT_CHUNK,
                     product_chunk, &p);
    return;
  }
  if (known && n) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(known * K),
                (int)n, (int)F, 1.f, w, (int)F, hidden, (int)F, 0.f, t, (int)n);
  }
  visible_job job = {m, users, t, n, probs};
  rbm_parallel_for(threads, n_users, finish_visible, &job);
}

void rbm_rank_rows(const rbm_model *m, size_t n, const float *probs,
                   const uint8_t *placed, const float *row_prior,
                   const uint8_t *skip, const float *other_probs,
                   double w_rating, double w_like, size_t k,
                   rbm_recommendation *out, size_t *n_out) {
  size_t K = m->n_units;
  *n_out = 0;
  for (size_t j = 0; j < n; j++) {
    if (skip && skip[j]) continue;
    const float *p = probs && placed[j] ? probs + j * K : row_prior + j * K;
    const float *q = other_probs ? other_probs + j * K : NULL;
    float like = (float)blended(m, p, q, w_like, rbm_like_probability);
    if (*n_out == k && (!k || !rbm_ranks_below(out, (uint32_t)j, like)))
      continue;  /* not in the top k */
    rbm_recommendation r = {(uint32_t)j, like,
                            (float)blended(m, p, q, w_rating, rbm_expected_rating)};
    rbm_topk_offer(out, sizeof r, n_out, k, &r);
  }
  rbm_topk_sort(out, sizeof *out, *n_out);
}

/* ---- BLAS identification ------------------------------------------- */

extern char *openblas_get_config(void);
extern int openblas_get_num_threads(void);
extern void openblas_set_num_threads(int);

const char *rbm_blas_config(void) { return openblas_get_config(); }
int rbm_blas_threads(void) { return openblas_get_num_threads(); }
#ifdef RBM_TSAN
/* OpenBLAS's own threads hand work over by spinning on plain memory, which
** ThreadSanitizer cannot see: under it, BLAS keeps one thread and only the
** engine's threads (which it can see) run in parallel. */
void rbm_blas_set_threads(int n) { (void)n; openblas_set_num_threads(1); }
#else
void rbm_blas_set_threads(int n) { openblas_set_num_threads(n); }
#endif

/* OpenBLAS starts its threads when it is loaded, and they busy-wait
** (sched_yield) for about 2^28 cycles before they sleep: a training started
** right after .load shared the two cores with them and ran 30% slower.
** blas_thread_shutdown_ is OpenBLAS's own (it brackets fork()); the next
** threaded BLAS call starts the threads again.  Weak, so another BLAS,
** which lacks it, links all the same. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

void rbm_blas_park_threads(void) {
  if (blas_thread_shutdown_) blas_thread_shutdown_();
}
