/*
** rbm_units.h -- what a unit is, apart from how weights are laid out.
**
**   const rbm_units *u = rbm_units_of(RBM_UNIT_GAUSSIAN);
**   u->mean(x, rows, n, group);           // total inputs -> means, in place
**   u->sample(&rng, x, out, n, group);     // a draw given the means
**
** A unit type says how a unit's mean follows from its total input (bias
** included) and how it is drawn:
**   Bernoulli  p = sigmoid(x); 1 with probability p
**   softmax    p = softmax over the group's inputs; one unit of the group
**   Gaussian   mean = x, variance 1 (inputs standardised); mean + N(0, 1)
** The fast kernels call the inline samplers below directly; the table is
** for code that is written once for every unit type (the dense layers,
** the reference CD step in the tests).
*/
#ifndef RBM_UNITS_H
#define RBM_UNITS_H

#include "rbm_math.h"

#include <math.h>

/* Each of n units 1 with its probability p[f]: one uniform draw a unit. */
static inline void rbm_sample_bernoulli(rbm_rng *rng, const float *p,
                                        float *out, int n) {
  for (int f = 0; f < n; f++) out[f] = rbm_rng_uniform(rng) < p[f] ? 1.f : 0.f;
}

/* The unit drawn from a softmax's K probabilities: one uniform draw. */
static inline int rbm_sample_softmax(rbm_rng *rng, const float *p, int K) {
  float x = rbm_rng_uniform(rng);
  for (int c = 0; c < K - 1; c++) {
    x -= p[c];
    if (x < 0) return c;
  }
  return K - 1;
}

/* Two independent N(0, 1) draws (Box-Muller: both halves are used). */
static inline void rbm_gaussian_pair(rbm_rng *rng, float *a, float *b) {
  float u1 = rbm_rng_uniform(rng), u2 = rbm_rng_uniform(rng);
  float radius = sqrtf(-2.f * logf(1.f - u1)), angle = 6.2831853f * u2;
  *a = radius * cosf(angle);
  *b = radius * sinf(angle);
}

typedef struct rbm_units {
  rbm_unit_type type;
  const char *name;   /* 'bernoulli', 'softmax', 'gaussian' */
  /* x: rows of n total inputs -> each unit's mean, in place.  group: a
  ** softmax's units (n a multiple of it); 1 for the others. */
  void (*mean)(float *x, size_t rows, size_t n, uint32_t group);
  /* out = one draw of n units given their means (out may be mean):
  ** Bernoulli 0/1, softmax one-hot per group, Gaussian real. */
  void (*sample)(rbm_rng *rng, const float *mean, float *out, size_t n,
                 uint32_t group);
} rbm_units;

/* NULL for a type that is not one. */
const rbm_units *rbm_units_of(rbm_unit_type type);

#endif /* RBM_UNITS_H */
