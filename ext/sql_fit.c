/*
** sql_fit.c -- rbm_fit: an RBM on feature vectors, trained from a table.
**
**   rbm_fit(model, source, features [, options])
**   rbm_evaluate(model, source, features [, options])   a held-out table
**
** features says where the vectors are:
**   'col'               one column of float32 BLOBs or JSON arrays
**   '["a", "b", ...]'   plain columns, one feature each
**   NULL                every column of numeric type (INTEGER, REAL,
**                       NUMERIC...) but the label and the primary key
** options: the rating models' training options where they apply (hidden,
** epochs, batch_size, learning_rate, momentum, momentum_start,
** momentum_epochs, lr_decay, weight_decay, cd_k, pcd, seed, threads,
** verbose, validation, patience), and
**   "visible": "bernoulli" | "gaussian"   values in [0, 1], or real values
**                                         (standardised per feature)
**   "label": "col"       train a softmax head on the hidden units for it
**   "l2": 1e-6           the head's L2 penalty
**   "head_iterations"    the head's L-BFGS iterations, at most
** With "hidden": 0 and a label, the head reads the features themselves.
**
** The rows are read once into one float matrix.  A row with a vector of
** the wrong length, a NULL, a non-number, NaN or infinity is an error that
** names the row (by rowid where the source has one), and nothing is
** stored.  The model goes into rbm_models like a rating model, its
** summary and options marked "kind": "features".
*/
#include "sql_glue.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- options --------------------------------------------------------------- */

typedef struct fit_options {
  rbm_dense_config cfg;
  char *label;     /* sqlite3_free */
} fit_options;

static int fit_option(void *arg, const char *key, const char *type,
                      const char *value, char **err) {
  fit_options *o = arg;
  if (!strcmp(type, "true") || !strcmp(type, "false")) value = type;
  if (!strcmp(type, "null")) value = NULL;
  if (!sqlite3_stricmp(key, "label")) {
    if (!value || strcmp(type, "text") || !*value) {
      *err = sqlite3_mprintf("label must be a column name");
      return SQLITE_ERROR;
    }
    sqlite3_free(o->label);
    o->label = sqlite3_mprintf("%s", value);
    return o->label ? SQLITE_OK : SQLITE_NOMEM;
  }
  if (!sqlite3_stricmp(key, "visible")) {
    if (value && !sqlite3_stricmp(value, "bernoulli")) {
      o->cfg.visible = RBM_UNIT_BERNOULLI;
    } else if (value && !sqlite3_stricmp(value, "gaussian")) {
      o->cfg.visible = RBM_UNIT_GAUSSIAN;
    } else {
      *err = sqlite3_mprintf("visible must be 'bernoulli' or 'gaussian' for a "
                             "feature model, not '%s'", value ? value : "null");
      return SQLITE_ERROR;
    }
    return SQLITE_OK;
  }
  if (!sqlite3_stricmp(key, "l2") || !sqlite3_stricmp(key, "head_iterations")) {
    char *end = NULL;
    double d = value ? strtod(value, &end) : NAN;
    int integer = !sqlite3_stricmp(key, "head_iterations");
    if (!value || *end || !isfinite(d) || (integer && d != floor(d))) {
      *err = sqlite3_mprintf("%s must be %s", key, integer ? "an integer" : "a number");
      return SQLITE_ERROR;
    }
    if (integer) {
      o->cfg.head_iterations = fabs(d) < 1e9 ? (int)d : -1;
    } else {
      o->cfg.l2 = d;
    }
    return SQLITE_OK;
  }
  if (!sqlite3_stricmp(key, "orientation") || !sqlite3_stricmp(key, "like_threshold")) {
    *err = sqlite3_mprintf("option %s does not apply to a feature model", key);
    return SQLITE_ERROR;
  }
  int schedule = !strcmp(type, "array") && !sqlite3_stricmp(key, "cd_k");
  if ((!strcmp(type, "array") && !schedule) || !strcmp(type, "object")) {
    *err = sqlite3_mprintf("option %s cannot be a JSON container", key);
    return SQLITE_ERROR;
  }
  return sql_option_set(&o->cfg.train, key, value, err);
}

static char *options_json(const fit_options *o, const char *features) {
  const rbm_config *c = &o->cfg.train;
  char threads[16] = "null";  /* one per core, wherever it runs */
  if (c->threads > 0) snprintf(threads, sizeof threads, "%d", c->threads);
  sqlite3_str *s = sqlite3_str_new(NULL);
  sqlite3_str_appendf(
      s,
      "{\"kind\":\"features\",\"visible\":\"%s\",\"hidden\":%d,\"epochs\":%d,"
      "\"batch_size\":%d,\"learning_rate\":%!.15g,\"momentum\":%!.15g,",
      o->cfg.visible == RBM_UNIT_GAUSSIAN ? "gaussian" : "bernoulli", c->hidden,
      c->epochs, c->batch_size, c->learning_rate, c->momentum);
  if (c->momentum_start < 0) {
    sqlite3_str_appendall(s, "\"momentum_start\":null,");
  } else {
    sqlite3_str_appendf(s, "\"momentum_start\":%!.15g,", c->momentum_start);
  }
  sqlite3_str_appendf(
      s,
      "\"momentum_epochs\":%d,\"lr_decay\":%!.15g,\"weight_decay\":%!.15g,"
      "\"cd_k\":%d,\"pcd\":%s,\"seed\":%llu,\"threads\":%s,\"verbose\":%s,"
      "\"validation\":%!.15g,\"patience\":%d,\"l2\":%!.15g,"
      "\"head_iterations\":%d,\"label\":",
      c->momentum_epochs, c->lr_decay, c->weight_decay, c->cd_k,
      c->pcd ? "true" : "false", (unsigned long long)c->seed, threads,
      c->verbose ? "true" : "false", c->validation, c->patience, o->cfg.l2,
      o->cfg.head_iterations);
  if (o->label) {
    sql_append_json_string(s, o->label);
  } else {
    sqlite3_str_appendall(s, "null");
  }
  if (c->max_memory > 0) {
    sqlite3_str_appendf(s, ",\"max_memory\":%!.15g", c->max_memory);
  } else {
    sqlite3_str_appendall(s, ",\"max_memory\":null");  /* the default share */
  }
  sqlite3_str_appendall(s, ",\"features\":");
  sql_append_json_string(s, features);
  sqlite3_str_appendchar(s, 1, '}');
  return sqlite3_str_finish(s);
}

/* ---- the features --------------------------------------------------------- */

/* SQLite's affinity rules (section 3.1 of datatype3.html): numeric for
** INT, REAL/FLOA/DOUB, and anything not TEXT-like or BLOB-like. */
static int numeric_type(const char *type) {
  if (!type || !*type) return 0;  /* no type: BLOB affinity */
  char up[64];
  size_t n = 0;
  for (; type[n] && n + 1 < sizeof up; n++)
    up[n] = (char)(type[n] >= 'a' && type[n] <= 'z' ? type[n] - 32 : type[n]);
  up[n] = 0;
  if (strstr(up, "INT")) return 1;
  if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT") || strstr(up, "BLOB"))
    return 0;
  return 1;
}

/* The feature columns: from a JSON array of names, or (features NULL)
** the source's numeric columns but the label and the primary key. */
static int feature_columns(sqlite3 *db, const sql_source *src,
                           const char *features, const char *label,
                           char ***cols, int *n_cols, char **err) {
  sqlite3_stmt *st;
  int rc;
  if (features) {
    rc = sqlite3_prepare_v2(db,
                            "SELECT type, value FROM json_each(?1)", -1, &st, NULL);
    if (rc == SQLITE_OK) sqlite3_bind_text(st, 1, features, -1, SQLITE_STATIC);
  } else {
    rc = sqlite3_prepare_v2(db,
                            "SELECT name, type, pk FROM pragma_table_info(?1, ?2)"
                            " ORDER BY cid", -1, &st, NULL);
    if (rc == SQLITE_OK) {
      sqlite3_bind_text(st, 1, src->table, -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 2, src->schema, -1, SQLITE_STATIC);
    }
  }
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    return rc;
  }
  int cap = 0, n = 0;
  char **list = NULL;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *name;
    if (features) {
      const char *t = (const char *)sqlite3_column_text(st, 0);
      name = (const char *)sqlite3_column_text(st, 1);
      if (!t || strcmp(t, "text") || !name || !*name) {
        *err = sqlite3_mprintf("features must be a column, a JSON array of "
                               "column names, or NULL");
        rc = SQLITE_ERROR;
        break;
      }
    } else {
      name = (const char *)sqlite3_column_text(st, 0);
      if (!numeric_type((const char *)sqlite3_column_text(st, 1)) ||
          sqlite3_column_int(st, 2) || (label && !sqlite3_stricmp(name, label)))
        continue;
    }
    if (label && !sqlite3_stricmp(name, label)) {
      *err = sqlite3_mprintf("the label column \"%s\" cannot be a feature too", name);
      rc = SQLITE_ERROR;
      break;
    }
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **grown = sqlite3_realloc64(list, (sqlite3_uint64)cap * sizeof *list);
      if (!grown) {
        rc = SQLITE_NOMEM;
        break;
      }
      list = grown;
    }
    if (!(list[n] = sqlite3_mprintf("%s", name))) {
      rc = SQLITE_NOMEM;
      break;
    }
    n++;
  }
  if (rc == SQLITE_ROW) rc = SQLITE_ERROR;
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc == SQLITE_OK && n == 0)
    *err = sqlite3_mprintf(features ? "features names no column"
                                    : "the source has no numeric column to read "
                                      "as features (name them, or give a vector column)"),
    rc = SQLITE_ERROR;
  if (rc != SQLITE_OK && !*err)
    *err = sqlite3_mprintf("%s", rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) {
    for (int j = 0; j < n; j++) sqlite3_free(list[j]);
    sqlite3_free(list);
    return rc;
  }
  *cols = list;
  *n_cols = n;
  return SQLITE_OK;
}

/* 0 with *err set if the source has no column name: a quoted name that
** is not a column would otherwise read as a string literal. */
static int has_column(sqlite3 *db, const sql_source *src, const char *name,
                      char **err) {
  sqlite3_stmt *st;
  int columns = 0, found = 0, rc;
  rc = sqlite3_prepare_v2(db,
                          "SELECT count(*), count(*) FILTER (WHERE name = ?3"
                          " COLLATE NOCASE) FROM pragma_table_info(?1, ?2)",
                          -1, &st, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(st, 1, src->table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, src->schema, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      columns = sqlite3_column_int(st, 0);
      found = sqlite3_column_int(st, 1) > 0;
    }
    sqlite3_finalize(st);
  }
  if (rc != SQLITE_ROW) {  /* could not look: say why, not "no such table" */
    *err = sqlite3_mprintf("%s", rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
  } else if (!columns) {
    *err = sqlite3_mprintf("no such table or view: %s", src->table);
  } else if (!found) {
    *err = sqlite3_mprintf("%s has no column \"%s\"", src->table, name);
  }
  return found;
}

/* ---- reading the rows ------------------------------------------------------ */

typedef struct feature_rows {
  float *X;
  size_t n, cap;
  uint32_t d;
  double limit;        /* the most the matrix may take (max_memory) */
  int over;            /* it would have taken more */
  uint32_t *label;     /* class index per row, or NULL */
  rbm_keys labels;
} feature_rows;

static void rows_free(feature_rows *r) {
  free(r->X);
  free(r->label);
  rbm_keys_free(&r->labels);
  memset(r, 0, sizeof *r);
}

/* "rowid 12", or "row 12" in the order read (a view, whose rowid is NULL
** or absent). */
static char *row_name(sqlite3_stmt *st, int has_rowid, size_t row) {
  return has_rowid && sqlite3_column_type(st, 0) == SQLITE_INTEGER
             ? sqlite3_mprintf("rowid %lld", sqlite3_column_int64(st, 0))
             : sqlite3_mprintf("row %llu", (unsigned long long)row + 1);
}

static int add_row(feature_rows *r, int labelled) {
  if (r->n < r->cap) return 1;
  size_t cap = r->cap ? 2 * r->cap : 1024;
  if (cap > SIZE_MAX / sizeof(float) / r->d) return 0;
  double row = (double)r->d * sizeof(float);
  if ((double)cap * row > r->limit) {  /* up to the limit, not past it */
    if ((double)(r->n + 1) * row > r->limit) {
      r->over = 1;  /* before allocating it */
      return 0;
    }
    cap = (size_t)(r->limit / row);
  }
  float *X = realloc(r->X, cap * r->d * sizeof *X);
  if (!X) return 0;
  r->X = X;
  if (labelled) {
    uint32_t *label = realloc(r->label, cap * sizeof *label);
    if (!label) return 0;
    r->label = label;
  }
  r->cap = cap;
  return 1;
}

/* Sorts the labels (integers ascending, then text by its bytes) and
** renumbers the rows' classes to match, so a model's classes read in
** order. */
typedef struct label_order {
  rbm_key key;
  uint32_t index;
} label_order;

static int key_order(const void *a, const void *b) {
  const rbm_key *x = &((const label_order *)a)->key, *y = &((const label_order *)b)->key;
  if (!x->text != !y->text) return x->text ? 1 : -1;
  if (!x->text) return (x->i > y->i) - (x->i < y->i);
  uint32_t n = x->len < y->len ? x->len : y->len;
  int c = n ? memcmp(x->text, y->text, n) : 0;
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int sort_labels(feature_rows *r) {
  uint32_t C = r->labels.n;
  label_order *order = malloc(C * sizeof *order);
  uint32_t *rank = malloc(C * sizeof *rank);
  rbm_keys sorted = {0};
  int ok = order && rank;
  for (uint32_t k = 0; ok && k < C; k++) order[k] = (label_order){rbm_keys_get(&r->labels, k), k};
  if (ok) qsort(order, C, sizeof *order, key_order);
  for (uint32_t k = 0; ok && k < C; k++) {
    ok = rbm_keys_intern(&sorted, &order[k].key) == (int64_t)k;
    rank[order[k].index] = k;
  }
  if (ok) {
    for (size_t j = 0; j < r->n; j++) r->label[j] = rank[r->label[j]];
    rbm_keys_free(&r->labels);
    r->labels = sorted;
  } else {
    rbm_keys_free(&sorted);
  }
  free(order);
  free(rank);
  return ok;
}

static int read_rows(sqlite3 *db, const sql_source *src, const char *vector_col,
                     char **cols, int n_cols, const char *label,
                     int unit_interval, feature_rows *r, char **err) {
  char *from = sql_source_from_clause(src);
  sqlite3_str *s = sqlite3_str_new(NULL);
  int has_rowid;
  sqlite3_stmt *st = NULL;
  int rc = SQLITE_NOMEM;
  double limit = r->limit;
  memset(r, 0, sizeof *r);
  r->limit = limit;
  if (!from) goto done;
  for (has_rowid = 1; has_rowid >= 0; has_rowid--) {  /* a view has no rowid */
    sqlite3_str_reset(s);
    sqlite3_str_appendall(s, "SELECT ");
    if (has_rowid) sqlite3_str_appendall(s, "rowid, ");
    if (label) sqlite3_str_appendf(s, "\"%w\", ", label);
    if (vector_col) {
      sqlite3_str_appendf(s, "\"%w\"", vector_col);
    } else {
      for (int j = 0; j < n_cols; j++)
        sqlite3_str_appendf(s, "%s\"%w\"", j ? ", " : "", cols[j]);
    }
    sqlite3_str_appendf(s, " FROM %s", from);
    const char *sql = sqlite3_str_value(s);
    if (!sql) {
      rc = SQLITE_NOMEM;
      *err = sqlite3_mprintf("out of memory");
      goto done;
    }
    rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) break;
  }
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("reading %s: %s", from, sqlite3_errmsg(db));
    goto done;
  }
  int first = has_rowid + (label != NULL);  /* the first feature's column */
  r->d = vector_col ? 0 : (uint32_t)n_cols;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    char *why = NULL;
    rc = SQLITE_OK;
    if (vector_col) {
      sql_vector v;
      rc = sql_vector_from_value(sqlite3_column_value(st, first), &v, &why);
      if (rc == SQLITE_OK && v.n == 0) {
        why = sqlite3_mprintf("the vector is empty");
        rc = SQLITE_ERROR;
      }
      if (rc == SQLITE_OK && r->n == 0) r->d = v.n;
      if (rc == SQLITE_OK && v.n != r->d) {
        why = sqlite3_mprintf("the vector has %u elements, the first row's %u",
                              v.n, r->d);
        rc = SQLITE_ERROR;
      }
      if (rc == SQLITE_OK && !add_row(r, label != NULL)) rc = SQLITE_NOMEM;
      if (rc == SQLITE_OK) memcpy(r->X + r->n * r->d, v.x, r->d * sizeof *r->X);
      sql_vector_free(&v);
    } else {
      if (!add_row(r, label != NULL)) rc = SQLITE_NOMEM;
      for (int j = 0; rc == SQLITE_OK && j < n_cols; j++) {
        sqlite3_value *val = sqlite3_column_value(st, first + j);
        double x;
        if (sqlite3_value_type(val) == SQLITE_NULL) {
          why = sqlite3_mprintf("column \"%s\" is NULL", cols[j]);
          rc = SQLITE_ERROR;
        } else if (!sql_number_from_value(val, &x)) {
          why = sqlite3_mprintf("column \"%s\" is not a finite number ('%s')",
                                cols[j], sqlite3_column_text(st, first + j));
          rc = SQLITE_ERROR;
        } else {
          r->X[r->n * r->d + j] = (float)x;
        }
      }
    }
    for (uint32_t i = 0; rc == SQLITE_OK && unit_interval && i < r->d; i++) {
      float x = r->X[r->n * r->d + i];
      if (x < 0 || x > 1) {
        char *which = vector_col ? sqlite3_mprintf("element %u", i)
                                 : sqlite3_mprintf("column \"%s\"", cols[i]);
        why = sqlite3_mprintf("%s is %g, but Bernoulli visible units read "
                              "values in [0, 1] (scale them, or use visible "
                              "'gaussian')", which ? which : "a feature", (double)x);
        sqlite3_free(which);
        rc = SQLITE_ERROR;
      }
    }
    if (rc == SQLITE_OK && label) {
      rbm_key key;
      char buf[40];
      if (!sql_key_from_value(sqlite3_column_value(st, has_rowid), &key, buf, sizeof buf)) {
        why = sqlite3_mprintf("the label is NULL");
        rc = SQLITE_ERROR;
      } else {
        int64_t k = rbm_keys_intern(&r->labels, &key);
        if (k < 0) rc = SQLITE_NOMEM;
        else r->label[r->n] = (uint32_t)k;
      }
    }
    if (rc != SQLITE_OK) {
      if (r->over) {  /* add_row stopped before allocating past the limit */
        char n[32], l[32];
        sqlite3_free(why);
        *err = sqlite3_mprintf(
            "the rows need more than max_memory (%s): %s at row %llu, of %u "
            "features; raise max_memory, or train on fewer rows",
            rbm_format_bytes(r->limit, l, sizeof l),
            rbm_format_bytes((r->n + 1.0) * r->d * sizeof(float), n, sizeof n),
            (unsigned long long)r->n + 1, r->d);
        rc = SQLITE_ERROR;
      } else if (rc == SQLITE_NOMEM) {
        sqlite3_free(why);
        *err = sqlite3_mprintf("out of memory");
      } else {
        char *where = row_name(st, has_rowid, r->n);
        *err = sqlite3_mprintf("%s: %s", where, why);
        sqlite3_free(where);
        sqlite3_free(why);
      }
      goto done;
    }
    r->n++;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc != SQLITE_OK) *err = sqlite3_mprintf("reading %s: %s", from, sqlite3_errmsg(db));
  if (rc == SQLITE_OK && r->n == 0) {
    *err = sqlite3_mprintf("%s has no rows", from);
    rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK && label && r->labels.n > RBM_MAX_CLASSES) {
    *err = sqlite3_mprintf("the label has more than %d distinct values: a "
                           "head takes at most that many classes (is \"%s\" an id?)",
                           RBM_MAX_CLASSES, label);
    rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK && label && !sort_labels(r)) {
    *err = sqlite3_mprintf("out of memory");
    rc = SQLITE_NOMEM;
  }
done:
  sqlite3_finalize(st);
  sqlite3_free(sqlite3_str_finish(s));
  sqlite3_free(from);
  if (rc != SQLITE_OK) rows_free(r);
  return rc;
}

/* The rows of src as feature vectors: features is a vector column, a JSON
** array of columns, or NULL (every numeric column); every column named
** must exist.  *vector says which the first was; *cols (sqlite3_free each
** and the array) the columns otherwise. */
static int read_features(sqlite3 *db, const sql_source *src,
                         const char *features, const char *label,
                         int unit_interval, feature_rows *rows, int *vector,
                         char ***cols, int *n_cols, char **err) {
  int rc = SQLITE_OK;
  *vector = features && features[strspn(features, " \t\n")] != '[';
  if (*vector && label && !sqlite3_stricmp(features, label)) {
    *err = sqlite3_mprintf("the label column cannot be the features too");
    return SQLITE_ERROR;
  }
  if (!*vector) rc = feature_columns(db, src, features, label, cols, n_cols, err);
  if (rc == SQLITE_OK && label && !has_column(db, src, label, err)) rc = SQLITE_ERROR;
  if (rc == SQLITE_OK && *vector && !has_column(db, src, features, err)) rc = SQLITE_ERROR;
  for (int j = 0; rc == SQLITE_OK && !*vector && features && j < *n_cols; j++)
    if (!has_column(db, src, (*cols)[j], err)) rc = SQLITE_ERROR;
  if (rc == SQLITE_OK)
    rc = read_rows(db, src, *vector ? features : NULL, *cols, *n_cols, label,
                   unit_interval, rows, err);
  return rc;
}

/* ---- training --------------------------------------------------------------- */

static void fit_epoch(void *arg, const rbm_dense_epoch *e) {
  rbm_epoch_stats st = {e->epoch, e->seconds, e->recon_rmse, {0, NAN, NAN, NAN},
                        e->best_epoch};
  if (!isnan(e->validation_rmse)) {
    st.validation.ratings = 1;  /* measured */
    st.validation.rmse = e->validation_rmse;
  }
  sql_run_epoch(arg, &st);
}

static void append_number(sqlite3_str *s, const char *name, double x) {
  if (isfinite(x)) {
    sqlite3_str_appendf(s, ",\"%s\":%!.6g", name, x);
  } else {
    sqlite3_str_appendf(s, ",\"%s\":null", name);
  }
}

static char *summary_json(const char *name, const feature_rows *r,
                          const rbm_dense_model *m, const rbm_dense_report *rep,
                          double seconds, double ingest) {
  sqlite3_str *s = sqlite3_str_new(NULL);
  sqlite3_str_appendall(s, "{\"model\":");
  sql_append_json_string(s, name);
  sqlite3_str_appendf(
      s,
      ",\"kind\":\"features\",\"rows\":%llu,\"features\":%u,\"visible\":\"%s\","
      "\"hidden\":%u,\"epochs_run\":%d,\"threads\":%d,\"seconds\":%.3f,"
      "\"ingest_seconds\":%.3f,\"rbm_seconds\":%.3f,\"epoch_seconds\":%.3f",
      (unsigned long long)r->n, r->d, m->layer.visible_type == RBM_UNIT_GAUSSIAN ? "gaussian" : "bernoulli",
      m->layer.n_hidden, rep->epochs_run, rep->threads, seconds, ingest,
      rep->rbm_seconds, rep->epochs_run ? rep->cd_seconds / rep->epochs_run : 0.0);
  append_number(s, "gflops", m->layer.n_hidden ? rep->gflops : NAN);
  append_number(s, "recon_rmse", m->layer.n_hidden ? rep->recon_rmse : NAN);
  append_number(s, "validation_rmse", rep->validation_rmse);
  if (rep->best_epoch) sqlite3_str_appendf(s, ",\"best_epoch\":%d", rep->best_epoch);
  sqlite3_str_appendall(s, ",\"classes\":");
  if (m->n_classes) {
    sqlite3_str_appendchar(s, 1, '[');
    for (uint32_t k = 0; k < m->n_classes; k++) {
      rbm_key key = rbm_keys_get(&m->labels, k);
      if (k) sqlite3_str_appendchar(s, 1, ',');
      if (key.text) {
        char *text = sqlite3_mprintf("%.*s", (int)key.len, key.text);
        sql_append_json_string(s, text ? text : "");
        sqlite3_free(text);
      } else {
        sqlite3_str_appendf(s, "%lld", (long long)key.i);
      }
    }
    sqlite3_str_appendf(s, "],\"head_iterations\":%d,\"head_seconds\":%.3f",
                        rep->head_iterations, rep->head_seconds);
    append_number(s, "head_loss", rep->head_loss);
    append_number(s, "train_accuracy", rep->train_accuracy);
  } else {
    sqlite3_str_appendall(s, "null");
  }
  sqlite3_str_appendchar(s, 1, '}');
  return sqlite3_str_finish(s);
}

/* The features as stored in rbm_models.item_column: the vector column, or
** the columns as a JSON array. */
static char *features_spec(const char *vector_col, char **cols, int n_cols) {
  if (vector_col) return sqlite3_mprintf("%s", vector_col);
  sqlite3_str *s = sqlite3_str_new(NULL);
  sqlite3_str_appendchar(s, 1, '[');
  for (int j = 0; j < n_cols; j++) {
    if (j) sqlite3_str_appendchar(s, 1, ',');
    sql_append_json_string(s, cols[j]);
  }
  sqlite3_str_appendchar(s, 1, ']');
  return sqlite3_str_finish(s);
}

/* The (model, source, features) arguments rbm_fit and rbm_evaluate share;
** 0 after reporting what is wrong. */
static int feature_args(sqlite3_context *ctx, const char *fname,
                        sqlite3_value **argv, const char **name,
                        const char **table, const char **features) {
  const char *arg[3];
  for (int k = 0; k < 3; k++)
    arg[k] = sqlite3_value_type(argv[k]) == SQLITE_TEXT
                 ? (const char *)sqlite3_value_text(argv[k]) : NULL;
  const char *why = !arg[0] || !*arg[0] ? "model name must be non-empty text"
                    : !arg[1] || !*arg[1] ? "source must be non-empty text"
                    : (arg[2] ? !*arg[2] : sqlite3_value_type(argv[2]) != SQLITE_NULL)
                        ? "features must be a column, a JSON array of column names, or NULL"
                        : NULL;
  if (why) {
    sql_result_error(ctx, fname, SQLITE_MISUSE, sql_errorf("%s", why));
    return 0;
  }
  *name = arg[0];
  *table = arg[1];
  *features = arg[2];
  return 1;
}

static void fit_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  double start = now_seconds();
  fit_options o;
  memset(&o, 0, sizeof o);
  rbm_dense_config_defaults(&o.cfg, RBM_UNIT_BERNOULLI, 0);
  /* Their defaults depend on visible and pcd, given in any order. */
  o.cfg.train.learning_rate = o.cfg.train.lr_decay = NAN;
  o.cfg.train.weight_decay = o.cfg.train.momentum = NAN;
  sql_source src;
  memset(&src, 0, sizeof src);
  feature_rows rows;
  memset(&rows, 0, sizeof rows);
  char **cols = NULL, *err = NULL, *spec = NULL;
  int n_cols = 0, rc = SQLITE_OK;
  sql_trained t;
  memset(&t, 0, sizeof t);
  const char *name, *table, *features;
  if (!feature_args(ctx, "rbm_fit", argv, &name, &table, &features)) return;
  if (argc > 3 && sqlite3_value_type(argv[3]) != SQLITE_NULL)
    rc = sql_json_members(db, (const char *)sqlite3_value_text(argv[3]),
                          "{\"hidden\": 256, \"label\": \"digit\"}", fit_option, &o,
                          &err);
  if (rc == SQLITE_OK) {
    rbm_dense_config d;
    rbm_dense_config_defaults(&d, o.cfg.visible, o.cfg.train.pcd);
    if (isnan(o.cfg.train.learning_rate))
      o.cfg.train.learning_rate = d.train.learning_rate;
    if (isnan(o.cfg.train.lr_decay)) o.cfg.train.lr_decay = d.train.lr_decay;
    if (isnan(o.cfg.train.weight_decay))
      o.cfg.train.weight_decay = d.train.weight_decay;
    if (isnan(o.cfg.train.momentum)) o.cfg.train.momentum = d.train.momentum;
  }
  const char *why = rc == SQLITE_OK ? rbm_dense_config_check(&o.cfg) : NULL;
  if (why) {
    err = sqlite3_mprintf("%s", why);
    rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK && o.cfg.train.hidden == 0 && !o.label) {
    err = sqlite3_mprintf("hidden 0 trains only a head: give a label");
    rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK) rc = sql_source_set_table(db, &src, table);
  int vector = 0;
  rows.limit = rbm_memory_limit(o.cfg.train.max_memory);
  if (rc == SQLITE_OK) rc = sql_models_table_ready(db, name, &err);
  if (rc == SQLITE_OK)
    rc = read_features(db, &src, features, o.label, o.cfg.visible == RBM_UNIT_BERNOULLI,
                       &rows, &vector, &cols, &n_cols, &err);
  if (rc == SQLITE_OK && o.label && rows.labels.n < 2) {
    err = sqlite3_mprintf("the label has one value only: a classifier needs two");
    rc = SQLITE_ERROR;
  }
  double ingest = now_seconds() - start;
  rbm_dense_report rep;
  if (rc == SQLITE_OK) {
    sql_run *run = sql_run_open(db, "rbm_fit", name, o.cfg.train.epochs,
                                o.cfg.train.verbose, NULL, &err);
    if (!run) {
      rc = SQLITE_ERROR;
    } else {
      rbm_dense_hooks hooks = {run, sql_run_should_stop, fit_epoch};
      char msg[300];
      int trc = rbm_dense_train(&o.cfg, rows.X, rows.n, rows.d, rows.label,
                                &rows.labels, &hooks, &t.features, &rep, msg,
                                sizeof msg);
      rc = sql_run_close(run, &err);
      if (trc != RBM_OK) {
        sqlite3_free(err);
        err = sqlite3_mprintf("%s", msg);
        rc = trc == RBM_STOPPED ? SQLITE_INTERRUPT
             : trc == RBM_NOMEM ? SQLITE_NOMEM : SQLITE_ERROR;
      }
    }
  }
  if (rc == SQLITE_OK) {
    spec = features_spec(vector ? features : NULL, cols, n_cols);
    t.options = spec ? options_json(&o, spec) : NULL;
    t.summary = summary_json(name, &rows, t.features, &rep, now_seconds() - start, ingest);
    src.user = sqlite3_mprintf("");
    src.item = sqlite3_mprintf("%s", spec ? spec : "");
    src.rating = sqlite3_mprintf("%s", o.label ? o.label : "");
    if (!t.options || !t.summary || !src.user || !src.item || !src.rating)
      rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) rc = sql_store_model(db, name, &src, &t, &err);
  if (rc == SQLITE_OK) {
    sqlite3_result_text(ctx, t.summary, -1, sqlite3_free);
    sqlite3_result_subtype(ctx, JSON_SUBTYPE);
    t.summary = NULL;
  } else {
    sql_result_error(ctx, "rbm_fit", rc, err);
  }
  sql_trained_free(&t);
  rows_free(&rows);
  sql_source_free(&src);
  for (int j = 0; j < n_cols; j++) sqlite3_free(cols[j]);
  sqlite3_free(cols);
  sqlite3_free(spec);
  sqlite3_free(o.label);
}

/* ---- rbm_evaluate for a feature model ------------------------------------- */

/* rbm_evaluate(model, source, features [, options]): the model on a
** held-out table whose features are read as rbm_fit reads them.  Options:
** "label" (default: the model's label column, when the source has it).
** Returns JSON: rows; recon_rmse (of the mean-field reconstruction, in
** feature space), free_energy (mean), pseudo_likelihood (mean, Bernoulli
** units: scikit-learn's score_samples); with a label, accuracy and
** log_loss (rows whose label the model does not know count as wrong, and
** are left out of the log loss). */
static void evaluate_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  const char *name, *table, *features;
  if (!feature_args(ctx, "rbm_evaluate", argv, &name, &table, &features)) return;
  fit_options o;
  memset(&o, 0, sizeof o);
  rbm_dense_config_defaults(&o.cfg, RBM_UNIT_BERNOULLI, 0);
  char *err = NULL, **cols = NULL;
  int n_cols = 0, rc = SQLITE_OK;
  rbm_dense_model *m = NULL;
  sql_source src;
  memset(&src, 0, sizeof src);
  feature_rows rows;
  memset(&rows, 0, sizeof rows);
  if (argc > 3 && sqlite3_value_type(argv[3]) != SQLITE_NULL)
    rc = sql_json_members(db, (const char *)sqlite3_value_text(argv[3]),
                          "{\"label\": \"digit\"}", fit_option, &o, &err);
  if (rc == SQLITE_OK) rc = sql_feature_model_load(db, name, &m, &err);
  if (rc == SQLITE_OK) rc = sql_source_set_table(db, &src, table);
  if (rc == SQLITE_OK && !o.label && m->n_classes) {  /* the model's own label column */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT rating_column FROM main.rbm_models WHERE name = ?1",
                           -1, &st, NULL) == SQLITE_OK) {
      sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
      if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) > 0) {
        char *ignored = NULL;
        const char *col = (const char *)sqlite3_column_text(st, 0);
        if (has_column(db, &src, col, &ignored)) o.label = sqlite3_mprintf("%s", col);
        sqlite3_free(ignored);
      }
      sqlite3_finalize(st);
    }
  }
  int vector = 0;
  rows.limit = rbm_memory_limit(o.cfg.train.max_memory);
  if (rc == SQLITE_OK)
    rc = read_features(db, &src, features, o.label, 0, &rows, &vector, &cols,
                       &n_cols, &err);
  if (rc == SQLITE_OK && rows.d != m->layer.n_visible) {
    err = sqlite3_mprintf("the source's rows have %u features; the model reads %u",
                          rows.d, m->layer.n_visible);
    rc = SQLITE_ERROR;
  }
  uint32_t d = rows.d, C = m ? m->n_classes : 0;
  float *out = rc == SQLITE_OK ? malloc((size_t)d * sizeof *out) : NULL;
  float *p = rc == SQLITE_OK ? malloc((C ? C : 1) * sizeof *p) : NULL;
  if (rc == SQLITE_OK && (!out || !p)) rc = SQLITE_NOMEM;
  double sq = 0, fe = 0, pl = 0, right = 0, loss = 0;
  size_t known = 0;
  int rbm = m && m->layer.n_hidden > 0, labelled = o.label && C;
  for (size_t j = 0; rc == SQLITE_OK && j < rows.n; j++) {
    const float *x = rows.X + j * d;
    if (rbm) {
      if (rbm_dense_reconstruct(m, x, out) != RBM_OK) rc = SQLITE_NOMEM;
      for (uint32_t i = 0; i < d; i++) sq += ((double)out[i] - x[i]) * ((double)out[i] - x[i]);
      fe += rbm_dense_free_energy(m, x);
      pl += rbm_dense_pseudo_likelihood(m, x, j);
    }
    if (labelled && rc == SQLITE_OK) {
      if (rbm_dense_class_probs(m, x, p) != RBM_OK) rc = SQLITE_NOMEM;
      rbm_key truth = rbm_keys_get(&rows.labels, rows.label[j]);
      int64_t k = rbm_keys_find(&m->labels, &truth);
      uint32_t best = 0;
      for (uint32_t c = 1; c < C; c++) best = p[c] > p[best] ? c : best;
      right += k >= 0 && (uint32_t)k == best;
      if (k >= 0) {
        loss -= log(p[k] > 1e-15f ? p[k] : 1e-15f);
        known++;
      }
    }
  }
  if (rc == SQLITE_OK) {
    double n = (double)rows.n;
    sqlite3_str *s = sqlite3_str_new(NULL);
    sqlite3_str_appendall(s, "{\"model\":");
    sql_append_json_string(s, name);
    sqlite3_str_appendf(s, ",\"kind\":\"features\",\"rows\":%llu",
                        (unsigned long long)rows.n);
    append_number(s, "recon_rmse", rbm ? sqrt(sq / (n * d)) : NAN);
    append_number(s, "free_energy", rbm ? fe / n : NAN);
    append_number(s, "pseudo_likelihood",
                  rbm && m->layer.visible_type == RBM_UNIT_BERNOULLI ? pl / n : NAN);
    append_number(s, "accuracy", labelled ? right / n : NAN);
    append_number(s, "log_loss", labelled && known ? loss / (double)known : NAN);
    sqlite3_str_appendchar(s, 1, '}');
    sql_result_json(ctx, s);
  } else {
    sql_result_error(ctx, "rbm_evaluate", rc, err);
    err = NULL;
  }
  sqlite3_free(err);
  free(out);
  free(p);
  rbm_dense_free(m);
  rows_free(&rows);
  sql_source_free(&src);
  for (int j = 0; j < n_cols; j++) sqlite3_free(cols[j]);
  sqlite3_free(cols);
  sqlite3_free(o.label);
}

int sql_register_fit(sqlite3 *db) {
  int rc = SQLITE_OK;
  for (int n = 3; rc == SQLITE_OK && n <= 4; n++)
    rc = sqlite3_create_function(db, "rbm_fit", n,
                                 SQLITE_UTF8 | SQLITE_DIRECTONLY | RESULT_SUBTYPE,
                                 NULL, fit_func, NULL, NULL);
  for (int n = 3; rc == SQLITE_OK && n <= 4; n++)
    rc = sqlite3_create_function(db, "rbm_evaluate", n, SQLITE_UTF8 | RESULT_SUBTYPE,
                                 NULL, evaluate_func, NULL, NULL);
  return rc;
}
