/*
** sql_serve.c -- the models a connection serves, decoded once.
**
** Per connection, models by name (sql_served), each reused while the stored
** row's uid (which changes with every training) is unchanged: the uid is
** read once per statement.  A served model also keeps what this connection
** read of its source (sql_serve.h): a snapshot for a source without an
** index on the user column, and an item-based model's item states
** (sql_item_states.c).  All of it is freed with the connection, or when
** the model is retrained or evicted (8 per connection).  The per-statement
** readers that fold users and items in are in sql_reader.c.
*/
#include "sql_serve.h"

#include <stdlib.h>
#include <string.h>

/* Per-connection cache: models by name. */
#define CACHE_SIZE 8
typedef struct conn_cache {
  sqlite3 *db;
  sql_served *entry[CACHE_SIZE];
  struct conn_cache *next;
} conn_cache;

/* The caches of every connection, found by db: the list is short (one
** entry per open connection that loaded the extension) and guarded. */
static conn_cache *all_caches;
static sqlite3_mutex *cache_mutex(void) {
  return sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_APP1);
}

static conn_cache *cache_of(sqlite3 *db, int create) {
  sqlite3_mutex_enter(cache_mutex());
  conn_cache *c = all_caches;
  while (c && c->db != db) c = c->next;
  if (!c && create && (c = calloc(1, sizeof *c)) != NULL) {
    c->db = db;
    c->next = all_caches;
    all_caches = c;
  }
  sqlite3_mutex_leave(cache_mutex());
  return c;
}

void sql_served_release(sql_served *s) {
  if (!s || --s->ref > 0) return;
  sql_served_release(s->partner);
  rbm_model_free(s->model);
  sql_source_free(&s->src);
  sqlite3_free(s->name);
  sqlite3_free(s->rowid);
  sql_snapshot_release(s->snap);
  sql_item_states_release(s->states);
  free(s);
}

const rbm_model *sql_served_model(const sql_served *s) { return s->model; }
sqlite3_int64 sql_served_uid(const sql_served *s) { return s->uid; }

void sql_serve_shutdown(sqlite3 *db) {
  sqlite3_mutex_enter(cache_mutex());
  conn_cache **pp = &all_caches;
  while (*pp && (*pp)->db != db) pp = &(*pp)->next;
  conn_cache *c = *pp;
  if (c) *pp = c->next;
  sqlite3_mutex_leave(cache_mutex());
  if (!c) return;
  for (int i = 0; i < CACHE_SIZE; i++) sql_served_release(c->entry[i]);
  free(c);
}

/* A model in memory takes about its blob's size again: refused when that
** is over the default share of physical memory (RBM_DEFAULT_MEMORY_SHARE). */
int sql_check_blob_memory(sqlite3_int64 nblob, char **err) {
  double limit = rbm_memory_limit(0);
  if ((double)nblob <= limit) return SQLITE_OK;
  char a[32], b[32];
  *err = sqlite3_mprintf("the model is %s, more than the memory a model may "
                         "take here (%s)", rbm_format_bytes((double)nblob, a, sizeof a),
                         rbm_format_bytes(limit, b, sizeof b));
  return *err ? SQLITE_ERROR : SQLITE_NOMEM;
}

int sql_served_from_blob(const void *blob, int nblob, const sql_source *src,
                         sqlite3_int64 uid, int threads, sql_served **out,
                         char **err) {
  char msg[200];
  *out = NULL;
  int mrc = sql_check_blob_memory(nblob, err);
  if (mrc != SQLITE_OK) return mrc;
  sql_served *s = calloc(1, sizeof *s);
  if (!s || sql_source_copy(&s->src, src) != SQLITE_OK) {
    free(s);
    *err = sqlite3_mprintf("out of memory");
    return SQLITE_NOMEM;
  }
  s->ref = 1;
  s->uid = uid;
  s->threads = threads > 0 ? threads : rbm_auto_threads();
  int rc;
  if (rbm_blob_is_dense(blob, (size_t)(nblob > 0 ? nblob : 0))) {
    sql_served_release(s);
    *err = sqlite3_mprintf("it is a feature model (rbm_fit): use rbm_transform, "
                           "rbm_classify and the other feature functions");
    return SQLITE_ERROR;
  }
  if (rbm_blob_is_pair(blob, (size_t)(nblob > 0 ? nblob : 0))) {
    rbm_pair pair;
    rc = rbm_pair_load(blob, (size_t)nblob, &pair, msg, sizeof msg);
    if (rc == RBM_OK) {
      s->model = pair.user_half;
      s->w_rating = pair.w_rating;
      s->w_like = pair.w_like;
      /* The item-based half, served as an item-based model would be. */
      sql_served *half = calloc(1, sizeof *half);
      if (!half || sql_source_copy(&half->src, src) != SQLITE_OK) {
        free(half);
        rbm_model_free(pair.item_half);
        sql_served_release(s);
        *err = sqlite3_mprintf("out of memory");
        return SQLITE_NOMEM;
      }
      half->ref = 1;
      half->uid = uid;
      half->threads = s->threads;
      half->model = pair.item_half;
      s->partner = half;
    }
  } else {
    rc = rbm_model_load(blob, (size_t)(nblob > 0 ? nblob : 0), &s->model, msg,
                        sizeof msg);
  }
  if (rc != RBM_OK) {
    sql_served_release(s);
    *err = sqlite3_mprintf("%s", msg);
    return rc == RBM_NOMEM ? SQLITE_NOMEM : SQLITE_CORRUPT;
  }
  *out = s;
  return SQLITE_OK;
}

/* What identifies the stored model called name: its uid, which every
** training renews, and the blob's length, which catches a blob replaced by
** hand (length() does not read the blob). */
static int stored_uid(sqlite3 *db, const char *name, sqlite3_int64 *uid,
                      char **err) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(
      db, "SELECT uid, length(model) FROM main.rbm_models WHERE name = ?1",
      -1, &st, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
  }
  if (rc == SQLITE_ROW) {
    *uid = (sqlite3_int64)((sqlite3_uint64)sqlite3_column_int64(st, 0) ^
                           ((sqlite3_uint64)sqlite3_column_int64(st, 1) << 40));
    rc = SQLITE_OK;
  } else if (rc == SQLITE_DONE) {
    *err = sqlite3_mprintf("no model named '%s' in rbm_models", name);
    rc = SQLITE_ERROR;
  } else if (strstr(sqlite3_errmsg(db), "no such table")) {
    *err = sqlite3_mprintf("no model named '%s' (there is no rbm_models "
                           "table: train one with rbm_train)", name);
    rc = SQLITE_ERROR;
  } else if (strstr(sqlite3_errmsg(db), "no such column")) {
    *err = sqlite3_mprintf("rbm_models is not as this extension makes it (%s): "
                           "rename or drop it, and train again", sqlite3_errmsg(db));
    rc = SQLITE_ERROR;
  } else {
    *err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  return rc;
}

static int load_stored(sqlite3 *db, const char *name, sql_served **out,
                       char **err) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(
      db,
      "SELECT model, uid, source, user_column, item_column, rating_column,"
      " CASE WHEN json_valid(options) THEN json_extract(options, '$.threads') END"
      " FROM main.rbm_models WHERE name = ?1",
      -1, &st, NULL);
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const char *table = (const char *)sqlite3_column_text(st, 2);
    sql_source src = {NULL, NULL, (char *)sqlite3_column_text(st, 3),
                      (char *)sqlite3_column_text(st, 4),
                      (char *)sqlite3_column_text(st, 5), 0};
    if (!table || !src.user || !src.item || !src.rating) {
      *err = sqlite3_mprintf("model '%s' has no source recorded", name);
      rc = SQLITE_CORRUPT;
    } else if (sql_source_set_table(db, &src, table) != SQLITE_OK ||
               (!sqlite3_column_blob(st, 0) && sqlite3_errcode(db) == SQLITE_NOMEM)) {
      *err = sqlite3_mprintf("out of memory");
      rc = SQLITE_NOMEM;
    } else {
      rc = sql_served_from_blob(
          sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0), &src,
          (sqlite3_int64)((sqlite3_uint64)sqlite3_column_int64(st, 1) ^
                          ((sqlite3_uint64)sqlite3_column_bytes(st, 0) << 40)),
          sqlite3_column_int(st, 6), out, err);
      if (rc != SQLITE_OK) {
        char *why = *err;
        *err = sqlite3_mprintf("model '%s': %s", name, why);
        sqlite3_free(why);
      }
    }
    sqlite3_free(src.schema);
    sqlite3_free(src.table);
  } else if (rc == SQLITE_DONE) {
    *err = sqlite3_mprintf("no model named '%s' in rbm_models", name);
    rc = SQLITE_ERROR;
  } else {
    *err = sqlite3_mprintf("model '%s': %s", name, sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  return rc;
}

int sql_served_by_name(sqlite3 *db, const char *name, sql_served **out,
                       char **err) {
  sqlite3_int64 uid = 0;
  *out = NULL;
  int rc = stored_uid(db, name, &uid, err);
  if (rc != SQLITE_OK) return rc;
  conn_cache *c = cache_of(db, 1);
  int slot = -1;
  for (int i = 0; c && i < CACHE_SIZE; i++) {
    sql_served *e = c->entry[i];
    if (e && strcmp(e->name, name) == 0) {
      if (e->uid == uid) {
        e->ref++;
        *out = e;
        return SQLITE_OK;
      }
      slot = i;  /* retrained since: replace */
    }
  }
  rc = load_stored(db, name, out, err);
  if (rc != SQLITE_OK || !c) return rc;
  if (slot < 0) {
    for (int i = 0; i < CACHE_SIZE && slot < 0; i++)
      if (!c->entry[i]) slot = i;
    if (slot < 0) slot = (int)(uid & (CACHE_SIZE - 1));  /* evict one */
  }
  (*out)->name = sqlite3_mprintf("%s", name);
  if (!(*out)->name) return SQLITE_OK;  /* works, just is not cached */
  sql_served_release(c->entry[slot]);
  c->entry[slot] = *out;
  (*out)->ref++;
  return SQLITE_OK;
}
