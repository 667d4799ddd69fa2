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

#include "rbm_internal.h"  /* the glue uses the engine's internals too */

/* Result subtypes.  Functions returning JSON set JSON_SUBTYPE, so that
** json_*() take the text as JSON; those returning a vector (a float32 BLOB)
** set sqlite-vec's float32 subtype, what its vec_f32() sets. */
#define JSON_SUBTYPE 74      /* 'J': SQLite's json functions */
#define VECTOR_SUBTYPE 223   /* sqlite-vec's SQLITE_VEC_ELEMENT_TYPE_FLOAT32 */
/* From SQLite 3.45 a function that calls sqlite3_result_subtype() must be
** registered with SQLITE_RESULT_SUBTYPE: SQLite may drop the subtype of one
** that is not, and a build with SQLITE_STRICT_SUBTYPE=1 makes the call an
** error.  The flag's value is part of SQLite's ABI, so a build against older
** headers (Debian 12's are 3.40) defines it here; RESULT_SUBTYPE passes it
** only when the SQLite that loaded the extension is 3.45 or later, and is 0
** on an older one, which knows nothing of it. */
#ifndef SQLITE_RESULT_SUBTYPE
#define SQLITE_RESULT_SUBTYPE 0x001000000
#endif
int sql_result_subtype_flag(void);
#define RESULT_SUBTYPE sql_result_subtype_flag()

/* The table-valued functions (sql_tvf.c): rbm_recommend, rbm_similar and
** rbm_sample are eponymous virtual tables whose vtab is its connection.
** schema declares the columns, the hidden arguments last; directonly keeps
** the function out of triggers and views. */
typedef struct sql_tvf {
  sqlite3_vtab base;
  sqlite3 *db;
} sql_tvf;
int sql_tvf_connect(sqlite3 *db, const char *schema, int directonly,
                    sqlite3_vtab **out);
int sql_tvf_disconnect(sqlite3_vtab *vtab);
/* Every cursor starts with this head: sql_tvf_open allocates size bytes,
** zeroed, and sets db. */
typedef struct sql_tvf_cursor {
  sqlite3_vtab_cursor base;
  sqlite3 *db;
} sql_tvf_cursor;
int sql_tvf_open(sqlite3_vtab *vtab, size_t size, sqlite3_vtab_cursor **out);
/* Reports "fname: err" (or rc's text when err is NULL) as the vtab's
** error, frees err, and returns rc. */
int sql_tvf_fail(sql_tvf_cursor *c, const char *fname, int rc, char *err);
/* xBestIndex for n_args hidden EQ arguments from column first_arg on, the
** first two required: idxNum bit b is argument b, and argv follows the
** bits in order.  rows: the estimate when both required ones are given. */
int sql_tvf_best_index(sqlite3_index_info *info, int first_arg, int n_args,
                       double rows);
/* The rows of a list of answers, one after the other: answer q has n[q]
** rows (a count may be 0).  start after the answers are made; then
** next, and eof; list and at name the current row, row counts them. */
typedef struct sql_tvf_rows {
  size_t lists, list, at, row;
  const size_t *n;
} sql_tvf_rows;
void sql_tvf_rows_start(sql_tvf_rows *w, size_t lists, const size_t *n);
void sql_tvf_rows_next(sql_tvf_rows *w);
int sql_tvf_rows_eof(const sql_tvf_rows *w);

/* Reports err (freed here) as the function's error, prefixed with fname:
** "fname: err".  Codes an application acts on (busy, interrupt, out of
** memory...) pass on; others are SQLITE_ERROR. */
void sql_result_error(sqlite3_context *ctx, const char *fname, int rc,
                      char *err);

/* Where the ratings are: a table or view and three of its columns.  schema
** may be NULL (SQLite's usual name resolution). */
typedef struct sql_source {
  char *schema, *table, *user, *item, *rating;
  /* Read by item: user and item above name the item and user columns
  ** (item-based models), and messages say so. */
  int by_item;
} sql_source;

void sql_source_free(sql_source *src);
int sql_source_copy(sql_source *dst, const sql_source *src);
/* Sets schema and table from "table", or from "schema.table" when schema
** names an attached database. */
int sql_source_set_table(sqlite3 *db, sql_source *src, const char *text);
/* "schema"."table" (or "table") for pasting into SQL, quoted: sqlite3_free. */
/* An implicit model counts every row, whatever its rating: its source
** keeps no rating column (rating ''), so NULL or text there is no error. */
int sql_source_drop_rating(sql_source *src, const rbm_config *cfg);
/* The rating column as SQL: "table"."column", or 1 when the source has
** none (rating column '': implicit feedback, every row an interaction). */
char *sql_source_rating_sql(const sql_source *src);
char *sql_source_from_clause(const sql_source *src);

/* ---- vectors (sql_vectors.c) ------------------------------------------ */

typedef struct sql_vector {
  float *x;      /* malloc'd */
  uint32_t n;
} sql_vector;

/* A float32 BLOB or a JSON array of numbers, every element finite. */
int sql_vector_from_value(sqlite3_value *v, sql_vector *out, char **err);
void sql_vector_free(sql_vector *v);
/* A finite number, or text SQLite reads losslessly as one. */
int sql_number_from_value(sqlite3_value *v, double *out);
/* The result: a float32 BLOB. */
void sql_result_vector(sqlite3_context *ctx, const float *x, uint32_t n);
/* The result: the text of s (finished here), with the JSON subtype. */
void sql_result_json(sqlite3_context *ctx, sqlite3_str *s);
int sql_register_vectors(sqlite3 *db);

/* ---- feature models (sql_fit.c, sql_features.c) ----------------------- */

int sql_register_fit(sqlite3 *db);
int sql_register_features(sqlite3 *db);
int sql_register_sample(sqlite3 *db);
/* rbm_plot(model): training curves as SVG (sql_plot.c) */
int sql_register_plot(sqlite3 *db);
/* The feature model called name, decoded; a rating model is an error
** that says so. */
int sql_feature_model_load(sqlite3 *db, const char *name,
                           rbm_dense_model **out, char **err);

/* ---- options (sql_options.c) ---------------------------------------- */

/* Sets one training option from its text value; on error *err says why. */
int sql_option_set(rbm_config *cfg, const char *key, const char *value,
                   char **err);
/* Sets options from a JSON object text. */
/* rbm_train's and the virtual table's defaults (README, Options). */
void sql_defaults(rbm_config *cfg);
/* After the options are read: the defaults that depend on visible. */
void sql_resolve_defaults(rbm_config *cfg);
const char *sql_visible_name(rbm_visible v);  /* 'softmax', ... */
/* Calls member(ctx, key, JSON type, value as text) for each member of the
** JSON object json, in order, until one fails; a malformed or non-object
** json is an error that shows example. */
typedef int (*sql_json_member)(void *ctx, const char *key, const char *type,
                               const char *value, char **err);
int sql_json_members(sqlite3 *db, const char *json, const char *example,
                     sql_json_member member, void *ctx, char **err);
int sql_options_from_json(sqlite3 *db, const char *json, rbm_config *cfg,
                          char **err);
/* Every option, resolved, as a JSON object: sqlite3_free. */
char *sql_options_to_json(const rbm_config *cfg);

/* ---- ids and ratings from SQL values (sql_source.c) ------------------- */

/* The key of an id value: integers, and text that spells a canonical
** integer, are integer keys; other text and blobs are text keys; a real
** with an integral value is an integer.  Returns 0 for NULL.  The key may
** point into v, or into buf (for reals), so it lives as long as both. */
int sql_key_from_value(sqlite3_value *v, rbm_key *key, char *buf, size_t nbuf);
/* Binds a key as a statement parameter. */
int sql_bind_key(sqlite3_stmt *stmt, int i, const rbm_key *key);
/* Sets a key as a function result. */
void sql_result_key(sqlite3_context *ctx, const rbm_key *key);

/* Reads the whole source into r (finished, in CSR form).
** For training (fold_for NULL) a NULL id, a rating that is no number, or an
** empty source is an error.  For fold-in (fold_for, the model served) such
** rows are skipped, as the per-user query skips them, and each value is
** stored as fold_for's unit for it.  threads > 1 interns the ids on a
** second thread while this one reads.  order_by (a column, or NULL) sets
** the order rows arrive in, which decides which row of a repeated (user,
** item) pair is kept: the later. */
int sql_read_source(sqlite3 *db, const sql_source *src,
                    const rbm_model *fold_for, int threads,
                    const char *order_by, rbm_ratings *r, char **err);

/* ---- what changed in a source since serving read it (sql_track.c) ---- */

/* A row of the source: ids (text copied, freed with the list), the rating,
** and whether the row counts (ids not NULL, the rating a number). */
typedef struct sql_new_row {
  sqlite3_int64 rowid;
  rbm_key user, item;
  double value;
  int has_ids;   /* neither id is NULL */
  int usable;    /* ... and the rating is a number */
} sql_new_row;

typedef struct sql_appended {
  sql_new_row *row;
  size_t n;
} sql_appended;

/* A schema as it was when the source was read. */
typedef struct sql_watch {
  char *schema;
  sqlite3_int64 data_version, schema_version;
  void *file;           /* the open file, and a hash of its name */
  uint64_t name_hash;
} sql_watch;

/* What serving last read of a source, and how to tell what changed since. */
typedef struct sql_sync {
  int settled;          /* the fields below describe what was read */
  char *schema;         /* the schema the table is in */
  int is_view, is_virtual;
  sql_watch *watch;     /* the schemas whose changes change the source */
  int n_watch;
  char *rowid;          /* a name of its rowid, NULL: none (no tracking) */
  int replace_pairs;    /* a UNIQUE index: REPLACE may drop a pair's row */
  int replace_other;    /* a UNIQUE index without both id columns */
  int provisional;      /* read inside a write transaction */
  sqlite3_int64 total_changes;
  sqlite3_int64 watermark;   /* rows up to this rowid are in, committed */
  /* Rows past the watermark read inside a write transaction, in rowid
  ** order: checked again until committed. */
  struct sql_pending {
    sqlite3_int64 rowid;
    uint64_t hash;
  } *pending;
  size_t n_pending;
} sql_sync;

enum { SQL_SYNC_SAME, SQL_SYNC_APPENDED, SQL_SYNC_UNKNOWN };

/* Around reading the whole source: begin before (the table's shape and the
** counters), end after (settled only if no other connection committed in
** between).  sync->rowid, when set, is the order to read rows in. */
int sql_sync_begin(sqlite3 *db, const sql_source *src, sql_sync *sync);
void sql_sync_end(sqlite3 *db, sql_sync *sync);
/* What changed since: *what is SQL_SYNC_SAME, SQL_SYNC_APPENDED (the rows
** in *out, to be applied by the caller) or SQL_SYNC_UNKNOWN (read the
** whole source again).  Free *out with sql_appended_free. */
int sql_sync_check(sqlite3 *db, const sql_source *src, sql_sync *sync,
                   sql_appended *out, int *what, char **err);
void sql_appended_free(sql_appended *a);
/* Only where the table is and what it is: schema, rowid and the replace
** flags (a view, a WITHOUT ROWID or virtual table: rowid NULL). */
void sql_sync_shape(sqlite3 *db, const sql_source *src, sql_sync *sync);
void sql_sync_free(sql_sync *sync);

/* ---- training from SQL (sql_train.c) ---------------------------------- */

typedef struct sql_trained {
  rbm_dense_model *features;  /* a feature model (rbm_fit); else: */
  rbm_model *model;      /* for 'both', the user-based half */
  rbm_model *item_half;  /* 'both' only, with the blend's weights: */
  double w_rating, w_like;
  char *summary;     /* JSON: sqlite3_free */
  char *options;     /* JSON: sqlite3_free */
} sql_trained;

/* A training run's companions: its should_stop hook, which sees
** sqlite3_interrupt(), and the per-epoch log in rbm_training_log (committed
** through a second connection while it runs, when it can be).  fname
** names the SQL function in verbose lines. */
typedef struct sql_run sql_run;
/* A statement's progress on a terminal: one line on stderr, rewritten each
** epoch with an estimate of the time left, once training has run a second,
** when stderr is a terminal and verbose is off.  A statement that trains
** several models (orientation 'both') shares one over its runs; total is
** the epochs of them all.  sql_progress_end clears the line. */
typedef struct sql_progress {
  double start, shown_at;
  int done, total, on_tty, shown;
} sql_progress;
void sql_progress_start(sql_progress *p, int total_epochs, int verbose);
void sql_progress_end(sql_progress *p);
/* progress NULL: the run's own, over its epochs. */
sql_run *sql_run_open(sqlite3 *db, const char *fname, const char *model,
                      int epochs, int verbose, sql_progress *progress,
                      char **err);
int sql_run_should_stop(void *run);
void sql_run_epoch(sql_run *run, const rbm_epoch_stats *st);
int sql_run_close(sql_run *run, char **err);  /* writes the log's rest */
/* How should_stop sees an interrupt in the SQLite we run in, for
** rbm_debug(): "sqlite3_is_interrupted" or "probe statement". */
const char *sql_interrupt_method(void);

/* Reads src, trains with cfg, honouring sqlite3_interrupt. */
int sql_train_source(sqlite3 *db, const char *name, const sql_source *src,
                     const rbm_config *cfg, sql_trained *out, char **err);
void sql_trained_free(sql_trained *t);

/* ---- serving: a model, its source, and users folded in (sql_serve.c) -- */

/* A loaded model and where its users' ratings live; shared by reference
** between the connection cache and the statements using it. */
typedef struct sql_served sql_served;

/* The model stored in rbm_models under name, from this connection's cache
** when it is still the stored one.  Caller releases. */
int sql_served_by_name(sqlite3 *db, const char *name, sql_served **out,
                       char **err);
/* SQLITE_OK if a model blob of nblob bytes may be loaded: a model takes
** about its blob's size in memory, held to the default memory share. */
int sql_check_blob_memory(sqlite3_int64 nblob, char **err);
/* A model from a blob (the virtual table's shadow table); threads is the
** model's threads option, which also sets OpenBLAS's threads for scoring. */
int sql_served_from_blob(const void *blob, int nblob, const sql_source *src,
                         sqlite3_int64 uid, int threads, sql_served **out,
                         char **err);
void sql_served_release(sql_served *s);
const rbm_model *sql_served_model(const sql_served *s);
sqlite3_int64 sql_served_uid(const sql_served *s);
/* Drops every model this connection caches (the extension's destructor). */
void sql_serve_shutdown(sqlite3 *db);

/* Folds users in, one at a time, remembering the last one. */
typedef struct sql_user_reader sql_user_reader;

int sql_user_reader_open(sqlite3 *db, sql_served *s, sql_user_reader **out,
                         char **err);
void sql_user_reader_close(sql_user_reader *rd);
sql_served *sql_user_reader_served(const sql_user_reader *rd);
/* Folds the user in (cached when it is the same user as last time).
** *hidden is NULL when the model cannot place the user (no rated items the
** model knows).  *rated lists the model's item indexes the user rated. */
int sql_user_reader_fold(sql_user_reader *rd, const rbm_key *user,
                         const float **hidden, const uint32_t **rated,
                         size_t *n_rated, char **err);
/* The answer for (user, item), whatever the model's orientation (blended
** for 'both'): the expected rating and P(like); *unplaced when the folded-in
** side could not be placed, *unknown when the model does not know the other
** (of the user-based half, for 'both'). */
int sql_user_reader_predict(sql_user_reader *rd, const rbm_key *user,
                            const rbm_key *item, double *rating, double *like,
                            int *unplaced, int *unknown, char **err);
/* The virtual table's row for (user, item), one fold-in of each: *found 0
** when the model does not answer for the item (a user-based model: not one
** of its items; else: not in the source); *rated whether the source holds
** a rating of the pair. */
int sql_user_reader_point(sql_user_reader *rd, const rbm_key *user,
                          const rbm_key *item, int *found, double *like,
                          double *rating, int *rated, char **err);
/* Whether rankings go through sql_user_reader_rank_users (item-based and
** 'both' models) rather than rbm_recommend. */
int sql_user_reader_ranks_items(const sql_user_reader *rd);
/* Item-based and 'both' models: the top k items of the source by P(like)
** of users first .. first+n-1 of users, leaving out the items each rated;
** user first+u's in out[u * k ..], n_out[u]; out[].item is a row number for
** sql_user_reader_item_key.  The first call folds every item in, and the
** user-based half's answers are scored for many users at once. */
int sql_user_reader_rank_users(sql_user_reader *rd, size_t first, size_t n_users,
                               const rbm_keys *users, size_t k,
                               rbm_recommendation *out, size_t *n_out,
                               char **err);
/* The items a model answers for, j = 0 .. n-1: the model's items (user-
** based), or the source's (item-based, 'both'); and for one user, each
** one's P(like), expected rating and whether the user rated it (arrays
** owned by the reader, valid until its next call), or only item j = only
** (only >= 0: the other entries of like and rating are left as they are). */
int sql_user_reader_items(sql_user_reader *rd, size_t *n, char **err);
int sql_user_reader_score_items(sql_user_reader *rd, const rbm_key *user,
                                int64_t only, size_t *n, const float **like,
                                const float **rating, const uint8_t **rated,
                                char **err);
rbm_key sql_user_reader_item_key(const sql_user_reader *rd, uint32_t j);
/* j of an item after sql_user_reader_items, or -1. */
int64_t sql_user_reader_item_index(const sql_user_reader *rd,
                                   const rbm_key *item);
/* Every user in the source, whichever the model folds in. */
int sql_user_reader_source_users(sql_user_reader *rd, const rbm_keys **users,
                                 char **err);

/* Item-based models and halves (of rd, or its partner for 'both'): the
** item's hidden probabilities, folded in as sql_user_reader_predict folds
** it (NULL when no user the model knows rated it), valid until the
** reader's next call; and after sql_user_reader_items, row j's (NULL when
** not placed), and for 'both' the user-based half's index of row j's item
** (-1: not one of its items). */
int sql_user_reader_item_hidden(sql_user_reader *rd, const rbm_key *item,
                                const float **hidden, char **err);
const float *sql_user_reader_row_hidden(const sql_user_reader *rd, size_t j);
int64_t sql_user_reader_row_pair(const sql_user_reader *rd, size_t j);

/* rbm_debug(model): how this connection serves it, as JSON. */
int sql_serve_describe(sqlite3 *db, const char *name, char **json, char **err);

/* ---- the model table (sql_store.c) --------------------------------- */

/* Checks, before a training, that rbm_models (if there is one) can take
** its model: a hand-made table missing columns is an error now, not after
** the training. */
int sql_models_table_ready(sqlite3 *db, const char *name, char **err);
int sql_store_model(sqlite3 *db, const char *name, const sql_source *src,
                    const sql_trained *t, char **err);
/* Steps st, an INSERT into schema.table the caller prepared and bound its
** own parameters of, which also takes :options, :summary, :uid (new with
** every training) and :model (bound to a zeroblob the model is then written
** into); finalizes st.  rbm_models and the virtual table's shadow table are
** both written through it. */
int sql_insert_trained(sqlite3 *db, sqlite3_stmt *st, const char *schema,
                       const char *table, const sql_trained *t, char **err);

/* ---- rbm_recommend's and rbm_similar's arguments (sql_recommend.c) ---- */

/* The ids v asks for, into keys: one id, or the ids of a JSON array (text
** starting with '['; *many then), in order, each once.  NULL asks for
** none.  what names them in errors ("users: malformed JSON"). */
int sql_collect_keys(sqlite3 *db, sqlite3_value *v, const char *what,
                     rbm_keys *keys, int *many, char **err);

/* The arguments rbm_recommend and rbm_similar share: the model (text), the
** ids (as sql_collect_keys reads them) and k (kv NULL: default_k).  Copies
** of the first two go to *model_arg and *ids_arg for the hidden columns
** (any old ones freed). */
int sql_tvf_args(sqlite3 *db, sqlite3_value *model, sqlite3_value *ids,
                 sqlite3_value *kv, sqlite3_int64 default_k, const char *what,
                 sqlite3_value **model_arg, sqlite3_value **ids_arg,
                 sqlite3_int64 *k, rbm_keys *keys, int *many, char **err);

/* ---- embeddings (sql_embed.c) ------------------------------------------ */

/* The floats of the reader's model's vector of a user (item 0) or an item
** (README, rbm_embedding). */
uint32_t sql_embedding_size(const sql_user_reader *rd, int item);
/* rbm_embedding(model, 'user' or 'item', id) into out (that many floats);
** *found 0 when the model has no vector for it (out is then zeros). */
int sql_embedding(sql_user_reader *rd, int item, const rbm_key *id,
                  float *out, int *found, char **err);
/* Every item the model answers for (sql_user_reader_items: j = 0 .. n-1),
** its vector scaled to unit length (zeros without one: usable[j] 0); *X
** and *usable are malloc'd. */
int sql_embedding_items(sql_user_reader *rd, float **X, uint8_t **usable,
                        size_t *n, char **err);

/* ---- registration ----------------------------------------------------- */

int sql_register_functions(sqlite3 *db);
int sql_register_recommend(sqlite3 *db);
int sql_register_embed(sqlite3 *db);
int sql_register_similar(sqlite3 *db);
int sql_register_vtab(sqlite3 *db);

/* ---- evaluation (sql_evaluate.c) --------------------------------------- */

/* Scores the stored model name on the held-out ratings in src, ranking the
** top k (1 .. SQL_EVALUATE_MAX_K; 0: no ranking); *json the result. */
#define SQL_EVALUATE_MAX_K 1000
int sql_evaluate_source(sqlite3 *db, const char *name, const sql_source *src,
                        int k, char **json, char **err);

/* text as a JSON string, quoted and escaped (sql_train.c). */
void sql_append_json_string(sqlite3_str *s, const char *text);

/* "rbm_x: message" as an sqlite3_mprintf string. */
char *sql_errorf(const char *fmt, ...);

#endif
