-- cache.sql: what a connection keeps between statements to answer fast
-- (an item-based model's item states, the snapshot of a source without an
-- index) answers exactly as a new connection does, after inserts, updates
-- and deletes, made by this connection and by another one, inside
-- transactions that commit or roll back: for every orientation, for the
-- virtual table, and for sources with indexes, without, and with UNIQUE
-- pairs.  The 'kept' lines show what each change cost the cache: builds
-- from the whole source, ratings added one at a time, items folded afresh,
-- snapshot reads (rbm_debug(model)).
--
-- Connections share two in-memory databases ("memdb" VFS): main holds the
-- ratings and models, res the answers of a new connection.  Two real files
-- beside the database the runner opened, named in a third (kept open by
-- connection 3), are for the end: a memdb database has no file name from
-- SQLite 3.4x on, so one detached and another attached under its name
-- cannot be told apart there.
.connection 3
.open file:/rbm_cache_paths?vfs=memdb
.connection 0
ATTACH 'file:/rbm_cache_paths?vfs=memdb' AS paths;
-- (URIs naming the default VFS: a connection opened on memdb attaches
-- plain names through memdb)
CREATE TABLE paths.aux AS
  SELECT 'file:' || file || '-aux1?vfs=unix' AS aux1, 'file:' || file || '-aux2?vfs=unix' AS aux2
    FROM pragma_database_list WHERE name = 'main';
.open file:/rbm_cache_test?vfs=memdb
.load dist/rbm
.read tests/sql/planted_ratings.inc
CREATE INDEX ratings_user ON ratings(user_id);
CREATE INDEX ratings_item ON ratings(item_id);
-- The same ratings with no index at all; with UNIQUE pairs; in columns
-- with no type, where some item ids are text ('102' is the key 102); and
-- through a TEMP view (which every check's new connection makes too).
CREATE TABLE plain AS SELECT * FROM ratings;
CREATE TABLE uniq(user_id INTEGER, item_id INTEGER, rating REAL, UNIQUE(user_id, item_id));
INSERT INTO uniq SELECT * FROM ratings;
CREATE INDEX uniq_item ON uniq(item_id);
CREATE TABLE mixed(user_id, item_id, rating);
INSERT INTO mixed SELECT user_id, iif(user_id % 2 = 0, CAST(item_id AS TEXT), item_id), rating FROM ratings;
CREATE INDEX mixed_user ON mixed(user_id);
CREATE INDEX mixed_item ON mixed(item_id);
CREATE TEMP VIEW tv AS SELECT * FROM main.ratings;

CREATE TABLE models(name TEXT, src TEXT, orientation TEXT, binary INTEGER, shown INTEGER);
INSERT INTO models VALUES
  ('u', 'ratings', 'user', 0, 0), ('i', 'ratings', 'item', 0, 1), ('b', 'ratings', 'both', 0, 1),
  ('pu', 'plain', 'user', 0, 1), ('pb', 'plain', 'both', 0, 1),
  ('ub', 'uniq', 'both', 0, 1), ('mi', 'mixed', 'item', 0, 0), ('vi', 'tv', 'item', 1, 0);
-- (as many models as a connection keeps: 8)
SELECT 'trained', count(rbm_train(name, src, 'user_id', 'item_id', 'rating',
         json_object('orientation', orientation, 'visible', iif(binary, 'binary', 'softmax'),
                     'hidden', 8, 'epochs', 10, 'batch_size', 10))) FROM models;
CREATE VIRTUAL TABLE vb USING rbm(source=ratings, user=user_id, item=item_id, rating=rating,
                                 hidden=8, epochs=10, batch_size=10);
-- The questions: the users and items the changes below touch, and others,
-- and ones the models never saw.
CREATE TABLE pairs AS
  WITH RECURSIVE u(u) AS (SELECT 1 UNION ALL SELECT u + 1 FROM u WHERE u < 20),
                 i(i) AS (SELECT 101 UNION ALL SELECT i + 1 FROM i WHERE i < 112)
  SELECT u, i FROM (SELECT u FROM u UNION ALL SELECT 3000),
                   (SELECT i FROM i UNION ALL SELECT 140 UNION ALL SELECT 999);
CREATE TABLE rusers(u INTEGER);
INSERT INTO rusers VALUES (1), (2), (3), (7), (3000);

ATTACH 'file:/rbm_cache_res?vfs=memdb' AS res;
CREATE TABLE res.step(label TEXT);
CREATE TABLE res.fresh(m TEXT, u, i, p_like REAL, answer REAL);
CREATE TABLE res.fresh_top(m TEXT, u, rank INTEGER, item, p_like REAL);
CREATE TABLE res.fresh_vt(user_id, item_id, p_like REAL, rated INTEGER);
-- Connection 1 changes the ratings as another application would, and
-- names each step (a write of connection 0 would count as a change).
.connection 1
.open file:/rbm_cache_test?vfs=memdb
ATTACH 'file:/rbm_cache_res?vfs=memdb' AS res;
.connection 0

-- Warm: every model's caches built once, before anything changes.
INSERT INTO res.step VALUES ('warm');
SELECT 'warm', count(*) FROM models m, rusers u, rbm_recommend(m.name, u.u, 5);
SELECT 'warm', count(*) FROM vb WHERE user_id = 1;
SELECT 'warm', count(rbm_predict(m.name, p.u, p.i)) FROM models m, pairs p;
.read tests/sql/cache_check.inc

-- This connection inserts: a new pair, a new user, a new item, and a pair
-- the source already holds (the later row wins).  The item states take
-- them one rating at a time; the repeated pair's item is folded afresh.
.connection 1
UPDATE res.step SET label = 'insert here';
.connection 0
INSERT INTO ratings VALUES (1, 102, 1), (3, 103, 5), (3000, 102, 5), (3000, 104, 5),
                           (3000, 107, 1), (5, 999, 4), (6, 999, 1);
.read tests/sql/cache_check.inc

-- Updates and deletes cannot be told apart from outside: read again.
.connection 1
UPDATE res.step SET label = 'update here';
.connection 0
UPDATE ratings SET rating = 6 - rating WHERE user_id = 2;
.read tests/sql/cache_check.inc
.connection 1
UPDATE res.step SET label = 'delete here';
.connection 0
DELETE FROM ratings WHERE item_id = 140 OR (user_id = 3000 AND item_id = 104);
.read tests/sql/cache_check.inc

-- Another connection's changes: read again.
.connection 1
UPDATE res.step SET label = 'insert there';
INSERT INTO ratings VALUES (4, 104, 1), (3000, 110, 5), (7, 999, 5);
INSERT INTO plain VALUES (4, 104, 1);
.connection 0
.read tests/sql/cache_check.inc
.connection 1
UPDATE res.step SET label = 'update and delete there';
UPDATE ratings SET rating = 3 WHERE item_id = 105;
DELETE FROM ratings WHERE user_id = 9;
.connection 0
.read tests/sql/cache_check.inc

-- Inside a transaction: what is inserted counts at once, and what is
-- rolled back stops counting.
.connection 1
UPDATE res.step SET label = 'rolled back';
.connection 0
BEGIN;
INSERT INTO ratings VALUES (8, 999, 5), (8, 101, 1);
SELECT 'in the transaction', count(*) FROM rbm_recommend('b', 8, 5);
INSERT INTO ratings VALUES (10, 102, 1);
SELECT 'in the transaction', rbm_predict('i', 10, 102) < rbm_predict('i', 12, 102);
ROLLBACK;
.read tests/sql/cache_check.inc
.connection 1
UPDATE res.step SET label = 'rolled back to a savepoint';
.connection 0
BEGIN;
INSERT INTO ratings VALUES (11, 103, 5);
SELECT 'before the savepoint', count(rbm_predict('b', 11, 104));
SAVEPOINT sp;
INSERT INTO ratings VALUES (11, 999, 1), (12, 999, 1);
SELECT 'in the savepoint', count(*) FROM rbm_recommend('i', 11, 5);
ROLLBACK TO sp;
RELEASE sp;
COMMIT;
.read tests/sql/cache_check.inc
.connection 1
UPDATE res.step SET label = 'committed';
.connection 0
BEGIN;
INSERT INTO ratings VALUES (13, 103, 5);
SELECT 'in the transaction', count(*) FROM rbm_recommend('b', 13, 5);
INSERT INTO ratings VALUES (14, 999, 2);
SELECT 'in the transaction', count(rbm_predict('i', 14, 999));
COMMIT;
.read tests/sql/cache_check.inc

-- REPLACE drops the older row of a UNIQUE pair without counting it: the
-- pair's item is folded afresh, even when the new row does not count.
.connection 1
UPDATE res.step SET label = 'replace';
.connection 0
INSERT OR REPLACE INTO uniq VALUES (1, 102, 1), (2, 999, 5), (3, 105, NULL);
.read tests/sql/cache_check.inc
-- Without an index nothing tells a new row from a repeated pair: read again.
.connection 1
UPDATE res.step SET label = 'insert, no index';
.connection 0
INSERT INTO plain VALUES (3, 103, 5), (5, 999, 4);
.read tests/sql/cache_check.inc

-- Text ids, and a pending row updated inside the transaction that
-- inserted it.
CREATE TABLE tr AS SELECT 'u' || user_id AS user_id, 'i' || item_id AS item_id, rating FROM ratings;
CREATE INDEX tr_user ON tr(user_id);
CREATE INDEX tr_item ON tr(item_id);
SELECT 'text ids', length(rbm_train('ti', 'tr', 'user_id', 'item_id', 'rating',
         '{"orientation": "item", "hidden": 8, "epochs": 10, "batch_size": 10}'));
SELECT 'text ids', count(*) FROM rbm_recommend('ti', 'u1', 5);
BEGIN;
INSERT INTO tr VALUES ('u2', 'i103', 5);
SELECT 'pending', rbm_predict('ti', 'u3', 'i103') > 0;
INSERT INTO tr VALUES ('u7', 'i103', 5);
SELECT 'pending', rbm_predict('ti', 'u3', 'i103') > 0;
UPDATE tr SET rating = 1 WHERE rowid = (SELECT max(rowid) FROM tr);
SELECT 'pending row updated', count(*) FROM rbm_recommend('ti', 'u3', 5);
COMMIT;
.connection 2
.open file:/rbm_cache_test?vfs=memdb
.load dist/rbm
ATTACH 'file:/rbm_cache_res?vfs=memdb' AS res;
DELETE FROM res.fresh_top;
INSERT INTO res.fresh_top SELECT 'ti', 'u' || u.u, r.rowid, r.item, r.p_like
  FROM rusers u, rbm_recommend('ti', 'u' || u.u, 5) r;
.connection 0
.connection close 2
SELECT 'text ids', 'recommend', (SELECT count(*) FROM res.fresh_top),
       sum(r.item = t.item AND abs(r.p_like - t.p_like) <= 1e-6)
  FROM res.fresh_top t LEFT JOIN rbm_recommend(t.m, t.u, 5) r ON r.rowid = t.rank;

-- A database detached and another attached under its name (two files).
ATTACH 'file:/rbm_cache_paths?vfs=memdb' AS paths;
ATTACH (SELECT aux1 FROM paths.aux) AS aux;
CREATE TABLE aux.ar AS SELECT * FROM main.ratings;
CREATE INDEX aux.ar_item ON ar(item_id);
.connection 1
ATTACH 'file:/rbm_cache_paths?vfs=memdb' AS paths;
ATTACH (SELECT aux2 FROM paths.aux) AS aux2;
CREATE TABLE aux2.ar AS SELECT user_id, item_id, 6 - rating AS rating FROM main.ratings;
CREATE INDEX aux2.ar_item ON ar(item_id);
.connection 0
SELECT 'attached', length(rbm_train('ai', 'aux.ar', 'user_id', 'item_id', 'rating',
         '{"orientation": "item", "hidden": 8, "epochs": 10, "batch_size": 10}'));
CREATE TABLE first AS SELECT rbm_predict('ai', 3, 102) AS p, (SELECT group_concat(item) FROM rbm_recommend('ai', 3, 3)) AS top;
DETACH aux;
ATTACH (SELECT aux2 FROM paths.aux) AS aux;
SELECT 'another file', rbm_predict('ai', 3, 102) != p, (SELECT group_concat(item) FROM rbm_recommend('ai', 3, 3)) != top FROM first;
.connection 2
.open file:/rbm_cache_test?vfs=memdb
.load dist/rbm
ATTACH 'file:/rbm_cache_paths?vfs=memdb' AS paths;
ATTACH (SELECT aux2 FROM paths.aux) AS aux;
ATTACH 'file:/rbm_cache_res?vfs=memdb' AS res;
DELETE FROM res.fresh;
INSERT INTO res.fresh SELECT 'ai', 3, 102, rbm_predict('ai', 3, 102, 'like'), rbm_predict('ai', 3, 102);
.connection 0
.connection close 2
SELECT 'another file', 'as a new connection', abs(rbm_predict('ai', 3, 102) - answer) <= 1e-6 FROM res.fresh;
