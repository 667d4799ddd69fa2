#!/bin/sh
# Loads Fashion-MNIST into a SQLite database, through SQL:
#   sh examples/load_fashion_mnist.sh fashion.db [DIR]
# makes tables train (60,000 rows) and test (10,000 rows) of
#   id INTEGER PRIMARY KEY, label INTEGER (0-9), pixels BLOB
# where pixels is 784 floats in [0, 1] (a float32 BLOB, row-major 28 x 28).
# DIR holds the four idx files, gzipped or not (default: Debian's
# dataset-fashion-mnist, /usr/share/datasets/fashion-mnist).  The shell
# unzips them; SQL slices each image out of the file with substr() and
# turns its bytes into floats with rbm_vector_u8().  (SQLITE_PRELOAD, as
# tests/run.sh sets it, is preloaded into the shell.)
set -e
db=${1:?usage: load_fashion_mnist.sh DB [DIR]}
dir=${2:-/usr/share/datasets/fashion-mnist}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [ -f "$dir/$f.gz" ]; then gzip -dc "$dir/$f.gz" > "$tmp/$f"
  elif [ -f "$dir/$f" ]; then cp "$dir/$f" "$tmp/$f"
  else echo "load_fashion_mnist: $dir/$f(.gz) not found" >&2; exit 1; fi
done
load() {  # load TABLE PREFIX COUNT
  LD_PRELOAD="${SQLITE_PRELOAD:-}" sqlite3 -batch "$db" <<SQL
.load $here/dist/rbm
.parameter init
.parameter set @images readfile('$tmp/$2-images-idx3-ubyte')
.parameter set @labels readfile('$tmp/$2-labels-idx1-ubyte')
DROP TABLE IF EXISTS $1;
CREATE TABLE $1(id INTEGER PRIMARY KEY, label INTEGER, pixels BLOB);
-- idx: images after a 16-byte header, labels after an 8-byte one; a byte
-- is found as its place in x'00010203...'.
INSERT INTO $1
SELECT value, instr(x'00010203040506070809', substr(@labels, 9 + value, 1)) - 1,
       rbm_vector_u8(substr(@images, 17 + 784 * value, 784))
  FROM generate_series(0, $3 - 1);
SQL
}
load train train 60000
load test t10k 10000
LD_PRELOAD="${SQLITE_PRELOAD:-}" sqlite3 -batch "$db" "SELECT 'loaded', (SELECT count(*) FROM train), (SELECT count(*) FROM test);"
