/*
** schedule.c -- fuzz target: the cd_k schedule, a JSON array of
** [epoch, k] steps (or a number), inside otherwise valid options.  The
** source is empty: the schedule is parsed and checked, nothing trains.
*/
#include "fuzz_sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  fuzz_open("CREATE TABLE r(u INTEGER, i INTEGER, x REAL);"
            "CREATE TABLE f(a REAL, b REAL, label INTEGER);");
  fuzz_run_spliced("SELECT rbm_train('m', 'r', 'u', 'i', 'x', "
                   "'{\"epochs\": 30, \"cd_k\": %q}')", data, n);
  fuzz_run_spliced("SELECT rbm_fit('f', 'f', NULL, '{\"epochs\": 30, \"cd_k\": %q}')",
                   data, n);
  return 0;
}
