/*
** sql_source.c -- the ratings table as the engine sees it.
**
** The source is read with one prepared statement, every identifier quoted
** with %w, never pasted.  Ids become rbm_key values; ratings must be
** numbers (text that SQLite can read losslessly as a number counts, so a
** table filled by the shell's .import works as it is).
*/
#include "sql_glue.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void sql_source_free(sql_source *src) {
  sqlite3_free(src->schema);
  sqlite3_free(src->table);
  sqlite3_free(src->user);
  sqlite3_free(src->item);
  sqlite3_free(src->rating);
  memset(src, 0, sizeof *src);
}

int sql_source_copy(sql_source *dst, const sql_source *src) {
  memset(dst, 0, sizeof *dst);
  if (src->schema) dst->schema = sqlite3_mprintf("%s", src->schema);
  dst->table = sqlite3_mprintf("%s", src->table);
  dst->user = sqlite3_mprintf("%s", src->user);
  dst->item = sqlite3_mprintf("%s", src->item);
  dst->rating = sqlite3_mprintf("%s", src->rating);
  dst->by_item = src->by_item;
  if ((src->schema && !dst->schema) || !dst->table || !dst->user ||
      !dst->item || !dst->rating) {
    sql_source_free(dst);
    return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

int sql_source_set_table(sqlite3 *db, sql_source *src, const char *text) {
  const char *dot = strchr(text, '.');
  int attached = 0;
  if (dot) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM pragma_database_list"
                           " WHERE name = ?1 COLLATE NOCASE",
                           -1, &st, NULL) == SQLITE_OK) {
      sqlite3_bind_text(st, 1, text, (int)(dot - text), SQLITE_STATIC);
      attached = sqlite3_step(st) == SQLITE_ROW;
      sqlite3_finalize(st);
    }
  }
  sqlite3_free(src->schema);
  sqlite3_free(src->table);
  src->schema = attached ? sqlite3_mprintf("%.*s", (int)(dot - text), text) : NULL;
  src->table = sqlite3_mprintf("%s", attached ? dot + 1 : text);
  return src->table && (!attached || src->schema) ? SQLITE_OK : SQLITE_NOMEM;
}

int sql_source_drop_rating(sql_source *src, const rbm_config *cfg) {
  if (cfg->visible != RBM_VISIBLE_IMPLICIT || (src->rating && !*src->rating))
    return SQLITE_OK;
  sqlite3_free(src->rating);
  src->rating = sqlite3_mprintf("%s", "");
  return src->rating ? SQLITE_OK : SQLITE_NOMEM;
}

char *sql_source_rating_sql(const sql_source *src) {
  if (!*src->rating) return sqlite3_mprintf("1");
  return sqlite3_mprintf("\"%w\".\"%w\"", src->table, src->rating);
}

char *sql_source_from_clause(const sql_source *src) {
  if (src->schema) return sqlite3_mprintf("\"%w\".\"%w\"", src->schema, src->table);
  return sqlite3_mprintf("\"%w\"", src->table);
}

/* "123", "-7": the canonical spelling of an int64, and nothing else. */
static int canonical_integer(const char *s, int n, sqlite3_int64 *out) {
  int i = 0, neg = 0;
  if (n > 0 && s[0] == '-') neg = i = 1;
  if (i == n || n - i > 19) return 0;
  if (s[i] == '0' && n - i > 1) return 0;
  if (neg && s[i] == '0') return 0;
  sqlite3_uint64 v = 0;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (sqlite3_uint64)(s[i] - '0');
  }
  if (v > (sqlite3_uint64)INT64_MAX + (sqlite3_uint64)neg) return 0;
  *out = neg ? (sqlite3_int64)(0 - v) : (sqlite3_int64)v;
  return 1;
}

int sql_key_from_value(sqlite3_value *v, rbm_key *key, char *buf, size_t nbuf) {
  memset(key, 0, sizeof *key);
  switch (sqlite3_value_type(v)) {
    case SQLITE_NULL:
      return 0;
    case SQLITE_INTEGER:
      key->i = sqlite3_value_int64(v);
      return 1;
    case SQLITE_FLOAT: {
      double d = sqlite3_value_double(v);
      if (d == floor(d) && fabs(d) < 9.2e18) {
        key->i = (sqlite3_int64)d;
        return 1;
      }
      snprintf(buf, nbuf, "%.17g", d);
      key->text = buf;
      key->len = (uint32_t)strlen(buf);
      return 1;
    }
    case SQLITE_BLOB:
      key->text = sqlite3_value_blob(v);
      key->len = (uint32_t)sqlite3_value_bytes(v);
      if (!key->text) key->text = "";
      return 1;
    default: {
      const char *s = (const char *)sqlite3_value_text(v);
      int n = sqlite3_value_bytes(v);
      sqlite3_int64 i;
      if (canonical_integer(s, n, &i)) {
        key->i = i;
      } else {
        key->text = s ? s : "";
        key->len = (uint32_t)n;
      }
      return 1;
    }
  }
}

int sql_bind_key(sqlite3_stmt *stmt, int i, const rbm_key *key) {
  if (key->text) return sqlite3_bind_text(stmt, i, key->text, (int)key->len,
                                          SQLITE_TRANSIENT);
  return sqlite3_bind_int64(stmt, i, key->i);
}

void sql_result_key(sqlite3_context *ctx, const rbm_key *key) {
  if (key->text) {
    sqlite3_result_text(ctx, key->text, (int)key->len, SQLITE_TRANSIENT);
  } else {
    sqlite3_result_int64(ctx, key->i);
  }
}

/* A short printable form of an id for error messages. */
static char *describe_value(sqlite3_value *v) {
  if (sqlite3_value_type(v) == SQLITE_NULL) return sqlite3_mprintf("NULL");
  return sqlite3_mprintf("'%.40s'", (const char *)sqlite3_value_text(v));
}

int sql_read_source(sqlite3 *db, const sql_source *src,
                    const rbm_model *fold_for, int threads,
                    const char *order_by, rbm_ratings *r, char **err) {
  char *from = sql_source_from_clause(src), *rating = sql_source_rating_sql(src);
  char *order = order_by ? sqlite3_mprintf(" ORDER BY \"%w\".\"%w\"", src->table,
                                           order_by)
                         : sqlite3_mprintf("");
  /* Qualified column names (table AS table): an unqualified "name" that is
  ** no column would be taken for a string literal (SQLite's double-quoted
  ** strings), where "table"."name" is "no such column: table.name". */
  char *sql = from && rating && order
                  ? sqlite3_mprintf("SELECT \"%w\".\"%w\", \"%w\".\"%w\", %s"
                                    " FROM %s AS \"%w\"%s",
                                    src->table, src->user, src->table, src->item,
                                    rating, from, src->table, order)
                  : NULL;
  sqlite3_free(order);
  sqlite3_free(rating);
  sqlite3_stmt *st = NULL;
  int rc = sql ? sqlite3_prepare_v2(db, sql, -1, &st, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  sqlite3_free(from);
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("source %s: %s", src->table,
                           rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
    return rc;
  }
  /* With a second thread, interning the ids overlaps reading the rows:
  ** SQLite's stepping stays on this thread, which holds the connection. */
  rbm_feed *feed = rbm_feed_open(r, threads > 1);
  if (!feed) {
    sqlite3_finalize(st);
    *err = sqlite3_mprintf("out of memory");
    return SQLITE_NOMEM;
  }
  char ubuf[32], ibuf[32];
  int erc = RBM_OK;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    sqlite3_value *uv = sqlite3_column_value(st, 0);
    sqlite3_value *iv = sqlite3_column_value(st, 1);
    sqlite3_value *rv = sqlite3_column_value(st, 2);
    rbm_key user, item;
    int have_ids = sql_key_from_value(uv, &user, ubuf, sizeof ubuf) &&
                   sql_key_from_value(iv, &item, ibuf, sizeof ibuf);
    int type = sqlite3_value_numeric_type(rv);
    double value = sqlite3_value_double(rv);
    int numeric = (type == SQLITE_INTEGER || type == SQLITE_FLOAT) &&
                  isfinite(value);
    if (fold_for) {
      if (!have_ids || !numeric) continue;
      value = rbm_unit_of_value(fold_for, value);
    }
    if (!have_ids) {
      char *u = describe_value(src->by_item ? iv : uv);
      char *i = describe_value(src->by_item ? uv : iv);
      *err = sqlite3_mprintf("source %s has a NULL %s (user %s, item %s)",
                             src->table,
                             sqlite3_value_type(uv) == SQLITE_NULL ? src->user
                                                                   : src->item,
                             u, i);
      sqlite3_free(u);
      sqlite3_free(i);
      rc = SQLITE_ERROR;
      break;
    }
    if (!numeric) {
      char *u = describe_value(src->by_item ? iv : uv);
      char *i = describe_value(src->by_item ? uv : iv);
      char *got = describe_value(rv);
      *err = sqlite3_mprintf(
          "source %s: %s must be a number; user %s, item %s has %s",
          src->table, src->rating, u, i, got);
      sqlite3_free(u);
      sqlite3_free(i);
      sqlite3_free(got);
      rc = SQLITE_ERROR;
      break;
    }
    erc = rbm_feed_add(feed, &user, &item, value);
    if (erc != RBM_OK) break;
  }
  int close_rc = rbm_feed_close(feed);
  if (erc == RBM_OK && rc == SQLITE_DONE) erc = close_rc;  /* read to the end */
  if (erc == RBM_ERROR) {
    *err = sqlite3_mprintf(
        "source %s: %s has more than %d distinct values; is it a rating?",
        src->table, src->rating, RBM_MAX_VALUES);
    rc = SQLITE_ERROR;
  } else if (erc != RBM_OK) {
    rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc != SQLITE_OK && !*err)
    *err = sqlite3_mprintf("source %s: %s", src->table,
                           rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
  sqlite3_finalize(st);
  if (rc == SQLITE_OK && r->n == 0 && !fold_for) {
    *err = sqlite3_mprintf("source %s has no ratings", src->table);
    rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK && rbm_ratings_finish(r) != RBM_OK) {
    *err = sqlite3_mprintf("out of memory");
    rc = SQLITE_NOMEM;
  }
  return rc;
}
