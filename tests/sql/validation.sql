-- validation.sql: early stopping (validation, patience) and the
-- rbm_training_log table, on the planted ratings.
.load dist/rbm

.read tests/sql/planted_ratings.inc

-- Without validation: one log row per epoch, no validation figures.
SELECT 'plain', json_extract(j, '$.epochs_run'), json_extract(j, '$.best_epoch') IS NULL,
       json_extract(j, '$.validation_rmse') IS NULL, json_extract(j, '$.validation_ratings')
  FROM (SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating',
                         '{"orientation": "user", "hidden": 10, "epochs": 5, "batch_size": 10}') AS j);
SELECT 'plain log', count(*), min(epoch), max(epoch), sum(validation_rmse IS NULL),
       sum(recon_rmse > 0), sum(seconds >= 0)
  FROM rbm_training_log WHERE model = 'm';

-- With validation: a fifth of each user's ratings held out; the model
-- returned is the best epoch's, and the log says which that was.
CREATE TABLE v AS SELECT rbm_train('mv', 'ratings', 'user_id', 'item_id', 'rating',
  '{"orientation": "user", "hidden": 10, "epochs": 40, "batch_size": 10, "learning_rate": 0.3, "validation": 0.2, "patience": 3}') AS j;
SELECT 'held out about a fifth', json_extract(j, '$.validation_ratings') BETWEEN 0.15 * 1920 AND 0.25 * 1920,
       json_extract(j, '$.ratings')
  FROM v;
SELECT 'log rows', count(*) = (SELECT json_extract(j, '$.epochs_run') FROM v),
       sum(validation_rmse IS NOT NULL) = count(*)
  FROM rbm_training_log WHERE model = 'mv';
SELECT 'best epoch is the lowest validation RMSE',
       (SELECT epoch FROM rbm_training_log WHERE model = 'mv' ORDER BY validation_rmse, epoch LIMIT 1)
     = (SELECT json_extract(j, '$.best_epoch') FROM v),
       abs((SELECT min(validation_rmse) FROM rbm_training_log WHERE model = 'mv')
           - (SELECT json_extract(j, '$.validation_rmse') FROM v)) < 1e-4;
SELECT 'stopped within patience', json_extract(j, '$.epochs_run') - json_extract(j, '$.best_epoch') <= 3,
       json_extract(j, '$.epochs_run') = 40
         OR json_extract(j, '$.epochs_run') - json_extract(j, '$.best_epoch') = 3
  FROM v;
SELECT 'log best_epoch never ahead', count(*) FROM rbm_training_log
 WHERE model = 'mv' AND best_epoch > epoch;
-- Still predicts the planted tastes.
SELECT 'planted', rbm_predict('mv', 2, 102) > rbm_predict('mv', 2, 107);

-- The same seed gives the same model and the same log.  (Trained in a
-- statement of its own: a newer SQLite drops a FROM subquery's column that
-- nothing reads, and with it the call.)
CREATE TEMP TABLE mv2 AS SELECT rbm_train('mv2', 'ratings', 'user_id', 'item_id', 'rating',
  '{"orientation": "user", "hidden": 10, "epochs": 40, "batch_size": 10, "learning_rate": 0.3, "validation": 0.2, "patience": 3}') AS s;
SELECT 'same again', (SELECT model FROM rbm_models WHERE name = 'mv') = (SELECT model FROM rbm_models WHERE name = 'mv2');
SELECT 'same log', count(*) FROM rbm_training_log a JOIN rbm_training_log b
    ON a.epoch = b.epoch AND a.validation_rmse = b.validation_rmse
 WHERE a.model = 'mv' AND b.model = 'mv2';

-- Retraining a model replaces its log rows.
SELECT 'retrained', json_extract(rbm_train('mv', 'ratings', 'user_id', 'item_id', 'rating',
  '{"orientation": "user", "hidden": 10, "epochs": 2, "batch_size": 10}'), '$.epochs_run');
SELECT 'log replaced', count(*), max(epoch) FROM rbm_training_log WHERE model = 'mv';

-- patience 0: never early.
SELECT 'patience 0', json_extract(rbm_train('mp', 'ratings', 'user_id', 'item_id', 'rating',
  '{"orientation": "user", "hidden": 10, "epochs": 12, "batch_size": 10, "validation": 0.2, "patience": 0}'), '$.epochs_run');

-- Errors.
SELECT rbm_train('mx', 'ratings', 'user_id', 'item_id', 'rating', '{"orientation": "user", "validation": 0.6}');
SELECT rbm_train('mx', 'ratings', 'user_id', 'item_id', 'rating', '{"orientation": "user", "validation": -0.1}');
SELECT rbm_train('mx', 'ratings', 'user_id', 'item_id', 'rating', '{"orientation": "user", "patience": -1}');
SELECT rbm_train('mx', 'ratings', 'user_id', 'item_id', 'rating', '{"orientation": "user", "patience": 1.5}');
