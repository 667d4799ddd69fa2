/*
** rbm_dense_train.c -- training a feature model, read top to bottom:
** minibatch CD-k by GEMMs on a contiguous float matrix, then the softmax
** head on the hidden probabilities.
**
**   set-up        the rows checked, a validation share held out (seeded),
**                 Gaussian units' standardisation from the training rows,
**                 W ~ N(0, 0.01), visible biases from the data's means
**                 (Bernoulli: log odds; Gaussian: 0), hidden biases 0
**   each epoch    rows shuffled; per minibatch of B rows:
**                   V0 = the rows (standardised)
**                   H0 = sigmoid(V0 W + c)                       GEMM
**                   k Gibbs steps from a sample of H0 (or, PCD, from
**                   where the persistent chains were):
**                     V1 = mean(Hs W' + b), sampled but in the last step
**                     H1 = sigmoid(V1 W + c), sampled but in the last step
**                   grad W = V0' H0 - V1' H1                     two GEMMs
**                   vel = momentum vel + lr (grad / B - decay W); W += vel
**                 then the reconstruction error of some training rows and
**                 of the held-out rows, mean-field
**   the head      L-BFGS on the hidden probabilities of every training
**                 row (rbm_head.c)
**
** One random stream per (seed, epoch, minibatch): the model depends on
** the seed and the data, not on the number of threads (which only split
** the GEMMs; OpenBLAS's sums do not depend on it for these shapes).
*/
#include "rbm_internal.h"
#include "rbm_math.h"
#include "rbm_units.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MEASURED_ROWS 2000  /* training rows whose reconstruction is measured */

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void rbm_dense_config_defaults(rbm_dense_config *c, rbm_unit_type visible,
                               int pcd) {
  rbm_config_defaults(&c->train);
  c->visible = visible;
  c->train.pcd = pcd != 0;
  c->train.hidden = 256;
  c->train.epochs = 20;
  c->train.batch_size = 100;
  c->train.momentum = 0.9;
  c->train.momentum_start = 0.5;
  c->train.momentum_epochs = 5;
  if (visible == RBM_UNIT_GAUSSIAN) {
    c->train.learning_rate = 0.001;
    c->train.lr_decay = 0;
    c->train.weight_decay = 0.0001;
  } else if (pcd) {
    c->train.learning_rate = 0.05;
    c->train.momentum = 0.5;
    c->train.lr_decay = 0.1;
    c->train.weight_decay = 0;
  } else {
    c->train.learning_rate = 0.1;
    c->train.lr_decay = 0.1;
    c->train.weight_decay = 0;
  }
  c->l2 = 1e-6;
  c->head_iterations = 500;
}

const char *rbm_dense_config_check(const rbm_dense_config *c) {
  if (c->visible != RBM_UNIT_BERNOULLI && c->visible != RBM_UNIT_GAUSSIAN)
    return "visible must be 'bernoulli' or 'gaussian'";
  if (c->train.hidden < 0 || c->train.hidden > 16384)
    return "hidden must be between 0 and 16384";
  rbm_config check = c->train;
  if (check.hidden == 0) check.hidden = 1;  /* no RBM: the head alone */
  const char *why = rbm_config_check(&check);
  if (why) return why;
  if (!(c->l2 >= 0) || c->l2 > 1e6) return "l2 must be between 0 and 1e6";
  if (c->head_iterations < 1 || c->head_iterations > 100000)
    return "head_iterations must be between 1 and 100000";
  return NULL;
}

typedef struct dense_trainer {
  const rbm_dense_config *c;
  const float *X;
  uint32_t d, F;
  size_t n_train, n_valid;
  size_t *rows;              /* training rows, then held-out ones */
  rbm_dense_model *m;
  const rbm_units *vis;
  size_t B;
  float *V0, *V1, *H0, *H1, *Hs, *persist;  /* B x d, B x F */
  float *gb, *gc;
  float *vW, *vb, *vc;
  float *best_W, *best_b, *best_c;
  int persist_ready;
  float momentum, learning_rate;
  /* The minibatch being trained, shared out by the pool: its rows in
  ** chunks (the passes), then the visible units in chunks (the update). */
  rbm_pool *pool;
  rbm_rng *rng;              /* B: each row's stream */
  size_t lo, nb, row_chunk, unit_chunk;
  int epoch, k;
} dense_trainer;

/* Rows rows[lo .. lo+nb) of X into V, standardised. */
static void gather(dense_trainer *t, size_t lo, size_t nb, float *V) {
  for (size_t j = 0; j < nb; j++)
    rbm_dense_standardise(t->m, t->X + t->rows[lo + j] * t->d, V + j * t->d);
}

/* vel = momentum vel + lr (g / B - decay p); p += vel. */
static void step(dense_trainer *t, float *p, float *vel, const float *g,
                 size_t n, float scale, float decay) {
  float mom = t->momentum, lr = t->learning_rate;
#pragma omp simd
  for (size_t j = 0; j < n; j++) {
    vel[j] = mom * vel[j] + lr * (g[j] * scale - decay * p[j]);
    p[j] += vel[j];
  }
}

/* The passes of minibatch rows r0 .. r1-1 (one task): V0, then H0 =
** p(h | V0), a sample of it (or the persistent chains), k Gibbs steps to
** V1 and H1.  Each row draws from its own stream, keyed by (seed, epoch,
** its place in the epoch).  A GEMM's sums depend on its shape, so the
** tasks are ROWS_PER_TASK rows whatever the thread count: the same model
** for any. */
static void passes(void *ctx, size_t task, int worker) {
  dense_trainer *t = ctx;
  (void)worker;
  const rbm_units *hid = rbm_units_of(RBM_UNIT_BERNOULLI);
  const rbm_dense_model *m = t->m;
  size_t d = t->d, F = t->F, r0 = task * t->row_chunk;
  size_t r1 = r0 + t->row_chunk < t->nb ? r0 + t->row_chunk : t->nb, n = r1 - r0;
  float *V0 = t->V0 + r0 * d, *V1 = t->V1 + r0 * d;
  float *H0 = t->H0 + r0 * F, *H1 = t->H1 + r0 * F, *Hs = t->Hs + r0 * F;
  int pcd = t->c->train.pcd;
  gather(t, t->lo + r0, n, V0);
  for (size_t j = r0; j < r1; j++)
    rbm_rng_seed(&t->rng[j], t->c->train.seed, (uint64_t)t->epoch, t->lo + j);
  rbm_dense_hidden_rows(m, V0, n, H0);
  if (pcd && t->persist_ready) {
    memcpy(Hs, t->persist + r0 * F, n * F * sizeof *Hs);
  } else {
    for (size_t j = 0; j < n; j++) hid->sample(&t->rng[r0 + j], H0 + j * F, Hs + j * F, F, 1);
  }
  for (int s = 1; s <= t->k; s++) {
    rbm_dense_visible_rows(m, Hs, n, V1);
    if (s < t->k)
      for (size_t j = 0; j < n; j++)
        t->vis->sample(&t->rng[r0 + j], V1 + j * d, V1 + j * d, d, 1);
    rbm_dense_hidden_rows(m, V1, n, H1);
    if (s < t->k)
      for (size_t j = 0; j < n; j++) hid->sample(&t->rng[r0 + j], H1 + j * F, Hs + j * F, F, 1);
  }
  if (pcd)  /* the chains go on from here next minibatch */
    for (size_t j = 0; j < n; j++)
      hid->sample(&t->rng[r0 + j], H1 + j * F, t->persist + (r0 + j) * F, F, 1);
}

/* The update of visible units i0 .. i1-1 (one task): their rows' step
** with the gradient V0' H0 - V1' H1 summed by two GEMMs straight into the
** velocity,
**   vel = momentum vel - lr decay W;  vel += lr / B (V0' H0 - V1' H1);
**   W += vel,
** and their biases'. */
static void update(void *ctx, size_t task, int worker) {
  dense_trainer *t = ctx;
  (void)worker;
  rbm_dense_model *m = t->m;
  size_t d = t->d, F = t->F, nb = t->nb;
  float scale = 1.f / (float)nb, decay = (float)t->c->train.weight_decay;
  float mom = t->momentum, lr = t->learning_rate;
  size_t i0 = task * t->unit_chunk;
  size_t i1 = i0 + t->unit_chunk < d ? i0 + t->unit_chunk : d, n = i1 - i0;
  float *W = m->layer.W + i0 * F, *vel = t->vW + i0 * F;
#pragma omp simd
  for (size_t j = 0; j < n * F; j++) vel[j] = mom * vel[j] - lr * decay * W[j];
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)F, (int)nb,
              lr * scale, t->V0 + i0, (int)d, t->H0, (int)F, 1.f, vel, (int)F);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)F, (int)nb,
              -lr * scale, t->V1 + i0, (int)d, t->H1, (int)F, 1.f, vel, (int)F);
#pragma omp simd
  for (size_t j = 0; j < n * F; j++) W[j] += vel[j];
  float *gb = t->gb + i0;
  memset(gb, 0, n * sizeof *gb);
  for (size_t j = 0; j < nb; j++) {
    const float *v0 = t->V0 + j * d + i0, *v1 = t->V1 + j * d + i0;
#pragma omp simd
    for (size_t i = 0; i < n; i++) gb[i] += v0[i] - v1[i];
  }
  step(t, m->layer.vbias + i0, t->vb + i0, gb, n, scale, 0.f);
}

/* The hidden biases': the sum of H0 - H1 over the rows, in order. */
static void update_hidden_bias(dense_trainer *t) {
  size_t F = t->F;
  memset(t->gc, 0, F * sizeof *t->gc);
  for (size_t j = 0; j < t->nb; j++) {
    const float *h0 = t->H0 + j * F, *h1 = t->H1 + j * F;
#pragma omp simd
    for (size_t f = 0; f < F; f++) t->gc[f] += h0[f] - h1[f];
  }
  step(t, t->m->layer.hbias, t->vc, t->gc, F, 1.f / (float)t->nb, 0.f);
}

#define UNIT_CHUNKS 8  /* tasks of the update */
#define ROWS_PER_TASK 50  /* tasks of the passes: 2 of a minibatch of 100 */

/* One CD-k step on training rows rows[lo .. lo+nb): the passes, shared
** out by rows, then the update, by visible units.  BLAS runs one thread
** in each task. */
static void cd_batch(dense_trainer *t, size_t lo, size_t nb, int epoch) {
  t->lo = lo;
  t->nb = nb;
  t->epoch = epoch;
  t->k = rbm_config_cd_k(&t->c->train, epoch);
  t->row_chunk = ROWS_PER_TASK;
  rbm_pool_run(t->pool, (nb + t->row_chunk - 1) / t->row_chunk, 1, passes, t,
               NULL, NULL);
  if (t->c->train.pcd) t->persist_ready = 1;  /* the first minibatch is full */
  t->unit_chunk = (t->d + UNIT_CHUNKS - 1) / UNIT_CHUNKS;
  rbm_pool_run(t->pool, (t->d + t->unit_chunk - 1) / t->unit_chunk, 1, update,
               t, NULL, NULL);
  update_hidden_bias(t);
}

/* RMS error per feature of the mean-field reconstruction of rows[lo ..
** lo+n), standardised space. */
static double recon_rmse(dense_trainer *t, size_t lo, size_t n) {
  double sq = 0;
  for (size_t at = 0; at < n; at += t->B) {
    size_t nb = n - at < t->B ? n - at : t->B;
    gather(t, lo + at, nb, t->V0);
    rbm_dense_hidden_rows(t->m, t->V0, nb, t->H0);
    rbm_dense_visible_rows(t->m, t->H0, nb, t->V1);
    for (size_t j = 0; j < nb * t->d; j++) {
      double e = (double)t->V0[j] - t->V1[j];
      sq += e * e;
    }
  }
  return n ? sqrt(sq / ((double)n * t->d)) : NAN;
}

/* Checks every value: finite, and in [0, 1] for Bernoulli units. */
static int check_rows(const rbm_dense_config *c, const float *X, size_t n,
                      uint32_t d, char *err, size_t errlen) {
  for (size_t r = 0; r < n; r++)
    for (uint32_t i = 0; i < d; i++) {
      float x = X[r * d + i];
      if (!isfinite(x)) {
        snprintf(err, errlen, "row %zu: feature %u is not a finite number", r + 1, i);
        return 0;
      }
      if (c->visible == RBM_UNIT_BERNOULLI && (x < 0 || x > 1)) {
        snprintf(err, errlen,
                 "row %zu: feature %u is %g, but Bernoulli visible units read "
                 "values in [0, 1] (scale them, or use visible 'gaussian')",
                 r + 1, i, (double)x);
        return 0;
      }
    }
  return 1;
}

/* Means and standard deviations of the training rows (Gaussian units). */
static int standardisation(dense_trainer *t) {
  size_t d = t->d;
  double *sum = calloc(d, sizeof *sum), *sq = calloc(d, sizeof *sq);
  t->m->mean = malloc(d * sizeof *t->m->mean);
  t->m->scale = malloc(d * sizeof *t->m->scale);
  if (!sum || !sq || !t->m->mean || !t->m->scale) {
    free(sum);
    free(sq);
    return 0;
  }
  for (size_t j = 0; j < t->n_train; j++) {
    const float *x = t->X + t->rows[j] * d;
    for (size_t i = 0; i < d; i++) sum[i] += x[i];
  }
  for (size_t i = 0; i < d; i++) sum[i] /= (double)t->n_train;
  for (size_t j = 0; j < t->n_train; j++) {
    const float *x = t->X + t->rows[j] * d;
    for (size_t i = 0; i < d; i++) sq[i] += (x[i] - sum[i]) * (x[i] - sum[i]);
  }
  for (size_t i = 0; i < d; i++) {
    double sd = sqrt(sq[i] / (double)t->n_train);
    t->m->mean[i] = (float)sum[i];
    t->m->scale[i] = sd > 1e-8 ? (float)sd : 1.f;  /* a constant feature */
  }
  free(sum);
  free(sq);
  return 1;
}

static void shuffle(size_t *a, size_t n, uint64_t seed, uint64_t stream) {
  rbm_rng rng;
  rbm_rng_seed(&rng, seed, stream, UINT64_MAX);
  for (size_t j = n; j > 1; j--) {
    size_t r = (size_t)(rbm_rng_next(&rng) % j), tmp = a[j - 1];
    a[j - 1] = a[r];
    a[r] = tmp;
  }
}

static void free_trainer(dense_trainer *t) {
  rbm_pool_stop(t->pool);
  free(t->rng);
  free(t->rows);
  free(t->V0), free(t->V1), free(t->H0), free(t->H1), free(t->Hs);
  free(t->persist), free(t->gb), free(t->gc);
  free(t->vW), free(t->vb), free(t->vc);
  free(t->best_W), free(t->best_b), free(t->best_c);
}

/* The RBM's parameters and buffers, and its first weights. */
static int open_rbm(dense_trainer *t) {
  rbm_dense_model *m = t->m;
  size_t d = t->d, F = t->F, B = t->B;
  m->layer.W = rbm_alloc_big(d * F * sizeof *m->layer.W);
  m->layer.hbias = calloc(F, sizeof *m->layer.hbias);
  t->V0 = malloc(B * d * sizeof *t->V0);
  t->V1 = malloc(B * d * sizeof *t->V1);
  t->H0 = malloc(B * F * sizeof *t->H0);
  t->H1 = malloc(B * F * sizeof *t->H1);
  t->Hs = malloc(B * F * sizeof *t->Hs);
  t->persist = malloc(B * F * sizeof *t->persist);
  t->gb = malloc(d * sizeof *t->gb);
  t->gc = malloc(F * sizeof *t->gc);
  t->vW = rbm_alloc_big(d * F * sizeof *t->vW);  /* zeroed */
  t->vb = calloc(d, sizeof *t->vb);
  t->vc = calloc(F, sizeof *t->vc);
  t->rng = malloc(B * sizeof *t->rng);
  t->pool = rbm_pool_start(rbm_config_threads(&t->c->train));
  if (!t->rng || !t->pool || !m->layer.W || !m->layer.hbias || !t->V0 || !t->V1 || !t->H0 ||
      !t->H1 || !t->Hs || !t->persist || !t->gb || !t->gc ||
      !t->vW || !t->vb || !t->vc)
    return 0;
  rbm_rng rng;
  rbm_rng_seed(&rng, t->c->train.seed, UINT64_MAX, 0);
  for (size_t j = 0; j < d * F; j += 2) {
    float a, b;
    rbm_gaussian_pair(&rng, &a, &b);
    m->layer.W[j] = 0.01f * a;
    if (j + 1 < d * F) m->layer.W[j + 1] = 0.01f * b;
  }
  /* Bernoulli: log(p / (1 - p)) of each feature's mean (Hinton's guide,
  ** section 8); Gaussian: the standardised mean, 0. */
  if (t->c->visible == RBM_UNIT_BERNOULLI) {
    double *sum = calloc(d, sizeof *sum);
    if (!sum) return 0;
    for (size_t j = 0; j < t->n_train; j++) {  /* by rows: the matrix's order */
      const float *x = t->X + t->rows[j] * d;
      for (size_t i = 0; i < d; i++) sum[i] += x[i];
    }
    for (size_t i = 0; i < d; i++) {
      double p = (sum[i] + 0.5) / ((double)t->n_train + 1);
      m->layer.vbias[i] = (float)log(p / (1 - p));
    }
    free(sum);
  }
  return 1;
}

static int keep_best(dense_trainer *t, int restore) {
  rbm_dense_model *m = t->m;
  size_t d = t->d, F = t->F;
  if (!t->best_W) {
    t->best_W = malloc(d * F * sizeof *t->best_W);
    t->best_b = malloc(d * sizeof *t->best_b);
    t->best_c = malloc(F * sizeof *t->best_c);
    if (!t->best_W || !t->best_b || !t->best_c) return 0;
  }
  float *from[3] = {m->layer.W, m->layer.vbias, m->layer.hbias};
  float *to[3] = {t->best_W, t->best_b, t->best_c};
  size_t count[3] = {d * F, d, F};
  for (int a = 0; a < 3; a++)
    memcpy(restore ? from[a] : to[a], restore ? to[a] : from[a],
           count[a] * sizeof(float));
  return 1;
}

/* The head on the hidden probabilities (or the standardised features) of
** every training row. */
static int train_head(dense_trainer *t, const uint32_t *labels,
                      rbm_dense_report *rep) {
  rbm_dense_model *m = t->m;
  size_t in = m->head_inputs, n = t->n_train, C = m->n_classes;
  float *Z = rbm_alloc_big(n * in * sizeof *Z);
  float *V = malloc(t->B * t->d * sizeof *V);
  uint32_t *y = malloc(n * sizeof *y);
  m->head_W = malloc(C * in * sizeof *m->head_W);
  m->head_b = malloc(C * sizeof *m->head_b);
  int rc = RBM_NOMEM;
  if (!Z || !V || !y || !m->head_W || !m->head_b) goto done;
  for (size_t at = 0; at < n; at += t->B) {
    size_t nb = n - at < t->B ? n - at : t->B;
    gather(t, at, nb, t->F ? V : Z + at * in);
    if (t->F) rbm_dense_hidden_rows(m, V, nb, Z + at * in);
  }
  for (size_t j = 0; j < n; j++) y[j] = labels[t->rows[j]];
  rc = rbm_head_train(Z, n, (uint32_t)in, y, (uint32_t)C, t->c->l2,
                      t->c->head_iterations, m->head_W, m->head_b,
                      &rep->head_iterations, &rep->head_loss);
  float *p = rc == RBM_OK ? malloc(C * sizeof *p) : NULL;
  if (p) {
    size_t right = 0;
    for (size_t j = 0; j < n; j++) {
      rbm_head_probs(m->head_W, m->head_b, (uint32_t)C, (uint32_t)in, Z + j * in, p);
      size_t best = 0;
      for (size_t k = 1; k < C; k++) best = p[k] > p[best] ? k : best;
      right += best == y[j];
    }
    rep->train_accuracy = (double)right / (double)n;
    free(p);
  }
done:
  free(Z);
  free(V);
  free(y);
  return rc;
}

/* What rbm_dense_train allocates, following open_rbm, the hold-out's best
** weights and train_head (its inputs and rbm_head_train's L-BFGS state). */
double rbm_dense_train_memory(const rbm_dense_config *c, size_t n, uint32_t d,
                              uint32_t n_classes) {
  double F = c->train.hidden, B = c->train.batch_size < (double)n ? c->train.batch_size : (double)n;
  double bytes = (double)n * 8 + (double)d * 48 + F * 24;  /* order, biases, moments */
  if (F > 0) {
    bytes += 2 * (double)d * F * 4 + 2 * B * d * 4 + 4 * B * F * 4 + B * 32;
    if (c->train.validation > 0) bytes += (double)d * F * 4;
  }
  if (n_classes) {
    double in = F > 0 ? F : d, C = n_classes, m = C * in + C;
    bytes += (double)n * in * 4 + B * d * 4 + (double)n * 4 + m * 4;  /* inputs, head */
    bytes += (double)n * C * 4 + m * 4 + C * in * 4 + (5 + 2 * 10) * m * 8;  /* L-BFGS */
  }
  return bytes;
}

int rbm_dense_train(const rbm_dense_config *c, const float *X, size_t n,
                    uint32_t d, const uint32_t *labels,
                    const rbm_keys *label_keys, const rbm_dense_hooks *hooks,
                    rbm_dense_model **out, rbm_dense_report *report,
                    char *err, size_t errlen) {
  dense_trainer t = {0};
  double start = now_seconds();
  int rc = RBM_ERROR, blas_before = 0;
  const char *why = rbm_dense_config_check(c);
  *out = NULL;
  memset(report, 0, sizeof *report);
  report->validation_rmse = report->train_accuracy = NAN;
  if (why) {
    snprintf(err, errlen, "%s", why);
    return RBM_ERROR;
  }
  if (n == 0 || d == 0) {
    snprintf(err, errlen, "no rows to train on");
    return RBM_ERROR;
  }
  if (c->train.hidden == 0 && !labels) {
    snprintf(err, errlen, "hidden 0 leaves nothing to train without a label");
    return RBM_ERROR;
  }
  if (labels && (!label_keys || label_keys->n < 2)) {
    snprintf(err, errlen, "a label needs at least 2 classes");
    return RBM_ERROR;
  }
  if (labels && label_keys->n > RBM_MAX_CLASSES) {
    snprintf(err, errlen,
             "the label has %u distinct values; a head takes at most %d "
             "classes (is the label an id?)", label_keys->n, RBM_MAX_CLASSES);
    return RBM_ERROR;
  }
  if (!rbm_memory_fits(rbm_dense_train_memory(c, n, d, labels ? label_keys->n : 0),
                       "the model, its updates and the head", 4.0 * (double)n * d,
                       "the rows", c->train.max_memory, "lower hidden", err, errlen))
    return RBM_ERROR;
  if (!check_rows(c, X, n, d, err, errlen)) return RBM_ERROR;
  rc = RBM_NOMEM;
  t.c = c;
  t.X = X;
  t.d = d;
  t.F = (uint32_t)c->train.hidden;
  /* validation measures the RBM: with hidden 0 there is none, and every
  ** row trains the head */
  t.n_valid = t.F ? (size_t)(c->train.validation * (double)n) : 0;
  if (t.n_valid >= n) t.n_valid = n - 1;
  t.n_train = n - t.n_valid;
  t.B = (size_t)c->train.batch_size < t.n_train ? (size_t)c->train.batch_size : t.n_train;
  t.vis = rbm_units_of(c->visible);
  rbm_dense_model *m = t.m = calloc(1, sizeof *t.m);
  t.rows = malloc(n * sizeof *t.rows);
  if (!m || !t.rows) goto fail;
  m->layer = (rbm_layer){c->visible, RBM_UNIT_BERNOULLI, d, 1, t.F, NULL, NULL, NULL};
  m->head_inputs = t.F ? t.F : d;
  for (size_t j = 0; j < n; j++) t.rows[j] = j;
  if (t.n_valid) shuffle(t.rows, n, c->train.seed, UINT64_MAX - 1);
  if (c->visible == RBM_UNIT_GAUSSIAN && !standardisation(&t)) goto fail;
  m->layer.vbias = calloc(d, sizeof *m->layer.vbias);
  if (!m->layer.vbias) goto fail;
  if (labels) {
    for (uint32_t k = 0; k < label_keys->n; k++) {
      rbm_key key = rbm_keys_get(label_keys, k);
      if (rbm_keys_intern(&m->labels, &key) != (int64_t)k) goto fail;
    }
    m->n_classes = label_keys->n;
  }
  int threads = rbm_config_threads(&c->train);
  blas_before = rbm_blas_threads();  /* put back when done */
  if (blas_before != threads) rbm_blas_set_threads(threads);
  report->threads = threads;

  if (t.F) {
    if (!open_rbm(&t)) goto fail;
    double best = INFINITY, flops = 0, cd_seconds = 0;
    for (int epoch = 1; epoch <= c->train.epochs; epoch++) {
      t.momentum = (float)rbm_config_momentum(&c->train, epoch);
      t.learning_rate = (float)rbm_config_learning_rate(&c->train, epoch);
      int k = rbm_config_cd_k(&c->train, epoch);
      rbm_blas_set_threads(1);  /* the pool's tasks share the work */
      shuffle(t.rows, t.n_train, c->train.seed, (uint64_t)epoch);
      double epoch_start = now_seconds();
      for (size_t lo = 0; lo < t.n_train; lo += t.B) {
        size_t nb = t.n_train - lo < t.B ? t.n_train - lo : t.B;
        cd_batch(&t, lo, nb, epoch);
        /* 2k + 3 GEMMs of nb x d x F multiply-adds: up, k x (down, up),
        ** and the gradient's two */
        flops += 2.0 * (2 * k + 3) * (double)nb * d * t.F;
        if (hooks && hooks->should_stop && hooks->should_stop(hooks->ctx)) {
          snprintf(err, errlen, "interrupted");
          rc = RBM_STOPPED;
          goto fail;
        }
      }
      cd_seconds += now_seconds() - epoch_start;
      rbm_blas_set_threads(threads);
      rbm_dense_epoch e = {epoch, 0, 0, NAN, 0};
      e.recon_rmse = recon_rmse(&t, 0, t.n_train < MEASURED_ROWS ? t.n_train : MEASURED_ROWS);
      if (!isfinite(e.recon_rmse)) {
        snprintf(err, errlen,
                 "training diverged in epoch %d (the weights are no longer "
                 "finite): lower the learning_rate", epoch);
        rc = RBM_ERROR;
        goto fail;
      }
      report->recon_rmse = e.recon_rmse;
      report->epochs_run = epoch;
      if (t.n_valid) {
        e.validation_rmse = recon_rmse(&t, t.n_train, t.n_valid);
        if (!isfinite(e.validation_rmse)) {
          snprintf(err, errlen,
                   "the held-out rows' reconstruction is not finite in epoch %d: "
                   "lower the learning_rate, or look for extreme values", epoch);
          rc = RBM_ERROR;
          goto fail;
        }
        if (e.validation_rmse < best) {
          best = e.validation_rmse;
          report->best_epoch = epoch;
          if (!keep_best(&t, 0)) goto fail;
        }
        e.best_epoch = report->best_epoch;
      }
      e.seconds = now_seconds() - start;
      if (hooks && hooks->on_epoch) hooks->on_epoch(hooks->ctx, &e);
      if (t.n_valid && c->train.patience > 0 &&
          epoch - report->best_epoch >= c->train.patience)
        break;
    }
    if (t.n_valid && t.best_W) {
      keep_best(&t, 1);  /* allocated when kept: cannot fail */
      report->validation_rmse = best;
    }
    report->rbm_seconds = now_seconds() - start;
    report->cd_seconds = cd_seconds;
    report->gflops = cd_seconds > 0 ? flops / cd_seconds * 1e-9 : 0;
  }
  if (labels) {
    double head_start = now_seconds();
    if (train_head(&t, labels, report) != RBM_OK) goto fail;
    report->head_seconds = now_seconds() - head_start;
  }
  report->seconds = now_seconds() - start;
  free_trainer(&t);
  rbm_blas_set_threads(blas_before);
  *out = m;
  return RBM_OK;

fail:
  if (rc == RBM_NOMEM) snprintf(err, errlen, "out of memory");
  if (blas_before > 0) rbm_blas_set_threads(blas_before);
  free_trainer(&t);
  rbm_dense_free(t.m);
  return rc;
}
