"""rbm in a Python whose sqlite3 module cannot load extensions.

A Python built without --enable-loadable-sqlite-extensions (the pyenv
python3 on this machine, many others) has no
Connection.enable_load_extension.  Its sqlite3 module still calls the
system's shared libsqlite3, so ctypes can hand rbm's entry point to that
library's sqlite3_auto_extension: every connection opened afterwards has
rbm, and nothing calls load_extension.  (This needs the sqlite3 module to
use the shared library; the script says so when it does not.)

    python3 examples/python_auto_extension.py dist/rbm.so   # from the repository
    python3 examples/python_auto_extension.py               # rbm.so on the library
                                                            # path, after make install
"""
import ctypes
import ctypes.util
import sqlite3
import sys


def register_rbm(path="rbm.so"):
    """Registers rbm for every connection opened from now on."""
    # The sqlite3 module has loaded libsqlite3 already: this is the same copy.
    libsqlite = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    rbm = ctypes.CDLL(path)
    libsqlite.sqlite3_auto_extension.argtypes = [ctypes.c_void_p]
    init = ctypes.cast(rbm.sqlite3_rbm_init, ctypes.c_void_p)
    if libsqlite.sqlite3_auto_extension(init) != 0:
        sys.exit("sqlite3_auto_extension failed")


register_rbm(sys.argv[1] if len(sys.argv) > 1 else "rbm.so")
conn = sqlite3.connect(":memory:")
print("enable_load_extension:", hasattr(conn, "enable_load_extension"))
try:
    print("rbm_version():", conn.execute("SELECT rbm_version()").fetchone()[0])
except sqlite3.OperationalError as e:
    sys.exit(f"{e}: this Python's sqlite3 module has a SQLite of its own, "
             "not the shared libsqlite3")

# Users 1-10 like items 1-3 and dislike 4-6; users 11-20 the reverse.
conn.execute("CREATE TABLE ratings(user_id INTEGER, item_id INTEGER, rating INTEGER)")
conn.executemany("INSERT INTO ratings VALUES (?, ?, ?)",
                 [(u, i, 5 if (i <= 3) == (u <= 10) else 1)
                  for u in range(1, 21) for i in range(1, 7) if (u + i) % 3 != 0])
conn.execute("SELECT rbm_train('tastes', 'ratings', 'user_id', 'item_id', 'rating',"
             " '{\"hidden\": 8, \"epochs\": 200, \"orientation\": \"user\"}')")
for user, item in ((1, 2), (1, 5), (11, 1), (11, 4)):
    p = conn.execute("SELECT rbm_predict('tastes', ?, ?, 'like')", (user, item)).fetchone()[0]
    print(f"predict: user {user}, item {item}: P(like) {p:.2f}")
