/*
** score.c -- scores predictions outside the extension.
**
**   score < lines of "prediction|truth"
**
** Without --like, the prediction is a rating: prints rmse and mae.
** With --like T, the prediction is P(like) and a like is truth >= T:
** prints rmse and mae against 0/1, the AUC (ties share ranks) and the
** accuracy of P(like) >= 0.5.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  double p;
  int y;
} pair;

static int by_p(const void *a, const void *b) {
  double x = ((const pair *)a)->p, y = ((const pair *)b)->p;
  return (x > y) - (x < y);
}

/* Mann-Whitney U over ranks, ties averaged. */
static double auc(pair *v, size_t n) {
  qsort(v, n, sizeof *v, by_p);
  double rank_sum = 0;
  size_t pos = 0, i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && v[j].p == v[i].p) j++;
    double rank = (double)(i + j + 1) / 2.0;
    for (size_t k = i; k < j; k++)
      if (v[k].y) {
        rank_sum += rank;
        pos++;
      }
    i = j;
  }
  size_t neg = n - pos;
  if (!pos || !neg) return NAN;
  return (rank_sum - pos * (pos + 1) / 2.0) / ((double)pos * neg);
}

int main(int argc, char **argv) {
  double like = -1;
  if (argc == 3 && strcmp(argv[1], "--like") == 0) like = atof(argv[2]);
  size_t n = 0, cap = 1024, right = 0;
  pair *v = malloc(cap * sizeof *v);
  double p, t, se = 0, ae = 0;
  while (scanf("%lf|%lf", &p, &t) == 2) {
    if (n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
    int y = like >= 0 ? t >= like : t >= 0.5;
    v[n].p = p;
    v[n].y = y;
    double want = like >= 0 ? y : t;  /* likes: against 0/1 (Brier) */
    se += (p - want) * (p - want);
    ae += fabs(p - want);
    right += (p >= 0.5) == y;
    n++;
  }
  if (!n) {
    fprintf(stderr, "score: no predictions read\n");
    return 1;
  }
  printf("n %zu rmse %.6f mae %.6f", n, sqrt(se / n), ae / n);
  if (like >= 0)
    printf(" auc %.6f accuracy %.6f", auc(v, n), (double)right / n);
  printf("\n");
  free(v);
  return 0;
}
