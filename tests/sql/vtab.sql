-- vtab.sql: the rbm virtual table: training on CREATE, columns, reading
-- one user or all, the retrain command, writes refused, the shadow table,
-- a new connection, rename and drop, DIRECTONLY, and CREATE errors.
.load dist/rbm

.read tests/sql/planted_ratings.inc

CREATE VIRTUAL TABLE recs USING rbm(source=ratings, user=user_id, item=item_id, rating=rating,
                                   hidden=10, epochs=20, batch_size=10);

-- Columns: the source's user and item names, p_like, rating, rated, and
-- the hidden command column named after the table.
PRAGMA table_info(recs);
PRAGMA table_xinfo(recs);
SELECT type, name FROM sqlite_schema ORDER BY name;

-- The shadow table holds one model row.
SELECT 'shadow row', count(*), min(id), typeof(uid), substr(model, 1, 3) = CAST('RBM' AS BLOB) FROM recs_model;
SELECT 'shadow options', options FROM recs_model;
SELECT 'shadow summary', json_extract(summary, '$.users'), json_extract(summary, '$.items'),
       json_extract(summary, '$.ratings'), json_extract(summary, '$.epochs_run') FROM recs_model;
-- The vtab does not use rbm_models.
SELECT 'no rbm_models', count(*) FROM sqlite_schema WHERE name = 'rbm_models';
-- It trains exactly what rbm_train trains with the same options.
SELECT 'twin', json_extract(rbm_train('twin', 'ratings', 'user_id', 'item_id', 'rating',
                 '{"hidden": 10, "epochs": 20, "batch_size": 10}'), '$.users');
SELECT 'same model as rbm_train', (SELECT model FROM recs_model) = (SELECT model FROM rbm_models WHERE name = 'twin');

-- One user: one row per item of the model.
SELECT 'user 2', count(*), count(DISTINCT item_id), min(user_id), max(user_id), sum(rated)
  FROM recs WHERE user_id = 2;
SELECT 'rated = in the source', count(*) FROM recs r
 WHERE user_id = 2 AND rated = EXISTS (SELECT 1 FROM ratings s WHERE s.user_id = 2 AND s.item_id = r.item_id);
SELECT 'planted', p_like > 0.9, rating > 4 FROM recs WHERE user_id = 2 AND item_id = 102;
SELECT 'planted', p_like < 0.2, rating < 2 FROM recs WHERE user_id = 2 AND item_id = 107;
SELECT 'unrated planted pairs of user 2', count(*), sum((item_id % 2 = 0) = (p_like > 0.5))
  FROM recs WHERE user_id = 2 AND rated = 0;
SELECT 'agrees with rbm_predict', count(*),
       sum(abs(p_like - rbm_predict('twin', 2, item_id, 'like')) < 1e-6),
       sum(abs(rating - rbm_predict('twin', 2, item_id)) < 1e-5)
  FROM recs WHERE user_id = 2;
SELECT 'ranges', min(p_like) >= 0, max(p_like) <= 1, min(rating) >= 1, max(rating) <= 5 FROM recs;
-- The user constraint goes to the table (INDEX 1), item too (INDEX 3).
EXPLAIN QUERY PLAN SELECT * FROM recs WHERE user_id = 2;
EXPLAIN QUERY PLAN SELECT * FROM recs WHERE user_id = 2 AND item_id = 102;
EXPLAIN QUERY PLAN SELECT * FROM recs WHERE item_id = 102;
EXPLAIN QUERY PLAN SELECT * FROM recs;
SELECT 'user and item', count(*), min(item_id), min(rated) FROM recs WHERE user_id = 2 AND item_id = 102;
SELECT 'item only', count(*), count(DISTINCT user_id) FROM recs WHERE item_id = 102;
SELECT 'IN', user_id, count(*) FROM recs WHERE user_id IN (2, 3) GROUP BY user_id;
SELECT 'user as text', count(*) FROM recs WHERE user_id = '2';
SELECT 'unknown item', count(*) FROM recs WHERE item_id = 9999;
SELECT 'NULL user', count(*) FROM recs WHERE user_id = NULL;
-- An unknown user reads as the priors, every item unrated.
SELECT 'unknown user', count(*), sum(rated), min(p_like) >= 0, max(p_like) <= 1 FROM recs WHERE user_id = 9999;
-- Everything: every (user in the source, item in the model) pair.
SELECT 'all rows', count(*), count(DISTINCT user_id), count(DISTINCT item_id), sum(rated) FROM recs;
SELECT 'all rated = in the source', count(*) FROM recs r
 WHERE rated != EXISTS (SELECT 1 FROM ratings s WHERE s.user_id = r.user_id AND s.item_id = r.item_id);
-- (to float precision: one user's items are scored by one GEMV, a single
-- item by dot products)
SELECT 'full scan = per user and item', count(*) FROM recs a JOIN recs b ON b.user_id = a.user_id AND b.item_id = a.item_id
 WHERE a.user_id <= 5 AND abs(a.p_like - b.p_like) < 1e-6 AND abs(a.rating - b.rating) < 1e-5;
SELECT 'top unrated of user 3 are odd', count(*), sum(item_id % 2 = 1)
  FROM (SELECT item_id FROM recs WHERE user_id = 3 AND rated = 0 ORDER BY p_like DESC LIMIT 4);

-- Ratings added later: the new user shows up, folded in.
INSERT INTO ratings VALUES (4000, 102, 5), (4000, 104, 5), (4000, 106, 5), (4000, 101, 1), (4000, 103, 1);
SELECT 'new user in the scan', count(DISTINCT user_id), count(*) FROM recs;
SELECT 'new user', sum(rated), sum(item_id % 2 = 0 AND rated = 0 AND p_like > 0.5),
       sum(item_id % 2 = 1 AND rated = 0 AND p_like < 0.5) FROM recs WHERE user_id = 4000;

-- Retrain: a new model row (new uid), still good.
CREATE TEMP TABLE old AS SELECT uid, model FROM recs_model;
INSERT INTO recs(recs) VALUES ('retrain');
SELECT 'retrained', count(*), uid != (SELECT uid FROM old), json_extract(summary, '$.users') FROM recs_model;
SELECT 'still planted', p_like > 0.9 FROM recs WHERE user_id = 2 AND item_id = 102;
INSERT INTO recs(recs) VALUES ('RETRAIN');
SELECT 'case-insensitive command', uid != (SELECT uid FROM old) FROM recs_model;
-- Writes other than the command are refused, and change nothing.
CREATE TEMP TABLE old2 AS SELECT uid FROM recs_model;
INSERT INTO recs(recs) VALUES ('bogus');
INSERT INTO recs(recs) VALUES (NULL);
INSERT INTO recs(user_id, item_id, p_like) VALUES (1, 101, 0.5);
INSERT INTO recs VALUES (1, 101, 0.5, 3, 0, NULL);
UPDATE recs SET p_like = 1 WHERE user_id = 2;
DELETE FROM recs WHERE user_id = 2;
SELECT 'unchanged', uid = (SELECT uid FROM old2) FROM recs_model;
SELECT 'command column reads NULL', count(*), count(recs) FROM recs WHERE user_id = 2;

-- A binary model: rating is NULL.
CREATE VIRTUAL TABLE brecs USING rbm(source=ratings, user=user_id, item=item_id, rating=rating,
                                    hidden=10, epochs=20, batch_size=10, visible=binary);
SELECT 'binary', count(*), count(rating), min(p_like) >= 0, max(p_like) <= 1 FROM brecs WHERE user_id = 2;
SELECT 'binary planted', p_like > 0.8 FROM brecs WHERE user_id = 2 AND item_id = 102;
SELECT 'binary options', json_extract(options, '$.visible') FROM brecs_model;

-- Arguments may be quoted in any SQL style.
CREATE VIRTUAL TABLE qrecs USING rbm(source='ratings', user="user_id", item=[item_id], rating=`rating`,
                                    hidden = 4 , epochs=2);
SELECT 'quoted arguments', count(*) FROM qrecs WHERE user_id = 2;

-- DIRECTONLY: not from views or triggers; nor is rbm_train.
CREATE VIEW recs_view AS SELECT * FROM recs WHERE user_id = 2;
SELECT count(*) FROM recs_view;
CREATE TABLE log(x);
CREATE TRIGGER log_recs AFTER INSERT ON log WHEN new.x > 0 BEGIN
  INSERT INTO log SELECT -p_like FROM recs WHERE user_id = new.x;
END;
INSERT INTO log VALUES (2);
DROP TRIGGER log_recs;
CREATE TRIGGER log_train AFTER INSERT ON log BEGIN
  SELECT rbm_train('x', 'ratings', 'user_id', 'item_id', 'rating');
END;
INSERT INTO log VALUES (3);
DROP TRIGGER log_train;
CREATE VIEW train_view AS SELECT rbm_train('x', 'ratings', 'user_id', 'item_id', 'rating') AS s;
SELECT * FROM train_view;
SELECT 'nothing logged, no model x', (SELECT count(*) FROM log), (SELECT count(*) FROM rbm_models WHERE name = 'x');
DROP VIEW recs_view;

-- Rename moves the shadow table along.
ALTER TABLE qrecs RENAME TO qrecs2;
SELECT 'renamed', name FROM sqlite_schema WHERE name GLOB 'qrecs*' ORDER BY name;
SELECT 'renamed reads', count(*) FROM qrecs2 WHERE user_id = 2;
INSERT INTO qrecs2(qrecs2) VALUES ('retrain');
SELECT 'renamed retrains', count(*) FROM qrecs2_model;

-- DROP TABLE removes the shadow table too.
DROP TABLE qrecs2;
DROP TABLE brecs;
SELECT 'after drops', name FROM sqlite_schema WHERE name GLOB '*recs*' ORDER BY name;

-- CREATE errors; none leaves a table behind.
CREATE VIRTUAL TABLE bad USING rbm(user=user_id, item=item_id, rating=rating);
CREATE VIRTUAL TABLE bad USING rbm(source=ratings, item=item_id, rating=rating);
CREATE VIRTUAL TABLE bad USING rbm(source=ratings, user=user_id, rating=rating);
CREATE VIRTUAL TABLE bad USING rbm(source=ratings, user=user_id, item=item_id);
CREATE VIRTUAL TABLE bad USING rbm;
CREATE VIRTUAL TABLE bad USING rbm(source=ratings, user=user_id, item=item_id, rating=rating, hiden=5);
CREATE VIRTUAL TABLE bad USING rbm(source=ratings, user=user_id, item=item_id, rating=rating, hidden=0);
CREATE VIRTUAL TABLE bad USING rbm(source=ratings, user=user_id, item=item_id, rating=rating, hidden=ten);
CREATE VIRTUAL TABLE bad USING rbm(source=ratings, user=user_id, item=item_id, rating=rating, batch_size=2.5);
CREATE VIRTUAL TABLE bad USING rbm(source=ratings, user=user_id, item=item_id, rating=rating, visible=bogus);
CREATE VIRTUAL TABLE bad USING rbm(source=ratings, user=user_id, item=item_id, rating=rating, momentum=1);
CREATE VIRTUAL TABLE bad USING rbm(source=ratings, user=user_id, item=item_id, rating=rating, verbose=maybe);
CREATE VIRTUAL TABLE bad USING rbm(source=ratings, user=user_id, item=item_id, rating=rating, fast);
CREATE VIRTUAL TABLE bad USING rbm(source=ratings, user=user_id, item=user_id, rating=rating);
CREATE VIRTUAL TABLE bad USING rbm(source=ratings, user=p_like, item=item_id, rating=rating);
CREATE VIRTUAL TABLE bad USING rbm(source=nosuch, user=user_id, item=item_id, rating=rating);
CREATE TABLE src_bad AS SELECT * FROM ratings;
UPDATE src_bad SET rating = 'abc' WHERE user_id = 5 AND item_id = 111;
CREATE VIRTUAL TABLE bad USING rbm(source=src_bad, user=user_id, item=item_id, rating=rating);
SELECT 'nothing left behind', count(*) FROM sqlite_schema WHERE name GLOB 'bad*';
-- A table in the way of the shadow table: an error, the table kept as is.
CREATE TABLE taken_model(a, b);
INSERT INTO taken_model VALUES ('keep', 1);
CREATE VIRTUAL TABLE taken USING rbm(source=ratings, user=user_id, item=item_id, rating=rating, hidden=4, epochs=1);
SELECT 'in the way', name FROM sqlite_schema WHERE name GLOB 'taken*';
SELECT 'kept', * FROM taken_model;

-- A new connection to the same database (an in-memory one two
-- connections share): the table is there after .load, with its model.
.connection 1
.open file:/rbm_vtab_test?vfs=memdb
.load dist/rbm
CREATE TABLE ratings AS SELECT 1 AS user_id, 1 AS item_id, 1 AS rating WHERE 0;
WITH RECURSIVE
  u(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM u WHERE id < 60),
  i(id) AS (SELECT 101 UNION ALL SELECT id + 1 FROM i WHERE id < 140)
INSERT INTO ratings SELECT u.id, i.id, CASE WHEN u.id % 2 = i.id % 2 THEN 5 ELSE 1 END
  FROM u, i WHERE (u.id * 7 + i.id * 3) % 5 != 0;
CREATE VIRTUAL TABLE recs USING rbm(source=ratings, user=user_id, item=item_id, rating=rating,
                                   hidden=10, epochs=20, batch_size=10);
CREATE TABLE seen AS SELECT item_id, p_like FROM recs WHERE user_id = 2;
.connection 2
.open file:/rbm_vtab_test?vfs=memdb
SELECT count(*) FROM recs WHERE user_id = 2;
.load dist/rbm
SELECT 'new connection', count(*), sum(abs(r.p_like - s.p_like) < 1e-6) FROM recs r JOIN seen s USING (item_id)
 WHERE r.user_id = 2;
SELECT 'planted', p_like > 0.9 FROM recs WHERE user_id = 2 AND item_id = 102;
-- A retrain from this connection is seen by the first.
CREATE TABLE uid_before AS SELECT uid FROM recs_model;
INSERT INTO recs(recs) VALUES ('retrain');
.connection 1
SELECT 'first connection sees the retrain', (SELECT uid FROM recs_model) != (SELECT uid FROM uid_before);
SELECT 'and reads it', count(*) FROM recs WHERE user_id = 2;
.connection 0
.connection close 2
.connection close 1
SELECT 'back on the file', count(*) FROM recs WHERE user_id = 2;

-- Finally DROP TABLE recs removes recs_model.
DROP TABLE recs;
SELECT 'recs gone', count(*) FROM sqlite_schema WHERE name GLOB 'recs*';
