/*
** serve.c -- one request, one statement: the latency an application sees.
**
**   serve DB MODEL TABLE USER_COL ITEM_COL RATING_COL [options]
**     --mode predict|recommend|insert   (default predict)
**     --n N            requests timed (default 1000), after --warm ones
**     --warm N         requests run first and not timed (default 20)
**     --seed S         which users and items are asked for (default 1)
**     --ext PATH       the extension (default dist/rbm)
**     --debug 1        prints rbm_debug(MODEL) to stderr at the end
**     --insert-into T  where insert mode inserts (default TABLE; for a
**                      TABLE that is a view over T)
**
** Prints one line:  "p50_ms P p99_ms P first_ms F n N"
**   first_ms is the first request of the connection (model decoded,
**   caches built); p50 and p99 are over the N timed requests after it and
**   the warm-up, which includes one rbm_recommend (a serving connection
**   has item states to keep up to date).
**
** Each request is what an application does per call, on a prepared
** statement it keeps (as Python's sqlite3 and better-sqlite3 do):
**   predict    SELECT rbm_predict(MODEL, ?user, ?item)
**   recommend  SELECT item, p_like FROM rbm_recommend(MODEL, ?user, 10),
**              every row stepped
**   insert     INSERT INTO TABLE(USER, ITEM, RATING) VALUES (?user, ?item, ?r)
**              (autocommit), then the predict statement for that user and
**              another item; the rows inserted are deleted at the end.
** Users and items are drawn uniformly from the distinct ones in TABLE.
** The database runs with synchronous=OFF (WAL is left as the file has it),
** so a commit's fsync is not what is measured.
*/
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static uint64_t rng_state;
static uint64_t next_rand(void) {  /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static void die(sqlite3 *db, const char *what) {
  fprintf(stderr, "serve: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
  exit(1);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) die(db, sql);
  return st;
}

/* The distinct values of one column, as int64 ids. */
static sqlite3_int64 *distinct(sqlite3 *db, const char *table, const char *col,
                               size_t *n) {
  char *sql = sqlite3_mprintf("SELECT DISTINCT \"%w\" FROM \"%w\"", col, table);
  sqlite3_stmt *st = prepare(db, sql);
  sqlite3_free(sql);
  size_t cap = 1024;
  sqlite3_int64 *v = malloc(cap * sizeof *v);
  *n = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    if (*n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
    if (!v) die(NULL, "out of memory");
    v[(*n)++] = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  if (*n == 0) die(NULL, "no ids");
  return v;
}

static void run(sqlite3 *db, sqlite3_stmt *st) {
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) die(db, "step");
  sqlite3_reset(st);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: serve DB MODEL TABLE USER_COL ITEM_COL RATING_COL"
                    " [--mode predict|recommend|insert] [--n N] [--warm N]"
                    " [--seed S] [--ext PATH]\n");
    return 2;
  }
  const char *path = argv[1], *model = argv[2], *table = argv[3];
  const char *ucol = argv[4], *icol = argv[5], *rcol = argv[6];
  const char *mode = "predict", *ext = "dist/rbm", *into = NULL;
  int n = 1000, warm = 20, debug = 0;
  rng_state = 1;
  for (int i = 7; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--mode")) mode = argv[i + 1];
    else if (!strcmp(argv[i], "--n")) n = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--warm")) warm = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--seed")) rng_state = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--ext")) ext = argv[i + 1];
    else if (!strcmp(argv[i], "--debug")) debug = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--insert-into")) into = argv[i + 1];
    else {
      fprintf(stderr, "serve: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  int recommend = !strcmp(mode, "recommend"), insert = !strcmp(mode, "insert");
  if (!into) into = table;
  if (!recommend && !insert && strcmp(mode, "predict")) {
    fprintf(stderr, "serve: --mode must be predict, recommend or insert\n");
    return 2;
  }
  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK) die(db, "open");
  sqlite3_enable_load_extension(db, 1);
  char *err = NULL;
  if (sqlite3_load_extension(db, ext, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "serve: load %s: %s\n", ext, err);
    return 1;
  }
  sqlite3_exec(db, "PRAGMA synchronous=OFF", NULL, NULL, NULL);

  size_t nu, ni;
  sqlite3_int64 *users = distinct(db, table, ucol, &nu);
  sqlite3_int64 *items = distinct(db, table, icol, &ni);
  sqlite3_int64 watermark = 0;
  if (insert) {
    char *sql = sqlite3_mprintf("SELECT max(rowid) FROM \"%w\"", into);
    sqlite3_stmt *st = prepare(db, sql);
    sqlite3_free(sql);
    if (sqlite3_step(st) == SQLITE_ROW) watermark = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  char *sql = recommend
      ? sqlite3_mprintf("SELECT item, p_like FROM rbm_recommend(%Q, ?1, 10)", model)
      : sqlite3_mprintf("SELECT rbm_predict(%Q, ?1, ?2)", model);
  sqlite3_stmt *ask = prepare(db, sql);
  sqlite3_free(sql);
  sqlite3_stmt *add = NULL;
  if (insert) {
    sql = sqlite3_mprintf("INSERT INTO \"%w\"(\"%w\", \"%w\", \"%w\")"
                          " VALUES (?1, ?2, ?3)", into, ucol, icol, rcol);
    add = prepare(db, sql);
    sqlite3_free(sql);
  }

  /* Warm as a serving connection is: it has recommended before, so an
  ** item-based model's item states are there to be kept up to date. */
  sql = sqlite3_mprintf("SELECT count(*) FROM rbm_recommend(%Q, ?1, 10)", model);
  sqlite3_stmt *warm_rec = prepare(db, sql);
  sqlite3_free(sql);

  double *ms = malloc((size_t)(n > 0 ? n : 1) * sizeof *ms), first = 0;
  for (int r = -warm - 1; r < n; r++) {
    if (r == -warm) {
      sqlite3_bind_int64(warm_rec, 1, users[0]);
      run(db, warm_rec);
    }
    sqlite3_int64 u = users[next_rand() % nu], i = items[next_rand() % ni];
    sqlite3_int64 j = items[next_rand() % ni];
    double t0 = now_ms();
    if (insert) {
      sqlite3_bind_int64(add, 1, u);
      sqlite3_bind_int64(add, 2, j);
      sqlite3_bind_int64(add, 3, 1 + (sqlite3_int64)(next_rand() % 5));
      run(db, add);
    }
    sqlite3_bind_int64(ask, 1, u);
    if (!recommend) sqlite3_bind_int64(ask, 2, i);
    run(db, ask);
    double t = now_ms() - t0;
    if (r == -warm - 1) first = t;
    if (r >= 0) ms[r] = t;
  }
  qsort(ms, (size_t)n, sizeof *ms, cmp_double);
  printf("p50_ms %.3f p99_ms %.3f first_ms %.1f n %d\n", ms[n / 2],
         ms[(size_t)(n * 0.99) < (size_t)n ? (size_t)(n * 0.99) : (size_t)n - 1],
         first, n);
  sqlite3_finalize(ask);
  sqlite3_finalize(add);
  sqlite3_finalize(warm_rec);
  if (debug) {
    sql = sqlite3_mprintf("SELECT rbm_debug(%Q)", model);
    sqlite3_stmt *st = prepare(db, sql);
    sqlite3_free(sql);
    if (sqlite3_step(st) == SQLITE_ROW) fprintf(stderr, "%s\n", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
  }
  if (insert) {
    sql = sqlite3_mprintf("DELETE FROM \"%w\" WHERE rowid > %lld", into, watermark);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) die(db, "delete");
    sqlite3_free(sql);
  }
  free(ms);
  free(users);
  free(items);
  return sqlite3_close(db) == SQLITE_OK ? 0 : 1;
}
