/*
** sql_serve.c -- keeping models and users ready for prediction.
**
** Three levels of cache, so that rbm_predict() row after row costs a
** lookup and K dot products:
**
**   per connection  decoded models by name, checked against the stored
**                   row's uid (which changes with every training) once per
**                   statement; and, for sources without an index on the
**                   user column, a CSR snapshot of the source, rebuilt when
**                   the database has changed since.
**   per statement   an rbm_user_reader (in sqlite3_set_auxdata), holding
**                   the last user's hidden activations.
**
** A user is folded in from their rows in the source as it is *now*, so
** ratings added after training count without retraining.  With an index on
** the user column that is one indexed query per user; without one, one
** scan builds the snapshot, instead of one scan per user.
*/
#include "sql_glue.h"

#include <stdlib.h>
#include <string.h>

/* The source read whole, for sources without an index on the user. */
typedef struct snapshot {
  int ref;
  sqlite3_int64 data_version, total_changes;  /* when it was read */
  rbm_ratings r;
  uint32_t *model_item;                       /* r's item -> model's, or
                                              ** UINT32_MAX if unknown */
  uint8_t unit_of_code[RBM_MAX_VALUES];
} snapshot;

struct rbm_served {
  int ref;
  rbm_model *model;
  rbm_source src;
  sqlite3_int64 uid;
  char *name;           /* under which it is cached; NULL if not cached */
  int threads;          /* the model's threads option: OpenBLAS's threads */
  snapshot *snap;
  /* Orientation 'both': model is the user-based half, partner serves the
  ** item-based one, and answers are blended with these weights (on the
  ** item-based half). */
  struct rbm_served *partner;
  double w_rating, w_like;
};

/* Per-connection cache: models by name. */
#define CACHE_SIZE 8
typedef struct conn_cache {
  sqlite3 *db;
  rbm_served *entry[CACHE_SIZE];
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

static void snapshot_release(snapshot *sn) {
  if (!sn || --sn->ref > 0) return;
  rbm_ratings_free(&sn->r);
  free(sn->model_item);
  free(sn);
}

void rbm_served_release(rbm_served *s) {
  if (!s || --s->ref > 0) return;
  rbm_served_release(s->partner);
  rbm_model_free(s->model);
  rbm_source_free(&s->src);
  sqlite3_free(s->name);
  snapshot_release(s->snap);
  free(s);
}

const rbm_model *rbm_served_model(const rbm_served *s) { return s->model; }
sqlite3_int64 rbm_served_uid(const rbm_served *s) { return s->uid; }

void rbm_serve_shutdown(sqlite3 *db) {
  sqlite3_mutex_enter(cache_mutex());
  conn_cache **pp = &all_caches;
  while (*pp && (*pp)->db != db) pp = &(*pp)->next;
  conn_cache *c = *pp;
  if (c) *pp = c->next;
  sqlite3_mutex_leave(cache_mutex());
  if (!c) return;
  for (int i = 0; i < CACHE_SIZE; i++) rbm_served_release(c->entry[i]);
  free(c);
}

int rbm_served_from_blob(const void *blob, int nblob, const rbm_source *src,
                         sqlite3_int64 uid, int threads, rbm_served **out,
                         char **err) {
  char msg[200];
  rbm_served *s = calloc(1, sizeof *s);
  *out = NULL;
  if (!s || rbm_source_copy(&s->src, src) != SQLITE_OK) {
    free(s);
    *err = sqlite3_mprintf("out of memory");
    return SQLITE_NOMEM;
  }
  s->ref = 1;
  s->uid = uid;
  s->threads = threads > 0 ? threads : 1;
  int rc;
  if (rbm_blob_is_pair(blob, (size_t)(nblob > 0 ? nblob : 0))) {
    rbm_pair pair;
    rc = rbm_pair_load(blob, (size_t)nblob, &pair, msg, sizeof msg);
    if (rc == RBM_OK) {
      s->model = pair.user_half;
      s->w_rating = pair.w_rating;
      s->w_like = pair.w_like;
      /* The item-based half, served as an item-based model would be. */
      rbm_served *half = calloc(1, sizeof *half);
      if (!half || rbm_source_copy(&half->src, src) != SQLITE_OK) {
        free(half);
        rbm_model_free(pair.item_half);
        rbm_served_release(s);
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
    rbm_served_release(s);
    *err = sqlite3_mprintf("%s", msg);
    return rc == RBM_NOMEM ? SQLITE_NOMEM : SQLITE_CORRUPT;
  }
  rbm_served *item_based = s->partner ? s->partner
                           : s->model->orientation == RBM_ORIENT_ITEM ? s : NULL;
  if (item_based) {
    /* What is folded in is an item, over the users who rated it. */
    char *user = item_based->src.user;
    item_based->src.user = item_based->src.item;
    item_based->src.item = user;
    item_based->src.by_item = 1;
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
  } else {
    *err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  return rc;
}

static int load_stored(sqlite3 *db, const char *name, rbm_served **out,
                       char **err) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(
      db,
      "SELECT model, uid, source, user_column, item_column, rating_column,"
      " json_extract(options, '$.threads')"
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
    rbm_source src = {NULL, NULL, (char *)sqlite3_column_text(st, 3),
                      (char *)sqlite3_column_text(st, 4),
                      (char *)sqlite3_column_text(st, 5), 0};
    if (!table || !src.user || !src.item || !src.rating) {
      *err = sqlite3_mprintf("model '%s' has no source recorded", name);
      rc = SQLITE_CORRUPT;
    } else if (rbm_source_set_table(db, &src, table) != SQLITE_OK) {
      rc = SQLITE_NOMEM;
    } else {
      rc = rbm_served_from_blob(
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
  } else {
    *err = sqlite3_mprintf("no model named '%s' in rbm_models", name);
    rc = SQLITE_ERROR;
  }
  sqlite3_finalize(st);
  return rc;
}

int rbm_served_by_name(sqlite3 *db, const char *name, rbm_served **out,
                       char **err) {
  sqlite3_int64 uid = 0;
  *out = NULL;
  int rc = stored_uid(db, name, &uid, err);
  if (rc != SQLITE_OK) return rc;
  conn_cache *c = cache_of(db, 1);
  int slot = -1;
  for (int i = 0; c && i < CACHE_SIZE; i++) {
    rbm_served *e = c->entry[i];
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
  rbm_served_release(c->entry[slot]);
  c->entry[slot] = *out;
  (*out)->ref++;
  return SQLITE_OK;
}

/* ---- reading users from the source ----------------------------------- */

/* Does "WHERE user = ?" use an index?  Asked once per model and connection. */
static int user_lookup_is_indexed(sqlite3 *db, const char *select_sql) {
  char *sql = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", select_sql);
  sqlite3_stmt *st;
  int search = 0, scan = 0;
  if (sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      const char *detail = (const char *)sqlite3_column_text(st, 3);
      if (!detail) continue;
      if (strncmp(detail, "SEARCH", 6) == 0) search = 1;
      if (strncmp(detail, "SCAN", 4) == 0) scan = 1;
    }
    sqlite3_finalize(st);
  }
  sqlite3_free(sql);
  return search && !scan;
}

static void change_counters(sqlite3 *db, const rbm_source *src,
                            sqlite3_int64 *data_version,
                            sqlite3_int64 *total_changes) {
  unsigned int v = 0;
  sqlite3_file_control(db, src->schema ? src->schema : "main",
                       SQLITE_FCNTL_DATA_VERSION, &v);
  *data_version = v;
  *total_changes = sqlite3_total_changes64(db);
}

/* The served model's snapshot, read anew if the database changed. */
static int fresh_snapshot(sqlite3 *db, rbm_served *s, snapshot **out,
                          char **err) {
  sqlite3_int64 dv, tc;
  change_counters(db, &s->src, &dv, &tc);
  if (s->snap && s->snap->data_version == dv && s->snap->total_changes == tc) {
    s->snap->ref++;
    *out = s->snap;
    return SQLITE_OK;
  }
  snapshot *sn = calloc(1, sizeof *sn);
  if (!sn) {
    *err = sqlite3_mprintf("out of memory");
    return SQLITE_NOMEM;
  }
  sn->ref = 1;
  sn->data_version = dv;
  sn->total_changes = tc;
  int rc = rbm_read_source(db, &s->src, s->model, s->threads, &sn->r, err);
  if (rc == SQLITE_OK) {
    sn->model_item = malloc((sn->r.items.n + 1) * sizeof *sn->model_item);
    if (!sn->model_item) rc = SQLITE_NOMEM;
  }
  if (rc != SQLITE_OK) {
    snapshot_release(sn);
    return rc;
  }
  for (uint32_t i = 0; i < sn->r.items.n; i++) {
    rbm_key k = rbm_keys_get(&sn->r.items, i);
    int64_t mi = rbm_keys_find(&s->model->items, &k);
    sn->model_item[i] = mi < 0 ? UINT32_MAX : (uint32_t)mi;
  }
  for (uint32_t c = 0; c < sn->r.n_values; c++)  /* values are units here */
    sn->unit_of_code[c] = (uint8_t)sn->r.values[c];
  snapshot_release(s->snap);
  s->snap = sn;
  sn->ref++;
  *out = sn;
  return SQLITE_OK;
}

struct rbm_user_reader {
  sqlite3 *db;
  rbm_served *s;
  snapshot *snap;             /* either this ... */
  sqlite3_stmt *by_user;      /* ... or this */
  uint32_t *items;            /* the last user's rated items the model knows */
  uint8_t *units;
  size_t n;
  uint32_t *seen;             /* per item: stamp of the last user who had it */
  uint32_t *pos;              /* per item: where in items[] it is, if seen */
  uint32_t stamp;
  float *hidden;
  int placed, have_last;
  rbm_key last;
  char *last_text;
  struct rbm_user_reader *partner;  /* 'both': the item-based half's */
  /* Item-based models: every item of the source folded in, once (rows
  ** are the snapshot's "users", which are items here). */
  struct all_rows {
    int ready;
    size_t n;
    float *hidden;        /* n rows of n_hidden */
    uint8_t *placed;      /* has the row a hidden vector */
    float *prior;         /* n rows of n_units: the row's own ratings,
                          ** smoothed towards the global distribution */
    uint64_t *col_start;  /* per snapshot column (a user here): */
    uint32_t *col_rows;   /*   the rows (items) the user rated */
    int64_t *user_half_item;  /* 'both': the user-based half's index of each
                              ** row's item, or -1 */
  } all;
  /* rbm_user_reader_score_items: one user's answers for every item. */
  float *score_like, *score_rating, *score_probs;
  float *score_scratch;     /* item-based: rbm_visible_probs_batch's */
  float *score_user_half;   /* 'both': the user-based half's answers */
  uint8_t *score_rated;
};

rbm_served *rbm_user_reader_served(const rbm_user_reader *rd) {
  return rd->s;
}

/* fold_all_rows's arrays (not user_half_item, which outlives them). */
static void free_all_rows(struct all_rows *a) {
  free(a->hidden);
  free(a->placed);
  free(a->prior);
  free(a->col_start);
  free(a->col_rows);
  a->hidden = a->prior = NULL;
  a->placed = NULL;
  a->col_start = NULL;
  a->col_rows = NULL;
  a->ready = 0;
}

void rbm_user_reader_close(rbm_user_reader *rd) {
  if (!rd) return;
  rbm_user_reader_close(rd->partner);
  sqlite3_finalize(rd->by_user);
  snapshot_release(rd->snap);
  rbm_served_release(rd->s);
  free(rd->items);
  free(rd->units);
  free(rd->seen);
  free(rd->pos);
  free(rd->hidden);
  free(rd->last_text);
  free_all_rows(&rd->all);
  free(rd->all.user_half_item);
  free(rd->score_like);
  free(rd->score_rating);
  free(rd->score_probs);
  free(rd->score_scratch);
  free(rd->score_user_half);
  free(rd->score_rated);
  free(rd);
}

int rbm_user_reader_open(sqlite3 *db, rbm_served *s, rbm_user_reader **out,
                         char **err) {
  const rbm_model *m = s->model;
  rbm_user_reader *rd = calloc(1, sizeof *rd);
  *out = NULL;
  if (!rd) goto nomem;
  rd->db = db;
  rd->s = s;
  s->ref++;
  /* Scoring (GEMV, GEMM) runs on as many OpenBLAS threads as the model's
  ** threads option says.  Training uses no BLAS, and the extension parks
  ** OpenBLAS's idle threads when it loads (sql_extension.c), so the two do
  ** not compete for cores. */
  if (rbm_blas_threads() != s->threads) rbm_blas_set_threads(s->threads);
  rd->items = malloc(m->n_items * sizeof *rd->items);
  rd->units = malloc(m->n_items);
  rd->seen = calloc(m->n_items, sizeof *rd->seen);
  rd->pos = malloc(m->n_items * sizeof *rd->pos);
  rd->hidden = malloc(m->n_hidden * sizeof *rd->hidden);
  if (!rd->items || !rd->units || !rd->seen || !rd->pos || !rd->hidden)
    goto nomem;

  char *from = rbm_source_from_clause(&s->src);
  char *rating = rbm_source_rating_sql(&s->src);
  const char *t = s->src.table;  /* qualified: see rbm_read_source */
  char *sql = from && rating ? sqlite3_mprintf(
                                   "SELECT \"%w\".\"%w\", %s FROM %s AS \"%w\""
                                   " WHERE \"%w\".\"%w\" = ?1",
                                   t, s->src.item, rating, from, t, t,
                                   s->src.user)
                             : NULL;
  sqlite3_free(from);
  sqlite3_free(rating);
  if (!sql) goto nomem;
  int rc = sqlite3_prepare_v2(db, sql, -1, &rd->by_user, NULL);
  int indexed = rc == SQLITE_OK && user_lookup_is_indexed(db, sql);
  sqlite3_free(sql);
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("source %s: %s", s->src.table, sqlite3_errmsg(db));
    rbm_user_reader_close(rd);
    return rc;
  }
  if (!indexed) {
    sqlite3_finalize(rd->by_user);
    rd->by_user = NULL;
    rc = fresh_snapshot(db, s, &rd->snap, err);
    if (rc != SQLITE_OK) {
      rbm_user_reader_close(rd);
      return rc;
    }
  }
  if (s->partner) {
    int prc = rbm_user_reader_open(db, s->partner, &rd->partner, err);
    if (prc != SQLITE_OK) {
      rbm_user_reader_close(rd);
      return prc;
    }
  }
  *out = rd;
  return SQLITE_OK;
nomem:
  rbm_user_reader_close(rd);
  *err = sqlite3_mprintf("out of memory");
  return SQLITE_NOMEM;
}

/* Adds (item, unit); a repeated item takes the later row's unit, as in
** training, so it counts once. */
static void add_rated(rbm_user_reader *rd, uint32_t item, uint8_t unit) {
  if (item == UINT32_MAX) return;
  if (rd->seen[item] == rd->stamp) {
    rd->units[rd->pos[item]] = unit;
    return;
  }
  rd->seen[item] = rd->stamp;
  rd->pos[item] = (uint32_t)rd->n;
  rd->items[rd->n] = item;
  rd->units[rd->n] = unit;
  rd->n++;
}

static int gather_from_query(rbm_user_reader *rd, const rbm_key *user,
                             char **err) {
  sqlite3_stmt *st = rd->by_user;
  const rbm_model *m = rd->s->model;
  char buf[32];
  rbm_bind_key(st, 1, user);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    rbm_key item;
    sqlite3_value *rv = sqlite3_column_value(st, 1);
    int type = sqlite3_value_numeric_type(rv);
    if (!rbm_key_from_value(sqlite3_column_value(st, 0), &item, buf, sizeof buf))
      continue;
    if (type != SQLITE_INTEGER && type != SQLITE_FLOAT) continue;
    int64_t mi = rbm_keys_find(&m->items, &item);
    if (mi >= 0)
      add_rated(rd, (uint32_t)mi,
                (uint8_t)rbm_unit_of_value(m, sqlite3_value_double(rv)));
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    *err = sqlite3_mprintf("source %s: %s", rd->s->src.table,
                           sqlite3_errmsg(rd->db));
    return rc;
  }
  return SQLITE_OK;
}

static void gather_from_snapshot(rbm_user_reader *rd, const rbm_key *user) {
  const snapshot *sn = rd->snap;
  int64_t u = rbm_keys_find(&sn->r.users, user);
  if (u < 0) return;
  for (uint64_t j = sn->r.row[u]; j < sn->r.row[u + 1]; j++)
    add_rated(rd, sn->model_item[sn->r.col_item[j]],
              sn->unit_of_code[sn->r.col_code[j]]);
}

static int remember_user(rbm_user_reader *rd, const rbm_key *user) {
  rd->have_last = 0;
  rd->last = *user;
  if (user->text) {
    char *t = realloc(rd->last_text, user->len + 1);
    if (!t) return SQLITE_NOMEM;
    memcpy(t, user->text, user->len);
    rd->last_text = t;
    rd->last.text = t;
  }
  rd->have_last = 1;
  return SQLITE_OK;
}

int rbm_user_reader_fold(rbm_user_reader *rd, const rbm_key *user,
                         const float **hidden, const uint32_t **rated,
                         size_t *n_rated, char **err) {
  if (!rd->have_last || !rbm_key_equal(&rd->last, user)) {
    rd->n = 0;
    if (++rd->stamp == 0) {  /* wrapped: start the stamps afresh */
      memset(rd->seen, 0, rd->s->model->n_items * sizeof *rd->seen);
      rd->stamp = 1;
    }
    if (rd->snap) {
      gather_from_snapshot(rd, user);
    } else {
      int rc = gather_from_query(rd, user, err);
      if (rc != SQLITE_OK) {
        rd->have_last = 0;
        return rc;
      }
    }
    rd->placed = rd->n > 0;
    if (rd->placed)
      rbm_fold_in(rd->s->model, rd->n, rd->items, rd->units, rd->hidden);
    if (remember_user(rd, user) != SQLITE_OK) {
      *err = sqlite3_mprintf("out of memory");
      return SQLITE_NOMEM;
    }
  }
  *hidden = rd->placed ? rd->hidden : NULL;
  *rated = rd->items;
  *n_rated = rd->n;
  return SQLITE_OK;
}

/* The rows of the snapshot (the source's users, or items for an item-based
** model, by the model's orientation); key i valid until close. */
static int snapshot_rows(rbm_user_reader *rd, const rbm_keys **users,
                         char **err) {
  if (!rd->snap) {
    int rc = fresh_snapshot(rd->db, rd->s, &rd->snap, err);
    if (rc != SQLITE_OK) return rc;
    sqlite3_finalize(rd->by_user);
    rd->by_user = NULL;
    rd->have_last = 0;
  }
  *users = &rd->snap->r.users;
  return SQLITE_OK;
}

/* ---- item-based models: ranking items for a user ---------------------- */

/* Folds every row of the snapshot in, and indexes its columns (again after
** a failed attempt: what that one allocated is freed first). */
static int fold_all_rows(rbm_user_reader *rd, char **err) {
  free_all_rows(&rd->all);
  const rbm_keys *rows;
  int rc = snapshot_rows(rd, &rows, err);
  if (rc != SQLITE_OK) return rc;
  const rbm_model *m = rd->s->model;
  const snapshot *sn = rd->snap;
  struct all_rows *a = &rd->all;
  size_t n = rows->n, K = m->n_units, F = m->n_hidden, ncol = sn->r.items.n;
  a->hidden = malloc((n ? n : 1) * F * sizeof *a->hidden);
  a->placed = malloc(n ? n : 1);
  a->prior = malloc((n ? n : 1) * K * sizeof *a->prior);
  a->col_start = calloc(ncol + 1, sizeof *a->col_start);
  a->col_rows = malloc((sn->r.n ? sn->r.n : 1) * sizeof *a->col_rows);
  if (!a->hidden || !a->placed || !a->prior || !a->col_start || !a->col_rows) {
    *err = sqlite3_mprintf("out of memory");
    return SQLITE_NOMEM;
  }
  double global[RBM_MAX_VALUES];  /* the model's, as the priors use it */
  for (size_t k = 0; k < K; k++) global[k] = m->prior[(size_t)m->n_items * K + k];
  for (uint32_t j = 0; j < n; j++) {
    rbm_key key = rbm_keys_get(rows, j);
    const float *h;
    const uint32_t *rated;
    size_t n_rated;
    rc = rbm_user_reader_fold(rd, &key, &h, &rated, &n_rated, err);
    if (rc != SQLITE_OK) return rc;
    a->placed[j] = h != NULL;
    if (h) memcpy(a->hidden + j * F, h, F * sizeof *h);
    double count[RBM_MAX_VALUES] = {0}, total = 0;
    for (uint64_t q = sn->r.row[j]; q < sn->r.row[j + 1]; q++) {
      count[sn->unit_of_code[sn->r.col_code[q]]] += 1;
      total += 1;
    }
    rbm_smooth_counts(K, count, total, global, a->prior + j * K);
  }
  /* Columns: counting sort of the snapshot's entries. */
  for (uint64_t q = 0; q < sn->r.n; q++) a->col_start[sn->r.col_item[q] + 1]++;
  for (size_t c = 0; c < ncol; c++) a->col_start[c + 1] += a->col_start[c];
  uint64_t *next = malloc((ncol ? ncol : 1) * sizeof *next);
  if (!next) {
    *err = sqlite3_mprintf("out of memory");
    return SQLITE_NOMEM;
  }
  memcpy(next, a->col_start, ncol * sizeof *next);
  for (uint32_t j = 0; j < n; j++)
    for (uint64_t q = sn->r.row[j]; q < sn->r.row[j + 1]; q++)
      a->col_rows[next[sn->r.col_item[q]]++] = j;
  free(next);
  a->n = n;
  a->ready = 1;
  return SQLITE_OK;
}

/* 'both': the user-based half's unit probabilities of its item i (-1:
** unknown to it), from all (that half's answers for every item, NULL when
** it cannot place the user) or its priors. */
static void user_half_probs(const rbm_model *mu, int64_t i, const float *all,
                            float *q) {
  if (i >= 0 && all) {
    memcpy(q, all + (size_t)i * mu->n_units, mu->n_units * sizeof *q);
  } else {
    rbm_prior_probs(mu, i >= 0 ? (uint32_t)i : UINT32_MAX, q);
  }
}

#define RANK_BATCH 128  /* users whose user-based answers come from one GEMM */

/* 'both': per row of the item-based half (ir), the user-based half's index
** of that item (or -1), found once. */
static int map_rows_to_user_half(rbm_user_reader *rd, rbm_user_reader *ir,
                                 char **err) {
  const rbm_model *m = rd->s->model;
  if (ir->all.user_half_item) return SQLITE_OK;
  ir->all.user_half_item = malloc((ir->all.n ? ir->all.n : 1) * sizeof(int64_t));
  if (!ir->all.user_half_item) {
    *err = sqlite3_mprintf("out of memory");
    return SQLITE_NOMEM;
  }
  for (uint32_t j = 0; j < ir->all.n; j++) {
    rbm_key key = rbm_keys_get(&ir->snap->r.users, j);
    ir->all.user_half_item[j] = rbm_keys_find(&m->items, &key);
  }
  return SQLITE_OK;
}

/* One batch of rbm_user_reader_rank_users, shared out per user. */
typedef struct rank_job {
  rbm_user_reader *rd, *ir;
  const rbm_keys *users;
  size_t first, b0, k;     /* users first+b0+b; out rows b0+b */
  const uint32_t *index;   /* per user: the item-based half's index or none */
  const uint8_t *placed;   /* per user: the user-based half could place them */
  const size_t *slot;      /*   and their row of user_probs */
  const float *user_probs, *item_probs;
  float *other;            /* per worker: n rows of n_units */
  uint8_t *skip;           /* per worker: n */
  rbm_recommendation *out;
  size_t *n_out;
} rank_job;

static void rank_one_user(void *ctx, size_t b, int worker) {
  const rank_job *j = ctx;
  const struct all_rows *a = &j->ir->all;
  const rbm_model *mi = j->ir->s->model, *mu = j->rd->s->model;
  size_t K = mu->n_units, nI = mu->n_items;
  float *other = j->other ? j->other + (size_t)worker * a->n * K : NULL;
  uint8_t *skip = j->skip + (size_t)worker * a->n;
  rbm_key key = rbm_keys_get(j->users, (uint32_t)(j->first + j->b0 + b));
  if (other) {
    const float *all = j->placed[b] ? j->user_probs + j->slot[b] * nI * K : NULL;
    for (uint32_t r = 0; r < a->n; r++)
      user_half_probs(mu, a->user_half_item[r], all, other + (size_t)r * K);
  }
  memset(skip, 0, a->n);
  int64_t col = rbm_keys_find(&j->ir->snap->r.items, &key);
  if (col >= 0)  /* the items the user rated */
    for (uint64_t q = a->col_start[col]; q < a->col_start[col + 1]; q++)
      skip[a->col_rows[q]] = 1;
  rbm_rank_rows(mi, a->n,
                j->index[b] == UINT32_MAX ? NULL : j->item_probs + b * a->n * K,
                a->placed, a->prior, skip, other, j->rd->s->w_rating,
                j->rd->s->w_like, j->k, j->out + (j->b0 + b) * j->k,
                j->n_out + j->b0 + b);
}

int rbm_user_reader_rank_users(rbm_user_reader *rd, size_t first, size_t n_users,
                               const rbm_keys *users, size_t k,
                               rbm_recommendation *out, size_t *n_out,
                               char **err) {
  rbm_user_reader *ir = rd->partner ? rd->partner : rd;
  struct all_rows *a = &ir->all;
  int rc = SQLITE_OK;
  if (!a->ready) rc = fold_all_rows(ir, err);
  if (rc == SQLITE_OK && rd->partner) rc = map_rows_to_user_half(rd, ir, err);
  if (rc != SQLITE_OK) return rc;
  const rbm_model *mi = ir->s->model, *mu = rd->s->model;
  size_t K = mu->n_units, F = mu->n_hidden, nI = mu->n_items, n = a->n ? a->n : 1;
  int threads = rd->s->threads;
  /* Per-worker buffers: rbm_parallel_for runs at most this many. */
  size_t workers = threads < RBM_MAX_TASK_THREADS ? (size_t)threads : RBM_MAX_TASK_THREADS;
  float *hidden = NULL, *user_probs = NULL, *other = NULL;
  float *item_probs = malloc(RANK_BATCH * n * K * sizeof *item_probs);
  float *scratch = malloc(RBM_VISIBLE_SCRATCH(mi, RANK_BATCH, n) * sizeof *scratch);
  uint8_t *skip = malloc(workers * n);
  uint8_t placed[RANK_BATCH];
  uint32_t index[RANK_BATCH];
  size_t slot[RANK_BATCH];
  if (!item_probs || !scratch || !skip) rc = SQLITE_NOMEM;
  if (rd->partner) {
    hidden = malloc(RANK_BATCH * F * sizeof *hidden);
    user_probs = malloc(RANK_BATCH * nI * K * sizeof *user_probs);
    other = malloc(workers * n * K * sizeof *other);
    if (!hidden || !user_probs || !other) rc = SQLITE_NOMEM;
  }
  for (size_t b0 = 0; rc == SQLITE_OK && b0 < n_users; b0 += RANK_BATCH) {
    size_t nb = n_users - b0 < RANK_BATCH ? n_users - b0 : RANK_BATCH, np = 0;
    if (rd->partner) {  /* the user-based half: one GEMM for the batch */
      for (size_t b = 0; rc == SQLITE_OK && b < nb; b++) {
        rbm_key key = rbm_keys_get(users, (uint32_t)(first + b0 + b));
        const float *h;
        const uint32_t *rated;
        size_t n_rated;
        rc = rbm_user_reader_fold(rd, &key, &h, &rated, &n_rated, err);
        placed[b] = h != NULL;
        slot[b] = np;
        if (h) memcpy(hidden + np++ * F, h, F * sizeof *hidden);
      }
      if (rc != SQLITE_OK) break;
      if (np) rbm_all_item_probs_batch(mu, np, hidden, user_probs, threads);
    }
    /* The item-based half: each user's units in every item's RBM. */
    for (size_t b = 0; b < nb; b++) {
      rbm_key key = rbm_keys_get(users, (uint32_t)(first + b0 + b));
      int64_t v = rbm_keys_find(&mi->items, &key);
      index[b] = v < 0 ? UINT32_MAX : (uint32_t)v;
    }
    rbm_visible_probs_batch(mi, nb, index, a->n, a->hidden, item_probs, scratch,
                            threads);
    rank_job job = {rd, ir, users, first, b0, k, index, placed, slot, user_probs,
                    item_probs, other, skip, out, n_out};
    rbm_parallel_for(threads, nb, rank_one_user, &job);
  }
  free(item_probs);
  free(scratch);
  free(skip);
  free(hidden);
  free(user_probs);
  free(other);
  if (rc == SQLITE_NOMEM && !*err) *err = sqlite3_mprintf("out of memory");
  return rc;
}

int rbm_user_reader_ranks_items(const rbm_user_reader *rd) {
  return rd->partner || rd->s->model->orientation == RBM_ORIENT_ITEM;
}

static rbm_key row_key(const rbm_user_reader *rd, uint32_t row) {
  const rbm_user_reader *ir = rd->partner ? rd->partner : rd;
  return rbm_keys_get(&ir->snap->r.users, row);
}

static int64_t row_of(const rbm_user_reader *rd, const rbm_key *key) {
  const rbm_user_reader *ir = rd->partner ? rd->partner : rd;
  return ir->snap ? rbm_keys_find(&ir->snap->r.users, key) : -1;
}

/* One model's answer (unit probabilities) for (user, item). */
static int answer_one(rbm_user_reader *rd, const rbm_key *user,
                      const rbm_key *item, float *probs, int *unplaced,
                      int *unknown, char **err) {
  const rbm_model *m = rd->s->model;
  if (m->orientation == RBM_ORIENT_ITEM) {  /* fold the item, find the user */
    const rbm_key *swap = user;
    user = item;
    item = swap;
  }
  const float *hidden;
  if (m->orientation == RBM_ORIENT_ITEM) {
    /* Items come in any order: every item is folded in once, and kept. */
    if (!rd->all.ready) {
      int rc = fold_all_rows(rd, err);
      if (rc != SQLITE_OK) return rc;
    }
    int64_t row = rbm_keys_find(&rd->snap->r.users, user);
    hidden = row >= 0 && rd->all.placed[row] ? rd->all.hidden + row * m->n_hidden
                                             : NULL;
  } else {
    const uint32_t *rated;
    size_t n_rated;
    int rc = rbm_user_reader_fold(rd, user, &hidden, &rated, &n_rated, err);
    if (rc != SQLITE_OK) return rc;
  }
  int64_t i = rbm_keys_find(&m->items, item);
  *unknown = i < 0;
  *unplaced = !hidden;
  if (i < 0) {
    rbm_prior_probs(m, UINT32_MAX, probs);
  } else if (!hidden) {
    rbm_prior_probs(m, (uint32_t)i, probs);
  } else {
    rbm_item_probs(m, hidden, (uint32_t)i, probs);
  }
  return SQLITE_OK;
}

int rbm_user_reader_predict(rbm_user_reader *rd, const rbm_key *user,
                            const rbm_key *item, double *rating, double *like,
                            int *unplaced, int *unknown, char **err) {
  float own[RBM_MAX_VALUES], item_half[RBM_MAX_VALUES];
  int rc = answer_one(rd, user, item, own, unplaced, unknown, err);
  if (rc == SQLITE_OK && rd->partner) {  /* 'both': own is the user-based half */
    int up, uk;
    rc = answer_one(rd->partner, user, item, item_half, &up, &uk, err);
  }
  if (rc != SQLITE_OK) return rc;
  rbm_blend(rd->s->model, rd->partner ? item_half : own,
            rd->partner ? own : NULL, rd->s->w_rating, rd->s->w_like, rating,
            like);
  return SQLITE_OK;
}

/* ---- every item for one user (the virtual table) ----------------------- */

static int score_buffers(rbm_user_reader *rd, size_t n, size_t K, char **err) {
  if (!rd->score_like) {
    rd->score_like = malloc((n ? n : 1) * sizeof *rd->score_like);
    rd->score_rating = malloc((n ? n : 1) * sizeof *rd->score_rating);
    rd->score_probs = malloc((n ? n : 1) * K * sizeof *rd->score_probs);
    rd->score_rated = malloc(n ? n : 1);
  }
  if (!rd->score_like || !rd->score_rating || !rd->score_probs ||
      !rd->score_rated) {
    *err = sqlite3_mprintf("out of memory");
    return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* A user-based model: the model's items. */
static int score_user_based(rbm_user_reader *rd, const rbm_key *user,
                            int64_t only, size_t *n, char **err) {
  const rbm_model *m = rd->s->model;
  size_t K = m->n_units;
  int rc = score_buffers(rd, m->n_items, K, err);
  const float *h;
  const uint32_t *rated;
  size_t n_rated;
  if (rc == SQLITE_OK) rc = rbm_user_reader_fold(rd, user, &h, &rated, &n_rated, err);
  if (rc != SQLITE_OK) return rc;
  uint32_t lo = only >= 0 ? (uint32_t)only : 0;
  uint32_t hi = only >= 0 ? lo + 1 : m->n_items;
  if (h && only >= 0) {
    rbm_item_probs(m, h, lo, rd->score_probs + (size_t)lo * K);
  } else if (h) {
    rbm_all_item_probs(m, h, rd->score_probs);
  } else {
    for (uint32_t i = lo; i < hi; i++)
      rbm_prior_probs(m, i, rd->score_probs + (size_t)i * K);
  }
  for (uint32_t i = lo; i < hi; i++) {
    rd->score_like[i] = (float)rbm_like_probability(m, rd->score_probs + (size_t)i * K);
    rd->score_rating[i] = (float)rbm_expected_rating(m, rd->score_probs + (size_t)i * K);
  }
  memset(rd->score_rated, 0, m->n_items);
  for (size_t j = 0; j < n_rated; j++) rd->score_rated[rated[j]] = 1;
  *n = m->n_items;
  return SQLITE_OK;
}

/* Item-based and 'both' models: the source's items. */
static int score_item_based(rbm_user_reader *rd, const rbm_key *user,
                            int64_t only, size_t *n, char **err) {
  rbm_user_reader *ir = rd->partner ? rd->partner : rd;
  struct all_rows *a = &ir->all;
  int rc = a->ready ? SQLITE_OK : fold_all_rows(ir, err);
  if (rc == SQLITE_OK && rd->partner) rc = map_rows_to_user_half(rd, ir, err);
  const rbm_model *mi = ir->s->model, *mu = rd->s->model;
  size_t K = mi->n_units;
  if (rc == SQLITE_OK) rc = score_buffers(rd, a->n, K, err);
  if (rc != SQLITE_OK) return rc;
  if (!rd->score_scratch)
    rd->score_scratch = malloc(RBM_VISIBLE_SCRATCH(mi, 1, a->n) * sizeof(float));
  if (rd->partner && !rd->score_user_half)
    rd->score_user_half = malloc((size_t)mu->n_items * K * sizeof(float));
  if (!rd->score_scratch || (rd->partner && !rd->score_user_half)) {
    *err = sqlite3_mprintf("out of memory");
    return SQLITE_NOMEM;
  }
  int64_t v = rbm_keys_find(&mi->items, user);
  uint32_t index = v < 0 ? UINT32_MAX : (uint32_t)v;
  size_t lo = only >= 0 ? (size_t)only : 0, hi = only >= 0 ? lo + 1 : a->n;
  rbm_visible_probs_batch(mi, 1, &index, hi - lo, a->hidden + lo * mi->n_hidden,
                          rd->score_probs + lo * K, rd->score_scratch, 1);
  const float *all = NULL;  /* the user half's answers, if it placed the user */
  if (rd->partner) {
    const float *h;
    const uint32_t *rated;
    size_t n_rated;
    rc = rbm_user_reader_fold(rd, user, &h, &rated, &n_rated, err);
    if (rc != SQLITE_OK) return rc;
    int64_t i = only >= 0 ? a->user_half_item[only] : -1;
    if (h && only < 0) {
      rbm_all_item_probs(mu, h, rd->score_user_half);
    } else if (h && i >= 0) {  /* the one item's, where all has it */
      rbm_item_probs(mu, h, (uint32_t)i, rd->score_user_half + (size_t)i * K);
    }
    if (h) all = rd->score_user_half;
  }
  for (size_t j = lo; j < hi; j++) {
    const float *p = index != UINT32_MAX && a->placed[j]
                         ? rd->score_probs + (size_t)j * K
                         : a->prior + (size_t)j * K;
    float q[RBM_MAX_VALUES];
    if (rd->partner) user_half_probs(mu, a->user_half_item[j], all, q);
    double like, rating;
    rbm_blend(mi, p, rd->partner ? q : NULL, rd->s->w_rating, rd->s->w_like,
              &rating, &like);
    rd->score_like[j] = (float)like;
    rd->score_rating[j] = (float)rating;
  }
  memset(rd->score_rated, 0, a->n);
  int64_t col = rbm_keys_find(&ir->snap->r.items, user);
  if (col >= 0)
    for (uint64_t q = a->col_start[col]; q < a->col_start[col + 1]; q++)
      rd->score_rated[a->col_rows[q]] = 1;
  *n = a->n;
  return SQLITE_OK;
}

int rbm_user_reader_score_items(rbm_user_reader *rd, const rbm_key *user,
                                int64_t only, size_t *n, const float **like,
                                const float **rating, const uint8_t **rated,
                                char **err) {
  int rc = rbm_user_reader_ranks_items(rd)
               ? score_item_based(rd, user, only, n, err)
               : score_user_based(rd, user, only, n, err);
  *like = rd->score_like;
  *rating = rd->score_rating;
  *rated = rd->score_rated;
  return rc;
}

int rbm_user_reader_items(rbm_user_reader *rd, size_t *n, char **err) {
  if (!rbm_user_reader_ranks_items(rd)) {
    *n = rd->s->model->n_items;
    return SQLITE_OK;
  }
  rbm_user_reader *ir = rd->partner ? rd->partner : rd;
  int rc = ir->all.ready ? SQLITE_OK : fold_all_rows(ir, err);
  *n = ir->all.n;
  return rc;
}

rbm_key rbm_user_reader_item_key(const rbm_user_reader *rd, uint32_t j) {
  return rbm_user_reader_ranks_items(rd) ? row_key(rd, j)
                                         : rbm_keys_get(&rd->s->model->items, j);
}

int64_t rbm_user_reader_item_index(const rbm_user_reader *rd,
                                   const rbm_key *item) {
  return rbm_user_reader_ranks_items(rd) ? row_of(rd, item)
                                         : rbm_keys_find(&rd->s->model->items, item);
}

int rbm_user_reader_source_users(rbm_user_reader *rd, const rbm_keys **users,
                                 char **err) {
  int rc = snapshot_rows(rd, users, err);
  /* An item-based reader folds items in: its snapshot's "items" are the
  ** source's users. */
  if (rc == SQLITE_OK && rd->s->model->orientation == RBM_ORIENT_ITEM)
    *users = &rd->snap->r.items;
  return rc;
}
