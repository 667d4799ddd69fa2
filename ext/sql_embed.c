/*
** sql_embed.c -- a rating model's users and items as vectors.
**
**   rbm_embedding(model, 'user' | 'item', id)   a float32 BLOB: a
**                                               sqlite-vec vec0 float[N]
**                                               column takes it as it is
**
** Each side of a model is either folded in or the model's visible units:
**
**   user-based  user: p(h | their ratings), folded in from the source as
**               rbm_predict folds users in (hidden floats); item: its
**               weight rows (rbm_item_vector: 2 x hidden floats; an
**               implicit model's, hidden)
**   item-based  item: p(h | its raters), folded in as rbm_predict folds
**               items in (hidden); user: their weight rows (2 x hidden)
**   'both'      the user-based half's vector, then the item-based half's
**               (3 x hidden), each scaled to length 1/sqrt(2), so the
**               cosine of two is the mean of the halves' cosines; a half
**               with no vector for the id gives zeros
**
** NULL when the model has no vector for the id: one it cannot place (no
** rated item or rater it knows; rbm_predict answers them from the priors)
** or does not know, and a NULL id.  rbm_similar (sql_similar.c) ranks
** items by the cosine of these vectors.
*/
#include "sql_serve.h"

#include <stdlib.h>
#include <string.h>

/* The user-based and item-based models of s (either may be NULL). */
static void halves(const sql_served *s, const rbm_model **user_based,
                   const rbm_model **item_based) {
  const rbm_model *m = s->model;
  *user_based = s->partner || m->orientation == RBM_ORIENT_USER ? m : NULL;
  *item_based = s->partner ? s->partner->model
                : m->orientation == RBM_ORIENT_ITEM ? m : NULL;
}

/* The floats of each half's part of a user's (item 0) or an item's vector:
** hidden probabilities where the side is folded in, weight rows where it
** is the model's visible units. */
static void part_sizes(const rbm_model *mu, const rbm_model *mi, int item,
                       size_t *nu, size_t *ni) {
  *nu = !mu ? 0 : item ? rbm_item_vector_size(mu) : mu->layer.n_hidden;
  *ni = !mi ? 0 : item ? mi->layer.n_hidden : rbm_item_vector_size(mi);
}

uint32_t sql_embedding_size(const sql_user_reader *rd, int item) {
  const rbm_model *mu, *mi;
  size_t nu, ni;
  halves(sql_user_reader_served(rd), &mu, &mi);
  part_sizes(mu, mi, item, &nu, &ni);
  return (uint32_t)(nu + ni);
}

/* 'both': each half's part, if not zeros, to length 1/sqrt(2). */
static void scale_halves(float *x, size_t nu, size_t ni) {
  const float half = 0.70710678f;
  rbm_unit_rows(x, 1, nu, NULL);
  rbm_unit_rows(x + nu, 1, ni, NULL);
  for (size_t f = 0; f < nu + ni; f++) x[f] *= half;
}

int sql_embedding(sql_user_reader *rd, int item, const rbm_key *id,
                  float *out, int *found, char **err) {
  const rbm_model *mu, *mi;
  size_t nu, ni;
  halves(sql_user_reader_served(rd), &mu, &mi);
  part_sizes(mu, mi, item, &nu, &ni);
  const float *h = NULL;
  int64_t unit;
  int rc;
  *found = 0;
  memset(out, 0, (nu + ni) * sizeof *out);
  if (mu && item && (unit = rbm_keys_find(&mu->items, id)) >= 0) {
    rbm_item_vector(mu, (uint32_t)unit, out);
    *found = 1;
  } else if (mu && !item) {  /* folded in, as rbm_predict folds users in */
    const uint32_t *rated;
    size_t n_rated;
    if ((rc = sql_user_reader_fold(rd, id, &h, &rated, &n_rated, err)) != SQLITE_OK)
      return rc;
    if (h) memcpy(out, h, nu * sizeof *out);
    *found |= h != NULL;
  }
  if (mi && item) {  /* folded in, as rbm_predict folds items in */
    if ((rc = sql_user_reader_item_hidden(rd, id, &h, err)) != SQLITE_OK)
      return rc;
    if (h) memcpy(out + nu, h, ni * sizeof *out);
    *found |= h != NULL;
  } else if (mi && (unit = rbm_keys_find(&mi->items, id)) >= 0) {
    rbm_item_vector(mi, (uint32_t)unit, out + nu);
    *found = 1;
  }
  if (mu && mi) scale_halves(out, nu, ni);
  return SQLITE_OK;
}

int sql_embedding_items(sql_user_reader *rd, float **X, uint8_t **usable,
                        size_t *n, char **err) {
  const rbm_model *mu, *mi;
  size_t nu, ni;
  halves(sql_user_reader_served(rd), &mu, &mi);
  part_sizes(mu, mi, 1, &nu, &ni);
  size_t d = nu + ni;
  *X = NULL;
  *usable = NULL;
  int rc = sql_user_reader_items(rd, n, err);
  if (rc != SQLITE_OK) return rc;
  size_t rows = *n ? *n : 1;
  *X = malloc(rows * d * sizeof **X);
  *usable = malloc(rows);
  if (!*X || !*usable) {
    free(*X);
    free(*usable);
    *X = NULL;
    *usable = NULL;
    *err = sql_errorf("out of memory");
    return SQLITE_NOMEM;
  }
  for (size_t j = 0; j < *n; j++) {
    float *x = *X + j * d;
    if (!mi) {  /* user-based: the model's items */
      rbm_item_vector(mu, (uint32_t)j, x);
      continue;
    }
    /* item-based and 'both': the source's items, as the item states hold
    ** them (what rbm_embedding gives once they are current) */
    memset(x, 0, d * sizeof *x);
    int64_t unit = mu ? sql_user_reader_row_pair(rd, j) : -1;
    if (unit >= 0) rbm_item_vector(mu, (uint32_t)unit, x);
    const float *h = sql_user_reader_row_hidden(rd, j);
    if (h) memcpy(x + nu, h, ni * sizeof *x);
    if (mu) scale_halves(x, nu, ni);
  }
  rbm_unit_rows(*X, *n, d, *usable);
  return SQLITE_OK;
}

/* ---- rbm_embedding(model, 'user' | 'item', id) ---------------------------- */

/* The per-statement reader lives in the auxdata of argument 0 (the model
** name), as rbm_predict's does. */
static void embedding_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  sql_user_reader *rd = sqlite3_get_auxdata(ctx, 0);
  const char *kind = sqlite3_value_type(argv[1]) == SQLITE_TEXT
                         ? (const char *)sqlite3_value_text(argv[1])
                         : NULL;
  int item = kind && sqlite3_stricmp(kind, "item") == 0;
  char *err = NULL;
  int rc = SQLITE_OK, fresh = 0;
  if (!item && !(kind && sqlite3_stricmp(kind, "user") == 0)) {
    sql_result_error(ctx, "rbm_embedding", SQLITE_MISUSE,
                     sql_errorf("kind must be 'user' or 'item'"));
    return;
  }
  if (!rd) {
    sql_served *s;
    if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
      sql_result_error(ctx, "rbm_embedding", SQLITE_MISUSE,
                       sql_errorf("model name must be text"));
      return;
    }
    rc = sql_served_by_name(db, (const char *)sqlite3_value_text(argv[0]), &s, &err);
    if (rc == SQLITE_OK) {
      rc = sql_user_reader_open(db, s, &rd, &err);
      sql_served_release(s);
    }
    if (rc != SQLITE_OK) {
      sql_result_error(ctx, "rbm_embedding", rc, err);
      return;
    }
    fresh = 1;
  }
  char buf[32];
  rbm_key id;
  if (sql_key_from_value(argv[2], &id, buf, sizeof buf)) {  /* else NULL */
    uint32_t d = sql_embedding_size(rd, item);
    float *x = malloc((d ? d : 1) * sizeof *x);
    int found = 0;
    rc = x ? sql_embedding(rd, item, &id, x, &found, &err) : SQLITE_NOMEM;
    if (rc == SQLITE_OK && found) sql_result_vector(ctx, x, d);
    free(x);
  }
  if (rc != SQLITE_OK) sql_result_error(ctx, "rbm_embedding", rc, err);
  if (fresh)
    sqlite3_set_auxdata(ctx, 0, rd, (void (*)(void *))sql_user_reader_close);
}

int sql_register_embed(sqlite3 *db) {
  return sqlite3_create_function(db, "rbm_embedding", 3, SQLITE_UTF8 | RESULT_SUBTYPE, NULL,
                                 embedding_func, NULL, NULL);
}
