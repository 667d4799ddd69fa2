#!/bin/sh
# rbm next to sqlite-vec: rbm_transform's float32 BLOBs go into a vec0
# table as they are, and a KNN query over them finds neighbours of the
# same class; vec functions take rbm's vectors, which carry sqlite-vec's
# float32 subtype, as vec_f32()'s.  A rating model's item vectors
# (rbm_embedding) go into a vec0 table with distance_metric=cosine, and for
# every item its KNN neighbours there are rbm_similar's list.  sqlite-vec
# comes from the npm registry (sqlite-vec-linux-x64, vec0.so), fetched once
# into dist/npm; SKIPPED where npm cannot get it.  RBM_SQLITE3 names another
# shell (tests/sqlite_new.sh runs this in a newer SQLite).
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

# Rating models.  compare MODEL FLOATS: MODEL's item vectors into a vec0
# table, each item's 10 nearest others there (by cosine distance, ties by
# id), and rbm_similar's 10 for it, rank by rank: how many lists are the
# same, and whether the similarities agree rank by rank (1 - distance)
# and pair by pair (vec_distance_cosine of the two stored vectors).
compare() {
  m=$1; dim=$2
  cat <<SQL
CREATE VIRTUAL TABLE vec_$m USING vec0(id INTEGER PRIMARY KEY, e float[$dim] distance_metric=cosine);
INSERT INTO vec_$m SELECT item_id, rbm_embedding('$m', 'item', item_id) FROM (SELECT DISTINCT item_id FROM ratings);
SELECT 'stored', '$m', count(*), (SELECT length(rbm_embedding('$m', 'item', 1)) / 4) FROM vec_$m;
CREATE TABLE sim_$m AS SELECT q.id AS query, s.rowid AS rank, s.item, s.similarity
  FROM vec_$m q, rbm_similar('$m', q.id, 10) s;
SELECT 'groups', '$m', count(*), avg(item % 4 = query % 4) FROM sim_$m;
CREATE TABLE knn_$m AS
SELECT query, row_number() OVER (PARTITION BY query ORDER BY distance, item) AS rank, item, distance FROM (
  SELECT q.id AS query, n.id AS item, n.distance FROM vec_$m q JOIN vec_$m n ON n.e MATCH q.e AND n.k = 11
   WHERE n.id != q.id);
CREATE TABLE cmp_$m AS
SELECT s.query, s.rank, s.item AS s_item, k.item AS k_item, s.similarity, 1 - k.distance AS k_sim
  FROM sim_$m s JOIN knn_$m k ON k.query = s.query AND k.rank = s.rank;
SELECT 'agree', '$m', (SELECT count(*) FROM vec_$m), count(*),
       (SELECT count(*) FROM (SELECT 1 FROM cmp_$m GROUP BY query HAVING sum(s_item = k_item) = 10)),
       sum(abs(similarity - k_sim) < 1e-5),
       (SELECT sum(abs(s.similarity - (1 - vec_distance_cosine(a.e, b.e))) < 1e-5)
          FROM sim_$m s JOIN vec_$m a ON a.id = s.query JOIN vec_$m b ON b.id = s.item)
  FROM cmp_$m;
SQL
}
# 300 users, 200 items, four planted groups (user % 4, item % 4): users
# rate their group's items more often (4 in 10 against 1 in 10), 4 or 5,
# and the others 1 to 3.  Models of each orientation, hidden 16.
{ cat <<SQL
.load dist/rbm
.load $dir/package/vec0
.mode list
.separator " "
CREATE TABLE ratings(user_id INTEGER, item_id INTEGER, rating INTEGER);
INSERT INTO ratings
SELECT u.value, i.value,
       CASE WHEN u.value % 4 = i.value % 4 THEN 4 + (u.value + i.value) % 2
            ELSE 1 + (u.value * 3 + i.value) % 3 END
  FROM generate_series(1, 300) u, generate_series(1, 200) i
 WHERE (u.value * 7919 + i.value * 104729) % 100 < iif(u.value % 4 = i.value % 4, 40, 10);
SELECT 'trained', m, json_extract(rbm_train(m, 'ratings', 'user_id', 'item_id', 'rating',
         json_object('hidden', 16, 'epochs', 20, 'orientation', m)), '\$.items')
  FROM (SELECT 'both' AS m UNION ALL SELECT 'user' UNION ALL SELECT 'item');
SQL
  compare both 48; compare user 32; compare item 16
} | LD_PRELOAD="${SQLITE_PRELOAD:-}" sqlite3 -batch "$tmp/r.db" >> "$tmp/out" 2>&1
sed 's/^/# /' "$tmp/out"
awk '
  function check(ok, what) { print (ok ? "ok" : "not ok") " - " what; if (!ok) bad = 1 }
  $1 == "rows" { rows = $2 }
  $1 == "types" { types = $2 " " $3 " " $4 " " $5 " " $6 " " $7 }
  $1 == "same" { same_json = $2; dist = $3 }
  $1 == "knn" { n = $2; same = $3 }
  $1 == "stored" { stored[$2] = $3; floats[$2] = $4 }
  $1 == "groups" { groups[$2] = $4 }
  $1 == "agree" { items[$2] = $3; pairs[$2] = $4; lists[$2] = $5; ranks[$2] = $6; cosines[$2] = $7 }
  END {
    check(rows == 300, "rbm_transform BLOBs go into a vec0 float[16] column as they are")
    check(types == "float32 16 223 223 float32 223",
          "vec_type, vec_length and subtype read rbm vectors as vec_f32 vectors (" types ")")
    check(same_json == 1 && dist == 0, "vec_to_json and vec_distance_l2 agree with vec_f32")
    check(n >= 300 && same >= 0.9, "KNN over the hidden vectors finds the same class (" same " of " n ")")
    want["both"] = 48; want["user"] = 32; want["item"] = 16
    for (m in want) {
      check(stored[m] == 200 && floats[m] == want[m],
            m ": rbm_embedding item vectors (" floats[m] " floats) go into a vec0 float[" want[m] "] column")
      check(groups[m] >= 0.9, m ": rbm_similar finds the planted group (" groups[m] ")")
      # Every list is compared, rank by rank.  rbm and sqlite-vec sum in
      # float in different orders, so items whose cosines differ by less
      # than that rounding may swap places (and exact ties go to the
      # order of the source in rbm, to the lower id here): the similarities
      # must agree at every rank and for every pair, which leaves only
      # such swaps, and this data, with no two items alike, must give
      # nearly every list the same.  (On ml-100k, where many items have
      # one rater, the lists of the item-based model were the same for 1294
      # of 1682 items, the similarities for all 16820 ranks.)
      check(items[m] == 200 && pairs[m] == 10 * items[m] && ranks[m] == pairs[m] && cosines[m] == pairs[m],
            m ": rbm_similar similarities are sqlite-vec cosines, rank by rank and pair by pair (" ranks[m] ", " cosines[m] " of " pairs[m] ")")
      check(lists[m] >= 0.95 * items[m],
            m ": rbm_similar lists are vec0 KNN lists (" lists[m] " of " items[m] " items the same)")
    }
    exit bad
  }' "$tmp/out"
