-- implicit.sql: visible = 'implicit' (every row an interaction, a dense
-- binary visible layer over all items) through rbm_train, rbm_predict,
-- rbm_recommend, rbm_evaluate and the virtual table; a table without a
-- rating column; errors.
.load dist/rbm

-- 60 users, 40 items (101..140).  Odd users use odd items and even users
-- even ones (the planted taste), each all but the 4 of them with
-- (user + item) % 5 = 0, which make the held-out table.  The rating
-- column is NULL, a number or text: an implicit model never reads it.
CREATE TABLE events(user_id INTEGER, item_id INTEGER, rating);
WITH RECURSIVE
  u(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM u WHERE id < 60),
  i(id) AS (SELECT 101 UNION ALL SELECT id + 1 FROM i WHERE id < 140)
INSERT INTO events
SELECT u.id, i.id, CASE (u.id + i.id) % 3 WHEN 0 THEN NULL WHEN 1 THEN 4 ELSE 'seen' END
  FROM u, i WHERE u.id % 2 = i.id % 2 AND (u.id + i.id) % 5 != 0;
CREATE TABLE held AS
WITH RECURSIVE
  u(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM u WHERE id < 60),
  i(id) AS (SELECT 101 UNION ALL SELECT id + 1 FROM i WHERE id < 140)
SELECT u.id AS user_id, i.id AS item_id FROM u, i
 WHERE u.id % 2 = i.id % 2 AND (u.id + i.id) % 5 = 0;
-- Three more users make items 139, 137 and 135 the most used.
INSERT INTO events VALUES (61, 139, NULL), (62, 139, NULL), (63, 139, NULL),
                          (61, 137, NULL), (62, 137, NULL), (61, 135, NULL);
SELECT 'events', count(*), (SELECT count(*) FROM held) FROM events;

-- No rating column (NULL): rows only.
SELECT 'trained', json_extract(j, '$.visible'), json_extract(j, '$.orientation'),
       json_extract(j, '$.users'), json_extract(j, '$.items'), json_extract(j, '$.ratings'),
       json_extract(j, '$.rating_values'), json_extract(j, '$.train_rmse')
  FROM (SELECT rbm_train('imp', 'events', 'user_id', 'item_id', NULL,
                         '{"visible": "implicit", "hidden": 20, "epochs": 60, "batch_size": 10, "learning_rate": 0.05, "weight_decay": 0.001}') AS j);
SELECT 'stored', rating_column = '', json_extract(options, '$.orientation') FROM rbm_models WHERE name = 'imp';

-- What each user should see next: the planted items they have no row for.
CREATE TABLE top AS
SELECT r.user AS user_id, r.item AS item_id
  FROM rbm_recommend('imp', (SELECT json_group_array(DISTINCT user_id) FROM events), 4) r;
SELECT 'top 4 are the held-out items', count(*) >= 0.9 * 240, count(*) <= 240
  FROM top JOIN held USING (user_id, item_id);
SELECT 'nothing already used', count(*) FROM top JOIN events USING (user_id, item_id);

-- rbm_predict is P(interaction); there is no rating to predict.
SELECT 'held out vs other side',
       (SELECT avg(rbm_predict('imp', user_id, item_id)) FROM held) >
       10 * (SELECT avg(rbm_predict('imp', user_id, item_id + 1)) FROM held);
SELECT 'within [0, 1]', count(*) FROM events
 WHERE rbm_predict('imp', user_id, item_id) BETWEEN 0 AND 1;
SELECT 'like is the default', rbm_predict('imp', 1, 105) = rbm_predict('imp', 1, 105, 'like');
SELECT rbm_predict('imp', 1, 105, 'rating');

-- An unknown user gets the items' popularity.
SELECT 'unknown user gets the most used',
       (SELECT group_concat(item) FROM rbm_recommend('imp', 9999, 3)) =
       (SELECT group_concat(item_id) FROM (SELECT item_id FROM events GROUP BY item_id
                                            ORDER BY count(*) DESC, item_id LIMIT 3));

-- rbm_evaluate: ranking figures; pointwise rating figures are null.
SELECT 'evaluate', json_extract(e, '$.rmse'), json_extract(e, '$.like_accuracy'), json_extract(e, '$.ratings'),
       json_extract(e, '$."precision@4"') >= 0.9, json_extract(e, '$."ndcg@4"') >= 0.9
  FROM (SELECT rbm_evaluate('imp', 'held', 'user_id', 'item_id', NULL, '{"k": 4}') AS e);

-- An implicit model's held-out rows are rows only: NULL and text ratings too.
SELECT 'evaluate reads rows only',
       json_extract(rbm_evaluate('imp', 'events', 'user_id', 'item_id', 'rating', '{"k": 0}'), '$.ratings');

-- The rating column named: an implicit model ignores it, NULL and text alike.
SELECT 'rating column ignored', json_extract(j, '$.ratings'), json_extract(j, '$.rating_values')
  FROM (SELECT rbm_train('imp2', 'events', 'user_id', 'item_id', 'rating',
                         '{"visible": "implicit", "hidden": 20, "epochs": 5, "batch_size": 10}') AS j);

-- One model whatever the thread count: the workers split each minibatch
-- into tasks of a fixed shape, and OpenBLAS runs each task's GEMMs on one
-- thread (a GEMM's sums depend on its shape and on OpenBLAS's own split).
-- Big enough for OpenBLAS to split a whole minibatch's GEMMs.  Training
-- sets OpenBLAS's thread count and puts the host's back afterwards.
CREATE TABLE wide AS
WITH RECURSIVE
  u(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM u WHERE id < 300),
  i(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM i WHERE id < 1500)
SELECT u.id AS user_id, i.id AS item_id FROM u, i
 WHERE ((u.id * 2654435761 + i.id * 40503) % 1000003) % 100 < 1 + u.id % 7
   AND (u.id + i.id) % 2 = 0;
SELECT 'one thread', rbm_train('imp3', 'wide', 'user_id', 'item_id', NULL,
                        '{"visible": "implicit", "hidden": 40, "epochs": 2, "threads": 1}') IS NOT NULL;
SELECT 'three threads', rbm_train('imp4', 'wide', 'user_id', 'item_id', NULL,
                        '{"visible": "implicit", "hidden": 40, "epochs": 2, "threads": 3}') IS NOT NULL;
SELECT 'threads do not matter',
       (SELECT model FROM rbm_models WHERE name = 'imp3') = (SELECT model FROM rbm_models WHERE name = 'imp4');
-- Serving imp4 leaves OpenBLAS on its 3 threads; training takes 1 and
-- gives the 3 back.
SELECT 'served', count(*) FROM rbm_recommend('imp4', 1, 5);
CREATE TEMP TABLE blas_before AS SELECT rbm_debug() AS debug;
SELECT 'trained again', rbm_train('imp5', 'wide', 'user_id', 'item_id', NULL,
                        '{"visible": "implicit", "hidden": 40, "epochs": 1}') IS NOT NULL;
SELECT 'blas threads put back', (SELECT debug FROM blas_before) = rbm_debug(),
       (SELECT debug FROM blas_before) GLOB '*blas threads: 3*';

-- The defaults an implicit model gets when none are given.
SELECT 'defaults trained', rbm_train('dflt', 'events', 'user_id', 'item_id', NULL,
                                     '{"visible": "implicit"}') IS NOT NULL;
SELECT 'implicit defaults', json_extract(options, '$.orientation'), json_extract(options, '$.hidden'),
       json_extract(options, '$.learning_rate'), json_extract(options, '$.weight_decay'),
       json_extract(options, '$.batch_size'), json_extract(options, '$.epochs')
  FROM rbm_models WHERE name = 'dflt';
-- hidden follows the data's shape: at most half the items (40 above; 1500
-- here, where it is 200), and 0 asks for that too.
SELECT 'defaults, 1500 items', json_extract(rbm_train('dflt2', 'wide', 'user_id', 'item_id', NULL,
                                     '{"visible": "implicit", "epochs": 1}'), '$.hidden');
SELECT 'hidden 0', json_extract(rbm_train('dflt3', 'events', 'user_id', 'item_id', NULL,
                                     '{"visible": "implicit", "hidden": 0, "epochs": 1}'), '$.hidden');
SELECT 'stored hidden', json_extract(options, '$.hidden') FROM rbm_models WHERE name = 'dflt3';

-- The virtual table: no rating= needed.
CREATE VIRTUAL TABLE recs USING rbm(source=events, user=user_id, item=item_id,
                                    visible=implicit, hidden=20, epochs=60, batch_size=10,
                                    learning_rate=0.05, weight_decay=0.001);
SELECT 'vtab', count(*) FROM (SELECT item_id FROM recs WHERE user_id = 2 AND rated = 0
                               ORDER BY p_like DESC LIMIT 4) t
 WHERE EXISTS (SELECT 1 FROM held h WHERE h.user_id = 2 AND h.item_id = t.item_id);

-- Errors.
SELECT rbm_train('e', 'events', 'user_id', 'item_id', NULL);
SELECT rbm_train('e', 'events', 'user_id', 'item_id', NULL, '{"visible": "binary"}');
SELECT rbm_train('e', 'events', 'user_id', 'item_id', NULL, '{"visible": "implicit", "orientation": "item"}');
SELECT rbm_train('e', 'events', 'user_id', 'item_id', NULL, '{"visible": "implicit", "orientation": "both"}');
SELECT rbm_train('e', 'events', 'user_id', 'item_id', NULL, '{"visible": "implicit", "pcd": true}');
SELECT rbm_train('e', 'events', 'user_id', 'item_id', NULL, '{"visible": "implicit", "validation": 0.1}');
SELECT rbm_train('e', 'events', 'user_id', 'item_id', 'rating');
CREATE VIRTUAL TABLE bad USING rbm(source=events, user=user_id, item=item_id);
SELECT 'no model e', count(*) FROM rbm_models WHERE name = 'e';
