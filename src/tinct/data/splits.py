"""Which training images are held out, and which ones each step (and each DDP rank) trains on."""
from __future__ import annotations

import numpy as np


def fit_holdout(n: int, holdout: int) -> int:
    """The number of images to hold out of ``n``: ``holdout``, but never more than a fifth of the data (at
    least one image when there are two or more), so a small dataset still trains."""
    if n < 2:
        return 0
    return max(1, min(holdout, n // 5))


def split_indices(n: int, holdout: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed (seed-independent) split of a dataset into (train, holdout) indices."""
    perm = np.random.default_rng(12345).permutation(n)
    return np.sort(perm[holdout:]), np.sort(perm[:holdout])


def batch_indices(train_idx: np.ndarray, step: int, batch: int, seed: int, rank: int, world: int) -> np.ndarray:
    """The indices rank ``rank`` trains on at ``step``: an epoch-wise shuffle, a disjoint slice per rank."""
    per_step = batch * world
    steps_per_epoch = max(len(train_idx) // per_step, 1)
    epoch, k = divmod(step, steps_per_epoch)
    perm = np.random.default_rng([seed, epoch]).permutation(len(train_idx))
    chunk = perm[k * per_step:(k + 1) * per_step]
    return train_idx[chunk[rank::world]]
