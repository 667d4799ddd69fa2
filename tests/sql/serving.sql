-- serving.sql: the model and source caches behind rbm_predict and
-- rbm_recommend follow every change: retrains and source changes made by
-- another connection, deleted models, and more models than cache slots.
--
-- Two connections share one database here: an in-memory one ("memdb"
-- VFS), since a script cannot name the file the runner gave it.
.open file:/rbm_serving_test?vfs=memdb
.load dist/rbm

.read tests/sql/planted_ratings.inc
SELECT 'trained', json_extract(rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating',
                  '{"hidden": 10, "epochs": 20, "batch_size": 10}'), '$.users');
-- Served here once (model and source snapshot now cached).
CREATE TABLE first AS SELECT rbm_predict('m', 2, 102) AS p, rbm_predict('m', 3000, 110) AS q;
SELECT 'user 3000 unknown', q = rbm_predict('m', 9999, 110) FROM first;

-- Another connection retrains m with another seed and adds user 3000.
.connection 1
.open file:/rbm_serving_test?vfs=memdb
.load dist/rbm
SELECT 'other connection sees m', rbm_predict('m', 2, 102) = p FROM first;
SELECT 'retrained there', json_extract(rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating',
                          '{"hidden": 10, "epochs": 20, "batch_size": 10, "seed": 9}'), '$.users');
INSERT INTO ratings VALUES (3000, 102, 5), (3000, 104, 5), (3000, 106, 5), (3000, 101, 1), (3000, 103, 1);
CREATE TABLE second AS SELECT rbm_predict('m', 2, 102) AS p, rbm_predict('m', 3000, 110) AS q;
SELECT 'new model differs', (SELECT p FROM second) != (SELECT p FROM first);

-- Back in the first connection: the new model, and the new user.
.connection 0
SELECT 'first sees the retrain', rbm_predict('m', 2, 102) = p FROM second;
SELECT 'first sees user 3000', rbm_predict('m', 3000, 110) = q, rbm_predict('m', 3000, 110) > 3 FROM second;
SELECT 'and recommends for them', count(*), sum(item % 2 = 0) FROM rbm_recommend('m', 3000, 3);

-- The other connection changes user 3000's taste; the first follows.
.connection 1
UPDATE ratings SET rating = 6 - rating WHERE user_id = 3000;
.connection 0
SELECT 'taste changed', rbm_predict('m', 3000, 110) < 3, rbm_predict('m', 3000, 111) > 3;
SELECT 'recommends odd now', count(*), sum(item % 2 = 1) FROM rbm_recommend('m', 3000, 3);

-- The other connection deletes the model row, then trains it again.
.connection 1
DELETE FROM rbm_models WHERE name = 'm';
.connection 0
SELECT rbm_predict('m', 2, 102);
SELECT * FROM rbm_recommend('m', 2);
.connection 1
SELECT 'again', json_extract(rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating',
                '{"hidden": 10, "epochs": 20, "batch_size": 10}'), '$.users');
.connection 0
SELECT 'trained again', rbm_predict('m', 2, 102) > 4;
.connection close 1

-- More models than the per-connection cache holds (8): each answers as
-- itself, one statement interleaving all of them.
CREATE TABLE names(name TEXT, seed INTEGER);
WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 12)
INSERT INTO names SELECT 'm' || k, k FROM n;
SELECT 'trained', count(rbm_train(name, 'ratings', 'user_id', 'item_id', 'rating',
                                  json_object('hidden', 4, 'epochs', 2, 'seed', seed)))
  FROM names;
SELECT 'distinct models', count(DISTINCT model) FROM rbm_models;
CREATE TABLE alone(name TEXT, user_id INTEGER, p REAL);
-- One statement per model: the value each model gives on its own.
INSERT INTO alone SELECT 'm1', u, rbm_predict('m1', u, 102) FROM (SELECT 2 AS u UNION ALL SELECT 3 UNION ALL SELECT 3000);
INSERT INTO alone SELECT 'm2', u, rbm_predict('m2', u, 102) FROM (SELECT 2 AS u UNION ALL SELECT 3 UNION ALL SELECT 3000);
INSERT INTO alone SELECT 'm3', u, rbm_predict('m3', u, 102) FROM (SELECT 2 AS u UNION ALL SELECT 3 UNION ALL SELECT 3000);
INSERT INTO alone SELECT 'm4', u, rbm_predict('m4', u, 102) FROM (SELECT 2 AS u UNION ALL SELECT 3 UNION ALL SELECT 3000);
INSERT INTO alone SELECT 'm5', u, rbm_predict('m5', u, 102) FROM (SELECT 2 AS u UNION ALL SELECT 3 UNION ALL SELECT 3000);
INSERT INTO alone SELECT 'm6', u, rbm_predict('m6', u, 102) FROM (SELECT 2 AS u UNION ALL SELECT 3 UNION ALL SELECT 3000);
INSERT INTO alone SELECT 'm7', u, rbm_predict('m7', u, 102) FROM (SELECT 2 AS u UNION ALL SELECT 3 UNION ALL SELECT 3000);
INSERT INTO alone SELECT 'm8', u, rbm_predict('m8', u, 102) FROM (SELECT 2 AS u UNION ALL SELECT 3 UNION ALL SELECT 3000);
INSERT INTO alone SELECT 'm9', u, rbm_predict('m9', u, 102) FROM (SELECT 2 AS u UNION ALL SELECT 3 UNION ALL SELECT 3000);
INSERT INTO alone SELECT 'm10', u, rbm_predict('m10', u, 102) FROM (SELECT 2 AS u UNION ALL SELECT 3 UNION ALL SELECT 3000);
INSERT INTO alone SELECT 'm11', u, rbm_predict('m11', u, 102) FROM (SELECT 2 AS u UNION ALL SELECT 3 UNION ALL SELECT 3000);
INSERT INTO alone SELECT 'm12', u, rbm_predict('m12', u, 102) FROM (SELECT 2 AS u UNION ALL SELECT 3 UNION ALL SELECT 3000);
SELECT 'models differ', count(DISTINCT p) > 1 FROM alone WHERE user_id = 2;
-- Interleaved, model changing every row, three rounds.
SELECT 'interleaved', count(*), sum(rbm_predict(a.name, a.user_id, 102) = a.p)
  FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3), alone a;
SELECT 'interleaved, descending', count(*), sum(rbm_predict(a.name, a.user_id, 102) = a.p)
  FROM (SELECT * FROM alone ORDER BY name DESC, user_id DESC) a;
SELECT 'recommend per model', count(*), count(DISTINCT n.name) FROM names n, rbm_recommend(n.name, 2, 2) r;
