#!/bin/sh
# Digits (shared/data/digits: scikit-learn's, nudged and split as its RBM
# example does), through rbm_fit and rbm_classify with the defaults:
#   RBM features + softmax head    accuracy >= 0.945 on test.csv
#                                  (scikit-learn's pipeline: 0.933)
#   the head on raw pixels         printed, for the comparison (sklearn's
#                                  logistic regression: 0.782), and it must
#                                  lose to the RBM's features
#   Gaussian units                 beat the raw-pixel head too
# Also: the model is the same bit for bit from the same seed, and the rows
# as vectors (JSON arrays) get the same answers as the columns.
cd "$(dirname "$0")/.." || exit 1
data=${RBM_DIGITS:-../shared/data/digits}
if [ ! -f "$data/train.csv" ] || [ ! -f "$data/test.csv" ]; then
  echo "SKIPPED: digits not found at $data"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db="$tmp/digits.db"
cols=$(i=0; while [ $i -lt 64 ]; do printf '%sp%d REAL' "${sep:-}" $i; sep=', '; i=$((i + 1)); done)
args=$(i=0; while [ $i -lt 64 ]; do printf '%sp%d' "${sep:-}" $i; sep=', '; i=$((i + 1)); done)
LD_PRELOAD="${SQLITE_PRELOAD:-}" sqlite3 -batch "$db" > "$tmp/out" 2>&1 <<SQL
.load dist/rbm
CREATE TABLE train(label INTEGER, $cols);
CREATE TABLE test(label INTEGER, $cols);
.mode csv
.import --skip 1 $data/train.csv train
.import --skip 1 $data/test.csv test
.mode list
.separator " "
SELECT 'rows', (SELECT count(*) FROM train), (SELECT count(*) FROM test);
SELECT 'fit', json_extract(s, '\$.hidden'), json_extract(s, '\$.epochs_run'),
       json_extract(s, '\$.seconds') FROM (SELECT rbm_fit('rbm', 'train', NULL, '{"label": "label"}') AS s);
SELECT 'refit', rbm_fit('rbm2', 'train', NULL, '{"label": "label"}') IS NOT NULL,
       rbm_fit('raw', 'train', NULL, '{"label": "label", "hidden": 0}') IS NOT NULL,
       rbm_fit('gauss', 'train', NULL, '{"label": "label", "visible": "gaussian"}') IS NOT NULL;
SELECT 'same', (SELECT model FROM rbm_models WHERE name = 'rbm') =
               (SELECT model FROM rbm_models WHERE name = 'rbm2');
SELECT 'accuracy', avg(rbm_classify('rbm', $args) = label),
       avg(rbm_classify('raw', $args) = label),
       avg(rbm_classify('gauss', $args) = label) FROM test;
CREATE TABLE test_vectors AS SELECT rowid AS id, label, json_array($args) AS v FROM test;
SELECT 'vector_form', sum(rbm_classify('rbm', v) = rbm_classify('rbm', $args))
  FROM test_vectors JOIN test ON test.rowid = test_vectors.id;
SQL
sed 's/^/# /' "$tmp/out"
awk '
  function check(ok, what) { print (ok ? "ok" : "not ok") " - " what; if (!ok) bad = 1 }
  $1 == "same" { same = $2 }
  $1 == "accuracy" { rbm = $2; raw = $3; gauss = $4 }
  $1 == "vector_form" { vec = $2 }
  END {
    check(rbm >= 0.945, "RBM features + head: accuracy " rbm " >= 0.945")
    check(rbm > raw, "the RBM features beat the raw-pixel head (" raw ")")
    check(gauss > raw, "Gaussian units beat the raw-pixel head (" gauss ")")
    check(same == 1, "the same seed gives the same model, bit for bit")
    check(vec == 1797, "vectors and columns get the same answers (" vec " of 1797)")
    exit bad
  }' "$tmp/out"
