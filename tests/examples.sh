#!/bin/sh
# The C examples, built by make test, run and their answers checked:
#   examples/c_example.c       loads dist/rbm, trains, predicts, recommends
#   examples/static_example.c  rbm linked in from dist/librbm_sqlite.a and
#                              registered by sqlite3_auto_extension, with
#                              extension loading off
#   examples/python_auto_extension.py  rbm.so registered the same way
#                              through ctypes, no load_extension
# and librbm_sqlite.a's objects, built with -DSQLITE_CORE, neither define
# nor use the sqlite3_api pointer of a loadable extension.
cd "$(dirname "$0")/.." || exit 1
status=0
say() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2"; status=1; fi; }
version=$(sed -n 's/^#define RBM_VERSION "\(.*\)"/\1/p' include/rbm.h)

# c_example: users 1-20 like items 1-5, users 21-40 items 6-10.  User 21
# rated items 1, 2, 4, 5, 7, 8, so their top 3 are 6, 9 and 10.
out=$(./dist/c_example dist/rbm 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
[ $rc = 0 ]; say $? "c_example dist/rbm exits 0"
echo "$out" | head -1 | grep -q '^{"model":"tastes","users":40,"items":10,"ratings":240,'
say $? "c_example: rbm_train's summary"
echo "$out" | awk '
  /^user/ { sub(",", "", $2); sub(":", "", $4); p[$2 "/" $4] = $NF; n++ }
  END { exit !(n == 4 && p["1/3"] > 0.5 && p["1/9"] < 0.5 &&
               p["21/3"] < 0.5 && p["21/9"] > 0.5) }'
say $? "c_example: each group likes its own items"
top=$(echo "$out" | sed -n 's/^  item \([0-9]*\):.*/\1/p' | sort -n | tr '\n' ' ')
[ "$top" = "6 9 10 " ]; say $? "c_example: user 21's top 3 are 6, 9, 10 ($top)"

# static_example: users 1-10 like items 1-3, users 11-20 items 4-6.
out=$(./dist/static_example 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
[ $rc = 0 ]; say $? "static_example exits 0"
echo "$out" | grep -qx 'extension loading: off' &&
  echo "$out" | grep -qx "load_extension('rbm'): not authorized"
say $? "static_example: extension loading is off"
echo "$out" | grep -qx "rbm_version(): $version"
say $? "static_example: rbm_version() is $version without loading anything"
echo "$out" | grep -qx 'trained: 20 users, 6 items, 80 ratings'
say $? "static_example: rbm_train"
echo "$out" | awk -F'P\\(like\\) ' '
  /^predict:/ { split($1, w, /[ ,:]+/); p[w[3] "/" w[5]] = $2; n++ }
  END { exit !(n == 4 && p["1/2"] > 0.5 && p["1/5"] < 0.5 &&
               p["11/1"] < 0.5 && p["11/4"] > 0.5) }'
say $? "static_example: each group likes its own items"
echo "$out" | grep '^recommend:' | head -1 | grep -q 'item 4,'
say $? "static_example: user 11's first recommendation is item 4"

# examples/python_auto_extension.py: rbm.so registered through ctypes in
# a Python that has no enable_load_extension, answering as static_example.
if command -v python3 > /dev/null; then
  py=$(LD_PRELOAD="${SQLITE_PRELOAD:-}" python3 examples/python_auto_extension.py dist/rbm.so 2>&1); rc=$?
  echo "$py" | sed 's/^/# /'
  [ $rc = 0 ] && echo "$py" | grep -qx "rbm_version(): $version" &&
    [ "$(echo "$py" | grep '^predict:')" = "$(echo "$out" | grep '^predict:')" ]
  say $? "python_auto_extension.py: rbm without load_extension, as static_example"
else
  echo "# no python3: python_auto_extension.py not run"
fi

# The SQLITE_CORE build: sqlite3_rbm_init its one global definition, no
# sqlite3_api anywhere; the loadable one defines sqlite3_api.
command -v nm > /dev/null || { echo "SKIPPED: no nm"; exit 0; }
defined=$(nm -g --defined-only dist/librbm_sqlite.a | awk 'NF == 3 { print $3 }')
[ "$defined" = sqlite3_rbm_init ]
say $? "librbm_sqlite.a defines one global symbol: $(echo $defined)"
! nm dist/librbm_sqlite.a dist/obj/core/*.o dist/static_example | grep -q 'sqlite3_api$'
say $? "librbm_sqlite.a, its objects and static_example: no sqlite3_api"
nm dist/rbm.so | grep -q ' B sqlite3_api$'
say $? "rbm.so (loadable) has its sqlite3_api"
! readelf -d dist/static_example | grep NEEDED | grep -q rbm
say $? "static_example needs no rbm library at run time"
exit $status
