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

int rbm_store_model(sqlite3 *db, const char *name, const rbm_source *src,
                    const rbm_trained *t, char **err) {
  unsigned char *blob = NULL;
  size_t nblob = 0;
  sqlite3_stmt *st = NULL;
  sqlite3_int64 uid;
  if (rbm_model_save(t->model, &blob, &nblob) != RBM_OK ||
      nblob > 2147483647u) {
    *err = sqlite3_mprintf(blob ? "model is too large for a blob (%zu bytes)"
                                : "out of memory",
                           nblob);
    free(blob);
    return SQLITE_TOOBIG;
  }
  int rc = sqlite3_exec(db, CREATE_MODELS, NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(
        db,
        "INSERT OR REPLACE INTO main.rbm_models(name, created_at, options,"
        " summary, source, user_column, item_column, rating_column, uid, model)"
        " VALUES(?1, strftime('%Y-%m-%dT%H:%M:%fZ','now'), json(?2), json(?3),"
        " ?4, ?5, ?6, ?7, ?8, ?9)",
        -1, &st, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_randomness(sizeof uid, &uid);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, t->options, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, t->summary, -1, SQLITE_STATIC);
    if (src->schema) {
      sqlite3_bind_text(st, 4, sqlite3_mprintf("%s.%s", src->schema, src->table),
                        -1, sqlite3_free);
    } else {
      sqlite3_bind_text(st, 4, src->table, -1, SQLITE_STATIC);
    }
    sqlite3_bind_text(st, 5, src->user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, src->item, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, src->rating, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, uid);
    sqlite3_bind_blob64(st, 9, blob, nblob, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  if (rc != SQLITE_OK)
    *err = sqlite3_mprintf("storing model '%s': %s", name, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  free(blob);
  return rc;
}
