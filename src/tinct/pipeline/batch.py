"""Colorizing many photos fast: batched forwards, decoding and encoding overlapped with compute, bounded memory.

A small thread pipeline around one :class:`~tinct.pipeline.colorizer.Colorizer`:

- **reader threads** decode a photo (``read``), turn it into uint8 RGB and build its network input;
- the **calling thread** groups decoded photos by network input shape (a bucket per shape) and runs one
  forward per bucket: a bucket goes as soon as it holds ``max_batch`` photos, or when nothing else is
  decoded yet (so the network never waits for a fuller batch), or when the pixel budget is reached;
- **writer threads** recombine each result at full resolution and encode + write it (``write``).

Queues are bounded and every decoded photo holds pixels from a shared budget (``budget_pixels``) until it is
written, so memory stays at about the budget plus one photo per reader, whatever the number of inputs.
BatchNorm is folded (eval mode), so a photo's result does not depend on which photos share its batch; it
equals :meth:`Colorizer.colorize`'s up to float rounding of differently-shaped matrix products (within one
8-bit level, tests/test_batch.py). Errors are per photo: a failing photo is reported and the rest go on.
"""
from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .hints import as_hints

DEFAULT_MAX_BATCH = 8
DEFAULT_BUDGET_PIXELS = 64_000_000   # decoded photos in flight (~3 bytes per pixel each, plus the result)
_POLL = 0.1


def default_threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


@dataclass
class _Work:
    index: int
    context: object                 # what ``read`` returned beside the image, handed back to ``write``
    rgb: np.ndarray
    alpha: np.ndarray | None
    l: torch.Tensor
    hints: torch.Tensor | None
    as_array: bool
    ab: torch.Tensor | None = None

    @property
    def pixels(self) -> int:
        return self.rgb.shape[0] * self.rgb.shape[1]


class _Budget:
    """Pixels held by photos in flight; ``take`` blocks while the budget is spent (never for the only photo)."""

    def __init__(self, limit: int, stop: threading.Event):
        self.limit, self.used, self.stop = limit, 0, stop
        self.cv = threading.Condition()

    def take(self, n: int) -> None:
        with self.cv:
            while self.used and self.used + n > self.limit and not self.stop.is_set():
                self.cv.wait(_POLL)
            self.used += n

    def give(self, n: int) -> None:
        with self.cv:
            self.used -= n
            self.cv.notify_all()


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL)
            return True
        except queue.Full:
            pass
    return False


def run_batched(colorizer, n: int, read, write, opts, hints=None, max_batch: int = DEFAULT_MAX_BATCH,
                budget_pixels: int = DEFAULT_BUDGET_PIXELS, readers: int | None = None, writers: int | None = None,
                on_done=None) -> list[BaseException | None]:
    """Colorize items ``0..n-1``. ``read(i) -> (image, context)`` (image: path, PIL image or uint8 ndarray);
    ``write(i, result, context)`` stores the result (PIL image; ndarray for an ndarray input);
    ``on_done(i, error_or_None)`` is called once per item as it finishes, under a lock. Returns per item the
    exception that stopped it, or None. Ctrl-C: queued work is dropped, writes in progress complete."""
    hint_list = as_hints(hints)
    readers = readers or default_threads()
    writers = writers or default_threads()
    errors: list = [None] * n
    stop = threading.Event()
    budget = _Budget(budget_pixels, stop)
    decoded: queue.Queue = queue.Queue(maxsize=max(2, 2 * max_batch))
    finished: queue.Queue = queue.Queue(maxsize=max(2, max_batch + writers))
    next_index = iter(range(n))
    lock = threading.Lock()

    def done(i: int, e: BaseException | None) -> None:
        errors[i] = e
        if on_done is not None:
            with lock:
                on_done(i, e)

    def reader() -> None:
        while not stop.is_set():
            with lock:
                i = next(next_index, None)
            if i is None:
                break
            try:
                image, ctx = read(i)
                rgb, alpha = colorizer._read(image)
                l, h = colorizer.net_inputs(rgb, hint_list, opts)
                w = _Work(i, ctx, rgb, alpha, l, h, isinstance(image, np.ndarray))
                del image
            except Exception as e:
                done(i, e)
                continue
            budget.take(w.pixels)
            if not _put(decoded, w, stop):
                budget.give(w.pixels)
        _put(decoded, None, stop)

    def writer() -> None:
        while True:
            try:
                w = finished.get(timeout=_POLL)
            except queue.Empty:
                if stop.is_set():
                    return
                continue
            if w is None:
                return
            try:
                write(w.index, colorizer.finish(w.rgb, w.alpha, w.ab, w.as_array), w.context)
            except Exception as e:
                done(w.index, e)
            else:
                done(w.index, None)
            finally:
                budget.give(w.pixels)
            if stop.is_set():
                return

    def forward(bucket: list) -> None:
        try:
            abs_ = colorizer.forward_ab([w.l for w in bucket], [w.hints for w in bucket], opts)
        except Exception as e:
            for w in bucket:
                budget.give(w.pixels)
                done(w.index, e)
            return
        for w, ab in zip(bucket, abs_):
            w.ab, w.l, w.hints = ab, None, None
            _put(finished, w, stop)

    threads = [threading.Thread(target=reader, name=f"tinct-read-{k}", daemon=True) for k in range(readers)]
    threads += [threading.Thread(target=writer, name=f"tinct-write-{k}", daemon=True) for k in range(writers)]
    for t in threads:
        t.start()
    buckets: dict = {}
    try:
        live = readers
        while live or buckets:
            w = ...                # ... = nothing decoded right now
            if live:
                try:
                    w = decoded.get_nowait() if buckets else decoded.get(timeout=_POLL)
                except queue.Empty:
                    if not buckets:
                        continue
            if w is ...:           # do not let the network wait for a fuller batch: run the fullest bucket
                forward(buckets.pop(max(buckets, key=lambda k: len(buckets[k]))))
            elif w is None:        # a reader has finished
                live -= 1
            else:
                key = tuple(w.l.shape[-2:])
                buckets.setdefault(key, []).append(w)
                if len(buckets[key]) >= max_batch or budget.used >= budget.limit:
                    forward(buckets.pop(key))
        for _ in range(writers):
            _put(finished, None, stop)
        for t in threads:
            t.join()
    finally:
        stop.set()
        for t in threads:
            t.join()
    return errors


@dataclass
class ItemResult:
    """What happened to one (input, output) pair: ``error`` is None on success, else a one-line cause."""
    src: Path
    dst: Path
    error: str | None = None
    exception: BaseException | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None


def one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def colorize_files(colorizer, pairs, overwrite: bool = False, hints=None, decode=None, temperature=None,
                   size=None, max_batch: int = DEFAULT_MAX_BATCH, on_done=None, **reference) -> list[ItemResult]:
    """Colorize ``pairs`` of (input path, output path) -> one :class:`ItemResult` per pair, in order. Outputs
    are written atomically in the format of their extension (EXIF kept, orientation applied); a pair that
    fails (unreadable input, existing output, ...) does not stop the others. ``on_done(i, error_or_None)``
    reports progress. ``reference``: ``reference=``, ``palette=``, ``reference_strength=`` as
    ``Colorizer.options`` (analysed once for all pairs). For callers such as Ray actors or scripts; the CLI adds
    stdin/stdout and skipping."""
    from ..files.read import open_image
    from ..files.write import save_image
    pairs = [(Path(s), Path(d)) for s, d in pairs]
    opts = colorizer.options(decode, temperature, size, **reference)

    def read(i):
        img = open_image(pairs[i][0], colorizer.max_pixels)
        try:
            exif = img.getexif()
        except Exception:
            exif = None
        return img, exif

    def write(i, out, exif):
        save_image(out, pairs[i][1], overwrite=overwrite, exif=exif)

    errors = run_batched(colorizer, len(pairs), read, write, opts, hints=hints, max_batch=max_batch, on_done=on_done)
    return [ItemResult(s, d, None if e is None else one_line(e), e) for (s, d), e in zip(pairs, errors)]
