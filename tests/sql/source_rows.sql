-- source_rows.sql: how rows of the source are read -- misspelled columns
-- are errors (not string literals), fold-in skips rows that training would
-- reject and keeps the later of repeated rows whether or not the user
-- column has an index, sources in attached databases, and a few messages.
.load dist/rbm

CREATE TABLE r(u INTEGER, i INTEGER, x REAL);
WITH RECURSIVE
  uu(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM uu WHERE id < 40),
  ii(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM ii WHERE id < 20)
INSERT INTO r SELECT uu.id, ii.id, CASE WHEN uu.id % 2 = ii.id % 2 THEN 5 ELSE 1 END
  FROM uu, ii WHERE (uu.id * 7 + ii.id * 3) % 5 != 0;
CREATE TABLE r_idx AS SELECT * FROM r;
CREATE INDEX r_idx_u ON r_idx(u);
.param set :opts '{"hidden": 8, "epochs": 30, "batch_size": 10, "learning_rate": 0.05}'
SELECT 'trained', json_extract(rbm_train('plain', 'r', 'u', 'i', 'x', :opts), '$.ratings');
SELECT 'trained', json_extract(rbm_train('indexed', 'r_idx', 'u', 'i', 'x', :opts), '$.ratings');

-- A column that does not exist is an error, never the string 'no_such_user'.
SELECT rbm_train('plain', 'r', 'no_such_user', 'i', 'x');
SELECT rbm_train('plain', 'r', 'u', 'no_such_item', 'x');
SELECT rbm_train('plain', 'r', 'u', 'i', 'no_such_rating');
CREATE VIRTUAL TABLE v USING rbm(source=r, user=nouser, item=i, rating=x);
SELECT 'no vtab left', count(*) FROM sqlite_schema WHERE name GLOB 'v*';
-- An empty option value is named, not "out of memory".
CREATE VIRTUAL TABLE v USING rbm(source=r, user=u, item=i, rating=x, hidden=);
CREATE VIRTUAL TABLE v USING rbm(source=, user=u, item=i, rating=x);
-- Only one rating value in a softmax model.
CREATE TABLE one_value AS SELECT u, i, 5 AS x FROM r;
SELECT rbm_train('one', 'one_value', 'u', 'i', 'x');

-- Repeated rows of a user added after training: the later row counts, with
-- or without an index.  User 100 says 1 then 5 for item 2; user 101 says 5.
INSERT INTO r VALUES (100, 2, 1), (100, 2, 5), (100, 4, 5), (101, 2, 5), (101, 4, 5);
INSERT INTO r_idx VALUES (100, 2, 1), (100, 2, 5), (100, 4, 5), (101, 2, 5), (101, 4, 5);
SELECT 'later row wins, no index', abs(rbm_predict('plain', 100, 6) - rbm_predict('plain', 101, 6)) < 1e-9;
SELECT 'later row wins, index', abs(rbm_predict('indexed', 100, 6) - rbm_predict('indexed', 101, 6)) < 1e-9;
SELECT 'index and snapshot agree', abs(rbm_predict('plain', 100, 6) - rbm_predict('indexed', 100, 6)) < 1e-6;

-- A bad row elsewhere in the source does not break other users' predictions,
-- with or without an index; the user with the bad row keeps the rest.
UPDATE r SET x = NULL WHERE u = 3 AND i = 11;
UPDATE r_idx SET x = NULL WHERE u = 3 AND i = 11;
UPDATE r SET x = 'abc' WHERE u = 5 AND i = 12;
UPDATE r_idx SET x = 'abc' WHERE u = 5 AND i = 12;
SELECT 'bad rows skipped, no index', rbm_predict('plain', 1, 13) > 3, rbm_predict('plain', 3, 13) > 3, rbm_predict('plain', 5, 14) < 3;
SELECT 'bad rows skipped, index', rbm_predict('indexed', 1, 13) > 3, rbm_predict('indexed', 3, 13) > 3, rbm_predict('indexed', 5, 14) < 3;
SELECT 'recommend still works', count(*) FROM rbm_recommend('plain', 3, 5);
-- Training on it is still an error naming the row.
SELECT rbm_train('plain', 'r', 'u', 'i', 'x');

-- A source in an attached database, as schema.table.
ATTACH ':memory:' AS aux;
CREATE TABLE aux.ratings AS SELECT * FROM r_idx WHERE x IS NOT NULL AND typeof(x) != 'text';
SELECT 'attached', json_extract(rbm_train('aux_model', 'aux.ratings', 'u', 'i', 'x', :opts), '$.users');
SELECT 'stored source', source FROM rbm_models WHERE name = 'aux_model';
SELECT 'attached predicts', rbm_predict('aux_model', 2, 4) > 3, rbm_predict('aux_model', 2, 5) < 3;
SELECT rbm_train('m', 'nosuchschema.ratings', 'u', 'i', 'x');

-- After another connection drops rbm_models: the usual message.
DROP TABLE rbm_models;
SELECT rbm_predict('plain', 1, 2);

-- The same column twice is an error.
SELECT rbm_train('m', 'r', 'u', 'i', 'i');
CREATE VIRTUAL TABLE v USING rbm(source=r, user=u, item=x, rating=x);

-- A blob replaced by hand in this connection is noticed, not served from
-- the cache: the error names the damage.
CREATE TABLE clean AS SELECT * FROM r WHERE typeof(x) IN ('integer', 'real');
SELECT 'again', json_extract(rbm_train('plain', 'clean', 'u', 'i', 'x', :opts), '$.epochs_run');
SELECT 'before damage', rbm_predict('plain', 1, 13) > 3;
UPDATE rbm_models SET model = X'00' WHERE name = 'plain';
SELECT rbm_predict('plain', 1, 13);
UPDATE rbm_models SET model = zeroblob(5000) WHERE name = 'plain';
SELECT rbm_predict('plain', 1, 13);
