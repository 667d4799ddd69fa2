#!/bin/sh
# make demo: a synthetic ratings database with planted taste groups, an RBM
# trained on it in place, recommendations and held-out accuracy.
cd "$(dirname "$0")/.." || exit 1
db=dist/demo.db
rm -f "$db"
./dist/synth_ratings "$db" || exit 1
sqlite3 -batch -bail "$db" < examples/demo.sql || exit 1
echo
echo "The database is $db; open it with: sqlite3 $db  (then .load dist/rbm)"
