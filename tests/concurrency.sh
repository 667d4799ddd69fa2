#!/bin/sh
# Concurrency (issue 13, item 5), in rollback-journal and in WAL mode: two
# readers predict and recommend while two other connections retrain the
# same model at once and a fifth inserts ratings.
#   With a busy timeout: no errors at all, and every answer is in range
#   (from a complete model: a half-stored one would fail its checksum).
#   Without one: the only errors are SQLITE_BUSY ("database is locked").
# Then PRAGMA integrity_check, and the model predicts.
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
./dist/synth_ratings "$tmp/base.db" --users 1500 --items 300 > /dev/null || exit 1
shell() { LD_PRELOAD="${SQLITE_PRELOAD:-}" sqlite3 -batch "$@"; }
train="SELECT 'trained', length(rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{\"orientation\": \"user\", \"hidden\": 50, \"epochs\": 6}')) > 0;"
shell "$tmp/base.db" ".load dist/rbm" "$train" > /dev/null || exit 1

# Reader scripts: 4000 requests each, every answer a 1.
awk 'BEGIN {
  for (j = 0; j < 2000; j++) {
    u = 1 + (j * 7) % 1500; i = 1 + (j * 13) % 300
    printf "SELECT rbm_predict(\x27m\x27, %d, %d) BETWEEN 1 AND 5;\n", u, i
    printf "SELECT count(*) BETWEEN 1 AND 5 FROM rbm_recommend(\x27m\x27, %d, 5);\n", u
  }
}' > "$tmp/read.sql"
for j in 1 2 3 4; do printf '%s\n' "$train"; done > "$tmp/train.sql"
awk 'BEGIN {for (j = 0; j < 200; j++) printf "INSERT INTO ratings VALUES (%d, %d, %d);\n", 2000 + j, 1 + j % 300, 1 + j % 5}' > "$tmp/insert.sql"

status=0
say() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2"; status=1; fi; }

for mode in delete wal; do
  for timeout in 30000 0; do
    db="$tmp/$mode-$timeout.db"
    cp "$tmp/base.db" "$db"
    shell "$db" "PRAGMA journal_mode = $mode;" > /dev/null
    run() {  # run NAME SCRIPT: one connection in the background
      { echo ".load dist/rbm"; [ "$timeout" != 0 ] && echo ".timeout $timeout"; cat "$2"; } |
        shell "$db" > "$tmp/$1.out" 2>&1 &
    }
    run reader1 "$tmp/read.sql"
    run reader2 "$tmp/read.sql"
    run trainer1 "$tmp/train.sql"
    run trainer2 "$tmp/train.sql"
    run inserter "$tmp/insert.sql"
    wait
    cat "$tmp"/reader*.out "$tmp"/trainer*.out "$tmp"/inserter.out > "$tmp/all.out"
    answers=$(grep -c -E '^1$|^trained\|1$' "$tmp/all.out")
    errors=$(grep -c -E 'rror' "$tmp/all.out")
    other=$(grep -v -E '^1$|^trained\|1$' "$tmp/all.out" | grep -v -c -E 'database is locked|database table is locked')
    wrong=$(grep -c -E '^0$' "$tmp/all.out")
    after=$(shell "$db" ".load dist/rbm" ".timeout 30000" "PRAGMA integrity_check;" \
      "SELECT rbm_predict('m', 1, 1) BETWEEN 1 AND 5;" 2>&1 | tr '\n' ' ')
    if [ "$timeout" != 0 ]; then
      [ "$errors" = 0 ] && [ "$wrong" = 0 ] && [ "$answers" = 8008 ] && [ "$after" = "ok 1 " ]
      say $? "$mode mode, busy timeout: $answers of 8008 answers in range, $errors errors, then: $after"
    else
      [ "$other" = 0 ] && [ "$wrong" = 0 ] && [ "$after" = "ok 1 " ]
      say $? "$mode mode, no busy timeout: $answers answers, $errors errors, all SQLITE_BUSY ($other other), then: $after"
    fi
    if [ "$status" != 0 ]; then
      grep -v -E '^1$|^trained\|1$' "$tmp/all.out" | sort | uniq -c | head -5 | sed 's/^/#   /'
    fi
  done
done
exit $status
