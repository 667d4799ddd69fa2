/*
** rbm_sqlite.h -- rbm's SQL functions and virtual table, linked into an
** application instead of loaded: for SQLites where loading extensions is
** off or compiled out (SQLITE_OMIT_LOAD_EXTENSION, phones' system SQLite
** policies, a host that never enables it).
**
** Link librbm_sqlite.a (`pkg-config --cflags --libs rbm_sqlite`, or
** dist/librbm_sqlite.a from `make`) and register rbm once, before opening
** connections; every connection opened afterwards has it:
**
**   #include <sqlite3.h>
**   #include "rbm_sqlite.h"
**
**   sqlite3_auto_extension((void (*)(void))sqlite3_rbm_init);
**   sqlite3_open("ratings.db", &db);      // rbm_train, rbm_predict, ... work
**
** or for one connection already open: sqlite3_rbm_init(db, &errmsg, NULL)
** (SQLITE_OK, or an error and a message to free with sqlite3_free).
**
** librbm_sqlite.a is built with -DSQLITE_CORE: it calls the SQLite that the
** application links, directly, and does not work as a loadable extension
** (that is rbm.so).  Its only global symbol is sqlite3_rbm_init.
*/
#ifndef RBM_SQLITE_H
#define RBM_SQLITE_H

#include <sqlite3.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Registers every rbm function and the rbm virtual table module on db.
** pApi is ignored by librbm_sqlite.a; rbm.so's copy of this function is
** the loadable extension's entry point, which SQLite calls with it. */
int sqlite3_rbm_init(sqlite3 *db, char **pzErrMsg,
                     const sqlite3_api_routines *pApi);

#ifdef __cplusplus
}
#endif

#endif /* RBM_SQLITE_H */
