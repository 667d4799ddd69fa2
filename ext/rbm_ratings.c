/*
** rbm_ratings.c -- ratings gathered row by row, then laid out in CSR form
** (one row per user) for the trainer.
**
** Rows arrive in any order.  Each is stored as (user index, item index,
** value code) in three flat arrays that grow geometrically: no allocation
** per row.  rbm_ratings_finish() sorts the distinct values, recodes, and
** counting-sorts the rows by user.
*/
#include "rbm_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int value_code(rbm_ratings *r, double value) {
  for (uint32_t c = 0; c < r->n_values; c++)
    if (r->values[c] == value) return (int)c;
  if (r->n_values == RBM_MAX_VALUES) return -1;
  r->values[r->n_values] = value;
  return (int)r->n_values++;
}

int rbm_ratings_add(rbm_ratings *r, const rbm_key *user, const rbm_key *item,
                    double value) {
  int code = value_code(r, value);
  if (code < 0) return RBM_ERROR;
  if (r->n == r->cap) {
    uint64_t cap = r->cap ? r->cap * 2 : 65536;
    uint32_t *u = realloc(r->user, cap * sizeof *u);
    if (!u) return RBM_NOMEM;
    r->user = u;
    uint32_t *it = realloc(r->item, cap * sizeof *it);
    if (!it) return RBM_NOMEM;
    r->item = it;
    uint8_t *c = realloc(r->code, cap * sizeof *c);
    if (!c) return RBM_NOMEM;
    r->code = c;
    r->cap = cap;
  }
  int64_t ui = rbm_keys_intern(&r->users, user);
  int64_t ii = rbm_keys_intern(&r->items, item);
  if (ui < 0 || ii < 0) return RBM_NOMEM;
  r->user[r->n] = (uint32_t)ui;
  r->item[r->n] = (uint32_t)ii;
  r->code[r->n] = (uint8_t)code;
  r->n++;
  return RBM_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* A user who rated an item twice keeps the later row (in arrival order):
** one item is one softmax unit group, never two. */
static int drop_duplicates(rbm_ratings *r) {
  uint32_t ni = r->items.n, nu = r->users.n;
  uint64_t *where = malloc((ni ? ni : 1) * sizeof *where);  /* item -> slot */
  uint32_t *stamp = calloc(ni ? ni : 1, sizeof *stamp);     /* user + 1 */
  if (!where || !stamp) {
    free(where);
    free(stamp);
    return 0;
  }
  uint64_t out = 0;
  for (uint32_t u = 0; u < nu; u++) {
    uint64_t begin = out;
    for (uint64_t j = r->row[u]; j < r->row[u + 1]; j++) {
      uint32_t it = r->col_item[j];
      if (stamp[it] == u + 1) {
        r->col_code[where[it]] = r->col_code[j];
        r->n_duplicates++;
        continue;
      }
      stamp[it] = u + 1;
      where[it] = out;
      r->col_item[out] = it;
      r->col_code[out] = r->col_code[j];
      out++;
    }
    r->row[u] = begin;
  }
  r->row[nu] = out;
  r->n = out;
  free(where);
  free(stamp);
  return 1;
}

int rbm_ratings_finish(rbm_ratings *r) {
  /* Recode values in ascending order. */
  double sorted[RBM_MAX_VALUES];
  uint8_t recode[RBM_MAX_VALUES];
  memcpy(sorted, r->values, r->n_values * sizeof *sorted);
  qsort(sorted, r->n_values, sizeof *sorted, cmp_double);
  for (uint32_t c = 0; c < r->n_values; c++)
    for (uint32_t s = 0; s < r->n_values; s++)
      if (sorted[s] == r->values[c]) recode[c] = (uint8_t)s;
  memcpy(r->values, sorted, r->n_values * sizeof *sorted);

  uint32_t nu = r->users.n;
  free(r->row);
  free(r->col_item);
  free(r->col_code);
  r->row = calloc((size_t)nu + 1, sizeof *r->row);
  r->col_item = malloc((r->n ? r->n : 1) * sizeof *r->col_item);
  r->col_code = malloc(r->n ? r->n : 1);
  if (!r->row || !r->col_item || !r->col_code) return RBM_NOMEM;

  /* Counting sort by user; within a user, rows keep their arrival order. */
  for (uint64_t j = 0; j < r->n; j++) r->row[r->user[j] + 1]++;
  for (uint32_t u = 0; u < nu; u++) r->row[u + 1] += r->row[u];
  uint64_t *next = malloc(((size_t)nu + 1) * sizeof *next);
  if (!next) return RBM_NOMEM;
  memcpy(next, r->row, ((size_t)nu + 1) * sizeof *next);
  for (uint64_t j = 0; j < r->n; j++) {
    uint64_t at = next[r->user[j]]++;
    r->col_item[at] = r->item[j];
    r->col_code[at] = recode[r->code[j]];
  }
  free(next);
  if (!drop_duplicates(r)) return RBM_NOMEM;
  /* The arrival-order arrays are no longer needed. */
  free(r->user);
  free(r->item);
  free(r->code);
  r->user = r->item = NULL;
  r->code = NULL;
  r->cap = 0;
  return RBM_OK;
}

size_t rbm_ratings_longest_row(const rbm_ratings *r) {
  uint64_t longest = 1;
  for (uint32_t u = 0; u < r->users.n; u++)
    if (r->row[u + 1] - r->row[u] > longest) longest = r->row[u + 1] - r->row[u];
  return (size_t)longest;
}

void rbm_ratings_free(rbm_ratings *r) {
  rbm_keys_free(&r->users);
  rbm_keys_free(&r->items);
  free(r->user);
  free(r->item);
  free(r->code);
  free(r->row);
  free(r->col_item);
  free(r->col_code);
  memset(r, 0, sizeof *r);
}

/* ---- the feed: reading and interning in two threads ------------------ */

#define FEED_ROWS 8192
#define FEED_BATCHES 4  /* the reader runs up to three batches ahead */

/* A key copied out of the reader's hands: an integer, or text at offset
** `at` of the batch's text buffer (a pointer would not survive its growth). */
typedef struct fed_key {
  int64_t at_or_int;
  uint32_t len;   /* RBM_KEY_INT for integers */
} fed_key;

typedef struct feed_batch {
  fed_key user[FEED_ROWS], item[FEED_ROWS];
  double value[FEED_ROWS];
  uint32_t n;
  char *text;
  size_t text_len, text_cap;
  int full;  /* handed to the interning thread, not yet given back */
} feed_batch;

struct rbm_feed {
  rbm_ratings *r;
  feed_batch batch[FEED_BATCHES];
  uint32_t filling, interning;  /* batch indexes of the two sides */
  int threaded, closing, error;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t changed;
};

static rbm_key unpack_key(const feed_batch *b, const fed_key *k) {
  rbm_key key = {0};
  if (k->len == RBM_KEY_INT) {
    key.i = k->at_or_int;
  } else {
    key.text = b->text + k->at_or_int;
    key.len = k->len;
  }
  return key;
}

/* Adds a batch's rows in order; RBM_OK or the first error. */
static int intern_batch(rbm_ratings *r, const feed_batch *b) {
  for (uint32_t j = 0; j < b->n; j++) {
    rbm_key user = unpack_key(b, &b->user[j]), item = unpack_key(b, &b->item[j]);
    int rc = rbm_ratings_add(r, &user, &item, b->value[j]);
    if (rc != RBM_OK) return rc;
  }
  return RBM_OK;
}

static void *feed_thread(void *arg) {
  rbm_feed *f = arg;
  pthread_mutex_lock(&f->mu);
  for (;;) {
    feed_batch *b = &f->batch[f->interning];
    while (!b->full && !f->closing) pthread_cond_wait(&f->changed, &f->mu);
    if (!b->full) break;  /* closing, and nothing left */
    int error = f->error;
    pthread_mutex_unlock(&f->mu);
    if (error == RBM_OK) error = intern_batch(f->r, b);
    pthread_mutex_lock(&f->mu);
    f->error = error;
    b->full = 0;
    b->n = 0;
    b->text_len = 0;
    f->interning = (f->interning + 1) % FEED_BATCHES;
    pthread_cond_broadcast(&f->changed);
  }
  pthread_mutex_unlock(&f->mu);
  return NULL;
}

rbm_feed *rbm_feed_open(rbm_ratings *r, int threaded) {
  rbm_feed *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  f->r = r;
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->changed, NULL);
  f->threaded = threaded && pthread_create(&f->thread, NULL, feed_thread, f) == 0;
  return f;
}

/* Hands the filling batch over (or adds it here, unthreaded) and waits
** until the next one is free. */
static int pass_batch(rbm_feed *f) {
  feed_batch *b = &f->batch[f->filling];
  if (!f->threaded) {
    if (f->error == RBM_OK) f->error = intern_batch(f->r, b);
    b->n = 0;
    b->text_len = 0;
    return f->error;
  }
  pthread_mutex_lock(&f->mu);
  b->full = 1;
  f->filling = (f->filling + 1) % FEED_BATCHES;
  pthread_cond_broadcast(&f->changed);
  while (f->batch[f->filling].full) pthread_cond_wait(&f->changed, &f->mu);
  int error = f->error;
  pthread_mutex_unlock(&f->mu);
  return error;
}

static int pack_key(feed_batch *b, const rbm_key *key, fed_key *out) {
  if (!key->text) {
    out->at_or_int = key->i;
    out->len = RBM_KEY_INT;
    return 1;
  }
  if (b->text_len + key->len > b->text_cap) {
    size_t cap = b->text_cap ? b->text_cap * 2 : 65536;
    while (cap < b->text_len + key->len) cap *= 2;
    char *text = realloc(b->text, cap);
    if (!text) return 0;
    b->text = text;
    b->text_cap = cap;
  }
  if (key->len) memcpy(b->text + b->text_len, key->text, key->len);
  out->at_or_int = (int64_t)b->text_len;
  out->len = key->len;
  b->text_len += key->len;
  return 1;
}

int rbm_feed_add(rbm_feed *f, const rbm_key *user, const rbm_key *item,
                 double value) {
  feed_batch *b = &f->batch[f->filling];
  if (!pack_key(b, user, &b->user[b->n]) || !pack_key(b, item, &b->item[b->n]))
    return RBM_NOMEM;
  b->value[b->n++] = value;
  return b->n == FEED_ROWS ? pass_batch(f) : RBM_OK;
}

int rbm_feed_close(rbm_feed *f) {
  int rc = f->batch[f->filling].n ? pass_batch(f) : RBM_OK;
  if (f->threaded) {
    pthread_mutex_lock(&f->mu);
    f->closing = 1;
    pthread_cond_broadcast(&f->changed);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
  }
  if (rc == RBM_OK) rc = f->error;
  for (int k = 0; k < FEED_BATCHES; k++) free(f->batch[k].text);
  pthread_mutex_destroy(&f->mu);
  pthread_cond_destroy(&f->changed);
  free(f);
  return rc;
}
