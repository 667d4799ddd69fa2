-- names.sql: table, column and model names are quoted, never pasted into
-- SQL: odd names work when they exist, and injection attempts are just
-- names of tables that do not exist.
.load dist/rbm

.read tests/sql/planted_ratings.inc

-- A table and columns with quotes, spaces and keywords in their names.
CREATE TABLE "my ""odd"" table"("user id", "item's", "select");
INSERT INTO "my ""odd"" table" SELECT * FROM ratings;
-- An index on the odd user column: fold-in then queries the table by it.
CREATE INDEX "odd idx" ON "my ""odd"" table"("user id");
SELECT 'odd names', json_extract(rbm_train('odd', 'my "odd" table', 'user id', 'item''s', 'select',
                                 '{"hidden": 10, "epochs": 20, "batch_size": 10}'),
                                 '$.users', '$.items', '$.ratings');
SELECT 'recorded as given', source, user_column, item_column, rating_column FROM rbm_models WHERE name = 'odd';
SELECT 'predicts', rbm_predict('odd', 2, 102) > 4, rbm_predict('odd', 2, 107) < 2;
-- Fold-in reads the odd table by the same quoted names.
INSERT INTO "my ""odd"" table" VALUES (4000, 102, 5), (4000, 104, 5), (4000, 106, 5),
                                      (4000, 101, 1), (4000, 103, 1), (4000, 105, 1);
SELECT 'fold-in', rbm_predict('odd', 4000, 110) > 3, rbm_predict('odd', 4000, 111) < 3;
SELECT 'recommend', count(*), sum(item % 2 = 0) FROM rbm_recommend('odd', 4000, 3);

-- A model name with quotes and a backslash: stored as given, and the JSON
-- summary escapes it.
SELECT 'odd model name', json_extract(rbm_train('it''s a "m\odel"', 'ratings', 'user_id', 'item_id', 'rating',
                                       '{"hidden": 4, "epochs": 1}'), '$.model');
SELECT 'summary is valid JSON', json_valid(summary), json_extract(summary, '$.model') = name
  FROM rbm_models WHERE name = 'it''s a "m\odel"';
SELECT 'predicts by that name', rbm_predict('it''s a "m\odel"', 2, 102) IS NOT NULL;

-- Injection attempts name tables that do not exist; nothing is dropped.
SELECT rbm_train('inj', 'ratings; DROP TABLE ratings', 'user_id', 'item_id', 'rating');
SELECT rbm_train('inj', 'ratings"; DROP TABLE ratings; --', 'user_id', 'item_id', 'rating');
SELECT rbm_train('inj', 'ratings WHERE 0', 'user_id', 'item_id', 'rating');
SELECT rbm_predict('x''; DROP TABLE ratings; --', 2, 102);
SELECT 'ratings intact', count(*) FROM ratings;
SELECT 'no inj model', count(*) FROM rbm_models WHERE name = 'inj';

-- The virtual table quotes the same way, including its own odd name.
CREATE VIRTUAL TABLE "odd ""recs""" USING rbm(source="my ""odd"" table", user="user id",
    item='item''s', rating=[select], hidden=10, epochs=20, batch_size=10);
PRAGMA table_xinfo("odd ""recs""");
SELECT 'vtab rows', count(*), sum(rated) FROM "odd ""recs""" WHERE "user id" = 2;
SELECT 'vtab planted', p_like > 0.9 FROM "odd ""recs""" WHERE "user id" = 2 AND "item's" = 102;
INSERT INTO "odd ""recs"""("odd ""recs""") VALUES ('retrain');
SELECT 'shadow', name FROM sqlite_schema WHERE name GLOB 'odd "*' ORDER BY name;
DROP TABLE "odd ""recs""";
SELECT 'after drop', count(*) FROM sqlite_schema WHERE name GLOB 'odd "*';

-- Unicode, semicolons, spaces and keywords in model, table and column names,
-- through every function: rating models and feature models.
CREATE TABLE "Bewertungen; ünïcödé ✓"("wer; 用户" INTEGER, "order" INTEGER, "from" REAL);
INSERT INTO "Bewertungen; ünïcödé ✓" SELECT * FROM ratings;
SELECT 'unicode train', json_extract(rbm_train('modèle; ✓ "x"', 'Bewertungen; ünïcödé ✓', 'wer; 用户', 'order', 'from',
                                     '{"hidden": 6, "epochs": 5, "orientation": "user"}'), '$.model');
SELECT 'unicode predict', rbm_predict('modèle; ✓ "x"', 2, 102) IS NOT NULL,
       (SELECT count(*) FROM rbm_recommend('modèle; ✓ "x"', 2, 3)),
       json_valid(rbm_debug('modèle; ✓ "x"')),
       json_extract(rbm_evaluate('modèle; ✓ "x"', 'Bewertungen; ünïcödé ✓', 'wer; 用户', 'order', 'from'), '$.ratings') > 0;
CREATE TABLE "select; ""feature"" table"("group" TEXT, "ä b" REAL, "c;d" REAL, "values" REAL);
INSERT INTO "select; ""feature"" table"
  SELECT char(97 + user_id % 2), (item_id % 2) * 1.0, ((item_id + 1) % 2) * 1.0, 0.5 FROM ratings;
SELECT 'unicode fit', json_extract(rbm_fit('feature; ✓ ''m''', 'select; "feature" table', '["ä b", "c;d", "values"]',
                                   '{"hidden": 3, "epochs": 2, "label": "group"}'), '$.rows') > 0;
SELECT 'unicode fit null', json_extract(rbm_fit('f2 ✓', 'select; "feature" table', NULL,
                                        '{"hidden": 3, "epochs": 2, "label": "group"}'), '$.features');
SELECT 'unicode features', length(rbm_transform('feature; ✓ ''m''', '[1, 0, 0.5]')),
       length(rbm_reconstruct('feature; ✓ ''m''', 1, 0, 0.5)),
       rbm_free_energy('feature; ✓ ''m''', '[1, 0, 0.5]') IS NOT NULL,
       rbm_classify('feature; ✓ ''m''', '[1, 0, 0.5]') IN ('a', 'b'),
       json_valid(rbm_class_probs('feature; ✓ ''m''', '[1, 0, 0.5]')),
       (SELECT count(*) FROM rbm_sample('feature; ✓ ''m''', 2, 3)),
       json_extract(rbm_evaluate('feature; ✓ ''m''', 'select; "feature" table', '["ä b", "c;d", "values"]'), '$.rows') > 0;
CREATE VIRTUAL TABLE "empfehlungen; ✓" USING rbm(source="Bewertungen; ünïcödé ✓", user="wer; 用户",
    item="order", rating="from", hidden=4, epochs=2, orientation=user);
SELECT 'unicode vtab', count(*) > 0 FROM "empfehlungen; ✓" WHERE "wer; 用户" = 2;
DROP TABLE "empfehlungen; ✓";
SELECT 'still there', count(*) FROM "Bewertungen; ünïcödé ✓";
