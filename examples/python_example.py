"""rbm from Python, standard library only.

Run from the repository's top folder, after `make`, with a Python whose
sqlite3 module can load extensions (Debian's /usr/bin/python3 can):

    /usr/bin/python3 examples/python_example.py
"""
import json
import sqlite3
import sys

conn = sqlite3.connect(":memory:")
if not hasattr(conn, "enable_load_extension"):
    sys.exit(f"{sys.executable}: this Python's sqlite3 module was built "
             "without extension loading; try /usr/bin/python3")
conn.enable_load_extension(True)
conn.load_extension("dist/rbm")
conn.enable_load_extension(False)

# Two groups of users with opposite tastes: users 1-20 like items 1-5 and
# dislike 6-10, users 21-40 the other way round.  Each user rates 6 items.
conn.execute("CREATE TABLE ratings(user_id INTEGER, item_id INTEGER, rating INTEGER)")
rows = []
for user in range(1, 41):
    fan_of_low = user <= 20
    for j in range(6):
        item = 1 + (user + 3 * j) % 10
        liked = (item <= 5) == fan_of_low
        rows.append((user, item, (4 + j % 2) if liked else (1 + j % 2)))
conn.executemany("INSERT INTO ratings VALUES (?, ?, ?)", rows)

summary = conn.execute(
    "SELECT rbm_train('tastes', 'ratings', 'user_id', 'item_id', 'rating', ?)",
    (json.dumps({"hidden": 10, "epochs": 200}),)).fetchone()[0]
s = json.loads(summary)
print(f"trained on {s['ratings']} ratings of {s['users']} users, "
      f"{s['items']} items in {s['seconds']:.3f}s")

# User 1 has not rated items 3 and 9 (one from each group).
for item in (3, 9):
    (rating, p_like), = conn.execute(
        "SELECT rbm_predict('tastes', 1, ?), rbm_predict('tastes', 1, ?, 'like')",
        (item, item))
    print(f"user 1, item {item}: expected rating {rating:.2f}, P(like) {p_like:.2f}")

print("top 3 for user 21:")
for item, p_like, rating in conn.execute(
        "SELECT item, p_like, rating FROM rbm_recommend('tastes', ?, 3)", (21,)):
    print(f"  item {item}: P(like) {p_like:.2f}, expected rating {rating:.2f}")
