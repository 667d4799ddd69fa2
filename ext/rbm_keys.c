/*
** rbm_keys.c -- interning user and item ids (integers or text) into dense
** 0-based indexes, with an open-addressing hash table.
**
** Text is copied into one growing arena, so interning a key allocates
** nothing per key once the arrays have grown.
*/
#include "rbm_internal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

static uint64_t key_hash(const rbm_key *k) {
  if (!k->text) return mix64((uint64_t)k->i);
  uint64_t h = 0xcbf29ce484222325ULL ^ k->len;  /* FNV-1a, then mixed */
  for (uint32_t i = 0; i < k->len; i++) {
    h ^= (unsigned char)k->text[i];
    h *= 0x100000001b3ULL;
  }
  return mix64(h ^ 0x9e3779b97f4a7c15ULL);
}

uint64_t rbm_key_hash(const rbm_key *k) { return key_hash(k); }

int rbm_key_equal(const rbm_key *a, const rbm_key *b) {
  if (!a->text || !b->text) return !a->text && !b->text && a->i == b->i;
  return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

rbm_key rbm_keys_get(const rbm_keys *keys, uint32_t index) {
  rbm_key k = {0};
  if (keys->tlen[index] == RBM_KEY_INT) {
    k.i = keys->ival[index];
  } else {
    k.text = keys->arena ? keys->arena + keys->ival[index] : "";
    k.len = keys->tlen[index];
  }
  return k;
}

/* What a slot holds for key: the integer itself, or the text's hash. */
static int64_t slot_key(const rbm_key *key) {
  return key->text ? (int64_t)key_hash(key) : key->i;
}

/* Where probing for a slot key starts (a text key's is its hash already). */
static uint32_t home_slot(int64_t skey, int is_text, uint32_t mask) {
  return (uint32_t)(is_text ? (uint64_t)skey : mix64((uint64_t)skey)) & mask;
}

/* Slot holding key, whose slot key is want, or the empty slot where it
** would go. */
static uint32_t find_slot(const rbm_keys *keys, const rbm_key *key,
                          int64_t want) {
  uint32_t mask = keys->nslot - 1, is_text = key->text != NULL;
  uint32_t s = home_slot(want, is_text, mask);
  for (;;) {
    const struct rbm_key_slot *v = &keys->slot[s];
    if (v->index1 == 0) return s;
    if (v->key == want && v->is_text == is_text) {
      if (!is_text) return s;
      rbm_key have = rbm_keys_get(keys, v->index1 - 1);
      if (rbm_key_equal(&have, key)) return s;
    }
    s = (s + 1) & mask;
  }
}


int64_t rbm_keys_find(const rbm_keys *keys, const rbm_key *key) {
  if (!key->text && key->i >= 0 && (uint64_t)key->i < keys->ndense &&
      keys->dense[key->i])
    return (int64_t)keys->dense[key->i] - 1;
  if (keys->nslot == 0) return -1;
  uint32_t v = keys->slot[find_slot(keys, key, slot_key(key))].index1;
  return v ? (int64_t)v - 1 : -1;
}

/* Twice the slots; the keys move by the slot keys they hold (distinct:
** no comparing, no hashing again). */
static int grow_slots(rbm_keys *keys) {
  uint32_t nslot = keys->nslot ? keys->nslot * 2 : 1024, mask = nslot - 1;
  struct rbm_key_slot *slot = calloc(nslot, sizeof *slot);
  if (!slot) return 0;
  for (uint32_t o = 0; o < keys->nslot; o++) {
    const struct rbm_key_slot *v = &keys->slot[o];
    if (!v->index1) continue;
    uint32_t s = home_slot(v->key, v->is_text, mask);
    while (slot[s].index1) s = (s + 1) & mask;
    slot[s] = *v;
  }
  free(keys->slot);
  keys->slot = slot;
  keys->nslot = nslot;
  return 1;
}

static int64_t intern_in_table(rbm_keys *keys, const rbm_key *key);

/* Makes dense cover id, if id is small next to the number of keys: the
** array stays within a few times the hash table's size. */
static void grow_dense(rbm_keys *keys, int64_t id) {
  uint64_t limit = 4 * ((uint64_t)keys->n + 65536);
  if (id < 0 || (uint64_t)id >= limit) return;
  uint64_t n = keys->ndense ? keys->ndense : 65536;
  while (n <= (uint64_t)id) n *= 2;
  uint32_t *dense = realloc(keys->dense, n * sizeof *dense);
  if (!dense) return;  /* only a shortcut: the table still answers */
  memset(dense + keys->ndense, 0, (n - keys->ndense) * sizeof *dense);
  keys->dense = dense;
  keys->ndense = (uint32_t)n;
}

int64_t rbm_keys_intern(rbm_keys *keys, const rbm_key *key) {
  /* Sources are often grouped by user: a repeat of the last key costs one
  ** comparison, no hashing or probing. */
  if (keys->last_index1 && !key->text && keys->last_int == key->i)
    return (int64_t)keys->last_index1 - 1;
  int small = !key->text && key->i >= 0;
  if (small && (uint64_t)key->i < keys->ndense && keys->dense[key->i])
    return (int64_t)keys->dense[key->i] - 1;
  int64_t idx = intern_in_table(keys, key);
  if (idx >= 0 && small) {
    if ((uint64_t)key->i >= keys->ndense) grow_dense(keys, key->i);
    if ((uint64_t)key->i < keys->ndense) keys->dense[key->i] = (uint32_t)idx + 1;
  }
  return idx;
}

/* The key of slot v is the last one interned. */
static void remember_last(rbm_keys *keys, const struct rbm_key_slot *v) {
  keys->last_index1 = v->is_text ? 0 : v->index1;
  keys->last_int = v->key;
}

static int64_t intern_in_table(rbm_keys *keys, const rbm_key *key) {
  if ((uint64_t)(keys->n + 1) * 2 > keys->nslot && !grow_slots(keys)) return -1;
  int64_t want = slot_key(key);
  uint32_t s = find_slot(keys, key, want);
  remember_last(keys, &keys->slot[s]);
  if (keys->slot[s].index1) return (int64_t)keys->slot[s].index1 - 1;
  if (keys->n == UINT32_MAX - 1) return -1;
  if (keys->n == keys->cap) {
    uint32_t cap = keys->cap ? keys->cap * 2 : 1024;
    int64_t *ival = realloc(keys->ival, (size_t)cap * sizeof *ival);
    if (!ival) return -1;
    keys->ival = ival;
    uint32_t *tlen = realloc(keys->tlen, (size_t)cap * sizeof *tlen);
    if (!tlen) return -1;
    keys->tlen = tlen;
    keys->cap = cap;
  }
  uint32_t idx = keys->n;
  if (key->text) {
    if (keys->arena_len + key->len > keys->arena_cap) {
      size_t cap = keys->arena_cap ? keys->arena_cap * 2 : 4096;
      while (cap < keys->arena_len + key->len) cap *= 2;
      char *arena = realloc(keys->arena, cap);
      if (!arena) return -1;
      keys->arena = arena;
      keys->arena_cap = cap;
    }
    if (key->len) memcpy(keys->arena + keys->arena_len, key->text, key->len);
    keys->ival[idx] = (int64_t)keys->arena_len;
    keys->tlen[idx] = key->len;
    keys->arena_len += key->len;
  } else {
    keys->ival[idx] = key->i;
    keys->tlen[idx] = RBM_KEY_INT;
  }
  keys->n++;
  keys->slot[s].key = want;
  keys->slot[s].index1 = idx + 1;
  keys->slot[s].is_text = key->text != NULL;
  remember_last(keys, &keys->slot[s]);
  return idx;
}

void rbm_keys_free(rbm_keys *keys) {
  free(keys->dense);
  free(keys->ival);
  free(keys->tlen);
  free(keys->arena);
  free(keys->slot);
  memset(keys, 0, sizeof *keys);
}
