/*
** options.c -- fuzz target: the JSON options of every function that takes
** them (rbm_train, rbm_evaluate for rating and feature models, rbm_fit).
** The sources are empty tables, so a parsed and checked set of options
** ends in "no rows" rather than a training: the target is the parser and
** the checks, not the trainer.
*/
#include "fuzz_sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  fuzz_open("CREATE TABLE r(u INTEGER, i INTEGER, x REAL);"
            "CREATE TABLE f(a REAL, b REAL, label INTEGER);");
  fuzz_run("SELECT rbm_train('m', 'r', 'u', 'i', 'x', ?1)", data, n, 0);
  fuzz_run("SELECT rbm_train('m', 'r', 'u', 'i', NULL, ?1)", data, n, 0);
  fuzz_run("SELECT rbm_evaluate('m', 'r', 'u', 'i', 'x', ?1)", data, n, 0);
  fuzz_run("SELECT rbm_fit('f', 'f', NULL, ?1)", data, n, 0);
  fuzz_run("SELECT rbm_evaluate('f', 'f', NULL, ?1)", data, n, 0);
  return 0;
}
