/*
** sql_evaluate.c -- rbm_evaluate(model, source, user_col, item_col,
** rating_col [, options]): how well a stored model predicts a held-out
** table, as JSON.
**
**   SELECT rbm_evaluate('ml', 'test', 'user_id', 'item_id', 'rating');
**   SELECT rbm_evaluate('ml', 'test', 'user_id', 'item_id', 'rating',
**                       '{"k": 20}');
**
** Each held-out user is folded in from the model's own source, as
** rbm_predict does, and then
**   every held-out rating is predicted: rmse and mae (softmax models), and
**     for "rating >= like_threshold": like_auc, like_accuracy (P(like) >= 0.5)
**     and log_loss;
**   the user's top k is ranked as rbm_recommend ranks it (every item the
**     model knows and the user has not rated in the model's source), and
**     every held-out item of the user counts as relevant: precision@k,
**     recall@k, ndcg@k and map@k, averaged over the held-out users.
** A user the model cannot place, or an item it does not know, gets the
** answer rbm_predict gives (the priors); how many did is reported too.
** Without ratings (rating_col NULL) or for an implicit model, whose
** held-out rows are all interactions, only the ranking is measured.
*/
#include "sql_glue.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define USERS_PER_BATCH 256  /* users ranked per rbm_recommend call */

typedef struct pointwise {
  double n, sq_err, abs_err, log_loss, right;
  size_t n_like;
  float *p_like;
  uint8_t *like;
} pointwise;

/* One held-out rating and its predicted rating and P(like). */
static void add_rating(pointwise *pw, const rbm_model *m, double rating,
                       double p, double value) {
  double err = rating - value;
  int like = value >= m->like_threshold;
  double q = p < 1e-7 ? 1e-7 : p > 1 - 1e-7 ? 1 - 1e-7 : p;
  pw->n += 1;
  pw->sq_err += err * err;
  pw->abs_err += fabs(err);
  pw->log_loss -= like ? log(q) : log(1 - q);
  pw->right += (p >= 0.5) == like;
  pw->p_like[pw->n_like] = (float)p;
  pw->like[pw->n_like++] = (uint8_t)like;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* The state of one evaluation. */
typedef struct evaluation {
  const rbm_model *m;
  const rbm_ratings *ho;       /* the held-out ratings, by user */
  sql_user_reader *rd;
  pointwise pw;
  rbm_ranking_sums rank;
  size_t users_unplaced, ratings_unplaced, items_unknown;
  /* A batch of users being ranked. */
  rbm_user_query q[USERS_PER_BATCH];
  uint32_t batch_user[USERS_PER_BATCH];
  float *hidden;               /* USERS_PER_BATCH rows of n_hidden */
  uint32_t *rated[USERS_PER_BATCH];
  rbm_recommendation *top;     /* USERS_PER_BATCH * k */
  size_t n_top[USERS_PER_BATCH];
  uint32_t *relevant;          /* one user's, sorted */
  /* Held-out items counted once: unknown to the model (user-based), or
  ** not placed (item-based). */
  uint8_t *item_seen;
  int item_based;              /* folds items in: the counts swap roles */
  int has_ratings;             /* the held-out rows have ratings to score */
} evaluation;

/* Predicts held-out user u's ratings, and (user-based models) keeps what
** ranking them needs in batch slot b. */
static int predict_user(evaluation *e, uint32_t u, size_t b, char **err) {
  const rbm_model *m = e->m;
  const rbm_ratings *ho = e->ho;
  rbm_key key = rbm_keys_get(&ho->users, u);
  int rc;
  if (!sql_user_reader_ranks_items(e->rd)) {
    const float *h;
    const uint32_t *rated;
    size_t n_rated;
    rc = sql_user_reader_fold(e->rd, &key, &h, &rated, &n_rated, err);
    if (rc != SQLITE_OK) return rc;
    float *hidden = e->hidden + b * m->layer.n_hidden;
    if (h) memcpy(hidden, h, m->layer.n_hidden * sizeof *hidden);
    /* The reader's buffers are reused for the next user: copy. */
    free(e->rated[b]);
    e->rated[b] = malloc((n_rated ? n_rated : 1) * sizeof **e->rated);
    if (!e->rated[b]) return SQLITE_NOMEM;
    if (n_rated) memcpy(e->rated[b], rated, n_rated * sizeof *rated);
    e->q[b].hidden = h ? hidden : NULL;
    e->q[b].rated = e->rated[b];
    e->q[b].n_rated = n_rated;
    e->batch_user[b] = u;
  }
  int user_counted = 0;
  for (uint64_t j = ho->row[u]; j < ho->row[u + 1]; j++) {
    rbm_key ik = rbm_keys_get(&ho->items, ho->col_item[j]);
    double rating, like;
    int unplaced, unknown;
    rc = sql_user_reader_predict(e->rd, &key, &ik, &rating, &like, &unplaced,
                                 &unknown, err);
    if (rc != SQLITE_OK) return rc;
    /* The user's flag and the item's, whichever side is folded in. */
    int user_flag = e->item_based ? unknown : unplaced;
    int item_flag = e->item_based ? unplaced : unknown;
    if (user_flag && !user_counted) e->users_unplaced++;
    user_counted |= user_flag;
    if (item_flag && !e->item_seen[ho->col_item[j]]) e->items_unknown++;
    if (item_flag) e->item_seen[ho->col_item[j]] = 1;
    if (unplaced || unknown) e->ratings_unplaced++;
    add_rating(&e->pw, m, rating, like, ho->values[ho->col_code[j]]);
  }
  return SQLITE_OK;
}

/* Ranks the batch's n users and adds their ranking metrics. */
static int rank_batch(evaluation *e, size_t n) {
  size_t k = e->rank.k;
  if (rbm_recommend(e->m, n, e->q, k, e->top, e->n_top) != RBM_OK)
    return SQLITE_NOMEM;
  uint32_t top[SQL_EVALUATE_MAX_K];
  for (size_t b = 0; b < n; b++) {
    uint32_t u = e->batch_user[b];
    size_t n_rel = 0;
    for (uint64_t j = e->ho->row[u]; j < e->ho->row[u + 1]; j++) {
      rbm_key ik = rbm_keys_get(&e->ho->items, e->ho->col_item[j]);
      int64_t i = rbm_keys_find(&e->m->items, &ik);
      if (i >= 0) e->relevant[n_rel++] = (uint32_t)i;
    }
    qsort(e->relevant, n_rel, sizeof *e->relevant, cmp_u32);
    for (size_t r = 0; r < e->n_top[b]; r++) top[r] = e->top[b * k + r].item;
    rbm_ranking_add(&e->rank, top, e->n_top[b], e->relevant, n_rel,
                    (size_t)(e->ho->row[u + 1] - e->ho->row[u]));
  }
  return SQLITE_OK;
}

/* Item-based and 'both' models: ranks each held-out user over the
** source's items and adds their ranking metrics, EVAL_USERS users at a time
** (their top k held at once: k may be 1000). */
#define EVAL_USERS 1024
static int rank_item_based(evaluation *e, char **err) {
  const rbm_ratings *ho = e->ho;
  size_t k = e->rank.k, nu = ho->users.n;
  rbm_recommendation *top = malloc((k ? EVAL_USERS * k : 1) * sizeof *top);
  size_t *n_top = malloc(EVAL_USERS * sizeof *n_top);
  uint32_t *rows = malloc((k ? k : 1) * sizeof *rows);
  uint32_t *relevant = malloc(rbm_ratings_longest_row(ho) * sizeof *relevant);
  int rc = top && n_top && rows && relevant ? SQLITE_OK : SQLITE_NOMEM;
  for (size_t u0 = 0; rc == SQLITE_OK && u0 < nu; u0 += EVAL_USERS) {
    size_t nb = nu - u0 < EVAL_USERS ? nu - u0 : EVAL_USERS;
    rc = sql_user_reader_rank_users(e->rd, u0, nb, &ho->users, k, top, n_top, err);
    for (size_t b = 0; rc == SQLITE_OK && b < nb; b++) {
      uint32_t u = (uint32_t)(u0 + b);
      size_t n_rel = 0;
      for (uint64_t j = ho->row[u]; j < ho->row[u + 1]; j++) {
        rbm_key ik = rbm_keys_get(&ho->items, ho->col_item[j]);
        int64_t row = sql_user_reader_item_index(e->rd, &ik);
        if (row >= 0) relevant[n_rel++] = (uint32_t)row;
      }
      qsort(relevant, n_rel, sizeof *relevant, cmp_u32);
      for (size_t r = 0; r < n_top[b]; r++) rows[r] = top[b * k + r].item;
      rbm_ranking_add(&e->rank, rows, n_top[b], relevant, n_rel,
                      (size_t)(ho->row[u + 1] - ho->row[u]));
    }
  }
  if (rc == SQLITE_NOMEM && !*err) *err = sqlite3_mprintf("out of memory");
  free(top);
  free(n_top);
  free(rows);
  free(relevant);
  return rc;
}

/* JSON number, or null when x is not finite (no ratings, one class). */
static void append_number(sqlite3_str *s, const char *key, double x) {
  if (isfinite(x)) {
    sqlite3_str_appendf(s, ",\"%s\":%!.12g", key, x);
  } else {
    sqlite3_str_appendf(s, ",\"%s\":null", key);
  }
}

static char *result_json(const evaluation *e, const char *name) {
  const rbm_model *m = e->m;
  const pointwise *pw = &e->pw;
  const rbm_ranking_sums *rk = &e->rank;
  int softmax = m->visible == RBM_VISIBLE_SOFTMAX && e->has_ratings;
  sqlite3_str *s = sqlite3_str_new(NULL);
  sqlite3_str_appendall(s, "{\"model\":");
  sql_append_json_string(s, name);
  /* Folded in are users (user-based) or items (item-based); the other
  ** side is what the model may not know. */
  int item_based = e->item_based;
  sqlite3_str_appendf(s,
                      ",\"ratings\":%llu,\"users\":%u,\"items\":%u,"
                      "\"%s_unplaced\":%llu,\"%s_unknown\":%llu,"
                      "\"ratings_from_priors\":%llu",
                      (unsigned long long)e->ho->n, e->ho->users.n,
                      e->ho->items.n, item_based ? "items" : "users",
                      (unsigned long long)(item_based ? e->items_unknown
                                                      : e->users_unplaced),
                      item_based ? "users" : "items",
                      (unsigned long long)(item_based ? e->users_unplaced
                                                      : e->items_unknown),
                      (unsigned long long)e->ratings_unplaced);
  append_number(s, "rmse", softmax ? sqrt(pw->sq_err / pw->n) : NAN);
  append_number(s, "mae", softmax ? pw->abs_err / pw->n : NAN);
  sqlite3_str_appendf(s, ",\"like_threshold\":%!.15g", m->like_threshold);
  append_number(s, "like_auc",
                e->has_ratings ? rbm_auc(pw->p_like, pw->like, pw->n_like) : NAN);
  append_number(s, "like_accuracy", e->has_ratings ? pw->right / pw->n : NAN);
  append_number(s, "log_loss", e->has_ratings ? pw->log_loss / pw->n : NAN);
  sqlite3_str_appendf(s, ",\"k\":%llu,\"ranked_users\":%.0f",
                      (unsigned long long)rk->k, rk->users);
  if (rk->k == 0) {
    sqlite3_str_appendchar(s, 1, '}');
    return sqlite3_str_finish(s);
  }
  char key[32];
  const char *names[4] = {"precision", "recall", "ndcg", "map"};
  double sums[4] = {rk->precision, rk->recall, rk->ndcg, rk->map};
  for (int j = 0; j < 4; j++) {
    sqlite3_snprintf(sizeof key, key, "%s@%llu", names[j],
                     (unsigned long long)rk->k);
    append_number(s, key, rk->users > 0 ? sums[j] / rk->users : NAN);
  }
  sqlite3_str_appendchar(s, 1, '}');
  return sqlite3_str_finish(s);
}

int sql_evaluate_source(sqlite3 *db, const char *name, const sql_source *src,
                        int k, char **json, char **err) {
  sql_served *served = NULL;
  rbm_ratings ho;
  evaluation e;
  memset(&ho, 0, sizeof ho);
  memset(&e, 0, sizeof e);
  *json = NULL;
  int rc = sql_served_by_name(db, name, &served, err);
  if (rc != SQLITE_OK) goto done;
  e.m = sql_served_model(served);
  sql_source rows = *src;  /* an implicit model's held-out rows: rows only */
  if (e.m->visible == RBM_VISIBLE_IMPLICIT) rows.rating = (char *)"";
  rc = sql_read_source(db, &rows, NULL, 1, NULL, &ho, err);
  if (rc == SQLITE_OK) rc = sql_user_reader_open(db, served, &e.rd, err);
  if (rc != SQLITE_OK) goto done;
  e.ho = &ho;
  e.item_based = e.m->orientation == RBM_ORIENT_ITEM;
  e.has_ratings = *rows.rating != 0;
  int ranks_items = sql_user_reader_ranks_items(e.rd);
  e.rank.k = (size_t)k;
  size_t longest = rbm_ratings_longest_row(&ho);
  e.pw.p_like = malloc(ho.n * sizeof *e.pw.p_like);
  e.pw.like = malloc(ho.n);
  e.hidden = malloc(USERS_PER_BATCH * e.m->layer.n_hidden * sizeof *e.hidden);
  e.top = malloc(USERS_PER_BATCH * (e.rank.k ? e.rank.k : 1) * sizeof *e.top);
  e.relevant = malloc(longest * sizeof *e.relevant);
  e.item_seen = calloc(ho.items.n, 1);
  if (!e.pw.p_like || !e.pw.like || !e.hidden || !e.top || !e.relevant ||
      !e.item_seen) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  for (uint32_t u0 = 0; rc == SQLITE_OK && u0 < ho.users.n; u0 += USERS_PER_BATCH) {
    size_t n = ho.users.n - u0 < USERS_PER_BATCH ? ho.users.n - u0 : USERS_PER_BATCH;
    for (size_t b = 0; rc == SQLITE_OK && b < n; b++)
      rc = predict_user(&e, u0 + (uint32_t)b, b, err);
    if (rc == SQLITE_OK && e.rank.k && !ranks_items) rc = rank_batch(&e, n);
  }
  if (rc == SQLITE_OK && e.rank.k && ranks_items) rc = rank_item_based(&e, err);
  if (rc == SQLITE_OK) {
    *json = result_json(&e, name);
    if (!*json) rc = SQLITE_NOMEM;
  }
done:
  if (rc == SQLITE_NOMEM && !*err) *err = sqlite3_mprintf("out of memory");
  for (size_t b = 0; b < USERS_PER_BATCH; b++) free(e.rated[b]);
  free(e.pw.p_like);
  free(e.pw.like);
  free(e.hidden);
  free(e.top);
  free(e.relevant);
  free(e.item_seen);
  sql_user_reader_close(e.rd);
  if (served) sql_served_release(served);
  rbm_ratings_free(&ho);
  return rc;
}
