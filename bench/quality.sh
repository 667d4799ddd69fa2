#!/bin/sh
# bench/quality.sh: the hyper-parameter sweep behind the defaults, on
# MovieLens-100K u1.base -> u1.test, through the extension: rbm_train with
# each option set, rbm_evaluate on u1.test.  Prints one markdown table row
# per setting (sorted by RMSE) and writes them to dist/bench/quality.md;
# then the top-N sweep on u.data split 75/25 per user (sorted by
# precision@10, dist/bench/quality_topn.md) and, with numpy, the popularity and
# item-kNN references on the same split (bench/peers/topn_baselines.py).
#
#   sh bench/quality.sh            the sweep below (a few minutes)
#   RBM_ML100K=path                MovieLens-100K folder (../shared/data/ml-100k)
#   RBM_THREADS=n                  training threads (default 2)
cd "$(dirname "$0")/.." || exit 1
data=${RBM_ML100K:-../shared/data/ml-100k}
threads=${RBM_THREADS:-2}
if [ ! -f "$data/u1.base" ]; then
  echo "SKIPPED: MovieLens-100K not found at $data"
  exit 0
fi
mkdir -p dist/bench
db=dist/bench/quality.db
rm -f "$db"
sqlite3 -batch "$db" \
  "CREATE TABLE base(user_id INTEGER, item_id INTEGER, rating INTEGER, ts INTEGER);" \
  "CREATE TABLE test(user_id INTEGER, item_id INTEGER, rating INTEGER, ts INTEGER);" \
  ".mode tabs" ".import $data/u1.base base" ".import $data/u1.test test"

# One setting: its options (JSON members) -> a row of the table.
run() {
  printf '.load dist/rbm\n%s\n' "
    SELECT printf('| %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.3f |', '$1',
                  json_extract(e, '\$.rmse'), json_extract(e, '\$.mae'),
                  json_extract(e, '\$.like_auc'), json_extract(e, '\$.\"precision@10\"'),
                  json_extract(e, '\$.\"ndcg@10\"'), json_extract(t, '\$.seconds'))
      FROM (SELECT rbm_train('q', 'base', 'user_id', 'item_id', 'rating',
                             '{$1, \"threads\": $threads}') AS t),
           (SELECT rbm_evaluate('q', 'test', 'user_id', 'item_id', 'rating') AS e);" |
    sqlite3 -batch "$db"
}

{
  for o in user item; do
    for h in 100 200; do
      for cd in 1 3; do
        for wd in 0.001 0.005 0.01; do
          for e in 30 60; do
            run "\"orientation\": \"$o\", \"hidden\": $h, \"cd_k\": $cd, \"weight_decay\": $wd, \"epochs\": $e"
          done
        done
      done
    done
  done
  run '"orientation": "both", "hidden": 200, "cd_k": 1, "weight_decay": 0.005, "epochs": 60'
  run '"orientation": "both", "hidden": 100, "cd_k": 1, "weight_decay": 0.01, "epochs": 60'
  run '"orientation": "both", "hidden": 200, "cd_k": 1, "weight_decay": 0.01, "epochs": 60'
  run '"orientation": "item", "hidden": 300, "cd_k": 3, "weight_decay": 0.005, "epochs": 60'
  run '"orientation": "item", "hidden": 200, "cd_k": 3, "weight_decay": 0.005, "epochs": 60, "learning_rate": 0.05'
  run '"orientation": "item", "hidden": 200, "cd_k": 5, "weight_decay": 0.005, "epochs": 60'
} | sort -t'|' -k3 -g > dist/bench/quality.md
echo "| options | RMSE | MAE | like AUC | precision@10 | ndcg@10 | train s |"
echo "|---|---|---|---|---|---|---|"
cat dist/bench/quality.md

# ---- top-N: u.data split 75/25 per user (sql/split_per_user.sql, seed 42),
# every row an interaction; implicit models, and the rating models trained
# on the same rows with their ratings, ranked by rbm_evaluate.
[ -f "$data/u.data" ] || exit 0
sqlite3 -batch "$db" \
  "CREATE TABLE events(user_id INTEGER, item_id INTEGER, rating INTEGER, ts INTEGER);" \
  ".mode tabs" ".import $data/u.data events" ".mode list" \
  "CREATE TEMP VIEW split_source AS SELECT user_id, item_id, rating FROM events;" \
  ".read sql/split_per_user.sql"

# One setting: rating column (NULL for implicit), options -> a row.
run_topn() {
  printf '.load dist/rbm\n%s\n' "
    SELECT printf('| %s | %.4f | %.4f | %.3f |', '$2',
                  json_extract(e, '\$.\"precision@10\"'), json_extract(e, '\$.\"ndcg@10\"'),
                  json_extract(t, '\$.seconds'))
      FROM (SELECT rbm_train('q', 'split_train', 'user_id', 'item_id', $1,
                             '{$2, \"threads\": $threads}') AS t),
           (SELECT rbm_evaluate('q', 'split_test', 'user_id', 'item_id', $1) AS e);" |
    sqlite3 -batch "$db"
}

{
  for h in 100 200 500; do
    for lr in 0.01 0.02 0.05; do
      for wd in 0.01 0.03; do
        run_topn NULL "\"visible\": \"implicit\", \"hidden\": $h, \"learning_rate\": $lr, \"weight_decay\": $wd"
      done
    done
  done
  run_topn NULL '"visible": "implicit", "hidden": 200, "learning_rate": 0.02, "weight_decay": 0.03, "batch_size": 20'
  run_topn NULL '"visible": "implicit", "hidden": 200, "learning_rate": 0.01, "weight_decay": 0.03, "epochs": 200'
  run_topn NULL '"visible": "implicit", "hidden": 200, "learning_rate": 0.02, "weight_decay": 0.03, "cd_k": 3'
  run_topn NULL '"visible": "implicit", "hidden": 200, "learning_rate": 0.02, "weight_decay": 0.03, "momentum_start": 0.5'
  run_topn "'rating'" '"orientation": "both"'
  run_topn "'rating'" '"orientation": "item"'
  run_topn "'rating'" '"orientation": "user", "hidden": 100, "weight_decay": 0.01'
} | sort -t'|' -k3 -g -r > dist/bench/quality_topn.md
echo
echo "| options (top-N on u.data 75/25) | precision@10 | ndcg@10 | train s |"
echo "|---|---|---|---|"
cat dist/bench/quality_topn.md
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  /usr/bin/python3 bench/peers/topn_baselines.py "$db"
fi
