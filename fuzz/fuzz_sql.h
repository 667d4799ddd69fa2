/*
** fuzz_sql.h -- what the libFuzzer targets in fuzz/ share.
**
**   make fuzz                    every target, FUZZ_SECONDS (60) each
**   make fuzz FUZZ_SECONDS=600
**   dist/fuzz/options fuzz/corpus/options        one target, by hand
**
** Each target is a program of its own (fuzz/<target>.c) linking the engine,
** the SQL glue and the system's SQLite, built with clang's
** -fsanitize=fuzzer,address,undefined.  SQL-level targets run the real
** functions on one in-memory database that has the extension registered
** (sqlite3_auto_extension, as an application that links it statically
** would), so an input reaches a parser the way a user's SQL does.
**
** A watchdog thread interrupts a statement that runs longer than
** FUZZ_STATEMENT_SECONDS: an input may name a table with rows as a source
** and ask for a million epochs, and that is a slow input, not a bug.  The
** extension's interrupt handling is what stops it.
*/
#ifndef FUZZ_SQL_H
#define FUZZ_SQL_H

#include <sqlite3.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int sqlite3_rbm_init(sqlite3 *db, char **err, const sqlite3_api_routines *api);

#define FUZZ_STATEMENT_SECONDS 2.0

static sqlite3 *fuzz_db;
static _Atomic double fuzz_started;  /* when the current statement began; 0 if none */

static double fuzz_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *fuzz_watchdog(void *arg) {
  (void)arg;
  for (;;) {
    usleep(50 * 1000);
    double t = atomic_load(&fuzz_started);
    if (t > 0 && fuzz_now() - t > FUZZ_STATEMENT_SECONDS) sqlite3_interrupt(fuzz_db);
  }
  return NULL;
}

/* Runs the statements in sql; the setup must succeed. */
static void fuzz_setup(const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(fuzz_db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "fuzz setup failed: %s\n%s\n", err ? err : "?", sql);
    exit(1);
  }
}

/* Opens the database once per process, with the extension, and runs the
** target's setup. */
static void fuzz_open(const char *setup_sql) {
  if (fuzz_db) return;
  sqlite3_auto_extension((void (*)(void))sqlite3_rbm_init);
  if (sqlite3_open(":memory:", &fuzz_db) != SQLITE_OK) {
    fprintf(stderr, "cannot open a database\n");
    exit(1);
  }
  pthread_t t;
  pthread_create(&t, NULL, fuzz_watchdog, NULL);
  pthread_detach(t);
  if (setup_sql) fuzz_setup(setup_sql);
}

/* Runs one statement with ?1 bound to the input (text or a BLOB, or
** nothing if n is SIZE_MAX), stepping every row.  Errors are expected
** answers; only what the sanitizers see is a finding. */
static void fuzz_run(const char *sql, const void *data, size_t n, int as_blob) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(fuzz_db, sql, -1, &st, NULL) != SQLITE_OK || !st) {
    sqlite3_finalize(st);
    return;
  }
  if (n != SIZE_MAX) {
    if (as_blob) {
      sqlite3_bind_blob(st, 1, data, (int)n, SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_text(st, 1, data, (int)n, SQLITE_TRANSIENT);
    }
  }
  atomic_store(&fuzz_started, fuzz_now());
  for (int rows = 0; rows < 10000 && sqlite3_step(st) == SQLITE_ROW; rows++) {
    for (int c = 0; c < sqlite3_column_count(st); c++) {
      (void)sqlite3_column_bytes(st, c);  /* read what came back */
    }
  }
  atomic_store(&fuzz_started, 0.0);
  sqlite3_finalize(st);
}

/* Runs one statement built with sqlite3_mprintf around the input as text
** (%s), for inputs that are SQL tokens rather than values. */
static __attribute__((unused)) void fuzz_run_spliced(const char *format, const uint8_t *data, size_t n) {
  char *text = malloc(n + 1);
  if (!text) return;
  memcpy(text, data, n);
  text[n] = 0;
  char *sql = sqlite3_mprintf(format, text);
  free(text);
  if (!sql) return;
  fuzz_run(sql, NULL, SIZE_MAX, 0);
  sqlite3_free(sql);
}

#endif
