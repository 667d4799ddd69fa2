/*
** sql_train.c -- one training run from SQL: read the source, train, and
** describe the result as JSON.  Shared by rbm_train() and the virtual table.
**
** SQLite 3.40 has no sqlite3_is_interrupted(), so the trainer asks between
** minibatches by stepping a trivial statement on the same connection: the
** VDBE refuses to start while the connection's interrupt flag is set, and
** the flag stays set while the calling statement is still running.
*/
#include "sql_glue.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- the training log -------------------------------------------------- */

static const char *CREATE_LOG =
    "CREATE TABLE IF NOT EXISTS main.rbm_training_log(\n"
    "  model TEXT NOT NULL,\n"
    "  epoch INTEGER NOT NULL,            -- 1-based\n"
    "  seconds REAL NOT NULL,             -- since the training started\n"
    "  recon_rmse REAL NOT NULL,          -- first Gibbs step's reconstruction\n"
    "  validation_rmse REAL,              -- NULL without validation\n"
    "  validation_mae REAL,\n"
    "  validation_like_accuracy REAL,\n"
    "  best_epoch INTEGER,                -- best validation epoch so far\n"
    "  PRIMARY KEY (model, epoch))";

/* One row per epoch, kept in memory, and written as it comes through a
** connection of its own when the database is a file and the caller is not
** inside a transaction: each epoch is then committed at once, and another
** connection can watch a long run.  Otherwise (an in-memory database, a
** transaction, a lock held) the rows are written with the model, through
** the caller's connection. */
typedef struct train_log {
  sqlite3 *live;         /* NULL: write at the end */
  rbm_epoch_stats *rows;
  int n, cap;
} train_log;

static int log_exec(sqlite3 *db, const char *sql, const char *model) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void log_open(train_log *log, sqlite3 *db, const char *model) {
  const char *file = sqlite3_db_filename(db, "main");
  memset(log, 0, sizeof *log);
  if (!file || !*file || !sqlite3_get_autocommit(db)) return;
  if (sqlite3_open_v2(file, &log->live, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
    sqlite3_busy_timeout(log->live, 100);
    if (log_exec(log->live, CREATE_LOG, NULL) == SQLITE_OK &&
        log_exec(log->live, "DELETE FROM main.rbm_training_log WHERE model = ?1",
                 model) == SQLITE_OK)
      return;
  }
  sqlite3_close(log->live);
  log->live = NULL;
}

/* Writes row j through db (NULLs for what was not measured). */
static int log_write(sqlite3 *db, const char *model, const rbm_epoch_stats *e) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(
      db,
      "INSERT OR REPLACE INTO main.rbm_training_log VALUES(?1, ?2, ?3, ?4, ?5,"
      " ?6, ?7, ?8)", -1, &st, NULL);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, e->epoch);
  sqlite3_bind_double(st, 3, e->seconds);
  sqlite3_bind_double(st, 4, e->recon_rmse);
  if (e->validation.ratings) {
    sqlite3_bind_double(st, 5, e->validation.rmse);
    sqlite3_bind_double(st, 6, e->validation.mae);
    sqlite3_bind_double(st, 7, e->validation.like_accuracy);
    sqlite3_bind_int(st, 8, e->best_epoch);
  }
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void log_add(train_log *log, const char *model, const rbm_epoch_stats *e) {
  if (log->n == log->cap) {
    int cap = log->cap ? 2 * log->cap : 64;
    rbm_epoch_stats *rows = sqlite3_realloc64(log->rows, (sqlite3_uint64)cap * sizeof *rows);
    if (!rows) return;  /* the log is a record, not the model: keep going */
    log->rows = rows;
    log->cap = cap;
  }
  log->rows[log->n++] = *e;
  if (log->live && log_write(log->live, model, e) != SQLITE_OK) {
    sqlite3_close(log->live);  /* busy or failing: write them all at the end */
    log->live = NULL;
  }
}

/* The rows not written live, through the caller's connection. */
static int log_close(train_log *log, sqlite3 *db, const char *model, char **err) {
  int rc = SQLITE_OK;
  if (!log->live) {
    rc = log_exec(db, CREATE_LOG, NULL);
    if (rc == SQLITE_OK)
      rc = log_exec(db, "DELETE FROM main.rbm_training_log WHERE model = ?1", model);
    for (int j = 0; rc == SQLITE_OK && j < log->n; j++)
      rc = log_write(db, model, &log->rows[j]);
    if (rc != SQLITE_OK)
      *err = sqlite3_mprintf("writing rbm_training_log: %s", sqlite3_errmsg(db));
  }
  sqlite3_close(log->live);
  sqlite3_free(log->rows);
  memset(log, 0, sizeof *log);
  return rc;
}

/* ---- one training ---------------------------------------------------------- */

typedef struct train_ctx {
  sqlite3_stmt *probe;   /* SELECT 1 */
  const char *name;
  int epochs, verbose;
  train_log log;
} train_ctx;

static int should_stop(void *arg) {
  train_ctx *c = arg;
  int rc = sqlite3_step(c->probe);
  sqlite3_reset(c->probe);
  return rc == SQLITE_INTERRUPT;
}

static void on_epoch(void *arg, const rbm_epoch_stats *st) {
  train_ctx *c = arg;
  log_add(&c->log, c->name, st);
  if (!c->verbose) return;
  if (st->validation.ratings) {
    fprintf(stderr,
            "rbm_train %s: epoch %d/%d  recon_rmse %.4f  validation_rmse %.4f"
            "  best epoch %d  %.2fs\n",
            c->name, st->epoch, c->epochs, st->recon_rmse, st->validation.rmse,
            st->best_epoch, st->seconds);
  } else {
    fprintf(stderr, "rbm_train %s: epoch %d/%d  recon_rmse %.4f  %.2fs\n",
            c->name, st->epoch, c->epochs, st->recon_rmse, st->seconds);
  }
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void rbm_append_json_string(sqlite3_str *s, const char *name) {
  sqlite3_str_appendchar(s, 1, '"');
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    if (*p == '"' || *p == '\\') {
      sqlite3_str_appendf(s, "\\%c", *p);
    } else if (*p < 0x20) {
      sqlite3_str_appendf(s, "\\u%04x", *p);
    } else {
      sqlite3_str_appendchar(s, 1, (char)*p);
    }
  }
  sqlite3_str_appendchar(s, 1, '"');
}

static char *values_json(const rbm_ratings *r) {
  sqlite3_str *s = sqlite3_str_new(NULL);
  sqlite3_str_appendchar(s, 1, '[');
  for (uint32_t c = 0; c < r->n_values; c++)
    sqlite3_str_appendf(s, "%s%!.15g", c ? "," : "", r->values[c]);
  sqlite3_str_appendchar(s, 1, ']');
  return sqlite3_str_finish(s);
}

void rbm_trained_free(rbm_trained *t) {
  rbm_model_free(t->model);
  sqlite3_free(t->summary);
  sqlite3_free(t->options);
  memset(t, 0, sizeof *t);
}

int rbm_train_source(sqlite3 *db, const char *name, const rbm_source *src,
                     const rbm_config *cfg, rbm_trained *out, char **err) {
  const char *why = rbm_config_check(cfg);
  memset(out, 0, sizeof *out);
  if (why) {
    *err = sqlite3_mprintf("%s", why);
    return SQLITE_ERROR;
  }
  if (!sqlite3_stricmp(src->user, src->item) ||
      !sqlite3_stricmp(src->user, src->rating) ||
      !sqlite3_stricmp(src->item, src->rating)) {
    *err = sqlite3_mprintf("the user, item and rating columns must be three "
                           "different columns");
    return SQLITE_ERROR;
  }
  double start = now_seconds();
  rbm_ratings r;
  memset(&r, 0, sizeof r);
  /* An item-based model is the user-based engine on the ratings read with
  ** users and items swapped: one row per item, over its users. */
  int item_based = cfg->orientation == RBM_ORIENT_ITEM;
  rbm_source read_as = *src;
  if (item_based) {
    read_as.user = src->item;
    read_as.item = src->user;
    read_as.by_item = 1;
  }
  int rc = rbm_read_source(db, &read_as, NULL, cfg->threads, &r, err);
  if (rc != SQLITE_OK) {
    rbm_ratings_free(&r);
    return rc;
  }
  double ingest = now_seconds() - start;

  train_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.name = name;
  ctx.epochs = cfg->epochs;
  ctx.verbose = cfg->verbose;
  rc = sqlite3_prepare_v2(db, "SELECT 1", -1, &ctx.probe, NULL);
  if (rc != SQLITE_OK) {
    rbm_ratings_free(&r);
    *err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    return rc;
  }
  log_open(&ctx.log, db, name);
  rbm_train_hooks hooks = {&ctx, should_stop, on_epoch};
  rbm_train_report rep;
  char msg[256];
  int trc = rbm_train(cfg, &r, &hooks, &out->model, &rep, msg, sizeof msg);
  sqlite3_finalize(ctx.probe);
  rc = log_close(&ctx.log, db, name, err);
  if (trc != RBM_OK) {
    rbm_ratings_free(&r);
    sqlite3_free(*err);
    *err = sqlite3_mprintf("%s", msg);
    return trc == RBM_STOPPED ? SQLITE_INTERRUPT
           : trc == RBM_NOMEM ? SQLITE_NOMEM
                              : SQLITE_ERROR;
  }
  if (rc != SQLITE_OK) {
    rbm_ratings_free(&r);
    return rc;
  }

  char *values = values_json(&r);
  const rbm_model *m = out->model;
  sqlite3_str *s = sqlite3_str_new(NULL);
  sqlite3_str_appendall(s, "{\"model\":");
  rbm_append_json_string(s, name);
  sqlite3_str_appendf(
      s,
      ",\"users\":%u,\"items\":%u,\"ratings\":%llu,"
      "\"duplicates_dropped\":%llu,\"rating_values\":%s,\"visible\":\"%s\","
      "\"orientation\":\"%s\",\"hidden\":%u,\"epochs_run\":%d,\"threads\":%d,\"seconds\":%.3f,"
      "\"ingest_seconds\":%.3f,",
      item_based ? r.items.n : r.users.n, item_based ? r.users.n : r.items.n,
      (unsigned long long)r.n,
      (unsigned long long)r.n_duplicates, values ? values : "[]",
      m->visible == RBM_VISIBLE_BINARY ? "binary" : "softmax",
      item_based ? "item" : "user", m->n_hidden,
      rep.epochs_run, rep.threads, now_seconds() - start, ingest);
  if (m->visible == RBM_VISIBLE_BINARY) {
    sqlite3_str_appendall(s, "\"train_rmse\":null,");
  } else {
    sqlite3_str_appendf(s, "\"train_rmse\":%.4f,", rep.train_rmse);
  }
  sqlite3_str_appendf(s, "\"train_like_accuracy\":%.4f,\"train_measured_on\":%llu",
                      rep.train_like_accuracy,
                      (unsigned long long)rep.fit_ratings);
  if (rep.validation.ratings) {
    sqlite3_str_appendf(s,
                        ",\"best_epoch\":%d,\"validation_rmse\":%.4f,"
                        "\"validation_mae\":%.4f,\"validation_like_accuracy\":%.4f,"
                        "\"validation_ratings\":%llu}",
                        rep.best_epoch, rep.validation.rmse, rep.validation.mae,
                        rep.validation.like_accuracy,
                        (unsigned long long)rep.validation.ratings);
  } else {
    sqlite3_str_appendall(s, ",\"best_epoch\":null,\"validation_rmse\":null,"
                             "\"validation_mae\":null,"
                             "\"validation_like_accuracy\":null,"
                             "\"validation_ratings\":0}");
  }
  out->summary = sqlite3_str_finish(s);
  sqlite3_free(values);
  out->options = rbm_options_to_json(cfg);
  rbm_ratings_free(&r);
  if (!out->summary || !out->options) {
    rbm_trained_free(out);
    *err = sqlite3_mprintf("out of memory");
    return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}
