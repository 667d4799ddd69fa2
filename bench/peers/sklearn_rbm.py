#!/usr/bin/python3
"""scikit-learn's BernoulliRBM as a peer for `make bench`.

BernoulliRBM trains on a dense binary matrix with persistent CD-1.  Here it
gets MovieLens-100K u1 as the tutorial shapes it for such a model: users x
movies, 1 where the user rated the movie 3 or more, 0 otherwise (unrated
included), 100 hidden units, batch 100, 10 epochs.

    /usr/bin/python3 bench/peers/sklearn_rbm.py DATA_DIR

Prints train_seconds and seconds per epoch.  Needs Debian's python3-sklearn.
"""
import sys
import time

import numpy as np
from sklearn.neural_network import BernoulliRBM


def main():
    data = np.loadtxt(f"{sys.argv[1]}/u1.base", dtype=np.int64)[:, :3]
    users, movies = data[:, 0].max(), data[:, 1].max()
    x = np.zeros((users, movies), dtype=np.float64)
    x[data[:, 0] - 1, data[:, 1] - 1] = data[:, 2] >= 3
    rbm = BernoulliRBM(n_components=100, batch_size=100, n_iter=10,
                       learning_rate=0.05, random_state=0)
    start = time.perf_counter()
    rbm.fit(x)
    seconds = time.perf_counter() - start
    print(f"train_seconds {seconds:.3f} epoch_seconds {seconds / 10:.4f}")


if __name__ == "__main__":
    main()
