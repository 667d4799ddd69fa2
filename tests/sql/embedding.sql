-- embedding.sql: rbm_embedding(model, 'user' | 'item', id), a rating
-- model's users and items as float32 BLOBs, and rbm_similar(model, item
-- [, k]), the items most like an item by the cosine of those vectors:
-- lengths, what the vectors are, determinism, the planted groups found,
-- every orientation, implicit, new rows, ties, and errors.
.load dist/rbm

.read tests/sql/planted_ratings.inc
-- Users 1..60 rated 32 of the 40 items (101..140) each: both groups rate
-- every item, and only how they rate it (even users like even items, odd
-- users odd ones) tells the groups apart.
CREATE INDEX ratings_by_user ON ratings(user_id, item_id, rating);
CREATE INDEX ratings_by_item ON ratings(item_id, user_id, rating);

-- Before any model.
SELECT rbm_embedding('u', 'user', 2);
SELECT * FROM rbm_similar('u', 101);

CREATE TABLE models(m TEXT PRIMARY KEY, options TEXT);
INSERT INTO models VALUES
  ('u', '{"hidden": 10, "epochs": 20, "batch_size": 10, "orientation": "user"}'),
  ('i', '{"hidden": 10, "epochs": 20, "batch_size": 10, "orientation": "item"}'),
  ('b', '{"hidden": 10, "epochs": 20, "batch_size": 10}'),
  ('bin', '{"hidden": 10, "epochs": 20, "batch_size": 10, "orientation": "user", "visible": "binary"}');
SELECT 'trained', m, json_extract(rbm_train(m, 'ratings', 'user_id', 'item_id', 'rating', options),
                                  '$.orientation') FROM models ORDER BY m;

-- Lengths in floats: hidden where the side is folded in (users of a
-- user-based model, items of an item-based one), 2 x hidden for weight
-- rows, 3 x hidden for 'both' (its two halves).
SELECT 'floats', m, length(rbm_embedding(m, 'user', 2)) / 4, length(rbm_embedding(m, 'item', 102)) / 4,
       typeof(rbm_embedding(m, 'user', 2)), typeof(rbm_embedding(m, 'item', 102))
  FROM models ORDER BY m;

-- Every vector of every model, as JSON, and their elements.
CREATE TABLE ids(kind TEXT, id INTEGER);
INSERT INTO ids SELECT DISTINCT 'user', user_id FROM ratings;
INSERT INTO ids SELECT DISTINCT 'item', item_id FROM ratings;
CREATE TABLE vec AS
SELECT m, kind, id, rbm_vector_to_json(rbm_embedding(m, kind, id)) AS j FROM models, ids;
CREATE TABLE el AS
SELECT vec.m, vec.kind, vec.id, CAST(e.key AS INTEGER) AS f, e.value AS x FROM vec, json_each(vec.j) e;
SELECT 'vectors', m, kind, count(*), count(j) FROM vec GROUP BY m, kind ORDER BY m, kind;

-- What they are.  Folded in: hidden probabilities, in [0, 1].  Weight
-- rows: their mean over the units scaled to length sqrt(3/4), then their
-- like rows less the others scaled to 1/2, so unit length.  'both': the
-- user-based half's vector, then the item-based half's, each of length
-- 1/sqrt(2).
SELECT 'probabilities', m, kind, min(x) >= 0, max(x) <= 1, count(DISTINCT x) > 100 FROM el
 WHERE (m IN ('u', 'bin') AND kind = 'user') OR (m = 'i' AND kind = 'item')
 GROUP BY m, kind ORDER BY m, kind;
SELECT 'weight rows: squared lengths', m, kind, count(*),
       sum(abs(a - 0.75) < 1e-5), sum(abs(b - 0.25) < 1e-5) FROM (
  SELECT m, kind, id, sum(x * x) FILTER (WHERE f < 10) AS a, sum(x * x) FILTER (WHERE f >= 10) AS b
    FROM el WHERE (m IN ('u', 'bin') AND kind = 'item') OR (m = 'i' AND kind = 'user')
   GROUP BY m, kind, id) GROUP BY m, kind ORDER BY m, kind;
SELECT 'both: halves of squared length 1/2', kind, count(*),
       sum(abs(a - 0.5) < 1e-5), sum(abs(b - 0.5) < 1e-5) FROM (
  SELECT kind, id,
         sum(x * x) FILTER (WHERE f < iif(kind = 'user', 10, 20)) AS a,
         sum(x * x) FILTER (WHERE f >= iif(kind = 'user', 10, 20)) AS b
    FROM el WHERE m = 'b' GROUP BY kind, id) GROUP BY kind ORDER BY kind;
-- 'both' is the halves' own vectors, scaled: the user-based half is
-- trained as 'u' is, and its part is 'u''s vector to within rounding.
SELECT 'both starts with the user-based half', kind, count(*), sum(cos > 0.99999) FROM (
  SELECT b.kind, b.id, sum(b.x * u.x) / sqrt(sum(b.x * b.x) * sum(u.x * u.x)) AS cos
    FROM el b JOIN el u ON u.m = 'u' AND u.kind = b.kind AND u.id = b.id AND u.f = b.f
   WHERE b.m = 'b' GROUP BY b.kind, b.id) GROUP BY kind ORDER BY kind;

-- Determinism: the same vectors again, from the cached model and from a
-- model trained again with the same seed.
SELECT 'same again', count(*) FROM vec WHERE j = rbm_vector_to_json(rbm_embedding(m, kind, id));
SELECT 'retrained', json_extract(rbm_train('u2', 'ratings', 'user_id', 'item_id', 'rating', options), '$.hidden')
  FROM models WHERE m = 'u';
SELECT 'same seed, same vectors', count(*), sum(rbm_embedding('u2', kind, id) = rbm_embedding('u', kind, id))
  FROM ids;

-- The cosine of every two items' vectors, computed here.
CREATE TABLE cos AS
SELECT a.m, a.id AS a, b.id AS b, sum(a.x * b.x) / sqrt(sum(a.x * a.x) * sum(b.x * b.x)) AS cos
  FROM el a JOIN el b ON b.m = a.m AND b.kind = a.kind AND b.f = a.f AND b.id != a.id
 WHERE a.kind = 'item' GROUP BY a.m, a.id, b.id;

-- rbm_similar: its columns, hidden arguments included.
PRAGMA table_xinfo(rbm_similar);
-- similarity is that cosine, the item itself left out, best first; the
-- rowid is the rank.
SELECT 'similarity is the cosine', models.m, count(*), sum(abs(s.similarity - c.cos) < 1e-5),
       sum(s.item = q.id)
  FROM models, (SELECT DISTINCT item_id AS id FROM ratings) q, rbm_similar(models.m, q.id, 1000) s
  JOIN cos c ON c.m = models.m AND c.a = q.id AND c.b = s.item GROUP BY models.m ORDER BY models.m;
SELECT 'rowid is the rank', group_concat(rowid, ',') FROM rbm_similar('u', 102, 5);
SELECT 'non-increasing', m, count(*), sum(prev < similarity) FROM (
  SELECT m, similarity, lag(similarity) OVER (PARTITION BY m ORDER BY s.rowid) AS prev
    FROM models, rbm_similar(m, 102, 1000) s) GROUP BY m ORDER BY m;
-- The best is the item of highest cosine.
SELECT 'top is the largest cosine', m,
       abs((SELECT similarity FROM rbm_similar(m, 102, 1)) - (SELECT max(cos) FROM cos WHERE cos.m = models.m AND a = 102)) < 1e-6
  FROM models ORDER BY m;

-- The planted groups: every item's neighbours are of its own group, for
-- every kind of model (tests/sqlite_vec.sh finds the same from a vec0
-- table of the vectors).
SELECT 'same group, top 5', m, count(*), sum(s.item % 2 = q.id % 2)
  FROM models, (SELECT DISTINCT item_id AS id FROM ratings) q, rbm_similar(m, q.id, 5) s
 GROUP BY m ORDER BY m;
-- And users: each user's nearest other user by the cosine of their
-- vectors is of their own group (no function ranks users; computed here).
SELECT 'users: nearest of the same group', m, count(*), sum(a % 2 = b % 2) FROM (
  SELECT m, a, b, max(cos) FROM (
    SELECT a.m, a.id AS a, b.id AS b, sum(a.x * b.x) / sqrt(sum(a.x * a.x) * sum(b.x * b.x)) AS cos
      FROM el a JOIN el b ON b.m = a.m AND b.kind = a.kind AND b.f = a.f AND b.id != a.id
     WHERE a.kind = 'user' GROUP BY a.m, a.id, b.id)
   GROUP BY m, a) GROUP BY m ORDER BY m;

-- k: default 10; k caps the rows; at most every other item.
SELECT 'default k', count(*) FROM rbm_similar('u', 102);
SELECT 'k = 3', count(*) FROM rbm_similar('u', 102, 3);
SELECT 'k = 0', count(*) FROM rbm_similar('u', 102, 0);
SELECT 'k = 1000', count(*) FROM rbm_similar('u', 102, 1000);
SELECT 'k as text', count(*) FROM rbm_similar('u', 102, '4');
SELECT 'hidden columns echo the arguments', model, query, k FROM rbm_similar('u', 102, 1);
SELECT 'named columns', count(*) FROM rbm_similar WHERE model = 'u' AND query = 102 AND k = 4;
-- A top k is the start of the whole list.
SELECT 'top-k is a prefix', count(*) FROM rbm_similar('b', 102, 5) a
  JOIN rbm_similar('b', 102, 1000) b ON a.rowid = b.rowid AND a.item = b.item;

-- Ids: 102, '102' and 102.0 are one item; an id the model cannot place or
-- does not know, and NULL, get no vector and no rows.
SELECT 'spellings', count(DISTINCT rbm_embedding('u', 'item', x)), count(DISTINCT rbm_embedding('u', 'user', y))
  FROM (SELECT 102 AS x, 2 AS y UNION ALL SELECT '102', '2' UNION ALL SELECT 102.0, 2.0);
SELECT 'kind in any case', rbm_embedding('u', 'ITEM', 102) = rbm_embedding('u', 'Item', 102);
SELECT 'unknown', m, rbm_embedding(m, 'user', 999) IS NULL, rbm_embedding(m, 'item', 999) IS NULL,
       (SELECT count(*) FROM rbm_similar(m, 999))
  FROM models ORDER BY m;
SELECT 'NULL', rbm_embedding('u', 'user', NULL) IS NULL, rbm_embedding('u', 'item', NULL) IS NULL,
       (SELECT count(*) FROM rbm_similar('u', NULL));

-- Many items at once: a JSON array (each once, in order); the hidden
-- column query names each row's item.  The same lists, similarities
-- included, as one item at a time and as a join.
CREATE TABLE asks(id);
INSERT INTO asks VALUES (101), (102), (999), ('103');
SELECT 'batch', count(*), count(DISTINCT query), group_concat(DISTINCT query)
  FROM rbm_similar('b', '[101, 102, 999, "103", 101]', 3);
SELECT 'batch = one by one = join', count(*) FROM asks a, rbm_similar('b', a.id, 3) j
  JOIN rbm_similar('b', '[101, 102, 999, "103"]', 3) b ON b.query = j.query AND b.item = j.item
 WHERE j.similarity = b.similarity AND j.similarity = (SELECT similarity FROM rbm_similar('b', a.id, 3) o WHERE o.item = j.item);
SELECT 'empty array', count(*) FROM rbm_similar('b', '[]');
SELECT 'LEFT JOIN keeps items without rows', count(*), count(s.item)
  FROM asks a LEFT JOIN rbm_similar('u', a.id, 0) s;

-- An implicit model (rows: the likes): the item's vector is its one
-- interaction row, hidden floats; the groups are found.
CREATE VIEW likes AS SELECT user_id, item_id FROM ratings WHERE rating >= 4;
SELECT 'implicit', json_extract(rbm_train('imp', 'likes', 'user_id', 'item_id', NULL,
                                '{"hidden": 10, "epochs": 30, "visible": "implicit"}'), '$.visible');
SELECT 'implicit floats', length(rbm_embedding('imp', 'user', 2)) / 4, length(rbm_embedding('imp', 'item', 102)) / 4;
SELECT 'implicit same group, top 5', count(*), sum(s.item % 2 = q.id % 2)
  FROM (SELECT DISTINCT item_id AS id FROM ratings) q, rbm_similar('imp', q.id, 5) s;

-- Rows added after training count where the side is folded in: a new
-- user's vector, and (item-based, 'both') a new item's, which joins the
-- candidates.  Items 141 and 142 get the same raters and ratings as an
-- even item, so their vectors are one: a tie, listed in the source's
-- order (141 first), at similarity 1.
SELECT 'new user before', rbm_embedding('u', 'user', 700) IS NULL;
INSERT INTO ratings VALUES (700, 102, 5), (700, 104, 5), (700, 101, 1);
SELECT 'new user after', length(rbm_embedding('u', 'user', 700)) / 4;
INSERT INTO ratings SELECT user_id, 141, rating FROM ratings WHERE item_id = 102 AND user_id <= 60;
INSERT INTO ratings SELECT user_id, 142, rating FROM ratings WHERE item_id = 102 AND user_id <= 60;
SELECT 'new items', m, length(rbm_embedding(m, 'item', 141)) / 4,
       (SELECT group_concat(item % 2, '') FROM rbm_similar(m, 141, 5)),
       (SELECT group_concat(item || ':' || round(similarity, 6), ' ') FROM rbm_similar(m, 141, 2))
  FROM models WHERE m IN ('i', 'b') ORDER BY m;
SELECT 'the tie, in order', m, count(*), max(s.rowid) FILTER (WHERE item = 141) < max(s.rowid) FILTER (WHERE item = 142),
       max(similarity) FILTER (WHERE item = 141) = max(similarity) FILTER (WHERE item = 142)
  FROM models, rbm_similar(m, 104, 1000) s WHERE m IN ('i', 'b') GROUP BY m ORDER BY m;
-- A user-based model knows only its own items.
SELECT 'user-based: not its item', rbm_embedding('u', 'item', 141) IS NULL,
       (SELECT count(*) FROM rbm_similar('u', 141)), (SELECT count(*) FROM rbm_similar('u', 102, 1000));

-- Errors.
SELECT rbm_embedding('u', 'users', 2);
SELECT rbm_embedding('u', NULL, 2);
SELECT rbm_embedding('u', 1, 2);
SELECT rbm_embedding(NULL, 'user', 2);
SELECT rbm_embedding('nosuch', 'user', 2);
SELECT rbm_embedding('u', 'user');
SELECT rbm_embedding('u', 'user', 2, 3);
SELECT * FROM rbm_similar('u');
SELECT * FROM rbm_similar();
SELECT * FROM rbm_similar WHERE query = 102;
SELECT * FROM rbm_similar('u', 102, -1);
SELECT * FROM rbm_similar('u', 102, 2.5);
SELECT * FROM rbm_similar('u', 102, NULL);
SELECT * FROM rbm_similar(7, 102);
SELECT * FROM rbm_similar('nosuch', 102);
SELECT * FROM rbm_similar('u', 102, 3, 4);
SELECT * FROM rbm_similar('u', '[101, 102');
-- A feature model has no users or items.
CREATE TABLE fv(v TEXT);
INSERT INTO fv VALUES ('[0, 1]'), ('[1, 0]'), ('[1, 1]');
SELECT 'fit', json_extract(rbm_fit('f', 'fv', 'v', '{"hidden": 2, "epochs": 2}'), '$.kind');
SELECT rbm_embedding('f', 'item', 1);
SELECT * FROM rbm_similar('f', 1);
-- rbm_similar reads other tables: not from a view or trigger.
CREATE VIEW similar_to_102 AS SELECT item FROM rbm_similar('u', 102);
SELECT * FROM similar_to_102;
