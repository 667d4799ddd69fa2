#!/bin/sh
# bench/topn.sh: top-N quality of the implicit RBM against EASE^R, item-kNN
# and popularity, on several data shapes.  Each shape is a table of
# interactions (user_id, item_id, rating; every row an interaction), split
# per user 75/25 by sql/split_per_user.sql under a seed; the RBM is trained
# on split_train through rbm_train (rating column NULL, the options below)
# and ranked from outside through rbm_recommend(..., 10) in one batch; the
# peers (bench/peers/topn_baselines.py, numpy) rank the same splits and are
# scored the same way: precision@10, and NDCG@10 with min(10, held-out
# rows) hits as the ideal, over the users with held-out rows, the user's
# training items never ranked.  Prints markdown tables and writes them to
# dist/bench/topn.md.
#
#   shape            what                                      split seeds
#   ml100k           MovieLens-100K u.data                     42 (the test), 1 2 3
#   ml100k-users300  its rows of 300 users picked by a hash    1
#   ml100k-items400  its rows of 400 items picked by a hash,   1
#                    then users with < 5 rows dropped
#   synth-wide       synth_ratings, 300 users x 5000 items     1
#   synth-tall       synth_ratings, 6000 users x 200 items     1
#   synth-tail       synth_ratings, 2000 x 3000, 5..1500 rows  1
#
# The databases, one per (shape, seed), are made once in dist/bench/topn/
# and kept; so are the peers' figures (they do not change with the RBM).
# EASE^R runs with lambda 50, 100, 250, 500 and 1000; each shape's table
# shows the best of them on that split (the tuned peer, the fairest
# comparison), and ml100k's 250 and 500 too (issue 15's reference).
#
#   RBM_TOPN_OPTIONS  rbm_train's options (default {"visible":"implicit"})
#   RBM_LIB           the rbm build to load (default dist/rbm)
#   RBM_TOPN_SHAPES   the shapes to run, space-separated (default all)
#   RBM_TOPN_PEERS    0: compute no peer figures; those already kept are
#                     shown (default 1)
#   RBM_ML100K        MovieLens-100K folder (default ../shared/data/ml-100k)
#   RBM_BENCH_DIR     where topn.md and topn/ go (default dist/bench)
#
#   RBM_TOPN_SHAPES=ml100k RBM_TOPN_PEERS=0 \
#     RBM_TOPN_OPTIONS='{"visible":"implicit","hidden":300}' sh bench/topn.sh
lib=${RBM_LIB:-dist/rbm}
case $lib in /*) ;; *) [ -n "$RBM_LIB" ] && lib="$PWD/$lib";; esac
data=${RBM_ML100K:-../shared/data/ml-100k}
case $data in /*) ;; *) [ -n "$RBM_ML100K" ] && data="$PWD/$data";; esac
cd "$(dirname "$0")/.." || exit 1
options=${RBM_TOPN_OPTIONS:-'{"visible":"implicit"}'}
all_shapes="ml100k ml100k-users300 ml100k-items400 synth-wide synth-tall synth-tail"
shapes=${RBM_TOPN_SHAPES:-$all_shapes}
peers=${RBM_TOPN_PEERS:-1}
bench=${RBM_BENCH_DIR:-dist/bench}
work="$bench/topn"
python=/usr/bin/python3
mkdir -p "$work"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
$python -c 'import numpy' 2>/dev/null || peers=no_numpy
[ -x dist/synth_ratings ] || make -s dist/synth_ratings > /dev/null 2>&1

seeds() { case $1 in ml100k) echo "42 1 2 3";; *) echo 1;; esac; }

# interactions SHAPE DB: writes the shape's table interactions(user_id,
# item_id, rating) into DB; fails when its source is missing.
interactions() {
  case $1 in
    ml100k*)
      [ -f "$data/u.data" ] || return 1
      sqlite3 -batch "$2" \
        "CREATE TABLE raw(user_id INTEGER, item_id INTEGER, rating INTEGER, ts INTEGER);" \
        ".mode tabs" ".import $data/u.data raw" ".mode list" || return 1
      # A multiplicative hash of the id (Knuth's 2654435761, mod 2^32) picks
      # the 300 users or 400 items.
      case $1 in
        ml100k) pick="1";;
        ml100k-users300) pick="user_id IN (SELECT user_id FROM (SELECT DISTINCT user_id FROM raw)
                                ORDER BY (user_id * 2654435761) % 4294967296, user_id LIMIT 300)";;
        ml100k-items400) pick="item_id IN (SELECT item_id FROM (SELECT DISTINCT item_id FROM raw)
                                ORDER BY (item_id * 2654435761) % 4294967296, item_id LIMIT 400)";;
      esac
      sqlite3 -batch "$2" \
        "CREATE TABLE interactions AS SELECT user_id, item_id, rating FROM raw WHERE $pick;" \
        "DELETE FROM interactions WHERE user_id IN (SELECT user_id FROM interactions GROUP BY 1 HAVING count(*) < 5);" \
        "DROP TABLE raw;"
      ;;
    synth-*)
      case $1 in
        synth-wide) flags="--users 300 --items 5000 --min-rated 20 --max-rated 400";;
        synth-tall) flags="--users 6000 --items 200";;
        synth-tail) flags="--users 2000 --items 3000 --min-rated 5 --max-rated 1500";;
      esac
      rm -f "$2.synth"
      ./dist/synth_ratings "$2.synth" $flags --heldout-pct 0 > /dev/null || return 1
      sqlite3 -batch "$2" "ATTACH '$2.synth' AS s;" \
        "CREATE TABLE interactions AS SELECT user_id, item_id, rating FROM s.ratings;"
      rc=$?
      rm -f "$2.synth"
      return $rc
      ;;
  esac
}

# split_db SHAPE SEED: the database of the shape split under the seed,
# made when missing; prints its path, or fails.
split_db() {
  db="$work/$1-s$2.db"
  if [ ! -f "$db" ]; then
    rm -f "$db.tmp"
    interactions "$1" "$db.tmp" &&
      sqlite3 -batch "$db.tmp" \
        "CREATE TEMP VIEW split_source AS SELECT user_id, item_id, rating FROM interactions;" \
        ".parameter set @seed $2" ".parameter set @test_share 0.25" \
        ".read sql/split_per_user.sql" &&
      mv "$db.tmp" "$db" || { rm -f "$db.tmp"; return 1; }
  fi
  echo "$db"
}

# The shape's size: users, items, rows, median rows per user and per item.
shape_row() {
  sqlite3 -batch -separator ' | ' "$2" "
    WITH u AS (SELECT count(*) AS n FROM interactions GROUP BY user_id),
         i AS (SELECT count(*) AS n FROM interactions GROUP BY item_id),
         uo AS (SELECT n, row_number() OVER (ORDER BY n) AS r, count(*) OVER () AS t FROM u),
         io AS (SELECT n, row_number() OVER (ORDER BY n) AS r, count(*) OVER () AS t FROM i)
    SELECT '| $1', (SELECT count(*) FROM u), (SELECT count(*) FROM i),
           (SELECT count(*) FROM interactions),
           (SELECT avg(n) FROM uo WHERE r IN ((t + 1) / 2, (t + 2) / 2)),
           (SELECT avg(n) FROM io WHERE r IN ((t + 1) / 2, (t + 2) / 2)),
           (SELECT count(*) FROM split_test), '$(seeds "$1" | tr ' ' ',') |';"
}

# rbm DB RECS: trains on DB's split_train (copied into a database in
# memory, so DB is only read), ranks split_test's users through
# rbm_recommend, writes the lists to RECS ("user item rank", tab-separated)
# and prints "precision ndcg seconds", or "error MESSAGE".
rbm() {
  opts=$(printf '%s' "$options" | sed "s/'/''/g")
  out=$(sqlite3 -batch :memory: 2>&1 <<EOF
.load $lib
ATTACH '$1' AS d;
CREATE TABLE split_train AS SELECT user_id, item_id, rating FROM d.split_train;
CREATE TABLE split_test AS SELECT user_id, item_id, rating FROM d.split_test;
DETACH d;
CREATE INDEX split_test_user ON split_test(user_id, item_id);
CREATE TEMP TABLE trained AS
  SELECT json_extract(rbm_train('m', 'split_train', 'user_id', 'item_id', NULL, '$opts'), '\$.seconds') AS s;
CREATE TEMP TABLE recs AS
  SELECT user, item, row_number() OVER (PARTITION BY user ORDER BY p_like DESC) AS rk
    FROM rbm_recommend('m', (SELECT json_group_array(DISTINCT user_id) FROM split_test), 10);
.mode tabs
.once $2
SELECT user, item, rk FROM recs;
.mode list
.separator ' '
WITH per_user AS (SELECT user_id, count(*) AS n FROM split_test GROUP BY user_id),
hit AS (SELECT r.user, count(*) AS hits, sum(1.0 / log2(r.rk + 1)) AS dcg
          FROM recs r JOIN split_test s ON s.user_id = r.user AND s.item_id = r.item
         WHERE r.rk <= 10 GROUP BY r.user),
ideal(k, v) AS (SELECT 1, 1.0 UNION ALL SELECT k + 1, v + 1.0 / log2(k + 2) FROM ideal WHERE k < 10)
SELECT 'result', printf('%.4f', avg(coalesce(h.hits, 0) / 10.0)),
       printf('%.4f', avg(coalesce(h.dcg, 0) / (SELECT v FROM ideal WHERE k = min(10, p.n)))),
       printf('%.2f', (SELECT s FROM trained))
  FROM per_user p LEFT JOIN hit h ON h.user = p.user_id;
EOF
)
  line=$(echo "$out" | grep '^result ')
  if [ -n "$line" ]; then echo "${line#result }"; else echo "error $(echo "$out" | head -1)"; fi
}

# peer_figures SHAPE SEED DB: the peers' lines ("name<TAB>precision<TAB>
# ndcg<TAB>seconds"), computed unless kept (and newer than the database and
# the script), or nothing.
peer_figures() {
  kept="$work/peers-$1-s$2.tsv"
  if [ ! -s "$kept" ] || [ "$kept" -ot "$3" ] || [ "$kept" -ot bench/peers/topn_baselines.py ]; then
    rm -f "$kept"
    [ "$peers" = 1 ] || return 0
    $python bench/peers/topn_baselines.py --peers "$3" > "$kept.tmp" && mv "$kept.tmp" "$kept"
  fi
  [ -s "$kept" ] && cat "$kept"
}

# ---- the runs: one line per (shape, seed, model) in $results -------------
results="$tmp/results"      # shape seed model<TAB>precision<TAB>ndcg<TAB>seconds
: > "$results"
: > "$tmp/shapes"
: > "$tmp/checks"
for shape in $shapes; do
  case " $all_shapes " in *" $shape "*) ;; *) echo "unknown shape: $shape" >&2; continue;; esac
  for seed in $(seeds "$shape"); do
    if ! db=$(split_db "$shape" "$seed"); then
      case $shape in
        ml100k*) echo "$shape: SKIPPED (MovieLens-100K not found at $data)" | tee -a "$tmp/skipped";;
        *) echo "$shape: SKIPPED (could not make it)" | tee -a "$tmp/skipped";;
      esac
      break
    fi
    [ "$seed" = "$(seeds "$shape" | cut -d' ' -f1)" ] && shape_row "$shape" "$db" >> "$tmp/shapes"
    set -- $(rbm "$db" "$tmp/recs")
    if [ "$1" = error ]; then
      shift
      echo "$shape seed $seed: rbm_train or rbm_recommend failed: $*" | tee -a "$tmp/skipped"
      continue
    fi
    printf '%s %s RBM\t%s\t%s\t%s\n' "$shape" "$seed" "$1" "$2" "$3" >> "$results"
    echo "$shape seed $seed: RBM precision@10 $1 ndcg@10 $2 ($3 s)" >&2
    sql_p=$1 sql_n=$2
    peer_figures "$shape" "$seed" "$db" | sed "s/^/$shape $seed /" >> "$results"
    # The SQL metric against score()'s, on the same lists.
    if [ "$peers" = 1 ]; then
      set -- $($python bench/peers/topn_baselines.py --lists "$db" "$tmp/recs")
      echo "$shape $seed $sql_p $sql_n $1 $2" >> "$tmp/checks"
    fi
  done
done

# ---- the tables -----------------------------------------------------------
# fig SHAPE SEED MODEL FIELD: a figure (2 precision, 3 ndcg, 4 seconds)
fig() { awk -F'\t' -v k="$1 $2 $3" -v f="$4" '$1 == k {print $f}' "$results"; }
# best_lambda SHAPE SEEDS: EASE^R's lambda with the best mean precision@10
# (then ndcg@10) over the seeds
best_lambda() {
  awk -F'\t' -v shape="$1" -v seeds=" $2 " '
    { split($1, k, " ") }
    k[1] == shape && index(seeds, " " k[2] " ") && k[3] == "EASE" {
      p[k[4]] += $2; n[k[4]] += $3 }
    END { for (l in p) if (!(b in p) || p[l] > p[b] || (p[l] == p[b] && n[l] > n[b])) b = l; print b }' "$results"
}
mean() {  # mean SHAPE "SEEDS" MODEL FIELD
  for s in $2; do fig "$1" "$s" "$3" "$4"; done | awk '{t += $1; n++} END {if (n) printf "%.4f", t / n}'
}
# beats RBM_P RBM_N PEER_P PEER_N
beats() {
  awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN {
    if (c == "" || d == "") print "n/a"; else if (a > c && b > d) print "yes";
    else if (a > c) print "precision only"; else if (b > d) print "ndcg only"; else print "no" }'
}
pair() { [ -n "$1" ] && echo "$1 / $2" || echo "n/a"; }

out="$tmp/topn.md"
{
  echo "## Top-N: the implicit RBM against EASE^R, item-kNN and popularity"
  echo
  echo "Made by \`sh bench/topn.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores;"
  echo "rbm_train options \`$options\`$( [ "$lib" = dist/rbm ] || echo ", rbm loaded from \`$lib\`")."
  echo "Each shape split 75/25 per user (sql/split_per_user.sql); precision@10 and"
  echo "ndcg@10 over the users with held-out rows, the RBM ranked through"
  echo "rbm_recommend; EASE^R best: the best lambda of 50, 100, 250, 500, 1000 on"
  echo "the same split (precision@10)."
  echo
  echo "| shape | users | items | rows | rows/user (median) | rows/item (median) | held out | split seeds |"
  echo "|---|---|---|---|---|---|---|---|"
  cat "$tmp/shapes"
  [ -s "$tmp/skipped" ] && { echo; sed 's/^/- /' "$tmp/skipped"; }
  : > "$tmp/summary"
  for shape in $shapes; do
    seed=$(seeds "$shape" | cut -d' ' -f1)
    [ -n "$(fig "$shape" "$seed" RBM 2)" ] || continue
    echo
    echo "### $shape (split seed $seed)"
    echo
    echo "| model | precision@10 | ndcg@10 | train s |"
    echo "|---|---|---|---|"
    model_row() { [ -n "$(fig "$shape" "$seed" "$2" 2)" ] &&
      echo "| $1 | $(fig "$shape" "$seed" "$2" 2) | $(fig "$shape" "$seed" "$2" 3) | $(fig "$shape" "$seed" "$2" 4) |"; }
    model_row "RBM, \`$options\`" RBM
    best=$(best_lambda "$shape" "$seed")
    if [ "$shape" = ml100k ]; then
      model_row "EASE^R, lambda 250" "EASE 250"
      model_row "EASE^R, lambda 500" "EASE 500"
    fi
    [ -n "$best" ] && model_row "EASE^R, best lambda ($best)" "EASE $best"
    model_row "item-kNN, cosine, 100 neighbours" item-kNN
    model_row "popularity" popularity
    if [ -n "$best" ]; then
      echo
      printf 'EASE^R by lambda, precision@10 / ndcg@10:'
      for l in 50 100 250 500 1000; do printf ' %s: %s / %s;' "$l" "$(fig "$shape" "$seed" "EASE $l" 2)" "$(fig "$shape" "$seed" "EASE $l" 3)"; done | sed 's/;$/./'
      echo
    fi
    rp=$(fig "$shape" "$seed" RBM 2) rn=$(fig "$shape" "$seed" RBM 3)
    ep=$(fig "$shape" "$seed" "EASE $best" 2) en=$(fig "$shape" "$seed" "EASE $best" 3)
    kp=$(fig "$shape" "$seed" item-kNN 2) kn=$(fig "$shape" "$seed" item-kNN 3)
    echo "| $shape | $rp / $rn | $(pair "$ep" "$en")${best:+ ($best)} | $(pair "$kp" "$kn") | $(beats "$rp" "$rn" "$kp" "$kn") | $(beats "$rp" "$rn" "$ep" "$en") |" >> "$tmp/summary"

    # ml100k: seeds 1, 2, 3 and their mean
    if [ "$shape" = ml100k ] && [ -n "$(fig ml100k 3 RBM 2)" ]; then
      sweep="1 2 3"
      mbest=$(best_lambda ml100k "$sweep")
      echo
      echo "### ml100k, split seeds 1, 2, 3 (precision@10 / ndcg@10)"
      echo
      echo "| model | seed 1 | seed 2 | seed 3 | mean |"
      echo "|---|---|---|---|---|"
      seeds_row() {
        [ -n "$(fig ml100k 1 "$2" 2)" ] || return 0
        printf '| %s |' "$1"
        for s in $sweep; do printf ' %s / %s |' "$(fig ml100k "$s" "$2" 2)" "$(fig ml100k "$s" "$2" 3)"; done
        echo " $(mean ml100k "$sweep" "$2" 2) / $(mean ml100k "$sweep" "$2" 3) |"
      }
      seeds_row "RBM, \`$options\`" RBM
      seeds_row "EASE^R, lambda 250" "EASE 250"
      seeds_row "EASE^R, lambda 500" "EASE 500"
      [ -n "$mbest" ] && seeds_row "EASE^R, best lambda on the mean ($mbest)" "EASE $mbest"
      seeds_row "item-kNN, cosine, 100 neighbours" item-kNN
      seeds_row "popularity" popularity
      rp=$(mean ml100k "$sweep" RBM 2) rn=$(mean ml100k "$sweep" RBM 3)
      ep=$(mean ml100k "$sweep" "EASE $mbest" 2) en=$(mean ml100k "$sweep" "EASE $mbest" 3)
      kp=$(mean ml100k "$sweep" item-kNN 2) kn=$(mean ml100k "$sweep" item-kNN 3)
      echo "| ml100k, mean of seeds 1, 2, 3 | $rp / $rn | $(pair "$ep" "$en")${mbest:+ ($mbest)} | $(pair "$kp" "$kn") | $(beats "$rp" "$rn" "$kp" "$kn") | $(beats "$rp" "$rn" "$ep" "$en") |" >> "$tmp/summary"
    fi
  done
  if [ -s "$tmp/summary" ]; then
    echo
    echo "### Summary (precision@10 / ndcg@10; \"beats\": on both)"
    echo
    echo "| shape | RBM | EASE^R best (lambda) | item-kNN | RBM beats kNN? | RBM beats EASE^R? |"
    echo "|---|---|---|---|---|---|"
    cat "$tmp/summary"
  fi
  if [ -s "$tmp/checks" ]; then
    echo
    awk '{ d1 = $3 - $5; d2 = $4 - $6; if (d1 < 0) d1 = -d1; if (d2 < 0) d2 = -d2
           n++; if (d1 > 0.00015 || d2 > 0.00015) bad = bad sprintf(" %s seed %s: SQL %s / %s, score() %s / %s;", $1, $2, $3, $4, $5, $6) }
         END { if (bad == "") printf "The SQL metric and score() in bench/peers/topn_baselines.py agree on the RBM'"'"'s lists of all %d runs.\n", n
               else printf "METRIC MISMATCH between the SQL and score():%s\n", bad }' "$tmp/checks"
  fi
  echo
  echo "Run time: $(( $(date +%s) - start )) s."
} > "$out"
cp "$out" "$bench/topn.md"
echo
cat "$out"
