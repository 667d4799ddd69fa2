-- train_errors.sql: rbm_train() refuses bad sources, bad options and bad
-- arguments with a message naming the problem, and writes nothing: the
-- stored model is untouched and still predicts the same.
.load dist/rbm

.read tests/sql/planted_ratings.inc

-- A failed first training does not even create rbm_models.
SELECT rbm_train('m', 'nosuch', 'user_id', 'item_id', 'rating');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": 0}');
SELECT 'rbm_models exists', count(*) FROM sqlite_schema WHERE name = 'rbm_models';

SELECT 'trained', json_extract(rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating',
                  '{"hidden": 10, "epochs": 20, "batch_size": 10}'), '$.users');
CREATE TEMP TABLE before AS
SELECT name, created_at, options, summary, source, uid, model,
       rbm_predict('m', 2, 102) AS p1, rbm_predict('m', 2, 107) AS p2
  FROM rbm_models;

-- Sources and their contents.
SELECT rbm_train('m', 'nosuch', 'user_id', 'item_id', 'rating');
CREATE TABLE bad AS SELECT * FROM ratings;
UPDATE bad SET rating = NULL WHERE user_id = 3 AND item_id = 105;
SELECT rbm_train('m', 'bad', 'user_id', 'item_id', 'rating');
UPDATE bad SET rating = 'abc' WHERE user_id = 3 AND item_id = 105;
SELECT rbm_train('m', 'bad', 'user_id', 'item_id', 'rating');
UPDATE bad SET rating = '4 stars' WHERE user_id = 3 AND item_id = 105;
SELECT rbm_train('m', 'bad', 'user_id', 'item_id', 'rating');
UPDATE bad SET rating = 4 WHERE user_id = 3 AND item_id = 105;
UPDATE bad SET user_id = NULL WHERE user_id = 4 AND item_id = 105;
SELECT rbm_train('m', 'bad', 'user_id', 'item_id', 'rating');
UPDATE bad SET user_id = 4 WHERE user_id IS NULL;
UPDATE bad SET item_id = NULL WHERE user_id = 4 AND item_id = 105;
SELECT rbm_train('m', 'bad', 'user_id', 'item_id', 'rating');
CREATE TABLE empty(user_id, item_id, rating);
SELECT rbm_train('m', 'empty', 'user_id', 'item_id', 'rating');
CREATE VIEW no_rows AS SELECT * FROM ratings WHERE 0;
SELECT rbm_train('m', 'no_rows', 'user_id', 'item_id', 'rating');
-- More distinct values than a softmax model takes.
CREATE TABLE many AS SELECT user_id, item_id, (user_id * 40 + item_id) % 70 AS rating FROM ratings;
SELECT rbm_train('m', 'many', 'user_id', 'item_id', 'rating');

-- Options.
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"hiden": 5}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '[1]');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '5');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '"hidden"');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": 5');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": 0}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": -3}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": 16385}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": 1000000000}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": 1e30}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": "ten"}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": 10.5}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": null}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": [10]}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": {"n": 10}}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"epochs": 0}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"epochs": 100001}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"batch_size": 2.5}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"batch_size": 0}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"learning_rate": -0.1}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"learning_rate": 0}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"momentum": 1}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"momentum": -0.5}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"weight_decay": 1}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"cd_k": 0}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"cd_k": 1001}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"seed": -1}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"seed": 1.5}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"visible": "bogus"}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"visible": 1}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"threads": -1}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"threads": 257}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"verbose": 2}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"like_threshold": "high"}');
-- A bad option after good ones still fails the whole call.
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"hidden": 4, "epochs": 1, "cd_k": 0}');
-- Options must be JSON text, not another type.
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', 5);

-- The name and identifier arguments must be non-empty text.
SELECT rbm_train(NULL, 'ratings', 'user_id', 'item_id', 'rating');
SELECT rbm_train(5, 'ratings', 'user_id', 'item_id', 'rating');
SELECT rbm_train(x'6d', 'ratings', 'user_id', 'item_id', 'rating');
SELECT rbm_train('', 'ratings', 'user_id', 'item_id', 'rating');
SELECT rbm_train('m', NULL, 'user_id', 'item_id', 'rating');
SELECT rbm_train('m', '', 'user_id', 'item_id', 'rating');
SELECT rbm_train('m', 'ratings', NULL, 'item_id', 'rating');
SELECT rbm_train('m', 'ratings', 'user_id', 42, 'rating');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', '');

-- A failure under a new name creates no row either.
SELECT rbm_train('fresh', 'bad', 'user_id', 'item_id', 'rating');
SELECT rbm_train('fresh', 'ratings', 'user_id', 'item_id', 'rating', '{"cd_k": 0}');

-- The memory budget: the estimate against max_memory, before allocating.
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"max_memory": 1000, "orientation": "user", "threads": 1}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"max_memory": "2KB"}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"max_memory": "lots"}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"max_memory": -1}');
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating', '{"max_memory": "12 XB"}');

-- Nothing was written: the one row is byte-identical, and predicts the same.
SELECT 'models', count(*) FROM rbm_models;
SELECT 'row unchanged',
       r.created_at = b.created_at AND r.options = b.options AND r.summary = b.summary
       AND r.source = b.source AND r.uid = b.uid AND r.model = b.model
  FROM rbm_models r JOIN before b USING (name);
SELECT 'predicts the same',
       rbm_predict('m', 2, 102) = (SELECT p1 FROM before),
       rbm_predict('m', 2, 107) = (SELECT p2 FROM before);
SELECT 'and still well', rbm_predict('m', 2, 102) > 4, rbm_predict('m', 2, 107) < 2;
