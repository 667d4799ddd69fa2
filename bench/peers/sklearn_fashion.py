#!/usr/bin/python3
"""scikit-learn's RBM pipeline on Fashion-MNIST, a peer for `make bench`.

BernoulliRBM(n_components=256, batch_size=100, n_iter=10, learning_rate=0.1)
on the 60,000 training images (pixels / 255, float32), its hidden
probabilities into LogisticRegression (lbfgs, max_iter 1000); and
LogisticRegression on the raw pixels.  Accuracy on the 10,000 test images.

    /usr/bin/python3 bench/peers/sklearn_fashion.py DIR [--raw]

DIR holds the four idx files, gzipped (Debian's dataset-fashion-mnist).
Prints "epoch_seconds S accuracy A" (and "raw_accuracy R" with --raw).
Needs Debian's python3-sklearn.
"""
import gzip
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import BernoulliRBM


def idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main():
    d = sys.argv[1]
    x = idx(f"{d}/train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255
    y = idx(f"{d}/train-labels-idx1-ubyte.gz", 8)
    xt = idx(f"{d}/t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255
    yt = idx(f"{d}/t10k-labels-idx1-ubyte.gz", 8)
    rbm = BernoulliRBM(n_components=256, batch_size=100, n_iter=10,
                       learning_rate=0.1, random_state=0)
    start = time.perf_counter()
    rbm.fit(x)
    seconds = time.perf_counter() - start
    head = LogisticRegression(max_iter=1000)
    head.fit(rbm.transform(x), y)
    acc = (head.predict(rbm.transform(xt)) == yt).mean()
    print(f"epoch_seconds {seconds / 10:.3f} accuracy {acc:.4f}")
    if "--raw" in sys.argv:
        raw = LogisticRegression(max_iter=1000).fit(x, y)
        print(f"raw_accuracy {(raw.predict(xt) == yt).mean():.4f}")


if __name__ == "__main__":
    main()
