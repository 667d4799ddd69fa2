-- ids_and_values.sql: what counts as an id and as a rating: text ids,
-- integer-looking text is the integer, float ids, duplicates, ratings as
-- text, half-step and 1..10 scales, like_threshold.
.load dist/rbm

-- Text ids ('u1', 'item-1'), ratings stored as text as .import leaves them.
CREATE TABLE tr(u TEXT, i TEXT, r TEXT);
WITH RECURSIVE
  u(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM u WHERE id < 60),
  i(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM i WHERE id < 40)
INSERT INTO tr SELECT 'u' || u.id, 'item-' || i.id,
                      CASE WHEN u.id % 2 = i.id % 2 THEN '5' ELSE '1' END
  FROM u, i WHERE (u.id * 7 + i.id * 3) % 5 != 0;
SELECT 'stored as', typeof(u), typeof(i), typeof(r), count(*) FROM tr GROUP BY 1, 2, 3;
SELECT 'text ids', json_extract(rbm_train('t', 'tr', 'u', 'i', 'r', '{"hidden": 10, "epochs": 20, "batch_size": 10}'),
                                '$.users', '$.items', '$.ratings', '$.rating_values');
-- u2 did not rate item-2 (same parity) nor item-7 (other parity).
SELECT 'u2 unrated', count(*) FROM tr WHERE u = 'u2' AND i IN ('item-2', 'item-7');
SELECT 'text planted', rbm_predict('t', 'u2', 'item-2') > 4, rbm_predict('t', 'u2', 'item-7') < 2;
SELECT 'text ids are not integers', rbm_predict('t', 2, 'item-2') = rbm_predict('t', 'nobody', 'item-2');
SELECT 'recommended ids are text', typeof(item), item GLOB 'item-*[02468]'
  FROM rbm_recommend('t', 'u2', 3);
SELECT 'text like', rbm_predict('t', 'u2', 'item-2', 'like') > 0.8;

-- Integers, integer-looking text and integral floats are one id.
CREATE TABLE mix(u, i, r);
WITH RECURSIVE
  u(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM u WHERE id < 60),
  i(id) AS (SELECT 101 UNION ALL SELECT id + 1 FROM i WHERE id < 140)
INSERT INTO mix SELECT CASE WHEN u.id % 3 = 0 THEN CAST(u.id AS TEXT) ELSE u.id END,
                       CASE WHEN i.id % 4 = 0 THEN CAST(i.id AS TEXT) ELSE i.id END,
                       CASE WHEN u.id % 2 = i.id % 2 THEN 5 ELSE 1 END
  FROM u, i WHERE (u.id * 7 + i.id * 3) % 5 != 0;
SELECT 'mixed storage', typeof(u), count(*) FROM mix GROUP BY 2;
-- 42 rated 101 already; two more rows for the pair, as text and as a float.
INSERT INTO mix VALUES ('42', 101, 5), (42.0, '101', 1);
SELECT 'mixed ids', json_extract(rbm_train('mx', 'mix', 'u', 'i', 'r', '{"hidden": 10, "epochs": 20, "batch_size": 10}'),
                                 '$.users', '$.items', '$.ratings', '$.duplicates_dropped');
SELECT '42 = ''42'' = 42.0', rbm_predict('mx', '42', 102) = rbm_predict('mx', 42, 102),
       rbm_predict('mx', 42.0, 102) = rbm_predict('mx', 42, 102),
       rbm_predict('mx', 42, '102') = rbm_predict('mx', 42, 102);
SELECT 'known user, not the prior', rbm_predict('mx', '42', 102) != rbm_predict('mx', 9999, 102);
-- Text that is not the canonical spelling of an integer is text.
SELECT 'non-canonical text is another id', rbm_predict('mx', '042', 102) = rbm_predict('mx', 9999, 102),
       rbm_predict('mx', ' 42', 102) = rbm_predict('mx', 9999, 102),
       rbm_predict('mx', '42.0', 102) = rbm_predict('mx', 9999, 102);
SELECT 'recommended ids are integers', typeof(item), count(*) FROM rbm_recommend('mx', '42', 4) GROUP BY 1;

-- Half-step ratings 0.5 .. 5.0: mostly 5.0 where parities match and 0.5
-- where they do not, every other half step now and then; ten values, all
-- learnt.
CREATE TABLE half(u, i, r);
WITH RECURSIVE
  u(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM u WHERE id < 60),
  i(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM i WHERE id < 40)
INSERT INTO half
SELECT u.id, i.id,
       CASE WHEN u.id % 2 = i.id % 2
            THEN 5.0 - 0.5 * iif((u.id + 2 * i.id) % 12 < 4, (u.id + 2 * i.id) % 12 + 1, 0)
            ELSE 0.5 + 0.5 * iif((u.id + 2 * i.id) % 12 < 4, (u.id + 2 * i.id) % 12 + 1, 0) END
  FROM u, i WHERE (u.id * 7 + i.id * 3) % 5 != 0;
SELECT 'half values', json_extract(rbm_train('h', 'half', 'u', 'i', 'r',
                        '{"hidden": 10, "epochs": 20, "batch_size": 10}'), '$.rating_values');
SELECT 'half within [0.5, 5]', count(*), sum(rbm_predict('h', u, i) BETWEEN 0.5 AND 5.0)
  FROM (SELECT DISTINCT u FROM half), (SELECT DISTINCT i FROM half);
SELECT 'half planted', rbm_predict('h', 2, 2) > 3.5, rbm_predict('h', 2, 7) < 2.0,
       rbm_predict('h', 2, 2, 'like') > 0.8, rbm_predict('h', 2, 7, 'like') < 0.2;
SELECT 'half priors', rbm_predict('h', 9999, 2) BETWEEN 0.5 AND 5.0, rbm_predict('h', 2, 9999) BETWEEN 0.5 AND 5.0;
-- A rating between two trained values (a 4.75 in the source) is taken as
-- the nearest one for fold-in.
INSERT INTO half VALUES (1000, 2, 4.75), (1000, 4, 4.75), (1000, 1, 0.75), (1000, 3, 0.75);
SELECT 'off-scale fold-in', rbm_predict('h', 1000, 6) > 3, rbm_predict('h', 1000, 5) < 2.5;
DELETE FROM half WHERE u = 1000;

-- The same data on a 1..10 scale with like_threshold 6: the values are
-- labels of softmax units, so the model is the same and every prediction
-- is exactly twice the half-step one.
CREATE TABLE ten AS SELECT u, i, r * 2 AS r FROM half;
SELECT 'ten values', json_extract(rbm_train('t10', 'ten', 'u', 'i', 'r',
                       '{"hidden": 10, "epochs": 20, "batch_size": 10, "like_threshold": 6}'), '$.rating_values');
SELECT 'ten within [1, 10]', count(*), sum(rbm_predict('t10', u, i) BETWEEN 1 AND 10)
  FROM (SELECT DISTINCT u FROM ten), (SELECT DISTINCT i FROM ten);
SELECT 'ten planted', rbm_predict('t10', 2, 2) > 7, rbm_predict('t10', 2, 7) < 4,
       rbm_predict('t10', 2, 2, 'like') > 0.8, rbm_predict('t10', 2, 7, 'like') < 0.2;
SELECT 'ten = 2 x half', count(*),
       sum(rbm_predict('t10', u, i) = 2 * rbm_predict('h', u, i)),
       sum(rbm_predict('t10', u, i, 'like') = rbm_predict('h', u, i, 'like'))
  FROM (SELECT DISTINCT u FROM ten), (SELECT DISTINCT i FROM ten);
SELECT 'ten prior like', abs(rbm_predict('t10', 9999, 9999, 'like') - (SELECT avg(r >= 6) FROM ten)) < 0.05;
SELECT 'threshold recorded', json_extract(options, '$.like_threshold') FROM rbm_models WHERE name = 't10';
-- With the default threshold (3) the 3..5 ratings count as liked too, so
-- an item of the other parity is likelier liked.
SELECT 'threshold 3', json_extract(rbm_train('t3', 'ten', 'u', 'i', 'r',
                       '{"hidden": 10, "epochs": 20, "batch_size": 10}'), '$.rating_values');
SELECT 'like follows the threshold', rbm_predict('t3', 2, 7, 'like') > rbm_predict('t10', 2, 7, 'like'),
       rbm_predict('t3', 9999, 9999, 'like') > rbm_predict('t10', 9999, 9999, 'like');
