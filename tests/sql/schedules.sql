-- schedules.sql: cd_k as a list of [epoch, k] steps, the momentum ramp
-- (momentum_start, momentum_epochs), lr_decay and persistent CD (pcd);
-- each checked against an equivalent fixed setting, bit for bit, and for
-- having an effect.
.load dist/rbm

.read tests/sql/planted_ratings.inc
CREATE TABLE t(name, options);
INSERT INTO t VALUES
  ('k2',        '{"orientation": "user", "hidden": 8, "epochs": 6, "batch_size": 10, "cd_k": 2}'),
  ('k2 list',   '{"orientation": "user", "hidden": 8, "epochs": 6, "batch_size": 10, "cd_k": [[1, 2]]}'),
  ('k1',        '{"orientation": "user", "hidden": 8, "epochs": 6, "batch_size": 10}'),
  ('k1 late 3', '{"orientation": "user", "hidden": 8, "epochs": 6, "batch_size": 10, "cd_k": [[1, 1], [100, 3]]}'),
  ('k1 then 3', '{"orientation": "user", "hidden": 8, "epochs": 6, "batch_size": 10, "cd_k": [[1, 1], [4, 3]]}'),
  ('no ramp',   '{"orientation": "user", "hidden": 8, "epochs": 6, "batch_size": 10, "momentum_start": 0.9}'),
  ('ramp',      '{"orientation": "user", "hidden": 8, "epochs": 6, "batch_size": 10, "momentum_start": 0.5}'),
  ('decay 0',   '{"orientation": "user", "hidden": 8, "epochs": 6, "batch_size": 10, "lr_decay": 0}'),
  ('decay',     '{"orientation": "user", "hidden": 8, "epochs": 6, "batch_size": 10, "lr_decay": 0.5}'),
  ('pcd',       '{"orientation": "user", "hidden": 8, "epochs": 6, "batch_size": 10, "pcd": true}'),
  ('one epoch', '{"orientation": "user", "hidden": 8, "epochs": 1, "batch_size": 10}'),
  ('pcd one',   '{"orientation": "user", "hidden": 8, "epochs": 1, "batch_size": 10, "pcd": true}');
SELECT name, json_extract(rbm_train(name, 'ratings', 'user_id', 'item_id', 'rating', options), '$.epochs_run')
  FROM t;
CREATE TABLE blob AS SELECT name, model FROM rbm_models;
SELECT 'list of one step = fixed k', (SELECT model FROM blob WHERE name = 'k2') = (SELECT model FROM blob WHERE name = 'k2 list');
SELECT 'a step never reached changes nothing', (SELECT model FROM blob WHERE name = 'k1') = (SELECT model FROM blob WHERE name = 'k1 late 3');
SELECT 'a step reached changes the model', (SELECT model FROM blob WHERE name = 'k1') != (SELECT model FROM blob WHERE name = 'k1 then 3');
SELECT 'ramp from momentum itself = no ramp', (SELECT model FROM blob WHERE name = 'k1') = (SELECT model FROM blob WHERE name = 'no ramp');
SELECT 'a ramp changes the model', (SELECT model FROM blob WHERE name = 'k1') != (SELECT model FROM blob WHERE name = 'ramp');
SELECT 'lr_decay 0 = none', (SELECT model FROM blob WHERE name = 'k1') = (SELECT model FROM blob WHERE name = 'decay 0');
SELECT 'lr_decay changes the model', (SELECT model FROM blob WHERE name = 'k1') != (SELECT model FROM blob WHERE name = 'decay');
SELECT 'pcd: the first epoch starts at the data', (SELECT model FROM blob WHERE name = 'one epoch') = (SELECT model FROM blob WHERE name = 'pcd one');
SELECT 'pcd: later epochs go on from the chains', (SELECT model FROM blob WHERE name = 'k1') != (SELECT model FROM blob WHERE name = 'pcd');
SELECT 'pcd still learns the planted tastes', rbm_predict('pcd', 2, 102) > rbm_predict('pcd', 2, 107);
SELECT 'options keep the schedule', json_extract(options, '$.cd_k') FROM rbm_models WHERE name = 'k1 then 3';
SELECT 'options keep the ramp', json_extract(options, '$.momentum_start'), json_extract(options, '$.momentum_epochs'),
       json_extract(options, '$.lr_decay') FROM rbm_models WHERE name = 'ramp';
SELECT 'no ramp is null', json_extract(options, '$.momentum_start') IS NULL FROM rbm_models WHERE name = 'k1';
SELECT 'options keep pcd', json_extract(options, '$.pcd') FROM rbm_models WHERE name = 'pcd';
-- A model's stored options train it again (null momentum_start included).
SELECT 'stored options retrain', json_extract(rbm_train('again', 'ratings', 'user_id', 'item_id', 'rating',
         (SELECT options FROM rbm_models WHERE name = 'k1')), '$.epochs_run');
SELECT 'same model again', (SELECT model FROM rbm_models WHERE name = 'again') = (SELECT model FROM blob WHERE name = 'k1');
SELECT 'null momentum_start = no ramp', json_extract(rbm_train('null ramp', 'ratings', 'user_id', 'item_id', 'rating',
         '{"orientation": "user", "hidden": 8, "epochs": 6, "batch_size": 10, "momentum_start": null}'), '$.epochs_run'),
       (SELECT model FROM rbm_models WHERE name = 'null ramp') = (SELECT model FROM blob WHERE name = 'k1');
-- A plain cd_k after a schedule replaces it.
SELECT 'plain k replaces a schedule', json_extract(rbm_train('k again', 'ratings', 'user_id', 'item_id', 'rating',
         '{"orientation": "user", "hidden": 8, "epochs": 6, "batch_size": 10, "cd_k": [[1, 1], [4, 3]], "cd_k": 2}'), '$.epochs_run'),
       (SELECT model FROM rbm_models WHERE name = 'k again') = (SELECT model FROM blob WHERE name = 'k2');
-- The virtual table takes the same, as key=value.
CREATE VIRTUAL TABLE v USING rbm(source=ratings, user=user_id, item=item_id, rating=rating,
  orientation=user, hidden=8, epochs=6, batch_size=10, cd_k='[[1, 1], [4, 3]]');
SELECT 'vtab schedule', (SELECT model FROM v_model) = (SELECT model FROM blob WHERE name = 'k1 then 3');
CREATE VIRTUAL TABLE vn USING rbm(source=ratings, user=user_id, item=item_id, rating=rating,
  orientation=user, hidden=8, epochs=6, batch_size=10, momentum_start=null);
SELECT 'vtab null momentum_start', (SELECT model FROM vn_model) = (SELECT model FROM blob WHERE name = 'k1');

-- Errors.
SELECT rbm_train('x', 'ratings', 'user_id', 'item_id', 'rating', '{"cd_k": [[2, 1], [1, 3]]}');
SELECT rbm_train('x', 'ratings', 'user_id', 'item_id', 'rating', '{"cd_k": [[1, 1], [2]]}');
SELECT rbm_train('x', 'ratings', 'user_id', 'item_id', 'rating', '{"cd_k": []}');
SELECT rbm_train('x', 'ratings', 'user_id', 'item_id', 'rating', '{"cd_k": [[0, 1]]}');
SELECT rbm_train('x', 'ratings', 'user_id', 'item_id', 'rating', '{"cd_k": [[1,1],[2,1],[3,1],[4,1],[5,1],[6,1],[7,1],[8,1],[9,1]]}');
SELECT rbm_train('x', 'ratings', 'user_id', 'item_id', 'rating', '{"momentum_start": 1.5}');
SELECT rbm_train('x', 'ratings', 'user_id', 'item_id', 'rating', '{"momentum_epochs": 0}');
SELECT rbm_train('x', 'ratings', 'user_id', 'item_id', 'rating', '{"lr_decay": -1}');
SELECT rbm_train('x', 'ratings', 'user_id', 'item_id', 'rating', '{"pcd": "maybe"}');
