/*
** vectors.c -- fuzz target: the vector parsers.  The input goes to every
** feature function as a BLOB (float32) and as text (a JSON array), to the
** vector helpers, and through json_each to rbm_vector_agg as (index,
** value) pairs.  Two small models, Bernoulli with a head and Gaussian,
** are trained once at start.
*/
#include "fuzz_sql.h"

static const char *const CALLS[] = {
    "SELECT rbm_transform('fb', ?1), rbm_reconstruct('fb', ?1), rbm_free_energy('fb', ?1)",
    "SELECT rbm_classify('fb', ?1), rbm_class_probs('fb', ?1)",
    "SELECT rbm_transform('fg', ?1), rbm_reconstruct('fg', ?1), rbm_free_energy('fg', ?1)",
    "SELECT rbm_vector_to_json(?1), rbm_vector_u8(?1, 0.5), rbm_vector_u8(?1)",
    "SELECT rbm_vector_agg(key, value) FROM json_each(?1)",
    "SELECT rbm_vector_agg(value ->> 0, value ->> 1, 6) FROM json_each(?1)",
    "SELECT rbm_vector_agg(key, value, 4) FROM json_each(?1) GROUP BY key % 2",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  fuzz_open(
      "CREATE TABLE t(v TEXT, label TEXT);"
      "WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < 24)"
      "INSERT INTO t SELECT json_array(value % 2, (value / 2) % 2, 0.5, 0.25),"
      "                     char(97 + value % 3) FROM s;"
      "SELECT rbm_fit('fb', 't', 'v', '{\"hidden\": 3, \"epochs\": 2, \"label\": \"label\"}');"
      "SELECT rbm_fit('fg', 't', 'v', '{\"hidden\": 3, \"epochs\": 2, \"visible\": \"gaussian\"}');");
  for (size_t c = 0; c < sizeof CALLS / sizeof *CALLS; c++) {
    fuzz_run(CALLS[c], data, n, 1);
    fuzz_run(CALLS[c], data, n, 0);
  }
  return 0;
}
