"""A uint8 batch loader for training: worker threads ``pread`` records into a ring of preallocated (pinned, when
the batches go to a GPU) buffers, several steps ahead of the consumer.

Contract: ``BatchLoader(ds, indices_of, start, stop)`` yields ``(step, rgb, labels)`` for ``step`` in
``range(start, stop)`` in order, where ``rgb`` is a uint8 tensor ``(N, S, S, 3)`` holding the records
``indices_of(step)`` and ``labels`` an int64 tensor ``(N,)``. ``rgb`` is a view of a ring buffer: it stays valid
until the consumer asks for the step ``ring - prefetch - 1`` later (the ring has ``prefetch + 2`` slots), so copy
or convert it within the step. With ``pin=True`` the consumer's non-blocking host-to-device copy must be recorded
with :meth:`BatchLoader.copied` (a CUDA event) so the slot is not refilled while the copy is in flight.
With ``prepare``, the worker threads also run ``prepare(step, rgb, labels)`` on each filled slot (e.g. the CPU
training batch, so preprocessing overlaps the consumer's step) and the loader yields ``(step, prepared)`` instead;
``prepare`` must not keep views of ``rgb`` (the slot is refilled later).
No per-image Python work beyond one ``os.preadv`` per record (:meth:`ShardDataset.read_into`).
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import torch

from .shards import ShardDataset


class BatchLoader:
    def __init__(self, ds: ShardDataset, indices_of: Callable[[int], np.ndarray], start: int, stop: int,
                 prefetch: int = 4, workers: int = 2, pin: bool = False,
                 prepare: Callable[[int, torch.Tensor, torch.Tensor], object] | None = None):
        self.ds, self.indices_of, self.start, self.stop = ds, indices_of, start, stop
        self.prepare = prepare
        self.prefetch = max(1, prefetch)
        self.slots = self.prefetch + 2
        n = len(indices_of(start)) if start < stop else 0
        shape = (n, ds.size, ds.size, 3)
        self._bufs = [torch.empty(shape, dtype=torch.uint8, pin_memory=pin) for _ in range(self.slots)]
        self._labels = [torch.empty(n, dtype=torch.int64) for _ in range(self.slots)]
        self._events: list = [None] * self.slots
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="tinct-loader")
        self._futures: dict[int, object] = {}
        self._closed = threading.Event()

    def _fill(self, step: int) -> int:
        slot = step % self.slots
        ev = self._events[slot]
        if ev is not None:           # the previous user's device copy must finish before we overwrite
            ev.synchronize()
            self._events[slot] = None
        idx = np.asarray(self.indices_of(step), dtype=np.int64)
        buf = self._bufs[slot]
        if len(idx) != len(buf):
            raise ValueError(f"step {step}: batch of {len(idx)}, loader buffers hold {len(buf)}")
        self.ds.read_into(idx, buf.numpy())
        self._labels[slot].copy_(torch.from_numpy(self.ds.labels[idx]))
        return slot

    def _fill_and_prepare(self, step: int):
        slot = self._fill(step)
        return self.prepare(step, self._bufs[slot], self._labels[slot])

    def _submit(self, step: int) -> None:
        if step < self.stop and step not in self._futures and not self._closed.is_set():
            work = self._fill if self.prepare is None else self._fill_and_prepare
            self._futures[step] = self._pool.submit(work, step)

    def copied(self, step: int, event) -> None:
        """Record that the device copy of ``step``'s buffer is enqueued behind ``event`` (a ``torch.cuda.Event``)."""
        self._events[step % self.slots] = event

    def __iter__(self):
        for s in range(self.start, min(self.start + self.prefetch, self.stop)):
            self._submit(s)
        for step in range(self.start, self.stop):
            got = self._futures.pop(step).result()
            self._submit(step + self.prefetch)
            if self.prepare is None:
                yield step, self._bufs[got], self._labels[got]
            else:
                yield step, got

    def close(self) -> None:
        self._closed.set()
        for f in self._futures.values():
            f.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
