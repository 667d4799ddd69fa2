/*
** blob.c -- fuzz target: stored model blobs (rating models, the user and
** item pair of 'both', and feature models), loaded the way serving loads
** them and then used.
**
** The input replaces the model of a stored rating model and of a stored
** feature model; its last 8 bytes are overwritten with the right checksum
** first, so the fuzzer gets past the checksum to the structure behind it
** (a damaged checksum is tested in tests/test_engine.c).  Then every
** function that reads the model runs on it.  uid changes with each input,
** so no cached model from an earlier input answers.
**
** Seeds (fuzz/corpus/blob): real blobs of each kind, written by
** fuzz/make_corpus.sh.
*/
#include "fuzz_sql.h"

#include "rbm_blob.h"

static const char *const CALLS[] = {
    "SELECT rbm_debug('m')",
    "SELECT rbm_predict('m', 1, 2), rbm_predict('m', 1, 2, 'like'), rbm_predict('m', 'nobody', 3)",
    "SELECT item, p_like, rating FROM rbm_recommend('m', 1, 3)",
    "SELECT user, item FROM rbm_recommend('m', '[1, 2, 3]', 2)",
    "SELECT rbm_evaluate('m', 'r', 'u', 'i', 'x')",
    "SELECT rbm_debug('f')",
    "SELECT rbm_transform('f', '[0.5, 0.5, 0.5, 0.5]'), rbm_free_energy('f', '[0, 1, 0, 1]')",
    "SELECT rbm_reconstruct('f', '[0.5, 0.5, 0.5, 0.5]')",
    "SELECT rbm_classify('f', '[0, 1, 0, 1]'), rbm_class_probs('f', '[1, 0, 1, 0]')",
    "SELECT * FROM rbm_sample('f', 2, 3, 1)",
    "SELECT rbm_evaluate('f', 't', 'v')",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  fuzz_open(
      "CREATE TABLE r(u INTEGER, i INTEGER, x REAL);"
      "WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < 60)"
      "INSERT INTO r SELECT k % 6, k % 5, 1 + k % 5 FROM s;"
      "SELECT rbm_train('m', 'r', 'u', 'i', 'x', '{\"hidden\": 2, \"epochs\": 1, \"orientation\": \"user\"}');"
      "CREATE TABLE t(v TEXT, label INTEGER);"
      "WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < 12)"
      "INSERT INTO t SELECT json_array(k % 2, (k / 2) % 2, 0.5, 0.25), k % 2 FROM s;"
      "SELECT rbm_fit('f', 't', 'v', '{\"hidden\": 2, \"epochs\": 1, \"label\": \"label\"}');");
  unsigned char *blob = malloc(n ? n : 1);
  if (!blob) return 0;
  memcpy(blob, data, n);
  if (n >= 16) {
    uint64_t h = checksum(blob, n - 8);
    for (int b = 0; b < 8; b++) blob[n - 8 + b] = (unsigned char)(h >> (8 * b));
  }
  fuzz_run("UPDATE rbm_models SET model = ?1, uid = uid + 1", blob, n, 1);
  free(blob);
  for (size_t c = 0; c < sizeof CALLS / sizeof *CALLS; c++) fuzz_run(CALLS[c], NULL, SIZE_MAX, 0);
  return 0;
}
