/*
** rbm_embed.c -- vectors of a rating model's items, and nearest rows by
** dot product (cosine similarity, for unit rows).
**
** Rating item i with value k adds row W[i][k] to a user's hidden input
** (rbm_predict.c).  An item's vector is two parts of its K rows:
**
**   mean  their mean, what rating i adds whatever the value: who rates it.
**         Learnt from every rating of i, it carries most of what the rows
**         say about which items go together;
**   pref  the mean of its like rows (value >= like_threshold; a binary
**         model's unit 1) less the mean of the others: what liking i adds
**         over disliking it, how it is rated.
**
** each scaled to unit length, then by sqrt(3/4) and sqrt(1/4): the vector
** has unit length, and the cosine of two is 3/4 of their means' cosine
** plus 1/4 of their prefs'.  On MovieLens-100K u1 the mean alone picks
** neighbours as well as this does, and better than the rows side by side
** (its neighbours, as an item-kNN recommender, score precision@10 0.24
** against 0.10) or weighted by the item's rating distribution (0.17); but
** the mean cannot tell two groups apart that rate the same items in
** opposite ways, which the pref part does (tests/sql/embedding.sql).  An
** implicit model's item has one row, its interaction's (unit 0's is zero),
** which is its vector as it is.
**
** rbm_nearest scores the rows block by block (each block stays in cache
** while the queries of a chunk go over it), four rows per pass over the
** query, and keeps each query's best k in a min-heap: one pass over the
** matrix per chunk of queries, no allocation.
*/
#include "rbm_internal.h"
#include "rbm_math.h"

#include <math.h>
#include <string.h>

uint32_t rbm_item_vector_size(const rbm_model *m) {
  return m->visible == RBM_VISIBLE_IMPLICIT ? m->layer.n_hidden
                                            : 2 * m->layer.n_hidden;
}

/* Unit k is a like, as rbm_like_probability counts it. */
static int is_like(const rbm_model *m, uint32_t k) {
  return m->unit_value[k] >= m->like_threshold ||
         (m->visible != RBM_VISIBLE_SOFTMAX && k == 1);
}

/* x (n floats) to length len, or left at zero. */
static void scale_to(float *x, size_t n, double len) {
  double ss = 0;
  for (size_t f = 0; f < n; f++) ss += (double)x[f] * x[f];
  if (ss > 0) {
    double a = len / sqrt(ss);
    for (size_t f = 0; f < n; f++) x[f] = (float)(x[f] * a);
  }
}

void rbm_item_vector(const rbm_model *m, uint32_t item, float *out) {
  uint32_t K = m->n_units;
  size_t F = m->layer.n_hidden;
  const float *w = m->layer.W + (size_t)item * K * F;
  if (m->visible == RBM_VISIBLE_IMPLICIT) {
    memcpy(out, w + F, F * sizeof *out);
    return;
  }
  uint32_t likes = 0;
  for (uint32_t k = 0; k < K; k++) likes += (uint32_t)is_like(m, k);
  for (size_t f = 0; f < F; f++) {
    double all = 0, like = 0;
    for (uint32_t k = 0; k < K; k++) {
      all += w[k * F + f];
      if (is_like(m, k)) like += w[k * F + f];
    }
    out[f] = (float)(all / K);
    /* every unit a like, or none: no pref, zeros */
    out[F + f] = likes == 0 || likes == K
                     ? 0.f
                     : (float)(like / likes - (all - like) / (K - likes));
  }
  scale_to(out, F, sqrt(0.75));
  scale_to(out + F, F, 0.5);
}

void rbm_unit_rows(float *X, size_t n, size_t d, uint8_t *nonzero) {
  for (size_t j = 0; j < n; j++) {
    float *x = X + j * d;
    int any = 0;
    for (size_t f = 0; f < d && !any; f++) any = x[f] != 0;
    if (nonzero) nonzero[j] = (uint8_t)any;
    scale_to(x, d, 1.0);
  }
}

/* ---- the best k of each query ----------------------------------------- */

/* ---- scoring ------------------------------------------------------------ */

/* Rows scored at a time (a multiple of 4): 256 rows of 400 floats are
** 400 KB, which the queries of a chunk then read from cache. */
#define BLOCK_ROWS 256
#define QUERY_CHUNK 16

/* s[i] = X[j0 + i] . q for nb rows: four at a time from j0 (a multiple of
** 4), the last rows of the matrix one by one, so row j's product is always
** computed by the same arithmetic. */
RBM_CLONES static void score_block(const float *X, size_t j0, size_t nb,
                                   size_t d, const float *q, float *s) {
  size_t i = 0;
  for (; i + 4 <= nb; i += 4)
    rbm_dot4(X + (j0 + i) * d, d, q, (int)d, s + i);
  for (; i < nb; i++) s[i] = rbm_dot(X + (j0 + i) * d, q, (int)d);
}

typedef struct nearest_job {
  const float *X, *Q;
  size_t n, d, n_q, k;
  const uint8_t *usable;
  const uint32_t *exclude;
  rbm_neighbour *out;
  size_t *n_out;
} nearest_job;

static void nearest_chunk(void *ctx, size_t c, int worker) {
  const nearest_job *j = ctx;
  size_t q0 = c * QUERY_CHUNK;
  size_t q1 = q0 + QUERY_CHUNK < j->n_q ? q0 + QUERY_CHUNK : j->n_q;
  float s[BLOCK_ROWS];
  (void)worker;
  for (size_t q = q0; q < q1; q++) j->n_out[q] = 0;
  for (size_t j0 = 0; j0 < j->n; j0 += BLOCK_ROWS) {
    size_t nb = j->n - j0 < BLOCK_ROWS ? j->n - j0 : BLOCK_ROWS;
    for (size_t q = q0; q < q1; q++) {
      uint32_t skip = j->exclude ? j->exclude[q] : UINT32_MAX;
      rbm_neighbour *heap = j->out + q * j->k;
      score_block(j->X, j0, nb, j->d, j->Q + q * j->d, s);
      for (size_t i = 0; i < nb; i++) {
        size_t row = j0 + i;
        if (row == skip || (j->usable && !j->usable[row])) continue;
        if (j->n_out[q] == j->k && (!j->k || !rbm_ranks_below(heap, (uint32_t)row, s[i])))
          continue;  /* not in the top k */
        rbm_neighbour r = {(uint32_t)row, s[i]};
        rbm_topk_offer(heap, sizeof r, &j->n_out[q], j->k, &r);
      }
    }
  }
  for (size_t q = q0; q < q1; q++)
    rbm_topk_sort(j->out + q * j->k, sizeof *j->out, j->n_out[q]);
}

void rbm_nearest(const float *X, size_t n, size_t d, const uint8_t *usable,
                 size_t n_q, const float *Q, const uint32_t *exclude,
                 size_t k, int threads, rbm_neighbour *out, size_t *n_out) {
  nearest_job job = {X, Q, n, d, n_q, k, usable, exclude, out, n_out};
  rbm_parallel_for(threads, (n_q + QUERY_CHUNK - 1) / QUERY_CHUNK,
                   nearest_chunk, &job);
}
