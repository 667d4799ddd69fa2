-- blobs.sql: trains one model of each kind the engine has, with fixed
-- seeds, and prints each stored blob's SHA3-256.  tests/blobs.sh compares
-- the hashes with those recorded before the engine was reshaped: a change
-- in any byte of any model is a change in behaviour.
.load dist/rbm
.mode list
.separator " "

-- 500 users x 1800 items, rows of varied length (1% to 7% of the items),
-- ratings 1..5 with a taste: users and items of the same parity rate high.
CREATE TABLE ratings(user_id INTEGER, item_id INTEGER, rating REAL);
INSERT INTO ratings
SELECT u.value, i.value,
       CASE WHEN u.value % 2 = i.value % 2
            THEN 3 + (u.value * 7 + i.value * 13) % 3
            ELSE 1 + (u.value * 5 + i.value * 11) % 3 END
  FROM generate_series(1, 500) u, generate_series(1, 1800) i
 WHERE ((u.value * 2654435761 + i.value * 40503) % 1000003) % 100 < 1 + u.value % 7;

CREATE TEMP TABLE runs(name TEXT, options TEXT);
INSERT INTO runs VALUES
  ('softmax_user', '{"hidden": 40, "epochs": 4, "seed": 11}'),
  ('softmax_item', '{"hidden": 40, "epochs": 4, "seed": 12, "orientation": "item"}'),
  ('softmax_both', '{"hidden": 40, "epochs": 3, "seed": 13, "orientation": "both", "threads": 2}'),
  ('binary', '{"hidden": 40, "epochs": 4, "seed": 14, "visible": "binary"}'),
  ('binary_split', '{"hidden": 1200, "epochs": 1, "seed": 15, "visible": "binary", "threads": 2}'),
  ('implicit', '{"hidden": 40, "epochs": 4, "seed": 16, "visible": "implicit"}'),
  ('hidden_600', '{"hidden": 600, "epochs": 2, "seed": 17}'),
  ('pcd', '{"hidden": 40, "epochs": 4, "seed": 18, "pcd": true, "cd_k": 3}'),
  ('cd_17', '{"hidden": 20, "epochs": 2, "seed": 19, "cd_k": 17, "momentum_start": 0.5, "momentum_epochs": 2, "lr_decay": 0.1}'),
  ('validation', '{"hidden": 40, "epochs": 6, "seed": 20, "validation": 0.2, "patience": 2}');
SELECT 'trained', sum(rbm_train(name, 'ratings', 'user_id', 'item_id', 'rating', options) IS NOT NULL) FROM runs;
SELECT name, lower(hex(sha3(model, 256))) FROM rbm_models ORDER BY name;
