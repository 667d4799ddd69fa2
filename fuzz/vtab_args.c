/*
** vtab_args.c -- fuzz target: the virtual table's arguments,
** CREATE VIRTUAL TABLE v USING rbm(<input>), key=value pairs as SQLite's
** parser hands them over.  The ratings table is empty, so arguments that
** parse and check end in "no rows"; a table that is created is dropped.
*/
#include "fuzz_sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  fuzz_open("CREATE TABLE r(u INTEGER, i INTEGER, x REAL);");
  fuzz_run_spliced("CREATE VIRTUAL TABLE v USING rbm(%s)", data, n);
  fuzz_run("SELECT * FROM v LIMIT 3", NULL, SIZE_MAX, 0);
  fuzz_run("DROP TABLE IF EXISTS v", NULL, SIZE_MAX, 0);
  return 0;
}
