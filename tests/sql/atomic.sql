-- atomic.sql: a failed (re)training writes nothing: the previous model
-- row stays byte-identical and predicts as before; a rolled-back training
-- is undone, predictions included.  For rbm_train and the virtual table.
.load dist/rbm

.read tests/sql/planted_ratings.inc

-- The model is trained from a view, which later changes under it.
CREATE VIEW src AS SELECT user_id, item_id, rating FROM ratings;
SELECT 'trained', json_extract(rbm_train('m', 'src', 'user_id', 'item_id', 'rating',
                  '{"orientation": "user", "hidden": 10, "epochs": 20, "batch_size": 10}'), '$.users');
CREATE TABLE snap AS
SELECT uid, created_at, options, summary, length(model) AS n, model,
       rbm_predict('m', 2, 102) AS p_even, rbm_predict('m', 2, 107) AS p_odd
  FROM rbm_models WHERE name = 'm';
-- (kept in a table: rbm_models is compared against it after each attempt)
CREATE VIEW same AS
SELECT r.uid = s.uid AND r.created_at = s.created_at AND r.options = s.options
       AND r.summary = s.summary AND length(r.model) = s.n AND r.model = s.model AS row_same
  FROM rbm_models r, snap s WHERE r.name = 'm';

-- 1. The view now yields a non-numeric rating.
DROP VIEW src;
CREATE VIEW src AS SELECT user_id, item_id, iif(user_id = 7 AND item_id = 120, 'five', rating) AS rating FROM ratings;
SELECT rbm_train('m', 'src', 'user_id', 'item_id', 'rating', '{"orientation": "user", "hidden": 12, "epochs": 5}');
SELECT 'after bad value', row_same FROM same;
-- 2. The view now yields a NULL user.
DROP VIEW src;
CREATE VIEW src AS SELECT iif(user_id = 7, NULL, user_id) AS user_id, item_id, rating FROM ratings;
SELECT rbm_train('m', 'src', 'user_id', 'item_id', 'rating', '{"orientation": "user", "hidden": 12, "epochs": 5}');
SELECT 'after NULL user', row_same FROM same;
-- 3. The view is gone.
DROP VIEW src;
SELECT rbm_train('m', 'src', 'user_id', 'item_id', 'rating', '{"orientation": "user", "hidden": 12, "epochs": 5}');
SELECT 'after missing source', row_same FROM same;
-- 4. The view is empty.
CREATE VIEW src AS SELECT user_id, item_id, rating FROM ratings WHERE rating > 100;
SELECT rbm_train('m', 'src', 'user_id', 'item_id', 'rating', '{"orientation": "user", "hidden": 12, "epochs": 5}');
SELECT 'after empty source', row_same FROM same;
-- 5. Bad options on a good source.
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"orientation": "user", "hidden": 12, "epochs": 0}');
SELECT 'after bad options', row_same FROM same;
-- 6. A failure inside an explicit transaction that then commits.
BEGIN;
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"orientation": "user", "cd_k": 0}');
COMMIT;
SELECT 'after failure in a transaction', row_same FROM same;
-- The model remembers its source, now the empty view: fold-in finds no
-- rows, so user 2 is predicted from the prior (no longer planted).
SELECT 'source recorded', source FROM rbm_models WHERE name = 'm';
SELECT 'empty source, prior', rbm_predict('m', 2, 102) = rbm_predict('m', 9999, 102);
DROP VIEW src;
CREATE VIEW src AS SELECT user_id, item_id, rating FROM ratings;
-- Still predicting, exactly as before.
SELECT 'predicts the same', rbm_predict('m', 2, 102) = (SELECT p_even FROM snap),
       rbm_predict('m', 2, 107) = (SELECT p_odd FROM snap);

-- A successful retrain that is rolled back is undone, and predictions
-- follow the restored row (the cached model is not used).
BEGIN;
SELECT 'retrained in a transaction', json_extract(rbm_train('m', 'src', 'user_id', 'item_id', 'rating',
         '{"orientation": "user", "hidden": 6, "epochs": 3, "seed": 5}'), '$.hidden');
SELECT 'new model visible inside', row_same, rbm_predict('m', 2, 102) != (SELECT p_even FROM snap) FROM same;
ROLLBACK;
SELECT 'after rollback', row_same, rbm_predict('m', 2, 102) = (SELECT p_even FROM snap) FROM same;
-- The same with a savepoint.
SAVEPOINT sp;
SELECT 'retrained in a savepoint', json_extract(rbm_train('m', 'src', 'user_id', 'item_id', 'rating',
         '{"orientation": "user", "hidden": 6, "epochs": 3, "seed": 5}'), '$.hidden');
SELECT 'changed', rbm_predict('m', 2, 102) != (SELECT p_even FROM snap) FROM same;
ROLLBACK TO sp;
RELEASE sp;
SELECT 'after rollback to savepoint', row_same, rbm_predict('m', 2, 102) = (SELECT p_even FROM snap) FROM same;
-- A first training rolled back leaves no row for that name.
BEGIN;
SELECT 'new name', json_extract(rbm_train('other', 'src', 'user_id', 'item_id', 'rating',
                   '{"orientation": "user", "hidden": 4, "epochs": 1}'), '$.model');
ROLLBACK;
SELECT 'no row for other', count(*) FROM rbm_models WHERE name = 'other';
SELECT rbm_predict('other', 2, 102);

-- The virtual table: a failed retrain keeps the shadow row as it was.
CREATE TABLE vsrc AS SELECT * FROM ratings;
CREATE VIRTUAL TABLE recs USING rbm(source=vsrc, user=user_id, item=item_id, rating=rating,
                                   hidden=10, epochs=20, batch_size=10);
CREATE TABLE vsnap AS
SELECT uid, created_at, summary, model,
       (SELECT p_like FROM recs WHERE user_id = 2 AND item_id = 102) AS p
  FROM recs_model;
UPDATE vsrc SET rating = NULL WHERE user_id = 9 AND item_id = 101;
INSERT INTO recs(recs) VALUES ('retrain');
SELECT 'vtab after failed retrain', count(*), uid = (SELECT uid FROM vsnap),
       created_at = (SELECT created_at FROM vsnap), model = (SELECT model FROM vsnap)
  FROM recs_model;
ALTER TABLE vsrc RENAME TO vsrc_gone;
INSERT INTO recs(recs) VALUES ('retrain');
SELECT 'vtab after missing source', uid = (SELECT uid FROM vsnap), model = (SELECT model FROM vsnap)
  FROM recs_model;
ALTER TABLE vsrc_gone RENAME TO vsrc;
UPDATE vsrc SET rating = 1 WHERE user_id = 9 AND item_id = 101;
SELECT 'vtab still reads', p_like = (SELECT p FROM vsnap) FROM recs WHERE user_id = 2 AND item_id = 102;
-- A retrain rolled back: the old row, and the old answers.
BEGIN;
INSERT INTO recs(recs) VALUES ('retrain');
SELECT 'vtab retrained inside', uid != (SELECT uid FROM vsnap) FROM recs_model;
ROLLBACK;
SELECT 'vtab after rollback', uid = (SELECT uid FROM vsnap), model = (SELECT model FROM vsnap) FROM recs_model;
SELECT 'vtab reads the old model', p_like = (SELECT p FROM vsnap) FROM recs WHERE user_id = 2 AND item_id = 102;

SELECT 'models at the end', group_concat(name) FROM rbm_models;
