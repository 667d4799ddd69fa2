-- recommend.sql: rbm_recommend(model, user [, k]): the user's top-k
-- unrated items, best first; in joins; and its errors.
.load dist/rbm

.read tests/sql/planted_ratings.inc
-- Users 1..60 rated 32 of the 40 items each: 8 left to recommend.
-- User 500 rated only 4 items (2 even, 2 odd, liking the even ones).
INSERT INTO ratings VALUES (500, 102, 5), (500, 104, 5), (500, 101, 1), (500, 103, 1);

-- Before any model.
SELECT * FROM rbm_recommend('m', 2);

SELECT 'trained', json_extract(rbm_train('m', 'ratings', 'user_id', 'item_id', 'rating',
                  '{"hidden": 10, "epochs": 20, "batch_size": 10}'), '$.users');

-- Columns, hidden arguments included.
PRAGMA table_xinfo(rbm_recommend);

-- Default k is 10; k caps the rows; never more rows than unrated items.
SELECT 'default k', count(*) FROM rbm_recommend('m', 500);
SELECT 'k = 3', count(*) FROM rbm_recommend('m', 500, 3);
SELECT 'k = 0', count(*) FROM rbm_recommend('m', 500, 0);
SELECT 'k = 36 (all unrated)', count(*) FROM rbm_recommend('m', 500, 36);
SELECT 'k = 1000', count(*) FROM rbm_recommend('m', 500, 1000);
SELECT 'k as text', count(*) FROM rbm_recommend('m', 500, '5');
SELECT 'user 2, default k', count(*) FROM rbm_recommend('m', 2);
SELECT 'hidden columns echo the arguments', model, user, k FROM rbm_recommend('m', 500, 2);
-- Named-column form.
SELECT 'named columns', count(*) FROM rbm_recommend WHERE model = 'm' AND user = 500 AND k = 4;

-- Items the user rated in the source are never recommended.
SELECT 'excluded rated', count(*) FROM rbm_recommend('m', 500, 1000) r
 WHERE EXISTS (SELECT 1 FROM ratings s WHERE s.user_id = 500 AND s.item_id = r.item);
SELECT 'every user, nothing rated', count(*) FROM (SELECT DISTINCT user_id FROM ratings) u,
       rbm_recommend('m', u.user_id, 1000) r
 WHERE EXISTS (SELECT 1 FROM ratings s WHERE s.user_id = u.user_id AND s.item_id = r.item);
SELECT 'every user, every unrated item', count(*) FROM (SELECT DISTINCT user_id FROM ratings) u,
       rbm_recommend('m', u.user_id, 1000) r;
-- The 8 unrated items of user 2, the 4 planted likes (even) first.
SELECT 'user 2 items', group_concat(item, ',') FROM (SELECT item FROM rbm_recommend('m', 2) ORDER BY item);
SELECT 'user 2 even by rank', group_concat(item % 2 = 0, '') FROM (SELECT item FROM rbm_recommend('m', 2) ORDER BY rowid);
SELECT 'user 2 liked by rank', group_concat(p_like > 0.5, ''), group_concat(rating > 3, '')
  FROM (SELECT p_like, rating FROM rbm_recommend('m', 2) ORDER BY rowid);
-- An even user gets even items first, an odd user odd ones.
SELECT 'user 500 top 10', count(*), sum(item % 2 = 0) FROM rbm_recommend('m', 500, 10);
SELECT 'user 3 top 4', count(*), sum(item % 2 = 1) FROM rbm_recommend('m', 3, 4);
-- Best first: p_like never increases down the list (rowid is the rank).
SELECT 'rowid is the rank', group_concat(rowid, ',') FROM rbm_recommend('m', 500, 5);
SELECT 'non-increasing', count(*) FROM (
  SELECT p_like, lag(p_like) OVER (ORDER BY rowid) AS prev FROM rbm_recommend('m', 500, 36))
 WHERE prev < p_like;
-- (scores compared rank by rank, to float precision: near-ties may
-- legitimately swap places)
SELECT 'top-k is a prefix of the full ranking', count(*) FROM rbm_recommend('m', 500, 5) a
  JOIN rbm_recommend('m', 500, 36) b ON a.rowid = b.rowid WHERE abs(a.p_like - b.p_like) < 1e-6;
-- The top item beats every other unrated item.
SELECT 'top beats rest', abs((SELECT p_like FROM rbm_recommend('m', 500, 1))
                           - (SELECT max(p_like) FROM rbm_recommend('m', 500, 36))) < 1e-6;
-- p_like and rating agree with rbm_predict (to float precision).
SELECT 'agrees with rbm_predict', count(*),
       sum(abs(p_like - rbm_predict('m', 500, item, 'like')) < 1e-6),
       sum(abs(rating - rbm_predict('m', 500, item, 'rating')) < 1e-5)
  FROM rbm_recommend('m', 500, 36);
SELECT 'ranges', min(p_like) >= 0, max(p_like) <= 1, min(rating) >= 1, max(rating) <= 5
  FROM rbm_recommend('m', 500, 36);

-- An unknown user gets the items ranked by prior: all 40 are candidates.
SELECT 'unknown user', count(*) FROM rbm_recommend('m', 9999, 1000);
SELECT 'unknown user, default k', count(*) FROM rbm_recommend('m', 9999);
-- A NULL user gets nothing.
SELECT 'NULL user', count(*) FROM rbm_recommend('m', NULL);

-- Ratings added after training count: a new rating excludes its item, and
-- a new user is folded in.
CREATE TEMP TABLE top AS SELECT item FROM rbm_recommend('m', 500, 1);
INSERT INTO ratings SELECT 500, item, 5 FROM top;
SELECT 'newly rated excluded', count(*) FROM rbm_recommend('m', 500, 1000) WHERE item = (SELECT item FROM top);
SELECT 'one fewer', count(*) FROM rbm_recommend('m', 500, 1000);
INSERT INTO ratings VALUES (501, 101, 5), (501, 103, 5), (501, 105, 4), (501, 102, 1), (501, 104, 1);
SELECT 'new odd user', count(*), sum(item % 2 = 1) FROM rbm_recommend('m', 501, 5);

-- In a join over several users: one row set per user.
CREATE TABLE users(id INTEGER PRIMARY KEY);
INSERT INTO users VALUES (2), (3), (500), (501), (9999);
SELECT u.id, count(*), iif(u.id = 9999, NULL, sum(r.item % 2 = u.id % 2))
  FROM users u, rbm_recommend('m', u.id, 3) r GROUP BY u.id ORDER BY u.id;
EXPLAIN QUERY PLAN SELECT u.id, r.item FROM users u, rbm_recommend('m', u.id, 3) r;
SELECT 'join = separate calls', count(*) FROM users u, rbm_recommend('m', u.id, 3) r
 WHERE abs(r.p_like - (SELECT s.p_like FROM rbm_recommend('m', u.id, 3) s WHERE s.rowid = r.rowid)) < 1e-6;
SELECT 'LEFT JOIN keeps users without rows', count(*), count(r.item)
  FROM users u LEFT JOIN rbm_recommend('m', u.id, 0) r;
-- With the model name from the outer query too.
CREATE TABLE asks(model TEXT, user_id INTEGER);
INSERT INTO asks VALUES ('m', 2), ('m', 500);
SELECT 'model from a column', count(*) FROM asks a, rbm_recommend(a.model, a.user_id, 2) r;

-- A binary model: p_like ranks, rating is NULL.
SELECT 'binary', json_extract(rbm_train('b', 'ratings', 'user_id', 'item_id', 'rating',
                 '{"hidden": 10, "epochs": 20, "batch_size": 10, "visible": "binary"}'), '$.visible');
SELECT 'binary rows', count(*), count(rating), sum(item % 2 = 1), min(p_like) >= 0, max(p_like) <= 1
  FROM rbm_recommend('b', 501, 5);

-- Errors.
SELECT * FROM rbm_recommend('m');
SELECT * FROM rbm_recommend();
SELECT * FROM rbm_recommend WHERE user = 2;
SELECT * FROM rbm_recommend('m', 2, -1);
SELECT * FROM rbm_recommend('m', 2, 2.5);
SELECT * FROM rbm_recommend('m', 2, 'many');
SELECT * FROM rbm_recommend('m', 2, NULL);
SELECT * FROM rbm_recommend('nosuch', 2);
SELECT * FROM rbm_recommend(NULL, 2);
SELECT * FROM rbm_recommend(7, 2);
SELECT * FROM rbm_recommend('m', 2, 3, 4);
-- rbm_recommend reads other tables: not from a view or trigger.
CREATE VIEW recs_of_2 AS SELECT item FROM rbm_recommend('m', 2);
SELECT * FROM recs_of_2;
CREATE TABLE log(item);
CREATE TRIGGER on_user AFTER INSERT ON users BEGIN
  INSERT INTO log SELECT item FROM rbm_recommend('m', new.id);
END;
INSERT INTO users VALUES (4);
SELECT 'nothing logged', count(*) FROM log;
SELECT 'user 4 not inserted', count(*) FROM users WHERE id = 4;

-- Many users at once: a JSON array, scored in batches; the hidden user
-- column names each row's user, and every user gets what they get alone.
CREATE TABLE batch AS
SELECT r.user AS user_id, r.item, r.p_like, r.rating
  FROM rbm_recommend('m', (SELECT json_group_array(id) FROM users), 4) r;
SELECT 'batch rows', count(*), count(DISTINCT user_id) FROM batch;
SELECT 'batch equals one by one', count(*) FROM users u, rbm_recommend('m', u.id, 4) r
 WHERE EXISTS (SELECT 1 FROM batch b WHERE b.user_id = u.id AND b.item = r.item
                 AND abs(b.p_like - r.p_like) < 1e-6);
SELECT 'array with an unknown user, a repeat and text', count(*), count(DISTINCT user)
  FROM rbm_recommend('m', '[2, 999999, 2, "3"]', 3);
SELECT 'empty array', count(*) FROM rbm_recommend('m', '[]');
SELECT * FROM rbm_recommend('m', '[1, 2');
