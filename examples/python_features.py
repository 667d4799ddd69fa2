"""rbm's feature models from Python, standard library only: the digits
session of the README's "Feature vectors" section.

Run from the repository's top folder, after `make`, with a Python whose
sqlite3 module can load extensions (Debian's /usr/bin/python3 can):

    /usr/bin/python3 examples/python_features.py [DIGITS_DIR]

DIGITS_DIR holds train.csv and test.csv (label,p0..p63; default
../shared/data/digits).  Vectors go in as float32 BLOBs made with
array('f').tobytes() (little-endian on the hosts this runs on), and come
back the same way.
"""
import csv
import json
import sqlite3
import sys
from array import array

data = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/digits"
conn = sqlite3.connect(":memory:")
if not hasattr(conn, "enable_load_extension"):
    sys.exit(f"{sys.executable}: this Python's sqlite3 module was built "
             "without extension loading; try /usr/bin/python3")
conn.enable_load_extension(True)
conn.load_extension("dist/rbm")
conn.enable_load_extension(False)

for split in ("train", "test"):
    conn.execute(f"CREATE TABLE {split}(id INTEGER PRIMARY KEY, label INTEGER, v BLOB)")
    with open(f"{data}/{split}.csv", newline="") as f:
        rows = csv.reader(f)
        next(rows)  # the header
        conn.executemany(f"INSERT INTO {split}(label, v) VALUES (?, ?)",
                         ((int(r[0]), array("f", map(float, r[1:])).tobytes())
                          for r in rows))

s = json.loads(conn.execute(
    "SELECT rbm_fit('digits', 'train', 'v', ?)",
    (json.dumps({"label": "label"}),)).fetchone()[0])
print(f"trained on {s['rows']} rows of {s['features']} features, "
      f"{s['hidden']} hidden units, in {s['seconds']:.2f}s")

accuracy, = conn.execute(
    "SELECT avg(rbm_classify('digits', v) = label) FROM test").fetchone()
print(f"test accuracy {accuracy:.4f}")

v, label = conn.execute("SELECT v, label FROM test LIMIT 1").fetchone()
probs = json.loads(conn.execute("SELECT rbm_class_probs('digits', ?)", (v,)).fetchone()[0])
best = max(probs, key=probs.get)
print(f"first test row: label {label}, classified {best} (p = {probs[best]:.3f})")

hidden = array("f")
hidden.frombytes(conn.execute("SELECT rbm_transform('digits', ?)", (v,)).fetchone()[0])
print(f"its {len(hidden)} hidden probabilities, the largest {max(hidden):.3f}")

for n, blob in conn.execute("SELECT sample, vector FROM rbm_sample('digits', 2, 200, 1)"):
    pixels = array("f")
    pixels.frombytes(blob)
    print(f"sample {n}:")
    for y in range(8):
        print("  " + "".join(" .:-=+*#%@"[min(9, int(p * 10))] for p in pixels[8 * y:8 * y + 8]))
