-- orientation.sql: item-based models (orientation = 'item', one RBM per
-- item over the users who rated it) through rbm_train, rbm_predict,
-- rbm_recommend and rbm_evaluate on the planted ratings; what users and
-- items the model cannot place get; errors.
.load dist/rbm

.read tests/sql/planted_ratings.inc
.read tests/sql/planted_unrated.inc

SELECT 'trained', json_extract(j, '$.orientation'), json_extract(j, '$.users'),
       json_extract(j, '$.items'), json_extract(j, '$.ratings')
  FROM (SELECT rbm_train('mi', 'ratings', 'user_id', 'item_id', 'rating',
                         '{"orientation": "item", "hidden": 10, "epochs": 30, "batch_size": 10}') AS j);
SELECT 'options say so', json_extract(options, '$.orientation'), user_column, item_column
  FROM rbm_models WHERE name = 'mi';

-- The planted tastes, predicted for pairs the users did not rate.
SELECT 'user 2', rbm_predict('mi', 2, 102) > 4.0, rbm_predict('mi', 2, 107) < 2.0;
SELECT 'all unrated, rating', sum(CASE WHEN planted_like THEN rbm_predict('mi', user_id, item_id) > 3.5
                                      ELSE rbm_predict('mi', user_id, item_id) < 2.5 END)
  FROM unrated;
SELECT 'all unrated, like', sum(CASE WHEN planted_like THEN rbm_predict('mi', user_id, item_id, 'like') > 0.7
                                    ELSE rbm_predict('mi', user_id, item_id, 'like') < 0.3 END)
  FROM unrated;

-- A user the model has no weights for gets the global distribution,
-- whatever the item; an item no known user rated gets the user's own.
SELECT 'unknown user', abs(rbm_predict('mi', 9999, 102) - (SELECT avg(rating) FROM ratings)) < 0.05,
       rbm_predict('mi', 9999, 102) = rbm_predict('mi', 'nobody', 107);
SELECT 'unknown item', abs(rbm_predict('mi', 2, 9999) - (SELECT avg(rating) FROM ratings WHERE user_id = 2)) < 0.1,
       abs(rbm_predict('mi', 3, 9999) - (SELECT avg(rating) FROM ratings WHERE user_id = 3)) < 0.1;

-- Recommending: the user's unrated items, those of their taste first.
SELECT 'user 2 taste first', count(*),
       (SELECT min(p_like) FROM rbm_recommend('mi', 2, 1000) WHERE item % 2 = 0)
     > (SELECT max(p_like) FROM rbm_recommend('mi', 2, 1000) WHERE item % 2 = 1),
       sum(item IN (SELECT item_id FROM ratings WHERE user_id = 2))
  FROM rbm_recommend('mi', 2, 1000);
SELECT 'user 3 taste first',
       (SELECT min(p_like) FROM rbm_recommend('mi', 3, 1000) WHERE item % 2 = 1)
     > (SELECT max(p_like) FROM rbm_recommend('mi', 3, 1000) WHERE item % 2 = 0);
SELECT 'every unrated item', count(*),
       count(*) = (SELECT count(*) FROM unrated WHERE user_id = 2)
  FROM rbm_recommend('mi', 2, 1000);
SELECT 'ordered', count(*) FROM (
  SELECT p_like, lag(p_like) OVER () AS before FROM rbm_recommend('mi', 2, 1000))
 WHERE before < p_like;
SELECT 'batch equals one by one',
       (SELECT group_concat(item) FROM rbm_recommend('mi', 2, 5))
     = (SELECT group_concat(item) FROM rbm_recommend('mi', '[2, 3]', 5) WHERE user = 2);
-- A user it cannot place gets the items ranked by their own ratings.
SELECT 'unknown user top 3', count(*) FROM rbm_recommend('mi', 9999, 3);

-- rbm_evaluate agrees with rbm_predict and rbm_recommend here too.
CREATE TABLE heldout AS
SELECT user_id, item_id, CASE WHEN planted_like THEN 5 ELSE 1 END AS rating FROM unrated;
CREATE TABLE ev AS SELECT rbm_evaluate('mi', 'heldout', 'user_id', 'item_id', 'rating') AS j;
SELECT 'evaluate', json_extract(j, '$.users'), json_extract(j, '$.items'),
       json_extract(j, '$.items_unplaced'), json_extract(j, '$.users_unknown'),
       json_extract(j, '$.rmse') < 1.0, json_extract(j, '$.like_auc') > 0.95
  FROM ev;
SELECT 'rmse agrees', abs(sqrt(avg((rbm_predict('mi', user_id, item_id) - rating)
                                 * (rbm_predict('mi', user_id, item_id) - rating)))
                          - (SELECT json_extract(j, '$.rmse') FROM ev)) < 1e-6
  FROM heldout;
SELECT 'precision agrees', abs(avg(hits / 10.0) - (SELECT json_extract(j, '$."precision@10"') FROM ev)) < 1e-6
  FROM (SELECT u.user_id,
               (SELECT count(*) FROM rbm_recommend('mi', u.user_id, 10) r
                  JOIN heldout x ON x.user_id = u.user_id AND x.item_id = r.item) AS hits
          FROM (SELECT DISTINCT user_id FROM heldout) u);

-- A batch that holds a user the model does not know: the others get what
-- they get alone, the stranger the priors.
CREATE TABLE one AS SELECT x.u AS uu, r.item, r.p_like
  FROM (SELECT 2 AS u UNION ALL SELECT 9999 UNION ALL SELECT 3) x, rbm_recommend('mi', x.u, 5) r;
SELECT 'batch with a stranger', count(*), sum(abs(a.p_like - b.p_like) < 1e-6)
  FROM one a JOIN (SELECT user AS uu, item, p_like FROM rbm_recommend('mi', '[2, 9999, 3]', 5)) b
    ON a.uu = b.uu AND a.item = b.item;

-- orientation 'both': a user-based and an item-based half, trained as
-- those two alone would be, and blended with weights fitted on held-out
-- pairs.
CREATE TABLE b AS SELECT rbm_train('mb', 'ratings', 'user_id', 'item_id', 'rating',
  '{"orientation": "both", "hidden": 10, "epochs": 30, "batch_size": 10}') AS j;
SELECT 'both', json_extract(j, '$.orientation'), json_extract(j, '$.users'), json_extract(j, '$.items'),
       json_extract(j, '$.blend.w_rating') BETWEEN 0 AND 1, json_extract(j, '$.blend.w_like') BETWEEN 0 AND 1,
       json_extract(j, '$.blend.ratings') BETWEEN 0.05 * 1920 AND 0.15 * 1920
  FROM b;
SELECT 'user half', json_extract(rbm_train('mu', 'ratings', 'user_id', 'item_id', 'rating',
  '{"orientation": "user", "hidden": 10, "epochs": 30, "batch_size": 10}'), '$.orientation');
CREATE TABLE w AS SELECT json_extract(j, '$.blend.w_rating') AS wr, json_extract(j, '$.blend.w_like') AS wl FROM b;
SELECT 'blended rating', count(*), sum(abs(rbm_predict('mb', user_id, item_id)
         - (wr * rbm_predict('mi', user_id, item_id) + (1 - wr) * rbm_predict('mu', user_id, item_id))) < 1e-6)
  FROM unrated, w;
SELECT 'blended like', count(*), sum(abs(rbm_predict('mb', user_id, item_id, 'like')
         - (wl * rbm_predict('mi', user_id, item_id, 'like') + (1 - wl) * rbm_predict('mu', user_id, item_id, 'like'))) < 1e-6)
  FROM unrated, w;
SELECT 'both top 1000', count(*),
       (SELECT min(p_like) FROM rbm_recommend('mb', 2, 1000) WHERE item % 2 = 0)
     > (SELECT max(p_like) FROM rbm_recommend('mb', 2, 1000) WHERE item % 2 = 1),
       sum(abs(p_like - rbm_predict('mb', 2, item, 'like')) < 1e-6)
  FROM rbm_recommend('mb', 2, 1000);
CREATE TABLE evb AS SELECT rbm_evaluate('mb', 'heldout', 'user_id', 'item_id', 'rating') AS j;
SELECT 'both evaluate', json_extract(j, '$.users_unplaced'), json_extract(j, '$.rmse') < 1.0,
       abs(json_extract(j, '$.rmse') - (SELECT sqrt(avg((rbm_predict('mb', user_id, item_id) - rating)
                                                     * (rbm_predict('mb', user_id, item_id) - rating))) FROM heldout)) < 1e-6,
       abs(json_extract(j, '$."precision@10"') - (SELECT avg(hits / 10.0) FROM (SELECT u.user_id,
               (SELECT count(*) FROM rbm_recommend('mb', u.user_id, 10) r
                  JOIN heldout x ON x.user_id = u.user_id AND x.item_id = r.item) AS hits
          FROM (SELECT DISTINCT user_id FROM heldout) u))) < 1e-6
  FROM evb;
SELECT 'both logs', group_concat(model, ' ') FROM (SELECT DISTINCT model FROM rbm_training_log WHERE model LIKE 'mb%' ORDER BY model);

-- Errors.
SELECT rbm_train('mx', 'ratings', 'user_id', 'item_id', 'rating', '{"orientation": "both ways"}');

-- The virtual table, item-based and 'both': the same answers as
-- rbm_predict, for every (user, item) pair, rated ones flagged.  The two
-- sum in different orders (a GEMM for the table, one user at a time for
-- rbm_predict), so ratings agree to a few float steps (1e-5 on 1 to 5, as
-- in vtab.sql), probabilities to 1e-6.
CREATE VIRTUAL TABLE vi USING rbm(source=ratings, user=user_id, item=item_id, rating=rating,
                                  orientation=item, hidden=10, epochs=30, batch_size=10);
CREATE VIRTUAL TABLE vb USING rbm(source=ratings, user=user_id, item=item_id, rating=rating,
                                  orientation=both, hidden=10, epochs=30, batch_size=10);
SELECT 'vtab item rows', count(*), sum(rated), sum(abs(p_like - rbm_predict('mi', user_id, item_id, 'like')) < 1e-6),
       sum(abs(rating - rbm_predict('mi', user_id, item_id)) < 1e-5)
  FROM vi;
SELECT 'vtab item user 2', count(*), sum(rated),
       sum(rated = (item_id IN (SELECT item_id FROM ratings WHERE user_id = 2)))
  FROM vi WHERE user_id = 2;
SELECT 'vtab item one pair', count(*), abs(p_like - rbm_predict('mi', 2, 102, 'like')) < 1e-6
  FROM vi WHERE user_id = 2 AND item_id = 102;
SELECT 'vtab both rows', count(*), sum(abs(p_like - rbm_predict('mb', user_id, item_id, 'like')) < 1e-6),
       sum(abs(rating - rbm_predict('mb', user_id, item_id)) < 1e-5)
  FROM vb;
SELECT 'vtab unknown user', count(*), sum(rated) FROM vb WHERE user_id = 9999;
