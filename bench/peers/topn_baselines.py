#!/usr/bin/python3
"""Top-N references for bench/quality.sh and bench/topn.sh: popularity,
item-kNN and EASE^R on the split that sql/split_per_user.sql made (tables
split_train, split_test).

    /usr/bin/python3 bench/peers/topn_baselines.py DB
        popularity and item-kNN, as markdown rows (bench/quality.sh)
    /usr/bin/python3 bench/peers/topn_baselines.py --peers DB
        every peer, one line each: name, precision@10, ndcg@10, seconds
        (tab-separated; bench/topn.sh)
    /usr/bin/python3 bench/peers/topn_baselines.py --lists DB RECS
        score ranked lists given as "user<TAB>item<TAB>rank" lines (rank 1
        first): bench/topn.sh's check that its SQL metric and score() agree

Every row is an interaction.  Popularity ranks the items by how many users
have them; item-kNN (cosine on the binary users x items matrix, each item's
100 nearest neighbours) scores an item by the summed similarity of the
user's items among its neighbours.  EASE^R (Steck 2019) is the closed-form
item-item model: G = X'X + lambda I, P = G^-1, B = -P / diag(P) column by
column, diag(B) = 0, scores X B; in float64, for each lambda in LAMBDAS.
When there are fewer users than items, P comes from the users x users
matrix instead (Woodbury: P = (I - X'(XX' + lambda I)^-1 X) / lambda), so
5,000 items take a second, not a minute.

All leave out the user's training items and are scored as rbm_evaluate
scores: precision@10, and NDCG@10 with min(10, relevant) hits as the ideal,
over the users with held-out rows; every held-out row counts as relevant,
an item the training rows never had too (no model can find it).  Needs
numpy (Debian's python3).
"""
import sqlite3
import sys
import time

import numpy as np

LAMBDAS = (50, 100, 250, 500, 1000)
K = 10


class Split:
    """The split as dense 0/1 matrices over split_train's users and items,
    the held-out rows' count per user, and the users to score."""

    def __init__(self, path):
        db = sqlite3.connect(path)
        self.users = {u: n for n, (u,) in enumerate(db.execute(
            "SELECT DISTINCT user_id FROM split_train ORDER BY 1"))}
        self.items = {i: n for n, (i,) in enumerate(db.execute(
            "SELECT DISTINCT item_id FROM split_train ORDER BY 1"))}
        self.train = self.matrix(db, "split_train")
        self.test = self.matrix(db, "split_test")
        self.n_test = np.zeros(len(self.users))
        for u, n in db.execute("SELECT user_id, count(*) FROM split_test GROUP BY 1"):
            self.n_test[self.users[u]] = n
        self.rows = np.where(self.n_test > 0)[0]

    def matrix(self, db, table):
        m = np.zeros((len(self.users), len(self.items)), dtype=np.float32)
        for u, i in db.execute(f"SELECT user_id, item_id FROM {table}"):
            if u in self.users and i in self.items:
                m[self.users[u], self.items[i]] = 1
        return m


def score_lists(top, test, n_test, k=K):
    """precision@k and ndcg@k of ranked lists: top[r] the item indices of
    user r's list, best first, -1 past its end; test[r] the user's held-out
    items (0/1), n_test[r] the user's held-out rows, all of them."""
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    hits = np.where(top >= 0, np.take_along_axis(test, np.maximum(top, 0), 1), 0)
    best = np.minimum(k, n_test).astype(int)
    ideal = np.cumsum(disc)[best - 1]
    return (hits.sum(1) / k).mean(), ((hits * disc).sum(1) / ideal).mean()


def score(scores, split, k=K):
    """Ranks the users of split.rows by scores (one row each, in that
    order), the training items left out, ties to the lower item index."""
    s = np.where(split.train[split.rows] > 0, -np.inf, scores.astype(np.float64))
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return score_lists(top, split.test[split.rows], split.n_test[split.rows], k)


def popularity(x, rows):
    return np.tile(x.sum(0), (len(rows), 1))


def item_knn(x, rows, neighbours=100):
    norms = np.sqrt(x.sum(0)) + 1e-12
    sim = (x.T @ x) / np.outer(norms, norms)
    np.fill_diagonal(sim, 0)
    if sim.shape[0] > neighbours:
        far = np.argpartition(-sim, neighbours, axis=1)[:, neighbours:]
        np.put_along_axis(sim, far, 0, axis=1)
    return x[rows] @ sim.T


def ease(x, rows, lambdas=LAMBDAS):
    """EASE^R's scores for each lambda: {lambda: (scores, seconds)}."""
    x = x.astype(np.float64)
    m, n = x.shape
    t0 = time.perf_counter()
    gram = x @ x.T if m < n else x.T @ x
    shared = time.perf_counter() - t0
    out = {}
    for lam in lambdas:
        t0 = time.perf_counter()
        inv = np.linalg.inv(gram + lam * np.eye(gram.shape[0]))
        if m < n:
            p = -(x.T @ inv @ x)
            p[np.diag_indices(n)] += 1
            p /= lam
        else:
            p = inv
        b = p / -np.diag(p)
        np.fill_diagonal(b, 0)
        out[lam] = (x[rows] @ b, shared + time.perf_counter() - t0)
    return out


def timed(f, *args):
    t0 = time.perf_counter()
    r = f(*args)
    return r, time.perf_counter() - t0


def peers(path):
    split = Split(path)
    x, rows = split.train, split.rows
    for name, f in (("popularity", popularity), ("item-kNN", item_knn)):
        s, secs = timed(f, x, rows)
        p, n = score(s, split)
        print(f"{name}\t{p:.4f}\t{n:.4f}\t{secs:.2f}")
    for lam, (s, secs) in ease(x, rows).items():
        p, n = score(s, split)
        print(f"EASE {lam}\t{p:.4f}\t{n:.4f}\t{secs:.2f}")


def lists(path, recs):
    split = Split(path)
    top = np.full((len(split.users), K), -1)
    with open(recs) as f:
        for line in f:
            u, i, r = line.rstrip("\n").split("\t")
            u, i, r = split.users[int(u)], split.items[int(i)], int(r)
            if r <= K:
                top[u, r - 1] = i
    rows = split.rows
    p, n = score_lists(top[rows], split.test[rows], split.n_test[rows])
    print(f"{p:.4f}\t{n:.4f}")


def main():
    if sys.argv[1] == "--peers":
        return peers(sys.argv[2])
    if sys.argv[1] == "--lists":
        return lists(sys.argv[2], sys.argv[3])
    split = Split(sys.argv[1])
    for name, f in (("popularity", popularity),
                    ("item-kNN, cosine, 100 neighbours", item_knn)):
        p, n = score(f(split.train, split.rows), split)
        print(f"| {name} (numpy, bench/peers/topn_baselines.py) | {p:.4f} | {n:.4f} | |")


if __name__ == "__main__":
    main()
