/*
** rbm_model.c -- the model's memory and its blob.
**
** Blob layout (every number little-endian, whatever the host):
**
**   "RBMMODEL"                         8-byte magic
**   u32 format_version                 RBM_FORMAT_VERSION
**   u32 visible                        0 softmax, 1 binary, 2 implicit
**   u32 n_items, n_units, n_hidden
**   u32 orientation                    0 user-based, 1 item-based (format 2;
**                                      format 1 blobs hold 0 here)
**   f64 like_threshold
**   f64 unit_value[n_units]
**   n_items item ids, each u8 tag then  0: i64 integer | 1: u32 len, bytes
**   u32 count[n_items * n_units]       training ratings per (item, unit)
**   f32 vbias[n_items * n_units]
**   f32 hbias[n_hidden]
**   f32 W[n_items * n_units * n_hidden]
**   u64 checksum                       of every byte before it
**
** A blob that fails any check is RBM_CORRUPT with a message that says which.
*/
#include "rbm_internal.h"
#include "rbm_blob.h"
#include "rbm_math.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#define HUGE_PAGE (2u << 20)

void *rbm_alloc_big(size_t bytes) {
  if (bytes < 4 * HUGE_PAGE) return calloc(1, bytes ? bytes : 1);
  void *p = NULL;
  size_t rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
  if (posix_memalign(&p, HUGE_PAGE, rounded) != 0) return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  madvise(p, rounded, MADV_HUGEPAGE);  /* a hint: fine if refused */
#endif
  memset(p, 0, bytes);
  return p;
}

static const char MAGIC[8] = {'R', 'B', 'M', 'M', 'O', 'D', 'E', 'L'};

void rbm_model_free(rbm_model *m) {
  if (!m) return;
  rbm_keys_free(&m->items);
  free(m->layer.W);
  free(m->layer.vbias);
  free(m->layer.hbias);
  free(m->count);
  free(m->prior);
  free(m);
}

void rbm_model_shape(rbm_model *m, uint32_t n_items, uint32_t n_units,
                     uint32_t n_hidden) {
  m->n_items = n_items;
  m->n_units = n_units;
  m->layer.visible_type = RBM_UNIT_SOFTMAX;
  m->layer.hidden_type = RBM_UNIT_BERNOULLI;
  m->layer.n_visible = n_items * n_units;  /* checked where it could wrap */
  m->layer.group = n_units;
  m->layer.n_hidden = n_hidden;
}

int rbm_unit_of_value(const rbm_model *m, double value) {
  if (m->visible == RBM_VISIBLE_IMPLICIT) return 1;  /* any row: interacted */
  if (m->visible == RBM_VISIBLE_BINARY) return value >= m->like_threshold;
  int best = 0;
  for (uint32_t k = 1; k < m->n_units; k++)
    if (fabs(value - m->unit_value[k]) < fabs(value - m->unit_value[best]))
      best = (int)k;
  return best;
}

/* ---- save ----------------------------------------------------------- */

/* The header: everything before the counts. */
static size_t header_size(const rbm_model *m) {
  size_t size = 8 + 6 * 4 + 8 + 8 * (size_t)m->n_units;
  for (uint32_t i = 0; i < m->n_items; i++) {
    rbm_key k = rbm_keys_get(&m->items, i);
    size += key_size(&k);
  }
  return size;
}

size_t rbm_model_blob_size(const rbm_model *m) {
  size_t nv = (size_t)m->n_items * m->n_units;
  return header_size(m) + nv * 4 * 2 + (size_t)m->layer.n_hidden * 4 +
         nv * m->layer.n_hidden * 4 + 8;
}

/* The model into s: the header built here, the arrays straight from the
** model (a large model's weights are never copied). */
static int model_into(const rbm_model *m, stream *s) {
  size_t nv = (size_t)m->n_items * m->n_units;
  writer w = {malloc(header_size(m)), 0};
  if (!w.p) return RBM_NOMEM;
  put_bytes(&w, MAGIC, 8);
  put_u32(&w, RBM_FORMAT_VERSION);
  put_u32(&w, (uint32_t)m->visible);
  put_u32(&w, m->n_items);
  put_u32(&w, m->n_units);
  put_u32(&w, m->layer.n_hidden);
  put_u32(&w, (uint32_t)m->orientation);
  put_f64(&w, m->like_threshold);
  for (uint32_t k = 0; k < m->n_units; k++) put_f64(&w, m->unit_value[k]);
  for (uint32_t i = 0; i < m->n_items; i++) {
    rbm_key k = rbm_keys_get(&m->items, i);
    put_key(&w, &k);
  }
  stream_put(s, w.p, w.n);
  free(w.p);
  stream_words(s, m->count, nv);
  stream_words(s, m->layer.vbias, nv);
  stream_words(s, m->layer.hbias, m->layer.n_hidden);
  stream_words(s, m->layer.W, nv * m->layer.n_hidden);
  return RBM_OK;
}

int rbm_model_write(const rbm_model *m, rbm_sink sink, void *ctx) {
  stream s;
  stream_start(&s, sink, ctx, rbm_model_blob_size(m));
  int rc = model_into(m, &s);
  return rc == RBM_OK ? stream_end(&s) : rc;
}

int rbm_model_save(const rbm_model *m, unsigned char **blob, size_t *n) {
  writer w = {malloc(rbm_model_blob_size(m)), 0};
  if (!w.p) return RBM_NOMEM;
  int rc = rbm_model_write(m, to_buffer, &w);
  if (rc != RBM_OK) {
    free(w.p);
    return rc;
  }
  *blob = w.p;
  *n = w.n;
  return RBM_OK;
}

/* ---- load ----------------------------------------------------------- */

#define FAIL(...)                              \
  do {                                         \
    snprintf(err, errlen, __VA_ARGS__);        \
    rbm_model_free(m);                         \
    return rc;                                 \
  } while (0)

int rbm_model_load(const void *blob, size_t n, rbm_model **out, char *err,
                   size_t errlen) {
  reader r = {blob, n, 0};
  rbm_model *m = NULL;
  int rc = RBM_CORRUPT;
  *out = NULL;
  if (!blob || n < 8 + 6 * 4 + 8 + 8 || memcmp(blob, MAGIC, 8) != 0)
    FAIL("not an rbm model (bad magic or too short)");
  r.at = 8;
  uint32_t version = get_u32(&r);
  if (version < 1 || version > RBM_FORMAT_VERSION)
    FAIL("model format version %u; this build reads versions 1 to %d",
         version, RBM_FORMAT_VERSION);
  r.at = n - 8;
  uint64_t stored = get_u64(&r);
  if (checksum(r.p, n - 8) != stored)
    FAIL("model blob is damaged (checksum mismatch)");
  r.at = 12;
  r.n = n - 8;  /* the checksum is not payload */

  rc = RBM_NOMEM;
  m = calloc(1, sizeof *m);
  if (!m) FAIL("out of memory");
  rc = RBM_CORRUPT;
  m->visible = (rbm_visible)get_u32(&r);
  uint32_t n_items = get_u32(&r), n_units = get_u32(&r);
  rbm_model_shape(m, n_items, n_units, get_u32(&r));
  m->orientation = (rbm_orientation)get_u32(&r);
  m->like_threshold = get_f64(&r);
  if ((m->visible != RBM_VISIBLE_SOFTMAX && m->visible != RBM_VISIBLE_BINARY &&
       m->visible != RBM_VISIBLE_IMPLICIT) ||
      (m->orientation != RBM_ORIENT_USER && m->orientation != RBM_ORIENT_ITEM) ||
      m->n_units < 2 || m->n_units > RBM_MAX_VALUES || m->layer.n_hidden < 1 ||
      m->n_items < 1)
    FAIL("model header is inconsistent");
  size_t nv = (size_t)m->n_items * m->n_units;
  /* Every item id takes at least 5 bytes: check before allocating. */
  size_t floor = 8 * (size_t)m->n_units + 5 * (size_t)m->n_items + nv * 8 +
                 (size_t)m->layer.n_hidden * 4 + nv * m->layer.n_hidden * 4;
  if (nv / m->n_units != m->n_items || !has(&r, floor))
    FAIL("model blob is truncated");
  for (uint32_t k = 0; k < m->n_units; k++) m->unit_value[k] = get_f64(&r);

  for (uint32_t i = 0; i < m->n_items; i++) {
    rbm_key key;
    if (!get_key(&r, &key)) FAIL("model blob has a bad or cut item id");
    int64_t idx = rbm_keys_intern(&m->items, &key);
    if (idx < 0) {
      rc = RBM_NOMEM;
      FAIL("out of memory");
    }
    if ((uint32_t)idx != i) FAIL("model blob repeats an item id");
  }
  if (!has(&r, nv * 8 + (size_t)m->layer.n_hidden * 4 + nv * m->layer.n_hidden * 4) ||
      r.n - r.at != nv * 8 + (size_t)m->layer.n_hidden * 4 + nv * m->layer.n_hidden * 4)
    FAIL("model blob has the wrong size for its dimensions");
  m->count = malloc(nv * sizeof *m->count);
  m->layer.vbias = malloc(nv * sizeof *m->layer.vbias);
  m->layer.hbias = malloc((size_t)m->layer.n_hidden * sizeof *m->layer.hbias);
  m->layer.W = rbm_alloc_big(nv * m->layer.n_hidden * sizeof *m->layer.W);
  if (!m->count || !m->layer.vbias || !m->layer.hbias || !m->layer.W) {
    rc = RBM_NOMEM;
    FAIL("out of memory loading a model of %zu weights", nv * m->layer.n_hidden);
  }
  get_words(&r, m->count, nv);
  get_words(&r, m->layer.vbias, nv);
  get_words(&r, m->layer.hbias, m->layer.n_hidden);
  get_words(&r, m->layer.W, nv * m->layer.n_hidden);
  if (rbm_model_derive_prior(m) != RBM_OK) {
    rc = RBM_NOMEM;
    FAIL("out of memory");
  }
  *out = m;
  return RBM_OK;
}

/* Item priors: each item's training distribution over units, smoothed
** towards the global distribution with PRIOR_WEIGHT pseudo-ratings. */
#define PRIOR_WEIGHT 2.0
void rbm_smooth_counts(size_t K, const double *count, double total,
                       const double *global, float *out) {
  for (size_t k = 0; k < K; k++)
    out[k] = (float)((count[k] + PRIOR_WEIGHT * global[k]) / (total + PRIOR_WEIGHT));
}

int rbm_model_derive_prior(rbm_model *m) {
  uint32_t K = m->n_units;
  free(m->prior);
  m->prior = malloc(((size_t)m->n_items + 1) * K * sizeof *m->prior);
  if (!m->prior) return RBM_NOMEM;
  double global[RBM_MAX_VALUES] = {0}, total = 0;
  for (size_t i = 0; i < m->n_items; i++)
    for (uint32_t k = 0; k < K; k++) global[k] += m->count[i * K + k];
  for (uint32_t k = 0; k < K; k++) total += global[k];
  for (uint32_t k = 0; k < K; k++)
    global[k] = total > 0 ? global[k] / total : 1.0 / K;
  for (size_t i = 0; i < m->n_items; i++) {
    double count[RBM_MAX_VALUES], n = 0;
    for (uint32_t k = 0; k < K; k++) n += count[k] = m->count[i * K + k];
    rbm_smooth_counts(K, count, n, global, m->prior + i * K);
  }
  for (uint32_t k = 0; k < K; k++)
    m->prior[(size_t)m->n_items * K + k] = (float)global[k];
  return RBM_OK;
}

/* ---- pairs (orientation 'both') ------------------------------------- */

/* A user-based and an item-based model of the same ratings, with the
** weights that blend their answers:
**   8 bytes "RBMPAIR\0", u32 format_version, f64 w_rating, f64 w_like,
**   u64 length + a model blob (user-based), u64 length + a model blob
**   (item-based), u64 checksum of every byte before it. */
static const char PAIR_MAGIC[8] = {'R', 'B', 'M', 'P', 'A', 'I', 'R', 0};

int rbm_blob_is_pair(const void *blob, size_t n) {
  return blob && n >= 8 && memcmp(blob, PAIR_MAGIC, 8) == 0;
}

size_t rbm_pair_blob_size(const rbm_pair *p) {
  return 8 + 4 + 16 + 8 + rbm_model_blob_size(p->user_half) + 8 +
         rbm_model_blob_size(p->item_half) + 8;
}

/* A half's blob, into the pair's stream (and its checksum). */
static int into_stream(void *ctx, const void *bytes, size_t n) {
  stream_put(ctx, bytes, n);
  return ((stream *)ctx)->failed;
}

int rbm_pair_write(const rbm_pair *p, rbm_sink sink, void *ctx) {
  unsigned char head[8 + 4 + 16];
  writer w = {head, 0};
  stream s;
  stream_start(&s, sink, ctx, rbm_pair_blob_size(p));
  put_bytes(&w, PAIR_MAGIC, 8);
  put_u32(&w, RBM_FORMAT_VERSION);
  put_f64(&w, p->w_rating);
  put_f64(&w, p->w_like);
  stream_put(&s, head, w.n);
  const rbm_model *half[2] = {p->user_half, p->item_half};
  for (int h = 0; h < 2; h++) {
    unsigned char len[8];
    writer lw = {len, 0};
    put_u64(&lw, rbm_model_blob_size(half[h]));
    stream_put(&s, len, 8);
    int rc = rbm_model_write(half[h], into_stream, &s);
    if (rc != RBM_OK) return rc;
  }
  return stream_end(&s);
}

int rbm_pair_load(const void *blob, size_t n, rbm_pair *p, char *err,
                  size_t errlen) {
  reader r = {blob, n, 0};
  memset(p, 0, sizeof *p);
  if (!rbm_blob_is_pair(blob, n) || n < 8 + 4 + 16 + 16 + 8) {
    snprintf(err, errlen, "not an rbm model pair (bad magic or too short)");
    return RBM_CORRUPT;
  }
  r.at = n - 8;
  if (checksum(r.p, n - 8) != get_u64(&r)) {
    snprintf(err, errlen, "model blob is damaged (checksum mismatch)");
    return RBM_CORRUPT;
  }
  r.at = 8;
  r.n = n - 8;
  uint32_t version = get_u32(&r);
  if (version < 2 || version > RBM_FORMAT_VERSION) {
    snprintf(err, errlen, "model format version %u; this build reads pair versions 2 to %d",
             version, RBM_FORMAT_VERSION);
    return RBM_CORRUPT;
  }
  p->w_rating = get_f64(&r);
  p->w_like = get_f64(&r);
  rbm_model **half[2] = {&p->user_half, &p->item_half};
  for (int h = 0; h < 2; h++) {
    uint64_t len = has(&r, 8) ? get_u64(&r) : UINT64_MAX;
    if (len == UINT64_MAX || !has(&r, len)) {
      rbm_pair_free(p);
      snprintf(err, errlen, "model blob is truncated");
      return RBM_CORRUPT;
    }
    int rc = rbm_model_load(r.p + r.at, (size_t)len, half[h], err, errlen);
    if (rc != RBM_OK) {
      rbm_pair_free(p);
      return rc;
    }
    r.at += (size_t)len;
  }
  if (p->user_half->orientation != RBM_ORIENT_USER ||
      p->item_half->orientation != RBM_ORIENT_ITEM) {
    rbm_pair_free(p);
    snprintf(err, errlen, "model pair's halves are not user- and item-based");
    return RBM_CORRUPT;
  }
  return RBM_OK;
}

void rbm_pair_free(rbm_pair *p) {
  rbm_model_free(p->user_half);
  rbm_model_free(p->item_half);
  memset(p, 0, sizeof *p);
}
