"""A full disk: every atomic write removes its temporary file and keeps the old file; training stops with a
message that says the disk is full, names the last good checkpoint and how to resume, and ``--resume`` after
space is freed ends with exactly the weights of an uninterrupted run."""
from __future__ import annotations

import builtins
import errno

import pytest
import torch

import helpers
from test_train import assert_same_state, final_state, train_cli
from tinct.files import atomic as io_atomic
from tinct.train import checkpoint, loop


class FullDisk:
    """Stands in for ``open`` in io_atomic: once ``full`` is set, a new file takes ``room`` bytes and then
    every write fails with ENOSPC (the bytes before that really reach the disk, as on a full file system)."""

    def __init__(self, room: int = 4096):
        self.full = False
        self.room = room
        self.failures = 0

    def __call__(self, path, mode="r", *a, **k):
        f = builtins.open(path, mode, *a, **k)
        return _Filling(f, self) if self.full and "x" in mode else f


class _Filling:
    def __init__(self, f, disk: FullDisk):
        self.f, self.disk, self.left = f, disk, disk.room

    def write(self, data) -> int:
        data = bytes(data)
        if len(data) > self.left:
            self.f.write(data[:self.left])
            self.left = 0
            self.disk.failures += 1
            raise OSError(errno.ENOSPC, "No space left on device")
        self.left -= len(data)
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def leftovers(folder):
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(".tinct-") or p.suffix == ".tmp")


def test_atomic_write_on_a_full_disk_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch):
    disk = FullDisk(room=10)
    monkeypatch.setattr(io_atomic, "open", disk, raising=False)
    target = tmp_path / "model.bin"
    io_atomic.write_bytes_atomic(target, b"old contents")
    disk.full = True
    with pytest.raises(OSError) as e:
        io_atomic.write_bytes_atomic(target, b"new contents, longer than the room left")
    assert io_atomic.is_disk_full(e.value) and disk.failures == 1
    assert target.read_bytes() == b"old contents" and leftovers(tmp_path) == []


def test_checkpoint_on_a_full_disk_says_so_and_names_the_last_good_one(tmp_path, monkeypatch):
    checkpoint.save_checkpoint(tmp_path, {"step": 3, "model": {"w": torch.arange(1000.0)}})
    disk = FullDisk()
    disk.full = True
    monkeypatch.setattr(io_atomic, "open", disk, raising=False)
    with pytest.raises(checkpoint.CheckpointError) as e:
        checkpoint.save_checkpoint(tmp_path, {"step": 6, "model": {"w": torch.zeros(100_000)}})
    msg = str(e.value)
    assert "step-6" in msg and "the disk is full" in msg and "(step 3)" in msg and "--resume" in msg, msg
    assert str(tmp_path / "checkpoint.pt") in msg and "\n" not in msg and e.value.errno == errno.ENOSPC
    assert leftovers(tmp_path) == [] and checkpoint.load_checkpoint(tmp_path)["step"] == 3


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return helpers.make_dataset(tmp_path_factory.mktemp("full-disk-data"), n=24, size=32)


def test_training_stops_on_a_full_disk_then_resumes_to_the_same_weights(data, tmp_path, monkeypatch, capsys):
    extra = dict(ckpt_every=2, schedule="cosine", warmup=2)
    straight = train_cli(data, tmp_path / "straight", steps=6, **extra)

    disk = FullDisk()
    monkeypatch.setattr(io_atomic, "open", disk, raising=False)
    real_save = loop.save_checkpoint

    def disk_fills_before_step_4(run, state):
        disk.full = disk.full or state["step"] >= 4
        return real_save(run, state)

    monkeypatch.setattr(loop, "save_checkpoint", disk_fills_before_step_4)
    run = train_cli(data, tmp_path / "run", steps=6, expect=1, **extra)
    err = capsys.readouterr().err
    line = err[err.rindex("tinct train:"):].splitlines()[0]
    assert "the disk is full" in line and f"{run / 'checkpoint.pt'} (step 2)" in line and "--resume" in line, err
    assert "Traceback" not in err and disk.failures == 1
    assert leftovers(run) == []
    assert checkpoint.load_checkpoint(run)["step"] == 2

    monkeypatch.undo()                                  # space freed
    train_cli(data, run, steps=6, resume=None, **extra)
    assert_same_state(final_state(straight), final_state(run))
