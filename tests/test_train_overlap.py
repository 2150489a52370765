"""The CPU training loop prepares each batch in the loader's threads (overlapping the previous step) and those
batches are bit for bit the ones ``make_batch`` gives in the main thread for (seed, step, rank): over several
steps, with hints and soft targets, and across an interruption and ``--resume``."""
import threading

import torch

import helpers
from tinct.color import bin_centres
from tinct.data.shards import ShardDataset
from tinct.data.splits import batch_indices, fit_holdout, split_indices
from tinct.train import loop
from tinct.train.batch import make_batch, step_generator
from tinct.train.checkpoint import load_checkpoint

from test_train import data, train_cli  # noqa: F401 - data is a fixture

EXTRA = dict(schedule="constant", ckpt_every=3, hint_p_none="0.3")


def record_batches(monkeypatch) -> list:
    """Patch the loop's ``make_batch`` to record (step seed, thread name, batch) of every call."""
    seen = []

    def recording(rgb_u8, labels, g, *a, **kw):
        seed = g.initial_seed()
        b = make_batch(rgb_u8, labels, g, *a, **kw)
        seen.append((seed, threading.current_thread().name, b))
        return b
    monkeypatch.setattr(loop, "make_batch", recording)
    return seen


def reference_batch(data, step: int, seed: int = 0):
    """The batch of ``step`` as the main thread of today's loop makes it (default --seed 0, one rank)."""
    ds = ShardDataset(data, "train")
    train_idx, _ = split_indices(len(ds), fit_holdout(len(ds), 4))
    rgb, labels = ds.batch(batch_indices(train_idx, step, 4, seed, 0, 1))
    return make_batch(torch.from_numpy(rgb), torch.from_numpy(labels), step_generator(seed, step, 0),
                      bin_centres(), size=32, hints=True, hint_p_none=0.3, soft_k=5, soft_sigma=5.0,
                      device=torch.device("cpu"), channels_last=False)


def assert_same_batch(got, want):
    for name in ("l", "hints", "index", "weight", "labels", "ab"):
        a, b = getattr(got, name), getattr(want, name)
        assert torch.equal(a, b), f"{name} differs"


def test_cpu_batches_are_made_in_loader_threads_and_equal_the_main_thread_ones(data, tmp_path, monkeypatch):
    seen = record_batches(monkeypatch)
    train_cli(data, tmp_path / "run", steps=5, **EXTRA)
    assert len(seen) == 5
    assert all(name.startswith("tinct-loader") for _, name, _ in seen)    # overlapped, not in the main thread
    seeds = [step_generator(0, s, 0).initial_seed() for s in range(5)]
    assert sorted(s for s, _, _ in seen) == seeds
    by_seed = {s: b for s, _, b in seen}
    for step in range(5):
        assert_same_batch(by_seed[seeds[step]], reference_batch(data, step))


def test_batches_after_resume_equal_the_straight_runs(data, tmp_path, monkeypatch):
    seen = record_batches(monkeypatch)
    real_save = loop.save_checkpoint

    def save_then_crash(run, state):
        real_save(run, state)
        if state["step"] == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(loop, "save_checkpoint", save_then_crash)
    run = train_cli(data, tmp_path / "run", steps=6, expect=130, **EXTRA)
    monkeypatch.setattr(loop, "save_checkpoint", real_save)
    assert load_checkpoint(run)["step"] == 3
    seen.clear()
    train_cli(data, run, steps=6, resume=None, **EXTRA)
    seeds = [step_generator(0, s, 0).initial_seed() for s in range(3, 6)]
    assert sorted(s for s, _, _ in seen) == seeds
    by_seed = {s: b for s, _, b in seen}
    for step, seed in zip(range(3, 6), seeds):
        assert_same_batch(by_seed[seed], reference_batch(data, step))
