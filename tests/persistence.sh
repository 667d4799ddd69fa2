#!/bin/sh
# Models live in the database file: after the process that trained them
# exits, a new process (after .load) predicts the same from rbm_models and
# from a virtual table's shadow table; DROP TABLE removes the shadow table.
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db="$tmp/p.db"
./dist/synth_ratings "$db" --users 200 --items 60 > /dev/null || exit 1
run() { LD_PRELOAD="${SQLITE_PRELOAD:-}" sqlite3 -batch "$db" ".load dist/rbm" "$@"; }
query="SELECT round(rbm_predict('m', 3, 7), 6), (SELECT group_concat(item_id || ':' || round(p_like, 6)) FROM (SELECT item_id, p_like FROM recs WHERE user_id = 3 AND rated = 0 ORDER BY p_like DESC LIMIT 3));"

first=$(run "SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{\"hidden\": 10, \"epochs\": 5}') IS NOT NULL;" \
  "CREATE VIRTUAL TABLE recs USING rbm(source=ratings, user=user_id, item=item_id, rating=rating, hidden=10, epochs=5);" \
  "$query") || exit 1
second=$(run "$query") || exit 1
shadow=$(run "SELECT count(*) FROM sqlite_schema WHERE name = 'recs_model';")
dropped=$(run "DROP TABLE recs;" "SELECT count(*) FROM sqlite_schema WHERE name GLOB 'recs*';")

status=0
say() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2"; status=1; fi; }
[ -n "$second" ] && [ "$(echo "$first" | tail -1)" = "$second" ]
say $? "a new process predicts the same: $second"
[ "$shadow" = 1 ]; say $? "the shadow table recs_model is in the file"
[ "$dropped" = 0 ]; say $? "DROP TABLE recs removes recs and recs_model"
exit $status
