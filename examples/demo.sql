-- The demo: train on a synthetic ratings table with planted tastes, then
-- recommend and check held-out accuracy.  Run by `make demo` (examples/demo.sh),
-- which makes demo.db with dist/synth_ratings first.
.load dist/rbm
.headers on
.mode column

.print '== Training an RBM on the ratings table, in place'
.mode list
SELECT rbm_train('demo', 'ratings', 'user_id', 'item_id', 'rating',
                 '{"hidden": 50, "epochs": 40}') AS summary;

.mode column
.print
.print '== What three users love, and what the model recommends to them'
SELECT u.user_id, u.taste, i.title, i.genre,
       round(r.p_like, 3) AS p_like, round(r.rating, 2) AS rating
  FROM users u, rbm_recommend('demo', u.user_id, 4) r
  JOIN items i ON i.item_id = r.item
 WHERE u.user_id IN (1, 2, 3);

.print
.print '== Recommended genres match the planted tastes (top 5 for every user)'
SELECT round(avg(instr(u.taste, i.genre) > 0), 3) AS share_in_loved_genres
  FROM users u, rbm_recommend('demo', u.user_id, 5) r
  JOIN items i ON i.item_id = r.item;

.print
.print '== Held-out ratings (never seen in training)'
SELECT count(*) AS n,
       round(sqrt(avg((rbm_predict('demo', user_id, item_id) - rating) *
                      (rbm_predict('demo', user_id, item_id) - rating))), 3) AS rmse,
       round(avg((rbm_predict('demo', user_id, item_id, 'like') >= 0.5) =
                 (rating >= 3)), 3) AS like_accuracy,
       round(avg(rating >= 3), 3) AS always_like_accuracy
  FROM heldout;

.print
.print '== The same model as a virtual table, trained on creation'
CREATE VIRTUAL TABLE recs USING rbm(source=ratings, user=user_id, item=item_id,
                                    rating=rating, hidden=50, epochs=40);
SELECT r.item_id, i.title, i.genre, round(r.p_like, 3) AS p_like
  FROM recs r JOIN items i USING (item_id)
 WHERE r.user_id = 3 AND r.rated = 0
 ORDER BY r.p_like DESC LIMIT 5;

.print
.print '== What to show next, from the rows alone (visible = implicit: no ratings read)'
.mode list
.headers off
SELECT json_extract(s, '$.visible') || ' model trained in ' || json_extract(s, '$.seconds') || ' s'
  FROM (SELECT rbm_train('next', 'ratings', 'user_id', 'item_id', NULL,
                         '{"visible": "implicit", "hidden": 50}') AS s);
.headers on
.mode column
.print 'How each model ranks the held-out items (those users went on to rate):'
SELECT model, round(json_extract(j, '$."precision@10"'), 3) AS precision_at_10,
       round(json_extract(j, '$."ndcg@10"'), 3) AS ndcg_at_10
  FROM (SELECT column1 AS model,
               rbm_evaluate(column1, 'heldout', 'user_id', 'item_id', NULL) AS j
          FROM (VALUES ('demo'), ('next')));
