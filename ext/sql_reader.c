/*
** sql_reader.c -- folding users and items in, one statement at a time.
**
** A reader (sql_user_reader) lives for one statement: rbm_predict keeps it
** in sqlite3_set_auxdata, rbm_recommend and the virtual table in their
** cursors, rbm_evaluate for its call.  It reads the source as it is now:
**
**   a user's rows   by "WHERE user = ?" when EXPLAIN QUERY PLAN shows that
**                   uses an index (asked once per statement, when first
**                   needed); else from the connection's snapshot of the
**                   whole source (sql_serve.h), read again after a change.
**   an item's rows  (item-based models and halves) from the connection's
**                   item states when they are current; else, for a point
**                   prediction, by "WHERE item = ?" when that uses an
**                   index.  A statement whose items read that way add up
**                   to a quarter of the ratings the model was trained on
**                   (a batch, not a request), or that needs every item (a
**                   ranking), has the item states brought up to date
**                   instead.
**
** The item states are checked once per statement (sql_track.c): unchanged,
** they are used as they are; rows this connection appended are folded in a
** rating at a time; anything else marks them stale, and they are built
** again from the whole source when a statement next needs every item.
**
** A repeated (user, item) pair counts once, as in training: the row with
** the larger rowid (for a view, the one read later).
*/
#include "sql_serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A statement reads items' rows one item at a time until it has read this
** share of the ratings the model was trained on; then it reads the whole
** source once and keeps every item folded in (the item states). */
#define PROMOTE_SHARE 4

/* ---- one user's or item's rated units -------------------------------- */

typedef struct fold_entry {
  uint64_t hash;          /* of the other side's id */
  sqlite3_int64 order;    /* rowid (or arrival): the later row wins */
  uint32_t idx;           /* the model's index of the other side, or MAX */
  uint8_t unit;
} fold_entry;

/* Entries are deduplicated through an open-addressing table of their
** hashes (slot = entry + 1), cleared entry by entry, so a fold costs what
** the rows cost whatever the model's size. */
typedef struct fold {
  fold_entry *e;
  size_t n, cap;
  uint32_t *slot;
  size_t n_slots;         /* a power of two, or 0 */
  int slotted;            /* the entries are in the table (fold_add) */
  uint32_t *idx;          /* the known ones, for rbm_hidden_sum */
  uint8_t *unit;
  size_t n_known, cap_known;
  uint32_t count[RBM_MAX_VALUES];  /* every distinct pair, per unit */
  double *sum;            /* hbias + the known rows */
  float *hidden;
} fold;

static void fold_free(fold *f) {
  free(f->e);
  free(f->slot);
  free(f->idx);
  free(f->unit);
  free(f->sum);
  free(f->hidden);
  memset(f, 0, sizeof *f);
}

static int fold_init(fold *f, const rbm_model *m) {
  memset(f, 0, sizeof *f);
  f->sum = malloc(m->layer.n_hidden * sizeof *f->sum);
  f->hidden = malloc(m->layer.n_hidden * sizeof *f->hidden);
  f->cap_known = 64;  /* never NULL: callers copy from it */
  f->idx = malloc(f->cap_known * sizeof *f->idx);
  f->unit = malloc(f->cap_known);
  return f->sum && f->hidden && f->idx && f->unit ? SQLITE_OK : SQLITE_NOMEM;
}

static void fold_reset(fold *f) {
  size_t mask = f->n_slots - 1;
  for (size_t j = 0; f->slotted && j < f->n; j++) {
    size_t s = f->e[j].hash & mask;
    while (f->slot[s] != j + 1) s = (s + 1) & mask;
    f->slot[s] = 0;
  }
  f->n = 0;
  f->slotted = 0;
}

static int fold_grow_slots(fold *f) {
  size_t n = f->n_slots ? f->n_slots * 2 : 64;
  uint32_t *slot = calloc(n, sizeof *slot);
  if (!slot) return SQLITE_NOMEM;
  for (size_t j = 0; j < f->n; j++) {
    size_t s = f->e[j].hash & (n - 1);
    while (slot[s]) s = (s + 1) & (n - 1);
    slot[s] = (uint32_t)j + 1;
  }
  free(f->slot);
  f->slot = slot;
  f->n_slots = n;
  return SQLITE_OK;
}

static int fold_push(fold *f, uint64_t hash, uint32_t idx, uint8_t unit,
                     sqlite3_int64 order) {
  if (f->n == f->cap) {
    size_t cap = f->cap ? 2 * f->cap : 64;
    fold_entry *e = realloc(f->e, cap * sizeof *e);
    if (!e) return SQLITE_NOMEM;
    f->e = e;
    f->cap = cap;
  }
  f->e[f->n++] = (fold_entry){hash, order, idx, unit};
  return SQLITE_OK;
}

/* Adds a rated unit; of a pair seen before, the later row's stays. */
static int fold_add(fold *f, uint64_t hash, uint32_t idx, uint8_t unit,
                    sqlite3_int64 order) {
  if (2 * (f->n + 1) > f->n_slots && fold_grow_slots(f) != SQLITE_OK)
    return SQLITE_NOMEM;
  f->slotted = 1;
  size_t mask = f->n_slots - 1, s = hash & mask;
  for (; f->slot[s]; s = (s + 1) & mask) {
    fold_entry *x = &f->e[f->slot[s] - 1];
    if (x->hash != hash) continue;
    if (order >= x->order) *x = (fold_entry){hash, order, idx, unit};
    return SQLITE_OK;
  }
  if (fold_push(f, hash, idx, unit, order) != SQLITE_OK) return SQLITE_NOMEM;
  f->slot[s] = (uint32_t)f->n;
  return SQLITE_OK;
}

/* The counts, the known units and the hidden sum of what was added. */
static int fold_finish(fold *f, const rbm_model *m) {
  if (f->n > f->cap_known) {
    uint32_t *idx = realloc(f->idx, f->n * sizeof *idx);
    if (idx) f->idx = idx;
    uint8_t *unit = realloc(f->unit, f->n);
    if (unit) f->unit = unit;
    if (!idx || !unit) return SQLITE_NOMEM;
    f->cap_known = f->n;
  }
  memset(f->count, 0, sizeof f->count);
  f->n_known = 0;
  for (size_t j = 0; j < f->n; j++) {
    f->count[f->e[j].unit]++;
    if (f->e[j].idx == UINT32_MAX) continue;
    f->idx[f->n_known] = f->e[j].idx;
    f->unit[f->n_known++] = f->e[j].unit;
  }
  rbm_hidden_sum(m, f->n_known, f->idx, f->unit, f->sum);
  rbm_sigmoid_sums(f->sum, f->hidden, (int)m->layer.n_hidden);
  return SQLITE_OK;
}

/* ---- the reader -------------------------------------------------------- */

/* "WHERE user = ?" or "WHERE item = ?", prepared when first needed. */
enum { Q_UNTRIED, Q_INDEXED, Q_SCAN };
typedef struct entity_query {
  sqlite3_stmt *st;  /* SELECT other id, rating, rowid (or NULL), the id */
  int mode;
} entity_query;

struct sql_user_reader {
  sqlite3 *db;
  sql_served *s;
  struct sql_user_reader *partner;  /* 'both': the item-based half's */
  struct sql_user_reader *top;      /* the statement's reader: reads users */
  const rbm_model *pair;            /* an item-based half's: the other half */
  entity_query by_user, by_item;
  sql_snapshot *snap;               /* checked this statement, when used */
  /* The last one folded in: a user (user-based) or an item (item-based). */
  fold f;
  int have_last, placed;
  rbm_key last;
  char *last_text;
  /* Item-based: the item states, once current for this statement. */
  int states_checked;
  uint64_t point_rows;              /* rows read by items' own queries */
  sql_item_states *states;
  size_t n_rows;                    /* the states' rows this statement sees */
  /* Lists of rows of the item states a user rated. */
  uint32_t *rated_rows;
  size_t n_rated_rows, cap_rated_rows;
  /* sql_user_reader_score_items: one user's answers for every item. */
  float *score_like, *score_rating, *score_probs, *score_scratch;
  float *score_user_half;
  uint8_t *score_rated;
  size_t score_n, score_scratch_n;
};

sql_served *sql_user_reader_served(const sql_user_reader *rd) { return rd->s; }

void sql_user_reader_close(sql_user_reader *rd) {
  if (!rd) return;
  sql_user_reader_close(rd->partner);
  sqlite3_finalize(rd->by_user.st);
  sqlite3_finalize(rd->by_item.st);
  sql_snapshot_release(rd->snap);
  sql_item_states_release(rd->states);
  sql_served_release(rd->s);
  fold_free(&rd->f);
  free(rd->last_text);
  free(rd->rated_rows);
  free(rd->score_like);
  free(rd->score_rating);
  free(rd->score_probs);
  free(rd->score_scratch);
  free(rd->score_user_half);
  free(rd->score_rated);
  free(rd);
}

int sql_user_reader_open(sqlite3 *db, sql_served *s, sql_user_reader **out,
                         char **err) {
  sql_user_reader *rd = calloc(1, sizeof *rd);
  *out = NULL;
  if (!rd || fold_init(&rd->f, s->model) != SQLITE_OK) {
    if (rd) fold_free(&rd->f);
    free(rd);
    *err = sqlite3_mprintf("out of memory");
    return SQLITE_NOMEM;
  }
  rd->db = db;
  rd->s = s;
  rd->top = rd;
  s->ref++;
  /* Scoring (GEMV, GEMM) runs on as many OpenBLAS threads as the model's
  ** threads option says.  Training that uses BLAS (implicit and dense
  ** models) sets its own count and puts the previous one back when done,
  ** and the extension parks OpenBLAS's idle threads when it loads
  ** (sql_extension.c), so the two do not compete for cores. */
  if (rbm_blas_threads() != s->threads) rbm_blas_set_threads(s->threads);
  if (s->partner) {
    int rc = sql_user_reader_open(db, s->partner, &rd->partner, err);
    if (rc != SQLITE_OK) {
      sql_user_reader_close(rd);
      return rc;
    }
    rd->partner->pair = s->model;
    rd->partner->top = rd;
  }
  *out = rd;
  return SQLITE_OK;
}

static int nomem(char **err) {
  if (!*err) *err = sqlite3_mprintf("out of memory");
  return SQLITE_NOMEM;
}

/* ---- reading the source ------------------------------------------------ */

/* Once per served model and connection, through sqlite3_log (the
** application's log, if it set one; rbm_debug(model) says it too): the
** source is read whole because column has no index. */
static void warn_unindexed(sql_user_reader *rd, const char *column) {
  if (rd->s->warned) return;
  rd->s->warned = 1;
  sqlite3_log(SQLITE_WARNING,
              "rbm: source %s has no index on %s, so serving reads it whole,"
              " and again after every change: CREATE INDEX ON \"%w\"(\"%w\")",
              rd->s->src.table, column, rd->s->src.table, column);
}

/* The served source's rowid by a name no column takes (NULL: it has none),
** looked up once per served model. */
static const char *served_rowid(sql_user_reader *rd) {
  sql_served *s = rd->s;
  if (!s->rowid_read) {
    sql_sync shape;
    memset(&shape, 0, sizeof shape);
    sql_sync_shape(rd->db, &s->src, &shape);
    s->rowid = shape.rowid;
    shape.rowid = NULL;
    sql_sync_free(&shape);
    s->rowid_read = 1;
  }
  return s->rowid;
}

/* After a whole read: the rowid's name as the read found it. */
static void refresh_rowid(sql_served *s, const sql_sync *sync) {
  char *rowid = sync->rowid ? sqlite3_mprintf("%s", sync->rowid) : NULL;
  if (sync->rowid && !rowid) return;  /* keep the old one */
  sqlite3_free(s->rowid);
  s->rowid = rowid;
  s->rowid_read = 1;
}

/* Does the statement use an index to find its rows? */
static int uses_index(sqlite3 *db, const char *select_sql) {
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

/* Prepares "WHERE user = ?" (or item) and asks whether it uses an index;
** without one, q->mode is Q_SCAN and no statement is kept. */
static int query_open(sql_user_reader *rd, entity_query *q, int by_item,
                      char **err) {
  if (q->mode != Q_UNTRIED) return SQLITE_OK;
  int retried = 0;
retry:;
  const sql_source *src = &rd->s->src;
  const char *t = src->table, *rowid = served_rowid(rd);
  char *from = sql_source_from_clause(src);
  char *rating = sql_source_rating_sql(src);
  char *order = rowid ? sqlite3_mprintf("\"%w\".\"%w\"", t, rowid)
                      : sqlite3_mprintf("NULL");
  /* Qualified column names: see sql_read_source.  The id is asked for in
  ** every spelling that is the same key (bind_key_spellings), and read
  ** back: a row whose id is another key (a NOCASE column's) is skipped. */
  const char *col = by_item ? src->item : src->user;
  char *sql = from && rating && order
                  ? sqlite3_mprintf("SELECT \"%w\".\"%w\", %s, %s, \"%w\".\"%w\""
                                    " FROM %s AS \"%w\" WHERE \"%w\".\"%w\" IN (?1, ?2, ?3)",
                                    t, by_item ? src->user : src->item, rating,
                                    order, t, col, from, t, t, col)
                  : NULL;
  sqlite3_free(from);
  sqlite3_free(rating);
  sqlite3_free(order);
  if (!sql) return nomem(err);
  int rc = sqlite3_prepare_v2(rd->db, sql, -1, &q->st, NULL);
  if (rc != SQLITE_OK && rowid && !retried) {
    /* The source may have changed kind (a table is now a view): look its
    ** rowid up again. */
    sqlite3_free(sql);
    sqlite3_free(rd->s->rowid);
    rd->s->rowid = NULL;
    rd->s->rowid_read = 0;
    retried = 1;
    goto retry;
  }
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("source %s: %s", t, sqlite3_errmsg(rd->db));
    sqlite3_free(sql);
    return rc;
  }
  q->mode = uses_index(rd->db, sql) ? Q_INDEXED : Q_SCAN;
  sqlite3_free(sql);
  if (q->mode == Q_SCAN) {
    sqlite3_finalize(q->st);
    q->st = NULL;
  }
  return SQLITE_OK;
}

/* A key is one id however SQLite stores it (sql_key_from_value): an
** integer also as its text, a text also as a blob, and as a real when it
** is how a real's value is spelt.  SQL's = tells those apart in a column
** with no type, so a query asks for each. */
static void bind_key_spellings(sqlite3_stmt *st, const rbm_key *key) {
  sqlite3_bind_null(st, 3);
  if (!key->text) {
    char buf[24];
    sqlite3_bind_int64(st, 1, key->i);
    sqlite3_snprintf(sizeof buf, buf, "%lld", (long long)key->i);
    sqlite3_bind_text(st, 2, buf, -1, SQLITE_TRANSIENT);
    return;
  }
  sqlite3_bind_text(st, 1, key->text, (int)key->len, SQLITE_TRANSIENT);
  sqlite3_bind_blob(st, 2, key->text, (int)key->len, SQLITE_TRANSIENT);
  char text[40], spelt[40], *end;
  if (key->len == 0 || key->len >= sizeof text) return;
  memcpy(text, key->text, key->len);
  text[key->len] = 0;
  double d = strtod(text, &end);
  snprintf(spelt, sizeof spelt, "%.17g", d);
  if (*end == 0 && strcmp(spelt, text) == 0) sqlite3_bind_double(st, 3, d);
}

/* Calls visit for each row of key whose other id is not NULL and whose
** rating is a number; order is the rowid, or the arrival. */
typedef int (*row_visit)(void *ctx, const rbm_key *other, double rating,
                         sqlite3_int64 order);

static int query_rows(sql_user_reader *rd, entity_query *q, const rbm_key *key,
                      row_visit visit, void *ctx, char **err) {
  sqlite3_stmt *st = q->st;
  char buf[32];
  sqlite3_int64 arrival = 0;
  int rc, vrc = SQLITE_OK;
  bind_key_spellings(st, key);
  while (vrc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    rbm_key other, self;
    char sbuf[32];
    sqlite3_value *rv = sqlite3_column_value(st, 1);
    int type = sqlite3_value_numeric_type(rv);
    arrival++;
    if (!sql_key_from_value(sqlite3_column_value(st, 3), &self, sbuf, sizeof sbuf) ||
        !rbm_key_equal(&self, key))
      continue;
    if (!sql_key_from_value(sqlite3_column_value(st, 0), &other, buf, sizeof buf))
      continue;
    if (type != SQLITE_INTEGER && type != SQLITE_FLOAT) continue;
    double value = sqlite3_value_double(rv);
    if (value != value || value - value != 0) continue;  /* not finite */
    sqlite3_int64 order = sqlite3_column_type(st, 2) == SQLITE_NULL
                              ? arrival
                              : sqlite3_column_int64(st, 2);
    vrc = visit(ctx, &other, value, order);
  }
  sqlite3_reset(st);
  if (vrc != SQLITE_OK) return nomem(err);
  if (rc != SQLITE_DONE) {
    *err = sqlite3_mprintf("source %s: %s", rd->s->src.table,
                           sqlite3_errmsg(rd->db));
    return rc;
  }
  return SQLITE_OK;
}

void sql_snapshot_release(sql_snapshot *sn) {
  if (!sn || --sn->ref > 0) return;
  sql_sync_free(&sn->sync);
  rbm_ratings_free(&sn->r);
  free(sn->model_item);
  free(sn);
}

/* The connection's snapshot of the source by user, read again if the
** source has changed since (checked once per statement). */
static int snapshot_current(sql_user_reader *rd, sql_snapshot **out,
                            char **err) {
  sql_served *s = rd->s;
  *out = rd->snap;
  if (rd->snap) return SQLITE_OK;
  if (s->snap) {
    sql_appended added;
    int what, rc = sql_sync_check(rd->db, &s->src, &s->snap->sync, &added,
                                  &what, err);
    sql_appended_free(&added);
    if (rc != SQLITE_OK) return rc;
    if (what != SQL_SYNC_SAME) {  /* a snapshot takes no appends: read again */
      sql_snapshot_release(s->snap);
      s->snap = NULL;
    }
  }
  if (!s->snap) {
    sql_snapshot *sn = calloc(1, sizeof *sn);
    if (!sn) return nomem(err);
    sn->ref = 1;
    const rbm_model *m = s->model;
    int rc = sql_sync_begin(rd->db, &s->src, &sn->sync);
    if (rc == SQLITE_OK)
      rc = sql_read_source(rd->db, &s->src, m, s->threads, sn->sync.rowid,
                           &sn->r, err);
    if (rc == SQLITE_OK) sql_sync_end(rd->db, &sn->sync);
    if (rc == SQLITE_OK && m->orientation == RBM_ORIENT_USER) {
      sn->model_item = malloc((sn->r.items.n + 1) * sizeof *sn->model_item);
      if (!sn->model_item) rc = nomem(err);
      for (uint32_t i = 0; sn->model_item && i < sn->r.items.n; i++) {
        rbm_key k = rbm_keys_get(&sn->r.items, i);
        int64_t mi = rbm_keys_find(&m->items, &k);
        sn->model_item[i] = mi < 0 ? UINT32_MAX : (uint32_t)mi;
      }
    }
    if (rc != SQLITE_OK) {
      sql_snapshot_release(sn);
      return rc;
    }
    for (uint32_t c = 0; c < sn->r.n_values; c++)  /* values are units here */
      sn->unit_of_code[c] = (uint8_t)sn->r.values[c];
    s->snap = sn;
    s->snapshot_reads++;
    refresh_rowid(s, &sn->sync);
    warn_unindexed(rd, s->src.user);
  }
  rd->snap = s->snap;
  rd->snap->ref++;
  *out = rd->snap;
  return SQLITE_OK;
}

/* How this statement reads one user's rows: *q set when by an indexed
** query, else *sn, the snapshot. */
static int user_rows_source(sql_user_reader *rd, entity_query **q,
                            sql_snapshot **sn, char **err) {
  *q = NULL;
  *sn = NULL;
  int rc = query_open(rd, &rd->by_user, 0, err);
  if (rc != SQLITE_OK) return rc;
  if (rd->by_user.mode == Q_INDEXED) {
    *q = &rd->by_user;
    return SQLITE_OK;
  }
  return snapshot_current(rd, sn, err);
}

/* ---- folding in ---------------------------------------------------------- */

typedef struct fold_visit_ctx {
  fold *f;
  const rbm_model *m;
} fold_visit_ctx;

static int fold_visit(void *ctx, const rbm_key *other, double rating,
                      sqlite3_int64 order) {
  fold_visit_ctx *c = ctx;
  int64_t idx = rbm_keys_find(&c->m->items, other);
  return fold_add(c->f, rbm_key_hash(other), idx < 0 ? UINT32_MAX : (uint32_t)idx,
                  (uint8_t)rbm_unit_of_value(c->m, rating), order);
}

/* Folds key in from its rows by q into rd->f, for model m. */
static int fold_by_query(sql_user_reader *rd, entity_query *q,
                         const rbm_model *m, const rbm_key *key, char **err) {
  fold_reset(&rd->f);
  fold_visit_ctx c = {&rd->f, m};
  int rc = query_rows(rd, q, key, fold_visit, &c, err);
  if (rc == SQLITE_OK && fold_finish(&rd->f, m) != SQLITE_OK) rc = nomem(err);
  return rc;
}

/* A user-based model: folds the user in from the snapshot. */
static int fold_from_snapshot(sql_user_reader *rd, const sql_snapshot *sn,
                              const rbm_key *user, char **err) {
  fold *f = &rd->f;
  fold_reset(f);
  int64_t u = rbm_keys_find(&sn->r.users, user);
  for (uint64_t j = u < 0 ? 0 : sn->r.row[u]; u >= 0 && j < sn->r.row[u + 1]; j++)
    if (fold_push(f, 0, sn->model_item[sn->r.col_item[j]],
                  sn->unit_of_code[sn->r.col_code[j]], (sqlite3_int64)j) != SQLITE_OK)
      return nomem(err);
  return fold_finish(f, rd->s->model) == SQLITE_OK ? SQLITE_OK : nomem(err);
}

static int remember(sql_user_reader *rd, const rbm_key *key) {
  rd->have_last = 0;
  rd->last = *key;
  if (key->text) {
    char *t = realloc(rd->last_text, key->len + 1);
    if (!t) return SQLITE_NOMEM;
    memcpy(t, key->text, key->len);
    rd->last_text = t;
    rd->last.text = t;
  }
  rd->have_last = 1;
  return SQLITE_OK;
}

static int is_last(const sql_user_reader *rd, const rbm_key *key) {
  return rd->have_last && rbm_key_equal(&rd->last, key);
}

int sql_user_reader_fold(sql_user_reader *rd, const rbm_key *user,
                         const float **hidden, const uint32_t **rated,
                         size_t *n_rated, char **err) {
  if (!is_last(rd, user)) {
    entity_query *q;
    sql_snapshot *sn;
    rd->have_last = 0;
    int rc = user_rows_source(rd, &q, &sn, err);
    if (rc == SQLITE_OK)
      rc = q ? fold_by_query(rd, q, rd->s->model, user, err)
             : fold_from_snapshot(rd, sn, user, err);
    if (rc != SQLITE_OK) return rc;
    rd->placed = rd->f.n_known > 0;
    if (remember(rd, user) != SQLITE_OK) return nomem(err);
  }
  *hidden = rd->placed ? rd->f.hidden : NULL;
  *rated = rd->f.idx;
  *n_rated = rd->f.n_known;
  return SQLITE_OK;
}

/* ---- item states: every item folded in ---------------------------------- */

typedef struct find_ctx {
  const rbm_key *target;
  sqlite3_int64 before;
  int found;
} find_ctx;

static int find_visit(void *ctx, const rbm_key *other, double rating,
                      sqlite3_int64 order) {
  find_ctx *c = ctx;
  (void)rating;
  if (order < c->before && rbm_key_equal(other, c->target)) c->found = 1;
  return SQLITE_OK;
}

/* Whether the source holds a row of (user, item) older than rowid: *older
** 1 or 0, or -1 when no index answers that. */
static int older_pair(sql_user_reader *ir, const rbm_key *user,
                      const rbm_key *item, sqlite3_int64 rowid, int *older,
                      char **err) {
  sql_user_reader *top = ir->top;  /* users' rows are read through it */
  find_ctx c = {item, rowid, 0};
  *older = -1;
  int rc = query_open(top, &top->by_user, 0, err);
  if (rc == SQLITE_OK && top->by_user.mode == Q_INDEXED) {
    rc = query_rows(top, &top->by_user, user, find_visit, &c, err);
  } else if (rc == SQLITE_OK) {
    rc = query_open(ir, &ir->by_item, 1, err);
    if (rc != SQLITE_OK || ir->by_item.mode != Q_INDEXED) return rc;
    c.target = user;
    rc = query_rows(ir, &ir->by_item, item, find_visit, &c, err);
  }
  if (rc == SQLITE_OK) *older = c.found;
  return rc;
}

/* Folds rows appended to the source into the item states, a rating at a
** time.  An item whose pair may have had an older row (one is still there,
** or REPLACE may have dropped it: a table with UNIQUE pairs) is folded
** afresh from its rows instead, once, after the others: those rows already
** hold every appended one.  Marks the states stale when that cannot be
** done. */
static int apply_appended(sql_user_reader *ir, const sql_appended *added,
                          char **err) {
  sql_item_states *st = ir->s->states;
  const rbm_model *m = ir->s->model;
  int replace = st->sync.replace_pairs, rc = SQLITE_OK;
  /* Every usable row's item has a row of the states first. */
  for (size_t j = 0; j < added->n; j++)
    if (added->row[j].usable &&
        sql_item_states_row(st, m, ir->pair, &added->row[j].item) < 0)
      return nomem(err);
  uint8_t *refold = calloc(st->n ? st->n : 1, 1);
  if (!refold) return nomem(err);
  size_t n_refold = 0;
  for (size_t j = 0; rc == SQLITE_OK && j < added->n; j++) {
    const sql_new_row *r = &added->row[j];
    /* An unusable row adds nothing, but its REPLACE may have dropped one. */
    if (!r->has_ids || (!r->usable && !replace)) continue;
    int64_t row = rbm_keys_find(&st->keys, &r->item);
    if (row < 0 || refold[row]) continue;
    int older = replace;
    if (!older) rc = older_pair(ir, &r->user, &r->item, r->rowid, &older, err);
    if (rc == SQLITE_OK && older < 0) {
      free(refold);
      st->stale = 1;  /* no index tells: built again when next needed */
      return SQLITE_OK;
    }
    if (older) {
      refold[row] = 1;
      n_refold++;
    }
  }
  for (size_t j = 0; rc == SQLITE_OK && j < added->n; j++) {
    const sql_new_row *r = &added->row[j];
    int64_t row = r->usable ? rbm_keys_find(&st->keys, &r->item) : -1;
    if (row < 0 || refold[row]) continue;
    int64_t u = rbm_keys_find(&m->items, &r->user);
    sql_item_states_add(st, m, (size_t)row, u < 0 ? UINT32_MAX : (uint32_t)u,
                        (uint32_t)rbm_unit_of_value(m, r->value));
    ir->s->ratings_added++;
  }
  if (rc == SQLITE_OK && n_refold) rc = query_open(ir, &ir->by_item, 1, err);
  if (rc == SQLITE_OK && n_refold && ir->by_item.mode != Q_INDEXED) {
    free(refold);
    st->stale = 1;
    return SQLITE_OK;
  }
  for (size_t row = 0; rc == SQLITE_OK && row < st->n; row++) {
    if (!refold[row]) continue;
    rbm_key item = rbm_keys_get(&st->keys, (uint32_t)row);
    rc = fold_by_query(ir, &ir->by_item, m, &item, err);
    ir->have_last = 0;
    if (rc == SQLITE_OK && ir->f.n == 0) {
      st->stale = 1;  /* the item has no row left: not one of the states' */
      break;
    }
    if (rc == SQLITE_OK)
      sql_item_states_set(st, m, row, ir->f.sum, ir->f.count,
                          (uint32_t)ir->f.n_known);
    ir->s->items_refolded++;
  }
  free(refold);
  return rc;
}

/* The item states for this statement (ir an item-based reader): checked
** against the source once per statement, and built when need_all and they
** are stale or absent.  ir->states is NULL when they are not current. */
static int states_current(sql_user_reader *ir, int need_all, char **err) {
  sql_served *s = ir->s;
  /* Once a statement has them, it keeps them: another statement on the
  ** connection may rebuild the connection's, and the rows this one counted
  ** must stay what they were. */
  if (ir->states) return SQLITE_OK;
  if (!ir->states_checked) {
    ir->states_checked = 1;
    if (s->states && !s->states->stale) {
      sql_appended added;
      int what, rc = sql_sync_check(ir->db, &s->src, &s->states->sync, &added,
                                    &what, err);
      if (rc == SQLITE_OK && what == SQL_SYNC_APPENDED)
        rc = apply_appended(ir, &added, err);
      if (rc == SQLITE_OK && what == SQL_SYNC_UNKNOWN) s->states->stale = 1;
      sql_appended_free(&added);
      if (rc != SQLITE_OK) {
        s->states->stale = 1;
        return rc;
      }
    }
  }
  sql_item_states *st = s->states && !s->states->stale ? s->states : NULL;
  if (!st && need_all) {
    int rc = sql_item_states_build(ir->db, &s->src, s->model, ir->pair,
                                   s->threads, &st, err);
    if (rc != SQLITE_OK) return rc;
    sql_item_states_release(s->states);
    s->states = st;
    s->states_builds++;
    refresh_rowid(s, &st->sync);
    rc = query_open(ir, &ir->by_item, 1, err);
    if (rc != SQLITE_OK) return rc;
    if (ir->by_item.mode == Q_SCAN) warn_unindexed(ir, s->src.item);
  }
  ir->states = st;
  if (st) st->ref++;
  ir->n_rows = st ? st->n : 0;
  return SQLITE_OK;
}

/* The ratings the served model was trained on (from its counts). */
static uint64_t trained_ratings(sql_served *s) {
  if (!s->trained_ratings) {
    const rbm_model *m = s->model;
    uint64_t n = 0;
    for (size_t j = 0; j < (size_t)m->n_items * m->n_units; j++) n += m->count[j];
    s->trained_ratings = n ? n : 1;
  }
  return s->trained_ratings;
}

/* An item-based reader: the item's hidden units, NULL when nobody the
** model knows rated it (or the source has no row of it); *in_source
** whether the source has a row of it. */
static int item_hidden(sql_user_reader *ir, const rbm_key *item,
                       const float **hidden, int *in_source, char **err) {
  const rbm_model *m = ir->s->model;
  int rc = states_current(ir, 0, err);
  if (rc != SQLITE_OK) return rc;
  if (!ir->states && ir->point_rows < trained_ratings(ir->s) / PROMOTE_SHARE) {
    rc = query_open(ir, &ir->by_item, 1, err);
    if (rc != SQLITE_OK) return rc;
    if (ir->by_item.mode == Q_INDEXED) {
      if (!is_last(ir, item)) {
        ir->have_last = 0;
        rc = fold_by_query(ir, &ir->by_item, m, item, err);
        if (rc != SQLITE_OK) return rc;
        ir->point_rows += ir->f.n + 1;
        ir->placed = ir->f.n_known > 0;
        if (remember(ir, item) != SQLITE_OK) return nomem(err);
      }
      *hidden = ir->placed ? ir->f.hidden : NULL;
      *in_source = ir->f.n > 0;
      return SQLITE_OK;
    }
  }
  if (!ir->states) rc = states_current(ir, 1, err);
  if (rc != SQLITE_OK) return rc;
  int64_t row = rbm_keys_find(&ir->states->keys, item);
  if (row >= (int64_t)ir->n_rows) row = -1;
  *in_source = row >= 0;
  *hidden = row >= 0 && ir->states->placed[row]
                ? ir->states->hidden + (size_t)row * m->layer.n_hidden
                : NULL;
  return SQLITE_OK;
}

static int rated_push(sql_user_reader *ir, uint32_t row) {
  if (ir->n_rated_rows == ir->cap_rated_rows) {
    size_t cap = ir->cap_rated_rows ? 2 * ir->cap_rated_rows : 256;
    uint32_t *r = realloc(ir->rated_rows, cap * sizeof *r);
    if (!r) return SQLITE_NOMEM;
    ir->rated_rows = r;
    ir->cap_rated_rows = cap;
  }
  ir->rated_rows[ir->n_rated_rows++] = row;
  return SQLITE_OK;
}

static int rated_visit(void *ctx, const rbm_key *other, double rating,
                       sqlite3_int64 order) {
  sql_user_reader *ir = ctx;
  (void)rating;
  (void)order;
  int64_t row = rbm_keys_find(&ir->states->keys, other);
  return row >= 0 && row < (int64_t)ir->n_rows ? rated_push(ir, (uint32_t)row)
                                               : SQLITE_OK;
}

/* Calls visit for each item the user rated, from the indexed query or the
** snapshot, whichever rd reads users' rows by (the snapshot passes no
** rating). */
static int visit_user_rows(sql_user_reader *rd, const rbm_key *user,
                           row_visit visit, void *ctx, char **err) {
  entity_query *q;
  sql_snapshot *sn;
  int rc = user_rows_source(rd, &q, &sn, err);
  if (rc != SQLITE_OK) return rc;
  if (q) return query_rows(rd, q, user, visit, ctx, err);
  int64_t u = rbm_keys_find(&sn->r.users, user);
  for (uint64_t j = u < 0 ? 0 : sn->r.row[u]; u >= 0 && j < sn->r.row[u + 1]; j++) {
    rbm_key k = rbm_keys_get(&sn->r.items, sn->r.col_item[j]);
    if (visit(ctx, &k, 0, (sqlite3_int64)j) != SQLITE_OK) return nomem(err);
  }
  return SQLITE_OK;
}

/* Appends to ir->rated_rows the rows of the item states that user rated,
** read through rd (the statement's top reader, which reads users' rows):
** rated_visit looks them up in ir's states, whoever's rows they are. */
static int add_rated_rows(sql_user_reader *rd, sql_user_reader *ir,
                          const rbm_key *user, char **err) {
  return visit_user_rows(rd, user, rated_visit, ir, err);
}

/* ---- answers for one (user, item) ------------------------------------- */

/* One model's answer (unit probabilities) for (user, item); *in_source,
** for an item-based model, whether the source has a row of the item. */
static int answer_one(sql_user_reader *rd, const rbm_key *user,
                      const rbm_key *item, float *probs, int *unplaced,
                      int *unknown, int *in_source, char **err) {
  const rbm_model *m = rd->s->model;
  const float *hidden;
  int64_t i;
  *in_source = 1;
  if (m->orientation == RBM_ORIENT_ITEM) {  /* fold the item, find the user */
    int rc = item_hidden(rd, item, &hidden, in_source, err);
    if (rc != SQLITE_OK) return rc;
    i = rbm_keys_find(&m->items, user);
  } else {
    const uint32_t *rated;
    size_t n_rated;
    int rc = sql_user_reader_fold(rd, user, &hidden, &rated, &n_rated, err);
    if (rc != SQLITE_OK) return rc;
    i = rbm_keys_find(&m->items, item);
  }
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

/* The blended answer, and for an item-based model or half whether the
** source has a row of the item. */
static int predict(sql_user_reader *rd, const rbm_key *user,
                   const rbm_key *item, double *rating, double *like,
                   int *unplaced, int *unknown, int *in_source, char **err) {
  float own[RBM_MAX_VALUES], item_half[RBM_MAX_VALUES];
  int rc = answer_one(rd, user, item, own, unplaced, unknown, in_source, err);
  if (rc == SQLITE_OK && rd->partner) {  /* 'both': own is the user-based half */
    int up, uk;
    rc = answer_one(rd->partner, user, item, item_half, &up, &uk, in_source, err);
  }
  if (rc != SQLITE_OK) return rc;
  rbm_blend(rd->s->model, rd->partner ? item_half : own,
            rd->partner ? own : NULL, rd->s->w_rating, rd->s->w_like, rating,
            like);
  return SQLITE_OK;
}

int sql_user_reader_predict(sql_user_reader *rd, const rbm_key *user,
                            const rbm_key *item, double *rating, double *like,
                            int *unplaced, int *unknown, char **err) {
  int in_source;
  return predict(rd, user, item, rating, like, unplaced, unknown, &in_source, err);
}

int sql_user_reader_point(sql_user_reader *rd, const rbm_key *user,
                          const rbm_key *item, int *found, double *like,
                          double *rating, int *rated, char **err) {
  const rbm_model *m = rd->s->model;
  int unplaced, unknown, in_source;
  *found = *rated = 0;
  if (!sql_user_reader_ranks_items(rd) && rbm_keys_find(&m->items, item) < 0)
    return SQLITE_OK;  /* a user-based model answers for its own items */
  int rc = predict(rd, user, item, rating, like, &unplaced, &unknown, &in_source,
                   err);
  if (rc != SQLITE_OK || !in_source) return rc;
  *found = 1;
  if (!sql_user_reader_ranks_items(rd)) {  /* among the folded-in user's */
    int64_t i = rbm_keys_find(&m->items, item);
    for (size_t j = 0; j < rd->f.n_known; j++) *rated |= rd->f.idx[j] == (uint32_t)i;
    return SQLITE_OK;
  }
  /* Rated: has the source a row of the pair? */
  find_ctx c = {item, INT64_MAX, 0};
  rc = visit_user_rows(rd, user, find_visit, &c, err);
  *rated = c.found;
  return rc;
}

/* ---- item-based models: ranking items for a user ---------------------- */

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

/* One batch of sql_user_reader_rank_users, shared out per user. */
typedef struct rank_job {
  sql_user_reader *rd, *ir;
  size_t b0, k, n;         /* out rows b0+b; n rows of the item states */
  const uint32_t *index;   /* per user: the item-based half's index or none */
  const uint8_t *placed;   /* per user: the user-based half could place them */
  const size_t *slot;      /*   and their row of user_probs */
  const size_t *rated_at;  /* per user: their rated rows, rated_at[b] .. [b+1] */
  const float *user_probs, *item_probs;
  float *other;            /* per worker: n rows of n_units */
  uint8_t *skip;           /* per worker: n */
  rbm_recommendation *out;
  size_t *n_out;
} rank_job;

static void rank_one_user(void *ctx, size_t b, int worker) {
  const rank_job *j = ctx;
  const sql_item_states *st = j->ir->states;
  const rbm_model *mi = j->ir->s->model, *mu = j->rd->s->model;
  size_t K = mu->n_units, nI = mu->n_items, n = j->n;
  float *other = j->other ? j->other + (size_t)worker * n * K : NULL;
  uint8_t *skip = j->skip + (size_t)worker * n;
  if (other) {
    const float *all = j->placed[b] ? j->user_probs + j->slot[b] * nI * K : NULL;
    for (uint32_t r = 0; r < n; r++)
      user_half_probs(mu, st->pair_item[r], all, other + (size_t)r * K);
  }
  memset(skip, 0, n);
  for (size_t q = j->rated_at[b]; q < j->rated_at[b + 1]; q++)
    skip[j->ir->rated_rows[q]] = 1;
  rbm_rank_rows(mi, n,
                j->index[b] == UINT32_MAX ? NULL : j->item_probs + b * n * K,
                st->placed, st->prior, skip, other, j->rd->s->w_rating,
                j->rd->s->w_like, j->k, j->out + (j->b0 + b) * j->k,
                j->n_out + j->b0 + b);
}

int sql_user_reader_rank_users(sql_user_reader *rd, size_t first, size_t n_users,
                               const rbm_keys *users, size_t k,
                               rbm_recommendation *out, size_t *n_out,
                               char **err) {
  sql_user_reader *ir = rd->partner ? rd->partner : rd;
  int rc = states_current(ir, 1, err);
  if (rc != SQLITE_OK) return rc;
  const sql_item_states *st = ir->states;
  const rbm_model *mi = ir->s->model, *mu = rd->s->model;
  size_t K = mu->n_units, F = mu->layer.n_hidden, nI = mu->n_items, n = ir->n_rows;
  size_t n1 = n ? n : 1;
  size_t batch = n_users < RANK_BATCH ? (n_users ? n_users : 1) : RANK_BATCH;
  int threads = rd->s->threads;
  /* Per-worker buffers: rbm_parallel_for runs at most this many. */
  size_t workers = threads < RBM_MAX_TASK_THREADS ? (size_t)threads : RBM_MAX_TASK_THREADS;
  if (workers > batch) workers = batch;
  float *hidden = NULL, *user_probs = NULL, *other = NULL;
  float *item_probs = malloc(batch * n1 * K * sizeof *item_probs);
  float *scratch = malloc(RBM_VISIBLE_SCRATCH(mi, batch, n1) * sizeof *scratch);
  uint8_t *skip = malloc(workers * n1);
  uint8_t placed[RANK_BATCH];
  uint32_t index[RANK_BATCH];
  size_t slot[RANK_BATCH], rated_at[RANK_BATCH + 1];
  if (!item_probs || !scratch || !skip) rc = SQLITE_NOMEM;
  if (rd->partner) {
    hidden = malloc(batch * F * sizeof *hidden);
    user_probs = malloc(batch * nI * K * sizeof *user_probs);
    other = malloc(workers * n1 * K * sizeof *other);
    if (!hidden || !user_probs || !other) rc = SQLITE_NOMEM;
  }
  for (size_t b0 = 0; rc == SQLITE_OK && b0 < n_users; b0 += RANK_BATCH) {
    size_t nb = n_users - b0 < RANK_BATCH ? n_users - b0 : RANK_BATCH, np = 0;
    ir->n_rated_rows = 0;
    for (size_t b = 0; rc == SQLITE_OK && b < nb; b++) {
      rbm_key key = rbm_keys_get(users, (uint32_t)(first + b0 + b));
      if (rd->partner) {  /* the user-based half: one GEMM for the batch */
        const float *h;
        const uint32_t *rated;
        size_t n_rated;
        rc = sql_user_reader_fold(rd, &key, &h, &rated, &n_rated, err);
        if (rc != SQLITE_OK) break;
        placed[b] = h != NULL;
        slot[b] = np;
        if (h) memcpy(hidden + np++ * F, h, F * sizeof *hidden);
      }
      /* The item-based half: the user's units in every item's RBM. */
      int64_t v = rbm_keys_find(&mi->items, &key);
      index[b] = v < 0 ? UINT32_MAX : (uint32_t)v;
      rated_at[b] = ir->n_rated_rows;
      rc = add_rated_rows(rd, ir, &key, err);
    }
    if (rc != SQLITE_OK) break;
    rated_at[nb] = ir->n_rated_rows;
    if (np) rbm_all_item_probs_batch(mu, np, hidden, user_probs, threads);
    rbm_visible_probs_batch(mi, nb, index, n, st->hidden, item_probs, scratch,
                            threads);
    rank_job job = {rd, ir, b0, k, n, index, placed, slot, rated_at, user_probs,
                    item_probs, other, skip, out, n_out};
    rbm_parallel_for(threads, nb, rank_one_user, &job);
  }
  free(item_probs);
  free(scratch);
  free(skip);
  free(hidden);
  free(user_probs);
  free(other);
  if (rc == SQLITE_NOMEM) nomem(err);
  return rc;
}

int sql_user_reader_ranks_items(const sql_user_reader *rd) {
  return rd->partner || rd->s->model->orientation == RBM_ORIENT_ITEM;
}

/* ---- every item for one user (the virtual table) ----------------------- */

static int score_buffers(sql_user_reader *rd, size_t n, size_t K, char **err) {
  if (!rd->score_like || rd->score_n < n) {
    size_t n1 = n ? n : 1;
    free(rd->score_like);
    free(rd->score_rating);
    free(rd->score_probs);
    free(rd->score_rated);
    rd->score_like = malloc(n1 * sizeof *rd->score_like);
    rd->score_rating = malloc(n1 * sizeof *rd->score_rating);
    rd->score_probs = malloc(n1 * K * sizeof *rd->score_probs);
    rd->score_rated = malloc(n1);
    rd->score_n = n;
  }
  if (!rd->score_like || !rd->score_rating || !rd->score_probs ||
      !rd->score_rated) {
    rd->score_n = 0;
    return nomem(err);
  }
  return SQLITE_OK;
}

/* A user-based model: the model's items. */
static int score_user_based(sql_user_reader *rd, const rbm_key *user,
                            int64_t only, size_t *n, char **err) {
  const rbm_model *m = rd->s->model;
  size_t K = m->n_units;
  int rc = score_buffers(rd, m->n_items, K, err);
  const float *h;
  const uint32_t *rated;
  size_t n_rated;
  if (rc == SQLITE_OK) rc = sql_user_reader_fold(rd, user, &h, &rated, &n_rated, err);
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
static int score_item_based(sql_user_reader *rd, const rbm_key *user,
                            int64_t only, size_t *n, char **err) {
  sql_user_reader *ir = rd->partner ? rd->partner : rd;
  int rc = states_current(ir, 1, err);
  if (rc != SQLITE_OK) return rc;
  const sql_item_states *st = ir->states;
  const rbm_model *mi = ir->s->model, *mu = rd->s->model;
  size_t K = mi->n_units, rows = ir->n_rows;
  rc = score_buffers(rd, rows, K, err);
  if (rc != SQLITE_OK) return rc;
  size_t scratch = RBM_VISIBLE_SCRATCH(mi, 1, rows ? rows : 1);
  if (rd->score_scratch_n < scratch) {
    free(rd->score_scratch);
    rd->score_scratch = malloc(scratch * sizeof(float));
    rd->score_scratch_n = rd->score_scratch ? scratch : 0;
  }
  if (rd->partner && !rd->score_user_half)
    rd->score_user_half = malloc((size_t)mu->n_items * K * sizeof(float));
  if (!rd->score_scratch || (rd->partner && !rd->score_user_half)) return nomem(err);
  int64_t v = rbm_keys_find(&mi->items, user);
  uint32_t index = v < 0 ? UINT32_MAX : (uint32_t)v;
  size_t lo = only >= 0 ? (size_t)only : 0, hi = only >= 0 ? lo + 1 : rows;
  rbm_visible_probs_batch(mi, 1, &index, hi - lo, st->hidden + lo * mi->layer.n_hidden,
                          rd->score_probs + lo * K, rd->score_scratch, 1);
  const float *all = NULL;  /* the user half's answers, if it placed the user */
  if (rd->partner) {
    const float *h;
    const uint32_t *rated;
    size_t n_rated;
    rc = sql_user_reader_fold(rd, user, &h, &rated, &n_rated, err);
    if (rc != SQLITE_OK) return rc;
    int64_t i = only >= 0 ? st->pair_item[only] : -1;
    if (h && only < 0) {
      rbm_all_item_probs(mu, h, rd->score_user_half);
    } else if (h && i >= 0) {  /* the one item's, where all has it */
      rbm_item_probs(mu, h, (uint32_t)i, rd->score_user_half + (size_t)i * K);
    }
    if (h) all = rd->score_user_half;
  }
  for (size_t j = lo; j < hi; j++) {
    const float *p = index != UINT32_MAX && st->placed[j]
                         ? rd->score_probs + (size_t)j * K
                         : st->prior + (size_t)j * K;
    float q[RBM_MAX_VALUES];
    if (rd->partner) user_half_probs(mu, st->pair_item[j], all, q);
    double like, rating;
    rbm_blend(mi, p, rd->partner ? q : NULL, rd->s->w_rating, rd->s->w_like,
              &rating, &like);
    rd->score_like[j] = (float)like;
    rd->score_rating[j] = (float)rating;
  }
  memset(rd->score_rated, 0, rows);
  ir->n_rated_rows = 0;
  rc = add_rated_rows(rd, ir, user, err);
  for (size_t q = 0; rc == SQLITE_OK && q < ir->n_rated_rows; q++)
    rd->score_rated[ir->rated_rows[q]] = 1;
  *n = rows;
  return rc;
}

int sql_user_reader_score_items(sql_user_reader *rd, const rbm_key *user,
                                int64_t only, size_t *n, const float **like,
                                const float **rating, const uint8_t **rated,
                                char **err) {
  int rc = sql_user_reader_ranks_items(rd)
               ? score_item_based(rd, user, only, n, err)
               : score_user_based(rd, user, only, n, err);
  *like = rd->score_like;
  *rating = rd->score_rating;
  *rated = rd->score_rated;
  return rc;
}

int sql_user_reader_items(sql_user_reader *rd, size_t *n, char **err) {
  if (!sql_user_reader_ranks_items(rd)) {
    *n = rd->s->model->n_items;
    return SQLITE_OK;
  }
  sql_user_reader *ir = rd->partner ? rd->partner : rd;
  int rc = states_current(ir, 1, err);
  *n = ir->n_rows;
  return rc;
}

rbm_key sql_user_reader_item_key(const sql_user_reader *rd, uint32_t j) {
  if (!sql_user_reader_ranks_items(rd)) return rbm_keys_get(&rd->s->model->items, j);
  const sql_user_reader *ir = rd->partner ? rd->partner : rd;
  return rbm_keys_get(&ir->states->keys, j);
}

int64_t sql_user_reader_item_index(const sql_user_reader *rd,
                                   const rbm_key *item) {
  if (!sql_user_reader_ranks_items(rd))
    return rbm_keys_find(&rd->s->model->items, item);
  const sql_user_reader *ir = rd->partner ? rd->partner : rd;
  if (!ir->states) return -1;
  int64_t j = rbm_keys_find(&ir->states->keys, item);
  return j < (int64_t)ir->n_rows ? j : -1;
}

int sql_user_reader_source_users(sql_user_reader *rd, const rbm_keys **users,
                                 char **err) {
  sql_snapshot *sn;
  int rc = snapshot_current(rd, &sn, err);
  if (rc == SQLITE_OK) *users = &sn->r.users;
  return rc;
}

/* ---- embeddings (sql_embed.c) ------------------------------------------- */

int sql_user_reader_item_hidden(sql_user_reader *rd, const rbm_key *item,
                                const float **hidden, char **err) {
  sql_user_reader *ir = rd->partner ? rd->partner : rd;
  int in_source;
  return item_hidden(ir, item, hidden, &in_source, err);
}

const float *sql_user_reader_row_hidden(const sql_user_reader *rd, size_t j) {
  const sql_user_reader *ir = rd->partner ? rd->partner : rd;
  const sql_item_states *st = ir->states;
  return st && j < ir->n_rows && st->placed[j]
             ? st->hidden + j * ir->s->model->layer.n_hidden
             : NULL;
}

int64_t sql_user_reader_row_pair(const sql_user_reader *rd, size_t j) {
  const sql_user_reader *ir = rd->partner ? rd->partner : rd;
  const sql_item_states *st = ir->states;
  return st && st->pair_item && j < ir->n_rows ? st->pair_item[j] : -1;
}

/* ---- rbm_debug(model) ------------------------------------------------------ */

static void describe_index(sqlite3_str *out, const char *key, const entity_query *q) {
  sqlite3_str_appendf(out, ",\"%s\":%s", key, q->mode == Q_INDEXED ? "true" : "false");
}

int sql_serve_describe(sqlite3 *db, const char *name, char **json, char **err) {
  sql_served *s;
  sql_user_reader *rd = NULL;
  *json = NULL;
  int rc = sql_served_by_name(db, name, &s, err);
  if (rc != SQLITE_OK) return rc;
  rc = sql_user_reader_open(db, s, &rd, err);
  sql_served_release(s);
  if (rc == SQLITE_OK) rc = query_open(rd, &rd->by_user, 0, err);
  if (rc == SQLITE_OK) rc = query_open(rd, &rd->by_item, 1, err);
  if (rc != SQLITE_OK) {
    sql_user_reader_close(rd);
    return rc;
  }
  const rbm_model *m = s->model;
  sql_served *half = s->partner ? s->partner
                     : m->orientation == RBM_ORIENT_ITEM ? s : NULL;
  int user_based = half != s;
  sqlite3_str *out = sqlite3_str_new(db);
  sqlite3_str_appendall(out, "{\"model\":");
  sql_append_json_string(out, name);
  sqlite3_str_appendf(out, ",\"orientation\":\"%s\",\"source\":",
                      s->partner ? "both" : user_based ? "user" : "item");
  sql_append_json_string(out, s->src.table);
  describe_index(out, "user_index", &rd->by_user);
  describe_index(out, "item_index", &rd->by_item);
  /* The statements that make the missing indexes, as the README advises:
  ** with the other id and the rating, so a lookup reads the index alone. */
  sqlite3_str_appendall(out, ",\"advice\":[");
  const char *cols[2] = {s->src.user, s->src.item};
  int missing[2] = {rd->by_user.mode != Q_INDEXED,
                    half && rd->by_item.mode != Q_INDEXED};
  for (int c = 0, first = 1; c < 2; c++) {
    if (!missing[c]) continue;
    char *rating = *s->src.rating ? sqlite3_mprintf(", \"%w\"", s->src.rating)
                                  : sqlite3_mprintf("");
    char *advice = rating ? sqlite3_mprintf(
        "CREATE INDEX %s%s%s\"%w_by_%w\" ON \"%w\"(\"%w\", \"%w\"%s)",
        s->src.schema ? "\"" : "", s->src.schema ? s->src.schema : "",
        s->src.schema ? "\"." : "", s->src.table, c ? "item" : "user",
        s->src.table, cols[c], cols[1 - c], rating) : NULL;
    if (!first) sqlite3_str_appendchar(out, 1, ',');
    sql_append_json_string(out, advice ? advice : "");
    sqlite3_free(advice);
    sqlite3_free(rating);
    first = 0;
  }
  sqlite3_str_appendchar(out, 1, ']');
  const sql_snapshot *sn = s->snap;
  if (sn) {
    sqlite3_str_appendf(out, ",\"snapshot\":{\"users\":%u,\"ratings\":%llu,"
                        "\"reads\":%lld}",
                        sn->r.users.n, (unsigned long long)sn->r.n, s->snapshot_reads);
  } else {
    sqlite3_str_appendf(out, ",\"snapshot\":null");
  }
  if (half) {
    const sql_item_states *st = half->states;
    size_t F = half->model->layer.n_hidden, K = half->model->n_units;
    sqlite3_str_appendf(out, ",\"item_states\":{\"rows\":%llu,\"bytes\":%llu,"
                        "\"current\":%s,\"builds\":%lld,\"ratings_added\":%lld,"
                        "\"items_refolded\":%lld}",
                        (unsigned long long)(st ? st->n : 0),
                        (unsigned long long)(st ? st->cap * (F * 12 + K * 8 + 17) : 0),
                        st && !st->stale ? "true" : "false", half->states_builds,
                        half->ratings_added, half->items_refolded);
  }
  sqlite3_str_appendchar(out, 1, '}');
  sql_user_reader_close(rd);
  *json = sqlite3_str_finish(out);
  return *json ? SQLITE_OK : nomem(err);
}
