/*
** sql_train.c -- one training run from SQL: read the source, train, and
** describe the result as JSON.  Shared by rbm_train() and the virtual table.
**
** Between minibatches the trainer asks whether sqlite3_interrupt() was
** called.  SQLite 3.41 and later answer sqlite3_is_interrupted(); 3.40 has
** none, so there it steps a trivial statement on the same connection: the
** VDBE refuses to start while the connection's interrupt flag is set, and
** the flag stays set while the calling statement is still running.
**
** sqlite3_is_interrupted is a slot at the end of sqlite3_api_routines that
** only 3.41's and later headers declare and only 3.41's and later libraries
** fill: an older library's table ends before it.  So the slot is read only
** when both hold -- headers of 3.41 or later (#if) and, at run time, a
** SQLite of 3.41 or later (sqlite3_libversion_number()).  A build against
** Debian 12's 3.40 headers always probes, which works in every SQLite; a
** build against newer headers loaded into a 3.40 probes too.  tests/
** interrupt.sh checks both ways, in both SQLites (tests/sqlite_new.sh).
*/
#include "sql_glue.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* One row per epoch, kept in memory.  When the database is a file and the
** caller is not inside a transaction, a training that runs longer than
** LOG_EVERY seconds commits its rows every LOG_EVERY seconds through a
** connection of its own, so another connection can watch it; otherwise
** (short runs, in-memory databases, transactions, a lock held) the rows are
** written with the model, through the caller's connection.  A commit costs
** a sync of the disk, so it is not done every epoch. */
#define LOG_EVERY 1.0

typedef struct train_log {
  sqlite3 *db;           /* the caller's */
  const char *model;
  int may_live;          /* a file, no open transaction */
  sqlite3 *live;         /* opened at the first commit */
  double last_commit;
  int written;           /* rows committed through live */
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

static double now_seconds(void);

static void log_open(train_log *log, sqlite3 *db, const char *model) {
  const char *file = sqlite3_db_filename(db, "main");
  memset(log, 0, sizeof *log);
  log->db = db;
  log->model = model;
  log->may_live = file && *file && sqlite3_get_autocommit(db);
  log->last_commit = now_seconds();
}

/* Writes one row through db (NULLs for what was not measured). */
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

/* Rows from..n-1 through db (the old rows of the model dropped first when
** from is 0): in one transaction of its own on the live connection; on the
** caller's, inside the statement that trains. */
static int log_commit(train_log *log, sqlite3 *db, int from) {
  int own = db != log->db;
  int rc = own ? log_exec(db, "SAVEPOINT rbm_log", NULL) : SQLITE_OK;
  if (rc != SQLITE_OK) return rc;
  rc = log_exec(db, CREATE_LOG, NULL);
  if (rc == SQLITE_OK && from == 0)
    rc = log_exec(db, "DELETE FROM main.rbm_training_log WHERE model = ?1",
                  log->model);
  for (int j = from; rc == SQLITE_OK && j < log->n; j++)
    rc = log_write(db, log->model, &log->rows[j]);
  if (!own) return rc;
  if (rc == SQLITE_OK) return log_exec(db, "RELEASE rbm_log", NULL);
  log_exec(db, "ROLLBACK TO rbm_log", NULL);
  log_exec(db, "RELEASE rbm_log", NULL);
  return rc;
}

static void log_add(train_log *log, const rbm_epoch_stats *e) {
  if (log->n == log->cap) {
    int cap = log->cap ? 2 * log->cap : 64;
    rbm_epoch_stats *rows = sqlite3_realloc64(log->rows, (sqlite3_uint64)cap * sizeof *rows);
    if (!rows) return;  /* the log is a record, not the model: keep going */
    log->rows = rows;
    log->cap = cap;
  }
  log->rows[log->n++] = *e;
  double t = now_seconds();
  if (!log->may_live || t - log->last_commit < LOG_EVERY) return;
  log->last_commit = t;
  if (!log->live) {
    const char *file = sqlite3_db_filename(log->db, "main");
    if (sqlite3_open_v2(file, &log->live, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
      sqlite3_close(log->live);
      log->live = NULL;
      log->may_live = 0;
      return;
    }
    sqlite3_busy_timeout(log->live, 100);
  }
  if (log_commit(log, log->live, log->written) == SQLITE_OK) {
    log->written = log->n;
  } else {  /* busy or failing: write them all at the end */
    sqlite3_close(log->live);
    log->live = NULL;
    log->may_live = 0;
    log->written = 0;
  }
}

/* The rows not committed yet: through the live connection if there is one,
** else all of them through the caller's. */
static int log_close(train_log *log, char **err) {
  int rc = SQLITE_OK;
  if (log->live && log_commit(log, log->live, log->written) == SQLITE_OK) {
    log->written = log->n;
  } else {
    rc = log_commit(log, log->db, 0);
    if (rc != SQLITE_OK)
      *err = sqlite3_mprintf("writing rbm_training_log: %s", sqlite3_errmsg(log->db));
  }
  sqlite3_close(log->live);
  sqlite3_free(log->rows);
  memset(log, 0, sizeof *log);
  return rc;
}

/* ---- a training run: interruptible, logged ------------------------------ */

#define PROGRESS_AFTER 1.0  /* seconds: quicker trainings show nothing */

void sql_progress_start(sql_progress *p, int total_epochs, int verbose) {
  memset(p, 0, sizeof *p);
  p->start = now_seconds();
  p->total = total_epochs;
  p->on_tty = !verbose && isatty(STDERR_FILENO);
}

static void progress_epoch(sql_progress *p, const sql_run *run, int epoch);
void sql_progress_end(sql_progress *p) {
  if (p->shown) fprintf(stderr, "\r\033[K");
  p->shown = 0;
}

#if SQLITE_VERSION_NUMBER >= 3041000
#define CAN_ASK_INTERRUPTED 1
#else
#define CAN_ASK_INTERRUPTED 0
#endif

/* Whether sqlite3_is_interrupted() may be called: see the top. */
static int ask_interrupted(void) {
  return CAN_ASK_INTERRUPTED && sqlite3_libversion_number() >= 3041000;
}

const char *sql_interrupt_method(void) {
  return ask_interrupted() ? "sqlite3_is_interrupted" : "probe statement";
}

struct sql_run {
  sqlite3 *db;
  sqlite3_stmt *probe;   /* SELECT 1, when asking is not possible */
  const char *name, *fname;
  int epochs, verbose;
  sql_progress own, *progress;
  train_log log;
};

sql_run *sql_run_open(sqlite3 *db, const char *fname, const char *model,
                      int epochs, int verbose, sql_progress *progress,
                      char **err) {
  sql_run *run = sqlite3_malloc(sizeof *run);
  if (!run) {
    *err = sqlite3_mprintf("out of memory");
    return NULL;
  }
  memset(run, 0, sizeof *run);
  run->name = model;
  run->fname = fname;
  run->epochs = epochs;
  run->verbose = verbose;
  if (progress) {
    run->progress = progress;
  } else {
    sql_progress_start(&run->own, epochs, verbose);
    run->progress = &run->own;
  }
  run->db = db;
  if (!ask_interrupted() &&
      sqlite3_prepare_v2(db, "SELECT 1", -1, &run->probe, NULL) != SQLITE_OK) {
    *err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    sqlite3_free(run);
    return NULL;
  }
  log_open(&run->log, db, model);
  return run;
}

int sql_run_should_stop(void *arg) {
  sql_run *run = arg;
#if CAN_ASK_INTERRUPTED
  if (!run->probe) return sqlite3_is_interrupted(run->db);
#endif
  int rc = sqlite3_step(run->probe);
  sqlite3_reset(run->probe);
  return rc == SQLITE_INTERRUPT;
}

/* "rbm_train m/user: epoch 5 of 60 (125 of 240 in all), 12 s, about 11 s
** left", the time left from the pace so far. */
static void progress_epoch(sql_progress *p, const sql_run *run, int epoch) {
  p->done++;
  if (!p->on_tty) return;
  double t = now_seconds(), spent = t - p->start;
  if (spent < PROGRESS_AFTER || (t - p->shown_at < 0.1 && p->done < p->total)) return;
  p->shown_at = t;
  p->shown = 1;
  int left = p->done < p->total ? (int)(spent / p->done * (p->total - p->done) + 0.5) : 0;
  char eta[32], all[48] = "";
  if (left < 60) {
    snprintf(eta, sizeof eta, "%d s", left);
  } else {
    snprintf(eta, sizeof eta, "%d min %02d s", left / 60, left % 60);
  }
  if (p->total != run->epochs)
    snprintf(all, sizeof all, " (%d of %d in all)", p->done, p->total);
  /* \r, and "erase to the end of the line": the line is rewritten */
  fprintf(stderr, "\r%s %s: epoch %d of %d%s, %.0f s, about %s left\033[K",
          run->fname, run->name, epoch, run->epochs, all, spent, eta);
  fflush(stderr);
}

void sql_run_epoch(sql_run *run, const rbm_epoch_stats *st) {
  log_add(&run->log, st);
  progress_epoch(run->progress, run, st->epoch);
  if (!run->verbose) return;
  if (st->validation.ratings) {
    fprintf(stderr,
            "%s %s: epoch %d/%d  recon_rmse %.4f  validation_rmse %.4f"
            "  best epoch %d  %.2fs\n",
            run->fname, run->name, st->epoch, run->epochs, st->recon_rmse,
            st->validation.rmse, st->best_epoch, st->seconds);
  } else {
    fprintf(stderr, "%s %s: epoch %d/%d  recon_rmse %.4f  %.2fs\n", run->fname,
            run->name, st->epoch, run->epochs, st->recon_rmse, st->seconds);
  }
}

int sql_run_close(sql_run *run, char **err) {
  if (!run) return SQLITE_OK;
  sqlite3_finalize(run->probe);
  sql_progress_end(&run->own);
  int rc = log_close(&run->log, err);
  sqlite3_free(run);
  return rc;
}

static void on_epoch(void *arg, const rbm_epoch_stats *st) { sql_run_epoch(arg, st); }

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void sql_append_json_string(sqlite3_str *s, const char *name) {
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

void sql_trained_free(sql_trained *t) {
  rbm_dense_free(t->features);
  rbm_model_free(t->model);
  rbm_model_free(t->item_half);
  sqlite3_free(t->summary);
  sqlite3_free(t->options);
  memset(t, 0, sizeof *t);
}

/* Reads src as the orientation wants it: an item-based model is the
** user-based engine on the ratings read with users and items swapped. */
static int read_oriented(sqlite3 *db, const sql_source *src, int by_item,
                         int threads, rbm_ratings *r, char **err) {
  sql_source read_as = *src;
  if (by_item) {
    read_as.user = src->item;
    read_as.item = src->user;
    read_as.by_item = 1;
  }
  memset(r, 0, sizeof *r);
  return sql_read_source(db, &read_as, NULL, threads, NULL, r, err);
}

/* What a training's outcome makes of rc (sql_run_close's): the trainer's
** message and code when it failed. */
static int train_result(int trc, const char *msg, int rc, char **err) {
  if (trc == RBM_OK) return rc;
  sqlite3_free(*err);
  *err = sqlite3_mprintf("%s", msg);
  return trc == RBM_STOPPED ? SQLITE_INTERRUPT
         : trc == RBM_NOMEM ? SQLITE_NOMEM
                            : SQLITE_ERROR;
}

/* One rbm_train, interruptible, with its epochs in rbm_training_log under
** log_name. */
static int train_one(sqlite3 *db, const char *log_name, const rbm_config *cfg,
                     const rbm_ratings *r, sql_progress *progress,
                     rbm_model **model, rbm_train_report *rep, char **err) {
  sql_run *run = sql_run_open(db, "rbm_train", log_name, cfg->epochs,
                              cfg->verbose, progress, err);
  if (!run) return SQLITE_ERROR;
  rbm_train_hooks hooks = {run, sql_run_should_stop, on_epoch};
  char msg[256];
  int trc = rbm_train(cfg, r, &hooks, model, rep, msg, sizeof msg);
  return train_result(trc, msg, sql_run_close(run, err), err);
}

/* ---- the two halves of 'both', side by side ---------------------------- */

/* With two threads or more, the item-based half trains on a thread of its
** own while the caller's thread trains the user-based half, each on half
** the threads.  The halves are independent and a model does not depend on
** its thread count, so both models are those of training one after the
** other.  Only the caller's thread touches SQLite: the item half's epochs
** wait in a queue that it writes to the log, and the item half stops when
** it sees an interrupt. */
typedef struct side_half {
  const rbm_config *cfg;
  const rbm_ratings *r;
  rbm_model *model;
  rbm_train_report rep;
  int trc;
  char msg[256];
  pthread_mutex_t mu;
  pthread_cond_t cv;
  rbm_epoch_stats *queue;  /* epochs not logged yet */
  int n_queued, cap, done;
  atomic_int stop;
} side_half;

static int side_should_stop(void *arg) {
  return atomic_load(&((side_half *)arg)->stop);
}

static void side_on_epoch(void *arg, const rbm_epoch_stats *st) {
  side_half *h = arg;
  pthread_mutex_lock(&h->mu);
  if (h->n_queued == h->cap) {
    int cap = h->cap ? 2 * h->cap : 64;
    rbm_epoch_stats *q = realloc(h->queue, (size_t)cap * sizeof *q);
    if (q) {  /* else the epoch goes unlogged: the log is a record */
      h->queue = q;
      h->cap = cap;
    }
  }
  if (h->n_queued < h->cap) h->queue[h->n_queued++] = *st;
  pthread_mutex_unlock(&h->mu);
}

static void *side_main(void *arg) {
  side_half *h = arg;
  rbm_train_hooks hooks = {h, side_should_stop, side_on_epoch};
  h->trc = rbm_train(h->cfg, h->r, &hooks, &h->model, &h->rep, h->msg, sizeof h->msg);
  pthread_mutex_lock(&h->mu);
  h->done = 1;
  pthread_cond_signal(&h->cv);
  pthread_mutex_unlock(&h->mu);
  return NULL;
}

typedef struct main_half {
  sql_run *run, *side_run;
  side_half *side;
} main_half;

/* The item half's queued epochs into its log. */
static void log_side(main_half *m) {
  side_half *h = m->side;
  pthread_mutex_lock(&h->mu);
  rbm_epoch_stats *q = h->queue;
  int n = h->n_queued;
  h->queue = NULL;
  h->n_queued = h->cap = 0;
  pthread_mutex_unlock(&h->mu);
  for (int j = 0; j < n; j++) sql_run_epoch(m->side_run, &q[j]);
  free(q);
}

static int main_should_stop(void *arg) {
  main_half *m = arg;
  if (!sql_run_should_stop(m->run)) return 0;
  atomic_store(&m->side->stop, 1);
  return 1;
}

static void main_on_epoch(void *arg, const rbm_epoch_stats *st) {
  main_half *m = arg;
  sql_run_epoch(m->run, st);
  log_side(m);
}

/* The item half, once the user half is done: its epochs logged as they
** come, an interrupt passed on. */
static void wait_side(main_half *m) {
  side_half *h = m->side;
  pthread_mutex_lock(&h->mu);
  while (!h->done) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 50000000;
    if (until.tv_nsec >= 1000000000) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&h->cv, &h->mu, &until);
    pthread_mutex_unlock(&h->mu);
    log_side(m);
    if (sql_run_should_stop(m->side_run)) atomic_store(&h->stop, 1);
    pthread_mutex_lock(&h->mu);
  }
  pthread_mutex_unlock(&h->mu);
}

/* A user-based model of by_user and an item-based one of by_item, with
** cfg's other options: side by side on two threads or more, else one after
** the other.  Their reports say the threads of the whole. */
static int train_halves(sqlite3 *db, const char *user_log, const char *item_log,
                        const rbm_config *cfg, const rbm_ratings *by_user,
                        const rbm_ratings *by_item, sql_progress *progress,
                        rbm_model **mu, rbm_train_report *rep_u, rbm_model **mi,
                        rbm_train_report *rep_i, char **err) {
  int threads = rbm_config_threads(cfg);
  rbm_config cu = *cfg, ci = *cfg;
  cu.orientation = RBM_ORIENT_USER;
  ci.orientation = RBM_ORIENT_ITEM;
  if (threads < 2) {
    int rc = train_one(db, user_log, &cu, by_user, progress, mu, rep_u, err);
    if (rc == SQLITE_OK) rc = train_one(db, item_log, &ci, by_item, progress, mi, rep_i, err);
    return rc;
  }
  cu.threads = (threads + 1) / 2;
  ci.threads = threads / 2;
  sql_run *urun = sql_run_open(db, "rbm_train", user_log, cfg->epochs, cfg->verbose,
                               progress, err);
  if (!urun) return SQLITE_ERROR;
  sql_run *irun = sql_run_open(db, "rbm_train", item_log, cfg->epochs, cfg->verbose,
                               progress, err);
  if (!irun) {
    char *close_err = NULL;  /* *err says why irun is not there */
    sql_run_close(urun, &close_err);
    sqlite3_free(close_err);
    return SQLITE_ERROR;
  }
  side_half side;
  memset(&side, 0, sizeof side);
  side.cfg = &ci;
  side.r = by_item;
  atomic_init(&side.stop, 0);
  pthread_mutex_init(&side.mu, NULL);
  pthread_cond_init(&side.cv, NULL);
  main_half m = {urun, irun, &side};
  pthread_t tid;
  int apart = pthread_create(&tid, NULL, side_main, &side) == 0;
  rbm_train_hooks hooks = {&m, main_should_stop, main_on_epoch};
  char msg[256];
  int trc = rbm_train(&cu, by_user, &hooks, mu, rep_u, msg, sizeof msg);
  if (apart) {
    if (trc != RBM_OK) atomic_store(&side.stop, 1);
    wait_side(&m);
    pthread_join(tid, NULL);
  } else if (trc == RBM_OK) {  /* no thread to be had: in turn */
    main_half alone = {irun, irun, &side};
    rbm_train_hooks item_hooks = {&alone, main_should_stop, main_on_epoch};
    side.trc = rbm_train(&ci, by_item, &item_hooks, &side.model, &side.rep,
                         side.msg, sizeof side.msg);
  }
  log_side(&m);
  *mi = side.model;
  *rep_i = side.rep;
  rep_u->threads = rep_i->threads = threads;
  int rc = train_result(trc, msg, sql_run_close(urun, err), err);
  char *item_err = NULL;
  int item_rc = train_result(apart || trc == RBM_OK ? side.trc : RBM_OK, side.msg,
                             sql_run_close(irun, &item_err), &item_err);
  if (rc == SQLITE_OK && item_rc != SQLITE_OK) {
    rc = item_rc;
    *err = item_err;
  } else {
    sqlite3_free(item_err);
  }
  free(side.queue);
  pthread_mutex_destroy(&side.mu);
  pthread_cond_destroy(&side.cv);
  return rc;
}

/* The summary's first members, the same for every orientation. */
static void summary_head(sqlite3_str *s, const char *name, const rbm_ratings *r,
                         int by_item, const rbm_model *m, const char *orientation,
                         const rbm_train_report *rep, double seconds,
                         double ingest) {
  char *values = values_json(r);
  sqlite3_str_appendall(s, "{\"model\":");
  sql_append_json_string(s, name);
  sqlite3_str_appendf(
      s,
      ",\"users\":%u,\"items\":%u,\"ratings\":%llu,"
      "\"duplicates_dropped\":%llu,\"rating_values\":%s,\"visible\":\"%s\","
      "\"orientation\":\"%s\",\"hidden\":%u,\"epochs_run\":%d,\"threads\":%d,"
      "\"seconds\":%.3f,\"ingest_seconds\":%.3f,",
      by_item ? r->items.n : r->users.n, by_item ? r->users.n : r->items.n,
      (unsigned long long)r->n, (unsigned long long)r->n_duplicates,
      values ? values : "[]",
      sql_visible_name(m->visible), orientation,
      m->layer.n_hidden, rep->epochs_run, rep->threads, seconds, ingest);
  sqlite3_free(values);
}

static void summary_fit(sqlite3_str *s, const rbm_model *m,
                        const rbm_train_report *rep) {
  if (m->visible != RBM_VISIBLE_SOFTMAX) {
    sqlite3_str_appendall(s, "\"train_rmse\":null,");
  } else {
    sqlite3_str_appendf(s, "\"train_rmse\":%.4f,", rep->train_rmse);
  }
  sqlite3_str_appendf(s, "\"train_like_accuracy\":%.4f,\"train_measured_on\":%llu",
                      rep->train_like_accuracy,
                      (unsigned long long)rep->fit_ratings);
  if (rep->validation.ratings) {
    sqlite3_str_appendf(s,
                        ",\"best_epoch\":%d,\"validation_rmse\":%.4f,"
                        "\"validation_mae\":%.4f,\"validation_like_accuracy\":%.4f,"
                        "\"validation_ratings\":%llu",
                        rep->best_epoch, rep->validation.rmse, rep->validation.mae,
                        rep->validation.like_accuracy,
                        (unsigned long long)rep->validation.ratings);
  } else {
    sqlite3_str_appendall(s, ",\"best_epoch\":null,\"validation_rmse\":null,"
                             "\"validation_mae\":null,"
                             "\"validation_like_accuracy\":null,"
                             "\"validation_ratings\":0");
  }
}

static int finish_summary(sqlite3_str *s, const rbm_config *cfg,
                          sql_trained *out, char **err) {
  sqlite3_str_appendchar(s, 1, '}');
  out->summary = sqlite3_str_finish(s);
  out->options = sql_options_to_json(cfg);
  if (!out->summary || !out->options) {
    sql_trained_free(out);
    *err = sqlite3_mprintf("out of memory");
    return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* ---- orientation 'both' ------------------------------------------------- */

/* Whether the pair (user, item) is in the share held out to fit the blend:
** decided by the ids and the seed, so the user-ordered and the item-ordered
** ratings agree on it. */
static int pair_is_held(const rbm_key *user, const rbm_key *item,
                        uint64_t seed, double share) {
  uint64_t h = rbm_key_hash(user) * 0x9e3779b97f4a7c15ULL ^ rbm_key_hash(item) ^
               (seed * 0xbf58476d1ce4e5b9ULL);
  h ^= h >> 31;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 29;
  return (double)(h >> 11) * (1.0 / 9007199254740992.0) < share;
}

/* The ratings of r whose pairs are held out (held 1) or not (held 0), as
** CSR arrays borrowing r's ids and values (free with free_pairs).  by_item:
** r's users are items. */
static int filter_pairs(const rbm_ratings *r, int by_item, uint64_t seed,
                        double share, int held, rbm_ratings *out) {
  *out = *r;
  out->user = out->item = NULL;
  out->code = NULL;
  out->row = malloc(((size_t)r->users.n + 1) * sizeof *out->row);
  out->col_item = malloc((r->n ? r->n : 1) * sizeof *out->col_item);
  out->col_code = malloc(r->n ? r->n : 1);
  if (!out->row || !out->col_item || !out->col_code) return 0;
  uint64_t n = 0;
  for (uint32_t u = 0; u < r->users.n; u++) {
    out->row[u] = n;
    rbm_key a = rbm_keys_get(&r->users, u);
    for (uint64_t j = r->row[u]; j < r->row[u + 1]; j++) {
      rbm_key b = rbm_keys_get(&r->items, r->col_item[j]);
      if (pair_is_held(by_item ? &b : &a, by_item ? &a : &b, seed, share) != held)
        continue;
      out->col_item[n] = r->col_item[j];
      out->col_code[n++] = r->col_code[j];
    }
  }
  out->row[r->users.n] = n;
  out->n = n;
  return 1;
}

static void free_pairs(rbm_ratings *r) {
  free(r->row);
  free(r->col_item);
  free(r->col_code);
  memset(r, 0, sizeof *r);
}

/* What each rating code is as a unit of m. */
static void units_of_codes(const rbm_model *m, const rbm_ratings *r,
                           uint8_t *unit_of_code) {
  for (uint32_t c = 0; c < r->n_values; c++)
    unit_of_code[c] = (uint8_t)rbm_unit_of_value(m, r->values[c]);
}

/* The blend's weights, by least squares on the held-out pairs: w for the
** item-based answer a, 1 - w for the user-based b, against target t. */
typedef struct blend_sums {
  double n, ab, aa, sq_user, sq_item;
} blend_sums;

static void blend_add(blend_sums *s, double a, double b, double t) {
  s->n += 1;
  s->ab += (t - b) * (a - b);
  s->aa += (a - b) * (a - b);
  s->sq_user += (b - t) * (b - t);
  s->sq_item += (a - t) * (a - t);
}

static double blend_weight(const blend_sums *s) {
  double w = s->aa > 0 ? s->ab / s->aa : 0.5;
  return w < 0 ? 0 : w > 1 ? 1 : w;
}

/* Fits the weights: both halves trained without the held-out pairs,
** predicting them. */
static int fit_blend(sqlite3 *db, const char *name, const rbm_config *cfg,
                     const rbm_ratings *by_user, const rbm_ratings *by_item,
                     sql_progress *progress, sql_trained *out, blend_sums *rating, blend_sums *like,
                     char **err) {
  double share = cfg->validation > 0 ? cfg->validation : 0.1;
  rbm_ratings ut, uh, it, ih;
  memset(&ut, 0, sizeof ut);
  memset(&uh, 0, sizeof uh);
  memset(&it, 0, sizeof it);
  memset(&ih, 0, sizeof ih);
  rbm_model *mu = NULL, *mi = NULL;
  float *ru = NULL, *lu = NULL, *ri = NULL, *li = NULL;
  rbm_train_report rep;
  rbm_config half = *cfg;
  half.validation = 0;
  char *user_log = sqlite3_mprintf("%s/blend-fit user", name);
  char *item_log = sqlite3_mprintf("%s/blend-fit item", name);
  int rc = user_log && item_log && filter_pairs(by_user, 0, cfg->seed, share, 0, &ut) &&
                   filter_pairs(by_user, 0, cfg->seed, share, 1, &uh) &&
                   filter_pairs(by_item, 1, cfg->seed, share, 0, &it) &&
                   filter_pairs(by_item, 1, cfg->seed, share, 1, &ih)
               ? SQLITE_OK
               : SQLITE_NOMEM;
  if (rc == SQLITE_OK)
    rc = train_halves(db, user_log, item_log, &half, &ut, &it, progress, &mu, &rep,
                      &mi, &rep, err);
  if (rc == SQLITE_OK) {
    ru = malloc((uh.n ? uh.n : 1) * sizeof *ru);
    lu = malloc((uh.n ? uh.n : 1) * sizeof *lu);
    ri = malloc((ih.n ? ih.n : 1) * sizeof *ri);
    li = malloc((ih.n ? ih.n : 1) * sizeof *li);
    if (!ru || !lu || !ri || !li) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) {
    uint8_t unit_u[RBM_MAX_VALUES], unit_i[RBM_MAX_VALUES];
    units_of_codes(mu, &ut, unit_u);
    units_of_codes(mi, &it, unit_i);
    if (rbm_predict_held(mu, &ut, &uh, unit_u, ru, lu) != RBM_OK ||
        rbm_predict_held(mi, &it, &ih, unit_i, ri, li) != RBM_OK)
      rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) {
    /* Each item-ordered pair's user-ordered twin, to compare the two. */
    for (uint32_t x = 0; x < ih.users.n; x++) {
      rbm_key ikey = rbm_keys_get(&by_item->users, x);
      int64_t iu = rbm_keys_find(&by_user->items, &ikey);
      for (uint64_t j = ih.row[x]; j < ih.row[x + 1]; j++) {
        rbm_key ukey = rbm_keys_get(&by_item->items, ih.col_item[j]);
        int64_t u = rbm_keys_find(&by_user->users, &ukey);
        if (u < 0 || iu < 0) continue;
        for (uint64_t q = uh.row[u]; q < uh.row[u + 1]; q++) {
          if (uh.col_item[q] != (uint32_t)iu) continue;
          double value = uh.values[uh.col_code[q]];
          blend_add(rating, ri[j], ru[q], value);
          blend_add(like, li[j], lu[q], value >= cfg->like_threshold);
          break;
        }
      }
    }
    out->w_rating = blend_weight(rating);
    out->w_like = blend_weight(like);
  }
  if (rc == SQLITE_NOMEM && !*err) *err = sqlite3_mprintf("out of memory");
  rbm_model_free(mu);
  rbm_model_free(mi);
  free(ru);
  free(lu);
  free(ri);
  free(li);
  free_pairs(&ut);
  free_pairs(&uh);
  free_pairs(&it);
  free_pairs(&ih);
  sqlite3_free(user_log);
  sqlite3_free(item_log);
  return rc;
}

/* 'both' holds the ratings twice and the user half's model while the item
** half trains (and, fitting the blend, two half-trained models): the two
** trainings' estimates together, checked before either starts. */
static int check_both_memory(const rbm_config *cfg, const rbm_ratings *by_user,
                             const rbm_ratings *by_item, char **err) {
  rbm_config half = *cfg;
  half.orientation = RBM_ORIENT_USER;
  char msg[400];
  if (rbm_memory_fits(rbm_train_memory(&half, by_user) + rbm_train_memory(&half, by_item),
                      "the two halves' models and their updates",
                      rbm_ratings_memory(by_user) + rbm_ratings_memory(by_item),
                      "the ratings, read by user and by item", cfg->max_memory,
                      "lower hidden, train one orientation", msg, sizeof msg))
    return SQLITE_OK;
  *err = sqlite3_mprintf("%s", msg);
  return *err ? SQLITE_ERROR : SQLITE_NOMEM;
}

/* Orientation 'both': a user-based and an item-based model, and the
** weights that blend them, fitted on a held-out share of the pairs; then
** both halves are trained again on every rating. */
static int train_both(sqlite3 *db, const char *name, const sql_source *src,
                      const rbm_config *cfg, sql_trained *out, char **err) {
  double start = now_seconds();
  rbm_ratings by_user, by_item;
  memset(&by_item, 0, sizeof by_item);
  int rc = read_oriented(db, src, 0, rbm_config_threads(cfg), &by_user, err);
  if (rc == SQLITE_OK) rc = read_oriented(db, src, 1, rbm_config_threads(cfg), &by_item, err);
  double ingest = now_seconds() - start;
  if (rc == SQLITE_OK) rc = check_both_memory(cfg, &by_user, &by_item, err);
  blend_sums rating = {0}, like = {0};
  sql_progress progress;  /* four trainings: two to fit the blend, two kept */
  sql_progress_start(&progress, 4 * cfg->epochs, cfg->verbose);
  if (rc == SQLITE_OK)
    rc = fit_blend(db, name, cfg, &by_user, &by_item, &progress, out, &rating, &like, err);
  rbm_config half = *cfg;
  half.validation = 0;
  rbm_train_report rep_user, rep_item;
  char *user_log = sqlite3_mprintf("%s/user", name);
  char *item_log = sqlite3_mprintf("%s/item", name);
  if (rc == SQLITE_OK && (!user_log || !item_log)) rc = SQLITE_NOMEM;
  if (rc == SQLITE_OK)
    rc = train_halves(db, user_log, item_log, &half, &by_user, &by_item, &progress,
                      &out->model, &rep_user, &out->item_half, &rep_item, err);
  sqlite3_free(user_log);
  sqlite3_free(item_log);
  sql_progress_end(&progress);
  if (rc == SQLITE_OK) {
    sqlite3_str *s = sqlite3_str_new(NULL);
    summary_head(s, name, &by_user, 0, out->model, "both", &rep_user,
                 now_seconds() - start, ingest);
    summary_fit(s, out->model, &rep_user);
    sqlite3_str_appendf(
        s,
        ",\"blend\":{\"w_rating\":%!.15g,\"w_like\":%!.15g,\"ratings\":%.0f,"
        "\"rmse_user\":%.4f,\"rmse_item\":%.4f,\"item_epochs_run\":%d}",
        out->w_rating, out->w_like, rating.n,
        rating.n ? sqrt(rating.sq_user / rating.n) : 0,
        rating.n ? sqrt(rating.sq_item / rating.n) : 0, rep_item.epochs_run);
    rc = finish_summary(s, cfg, out, err);
  } else {
    if (rc == SQLITE_NOMEM && !*err) *err = sqlite3_mprintf("out of memory");
    sql_trained_free(out);
  }
  rbm_ratings_free(&by_user);
  rbm_ratings_free(&by_item);
  return rc;
}

int sql_train_source(sqlite3 *db, const char *name, const sql_source *src,
                     const rbm_config *cfg, sql_trained *out, char **err) {
  const char *why = rbm_config_check(cfg);
  memset(out, 0, sizeof *out);
  if (why) {
    *err = sqlite3_mprintf("%s", why);
    return SQLITE_ERROR;
  }
  if (!*src->rating && cfg->visible != RBM_VISIBLE_IMPLICIT) {
    *err = sqlite3_mprintf("no rating column: without ratings, train with "
                           "visible 'implicit'");
    return SQLITE_ERROR;
  }
  if (!sqlite3_stricmp(src->user, src->item) ||
      !sqlite3_stricmp(src->user, src->rating) ||
      !sqlite3_stricmp(src->item, src->rating)) {
    *err = sqlite3_mprintf("the user, item and rating columns must be three "
                           "different columns");
    return SQLITE_ERROR;
  }
  if (cfg->orientation == RBM_ORIENT_BOTH)
    return train_both(db, name, src, cfg, out, err);
  double start = now_seconds();
  int by_item = cfg->orientation == RBM_ORIENT_ITEM;
  rbm_ratings r;
  int rc = read_oriented(db, src, by_item, rbm_config_threads(cfg), &r, err);
  double ingest = now_seconds() - start;
  rbm_train_report rep;
  rbm_config shaped = *cfg;  /* what the options left to the data, filled in */
  rbm_config_fit_shape(&shaped, r.users.n, r.items.n);
  if (rc == SQLITE_OK) rc = train_one(db, name, &shaped, &r, NULL, &out->model, &rep, err);
  if (rc != SQLITE_OK) {
    rbm_ratings_free(&r);
    sql_trained_free(out);
    return rc;
  }
  sqlite3_str *s = sqlite3_str_new(NULL);
  summary_head(s, name, &r, by_item, out->model, by_item ? "item" : "user", &rep,
               now_seconds() - start, ingest);
  summary_fit(s, out->model, &rep);
  rbm_ratings_free(&r);
  return finish_summary(s, &shaped, out, err);
}
