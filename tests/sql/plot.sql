-- plot.sql: rbm_plot(model), a model's training curves as an SVG document:
-- the errors the rest of the API gives, one document byte for byte (a
-- hand-made log: no timings in it), and the structure of the others.
-- tests/plot.sh checks the same documents with a real XML parser.
.load dist/rbm

-- Before any training there is no rbm_models table.
SELECT rbm_plot('m');
SELECT rbm_plot(NULL);
SELECT rbm_plot(42);
SELECT rbm_plot(x'6d');

.read tests/sql/planted_ratings.inc

-- A user-based model with early stopping: the reconstruction, validation
-- RMSE and MAE, and the kept epoch marked.
SELECT 'trained', json_extract(rbm_train('v', 'ratings', 'user_id', 'item_id', 'rating',
  '{"orientation": "user", "hidden": 10, "epochs": 60, "learning_rate": 0.1,
    "validation": 0.2, "patience": 10}'), '$.epochs_run') < 60;
CREATE TEMP TABLE svg(name TEXT PRIMARY KEY, doc TEXT);
INSERT INTO svg VALUES ('v', rbm_plot('v'));
SELECT 'document', substr(doc, 1, 57), substr(doc, -7) = '</svg>' || char(10),
       instr(doc, 'viewBox="0 0 640 360"') > 0
  FROM svg WHERE name = 'v';
SELECT 'lines', (length(doc) - length(replace(doc, '<polyline', ''))) / 9,
       instr(doc, '>reconstruction, training ratings<') > 0,
       instr(doc, '>validation RMSE<') > 0, instr(doc, '>validation MAE<') > 0,
       instr(doc, '>error (rating scale)<') > 0, instr(doc, '>epoch<') > 0
  FROM svg WHERE name = 'v';
SELECT 'best epoch marked as kept',
       instr(doc, '>best epoch ' || json_extract(summary, '$.best_epoch') || ': the model kept<') > 0
  FROM svg, rbm_models WHERE svg.name = 'v' AND rbm_models.name = 'v';
SELECT 'subtitle', instr(doc, '>softmax model, user-based · hidden 10 · ' ||
       (SELECT max(epoch) FROM rbm_training_log WHERE model = 'v') || ' of 60 epochs · trained in ') > 0
  FROM svg WHERE name = 'v';
SELECT 'the same twice', rbm_plot('v') = doc FROM svg WHERE name = 'v';

-- 'both' draws its two final halves.
SELECT 'trained both', length(rbm_train('b', 'ratings', 'user_id', 'item_id', 'rating',
                                        '{"hidden": 6, "epochs": 12}')) > 0;
INSERT INTO svg VALUES ('b', rbm_plot('b'));
SELECT 'both', (length(doc) - length(replace(doc, '<polyline', ''))) / 9,
       instr(doc, '>user-based half: reconstruction<') > 0,
       instr(doc, '>item-based half: reconstruction<') > 0,
       instr(doc, 'user- and item-based halves · hidden 6 · 12 epochs') > 0,
       instr(doc, 'best epoch') = 0
  FROM svg WHERE name = 'b';

-- One epoch: a dot, no line.  A binary model's errors are of 0/1.
SELECT 'trained one', length(rbm_train('one', 'ratings', 'user_id', 'item_id', 'rating',
  '{"orientation": "item", "visible": "binary", "hidden": 4, "epochs": 1}')) > 0;
SELECT 'one epoch', instr(doc, '<polyline') = 0,
       (length(doc) - length(replace(doc, '<circle', ''))) / 7,
       instr(doc, '>error (on 0/1)<') > 0, instr(doc, '· 1 epoch ·') > 0
  FROM (SELECT rbm_plot('one') AS doc);

-- No log (rows deleted): a chart that says so, not an error.
DELETE FROM rbm_training_log WHERE model = 'one';
SELECT 'no log', instr(doc, '>no epochs in rbm_training_log for this model<') > 0,
       instr(doc, '<polyline') = 0, instr(doc, '<circle') = 0
  FROM (SELECT rbm_plot('one') AS doc);

-- Every model in one statement runs through.
SELECT 'every model', count(*), sum(rbm_plot(name) LIKE '<svg %</svg>' || char(10))
  FROM rbm_models;

-- A feature model with validation: the held-out rows' reconstruction.
CREATE TABLE fv(v TEXT, label INTEGER);
WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < 200)
INSERT INTO fv SELECT json_array(k % 2, (k / 2) % 2, 0.5, (k % 3) / 2.0), k % 2 FROM s;
SELECT 'fit', length(rbm_fit('f', 'fv', 'v', '{"hidden": 3, "epochs": 8, "validation": 0.2}')) > 0;
SELECT 'features', (length(doc) - length(replace(doc, '<polyline', ''))) / 9,
       instr(doc, '>reconstruction, training rows<') > 0,
       instr(doc, '>reconstruction, held-out rows<') > 0,
       instr(doc, '>error per feature<') > 0, instr(doc, '>bernoulli feature model · hidden 3 · ') > 0,
       instr(doc, 'validation MAE') = 0, instr(doc, ': the model kept<') > 0
  FROM (SELECT rbm_plot('f') AS doc);

-- A virtual table's model, found by its shadow table.
CREATE VIRTUAL TABLE recs USING rbm(source=ratings, user=user_id, item=item_id, rating=rating,
                                    hidden=6, epochs=5, orientation=user);
SELECT 'vtab', instr(doc, '>Training curves: recs<') > 0,
       instr(doc, '>softmax model, user-based · hidden 6 · 5 epochs · ') > 0
  FROM (SELECT rbm_plot('recs') AS doc);

-- Names are escaped for XML; bytes that are not UTF-8 and control
-- characters become U+FFFD.
SELECT 'trained odd', length(rbm_train('a&b <c> "d" ''e'' ]]> naïve 模型 🎉', 'ratings', 'user_id',
                                       'item_id', 'rating', '{"hidden": 4, "epochs": 2}')) > 0;
SELECT 'escaped', instr(doc, '>Training curves: a&amp;b &lt;c&gt; &quot;d&quot; &#39;e&#39; ]]&gt; naïve 模型 🎉<') > 0,
       instr(doc, '<c>') = 0, instr(doc, '"d"') = 0
  FROM (SELECT rbm_plot('a&b <c> "d" ''e'' ]]> naïve 模型 🎉') AS doc);
SELECT 'trained bad bytes', length(rbm_train(cast(x'61ff01fe62' AS TEXT), 'ratings', 'user_id',
                                             'item_id', 'rating', '{"hidden": 4, "epochs": 2}')) > 0;
SELECT 'replaced', instr(doc, '>Training curves: a' || char(65533, 65533, 65533) || 'b<') > 0,
       instr(doc, cast(x'ff' AS TEXT)) = 0, instr(doc, char(1)) = 0
  FROM (SELECT rbm_plot(cast(x'61ff01fe62' AS TEXT)) AS doc);
-- A long name is cut, with an ellipsis, to what the width holds.
SELECT 'trained long', length(rbm_train(printf('%.300c', 'x'), 'ratings', 'user_id', 'item_id',
                                        'rating', '{"hidden": 4, "epochs": 2}')) > 0;
SELECT 'cut', instr(doc, '>Training curves: ' || printf('%.42c', 'x') || '…<') > 0
  FROM (SELECT rbm_plot(printf('%.300c', 'x')) AS doc);

SELECT rbm_plot('nosuch');

-- A log with no model (an interrupted first training), by hand: values
-- that are not numbers are gaps, and the document is exactly this.
INSERT INTO rbm_training_log VALUES
  ('ghost', 1, 0.1, 1.0, 1.2, 0.9, 0.5, 1),
  ('ghost', 2, 0.2, 0.9, 1.05, 0.8, 0.5, 2),
  ('ghost', 3, 0.3, 'NaN', 1.1, 0.85, 0.5, 2),
  ('ghost', 4, 0.4, 0.8, 1.15, 0.9, 0.5, 2);
.mode list
SELECT rbm_plot('ghost');

-- A log table made by hand without the extension's columns.
DROP TABLE rbm_training_log;
CREATE TABLE rbm_training_log(model, epoch);
SELECT rbm_plot('ghost');
