#!/bin/sh
# rbm from Python's standard library: examples/python_example.py (train,
# predict, recommend) and examples/python_features.py (fit, classify,
# class probabilities, transform, samples) run, and their output is
# checked.  python_features.py reads the digits (RBM_DIGITS, default
# ../shared/data/digits) when they are there, else ten planted classes of
# 64 features made here.
#
# The Python must be one whose sqlite3 module can load extensions:
# Debian's /usr/bin/python3 can; a pyenv-built one usually cannot (see the
# README).  RBM_PYTHON names another.  SKIPPED when none can.
cd "$(dirname "$0")/.." || exit 1
can_load() {
  "$1" -c 'import sqlite3; sqlite3.connect(":memory:").enable_load_extension' \
    > /dev/null 2>&1
}
python=""
for p in ${RBM_PYTHON:-} /usr/bin/python3 python3; do
  if command -v "$p" > /dev/null 2>&1 && can_load "$p"; then
    python=$p
    break
  fi
done
if [ -z "$python" ]; then
  echo "SKIPPED: no python3 whose sqlite3 module can load extensions (tried ${RBM_PYTHON:+$RBM_PYTHON, }/usr/bin/python3, python3)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "# $python: Python $("$python" -c 'import sys; print(sys.version.split()[0])'), SQLite $("$python" -c 'import sqlite3; print(sqlite3.sqlite_version)')"
status=0

# The sanitizer build (make asan) runs inside Python with its runtimes
# preloaded, as the sqlite3 shell does.
LD_PRELOAD="${SQLITE_PRELOAD:-}" "$python" examples/python_example.py > "$tmp/example" 2>&1
rc=$?
sed 's/^/# /' "$tmp/example"
[ $rc = 0 ] || { echo "not ok - python_example.py exited $rc"; status=1; }
awk '
  function check(ok, what) { print (ok ? "ok" : "not ok") " - " what; if (!ok) bad = 1 }
  /^trained on / { trained = ($3 == 240 && $6 == 40 && $8 == 10) }
  /^user 1, item 3:/ { r3 = $7 + 0; p3 = $9 + 0 }
  /^user 1, item 9:/ { r9 = $7 + 0; p9 = $9 + 0 }
  /^  item / { top++; if ($2 + 0 >= 6 && $2 + 0 <= 10) ok_top++ }
  END {
    check(trained, "python_example.py: rbm_train on 240 ratings of 40 users, 10 items")
    check(r3 > 4 && p3 > 0.8 && r9 < 3 && p9 < 0.2,
          "python_example.py: user 1 likes item 3 (" r3 ", " p3 ") and not item 9 (" r9 ", " p9 ")")
    check(top == 3 && ok_top == 3, "python_example.py: user 21'"'"'s top 3 are from items 6-10")
    exit bad
  }' "$tmp/example" || status=1

digits=${RBM_DIGITS:-../shared/data/digits}
if [ -f "$digits/train.csv" ] && [ -f "$digits/test.csv" ]; then
  data=$digits
  least=0.95
else
  # Ten classes: class c is high on the features f with f % 10 = c.
  data=$tmp/planted
  mkdir -p "$data"
  for split in train:600 test:200; do
    awk -v n="${split#*:}" -v seed="${#split}" 'BEGIN {
      srand(seed); printf "label"; for (f = 0; f < 64; f++) printf ",p%d", f; print ""
      for (r = 0; r < n; r++) {
        c = r % 10; printf "%d", c
        for (f = 0; f < 64; f++) {
          v = (f % 10 == c ? 0.8 : 0.1) + (rand() - 0.5) * 0.3
          printf ",%.4f", (v < 0 ? 0 : (v > 1 ? 1 : v))
        }
        print ""
      }
    }' > "$data/${split%:*}.csv"
  done
  least=0.9
fi
echo "# python_features.py $data"
LD_PRELOAD="${SQLITE_PRELOAD:-}" "$python" examples/python_features.py "$data" > "$tmp/features" 2>&1
rc=$?
sed 's/^/# /' "$tmp/features"
[ $rc = 0 ] || { echo "not ok - python_features.py exited $rc"; status=1; }
awk -v least="$least" '
  function check(ok, what) { print (ok ? "ok" : "not ok") " - " what; if (!ok) bad = 1 }
  /^trained on / { fit = ($6 == 64 && $8 == 256) }
  /^test accuracy / { accuracy = $3 + 0 }
  /^first test row: / { p = $NF; sub(/\)$/, "", p); p += 0; classified = $7 }
  /hidden probabilities, the largest / { hidden = $2; largest = $NF + 0 }
  /^sample [0-9]+:$/ { samples++ }
  /^  [ .:=+*#%@-]+$/ { if (length($0) == 10) rows++ }
  END {
    check(fit, "python_features.py: rbm_fit on 64 features, 256 hidden units")
    check(accuracy >= least, "python_features.py: test accuracy " accuracy " >= " least)
    check(classified != "" && p > 0 && p <= 1, "python_features.py: rbm_class_probs gives a probability (" p ")")
    check(hidden == 256 && largest > 0 && largest <= 1,
          "python_features.py: rbm_transform gives 256 probabilities (largest " largest ")")
    check(samples == 2 && rows == 16, "python_features.py: rbm_sample gives two 8 x 8 samples")
    exit bad
  }' "$tmp/features" || status=1
exit $status
