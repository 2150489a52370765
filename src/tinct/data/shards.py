"""Reading prepared shards with constant memory: every record is fetched with one ``os.pread``."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np


class ShardDataset:
    """Random access over one split of a prepared dataset. ``ds[i]`` -> ``(uint8 (S, S, 3), label)``."""

    def __init__(self, root, split: str = "train"):
        self.root = Path(root)
        mf = self.root / "manifest.json"
        if not mf.exists():
            raise FileNotFoundError(f"{self.root}: no manifest.json (run 'tinct prepare' first)")
        self.manifest = json.loads(mf.read_text())
        if split not in self.manifest["splits"]:
            raise KeyError(f"{self.root}: no split {split!r} (have {sorted(self.manifest['splits'])})")
        self.size = self.manifest["size"]
        self.record = self.size * self.size * 3
        self.files, offsets, labels = [], [0], []
        for name in self.manifest["splits"][split]:
            meta = json.loads((self.root / f"{name}.json").read_text())
            self.files.append(self.root / f"{name}.u8")
            offsets.append(offsets[-1] + meta["count"])
            labels += meta["labels"]
        self.offsets = np.array(offsets)
        self.labels = np.array(labels, dtype=np.int64)
        self._fds: dict[int, int] = {}
        self._pid = os.getpid()

    @property
    def categories(self):
        return self.manifest.get("categories")

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def _fd(self, shard: int) -> int:
        if self._pid != os.getpid():  # forked into a worker: reopen
            self._fds, self._pid = {}, os.getpid()
        if shard not in self._fds:
            self._fds[shard] = os.open(self.files[shard], os.O_RDONLY)
        return self._fds[shard]

    def __getitem__(self, i: int):
        if not 0 <= i < len(self):
            raise IndexError(i)
        shard = int(np.searchsorted(self.offsets, i, side="right") - 1)
        pos = (i - self.offsets[shard]) * self.record
        buf = os.pread(self._fd(shard), self.record, int(pos))
        return np.frombuffer(buf, np.uint8).reshape(self.size, self.size, 3), int(self.labels[i])

    def batch(self, indices) -> tuple[np.ndarray, np.ndarray]:
        out = np.empty((len(indices), self.size, self.size, 3), np.uint8)
        for j, i in enumerate(indices):
            out[j] = self[int(i)][0]
        return out, self.labels[np.asarray(indices, dtype=np.int64)]

    def __del__(self):
        for fd in getattr(self, "_fds", {}).values():
            try:
                os.close(fd)
            except OSError:
                pass
