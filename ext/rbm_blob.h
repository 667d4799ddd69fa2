/*
** rbm_blob.h -- the encoding every model blob shares: little-endian
** numbers, arrays of 4-byte words, ids, and a 64-bit checksum kept as the
** bytes stream out to a sink (so a large model is never held whole).
** Included by each model family's file; nothing here is exported.
*/
#ifndef RBM_BLOB_H
#define RBM_BLOB_H

#include "rbm_internal.h"

#include <stdlib.h>
#include <string.h>

static inline int host_is_little_endian(void) {
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 1;
}

typedef struct writer {
  unsigned char *p;
  size_t n;
} writer;

static inline void put_bytes(writer *w, const void *src, size_t n) {
  memcpy(w->p + w->n, src, n);
  w->n += n;
}
static inline void put_u64(writer *w, uint64_t v) {
  for (int b = 0; b < 8; b++) w->p[w->n++] = (unsigned char)(v >> (8 * b));
}
static inline void put_u32(writer *w, uint32_t v) {
  for (int b = 0; b < 4; b++) w->p[w->n++] = (unsigned char)(v >> (8 * b));
}
static inline void put_f64(writer *w, double d) {
  uint64_t v;
  memcpy(&v, &d, 8);
  put_u64(w, v);
}
typedef struct reader {
  const unsigned char *p;
  size_t n, at;
} reader;

static inline int has(const reader *r, size_t n) { return r->n - r->at >= n; }
static inline uint64_t get_u64(reader *r) {
  uint64_t v = 0;
  for (int b = 0; b < 8; b++) v |= (uint64_t)r->p[r->at++] << (8 * b);
  return v;
}
static inline uint32_t get_u32(reader *r) {
  uint32_t v = 0;
  for (int b = 0; b < 4; b++) v |= (uint32_t)r->p[r->at++] << (8 * b);
  return v;
}
static inline double get_f64(reader *r) {
  uint64_t v = get_u64(r);
  double d;
  memcpy(&d, &v, 8);
  return d;
}
static inline void get_words(reader *r, void *dst, size_t count) {
  if (host_is_little_endian()) {
    memcpy(dst, r->p + r->at, count * 4);
    r->at += count * 4;
    return;
  }
  uint32_t *d = dst;
  for (size_t i = 0; i < count; i++) d[i] = get_u32(r);
}

/* A fast 64-bit checksum: 8-byte little-endian words, multiply-xor mixed,
** the last n % 8 bytes one at a time.  Kept as a running state, so a blob
** written in pieces is checked as it goes out. */
typedef struct checksum_state {
  uint64_t h;
  unsigned char carry[8];  /* the start of a word split across pieces */
  size_t carried;
} checksum_state;

static inline void checksum_start(checksum_state *c, size_t n) {
  c->h = 0x243f6a8885a308d3ULL ^ n;
  c->carried = 0;
}

static inline uint64_t checksum_word(uint64_t h, const unsigned char *p) {
  uint64_t v = 0;
  if (host_is_little_endian()) {
    memcpy(&v, p, 8);
  } else {
    for (int b = 0; b < 8; b++) v |= (uint64_t)p[b] << (8 * b);
  }
  h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
  return h ^ (h >> 29);
}

static inline void checksum_add(checksum_state *c, const unsigned char *p, size_t n) {
  if (c->carried) {
    size_t take = 8 - c->carried < n ? 8 - c->carried : n;
    memcpy(c->carry + c->carried, p, take);
    c->carried += take;
    p += take;
    n -= take;
    if (c->carried < 8) return;
    c->h = checksum_word(c->h, c->carry);
    c->carried = 0;
  }
  for (; n >= 8; p += 8, n -= 8) c->h = checksum_word(c->h, p);
  memcpy(c->carry, p, n);
  c->carried = n;
}

static inline uint64_t checksum_end(checksum_state *c) {
  uint64_t h = c->h;
  for (size_t i = 0; i < c->carried; i++) h = (h ^ c->carry[i]) * 0x100000001b3ULL;
  return h ^ (h >> 32);
}

static inline uint64_t checksum(const unsigned char *p, size_t n) {
  checksum_state c;
  checksum_start(&c, n);
  checksum_add(&c, p, n);
  return checksum_end(&c);
}

/* Bytes on their way to a sink, checksummed as they pass. */
typedef struct stream {
  rbm_sink sink;
  void *ctx;
  checksum_state sum;
  int failed;
} stream;

static inline void stream_start(stream *s, rbm_sink sink, void *ctx, size_t size) {
  s->sink = sink;
  s->ctx = ctx;
  s->failed = 0;
  checksum_start(&s->sum, size - 8);  /* all but the checksum itself */
}

static inline void stream_put(stream *s, const void *p, size_t n) {
  if (s->failed || n == 0) return;
  checksum_add(&s->sum, p, n);
  if (s->sink(s->ctx, p, n) != 0) s->failed = 1;
}

/* Arrays of 4-byte words, little-endian: as they are on such hosts. */
static inline void stream_words(stream *s, const void *src, size_t count) {
  if (host_is_little_endian()) {
    stream_put(s, src, count * 4);
    return;
  }
  unsigned char buf[4096];
  const uint32_t *w = src;
  for (size_t i = 0; i < count;) {
    size_t k = 0;
    for (; k < sizeof buf / 4 && i < count; k++, i++)
      for (int b = 0; b < 4; b++) buf[4 * k + b] = (unsigned char)(w[i] >> (8 * b));
    stream_put(s, buf, 4 * k);
  }
}

/* The checksum, which is not part of what it sums. */
static inline int stream_end(stream *s) {
  unsigned char tail[8];
  uint64_t h = checksum_end(&s->sum);
  for (int b = 0; b < 8; b++) tail[b] = (unsigned char)(h >> (8 * b));
  if (!s->failed && s->sink(s->ctx, tail, 8) != 0) s->failed = 1;
  return s->failed ? RBM_ERROR : RBM_OK;
}

/* A sink that fills a buffer of the blob's size. */
static inline int to_buffer(void *ctx, const void *p, size_t n) {
  put_bytes(ctx, p, n);
  return 0;
}

/* An id in a blob: tag 0 and a u64 (integer), or tag 1, a u32 length and
** the bytes (text). */
static inline size_t key_size(const rbm_key *k) {
  return 1 + (k->text ? 4 + (size_t)k->len : 8);
}

static inline void put_key(writer *w, const rbm_key *k) {
  if (k->text) {
    w->p[w->n++] = 1;
    put_u32(w, k->len);
    put_bytes(w, k->text, k->len);
  } else {
    w->p[w->n++] = 0;
    put_u64(w, (uint64_t)k->i);
  }
}

/* The next id (its text points into the blob); 0 if it is cut short or
** has a bad tag. */
static inline int get_key(reader *r, rbm_key *key) {
  memset(key, 0, sizeof *key);
  if (!has(r, 1)) return 0;
  unsigned char tag = r->p[r->at++];
  if (tag == 0 && has(r, 8)) {
    key->i = (int64_t)get_u64(r);
    return 1;
  }
  if (tag == 1 && has(r, 4)) {
    key->len = get_u32(r);
    if (!has(r, key->len)) return 0;
    key->text = (const char *)r->p + r->at;
    r->at += key->len;
    return 1;
  }
  return 0;
}

#endif /* RBM_BLOB_H */
