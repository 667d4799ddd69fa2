/*
** rbm_units.c -- the unit types: their means and their draws.
**
** The means are the hot loops of every pass, so they are written to
** vectorise: rbm_exp is plain arithmetic, and a softmax is taken in passes
** over all its rows (less each row's largest, one exp over everything,
** normalise) rather than one dependent chain per row.
*/
#include "rbm_internal.h"
#include "rbm_units.h"

RBM_CLONES void rbm_sigmoid_all(const float *act, float *p, int n) {
#pragma omp simd
  for (int f = 0; f < n; f++) p[f] = rbm_sigmoid(act[f]);
}

/* In place, for rows of K logits each: softmax per row.  Split in passes
** (less each row's largest, one exp over everything, normalise) so the exps
** form a loop that vectorises instead of one dependent chain per row. */
static inline void softmax_rows_k(float *p, size_t rows, int K) {
  for (size_t j = 0; j < rows; j++) {
    float *q = p + j * K, mx = q[0];
    for (int k = 1; k < K; k++) mx = q[k] > mx ? q[k] : mx;
    for (int k = 0; k < K; k++) q[k] -= mx;
  }
  size_t n = rows * (size_t)K;
#pragma omp simd
  for (size_t j = 0; j < n; j++) p[j] = rbm_exp(p[j]);
  for (size_t j = 0; j < rows; j++) {
    float *q = p + j * K, sum = 0.f;
    for (int k = 0; k < K; k++) sum += q[k];
    float inv = 1.f / sum;
    for (int k = 0; k < K; k++) q[k] *= inv;
  }
}

RBM_CLONES void rbm_softmax_rows(float *p, size_t rows, int K) {
  /* Two units (binary models): p1 = sigmoid(l1 - l0), one exp per row in a
  ** loop that vectorises.  Otherwise K is made a constant for the common
  ** scales, so the per-row loops unroll. */
  switch (K) {
    case 2:
#pragma omp simd
      for (size_t j = 0; j < rows; j++) {
        float p1 = rbm_sigmoid(p[2 * j + 1] - p[2 * j]);
        p[2 * j] = 1.f - p1;
        p[2 * j + 1] = p1;
      }
      return;
    case 5: softmax_rows_k(p, rows, 5); return;
    case 10: softmax_rows_k(p, rows, 10); return;
    default: softmax_rows_k(p, rows, K); return;
  }
}

static void bernoulli_mean(float *x, size_t rows, size_t n, uint32_t group) {
  (void)group;
  for (size_t j = 0; j < rows; j++) rbm_sigmoid_all(x + j * n, x + j * n, (int)n);
}

static void bernoulli_sample(rbm_rng *rng, const float *mean, float *out,
                             size_t n, uint32_t group) {
  (void)group;
  rbm_sample_bernoulli(rng, mean, out, (int)n);
}

static void softmax_mean(float *x, size_t rows, size_t n, uint32_t group) {
  rbm_softmax_rows(x, rows * (n / group), (int)group);
}

static void softmax_sample(rbm_rng *rng, const float *mean, float *out,
                           size_t n, uint32_t group) {
  for (size_t g = 0; g < n; g += group) {
    int k = rbm_sample_softmax(rng, mean + g, (int)group);
    for (uint32_t c = 0; c < group; c++) out[g + c] = (int)c == k ? 1.f : 0.f;
  }
}

static void gaussian_mean(float *x, size_t rows, size_t n, uint32_t group) {
  (void)x, (void)rows, (void)n, (void)group;  /* the mean is the input */
}

static void gaussian_sample(rbm_rng *rng, const float *mean, float *out,
                            size_t n, uint32_t group) {
  (void)group;
  for (size_t f = 0; f < n; f += 2) {
    float a, b;
    rbm_gaussian_pair(rng, &a, &b);
    out[f] = mean[f] + a;
    if (f + 1 < n) out[f + 1] = mean[f + 1] + b;
  }
}

static const rbm_units UNITS[] = {
    {RBM_UNIT_BERNOULLI, "bernoulli", bernoulli_mean, bernoulli_sample},
    {RBM_UNIT_SOFTMAX, "softmax", softmax_mean, softmax_sample},
    {RBM_UNIT_GAUSSIAN, "gaussian", gaussian_mean, gaussian_sample},
};

const rbm_units *rbm_units_of(rbm_unit_type type) {
  for (size_t k = 0; k < sizeof UNITS / sizeof *UNITS; k++)
    if (UNITS[k].type == type) return &UNITS[k];
  return NULL;
}
