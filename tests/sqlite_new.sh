#!/bin/sh
# rbm in a newer SQLite than Debian 12's 3.40: `make sqlite-new` builds the
# sqlite-autoconf release that npm's sqlite3 package carries (library and
# its own shell, with SQLITE_STRICT_SUBTYPE=1) and rbm against its headers;
# SKIPPED where npm cannot fetch it.  Then:
#
# 1. Every tests/sql/*.sql golden script, through the newer shell, with
#    dist/rbm.so as `make` builds it (against 3.40's headers: it finds the
#    newer SQLite's features at run time).  Its output must equal the
#    .expected file once these differences of the shells, not of rbm, are
#    taken out of both:
#    - the newer shell prints a statement's runtime error as "Error near
#      line N:", 3.40's as "Runtime error near line N:";
#    - 3.40's appends the error code when it is not SQLITE_ERROR, as in
#      "... (11)"; the newer one does not.  The codes are checked by the
#      3.40 run (run.sh).
#    The newer shell also turns SQLITE_DBCONFIG_DEFENSIVE on and
#    trusted_schema off, which every script runs under, but damaged.sql
#    damages shadow tables on purpose, which defensive mode forbids: it
#    runs with -unsafe-testing (3.40's defaults: defensive off, trusted
#    schema on).
#    With the strict build, a function that sets a result subtype without
#    declaring SQLITE_RESULT_SUBTYPE fails (tests/sql/subtypes.sql checks
#    every one).
# 2. Interrupts (tests/interrupt.sh) in each pairing of SQLite (3.40, the
#    newer one) and extension (built against 3.40's headers, against the
#    newer ones): sqlite3_is_interrupted() only for the newer build in the
#    newer SQLite, the probe statement in the three others.
# 3. tests/sqlite_vec.sh in the newer SQLite.
# 4. tests/python.sh with Python's sqlite3 module on the newer library.
cd "$(dirname "$0")/.." || exit 1
new=dist/sqlite-new
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! ${MAKE:-make} -s sqlite-new > "$tmp/build" 2>&1; then
  if grep -q '^sqlite-new: npm could not fetch' "$tmp/build"; then
    echo "SKIPPED: $(grep '^sqlite-new: npm could not fetch' "$tmp/build" | head -1 | sed 's/^sqlite-new: //')"
    exit 0
  fi
  tail -20 "$tmp/build"
  echo "not ok - make sqlite-new"
  exit 1
fi

status=0
say() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2"; status=1; fi; }

version=$("$new/sqlite3" :memory: "SELECT sqlite_version();")
echo "# SQLite $version ($("$new/sqlite3" :memory: "SELECT substr(sqlite_source_id(), 1, 32);"))"
# The strict build is strict: a function that sets a subtype without
# declaring it fails there (3.52 does not list the option in
# compile_options, so a two-function extension shows it).
cat > "$tmp/undeclared.c" <<'C'
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1
static void f(sqlite3_context *c, int n, sqlite3_value **v) {
  (void)n; (void)v;
  sqlite3_result_int(c, 1);
  sqlite3_result_subtype(c, 74);
}
int sqlite3_undeclared_init(sqlite3 *db, char **e, const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api); (void)e;
  int rc = sqlite3_create_function(db, "undeclared", 0, SQLITE_UTF8, 0, f, 0, 0);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(db, "declared", 0, SQLITE_UTF8 | SQLITE_RESULT_SUBTYPE, 0, f, 0, 0);
  return rc;
}
C
${CC:-cc} -shared -fPIC -I"$new/include" -o "$tmp/undeclared.so" "$tmp/undeclared.c"
strict=$("$new/sqlite3" :memory: ".load $tmp/undeclared" "SELECT declared();" \
         "SELECT undeclared();" 2> "$tmp/strict.err")
[ "$strict" = 1 ] && grep -q 'misuse of sqlite3_result_subtype() by undeclared()' "$tmp/strict.err"
say $? "the newer SQLite is built with SQLITE_STRICT_SUBTYPE=1: $(cat "$tmp/strict.err")"

# 1. The golden scripts.
failed=""
n=0
for script in tests/sql/*.sql; do
  name=$(basename "$script" .sql)
  flags=""
  [ "$name" = damaged ] && flags="-unsafe-testing"
  LD_PRELOAD="${SQLITE_PRELOAD:-}" "$new/sqlite3" $flags -batch "$tmp/$name.db" \
    < "$script" 2>&1 | sed 's/^Error near line \([0-9]*\): /Runtime error near line \1: /' \
    > "$tmp/$name.out"
  sed 's/^\(Runtime error near line [0-9]*: .*\) ([0-9]*)$/\1/' "tests/sql/$name.expected" \
    > "$tmp/$name.expected"
  n=$((n + 1))
  if ! diff -u "$tmp/$name.expected" "$tmp/$name.out" > "$tmp/$name.diff"; then
    head -30 "$tmp/$name.diff"
    failed="$failed $name"
  fi
done
[ -z "$failed" ]
say $? "the $n golden scripts give their .expected output in SQLite $version${failed:+ (differ:$failed)}"
# Two of them again with the extension built against the newer headers.
for name in functions subtypes; do
  sed 's|^\.load dist/rbm$|.load dist/sqlite-new/rbm|' "tests/sql/$name.sql" |
    LD_PRELOAD="${SQLITE_PRELOAD:-}" "$new/sqlite3" -batch "$tmp/$name-new.db" 2>&1 |
    sed 's/^Error near line \([0-9]*\): /Runtime error near line \1: /' > "$tmp/$name-new.out"
  diff -u "$tmp/$name.expected" "$tmp/$name-new.out" | head -20
  cmp -s "$tmp/$name.expected" "$tmp/$name-new.out"
  say $? "$name.sql with $new/rbm.so (built against $version's headers)"
done

# 2. Interrupts, each way.
interrupt() {  # SHELL EXT EXPECTED
  out=$(RBM_SQLITE3=$1 RBM_EXT=$2 RBM_EXPECT_INTERRUPT=$3 sh tests/interrupt.sh 2>&1)
  rc=$?
  echo "$out" | grep -v '^ok' | sed 's/^/  /'
  say $rc "interrupted in $1 with $2.so: $3"
}
interrupt "$new/sqlite3" "$new/rbm" sqlite3_is_interrupted
interrupt "$new/sqlite3" dist/rbm "probe statement"
interrupt sqlite3 "$new/rbm" "probe statement"
# (sqlite3 with dist/rbm: tests/interrupt.sh itself)

# 3. Next to sqlite-vec (tests/sqlite_vec.sh) in the newer SQLite.
out=$(RBM_SQLITE3="$new/sqlite3" sh tests/sqlite_vec.sh 2>&1)
rc=$?
if echo "$out" | grep -q '^SKIPPED'; then
  echo "# sqlite-vec: $out"
else
  echo "$out" | grep -E '^not ok|^# vec' | sed 's/^/  /'
  say $rc "sqlite-vec's checks in SQLite $version"
fi

# 4. Python's sqlite3 module on the newer library (tests/python.sh with it
#    first on LD_LIBRARY_PATH).
out=$(LD_LIBRARY_PATH="$PWD/$new${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" sh tests/python.sh 2>&1)
rc=$?
if echo "$out" | grep -q '^SKIPPED'; then
  echo "# python: $out"
else
  echo "$out" | grep -E '^not ok|^# /|^# python' | sed 's/^/  /'
  echo "$out" | head -1 | grep -q "SQLite $version\$"
  say $? "Python's sqlite3 module runs on SQLite $version"
  say $rc "tests/python.sh's checks in SQLite $version"
fi
exit $status
