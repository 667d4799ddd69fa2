#!/bin/sh
# Training in a terminal shows one line of progress on stderr, rewritten
# each epoch ("epoch 5 of 40 (45 of 160 in all), 2 s, about 5 s left") and
# cleared at the end; with stderr not a terminal, or with verbose, there is
# no such line.  script(1) gives the sqlite3 shell a terminal.
cd "$(dirname "$0")/.." || exit 1
if ! command -v script > /dev/null 2>&1; then
  echo "SKIPPED: no script(1) to run the shell in a terminal"; exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# 1000 users x 2000 items, about 100k ratings: a few seconds of 'both'.
sqlite3 "$tmp/p.db" <<'SQL' || exit 1
CREATE TABLE ratings(user_id INTEGER, item_id INTEGER, rating INTEGER);
INSERT INTO ratings
SELECT u.value, i.value, 1 + (u.value * 7 + i.value * 13) % 5
  FROM generate_series(1, 1000) u, generate_series(1, 2000) i
 WHERE ((u.value * 2654435761 + i.value * 40503) % 1000003) % 100 < 5;
SQL
cat > "$tmp/train.sql" <<'SQL'
.load dist/rbm
SELECT json_extract(rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating',
                              '{"hidden": 200, "epochs": 30}'), '$.epochs_run');
SQL
sed 's/"epochs": 30}/"epochs": 30, "verbose": true}/' "$tmp/train.sql" > "$tmp/verbose.sql"
shell() {  # shell SCRIPT: the sqlite3 shell in a terminal, \r as line ends
  LD_PRELOAD="${SQLITE_PRELOAD:-}" script -qec "sqlite3 -batch $tmp/p.db '.read $1'" /dev/null |
    tr '\r' '\n'
}
fail=0
shell "$tmp/train.sql" > "$tmp/tty"
lines=$(grep -c '^rbm_train m/[a-z -]*: epoch [0-9]* of 30 ([0-9]* of 120 in all), [0-9]* s, about [0-9]*\( min [0-9][0-9]\)\? s left' "$tmp/tty")
if [ "$lines" -ge 2 ] && grep -q '^rbm_train m/[a-z]*: epoch 30 of 30 (120 of 120 in all)' "$tmp/tty" &&
   grep -q "$(printf '^\033\\[K30')" "$tmp/tty"; then
  echo "terminal: $lines progress lines, the last at epoch 120 of 120, then cleared"
else
  echo "terminal: not the progress lines expected:"; head -5 "$tmp/tty"; fail=1
fi
LD_PRELOAD="${SQLITE_PRELOAD:-}" sqlite3 -batch "$tmp/p.db" < "$tmp/train.sql" > "$tmp/out" 2> "$tmp/err"
if [ ! -s "$tmp/err" ] && [ "$(cat "$tmp/out")" = 30 ]; then
  echo "not a terminal: nothing on stderr"
else
  echo "not a terminal: stderr has:"; head -3 "$tmp/err"; fail=1
fi
shell "$tmp/verbose.sql" > "$tmp/verbose"
if ! grep -q 'about .* left' "$tmp/verbose" && grep -q 'epoch 30/30  recon_rmse' "$tmp/verbose"; then
  echo "verbose in a terminal: the per-epoch log, no progress line"
else
  echo "verbose in a terminal: unexpected:"; head -5 "$tmp/verbose"; fail=1
fi
exit $fail
