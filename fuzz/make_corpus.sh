#!/bin/sh
# Writes the seed corpus of each fuzz target into fuzz/corpus/<target>/
# with the extension as built (dist/rbm.so): real model blobs of every
# kind, and typical option strings, schedules, virtual-table arguments and
# vectors.  The seeds are kept in the repository; run this again when the
# blob format changes.
cd "$(dirname "$0")/.." || exit 1
[ -f dist/rbm.so ] || make -s dist/rbm.so || exit 1
c=fuzz/corpus
mkdir -p $c/blob $c/options $c/schedule $c/vtab_args $c/vectors
sqlite3 -batch :memory: > /dev/null <<SQL || exit 1
.load dist/rbm
CREATE TABLE r(u INTEGER, i TEXT, x REAL);
WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < 60)
INSERT INTO r SELECT k % 6, 'item' || (k % 5), 1 + k % 5 FROM s;
SELECT rbm_train('softmax', 'r', 'u', 'i', 'x', '{"hidden": 2, "epochs": 1, "orientation": "user"}');
SELECT rbm_train('item', 'r', 'u', 'i', 'x', '{"hidden": 2, "epochs": 1, "orientation": "item"}');
SELECT rbm_train('both', 'r', 'u', 'i', 'x', '{"hidden": 2, "epochs": 1}');
SELECT rbm_train('binary', 'r', 'u', 'i', 'x', '{"hidden": 2, "epochs": 1, "visible": "binary", "orientation": "user"}');
SELECT rbm_train('implicit', 'r', 'u', 'i', NULL, '{"hidden": 2, "epochs": 1, "visible": "implicit"}');
CREATE TABLE t(v TEXT, label INTEGER);
WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < 12)
INSERT INTO t SELECT json_array(k % 2, (k / 2) % 2, 0.5, 0.25), k % 2 FROM s;
SELECT rbm_fit('dense', 't', 'v', '{"hidden": 2, "epochs": 1, "label": "label"}');
SELECT rbm_fit('gaussian', 't', 'v', '{"hidden": 2, "epochs": 1, "visible": "gaussian"}');
SELECT rbm_fit('head', 't', 'v', '{"hidden": 0, "label": "label"}');
SELECT writefile('$c/blob/' || name, model) FROM rbm_models;
SQL
w() { printf '%s' "$2" > "$c/$1"; }
w options/train '{"hidden": 8, "epochs": 3, "learning_rate": 0.01, "momentum": 0.9}'
w options/ramp '{"momentum_start": 0.5, "momentum_epochs": 5, "lr_decay": 0.1, "weight_decay": 0.001}'
w options/validation '{"validation": 0.2, "patience": 3, "seed": 7, "threads": 2, "verbose": true}'
w options/visible '{"visible": "implicit", "orientation": "user", "like_threshold": 4}'
w options/fit '{"label": "label", "hidden": 0, "l2": 1e-4, "head_iterations": 50, "visible": "gaussian"}'
w options/pcd '{"pcd": true, "cd_k": [[1, 1], [3, 3]], "batch_size": 10}'
w options/evaluate '{"k": 5}'
w schedule/number '3'
w schedule/steps '[[1, 1], [5, 3], [10, 9]]'
w schedule/object '{"1": 2}'
w vtab_args/ratings 'source=r, user=u, item=i, rating=x, hidden=4, epochs=2'
w vtab_args/implicit 'source=r, user=u, item=i, visible=implicit, threads=2'
w vtab_args/quoted "source='r', user=\"u\", item=i, rating=x, cd_k='[[1,1],[2,2]]'"
w vectors/json '[0.1, 0.2, 0.3, 0.4]'
w vectors/object '{"0": 1, "3": 0.5}'
w vectors/pairs '[[0, 1.5], [5, 2], [2, -1]]'
printf '\000\000\000\077\000\000\200\076\000\000\000\000\000\000\200\077' > $c/vectors/float32
ls $c/* | wc -l
