"""Atomic checkpoints: written to a temporary file, fsynced, then renamed over the last one. A crash at any
moment leaves either the old or the new checkpoint whole, never a torn one."""
from __future__ import annotations

import os
from pathlib import Path

import torch

CHECKPOINT = "checkpoint.pt"


def save_checkpoint(run: Path, state: dict) -> Path:
    path = Path(run) / CHECKPOINT
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load_checkpoint(run: Path) -> dict | None:
    """The last complete checkpoint of a run, or None. Loaded with ``weights_only=True`` (no arbitrary code)."""
    path = Path(run) / CHECKPOINT
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)
