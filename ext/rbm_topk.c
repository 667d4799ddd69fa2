/*
** rbm_topk.c -- the best k of a stream of entries: rbm_recommend's items
** and rbm_nearest's rows.  An entry starts with an rbm_ranked (an id and a
** score); the better of two has the higher score, then the lower id, so a
** list does not depend on the order the entries came in.  The k kept sit
** in a heap whose root is the worst of them, so most entries cost one
** comparison with the root (rbm_ranked_below) and no call.
*/
#include "rbm_internal.h"

#include <stddef.h>
#include <string.h>

_Static_assert(offsetof(rbm_recommendation, item) == offsetof(rbm_ranked, id) &&
                   offsetof(rbm_recommendation, p_like) == offsetof(rbm_ranked, score),
               "rbm_recommendation starts with an rbm_ranked");
_Static_assert(offsetof(rbm_neighbour, row) == offsetof(rbm_ranked, id) &&
                   offsetof(rbm_neighbour, similarity) == offsetof(rbm_ranked, score),
               "rbm_neighbour starts with an rbm_ranked");
_Static_assert(sizeof(rbm_recommendation) <= RBM_TOPK_MAX_ENTRY &&
                   sizeof(rbm_neighbour) <= RBM_TOPK_MAX_ENTRY,
               "entries fit the swap buffer");

static void swap(unsigned char *a, unsigned char *b, size_t size) {
  unsigned char t[RBM_TOPK_MAX_ENTRY];
  memcpy(t, a, size);
  memcpy(a, b, size);
  memcpy(b, t, size);
}

static void sift_down(unsigned char *h, size_t size, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, s = i;
    if (l < n && rbm_ranked_below(h + l * size, h + s * size)) s = l;
    if (r < n && rbm_ranked_below(h + r * size, h + s * size)) s = r;
    if (s == i) return;
    swap(h + i * size, h + s * size, size);
    i = s;
  }
}

void rbm_topk_offer(void *heap, size_t size, size_t *n, size_t k, const void *entry) {
  unsigned char *h = heap;
  if (*n < k) {  /* room: in at the bottom, sifted up */
    size_t i = (*n)++;
    memcpy(h + i * size, entry, size);
    while (i > 0 && rbm_ranked_below(h + i * size, h + (i - 1) / 2 * size)) {
      swap(h + i * size, h + (i - 1) / 2 * size, size);
      i = (i - 1) / 2;
    }
  } else if (k && rbm_ranked_below(h, entry)) {  /* better than the worst */
    memcpy(h, entry, size);
    sift_down(h, size, k, 0);
  }
}

void rbm_topk_sort(void *heap, size_t size, size_t n) {
  unsigned char *h = heap;
  for (size_t end = n; end > 1; end--) {
    swap(h, h + (end - 1) * size, size);
    sift_down(h, size, end - 1, 0);
  }
}
