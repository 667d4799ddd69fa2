/*
** sql_tvf.c -- what the table-valued functions share: rbm_recommend,
** rbm_similar and rbm_sample are eponymous virtual tables whose vtab holds
** its connection alone.
*/
#include "sql_glue.h"

#include <stdlib.h>
#include <string.h>

int sql_tvf_connect(sqlite3 *db, const char *schema, int directonly,
                    sqlite3_vtab **out) {
  int rc = sqlite3_declare_vtab(db, schema);
  if (rc != SQLITE_OK) return rc;
  if (directonly) sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  sql_tvf *v = sqlite3_malloc(sizeof *v);
  if (!v) return SQLITE_NOMEM;
  memset(v, 0, sizeof *v);
  v->db = db;
  *out = &v->base;
  return SQLITE_OK;
}

int sql_tvf_disconnect(sqlite3_vtab *vtab) {
  sqlite3_free(vtab);
  return SQLITE_OK;
}

int sql_tvf_open(sqlite3_vtab *vtab, size_t size, sqlite3_vtab_cursor **out) {
  sql_tvf_cursor *c = calloc(1, size);
  if (!c) return SQLITE_NOMEM;
  c->db = ((sql_tvf *)vtab)->db;
  *out = &c->base;
  return SQLITE_OK;
}

int sql_tvf_fail(sql_tvf_cursor *c, const char *fname, int rc, char *err) {
  sqlite3_vtab *vtab = c->base.pVtab;
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = sqlite3_mprintf("%s: %s", fname, err ? err : sqlite3_errstr(rc));
  sqlite3_free(err);
  return rc;
}

#define TVF_MAX_ARGS 8

int sql_tvf_best_index(sqlite3_index_info *info, int first_arg, int n_args,
                       double rows) {
  int where[TVF_MAX_ARGS], unusable = 0;
  for (int b = 0; b < n_args; b++) where[b] = -1;
  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *p = &info->aConstraint[i];
    int b = p->iColumn - first_arg;
    if (b < 0 || b >= n_args || p->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!p->usable) {
      unusable |= 1 << b;
      continue;
    }
    where[b] = i;
  }
  /* A required argument that exists but cannot be used in this join order:
  ** ask SQLite for another order. */
  for (int b = 0; b < 2; b++)
    if (where[b] < 0 && (unusable & (1 << b))) return SQLITE_CONSTRAINT;
  int idx = 0, argv = 0;
  for (int b = 0; b < n_args; b++) {
    if (where[b] < 0) continue;
    idx |= 1 << b;
    info->aConstraintUsage[where[b]].argvIndex = ++argv;
    info->aConstraintUsage[where[b]].omit = 1;
  }
  info->idxNum = idx;
  info->estimatedCost = (idx & 3) == 3 ? 1000 : 1e12;
  info->estimatedRows = (sqlite3_int64)((idx & 3) == 3 ? rows : 1000000);
  return SQLITE_OK;
}

/* Moves past answers with no rows left. */
static void rows_skip_empty(sql_tvf_rows *w) {
  while (w->list < w->lists && w->at >= w->n[w->list]) {
    w->list++;
    w->at = 0;
  }
}

void sql_tvf_rows_start(sql_tvf_rows *w, size_t lists, const size_t *n) {
  w->lists = lists;
  w->n = n;
  w->list = w->at = w->row = 0;
  rows_skip_empty(w);
}

void sql_tvf_rows_next(sql_tvf_rows *w) {
  w->at++;
  w->row++;
  rows_skip_empty(w);
}

int sql_tvf_rows_eof(const sql_tvf_rows *w) { return w->list >= w->lists; }

int sql_tvf_args(sqlite3 *db, sqlite3_value *model, sqlite3_value *ids,
                 sqlite3_value *kv, sqlite3_int64 default_k, const char *what,
                 sqlite3_value **model_arg, sqlite3_value **ids_arg,
                 sqlite3_int64 *k, rbm_keys *keys, int *many, char **err) {
  *k = default_k;
  if (kv) {
    if (sqlite3_value_numeric_type(kv) != SQLITE_INTEGER || sqlite3_value_int64(kv) < 0) {
      *err = sql_errorf("k must be a non-negative integer");
      return SQLITE_MISMATCH;
    }
    *k = sqlite3_value_int64(kv);
  }
  sqlite3_value_free(*model_arg);
  sqlite3_value_free(*ids_arg);
  *model_arg = sqlite3_value_dup(model);
  *ids_arg = sqlite3_value_dup(ids);
  if ((model && !*model_arg) || (ids && !*ids_arg)) return SQLITE_NOMEM;
  if (sqlite3_value_type(model) != SQLITE_TEXT) {
    *err = sql_errorf("model name must be text");
    return SQLITE_MISMATCH;
  }
  return sql_collect_keys(db, ids, what, keys, many, err);
}
