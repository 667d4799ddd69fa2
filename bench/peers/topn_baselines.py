#!/usr/bin/python3
"""Top-N references for bench/quality.sh: popularity and item-kNN on the
split that sql/split_per_user.sql made (tables split_train, split_test).

    /usr/bin/python3 bench/peers/topn_baselines.py DB

Every row is an interaction.  Popularity ranks the items by how many users
have them; item-kNN (cosine on the binary users x items matrix, each item's
100 nearest neighbours) scores an item by the summed similarity of the
user's items among its neighbours.  Both leave out the user's training
items and are scored as rbm_evaluate scores: precision@10, and NDCG@10
with min(10, relevant) hits as the ideal.  Needs numpy (Debian's python3).
"""
import sqlite3
import sys

import numpy as np


def matrix(db, table, users, items):
    m = np.zeros((len(users), len(items)), dtype=np.float32)
    for u, i in db.execute(f"SELECT user_id, item_id FROM {table}"):
        if i in items:
            m[users[u], items[i]] = 1
    return m


def score(scores, train, test, k=10):
    s = np.where(train > 0, -np.inf, scores.astype(np.float64))
    rows = np.where(test.sum(1) > 0)[0]
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    prec, ndcg = [], []
    for r in rows:
        top = np.argsort(-s[r], kind="stable")[:k]
        hits = test[r, top]
        ideal = disc[: int(min(k, test[r].sum()))].sum()
        prec.append(hits.sum() / k)
        ndcg.append((hits * disc).sum() / ideal)
    return np.mean(prec), np.mean(ndcg)


def main():
    db = sqlite3.connect(sys.argv[1])
    users = {u: n for n, (u,) in enumerate(db.execute(
        "SELECT DISTINCT user_id FROM split_train ORDER BY 1"))}
    items = {i: n for n, (i,) in enumerate(db.execute(
        "SELECT DISTINCT item_id FROM split_train ORDER BY 1"))}
    train = matrix(db, "split_train", users, items)
    test = matrix(db, "split_test", users, items)
    pop = np.tile(train.sum(0), (train.shape[0], 1))
    norms = np.sqrt(train.sum(0)) + 1e-12
    sim = (train.T @ train) / np.outer(norms, norms)
    np.fill_diagonal(sim, 0)
    far = np.argpartition(-sim, 100, axis=1)[:, 100:]
    np.put_along_axis(sim, far, 0, axis=1)
    knn = train @ sim.T
    for name, s in (("popularity", pop), ("item-kNN, cosine, 100 neighbours", knn)):
        p, n = score(s, train, test)
        print(f"| {name} (numpy, bench/peers/topn_baselines.py) | {p:.4f} | {n:.4f} | |")


if __name__ == "__main__":
    main()
