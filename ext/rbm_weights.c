/*
** rbm_weights.c -- how the weight rows are stored while training, and the
** momentum steps that write them.
**
** Three ways, behind one table of operations (weight_layout), chosen once
** per change of layout by rbm_weights_set_layout:
**   float rows       the model's own rows
**   split rows       a large model's rows as bfloat16 tops and remainders
**   difference rows  a binary model's like row less its dislike row, kept
**                    beside the rows (floats or split) the update steps
** The chains and the update call the table, and know no layout; only the
** update of a chain's hidden input when a unit changes, the hottest step,
** is inlined in the chain (rbm_unit_changed, by the table's row_change).
**
** While a sparse model whose weights outgrow the caches trains, each
** weight row of F floats holds, in the same bytes, two planes of F 16-bit
** halves: first the weights rounded to bfloat16 -- what the chains read,
** at half the bytes of the floats -- then the remainders that make each
** weight exact again (rbm_split_weight).  The chains' passes read twice as
** many weights per byte moved, and the update reads and writes both planes,
** as many bytes as the floats.  A model that fits the caches gains nothing
** by it and pays the conversions, so it stays in floats (t->split 0).
** convert_rows turns rows of floats into this and back.
*/
#include "rbm_trainer.h"

#include <string.h>

/* Rows [c * SPLIT_CHUNK, ...) of the model turned to what t->split says
** (split, or floats), in place through a row of scratch (the worker's
** hidden vector). */
#define SPLIT_CHUNK 256
static void convert_rows(worker *w, uint32_t c) {
  const rbm_model *m = w->t->m;
  size_t F = m->layer.n_hidden, rows = (size_t)m->n_items * m->n_units;
  for (size_t r = (size_t)c * SPLIT_CHUNK; r < rows && r < (size_t)(c + 1) * SPLIT_CHUNK; r++) {
    float *row = m->layer.W + r * F, *tmp = w->hidden;
    uint16_t *top = (uint16_t *)row, *rest = top + F;
    if (w->t->split) {
      memcpy(tmp, row, F * sizeof *row);
      for (size_t f = 0; f < F; f++) rbm_split_weight(tmp[f], &top[f], &rest[f]);
    } else {
      for (size_t f = 0; f < F; f++) tmp[f] = rbm_join_weight(top[f], rest[f]);
      memcpy(row, tmp, F * sizeof *row);
    }
  }
}

/* The difference rows of items lo .. hi-1 (binary models). */
void rbm_weights_set_diff_rows(trainer *t, size_t lo, size_t hi) {
  size_t F = t->m->layer.n_hidden;
  for (size_t i = lo; i < hi; i++) {
    float *d = t->diff_W + i * F;
    if (t->split) {
      const uint16_t *w0 = rbm_split_row(t->m, (uint32_t)i, 0);
      const uint16_t *w1 = rbm_split_row(t->m, (uint32_t)i, 1);
#pragma omp simd
      for (size_t f = 0; f < F; f++)
        d[f] = rbm_join_weight(w1[f], w1[F + f]) - rbm_join_weight(w0[f], w0[F + f]);
    } else {
      const float *w0 = rbm_w_row(t->m, (uint32_t)i, 0), *w1 = w0 + F;
#pragma omp simd
      for (size_t f = 0; f < F; f++) d[f] = w1[f] - w0[f];
    }
  }
}

/* p(dislike), p(like) of n items of a binary model given hidden h:
** p(like) = sigmoid(b1 - b0 + (W1 - W0) . h), one dot over the item's
** difference row (which the chain's update then adds or takes away) where
** the softmax would take two. */
RBM_CLONES static void binary_probs(const trainer *t, const float *h,
                                    const float *h_ro, size_t n,
                                    const uint32_t *items, float *probs) {
  (void)h_ro;
  const rbm_model *m = t->m;
  int F = (int)m->layer.n_hidden;
  size_t row_bytes = (size_t)F * sizeof(float);
  int cold = rbm_weights_are_cold((size_t)m->n_items * F);
  for (size_t q = 0; q < n; q++) {
    if (q + RBM_PREFETCH_AHEAD < n)
      rbm_prefetch(t->diff_W + (size_t)items[q + RBM_PREFETCH_AHEAD] * F,
                   cold ? row_bytes : 1);
    const float *vb = m->layer.vbias + (size_t)items[q] * 2;
    probs[2 * q + 1] = vb[1] - vb[0] + rbm_dot(t->diff_W + (size_t)items[q] * F, h, F);
  }
#pragma omp simd
  for (size_t q = 0; q < n; q++) {
    float like = rbm_sigmoid(probs[2 * q + 1]);
    probs[2 * q] = 1.f - like;
    probs[2 * q + 1] = like;
  }
}

/* Dot products of top planes with a hidden vector: top_dot for one row,
** top_dot4 for four rows stride halves apart (the vector read once for
** all four).  A 32-byte load of sixteen top halves gives, per 32-bit lane,
** an even weight (lane << 16) and the odd one after it (lane with its low
** half cleared), so the vector is taken in that order: in blocks of
** sixteen, its even floats and then its odd ones (even_odd).  Eight-lane
** vectors and separate accumulators, as rbm_dot and rbm_dot4. */
static void even_odd(const float *h, float *out, int n) {
  int f = 0;
  for (; f + 16 <= n; f += 16)
    for (int i = 0; i < 8; i++) {
      out[f + i] = h[f + 2 * i];
      out[f + 8 + i] = h[f + 2 * i + 1];
    }
  for (; f < n; f++) out[f] = h[f];
}

#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
typedef uint32_t rbm_u32x8 __attribute__((vector_size(32)));
#define TOP_EVEN(x) ((rbm_v8)((x) << 16))
#define TOP_ODD(x) ((rbm_v8)((x) & 0xffff0000u))

/* By pointer: a vector argument would change the baseline clone's ABI. */
static inline float sum_lanes(const rbm_v8 *v) {
  rbm_v8 a = *v;
  rbm_v4 lo = {a[0], a[1], a[2], a[3]}, hi = {a[4], a[5], a[6], a[7]};
  lo += hi;
  return (lo[0] + lo[2]) + (lo[1] + lo[3]);
}

/* always_inline: GCC otherwise calls one baseline copy from the clones */
#define TOP_INLINE static inline __attribute__((always_inline))
TOP_INLINE float top_dot(const uint16_t *restrict w, const float *restrict h,
                         int n) {
  rbm_v8 a0 = {0}, a1 = {0}, y0, y1;
  rbm_u32x8 x;
  int f = 0;
  for (; f + 16 <= n; f += 16) {
    __builtin_memcpy(&x, w + f, sizeof x);
    __builtin_memcpy(&y0, h + f, sizeof y0);
    __builtin_memcpy(&y1, h + f + 8, sizeof y1);
    a0 += TOP_EVEN(x) * y0;
    a1 += TOP_ODD(x) * y1;
  }
  a0 += a1;
  float s = sum_lanes(&a0);
  for (; f < n; f++) s += rbm_bf16_to_float(w[f]) * h[f];
  return s;
}

TOP_INLINE void top_dot4(const uint16_t *restrict w, size_t stride,
                         const float *restrict h, int n, float *out) {
  rbm_v8 e0 = {0}, e1 = {0}, e2 = {0}, e3 = {0};
  rbm_v8 o0 = {0}, o1 = {0}, o2 = {0}, o3 = {0}, y0, y1;
  rbm_u32x8 x;
  int f = 0;
  for (; f + 16 <= n; f += 16) {
    __builtin_memcpy(&y0, h + f, sizeof y0);
    __builtin_memcpy(&y1, h + f + 8, sizeof y1);
    __builtin_memcpy(&x, w + f, sizeof x);
    e0 += TOP_EVEN(x) * y0;
    o0 += TOP_ODD(x) * y1;
    __builtin_memcpy(&x, w + stride + f, sizeof x);
    e1 += TOP_EVEN(x) * y0;
    o1 += TOP_ODD(x) * y1;
    __builtin_memcpy(&x, w + 2 * stride + f, sizeof x);
    e2 += TOP_EVEN(x) * y0;
    o2 += TOP_ODD(x) * y1;
    __builtin_memcpy(&x, w + 3 * stride + f, sizeof x);
    e3 += TOP_EVEN(x) * y0;
    o3 += TOP_ODD(x) * y1;
  }
  rbm_v8 sums[4] = {e0 + o0, e1 + o1, e2 + o2, e3 + o3};
  for (int r = 0; r < 4; r++) {
    float s = sum_lanes(&sums[r]);
    for (int g = f; g < n; g++) s += rbm_bf16_to_float(w[r * stride + g]) * h[g];
    out[r] = s;
  }
}
#else
static inline float top_dot(const uint16_t *restrict w,
                            const float *restrict h, int n) {
  float s = 0.f;
  int f = 0;
  for (; f + 16 <= n; f += 16)
    for (int i = 0; i < 16; i++) s += rbm_bf16_to_float(w[f + i]) * h[f + (i & 1) * 8 + i / 2];
  for (; f < n; f++) s += rbm_bf16_to_float(w[f]) * h[f];
  return s;
}

static inline void top_dot4(const uint16_t *restrict w, size_t stride,
                            const float *restrict h, int n, float *out) {
  for (int r = 0; r < 4; r++) out[r] = top_dot(w + r * stride, h, n);
}
#endif

/* rbm_hidden_input on split rows: act = hbias + the top planes of the rows
** of (items[j], units[j]).  Rows are split only when the weights are
** large, so they are always prefetched. */
RBM_CLONES static void split_hidden_input(const trainer *t, size_t n,
                                          const uint32_t *items,
                                          const uint8_t *units, float *act) {
  const rbm_model *m = t->m;
  int F = (int)m->layer.n_hidden;
  memcpy(act, m->layer.hbias, (size_t)F * sizeof *act);
  for (size_t j = 0; j < n; j++) {
    if (j + RBM_PREFETCH_AHEAD < n)
      rbm_prefetch(rbm_split_row(m, items[j + RBM_PREFETCH_AHEAD],
                             units[j + RBM_PREFETCH_AHEAD]),
                   (size_t)F * sizeof(uint16_t));
    const uint16_t *top = rbm_split_row(m, items[j], units[j]);
#pragma omp simd
    for (int f = 0; f < F; f++) act[f] += rbm_bf16_to_float(top[f]);
  }
}

/* rbm_items_probs on split rows: the softmaxes of n items given hidden h
** (in even_odd order), from the top planes. */
RBM_CLONES static void split_items_probs(const trainer *t, const float *hs,
                                         const float *h, size_t n,
                                         const uint32_t *items, float *probs) {
  (void)hs;
  const rbm_model *m = t->m;
  int F = (int)m->layer.n_hidden, K = (int)m->n_units;
  for (size_t j = 0; j < n; j++) {
    if (j + 1 < n)  /* split rows are large ones: always prefetched */
      for (int k = 0; k < K; k++)
        rbm_prefetch(rbm_split_row(m, items[j + 1], (uint32_t)k),
                     (size_t)F * sizeof(uint16_t));
    const uint16_t *w = rbm_split_row(m, items[j], 0);
    size_t stride = 2 * (size_t)F;  /* halves from one row's top to the next's */
    float *p = probs + j * K;
    int k = 0;
    for (; k + 4 <= K; k += 4) top_dot4(w + k * stride, stride, h, F, p + k);
    for (; k < K; k++) p[k] = top_dot(w + k * stride, h, F);
    const float *vb = m->layer.vbias + (size_t)items[j] * K;
    for (k = 0; k < K; k++) p[k] += vb[k];
  }
  rbm_softmax_rows(probs, n, K);
}

/* The momentum steps' rates, in locals: read from the trainer through a
** pointer, the compiler reloads them for every vector of a row. */
typedef struct step_rates {
  float momentum, learning_rate, grad_scale, decay;
} step_rates;

static inline step_rates rates_of(const trainer *t, float decay) {
  step_rates r = {t->momentum, t->learning_rate, t->grad_scale, decay};
  return r;
}

/* momentum_step for one weight, whose velocity is bfloat16: the step taken
** is the one computed, and the velocity kept is it rounded.  Returns the
** new weight. */
static inline float weight_stepped(step_rates r, float w, uint16_t *vel,
                                   float g) {
  float v = r.momentum * rbm_bf16_to_float(*vel) +
            r.learning_rate * (g * r.grad_scale - r.decay * w);
  *vel = rbm_float_to_bf16(v);
  return w + v;
}

/* The momentum step of a row of float weights. */
RBM_CLONES void rbm_weights_step(const trainer *t, float *w, uint16_t *vel,
                                    const float *g, size_t n, float decay) {
  step_rates r = rates_of(t, decay);
#pragma omp simd
  for (size_t j = 0; j < n; j++) w[j] = weight_stepped(r, w[j], &vel[j], g[j]);
}

/* The same on a split row. */
RBM_CLONES static void split_weights_step(const trainer *t, uint16_t *row,
                                          uint16_t *vel, const float *g,
                                          size_t n, float decay) {
  step_rates r = rates_of(t, decay);
  uint16_t *top = row, *rest = row + n;
#pragma omp simd
  for (size_t j = 0; j < n; j++) {
    float w = weight_stepped(r, rbm_join_weight(top[j], rest[j]), &vel[j], g[j]);
    rbm_split_weight(w, &top[j], &rest[j]);
  }
}

RBM_CLONES void rbm_momentum_step(const trainer *t, float *param,
                                     float *vel, const float *g, size_t n,
                                     float decay) {
  float mom = t->momentum, lr = t->learning_rate, scale = t->grad_scale;
#pragma omp simd
  for (size_t j = 0; j < n; j++) {
    vel[j] = mom * vel[j] + lr * (g[j] * scale - decay * param[j]);
    param[j] += vel[j];
  }
}

void rbm_hidden_bias_step(trainer *t, const float *hd, const float *hm,
                             uint32_t n, float *g) {
  size_t F = t->m->layer.n_hidden;
  memset(g, 0, F * sizeof *g);
  for (uint32_t u = 0; u < n; u++)
    for (size_t f = 0; f < F; f++) g[f] += hd[u * F + f] - hm[u * F + f];
  rbm_momentum_step(t, t->m->layer.hbias, t->vel_hbias, g, F, 0.f);
}


/* ---- the layouts ------------------------------------------------------- */

static void float_hidden_input(const trainer *t, size_t n,
                               const uint32_t *items, const uint8_t *units,
                               float *act) {
  rbm_hidden_input(t->m, n, items, units, act);
}

static void float_items_probs(const trainer *t, const float *hs,
                              const float *hs_ro, size_t n,
                              const uint32_t *items, float *probs) {
  (void)hs_ro;
  rbm_items_probs(t->m, hs, n, items, probs);
}

static inline uint16_t *velocity_row(const trainer *t, uint32_t item,
                                     uint32_t unit) {
  return t->vel_W + ((size_t)item * t->m->n_units + unit) * t->m->layer.n_hidden;
}

static void float_step_row(const trainer *t, uint32_t item, uint32_t unit,
                           const float *g, float decay) {
  rbm_weights_step(t, rbm_w_row(t->m, item, unit), velocity_row(t, item, unit), g,
                   t->m->layer.n_hidden, decay);
}

static void split_step_row(const trainer *t, uint32_t item, uint32_t unit,
                           const float *g, float decay) {
  split_weights_step(t, rbm_split_row(t->m, item, unit),
                     velocity_row(t, item, unit), g, t->m->layer.n_hidden,
                     decay);
}

static void diff_item_stepped(trainer *t, uint32_t item) {
  rbm_weights_set_diff_rows(t, item, item + 1);
}

static size_t float_down_bytes(const rbm_model *m) {
  return (size_t)m->n_units * m->layer.n_hidden * sizeof(float);
}

static size_t split_down_bytes(const rbm_model *m) {
  return (size_t)m->n_units * m->layer.n_hidden * sizeof(uint16_t);
}

static size_t diff_down_bytes(const rbm_model *m) {
  return (size_t)m->layer.n_hidden * sizeof(float);
}

static const weight_layout FLOAT_ROWS = {
    "float", float_hidden_input, float_items_probs, NULL,
    ROW_CHANGE_FLOAT, float_step_row, NULL, float_down_bytes};
static const weight_layout SPLIT_ROWS = {
    "split", split_hidden_input, split_items_probs, even_odd,
    ROW_CHANGE_SPLIT, split_step_row, NULL, split_down_bytes};
static const weight_layout DIFF_FLOAT_ROWS = {
    "binary float", float_hidden_input, binary_probs, NULL,
    ROW_CHANGE_DIFF, float_step_row, diff_item_stepped, diff_down_bytes};
static const weight_layout DIFF_SPLIT_ROWS = {
    "binary split", split_hidden_input, binary_probs, NULL,
    ROW_CHANGE_DIFF, split_step_row, diff_item_stepped, diff_down_bytes};

void rbm_weights_set_layout(trainer *t, int split) {
  t->rows = t->diff_W ? (split ? &DIFF_SPLIT_ROWS : &DIFF_FLOAT_ROWS)
                      : (split ? &SPLIT_ROWS : &FLOAT_ROWS);
  if (t->split == split) return;
  size_t rows = (size_t)t->m->n_items * t->m->n_units;
  t->split = split;
  rbm_trainer_run(t, (uint32_t)((rows + SPLIT_CHUNK - 1) / SPLIT_CHUNK),
                  convert_rows, 0, NULL);
}

