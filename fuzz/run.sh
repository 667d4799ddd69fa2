#!/bin/sh
# Runs every fuzz target for FUZZ_SECONDS (default 60) each, from its seeds
# in fuzz/corpus/<target> plus what earlier runs found (dist/fuzz/work, not
# kept in the repository), and prints one line per target:
#   <target>: <executions> runs, <cov> edges, <ft> features, <n> inputs, clean
# A crash, leak, sanitizer report or timeout stops that target; its input
# is saved as dist/fuzz/crashes/<target>-*, and the script exits 1.
#   sh fuzz/run.sh [target ...]
cd "$(dirname "$0")/.." || exit 1
seconds=${FUZZ_SECONDS:-60}
targets=${*:-"blob options schedule vtab_args vectors"}
mkdir -p dist/fuzz/crashes
failed=0
for t in $targets; do
  [ -x "dist/fuzz/$t" ] || { echo "$t: not built (make fuzz builds it)"; failed=1; continue; }
  mkdir -p "dist/fuzz/work/$t"
  log="dist/fuzz/$t.log"
  # -timeout: one input; the targets' own watchdog stops a statement after
  # 2 s, so 30 s is a hang.  -rss_limit_mb: the default 2 GB, doubled for
  # OpenBLAS's buffers.
  "./dist/fuzz/$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="dist/fuzz/crashes/$t-" \
    "dist/fuzz/work/$t" "fuzz/corpus/$t" > "$log" 2>&1
  rc=$?
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
  if [ $rc = 0 ]; then
    echo "$t: ${runs:-?} runs, ${cov:-?} edges, ${ft:-?} features, ${corp:-?} inputs, clean"
  else
    echo "$t: FAILED (exit $rc) after ${runs:-?} runs; see $log"
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -5 | sed 's/^/  /'
    failed=1
  fi
done
exit $failed
