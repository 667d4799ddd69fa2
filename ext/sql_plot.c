/*
** sql_plot.c -- rbm_plot(model): a model's training curves, from
** rbm_training_log, as an SVG document (TEXT).
**
**   sqlite> SELECT writefile('m.svg', rbm_plot('m'));
**
** Per epoch: the reconstruction error of the training data, and with
** validation the held-out error (rating models: RMSE and MAE; feature
** models: the held-out rows' reconstruction), the best epoch (the one
** kept) marked.  A 'both' model draws its two final halves (m/user and
** m/item in the log).  The model is looked up in rbm_models, then as a
** virtual table; a log with no model (an interrupted first training) is
** drawn too, and a model with no log gets a chart that says so, so that
** SELECT rbm_plot(name) FROM rbm_models runs through.  The drawing is
** svg_chart.c's.
*/
#include "sql_glue.h"
#include "svg_chart.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* What rbm_models (or the virtual table's shadow table) says of the model;
** NULL members where it says nothing. */
typedef struct model_info {
  int found;
  char *kind, *visible, *orientation;
  sqlite3_int64 hidden, epochs;   /* 0: unknown */
  double seconds;                 /* NaN: unknown */
} model_info;

static void info_free(model_info *m) {
  sqlite3_free(m->kind);
  sqlite3_free(m->visible);
  sqlite3_free(m->orientation);
  memset(m, 0, sizeof *m);
}

static char *column_copy(sqlite3_stmt *st, int i, int *nomem) {
  if (sqlite3_column_type(st, i) != SQLITE_TEXT) return NULL;
  char *s = sqlite3_mprintf("%s", sqlite3_column_text(st, i));
  if (!s) *nomem = 1;
  return s;
}

/* The model's options and summary from `from` (a table, with ?1 the name
** where the WHERE clause wants it).  SQLITE_OK with m->found 0 when there
** is no such row, or no such table (*no_table set). */
static int read_info(sqlite3 *db, const char *from, const char *name,
                     model_info *m, int *no_table, char **err) {
  char *sql = sqlite3_mprintf(
      "SELECT CASE WHEN json_valid(options) THEN json_extract(options, '$.kind') END,"
      " CASE WHEN json_valid(options) THEN json_extract(options, '$.visible') END,"
      " CASE WHEN json_valid(options) THEN json_extract(options, '$.orientation') END,"
      " CASE WHEN json_valid(options) THEN json_extract(options, '$.hidden') END,"
      " CASE WHEN json_valid(options) THEN json_extract(options, '$.epochs') END,"
      " CASE WHEN json_valid(summary) THEN json_extract(summary, '$.seconds') END"
      " FROM %s",
      from);
  sqlite3_stmt *st = NULL;
  int rc = sql ? sqlite3_prepare_v2(db, sql, -1, &st, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  if (rc != SQLITE_OK) {
    if (rc != SQLITE_NOMEM && strstr(sqlite3_errmsg(db), "no such table")) {
      *no_table = 1;
      return SQLITE_OK;
    }
    *err = rc == SQLITE_NOMEM ? sqlite3_mprintf("out of memory")
                              : sqlite3_mprintf("%s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  int nomem = 0;
  if (rc == SQLITE_ROW) {
    m->found = 1;
    m->kind = column_copy(st, 0, &nomem);
    m->visible = column_copy(st, 1, &nomem);
    m->orientation = column_copy(st, 2, &nomem);
    m->hidden = sqlite3_column_type(st, 3) == SQLITE_INTEGER ? sqlite3_column_int64(st, 3) : 0;
    m->epochs = sqlite3_column_type(st, 4) == SQLITE_INTEGER ? sqlite3_column_int64(st, 4) : 0;
    int t = sqlite3_column_type(st, 5);
    m->seconds = t == SQLITE_INTEGER || t == SQLITE_FLOAT ? sqlite3_column_double(st, 5) : NAN;
    rc = SQLITE_OK;
  } else if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  } else {
    *err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_OK && nomem) {
    *err = sqlite3_mprintf("out of memory");
    rc = SQLITE_NOMEM;
  }
  return rc;
}

/* The model called name: in rbm_models, else a virtual table of this
** extension in main (its shadow table has the same columns). */
static int find_model(sqlite3 *db, const char *name, model_info *m,
                      int *no_models_table, char **err) {
  int rc = read_info(db, "main.rbm_models WHERE name = ?1", name, m,
                     no_models_table, err);
  if (rc != SQLITE_OK || m->found) return rc;
  sqlite3_stmt *st;
  rc = sqlite3_prepare_v2(db,
                          "SELECT 1 FROM main.sqlite_schema WHERE type = 'table'"
                          " AND name = ?1 AND sql LIKE 'CREATE VIRTUAL TABLE%'",
                          -1, &st, NULL);
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  int vtab = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  if (!vtab) return SQLITE_OK;
  char *from = sqlite3_mprintf("main.\"%w_model\" WHERE id = 1 AND ?1 IS NOT NULL", name);
  if (!from) {
    *err = sqlite3_mprintf("out of memory");
    return SQLITE_NOMEM;
  }
  int ignored = 0;
  rc = read_info(db, from, name, m, &ignored, err);
  sqlite3_free(from);
  return rc;
}

/* One training's rows of the log, by epoch; NaN where a value is NULL or
** not a number. */
typedef struct log_rows {
  double *epoch, *recon, *v_rmse, *v_mae;
  size_t n, cap;
  int validated;              /* some row has a validation RMSE */
  sqlite3_int64 best;         /* the last row's best_epoch, or 0 */
} log_rows;

static void rows_free(log_rows *r) {
  sqlite3_free(r->epoch);
  sqlite3_free(r->recon);
  sqlite3_free(r->v_rmse);
  sqlite3_free(r->v_mae);
  memset(r, 0, sizeof *r);
}

static double number(sqlite3_stmt *st, int i) {
  int t = sqlite3_column_type(st, i);
  return t == SQLITE_INTEGER || t == SQLITE_FLOAT ? sqlite3_column_double(st, i) : NAN;
}

static int grow(double **a, size_t cap) {
  double *p = sqlite3_realloc64(*a, cap * sizeof *p);
  if (!p) return 0;
  *a = p;
  return 1;
}

static int read_log(sqlite3 *db, const char *log_name, log_rows *r, char **err) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(
      db,
      "SELECT epoch, recon_rmse, validation_rmse, validation_mae, best_epoch"
      " FROM main.rbm_training_log WHERE model = ?1 ORDER BY epoch",
      -1, &st, NULL);
  if (rc != SQLITE_OK) {
    if (rc != SQLITE_NOMEM && strstr(sqlite3_errmsg(db), "no such table"))
      return SQLITE_OK;  /* nothing trained yet: no rows */
    *err = rc == SQLITE_NOMEM ? sqlite3_mprintf("out of memory")
                              : sqlite3_mprintf("rbm_training_log: %s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_bind_text(st, 1, log_name, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    double epoch = number(st, 0);
    if (!isfinite(epoch)) continue;
    if (r->n == r->cap) {
      size_t cap = r->cap ? 2 * r->cap : 64;
      if (!grow(&r->epoch, cap) || !grow(&r->recon, cap) || !grow(&r->v_rmse, cap) ||
          !grow(&r->v_mae, cap)) {
        rc = SQLITE_NOMEM;
        break;
      }
      r->cap = cap;
    }
    r->epoch[r->n] = epoch;
    r->recon[r->n] = number(st, 1);
    r->v_rmse[r->n] = number(st, 2);
    r->v_mae[r->n] = number(st, 3);
    if (isfinite(r->v_rmse[r->n])) r->validated = 1;
    r->best = sqlite3_column_type(st, 4) == SQLITE_INTEGER ? sqlite3_column_int64(st, 4) : 0;
    r->n++;
  }
  if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  } else {
    *err = rc == SQLITE_NOMEM ? sqlite3_mprintf("out of memory")
                              : sqlite3_mprintf("rbm_training_log: %s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  return rc;
}

static int same(const char *a, const char *b) { return a && !sqlite3_stricmp(a, b); }

/* "softmax model, user-based · hidden 100 · 34 of 150 epochs · trained in 2.1 s" */
static char *describe(const model_info *m, double last_epoch) {
  sqlite3_str *s = sqlite3_str_new(NULL);
  if (!m->found) {
    sqlite3_str_appendall(s, "from rbm_training_log: no model is stored under this name");
    return sqlite3_str_finish(s);
  }
  const char *sep = "";
  if (same(m->kind, "features")) {
    sqlite3_str_appendf(s, "%s feature model", m->visible ? m->visible : "a");
    sep = " \xC2\xB7 ";
  } else if (m->visible) {
    sqlite3_str_appendf(s, "%s model", m->visible);
    if (same(m->orientation, "both"))
      sqlite3_str_appendall(s, ", user- and item-based halves");
    else if (m->orientation)
      sqlite3_str_appendf(s, ", %s-based", m->orientation);
    sep = " \xC2\xB7 ";
  }
  if (m->hidden > 0) {
    sqlite3_str_appendf(s, "%shidden %lld", sep, m->hidden);
    sep = " \xC2\xB7 ";
  }
  if (last_epoch >= 1 && last_epoch <= 1e9) {
    long long e = (long long)last_epoch;
    if (m->epochs > e)
      sqlite3_str_appendf(s, "%s%lld of %lld epochs", sep, e, m->epochs);
    else
      sqlite3_str_appendf(s, "%s%lld epoch%s", sep, e, e == 1 ? "" : "s");
    sep = " \xC2\xB7 ";
  }
  if (isfinite(m->seconds) && m->seconds >= 0 && m->seconds < 1e9)
    sqlite3_str_appendf(s, m->seconds < 1000 ? "%strained in %.3g s" : "%strained in %.0f s",
                        sep, m->seconds);
  return sqlite3_str_finish(s);
}

static void plot_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    sql_result_error(ctx, "rbm_plot", SQLITE_MISUSE, sql_errorf("model name must be text"));
    return;
  }
  const char *name = (const char *)sqlite3_value_text(argv[0]);
  model_info m;
  memset(&m, 0, sizeof m);
  m.seconds = NAN;
  log_rows logs[2];
  memset(logs, 0, sizeof logs);
  char *err = NULL, *half[2] = {NULL, NULL}, *title = NULL, *subtitle = NULL;
  char *svg = NULL;
  int no_table = 0, n_logs = 1;
  int rc = find_model(db, name, &m, &no_table, &err);

  /* Which trainings: the model's own, or a 'both' model's final halves
  ** (also tried for a log with no model, when the name has no rows). */
  int both = same(m.orientation, "both");
  if (rc == SQLITE_OK && !both) {
    rc = read_log(db, name, &logs[0], &err);
    both = rc == SQLITE_OK && !m.found && logs[0].n == 0;
  }
  if (rc == SQLITE_OK && both) {
    rows_free(&logs[0]);
    n_logs = 2;
    half[0] = sqlite3_mprintf("%s/user", name);
    half[1] = sqlite3_mprintf("%s/item", name);
    if (!half[0] || !half[1]) {
      rc = SQLITE_NOMEM;
      err = sqlite3_mprintf("out of memory");
    }
    for (int i = 0; rc == SQLITE_OK && i < 2; i++) rc = read_log(db, half[i], &logs[i], &err);
  }
  if (rc == SQLITE_OK && !m.found && logs[0].n + logs[1].n == 0) {
    err = no_table ? sqlite3_mprintf("no model named '%s' (there is no rbm_models "
                                     "table: train one with rbm_train)", name)
                   : sqlite3_mprintf("no model named '%s' in rbm_models", name);
    rc = SQLITE_ERROR;
  }

  if (rc == SQLITE_OK) {
    int features = same(m.kind, "features");
    svg_series series[3];
    int n_series = 0;
    memset(series, 0, sizeof series);
    double last = 0;
    for (int i = 0; i < n_logs; i++)
      if (logs[i].n && logs[i].epoch[logs[i].n - 1] > last)
        last = logs[i].epoch[logs[i].n - 1];
    double mark = NAN;
    char *mark_label = NULL;
    if (n_logs == 2) {
      static const char *labels[2] = {"user-based half: reconstruction",
                                      "item-based half: reconstruction"};
      for (int i = 0; i < 2; i++)
        series[n_series++] = (svg_series){labels[i], logs[i].epoch, logs[i].recon,
                                          logs[i].n, i, i};
    } else {
      log_rows *r = &logs[0];
      series[n_series++] = (svg_series){
          features ? "reconstruction, training rows"
                   : r->validated ? "reconstruction, training ratings" : "reconstruction (training)",
          r->epoch, r->recon, r->n, 0, 0};
      if (r->validated) {
        series[n_series++] = (svg_series){
            features ? "reconstruction, held-out rows" : "validation RMSE", r->epoch,
            r->v_rmse, r->n, 1, 0};
        int mae = 0;
        for (size_t j = 0; j < r->n; j++) mae |= isfinite(r->v_mae[j]);
        if (mae)
          series[n_series++] = (svg_series){"validation MAE", r->epoch, r->v_mae,
                                            r->n, 2, 1};
        if (r->best > 0) {
          mark = (double)r->best;
          mark_label = sqlite3_mprintf(m.found ? "best epoch %lld: the model kept"
                                               : "best epoch %lld", r->best);
          if (!mark_label) rc = SQLITE_NOMEM;
        }
      }
    }
    const char *y_label = features ? "error per feature"
                          : same(m.visible, "softmax") ? "error (rating scale)"
                          : m.visible ? "error (on 0/1)"
                                      : "error";
    title = sqlite3_mprintf("Training curves: %s", name);
    subtitle = describe(&m, last);
    svg_lines chart = {title, subtitle, "epoch", y_label, series, n_series,
                       1, 1, 0, mark, mark_label, mark_label ? 1 : -1,
                       "no epochs in rbm_training_log for this model"};
    if (rc == SQLITE_OK && title && subtitle) svg = svg_lines_render(&chart);
    if (!svg) {
      rc = SQLITE_NOMEM;
      err = sqlite3_mprintf("out of memory");
    }
    sqlite3_free(mark_label);
  }
  if (rc == SQLITE_OK)
    sqlite3_result_text(ctx, svg, -1, free);
  else
    sql_result_error(ctx, "rbm_plot", rc, err);
  for (int i = 0; i < 2; i++) {
    rows_free(&logs[i]);
    sqlite3_free(half[i]);
  }
  sqlite3_free(title);
  sqlite3_free(subtitle);
  info_free(&m);
}

int sql_register_plot(sqlite3 *db) {
  return sqlite3_create_function(db, "rbm_plot", 1, SQLITE_UTF8, NULL, plot_func,
                                 NULL, NULL);
}
