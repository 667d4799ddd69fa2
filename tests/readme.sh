#!/bin/sh
# The README's worked sessions, run and compared with what the README shows.
#
# A fenced block with no language whose first line is a shell prompt is a
# session:
#   sqlite> ...   (or "$ sqlite3 FILE" first): the lines after "sqlite> "
#                 and "   ...> " go to one sqlite3 shell, run from the
#                 repository's top folder on a new database; the blocks of
#                 one "## " section continue the same session;
#   $ ...         each "$ " line runs in sh from the top folder.
# Every other line of the block is output the commands must print.  What no
# two runs share is masked on both sides first: durations ("seconds":,
# 0.034s), timestamps, and the thread count.  A block after the line
# "<!-- session: not run" (a reason may follow) is illustrative, not run.  A session
# that reads ../shared/data (or $RBM_ML100K, $RBM_DIGITS) when it is
# missing says so, and is not run.
#
#   sh tests/readme.sh             compare
#   sh tests/readme.sh --update    write what the sessions print now into
#                                  README.md (where the line counts agree)
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
if [ "${RBM_SANITIZE:-0}" = 1 ]; then  # as tests/blobs.sh
  echo "SKIPPED: a sanitizer build sums in another order (the last digits differ)"; exit 0
fi
# A session's make is the reader's, not one nested in make test's.
unset MAKEFLAGS MFLAGS MAKELEVEL
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

awk -v dir="$tmp" '
  /^## / { section++ }
  /^<!-- session: not run/ { skip = 1; next }
  /^```/ {
    if (!inb) { inb = 1; first = 1; ignore = (length($0) > 3 || skip); next }
    inb = 0; skip = 0; next
  }
  inb && !ignore {
    if (first) {
      first = 0
      if ($0 ~ /^sqlite> / || $0 ~ /^\$ sqlite3 /) kind = "sql"
      else if ($0 ~ /^\$ /) kind = "sh"
      else { ignore = 1; next }
      if (!(kind == "sql" && lastsec == section && lastkind == "sql")) {
        n++; printf "%s\n", kind > (dir "/s" n ".kind"); close(dir "/s" n ".kind")
      }
      lastsec = section; lastkind = kind
    }
    print > (dir "/s" n ".txt")
  }' README.md

# The data where RBM_ML100K and RBM_DIGITS say it is (.ci/run's clone has
# no ../shared beside it).
for pair in "ml-100k:${RBM_ML100K:-}" "digits:${RBM_DIGITS:-}"; do
  name=${pair%%:*} dir=${pair#*:}
  [ -n "$dir" ] && [ -d "$dir" ] || continue
  for f in "$tmp"/s*.txt; do
    [ -f "$f" ] && sed -i "s#\.\./shared/data/$name#$dir#g" "$f"
  done
done

# Durations, timestamps and thread counts differ from run to run.
mask() {
  sed -E -e 's/"(seconds|ingest_seconds)":[0-9.]+/"\1":S/g' \
         -e 's/"threads":[0-9]+/"threads":T/g' \
         -e 's/[0-9]+\.[0-9]+s\b/Ns/g' \
         -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z/TIMESTAMP/g' \
         -e 's/[[:space:]]+$//' "$@"
}

run_session() {  # run_session N: writes $tmp/sN.got, $tmp/sN.want
  s=$tmp/s$1
  if [ "$(cat "$s.kind")" = sql ]; then
    grep -v '^\$ ' "$s.txt" | grep -vE '^(sqlite> |   \.\.\.> )' > "$s.want"
    sed -n -e 's/^sqlite> //p' -e 's/^   \.\.\.> //p' "$s.txt" > "$s.sql"
    LD_PRELOAD="${SQLITE_PRELOAD:-}" sqlite3 -batch "$tmp/session$1.db" \
      < "$s.sql" > "$s.got" 2>&1
  else
    grep -v '^\$ ' "$s.txt" > "$s.want"
    : > "$s.got"
    sed -n 's/^\$ //p' "$s.txt" | while IFS= read -r cmd; do
      (cd "$top" && sh -c "$cmd") >> "$s.got" 2>&1 < /dev/null
    done
  fi
}

# README.md with session N's output lines replaced by $tmp/sN.got's.
update_readme() {
  awk -v n="$1" -v got="$tmp/s$1.got" '
    /^## / { section++ }
    /^<!-- session: not run/ { skip = 1 }
    /^```/ {
      if (!inb) { inb = 1; first = 1; ignore = (length($0) > 3 || skip) }
      else { inb = 0; skip = 0 }
      print; next
    }
    inb && !ignore && first {
      first = 0
      if ($0 ~ /^sqlite> / || $0 ~ /^\$ sqlite3 /) kind = "sql"
      else if ($0 ~ /^\$ /) kind = "sh"
      else ignore = 1
      if (!ignore && !(kind == "sql" && lastsec == section && lastkind == "sql")) k++
      if (!ignore) { lastsec = section; lastkind = kind }
    }
    inb && !ignore && k == n && $0 !~ /^(sqlite> |   \.\.\.> |\$ )/ {
      if ((getline line < got) > 0) { sub(/[ \t]+$/, "", line); print line; next }
    }
    { print }' README.md > "$tmp/README.new" && cp "$tmp/README.new" README.md
}

fail=0 ran=0 skipped=0
for k in "$tmp"/s*.kind; do
  [ -f "$k" ] || continue
  n=$(basename "$k" .kind | sed 's/^s//')
  what=$(head -1 "$tmp/s$n.txt" | cut -c1-60)
  data=$(grep -o -e '\.\./shared/data/[A-Za-z0-9_-]*' -e "${RBM_ML100K:-../shared/data/ml-100k}" \
         "$tmp/s$n.txt" | head -1)
  if [ -n "$data" ] && [ ! -d "$data" ]; then
    echo "session $n ($what): not run, $data is missing"
    skipped=$((skipped + 1)); continue
  fi
  run_session "$n"
  ran=$((ran + 1))
  if mask "$tmp/s$n.want" > "$tmp/want" && mask "$tmp/s$n.got" > "$tmp/got" &&
     diff -u "$tmp/want" "$tmp/got" > "$tmp/diff"; then
    echo "session $n ($what): $(grep -c . "$tmp/s$n.want") lines as the README shows"
  elif [ "${1:-}" = --update ] &&
       [ "$(wc -l < "$tmp/s$n.want")" = "$(wc -l < "$tmp/s$n.got")" ]; then
    update_readme "$n"
    echo "session $n ($what): README.md updated"
  else
    echo "session $n ($what): differs from the README (- README, + now):"
    sed -n '3,60p' "$tmp/diff"
    fail=1
  fi
done
if [ "$ran" = 0 ]; then
  echo "SKIPPED: no session could run ($skipped need data this machine lacks)"; exit 0
fi
exit $fail
