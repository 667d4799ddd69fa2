#!/bin/sh
# Crash safety (issue 13, item 4): a process killed with SIGKILL at a random
# moment of a retraining - while the epochs' log commits, while the model
# blob streams into rbm_models, while a virtual table retrains into its
# shadow table - leaves a database that passes PRAGMA integrity_check, and
# every model in it whole: the old one or the new one, which loads and
# predicts.  In rollback-journal and in WAL mode.
#   RBM_CRASH_ROUNDS (default 6) kills per mode and per kind of retraining.
cd "$(dirname "$0")/.." || exit 1
rounds=${RBM_CRASH_ROUNDS:-6}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
./dist/synth_ratings "$tmp/base.db" --users 3000 --items 600 > /dev/null || exit 1
shell() { LD_PRELOAD="${SQLITE_PRELOAD:-}" sqlite3 -batch "$@"; }
# In the background, the shell process itself is sqlite3 (exec), so that
# $! is the process the kill must hit.
shell_exec() { LD_PRELOAD="${SQLITE_PRELOAD:-}" exec sqlite3 -batch "$@"; }
status=0
say() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2"; status=1; fi; }

# A training of one to two seconds: a log commit each second, then a
# 2 MB blob streamed into the table.
train_sql="SELECT length(rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{\"orientation\": \"user\", \"hidden\": 400, \"epochs\": 15}'));"
vtab_sql="INSERT INTO v(v) VALUES ('retrain');"

check() {  # check DB LABEL: integrity, and both models load and predict
  got=$(shell "$1" ".load dist/rbm" ".timeout 5000" \
    "PRAGMA integrity_check;" \
    "SELECT 'm', rbm_predict('m', 1, 1) BETWEEN 1 AND 5, json_valid(rbm_debug('m'));" \
    "SELECT 'v', count(*) > 0 FROM v WHERE user_id = 1;" 2>&1)
  if [ "$got" = "$(printf 'ok\nm|1|1\nv|1')" ]; then return 0; fi
  echo "# $2: $got" | tr '\n' ' '
  echo
  return 1
}

for mode in delete wal; do
  db="$tmp/$mode.db"
  cp "$tmp/base.db" "$db"
  shell "$db" "PRAGMA journal_mode = $mode;" ".load dist/rbm" "$train_sql" \
    "CREATE VIRTUAL TABLE v USING rbm(source=ratings, user=user_id, item=item_id, rating=rating, orientation=user, hidden=400, epochs=15);" > /dev/null || exit 1
  for kind in train vtab; do
    sql=$train_sql
    [ $kind = vtab ] && sql=$vtab_sql
    # How long one retraining takes here, to kill at random within it.
    start=$(date +%s%N)
    shell "$db" ".load dist/rbm" "$sql" > /dev/null
    span=$(( ($(date +%s%N) - start) / 1000000 ))
    bad=0 i=0 killed=0
    while [ $i -lt "$rounds" ]; do
      shell_exec "$db" ".load dist/rbm" "$sql" > /dev/null 2>&1 &
      pid=$!
      # Spread over the run, the last kills near its end (the store).
      ms=$(awk -v s="$span" -v i="$i" -v n="$rounds" -v r="$(od -An -N2 -tu2 /dev/urandom)" \
        'BEGIN {printf "%d", s * (0.2 + 0.7 * (i + r / 65536) / n)}')
      sleep "$(awk -v ms="$ms" 'BEGIN {printf "%.3f", ms / 1000}')"
      kill -9 $pid 2>/dev/null && killed=$((killed + 1))
      wait $pid 2>/dev/null
      check "$db" "$mode $kind kill $i at $ms ms" || bad=$((bad + 1))
      i=$((i + 1))
    done
    [ $bad = 0 ]
    say $? "$mode mode, $kind: $killed of $rounds runs killed (within ~$span ms), the database and both models whole after each"
  done
done
exit $status
