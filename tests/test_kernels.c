/*
** test_kernels.c -- the engine's fast kernels against a plain reference.
**
** The reference is written to be obviously right, not fast: one user at a
** time, every sum in double, every hidden input recounted from scratch,
** the formulas of Salakhutdinov, Mnih & Hinton (2007) and Hinton's guide
** as they are on paper.  It draws the same random numbers as the engine
** (one stream per (seed, epoch, user), in the documented order: a uniform
** per hidden unit, then one per visible unit or softmax), so both take the
** same samples and their results can be compared number for number.  What
** it takes from the engine's design, it states: the chains of a split
** model read weights rounded to bfloat16; velocities are kept in
** bfloat16; a binary chain moves its hidden input by an item's exact
** difference row when the item's unit changes.
**
** What is compared, and within what:
**   CD-k minibatches    every weight, visible and hidden bias after one
**                       minibatch, or two (the second with velocities
**                       running and the difference rows refreshed): each
**                       parameter's change within UPDATE_TOL of the
**                       reference's largest change (floats, rbm_exp and
**                       the order of sums against double)
**   momentum steps      a weight row stepped with a velocity running, in
**                       the layout it was trained in: within 1e-6
**   scoring             fold-in (float and double sums) and every item
**                       scorer (per item, GEMV, GEMM, item-based): within
**                       PROB_TOL absolute
** for every layout the engine trains with: float rows, split rows, a binary
** model's difference rows over either, and the dense GEMMs of 'implicit';
** CD-1, 2, 3 and 17 (the hidden input's recount at step 16).
**
** Samples: a draw within SAMPLE_MARGIN of its threshold could go either
** way between float and double, and the two would then diverge.  The
** reference counts such draws, and the check that there are none comes
** first: the seeds below were picked for it (an expected count of about
** one in the larger cases), so a failure of the comparison is a kernel's,
** not chance's.
*/
#include "rbm.h"
#include "../ext/rbm_trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UPDATE_TOL 1e-3
#define PROB_TOL 1e-6
#define SAMPLE_MARGIN 1e-6

static int failures, checks;

static void check(int cond, const char *what) {
  checks++;
  if (!cond) failures++;
  printf("%s - %s\n", cond ? "ok" : "not ok", what);
}

/* ---- data ----------------------------------------------------------------- */

/* n_users users over n_items items, rows of 5 to 64 items, ratings 1..5
** with a taste (same parity rates high); binary: 0/1. */
static void make_ratings(rbm_ratings *r, int n_users, int n_items, int binary) {
  memset(r, 0, sizeof *r);
  uint64_t x = 12345;
  for (int u = 0; u < n_users; u++) {
    int len = 5 + (u * 37) % 60;
    for (int j = 0; j < len; j++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      int i = (int)((x >> 33) % (uint64_t)n_items);
      int v = (u % 2 == i % 2) ? 3 + (int)((x >> 20) % 3) : 1 + (int)((x >> 24) % 3);
      rbm_key ku = {0}, ki = {0};
      ku.i = u;
      ki.i = 1000 + i;
      rbm_ratings_add(r, &ku, &ki, binary ? (v >= 3) : v);
    }
  }
  rbm_ratings_finish(r);
}

/* ---- the reference --------------------------------------------------------- */

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* What a chain reads of weight w: w itself, or with split rows w rounded
** to bfloat16, half way away from zero (the split rows' tops). */
static double chain_weight(float w, int split) {
  if (!split) return w;
  uint32_t u;
  memcpy(&u, &w, 4);
  u = (u + 0x8000u) & 0xffff0000u;
  float r;
  memcpy(&r, &u, 4);
  return r;
}

/* A velocity as the engine keeps a weight's: rounded to bfloat16, to
** nearest, ties to even. */
static double bf16_velocity(double v) {
  float x = (float)v;
  uint32_t u;
  memcpy(&u, &x, 4);
  uint32_t lower = u & 0xffffu, top = u >> 16;
  if (lower > 0x8000u || (lower == 0x8000u && (top & 1u))) top++;
  u = top << 16;
  memcpy(&x, &u, 4);
  return x;
}

typedef struct ref_model {
  size_t n_items, K, F;
  double *W, *vb, *hb;  /* W[(i * K + k) * F + f] */
  double *vW, *vvb, *vhb;  /* velocities, 0 at first */
} ref_model;

static ref_model ref_copy(const rbm_model *m) {
  ref_model R = {m->n_items, m->n_units, m->layer.n_hidden, NULL, NULL, NULL,
                 NULL, NULL, NULL};
  size_t nv = R.n_items * R.K;
  R.W = malloc(nv * R.F * sizeof *R.W);
  R.vb = malloc(nv * sizeof *R.vb);
  R.hb = malloc(R.F * sizeof *R.hb);
  R.vW = calloc(nv * R.F, sizeof *R.vW);
  R.vvb = calloc(nv, sizeof *R.vvb);
  R.vhb = calloc(R.F, sizeof *R.vhb);
  for (size_t j = 0; j < nv * R.F; j++) R.W[j] = m->layer.W[j];
  for (size_t j = 0; j < nv; j++) R.vb[j] = m->layer.vbias[j];
  for (size_t f = 0; f < R.F; f++) R.hb[f] = m->layer.hbias[f];
  return R;
}

static void ref_free(ref_model *R) {
  free(R->W);
  free(R->vb);
  free(R->hb);
  free(R->vW);
  free(R->vvb);
  free(R->vhb);
}

/* The momentum step of a weight (velocity kept as bfloat16) or a bias:
**   v = momentum * v + lr * (g / B - decay * p);  p += v */
static void ref_step_weight(double *p, double *v, double g, double B,
                            double momentum, double lr, double decay) {
  double step = momentum * *v + lr * (g / B - decay * *p);
  *p += step;
  *v = bf16_velocity(step);
}

static void ref_step_bias(double *p, double *v, double g, double B,
                          double momentum, double lr) {
  *v = momentum * *v + lr * g / B;
  *p += *v;
}

typedef struct ref_step {
  int cd_k, split, binary;
  double lr, momentum, decay;
  uint64_t seed;
  int epoch;
  size_t near_ties;  /* draws within SAMPLE_MARGIN of their threshold */
} ref_step;

static int draw(rbm_rng *rng, double p, ref_step *s) {
  double u = rbm_rng_uniform(rng);
  if (fabs(u - p) < SAMPLE_MARGIN) s->near_ties++;
  return u < p;
}

/* p(h = 1 | v) for the visible units (items[j], units[j]). */
static void ref_hidden(const ref_model *R, size_t n, const uint32_t *items,
                       const uint8_t *units, int split, double *h) {
  for (size_t f = 0; f < R->F; f++) {
    double a = R->hb[f];
    for (size_t j = 0; j < n; j++)
      a += chain_weight((float)R->W[((size_t)items[j] * R->K + units[j]) * R->F + f],
                        split);
    h[f] = sigmoid(a);
  }
}

/* One CD-k step of the rating RBM on the users lo .. hi-1 of r as one
** minibatch. */
static void ref_cd_sparse(ref_model *R, const rbm_ratings *r,
                          const uint8_t *unit_of_code, ref_step *s,
                          uint32_t lo, uint32_t hi) {
  const double *W0 = R->W;  /* the weights the chains read: no change until the update */
  size_t K = R->K, F = R->F, nv = R->n_items * K;
  double *gW = calloc(nv * F, sizeof *gW), *gvb = calloc(nv, sizeof *gvb);
  double *ghb = calloc(F, sizeof *ghb);
  uint8_t *touched = calloc(nv, 1);
  double *hd = malloc(F * sizeof *hd), *hm = malloc(F * sizeof *hm);
  double *hs = malloc(F * sizeof *hs), p[RBM_MAX_VALUES];
  size_t longest = rbm_ratings_longest_row(r);
  uint8_t *v0 = malloc(longest), *vk = malloc(longest);
  for (uint32_t u = lo; u < hi; u++) {
    size_t n = (size_t)(r->row[u + 1] - r->row[u]);
    const uint32_t *items = r->col_item + r->row[u];
    for (size_t j = 0; j < n; j++) v0[j] = unit_of_code[r->col_code[r->row[u] + j]];
    rbm_rng rng;
    rbm_rng_seed(&rng, s->seed, (uint64_t)s->epoch, u);
    ref_hidden(R, n, items, v0, s->split, hd);
    for (size_t f = 0; f < F; f++) hs[f] = draw(&rng, hd[f], s);
    for (int step = 1; step <= s->cd_k; step++) {
      for (size_t j = 0; j < n; j++) {
        size_t i = items[j];
        if (s->binary) {  /* p(like) = sigmoid(b1 - b0 + (W1 - W0) . h) */
          double a = R->vb[i * 2 + 1] - R->vb[i * 2];
          for (size_t f = 0; f < F; f++)
            a += ((double)W0[(i * 2 + 1) * F + f] - W0[(i * 2) * F + f]) * hs[f];
          p[1] = sigmoid(a);
          p[0] = 1 - p[1];
        } else {  /* softmax over the item's K units */
          double mx = -INFINITY, sum = 0;
          for (size_t k = 0; k < K; k++) {
            double a = R->vb[i * K + k];
            for (size_t f = 0; f < F; f++)
              a += chain_weight((float)W0[(i * K + k) * F + f], s->split) * hs[f];
            p[k] = a;
            mx = a > mx ? a : mx;
          }
          for (size_t k = 0; k < K; k++) sum += p[k] = exp(p[k] - mx);
          for (size_t k = 0; k < K; k++) p[k] /= sum;
        }
        /* The unit drawn: the first whose cumulative probability exceeds
        ** one uniform draw. */
        double x = rbm_rng_uniform(&rng), c = 0;
        size_t unit = K - 1;
        for (size_t k = 0; k + 1 < K; k++) {
          c += p[k];
          if (fabs(x - c) < SAMPLE_MARGIN) s->near_ties++;
          if (x < c) {
            unit = k;
            break;
          }
        }
        vk[j] = (uint8_t)unit;
      }
      if (s->binary) {
        /* A binary chain reads its items' difference rows, exact floats,
        ** and moves its hidden input by one when an item's unit changes:
        ** the data's input (from the tops, when split) plus, per item now
        ** on the other unit, its row (like) or less it (dislike). */
        ref_hidden(R, n, items, v0, s->split, hm);
        for (size_t f = 0; f < F; f++) {
          double a = log(hm[f] / (1 - hm[f]));
          for (size_t j = 0; j < n; j++) {
            size_t i = items[j];
            a += ((double)vk[j] - v0[j]) *
                 ((double)W0[(i * 2 + 1) * F + f] - W0[(i * 2) * F + f]);
          }
          hm[f] = sigmoid(a);
        }
      } else {
        ref_hidden(R, n, items, vk, s->split, hm);
      }
      if (step < s->cd_k)
        for (size_t f = 0; f < F; f++) hs[f] = draw(&rng, hm[f], s);
    }
    for (size_t j = 0; j < n; j++) {
      size_t a = (size_t)items[j] * K + v0[j], b = (size_t)items[j] * K + vk[j];
      for (size_t f = 0; f < F; f++) {
        gW[a * F + f] += hd[f];
        gW[b * F + f] -= hm[f];
      }
      gvb[a] += 1;
      gvb[b] -= 1;
      touched[a] = touched[b] = 1;
    }
    for (size_t f = 0; f < F; f++) ghb[f] += hd[f] - hm[f];
  }
  /* Only the units a rating or a sample touched move (and decay); the
  ** others keep their velocities for later. */
  double B = hi - lo;
  for (size_t a = 0; a < nv; a++) {
    if (!touched[a]) continue;
    for (size_t f = 0; f < F; f++)
      ref_step_weight(&R->W[a * F + f], &R->vW[a * F + f], gW[a * F + f], B,
                      s->momentum, s->lr, s->decay);
    ref_step_bias(&R->vb[a], &R->vvb[a], gvb[a], B, s->momentum, s->lr);
  }
  for (size_t f = 0; f < F; f++)
    ref_step_bias(&R->hb[f], &R->vhb[f], ghb[f], B, s->momentum, s->lr);
  free(gW), free(gvb), free(ghb), free(touched);
  free(hd), free(hm), free(hs), free(v0), free(vk);
}

/* The same for visible 'implicit': every item a Bernoulli unit (1: the
** user has a row), its weights the unit-1 rows; visible units sampled in
** every step but the last, which uses their probabilities. */
static void ref_cd_dense(ref_model *R, const rbm_ratings *r, ref_step *s,
                         uint32_t lo, uint32_t hi) {
  size_t n = R->n_items, F = R->F;
  double *gW = calloc(n * F, sizeof *gW), *gvb = calloc(n, sizeof *gvb);
  double *ghb = calloc(F, sizeof *ghb);
  double *v0 = malloc(n * sizeof *v0), *v1 = malloc(n * sizeof *v1);
  double *hd = malloc(F * sizeof *hd), *hm = malloc(F * sizeof *hm);
  double *hs = malloc(F * sizeof *hs);
#define W1(i, f) R->W[((i) * 2 + 1) * F + (f)]
  for (uint32_t u = lo; u < hi; u++) {
    for (size_t i = 0; i < n; i++) v0[i] = 0;
    for (uint64_t q = r->row[u]; q < r->row[u + 1]; q++) v0[r->col_item[q]] = 1;
    rbm_rng rng;
    rbm_rng_seed(&rng, s->seed, (uint64_t)s->epoch, u);
    for (size_t f = 0; f < F; f++) {
      double a = R->hb[f];
      for (size_t i = 0; i < n; i++) a += v0[i] * W1(i, f);
      hd[f] = sigmoid(a);
      hs[f] = draw(&rng, hd[f], s);
    }
    for (int step = 1; step <= s->cd_k; step++) {
      int last = step == s->cd_k;
      for (size_t i = 0; i < n; i++) {
        double a = R->vb[i * 2 + 1];
        for (size_t f = 0; f < F; f++) a += W1(i, f) * hs[f];
        v1[i] = sigmoid(a);
      }
      if (!last)
        for (size_t i = 0; i < n; i++) v1[i] = draw(&rng, v1[i], s);
      for (size_t f = 0; f < F; f++) {
        double a = R->hb[f];
        for (size_t i = 0; i < n; i++) a += v1[i] * W1(i, f);
        hm[f] = sigmoid(a);
      }
      if (!last)
        for (size_t f = 0; f < F; f++) hs[f] = draw(&rng, hm[f], s);
    }
    for (size_t i = 0; i < n; i++) {
      for (size_t f = 0; f < F; f++) gW[i * F + f] += v0[i] * hd[f] - v1[i] * hm[f];
      gvb[i] += v0[i] - v1[i];
    }
    for (size_t f = 0; f < F; f++) ghb[f] += hd[f] - hm[f];
  }
  double B = hi - lo;
  for (size_t i = 0; i < n; i++) {  /* every unit-1 row moves and decays */
    for (size_t f = 0; f < F; f++)
      ref_step_weight(&W1(i, f), &R->vW[(i * 2 + 1) * F + f], gW[i * F + f], B,
                      s->momentum, s->lr, s->decay);
    ref_step_bias(&R->vb[i * 2 + 1], &R->vvb[i * 2 + 1], gvb[i], B, s->momentum,
                  s->lr);
  }
#undef W1
  for (size_t f = 0; f < F; f++)
    ref_step_bias(&R->hb[f], &R->vhb[f], ghb[f], B, s->momentum, s->lr);
  free(gW), free(gvb), free(ghb), free(v0), free(v1), free(hd), free(hm), free(hs);
}

/* The largest difference between the engine's change of each parameter and
** the reference's, over the largest change of the reference. */
static double update_error(const double *before, const double *ref,
                           const float *got, size_t n, double *largest) {
  double worst = 0, big = 0;
  for (size_t j = 0; j < n; j++) {
    double want = ref[j] - before[j], have = (double)got[j] - before[j];
    big = fabs(want) > big ? fabs(want) : big;
    worst = fabs(have - want) > worst ? fabs(have - want) : worst;
  }
  *largest = big;
  return big > 0 ? worst / big : worst;
}

/* ---- momentum steps -------------------------------------------------------- */

/* The weight rows' momentum step in t's current layout, on a few rows with
** a velocity already running, against
**   v = momentum * v_prev + lr * (g * grad_scale - decay * w);  w += v;
**   v kept rounded to bfloat16 (nearest, ties to even). */
static void check_weight_step(trainer *t, const char *name) {
  rbm_model *m = t->m;
  size_t F = m->layer.n_hidden, K = m->n_units;
  float *g = malloc(F * sizeof *g);
  double worst = 0, worst_v = 0;
  rbm_rng rng;
  rbm_rng_seed(&rng, 5, 6, 7);
  t->momentum = 0.9f;
  t->learning_rate = 0.05f;
  t->grad_scale = 1.f / 80;
  float decay = 0.01f;
  for (uint32_t item = 0; item < m->n_items; item += m->n_items / 7 + 1) {
    uint32_t unit = item % K;
    size_t row = (size_t)item * K + unit;
    float *w = m->layer.W + row * F;
    uint16_t *top = (uint16_t *)w, *vel = t->vel_W + row * F;
    double *want = malloc(F * sizeof *want), *want_v = malloc(F * sizeof *want_v);
    for (size_t f = 0; f < F; f++) {
      g[f] = 4 * rbm_rng_uniform(&rng) - 2;
      vel[f] = rbm_float_to_bf16(0.002f * (rbm_rng_uniform(&rng) - 0.5f));
      double wf = t->split ? rbm_join_weight(top[f], top[F + f]) : w[f];
      double v = 0.9 * rbm_bf16_to_float(vel[f]) +
                 0.05 * ((double)g[f] / 80 - (double)decay * wf);
      want[f] = wf + v;
      want_v[f] = v;
    }
    t->rows->step_row(t, item, unit, g, decay);
    for (size_t f = 0; f < F; f++) {
      double got = t->split ? rbm_join_weight(top[f], top[F + f]) : w[f];
      double e = fabs(got - want[f]) / (fabs(want[f]) + 1e-3);
      worst = e > worst ? e : worst;
      /* the velocity kept: the step, to bfloat16's precision */
      double ev = fabs(rbm_bf16_to_float(vel[f]) - want_v[f]) / (fabs(want_v[f]) + 1e-9);
      worst_v = ev > worst_v ? ev : worst_v;
    }
    free(want);
    free(want_v);
  }
  char what[300];
  printf("# %s: momentum step relative error %.2e, velocity %.2e\n", name, worst, worst_v);
  snprintf(what, sizeof what,
           "%s: the weight rows' momentum step equals the formula (weights "
           "within 1e-6, velocities within bfloat16's 2^-8)", name);
  check(worst < 1e-6 && worst_v <= 1.0 / 256, what);
  free(g);
}

/* ---- scoring ------------------------------------------------------------- */

static double ref_act(const rbm_model *m, size_t n, const uint32_t *items,
                      const uint8_t *units, size_t f) {
  size_t F = m->layer.n_hidden, K = m->n_units;
  double a = m->layer.hbias[f];
  for (size_t j = 0; j < n; j++) a += m->layer.W[((size_t)items[j] * K + units[j]) * F + f];
  return a;
}

/* Softmax over row r's K units of vbias + W . h. */
static void ref_softmax(const rbm_model *m, uint32_t row, const float *h,
                        double *p) {
  size_t F = m->layer.n_hidden, K = m->n_units;
  double mx = -INFINITY, sum = 0;
  for (size_t k = 0; k < K; k++) {
    double a = m->layer.vbias[(size_t)row * K + k];
    for (size_t f = 0; f < F; f++) a += (double)m->layer.W[((size_t)row * K + k) * F + f] * h[f];
    p[k] = a;
    mx = a > mx ? a : mx;
  }
  for (size_t k = 0; k < K; k++) sum += p[k] = exp(p[k] - mx);
  for (size_t k = 0; k < K; k++) p[k] /= sum;
}

static double worse(double worst, double a, double b) {
  return fabs(a - b) > worst ? fabs(a - b) : worst;
}

/* Fold-in and every way of scoring items, for the first users of r. */
static void check_scoring(const rbm_model *m, const rbm_ratings *r,
                          const uint8_t *unit_of_code, const char *name) {
  size_t F = m->layer.n_hidden, K = m->n_units, ni = m->n_items;
  size_t nu = r->users.n < 8 ? r->users.n : 8;
  float *hidden = malloc(nu * F * sizeof *hidden);
  float *act = malloc(F * sizeof *act), *hp = malloc(F * sizeof *hp);
  double *sum = malloc(F * sizeof *sum), p[RBM_MAX_VALUES];
  float *one = malloc(ni * K * sizeof *one), *all = malloc(ni * K * sizeof *all);
  float *batch = malloc(nu * ni * K * sizeof *batch);
  uint8_t *units = malloc(rbm_ratings_longest_row(r));
  double e_fold = 0, e_sum = 0, e_items = 0, e_gemv = 0, e_gemm = 0, e_vis = 0;
  for (size_t u = 0; u < nu; u++) {
    size_t n = (size_t)(r->row[u + 1] - r->row[u]);
    const uint32_t *items = r->col_item + r->row[u];
    for (size_t j = 0; j < n; j++) units[j] = unit_of_code[r->col_code[r->row[u] + j]];
    float *h = hidden + u * F;
    rbm_fold_in(m, n, items, units, h);
    rbm_hidden_sum(m, n, items, units, sum);
    rbm_sigmoid_sums(sum, hp, (int)F);
    for (size_t f = 0; f < F; f++) {
      double want = sigmoid(ref_act(m, n, items, units, f));
      e_fold = worse(e_fold, h[f], want);
      e_sum = worse(e_sum, hp[f], want);
    }
    uint32_t *every = malloc(ni * sizeof *every);
    for (uint32_t i = 0; i < ni; i++) every[i] = i;
    rbm_items_probs(m, h, ni, every, one);
    rbm_all_item_probs(m, h, all);
    free(every);
    for (uint32_t i = 0; i < ni; i++) {
      ref_softmax(m, i, h, p);
      for (size_t k = 0; k < K; k++) {
        e_items = worse(e_items, one[i * K + k], p[k]);
        e_gemv = worse(e_gemv, all[i * K + k], p[k]);
      }
    }
  }
  rbm_all_item_probs_batch(m, nu, hidden, batch, 2);
  for (size_t u = 0; u < nu; u++)
    for (uint32_t i = 0; i < ni; i++) {
      ref_softmax(m, i, hidden + u * F, p);
      for (size_t k = 0; k < K; k++) e_gemm = worse(e_gemm, batch[(u * ni + i) * K + k], p[k]);
    }
  /* Item-based scoring: the model's rows as users, the hidden vectors as
  ** items; users in an order of their own. */
  uint32_t rows[3] = {(uint32_t)ni - 1, 0, (uint32_t)ni / 2};
  float *vis = malloc(3 * nu * K * sizeof *vis);
  float *scratch = malloc(RBM_VISIBLE_SCRATCH(m, 3, nu) * sizeof *scratch);
  rbm_visible_probs_batch(m, 3, rows, nu, hidden, vis, scratch, 2);
  for (size_t b = 0; b < 3; b++)
    for (size_t j = 0; j < nu; j++) {
      ref_softmax(m, rows[b], hidden + j * F, p);
      for (size_t k = 0; k < K; k++) e_vis = worse(e_vis, vis[(b * nu + j) * K + k], p[k]);
    }
  printf("# %s scoring: fold-in %.1e, double sums %.1e, items %.1e, GEMV %.1e, "
         "GEMM %.1e, item-based %.1e\n", name, e_fold, e_sum, e_items, e_gemv, e_gemm, e_vis);
  char what[300];
  snprintf(what, sizeof what, "%s: fold-in (floats and double sums) within %g of the reference",
           name, PROB_TOL);
  check(e_fold <= PROB_TOL && e_sum <= PROB_TOL, what);
  snprintf(what, sizeof what,
           "%s: item softmaxes (per item, GEMV, GEMM, item-based) within %g of the reference",
           name, PROB_TOL);
  check(e_items <= PROB_TOL && e_gemv <= PROB_TOL && e_gemm <= PROB_TOL && e_vis <= PROB_TOL,
        what);
  free(hidden), free(act), free(hp), free(sum), free(one), free(all), free(batch);
  free(units), free(vis), free(scratch);
}

/* ---- one minibatch through the engine ------------------------------------ */

typedef struct case_spec {
  const char *name;
  const char *layout;  /* the weight layout it must train with */
  rbm_visible visible;
  int hidden, cd_k, n_users, n_items, threads;
  uint64_t seed;
  int minibatches;  /* 1, or 2: the second starts with velocities running */
} case_spec;

static void check_minibatch(const case_spec *cs) {
  rbm_ratings r;
  int binary = cs->visible == RBM_VISIBLE_BINARY;
  make_ratings(&r, cs->n_users, cs->n_items, binary);
  rbm_config cfg;
  rbm_config_defaults(&cfg);
  cfg.visible = cs->visible;
  cfg.hidden = cs->hidden;
  cfg.cd_k = cs->cd_k;
  uint32_t B = (r.users.n + (uint32_t)cs->minibatches - 1) / (uint32_t)cs->minibatches;
  cfg.batch_size = (int)B;
  cfg.threads = cs->threads;
  cfg.learning_rate = 0.05;
  cfg.seed = cs->seed;
  trainer t = {0};
  t.cfg = &cfg;
  t.r = &r;
  char err[200], what[300];
  int rc = rbm_trainer_open(&t, err, sizeof err);
  if (rc != RBM_OK) {
    snprintf(what, sizeof what, "%s: the trainer opens (%s)", cs->name, err);
    check(0, what);
    rbm_trainer_close(&t);
    rbm_model_free(t.m);
    rbm_ratings_free(&r);
    return;
  }
  rbm_model *m = t.m;
  ref_model R = ref_copy(m), before = ref_copy(m);
  size_t nv = (size_t)m->n_items * m->n_units, F = m->layer.n_hidden;
  int implicit = cs->visible == RBM_VISIBLE_IMPLICIT;
  int split = !implicit && rbm_model_is_cold(m);

  /* The engine: epoch 1, users in order, minibatches of B. */
  t.epoch = 1;
  t.cd_k = cs->cd_k;
  t.momentum = (float)cfg.momentum;
  t.learning_rate = (float)cfg.learning_rate;
  rbm_weights_set_layout(&t, split);
  for (uint32_t u = 0; u < r.users.n; u++) t.order[u] = u;
  const char *layout = t.rows->name;
  rc = implicit || rbm_cd_sparse_first_batch(&t, B);
  for (uint32_t lo = 0; rc && lo < r.users.n; lo += B) {
    if (implicit) {
      rbm_cd_dense_batch(&t, lo, r.users.n - lo < B ? r.users.n - lo : B);
      layout = "dense";
    } else {
      rc = rbm_cd_sparse_batch(&t);
    }
  }
  rbm_weights_set_layout(&t, 0);

  ref_step s = {cs->cd_k, split, binary, cfg.learning_rate, cfg.momentum,
                cfg.weight_decay, cfg.seed, 1, 0};
  for (uint32_t lo = 0; lo < r.users.n; lo += B) {
    uint32_t hi = r.users.n - lo < B ? r.users.n : lo + B;
    if (implicit) {
      ref_cd_dense(&R, &r, &s, lo, hi);
    } else {
      ref_cd_sparse(&R, &r, t.unit_of_code, &s, lo, hi);
    }
  }
  double big_w, big_v, big_h;
  double ew = update_error(before.W, R.W, m->layer.W, nv * F, &big_w);
  double ev = update_error(before.vb, R.vb, m->layer.vbias, nv, &big_v);
  double eh = update_error(before.hb, R.hb, m->layer.hbias, F, &big_h);
  printf("# %s (%s rows): relative error W %.2e, vbias %.2e, hbias %.2e; "
         "largest changes %.2e %.2e %.2e; near ties %zu\n",
         cs->name, layout, ew, ev, eh, big_w, big_v, big_h, s.near_ties);
  snprintf(what, sizeof what, "%s: trained with %s rows", cs->name, cs->layout);
  check(strcmp(layout, cs->layout) == 0, what);
  snprintf(what, sizeof what,
           "%s: no sample within %g of its threshold (the comparison is exact)",
           cs->name, SAMPLE_MARGIN);
  check(s.near_ties == 0, what);
  snprintf(what, sizeof what,
           "%s: %d CD-%d minibatch%s equal%s the reference (W, vbias, hbias "
           "within %g of the largest change)",
           cs->name, cs->minibatches, cs->cd_k, cs->minibatches > 1 ? "es" : "",
           cs->minibatches > 1 ? "" : "s", UPDATE_TOL);
  check(rc && big_w > 0 && big_h > 0 && ew <= UPDATE_TOL && ev <= UPDATE_TOL &&
            eh <= UPDATE_TOL,
        what);
  if (!implicit) {  /* the step of the rows as they were trained */
    rbm_weights_set_layout(&t, split);
    check_weight_step(&t, cs->name);
    rbm_weights_set_layout(&t, 0);
  }
  check_scoring(m, &r, t.unit_of_code, cs->name);
  ref_free(&R);
  ref_free(&before);
  rbm_trainer_close(&t);
  rbm_model_free(t.m);
  rbm_ratings_free(&r);
}

int main(void) {
  static const case_spec cases[] = {
      {"softmax, float rows, CD-1", "float", RBM_VISIBLE_SOFTMAX, 24, 1, 80, 300, 1, 1, 2},
      {"softmax, float rows, CD-17", "float", RBM_VISIBLE_SOFTMAX, 24, 17, 80, 300, 2, 2, 2},
      {"softmax, split rows, CD-2", "split", RBM_VISIBLE_SOFTMAX, 400, 2, 200, 3000, 2, 1, 1},
      {"binary, difference rows, CD-1", "binary float", RBM_VISIBLE_BINARY, 24, 1, 80, 300, 1, 1, 2},
      {"binary, split and difference rows, CD-3", "binary split", RBM_VISIBLE_BINARY, 900, 3, 200, 3000, 2, 5, 1},
      {"implicit, dense GEMMs, CD-1", "dense", RBM_VISIBLE_IMPLICIT, 24, 1, 80, 300, 1, 1, 2},
      {"implicit, dense GEMMs, CD-2", "dense", RBM_VISIBLE_IMPLICIT, 24, 2, 80, 300, 2, 1, 2},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) check_minibatch(&cases[c]);
  printf("%d of %d checks passed\n", checks - failures, checks);
  return failures != 0;
}
