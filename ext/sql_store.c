/*
** sql_store.c -- the rbm_models table.
**
** A trained model is written with one INSERT OR REPLACE (and the blob
** then filled in, under one savepoint), after training has finished in
** memory: a training that fails or is interrupted writes nothing, and the
** previous model of that name stays as it was.
*/
#include "sql_glue.h"

#include <stdlib.h>
#include <string.h>

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

/* Model bytes into the row's blob, at the next offset. */
typedef struct blob_out {
  sqlite3_blob *blob;
  int offset, rc;
} blob_out;

static int to_blob(void *ctx, const void *bytes, size_t n) {
  blob_out *o = ctx;
  o->rc = sqlite3_blob_write(o->blob, bytes, (int)n, o->offset);
  o->offset += (int)n;
  return o->rc != SQLITE_OK;
}

/* The row goes in with a zeroblob of the model's size, and the model is
** written into it piece by piece: a model of tens of megabytes is never
** copied whole, neither by us nor into a SQLite record (on ml-100k, hidden
** 600: 0.1 s of the statement).  A savepoint makes the two one step: if the
** writing fails, the row put in and the one it replaced are as before.
** Inside a writing statement (CREATE VIRTUAL TABLE, INSERT ... SELECT
** rbm_train(...)) SQLite opens no savepoint, and needs none: that
** statement's failure takes back what was written under it. */
int sql_insert_trained(sqlite3 *db, sqlite3_stmt *st, const char *schema,
                       const char *table, const sql_trained *t, char **err) {
  rbm_pair pair = {t->model, t->item_half, t->w_rating, t->w_like};
  size_t nblob = t->features    ? rbm_dense_blob_size(t->features)
                 : t->item_half ? rbm_pair_blob_size(&pair)
                                : rbm_model_blob_size(t->model);
  if (nblob > 2147483647u) {
    *err = sqlite3_mprintf("the model is too large for a blob (%llu bytes)",
                           (unsigned long long)nblob);
    sqlite3_finalize(st);
    return SQLITE_TOOBIG;
  }
  /* Outside a transaction the savepoint starts one, and RELEASE commits. */
  int outer = sqlite3_get_autocommit(db);
  int saved = sqlite3_exec(db, "SAVEPOINT rbm_store", NULL, NULL, NULL) == SQLITE_OK;
  sqlite3_int64 uid;
  sqlite3_randomness(sizeof uid, &uid);
  sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":options"),
                    t->options, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":summary"),
                    t->summary, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":uid"), uid);
  sqlite3_bind_zeroblob64(st, sqlite3_bind_parameter_index(st, ":model"), nblob);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  blob_out out = {NULL, 0, SQLITE_OK};
  if (rc == SQLITE_OK)
    rc = sqlite3_blob_open(db, schema, table, "model",
                           sqlite3_last_insert_rowid(db), 1, &out.blob);
  if (rc == SQLITE_OK) {
    int wrc = t->features    ? rbm_dense_write(t->features, to_blob, &out)
              : t->item_half ? rbm_pair_write(&pair, to_blob, &out)
                             : rbm_model_write(t->model, to_blob, &out);
    if (wrc != RBM_OK)
      rc = wrc == RBM_NOMEM ? SQLITE_NOMEM : out.rc != SQLITE_OK ? out.rc : SQLITE_ERROR;
  }
  if (rc != SQLITE_OK)
    *err = sqlite3_mprintf("%s", rc == SQLITE_NOMEM ? "out of memory"
                                                    : sqlite3_errmsg(db));
  sqlite3_blob_close(out.blob);
  sqlite3_finalize(st);
  if (saved) {
    if (rc != SQLITE_OK) sqlite3_exec(db, "ROLLBACK TO rbm_store", NULL, NULL, NULL);
    int released = sqlite3_exec(db, "RELEASE rbm_store", NULL, NULL, NULL);
    if (rc == SQLITE_OK && released != SQLITE_OK) {
      /* A commit that failed (SQLITE_BUSY: a reader holds the file) leaves
      ** the transaction open: end it, or the connection would keep the
      ** lock and commit the half-stored row with its next statement. */
      rc = released;
      *err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
      if (outer && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
  }
  return rc;
}

static const char INSERT_MODEL[] =
    "INSERT OR REPLACE INTO main.rbm_models(name, created_at, options,"
    " summary, source, user_column, item_column, rating_column, uid, model)"
    " VALUES(:name, strftime('%Y-%m-%dT%H:%M:%fZ','now'), json(:options),"
    " json(:summary), :source, :user, :item, :rating, :uid, :model)";

/* Why the insert into rbm_models could not be prepared: a table of that
** name made otherwise (columns missing) says so. */
static int insert_error(sqlite3 *db, const char *name, int rc, char **err) {
  if (strstr(sqlite3_errmsg(db), "no column named")) {
    *err = sqlite3_mprintf("storing model '%s': rbm_models is not as this "
                           "extension makes it (%s): rename or drop it, and "
                           "train again", name, sqlite3_errmsg(db));
  } else {
    *err = sqlite3_mprintf("storing model '%s': %s", name, sqlite3_errmsg(db));
  }
  return rc;
}

int sql_models_table_ready(sqlite3 *db, const char *name, char **err) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, INSERT_MODEL, -1, &st, NULL);
  sqlite3_finalize(st);
  if (rc == SQLITE_OK || strstr(sqlite3_errmsg(db), "no such table"))
    return SQLITE_OK;  /* storing will create it */
  return insert_error(db, name, rc, err);
}

int sql_store_model(sqlite3 *db, const char *name, const sql_source *src,
                    const sql_trained *t, char **err) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_exec(db, CREATE_MODELS, NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, INSERT_MODEL, -1, &st, NULL);
  if (rc != SQLITE_OK) return insert_error(db, name, rc, err);
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
  rc = sql_insert_trained(db, st, "main", "rbm_models", t, err);
  if (rc != SQLITE_OK) {
    char *why = *err;
    *err = sqlite3_mprintf("storing model '%s': %s", name, why);
    sqlite3_free(why);
  }
  return rc;
}
