/*
** sql_recommend.c -- rbm_recommend(model, user [, k]): the user's top-k
** items that the user has not rated in the source, best first.
**
**   SELECT item, p_like, rating FROM rbm_recommend('m', 42);
**   SELECT item, p_like FROM rbm_recommend('m', 42, 5);
**   SELECT u.id, r.item FROM users u, rbm_recommend('m', u.id) r;
**
** An eponymous-only virtual table in the style of series.c: the arguments
** are the hidden columns model, user and k.  Items are ranked by p_like
** (P(rating >= like_threshold)); rating is the expected rating (NULL for a
** binary model).  Scoring a user's items is one GEMV over all of them.
**
** idxNum bits (xBestIndex -> xFilter):
**   1  model = ?   (required)
**   2  user = ?    (required)
**   4  k = ?
** argv in xFilter follows the bits in that order.
*/
#include "sql_glue.h"

#include <stdlib.h>
#include <string.h>

enum { COL_ITEM, COL_P_LIKE, COL_RATING, COL_MODEL, COL_USER, COL_K };

#define HAS_MODEL 1
#define HAS_USER 2
#define HAS_K 4
#define DEFAULT_K 10

typedef struct rec_vtab {
  sqlite3_vtab base;
  sqlite3 *db;
} rec_vtab;

typedef struct rec_cursor {
  sqlite3_vtab_cursor base;
  sqlite3 *db;
  rbm_user_reader *rd;          /* kept across xFilter calls of one join */
  sqlite3_value *model_arg, *user_arg;
  sqlite3_int64 k;
  /* The answer: n rows of (item, p_like, rating), best first. */
  uint32_t *top;
  float *score, *probs, *rating;
  uint8_t *exclude;
  size_t n, at;
} rec_cursor;

static int rec_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                       sqlite3_vtab **out, char **pzErr) {
  (void)aux;
  (void)argc;
  (void)argv;
  (void)pzErr;
  int rc = sqlite3_declare_vtab(
      db, "CREATE TABLE x(item, p_like REAL, rating REAL,"
          " model HIDDEN, user HIDDEN, k HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  rec_vtab *v = sqlite3_malloc(sizeof *v);
  if (!v) return SQLITE_NOMEM;
  memset(v, 0, sizeof *v);
  v->db = db;
  *out = &v->base;
  return SQLITE_OK;
}

static int rec_disconnect(sqlite3_vtab *vtab) {
  sqlite3_free(vtab);
  return SQLITE_OK;
}

static int rec_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out) {
  rec_cursor *c = calloc(1, sizeof *c);
  if (!c) return SQLITE_NOMEM;
  c->db = ((rec_vtab *)vtab)->db;
  *out = &c->base;
  return SQLITE_OK;
}

static void free_answer(rec_cursor *c) {
  free(c->top);
  free(c->score);
  free(c->probs);
  free(c->rating);
  free(c->exclude);
  c->top = NULL;
  c->score = c->probs = c->rating = NULL;
  c->exclude = NULL;
  c->n = c->at = 0;
}

static int rec_close(sqlite3_vtab_cursor *cur) {
  rec_cursor *c = (rec_cursor *)cur;
  free_answer(c);
  rbm_user_reader_close(c->rd);
  sqlite3_value_free(c->model_arg);
  sqlite3_value_free(c->user_arg);
  free(c);
  return SQLITE_OK;
}

static int fail(rec_cursor *c, int rc, char *err) {
  sqlite3_vtab *vtab = c->base.pVtab;
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = sqlite3_mprintf("rbm_recommend: %s", err ? err : "error");
  sqlite3_free(err);
  return rc;
}

/* The reader for this model, reusing the cursor's when it is still the
** stored model. */
static int reader_for(rec_cursor *c, const char *name, char **err) {
  rbm_served *s;
  int rc = rbm_served_by_name(c->db, name, &s, err);
  if (rc != SQLITE_OK) return rc;
  if (c->rd && rbm_user_reader_served(c->rd) == s) {
    rbm_served_release(s);
    return SQLITE_OK;
  }
  rbm_user_reader_close(c->rd);
  c->rd = NULL;
  rc = rbm_user_reader_open(c->db, s, &c->rd, err);
  rbm_served_release(s);
  return rc;
}

static int rec_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr,
                      int argc, sqlite3_value **argv) {
  (void)idxStr;
  (void)argc;
  rec_cursor *c = (rec_cursor *)cur;
  char *err = NULL;
  int a = 0;
  free_answer(c);
  if ((idxNum & (HAS_MODEL | HAS_USER)) != (HAS_MODEL | HAS_USER))
    return fail(c, SQLITE_ERROR,
                rbm_errorf("needs a model and a user, as in "
                           "SELECT * FROM rbm_recommend('m', 42)"));
  sqlite3_value *model_v = argv[a++], *user_v = argv[a++];
  c->k = DEFAULT_K;
  if (idxNum & HAS_K) {
    sqlite3_value *kv = argv[a++];
    if (sqlite3_value_numeric_type(kv) != SQLITE_INTEGER ||
        sqlite3_value_int64(kv) < 0)
      return fail(c, SQLITE_MISMATCH,
                  rbm_errorf("k must be a non-negative integer"));
    c->k = sqlite3_value_int64(kv);
  }
  sqlite3_value_free(c->model_arg);
  sqlite3_value_free(c->user_arg);
  c->model_arg = sqlite3_value_dup(model_v);
  c->user_arg = sqlite3_value_dup(user_v);
  if (sqlite3_value_type(model_v) != SQLITE_TEXT)
    return fail(c, SQLITE_MISMATCH, rbm_errorf("model name must be text"));
  char ubuf[32];
  rbm_key user;
  if (!rbm_key_from_value(user_v, &user, ubuf, sizeof ubuf)) return SQLITE_OK;

  int rc = reader_for(c, (const char *)sqlite3_value_text(model_v), &err);
  if (rc != SQLITE_OK) return fail(c, rc, err);
  const rbm_model *m = rbm_served_model(rbm_user_reader_served(c->rd));
  const float *hidden;
  const uint32_t *rated;
  size_t n_rated;
  rc = rbm_user_reader_fold(c->rd, &user, &hidden, &rated, &n_rated, &err);
  if (rc != SQLITE_OK) return fail(c, rc, err);

  size_t ni = m->n_items, K = m->n_units;
  size_t k = c->k < (sqlite3_int64)ni ? (size_t)c->k : ni;
  c->probs = malloc(ni * K * sizeof *c->probs);
  c->score = malloc(ni * sizeof *c->score);
  c->rating = malloc(ni * sizeof *c->rating);
  c->exclude = calloc(ni, 1);
  c->top = malloc((k ? k : 1) * sizeof *c->top);
  if (!c->probs || !c->score || !c->rating || !c->exclude || !c->top)
    return fail(c, SQLITE_NOMEM, rbm_errorf("out of memory"));
  if (hidden) {
    rbm_all_item_probs(m, hidden, c->probs);
  } else {
    for (size_t i = 0; i < ni; i++)
      rbm_prior_probs(m, (uint32_t)i, c->probs + i * K);
  }
  for (size_t i = 0; i < ni; i++) {
    c->score[i] = (float)rbm_like_probability(m, c->probs + i * K);
    c->rating[i] = (float)rbm_expected_rating(m, c->probs + i * K);
  }
  for (size_t j = 0; j < n_rated; j++) c->exclude[rated[j]] = 1;
  c->n = rbm_top_k(c->score, ni, c->exclude, k, c->top);
  return SQLITE_OK;
}

static int rec_next(sqlite3_vtab_cursor *cur) {
  ((rec_cursor *)cur)->at++;
  return SQLITE_OK;
}

static int rec_eof(sqlite3_vtab_cursor *cur) {
  rec_cursor *c = (rec_cursor *)cur;
  return c->at >= c->n;
}

static int rec_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  rec_cursor *c = (rec_cursor *)cur;
  const rbm_model *m = rbm_served_model(rbm_user_reader_served(c->rd));
  uint32_t item = c->top[c->at];
  switch (col) {
    case COL_ITEM: {
      rbm_key k = rbm_keys_get(&m->items, item);
      rbm_result_key(ctx, &k);
      break;
    }
    case COL_P_LIKE:
      sqlite3_result_double(ctx, c->score[item]);
      break;
    case COL_RATING:
      if (m->visible == RBM_VISIBLE_SOFTMAX)
        sqlite3_result_double(ctx, c->rating[item]);
      break;
    case COL_MODEL:
      sqlite3_result_value(ctx, c->model_arg);
      break;
    case COL_USER:
      sqlite3_result_value(ctx, c->user_arg);
      break;
    case COL_K:
      sqlite3_result_int64(ctx, c->k);
      break;
  }
  return SQLITE_OK;
}

static int rec_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = (sqlite3_int64)((rec_cursor *)cur)->at + 1;
  return SQLITE_OK;
}

static int rec_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  (void)vtab;
  int where[3] = {-1, -1, -1}, unusable = 0;
  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *p = &info->aConstraint[i];
    if (p->iColumn < COL_MODEL || p->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!p->usable) {
      unusable |= 1 << (p->iColumn - COL_MODEL);
      continue;
    }
    where[p->iColumn - COL_MODEL] = i;
  }
  /* A required argument that exists but cannot be used in this join order:
  ** ask SQLite for another order. */
  for (int b = 0; b < 2; b++)
    if (where[b] < 0 && (unusable & (1 << b))) return SQLITE_CONSTRAINT;
  int idx = 0, argv = 0;
  for (int b = 0; b < 3; b++) {
    if (where[b] < 0) continue;
    idx |= 1 << b;
    info->aConstraintUsage[where[b]].argvIndex = ++argv;
    info->aConstraintUsage[where[b]].omit = 1;
  }
  info->idxNum = idx;
  info->estimatedCost = (idx & 3) == 3 ? 1000 : 1e12;
  info->estimatedRows = (idx & 3) == 3 ? DEFAULT_K : 1000000;
  return SQLITE_OK;
}

static sqlite3_module recommend_module = {
    0,               /* iVersion */
    NULL,            /* xCreate: eponymous only */
    rec_connect,     rec_best_index, rec_disconnect, NULL, rec_open, rec_close,
    rec_filter,      rec_next,       rec_eof,        rec_column, rec_rowid,
    NULL,            NULL,           NULL,           NULL,      NULL,
    NULL,            NULL,           NULL,           NULL,      NULL,
    NULL};

int rbm_register_recommend(sqlite3 *db) {
  return sqlite3_create_module(db, "rbm_recommend", &recommend_module, NULL);
}
