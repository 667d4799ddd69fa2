-- train.sql: rbm_train() on a planted two-group dataset: the JSON summary,
-- the rbm_models table, options and their defaults, replacing a model.
.load dist/rbm

-- 60 users x 40 items; users and items split by parity: rating 5 when the
-- parities match, else 1, with some 4s/2s and a diagonal of 3s; every
-- pair with (7u + 3i) % 5 = 0 is missing (480 of 2400).
.read tests/sql/planted_ratings.inc
SELECT 'source rows', count(*) FROM ratings;

-- No model table before the first training.
SELECT 'rbm_models before', count(*) FROM sqlite_schema WHERE name = 'rbm_models';

CREATE TEMP TABLE res AS
SELECT rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating',
                 '{"hidden": 10, "epochs": 20, "batch_size": 10}') AS s;

-- The summary: every key, and the values that follow from the data.
SELECT 'summary keys', group_concat(key, ',') FROM json_each((SELECT s FROM res));
SELECT 'model', json_extract(s, '$.model') FROM res;
SELECT 'users', json_extract(s, '$.users') FROM res;
SELECT 'items', json_extract(s, '$.items') FROM res;
SELECT 'ratings', json_extract(s, '$.ratings') FROM res;
SELECT 'duplicates_dropped', json_extract(s, '$.duplicates_dropped') FROM res;
SELECT 'rating_values', json_extract(s, '$.rating_values') FROM res;
SELECT 'visible', json_extract(s, '$.visible') FROM res;
SELECT 'hidden', json_extract(s, '$.hidden') FROM res;
SELECT 'epochs_run', json_extract(s, '$.epochs_run') FROM res;
-- threads defaults to one per core (rbm_debug() says how many that is).
SELECT 'threads one per core',
       json_extract(s, '$.threads') = CAST(substr(d, instr(d, 'default threads: ') + 17) AS INTEGER)
  FROM res, (SELECT rbm_debug() AS d);
SELECT 'timings are non-negative reals',
       typeof(json_extract(s, '$.seconds')) = 'real' AND json_extract(s, '$.seconds') >= 0
       AND typeof(json_extract(s, '$.ingest_seconds')) = 'real'
       AND json_extract(s, '$.ingest_seconds') >= 0
  FROM res;
-- The planted structure is learnt: training error well below chance.
SELECT 'train_rmse < 0.8', json_extract(s, '$.train_rmse') BETWEEN 0 AND 0.8 FROM res;
SELECT 'train_like_accuracy > 0.9', json_extract(s, '$.train_like_accuracy') BETWEEN 0.9 AND 1 FROM res;

-- The rbm_models table and its row.
SELECT 'rbm_models after', count(*) FROM sqlite_schema WHERE name = 'rbm_models';
PRAGMA table_info(rbm_models);
SELECT name, source, user_column, item_column, rating_column FROM rbm_models;
SELECT 'created_at is ISO 8601 UTC',
       created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'
       AND julianday(created_at) IS NOT NULL
  FROM rbm_models;
SELECT 'uid is an integer', typeof(uid) FROM rbm_models;
SELECT 'model is an rbm blob', typeof(model), substr(model, 1, 3) = CAST('RBM' AS BLOB)
  FROM rbm_models;
SELECT 'stored summary is what rbm_train returned', summary = (SELECT s FROM res) FROM rbm_models;
-- Options: the given ones, and every other one at its default.
SELECT 'options', options FROM rbm_models WHERE name = 'm';

-- The result carries the JSON subtype: it nests as an object, not a string.
SELECT 'nests as JSON', json_type(json_object('r',
         rbm_train('n', 'ratings', 'user_id', 'item_id', 'rating',
                   '{"hidden": 4, "epochs": 1}')), '$.r');
SELECT 'two models', count(*) FROM rbm_models;

-- Retraining a name replaces its row: still one row, new uid, new options.
CREATE TEMP TABLE old AS SELECT uid, options FROM rbm_models WHERE name = 'm';
SELECT 'retrain hidden', json_extract(rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating',
         '{"hidden": 12, "epochs": 5, "batch_size": 20, "learning_rate": 0.05, "momentum": 0.5, "weight_decay": 0.001, "cd_k": 2, "seed": 7, "like_threshold": 4, "threads": 2}'),
         '$.hidden');
SELECT 'rows named m', count(*) FROM rbm_models WHERE name = 'm';
SELECT 'models in all', count(*) FROM rbm_models;
SELECT 'uid changed', uid != (SELECT uid FROM old) FROM rbm_models WHERE name = 'm';
SELECT 'options', options FROM rbm_models WHERE name = 'm';
SELECT 'summary follows', json_extract(summary, '$.hidden'), json_extract(summary, '$.epochs_run'),
       json_extract(summary, '$.threads') FROM rbm_models WHERE name = 'm';

-- No options, NULL options and {} all mean the defaults.
SELECT 'defaults (5 args)', json_extract(rbm_train('d5', 'ratings', 'user_id', 'item_id', 'rating'),
                                         '$.hidden', '$.epochs_run');
SELECT 'defaults (NULL)', json_extract(rbm_train('dn', 'ratings', 'user_id', 'item_id', 'rating', NULL),
                                       '$.hidden', '$.epochs_run');
SELECT 'defaults ({})', json_extract(rbm_train('de', 'ratings', 'user_id', 'item_id', 'rating', '{}'),
                                     '$.hidden', '$.epochs_run');
SELECT 'same options', count(DISTINCT options) FROM rbm_models WHERE name IN ('d5', 'dn', 'de');
SELECT 'default options', options FROM rbm_models WHERE name = 'd5';
-- Option names are case-insensitive.
SELECT 'HIDDEN', json_extract(rbm_train('ci', 'ratings', 'user_id', 'item_id', 'rating',
                                        '{"HIDDEN": 7, "Epochs": 2}'), '$.hidden', '$.epochs_run');

-- One seed and one thread count give one model, byte for byte; another
-- seed gives another model.
SELECT json_extract(rbm_train('s1', 'ratings', 'user_id', 'item_id', 'rating',
                              '{"hidden": 10, "epochs": 20, "batch_size": 10}'), '$.model');
SELECT json_extract(rbm_train('s2', 'ratings', 'user_id', 'item_id', 'rating',
                              '{"hidden": 10, "epochs": 20, "batch_size": 10}'), '$.model');
SELECT json_extract(rbm_train('s3', 'ratings', 'user_id', 'item_id', 'rating',
                              '{"hidden": 10, "epochs": 20, "batch_size": 10, "seed": 43}'), '$.model');
SELECT 'same seed, same model',
       (SELECT model FROM rbm_models WHERE name = 's1') = (SELECT model FROM rbm_models WHERE name = 's2');
SELECT 'other seed, other model',
       (SELECT model FROM rbm_models WHERE name = 's1') != (SELECT model FROM rbm_models WHERE name = 's3');
SELECT 'uids differ', count(DISTINCT uid) = count(*) FROM rbm_models;

-- The source may be a view, and repeated (user, item) pairs count once.
CREATE VIEW rv AS SELECT user_id AS u, item_id AS i, rating AS r FROM ratings
  UNION ALL SELECT user_id, item_id, rating FROM ratings WHERE user_id <= 3;
SELECT 'view source', json_extract(rbm_train('v', 'rv', 'u', 'i', 'r', '{"hidden": 4, "epochs": 2}'),
                                   '$.users', '$.items', '$.ratings', '$.duplicates_dropped');
SELECT 'view recorded', source, user_column, item_column, rating_column FROM rbm_models WHERE name = 'v';

-- Binary visible units: summary says so, and train_rmse is null.
SELECT 'binary', json_extract(s, '$.visible'), json_type(s, '$.train_rmse'), json_extract(s, '$.rating_values')
  FROM (SELECT rbm_train('b', 'ratings', 'user_id', 'item_id', 'rating',
                         '{"hidden": 10, "epochs": 20, "batch_size": 10, "visible": "binary"}') AS s);
SELECT 'binary options', json_extract(options, '$.visible') FROM rbm_models WHERE name = 'b';
SELECT name FROM rbm_models ORDER BY name;
