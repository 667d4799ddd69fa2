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
#include "rbm.h"
#include "rbm_math.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

static inline const float *weight_row(const rbm_model *m, uint32_t item,
                                      uint32_t unit) {
  return m->W + ((size_t)item * m->n_units + unit) * m->n_hidden;
}

RBM_CLONES void rbm_fold_in(const rbm_model *m, size_t n, const uint32_t *items,
                 const uint8_t *units, float *hidden) {
  int F = (int)m->n_hidden;
  memcpy(hidden, m->hbias, (size_t)F * sizeof *hidden);
  for (size_t j = 0; j < n; j++)
    rbm_add(hidden, weight_row(m, items[j], units[j]), F);
#pragma omp simd
  for (int f = 0; f < F; f++) hidden[f] = rbm_sigmoid(hidden[f]);
}

RBM_CLONES void rbm_items_probs(const rbm_model *m, const float *hidden,
                                size_t n, const uint32_t *items, float *probs) {
  int F = (int)m->n_hidden, K = (int)m->n_units;
  /* Logits less each item's largest, then one exp over all of them (a loop
  ** that vectorises), then each item's normalisation: rbm_softmax, split
  ** in passes so the exps are not one dependent chain per item. */
  for (size_t j = 0; j < n; j++) {
    const float *vb = m->vbias + (size_t)items[j] * K;
    const float *w = weight_row(m, items[j], 0);
    float *p = probs + j * K, mx = -INFINITY;
    for (int k = 0; k < K; k++, w += F) {
      p[k] = vb[k] + rbm_dot(w, hidden, F);
      mx = p[k] > mx ? p[k] : mx;
    }
    for (int k = 0; k < K; k++) p[k] -= mx;
  }
  size_t nk = n * (size_t)K;
#pragma omp simd
  for (size_t j = 0; j < nk; j++) probs[j] = rbm_exp(probs[j]);
  for (size_t j = 0; j < n; j++) {
    float *p = probs + j * K, sum = 0.f;
    for (int k = 0; k < K; k++) sum += p[k];
    float inv = 1.f / sum;
    for (int k = 0; k < K; k++) p[k] *= inv;
  }
}

void rbm_item_probs(const rbm_model *m, const float *hidden, uint32_t item,
                    float *probs) {
  rbm_items_probs(m, hidden, 1, &item, probs);
}

void rbm_all_item_probs(const rbm_model *m, const float *hidden, float *probs) {
  size_t nv = (size_t)m->n_items * m->n_units;
  memcpy(probs, m->vbias, nv * sizeof *probs);
  cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)nv, (int)m->n_hidden, 1.f,
              m->W, (int)m->n_hidden, hidden, 1, 1.f, probs, 1);
  for (uint32_t i = 0; i < m->n_items; i++)
    rbm_softmax(probs + (size_t)i * m->n_units, (int)m->n_units);
}

void rbm_all_item_probs_batch(const rbm_model *m, size_t n, const float *hidden,
                              float *probs) {
  size_t nv = (size_t)m->n_items * m->n_units;
  for (size_t u = 0; u < n; u++)
    memcpy(probs + u * nv, m->vbias, nv * sizeof *probs);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)nv,
              (int)m->n_hidden, 1.f, hidden, (int)m->n_hidden, m->W,
              (int)m->n_hidden, 1.f, probs, (int)nv);
  for (size_t u = 0; u < n; u++)
    for (uint32_t i = 0; i < m->n_items; i++)
      rbm_softmax(probs + u * nv + (size_t)i * m->n_units, (int)m->n_units);
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
        (m->visible == RBM_VISIBLE_BINARY && k == 1))
      p += probs[k];
  return p;
}

void rbm_prior_probs(const rbm_model *m, uint32_t item, float *probs) {
  if (item >= m->n_items) item = m->n_items;
  memcpy(probs, m->prior + (size_t)item * m->n_units,
         m->n_units * sizeof *probs);
}

/* ---- top-k with a min-heap of the best k seen so far ----------------- */

static void sift_down(const float *score, uint32_t *heap, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, s = i;
    if (l < n && score[heap[l]] < score[heap[s]]) s = l;
    if (r < n && score[heap[r]] < score[heap[s]]) s = r;
    if (s == i) return;
    uint32_t t = heap[i];
    heap[i] = heap[s];
    heap[s] = t;
    i = s;
  }
}

size_t rbm_top_k(const float *score, size_t n, const uint8_t *exclude,
                 size_t k, uint32_t *out) {
  size_t have = 0;
  if (k == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    if (exclude && exclude[i]) continue;
    if (have < k) {
      out[have++] = (uint32_t)i;
      if (have == k)
        for (size_t j = k / 2 + 1; j-- > 0;) sift_down(score, out, k, j);
    } else if (score[i] > score[out[0]]) {
      out[0] = (uint32_t)i;
      sift_down(score, out, k, 0);
    }
  }
  if (have < k)
    for (size_t j = have / 2 + 1; j-- > 0;) sift_down(score, out, have, j);
  /* Pop the heap smallest first into the tail: best first overall. */
  for (size_t end = have; end > 1; end--) {
    uint32_t t = out[0];
    out[0] = out[end - 1];
    out[end - 1] = t;
    sift_down(score, out, end - 1, 0);
  }
  return have;
}

/* ---- recommending ------------------------------------------------- */

#define BATCH 32  /* users per GEMM: the probabilities of 32 users fit */

int rbm_recommend(const rbm_model *m, size_t n, const rbm_user_query *users,
                  size_t k, rbm_recommendation *out, size_t *n_out) {
  size_t ni = m->n_items, K = m->n_units, F = m->n_hidden;
  size_t want = k < ni ? k : ni;  /* out keeps the stride k */
  float *hidden = malloc(BATCH * F * sizeof *hidden);
  float *probs = malloc(BATCH * ni * K * sizeof *probs);
  float *score = malloc(ni * sizeof *score);
  uint8_t *exclude = calloc(ni, 1);
  uint32_t *top = malloc((want ? want : 1) * sizeof *top);
  if (!hidden || !probs || !score || !exclude || !top) {
    free(hidden);
    free(probs);
    free(score);
    free(exclude);
    free(top);
    return RBM_NOMEM;
  }
  for (size_t b = 0; b < n; b += BATCH) {
    size_t nb = n - b < BATCH ? n - b : BATCH, placed = 0;
    for (size_t u = 0; u < nb; u++)
      if (users[b + u].hidden)
        memcpy(hidden + placed++ * F, users[b + u].hidden, F * sizeof *hidden);
    if (placed) rbm_all_item_probs_batch(m, placed, hidden, probs);
    placed = 0;
    for (size_t u = 0; u < nb; u++) {
      const rbm_user_query *q = &users[b + u];
      const float *p = q->hidden ? probs + placed++ * ni * K : NULL;
      float prior[RBM_MAX_VALUES];
      for (size_t i = 0; i < ni; i++) {
        if (!p) rbm_prior_probs(m, (uint32_t)i, prior);
        score[i] = (float)rbm_like_probability(m, p ? p + i * K : prior);
      }
      for (size_t j = 0; j < q->n_rated; j++) exclude[q->rated[j]] = 1;
      size_t got = rbm_top_k(score, ni, exclude, want, top);
      for (size_t j = 0; j < q->n_rated; j++) exclude[q->rated[j]] = 0;
      for (size_t j = 0; j < got; j++) {
        rbm_recommendation *r = &out[(b + u) * k + j];
        r->item = top[j];
        r->p_like = score[top[j]];
        if (p) {
          r->rating = (float)rbm_expected_rating(m, p + (size_t)top[j] * K);
        } else {
          rbm_prior_probs(m, top[j], prior);
          r->rating = (float)rbm_expected_rating(m, prior);
        }
      }
      n_out[b + u] = got;
    }
  }
  free(hidden);
  free(probs);
  free(score);
  free(exclude);
  free(top);
  return RBM_OK;
}

/* ---- BLAS identification ------------------------------------------- */

extern char *openblas_get_config(void);
extern int openblas_get_num_threads(void);
extern void openblas_set_num_threads(int);

const char *rbm_blas_config(void) { return openblas_get_config(); }
int rbm_blas_threads(void) { return openblas_get_num_threads(); }
void rbm_blas_set_threads(int n) { openblas_set_num_threads(n); }
