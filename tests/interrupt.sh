#!/bin/sh
# Ctrl-C in the sqlite3 shell (SIGINT -> sqlite3_interrupt) stops a long
# rbm_train within about a second, and the model of that name that was
# stored before is left as it was and still predicts.  While it runs,
# another connection sees its epochs in rbm_training_log.
#
# How the training sees the interrupt depends on the SQLite and on the
# headers rbm was built against (ext/sql_train.c): sqlite3_is_interrupted()
# from 3.41, else a probe statement.  tests/sqlite_new.sh runs this script
# for each pairing, with
#   RBM_SQLITE3             the shell (default: sqlite3 on PATH)
#   RBM_EXT                 the extension (default: dist/rbm)
#   RBM_EXPECT_INTERRUPT    the way rbm_debug() must name
cd "$(dirname "$0")/.." || exit 1
SQLITE3=${RBM_SQLITE3:-sqlite3}
EXT=${RBM_EXT:-dist/rbm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db="$tmp/i.db"
./dist/synth_ratings "$db" --users 2000 --items 400 > /dev/null || exit 1
run() { LD_PRELOAD="${SQLITE_PRELOAD:-}" "$SQLITE3" -batch "$db" "$@"; }

how=$(run ".load $EXT" "SELECT sqlite_version() || ', ' || rbm_debug();" |
      sed -n 's/^\([0-9.]*\), rbm .*/\1/p; s/^sqlite interrupts: //p' | tr '\n' ' ' | sed 's/ $//')
echo "# SQLite $(echo "$how" | cut -d' ' -f1), $EXT: interrupts seen by $(echo "$how" | cut -d' ' -f2-)"

before=$(run ".load $EXT" \
  "SELECT json_extract(rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{\"orientation\": \"user\", \"epochs\": 2}'), '\$.epochs_run');" \
  "SELECT uid, round(rbm_predict('m', 1, 1), 6) FROM rbm_models WHERE name = 'm';") || exit 1

# A training that would take minutes, interrupted after two seconds.
LD_PRELOAD="${SQLITE_PRELOAD:-}" "$SQLITE3" -batch "$db" > "$tmp/out" 2>&1 <<SQL &
.load $EXT
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"orientation": "user", "epochs": 100000}');
SQL
pid=$!
sleep 2  # the log commits every second
watched=$("$SQLITE3" -batch -cmd ".timeout 2000" "$db" "SELECT count(*) FROM rbm_training_log WHERE model = 'm';" 2>&1)
start=$(date +%s%N)
kill -INT $pid
wait $pid
ms=$(( ($(date +%s%N) - start) / 1000000 ))
after=$(run ".load $EXT" \
  "SELECT uid, round(rbm_predict('m', 1, 1), 6) FROM rbm_models WHERE name = 'm';")

status=0
say() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2"; status=1; fi; }
if [ -n "${RBM_EXPECT_INTERRUPT:-}" ]; then
  [ "$(echo "$how" | cut -d' ' -f2-)" = "$RBM_EXPECT_INTERRUPT" ]
  say $? "rbm_debug() names the way: $RBM_EXPECT_INTERRUPT"
fi
grep -q "rbm_train: interrupted" "$tmp/out"; say $? "the shell reports: $(tr '\n' ' ' < "$tmp/out")"
[ "$ms" -lt 3000 ]; say $? "training stopped ${ms} ms after Ctrl-C"
[ "$watched" -gt 0 ] 2>/dev/null
say $? "another connection saw the running training's epochs in rbm_training_log ($watched)"
[ -n "$before" ] && [ "$(echo "$before" | tail -1)" = "$after" ]
say $? "the previous model is untouched and predicts the same ($after)"

# Orientation 'both' trains its halves side by side on two threads or more:
# the item half's epochs reach the log as they come, and Ctrl-C stops both.
LD_PRELOAD="${SQLITE_PRELOAD:-}" "$SQLITE3" -batch "$db" > "$tmp/both" 2>&1 <<SQL &
.load $EXT
SELECT rbm_train('b', 'ratings', 'user_id', 'item_id', 'rating', '{"epochs": 100000, "threads": 2}');
SQL
pid=$!
sleep 2
halves=$("$SQLITE3" -batch -cmd ".timeout 2000" "$db" \
  "SELECT count(DISTINCT model) FROM rbm_training_log WHERE model IN ('b/blend-fit user', 'b/blend-fit item');" 2>&1)
start=$(date +%s%N)
kill -INT $pid
wait $pid
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$halves" = 2 ]; say $? "both halves' epochs reached rbm_training_log while they ran ($halves)"
grep -q "rbm_train: interrupted" "$tmp/both" && [ "$ms" -lt 3000 ]
say $? "'both' stopped ${ms} ms after Ctrl-C: $(tr '\n' ' ' < "$tmp/both")"
exit $status
