/*
** sql_functions.c -- the scalar SQL functions.
**
**   rbm_version()                                    '0.1.0'
**   rbm_debug()                                      build, BLAS, threads
**   rbm_train(model, source, user_col, item_col, rating_col [, options])
**                                                    trains, stores, returns
**                                                    a JSON summary
**   rbm_predict(model, user, item [, 'rating' | 'like'])
**
** Flags: rbm_train writes and must not run from triggers or views
** (DIRECTONLY); nothing that reads model state is DETERMINISTIC or
** INNOCUOUS, because a retrain changes its answers.
*/
#include "sql_glue.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifndef RBM_BUILD_FLAGS
#define RBM_BUILD_FLAGS "unknown"
#endif

#define JSON_SUBTYPE 74  /* 'J': json functions take the result as JSON */

char *rbm_errorf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  return s;
}

/* Reports err (freed here) as the function's error, prefixed with fname. */
static void result_error(sqlite3_context *ctx, const char *fname, int rc,
                         char *err) {
  char *msg = sqlite3_mprintf("%s: %s", fname, err ? err : sqlite3_errstr(rc));
  sqlite3_result_error(ctx, msg ? msg : fname, -1);
  if (rc == SQLITE_INTERRUPT || rc == SQLITE_NOMEM || rc == SQLITE_CORRUPT)
    sqlite3_result_error_code(ctx, rc);
  sqlite3_free(msg);
  sqlite3_free(err);
}

static void version_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite3_result_text(ctx, RBM_VERSION, -1, SQLITE_STATIC);
}

static void debug_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  char *s = sqlite3_mprintf(
      "rbm %s (model format %d)\n"
      "sqlite: %s\n"
      "blas: %s\n"
      "blas threads: %d\n"
      "build: %s\n"
      "compiler: %s",
      RBM_VERSION, RBM_FORMAT_VERSION, sqlite3_libversion(), rbm_blas_config(),
      rbm_blas_threads(), RBM_BUILD_FLAGS,
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

static void train_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char *what[] = {"model name", "source", "user column",
                               "item column", "rating column"};
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  const char *arg[5];
  for (int i = 0; i < 5; i++) {
    arg[i] = text_arg(argv[i]);
    if (!arg[i] || !*arg[i]) {
      result_error(ctx, "rbm_train", SQLITE_MISUSE,
                   rbm_errorf("%s must be non-empty text", what[i]));
      return;
    }
  }
  rbm_config cfg;
  rbm_config_defaults(&cfg);
  char *err = NULL;
  int rc = SQLITE_OK;
  if (argc > 5 && sqlite3_value_type(argv[5]) != SQLITE_NULL)
    rc = rbm_options_from_json(db, (const char *)sqlite3_value_text(argv[5]),
                               &cfg, &err);
  if (rc != SQLITE_OK) {
    result_error(ctx, "rbm_train", rc, err);
    return;
  }
  rbm_source src = {NULL, NULL, sqlite3_mprintf("%s", arg[2]),
                    sqlite3_mprintf("%s", arg[3]), sqlite3_mprintf("%s", arg[4])};
  rbm_trained t;
  memset(&t, 0, sizeof t);
  rc = src.user && src.item && src.rating
           ? rbm_source_set_table(db, &src, arg[1])
           : SQLITE_NOMEM;
  if (rc == SQLITE_OK) rc = rbm_train_source(db, arg[0], &src, &cfg, &t, &err);
  if (rc == SQLITE_OK) rc = rbm_store_model(db, arg[0], &src, &t, &err);
  rbm_source_free(&src);
  if (rc != SQLITE_OK) {
    rbm_trained_free(&t);
    result_error(ctx, "rbm_train", rc, err);
    return;
  }
  sqlite3_result_text(ctx, t.summary, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, JSON_SUBTYPE);
  t.summary = NULL;
  rbm_trained_free(&t);
}

/* rbm_predict: the per-statement reader lives in the auxdata of argument 0
** (the model name), so a statement decodes and looks up the model once. */
static void predict_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  rbm_user_reader *rd = sqlite3_get_auxdata(ctx, 0);
  int fresh = 0;
  char *err = NULL;
  int rc;
  if (!rd) {
    const char *name = text_arg(argv[0]);
    rbm_served *s;
    if (!name) {
      result_error(ctx, "rbm_predict", SQLITE_MISUSE,
                   rbm_errorf("model name must be text"));
      return;
    }
    rc = rbm_served_by_name(db, name, &s, &err);
    if (rc == SQLITE_OK) {
      rc = rbm_user_reader_open(db, s, &rd, &err);
      rbm_served_release(s);
    }
    if (rc != SQLITE_OK) {
      result_error(ctx, "rbm_predict", rc, err);
      return;
    }
    fresh = 1;
  }
  const rbm_model *m = rbm_served_model(rbm_user_reader_served(rd));
  int want_like = m->visible == RBM_VISIBLE_BINARY;
  if (argc > 3) {
    const char *w = text_arg(argv[3]);
    if (w && sqlite3_stricmp(w, "like") == 0) {
      want_like = 1;
    } else if (w && sqlite3_stricmp(w, "rating") == 0 &&
               m->visible == RBM_VISIBLE_SOFTMAX) {
      want_like = 0;
    } else {
      err = rbm_errorf(w && sqlite3_stricmp(w, "rating") == 0
                           ? "a binary model predicts only 'like'"
                           : "what must be 'rating' or 'like'");
      rc = SQLITE_MISUSE;
      goto done;
    }
  }
  char ubuf[32], ibuf[32];
  rbm_key user, item;
  if (!rbm_key_from_value(argv[1], &user, ubuf, sizeof ubuf) ||
      !rbm_key_from_value(argv[2], &item, ibuf, sizeof ibuf)) {
    sqlite3_result_null(ctx);  /* NULL in, NULL out, as SQL functions do */
    rc = SQLITE_OK;
    goto done;
  }
  const float *hidden;
  const uint32_t *rated;
  size_t n_rated;
  rc = rbm_user_reader_fold(rd, &user, &hidden, &rated, &n_rated, &err);
  if (rc != SQLITE_OK) goto done;
  float probs[RBM_MAX_VALUES];
  int64_t i = rbm_keys_find(&m->items, &item);
  if (i < 0) {
    rbm_prior_probs(m, UINT32_MAX, probs);
  } else if (!hidden) {
    rbm_prior_probs(m, (uint32_t)i, probs);
  } else {
    rbm_item_probs(m, hidden, (uint32_t)i, probs);
  }
  sqlite3_result_double(ctx, want_like ? rbm_like_probability(m, probs)
                                       : rbm_expected_rating(m, probs));
done:
  if (rc != SQLITE_OK) result_error(ctx, "rbm_predict", rc, err);
  if (fresh)
    sqlite3_set_auxdata(ctx, 0, rd, (void (*)(void *))rbm_user_reader_close);
}

static void conn_destroy(void *db) { rbm_serve_shutdown(db); }

int rbm_register_functions(sqlite3 *db) {
  int rc = sqlite3_create_function_v2(
      db, "rbm_version", 0, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
      db, version_func, NULL, NULL, conn_destroy);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(db, "rbm_debug", 0, SQLITE_UTF8, NULL,
                                 debug_func, NULL, NULL);
  for (int n = 5; rc == SQLITE_OK && n <= 6; n++)
    rc = sqlite3_create_function(db, "rbm_train", n,
                                 SQLITE_UTF8 | SQLITE_DIRECTONLY, NULL,
                                 train_func, NULL, NULL);
  for (int n = 3; rc == SQLITE_OK && n <= 4; n++)
    rc = sqlite3_create_function(db, "rbm_predict", n, SQLITE_UTF8, NULL,
                                 predict_func, NULL, NULL);
  return rc;
}
