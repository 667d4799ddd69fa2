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
