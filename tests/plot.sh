#!/bin/sh
# The SVG documents of rbm_plot and of the bench's dist/chart are read by
# a real XML parser (xmllint, Debian's libxml2-utils; SKIPPED without it):
# each must be well-formed, its root an svg element in the SVG namespace
# with a viewBox and a title, for every kind of model and log, and for
# names and labels that need escaping (&, <, quotes, "]]>", unicode, bytes
# that are not UTF-8, control characters).
cd "$(dirname "$0")/.." || exit 1
if ! command -v xmllint > /dev/null 2>&1; then
  echo "SKIPPED: xmllint is not installed (apt-get install libxml2-utils)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
say() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2"; status=1; fi; }

# Models of every kind, the odd names among them; rbm_plot of each written
# to a file named by its row number (writefile is the shell's).
LD_PRELOAD="${SQLITE_PRELOAD:-}" sqlite3 -batch "$tmp/p.db" > "$tmp/out" 2>&1 <<SQL
.load dist/rbm
.read tests/sql/planted_ratings.inc
SELECT length(rbm_train('user', 'ratings', 'user_id', 'item_id', 'rating',
  '{"orientation": "user", "hidden": 8, "epochs": 30, "validation": 0.2, "patience": 5}'));
SELECT length(rbm_train('both', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": 4, "epochs": 3}'));
SELECT length(rbm_train('binary, one epoch', 'ratings', 'user_id', 'item_id', 'rating',
  '{"orientation": "item", "visible": "binary", "hidden": 4, "epochs": 1}'));
SELECT length(rbm_train('implicit', 'ratings', 'user_id', 'item_id', NULL,
  '{"visible": "implicit", "hidden": 4, "epochs": 3}'));
SELECT length(rbm_train('a&b <c> "d" ''e'' ]]> naïve 模型 🎉', 'ratings', 'user_id', 'item_id',
  'rating', '{"hidden": 4, "epochs": 2}'));
SELECT length(rbm_train(cast(x'61ff01fe62c0afed' AS TEXT), 'ratings', 'user_id', 'item_id', 'rating',
  '{"orientation": "user", "hidden": 4, "epochs": 2}'));
SELECT length(rbm_train('ctl' || char(1, 8, 27, 9, 10, 65534) || 'x', 'ratings', 'user_id',
  'item_id', 'rating', '{"orientation": "user", "hidden": 4, "epochs": 2}'));
SELECT length(rbm_train(printf('%.300c', 'w'), 'ratings', 'user_id', 'item_id', 'rating',
  '{"orientation": "user", "hidden": 4, "epochs": 2}'));
SELECT length(rbm_train('no log', 'ratings', 'user_id', 'item_id', 'rating',
  '{"orientation": "user", "hidden": 4, "epochs": 2}'));
DELETE FROM rbm_training_log WHERE model = 'no log';
CREATE TABLE fv(v TEXT, label INTEGER);
WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < 200)
INSERT INTO fv SELECT json_array(k % 2, (k / 2) % 2, 0.5), k % 2 FROM s;
SELECT length(rbm_fit('features <&>', 'fv', 'v', '{"hidden": 3, "epochs": 6, "validation": 0.2, "label": "label"}'));
CREATE VIRTUAL TABLE "recs & <more>" USING rbm(source=ratings, user=user_id, item=item_id,
  rating=rating, hidden=4, epochs=3);
INSERT INTO rbm_training_log VALUES ('log only "<&>"', 1, 0.1, 1.0, 'NaN', NULL, NULL, NULL),
  ('log only "<&>"', 2, 0.2, 9e999, 1.0, -9e999, 0.5, 2), ('log only "<&>"', 3, 0.3, 0.5, 0.9, 0.8, 0.5, 3);
CREATE TEMP TABLE names(name TEXT);
INSERT INTO names SELECT name FROM rbm_models;
INSERT INTO names VALUES ('recs & <more>'), ('log only "<&>"');
SELECT sum(writefile('$tmp/plot_' || rowid || '.svg', rbm_plot(name)) > 0) FROM names;
SQL
n_docs=$(tail -1 "$tmp/out")
[ "$n_docs" = 12 ]; say $? "rbm_plot wrote a document for each of 12 models and logs ($(tail -1 "$tmp/out" | tr '\n' ' '))"

# dist/chart: bars and lines, with labels to escape (a byte that is not
# UTF-8 among them).
printf '# figures\n[Group & <one> | 2x "faster"]\nrbm, 1 thread 0.5\npeer <&> '"'"'x'"'"' 1.0\n[\377 bad]\nrbm \001ctl 0.25\n' |
  ./dist/chart bars --title 'Bars & <title>' --subtitle '"quoted" ]]>' --x-label 's & s' --unit '<s>' \
  > "$tmp/chart_bars.svg"
say $? "dist/chart bars ran"
printf '[1 thread & more]\n1 2.5\n5 3\n25 10\n[2 <threads>]\n1 1\n5 1.5\n25 6\n' |
  ./dist/chart lines --zero --title 'Lines "&" <title>' --x-label 'x' --y-label 'y & y' \
  > "$tmp/chart_lines.svg"
say $? "dist/chart lines ran"
printf 'not a number here\n' | ./dist/chart bars > /dev/null 2> "$tmp/err"
[ $? = 1 ] && grep -q "line 1: the value (the last field) is not a number" "$tmp/err"
say $? "dist/chart refuses a line without a number: $(cat "$tmp/err")"

for f in "$tmp"/*.svg; do
  name=$(basename "$f")
  if ! xmllint --noout "$f" 2> "$tmp/xml.err"; then
    say 1 "$name is well-formed XML: $(head -3 "$tmp/xml.err")"
    continue
  fi
  root=$(xmllint --xpath 'concat(namespace-uri(/*), " ", local-name(/*), " ", /*/@viewBox, " ", count(/*/*[local-name() = "title"]))' "$f")
  [ "$root" = "http://www.w3.org/2000/svg svg 0 0 640 $(xmllint --xpath 'string(/*/@height)' "$f") 1" ]
  say $? "$name: well-formed; root $root"
done
[ "$(ls "$tmp"/*.svg | wc -l)" = 14 ]; say $? "14 documents checked"
exit $status
