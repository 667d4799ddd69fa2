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

typedef struct train_ctx {
  sqlite3_stmt *probe;   /* SELECT 1 */
  const char *name;
  int epochs;
} train_ctx;

static int should_stop(void *arg) {
  train_ctx *c = arg;
  int rc = sqlite3_step(c->probe);
  sqlite3_reset(c->probe);
  return rc == SQLITE_INTERRUPT;
}

static void on_epoch(void *arg, const rbm_epoch_stats *st) {
  train_ctx *c = arg;
  fprintf(stderr, "rbm_train %s: epoch %d/%d  recon_rmse %.4f  %.2fs\n",
          c->name, st->epoch, c->epochs, st->recon_rmse, st->seconds);
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

  train_ctx ctx = {NULL, name, cfg->epochs};
  rc = sqlite3_prepare_v2(db, "SELECT 1", -1, &ctx.probe, NULL);
  if (rc != SQLITE_OK) {
    rbm_ratings_free(&r);
    *err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    return rc;
  }
  rbm_train_hooks hooks = {&ctx, should_stop, cfg->verbose ? on_epoch : NULL};
  rbm_train_report rep;
  char msg[256];
  int trc = rbm_train(cfg, &r, &hooks, &out->model, &rep, msg, sizeof msg);
  sqlite3_finalize(ctx.probe);
  if (trc != RBM_OK) {
    rbm_ratings_free(&r);
    *err = sqlite3_mprintf("%s", msg);
    return trc == RBM_STOPPED ? SQLITE_INTERRUPT
           : trc == RBM_NOMEM ? SQLITE_NOMEM
                              : SQLITE_ERROR;
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
  sqlite3_str_appendf(s, "\"train_like_accuracy\":%.4f,\"train_measured_on\":%llu}",
                      rep.train_like_accuracy,
                      (unsigned long long)rep.fit_ratings);
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
