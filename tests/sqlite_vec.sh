#!/bin/sh
# rbm next to sqlite-vec: rbm_transform's float32 BLOBs go into a vec0
# table as they are, and a KNN query over them finds neighbours of the
# same class; vec functions take rbm's vectors, which carry sqlite-vec's
# float32 subtype, as vec_f32()'s.  sqlite-vec comes from the npm registry
# (sqlite-vec-linux-x64, vec0.so), fetched once into dist/npm; SKIPPED
# where npm cannot get it.  RBM_SQLITE3 names another shell
# (tests/sqlite_new.sh runs this in a newer SQLite).
cd "$(dirname "$0")/.." || exit 1
SQLITE3=${RBM_SQLITE3:-sqlite3}
VEC_VERSION=0.1.9
dir=dist/npm/sqlite-vec-$VEC_VERSION
if [ ! -f "$dir/package/vec0.so" ]; then
  if ! command -v npm > /dev/null 2>&1; then
    echo "SKIPPED: npm is not installed (sqlite-vec comes from the npm registry)"
    exit 0
  fi
  mkdir -p "$dir"
  if ! (cd "$dir" && timeout 120 npm pack --silent "sqlite-vec-linux-x64@$VEC_VERSION" > /dev/null 2>&1 &&
        tar xzf sqlite-vec-linux-x64-$VEC_VERSION.tgz); then
    rm -rf "$dir"
    echo "SKIPPED: npm could not fetch sqlite-vec-linux-x64@$VEC_VERSION"
    exit 0
  fi
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
LD_PRELOAD="${SQLITE_PRELOAD:-}" "$SQLITE3" -batch "$tmp/v.db" > "$tmp/out" 2>&1 <<SQL
.load dist/rbm
.load $dir/package/vec0
.mode list
.separator " "
-- 300 vectors of 12 features, three planted classes (as tests/sql/features.sql).
CREATE TABLE items(id INTEGER PRIMARY KEY, kind INTEGER, v BLOB);
INSERT INTO items
SELECT r.value, r.value % 3,
       rbm_vector_agg(f.value, min(1.0, max(0.0,
         CASE WHEN f.value % 3 = r.value % 3 THEN 0.85 ELSE 0.1 END
         + ((r.value * 7 + f.value * 13) % 11 - 5) / 50.0)))
  FROM generate_series(1, 300) r, generate_series(0, 11) f GROUP BY r.value;
SELECT 'vec', vec_version();
SELECT 'fit', json_extract(rbm_fit('m', 'items', 'v', '{"hidden": 16, "epochs": 30}'), '\$.hidden');
CREATE VIRTUAL TABLE hidden USING vec0(id INTEGER PRIMARY KEY, h float[16]);
INSERT INTO hidden SELECT id, rbm_transform('m', v) FROM items;
SELECT 'rows', count(*) FROM hidden;
-- rbm's vectors as sqlite-vec sees them, next to vec_f32()'s.
SELECT 'types', vec_type(rbm_transform('m', v)), vec_length(rbm_transform('m', v)),
       subtype(rbm_transform('m', v)), subtype(vec_f32(rbm_transform('m', v))),
       vec_type(rbm_vector_u8(x'00ff')), subtype(rbm_vector_u8(x'00ff'))
  FROM items WHERE id = 1;
SELECT 'same', vec_to_json(rbm_reconstruct('m', v)) = vec_to_json(vec_f32(rbm_vector_to_json(rbm_reconstruct('m', v)))),
       vec_distance_l2(rbm_transform('m', v), vec_f32(rbm_transform('m', v)))
  FROM items WHERE id = 1;
-- Each of the first 60 items' 5 nearest others by their hidden vectors.
CREATE TABLE knn AS
SELECT q.id AS query, q.kind AS kind, n.id AS neighbour
  FROM items q JOIN hidden n ON n.h MATCH rbm_transform('m', q.v) AND n.k = 6
 WHERE q.id <= 60 AND n.id != q.id;
SELECT 'knn', count(*), avg(i.kind = knn.kind) FROM knn JOIN items i ON i.id = knn.neighbour;
SQL
sed 's/^/# /' "$tmp/out"
awk '
  function check(ok, what) { print (ok ? "ok" : "not ok") " - " what; if (!ok) bad = 1 }
  $1 == "rows" { rows = $2 }
  $1 == "types" { types = $2 " " $3 " " $4 " " $5 " " $6 " " $7 }
  $1 == "same" { same_json = $2; dist = $3 }
  $1 == "knn" { n = $2; same = $3 }
  END {
    check(rows == 300, "rbm_transform BLOBs go into a vec0 float[16] column as they are")
    check(types == "float32 16 223 223 float32 223",
          "vec_type, vec_length and subtype read rbm vectors as vec_f32 vectors (" types ")")
    check(same_json == 1 && dist == 0, "vec_to_json and vec_distance_l2 agree with vec_f32")
    check(n >= 300 && same >= 0.9, "KNN over the hidden vectors finds the same class (" same " of " n ")")
    exit bad
  }' "$tmp/out"
