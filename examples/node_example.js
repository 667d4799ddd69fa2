// rbm from Node.js, through better-sqlite3 (which carries its own SQLite).
//
// Run from the repository's top folder, after `make`, where require() finds
// better-sqlite3 (tests/node.sh builds it into dist/npm and sets NODE_PATH):
//
//     node examples/node_example.js [path/to/rbm]
//
// The same tastes as examples/python_example.py: train, predict, recommend;
// then a feature model, whose vectors are float32 BLOBs (Buffers here).
'use strict';
const path = require('path');
const Database = require('better-sqlite3');

const db = new Database(':memory:');
db.loadExtension(process.argv[2] || path.join(__dirname, '..', 'dist', 'rbm'));

const sqliteVersion = db.prepare('SELECT sqlite_version()').pluck().get();
const debug = db.prepare('SELECT rbm_debug()').pluck().get();
console.log(`rbm ${db.prepare('SELECT rbm_version()').pluck().get()} in SQLite ${sqliteVersion}`);
console.log(debug.split('\n').filter((l) => l.startsWith('sqlite ')).join('\n'));

// Two groups of users with opposite tastes: users 1-20 like items 1-5 and
// dislike 6-10, users 21-40 the other way round.  Each user rates 6 items.
db.exec('CREATE TABLE ratings(user_id INTEGER, item_id INTEGER, rating INTEGER)');
const insert = db.prepare('INSERT INTO ratings VALUES (?, ?, ?)');
db.transaction(() => {
  for (let user = 1; user <= 40; user++) {
    const fanOfLow = user <= 20;
    for (let j = 0; j < 6; j++) {
      const item = 1 + ((user + 3 * j) % 10);
      const liked = (item <= 5) === fanOfLow;
      insert.run(user, item, liked ? 4 + (j % 2) : 1 + (j % 2));
    }
  }
})();

const summary = JSON.parse(db.prepare(
  "SELECT rbm_train('tastes', 'ratings', 'user_id', 'item_id', 'rating', ?)").pluck()
  .get(JSON.stringify({ hidden: 10, epochs: 200 })));
console.log(`trained on ${summary.ratings} ratings of ${summary.users} users, ` +
            `${summary.items} items in ${summary.seconds.toFixed(3)}s`);

// User 1 has not rated items 3 and 9 (one from each group).
const predict = db.prepare(
  "SELECT rbm_predict('tastes', 1, ?) AS rating, rbm_predict('tastes', 1, ?, 'like') AS p_like");
for (const item of [3, 9]) {
  const { rating, p_like } = predict.get(item, item);
  console.log(`user 1, item ${item}: expected rating ${rating.toFixed(2)}, P(like) ${p_like.toFixed(2)}`);
}

console.log('top 3 for user 21:');
for (const r of db.prepare("SELECT item, p_like, rating FROM rbm_recommend('tastes', ?, 3)").all(21)) {
  console.log(`  item ${r.item}: P(like) ${r.p_like.toFixed(2)}, expected rating ${r.rating.toFixed(2)}`);
}

// A feature model: 6 features, high on the even ones for even ids and on
// the odd ones for odd ids.  A vector is a float32 BLOB: a Buffer over a
// Float32Array's bytes going in, a Float32Array over the Buffer coming out.
const vector = (xs) => Buffer.from(new Float32Array(xs).buffer);
const floats = (buf) => new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
db.exec('CREATE TABLE shapes(id INTEGER PRIMARY KEY, kind TEXT, v BLOB)');
const shape = db.prepare('INSERT INTO shapes(kind, v) VALUES (?, ?)');
for (let i = 0; i < 60; i++) {
  const even = i % 2 === 0;
  shape.run(even ? 'even' : 'odd',
            vector([0, 1, 2, 3, 4, 5].map((f) => ((f % 2 === 0) === even ? 0.9 : 0.1))));
}
const fit = JSON.parse(db.prepare(
  "SELECT rbm_fit('shapes', 'shapes', 'v', ?)").pluck()
  .get(JSON.stringify({ hidden: 4, epochs: 50, label: 'kind' })));
console.log(`fitted ${fit.rows} vectors of ${fit.features} features, ${fit.hidden} hidden units`);
const probe = vector([0.9, 0.1, 0.9, 0.1, 0.9, 0.1]);
const hidden = floats(db.prepare("SELECT rbm_transform('shapes', ?)").pluck().get(probe));
console.log(`[0.9, 0.1, ...] has ${hidden.length} hidden probabilities and is ` +
            db.prepare("SELECT rbm_classify('shapes', ?)").pluck().get(probe));
db.close();
