/*
** rbm_dense.c -- using a feature model: transform, reconstruct, free
** energy, pseudo-likelihood, class probabilities, sampling; and its blob.
**
** Every function takes vectors in feature space and standardises them
** itself (Gaussian visible units), so what the model learned from is what
** it is always given.  The energy (v standardised, h binary):
**   Bernoulli  E(v, h) = -b'v - c'h - v'W h
**   Gaussian   E(v, h) = sum_i (v_i - b_i)^2 / 2 - c'h - v'W h  (variance 1)
** and the free energy sums h out:
**   F(v) = [-b'v  or  |v - b|^2 / 2] - sum_j softplus(c_j + v'W_j).
**
** Blob ("RBMDENSE"), little-endian, after the 8-byte magic:
**   u32 format version, u32 visible unit type, u32 features d, u32 hidden
**   F, u32 classes C, u32 flags (1: standardised);
**   C label ids (as a rating model's item ids);
**   f32 vbias[d], f32 hbias[F], f32 W[d][F];
**   if standardised: f32 mean[d], f32 scale[d];
**   if C: f32 head_b[C], f32 head_W[C][F, or d when F is 0];
**   u64 checksum of every byte before it.
*/
#include "rbm_internal.h"
#include "rbm_blob.h"
#include "rbm_math.h"
#include "rbm_units.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>

static const char DENSE_MAGIC[8] = {'R', 'B', 'M', 'D', 'E', 'N', 'S', 'E'};
#define DENSE_FORMAT_VERSION 1

void rbm_dense_free(rbm_dense_model *m) {
  if (!m) return;
  free(m->layer.W);
  free(m->layer.vbias);
  free(m->layer.hbias);
  free(m->mean);
  free(m->scale);
  rbm_keys_free(&m->labels);
  free(m->head_W);
  free(m->head_b);
  free(m);
}

void rbm_dense_standardise(const rbm_dense_model *m, const float *x,
                           float *out) {
  uint32_t d = m->layer.n_visible;
  if (!m->mean) {
    if (out != x) memcpy(out, x, d * sizeof *out);
    return;
  }
  for (uint32_t i = 0; i < d; i++) out[i] = (x[i] - m->mean[i]) / m->scale[i];
}

/* H = P(h = 1 | V) for rows of standardised V. */
void rbm_dense_hidden_rows(const rbm_dense_model *m, const float *V,
                           size_t rows, float *H) {
  uint32_t d = m->layer.n_visible, F = m->layer.n_hidden;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)F,
              (int)d, 1.f, V, (int)d, m->layer.W, (int)F, 0.f, H, (int)F);
  for (size_t r = 0; r < rows; r++) {
    float *h = H + r * F;
    for (uint32_t f = 0; f < F; f++) h[f] += m->layer.hbias[f];
    rbm_sigmoid_all(h, h, (int)F);
  }
}

/* V = the visible means given rows of H (standardised space). */
void rbm_dense_visible_rows(const rbm_dense_model *m, const float *H,
                            size_t rows, float *V) {
  uint32_t d = m->layer.n_visible, F = m->layer.n_hidden;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)d,
              (int)F, 1.f, H, (int)F, m->layer.W, (int)F, 0.f, V, (int)d);
  for (size_t r = 0; r < rows; r++)
    for (uint32_t i = 0; i < d; i++) V[r * d + i] += m->layer.vbias[i];
  rbm_units_of(m->layer.visible_type)->mean(V, rows, d, 1);
}

int rbm_dense_transform(const rbm_dense_model *m, const float *x, float *h) {
  float *v = malloc(m->layer.n_visible * sizeof *v);
  if (!v) return RBM_NOMEM;
  rbm_dense_standardise(m, x, v);
  rbm_dense_hidden_rows(m, v, 1, h);
  free(v);
  return RBM_OK;
}

int rbm_dense_reconstruct(const rbm_dense_model *m, const float *x,
                          float *out) {
  uint32_t d = m->layer.n_visible;
  float *v = malloc(d * sizeof *v), *h = malloc(m->layer.n_hidden * sizeof *h);
  if (!v || !h) {
    free(v);
    free(h);
    return RBM_NOMEM;
  }
  rbm_dense_standardise(m, x, v);
  rbm_dense_hidden_rows(m, v, 1, h);
  rbm_dense_visible_rows(m, h, 1, out);
  if (m->mean)
    for (uint32_t i = 0; i < d; i++) out[i] = out[i] * m->scale[i] + m->mean[i];
  free(v);
  free(h);
  return RBM_OK;
}

static double softplus(double x) {
  return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* F(v) for standardised v. */
static double free_energy(const rbm_dense_model *m, const float *v) {
  uint32_t d = m->layer.n_visible, F = m->layer.n_hidden;
  double e = 0;
  for (uint32_t i = 0; i < d; i++) {
    double b = m->layer.vbias[i];
    e += m->layer.visible_type == RBM_UNIT_GAUSSIAN ? 0.5 * (v[i] - b) * (v[i] - b)
                                                    : -b * v[i];
  }
  for (uint32_t f = 0; f < F; f++) {
    double a = m->layer.hbias[f];
    for (uint32_t i = 0; i < d; i++) a += (double)v[i] * m->layer.W[(size_t)i * F + f];
    e -= softplus(a);
  }
  return e;
}

double rbm_dense_free_energy(const rbm_dense_model *m, const float *x) {
  float *v = malloc(m->layer.n_visible * sizeof *v);
  if (!v) return NAN;
  rbm_dense_standardise(m, x, v);
  double e = free_energy(m, v);
  free(v);
  return e;
}

double rbm_dense_pseudo_likelihood(const rbm_dense_model *m, const float *x,
                                   uint64_t rng_seed) {
  uint32_t d = m->layer.n_visible;
  if (m->layer.visible_type != RBM_UNIT_BERNOULLI || m->layer.n_hidden == 0)
    return NAN;
  float *v = malloc(d * sizeof *v);
  if (!v) return NAN;
  rbm_dense_standardise(m, x, v);
  rbm_rng rng;
  rbm_rng_seed(&rng, rng_seed, 0, 0);
  uint32_t i = (uint32_t)(rbm_rng_next(&rng) % d);
  double fe = free_energy(m, v);
  v[i] = 1 - v[i];
  double fe_flipped = free_energy(m, v);
  free(v);
  return -(double)d * softplus(-(fe_flipped - fe));
}

int rbm_dense_class_probs(const rbm_dense_model *m, const float *x, float *p) {
  uint32_t d = m->layer.n_visible, F = m->layer.n_hidden;
  float *v = malloc(d * sizeof *v), *h = malloc((F ? F : 1) * sizeof *h);
  if (!v || !h) {
    free(v);
    free(h);
    return RBM_NOMEM;
  }
  rbm_dense_standardise(m, x, v);
  if (F) rbm_dense_hidden_rows(m, v, 1, h);
  rbm_head_probs(m->head_W, m->head_b, m->n_classes, m->head_inputs, F ? h : v, p);
  free(v);
  free(h);
  return RBM_OK;
}

int rbm_dense_sample(const rbm_dense_model *m, size_t n, int steps,
                     uint64_t seed, float *out) {
  uint32_t d = m->layer.n_visible, F = m->layer.n_hidden;
  const rbm_units *vis = rbm_units_of(m->layer.visible_type);
  const rbm_units *hid = rbm_units_of(RBM_UNIT_BERNOULLI);
  float *v = malloc(d * sizeof *v), *h = malloc((F ? F : 1) * sizeof *h);
  if (!v || !h) {
    free(v);
    free(h);
    return RBM_NOMEM;
  }
  for (size_t s = 0; s < n; s++) {
    rbm_rng rng;  /* one stream per sample: sample s is the same in any n */
    rbm_rng_seed(&rng, seed, UINT64_MAX - 2, s);
    float *o = out + s * d;
    /* The start: the visible units on their own (their biases). */
    memcpy(o, m->layer.vbias, d * sizeof *o);
    vis->mean(o, 1, d, 1);
    vis->sample(&rng, o, v, d, 1);
    for (int t = 0; t < steps && F; t++) {
      rbm_dense_hidden_rows(m, v, 1, h);
      hid->sample(&rng, h, h, F, 1);
      rbm_dense_visible_rows(m, h, 1, o);
      if (t + 1 < steps) vis->sample(&rng, o, v, d, 1);
    }
    if (m->mean)
      for (uint32_t i = 0; i < d; i++) o[i] = o[i] * m->scale[i] + m->mean[i];
  }
  free(v);
  free(h);
  return RBM_OK;
}

/* ---- the blob ------------------------------------------------------------ */

static size_t header_size(const rbm_dense_model *m) {
  size_t size = 8 + 6 * 4;
  for (uint32_t k = 0; k < m->n_classes; k++) {
    rbm_key key = rbm_keys_get(&m->labels, k);
    size += key_size(&key);
  }
  return size;
}

/* The 4-byte words after the header. */
static size_t payload_words(size_t d, size_t F, size_t C, size_t head_inputs,
                            int standardised) {
  return d + F + d * F + (standardised ? 2 * d : 0) + C + C * head_inputs;
}

int rbm_blob_is_dense(const void *blob, size_t n) {
  return blob && n >= 8 && memcmp(blob, DENSE_MAGIC, 8) == 0;
}

size_t rbm_dense_blob_size(const rbm_dense_model *m) {
  return header_size(m) + 8 +
         4 * payload_words(m->layer.n_visible, m->layer.n_hidden, m->n_classes,
                           m->head_inputs, m->mean != NULL);
}

int rbm_dense_write(const rbm_dense_model *m, rbm_sink sink, void *ctx) {
  size_t d = m->layer.n_visible, F = m->layer.n_hidden;
  writer w = {malloc(header_size(m)), 0};
  if (!w.p) return RBM_NOMEM;
  stream s;
  stream_start(&s, sink, ctx, rbm_dense_blob_size(m));
  put_bytes(&w, DENSE_MAGIC, 8);
  put_u32(&w, DENSE_FORMAT_VERSION);
  put_u32(&w, (uint32_t)m->layer.visible_type);
  put_u32(&w, (uint32_t)d);
  put_u32(&w, (uint32_t)F);
  put_u32(&w, m->n_classes);
  put_u32(&w, m->mean ? 1u : 0u);
  for (uint32_t k = 0; k < m->n_classes; k++) {
    rbm_key key = rbm_keys_get(&m->labels, k);
    put_key(&w, &key);
  }
  stream_put(&s, w.p, w.n);
  free(w.p);
  stream_words(&s, m->layer.vbias, d);
  stream_words(&s, m->layer.hbias, F);
  stream_words(&s, m->layer.W, d * F);
  if (m->mean) {
    stream_words(&s, m->mean, d);
    stream_words(&s, m->scale, d);
  }
  if (m->n_classes) {
    stream_words(&s, m->head_b, m->n_classes);
    stream_words(&s, m->head_W, (size_t)m->n_classes * m->head_inputs);
  }
  return stream_end(&s);
}

#define FAIL(...)                       \
  do {                                  \
    snprintf(err, errlen, __VA_ARGS__); \
    rbm_dense_free(m);                  \
    return rc;                          \
  } while (0)

int rbm_dense_load(const void *blob, size_t n, rbm_dense_model **out,
                   char *err, size_t errlen) {
  reader r = {blob, n, 0};
  rbm_dense_model *m = NULL;
  int rc = RBM_CORRUPT;
  *out = NULL;
  if (!blob || n < 8 + 6 * 4 + 8 || !rbm_blob_is_dense(blob, n))
    FAIL("not an rbm feature model (bad magic or too short)");
  r.at = 8;
  uint32_t version = get_u32(&r);
  if (version < 1 || version > DENSE_FORMAT_VERSION)
    FAIL("feature model format version %u; this build reads version 1 to %d",
         version, DENSE_FORMAT_VERSION);
  r.at = n - 8;
  if (checksum(r.p, n - 8) != get_u64(&r))
    FAIL("model blob is damaged (checksum mismatch)");
  r.at = 12;
  r.n = n - 8;
  rc = RBM_NOMEM;
  if (!(m = calloc(1, sizeof *m))) FAIL("out of memory");
  rc = RBM_CORRUPT;
  uint32_t type = get_u32(&r), d = get_u32(&r), F = get_u32(&r);
  uint32_t C = get_u32(&r), flags = get_u32(&r);
  if ((type != RBM_UNIT_BERNOULLI && type != RBM_UNIT_GAUSSIAN) || d < 1 ||
      flags > 1 || (flags == 1) != (type == RBM_UNIT_GAUSSIAN) || C == 1 ||
      (F == 0 && C == 0) || d > (1u << 28) || F > (1u << 28) ||
      C > RBM_MAX_CLASSES)
    FAIL("feature model header is inconsistent");
  m->layer = (rbm_layer){(rbm_unit_type)type, RBM_UNIT_BERNOULLI, d, 1, F,
                         NULL, NULL, NULL};
  m->n_classes = C;
  m->head_inputs = F ? F : d;
  for (uint32_t k = 0; k < C; k++) {
    rbm_key key;
    if (!get_key(&r, &key)) FAIL("model blob has a bad or cut label");
    int64_t idx = rbm_keys_intern(&m->labels, &key);
    if (idx < 0) {
      rc = RBM_NOMEM;
      FAIL("out of memory");
    }
    if ((uint32_t)idx != k) FAIL("model blob repeats a label");
  }
  /* in 64 bits: a crafted header must not wrap the size on a 32-bit host */
  uint64_t words = (uint64_t)d + F + (uint64_t)d * F + (flags ? 2 * (uint64_t)d : 0) +
                   C + (uint64_t)C * m->head_inputs;
  if ((uint64_t)(r.n - r.at) != 4 * words)
    FAIL("model blob has the wrong size for its dimensions");
  rc = RBM_NOMEM;
  m->layer.vbias = malloc(d * sizeof(float));
  m->layer.hbias = malloc((F ? F : 1) * sizeof(float));
  m->layer.W = rbm_alloc_big((F ? (size_t)d * F : 1) * sizeof(float));
  if (flags) {
    m->mean = malloc(d * sizeof(float));
    m->scale = malloc(d * sizeof(float));
  }
  if (C) {
    m->head_b = malloc(C * sizeof(float));
    m->head_W = malloc((size_t)C * m->head_inputs * sizeof(float));
  }
  if (!m->layer.vbias || !m->layer.hbias || !m->layer.W ||
      (flags && (!m->mean || !m->scale)) || (C && (!m->head_b || !m->head_W)))
    FAIL("out of memory");
  get_words(&r, m->layer.vbias, d);
  get_words(&r, m->layer.hbias, F);
  get_words(&r, m->layer.W, (size_t)d * F);
  if (flags) {
    get_words(&r, m->mean, d);
    get_words(&r, m->scale, d);
    for (uint32_t i = 0; i < d; i++)
      if (!(m->scale[i] > 0) || !isfinite(m->scale[i]) || !isfinite(m->mean[i])) {
        rc = RBM_CORRUPT;
        FAIL("model blob has a bad standardisation");
      }
  }
  if (C) {
    get_words(&r, m->head_b, C);
    get_words(&r, m->head_W, (size_t)C * m->head_inputs);
  }
  *out = m;
  return RBM_OK;
}
