/*
** sql_similar.c -- rbm_similar(model, item [, k]): the k items most like
** an item, most similar first ("people who liked this also liked").
**
**   SELECT item, similarity FROM rbm_similar('m', 50);
**   SELECT item FROM rbm_similar('m', 50, 5);
**   SELECT i.id, s.item FROM items i, rbm_similar('m', i.id, 3) s;
**   SELECT query, item FROM rbm_similar('m', '[50, 181]');
**
** An eponymous-only virtual table shaped as rbm_recommend is: the
** arguments are the hidden columns model, query and k, rowid is the rank,
** and a query that is text starting with '[' is a JSON array of items
** (the hidden column query then names each row's item).  similarity is
** the cosine of the items' rbm_embedding vectors (sql_embed.c); the
** candidates are the items rbm_recommend ranks (the model's, or for
** item-based and 'both' models the source's) that have a vector, less the
** item itself.  An item with no vector (unknown, or not placed) and a NULL
** get no rows.  Ties go to the item rbm_recommend would list first.
**
** The candidates' unit vectors are made once per statement (kept in the
** cursor while its reader serves the same model, so a join over many
** items makes them once); each query is then one pass over them
** (rbm_nearest), queries in chunks of CHUNK.
**
** idxNum bits (xBestIndex -> xFilter):
**   1  model = ?   (required)
**   2  query = ?   (required)
**   4  k = ?
** argv in xFilter follows the bits in that order.
*/
#include "sql_serve.h"

#include <stdlib.h>
#include <string.h>

enum { COL_ITEM, COL_SIMILARITY, COL_MODEL, COL_QUERY, COL_K };

#define HAS_MODEL 1
#define HAS_QUERY 2
#define HAS_K 4
#define DEFAULT_K 10
#define CHUNK 1024

typedef struct sim_cursor {
  sql_tvf_cursor head;
  sql_user_reader *rd;          /* kept across xFilter calls of one join */
  /* The candidates' unit vectors, made for rd (X_of). */
  const sql_user_reader *X_of;
  float *X;
  uint8_t *usable;
  size_t n, d;
  sqlite3_value *model_arg, *query_arg;
  sqlite3_int64 k;
  /* The items asked for and their neighbours: query q's rows are
  ** nb[q*stride .. q*stride + n_nb[q]). */
  rbm_keys queries;
  int many;
  rbm_neighbour *nb;
  size_t *n_nb;
  size_t stride;
  sql_tvf_rows rows;            /* the current row: nb[list*stride + at] */
} sim_cursor;

static int sim_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                       sqlite3_vtab **out, char **pzErr) {
  (void)aux, (void)argc, (void)argv, (void)pzErr;
  return sql_tvf_connect(db,
                         "CREATE TABLE x(item, similarity REAL, model HIDDEN,"
                         " query HIDDEN, k HIDDEN)",
                         1, out);
}

static int sim_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out) {
  return sql_tvf_open(vtab, sizeof(sim_cursor), out);
}

static void free_answer(sim_cursor *c) {
  rbm_keys_free(&c->queries);
  free(c->nb);
  free(c->n_nb);
  c->nb = NULL;
  c->n_nb = NULL;
  memset(&c->rows, 0, sizeof c->rows);
}

static void free_candidates(sim_cursor *c) {
  free(c->X);
  free(c->usable);
  c->X = NULL;
  c->usable = NULL;
  c->X_of = NULL;
  c->n = c->d = 0;
}

static int sim_close(sqlite3_vtab_cursor *cur) {
  sim_cursor *c = (sim_cursor *)cur;
  free_answer(c);
  free_candidates(c);
  sql_user_reader_close(c->rd);
  sqlite3_value_free(c->model_arg);
  sqlite3_value_free(c->query_arg);
  free(c);
  return SQLITE_OK;
}

static int fail(sim_cursor *c, int rc, char *err) {
  return sql_tvf_fail(&c->head, "rbm_similar", rc, err);
}

/* The reader for this model, reusing the cursor's (and its candidates)
** when it is still the stored model. */
static int reader_for(sim_cursor *c, const char *name, char **err) {
  sql_served *s;
  int rc = sql_served_by_name(c->head.db, name, &s, err);
  if (rc != SQLITE_OK) return rc;
  if (c->rd && sql_user_reader_served(c->rd) == s) {
    sql_served_release(s);
    return SQLITE_OK;
  }
  free_candidates(c);
  sql_user_reader_close(c->rd);
  c->rd = NULL;
  rc = sql_user_reader_open(c->head.db, s, &c->rd, err);
  sql_served_release(s);
  return rc;
}

/* Each query's vector and its own row, then its neighbours: the queries
** with no vector get no rows. */
static int answer(sim_cursor *c, char **err) {
  int rc = SQLITE_OK;
  if (c->X_of != c->rd) {
    free_candidates(c);
    rc = sql_embedding_items(c->rd, &c->X, &c->usable, &c->n, err);
    if (rc != SQLITE_OK) return rc;
    c->d = sql_embedding_size(c->rd, 1);
    c->X_of = c->rd;
  }
  size_t nq = c->queries.n, d = c->d;
  size_t k = c->k < (sqlite3_int64)c->n ? (size_t)c->k : c->n;
  size_t most = nq < CHUNK ? nq : CHUNK;
  c->stride = k;
  c->nb = malloc((nq && k ? nq * k : 1) * sizeof *c->nb);
  c->n_nb = calloc(nq ? nq : 1, sizeof *c->n_nb);
  float *Q = malloc((most ? most : 1) * (d ? d : 1) * sizeof *Q);
  uint32_t *self = malloc((most ? most : 1) * sizeof *self);
  size_t *slot = malloc((most ? most : 1) * sizeof *slot);
  size_t *n_out = malloc((most ? most : 1) * sizeof *n_out);
  if (!c->nb || !c->n_nb || !Q || !self || !slot || !n_out) rc = SQLITE_NOMEM;
  for (size_t b = 0; rc == SQLITE_OK && b < nq; b += CHUNK) {
    size_t nb = nq - b < CHUNK ? nq - b : CHUNK, placed = 0;
    for (size_t q = 0; rc == SQLITE_OK && q < nb; q++) {
      rbm_key key = rbm_keys_get(&c->queries, (uint32_t)(b + q));
      float *x = Q + placed * d;
      int found;
      uint8_t nonzero;
      rc = sql_embedding(c->rd, 1, &key, x, &found, err);
      if (rc != SQLITE_OK || !found) continue;
      rbm_unit_rows(x, 1, d, &nonzero);
      if (!nonzero) continue;
      int64_t j = sql_user_reader_item_index(c->rd, &key);
      self[placed] = j < 0 ? UINT32_MAX : (uint32_t)j;
      slot[placed++] = b + q;
    }
    if (rc != SQLITE_OK || !placed) continue;
    /* The placed queries' answers, then each moved to its query's place
    ** (slot[p] >= b + p, in order: nothing is overwritten before read). */
    rbm_neighbour *out = c->nb + b * k;
    rbm_nearest(c->X, c->n, d, c->usable, placed, Q, self, k,
                sql_user_reader_served(c->rd)->threads, out, n_out);
    for (size_t p = placed; p-- > 0;) {
      if (slot[p] != b + p)
        memmove(c->nb + slot[p] * k, out + p * k, n_out[p] * sizeof *out);
      c->n_nb[slot[p]] = n_out[p];
    }
  }
  free(Q);
  free(self);
  free(slot);
  free(n_out);
  if (rc == SQLITE_NOMEM && !*err) *err = sql_errorf("out of memory");
  return rc;
}

static int sim_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr,
                      int argc, sqlite3_value **argv) {
  (void)idxStr;
  (void)argc;
  sim_cursor *c = (sim_cursor *)cur;
  char *err = NULL;
  int a = 0;
  free_answer(c);
  if ((idxNum & (HAS_MODEL | HAS_QUERY)) != (HAS_MODEL | HAS_QUERY))
    return fail(c, SQLITE_ERROR,
                sql_errorf("needs a model and an item, as in "
                           "SELECT * FROM rbm_similar('m', 7)"));
  sqlite3_value *model_v = argv[a++], *query_v = argv[a++];
  int rc = sql_tvf_args(c->head.db, model_v, query_v, idxNum & HAS_K ? argv[a] : NULL,
                        DEFAULT_K, "items", &c->model_arg, &c->query_arg, &c->k,
                        &c->queries, &c->many, &err);
  if (rc != SQLITE_OK) return fail(c, rc, err);
  if (c->queries.n == 0) return SQLITE_OK;
  rc = reader_for(c, (const char *)sqlite3_value_text(model_v), &err);
  if (rc == SQLITE_OK) rc = answer(c, &err);
  if (rc != SQLITE_OK) return fail(c, rc, err);
  sql_tvf_rows_start(&c->rows, c->queries.n, c->n_nb);
  return SQLITE_OK;
}

static int sim_next(sqlite3_vtab_cursor *cur) {
  sql_tvf_rows_next(&((sim_cursor *)cur)->rows);
  return SQLITE_OK;
}

static int sim_eof(sqlite3_vtab_cursor *cur) {
  return sql_tvf_rows_eof(&((sim_cursor *)cur)->rows);
}

static int sim_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  sim_cursor *c = (sim_cursor *)cur;
  const rbm_neighbour *r = &c->nb[c->rows.list * c->stride + c->rows.at];
  switch (col) {
    case COL_ITEM: {
      rbm_key k = sql_user_reader_item_key(c->rd, r->row);
      sql_result_key(ctx, &k);
      break;
    }
    case COL_SIMILARITY: {
      /* a dot product of unit vectors: a cosine, but for rounding */
      double s = r->similarity;
      sqlite3_result_double(ctx, s > 1 ? 1 : s < -1 ? -1 : s);
      break;
    }
    case COL_MODEL:
      sqlite3_result_value(ctx, c->model_arg);
      break;
    case COL_QUERY:
      if (c->many) {
        rbm_key k = rbm_keys_get(&c->queries, (uint32_t)c->rows.list);
        sql_result_key(ctx, &k);
      } else {
        sqlite3_result_value(ctx, c->query_arg);
      }
      break;
    case COL_K:
      sqlite3_result_int64(ctx, c->k);
      break;
  }
  return SQLITE_OK;
}

static int sim_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  sim_cursor *c = (sim_cursor *)cur;
  /* as rbm_recommend's: the row's number, for one item its rank */
  *rowid = (sqlite3_int64)c->rows.row + 1;
  return SQLITE_OK;
}

static int sim_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  (void)vtab;
  return sql_tvf_best_index(info, COL_MODEL, 3, DEFAULT_K);
}

static sqlite3_module similar_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only */
    .xConnect = sim_connect,
    .xBestIndex = sim_best_index,
    .xDisconnect = sql_tvf_disconnect,
    .xOpen = sim_open,
    .xClose = sim_close,
    .xFilter = sim_filter,
    .xNext = sim_next,
    .xEof = sim_eof,
    .xColumn = sim_column,
    .xRowid = sim_rowid,
};

int sql_register_similar(sqlite3 *db) {
  return sqlite3_create_module(db, "rbm_similar", &similar_module, NULL);
}
