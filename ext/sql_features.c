/*
** sql_features.c -- using a feature model (rbm_fit) from SQL.
**
**   rbm_transform(model, vector)      P(h = 1 | v): a float32 BLOB, ready
**                                     for a sqlite-vec vec0 column (with
**                                     sqlite-vec's float32 subtype)
**   rbm_reconstruct(model, vector)    one mean-field up-down pass, in
**                                     feature space: a float32 BLOB
**   rbm_free_energy(model, vector)    REAL; higher is less typical
**   rbm_classify(model, vector)       the label (integer or text, as stored)
**   rbm_class_probs(model, vector)    JSON object: label -> probability
**
** vector is a float32 BLOB or a JSON array; for a model of plain columns it
** may also be the columns themselves, rbm_classify(model, p0, p1, ...), up
** to SQLite's limit on arguments.  The model is read from rbm_models once
** per statement (kept in the auxdata of its name argument).
*/
#include "sql_glue.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The feature model called name, decoded. */
int sql_feature_model_load(sqlite3 *db, const char *name,
                           rbm_dense_model **out, char **err) {
  sqlite3_stmt *st;
  *out = NULL;
  int rc = sqlite3_prepare_v2(db, "SELECT model FROM main.rbm_models WHERE name = ?1",
                              -1, &st, NULL);
  if (rc != SQLITE_OK) {  /* no rbm_models: nothing was ever trained here */
    *err = sqlite3_mprintf("no model '%s' (%s)", name, sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const void *blob = sqlite3_column_blob(st, 0);
    int n = sqlite3_column_bytes(st, 0);
    if (!blob && sqlite3_errcode(db) == SQLITE_NOMEM) {
      *err = sqlite3_mprintf("out of memory");
      rc = SQLITE_NOMEM;
    } else if (!rbm_blob_is_dense(blob, (size_t)n)) {
      int rating = sqlite3_column_type(st, 0) == SQLITE_BLOB && n >= 8 &&
                   (!memcmp(blob, "RBMMODEL", 8) || rbm_blob_is_pair(blob, (size_t)n));
      *err = rating ? sqlite3_mprintf("model '%s' is a rating model: use rbm_predict "
                                      "or rbm_recommend", name)
                    : sqlite3_mprintf("model '%s' is not a feature model (its blob "
                                      "is not one)", name);
      rc = SQLITE_ERROR;
    } else if ((rc = sql_check_blob_memory(n, err)) == SQLITE_OK) {
      char msg[200];
      int lrc = rbm_dense_load(blob, (size_t)n, out, msg, sizeof msg);
      rc = lrc == RBM_OK ? SQLITE_OK : lrc == RBM_NOMEM ? SQLITE_NOMEM : SQLITE_CORRUPT;
      if (rc != SQLITE_OK) *err = sqlite3_mprintf("model '%s': %s", name, msg);
    }
  } else if (rc == SQLITE_DONE) {
    *err = sqlite3_mprintf("no model '%s'", name);
    rc = SQLITE_ERROR;
  } else {
    *err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  return rc;
}

static void model_destroy(void *m) { rbm_dense_free(m); }

/* The model of argv[0] and the vector of the rest, checked; or the error
** is reported and 0 returned. */
#define NEEDS_RBM 1   /* hidden units */
#define NEEDS_HEAD 2  /* a classifier */

static int model_and_vector(sqlite3_context *ctx, const char *fname, int argc,
                            sqlite3_value **argv, int needs,
                            const rbm_dense_model **model, sql_vector *v) {
  rbm_dense_model *m = sqlite3_get_auxdata(ctx, 0);
  char *err = NULL;
  int rc = SQLITE_OK;
  memset(v, 0, sizeof *v);
  if (argc < 2) {
    sql_result_error(ctx, fname, SQLITE_MISUSE,
                     sql_errorf("give a model name and a vector"));
    return 0;
  }
  if (!m) {
    if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
      sql_result_error(ctx, fname, SQLITE_MISUSE, sql_errorf("model name must be text"));
      return 0;
    }
    rc = sql_feature_model_load(sqlite3_context_db_handle(ctx),
                                (const char *)sqlite3_value_text(argv[0]), &m, &err);
    if (rc != SQLITE_OK) {
      sql_result_error(ctx, fname, rc, err);
      return 0;
    }
    sqlite3_set_auxdata(ctx, 0, m, model_destroy);
    m = sqlite3_get_auxdata(ctx, 0);  /* NULL if SQLite could not keep it */
    if (!m) {
      sqlite3_result_error_nomem(ctx);
      return 0;
    }
  }
  uint32_t d = m->layer.n_visible;
  int numbers = (uint32_t)(argc - 1) == d &&
                (argc > 2 || sqlite3_value_numeric_type(argv[1]) == SQLITE_INTEGER ||
                 sqlite3_value_numeric_type(argv[1]) == SQLITE_FLOAT);
  if (numbers) {  /* the features as arguments */
    v->x = malloc(d * sizeof *v->x);
    v->n = d;
    if (!v->x) rc = SQLITE_NOMEM;
    for (uint32_t i = 0; rc == SQLITE_OK && i < d; i++) {
      double x;
      if (!sql_number_from_value(argv[1 + i], &x)) {
        err = sql_errorf("argument %u (feature %u) is not a finite number", i + 2, i + 1);
        rc = SQLITE_ERROR;
      } else {
        v->x[i] = (float)x;
      }
    }
  } else if (argc == 2) {
    rc = sql_vector_from_value(argv[1], v, &err);
  } else {
    err = sql_errorf("give one vector, or the model's %u features", d);
    rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK && v->n != d) {
    err = sql_errorf("the vector has %u elements; the model reads %u", v->n, d);
    rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK && (needs & NEEDS_RBM) && m->layer.n_hidden == 0) {
    err = sql_errorf("the model has no hidden units (hidden 0)");
    rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK && (needs & NEEDS_HEAD) && !m->n_classes) {
    err = sql_errorf("the model has no classifier: train it with a label");
    rc = SQLITE_ERROR;
  }
  if (rc != SQLITE_OK) {
    sql_vector_free(v);
    sql_result_error(ctx, fname, rc, err);
    return 0;
  }
  *model = m;
  return 1;
}

static void transform_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const rbm_dense_model *m;
  sql_vector v;
  if (!model_and_vector(ctx, "rbm_transform", argc, argv, NEEDS_RBM, &m, &v)) return;
  float *h = malloc(m->layer.n_hidden * sizeof *h);
  if (!h || rbm_dense_transform(m, v.x, h) != RBM_OK) {
    sqlite3_result_error_nomem(ctx);
  } else {
    sql_result_vector(ctx, h, m->layer.n_hidden);
  }
  free(h);
  sql_vector_free(&v);
}

static void reconstruct_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const rbm_dense_model *m;
  sql_vector v;
  if (!model_and_vector(ctx, "rbm_reconstruct", argc, argv, NEEDS_RBM, &m, &v)) return;
  float *out = malloc(v.n * sizeof *out);
  if (!out || rbm_dense_reconstruct(m, v.x, out) != RBM_OK) {
    sqlite3_result_error_nomem(ctx);
  } else {
    sql_result_vector(ctx, out, v.n);
  }
  free(out);
  sql_vector_free(&v);
}

static void free_energy_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const rbm_dense_model *m;
  sql_vector v;
  if (!model_and_vector(ctx, "rbm_free_energy", argc, argv, NEEDS_RBM, &m, &v)) return;
  double e = rbm_dense_free_energy(m, v.x);
  if (isnan(e)) {  /* out of memory, or weights that are not finite */
    sql_result_error(ctx, "rbm_free_energy", SQLITE_ERROR,
                     sql_errorf("the free energy is not a number"));
  } else {
    sqlite3_result_double(ctx, e);
  }
  sql_vector_free(&v);
}

/* The class probabilities, or NULL after reporting why. */
static float *class_probs(sqlite3_context *ctx, const char *fname, int argc,
                          sqlite3_value **argv, const rbm_dense_model **model) {
  sql_vector v;
  if (!model_and_vector(ctx, fname, argc, argv, NEEDS_HEAD, model, &v)) return NULL;
  const rbm_dense_model *m = *model;
  float *p = NULL;
  if (!(p = malloc(m->n_classes * sizeof *p)) ||
             rbm_dense_class_probs(m, v.x, p) != RBM_OK) {
    free(p);
    p = NULL;
    sqlite3_result_error_nomem(ctx);
  }
  sql_vector_free(&v);
  return p;
}

static void classify_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const rbm_dense_model *m;
  float *p = class_probs(ctx, "rbm_classify", argc, argv, &m);
  if (!p) return;
  uint32_t best = 0;
  for (uint32_t k = 1; k < m->n_classes; k++) best = p[k] > p[best] ? k : best;
  rbm_key key = rbm_keys_get(&m->labels, best);
  sql_result_key(ctx, &key);
  free(p);
}

static void class_probs_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const rbm_dense_model *m;
  float *p = class_probs(ctx, "rbm_class_probs", argc, argv, &m);
  if (!p) return;
  sqlite3_str *s = sqlite3_str_new(NULL);
  sqlite3_str_appendchar(s, 1, '{');
  for (uint32_t k = 0; k < m->n_classes; k++) {
    rbm_key key = rbm_keys_get(&m->labels, k);
    if (k) sqlite3_str_appendchar(s, 1, ',');
    char *label = key.text ? sqlite3_mprintf("%.*s", (int)key.len, key.text)
                           : sqlite3_mprintf("%lld", (long long)key.i);
    sql_append_json_string(s, label ? label : "");
    sqlite3_free(label);
    sqlite3_str_appendf(s, ":%!.6g", (double)p[k]);
  }
  sqlite3_str_appendchar(s, 1, '}');
  free(p);
  sql_result_json(ctx, s);
}

int sql_register_features(sqlite3 *db) {
  static const struct {
    const char *name;
    void (*fn)(sqlite3_context *, int, sqlite3_value **);
    int sets_subtype;  /* a vector's or JSON's */
  } FUNCS[] = {
      {"rbm_transform", transform_func, 1},
      {"rbm_reconstruct", reconstruct_func, 1},
      {"rbm_free_energy", free_energy_func, 0},
      {"rbm_classify", classify_func, 0},
      {"rbm_class_probs", class_probs_func, 1},
  };
  int rc = SQLITE_OK;
  for (size_t f = 0; rc == SQLITE_OK && f < sizeof FUNCS / sizeof *FUNCS; f++)
    rc = sqlite3_create_function(
        db, FUNCS[f].name, -1,
        SQLITE_UTF8 | (FUNCS[f].sets_subtype ? RESULT_SUBTYPE : 0), NULL,
        FUNCS[f].fn, NULL, NULL);
  return rc;
}
