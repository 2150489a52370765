"""Data-parallel training: per-rank batches, and a real 2-process torchrun (gloo on CPU)."""
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import helpers
import tinct
from tinct.train.checkpoint import load_checkpoint
from tinct.data.splits import batch_indices, split_indices


@pytest.mark.parametrize("world", [2, 3])
def test_ranks_get_disjoint_slices_of_the_global_batch(world):
    train_idx = np.arange(1000, 1000 + 103)           # indices into the dataset, not 0..n-1
    batch = 4
    for step in (0, 1, 7, 8, 50):
        parts = [batch_indices(train_idx, step, batch, seed=3, rank=r, world=world) for r in range(world)]
        assert all(len(p) == batch for p in parts)
        for a in range(world):
            for b in range(a + 1, world):
                assert not set(parts[a]) & set(parts[b]), (step, a, b)
        union = np.concatenate(parts)
        # the union is exactly the global batch a single process with batch * world would take
        single = batch_indices(train_idx, step, batch * world, seed=3, rank=0, world=1)
        assert sorted(union) == sorted(single)
        assert set(union) <= set(train_idx)


def test_an_epoch_visits_each_image_once_and_epochs_differ():
    train_idx = np.arange(40)
    batch, world = 5, 2
    per_epoch = 40 // (batch * world)
    seen = np.concatenate([batch_indices(train_idx, s, batch, 0, r, world)
                           for s in range(per_epoch) for r in range(world)])
    assert sorted(seen) == list(range(40))
    e0 = [batch_indices(train_idx, s, batch, 0, 0, world) for s in range(per_epoch)]
    e1 = [batch_indices(train_idx, s + per_epoch, batch, 0, 0, world) for s in range(per_epoch)]
    assert any(not np.array_equal(a, b) for a, b in zip(e0, e1))
    # deterministic: a pure function of (seed, step, rank, world); other seeds shuffle differently
    assert np.array_equal(batch_indices(train_idx, 3, batch, 0, 1, world), batch_indices(train_idx, 3, batch, 0, 1, world))
    assert any(not np.array_equal(batch_indices(train_idx, s, batch, 0, 0, world),
                                  batch_indices(train_idx, s, batch, 1, 0, world)) for s in range(per_epoch))


def test_split_is_fixed_and_disjoint():
    tr, ho = split_indices(50, 7)
    assert len(ho) == 7 and len(tr) == 43 and not set(tr) & set(ho) and sorted(np.concatenate([tr, ho])) == list(range(50))
    tr2, ho2 = split_indices(50, 7)
    assert np.array_equal(tr, tr2) and np.array_equal(ho, ho2)


def torchrun(args, timeout=600):
    cmd = [helpers.python(), "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "tinct.cli.main"] + args
    return subprocess.run(cmd, env=helpers.subprocess_env(), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def labelled_data(tmp_path_factory):
    return helpers.make_labelled_dataset(tmp_path_factory.mktemp("ddp-data"), n_per_class=6, n_val=2)


def test_torchrun_two_processes_with_scene_labels(labelled_data, tmp_path):
    run = tmp_path / "run"
    r = torchrun(helpers.tiny_train_args(labelled_data, run, 4, holdout=2, val_images=2, ckpt_every=2,
                                         scene_weight=0.1))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "step 4: rebalanced AuC" in r.stdout
    ck = load_checkpoint(run)
    assert ck["step"] == 4 and ck["config"]["model"]["num_classes"] == 3
    assert all(torch.isfinite(v).all() for v in ck["model"].values() if v.is_floating_point())
    assert len(list((run / "tensorboard").glob("events.*"))) == 1     # only rank 0 logs
    col = tinct.Colorizer.load(run, device="cpu")
    out = col.colorize(helpers.colourful_image(np.random.default_rng(0), 40, 40))
    assert out.shape == (40, 40, 3)


def test_torchrun_scene_head_without_labels_and_resume(tmp_path):
    """A scene head with nothing to learn from (--num-classes on unlabelled data) must not break DDP (unused
    parameters), and a DDP run resumes."""
    data = helpers.make_dataset(tmp_path / "d", n=20, size=32)
    run = tmp_path / "run"
    args = helpers.tiny_train_args(data, run, 2, num_classes=3)
    r = torchrun(args)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    first = load_checkpoint(run)
    assert first["step"] == 2
    r = torchrun(helpers.tiny_train_args(data, run, 4, num_classes=3) + ["--resume"])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    ck = load_checkpoint(run)
    assert ck["step"] == 4
    # the unused scene head stayed as initialized (frozen), the rest trained on
    assert torch.equal(ck["model"]["scene.weight"], first["model"]["scene.weight"])
    assert not torch.equal(ck["model"]["classifier.weight"], first["model"]["classifier.weight"])
    tinct.Colorizer.load(Path(run) / "model.safetensors", device="cpu")
