/*
** sql_sample.c -- rbm_sample(model, n [, gibbs_steps [, seed]]): n vectors
** a feature model generates, by block Gibbs sampling from a random start.
**
**   SELECT sample, rbm_vector_to_json(vector) FROM rbm_sample('digits', 5);
**   SELECT vector FROM rbm_sample('digits', 100, 1000, 42);
**
** Each row is one chain: the visible units start drawn from their biases
** alone, then gibbs_steps (default 200) up-down passes; vector (a float32
** BLOB, in feature space) is the visible means of the last pass, which
** shows what the model learned more plainly than a 0/1 draw.  Sample j is
** the same for a seed whatever n is.  An RBM is a generative model: this
** is how to see what it learned.
**
** idxNum bits (xBestIndex -> xFilter), argv in xFilter in this order:
**   1  model = ?    (required)
**   2  n = ?        (required)
**   4  gibbs_steps = ?
**   8  seed = ?
*/
#include "sql_glue.h"

#include <stdlib.h>
#include <string.h>

enum { COL_SAMPLE, COL_VECTOR, COL_MODEL, COL_N, COL_STEPS, COL_SEED };
#define N_ARGS 4
#define DEFAULT_STEPS 200
#define MAX_SAMPLES 1000000
#define MAX_STEPS 1000000
#define MAX_PASSES 1000000000  /* n x gibbs_steps: minutes of work at most */

typedef struct sample_cursor {
  sql_tvf_cursor head;
  float *out;          /* n rows of d */
  uint32_t d;
  sqlite3_int64 n, row;
  /* The arguments, for the hidden columns. */
  char *model;
  sqlite3_int64 steps, seed;
} sample_cursor;

static int sample_connect(sqlite3 *db, void *aux, int argc,
                          const char *const *argv, sqlite3_vtab **out,
                          char **pzErr) {
  (void)aux, (void)argc, (void)argv, (void)pzErr;
  return sql_tvf_connect(db,
                         "CREATE TABLE x(sample INTEGER, vector BLOB,"
                         " model HIDDEN, n HIDDEN, gibbs_steps HIDDEN,"
                         " seed HIDDEN)",
                         0, out);
}

static int sample_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out) {
  return sql_tvf_open(v, sizeof(sample_cursor), out);
}

static int sample_close(sqlite3_vtab_cursor *cur) {
  sample_cursor *c = (sample_cursor *)cur;
  free(c->out);
  sqlite3_free(c->model);
  free(c);
  return SQLITE_OK;
}

static int fail(sample_cursor *c, int rc, char *err) {
  return sql_tvf_fail(&c->head, "rbm_sample", rc, err);
}

/* An integer argument in [lo, hi], or 0 after reporting why. */
static int int_arg(sample_cursor *c, sqlite3_value *v, const char *what,
                   sqlite3_int64 lo, sqlite3_int64 hi, sqlite3_int64 *out) {
  if (sqlite3_value_type(v) != SQLITE_INTEGER || sqlite3_value_int64(v) < lo ||
      sqlite3_value_int64(v) > hi) {
    fail(c, SQLITE_ERROR,
         sqlite3_mprintf("%s must be an integer from %lld to %lld", what, lo, hi));
    return 0;
  }
  *out = sqlite3_value_int64(v);
  return 1;
}

static int sample_filter(sqlite3_vtab_cursor *cur, int idxNum,
                         const char *idxStr, int argc, sqlite3_value **argv) {
  sample_cursor *c = (sample_cursor *)cur;
  (void)idxStr, (void)argc;
  free(c->out);
  c->out = NULL;
  c->n = c->row = 0;
  if ((idxNum & 3) != 3)
    return fail(c, SQLITE_ERROR, sqlite3_mprintf("give a model and n: rbm_sample('m', 10)"));
  int a = 0;
  sqlite3_value *model = argv[a++], *nv = argv[a++];
  sqlite3_int64 n, steps = DEFAULT_STEPS, seed = 0;
  if (!int_arg(c, nv, "n", 1, MAX_SAMPLES, &n)) return SQLITE_ERROR;
  if ((idxNum & 4) && !int_arg(c, argv[a++], "gibbs_steps", 0, MAX_STEPS, &steps))
    return SQLITE_ERROR;
  if ((idxNum & 8) && !int_arg(c, argv[a++], "seed", 0, INT64_MAX, &seed))
    return SQLITE_ERROR;
  if (sqlite3_value_type(model) != SQLITE_TEXT)
    return fail(c, SQLITE_ERROR, sqlite3_mprintf("model name must be text"));
  if ((double)n * (double)steps > MAX_PASSES)
    return fail(c, SQLITE_ERROR,
                sqlite3_mprintf("n x gibbs_steps is at most %d", MAX_PASSES));
  sqlite3_free(c->model);
  if (!(c->model = sqlite3_mprintf("%s", sqlite3_value_text(model))))
    return fail(c, SQLITE_NOMEM, NULL);
  c->steps = steps;
  c->seed = seed;
  rbm_dense_model *m;
  char *err = NULL;
  int rc = sql_feature_model_load(c->head.db, (const char *)sqlite3_value_text(model), &m, &err);
  if (rc != SQLITE_OK) return fail(c, rc, err);
  if (m->layer.n_hidden == 0) {
    rbm_dense_free(m);
    return fail(c, SQLITE_ERROR, sqlite3_mprintf("the model has no hidden units (hidden 0)"));
  }
  c->d = m->layer.n_visible;
  c->out = malloc((size_t)n * c->d * sizeof *c->out);
  rc = c->out ? rbm_dense_sample(m, (size_t)n, (int)steps, (uint64_t)seed, c->out)
              : RBM_NOMEM;
  rbm_dense_free(m);
  if (rc != RBM_OK) return fail(c, SQLITE_NOMEM, NULL);
  c->n = n;
  return SQLITE_OK;
}

static int sample_next(sqlite3_vtab_cursor *cur) {
  ((sample_cursor *)cur)->row++;
  return SQLITE_OK;
}

static int sample_eof(sqlite3_vtab_cursor *cur) {
  sample_cursor *c = (sample_cursor *)cur;
  return c->row >= c->n;
}

static int sample_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  sample_cursor *c = (sample_cursor *)cur;
  if (col == COL_SAMPLE) {
    sqlite3_result_int64(ctx, c->row + 1);
  } else if (col == COL_VECTOR) {
    sql_result_vector(ctx, c->out + (size_t)c->row * c->d, c->d);
  } else if (col == COL_MODEL) {
    sqlite3_result_text(ctx, c->model, -1, SQLITE_TRANSIENT);
  } else if (col == COL_N) {
    sqlite3_result_int64(ctx, c->n);
  } else if (col == COL_STEPS) {
    sqlite3_result_int64(ctx, c->steps);
  } else {
    sqlite3_result_int64(ctx, c->seed);
  }
  return SQLITE_OK;
}

static int sample_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = ((sample_cursor *)cur)->row + 1;
  return SQLITE_OK;
}

static int sample_best_index(sqlite3_vtab *v, sqlite3_index_info *info) {
  (void)v;
  return sql_tvf_best_index(info, COL_MODEL, N_ARGS, 100);
}

static sqlite3_module sample_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only */
    .xConnect = sample_connect,
    .xBestIndex = sample_best_index,
    .xDisconnect = sql_tvf_disconnect,
    .xOpen = sample_open,
    .xClose = sample_close,
    .xFilter = sample_filter,
    .xNext = sample_next,
    .xEof = sample_eof,
    .xColumn = sample_column,
    .xRowid = sample_rowid,
};

int sql_register_sample(sqlite3 *db) {
  return sqlite3_create_module(db, "rbm_sample", &sample_module, NULL);
}
