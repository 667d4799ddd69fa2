#!/bin/sh
# The engine's behaviour, byte for byte: tests/golden/blobs.sql trains one
# model of each kind (softmax user, item and both; binary, with and without
# split rows; implicit; hidden 600; PCD; CD-17 with schedules; validation)
# and the SHA3-256 of each stored blob must equal the one recorded in
# tests/golden/blobs.KEY.sha3 before the engine was reshaped (issue 12).
#
# Float results depend on which clone of the hot loops the CPU runs and on
# OpenBLAS's kernels, so KEY names both: the instruction set level and
# OPENBLAS_CORETYPE.  Where no hashes were recorded for this machine's key,
# or in a sanitizer build (other optimisation, other sums), it says SKIPPED.
#
#   sh tests/blobs.sh            compare
#   sh tests/blobs.sh --record   write this machine's hashes (only from a
#                                build whose behaviour is the reference)
cd "$(dirname "$0")/.." || exit 1

flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has() { for f in "$@"; do echo "$flags" | grep -qw "$f" || return 1; done; }
if has avx512f avx512bw avx512cd avx512dq avx512vl; then isa=x86-64-v4
elif has avx2 fma bmi2 movbe; then isa=x86-64-v3
else isa=$(uname -m); fi
key="$isa.${OPENBLAS_CORETYPE:-auto}"
golden="tests/golden/blobs.$key.sha3"

if [ "${RBM_SANITIZE:-0}" = 1 ]; then
  echo "SKIPPED: a sanitizer build sums in another order"; exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sqlite3 -batch "$tmp/b.db" < tests/golden/blobs.sql > "$tmp/got" 2>&1 || {
  cat "$tmp/got"; exit 1; }
if [ "${1:-}" = --record ]; then
  cp "$tmp/got" "$golden" && echo "recorded $golden"; exit $?
fi
if [ ! -f "$golden" ]; then
  echo "SKIPPED: no hashes recorded for $key"; exit 0
fi
if diff -u "$golden" "$tmp/got"; then
  echo "$(grep -c . "$golden") lines equal $golden"
else
  echo "the models differ from the recorded ones ($golden)"; exit 1
fi
