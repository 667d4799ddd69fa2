-- predict.sql: rbm_predict(model, user, item [, what]): planted pairs,
-- 'rating' and 'like', priors for unknown users and items, NULLs, fold-in
-- of ratings added after training, binary models, and its errors.
.load dist/rbm

.read tests/sql/planted_ratings.inc
.read tests/sql/planted_unrated.inc
SELECT 'unrated pairs', count(*), sum(planted_like) FROM unrated;

-- Before any training there is nothing to predict with.
SELECT rbm_predict('m', 2, 102);

SELECT 'trained', json_extract(rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating',
                  '{"orientation": "user", "hidden": 10, "epochs": 20, "batch_size": 10}'), '$.users');
-- A twin, byte-identical, first used only once the source has an index.
SELECT 'twin', json_extract(rbm_train('m_twin', 'ratings', 'user_id', 'item_id', 'rating',
               '{"orientation": "user", "hidden": 10, "epochs": 20, "batch_size": 10}'), '$.users');
SELECT 'twin is identical', (SELECT model FROM rbm_models WHERE name = 'm')
                          = (SELECT model FROM rbm_models WHERE name = 'm_twin');

-- Planted pairs the users did not rate: user 2 (even) and item 102 (even)
-- agree, user 2 and item 107 (odd) do not; likewise user 3 and 103 / 108.
SELECT 'user 2', rbm_predict('m', 2, 102) > 4.0, rbm_predict('m', 2, 107) < 2.0;
SELECT 'user 3', rbm_predict('m', 3, 103) > 4.0, rbm_predict('m', 3, 108) < 2.0;
SELECT 'user 2 like', rbm_predict('m', 2, 102, 'like') > 0.8, rbm_predict('m', 2, 107, 'like') < 0.2;
-- Every unrated pair, on both scales.
SELECT 'all unrated, rating', sum(CASE WHEN planted_like THEN rbm_predict('m', user_id, item_id) > 3.5
                                      ELSE rbm_predict('m', user_id, item_id) < 2.5 END)
  FROM unrated;
SELECT 'all unrated, like', sum(CASE WHEN planted_like THEN rbm_predict('m', user_id, item_id, 'like') > 0.7
                                    ELSE rbm_predict('m', user_id, item_id, 'like') < 0.3 END)
  FROM unrated;
-- Ranges over every pair, rated or not.
SELECT 'rating within [1, 5]', count(*), sum(rbm_predict('m', user_id, item_id) BETWEEN 1 AND 5)
  FROM (SELECT user_id, item_id FROM ratings UNION ALL SELECT user_id, item_id FROM unrated);
SELECT 'like within [0, 1]', count(*), sum(rbm_predict('m', user_id, item_id, 'like') BETWEEN 0 AND 1)
  FROM (SELECT user_id, item_id FROM ratings UNION ALL SELECT user_id, item_id FROM unrated);
SELECT 'results are reals', typeof(rbm_predict('m', 2, 102)), typeof(rbm_predict('m', 2, 102, 'like'));

-- what: 'rating' is the default for a softmax model; case does not matter.
SELECT 'rating is the default', rbm_predict('m', 2, 102, 'rating') = rbm_predict('m', 2, 102);
SELECT 'case-insensitive', rbm_predict('m', 2, 102, 'LIKE') = rbm_predict('m', 2, 102, 'like'),
       rbm_predict('m', 2, 102, 'Rating') = rbm_predict('m', 2, 102);
SELECT rbm_predict('m', 2, 102, 'bogus');
SELECT rbm_predict('m', 2, 102, NULL);
SELECT rbm_predict('m', 2, 102, 1);

-- Models that are not there, or not named by text.
SELECT rbm_predict('nosuch', 2, 102);
SELECT rbm_predict('', 2, 102);
SELECT rbm_predict(NULL, 2, 102);
SELECT rbm_predict(7, 2, 102);

-- An unknown user gets the item's prior: close to the item's mean rating,
-- the same for every unknown user, never NULL.
SELECT 'unknown user', count(*),
       sum(rbm_predict('m', 9999, item_id) IS NOT NULL),
       sum(rbm_predict('m', 9999, item_id) BETWEEN 1 AND 5),
       sum(abs(rbm_predict('m', 9999, item_id) - mean) < 0.05),
       sum(abs(rbm_predict('m', 9999, item_id, 'like') - liked) < 0.05),
       sum(rbm_predict('m', 9999, item_id) = rbm_predict('m', 'nobody', item_id))
  FROM (SELECT item_id, avg(rating) AS mean, avg(rating >= 3) AS liked FROM ratings GROUP BY item_id);
-- An unknown item gets the global prior, whoever asks.
SELECT 'unknown item', rbm_predict('m', 2, 9999) IS NOT NULL,
       abs(rbm_predict('m', 2, 9999) - (SELECT avg(rating) FROM ratings)) < 0.05,
       abs(rbm_predict('m', 2, 9999, 'like') - (SELECT avg(rating >= 3) FROM ratings)) < 0.05,
       rbm_predict('m', 2, 9999) = rbm_predict('m', 3, 9999),
       rbm_predict('m', 2, 9999) = rbm_predict('m', 9999, 'no such item');
-- NULL in, NULL out.
SELECT 'NULL ids', rbm_predict('m', NULL, 102) IS NULL, rbm_predict('m', 2, NULL) IS NULL,
       rbm_predict('m', NULL, NULL) IS NULL, rbm_predict('m', NULL, 102, 'like') IS NULL;

-- Fold-in: a brand-new user who likes even items, added after training,
-- is predicted from those rows without retraining.
CREATE TEMP TABLE uid0 AS SELECT uid FROM rbm_models WHERE name = 'm';
SELECT 'before any rows', rbm_predict('m', 1000, 110) = rbm_predict('m', 9999, 110);
INSERT INTO ratings VALUES (1000, 102, 5), (1000, 104, 5), (1000, 106, 4), (1000, 108, 5),
                           (1000, 101, 1), (1000, 103, 1), (1000, 105, 2), (1000, 107, 1);
SELECT 'new user', rbm_predict('m', 1000, 110) > 3, rbm_predict('m', 1000, 111) < 3,
       rbm_predict('m', 1000, 110, 'like') > 0.5, rbm_predict('m', 1000, 111, 'like') < 0.5;
SELECT 'new user, every unrated item', count(*),
       sum(CASE WHEN i.item_id % 2 = 0 THEN rbm_predict('m', 1000, i.item_id) > 3
                ELSE rbm_predict('m', 1000, i.item_id) < 3 END)
  FROM (SELECT DISTINCT item_id FROM ratings) i
 WHERE i.item_id NOT IN (SELECT item_id FROM ratings WHERE user_id = 1000);
SELECT 'not retrained', uid = (SELECT uid FROM uid0) FROM rbm_models WHERE name = 'm';
-- An existing user's taste follows the source too: user 2 turns odd.
DELETE FROM ratings WHERE user_id = 2;
INSERT INTO ratings SELECT 2, item_id, CASE WHEN item_id % 2 = 1 THEN 5 ELSE 1 END
  FROM (SELECT DISTINCT item_id FROM ratings) WHERE item_id NOT IN (102, 107);
SELECT 'user 2 turned', rbm_predict('m', 2, 102) < 2.5, rbm_predict('m', 2, 107) > 3.5;
-- A user whose rows were all deleted is unknown again.
DELETE FROM ratings WHERE user_id = 1000;
SELECT 'deleted user', rbm_predict('m', 1000, 110) = rbm_predict('m', 9999, 110);

-- The same answers when fold-in reads each user's rows through an index
-- (m_twin is first served after the index exists) as from a snapshot of
-- the whole source (m, served before).
INSERT INTO ratings VALUES (1000, 102, 5), (1000, 104, 5), (1000, 101, 1), (1000, 103, 1);
CREATE TABLE asked AS
SELECT u.id AS user_id, i.item_id
  FROM (SELECT 1 AS id UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 1000
        UNION ALL SELECT 9999) u,
       (SELECT DISTINCT item_id FROM ratings UNION ALL SELECT 9999) i;
CREATE INDEX ratings_user ON ratings(user_id);
EXPLAIN QUERY PLAN SELECT item_id, rating FROM ratings WHERE user_id = ?1;
SELECT 'indexed = snapshot', count(*),
       sum(abs(rbm_predict('m', user_id, item_id) - rbm_predict('m_twin', user_id, item_id)) < 1e-6),
       sum(abs(rbm_predict('m', user_id, item_id, 'like') - rbm_predict('m_twin', user_id, item_id, 'like')) < 1e-6)
  FROM asked;
SELECT 'indexed fold-in', rbm_predict('m_twin', 1000, 110) > 3, rbm_predict('m_twin', 1000, 111) < 3,
       rbm_predict('m_twin', 2, 102) < 2.5, rbm_predict('m_twin', 2, 107) > 3.5;
INSERT INTO ratings VALUES (1001, 102, 5), (1001, 104, 5), (1001, 106, 5), (1001, 101, 1), (1001, 103, 1);
SELECT 'indexed sees new rows', rbm_predict('m_twin', 1001, 110) > 3, rbm_predict('m_twin', 1001, 111) < 3;

-- A binary model predicts P(like) by default and refuses 'rating'.
SELECT 'binary', json_extract(rbm_train('b', 'ratings', 'user_id', 'item_id', 'rating',
                 '{"orientation": "user", "hidden": 10, "epochs": 20, "batch_size": 10, "visible": "binary"}'), '$.visible');
SELECT 'binary planted', rbm_predict('b', 3, 103) > 0.8, rbm_predict('b', 3, 108) < 0.2;
SELECT 'binary default is like', rbm_predict('b', 3, 103) = rbm_predict('b', 3, 103, 'like');
SELECT 'binary within [0, 1]', count(*), sum(rbm_predict('b', user_id, item_id) BETWEEN 0 AND 1)
  FROM unrated;
SELECT 'binary priors', rbm_predict('b', 9999, 103) BETWEEN 0 AND 1, rbm_predict('b', 3, 9999) BETWEEN 0 AND 1;
SELECT rbm_predict('b', 3, 103, 'rating');
SELECT rbm_predict('b', 3, 103, 'bogus');

-- After the source is gone, fold-in says so.
DROP TABLE ratings;
SELECT rbm_predict('m', 2, 102);
