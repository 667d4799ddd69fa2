/*
** sql_recommend.c -- rbm_recommend(model, user [, k]): the user's top-k
** items that the user has not rated in the source, best first.
**
**   SELECT item, p_like, rating FROM rbm_recommend('m', 42);
**   SELECT item, p_like FROM rbm_recommend('m', 42, 5);
**   SELECT u.id, r.item FROM users u, rbm_recommend('m', u.id) r;
**   SELECT user, item FROM rbm_recommend('m', '[1, 2, 3]');
**   SELECT user, item FROM rbm_recommend('m',
**       (SELECT json_group_array(id) FROM users));   -- one batch, GEMMs
**
** An eponymous-only virtual table in the style of series.c: the arguments
** are the hidden columns model, user and k.  Items are ranked by p_like
** (P(rating >= like_threshold)); rating is the expected rating (NULL for a
** binary model).  Users are scored in batches, one GEMM per batch
** (rbm_recommend() in the engine).  A user argument that is text starting
** with '[' is a JSON array of users; the hidden column user then names each
** row's user.
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

typedef struct rec_cursor {
  sql_tvf_cursor head;
  sql_user_reader *rd;          /* kept across xFilter calls of one join */
  sqlite3_value *model_arg, *user_arg;
  sqlite3_int64 k;
  /* The users asked for (one, or a JSON array's) and their answers:
  ** user u's rows are rec[u*stride .. u*stride + n_rec[u]). */
  rbm_keys users;
  int many;
  rbm_recommendation *rec;
  size_t *n_rec;
  size_t stride;                /* k, or the model's items if fewer */
  sql_tvf_rows rows;            /* the current row: rec[list*stride + at] */
} rec_cursor;

static int rec_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                       sqlite3_vtab **out, char **pzErr) {
  (void)aux, (void)argc, (void)argv, (void)pzErr;
  return sql_tvf_connect(db,
                         "CREATE TABLE x(item, p_like REAL, rating REAL,"
                         " model HIDDEN, user HIDDEN, k HIDDEN)",
                         1, out);
}

static int rec_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out) {
  return sql_tvf_open(vtab, sizeof(rec_cursor), out);
}

static void free_answer(rec_cursor *c) {
  rbm_keys_free(&c->users);
  free(c->rec);
  free(c->n_rec);
  c->rec = NULL;
  c->n_rec = NULL;
  memset(&c->rows, 0, sizeof c->rows);
}

static int rec_close(sqlite3_vtab_cursor *cur) {
  rec_cursor *c = (rec_cursor *)cur;
  free_answer(c);
  sql_user_reader_close(c->rd);
  sqlite3_value_free(c->model_arg);
  sqlite3_value_free(c->user_arg);
  free(c);
  return SQLITE_OK;
}

static int fail(rec_cursor *c, int rc, char *err) {
  return sql_tvf_fail(&c->head, "rbm_recommend", rc, err);
}

/* The reader for this model, reusing the cursor's when it is still the
** stored model. */
static int reader_for(rec_cursor *c, const char *name, char **err) {
  sql_served *s;
  int rc = sql_served_by_name(c->head.db, name, &s, err);
  if (rc != SQLITE_OK) return rc;
  if (c->rd && sql_user_reader_served(c->rd) == s) {
    sql_served_release(s);
    return SQLITE_OK;
  }
  sql_user_reader_close(c->rd);
  c->rd = NULL;
  rc = sql_user_reader_open(c->head.db, s, &c->rd, err);
  sql_served_release(s);
  return rc;
}

/* The ids asked for: one id, or the ids of a JSON array (in order, each
** once).  NULL asks for none.  what names them in errors ("users"). */
int sql_collect_keys(sqlite3 *db, sqlite3_value *v, const char *what,
                     rbm_keys *keys, int *many, char **err) {
  char buf[32];
  rbm_key key;
  const char *text = sqlite3_value_type(v) == SQLITE_TEXT
                         ? (const char *)sqlite3_value_text(v)
                         : NULL;
  *many = text && text[0] == '[';
  if (!*many) {
    if (sql_key_from_value(v, &key, buf, sizeof buf) &&
        rbm_keys_intern(keys, &key) < 0)
      return SQLITE_NOMEM;
    return SQLITE_OK;
  }
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, "SELECT value FROM json_each(?1)", -1, &st,
                              NULL);
  if (rc != SQLITE_OK) {
    *err = sql_errorf("%s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_bind_value(st, 1, v);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sql_key_from_value(sqlite3_column_value(st, 0), &key, buf, sizeof buf) &&
        rbm_keys_intern(keys, &key) < 0) {
      rc = SQLITE_NOMEM;
      break;
    }
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc != SQLITE_OK)
    *err = sql_errorf("%s: %s", what, rc == SQLITE_NOMEM ? "out of memory"
                                                         : sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return rc;
}

/* Folds the users in and asks the engine for their top k, in chunks so a
** long list does not hold every user's hidden vector at once. */
#define CHUNK 1024
/* Item-based and 'both' models: each user's top k of the source's items. */
static int answer_item_based(rec_cursor *c, char **err) {
  size_t n_items;
  int rc = sql_user_reader_items(c->rd, &n_items, err);
  if (rc != SQLITE_OK) return rc;
  size_t n = c->users.n;
  size_t k = c->k < (sqlite3_int64)n_items ? (size_t)c->k : n_items;
  c->stride = k;
  c->rec = malloc((n && k ? n * k : 1) * sizeof *c->rec);
  c->n_rec = calloc(n ? n : 1, sizeof *c->n_rec);
  if (!c->rec || !c->n_rec) {
    *err = sql_errorf("out of memory");
    return SQLITE_NOMEM;
  }
  return sql_user_reader_rank_users(c->rd, 0, n, &c->users, k, c->rec, c->n_rec,
                                    err);
}

static int answer(rec_cursor *c, char **err) {
  const rbm_model *m = sql_served_model(sql_user_reader_served(c->rd));
  if (sql_user_reader_ranks_items(c->rd)) return answer_item_based(c, err);
  size_t n = c->users.n, F = m->layer.n_hidden;
  size_t k = c->k < (sqlite3_int64)m->n_items ? (size_t)c->k : m->n_items;
  c->stride = k;
  c->rec = malloc((n && k ? n * k : 1) * sizeof *c->rec);
  c->n_rec = calloc(n, sizeof *c->n_rec);
  rbm_user_query *q = malloc(CHUNK * sizeof *q);
  float *hidden = malloc(CHUNK * F * sizeof *hidden);
  uint32_t **rated = calloc(CHUNK, sizeof *rated);
  int rc = c->rec && c->n_rec && q && hidden && rated ? SQLITE_OK : SQLITE_NOMEM;
  for (size_t b = 0; rc == SQLITE_OK && b < n; b += CHUNK) {
    size_t nb = n - b < CHUNK ? n - b : CHUNK;
    for (size_t u = 0; rc == SQLITE_OK && u < nb; u++) {
      rbm_key key = rbm_keys_get(&c->users, (uint32_t)(b + u));
      const float *h;
      const uint32_t *r;
      size_t nr;
      rc = sql_user_reader_fold(c->rd, &key, &h, &r, &nr, err);
      if (rc != SQLITE_OK) break;
      /* The reader's buffers are reused for the next user: copy. */
      free(rated[u]);
      rated[u] = malloc((nr ? nr : 1) * sizeof **rated);
      if (!rated[u]) {
        rc = SQLITE_NOMEM;
        break;
      }
      memcpy(rated[u], r, nr * sizeof **rated);
      if (h) memcpy(hidden + u * F, h, F * sizeof *hidden);
      q[u].hidden = h ? hidden + u * F : NULL;
      q[u].rated = rated[u];
      q[u].n_rated = nr;
    }
    if (rc == SQLITE_OK &&
        rbm_recommend(m, nb, q, k, c->rec + b * k, c->n_rec + b) != RBM_OK)
      rc = SQLITE_NOMEM;
  }
  for (size_t u = 0; rated && u < CHUNK; u++) free(rated[u]);
  free(rated);
  free(hidden);
  free(q);
  if (rc == SQLITE_NOMEM && !*err) *err = sql_errorf("out of memory");
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
                sql_errorf("needs a model and a user, as in "
                           "SELECT * FROM rbm_recommend('m', 42)"));
  sqlite3_value *model_v = argv[a++], *user_v = argv[a++];
  int rc = sql_tvf_args(c->head.db, model_v, user_v, idxNum & HAS_K ? argv[a] : NULL,
                        DEFAULT_K, "users", &c->model_arg, &c->user_arg, &c->k,
                        &c->users, &c->many, &err);
  if (rc != SQLITE_OK) return fail(c, rc, err);
  if (c->users.n == 0) return SQLITE_OK;
  rc = reader_for(c, (const char *)sqlite3_value_text(model_v), &err);
  if (rc == SQLITE_OK) rc = answer(c, &err);
  if (rc != SQLITE_OK) return fail(c, rc, err);
  sql_tvf_rows_start(&c->rows, c->users.n, c->n_rec);
  return SQLITE_OK;
}

static int rec_next(sqlite3_vtab_cursor *cur) {
  sql_tvf_rows_next(&((rec_cursor *)cur)->rows);
  return SQLITE_OK;
}

static int rec_eof(sqlite3_vtab_cursor *cur) {
  return sql_tvf_rows_eof(&((rec_cursor *)cur)->rows);
}

static int rec_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  rec_cursor *c = (rec_cursor *)cur;
  const rbm_model *m = sql_served_model(sql_user_reader_served(c->rd));
  const rbm_recommendation *r = &c->rec[c->rows.list * c->stride + c->rows.at];
  switch (col) {
    case COL_ITEM: {
      rbm_key k = sql_user_reader_item_key(c->rd, r->item);
      sql_result_key(ctx, &k);
      break;
    }
    case COL_P_LIKE:
      sqlite3_result_double(ctx, r->p_like);
      break;
    case COL_RATING:
      if (m->visible == RBM_VISIBLE_SOFTMAX) sqlite3_result_double(ctx, r->rating);
      break;
    case COL_MODEL:
      sqlite3_result_value(ctx, c->model_arg);
      break;
    case COL_USER:
      if (c->many) {
        rbm_key k = rbm_keys_get(&c->users, (uint32_t)c->rows.list);
        sql_result_key(ctx, &k);
      } else {
        sqlite3_result_value(ctx, c->user_arg);
      }
      break;
    case COL_K:
      sqlite3_result_int64(ctx, c->k);
      break;
  }
  return SQLITE_OK;
}

static int rec_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = (sqlite3_int64)((rec_cursor *)cur)->rows.row + 1;
  return SQLITE_OK;
}

static int rec_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  (void)vtab;
  return sql_tvf_best_index(info, COL_MODEL, 3, DEFAULT_K);
}

/* Designated initializers: newer headers add members at the end (3.44's
** xIntegrity), which stay NULL. */
static sqlite3_module recommend_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only */
    .xConnect = rec_connect,
    .xBestIndex = rec_best_index,
    .xDisconnect = sql_tvf_disconnect,
    .xOpen = rec_open,
    .xClose = rec_close,
    .xFilter = rec_filter,
    .xNext = rec_next,
    .xEof = rec_eof,
    .xColumn = rec_column,
    .xRowid = rec_rowid,
};

int sql_register_recommend(sqlite3 *db) {
  return sqlite3_create_module(db, "rbm_recommend", &recommend_module, NULL);
}
