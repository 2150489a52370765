"""Reading prepared shards with constant memory: every record is fetched with one ``os.pread``."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np


class DatasetError(ValueError):
    """A prepared dataset that cannot be read (a truncated shard, a broken index): one line naming the file."""


class ShardDataset:
    """Random access over one split of a prepared dataset. ``ds[i]`` -> ``(uint8 (S, S, 3), label)``. Opening
    checks every shard's index and length (:class:`DatasetError`), so a truncated shard fails before training."""

    def __init__(self, root, split: str = "train"):
        self.root = Path(root)
        mf = self.root / "manifest.json"
        if not mf.exists():
            raise FileNotFoundError(f"{self.root}: no manifest.json (run 'tinct prepare' first)")
        try:
            self.manifest = json.loads(mf.read_text())
            self.manifest["splits"], self.manifest["size"]
        except (ValueError, KeyError, TypeError) as e:
            raise DatasetError(f"{mf}: not a dataset manifest ({type(e).__name__}: {str(e)[:80]})") from None
        if split not in self.manifest["splits"]:
            raise KeyError(f"{self.root}: no split {split!r} (have {sorted(self.manifest['splits'])})")
        self.size = self.manifest["size"]
        self.record = self.size * self.size * 3
        self.files, offsets, labels = [], [0], []
        for name in self.manifest["splits"][split]:
            meta = self._shard_meta(self.root / f"{name}.json")
            self.files.append(self._check_shard(self.root / f"{name}.u8", meta["count"]))
            offsets.append(offsets[-1] + meta["count"])
            labels += meta["labels"]
        self.offsets = np.array(offsets)
        self.labels = np.array(labels, dtype=np.int64)
        self._fds: dict[int, int] = {}
        self._pid = os.getpid()
        self._open_lock = threading.Lock()   # loader threads share the file descriptors

    @staticmethod
    def _shard_meta(path: Path) -> dict:
        try:
            meta = json.loads(path.read_text())
            count = meta["count"]
            ok = isinstance(count, int) and count >= 0 and len(meta["labels"]) == count
        except FileNotFoundError:
            raise DatasetError(f"{path}: missing (the dataset is incomplete; run 'tinct prepare' again)") from None
        except (ValueError, KeyError, TypeError) as e:
            raise DatasetError(f"{path}: not a shard index ({type(e).__name__}: {str(e)[:80]})") from None
        if not ok:
            raise DatasetError(f"{path}: not a shard index (count and labels disagree)")
        return meta

    def _check_shard(self, path: Path, count: int) -> Path:
        want = count * self.record
        try:
            have = path.stat().st_size
        except FileNotFoundError:
            raise DatasetError(f"{path}: missing (the dataset is incomplete; run 'tinct prepare' again)") from None
        if have != want:
            raise DatasetError(f"{path}: {have} bytes, but its index says {count} images of {self.size}x{self.size} "
                               f"= {want} bytes ({'truncated' if have < want else 'extra data'}; run 'tinct prepare' "
                               "again)")
        return path

    @property
    def categories(self):
        return self.manifest.get("categories")

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def _fd(self, shard: int) -> int:
        if self._pid != os.getpid():  # forked into a worker: reopen
            self._fds, self._pid = {}, os.getpid()
        fd = self._fds.get(shard)
        if fd is None:
            with self._open_lock:
                if shard not in self._fds:
                    self._fds[shard] = os.open(self.files[shard], os.O_RDONLY)
                fd = self._fds[shard]
        return fd

    def __getitem__(self, i: int):
        if not 0 <= i < len(self):
            raise IndexError(i)
        shard = int(np.searchsorted(self.offsets, i, side="right") - 1)
        pos = (i - self.offsets[shard]) * self.record
        buf = os.pread(self._fd(shard), self.record, int(pos))
        return np.frombuffer(buf, np.uint8).reshape(self.size, self.size, 3), int(self.labels[i])

    def read_into(self, indices, out: np.ndarray) -> np.ndarray:
        """Read records ``indices`` into the C-contiguous uint8 array ``out`` ``(len(indices), S, S, 3)`` (e.g. a
        view of a pinned, preallocated buffer): the shard lookup is vectorized, then one ``os.preadv`` per record
        straight into ``out`` (no intermediate copy; the GIL is released during each read). Returns ``out``."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"record index out of range 0..{len(self) - 1}")
        if out.shape != (len(idx), self.size, self.size, 3) or out.dtype != np.uint8 or not out.flags.c_contiguous:
            raise ValueError(f"out must be C-contiguous uint8 {(len(idx), self.size, self.size, 3)}")
        shards = np.searchsorted(self.offsets, idx, side="right") - 1
        positions = ((idx - self.offsets[shards]) * self.record).tolist()
        flat, rec = memoryview(out.reshape(-1)), self.record
        for j, (shard, pos) in enumerate(zip(shards.tolist(), positions)):
            if os.preadv(self._fd(shard), [flat[j * rec:(j + 1) * rec]], pos) != rec:
                raise OSError(f"{self.files[shard]}: short read at record {int(idx[j])} (truncated shard?)")
        return out

    def batch(self, indices) -> tuple[np.ndarray, np.ndarray]:
        """``(uint8 (N, S, S, 3), int64 labels (N,))`` of records ``indices``."""
        idx = np.asarray(indices, dtype=np.int64)
        out = np.empty((len(idx), self.size, self.size, 3), np.uint8)
        return self.read_into(idx, out), self.labels[idx]

    def __del__(self):
        for fd in getattr(self, "_fds", {}).values():
            try:
                os.close(fd)
            except OSError:
                pass
