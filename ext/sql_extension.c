/*
** sql_extension.c -- the entry point of the loadable extension.
**
**   sqlite> .load dist/rbm
**   sqlite> SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating');
**   sqlite> SELECT rbm_predict('m', 42, 7);
**
** See README.md for every function and option.
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1

#include "sql_glue.h"

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_rbm_init(sqlite3 *db, char **pzErrMsg,
                     const sqlite3_api_routines *pApi) {
  SQLITE_EXTENSION_INIT2(pApi);
  int rc = rbm_register_functions(db);
  if (rc == SQLITE_OK) rc = rbm_register_recommend(db);
  if (rc == SQLITE_OK) rc = rbm_register_vtab(db);
  if (rc != SQLITE_OK && pzErrMsg)
    *pzErrMsg = sqlite3_mprintf("rbm: cannot register: %s", sqlite3_errmsg(db));
  return rc;
}
