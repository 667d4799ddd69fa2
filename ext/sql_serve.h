/*
** sql_serve.h -- what the serving files share: the per-connection state of
** a served model (sql_serve.c) that the per-statement readers
** (sql_reader.c) and the item states (sql_item_states.c) use.
*/
#ifndef SQL_SERVE_H
#define SQL_SERVE_H

#include "sql_glue.h"

/* The source read whole, by user, for a source whose user column has no
** index: a user-based model folds users in from it, and it lists the
** source's users and what each rated. */
typedef struct sql_snapshot {
  int ref;
  sql_sync sync;
  rbm_ratings r;          /* rows users, columns items, values units */
  uint32_t *model_item;   /* column -> the user-based model's item, or
                          ** UINT32_MAX; NULL when an item-based model reads it */
  uint8_t unit_of_code[RBM_MAX_VALUES];
} sql_snapshot;

/* Every item of the source folded into an item-based model (or half), kept
** per connection and kept true (sql_item_states.c).  Row j is an item:
**   sum     hbias + the rows of W of the users who rated it, in double, so
**           that a rating added or taken away is one row added or taken
**           away, exactly;
**   hidden  sigmoid(sum), the item's hidden probabilities;
**   count   its distinct raters per unit, known to the model or not (its
**           prior, smoothed, for a user the model cannot place);
**   placed  rated by at least one user the model knows.
** Size: rows x hidden x 12 bytes, plus rows x units x 8. */
typedef struct sql_item_states {
  int ref;
  int stale;              /* the source changed in a way not known */
  sql_sync sync;          /* of the source as trained (by user) */
  size_t n, cap;          /* rows, and rows allocated */
  rbm_keys keys;          /* row -> the item's id */
  double *sum;
  float *hidden;
  uint32_t *count;
  uint32_t *known;        /* raters the model knows */
  uint8_t *placed;
  float *prior;
  int64_t *pair_item;     /* 'both': the user-based half's index of each
                          ** row's item, or -1; NULL otherwise */
} sql_item_states;

struct sql_served {
  int ref;
  rbm_model *model;
  sql_source src;         /* as trained: src.user is the user column */
  sqlite3_int64 uid;
  char *name;             /* under which it is cached; NULL if not cached */
  int threads;            /* the model's threads option: OpenBLAS's threads */
  uint64_t trained_ratings;  /* its training ratings, once counted */
  int rowid_read;         /* rowid below has been looked up */
  char *rowid;            /* the source's rowid by a name no column takes, or
                          ** NULL (a view, WITHOUT ROWID): a repeated pair's
                          ** later row wins by it */
  sql_snapshot *snap;     /* by user, when the user column has no index */
  sql_item_states *states;  /* item-based models and halves */
  /* What this connection did to keep them (rbm_debug(model)). */
  sqlite3_int64 snapshot_reads, states_builds, ratings_added, items_refolded;
  int warned;             /* of a missing index, through sqlite3_log */
  /* Orientation 'both': model is the user-based half, partner serves the
  ** item-based one, and answers are blended with these weights (on the
  ** item-based half). */
  struct sql_served *partner;
  double w_rating, w_like;
};

void sql_snapshot_release(sql_snapshot *sn);

/* ---- item states (sql_item_states.c) ---------------------------------- */

/* Folds every item of src (the source as trained, read whole, in rowid
** order when it has one) into the item-based model m; pair, the
** user-based half of a 'both' model or NULL, gets each row's pair_item. */
int sql_item_states_build(sqlite3 *db, const sql_source *src,
                          const rbm_model *m, const rbm_model *pair,
                          int threads, sql_item_states **out, char **err);
/* The row of item, added (nobody's ratings yet) when the source had none;
** -1 when out of memory. */
int64_t sql_item_states_row(sql_item_states *st, const rbm_model *m,
                            const rbm_model *pair, const rbm_key *item);
/* Row j gains a rating by user (the model's index, or UINT32_MAX for one
** it does not know) of unit. */
void sql_item_states_add(sql_item_states *st, const rbm_model *m, size_t j,
                         uint32_t user, uint32_t unit);
/* Row j folded afresh: its sum, counts per unit and known raters. */
void sql_item_states_set(sql_item_states *st, const rbm_model *m, size_t j,
                         const double *sum, const uint32_t *count,
                         uint32_t known);
void sql_item_states_release(sql_item_states *st);

#endif
