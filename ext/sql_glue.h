/*
** sql_glue.h -- what the SQL-facing files of the extension share.
**
** The engine (include/rbm.h) knows nothing of SQLite; these files turn
** tables into rbm_ratings, options into rbm_config, models into rows, and
** predictions into result values.
*/
#ifndef SQL_GLUE_H
#define SQL_GLUE_H

#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include "rbm.h"

/* Where the ratings are: a table or view and three of its columns.  schema
** may be NULL (SQLite's usual name resolution). */
typedef struct rbm_source {
  char *schema, *table, *user, *item, *rating;
  /* Read by item: user and item above name the item and user columns
  ** (item-based models), and messages say so. */
  int by_item;
} rbm_source;

void rbm_source_free(rbm_source *src);
int rbm_source_copy(rbm_source *dst, const rbm_source *src);
/* Sets schema and table from "table", or from "schema.table" when schema
** names an attached database. */
int rbm_source_set_table(sqlite3 *db, rbm_source *src, const char *text);
/* "schema"."table" (or "table") for pasting into SQL, quoted: sqlite3_free. */
/* An implicit model counts every row, whatever its rating: its source
** keeps no rating column (rating ''), so NULL or text there is no error. */
int rbm_source_drop_rating(rbm_source *src, const rbm_config *cfg);
/* The rating column as SQL: "table"."column", or 1 when the source has
** none (rating column '': implicit feedback, every row an interaction). */
char *rbm_source_rating_sql(const rbm_source *src);
char *rbm_source_from_clause(const rbm_source *src);

/* ---- options (sql_options.c) ---------------------------------------- */

/* Sets one training option from its text value; on error *err says why. */
int rbm_option_set(rbm_config *cfg, const char *key, const char *value,
                   char **err);
/* Sets options from a JSON object text. */
/* rbm_train's and the virtual table's defaults (README, Options). */
void rbm_sql_defaults(rbm_config *cfg);
/* After the options are read: the defaults that depend on visible. */
void rbm_sql_resolve_defaults(rbm_config *cfg);
const char *rbm_visible_name(rbm_visible v);  /* 'softmax', ... */
/* Calls member(ctx, key, JSON type, value as text) for each member of the
** JSON object json, in order, until one fails; a malformed or non-object
** json is an error that shows example. */
typedef int (*rbm_json_member)(void *ctx, const char *key, const char *type,
                               const char *value, char **err);
int rbm_json_members(sqlite3 *db, const char *json, const char *example,
                     rbm_json_member member, void *ctx, char **err);
int rbm_options_from_json(sqlite3 *db, const char *json, rbm_config *cfg,
                          char **err);
/* Every option, resolved, as a JSON object: sqlite3_free. */
char *rbm_options_to_json(const rbm_config *cfg);

/* ---- ids and ratings from SQL values (sql_source.c) ------------------- */

/* The key of an id value: integers, and text that spells a canonical
** integer, are integer keys; other text and blobs are text keys; a real
** with an integral value is an integer.  Returns 0 for NULL.  The key may
** point into v, or into buf (for reals), so it lives as long as both. */
int rbm_key_from_value(sqlite3_value *v, rbm_key *key, char *buf, size_t nbuf);
/* Binds a key as a statement parameter. */
int rbm_bind_key(sqlite3_stmt *stmt, int i, const rbm_key *key);
/* Sets a key as a function result. */
void rbm_result_key(sqlite3_context *ctx, const rbm_key *key);

/* Reads the whole source into r (finished, in CSR form).
** For training (fold_for NULL) a NULL id, a rating that is no number, or an
** empty source is an error.  For fold-in (fold_for, the model served) such
** rows are skipped, as the per-user query skips them, and each value is
** stored as fold_for's unit for it.  threads > 1 interns the ids on a
** second thread while this one reads.  order_by (a column, or NULL) sets
** the order rows arrive in, which decides which row of a repeated (user,
** item) pair is kept: the later. */
int rbm_read_source(sqlite3 *db, const rbm_source *src,
                    const rbm_model *fold_for, int threads,
                    const char *order_by, rbm_ratings *r, char **err);

/* ---- what changed in a source since serving read it (sql_track.c) ---- */

/* A row of the source: ids (text copied, freed with the list), the rating,
** and whether the row counts (ids not NULL, the rating a number). */
typedef struct rbm_new_row {
  sqlite3_int64 rowid;
  rbm_key user, item;
  double value;
  int has_ids;   /* neither id is NULL */
  int usable;    /* ... and the rating is a number */
} rbm_new_row;

typedef struct rbm_appended {
  rbm_new_row *row;
  size_t n;
} rbm_appended;

/* A schema as it was when the source was read. */
typedef struct rbm_watch {
  char *schema;
  sqlite3_int64 data_version, schema_version;
  void *file;           /* the open file, and a hash of its name */
  uint64_t name_hash;
} rbm_watch;

/* What serving last read of a source, and how to tell what changed since. */
typedef struct rbm_sync {
  int settled;          /* the fields below describe what was read */
  char *schema;         /* the schema the table is in */
  int is_view, is_virtual;
  rbm_watch *watch;     /* the schemas whose changes change the source */
  int n_watch;
  char *rowid;          /* a name of its rowid, NULL: none (no tracking) */
  int replace_pairs;    /* a UNIQUE index: REPLACE may drop a pair's row */
  int replace_other;    /* a UNIQUE index without both id columns */
  int provisional;      /* read inside a write transaction */
  sqlite3_int64 total_changes;
  sqlite3_int64 watermark;   /* rows up to this rowid are in, committed */
  /* Rows past the watermark read inside a write transaction, in rowid
  ** order: checked again until committed. */
  struct rbm_pending {
    sqlite3_int64 rowid;
    uint64_t hash;
  } *pending;
  size_t n_pending;
} rbm_sync;

enum { RBM_SYNC_SAME, RBM_SYNC_APPENDED, RBM_SYNC_UNKNOWN };

/* Around reading the whole source: begin before (the table's shape and the
** counters), end after (settled only if no other connection committed in
** between).  sync->rowid, when set, is the order to read rows in. */
int rbm_sync_begin(sqlite3 *db, const rbm_source *src, rbm_sync *sync);
void rbm_sync_end(sqlite3 *db, rbm_sync *sync);
/* What changed since: *what is RBM_SYNC_SAME, RBM_SYNC_APPENDED (the rows
** in *out, to be applied by the caller) or RBM_SYNC_UNKNOWN (read the
** whole source again).  Free *out with rbm_appended_free. */
int rbm_sync_check(sqlite3 *db, const rbm_source *src, rbm_sync *sync,
                   rbm_appended *out, int *what, char **err);
void rbm_appended_free(rbm_appended *a);
/* Only where the table is and what it is: schema, rowid and the replace
** flags (a view, a WITHOUT ROWID or virtual table: rowid NULL). */
void rbm_sync_shape(sqlite3 *db, const rbm_source *src, rbm_sync *sync);
void rbm_sync_free(rbm_sync *sync);

/* ---- training from SQL (sql_train.c) ---------------------------------- */

typedef struct rbm_trained {
  rbm_model *model;      /* for 'both', the user-based half */
  rbm_model *item_half;  /* 'both' only, with the blend's weights: */
  double w_rating, w_like;
  char *summary;     /* JSON: sqlite3_free */
  char *options;     /* JSON: sqlite3_free */
} rbm_trained;

/* Reads src, trains with cfg, honouring sqlite3_interrupt. */
int rbm_train_source(sqlite3 *db, const char *name, const rbm_source *src,
                     const rbm_config *cfg, rbm_trained *out, char **err);
void rbm_trained_free(rbm_trained *t);

/* ---- serving: a model, its source, and users folded in (sql_serve.c) -- */

/* A loaded model and where its users' ratings live; shared by reference
** between the connection cache and the statements using it. */
typedef struct rbm_served rbm_served;

/* The model stored in rbm_models under name, from this connection's cache
** when it is still the stored one.  Caller releases. */
int rbm_served_by_name(sqlite3 *db, const char *name, rbm_served **out,
                       char **err);
/* A model from a blob (the virtual table's shadow table); threads is the
** model's threads option, which also sets OpenBLAS's threads for scoring. */
int rbm_served_from_blob(const void *blob, int nblob, const rbm_source *src,
                         sqlite3_int64 uid, int threads, rbm_served **out,
                         char **err);
void rbm_served_release(rbm_served *s);
const rbm_model *rbm_served_model(const rbm_served *s);
sqlite3_int64 rbm_served_uid(const rbm_served *s);
/* Drops every model this connection caches (the extension's destructor). */
void rbm_serve_shutdown(sqlite3 *db);

/* Folds users in, one at a time, remembering the last one. */
typedef struct rbm_user_reader rbm_user_reader;

int rbm_user_reader_open(sqlite3 *db, rbm_served *s, rbm_user_reader **out,
                         char **err);
void rbm_user_reader_close(rbm_user_reader *rd);
rbm_served *rbm_user_reader_served(const rbm_user_reader *rd);
/* Folds the user in (cached when it is the same user as last time).
** *hidden is NULL when the model cannot place the user (no rated items the
** model knows).  *rated lists the model's item indexes the user rated. */
int rbm_user_reader_fold(rbm_user_reader *rd, const rbm_key *user,
                         const float **hidden, const uint32_t **rated,
                         size_t *n_rated, char **err);
/* The answer for (user, item), whatever the model's orientation (blended
** for 'both'): the expected rating and P(like); *unplaced when the folded-in
** side could not be placed, *unknown when the model does not know the other
** (of the user-based half, for 'both'). */
int rbm_user_reader_predict(rbm_user_reader *rd, const rbm_key *user,
                            const rbm_key *item, double *rating, double *like,
                            int *unplaced, int *unknown, char **err);
/* The virtual table's row for (user, item), one fold-in of each: *found 0
** when the model does not answer for the item (a user-based model: not one
** of its items; else: not in the source); *rated whether the source holds
** a rating of the pair. */
int rbm_user_reader_point(rbm_user_reader *rd, const rbm_key *user,
                          const rbm_key *item, int *found, double *like,
                          double *rating, int *rated, char **err);
/* Whether rankings go through rbm_user_reader_rank_users (item-based and
** 'both' models) rather than rbm_recommend. */
int rbm_user_reader_ranks_items(const rbm_user_reader *rd);
/* Item-based and 'both' models: the top k items of the source by P(like)
** of users first .. first+n-1 of users, leaving out the items each rated;
** user first+u's in out[u * k ..], n_out[u]; out[].item is a row number for
** rbm_user_reader_item_key.  The first call folds every item in, and the
** user-based half's answers are scored for many users at once. */
int rbm_user_reader_rank_users(rbm_user_reader *rd, size_t first, size_t n_users,
                               const rbm_keys *users, size_t k,
                               rbm_recommendation *out, size_t *n_out,
                               char **err);
/* The items a model answers for, j = 0 .. n-1: the model's items (user-
** based), or the source's (item-based, 'both'); and for one user, each
** one's P(like), expected rating and whether the user rated it (arrays
** owned by the reader, valid until its next call), or only item j = only
** (only >= 0: the other entries of like and rating are left as they are). */
int rbm_user_reader_items(rbm_user_reader *rd, size_t *n, char **err);
int rbm_user_reader_score_items(rbm_user_reader *rd, const rbm_key *user,
                                int64_t only, size_t *n, const float **like,
                                const float **rating, const uint8_t **rated,
                                char **err);
rbm_key rbm_user_reader_item_key(const rbm_user_reader *rd, uint32_t j);
/* j of an item after rbm_user_reader_items, or -1. */
int64_t rbm_user_reader_item_index(const rbm_user_reader *rd,
                                   const rbm_key *item);
/* Every user in the source, whichever the model folds in. */
int rbm_user_reader_source_users(rbm_user_reader *rd, const rbm_keys **users,
                                 char **err);

/* rbm_debug(model): how this connection serves it, as JSON. */
int rbm_serve_describe(sqlite3 *db, const char *name, char **json, char **err);

/* ---- the model table (sql_store.c) --------------------------------- */

int rbm_store_model(sqlite3 *db, const char *name, const rbm_source *src,
                    const rbm_trained *t, char **err);
/* Steps st, an INSERT into schema.table the caller prepared and bound its
** own parameters of, which also takes :options, :summary, :uid (new with
** every training) and :model (bound to a zeroblob the model is then written
** into); finalizes st.  rbm_models and the virtual table's shadow table are
** both written through it. */
int rbm_insert_trained(sqlite3 *db, sqlite3_stmt *st, const char *schema,
                       const char *table, const rbm_trained *t, char **err);

/* ---- registration ----------------------------------------------------- */

int rbm_register_functions(sqlite3 *db);
int rbm_register_recommend(sqlite3 *db);
int rbm_register_vtab(sqlite3 *db);

/* ---- evaluation (sql_evaluate.c) --------------------------------------- */

/* Scores the stored model name on the held-out ratings in src, ranking the
** top k (1 .. RBM_EVALUATE_MAX_K; 0: no ranking); *json the result. */
#define RBM_EVALUATE_MAX_K 1000
int rbm_evaluate_source(sqlite3 *db, const char *name, const rbm_source *src,
                        int k, char **json, char **err);

/* text as a JSON string, quoted and escaped (sql_train.c). */
void rbm_append_json_string(sqlite3_str *s, const char *text);

/* "rbm_x: message" as an sqlite3_mprintf string. */
char *rbm_errorf(const char *fmt, ...);

#endif
