#!/usr/bin/python3
"""The common PyTorch RBM tutorial, as a peer for `make bench`.

Written here from the widely copied course notebook: MovieLens-100K u1,
ratings 1-2 -> 0, 3-5 -> 1, unrated -> -1 in a dense users x movies matrix,
100 hidden units, batch 100, CD-10, 10 epochs, weights updated by the raw
difference of statistics.  The -1s are fed into the network as inputs --
the design rbm does not copy.  It is kept as the tutorial has it, so its
time and quality are the tutorial's.

    /usr/bin/python3 bench/peers/pytorch_tutorial.py DATA_DIR [--threads N]

Prints one line: train_seconds, test accuracy and AUC of P(like) on u1.test.
Needs Debian's python3-torch (apt-get install python3-torch).
"""
import sys
import time

import numpy as np
import torch


def load(path):
    return np.loadtxt(path, dtype=np.int64)[:, :3]


def dense(data, nb_users, nb_movies):
    m = np.zeros((nb_users, nb_movies), dtype=np.float32)
    m[data[:, 0] - 1, data[:, 1] - 1] = data[:, 2]
    return torch.from_numpy(m)


def binarise(t):
    t = t.clone()
    t[t == 0] = -1
    t[t == 1] = 0
    t[t == 2] = 0
    t[t >= 3] = 1
    return t


class RBM:
    def __init__(self, nv, nh):
        self.W = torch.randn(nh, nv)
        self.a = torch.randn(1, nh)
        self.b = torch.randn(1, nv)

    def sample_h(self, x):
        wx = torch.mm(x, self.W.t())
        p = torch.sigmoid(wx + self.a.expand_as(wx))
        return p, torch.bernoulli(p)

    def sample_v(self, y):
        wy = torch.mm(y, self.W)
        p = torch.sigmoid(wy + self.b.expand_as(wy))
        return p, torch.bernoulli(p)

    def train(self, v0, vk, ph0, phk):
        self.W += (torch.mm(v0.t(), ph0) - torch.mm(vk.t(), phk)).t()
        self.b += torch.sum((v0 - vk), 0)
        self.a += torch.sum((ph0 - phk), 0)


def auc(p, y):
    order = np.argsort(p, kind="mergesort")
    p, y = p[order], y[order]
    ranks = np.empty(len(p))
    i = 0
    while i < len(p):
        j = i
        while j < len(p) and p[j] == p[i]:
            j += 1
        ranks[i:j] = (i + j + 1) / 2.0
        i = j
    pos = y.sum()
    neg = len(y) - pos
    return (ranks[y == 1].sum() - pos * (pos + 1) / 2.0) / (pos * neg)


def main():
    data_dir = sys.argv[1]
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    base, test = load(f"{data_dir}/u1.base"), load(f"{data_dir}/u1.test")
    nb_users = int(max(base[:, 0].max(), test[:, 0].max()))
    nb_movies = int(max(base[:, 1].max(), test[:, 1].max()))
    training_set = binarise(dense(base, nb_users, nb_movies))
    test_set = binarise(dense(test, nb_users, nb_movies))

    rbm = RBM(nb_movies, 100)
    batch_size = 100
    start = time.perf_counter()
    for epoch in range(1, 11):
        for id_user in range(0, nb_users - batch_size, batch_size):
            vk = training_set[id_user:id_user + batch_size]
            v0 = training_set[id_user:id_user + batch_size]
            ph0, _ = rbm.sample_h(v0)
            for k in range(10):
                _, hk = rbm.sample_h(vk)
                _, vk = rbm.sample_v(hk)
                vk[v0 < 0] = v0[v0 < 0]
            phk, _ = rbm.sample_h(vk)
            rbm.train(v0, vk, ph0, phk)
    seconds = time.perf_counter() - start

    # P(like) for every held-out rating: one up-pass, one down-pass.
    probs, truth = [], []
    for id_user in range(nb_users):
        vt = test_set[id_user:id_user + 1]
        if (vt >= 0).sum() == 0:
            continue
        v = training_set[id_user:id_user + 1]
        _, h = rbm.sample_h(v)
        pv, _ = rbm.sample_v(h)
        mask = vt >= 0
        probs.append(pv[mask].numpy())
        truth.append(vt[mask].numpy())
    p, y = np.concatenate(probs), np.concatenate(truth).astype(int)
    accuracy = float(((p >= 0.5) == (y == 1)).mean())
    print(f"train_seconds {seconds:.3f} accuracy {accuracy:.4f} auc {auc(p, y):.4f}"
          f" threads {threads}")


if __name__ == "__main__":
    main()
