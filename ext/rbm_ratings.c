/*
** rbm_ratings.c -- ratings gathered row by row, then laid out in CSR form
** (one row per user) for the trainer.
**
** Rows arrive in any order.  Each is stored as (user index, item index,
** value code) in three flat arrays that grow geometrically: no allocation
** per row.  rbm_ratings_finish() sorts the distinct values, recodes, and
** counting-sorts the rows by user.
*/
#include "rbm.h"

#include <stdlib.h>
#include <string.h>

static int value_code(rbm_ratings *r, double value) {
  for (uint32_t c = 0; c < r->n_values; c++)
    if (r->values[c] == value) return (int)c;
  if (r->n_values == RBM_MAX_VALUES) return -1;
  r->values[r->n_values] = value;
  return (int)r->n_values++;
}

int rbm_ratings_add(rbm_ratings *r, const rbm_key *user, const rbm_key *item,
                    double value) {
  int code = value_code(r, value);
  if (code < 0) return RBM_ERROR;
  if (r->n == r->cap) {
    uint64_t cap = r->cap ? r->cap * 2 : 65536;
    uint32_t *u = realloc(r->user, cap * sizeof *u);
    if (!u) return RBM_NOMEM;
    r->user = u;
    uint32_t *it = realloc(r->item, cap * sizeof *it);
    if (!it) return RBM_NOMEM;
    r->item = it;
    uint8_t *c = realloc(r->code, cap * sizeof *c);
    if (!c) return RBM_NOMEM;
    r->code = c;
    r->cap = cap;
  }
  int64_t ui = rbm_keys_intern(&r->users, user);
  int64_t ii = rbm_keys_intern(&r->items, item);
  if (ui < 0 || ii < 0) return RBM_NOMEM;
  r->user[r->n] = (uint32_t)ui;
  r->item[r->n] = (uint32_t)ii;
  r->code[r->n] = (uint8_t)code;
  r->n++;
  return RBM_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* A user who rated an item twice keeps the later row (in arrival order):
** one item is one softmax unit group, never two. */
static int drop_duplicates(rbm_ratings *r) {
  uint32_t ni = r->items.n, nu = r->users.n;
  uint64_t *where = malloc((ni ? ni : 1) * sizeof *where);  /* item -> slot */
  uint32_t *stamp = calloc(ni ? ni : 1, sizeof *stamp);     /* user + 1 */
  if (!where || !stamp) {
    free(where);
    free(stamp);
    return 0;
  }
  uint64_t out = 0;
  for (uint32_t u = 0; u < nu; u++) {
    uint64_t begin = out;
    for (uint64_t j = r->row[u]; j < r->row[u + 1]; j++) {
      uint32_t it = r->col_item[j];
      if (stamp[it] == u + 1) {
        r->col_code[where[it]] = r->col_code[j];
        r->n_duplicates++;
        continue;
      }
      stamp[it] = u + 1;
      where[it] = out;
      r->col_item[out] = it;
      r->col_code[out] = r->col_code[j];
      out++;
    }
    r->row[u] = begin;
  }
  r->row[nu] = out;
  r->n = out;
  free(where);
  free(stamp);
  return 1;
}

int rbm_ratings_finish(rbm_ratings *r) {
  /* Recode values in ascending order. */
  double sorted[RBM_MAX_VALUES];
  uint8_t recode[RBM_MAX_VALUES];
  memcpy(sorted, r->values, r->n_values * sizeof *sorted);
  qsort(sorted, r->n_values, sizeof *sorted, cmp_double);
  for (uint32_t c = 0; c < r->n_values; c++)
    for (uint32_t s = 0; s < r->n_values; s++)
      if (sorted[s] == r->values[c]) recode[c] = (uint8_t)s;
  memcpy(r->values, sorted, r->n_values * sizeof *sorted);

  uint32_t nu = r->users.n;
  free(r->row);
  free(r->col_item);
  free(r->col_code);
  r->row = calloc((size_t)nu + 1, sizeof *r->row);
  r->col_item = malloc((r->n ? r->n : 1) * sizeof *r->col_item);
  r->col_code = malloc(r->n ? r->n : 1);
  if (!r->row || !r->col_item || !r->col_code) return RBM_NOMEM;

  /* Counting sort by user; within a user, rows keep their arrival order. */
  for (uint64_t j = 0; j < r->n; j++) r->row[r->user[j] + 1]++;
  for (uint32_t u = 0; u < nu; u++) r->row[u + 1] += r->row[u];
  uint64_t *next = malloc(((size_t)nu + 1) * sizeof *next);
  if (!next) return RBM_NOMEM;
  memcpy(next, r->row, ((size_t)nu + 1) * sizeof *next);
  for (uint64_t j = 0; j < r->n; j++) {
    uint64_t at = next[r->user[j]]++;
    r->col_item[at] = r->item[j];
    r->col_code[at] = recode[r->code[j]];
  }
  free(next);
  if (!drop_duplicates(r)) return RBM_NOMEM;
  /* The arrival-order arrays are no longer needed. */
  free(r->user);
  free(r->item);
  free(r->code);
  r->user = r->item = NULL;
  r->code = NULL;
  r->cap = 0;
  return RBM_OK;
}

void rbm_ratings_free(rbm_ratings *r) {
  rbm_keys_free(&r->users);
  rbm_keys_free(&r->items);
  free(r->user);
  free(r->item);
  free(r->code);
  free(r->row);
  free(r->col_item);
  free(r->col_code);
  memset(r, 0, sizeof *r);
}
