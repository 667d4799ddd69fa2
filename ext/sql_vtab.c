/*
** sql_vtab.c -- the rbm virtual table: a model that trains on creation and
** reads as a table of predictions.
**
**   CREATE VIRTUAL TABLE recs USING rbm(
**     source=ratings, user=user_id, item=item_id, rating=rating,
**     hidden=100, epochs=60);                  -- any rbm_train option
**   SELECT item_id, p_like FROM recs
**    WHERE user_id = 42 AND rated = 0 ORDER BY p_like DESC LIMIT 10;
**   INSERT INTO recs(recs) VALUES('retrain');  -- train again on the source
**   DROP TABLE recs;                           -- removes the model too
**
** Columns: the source's user and item column names, then p_like, rating
** (NULL for a binary model) and rated (1 where the source holds a rating
** for the pair), and the hidden command column named after the table.
** Rows: every (user in the source, item in the model) pair; with
** "user = ?" only that user's, which costs one fold-in and one GEMV.
**
** The model lives in the shadow table <name>_model (one row, the same blob
** as rbm_models), so it survives closing the database.  The table reads
** other tables, so it is DIRECTONLY: no use from triggers or views.
**
** idxNum bits (xBestIndex -> xFilter), argv in this order:
**   1  user = ?
**   2  item = ?
*/
#include "sql_glue.h"

#include <stdlib.h>
#include <string.h>

enum { COL_USER, COL_ITEM, COL_P_LIKE, COL_RATING, COL_RATED, COL_COMMAND };
#define HAS_USER 1
#define HAS_ITEM 2

typedef struct sql_vtab {
  sqlite3_vtab base;
  sqlite3 *db;
  char *schema, *name;
  sql_source src;      /* resolved in the table's own schema */
  rbm_config cfg;
  sql_served *served;  /* loaded from the shadow table on first use */
} sql_vtab;

typedef struct sql_vcursor {
  sqlite3_vtab_cursor base;
  sql_user_reader *rd;
  const rbm_model *m;
  /* Which users: one (from "user = ?") or all of the source's. */
  sqlite3_value *one_user;
  const rbm_keys *all_users;
  uint32_t user_at, n_users;
  rbm_key user;
  char ubuf[32];
  /* Which items: one (from "item = ?") or all; the current user's
  ** distributions over them and which of them the user rated. */
  int64_t only_item;
  size_t n_items;  /* all there are: the rowid's stride */
  uint32_t item_at, item_end;
  const float *like, *rating;  /* the reader's, for the current user */
  const uint8_t *rated;
  int eof;
  /* "user = ? AND item = ?": the one row, from one fold-in of each. */
  int point;
  sqlite3_value *point_item;
  double point_like, point_rating;
  int point_rated;
} sql_vcursor;

/* ---- arguments ---------------------------------------------------------- */

/* "key = value" -> key, value (unquoted): sqlite3_free both. */
static int split_arg(const char *arg, char **key, char **value) {
  const char *eq = strchr(arg, '=');
  *key = *value = NULL;
  if (!eq) return 0;
  const char *k0 = arg, *k1 = eq, *v0 = eq + 1, *v1 = arg + strlen(arg);
  while (k0 < k1 && (*k0 == ' ' || *k0 == '\t' || *k0 == '\n')) k0++;
  while (k1 > k0 && (k1[-1] == ' ' || k1[-1] == '\t' || k1[-1] == '\n')) k1--;
  while (v0 < v1 && (*v0 == ' ' || *v0 == '\t' || *v0 == '\n')) v0++;
  while (v1 > v0 && (v1[-1] == ' ' || v1[-1] == '\t' || v1[-1] == '\n')) v1--;
  char q = v1 - v0 >= 2 ? *v0 : 0;
  char close = q == '[' ? ']' : q;
  if ((q == '\'' || q == '"' || q == '`' || q == '[') && v1[-1] == close) {
    v0++;
    v1--;
  } else {
    q = 0;
  }
  *key = sqlite3_mprintf("%.*s", (int)(k1 - k0), k0);
  /* Inside '...' or "...", a doubled quote stands for one. */
  sqlite3_str *s = sqlite3_str_new(NULL);
  for (const char *p = v0; p < v1; p++) {
    sqlite3_str_appendchar(s, 1, *p);
    if (q && q != '[' && *p == q && p + 1 < v1 && p[1] == q) p++;
  }
  int empty = sqlite3_str_length(s) == 0 && sqlite3_str_errcode(s) == SQLITE_OK;
  *value = sqlite3_str_finish(s);
  if (!*value && empty) *value = sqlite3_mprintf("");  /* "key=" */
  if (!*key || !*value) {
    sqlite3_free(*key);
    sqlite3_free(*value);
    *key = *value = NULL;
  }
  return 1;
}

static int parse_args(sql_vtab *v, int argc, const char *const *argv,
                      char **err) {
  char **slot[4] = {&v->src.table, &v->src.user, &v->src.item, &v->src.rating};
  static const char *names[4] = {"source", "user", "item", "rating"};
  sql_defaults(&v->cfg);
  for (int i = 3; i < argc; i++) {
    char *key, *value;
    if (!split_arg(argv[i], &key, &value)) {
      *err = sql_errorf("argument '%s' is not key=value", argv[i]);
      return SQLITE_ERROR;
    }
    if (!key) return SQLITE_NOMEM;
    int taken = 0;
    for (int j = 0; j < 4 && !taken; j++) {
      if (sqlite3_stricmp(key, names[j]) != 0) continue;
      sqlite3_free(*slot[j]);
      *slot[j] = value;
      taken = 1;
    }
    int rc = taken ? SQLITE_OK : sql_option_set(&v->cfg, key, value, err);
    sqlite3_free(key);
    if (!taken) sqlite3_free(value);
    if (rc != SQLITE_OK) return rc;
  }
  sql_resolve_defaults(&v->cfg);
  if (sql_source_drop_rating(&v->src, &v->cfg) != SQLITE_OK) return SQLITE_NOMEM;
  for (int j = 0; j < 3; j++)
    if (!*slot[j] || !**slot[j]) {
      *err = sql_errorf("missing %s=...; write USING rbm(source=ratings, "
                        "user=user_id, item=item_id, rating=rating, ...)",
                        names[j]);
      return SQLITE_ERROR;
    }
  if (!v->src.rating) {
    *err = sql_errorf("missing rating=...; write USING rbm(source=ratings, "
                      "user=user_id, item=item_id, rating=rating, ...), or "
                      "visible=implicit to train on the rows alone");
    return SQLITE_ERROR;
  }
  const char *cols[5] = {v->src.user, v->src.item, "p_like", "rating", "rated"};
  for (int a = 0; a < 2; a++)
    for (int b = a + 1; b < 5; b++)
      if (sqlite3_stricmp(cols[a], cols[b]) == 0 ||
          sqlite3_stricmp(cols[a], v->name) == 0) {
        *err = sql_errorf("column name '%s' is used twice (the table's "
                          "columns are user, item, p_like, rating, rated)",
                          cols[a]);
        return SQLITE_ERROR;
      }
  const char *why = rbm_config_check(&v->cfg);
  if (why) {
    *err = sql_errorf("%s", why);
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

static void free_vtab(sql_vtab *v) {
  if (!v) return;
  sql_served_release(v->served);
  sql_source_free(&v->src);
  sqlite3_free(v->name);
  sqlite3_free(v->base.zErrMsg);
  sqlite3_free(v);
}

/* ---- the shadow table -------------------------------------------------- */

/* Writes the trained model as the shadow table's one row.  On creation the
** table is made with CREATE TABLE, not CREATE TABLE IF NOT EXISTS: a user's
** table that happens to be called <name>_model is an error, never taken
** over. */
static int store_shadow(sql_vtab *v, const sql_trained *t, int create,
                        char **err) {
  sqlite3_stmt *st = NULL;
  int rc = SQLITE_OK;
  if (create) {
    char *sql = sqlite3_mprintf(
        "CREATE TABLE \"%w\".\"%w_model\"(id INTEGER PRIMARY KEY,"
        " created_at TEXT, options TEXT, summary TEXT, uid INTEGER, model BLOB)",
        v->schema, v->name);
    rc = sql ? sqlite3_exec(v->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
    if (rc != SQLITE_OK) {
      *err = sql_errorf("cannot create the model's table %s_model: %s", v->name,
                        rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(v->db));
      return rc;
    }
  }
  char *sql = sqlite3_mprintf(
      "INSERT OR REPLACE INTO \"%w\".\"%w_model\" VALUES(1,"
      " strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ','now'), json(:options),"
      " json(:summary), :uid, :model)",
      v->schema, v->name);
  rc = sql ? sqlite3_prepare_v2(v->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  char *table = sqlite3_mprintf("%s_model", v->name);
  if (rc == SQLITE_OK && !table) {
    sqlite3_finalize(st);
    rc = SQLITE_NOMEM;
    *err = sql_errorf("out of memory");
  } else if (rc == SQLITE_OK) {
    rc = sql_insert_trained(v->db, st, v->schema, table, t, err);
  } else {
    *err = sql_errorf("%s", rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(v->db));
  }
  sqlite3_free(table);
  if (rc != SQLITE_OK) {
    char *why = *err;
    *err = sql_errorf("storing the model: %s", why);
    sqlite3_free(why);
  }
  return rc;
}

static int train_into_shadow(sql_vtab *v, int create, char **err) {
  sql_trained t;
  int rc = sql_train_source(v->db, v->name, &v->src, &v->cfg, &t, err);
  if (rc == SQLITE_OK) rc = store_shadow(v, &t, create, err);
  sql_trained_free(&t);
  return rc;
}

/* One row of the shadow table: "SELECT what FROM <name>_model WHERE id = 1". */
static int shadow_row(sql_vtab *v, const char *what, sqlite3_stmt **st,
                      char **err) {
  char *sql = sqlite3_mprintf("SELECT %s FROM \"%w\".\"%w_model\" WHERE id = 1",
                              what, v->schema, v->name);
  int rc = sql ? sqlite3_prepare_v2(v->db, sql, -1, st, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  if (rc != SQLITE_OK) {
    *err = rc == SQLITE_NOMEM ? sql_errorf("out of memory")
                              : sql_errorf("the model's shadow table: %s", sqlite3_errmsg(v->db));
    return rc;
  }
  rc = sqlite3_step(*st);
  if (rc == SQLITE_ROW) return SQLITE_OK;
  if (rc == SQLITE_DONE) {
    *err = sql_errorf("the shadow table %s_model holds no model", v->name);
    rc = SQLITE_CORRUPT;
  } else {
    *err = sql_errorf("the model's shadow table: %s", sqlite3_errmsg(v->db));
  }
  sqlite3_finalize(*st);
  *st = NULL;
  return rc;
}

/* The stored model, reloaded if another connection retrained it: its uid
** and length are read every statement, the blob only when they changed
** (as rbm_models' models are). */
static int load_served(sql_vtab *v, char **err) {
  sqlite3_stmt *st;
  int rc = shadow_row(v, "uid, length(model)", &st, err);
  if (rc != SQLITE_OK) return rc;
  sqlite3_int64 uid =
      (sqlite3_int64)((sqlite3_uint64)sqlite3_column_int64(st, 0) ^
                      ((sqlite3_uint64)sqlite3_column_int64(st, 1) << 40));
  sqlite3_finalize(st);
  if (v->served && sql_served_uid(v->served) == uid) return SQLITE_OK;
  rc = shadow_row(v, "model", &st, err);
  if (rc != SQLITE_OK) return rc;
  sql_served *s;
  const void *blob = sqlite3_column_blob(st, 0);
  if (!blob && sqlite3_errcode(v->db) == SQLITE_NOMEM) {  /* not an empty blob */
    sqlite3_finalize(st);
    *err = sql_errorf("out of memory");
    return SQLITE_NOMEM;
  }
  rc = sql_served_from_blob(blob, sqlite3_column_bytes(st, 0),
                            &v->src, uid, v->cfg.threads, &s, err);
  if (rc == SQLITE_OK) {
    sql_served_release(v->served);
    v->served = s;
  }
  sqlite3_finalize(st);
  return rc;
}

/* ---- create, connect, destroy ----------------------------------------- */

static int vt_init(sqlite3 *db, int argc, const char *const *argv,
                   sqlite3_vtab **out, char **pzErr, int create) {
  char *err = NULL;
  sql_vtab *v = sqlite3_malloc(sizeof *v);
  *out = NULL;
  if (!v) return SQLITE_NOMEM;
  memset(v, 0, sizeof *v);
  v->db = db;
  v->schema = (char *)argv[1];
  v->name = sqlite3_mprintf("%s", argv[2]);
  v->src.schema = sqlite3_mprintf("%s", argv[1]);
  int rc = v->name && v->src.schema ? parse_args(v, argc, argv, &err)
                                    : SQLITE_NOMEM;
  if (rc == SQLITE_OK && create) rc = train_into_shadow(v, 1, &err);
  if (rc == SQLITE_OK) {
    char *sql = sqlite3_mprintf(
        "CREATE TABLE x(\"%w\", \"%w\", p_like REAL, rating REAL,"
        " rated INTEGER, \"%w\" HIDDEN)",
        v->src.user, v->src.item, v->name);
    rc = sql ? sqlite3_declare_vtab(db, sql) : SQLITE_NOMEM;
    sqlite3_free(sql);
    if (rc != SQLITE_OK && !err) err = sql_errorf("%s", sqlite3_errmsg(db));
  }
  if (rc != SQLITE_OK) {
    *pzErr = sqlite3_mprintf("rbm: %s", err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    free_vtab(v);
    return rc;
  }
  v->schema = v->src.schema;  /* argv does not outlive this call */
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *out = &v->base;
  return SQLITE_OK;
}

static int vt_create(sqlite3 *db, void *aux, int argc, const char *const *argv,
                     sqlite3_vtab **out, char **pzErr) {
  (void)aux;
  return vt_init(db, argc, argv, out, pzErr, 1);
}

static int vt_connect(sqlite3 *db, void *aux, int argc,
                      const char *const *argv, sqlite3_vtab **out,
                      char **pzErr) {
  (void)aux;
  return vt_init(db, argc, argv, out, pzErr, 0);
}

static int vt_disconnect(sqlite3_vtab *vtab) {
  free_vtab((sql_vtab *)vtab);
  return SQLITE_OK;
}

static int vt_destroy(sqlite3_vtab *vtab) {
  sql_vtab *v = (sql_vtab *)vtab;
  char *sql = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\".\"%w_model\"",
                              v->schema, v->name);
  int rc = sql ? sqlite3_exec(v->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  if (rc == SQLITE_OK) free_vtab(v);
  return rc;
}

static int vt_rename(sqlite3_vtab *vtab, const char *new_name) {
  sql_vtab *v = (sql_vtab *)vtab;
  char *sql = sqlite3_mprintf(
      "ALTER TABLE \"%w\".\"%w_model\" RENAME TO \"%w_model\"", v->schema,
      v->name, new_name);
  int rc = sql ? sqlite3_exec(v->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  if (rc == SQLITE_OK) {
    char *name = sqlite3_mprintf("%s", new_name);
    if (!name) return SQLITE_NOMEM;
    sqlite3_free(v->name);
    v->name = name;
  }
  return rc;
}

static int vt_shadow_name(const char *suffix) {
  return sqlite3_stricmp(suffix, "model") == 0;
}

/* ---- writes: only the retrain command --------------------------------- */

static int vt_error(sql_vtab *v, int rc, char *err) {
  sqlite3_free(v->base.zErrMsg);
  v->base.zErrMsg = sqlite3_mprintf("rbm: %s", err ? err : sqlite3_errstr(rc));
  sqlite3_free(err);
  return rc;
}

static int vt_update(sqlite3_vtab *vtab, int argc, sqlite3_value **argv,
                     sqlite3_int64 *rowid) {
  (void)rowid;
  sql_vtab *v = (sql_vtab *)vtab;
  char *err = NULL;
  sqlite3_value *cmd = argc > 2 + COL_COMMAND ? argv[2 + COL_COMMAND] : NULL;
  if (argc == 1 || sqlite3_value_type(argv[0]) != SQLITE_NULL || !cmd ||
      sqlite3_value_type(cmd) == SQLITE_NULL)
    return vt_error(v, SQLITE_READONLY,
                    sql_errorf("%s holds predictions and cannot be written; "
                               "retrain with INSERT INTO %s(%s) "
                               "VALUES('retrain')",
                               v->name, v->name, v->name));
  const char *c = (const char *)sqlite3_value_text(cmd);
  if (!c || sqlite3_stricmp(c, "retrain") != 0)
    return vt_error(v, SQLITE_ERROR,
                    sql_errorf("unknown command '%s' (known: 'retrain')",
                               c ? c : ""));
  int rc = train_into_shadow(v, 0, &err);
  if (rc != SQLITE_OK) return vt_error(v, rc, err);
  return SQLITE_OK;
}

/* ---- reading ----------------------------------------------------------- */

static int vt_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  (void)vtab;
  int where[2] = {-1, -1};
  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *p = &info->aConstraint[i];
    if (!p->usable || p->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (p->iColumn == COL_USER || p->iColumn == COL_ITEM)
      where[p->iColumn] = i;
  }
  int idx = 0, argv = 0;
  for (int b = 0; b < 2; b++) {
    if (where[b] < 0) continue;
    idx |= 1 << b;
    info->aConstraintUsage[where[b]].argvIndex = ++argv;
    /* Ids compare by rbm_key rules (42 and '42' are one user): our
    ** answer is exact, so SQLite must not filter again with its own. */
    info->aConstraintUsage[where[b]].omit = 1;
  }
  info->idxNum = idx;
  /* Rows: users x items; a known user is one fold-in and one GEMV. */
  /* Indexed by idxNum: none, user, item, both.  A full scan must cost
  ** more than a per-user lookup repeated for every row of an outer table
  ** (SQLite guesses about a million rows for one without statistics). */
  static const double cost[4] = {1e12, 1e4, 1e9, 10};
  static const sqlite3_int64 rows[4] = {1000000000, 1000, 1000000, 1};
  info->estimatedCost = cost[idx];
  info->estimatedRows = rows[idx];
  return SQLITE_OK;
}

static int vt_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out) {
  (void)vtab;
  sql_vcursor *c = calloc(1, sizeof *c);
  if (!c) return SQLITE_NOMEM;
  *out = &c->base;
  return SQLITE_OK;
}

static int vt_close(sqlite3_vtab_cursor *cur) {
  sql_vcursor *c = (sql_vcursor *)cur;
  sql_user_reader_close(c->rd);
  sqlite3_value_free(c->one_user);
  sqlite3_value_free(c->point_item);
  free(c);
  return SQLITE_OK;
}

/* Folds in the current user and scores the items the cursor will visit. */
static int score_user(sql_vcursor *c, char **err) {
  size_t n;
  int rc = sql_user_reader_score_items(c->rd, &c->user, c->only_item, &n,
                                       &c->like, &c->rating, &c->rated, err);
  if (rc != SQLITE_OK) return rc;
  c->item_at = c->only_item >= 0 ? (uint32_t)c->only_item : 0;
  c->item_end = c->only_item >= 0 ? (uint32_t)c->only_item + 1 : (uint32_t)n;
  return SQLITE_OK;
}

/* Moves to the next user of a full scan, or to eof. */
static int next_user(sql_vcursor *c, char **err) {
  if (c->one_user || c->user_at >= c->n_users) {
    c->eof = 1;
    return SQLITE_OK;
  }
  c->user = rbm_keys_get(c->all_users, c->user_at++);
  return score_user(c, err);
}

/* "user = ? AND item = ?": folds in the user and the item alone. */
static int point_filter(sql_vcursor *c, sqlite3_value **argv, sql_vtab *v) {
  char ibuf[32], *err = NULL;
  rbm_key item;
  int found = 0;
  c->one_user = sqlite3_value_dup(argv[0]);
  c->point_item = sqlite3_value_dup(argv[1]);
  if (!c->one_user || !c->point_item) return vt_error(v, SQLITE_NOMEM, NULL);
  if (sql_key_from_value(c->one_user, &c->user, c->ubuf, sizeof c->ubuf) &&
      sql_key_from_value(c->point_item, &item, ibuf, sizeof ibuf)) {
    int rc = sql_user_reader_point(c->rd, &c->user, &item, &found, &c->point_like,
                                   &c->point_rating, &c->point_rated, &err);
    if (rc != SQLITE_OK) return vt_error(v, rc, err);
  }
  c->point = 1;
  c->eof = !found;  /* NULL ids, or not an item the model answers for */
  return SQLITE_OK;
}

static int vt_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr,
                     int argc, sqlite3_value **argv) {
  (void)idxStr;
  (void)argc;
  sql_vcursor *c = (sql_vcursor *)cur;
  sql_vtab *v = (sql_vtab *)cur->pVtab;
  char *err = NULL;
  int a = 0;
  c->eof = 0;
  c->only_item = -1;
  c->user_at = c->n_users = 0;
  c->point = 0;
  sqlite3_value_free(c->one_user);
  sqlite3_value_free(c->point_item);
  c->one_user = c->point_item = NULL;

  int rc = load_served(v, &err);
  if (rc != SQLITE_OK) return vt_error(v, rc, err);
  if (!c->rd || sql_user_reader_served(c->rd) != v->served) {
    sql_user_reader_close(c->rd);
    c->rd = NULL;
    c->m = sql_served_model(v->served);
    rc = sql_user_reader_open(v->db, v->served, &c->rd, &err);
    if (rc != SQLITE_OK) return vt_error(v, rc, err);
  }
  if ((idxNum & HAS_USER) && (idxNum & HAS_ITEM)) return point_filter(c, argv, v);
  rc = sql_user_reader_items(c->rd, &c->n_items, &err);
  if (rc != SQLITE_OK) return vt_error(v, rc, err);
  if (idxNum & HAS_USER) {
    c->one_user = sqlite3_value_dup(argv[a++]);
    if (!c->one_user) return vt_error(v, SQLITE_NOMEM, NULL);
    if (!sql_key_from_value(c->one_user, &c->user, c->ubuf, sizeof c->ubuf)) {
      c->eof = 1;  /* user = NULL matches nothing */
      return SQLITE_OK;
    }
  }
  if (idxNum & HAS_ITEM) {
    char ibuf[32];
    rbm_key item;
    if (!sql_key_from_value(argv[a++], &item, ibuf, sizeof ibuf) ||
        (c->only_item = sql_user_reader_item_index(c->rd, &item)) < 0) {
      c->eof = 1;  /* not an item of the model */
      return SQLITE_OK;
    }
  }
  if (c->one_user) {
    rc = score_user(c, &err);
  } else {
    rc = sql_user_reader_source_users(c->rd, &c->all_users, &err);
    if (rc == SQLITE_OK) {
      c->n_users = c->all_users->n;
      rc = next_user(c, &err);
    }
  }
  return rc == SQLITE_OK ? SQLITE_OK : vt_error(v, rc, err);
}

static int vt_next(sqlite3_vtab_cursor *cur) {
  sql_vcursor *c = (sql_vcursor *)cur;
  char *err = NULL;
  if (c->point) {
    c->eof = 1;
    return SQLITE_OK;
  }
  if (++c->item_at < c->item_end) return SQLITE_OK;
  int rc = next_user(c, &err);
  return rc == SQLITE_OK ? SQLITE_OK : vt_error((sql_vtab *)cur->pVtab, rc, err);
}

static int vt_eof(sqlite3_vtab_cursor *cur) {
  return ((sql_vcursor *)cur)->eof;
}

static int point_column(sql_vcursor *c, sqlite3_context *ctx, int col) {
  char buf[32];
  rbm_key k;
  switch (col) {
    case COL_USER:
      sql_result_key(ctx, &c->user);
      break;
    case COL_ITEM:
      if (sql_key_from_value(c->point_item, &k, buf, sizeof buf))
        sql_result_key(ctx, &k);
      break;
    case COL_P_LIKE:
      sqlite3_result_double(ctx, (float)c->point_like);
      break;
    case COL_RATING:
      if (c->m->visible == RBM_VISIBLE_SOFTMAX)
        sqlite3_result_double(ctx, (float)c->point_rating);
      break;
    case COL_RATED:
      sqlite3_result_int(ctx, c->point_rated);
      break;
    default:
      break;
  }
  return SQLITE_OK;
}

static int vt_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  sql_vcursor *c = (sql_vcursor *)cur;
  if (c->point) return point_column(c, ctx, col);
  switch (col) {
    case COL_USER:
      sql_result_key(ctx, &c->user);
      break;
    case COL_ITEM: {
      rbm_key k = sql_user_reader_item_key(c->rd, c->item_at);
      sql_result_key(ctx, &k);
      break;
    }
    case COL_P_LIKE:
      sqlite3_result_double(ctx, c->like[c->item_at]);
      break;
    case COL_RATING:
      if (c->m->visible == RBM_VISIBLE_SOFTMAX)
        sqlite3_result_double(ctx, c->rating[c->item_at]);
      break;
    case COL_RATED:
      sqlite3_result_int(ctx, c->rated[c->item_at]);
      break;
    default:
      break;  /* the command column reads as NULL */
  }
  return SQLITE_OK;
}

static int vt_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  sql_vcursor *c = (sql_vcursor *)cur;
  if (c->point) {  /* the item's place among all, as a scan numbers it */
    char buf[32], *err = NULL;
    rbm_key k;
    int rc = sql_user_reader_items(c->rd, &c->n_items, &err);
    if (rc != SQLITE_OK) return vt_error((sql_vtab *)cur->pVtab, rc, err);
    *rowid = sql_key_from_value(c->point_item, &k, buf, sizeof buf)
                 ? sql_user_reader_item_index(c->rd, &k)
                 : -1;
    return SQLITE_OK;
  }
  *rowid = (sqlite3_int64)(c->user_at ? c->user_at - 1 : 0) *
               (sqlite3_int64)c->n_items + c->item_at;
  return SQLITE_OK;
}

static sqlite3_module sql_module = {
    .iVersion = 3, /* xShadowName */
    .xCreate = vt_create,
    .xConnect = vt_connect,
    .xBestIndex = vt_best_index,
    .xDisconnect = vt_disconnect,
    .xDestroy = vt_destroy,
    .xOpen = vt_open,
    .xClose = vt_close,
    .xFilter = vt_filter,
    .xNext = vt_next,
    .xEof = vt_eof,
    .xColumn = vt_column,
    .xRowid = vt_rowid,
    .xUpdate = vt_update,
    .xRename = vt_rename,
    .xShadowName = vt_shadow_name,
};

int sql_register_vtab(sqlite3 *db) {
  return sqlite3_create_module(db, "rbm", &sql_module, NULL);
}
