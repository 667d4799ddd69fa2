#!/bin/sh
# Fashion-MNIST at full size through SQL, quickly: the loader
# (examples/load_fashion_mnist.sh) makes 60,000 + 10,000 rows of 784-float
# BLOBs, rbm_fit trains a small model on them (64 hidden units, 2 epochs,
# 100 head iterations) and classifies the test images: a test of the whole
# path at full size.  The quality and speed figures are make bench's.
#   loaded counts 60000 / 10000, pixels 3136 bytes, labels 0-9 x 6000
#   test accuracy >= 0.75 (chance is 0.10; the full model's 0.86 is make bench's)
# Debian's dataset-fashion-mnist is installed as root when missing;
# SKIPPED where it cannot be had.
cd "$(dirname "$0")/.." || exit 1
fashion=${RBM_FASHION:-/usr/share/datasets/fashion-mnist}
if [ ! -f "$fashion/train-images-idx3-ubyte.gz" ] && [ "$(id -u)" = 0 ] &&
   [ "$fashion" = /usr/share/datasets/fashion-mnist ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist > /dev/null 2>&1
fi
if [ ! -f "$fashion/train-images-idx3-ubyte.gz" ] && [ ! -f "$fashion/train-images-idx3-ubyte" ]; then
  echo "SKIPPED: Fashion-MNIST not found at $fashion (apt-get install dataset-fashion-mnist)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh examples/load_fashion_mnist.sh "$tmp/f.db" "$fashion" > /dev/null || exit 1
LD_PRELOAD="${SQLITE_PRELOAD:-}" sqlite3 -batch -separator ' ' "$tmp/f.db" > "$tmp/out" 2>&1 <<'SQL'
.load dist/rbm
SELECT 'loaded', (SELECT count(*) FROM train), (SELECT count(*) FROM test),
       (SELECT min(length(pixels)) = 3136 AND max(length(pixels)) = 3136 FROM train),
       (SELECT count(DISTINCT label) || ':' || min(n) || ':' || max(n)
          FROM (SELECT label, count(*) AS n FROM train GROUP BY label));
SELECT 'fit', json_extract(s, '$.rows'), json_extract(s, '$.features')
  FROM (SELECT rbm_fit('fm', 'train', 'pixels',
                       '{"label": "label", "hidden": 64, "epochs": 2, "head_iterations": 100}') AS s);
SELECT 'accuracy', avg(rbm_classify('fm', pixels) = label) FROM test;
SQL
sed 's/^/# /' "$tmp/out"
awk '
  function check(ok, what) { print (ok ? "ok" : "not ok") " - " what; if (!ok) bad = 1 }
  $1 == "loaded" { train = $2; test = $3; bytes = $4; labels = $5 }
  $1 == "fit" { rows = $2; features = $3 }
  $1 == "accuracy" { acc = $2 }
  END {
    check(train == 60000 && test == 10000 && bytes == 1 && labels == "10:6000:6000",
          "the loader makes 60,000 + 10,000 rows of 784 floats, 6,000 of each class")
    check(rows == 60000 && features == 784, "rbm_fit reads them all")
    check(acc >= 0.75, "a small model classifies the test images (" acc " >= 0.75)")
    exit bad
  }' "$tmp/out"
