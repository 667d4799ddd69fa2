-- damaged.sql: state damaged after training gets a clear error, never a
-- crash (issue 13, item 6): a model that is text or not a blob, options
-- that are not JSON (serving goes on: it needs only the threads), a source
-- renamed or with a column renamed, an rbm_models table made by hand with
-- columns missing (checked before training, not after), and a virtual
-- table whose shadow table was dropped, renamed or altered, or whose source
-- was dropped (and DROP TABLE still works).
.load dist/rbm
.mode list
CREATE TABLE ratings(user_id INTEGER, item_id INTEGER, rating REAL);
WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < 300)
INSERT INTO ratings SELECT k % 30, 100 + k % 11, 1 + k % 5 FROM s;
SELECT 'trained', rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": 4, "epochs": 2}') IS NOT NULL;
SELECT 'trained', rbm_train('u', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": 4, "epochs": 2, "orientation": "user"}') IS NOT NULL;
CREATE TABLE fv(v TEXT, label INTEGER);
INSERT INTO fv SELECT json_array(k % 2, 0.5), k % 2 FROM (WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < 20) SELECT k FROM s);
SELECT 'fit', rbm_fit('f', 'fv', 'v', '{"hidden": 2, "epochs": 1, "label": "label"}') IS NOT NULL;
-- A model that is text, or a blob that is no model.
UPDATE rbm_models SET model = 'not a blob', uid = uid + 1 WHERE name = 'u';
SELECT rbm_predict('u', 1, 101);
SELECT * FROM rbm_recommend('u', 1);
SELECT rbm_debug('u');
SELECT rbm_evaluate('u', 'ratings', 'user_id', 'item_id', 'rating');
UPDATE rbm_models SET model = x'00', uid = uid + 1 WHERE name = 'f';
SELECT rbm_transform('f', '[0, 1]');
SELECT * FROM rbm_sample('f', 2);
-- Options that are not JSON.
UPDATE rbm_models SET options = '{{', uid = uid + 1 WHERE name = 'm';
SELECT 'serves anyway', rbm_predict('m', 1, 101) IS NOT NULL, rbm_debug('m') IS NOT NULL,
       (SELECT count(*) FROM rbm_recommend('m', 1, 3));
UPDATE rbm_models SET options = '{}', uid = uid + 1 WHERE name = 'm';
-- A column of the source renamed, then the source renamed.
ALTER TABLE ratings RENAME COLUMN rating TO stars;
SELECT rbm_predict('m', 1, 101);
SELECT * FROM rbm_recommend('m', 1) LIMIT 1;
ALTER TABLE ratings RENAME COLUMN stars TO rating;
ALTER TABLE ratings RENAME TO gone;
SELECT rbm_predict('m', 1, 101);
SELECT rbm_evaluate('m', 'gone', 'user_id', 'item_id', 'rating');
ALTER TABLE gone RENAME TO ratings;
-- rbm_models made by hand, columns missing, a NULL model.
DROP TABLE rbm_models;
CREATE TABLE rbm_models(name TEXT PRIMARY KEY, model BLOB);
INSERT INTO rbm_models VALUES ('n', NULL);
SELECT rbm_predict('n', 1, 101);
SELECT rbm_transform('n', '[0, 1]');
SELECT rbm_train('x', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": 2, "epochs": 1}');
SELECT rbm_fit('x', 'fv', 'v', '{"hidden": 2, "epochs": 1}');
SELECT * FROM rbm_recommend('n', 1);
-- A shadow table dropped, then one renamed.
CREATE VIRTUAL TABLE v USING rbm(source=ratings, user=user_id, item=item_id, rating=rating, hidden=4, epochs=2);
SELECT 'vtab', count(*) FROM v WHERE user_id = 1;
DROP TABLE v_model;
SELECT count(*) FROM v WHERE user_id = 1;
DROP TABLE v;
CREATE VIRTUAL TABLE w USING rbm(source=ratings, user=user_id, item=item_id, rating=rating, hidden=4, epochs=2);
ALTER TABLE w_model RENAME TO w_old;
SELECT count(*) FROM w WHERE user_id = 1;
DROP TABLE w;
-- A shadow table altered: its model column renamed, then its blob damaged.
CREATE VIRTUAL TABLE x USING rbm(source=ratings, user=user_id, item=item_id, rating=rating, hidden=4, epochs=2);
ALTER TABLE x_model RENAME COLUMN model TO blob;
SELECT count(*) FROM x WHERE user_id = 1;
INSERT INTO x(x) VALUES ('retrain');
ALTER TABLE x_model RENAME COLUMN blob TO model;
UPDATE x_model SET model = substr(model, 1, 100);
SELECT count(*) FROM x WHERE user_id = 1;
DROP TABLE x;
-- The source dropped after training: the virtual table and the functions.
CREATE TABLE r2 AS SELECT * FROM ratings;
CREATE VIRTUAL TABLE y USING rbm(source=r2, user=user_id, item=item_id, rating=rating, hidden=4, epochs=2);
DROP TABLE r2;
SELECT count(*) FROM y WHERE user_id = 1;
INSERT INTO y(y) VALUES ('retrain');
DROP TABLE y;
SELECT 'alive, nothing left', (SELECT count(*) FROM sqlite_schema WHERE (name GLOB '[vwxy]_*' OR name IN ('v', 'w', 'x', 'y')) AND name <> 'w_old');
