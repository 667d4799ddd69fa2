/*
** sql_functions.c -- the scalar SQL functions.
**
**   rbm_version()                                    '0.1.0'
**   rbm_debug()                                      build, BLAS, threads
**   rbm_debug(model)                                 how this connection
**                                                    serves the model (JSON)
**   rbm_train(model, source, user_col, item_col, rating_col [, options])
**                                                    trains, stores, returns
**                                                    a JSON summary
**   rbm_predict(model, user, item [, 'rating' | 'like'])
**   rbm_evaluate(model, source, user_col, item_col, rating_col [, options])
**                                                    scores the model on a
**                                                    held-out table, as JSON
**
** Flags: rbm_train writes and must not run from triggers or views
** (DIRECTONLY); nothing that reads model state is DETERMINISTIC or
** INNOCUOUS, because a retrain changes its answers.
*/
#include "sql_glue.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RBM_BUILD_FLAGS
#define RBM_BUILD_FLAGS "unknown"
#endif

char *sql_errorf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  return s;
}

void sql_result_error(sqlite3_context *ctx, const char *fname, int rc,
                      char *err) {
  char *msg = sqlite3_mprintf("%s: %s", fname, err ? err : sqlite3_errstr(rc));
  sqlite3_result_error(ctx, msg ? msg : fname, -1);
  /* Codes an application acts on (retries a busy database, say) pass on;
  ** others are SQLITE_ERROR with the message. */
  int primary = rc & 0xff;
  if (primary == SQLITE_INTERRUPT || primary == SQLITE_NOMEM ||
      primary == SQLITE_CORRUPT || primary == SQLITE_BUSY ||
      primary == SQLITE_LOCKED)
    sqlite3_result_error_code(ctx, rc);
  sqlite3_free(msg);
  sqlite3_free(err);
}

int sql_result_subtype_flag(void) {
  return sqlite3_libversion_number() >= 3045000 ? SQLITE_RESULT_SUBTYPE : 0;
}

static void version_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite3_result_text(ctx, RBM_VERSION, -1, SQLITE_STATIC);
}

static const char *text_arg(sqlite3_value *v);

/* rbm_debug(model): the model as this connection serves it. */
static void debug_model(sqlite3_context *ctx, sqlite3_value *model) {
  const char *name = text_arg(model);
  char *json = NULL, *err = NULL;
  if (!name) {
    sql_result_error(ctx, "rbm_debug", SQLITE_MISUSE, sql_errorf("model name must be text"));
    return;
  }
  int rc = sql_serve_describe(sqlite3_context_db_handle(ctx), name, &json, &err);
  if (rc != SQLITE_OK) {
    sql_result_error(ctx, "rbm_debug", rc, err);
    return;
  }
  sqlite3_result_text(ctx, json, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, JSON_SUBTYPE);
}

static void debug_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  if (argc == 1) {
    debug_model(ctx, argv[0]);
    return;
  }
  /* The SQLite we run in (its version and the start of its source id, which
  ** tells builds of one version apart), and the one built against. */
  char *s = sqlite3_mprintf(
      "rbm %s (model format %d)\n"
      "sqlite: %s (%.32s), built against %s\n"
      "sqlite interrupts: %s\n"
      "sqlite result subtypes: %s\n"
      "blas: %s\n"
      "blas threads: %d\n"
      "default threads: %d\n"
      "build: %s\n"
      "compiler: %s",
      RBM_VERSION, RBM_FORMAT_VERSION, sqlite3_libversion(), sqlite3_sourceid(),
      SQLITE_VERSION, sql_interrupt_method(),
      sql_result_subtype_flag() ? "declared (SQLITE_RESULT_SUBTYPE)"
                                : "set, undeclared (SQLite before 3.45)",
      rbm_blas_config(), rbm_blas_threads(), rbm_auto_threads(), RBM_BUILD_FLAGS,
#ifdef __VERSION__
      __VERSION__
#else
      "unknown"
#endif
  );
  sqlite3_result_text(ctx, s, -1, sqlite3_free);
}

static const char *text_arg(sqlite3_value *v) {
  return sqlite3_value_type(v) == SQLITE_TEXT
             ? (const char *)sqlite3_value_text(v)
             : NULL;
}

/* The (model, source, user_col, item_col, rating_col) arguments that
** rbm_train and rbm_evaluate share: names[0] the model, *src the rest.
** On error, reports it as fname's and returns 0. */
static int source_args(sqlite3_context *ctx, const char *fname,
                       sqlite3_value **argv, const char **model,
                       sql_source *src) {
  static const char *what[] = {"model name", "source", "user column",
                               "item column", "rating column"};
  const char *arg[5];
  memset(src, 0, sizeof *src);
  for (int i = 0; i < 5; i++) {
    arg[i] = text_arg(argv[i]);
    if (i == 4 && sqlite3_value_type(argv[i]) == SQLITE_NULL) {
      arg[i] = "";  /* no rating column: every row an interaction */
    } else if (!arg[i] || !*arg[i]) {
      sql_result_error(ctx, fname, SQLITE_MISUSE,
                   sql_errorf("%s must be non-empty text%s", what[i],
                              i == 4 ? ", or NULL for rows without ratings" : ""));
      return 0;
    }
  }
  *model = arg[0];
  src->user = sqlite3_mprintf("%s", arg[2]);
  src->item = sqlite3_mprintf("%s", arg[3]);
  src->rating = sqlite3_mprintf("%s", arg[4]);
  int rc = src->user && src->item && src->rating
               ? sql_source_set_table(sqlite3_context_db_handle(ctx), src, arg[1])
               : SQLITE_NOMEM;
  if (rc != SQLITE_OK) {
    sql_source_free(src);
    sql_result_error(ctx, fname, rc, NULL);
    return 0;
  }
  return 1;
}

static void train_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  const char *name;
  sql_source src;
  if (!source_args(ctx, "rbm_train", argv, &name, &src)) return;
  rbm_config cfg;
  sql_defaults(&cfg);
  char *err = NULL;
  int rc = SQLITE_OK;
  if (argc > 5 && sqlite3_value_type(argv[5]) != SQLITE_NULL)
    rc = sql_options_from_json(db, (const char *)sqlite3_value_text(argv[5]),
                               &cfg, &err);
  if (rc != SQLITE_OK) {
    sql_source_free(&src);
    sql_result_error(ctx, "rbm_train", rc, err);
    return;
  }
  sql_trained t;
  memset(&t, 0, sizeof t);
  sql_resolve_defaults(&cfg);
  rc = sql_source_drop_rating(&src, &cfg);
  if (rc == SQLITE_OK) rc = sql_models_table_ready(db, name, &err);
  if (rc == SQLITE_OK) rc = sql_train_source(db, name, &src, &cfg, &t, &err);
  if (rc == SQLITE_OK) rc = sql_store_model(db, name, &src, &t, &err);
  sql_source_free(&src);
  if (rc != SQLITE_OK) {
    sql_trained_free(&t);
    sql_result_error(ctx, "rbm_train", rc, err);
    return;
  }
  sqlite3_result_text(ctx, t.summary, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, JSON_SUBTYPE);
  t.summary = NULL;
  sql_trained_free(&t);
}

/* rbm_predict: the per-statement reader lives in the auxdata of argument 0
** (the model name), so a statement decodes and looks up the model once. */
static void predict_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  sql_user_reader *rd = sqlite3_get_auxdata(ctx, 0);
  int fresh = 0;
  char *err = NULL;
  int rc;
  if (!rd) {
    const char *name = text_arg(argv[0]);
    sql_served *s;
    if (!name) {
      sql_result_error(ctx, "rbm_predict", SQLITE_MISUSE,
                   sql_errorf("model name must be text"));
      return;
    }
    rc = sql_served_by_name(db, name, &s, &err);
    if (rc == SQLITE_OK) {
      rc = sql_user_reader_open(db, s, &rd, &err);
      sql_served_release(s);
    }
    if (rc != SQLITE_OK) {
      sql_result_error(ctx, "rbm_predict", rc, err);
      return;
    }
    fresh = 1;
  }
  const rbm_model *m = sql_served_model(sql_user_reader_served(rd));
  int want_like = m->visible != RBM_VISIBLE_SOFTMAX;
  if (argc > 3) {
    const char *w = text_arg(argv[3]);
    if (w && sqlite3_stricmp(w, "like") == 0) {
      want_like = 1;
    } else if (w && sqlite3_stricmp(w, "rating") == 0 &&
               m->visible == RBM_VISIBLE_SOFTMAX) {
      want_like = 0;
    } else {
      err = sql_errorf(w && sqlite3_stricmp(w, "rating") == 0
                           ? "a binary or implicit model predicts only 'like'"
                           : "what must be 'rating' or 'like'");
      rc = SQLITE_MISUSE;
      goto done;
    }
  }
  char ubuf[32], ibuf[32];
  rbm_key user, item;
  if (!sql_key_from_value(argv[1], &user, ubuf, sizeof ubuf) ||
      !sql_key_from_value(argv[2], &item, ibuf, sizeof ibuf)) {
    sqlite3_result_null(ctx);  /* NULL in, NULL out, as SQL functions do */
    rc = SQLITE_OK;
    goto done;
  }
  double rating, like;
  int unplaced, unknown;
  rc = sql_user_reader_predict(rd, &user, &item, &rating, &like, &unplaced,
                               &unknown, &err);
  if (rc == SQLITE_OK) sqlite3_result_double(ctx, want_like ? like : rating);
done:
  if (rc != SQLITE_OK) sql_result_error(ctx, "rbm_predict", rc, err);
  if (fresh)
    sqlite3_set_auxdata(ctx, 0, rd, (void (*)(void *))sql_user_reader_close);
}

/* rbm_evaluate's options: {"k": n}, n from 0 (no ranking) to
** SQL_EVALUATE_MAX_K. */
/* rbm_evaluate's one option, k. */
static int evaluate_option(void *k, const char *key, const char *type,
                           const char *value, char **err) {
  if (sqlite3_stricmp(key, "k") != 0) {
    *err = sql_errorf("unknown option '%s' (known: 'k')", key);
    return SQLITE_ERROR;
  }
  sqlite3_int64 v = strcmp(type, "integer") == 0 ? strtoll(value, NULL, 10) : -1;
  if (v < 0 || v > SQL_EVALUATE_MAX_K) {
    *err = sql_errorf("k must be an integer from 0 to %d", SQL_EVALUATE_MAX_K);
    return SQLITE_ERROR;
  }
  *(int *)k = (int)v;
  return SQLITE_OK;
}

static void evaluate_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  const char *name;
  sql_source src;
  if (!source_args(ctx, "rbm_evaluate", argv, &name, &src)) return;
  int k = 10;
  char *err = NULL, *json = NULL;
  int rc = SQLITE_OK;
  if (argc > 5 && sqlite3_value_type(argv[5]) != SQLITE_NULL)
    rc = sql_json_members(db, (const char *)sqlite3_value_text(argv[5]),
                          "{\"k\": 10}", evaluate_option, &k, &err);
  if (rc == SQLITE_OK) rc = sql_evaluate_source(db, name, &src, k, &json, &err);
  sql_source_free(&src);
  if (rc != SQLITE_OK) {
    sql_result_error(ctx, "rbm_evaluate", rc, err);
    return;
  }
  sqlite3_result_text(ctx, json, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, JSON_SUBTYPE);
}

static void conn_destroy(void *db) { sql_serve_shutdown(db); }

int sql_register_functions(sqlite3 *db) {
  int rc = sqlite3_create_function_v2(
      db, "rbm_version", 0, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
      db, version_func, NULL, NULL, conn_destroy);
  for (int n = 0; rc == SQLITE_OK && n <= 1; n++)
    rc = sqlite3_create_function(db, "rbm_debug", n, SQLITE_UTF8 | (n ? RESULT_SUBTYPE : 0),
                                 NULL, debug_func, NULL, NULL);
  for (int n = 5; rc == SQLITE_OK && n <= 6; n++)
    rc = sqlite3_create_function(db, "rbm_train", n,
                                 SQLITE_UTF8 | SQLITE_DIRECTONLY | RESULT_SUBTYPE,
                                 NULL, train_func, NULL, NULL);
  for (int n = 3; rc == SQLITE_OK && n <= 4; n++)
    rc = sqlite3_create_function(db, "rbm_predict", n, SQLITE_UTF8, NULL,
                                 predict_func, NULL, NULL);
  for (int n = 5; rc == SQLITE_OK && n <= 6; n++)
    rc = sqlite3_create_function(db, "rbm_evaluate", n, SQLITE_UTF8 | RESULT_SUBTYPE,
                                 NULL, evaluate_func, NULL, NULL);
  return rc;
}
