/*
** sql_item_states.c -- every item of the source folded into an item-based
** model, kept per connection.
**
** An item-based model (or the item-based half of a 'both' model) answers
** for a user from an item's hidden units, and the item is folded in from
** the users who rated it in the source as it is now.  Ranking every item
** for one user needs every item folded in: sql_item_states_build does that
** from one read of the whole source, and the states are then kept with the
** served model (sql_serve.h) and kept true as the source changes.  A
** fold-in's hidden input is a sum over the rated units, so a rating added
** is one weight row added to one item's sum (sql_item_states_add); the
** sums are doubles, so a sum kept that way equals, rounded to float, the
** one a new connection makes from the table (sql_reader.c decides what is
** applied how, from what sql_track.c says changed).
*/
#include "sql_serve.h"

#include <stdlib.h>
#include <string.h>

void sql_item_states_release(sql_item_states *st) {
  if (!st || --st->ref > 0) return;
  sql_sync_free(&st->sync);
  rbm_keys_free(&st->keys);
  free(st->sum);
  free(st->hidden);
  free(st->count);
  free(st->known);
  free(st->placed);
  free(st->prior);
  free(st->pair_item);
  free(st);
}

/* Room for cap rows. */
static int reserve(sql_item_states *st, const rbm_model *m, size_t cap,
                   int paired) {
  if (cap <= st->cap) return SQLITE_OK;
  size_t F = m->layer.n_hidden, K = m->n_units;
  double *sum = realloc(st->sum, cap * F * sizeof *sum);
  if (sum) st->sum = sum;
  float *hidden = realloc(st->hidden, cap * F * sizeof *hidden);
  if (hidden) st->hidden = hidden;
  uint32_t *count = realloc(st->count, cap * K * sizeof *count);
  if (count) st->count = count;
  uint32_t *known = realloc(st->known, cap * sizeof *known);
  if (known) st->known = known;
  uint8_t *placed = realloc(st->placed, cap);
  if (placed) st->placed = placed;
  float *prior = realloc(st->prior, cap * K * sizeof *prior);
  if (prior) st->prior = prior;
  int64_t *pair = paired ? realloc(st->pair_item, cap * sizeof *pair) : NULL;
  if (pair) st->pair_item = pair;
  if (!sum || !hidden || !count || !known || !placed || !prior ||
      (paired && !pair))
    return SQLITE_NOMEM;
  st->cap = cap;
  return SQLITE_OK;
}

/* Row j's prior and hidden units from its counts and sum. */
static void derive(sql_item_states *st, const rbm_model *m, size_t j) {
  size_t K = m->n_units, F = m->layer.n_hidden;
  double global[RBM_MAX_VALUES], count[RBM_MAX_VALUES], total = 0;
  for (size_t k = 0; k < K; k++) {
    global[k] = m->prior[(size_t)m->n_items * K + k];
    count[k] = st->count[j * K + k];
    total += count[k];
  }
  rbm_smooth_counts(K, count, total, global, st->prior + j * K);
  st->placed[j] = st->known[j] > 0;
  rbm_sigmoid_sums(st->sum + j * F, st->hidden + j * F, (int)F);
}

/* ---- built from the whole source ------------------------------------ */

typedef struct build_job {
  sql_item_states *st;
  const rbm_model *m;
  const rbm_ratings *r;       /* rows items, columns users, values units */
  const uint32_t *user_index; /* column -> the model's index, or UINT32_MAX */
  uint32_t *items;            /* per worker: longest row */
  uint8_t *units;
  size_t longest;
} build_job;

static void fold_row(void *ctx, size_t j, int worker) {
  build_job *b = ctx;
  const rbm_ratings *r = b->r;
  const rbm_model *m = b->m;
  size_t K = m->n_units;
  uint32_t *items = b->items + (size_t)worker * b->longest;
  uint8_t *units = b->units + (size_t)worker * b->longest;
  size_t n = 0;
  memset(b->st->count + j * K, 0, K * sizeof *b->st->count);
  for (uint64_t q = r->row[j]; q < r->row[j + 1]; q++) {
    uint8_t unit = (uint8_t)r->values[r->col_code[q]];
    b->st->count[j * K + unit]++;
    uint32_t u = b->user_index[r->col_item[q]];
    if (u == UINT32_MAX) continue;
    items[n] = u;
    units[n++] = unit;
  }
  b->st->known[j] = (uint32_t)n;
  rbm_hidden_sum(m, n, items, units, b->st->sum + j * m->layer.n_hidden);
  derive(b->st, m, j);
}

int sql_item_states_build(sqlite3 *db, const sql_source *src,
                          const rbm_model *m, const rbm_model *pair,
                          int threads, sql_item_states **out, char **err) {
  sql_item_states *st = calloc(1, sizeof *st);
  rbm_ratings r;
  memset(&r, 0, sizeof r);
  *out = NULL;
  if (!st) {
    *err = sqlite3_mprintf("out of memory");
    return SQLITE_NOMEM;
  }
  st->ref = 1;
  /* Read by item, in rowid order: of a repeated pair, the later row. */
  sql_source by_item = *src;
  by_item.user = src->item;
  by_item.item = src->user;
  by_item.by_item = 1;
  int rc = sql_sync_begin(db, src, &st->sync);
  if (rc == SQLITE_OK)
    rc = sql_read_source(db, &by_item, m, threads, st->sync.rowid, &r, err);
  if (rc == SQLITE_OK) sql_sync_end(db, &st->sync);
  size_t n = r.users.n, workers = threads < 1 ? 1 : (size_t)threads;
  if (workers > RBM_MAX_TASK_THREADS) workers = RBM_MAX_TASK_THREADS;
  /* (after a failed read r holds ids but no rows to measure) */
  build_job b = {st, m, &r, NULL, NULL, NULL,
                 rc == SQLITE_OK ? rbm_ratings_longest_row(&r) : 1};
  if (b.longest == 0) b.longest = 1;  /* an empty source */
  uint32_t *user_index = NULL;
  if (rc == SQLITE_OK) {
    rc = reserve(st, m, n ? n : 1, pair != NULL);
    user_index = malloc((r.items.n ? r.items.n : 1) * sizeof *user_index);
    b.items = malloc(workers * b.longest * sizeof *b.items);
    b.units = malloc(workers * b.longest);
    if (!user_index || !b.items || !b.units) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) {
    for (uint32_t c = 0; c < r.items.n; c++) {
      rbm_key key = rbm_keys_get(&r.items, c);
      int64_t u = rbm_keys_find(&m->items, &key);
      user_index[c] = u < 0 ? UINT32_MAX : (uint32_t)u;
    }
    b.user_index = user_index;
    rbm_parallel_for((int)workers, n, fold_row, &b);
    for (uint32_t j = 0; pair && j < n; j++) {
      rbm_key key = rbm_keys_get(&r.users, j);
      st->pair_item[j] = rbm_keys_find(&pair->items, &key);
    }
    st->n = n;
    st->keys = r.users;  /* the rows' ids move to the states */
    memset(&r.users, 0, sizeof r.users);
  }
  free(user_index);
  free(b.items);
  free(b.units);
  rbm_ratings_free(&r);
  if (rc != SQLITE_OK) {
    sql_item_states_release(st);
    if (rc == SQLITE_NOMEM && !*err) *err = sqlite3_mprintf("out of memory");
    return rc;
  }
  *out = st;
  return SQLITE_OK;
}

/* ---- kept true, a rating at a time ----------------------------------- */

int64_t sql_item_states_row(sql_item_states *st, const rbm_model *m,
                            const rbm_model *pair, const rbm_key *item) {
  int64_t j = rbm_keys_find(&st->keys, item);
  if (j >= 0) return j;
  if (st->n == st->cap && reserve(st, m, st->cap * 2 + 16, pair != NULL) != SQLITE_OK)
    return -1;
  j = rbm_keys_intern(&st->keys, item);
  if (j < 0) return -1;
  size_t K = m->n_units, F = m->layer.n_hidden;
  for (size_t f = 0; f < F; f++) st->sum[(size_t)j * F + f] = m->layer.hbias[f];
  memset(st->count + (size_t)j * K, 0, K * sizeof *st->count);
  st->known[j] = 0;
  if (pair) st->pair_item[j] = rbm_keys_find(&pair->items, item);
  derive(st, m, (size_t)j);
  st->n = (size_t)j + 1;
  return j;
}

void sql_item_states_add(sql_item_states *st, const rbm_model *m, size_t j,
                         uint32_t user, uint32_t unit) {
  st->count[j * m->n_units + unit]++;
  if (user != UINT32_MAX) {
    rbm_hidden_sum_add(m, user, unit, +1, st->sum + j * m->layer.n_hidden);
    st->known[j]++;
  }
  derive(st, m, j);
}

void sql_item_states_set(sql_item_states *st, const rbm_model *m, size_t j,
                         const double *sum, const uint32_t *count,
                         uint32_t known) {
  memcpy(st->sum + j * m->layer.n_hidden, sum, m->layer.n_hidden * sizeof *sum);
  memcpy(st->count + j * m->n_units, count, m->n_units * sizeof *count);
  st->known[j] = known;
  derive(st, m, j);
}
