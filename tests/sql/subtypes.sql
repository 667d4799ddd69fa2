-- subtypes.sql: the result subtypes.  Every function that returns JSON
-- marks it with SQLite's JSON subtype (74), so json functions read it as
-- JSON and not as a string; every function that returns a vector (a
-- float32 BLOB) marks it with sqlite-vec's float32 subtype (223), what its
-- vec_f32() gives.  From SQLite 3.45 such a function must be registered
-- with SQLITE_RESULT_SUBTYPE, and a SQLite built with
-- SQLITE_STRICT_SUBTYPE=1 fails any that is not: tests/sqlite_new.sh runs
-- this script (and every other) in such a build, and run.sh in 3.40, which
-- has no such flag.
.load dist/rbm
.mode list
.read tests/sql/planted_ratings.inc

-- Rating models: JSON from rbm_train, rbm_evaluate and rbm_debug(model).
SELECT 'rbm_train', subtype(rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating',
                                      '{"orientation": "user", "hidden": 4, "epochs": 2}'));
SELECT 'rbm_evaluate', subtype(rbm_evaluate('m', 'ratings', 'user_id', 'item_id', 'rating'));
SELECT 'rbm_debug(model)', subtype(rbm_debug('m'));
SELECT 'rbm_debug()', subtype(rbm_debug());
SELECT 'rbm_predict', subtype(rbm_predict('m', 1, 101));
-- The JSON subtype at work: json_array() nests the object instead of
-- quoting it as a string.
SELECT 'nested', json_array(rbm_debug('m')) LIKE '[{%';
CREATE VIRTUAL TABLE vt USING rbm(source=ratings, user=user_id, item=item_id, rating=rating,
                                  orientation=user, hidden=4, epochs=2);
SELECT 'virtual table', count(*) FROM vt WHERE user_id = 1;

-- Feature models: vectors from rbm_vector_u8, rbm_vector_agg,
-- rbm_transform, rbm_reconstruct and rbm_sample's vector column; JSON from
-- rbm_fit, rbm_class_probs, rbm_vector_to_json and rbm_evaluate.
CREATE TABLE vecs(id INTEGER PRIMARY KEY, kind INTEGER, v BLOB);
INSERT INTO vecs
SELECT r.value, r.value % 2,
       rbm_vector_agg(f.value, CASE WHEN f.value % 2 = r.value % 2 THEN 0.9 ELSE 0.1 END)
  FROM generate_series(1, 40) r, generate_series(0, 5) f GROUP BY r.value;
SELECT 'rbm_vector_agg', subtype(rbm_vector_agg(value, 0.5)) FROM generate_series(0, 3);
SELECT 'rbm_vector_u8', subtype(rbm_vector_u8(x'00ff80'));
SELECT 'rbm_vector_to_json', subtype(rbm_vector_to_json(x'0000803f'));
SELECT 'rbm_fit', subtype(rbm_fit('f', 'vecs', 'v', '{"hidden": 3, "epochs": 2, "label": "kind"}'));
SELECT 'rbm_transform', subtype(rbm_transform('f', v)), length(rbm_transform('f', v)) FROM vecs WHERE id = 1;
SELECT 'rbm_reconstruct', subtype(rbm_reconstruct('f', v)) FROM vecs WHERE id = 1;
SELECT 'rbm_class_probs', subtype(rbm_class_probs('f', v)), json_type(rbm_class_probs('f', v)) FROM vecs WHERE id = 1;
SELECT 'rbm_free_energy', subtype(rbm_free_energy('f', v)) FROM vecs WHERE id = 1;
SELECT 'rbm_classify', subtype(rbm_classify('f', v)) FROM vecs WHERE id = 1;
SELECT 'rbm_evaluate (features)', subtype(rbm_evaluate('f', 'vecs', 'v'));
SELECT 'rbm_sample', subtype(vector), length(vector) FROM rbm_sample('f', 2, 5, 1);
-- A stored vector keeps no subtype; the functions read it all the same.
SELECT 'stored', subtype(v), length(rbm_transform('f', v)) FROM vecs WHERE id = 1;
