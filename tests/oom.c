/*
** oom.c -- allocation-failure injection (issue 13, item 3).
**
**   make oom          build dist/oom (ASan + LeakSanitizer) and run it
**   dist/oom DIR      the sweep, with its scratch databases in DIR
**   dist/oom DIR N S  only up to the Nth allocation, of the operations
**                     whose names contain S
**
** The engine and the glue are compiled with tests/oom_shim.h forced in, so
** their malloc, calloc, realloc, aligned_alloc and posix_memalign come
** here; SQLite's allocations come here too (SQLITE_CONFIG_MALLOC).  For
** each operation - train, retrain, 'both', predict, recommend, evaluate,
** rbm_embedding and rbm_similar, the virtual table's create, retrain and
** drop, rbm_fit and rbm_transform - the Nth allocation fails, for N = 1,
** 2, ... until the operation runs without reaching its Nth.  After each
** failure the operation must have ended in an error or in success (no
** crash: the sanitizers watch), the database must pass integrity_check,
** and the model stored before must be the same (uid and blob length) and
** predict exactly as before, on a new connection.  LeakSanitizer checks at
** exit that nothing leaked.
*/
#include <sqlite3.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sqlite3_rbm_init(sqlite3 *db, char **err, const sqlite3_api_routines *api);

/* ---- the counter ---------------------------------------------------------- */

static atomic_long countdown;  /* fail when it reaches 0; < 0: never */
static atomic_int failed;      /* an allocation was made to fail */

static int should_fail(void) {
  if (atomic_load(&countdown) < 0) return 0;
  if (atomic_fetch_sub(&countdown, 1) == 1) {
    atomic_store(&failed, 1);
    return 1;
  }
  return 0;
}

void *oom_malloc(size_t n) { return should_fail() ? NULL : malloc(n); }
void *oom_calloc(size_t n, size_t size) { return should_fail() ? NULL : calloc(n, size); }
void *oom_realloc(void *p, size_t n) { return should_fail() ? NULL : realloc(p, n); }
void *oom_aligned_alloc(size_t align, size_t n) {
  return should_fail() ? NULL : aligned_alloc(align, n);
}
int oom_posix_memalign(void **p, size_t align, size_t n) {
  if (should_fail()) return 12;  /* ENOMEM */
  return posix_memalign(p, align, n);
}

static sqlite3_mem_methods sqlite_default;
static void *sq_malloc(int n) { return should_fail() ? NULL : sqlite_default.xMalloc(n); }
static void *sq_realloc(void *p, int n) {
  return should_fail() ? NULL : sqlite_default.xRealloc(p, n);
}

static void arm(long n) {
  atomic_store(&failed, 0);
  atomic_store(&countdown, n);
}
static void disarm(void) { atomic_store(&countdown, -1); }

/* ---- helpers -------------------------------------------------------------- */

static int checks, failures;

static void check(int ok, const char *what, const char *op, long n) {
  checks++;
  if (!ok) {
    failures++;
    printf("not ok - %s: %s (allocation %ld failed)\n", op, what, n);
  }
}

static sqlite3 *open_db(const char *path) {
  sqlite3 *db = NULL;
  if (sqlite3_open(path, &db) != SQLITE_OK) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(1);
  }
  sqlite3_busy_timeout(db, 5000);
  return db;
}

/* The first column of the first row of sql, as text into buf ("" if none);
** the statement's result code. */
static char last_error[300];

static int one(sqlite3 *db, const char *sql, char *buf, size_t n) {
  sqlite3_stmt *st = NULL;
  buf[0] = 0;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc == SQLITE_OK) {
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
      if (!buf[0] && sqlite3_column_text(st, 0))
        snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 0));
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  if (rc != SQLITE_OK) snprintf(last_error, sizeof last_error, "%s", sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return rc;
}

/* The distinct error messages of one operation's sweep, with counts. */
#define MAX_MESSAGES 12
static char messages[MAX_MESSAGES][300];
static long message_count[MAX_MESSAGES];
static int n_messages;

static void note_message(const char *m) {
  for (int i = 0; i < n_messages; i++)
    if (!strcmp(messages[i], m)) {
      message_count[i]++;
      return;
    }
  if (n_messages < MAX_MESSAGES) {
    snprintf(messages[n_messages], sizeof messages[0], "%s", m);
    message_count[n_messages++] = 1;
  }
}

static void exec_or_die(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "setup failed: %s\n%s\n", err ? err : "?", sql);
    exit(1);
  }
}

/* What the stored models are: uids, blob lengths and a prediction each. */
static void state(const char *path, char *buf, size_t n) {
  sqlite3 *db = open_db(path);
  char a[200], b[200], c[200], d[200];
  one(db, "SELECT group_concat(name || ':' || uid || ':' || length(model), ' ')"
          " FROM (SELECT * FROM rbm_models ORDER BY name)", a, sizeof a);
  one(db, "SELECT rbm_predict('m', 1, 1)", b, sizeof b);
  one(db, "SELECT group_concat(length(model), ' ') FROM v_model", c, sizeof c);
  one(db, "SELECT rbm_transform('f', '[0, 1, 0.5]') IS NOT NULL", d, sizeof d);
  snprintf(buf, n, "%s | m %s | v %s | f %s", a, b, c, d);
  sqlite3_close(db);
}

/* ---- the sweep ------------------------------------------------------------- */

typedef struct op {
  const char *name;
  const char *sql;
} op;

static const op OPS[] = {
    {"retrain (user)", "SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating',"
                       " '{\"orientation\": \"user\", \"hidden\": 6, \"epochs\": 2}')"},
    {"train 'both' under a new name",
     "SELECT rbm_train('m2', 'ratings', 'user_id', 'item_id', 'rating',"
     " '{\"hidden\": 6, \"epochs\": 2}')"},
    {"train implicit with validation off",
     "SELECT rbm_train('m3', 'ratings', 'user_id', 'item_id', NULL,"
     " '{\"hidden\": 6, \"epochs\": 2, \"visible\": \"implicit\"}')"},
    {"predict", "SELECT rbm_predict('m', 2, 3)"},
    {"recommend", "SELECT count(*) FROM rbm_recommend('m', 2, 5)"},
    {"recommend a batch", "SELECT count(*) FROM rbm_recommend('m', '[1, 2, 3, 4]', 3)"},
    {"evaluate", "SELECT rbm_evaluate('m', 'ratings', 'user_id', 'item_id', 'rating')"},
    {"embedding", "SELECT length(rbm_embedding('m', 'user', 2)) + length(rbm_embedding('m', 'item', 3))"},
    {"embedding 'both'",
     "SELECT length(rbm_embedding('b', 'user', 2)) + length(rbm_embedding('b', 'item', 3))"},
    {"similar", "SELECT count(*) FROM rbm_similar('m', 3, 5)"},
    {"similar 'both', a batch", "SELECT count(*) FROM rbm_similar('b', '[1, 2, 3, 4]', 3)"},
    {"virtual table create",
     "CREATE VIRTUAL TABLE w USING rbm(source=ratings, user=user_id, item=item_id,"
     " rating=rating, hidden=6, epochs=2)"},
    {"virtual table query", "SELECT count(*) FROM v WHERE user_id = 2"},
    {"virtual table retrain", "INSERT INTO v(v) VALUES ('retrain')"},
    {"rbm_fit", "SELECT rbm_fit('f2', 'fv', 'v', '{\"hidden\": 3, \"epochs\": 2, \"label\": \"label\"}')"},
    {"rbm_transform", "SELECT rbm_transform('f', '[0, 1, 0.5]')"},
    {"rbm_classify", "SELECT rbm_classify('f', '[0, 1, 0.5]')"},
    {"rbm_plot", "SELECT length(rbm_plot('m'))"},
    {"rbm_plot of a feature model", "SELECT length(rbm_plot('f'))"},
    {"virtual table drop", "DROP TABLE v"},
};

static void setup(const char *path) {
  remove(path);
  sqlite3 *db = open_db(path);
  exec_or_die(db,
      "CREATE TABLE ratings(user_id INTEGER, item_id INTEGER, rating REAL);"
      "WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < 400)"
      " INSERT INTO ratings SELECT k % 40, 1 + (k * 7) % 23, 1 + k % 5 FROM s;"
      "CREATE INDEX ratings_user ON ratings(user_id, item_id, rating);"
      "SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating',"
      " '{\"orientation\": \"user\", \"hidden\": 6, \"epochs\": 2}');"
      "SELECT rbm_train('b', 'ratings', 'user_id', 'item_id', 'rating',"
      " '{\"hidden\": 6, \"epochs\": 2}');"
      "CREATE VIRTUAL TABLE v USING rbm(source=ratings, user=user_id, item=item_id,"
      " rating=rating, hidden=6, epochs=2, orientation=user);"
      "CREATE TABLE fv(v TEXT, label INTEGER);"
      "WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < 30)"
      " INSERT INTO fv SELECT json_array(k % 2, (k / 2) % 2, 0.5), k % 2 FROM s;"
      "SELECT rbm_fit('f', 'fv', 'v', '{\"hidden\": 3, \"epochs\": 2, \"label\": \"label\"}');");
  sqlite3_close(db);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/tmp";
  long max_n = argc > 2 ? atol(argv[2]) : 200000;
  const char *only = argc > 3 ? argv[3] : NULL;  /* operations named so */
  disarm();
  sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_default);
  sqlite3_mem_methods mine = sqlite_default;
  mine.xMalloc = sq_malloc;
  mine.xRealloc = sq_realloc;
  sqlite3_config(SQLITE_CONFIG_MALLOC, &mine);
  sqlite3_auto_extension((void (*)(void))sqlite3_rbm_init);

  char path[1024];
  snprintf(path, sizeof path, "%s/oom.db", dir);
  for (size_t o = 0; o < sizeof OPS / sizeof *OPS; o++) {
    if (only && !strstr(OPS[o].name, only)) continue;
    setup(path);
    char before[1024], after[1024], out[256];
    state(path, before, sizeof before);
    long n = 1, errors = 0;
    n_messages = 0;
    for (; n <= max_n; n++) {
      sqlite3 *db = open_db(path);
      arm(n);
      int rc = one(db, OPS[o].sql, out, sizeof out);
      disarm();
      int hit = atomic_load(&failed);
      int closed = sqlite3_close(db);
      check(closed == SQLITE_OK, "the connection closes (nothing left open)", OPS[o].name, n);
      if (!hit) {
        check(rc == SQLITE_OK, "runs without an injected failure", OPS[o].name, n);
        break;
      }
      if (rc == SQLITE_OK) {  /* recovered from it: fine; start again from the base */
        setup(path);
        state(path, before, sizeof before);
        continue;
      }
      errors++;
      note_message(last_error);
      /* Failed: nothing changed, on a new connection. */
      sqlite3 *fresh = open_db(path);
      char ok[64];
      one(fresh, "PRAGMA integrity_check", ok, sizeof ok);
      sqlite3_close(fresh);
      check(!strcmp(ok, "ok"), "integrity_check after the failure", OPS[o].name, n);
      state(path, after, sizeof after);
      check(!strcmp(before, after), "the stored models are as before and predict the same",
            OPS[o].name, n);
      if (strcmp(before, after)) printf("#   before %s\n#   after  %s\n", before, after);
    }
    printf("ok - %s: %ld allocations swept, %ld ended in an error, state kept\n",
           OPS[o].name, n - 1, errors);
    for (int i = 0; i < n_messages; i++) {
      printf("#   %5ld x %s\n", message_count[i], messages[i]);
      /* An error must say what went wrong: memory, or SQLite's own. */
      check(strstr(messages[i], "memory") != NULL || strstr(messages[i], "NOMEM") != NULL,
            "the error says it ran out of memory", OPS[o].name, 0);
    }
  }
  remove(path);
  printf("# %d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
