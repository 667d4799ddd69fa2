/*
** rbm_metrics.c -- how good predictions are: the area under the ROC curve
** for likes, and precision, recall, NDCG and MAP of a top-k list.
*/
#include "rbm_internal.h"

#include <math.h>
#include <stdlib.h>

typedef struct scored {
  float score;
  uint8_t label;
} scored;

static int by_score(const void *a, const void *b) {
  float x = ((const scored *)a)->score, y = ((const scored *)b)->score;
  return (x > y) - (x < y);
}

/* Mann-Whitney: the positives' mean rank among all, tied scores sharing
** their mean rank. */
double rbm_auc(const float *score, const uint8_t *label, size_t n) {
  scored *v = malloc((n ? n : 1) * sizeof *v);
  if (!v) return NAN;
  double positives = 0;
  for (size_t j = 0; j < n; j++) {
    v[j].score = score[j];
    v[j].label = label[j] != 0;
    positives += v[j].label;
  }
  double negatives = (double)n - positives;
  if (positives == 0 || negatives == 0) {
    free(v);
    return NAN;
  }
  qsort(v, n, sizeof *v, by_score);
  double rank_sum = 0;
  for (size_t lo = 0; lo < n;) {
    size_t hi = lo;
    while (hi < n && v[hi].score == v[lo].score) hi++;
    double mean_rank = (double)(lo + 1 + hi) / 2;  /* ranks lo+1 .. hi */
    for (size_t j = lo; j < hi; j++)
      if (v[j].label) rank_sum += mean_rank;
    lo = hi;
  }
  free(v);
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

static int is_relevant(const uint32_t *relevant, size_t n, uint32_t item) {
  size_t lo = 0, hi = n;  /* relevant is sorted: binary search */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (relevant[mid] == item) return 1;
    if (relevant[mid] < item) lo = mid + 1; else hi = mid;
  }
  return 0;
}

void rbm_ranking_add(rbm_ranking_sums *s, const uint32_t *top, size_t n_top,
                     const uint32_t *relevant, size_t n_relevant,
                     size_t n_relevant_total) {
  if (n_relevant_total == 0) return;  /* nothing to find: not counted */
  size_t k = s->k, hits = 0;
  double dcg = 0, ideal = 0, precisions = 0;
  for (size_t j = 0; j < n_top && j < k; j++) {
    if (!is_relevant(relevant, n_relevant, top[j])) continue;
    hits++;
    dcg += 1 / log2((double)j + 2);
    precisions += (double)hits / (double)(j + 1);
  }
  size_t best = n_relevant_total < k ? n_relevant_total : k;
  for (size_t j = 0; j < best; j++) ideal += 1 / log2((double)j + 2);
  s->users += 1;
  s->precision += (double)hits / (double)k;
  s->recall += (double)hits / (double)n_relevant_total;
  s->ndcg += dcg / ideal;
  s->map += precisions / (double)best;
}
