/*
** rbm_math.h -- the small numeric kernels shared by training and
** prediction, written as plain loops the compiler vectorises
** (-fopenmp-simd makes the reductions vectorisable without -ffast-math).
*/
#ifndef RBM_MATH_H
#define RBM_MATH_H

#include "rbm_internal.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* The hot loops are compiled three times -- baseline x86-64, AVX2+FMA
** (x86-64-v3) and AVX-512 (x86-64-v4) -- and the loader picks the best the
** CPU runs (GCC function multiversioning), so the shipped build needs no
** -march=native.  Elsewhere they are compiled once. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    defined(__linux__) && !defined(RBM_NO_CLONES)
#define RBM_CLONES \
  __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define RBM_CLONES
#endif

/* a . b.  Written with eight-float vectors (GCC/Clang vector extensions)
** and two accumulators: a "#pragma omp simd" reduction ends in a slow
** horizontal sum through memory, which dominates at n = 100. */
#if defined(__GNUC__)
typedef float rbm_v8 __attribute__((vector_size(32)));
typedef float rbm_v4 __attribute__((vector_size(16)));
static inline float rbm_dot(const float *restrict a, const float *restrict b,
                            int n) {
  /* memcpy is how to load unaligned vectors; it compiles to one load */
  rbm_v8 acc0 = {0}, acc1 = {0}, x, y, x1, y1;
  int f = 0;
  for (; f + 16 <= n; f += 16) {
    __builtin_memcpy(&x, a + f, sizeof x);
    __builtin_memcpy(&y, b + f, sizeof y);
    __builtin_memcpy(&x1, a + f + 8, sizeof x1);
    __builtin_memcpy(&y1, b + f + 8, sizeof y1);
    acc0 += x * y;
    acc1 += x1 * y1;
  }
  if (f + 8 <= n) {
    __builtin_memcpy(&x, a + f, sizeof x);
    __builtin_memcpy(&y, b + f, sizeof y);
    acc0 += x * y;
    f += 8;
  }
  acc0 += acc1;
  rbm_v4 lo = {acc0[0], acc0[1], acc0[2], acc0[3]};
  rbm_v4 hi = {acc0[4], acc0[5], acc0[6], acc0[7]};
  lo += hi;
  if (f + 4 <= n) {
    rbm_v4 x4, y4;
    __builtin_memcpy(&x4, a + f, sizeof x4);
    __builtin_memcpy(&y4, b + f, sizeof y4);
    lo += x4 * y4;
    f += 4;
  }
  float s = (lo[0] + lo[2]) + (lo[1] + lo[3]);
  for (; f < n; f++) s += a[f] * b[f];
  return s;
}
#else
static inline float rbm_dot(const float *restrict a, const float *restrict b,
                            int n) {
  float s = 0.f;
  for (int f = 0; f < n; f++) s += a[f] * b[f];
  return s;
}
#endif

/* out[r] = w[r] . h for four rows of n floats each, r * stride apart: one
** pass over h, four independent sums in flight (one sum of long rows,
** with its additions waiting on each other, runs at a fraction of the
** arithmetic's speed). */
#if defined(__GNUC__)
static inline void rbm_dot4(const float *restrict w, size_t stride,
                            const float *restrict h, int n, float *out) {
  rbm_v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, x, y;
  int f = 0;
  for (; f + 8 <= n; f += 8) {
    __builtin_memcpy(&y, h + f, sizeof y);
    __builtin_memcpy(&x, w + f, sizeof x);
    a0 += x * y;
    __builtin_memcpy(&x, w + stride + f, sizeof x);
    a1 += x * y;
    __builtin_memcpy(&x, w + 2 * stride + f, sizeof x);
    a2 += x * y;
    __builtin_memcpy(&x, w + 3 * stride + f, sizeof x);
    a3 += x * y;
  }
  rbm_v8 *acc[4] = {&a0, &a1, &a2, &a3};
  for (int r = 0; r < 4; r++) {
    rbm_v8 a = *acc[r];
    rbm_v4 lo = {a[0], a[1], a[2], a[3]}, hi = {a[4], a[5], a[6], a[7]};
    lo += hi;
    float s = (lo[0] + lo[2]) + (lo[1] + lo[3]);
    for (int g = f; g < n; g++) s += w[r * stride + g] * h[g];
    out[r] = s;
  }
}
#else
static inline void rbm_dot4(const float *restrict w, size_t stride,
                            const float *restrict h, int n, float *out) {
  for (int r = 0; r < 4; r++) out[r] = rbm_dot(w + r * stride, h, n);
}
#endif

/* Memory for the large arrays (weights, their momentum): zeroed, and on
** Linux backed by transparent huge pages where the system allows them on
** request, which turns a hundred thousand page faults for a 25M-rating
** model into a few hundred.  Freed with free(). */
void *rbm_alloc_big(size_t bytes);

/* In place, for rows of K logits each: the softmax of each row. */
void rbm_softmax_rows(float *p, size_t rows, int K);

/* Prefetch whole weight rows only when n floats of weights outgrow the
** caches: on a model that fits, the prefetch loop costs more than the
** misses it saves (the first line of a row, which starts the hardware
** prefetcher on it, is always asked for). */
static inline int rbm_weights_are_cold(size_t n) {
  return n * sizeof(float) > ((size_t)16 << 20);
}

/* The same for a model's weights. */
static inline int rbm_model_is_cold(const rbm_model *m) {
  return rbm_weights_are_cold((size_t)m->n_items * m->n_units * m->layer.n_hidden);
}

/* Asks for bytes at p to be brought into cache.  Rows of weights are
** visited in data order (the items a user rated), which the hardware
** prefetcher cannot guess: asking a few rows ahead hides the misses. */
static inline void rbm_prefetch(const void *p, size_t bytes) {
#if defined(__GNUC__)
  const char *c = p;
  for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch(c + o, 0, 3);
#else
  (void)p;
  (void)bytes;
#endif
}
#define RBM_PREFETCH_AHEAD 4  /* rows ahead */

/* y += x */
static inline void rbm_add(float *restrict y, const float *restrict x, int n) {
#pragma omp simd
  for (int f = 0; f < n; f++) y[f] += x[f];
}

/* y += a * x */
static inline void rbm_axpy(float *restrict y, float a,
                            const float *restrict x, int n) {
#pragma omp simd
  for (int f = 0; f < n; f++) y[f] += a * x[f];
}

/* exp(x) for float, written as plain arithmetic so that loops over it
** vectorise (a libm call does not): 2^n * e^r with |r| <= ln2/2 and a
** degree-6 polynomial for e^r; relative error below 3e-7 over the float
** range, inputs beyond it clamped. */
static inline float rbm_exp(float x) {
  x = x > -87.3f ? x : -87.3f;  /* two plain selects: they if-convert */
  x = x < 88.3f ? x : 88.3f;
  /* round to nearest by the 1.5 * 2^23 trick: roundf is a libm call
  ** without SSE4.1, and would stop the loop vectorising */
  float n = (x * 1.44269504f + 12582912.f) - 12582912.f;
  float r = x - n * 0.693145752f - n * 1.42860677e-6f;
  float p = 1.f + r * (1.f + r * (0.5f + r * (0.166666672f +
                r * (0.0416666418f + r * (0.00833345205f +
                r * 0.00138820091f)))));
  /* 2^n built in the exponent bits; memcpy, not a union, so it vectorises */
  int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

static inline float rbm_sigmoid(float x) { return 1.f / (1.f + rbm_exp(-x)); }


/* xoshiro256** seeded through splitmix64: fast, and one stream per
** (seed, epoch, user) so results do not depend on how users are split
** across threads. */
typedef struct rbm_rng {
  uint64_t s[4];
} rbm_rng;

static inline uint64_t rbm_splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline void rbm_rng_seed(rbm_rng *r, uint64_t a, uint64_t b,
                                uint64_t c) {
  uint64_t x = a ^ rbm_splitmix64(&b) ^ (rbm_splitmix64(&c) << 1);
  for (int i = 0; i < 4; i++) r->s[i] = rbm_splitmix64(&x);
}

static inline uint64_t rbm_rng_next(rbm_rng *r) {
  uint64_t *s = r->s;
  uint64_t t = s[1] << 17;
  uint64_t v = s[1] * 5;
  uint64_t out = ((v << 7) | (v >> 57)) * 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = (s[3] << 45) | (s[3] >> 19);
  return out;
}

/* Uniform in [0, 1) with 24 bits, the precision of a float. */
static inline float rbm_rng_uniform(rbm_rng *r) {
  return (float)(rbm_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

/* bfloat16 <-> float: the top 16 bits of a float, rounded to nearest even
** one way (NaNs aside). */
static inline float rbm_bf16_to_float(uint16_t x) {
  uint32_t u = (uint32_t)x << 16;
  float f;
  __builtin_memcpy(&f, &u, sizeof f);
  return f;
}

static inline uint16_t rbm_float_to_bf16(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, sizeof u);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* A float as two 16-bit halves: top, the float rounded to bfloat16 (half
** way rounds away from zero), and rest, what makes it exact again:
**   float bits = (top << 16) + (int16_t)rest   (mod 2^32).
** rbm_join_weight(rbm_split_weight(x)) is x, bit for bit, for every x. */
static inline void rbm_split_weight(float f, uint16_t *top, uint16_t *rest) {
  uint32_t u;
  __builtin_memcpy(&u, &f, sizeof u);
  uint32_t t = (u + 0x8000u) >> 16;  /* rounded: the rest is in [-2^15, 2^15) */
  *top = (uint16_t)t;
  *rest = (uint16_t)(u - (t << 16));
}

static inline float rbm_join_weight(uint16_t top, uint16_t rest) {
  uint32_t u = ((uint32_t)top << 16) + (uint32_t)(int32_t)(int16_t)rest;
  float f;
  __builtin_memcpy(&f, &u, sizeof f);
  return f;
}

#endif
