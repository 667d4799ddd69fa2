/*
** sql_extension.c -- the entry point of the loadable extension.
**
**   sqlite> .load dist/rbm
**   sqlite> SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating');
**   sqlite> SELECT rbm_predict('m', 42, 7);
**
** See README.md for every function and option.
**
** Built twice: into rbm.so, where SQLite hands sqlite3_rbm_init its API
** routines at load time, and with -DSQLITE_CORE into librbm_sqlite.a, for
** an application to link and register with sqlite3_auto_extension
** (include/rbm_sqlite.h); there SQLITE_EXTENSION_INIT1/2 are nothing and
** every sqlite3_* call is a direct one.
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1

#include "rbm_sqlite.h"
#include "sql_glue.h"

#include <pthread.h>

static pthread_once_t blas_parked = PTHREAD_ONCE_INIT;

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_rbm_init(sqlite3 *db, char **pzErrMsg,
                     const sqlite3_api_routines *pApi) {
  SQLITE_EXTENSION_INIT2(pApi);
  /* Once per process, when the library has just come in with OpenBLAS and
  ** nothing of ours has called BLAS yet: its threads, spinning since they
  ** started, would otherwise take cores from a training run right away.
  ** Serving starts them again (sql_serve.c sets their number). */
  pthread_once(&blas_parked, rbm_blas_park_threads);
  int rc = sql_register_functions(db);
  if (rc == SQLITE_OK) rc = sql_register_recommend(db);
  if (rc == SQLITE_OK) rc = sql_register_embed(db);
  if (rc == SQLITE_OK) rc = sql_register_similar(db);
  if (rc == SQLITE_OK) rc = sql_register_vtab(db);
  if (rc == SQLITE_OK) rc = sql_register_vectors(db);
  if (rc == SQLITE_OK) rc = sql_register_fit(db);
  if (rc == SQLITE_OK) rc = sql_register_features(db);
  if (rc == SQLITE_OK) rc = sql_register_sample(db);
  if (rc == SQLITE_OK) rc = sql_register_plot(db);
  if (rc != SQLITE_OK && pzErrMsg)
    *pzErrMsg = sqlite3_mprintf("rbm: cannot register: %s", sqlite3_errmsg(db));
  return rc;
}
