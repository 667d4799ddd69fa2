-- evaluate.sql: rbm_evaluate(model, source, user_col, item_col, rating_col
-- [, options]) on the planted ratings, each metric checked against the same
-- metric computed here in SQL from rbm_predict and rbm_recommend; unknown
-- users and items; options and errors.
.load dist/rbm

.read tests/sql/planted_ratings.inc
-- Held out: every pair the source lacks, rated as planted (5 or 1), plus a
-- user the model cannot place and an item it does not know.
.read tests/sql/planted_unrated.inc
CREATE TABLE heldout AS
SELECT user_id, item_id, CASE WHEN planted_like THEN 5 ELSE 1 END AS rating FROM unrated;
INSERT INTO heldout VALUES (9999, 102, 5), (9999, 103, 1), (2, 7777, 4);

SELECT 'trained', json_extract(rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating',
                  '{"hidden": 10, "epochs": 20, "batch_size": 10}'), '$.users');
SELECT 'binary', json_extract(rbm_train('b', 'ratings', 'user_id', 'item_id', 'rating',
                 '{"hidden": 10, "epochs": 20, "batch_size": 10, "visible": "binary"}'), '$.users');

CREATE TABLE ev AS SELECT rbm_evaluate('m', 'heldout', 'user_id', 'item_id', 'rating') AS j;
SELECT 'counts', json_extract(j, '$.model'), json_extract(j, '$.ratings'),
       json_extract(j, '$.users'), json_extract(j, '$.items'),
       json_extract(j, '$.users_unplaced'), json_extract(j, '$.items_unknown'),
       json_extract(j, '$.ratings_from_priors'), json_extract(j, '$.k'),
       json_extract(j, '$.ranked_users')
  FROM ev;
SELECT 'planted is learnt', json_extract(j, '$.rmse') < 1.0, json_extract(j, '$.like_auc') > 0.95,
       json_extract(j, '$.like_accuracy') > 0.9, json_extract(j, '$."precision@10"') > 0.4
  FROM ev;

-- The pointwise metrics, computed here from rbm_predict.
CREATE TABLE p AS
SELECT rating, rbm_predict('m', user_id, item_id) AS r,
       rbm_predict('m', user_id, item_id, 'like') AS l, rating >= 3 AS y
  FROM heldout;
SELECT 'rmse agrees', abs(sqrt(avg((r - rating) * (r - rating))) - json_extract(j, '$.rmse')) < 1e-6,
       'mae agrees', abs(avg(abs(r - rating)) - json_extract(j, '$.mae')) < 1e-6,
       'accuracy agrees', abs(avg((l >= 0.5) = y) - json_extract(j, '$.like_accuracy')) < 1e-9,
       'log loss agrees', abs(avg(-CASE WHEN y THEN ln(max(min(l, 1 - 1e-7), 1e-7))
                                         ELSE ln(1 - max(min(l, 1 - 1e-7), 1e-7)) END)
                              - json_extract(j, '$.log_loss')) < 1e-5
  FROM p, ev;
-- AUC: the share of (like, dislike) pairs ordered right, ties counting half.
SELECT 'auc agrees', abs((SELECT avg(CASE WHEN a.l > b.l THEN 1.0 WHEN a.l = b.l THEN 0.5 ELSE 0 END)
                            FROM p a, p b WHERE a.y AND NOT b.y)
                         - json_extract(j, '$.like_auc')) < 1e-5
  FROM ev;

-- The ranking metrics, computed here from rbm_recommend's top 10.
CREATE TABLE top AS
SELECT r.user AS user_id, r.item AS item_id,
       row_number() OVER (PARTITION BY r.user ORDER BY r.p_like DESC, r.item) AS pos
  FROM rbm_recommend('m', (SELECT json_group_array(DISTINCT user_id) FROM heldout), 10) r;
CREATE TABLE per_user AS
SELECT h.user_id,
       (SELECT count(*) FROM top t JOIN heldout x ON x.user_id = t.user_id AND x.item_id = t.item_id
         WHERE t.user_id = h.user_id) AS hits,
       (SELECT count(*) FROM heldout x WHERE x.user_id = h.user_id) AS relevant,
       (SELECT coalesce(sum(1 / log2(t.pos + 1)), 0) FROM top t
          JOIN heldout x ON x.user_id = t.user_id AND x.item_id = t.item_id
         WHERE t.user_id = h.user_id) AS dcg
  FROM (SELECT DISTINCT user_id FROM heldout) h;
SELECT 'precision agrees', abs(avg(hits / 10.0) - json_extract(j, '$."precision@10"')) < 1e-6,
       'recall agrees', abs(avg(1.0 * hits / relevant) - json_extract(j, '$."recall@10"')) < 1e-6,
       'ndcg agrees', abs(avg(dcg / (SELECT sum(1 / log2(value + 1)) FROM generate_series(1, min(10, relevant))))
                          - json_extract(j, '$."ndcg@10"')) < 1e-6
  FROM per_user, ev;

-- k from the options; 0 skips the ranking.
SELECT 'k 5', json_extract(j, '$.k'), json_extract(j, '$."precision@5"') IS NOT NULL,
       json_extract(j, '$."precision@10"') IS NULL
  FROM (SELECT rbm_evaluate('m', 'heldout', 'user_id', 'item_id', 'rating', '{"k": 5}') AS j);
SELECT 'k 0', json_extract(j, '$.ranked_users'), json_extract(j, '$."precision@0"') IS NULL,
       json_extract(j, '$.rmse') = (SELECT json_extract(j, '$.rmse') FROM ev)
  FROM (SELECT rbm_evaluate('m', 'heldout', 'user_id', 'item_id', 'rating', '{"k": 0}') AS j);
-- A binary model has no ratings to score.
SELECT 'binary', json_extract(j, '$.rmse') IS NULL, json_extract(j, '$.mae') IS NULL,
       json_extract(j, '$.like_auc') > 0.95
  FROM (SELECT rbm_evaluate('b', 'heldout', 'user_id', 'item_id', 'rating') AS j);

-- Errors.
SELECT rbm_evaluate('m', 'heldout', 'user_id', 'item_id', 'rating', '{"k": -1}');
SELECT rbm_evaluate('m', 'heldout', 'user_id', 'item_id', 'rating', '{"k": 1001}');
SELECT rbm_evaluate('m', 'heldout', 'user_id', 'item_id', 'rating', '{"k": "ten"}');
SELECT rbm_evaluate('m', 'heldout', 'user_id', 'item_id', 'rating', '{"kk": 3}');
SELECT rbm_evaluate('m', 'heldout', 'user_id', 'item_id', 'rating', '[1]');
SELECT rbm_evaluate('m', 'heldout', 'user_id', 'item_id', 'rating', 5);
SELECT rbm_evaluate('m', 'heldout', 'user_id', 'item_id', 'rating', '{"k":');
SELECT rbm_evaluate('nosuch', 'heldout', 'user_id', 'item_id', 'rating');
SELECT rbm_evaluate('m', 'nosuch', 'user_id', 'item_id', 'rating');
SELECT rbm_evaluate('m', 'heldout', 'user_id', 'item_id', 'nosuch');
SELECT rbm_evaluate('m', 'heldout', 'user_id', 'item_id', '');
CREATE TABLE empty(user_id, item_id, rating);
SELECT rbm_evaluate('m', 'empty', 'user_id', 'item_id', 'rating');
INSERT INTO empty VALUES (1, 101, 'five');
SELECT rbm_evaluate('m', 'empty', 'user_id', 'item_id', 'rating');
