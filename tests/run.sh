#!/bin/sh
# Runs every test against the built extension and prints, last,
#   N passed, N failed
#
#   tests/test_engine.c   the engine's C API, no SQLite involved
#   tests/test_kernels.c  the engine's fast kernels against a plain reference
#   tests/sql/*.sql       scripts run by the real sqlite3 shell from the
#                         repo's top folder on a new database file (they
#                         .load dist/rbm themselves); output (stdout and
#                         stderr) must equal the .expected file beside each
#   tests/ml100k.sh       quality on MovieLens-100K u1 (SKIPPED without it)
#
# RBM_SANITIZE=1 (set by `make asan`) preloads the sanitizer runtimes into
# the sqlite3 shell, which itself is not instrumented.
cd "$(dirname "$0")/.." || exit 1
pass=0
fail=0
failed=""

result() {  # result STATUS NAME
  if [ "$1" = 0 ]; then
    pass=$((pass + 1)); echo "PASS $2"
  else
    fail=$((fail + 1)); failed="$failed $2"; echo "FAIL $2"
  fi
}

if [ "${RBM_SANITIZE:-0}" = 1 ]; then
  SQLITE_PRELOAD="$(${CC:-cc} -print-file-name=libasan.so):$(${CC:-cc} -print-file-name=libubsan.so)"
  export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
else
  SQLITE_PRELOAD=""
fi
export SQLITE_PRELOAD

# 1. The engine in C: one line per check, "ok - ..." or "not ok - ...".
out=$(./dist/test_engine 2>&1); status=$?
if [ $status = 0 ]; then
  echo "$out" | grep -E '^(not )?ok' | sed 's/^/  /'
else
  echo "$out" | grep -vE '^ok' | tail -40 | sed 's/^/  /'  # failures, crashes
fi
result $status engine

out=$(./dist/test_kernels 2>&1); status=$?
if [ $status = 0 ]; then
  echo "$out" | grep -E '^(not )?ok|^# .*rows\)' | sed 's/^/  /'
else
  echo "$out" | grep -vE '^ok' | tail -40 | sed 's/^/  /'
fi
result $status kernels

# 2. The SQL surface through the sqlite3 shell.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for script in tests/sql/*.sql; do
  [ -f "$script" ] || continue
  name=$(basename "$script" .sql)
  expected="tests/sql/$name.expected"
  LD_PRELOAD="$SQLITE_PRELOAD" sqlite3 -batch "$tmp/$name.db" \
    < "$script" > "$tmp/$name.out" 2>&1
  if diff -u "$expected" "$tmp/$name.out" > "$tmp/$name.diff"; then
    result 0 "sql/$name"
  else
    head -40 "$tmp/$name.diff"
    result 1 "sql/$name"
  fi
done

# 3. Shell-driven tests (ml100k quality, interrupt, persistence).
for t in tests/*.sh; do
  [ "$t" = tests/run.sh ] && continue
  name=$(basename "$t" .sh)
  out=$(sh "$t" 2>&1); status=$?
  echo "$out" | sed 's/^/  /'
  if echo "$out" | grep -q '^SKIPPED'; then
    echo "SKIP $name"
  else
    result $status "$name"
  fi
done

[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
