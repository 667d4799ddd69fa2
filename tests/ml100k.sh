#!/bin/sh
# MovieLens-100K, u1.base -> u1.test, trained through rbm_train with the
# defaults and scored here, outside the extension (tests/score.c).
#   softmax: RMSE <= 0.98, like AUC >= 0.77 from rbm_predict(..., 'like')
#   binary:  AUC >= 0.77, accuracy >= 0.83
# The data may not be redistributed; it is read from ../shared/data.
cd "$(dirname "$0")/.." || exit 1
data=${RBM_ML100K:-../shared/data/ml-100k}
if [ ! -f "$data/u1.base" ] || [ ! -f "$data/u1.test" ]; then
  echo "SKIPPED: MovieLens-100K not found at $data"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

LD_PRELOAD="${SQLITE_PRELOAD:-}" sqlite3 -batch "$tmp/ml.db" > "$tmp/out" <<SQL || exit 1
.load dist/rbm
CREATE TABLE base(user_id INTEGER, item_id INTEGER, rating INTEGER, ts INTEGER);
CREATE TABLE test(user_id INTEGER, item_id INTEGER, rating INTEGER, ts INTEGER);
.mode tabs
.import $data/u1.base base
.import $data/u1.test test
.mode list
SELECT 'softmax ' || rbm_train('soft', 'base', 'user_id', 'item_id', 'rating');
SELECT 'binary ' || rbm_train('bin', 'base', 'user_id', 'item_id', 'rating',
                              '{"visible": "binary"}');
.output $tmp/rating
SELECT rbm_predict('soft', user_id, item_id), rating FROM test;
.output $tmp/like
SELECT rbm_predict('soft', user_id, item_id, 'like'), rating FROM test;
.output $tmp/binary
SELECT rbm_predict('bin', user_id, item_id), rating FROM test;
SQL
cat "$tmp/out"
rating=$(./dist/score < "$tmp/rating") || exit 1
like=$(./dist/score --like 3 < "$tmp/like") || exit 1
binary=$(./dist/score --like 3 < "$tmp/binary") || exit 1
echo "softmax rating: $rating"
echo "softmax like:   $like"
echo "binary like:    $binary"
field() { echo "$1" | awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}'; }
status=0
expect() {  # expect NAME VALUE OP LIMIT
  if awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { exit !(op == "<=" ? v <= l : v >= l) }'; then
    echo "ok - $1 $2 $3 $4"
  else
    echo "not ok - $1 $2 $3 $4"; status=1
  fi
}
expect "softmax RMSE" "$(field "$rating" rmse)" "<=" 0.98
expect "softmax like AUC" "$(field "$like" auc)" ">=" 0.77
expect "binary AUC" "$(field "$binary" auc)" ">=" 0.77
expect "binary accuracy" "$(field "$binary" accuracy)" ">=" 0.83
exit $status
