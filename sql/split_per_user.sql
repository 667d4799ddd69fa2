-- split_per_user.sql: holds out a share of each user's rows, at random
-- under a seed, for top-N evaluation (train on split_train, score with
-- rbm_evaluate on split_test).
--
--   CREATE TEMP VIEW split_source AS
--     SELECT user_id, item_id, rating FROM ratings;   -- your table
--   .parameter set @seed 42          -- optional, default 42
--   .parameter set @test_share 0.25  -- optional, default 0.25
--   .read sql/split_per_user.sql
--
-- Makes the tables split_train and split_test (replacing them), with the
-- columns user_id, item_id, rating.  A user with n rows gets round(share * n)
-- of them in split_test, and always keeps at least one in split_train.
-- The ids may be integers or text.
--
-- The draw is a hash of (seed, row), mixed with two rounds of a Lehmer
-- multiply and an xor-shift: a linear hash of the ids alone held out
-- items in arithmetic runs of their ids, which biased the split.  SQLite
-- integers are 64-bit, so every product stays below 2^63; xor is
-- (a | b) - (a & b).

DROP TABLE IF EXISTS split_train;
DROP TABLE IF EXISTS split_test;

CREATE TEMP TABLE split_keyed AS
WITH numbered AS (
  SELECT user_id, item_id, rating,
         row_number() OVER (ORDER BY user_id, item_id) AS n
    FROM split_source
),
h0 AS (SELECT *, (n * 104729 + coalesce(@seed, 42) * 7919 + 12345) % 2147483647 AS h FROM numbered),
h1 AS (SELECT user_id, item_id, rating, n, (h * 48271) % 2147483647 AS h FROM h0),
h2 AS (SELECT user_id, item_id, rating, n, (h | (h >> 13)) - (h & (h >> 13)) AS h FROM h1),
h3 AS (SELECT user_id, item_id, rating, n, (h * 48271) % 2147483647 AS h FROM h2),
h4 AS (SELECT user_id, item_id, rating, n, (h | (h >> 17)) - (h & (h >> 17)) AS h FROM h3),
h5 AS (SELECT user_id, item_id, rating, n, (h * 48271) % 2147483647 AS h FROM h4)
SELECT user_id, item_id, rating,
       row_number() OVER (PARTITION BY user_id ORDER BY h, n) AS draw,
       count(*) OVER (PARTITION BY user_id) AS rows
  FROM h5;

CREATE TABLE split_test AS
  SELECT user_id, item_id, rating FROM split_keyed
   WHERE draw <= min(round(coalesce(@test_share, 0.25) * rows), rows - 1);
CREATE TABLE split_train AS
  SELECT user_id, item_id, rating FROM split_keyed
   WHERE draw > min(round(coalesce(@test_share, 0.25) * rows), rows - 1);
DROP TABLE split_keyed;
