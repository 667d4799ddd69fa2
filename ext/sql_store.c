/*
** sql_store.c -- the rbm_models table.
**
** A trained model is written with one INSERT OR REPLACE, after training has
** finished in memory: a training that fails or is interrupted writes
** nothing, and the previous model of that name stays as it was.
*/
#include "sql_glue.h"

#include <stdlib.h>

static const char *CREATE_MODELS =
    "CREATE TABLE IF NOT EXISTS main.rbm_models(\n"
    "  name TEXT PRIMARY KEY,      -- what rbm_predict() calls it\n"
    "  created_at TEXT NOT NULL,   -- UTC, ISO 8601\n"
    "  options TEXT NOT NULL,      -- JSON: every training option, resolved\n"
    "  summary TEXT NOT NULL,      -- JSON: what rbm_train() returned\n"
    "  source TEXT NOT NULL,       -- table or view that fold-in reads\n"
    "  user_column TEXT NOT NULL,\n"
    "  item_column TEXT NOT NULL,\n"
    "  rating_column TEXT NOT NULL,\n"
    "  uid INTEGER NOT NULL,       -- new with every training; invalidates caches\n"
    "  model BLOB NOT NULL         -- the versioned model blob (ARCHITECTURE.md)\n"
    ")";

int rbm_insert_trained(sqlite3 *db, sqlite3_stmt *st, const rbm_trained *t,
                       char **err) {
  unsigned char *blob = NULL;
  size_t nblob = 0;
  sqlite3_int64 uid;
  int rc;
  rbm_pair pair = {t->model, t->item_half, t->w_rating, t->w_like};
  if ((t->item_half ? rbm_pair_save(&pair, &blob, &nblob)
                    : rbm_model_save(t->model, &blob, &nblob)) != RBM_OK) {
    *err = sqlite3_mprintf("out of memory");
    rc = SQLITE_NOMEM;
  } else if (nblob > 2147483647u) {
    *err = sqlite3_mprintf("the model is too large for a blob (%zu bytes)",
                           nblob);
    rc = SQLITE_TOOBIG;
  } else {
    sqlite3_randomness(sizeof uid, &uid);
    sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":options"),
                      t->options, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":summary"),
                      t->summary, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":uid"), uid);
    sqlite3_bind_blob64(st, sqlite3_bind_parameter_index(st, ":model"), blob,
                        nblob, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
    if (rc != SQLITE_OK) *err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  free(blob);
  return rc;
}

int rbm_store_model(sqlite3 *db, const char *name, const rbm_source *src,
                    const rbm_trained *t, char **err) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_exec(db, CREATE_MODELS, NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(
        db,
        "INSERT OR REPLACE INTO main.rbm_models(name, created_at, options,"
        " summary, source, user_column, item_column, rating_column, uid, model)"
        " VALUES(:name, strftime('%Y-%m-%dT%H:%M:%fZ','now'), json(:options),"
        " json(:summary), :source, :user, :item, :rating, :uid, :model)",
        -1, &st, NULL);
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("storing model '%s': %s", name, sqlite3_errmsg(db));
    return rc;
  }
#define AT(param) sqlite3_bind_parameter_index(st, param)
  sqlite3_bind_text(st, AT(":name"), name, -1, SQLITE_STATIC);
  if (src->schema) {
    sqlite3_bind_text(st, AT(":source"),
                      sqlite3_mprintf("%s.%s", src->schema, src->table), -1,
                      sqlite3_free);
  } else {
    sqlite3_bind_text(st, AT(":source"), src->table, -1, SQLITE_STATIC);
  }
  sqlite3_bind_text(st, AT(":user"), src->user, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, AT(":item"), src->item, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, AT(":rating"), src->rating, -1, SQLITE_STATIC);
#undef AT
  rc = rbm_insert_trained(db, st, t, err);
  if (rc != SQLITE_OK) {
    char *why = *err;
    *err = sqlite3_mprintf("storing model '%s': %s", name, why);
    sqlite3_free(why);
  }
  return rc;
}
