-- features.sql: feature models (rbm_fit) on vectors in every form they
-- come in, what the models answer, and every bad input named in issue 12:
-- each error names the row, and nothing is stored.
.load dist/rbm
.mode list

-- 300 rows, 12 features in [0, 1], three classes: class c is high on the
-- features i with i % 3 = c, low elsewhere, with a little noise.
CREATE TABLE wide(id INTEGER PRIMARY KEY, kind TEXT, note TEXT,
                  f0 REAL, f1 REAL, f2 REAL, f3 REAL, f4 REAL, f5 REAL,
                  f6 REAL, f7 REAL, f8 REAL, f9 REAL, f10 REAL, f11 REAL);
CREATE TABLE long(id INTEGER, i INTEGER, x REAL);
INSERT INTO long
SELECT r.value, f.value,
       min(1.0, max(0.0, CASE WHEN f.value % 3 = r.value % 3 THEN 0.85 ELSE 0.1 END
                         + ((r.value * 7 + f.value * 13) % 11 - 5) / 50.0))
  FROM generate_series(1, 300) r, generate_series(0, 11) f;
INSERT INTO wide
SELECT id, char(97 + id % 3), 'row ' || id,
       max(x) FILTER (WHERE i = 0), max(x) FILTER (WHERE i = 1), max(x) FILTER (WHERE i = 2),
       max(x) FILTER (WHERE i = 3), max(x) FILTER (WHERE i = 4), max(x) FILTER (WHERE i = 5),
       max(x) FILTER (WHERE i = 6), max(x) FILTER (WHERE i = 7), max(x) FILTER (WHERE i = 8),
       max(x) FILTER (WHERE i = 9), max(x) FILTER (WHERE i = 10), max(x) FILTER (WHERE i = 11)
  FROM long GROUP BY id;

-- Long rows packed into float32 BLOBs; the same as JSON arrays.
CREATE TABLE vecs(id INTEGER PRIMARY KEY, kind INTEGER, v BLOB, j TEXT);
INSERT INTO vecs SELECT id, id % 3, rbm_vector_agg(i, x), NULL FROM long GROUP BY id;
UPDATE vecs SET j = rbm_vector_to_json(v);
SELECT 'vectors', count(*), min(length(v)), max(length(v)), json_array_length(j) FROM vecs;
SELECT 'same', count(*) FROM vecs JOIN wide USING (id)
 WHERE (SELECT max(abs(a.value - b.value)) FROM json_each(rbm_vector_to_json(v)) a
          JOIN json_each(json_array(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11)) b
          USING (key)) < 1e-6;

-- Plain columns, named; a vector column (BLOB); a vector column (JSON);
-- every numeric column (NULL: not id, the primary key, nor kind or note).
SELECT 'fit columns', json_extract(s, '$.kind'), json_extract(s, '$.rows'), json_extract(s, '$.features'),
       json_extract(s, '$.hidden'), json_extract(s, '$.classes'), json_extract(s, '$.train_accuracy') >= 0.95
  FROM (SELECT rbm_fit('cols', 'wide', '["f0","f1","f2","f3","f4","f5","f6","f7","f8","f9","f10","f11"]',
                       '{"hidden": 16, "epochs": 30, "label": "kind", "seed": 3}') AS s);
SELECT 'fit blob', json_extract(s, '$.features'), json_extract(s, '$.classes')
  FROM (SELECT rbm_fit('blob', 'vecs', 'v', '{"hidden": 16, "epochs": 30, "label": "kind"}') AS s);
SELECT 'fit json', json_extract(s, '$.features')
  FROM (SELECT rbm_fit('json', 'vecs', 'j', '{"hidden": 16, "epochs": 30}') AS s);
-- (Fitted in a statement of its own: a join may read rbm_models first.)
CREATE TEMP TABLE fit_all AS
  SELECT rbm_fit('all', 'wide', NULL, '{"hidden": 8, "epochs": 5, "label": "kind"}') AS s;
SELECT 'fit null', json_extract(s, '$.features'), json_extract(options, '$.features')
  FROM fit_all, rbm_models WHERE name = 'all';
SELECT 'stored', name, json_extract(options, '$.kind'), json_extract(options, '$.visible'),
       item_column, rating_column
  FROM rbm_models ORDER BY name;

-- Defaults that depend on the unit type and on pcd, in whatever order the
-- options come: learning_rate, lr_decay, weight_decay, momentum as stored; one given
-- option keeps its value and the others still get their defaults.
SELECT 'fit defaults', rbm_fit('dflt_b', 'wide', NULL, '{"hidden": 2, "epochs": 1}') IS NULL,
       rbm_fit('dflt_p', 'wide', NULL, '{"pcd": true, "hidden": 2, "epochs": 1}') IS NULL,
       rbm_fit('dflt_g', 'wide', NULL, '{"pcd": true, "hidden": 2, "epochs": 1, "visible": "gaussian"}') IS NULL,
       rbm_fit('dflt_w', 'wide', NULL, '{"weight_decay": 0.001, "hidden": 2, "epochs": 1, "pcd": true}') IS NULL;
SELECT 'defaults', name, json_extract(options, '$.learning_rate'), json_extract(options, '$.lr_decay'),
       json_extract(options, '$.weight_decay'), json_extract(options, '$.momentum')
  FROM rbm_models WHERE name GLOB 'dflt_*' ORDER BY name;
DELETE FROM rbm_models WHERE name GLOB 'dflt_*';

-- What a model answers: labels as stored (text here, integers there),
-- from a vector or from the columns themselves.
SELECT 'accuracy', avg(rbm_classify('cols', f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11) = kind) >= 0.95,
       avg(rbm_classify('cols', json_array(f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11)) = kind) >= 0.95
  FROM wide;
SELECT 'accuracy blob', avg(rbm_classify('blob', v) = kind) >= 0.95, typeof(rbm_classify('blob', v)) FROM vecs;
SELECT 'probs', json_type(p), (SELECT round(sum(value), 5) FROM json_each(p)),
       (SELECT group_concat(key) FROM json_each(p))
  FROM (SELECT rbm_class_probs('cols', v) AS p FROM vecs WHERE id = 4);
SELECT 'transform', typeof(t), length(t) / 4,
       (SELECT min(value) >= 0 AND max(value) <= 1 FROM json_each(rbm_vector_to_json(t)))
  FROM (SELECT rbm_transform('json', j) AS t FROM vecs WHERE id = 4);
SELECT 'reconstruct', length(r) / 4,
       (SELECT avg(abs(a.value - b.value)) < 0.2 FROM json_each(rbm_vector_to_json(r)) a
          JOIN json_each(j) b USING (key))
  FROM (SELECT rbm_reconstruct('json', j) AS r, j FROM vecs WHERE id = 4);
-- A typical vector has lower free energy than the same values with
-- neighbours swapped (as many high features, in a pattern no class has).
SELECT 'free energy', rbm_free_energy('json', j) <
       rbm_free_energy('json', (SELECT json_group_array(v) FROM
         (SELECT b.value AS v FROM json_each(j) a
            JOIN json_each(j) b ON b.key = a.key + 1 - 2 * (a.key % 2) ORDER BY a.key))),
       typeof(rbm_free_energy('json', j))
  FROM vecs WHERE id = 4;

-- Samples: n rows of the model's features, in [0, 1] for Bernoulli
-- units; sample j the same for a seed whatever n is; near some class's
-- pattern after enough Gibbs steps (its features' means by residue mod 3
-- spread by more than 0.4, which noise does not) for at least 5 of 20.
SELECT 'sample', count(*), min(length(vector)), max(length(vector)) FROM rbm_sample('json', 4, 50, 9);
SELECT 'sample same', (SELECT vector FROM rbm_sample('json', 4, 50, 9) WHERE sample = 2) =
                      (SELECT vector FROM rbm_sample('json', 2, 50, 9) WHERE sample = 2),
       (SELECT vector FROM rbm_sample('json', 2, 50, 9) WHERE sample = 2) !=
       (SELECT vector FROM rbm_sample('json', 2, 50, 10) WHERE sample = 2);
SELECT 'sample range', min(value) >= 0, max(value) <= 1
  FROM rbm_sample('json', 20, 100, 1), json_each(rbm_vector_to_json(vector));
SELECT 'sample patterned', count(*) >= 5 FROM (
  SELECT sample, max(m) - min(m) AS spread FROM (
    SELECT sample, key % 3 AS r, avg(value) AS m
      FROM rbm_sample('json', 20, 200, 1), json_each(rbm_vector_to_json(vector))
     GROUP BY sample, r) GROUP BY sample) WHERE spread > 0.4;

-- Gaussian units on real values: standardised inside (and undone on what
-- comes back), and still classify; a reconstruction of a class-a vector
-- stays near it, not at the features' means (about 15, 35, 1, 35, 17, 0.35).
CREATE TABLE real_wide(id INTEGER PRIMARY KEY, kind TEXT, f0 REAL, f1 REAL,
                       f2 REAL, f3 REAL, f4 REAL, f5 REAL);
INSERT INTO real_wide
SELECT id, kind, f0 * 100 - 20, f1 * 100, f2 * 3, f3 * 100, f4 * 50, f5 FROM wide;
SELECT 'gaussian', json_extract(s, '$.visible'), json_extract(s, '$.train_accuracy') >= 0.9
  FROM (SELECT rbm_fit('gauss', 'real_wide', NULL,
                       '{"visible": "gaussian", "hidden": 16, "epochs": 30, "label": "kind"}') AS s);
SELECT 'gaussian accuracy', avg(rbm_classify('gauss', f0, f1, f2, f3, f4, f5) = kind) >= 0.9 FROM real_wide;
SELECT 'gaussian reconstruct', json_extract(s, '$.recon_rmse') < 0.5,
       (SELECT abs(value - 65) < 15 FROM json_each(rbm_vector_to_json(rbm_reconstruct('gauss2', '[65, 10, 0.3, 85, 5, 0.1]'))) WHERE key = 0),
       (SELECT abs(value - 85) < 15 FROM json_each(rbm_vector_to_json(rbm_reconstruct('gauss2', '[65, 10, 0.3, 85, 5, 0.1]'))) WHERE key = 3)
  FROM (SELECT rbm_fit('gauss2', 'real_wide', '["f0","f1","f2","f3","f4","f5"]',
                       '{"visible": "gaussian", "hidden": 16, "epochs": 100, "learning_rate": 0.01}') AS s);
-- hidden 0: the head on the features themselves.
SELECT 'raw head', json_extract(s, '$.hidden'), json_extract(s, '$.recon_rmse'),
       json_extract(s, '$.train_accuracy') >= 0.9
  FROM (SELECT rbm_fit('raw', 'wide', NULL, '{"hidden": 0, "label": "kind"}') AS s);
SELECT 'raw classify', rbm_classify('raw', v) FROM vecs WHERE id = 5;

-- rbm_evaluate on a table read as rbm_fit reads it: the label is the
-- model's own label column when the source has it.
SELECT 'evaluate', json_extract(e, '$.rows'), json_extract(e, '$.accuracy') >= 0.95,
       json_extract(e, '$.log_loss') < 0.2, json_extract(e, '$.recon_rmse') < 0.3,
       json_extract(e, '$.free_energy') < 0, json_extract(e, '$.pseudo_likelihood') < 0
  FROM (SELECT rbm_evaluate('blob', 'vecs', 'v') AS e);
SELECT 'evaluate no label', json_extract(e, '$.accuracy') IS NULL, json_extract(e, '$.recon_rmse') > 0
  FROM (SELECT rbm_evaluate('json', 'vecs', 'j') AS e);
SELECT 'evaluate gaussian', json_extract(e, '$.pseudo_likelihood') IS NULL, json_extract(e, '$.accuracy') >= 0.9
  FROM (SELECT rbm_evaluate('gauss', 'real_wide', NULL) AS e);
SELECT 'evaluate raw', json_extract(e, '$.recon_rmse') IS NULL, json_extract(e, '$.accuracy') >= 0.9
  FROM (SELECT rbm_evaluate('raw', 'wide', NULL) AS e);

-- Vectors in SQL: bytes, long rows.
SELECT 'u8', rbm_vector_to_json(rbm_vector_u8(x'00FF80')), rbm_vector_to_json(rbm_vector_u8(x'0102', 0.5));
SELECT 'agg n', rbm_vector_to_json(rbm_vector_agg(i, x, 4)) FROM (SELECT 2 AS i, 1.5 AS x);
SELECT 'agg empty', rbm_vector_agg(i, x) IS NULL FROM long WHERE id = 0;

-- Bad input: each a clear error naming the row; nothing stored.
CREATE TABLE bad(id INTEGER PRIMARY KEY, kind TEXT, v);
INSERT INTO bad VALUES (1, 'a', '[0.1, 0.2, 0.3]'), (2, 'b', '[0.4, 0.5, 0.6]');
INSERT INTO bad VALUES (7, 'a', '[0.1, 0.2]');
SELECT rbm_fit('bad', 'bad', 'v', '{"label": "kind"}');
UPDATE bad SET v = x'0000c07f0000803f0000803f' WHERE id = 7;  -- NaN, 1, 1
SELECT rbm_fit('bad', 'bad', 'v', '{"label": "kind"}');
UPDATE bad SET v = x'0000807f0000803f0000803f' WHERE id = 7;  -- infinity
SELECT rbm_fit('bad', 'bad', 'v', '{"label": "kind"}');
UPDATE bad SET v = NULL WHERE id = 7;
SELECT rbm_fit('bad', 'bad', 'v', '{"label": "kind"}');
UPDATE bad SET v = 'not a vector' WHERE id = 7;
SELECT rbm_fit('bad', 'bad', 'v', '{"label": "kind"}');
UPDATE bad SET v = 42 WHERE id = 7;
SELECT rbm_fit('bad', 'bad', 'v', '{"label": "kind"}');
UPDATE bad SET v = '[0.1, 2.5, 0.3]' WHERE id = 7;
SELECT rbm_fit('bad', 'bad', 'v', '{"label": "kind"}');
UPDATE bad SET v = '[0.1, 0.5, 0.3]', kind = NULL WHERE id = 7;
SELECT rbm_fit('bad', 'bad', 'v', '{"label": "kind"}');
CREATE VIEW bad_view AS SELECT * FROM bad;
SELECT rbm_fit('bad', 'bad_view', 'v', '{"label": "kind"}');
UPDATE wide SET f3 = 'abc' WHERE id = 12;
SELECT rbm_fit('bad', 'wide', '["f0","f3"]', NULL);
UPDATE wide SET f3 = NULL WHERE id = 12;
SELECT rbm_fit('bad', 'wide', '["f0","f3"]', NULL);
SELECT rbm_fit('bad', 'wide', '["f0","nope"]', NULL);
SELECT rbm_fit('bad', 'wide', '["f0","kind"]', '{"label": "kind"}');
SELECT rbm_fit('bad', 'wide', '[1, 2]', NULL);
SELECT rbm_fit('bad', 'wide', NULL, '{"visible": "softmax"}');
SELECT rbm_fit('bad', 'wide', NULL, '{"orientation": "user"}');
SELECT rbm_fit('bad', 'wide', NULL, '{"hidden": 0}');
SELECT rbm_fit('bad', 'wide', NULL, '{"l2": -1, "label": "kind"}');
SELECT rbm_fit('bad', 'wide', NULL, '{"learning_rate": 1e9, "epochs": 3}');
-- The memory budget: the rows as they are read, then the training's
-- estimate, each against max_memory before allocating.
SELECT rbm_fit('bad', 'vecs', 'v', '{"max_memory": 1000}');
SELECT rbm_fit('bad', 'vecs', 'v', '{"max_memory": "20KB", "hidden": 64, "label": "kind"}');
SELECT 'fit within max_memory', rbm_fit('bad', 'vecs', 'v', '{"max_memory": "1 GiB", "epochs": 1}') IS NOT NULL,
       (SELECT json_extract(options, '$.max_memory') FROM rbm_models WHERE name = 'bad');
DELETE FROM rbm_models WHERE name = 'bad';
SELECT rbm_fit('bad', 'vecs', 'v', '{"label": "note"}');
SELECT rbm_fit('bad', 'wide', 'f0', '{"label": "f0"}');
SELECT rbm_fit('bad', (SELECT 'wide' WHERE 0), NULL);
SELECT rbm_fit('bad', 'nowhere', 'v');
CREATE TABLE one_class AS SELECT id, 'x' AS kind, f0, f1 FROM wide WHERE f0 IS NOT NULL;
SELECT rbm_fit('bad', 'one_class', '["f0", "f1"]', '{"label": "kind"}');
SELECT rbm_fit('bad', 'real_wide', NULL, '{"visible": "gaussian", "learning_rate": 50, "epochs": 5}');
SELECT 'nothing stored', count(*) FROM rbm_models WHERE name = 'bad';

-- Bad use of a model.
SELECT rbm_classify('cols', '[1, 2]');
SELECT rbm_classify('cols', 1, 2, 3);
SELECT rbm_classify('json', j) FROM vecs WHERE id = 1;
SELECT rbm_transform('raw', '[0,0,0,0,0,0,0,0,0,0,0,0]');
SELECT rbm_transform('nobody', '[1]');
SELECT rbm_transform('cols');
SELECT rbm_transform('cols', NULL);
SELECT rbm_transform('cols', x'000000');
SELECT rbm_vector_u8('text');
SELECT rbm_vector_agg(i, x) FROM (SELECT 1 AS i, 1 AS x UNION ALL SELECT 1, 2);
SELECT rbm_vector_agg(i, x, 2) FROM (SELECT 5 AS i, 1 AS x);
SELECT rbm_vector_agg(i, x) FROM (SELECT 0 AS i, 'x' AS x);
SELECT * FROM rbm_sample('json');
SELECT * FROM rbm_sample('json', 0);
SELECT * FROM rbm_sample('json', 3, -1);
SELECT * FROM rbm_sample('raw', 3);
SELECT * FROM rbm_sample('nobody', 3);
CREATE TABLE ratings(user_id, item_id, rating);
INSERT INTO ratings SELECT value % 10, value % 7, 1 + value % 5 FROM generate_series(1, 200);
SELECT json_extract(rbm_train('ratings_model', 'ratings', 'user_id', 'item_id', 'rating', '{"epochs": 2}'), '$.epochs_run');
SELECT rbm_transform('ratings_model', '[1, 2]');
SELECT rbm_evaluate('ratings_model', 'vecs', 'v');
SELECT rbm_evaluate('blob', 'vecs', '["id"]');
SELECT rbm_evaluate('blob', 'vecs', 'nope');
SELECT rbm_evaluate('blob', 'vecs', 'v', '{"label": "nope"}');
SELECT rbm_predict('cols', 1, 2);

-- One model whatever the thread count: the workers take minibatch rows in
-- tasks of a fixed size, since a GEMM's sums depend on its shape.
CREATE TABLE many(id INTEGER PRIMARY KEY, v BLOB);
INSERT INTO many SELECT r.value, rbm_vector_agg(f.value, ((r.value * 7 + f.value * 13) % 11) / 10.0)
  FROM generate_series(1, 400) r, generate_series(0, 63) f GROUP BY r.value;
SELECT 'fit threads', json_extract(rbm_fit('t1', 'many', 'v', '{"hidden": 64, "epochs": 2, "threads": 1}'), '$.threads'),
       json_extract(rbm_fit('t3', 'many', 'v', '{"hidden": 64, "epochs": 2, "threads": 3}'), '$.threads');
SELECT 'threads do not matter',
       (SELECT model FROM rbm_models WHERE name = 't1') = (SELECT model FROM rbm_models WHERE name = 't3');
