/*
** static_example.c -- rbm linked into the program, for where SQLite cannot
** load extensions (built with SQLITE_OMIT_LOAD_EXTENSION, as on phones, or
** with loading kept off).  Nothing is loaded: rbm comes from
** librbm_sqlite.a and is registered with sqlite3_auto_extension, and
** extension loading stays off to show it is not needed.
**
**   From the repository's top folder:
**     make dist/static_example && ./dist/static_example
**   After make install:
**     cc -O2 -o static_example examples/static_example.c \
**        $(pkg-config --cflags --libs rbm_sqlite)
*/
#include <sqlite3.h>
#include <stdio.h>

#include "rbm_sqlite.h"

static int fail(sqlite3 *db, const char *what) {
  fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
  sqlite3_close(db);
  return 1;
}

/* Prints the first column of each row of sql, or fails. */
static int print_rows(sqlite3 *db, const char *label, const char *sql) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return 1;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    printf("%s: %s\n", label, (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return rc != SQLITE_DONE;
}

int main(void) {
  sqlite3 *db;

  /* Once, before opening: every connection opened afterwards gets rbm. */
  if (sqlite3_auto_extension((void (*)(void))sqlite3_rbm_init) != SQLITE_OK) {
    fprintf(stderr, "sqlite3_auto_extension failed\n");
    return 1;
  }
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) return fail(db, "open");

  /* Loading extensions off, for the C API and SQL alike. */
  int loading = -1;
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, &loading);
  printf("extension loading: %s\n", loading ? "on" : "off");
  char *err = NULL;
  if (sqlite3_exec(db, "SELECT load_extension('rbm')", NULL, NULL, &err) ==
      SQLITE_OK) {
    fprintf(stderr, "load_extension worked, but loading is off\n");
    sqlite3_close(db);
    return 1;
  }
  printf("load_extension('rbm'): %s\n", err);
  sqlite3_free(err);

  if (print_rows(db, "rbm_version()", "SELECT rbm_version()"))
    return fail(db, "rbm_version");

  /* Users 1-10 like items 1-3 and dislike 4-6; users 11-20 the reverse.
  ** Each user rates four of the six items. */
  if (sqlite3_exec(db,
                   "CREATE TABLE ratings(user_id INTEGER, item_id INTEGER,"
                   " rating INTEGER);"
                   "CREATE TABLE n(v INTEGER PRIMARY KEY);"
                   "WITH RECURSIVE c(v) AS (SELECT 1 UNION ALL"
                   " SELECT v + 1 FROM c WHERE v < 20)"
                   " INSERT INTO n SELECT v FROM c;"
                   "INSERT INTO ratings"
                   " SELECT u.v, i.v,"
                   "  CASE WHEN (i.v <= 3) = (u.v <= 10) THEN 5 ELSE 1 END"
                   " FROM n u, n i WHERE i.v <= 6 AND (u.v + i.v) % 3 != 0;",
                   NULL, NULL, NULL) != SQLITE_OK)
    return fail(db, "ratings");

  if (print_rows(db, "trained",
                 "SELECT json_extract(s, '$.users') || ' users, ' ||"
                 " json_extract(s, '$.items') || ' items, ' ||"
                 " json_extract(s, '$.ratings') || ' ratings'"
                 " FROM (SELECT rbm_train('tastes', 'ratings', 'user_id',"
                 " 'item_id', 'rating', '{\"hidden\": 8, \"epochs\": 200,"
                 " \"orientation\": \"user\"}') AS s)"))
    return fail(db, "rbm_train");

  /* Each user's two unrated items: one they should like, one not. */
  if (print_rows(db, "predict",
                 "SELECT printf('user %d, item %d: P(like) %.2f', u.v, i.v,"
                 " rbm_predict('tastes', u.v, i.v, 'like'))"
                 " FROM n u, n i WHERE u.v IN (1, 11) AND i.v <= 6"
                 " AND (u.v + i.v) % 3 = 0 ORDER BY u.v, i.v"))
    return fail(db, "rbm_predict");
  if (print_rows(db, "recommend",
                 "SELECT printf('user 11: item %d, P(like) %.2f', item, p_like)"
                 " FROM rbm_recommend('tastes', 11, 2)"))
    return fail(db, "rbm_recommend");

  sqlite3_close(db);
  return 0;
}
