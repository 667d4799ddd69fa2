/*
** test_engine.c -- the engine's C API, without SQLite.
**
** Prints "ok - what" or "not ok - what" per check and exits nonzero if any
** failed.  The training checks use a planted data set: two groups of users
** with opposite tastes over two groups of items, so what the model must
** learn is known without tuning to it.
*/
#include "rbm.h"
#include "../ext/rbm_math.h"  /* the training's number formats, and internals */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures, checks;

static void check(int cond, const char *what) {
  checks++;
  if (!cond) failures++;
  printf("%s - %s\n", cond ? "ok" : "not ok", what);
}

static rbm_key int_key(int64_t i) {
  rbm_key k = {0};
  k.i = i;
  return k;
}

static rbm_key text_key(const char *s) {
  rbm_key k = {0};
  k.text = s;
  k.len = (uint32_t)strlen(s);
  return k;
}

/* ---- ids ---------------------------------------------------------------- */

static void test_keys(void) {
  rbm_keys keys = {0};
  rbm_key a = int_key(42), b = text_key("42"), c = text_key(""), d = int_key(-7);
  int64_t ia = rbm_keys_intern(&keys, &a), ib = rbm_keys_intern(&keys, &b);
  int64_t ic = rbm_keys_intern(&keys, &c), id = rbm_keys_intern(&keys, &d);
  check(ia == 0 && ib == 1 && ic == 2 && id == 3,
        "keys: integer 42, text '42', empty text, -7 get distinct indexes");
  check(rbm_keys_intern(&keys, &b) == 1 && rbm_keys_find(&keys, &c) == 2,
        "keys: interning or finding a known key returns its index");
  rbm_key e = text_key("nope");
  check(rbm_keys_find(&keys, &e) == -1, "keys: an unknown key is not found");
  rbm_key back = rbm_keys_get(&keys, 2);
  check(back.text != NULL && back.len == 0,
        "keys: the empty text key reads back as text, not integer");
  /* Enough keys to make the table grow several times. */
  int all_found = 1;
  char buf[32];
  for (int i = 0; i < 50000; i++) {
    snprintf(buf, sizeof buf, "user-%d", i);
    rbm_key k = text_key(buf);
    if (rbm_keys_intern(&keys, &k) != i + 4) all_found = 0;
  }
  for (int i = 0; i < 50000 && all_found; i++) {
    snprintf(buf, sizeof buf, "user-%d", i);
    rbm_key k = text_key(buf);
    if (rbm_keys_find(&keys, &k) != i + 4) all_found = 0;
  }
  check(all_found && keys.n == 50004, "keys: 50,000 text keys survive growth");
  rbm_keys_free(&keys);

  /* Integer ids: small ones go through the dense array, others through
  ** the table; an id first seen while too large for the array (3,000,000)
  ** must still be found once the array has grown past it. */
  int64_t ids[] = {3000000, -5, 0, 7, INT64_MAX, INT64_MIN, 65536, 1};
  int n_ids = (int)(sizeof ids / sizeof ids[0]);
  int same = 1;
  for (int i = 0; i < n_ids; i++) {
    rbm_key k = int_key(ids[i]);
    if (rbm_keys_intern(&keys, &k) != i) same = 0;
  }
  for (int64_t i = 0; i < 800000; i++) {  /* grows the array to 3,000,000+ */
    rbm_key k = int_key(1001 + i * 4);  /* odd: none of ids */
    rbm_keys_intern(&keys, &k);
  }
  for (int i = 0; i < n_ids; i++) {
    rbm_key k = int_key(ids[i]);
    if (rbm_keys_find(&keys, &k) != i || rbm_keys_intern(&keys, &k) != i)
      same = 0;
  }
  rbm_key absent = int_key(1002);
  check(same && keys.n == (uint32_t)n_ids + 800000 &&
            rbm_keys_find(&keys, &absent) == -1,
        "keys: integer ids, small and large, keep their indexes as the "
        "tables grow");
  rbm_keys_free(&keys);
}

/* ---- ratings ------------------------------------------------------------ */

static void test_ratings(void) {
  rbm_ratings r;
  memset(&r, 0, sizeof r);
  rbm_key u1 = int_key(1), u2 = text_key("bob");
  rbm_key i1 = int_key(10), i2 = int_key(20);
  rbm_ratings_add(&r, &u1, &i1, 4.5);
  rbm_ratings_add(&r, &u2, &i1, 0.5);
  rbm_ratings_add(&r, &u1, &i2, 2);
  rbm_ratings_add(&r, &u1, &i1, 3);  /* duplicate pair: the later row wins */
  check(rbm_ratings_finish(&r) == RBM_OK, "ratings: finish succeeds");
  check(r.n_values == 4 && r.values[0] == 0.5 && r.values[1] == 2 &&
            r.values[2] == 3 && r.values[3] == 4.5,
        "ratings: distinct values are sorted ascending");
  check(r.n == 3 && r.n_duplicates == 1, "ratings: a repeated pair is dropped");
  int ok = r.row[0] == 0 && r.row[1] == 2 && r.row[2] == 3 &&
           r.col_item[0] == 0 && r.values[r.col_code[0]] == 3 &&
           r.col_item[1] == 1 && r.values[r.col_code[1]] == 2 &&
           r.col_item[2] == 0 && r.values[r.col_code[2]] == 0.5;
  check(ok, "ratings: CSR rows hold each user's items and recoded values");
  rbm_ratings_free(&r);

  memset(&r, 0, sizeof r);
  int rc = RBM_OK;
  for (int v = 0; v <= RBM_MAX_VALUES && rc == RBM_OK; v++) {
    rbm_key u = int_key(v);
    rc = rbm_ratings_add(&r, &u, &i1, v);
  }
  check(rc == RBM_ERROR, "ratings: more than RBM_MAX_VALUES values is an error");
  rbm_ratings_free(&r);

  /* The feed, threaded or not, gives what rbm_ratings_add row by row gives:
  ** several batches of rows, text and integer ids, repeated pairs. */
  rbm_ratings want, got[2];
  memset(&want, 0, sizeof want);
  rbm_feed *f[2];
  for (int t = 0; t < 2; t++) {
    memset(&got[t], 0, sizeof got[t]);
    f[t] = rbm_feed_open(&got[t], t);
  }
  char ubuf[32];
  int fed_ok = 1;
  for (int j = 0; j < 30000; j++) {
    snprintf(ubuf, sizeof ubuf, "user %d", (j * 7) % 1500);
    rbm_key u = j % 3 ? text_key(ubuf) : int_key((j * 7) % 1500);
    rbm_key it = int_key((j * 13) % 700);
    double v = 1 + (j * 31) % 5;
    rbm_ratings_add(&want, &u, &it, v);
    for (int t = 0; t < 2; t++)
      if (rbm_feed_add(f[t], &u, &it, v) != RBM_OK) fed_ok = 0;
  }
  for (int t = 0; t < 2; t++)
    if (rbm_feed_close(f[t]) != RBM_OK) fed_ok = 0;
  rbm_ratings_finish(&want);
  int equal = fed_ok;
  for (int t = 0; t < 2; t++) {
    rbm_ratings_finish(&got[t]);
    equal = equal && got[t].n == want.n && got[t].users.n == want.users.n &&
            got[t].items.n == want.items.n &&
            got[t].n_duplicates == want.n_duplicates &&
            !memcmp(got[t].row, want.row, (want.users.n + 1) * sizeof *want.row) &&
            !memcmp(got[t].col_item, want.col_item, want.n * sizeof *want.col_item) &&
            !memcmp(got[t].col_code, want.col_code, want.n);
    for (uint32_t u = 0; equal && u < want.users.n; u++) {
      rbm_key a = rbm_keys_get(&want.users, u), b = rbm_keys_get(&got[t].users, u);
      equal = rbm_key_equal(&a, &b);
    }
    rbm_ratings_free(&got[t]);
  }
  check(equal && want.n_duplicates > 0,
        "ratings: the feed, on a second thread or not, builds the same rows");
  rbm_ratings_free(&want);

  memset(&r, 0, sizeof r);
  rbm_feed *bad = rbm_feed_open(&r, 1);
  for (int v = 0; v <= 5 * RBM_MAX_VALUES; v++) {
    rbm_key u = int_key(v);
    if (rbm_feed_add(bad, &u, &i1, v) != RBM_OK) break;
  }
  check(rbm_feed_close(bad) == RBM_ERROR,
        "ratings: the feed reports too many values from its thread");
  rbm_ratings_free(&r);
}

/* ---- configuration ------------------------------------------------------ */

static void test_config(void) {
  rbm_config c;
  rbm_config_defaults(&c);
  check(rbm_config_check(&c) == NULL, "config: the defaults are valid");
  c.hidden = 0;
  check(rbm_config_check(&c) &&
            strstr(rbm_config_check(&c), "hidden"),
        "config: hidden = 0 is rejected by name");
  rbm_config_defaults(&c);
  c.hidden = 1000000000;
  check(rbm_config_check(&c) != NULL, "config: hidden = 10^9 is rejected");
  /* hidden 0 with visible 'implicit': from the data's shape. */
  rbm_config_defaults(&c);
  c.visible = RBM_VISIBLE_IMPLICIT;
  c.hidden = 0;
  check(rbm_config_check(&c) == NULL, "config: implicit hidden = 0 is valid");
  static const uint32_t items[] = {1, 3, 40, 399, 400, 401, 59000};
  static const int want[] = {1, 1, 20, 199, 200, 200, 200};
  for (int j = 0; j < 7; j++) {
    c.hidden = 0;
    rbm_config_fit_shape(&c, 100, items[j]);
    check(c.hidden == want[j], "config: implicit hidden from the shape is "
                               "half the items, 1 to RBM_IMPLICIT_HIDDEN");
  }
  c.hidden = 300;
  rbm_config_fit_shape(&c, 100, 40);
  check(c.hidden == 300, "config: a given hidden is kept");
  c.visible = RBM_VISIBLE_SOFTMAX;
  c.hidden = 0;
  rbm_config_fit_shape(&c, 100, 40);
  check(c.hidden == 0 && rbm_config_check(&c) != NULL,
        "config: softmax hidden = 0 is not filled in, and is rejected");
  rbm_config_defaults(&c);
  c.learning_rate = -0.1;
  check(rbm_config_check(&c) && strstr(rbm_config_check(&c), "learning_rate"),
        "config: a negative learning rate is rejected by name");
  rbm_config_defaults(&c);
  c.learning_rate = NAN;
  check(rbm_config_check(&c) != NULL, "config: a NaN learning rate is rejected");
  rbm_config_defaults(&c);
  c.momentum = 1.0;
  check(rbm_config_check(&c) != NULL, "config: momentum 1 is rejected");
  rbm_config_defaults(&c);
  c.cd_k = 0;
  check(rbm_config_check(&c) != NULL, "config: cd_k 0 is rejected");
}

/* ---- a planted data set -------------------------------------------------- */

/* 80 users x 60 items.  Even users love even items (5) and dislike odd ones
** (1); odd users the reverse.  Pair (u, i) is rated unless (u*7 + i*13) % 4
** == 0; the held-out pairs are those. */
#define P_USERS 80
#define P_ITEMS 60
static int planted_rating(int u, int i) { return (u % 2) == (i % 2) ? 5 : 1; }
static int planted_is_rated(int u, int i) { return (u * 7 + i * 13) % 4 != 0; }

/* The planted ratings, then `filler` more items rated once each, 3, by
** users in turn: they make the catalogue, and the weights, large without
** changing the tastes. */
static void planted_filled(rbm_ratings *r, int binary_values, int filler) {
  memset(r, 0, sizeof *r);
  for (int u = 0; u < P_USERS; u++)
    for (int i = 0; i < P_ITEMS; i++) {
      if (!planted_is_rated(u, i)) continue;
      rbm_key ku = int_key(u), ki = int_key(1000 + i);
      /* A little noise in the values, so there are 5 distinct ratings. */
      int v = planted_rating(u, i);
      if ((u + i) % 11 == 0) v = v == 5 ? 4 : 2;
      if ((u * i) % 17 == 5) v = 3;
      rbm_ratings_add(r, &ku, &ki, binary_values ? (v >= 3) : v);
    }
  for (int j = 0; j < filler; j++) {
    rbm_key ku = int_key(j % P_USERS), ki = int_key(100000 + j);
    rbm_ratings_add(r, &ku, &ki, 3);
  }
  rbm_ratings_finish(r);
}

static void planted(rbm_ratings *r, int binary_values) {
  planted_filled(r, binary_values, 0);
}

static void small_config(rbm_config *c) {
  rbm_config_defaults(c);
  c->hidden = 16;
  c->epochs = 40;
  c->batch_size = 10;
  c->learning_rate = 0.05;
}

/* Fold in user u from r and predict item i (model indexes). */
static void predict_pair(const rbm_model *m, const rbm_ratings *r, int u,
                         int i, double *rating, double *p_like) {
  rbm_key ku = int_key(u), ki = int_key(1000 + i);
  int64_t ru = rbm_keys_find(&r->users, &ku);
  int64_t mi = rbm_keys_find(&m->items, &ki);
  size_t len = (size_t)(r->row[ru + 1] - r->row[ru]), n = 0;
  uint32_t *items = malloc(len * sizeof *items);
  uint8_t *units = malloc(len);
  for (uint64_t j = r->row[ru]; j < r->row[ru + 1]; j++) {
    rbm_key k = rbm_keys_get(&r->items, r->col_item[j]);
    items[n] = (uint32_t)rbm_keys_find(&m->items, &k);
    units[n++] = (uint8_t)rbm_unit_of_value(m, r->values[r->col_code[j]]);
  }
  float *hidden = malloc(m->layer.n_hidden * sizeof *hidden), probs[RBM_MAX_VALUES];
  rbm_fold_in(m, n, items, units, hidden);
  rbm_item_probs(m, hidden, (uint32_t)mi, probs);
  free(hidden);
  free(items);
  free(units);
  *rating = rbm_expected_rating(m, probs);
  *p_like = rbm_like_probability(m, probs);
}

/* Held-out accuracy of like / not like on the planted data. */
static double heldout_like_accuracy(const rbm_model *m, const rbm_ratings *r,
                                    double *rmse) {
  int right = 0, n = 0;
  double se = 0;
  for (int u = 0; u < P_USERS; u++)
    for (int i = 0; i < P_ITEMS; i++) {
      if (planted_is_rated(u, i)) continue;
      double rating, p_like;
      predict_pair(m, r, u, i, &rating, &p_like);
      int like = planted_rating(u, i) >= 3;
      right += (p_like >= 0.5) == like;
      se += (rating - planted_rating(u, i)) * (rating - planted_rating(u, i));
      n++;
    }
  if (rmse) *rmse = sqrt(se / n);
  return (double)right / n;
}

static int same_blob(const rbm_model *a, const rbm_model *b) {
  unsigned char *pa, *pb;
  size_t na, nb;
  rbm_model_save(a, &pa, &na);
  rbm_model_save(b, &pb, &nb);
  int same = na == nb && memcmp(pa, pb, na) == 0;
  free(pa);
  free(pb);
  return same;
}

static int stop_now(void *ctx) {
  (void)ctx;
  return 1;
}

/* A sink that gathers the pieces, and refuses after `allow` of them. */
typedef struct piece_sink {
  unsigned char *bytes;
  size_t n, calls, allow;
} piece_sink;

static int collect(void *ctx, const void *p, size_t n) {
  piece_sink *s = ctx;
  if (s->calls++ >= s->allow) return 1;
  memcpy(s->bytes + s->n, p, n);
  s->n += n;
  return 0;
}

static void test_training(void) {
  rbm_ratings r;
  planted(&r, 0);
  rbm_config c;
  small_config(&c);
  rbm_model *m = NULL, *m2 = NULL, *m3 = NULL;
  rbm_train_report rep;
  char err[200];
  int rc = rbm_train(&c, &r, NULL, &m, &rep, err, sizeof err);
  check(rc == RBM_OK && m && rep.epochs_run == 40,
        "train: softmax model trains for the epochs asked");
  if (!m) return;
  check(m->n_units == 5 && m->unit_value[0] == 1 && m->unit_value[4] == 5,
        "train: one softmax unit per distinct rating value");
  double rmse, acc = heldout_like_accuracy(m, &r, &rmse);
  printf("# planted softmax: held-out like accuracy %.3f, rmse %.3f\n", acc,
         rmse);
  check(acc >= 0.95, "train: held-out planted likes are predicted (>= 95%)");
  check(rmse < 1.0, "train: held-out planted ratings have RMSE < 1");

  rc = rbm_train(&c, &r, NULL, &m2, &rep, err, sizeof err);
  check(rc == RBM_OK && same_blob(m, m2),
        "train: same seed, data and threads give the same model, bit for bit");
  rbm_model_free(m2);
  m2 = NULL;

  c.threads = 2;
  rc = rbm_train(&c, &r, NULL, &m2, &rep, err, sizeof err);
  rbm_model *m2b = NULL;
  rc |= rbm_train(&c, &r, NULL, &m2b, &rep, err, sizeof err);
  check(rc == RBM_OK && rep.threads == 2 && same_blob(m2, m2b),
        "train: two threads, same seed: the same model twice");
  check(same_blob(m, m2),
        "train: one thread or two, the same model bit for bit (fixed-order sums)");
  double acc2 = heldout_like_accuracy(m2, &r, NULL);
  check(acc2 >= 0.95, "train: two threads learn the planted tastes too");
  rbm_model_free(m2);
  rbm_model_free(m2b);

  c.threads = 1;
  c.seed = 7;
  rc = rbm_train(&c, &r, NULL, &m3, &rep, err, sizeof err);
  check(rc == RBM_OK && !same_blob(m, m3), "train: another seed, another model");
  rbm_model_free(m3);

  rbm_train_hooks hooks = {NULL, stop_now, NULL};
  m3 = (rbm_model *)&hooks;  /* must be reset to NULL */
  rc = rbm_train(&c, &r, &hooks, &m3, &rep, err, sizeof err);
  check(rc == RBM_STOPPED && m3 == NULL && strstr(err, "interrupted"),
        "train: should_stop ends training with RBM_STOPPED and no model");

  c.hidden = 0;
  rc = rbm_train(&c, &r, NULL, &m3, &rep, err, sizeof err);
  check(rc == RBM_ERROR && strstr(err, "hidden"),
        "train: a bad configuration is an error naming the field");

  /* Serialisation round trip: same predictions from the loaded model. */
  unsigned char *blob;
  size_t n;
  check(rbm_model_save(m, &blob, &n) == RBM_OK && memcmp(blob, "RBMMODEL", 8) == 0,
        "save: the blob starts with its magic");
  rc = rbm_model_load(blob, n, &m2, err, sizeof err);
  double a1, a2, b1, b2;
  if (rc == RBM_OK) {
    predict_pair(m, &r, 3, 5, &a1, &b1);
    predict_pair(m2, &r, 3, 5, &a2, &b2);
  }
  check(rc == RBM_OK && a1 == a2 && b1 == b2 && same_blob(m, m2),
        "load: a saved model loads and predicts the same");
  rbm_model_free(m2);

  /* Written in pieces to a sink: the same bytes; a sink that refuses
  ** stops the writing with RBM_ERROR. */
  piece_sink ps = {malloc(n), 0, 0, SIZE_MAX};
  check(rbm_model_blob_size(m) == n && rbm_model_write(m, collect, &ps) == RBM_OK &&
            ps.n == n && ps.calls > 2 && memcmp(ps.bytes, blob, n) == 0,
        "write: the pieces a sink gets are the saved blob, byte for byte");
  piece_sink refuses = {malloc(n), 0, 0, 1};
  check(rbm_model_write(m, collect, &refuses) == RBM_ERROR && refuses.calls == 2,
        "write: a sink's refusal stops the writing with RBM_ERROR");
  free(ps.bytes);
  free(refuses.bytes);

  /* Damage: every kind must be RBM_CORRUPT, never a crash. */
  unsigned char *bad = malloc(n);
  memcpy(bad, blob, n);
  bad[n / 2] ^= 0x40;
  rc = rbm_model_load(bad, n, &m2, err, sizeof err);
  check(rc == RBM_CORRUPT && m2 == NULL && strstr(err, "damaged"),
        "load: a flipped bit is reported as damage");
  memcpy(bad, blob, n);
  rc = rbm_model_load(bad, n - 100, &m2, err, sizeof err);
  check(rc == RBM_CORRUPT, "load: a truncated blob is rejected");
  rc = rbm_model_load(bad, 10, &m2, err, sizeof err);
  check(rc == RBM_CORRUPT, "load: a 10-byte blob is rejected");
  bad[8] = 99;  /* format version */
  rc = rbm_model_load(bad, n, &m2, err, sizeof err);
  check(rc == RBM_CORRUPT && strstr(err, "version"),
        "load: an unknown format version is named as such");
  memcpy(bad, "NOTMODEL", 8);
  rc = rbm_model_load(bad, n, &m2, err, sizeof err);
  check(rc == RBM_CORRUPT && strstr(err, "magic"), "load: bad magic is rejected");
  free(bad);
  free(blob);

  /* Priors: distributions, and an item's prior follows its ratings. */
  float prior[RBM_MAX_VALUES];
  double sum = 0;
  rbm_prior_probs(m, UINT32_MAX, prior);
  for (uint32_t k = 0; k < m->n_units; k++) sum += prior[k];
  check(fabs(sum - 1) < 1e-5, "prior: the global prior sums to 1");

  /* All-item scoring (GEMV) agrees with item-by-item scoring. */
  float hidden[16], *all = malloc((size_t)m->n_items * m->n_units * sizeof *all);
  uint32_t items[2] = {0, 1};
  uint8_t units[2] = {4, 0};
  rbm_fold_in(m, 2, items, units, hidden);
  rbm_all_item_probs(m, hidden, all);
  double worst = 0;
  for (uint32_t i = 0; i < m->n_items; i++) {
    float one[RBM_MAX_VALUES];
    rbm_item_probs(m, hidden, i, one);
    for (uint32_t k = 0; k < m->n_units; k++) {
      double d = fabs(one[k] - all[(size_t)i * m->n_units + k]);
      worst = d > worst ? d : worst;
    }
  }
  check(worst < 1e-5, "predict: GEMV scoring equals per-item scoring");
  free(all);
  rbm_model_free(m);
  rbm_ratings_free(&r);
}

static void test_binary(void) {
  rbm_ratings r;
  planted(&r, 0);
  rbm_config c;
  small_config(&c);
  c.visible = RBM_VISIBLE_BINARY;
  rbm_model *m = NULL;
  rbm_train_report rep;
  char err[200];
  int rc = rbm_train(&c, &r, NULL, &m, &rep, err, sizeof err);
  check(rc == RBM_OK && m && m->n_units == 2,
        "binary: a like / not-like model has two units");
  if (!m) return;
  check(rbm_unit_of_value(m, 3) == 1 && rbm_unit_of_value(m, 2.9) == 0,
        "binary: like_threshold 3 splits the ratings");
  double acc = heldout_like_accuracy(m, &r, NULL);
  printf("# planted binary: held-out like accuracy %.3f\n", acc);
  check(acc >= 0.95, "binary: held-out planted likes are predicted (>= 95%)");
  rbm_model_free(m);
  rbm_ratings_free(&r);

  planted(&r, 1);  /* values 0 and 1 only */
  c.visible = RBM_VISIBLE_SOFTMAX;
  rc = rbm_train(&c, &r, NULL, &m, &rep, err, sizeof err);
  check(rc == RBM_OK && m->n_units == 2,
        "softmax: two distinct values make a two-unit softmax");
  rbm_model_free(m);
  rbm_ratings_free(&r);
}

/* One user with thousands of ratings among many light ones: a minibatch
** holding that user touches far more weight rows than the average guess,
** so the gradient pool must grow mid-batch (under ASan, any stale pointer
** into the old pool is caught). */
static void test_heavy_user(void) {
  rbm_ratings r;
  memset(&r, 0, sizeof r);
  for (int i = 0; i < 3000; i++) {
    rbm_key u = int_key(0), it = int_key(i);
    rbm_ratings_add(&r, &u, &it, 1 + (i * 7) % 5);
  }
  for (int u = 1; u <= 200; u++) {
    rbm_key ku = int_key(u), it = int_key(u * 13 % 3000);
    rbm_ratings_add(&r, &ku, &it, 1 + u % 5);
  }
  rbm_ratings_finish(&r);
  rbm_config c;
  rbm_config_defaults(&c);
  c.hidden = 8;
  c.epochs = 2;
  c.batch_size = 10;
  rbm_model *m = NULL;
  rbm_train_report rep;
  char err[200];
  int rc = rbm_train(&c, &r, NULL, &m, &rep, err, sizeof err);
  int finite = rc == RBM_OK;
  for (size_t j = 0; finite && j < (size_t)m->n_items * m->n_units * m->layer.n_hidden; j++)
    finite = isfinite(m->layer.W[j]);
  check(finite, "train: a heavy user grows the gradient pool mid-batch; weights stay finite");
  rbm_model_free(m);
  rbm_ratings_free(&r);
}

/* 3,060 items x 5 units x 300 hidden units are 18 MB of weights (x 2 x
** 700 for a binary model: 17 MB), more than the caches hold, so the
** trainer keeps them as split rows (bfloat16 tops for the chains, and
** remainders) while it trains.  Such a model must
** learn the planted tastes as a small one does, be the same for one and two
** threads, and come back as plain floats (with validation the rows are
** joined and split again every epoch). */
static void test_large_model(void) {
  rbm_config c;
  small_config(&c);
  c.epochs = 20;
  rbm_train_report rep;
  char err[200];
  for (int binary = 0; binary <= 1; binary++) {
    rbm_ratings r;
    planted_filled(&r, 0, 3000);
    c.visible = binary ? RBM_VISIBLE_BINARY : RBM_VISIBLE_SOFTMAX;
    c.hidden = binary ? 700 : 300;  /* two units an item, or five */
    rbm_model *m1 = NULL, *m2 = NULL;
    c.threads = 1;
    int rc = rbm_train(&c, &r, NULL, &m1, &rep, err, sizeof err);
    c.threads = 2;
    rc |= rbm_train(&c, &r, NULL, &m2, &rep, err, sizeof err);
    int large = rc == RBM_OK && rbm_model_is_cold(m1);
    double acc = rc == RBM_OK ? heldout_like_accuracy(m1, &r, NULL) : 0;
    printf("# large %s model: held-out like accuracy %.3f\n", binary ? "binary" : "softmax", acc);
    check(large && acc >= 0.95, binary ? "large binary model: learns the planted tastes"
                                       : "large softmax model: learns the planted tastes");
    check(rc == RBM_OK && same_blob(m1, m2),
          "large model: one thread or two, the same model bit for bit");
    rbm_model_free(m1);
    rbm_model_free(m2);
    m1 = NULL;
    c.threads = 2;
    c.validation = 0.2;
    rc = rbm_train(&c, &r, NULL, &m1, &rep, err, sizeof err);
    c.validation = 0;
    acc = rc == RBM_OK ? heldout_like_accuracy(m1, &r, NULL) : 0;
    check(acc >= 0.95 && rep.validation.ratings > 0,
          "large model with validation: measured every epoch, still learns");
    rbm_model_free(m1);
    rbm_ratings_free(&r);
  }
}

/* Validation on short rows: a user can hold out more ratings than the
** longest training row has (3 ratings, 2 held out; the others keep 1 of 2),
** and measuring them must fit in the scratch (the sanitizer run checks). */
static void test_validation_short_rows(void) {
  rbm_ratings r;
  memset(&r, 0, sizeof r);
  for (int u = 0; u < 30; u++)
    for (int i = 0; i < (u == 0 ? 3 : 2); i++) {
      rbm_key ku = int_key(u), it = int_key((u + i) % 7);
      rbm_ratings_add(&r, &ku, &it, 1 + (u + i) % 5);
    }
  rbm_ratings_finish(&r);
  rbm_config c;
  rbm_config_defaults(&c);
  c.hidden = 4;
  c.epochs = 2;
  c.validation = 0.5;
  int ok = 1;
  for (uint64_t seed = 1; seed <= 20; seed++) {
    c.seed = seed;
    rbm_model *m = NULL;
    rbm_train_report rep;
    char err[200];
    ok = ok && rbm_train(&c, &r, NULL, &m, &rep, err, sizeof err) == RBM_OK &&
         rep.validation.ratings >= 30;
    rbm_model_free(m);
  }
  check(ok, "train: validation on rows of 2 and 3 ratings measures every held-out one");
  rbm_ratings_free(&r);
}

/* A small model trained on planted(r, 0), or NULL after failing check
** what (r is then freed). */
static rbm_model *planted_model(rbm_ratings *r, const char *what) {
  planted(r, 0);
  rbm_config c;
  small_config(&c);
  rbm_model *m = NULL;
  rbm_train_report rep;
  char err[200];
  if (rbm_train(&c, r, NULL, &m, &rep, err, sizeof err) != RBM_OK) {
    check(0, what);
    rbm_ratings_free(r);
    return NULL;
  }
  return m;
}

/* rbm_recommend against brute force: the k best items by P(like), best
** first, never one the user rated; k larger than the catalogue; k = 0; and
** a user the model cannot place ranks by the priors. */
static void test_recommend(void) {
  rbm_ratings r;
  rbm_model *m = planted_model(&r, "recommend: a model to recommend with");
  if (!m) return;
  size_t ni = m->n_items, K = m->n_units;
  uint32_t rated[3] = {0, 7, 20};
  uint8_t units[3] = {4, 0, 4};
  float hidden[64];
  rbm_fold_in(m, 3, rated, units, hidden);
  float *probs = malloc(ni * K * sizeof *probs);
  rbm_all_item_probs(m, hidden, probs);

  rbm_user_query q[2] = {{hidden, rated, 3}, {NULL, NULL, 0}};
  rbm_recommendation out[2 * 100];
  size_t n_out[2];
  int ok = rbm_recommend(m, 2, q, 100, out, n_out) == RBM_OK;
  check(ok && n_out[0] == ni - 3 && n_out[1] == ni,
        "recommend: k beyond the catalogue gives every unrated item");
  size_t k = 10;
  ok = rbm_recommend(m, 2, q, k, out, n_out) == RBM_OK && n_out[0] == k;
  for (size_t j = 0; ok && j < k; j++) {
    const rbm_recommendation *a = &out[j];
    if (a->item == 0 || a->item == 7 || a->item == 20) ok = 0;
    if (j && a->p_like > out[j - 1].p_like) ok = 0;
    double want = rbm_like_probability(m, probs + (size_t)a->item * K);
    if (fabs(a->p_like - want) > 1e-5) ok = 0;
  }
  /* Nothing left out beats the k-th. */
  for (size_t i = 0; ok && i < ni; i++) {
    int in = i == 0 || i == 7 || i == 20;
    for (size_t j = 0; j < k; j++) in |= out[j].item == i;
    if (!in && rbm_like_probability(m, probs + i * K) > out[k - 1].p_like + 1e-6)
      ok = 0;
  }
  check(ok, "recommend: the 10 best unrated items by P(like), best first");
  float prior[RBM_MAX_VALUES];
  rbm_prior_probs(m, out[k].item, prior);
  check(fabs(out[k].p_like - rbm_like_probability(m, prior)) < 1e-6,
        "recommend: a user the model cannot place is ranked by item priors");
  check(rbm_recommend(m, 2, q, 0, out, n_out) == RBM_OK && n_out[0] == 0,
        "recommend: k = 0 returns none");
  free(probs);
  rbm_model_free(m);
  rbm_ratings_free(&r);
}

/* Item vectors and nearest rows (rbm_embed.c). */
static void test_embed(void) {
  rbm_ratings r;
  rbm_model *m = planted_model(&r, "embed: a model to take vectors of");
  if (!m) return;
  size_t ni = m->n_items, F = m->layer.n_hidden, d = rbm_item_vector_size(m);
  check(d == 2 * F, "embed: an item's vector is 2 x hidden floats");
  float *X = malloc(ni * d * sizeof *X);
  int ok = 1;
  for (size_t i = 0; i < ni; i++) {
    float *x = X + i * d;
    rbm_item_vector(m, (uint32_t)i, x);
    double a = 0, b = 0, mean = 0;
    for (size_t f = 0; f < F; f++) {
      a += (double)x[f] * x[f];
      b += (double)x[F + f] * x[F + f];
    }
    /* the first part is the rows' mean, scaled */
    double dot = 0, mm = 0;
    for (size_t f = 0; f < F; f++) {
      mean = 0;
      for (uint32_t k = 0; k < m->n_units; k++)
        mean += m->layer.W[(i * m->n_units + k) * F + f];
      dot += mean * x[f];
      mm += mean * mean;
    }
    if (fabs(a - 0.75) > 1e-5 || fabs(b - 0.25) > 1e-5 ||
        fabs(dot / sqrt(mm * a) - 1) > 1e-5)
      ok = 0;
  }
  check(ok, "embed: the rows' mean at length sqrt(3/4), like less dislike at 1/2");
  /* Each item's 5 nearest are of its planted group. */
  rbm_neighbour nb[60 * 5];
  size_t n_nb[60];
  uint32_t self[60];
  for (size_t i = 0; i < ni; i++) self[i] = (uint32_t)i;
  rbm_nearest(X, ni, d, NULL, ni, X, self, 5, 2, nb, n_nb);
  ok = ni == 60;
  for (size_t i = 0; ok && i < ni; i++) {
    int64_t qi = rbm_keys_get(&m->items, (uint32_t)i).i;
    for (size_t j = 0; j < n_nb[i]; j++)
      if (nb[i * 5 + j].row == i || rbm_keys_get(&m->items, nb[i * 5 + j].row).i % 2 != qi % 2)
        ok = 0;
    ok &= n_nb[i] == 5;
  }
  check(ok, "embed: every item's 5 most similar are of its planted group");
  free(X);
  rbm_model_free(m);
  rbm_ratings_free(&r);

  /* rbm_nearest against every product, on small integers (every product
  ** exact, so the many ties are real): 1003 rows of 37, some unusable,
  ** each query leaving out one row; one query at a time and all at once
  ** on two threads give the same bytes. */
  enum { N = 1003, D = 37, NQ = 40, K = 7 };
  float *rows = malloc((size_t)N * D * sizeof *rows), q[NQ * D];
  uint8_t usable[N];
  uint32_t skip[NQ];
  uint64_t x = 12345;
  for (size_t j = 0; j < (size_t)N * D; j++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    rows[j] = (float)((int)(x >> 60) % 4);  /* 0 .. 3 */
  }
  for (size_t j = 0; j < N; j++) usable[j] = j % 10 != 3;
  for (size_t t = 0; t < NQ; t++) {
    memcpy(q + t * D, rows + (t * 25) * D, D * sizeof *q);
    skip[t] = t % 4 ? (uint32_t)(t * 25) : UINT32_MAX;
  }
  rbm_neighbour all[NQ * K], one[NQ * K];
  size_t n_all[NQ], n_one[NQ];
  rbm_nearest(rows, N, D, usable, NQ, q, skip, K, 2, all, n_all);
  for (size_t t = 0; t < NQ; t++)
    rbm_nearest(rows, N, D, usable, 1, q + t * D, skip + t, K, 1, one + t * K, n_one + t);
  ok = memcmp(n_all, n_one, sizeof n_all) == 0;
  for (size_t t = 0; ok && t < NQ; t++)
    ok = memcmp(all + t * K, one + t * K, n_all[t] * sizeof *all) == 0;
  check(ok, "nearest: a query's answer is the same alone and in a batch");
  ok = 1;
  for (size_t t = 0; t < NQ; t++) {
    /* the expected list: best product, then lower row, by selection */
    uint8_t taken[N] = {0};
    for (size_t r0 = 0; r0 < K; r0++) {
      long best = -1;
      float best_s = 0;
      for (size_t j = 0; j < N; j++) {
        if (!usable[j] || j == skip[t] || taken[j]) continue;
        float s = 0;
        for (size_t f = 0; f < D; f++) s += rows[j * D + f] * q[t * D + f];
        if (best < 0 || s > best_s) best = (long)j, best_s = s;
      }
      taken[best] = 1;
      if (n_all[t] != K || all[t * K + r0].row != (uint32_t)best ||
          all[t * K + r0].similarity != best_s)
        ok = 0;
    }
  }
  check(ok, "nearest: the k largest products, equal ones by lower row, none "
            "unusable or left out");
  rbm_neighbour *big = malloc((size_t)NQ * 2000 * sizeof *big);
  size_t n_big[NQ];
  rbm_nearest(rows, N, D, usable, NQ, q, skip, 2000, 2, big, n_big);
  ok = 1;
  for (size_t t = 0; t < NQ; t++) {
    size_t want = 0;
    for (size_t j = 0; j < N; j++) want += usable[j] && j != skip[t];
    ok &= n_big[t] == want;
  }
  rbm_nearest(rows, N, D, usable, NQ, q, skip, 0, 2, big, n_big);
  for (size_t t = 0; t < NQ; t++) ok &= n_big[t] == 0;
  check(ok, "nearest: k past the rows gives every usable row; k = 0 none");
  float z[2 * 3] = {0, 0, 0, 3, 0, 4};
  uint8_t nz[2];
  rbm_unit_rows(z, 2, 3, nz);
  check(nz[0] == 0 && nz[1] == 1 && z[0] == 0 && fabsf(z[3] - 0.6f) < 1e-7f &&
            fabsf(z[5] - 0.8f) < 1e-7f,
        "unit rows: scaled to length 1; a row of zeros stays zeros");
  free(big);
  free(rows);
}

/* The trainer keeps each weight as a bfloat16 top, which the chains read,
** and a 16-bit rest: the two must give back every float exactly, and the
** top must be the float rounded.  Checked on every 251st bit pattern (all
** exponents, signs and mantissa bits) and on the edges. */
static void test_split_weights(void) {
  int exact = 1, rounded = 1;
  uint32_t edges[] = {0, 0x80000000u, 1, 0x807fffffu, 0x7f7fffffu, 0xff7fffffu,
                      0x3f800000u, 0x3f808000u, 0x3f807fffu, 0xbf808000u,
                      0x7f800000u, 0xff800000u};
  for (uint64_t x = 0; x < (1ull << 32) + 12 * 251; x += 251) {
    uint32_t u = x < (1ull << 32) ? (uint32_t)x : edges[(x - (1ull << 32)) / 251];
    float f, back;
    memcpy(&f, &u, sizeof f);
    if (isnan(f)) continue;
    uint16_t top, rest;
    rbm_split_weight(f, &top, &rest);
    back = rbm_join_weight(top, rest);
    uint32_t v;
    memcpy(&v, &back, sizeof v);
    if (v != u) exact = 0;
    /* rounded: no other bfloat16 is nearer (ties either way) */
    double d = fabs((double)rbm_bf16_to_float(top) - f);
    double below = rbm_bf16_to_float((uint16_t)(top - 1)), above = rbm_bf16_to_float((uint16_t)(top + 1));
    if (isfinite(rbm_bf16_to_float(top)) && (d > fabs(below - f) || d > fabs(above - f)))
      rounded = 0;
  }
  check(exact, "split weights: top and rest give back every float bit for bit");
  check(rounded, "split weights: the top is the float rounded to bfloat16");
  uint16_t bf = rbm_float_to_bf16(1.00390625f);  /* 1 + 2^-8: a tie, to even */
  check(bf == 0x3f80 && rbm_bf16_to_float(rbm_float_to_bf16(-2.5f)) == -2.5f,
        "bfloat16 velocity: ties to even, exact values kept");
}

/* ---- feature models --------------------------------------------------------- */

/* n rows of d features in [0, 1]: class c high on features i % 3 == c. */
static float *dense_rows(size_t n, uint32_t d, uint32_t *label) {
  float *X = malloc(n * d * sizeof *X);
  for (size_t r = 0; r < n; r++) {
    label[r] = (uint32_t)(r % 3);
    for (uint32_t i = 0; i < d; i++) {
      float x = (i % 3 == r % 3 ? 0.85f : 0.1f) + (float)((r * 7 + i * 13) % 11 - 5) / 50.f;
      X[r * d + i] = x < 0 ? 0 : x > 1 ? 1 : x;
    }
  }
  return X;
}

static int dense_accuracy(const rbm_dense_model *m, const float *X, const uint32_t *y,
                          size_t n, uint32_t d) {
  size_t right = 0;
  float p[3];
  for (size_t r = 0; r < n; r++) {
    rbm_dense_class_probs(m, X + r * d, p);
    uint32_t best = p[1] > p[0] ? 1 : 0;
    best = p[2] > p[best] ? 2 : best;
    right += best == y[r];
  }
  return (int)(100 * right / n);
}

static int collect_dense(void *ctx, const void *bytes, size_t n) {
  piece_sink *s = ctx;
  memcpy(s->bytes + s->n, bytes, n);
  s->n += n;
  return 0;
}

static void test_dense(void) {
  size_t n = 300;
  uint32_t d = 12, y[300];
  float *X = dense_rows(n, d, y);
  rbm_keys labels = {0};
  for (int c = 0; c < 3; c++) {
    rbm_key k = int_key(c);
    rbm_keys_intern(&labels, &k);
  }
  rbm_dense_config c;
  rbm_dense_config_defaults(&c, RBM_UNIT_BERNOULLI, 0);
  c.train.hidden = 16;
  c.train.epochs = 30;
  c.train.batch_size = 10;  /* 900 updates: enough to learn the density */
  rbm_dense_model *m = NULL, *m2 = NULL;
  rbm_dense_report rep;
  char err[300];
  int rc = rbm_dense_train(&c, X, n, d, y, &labels, NULL, &m, &rep, err, sizeof err);
  check(rc == RBM_OK && m && rep.epochs_run == 30, "dense: a Bernoulli model trains");
  if (!m) return;
  check(dense_accuracy(m, X, y, n, d) >= 95, "dense: its head tells the planted classes (>= 95%)");
  float h[16], odd[12];
  rbm_dense_transform(m, X, h);
  int in_range = 1;
  for (int f = 0; f < 16; f++) in_range &= h[f] >= 0 && h[f] <= 1;
  check(in_range, "dense: transform gives probabilities");
  /* An anomaly score.  Each feature of an odd row comes from a different
  ** random training row: every feature's values are as in training (so the
  ** visible biases alone cannot tell), their pattern is no class's.  The
  ** AUC over every pair (typical, odd) of free energies. */
  double *fe_typical = malloc(2 * n * sizeof *fe_typical), *fe_odd = fe_typical + n;
  uint32_t lcg = 12345;
  for (size_t r = 0; r < n; r++) {
    for (uint32_t i = 0; i < d; i++) {
      lcg = lcg * 1664525u + 1013904223u;
      odd[i] = X[(lcg >> 8) % n * d + i];
    }
    fe_typical[r] = rbm_dense_free_energy(m, X + r * d);
    fe_odd[r] = rbm_dense_free_energy(m, odd);
  }
  double above = 0;
  for (size_t r = 0; r < n; r++)
    for (size_t q = 0; q < n; q++)
      above += fe_odd[q] > fe_typical[r] ? 1 : fe_odd[q] == fe_typical[r] ? 0.5 : 0;
  free(fe_typical);
  printf("# dense: free energy ranks odd rows above typical ones, AUC %.4f\n", above / ((double)n * n));
  check(above / ((double)n * n) >= 0.9, "dense: free energy ranks odd rows above typical ones (AUC >= 0.9)");
  double pl = rbm_dense_pseudo_likelihood(m, X, 1);
  check(isfinite(pl) && pl <= 0, "dense: pseudo-likelihood is a log-probability");

  /* Save, load: the same answers; damage is caught. */
  size_t size = rbm_dense_blob_size(m);
  piece_sink s = {malloc(size), 0, 0, SIZE_MAX};
  rc = rbm_dense_write(m, collect_dense, &s);
  check(rc == RBM_OK && s.n == size && rbm_blob_is_dense(s.bytes, s.n),
        "dense: the blob is as long as rbm_dense_blob_size says");
  rc = rbm_dense_load(s.bytes, s.n, &m2, err, sizeof err);
  float p1[3], p2[3];
  if (rc == RBM_OK) {
    rbm_dense_class_probs(m, X + 5 * d, p1);
    rbm_dense_class_probs(m2, X + 5 * d, p2);
  }
  check(rc == RBM_OK && memcmp(p1, p2, sizeof p1) == 0,
        "dense: a loaded model answers the same");
  rbm_dense_free(m2);
  m2 = NULL;
  s.bytes[s.n / 2] ^= 1;
  rc = rbm_dense_load(s.bytes, s.n, &m2, err, sizeof err);
  check(rc == RBM_CORRUPT && !m2 && strstr(err, "damaged"), "dense: a flipped bit is damage");
  rc = rbm_dense_load(s.bytes, s.n - 9, &m2, err, sizeof err);
  check(rc == RBM_CORRUPT && !m2, "dense: a truncated blob is rejected");
  free(s.bytes);

  /* Samples: in range, and sample j the same whatever n. */
  float a[5 * 12], b[2 * 12];
  rbm_dense_sample(m, 5, 20, 7, a);
  rbm_dense_sample(m, 2, 20, 7, b);
  in_range = 1;
  for (int j = 0; j < 5 * 12; j++) in_range &= a[j] >= 0 && a[j] <= 1;
  check(in_range && memcmp(a, b, sizeof b) == 0,
        "dense: samples are means in [0, 1], sample j the same for any n");
  rbm_dense_free(m);

  /* Gaussian: standardised inside, answers in feature space. */
  float *G = malloc(n * d * sizeof *G);
  for (size_t j = 0; j < n * d; j++) G[j] = 100 * X[j] - 30;
  rbm_dense_config_defaults(&c, RBM_UNIT_GAUSSIAN, 0);
  c.train.hidden = 16;
  c.train.epochs = 60;
  c.train.learning_rate = 0.01;
  rc = rbm_dense_train(&c, G, n, d, y, &labels, NULL, &m, &rep, err, sizeof err);
  double mean0 = 0;
  for (size_t r = 0; r < n; r++) mean0 += G[r * d] / (double)n;
  check(rc == RBM_OK && m->mean && m->scale && fabs(m->mean[0] - mean0) < 1e-3 &&
            m->scale[0] > 10,
        "dense: Gaussian units keep each feature's mean and scale");
  float back[12];
  if (rc == RBM_OK) rbm_dense_reconstruct(m, G, back);
  check(rc == RBM_OK && fabsf(back[0] - G[0]) < 15 && fabsf(back[1] - G[1]) < 15,
        "dense: a Gaussian reconstruction is in feature space, near the row");
  check(rc == RBM_OK && dense_accuracy(m, G, y, n, d) >= 90,
        "dense: Gaussian features tell the classes (>= 90%)");
  rbm_dense_free(m);

  /* Bad input: named, nothing returned. */
  rbm_dense_config_defaults(&c, RBM_UNIT_BERNOULLI, 0);
  X[7 * d + 3] = NAN;
  m = (rbm_dense_model *)&c;
  rc = rbm_dense_train(&c, X, n, d, y, &labels, NULL, &m, &rep, err, sizeof err);
  check(rc == RBM_ERROR && !m && strstr(err, "row 8") && strstr(err, "finite"),
        "dense: NaN is an error naming the row");
  X[7 * d + 3] = 1.5f;
  rc = rbm_dense_train(&c, X, n, d, y, &labels, NULL, &m, &rep, err, sizeof err);
  check(rc == RBM_ERROR && strstr(err, "[0, 1]"),
        "dense: Bernoulli units refuse values outside [0, 1]");
  c.train.hidden = 0;
  rc = rbm_dense_train(&c, X, n, d, NULL, NULL, NULL, &m, &rep, err, sizeof err);
  check(rc == RBM_ERROR && strstr(err, "label"), "dense: hidden 0 without a label is an error");
  free(X);
  free(G);
  rbm_keys_free(&labels);
}

int main(void) {
  test_keys();
  test_split_weights();
  test_ratings();
  test_config();
  test_training();
  test_binary();
  test_heavy_user();
  test_large_model();
  test_validation_short_rows();
  test_recommend();
  test_embed();
  test_dense();
  printf("# %d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
