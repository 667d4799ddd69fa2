/*
** c_example.c -- rbm from C through SQLite: open a database, load the
** extension, train on a small ratings table, then predict and recommend
** with prepared statements.
**
** The extension is argv[1], or "rbm": SQLite then looks for rbm.so where
** the dynamic loader looks for libraries (LD_LIBRARY_PATH, /usr/lib).
**
**   From the repository's top folder:
**     make dist/c_example && ./dist/c_example dist/rbm
**   After make install (PREFIX=/usr/local):
**     cc -O2 -o c_example examples/c_example.c $(pkg-config --cflags --libs rbm)
**     LD_LIBRARY_PATH=/usr/local/lib ./c_example
*/
#include <sqlite3.h>
#include <stdio.h>

static int fail(sqlite3 *db, const char *what) {
  fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
  sqlite3_close(db);
  return 1;
}

int main(int argc, char **argv) {
  const char *extension = argc > 1 ? argv[1] : "rbm";
  sqlite3 *db;
  sqlite3_stmt *st;
  char *err = NULL;

  if (sqlite3_open(":memory:", &db) != SQLITE_OK) return fail(db, "open");

  /* Enable sqlite3_load_extension() only (not the SQL load_extension()). */
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, NULL);
  if (sqlite3_load_extension(db, extension, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "load %s: %s\n", extension, err);
    sqlite3_free(err);
    sqlite3_close(db);
    return 1;
  }

  /* Users 1-20 like items 1-5 and dislike 6-10; users 21-40 the reverse. */
  if (sqlite3_exec(db,
                   "CREATE TABLE ratings(user_id INTEGER, item_id INTEGER,"
                   " rating INTEGER)",
                   NULL, NULL, NULL) != SQLITE_OK)
    return fail(db, "create");
  sqlite3_prepare_v2(db, "INSERT INTO ratings VALUES (?1, ?2, ?3)", -1, &st,
                     NULL);
  sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
  for (int user = 1; user <= 40; user++) {
    for (int j = 0; j < 6; j++) {
      int item = 1 + (user + 3 * j) % 10;
      int liked = (item <= 5) == (user <= 20);
      sqlite3_bind_int(st, 1, user);
      sqlite3_bind_int(st, 2, item);
      sqlite3_bind_int(st, 3, liked ? 4 + j % 2 : 1 + j % 2);
      if (sqlite3_step(st) != SQLITE_DONE) return fail(db, "insert");
      sqlite3_reset(st);
    }
  }
  sqlite3_finalize(st);
  sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);

  /* Train: the summary is a JSON text. */
  if (sqlite3_prepare_v2(db,
                         "SELECT rbm_train('tastes', 'ratings', 'user_id',"
                         " 'item_id', 'rating', '{\"hidden\": 10,"
                         " \"epochs\": 200}')",
                         -1, &st, NULL) != SQLITE_OK)
    return fail(db, "prepare rbm_train");
  if (sqlite3_step(st) != SQLITE_ROW) {
    sqlite3_finalize(st);
    return fail(db, "rbm_train");
  }
  printf("%s\n", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);

  /* Predict: one statement, rebound per (user, item). */
  sqlite3_prepare_v2(db,
                     "SELECT rbm_predict('tastes', ?1, ?2),"
                     " rbm_predict('tastes', ?1, ?2, 'like')",
                     -1, &st, NULL);
  static const int pairs[][2] = {{1, 3}, {1, 9}, {21, 3}, {21, 9}};
  for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
    sqlite3_bind_int(st, 1, pairs[p][0]);
    sqlite3_bind_int(st, 2, pairs[p][1]);
    if (sqlite3_step(st) != SQLITE_ROW) {
      sqlite3_finalize(st);
      return fail(db, "rbm_predict");
    }
    printf("user %2d, item %d: rating %.2f, P(like) %.2f\n", pairs[p][0],
           pairs[p][1], sqlite3_column_double(st, 0),
           sqlite3_column_double(st, 1));
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);

  /* Recommend: the top 3 unrated items of user 21. */
  sqlite3_prepare_v2(db,
                     "SELECT item, p_like, rating FROM rbm_recommend('tastes',"
                     " ?1, ?2)",
                     -1, &st, NULL);
  sqlite3_bind_int(st, 1, 21);
  sqlite3_bind_int(st, 2, 3);
  printf("top 3 for user 21:\n");
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    printf("  item %lld: P(like) %.2f, rating %.2f\n",
           (long long)sqlite3_column_int64(st, 0),
           sqlite3_column_double(st, 1), sqlite3_column_double(st, 2));
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return fail(db, "rbm_recommend");

  sqlite3_close(db);
  return 0;
}
