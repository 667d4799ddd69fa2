/*
** sql_tvf.c -- what the table-valued functions share: rbm_recommend,
** rbm_similar and rbm_sample are eponymous virtual tables whose vtab holds
** its connection alone.
*/
#include "sql_glue.h"

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
