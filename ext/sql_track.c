/*
** sql_track.c -- what changed in a source since serving last read it.
**
** Serving keeps, per connection, what it read from a source: a snapshot of
** it, or the folded-in items of an item-based model.  Before a statement
** uses that, it asks what changed since (sql_sync_check):
**
**   same       data_version, schema_version and total_changes have not
**              moved (for a view: those of every attached database);
**   appended   this connection inserted rows and did nothing else: the
**              rows past the watermark (the largest rowid read) are
**              exactly as many as the changes it counted since;
**   unknown    anything else: another connection committed, or this one
**              updated or deleted rows, or wrote to another table (the
**              counts then differ), or the source is a view or has no
**              rowid, or is a virtual table (whose rows may change with
**              no write at all).  The caller reads the source again.
**
** Three things SQLite does not count are ruled out by the table's shape:
**   - REPLACE deletes a conflicting row without counting it.  A table
**     whose UNIQUE indexes all hold the user and the item column can only
**     lose a row of the pair just inserted, which the caller folds afresh
**     (rbm_shape.replace_pairs); with any other UNIQUE index nothing is
**     tracked.
**   - ROLLBACK and ROLLBACK TO undo changes without uncounting them.  What
**     is read inside a write transaction is therefore never settled: rows
**     appended there stay pending, and every check reads them again until
**     they are committed; a whole read made there is trusted for nothing
**     after the statement that made it.
**   - A schema change (a view redefined, an index made): schema_version
**     must not have moved.
** A database detached and another attached under its name is told apart
** by its file.  One change looks like an append and is not: an UPDATE
** that moves a row to a rowid past every other.  It is not tracked (see
** ARCHITECTURE.md), nor is a view whose rows change with no write (one
** that reads the clock, or a virtual table).
*/
#include "sql_glue.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_APPENDED 1000000  /* more than this: read the source again */

void sql_sync_free(sql_sync *sync) {
  sqlite3_free(sync->schema);
  sqlite3_free(sync->rowid);
  for (int i = 0; i < sync->n_watch; i++) sqlite3_free(sync->watch[i].schema);
  free(sync->watch);
  free(sync->pending);
  memset(sync, 0, sizeof *sync);
}

void sql_appended_free(sql_appended *a) {
  for (size_t j = 0; j < a->n; j++) {
    free((void *)a->row[j].user.text);
    free((void *)a->row[j].item.text);
  }
  free(a->row);
  memset(a, 0, sizeof *a);
}

/* One integer from a query with text parameters (NULL ones left unbound);
** *v untouched when it returns no row. */
static int query_int(sqlite3 *db, const char *sql, const char *p1,
                     const char *p2, const char *p3, const char *p4,
                     sqlite3_int64 *v) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK) return rc;
  const char *p[4] = {p1, p2, p3, p4};
  for (int i = 0; i < 4; i++)
    if (p[i]) sqlite3_bind_text(st, i + 1, p[i], -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *v = sqlite3_column_int64(st, 0);
  rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
  sqlite3_finalize(st);
  return rc;
}

/* Where the table is and what it is: sets sync->schema (where name
** resolution finds it), sync->rowid (NULL when it has none) and
** sync->replace_pairs / replace_other.  Any failure leaves it untracked. */
void sql_sync_shape(sqlite3 *db, const sql_source *src, sql_sync *sync) {
  sqlite3_stmt *st;
  /* temp first, then main, then attached ones: SQLite's resolution order */
  if (sqlite3_prepare_v2(db,
                         "SELECT schema, type, wr FROM pragma_table_list"
                         " WHERE name = ?1 COLLATE NOCASE"
                         "  AND (?2 IS NULL OR schema = ?2 COLLATE NOCASE)"
                         " ORDER BY schema <> 'temp', schema <> 'main'",
                         -1, &st, NULL) != SQLITE_OK)
    return;  /* before SQLite 3.37: not tracked */
  sqlite3_bind_text(st, 1, src->table, -1, SQLITE_STATIC);
  if (src->schema) sqlite3_bind_text(st, 2, src->schema, -1, SQLITE_STATIC);
  int table = 0;
  if (sqlite3_step(st) == SQLITE_ROW) {
    const char *type = (const char *)sqlite3_column_text(st, 1);
    sync->schema = sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
    table = strcmp(type, "table") == 0 && sqlite3_column_int(st, 2) == 0;
    sync->is_view = strcmp(type, "view") == 0;
    sync->is_virtual = strcmp(type, "virtual") == 0;
  }
  sqlite3_finalize(st);
  if (!table || !sync->schema) return;
  /* The rowid by a name no column of the table takes. */
  static const char *names[] = {"rowid", "_rowid_", "oid"};
  for (int i = 0; i < 3 && !sync->rowid; i++) {
    sqlite3_int64 taken = 1;
    if (query_int(db,
                  "SELECT count(*) FROM pragma_table_xinfo(?1, ?2)"
                  " WHERE name = ?3 COLLATE NOCASE",
                  src->table, sync->schema, names[i], NULL, &taken) != SQLITE_OK)
      return;
    if (!taken) sync->rowid = sqlite3_mprintf("%s", names[i]);
  }
  sqlite3_int64 unique = 0, other = 0;
  if (query_int(db, "SELECT count(*) FROM pragma_index_list(?1, ?2) WHERE \"unique\"",
                src->table, sync->schema, NULL, NULL, &unique) != SQLITE_OK ||
      query_int(db,
                "SELECT count(*) FROM pragma_index_list(?1, ?2) l WHERE l.\"unique\""
                " AND (SELECT count(DISTINCT lower(c.name))"
                "      FROM pragma_index_info(l.name, ?2) c"
                "      WHERE c.name IN (?3 COLLATE NOCASE, ?4 COLLATE NOCASE)) < 2",
                src->table, sync->schema, src->user, src->item, &other) != SQLITE_OK) {
    sqlite3_free(sync->rowid);
    sync->rowid = NULL;
    return;
  }
  sync->replace_pairs = unique > 0;
  sync->replace_other = other > 0;
}

static sqlite3_int64 pragma_int(sqlite3 *db, const char *schema,
                                const char *pragma) {
  char *sql = sqlite3_mprintf("PRAGMA \"%w\".%s", schema, pragma);
  sqlite3_int64 v = -1;
  if (!sql || query_int(db, sql, NULL, NULL, NULL, NULL, &v) != SQLITE_OK) v = -1;
  sqlite3_free(sql);
  return v;
}

/* The schemas whose changes can change the source: its own, or for a view
** every attached one (a TEMP view may read any). */
static int watch_list(sqlite3 *db, sql_sync *sync) {
  sqlite3_stmt *st;
  if (!sync->is_view) {
    sync->watch = calloc(1, sizeof *sync->watch);
    if (!sync->watch) return SQLITE_NOMEM;
    sync->watch[0].schema = sqlite3_mprintf("%s", sync->schema);
    sync->n_watch = 1;
    return sync->watch[0].schema ? SQLITE_OK : SQLITE_NOMEM;
  }
  int rc = sqlite3_prepare_v2(db, "SELECT name FROM pragma_database_list", -1,
                              &st, NULL);
  while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    sql_watch *w = realloc(sync->watch, (sync->n_watch + 1) * sizeof *w);
    if (!w) {
      rc = SQLITE_NOMEM;
      break;
    }
    sync->watch = w;
    memset(&w[sync->n_watch], 0, sizeof *w);
    w[sync->n_watch].schema = sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
    if (!w[sync->n_watch++].schema) rc = SQLITE_NOMEM;
  }
  sqlite3_finalize(st);
  return rc;
}

/* What moves when the source may have changed: per watched schema,
** data_version (another connection committed), schema_version (the schema
** changed: a view redefined, an index made) and which file it is (a
** database detached and another attached under its name); and
** total_changes (this connection changed rows).  The pragmas, not the file
** control: outside a read transaction (a statement that reads no table, as
** SELECT rbm_predict(...) is) the file control gives the version as of the
** last one, and it also moves with this connection's own commits.  Sets
** *same to whether the schemas are as sync->watch has them (record: sets
** sync->watch instead), *writing to whether one has a write transaction
** open. */
static void counters(sqlite3 *db, sql_sync *sync, int record, int *same,
                     sqlite3_int64 *tc, int *writing) {
  *same = 1;
  *writing = 0;
  for (int i = 0; i < sync->n_watch; i++) {
    sql_watch now, *w = &sync->watch[i];
    now.data_version = pragma_int(db, w->schema, "data_version");
    now.schema_version = pragma_int(db, w->schema, "schema_version");
    now.file = NULL;
    sqlite3_file_control(db, w->schema, SQLITE_FCNTL_FILE_POINTER, &now.file);
    const char *name = sqlite3_db_filename(db, w->schema);
    rbm_key key = {name ? name : "", name ? (uint32_t)strlen(name) : 0, 0};
    now.name_hash = rbm_key_hash(&key);
    if (now.data_version < 0 || now.schema_version < 0) *same = 0;
    if (record) {
      now.schema = w->schema;
      *w = now;
    } else if (now.data_version != w->data_version ||
               now.schema_version != w->schema_version || now.file != w->file ||
               now.name_hash != w->name_hash) {
      *same = 0;
    }
#if SQLITE_VERSION_NUMBER >= 3034000
    if (sqlite3_libversion_number() >= 3034000) {
      *writing |= sqlite3_txn_state(db, w->schema) == SQLITE_TXN_WRITE;
      continue;
    }
#endif
    *writing |= !sqlite3_get_autocommit(db);  /* any open transaction */
  }
  *tc = sqlite3_total_changes64(db);
}

int sql_sync_begin(sqlite3 *db, const sql_source *src, sql_sync *sync) {
  sql_sync_free(sync);
  sql_sync_shape(db, src, sync);
  if (!sync->schema) {
    sync->schema = sqlite3_mprintf("%s", src->schema ? src->schema : "main");
    if (!sync->schema) return SQLITE_NOMEM;
  }
  if (watch_list(db, sync) != SQLITE_OK) return SQLITE_NOMEM;
  int writing, same;
  counters(db, sync, 1, &same, &sync->total_changes, &writing);
  sync->provisional = writing;
  sync->watermark = 0;
  if (sync->rowid) {
    char *sql = sqlite3_mprintf("SELECT coalesce(max(\"%w\"), 0) FROM \"%w\".\"%w\"",
                                sync->rowid, sync->schema, src->table);
    if (!sql || query_int(db, sql, NULL, NULL, NULL, NULL, &sync->watermark) !=
                    SQLITE_OK) {
      sqlite3_free(sync->rowid);  /* read, but not tracked */
      sync->rowid = NULL;
    }
    sqlite3_free(sql);
  }
  /* A virtual table's rows may change with no write: never settled. */
  sync->settled = same && !sync->is_virtual;
  return SQLITE_OK;
}

/* Unless the caller's statement holds a read transaction, every query here
** has its own: another connection may commit between two of them.  So the
** counters are read before the data (a commit in between then shows as a
** change next time), and data_version again after it (a commit during the
** read leaves nothing settled). */
static int data_versions_same(sqlite3 *db, const sql_sync *sync) {
  for (int i = 0; i < sync->n_watch; i++)
    if (pragma_int(db, sync->watch[i].schema, "data_version") !=
        sync->watch[i].data_version)
      return 0;
  return 1;
}

void sql_sync_end(sqlite3 *db, sql_sync *sync) {
  if (sync->settled && !data_versions_same(db, sync)) sync->settled = 0;
}

/* A row's fingerprint, to tell a pending row still there from another
** that took its rowid. */
static uint64_t row_hash(const sql_new_row *r) {
  uint64_t h = rbm_key_hash(&r->user) * 0x9e3779b97f4a7c15ULL ^ rbm_key_hash(&r->item);
  uint64_t v;
  memcpy(&v, &r->value, sizeof v);
  return (h ^ v) * 0xbf58476d1ce4e5b9ULL ^ (uint64_t)r->usable;
}

static int copy_key(rbm_key *dst, sqlite3_value *v, int *have) {
  char buf[32];
  rbm_key k;
  *have = sql_key_from_value(v, &k, buf, sizeof buf);
  *dst = k;
  if (*have && k.text) {
    char *t = malloc(k.len ? k.len : 1);
    if (!t) {
      dst->text = NULL;
      return SQLITE_NOMEM;
    }
    memcpy(t, k.text, k.len);
    dst->text = t;
  }
  return SQLITE_OK;
}

/* The rows past the watermark, in rowid order, at most MAX_APPENDED + 1. */
static int rows_past(sqlite3 *db, const sql_source *src, const sql_sync *sync,
                     sql_appended *out, char **err) {
  char *rating = sql_source_rating_sql(src);
  char *sql = rating ? sqlite3_mprintf(
                           "SELECT \"%w\".\"%w\", \"%w\".\"%w\", \"%w\".\"%w\", %s"
                           " FROM \"%w\".\"%w\" AS \"%w\" WHERE \"%w\".\"%w\" > ?1"
                           " ORDER BY \"%w\".\"%w\" LIMIT %d",
                           src->table, sync->rowid, src->table, src->user,
                           src->table, src->item, rating, sync->schema,
                           src->table, src->table, src->table, sync->rowid,
                           src->table, sync->rowid, MAX_APPENDED + 1)
                     : NULL;
  sqlite3_free(rating);
  sqlite3_stmt *st = NULL;
  int rc = sql ? sqlite3_prepare_v2(db, sql, -1, &st, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  if (rc == SQLITE_OK) sqlite3_bind_int64(st, 1, sync->watermark);
  size_t cap = 0;
  int step = SQLITE_DONE;
  while (rc == SQLITE_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
    if (out->n == cap) {
      cap = cap ? 2 * cap : 16;
      sql_new_row *grown = realloc(out->row, cap * sizeof *grown);
      if (!grown) {
        rc = SQLITE_NOMEM;
        break;
      }
      out->row = grown;
    }
    sql_new_row *r = &out->row[out->n];
    memset(r, 0, sizeof *r);
    int have_user, have_item;
    r->rowid = sqlite3_column_int64(st, 0);
    rc = copy_key(&r->user, sqlite3_column_value(st, 1), &have_user);
    if (rc == SQLITE_OK) rc = copy_key(&r->item, sqlite3_column_value(st, 2), &have_item);
    out->n++;  /* counted even when unusable, and freed with the rest */
    sqlite3_value *rv = sqlite3_column_value(st, 3);
    int type = sqlite3_value_numeric_type(rv);
    r->value = sqlite3_value_double(rv);
    r->has_ids = have_user && have_item;
    r->usable = r->has_ids &&
                (type == SQLITE_INTEGER || type == SQLITE_FLOAT) && isfinite(r->value);
    if (!r->usable) r->value = 0;
  }
  if (rc == SQLITE_OK && step != SQLITE_DONE && step != SQLITE_ROW) rc = step;
  if (rc != SQLITE_OK)
    *err = sqlite3_mprintf("source %s: %s", src->table,
                           rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return rc;
}

int sql_sync_check(sqlite3 *db, const sql_source *src, sql_sync *sync,
                   sql_appended *out, int *what, char **err) {
  memset(out, 0, sizeof *out);
  *what = SQL_SYNC_UNKNOWN;
  if (!sync->settled) return SQLITE_OK;
  sqlite3_int64 tc;
  int writing, same;
  counters(db, sync, 0, &same, &tc, &writing);
  if (!same || sync->provisional) {
    sync->settled = 0;
    return SQLITE_OK;
  }
  if (tc == sync->total_changes && sync->n_pending == 0) {
    *what = SQL_SYNC_SAME;
    return SQLITE_OK;
  }
  sync->settled = 0;  /* until shown otherwise below */
  if (!sync->rowid || sync->replace_other) return SQLITE_OK;
  int rc = rows_past(db, src, sync, out, err);
  if (rc != SQLITE_OK || out->n > MAX_APPENDED || !data_versions_same(db, sync)) {
    sql_appended_free(out);  /* ... or another connection committed meanwhile */
    return rc;
  }
  /* The pending rows must all still be there, unchanged (both lists are in
  ** rowid order), and the others as many as the changes counted: checked
  ** before the list is touched. */
  size_t p = 0, found = 0;
  for (size_t j = 0; j < out->n && p < sync->n_pending; j++) {
    while (p < sync->n_pending && sync->pending[p].rowid < out->row[j].rowid) p++;
    if (p == sync->n_pending || sync->pending[p].rowid != out->row[j].rowid) continue;
    if (sync->pending[p].hash != row_hash(&out->row[j])) break;  /* replaced */
    found++;
    p++;
  }
  if (found != sync->n_pending ||
      (sqlite3_int64)(out->n - found) != tc - sync->total_changes) {
    sql_appended_free(out);  /* a pending row is gone, or something else changed */
    return SQLITE_OK;
  }
  /* What is new: the rows that were not pending. */
  size_t kept = 0;
  p = 0;
  for (size_t j = 0; j < out->n; j++) {
    sql_new_row *r = &out->row[j];
    while (p < sync->n_pending && sync->pending[p].rowid < r->rowid) p++;
    if (p < sync->n_pending && sync->pending[p].rowid == r->rowid) {
      free((void *)r->user.text);
      free((void *)r->item.text);
      p++;
      continue;
    }
    out->row[kept++] = *r;
  }
  out->n = kept;
  /* Settled again.  Inside a write transaction, the new rows join the
  ** pending ones; outside, everything read is committed. */
  if (writing) {
    size_t n = sync->n_pending + kept, a = 0, b = 0, w = 0;
    struct sql_pending *merged = malloc((n ? n : 1) * sizeof *merged);
    if (!merged) {
      sql_appended_free(out);
      *err = sqlite3_mprintf("out of memory");
      return SQLITE_NOMEM;
    }
    while (a < sync->n_pending || b < kept) {
      if (b == kept || (a < sync->n_pending && sync->pending[a].rowid < out->row[b].rowid)) {
        merged[w++] = sync->pending[a++];
      } else {
        merged[w].rowid = out->row[b].rowid;
        merged[w++].hash = row_hash(&out->row[b++]);
      }
    }
    free(sync->pending);
    sync->pending = merged;
    sync->n_pending = n;
  } else {
    for (size_t j = 0; j < kept; j++)
      if (out->row[j].rowid > sync->watermark) sync->watermark = out->row[j].rowid;
    for (size_t j = 0; j < sync->n_pending; j++)
      if (sync->pending[j].rowid > sync->watermark) sync->watermark = sync->pending[j].rowid;
    free(sync->pending);
    sync->pending = NULL;
    sync->n_pending = 0;
  }
  sync->total_changes = tc;
  sync->settled = 1;
  *what = kept ? SQL_SYNC_APPENDED : SQL_SYNC_SAME;
  return SQLITE_OK;
}
