#!/bin/sh
# make bench: the project's benchmark.  Prints one table and writes it, with
# the machine it ran on, to bench/RESULTS.md.  Every figure is the median of
# RUNS runs (default 5; RBM_BENCH_RUNS=N to change), measured through SQL in
# the sqlite3 shell (.timer), with the peers run in the same session.
# Benchmarks never fail: a missing peer or data set is reported as such.
# Beside RESULTS.md, dist/chart (bench/chart.c) draws two charts from the
# same figures, which RESULTS.md shows: training time against the peers
# (bench/training_vs_peers.svg) and time per epoch against table size
# (bench/epoch_time_by_size.svg).  A chart whose figures a run did not
# make (no peer, no data) is left as it was, and not shown.
#
#   RBM_ML100K        MovieLens-100K folder (default ../shared/data/ml-100k)
#   RBM_BENCH_SIZES   synthetic sizes, in millions of ratings (default "1 5 25")
#   RBM_BENCH_SERVE_SIZES  the same for the serving figures (default "1 25")
#   RBM_BENCH_SERVE_N requests per serving figure (default 1000)
#   RBM_BENCH_SYNTH_RUNS  runs per thread count on them (default 3)
#   RBM_BENCH_DIR     where generated databases are kept (default dist/bench)
# bench/topn.sh's top-N tables (its RBM_TOPN_* settings apply) follow the
# table in RESULTS.md.
cd "$(dirname "$0")/.." || exit 1
data=${RBM_ML100K:-../shared/data/ml-100k}
runs=${RBM_BENCH_RUNS:-5}
sizes=${RBM_BENCH_SIZES:-1 5 25}
serve_sizes=${RBM_BENCH_SERVE_SIZES:-1 25}
synth_runs=${RBM_BENCH_SYNTH_RUNS:-3}
work=${RBM_BENCH_DIR:-dist/bench}
mkdir -p "$work"
table="$work/table.md"
: > "$table"
# The charts' figures ("label value" lines for dist/chart), written as the
# rows are, drawn at the end next to bench/RESULTS.md.
peers_fig="$work/chart_peers.txt"
sizes_fig="$work/chart_sizes"
: > "$peers_fig"
: > "$sizes_fig.1"
: > "$sizes_fig.2"
python=/usr/bin/python3

row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3" | tee -a "$table"; }

# num X: whether X is a plain number (a figure the charts can take)
num() { echo "$1" | grep -Eq '^[0-9]+(\.[0-9]+)?$'; }

# median of the numbers on stdin
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# The "real" seconds of the last timed statement of a sqlite3 run.
last_time() { awk '/^Run Time: real/ {t = $4} END {print t}'; }

# timed RUNS DB SETUP SQL: median time of SQL over RUNS new processes.
timed() {
  n=$1 db=$2 setup=$3 sql=$4
  i=0
  while [ $i -lt "$n" ]; do
    printf '.load dist/rbm\n%s\n.timer on\n%s\n' "$setup" "$sql" |
      sqlite3 -batch "$db" 2>&1 | last_time
    i=$((i + 1))
  done | median
}

# trained RUNS DB SQL: for an rbm_train statement, "STATEMENT TRAIN": the
# medians over RUNS new processes of the statement's time and of the
# "seconds" rbm_train reports (reading the source, training, measuring the
# fit; the statement also stores the model, which for a large model is
# SQLite writing tens of megabytes transactionally).
trained() {
  n=$1 db=$2 sql=$3
  i=0
  : > "$work/trained.txt"
  while [ $i -lt "$n" ]; do
    out=$(printf '.load dist/rbm\n.timer on\n%s\n' "$sql" | sqlite3 -batch "$db" 2>&1)
    echo "$(echo "$out" | last_time) $(echo "$out" | grep -o '"seconds":[0-9.]*' | cut -d: -f2)" >> "$work/trained.txt"
    i=$((i + 1))
  done
  echo "$(cut -d' ' -f1 "$work/trained.txt" | median) $(cut -d' ' -f2 "$work/trained.txt" | median)"
}

# repeated RUNS DB SETUP SQL: median time of SQL run RUNS times in one
# process (warm caches, as an application would see them).
repeated() {
  n=$1 db=$2 setup=$3 sql=$4
  {
    echo ".load dist/rbm"
    echo "$setup"
    echo ".timer on"
    i=0
    while [ $i -lt "$n" ]; do echo "$sql"; i=$((i + 1)); done
  } | sqlite3 -batch "$db" 2>&1 | awk '/^Run Time: real/ {print $4}' | median
}

# The VM's two vCPUs: how far apart they sit now (see bench/core_latency.c).
latency_start=$(./dist/core_latency 2>/dev/null || echo "?")

echo "| benchmark | rbm | peer |" | tee -a "$table"
echo "|---|---|---|" | tee -a "$table"

# ---- MovieLens-100K -------------------------------------------------------
if [ -f "$data/u1.base" ]; then
  db="$work/ml100k.db"
  rm -f "$db"
  sqlite3 -batch "$db" \
    "CREATE TABLE base(user_id INTEGER, item_id INTEGER, rating INTEGER, ts INTEGER);" \
    "CREATE TABLE test(user_id INTEGER, item_id INTEGER, rating INTEGER, ts INTEGER);" \
    ".mode tabs" ".import $data/u1.base base" ".import $data/u1.test test"

  tutorial='{"orientation": "user", "visible": "binary", "hidden": 100, "batch_size": 100, "cd_k": 10, "epochs": 10'
  for t in 1 2; do
    set -- $(trained "$runs" "$db" "SELECT rbm_train('tut', 'base', 'user_id', 'item_id', 'rating', '$tutorial, \"threads\": $t}');")
    eval "tut_$t=$1 tut_train_$t=$2"
  done
  peer="n/a (apt-get install python3-torch)"
  if $python -c 'import torch' 2>/dev/null; then
    peer_s=$(i=0; while [ $i -lt "$runs" ]; do
      $python bench/peers/pytorch_tutorial.py "$data" --threads 1 | awk '{print $2}'; i=$((i + 1)); done | median)
    peer_q=$($python bench/peers/pytorch_tutorial.py "$data" --threads 1 | awk '{print "accuracy " $4 ", AUC " $6}')
    peer="PyTorch tutorial, 1 thread: ${peer_s} s ($peer_q)"
    ratio=$(awk -v a="$peer_s" -v b="$tut_2" 'BEGIN {printf "%.1f", a / b}')
    num "$peer_s" && num "$tut_1" && num "$tut_2" && printf '[Tutorial recipe on ml-100k u1.base: binary, hidden 100, CD-10, 10 epochs | %sx faster]\nrbm, 1 thread %s\nrbm, 2 threads %s\nPyTorch tutorial, 1 thread %s\n' \
      "$ratio" "$tut_1" "$tut_2" "$peer_s" >> "$peers_fig"
  fi
  row "tutorial recipe on u1.base (binary, hidden 100, batch 100, CD-10, 10 epochs), end to end through rbm_train: the statement (rbm_train's own seconds)" \
      "1 thread ${tut_1} s (${tut_train_1} s), 2 threads ${tut_2} s (${tut_train_2} s): ${ratio:-?}x faster than the peer" "$peer"

  user='"orientation": "user", "hidden": 100, "weight_decay": 0.01'
  s1=$(timed "$runs" "$db" "" "SELECT rbm_train('soft', 'base', 'user_id', 'item_id', 'rating', '{$user, \"threads\": 1}');")
  s2=$(timed "$runs" "$db" "" "SELECT rbm_train('soft', 'base', 'user_id', 'item_id', 'rating', '{$user, \"threads\": 2}');")
  row "user-based softmax on u1.base (hidden 100, weight_decay 0.01, 60 epochs: the defaults before 'both')" "1 thread ${s1} s, 2 threads ${s2} s" ""
  d1=$(timed "$runs" "$db" "" "SELECT rbm_train('dflt', 'base', 'user_id', 'item_id', 'rating', '{\"threads\": 1}');")
  d2=$(timed "$runs" "$db" "" "SELECT rbm_train('dflt', 'base', 'user_id', 'item_id', 'rating', '{\"threads\": 2}');")
  d0=$(timed "$runs" "$db" "" "SELECT rbm_train('dflt', 'base', 'user_id', 'item_id', 'rating');")
  d0_threads=$(sqlite3 "$db" "SELECT json_extract(summary, '\$.threads') FROM rbm_models WHERE name = 'dflt'")
  d0_same=$(sqlite3 "$db" ".load dist/rbm" \
    "SELECT rbm_train('dflt1', 'base', 'user_id', 'item_id', 'rating', '{\"threads\": 1}') IS NOT NULL;" \
    "SELECT (SELECT model FROM rbm_models WHERE name = 'dflt') = (SELECT model FROM rbm_models WHERE name = 'dflt1');")
  row "the defaults on u1.base (orientation both: a user-based and an item-based half, hidden 200, each trained twice)" \
      "1 thread ${d1} s, 2 threads ${d2} s; no threads option (one per core: ${d0_threads}) ${d0} s, $(awk -v a="$d1" -v b="$d0" 'BEGIN {printf "%.2f", a / b}')x the 1-thread time; model the same as 1 thread's: $([ "$(echo "$d0_same" | tail -1)" = 1 ] && echo yes || echo NO)" ""

  set -- $(trained "$runs" "$db" "SELECT rbm_train('big', 'base', 'user_id', 'item_id', 'rating', '{\"orientation\": \"user\", \"hidden\": 600, \"epochs\": 30, \"batch_size\": 60, \"threads\": 1}');")
  big1="$1 s ($2 s)"
  set -- $(trained "$runs" "$db" "SELECT rbm_train('big', 'base', 'user_id', 'item_id', 'rating', '{\"orientation\": \"user\", \"hidden\": 600, \"epochs\": 30, \"batch_size\": 60, \"threads\": 2}');")
  big2="$1 s ($2 s)"
  row "hidden 600, 30 epochs, batch 60 on u1.base, user-based: the statement (rbm_train's own seconds; the statement also stores the 20 MB model)" "1 thread ${big1}, 2 threads ${big2}" ""

  sk="n/a (apt-get install python3-sklearn)"
  if $python -c 'import sklearn' 2>/dev/null; then
    sk_s=$(i=0; while [ $i -lt "$runs" ]; do
      OPENBLAS_NUM_THREADS=1 $python bench/peers/sklearn_rbm.py "$data" | awk '{print $2}'; i=$((i + 1)); done | median)
    sk="scikit-learn BernoulliRBM, dense users x movies likes, hidden 100, batch 100, 10 epochs: ${sk_s} s"
  fi
  b1=$(timed "$runs" "$db" "" "SELECT rbm_train('b1', 'base', 'user_id', 'item_id', 'rating', '{\"orientation\": \"user\", \"visible\": \"binary\", \"hidden\": 100, \"epochs\": 10}');")
  row "binary, hidden 100, batch 100, CD-1, 10 epochs on u1.base" "${b1} s" "$sk"
  num "$sk_s" && num "$b1" && printf '[Binary RBM on u1.base: hidden 100, batch 100, CD-1, 10 epochs | %sx faster]\nrbm, 1 thread %s\nscikit-learn BernoulliRBM %s\n' \
    "$(awk -v a="$sk_s" -v b="$b1" 'BEGIN {printf "%.1f", a / b}')" "$b1" "$sk_s" >> "$peers_fig"
  # The same dense shape as the peer: every user x every item, GEMMs.
  imp='"visible": "implicit", "hidden": 100, "batch_size": 100, "epochs": 10'
  i1=$(timed "$runs" "$db" "" "SELECT rbm_train('i1', 'base', 'user_id', 'item_id', NULL, '{$imp, \"threads\": 1}');")
  i2=$(timed "$runs" "$db" "" "SELECT rbm_train('i1', 'base', 'user_id', 'item_id', NULL, '{$imp, \"threads\": 2}');")
  row "implicit (dense: every user x every item), hidden 100, batch 100, CD-1, 10 epochs on u1.base" \
      "1 thread ${i1} s, 2 threads ${i2} s" "the scikit-learn run above (the same dense shape)"
  ii=$(timed "$runs" "$db" "" "SELECT rbm_train('idf', 'base', 'user_id', 'item_id', NULL, '{\"visible\": \"implicit\", \"threads\": 2}');")
  row "implicit with its defaults (hidden 200, batch 100, 100 epochs) on u1.base, 2 threads" "${ii} s" ""

  for mdl in soft dflt; do
    name=$([ $mdl = soft ] && echo "user-based model" || echo "defaults model (both)")
    predict=$(repeated "$runs" "$db" "" "SELECT sum(rbm_predict('$mdl', user_id, item_id)) FROM test;")
    cold=$(timed 3 "$db" "" "SELECT sum(rbm_predict('$mdl', user_id, item_id)) FROM test;")
    n=$(sqlite3 "$db" "SELECT count(*) FROM test;")
    row "rbm_predict over u1.test ($n rows), SELECT sum(rbm_predict(...)) FROM test, $name" \
        "$(awk -v n="$n" -v t="$predict" 'BEGIN {printf "%.2f M/s", n / t / 1e6}') warm (${predict} s); first statement of a connection ${cold} s" ""
    top=$(repeated "$runs" "$db" "" "SELECT count(*) FROM rbm_recommend('$mdl', (SELECT json_group_array(DISTINCT user_id) FROM base), 10);")
    top_join=$(repeated "$runs" "$db" "" "SELECT count(*) FROM (SELECT DISTINCT user_id FROM base) u, rbm_recommend('$mdl', u.user_id, 10);")
    row "top-10 for all 943 users through SQL, $name" "${top} s as one batch (JSON array), ${top_join} s as a join" ""
  done
else
  row "MovieLens-100K benchmarks" "skipped: $data/u1.base not found" ""
fi

# ---- synthetic MovieLens-25M-shaped tables --------------------------------
for m in $sizes; do
  users=$(awk -v m="$m" 'BEGIN {printf "%d", m * 6480}')
  db="$work/synth_${m}m.db"
  if [ ! -f "$db" ]; then
    ./dist/synth_ratings "$db.tmp" --users "$users" --items 59000 \
      --max-rated 16000 --heldout-pct 0 > /dev/null &&
      sqlite3 "$db.tmp" "CREATE INDEX ratings_user ON ratings(user_id);" &&
      mv "$db.tmp" "$db"
  fi
  n=$(sqlite3 "$db" "SELECT count(*) FROM ratings;")
  : > "$work/synth.txt"
  i=0
  while [ $i -lt "$synth_runs" ]; do  # 1 and 2 threads in turn
    for t in 1 2; do
      out=$(printf '.load dist/rbm\n.timer on\n%s\n' \
        "SELECT rbm_train('m$t', 'ratings', 'user_id', 'item_id', 'rating', '{\"orientation\": \"user\", \"hidden\": 100, \"epochs\": 1, \"threads\": $t}');" |
        /usr/bin/time -f "rss_kb %M" sqlite3 -batch "$db" 2>&1)
      echo "$t $(echo "$out" | last_time)" \
        "$(echo "$out" | grep -o '"seconds":[0-9.]*' | cut -d: -f2)" \
        "$(echo "$out" | grep -o '"ingest_seconds":[0-9.]*' | cut -d: -f2)" \
        "$(echo "$out" | awk '/^rss_kb/ {printf "%.0f", $2 / 1024}')" >> "$work/synth.txt"
    done
    i=$((i + 1))
  done
  for t in 1 2; do
    col() { awk -v t="$t" -v c="$1" '$1 == t {print $c}' "$work/synth.txt" | median; }
    eval "wall_$t=$(col 2) train_$t=$(col 3) ingest_$t=$(col 4)"
    eval "rss_$t=$(awk -v t="$t" '$1 == t && $5 > m {m = $5} END {print m}' "$work/synth.txt")"
  done
  top=$(repeated 3 "$db" "" "SELECT count(*) FROM rbm_recommend('m2', (SELECT json_group_array(user_id) FROM (SELECT user_id FROM users LIMIT 1000)), 10);")
  row "synthetic ${m}M ($n ratings, $users users, 59k items): ingest + 1 epoch, user-based, hidden 100, CD-1 (rbm_train's \"seconds\"; then the whole statement, which also stores the model blob); medians of $synth_runs runs, peak RSS the largest" \
      "1 thread ${train_1} s (ingest ${ingest_1} s; statement ${wall_1} s, peak RSS ${rss_1} MB); 2 threads ${train_2} s (ingest ${ingest_2} s; statement ${wall_2} s, peak RSS ${rss_2} MB); 2 vs 1: $(awk -v a="$train_1" -v b="$train_2" 'BEGIN {printf "%.2f", a / b}')x ($(awk -v a="$wall_1" -v b="$wall_2" 'BEGIN {printf "%.2f", a / b}')x for the statement)" ""
  row "synthetic ${m}M: top-10 for 1,000 users" "${top} s" ""
  for t in 1 2; do  # one epoch: rbm_train's seconds less reading the source
    eval "s=\$train_$t i=\$ingest_$t"
    num "$s" && num "$i" &&
      awk -v n="$n" -v s="$s" -v i="$i" 'BEGIN {printf "%.6f %.3f\n", n / 1e6, s - i}' >> "$sizes_fig.$t"
  done
done

# ---- serving: one request, one statement ---------------------------------
# Each figure is bench/serve.c on its own connection: p50 and p99 over
# RBM_BENCH_SERVE_N requests (default 1000), each one statement on a
# prepared statement, after a warm-up that includes one rbm_recommend; and
# the connection's first request (model decoded, caches built).  The
# tables are indexed as the README's Serving section advises, and the
# models (user-based, item-based, and the default 'both', each with the
# default options but 2 epochs: serving costs the same whatever the
# epochs) are kept in the database between runs.
serve_n=${RBM_BENCH_SERVE_N:-1000}
serving_db() {  # serving_db DB TABLE: the advised indexes and three models
  sqlite3 "$1" "CREATE INDEX IF NOT EXISTS $2_by_user ON $2(user_id, item_id, rating);" \
               "CREATE INDEX IF NOT EXISTS $2_by_item ON $2(item_id, user_id, rating);"
  for o in user item both; do
    have=$(sqlite3 "$1" "SELECT count(*) FROM rbm_models WHERE name = 'serve_$o'" 2>/dev/null)
    [ "$have" = 1 ] && continue
    printf '.load dist/rbm\nSELECT length(rbm_train(%s));\n' \
      "'serve_$o', '$2', 'user_id', 'item_id', 'rating', '{\"orientation\": \"$o\", \"epochs\": 2, \"threads\": 2}'" |
      sqlite3 -batch "$1" > /dev/null
  done
}
serve_ms() {  # serve_ms DB MODEL TABLE MODE: "p50 / p99 ms|first ms"
  ./dist/serve "$1" "$2" "$3" user_id item_id rating --mode "$4" --n "$serve_n" 2>&1 |
    awk '{print $2 " / " $4 " ms|" $6}'
}
serving_rows() {  # serving_rows DB TABLE LABEL
  for o in user item both; do
    name=$(case $o in user) echo "user-based model";; item) echo "item-based model";;
           both) echo "default model (both)";; esac)
    p=$(serve_ms "$1" "serve_$o" "$2" predict)
    r=$(serve_ms "$1" "serve_$o" "$2" recommend)
    i=$(serve_ms "$1" "serve_$o" "$2" insert)
    row "serving on $3, $name, hidden 200: one statement on a warm connection, p50 / p99 (the connection's first request)" \
        "rbm_predict ${p%|*} (first ${p#*|} ms); rbm_recommend(..., 10) ${r%|*} (first ${r#*|} ms); insert one rating, then rbm_predict ${i%|*}" ""
  done
}

if [ -f "$data/u1.base" ]; then
  db="$work/ml100k_serve.db"
  rm -f "$db"
  sqlite3 -batch "$db" "CREATE TABLE base(user_id INTEGER, item_id INTEGER, rating INTEGER, ts INTEGER);" \
    ".mode tabs" ".import $data/u1.base base"
  serving_db "$db" base
  serving_rows "$db" base "ml-100k u1.base"
fi
for m in $serve_sizes; do
  users=$(awk -v m="$m" 'BEGIN {printf "%d", m * 6480}')
  db="$work/serve_${m}m.db"
  if [ ! -f "$db" ]; then
    ./dist/synth_ratings "$db.tmp" --users "$users" --items 59000 \
      --max-rated 16000 --heldout-pct 0 > /dev/null && mv "$db.tmp" "$db"
  fi
  serving_db "$db" ratings
  serving_rows "$db" ratings "synthetic ${m}M"
done
# The cost of a source without an index: a view that no index can serve,
# over the same 25M (or largest) table; a user-based model on it.
m=$(echo "$serve_sizes" | awk '{print $NF}')
db="$work/serve_${m}m.db"
if [ -f "$db" ]; then
  sqlite3 "$db" "CREATE VIEW IF NOT EXISTS unindexed AS SELECT user_id + 0 AS user_id, item_id + 0 AS item_id, rating FROM ratings;"
  have=$(sqlite3 "$db" "SELECT count(*) FROM rbm_models WHERE name = 'serve_unindexed'")
  [ "$have" = 1 ] || printf '.load dist/rbm\nSELECT length(rbm_train(%s));\n' \
      "'serve_unindexed', 'unindexed', 'user_id', 'item_id', 'rating', '{\"orientation\": \"user\", \"epochs\": 2, \"threads\": 2}'" |
      sqlite3 -batch "$db" > /dev/null
  out=$(./dist/serve "$db" serve_unindexed unindexed user_id item_id rating --mode insert --insert-into ratings --n 3 --warm 1 2>&1)
  row "serving on synthetic ${m}M without an index on the user column (a view no index serves), user-based model: the connection's first rbm_predict; then insert one rating + rbm_predict (the source is read whole again)" \
      "first $(echo "$out" | awk '{print $6}') ms; after a write $(echo "$out" | awk '{print $2}') ms (median of 3)" ""
fi

# ---- feature models: Fashion-MNIST and digits ------------------------------
# Fashion-MNIST (Debian's dataset-fashion-mnist; installed here as root when
# missing), loaded through SQL by examples/load_fashion_mnist.sh.  rbm_fit:
# a 256-hidden Bernoulli RBM, batch 100, CD-1, 10 epochs, 2 threads, then
# the softmax head; seconds per epoch of the CD steps (the summary's
# epoch_seconds) and their GFLOP/s, against OpenBLAS sgemm alone on the
# same GEMMs (dist/sgemm) and scikit-learn's BernoulliRBM (same shape,
# float32) in the same run.
fashion=/usr/share/datasets/fashion-mnist
if [ ! -f "$fashion/train-images-idx3-ubyte.gz" ] && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist > /dev/null 2>&1
fi
if [ -f "$fashion/train-images-idx3-ubyte.gz" ]; then
  fdb="$work/fashion.db"
  [ -f "$fdb" ] || sh examples/load_fashion_mnist.sh "$fdb" "$fashion" > /dev/null
  fit_fashion() {  # NAME OPTIONS: "epoch_seconds gflops accuracy"
    printf '.load dist/rbm\nSELECT json_extract(s, "$.epoch_seconds"), ifnull(json_extract(s, "$.gflops"), 0) FROM (SELECT rbm_fit(%s, %s, %s, %s) AS s);\nSELECT avg(rbm_classify(%s, pixels) = label) FROM test;\n' \
      "'$1'" "'train'" "'pixels'" "'$2'" "'$1'" |
      sqlite3 -batch -separator ' ' "$fdb" 2>&1 | tr '\n' ' '
  }
  : > "$work/fashion.txt"
  i=0
  while [ $i -lt 3 ]; do
    fit_fashion fm '{"label": "label", "hidden": 256, "epochs": 10, "batch_size": 100, "threads": 2}' >> "$work/fashion.txt"
    echo >> "$work/fashion.txt"
    ./dist/sgemm 100 784 256 2 2 >> "$work/sgemm.txt"
    i=$((i + 1))
  done
  fm_epoch=$(awk '{print $1}' "$work/fashion.txt" | median)
  fm_gflops=$(awk '{print $2}' "$work/fashion.txt" | median)
  fm_acc=$(awk '{print $3}' "$work/fashion.txt" | median)
  sgemm=$(awk '{print $2}' "$work/sgemm.txt" | median)
  rm -f "$work/sgemm.txt"
  set -- $(fit_fashion fm_raw '{"label": "label", "hidden": 0}')
  fm_raw=$3
  set -- $(fit_fashion fm_gauss '{"label": "label", "hidden": 256, "epochs": 10, "visible": "gaussian", "threads": 2}')
  fm_gauss=$3
  peer=$($python bench/peers/sklearn_fashion.py "$fashion" --raw 2>/dev/null | tr '\n' ' ')
  sk_epoch=$(echo "$peer" | awk '{print $2}')
  sk_acc=$(echo "$peer" | awk '{print $4}')
  sk_raw=$(echo "$peer" | awk '{print $6}')
  row "Fashion-MNIST 60,000 x 784, Bernoulli RBM 256 hidden, batch 100, CD-1, 2 threads: seconds per epoch (median of 3)" \
    "${fm_epoch} s ($(awk -v a="$sk_epoch" -v b="$fm_epoch" 'BEGIN {if (a > 0 && b > 0) printf "%.2fx", a / b; else print "n/a"}') faster)" \
    "scikit-learn BernoulliRBM: ${sk_epoch:-n/a} s"
  num "$sk_epoch" && num "$fm_epoch" && printf '[Fashion-MNIST 60,000 x 784: 256 hidden, batch 100, CD-1, one epoch | %s faster]\nrbm, 2 threads %s\nscikit-learn BernoulliRBM %s\n' \
    "$(awk -v a="$sk_epoch" -v b="$fm_epoch" 'BEGIN {printf "%.2fx", a / b}')" "$fm_epoch" "$sk_epoch" >> "$peers_fig"
  row "the same: GFLOP/s of the CD steps, against OpenBLAS sgemm alone on the same GEMMs" \
    "${fm_gflops} ($(awk -v a="$fm_gflops" -v b="$sgemm" 'BEGIN {if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a"}') of sgemm)" \
    "sgemm ${sgemm} GFLOP/s"
  row "Fashion-MNIST test accuracy: RBM 256 features + softmax head (10 epochs, as scikit-learn)" "${fm_acc}" "scikit-learn BernoulliRBM(256) + LogisticRegression: ${sk_acc:-n/a}"
  row "Fashion-MNIST test accuracy: head on raw pixels; Gaussian units on standardised pixels + head" "raw ${fm_raw}; Gaussian ${fm_gauss}" "scikit-learn LogisticRegression on raw pixels: ${sk_raw:-n/a}"
  # The defaults (20 epochs, the rate decaying): the default seed (42) and
  # seeds 1 and 2, the median and the lowest.
  : > "$work/fashion_defaults.txt"
  for seed in 42 1 2; do
    set -- $(fit_fashion fm_defaults "{\"label\": \"label\", \"threads\": 2, \"seed\": $seed}")
    echo "$3" >> "$work/fashion_defaults.txt"
  done
  row "Fashion-MNIST test accuracy, RBM 256 features + head with the defaults (20 epochs): seeds 42 (the default), 1, 2, median (lowest)" \
    "$(median < "$work/fashion_defaults.txt") ($(sort -g "$work/fashion_defaults.txt" | head -1))" ""
else
  row "Fashion-MNIST" "not run: dataset-fashion-mnist is not installed" ""
fi
digits=${RBM_DIGITS:-../shared/data/digits}
if [ -f "$digits/train.csv" ]; then
  out=$(sh tests/digits.sh 2>&1)
  row "digits (shared/data/digits) test accuracy, defaults: RBM features + head; raw-pixel head; Gaussian units" \
    "$(echo "$out" | awk '$2 == "accuracy" {printf "%.4f; %.4f; %.4f", $3, $4, $5}')" \
    "scikit-learn's pipeline 0.933, raw logistic regression 0.782 (data/digits/README.md)"
fi

# ---- top-N: the implicit RBM against EASE^R, item-kNN, popularity -----------
# bench/topn.sh on its six data shapes (its databases and the peers' figures
# kept in $work/topn between runs); its tables go below this run's table.
rm -f "$work/topn.md"
RBM_BENCH_DIR="$work" sh bench/topn.sh > "$work/topn.out" 2>&1 || rm -f "$work/topn.md"
row "top-N on six data shapes (bench/topn.sh): the implicit RBM against EASE^R, item-kNN and popularity" \
    "$([ -s "$work/topn.md" ] && echo "the tables under [Top-N](#top-n-the-implicit-rbm-against-easer-item-knn-and-popularity)" || echo "failed: $work/topn.out")" ""

latency_end=$(./dist/core_latency 2>/dev/null || echo "?")

# ---- the charts (dist/chart), next to bench/RESULTS.md ----------------------
when=$(date -u '+%Y-%m-%d %H:%M UTC')
charts=""
if [ -s "$peers_fig" ] &&
   ./dist/chart bars --title "Training time: rbm against its peers" \
     --subtitle "make bench, $when, $(nproc) cores; medians of $runs runs (Fashion-MNIST: of 3)" \
     --x-label "seconds (lower is better)" --unit s < "$peers_fig" > "$work/chart.svg"; then
  mv "$work/chart.svg" bench/training_vs_peers.svg
  charts="$charts training_vs_peers"
fi
if [ -s "$sizes_fig.1" ] &&
   { echo "[1 thread]"; cat "$sizes_fig.1"; echo "[2 threads]"; cat "$sizes_fig.2"; } |
     ./dist/chart lines --zero --title "Time per epoch against table size" \
       --subtitle "make bench, $when; synthetic, 59k items; user-based, hidden 100, CD-1" \
       --x-label "ratings in the table (millions)" --y-label "seconds per epoch" > "$work/chart.svg"; then
  mv "$work/chart.svg" bench/epoch_time_by_size.svg
  charts="$charts epoch_time_by_size"
fi

# ---- the record ---------------------------------------------------------
{
  echo "# Benchmark results"
  echo
  echo "Made by \`make bench\` (bench/run.sh) on $when; medians of $runs runs."
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(. /etc/os-release; echo "$PRETTY_NAME")."
  echo "SQLite $(sqlite3 --version | cut -d' ' -f1); $(sqlite3 :memory: '.load dist/rbm' 'SELECT rbm_debug();' | grep -E '^(blas|build):' | tr '\n' ';' | sed 's/;$//; s/;/; /')."
  echo
  echo "This machine is a shared VM whose speed drifts by tens of percent over"
  echo "minutes (the PyTorch peer took 3.8 to 5.0 s in runs an hour apart), so the"
  echo "ratios within one run are the figures to compare, not single times across"
  echo "runs.  \`make bench\` reproduces the table (about twelve minutes; the synthetic"
  echo "databases are kept in dist/bench between runs)."
  echo
  echo "Core-to-core round trip of a cache line (bench/core_latency.c): ${latency_start} ns"
  echo "at the start of this run, ${latency_end} ns at the end.  It is about 110 ns when"
  echo "the host puts the two vCPUs on cores that share a cache and about 500 ns when"
  echo "it does not; in the second case what one thread writes and the other reads"
  echo "crosses slowly, and the 2-thread figures are the worse for it."
  echo
  for c in $charts; do  # drawn from this run's figures
    case $c in
      training_vs_peers) echo "![Training time: rbm against its peers](training_vs_peers.svg)";;
      epoch_time_by_size) echo "![Time per epoch against table size: synthetic tables of 1M, 5M and 25M ratings](epoch_time_by_size.svg)";;
    esac
    echo
  done
  cat "$table"
  [ -s "$work/topn.md" ] && { echo; cat "$work/topn.md"; }
} > bench/RESULTS.md
echo
echo "written: bench/RESULTS.md"
