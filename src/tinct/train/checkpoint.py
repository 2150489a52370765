"""Atomic checkpoints (io_atomic: temporary file, fsync, rename over the last one). A crash at any moment
leaves either the old or the new checkpoint whole, never a torn one; a failed save (a full disk) removes its
temporary file and raises :class:`CheckpointError` naming the cause, the last good checkpoint and how to resume."""
from __future__ import annotations

import io
from pathlib import Path

import torch

from ..files.atomic import is_disk_full, write_atomic

CHECKPOINT = "checkpoint.pt"


class CheckpointError(OSError):
    """A checkpoint could not be written; the message is one line: cause, last good checkpoint, next step."""


def save_checkpoint(run: Path, state: dict) -> Path:
    path = Path(run) / CHECKPOINT
    try:
        buf = io.BytesIO()  # serialized first, so a write error is an OSError, not torch's "unexpected pos"
        torch.save(state, buf)
        write_atomic(path, lambda f: f.write(buf.getbuffer()))
    except OSError as e:
        cause = "the disk is full" if is_disk_full(e) else (e.strerror or str(e) or type(e).__name__)
        err = CheckpointError(f"could not save the step-{state.get('step')} checkpoint in {run}: {cause}. "
                              f"{_last_good(path)}")
        err.errno = e.errno
        raise err from e
    return path


def _last_good(path: Path) -> str:
    try:
        step = torch.load(path, map_location="cpu", weights_only=True, mmap=True)["step"]
    except FileNotFoundError:
        return "No earlier checkpoint exists; free some space and start again."
    except Exception:  # noqa: BLE001 - the message must still be written
        step = "?"
    return (f"The last good checkpoint, {path} (step {step}), is kept: free some space and rerun the same "
            "command with --resume.")


def load_checkpoint(run: Path) -> dict | None:
    """The last complete checkpoint of a run, or None. Loaded with ``weights_only=True`` (no arbitrary code)."""
    path = Path(run) / CHECKPOINT
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)
